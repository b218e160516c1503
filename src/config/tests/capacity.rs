//! Each capacity limit, exceeded by one, fails with an error that names it.

use super::{errors, load};
use crate::limits;
use std::fmt::Write;

/// Asserts that `text` fails, that every error names `limits::NAME`, and that one does.
fn fails_naming(text: &str, name: &str) {
    let o = load(text);
    let errs = errors(&o);
    assert!(o.config.is_none(), "{name}: config loaded");
    let tag = format!("limits::{name})");
    assert!(errs.iter().any(|e| e.contains(&tag)), "{name}: no error names the limit: {errs:#?}");
    assert!(errs.iter().all(|e| e.contains("limits::")), "{name}: unrelated errors: {errs:#?}");
}

fn vrrp(out: &mut String, name: &str, vrid: usize, extra: &str) {
    let _ = writeln!(out, "{name}=vrrp\n{name}.interface=eth0\n{name}.vrid={vrid}");
    let _ = writeln!(out, "{name}.vip=10.{}.{}.1/24\n{extra}", vrid / 256, vrid % 256);
}

fn many(n: usize, f: impl Fn(usize) -> String) -> String {
    (0..n).map(f).collect::<Vec<_>>().join(" ")
}

#[test]
fn tables() {
    let mut t = String::new();
    for i in 0..=limits::VRRP_INSTANCES {
        vrrp(&mut t, &format!("v{i}"), i + 1, "");
    }
    fails_naming(&t, "VRRP_INSTANCES");

    let mut t = String::new();
    for i in 0..=limits::SCRIPTS {
        let _ = writeln!(t, "s{i}=script\ns{i}.command=true");
    }
    vrrp(&mut t, "gw", 1, &format!("gw.track_script={}", many(limits::TRACK_SCRIPTS, |i| format!("s{i}"))));
    fails_naming(&t, "SCRIPTS");

    let mut t = String::new();
    for i in 0..=limits::SYNC_GROUPS {
        vrrp(&mut t, &format!("v{i}"), i + 1, "");
        let _ = writeln!(t, "g{i}=sync_group\ng{i}.members=v{i}");
    }
    fails_naming(&t, "SYNC_GROUPS");

    let mut t = String::new();
    for i in 0..=limits::VIRTUAL_SERVERS {
        let _ = writeln!(t, "vs{i}=virtual_server\nvs{i}.fwmark={}\nvs{i}.sorry_server=10.0.0.9", i + 1);
    }
    fails_naming(&t, "VIRTUAL_SERVERS");

    let mut t = String::from("vs=virtual_server\nvs.address=10.0.0.1\nvs.port=80\n");
    for i in 0..=limits::REAL_SERVERS {
        let _ = writeln!(
            t,
            "r{i}=real_server\nr{i}.virtual_server=vs\nr{i}.address=10.1.{}.{}",
            i / 256,
            i % 256
        );
    }
    fails_naming(&t, "REAL_SERVERS");

    let mut t = String::from("vs=virtual_server\nvs.address=10.0.0.1\nvs.port=80\nr=real_server\n");
    t.push_str("r.virtual_server=vs\nr.address=10.0.0.2\n");
    t.push_str(&format!("r.check={}\n", many(limits::CHECKS_PER_REAL_SERVER, |i| format!("c{i}"))));
    for i in 0..=limits::CHECKS {
        let _ = writeln!(t, "c{i}=check\nc{i}.type=tcp\nc{i}.connect_port={}", 1000 + i);
    }
    fails_naming(&t, "CHECKS");
}

#[test]
fn per_section_lists() {
    let cases: &[(&str, String)] = &[
        (
            "VIPS_PER_INSTANCE",
            format!("gw.vip={}", many(limits::VIPS_PER_INSTANCE + 1, |i| format!("10.9.{i}.1/24"))),
        ),
        (
            "UNICAST_PEERS",
            format!("gw.unicast_peer={}", many(limits::UNICAST_PEERS + 1, |i| format!("10.8.0.{}", i + 2))),
        ),
        (
            "TRACK_INTERFACES",
            format!("gw.track_interface={}", many(limits::TRACK_INTERFACES + 1, |i| format!("eth{i}"))),
        ),
    ];
    for (name, extra) in cases {
        let mut t = String::new();
        vrrp(&mut t, "gw", 1, extra);
        // The vip line of `vrrp` and the extra vip line would clash; drop the default one.
        if *name == "VIPS_PER_INSTANCE" {
            t = t.replace("gw.vip=10.0.1.1/24\n", "");
        }
        fails_naming(&t, name);
    }

    let mut t = String::new();
    for i in 0..=limits::TRACK_SCRIPTS {
        let _ = writeln!(t, "s{i}=script\ns{i}.command=true");
    }
    vrrp(
        &mut t,
        "gw",
        1,
        &format!("gw.track_script={}", many(limits::TRACK_SCRIPTS + 1, |i| format!("s{i}"))),
    );
    fails_naming(&t, "TRACK_SCRIPTS");

    let mut t = String::new();
    for i in 0..=limits::SYNC_GROUP_MEMBERS {
        vrrp(&mut t, &format!("v{i}"), i + 1, "");
    }
    let _ =
        writeln!(t, "g=sync_group\ng.members={}", many(limits::SYNC_GROUP_MEMBERS + 1, |i| format!("v{i}")));
    fails_naming(&t, "SYNC_GROUP_MEMBERS");

    let mut t = String::new();
    vrrp(&mut t, "gw", 1, "");
    let _ = writeln!(t, "main=global\nmain.smtp_server=10.0.0.25");
    let _ =
        writeln!(t, "main.alert_email={}", many(limits::ALERT_EMAILS + 1, |i| format!("ops{i}@example.org")));
    fails_naming(&t, "ALERT_EMAILS");

    let t = format!(
        "vs=virtual_server\nvs.address=10.0.0.1\nvs.port=1-{}\nvs.sorry_server=10.0.0.9\n",
        limits::PORTS_PER_VIRTUAL_SERVER + 1
    );
    fails_naming(&t, "PORTS_PER_VIRTUAL_SERVER");

    let mut t = String::new();
    for i in 0..=limits::VIRTUAL_SERVERS_PER_REAL_SERVER {
        let _ = writeln!(t, "vs{i}=virtual_server\nvs{i}.fwmark={}", i + 1);
    }
    let vs = many(limits::VIRTUAL_SERVERS_PER_REAL_SERVER + 1, |i| format!("vs{i}"));
    let _ = writeln!(t, "r=real_server\nr.address=10.0.0.2\nr.virtual_server={vs}");
    fails_naming(&t, "VIRTUAL_SERVERS_PER_REAL_SERVER");

    let mut t = String::from("vs=virtual_server\nvs.address=10.0.0.1\nvs.port=80\n");
    t.push_str("r=real_server\nr.virtual_server=vs\nr.address=10.0.0.2\nr.check=c\nc=check\nc.type=http\n");
    let _ = writeln!(t, "c.expect_status={}", many(limits::STATUS_RANGES + 1, |i| format!("{}", 200 + i)));
    fails_naming(&t, "STATUS_RANGES");
}

#[test]
fn expanded_ipvs_table_and_probes() {
    // 1024 virtual servers of 5 ports each: 5120 kernel services.
    let mut t = String::new();
    for i in 0..limits::VIRTUAL_SERVERS {
        let _ = writeln!(t, "vs{i}=virtual_server\nvs{i}.address=10.2.{}.{}", i / 256, i % 256);
        let _ = writeln!(t, "vs{i}.port=80-84\nvs{i}.sorry_server=10.0.0.9");
    }
    fails_naming(&t, "IPVS_SERVICES");

    // 600 real servers in one 32-port service: 19200 destinations.
    let mut t = String::from("vs=virtual_server\nvs.address=10.0.0.1\nvs.port=1000-1031\n");
    for i in 0..600 {
        let _ = writeln!(
            t,
            "r{i}=real_server\nr{i}.virtual_server=vs\nr{i}.address=10.3.{}.{}",
            i / 256,
            i % 256
        );
    }
    fails_naming(&t, "IPVS_DESTINATIONS");

    // 130 real servers x 32 ports, one check each: 4160 probes.
    let mut t =
        String::from("vs=virtual_server\nvs.address=10.0.0.1\nvs.port=1000-1031\nc=check\nc.type=tcp\n");
    for i in 0..130 {
        let _ = writeln!(
            t,
            "r{i}=real_server\nr{i}.virtual_server=vs\nr{i}.address=10.4.0.{}\nr{i}.check=c",
            i + 1
        );
    }
    fails_naming(&t, "PROBES");
}

#[test]
fn text_sizes() {
    let long_name = "n".repeat(limits::NAME_BYTES + 1);
    fails_naming(&format!("{long_name}=script\n"), "NAME_BYTES");
    let long_value = "x".repeat(limits::VALUE_BYTES + 1);
    fails_naming(&format!("s=script\ns.command='{long_value}'\n"), "VALUE_BYTES");
    let long_line = format!("# {}\n", "c".repeat(limits::CONFIG_LINE_BYTES));
    fails_naming(&long_line, "CONFIG_LINE_BYTES");
    let big = "# filler line\n".repeat(limits::CONFIG_FILE_BYTES / 14 + 1);
    fails_naming(&big, "CONFIG_FILE_BYTES");
}
