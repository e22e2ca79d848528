//! Property tests of the Feishu event decoder: any bytes, any JSON and any
//! frame parts decode or fail cleanly (never a panic), and what Feishu
//! sends comes out whole: the message's ids, text and mention of the bot;
//! a split payload in any order of arrival; an encrypted body.

use super::event::{parse, MESSAGE_RECEIVE};
use super::frame::{Frame, Reassembler, HEADER_MESSAGE_ID, HEADER_SEQ, HEADER_SUM};
use super::webhook::{decrypt, encrypt};
use proptest::prelude::*;
use prost::Message;
use serde_json::{json, Value};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        Just(Value::String(MESSAGE_RECEIVE.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "header",
                    "event",
                    "event_type",
                    "token",
                    "message",
                    "sender",
                    "sender_id",
                    "open_id",
                    "message_id",
                    "chat_id",
                    "chat_type",
                    "message_type",
                    "content",
                    "mentions",
                    "key",
                    "id",
                    "type",
                    "x"
                ]),
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_decode_or_fail(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(event) = parse(&bytes) {
            if let Some(m) = event.message {
                let _ = m.into_inbound(Some("ou_bot"));
            }
        }
        let _ = Frame::decode(bytes.as_slice());
    }

    #[test]
    fn any_json_event_decodes_or_fails(event in any_json(), legacy in any::<bool>()) {
        let envelope = if legacy {
            json!({"token": "vt", "event": event})
        } else {
            json!({"schema": "2.0", "header": {"event_type": MESSAGE_RECEIVE, "token": "vt"}, "event": event})
        };
        let bytes = serde_json::to_vec(&envelope).expect("json");
        if let Ok(event) = parse(&bytes) {
            if let Some(m) = event.message {
                let inbound = m.into_inbound(None);
                prop_assert!(!inbound.mentions_bot);
            }
        }
    }

    #[test]
    fn a_text_message_comes_out_whole(
        text in "[^@\\s][^@]{0,60}",
        message_id in "om_[a-z0-9]{1,20}",
        chat_id in "oc_[a-z0-9]{1,20}",
        chat_type in prop::sample::select(vec!["p2p", "group"]),
        mentioned in prop::collection::vec("ou_[a-z0-9]{1,8}", 0..4),
        bot_mentioned in any::<bool>(),
    ) {
        let mut mentions: Vec<Value> = mentioned.iter().enumerate()
            .map(|(i, id)| json!({"key": format!("@_user_{}", i + 1), "id": {"open_id": id}}))
            .collect();
        if bot_mentioned {
            mentions.push(json!({"key": format!("@_user_{}", mentions.len() + 1), "id": {"open_id": "ou_thebot"}}));
        }
        let keys: Vec<String> = mentions.iter().map(|m| format!("{} ", m["key"].as_str().unwrap_or_default())).collect();
        let content = json!({"text": format!("{}{}", keys.concat(), text)}).to_string();
        let envelope = json!({
            "schema": "2.0",
            "header": {"event_type": MESSAGE_RECEIVE, "token": "vt"},
            "event": {
                "sender": {"sender_id": {"open_id": "ou_sender"}},
                "message": {"message_id": message_id, "chat_id": chat_id, "chat_type": chat_type,
                            "message_type": "text", "content": content, "mentions": mentions}
            }
        });
        let event = parse(&serde_json::to_vec(&envelope).expect("json")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&event.token, "vt");
        let message = event.message.expect("a message event");
        prop_assert_eq!(message.message_id(), message_id.as_str());
        let inbound = message.into_inbound(Some("ou_thebot"));
        prop_assert_eq!(inbound.receive_id, chat_id);
        prop_assert_eq!(inbound.text, text.trim());
        prop_assert_eq!(inbound.mentions_bot, bot_mentioned);
        prop_assert_eq!(inbound.sender_open_id.as_deref(), Some("ou_sender"));
    }

    #[test]
    fn split_payloads_join_in_any_order(
        payload in prop::collection::vec(any::<u8>(), 1..2000),
        parts in 2usize..8,
        order in any::<prop::sample::Index>(),
    ) {
        let size = payload.len().div_ceil(parts).max(1);
        let chunks: Vec<&[u8]> = payload.chunks(size).collect();
        let sum = chunks.len();
        let mut frames: Vec<Frame> = chunks.iter().enumerate().map(|(seq, chunk)| {
            let mut frame = Frame { payload: Some(chunk.to_vec()), ..Default::default() };
            frame.add_header(HEADER_MESSAGE_ID, "m1");
            frame.add_header(HEADER_SUM, &sum.to_string());
            frame.add_header(HEADER_SEQ, &seq.to_string());
            frame
        }).collect();
        // Some order of arrival: rotate, then swap two.
        frames.rotate_left(order.index(sum));
        if sum > 2 { frames.swap(0, sum - 1); }
        let mut joiner = Reassembler::default();
        let mut joined = None;
        for (i, frame) in frames.iter().enumerate() {
            // Round trip through the wire encoding, as the socket does.
            let frame = Frame::decode(frame.encode_to_vec().as_slice()).expect("own encoding");
            let out = joiner.add(&frame);
            prop_assert_eq!(out.is_some(), i + 1 == sum);
            joined = out.or(joined);
        }
        prop_assert_eq!(joined, Some(payload));
    }

    #[test]
    fn encrypted_bodies_round_trip_and_garbage_fails(
        plain in prop::collection::vec(any::<u8>(), 0..300),
        key in ".{0,24}",
        iv in any::<[u8; 16]>(),
        garbage in ".{0,80}",
    ) {
        let sealed = encrypt(&plain, &key, iv);
        prop_assert_eq!(decrypt(&sealed, &key).ok(), Some(plain.clone()));
        let _ = decrypt(&garbage, &key);
        // Another key fails, or (when the padding happens to fit) yields noise.
        let other = format!("{}x", key);
        if let Ok(noise) = decrypt(&sealed, &other) {
            prop_assert_ne!(noise, plain);
        }
    }
}
