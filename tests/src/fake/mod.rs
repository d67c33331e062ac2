//! Fake servers on loopback (or in a lab namespace) for the health checkers, alerts and
//! load tests to talk to; each records what it saw for the test to assert on.

pub mod dns;
pub mod http;
pub mod mail;
pub mod smtp;
pub mod tcp;
pub mod udp;
