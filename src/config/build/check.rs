//! `check` sections: health-check templates.

use super::kinds;
use super::reader::Reader;
use super::Host;
use crate::config::model::*;
use crate::config::value::{self, Bad};
use std::time::Duration;

/// keepalived's `connect_timeout` default.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How often a real server looks at its BFD session's state by default.
const BFD_LOOK: Duration = Duration::from_millis(100);

const ADDRESS: &[&str] = &["connect_ip", "bind_ip"];
const PORT: &[&str] = &["connect_port"];
const HTTP: &[&str] = &["path", "expect_status", "digest", "host"];
const TLS: &[&str] = &["sni", "verify", "ca_file"];
const SMTP: &[&str] = &["helo_name"];
const SCRIPT: &[&str] = &["command", "dynamic", "user"];
const GROUPS: [&[&str]; 12] = [
    ADDRESS,
    PORT,
    HTTP,
    TLS,
    SMTP,
    SCRIPT,
    kinds::UDP,
    kinds::DNS,
    kinds::FILE,
    kinds::PROCESS,
    kinds::BFD,
    kinds::WEIGHT,
];

const TYPES: &[(&str, &str)] = &[
    ("tcp", "tcp"),
    ("http", "http"),
    ("https", "https"),
    ("smtp", "smtp"),
    ("script", "script"),
    ("udp", "udp"),
    ("dns", "dns"),
    ("ping", "ping"),
    ("file", "file"),
    ("process", "process"),
    ("bfd", "bfd"),
];

/// The option groups a check type takes.
fn groups(kind: &str) -> &'static [&'static [&'static str]] {
    match kind {
        "tcp" => &[ADDRESS, PORT],
        "http" => &[ADDRESS, PORT, HTTP],
        "https" => &[ADDRESS, PORT, HTTP, TLS],
        "smtp" => &[ADDRESS, PORT, SMTP],
        "udp" => &[ADDRESS, PORT, kinds::UDP],
        "dns" => &[ADDRESS, PORT, kinds::DNS],
        "ping" => &[ADDRESS],
        "file" => &[kinds::FILE, kinds::WEIGHT],
        "process" => &[kinds::PROCESS, kinds::WEIGHT],
        "bfd" => &[ADDRESS, kinds::BFD, kinds::WEIGHT],
        _ => &[SCRIPT],
    }
}

/// Reads one `check` section.
pub fn check(r: &mut Reader, host: &Host) -> Option<Check> {
    let kind = r.required("type", |v| value::keyword(v, TYPES))?;
    let allowed = groups(kind);
    for group in GROUPS.into_iter().filter(|g| !g.is_empty()) {
        if !allowed.contains(&group) {
            let types = applies_to(group);
            let article = if kind.starts_with('h') { "an" } else { "a" };
            r.forbid(
                group,
                &format!("to {article} {kind} check"),
                &format!("this option on {types} checks only"),
            );
        }
    }
    if kind == "bfd" {
        // A session has its own timers (min_rx, min_tx, multiplier), not a probe's; a real
        // server looks at its state every `interval`.
        r.forbid(
            &["timeout", "rise", "fall", "retry_delay"],
            "to a bfd check",
            "min_rx, min_tx, idle_tx and multiplier (and interval, how often a real server looks)",
        );
    }
    let connect_ip = r.one("connect_ip", value::ip);
    let bind_ip = r.one("bind_ip", value::ip);
    if let (Some(c), Some(b)) = (connect_ip, bind_ip) {
        if c.is_ipv4() != b.is_ipv4() {
            r.fail(
                "bind_ip",
                format!("{b} and connect_ip {c} are of different families"),
                "addresses of one family",
            );
        }
    }
    // A real server looks at a BFD session's state every 100 ms unless told otherwise: a
    // look costs nothing, and keepalived's BFD_CHECK hears of a change at once.
    let interval = match r.one("interval", value::positive) {
        None if kind == "bfd" => Some(BFD_LOOK),
        given => given,
    };
    // A file or process check reads this machine: with a short interval of its own, half
    // of it is time enough, where the 5 s default would be refused.
    let default_timeout = match interval {
        Some(i) if matches!(kind, "file" | "process" | "bfd") => {
            TIMEOUT.min(i / 2).max(Duration::from_millis(1))
        }
        _ => TIMEOUT,
    };
    let timeout = r.or("timeout", default_timeout, value::positive);
    if let Some(i) = interval.filter(|&i| timeout >= i) {
        r.fail(
            "timeout",
            format!(
                "{} is not shorter than the interval {}",
                value::format_duration(timeout),
                value::format_duration(i)
            ),
            "a timeout shorter than the interval",
        );
    }
    // keepalived's delay_before_retry: 3 s for HTTP_GET and SSL_GET, 1 s otherwise (its
    // DNS_CHECK's default, the delay_loop, is set by the import, which knows it).
    let retry_default =
        if matches!(kind, "http" | "https") { Duration::from_secs(3) } else { Duration::from_secs(1) };
    let fall_default = if kind == "bfd" { 1 } else { 2 };
    let kind = match kind {
        "tcp" => CheckKind::Tcp,
        "http" => CheckKind::Http(http(r)),
        "https" => {
            let h = http(r);
            CheckKind::Https(h, tls(r))
        }
        "smtp" => CheckKind::Smtp { helo_name: r.or("helo_name", host.hostname.clone(), value::host) },
        "udp" => CheckKind::Udp(kinds::udp(r)),
        "dns" => CheckKind::Dns(kinds::dns(r)),
        "ping" => CheckKind::Ping,
        "file" => CheckKind::File(kinds::file(r)?),
        "process" => CheckKind::Process(kinds::process(r)?),
        "bfd" => {
            if !r.has("connect_ip") {
                r.fail(
                    "connect_ip",
                    "a bfd check needs its neighbour",
                    "connect_ip, the neighbour's address",
                );
            }
            CheckKind::Bfd(kinds::bfd(r))
        }
        _ => CheckKind::Script {
            command: r.required("command", value::command)?,
            dynamic: r.or("dynamic", false, value::boolean),
            user: r.one("user", value::user),
        },
    };
    Some(Check {
        name: r.name().to_owned(),
        kind,
        connect_ip,
        connect_port: r.one("connect_port", value::port),
        bind_ip,
        interval,
        timeout,
        rise: r.or("rise", 1, |v| value::uint(v, 1, 1000)),
        // keepalived's checkers retry once (retry 1) before declaring a server down; a BFD
        // session has counted its missed packets already.
        fall: r.or("fall", fall_default, |v| value::uint(v, 1, 1000)),
        retry_delay: r.or("retry_delay", retry_default, value::positive),
    })
}

/// The check types that take the options of `group`, in words.
fn applies_to(group: &[&str]) -> String {
    let types: Vec<&str> = TYPES.iter().map(|&(t, _)| t).filter(|t| groups(t).contains(&group)).collect();
    match types.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

fn http(r: &mut Reader) -> HttpCheck {
    let path = r.or("path", "/".to_owned(), |v| {
        if v.starts_with('/') && !v.contains(|c: char| c.is_whitespace() || c.is_control()) {
            Ok(v.to_owned())
        } else {
            Err(Bad {
                what: format!("'{v}' is not a request path"),
                expected: "a path starting with / without spaces".into(),
            })
        }
    });
    let ranges =
        r.list("expect_status", |v| value::status_range(v).map(|(first, last)| StatusRange { first, last }));
    let mut expect_status = r.fixed("expect_status", ranges, "STATUS_RANGES");
    if expect_status.is_empty() {
        // keepalived accepts any 2xx when no status_code is given.
        let _ = expect_status.push(StatusRange { first: 200, last: 299 });
    }
    HttpCheck {
        path,
        expect_status,
        digest: r.one("digest", value::digest),
        host: r.one("host", value::host),
    }
}

fn tls(r: &mut Reader) -> TlsCheck {
    let ca_file = r.one("ca_file", value::path);
    let verify = r.or("verify", ca_file.is_some(), value::boolean);
    if verify && !r.has("ca_file") {
        r.fail("verify", "verification needs a CA file (keeplite carries no CA store)", "ca_file to be set");
    }
    TlsCheck { sni: r.one("sni", value::host), verify, ca_file }
}
