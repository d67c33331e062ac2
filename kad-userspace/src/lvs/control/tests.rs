//! The LVS task against a table in memory: health updates, reloads and stop each change
//! exactly what they should.

use std::net::SocketAddr;

use super::*;
use crate::{
    config::{LoadOptions, parse_str},
    lvs::ipvs::ServiceEntry,
    status::health::{HealthUpdate, RealServerKey},
};

/// An IPVS table in memory that records every operation as kad logs it.
#[derive(Default)]
struct Memory {
    table: IpvsTable,
    ops: Vec<String>,
    /// How many times the whole table was read (once per reconcile).
    reads: usize,
}

impl IpvsKernel for Memory {
    fn table(&mut self) -> Result<IpvsTable, IpvsError> {
        self.reads += 1;
        Ok(self.table.clone())
    }

    fn apply(&mut self, op: &Op) -> Result<(), IpvsError> {
        self.ops.push(op.to_string());
        match op {
            Op::AddService(s) | Op::EditService(s) => {
                let entry = self.table.entry(s.key).or_insert_with(|| ServiceEntry {
                    service: s.clone(),
                    dests: Default::default(),
                });
                entry.service = s.clone();
            }
            Op::DelService(k) => {
                self.table.remove(k);
            }
            Op::AddDest(k, d) | Op::EditDest(k, d) => {
                if let Some(entry) = self.table.get_mut(k) {
                    entry.dests.insert(d.addr, d.clone());
                }
            }
            Op::DelDest(k, a) => {
                if let Some(entry) = self.table.get_mut(k) {
                    entry.dests.remove(a);
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), IpvsError> {
        self.ops.push("flush".into());
        self.table.clear();
        Ok(())
    }

    fn set_timeouts(&mut self, _: Timeouts) -> Result<(), IpvsError> {
        Ok(())
    }
}

const CONF: &str = "global_defs {\n lvs_flush_on_stop VS\n}\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n lvs_sched rr\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n real_server 10.0.0.3 80 {\n inhibit_on_failure\n TCP_CHECK {\n }\n }\n}\n";

fn config(text: &str) -> Config {
    parse_str(text, &LoadOptions::with_config_id("t")).config
}

fn update(addr: &str, up: bool) -> HealthUpdate {
    HealthUpdate {
        real_server: RealServerKey {
            addr: addr.parse::<SocketAddr>().unwrap(),
        },
        up,
        weight: None,
        reason: "test".into(),
    }
}

/// Runs the task with `health_updates` sent one at a time, each after the task has handled
/// the one before (on tokio's paused clock, a sleep lets the task run until it waits
/// again), then stops it and returns the kernel.
async fn run_one_by_one(health_updates: Vec<HealthUpdate>) -> Memory {
    let (command_tx, command_rx) = mpsc::channel(8);
    let (health_tx, health_rx) = mpsc::channel(8);
    let task = tokio::spawn(run_on(
        Memory::default(),
        config(CONF),
        command_rx,
        health_rx,
    ));
    for u in health_updates {
        health_tx.send(u).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    command_tx.send(LvsCommand::Stop).await.unwrap();
    task.await.unwrap().unwrap()
}

/// Runs the task over `events` (health updates, then commands, all queued before it
/// starts) and returns the kernel.
async fn run_with(health_updates: Vec<HealthUpdate>, commands: Vec<LvsCommand>) -> Memory {
    let (command_tx, command_rx) = mpsc::channel(8);
    let (health_tx, health_rx) = mpsc::channel(8);
    for u in health_updates {
        health_tx.send(u).await.unwrap();
    }
    for c in commands {
        command_tx.send(c).await.unwrap();
    }
    command_tx.send(LvsCommand::Stop).await.unwrap();
    run_on(Memory::default(), config(CONF), command_rx, health_rx)
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_failed_real_server_is_removed_or_inhibited_and_comes_back() {
    let kernel = run_one_by_one(vec![
        update("10.0.0.2:80", false),
        update("10.0.0.3:80", false),
        update("10.0.0.3:80", false),
        update("10.0.0.2:80", true),
    ])
    .await;
    assert_eq!(
        kernel.ops,
        vec![
            "add service TCP 10.0.0.1:80 rr",
            "add dest 10.0.0.2:80 to TCP 10.0.0.1:80 weight 1 (masq)",
            "add dest 10.0.0.3:80 to TCP 10.0.0.1:80 weight 1 (masq)",
            "del dest 10.0.0.2:80 from TCP 10.0.0.1:80",
            "edit dest 10.0.0.3:80 in TCP 10.0.0.1:80 weight 0 (masq)",
            "add dest 10.0.0.2:80 to TCP 10.0.0.1:80 weight 1 (masq)",
            // lvs_flush_on_stop VS: the configured service goes at stop.
            "del service TCP 10.0.0.1:80",
        ]
    );
    assert!(kernel.table.is_empty());
}

#[tokio::test]
async fn a_reload_keeps_health_and_changes_only_what_the_configuration_changed() {
    let changed = CONF.replace(
        "real_server 10.0.0.3 80 {\n inhibit_on_failure",
        "real_server 10.0.0.3 80 {\n weight 4\n inhibit_on_failure",
    );
    let kernel = run_with(
        vec![update("10.0.0.2:80", false)],
        vec![LvsCommand::Reload(Box::new(config(&changed)))],
    )
    .await;
    assert_eq!(
        kernel.ops[3..],
        [
            "del dest 10.0.0.2:80 from TCP 10.0.0.1:80",
            "edit dest 10.0.0.3:80 in TCP 10.0.0.1:80 weight 4 (masq)",
            "del service TCP 10.0.0.1:80",
        ]
    );
}

#[tokio::test]
async fn omega_runs_quorum_down_and_the_live_real_servers_notify_down_at_stop() {
    let dir = std::env::temp_dir().join(format!("kad-omega-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let touch = |name: &str| format!("\"/bin/touch {}\"", dir.join(name).display());
    let text = |omega: &str| {
        format!(
            "virtual_server 10.0.0.1 80 {{\n protocol TCP\n {omega}\n quorum_down {}\n real_server 10.0.0.2 80 {{\n notify_down {}\n TCP_CHECK {{\n }}\n }}\n real_server 10.0.0.3 80 {{\n notify_down {}\n TCP_CHECK {{\n }}\n }}\n}}\n",
            touch("quorum_down"),
            touch("down-2"),
            touch("down-3"),
        )
    };
    let run = |text: String| async move {
        let (command_tx, command_rx) = mpsc::channel(8);
        let (health_tx, health_rx) = mpsc::channel(8);
        // 10.0.0.3 failed before the stop: its notify_down already ran then, not again.
        health_tx.send(update("10.0.0.3:80", false)).await.unwrap();
        command_tx.send(LvsCommand::Stop).await.unwrap();
        run_on(Memory::default(), config(&text), command_rx, health_rx)
            .await
            .unwrap();
    };
    let ran = |name: &str| dir.join(name).exists();

    run(text("")).await;
    assert!(!ran("quorum_down") && !ran("down-2") && !ran("down-3"));

    run(text("omega")).await;
    // The scripts have ended when the task returns.
    assert!(ran("quorum_down"), "quorum_down (quorum held at stop)");
    assert!(ran("down-2"), "notify_down of the live real server");
    assert!(!ran("down-3"), "not for a real server already down");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn queued_updates_are_applied_together_with_one_reconcile() {
    // Queued before the task starts, as every real server's initial state is at start.
    let kernel = run_with(
        vec![
            update("10.0.0.2:80", false),
            update("10.0.0.3:80", false),
            update("10.0.0.3:80", true),
            update("10.0.0.3:80", false),
        ],
        vec![],
    )
    .await;
    // The table at start, then once for the whole burst: .2 removed, .3 inhibited (its
    // brief recovery inside the burst never reaches the kernel).
    assert_eq!(kernel.reads, 2);
    assert_eq!(
        kernel.ops[3..],
        [
            "del dest 10.0.0.2:80 from TCP 10.0.0.1:80",
            "edit dest 10.0.0.3:80 in TCP 10.0.0.1:80 weight 0 (masq)",
            "del service TCP 10.0.0.1:80",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_update_that_changes_nothing_reads_nothing() {
    let kernel = run_one_by_one(vec![
        update("10.0.0.2:80", false),
        update("10.0.0.2:80", false),
    ])
    .await;
    // Start, then the first update; the repeat is not a change.
    assert_eq!(kernel.reads, 2);
}

#[tokio::test]
async fn a_health_change_that_leaves_the_table_as_it_was_reads_nothing() {
    // Each real server's first report confirms its initial state (up): its health changes,
    // the wanted table does not, so the kernel is read only at start.
    let kernel = run_one_by_one(vec![
        update("10.0.0.2:80", true),
        update("10.0.0.3:80", true),
    ])
    .await;
    assert_eq!(kernel.reads, 1);
    // A change that does move the table reads the kernel again.
    let kernel = run_one_by_one(vec![
        update("10.0.0.2:80", true),
        update("10.0.0.2:80", false),
    ])
    .await;
    assert_eq!(kernel.reads, 2);
}
