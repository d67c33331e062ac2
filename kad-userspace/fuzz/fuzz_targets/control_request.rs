//! Fuzzes the control socket's request line (`kad status` asks `status`; a local client may
//! send anything): it is read as a request or refused with a JSON error that must itself be
//! valid JSON, never a panic.
#![no_main]

use kad::ops::control::{Request, parse_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_request(data) {
        Ok(Request::Status) => assert_eq!(String::from_utf8_lossy(data).trim(), "status"),
        Err(unknown) => {
            let answer = unknown.answer();
            let parsed: Result<serde_json::Value, _> = serde_json::from_str(&answer);
            assert!(parsed.is_ok(), "refusal is not JSON: {answer}");
        }
    }
});
