//! keepalived.conf `DNS_CHECK`: send one query (`type`, default SOA; `name`, default ".")
//! over UDP and count the server up when a response with our id, no error (RFC 1035
//! §4.1.1 RCODE 0) and at least one answer arrives within `connect_timeout`.

use hickory_proto::{
    op::{Message, MessageType, OpCode, Query, ResponseCode},
    rr::{Name, RecordType},
};

use super::{Pass, ProbeError, endpoint::Endpoint, plan_error::PlanError};

/// keepalived's default query type.
pub const DEFAULT_TYPE: &str = "SOA";
/// keepalived's default query name.
pub const DEFAULT_NAME: &str = ".";

/// A DNS query, checked when the configuration is planned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DnsQuery {
    /// keepalived.conf `name`.
    pub name: String,
    /// keepalived.conf `type`.
    pub rtype: String,
}

impl DnsQuery {
    /// Checks `type` and `name`.
    pub fn parse(rtype: &str, name: &str) -> Result<(Name, RecordType), PlanError> {
        let rtype: RecordType = rtype
            .to_ascii_uppercase()
            .parse()
            .map_err(|_| PlanError::DnsType(rtype.to_owned()))?;
        let name = Name::from_ascii(name).map_err(|e| PlanError::DnsName {
            name: name.to_owned(),
            why: e.to_string(),
        })?;
        Ok((name, rtype))
    }
}

/// One query, one answer.
pub async fn probe(endpoint: &Endpoint, query: &DnsQuery) -> Result<Pass, ProbeError> {
    let (name, rtype) =
        DnsQuery::parse(&query.rtype, &query.name).map_err(|e| ProbeError::Check(e.to_string()))?;
    let id = fastrand::u16(..);
    let mut message = Message::new();
    message
        .set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(Query::query(name, rtype));
    let bytes = message
        .to_vec()
        .map_err(|e| ProbeError::Check(format!("encoding the query: {e}")))?;
    let socket = endpoint.connect_udp().await?;
    socket.send(&bytes).await.map_err(ProbeError::io)?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = socket.recv(&mut buf).await.map_err(ProbeError::io)?;
        let Some(data) = buf.get(..n) else { continue };
        match judge(data, id, rtype, &query.name) {
            Answer::NotOurs => continue,
            Answer::Judged(result) => return result,
        }
    }
}

/// What a datagram received on the query's socket says.
#[derive(Debug)]
pub enum Answer {
    /// Not a response to our query (malformed, another id, or a query): keep waiting.
    NotOurs,
    /// The answer to our query, and whether the server passes.
    Judged(Result<Pass, ProbeError>),
}

/// Judges one datagram as the answer to query `id` for `rtype name`.
pub fn judge(data: &[u8], id: u16, rtype: RecordType, name: &str) -> Answer {
    let Ok(answer) = Message::from_vec(data) else {
        return Answer::NotOurs;
    };
    if answer.id() != id || answer.message_type() != MessageType::Response {
        return Answer::NotOurs;
    }
    if answer.response_code() != ResponseCode::NoError {
        return Answer::Judged(Err(ProbeError::Check(format!(
            "{rtype} {name} answered {}",
            answer.response_code()
        ))));
    }
    if answer.answer_count() == 0 {
        return Answer::Judged(Err(ProbeError::Check(format!(
            "no answer to {rtype} {name}"
        ))));
    }
    Answer::Judged(Ok(Pass::default()))
}
