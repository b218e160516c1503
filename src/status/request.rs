//! One status request: the JSON line a client sends, read into a typed value.
//!
//! Pure: no I/O. Every way a line can be wrong is an [`Error`] whose text is what the
//! client gets back, so it says what was expected.

use crate::json::{self, Json};
use crate::limits;
use std::fmt;

/// Deepest nesting a request may have: `{"params":{...}}` needs 2; a little room for
/// clients that send more, none for a stack-eating one.
const MAX_DEPTH: usize = 8;
/// Longest name echoed back in an error, so a reply does not repeat a whole bad line.
const ECHO_CHARS: usize = 64;
/// A parameter rpcd's HTTP gateway (uhttpd-mod-ubus) adds to every call; never an error.
const UBUS_SESSION: &str = "ubus_rpc_session";

/// The methods, in the order `rpcd list` and the docs give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Status,
    Vrrp,
    VirtualServers,
    Counters,
    Reload,
    Drain,
    Undrain,
    SetWeight,
    Yield,
    Hold,
    /// The event stream: the connection carries event lines from then on.
    Subscribe,
}

/// The type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// A section name: a non-empty string of at most `limits::NAME_BYTES` bytes.
    Name,
    /// An integer in `min..=max`.
    Int {
        min: i64,
        max: i64,
    },
    Bool,
}

/// Largest weight, as the configuration's `real_server.weight` takes it.
pub const MAX_WEIGHT: u32 = 65535;
/// Longest `yield`, in seconds (a day).
pub const MAX_YIELD_SECONDS: u32 = 86400;

impl Method {
    /// Every method.
    pub const ALL: [Method; 11] = [
        Method::Status,
        Method::Vrrp,
        Method::VirtualServers,
        Method::Counters,
        Method::Reload,
        Method::Drain,
        Method::Undrain,
        Method::SetWeight,
        Method::Yield,
        Method::Hold,
        Method::Subscribe,
    ];

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Method::Status => "status",
            Method::Vrrp => "vrrp",
            Method::VirtualServers => "virtual_servers",
            Method::Counters => "counters",
            Method::Reload => "reload",
            Method::Drain => "drain",
            Method::Undrain => "undrain",
            Method::SetWeight => "set_weight",
            Method::Yield => "yield",
            Method::Hold => "hold",
            Method::Subscribe => "subscribe",
        }
    }

    /// The method called `name`.
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// True for methods that change the daemon (root only).
    pub fn is_write(self) -> bool {
        !matches!(
            self,
            Method::Status | Method::Vrrp | Method::VirtualServers | Method::Counters | Method::Subscribe
        )
    }

    /// The parameters the method takes; all are required.
    pub fn params(self) -> &'static [(&'static str, Param)] {
        const WEIGHT: Param = Param::Int { min: 0, max: MAX_WEIGHT as i64 };
        const SECONDS: Param = Param::Int { min: 0, max: MAX_YIELD_SECONDS as i64 };
        match self {
            Method::Status
            | Method::Vrrp
            | Method::VirtualServers
            | Method::Counters
            | Method::Reload
            | Method::Subscribe => &[],
            Method::Drain | Method::Undrain => &[("name", Param::Name)],
            Method::SetWeight => &[("name", Param::Name), ("weight", WEIGHT)],
            Method::Yield => &[("instance", Param::Name), ("seconds", SECONDS)],
            Method::Hold => &[("instance", Param::Name), ("on", Param::Bool)],
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A request with the typed parameters of its method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Everything: the VRRP instances, the virtual services, the counters.
    Status,
    Vrrp,
    VirtualServers,
    Counters,
    /// Read the configuration file again, as SIGHUP does.
    Reload,
    /// Real server `name` to weight 0 in every service it is in, without removing it.
    Drain {
        name: String,
    },
    /// Undo `Drain`.
    Undrain {
        name: String,
    },
    /// Real server `name` to `weight` (0..=65535) until a reload or restart.
    SetWeight {
        name: String,
        weight: u32,
    },
    /// Instance `instance` leaves MASTER and stays BACKUP for `seconds` (0 ends a yield).
    Yield {
        instance: String,
        seconds: u32,
    },
    /// Instance `instance` stays BACKUP while `on`.
    Hold {
        instance: String,
        on: bool,
    },
    /// Every event from now on, one line each, until either side closes.
    Subscribe,
}

impl Request {
    /// The request's method.
    pub fn method(&self) -> Method {
        match self {
            Request::Status => Method::Status,
            Request::Vrrp => Method::Vrrp,
            Request::VirtualServers => Method::VirtualServers,
            Request::Counters => Method::Counters,
            Request::Reload => Method::Reload,
            Request::Drain { .. } => Method::Drain,
            Request::Undrain { .. } => Method::Undrain,
            Request::SetWeight { .. } => Method::SetWeight,
            Request::Yield { .. } => Method::Yield,
            Request::Hold { .. } => Method::Hold,
            Request::Subscribe => Method::Subscribe,
        }
    }

    /// The parameters as JSON (for logs, and for clients that build requests).
    pub fn params(&self) -> Json {
        let name = |n: &str| ("name", Json::str(n));
        let instance = |n: &str| ("instance", Json::str(n));
        Json::object(match self {
            Request::Status
            | Request::Vrrp
            | Request::VirtualServers
            | Request::Counters
            | Request::Reload
            | Request::Subscribe => {
                vec![]
            }
            Request::Drain { name: n } | Request::Undrain { name: n } => vec![name(n)],
            Request::SetWeight { name: n, weight } => {
                vec![name(n), ("weight", Json::Int(i64::from(*weight)))]
            }
            Request::Yield { instance: i, seconds } => {
                vec![instance(i), ("seconds", Json::Int(i64::from(*seconds)))]
            }
            Request::Hold { instance: i, on } => vec![instance(i), ("on", Json::Bool(*on))],
        })
    }

    /// The request as a client sends it (without the newline).
    pub fn to_json(&self) -> Json {
        let mut fields = vec![("method", Json::str(self.method().name()))];
        if !self.method().params().is_empty() {
            fields.push(("params", self.params()));
        }
        Json::object(fields)
    }
}

/// Why a line is not a request; the text is the client's error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    NotJson(json::ParseError),
    NotObject,
    NoMethod,
    MethodNotString,
    UnknownField(String),
    UnknownMethod(String),
    ParamsNotObject,
    UnknownParam(Method, String),
    MissingParam(&'static str),
    BadParam(&'static str, Param),
}

/// `s` quoted and escaped as Rust debug-prints it, cut to `ECHO_CHARS` characters: safe
/// to put in a log line whatever the client sent.
fn echo(s: &str) -> String {
    let cut: String = s.chars().take(ECHO_CHARS).collect();
    let more = if cut.len() < s.len() { "..." } else { "" };
    format!("{cut:?}{more}")
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotJson(e) => write!(f, "not JSON: {e}"),
            Error::NotObject => f.write_str(r#"a request is a JSON object such as {"method":"status"}"#),
            Error::NoMethod => f.write_str("method: missing"),
            Error::MethodNotString => f.write_str("method: expected a string"),
            Error::UnknownField(k) => {
                write!(f, r#"unknown field {}: a request has "method" and "params""#, echo(k))
            }
            Error::UnknownMethod(m) => {
                let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
                write!(f, "unknown method {} (methods: {})", echo(m), names.join(", "))
            }
            Error::ParamsNotObject => f.write_str("params: expected an object"),
            Error::UnknownParam(method, p) => {
                let takes: Vec<&str> = method.params().iter().map(|(n, _)| *n).collect();
                let takes = if takes.is_empty() { "none".to_owned() } else { takes.join(", ") };
                write!(f, "params.{}: {method} takes no such parameter (it takes: {takes})", echo(p))
            }
            Error::MissingParam(p) => write!(f, "params.{p}: missing"),
            Error::BadParam(p, Param::Name) => {
                write!(f, "params.{p}: expected a string of 1 to {} bytes", limits::NAME_BYTES)
            }
            Error::BadParam(p, Param::Int { min, max }) => {
                write!(f, "params.{p}: expected an integer from {min} to {max}")
            }
            Error::BadParam(p, Param::Bool) => write!(f, "params.{p}: expected true or false"),
        }
    }
}

/// Reads one request line (without its newline).
pub fn parse(line: &[u8]) -> Result<Request, Error> {
    let limits = json::Limits { max_bytes: line.len(), max_depth: MAX_DEPTH };
    let value = json::parse(line, limits).map_err(Error::NotJson)?;
    let Json::Object(fields) = &value else { return Err(Error::NotObject) };
    if let Some((k, _)) = fields.iter().find(|(k, _)| k != "method" && k != "params") {
        return Err(Error::UnknownField(k.clone()));
    }
    let method = match value.get("method") {
        None => return Err(Error::NoMethod),
        Some(Json::Str(m)) => m,
        Some(_) => return Err(Error::MethodNotString),
    };
    from_parts(method, value.get("params"))
}

/// A request from a method name and its parameters (absent, null or an object).
pub fn from_parts(method: &str, params: Option<&Json>) -> Result<Request, Error> {
    let method = Method::from_name(method).ok_or_else(|| Error::UnknownMethod(method.to_owned()))?;
    let pairs = match params {
        None | Some(Json::Null) => &[][..],
        Some(Json::Object(pairs)) => pairs.as_slice(),
        Some(_) => return Err(Error::ParamsNotObject),
    };
    let known = |k: &str| k == UBUS_SESSION || method.params().iter().any(|(n, _)| *n == k);
    if let Some((k, _)) = pairs.iter().find(|(k, _)| !known(k)) {
        return Err(Error::UnknownParam(method, k.clone()));
    }
    let args = Args { method, pairs };
    Ok(match method {
        Method::Status => Request::Status,
        Method::Vrrp => Request::Vrrp,
        Method::VirtualServers => Request::VirtualServers,
        Method::Counters => Request::Counters,
        Method::Reload => Request::Reload,
        Method::Drain => Request::Drain { name: args.name("name")? },
        Method::Undrain => Request::Undrain { name: args.name("name")? },
        Method::SetWeight => Request::SetWeight { name: args.name("name")?, weight: args.uint("weight")? },
        Method::Yield => Request::Yield { instance: args.name("instance")?, seconds: args.uint("seconds")? },
        Method::Hold => Request::Hold { instance: args.name("instance")?, on: args.bool("on")? },
        Method::Subscribe => Request::Subscribe,
    })
}

/// The parameters of one request, read against its method's signature.
struct Args<'a> {
    method: Method,
    pairs: &'a [(String, Json)],
}

impl Args<'_> {
    /// The value of `key` and its declared type (every key asked for is in the method's
    /// signature; the fallback type only shapes the error text).
    fn get(&self, key: &'static str) -> Result<(&Json, Param), Error> {
        let kind = self.method.params().iter().find(|(n, _)| *n == key).map_or(Param::Name, |(_, p)| *p);
        let value = self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        value.map(|v| (v, kind)).ok_or(Error::MissingParam(key))
    }

    fn name(&self, key: &'static str) -> Result<String, Error> {
        match self.get(key)? {
            (Json::Str(s), _) if !s.is_empty() && s.len() <= limits::NAME_BYTES => Ok(s.clone()),
            (_, kind) => Err(Error::BadParam(key, kind)),
        }
    }

    fn uint(&self, key: &'static str) -> Result<u32, Error> {
        match self.get(key)? {
            (Json::Int(n), kind @ Param::Int { min, max }) => {
                if (min..=max).contains(n) {
                    u32::try_from(*n).map_err(|_| Error::BadParam(key, kind))
                } else {
                    Err(Error::BadParam(key, kind))
                }
            }
            (_, kind) => Err(Error::BadParam(key, kind)),
        }
    }

    fn bool(&self, key: &'static str) -> Result<bool, Error> {
        match self.get(key)? {
            (Json::Bool(b), _) => Ok(*b),
            (_, kind) => Err(Error::BadParam(key, kind)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn err(line: &str) -> String {
        match parse(line.as_bytes()) {
            Ok(r) => panic!("{line}: parsed as {r:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn reads_each_method_with_its_params() {
        assert_eq!(parse(br#"{"method":"status"}"#), Ok(Request::Status));
        assert_eq!(parse(br#" {"method":"vrrp","params":{}} "#), Ok(Request::Vrrp));
        assert_eq!(parse(br#"{"method":"counters","params":null}"#), Ok(Request::Counters));
        assert_eq!(
            parse(br#"{"params":{"weight":0,"name":"web1"},"method":"set_weight"}"#),
            Ok(Request::SetWeight { name: "web1".into(), weight: 0 })
        );
        assert_eq!(
            parse(br#"{"method":"hold","params":{"instance":"gw","on":false}}"#),
            Ok(Request::Hold { instance: "gw".into(), on: false })
        );
        assert_eq!(
            parse(br#"{"method":"yield","params":{"instance":"gw","seconds":86400}}"#),
            Ok(Request::Yield { instance: "gw".into(), seconds: 86400 })
        );
    }

    #[test]
    fn ignores_the_session_rpcd_adds() {
        let line = br#"{"method":"drain","params":{"name":"web1","ubus_rpc_session":"0123"}}"#;
        assert_eq!(parse(line), Ok(Request::Drain { name: "web1".into() }));
    }

    #[test]
    fn says_what_is_wrong() {
        assert!(err("{").starts_with("not JSON: unexpected end of input"));
        assert_eq!(err("[]"), r#"a request is a JSON object such as {"method":"status"}"#);
        assert_eq!(err("{}"), "method: missing");
        assert_eq!(err(r#"{"method":1}"#), "method: expected a string");
        assert!(err(r#"{"method":"foo"}"#).starts_with(r#"unknown method "foo" (methods: status, vrrp,"#));
        assert!(err(r#"{"method":"status","id":1}"#).starts_with(r#"unknown field "id""#));
        assert_eq!(err(r#"{"method":"drain","params":[]}"#), "params: expected an object");
        assert_eq!(err(r#"{"method":"drain"}"#), "params.name: missing");
        assert_eq!(
            err(r#"{"method":"drain","params":{"name":1}}"#),
            "params.name: expected a string of 1 to 64 bytes"
        );
        assert_eq!(
            err(r#"{"method":"drain","params":{"name":""}}"#),
            "params.name: expected a string of 1 to 64 bytes"
        );
        assert_eq!(
            err(r#"{"method":"set_weight","params":{"name":"a","weight":65536}}"#),
            "params.weight: expected an integer from 0 to 65535"
        );
        assert_eq!(
            err(r#"{"method":"set_weight","params":{"name":"a","weight":-1}}"#),
            "params.weight: expected an integer from 0 to 65535"
        );
        assert_eq!(
            err(r#"{"method":"set_weight","params":{"name":"a","weight":1.5}}"#),
            "not JSON: numbers must be integers at byte 53"
        );
        assert_eq!(
            err(r#"{"method":"hold","params":{"instance":"gw","on":"on"}}"#),
            "params.on: expected true or false"
        );
        assert_eq!(
            err(r#"{"method":"status","params":{"x":1}}"#),
            r#"params."x": status takes no such parameter (it takes: none)"#
        );
        assert_eq!(
            err(r#"{"method":"drain","params":{"nmae":"a"}}"#),
            r#"params."nmae": drain takes no such parameter (it takes: name)"#
        );
    }

    #[test]
    fn echoes_bad_names_short_and_escaped() {
        let long = format!(r#"{{"method":"{}\n"}}"#, "x".repeat(500));
        let e = err(&long);
        assert!(e.len() < 250, "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn methods_have_unique_names_and_only_reads_are_open() {
        for m in Method::ALL {
            assert_eq!(Method::from_name(m.name()), Some(m));
        }
        let reads: Vec<&str> = Method::ALL.iter().filter(|m| !m.is_write()).map(|m| m.name()).collect();
        assert_eq!(reads, ["status", "vrrp", "virtual_servers", "counters", "subscribe"]);
    }

    fn request() -> impl Strategy<Value = Request> {
        let name = "[a-z0-9_]{1,64}";
        prop_oneof![
            Just(Request::Status),
            Just(Request::Reload),
            Just(Request::Subscribe),
            name.prop_map(|name| Request::Drain { name }),
            (name, 0..=MAX_WEIGHT).prop_map(|(name, weight)| Request::SetWeight { name, weight }),
            (name, 0..=MAX_YIELD_SECONDS)
                .prop_map(|(instance, seconds)| Request::Yield { instance, seconds }),
            (name, any::<bool>()).prop_map(|(instance, on)| Request::Hold { instance, on }),
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_lines_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn request_lines_read_back(r in request()) {
            prop_assert_eq!(parse(r.to_json().to_string().as_bytes()), Ok(r));
        }
    }
}
