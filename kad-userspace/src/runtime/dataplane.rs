//! The XDP receive path of the runtime (issue 6): kad's XDP program validates adverts in
//! the kernel and records the last one per instance in `KAD_VRRP_SEEN`; only adverts that
//! change something reach userspace, as ring-buffer events. This module keeps the program's
//! maps in step with the instances (expected VRID/version/auth, role, own priority, VIPs to
//! filter), turns events into the same [`Inbound`] messages the socket path produces, and
//! answers "when did the master last speak?" for a Backup's master-down timer.
//!
//! When the program cannot load or attach, every instance on that interface keeps the
//! raw-socket path (issue 5), which always runs beside this one for what XDP passes up
//! (AH-authenticated adverts, interfaces without XDP).

use std::{
    collections::{HashMap, HashSet},
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use aya::maps::{MapData, RingBuf};
use kad_common::xdp_maps::{
    FAMILY_V4, FAMILY_V6, FLAG_CHECKSUM_AS_V2, FLAG_LOG_UNKNOWN_VRIDS, FLAG_OLD_CHECKSUM,
    FLAG_OLD_CHECKSUM_ONLY, FLAG_PREEMPT, FLAG_TO_SOCKET, ROLE_BACKUP, ROLE_MASTER, VrrpConfig,
    VrrpKey, VrrpSeen,
};
use tokio::{
    io::unix::AsyncFd,
    sync::{mpsc, watch},
    task::JoinHandle,
};

use crate::{
    bfd::{BfdXdpLink, xdp::BfdDataplane},
    net::interface::ifindex,
    vrrp::{
        fsm::{Advert, Instance, State, Timestamp},
        packet::{AuthConfig, ChecksumMode, Version},
    },
    xdp::{
        self, AttachMode, LoadOptions, XdpDataplane,
        event::{Record, XdpEvent, address, version},
    },
};

use super::{Inbound, InstanceSpec, Slot, accept::AcceptPolicy, clock::Clock};

/// How the runtime receives adverts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReceivePath {
    /// XDP where it loads and attaches, raw sockets elsewhere (the default).
    #[default]
    Xdp,
    /// `kad --no-xdp`: raw sockets only.
    RawSockets,
}

/// Options of [`super::run_with`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Which receive path to use.
    pub receive: ReceivePath,
    /// `-D`: the XDP program's aya-log debug records.
    pub xdp_debug_log: bool,
    /// `-V` (keepalived `--dont-release-vrrp`): at stop, Masters keep their virtual
    /// addresses, routes and rules and send no priority-0 advert.
    pub dont_release_vrrp: bool,
}

/// Counts of what woke the protocol side for adverts, for the status output and the tests
/// that show XDP keeps steady-state adverts in the kernel.
#[derive(Debug, Default)]
pub struct ReceiveStats {
    /// Datagrams read from VRRP raw sockets.
    pub socket_packets: AtomicU64,
    /// Times the ring-buffer reader woke up.
    pub xdp_wakeups: AtomicU64,
    /// Ring-buffer events read.
    pub xdp_events: AtomicU64,
    /// Master-down timers that found a newer advert in `KAD_VRRP_SEEN` and re-armed.
    pub seen_refreshes: AtomicU64,
    /// Times the protocol loop woke because a timer was due (adverts to send, master-down
    /// timers, `KAD_VRRP_SEEN` reads).
    pub timer_wakeups: AtomicU64,
}

impl ReceiveStats {
    /// Logs the counters (at stop).
    pub fn log(&self) {
        tracing::info!(
            socket_packets = self.socket_packets.load(Ordering::Relaxed),
            xdp_wakeups = self.xdp_wakeups.load(Ordering::Relaxed),
            xdp_events = self.xdp_events.load(Ordering::Relaxed),
            seen_refreshes = self.seen_refreshes.load(Ordering::Relaxed),
            timer_wakeups = self.timer_wakeups.load(Ordering::Relaxed),
            "receive statistics"
        );
    }
}

/// Which slot an event's key belongs to, tagged with the receive generation.
#[derive(Debug, Default)]
struct EventRoutes {
    generation: u64,
    slots: HashMap<VrrpKey, (usize, Arc<str>)>,
}

/// The loaded program, its attachments and what was last written to its maps.
pub(crate) struct XdpPath {
    dataplane: XdpDataplane,
    /// ifindex → how the program is attached and the interface's counter slot (None:
    /// attach failed, raw sockets there).
    attached: HashMap<u32, Option<(AttachMode, u32)>>,
    /// Keys written to `KAD_VRRP_CONFIG`, with the value written.
    written: HashMap<VrrpKey, VrrpConfig>,
    /// The VIPs each instance wants filtered: those of a Master without `accept`.
    vip_filters: HashMap<VrrpKey, Vec<IpAddr>>,
    /// (ifindex, VIP) pairs written to `KAD_VIP_V4/V6`.
    vips: HashSet<(u32, IpAddr)>,
    routes: watch::Sender<Arc<EventRoutes>>,
    events: JoinHandle<()>,
    /// `-D`: the program's aya-log records are forwarded to kad's log.
    debug_log: bool,
    /// The BFD thread's way in (`None`: no BFD sessions), and whether it was given the map.
    bfd: Option<(Arc<BfdXdpLink>, bool)>,
}

impl XdpPath {
    /// Loads the program and starts the event reader; `None` (with a warning saying why)
    /// when this kernel or process cannot run it.
    pub(crate) fn start(
        options: RunOptions,
        inbound: mpsc::Sender<Inbound>,
        stats: Arc<ReceiveStats>,
        bfd: Option<BfdXdpLink>,
    ) -> Option<Self> {
        if options.receive == ReceivePath::RawSockets {
            tracing::info!("--no-xdp: adverts are received on raw sockets");
            return None;
        }
        let loaded = XdpDataplane::load(LoadOptions {
            debug_log: options.xdp_debug_log,
        })
        .and_then(|mut dataplane| {
            let ring = dataplane.take_events()?;
            Ok((dataplane, ring))
        });
        let (dataplane, ring) = match loaded {
            Ok(loaded) => loaded,
            Err(err) => {
                tracing::warn!(error = %err, "XDP dataplane unavailable; falling back to raw sockets");
                return None;
            }
        };
        // SAFETY: the ring buffer owns its map's file descriptor and keeps it open, unchanged,
        // for as long as the AsyncFd owns the ring buffer.
        let ring = match unsafe { AsyncFd::register(ring) } {
            Ok(ring) => ring,
            Err(err) => {
                tracing::warn!(error = %err, "XDP event ring cannot be polled; falling back to raw sockets");
                return None;
            }
        };
        let (routes, routes_rx) = watch::channel(Arc::new(EventRoutes::default()));
        let bfd = bfd.map(Arc::new);
        let events = tokio::spawn(read_events(ring, routes_rx, inbound, stats, bfd.clone()));
        Some(Self {
            dataplane,
            attached: HashMap::new(),
            written: HashMap::new(),
            vip_filters: HashMap::new(),
            vips: HashSet::new(),
            routes,
            events,
            debug_log: options.xdp_debug_log,
            bfd: bfd.map(|link| (link, false)),
        })
    }

    /// keepalived.conf `bfd_instance`: attaches the program to the interfaces the BFD
    /// sessions' packets arrive on (even where no VRRP instance runs), hands the BFD thread
    /// the session map the first time, and tells it where the program runs.
    pub(crate) fn attach_bfd(&mut self, interfaces: &[String]) {
        let Some((link, _)) = &self.bfd else {
            return;
        };
        let link = Arc::clone(link);
        for interface in interfaces {
            self.attach(interface);
        }
        let attached: HashSet<u32> = self
            .attached
            .iter()
            .filter(|(_, mode)| mode.is_some())
            .map(|(ifindex, _)| *ifindex)
            .collect();
        let given = self.bfd.as_ref().is_some_and(|(_, given)| *given);
        if given {
            link.attached(attached);
            return;
        }
        match self.dataplane.take_bfd_sessions() {
            Ok(sessions) => {
                link.give(BfdDataplane { sessions, attached });
                if let Some((_, given)) = self.bfd.as_mut() {
                    *given = true;
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "BFD sessions stay in userspace: XDP session map unavailable");
                self.bfd = None;
            }
        }
    }

    /// Before the sockets of `instances` open: attaches the program where they receive and
    /// gives each new instance its entry (as a Backup), so no advert queues on a socket in
    /// between. Kept instances keep their entries untouched.
    pub(crate) fn prepare(&mut self, instances: &[InstanceSpec]) {
        for spec in instances {
            let Some(ifindex) = self.attach(&spec.receive_interface) else {
                continue;
            };
            let key = key_of(spec, ifindex);
            if !self.written.contains_key(&key) {
                self.write_config(spec, key, config_of(spec, false, spec.fsm.priority));
            }
        }
    }

    /// Writes `config` for `key` (instance `spec`) unless it is what was written last.
    fn write_config(&mut self, spec: &InstanceSpec, key: VrrpKey, config: VrrpConfig) {
        if self.written.get(&key) == Some(&config) {
            return;
        }
        match self.dataplane.set_vrrp_config(key, &config) {
            Ok(()) => {
                self.written.insert(key, config);
            }
            Err(err) => tracing::error!(
                instance = %spec.fsm.name,
                vrid = key.vrid,
                error = %err,
                "writing XDP configuration"
            ),
        }
    }

    /// Attaches the program where `slots` receive, writes their configuration and VIP
    /// filters, drops what no slot needs any more, and points events at the slots
    /// (`generation` is the receive generation their [`Inbound`] messages must carry).
    pub(crate) fn sync(&mut self, slots: &mut [Slot], generation: u64) {
        let mut routes = EventRoutes {
            generation,
            slots: HashMap::new(),
        };
        let mut vip_filters = HashMap::new();
        for (index, slot) in slots.iter_mut().enumerate() {
            slot.xdp = None;
            let Some(receive_ifindex) = self.attach(&slot.spec.receive_interface) else {
                continue;
            };
            let key = key_of(&slot.spec, receive_ifindex);
            if routes.slots.contains_key(&key) {
                tracing::warn!(
                    instance = %slot.spec.fsm.name,
                    vrid = slot.spec.fsm.vrid,
                    "two instances share a VRID, family and interface; this one uses the raw socket"
                );
                continue;
            }
            routes
                .slots
                .insert(key, (index, Arc::clone(&slot.spec.fsm.name)));
            slot.xdp = Some(XdpSlot {
                key,
                seen_count: 0,
                seen_index: self.dataplane.seen_index(&key).ok().flatten(),
            });
            // Peers only change with the configuration: written here, on start and reload.
            if let Err(err) = self
                .dataplane
                .set_unicast_peers(key, &slot.spec.unicast_peers)
            {
                tracing::warn!(instance = %slot.spec.fsm.name, vrid = slot.spec.fsm.vrid, error = %err, "writing XDP unicast peers");
            }
            // A kept instance that was Master keeps its filters, for its (possibly reloaded)
            // VIPs; `update` corrects them at its next state change.
            if self
                .vip_filters
                .get(&key)
                .is_some_and(|vips| !vips.is_empty())
            {
                vip_filters.insert(key, vip_filters_of(&slot.spec, true));
            }
        }
        // Configuration for keys no slot uses any more goes first, so a reload that moves a
        // VRID between instances never leaves the old entry behind.
        let stale: Vec<VrrpKey> = self
            .written
            .keys()
            .filter(|key| !routes.slots.contains_key(key))
            .copied()
            .collect();
        for key in stale {
            if let Err(err) = self.dataplane.remove_vrrp_config(&key) {
                tracing::warn!(vrid = key.vrid, ifindex = key.ifindex, error = %err, "removing XDP configuration");
            }
            self.written.remove(&key);
        }
        self.vip_filters = vip_filters;
        self.write_vips();
        self.routes.send_replace(Arc::new(routes));
    }

    /// Makes `KAD_VIP_V4/V6` hold the union of the instances' wanted filters, each on the
    /// interface its instance receives on: removes what is no longer wanted and adds what is
    /// missing (an entry that could not be written is tried again on the next call).
    fn write_vips(&mut self) {
        let wanted: HashSet<(u32, IpAddr)> = self
            .vip_filters
            .iter()
            .flat_map(|(key, vips)| vips.iter().map(|vip| (key.ifindex, *vip)))
            .collect();
        let mut written = HashSet::new();
        for (ifindex, vip) in std::mem::take(&mut self.vips) {
            if wanted.contains(&(ifindex, vip)) {
                written.insert((ifindex, vip));
            } else if let Err(err) = self.dataplane.set_vip(ifindex, vip, false) {
                tracing::warn!(%vip, ifindex, error = %err, "removing XDP VIP filter");
                written.insert((ifindex, vip));
            }
        }
        for (ifindex, vip) in wanted {
            if written.contains(&(ifindex, vip)) {
                continue;
            }
            match self.dataplane.set_vip(ifindex, vip, true) {
                Ok(()) => {
                    written.insert((ifindex, vip));
                }
                Err(err) => {
                    tracing::warn!(%vip, ifindex, error = %err, "adding XDP VIP filter (no_accept)");
                }
            }
        }
        self.vips = written;
    }

    /// Writes `slot`'s expectations for its current role and priority, if they changed.
    pub(crate) fn update(&mut self, slot: &Slot, instance: &Instance) {
        let Some(xdp) = &slot.xdp else {
            return;
        };
        // A gracefully stopping Master stays "Master at priority 0" for XDP, so its
        // successor's first advert (any priority above 0) wakes it at once.
        let config = if instance.releasing() {
            config_of(&slot.spec, true, 0)
        } else {
            config_of(
                &slot.spec,
                instance.state() == State::Master,
                instance.priority(),
            )
        };
        let key = xdp.key;
        self.write_config(&slot.spec, key, config);
        let filters = vip_filters_of(&slot.spec, instance.state() == State::Master);
        if self.vip_filters.get(&key).map_or(&[][..], Vec::as_slice) != filters.as_slice() {
            tracing::debug!(instance = %slot.spec.fsm.name, vrid = key.vrid, vips = filters.len(), "XDP VIP filters (no_accept) follow the state");
            self.vip_filters.insert(key, filters);
            self.write_vips();
        }
    }

    /// The last advert XDP recorded for `slot`, if newer than what the core was last given,
    /// as an advert and the time it arrived.
    pub(crate) fn newer_advert(
        &self,
        slot: &mut Slot,
        clock: &Clock,
    ) -> Option<(Timestamp, Advert)> {
        let xdp = slot.xdp.as_mut()?;
        let index = match xdp.seen_index {
            Some(index) => index,
            None => {
                let index = self.dataplane.seen_index(&xdp.key).ok().flatten()?;
                xdp.seen_index = Some(index);
                index
            }
        };
        let seen: VrrpSeen = match self.dataplane.vrrp_seen_at(index) {
            Ok(seen) => seen?,
            Err(err) => {
                tracing::warn!(instance = %slot.spec.fsm.name, vrid = slot.spec.fsm.vrid, error = %err, "reading XDP last-seen advert");
                return None;
            }
        };
        if seen.count == xdp.seen_count {
            return None;
        }
        xdp.seen_count = seen.count;
        let advert = Advert {
            source: address(xdp.key.family, &seen.sender),
            version: version(seen.version)?,
            vrid: xdp.key.vrid,
            priority: seen.priority,
            interval_cs: seen.interval_cs,
        };
        Some((timestamp_of(seen.last_ns, clock), advert))
    }

    /// Attaches to `interface` once; its ifindex if the program runs there.
    fn attach(&mut self, interface: &str) -> Option<u32> {
        let index = match ifindex(interface) {
            Ok(index) => index,
            Err(err) => {
                tracing::warn!(interface, error = %err, "XDP: no such interface");
                return None;
            }
        };
        if let Some(mode) = self.attached.get(&index) {
            return mode.map(|_| index);
        }
        let mode = match self.dataplane.attach(interface) {
            Ok(mode) => {
                tracing::info!(interface, ?mode, "XDP program attached");
                let slot = u32::try_from(self.attached.len() + 1).unwrap_or(0);
                if let Err(err) = self.dataplane.set_interface_slot(index, slot) {
                    tracing::warn!(interface, error = %err, "XDP: per-interface counters unavailable");
                }
                Some((mode, slot))
            }
            Err(err) => {
                tracing::warn!(interface, error = %err, "XDP cannot attach; this interface uses raw sockets");
                None
            }
        };
        self.attached.insert(index, mode);
        mode.map(|_| index)
    }
}

impl XdpPath {
    /// Whether the program's debug records (`-D`) are to be forwarded.
    pub(crate) fn debug_log(&self) -> bool {
        self.debug_log
    }

    /// Forwards the program's pending aya-log records to kad's log.
    pub(crate) fn flush_log(&mut self) {
        self.dataplane.flush_log();
    }

    /// Logs each attached interface's per-reason counters (at stop).
    pub(crate) fn log_counters(&self) {
        for (ifindex, attached) in &self.attached {
            let Some((mode, slot)) = attached else {
                continue;
            };
            match self.dataplane.interface_counters(*slot) {
                Ok(counters) => tracing::info!(ifindex, ?mode, %counters, "XDP counters"),
                Err(err) => tracing::warn!(ifindex, error = %err, "XDP counters unreadable"),
            }
        }
    }
}

/// Reads for the status snapshot (issue 8).
impl XdpPath {
    /// Adverts XDP recorded for `slot`'s instance (its `KAD_VRRP_SEEN` count); 0 when it has
    /// none or the map cannot be read.
    pub(crate) fn seen_count(&self, slot: &Slot) -> u64 {
        slot.xdp
            .and_then(|xdp| self.dataplane.vrrp_seen(&xdp.key).ok().flatten())
            .map_or(0, |seen| seen.count)
    }

    /// How the program is attached to `ifindex` and its counters there, if it runs there.
    pub(crate) fn interface_counters(
        &self,
        ifindex: u32,
    ) -> Option<(AttachMode, crate::xdp::XdpCounters)> {
        let (mode, slot) = (*self.attached.get(&ifindex)?)?;
        let counters = self.dataplane.interface_counters(slot).ok()?;
        Some((mode, counters))
    }
}

impl Drop for XdpPath {
    fn drop(&mut self) {
        if let Some((link, true)) = &self.bfd {
            link.detached();
        }
        self.events.abort();
    }
}

/// A slot served by XDP: its key in the maps and the seen count last handed to the core.
#[derive(Clone, Copy, Debug)]
pub(crate) struct XdpSlot {
    pub(crate) key: VrrpKey,
    seen_count: u64,
    /// Where `key` sits in `KAD_VRRP_SEEN`, once looked up (fixed while the interface keeps
    /// its slot; a re-created interface gets a new key and a new `XdpSlot`).
    seen_index: Option<u32>,
}

fn key_of(spec: &InstanceSpec, ifindex: u32) -> VrrpKey {
    VrrpKey {
        ifindex,
        vrid: spec.fsm.vrid,
        family: if spec.fsm.primary_address.is_ipv6() {
            FAMILY_V6
        } else {
            FAMILY_V4
        },
        pad: [0; 2],
    }
}

/// keepalived `no_accept` (or `vrrp_strict`, not the address owner): the VIPs whose traffic
/// XDP drops for `spec`'s instance, on its receive interface. Only while it is Master (holds
/// them), as keepalived sets its firewall drop rules on becoming Master and removes them on
/// leaving it (`vrrp_handle_accept_mode`).
fn vip_filters_of(spec: &InstanceSpec, master: bool) -> Vec<IpAddr> {
    if master && !spec.fsm.accept && spec.fsm.priority != 255 {
        spec.fsm.virtuals.installed().collect()
    } else {
        Vec::new()
    }
}

/// What XDP must expect for `spec` while the instance is (`master`) or is not Master, with
/// effective priority `priority`.
fn config_of(spec: &InstanceSpec, master: bool, priority: u8) -> VrrpConfig {
    let (auth_type, auth_pass) = match spec.auth {
        AuthConfig::None => (0, [0; 8]),
        AuthConfig::Pass(pass) => (1, pass),
        AuthConfig::Ah(_) => (2, [0; 8]),
    };
    // Sources and TTLs: the rule the socket path applies, as flags.
    let mut flags = AcceptPolicy::of(spec).xdp_flags();
    if spec.checksum == ChecksumMode::AsV2 {
        flags |= FLAG_CHECKSUM_AS_V2;
    }
    // keepalived.conf old_unicast_checksum: XDP checks the old form against the group;
    // under detection an advert in it goes to the socket, which switches the instance.
    let mut checksum_group = [0; 4];
    if spec.detects_old_checksum() {
        flags |= FLAG_OLD_CHECKSUM;
        checksum_group = spec.checksum_group.octets();
    }
    if let ChecksumMode::OldUnicast(group) = spec.checksum_mode() {
        flags |= FLAG_OLD_CHECKSUM_ONLY;
        checksum_group = group.octets();
    }
    if !spec.fsm.nopreempt && spec.fsm.preempt_delay.is_zero() {
        flags |= FLAG_PREEMPT;
    }
    // keepalived.conf notify_master_rx_lower_pri: the Master must see each advert of lower
    // priority, which the XDP program would discard; the socket gets them all, as
    // keepalived's does.
    if spec.notify.master_rx_lower_pri.is_some() {
        flags |= FLAG_TO_SOCKET;
    }
    if spec.log_unknown_vrids {
        flags |= FLAG_LOG_UNKNOWN_VRIDS;
    }
    VrrpConfig {
        version: match spec.fsm.version {
            Version::V2 => 2,
            Version::V3 => 3,
        },
        auth_type,
        role: if master { ROLE_MASTER } else { ROLE_BACKUP },
        flags,
        own_priority: priority,
        pad: [0; 3],
        auth_pass,
        own_addr: octets(spec.fsm.primary_address),
        checksum_group,
    }
}

fn octets(address: IpAddr) -> [u8; 16] {
    let mut out = [0; 16];
    match address {
        IpAddr::V4(v4) => {
            if let Some(head) = out.get_mut(..4) {
                head.copy_from_slice(&v4.octets());
            }
        }
        IpAddr::V6(v6) => out = v6.octets(),
    }
    out
}

/// CLOCK_MONOTONIC now, in ns (the clock `bpf_ktime_get_ns` reads).
fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer; CLOCK_MONOTONIC
    // always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    u64::try_from(now.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(now.tv_nsec).unwrap_or(0))
}

/// The runtime timestamp of a `bpf_ktime_get_ns` reading (never later than now).
fn timestamp_of(kernel_ns: u64, clock: &Clock) -> Timestamp {
    let now = clock.now();
    let age = Duration::from_nanos(monotonic_ns().saturating_sub(kernel_ns));
    Timestamp::from_micros(
        now.as_micros()
            .saturating_sub(age.as_micros().try_into().unwrap_or(u64::MAX)),
    )
}

/// At most one auth-failure warning per this period.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Reads the ring buffer whenever the kernel says it has records, and forwards adverts to
/// the protocol loop; counts every wake-up.
async fn read_events(
    mut ring: AsyncFd<RingBuf<MapData>>,
    routes: watch::Receiver<Arc<EventRoutes>>,
    inbound: mpsc::Sender<Inbound>,
    stats: Arc<ReceiveStats>,
    bfd: Option<Arc<BfdXdpLink>>,
) {
    let mut batch: Vec<XdpEvent> = Vec::with_capacity(64);
    let mut last_warning: Option<Instant> = None;
    loop {
        let mut guard = match ring.readable_mut().await {
            Ok(guard) => guard,
            Err(err) => {
                tracing::error!(error = %err, "XDP event ring unreadable; adverts now reach kad only by the master-down timer");
                return;
            }
        };
        stats.xdp_wakeups.fetch_add(1, Ordering::Relaxed);
        let buffer = guard.get_inner_mut();
        while let Some(item) = buffer.next() {
            match xdp::event::decode_record(&item) {
                Some(Record::Vrrp(event)) => batch.push(event),
                // The BFD thread checks the session's entry before it acts (stale events).
                Some(Record::BfdExpired(expiry)) => {
                    if let Some(link) = &bfd {
                        link.expired(expiry.discriminator);
                    }
                }
                None => {}
            }
        }
        guard.clear_ready();
        stats
            .xdp_events
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let table = Arc::clone(&routes.borrow());
        for event in batch.drain(..) {
            let advert = match event {
                XdpEvent::AuthFailure { key, sender } => {
                    let Some((_, name)) = table.slots.get(&key) else {
                        continue;
                    };
                    let now = Instant::now();
                    if last_warning.is_none_or(|at| now.duration_since(at) >= WARN_EVERY) {
                        last_warning = Some(now);
                        tracing::warn!(instance = %name, vrid = key.vrid, %sender, "XDP dropped an advert: authentication failed");
                    }
                    continue;
                }
                XdpEvent::UnknownVrid { key, sender } => {
                    let interface = crate::net::interface::name_of(key.ifindex)
                        .unwrap_or_else(|_| key.ifindex.to_string());
                    tracing::info!(
                        interface,
                        ifindex = key.ifindex,
                        vrid = key.vrid,
                        %sender,
                        "Unknown VRID({}) received on interface({interface}). ignoring...",
                        key.vrid
                    );
                    continue;
                }
                XdpEvent::Advert { key, advert } => {
                    let Some((slot, _)) = table.slots.get(&key) else {
                        continue;
                    };
                    Inbound {
                        generation: table.generation,
                        slot: *slot,
                        advert,
                        old_checksum: false,
                    }
                }
            };
            if inbound.send(advert).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_time_maps_to_the_past() {
        let clock = Clock::new();
        std::thread::sleep(Duration::from_millis(20));
        let kernel_now = monotonic_ns();
        let earlier = kernel_now - 10_000_000;
        let at = timestamp_of(earlier, &clock);
        let now = clock.now();
        let age = now.as_micros() - at.as_micros();
        assert!((9_000..=15_000).contains(&age), "age {age} µs");
    }

    #[test]
    fn addresses_round_trip() {
        let v4 = IpAddr::V4(std::net::Ipv4Addr::new(10, 77, 0, 2));
        assert_eq!(address(FAMILY_V4, &octets(v4)), v4);
        let v6: IpAddr = "fe80::1".parse().unwrap_or(v4);
        assert_eq!(address(FAMILY_V6, &octets(v6)), v6);
    }
}
