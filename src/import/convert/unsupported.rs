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
        "virtual_routes" | "virtual_rules" | "static_routes" | "static_rules" | "static_ipaddress" => {
            "keeplite does not manage routes, rules or static addresses yet (issue 16, item 1)"
        }
        "track_file" => {
            "keeplite tracks files in real servers' file checks (FILE_CHECK) only, not in VRRP instances yet (issue 16, item 2)"
        }
        "vrrp_track_process" | "track_process" => "keeplite has no process tracking yet (issue 16, item 2)",
        "BFD_CHECK" | "bfd_instance" | "track_bfd" => "keeplite has no BFD",
        "unicast_ttl" | "mcast_dst_ip" | "vrrp_mcast_group4" | "vrrp_mcast_group6" | "check_unicast_src"
        | "vrrp_check_unicast_src" | "notify_priority_changes" | "vrrp_notify_priority_changes" | "omega" => {
            "not in keeplite yet (issue 16, item 3)"
        }
        "notify_fifo" | "notify_fifo_script" | "vrrp_notify_fifo" | "vrrp_notify_fifo_script" | "lvs_notify_fifo"
        | "lvs_notify_fifo_script" | "fifo_write_vrrp_states_on_reload" => {
            "keeplite has no notify FIFO yet (issue 16, item 4); notify scripts and the status socket remain"
        }
        "enable_snmp_vrrp" | "enable_snmp_checker" | "enable_snmp_rfc" | "enable_snmp_rfcv2" | "enable_snmp_rfcv3"
        | "enable_traps" | "snmp_socket" | "snmp_name" => "keeplite has no SNMP (out of scope); use its status socket",
        "enable_dbus" | "dbus_service_name" => "keeplite has no DBus (out of scope); use its status socket",
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
        | "old_unicast_checksum" | "log_unknown_vrids" | "promote_secondaries" | "use_vmac_addr" | "vmac_xmit_base"
        | "use_ipvlan" | "vrf" | "vmac_prefix" | "vmac_addr_prefix" | "default_interface" | "notify_master_rx_lower_pri"
        | "notify_deleted" | "track_group" | "global_tracking" | "no_email_faults" | "rs_init_notifies" => {
            "keeplite has no equivalent"
        }
        "bind_port" | "bind_if" | "fwmark" | "log_all_failures" | "checker_log_all_failures" | "no_checker_emails" => {
            "keeplite's checks have no such setting"
        }
        "warmup" => "keeplite spreads the first checks itself; no setting",
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

/// keepalived keywords its manual documents (those the import handles are listed too: a
/// handled keyword in the wrong block is still keepalived's).
fn known(kw: &str) -> bool {
    KNOWN.contains(&kw)
}

const KNOWN: &[&str] = &[
    "accept",
    "advert_int",
    "alpha",
    "auth_pass",
    "auth_type",
    "authentication",
    "bindto",
    "connect_ip",
    "connect_port",
    "connect_timeout",
    "debug",
    "delay",
    "delay_before_retry",
    "delay_loop",
    "digest",
    "dynamic",
    "dynamic_interfaces",
    "enable_script_security",
    "enable_sni",
    "fall",
    "garp_interval",
    "garp_master_delay",
    "garp_master_refresh",
    "garp_master_repeat",
    "global_defs",
    "gna_interval",
    "group",
    "helo_name",
    "host",
    "hysteresis",
    "inhibit_on_failure",
    "init_fail",
    "interface",
    "interface_up_down_delays",
    "interfaces",
    "interval",
    "ip_family",
    "lb_algo",
    "lb_kind",
    "lthreshold",
    "lvs_method",
    "lvs_sched",
    "lvs_sync_daemon",
    "lvs_sync_daemon_interface",
    "mcast_src_ip",
    "misc_dynamic",
    "misc_path",
    "misc_timeout",
    "name",
    "native_ipv6",
    "nb_get_retry",
    "no_accept",
    "nopreempt",
    "notification_email",
    "notification_email_from",
    "notify",
    "notify_backup",
    "notify_down",
    "notify_fault",
    "notify_master",
    "notify_stop",
    "notify_up",
    "ops",
    "password",
    "path",
    "payload",
    "persistence_granularity",
    "persistence_timeout",
    "preempt",
    "preempt_delay",
    "priority",
    "protocol",
    "quorum",
    "quorum_down",
    "quorum_up",
    "real_server",
    "require_reply",
    "min_reply_length",
    "max_reply_length",
    "retry",
    "rise",
    "router_id",
    "script",
    "script_user",
    "skip_check_adv_addr",
    "smtp_alert",
    "smtp_alert_checker",
    "smtp_alert_vrrp",
    "smtp_connect_timeout",
    "smtp_helo_name",
    "smtp_server",
    "sorry_server",
    "state",
    "status_code",
    "strict_mode",
    "sync_group_tracking_weight",
    "timeout",
    "tls_compliant",
    "track_interface",
    "track_script",
    "type",
    "unicast_fault_no_peer",
    "unicast_peer",
    "unicast_src_ip",
    "url",
    "use_vmac",
    "user",
    "uthreshold",
    "version",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "virtual_router_id",
    "virtual_server",
    "virtual_server_group",
    "virtualhost",
    "vrrp_garp_interval",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_repeat",
    "vrrp_gna_interval",
    "vrrp_instance",
    "vrrp_min_garp",
    "vrrp_script",
    "vrrp_skip_check_adv_addr",
    "vrrp_startup_delay",
    "vrrp_sync_group",
    "vrrp_version",
    "weight",
    "SSL",
    "SSL_GET",
    "HTTP_GET",
    "TCP_CHECK",
    "SMTP_CHECK",
    "MISC_CHECK",
    "ca",
    "certificate",
    "key",
    "auth_hmac",
    "sni_name",
    "vrrp_delay_after_boot",
    "neighbor_ip",
    "source_ip",
    "min_rx",
    "min_tx",
    "idle_tx",
    "multiplier",
    "passive",
    "ttl",
    "max_hops",
    "hoplimit",
];

#[cfg(test)]
mod tests {
    use super::why;

    #[test]
    fn reasons_name_the_missing_feature_or_a_typo() {
        assert!(why("virtual_routes").contains("routes"));
        assert!(why("enable_snmp_vrrp").contains("out of scope"));
        assert!(why("priorty").contains("typo"));
        assert_eq!(why("auth_hmac"), "keeplite has no equivalent");
    }
}
