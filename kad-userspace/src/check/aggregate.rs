//! Real servers from checkers (keepalived.conf(5): a real server is up when all its
//! checkers are): one task receives every probe's changes, keeps each real server's state
//! and, on a change, sends a [`HealthUpdate`], runs `notify_up`/`notify_down` and writes FIFO
//! lines.

use tokio::sync::mpsc;

use crate::{
    exec::{
        fifo::FifoWriter,
        smtp::{Alert, Mailer},
    },
    status::health::HealthUpdate,
};

use super::{HealthTable, ServerHealth, notify, plan::Plan, schedule::ProbeEvent};

/// One real server's reported state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reported {
    up: bool,
    weight: Option<i32>,
}

/// Runs until every probe is gone or the receiver of `updates` is.
pub async fn run(
    plan: Plan,
    mut events: mpsc::UnboundedReceiver<ProbeEvent>,
    updates: mpsc::Sender<HealthUpdate>,
    table: HealthTable,
) {
    let record = |key, state: Reported| {
        if let Ok(mut table) = table.lock() {
            table.insert(
                key,
                ServerHealth {
                    up: state.up,
                    weight: state.weight,
                },
            );
        }
    };
    let mut fifos: Vec<FifoWriter> = plan
        .fifos
        .iter()
        .filter_map(|spec| {
            FifoWriter::open(spec)
                .map_err(|e| tracing::warn!(fifo = %spec.path.display(), error = %e, "cannot open notify FIFO"))
                .ok()
        })
        .collect();
    // keepalived.conf smtp_alert (real servers): one mail per listing that asks for it.
    let mailer = plan.smtp.clone().map(Mailer::start);
    let mut probes: Vec<(bool, Option<i32>)> = (0..plan.probes.len())
        .map(|p| (plan.probe_initial_up(p), None))
        .collect();
    let mut reported: Vec<Reported> = Vec::with_capacity(plan.servers.len());
    for server in &plan.servers {
        let state = Reported {
            up: server.initial_up || server.probes.is_empty(),
            weight: server.initial_weight,
        };
        reported.push(state);
        record(server.key, state);
        // keepalived.conf global `rs_init_notifies`: a real server starting up (not one
        // kept across a reload, nor one starting down) runs its notify_up and writes its
        // FIFO lines, as keepalived does when it first adds it to IPVS.
        if plan.rs_init_notifies && state.up && !server.carried_over {
            for script in &server.notify_up {
                notify::run(script);
            }
            for listing in &server.virtual_servers {
                let line = notify::fifo_line(&server.fifo_name, &listing.name, true);
                for fifo in &mut fifos {
                    fifo.write_line(&line);
                }
            }
        }
        let reason = match (server.probes.is_empty(), server.carried_over, state.up) {
            (true, _, _) => "no checker: always up".to_owned(),
            (false, true, _) => "initial state: kept from before the reload".to_owned(),
            (false, false, true) => "initial state: up until a checker fails".to_owned(),
            (false, false, false) => {
                "initial state (alpha): down until its checkers pass".to_owned()
            }
        };
        let update = HealthUpdate {
            real_server: server.key,
            up: state.up,
            weight: state.weight,
            reason,
        };
        if updates.send(update).await.is_err() {
            return;
        }
    }
    while let Some(event) = events.recv().await {
        // The weight this event asks for, if any: with several checkers setting weights
        // (MISC_CHECK misc_dynamic, FILE_CHECK), the latest request wins, as in keepalived
        // where each run that asks for a weight sets the real server's.
        let asked = event.asked.filter(|_| event.up);
        let mut checker_flipped = false;
        if let Some(slot) = probes.get_mut(event.probe) {
            checker_flipped = slot.0 != event.up;
            *slot = (event.up, event.weight);
        }
        let Some(servers) = plan.probe_servers.get(event.probe) else {
            continue;
        };
        for &index in servers {
            let (Some(server), Some(last)) = (plan.servers.get(index), reported.get_mut(index))
            else {
                continue;
            };
            let mut states = server.probes.iter().filter_map(|&p| probes.get(p));
            // A weight stays until a checker asks for another.
            let now = Reported {
                up: states.all(|(up, _)| *up),
                weight: asked.or(last.weight),
            };
            // keepalived mails every change of a checker of a real server with
            // `smtp_alert`, unless global `no_checker_emails` keeps mails to the real
            // server's own changes.
            let mail_checker = checker_flipped && !plan.no_checker_emails && now.up == last.up;
            if mail_checker && let Some(mailer) = mailer.as_ref() {
                for listing in server.virtual_servers.iter().filter(|l| l.smtp_alert) {
                    mailer.send(Alert::checker(
                        &mailer.spec().router_id,
                        &server.fifo_name,
                        &listing.name,
                        now.up,
                        event.up,
                        &event.reason,
                    ));
                }
            }
            if now == *last {
                continue;
            }
            let flipped = now.up != last.up;
            *last = now;
            record(server.key, now);
            tracing::info!(
                real_server = %server.key.addr,
                up = now.up,
                weight = ?now.weight,
                "{}",
                event.reason
            );
            if flipped {
                let run = if now.up {
                    &server.notify_up
                } else {
                    &server.notify_down
                };
                for script in run {
                    notify::run(script);
                }
                for listing in &server.virtual_servers {
                    let vs = &listing.name;
                    let line = notify::fifo_line(&server.fifo_name, vs, now.up);
                    for fifo in &mut fifos {
                        fifo.write_line(&line);
                    }
                    if let Some(mailer) = mailer.as_ref().filter(|_| listing.smtp_alert) {
                        mailer.send(Alert::real_server(
                            &mailer.spec().router_id,
                            &server.fifo_name,
                            vs,
                            now.up,
                            &event.reason,
                        ));
                    }
                }
            }
            let update = HealthUpdate {
                real_server: server.key,
                up: now.up,
                weight: now.weight,
                reason: event.reason.clone(),
            };
            if updates.send(update).await.is_err() {
                return;
            }
        }
    }
}
