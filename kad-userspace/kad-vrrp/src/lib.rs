//! VRRP (RFC 3768 v2, RFC 5798 v3): the wire codec (`packet`) and the sans-IO protocol core
//! (`fsm`). Nothing in here touches a socket, a clock or the kernel.

#![forbid(unsafe_code)]

pub mod fsm;
pub mod packet;
