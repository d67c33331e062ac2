//! A fake DNS server for DNS_CHECK.

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Result;
use tokio::net::UdpSocket;

/// A DNS responder: an A record for `ok.test.`, NXDOMAIN otherwise; counts queries.
pub async fn dns_server() -> Result<(u16, Arc<Mutex<usize>>)> {
    use hickory_proto::{
        op::{Message, MessageType, ResponseCode},
        rr::{RData, Record, rdata::A},
    };
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    let port = socket.local_addr()?.port();
    let queries = Arc::new(Mutex::new(0));
    let seen = queries.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            *seen.lock().unwrap_or_else(PoisonError::into_inner) += 1;
            let mut answer = Message::new();
            answer
                .set_id(query.id())
                .set_message_type(MessageType::Response)
                .add_queries(query.queries().to_vec());
            match query.queries().first() {
                Some(q) if q.name().to_ascii() == "ok.test." => {
                    answer.add_answer(Record::from_rdata(
                        q.name().clone(),
                        60,
                        RData::A(A::new(192, 0, 2, 1)),
                    ));
                }
                _ => {
                    answer.set_response_code(ResponseCode::NXDomain);
                }
            }
            if let Ok(bytes) = answer.to_vec() {
                let _ = socket.send_to(&bytes, from).await;
            }
        }
    });
    Ok((port, queries))
}
