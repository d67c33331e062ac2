//! What several tasks hand to the outside world on a state change, shared by the VRRP
//! runtime, the checkers and the LVS task: the notify FIFO (keepalived.conf `notify_fifo`,
//! `vrrp_notify_fifo`, `lvs_notify_fifo`) and SMTP alerts (`smtp_alert`). A leaf: it knows
//! the configuration model and the VRRP notify kinds, never the tasks that use it.

pub mod fifo;
pub mod smtp;
