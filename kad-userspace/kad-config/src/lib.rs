//! keepalived.conf: the configuration language of keepalived 2.x, read as keepalived reads
//! it, into a typed model with a place (`file:line:col`) for every value.
//!
//! Stages, one module each: [`lexer`] (words of a line) → [`preprocess`] (include,
//! `@conditionals`, `$DEFINES`, `~SEQ`) → [`tree`] (blocks) → keyword tables per block
//! ([`global`], [`vrrp`], [`net`], [`lvs`], [`bfd`]) filling the [`model`] →
//! [`script_users`] and [`validate`] (across blocks, and against the machine through
//! [`Environment`], which the daemon implements) → [`dump`]. [`scripts`]: who runs a script
//! and what its checks found; [`include_glob`]: why an include matched nothing.

#![forbid(unsafe_code)]

pub mod bfd;
#[cfg(test)]
mod bfd_tests;
pub mod bfd_track;
pub mod catalogue;
pub mod dump;
pub mod error;
pub mod global;
pub mod include_glob;
pub mod keywords;
pub mod lexer;
pub mod lvs;
pub mod lvs_checks;
pub mod missing_value;
pub mod model;
pub mod net;
pub mod place;
pub mod preprocess;
pub mod reshape;
pub mod route_options;
pub mod script_users;
pub mod scripts;
pub mod tree;
pub mod validate;
pub mod vrid_conflicts;
pub mod vrrp;

use std::path::Path;

pub use error::{Diagnostic, LoadError, Severity, ValueError};
pub use model::*;
pub use place::{Place, Word};
pub use preprocess::{FileSource, FsSource, NoFiles};
pub use validate::{AssumeAllExist, Environment};

use keywords::{Ctx, Keyword, ignored, kw};
use tree::Node;

/// keepalived's default configuration file.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/keepalived/keepalived.conf";

/// How to load a configuration.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// keepalived `-i/--config-id`: matched against `@id` lines (default: the host name
    /// up to its first dot).
    pub config_id: String,
    /// Stop (fatally) after this many logical lines, `~SEQ` and includes expanded.
    pub max_lines: usize,
}

impl LoadOptions {
    /// Options with `config_id` (keepalived `-i`) and the default limits.
    pub fn with_config_id(config_id: &str) -> Self {
        Self {
            config_id: config_id.to_owned(),
            max_lines: preprocess::DEFAULT_MAX_LINES,
        }
    }
}

/// A loaded configuration: the model, everything said about it, and the verdict.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The resolved model (items keepalived would drop are dropped).
    pub config: Config,
    /// Warnings and errors in the order found.
    pub diagnostics: Vec<Diagnostic>,
    /// Scripts that would run as root are configured without enable_script_security.
    pub script_security_violation: bool,
    /// An `includem`/`includew`/`includea` matched no file.
    pub include_check_failed: bool,
    /// A keyword keepalived reads a value for has none: keepalived stops there
    /// ([`missing_value`]).
    pub missing_parameter: bool,
}

/// `keepalived -t` exit statuses, as the installed keepalived 2.2.7 returns them.
///
/// keepalived(8) documents 3/4/5; the keepalived 2.2.7 binary returns 4/5/6 for the same
/// conditions. kad follows the binary: see docs/config-compat.md.
pub mod exit {
    /// The configuration is fine.
    pub const OK: u8 = 0;
    /// A keyword is missing the value keepalived reads without checking: keepalived stops
    /// parsing there (`KEEPALIVED_EXIT_CONFIG`, see [`crate::missing_value`]).
    pub const MISSING_PARAMETER: u8 = 2;
    /// The configuration cannot run.
    pub const CANNOT_RUN: u8 = 4;
    /// Errors, but keepalived would run after dropping what is wrong.
    pub const ERRORS: u8 = 5;
    /// Scripts are configured but script security is not enabled; keepalived 2.2.7 also
    /// returns this when an `includem`/`includew`/`includea` matches no file.
    pub const SCRIPT_SECURITY: u8 = 6;
}

impl Loaded {
    /// Whether anything keepalived counts as a configuration error was found.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::counts_as_error)
    }

    /// Whether the configuration cannot run at all (the daemon refuses it).
    pub fn cannot_run(&self) -> bool {
        matches!(
            self.exit_status(),
            exit::CANNOT_RUN | exit::MISSING_PARAMETER
        )
    }

    /// The `-t/--config-test` exit status (see [`exit`]).
    pub fn exit_status(&self) -> u8 {
        if self.missing_parameter {
            exit::MISSING_PARAMETER
        } else if self
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Fatal)
        {
            exit::CANNOT_RUN
        } else if self.script_security_violation || self.include_check_failed {
            exit::SCRIPT_SECURITY
        } else if self.has_errors() {
            exit::ERRORS
        } else {
            exit::OK
        }
    }
}

/// Loads and validates the configuration file `path`; interfaces and scripts are checked
/// through `env` (the running system, in the daemon).
pub fn load(
    path: &Path,
    options: &LoadOptions,
    env: &dyn Environment,
) -> Result<Loaded, LoadError> {
    let text = FsSource.read(path).map_err(|source| LoadError::Read {
        path: path.display().to_string(),
        source,
    })?;
    Ok(load_text(
        &path.display().to_string(),
        &text,
        options,
        &FsSource,
        env,
    ))
}

/// Loads configuration `text` named `name`; includes are read through `source`,
/// interfaces and programs are looked up in `env`.
pub fn load_text(
    name: &str,
    text: &str,
    options: &LoadOptions,
    source: &dyn FileSource,
    env: &dyn Environment,
) -> Loaded {
    let mut pre =
        preprocess::Preprocessor::new(source, &options.config_id).with_max_lines(options.max_lines);
    pre.run_text(name, text);
    let include_check_failed = pre.include_check_failed();
    let (lines, mut diagnostics) = pre.finish();
    let mut nodes = reshape::reshape(tree::build(lines, &mut diagnostics));
    let stop = missing_value::cut(&mut nodes, |k| missing_value::pass_of(k, first_pass));
    if let Some(stop) = &stop {
        diagnostics.retain(|d| {
            !d.place
                .as_ref()
                .is_some_and(|p| missing_value::unread(p, stop))
        });
    }
    let mut ctx = Ctx {
        diagnostics: std::mem::take(&mut diagnostics),
        ..Ctx::default()
    };
    let mut config = Config::default();
    for node in &nodes {
        top_statement(&mut config, node, &mut ctx);
    }
    let mut diagnostics = ctx.diagnostics;
    if let Some(stop) = stop {
        // The end of the block keepalived stopped in is never read: nothing is checked
        // there (e.g. a bfd_instance's neighbour address).
        if let Some(block) = nodes.iter().find(|n| missing_value::inside(n, &stop)) {
            let end = block.end_place().clone();
            diagnostics.retain(|d| {
                !d.place.as_ref().is_some_and(|p| {
                    *p.file == *end.file && p.line > stop.key.place.line && p.line <= end.line
                })
            });
        }
        // keepalived exits in the parser of the stopping pass: only the checkers' pass,
        // when it ran to its end, validated what it read.
        if stop.pass == missing_value::Pass::Vrrp {
            let mut checkers = Config {
                global: config.global.clone(),
                virtual_servers: std::mem::take(&mut config.virtual_servers),
                virtual_server_groups: std::mem::take(&mut config.virtual_server_groups),
                ..Config::default()
            };
            validate::validate(&mut checkers, env, &mut diagnostics);
            config.virtual_servers = checkers.virtual_servers;
            config.virtual_server_groups = checkers.virtual_server_groups;
        }
        diagnostics.push(Diagnostic::at(
            Severity::Fatal,
            &stop.key.place,
            missing_value::message(&stop.key),
        ));
        return Loaded {
            config,
            diagnostics,
            script_security_violation: false,
            include_check_failed,
            missing_parameter: true,
        };
    }
    let verdict = validate::validate(&mut config, env, &mut diagnostics);
    Loaded {
        config,
        diagnostics,
        script_security_violation: verdict.script_security_violation,
        include_check_failed,
        missing_parameter: false,
    }
}

/// Whether keepalived's first pass reads the top-level keyword `keyword`: global_defs, the
/// global keywords allowed at the top level, and unknown keywords (which it reports).
fn first_pass(keyword: &str) -> bool {
    match TOP.iter().find(|k| k.name == keyword) {
        Some(_) => global::TOP_LEVEL.iter().any(|(g, ..)| *g == keyword),
        None => true,
    }
}

/// One top-level statement, through [`TOP`].
fn top_statement(config: &mut Config, node: &Node, ctx: &mut Ctx) {
    match TOP.iter().find(|k| k.name == node.keyword()) {
        Some(row) => {
            (row.handler)(config, node, ctx);
            ctx.not_acted_on(node, row.status);
        }
        // An unknown block's statements follow it at the top level ([`reshape`]).
        None => ctx.unknown(node),
    }
}

/// Parses `text` alone: no includes beyond the file system, no machine checks.
pub fn parse_str(text: &str, options: &LoadOptions) -> Loaded {
    load_text("<string>", text, options, &FsSource, &AssumeAllExist)
}

fn block_or_warn(ctx: &mut Ctx, node: &Node) -> bool {
    if node.block.is_none() {
        ctx.report(
            Severity::Error,
            node.place(),
            format!("{}: expected a '{{' block", node.keyword()),
        );
        return false;
    }
    true
}

/// The top-level keyword table (keepalived.conf(5) "TOP HIERACHY").
pub const TOP: &[Keyword<Config>] = &[
    kw("global_defs", |c, n, x| {
        if block_or_warn(x, n) {
            global::global_defs(&mut c.global, n, x);
        }
    }),
    kw("static_ipaddress", |c, n, x| {
        c.static_ipaddress.extend(net::addresses(x, n))
    }),
    kw("static_routes", |c, n, x| {
        c.static_routes.extend(net::routes(x, n))
    }),
    kw("static_rules", |c, n, x| {
        c.static_rules.extend(net::rules(x, n))
    }),
    ignored(
        global::LINKBEAT,
        kw("linkbeat_interfaces", |c, n, x| {
            c.linkbeat_interfaces
                .extend(x.list(n).into_iter().map(|w| w.text));
        }),
    ),
    kw("track_group", |c, n, x| {
        c.track_groups.push(vrrp::track_group(x, n))
    }),
    kw("vrrp_script", |c, n, x| {
        c.vrrp_scripts.push(vrrp::vrrp_script(x, n))
    }),
    kw("track_file", |c, n, x| {
        c.track_files.push(vrrp::track_file(x, n))
    }),
    kw("vrrp_track_file", |c, n, x| {
        c.track_files.push(vrrp::track_file(x, n))
    }),
    kw("vrrp_track_process", |c, n, x| {
        c.track_processes.push(vrrp::track_process(x, n))
    }),
    kw("vrrp_sync_group", |c, n, x| {
        if let Some(why) = vrrp::skipped_block(n, c.sync_groups.iter().map(|g| g.name.as_str())) {
            x.report(Severity::Error, n.place(), why);
            return;
        }
        let mut group = vrrp::sync_group(x, n);
        vrrp::drop_trackers_defined_later(&mut group.tracking, &group.name, c, x);
        c.sync_groups.push(group);
    }),
    kw("garp_group", |c, n, x| {
        c.garp_groups.push(vrrp::garp_group(x, n))
    }),
    kw("vrrp_instance", |c, n, x| {
        let names = c.vrrp_instances.iter().map(|i| i.name.as_str());
        if let Some(why) = vrrp::skipped_block(n, names) {
            x.report(Severity::Error, n.place(), why);
            return;
        }
        let mut inst = vrrp::vrrp_instance(x, n);
        vrrp::drop_trackers_defined_later(&mut inst.tracking, &inst.name, c, x);
        c.vrrp_instances.push(inst);
    }),
    kw("bfd_instance", |c, n, x| {
        if let Some(b) = bfd::bfd_instance(x, n, &c.bfd_instances) {
            x.bfd_names.add(&b);
            c.bfd_instances.push(b);
        }
    }),
    kw("SSL", |c, n, x| c.ssl = Some(lvs::ssl(x, n))),
    kw("virtual_server_group", |c, n, x| {
        c.virtual_server_groups
            .extend(lvs::virtual_server_group(x, n));
    }),
    kw("virtual_server", |c, n, x| {
        c.virtual_servers.extend(lvs::virtual_server(x, n))
    }),
    top_global_kw("net_namespace"),
    top_global_kw("net_namespace_ipvs"),
    top_global_kw("namespace_with_ipsets"),
    top_global_kw("instance"),
    top_global_kw("use_pid_dir"),
    top_global_kw("linkbeat_use_polling"),
    top_global_kw("child_wait_time"),
    ignored(
        "kad acts on an interface's link change at once",
        kw("interface_up_down_delays", |c, n, x| {
            c.interface_up_down_delays
                .extend(x.list(n).into_iter().map(|w| w.text));
        }),
    ),
];

/// A global keyword keepalived reads only at the top level ([`global::TOP_LEVEL`]), with
/// its status there.
const fn top_global_kw(name: &'static str) -> Keyword<Config> {
    let mut row = kw(name, top_global);
    let mut i = 0;
    while i < global::TOP_LEVEL.len() {
        let (top, _, status) = global::TOP_LEVEL[i];
        if const_eq(top, name) {
            row.status = status;
        }
        i += 1;
    }
    row
}

/// `a == b` in a const fn.
const fn const_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// keepalived reads a few global keywords outside global_defs; their values are checked
/// as in global_defs.
fn top_global(c: &mut Config, n: &Node, x: &mut Ctx) {
    let spec = global::TOP_LEVEL
        .iter()
        .find(|(k, ..)| *k == n.keyword())
        .map(|(_, spec, _)| *spec);
    if let Some(spec) = spec
        && !global::check_spec(x, n, spec)
    {
        return;
    }
    // keepalived keeps the first `instance` and `net_namespace`.
    if matches!(n.keyword(), "instance" | "net_namespace")
        && c.global.other.contains_key(n.keyword())
    {
        let name = n.args.first().map_or("", |w| w.text.as_str());
        x.report(
            Severity::Error,
            n.place(),
            format!("Duplicate {} definition {name} - ignoring", n.keyword()),
        );
        return;
    }
    c.global
        .places
        .insert(n.keyword().to_owned(), n.place().clone());
    c.global.other.insert(
        n.keyword().to_owned(),
        n.args.iter().map(|w| w.text.clone()).collect(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Loaded {
        load_text(
            "t.conf",
            text,
            &LoadOptions::with_config_id("t"),
            &NoFiles,
            &AssumeAllExist,
        )
    }

    const GOOD: &str = "vrrp_instance A {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n";

    fn messages(loaded: &Loaded) -> Vec<String> {
        loaded.diagnostics.iter().map(ToString::to_string).collect()
    }

    /// keepalived `vrrp_min_garp`: the GARP settings still at their defaults take their
    /// minimum, the lower-priority ones follow; a setting read before it keeps its value.
    #[test]
    fn vrrp_min_garp_sets_the_default_garp_settings_to_their_minimum() {
        let garp = |globals: &str| {
            let loaded = load(&format!("global_defs {{\n{globals}}}\n{GOOD}"));
            let i = &loaded.config.vrrp_instances[0];
            (
                i.garp_master_repeat,
                i.garp_master_delay.as_secs(),
                i.garp_master_refresh_repeat,
                i.garp_lower_prio_repeat,
                i.garp_lower_prio_delay.as_secs(),
            )
        };
        assert_eq!(garp(""), (5, 5, 1, 5, 5));
        assert_eq!(garp(" vrrp_min_garp\n"), (1, 0, 0, 1, 0));
        assert_eq!(garp(" vrrp_min_garp false\n"), (5, 5, 1, 5, 5));
        assert_eq!(
            garp(" vrrp_garp_master_repeat 3\n vrrp_min_garp\n"),
            (3, 0, 0, 3, 0)
        );
        assert_eq!(
            garp(" vrrp_min_garp\n vrrp_garp_master_delay 2\n"),
            (1, 2, 0, 1, 2)
        );
    }

    /// keepalived `old_unicast_checksum [never]`: the bare keyword selects the old checksum,
    /// `never` turns detection off, any other word is refused as keepalived refuses it.
    #[test]
    fn old_unicast_checksum_takes_never_and_refuses_other_words() {
        let value = |line: &str| {
            let loaded = load(&format!(
                "vrrp_instance A {{\n interface eth0\n virtual_router_id 5\n\
                 unicast_peer {{\n 10.0.0.9\n }}\n {line}\n\
                 virtual_ipaddress {{\n 10.0.0.1\n }}\n}}\n"
            ));
            (
                loaded.config.vrrp_instances[0].old_unicast_checksum,
                messages(&loaded),
            )
        };
        assert_eq!(value(""), (None, vec![]));
        assert_eq!(value("old_unicast_checksum"), (Some(false), vec![]));
        assert_eq!(value("old_unicast_checksum never"), (Some(true), vec![]));
        let (bogus, messages) = value("old_unicast_checksum bogus");
        assert_eq!(bogus, None);
        assert!(
            messages
                .iter()
                .any(|m| m.contains("(A) Unknown old_unicast_chksum mode bogus - ignoring")),
            "{messages:?}"
        );
    }

    /// keepalived `native_ipv6`: the instance is IPv6 (VRRPv3), so IPv4 VIPs after it are
    /// refused; after IPv4 VIPs the keyword is refused.
    #[test]
    fn native_ipv6_makes_the_instance_ipv6_as_keepalived_does() {
        let text = "vrrp_instance A {\n interface eth0\n virtual_router_id 5\n native_ipv6\n\
             virtual_ipaddress {\n 10.0.0.1\n fd00::1\n }\n}\n\
             vrrp_instance B {\n interface eth0\n virtual_router_id 6\n\
             virtual_ipaddress {\n 10.0.0.2\n }\n native_ipv6\n}\n";
        let loaded = load(text);
        let a = &loaded.config.vrrp_instances[0];
        assert_eq!(a.is_ipv6(), Some(true));
        assert_eq!(a.version, 3);
        let vips: Vec<String> = a
            .virtual_ipaddress
            .iter()
            .map(|v| v.addr.to_string())
            .collect();
        assert_eq!(vips, ["fd00::1"]);
        assert_eq!(loaded.config.vrrp_instances[1].is_ipv6(), Some(false));
        let messages = messages(&loaded);
        for expected in [
            "(A): address family must match VRRP instance [10.0.0.1] - ignoring",
            "(B) Cannot specify native_ipv6 with IPv4 addresses",
        ] {
            assert!(
                messages.iter().any(|m| m.contains(expected)),
                "{expected}: {messages:?}"
            );
        }
    }

    #[test]
    fn a_tracker_defined_below_its_reference_is_not_tracked() {
        let text = "vrrp_script early {\n script /bin/true\n}\n\
             vrrp_instance A {\n interface eth0\n virtual_router_id 5\n\
             track_script {\n early\n late\n }\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n\
             vrrp_script late {\n script /bin/true\n}\n";
        let loaded = load(text);
        let tracked: Vec<&str> = loaded
            .config
            .vrrp_instances
            .iter()
            .flat_map(|i| i.tracking.scripts.iter().map(|t| t.name.as_str()))
            .collect();
        assert_eq!(tracked, ["early"]);
        assert!(
            messages(&loaded).contains(
                &"t.conf:9:2: warning: (A) track script late not found, ignoring...".into()
            ),
            "{:#?}",
            messages(&loaded)
        );
    }

    #[test]
    fn a_sync_group_passes_notify_priority_changes_to_members_that_do_not_set_it() {
        let instance = |name: &str, vrid: u8, own: &str| {
            format!(
                "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n{own}\
                 virtual_ipaddress {{\n 10.0.0.{vrid}\n }}\n}}\n"
            )
        };
        let text = format!(
            "global_defs {{\n vrrp_notify_priority_changes false\n}}\n{}{}{}\
             vrrp_sync_group G {{\n group {{\n A\n B\n }}\n notify_priority_changes\n\
             notify_deleted /bin/true\n}}\n",
            instance("A", 1, ""),
            instance("B", 2, " notify_priority_changes false\n"),
            instance("C", 3, ""),
        );
        let loaded = load(&text);
        let flags: Vec<(&str, Option<bool>)> = loaded
            .config
            .vrrp_instances
            .iter()
            .map(|i| (i.name.as_str(), i.notify_priority_changes))
            .collect();
        // Own setting, then the group's, then the global one (keepalived 2.2.7).
        assert_eq!(
            flags,
            [("A", Some(true)), ("B", Some(false)), ("C", Some(false))]
        );
        // keepalived 2.2.7 knows no notify_deleted in a sync group.
        assert!(
            messages(&loaded)
                .iter()
                .any(|m| m.ends_with("warning: Unknown keyword 'notify_deleted'")),
            "{:#?}",
            messages(&loaded)
        );
    }

    #[test]
    fn a_second_notify_script_is_flagged_and_the_first_kept() {
        let text = GOOD.replace(
            " virtual_router_id 5\n",
            " virtual_router_id 5\n notify_master \"/bin/a x\"\n notify_master /bin/b\n",
        );
        let loaded = load(&text);
        let master = loaded
            .config
            .vrrp_instances
            .first()
            .and_then(|i| i.notify.master.as_ref())
            .map(|s| s.command.clone());
        assert_eq!(master.as_deref(), Some("/bin/a x"));
        assert!(
            messages(&loaded).contains(
                &"t.conf:5:2: error: (A) notify_master script already specified - ignoring /bin/b"
                    .into()
            )
        );
    }

    #[test]
    fn a_refused_instance_block_is_skipped_whole() {
        let text = format!("{GOOD}{}", GOOD.replace(" interface eth0\n", " bogus\n"));
        let loaded = load(&text);
        assert_eq!(
            messages(&loaded),
            ["t.conf:8:1: error: vrrp instance A already defined"]
        );
        assert_eq!(loaded.config.vrrp_instances.len(), 1);
        let loaded = load("vrrp_instance {\n bogus\n}\n");
        assert_eq!(
            messages(&loaded),
            ["t.conf:1:1: error: vrrp_instance must have a name"]
        );
    }

    #[test]
    fn keywords_no_keepalived_release_knows_are_unknown() {
        // Neither was ever a keepalived keyword: 2.2.7 warns and `keepalived -t` exits 5.
        // (keepalived keeps its VIPs at exit only with the command-line option -V.)
        let loaded = load(&format!(
            "global_defs {{\n vrrp_dont_release_vips\n smtp_alert_vrrp_instance\n}}\n{GOOD}"
        ));
        assert_eq!(
            messages(&loaded),
            [
                "t.conf:2:2: warning: Unknown keyword 'vrrp_dont_release_vips'",
                "t.conf:3:2: warning: Unknown keyword 'smtp_alert_vrrp_instance'",
            ]
        );
    }

    #[test]
    fn skip_check_adv_addr_gets_no_note_as_kad_never_checks_advert_addresses() {
        let text = format!(
            "global_defs {{\n vrrp_skip_check_adv_addr\n}}\n{}",
            GOOD.replace(
                " interface eth0\n",
                " interface eth0\n skip_check_adv_addr off\n"
            )
        );
        let loaded = load(&text);
        assert_eq!(messages(&loaded), Vec::<String>::new());
        assert!(loaded.config.global.vrrp_skip_check_adv_addr);
        assert!(!loaded.config.vrrp_instances[0].skip_check_adv_addr);
    }

    #[test]
    fn vrrp_validation_stops_at_the_first_instance_without_a_vrid() {
        let text = "vrrp_instance A {\n interface eth0\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n\
                    vrrp_instance B {\n interface eth0\n virtual_router_id 6\n advert_int 0.5\n\
                    virtual_ipaddress {\n  10.0.0.2\n }\n}\n\
                    vrrp_instance C {\n interface eth0\n virtual_router_id 6\n\
                    virtual_ipaddress {\n  10.0.0.3\n }\n}\n\
                    vrrp_sync_group G {\n group {\n  B\n }\n}\n";
        let loaded = load(text);
        assert_eq!(
            messages(&loaded),
            ["error: vrrp_instance A (defined at t.conf:1): the virtual router id must be set"]
        );
        assert_eq!(loaded.exit_status(), exit::ERRORS);
        assert!(loaded.config.vrrp_instances.is_empty());
        assert!(loaded.config.sync_groups.is_empty());
    }

    /// Every interface and program exists; no host name resolves (a namespace without DNS).
    struct NoDns;

    impl Environment for NoDns {
        fn interface_exists(&self, _: &str) -> bool {
            true
        }
        fn program_exists(&self, _: &str) -> bool {
            true
        }
        fn host_resolves(&self, _: &str, _: u16) -> bool {
            false
        }
    }

    #[test]
    fn an_smtp_server_name_that_does_not_resolve_is_invalid_and_dropped() {
        let text = "global_defs {\n smtp_server mail.example.com\n}\n";
        let loaded = load_text(
            "t.conf",
            text,
            &LoadOptions::with_config_id("t"),
            &NoFiles,
            &NoDns,
        );
        assert_eq!(
            messages(&loaded),
            ["t.conf:2:14: error: Invalid smtp server mail.example.com 25"]
        );
        assert_eq!(loaded.exit_status(), exit::ERRORS);
        assert_eq!(loaded.config.global.smtp_server, None);
        let text = "global_defs {\n smtp_server 192.0.2.25 2525\n}\n";
        let loaded = load_text(
            "t.conf",
            text,
            &LoadOptions::with_config_id("t"),
            &NoFiles,
            &NoDns,
        );
        assert_eq!(messages(&loaded), Vec::<String>::new());
        assert_eq!(
            loaded.config.global.smtp_server,
            Some(("192.0.2.25".to_owned(), 2525))
        );
    }

    #[test]
    fn an_unknown_top_level_block_is_read_line_by_line_at_the_top() {
        let loaded = load(&format!(
            "vrrp_scritp s {{\n script /x\n}}\nbad {{\n{GOOD}}}\n"
        ));
        assert_eq!(
            messages(&loaded),
            [
                "t.conf:1:1: warning: Unknown keyword 'vrrp_scritp'",
                "t.conf:1:15: warning: Unexpected '{' - ignoring",
                "t.conf:2:2: warning: Unknown keyword 'script'",
                "t.conf:3:1: warning: Unknown keyword '}'",
                "t.conf:4:1: warning: Unknown keyword 'bad'",
                "t.conf:4:5: warning: Unexpected '{' - ignoring",
                "t.conf:12:1: warning: Unknown keyword '}'",
            ]
        );
        assert_eq!(
            loaded.config.vrrp_instances.len(),
            1,
            "read as a top-level block"
        );
    }

    #[test]
    fn exit_status_follows_keepalived_precedence() {
        assert_eq!(load(GOOD).exit_status(), exit::OK);
        // Notes (keywords kad does not act on yet) do not fail a config test.
        assert_eq!(
            load("global_defs {\n lvs_flush\n}\n").exit_status(),
            exit::OK
        );
        assert_eq!(
            load(&format!("bogus 1\n{GOOD}")).exit_status(),
            exit::ERRORS
        );
        // A script program that exists (AssumeAllExist) without script security: 6, even
        // with other errors.
        let scripts = format!("bogus 1\nvrrp_script s {{\n script /bin/true\n}}\n{GOOD}");
        assert_eq!(load(&scripts).exit_status(), exit::SCRIPT_SECURITY);
        let secure = format!(
            "global_defs {{\n enable_script_security\n script_user nobody\n}}\nvrrp_script s {{\n script /bin/true\n}}\n{GOOD}"
        );
        assert_eq!(load(&secure).exit_status(), exit::OK);
        assert_eq!(
            load("includea /none/*.conf\n").exit_status(),
            exit::SCRIPT_SECURITY
        );
        assert_eq!(load("include /none/*.conf\n").exit_status(), exit::OK);
    }

    /// No interface exists.
    struct NoInterfaces;

    impl Environment for NoInterfaces {
        fn interface_exists(&self, _: &str) -> bool {
            false
        }
        fn program_exists(&self, _: &str) -> bool {
            true
        }
        fn check_script(
            &self,
            _: &str,
            _: crate::scripts::RunAs,
            _: bool,
        ) -> Result<Option<crate::scripts::Checked>, crate::scripts::Refusal> {
            Ok(None)
        }
    }

    /// keepalived `dynamic_interfaces`: a missing interface is not reported (`keepalived
    /// -t` exits 0 without a line); without it, a warning and exit 5.
    #[test]
    fn dynamic_interfaces_does_not_report_missing_interfaces() {
        let text = |globals: &str| {
            format!(
                "global_defs {{\n{globals}}}\nvrrp_instance A {{\n interface ex0\n\
                 virtual_router_id 5\n virtual_ipaddress {{\n 10.0.0.1 dev ex1\n }}\n}}\n"
            )
        };
        let loaded = |globals: &str| {
            load_text(
                "t.conf",
                &text(globals),
                &LoadOptions::with_config_id("t"),
                &NoFiles,
                &NoInterfaces,
            )
        };
        let dynamic = loaded(" dynamic_interfaces\n");
        assert!(dynamic.diagnostics.is_empty(), "{:?}", messages(&dynamic));
        assert_eq!(dynamic.exit_status(), exit::OK);
        let fixed = loaded(" router_id x\n");
        assert_eq!(fixed.exit_status(), exit::ERRORS);
    }

    /// Every interface exists; `/bad.sh` is unsafe, `/gone.sh` missing, the rest fine.
    struct Scripts;

    impl Environment for Scripts {
        fn interface_exists(&self, _: &str) -> bool {
            true
        }
        fn program_exists(&self, _: &str) -> bool {
            true
        }
        fn check_script(
            &self,
            program: &str,
            _: crate::scripts::RunAs,
            _: bool,
        ) -> Result<Option<crate::scripts::Checked>, crate::scripts::Refusal> {
            use crate::scripts::{Checked, Refusal, Unsafe, UnsafeReason};
            match program {
                "/bad.sh" => Err(Refusal::Unsafe(Unsafe {
                    path: "/bad.sh".into(),
                    reason: UnsafeReason::WorldWritable,
                })),
                "/gone.sh" => Err(Refusal::NotFound {
                    program: program.into(),
                    error: "missing".into(),
                }),
                _ => Ok(Some(Checked {
                    program: program.into(),
                    searched: false,
                    insecure: None,
                })),
            }
        }
    }

    #[test]
    fn refused_scripts_are_dropped_with_their_references() {
        let text = "global_defs {\n enable_script_security\n script_user nobody\n}\n\
             vrrp_script bad {\n script /bad.sh\n user root\n}\n\
             vrrp_script good {\n script /good.sh\n}\n\
             vrrp_instance A {\n interface eth0\n virtual_router_id 5\n\
             notify_master /gone.sh\n notify_backup /good.sh\n\
             track_script {\n bad\n good weight 10\n }\n\
             virtual_ipaddress {\n 10.0.0.1\n }\n}\n";
        let loaded = load_text(
            "t.conf",
            text,
            &LoadOptions::with_config_id("t"),
            &NoFiles,
            &Scripts,
        );
        let names: Vec<&str> = loaded
            .config
            .vrrp_scripts
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["good"]);
        let inst = loaded.config.vrrp_instances.first();
        let tracked: Vec<&str> = inst
            .map(|i| i.tracking.scripts.iter().map(|t| t.name.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            tracked,
            ["good"],
            "the refused script is untracked, silently"
        );
        assert!(inst.is_some_and(|i| i.notify.master.is_none() && i.notify.backup.is_some()));
        let text: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|d| d.starts_with(
                "error: vrrp_script bad (defined at t.conf:5): \
                     Disabling track script bad due to insecure"
            ) && d.contains("'/bad.sh' is writable by everyone")),
            "{text:#?}"
        );
        assert!(
            !text.iter().any(|d| d.contains("not found, ignoring")),
            "{text:#?}"
        );
        assert_eq!(loaded.exit_status(), exit::ERRORS);
    }

    #[test]
    fn runaway_expansion_cannot_run() {
        let mut options = LoadOptions::with_config_id("t");
        options.max_lines = 100;
        let loaded = load_text(
            "t.conf",
            "~SEQ(A, 1, 1000) x ${A}\n",
            &options,
            &NoFiles,
            &AssumeAllExist,
        );
        assert_eq!(loaded.exit_status(), exit::CANNOT_RUN);
        assert_eq!(
            loaded
                .diagnostics
                .first()
                .map(ToString::to_string)
                .as_deref(),
            Some("t.conf:1:1: fatal: configuration expands to more than 100 lines - stopped")
        );
    }
}
