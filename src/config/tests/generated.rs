//! Property tests over generated configurations.
//!
//! A seeded generator writes a random valid configuration as sections; the test renders it
//! in both text forms with its own quoting (not the printer's), then checks that both load
//! to the same model and that the printed effective configuration reads back to it.

use super::{errors, host, load};
use crate::config::{parse, print};
use proptest::prelude::*;

/// A tiny deterministic generator (xorshift64*), so one proptest seed is one config.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn coin(&mut self) -> bool {
        self.below(2) == 0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    /// A duration of `step` ms times `lo..=hi`, written in one of the accepted ways.
    fn dur(&mut self, step: u64, lo: u64, hi: u64) -> String {
        let ms = step * self.range(lo, hi);
        match self.below(3) {
            0 if ms % 1000 == 0 => (ms / 1000).to_string(),
            1 if ms % 1000 == 0 => format!("{}s", ms / 1000),
            _ => format!("{ms}ms"),
        }
    }
    /// Text that needs quoting: spaces, both quote kinds, `#`, backslashes.
    fn text(&mut self) -> String {
        let pieces = ["run", " ", "'", "\"", "#", "\\", "x", "$HOME", "é", ";", "="];
        let mut s = String::from("/bin/");
        for _ in 0..self.range(1, 8) {
            s.push_str(self.pick(&pieces));
        }
        s
    }
}

/// A section as the generator writes it: name (None = anonymous), type, options.
struct Gen {
    name: Option<String>,
    kind: &'static str,
    options: Vec<(&'static str, Vec<String>)>,
}

impl Gen {
    fn new(name: Option<String>, kind: &'static str) -> Self {
        Gen { name, kind, options: Vec::new() }
    }
    fn set(&mut self, opt: &'static str, v: impl ToString) {
        self.options.push((opt, vec![v.to_string()]));
    }
    fn list(&mut self, opt: &'static str, v: Vec<String>) {
        if !v.is_empty() {
            self.options.push((opt, v));
        }
    }
}

fn generate(seed: u64) -> Vec<Gen> {
    let mut rng = Rng(seed | 1);
    let mut out = Vec::new();
    let name = |rng: &mut Rng, base: &str, i: usize, kind: &str, refs: &mut Vec<String>| {
        let anonymous = rng.below(4) == 0;
        refs.push(if anonymous { format!("@{kind}[{i}]") } else { format!("{base}{i}") });
        (!anonymous).then(|| format!("{base}{i}"))
    };

    if rng.coin() {
        let mut g = Gen::new(Some("main".into()), "global");
        g.set("router_id", "edge-a");
        g.list("alert_email", vec!["noc@example.org".into(), "ops@example.org".into()]);
        g.set("smtp_server", rng.pick(&["192.0.2.25", "mail.example.org:587", "[2001:db8::25]:25"]));
        g.set("log_level", rng.pick(&["error", "warn", "info", "debug"]));
        g.set("smtp_timeout", rng.dur(1000, 1, 60));
        g.set("lvs_keep_on_stop", rng.pick(&["0", "1"]));
        g.set("lvs_reconcile_interval", rng.dur(1000, 1, 600));
        out.push(g);
    }

    let scripts = rng.below(4) as usize;
    let mut script_refs = Vec::new();
    for i in 0..scripts {
        let mut s = Gen::new(name(&mut rng, "chk", i, "script", &mut script_refs), "script");
        s.set("command", rng.text());
        let interval = 10 * rng.range(1, 10_000);
        s.set("interval", format!("{interval}ms"));
        s.set("timeout", rng.dur(10, 1, interval / 10));
        s.set("weight", rng.range(0, 506) as i64 - 253);
        s.set("rise", rng.range(1, 10));
        s.set("fall", rng.range(1, 10));
        out.push(s);
    }

    let instances = rng.below(5) as usize;
    let mut vrrp_refs = Vec::new();
    for i in 0..instances {
        let mut v = Gen::new(name(&mut rng, "vi", i, "vrrp", &mut vrrp_refs), "vrrp");
        let v2 = rng.coin();
        let v6 = !v2 && rng.coin();
        v.set("interface", rng.pick(&["eth0", "eth1", "br-lan", "lan.10"]));
        v.set("vrid", i + 1);
        v.set("priority", rng.range(1, 254));
        v.set("version", if v2 { 2 } else { 3 });
        let advert = if v2 { rng.dur(1000, 1, 255) } else { rng.dur(10, 1, 4095) };
        v.set("advert_int", advert);
        let vip = |j: u64| if v6 { format!("2001:db8:{i}::{j}/64") } else { format!("10.{i}.0.{j}/24") };
        v.list("vip", (1..=rng.range(1, 3)).map(vip).collect());
        if rng.coin() {
            let peer = |j: u64| if v6 { format!("fe80::{}", j + 10) } else { format!("192.0.2.{}", j + 10) };
            v.list("unicast_peer", (0..rng.range(1, 3)).map(peer).collect());
        }
        v.set("state", rng.pick(&["master", "backup"]));
        v.set("preempt", rng.pick(&["1", "yes", "on", "true"]));
        v.set("preempt_delay", rng.dur(1, 0, 1_000_000));
        if v2 && rng.coin() {
            v.set("auth_pass", "s3cr'et");
        } else if rng.coin() {
            let keys = rng.range(1, 3);
            let key = |id: u64| format!("{id} hex:{}", format!("{id:02x}").repeat(32 + id as usize));
            v.list("auth_hmac_key", (1..=keys).map(key).collect());
            v.set("auth_hmac_active_key", rng.range(1, keys));
            v.set("auth_hmac_mode", rng.pick(&["enforce", "permissive", "receive-only"]));
            v.set("auth_hmac_window", rng.range(1, 300));
        }
        if !script_refs.is_empty() {
            let t = rng.below(script_refs.len() as u64) as usize;
            let w = if rng.coin() { format!(":{}", rng.range(0, 100) as i64 - 50) } else { String::new() };
            v.list("track_script", vec![format!("{}{w}", script_refs[t])]);
        }
        v.list("track_interface", vec!["wan".into(), "eth9:-20".into()]);
        v.set("garp_repeat", rng.range(1, 255));
        v.set("garp_refresh", rng.dur(1000, 0, 600));
        v.set("notify_master", rng.text());
        v.set("use_vmac", rng.pick(&["0", "no", "off", "false"]));
        out.push(v);
    }
    if instances >= 2 && rng.coin() {
        let mut g = Gen::new(Some("grp".into()), "sync_group");
        g.list("members", vrrp_refs.clone());
        g.set("notify", rng.text());
        out.push(g);
    }

    let checks = rng.below(3) as usize;
    let mut check_refs = Vec::new();
    for i in 0..checks {
        let mut c = Gen::new(name(&mut rng, "hc", i, "check", &mut check_refs), "check");
        let kind = rng.pick(&["tcp", "http", "https", "smtp", "script"]);
        c.set("type", kind);
        c.set("interval", rng.dur(1000, 2, 30));
        c.set("timeout", rng.dur(10, 1, 100));
        match kind {
            "http" | "https" => {
                c.set("path", "/health?x=1");
                c.list("expect_status", vec!["200".into(), "300-399".into()]);
                if rng.coin() {
                    c.set("digest", "9b3a0c85a887a256d6939da88aabd8cd");
                }
                if kind == "https" {
                    c.set("sni", "www.example.org");
                    c.set("ca_file", "/etc/ssl/ca.pem");
                }
            }
            "smtp" => c.set("helo_name", "probe.example.org"),
            "script" => {
                c.set("command", rng.text());
                c.set("dynamic", rng.pick(&["0", "1"]));
            }
            _ => c.set("connect_port", rng.range(1, 65535)),
        }
        out.push(c);
    }

    let services = rng.below(4) as usize;
    let mut vs_refs = Vec::new();
    let mut families = Vec::new();
    for i in 0..services {
        let mut s = Gen::new(name(&mut rng, "vs", i, "virtual_server", &mut vs_refs), "virtual_server");
        let v6 = rng.coin();
        let by_address = rng.coin();
        families.push((v6, by_address));
        if by_address {
            s.set(
                "address",
                if v6 { format!("2001:db8:f::{}", i + 1) } else { format!("10.200.0.{}", i + 1) },
            );
            let first = rng.range(1, 60_000);
            s.list("port", vec![first.to_string(), format!("{}-{}", first + 10, first + 12)]);
            s.set("protocol", rng.pick(&["tcp", "udp", "sctp"]));
        } else {
            s.set("fwmark", i + 1);
            s.set("family", if v6 { "ipv6" } else { "ipv4" });
        }
        s.set(
            "scheduler",
            rng.pick(&["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh"]),
        );
        s.set("forward", rng.pick(&["nat", "dr", "tun"]));
        if rng.coin() {
            s.set("persistence_timeout", rng.dur(1000, 1, 3600));
            s.set("persistence_netmask", if v6 { "64" } else { "255.255.255.0" });
        }
        s.set("quorum", 3);
        s.set("hysteresis", 1);
        s.set("delay_loop", rng.dur(1000, 10, 120));
        s.set("sorry_server", if v6 { "[2001:db8::99]:8080" } else { "10.0.0.99" });
        out.push(s);
    }
    for (i, (vs, &(v6, by_address))) in vs_refs.iter().zip(&families).enumerate() {
        for j in 0..rng.range(1, 3) {
            let mut r = Gen::new(Some(format!("rs{i}_{j}")), "real_server");
            r.list("virtual_server", vec![vs.clone()]);
            r.set("address", if v6 { format!("2001:db8:a::{j}") } else { format!("10.10.{i}.{j}") });
            if !by_address {
                // A fwmark service has no port of its own for checks to probe.
                r.set("port", rng.range(1, 65535));
            }
            r.set("weight", rng.range(0, 65535));
            r.set("inhibit_on_failure", rng.pick(&["0", "1"]));
            r.list("check", check_refs.clone());
            out.push(r);
        }
    }
    out
}

/// The flat form: no prefix, bare words where they are safe, `'\''` quoting elsewhere.
fn render_flat(sections: &[Gen]) -> String {
    let mut t = String::from("# generated\n");
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for s in sections {
        let n = counts.iter().filter(|(k, _)| *k == s.kind).count();
        counts.push((s.kind, 0));
        let name = s.name.clone().unwrap_or_else(|| format!("@{}[{n}]", s.kind));
        t.push_str(&format!("{name}={}\n", s.kind));
        for (opt, values) in &s.options {
            let quoted: Vec<String> = values
                .iter()
                .map(|v| {
                    if v.bytes().all(|b| b.is_ascii_alphanumeric() || b"./:-_@".contains(&b)) {
                        v.clone()
                    } else {
                        format!("'{}'", v.replace('\'', r"'\''"))
                    }
                })
                .collect();
            t.push_str(&format!("{name}.{opt}={}\n", quoted.join(" ")));
        }
    }
    t
}

/// The native form: double quotes with backslash escapes, `list` lines for list options.
fn render_uci(sections: &[Gen]) -> String {
    let q = |v: &str| format!("\"{}\"", v.replace('\\', r"\\").replace('"', "\\\""));
    let mut t = String::from("package keeplite\n");
    for s in sections {
        match &s.name {
            Some(n) => t.push_str(&format!("config {} {}\n", s.kind, q(n))),
            None => t.push_str(&format!("config {}\n", s.kind)),
        }
        let spec = crate::config::schema::section(s.kind);
        for (opt, values) in &s.options {
            let is_list = spec.and_then(|sp| sp.option(opt)).is_some_and(|o| o.list);
            for v in values {
                t.push_str(&format!(
                    "  {} {opt} {}  # note\n",
                    if is_list { "list" } else { "option" },
                    q(v)
                ));
            }
        }
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn both_forms_give_one_model_and_printing_round_trips(seed in any::<u64>()) {
        let sections = generate(seed);
        let flat_text = render_flat(&sections);
        let flat = load(&flat_text);
        prop_assert!(flat.config.is_some(), "generated config rejected:\n{}\n{:#?}", flat_text, errors(&flat));
        let config = flat.config.unwrap();

        let uci_text = render_uci(&sections);
        let uci = load(&uci_text);
        prop_assert_eq!(uci.form, crate::config::Form::Uci);
        prop_assert_eq!(uci.config.as_ref(), Some(&config), "native form differs:\n{}", uci_text);

        let doc = print::effective(&config);
        for printed in [print::flat(&doc), print::uci(&doc)] {
            let again = parse(printed.as_bytes(), &host());
            prop_assert_eq!(again.config.as_ref(), Some(&config), "printed form differs:\n{}", printed);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&bytes, &host());
    }

    #[test]
    fn config_shaped_noise_never_panics(lines in proptest::collection::vec(
        "(keeplite\\.)?[a-z@\\[\\]0-9_]{0,12}(\\.[a-z_]{0,14})?=('[ -~]{0,12}'|[ -~]{0,16}| )*|(config|option|list|package) [ -~]{0,30}",
        0..40,
    )) {
        let _ = parse(lines.join("\n").as_bytes(), &host());
    }
}

#[test]
fn mutated_good_configs_report_without_panicking() {
    // Every single-line deletion of a generated config either loads or explains itself.
    let text = render_flat(&generate(7));
    let lines: Vec<&str> = text.lines().collect();
    for skip in 0..lines.len() {
        let cut: Vec<&str> = lines.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, l)| *l).collect();
        let o = load(&cut.join("\n"));
        assert!(o.config.is_some() || !errors(&o).is_empty());
    }
}
