//! keepalived.conf `HTTP_GET` and `SSL_GET`: for each `url`, GET `path` (HTTP/1.1 over hyper,
//! over rustls for SSL_GET) with `Host: virtualhost` and judge the answer: `status_code`
//! ranges (default 200-299), `digest` (MD5 of the body, as `genhash` prints it), `regex`
//! on the body (`regex_no_match`: the regex must not match). All urls must pass.

use std::{net::SocketAddr, sync::Arc};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_util::rt::TokioIo;
use md5::{Digest as _, Md5};
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Pass, ProbeError, endpoint::Endpoint, tls};

/// The largest body read (keepalived digests whole pages; a health page is small).
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
}

/// An HTTP_GET or SSL_GET checker, resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HttpSpec {
    /// SSL_GET.
    pub tls: bool,
    /// keepalived.conf `enable_sni` (SSL_GET).
    pub sni: bool,
    /// The urls.
    pub urls: Vec<UrlSpec>,
}

/// A ready checker: compiled regexes and the TLS client.
pub struct HttpProbe {
    urls: Vec<(UrlSpec, Option<regex::bytes::Regex>)>,
    tls: Option<Arc<ClientConfig>>,
    sni: bool,
}

/// A fetched page.
#[derive(Clone, Debug)]
pub struct Page {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Bytes,
}

impl Page {
    /// keepalived's `digest` / genhash: the MD5 of the body, lower-case hex.
    pub fn md5_hex(&self) -> String {
        Md5::digest(&self.body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl HttpProbe {
    /// Compiles the regexes; `tls` is the client for SSL_GET.
    pub fn new(spec: &HttpSpec, tls: Option<Arc<ClientConfig>>) -> Result<Self, String> {
        let urls = spec
            .urls
            .iter()
            .map(|url| {
                let regex = url
                    .regex
                    .as_deref()
                    .map(regex::bytes::Regex::new)
                    .transpose()
                    .map_err(|e| format!("url {}: regex: {e}", url.path))?;
                Ok((url.clone(), regex))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            urls,
            tls: if spec.tls { tls } else { None },
            sni: spec.sni,
        })
    }

    /// Fetches and judges every url.
    pub async fn probe(&self, endpoint: &Endpoint) -> Result<Pass, ProbeError> {
        for (url, regex) in &self.urls {
            let sni = if self.sni {
                url.virtualhost.as_deref()
            } else {
                None
            };
            let page = fetch(
                endpoint,
                self.tls.as_ref(),
                sni,
                url.virtualhost.as_deref(),
                &url.path,
            )
            .await?;
            judge(url, regex.as_ref(), &page)
                .map_err(|why| ProbeError::Check(format!("{why} on {}", url.path)))?;
        }
        Ok(Pass::default())
    }
}

/// Whether `page` satisfies `url` (the reason when it does not).
pub fn judge(
    url: &UrlSpec,
    regex: Option<&regex::bytes::Regex>,
    page: &Page,
) -> Result<(), String> {
    if !url.status.is_empty()
        && !url
            .status
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&page.status))
    {
        return Err(format!("status {}", page.status));
    }
    if let Some(want) = &url.digest {
        let got = page.md5_hex();
        if &got != want {
            return Err(format!("digest {got}, expected {want}"));
        }
    }
    if let Some(regex) = regex {
        let matched = regex.is_match(&page.body);
        if matched == url.regex_no_match {
            return Err(if matched {
                "body matches regex_no_match regex".to_owned()
            } else {
                "body does not match regex".to_owned()
            });
        }
    }
    Ok(())
}

/// GETs `path` from the endpoint within its `connect_timeout` (connection, TLS handshake,
/// request and whole body). `Host` is `host`, else the address.
pub async fn fetch(
    endpoint: &Endpoint,
    tls: Option<&Arc<ClientConfig>>,
    sni: Option<&str>,
    host: Option<&str>,
    path: &str,
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
                get(stream, &host, path).await
            }
            None => get(stream, &host, path).await,
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

async fn get<S>(stream: S, host: &str, path: &str) -> Result<Page, ProbeError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let http = |e: hyper::Error| ProbeError::Check(format!("HTTP: {e}"));
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(http)?;
    let request = hyper::Request::builder()
        .method(hyper::Method::GET)
        .uri(path)
        .header(hyper::header::HOST, host)
        .header(hyper::header::USER_AGENT, "KeepAliveClient")
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| ProbeError::Check(format!("request for '{path}': {e}")))?;
    let exchange = async {
        let response = sender.send_request(request).await.map_err(http)?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| ProbeError::Check(format!("reading the body: {e}")))?
            .to_bytes();
        Ok(Page { status, body })
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
        }
    }

    fn page(status: u16, body: &'static str) -> Page {
        Page {
            status,
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn status_ranges_digest_and_regex() {
        let ok = page(204, "hello");
        assert_eq!(judge(&url(), None, &ok), Ok(()));
        assert_eq!(
            judge(&url(), None, &page(500, "")),
            Err("status 500".into())
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
}
