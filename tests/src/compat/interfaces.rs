//! The network interfaces a keepalived.conf names, so the harness can create them in the
//! namespace it checks the file in: `interface X`, `dev X` (addresses, routes), `iif X` /
//! `oif X` (rules), the entries of `track_interface { }`, `lvs_sync_daemon X` and
//! `lvs_sync_daemon_interface X`. A name given by a `$NAME=value` definition of the file is
//! substituted. A `use_vmac` / `use_ipvlan` name is created by the tools themselves and is left
//! out (an existing link of that name would not be their macvlan); a name the kernel would
//! refuse (longer than IFNAMSIZ − 1, or with `/`, `:`, whitespace, or an unresolved `$` in it)
//! is skipped.

use std::collections::{BTreeMap, BTreeSet};

/// Longest interface name the kernel takes (IFNAMSIZ 16, with its terminating NUL).
pub const IFNAME_MAX: usize = 15;

/// Keywords whose next word is an interface name.
const NAMES_NEXT: &[&str] = &[
    "interface",
    "dev",
    "iif",
    "oif",
    "lvs_sync_daemon",
    "lvs_sync_daemon_interface",
];

/// Keywords whose next word names an interface the tools create themselves.
const CREATED_BY_THE_TOOLS: &[&str] = &["use_vmac", "use_ipvlan"];

/// The interface names `text` (one configuration file) uses, sorted.
pub fn interface_names(text: &str) -> BTreeSet<String> {
    let mut definitions = BTreeMap::new();
    let mut names = BTreeSet::new();
    let mut created = BTreeSet::new();
    // Depth of the `track_interface` block being read (brace depth inside it), if any.
    let mut in_track: Option<usize> = None;
    let mut track_pending = false;
    for line in text.lines() {
        if let Some((name, value)) = definition(line) {
            definitions.insert(name, value);
            continue;
        }
        let mut words = words(line);
        // A conditional line (`@id ...`, `@^id ...`): its words are collected whatever the id.
        if words.first().is_some_and(|w| w.starts_with('@')) {
            words.remove(0);
        }
        let words: Vec<String> = words
            .into_iter()
            .map(|word| substitute(&word, &definitions))
            .collect();
        if let Some(depth) = in_track.as_mut() {
            if *depth == 1
                && let Some(first) = words.first()
                && !matches!(first.as_str(), "{" | "}")
            {
                add(&mut names, first);
            }
            for word in &words {
                match word.as_str() {
                    "{" => *depth += 1,
                    "}" => *depth -= 1,
                    _ => {}
                }
                if *depth == 0 {
                    break;
                }
            }
            if *depth == 0 {
                in_track = None;
            }
            continue;
        }
        let mut iter = words.iter().peekable();
        while let Some(word) = iter.next() {
            if track_pending {
                track_pending = false;
                if word == "{" {
                    in_track = Some(1);
                    // Entries written on the opening line: `track_interface { eth0 }`.
                    let rest: Vec<&String> = iter.by_ref().collect();
                    if let Some(first) = rest.first().filter(|w| !matches!(w.as_str(), "{" | "}")) {
                        add(&mut names, first);
                    }
                    if rest.iter().any(|w| *w == "}") {
                        in_track = None;
                    }
                    break;
                }
            }
            if word == "track_interface" {
                match iter.peek() {
                    Some(next) if next.as_str() != "{" => {
                        add(&mut names, next);
                    }
                    _ => track_pending = true,
                }
                continue;
            }
            if NAMES_NEXT.contains(&word.as_str())
                && let Some(next) = iter.peek()
            {
                add(&mut names, next);
            }
            if CREATED_BY_THE_TOOLS.contains(&word.as_str())
                && let Some(next) = iter.peek()
            {
                created.insert(next.to_string());
            }
        }
    }
    names.retain(|name| !created.contains(name));
    names
}

/// A one-line definition `$NAME=value` (keepalived.conf(5) "Parameter substitution"), in
/// effect from its line on; a conditional one (`@id $NAME=...`) is not taken.
fn definition(line: &str) -> Option<(String, String)> {
    let code = line.split(['#', '!']).next().unwrap_or_default();
    let (name, value) = code.trim_start().strip_prefix('$')?.split_once('=')?;
    let name = name.trim();
    let valid = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    (valid && !value.trim_end().ends_with('\\')).then(|| (name.to_owned(), value.trim().to_owned()))
}

/// `word` with a whole-word `$NAME` or `${NAME}` replaced by its definition, if it has one.
fn substitute(word: &str, definitions: &BTreeMap<String, String>) -> String {
    let name = word
        .strip_prefix("${")
        .and_then(|w| w.strip_suffix('}'))
        .or_else(|| word.strip_prefix('$'));
    name.and_then(|name| definitions.get(name))
        .cloned()
        .unwrap_or_else(|| word.to_owned())
}

/// The words of one line without its comment (`#` or `!` outside quotes starts one, also
/// inside a word, as keepalived reads `eth1#note`), braces as words of their own (except those
/// of a `${NAME}` substitution).
fn words(line: &str) -> Vec<String> {
    let mut code = String::new();
    let mut quoted = false;
    let mut in_substitution = false;
    for c in line.chars() {
        if (c == '#' || c == '!') && !quoted {
            break;
        }
        if c == '"' {
            quoted = !quoted;
        }
        match c {
            '{' if code.ends_with('$') => in_substitution = true,
            '}' if in_substitution => in_substitution = false,
            '{' | '}' if !in_substitution => {
                code.push(' ');
                code.push(c);
                code.push(' ');
                continue;
            }
            _ => {}
        }
        code.push(c);
    }
    code.split_whitespace().map(str::to_owned).collect()
}

fn add(names: &mut BTreeSet<String>, name: &str) {
    if is_creatable(name) {
        names.insert(name.to_owned());
    }
}

/// Whether the kernel takes `name` for a link (dev_valid_name) and it is a literal name.
pub fn is_creatable(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= IFNAME_MAX
        && name != "."
        && name != ".."
        && name != "lo"
        && !name.contains(['/', ':', '$', '{', '}', '"', '\''])
        && !name.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn names_come_from_every_keyword_that_takes_one() {
        let conf = "\
global_defs {
  lvs_sync_daemon bond0 VI_1
}
vrrp_sync_group G {
  group {
    VI_1
  }
  track_interface {
    eth7
  }
}
vrrp_instance VI_1 {
  interface eth0#the uplink
  use_vmac vrrp.51
  track_interface {
    eth1 weight 10
    eth2
  }
  virtual_ipaddress {
    10.0.0.1/24 dev eth3 label eth3:1
  }
  virtual_routes {
    10.1.0.0/16 via 10.0.0.254 dev eth4
  }
  virtual_rules {
    from 10.0.0.0/24 iif eth5 table 100
  }
}
! interface commented0
vrrp_instance VI_2 {
  interface ${IFACE}
  track_interface { eth6 }
}
";
        assert_eq!(
            interface_names(conf),
            set(&[
                "bond0", "eth0", "eth1", "eth2", "eth3", "eth4", "eth5", "eth6", "eth7"
            ])
        );
    }

    #[test]
    fn definitions_are_substituted_and_vmac_names_left_to_the_tools() {
        let conf = "\
$IF=eth9
$IF=eth4 # the uplink
@other $IF=eth8
$UP = uplink0
vrrp_instance A {
  interface $IF
  track_interface {
    @^other eth5
  }
  use_vmac vrrp.51
  track_interface {
    ${UP}
    $UNDEFINED
  }
  virtual_routes {
    10.1.0.0/16 dev vrrp.51
  }
}
";
        assert_eq!(interface_names(conf), set(&["eth4", "eth5", "uplink0"]));
    }

    #[test]
    fn a_block_closed_with_its_parent_on_one_line_ends_the_entries() {
        let conf = "vrrp_instance A {\n interface eth0\n track_interface {\n  eth1\n } }\n\
                    vrrp_instance B {\n interface eth2\n}\n";
        assert_eq!(interface_names(conf), set(&["eth0", "eth1", "eth2"]));
    }

    #[test]
    fn names_the_kernel_refuses_are_skipped() {
        let conf = "vrrp_instance A {\n interface averyveryverylongname0\n}\n\
                    vrrp_instance B {\n interface ens192{\n}\n";
        // `ens192{` is two words: the name and the brace.
        assert_eq!(interface_names(conf), set(&["ens192"]));
        assert!(is_creatable("enp0s31f6.100"));
        assert!(!is_creatable("eth0:1"));
        assert!(!is_creatable("lo"));
        assert!(!is_creatable(&"x".repeat(IFNAME_MAX + 1)));
        assert!(is_creatable(&"x".repeat(IFNAME_MAX)));
    }
}
