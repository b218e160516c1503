//! Issue 14's soak: a pair of OpenWrt-shaped routers (`common::openwrt`: each on a
//! `br-lan` over its LAN port; priorities 200 and 100, VRRPv3, 100 ms adverts) whose LAN
//! bridges netifd re-creates again and again: every `interval`, one box's `br-lan` is
//! deleted and made again the netifd way, the boxes taking turns, the trigger cycling over
//! a reload after an mtu change, one after an igmp_snooping change, one after a macaddr
//! change, and `ifdown lan; ifup lan`. keeplite with keeplite, and keeplite (200) with
//! keepalived 2.2.7 (100).
//!
//! Each re-creation is timed (`Outcome`: the router back from FAULT after its new bridge
//! is usable, master again, the stretches without a VIP holder and with two, the wire's
//! silences and overlaps), and the whole run is looked at throughout from the kernel's
//! notifications: it fails if there was ever more than one holder for longer than one
//! advert interval plus `SLACK` (`TWO_HOLDERS`), two masters advertising for longer than one
//! advert interval, or none for longer than Master_Down_Interval plus `SLACK` until the next
//! master logged MASTER (the kernel's adding its VIP after that is reported: `Gap`) (the
//! bounds of `Outcome::holder_errors`), or if a keeplite router came back later than its bounds
//! (`Outcome::recovery_errors`; a keepalived router's times are reported only).
//!
//! `KEEPLITE_BRIDGE_SOAK_SECONDS` (default 16) and `KEEPLITE_BRIDGE_SOAK_INTERVAL` (seconds,
//! default 4) set the length: `./ci/bench bridge-soak` runs 600 and 30. Each re-creation
//! prints a `BENCH bridge-soak |` line and each pair a summary line for its report.

mod common;

use common::openwrt::{
    ms, Change, Gap, Kind, LanConfig, Outcome, Overlap, Pair, WireStretches, ADVERT, SLACK, TWO_HOLDERS, VIP4,
};
use common::wire::master_down_interval;
use common::{keepalived_available, netns_available};
use std::time::{Duration, Instant, SystemTime};

fn seconds(name: &str, default: u64) -> Duration {
    Duration::from_secs(std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default))
}

/// Re-creation `k` on router `r`, whose bridge is made with `now`: the trigger cycles every
/// two re-creations, so that both boxes get each.
fn change(k: usize, r: usize, now: &LanConfig) -> (&'static str, Change) {
    let mut new = now.clone();
    match (k / 2) % 4 {
        0 => {
            new.mtu = if now.mtu.is_some() { None } else { Some(1400) };
            ("reload: mtu", Change::Reload(new))
        }
        1 => {
            new.igmp_snooping = !now.igmp_snooping;
            ("reload: igmp_snooping", Change::Reload(new))
        }
        2 => {
            new.macaddr =
                if now.macaddr.is_some() { None } else { Some(format!("02:00:00:00:01:{:02x}", r + 1)) };
            ("reload: macaddr", Change::Reload(new))
        }
        _ => ("ifdown lan; ifup lan", Change::IfdownIfup { gap: Duration::from_millis(300) }),
    }
}

/// A stretch without a holder: its length, and how much of it the kernel took to add the
/// new master's VIP.
fn gap(g: Gap) -> String {
    if g.adding.is_zero() {
        ms(g.total)
    } else {
        format!("{} ({} adding the VIP)", ms(g.total), ms(g.adding))
    }
}

/// A stretch with two holders: its length, and how much of it the kernel took to remove the
/// old master's VIP.
fn overlap(o: Overlap) -> String {
    if o.removing.is_zero() {
        ms(o.total)
    } else {
        format!("{} ({} removing the VIP)", ms(o.total), ms(o.removing))
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn max(v: impl IntoIterator<Item = Duration>) -> Duration {
    v.into_iter().max().unwrap_or_default()
}

fn soak(label: &str, tag: &str, peer: Kind) {
    if !netns_available() || (peer == Kind::Keepalived && !keepalived_available()) {
        return;
    }
    let duration = seconds("KEEPLITE_BRIDGE_SOAK_SECONDS", 16);
    let interval = seconds("KEEPLITE_BRIDGE_SOAK_INTERVAL", 4).max(Duration::from_secs(1));
    let mut pair = Pair::start(tag, (Kind::Keeplite, 200), (peer, 100), VIP4, |_, _| {});
    let (start, wall_start) = (Instant::now(), SystemTime::now());
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut wrong: Vec<String> = Vec::new();
    for k in 0.. {
        let at = start + interval * (k as u32 + 1);
        if at > start + duration {
            break;
        }
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        let r = k % 2;
        let (what, how) = change(k, r, &pair.routers[r].config);
        let o = pair.recreate(r, &how, &format!("{label} #{k}: {what}"));
        let kind = pair.routers[r].kind;
        let mut errors = o.holder_errors(pair.backup_mdi());
        if kind == Kind::Keeplite {
            errors.extend(o.recovery_errors(pair.routers[pair.master()].priority));
        }
        println!(
            "BENCH bridge-soak | {label} | {k} | {} ({}) | {what} | {} | {} {} | {} | {} | {} | {} | {} | {}",
            r,
            if kind == Kind::Keeplite { "keeplite" } else { "keepalived" },
            ms(o.deleted_to_usable),
            o.back_to,
            ms(o.back),
            o.master_again.map(ms).unwrap_or_else(|| "-".into()),
            gap(o.longest_gap()),
            o.longest_overlap().map(overlap).unwrap_or_else(|| "0 ms".into()),
            ms(o.wire.longest_silence),
            ms(o.wire.longest_overlap),
            if errors.is_empty() { "ok".to_owned() } else { errors.join("; ") }
        );
        if !errors.is_empty() {
            let record = pair.excerpt(o.from, Instant::now());
            wrong.push(format!("#{k} ({what}, router {r}): {}; the record:\n{record}", errors.join("; ")));
        }
        outcomes.push(o);
    }
    // The whole run, quiet stretches included: keeplite's share bounded (`Charged`), all of
    // it reported.
    let (end, wall_end) = (Instant::now(), SystemTime::now());
    pair.catch_up(wall_end);
    let whole = pair.timeline.holder_stretches(start, end);
    let wire = WireStretches::of(&pair.adverts(wall_start, wall_end), wall_start, wall_end);
    let mdi = pair.backup_mdi();
    let gaps = pair.gaps(start, end);
    let charged = pair.charged(start, end, wall_start, wall_end);
    for e in charged.errors(mdi) {
        wrong.push(format!("the whole run: {e}"));
    }
    if !wrong.is_empty() {
        // Where two held the VIP longest, for the failure message.
        if let Some((at, d)) = whole.many.iter().max_by_key(|m| m.1) {
            let around = pair.excerpt(*at - Duration::from_millis(500), *at + *d + ADVERT);
            wrong.push(format!(
                "the longest two-holder stretch, {} at {:?}, from 500 ms before:\n{around}",
                ms(*d),
                *at - start
            ));
        }
    }
    let keeplite_backs: Vec<Duration> =
        outcomes.iter().filter(|o| pair.routers[o.router].kind == Kind::Keeplite).map(|o| o.back).collect();
    let masters: Vec<Duration> = outcomes.iter().filter_map(|o| o.master_again).collect();
    let master_priority = pair.routers[pair.master()].priority;
    println!(
        "BENCH bridge-soak bounds | {label} | back from FAULT {} | master again {} | no holder (until the next master \
         logged MASTER) or no master advert {} | \
         two holders (until the old master logged leaving MASTER) {} | two masters' adverts {} (no slack) | slack {} in the others",
        ms(ADVERT + SLACK),
        ms(master_down_interval(master_priority, ADVERT) + ADVERT + SLACK),
        ms(mdi + SLACK),
        ms(TWO_HOLDERS),
        ms(ADVERT),
        ms(SLACK)
    );
    println!(
        "BENCH bridge-soak summary | {label} | {} s, every {} s | {} | {} / {} | {} / {} | {} | {} | {} stretches, longest {} | {} stretches, longest {} | {} | {} | {}",
        duration.as_secs(),
        interval.as_secs(),
        outcomes.len(),
        ms(median(keeplite_backs.clone())),
        ms(max(keeplite_backs)),
        ms(median(masters.clone())),
        ms(max(masters)),
        gap(outcomes.iter().map(Outcome::longest_gap).max_by_key(|g| g.total).unwrap_or_default()),
        ms(max(outcomes.iter().map(|o| o.holders.longest_many()))),
        gaps.len(),
        gap(gaps.iter().copied().max_by_key(|g| g.total).unwrap_or_default()),
        whole.many.len(),
        ms(whole.longest_many()),
        ms(wire.longest_silence),
        ms(wire.longest_overlap),
        if wrong.is_empty() { "pass" } else { "FAIL" }
    );
    assert!(
        !outcomes.is_empty() || duration < interval,
        "{label}: no re-creation in {duration:?} at one every {interval:?}"
    );
    assert!(wrong.is_empty(), "{label}: out of bounds:\n{}", wrong.join("\n"));
}

#[test]
fn keeplite_pair_through_bridge_recreations() {
    soak("keeplite+keeplite", "soakkl", Kind::Keeplite);
}

#[test]
fn keeplite_and_keepalived_through_bridge_recreations() {
    soak("keeplite+keepalived", "soakka", Kind::Keepalived);
}
