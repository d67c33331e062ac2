//! An unknown keyword's block, read as keepalived 2.2.7 reads it.
//!
//! keepalived reads its configuration as a stream of lines, one keyword table per open
//! block. The `{` of a keyword that is not in the table of the block it is written in is
//! "Unexpected '{' - ignoring"; the lines after it are read as keywords of the enclosing
//! block (a known one is used), its `}` closes the enclosing block, and what followed in the
//! enclosing block is read one level up. At the top level a `}` is "Unknown keyword '}'".
//! [`reshape`] rebuilds the tree [`crate::tree::build`] made (which nests every block) the
//! way keepalived's reading nests it, before the keyword tables read it; the place of each
//! such `{` is kept in [`Node::stray_open`] so that the tables' "Unknown keyword" report
//! adds keepalived's "Unexpected '{'".

use super::{
    TOP, bfd, global,
    keywords::Keyword,
    lvs,
    place::{Place, Word},
    tree::Node,
    vrrp,
};

/// A block whose keywords keepalived reads through a table of its own (keepalived's
/// `install_sublevel`); every other block (address and tracking lists, `group`, ...) is
/// read whole and kept as the tree has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Top,
    Global,
    Instance,
    Authentication,
    SyncGroup,
    Script,
    TrackFile,
    TrackProcess,
    TrackGroup,
    GarpGroup,
    VirtualServer,
    RealServer,
    Checker(&'static str),
    Url,
    Ssl,
    Bfd,
}

fn in_table<T>(table: &[Keyword<T>], keyword: &str) -> bool {
    table.iter().any(|k| k.name == keyword)
}

fn in_list(list: &[(&str, super::keywords::Status)], keyword: &str) -> bool {
    list.iter().any(|(k, _)| *k == keyword)
}

impl Kind {
    /// Whether `keyword` is in this block's table.
    fn knows(self, keyword: &str) -> bool {
        match self {
            Kind::Top => in_table(TOP, keyword),
            Kind::Global => {
                in_table(global::GLOBAL, keyword)
                    || global::GENERIC.iter().any(|(k, ..)| *k == keyword)
            }
            Kind::Instance => in_table(vrrp::INSTANCE, keyword),
            Kind::Authentication => in_list(vrrp::AUTHENTICATION, keyword),
            Kind::SyncGroup => in_table(vrrp::SYNC_GROUP, keyword),
            Kind::Script => in_table(vrrp::SCRIPT, keyword),
            Kind::TrackFile => in_table(vrrp::TRACK_FILE, keyword),
            Kind::TrackProcess => in_table(vrrp::TRACK_PROCESS, keyword),
            Kind::TrackGroup => in_table(vrrp::TRACK_GROUP, keyword),
            Kind::GarpGroup => in_table(vrrp::GARP_GROUP, keyword),
            Kind::VirtualServer => in_table(lvs::VIRTUAL_SERVER, keyword),
            Kind::RealServer => in_table(lvs::REAL_SERVER, keyword),
            Kind::Checker(kind) => {
                (in_list(lvs::CHECKER_COMMON, keyword) && lvs::takes_common(kind, keyword))
                    || in_list(lvs::checker_specific(kind), keyword)
            }
            Kind::Url => in_list(lvs::URL, keyword),
            Kind::Ssl => in_table(lvs::SSL, keyword),
            Kind::Bfd => in_table(bfd::BFD_INSTANCE, keyword),
        }
    }

    /// The block a known `keyword` of this block opens, when keepalived reads it through a
    /// table of its own.
    fn sub(self, keyword: &str) -> Option<Kind> {
        match (self, keyword) {
            (Kind::Top, "global_defs") => Some(Kind::Global),
            (Kind::Top, "vrrp_instance") => Some(Kind::Instance),
            (Kind::Top, "vrrp_sync_group") => Some(Kind::SyncGroup),
            (Kind::Top, "vrrp_script") => Some(Kind::Script),
            (Kind::Top, "track_file" | "vrrp_track_file") => Some(Kind::TrackFile),
            (Kind::Top, "vrrp_track_process") => Some(Kind::TrackProcess),
            (Kind::Top, "track_group") => Some(Kind::TrackGroup),
            (Kind::Top, "garp_group") => Some(Kind::GarpGroup),
            (Kind::Top, "virtual_server") => Some(Kind::VirtualServer),
            (Kind::Top, "SSL") => Some(Kind::Ssl),
            (Kind::Top, "bfd_instance") => Some(Kind::Bfd),
            (Kind::Instance, "authentication") => Some(Kind::Authentication),
            (Kind::VirtualServer, "real_server") => Some(Kind::RealServer),
            (Kind::RealServer, _) => lvs::CHECKERS
                .iter()
                .find(|k| **k == keyword)
                .map(|k| Kind::Checker(k)),
            (Kind::Checker("HTTP_GET" | "SSL_GET"), "url") => Some(Kind::Url),
            _ => None,
        }
    }
}

/// The tree as a stream: a block's header, its statements, its `}`.
enum Event {
    /// A statement without a block.
    Leaf(Node),
    /// A keyword opening a block (the node without its children) and the `{`'s place.
    Open(Node, Place),
    /// A `}` (none when the block is never closed).
    Close(Place),
}

fn flatten(nodes: Vec<Node>, out: &mut Vec<Event>) {
    for mut node in nodes {
        match node.block.take() {
            None => out.push(Event::Leaf(node)),
            Some(children) => {
                let open = node.open.clone().unwrap_or_else(|| node.key.place.clone());
                let end = node.end.take();
                out.push(Event::Open(node, open));
                flatten(children, out);
                if let Some(end) = end {
                    out.push(Event::Close(end));
                }
            }
        }
    }
}

/// Rebuilds `nodes` (the top-level statements) as keepalived nests them.
pub fn reshape(nodes: Vec<Node>) -> Vec<Node> {
    let mut events = Vec::new();
    flatten(nodes, &mut events);
    let mut events = events.into_iter();
    level(&mut events, Kind::Top, &mut Named::default()).0
}

/// The vrrp_instance and vrrp_sync_group names read so far: keepalived skips a block whose
/// name is taken (or missing) whole, counting braces ([`vrrp::skipped_block`]).
#[derive(Default)]
struct Named {
    instances: Vec<String>,
    groups: Vec<String>,
}

impl Named {
    /// Whether keepalived skips top-level block `node` whole; else its name is recorded.
    fn skips(&mut self, node: &Node) -> bool {
        let names = match node.keyword() {
            "vrrp_instance" => &mut self.instances,
            "vrrp_sync_group" => &mut self.groups,
            _ => return false,
        };
        if vrrp::skipped_block(node, names.iter().map(String::as_str)).is_some() {
            return true;
        }
        if let Some(name) = node.arg(0) {
            names.push(name.text.clone());
        }
        false
    }
}

/// Reads the statements of one block of kind `kind` up to its `}` (returned), or to the end.
fn level(
    events: &mut std::vec::IntoIter<Event>,
    kind: Kind,
    named: &mut Named,
) -> (Vec<Node>, Option<Place>) {
    let mut nodes = Vec::new();
    while let Some(event) = events.next() {
        match event {
            Event::Leaf(node) => nodes.push(node),
            Event::Close(end) if kind != Kind::Top => return (nodes, Some(end)),
            Event::Close(end) => nodes.push(Node {
                key: Word {
                    text: "}".to_owned(),
                    place: end,
                    quoted: false,
                },
                args: Vec::new(),
                block: None,
                end: None,
                open: None,
                stray_open: None,
            }),
            Event::Open(mut node, open) => {
                if !kind.knows(node.keyword()) {
                    // keepalived: "Unknown keyword", then "Unexpected '{'"; what follows
                    // is read in this block.
                    node.stray_open = Some(open);
                    nodes.push(node);
                    continue;
                }
                let skipped = kind == Kind::Top && named.skips(&node);
                let (children, end) = match kind.sub(node.keyword()) {
                    Some(sub) if !skipped => level(events, sub, named),
                    _ if kind == Kind::Top && node.keyword() == "virtual_server_group" => {
                        value_block(events)
                    }
                    _ => whole(events),
                };
                node.block = Some(children);
                node.end = end;
                node.open = Some(open);
                nodes.push(node);
            }
        }
    }
    (nodes, None)
}

/// keepalived.conf `virtual_server_group`: keepalived 2.2.7 reads its lines as entries up
/// to the first `}` (`alloc_value_block`), without counting braces: a line opening a block
/// is one more entry (its `{` a word of it), and the first `}` ends the group, so the `}`s
/// after it are read one level up.
fn value_block(events: &mut std::vec::IntoIter<Event>) -> (Vec<Node>, Option<Place>) {
    let mut nodes = Vec::new();
    for event in events.by_ref() {
        match event {
            Event::Leaf(node) | Event::Open(node, _) => nodes.push(node),
            Event::Close(end) => return (nodes, Some(end)),
        }
    }
    (nodes, None)
}

/// A block keepalived reads whole (a list): rebuilt as it was written.
fn whole(events: &mut std::vec::IntoIter<Event>) -> (Vec<Node>, Option<Place>) {
    let mut nodes = Vec::new();
    while let Some(event) = events.next() {
        match event {
            Event::Leaf(node) => nodes.push(node),
            Event::Close(end) => return (nodes, Some(end)),
            Event::Open(mut node, open) => {
                let (children, end) = whole(events);
                node.block = Some(children);
                node.end = end;
                node.open = Some(open);
                nodes.push(node);
            }
        }
    }
    (nodes, None)
}

#[cfg(test)]
mod tests {
    use crate::{AssumeAllExist, LoadOptions, NoFiles, load_text};

    fn messages(text: &str) -> Vec<String> {
        let loaded = load_text(
            "t.conf",
            text,
            &LoadOptions::with_config_id("t"),
            &NoFiles,
            &AssumeAllExist,
        );
        loaded
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .filter(|m| m.starts_with("t.conf:"))
            .collect()
    }

    #[test]
    fn a_block_keepalived_skips_is_skipped_whole() {
        let text = "vrrp_instance A {\n interface eth0\n virtual_router_id 5\n \
                    virtual_ipaddress {\n  10.0.0.1\n }\n}\n\
                    vrrp_instance A {\n foo {\n  bar\n }\n priority 100\n}\n";
        assert_eq!(
            messages(text),
            ["t.conf:8:1: error: vrrp instance A already defined"]
        );
    }

    #[test]
    fn a_virtual_server_group_ends_at_its_first_closing_brace() {
        let text = "virtual_server_group G {\n 10.0.0.9 80\n real_server 10.0.1.2 80 {\n  \
                    weight 1\n }\n}\n";
        let got = messages(text);
        let lines: Vec<&str> = got.iter().filter_map(|m| m.split(": ").next()).collect();
        assert_eq!(
            lines,
            ["t.conf:3:2", "t.conf:4:3", "t.conf:6:1"],
            "{got:#?}"
        );
        assert!(got[2].ends_with("Unknown keyword '}'"), "{got:#?}");
    }

    #[test]
    fn an_unknown_block_in_an_instance_ends_the_instance_at_its_brace() {
        let text = "vrrp_instance A {\n interface eth0\n foo {\n  virtual_router_id 5\n }\n \
                    priority 100\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n";
        let got = messages(text);
        assert_eq!(
            got,
            [
                "t.conf:3:2: warning: Unknown keyword 'foo'",
                "t.conf:3:6: warning: Unexpected '{' - ignoring",
                "t.conf:6:2: warning: Unknown keyword 'priority'",
                "t.conf:7:2: warning: Unknown keyword 'virtual_ipaddress'",
                "t.conf:7:20: warning: Unexpected '{' - ignoring",
                "t.conf:8:3: warning: Unknown keyword '10.0.0.1'",
                "t.conf:9:2: warning: Unknown keyword '}'",
                "t.conf:10:1: warning: Unknown keyword '}'",
            ],
            "{got:#?}"
        );
    }
}
