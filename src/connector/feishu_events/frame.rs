//! The long connection's wire format: protobuf `Frame`s (`pbbp2.proto` of
//! Feishu's SDKs), written by hand for prost so no `protoc` is needed.
//!
//! The `.proto` is proto2 and marks `SeqID`, `LogID`, `service`, `method`
//! and `Header.key`/`value` *required*; the SDK's decoder rejects a frame
//! without them, and its encoder always writes fields 6, 7 and 9 too. The
//! `required` labels below make prost write zeros and empty strings as well,
//! so our frames carry the same fields as the SDK's.

use prost::Message;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// `method` of a frame.
pub const METHOD_CONTROL: i32 = 0;
pub const METHOD_DATA: i32 = 1;

/// Header names and values (Go SDK `ws/const.go`).
pub const HEADER_TYPE: &str = "type";
pub const HEADER_MESSAGE_ID: &str = "message_id";
pub const HEADER_SUM: &str = "sum";
pub const HEADER_SEQ: &str = "seq";
pub const HEADER_TRACE_ID: &str = "trace_id";
pub const HEADER_BIZ_RT: &str = "biz_rt";
pub const TYPE_EVENT: &str = "event";
pub const TYPE_CARD: &str = "card";
pub const TYPE_PING: &str = "ping";
pub const TYPE_PONG: &str = "pong";

#[derive(Clone, PartialEq, Message)]
pub struct Header {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, required, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Frame {
    #[prost(uint64, required, tag = "1")]
    pub seq_id: u64,
    #[prost(uint64, required, tag = "2")]
    pub log_id: u64,
    #[prost(int32, required, tag = "3")]
    pub service: i32,
    #[prost(int32, required, tag = "4")]
    pub method: i32,
    #[prost(message, repeated, tag = "5")]
    pub headers: Vec<Header>,
    #[prost(string, required, tag = "6")]
    pub payload_encoding: String,
    #[prost(string, required, tag = "7")]
    pub payload_type: String,
    /// Absent in pings; prost's `payload()` reads it as empty then.
    #[prost(bytes = "vec", optional, tag = "8")]
    pub payload: Option<Vec<u8>>,
    #[prost(string, required, tag = "9")]
    pub log_id_new: String,
}

impl Frame {
    /// The keep-alive the client sends every `PingInterval`.
    pub fn ping(service_id: i32) -> Self {
        let mut frame = Frame {
            service: service_id,
            method: METHOD_CONTROL,
            ..Default::default()
        };
        frame.add_header(HEADER_TYPE, TYPE_PING);
        frame
    }

    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.key == key)
            .map(|h| h.value.as_str())
    }

    /// A header as a number; absent or malformed is 0, as in the SDK.
    pub fn header_int(&self, key: &str) -> usize {
        self.header(key).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    pub fn add_header(&mut self, key: &str, value: &str) {
        self.headers.push(Header {
            key: key.into(),
            value: value.into(),
        });
    }

    /// The acknowledgement of a data frame: the same frame, its payload
    /// replaced by `{"code": …}` and the handling time added as `biz_rt`.
    pub fn into_ack(mut self, code: u16, handled_in: Duration) -> Self {
        self.add_header(HEADER_BIZ_RT, &handled_in.as_millis().to_string());
        self.payload = Some(format!("{{\"code\":{code}}}").into_bytes());
        self
    }
}

/// How long the parts of a split message wait for the rest (the SDK keeps
/// them 5 s; a little more costs nothing).
const PARTS_TTL: Duration = Duration::from_secs(10);
/// A message split into more parts than this is refused (memory bound).
const MAX_PARTS: usize = 1024;

/// Joins the parts of messages that the server split (`message_id`, `sum`,
/// `seq` headers).
#[derive(Default)]
pub struct Reassembler {
    pending: HashMap<String, Pending>,
}

struct Pending {
    parts: Vec<Option<Vec<u8>>>,
    touched: Instant,
}

impl Reassembler {
    /// The whole payload once every part of the frame's message arrived;
    /// `None` while parts are missing. Unsplit frames pass straight through.
    pub fn add(&mut self, frame: &Frame) -> Option<Vec<u8>> {
        let sum = frame.header_int(HEADER_SUM);
        if sum <= 1 {
            return Some(frame.payload().to_vec());
        }
        let seq = frame.header_int(HEADER_SEQ);
        if sum > MAX_PARTS || seq >= sum {
            tracing::warn!(sum, seq, "split frame with impossible numbering; dropped");
            return None;
        }
        let now = Instant::now();
        self.pending.retain(|_, p| now - p.touched < PARTS_TTL);
        let id = frame
            .header(HEADER_MESSAGE_ID)
            .unwrap_or_default()
            .to_string();
        let entry = self.pending.entry(id.clone()).or_insert_with(|| Pending {
            parts: vec![None; sum],
            touched: now,
        });
        if entry.parts.len() != sum {
            // A different `sum` for the same id: start over with this one.
            entry.parts = vec![None; sum];
        }
        entry.parts[seq] = Some(frame.payload().to_vec());
        entry.touched = now;
        if entry.parts.iter().any(Option::is_none) {
            return None;
        }
        let parts = self.pending.remove(&id)?.parts;
        Some(parts.into_iter().flatten().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ping_carries_every_required_field() {
        let bytes = Frame::ping(7).encode_to_vec();
        // Tags 1, 2, 3, 4 as varints (even when zero), then the header.
        assert_eq!(&bytes[..8], &[0x08, 0, 0x10, 0, 0x18, 7, 0x20, 0]);
        let back = Frame::decode(bytes.as_slice()).unwrap();
        assert_eq!(back.header(HEADER_TYPE), Some(TYPE_PING));
        assert_eq!(back.service, 7);
    }

    #[test]
    fn parts_are_joined_in_seq_order() {
        let part = |seq: usize, data: &str| {
            let mut f = Frame {
                method: METHOD_DATA,
                payload: Some(data.as_bytes().to_vec()),
                ..Default::default()
            };
            f.add_header(HEADER_MESSAGE_ID, "m1");
            f.add_header(HEADER_SUM, "3");
            f.add_header(HEADER_SEQ, &seq.to_string());
            f
        };
        let mut r = Reassembler::default();
        assert_eq!(r.add(&part(2, "c")), None);
        assert_eq!(r.add(&part(0, "a")), None);
        assert_eq!(r.add(&part(1, "b")), Some(b"abc".to_vec()));
        assert!(r.pending.is_empty());
    }
}
