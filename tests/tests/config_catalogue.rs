//! docs/keywords.md (issue 8): the committed page is the one generated from the parser's
//! keyword tables, and every keyword it lists is really parsed in its block, with a note
//! exactly when the page says kad ignores it.

use kad::config::{
    catalogue::{self, Block},
    keywords::Status,
};
use kad_tests::conf::load_isolated;

/// A configuration with `line` inside the block `title` names.
fn wrap(title: &str, line: &str) -> String {
    let checker = |kind: &str, inner: &str| {
        format!(
            "virtual_server 10.0.0.1 80 {{\n real_server 10.0.0.2 80 {{\n  {kind} {{\n   {inner}\n  }}\n }}\n}}\n"
        )
    };
    let first = title.split_whitespace().next().unwrap_or_default();
    match first {
        "top" => format!("{line}\n"),
        "global_defs" => format!("global_defs {{\n {line}\n}}\n"),
        "vrrp_instance" => format!("vrrp_instance A {{\n {line}\n}}\n"),
        "authentication" => format!("vrrp_instance A {{\n authentication {{\n  {line}\n }}\n}}\n"),
        "virtual_server" => format!("virtual_server 10.0.0.1 80 {{\n {line}\n}}\n"),
        "real_server" => {
            format!(
                "virtual_server 10.0.0.1 80 {{\n real_server 10.0.0.2 80 {{\n  {line}\n }}\n}}\n"
            )
        }
        "every" => checker("TCP_CHECK", line),
        "url" => checker("HTTP_GET", &format!("url {{\n    {line}\n   }}")),
        "track_file" | "vrrp_track_process" | "track_group" | "garp_group" | "vrrp_script"
        | "vrrp_sync_group" | "bfd_instance" => format!("{first} N {{\n {line}\n}}\n"),
        "SSL" => format!("SSL {{\n {line}\n}}\n"),
        kind if kind.ends_with("_CHECK") || kind.ends_with("_GET") => checker(kind, line),
        other => panic!("no wrapper for block {other:?}"),
    }
}

/// Values tried in turn until the keyword accepts one.
const VALUES: &[&str] = &[
    "1",
    "",
    "on",
    "3",
    "50",
    "1000",
    "10.0.0.3",
    "224.0.0.19",
    "ff02::12",
    "eth0",
    "rr",
    "NAT",
    "inet",
    "TCP",
    "PASS",
    "MASTER",
    "{\n}",
    "N {\n}",
    "10.0.0.3 80 {\n}",
    "{\n url {\n path /\n }\n}",
    "{\n misc_path /bin/true\n}",
    "0123456789abcdef0123456789abcdef",
    "A",
    "200",
    "/x",
    "1.1",
];

fn messages(text: &str) -> Vec<String> {
    load_isolated(text)
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_committed_page_is_the_generated_one() {
    let path = kad_tests::repo_root().join("docs/keywords.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == catalogue::markdown(),
        "{} is stale: run `cargo xtask keywords`",
        path.display()
    );
}

#[test]
fn every_listed_keyword_is_parsed_in_its_block_and_noted_when_ignored() {
    let blocks: Vec<Block> = catalogue::blocks();
    let mut checked = 0;
    for block in &blocks {
        // The wrapper itself: an unknown keyword in it is reported (the check can fail).
        let bogus = messages(&wrap(&block.title, "kad_no_such_keyword 1"));
        assert!(
            bogus
                .iter()
                .any(|d| d.contains("Unknown keyword 'kad_no_such_keyword'")),
            "{}: an unknown keyword is not reported: {bogus:#?}",
            block.title
        );
        for (name, status) in &block.keywords {
            // A value the keyword accepts (a bad value is reported instead of the note).
            let d = VALUES
                .iter()
                .map(|value| messages(&wrap(&block.title, &format!("{name} {value}"))))
                .find(|d| {
                    // A bad value, or a missing one that stops keepalived (exit 2).
                    !d.iter().any(|d| {
                        d.contains(&format!("error: {name}:"))
                            || d.contains("is missing a parameter")
                    })
                })
                .unwrap_or_else(|| {
                    let d = messages(&wrap(&block.title, &format!("{name} 1")));
                    panic!(
                        "{}: no value of {VALUES:?} suits {name}: {d:#?}",
                        block.title
                    )
                });
            assert!(
                !d.iter()
                    .any(|d| d.contains(&format!("Unknown keyword '{name}'"))),
                "{}: {name} is listed but not parsed: {d:#?}",
                block.title
            );
            let noted = d
                .iter()
                .any(|d| d.contains(&format!("note: {name}: parsed, but kad does not act on it")));
            assert_eq!(
                noted,
                matches!(status, Status::Ignored(_)),
                "{}: {name} ({status:?}): note iff ignored: {d:#?}",
                block.title
            );
            checked += 1;
        }
    }
    assert!(checked > 300, "only {checked} keywords listed");
}

#[test]
fn the_page_lists_each_keyword_with_its_status_and_reason() {
    let page = catalogue::markdown();
    for block in catalogue::blocks() {
        assert!(page.contains(&format!("## {}\n", block.title)));
        for (name, status) in &block.keywords {
            let word = match status {
                Status::Supported => "supported",
                Status::Partial(_) => "partial",
                Status::Ignored(_) => "ignored",
                Status::Extension(_) => "kad extension",
            };
            let row = format!("| `{name}` | {word} | {} |", status.reason().unwrap_or(""));
            assert!(page.contains(&row), "{}: no row {row}", block.title);
        }
    }
    // The ones the daemon must not pretend to honour.
    for (block, name) in [
        ("global_defs", "nftables"),
        ("global_defs", "enable_snmp_vrrp"),
    ] {
        let listed = catalogue::blocks()
            .into_iter()
            .find(|b| b.title.starts_with(block))
            .and_then(|b| b.keywords.into_iter().find(|(k, _)| *k == name));
        assert!(
            matches!(listed, Some((_, Status::Ignored(_)))),
            "{block} {name}: {listed:?}"
        );
    }
}
