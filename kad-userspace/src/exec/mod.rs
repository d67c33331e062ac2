//! What several tasks hand to the outside world, shared by the VRRP runtime, the trackers,
//! the checkers and the LVS task: scripts (`scripts`: who runs them, keepalived's
//! `enable_script_security` checks, process groups and timeouts), the notify FIFO
//! (keepalived.conf `notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo`) and SMTP alerts
//! (`smtp_alert`), and the global startup and shutdown scripts (`start_stop`). A leaf: it knows the configuration model and the VRRP notify kinds, never
//! the tasks that use it.

pub mod fifo;
pub mod scripts;
pub mod smtp;
pub mod start_stop;
