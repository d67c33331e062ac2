//! Issue 8: `smtp_alert` mails reach a real SMTP listener (a small one in this test, on the
//! lab segment) with keepalived's subject, body, sender and recipients when kad's instance
//! becomes Master.

use std::{
    io::{BufRead as _, BufReader, Write as _},
    net::{TcpListener, TcpStream},
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context as _, Result};
use kad_tests::{
    conf::vrrp_instance,
    lab::Lab,
    privilege::{Need, require},
};

const VIP: &str = "10.77.0.100";

/// One mail as the listener received it: envelope recipients and the DATA text.
#[derive(Clone, Debug, Default)]
struct Mail {
    recipients: Vec<String>,
    data: String,
}

impl Mail {
    fn subject(&self) -> Option<&str> {
        self.data
            .lines()
            .find_map(|line| line.strip_prefix("Subject: "))
    }
}

/// Speaks enough SMTP (RFC 5321: greeting, EHLO/HELO, MAIL, RCPT, DATA, QUIT) for one
/// client session and appends what it received to `mails`.
fn session(stream: TcpStream, mails: &Mutex<Vec<Mail>>) -> Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 test.lab ESMTP\r\n")?;
    let mut mail = Mail::default();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") || command.starts_with("HELO") {
            out.write_all(b"250 test.lab\r\n")?;
        } else if command.starts_with("MAIL FROM") {
            mail = Mail::default();
            out.write_all(b"250 OK\r\n")?;
        } else if command.starts_with("RCPT TO") {
            mail.recipients.push(
                line.trim_end()
                    .get(8..)
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            );
            out.write_all(b"250 OK\r\n")?;
        } else if command == "DATA" {
            out.write_all(b"354 go ahead\r\n")?;
            loop {
                line.clear();
                if lines.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line.trim_end() == "." {
                    break;
                }
                mail.data.push_str(&line);
            }
            if let Ok(mut all) = mails.lock() {
                all.push(std::mem::take(&mut mail));
            }
            out.write_all(b"250 queued\r\n")?;
        } else if command == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            out.write_all(b"250 OK\r\n")?;
        }
    }
}

#[test]
fn smtp_alerts_arrive_with_keepalived_subjects() -> Result<()> {
    if !require("smtp_alerts_arrive_with_keepalived_subjects", Need::Root) {
        return Ok(());
    }
    let mut lab = Lab::new("sm")?;
    lab.add_host("r1", 1)?;
    lab.add_host("mx", 25)?;
    let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
    let listener = lab
        .host("mx")?
        .ns
        .run(|| Ok(TcpListener::bind("10.77.0.25:2525")?))?;
    let received = Arc::clone(&mails);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = session(stream, &received);
        }
    });

    let config = format!(
        "global_defs {{\n  router_id lab-r1\n  notification_email {{\n    ops@example.net\n    \
         noc@example.net\n  }}\n  notification_email_from kad@example.net\n  smtp_server \
         10.77.0.25 2525\n  smtp_connect_timeout 5\n}}\n{}",
        vrrp_instance("LAB", 51, 200, VIP, "  smtp_alert\n")
    );
    let kad = lab.start_kad("r1", &config)?;
    let subject_arrives = |lab: &Lab, subject: &str| -> Result<Mail> {
        let mut found = None;
        lab.wait_for(
            &format!("a mail with subject {subject:?}"),
            Duration::from_secs(10),
            || {
                found = mails
                    .lock()
                    .ok()
                    .and_then(|all| all.iter().find(|m| m.subject() == Some(subject)).cloned());
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
    assert!(lab.host("r1")?.has_address(VIP)?);

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
