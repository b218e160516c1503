//! keepalived's checker blocks inside a `real_server` -> shared `check` sections.
//!
//! Options a checker leaves out come from its real server, then its virtual server, as in
//! keepalived. One `HTTP_GET` with several `url`s is one check per URL, one `SMTP_CHECK`
//! with several `host`s one check per host: keeplite's real server is up when all its
//! checks pass, as keepalived's is when every URL and host answers. The keywords of UDP,
//! DNS and file checkers are read by `checker_kinds`.

use super::checker_kinds as kinds;
use super::global::Val;
use super::{duration_text, Ctx};
use crate::import::out::Section;
use crate::import::report::Origin;
use crate::import::tree::Node;
use std::time::Duration;

/// Settings inherited from the virtual and real server.
#[derive(Debug, Clone, Default)]
pub struct Layer {
    pub timeout: Option<Val>,
    pub retry: Option<Val>,
    pub retry_delay: Option<Val>,
    /// A `delay_loop` of the real server or checker (the virtual server's is its own option).
    pub interval: Option<Val>,
    /// `virtualhost` of the real server or checker.
    pub host: Option<Val>,
    /// The virtual server's `delay_loop` (keepalived's default 60 s).
    pub vs_interval: Duration,
    /// The virtual server's `virtualhost`.
    pub vs_host: Option<String>,
}

impl Layer {
    /// Reads one of the inherited keywords; false when `n` is none of them.
    pub fn read(&mut self, n: &Node) -> bool {
        let slot = match n.keyword() {
            "connect_timeout" => &mut self.timeout,
            "retry" | "nb_get_retry" => &mut self.retry,
            "delay_before_retry" => &mut self.retry_delay,
            "delay_loop" => &mut self.interval,
            "virtualhost" => &mut self.host,
            _ => return false,
        };
        if let Some(v) = n.arg(0) {
            *slot = Some(Val { value: v.to_owned(), at: n.at.clone(), keyword: n.keyword().to_owned() });
        }
        true
    }
}

/// One URL of an http/https checker.
#[derive(Debug, Default)]
struct Url {
    path: Option<Val>,
    digest: Option<Val>,
    status: Vec<Val>,
    host: Option<Val>,
}

/// Connection settings of a checker, or of one `host` of an SMTP_CHECK.
#[derive(Debug, Default, Clone)]
struct Target {
    connect_ip: Option<Val>,
    connect_port: Option<Val>,
    bind_ip: Option<Val>,
}

fn val(n: &Node) -> Option<Val> {
    n.arg(0).map(|v| Val { value: v.to_owned(), at: n.at.clone(), keyword: n.keyword().to_owned() })
}

/// Reads a connection keyword into `t`; false when `n` is none of them.
fn target_keyword(cx: &mut Ctx, t: &mut Target, n: &Node) -> bool {
    match n.keyword() {
        "connect_ip" => t.connect_ip = val(n),
        "connect_port" => t.connect_port = val(n),
        "bindto" => t.bind_ip = val(n),
        "bind_port" | "bind_if" | "fwmark" => cx.unsupported(n),
        _ => return false,
    }
    true
}

/// The check sections for one checker block; their names, in order.
pub fn checker(cx: &mut Ctx, node: &Node, inherited: &Layer) -> Vec<String> {
    let kind = match node.keyword() {
        "TCP_CHECK" => "tcp",
        "HTTP_GET" => "http",
        "SSL_GET" => "https",
        "SMTP_CHECK" => "smtp",
        "MISC_CHECK" => "script",
        "UDP_CHECK" => "udp",
        "DNS_CHECK" => "dns",
        "PING_CHECK" => "ping",
        "FILE_CHECK" => return kinds::file_check(cx, node).into_iter().collect(),
        "BFD_CHECK" => return super::bfd::checker(cx, node).into_iter().collect(),
        kw => {
            cx.report(node, super::unsupported::why(kw));
            return Vec::new();
        }
    };
    let mut layer = inherited.clone();
    let mut target = Target::default();
    let mut urls = Vec::new();
    let mut hosts = Vec::new();
    let mut extra: Vec<(&'static str, Val)> = Vec::new();
    let mut sni = false;
    let mut sni_name = None;
    let mut misc_timeout = None;
    for n in node.children() {
        let kw = n.keyword();
        if kind != "script" && target_keyword(cx, &mut target, n) {
            continue;
        }
        // keepalived reads retry's old name in HTTP_GET and SSL_GET only.
        let old_retry_elsewhere = kw == "nb_get_retry" && !matches!(kind, "http" | "https");
        if kind != "script" && kw != "virtualhost" && !old_retry_elsewhere && layer.read(n) {
            continue;
        }
        match (kind, kw) {
            ("udp", _) if kinds::udp(cx, n, &mut extra) => {}
            ("dns", _) if kinds::dns(cx, n, &mut extra) => {}
            (_, "delay_before_retry" | "retry" | "delay_loop") => {
                layer.read(n);
            }
            ("http" | "https", "virtualhost") => {
                layer.read(n);
            }
            ("http" | "https", "url") => urls.push(url(cx, n)),
            ("https", "enable_sni") => sni = true,
            ("https", "sni_name") => sni_name = val(n),
            ("http", "enable_sni" | "sni_name") => {
                cx.report(n, "an HTTP_GET has no TLS handshake to send a name in; keepalived ignores it too")
            }
            ("smtp", "helo_name") => {
                if let Some(v) = val(n) {
                    extra.push(("helo_name", v));
                }
            }
            ("smtp", "host") => {
                let mut t = target.clone();
                for h in n.children() {
                    if !target_keyword(cx, &mut t, h) {
                        cx.unsupported(h);
                    }
                }
                hosts.push(t);
            }
            ("script", "misc_path") => {
                if let Some((cmd, words)) = cx.command(n) {
                    extra.push(("command", Val { value: cmd, at: n.at.clone(), keyword: kw.to_owned() }));
                    if !words.is_empty() {
                        cx.report(
                            n,
                            format!(
                                "words after the script ('{}') are not carried over: quote the whole command",
                                words.join(" ")
                            ),
                        );
                    }
                }
            }
            ("script", "misc_timeout") => misc_timeout = val(n),
            ("script", "misc_dynamic") => {
                extra.push(("dynamic", Val { value: "1".into(), at: n.at.clone(), keyword: kw.to_owned() }))
            }
            ("script", "user") => {
                if let Some(v) = val(n) {
                    extra.push(("user", v));
                }
                if n.args().len() > 1 {
                    cx.report(
                        n,
                        "keeplite runs scripts with the user's own group; the group is not carried over",
                    );
                }
            }
            ("script", "connect_timeout") => cx.report(n, "a MISC_CHECK takes misc_timeout; ignored"),
            (_, "alpha") => cx.report(n, "keeplite has alpha per virtual server only"),
            (_, "warmup" | "log_all_failures") => cx.unsupported(n),
            _ => cx.unsupported(n),
        }
    }
    let interval = layer.interval.as_ref().and_then(|v| cx.duration(v));
    let every = interval.unwrap_or(layer.vs_interval);
    let mut base = Section::new("", "check", &node.at, node.keyword());
    base.set("type", kind, &node.at, node.keyword());
    if let (Some(v), Some(d)) = (&layer.interval, interval) {
        base.set("interval", duration_text(d), &v.at, &v.keyword);
    }
    timeout(
        cx,
        &mut base,
        kind,
        if kind == "script" { misc_timeout.as_ref() } else { layer.timeout.as_ref() },
        every,
    );
    match &layer.retry {
        Some(v) => match v.value.parse::<u32>() {
            Ok(r) if r < 1000 => {
                if r > 0 {
                    base.set("fall", (r + 1).to_string(), &v.at, &v.keyword);
                }
            }
            _ => cx.reports.add(
                &v.at,
                &v.keyword,
                format!("'{}' is not a retry count keeplite takes (0..998); ignored", v.value),
            ),
        },
        // keepalived retries a DNS_CHECK 3 times by default.
        None if kind == "dns" => base.set("fall", "4", &node.at, node.keyword()),
        // keepalived retries once by default, except for scripts.
        None if kind != "script" => base.set("fall", "2", &node.at, node.keyword()),
        None => {}
    }
    match &layer.retry_delay {
        Some(v) => {
            if let Some(d) = cx.duration(v) {
                base.set("retry_delay", duration_text(d), &v.at, &v.keyword);
            }
        }
        // A DNS_CHECK's delay_before_retry defaults to its delay_loop.
        None if kind == "dns" => base.set("retry_delay", duration_text(every), &node.at, node.keyword()),
        None => {}
    }
    for (opt, v) in &extra {
        base.set(opt, &v.value, &v.at, &v.keyword);
    }
    if kind == "script" && base.opt("command").is_none() {
        cx.report(node, "no misc_path; keepalived drops the checker, and so does the import");
        return Vec::new();
    }
    let mut sections = Vec::new();
    match kind {
        "http" | "https" => {
            if urls.is_empty() {
                cx.report(node, "no url; keepalived checks nothing with it, and the import leaves it out");
            }
            for u in urls {
                let mut s = base.clone();
                set_target(&mut s, &target);
                if let Some(v) = &u.path {
                    s.set("path", &v.value, &v.at, &v.keyword);
                }
                for v in &u.status {
                    s.push("expect_status", &v.value, &v.at, &v.keyword);
                }
                if let Some(v) = &u.digest {
                    s.set("digest", v.value.to_ascii_lowercase(), &v.at, &v.keyword);
                }
                let host = u.host.clone().or_else(|| layer.host.clone());
                if let Some(v) = &host {
                    s.set("host", &v.value, &v.at, &v.keyword);
                }
                if let Some(v) = &sni_name {
                    s.set("sni", &v.value, &v.at, &v.keyword);
                } else if sni {
                    let name = host.map(|h| h.value).or_else(|| layer.vs_host.clone());
                    if let Some(n) = name {
                        s.set("sni", n, &node.at, "enable_sni");
                    }
                }
                sections.push(s);
            }
        }
        "smtp" if !hosts.is_empty() => {
            for h in &hosts {
                let mut s = base.clone();
                set_target(&mut s, h);
                sections.push(s);
            }
        }
        "script" => sections.push(base),
        "ping" => {
            if let Some(v) = target.connect_port.take() {
                cx.reports.add(&v.at, &v.keyword, "a ping has no port; ignored");
            }
            let mut s = base;
            set_target(&mut s, &target);
            sections.push(s);
        }
        _ => {
            let mut s = base;
            set_target(&mut s, &target);
            sections.push(s);
        }
    }
    sections.into_iter().map(|s| cx.check_section(s)).collect()
}

fn set_target(s: &mut Section, t: &Target) {
    for (opt, v) in
        [("connect_ip", &t.connect_ip), ("connect_port", &t.connect_port), ("bind_ip", &t.bind_ip)]
    {
        if let Some(v) = v {
            s.set(opt, &v.value, &v.at, &v.keyword);
        }
    }
}

/// keeplite needs a check's timeout shorter than its interval; keepalived does not. A
/// timeout at or past the interval becomes the interval less 1 ms (reported when it was
/// written); a MISC_CHECK without `misc_timeout` gets that too (keepalived lets its script
/// run for the whole `delay_loop`).
fn timeout(cx: &mut Ctx, s: &mut Section, kind: &str, given: Option<&Val>, every: Duration) {
    let limit = every.saturating_sub(Duration::from_millis(1)).max(Duration::from_millis(1));
    match given {
        Some(v) => {
            let Some(t) = cx.duration(v) else { return };
            if t >= every {
                cx.reports.add(
                    &v.at,
                    &v.keyword,
                    format!(
                        "{} is not shorter than the check's interval ({}), which keeplite requires; {} is used",
                        duration_text(t),
                        duration_text(every),
                        duration_text(limit)
                    ),
                );
                s.set("timeout", duration_text(limit), &v.at, &v.keyword);
            } else {
                s.set("timeout", duration_text(t), &v.at, &v.keyword);
            }
        }
        None if kind == "script" || every <= Duration::from_secs(5) => {
            let at = s.at.clone();
            let kw = s.keyword.clone();
            s.set("timeout", duration_text(limit), &at, &kw);
        }
        None => {}
    }
}

fn url(cx: &mut Ctx, node: &Node) -> Url {
    let mut u = Url::default();
    for n in node.children() {
        match n.keyword() {
            "path" => u.path = val(n),
            "digest" => u.digest = val(n),
            "status_code" => {
                for code in n.args() {
                    u.status.push(Val {
                        value: code.clone(),
                        at: n.at.clone(),
                        keyword: "status_code".into(),
                    });
                }
            }
            "virtualhost" => u.host = val(n),
            _ => cx.unsupported(n),
        }
    }
    u
}

impl Ctx<'_> {
    /// A keepalived number of seconds in a remembered value, or a report.
    pub fn duration(&mut self, v: &Val) -> Option<Duration> {
        match crate::config::value::duration(&v.value) {
            Ok(d) => Some(d),
            Err(bad) => {
                let at: Origin = v.at.clone();
                self.reports.add(&at, &v.keyword, format!("{} ({}); ignored", bad.what, bad.expected));
                None
            }
        }
    }
}
