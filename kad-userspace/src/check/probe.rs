//! One probe ready to run: the checker's module chosen by its kind, and the hard timeout
//! the scheduler cuts it at, so that a hung server or script never holds its task past
//! its limits.

use std::{sync::Arc, time::Duration};

use rustls::ClientConfig;

use super::{
    Pass, ProbeError, dns, file,
    http::HttpProbe,
    http_cycle::UrlCycle,
    misc, ping,
    plan::{ProbeKind, ProbeSpec},
    plan_error::PlanError,
    schedule::Runner,
    smtp,
    state::{Cycle, ProbeState, Timing},
    suspend::Activity,
    tcp, udp,
};

/// A planned probe with what it needs at run time (compiled regexes, the TLS client).
///
/// Its task holds it for the task's whole life: the spec is the plan's own (shared, not
/// copied) and the HTTP state, which only HTTP_GET/SSL_GET have, is boxed.
pub struct Probe {
    spec: Arc<ProbeSpec>,
    http: Option<Box<Result<HttpProbe, PlanError>>>,
}

impl Probe {
    /// Prepares `spec`; `tls` is the SSL_GET client.
    pub fn new(spec: Arc<ProbeSpec>, tls: Option<Arc<ClientConfig>>) -> Self {
        let http = match &spec.kind {
            ProbeKind::Http(h) => Some(Box::new(HttpProbe::new(h, tls))),
            _ => None,
        };
        Self { spec, http }
    }

    /// What it probes.
    pub fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    /// For logs and reasons: the keyword and what it targets.
    pub fn describe(&self) -> String {
        format!("{} {}", self.spec.kind.keyword(), self.spec.target())
    }

    /// The longest one run may take: the checker's own limits (each step within
    /// `connect_timeout`, HTTP_GET/SSL_GET fetching one url per run; MISC_CHECK within
    /// `misc_timeout`) plus a margin for them to fire first.
    pub fn hard_timeout(&self) -> Duration {
        let limit = self.spec.endpoint.connect_timeout;
        let steps = match &self.spec.kind {
            ProbeKind::Smtp(_) => 2,
            _ => 1,
        };
        let base = match &self.spec.kind {
            ProbeKind::Misc(m) => m.timeout,
            _ => limit.saturating_mul(steps),
        };
        base + base / 10 + Duration::from_millis(100)
    }

    /// One run, bounded by its own steps' limits only (the scheduler adds
    /// [`Probe::hard_timeout`]): HTTP_GET/SSL_GET fetch their url numbered `step`
    /// (keepalived fetches one url per run, [`super::http_cycle`]); the other checkers
    /// ignore `step`.
    ///
    /// Every checker but TCP_CHECK runs boxed: an `async fn` that awaits several futures is
    /// as large as the largest of them, and a probe's task holds this one for its whole
    /// life. Inline, the HTTP/TLS state made every probe's task ≈ 7 KB, TCP_CHECKs
    /// included (70 MB for 10,000 real servers); boxed, a TCP_CHECK task stays small and
    /// the other checkers pay one allocation per run, small beside their I/O.
    pub async fn run_step(&self, step: usize) -> Result<Pass, ProbeError> {
        let endpoint = &self.spec.endpoint;
        match &self.spec.kind {
            ProbeKind::Tcp => tcp::probe(endpoint).await,
            ProbeKind::Http(_) => match self.http.as_deref() {
                Some(Ok(http)) => Box::pin(http.probe_url(endpoint, step)).await,
                Some(Err(why)) => Err(ProbeError::Check(why.to_string())),
                None => Err(ProbeError::Check("no HTTP client".into())),
            },
            ProbeKind::Smtp(helo) => Box::pin(smtp::probe(endpoint, helo)).await,
            ProbeKind::Dns(query) => Box::pin(dns::probe(endpoint, query)).await,
            ProbeKind::Misc(spec) => Box::pin(misc::probe(spec)).await,
            ProbeKind::Udp(spec) => Box::pin(udp::probe(endpoint, spec)).await,
            ProbeKind::Ping => Box::pin(ping::probe(endpoint)).await,
            ProbeKind::File(spec) => Box::pin(file::probe(spec)).await,
            // Never scheduled: it follows its session ([`super::bfd`]).
            ProbeKind::Bfd(_) => Err(ProbeError::Check(
                "BFD_CHECK follows its BFD session, it is not probed".into(),
            )),
        }
    }
}

impl Runner for Probe {
    fn run(&self, step: usize) -> impl Future<Output = Result<Pass, ProbeError>> + Send {
        self.run_step(step)
    }

    fn cycle(&self, up: bool) -> Cycle {
        match &self.spec.kind {
            ProbeKind::Http(h) => Cycle::Urls(UrlCycle::new(
                h.urls.len(),
                up,
                h.fast_recovery,
                &self.spec.timing,
            )),
            _ => Cycle::Single(ProbeState::new(up)),
        }
    }

    fn describe(&self) -> String {
        Probe::describe(self)
    }

    fn timing(&self) -> Timing {
        self.spec.timing
    }

    fn hard_timeout(&self) -> Duration {
        Probe::hard_timeout(self)
    }

    fn log_all_failures(&self) -> bool {
        self.spec.log_all_failures
    }

    fn activity(&self) -> Activity {
        self.spec.activity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{endpoint::Endpoint, plan::ProbeKind};

    fn size_of_future<F: Future>(_: &F) -> usize {
        std::mem::size_of::<F>()
    }

    /// A probe lives as long as the checkers: with 10,000 real servers every byte it holds
    /// while it sleeps counts 10,000 times. It sleeps as a scheduler slot (a probe had a
    /// task of its own before, 768 bytes with its future and timer), and the other
    /// checkers' larger states must not be inlined into [`Probe::run_step`], whose future
    /// exists only while the probe runs.
    #[test]
    fn a_sleeping_tcp_check_stays_small() {
        let second = Duration::from_secs(1);
        let spec = ProbeSpec {
            kind: ProbeKind::Tcp,
            endpoint: Endpoint {
                addr: std::net::SocketAddr::from(([127, 0, 0, 1], 9)),
                bind: None,
                bind_if: None,
                fwmark: None,
                connect_timeout: second,
            },
            log_all_failures: false,
            activity: crate::check::suspend::Activity::Always,
            timing: Timing {
                delay_loop: second,
                retry: 1,
                delay_before_retry: second,
                warmup: second,
                connect_timeout: second,
            },
        };
        let probe = Probe::new(Arc::new(spec), None);
        // The spec is the plan's (shared) and the HTTP state boxed: a probe is two pointers.
        assert!(std::mem::size_of::<Probe>() <= 16);
        assert!(size_of_future(&probe.run_step(0)) <= 512);
        let slot = crate::check::schedule::Slot::new(
            0,
            probe,
            true,
            crate::check::report::ProbeReporter::default(),
        );
        let size = std::mem::size_of_val(&slot);
        assert!(
            size <= 64,
            "a sleeping probe's slot is {size} bytes (bound 64)"
        );
    }
}
