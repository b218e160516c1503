//! Why a keepalived keyword has no keeplite counterpart, in words an operator can act on.

/// keepalived's settings of its own processes (names, scheduling, memory, buffers,
/// pid and temporary files): keeplite sets up its own process (its VRRP thread at nice
/// -10, fixed buffers), so there is nothing to carry over, and nothing is lost.
pub fn process_setting(kw: &str) -> bool {
    matches!(
        kw,
        "process_names"
            | "process_name"
            | "vrrp_process_name"
            | "checker_process_name"
            | "bfd_process_name"
            | "vrrp_priority"
            | "checker_priority"
            | "bfd_priority"
            | "vrrp_no_swap"
            | "checker_no_swap"
            | "bfd_no_swap"
            | "vrrp_rt_priority"
            | "checker_rt_priority"
            | "bfd_rt_priority"
            | "vrrp_rlimit_rttime"
            | "checker_rlimit_rttime"
            | "bfd_rlimit_rttime"
            | "vrrp_cpu_affinity"
            | "checker_cpu_affinity"
            | "bfd_cpu_affinity"
            | "max_auto_priority"
            | "min_auto_priority_delay"
            | "child_wait_time"
            | "tmp_config_directory"
            | "config_save_dir"
            | "use_pid_dir"
            | "vrrp_netlink_cmd_rcv_bufs"
            | "vrrp_netlink_cmd_rcv_bufs_force"
            | "vrrp_netlink_monitor_rcv_bufs"
            | "vrrp_netlink_monitor_rcv_bufs_force"
            | "lvs_netlink_cmd_rcv_bufs"
            | "lvs_netlink_cmd_rcv_bufs_force"
            | "lvs_netlink_monitor_rcv_bufs"
            | "lvs_netlink_monitor_rcv_bufs_force"
            | "process_monitor_rcv_bufs"
            | "process_monitor_rcv_bufs_force"
            | "vrrp_rx_bufs_policy"
            | "vrrp_rx_bufs_multiplier"
            | "kernel_rx_buf_size"
            | "random_seed"
    )
}

/// The reason for keyword `kw`, for a keyword the import does not carry.
pub fn why(kw: &str) -> String {
    let r = match kw {
        // Reaches here from a vrrp_sync_group only: an instance's is carried.
        "notify_priority_changes" => {
            "keeplite has it per instance (vrrp.notify_priority_changes), not per sync group: set it on the members"
        }
        "notify_fifo" | "notify_fifo_script" | "vrrp_notify_fifo" | "vrrp_notify_fifo_script" | "lvs_notify_fifo"
        | "lvs_notify_fifo_script" | "fifo_write_vrrp_states_on_reload" => {
            "keeplite has no notify FIFO: `keeplite subscribe` streams every transition, health and IPVS change as JSON lines (docs/status.md, Events); notify scripts remain"
        }
        "enable_snmp_vrrp" | "enable_snmp_checker" | "enable_snmp_rfc" | "enable_snmp_rfcv2" | "enable_snmp_rfcv3"
        | "enable_traps" | "snmp_socket" | "snmp_name" | "snmp_vs_stats_update_interval" | "snmp_rs_stats_update_interval" => {
            "keeplite has no SNMP (out of scope); use its status socket"
        }
        "enable_dbus" | "dbus_service_name" | "dbus_no_interface_name" => {
            "keeplite has no DBus (out of scope); use its status socket"
        }
        "state_file_location" | "stats_file_location" | "json_file_location" | "json_version" => {
            "keeplite dumps no state files on signals; its status socket answers in JSON at any time"
        }
        "iproute_usr_dir" | "iproute_etc_dir" => "keeplite reads no iproute2 files",
        "use_symlink_paths" => "keeplite runs commands as written, by /bin/sh -c",
        "set_supplementary_groups" => {
            "keeplite runs a script as its user with that user's group and no supplementary groups"
        }
        "v3_checksum_as_v2" => {
            "keeplite always puts the IP pseudo-header in the checksum of version 3 adverts, IPv4 too (keepalived's default): a keepalived peer with this option and keeplite reject each other's adverts"
        }
        "no_virtual_ipaddress" => "keeplite needs at least one vip per instance",
        "vrf" => {
            "keeplite's instances need an interface: give one in the VRF; keeplite follows the interface's VRF (its vmac or ipvlan joins it, adverts use the VRF's routes)"
        }
        "vrrp_iptables" | "vrrp_ipsets" | "nftables" | "nftables_priority" | "nftables_counters" | "nftables_ifindex"
        | "nftables_ipvs" | "nftables_ipvs_priority" | "nftables_ipvs_start_fwmark" | "disable_local_igmp" => {
            "keeplite installs no firewall rules"
        }
        "net_namespace" | "net_namespace_ipvs" | "namespace_with_ipsets" => {
            "run keeplite itself in the namespace (ip netns exec NAME keeplite run)"
        }
        "startup_script" | "startup_script_timeout" | "shutdown_script" | "shutdown_script_timeout" => {
            "keeplite runs no start-up or shut-down script: run it from the init script"
        }
        "lvs_flush" | "lvs_flush_on_stop" => "keeplite never flushes the IPVS table: it manages only the services it declares",
        "lvs_timeouts" => "keeplite does not set IPVS timeouts: use ipvsadm --set",
        "linkbeat_interfaces" | "linkbeat_use_polling" => "keeplite follows links through netlink only",
        "instance" | "reload_check_config" | "reload_time_file" | "reload_repeat" | "reload_file" | "data_use_instance"
        | "umask" | "include_check" => "a keepalived process or reload setting; keeplite has none",
        "garp_group" | "garp_lower_prio_delay" | "vrrp_garp_lower_prio_delay" | "garp_extra_if" | "vrrp_garp_extra_if" | "garp_master_refresh_repeat"
        | "vrrp_garp_master_refresh_repeat" => "keeplite has no such gratuitous ARP setting",
        "dont_track_primary" | "track_src_ip" | "down_timer_adverts" | "vrrp_down_timer_adverts" | "higher_prio_send_advert" | "vrrp_higher_prio_send_advert"
        | "old_unicast_checksum" | "log_unknown_vrids" | "use_vmac_addr" | "vmac_xmit_base"
        | "vmac_prefix" | "vmac_addr_prefix" | "default_interface" | "notify_master_rx_lower_pri"
        | "notify_deleted" | "track_group" | "global_tracking" | "no_email_faults" | "rs_init_notifies" => {
            "keeplite has no equivalent"
        }
        "bind_port" | "bind_if" | "fwmark" | "log_all_failures" | "checker_log_all_failures" | "no_checker_emails" => {
            "keeplite's checks have no such setting"
        }
        "warmup" => "keeplite spreads the first checks itself; no setting",
        // Carried in a checker; anywhere else keepalived does not read it.
        "nb_get_retry" => {
            "keepalived reads nb_get_retry (the old name of retry) only in HTTP_GET and SSL_GET, and ignores it here, as the import does: write retry"
        }
        "http_protocol" => "keeplite's http checks always send HTTP/1.1 with Connection: close",
        "fast_recovery" => "keeplite has one URL per check, each checked at its own interval",
        "regex" | "regex_no_match" | "regex_options" | "regex_stack" | "regex_min_offset" | "regex_max_offset" => {
            "keeplite's http checks match status codes and an MD5 digest, not a regular expression"
        }
        "ha_suspend" => "keeplite checks real servers whether or not the virtual address is present",
        "persistence_engine" => "keeplite has no IPVS persistence engine",
        "flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback" | "mh-port" | "mh-fallback" => {
            "keeplite sets no IPVS scheduler flags"
        }
        "sorry_server_inhibit" | "sorry_server_lvs_method" => "keeplite's sorry server takes no options",
        "quorum_max" => "keeplite has no quorum_max",
        _ if known(kw) => "keeplite has no equivalent",
        _ => "keepalived does not know this keyword here either (a typo?); it ignores it",
    };
    r.to_owned()
}

/// keepalived keywords its manual documents: those the import carries (a carried keyword
/// in the wrong block is still keepalived's), and the others without a reason of their own.
fn known(kw: &str) -> bool {
    super::MAPPED.contains(&kw) || KNOWN.contains(&kw)
}

const KNOWN: &[&str] = &[
    "ca",
    "certificate",
    "checker",
    "debug",
    "dynamic",
    "file",
    "garp_interval",
    "gna_interval",
    "hoplimit",
    "idle_tx",
    "init_fail",
    "init_file",
    "interfaces",
    "max_hops",
    "max_reply_length",
    "min_reply_length",
    "min_rx",
    "min_tx",
    "multihop",
    "multiplier",
    "name",
    "neighbor_ip",
    "neighbour_ip",
    "passive",
    "password",
    "payload",
    "require_reply",
    "source_ip",
    "SSL",
    "timer_expired_backup",
    "tls_compliant",
    "ttl",
    "type",
    "vrrp",
];

#[cfg(test)]
mod tests {
    use super::{process_setting, why};

    #[test]
    fn reasons_name_the_missing_feature_or_a_typo() {
        assert!(why("linkbeat_use_polling").contains("netlink"));
        assert!(why("enable_snmp_vrrp").contains("out of scope"));
        assert!(why("priorty").contains("typo"));
        assert_eq!(why("timer_expired_backup"), "keeplite has no equivalent");
        assert!(why("notify_priority_changes").contains("per instance"));
    }

    #[test]
    fn no_keyword_of_keepalived_24_is_taken_for_a_typo() {
        let manual = include_str!("../../../tests/fixtures/import/keywords-2.4.txt");
        let typos: Vec<&str> = manual
            .lines()
            .filter(|l| !l.starts_with('#'))
            .flat_map(str::split_whitespace)
            .filter(|kw| !process_setting(kw) && why(kw).contains("typo"))
            .collect();
        assert!(typos.is_empty(), "{typos:?}");
        assert_eq!(why("v3_checksum_as_v2").split(':').next(), Some("keeplite always puts the IP pseudo-header in the checksum of version 3 adverts, IPv4 too (keepalived's default)"));
    }
}
