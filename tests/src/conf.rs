//! keepalived.conf text for lab tests (read as-is by kad and keepalived alike).

/// A `vrrp_instance` block: `state BACKUP`, interface `eth0`, VRRPv3 at 0.1 s, one IPv4 VIP
/// `/24` on `eth0`, and `extra` lines (each indented and newline-terminated) inside the block.
pub fn vrrp_instance(name: &str, vrid: u8, priority: u8, vip: &str, extra: &str) -> String {
    format!(
        "vrrp_instance {name} {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n\
         \x20 priority {priority}\n  advert_int 0.1\n  version 3\n{extra}\
         \x20 virtual_ipaddress {{\n    {vip}/24 dev eth0\n  }}\n}}\n"
    )
}

/// The lab's usual instance: `LAB`, VRID 51, VIP [`crate::lab::VIP`], at `priority`, with
/// `extra` lines inside the block (see [`vrrp_instance`]).
pub fn lab_instance(priority: u8, extra: &str) -> String {
    vrrp_instance("LAB", 51, priority, crate::lab::VIP, extra)
}

/// `count` instances `VI_1`, `VI_2`, … (VRID = their number, priority 150, VIP
/// 10.77.0.(100 + number)) advertising every `advert_int` seconds (e.g. `"0.01"`): load
/// for status and metrics tests.
pub fn fast_instances(count: u8, advert_int: &str) -> String {
    (1..=count)
        .map(|vrid| {
            vrrp_instance(
                &format!("VI_{vrid}"),
                vrid,
                150,
                &format!("10.77.0.{}", 100 + u32::from(vrid)),
                "",
            )
            .replace("advert_int 0.1", &format!("advert_int {advert_int}"))
        })
        .collect()
}

/// `global_defs { router_id ROUTER }`: names the router in keepalived's and kad's logs.
pub fn router_id(router: &str) -> String {
    format!("global_defs {{\n  router_id {router}\n}}\n")
}

/// What the configuration checks are told of the machine: every interface exists, no script
/// program does (so script security stays quiet).
pub struct EveryInterfaceNoProgram;

impl kad::config::Environment for EveryInterfaceNoProgram {
    fn interface_exists(&self, _: &str) -> bool {
        true
    }
    fn program_exists(&self, _: &str) -> bool {
        false
    }
}

/// Loads `text` as `t.conf` the way the configuration tests want it: no includes resolved,
/// every interface present, no script program (see [`EveryInterfaceNoProgram`]).
pub fn load_isolated(text: &str) -> kad::config::Loaded {
    kad::config::load_text(
        "t.conf",
        text,
        &kad::config::LoadOptions::with_config_id("test"),
        &kad::config::NoFiles,
        &EveryInterfaceNoProgram,
    )
}
