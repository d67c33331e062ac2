//! keepalived.conf `SMTP_CHECK`: read the server's `220` greeting, say `HELO helo_name`,
//! expect `250`, then `QUIT` (RFC 5321 §4.1.1.1, §4.2). Every step shares `connect_timeout`.

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

use super::{Pass, ProbeError, endpoint::Endpoint};

/// keepalived's default `helo_name`.
pub const DEFAULT_HELO: &str = "smtpchecker.keepalived.org";

/// The longest reply line read (RFC 5321 §4.5.3.1.5: 512 octets).
const MAX_LINE: usize = 512;

/// One SMTP conversation up to HELO.
pub async fn probe(endpoint: &Endpoint, helo: &str) -> Result<Pass, ProbeError> {
    let stream = endpoint.connect_tcp().await?;
    match tokio::time::timeout(endpoint.connect_timeout, converse(stream, helo)).await {
        Ok(result) => result,
        Err(_) => Err(ProbeError::Timeout("SMTP conversation")),
    }
}

async fn converse(stream: tokio::net::TcpStream, helo: &str) -> Result<Pass, ProbeError> {
    let (read, write) = stream.into_split();
    conversation(BufReader::new(read), write, helo).await
}

/// The conversation itself over any byte streams (the fuzz target `checker_reply` plays the
/// server with arbitrary bytes).
pub async fn conversation<R, W>(mut read: R, mut write: W, helo: &str) -> Result<Pass, ProbeError>
where
    R: tokio::io::AsyncBufRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let greeting = reply(&mut read).await?;
    if greeting != 220 {
        return Err(ProbeError::Check(format!(
            "greeting {greeting}, expected 220"
        )));
    }
    write
        .write_all(format!("HELO {helo}\r\n").as_bytes())
        .await
        .map_err(ProbeError::io)?;
    let code = reply(&mut read).await?;
    if code != 250 {
        return Err(ProbeError::Check(format!(
            "HELO answered {code}, expected 250"
        )));
    }
    // QUIT is a courtesy: its answer does not change the result.
    let _ = write.write_all(b"QUIT\r\n").await;
    Ok(Pass::default())
}

/// Reads one (possibly multi-line, `NNN-`) reply and returns its code.
async fn reply<R: tokio::io::AsyncBufRead + Unpin>(read: &mut R) -> Result<u16, ProbeError> {
    loop {
        let mut line = Vec::new();
        let n = tokio::io::AsyncReadExt::take(&mut *read, MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .await
            .map_err(ProbeError::io)?;
        if n == 0 {
            return Err(ProbeError::Check("connection closed".into()));
        }
        let code = line
            .get(..3)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| d.parse::<u16>().ok())
            .ok_or_else(|| {
                ProbeError::Check(format!(
                    "not an SMTP reply: {:?}",
                    String::from_utf8_lossy(&line).trim_end()
                ))
            })?;
        if line.get(3) != Some(&b'-') {
            return Ok(code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::reply;

    #[tokio::test]
    async fn multi_line_replies_end_at_the_line_without_a_dash() {
        let mut text: &[u8] = b"250-first\r\n250-second\r\n250 last\r\n";
        assert_eq!(reply(&mut text).await.ok(), Some(250));
        let mut bad: &[u8] = b"hello\r\n";
        assert!(reply(&mut bad).await.is_err());
    }
}
