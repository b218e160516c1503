//! The difference between the desired table and the kernel's, as an ordered list of
//! writes. IPVS has no transactions, so the order is what keeps traffic flowing: within a
//! service adds, then edits, then deletes, so a declared service never loses its healthy
//! destinations midway; whole services are deleted last.

use super::desired::DesiredService;
use super::model::{Dest, DestKey, DumpedDest, DumpedService, Method, Service, ServiceKey, SVC_F_ONEPACKET};
use super::model::{TunnelSpec, SVC_F_PERSISTENT};
use crate::config::model::Family;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::Ipv4Addr;

/// One write to the kernel's IPVS table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    AddService(Service),
    EditService(Service),
    DelService(ServiceKey),
    AddDest(ServiceKey, Dest),
    EditDest(ServiceKey, Dest),
    DelDest(ServiceKey, DestKey),
}

impl Op {
    /// The service the write is about.
    pub fn service_key(&self) -> ServiceKey {
        match self {
            Op::AddService(s) | Op::EditService(s) => s.key,
            Op::DelService(k) | Op::AddDest(k, _) | Op::EditDest(k, _) | Op::DelDest(k, _) => *k,
        }
    }
}

impl fmt::Display for Op {
    /// `add service tcp 198.51.100.1:80 (wrr)`, `edit tcp 198.51.100.1:80 -> 198.51.100.20:80
    /// weight 3 (Route)`, `delete service fwmark 7`: one log line per write.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::AddService(s) => write!(f, "add service {}", ServiceLine(s)),
            Op::EditService(s) => write!(f, "edit service {}", ServiceLine(s)),
            Op::DelService(k) => write!(f, "delete service {k}"),
            Op::AddDest(k, d) => write!(f, "add {k} -> {}", DestLine(d)),
            Op::EditDest(k, d) => write!(f, "edit {k} -> {}", DestLine(d)),
            Op::DelDest(k, d) => write!(f, "delete {k} -> {d}"),
        }
    }
}

/// A service with the settings keeplite manages, as in `ipvsadm -L`.
struct ServiceLine<'a>(&'a Service);

impl fmt::Display for ServiceLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        write!(f, "{} ({}", s.key, s.scheduler)?;
        if s.flags & SVC_F_PERSISTENT != 0 {
            write!(f, ", persistent {}s", s.timeout)?;
            let family = s.key.family();
            if s.netmask != Service::full_netmask(family) {
                match family {
                    Family::Ipv4 => write!(f, " mask {}", Ipv4Addr::from(s.netmask))?,
                    Family::Ipv6 => write!(f, " mask /{}", s.netmask)?,
                }
            }
        }
        if s.flags & SVC_F_ONEPACKET != 0 {
            f.write_str(", ops")?;
        }
        f.write_str(")")
    }
}

/// A destination with its settings.
struct DestLine<'a>(&'a Dest);

impl fmt::Display for DestLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(f, "{} weight {} ({}", d.key, d.weight, d.method.name())?;
        if d.method == Method::Tunnel {
            tunnel(f, d.tunnel)?;
        }
        if d.u_threshold != 0 {
            write!(f, ", uthreshold {}", d.u_threshold)?;
        }
        if d.l_threshold != 0 {
            write!(f, ", lthreshold {}", d.l_threshold)?;
        }
        f.write_str(")")
    }
}

/// ` gue port 6080 csum`: the tunnel in the configuration's words.
fn tunnel(f: &mut fmt::Formatter<'_>, t: TunnelSpec) -> fmt::Result {
    match t.kind {
        0 => f.write_str(" ipip")?,
        1 => write!(f, " gue port {}", t.port)?,
        2 => f.write_str(" gre")?,
        other => write!(f, " type {other}")?,
    }
    match t.flags {
        0 => Ok(()),
        1 => f.write_str(" csum"),
        2 => f.write_str(" remcsum"),
        other => write!(f, " flags {other}"),
    }
}

/// The writes that turn `kernel` into `desired` for keeplite's services. `owned` are the
/// keys keeplite declared before (the previous configuration): those no longer desired
/// are deleted; a kernel service neither desired nor owned is an operator's and is left
/// alone. A key or destination listed twice counts once, the first time.
pub fn reconcile(desired: &[DesiredService], kernel: &[DumpedService], owned: &[ServiceKey]) -> Vec<Op> {
    let mut held: HashMap<ServiceKey, &DumpedService> = HashMap::with_capacity(kernel.len());
    for k in kernel {
        held.entry(k.service.key).or_insert(k);
    }
    let mut wanted = HashSet::with_capacity(desired.len());
    let mut ops = Vec::new();
    let mut scratch = Scratch::default();
    for d in desired {
        let key = d.service.key;
        if !wanted.insert(key) {
            continue;
        }
        let have: &[DumpedDest] = match held.get(&key) {
            None => {
                ops.push(Op::AddService(d.service.clone()));
                &[]
            }
            Some(k) => {
                if !d.service.same_settings(&k.service) {
                    ops.push(Op::EditService(d.service.clone()));
                }
                &k.dests
            }
        };
        dests(key, &d.dests, have, &mut scratch, &mut ops);
    }
    let mut deleted = HashSet::new();
    for &key in owned {
        if !wanted.contains(&key) && held.contains_key(&key) && deleted.insert(key) {
            ops.push(Op::DelService(key));
        }
    }
    ops
}

/// Lists longer than this get a sorted index; shorter ones, a service's usual handful,
/// are scanned, which is faster than sorting them.
const SCAN_UP_TO: usize = 16;

/// Look-up buffers reused from one service to the next.
struct Scratch {
    want: Index,
    have: Index,
    scan_up_to: usize,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch { want: Index::default(), have: Index::default(), scan_up_to: SCAN_UP_TO }
    }
}

/// Where each destination key first appears in a list: (key, position) sorted by key,
/// or empty when the list is short enough to scan.
#[derive(Default)]
struct Index {
    sorted: Vec<(DestKey, usize)>,
}

impl Index {
    fn prepare(&mut self, keys: impl ExactSizeIterator<Item = DestKey>, scan_up_to: usize) {
        self.sorted.clear();
        if keys.len() > scan_up_to {
            self.sorted.extend(keys.zip(0..));
            // Stable, so the first of equal keys stays first and dedup keeps it.
            self.sorted.sort_by_key(|&(k, _)| k);
            self.sorted.dedup_by_key(|&mut (k, _)| k);
        }
    }

    /// Position of `key`'s first entry in `keys` (the list the index was prepared for).
    fn first(&self, key: DestKey, mut keys: impl Iterator<Item = DestKey>) -> Option<usize> {
        if self.sorted.is_empty() {
            return keys.position(|k| k == key);
        }
        self.sorted.binary_search_by_key(&key, |&(k, _)| k).ok().map(|i| self.sorted[i].1)
    }
}

/// The destination writes of one service: adds, then edits, then deletes.
fn dests(key: ServiceKey, want: &[Dest], have: &[DumpedDest], s: &mut Scratch, ops: &mut Vec<Op>) {
    let want_keys = || want.iter().map(|d| d.key);
    let have_keys = || have.iter().map(|d| d.dest.key);
    s.want.prepare(want_keys(), s.scan_up_to);
    s.have.prepare(have_keys(), s.scan_up_to);
    let firsts = || want.iter().enumerate().filter(|&(i, d)| s.want.first(d.key, want_keys()) == Some(i));
    let held = |k: DestKey| s.have.first(k, have_keys()).and_then(|i| have.get(i));
    for (_, d) in firsts() {
        if held(d.key).is_none() {
            ops.push(Op::AddDest(key, *d));
        }
    }
    for (_, d) in firsts() {
        if held(d.key).is_some_and(|k| !d.same_settings(&k.dest)) {
            ops.push(Op::EditDest(key, *d));
        }
    }
    for (i, k) in have.iter().enumerate() {
        let first = s.have.first(k.dest.key, have_keys()) == Some(i);
        if first && s.want.first(k.dest.key, want_keys()).is_none() {
            ops.push(Op::DelDest(key, k.dest.key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::applied::applied as apply;
    use crate::ipvs::desired::tests::config;
    use crate::ipvs::desired::{desired, RealServerHealth};
    use crate::ipvs::model::{DestConns, SchedName, Stats, SVC_F_HASHED};
    use crate::ipvs::quorum::Quorum;
    use proptest::prelude::*;
    use std::net::IpAddr;

    fn dumped_dest(dest: Dest) -> DumpedDest {
        DumpedDest { dest, conns: DestConns::default(), stats: Stats::default() }
    }

    /// The kernel's dump once `desired` is in place.
    fn dumped(desired: &[DesiredService]) -> Vec<DumpedService> {
        apply(&[], &reconcile(desired, &[], &[])).unwrap()
    }

    fn keys(desired: &[DesiredService]) -> Vec<ServiceKey> {
        desired.iter().map(|d| d.service.key).collect()
    }

    /// The desired table of a configuration with every real server up.
    fn table(text: &str) -> Vec<DesiredService> {
        let c = config(text);
        desired(&c, &RealServerHealth::all_up(&c), &mut Quorum::initial(&c)).services
    }

    fn lines(ops: &[Op]) -> Vec<String> {
        ops.iter().map(Op::to_string).collect()
    }

    const BASE: &str = "
web=virtual_server
web.address='192.0.2.1'
web.port='80'
web.scheduler='wrr'
a=real_server
a.virtual_server='web'
a.address='10.0.0.1'
a.weight='2'
b=real_server
b.virtual_server='web'
b.address='10.0.0.2'
";

    #[test]
    fn reload_writes_only_what_changed() {
        // (name, edits to BASE for the new file, writes)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
        let cases: &[Case] = &[
            ("no change", &[], &[]),
            ("scheduler", &[("'wrr'", "'rr'")], &["edit service tcp 192.0.2.1:80 (rr)"]),
            (
                "persistence on",
                &[("'wrr'", "'wrr'\nweb.persistence_timeout='300'\nweb.persistence_netmask='24'")],
                &["edit service tcp 192.0.2.1:80 (wrr, persistent 300s mask 255.255.255.0)"],
            ),
            ("weight", &[("'2'", "'3'")], &["edit tcp 192.0.2.1:80 -> 10.0.0.1:80 weight 3 (Masq)"]),
            (
                "forward and thresholds",
                &[("'2'", "'2'\na.forward='dr'\na.uthreshold='9'")],
                &["edit tcp 192.0.2.1:80 -> 10.0.0.1:80 weight 2 (Route, uthreshold 9)"],
            ),
            (
                "real server added",
                &[("\nb=", "\nc=real_server\nc.virtual_server='web'\nc.address='10.0.0.3'\nb=")],
                &["add tcp 192.0.2.1:80 -> 10.0.0.3:80 weight 1 (Masq)"],
            ),
            (
                "real server removed",
                &[("\nb=real_server\nb.virtual_server='web'\nb.address='10.0.0.2'\n", "\n")],
                &["delete tcp 192.0.2.1:80 -> 10.0.0.2:80"],
            ),
            (
                "real server moved to another service (services in config order)",
                &[(
                    "b.virtual_server='web'",
                    "b.virtual_server='other'\nother=virtual_server\nother.fwmark='1'",
                )],
                &[
                    "delete tcp 192.0.2.1:80 -> 10.0.0.2:80",
                    "add service fwmark 1 (wlc)",
                    "add fwmark 1 -> 10.0.0.2:0 weight 1 (Masq)",
                ],
            ),
            (
                "port moved: the new one in before the old one out",
                &[("'10.0.0.1'", "'10.0.0.1'\na.port='8080'")],
                &[
                    "add tcp 192.0.2.1:80 -> 10.0.0.1:8080 weight 2 (Masq)",
                    "delete tcp 192.0.2.1:80 -> 10.0.0.1:80",
                ],
            ),
            (
                "second port: a new service with its destinations",
                &[("'80'", "'80' '443'")],
                &[
                    "add service tcp 192.0.2.1:443 (wrr)",
                    "add tcp 192.0.2.1:443 -> 10.0.0.1:443 weight 2 (Masq)",
                    "add tcp 192.0.2.1:443 -> 10.0.0.2:443 weight 1 (Masq)",
                ],
            ),
            (
                "service moved to another port: the old one deleted last",
                &[("'80'", "'81'")],
                &[
                    "add service tcp 192.0.2.1:81 (wrr)",
                    "add tcp 192.0.2.1:81 -> 10.0.0.1:81 weight 2 (Masq)",
                    "add tcp 192.0.2.1:81 -> 10.0.0.2:81 weight 1 (Masq)",
                    "delete service tcp 192.0.2.1:80",
                ],
            ),
        ];
        for (name, edits, want) in cases {
            let old = table(BASE);
            let new = table(&edits.iter().fold(BASE.to_owned(), |t, (from, to)| t.replacen(from, to, 1)));
            let kernel = dumped(&old);
            let ops = reconcile(&new, &kernel, &keys(&old));
            assert_eq!(lines(&ops), *want, "{name}");
            // Applied, the kernel holds the new table and nothing is left to do.
            let after = apply(&kernel, &ops).unwrap();
            assert_eq!(reconcile(&new, &after, &keys(&old)), [], "{name}");
        }
    }

    #[test]
    fn persistence_off_and_ops() {
        let old = table("v=virtual_server\nv.address='192.0.2.1'\nv.port='53'\nv.protocol='udp'\nv.persistence_timeout='60'\n");
        let new =
            table("v=virtual_server\nv.address='192.0.2.1'\nv.port='53'\nv.protocol='udp'\nv.ops='1'\n");
        let ops = reconcile(&new, &dumped(&old), &[]);
        assert_eq!(lines(&ops), ["edit service udp 192.0.2.1:53 (wlc, ops)"]);
        assert_eq!(ops, [Op::EditService(new[0].service.clone())]);
        let Op::EditService(s) = &ops[0] else { unreachable!() };
        assert_eq!((s.flags, s.timeout, s.netmask), (SVC_F_ONEPACKET, 0, u32::MAX));
    }

    /// An operator's service: same address as keeplite's, another port.
    fn operators() -> DumpedService {
        let key = ServiceKey::Address { protocol: 6, addr: "192.0.2.1".parse().unwrap(), port: 8080 };
        let service =
            Service { key, scheduler: sched("rr"), flags: SVC_F_HASHED, timeout: 0, netmask: u32::MAX };
        let d = dest("10.9.9.9".parse().unwrap(), 8080, 5);
        DumpedService { service, stats: Stats::default(), dests: vec![dumped_dest(d)] }
    }

    fn sched(name: &str) -> SchedName {
        SchedName::try_from(name).unwrap()
    }

    fn dest(addr: IpAddr, port: u16, weight: u32) -> Dest {
        let key = DestKey { addr, port };
        Dest {
            key,
            method: Method::Masquerade,
            weight,
            u_threshold: 0,
            l_threshold: 0,
            tunnel: TunnelSpec::default(),
        }
    }

    #[test]
    fn only_declared_and_owned_services_are_touched() {
        let ours = table(BASE);
        let mut kernel = dumped(&ours);
        kernel.insert(0, operators());
        // Start, reload and stop all leave the operator's service as it is.
        let start = reconcile(&ours, &kernel, &[]);
        assert_eq!(start, []);
        let moved = table(&BASE.replace("'80'", "'81'"));
        let reload = reconcile(&moved, &kernel, &keys(&ours));
        assert!(reload.iter().all(|op| op.service_key() != operators().service.key), "{reload:?}");
        let stop = reconcile(&[], &kernel, &keys(&ours));
        assert_eq!(lines(&stop), ["delete service tcp 192.0.2.1:80"]);
        // Not owned (a start after a crash with an older file): left alone too.
        assert_eq!(reconcile(&[], &kernel, &[]), []);
        // Owned but already gone from the kernel: nothing to delete.
        assert_eq!(reconcile(&[], &[operators()], &keys(&ours)), []);
    }

    #[test]
    fn a_declared_service_an_operator_created_is_taken_over() {
        let mut op = operators();
        op.dests.push(dumped_dest(dest("10.0.0.2".parse().unwrap(), 8080, 1)));
        let ours = table(
            "v=virtual_server\nv.address='192.0.2.1'\nv.port='8080'\nv.scheduler='rr'\n\
                          a=real_server\na.virtual_server='v'\na.address='10.0.0.2'\n",
        );
        let ops = reconcile(&ours, &[op], &[]);
        assert_eq!(lines(&ops), ["delete tcp 192.0.2.1:8080 -> 10.9.9.9:8080"]);
    }

    #[test]
    fn sorry_server_and_inhibit_flows() {
        let c = config(
            "v=virtual_server\nv.address='192.0.2.1'\nv.port='80'\nv.quorum='3'\nv.hysteresis='1'\n\
             v.sorry_server='10.0.0.99'\n\
             a=real_server\na.virtual_server='v'\na.address='10.0.0.1'\na.weight='2'\n\
             b=real_server\nb.virtual_server='v'\nb.address='10.0.0.2'\n\
             c=real_server\nc.virtual_server='v'\nc.address='10.0.0.3'\nc.inhibit_on_failure='1'\n",
        );
        let up = RealServerHealth::UP;
        let down = RealServerHealth { up: false, ..RealServerHealth::UP };
        let v = "tcp 192.0.2.1:80 ->";
        // (health of a b c, writes, quorum change)
        let steps: &[([RealServerHealth; 3], &[&str], Option<bool>)] = &[
            ([up; 3], &["add service tcp 192.0.2.1:80 (wlc)"], None),
            ([up, up, down], &[&format!("edit {v} 10.0.0.3:80 weight 0 (Masq)")], None),
            ([up, down, down], &[&format!("delete {v} 10.0.0.2:80")], None),
            (
                [down, down, down],
                &[&format!("add {v} 10.0.0.99:80 weight 1 (Masq)"), &format!("delete {v} 10.0.0.1:80")],
                Some(false),
            ),
            // Below quorum + hysteresis: the sorry server stays, the alive one waits.
            ([up, down, down], &[], None),
            (
                [up, up, up],
                &[
                    &format!("add {v} 10.0.0.1:80 weight 2 (Masq)"),
                    &format!("add {v} 10.0.0.2:80 weight 1 (Masq)"),
                    &format!("edit {v} 10.0.0.3:80 weight 1 (Masq)"),
                    &format!("delete {v} 10.0.0.99:80"),
                ],
                Some(true),
            ),
        ];
        let mut quorum = Quorum::initial(&c);
        let mut kernel = Vec::new();
        let owned = [];
        for (i, (health, want, change)) in steps.iter().enumerate() {
            let d = desired(&c, health, &mut quorum);
            let ops = reconcile(&d.services, &kernel, &owned);
            let got = lines(&ops);
            // The first step also adds the three servers; compare its first line only.
            let got = if i == 0 { &got[..1] } else { &got[..] };
            assert_eq!(got, *want, "step {i}");
            assert_eq!(d.quorum_changes.first().map(|q| q.up), *change, "step {i}");
            kernel = apply(&kernel, &ops).unwrap();
        }
    }

    #[test]
    fn order_within_a_service_and_deletes_last() {
        let old = table(&format!(
            "{BASE}gone=virtual_server\ngone.fwmark='4'\nx=real_server\nx.virtual_server='web'\nx.address='10.0.0.8'\n"
        ));
        let new = table(&format!(
            "{}\nn=real_server\nn.virtual_server='web'\nn.address='10.0.0.7'\n",
            BASE.replace("'wrr'", "'lc'").replace("'2'", "'4'")
        ));
        let ops = reconcile(&new, &dumped(&old), &keys(&old));
        let want = [
            "edit service tcp 192.0.2.1:80 (lc)",
            "add tcp 192.0.2.1:80 -> 10.0.0.7:80 weight 1 (Masq)",
            "edit tcp 192.0.2.1:80 -> 10.0.0.1:80 weight 4 (Masq)",
            "delete tcp 192.0.2.1:80 -> 10.0.0.8:80",
            "delete service fwmark 4",
        ];
        assert_eq!(lines(&ops), want);
    }

    #[test]
    fn duplicates_count_once() {
        let ours = table(BASE);
        let mut kernel = dumped(&ours);
        // The kernel repeats the service (with other destinations) and a destination.
        let mut twin = kernel[0].clone();
        twin.dests.truncate(1);
        twin.dests[0].dest.weight = 9;
        kernel.push(twin);
        let first = kernel[0].dests[0];
        kernel[0].dests.push(DumpedDest { dest: Dest { weight: 7, ..first.dest }, ..first });
        assert_eq!(reconcile(&ours, &kernel, &keys(&ours)), []);
        assert_eq!(
            lines(&reconcile(&[], &kernel, &keys(&ours).repeat(2))),
            ["delete service tcp 192.0.2.1:80"]
        );
        // A desired service or destination listed twice: the first one counts.
        let mut twice = [ours.clone(), ours.clone()].concat();
        twice[1].service.scheduler = sched("rr");
        let extra = twice[0].dests[0];
        twice[0].dests.push(Dest { weight: 5, ..extra });
        assert_eq!(reconcile(&twice, &dumped(&ours), &[]), []);
        let ops = reconcile(&twice, &[], &[]);
        assert_eq!(lines(&ops).len(), 3, "{ops:?}");
    }

    #[test]
    fn log_lines() {
        let v4: IpAddr = "198.51.100.1".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let tcp = ServiceKey::Address { protocol: 6, addr: v4, port: 80 };
        let mark6 = ServiceKey::Fwmark { family: Family::Ipv6, mark: 7 };
        let svc =
            |key, flags, timeout, netmask| Service { key, scheduler: sched("wrr"), flags, timeout, netmask };
        let d = dest("198.51.100.20".parse().unwrap(), 80, 3);
        let tunnel = |kind, port, flags| Dest {
            method: Method::Tunnel,
            tunnel: TunnelSpec { kind, port, flags },
            ..d
        };
        let cases: &[(Op, &str)] = &[
            (Op::AddService(svc(tcp, 0, 0, u32::MAX)), "add service tcp 198.51.100.1:80 (wrr)"),
            (
                Op::EditService(svc(tcp, SVC_F_PERSISTENT, 300, u32::MAX)),
                "edit service tcp 198.51.100.1:80 (wrr, persistent 300s)",
            ),
            (
                Op::AddService(svc(mark6, SVC_F_PERSISTENT | SVC_F_ONEPACKET, 60, 64)),
                "add service fwmark 7 (ipv6) (wrr, persistent 60s mask /64, ops)",
            ),
            (Op::DelService(mark6), "delete service fwmark 7 (ipv6)"),
            (Op::EditDest(tcp, d), "edit tcp 198.51.100.1:80 -> 198.51.100.20:80 weight 3 (Masq)"),
            (
                Op::AddDest(
                    tcp,
                    Dest { u_threshold: 100, l_threshold: 10, method: Method::DirectRoute, ..d },
                ),
                "add tcp 198.51.100.1:80 -> 198.51.100.20:80 weight 3 (Route, uthreshold 100, lthreshold 10)",
            ),
            (
                Op::AddDest(tcp, tunnel(0, 0, 0)),
                "add tcp 198.51.100.1:80 -> 198.51.100.20:80 weight 3 (Tunnel ipip)",
            ),
            (
                Op::AddDest(tcp, tunnel(1, 6080, 2)),
                "add tcp 198.51.100.1:80 -> 198.51.100.20:80 weight 3 (Tunnel gue port 6080 remcsum)",
            ),
            (
                Op::AddDest(tcp, tunnel(2, 0, 1)),
                "add tcp 198.51.100.1:80 -> 198.51.100.20:80 weight 3 (Tunnel gre csum)",
            ),
            (
                Op::AddDest(tcp, tunnel(9, 0, 9)),
                "add tcp 198.51.100.1:80 -> 198.51.100.20:80 weight 3 (Tunnel type 9 flags 9)",
            ),
            (
                Op::DelDest(
                    ServiceKey::Address { protocol: 17, addr: v6, port: 53 },
                    DestKey { addr: v6, port: 5353 },
                ),
                "delete udp [2001:db8::1]:53 -> [2001:db8::1]:5353",
            ),
        ];
        for (op, want) in cases {
            assert_eq!(op.to_string(), *want);
        }
    }

    /// `services` services of four destinations each, as the benchmark sizes them.
    fn big(services: u16) -> Vec<DesiredService> {
        (0..services)
            .map(|i| {
                let key =
                    ServiceKey::Address { protocol: 6, addr: "192.0.2.1".parse().unwrap(), port: i + 1 };
                let service =
                    Service { key, scheduler: sched("wlc"), flags: 0, timeout: 0, netmask: u32::MAX };
                let dests = (1..=4).map(|j| dest(IpAddr::from([10, 0, (i >> 8) as u8, j]), 80, 1)).collect();
                DesiredService { virtual_server: usize::from(i), service, dests }
            })
            .collect()
    }

    #[test]
    fn large_tables_reconcile_to_the_one_change() {
        let mut want = big(4096);
        let mut kernel = dumped(&want);
        kernel.reverse();
        assert_eq!(reconcile(&want, &kernel, &keys(&want)), []);
        want[2000].dests[3].weight = 5;
        let ops = reconcile(&want, &kernel, &keys(&want));
        assert_eq!(ops, [Op::EditDest(want[2000].service.key, want[2000].dests[3])]);
    }

    #[test]
    fn a_service_with_thousands_of_destinations() {
        let mut want = big(1);
        let d = want[0].dests[0];
        want[0].dests = (0..4096u16).map(|i| Dest { key: DestKey { port: i, ..d.key }, ..d }).collect();
        let mut kernel = dumped(&want);
        kernel[0].dests.reverse();
        assert_eq!(reconcile(&want, &kernel, &[]), []);
        want[0].dests[17].weight = 0;
        let gone = want[0].dests.remove(4000);
        let ops = reconcile(&want, &kernel, &[]);
        let key = want[0].service.key;
        assert_eq!(ops, [Op::EditDest(key, want[0].dests[17]), Op::DelDest(key, gone.key)]);
    }

    fn addr_strategy() -> impl Strategy<Value = IpAddr> {
        prop::sample::select(vec![
            IpAddr::from([192, 0, 2, 1]),
            IpAddr::from([192, 0, 2, 2]),
            "2001:db8::1".parse().unwrap(),
        ])
    }

    fn service_key() -> impl Strategy<Value = ServiceKey> {
        prop_oneof![
            (prop::sample::select(vec![6u16, 17]), addr_strategy(), 80..83u16)
                .prop_map(|(protocol, addr, port)| ServiceKey::Address { protocol, addr, port }),
            (any::<bool>(), 1..3u32).prop_map(|(v6, mark)| ServiceKey::Fwmark {
                family: if v6 { Family::Ipv6 } else { Family::Ipv4 },
                mark
            }),
        ]
    }

    /// A service; the kernel's carry the hashed flag and sometimes a scheduler flag
    /// (`IP_VS_SVC_F_SCHED1`) an operator set, which keeplite leaves alone.
    fn service(kernel: bool) -> impl Strategy<Value = Service> {
        let managed = vec![0, SVC_F_PERSISTENT, SVC_F_ONEPACKET, SVC_F_PERSISTENT | SVC_F_ONEPACKET];
        let other = if kernel { vec![SVC_F_HASHED, SVC_F_HASHED | 0x8] } else { vec![0] };
        let flags = (prop::sample::select(managed), prop::sample::select(other)).prop_map(|(m, o)| m | o);
        (service_key(), prop::sample::select(vec!["rr", "wlc"]), flags, 0..2u32, any::<bool>()).prop_map(
            |(key, name, flags, timeout, full)| {
                let netmask = if full { Service::full_netmask(key.family()) } else { 24 };
                Service { key, scheduler: sched(name), flags, timeout, netmask }
            },
        )
    }

    fn dest_strategy() -> impl Strategy<Value = Dest> {
        let methods = vec![Method::Masquerade, Method::DirectRoute, Method::Tunnel];
        (addr_strategy(), 80..82u16, prop::sample::select(methods), 0..3u32, 0..2u32, 0..2u8).prop_map(
            |(addr, port, method, weight, threshold, kind)| {
                let tunnel = if method == Method::Tunnel {
                    TunnelSpec { kind, port: 0, flags: 0 }
                } else {
                    TunnelSpec::default()
                };
                let key = DestKey { addr, port };
                Dest { key, method, weight, u_threshold: threshold, l_threshold: 0, tunnel }
            },
        )
    }

    /// Services with distinct keys, each with distinct destination keys.
    fn services(kernel: bool) -> impl Strategy<Value = Vec<(Service, Vec<Dest>)>> {
        prop::collection::vec((service(kernel), prop::collection::vec(dest_strategy(), 0..5)), 0..8).prop_map(
            |mut all| {
                let mut seen = HashSet::new();
                all.retain(|(s, _)| seen.insert(s.key));
                for (_, dests) in &mut all {
                    let mut seen = HashSet::new();
                    dests.retain(|d| seen.insert(d.key));
                }
                all
            },
        )
    }

    /// (desired, kernel, owned): the kernel sometimes already holds a desired service,
    /// exactly or with one destination missing, so that unchanged ones occur.
    fn scenario() -> impl Strategy<Value = (Vec<DesiredService>, Vec<DumpedService>, Vec<ServiceKey>)> {
        let copies = prop::collection::vec(0..3u8, 8);
        (services(false), services(true), prop::collection::vec(service_key(), 0..8), copies).prop_map(
            |(want, have, owned, copies)| {
                let desired: Vec<_> = want
                    .into_iter()
                    .enumerate()
                    .map(|(i, (service, dests))| DesiredService { virtual_server: i, service, dests })
                    .collect();
                let mut kernel: Vec<_> = have
                    .into_iter()
                    .map(|(service, dests)| DumpedService {
                        service,
                        stats: Stats::default(),
                        dests: dests.into_iter().map(dumped_dest).collect(),
                    })
                    .collect();
                for (d, copy) in desired.iter().zip(copies) {
                    if copy == 0 {
                        continue;
                    }
                    kernel.retain(|k| k.service.key != d.service.key);
                    let mut same = dumped(std::slice::from_ref(d));
                    if copy == 2 {
                        same[0].dests.truncate(d.dests.len().saturating_sub(1));
                    }
                    kernel.extend(same);
                }
                (desired, kernel, owned)
            },
        )
    }

    /// Rank of a write within its service: adds, then edits, then deletes.
    fn rank(op: &Op) -> u8 {
        match op {
            Op::AddService(_) => 0,
            Op::EditService(_) => 1,
            Op::AddDest(..) => 2,
            Op::EditDest(..) => 3,
            Op::DelDest(..) => 4,
            Op::DelService(_) => 5,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn scanning_and_indexing_agree(
            want in prop::collection::vec(dest_strategy(), 0..12),
            have in prop::collection::vec(dest_strategy().prop_map(dumped_dest), 0..12),
        ) {
            // Duplicates included: both ways keep the first of each key.
            let key = ServiceKey::Fwmark { family: Family::Ipv4, mark: 1 };
            let run = |scan_up_to| {
                let mut ops = Vec::new();
                let mut s = Scratch { scan_up_to, ..Scratch::default() };
                dests(key, &want, &have, &mut s, &mut ops);
                ops
            };
            prop_assert_eq!(run(0), run(usize::MAX));
        }

        #[test]
        fn applying_the_writes_gives_the_desired_table((want, kernel, owned) in scenario()) {
            let ops = reconcile(&want, &kernel, &owned);
            let after = apply(&kernel, &ops).map_err(TestCaseError::fail)?;
            let declared: HashSet<_> = want.iter().map(|d| d.service.key).collect();
            let owned_set: HashSet<_> = owned.iter().copied().collect();
            // Only declared or owned services are written, in order within each, and
            // whole-service deletes come after every other write.
            for (i, op) in ops.iter().enumerate() {
                let key = op.service_key();
                prop_assert!(declared.contains(&key) || owned_set.contains(&key), "{}", op);
                let later = ops[i + 1..].iter().filter(|o| o.service_key() == key || matches!(op, Op::DelService(_)));
                for o in later {
                    prop_assert!(rank(o) >= rank(op), "{} before {}", op, o);
                }
            }
            // Declared services are exactly as desired.
            for d in &want {
                let k = after.iter().find(|k| k.service.key == d.service.key);
                let k = k.ok_or_else(|| TestCaseError::fail(format!("{} missing", d.service.key)))?;
                prop_assert!(d.service.same_settings(&k.service));
                prop_assert_eq!(k.dests.len(), d.dests.len());
                for dest in &d.dests {
                    prop_assert!(k.dests.iter().any(|kd| kd.dest.key == dest.key && dest.same_settings(&kd.dest)));
                }
            }
            // The operator's are untouched; owned leftovers are gone.
            for k in &kernel {
                let key = k.service.key;
                let now = after.iter().find(|a| a.service.key == key);
                if !declared.contains(&key) {
                    if owned_set.contains(&key) {
                        prop_assert!(now.is_none());
                    } else {
                        prop_assert_eq!(now, Some(k));
                    }
                }
            }
            let untouched = kernel.iter().filter(|k| !declared.contains(&k.service.key) && !owned_set.contains(&k.service.key));
            prop_assert_eq!(after.len(), want.len() + untouched.count());
            // Done in one pass.
            prop_assert_eq!(reconcile(&want, &after, &owned), []);
        }
    }
}
