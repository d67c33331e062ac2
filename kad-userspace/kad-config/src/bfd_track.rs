//! What refers to a bfd_instance: `track_bfd { NAME [weight N [reverse|noreverse]] }` in
//! vrrp_instance and vrrp_sync_group, and `BFD_CHECK { name NAME; alpha }` on a
//! real_server, read as keepalived 2.2.7 reads them: each name is looked up when it is
//! read, among the bfd_instances above it that send their events to that side (`vrrp` /
//! `checker`), with keepalived's messages at keepalived's lines.

use super::{
    bfd::integer,
    error::Severity,
    keywords::{Ctx, Status, parse_bool},
    model::{BfdInstance, Checker, RealServer, TrackRef},
    tree::Node,
};

/// The status of BFD_CHECK's `name`: the checker follows the session's state.
pub const BFD_STATUS: Status = Status::Supported;

/// The bfd_instances read so far as keepalived's VRRP and checker processes know them:
/// by name only (a name the BFD process drops for a bad address is still found).
#[derive(Clone, Debug, Default)]
pub struct BfdNames {
    /// Names `track_bfd` finds, with the instance's `weight` and `reverse` (the defaults
    /// of a `track_bfd` entry).
    pub vrrp: Vec<(String, i32, bool)>,
    /// Names `BFD_CHECK` finds.
    pub checker: Vec<String>,
}

impl BfdNames {
    /// Records a bfd_instance just read.
    pub fn add(&mut self, b: &BfdInstance) {
        if b.vrrp {
            self.vrrp.push((b.name.clone(), b.weight, b.weight_reverse));
        }
        if b.checker {
            self.checker.push(b.name.clone());
        }
    }
}

/// keepalived.conf: track_bfd { ... } of instance or sync group `owner`: the entries
/// keepalived keeps, each with its weight and reverse resolved (the bfd_instance's own
/// `weight N [reverse]` when the entry gives none), appended to `list`.
pub fn track_bfd(c: &mut Ctx, node: &Node, owner: &str, list: &mut Vec<TrackRef>) {
    if node.block.is_none() {
        c.report(
            Severity::Error,
            node.place(),
            format!("{}: expected a '{{' block", node.keyword()),
        );
    }
    for child in node.children() {
        if let Some(entry) = entry(c, child, owner, list) {
            list.push(entry);
        }
    }
}

/// One `track_bfd` line, in keepalived's order of checks.
fn entry(c: &mut Ctx, child: &Node, owner: &str, list: &[TrackRef]) -> Option<TrackRef> {
    let name = child.key.as_str();
    let place = child.place();
    let Some(&(_, default_weight, default_reverse)) =
        c.bfd_names.vrrp.iter().find(|(n, _, _)| n == name)
    else {
        c.report(
            Severity::Warning,
            place,
            format!("({owner}) track bfd {name} not found, ignoring..."),
        );
        return None;
    };
    if list.iter().any(|t| t.name == name) {
        c.report(
            Severity::Error,
            place,
            format!("({owner}) duplicate track_bfd {name} - ignoring"),
        );
        return None;
    }
    let mut weight = default_weight;
    let mut reverse = default_reverse;
    if let Some(option) = child.arg(0) {
        if option.as_str() != "weight" {
            c.report(
                Severity::Error,
                place,
                format!(
                    "({owner}) unknown track bfd {name} option {} - ignoring",
                    option.as_str()
                ),
            );
            return None;
        }
        let Some(value) = child.arg(1) else {
            c.report(
                Severity::Error,
                place,
                format!("({owner}) weight without value specified for track bfd {name} - ignoring"),
            );
            return None;
        };
        match integer(value.as_str(), -253, 253) {
            Ok(v) => weight = i32::try_from(v).unwrap_or(default_weight),
            Err(why) => {
                c.report(Severity::Error, place, why);
                c.report(
                    Severity::Error,
                    place,
                    format!(
                        "({owner}) weight for track bfd {name} must be in [-253..253] \
                         inclusive. Ignoring..."
                    ),
                );
            }
        }
        if let Some(option) = child.arg(2) {
            match option.as_str() {
                "reverse" => reverse = true,
                "noreverse" => reverse = false,
                other => {
                    c.report(
                        Severity::Error,
                        place,
                        format!(
                            "({owner}) unknown track bfd {name} weight option {other} - ignoring"
                        ),
                    );
                    return None;
                }
            }
        }
    }
    Some(TrackRef {
        name: name.to_owned(),
        weight: Some(weight),
        reverse,
        place: place.clone(),
    })
}

/// The status of the kad extension `bfd_master` in vrrp_instance (docs/keywords.md).
pub const BFD_MASTER_STATUS: Status = Status::Extension(
    "a Backup takes over at once when this BFD session to its Master goes down \
     (keepalived warns \"Unknown keyword\" and ignores the line); see features.md",
);

/// kad extension `bfd_master NAME` in vrrp_instance `owner`: the bfd_instance whose session
/// runs to this instance's Master. Looked up as `track_bfd` looks names up (a bfd_instance
/// above the instance, sending its events to vrrp); a name not found is an error.
pub fn bfd_master(c: &mut Ctx, node: &Node, owner: &str) -> Option<String> {
    let word = c.need(node, 0, "a bfd_instance name")?;
    let name = word.as_str();
    if node.arg(1).is_some() {
        c.report(
            Severity::Error,
            node.place(),
            format!("({owner}) bfd_master takes one bfd_instance name - ignoring"),
        );
        return None;
    }
    if c.bfd_names.vrrp.iter().any(|(n, _, _)| n == name) {
        return Some(name.to_owned());
    }
    let why = if c.bfd_names.checker.iter().any(|n| n == name) {
        format!(
            "({owner}) bfd_master {name}: bfd_instance {name} sends its events to the \
             checker only (add `vrrp` to it) - ignoring"
        )
    } else {
        format!(
            "({owner}) bfd_master {name}: no bfd_instance {name} above this instance - ignoring"
        )
    };
    c.report(Severity::Error, &word.place, why);
    None
}

/// How keepalived names the real server in BFD_CHECK messages (`[ADDRESS]:PORT`; kad does
/// not know the virtual server's protocol here).
fn rs_label(rs: &RealServer) -> String {
    match rs.port {
        Some(port) => format!("[{}]:{port}", rs.addr),
        None => format!("[{}]", rs.addr),
    }
}

/// keepalived.conf: BFD_CHECK { name NAME; alpha [<BOOL>] } on real server `rs`: None
/// when keepalived drops the checker (no name, several names, a name no bfd_instance above
/// gives the checker side, a second name, or a bfd_instance this real server already
/// follows). Once dropped, the rest of the block changes nothing (keepalived then says
/// nothing of a bad `alpha`).
pub fn bfd_check(c: &mut Ctx, n: &Node, rs: &RealServer) -> Option<Checker> {
    let mut ck = Checker::new(n.keyword(), n.place(), n.end_place());
    let label = rs_label(rs);
    let mut dropped = false;
    for child in n.children() {
        match child.keyword() {
            "name" => {
                if dropped {
                    continue;
                }
                let problem = match child.args.as_slice() {
                    [word] => {
                        let name = word.as_str();
                        if !c.bfd_names.checker.iter().any(|b| b == name) {
                            Some(format!("({label}) BFD_CHECK - BFD {name} not configured"))
                        } else if let Some(first) = &ck.bfd {
                            Some(format!(
                                "({label}) BFD_CHECK - BFD {name} already specified as {first}"
                            ))
                        } else if following(rs, name) {
                            Some(format!(
                                "({label}) BFD_CHECK - RS already monitoring {name}"
                            ))
                        } else {
                            ck.bfd = Some(name.to_owned());
                            ck.places.insert("name".to_owned(), word.place.clone());
                            None
                        }
                    }
                    _ => Some(format!(
                        "({label}) BFD_CHECK - No or too many names specified - skipping checker"
                    )),
                };
                if let Some(message) = problem {
                    c.report(Severity::Error, child.place(), message);
                    dropped = true;
                }
                c.not_acted_on(child, BFD_STATUS);
            }
            "alpha" => {
                if dropped {
                    continue;
                }
                match child.arg(0) {
                    None => ck.alpha = Some(true),
                    Some(word) => match parse_bool(word.as_str()) {
                        Ok(v) => ck.alpha = Some(v),
                        Err(_) => c.report(
                            Severity::Error,
                            child.place(),
                            format!("Invalid alpha parameter {}", word.as_str()),
                        ),
                    },
                }
            }
            _ => c.unknown(child),
        }
    }
    if dropped {
        return None;
    }
    if ck.bfd.is_none() {
        c.report(
            Severity::Error,
            n.end_place(),
            format!("({label}) No name has been specified for BFD_CHECKER - skipping"),
        );
        return None;
    }
    Some(ck)
}

/// Whether a BFD_CHECK of `rs` read before already follows bfd_instance `name`.
fn following(rs: &RealServer, name: &str) -> bool {
    rs.checkers
        .iter()
        .any(|ck| ck.kind == "BFD_CHECK" && ck.bfd.as_deref() == Some(name))
}
