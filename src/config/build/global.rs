//! The `global` section.

use super::reader::{Names, Reader};
use super::{Host, Table};
use crate::config::model::{Global, LogLevel, LvsSync, Vrrp, LOG_LEVELS};
use crate::config::value::{self, Bad};
use std::net::IpAddr;
use std::time::Duration;

/// Default status socket path.
pub const STATUS_SOCKET: &str = "/var/run/keeplite/status.sock";
/// SMTP port when `smtp_server` names none.
const SMTP_PORT: u16 = 25;

/// The global settings of a file without a `global` section.
pub fn defaults(host: &Host) -> Global {
    Global {
        router_id: host.hostname.clone(),
        alert_email: heapless::Vec::new(),
        smtp_server: None,
        smtp_from: format!("keeplite@{}", host.hostname),
        smtp_helo_name: host.hostname.clone(),
        smtp_timeout: Duration::from_secs(30),
        status_socket: STATUS_SOCKET.to_owned(),
        pid_file: None,
        log_level: LogLevel::Info,
        lvs_sync: None,
        lvs_keep_on_stop: false,
        lvs_reconcile_interval: Duration::from_secs(10),
        script_user: None,
        startup_delay: Duration::ZERO,
        mcast_group4: crate::vrrp::packet::MULTICAST_V4,
        mcast_group6: crate::vrrp::packet::MULTICAST_V6,
        static_addresses: heapless::Vec::new(),
    }
}

/// Reads the `global` section.
pub fn global(r: &mut Reader, host: &Host, names: &Names, vrrp: &Table<Vrrp>) -> Option<Global> {
    let d = defaults(host);
    let router_id = r.or("router_id", d.router_id, value::non_empty);
    let emails = r.list("alert_email", value::email);
    r.no_duplicates("alert_email", &emails, |e| format!("'{e}'"));
    let alert_email = r.fixed("alert_email", emails, "ALERT_EMAILS");
    let smtp_server = r.one("smtp_server", value::host_port).map(|(h, p)| (h, p.unwrap_or(SMTP_PORT)));
    let smtp_from = r.or("smtp_from", d.smtp_from, value::email);
    let smtp_helo_name = r.or("smtp_helo_name", d.smtp_helo_name, value::host);
    let smtp_timeout = r.or("smtp_timeout", d.smtp_timeout, value::positive);
    let status_socket = r.or("status_socket", d.status_socket, value::path);
    let pid_file = r.one("pid_file", value::path);
    let log_level = r.or("log_level", d.log_level, |v| value::keyword(v, LOG_LEVELS));
    let script_user = r.one("script_user", value::user);
    let lvs_sync = lvs_sync(r, names, vrrp);
    let lvs_keep_on_stop = r.or("lvs_keep_on_stop", d.lvs_keep_on_stop, value::boolean);
    let lvs_reconcile_interval = r.or("lvs_reconcile_interval", d.lvs_reconcile_interval, value::positive);
    let startup_delay = r.or("startup_delay", d.startup_delay, |v| {
        value::duration_in(v, Duration::ZERO, Duration::from_secs(3600))
    });
    let mcast_group4 = r.or("mcast_group4", d.mcast_group4, |v| match value::multicast(v)? {
        IpAddr::V4(a) => Ok(a),
        IpAddr::V6(_) => Err(Bad {
            what: format!("{v} is an IPv6 group"),
            expected: "an IPv4 multicast group, e.g. 224.0.0.18".into(),
        }),
    });
    let mcast_group6 = r.or("mcast_group6", d.mcast_group6, |v| match value::multicast(v)? {
        IpAddr::V6(a) => Ok(a),
        IpAddr::V4(_) => Err(Bad {
            what: format!("{v} is an IPv4 group"),
            expected: "an IPv6 multicast group, e.g. ff02::12".into(),
        }),
    });
    let statics = r.list("static_address", |v| {
        let vip = super::vip::vip(v, None)?;
        if vip.opts.dev.is_none() {
            return Err(value::Bad {
                what: format!("'{v}' names no interface"),
                expected: "addr/len dev IF [label ...], e.g. 192.0.2.1/32 dev lo".into(),
            });
        }
        Ok(vip)
    });
    let addrs: Vec<std::net::IpAddr> = statics.iter().map(|v| v.addr).collect();
    r.no_duplicates("static_address", &addrs, |a| a.to_string());
    let static_addresses = r.fixed("static_address", statics, "STATIC_ADDRESSES");
    Some(Global {
        router_id,
        alert_email,
        smtp_server,
        smtp_from,
        smtp_helo_name,
        smtp_timeout,
        status_socket,
        pid_file,
        log_level,
        lvs_sync,
        lvs_keep_on_stop,
        lvs_reconcile_interval,
        script_user,
        startup_delay,
        mcast_group4,
        mcast_group6,
        static_addresses,
    })
}

/// `lvs_sync_interface`, `lvs_sync_instance` and `lvs_sync_id` go together.
fn lvs_sync(r: &mut Reader, names: &Names, vrrp: &Table<Vrrp>) -> Option<LvsSync> {
    let any = ["lvs_sync_interface", "lvs_sync_instance", "lvs_sync_id"].iter().any(|o| r.has(o));
    if !any {
        return None;
    }
    let interface = r.required("lvs_sync_interface", value::interface);
    let instance = r.required("lvs_sync_instance", |v| names.resolve("vrrp", v));
    let default_id = instance.and_then(|i| vrrp.get(i)).map_or(0, |v| v.vrid);
    let sync_id = r.or("lvs_sync_id", default_id, |v| value::uint(v, 0, 255));
    Some(LvsSync { interface: interface?, instance: instance?, sync_id })
}
