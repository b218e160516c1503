//! keepalived's `omega`: what a stop tells the notify scripts of a virtual server. Pure.

use super::desired::RealServerHealth;
use super::quorum::Quorum;
use crate::config::model::Config;

/// The commands to run at stop, in order: each `omega` virtual server's `quorum_down`
/// while its quorum is up, then `notify_down` of each real server that is up and belongs
/// to at least one `omega` virtual server (once, however many it belongs to).
pub fn stop_commands(config: &Config, health: &[RealServerHealth], quorum: &[Quorum]) -> Vec<String> {
    let omega = |vi: usize| config.virtual_servers.get(vi).is_some_and(|vs| vs.omega);
    let mut out: Vec<String> = config
        .virtual_servers
        .iter()
        .enumerate()
        .filter(|&(vi, vs)| vs.omega && quorum.get(vi).is_some_and(|q| q.is_up()))
        .filter_map(|(_, vs)| vs.quorum_down.clone())
        .collect();
    for (rs, h) in config.real_servers.iter().zip(health) {
        if h.up && rs.virtual_servers.iter().any(|&vi| omega(vi)) {
            out.extend(rs.notify_down.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::desired::tests::config;

    const TEXT: &str = "a=virtual_server\na.address='192.0.2.1'\na.port='80'\na.omega='1'\na.quorum_down='qa'\n\
                        b=virtual_server\nb.address='192.0.2.2'\nb.port='80'\nb.quorum_down='qb'\n\
                        c=virtual_server\nc.address='192.0.2.3'\nc.port='80'\nc.omega='1'\n\
                        r1=real_server\nr1.virtual_server='a' 'c'\nr1.address='10.0.0.1'\nr1.notify_down='d1'\n\
                        r2=real_server\nr2.virtual_server='b'\nr2.address='10.0.0.2'\nr2.notify_down='d2'\n\
                        r3=real_server\nr3.virtual_server='c'\nr3.address='10.0.0.3'\nr3.notify_down='d3'\n";

    #[test]
    fn only_omega_services_and_what_is_up() {
        let c = config(TEXT);
        let mut health = RealServerHealth::all_up(&c);
        let mut quorum = Quorum::initial(&c);
        // b has no omega: neither its quorum_down nor r2's notify_down; r1 once for a and c.
        assert_eq!(stop_commands(&c, &health, &quorum), ["qa", "d1", "d3"]);
        // A real server already down was notified when it went down; a lost quorum too.
        health[2].up = false;
        quorum[0].update(0, 1, 0);
        assert_eq!(stop_commands(&c, &health, &quorum), ["d1"]);
    }

    #[test]
    fn without_omega_nothing_runs() {
        let c = config(&TEXT.replace("omega='1'", "omega='0'"));
        let health = RealServerHealth::all_up(&c);
        assert!(stop_commands(&c, &health, &Quorum::initial(&c)).is_empty());
    }
}
