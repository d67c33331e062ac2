//! keepalived.conf `track_bfd`: turns the BFD task's published session states into tracker
//! updates for the instances that track them (keepalived's VRRP process is sent an event
//! when a session goes up or down; a session not yet up counts as down).

use std::net::IpAddr;

use tokio::sync::{mpsc, watch};

use crate::{
    status::bfd::{BfdStatuses, is_up},
    vrrp::fsm::TrackerStatus,
};

use super::{TrackerIndex, TrackerUpdate};

/// Sends each tracked session's status now, then every change, until the BFD task or the
/// protocol loop goes away. `trackers`: (tracker index, `bfd_instance` name).
pub async fn run(
    trackers: Vec<(TrackerIndex, String)>,
    mut statuses: watch::Receiver<BfdStatuses>,
    updates: mpsc::Sender<TrackerUpdate>,
) {
    let mut last: Vec<Option<bool>> = vec![None; trackers.len()];
    loop {
        let current = statuses.borrow_and_update().clone();
        for ((index, name), last) in trackers.iter().zip(last.iter_mut()) {
            let up = is_up(&current, name);
            if *last == Some(up) {
                continue;
            }
            *last = Some(up);
            let status = if up {
                TrackerStatus::Up
            } else {
                TrackerStatus::Down
            };
            if updates
                .send(TrackerUpdate {
                    index: *index,
                    status,
                })
                .await
                .is_err()
            {
                return;
            }
        }
        if statuses.changed().await.is_err() {
            return;
        }
    }
}

/// A session seen going down (kad extension `bfd_master`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionDown {
    /// The `bfd_instance` name.
    pub name: String,
    /// Its `neighbor_ip`.
    pub neighbor: IpAddr,
}

/// kad extension `bfd_master`: sends every session's fall from up to down (as `track_bfd`
/// sees it: a peer's AdminDown is no fall) until the BFD task or the protocol loop goes away.
/// It runs once for the daemon's life and knows no configuration: the protocol loop picks
/// the instances that name the session.
pub async fn downs(mut statuses: watch::Receiver<BfdStatuses>, out: mpsc::Sender<SessionDown>) {
    let mut up: Vec<(String, IpAddr)> = Vec::new();
    loop {
        let current = statuses.borrow_and_update().clone();
        let now_up: Vec<(String, IpAddr)> = current
            .iter()
            .filter(|s| s.is_up())
            .map(|s| (s.name.clone(), s.neighbor))
            .collect();
        for (name, neighbor) in &up {
            if !now_up.contains(&(name.clone(), *neighbor))
                && current
                    .iter()
                    .any(|s| s.name == *name && s.neighbor == *neighbor)
            {
                let down = SessionDown {
                    name: name.clone(),
                    neighbor: *neighbor,
                };
                if out.send(down).await.is_err() {
                    return;
                }
            }
        }
        up = now_up;
        if statuses.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::status::bfd::BfdSessionStatus;

    fn session(name: &str, tracked_up: bool) -> BfdSessionStatus {
        BfdSessionStatus {
            name: name.into(),
            neighbor: "192.0.2.1".parse().unwrap(),
            source: None,
            multihop: false,
            state: if tracked_up { "up" } else { "down" }.into(),
            tracked_up,
            remote_state: "up".into(),
            local_diag: String::new(),
            remote_diag: String::new(),
            local_discriminator: 1,
            remote_discriminator: 2,
            tx_interval_us: 10_000,
            rx_interval_us: 10_000,
            detect_time_us: 30_000,
            up_transitions: 0,
            down_transitions: 0,
            last_down_reason: None,
            socket_packets: 0,
            xdp_detection: false,
            xdp_expiries: 0,
        }
    }

    #[tokio::test]
    async fn reports_down_at_start_then_each_change_once() {
        let (publish, statuses) = crate::status::bfd::channel();
        let (updates, mut received) = mpsc::channel(8);
        let task = tokio::spawn(run(vec![(4, "gw".into())], statuses, updates));
        let next = async |received: &mut mpsc::Receiver<TrackerUpdate>| {
            tokio::time::timeout(std::time::Duration::from_secs(2), received.recv())
                .await
                .ok()
                .flatten()
        };
        assert_eq!(
            next(&mut received).await,
            Some(TrackerUpdate {
                index: 4,
                status: TrackerStatus::Down
            }),
            "a session not yet known is down"
        );
        publish.send_replace(Arc::new(vec![session("gw", true)]));
        assert_eq!(
            next(&mut received).await.map(|u| u.status),
            Some(TrackerStatus::Up)
        );
        // Another session's change is no change for this tracker.
        publish.send_replace(Arc::new(vec![session("gw", true), session("other", false)]));
        publish.send_replace(Arc::new(vec![session("gw", false)]));
        assert_eq!(
            next(&mut received).await.map(|u| u.status),
            Some(TrackerStatus::Down)
        );
        drop(publish);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), task).await;
        assert!(
            received.recv().await.is_none(),
            "the task ends with the BFD task"
        );
    }

    #[tokio::test]
    async fn downs_reports_a_fall_from_up_only() {
        let (publish, statuses) = crate::status::bfd::channel();
        let (out, mut received) = mpsc::channel(8);
        let task = tokio::spawn(downs(statuses, out));
        let next = async |received: &mut mpsc::Receiver<SessionDown>| {
            tokio::time::timeout(std::time::Duration::from_millis(300), received.recv())
                .await
                .ok()
                .flatten()
        };
        // Down from the start (never up): no fall.
        publish.send_replace(Arc::new(vec![session("gw", false)]));
        assert_eq!(next(&mut received).await, None);
        publish.send_replace(Arc::new(vec![session("gw", true), session("b", true)]));
        assert_eq!(next(&mut received).await, None);
        publish.send_replace(Arc::new(vec![session("gw", false), session("b", true)]));
        assert_eq!(
            next(&mut received).await,
            Some(SessionDown {
                name: "gw".into(),
                neighbor: "192.0.2.1".parse().unwrap()
            })
        );
        // A session removed (reload) did not fall.
        publish.send_replace(Arc::new(vec![session("gw", false)]));
        assert_eq!(next(&mut received).await, None);
        drop(publish);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), task).await;
    }
}
