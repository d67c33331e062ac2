//! `cargo xtask compat DIR`: `kad -t` beside `keepalived -t` on every keepalived.conf under
//! DIR (recursively, sorted; a file another one includes is checked with its includer), each
//! in a throwaway network namespace that has the interfaces the file names.
//!
//! Prints one line per file (both exit codes, the lines each tool flags, and `agree`,
//! `DIFFER`, `keepalived crashed` or `keepalived hung`), then `compat: N files, M agree`.
//! `--json FILE` writes every result with both tools' output; `--show` prints both outputs
//! under each line that is not `agree`. Exits 0 when every file was checked, whatever the
//! verdicts; `--strict` exits 1 when one differs.
//!
//! The kad binary is `$KAD_BIN` (set by xtask), else the debug build of the current source.

use std::{path::PathBuf, time::Duration};

use anyhow::{Context as _, Result, bail};
use kad_tests::{
    compat::{self, Tools, Verdict},
    kad_bin,
    privilege::is_root,
};

const USAGE: &str = "usage: kad-compat DIR [--json FILE] [--show] [--strict] [--timeout SECONDS]";

struct Options {
    dir: PathBuf,
    json: Option<PathBuf>,
    show: bool,
    strict: bool,
    limit: Duration,
}

fn parse() -> Result<Options> {
    let mut dir = None;
    let mut json = None;
    let mut show = false;
    let mut strict = false;
    let mut limit = compat::TIME_LIMIT;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json = Some(PathBuf::from(args.next().context(USAGE)?)),
            "--show" => show = true,
            "--strict" => strict = true,
            "--timeout" => {
                let seconds: f64 = args.next().context(USAGE)?.parse().context(USAGE)?;
                limit = Duration::from_secs_f64(seconds);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other if other.starts_with('-') => bail!("unknown option {other}\n{USAGE}"),
            other if dir.is_none() => dir = Some(PathBuf::from(other)),
            other => bail!("one folder only (also got {other})\n{USAGE}"),
        }
    }
    Ok(Options {
        dir: dir.context(USAGE)?,
        json,
        show,
        strict,
        limit,
    })
}

fn main() -> Result<()> {
    let options = parse()?;
    if !is_root() {
        bail!("the harness makes a network namespace per file: run it as root");
    }
    let tools = Tools {
        kad: kad_bin()?,
        keepalived: compat::keepalived_bin()
            .context("keepalived is not installed: apt-get install keepalived")?,
        limit: options.limit,
    };
    let files = compat::files::top_level_files(&options.dir)?;
    let mut results = Vec::with_capacity(files.len());
    for file in &files {
        let result = compat::check_file(&tools, &options.dir, file)
            .with_context(|| format!("checking {}", file.display()))?;
        println!("{}", result.line());
        if options.show && result.verdict != Verdict::Agree {
            for (tool, output) in [
                ("keepalived", &result.keepalived.output),
                ("kad", &result.kad.output),
            ] {
                println!("  --- {tool}:");
                for line in output.lines() {
                    println!("    {line}");
                }
            }
        }
        results.push(result);
    }
    let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
    println!(
        "compat: {} differ, keepalived crashed on {}, hung on {}",
        count(Verdict::Differ),
        count(Verdict::KeepalivedCrashed),
        count(Verdict::KeepalivedHung)
    );
    println!("{}", compat::summary(&results));
    if let Some(path) = &options.json {
        let text = serde_json::to_string_pretty(&results).context("serialising the results")?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if options.strict && count(Verdict::Differ) > 0 {
        std::process::exit(1);
    }
    Ok(())
}
