//! Writes kad's man pages, generated from its command line (clap_mangen), into the folder
//! given as the only argument: `kad.8` and one `kad-SUBCOMMAND.8` per subcommand. Run by
//! `cargo xtask man` (and `cargo xtask package`, which ships them in the Debian package).

// The binary's own command-line module, so the pages cannot drift from the flags; its
// `run` side is not used here.
#[allow(dead_code)]
#[path = "../src/cli.rs"]
mod cli;

use std::{fs, path::Path, process::ExitCode};

use anyhow::{Context as _, Result};
use clap::CommandFactory as _;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: kad-man OUT_DIR");
        return ExitCode::from(2);
    };
    match write_pages(Path::new(&dir)) {
        Ok(pages) => {
            for page in pages {
                println!("{page}");
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("kad-man: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes `kad.8` and the subcommands' pages (section 8: kad is a system daemon).
fn write_pages(dir: &Path) -> Result<Vec<String>> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let command = cli::Args::command().name("kad");
    let mut written = Vec::new();
    let mut pages = vec![(command.clone(), "kad".to_owned())];
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("kad-{}", sub.get_name());
        let page = sub
            .clone()
            .display_name(name.clone())
            .bin_name(format!("kad {}", sub.get_name()));
        pages.push((page, name));
    }
    for (page, name) in pages {
        let mut roff = Vec::new();
        clap_mangen::Man::new(page)
            .title(name.clone())
            .section("8")
            .render(&mut roff)
            .with_context(|| format!("rendering {name}.8"))?;
        let path = dir.join(format!("{name}.8"));
        fs::write(&path, roff).with_context(|| format!("writing {}", path.display()))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}
