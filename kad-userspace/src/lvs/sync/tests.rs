//! The sync daemon follower against a kernel in memory that behaves as IPVS does (one
//! master and one backup daemon at most, `EEXIST` on a second start, `ESRCH` on stopping
//! one that does not run), driven by VRRP state sequences.

use std::{io, sync::Arc};

use super::*;
use crate::config::{LoadOptions, parse_str};

/// The kernel's daemons and every request, as kad logs them.
#[derive(Default)]
struct Daemons {
    master: Option<SyncDaemon>,
    backup: Option<SyncDaemon>,
    requests: Vec<String>,
}

fn kernel_error(errno: i32) -> IpvsError {
    IpvsError::Kernel {
        what: "test".into(),
        source: io::Error::from_raw_os_error(errno),
    }
}

impl Daemons {
    fn slot(&mut self, state: SyncState) -> &mut Option<SyncDaemon> {
        match state {
            SyncState::Master => &mut self.master,
            SyncState::Backup => &mut self.backup,
        }
    }
}

impl SyncKernel for Daemons {
    fn start_daemon(&mut self, daemon: &SyncDaemon) -> Result<(), IpvsError> {
        self.requests.push(format!(
            "start {} {} {}",
            word(daemon.state),
            daemon.interface,
            daemon.sync_id
        ));
        let slot = self.slot(daemon.state);
        if slot.is_some() {
            return Err(kernel_error(libc::EEXIST));
        }
        *slot = Some(daemon.clone());
        Ok(())
    }

    fn stop_daemon(&mut self, state: SyncState) -> Result<(), IpvsError> {
        self.requests.push(format!("stop {}", word(state)));
        self.slot(state)
            .take()
            .map(drop)
            .ok_or_else(|| kernel_error(libc::ESRCH))
    }
}

const CONF: &str = "global_defs {\n lvs_sync_daemon eth1 VI id 9\n}\nvrrp_instance VI {\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n 10.0.0.100\n }\n}\nvrrp_instance OTHER {\n interface eth0\n virtual_router_id 52\n priority 100\n virtual_ipaddress {\n 10.0.0.101\n }\n}\n";

fn setting(text: &str) -> Option<SyncSetting> {
    SyncSetting::from_config(&parse_str(text, &LoadOptions::with_config_id("t")).config).unwrap()
}

fn state(instance: &str, state: State) -> InstanceState {
    InstanceState {
        instance: Arc::from(instance),
        state,
    }
}

/// A running daemon's interface and sync id.
type Running = Option<(String, u32)>;

/// Which daemons run: (master, backup).
fn running(kernel: &Daemons) -> (Running, Running) {
    let of = |d: &Option<SyncDaemon>| d.as_ref().map(|d| (d.interface.clone(), d.sync_id));
    (of(&kernel.master), of(&kernel.backup))
}

fn on(name: &str, id: u32) -> Running {
    Some((name.to_owned(), id))
}

#[test]
fn backup_at_start_master_while_master_backup_again_after_and_nothing_at_stop() {
    let mut follower = SyncFollower::start(Daemons::default(), setting(CONF));
    assert_eq!(running(&follower.kernel), (None, on("eth1", 9)));

    follower.instance_state(&state("VI", State::Backup));
    follower.instance_state(&state("OTHER", State::Master));
    assert_eq!(running(&follower.kernel), (None, on("eth1", 9)));

    follower.instance_state(&state("VI", State::Master));
    assert_eq!(running(&follower.kernel), (on("eth1", 9), None));
    // Only the followed instance matters.
    follower.instance_state(&state("OTHER", State::Fault));
    assert_eq!(running(&follower.kernel), (on("eth1", 9), None));

    follower.instance_state(&state("VI", State::Fault));
    assert_eq!(running(&follower.kernel), (None, on("eth1", 9)));
    follower.instance_state(&state("VI", State::Master));
    follower.instance_state(&state("VI", State::Backup));
    assert_eq!(running(&follower.kernel), (None, on("eth1", 9)));

    follower.instance_state(&state("VI", State::Master));
    let kernel = follower.stop();
    assert_eq!(running(&kernel), (None, None));
    assert_eq!(
        kernel.requests,
        [
            // Leftovers of an earlier run are cleared first.
            "stop master",
            "stop backup",
            "start backup eth1 9",
            "stop backup",
            "start master eth1 9",
            "stop master",
            "start backup eth1 9",
            "stop backup",
            "start master eth1 9",
            "stop master",
            "start backup eth1 9",
            "stop backup",
            "start master eth1 9",
            // At stop: both.
            "stop master",
            "stop backup",
        ]
    );
}

#[test]
fn a_daemon_left_by_a_crashed_run_is_replaced() {
    let kernel = Daemons {
        master: Some(SyncDaemon {
            state: SyncState::Master,
            interface: "old0".into(),
            sync_id: 1,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        }),
        ..Daemons::default()
    };
    let follower = SyncFollower::start(kernel, setting(CONF));
    assert_eq!(running(&follower.kernel), (None, on("eth1", 9)));
}

#[test]
fn no_setting_means_no_request() {
    let text = CONF.replace(" lvs_sync_daemon eth1 VI id 9\n", "");
    let mut follower = SyncFollower::start(Daemons::default(), setting(&text));
    follower.instance_state(&state("VI", State::Master));
    assert!(follower.stop().requests.is_empty());
}

#[test]
fn a_reload_restarts_with_new_parameters_in_the_current_role() {
    let mut follower = SyncFollower::start(Daemons::default(), setting(CONF));
    follower.instance_state(&state("VI", State::Master));
    follower.reload(setting(CONF));
    assert_eq!(running(&follower.kernel), (on("eth1", 9), None));

    follower.reload(setting(&CONF.replace("eth1 VI id 9", "eth2 VI id 4")));
    assert_eq!(running(&follower.kernel), (on("eth2", 4), None));

    // Another instance: backup until it is seen as MASTER.
    follower.reload(setting(&CONF.replace("eth1 VI id 9", "eth2 OTHER")));
    assert_eq!(running(&follower.kernel), (None, on("eth2", 52)));

    // Removed: nothing runs.
    follower.reload(None);
    assert_eq!(running(&follower.kernel), (None, None));
}

#[tokio::test]
async fn the_task_follows_queued_state_changes_then_stops_both() {
    let (command_tx, command_rx) = mpsc::channel(4);
    let (state_tx, state_rx) = mpsc::unbounded_channel();
    // At exit the instance goes to Initialize: no backup daemon is started for that.
    for s in [State::Backup, State::Master, State::Initialize] {
        state_tx.send(state("VI", s)).unwrap();
    }
    command_tx.send(SyncCommand::Stop).await.unwrap();
    let kernel = run_on(Daemons::default(), setting(CONF), command_rx, state_rx).await;
    assert_eq!(running(&kernel), (None, None));
    assert_eq!(
        kernel.requests[2..],
        [
            "start backup eth1 9",
            "stop backup",
            "start master eth1 9",
            "stop master",
            "stop backup",
        ]
    );
}
