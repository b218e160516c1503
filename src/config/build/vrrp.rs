//! `vrrp`, `sync_group` and `script` sections.

use super::reader::{Names, Reader};
use crate::config::model::*;
use crate::config::value::{self, Bad, Parsed};
use crate::vrrp::packet;
use std::net::IpAddr;
use std::time::Duration;

/// keepalived's defaults for gratuitous ARP: 5 at once, again after 5 s, no refresh.
const GARP_REPEAT: u32 = 5;
const GARP_DELAY: Duration = Duration::from_secs(5);

/// Reads the notify commands and `smtp_alert` shared by instances and sync groups.
fn notify(r: &mut Reader) -> Notify {
    Notify {
        any: r.one("notify", value::command),
        master: r.one("notify_master", value::command),
        backup: r.one("notify_backup", value::command),
        fault: r.one("notify_fault", value::command),
        stop: r.one("notify_stop", value::command),
        smtp_alert: r.or("smtp_alert", false, value::boolean),
    }
}

/// Reads one `vrrp` section.
pub fn instance(r: &mut Reader, names: &Names) -> Option<Vrrp> {
    let interface = r.required("interface", value::interface);
    let vrid = r.required("vrid", |v| value::uint::<u8>(v, 1, 255));
    let priority = r.or("priority", 100, |v| value::uint::<u8>(v, 1, 255));
    let version = r.or("version", Version::V3, |v| match v {
        "2" => Ok(Version::V2),
        "3" => Ok(Version::V3),
        _ => Err(Bad { what: format!("'{v}' is not a VRRP version"), expected: "2 or 3".into() }),
    });
    let advert_int = r.or("advert_int", Duration::from_secs(1), |v| advert_interval(v, version));

    let vips = vips(r, version, interface.as_deref());
    let family = vips.first().map(|v| Family::of(v.addr));
    let same_family = |what: &'static str| {
        move |v: &str| -> Parsed<IpAddr> {
            let a = value::ip(v)?;
            match family {
                Some(f) if Family::of(a) != f => Err(Bad {
                    what: format!("{what} {a} is not in the instance's family"),
                    expected: format!("an {} address, like the first vip", family_name(f)),
                }),
                _ => Ok(a),
            }
        }
    };
    let src_ip = r.one("src_ip", same_family("source address"));
    let peers = r.list("unicast_peer", same_family("peer"));
    r.no_duplicates("unicast_peer", &peers, |p| p.to_string());
    if let Some(src) = src_ip.filter(|s| peers.contains(s)) {
        r.fail("unicast_peer", format!("{src} is this router's own src_ip"), "the other routers' addresses");
    }
    let unicast_peers = r.fixed("unicast_peer", peers, "UNICAST_PEERS");
    let unicast = unicast_options(r, !unicast_peers.is_empty());
    let mcast_dst_ip = r.one("mcast_dst_ip", |v| {
        let group = value::multicast(v)?;
        same_family("multicast group")(v).map(|_| group)
    });
    let mcast_dst_ip = match mcast_dst_ip {
        Some(_) if !unicast_peers.is_empty() => {
            r.warn("mcast_dst_ip", "has no effect with unicast_peer", "no mcast_dst_ip, or no unicast_peer");
            None
        }
        group => group,
    };

    let tracked = r.list("track_interface", |v| {
        let (name, weight) = value::weighted_name(v)?;
        Ok(TrackInterface { name: value::interface(&name)?, weight })
    });
    let tracked_names: Vec<&str> = tracked.iter().map(|t| t.name.as_str()).collect();
    r.no_duplicates("track_interface", &tracked_names, |n| format!("'{n}'"));
    let track_interfaces = r.fixed("track_interface", tracked, "TRACK_INTERFACES");
    let scripts = r.list("track_script", |v| {
        let (name, weight) = value::weighted_name(v)?;
        Ok(TrackScript { script: names.resolve("script", &name)?, weight })
    });
    // Duplicates by the section they resolve to: `nginx` and `@script[0]` may be one.
    let script_ids: Vec<usize> = scripts.iter().map(|t| t.script).collect();
    r.no_duplicates("track_script", &script_ids, |&i| format!("'{}'", names.name_of("script", i)));
    let track_scripts = r.fixed("track_script", scripts, "TRACK_SCRIPTS");
    let track_files = tracked_checks(r, names, "track_file", "TRACK_FILES");
    let track_processes = tracked_checks(r, names, "track_process", "TRACK_PROCESSES");
    let track_bfds = tracked_checks(r, names, "track_bfd", "TRACK_BFDS");

    let auth_pass = r.one("auth_pass", |v| {
        if (1..=8).contains(&v.len()) {
            Ok(v.to_owned())
        } else {
            Err(Bad {
                what: format!("password is {} bytes long", v.len()),
                expected: "1 to 8 characters".into(),
            })
        }
    });
    if auth_pass.is_some() && version == Version::V3 {
        r.fail("auth_pass", "authentication was removed in VRRP version 3", "version 2, or no auth_pass");
    }
    let auth_hmac = super::auth_hmac::read(r, advert_int);
    if auth_hmac.is_some() && auth_pass.is_some() {
        r.fail("auth_hmac_key", "auth_pass is set too", "one of auth_pass and auth_hmac_key");
    }
    let preempt = r.or("preempt", true, value::boolean);
    let preempt_delay = r.or("preempt_delay", Duration::ZERO, |v| {
        value::duration_in(v, Duration::ZERO, Duration::from_secs(1000))
    });
    // A zero delay is what the effective configuration prints for every instance.
    if !preempt && !preempt_delay.is_zero() {
        r.warn("preempt_delay", "has no effect with preempt off", "preempt 1, or no preempt_delay");
    }
    if priority == 255 && !preempt {
        r.warn("preempt", "an address owner (priority 255) always preempts", "preempt 1");
    }
    let garp_repeat = r.or("garp_repeat", GARP_REPEAT, |v| value::uint(v, 1, 255));
    let virtual_link = virtual_link(r, family, &vips);
    let vrrp = Vrrp {
        name: r.name().to_owned(),
        interface: interface?,
        vrid: vrid?,
        priority,
        version,
        advert_int,
        vips,
        initial_state: r.or("state", InitialState::Backup, |v| value::keyword(v, INITIAL_STATES)),
        preempt,
        preempt_delay,
        src_ip,
        unicast_peers,
        unicast_ttl: unicast.ttl,
        min_ttl: unicast.min_ttl,
        max_ttl: unicast.max_ttl,
        check_unicast_src: unicast.check_src,
        mcast_dst_ip,
        notify_priority_changes: r.or("notify_priority_changes", false, value::boolean),
        track_interfaces,
        track_scripts,
        track_files,
        track_processes,
        track_bfds,
        auth_pass,
        auth_hmac,
        accept: r.or("accept", true, value::boolean),
        strict_mode: r.or("strict_mode", false, value::boolean),
        lower_prio_no_advert: r.or("lower_prio_no_advert", false, value::boolean),
        garp_repeat,
        garp_lower_prio_repeat: r.or("garp_lower_prio_repeat", garp_repeat, |v| value::uint(v, 0, 255)),
        garp_interval: r.or("garp_interval", Duration::ZERO, |v| {
            value::duration_in(v, Duration::ZERO, Duration::from_secs(1))
        }),
        garp_delay: r.or("garp_delay", GARP_DELAY, |v| {
            value::duration_in(v, Duration::ZERO, Duration::from_secs(1000))
        }),
        garp_refresh: r.or("garp_refresh", Duration::ZERO, value::duration),
        virtual_link,
        promote_secondaries: r.or("promote_secondaries", false, value::boolean),
        up_delay: r.or("up_delay", Duration::ZERO, |v| {
            value::duration_in(v, Duration::ZERO, Duration::from_secs(1000))
        }),
        down_delay: r.or("down_delay", Duration::ZERO, |v| {
            value::duration_in(v, Duration::ZERO, Duration::from_secs(1000))
        }),
        notify: notify(r),
    };
    if vrrp.vips.is_empty() {
        return None;
    }
    Some(vrrp)
}

/// `use_vmac`, or `use_ipvlan` with `ipvlan_mode` and `ipvlan_address`.
fn virtual_link(r: &mut Reader, family: Option<Family>, vips: &[Vip]) -> Option<VirtualLink> {
    let vmac = r.or("use_vmac", false, value::boolean);
    let ipvlan = r.or("use_ipvlan", false, value::boolean);
    let mode = r.one("ipvlan_mode", |v| value::keyword(v, IPVLAN_MODES));
    let address = r.one("ipvlan_address", |v| {
        let (a, len) = value::prefix(v)?;
        match family {
            Some(f) if Family::of(a) != f => Err(Bad {
                what: format!("{a} is not in the instance's family"),
                expected: format!("an {} address, like the first vip", family_name(f)),
            }),
            _ if vips.iter().any(|vip| vip.addr == a) => Err(Bad {
                what: format!("{a} is a vip of the instance too"),
                expected: "an address of the ipvlan's own, held while keeplite runs".into(),
            }),
            _ => Ok((a, len)),
        }
    });
    if !ipvlan {
        for option in ["ipvlan_mode", "ipvlan_address"] {
            if r.has(option) {
                r.warn(option, "has no effect without use_ipvlan", "use_ipvlan 1, or no such option");
            }
        }
    }
    match (vmac, ipvlan) {
        (true, true) => {
            r.fail("use_ipvlan", "use_vmac is on too", "one of use_vmac and use_ipvlan");
            None
        }
        (true, false) => Some(VirtualLink::Vmac),
        (false, true) => Some(VirtualLink::Ipvlan { mode: mode.unwrap_or(IpvlanMode::Bridge), address }),
        (false, false) => None,
    }
}

/// A list of checks an instance tracks (`track_file`, `track_process`), each once: the
/// kind of each is checked in validation, once every check section is read.
fn tracked_checks<const N: usize>(
    r: &mut Reader,
    names: &Names,
    option: &str,
    limit: &str,
) -> heapless::Vec<TrackCheck, N> {
    let tracked = r.list(option, |v| {
        let (name, weight) = value::weighted_name(v)?;
        Ok(TrackCheck { check: names.resolve("check", &name)?, weight })
    });
    let ids: Vec<usize> = tracked.iter().map(|t| t.check).collect();
    r.no_duplicates(option, &ids, |&i| format!("'{}'", names.name_of("check", i)));
    r.fixed(option, tracked, limit)
}

/// The options of unicast adverts, as read.
struct Unicast {
    ttl: u8,
    min_ttl: u8,
    max_ttl: u8,
    check_src: bool,
}

/// `unicast_ttl`, `min_ttl`, `max_ttl` and `check_unicast_src`. The TTL options only
/// make sense with unicast peers: multicast adverts go out and must arrive with TTL 255
/// (RFC 9568 section 5.1.1.3), so asking otherwise for a multicast instance is an error.
fn unicast_options(r: &mut Reader, unicast: bool) -> Unicast {
    let ttl_value = |v: &str| value::uint::<u8>(v, 1, 255);
    let ttl = r.or("unicast_ttl", packet::TTL, ttl_value);
    let widened = r.has("min_ttl") || r.has("max_ttl");
    // keepalived's defaults once either is given: any TTL a packet can arrive with.
    let (min_default, max_default) = if widened { (1, packet::TTL) } else { (packet::TTL, packet::TTL) };
    let min_ttl = r.or("min_ttl", min_default, ttl_value);
    let max_ttl = r.or("max_ttl", max_default, ttl_value);
    if min_ttl > max_ttl {
        r.fail("max_ttl", format!("{max_ttl} is below min_ttl {min_ttl}"), "max_ttl at least min_ttl");
    }
    let check_src = r.or("check_unicast_src", true, value::boolean);
    if !unicast {
        for name in ["unicast_ttl", "min_ttl", "max_ttl"] {
            if r.has(name) {
                r.fail(
                    name,
                    "multicast adverts are sent and accepted with TTL 255 only (RFC 9568 section 5.1.1.3)",
                    "unicast_peer, or no TTL option",
                );
            }
        }
        if r.has("check_unicast_src") {
            r.warn("check_unicast_src", "has no effect without unicast_peer", "unicast_peer");
        }
        return Unicast { ttl: packet::TTL, min_ttl: packet::TTL, max_ttl: packet::TTL, check_src: true };
    }
    Unicast { ttl, min_ttl, max_ttl, check_src }
}

/// The `vip` list: at least one, no duplicates, IPv4 first for version 2.
fn vips(
    r: &mut Reader,
    version: Version,
    interface: Option<&str>,
) -> heapless::Vec<Vip, { crate::limits::VIPS_PER_INSTANCE }> {
    if !r.has("vip") {
        r.required("vip", |_| Ok(()));
        return heapless::Vec::new();
    }
    let list = r.list("vip", |v| super::vip::vip(v, interface));
    let addrs: Vec<IpAddr> = list.iter().map(|v| v.addr).collect();
    r.no_duplicates("vip", &addrs, |a| a.to_string());
    if let Some(IpAddr::V6(first)) = list.first().map(|v| v.addr) {
        // RFC 9568 section 5.2.9: the first IPv6 address is the virtual router's link-local
        // one. keepalived warns and sends the adverts anyway; so does keeplite.
        if version == Version::V3 && !first.is_unicast_link_local() {
            r.warn(
                "vip",
                format!("the first IPv6 vip {first} is not link-local (RFC 9568 section 5.2.9)"),
                "a link-local first vip, e.g. fe80::1/64",
            );
        }
    }
    if version == Version::V2 && list.first().is_some_and(|v| v.addr.is_ipv6()) {
        r.fail(
            "vip",
            "VRRP version 2 carries IPv4 only, and the first vip sets the family",
            "an IPv4 first vip, or version 3",
        );
    }
    r.fixed("vip", list, "VIPS_PER_INSTANCE")
}

/// Advert interval: whole seconds 1..255 for v2, 10 ms steps 10ms..40.95s for v3.
fn advert_interval(v: &str, version: Version) -> Parsed<Duration> {
    let d = value::duration(v)?;
    let ms = d.as_millis();
    let ok = match version {
        Version::V2 => ms % 1000 == 0 && (1..=255).contains(&(ms / 1000)),
        Version::V3 => ms % 10 == 0 && (10..=40_950).contains(&ms),
    };
    if ok {
        Ok(d)
    } else {
        Err(Bad {
            what: format!(
                "{v} is not a valid advert interval for version {}",
                if version == Version::V2 { 2 } else { 3 }
            ),
            expected: match version {
                Version::V2 => "whole seconds 1s..255s".into(),
                Version::V3 => "10ms..40.95s in steps of 10ms".into(),
            },
        })
    }
}

fn family_name(f: Family) -> &'static str {
    value::keyword_name(f, FAMILIES)
}

/// Reads one `sync_group` section.
pub fn sync_group(r: &mut Reader, names: &Names) -> Option<SyncGroup> {
    if !r.has("members") {
        r.required("members", |_| Ok(()));
    }
    let members = r.list("members", |v| names.resolve("vrrp", v));
    r.no_duplicates("members", &members, |&i| format!("'{}'", names.name_of("vrrp", i)));
    // Counted as written: an unresolved member is reported already, not as a lone member.
    if r.section.get("members").is_some_and(|o| o.values.len() == 1) {
        r.warn("members", "a sync group of one instance synchronises nothing", "two or more members");
    }
    let members = r.fixed("members", members, "SYNC_GROUP_MEMBERS");
    Some(SyncGroup { name: r.name().to_owned(), members, notify: notify(r) })
}

/// Reads one `script` section.
pub fn script(r: &mut Reader) -> Option<Script> {
    let command = r.required("command", value::command);
    let interval = r.or("interval", Duration::from_secs(1), value::positive);
    // keepalived's default: a script may run for its whole interval.
    let timeout = r.or("timeout", interval, value::positive);
    if timeout > interval {
        r.fail(
            "timeout",
            format!(
                "{} is longer than the interval {}",
                value::format_duration(timeout),
                value::format_duration(interval)
            ),
            "a timeout no longer than the interval",
        );
    }
    Some(Script {
        name: r.name().to_owned(),
        command: command?,
        interval,
        timeout,
        weight: r.or("weight", 0, |v| value::uint(v, -253, 253)),
        rise: r.or("rise", 1, |v| value::uint(v, 1, 1000)),
        fall: r.or("fall", 1, |v| value::uint(v, 1, 1000)),
        user: r.one("user", value::user),
    })
}
