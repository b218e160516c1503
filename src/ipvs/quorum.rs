//! Quorum of a virtual server (keepalived's `quorum` and `hysteresis`): whether enough
//! real-server weight is alive to serve, with a sticky state so that a sum hovering at
//! the threshold does not flap the sorry server in and out.

use super::desired::RealServerHealth;
use crate::config::model::Config;

/// Sticky quorum state of one virtual server; starts up, as keepalived's does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quorum {
    up: bool,
}

impl Default for Quorum {
    fn default() -> Self {
        Quorum { up: true }
    }
}

/// A quorum transition of one virtual server, for the `quorum_up`/`quorum_down` scripts
/// and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumChange {
    /// Index into [`Config::virtual_servers`].
    pub virtual_server: usize,
    /// The new state: true when quorum was regained.
    pub up: bool,
    /// The alive weight sum that caused the change.
    pub alive_weight: u64,
}

impl Quorum {
    /// True while the virtual server has its quorum.
    pub fn is_up(self) -> bool {
        self.up
    }

    /// One state per virtual server of `config`, all up.
    pub fn initial(config: &Config) -> Vec<Quorum> {
        vec![Quorum::default(); config.virtual_servers.len()]
    }

    /// The states for `new` after a reload: a virtual server keeps the state it had under
    /// the same name in `old`, so a reload neither runs quorum scripts again nor swaps
    /// the sorry server in or out while the weight sits inside the hysteresis band.
    pub fn carried_over(old: &Config, old_states: &[Quorum], new: &Config) -> Vec<Quorum> {
        new.virtual_servers
            .iter()
            .map(|vs| {
                old.virtual_servers
                    .iter()
                    .position(|o| o.name == vs.name)
                    .and_then(|i| old_states.get(i).copied())
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Feeds the alive weight sum; true when the state changed. keepalived's rule: lost
    /// below `quorum - hysteresis` (or at zero), regained at `quorum + hysteresis`.
    pub fn update(&mut self, alive_weight: u64, quorum: u32, hysteresis: u32) -> bool {
        let quorum = u64::from(quorum);
        let hysteresis = u64::from(hysteresis);
        let next = if self.up {
            // keepalived also drops at a zero sum, whatever the thresholds say.
            !(alive_weight == 0 || alive_weight < quorum.saturating_sub(hysteresis))
        } else {
            alive_weight >= quorum + hysteresis
        };
        let changed = next != self.up;
        self.up = next;
        changed
    }
}

/// Updates every virtual server's quorum from the health of its real servers; the
/// transitions in virtual-server order. States beyond `states` (a daemon bug) are
/// treated as up and not recorded.
pub fn update_all(config: &Config, health: &[RealServerHealth], states: &mut [Quorum]) -> Vec<QuorumChange> {
    let sums = alive_weights(config, health);
    let mut changes = Vec::new();
    for (i, (vs, state)) in config.virtual_servers.iter().zip(states.iter_mut()).enumerate() {
        let alive_weight = sums.get(i).copied().unwrap_or(0);
        if state.update(alive_weight, vs.quorum, vs.hysteresis) {
            changes.push(QuorumChange { virtual_server: i, up: state.up, alive_weight });
        }
    }
    changes
}

/// Per virtual server, the sum of the effective weights of its real servers that are up.
pub fn alive_weights(config: &Config, health: &[RealServerHealth]) -> Vec<u64> {
    let mut sums = vec![0u64; config.virtual_servers.len()];
    for (j, rs) in config.real_servers.iter().enumerate() {
        let h = RealServerHealth::of(health, j);
        if !h.up {
            continue;
        }
        for &vi in &rs.virtual_servers {
            if let Some(sum) = sums.get_mut(vi) {
                *sum += u64::from(h.weight_of(rs));
            }
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::desired::tests::config;

    #[test]
    fn thresholds_with_hysteresis() {
        // (quorum, hysteresis, start up, alive weight, expected up, expected change)
        let table: &[(u32, u32, bool, u64, bool, bool)] = &[
            (3, 0, true, 3, true, false),
            (3, 0, true, 2, false, true),
            (3, 0, false, 2, false, false),
            (3, 0, false, 3, true, true),
            // Inside the band [quorum - h, quorum + h) the state sticks.
            (5, 2, true, 3, true, false),
            (5, 2, true, 6, true, false),
            (5, 2, true, 2, false, true),
            (5, 2, false, 6, false, false),
            (5, 2, false, 3, false, false),
            (5, 2, false, 7, true, true),
            // A hysteresis at or above the quorum saturates: only a zero sum loses.
            (2, 5, true, 1, true, false),
            (2, 5, true, 0, false, true),
            (2, 5, false, 6, false, false),
            (2, 5, false, 7, true, true),
            // Huge values do not overflow.
            (u32::MAX, u32::MAX, false, u64::from(u32::MAX) * 2, true, true),
            (u32::MAX, 0, true, u64::from(u32::MAX) - 1, false, true),
        ];
        for &(quorum, hysteresis, up, alive, want_up, want_change) in table {
            let mut q = Quorum { up };
            let changed = q.update(alive, quorum, hysteresis);
            let case = (quorum, hysteresis, up, alive);
            assert_eq!((q.is_up(), changed), (want_up, want_change), "{case:?}");
        }
    }

    const TWO_SERVICES: &str = "
a=virtual_server
a.address='192.0.2.1'
a.port='80'
a.quorum='4'
a.hysteresis='1'
b=virtual_server
b.address='192.0.2.2'
b.port='80'
r1=real_server
r1.virtual_server='a' 'b'
r1.address='10.0.0.1'
r1.weight='3'
r2=real_server
r2.virtual_server='a'
r2.address='10.0.0.2'
r2.weight='2'
";

    #[test]
    fn alive_weights_sum_up_servers_with_dynamic_weights() {
        let c = config(TWO_SERVICES);
        let h = |up, weight| RealServerHealth { up, weight, shift: 0 };
        // (health of r1, r2) -> sums of a, b
        let table = [
            ([h(true, None), h(true, None)], [5, 3]),
            ([h(false, None), h(true, None)], [2, 0]),
            ([h(true, Some(10)), h(true, Some(0))], [10, 10]),
            ([h(false, Some(10)), h(false, None)], [0, 0]),
        ];
        for (health, want) in table {
            assert_eq!(alive_weights(&c, &health), want, "{health:?}");
        }
        // A short health table (a daemon bug) counts the missing servers as up.
        assert_eq!(alive_weights(&c, &[]), [5, 3]);
    }

    #[test]
    fn update_all_reports_transitions_in_order() {
        let c = config(TWO_SERVICES);
        let mut states = Quorum::initial(&c);
        let up = RealServerHealth::UP;
        let down = RealServerHealth { up: false, ..RealServerHealth::UP };
        // Both up: 5 >= 4 - 1, nothing changes.
        assert_eq!(update_all(&c, &[up, up], &mut states), []);
        // r2 fails: a has 3, not below 3, sticks up.
        assert_eq!(update_all(&c, &[up, down], &mut states), []);
        // r1 fails: a has 2 (lost), b has 0 (lost).
        let lost = update_all(&c, &[down, up], &mut states);
        let want = [
            QuorumChange { virtual_server: 0, up: false, alive_weight: 2 },
            QuorumChange { virtual_server: 1, up: false, alive_weight: 0 },
        ];
        assert_eq!(lost, want);
        // r1 back alone: b regains (3 >= 1), a needs 5.
        let back = update_all(&c, &[up, down], &mut states);
        assert_eq!(back, [QuorumChange { virtual_server: 1, up: true, alive_weight: 3 }]);
        assert_eq!(update_all(&c, &[up, up], &mut states)[0].virtual_server, 0);
        // A short state table does not panic.
        assert_eq!(update_all(&c, &[down, down], &mut states[..1]).len(), 1);
    }

    #[test]
    fn reload_carries_state_over_by_name() {
        let old = config(TWO_SERVICES);
        let (lost, up) = (Quorum { up: false }, Quorum::default());
        // The new file drops `a`, keeps `b` (both lost before) and adds `c` before it.
        let new = config(
            "c=virtual_server\nc.address='192.0.2.3'\nc.port='80'\nc.sorry_server='10.0.0.9'\n\
             b=virtual_server\nb.address='192.0.2.2'\nb.port='80'\nb.sorry_server='10.0.0.9'\n",
        );
        assert_eq!(Quorum::carried_over(&old, &[lost, lost], &new), [up, lost]);
        // A renamed section starts afresh; a short old state table does not panic.
        let renamed =
            config(&TWO_SERVICES.replace("\nb=", "\nx=").replace("\nb.", "\nx.").replace("'b'", "'x'"));
        assert_eq!(Quorum::carried_over(&old, &[lost, lost], &renamed), [lost, up]);
        assert_eq!(Quorum::carried_over(&old, &[], &new), [up, up]);
    }
}
