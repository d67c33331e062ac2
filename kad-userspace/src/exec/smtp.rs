//! keepalived.conf `smtp_alert`: a mail to every `notification_email` address through
//! `smtp_server` when an instance or sync group changes state, sent with lettre by a task of
//! its own (a slow or dead mail server never holds up the protocol loop; a failed delivery
//! is logged and dropped, as keepalived does).
//!
//! Subject and body follow keepalived's, so that existing mail filters keep working:
//! `[ROUTER_ID] VRRP Instance NAME - Entering MASTER state` with the body
//! `=> VRRP Instance is now owning VRRP VIPs <=` (and the BACKUP / FAULT / STOP variants;
//! `VRRP Group` for sync groups). The checkers' alerts (real servers up/down, virtual
//! servers gaining/losing quorum) follow keepalived's too: [`Alert::real_server`],
//! [`Alert::quorum`].

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
    transport::smtp::extension::ClientId,
};
use tokio::sync::mpsc;

use crate::{
    config::model::{Config, GlobalDefs},
    vrrp::fsm::{NotifyKind, NotifyTarget},
};

/// Alerts waiting for the sender task beyond this are dropped (with a warning).
const QUEUE: usize = 256;

/// Where alerts go: global_defs `smtp_server`, `notification_email_from`,
/// `notification_email`, `smtp_helo_name`, `smtp_connect_timeout`, `router_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpSpec {
    /// `smtp_server HOST [PORT]`.
    pub server: (String, u16),
    /// `notification_email_from` (keepalived's default: `keepalived@HOSTNAME`).
    pub from: String,
    /// `notification_email`.
    pub to: Vec<String>,
    /// `smtp_helo_name` (default: the host name).
    pub helo: String,
    /// `smtp_connect_timeout`.
    pub connect_timeout: Duration,
    /// `router_id` (default: the host name), the subject's tag.
    pub router_id: String,
}

impl SmtpSpec {
    /// keepalived.conf global_defs `smtp_server`, `notification_email`,
    /// `notification_email_from`, `smtp_helo_name`, `smtp_connect_timeout`, `router_id`: the
    /// mail settings, if alerts can be sent at all (a server and at least one recipient).
    pub fn from_config(config: &Config) -> Option<Self> {
        let global = &config.global;
        let server = global.smtp_server.clone()?;
        if global.notification_email.is_empty() {
            return None;
        }
        let host = host_name();
        Some(Self {
            server,
            from: global
                .notification_email_from
                .clone()
                .unwrap_or_else(|| format!("keepalived@{host}")),
            to: global.notification_email.clone(),
            helo: global
                .smtp_helo_name
                .clone()
                .unwrap_or_else(|| host.clone()),
            connect_timeout: global.smtp_connect_timeout,
            router_id: global.router_id.clone().unwrap_or(host),
        })
    }
}

/// Whether state changes of an instance or group with `own` (its `smtp_alert`) are mailed:
/// its own setting, else global `smtp_alert_vrrp`, else global `smtp_alert` (keepalived.conf(5)).
pub fn alerts_enabled(global: &GlobalDefs, own: Option<bool>) -> bool {
    own.or(global.smtp_alert_vrrp)
        .or(global.smtp_alert)
        .unwrap_or(false)
}

/// Whether a real server's transitions are mailed (keepalived.conf(5)): its own
/// `smtp_alert`, else its virtual server's, else global `smtp_alert_checker`, else global
/// `smtp_alert`. For a virtual server's quorum, pass `None` as `real_server`.
pub fn checker_alerts_enabled(
    global: &GlobalDefs,
    virtual_server: Option<bool>,
    real_server: Option<bool>,
) -> bool {
    real_server
        .or(virtual_server)
        .or(global.smtp_alert_checker)
        .or(global.smtp_alert)
        .unwrap_or(false)
}

/// One mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// The subject line.
    pub subject: String,
    /// The body.
    pub body: String,
}

impl Alert {
    /// keepalived's alert for `target` entering `kind`, tagged with `router_id`; `None` for
    /// events keepalived does not mail (priority changes).
    pub fn state_change(router_id: &str, target: &NotifyTarget, kind: NotifyKind) -> Option<Self> {
        let (what, name) = match target {
            NotifyTarget::Instance(name) => ("Instance", name),
            NotifyTarget::Group(name) => ("Group", name),
        };
        let (state, body) = match (kind, target) {
            (NotifyKind::Master, NotifyTarget::Instance(_)) => {
                ("MASTER", "=> VRRP Instance is now owning VRRP VIPs <=")
            }
            (NotifyKind::Backup, NotifyTarget::Instance(_)) => {
                ("BACKUP", "=> VRRP Instance is nolonger owning VRRP VIPs <=")
            }
            (NotifyKind::Fault, NotifyTarget::Instance(_)) => {
                ("FAULT", "=> VRRP Instance is nolonger owning VRRP VIPs <=")
            }
            (NotifyKind::Stop, NotifyTarget::Instance(_)) => {
                ("STOP", "=> VRRP Instance stopped <=")
            }
            (NotifyKind::Master, NotifyTarget::Group(_)) => (
                "MASTER",
                "=> All VRRP group instances are now in MASTER state <=",
            ),
            (NotifyKind::Backup, NotifyTarget::Group(_)) => (
                "BACKUP",
                "=> All VRRP group instances are now in BACKUP state <=",
            ),
            (NotifyKind::Fault, NotifyTarget::Group(_)) => (
                "FAULT",
                "=> All VRRP group instances are now in FAULT state <=",
            ),
            (NotifyKind::Stop, NotifyTarget::Group(_)) => {
                ("STOP", "=> All VRRP group instances stopped <=")
            }
            (NotifyKind::Deleted, _) => ("DELETED", "=> VRRP Deleted at reload <="),
            (NotifyKind::MasterRxLowerPri | NotifyKind::Priority { .. }, _) => return None,
        };
        Some(Self {
            subject: format!("[{router_id}] VRRP {what} {name} - Entering {state} state"),
            body: format!("{body}\r\n"),
        })
    }
}

impl Alert {
    /// keepalived's alert for a real server (`[10.0.0.2]:tcp:80`) of a virtual server
    /// (`[10.0.0.1]:tcp:80`) going up or down: subject
    /// `[ROUTER_ID] Realserver RS of virtual server VS - UP|DOWN`, the body saying which
    /// check decided.
    pub fn real_server(
        router_id: &str,
        real_server: &str,
        virtual_server: &str,
        up: bool,
        reason: &str,
    ) -> Self {
        let (state, body) = if up {
            ("UP", format!("=> CHECK succeed on service : {reason} <="))
        } else {
            ("DOWN", format!("=> CHECK failed on service : {reason} <="))
        };
        Self {
            subject: format!(
                "[{router_id}] Realserver {real_server} of virtual server {virtual_server} - {state}"
            ),
            body: format!("{body}\r\n"),
        }
    }

    /// keepalived's alert for one checker of a real server changing state: the subject
    /// gives the real server's state (`server_up`), the body the checker's (`checker_up`).
    /// keepalived.conf global `no_checker_emails` keeps these to the real server's changes.
    pub fn checker(
        router_id: &str,
        real_server: &str,
        virtual_server: &str,
        server_up: bool,
        checker_up: bool,
        reason: &str,
    ) -> Self {
        let mut alert =
            Self::real_server(router_id, real_server, virtual_server, checker_up, reason);
        let (said, state) = match (checker_up, server_up) {
            (true, false) => (" - UP", " - DOWN"),
            (false, true) => (" - DOWN", " - UP"),
            _ => return alert,
        };
        if let Some(head) = alert.subject.strip_suffix(said) {
            alert.subject = format!("{head}{state}");
        }
        alert
    }

    /// keepalived's alert for a virtual server gaining or losing quorum: subject
    /// `[ROUTER_ID] Virtualserver VS - UP|DOWN`, the body giving the live weight against
    /// `quorum`.
    pub fn quorum(
        router_id: &str,
        virtual_server: &str,
        up: bool,
        alive_weight: i64,
        quorum: u32,
    ) -> Self {
        let (state, body) = if up {
            (
                "UP",
                format!("=> Gained quorum {alive_weight} >= {quorum} for VS {virtual_server} <="),
            )
        } else {
            (
                "DOWN",
                format!("=> Lost quorum {alive_weight} < {quorum} for VS {virtual_server} <="),
            )
        };
        Self {
            subject: format!("[{router_id}] Virtualserver {virtual_server} - {state}"),
            body: format!("{body}\r\n"),
        }
    }
}

/// The sending side: alerts are queued here and delivered by a task of their own.
#[derive(Clone, Debug)]
pub struct Mailer {
    spec: SmtpSpec,
    queue: mpsc::Sender<Alert>,
}

impl Mailer {
    /// Starts the delivery task for `spec` (on the current tokio runtime).
    pub fn start(spec: SmtpSpec) -> Self {
        let (queue, alerts) = mpsc::channel(QUEUE);
        tokio::spawn(deliver(spec.clone(), alerts));
        Self { spec, queue }
    }

    /// The settings this mailer delivers with.
    pub fn spec(&self) -> &SmtpSpec {
        &self.spec
    }

    /// Queues `alert`; never waits.
    pub fn send(&self, alert: Alert) {
        if let Err(err) = self.queue.try_send(alert) {
            tracing::warn!(error = %err, "SMTP alert dropped: the queue is full or closed");
        }
    }
}

async fn deliver(spec: SmtpSpec, mut alerts: mpsc::Receiver<Alert>) {
    let transport: AsyncSmtpTransport<Tokio1Executor> =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(spec.server.0.clone())
            .port(spec.server.1)
            .timeout(Some(spec.connect_timeout))
            .hello_name(ClientId::Domain(spec.helo.clone()))
            .build();
    while let Some(alert) = alerts.recv().await {
        let message = match message(&spec, &alert) {
            Ok(message) => message,
            Err(err) => {
                tracing::warn!(subject = %alert.subject, error = %err, "cannot build SMTP alert");
                continue;
            }
        };
        match transport.send(message).await {
            Ok(_) => {
                tracing::info!(subject = %alert.subject, server = %spec.server.0, "SMTP alert sent")
            }
            Err(err) => {
                tracing::warn!(subject = %alert.subject, server = %spec.server.0, error = %err, "SMTP alert not sent")
            }
        }
    }
}

/// A mail-building failure (an address that does not parse, a header lettre refuses).
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// `notification_email` / `notification_email_from` is not a mail address.
    #[error("'{address}' is not a mail address: {source}")]
    Address {
        /// The address as configured.
        address: String,
        /// lettre's reason.
        #[source]
        source: lettre::address::AddressError,
    },
    /// lettre refused the message.
    #[error(transparent)]
    Build(#[from] lettre::error::Error),
}

fn mailbox(address: &str) -> Result<Mailbox, AlertError> {
    address.parse().map_err(|source| AlertError::Address {
        address: address.to_owned(),
        source,
    })
}

fn message(spec: &SmtpSpec, alert: &Alert) -> Result<Message, AlertError> {
    let mut builder = Message::builder()
        .from(mailbox(&spec.from)?)
        .subject(alert.subject.clone())
        .header(ContentType::TEXT_PLAIN);
    for to in &spec.to {
        builder = builder.to(mailbox(to)?);
    }
    Ok(builder.body(alert.body.clone())?)
}

fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checker's alert: the subject gives the real server's state, the body the
    /// checker's.
    #[test]
    fn checker_alerts_name_the_real_server_s_state() {
        let alert = Alert::checker("lb1", "RS", "VS", false, true, "TCP_CHECK ok");
        assert_eq!(
            alert.subject,
            "[lb1] Realserver RS of virtual server VS - DOWN"
        );
        assert_eq!(
            alert.body,
            "=> CHECK succeed on service : TCP_CHECK ok <=\r\n"
        );
        let alert = Alert::checker("lb1", "RS", "VS", false, false, "refused");
        assert_eq!(
            alert.subject,
            "[lb1] Realserver RS of virtual server VS - DOWN"
        );
        assert_eq!(alert.body, "=> CHECK failed on service : refused <=\r\n");
    }

    #[test]
    fn subjects_and_bodies_are_keepalived_s() {
        let instance = NotifyTarget::Instance("VI_1".into());
        let alert = Alert::state_change("lb1", &instance, NotifyKind::Master);
        assert_eq!(
            alert,
            Some(Alert {
                subject: "[lb1] VRRP Instance VI_1 - Entering MASTER state".into(),
                body: "=> VRRP Instance is now owning VRRP VIPs <=\r\n".into(),
            })
        );
        let group = NotifyTarget::Group("G".into());
        assert_eq!(
            Alert::state_change("lb1", &group, NotifyKind::Backup).map(|a| a.subject),
            Some("[lb1] VRRP Group G - Entering BACKUP state".into())
        );
        assert_eq!(
            Alert::state_change("lb1", &instance, NotifyKind::Priority { master: true }),
            None
        );
    }

    #[test]
    fn the_instance_setting_wins_then_vrrp_then_global() {
        let mut global = GlobalDefs::default();
        assert!(!alerts_enabled(&global, None));
        global.smtp_alert = Some(true);
        assert!(alerts_enabled(&global, None));
        global.smtp_alert_vrrp = Some(false);
        assert!(!alerts_enabled(&global, None));
        assert!(alerts_enabled(&global, Some(true)));
    }

    #[test]
    fn alerts_need_a_server_and_a_recipient() {
        let mut config = Config {
            global: GlobalDefs {
                smtp_server: Some(("127.0.0.1".into(), 2525)),
                ..GlobalDefs::default()
            },
            ..Config::default()
        };
        assert_eq!(SmtpSpec::from_config(&config), None);
        config.global.notification_email = vec!["ops@example.net".into()];
        config.global.router_id = Some("lb1".into());
        let spec = SmtpSpec::from_config(&config);
        assert_eq!(spec.as_ref().map(|s| s.router_id.as_str()), Some("lb1"));
        assert!(spec.is_some_and(|s| s.from.starts_with("keepalived@")));
    }

    #[test]
    fn checker_subjects_are_keepalived_s_and_the_settings_inherit() {
        let down = Alert::real_server(
            "lb1",
            "[10.0.0.2]:tcp:80",
            "[10.0.0.1]:tcp:80",
            false,
            "TCP_CHECK: connect: refused",
        );
        assert_eq!(
            down.subject,
            "[lb1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN"
        );
        assert!(
            down.body
                .starts_with("=> CHECK failed on service : TCP_CHECK")
        );
        let lost = Alert::quorum("lb1", "[10.0.0.1]:tcp:80", false, 1, 2);
        assert_eq!(lost.subject, "[lb1] Virtualserver [10.0.0.1]:tcp:80 - DOWN");

        let mut global = GlobalDefs::default();
        assert!(!checker_alerts_enabled(&global, None, None));
        global.smtp_alert = Some(true);
        assert!(checker_alerts_enabled(&global, None, None));
        global.smtp_alert_checker = Some(false);
        assert!(!checker_alerts_enabled(&global, None, None));
        assert!(checker_alerts_enabled(&global, Some(true), None));
        assert!(!checker_alerts_enabled(&global, Some(true), Some(false)));
        assert!(checker_alerts_enabled(&global, Some(false), Some(true)));
    }
}
