//! OpenWrt's rpcd exec-plugin protocol, so `/usr/libexec/rpcd/keeplite` (a symlink to
//! the binary) makes `ubus call keeplite status` work without libubus.
//!
//! rpcd runs `PLUGIN list` once and registers the methods it prints with their parameter
//! types (a string value declares a string, a number an int32, a boolean a bool); for each
//! call it runs `PLUGIN call METHOD`, writes the parameters as a JSON object on stdin,
//! closes it, and relays the JSON object printed on stdout (anything else is an error).

use super::client;
use super::locate::Socket;
use super::reply;
use super::request::{Method, Param};
use crate::json::{self, Json};
use std::io::Read;

/// Largest parameters object read from stdin.
const MAX_INPUT: usize = 64 * 1024;

/// What `list` prints: every method and its parameter signature. Not `subscribe`: an
/// exec plugin answers once (ubus gets the events from `keeplite subscribe --ubus`).
pub fn list() -> Json {
    Json::object(Method::ALL.iter().filter(|m| **m != Method::Subscribe).map(|m| {
        let params = m.params().iter().map(|(name, kind)| {
            let example = match kind {
                Param::Name => Json::str("str"),
                Param::Int { .. } => Json::Int(32),
                Param::Bool => Json::Bool(true),
            };
            (*name, example)
        });
        (m.name(), Json::object(params))
    }))
}

/// The parameters from stdin's text: an object, or nothing (a person at a terminal).
pub fn params(input: &[u8]) -> Result<Option<Json>, String> {
    if input.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match json::parse(input, json::Limits { max_bytes: MAX_INPUT, max_depth: 8 }) {
        Ok(value @ Json::Object(_)) => Ok(Some(value)),
        Ok(_) => Err("the parameters on stdin must be a JSON object".to_owned()),
        Err(e) => Err(format!("the parameters on stdin are not JSON: {e}")),
    }
}

/// `call METHOD`: reads the parameters from `stdin` (skipped when it is a terminal),
/// asks the daemon, and returns the object to print and whether it says ok. Generic, not
/// `dyn Read`: a trait object would link every `Read` method of stdin.
pub fn call(socket: &Socket, method: &str, stdin: impl Read, terminal: bool) -> (Json, bool) {
    let mut input = Vec::new();
    if !terminal {
        // One byte past the limit tells an over-long input from one that fits.
        if let Err(e) = stdin.take(MAX_INPUT as u64 + 1).read_to_end(&mut input) {
            return (reply::error(format!("cannot read the parameters: {e}")), false);
        }
    }
    let params = match params(&input) {
        Ok(p) => p,
        Err(e) => return (reply::error(e), false),
    };
    if method == Method::Subscribe.name() {
        return (reply::error("subscribe streams events: run `keeplite subscribe`"), false);
    }
    match socket.call(method, params.as_ref(), client::TIMEOUT) {
        Ok(r) => {
            let ok = reply::is_ok(&r);
            (r, ok)
        }
        Err(e) => (reply::error(e), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_method_with_typed_params() {
        let text = list().to_string();
        assert!(text.starts_with(r#"{"status":{},"vrrp":{},"virtual_servers":{},"counters":{},"reload":{},"#));
        assert!(text.contains(r#""set_weight":{"name":"str","weight":32}"#));
        assert!(text.contains(r#""hold":{"instance":"str","on":true}"#));
        assert!(text.contains(r#""yield":{"instance":"str","seconds":32}"#));
    }

    #[test]
    fn reads_params_from_stdin() {
        assert_eq!(params(b""), Ok(None));
        assert_eq!(params(b" \n"), Ok(None));
        assert_eq!(params(br#"{ "name": "web1" }"#), Ok(Some(Json::object([("name", Json::str("web1"))]))));
        assert!(params(b"[]").is_err());
        assert!(params(b"{").is_err());
    }

    #[test]
    fn bad_stdin_is_an_error_object() {
        let (reply, ok) = call(&Socket::given("/nonexistent/keeplite.sock"), "status", &b"[1]"[..], false);
        assert!(!ok);
        assert_eq!(reply::error_text(&reply), Some("the parameters on stdin must be a JSON object"));
        let (reply, ok) = call(&Socket::given("/nonexistent/keeplite.sock"), "status", &b""[..], false);
        assert!(!ok);
        assert!(reply::error_text(&reply).is_some_and(|e| e.contains("no such socket")), "{reply}");
    }
}
