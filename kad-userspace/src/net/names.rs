//! iproute2's name tables: the names keepalived.conf's `ip route` / `ip rule` syntax accepts
//! in place of numbers (`table main`, `protocol bird`, `scope link`, `realms PQA/0x14`,
//! `tos lowdelay`, `suppress_ifgroup default`), read as `ip` reads them.

use std::path::Path;

/// Folders iproute2 reads its tables from, in order (Debian keeps them in /etc; newer
/// iproute2 ships defaults under /usr/share or /usr/lib).
const DIRS: &[&str] = &["/etc/iproute2", "/usr/share/iproute2", "/usr/lib/iproute2"];

/// One of iproute2's name tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameTable {
    /// `rt_tables`: routing table ids.
    Tables,
    /// `rt_protos`: route/rule protocol ids.
    Protocols,
    /// `rt_scopes`: route scopes.
    Scopes,
    /// `rt_realms`: routing realms.
    Realms,
    /// `rt_dsfield`: TOS/DS field values.
    DsField,
    /// `group`: interface groups.
    Groups,
}

impl NameTable {
    fn file(self) -> &'static str {
        match self {
            Self::Tables => "rt_tables",
            Self::Protocols => "rt_protos",
            Self::Scopes => "rt_scopes",
            Self::Realms => "rt_realms",
            Self::DsField => "rt_dsfield",
            Self::Groups => "group",
        }
    }

    /// The names iproute2 knows without any file (its built-in defaults).
    fn builtin(self) -> &'static [(&'static str, u32)] {
        match self {
            Self::Tables => &[
                ("unspec", 0),
                ("default", 253),
                ("main", 254),
                ("local", 255),
            ],
            Self::Protocols => &[
                ("unspec", 0),
                ("redirect", 1),
                ("kernel", 2),
                ("boot", 3),
                ("static", 4),
                ("gated", 8),
                ("ra", 9),
                ("mrt", 10),
                ("zebra", 11),
                ("bird", 12),
                ("dnrouted", 13),
                ("xorp", 14),
                ("ntk", 15),
                ("dhcp", 16),
                ("keepalived", 18),
                ("babel", 42),
                ("bgp", 186),
                ("isis", 187),
                ("ospf", 188),
                ("rip", 189),
                ("eigrp", 192),
            ],
            Self::Scopes => &[
                ("global", 0),
                ("universe", 0),
                ("site", 200),
                ("link", 253),
                ("host", 254),
                ("nowhere", 255),
            ],
            Self::Realms => &[("unknown", 0)],
            Self::DsField => &[],
            Self::Groups => &[("default", 0)],
        }
    }
}

/// `word` as a number (decimal, or hexadecimal with `0x`) or a name of `table`.
pub fn lookup(table: NameTable, word: &str) -> Option<u32> {
    if let Some(number) = parse_number(word) {
        return Some(number);
    }
    if let Some((_, value)) = table.builtin().iter().find(|(name, _)| *name == word) {
        return Some(*value);
    }
    for dir in DIRS {
        let dir = Path::new(dir);
        if let Some(value) = read_table(&dir.join(table.file()), word) {
            return Some(value);
        }
        let pattern = dir.join(format!("{}.d", table.file())).join("*.conf");
        let Some(pattern) = pattern.to_str() else {
            continue;
        };
        let Ok(paths) = glob::glob(pattern) else {
            continue;
        };
        for path in paths.flatten() {
            if let Some(value) = read_table(&path, word) {
                return Some(value);
            }
        }
    }
    None
}

/// A decimal or `0x` hexadecimal number.
pub fn parse_number(word: &str) -> Option<u32> {
    match word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => word.parse().ok(),
    }
}

fn read_table(path: &Path, word: &str) -> Option<u32> {
    find_in(&std::fs::read_to_string(path).ok()?, word)
}

/// The value of `word` in the text of an iproute2 table (`NUMBER NAME` lines, `#` comments).
fn find_in(text: &str, word: &str) -> Option<u32> {
    text.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let number = parse_number(fields.next()?)?;
        (fields.next()? == word).then_some(number)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_builtin_names_resolve_without_files() {
        assert_eq!(lookup(NameTable::Tables, "100"), Some(100));
        assert_eq!(lookup(NameTable::Tables, "0x10"), Some(16));
        assert_eq!(lookup(NameTable::Tables, "main"), Some(254));
        assert_eq!(lookup(NameTable::Protocols, "keepalived"), Some(18));
        assert_eq!(lookup(NameTable::Scopes, "link"), Some(253));
        assert_eq!(lookup(NameTable::Tables, "no-such-table-name"), None);
    }

    #[test]
    fn table_text_lines_map_names_to_numbers() {
        let text = "# reserved\n255\tlocal\n0x64 vips # comment\n\n200  small\n";
        assert_eq!(find_in(text, "vips"), Some(100));
        assert_eq!(find_in(text, "small"), Some(200));
        assert_eq!(find_in(text, "reserved"), None);
    }
}
