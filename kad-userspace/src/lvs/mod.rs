//! The load-balancer half of keepalived: the health of real servers (`health`), fed by the
//! checkers, drives the kernel's IPVS table.

pub mod health;
