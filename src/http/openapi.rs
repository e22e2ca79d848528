//! What both OpenAPI documents share.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::Modify;

/// Declares the `bearer` security scheme that every route uses by default.
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as served: every operation that needs a token also lists
/// the answers the shared guard gives before any handler runs (400, 401,
/// 429, and 413 where a body is read), so each route's annotation lists
/// only its own.
pub fn served(doc: utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut doc = serde_json::to_value(doc).unwrap_or_default();
    let error = serde_json::json!({"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}});
    let answer = |description: &str| serde_json::json!({"description": description, "content": error.clone()});
    let mut too_many =
        answer("Rate limit of the token, or too many failed authentications from this address");
    too_many["headers"] = serde_json::json!({"Retry-After": {
        "description": "Seconds to wait", "schema": {"type": "integer", "minimum": 1}}});
    let guard = [
        (
            "400",
            answer("A bad parameter or header (also: more than one Authorization header)"),
        ),
        ("401", answer("Missing or invalid bearer token")),
        ("429", too_many),
    ];
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return doc;
    };
    for operation in paths.values_mut().filter_map(|p| p.as_object_mut()) {
        for op in operation.values_mut().filter_map(|o| o.as_object_mut()) {
            for param in op
                .get_mut("parameters")
                .and_then(|p| p.as_array_mut())
                .into_iter()
                .flatten()
            {
                if let Some(schema) = param.get_mut("schema") {
                    on_the_wire(schema);
                }
            }
            let open = op
                .get("security")
                .and_then(|s| s.as_array())
                .is_some_and(|s| {
                    s.iter()
                        .any(|r| r.as_object().is_some_and(|r| r.is_empty()))
                });
            if open {
                continue;
            }
            let has_body = op.contains_key("requestBody");
            let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else {
                continue;
            };
            for (status, value) in &guard {
                responses.entry(*status).or_insert_with(|| value.clone());
            }
            if has_body {
                responses
                    .entry("413")
                    .or_insert_with(|| answer("The body exceeds `limits.body_bytes`"));
            }
        }
    }
    doc
}

/// A parameter's schema as the wire has it: an optional parameter is absent,
/// never `null` (utoipa describes `Option<T>` as nullable), and an unsigned
/// number stops where the server's `u64` does.
fn on_the_wire(schema: &mut serde_json::Value) {
    use serde_json::Value;
    let is_null = |v: &Value| v.get("type").and_then(Value::as_str) == Some("null");
    if let Some(one_of) = schema.get("oneOf").and_then(Value::as_array) {
        let rest: Vec<Value> = one_of.iter().filter(|v| !is_null(v)).cloned().collect();
        if let [only] = rest.as_slice() {
            *schema = only.clone();
        }
    }
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if let Some(types) = obj.get_mut("type").and_then(Value::as_array_mut) {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            obj.insert("type".into(), only);
        }
    }
    let unsigned = obj.get("type").and_then(Value::as_str) == Some("integer")
        && obj.get("minimum").and_then(Value::as_u64) == Some(0);
    if unsigned && !obj.contains_key("maximum") {
        obj.insert("maximum".into(), Value::from(u64::MAX));
        obj.remove("format");
    }
}
