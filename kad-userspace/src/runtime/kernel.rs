//! The kernel worker: address, route and rule changes and gratuitous ARP / NA bursts,
//! executed in the order the protocol loop issued them (an address is added before it is
//! announced, and before a route using it as source) on a task of their own, so netlink
//! round trips never delay an advert.

use std::{sync::Arc, time::Duration};

use tokio::sync::{mpsc, oneshot};

use crate::net::{
    addr::AddressControl,
    addr::InterfaceAddress,
    garp::FrameSender,
    route::{IpRoute, RouteControl},
    rule::{IpRule, RuleControl},
};

/// Whose route or rule a kernel operation is: an instance (name and VRID) or the static
/// blocks (`static_routes`, `static_rules`: no VRID). Logged with every failure.
#[derive(Clone, Debug)]
pub(crate) struct Owner {
    pub(crate) label: Arc<str>,
    pub(crate) vrid: Option<u8>,
}

/// One piece of kernel work.
pub(crate) enum KernelOp {
    /// `ip addr add`.
    Add {
        label: Arc<str>,
        address: InterfaceAddress,
    },
    /// `ip addr del`.
    Remove {
        label: Arc<str>,
        address: InterfaceAddress,
    },
    /// `ip route add` (`add`) or `ip route del`.
    Route {
        owner: Owner,
        route: IpRoute,
        add: bool,
    },
    /// `ip rule add` (`add`) or `ip rule del`.
    Rule {
        owner: Owner,
        rule: IpRule,
        add: bool,
    },
    /// Send these frames on interface `ifindex`, at least `spacing` apart from each other and
    /// from the interface's previous spaced frames (keepalived `vrrp_garp_interval`,
    /// `vrrp_gna_interval`, `garp_group`).
    Frames {
        label: Arc<str>,
        sender: Arc<FrameSender>,
        ifindex: u32,
        frames: Vec<Vec<u8>>,
        spacing: Duration,
    },
    /// Reply once everything queued before it is done.
    Flush(oneshot::Sender<()>),
}

/// Handle to the kernel worker task.
pub(crate) struct KernelWorker {
    queue: mpsc::UnboundedSender<KernelOp>,
}

impl KernelWorker {
    pub(crate) fn start(control: AddressControl) -> Self {
        let (queue, ops) = mpsc::unbounded_channel();
        tokio::spawn(work(control, ops));
        Self { queue }
    }

    pub(crate) fn submit(&self, op: KernelOp) {
        if self.queue.send(op).is_err() {
            tracing::error!("kernel worker has stopped; address change lost");
        }
    }

    /// Waits until everything submitted so far is done.
    pub(crate) async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        self.submit(KernelOp::Flush(done));
        let _ = wait.await;
    }
}

/// Spaced frames for one interface, handed to its pacer task.
struct Paced {
    label: Arc<str>,
    sender: Arc<FrameSender>,
    frames: Vec<Vec<u8>>,
    spacing: Duration,
}

/// Sends one interface's spaced frames in order, never two closer than their spacing; runs
/// beside the worker so a long GARP train never holds up address changes.
async fn pace(mut queue: mpsc::UnboundedReceiver<Paced>) {
    let mut last: Option<tokio::time::Instant> = None;
    while let Some(batch) = queue.recv().await {
        for frame in &batch.frames {
            if let Some(at) = last {
                tokio::time::sleep_until(at + batch.spacing).await;
            }
            if let Err(err) = batch.sender.send(frame) {
                tracing::warn!(instance = %batch.label, error = %err, "gratuitous ARP/NA not sent");
            }
            last = Some(tokio::time::Instant::now());
        }
    }
}

async fn work(control: AddressControl, mut ops: mpsc::UnboundedReceiver<KernelOp>) {
    let mut pacers: std::collections::HashMap<u32, mpsc::UnboundedSender<Paced>> =
        std::collections::HashMap::new();
    let routes = RouteControl::new(control.handle().clone());
    let rules = RuleControl::new(control.handle().clone());
    while let Some(op) = ops.recv().await {
        match op {
            KernelOp::Add { label, address } => {
                if let Err(err) = control.add(&address).await {
                    tracing::error!(instance = %label, error = %err, "adding virtual address failed");
                }
            }
            KernelOp::Remove { label, address } => {
                if let Err(err) = control.remove(&address).await {
                    tracing::error!(instance = %label, error = %err, "removing virtual address failed");
                }
            }
            KernelOp::Route { owner, route, add } => {
                let result = if add {
                    routes.add(&route).await
                } else {
                    routes.remove(&route).await
                };
                match result {
                    Ok(()) => {
                        tracing::debug!(instance = %owner.label, vrid = owner.vrid, %route, add, "route");
                    }
                    Err(err) => {
                        tracing::error!(instance = %owner.label, vrid = owner.vrid, error = %err, "route change failed");
                    }
                }
            }
            KernelOp::Rule { owner, rule, add } => {
                let result = if add {
                    rules.add(&rule).await
                } else {
                    rules.remove(&rule).await
                };
                match result {
                    Ok(()) => {
                        tracing::debug!(instance = %owner.label, vrid = owner.vrid, %rule, add, "rule");
                    }
                    Err(err) => {
                        tracing::error!(instance = %owner.label, vrid = owner.vrid, error = %err, "rule change failed");
                    }
                }
            }
            KernelOp::Frames {
                label,
                sender,
                ifindex,
                frames,
                spacing,
            } if !spacing.is_zero() => {
                let pacer = pacers.entry(ifindex).or_insert_with(|| {
                    let (queue, paced) = mpsc::unbounded_channel();
                    tokio::spawn(pace(paced));
                    queue
                });
                let _ = pacer.send(Paced {
                    label,
                    sender,
                    frames,
                    spacing,
                });
            }
            KernelOp::Frames {
                label,
                sender,
                frames,
                ..
            } => {
                for frame in &frames {
                    if let Err(err) = sender.send(frame) {
                        tracing::warn!(instance = %label, error = %err, "gratuitous ARP/NA not sent");
                    }
                }
            }
            KernelOp::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}
