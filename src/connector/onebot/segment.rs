//! OneBot message segments (`{"type", "data": {…}}`), from either form an
//! implementation may send: an array of segments or a CQ-code string
//! (`[CQ:at,qq=10001]`, with `&amp;`, `&#91;`, `&#93;`, `&#44;` escapes).

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub kind: String,
    /// Values as strings (the spec's form; numbers are turned into text).
    pub data: Map<String, Value>,
}

impl Segment {
    pub fn get(&self, key: &str) -> Option<String> {
        match self.data.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }
}

/// The segments of a `message` field, whichever form it has.
pub fn parse(message: &Value) -> Vec<Segment> {
    match message {
        Value::String(cq) => parse_cq(cq),
        Value::Array(items) => items.iter().filter_map(from_json).collect(),
        // A lone segment object (some implementations send one).
        Value::Object(_) => from_json(message).into_iter().collect(),
        _ => Vec::new(),
    }
}

fn from_json(item: &Value) -> Option<Segment> {
    Some(Segment {
        kind: item["type"].as_str()?.to_string(),
        data: item["data"].as_object().cloned().unwrap_or_default(),
    })
}

/// A CQ-code string: text runs become `text` segments.
pub fn parse_cq(s: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("[CQ:") {
        let Some(len) = rest[start..].find(']') else {
            break;
        };
        push_text(&mut out, &rest[..start]);
        let code = &rest[start + 4..start + len];
        let mut parts = code.split(',');
        let kind = parts.next().unwrap_or_default().to_string();
        let data = parts
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), Value::String(unescape(v))))
            .collect();
        out.push(Segment { kind, data });
        rest = &rest[start + len + 1..];
    }
    push_text(&mut out, rest);
    out
}

fn push_text(out: &mut Vec<Segment>, text: &str) {
    if text.is_empty() {
        return;
    }
    let mut data = Map::new();
    data.insert("text".into(), Value::String(unescape(text)));
    out.push(Segment {
        kind: "text".into(),
        data,
    });
}

/// `&` last, so `&amp;#91;` stays `&#91;`.
fn unescape(s: &str) -> String {
    s.replace("&#91;", "[")
        .replace("&#93;", "]")
        .replace("&#44;", ",")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cq_codes_and_arrays_give_the_same_segments() {
        let cq = parse(&json!(
            "[CQ:at,qq=10001] hi &#91;x&#93; &amp;#91;[CQ:reply,id=5]"
        ));
        let array = parse(&json!([
            {"type": "at", "data": {"qq": "10001"}},
            {"type": "text", "data": {"text": " hi [x] &#91;"}},
            {"type": "reply", "data": {"id": 5}},
        ]));
        assert_eq!(cq.len(), 3);
        assert_eq!(cq[0].get("qq"), array[0].get("qq"));
        assert_eq!(cq[1].get("text"), array[1].get("text"));
        assert_eq!(cq[2].get("id").as_deref(), Some("5"));
        assert_eq!(array[2].get("id").as_deref(), Some("5"));
        assert_eq!(
            parse_cq("[CQ:image,file=a&#44;b.png"),
            parse_cq("[CQ:image,file=a&#44;b.png")
        );
    }
}
