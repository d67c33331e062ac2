//! Carries out the core's actions: adverts straight onto the socket (never waiting), kernel
//! work through the ordered kernel worker, notifies as child processes, records as logs.

use std::{net::IpAddr, sync::Arc, time::Duration};

use kad_common::vrrp_wire::VRRP_TTL;

use crate::{
    exec::fifo::{self, FifoWriter},
    net::{
        garp::{gratuitous_arp, unsolicited_na},
        vrrp_socket::VrrpSocket,
    },
    status::InstanceState,
    vrrp::{
        fsm::{Action, AdvertOut, NotifyKind, NotifyTarget, VirtualSet},
        packet::{AdvertSpec, AuthConfig, Ipv4Options, encode_ipv4_vec, encode_vrrp_vec},
    },
};

use tokio::sync::mpsc;

use super::{
    Slot, gratuitous,
    kernel::{KernelOp, KernelWorker, Owner},
    notify,
    spec::{NotifySpec, StaticSpec},
};

/// How long a stopping kad waits for its last notify scripts.
const SHUTDOWN_NOTIFY_WAIT: Duration = Duration::from_secs(5);

/// An encoded advert waiting for the end of the protocol loop's turn.
struct Outgoing {
    socket: Arc<VrrpSocket>,
    packet: Vec<u8>,
    destination: IpAddr,
    /// IPv4 TTL (already in `packet`) / IPv6 hop limit.
    ttl: u8,
    name: Arc<str>,
    vrid: u8,
}

pub(crate) struct Executor {
    kernel: KernelWorker,
    /// Adverts produced during this turn of the protocol loop, sent together by
    /// [`Executor::send_adverts`].
    outbox: Vec<Outgoing>,
    fifos: Vec<FifoWriter>,
    /// Notify scripts still running (awaited, bounded, at shutdown).
    notifies: Vec<tokio::task::JoinHandle<()>>,
    /// `smtp_alert` delivery, when configured.
    mailer: Option<crate::exec::smtp::Mailer>,
    /// Where instance state changes go (the IPVS sync daemon follows one).
    states: Option<mpsc::UnboundedSender<InstanceState>>,
}

impl Executor {
    pub(crate) fn new(kernel: KernelWorker, fifos: Vec<FifoWriter>) -> Self {
        Self {
            kernel,
            outbox: Vec::new(),
            fifos,
            notifies: Vec::new(),
            mailer: None,
            states: None,
        }
    }

    /// Sends every instance state change to `states` from now on.
    pub(crate) fn set_state_sink(&mut self, states: Option<mpsc::UnboundedSender<InstanceState>>) {
        self.states = states;
    }

    /// Writes a notify to every FIFO.
    pub(crate) fn fifo_notify(&mut self, target: &NotifyTarget, kind: NotifyKind, priority: u8) {
        let (scope, name) = match target {
            NotifyTarget::Instance(name) => ("INSTANCE", name),
            NotifyTarget::Group(name) => ("GROUP", name),
        };
        let line = fifo::line(scope, name, notify::state_word(kind), priority);
        for writer in &mut self.fifos {
            writer.write_line(&line);
        }
    }

    /// Sends the adverts of this turn: one `sendmmsg(2)` per socket, in the order they were
    /// produced. Called by the protocol loop after each event it handles.
    pub(crate) fn send_adverts(&mut self) {
        while let Some(first) = self.outbox.first() {
            let socket = Arc::clone(&first.socket);
            let (same, rest): (Vec<Outgoing>, Vec<Outgoing>) = std::mem::take(&mut self.outbox)
                .into_iter()
                .partition(|out| Arc::ptr_eq(&out.socket, &socket));
            self.outbox = rest;
            let batch: Vec<(&[u8], IpAddr, u8)> = same
                .iter()
                .map(|out| (out.packet.as_slice(), out.destination, out.ttl))
                .collect();
            for (out, result) in same.iter().zip(socket.try_send_batch(&batch)) {
                if let Err(err) = result {
                    tracing::warn!(instance = %out.name, vrid = out.vrid, destination = %out.destination, error = %err, "advert not sent");
                }
            }
        }
    }

    /// Removes `slot`'s virtual rules, routes and addresses (in that order), in case an
    /// earlier run crashed holding them (keepalived: `vrrp_restore_interfaces_startup`).
    pub(crate) fn remove_stale(&self, slot: &Slot) {
        self.routing(slot, false);
        for address in &slot.spec.addresses {
            self.kernel.submit(KernelOp::Remove {
                label: Arc::clone(&slot.spec.fsm.name),
                address: address.clone(),
            });
        }
    }

    /// keepalived.conf `static_ipaddress`, `static_routes`, `static_rules`: queues the adds,
    /// addresses first (a route may use one as source), then routes, then rules. Each add is
    /// idempotent, so entries a crashed run left are kept as they are, not duplicated.
    pub(crate) fn install_statics(&self, statics: &StaticSpec) {
        let owner = static_owner();
        for address in &statics.addresses {
            self.kernel.submit(KernelOp::Add {
                label: Arc::clone(&owner.label),
                address: address.clone(),
            });
        }
        for route in &statics.routes {
            self.kernel.submit(KernelOp::Route {
                owner: owner.clone(),
                route: route.clone(),
                add: true,
            });
        }
        for rule in &statics.rules {
            self.kernel.submit(KernelOp::Rule {
                owner: owner.clone(),
                rule: rule.clone(),
                add: true,
            });
        }
    }

    /// Queues the removal of static entries: rules, then routes, then addresses.
    pub(crate) fn remove_statics(&self, statics: &StaticSpec) {
        let owner = static_owner();
        for rule in &statics.rules {
            self.kernel.submit(KernelOp::Rule {
                owner: owner.clone(),
                rule: rule.clone(),
                add: false,
            });
        }
        for route in &statics.routes {
            self.kernel.submit(KernelOp::Route {
                owner: owner.clone(),
                route: route.clone(),
                add: false,
            });
        }
        for address in &statics.addresses {
            self.kernel.submit(KernelOp::Remove {
                label: Arc::clone(&owner.label),
                address: address.clone(),
            });
        }
    }

    pub(crate) fn execute(&mut self, slot: &mut Slot, actions: Vec<Action>) {
        let name = Arc::clone(&slot.spec.fsm.name);
        let vrid = slot.spec.fsm.vrid;
        for action in actions {
            match action {
                Action::SendAdvert(out) => {
                    slot.counters.sent(out.priority);
                    for (packet, destination, ttl) in encode_adverts(slot, &out) {
                        self.outbox.push(Outgoing {
                            socket: Arc::clone(&slot.socket),
                            packet,
                            destination,
                            ttl,
                            name: Arc::clone(&name),
                            vrid,
                        });
                    }
                }
                Action::AddVirtuals(set) => self.virtuals(slot, &set, true),
                Action::RemoveVirtuals(set) => self.virtuals(slot, &set, false),
                Action::SendGratuitous {
                    addresses,
                    repeat,
                    reason,
                } => {
                    tracing::debug!(instance = %name, vrid, ?reason, repeat, "sending gratuitous ARP/NA");
                    let plan = gratuitous::plan(
                        reason,
                        &addresses,
                        &slot.spec.addresses,
                        slot.ifindex,
                        |index| slot.links.iter().any(|l| l.ifindex == index && l.ours),
                        slot.spec.garp_extra_all,
                    );
                    for (ifindex, addresses) in plan {
                        let (sender, mac) = match slot.links.iter().find(|l| l.ifindex == ifindex) {
                            Some(link) => (&link.sender, link.mac),
                            None => (&slot.frames, slot.mac),
                        };
                        let (mut arp, mut na) = (Vec::new(), Vec::new());
                        for _ in 0..repeat {
                            for address in &addresses {
                                match address {
                                    IpAddr::V4(v4) => arp.push(gratuitous_arp(mac, *v4).to_vec()),
                                    IpAddr::V6(v6) => {
                                        na.push(unsolicited_na(mac, *v6).to_vec());
                                    }
                                }
                            }
                        }
                        let spacing = slot.spec.garp_spacing;
                        for (frames, spacing) in [(arp, spacing.arp), (na, spacing.na)] {
                            if !frames.is_empty() {
                                self.kernel.submit(KernelOp::Frames {
                                    label: Arc::clone(&name),
                                    sender: Arc::clone(sender),
                                    ifindex,
                                    frames,
                                    spacing,
                                });
                            }
                        }
                    }
                }
                Action::Notify {
                    target,
                    kind,
                    priority,
                } => {
                    notify::run(
                        &slot.spec.notify,
                        &target,
                        kind,
                        priority,
                        &mut self.notifies,
                    );
                    self.fifo_notify(&target, kind, priority);
                    self.mail(&slot.spec.notify, &target, kind);
                }
                Action::StateChanged { from, to, reason } => {
                    slot.counters.transition(from, to);
                    tracing::info!(instance = %name, vrid, ?from, ?reason, "Entering {} STATE", notify_state(to));
                    if let Some(states) = &self.states {
                        // A closed receiver only means nobody follows states any more.
                        let _ = states.send(InstanceState {
                            instance: Arc::clone(&name),
                            state: to,
                        });
                    }
                }
                Action::PriorityChanged { from, to } => {
                    tracing::info!(instance = %name, vrid, from, to, "effective priority changed");
                }
                Action::Discarded(reason) => {
                    slot.counters.discarded(reason);
                    tracing::trace!(instance = %name, vrid, ?reason, "advert ignored");
                }
            }
        }
    }

    /// Uses `spec` for `smtp_alert` mails from now on (start and reload): the delivery
    /// task is replaced only when the settings changed.
    pub(crate) fn set_mail(&mut self, spec: Option<crate::exec::smtp::SmtpSpec>) {
        if self.mailer.as_ref().map(crate::exec::smtp::Mailer::spec) != spec.as_ref() {
            self.mailer = spec.map(crate::exec::smtp::Mailer::start);
        }
    }

    /// Mails `target` entering `kind` if [`NotifySpec::mails`] it and a mail server is set.
    fn mail(&self, notify: &NotifySpec, target: &NotifyTarget, kind: NotifyKind) {
        let Some(mailer) = self.mailer.as_ref().filter(|_| notify.mails(kind)) else {
            return;
        };
        if let Some(alert) =
            crate::exec::smtp::Alert::state_change(&mailer.spec().router_id, target, kind)
        {
            mailer.send(alert);
        }
    }

    /// A sync group's own action (its notifies and state records).
    pub(crate) fn group_action(&mut self, group: &str, notify: &NotifySpec, action: Action) {
        match action {
            Action::Notify {
                target,
                kind,
                priority,
            } => {
                notify::run(notify, &target, kind, priority, &mut self.notifies);
                self.fifo_notify(&target, kind, priority);
                self.mail(notify, &target, kind);
            }
            Action::StateChanged { from, to, reason } => {
                tracing::info!(
                    group,
                    ?from,
                    ?reason,
                    "VRRP_Group({group}) Entering {} STATE",
                    notify_state(to)
                );
            }
            other => tracing::debug!(group, ?other, "group-level action ignored"),
        }
    }

    /// Queues `ip addr add` (or `del`) for the set's addresses, with the attributes the
    /// instance's configuration gives each, and the instance's `virtual_routes` and
    /// `virtual_rules` with them: added after the addresses (a route's `src` may be a VIP),
    /// removed before them (keepalived's order in `vrrp_state_become_master` and
    /// `vrrp_restore_interface`).
    fn virtuals(&self, slot: &Slot, set: &VirtualSet, add: bool) {
        if !add {
            self.routing(slot, false);
        }
        for address in set.addresses.iter().chain(set.excluded.iter()) {
            let Some(full) = slot.spec.addresses.iter().find(|a| a.address == *address) else {
                continue;
            };
            let label = Arc::clone(&slot.spec.fsm.name);
            let address = full.clone();
            self.kernel.submit(if add {
                KernelOp::Add { label, address }
            } else {
                KernelOp::Remove { label, address }
            });
        }
        if add {
            self.routing(slot, true);
        }
    }

    /// Queues the instance's `virtual_routes` then `virtual_rules` (`add`), or its rules then
    /// routes (remove).
    fn routing(&self, slot: &Slot, add: bool) {
        let owner = Owner {
            label: Arc::clone(&slot.spec.fsm.name),
            vrid: Some(slot.spec.fsm.vrid),
        };
        let routes = slot.spec.routes.iter().map(|route| KernelOp::Route {
            owner: owner.clone(),
            route: route.clone(),
            add,
        });
        let rules = slot.spec.rules.iter().map(|rule| KernelOp::Rule {
            owner: owner.clone(),
            rule: rule.clone(),
            add,
        });
        if add {
            routes.chain(rules).for_each(|op| self.kernel.submit(op));
        } else {
            rules.chain(routes).for_each(|op| self.kernel.submit(op));
        }
    }

    /// Waits for queued kernel work (VIP removal at shutdown) and, for up to
    /// [`SHUTDOWN_NOTIFY_WAIT`], for notify scripts still running (`notify_stop`).
    pub(crate) async fn finish(self) {
        self.kernel.flush().await;
        let deadline = tokio::time::Instant::now() + SHUTDOWN_NOTIFY_WAIT;
        for task in self.notifies {
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                tracing::warn!("notify scripts still running at exit are stopped");
                break;
            }
        }
    }
}

/// The owner static entries are logged under.
fn static_owner() -> Owner {
    Owner {
        label: Arc::from("static"),
        vrid: None,
    }
}

fn notify_state(state: crate::vrrp::fsm::State) -> &'static str {
    use crate::vrrp::fsm::State;
    match state {
        State::Initialize => "INIT",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
    }
}

/// Encodes `out` for each destination of `slot` (its multicast group, `mcast_dst_ip` or the
/// global `vrrp_mcast_group4/6`, or every unicast peer), numbering AH sequence and IP ids as
/// it goes; with the TTL / hop limit of each (`unicast_ttl` for unicast peers, else 255).
fn encode_adverts(slot: &mut Slot, out: &AdvertOut) -> Vec<(Vec<u8>, IpAddr, u8)> {
    let version = out.version;
    let (peers, ttl) = if slot.spec.unicast_peers.is_empty() {
        (vec![slot.spec.multicast_group], VRRP_TTL)
    } else {
        (slot.spec.unicast_peers.clone(), slot.spec.unicast_ttl)
    };
    let mut packets = Vec::with_capacity(peers.len());
    for destination in peers {
        if matches!(slot.spec.auth, AuthConfig::Ah(_)) {
            slot.ah_seq = slot.ah_seq.wrapping_add(1);
        }
        slot.ip_id = slot.ip_id.wrapping_add(1);
        let spec = AdvertSpec {
            version,
            vrid: out.vrid,
            priority: out.priority,
            interval_cs: out.interval.get(),
            addresses: &out.addresses,
            auth: slot.spec.auth,
            ah_seq: slot.ah_seq,
            src: out.source,
            dst: destination,
            checksum: slot.spec.checksum_mode(),
        };
        let encoded = match destination {
            IpAddr::V4(_) => encode_ipv4_vec(
                &spec,
                &Ipv4Options {
                    ttl,
                    ..Ipv4Options::keepalived(slot.ip_id)
                },
            ),
            IpAddr::V6(_) => encode_vrrp_vec(&spec),
        };
        match encoded {
            Ok(packet) => packets.push((packet, destination, ttl)),
            Err(err) => {
                tracing::warn!(instance = %slot.spec.fsm.name, vrid = out.vrid, %destination, error = %err, "advert not encoded");
            }
        }
    }
    packets
}
