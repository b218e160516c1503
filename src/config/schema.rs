//! The interface: every section type and option keeplite accepts, and which are lists.
//!
//! Typed reading (`build`) gives options their meaning; this table is what makes unknown
//! names errors with a "did you mean" hint, and what the docs are checked against.

/// One option of a section type.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    pub name: &'static str,
    /// Takes several values (`list` lines, or several quoted words in the flat form).
    pub list: bool,
}

/// One section type and its options.
#[derive(Debug, Clone, Copy)]
pub struct SectionSpec {
    pub kind: &'static str,
    pub options: &'static [OptionSpec],
}

impl SectionSpec {
    /// The option called `name`.
    pub fn option(&self, name: &str) -> Option<&'static OptionSpec> {
        self.options.iter().find(|o| o.name == name)
    }
}

const fn one(name: &'static str) -> OptionSpec {
    OptionSpec { name, list: false }
}

const fn list(name: &'static str) -> OptionSpec {
    OptionSpec { name, list: true }
}

const NOTIFY: [OptionSpec; 6] = [
    one("notify"),
    one("notify_master"),
    one("notify_backup"),
    one("notify_fault"),
    one("notify_stop"),
    one("smtp_alert"),
];

/// Every section type, in the order the effective configuration is printed.
pub const SECTIONS: &[SectionSpec] = &[
    SectionSpec {
        kind: "global",
        options: &[
            one("router_id"),
            list("alert_email"),
            one("smtp_server"),
            one("smtp_from"),
            one("smtp_helo_name"),
            one("smtp_timeout"),
            one("status_socket"),
            one("pid_file"),
            one("log_level"),
            one("lvs_sync_interface"),
            one("lvs_sync_instance"),
            one("lvs_sync_id"),
            one("lvs_keep_on_stop"),
            one("lvs_reconcile_interval"),
            one("startup_delay"),
            list("static_address"),
            one("script_user"),
            one("mcast_group4"),
            one("mcast_group6"),
        ],
    },
    SectionSpec {
        kind: "vrrp",
        options: &[
            one("interface"),
            one("vrid"),
            one("priority"),
            one("version"),
            one("advert_int"),
            list("vip"),
            one("state"),
            one("preempt"),
            one("preempt_delay"),
            one("src_ip"),
            list("unicast_peer"),
            one("unicast_ttl"),
            one("min_ttl"),
            one("max_ttl"),
            one("check_unicast_src"),
            one("mcast_dst_ip"),
            list("track_interface"),
            list("track_script"),
            list("track_file"),
            list("track_process"),
            list("track_bfd"),
            one("auth_pass"),
            list("auth_hmac_key"),
            one("auth_hmac_active_key"),
            one("auth_hmac_mode"),
            one("auth_hmac_anti_replay"),
            one("auth_hmac_window"),
            one("accept"),
            one("strict_mode"),
            one("lower_prio_no_advert"),
            one("garp_repeat"),
            one("garp_lower_prio_repeat"),
            one("garp_interval"),
            one("garp_delay"),
            one("garp_refresh"),
            one("use_vmac"),
            one("use_ipvlan"),
            one("ipvlan_mode"),
            one("ipvlan_address"),
            one("promote_secondaries"),
            one("up_delay"),
            one("down_delay"),
            one("notify_priority_changes"),
            NOTIFY[0],
            NOTIFY[1],
            NOTIFY[2],
            NOTIFY[3],
            NOTIFY[4],
            NOTIFY[5],
        ],
    },
    SectionSpec {
        kind: "sync_group",
        options: &[list("members"), NOTIFY[0], NOTIFY[1], NOTIFY[2], NOTIFY[3], NOTIFY[4], NOTIFY[5]],
    },
    SectionSpec {
        kind: "script",
        options: &[
            one("command"),
            one("interval"),
            one("timeout"),
            one("weight"),
            one("rise"),
            one("fall"),
            one("user"),
        ],
    },
    SectionSpec {
        kind: "virtual_server",
        options: &[
            one("address"),
            one("fwmark"),
            list("port"),
            one("family"),
            one("protocol"),
            one("scheduler"),
            one("forward"),
            one("tunnel_type"),
            one("tunnel_port"),
            one("tunnel_csum"),
            one("persistence_timeout"),
            one("persistence_netmask"),
            one("sorry_server"),
            one("quorum"),
            one("hysteresis"),
            one("quorum_up"),
            one("quorum_down"),
            one("inhibit_on_failure"),
            one("delay_loop"),
            one("alpha"),
            one("omega"),
            one("ops"),
            one("host"),
            one("smtp_alert"),
        ],
    },
    SectionSpec {
        kind: "real_server",
        options: &[
            list("virtual_server"),
            one("address"),
            one("port"),
            one("weight"),
            one("forward"),
            one("uthreshold"),
            one("lthreshold"),
            list("check"),
            one("notify_up"),
            one("notify_down"),
            one("inhibit_on_failure"),
        ],
    },
    SectionSpec {
        kind: "check",
        options: &[
            one("type"),
            one("connect_ip"),
            one("connect_port"),
            one("bind_ip"),
            one("interval"),
            one("timeout"),
            one("rise"),
            one("fall"),
            one("retry_delay"),
            one("path"),
            list("expect_status"),
            one("digest"),
            one("host"),
            one("sni"),
            one("verify"),
            one("ca_file"),
            one("helo_name"),
            one("command"),
            one("dynamic"),
            one("user"),
            one("payload"),
            one("payload_hex"),
            one("require_reply"),
            one("expect"),
            one("expect_hex"),
            one("dns_name"),
            one("dns_type"),
            one("dns_expect"),
            one("file"),
            one("process"),
            list("args"),
            one("param_match"),
            one("full_command"),
            one("quorum"),
            one("quorum_max"),
            one("fork_delay"),
            one("terminate_delay"),
            one("min_rx"),
            one("min_tx"),
            one("idle_tx"),
            one("multiplier"),
            one("passive"),
            one("ttl"),
            one("max_hops"),
            one("multihop"),
            one("weight"),
            one("reverse"),
        ],
    },
    SectionSpec {
        kind: "route",
        options: &[
            one("instance"),
            one("destination"),
            one("gateway"),
            one("dev"),
            one("src"),
            one("table"),
            one("metric"),
            one("type"),
            one("protocol"),
            one("scope"),
            one("onlink"),
        ],
    },
    SectionSpec {
        kind: "rule",
        options: &[
            one("instance"),
            one("family"),
            one("from"),
            one("to"),
            one("iif"),
            one("oif"),
            one("fwmark"),
            one("table"),
            one("priority"),
        ],
    },
];

/// The section type called `kind`.
pub fn section(kind: &str) -> Option<&'static SectionSpec> {
    SECTIONS.iter().find(|s| s.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::SECTIONS;

    /// docs/configuration.md has a `## kind` heading per section type, and under it a
    /// table row for every option of that type.
    #[test]
    fn reference_documents_every_option() {
        let doc = include_str!("../../docs/configuration.md");
        for spec in SECTIONS {
            let heading = format!("\n## {}\n", spec.kind);
            let start = doc.find(&heading).unwrap_or_else(|| panic!("no heading for {}", spec.kind));
            let rest = &doc[start + heading.len()..];
            let body = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
            for o in spec.options {
                let row = format!("\n| `{}` |", o.name);
                assert!(
                    body.contains(&row),
                    "docs/configuration.md: {}.{} has no table row",
                    spec.kind,
                    o.name
                );
            }
        }
    }
}
