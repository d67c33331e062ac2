//! Fuzzes the whole keepalived.conf pipeline: preprocessing (defines, conditionals, ~SEQ,
//! ~LST; includes see no files), block tree, keyword tables, validation and the JSON dump.
//! The parser must never panic on any input.
#![no_main]

use kad_config::{AssumeAllExist, LoadOptions, NoFiles, dump, load_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut options = LoadOptions::with_config_id("fuzz");
    // Keep runaway ~SEQ expansions small: the limit's own path is reached at 2,000 lines as at
    // 20,000, and an input that expands to 20,000 lines cost ~10 ms (~600 execs/s against
    // ~1,700 with this bound, BENCHMARKS.md "Fuzzing").
    options.max_lines = 2_000;
    let loaded = load_text("fuzz.conf", &text, &options, &NoFiles, &AssumeAllExist);
    let _ = loaded.exit_status();
    let _ = dump::to_json(&loaded.config);
});
