//! Routes and rules keeplite holds, as a pure core: which ones the configuration wants
//! now (a `route`/`rule` section with an `instance` while that instance is MASTER, one
//! without always), which kernel entries are keeplite's, and the changes that bring the
//! kernel from what it holds to what is wanted.
//!
//! Ownership is exact: a kernel entry is keeplite's when it carries keeplite's protocol
//! number [`PROTOCOL`] (or, for a route configured with a `protocol` of its own, that
//! protocol at a configured route's key). Nothing else is ever replaced or deleted.

use crate::config::model::{Config, Family, Route as RouteConf, RouteType, Rule as RuleConf, Vip};
use crate::net::link::if_name;
use crate::net::route::{self, kind, Route};
use crate::net::rule::{self, Rule};

/// `rtm_protocol` / `FRA_PROTOCOL` of the routes and rules keeplite installs: 75, 'K'.
/// keepalived's is 18 (`RTPROT_KEEPALIVED`); a different number lets both run on one box
/// (and lets `ip route show proto 75` list keeplite's alone).
pub const PROTOCOL: u8 = 75;

/// One wanted route, with the interface it names (resolved to an index by the shell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted<T> {
    /// The section's name, for log lines.
    pub name: String,
    pub entry: T,
    /// `dev` / `iif` / `oif` that must exist for the entry to be installable.
    pub dev: Option<String>,
}

/// Everything the shell needs for one reconcile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Routes to hold now; `oif` still unset where `dev` names an interface.
    pub routes: Vec<Wanted<Route>>,
    pub rules: Vec<Wanted<Rule>>,
    /// (key, protocol) of every configured route with a protocol of its own, held or not:
    /// a kernel route at one of those keys with that protocol is keeplite's.
    pub custom: Vec<(RouteKey, u8)>,
    /// Static addresses (each with its `dev`).
    pub addresses: Vec<Vip>,
}

/// [`Route::key`].
pub type RouteKey = (bool, u32, std::net::IpAddr, u8, u8, u32);

/// The kernel route for a `route` section (without its interface index).
pub fn route_of(r: &RouteConf) -> Route {
    let (dst, dst_len) = r.destination;
    let v6 = dst.is_ipv6();
    let kind = match r.kind {
        RouteType::Unicast => kind::UNICAST,
        RouteType::Blackhole => kind::BLACKHOLE,
        RouteType::Unreachable => kind::UNREACHABLE,
        RouteType::Prohibit => kind::PROHIBIT,
    };
    // Global unless told otherwise, as keepalived installs them (`ip route add` would
    // pick link scope for a route without a gateway; `scope link` asks for that).
    Route {
        dst,
        dst_len,
        tos: 0,
        table: r.table,
        protocol: r.protocol.unwrap_or(PROTOCOL),
        scope: r.scope.unwrap_or(0),
        kind,
        flags: if r.onlink { route::ONLINK } else { 0 },
        // The kernel stores 0 as 1024 for IPv6; compare with what it will report.
        metric: r.metric.unwrap_or(if v6 { 1024 } else { 0 }),
        gateway: r.gateway,
        oif: None,
        prefsrc: r.src,
    }
}

/// The kernel rule for a `rule` section.
pub fn rule_of(r: &RuleConf) -> Option<Rule> {
    let name = |n: &Option<String>| match n {
        Some(n) => if_name(n).map(Some),
        None => Some(None),
    };
    Some(Rule {
        v6: r.family == Family::Ipv6,
        src: r.from,
        dst: r.to,
        iif: name(&r.iif)?,
        oif: name(&r.oif)?,
        fwmark: r.fwmark.map(|(m, k)| (m, k.unwrap_or(u32::MAX))),
        table: r.table,
        priority: r.priority,
        action: rule::TO_TABLE,
        protocol: PROTOCOL,
        tos: 0,
        flags: 0,
    })
}

/// What `config` wants held, given which of its vrrp instances are MASTER.
pub fn plan(config: &Config, master: impl Fn(usize) -> bool) -> Plan {
    let held = |instance: Option<usize>| instance.is_none_or(&master);
    let routes = config
        .routes
        .iter()
        .filter(|r| held(r.instance))
        .map(|r| Wanted { name: r.name.clone(), entry: route_of(r), dev: r.dev.clone() })
        .collect();
    let rules = config
        .rules
        .iter()
        .filter(|r| held(r.instance))
        // The kernel takes rules for interfaces that do not exist (yet).
        .filter_map(|r| rule_of(r).map(|entry| Wanted { name: r.name.clone(), entry, dev: None }))
        .collect();
    let custom = config
        .routes
        .iter()
        .filter_map(|r| r.protocol.filter(|&p| p != PROTOCOL).map(|p| (route_of(r).key(), p)))
        .collect();
    Plan { routes, rules, custom, addresses: config.global.static_addresses.to_vec() }
}

/// A change to make in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<T> {
    Add(T),
    /// Replace keeplite's own entry at the same key (routes only).
    Replace(T),
    Delete(T),
    /// Wanted, but someone else's route holds its key: left alone, and said so.
    Blocked {
        wanted: T,
        by: T,
    },
}

impl Plan {
    /// True when kernel route `k` is keeplite's.
    pub fn owns_route(&self, k: &Route) -> bool {
        k.protocol == PROTOCOL || self.custom.iter().any(|&(key, p)| key == k.key() && p == k.protocol)
    }

    /// True when the shell should keep `k` from a dump: keeplite's, or at a wanted key.
    pub fn route_relevant(&self, k: &Route) -> bool {
        self.owns_route(k) || self.routes.iter().any(|w| w.entry.key() == k.key())
    }
}

/// True when kernel route `k` is what `w` asks for. The kernel fills in what `w` leaves
/// open (the interface of a gateway, a source address), so those match anything.
pub fn same_route(w: &Route, k: &Route) -> bool {
    w.key() == k.key()
        && w.kind == k.kind
        && w.protocol == k.protocol
        && w.gateway == k.gateway
        && (w.flags & route::ONLINK) == (k.flags & route::ONLINK)
        && w.oif.is_none_or(|o| k.oif == Some(o))
        && w.prefsrc.is_none_or(|s| k.prefsrc == Some(s))
}

/// The changes that bring `kernel` (the relevant routes of a dump) to `wanted` (with
/// their interfaces resolved), adds and replaces before deletes.
pub fn reconcile_routes(plan: &Plan, wanted: &[Route], kernel: &[Route]) -> Vec<Change<Route>> {
    let mut out = Vec::new();
    for w in wanted {
        let listed = out
            .iter()
            .any(|c: &Change<Route>| matches!(c, Change::Add(a) | Change::Replace(a) if a.key() == w.key()));
        if listed || kernel.iter().any(|k| same_route(w, k)) {
            continue;
        }
        match kernel.iter().find(|k| k.key() == w.key()) {
            Some(k) if plan.owns_route(k) => out.push(Change::Replace(*w)),
            Some(k) => out.push(Change::Blocked { wanted: *w, by: *k }),
            None => out.push(Change::Add(*w)),
        }
    }
    for k in kernel.iter().filter(|k| plan.owns_route(k)) {
        let kept = wanted.iter().any(|w| w.key() == k.key());
        if !kept {
            out.push(Change::Delete(*k));
        }
    }
    out
}

/// True when kernel rule `k` is what `w` asks for (`w` without a priority: any).
pub fn same_rule(w: &Rule, k: &Rule) -> bool {
    let mut k2 = k.clone();
    if w.priority.is_none() {
        k2.priority = None;
    }
    *w == k2
}

/// The changes that bring `kernel` (a dump's rules) to `wanted`: each of keeplite's rules
/// matches one wanted rule, or goes; each wanted rule without one is added.
pub fn reconcile_rules(wanted: &[Rule], kernel: &[Rule]) -> Vec<Change<Rule>> {
    let mut matched = vec![false; wanted.len()];
    let mut deletes = Vec::new();
    for k in kernel.iter().filter(|k| k.protocol == PROTOCOL) {
        match (0..wanted.len()).find(|&i| !matched[i] && same_rule(&wanted[i], k)) {
            Some(i) => matched[i] = true,
            None => deletes.push(Change::Delete(k.clone())),
        }
    }
    let mut out: Vec<Change<Rule>> = Vec::new();
    for (i, w) in wanted.iter().enumerate() {
        let listed = out.iter().any(|c| matches!(c, Change::Add(a) if a == w));
        if !matched[i] && !listed {
            out.push(Change::Add(w.clone()));
        }
    }
    out.extend(deletes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::route::tests::sample as route;
    use crate::net::rule::tests::sample as rule;

    const CONF: &str = "keeplite.gw=vrrp\nkeeplite.gw.interface='eth0'\nkeeplite.gw.vrid='1'\n\
        keeplite.gw.vip='192.0.2.7/24 dev eth1 label eth1:1' '192.0.2.8/24 label eth0:8'\n\
        keeplite.up=route\nkeeplite.up.instance='gw'\nkeeplite.up.destination='0.0.0.0/0'\nkeeplite.up.gateway='192.0.2.1'\n\
        keeplite.bh=route\nkeeplite.bh.destination='2001:db8:9::/48'\nkeeplite.bh.type='blackhole'\nkeeplite.bh.protocol='4'\n\
        keeplite.r=rule\nkeeplite.r.instance='gw'\nkeeplite.r.fwmark='0x10'\nkeeplite.r.table='100'\n\
        keeplite.s=rule\nkeeplite.s.from='2001:db8::/32'\nkeeplite.s.table='main'\nkeeplite.s.priority='5'\n\
        keeplite.main=global\nkeeplite.main.static_address='192.0.2.200/32 dev lo label lo:st'\n";

    fn config(text: &str) -> Config {
        let host = crate::config::Host { hostname: "h".into() };
        let outcome = crate::config::parse(text.as_bytes(), &host);
        assert!(outcome.is_ok(), "{:?}", outcome.problems);
        outcome.config.unwrap()
    }

    #[test]
    fn the_master_holds_its_routes_and_static_ones_are_always_held() {
        let c = config(CONF);
        let backup = plan(&c, |_| false);
        assert_eq!(backup.routes.iter().map(|w| w.name.as_str()).collect::<Vec<_>>(), ["bh"]);
        assert_eq!(backup.rules.iter().map(|w| w.name.as_str()).collect::<Vec<_>>(), ["s"]);
        // A route of its own protocol stays keeplite's whether held or not.
        assert_eq!(backup.custom.len(), 1);
        assert_eq!(backup.addresses.len(), 1);
        // A static address must name its interface.
        let host = crate::config::Host { hostname: "h".into() };
        let no_dev = "keeplite.main=global\nkeeplite.main.static_address='192.0.2.200/32'\n";
        assert!(!crate::config::parse(no_dev.as_bytes(), &host).is_ok());
        let master = plan(&c, |i| i == 0);
        assert_eq!(master.routes.len(), 2);
        let up = &master.routes[0].entry;
        assert_eq!((up.protocol, up.scope, up.metric, up.table), (PROTOCOL, 0, 0, 254));
        let bh = &master.routes[1].entry;
        assert_eq!((bh.kind, bh.protocol, bh.metric), (kind::BLACKHOLE, 4, 1024));
        assert_eq!(master.rules[0].entry.fwmark, Some((16, u32::MAX)));
        assert!(master.rules[0].entry.priority.is_none());
    }

    #[test]
    fn what_is_printed_loads_back_the_same() {
        let c = config(CONF);
        let mut text = String::new();
        for s in crate::config::print::effective(&c).sections {
            text.push_str(&format!("keeplite.{}={}\n", s.name, s.kind));
            for o in s.options {
                let values: Vec<String> = o.values.iter().map(|v| format!("'{v}'")).collect();
                text.push_str(&format!("keeplite.{}.{}={}\n", s.name, o.name, values.join(" ")));
            }
        }
        assert_eq!(config(&text), c, "{text}");
        assert!(
            text.contains("keeplite.gw.vip='192.0.2.7/24 dev eth1 label eth1:1' '192.0.2.8/24 label eth0:8'"),
            "{text}"
        );
    }

    fn plan_with(custom: Vec<(RouteKey, u8)>) -> Plan {
        Plan { custom, ..Plan::default() }
    }

    #[test]
    fn missing_routes_are_added_and_present_ones_left_alone() {
        let w = route();
        let plan = plan_with(vec![]);
        assert_eq!(reconcile_routes(&plan, &[w], &[]), vec![Change::Add(w)]);
        assert_eq!(reconcile_routes(&plan, &[w], &[w]), vec![]);
        // The kernel filled in an interface and a source the configuration left open.
        let filled = Route { prefsrc: Some("192.0.2.9".parse().unwrap()), ..w };
        let open = Route { oif: None, ..w };
        assert_eq!(reconcile_routes(&plan, &[open], &[filled]), vec![]);
    }

    #[test]
    fn only_our_routes_are_replaced_or_deleted() {
        let ours = route();
        let theirs = Route { protocol: 4, ..ours }; // an operator's `ip route add` (static)
        let plan = plan_with(vec![]);
        // Someone else holds the key: blocked, never replaced.
        assert_eq!(
            reconcile_routes(&plan, &[ours], &[theirs]),
            vec![Change::Blocked { wanted: ours, by: theirs }]
        );
        // Not wanted (instance is BACKUP): ours goes, theirs stays.
        let other = Route { dst: "203.0.113.0".parse().unwrap(), ..theirs };
        assert_eq!(reconcile_routes(&plan, &[], &[ours, other]), vec![Change::Delete(ours)]);
        // Ours with another gateway: replaced in place, not deleted after.
        let moved = Route { gateway: Some("192.0.2.2".parse().unwrap()), ..ours };
        assert_eq!(reconcile_routes(&plan, &[moved], &[ours]), vec![Change::Replace(moved)]);
    }

    #[test]
    fn a_route_with_its_own_protocol_is_ours_at_its_key_only() {
        let w = Route { protocol: 4, ..route() };
        let plan = plan_with(vec![(w.key(), 4)]);
        assert!(plan.owns_route(&w));
        assert_eq!(reconcile_routes(&plan, &[], &[w]), vec![Change::Delete(w)]);
        let elsewhere = Route { dst_len: 25, ..w };
        assert!(!plan.owns_route(&elsewhere));
        assert_eq!(reconcile_routes(&plan, &[], &[elsewhere]), vec![]);
    }

    #[test]
    fn rules_match_any_priority_when_none_is_given() {
        let w = Rule { priority: None, ..rule() };
        let k = Rule { priority: Some(32765), ..rule() };
        assert_eq!(reconcile_rules(std::slice::from_ref(&w), std::slice::from_ref(&k)), vec![]);
        // Two of ours for one wanted: the second goes. Someone else's is never touched.
        let theirs = Rule { protocol: 0, ..rule() };
        assert_eq!(
            reconcile_rules(std::slice::from_ref(&w), &[k.clone(), k.clone(), theirs.clone()]),
            vec![Change::Delete(k.clone())]
        );
        assert_eq!(reconcile_rules(&[], std::slice::from_ref(&theirs)), vec![]);
        assert_eq!(reconcile_rules(std::slice::from_ref(&w), &[theirs]), vec![Change::Add(w.clone())]);
        let other = Rule { table: 200, ..w.clone() };
        assert_eq!(
            reconcile_rules(std::slice::from_ref(&other), std::slice::from_ref(&k)),
            vec![Change::Add(other), Change::Delete(k)]
        );
    }
}
