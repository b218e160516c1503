//! Every fixed capacity of keeplite in one place.
//!
//! A configuration that exceeds one of these is rejected with an error that names the
//! limit, so memory is bounded by this file, not by the input.

/// Largest configuration file read, in bytes.
pub const CONFIG_FILE_BYTES: usize = 1 << 20;
/// Longest line of a configuration file, in bytes.
pub const CONFIG_LINE_BYTES: usize = 4096;
/// Longest section name.
pub const NAME_BYTES: usize = 64;
/// Longest option value (commands, paths, strings).
pub const VALUE_BYTES: usize = 1024;
/// Most problems reported for one file before the rest are summarised.
pub const REPORTED_PROBLEMS: usize = 100;

/// `vrrp` sections.
pub const VRRP_INSTANCES: usize = 64;
/// Addresses in one `vrrp.vip` list (VRRP adverts carry at most 255; keepalived warns past 20).
pub const VIPS_PER_INSTANCE: usize = 32;
/// Addresses in one `vrrp.unicast_peer` list.
pub const UNICAST_PEERS: usize = 16;
/// Entries in one `vrrp.track_interface` list.
pub const TRACK_INTERFACES: usize = 8;
/// Entries in one `vrrp.track_script` list.
pub const TRACK_SCRIPTS: usize = 8;
/// Files one vrrp section tracks.
pub const TRACK_FILES: usize = 8;
/// Process checks one vrrp section tracks.
pub const TRACK_PROCESSES: usize = 8;
/// BFD sessions (bfd checks) one vrrp section tracks.
pub const TRACK_BFDS: usize = 8;
/// Everything one vrrp section tracks: its interfaces, the other interfaces its VIPs are
/// on, its scripts, files, processes and BFD sessions.
pub const TRACKED: usize =
    TRACK_INTERFACES + VIPS_PER_INSTANCE + TRACK_SCRIPTS + TRACK_FILES + TRACK_PROCESSES + TRACK_BFDS;
/// Keys in one `vrrp.auth_hmac_key` list (two or three during a rotation).
pub const HMAC_KEYS: usize = 8;
/// Senders whose last HMAC sequence one instance remembers (least recently heard
/// forgotten first; only senders with a valid signature take a place).
pub const HMAC_SENDERS: usize = UNICAST_PEERS;
/// Arguments a process check matches.
pub const PROCESS_ARGS: usize = 16;
/// `sync_group` sections.
pub const SYNC_GROUPS: usize = 32;
/// Members of one sync group.
pub const SYNC_GROUP_MEMBERS: usize = 16;
/// `script` sections.
pub const SCRIPTS: usize = 64;
/// Addresses in `global.alert_email`.
pub const ALERT_EMAILS: usize = 8;

/// `virtual_server` sections.
pub const VIRTUAL_SERVERS: usize = 1024;
/// Ports of one virtual server (ranges count each port).
pub const PORTS_PER_VIRTUAL_SERVER: usize = 32;
/// `real_server` sections.
pub const REAL_SERVERS: usize = 4096;
/// Virtual servers one real server section belongs to.
pub const VIRTUAL_SERVERS_PER_REAL_SERVER: usize = 16;
/// `check` sections.
pub const CHECKS: usize = 256;
/// Checks named by one real server.
pub const CHECKS_PER_REAL_SERVER: usize = 4;
/// Entries in one `check.expect_status` list.
pub const STATUS_RANGES: usize = 8;

/// Notify scripts waiting to run; more are dropped and counted.
pub const NOTIFY_QUEUE: usize = 32;
/// Notify scripts running at once.
pub const NOTIFY_RUNNING: usize = 4;
/// Alert mails waiting for the mail thread (per thread that sends them: the VRRP loop and
/// the IPVS thread); more are dropped and counted.
pub const MAIL_QUEUE: usize = 16;
/// Attempts at one alert mail (a 5xx refusal is not retried).
pub const MAIL_ATTEMPTS: usize = 3;

/// Kernel IPVS services keeplite programs (one per virtual server port, or per fwmark).
pub const IPVS_SERVICES: usize = 4096;
/// Kernel IPVS destinations keeplite programs, over all services.
pub const IPVS_DESTINATIONS: usize = 16384;
/// Bytes of a `udp` check's `payload` and of its `expect`; also the longest reply it reads.
pub const UDP_PAYLOAD: usize = 512;
/// Distinct probes (check, target address, target port) the checker runs.
pub const PROBES: usize = 4096;
/// Probes running at once; due ones wait for a slot. This bounds the descriptors (one
/// socket or script each, well under the default limit of 1024) and the buffers of the
/// checker, however many servers hang at once.
pub const PROBES_RUNNING: usize = 256;
/// Entries in `global.static_address`.
pub const STATIC_ADDRESSES: usize = 32;
/// `route` sections.
pub const ROUTES: usize = 256;
/// `rule` sections.
pub const RULES: usize = 256;

/// Every limit with its name, for `keeplite version` and for error messages.
pub const ALL: &[(&str, usize)] = &[
    ("CONFIG_FILE_BYTES", CONFIG_FILE_BYTES),
    ("CONFIG_LINE_BYTES", CONFIG_LINE_BYTES),
    ("NAME_BYTES", NAME_BYTES),
    ("VALUE_BYTES", VALUE_BYTES),
    ("REPORTED_PROBLEMS", REPORTED_PROBLEMS),
    ("VRRP_INSTANCES", VRRP_INSTANCES),
    ("VIPS_PER_INSTANCE", VIPS_PER_INSTANCE),
    ("UNICAST_PEERS", UNICAST_PEERS),
    ("TRACK_INTERFACES", TRACK_INTERFACES),
    ("TRACK_SCRIPTS", TRACK_SCRIPTS),
    ("TRACK_FILES", TRACK_FILES),
    ("TRACK_PROCESSES", TRACK_PROCESSES),
    ("TRACK_BFDS", TRACK_BFDS),
    ("HMAC_KEYS", HMAC_KEYS),
    ("HMAC_SENDERS", HMAC_SENDERS),
    ("PROCESS_ARGS", PROCESS_ARGS),
    ("SYNC_GROUPS", SYNC_GROUPS),
    ("SYNC_GROUP_MEMBERS", SYNC_GROUP_MEMBERS),
    ("SCRIPTS", SCRIPTS),
    ("ALERT_EMAILS", ALERT_EMAILS),
    ("VIRTUAL_SERVERS", VIRTUAL_SERVERS),
    ("PORTS_PER_VIRTUAL_SERVER", PORTS_PER_VIRTUAL_SERVER),
    ("REAL_SERVERS", REAL_SERVERS),
    ("VIRTUAL_SERVERS_PER_REAL_SERVER", VIRTUAL_SERVERS_PER_REAL_SERVER),
    ("CHECKS", CHECKS),
    ("CHECKS_PER_REAL_SERVER", CHECKS_PER_REAL_SERVER),
    ("STATUS_RANGES", STATUS_RANGES),
    ("NOTIFY_QUEUE", NOTIFY_QUEUE),
    ("NOTIFY_RUNNING", NOTIFY_RUNNING),
    ("MAIL_QUEUE", MAIL_QUEUE),
    ("MAIL_ATTEMPTS", MAIL_ATTEMPTS),
    ("IPVS_SERVICES", IPVS_SERVICES),
    ("IPVS_DESTINATIONS", IPVS_DESTINATIONS),
    ("UDP_PAYLOAD", UDP_PAYLOAD),
    ("PROBES", PROBES),
    ("PROBES_RUNNING", PROBES_RUNNING),
    ("STATIC_ADDRESSES", STATIC_ADDRESSES),
    ("ROUTES", ROUTES),
    ("RULES", RULES),
];

/// The section types whose count has a limit: (section type, its limit, the limit's name).
pub const SECTIONS: [(&str, usize, &str); 8] = [
    ("vrrp", VRRP_INSTANCES, "VRRP_INSTANCES"),
    ("sync_group", SYNC_GROUPS, "SYNC_GROUPS"),
    ("script", SCRIPTS, "SCRIPTS"),
    ("virtual_server", VIRTUAL_SERVERS, "VIRTUAL_SERVERS"),
    ("real_server", REAL_SERVERS, "REAL_SERVERS"),
    ("check", CHECKS, "CHECKS"),
    ("route", ROUTES, "ROUTES"),
    ("rule", RULES, "RULES"),
];

#[cfg(test)]
mod tests {
    /// docs/configuration.md's limits table lists every limit with its value.
    #[test]
    fn reference_lists_every_limit() {
        let doc = include_str!("../docs/configuration.md");
        for (name, value) in super::ALL {
            let row = format!("| `{name}` | {value} |");
            assert!(doc.contains(&row), "docs/configuration.md has no row {row}");
        }
    }
}
