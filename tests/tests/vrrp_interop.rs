//! kad's VRRP runtime against keepalived 2.2.7 on a real bridged segment: election in both
//! directions, the client reaching the VIP, and handover when either side stops.

use std::{net::IpAddr, time::Duration};

use anyhow::{Context as _, Result};
use kad::{
    net::{
        addr::{InterfaceAddress, Scope},
        interface::ifindex,
    },
    runtime::{InstanceSpec, NotifySpec, RuntimeSpec},
    vrrp::{
        fsm::{Centis, InstanceConfig, Version},
        packet::{AuthConfig, ChecksumMode},
    },
};
use kad_tests::{
    lab::{Host, Lab},
    privilege::{Need, require},
};
use tokio::sync::oneshot;

const VIP: &str = "10.77.0.100";

fn keepalived_conf(priority: u8) -> String {
    format!(
        "vrrp_instance LAB {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n\
         \x20 priority {priority}\n  advert_int 0.1\n  version 3\n\
         \x20 virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n"
    )
}

/// kad running in a lab host's namespace on a background thread.
struct KadRuntime {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

impl KadRuntime {
    fn start(host: &Host, priority: u8) -> Result<Self> {
        let primary = IpAddr::V4(host.ipv4);
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = host.ns.spawn(move || {
            let vip: IpAddr = VIP.parse()?;
            let mut fsm = InstanceConfig::new("LAB", 51, primary);
            fsm.version = Version::V3;
            fsm.priority = priority;
            fsm.advert_interval = Centis::new(10).context("interval")?;
            fsm.virtuals.addresses = vec![vip];
            let spec = RuntimeSpec {
                instances: vec![InstanceSpec {
                    fsm,
                    interface: Host::IFACE.into(),
                    addresses: vec![InterfaceAddress {
                        address: vip,
                        prefix_len: 24,
                        ifindex: ifindex(Host::IFACE)?,
                        broadcast: None,
                        scope: Scope::Global,
                        label: None,
                    }],
                    auth: AuthConfig::None,
                    unicast_peers: Vec::new(),
                    checksum: ChecksumMode::PseudoHeader,
                    notify: NotifySpec::default(),
                }],
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(kad::runtime::run(spec, async {
                let _ = stopped.await;
            }))?;
            Ok(())
        })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Graceful stop (what SIGTERM does): returns once the runtime has finished.
    fn stop(&mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| anyhow::anyhow!("kad runtime thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for KadRuntime {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn lab() -> Result<Lab> {
    let mut lab = Lab::new("io")?;
    lab.add_host("r1", 1)?;
    lab.add_host("r2", 2)?;
    lab.add_host("c", 10)?;
    Ok(lab)
}

#[test]
fn kad_master_keeps_keepalived_backup_and_hands_over_on_stop() -> Result<()> {
    if !require(
        "kad_master_keeps_keepalived_backup_and_hands_over_on_stop",
        Need::Root,
    ) {
        return Ok(());
    }
    let mut lab = lab()?;
    lab.start_keepalived("r2", &keepalived_conf(100))?;
    let mut kad = KadRuntime::start(lab.host("r1")?, 200)?;

    lab.wait_for(
        "kad (priority 200) holds the VIP",
        Duration::from_secs(10),
        || lab.host("r1")?.has_address(VIP),
    )?;
    lab.wait_for("the client reaches the VIP", Duration::from_secs(5), || {
        Ok(lab.host("c")?.ping_once(VIP))
    })?;
    // keepalived hears kad's adverts and stays backup: let several Master_Down_Intervals pass.
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        !lab.host("r2")?.has_address(VIP)?,
        "keepalived must stay backup under kad's adverts\n{}",
        lab.logs()
    );

    kad.stop()?;
    assert!(
        !lab.host("r1")?.has_address(VIP)?,
        "kad removed the VIP when it stopped"
    );
    let took = lab.wait_for(
        "keepalived takes over after kad's priority-0 advert",
        Duration::from_secs(2),
        || lab.host("r2")?.has_address(VIP),
    )?;
    eprintln!("keepalived took the VIP {took:?} after kad stopped");
    lab.wait_for(
        "the client reaches the VIP on keepalived",
        Duration::from_secs(5),
        || Ok(lab.host("c")?.ping_once(VIP)),
    )?;
    Ok(())
}

#[test]
fn kad_backup_stays_quiet_under_keepalived_and_takes_over_when_it_stops() -> Result<()> {
    if !require(
        "kad_backup_stays_quiet_under_keepalived_and_takes_over_when_it_stops",
        Need::Root,
    ) {
        return Ok(());
    }
    let mut lab = lab()?;
    let keepalived = lab.start_keepalived("r2", &keepalived_conf(200))?;
    lab.wait_for(
        "keepalived (priority 200) holds the VIP",
        Duration::from_secs(10),
        || lab.host("r2")?.has_address(VIP),
    )?;
    let _kad = KadRuntime::start(lab.host("r1")?, 100)?;
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        !lab.host("r1")?.has_address(VIP)?,
        "kad must stay backup under a higher-priority keepalived master"
    );
    assert!(
        lab.host("r2")?.has_address(VIP)?,
        "keepalived keeps the VIP"
    );

    lab.daemon(keepalived)?.signal(libc::SIGTERM)?;
    let took = lab.wait_for(
        "kad takes over after keepalived's SIGTERM",
        Duration::from_secs(2),
        || lab.host("r1")?.has_address(VIP),
    )?;
    eprintln!("kad took the VIP {took:?} after keepalived's SIGTERM");
    lab.wait_for(
        "the client reaches the VIP on kad",
        Duration::from_secs(5),
        || Ok(lab.host("c")?.ping_once(VIP)),
    )?;
    Ok(())
}
