//! The envelope of every reply: `{"ok":true,"schema":1,...}` or
//! `{"ok":false,"schema":1,"error":"..."}`.

use crate::json::Json;

/// Version of the reply format (docs/status.md); raised when a field changes meaning or
/// goes away, not when one is added.
pub const SCHEMA: i64 = 1;

/// A success: `body`'s fields after `ok` and `schema` (a body that is not an object goes
/// under `result`).
pub fn ok(body: Json) -> Json {
    let mut fields = vec![("ok".to_owned(), Json::Bool(true)), ("schema".to_owned(), Json::Int(SCHEMA))];
    match body {
        Json::Object(pairs) => fields.extend(pairs.into_iter().filter(|(k, _)| k != "ok" && k != "schema")),
        Json::Null => {}
        other => fields.push(("result".to_owned(), other)),
    }
    Json::Object(fields)
}

/// A failure with its reason.
pub fn error(text: impl std::fmt::Display) -> Json {
    Json::object([
        ("ok", Json::Bool(false)),
        ("schema", Json::Int(SCHEMA)),
        ("error", Json::str(text.to_string())),
    ])
}

/// A refusal because the server is full: an error with `"busy":true`, which tells a
/// client that trying again shortly may work.
pub fn busy(text: impl std::fmt::Display) -> Json {
    let mut reply = error(text);
    if let Json::Object(fields) = &mut reply {
        fields.push(("busy".to_owned(), Json::Bool(true)));
    }
    reply
}

/// True when `reply` is a [`busy`] refusal.
pub fn is_busy(reply: &Json) -> bool {
    reply.get("busy").and_then(Json::as_bool) == Some(true)
}

/// True when `reply` says `"ok":true`.
pub fn is_ok(reply: &Json) -> bool {
    reply.get("ok").and_then(Json::as_bool) == Some(true)
}

/// The `error` text of a failed reply.
pub fn error_text(reply: &Json) -> Option<&str> {
    reply.get("error").and_then(Json::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_bodies_and_errors() {
        let body = Json::object([("ok", Json::Bool(false)), ("vrrp", Json::Array(vec![]))]);
        assert_eq!(ok(body).to_string(), r#"{"ok":true,"schema":1,"vrrp":[]}"#);
        assert_eq!(ok(Json::Null).to_string(), r#"{"ok":true,"schema":1}"#);
        assert_eq!(ok(Json::Int(3)).to_string(), r#"{"ok":true,"schema":1,"result":3}"#);
        let e = error("no such real server");
        assert_eq!(e.to_string(), r#"{"ok":false,"schema":1,"error":"no such real server"}"#);
        assert!(!is_ok(&e) && is_ok(&ok(Json::Null)));
        assert_eq!(error_text(&e), Some("no such real server"));
    }
}
