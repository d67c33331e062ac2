//! `kad genhash`: keepalived's `genhash` tool, the MD5 digest of a page as HTTP_GET/SSL_GET
//! compute it, for writing `digest` lines.

use std::{net::SocketAddr, time::Duration};

use super::{
    ProbeError,
    endpoint::Endpoint,
    http::{self, Page},
    tls,
};

/// What to fetch.
#[derive(Clone, Debug)]
pub struct Request {
    /// genhash `-s` / `-p`.
    pub server: SocketAddr,
    /// genhash `-u`.
    pub path: String,
    /// genhash `-S`: over TLS.
    pub ssl: bool,
    /// genhash `-V`: the `Host` header (and SNI over TLS).
    pub virtualhost: Option<String>,
    /// The limit for the whole exchange.
    pub timeout: Duration,
}

/// Fetches the page the way the checkers do.
pub async fn fetch(request: &Request) -> Result<Page, ProbeError> {
    let endpoint = Endpoint {
        addr: request.server,
        bind: None,
        bind_if: None,
        fwmark: None,
        connect_timeout: request.timeout,
    };
    let client = match request.ssl {
        true => Some(tls::client_config(None).map_err(|e| ProbeError::Check(e.to_string()))?),
        false => None,
    };
    let vhost = request.virtualhost.as_deref();
    http::fetch(&endpoint, client.as_ref(), vhost, vhost, &request.path).await
}
