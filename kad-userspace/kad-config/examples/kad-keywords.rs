//! Prints docs/keywords.md: every keepalived.conf keyword kad's parser knows, with its
//! status, generated from the keyword tables (`kad_config::catalogue`). Run by
//! `cargo xtask keywords`, which writes the page.

fn main() {
    print!("{}", kad_config::catalogue::markdown());
}
