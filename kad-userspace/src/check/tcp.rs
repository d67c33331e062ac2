//! keepalived.conf `TCP_CHECK`: the real server is up when a TCP connection to it opens
//! within `connect_timeout`.

use super::{Pass, ProbeError, endpoint::Endpoint};

/// Opens and closes one connection.
pub async fn probe(endpoint: &Endpoint) -> Result<Pass, ProbeError> {
    let stream = endpoint.connect_tcp().await?;
    drop(stream);
    Ok(Pass::default())
}
