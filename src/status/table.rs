//! `keeplite status` for a person: the `status` reply as aligned tables.
//!
//! Pure: JSON in, text out. The reply comes from outside (a socket), so a missing or
//! mistyped field prints as `-`, never a panic.

use crate::json::Json;

/// Rows of cells under a header, printed with aligned columns.
struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(header: &[&str]) -> Table {
        Table { rows: vec![header.iter().map(|h| (*h).to_owned()).collect()] }
    }

    fn widths(&self) -> Vec<usize> {
        let mut widths = Vec::new();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                let w = cell.chars().count();
                match widths.get_mut(i) {
                    Some(old) if *old >= w => {}
                    Some(old) => *old = w,
                    None => widths.push(w),
                }
            }
        }
        widths
    }

    /// Row `i` with `indent`, cells padded to `widths`, no trailing spaces.
    fn line(&self, i: usize, widths: &[usize], indent: &str) -> String {
        let mut out = indent.to_owned();
        let cells = self.rows.get(i).map_or(&[][..], Vec::as_slice);
        for (j, cell) in cells.iter().enumerate() {
            if j + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let pad = widths.get(j).copied().unwrap_or(0).saturating_sub(cell.chars().count());
                out.push_str(cell);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    }
}

/// `1h02m`-style: seconds, minutes, hours or days with the next unit.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

fn text(v: Option<&Json>) -> String {
    match v {
        Some(Json::Str(s)) => s.clone(),
        Some(Json::Int(n)) => n.to_string(),
        Some(Json::Bool(b)) => b.to_string(),
        _ => "-".to_owned(),
    }
}

fn field(v: &Json, key: &str) -> String {
    text(v.get(key))
}

fn items<'a>(v: &'a Json, key: &str) -> &'a [Json] {
    v.get(key).and_then(Json::as_array).unwrap_or(&[])
}

fn int(v: &Json, key: &str) -> Option<i64> {
    v.get(key).and_then(Json::as_int)
}

/// The `status` reply as text.
pub fn render(status: &Json) -> String {
    let ipvs = field(status, "ipvs");
    let mut out = format!(
        "keeplite {} on {}, up {}, IPVS {ipvs}, {} probe(s)\n",
        field(status, "version"),
        field(status, "router_id"),
        int(status, "uptime").map_or("-".to_owned(), duration),
        field(status, "probes"),
    );
    out.push('\n');
    out.push_str(&vrrp(items(status, "vrrp")));
    out.push('\n');
    out.push_str(&services(items(status, "virtual_servers")));
    out
}

fn vrrp(instances: &[Json]) -> String {
    if instances.is_empty() {
        return "no VRRP instances\n".to_owned();
    }
    let mut t = Table::new(&["VRRP", "STATE", "PRIORITY", "BASE", "MASTER", "SINCE", "TRANSITIONS"]);
    for v in instances {
        let mut state = field(v, "state").to_uppercase();
        if let Some(why) = v.get("fault").and_then(Json::as_str) {
            state.push_str(&format!(" ({why})"));
        }
        if v.get("held").and_then(Json::as_bool) == Some(true) {
            state.push_str(" (held)");
        }
        if let Some(left) = int(v, "yield_left").filter(|&s| s > 0) {
            state.push_str(&format!(" (yield {})", duration(left)));
        }
        t.rows.push(vec![
            field(v, "name"),
            state,
            field(v, "priority"),
            field(v, "base_priority"),
            field(v, "master"),
            int(v, "since").map_or("-".to_owned(), duration),
            field(v, "transitions"),
        ]);
    }
    let widths = t.widths();
    (0..t.rows.len()).map(|i| t.line(i, &widths, "")).collect()
}

fn services(services: &[Json]) -> String {
    if services.is_empty() {
        return "no virtual services\n".to_owned();
    }
    let mut head = Table::new(&["VIRTUAL SERVER", "SERVICE", "SCHEDULER", "FORWARD", "QUORUM"]);
    let mut real = Table::new(&[
        "REAL SERVER",
        "ADDRESS",
        "HEALTH",
        "WEIGHT",
        "LAST CHECK",
        "ACTIVE",
        "INACTIVE",
        "CONNS",
    ]);
    // Which real-server rows belong to which service; all share one set of widths.
    let mut groups = Vec::new();
    for s in services {
        head.rows.push(vec![
            field(s, "name"),
            field(s, "service"),
            field(s, "scheduler"),
            field(s, "forward"),
            field(s, "quorum"),
        ]);
        let first = real.rows.len();
        for r in items(s, "real_servers") {
            real.rows.push(real_server(r));
        }
        groups.push(first..real.rows.len());
    }
    let (hw, rw) = (head.widths(), real.widths());
    let mut out = head.line(0, &hw, "");
    for (i, rows) in groups.into_iter().enumerate() {
        out.push_str(&head.line(i + 1, &hw, ""));
        if rows.is_empty() {
            out.push_str("    no real servers\n");
            continue;
        }
        out.push_str(&real.line(0, &rw, "    "));
        for r in rows {
            out.push_str(&real.line(r, &rw, "    "));
        }
    }
    out
}

fn real_server(r: &Json) -> Vec<String> {
    let address = match (r.get("address").and_then(Json::as_str), int(r, "port")) {
        (Some(a), Some(p)) if a.contains(':') => format!("[{a}]:{p}"),
        (Some(a), Some(p)) => format!("{a}:{p}"),
        (a, _) => a.unwrap_or("-").to_owned(),
    };
    let mut weight = field(r, "kernel_weight");
    if r.get("drained").and_then(Json::as_bool) == Some(true) {
        weight.push_str(" (drained)");
    }
    let check = match r.get("check") {
        Some(c @ Json::Object(_)) => format!(
            "{} ({} ms, {} ago)",
            field(c, "result"),
            field(c, "latency_ms"),
            int(c, "age").map_or("-".to_owned(), duration)
        ),
        _ => "-".to_owned(),
    };
    let kernel = r.get("kernel").unwrap_or(&Json::Null);
    vec![
        field(r, "name"),
        address,
        field(r, "health"),
        weight,
        check,
        field(kernel, "active_conns"),
        field(kernel, "inactive_conns"),
        field(kernel, "conns"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::reply;
    use crate::status::snapshot::sample;
    use crate::vrrp::instance::State;
    use std::time::Instant;

    #[test]
    fn renders_the_sample_snapshot() {
        let now = Instant::now();
        let status = reply::ok(sample(now).status(now));
        let want = "\
keeplite 0.1.0 on edge-a, up 1d02h, IPVS available, 2 probe(s)

VRRP  STATE   PRIORITY  BASE  MASTER     SINCE  TRANSITIONS
gw    MASTER  200       200   10.0.0.11  1h02m  2

VIRTUAL SERVER  SERVICE           SCHEDULER  FORWARD  QUORUM
web             tcp 10.0.0.7:80   wlc        dr       up
    REAL SERVER  ADDRESS       HEALTH  WEIGHT  LAST CHECK                         ACTIVE  INACTIVE  CONNS
    web1         10.0.0.1:80   up      100     ok (3 ms, 1s ago)                  12      40        18230
    web2         10.0.0.2:80   down    -       connection refused (0 ms, 2s ago)  -       -         -
web             tcp 10.0.0.7:443  wlc        dr       up
    REAL SERVER  ADDRESS       HEALTH  WEIGHT  LAST CHECK                         ACTIVE  INACTIVE  CONNS
    web1         10.0.0.1:443  up      100     ok (3 ms, 1s ago)                  12      40        18230
    web2         10.0.0.2:443  down    -       connection refused (0 ms, 2s ago)  -       -         -
";
        assert_eq!(render(&status), want.replace("0.1.0", env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn a_fault_says_why() {
        let now = Instant::now();
        let mut snapshot = sample(now);
        snapshot.vrrp[0].state = State::Fault;
        snapshot.vrrp[0].fault = Some("no interface");
        let out = render(&reply::ok(snapshot.status(now)));
        assert!(out.contains("gw    FAULT (no interface)  200"), "{out}");
    }

    #[test]
    fn odd_replies_print_dashes_not_panics() {
        for text in [
            "{}",
            r#"{"vrrp":[1,"x",{"state":3}],"virtual_servers":[{"real_servers":[{"check":{},"kernel":[]}]}]}"#,
            r#"{"vrrp":{},"virtual_servers":"x","uptime":-5}"#,
        ] {
            let v =
                crate::json::parse(text.as_bytes(), crate::json::Limits { max_bytes: 1000, max_depth: 8 });
            let v = v.unwrap_or(Json::Null);
            assert!(render(&v).contains("keeplite"));
        }
        assert_eq!(duration(-5), "0s");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(61), "1m01s");
        assert_eq!(duration(90061), "1d01h");
    }
}
