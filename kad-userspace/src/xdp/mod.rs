//! The XDP dataplane: load kad's embedded eBPF object, attach `kad_xdp` to interfaces, read
//! its per-reason counters, share VRRP state with it through its maps (`maps.rs`), and run it
//! on crafted packets (`BPF_PROG_TEST_RUN`, `test_run.rs`); BFD sessions (`bfd.rs`).

mod bfd;
mod counters;
pub mod event;
mod maps;
mod probe;
mod seen_view;
mod test_run;

pub use bfd::{BfdExpect, BfdSessions};
pub use counters::XdpCounters;
pub use maps::{address_bytes, parse_event};
pub use probe::{PROBE_FRAME, probe_frame};
pub use test_run::TestRunTiming;

use aya::{
    Ebpf, EbpfLoader,
    maps::PerCpuArray,
    programs::{ProgramError, Xdp, XdpMode},
};
use kad_common::xdp_counters::{XDP_COUNTERS_MAP, XDP_PROGRAM, XdpReason};
use thiserror::Error;

/// kad's XDP object, compiled by build.rs from the `kad-ebpf` crate.
static KAD_EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/kad-ebpf"));

/// What can go wrong between kad and the kernel's BPF subsystem.
#[derive(Debug, Error)]
pub enum XdpError {
    #[error("loading kad's eBPF object: {0}")]
    Load(#[source] Box<aya::EbpfError>),
    #[error("eBPF object has no program `{0}`")]
    MissingProgram(&'static str),
    #[error("eBPF object has no map `{0}`")]
    MissingMap(&'static str),
    #[error("XDP program `{program}`: {source}")]
    Program {
        program: &'static str,
        #[source]
        source: Box<ProgramError>,
    },
    #[error("attaching XDP to {interface}: native mode: {native}; generic (SKB) mode: {skb}")]
    Attach {
        interface: String,
        native: Box<ProgramError>,
        skb: Box<ProgramError>,
    },
    #[error("map `{map}`: {source}")]
    Map {
        map: &'static str,
        #[source]
        source: aya::maps::MapError,
    },
    #[error(
        "counter slot {slot} is out of range (interfaces take 1..{})",
        kad_common::xdp_maps::MAX_INTERFACES
    )]
    BadSlot { slot: u32 },
    #[error(
        "interface index {ifindex} is too large for a counter slot (limit {})",
        kad_common::xdp_maps::MAX_IFINDEX
    )]
    IfindexTooLarge { ifindex: u32 },
    #[error("interface {ifindex} has no counter slot: give it one before its VRRP instances")]
    NoSlot { ifindex: u32 },
    #[error("interface {ifindex} already has counter slot {current}")]
    HasSlot { ifindex: u32, current: u32 },
    #[error("VRRP key {key:?}: configuration version must be 2 or 3, not {version}")]
    BadConfigVersion {
        key: kad_common::xdp_maps::VrrpKey,
        version: u8,
    },
    #[error("VRRP key {0:?}: VRID must be 1..255 and family 4 or 6")]
    BadKey(kad_common::xdp_maps::VrrpKey),
    #[error("address {address} is not of the key's family {family}")]
    FamilyMismatch {
        address: std::net::IpAddr,
        family: u8,
    },
    #[error("frame of {len} bytes is too long for BPF_PROG_TEST_RUN")]
    FrameTooLong { len: usize },
}

/// How an XDP program ended up attached to an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachMode {
    /// Driver (native) XDP.
    Native,
    /// Generic XDP in the kernel's receive path, used when the driver refuses native mode.
    Skb,
}

/// What an XDP program decided for a frame (`enum xdp_action` in the kernel's UAPI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpVerdict {
    /// `XDP_ABORTED` (0): program error, frame dropped.
    Aborted,
    /// `XDP_DROP` (1).
    Drop,
    /// `XDP_PASS` (2): on to the kernel's network stack.
    Pass,
    /// `XDP_TX` (3).
    Tx,
    /// `XDP_REDIRECT` (4).
    Redirect,
    /// Any other return code.
    Other(u32),
}

impl XdpVerdict {
    /// The verdict a program's return code stands for.
    pub fn from_code(code: u32) -> Self {
        match code {
            0 => Self::Aborted,
            1 => Self::Drop,
            2 => Self::Pass,
            3 => Self::Tx,
            4 => Self::Redirect,
            other => Self::Other(other),
        }
    }
}

/// Options for [`XdpDataplane::load`].
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadOptions {
    /// Enable the program's aya-log debug records (`kad -D`). Off by default: logging costs
    /// about twenty times the per-packet floor.
    pub debug_log: bool,
}

/// kad's loaded XDP object: the `kad_xdp` program and its maps. Links made by
/// [`XdpDataplane::attach`] are detached when this value is dropped (nothing is pinned).
pub struct XdpDataplane {
    ebpf: Ebpf,
    logger: Option<aya_log::EbpfLogger<&'static dyn log::Log>>,
    /// `KAD_VRRP_SEEN` mapped into memory (`None`: read through system calls).
    seen: Option<seen_view::SeenView>,
}

impl XdpDataplane {
    /// Loads the embedded object into the kernel and verifies `kad_xdp`.
    pub fn load(options: LoadOptions) -> Result<Self, XdpError> {
        let level: u8 = if options.debug_log {
            aya_log::Level::Debug as u8
        } else {
            0
        };
        let mut ebpf = EbpfLoader::new()
            .override_global(aya_log::LEVEL, &level, false)
            .load(KAD_EBPF_OBJECT)
            .map_err(|err| XdpError::Load(Box::new(err)))?;
        let logger = if options.debug_log {
            match aya_log::EbpfLogger::init(&mut ebpf) {
                Ok(logger) => Some(logger),
                Err(err) => {
                    tracing::warn!(error = %err, "XDP debug log unavailable");
                    None
                }
            }
        } else {
            None
        };
        let seen = match ebpf.map(kad_common::xdp_maps::VRRP_SEEN_MAP) {
            Some(aya::maps::Map::Array(data)) => match seen_view::SeenView::map(data.fd()) {
                Ok(view) => Some(view),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot map KAD_VRRP_SEEN; reading it through system calls");
                    None
                }
            },
            _ => None,
        };
        let mut dataplane = Self { ebpf, logger, seen };
        dataplane
            .program_mut()?
            .load()
            .map_err(|source| XdpError::Program {
                program: XDP_PROGRAM,
                source: Box::new(source),
            })?;
        Ok(dataplane)
    }

    fn program_mut(&mut self) -> Result<&mut Xdp, XdpError> {
        let program = self
            .ebpf
            .program_mut(XDP_PROGRAM)
            .ok_or(XdpError::MissingProgram(XDP_PROGRAM))?;
        program.try_into().map_err(|source| XdpError::Program {
            program: XDP_PROGRAM,
            source: Box::new(source),
        })
    }

    fn program(&self) -> Result<&Xdp, XdpError> {
        let program = self
            .ebpf
            .program(XDP_PROGRAM)
            .ok_or(XdpError::MissingProgram(XDP_PROGRAM))?;
        program.try_into().map_err(|source| XdpError::Program {
            program: XDP_PROGRAM,
            source: Box::new(source),
        })
    }

    /// Attaches `kad_xdp` to `interface`: native (driver) mode first, generic SKB mode when the
    /// driver refuses. The link lives as long as this value.
    pub fn attach(&mut self, interface: &str) -> Result<AttachMode, XdpError> {
        let program = self.program_mut()?;
        let native = match program.attach(interface, XdpMode::Driver) {
            Ok(_) => return Ok(AttachMode::Native),
            Err(err) => err,
        };
        match program.attach(interface, XdpMode::Skb) {
            Ok(_) => {
                tracing::warn!(interface, error = %native, "native XDP refused; using generic (SKB) mode");
                Ok(AttachMode::Skb)
            }
            Err(skb) => Err(XdpError::Attach {
                interface: interface.to_owned(),
                native: Box::new(native),
                skb: Box::new(skb),
            }),
        }
    }

    /// Runs `kad_xdp` once on `frame` with `BPF_PROG_TEST_RUN` and returns its verdict.
    /// Counters move as for a received frame. The kernel runs it as received on the loopback
    /// device (`lo`, ifindex 1); [`XdpDataplane::test_run_on`] chooses the interface.
    pub fn test_run(&self, frame: &[u8]) -> Result<XdpVerdict, XdpError> {
        /// The loopback device's index, which always exists.
        const LOOPBACK: u32 = 1;
        self.test_run_on(frame, LOOPBACK)
    }

    /// The per-reason counters, summed over CPUs.
    pub fn counters(&self) -> Result<XdpCounters, XdpError> {
        let map = self
            .ebpf
            .map(XDP_COUNTERS_MAP)
            .ok_or(XdpError::MissingMap(XDP_COUNTERS_MAP))?;
        let array = PerCpuArray::<_, u64>::try_from(map).map_err(|source| XdpError::Map {
            map: XDP_COUNTERS_MAP,
            source,
        })?;
        let mut counters = XdpCounters::default();
        for reason in XdpReason::ALL {
            let per_cpu = array
                .get(&(reason as u32), 0)
                .map_err(|source| XdpError::Map {
                    map: XDP_COUNTERS_MAP,
                    source,
                })?;
            counters.set(reason, per_cpu.iter().sum());
        }
        Ok(counters)
    }

    /// Forwards pending aya-log records from the program to kad's log (when `-D` enabled them).
    pub fn flush_log(&mut self) {
        if let Some(logger) = self.logger.as_mut() {
            logger.flush();
        }
    }
}
