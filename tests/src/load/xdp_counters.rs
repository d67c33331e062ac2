//! kad_xdp's per-reason counters as the kernel holds them, read from outside kad: the program
//! attached to a lab host's `eth0` (its id from `ip -d link`), its `KAD_XDP_COUNTERS` map
//! found among the program's maps by name, summed over CPUs. kad pins nothing, so this is the
//! way a test sees what XDP did with a flood without asking the daemon.

use std::{collections::BTreeMap, process::Command};

use anyhow::{Context as _, Result};
use aya::maps::{Map, MapData, MapInfo, PerCpuArray};
use kad_common::xdp_counters::{XDP_COUNTERS_MAP, XdpReason};

use crate::lab::Host;

/// Counter name ([`XdpReason::name`]) → packets, summed over CPUs.
pub type Counters = BTreeMap<&'static str, u64>;

/// The counters of the XDP program on `host`'s `eth0`.
pub fn read(host: &Host) -> Result<Counters> {
    let program = attached_program(host)?;
    let info = aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .find(|info| info.id() == program)
        .with_context(|| format!("XDP program {program} is not loaded"))?;
    let maps = info
        .map_ids()
        .context("program's map ids")?
        .context("kernel does not report map ids")?;
    // Kernel object names keep 15 bytes.
    let wanted = &XDP_COUNTERS_MAP[..XDP_COUNTERS_MAP.len().min(15)];
    let id = maps
        .into_iter()
        .find(|id| {
            MapInfo::from_id(*id)
                .ok()
                .is_some_and(|info| info.name_as_str() == Some(wanted))
        })
        .with_context(|| format!("program {program} has no map {wanted}"))?;
    let data = MapData::from_id(id).context("opening the counters map")?;
    let array: PerCpuArray<MapData, u64> = Map::from_map_data(data)?.try_into()?;
    let mut counters = Counters::new();
    for reason in XdpReason::ALL {
        let values = array.get(&(reason as u32), 0)?;
        counters.insert(reason.name(), values.iter().sum());
    }
    Ok(counters)
}

/// Counter by counter, `after - before`.
pub fn since(after: &Counters, before: &Counters) -> Counters {
    after
        .iter()
        .map(|(name, value)| {
            let earlier = before.get(name).copied().unwrap_or(0);
            (*name, value.saturating_sub(earlier))
        })
        .collect()
}

/// Packets the program dropped (every reason that drops) in `counters`.
pub fn dropped(counters: &Counters) -> u64 {
    XdpReason::ALL
        .iter()
        .filter(|reason| reason.drops())
        .map(|reason| counters.get(reason.name()).copied().unwrap_or(0))
        .sum()
}

/// The id of the XDP program attached to `host`'s `eth0`.
fn attached_program(host: &Host) -> Result<u32> {
    let out = Command::new("ip")
        .args([
            "-n",
            host.ns.name(),
            "-j",
            "-d",
            "link",
            "show",
            Host::IFACE,
        ])
        .output()
        .context("ip -d link show")?;
    let links: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("parsing ip -j link")?;
    links
        .get(0)
        .and_then(|link| link.get("xdp"))
        .and_then(|xdp| xdp.get("prog"))
        .and_then(|prog| prog.get("id"))
        .and_then(serde_json::Value::as_u64)
        .and_then(|id| u32::try_from(id).ok())
        .with_context(|| format!("no XDP program on {}'s {}", host.name, Host::IFACE))
}
