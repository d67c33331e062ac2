//! Issue 8: `smtp_alert` mails reach a real SMTP listener (a small one in this test, on the
//! lab segment) with keepalived's subject, body, sender and recipients when kad's instance
//! becomes Master.

use std::{net::TcpListener, sync::Arc, time::Duration};

use anyhow::{Context as _, Result};
use kad_tests::{
    conf::lab_instance,
    fake::mail::{Mail, serve_smtp},
    lab::{Lab, VIP},
};

#[test]
fn smtp_alerts_arrive_with_keepalived_subjects() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("sm", &[("r1", 1), ("mx", 25)])?;
    let listener = lab
        .host("mx")?
        .ns
        .run(|| Ok(TcpListener::bind("10.77.0.25:2525")?))?;
    let mails = serve_smtp(listener);

    let config = format!(
        "global_defs {{\n  router_id lab-r1\n  notification_email {{\n    ops@example.net\n    \
         noc@example.net\n  }}\n  notification_email_from kad@example.net\n  smtp_server \
         10.77.0.25 2525\n  smtp_connect_timeout 5\n}}\n{}",
        lab_instance(200, "  smtp_alert\n")
    );
    let kad = lab.start_kad("r1", &config)?;
    let subject_arrives = |lab: &Lab, subject: &str| -> Result<Mail> {
        let mut found = None;
        lab.wait_for(
            &format!("a mail with subject {subject:?}"),
            Duration::from_secs(10),
            || {
                found = mails.lock().ok().and_then(|all| {
                    all.iter()
                        .find(|m| m.subject().as_deref() == Some(subject))
                        .cloned()
                });
                Ok(found.is_some())
            },
        )?;
        found.context("mail")
    };
    let master = subject_arrives(&lab, "[lab-r1] VRRP Instance LAB - Entering MASTER state")?;
    assert_eq!(
        master.recipients,
        ["<ops@example.net>", "<noc@example.net>"],
        "{master:?}"
    );
    assert!(
        master
            .data
            .contains("=> VRRP Instance is now owning VRRP VIPs <="),
        "{master:?}"
    );
    assert!(master.data.contains("From: kad@example.net"), "{master:?}");
    assert!(lab.holds("r1", VIP)?);

    lab.daemon(kad)?.signal(libc::SIGTERM)?;
    assert!(lab.daemon(kad)?.wait_exit(Duration::from_secs(10))?);
    let log = lab.daemon(kad)?.log();
    let sent = mails.lock().map(|all| all.len()).unwrap_or(0);
    assert!(sent >= 1, "{log}");
    assert!(
        log.contains("SMTP alert sent"),
        "kad logs each delivery:\n{log}"
    );
    Ok(())
}

/// Issue 15: `smtp_server` given as a host name is resolved while the configuration is read,
/// as keepalived 2.2.7 does; one that does not resolve (`.invalid`, RFC 6761) is logged as
/// keepalived's "Invalid smtp server NAME PORT" and dropped, so the daemon becomes Master
/// without trying to mail anyone (no "SMTP alert" line at all).
#[test]
fn an_smtp_server_name_that_does_not_resolve_is_dropped_at_load() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("sn", &[("r1", 1)])?;
    let config = format!(
        "global_defs {{\n  router_id lab-r1\n  notification_email {{\n    ops@example.net\n  \
         }}\n  smtp_server mail.kad.invalid 2525\n  smtp_connect_timeout 1\n}}\n{}",
        lab_instance(200, "  smtp_alert\n")
    );
    let kad = lab.start_kad("r1", &config)?;
    lab.wait_for("r1 to hold the VIP", Duration::from_secs(10), || {
        lab.holds("r1", VIP)
    })?;
    lab.daemon(kad)?.signal(libc::SIGTERM)?;
    assert!(lab.daemon(kad)?.wait_exit(Duration::from_secs(10))?);
    let log = lab.daemon(kad)?.log();
    assert!(
        log.contains("Invalid smtp server mail.kad.invalid 2525"),
        "the unresolved name is reported at load:\n{log}"
    );
    assert!(
        !log.contains("SMTP alert"),
        "no alert is attempted without a server:\n{log}"
    );
    Ok(())
}

/// Issue 7: `smtp_alert` for the health checkers. In a namespace of its own, a virtual
/// server whose two real servers refuse their TCP_CHECK: the virtual server asks for
/// alerts, one real server turns them off for itself. Exactly one mail arrives, for the
/// other, with keepalived's subject; the real SMTP listener is in the same namespace.
#[test]
fn a_real_server_going_down_is_mailed_with_keepalived_s_subject() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let ns = kad_tests::netns::NetNs::new("smc")?;
    ns.run(|| {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let smtp_port = listener.local_addr()?.port();
        let mails = serve_smtp(listener);
        // Two ports that refuse: bound, then closed.
        let refusing = || -> Result<u16> { Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()) };
        let (quiet, loud) = (refusing()?, refusing()?);
        let text = format!(
            "global_defs {{\n  router_id lb-test\n  notification_email {{\n    ops@example.net\n  }}\n  \
             notification_email_from kad@example.net\n  smtp_server 127.0.0.1 {smtp_port}\n}}\n\
             virtual_server 127.0.0.1 80 {{\n  delay_loop 0.2\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n  smtp_alert\n  \
             real_server 127.0.0.1 {loud} {{\n    TCP_CHECK {{\n      retry 0\n      warmup 0\n    }}\n  }}\n  \
             real_server 127.0.0.1 {quiet} {{\n    smtp_alert off\n    TCP_CHECK {{\n      retry 0\n      warmup 0\n    }}\n  }}\n}}\n"
        );
        let loaded = kad::config::parse_str(&text, &kad::config::LoadOptions::with_config_id("t"));
        anyhow::ensure!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let (tx, mut rx) = tokio::sync::mpsc::channel(16);
            let _checkers = kad::check::CheckerSet::spawn(&loaded.config, tx);
            // Both start up, then both go down.
            let mut down = Vec::new();
            while down.len() < 2 {
                let update = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                    .await?
                    .context("checkers stopped")?;
                if !update.up {
                    down.push(update.real_server.addr.port());
                }
            }
            down.sort_unstable();
            let mut want = vec![quiet, loud];
            want.sort_unstable();
            anyhow::ensure!(down == want, "{down:?}");
            let subject = format!(
                "[lb-test] Realserver [127.0.0.1]:tcp:{loud} of virtual server [127.0.0.1]:tcp:80 - DOWN"
            );
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                let found = mails
                    .lock()
                    .map(|all| all.iter().any(|m| m.subject().as_deref() == Some(subject.as_str())))
                    .unwrap_or(false);
                if found {
                    break;
                }
                anyhow::ensure!(
                    tokio::time::Instant::now() < deadline,
                    "no mail {subject:?}; got {:?}",
                    mails.lock().map(|m| m.clone()).unwrap_or_default()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // Time for a mail about the quiet one to arrive, if one were sent.
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok::<_, anyhow::Error>(())
        })?;
        let all = mails.lock().map(|m| m.clone()).unwrap_or_default();
        assert_eq!(all.len(), 1, "only the real server with alerts: {all:?}");
        assert_eq!(all[0].recipients, ["<ops@example.net>"]);
        assert!(
            all[0].text().contains("=> CHECK failed on service : TCP_CHECK"),
            "{:?}",
            all[0]
        );
        Ok(())
    })
}

/// An IPVS table that accepts everything and stays empty: the LVS task's quorum logic runs
/// without a kernel IPVS (this machine has none).
struct NoTable;

impl kad::lvs::control::IpvsKernel for NoTable {
    fn table(&mut self) -> Result<kad::lvs::ipvs::IpvsTable, kad::lvs::ipvs::IpvsError> {
        Ok(kad::lvs::ipvs::IpvsTable::new())
    }
    fn apply(&mut self, _: &kad::lvs::reconcile::Op) -> Result<(), kad::lvs::ipvs::IpvsError> {
        Ok(())
    }
    fn flush(&mut self) -> Result<(), kad::lvs::ipvs::IpvsError> {
        Ok(())
    }
    fn set_timeouts(
        &mut self,
        _: kad::lvs::ipvs::Timeouts,
    ) -> Result<(), kad::lvs::ipvs::IpvsError> {
        Ok(())
    }
}

/// `smtp_alert` on a virtual server's quorum: losing it (a real server reported down,
/// live weight 1 below quorum 2) and gaining it back are mailed to a real SMTP listener in
/// a namespace, with keepalived's subjects.
#[test]
fn quorum_loss_and_gain_are_mailed() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let ns = kad_tests::netns::NetNs::new("smq")?;
    ns.run(|| {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let smtp_port = listener.local_addr()?.port();
        let mails = serve_smtp(listener);
        let text = format!(
            "global_defs {{\n  router_id lb-test\n  notification_email {{\n    ops@example.net\n  }}\n  \
             smtp_alert_checker\n  smtp_server 127.0.0.1 {smtp_port}\n}}\n\
             virtual_server 10.0.0.1 80 {{\n  protocol TCP\n  lvs_sched rr\n  lvs_method NAT\n  quorum 2\n  \
             real_server 10.0.0.2 80 {{\n    TCP_CHECK {{\n    }}\n  }}\n  \
             real_server 10.0.0.3 80 {{\n    TCP_CHECK {{\n    }}\n  }}\n}}\n"
        );
        let loaded = kad::config::parse_str(&text, &kad::config::LoadOptions::with_config_id("t"));
        anyhow::ensure!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let wait_subject = |subject: String| {
            let mails = Arc::clone(&mails);
            async move {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                loop {
                    let found = mails
                        .lock()
                        .map(|all| all.iter().any(|m| m.subject().as_deref() == Some(subject.as_str())))
                        .unwrap_or(false);
                    if found {
                        return Ok(());
                    }
                    anyhow::ensure!(
                        tokio::time::Instant::now() < deadline,
                        "no mail {subject:?}; got {:?}",
                        mails.lock().map(|m| m.clone()).unwrap_or_default()
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        runtime.block_on(async {
            let (commands, command_rx) = tokio::sync::mpsc::channel(4);
            let (health, health_rx) = tokio::sync::mpsc::channel(4);
            let task = tokio::spawn(kad::lvs::control::run_on(
                NoTable,
                loaded.config.clone(),
                command_rx,
                health_rx,
            ));
            let update = |up| kad::status::health::HealthUpdate {
                real_server: kad::status::health::RealServerKey {
                    addr: "10.0.0.3:80".parse().expect("address"),
                },
                up,
                weight: None,
                reason: "test".into(),
            };
            health.send(update(false)).await?;
            wait_subject("[lb-test] Virtualserver [10.0.0.1]:tcp:80 - DOWN".into()).await?;
            health.send(update(true)).await?;
            wait_subject("[lb-test] Virtualserver [10.0.0.1]:tcp:80 - UP".into()).await?;
            commands.send(kad::lvs::control::LvsCommand::Stop).await?;
            task.await?.map_err(|err| anyhow::anyhow!("{err}"))?;
            Ok::<_, anyhow::Error>(())
        })?;
        let all = mails.lock().map(|m| m.clone()).unwrap_or_default();
        assert_eq!(all.len(), 2, "{all:?}");
        assert!(all[0].text().contains("=> Lost quorum 1 < 2"), "{:?}", all[0]);
        Ok(())
    })
}
