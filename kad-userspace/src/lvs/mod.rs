//! The load-balancer half of keepalived: the health of real servers
//! ([`crate::status::health`]), fed by the checkers, drives the kernel's IPVS table: `table` builds the wanted table from the
//! configuration and the health, `reconcile` diffs it against the kernel's, `ipvs` speaks
//! to the kernel; `kept_config` is what of the configuration the task keeps; `report` publishes virtual and real servers for `kad status`;
//! `task` starts the task on IPVS (`control`) or, with no IPVS in the kernel,
//! `without_ipvs`, which keeps the health and the report going on a kernel without IPVS; `sync`
//! runs the connection-sync daemon as a VRRP instance's state says.

pub mod control;
pub mod ipvs;
pub mod kept_config;
pub mod notify;
pub mod reconcile;
pub mod report;
pub mod settings;
pub mod sync;
pub mod table;
pub mod task;
pub mod without_ipvs;
