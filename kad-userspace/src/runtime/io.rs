//! The runtime's IO: VRRP sockets (one per interface and family), the receive tasks and
//! the tracker tasks, (re)started as instances come and go.

use std::{collections::HashMap, net::IpAddr, sync::Arc};

use tokio::{sync::mpsc, task::JoinHandle};

use crate::{
    net::{
        garp::FrameSender,
        interface::{ifindex, mac_address, name_of},
        link_monitor,
        vrrp_socket::VrrpSocket,
    },
    track::{self, TrackerSource, TrackerUpdate},
    vrrp::fsm::TrackerStatus,
};

use super::{
    Inbound, RuntimeError, Slot,
    dataplane::ReceiveStats,
    engine::StartedTrackers,
    gratuitous::GarpLink,
    receive::{self, Route},
    spec::InstanceSpec,
};

/// Sockets (shared by the instances of one interface and family), receive tasks and
/// tracker tasks.
pub(super) struct Io {
    pub(super) sockets: HashMap<(String, bool), Arc<VrrpSocket>>,
    /// keepalived.conf `auth_type AH`: the receive-only IP protocol 51 socket of each
    /// interface with an AH instance (AH adverts never reach the protocol 112 socket).
    pub(super) ah_sockets: HashMap<String, Arc<VrrpSocket>>,
    pub(super) receivers: Vec<JoinHandle<()>>,
    pub(super) trackers: Vec<JoinHandle<()>>,
    pub(super) generation: u64,
    pub(super) inbound: mpsc::Sender<Inbound>,
    pub(super) updates: mpsc::Sender<TrackerUpdate>,
    pub(super) stats: Arc<ReceiveStats>,
    /// Interfaces whose `promote_secondaries` kad set (put back to 0 at exit).
    pub(super) promoted: Vec<String>,
    /// The BFD sessions' status, for `track_bfd` (none: tracked BFD instances stay down).
    pub(super) bfd: Option<tokio::sync::watch::Receiver<crate::status::bfd::BfdStatuses>>,
}

impl Io {
    /// Opens (or reuses) what instance `spec` needs and returns its slot.
    pub(super) fn slot(&mut self, spec: InstanceSpec) -> Result<Slot, RuntimeError> {
        let name = spec.fsm.name.to_string();
        let interface = spec.interface.clone();
        let interface_error = |source| RuntimeError::Interface {
            instance: name.clone(),
            source,
        };
        let if_index = ifindex(&interface).map_err(interface_error)?;
        let mac = mac_address(&interface).map_err(interface_error)?;
        let key = (interface.clone(), spec.fsm.primary_address.is_ipv6());
        let socket = match self.sockets.get(&key) {
            Some(socket) => Arc::clone(socket),
            None => {
                let socket = Arc::new(match spec.fsm.primary_address {
                    IpAddr::V4(_) => VrrpSocket::open_v4(&interface, if_index)?,
                    IpAddr::V6(source) => VrrpSocket::open_v6(&interface, if_index, source)?,
                });
                self.sockets.insert(key, Arc::clone(&socket));
                socket
            }
        };
        // keepalived joins the group only for multicast instances (`if_join_vrrp_group`).
        let multicast = spec.unicast_peers.is_empty();
        if multicast {
            socket.join(spec.multicast_group)?;
        }
        if matches!(spec.auth, crate::vrrp::packet::AuthConfig::Ah(_))
            && spec.fsm.primary_address.is_ipv4()
        {
            let socket = match self.ah_sockets.get(&interface) {
                Some(socket) => Arc::clone(socket),
                None => {
                    let socket = Arc::new(VrrpSocket::open_v4_ah(&interface, if_index)?);
                    self.ah_sockets
                        .insert(interface.clone(), Arc::clone(&socket));
                    socket
                }
            };
            if multicast {
                socket.join(spec.multicast_group)?;
            }
        }
        let frames = FrameSender::open(if_index).map_err(|source| RuntimeError::PacketSocket {
            interface: interface.clone(),
            source,
        })?;
        let links = garp_links(&spec, if_index).map_err(interface_error)?;
        if spec.promote_secondaries && !self.promoted.contains(&interface) {
            match crate::net::promote::enable(&interface) {
                Ok(true) => self.promoted.push(interface.clone()),
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(instance = %name, vrid = spec.fsm.vrid, %interface, error = %err, "cannot set promote_secondaries");
                }
            }
        }
        Ok(Slot {
            spec,
            socket,
            frames: Arc::new(frames),
            mac,
            ifindex: if_index,
            links,
            link_up: link_monitor::is_up(&interface),
            ah_seq: 0,
            ip_id: 0,
            xdp: None,
            counters: Arc::default(),
        })
    }

    /// Puts back the `promote_secondaries` flags kad set (at exit, as keepalived).
    pub(super) fn restore_promoted(&self) {
        for interface in &self.promoted {
            if let Err(err) = crate::net::promote::restore(interface) {
                tracing::warn!(%interface, error = %err, "cannot clear promote_secondaries");
            }
        }
    }

    /// (Re)starts one receive task per socket, routing by VRID to `slots`.
    pub(super) fn start_receivers(&mut self, slots: &[Slot]) {
        for task in self.receivers.drain(..) {
            task.abort();
        }
        self.generation += 1;
        let mut routes: HashMap<(String, bool), Vec<Route>> = HashMap::new();
        for (index, slot) in slots.iter().enumerate() {
            let key = (
                slot.spec.interface.clone(),
                slot.spec.fsm.primary_address.is_ipv6(),
            );
            routes.entry(key).or_default().push(Route::new(
                index,
                &slot.spec,
                Arc::clone(&slot.counters),
            ));
        }
        // AH adverts arrive on their own socket; its routes are those of the interface's
        // IPv4 instances (each task keeps its own AH replay state).
        for (interface, socket) in &self.ah_sockets {
            let sizes = slots.iter().filter(|slot| {
                slot.spec.interface == *interface
                    && !slot.spec.fsm.primary_address.is_ipv6()
                    && matches!(slot.spec.auth, crate::vrrp::packet::AuthConfig::Ah(_))
            });
            receive_buffer(socket, sizes);
            let routes = slots
                .iter()
                .enumerate()
                .filter(|(_, slot)| {
                    slot.spec.interface == *interface && !slot.spec.fsm.primary_address.is_ipv6()
                })
                .map(|(index, slot)| Route::new(index, &slot.spec, Arc::clone(&slot.counters)))
                .collect();
            self.receivers.push(tokio::spawn(receive::run(
                Arc::clone(socket),
                false,
                routes,
                self.generation,
                self.inbound.clone(),
                Arc::clone(&self.stats),
            )));
        }
        for (key, socket) in &self.sockets {
            let sizes = slots.iter().filter(|slot| {
                slot.spec.interface == key.0 && slot.spec.fsm.primary_address.is_ipv6() == key.1
            });
            receive_buffer(socket, sizes);
            let routes = routes.remove(key).unwrap_or_default();
            self.receivers.push(tokio::spawn(receive::run(
                Arc::clone(socket),
                key.1,
                routes,
                self.generation,
                self.inbound.clone(),
                Arc::clone(&self.stats),
            )));
        }
    }

    /// (Re)starts the tracker tasks; returns the tracked interfaces for the link monitor and
    /// the statuses read now (tracked processes), for units about to start.
    pub(super) fn start_trackers(&mut self, sources: &[TrackerSource]) -> StartedTrackers {
        for task in self.trackers.drain(..) {
            task.abort();
        }
        let mut links = Vec::new();
        let mut processes = Vec::new();
        let mut bfds = Vec::new();
        for (index, source) in sources.iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            match source {
                TrackerSource::Script(script) => {
                    self.trackers
                        .push(tokio::spawn(track::supervised::script_task(
                            index,
                            script.clone(),
                            self.updates.clone(),
                        )));
                }
                TrackerSource::File { name, path } => {
                    self.trackers
                        .push(tokio::spawn(track::supervised::file_task(
                            index,
                            name.clone(),
                            path.clone(),
                            self.updates.clone(),
                        )));
                }
                TrackerSource::Process(spec) => processes.push((index, spec.clone())),
                TrackerSource::Bfd { name } => bfds.push((index, name.clone())),
                TrackerSource::Interface { name, ifindex } => {
                    links.push((index, *ifindex, link_monitor::is_up(name)));
                }
            }
        }
        // Read now, so that units start with it (keepalived reads /proc before its instances
        // start); the task reports any later change.
        let mut statuses = HashMap::new();
        if !processes.is_empty() {
            let specs: Vec<_> = processes.iter().map(|(_, spec)| spec.clone()).collect();
            for ((index, _), up) in processes
                .iter()
                .zip(track::process::scan::current_statuses(&specs))
            {
                let status = if up {
                    TrackerStatus::Up
                } else {
                    TrackerStatus::Down
                };
                statuses.insert(*index, status);
            }
        }
        // One task (one subscription to the kernel's process events) for every block.
        if !processes.is_empty() {
            self.trackers
                .push(tokio::spawn(track::supervised::process_task(
                    processes,
                    self.updates.clone(),
                )));
        }
        // keepalived.conf track_bfd: one task follows the BFD task's published states.
        if !bfds.is_empty() {
            match &self.bfd {
                Some(bfd) => self.trackers.push(tokio::spawn(track::bfd::run(
                    bfds,
                    bfd.clone(),
                    self.updates.clone(),
                ))),
                None => {
                    tracing::warn!("track_bfd: no BFD task runs; tracked BFD instances stay down")
                }
            }
        }
        StartedTrackers { links, statuses }
    }
}

/// The interfaces other than `own` that hold `spec`'s virtual addresses, each with its MAC
/// and a packet socket (keepalived sends an address's gratuitous ARPs / NAs there).
fn garp_links(
    spec: &InstanceSpec,
    own: u32,
) -> Result<Vec<GarpLink>, crate::net::interface::InterfaceError> {
    let ours: Vec<u32> = spec
        .vmac
        .iter()
        .chain(&spec.address_vmacs)
        .filter_map(|name| ifindex(name).ok())
        .collect();
    let mut links: Vec<GarpLink> = Vec::new();
    for placed in &spec.addresses {
        if placed.ifindex == own || links.iter().any(|l| l.ifindex == placed.ifindex) {
            continue;
        }
        let name = name_of(placed.ifindex)?;
        let mac = mac_address(&name)?;
        let sender = FrameSender::open(placed.ifindex).map_err(|source| {
            crate::net::interface::InterfaceError::Mac {
                name: name.clone(),
                source,
            }
        })?;
        links.push(GarpLink {
            ifindex: placed.ifindex,
            mac,
            sender: Arc::new(sender),
            ours: ours.contains(&placed.ifindex),
        });
    }
    Ok(links)
}

/// keepalived.conf `kernel_rx_buf_size`: a socket's `SO_RCVBUF` is the sum of its instances'
/// sizes (keepalived's `vrrp_create_sockpool`); when none of them sets one, the socket keeps
/// kad's default.
fn receive_buffer<'a>(socket: &VrrpSocket, slots: impl Iterator<Item = &'a Slot>) {
    let bytes: u64 = slots
        .map(|slot| slot.spec.kernel_rx_buf_size)
        .fold(0, u64::saturating_add);
    if bytes == 0 {
        return;
    }
    if let Err(err) = socket.set_receive_buffer(bytes) {
        tracing::warn!(ifindex = socket.ifindex(), bytes, error = %err, "kernel_rx_buf_size not applied");
    }
}
