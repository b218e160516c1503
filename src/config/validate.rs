//! Checks across sections: duplicates, families, references in use, capacities of the
//! expanded IPVS table, and timings that depend on another section.

use super::build::{Built, Table};
use super::diag::{At, Diagnostics};
use super::model::*;
use super::sections::Section;
use super::value::format_duration;
use crate::limits;
use std::collections::HashSet;
use std::net::IpAddr;

/// Runs every cross-section check on what was built.
pub fn validate(b: &Built, diags: &mut Diagnostics) {
    vrrp_uniqueness(b, diags);
    sync_group_membership(b, diags);
    smtp_alerts(b, diags);
    unused(b, diags);
    service_uniqueness(b, diags);
    real_servers(b, diags);
    check_usage(b, diags);
    tracked_checks(b, diags);
    ipvs_capacity(b, diags);
    if b.vrrp.items.is_empty() && b.virtual_servers.items.is_empty() && !diags.has_errors() {
        diags.warning(
            At::line(1),
            "the configuration declares nothing to do",
            "a vrrp or virtual_server section",
        );
    }
}

fn vrrp_uniqueness(b: &Built, diags: &mut Diagnostics) {
    let all: Vec<_> = b.vrrp.valid().collect();
    for (i, &(_, v, s)) in all.iter().enumerate() {
        if let Some((_, first, fs)) = all[..i]
            .iter()
            .find(|(_, o, _)| o.interface == v.interface && o.vrid == v.vrid && o.is_ipv6() == v.is_ipv6())
        {
            diags.error(
                At::option(s.line_of("vrid"), &s.name, "vrid"),
                format!(
                    "vrid {} is already used on {} by {} (line {})",
                    v.vrid,
                    v.interface,
                    first.name,
                    fs.line_of("vrid")
                ),
                "a vrid unique per interface and address family",
            );
        }
        let own = ipvlan_addresses(v);
        let shared = all[..i]
            .iter()
            .filter(|(_, o, _)| o.interface == v.interface)
            .find_map(|(_, o, _)| ipvlan_addresses(o).into_iter().find(|a| own.contains(a)).map(|a| (o, a)));
        if let Some((other, addr)) = shared {
            let what = match addr {
                Some(a) => a.to_string(),
                None => format!("{}'s link-local address", v.interface),
            };
            diags.error(
                At::option(s.line_of("use_ipvlan"), &s.name, "use_ipvlan"),
                format!("the ipvlan of {} on {} has {what} too: the kernel gives it to one", other.name, v.interface),
                "an ipvlan_address of its own for each; for IPv6 a link-local one (fe80::/10) after the first",
            );
        }
        let mode = |o: &Vrrp| match o.virtual_link {
            Some(VirtualLink::Ipvlan { mode, .. }) => Some(mode),
            _ => None,
        };
        let other_mode = all[..i]
            .iter()
            .filter(|(_, o, _)| o.interface == v.interface)
            .find(|(_, o, _)| mode(o).is_some_and(|m| mode(v).is_some_and(|n| n != m)));
        if let Some((_, other, _)) = other_mode {
            diags.error(
                At::option(s.line_of("use_ipvlan"), &s.name, "use_ipvlan"),
                format!("the ipvlan of {} on {} has another ipvlan_mode", other.name, v.interface),
                "one ipvlan_mode for the ipvlans of one interface (the kernel keeps one)",
            );
        }
        for vip in &v.vips {
            if let Some((_, other, _)) =
                all[..i].iter().find(|(_, o, _)| o.vips.iter().any(|x| x.addr == vip.addr))
            {
                diags.error(
                    At::option(s.line_of("vip"), &s.name, "vip"),
                    format!("{} is also a vip of {}", vip.addr, other.name),
                    "each virtual address in one instance",
                );
            }
        }
    }
}

/// The addresses the ipvlan of `v` holds that no other ipvlan of the same interface may:
/// its `ipvlan_address`, and for IPv6 its link-local one (`None`: the interface's own,
/// which it has unless `ipvlan_address` is link-local).
fn ipvlan_addresses(v: &Vrrp) -> Vec<Option<IpAddr>> {
    let Some(VirtualLink::Ipvlan { address, .. }) = &v.virtual_link else {
        return Vec::new();
    };
    let own = address.map(|(a, _)| a);
    let mut out: Vec<Option<IpAddr>> = own.into_iter().map(Some).collect();
    let own_link_local = matches!(own, Some(IpAddr::V6(a)) if a.is_unicast_link_local());
    if v.is_ipv6() && !own_link_local {
        out.push(None);
    }
    out
}

fn sync_group_membership(b: &Built, diags: &mut Diagnostics) {
    let mut owner: Vec<Option<&str>> = vec![None; b.vrrp.items.len()];
    for (_, g, s) in b.sync_groups.valid() {
        for &m in &g.members {
            match owner.get(m).copied().flatten() {
                Some(first) => diags.error(
                    At::option(s.line_of("members"), &s.name, "members"),
                    format!("{} is already a member of sync group {first}", b.vrrp.items[m].1.name),
                    "each instance in at most one sync group",
                ),
                None => {
                    if let Some(o) = owner.get_mut(m) {
                        *o = Some(g.name.as_str());
                    }
                }
            }
        }
    }
}

fn smtp_alerts(b: &Built, diags: &mut Diagnostics) {
    let Some(g) = &b.global else { return };
    if g.smtp_server.is_some() && !g.alert_email.is_empty() {
        return;
    }
    let wants = b
        .vrrp
        .valid()
        .map(|(_, v, s)| (v.notify.smtp_alert, s))
        .chain(b.sync_groups.valid().map(|(_, v, s)| (v.notify.smtp_alert, s)))
        .chain(b.virtual_servers.valid().map(|(_, v, s)| (v.smtp_alert, s)));
    for (_, s) in wants.filter(|(on, _)| *on) {
        diags.error(
            At::option(s.line_of("smtp_alert"), &s.name, "smtp_alert"),
            "e-mail alerts need somewhere to go",
            "global smtp_server and alert_email to be set",
        );
    }
}

fn unused(b: &Built, diags: &mut Diagnostics) {
    // Only when every would-be user was read: a broken vrrp section may be the one that
    // tracks the script.
    if b.vrrp.items.iter().all(|(v, _)| v.is_some()) {
        let tracked = b.vrrp.valid().flat_map(|(_, v, _)| v.track_scripts.iter().map(|t| t.script));
        let unused = unreferenced(&b.scripts, tracked);
        warn_each(
            diags,
            unused,
            "script is not tracked by any vrrp section",
            "its name in a vrrp track_script",
        );
    }
    if b.real_servers.items.iter().all(|(r, _)| r.is_some()) && b.vrrp.items.iter().all(|(v, _)| v.is_some())
    {
        let tracked = b.vrrp.valid().flat_map(|(_, v, _)| {
            v.track_files.iter().chain(v.track_processes.iter()).chain(v.track_bfds.iter()).map(|t| t.check)
        });
        let used = b.real_servers.valid().flat_map(|(_, r, _)| r.checks.iter().copied()).chain(tracked);
        let unused = unreferenced(&b.checks, used);
        warn_each(diags, unused, "check is not used by any real server", "its name in a real_server check");
    }
    let served: HashSet<usize> =
        b.real_servers.valid().flat_map(|(_, r, _)| r.virtual_servers.iter().copied()).collect();
    for (i, v, s) in b.virtual_servers.valid() {
        if !served.contains(&i)
            && v.sorry_server.is_none()
            && b.real_servers.items.iter().all(|(r, _)| r.is_some())
        {
            diags.warning(
                At::section(s.line, &s.name),
                "virtual server has no real servers",
                "a real_server naming it, or a sorry_server",
            );
        }
    }
}

/// The sections of `table` whose index `used` never names.
fn unreferenced<'a, T>(table: &Table<'a, T>, used: impl Iterator<Item = usize>) -> Vec<&'a Section> {
    let used: HashSet<usize> = used.collect();
    table.items.iter().enumerate().filter(|(i, _)| !used.contains(i)).map(|(_, (_, s))| *s).collect()
}

fn warn_each(diags: &mut Diagnostics, sections: Vec<&Section>, what: &str, expected: &str) {
    for s in sections {
        diags.warning(At::section(s.line, &s.name), what, expected);
    }
}

fn service_uniqueness(b: &Built, diags: &mut Diagnostics) {
    let all: Vec<_> = b.virtual_servers.valid().collect();
    for (i, &(_, v, s)) in all.iter().enumerate() {
        for &(_, o, _) in &all[..i] {
            let clash = match (&v.key, &o.key) {
                (
                    ServiceKey::Address { addr: a, ports: pa, protocol: ra },
                    ServiceKey::Address { addr: b, ports: pb, protocol: rb },
                ) => (a == b && ra == rb)
                    .then(|| {
                        pa.iter()
                            .flat_map(PortRange::ports)
                            .find(|p| pb.iter().any(|r| (r.first..=r.last).contains(p)))
                    })
                    .flatten()
                    .map(|p| format!("{} port {p} is also served by {}", a, o.name)),
                (ServiceKey::Fwmark { mark: a, family: fa }, ServiceKey::Fwmark { mark: b, family: fb }) => {
                    (a == b && fa == fb).then(|| format!("fwmark {a} is also served by {}", o.name))
                }
                _ => None,
            };
            if let Some(what) = clash {
                let opt = if matches!(v.key, ServiceKey::Fwmark { .. }) { "fwmark" } else { "port" };
                diags.error(At::option(s.line_of(opt), &s.name, opt), what, "each service once");
                break;
            }
        }
    }
}

/// The ports a real server's destination uses in a service: its own, or each virtual port.
fn virtual_ports(v: &VirtualServer) -> Vec<u16> {
    match &v.key {
        ServiceKey::Address { ports, .. } => ports.iter().flat_map(PortRange::ports).collect(),
        ServiceKey::Fwmark { .. } => vec![0],
    }
}

fn real_servers(b: &Built, diags: &mut Diagnostics) {
    // (virtual server, virtual port, address, destination port) -> section that has it.
    type Destination = (usize, u16, IpAddr, u16);
    let mut seen: Vec<(Destination, &str)> = Vec::new();
    for (_, r, s) in b.real_servers.valid() {
        for &vi in &r.virtual_servers {
            let Some(v) = b.virtual_servers.get(vi) else { continue };
            let forward = r.forward.unwrap_or(v.forward);
            if Family::of(r.address) != v.key.family() && forward != Forward::Tun {
                diags.error(
                    At::option(s.line_of("address"), &s.name, "address"),
                    format!("{} is not in the family of virtual server {}", r.address, v.name),
                    "the same family, or forward tun (the kernel tunnels across families)",
                );
            }
            if let (Some(p), Forward::Dr | Forward::Tun, ServiceKey::Address { .. }) =
                (r.port, forward, &v.key)
            {
                // An every-port service keeps the client's port whatever the destination's
                // (ip_vs_sched_persist): there a port is only where checks probe.
                if virtual_ports(v) != [p] && !v.key.every_port() {
                    diags.error(
                        At::option(s.line_of("port"), &s.name, "port"),
                        format!(
                            "{} forwarding cannot change the port of virtual server {}",
                            value_name(forward),
                            v.name
                        ),
                        "no port (the virtual port is used), or forward nat",
                    );
                }
            }
            // A kernel destination is (address, port) within one service (virtual port);
            // an unset port means the virtual port, so compare what the kernel would get.
            for vport in virtual_ports(v) {
                let key = (vi, vport, r.address, r.port.unwrap_or(vport));
                if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                    diags.error(
                        At::option(s.line_of("address"), &s.name, "address"),
                        format!("{} is already a real server of {} (section {first})", r.address, v.name),
                        "each real server once per virtual server",
                    );
                    break;
                }
                seen.push((key, &r.name));
            }
        }
    }
    for (vi, v, s) in b.virtual_servers.valid() {
        let tunnelled = v.forward == Forward::Tun
            || b.real_servers
                .valid()
                .any(|(_, r, _)| r.virtual_servers.contains(&vi) && r.forward == Some(Forward::Tun));
        // One warning for the tunnel settings together: they share the cause.
        let first = ["tunnel_type", "tunnel_port", "tunnel_csum"].into_iter().find(|o| s.get(o).is_some());
        if let Some(opt) = first.filter(|_| !tunnelled) {
            diags.warning(
                At::option(s.line_of(opt), &s.name, opt),
                "has no effect: nothing is forwarded by tun",
                "forward tun",
            );
        }
    }
}

fn value_name(f: Forward) -> &'static str {
    super::value::keyword_name(f, FORWARDS)
}

/// Timeouts against the interval each use of a check gets, and source address families.
/// A vrrp `track_file` names a check of type `file` and a `track_process` one of type
/// `process`, with weight 0 where it is the address owner (nothing shifts priority 255),
/// as keepalived demands.
fn tracked_checks(b: &Built, diags: &mut Diagnostics) {
    for (_, v, s) in b.vrrp.valid() {
        let lists = [
            ("track_file", "file", &v.track_files[..]),
            ("track_process", "process", &v.track_processes[..]),
            ("track_bfd", "bfd", &v.track_bfds[..]),
        ];
        for (option, kind, tracked) in lists {
            for t in tracked {
                let Some(c) = b.checks.get(t.check) else { continue };
                let at = || At::option(s.line_of(option), &s.name, option);
                let own_weight = match &c.kind {
                    CheckKind::File(f) if kind == "file" => f.weight,
                    CheckKind::Process(p) if kind == "process" => i32::from(p.weight),
                    CheckKind::Bfd(b) if kind == "bfd" => i32::from(b.weight),
                    other => {
                        diags.error(
                            at(),
                            format!("check {} is a {} check", c.name, other.type_name()),
                            format!("the name of a check of type {kind}"),
                        );
                        continue;
                    }
                };
                if v.priority == 255 && t.weight.map_or(own_weight, i32::from) != 0 {
                    diags.error(
                        at(),
                        format!("check {} shifts the priority, and an address owner's is 255", c.name),
                        match kind {
                            "file" => "weight 0 (the file's value puts the instance in FAULT or not): name:0",
                            "process" => "weight 0 (a lost quorum puts the instance in FAULT): name:0",
                            _ => "weight 0 (a session down puts the instance in FAULT): name:0",
                        },
                    );
                }
            }
        }
    }
}

fn check_usage(b: &Built, diags: &mut Diagnostics) {
    let mut reported: HashSet<(usize, &str)> = HashSet::new();
    for (_, r, _) in b.real_servers.valid() {
        for &ci in &r.checks {
            let (Some(c), s) = (b.checks.get(ci), b.checks.items[ci].1) else { continue };
            for &vi in &r.virtual_servers {
                let Some(v) = b.virtual_servers.get(vi) else { continue };
                if c.interval.is_none() && c.timeout >= v.delay_loop && reported.insert((ci, "timeout")) {
                    let default = if s.get("timeout").is_none() { "the default " } else { "" };
                    diags.error(
                        At::option(s.line_of("timeout"), &s.name, "timeout"),
                        format!(
                            "{default}{} is not shorter than the delay_loop {} of virtual server {} (the check's interval)",
                            format_duration(c.timeout),
                            format_duration(v.delay_loop),
                            v.name
                        ),
                        "a shorter timeout, or an interval on the check",
                    );
                }
            }
            let probes_a_port = c.kind.has_port();
            let portless = r
                .virtual_servers
                .iter()
                .any(|&vi| b.virtual_servers.get(vi).is_some_and(|v| !v.key.gives_a_port()));
            if probes_a_port
                && portless
                && c.connect_port.is_none()
                && r.port.is_none()
                && reported.insert((ci, "connect_port"))
            {
                {
                    diags.error(
                        At::option(s.line_of("connect_port"), &s.name, "connect_port"),
                        format!(
                            "real server {} of a fwmark or every-port service gives the check no port to probe",
                            r.name
                        ),
                        "connect_port on the check, or port on the real server",
                    );
                }
            }
            let target = c.connect_ip.unwrap_or(r.address);
            if let Some(bind) = c.bind_ip.filter(|bi| bi.is_ipv4() != target.is_ipv4()) {
                if reported.insert((ci, "bind_ip")) {
                    diags.error(
                        At::option(s.line_of("bind_ip"), &s.name, "bind_ip"),
                        format!("{bind} cannot reach {target} of real server {}", r.name),
                        "a source address of the target's family",
                    );
                }
            }
        }
    }
}

/// The IPVS table and the probe set the configuration expands to, against their limits.
fn ipvs_capacity(b: &Built, diags: &mut Diagnostics) {
    let services: usize = b.virtual_servers.valid().map(|(_, v, _)| v.key.service_count()).sum();
    let mut destinations = 0usize;
    let mut probes: HashSet<(usize, IpAddr, u16)> = HashSet::new();
    let mut last_rs = None;
    for (_, r, s) in b.real_servers.valid() {
        for &vi in &r.virtual_servers {
            let Some(v) = b.virtual_servers.get(vi) else { continue };
            destinations += v.key.service_count();
            for &ci in &r.checks {
                let Some(c) = b.checks.get(ci) else { continue };
                for p in virtual_ports(v) {
                    // As check::plan counts them: a ping has no port, a local check no target.
                    let port = if c.kind.has_port() || c.kind.type_name() == "script" {
                        c.connect_port.or(r.port).unwrap_or(p)
                    } else {
                        0
                    };
                    let addr = if c.kind.is_local() {
                        IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
                    } else {
                        c.connect_ip.unwrap_or(r.address)
                    };
                    probes.insert((ci, addr, port));
                }
            }
        }
        last_rs = Some(s);
    }
    let line_of_last = |t: &super::build::Table<'_, VirtualServer>| t.items.last().map_or(1, |(_, s)| s.line);
    if services > limits::IPVS_SERVICES {
        diags.error(
            At::line(line_of_last(&b.virtual_servers)),
            format!("the virtual servers expand to {services} kernel services"),
            format!("at most {} (limits::IPVS_SERVICES)", limits::IPVS_SERVICES),
        );
    }
    let rs_line = last_rs.map_or(1, |s| s.line);
    if destinations > limits::IPVS_DESTINATIONS {
        diags.error(
            At::line(rs_line),
            format!("the real servers expand to {destinations} kernel destinations"),
            format!("at most {} (limits::IPVS_DESTINATIONS)", limits::IPVS_DESTINATIONS),
        );
    }
    if probes.len() > limits::PROBES {
        diags.error(
            At::line(rs_line),
            format!("the checks expand to {} distinct probes", probes.len()),
            format!("at most {} (limits::PROBES)", limits::PROBES),
        );
    }
}
