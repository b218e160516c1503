//! Which probes run: one per distinct (check, target address, target port, interval),
//! and which of them each real server's health depends on. Pure: from the configuration.

use crate::config::model::{CheckKind, Config, ServiceKey};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// One probe: what it checks, where, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProbeSpec {
    /// Index into [`Config::checks`].
    pub check: usize,
    /// Address and port probed (for a script: the real server's, which names the probe).
    pub target: SocketAddr,
    pub interval: Duration,
}

/// The probes of a configuration and who uses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub probes: Vec<ProbeSpec>,
    /// Per real server (indexed like [`Config::real_servers`]): the probes whose results it
    /// needs, all of them passing for it to be up. Empty: no check, always up.
    pub uses: Vec<Vec<usize>>,
    /// Per probe: true when a real server of an `alpha` virtual server uses it, so it
    /// starts down until it passes.
    pub start_down: Vec<bool>,
}

/// The plan of `config`.
pub fn plan(config: &Config) -> Plan {
    let mut index: HashMap<ProbeSpec, usize> = HashMap::new();
    let mut probes = Vec::new();
    let mut start_down = Vec::new();
    let mut uses = Vec::with_capacity(config.real_servers.len());
    for rs in config.real_servers.iter() {
        let mut mine = Vec::new();
        for &c in &rs.checks {
            let check = &config.checks[c];
            for &v in &rs.virtual_servers {
                let vs = &config.virtual_servers[v];
                let interval = check.interval.unwrap_or(vs.delay_loop);
                // One file or process table, whoever looks: one probe for all.
                let addr = if check.kind.is_local() {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                } else {
                    check.connect_ip.unwrap_or(rs.address)
                };
                let script = matches!(check.kind, CheckKind::Script { .. });
                // The target port: the check's, the real server's, else each service port;
                // none for a ping or a local check.
                let ports: Vec<u16> = match (check.connect_port.filter(|_| !script), rs.port, &vs.key) {
                    _ if matches!(check.kind, CheckKind::Ping | CheckKind::Bfd(_))
                        || check.kind.is_local() =>
                    {
                        vec![0]
                    }
                    (Some(p), ..) | (None, Some(p), _) => vec![p],
                    (None, None, ServiceKey::Address { ports, .. }) => {
                        ports.iter().flat_map(|r| r.ports()).collect()
                    }
                    // Validation refuses a fwmark or every-port (0) service without a port
                    // here; a script needs none.
                    (None, None, ServiceKey::Fwmark { .. }) => vec![0],
                };
                for port in ports {
                    let spec = ProbeSpec { check: c, target: SocketAddr::new(addr, port), interval };
                    let i = *index.entry(spec).or_insert_with(|| {
                        probes.push(spec);
                        start_down.push(false);
                        probes.len() - 1
                    });
                    start_down[i] |= vs.alpha;
                    if !mine.contains(&i) {
                        mine.push(i);
                    }
                }
            }
        }
        uses.push(mine);
    }
    Plan { probes, uses, start_down }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::desired::tests::config;

    const TWO_SERVICES: &str = "
web=virtual_server
web.address=198.51.100.10
web.port=80 443
web.delay_loop=6s
web.alpha=1
api=virtual_server
api.address=198.51.100.11
api.port=80
other=virtual_server
other.address=198.51.100.12
other.port=80
a=real_server
a.virtual_server=web api
a.address=203.0.113.1
a.check=tcp http
b=real_server
b.virtual_server=other
b.address=203.0.113.1
b.port=80
b.check=tcp
c=real_server
c.virtual_server=api
c.address=203.0.113.3
tcp=check
tcp.type=tcp
tcp.interval=2s
tcp.timeout=1s
http=check
http.type=http
http.connect_port=8080
";

    #[test]
    fn one_probe_per_check_target_and_interval() {
        let c = config(TWO_SERVICES);
        let p = plan(&c);
        let show: Vec<String> = p
            .probes
            .iter()
            .map(|s| format!("{} {} {:?}", c.checks[s.check].name, s.target, s.interval))
            .collect();
        assert_eq!(
            show,
            [
                "tcp 203.0.113.1:80 2s",
                "tcp 203.0.113.1:443 2s",
                // http has no interval: each virtual server's delay_loop.
                "http 203.0.113.1:8080 6s",
                "http 203.0.113.1:8080 60s",
            ]
        );
        // b shares a's tcp probe on port 80; c has no check.
        assert_eq!(p.uses, vec![vec![0, 1, 2, 3], vec![0], vec![]]);
        // web is alpha: the probes a uses through web start down, the shared port-80 probe too.
        assert_eq!(p.start_down, vec![true, true, true, false]);
    }

    #[test]
    fn scripts_are_one_probe_per_real_server() {
        let c = config(
            "vs=virtual_server\nvs.fwmark=3\n\
             a=real_server\na.virtual_server=vs\na.address=203.0.113.1\na.check=s\n\
             b=real_server\nb.virtual_server=vs\nb.address=203.0.113.2\nb.check=s\n\
             s=check\ns.type=script\ns.command=true\ns.timeout=1s\n",
        );
        let p = plan(&c);
        assert_eq!(p.probes.len(), 2);
        assert_eq!(p.probes[1].target, "203.0.113.2:0".parse().unwrap());
    }

    #[test]
    fn pings_are_one_probe_per_address_and_files_one_in_all() {
        let c = config(
            "vs=virtual_server\nvs.address=198.51.100.10\nvs.port=80 443\n\
             a=real_server\na.virtual_server=vs\na.address=203.0.113.1\na.check=p f\n\
             b=real_server\nb.virtual_server=vs\nb.address=203.0.113.2\nb.check=p f\n\
             p=check\np.type=ping\np.interval=2s\np.timeout=1s\n\
             f=check\nf.type=file\nf.file=/run/flag\nf.interval=2s\nf.timeout=1s\n",
        );
        let p = plan(&c);
        let targets: Vec<String> = p.probes.iter().map(|s| s.target.to_string()).collect();
        // Two ports each, yet one ping per address; one file probe for both servers.
        assert_eq!(targets, ["203.0.113.1:0", "0.0.0.0:0", "203.0.113.2:0"]);
        assert_eq!(p.uses, vec![vec![0, 1], vec![2, 1]]);
    }
}
