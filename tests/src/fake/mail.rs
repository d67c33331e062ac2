//! A fake mail server (SMTP, RFC 5321) for `smtp_alert`: it accepts every mail and keeps it
//! for the test to read.

use std::{
    io::{BufRead as _, BufReader, Write as _},
    net::{TcpListener, TcpStream},
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Result;

/// One mail as the listener received it: envelope recipients and the DATA text.
#[derive(Clone, Debug, Default)]
pub struct Mail {
    /// The envelope recipients (`RCPT TO`).
    pub recipients: Vec<String>,
    /// The message as sent after `DATA`.
    pub data: String,
}

impl Mail {
    /// The Subject header, unfolded (RFC 5322 §2.2.3: a long one spans several lines).
    pub fn subject(&self) -> Option<String> {
        let mut lines = self
            .data
            .lines()
            .skip_while(|l| !l.starts_with("Subject: "));
        let mut subject = lines.next()?.strip_prefix("Subject: ")?.to_owned();
        for more in lines.take_while(|l| l.starts_with([' ', '\t'])) {
            subject.push_str(more);
        }
        Some(subject)
    }

    /// The body with quoted-printable soft line breaks and `=3D` decoded (lettre encodes
    /// long lines so).
    pub fn text(&self) -> String {
        self.data.replace("=\r\n", "").replace("=3D", "=")
    }
}

/// Serves SMTP on `listener` from a thread; each mail received is appended to the list
/// returned.
pub fn serve_smtp(listener: TcpListener) -> Arc<Mutex<Vec<Mail>>> {
    let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
    let received = Arc::clone(&mails);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = session(stream, &received);
        }
    });
    mails
}

/// Speaks enough SMTP (RFC 5321: greeting, EHLO/HELO, MAIL, RCPT, DATA, QUIT) for one
/// client session and appends what it received to `mails`.
fn session(stream: TcpStream, mails: &Mutex<Vec<Mail>>) -> Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 test.lab ESMTP\r\n")?;
    let mut mail = Mail::default();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") || command.starts_with("HELO") {
            out.write_all(b"250 test.lab\r\n")?;
        } else if command.starts_with("MAIL FROM") {
            mail = Mail::default();
            out.write_all(b"250 OK\r\n")?;
        } else if command.starts_with("RCPT TO") {
            mail.recipients.push(
                line.trim_end()
                    .get(8..)
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            );
            out.write_all(b"250 OK\r\n")?;
        } else if command == "DATA" {
            out.write_all(b"354 go ahead\r\n")?;
            loop {
                line.clear();
                if lines.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line.trim_end() == "." {
                    break;
                }
                mail.data.push_str(&line);
            }
            if let Ok(mut all) = mails.lock() {
                all.push(std::mem::take(&mut mail));
            }
            out.write_all(b"250 queued\r\n")?;
        } else if command == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            out.write_all(b"250 OK\r\n")?;
        }
    }
}
