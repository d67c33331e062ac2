//! `BPF_PROG_TEST_RUN` on a chosen ingress interface: the frame is run as if received on
//! `ifindex` (the kernel looks the interface up in the caller's network namespace; 1, `lo`,
//! always exists), so the program's per-interface map lookups can be exercised without
//! attaching it anywhere.

use std::time::Duration;

use aya::programs::{TestRun as _, TestRunOptions};
use kad_common::xdp_counters::XDP_PROGRAM;

use super::{XdpDataplane, XdpError, XdpVerdict};

/// What a repeated test run measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestRunTiming {
    /// The program's verdict (of the last run).
    pub verdict: XdpVerdict,
    /// The kernel's average time per run.
    pub per_run: Duration,
}

impl XdpDataplane {
    /// Runs `kad_xdp` once on `frame` as received on interface `ifindex`. Maps and counters
    /// move as for a received frame.
    pub fn test_run_on(&self, frame: &[u8], ifindex: u32) -> Result<XdpVerdict, XdpError> {
        Ok(self.test_run_repeat(frame, ifindex, 1)?.verdict)
    }

    /// Runs `kad_xdp` `repeat` times on `frame` as received on `ifindex` and returns the
    /// kernel's average time per run (the figure of `cargo xtask bench xdp`).
    pub fn test_run_repeat(
        &self,
        frame: &[u8],
        ifindex: u32,
        repeat: u32,
    ) -> Result<TestRunTiming, XdpError> {
        let frame_len =
            u32::try_from(frame.len()).map_err(|_| XdpError::FrameTooLong { len: frame.len() })?;
        let context = xdp_md(frame_len, ifindex);
        let options = TestRunOptions {
            data_in: Some(frame),
            ctx_in: Some(&context),
            repeat,
            ..TestRunOptions::new()
        };
        let result = self
            .program()?
            .test_run(options)
            .map_err(|source| XdpError::Program {
                program: XDP_PROGRAM,
                source: Box::new(source),
            })?;
        Ok(TestRunTiming {
            verdict: XdpVerdict::from_code(result.return_value),
            per_run: result.duration,
        })
    }
}

/// `struct xdp_md` (UAPI `linux/bpf.h`) as `BPF_PROG_TEST_RUN` takes it in `ctx_in`: data at
/// offset 0, no metadata, `data_end` the frame length (the kernel insists), the ingress
/// interface, receive queue 0, no egress interface.
fn xdp_md(frame_len: u32, ifindex: u32) -> [u8; 24] {
    let fields = [0, frame_len, 0, ifindex, 0, 0];
    let mut bytes = [0u8; 24];
    for (chunk, field) in bytes.chunks_exact_mut(4).zip(fields) {
        chunk.copy_from_slice(&field.to_ne_bytes());
    }
    bytes
}
