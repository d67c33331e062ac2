//! keepalived.conf `BFD_CHECK { name NAME }`: a real server's checker that is not probed
//! but follows a `bfd_instance` session, as keepalived's checker process follows the events
//! its BFD process sends it (check_bfd.c): the checker is up while the session is up,
//! down otherwise, with no `retry`, `delay_before_retry` nor weight. Its changes go to the
//! aggregator as any checker's ([`ProbeEvent`]), so a real server follows the AND of its
//! checkers, and notify scripts, FIFO lines, mails and quorum work as for the others.
//!
//! keepalived 2.2.7's timeline, followed here:
//! - the checker starts up (down with `alpha`);
//! - its BFD process sends each session's state once at start (and at each reload), then
//!   one event when the session comes Up and one when it falls from Up — none when the peer
//!   signalled AdminDown (RFC 5882 §3.2). So a real server whose session is not up yet goes
//!   down at start, `alpha` or not, and comes up with its session. That is what
//!   [`BfdSessionStatus::tracked_up`] says;
//! - a session the BFD side does not run (`-B`, or an instance keepalived's BFD process
//!   drops for its addresses) sends nothing: the checker stays as it started.
//!
//! Whether the session is visible to the checkers (bfd_instance `checker`/`vrrp`) is
//! decided while the configuration is read: a BFD_CHECK naming a session not sent to the
//! checker side is dropped there, with keepalived's "BFD_CHECK - BFD NAME not configured".

use std::{borrow::Cow, net::SocketAddr};

use tokio::sync::{mpsc, watch};

use crate::status::bfd::{BfdSessionStatus, BfdStatuses};

use super::{report::ProbeReporter, schedule::ProbeEvent};

/// One BFD_CHECK probe as the follower keeps it.
#[derive(Debug)]
pub struct Followed {
    /// Its index in the plan (events carry it).
    pub probe: usize,
    /// keepalived.conf `name`: the `bfd_instance` followed.
    pub session: Box<str>,
    /// The real server it checks, for the log line.
    pub real_server: SocketAddr,
    /// The checker's state.
    pub up: bool,
    /// Where its changes go for `kad status`.
    pub report: ProbeReporter,
}

/// Every BFD_CHECK of a checker set: pure (no channel, no clock), fed the published
/// sessions ([`BfdFollower::observe`]).
#[derive(Debug, Default)]
pub struct BfdFollower {
    probes: Vec<Followed>,
}

impl BfdFollower {
    /// Follows `probes`, each in its initial state.
    pub fn new(probes: Vec<Followed>) -> Self {
        Self { probes }
    }

    /// Whether there is nothing to follow.
    pub fn is_empty(&self) -> bool {
        self.probes.is_empty()
    }

    /// The sessions now: one event per checker whose state changed. A session absent from
    /// `sessions` (not run, or not yet published) changes nothing.
    pub fn observe(&mut self, sessions: &[BfdSessionStatus]) -> Vec<ProbeEvent> {
        let mut events = Vec::new();
        for followed in &mut self.probes {
            let Some(session) = sessions.iter().find(|s| *s.name == *followed.session) else {
                continue;
            };
            let up = session.is_up();
            if up == followed.up {
                continue;
            }
            followed.up = up;
            let (word, outcome): (&str, Cow<'static, str>) = if up {
                ("UP", "session up".into())
            } else {
                ("DOWN", format!("session {}", session.state).into())
            };
            followed.report.record(up, up, &outcome);
            tracing::info!(
                bfd = %followed.session,
                real_server = %followed.real_server,
                up,
                "BFD check of [{}] RS({}) is {word}",
                followed.session,
                followed.real_server
            );
            events.push(ProbeEvent {
                probe: followed.probe,
                up,
                weight: None,
                asked: None,
                reason: format!("BFD_CHECK {}: {outcome}", followed.session),
            });
        }
        events
    }
}

/// Follows the published sessions until the BFD task or the aggregator goes away (the
/// checkers then keep their states).
pub async fn run(
    mut follower: BfdFollower,
    mut sessions: watch::Receiver<BfdStatuses>,
    events: mpsc::UnboundedSender<ProbeEvent>,
) {
    loop {
        let current = sessions.borrow_and_update().clone();
        for event in follower.observe(&current) {
            if events.send(event).is_err() {
                return;
            }
        }
        if sessions.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use super::*;

    fn session(name: &str, state: &str, tracked_up: bool) -> BfdSessionStatus {
        BfdSessionStatus {
            name: name.into(),
            neighbor: [192, 0, 2, 1].into(),
            source: None,
            state: state.into(),
            tracked_up,
            remote_state: "up".into(),
            local_diag: String::new(),
            remote_diag: String::new(),
            local_discriminator: 1,
            remote_discriminator: 2,
            tx_interval_us: 50_000,
            rx_interval_us: 50_000,
            detect_time_us: 150_000,
            up_transitions: 0,
            down_transitions: 0,
            last_down_reason: None,
            multihop: false,
            socket_packets: 0,
            xdp_detection: false,
            xdp_expiries: 0,
        }
    }

    fn followed(probe: usize, name: &str, up: bool) -> Followed {
        Followed {
            probe,
            session: name.into(),
            real_server: SocketAddr::from(([10, 0, 0, u8::try_from(probe).unwrap_or(0)], 80)),
            up,
            report: ProbeReporter::default(),
        }
    }

    /// (probe, up) of each event.
    fn changes(events: &[ProbeEvent]) -> Vec<(usize, bool)> {
        events.iter().map(|e| (e.probe, e.up)).collect()
    }

    /// keepalived's BFD process sends every session's state at start: a session not up yet
    /// takes a checker that started up (no `alpha`) down at once; one that started down
    /// (`alpha`) stays down without an event; both come up with the session.
    #[test]
    fn a_session_not_up_at_start_takes_the_checker_down_then_up_with_it() {
        let mut follower =
            BfdFollower::new(vec![followed(0, "gw", true), followed(1, "gw", false)]);
        let events = follower.observe(&[session("gw", "down", false)]);
        assert_eq!(changes(&events), vec![(0, false)]);
        assert_eq!(events[0].reason, "BFD_CHECK gw: session down");
        assert_eq!(
            (events[0].weight, events[0].asked),
            (None, None),
            "no weight"
        );
        let events = follower.observe(&[session("gw", "up", true)]);
        assert_eq!(changes(&events), vec![(0, true), (1, true)]);
        assert_eq!(events[0].reason, "BFD_CHECK gw: session up");
    }

    /// No retry: the first publication of the session down is the checker down, and each
    /// change after it is one event; what is not a change (new intervals, another session)
    /// sends nothing.
    #[test]
    fn every_change_of_the_session_is_one_event_and_nothing_else_is() {
        let mut follower = BfdFollower::new(vec![followed(3, "gw", true)]);
        assert!(follower.observe(&[session("gw", "up", true)]).is_empty());
        let mut slower = session("gw", "up", true);
        slower.tx_interval_us = 1_000_000;
        assert!(
            follower
                .observe(&[slower, session("other", "down", false)])
                .is_empty()
        );
        let down = follower.observe(&[session("gw", "down", false)]);
        assert_eq!(changes(&down), vec![(3, false)]);
        assert!(follower.observe(&[session("gw", "init", false)]).is_empty());
        assert_eq!(
            changes(&follower.observe(&[session("gw", "up", true)])),
            vec![(3, true)]
        );
    }

    /// A session the BFD side does not run sends no event (keepalived without its BFD
    /// process, `-B`): the checker keeps the state it started in.
    #[test]
    fn a_session_that_is_not_run_leaves_the_checker_as_it_started() {
        let mut follower =
            BfdFollower::new(vec![followed(0, "gw", true), followed(1, "gw2", false)]);
        assert!(follower.observe(&[]).is_empty());
        assert!(follower.observe(&[session("other", "up", true)]).is_empty());
    }

    /// The peer's AdminDown is no failure (RFC 5882 §3.2): keepalived sends no event, and
    /// the published session stays "tracked up".
    #[test]
    fn the_peer_s_admin_down_is_no_failure() {
        let mut follower = BfdFollower::new(vec![followed(0, "gw", true)]);
        assert!(follower.observe(&[session("gw", "down", true)]).is_empty());
    }

    /// Through a checker set: the real server starts up, goes down with the session not up
    /// yet and up with it, beside a TCP_CHECK of another real server that the scheduler
    /// runs; a reload while the session is up keeps it up, with no update but its initial
    /// one.
    #[tokio::test]
    async fn a_checker_set_s_real_server_follows_its_session_across_a_reload() {
        use crate::{
            check::CheckerSet,
            config::{LoadOptions, parse_str},
            status::health::HealthUpdate,
        };
        let text = "bfd_instance gw {\n neighbor_ip 192.0.2.1\n }\n\
                    virtual_server 10.9.9.9 80 {\n protocol TCP\n \
                    real_server 10.0.0.1 80 {\n BFD_CHECK {\n name gw\n }\n }\n \
                    real_server 127.0.0.1 9 {\n TCP_CHECK {\n connect_timeout 1\n }\n }\n}\n";
        let config = parse_str(text, &LoadOptions::with_config_id("t")).config;
        let (publish, sessions) = crate::status::bfd::channel();
        let (updates, mut received) = mpsc::channel(16);
        let checkers = CheckerSet::new(&config)
            .following_bfd(sessions.clone())
            .start(updates.clone());
        assert_eq!(checkers.probes(), 2);
        let server: SocketAddr = "10.0.0.1:80"
            .parse()
            .unwrap_or(SocketAddr::from(([0; 4], 0)));
        let next = async |received: &mut mpsc::Receiver<HealthUpdate>| loop {
            let update = tokio::time::timeout(Duration::from_secs(2), received.recv())
                .await
                .ok()
                .flatten()?;
            if update.real_server.addr == server {
                return Some((update.up, update.reason));
            }
        };
        assert_eq!(
            next(&mut received).await.map(|u| u.0),
            Some(true),
            "initial"
        );
        publish.send_replace(Arc::new(vec![session("gw", "down", false)]));
        assert_eq!(
            next(&mut received).await,
            Some((false, "BFD_CHECK gw: session down".to_owned()))
        );
        publish.send_replace(Arc::new(vec![session("gw", "up", true)]));
        assert_eq!(next(&mut received).await.map(|u| u.0), Some(true));

        let checkers = CheckerSet::new(&config)
            .following_bfd(sessions)
            .replace(checkers, updates);
        assert_eq!(
            next(&mut received).await,
            Some((
                true,
                "initial state: kept from before the reload".to_owned()
            ))
        );
        assert_eq!(next(&mut received).await, None, "no change at the reload");
        checkers.stop();
    }

    /// The task: the current sessions at once, then each change, until the BFD task ends.
    #[tokio::test]
    async fn the_task_follows_the_published_sessions_until_they_end() {
        let (publish, sessions) = crate::status::bfd::channel();
        publish.send_replace(Arc::new(vec![session("gw", "down", false)]));
        let (events, mut received) = mpsc::unbounded_channel();
        let follower = BfdFollower::new(vec![followed(2, "gw", true)]);
        let task = tokio::spawn(run(follower, sessions, events));
        let next = async |received: &mut mpsc::UnboundedReceiver<ProbeEvent>| {
            tokio::time::timeout(Duration::from_secs(2), received.recv())
                .await
                .ok()
                .flatten()
                .map(|e| (e.probe, e.up))
        };
        assert_eq!(next(&mut received).await, Some((2, false)));
        publish.send_replace(Arc::new(vec![session("gw", "up", true)]));
        assert_eq!(next(&mut received).await, Some((2, true)));
        drop(publish);
        let ended = tokio::time::timeout(Duration::from_secs(2), task).await;
        assert!(
            matches!(ended, Ok(Ok(()))),
            "the task ends with the BFD task"
        );
        assert!(received.recv().await.is_none());
    }
}
