//! keepalived.conf `HTTP_GET` and `SSL_GET`: for each `url`, GET `path` (over hyper, over
//! rustls for SSL_GET) with keepalived's request head ([`HttpProtocol`]: `HTTP/1.0` unless
//! `http_protocol` says otherwise, `User-Agent`, `Connection: close` for `1.0C` and `1.1`,
//! `Host: virtualhost` or the address) and judge the answer: `status_code`
//! ranges (default 200-299), `digest` (MD5 of the body, as `genhash` prints it), `regex`
//! on the body (`regex_no_match`: the regex must not match). One url per run, in turn, as
//! keepalived does ([`super::http_cycle`]): the checker is up when all have passed.
//!
//! The body is read only as far as the url needs it (issue 13): with neither `digest` nor
//! `regex` not at all (the status line decides; the connection is closed after the
//! headers); with `digest` streamed through MD5, nothing kept; with `regex` kept, up to
//! [`MAX_BODY`]. keepalived 2.2.7 streams the body through a fixed buffer (MD5 updated as
//! it goes, the regex matched piecewise) but always reads it to the end of the stream, so
//! a body that never ends keeps its checker waiting; here the url's whole exchange is
//! bounded by `connect_timeout`.

use std::{net::SocketAddr, sync::Arc};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use md5::{Digest as _, Md5};
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Pass, ProbeError, endpoint::Endpoint, plan_error::PlanError, tls};

/// The largest body kept for a `regex` (a health page is small; `digest` streams and keeps
/// nothing).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// One `url { }` block, resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UrlSpec {
    /// keepalived.conf `path` (default "/").
    pub path: String,
    /// keepalived.conf `digest`, lower-case hex.
    pub digest: Option<String>,
    /// keepalived.conf `status_code` ranges (empty: any status).
    pub status: Vec<(u16, u16)>,
    /// keepalived.conf `virtualhost` of the url, else of the checker, real or virtual server.
    pub virtualhost: Option<String>,
    /// keepalived.conf `regex`.
    pub regex: Option<String>,
    /// keepalived.conf `regex_no_match`.
    pub regex_no_match: bool,
    /// keepalived.conf `regex_min_offset`: the first byte of the body where a match may
    /// start (0: the start).
    pub regex_min_offset: usize,
    /// keepalived.conf `regex_max_offset`: the last byte of the body where a match may start
    /// (`None`: anywhere).
    pub regex_max_offset: Option<usize>,
}

/// keepalived.conf `http_protocol 1.0|1.0C|1.1` of HTTP_GET/SSL_GET: the version on the
/// request line and whether the request says `Connection: close`. keepalived 2.2.7 sends,
/// byte for byte, `GET PATH HTTP/1.V\r\nUser-Agent: KeepAliveClient\r\n`, then
/// `Connection: close\r\n` for `1.0C` and `1.1`, then `Host: HOST\r\n\r\n`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HttpProtocol {
    /// `1.0` (keepalived's default): `HTTP/1.0`, no `Connection` header.
    #[default]
    Http10,
    /// `1.0C` (or `1.0c`): `HTTP/1.0` with `Connection: close`.
    Http10Close,
    /// `1.1`: `HTTP/1.1` with `Connection: close`.
    Http11,
}

impl HttpProtocol {
    /// The keepalived.conf word (`1.0`, `1.0C`, `1.0c`, `1.1`), `None` for any other.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "1.0" => Some(Self::Http10),
            "1.0C" | "1.0c" => Some(Self::Http10Close),
            "1.1" => Some(Self::Http11),
            _ => None,
        }
    }

    fn version(self) -> hyper::Version {
        match self {
            Self::Http11 => hyper::Version::HTTP_11,
            Self::Http10 | Self::Http10Close => hyper::Version::HTTP_10,
        }
    }

    fn connection_close(self) -> bool {
        self != Self::Http10
    }
}

/// An HTTP_GET or SSL_GET checker, resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HttpSpec {
    /// SSL_GET.
    pub tls: bool,
    /// keepalived.conf `http_protocol`.
    pub protocol: HttpProtocol,
    /// keepalived.conf `enable_sni` (SSL_GET).
    pub sni: bool,
    /// The urls.
    pub urls: Vec<UrlSpec>,
    /// keepalived.conf `fast_recovery`: no delay between urls until the first pass is
    /// complete, nor while recovering ([`super::http_cycle`]).
    pub fast_recovery: bool,
}

/// A ready checker: compiled regexes and the TLS client.
pub struct HttpProbe {
    urls: Vec<(UrlSpec, Option<regex::bytes::Regex>)>,
    tls: Option<Arc<ClientConfig>>,
    sni: bool,
    protocol: HttpProtocol,
}

/// A fetched page.
#[derive(Clone, Debug)]
pub struct Page {
    /// The status code.
    pub status: u16,
    /// The body, when it was kept ([`BodyUse::keep`]); else empty.
    pub body: Bytes,
    /// The MD5 of the whole body, when it was computed ([`BodyUse::digest`]).
    pub digest: Option<[u8; 16]>,
}

impl Page {
    /// keepalived's `digest` / genhash: the MD5 of the body, lower-case hex (of the body
    /// streamed, or else of the body kept).
    pub fn md5_hex(&self) -> String {
        let digest: [u8; 16] = self
            .digest
            .unwrap_or_else(|| Md5::digest(&self.body).into());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What a url needs of the body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BodyUse {
    /// Stream it through MD5 (keepalived.conf `digest`, genhash).
    pub digest: bool,
    /// Keep it, up to [`MAX_BODY`] (keepalived.conf `regex`).
    pub keep: bool,
}

impl BodyUse {
    /// What `url` needs.
    pub fn of(url: &UrlSpec) -> Self {
        Self {
            digest: url.digest.is_some(),
            keep: url.regex.is_some(),
        }
    }
}

impl HttpProbe {
    /// Compiles the regexes; `tls` is the client for SSL_GET.
    pub fn new(spec: &HttpSpec, tls: Option<Arc<ClientConfig>>) -> Result<Self, PlanError> {
        let urls = spec
            .urls
            .iter()
            .map(|url| {
                let regex = url
                    .regex
                    .as_deref()
                    .map(regex::bytes::Regex::new)
                    .transpose()
                    .map_err(|e| PlanError::Regex {
                        path: url.path.clone(),
                        why: e.to_string(),
                    })?;
                Ok((url.clone(), regex))
            })
            .collect::<Result<_, PlanError>>()?;
        Ok(Self {
            urls,
            tls: if spec.tls { tls } else { None },
            sni: spec.sni,
            protocol: spec.protocol,
        })
    }

    /// Fetches and judges the url numbered `index` (keepalived fetches one url per run,
    /// [`super::http_cycle`]).
    pub async fn probe_url(&self, endpoint: &Endpoint, index: usize) -> Result<Pass, ProbeError> {
        let Some((url, regex)) = self.urls.get(index) else {
            return Err(ProbeError::Check(format!("no url numbered {index}")));
        };
        {
            let sni = if self.sni {
                url.virtualhost.as_deref()
            } else {
                None
            };
            let page = fetch_for(
                endpoint,
                self.tls.as_ref(),
                sni,
                url.virtualhost.as_deref(),
                &url.path,
                self.protocol,
                BodyUse::of(url),
            )
            .await?;
            judge(url, regex.as_ref(), &page)
                .map_err(|why| ProbeError::Check(format!("{why} on {}", url.path)))?;
        }
        Ok(Pass::default())
    }
}

/// How a page fails its `url` block.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PageMismatch {
    /// keepalived.conf `status_code`: the status is none of them.
    #[error("status {0}")]
    Status(u16),
    /// keepalived.conf `digest`: the body's MD5.
    #[error("digest {got}, expected {want}")]
    Digest {
        /// The body's digest.
        got: String,
        /// The configured one.
        want: String,
    },
    /// keepalived.conf `regex` with `regex_no_match`: the body matches.
    #[error("body matches regex_no_match regex")]
    RegexMatched,
    /// keepalived.conf `regex`: the body does not match.
    #[error("body does not match regex")]
    RegexMissing,
}

/// Whether `page` satisfies `url` (how it does not, when it does not).
pub fn judge(
    url: &UrlSpec,
    regex: Option<&regex::bytes::Regex>,
    page: &Page,
) -> Result<(), PageMismatch> {
    if !url.status.is_empty()
        && !url
            .status
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&page.status))
    {
        return Err(PageMismatch::Status(page.status));
    }
    if let Some(want) = &url.digest {
        let got = page.md5_hex();
        if &got != want {
            return Err(PageMismatch::Digest {
                got,
                want: want.clone(),
            });
        }
    }
    if let Some(regex) = regex {
        // The leftmost match starting at or after the minimum offset (the bytes before it
        // still serve look-behinds and anchors, as PCRE2's start offset), which must start
        // at or before the maximum.
        let matched = (url.regex_min_offset <= page.body.len())
            .then(|| regex.find_at(&page.body, url.regex_min_offset))
            .flatten()
            .is_some_and(|m| url.regex_max_offset.is_none_or(|max| m.start() <= max));
        if matched == url.regex_no_match {
            return Err(if matched {
                PageMismatch::RegexMatched
            } else {
                PageMismatch::RegexMissing
            });
        }
    }
    Ok(())
}

/// GETs `path` from the endpoint within its `connect_timeout` (connection, TLS handshake,
/// request and whole body), the body streamed through MD5 (genhash, with keepalived's
/// default `http_protocol 1.0`). `Host` is `host`, else the address.
pub async fn fetch(
    endpoint: &Endpoint,
    tls: Option<&Arc<ClientConfig>>,
    sni: Option<&str>,
    host: Option<&str>,
    path: &str,
) -> Result<Page, ProbeError> {
    let digest = BodyUse {
        digest: true,
        keep: false,
    };
    let protocol = HttpProtocol::default();
    fetch_for(endpoint, tls, sni, host, path, protocol, digest).await
}

/// [`fetch`], reading the body only as far as `body` needs.
pub async fn fetch_for(
    endpoint: &Endpoint,
    tls: Option<&Arc<ClientConfig>>,
    sni: Option<&str>,
    host: Option<&str>,
    path: &str,
    protocol: HttpProtocol,
    body: BodyUse,
) -> Result<Page, ProbeError> {
    let deadline = tokio::time::Instant::now() + endpoint.connect_timeout;
    let stream = endpoint.connect_tcp().await?;
    let host = host.map_or_else(|| host_of(endpoint.addr), str::to_owned);
    let exchange = async {
        match tls {
            Some(config) => {
                let name = tls::server_name(sni, endpoint.addr.ip());
                let stream = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name, stream)
                    .await
                    .map_err(|e| ProbeError::Check(format!("TLS handshake: {e}")))?;
                get(stream, &host, path, protocol, body).await
            }
            None => get(stream, &host, path, protocol, body).await,
        }
    };
    match tokio::time::timeout_at(deadline, exchange).await {
        Ok(result) => result,
        Err(_) => Err(ProbeError::Timeout("HTTP exchange")),
    }
}

fn host_of(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

/// One GET over an established stream, with keepalived's request head for `protocol`
/// (headers in keepalived's order and case), reading as much of the body as `body` asks (the
/// fuzz target `checker_reply` plays the server with arbitrary bytes).
pub async fn get<S>(
    stream: S,
    host: &str,
    path: &str,
    protocol: HttpProtocol,
    body: BodyUse,
) -> Result<Page, ProbeError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let http = |e: hyper::Error| ProbeError::Check(format!("HTTP: {e}"));
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .title_case_headers(true)
        .handshake(TokioIo::new(stream))
        .await
        .map_err(http)?;
    let mut request = hyper::Request::builder()
        .method(hyper::Method::GET)
        .uri(path)
        .version(protocol.version())
        .header(hyper::header::USER_AGENT, "KeepAliveClient");
    if protocol.connection_close() {
        request = request.header(hyper::header::CONNECTION, "close");
    }
    let request = request
        .header(hyper::header::HOST, host)
        .body(Empty::<Bytes>::new())
        .map_err(|e| ProbeError::Check(format!("request for '{path}': {e}")))?;
    let exchange = async {
        let response = sender.send_request(request).await.map_err(http)?;
        let status = response.status().as_u16();
        read_body(response.into_body(), body)
            .await
            .map(|(body, digest)| Page {
                status,
                body,
                digest,
            })
    };
    let mut exchange = std::pin::pin!(exchange);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        page = &mut exchange => page,
        done = &mut conn => match done {
            Ok(()) => exchange.await,
            Err(err) => Err(http(err)),
        },
    }
}

/// Reads as much of `incoming` as `need` asks: nothing, or through MD5, or kept up to
/// [`MAX_BODY`].
async fn read_body(
    mut incoming: hyper::body::Incoming,
    need: BodyUse,
) -> Result<(Bytes, Option<[u8; 16]>), ProbeError> {
    if !need.digest && !need.keep {
        return Ok((Bytes::new(), None));
    }
    let mut md5 = need.digest.then(Md5::new);
    let mut kept = BytesMut::new();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|e| ProbeError::Check(format!("reading the body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if let Some(md5) = md5.as_mut() {
            md5.update(&data);
        }
        if need.keep {
            if kept.len() + data.len() > MAX_BODY {
                return Err(ProbeError::Check(format!(
                    "body longer than {MAX_BODY} bytes"
                )));
            }
            kept.extend_from_slice(&data);
        }
    }
    Ok((kept.freeze(), md5.map(|md5| md5.finalize().into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> UrlSpec {
        UrlSpec {
            path: "/".into(),
            digest: None,
            status: vec![(200, 299)],
            virtualhost: None,
            regex: None,
            regex_no_match: false,
            regex_min_offset: 0,
            regex_max_offset: None,
        }
    }

    fn page(status: u16, body: &'static str) -> Page {
        Page {
            status,
            body: Bytes::from_static(body.as_bytes()),
            digest: None,
        }
    }

    /// A server that answers one GET with `200 OK`, no length, and then `chunks` × 64 KiB
    /// of body (until the client goes); returns the bytes of body it managed to send.
    async fn endless_server(chunks: usize) -> (SocketAddr, tokio::task::JoinHandle<usize>) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|err| panic!("bind: {err}"));
        let address = listener.local_addr().unwrap_or_else(|err| panic!("{err}"));
        let task = tokio::spawn(async move {
            let Ok((mut stream, _)) = listener.accept().await else {
                return 0;
            };
            let mut head = [0u8; 1024];
            let _ = stream.read(&mut head).await;
            if stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n",
                )
                .await
                .is_err()
            {
                return 0;
            }
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            for _ in 0..chunks {
                match stream.write_all(&chunk).await {
                    Ok(()) => sent += chunk.len(),
                    Err(_) => break,
                }
            }
            sent
        });
        (address, task)
    }

    fn endpoint(addr: SocketAddr) -> Endpoint {
        Endpoint {
            addr,
            bind: None,
            bind_if: None,
            fwmark: None,
            connect_timeout: std::time::Duration::from_secs(10),
        }
    }

    /// Issue 13: a url with only `status_code` passes on the status line against a server
    /// whose body never ends (1 GiB here), and reads no more of it than the socket buffers
    /// hold (before, up to 16 MiB was buffered, then the check failed).
    #[tokio::test(flavor = "current_thread")]
    async fn status_only_urls_read_no_body() {
        let (address, server) = endless_server(16 * 1024).await;
        let probe = HttpProbe::new(
            &HttpSpec {
                tls: false,
                protocol: HttpProtocol::default(),
                sni: false,
                urls: vec![url()],
                fast_recovery: false,
            },
            None,
        )
        .unwrap_or_else(|err| panic!("{err}"));
        let started = std::time::Instant::now();
        let result = probe.probe_url(&endpoint(address), 0).await;
        let took = started.elapsed();
        let sent = server.await.unwrap_or(usize::MAX);
        assert_eq!(result, Ok(Pass::default()));
        assert!(took < std::time::Duration::from_secs(2), "took {took:?}");
        assert!(
            sent < 8 * 1024 * 1024,
            "the server got {sent} bytes of body out before the checker closed"
        );
    }

    /// Issue 13: `digest` streams the body through MD5, keeping none of it: a 32 MiB page
    /// (twice the old buffering limit) is digested.
    #[tokio::test(flavor = "current_thread")]
    async fn digest_streams_a_body_larger_than_the_buffer_limit() {
        let chunks = 512;
        let (address, server) = endless_server(chunks).await;
        let mut md5 = Md5::new();
        for _ in 0..chunks {
            md5.update(vec![b'x'; 64 * 1024]);
        }
        let want: String = md5.finalize().iter().map(|b| format!("{b:02x}")).collect();
        // `fetch` is genhash's: the digest and nothing else.
        let page = fetch(&endpoint(address), None, None, None, "/")
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(server.await.unwrap_or(0), chunks * 64 * 1024);
        assert!(page.body.is_empty(), "nothing kept");
        assert_eq!(page.md5_hex(), want);
    }

    #[test]
    fn status_ranges_digest_and_regex() {
        let ok = page(204, "hello");
        assert_eq!(judge(&url(), None, &ok), Ok(()));
        assert_eq!(
            judge(&url(), None, &page(500, "")),
            Err(PageMismatch::Status(500))
        );
        let any = UrlSpec {
            status: vec![],
            ..url()
        };
        assert_eq!(judge(&any, None, &page(500, "")), Ok(()));
        // MD5("hello") = 5d41402abc4b2a76b9719d911017c592.
        assert_eq!(ok.md5_hex(), "5d41402abc4b2a76b9719d911017c592");
        let digest = UrlSpec {
            digest: Some("5d41402abc4b2a76b9719d911017c592".into()),
            ..url()
        };
        assert_eq!(judge(&digest, None, &ok), Ok(()));
        assert!(judge(&digest, None, &page(200, "other")).is_err());
        let re = regex::bytes::Regex::new("^hel+o$").ok();
        assert_eq!(judge(&url(), re.as_ref(), &ok), Ok(()));
        assert!(judge(&url(), re.as_ref(), &page(200, "bye")).is_err());
        let no_match = UrlSpec {
            regex_no_match: true,
            ..url()
        };
        assert!(judge(&no_match, re.as_ref(), &ok).is_err());
        assert_eq!(judge(&no_match, re.as_ref(), &page(200, "bye")), Ok(()));
    }

    /// keepalived.conf `regex_min_offset` / `regex_max_offset`: the match must start within
    /// [min, max] (bytes into the body, both included); before min it does not count, nor
    /// does a later match beyond max.
    #[test]
    fn regex_offsets_bound_where_a_match_starts() {
        let re = regex::bytes::Regex::new("ok").ok();
        let body = page(200, "ok....ok");
        let within = |min, max| UrlSpec {
            regex_min_offset: min,
            regex_max_offset: max,
            ..url()
        };
        for (min, max, want) in [
            (0, None, true),
            (1, None, true),
            (6, None, true),
            (7, None, false),
            (9, None, false),
            (0, Some(0), true),
            (1, Some(5), false),
            (1, Some(6), true),
            (6, Some(6), true),
        ] {
            let got = judge(&within(min, max), re.as_ref(), &body).is_ok();
            assert_eq!(got, want, "min {min} max {max:?}");
            let no_match = UrlSpec {
                regex_no_match: true,
                ..within(min, max)
            };
            let got = judge(&no_match, re.as_ref(), &body).is_ok();
            assert_eq!(got, !want, "regex_no_match, min {min} max {max:?}");
        }
        // PCRE2 semantics at the start offset: `^` does not match there.
        let anchored = regex::bytes::Regex::new("^ok").ok();
        assert!(judge(&within(6, None), anchored.as_ref(), &body).is_err());
    }
}
