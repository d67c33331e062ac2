//! From the configuration to the probes to run: each checker's target, socket options and
//! timing resolved (checker → real_server → virtual_server → keepalived's defaults), and
//! one probe per distinct (target, checker) — several virtual servers listing the same real
//! server with the same checker share one probe, as keepalived users ask for.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use rustls::ClientConfig;

use crate::{
    config::model::{Checker, Config, GlobalDefs, RealServer, Script, VirtualServer, VsAddress},
    exec::scripts::{self, RunAs, ScriptCommand},
    exec::{
        fifo::FifoSpec,
        smtp::{SmtpSpec, checker_alerts_enabled},
    },
    status::{
        health::RealServerKey,
        names::{fifo_name, vs_fifo_name},
    },
};

use super::{
    dns::{self, DnsQuery},
    endpoint::Endpoint,
    file::{self, FileSpec},
    http::{HttpProtocol, HttpSpec, UrlSpec},
    misc::MiscSpec,
    plan_error::PlanError,
    smtp,
    state::Timing,
    suspend::Activity,
    tls,
    udp::{self, UdpSpec},
};

/// keepalived.conf(5): `retry` defaults to 1, 3 for DNS_CHECK, 0 for MISC_CHECK.
pub fn default_retry(kind: &str) -> u32 {
    match kind {
        "DNS_CHECK" => 3,
        "MISC_CHECK" => 0,
        _ => 1,
    }
}

/// keepalived.conf(5): `delay_before_retry` defaults to `delay_loop` for DNS_CHECK, 3 s for
/// HTTP_GET and SSL_GET, 1 s otherwise.
pub fn default_delay_before_retry(kind: &str, delay_loop: Duration) -> Duration {
    match kind {
        "DNS_CHECK" => delay_loop,
        "HTTP_GET" | "SSL_GET" => Duration::from_secs(3),
        _ => Duration::from_secs(1),
    }
}

/// What a probe does. The checkers with words of their own keep them boxed, so that a
/// TCP_CHECK (the common case, 10,000 at a time) pays 16 bytes for its kind, not the size
/// of the largest checker's words.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    /// TCP_CHECK.
    Tcp,
    /// HTTP_GET / SSL_GET.
    Http(Box<HttpSpec>),
    /// SMTP_CHECK with its `helo_name`.
    Smtp(Box<str>),
    /// DNS_CHECK.
    Dns(Box<DnsQuery>),
    /// MISC_CHECK.
    Misc(Box<MiscSpec>),
    /// UDP_CHECK.
    Udp(Box<UdpSpec>),
    /// PING_CHECK.
    Ping,
    /// FILE_CHECK.
    File(Box<FileSpec>),
    /// BFD_CHECK with the `bfd_instance` it follows (not probed: [`super::bfd`]).
    Bfd(Box<str>),
}

impl ProbeKind {
    /// The keepalived.conf keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            ProbeKind::Tcp => "TCP_CHECK",
            ProbeKind::Http(h) if h.tls => "SSL_GET",
            ProbeKind::Http(_) => "HTTP_GET",
            ProbeKind::Smtp(_) => "SMTP_CHECK",
            ProbeKind::Dns(_) => "DNS_CHECK",
            ProbeKind::Misc(_) => "MISC_CHECK",
            ProbeKind::Udp(_) => "UDP_CHECK",
            ProbeKind::Ping => "PING_CHECK",
            ProbeKind::File(_) => "FILE_CHECK",
            ProbeKind::Bfd(_) => "BFD_CHECK",
        }
    }
}

/// One probe: what, where, when.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProbeSpec {
    /// What it does.
    pub kind: ProbeKind,
    /// Where it connects from and to.
    pub endpoint: Endpoint,
    /// Its schedule.
    pub timing: Timing,
    /// keepalived.conf `log_all_failures` of the checker or global
    /// `checker_log_all_failures`: every failed probe is logged, retries included.
    pub log_all_failures: bool,
    /// keepalived.conf `ha_suspend` of its virtual server: when it runs (probes of virtual
    /// servers suspended differently are not shared).
    pub activity: Activity,
}

impl ProbeSpec {
    /// What a probe targets, as logs, `kad status`, the dumps and the metrics labels show it:
    /// `IP:PORT`, the address pinged, the MISC_CHECK program (quoted; its arguments may hold
    /// secrets, so they are left out) or the FILE_CHECK file.
    pub fn target(&self) -> String {
        match &self.kind {
            ProbeKind::Misc(m) => format!(
                "'{}'",
                crate::exec::scripts::split_words(&m.command)
                    .first()
                    .map(String::as_str)
                    .unwrap_or_default()
            ),
            ProbeKind::File(f) => f.path.clone(),
            ProbeKind::Bfd(name) => name.to_string(),
            ProbeKind::Ping => self.endpoint.addr.ip().to_string(),
            _ => self.endpoint.addr.to_string(),
        }
    }
}

/// One real server (all virtual servers listing it merged).
#[derive(Clone, Debug)]
pub struct ServerPlan {
    /// The real server.
    pub key: RealServerKey,
    /// keepalived.conf `weight`.
    pub weight: i32,
    /// Up at start, unless one of its checkers starts down (`alpha` of the checker, else of
    /// the virtual server listing it), or on reload as the previous checkers left it.
    pub initial_up: bool,
    /// The weight at start (on reload, what a checker of the previous set asked for).
    pub initial_weight: Option<i32>,
    /// Its state comes from the previous checker set (reload).
    pub carried_over: bool,
    /// Its probes (indexes into [`Plan::probes`]).
    pub probes: Vec<usize>,
    /// keepalived.conf `notify_up` of each listing.
    pub notify_up: Vec<ScriptCommand>,
    /// keepalived.conf `notify_down` of each listing.
    pub notify_down: Vec<ScriptCommand>,
    /// The virtual servers listing it.
    pub virtual_servers: Vec<Listing>,
    /// Itself as FIFO lines name it (the protocol of the first virtual server listing it).
    pub fifo_name: Box<str>,
}

/// A virtual server listing a real server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// The virtual server as FIFO lines name it ([`vs_fifo_name`]; one string shared by
    /// all its real servers).
    pub name: Arc<str>,
    /// Whether the real server's transitions are mailed (keepalived.conf `smtp_alert` of
    /// the real server, else of the virtual server, else global `smtp_alert_checker`, else
    /// `smtp_alert`).
    pub smtp_alert: bool,
}

/// Every real server and every distinct probe of a configuration.
#[derive(Default)]
pub struct Plan {
    /// The real servers.
    pub servers: Vec<ServerPlan>,
    /// The distinct probes, shared with their tasks ([`super::probe::Probe`]).
    pub probes: Vec<Arc<ProbeSpec>>,
    /// For each probe, the servers it serves.
    pub probe_servers: Vec<Vec<usize>>,
    /// The TLS client for SSL_GET (built once).
    pub tls: Option<Arc<ClientConfig>>,
    /// global `notify_fifo` and `lvs_notify_fifo`.
    pub fifos: Vec<FifoSpec>,
    /// Where `smtp_alert` mails go (`None`: no `smtp_server` or no `notification_email`).
    pub smtp: Option<SmtpSpec>,
    /// Checkers left out, and why.
    pub warnings: Vec<String>,
    /// global `no_checker_emails`: mail a real server's changes only, not each checker's.
    pub no_checker_emails: bool,
    /// global `rs_init_notifies`: notify the real servers that start up.
    pub rs_init_notifies: bool,
}

fn vs_port(vs: &VirtualServer) -> Option<u16> {
    match &vs.address {
        VsAddress::Ip(_, port) => *port,
        _ => None,
    }
}

impl Plan {
    /// Plans `config`.
    pub fn from_config(config: &Config) -> Self {
        let mut plan = Plan::default();
        let mut server_index: HashMap<RealServerKey, usize> = HashMap::new();
        let mut probe_index: HashMap<Arc<ProbeSpec>, usize> = HashMap::new();
        if config
            .virtual_servers
            .iter()
            .flat_map(|vs| &vs.real_servers)
            .flat_map(|rs| &rs.checkers)
            .any(|ck| ck.kind == "SSL_GET")
        {
            match tls::client_config(config.ssl.as_ref()) {
                Ok(client) => plan.tls = Some(client),
                Err(err) => plan.warnings.push(format!("SSL_GET: {err}")),
            }
        }
        plan.fifos = fifos(&config.global, &mut plan.warnings);
        plan.smtp = SmtpSpec::from_config(config);
        plan.no_checker_emails = global_flag(&config.global, "no_checker_emails");
        plan.rs_init_notifies = global_flag(&config.global, "rs_init_notifies");
        for vs in &config.virtual_servers {
            let vs_name: Arc<str> = vs_fifo_name(vs).into();
            if let (Activity::Never, VsAddress::Group(group)) = (Activity::of(vs), &vs.address) {
                plan.warnings.push(format!(
                    "virtual_server group {group}: ha_suspend - keepalived 2.2.7 matches no \
                     address of a group, so its checkers never run"
                ));
            }
            for rs in &vs.real_servers {
                let port = rs.port.or(vs_port(vs)).unwrap_or(0);
                let key = RealServerKey {
                    addr: SocketAddr::new(rs.addr, port),
                };
                let server = *server_index.entry(key).or_insert_with(|| {
                    plan.servers.push(ServerPlan {
                        key,
                        weight: rs.weight,
                        initial_up: true,
                        initial_weight: None,
                        carried_over: false,
                        fifo_name: fifo_name(rs.addr, &vs.protocol, port).into(),
                        probes: Vec::new(),
                        notify_up: Vec::new(),
                        notify_down: Vec::new(),
                        virtual_servers: Vec::new(),
                    });
                    plan.servers.len() - 1
                });
                let notify = |script: &Option<Script>, what: &str, warnings: &mut Vec<_>| {
                    script.as_ref().and_then(|s| {
                        command(&config.global, s, None)
                            .map_err(|e| {
                                warnings.push(format!("real server {} {what}: {e}", key.addr))
                            })
                            .ok()
                    })
                };
                let up = notify(&rs.notify_up, "notify_up", &mut plan.warnings);
                let down = notify(&rs.notify_down, "notify_down", &mut plan.warnings);
                let Some(entry) = plan.servers.get_mut(server) else {
                    continue;
                };
                // keepalived.conf `alpha`: a checker starts down with its own `alpha`, else
                // with its virtual server's; the real server starts up when none does.
                entry.initial_up &= if rs.checkers.is_empty() {
                    !vs.alpha
                } else {
                    rs.checkers.iter().all(|c| !c.alpha.unwrap_or(vs.alpha))
                };
                entry
                    .notify_up
                    .extend(up.filter(|c| !entry.notify_up.contains(c)));
                entry
                    .notify_down
                    .extend(down.filter(|c| !entry.notify_down.contains(c)));
                entry.virtual_servers.push(Listing {
                    name: Arc::clone(&vs_name),
                    smtp_alert: checker_alerts_enabled(
                        &config.global,
                        vs.smtp_alert,
                        rs.smtp_alert,
                    ),
                });
                for checker in &rs.checkers {
                    let spec = match probe_spec(config, vs, rs, port, checker) {
                        Ok(spec) => spec,
                        Err(why) => {
                            plan.warnings.push(format!(
                                "{}: {} of real server {}: {why} - checker ignored",
                                checker.place, checker.kind, key.addr
                            ));
                            continue;
                        }
                    };
                    if matches!(&spec.kind, ProbeKind::Http(h) if h.tls) && plan.tls.is_none() {
                        continue;
                    }
                    let spec = Arc::new(spec);
                    let probe = *probe_index.entry(Arc::clone(&spec)).or_insert_with(|| {
                        plan.probes.push(spec);
                        plan.probe_servers.push(Vec::new());
                        plan.probes.len() - 1
                    });
                    if let Some(entry) = plan.servers.get_mut(server)
                        && !entry.probes.contains(&probe)
                    {
                        entry.probes.push(probe);
                    }
                    if let Some(servers) = plan.probe_servers.get_mut(probe)
                        && !servers.contains(&server)
                    {
                        servers.push(server);
                    }
                }
            }
        }
        // Kept while the checkers run: no spare room from the vectors' doubling.
        plan.probes.shrink_to_fit();
        plan.probe_servers.shrink_to_fit();
        plan.servers.shrink_to_fit();
        plan
    }

    /// Whether probe `probe` goes on from a reload: all the servers it serves were kept
    /// ([`ServerPlan::carried_over`]).
    pub fn probe_carried_over(&self, probe: usize) -> bool {
        self.probe_servers
            .get(probe)
            .into_iter()
            .flatten()
            .filter_map(|&s| self.servers.get(s))
            .all(|s| s.carried_over)
    }

    /// A probe starts up when all the servers it serves do.
    pub fn probe_initial_up(&self, probe: usize) -> bool {
        self.probe_servers
            .get(probe)
            .into_iter()
            .flatten()
            .filter_map(|&s| self.servers.get(s))
            .all(|s| s.initial_up)
    }
}

fn fifos(global: &GlobalDefs, warnings: &mut Vec<String>) -> Vec<FifoSpec> {
    let mut out = Vec::new();
    for keyword in ["notify_fifo", "lvs_notify_fifo"] {
        let Some(fifo) = global.fifos.get(keyword) else {
            continue;
        };
        // The VRRP side starts notify_fifo_script; the checkers start lvs_notify_fifo's.
        let script = match keyword {
            "lvs_notify_fifo" => global.fifos.get("lvs_notify_fifo_script").and_then(|s| {
                match command(global, s, None) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        warnings.push(format!("lvs_notify_fifo_script: {e}"));
                        None
                    }
                }
            }),
            _ => None,
        };
        // keepalived.conf `notify_fifo FILE [USER [GROUP]]`: the FIFO's owner.
        let owner = match scripts::run_as(
            global,
            fifo.user.as_deref().map(|u| (u, fifo.group.as_deref())),
        ) {
            Ok(owner) => owner,
            Err(e) => {
                warnings.push(format!("{keyword}: {e}"));
                continue;
            }
        };
        out.push(FifoSpec {
            path: fifo.command.clone().into(),
            owner,
            script,
        });
    }
    out
}

/// Who runs `script` and whether it may run (keepalived's script security, see
/// [`crate::exec::scripts`]). `user` overrides the script's own user (MISC_CHECK `user`).
fn command(
    global: &GlobalDefs,
    script: &Script,
    user: Option<&[String]>,
) -> Result<ScriptCommand, PlanError> {
    let own = match user {
        Some([user, rest @ ..]) => Some((user.as_str(), rest.first().map(String::as_str))),
        _ => script.user.as_deref().map(|u| (u, script.group.as_deref())),
    };
    let global_user = global
        .script_user
        .as_ref()
        .map(|(u, g)| (u.as_str(), g.as_deref()));
    let run_as: RunAs = scripts::resolve(
        own,
        global_user,
        global.enable_script_security,
        scripts::lookup,
    )
    .map_err(|e| PlanError::Script(e.to_string()))?;
    let words = scripts::split_words(&script.command);
    let program = words.first().ok_or(PlanError::Missing("empty script"))?;
    let checked = scripts::check(program, run_as, global.enable_script_security)
        .map_err(|e| PlanError::Script(e.to_string()))?;
    if let Some(insecure) = checked.insecure {
        tracing::warn!(script = %script.command, "script runs as root and is unsafe: {insecure}");
    }
    Ok(ScriptCommand {
        command: script.command.clone(),
        run_as,
    })
}

fn word<'a>(checker: &'a Checker, keyword: &str) -> Option<&'a str> {
    checker
        .other
        .get(keyword)
        .and_then(|w| w.first())
        .map(String::as_str)
}

fn number(checker: &Checker, keyword: &str) -> Result<Option<usize>, PlanError> {
    word(checker, keyword)
        .map(|w| {
            w.parse().map_err(|_| PlanError::NotANumber {
                keyword: keyword.to_owned(),
                word: w.to_owned(),
            })
        })
        .transpose()
}

/// A checker keyword written as a flag or `KEYWORD [<BOOL>]` (kad-config checked the
/// value): set, and not false.
fn checker_flag(checker: &Checker, keyword: &str) -> bool {
    checker.other.get(keyword).is_some_and(|words| {
        words
            .first()
            .is_none_or(|w| crate::config::keywords::parse_bool(w).unwrap_or(false))
    })
}

/// A global_defs keyword written as a flag or `KEYWORD [<BOOL>]` (kad-config checked the
/// value): set, and not false.
fn global_flag(global: &GlobalDefs, keyword: &str) -> bool {
    global.other.get(keyword).is_some_and(|words| {
        words
            .first()
            .is_none_or(|w| crate::config::keywords::parse_bool(w).unwrap_or(false))
    })
}

/// A url's `regex_min_offset` / `regex_max_offset` (kad-config keeps them as a number, or
/// drops them as keepalived does); offsets beyond memory are beyond any body.
fn url_offset(url: &crate::config::model::Url, keyword: &str) -> Option<usize> {
    let word = url.other.get(keyword)?.first()?;
    let offset: u64 = word.parse().ok()?;
    Some(usize::try_from(offset).unwrap_or(usize::MAX))
}

/// Resolves one checker of real server `rs` (port `port`) of `vs`.
pub fn probe_spec(
    config: &Config,
    vs: &VirtualServer,
    rs: &RealServer,
    port: u16,
    checker: &Checker,
) -> Result<ProbeSpec, PlanError> {
    let (ct, rt) = (&checker.timing, &rs.timing);
    let delay_loop = ct.delay_loop.or(rt.delay_loop).unwrap_or(vs.delay_loop);
    let mut timing = Timing {
        delay_loop,
        retry: ct
            .retry
            .or(rt.retry)
            .or(vs.retry)
            .unwrap_or_else(|| default_retry(&checker.kind)),
        delay_before_retry: ct
            .delay_before_retry
            .or(rt.delay_before_retry)
            .or(vs.delay_before_retry)
            .unwrap_or_else(|| default_delay_before_retry(&checker.kind, delay_loop)),
        warmup: ct.warmup.or(rt.warmup).or(vs.warmup).unwrap_or(delay_loop),
        connect_timeout: ct
            .connect_timeout
            .or(rt.connect_timeout)
            .unwrap_or(vs.connect_timeout),
    };
    let target = SocketAddr::new(
        checker.connect_ip.unwrap_or(rs.addr),
        checker.connect_port.unwrap_or(port),
    );
    let bind = match (checker.bindto, checker.bind_port) {
        (None, None) => None,
        (ip, port) => Some(SocketAddr::new(
            ip.unwrap_or(IpAddr::from([0, 0, 0, 0])),
            port.unwrap_or(0),
        )),
    };
    let endpoint = Endpoint {
        addr: target,
        bind,
        bind_if: checker.bind_if.clone(),
        fwmark: checker.fwmark,
        connect_timeout: timing.connect_timeout,
    };
    let virtualhost = word(checker, "virtualhost")
        .map(str::to_owned)
        .or_else(|| rs.virtualhost.clone())
        .or_else(|| vs.virtualhost.clone());
    let kind = match checker.kind.as_str() {
        "TCP_CHECK" => ProbeKind::Tcp,
        "HTTP_GET" | "SSL_GET" => ProbeKind::Http(Box::new(HttpSpec {
            tls: checker.kind == "SSL_GET",
            protocol: word(checker, "http_protocol")
                .and_then(HttpProtocol::parse)
                .unwrap_or_default(),
            sni: checker.other.contains_key("enable_sni"),
            fast_recovery: checker_flag(checker, "fast_recovery"),
            urls: checker
                .urls
                .iter()
                .map(|u| UrlSpec {
                    path: u.path.clone().unwrap_or_else(|| "/".to_owned()),
                    digest: u.digest.clone(),
                    status: u.status_code.clone(),
                    virtualhost: u.virtualhost.clone().or_else(|| virtualhost.clone()),
                    regex: u.regex.clone(),
                    regex_no_match: u.regex_no_match,
                    regex_min_offset: url_offset(u, "regex_min_offset").unwrap_or(0),
                    regex_max_offset: url_offset(u, "regex_max_offset"),
                })
                .collect(),
        })),
        "SMTP_CHECK" => ProbeKind::Smtp(
            word(checker, "helo_name")
                .map(str::to_owned)
                .or_else(|| config.global.smtp_helo_name.clone())
                .unwrap_or_else(|| smtp::DEFAULT_HELO.to_owned())
                .into(),
        ),
        "DNS_CHECK" => {
            let query = DnsQuery {
                rtype: word(checker, "type")
                    .unwrap_or(dns::DEFAULT_TYPE)
                    .to_owned(),
                name: word(checker, "name")
                    .unwrap_or(dns::DEFAULT_NAME)
                    .to_owned(),
            };
            DnsQuery::parse(&query.rtype, &query.name)?;
            ProbeKind::Dns(Box::new(query))
        }
        "MISC_CHECK" => {
            let script = checker
                .misc_path
                .as_ref()
                .ok_or(PlanError::Missing("no misc_path"))?;
            let command = command(
                &config.global,
                script,
                checker.other.get("user").map(Vec::as_slice),
            )?;
            let timeout = checker.misc_timeout.unwrap_or(delay_loop);
            timing.connect_timeout = timeout;
            ProbeKind::Misc(Box::new(MiscSpec {
                command: command.command,
                run_as: command.run_as,
                timeout,
                dynamic: checker.misc_dynamic,
            }))
        }
        "UDP_CHECK" => ProbeKind::Udp(Box::new(UdpSpec {
            payload: checker
                .other
                .get("payload")
                .map(|words| udp::parse_hex(&words.join(" ")))
                .transpose()?,
            require_reply: checker.other.contains_key("require_reply"),
            reply_pattern: checker
                .other
                .get("require_reply")
                .filter(|words| !words.is_empty())
                .map(|words| udp::parse_pattern(&words.join(" ")))
                .transpose()?,
            min_reply: number(checker, "min_reply_length")?.unwrap_or(0),
            max_reply: number(checker, "max_reply_length")?.unwrap_or(udp::DEFAULT_MAX_REPLY),
        })),
        "PING_CHECK" => ProbeKind::Ping,
        "FILE_CHECK" => {
            let name = word(checker, "track_file").ok_or(PlanError::Missing("no track_file"))?;
            let track = config
                .track_files
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| PlanError::UndefinedTrackFile(name.to_owned()))?;
            let path = track
                .file
                .clone()
                .ok_or_else(|| PlanError::TrackFileWithoutFile(name.to_owned()))?;
            let words = checker.other.get("weight").filter(|w| !w.is_empty());
            let weight = match words.and_then(|w| w.first()) {
                Some(w) => w.parse().map_err(|_| PlanError::NotANumber {
                    keyword: "weight".to_owned(),
                    word: w.clone(),
                })?,
                None => track.weight,
            };
            let reverse = match words {
                Some(w) => w.iter().any(|w| w == "reverse"),
                None => track.reverse,
            };
            // keepalived reacts to the file at once: poll it, never retry.
            timing.delay_loop = file::POLL_EVERY;
            timing.warmup = Duration::ZERO;
            timing.retry = 0;
            ProbeKind::File(Box::new(FileSpec {
                path,
                weight,
                reverse,
                base: rs.weight,
                dynamic: checker.other.contains_key("dynamic"),
            }))
        }
        "BFD_CHECK" => {
            let name = checker
                .bfd
                .as_deref()
                .ok_or(PlanError::Missing("no name"))?;
            // keepalived follows the session's events: no schedule, no retry.
            timing = Timing {
                delay_loop,
                retry: 0,
                delay_before_retry: Duration::ZERO,
                warmup: Duration::ZERO,
                connect_timeout: timing.connect_timeout,
            };
            ProbeKind::Bfd(name.into())
        }
        other => return Err(PlanError::Unsupported(other.to_owned())),
    };
    if let ProbeKind::Http(http) = &kind {
        super::http::HttpProbe::new(http, None)?;
    }
    Ok(ProbeSpec {
        endpoint,
        timing,
        log_all_failures: checker.log_all_failures == Some(true)
            || global_flag(&config.global, "checker_log_all_failures"),
        // keepalived's checker process acts on a BFD event whether or not `ha_suspend`
        // suspended the checker.
        activity: match kind {
            ProbeKind::Bfd(_) => Activity::Always,
            _ => Activity::of(vs),
        },
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, parse_str};

    fn plan(text: &str) -> Plan {
        Plan::from_config(&parse_str(text, &LoadOptions::with_config_id("t")).config)
    }

    /// keepalived.conf `ha_suspend`: a probe follows its virtual server's address, is not
    /// shared with a virtual server that is not suspended, and never runs for a group.
    #[test]
    fn ha_suspend_probes_follow_their_virtual_server_s_address() {
        let rs = "real_server 10.0.0.1 80 { TCP_CHECK { } }\n";
        let p = plan(&format!(
            "virtual_server 10.9.9.9 80 {{ protocol TCP\n ha_suspend\n {rs}}}\n\
             virtual_server 10.9.9.10 80 {{ protocol TCP\n {rs}}}\n\
             virtual_server_group G {{ 10.9.9.11 80\n }}\n\
             virtual_server group G {{ protocol TCP\n ha_suspend\n {rs}}}\n"
        ));
        let activities: Vec<Activity> = p.probes.iter().map(|p| p.activity).collect();
        assert_eq!(
            activities,
            vec![
                Activity::WhileLocal([10, 9, 9, 9].into()),
                Activity::Always,
                Activity::Never
            ]
        );
        assert!(
            p.warnings.iter().any(|w| w.contains("group G: ha_suspend")),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn shared_real_servers_share_probes_and_timing_is_inherited() {
        let rs = |checker: &str| {
            format!("real_server 10.0.0.1 80 {{ retry 4\n {checker} {{ connect_timeout 2\n }} }}\n")
        };
        let p = plan(&format!(
            "virtual_server 10.9.9.9 80 {{ delay_loop 7\n delay_before_retry 3\n {}}}\n\
             virtual_server 10.9.9.10 80 {{ delay_loop 7\n delay_before_retry 3\n alpha\n {}}}\n\
             virtual_server 10.9.9.11 80 {{ delay_loop 7\n delay_before_retry 3\n {}}}\n",
            rs("TCP_CHECK"),
            rs("TCP_CHECK"),
            rs("PING_CHECK"),
        ));
        assert_eq!(p.servers.len(), 1, "one real server, listed three times");
        assert_eq!(p.probes.len(), 2, "TCP_CHECK shared, PING_CHECK its own");
        let server = &p.servers[0];
        assert_eq!(server.virtual_servers.len(), 3);
        assert!(!server.initial_up, "alpha in one listing");
        assert_eq!(
            p.probes[0].timing,
            Timing {
                delay_loop: Duration::from_secs(7),
                retry: 4,
                delay_before_retry: Duration::from_secs(3),
                warmup: Duration::from_secs(7),
                connect_timeout: Duration::from_secs(2),
            }
        );
        assert_eq!(
            p.probes[0].endpoint.addr,
            SocketAddr::from(([10, 0, 0, 1], 80))
        );
    }

    #[test]
    fn connect_options_and_defaults() {
        let p = plan(
            "virtual_server 10.9.9.9 80 {\n real_server 10.0.0.1 {\n HTTP_GET {\n \
             connect_ip 10.0.0.9\n connect_port 8080\n bindto 10.0.0.5\n fwmark 3\n \
             url { path /x\n }\n }\n }\n}\n",
        );
        let probe = &p.probes[0];
        assert_eq!(probe.endpoint.addr, SocketAddr::from(([10, 0, 0, 9], 8080)));
        assert_eq!(
            probe.endpoint.bind,
            Some(SocketAddr::from(([10, 0, 0, 5], 0)))
        );
        assert_eq!(probe.endpoint.fwmark, Some(3));
        assert_eq!(probe.timing.retry, 1);
        assert_eq!(probe.timing.delay_before_retry, Duration::from_secs(3));
        assert_eq!(probe.timing.delay_loop, Duration::from_secs(60));
        assert_eq!(probe.timing.connect_timeout, Duration::from_secs(5));
        assert_eq!(p.servers[0].key.addr, SocketAddr::from(([10, 0, 0, 1], 80)));
        let ProbeKind::Http(http) = &probe.kind else {
            panic!("not HTTP_GET: {:?}", probe.kind);
        };
        assert_eq!(http.urls[0].status, vec![(200, 299)]);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    /// keepalived.conf BFD_CHECK: a probe that follows its session (no retry, not
    /// suspended by `ha_suspend`), starting down with `alpha`; a session sent only to the
    /// VRRP side is not found, and the checker is left out while reading.
    #[test]
    fn bfd_check_follows_its_session_and_only_one_the_checkers_see() {
        let p = plan(
            "bfd_instance gw {\n neighbor_ip 10.0.0.9\n }\n\
             bfd_instance v {\n neighbor_ip 10.0.0.8\n vrrp\n }\n\
             virtual_server 10.9.9.9 80 {\n ha_suspend\n \
             real_server 10.0.0.1 80 {\n BFD_CHECK {\n name gw\n alpha\n }\n }\n \
             real_server 10.0.0.2 80 {\n BFD_CHECK {\n name v\n }\n }\n}\n",
        );
        assert_eq!(p.probes.len(), 1, "{:?}", p.probes);
        let probe = &p.probes[0];
        assert_eq!(probe.kind, ProbeKind::Bfd("gw".into()));
        assert_eq!(
            (probe.kind.keyword(), probe.target()),
            ("BFD_CHECK", "gw".to_owned())
        );
        assert_eq!(probe.activity, Activity::Always);
        assert_eq!(probe.timing.retry, 0);
        assert!(!p.servers[0].initial_up, "alpha");
        assert!(
            p.servers[1].probes.is_empty(),
            "v is not sent to the checkers"
        );
    }

    #[test]
    fn checkers_that_cannot_run_are_left_out_with_a_reason() {
        let p = plan(
            "virtual_server 10.9.9.9 80 {\n real_server 10.0.0.1 80 {\n \
             HTTP_GET { url { path /\n regex \"(\"\n }\n }\n \
             FILE_CHECK { track_file nowhere\n }\n TCP_CHECK { }\n }\n}\n",
        );
        assert_eq!(p.probes.len(), 1);
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        assert!(p.warnings[0].contains("regex"), "{}", p.warnings[0]);
        assert!(p.warnings[1].contains("nowhere"), "{}", p.warnings[1]);
    }
}
