//! Hitless reload of the VRRP side. A vrrp section of the new file that names the same
//! virtual router as a running instance (same name, interface, VRID, version, family and
//! use_vmac) continues it: state, timers, VIPs and counters stay, the new settings apply
//! in place (a master keeps advertising on its schedule and only adds or removes the VIPs
//! that changed). Other sections start as at start-up; running instances the file no longer
//! has stop as at shutdown (priority-0 advert, VIPs released). What the new file needs is
//! opened first, off the VRRP thread (`pending`); a reload that cannot open it changes
//! nothing.

use super::build::{self, Job, Parts};
use super::{Router, Vr};
use crate::config::model::{Config, Vip, Vrrp};
use crate::vrrp::instance::{State, Tracked};
use crate::vrrp::io::VrrpSocket;
use std::fmt;
use std::time::Instant;

/// What a reload did to the VRRP instances, for the log and the reply.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub unchanged: usize,
    pub changed: usize,
    pub added: usize,
    pub removed: usize,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Outcome { unchanged, changed, added, removed } = self;
        write!(f, "vrrp: {unchanged} unchanged, {changed} changed, {added} added, {removed} removed")
    }
}

/// True when `a` and `b` describe the same virtual router on the wire.
fn same_router(a: &Vrrp, b: &Vrrp) -> bool {
    a.name == b.name
        && a.interface == b.interface
        && a.vrid == b.vrid
        && a.version == b.version
        && a.is_ipv6() == b.is_ipv6()
        && a.virtual_link == b.virtual_link
}

/// For each section of `new`, the section of `old` whose running instance it continues.
pub fn continues(old: &[Vrrp], new: &[Vrrp]) -> Vec<Option<usize>> {
    new.iter().map(|n| old.iter().position(|o| same_router(o, n))).collect()
}

/// True when section `k` of `old` and section `j` of `new` say the same, the scripts they
/// track included (compared by content: their positions in the file may have moved).
fn same_settings(old: &Config, k: usize, new: &Config, j: usize) -> bool {
    let (a, b) = (&old.vrrp[k], &new.vrrp[j]);
    let scripts = |c: &'_ Config, v: &Vrrp| -> Vec<_> {
        v.track_scripts.iter().map(|t| (c.scripts[t.script].clone(), t.weight)).collect()
    };
    let checks = |c: &'_ Config, v: &Vrrp| -> Vec<_> {
        v.track_files
            .iter()
            .chain(v.track_processes.iter())
            .chain(v.track_bfds.iter())
            .map(|t| (c.checks[t.check].clone(), t.weight))
            .collect()
    };
    let without_tracked = |v: &Vrrp| Vrrp {
        track_scripts: Default::default(),
        track_files: Default::default(),
        track_processes: Default::default(),
        track_bfds: Default::default(),
        ..v.clone()
    };
    without_tracked(a) == without_tracked(b)
        && scripts(old, a) == scripts(new, b)
        && checks(old, a) == checks(new, b)
}

impl Router {
    /// The build of `config` against what runs now: the sockets open, the vmacs that exist.
    pub(super) fn job(&self, config: Config, now: Instant) -> Job {
        let continues = continues(&self.config.vrrp, &config.vrrp);
        // A vmac goes with its base interface when that is deleted.
        let vlink_exists = continues
            .iter()
            .map(|c| c.is_some_and(|k| self.vrs[k].vlink.is_some_and(|p| self.links.ifaces[p].present())))
            .collect();
        let running = self.sockets.iter().map(|s| (s.ifindex(), s.family(), s.groups().to_vec())).collect();
        Job { config, running, vlink_exists, now }
    }

    /// Applies `config`, whose parts were built against the router as it runs (one build
    /// at a time: nothing it depends on has changed since), in place of the one the
    /// router runs now.
    pub(super) fn apply_built(&mut self, config: &Config, parts: Parts, now: Instant) -> Outcome {
        let continues = continues(&self.config.vrrp, &config.vrrp);
        // Nothing below fails.
        let old = std::mem::replace(&mut self.config, config.clone());
        let mut outcome = Outcome::default();
        // Before any VIP is dropped below: the setting counts when the kernel removes one.
        // An interface made anew (a rebuild comes this way too) has it off again.
        self.settings.set(config);
        // Sessions whose settings are the same carry on; the instances read them below.
        self.bfds = std::mem::take(&mut self.bfds).reopen(config, now);
        // A new instance may have taken over the vmac of a removed one (same VRID and family).
        let vmacs: Vec<String> = config
            .vrrp
            .iter()
            .filter(|v| v.virtual_link.is_some())
            .map(|v| crate::daemon::virtual_link::name(v.vrid, v.is_ipv6()))
            .collect();
        for k in 0..self.vrs.len() {
            if !continues.contains(&Some(k)) {
                self.stop_instance(k, &vmacs, now);
                outcome.removed += 1;
            }
        }
        for (j, k) in continues.iter().enumerate() {
            let Some(k) = *k else { continue };
            if self.vrs[k].instance.state() == State::Master {
                let dropped: Vec<Vip> =
                    self.vrs[k].vips.iter().filter(|v| !config.vrrp[j].vips.contains(v)).cloned().collect();
                self.change_vip_list(k, &dropped, false);
            }
        }
        let mut old_vrs: Vec<Option<Vr>> = std::mem::take(&mut self.vrs).into_iter().map(Some).collect();
        self.install(parts);
        for (j, k) in continues.iter().enumerate() {
            let tracked = self.tracked_now(j);
            let params = self.vrs[j].instance.params().clone();
            match k.and_then(|k| old_vrs[k].take().map(|vr| (k, vr))) {
                Some((k, running)) => {
                    if same_settings(&old, k, config, j) {
                        outcome.unchanged += 1;
                    } else {
                        outcome.changed += 1;
                    }
                    let added: Vec<Vip> =
                        self.vrs[j].vips.iter().filter(|v| !running.vips.contains(v)).cloned().collect();
                    let vr = &mut self.vrs[j];
                    vr.instance = running.instance;
                    vr.transitions = running.transitions;
                    vr.burst = running.burst;
                    vr.adding = running.adding;
                    vr.reported_priority = running.reported_priority;
                    // Sequence sent and senders' marks carry on: a reload is no gap to replay in.
                    vr.signing = match (vr.signing.take(), running.signing) {
                        (Some(new), Some(old)) => Some(old.continued_by(new)),
                        (new, _) => new,
                    };
                    vr.instance.reconfigure(now, params, &tracked);
                    if vr.instance.state() == State::Master && !added.is_empty() {
                        self.change_vip_list(j, &added, true);
                        let vr = &mut self.vrs[j];
                        vr.burst = Some((vr.garp_repeat, now));
                    }
                    self.refresh_link(j, now);
                }
                None => {
                    outcome.added += 1;
                    self.vrs[j].instance.reconfigure(now, params, &tracked);
                    self.change_vips(j, false);
                    self.refresh_link(j, now);
                    // During startup_delay, new instances start with the others.
                    if self.started() {
                        self.vrs[j].instance.start(now);
                    }
                }
            }
        }
        for j in 0..self.vrs.len() {
            self.announce_due(j, now);
        }
        self.flush(now);
        outcome
    }

    /// Stops instance `k` for good: a master sends priority 0 and releases its VIPs, its
    /// vmac goes unless one of `vmacs_in_use` (the new configuration's) is the same.
    fn stop_instance(&mut self, k: usize, vmacs_in_use: &[String], now: Instant) {
        self.vrs[k].instance.shutdown(now);
        while let Some(action) = self.vrs[k].instance.poll_action() {
            self.execute(k, action, now);
        }
        let vr = &self.vrs[k];
        let (vrid, ipv6) = (vr.instance.params().vrid, vr.family == crate::config::model::Family::Ipv6);
        if vr.vlink.is_some() && !vmacs_in_use.contains(&crate::daemon::virtual_link::name(vrid, ipv6)) {
            if let Err(e) = crate::daemon::virtual_link::remove(&mut self.nl, vrid, ipv6) {
                crate::log::error!("vrrp {}: removing its vmac: {e}", vr.name);
            }
        }
    }

    /// Puts the new configuration's links, sockets, scripts, groups and (not yet
    /// started) instances in place; scripts that did not change keep their state and any
    /// run in progress, sync groups their settled state.
    fn install(&mut self, parts: Parts) {
        let Parts { links, sockets, vrs, mut groups, mut scripts, probes, probe_interval } = parts;
        if let Err(e) = self.polled.set(probes, probe_interval) {
            crate::log::error!("vrrp: track_file, track_process: {e}");
        }
        let mut running: Vec<Option<VrrpSocket>> =
            std::mem::take(&mut self.sockets).into_iter().map(Some).collect();
        self.sockets = build::sockets(sockets, &mut running);
        scripts.carry_over(&mut self.scripts);
        self.scripts.kill_all();
        self.scripts = scripts;
        for g in &mut groups {
            g.state = self.groups.iter().find(|o| o.name == g.name).and_then(|o| o.state);
        }
        self.groups = groups;
        self.packet = (0..links.ifaces.len()).map(|_| None).collect();
        self.links = links;
        // Notifications applied while the build ran may be newer than its reading of the
        // interfaces.
        for event in self.builds.take_events() {
            self.links.apply(&mut self.nl, &event);
        }
        self.logged_up = self.links.ifaces.iter().map(|i| i.link.is_up()).collect();
        self.vrs = vrs;
    }

    /// Instance `j`'s tracked objects with their weights and their state now.
    fn tracked_now(&self, j: usize) -> Vec<Tracked> {
        let vr = &self.vrs[j];
        let mut tracked = vr.instance.tracked().to_vec();
        for &(pos, t) in &vr.track_ifaces {
            tracked[t].up = self.links.ifaces[pos].link.is_up();
        }
        for &(script, t) in &vr.track_scripts {
            tracked[t].up = self.scripts.is_up(script);
        }
        // A file's or process's last value carries over; before its first read it counts
        // for nothing.
        for &(pos, t, effect) in vr.track_polled.iter().filter(|f| !self.polled.unread(f.0)) {
            (tracked[t].weight, tracked[t].up) = effect.of(self.polled.value(pos));
        }
        for &(check, t, reverse) in &vr.track_bfds {
            tracked[t].up = self.bfds.is_up(check) != reverse;
        }
        tracked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::desired::tests::config;

    const BASE: &str = "\
keeplite.gw=vrrp
keeplite.gw.interface='eth0'
keeplite.gw.vrid='51'
keeplite.gw.priority='100'
keeplite.gw.vip='198.51.100.100/24'
keeplite.lan=vrrp
keeplite.lan.interface='eth1'
keeplite.lan.vrid='52'
keeplite.lan.priority='100'
keeplite.lan.vip='203.0.113.100/24'
";

    #[test]
    fn a_section_continues_the_instance_of_the_same_virtual_router() {
        let old = config(BASE);
        let reordered = "keeplite.new=vrrp\nkeeplite.new.interface='eth0'\nkeeplite.new.vrid='53'\nkeeplite.new.vip='198.51.100.101/24'\n";
        let new = config(&format!("{reordered}{}", BASE.replace("gw.priority='100'", "gw.priority='150'")));
        assert_eq!(continues(&old.vrrp, &new.vrrp), vec![None, Some(0), Some(1)]);
        assert!(!same_settings(&old, 0, &new, 1), "gw's priority changed");
        assert!(same_settings(&old, 1, &new, 2));
    }

    #[test]
    fn another_vrid_interface_version_or_family_is_another_router() {
        let old = config(BASE);
        for (from, to) in [
            ("vrid='51'", "vrid='61'"),
            ("interface='eth0'", "interface='eth2'"),
            ("keeplite.gw.vip='198.51.100.100/24'", "keeplite.gw.vip='2001:db8::100/64'"),
            ("keeplite.gw.vrid='51'", "keeplite.gw.vrid='51'\nkeeplite.gw.version='2'"),
            ("keeplite.gw.vrid='51'", "keeplite.gw.vrid='51'\nkeeplite.gw.use_vmac='1'"),
        ] {
            let new = config(&BASE.replacen(from, to, 1));
            assert_eq!(continues(&old.vrrp, &new.vrrp), vec![None, Some(1)], "{to}");
        }
    }

    #[test]
    fn tracked_scripts_compare_by_content_not_position() {
        let script =
            |name: &str, cmd: &str| format!("keeplite.{name}=script\nkeeplite.{name}.command='{cmd}'\n");
        let track = "keeplite.gw.track_script='chk'\n";
        let old = config(&format!("{}{}{track}", script("chk", "true"), BASE));
        let moved = config(&format!("{}{}{}{track}", script("other", "false"), script("chk", "true"), BASE));
        assert!(same_settings(&old, 0, &moved, 0));
        let edited = config(&format!("{}{}{track}", script("chk", "false"), BASE));
        assert!(!same_settings(&old, 0, &edited, 0));
    }

    #[test]
    fn the_outcome_reads_well_in_a_log_line() {
        let o = Outcome { unchanged: 2, changed: 1, added: 0, removed: 1 };
        assert_eq!(o.to_string(), "vrrp: 2 unchanged, 1 changed, 0 added, 1 removed");
    }
}
