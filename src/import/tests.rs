//! Whole imports in memory: keepalived text in, keeplite text and reports out, and the
//! keeplite text always loads with keeplite's own loader.

use super::files::Memory;
use super::{import, Imported};
use crate::config::{self, print, Host};
use proptest::prelude::*;

/// Imports `text` as /etc/keepalived/keepalived.conf (configuration id `a`); checks that
/// the result loads; returns the flat text (without the `keeplite.` prefix, for brevity)
/// and the reports without the file name.
fn run(text: &str) -> (String, Vec<String>) {
    let mut fs = Memory::new("/etc/keepalived");
    fs.add("/etc/keepalived/keepalived.conf", text);
    let done = import("keepalived.conf", "a", &fs).expect("readable");
    (loads(&done), done.reports.iter().map(|r| format!("{}: {}: {}", r.at.line, r.keyword, r.why)).collect())
}

fn loads(done: &Imported) -> String {
    let doc = done.output.document();
    let flat = print::flat(&doc);
    let outcome = config::parse(flat.as_bytes(), &Host { hostname: "test".into() });
    assert!(outcome.is_ok(), "the import does not load:\n{flat}\n{:?}", outcome.problems);
    let uci = print::uci(&doc);
    assert!(config::parse(uci.as_bytes(), &Host { hostname: "test".into() }).is_ok(), "UCI form:\n{uci}");
    flat.lines().map(|l| l.strip_prefix("keeplite.").unwrap_or(l)).collect::<Vec<_>>().join("\n") + "\n"
}

/// The lines of `out` that start with `prefix`.
fn with<'a>(out: &'a str, prefix: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.starts_with(prefix)).collect()
}

const INSTANCE: &str = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 150\n  virtual_ipaddress {\n    10.0.0.7/24\n  }\n";

#[test]
fn an_instance_keeps_keepalived_defaults_that_differ_from_keeplite() {
    let (out, reports) = run(&format!(
        "{INSTANCE}  state MASTER\n  nopreempt\n  advert_int 0.5\n  authentication {{\n    auth_type PASS\n    auth_pass longpassword\n  }}\n}}\n"
    ));
    assert_eq!(
        out,
        "VI_1=vrrp\nVI_1.interface='eth0'\nVI_1.vrid='51'\nVI_1.priority='150'\nVI_1.version='2'\n\
         VI_1.vip='10.0.0.7/24'\nVI_1.state='master'\nVI_1.preempt='0'\nVI_1.auth_pass='longpass'\n"
    );
    // Version 2 adverts count whole seconds: keeplite's loader refuses 500ms.
    assert_eq!(reports, vec![
        "10: advert_int: keeplite refuses VI_1.advert_int: 500ms is not a valid advert interval for version 2 (expected whole seconds 1s..255s); left out"
    ]);
}

#[test]
fn ipv6_instances_are_version_3_and_the_global_version_applies() {
    let (out, _) = run("vrrp_instance V6 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  2001:db8::7/64\n }\n}\n");
    assert_eq!(with(&out, "V6.version"), vec!["V6.version='3'"]);
    let (out, _) = run(&format!("global_defs {{\n vrrp_version 3\n}}\n{INSTANCE}}}\n"));
    assert_eq!(with(&out, "VI_1.version"), vec!["VI_1.version='3'"]);
    let (out, reports) = run(&format!("{INSTANCE} version 3\n authentication {{\n  auth_pass x\n }}\n}}\n"));
    assert!(with(&out, "VI_1.auth_pass").is_empty());
    assert_eq!(
        reports,
        vec!["10: auth_pass: keepalived ignores authentication with VRRP version 3, and so does the import"]
    );
}

#[test]
fn global_garp_settings_become_each_instances() {
    let (out, _) = run(&format!(
        "global_defs {{\n vrrp_garp_master_repeat 2\n vrrp_garp_master_refresh 60\n vrrp_garp_interval 0.01\n}}\n{INSTANCE} garp_master_repeat 3\n}}\n"
    ));
    assert_eq!(
        with(&out, "VI_1.garp"),
        vec!["VI_1.garp_repeat='3'", "VI_1.garp_interval='10ms'", "VI_1.garp_refresh='60s'"]
    );
    let (out, _) = run(&format!("global_defs {{\n vrrp_min_garp\n}}\n{INSTANCE}}}\n"));
    assert_eq!(with(&out, "VI_1.garp"), vec!["VI_1.garp_repeat='1'", "VI_1.garp_delay='0s'"]);
}

#[test]
fn tracking_carries_weights_but_not_reverse() {
    let (out, reports) = run(&format!(
        "vrrp_script chk {{\n script \"pidof x\"\n weight -20 reverse\n}}\nvrrp_script plain {{\n script true\n}}\n\
         {INSTANCE} track_interface {{\n  eth1\n  eth2 weight 10\n  eth3 weight -5 reverse\n }}\n track_script {{\n  chk\n  plain weight 0\n  none\n }}\n}}\n"
    ));
    assert_eq!(
        with(&out, "VI_1.track"),
        vec!["VI_1.track_interface='eth1' 'eth2:10' 'eth3:-5'", "VI_1.track_script='chk' 'plain:0'"]
    );
    assert_eq!(with(&out, "chk."), vec!["chk.command='pidof x'", "chk.weight='-20'"]);
    assert_eq!(
        reports,
        vec![
            "3: reverse: keeplite has no reversed weights",
            "18: reverse: keeplite has no reversed weights",
            "23: none: no vrrp_script with a script has this name; keepalived ignores it too",
        ]
    );
}

#[test]
fn sync_group_members_lose_weights_as_in_keepalived() {
    let group = "vrrp_sync_group G {\n group {\n  VI_1\n }\n notify_master \"/bin/g master\"\n}\n";
    let src = format!(
        "vrrp_script chk {{\n script true\n weight 10\n}}\n{group}{INSTANCE} track_script {{\n  chk\n }}\n track_interface {{\n  eth1 weight 5\n }}\n}}\n"
    );
    let (out, reports) = run(&src);
    assert_eq!(with(&out, "VI_1.track"), vec!["VI_1.track_interface='eth1'"]);
    assert_eq!(with(&out, "G."), vec!["G.members='VI_1'", "G.notify_master='/bin/g master'"]);
    assert_eq!(reports.len(), 2, "{reports:?}");
    let kept = src.replace(" group {", " sync_group_tracking_weight\n group {");
    let (out, reports) = run(&kept);
    assert_eq!(with(&out, "VI_1.track"), vec!["VI_1.track_interface='eth1:5'", "VI_1.track_script='chk'"]);
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn notify_commands_and_their_users() {
    let (out, reports) = run(&format!(
        "global_defs {{\n script_user nobody\n}}\n{INSTANCE} notify_master \"/bin/x 'a b'\" nobody\n notify_backup /bin/y root\n notify /bin/z\n}}\n"
    ));
    assert_eq!(
        with(&out, "VI_1.notify"),
        vec![
            "VI_1.notify='/bin/z'",
            "VI_1.notify_master='/bin/x '\\''a b'\\'''",
            "VI_1.notify_backup='/bin/y'"
        ]
    );
    assert_eq!(reports, vec![
        "12: notify_backup: keeplite runs this command as global script_user, not as 'root'; the user is not carried over"
    ]);
}

#[test]
fn mail_alerts_follow_keepalived_defaults() {
    let mail = "global_defs {\n notification_email {\n  noc@example.org\n  acassen\n }\n smtp_server 192.0.2.25 2525\n}\n";
    let vs = "virtual_server 10.0.0.7 80 {\n protocol TCP\n real_server 10.0.0.1 80 {\n  TCP_CHECK {\n   connect_timeout 2\n  }\n }\n}\n";
    let (out, reports) = run(&format!("{mail}{INSTANCE} smtp_alert\n}}\n{vs}"));
    assert_eq!(
        with(&out, "main."),
        vec!["main.alert_email='noc@example.org'", "main.smtp_server='192.0.2.25:2525'"]
    );
    assert_eq!(with(&out, "VI_1.smtp_alert"), vec!["VI_1.smtp_alert='1'"]);
    // keepalived mails about real servers unless told not to.
    assert_eq!(with(&out, "vs_10_0_0_7_80.smtp_alert"), vec!["vs_10_0_0_7_80.smtp_alert='1'"]);
    assert_eq!(reports, vec![
        "2: notification_email: 'acassen' is not an e-mail address keeplite accepts (user@host); no alert goes to it"
    ]);
    let quiet = mail.replace(" smtp_server", " smtp_alert_checker off\n smtp_server");
    let (out, _) = run(&format!("{quiet}{vs}"));
    assert!(with(&out, "vs_10_0_0_7_80.smtp_alert").is_empty());
    // Without a server nothing can be mailed, by either.
    let (out, reports) = run(&format!("{INSTANCE} smtp_alert\n}}\n{vs}"));
    assert!(!out.contains("smtp_alert"));
    assert!(reports.is_empty());
}

#[test]
fn unicast_peers_delays_and_sync_daemon() {
    let (out, reports) = run(&format!(
        "global_defs {{\n lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400\n}}\ninterface_up_down_delays {{\n eth0 2 1\n eth9 1\n}}\n\
         {INSTANCE} unicast_src_ip 10.0.0.1\n unicast_peer {{\n  10.0.0.2 min_ttl 250\n  10.0.0.3\n }}\n}}\n"
    ));
    assert_eq!(
        with(&out, "main."),
        vec!["main.lvs_sync_interface='eth1'", "main.lvs_sync_instance='VI_1'", "main.lvs_sync_id='7'"]
    );
    assert_eq!(with(&out, "VI_1.unicast_peer"), vec!["VI_1.unicast_peer='10.0.0.2' '10.0.0.3'"]);
    assert_eq!(with(&out, "VI_1.up_delay"), vec!["VI_1.up_delay='1s'"]);
    assert_eq!(with(&out, "VI_1.down_delay"), vec!["VI_1.down_delay='2s'"]);
    assert_eq!(reports, vec![
        "2: lvs_sync_daemon maxlen: keeplite's sync daemon takes only an interface, an instance and an id",
        "6: eth9: keeplite has up and down delays only for an instance's own interface; no instance runs on this one",
        "17: min_ttl: keeplite has one TTL range for all of an instance's peers: 1..255, the peers' ranges joined",
    ]);
    // 10.0.0.3 has keepalived's whole range; a range turns the source check on.
    assert_eq!(with(&out, "VI_1.min_ttl"), vec!["VI_1.min_ttl='1'"]);
    assert!(with(&out, "VI_1.max_ttl").is_empty());
    assert!(with(&out, "VI_1.check_unicast_src").is_empty());
}

#[test]
fn routed_unicast_groups_and_priority_notifications() {
    // keepalived's unicast defaults: any TTL, any source; written out, as keeplite's differ.
    let peers = "  unicast_src_ip 10.0.0.1\n  unicast_peer {\n    10.0.0.2\n  }\n";
    let (out, reports) = run(&format!("{INSTANCE}{peers}  unicast_ttl 64\n  notify_priority_changes\n}}\n"));
    assert_eq!(
        with(&out, "VI_1."),
        vec![
            "VI_1.interface='eth0'",
            "VI_1.vrid='51'",
            "VI_1.priority='150'",
            "VI_1.version='2'",
            "VI_1.vip='10.0.0.7/24'",
            "VI_1.src_ip='10.0.0.1'",
            "VI_1.unicast_peer='10.0.0.2'",
            "VI_1.unicast_ttl='64'",
            "VI_1.min_ttl='1'",
            "VI_1.check_unicast_src='0'",
            "VI_1.notify_priority_changes='1'",
        ]
        .into_iter()
        .filter(|l| out.contains(l))
        .collect::<Vec<_>>()
    );
    for line in [
        "VI_1.unicast_ttl='64'",
        "VI_1.min_ttl='1'",
        "VI_1.check_unicast_src='0'",
        "VI_1.notify_priority_changes='1'",
    ] {
        assert!(out.contains(line), "{line} missing from\n{out}");
    }
    assert!(reports.is_empty(), "{reports:?}");

    // The same ranges on every peer are exact; the source check is on, as asked globally.
    let ranged =
        "  unicast_peer {\n    10.0.0.2 min_ttl 200 max_ttl 254\n    10.0.0.3 max_ttl 254 min_ttl 200\n  }\n";
    let (out, reports) = run(&format!(
        "global_defs {{\n  vrrp_check_unicast_src\n  vrrp_notify_priority_changes\n  vrrp_mcast_group4 224.0.0.118\n  vrrp_mcast_group6 ff02::1:12\n}}\n{INSTANCE}{ranged}}}\n"
    ));
    assert!(reports.is_empty(), "{reports:?}");
    assert_eq!(with(&out, "VI_1.min_ttl"), vec!["VI_1.min_ttl='200'"]);
    assert_eq!(with(&out, "VI_1.max_ttl"), vec!["VI_1.max_ttl='254'"]);
    assert!(with(&out, "VI_1.check_unicast_src").is_empty());
    assert_eq!(with(&out, "VI_1.notify_priority_changes"), vec!["VI_1.notify_priority_changes='1'"]);
    assert_eq!(
        with(&out, "main.mcast"),
        vec!["main.mcast_group4='224.0.0.118'", "main.mcast_group6='ff02::1:12'"]
    );

    // Without peers: the group counts, unicast_ttl is dropped as keepalived drops it, and a
    // group of the wrong family or no group at all is reported.
    let (out, reports) = run(&format!(
        "global_defs {{\n  vrrp_mcast_group4 ff02::12\n  vrrp_mcast_group6 10.0.0.1\n}}\n{INSTANCE}  mcast_dst_ip 239.1.1.1\n  unicast_ttl 3\n  check_unicast_src\n}}\n"
    ));
    assert_eq!(with(&out, "VI_1.mcast_dst_ip"), vec!["VI_1.mcast_dst_ip='239.1.1.1'"]);
    assert!(
        !out.contains("unicast_ttl") && !out.contains("mcast_group") && !out.contains("min_ttl"),
        "{out}"
    );
    assert_eq!(reports, vec![
        "2: vrrp_mcast_group4: a group of the other address family; ignored",
        "3: vrrp_mcast_group6: 10.0.0.1 is not a multicast address (a group in 224.0.0.0/4 or ff00::/8); ignored",
        "13: unicast_ttl: no unicast peers: keepalived ignores unicast_ttl then, and so does the import",
    ]);
}

#[test]
fn vips_with_options_and_duplicates() {
    let (out, reports) = run(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1 dev eth0 scope global\n  10.0.0.2 label eth0:1\n  10.0.0.1\n  bogus\n }\n virtual_ipaddress_excluded {\n  2001:db8::1/64\n }\n}\n",
    );
    assert_eq!(with(&out, "A.vip"), vec!["A.vip='10.0.0.1' '10.0.0.2 label eth0:1' '2001:db8::1/64'"]);
    assert_eq!(
        reports,
        vec![
            "7: 10.0.0.1: listed twice; keeplite takes each address once",
            "8: bogus: 'bogus' is not an address with prefix length; not carried over",
        ]
    );
}

#[test]
fn per_vip_options_routes_and_rules() {
    let (out, reports) = run(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1/24 dev eth0 label eth0:1\n  10.9.0.1 dev eth1 brd 10.9.0.255 scope link peer 10.9.0.2 no_track -nodad home\n }\n \
         virtual_routes {\n  src 10.0.0.1 to 10.1.0.0/16 via 10.0.0.254 dev eth0 table 100 metric 5 protocol static\n  blackhole 10.2.0.0/16\n  default via 2001:db8::1 or 2001:db8::2\n  local 10.3.0.1\n }\n \
         virtual_rules {\n  from 10.0.0.0/24 table 100 priority 100\n  from all fwmark 0x10/0xff lookup 200 no_track\n  to 10.4.0.0/16 goto 5\n }\n}\n\
         static_routes {\n 192.0.2.0/24 via 198.51.100.1 dev eth9 onlink\n}\nstatic_rules {\n iif eth9 table 300\n}\n",
    );
    assert_eq!(
        with(&out, "A.vip"),
        vec!["A.vip='10.0.0.1/24 label eth0:1' '10.9.0.1 dev eth1 brd 10.9.0.255 scope link peer 10.9.0.2 no_track'"]
    );
    for line in [
        "A_route1=route",
        "A_route1.instance='A'",
        "A_route1.destination='10.1.0.0/16'",
        "A_route1.src='10.0.0.1'",
        "A_route1.gateway='10.0.0.254'",
        "A_route1.table='100'",
        "A_route1.metric='5'",
        "A_route1.protocol='4'",
        "A_route2.type='blackhole'",
        "A_route3.destination='::/0'",
        "A_rule1.from='10.0.0.0/24'",
        "A_rule1.priority='100'",
        "A_rule2.fwmark='0x10/0xff'",
        "A_rule2.table='200'",
        "static_route1.onlink='1'",
        "static_rule1.iif='eth9'",
    ] {
        assert!(out.lines().any(|l| l == line), "{line} not in\n{out}");
    }
    assert!(!out.contains("A_route4") && !out.contains("A_rule3"), "{out}");
    assert_eq!(reports, vec![
        "6: home: keeplite does not set this address flag; the address is carried over without it",
        "11: or 2001:db8::2: keeplite has no multipath routes; only the first gateway is carried over",
        "12: local: keeplite holds unicast, blackhole, unreachable and prohibit routes only; line not carried over",
        "17: goto: not a rule option keeplite has (it holds lookup rules: from, to, iif, oif, fwmark, table, priority); line not carried over",
    ]);
}

#[test]
fn virtual_servers_with_keepalived_defaults() {
    let (out, reports) = run(
        "virtual_server fwmark 3 {\n protocol TCP\n persistence_timeout\n lb_kind TUN type gue port 6080 csum\n sorry_server 2001:db8::9 80\n \
         real_server 10.0.0.1 {\n  weight 3\n }\n}\n\
         virtual_server 10.0.0.7 53 {\n protocol UDP\n ops\n lb_algo WRR\n omega\n real_server 10.0.0.1 5353 {\n  lvs_method DR\n }\n}\n",
    );
    assert_eq!(
        with(&out, "fwm_3."),
        vec![
            "fwm_3.fwmark='3'",
            "fwm_3.forward='tun'",
            "fwm_3.tunnel_type='gue'",
            "fwm_3.tunnel_port='6080'",
            "fwm_3.tunnel_csum='csum'",
            "fwm_3.persistence_timeout='360s'",
            "fwm_3.sorry_server='[2001:db8::9]:80'",
        ]
    );
    assert_eq!(with(&out, "vs_10_0_0_7_53_udp.scheduler"), vec!["vs_10_0_0_7_53_udp.scheduler='wrr'"]);
    assert_eq!(with(&out, "vs_10_0_0_7_53_udp.omega"), vec!["vs_10_0_0_7_53_udp.omega='1'"]);
    assert_eq!(reports[0], "2: protocol: a firewall-mark service has no protocol; keepalived ignores it too");
    // keeplite's loader refuses a port change with dr, and says why.
    assert!(
        reports[1].starts_with("15: real_server: keeplite refuses rs_10_0_0_1_5353.port: "),
        "{reports:?}"
    );
    assert_eq!(reports.len(), 2);
}

#[test]
fn checkers_share_sections_and_keep_keepalived_retries() {
    let rs = |ip: &str| {
        format!(
            "real_server {ip} 80 {{\n  HTTP_GET {{\n   url {{\n    path /a\n    status_code 200 300-399\n   }}\n   url {{\n    path /b\n    digest 9B3A0C85A887A256D6939DA88AABD8CD\n   }}\n   connect_timeout 3\n  }}\n  MISC_CHECK {{\n   misc_path \"/bin/check {ip}\"\n   misc_dynamic\n  }}\n }}\n"
        )
    };
    let (out, reports) = run(&format!(
        "virtual_server 10.0.0.7 80 {{\n protocol TCP\n delay_loop 10\n retry 2\n{}{}}}\n",
        rs("10.0.0.1"),
        rs("10.0.0.2")
    ));
    assert_eq!(
        with(&out, "rs_10_0_0_1_80.check"),
        vec!["rs_10_0_0_1_80.check='http_get' 'http_get_2' 'misc_check'"]
    );
    assert_eq!(
        with(&out, "rs_10_0_0_2_80.check"),
        vec!["rs_10_0_0_2_80.check='http_get' 'http_get_2' 'misc_check_2'"]
    );
    assert_eq!(
        with(&out, "http_get."),
        vec![
            "http_get.type='http'",
            "http_get.timeout='3s'",
            "http_get.fall='3'",
            "http_get.path='/a'",
            "http_get.expect_status='200' '300-399'",
        ]
    );
    assert_eq!(with(&out, "http_get_2.digest"), vec!["http_get_2.digest='9b3a0c85a887a256d6939da88aabd8cd'"]);
    assert_eq!(
        with(&out, "misc_check."),
        vec![
            "misc_check.type='script'",
            "misc_check.timeout='9999ms'",
            "misc_check.fall='3'",
            "misc_check.command='/bin/check 10.0.0.1'",
            "misc_check.dynamic='1'",
        ]
    );
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn every_checker_block_is_carried_or_reported_even_empty() {
    let (out, reports) = run(
        "virtual_server 10.0.0.7 53 {\n protocol UDP\n real_server 10.0.0.1 53 {\n  PING_CHECK {\n  }\n  UDP_CHECK {\n  }\n  DNS_CHECK {\n  }\n  BFD_CHECK {\n  }\n  nb_get_retry 3\n  TCP_CHECK {\n   nb_get_retry 3\n  }\n }\n}\n",
    );
    assert!(out.contains("rs_10_0_0_1_53=real_server"), "{out}");
    // `PING_CHECK { }` is a whole check with keepalived's defaults, not an empty block.
    assert_eq!(
        with(&out, "rs_10_0_0_1_53.check"),
        vec!["rs_10_0_0_1_53.check='ping_check' 'udp_check' 'dns_check' 'tcp_check'"]
    );
    assert_eq!(with(&out, "tcp_check.fall"), vec!["tcp_check.fall='2'"]);
    let retry = "nb_get_retry: keepalived reads nb_get_retry (the old name of retry) only in HTTP_GET and SSL_GET, and ignores it here, as the import does: write retry";
    assert_eq!(
        reports,
        vec![
            "10: BFD_CHECK: no name; keepalived ignores the checker, and so does the import".to_owned(),
            format!("12: {retry}"),
            format!("14: {retry}"),
        ]
    );
}

#[test]
fn checks_past_the_limit_are_reported_under_their_checker() {
    let (out, reports) = run(
        "virtual_server 10.0.0.7 80 {\n protocol TCP\n real_server 10.0.0.1 80 {\n  TCP_CHECK {\n   connect_port 1\n  }\n  TCP_CHECK {\n   connect_port 2\n  }\n  TCP_CHECK {\n   connect_port 3\n  }\n  TCP_CHECK {\n   connect_port 4\n  }\n  MISC_CHECK {\n   misc_path /bin/true\n  }\n }\n}\n",
    );
    assert_eq!(
        with(&out, "rs_10_0_0_1_80.check"),
        vec!["rs_10_0_0_1_80.check='tcp_check' 'tcp_check_2' 'tcp_check_3' 'tcp_check_4'"]
    );
    assert_eq!(
        reports,
        vec!["16: MISC_CHECK: keeplite takes at most 4 checks per real server; 'misc_check' is left out"]
    );
}

#[test]
fn sni_name_is_the_checks_sni() {
    let (out, reports) = run(
        "virtual_server 10.0.0.7 443 {\n protocol TCP\n virtualhost www.example\n real_server 10.0.0.1 443 {\n  SSL_GET {\n   url {\n    path /\n   }\n   sni_name sni.example\n  }\n  SSL_GET {\n   url {\n    path /b\n   }\n   enable_sni\n  }\n  HTTP_GET {\n   url {\n    path /\n   }\n   sni_name x.example\n  }\n }\n}\n",
    );
    assert_eq!(with(&out, "ssl_get.sni"), vec!["ssl_get.sni='sni.example'"]);
    assert_eq!(with(&out, "ssl_get_2.sni"), vec!["ssl_get_2.sni='www.example'"]);
    assert_eq!(
        reports,
        vec!["21: sni_name: an HTTP_GET has no TLS handshake to send a name in; keepalived ignores it too"]
    );
}

#[test]
fn delay_after_boot_is_an_approximate_startup_delay() {
    let (out, reports) =
        run(&format!("global_defs {{\n vrrp_delay_after_boot 30\n vrrp_startup_delay 5\n}}\n{INSTANCE}}}\n"));
    assert_eq!(with(&out, "main.startup_delay"), vec!["main.startup_delay='30s'"]);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].starts_with("2: vrrp_delay_after_boot: carried approximately, as startup_delay"),
        "{reports:?}"
    );
    // The longer of the two, as keepalived; the last of each.
    let (out, _) = run(&format!(
        "global_defs {{\n vrrp_startup_delay 50\n vrrp_delay_after_boot 30\n vrrp_startup_delay 5\n}}\n{INSTANCE}}}\n"
    ));
    assert_eq!(with(&out, "main.startup_delay"), vec!["main.startup_delay='30s'"]);
}

#[test]
fn excluded_addresses_of_the_adverts_family_are_reported() {
    // The excluded block first: the vips still lead, and set the family.
    let (out, reports) = run(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress_excluded {\n  2001:db8::9/64\n  10.0.0.9/24\n }\n native_ipv6\n virtual_ipaddress {\n  10.0.0.7/24\n }\n}\n",
    );
    assert_eq!(with(&out, "VI_1.vip"), vec!["VI_1.vip='10.0.0.7/24' '2001:db8::9/64' '10.0.0.9/24'"]);
    assert_eq!(reports, vec![
        "6: virtual_ipaddress_excluded: 10.0.0.9 is of the adverts' family (IPv4): keeplite has no excluded list and carries it in its adverts, where keepalived leaves it out, so a keepalived peer sees a different address list",
        "8: native_ipv6: the first vip is IPv4; keeplite takes the family from the first vip",
    ]);
    let (_, reports) = run(&format!("{INSTANCE} virtual_ipaddress_excluded {{\n  2001:db8::9\n }}\n}}\n"));
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn timeouts_stay_under_the_interval() {
    let (out, reports) = run(
        "virtual_server 10.0.0.7 80 {\n protocol TCP\n delay_loop 3\n real_server 10.0.0.1 80 {\n  TCP_CHECK {\n  }\n  SMTP_CHECK {\n   connect_timeout 4\n   helo_name x.example\n   host {\n    connect_ip 10.0.0.9\n    bindto 10.0.0.2\n   }\n  }\n }\n}\n",
    );
    assert_eq!(with(&out, "tcp_check.timeout"), vec!["tcp_check.timeout='2999ms'"]);
    assert_eq!(
        with(&out, "smtp_check."),
        vec![
            "smtp_check.type='smtp'",
            "smtp_check.connect_ip='10.0.0.9'",
            "smtp_check.bind_ip='10.0.0.2'",
            "smtp_check.timeout='2999ms'",
            "smtp_check.fall='2'",
            "smtp_check.helo_name='x.example'",
        ]
    );
    assert_eq!(reports, vec![
        "8: connect_timeout: 4s is not shorter than the check's interval (3s), which keeplite requires; 2999ms is used"
    ]);
}

#[test]
fn a_virtual_server_group_is_one_section_per_entry() {
    let (out, reports) = run(
        "virtual_server_group G {\n 10.0.0.1-3 80\n fwmark 9\n bogus 1\n}\nvirtual_server group G {\n protocol TCP\n real_server 10.0.0.10 80 {\n }\n}\n",
    );
    let names: Vec<&str> = out.lines().filter(|l| l.ends_with("=virtual_server")).collect();
    assert_eq!(
        names,
        vec![
            "vs_10_0_0_1_80=virtual_server",
            "vs_10_0_0_2_80=virtual_server",
            "vs_10_0_0_3_80=virtual_server",
            "fwm_9=virtual_server",
        ]
    );
    assert_eq!(
        with(&out, "rs_10_0_0_10_80.virtual_server"),
        vec!["rs_10_0_0_10_80.virtual_server='vs_10_0_0_1_80' 'vs_10_0_0_2_80' 'vs_10_0_0_3_80' 'fwm_9'"]
    );
    assert_eq!(reports, vec!["4: bogus: 'bogus' is not an IP address; ignored"]);
    // keepalived 2.4's other forms: a whole last address, an address block, an entry
    // without a port (every port, which makes the virtual server persistent). A mark's own
    // family is the section's (an IPv4 real server behind it needs tun).
    let (out, reports) = run(
        "virtual_server_group G {\n 10.0.0.1 80\n 10.0.0.250-10.0.1.2 80\n 10.0.0.8/29 80\n 10.0.0.9\n fwmark 7 inet6\n 10.0.0.1 80 90\n}\nvirtual_server group G {\n protocol TCP\n lb_kind TUN\n real_server 10.0.0.10 80 {\n }\n}\n",
    );
    assert_eq!(with(&out, "fwm_7.family"), vec!["fwm_7.family='ipv6'"]);
    assert_eq!(with(&out, "vs_10_0_1_2_80.address"), vec!["vs_10_0_1_2_80.address='10.0.1.2'"]);
    assert_eq!(with(&out, "vs_10_0_0_15_80.address"), vec!["vs_10_0_0_15_80.address='10.0.0.15'"]);
    assert!(with(&out, "vs_10_0_0_16_80.address").is_empty());
    assert_eq!(with(&out, "vs_10_0_0_9_0.port"), vec!["vs_10_0_0_9_0.port='0'"]);
    assert_eq!(
        with(&out, "vs_10_0_0_9_0.persistence_timeout"),
        vec!["vs_10_0_0_9_0.persistence_timeout='360s'"]
    );
    assert_eq!(reports, vec![
        "7: 10.0.0.1: takes IP [PORT], FIRST-LAST [PORT], IP/LEN [PORT] or fwmark N [inet|inet6]; ignored",
        "9: virtual_server: a service without a port takes every port, which the kernel schedules only when persistent: keepalived makes the virtual server persistent for its default 360 s, and so does the import",
    ]);
    // A range may end in a whole address (keepalived 2.4), across an octet; not backwards,
    // not across families, not longer than 256.
    let (out, reports) = run(
        "virtual_server_group W {\n 10.0.0.254-10.0.1.1 80\n 10.0.0.9-10.0.0.8 80\n 10.0.0.1-2001:db8::1 80\n 10.0.0.0-10.0.1.0 80\n}\nvirtual_server group W {\n protocol TCP\n real_server 10.0.0.10 80 {\n }\n}\n",
    );
    assert_eq!(
        with(&out, "rs_10_0_0_10_80.virtual_server"),
        vec!["rs_10_0_0_10_80.virtual_server='vs_10_0_0_254_80' 'vs_10_0_0_255_80' 'vs_10_0_1_0_80' 'vs_10_0_1_1_80'"]
    );
    assert_eq!(reports, vec![
        "3: 10.0.0.9-10.0.0.8: '10.0.0.9-10.0.0.8' is not an address range keeplite can expand (at most 256); ignored",
        "4: 10.0.0.1-2001:db8::1: '10.0.0.1-2001:db8::1' is not an address range keeplite can expand (at most 256); ignored",
        "5: 10.0.0.0-10.0.1.0: '10.0.0.0-10.0.1.0' is not an address range keeplite can expand (at most 256); ignored",
    ]);
    let (out, _) = run("virtual_server_group G6 {\n 2001:db8::a-b 80\n}\nvirtual_server group G6 {\n protocol TCP\n real_server 2001:db8::1 80 {\n }\n}\n");
    assert_eq!(
        with(&out, "rs_2001_db8__1_80.virtual_server"),
        vec!["rs_2001_db8__1_80.virtual_server='vs_2001_db8__a_80' 'vs_2001_db8__b_80'"]
    );
}

#[test]
fn what_keeplite_refuses_is_left_out_and_reported() {
    let (out, reports) = run("vrrp_instance A {\n interface eth0\n virtual_router_id 300\n virtual_ipaddress {\n  10.0.0.1\n }\n}\nvrrp_instance B {\n interface eth0\n virtual_router_id 3\n priority 0\n virtual_ipaddress {\n  10.0.0.2\n }\n}\n");
    assert!(!out.contains("A="), "{out}");
    assert!(out.contains("B=vrrp"), "{out}");
    assert_eq!(reports, vec![
        "1: vrrp_instance: keeplite refuses vrrp A: option 'vrid' is missing (expected vrid to be set); left out",
        "3: virtual_router_id: keeplite refuses A.vrid: 300 is out of range (expected 1..255); left out",
        "11: priority: keeplite refuses B.priority: 0 is out of range (expected 1..255); left out",
    ]);
}

#[test]
fn unknown_and_unsupported_keywords() {
    let (_, reports) = run(&format!(
        "{INSTANCE} priorty 5\n virtual_routes {{\n  10.1.0.0/16 via 10.0.0.254\n }}\n}}\nenable_snmp_vrrp\n"
    ));
    assert_eq!(
        reports,
        vec![
            "8: priorty: keepalived does not know this keyword here either (a typo?); it ignores it",
            "13: enable_snmp_vrrp: keeplite has no SNMP (out of scope); use its status socket",
        ]
    );
}

#[test]
fn includes_conditions_and_parameters_end_to_end() {
    let mut fs = Memory::new("/");
    fs.add(
        "/etc/keepalived/keepalived.conf",
        "$IF=eth0\n@a $PRIO=200\n@b $PRIO=100\ninclude conf.d/*.conf\n",
    )
    .add("/etc/keepalived/conf.d/vi.conf", "vrrp_instance VI { interface $IF\n virtual_router_id 9\n priority $PRIO\n virtual_ipaddress { 10.0.0.9/24 } }\n");
    let a = import("/etc/keepalived/keepalived.conf", "a", &fs).unwrap();
    let b = import("/etc/keepalived/keepalived.conf", "b", &fs).unwrap();
    assert!(loads(&a).contains("VI.priority='200'"));
    assert!(loads(&b).contains("VI.priority='100'"));
    assert!(loads(&a).contains("VI.interface='eth0'"));
    assert!(a.reports.is_empty(), "{:?}", a.reports);
}

#[test]
fn env_variables_are_taken_from_the_imports_environment_and_reported() {
    let mut fs = Memory::new("/");
    fs.add(
        "/etc/keepalived/keepalived.conf",
        "global_defs {\n router_id ${_ENV NODE}\n smtp_helo_name x${_ENV UNSET}\n}\n",
    )
    .set_env("NODE", "lb1");
    let done = import("/etc/keepalived/keepalived.conf", "a", &fs).unwrap();
    assert!(loads(&done).contains("main.router_id='lb1'"), "{}", loads(&done));
    let reports: Vec<String> =
        done.reports.iter().map(|r| format!("{}: {}: {}", r.at.line, r.keyword, r.why)).collect();
    assert_eq!(reports, vec![
        "2: ${_ENV NODE}: keepalived reads the variable from its environment at each reading; the import took the value in its own environment",
        "3: ${_ENV UNSET}: the variable is not set in the import's environment: replaced by nothing; keepalived reads it from its own environment at each reading",
    ]);
}

#[test]
fn an_unreadable_file_is_the_only_error() {
    let fs = Memory::new("/");
    assert_eq!(
        import("/none.conf", "a", &fs).unwrap_err(),
        "/none.conf: cannot read: No such file or directory"
    );
}

/// Text made of keepalived's syntax: keywords, braces, quotes, conditions, parameters,
/// repetitions, includes and comments, in any order.
fn keepalived_text() -> impl Strategy<Value = String> {
    let atoms = prop_oneof![
        Just("vrrp_instance VI {\n".to_owned()),
        Just("virtual_server 10.0.0.1 80 {\n".to_owned()),
        Just("virtual_server group G {\n".to_owned()),
        Just("virtual_server_group G { 10.0.0.1-5 80\n fwmark 1 }\n".to_owned()),
        Just("real_server 10.0.0.2 80 {\n".to_owned()),
        Just("HTTP_GET { url { path / status_code 200-299 } }\n".to_owned()),
        Just("SMTP_CHECK { host { connect_ip 10.0.0.3 } }\n".to_owned()),
        Just("MISC_CHECK { misc_path \"/bin/x 'a\" }\n".to_owned()),
        Just("vrrp_script s { script \"true\" weight -300 }\n".to_owned()),
        Just("vrrp_sync_group G { group { VI } }\n".to_owned()),
        Just("track_script { s weight 2 reverse }\n".to_owned()),
        Just(
            "global_defs { notification_email { a@b } smtp_server ::1 25 lvs_sync_daemon eth0 VI }\n"
                .to_owned()
        ),
        Just("interface eth0\nvirtual_router_id 1\nvirtual_ipaddress { 10.0.0.9/24 dev eth1 }\n".to_owned()),
        Just("}\n".to_owned()),
        Just("{\n".to_owned()),
        Just("@a ".to_owned()),
        Just("@^a ".to_owned()),
        Just("$X=priority 5\n".to_owned()),
        Just("$M= \\\n".to_owned()),
        Just("$X\n".to_owned()),
        Just("${X}\n".to_owned()),
        Just("$R=$R$R\n$R\n".to_owned()),
        Just("~SEQ(N, 1, 3) ".to_owned()),
        Just("~LST({A,B}, {1,2}) ".to_owned()),
        Just("include *.conf\n".to_owned()),
        Just("include /loop.conf\n".to_owned()),
        Just("\"unterminated\n".to_owned()),
        Just("! comment\n".to_owned()),
        Just("\\\n".to_owned()),
        "[ -~]{0,12}\n",
    ];
    proptest::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever the text, the import finishes without panicking and prints a
    /// configuration keeplite loads.
    #[test]
    fn any_text_imports_to_a_loadable_configuration(main in keepalived_text(), other in keepalived_text()) {
        let mut fs = Memory::new("/");
        fs.add("/main.conf", main).add("/other.conf", other.clone()).add("/loop.conf", format!("include /loop.conf\n{other}"));
        let done = import("/main.conf", "a", &fs).unwrap();
        loads(&done);
    }

    /// Arbitrary bytes too.
    #[test]
    fn any_bytes_import_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut fs = Memory::new("/");
        fs.add("/main.conf", bytes);
        let done = import("/main.conf", "a", &fs).unwrap();
        loads(&done);
    }
}

/// docs/keepalived.md names every keyword the import carries over, in code quotes.
#[test]
fn the_docs_name_every_keyword_the_import_carries() {
    let doc = include_str!("../../docs/keepalived.md");
    let named = |kw: &str| {
        doc.match_indices(&format!("`{kw}")).any(|(i, m)| {
            let next = doc[i + m.len()..].chars().next();
            !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    };
    let missing: Vec<&&str> = super::MAPPED.iter().filter(|k| !named(k)).collect();
    assert!(missing.is_empty(), "docs/keepalived.md does not name {missing:?}");
}

/// A `~SEQ` that makes more instances than keeplite takes: the first 64 are carried, the
/// rest reported, and the result loads.
#[test]
fn more_sections_than_keeplite_takes() {
    let (out, reports) = run(
        "$I= \\\n vrrp_instance V${N} { \\\n interface eth0 \\\n virtual_router_id ${N} \\\n virtual_ipaddress { 10.0.0.${N} } \\\n }\n\n~SEQ(N, 1, 70) $I\n",
    );
    assert_eq!(out.lines().filter(|l| l.ends_with("=vrrp")).count(), 64);
    assert_eq!(reports.len(), 6, "{reports:?}");
    assert!(
        reports[0]
            .ends_with("keeplite takes at most 64 vrrp sections (limits::VRRP_INSTANCES); V65 is left out"),
        "{reports:?}"
    );
}

const FILES: &str =
    "track_file load {\n file /run/load\n weight -2 reverse\n}\ntrack_file flag {\n file /run/flag\n}\n";

/// An instance's `track_file` names the file check of the block, the one a FILE_CHECK with
/// the same settings uses; its own reverse is a negated weight.
#[test]
fn track_files_in_instances_share_the_blocks_file_check() {
    let (out, reports) = run(&format!(
        "{FILES}{INSTANCE} track_file {{\n  load\n  flag weight 10 reverse\n  load weight 3 reverse\n }}\n}}\n\
         virtual_server 10.0.0.7 80 {{\n protocol TCP\n real_server 10.0.0.1 80 {{\n  FILE_CHECK {{\n   track_file load\n   weight -2 reverse\n  }}\n }}\n}}\n"
    ));
    assert_eq!(with(&out, "VI_1.track"), vec!["VI_1.track_file='load' 'flag:-10'"]);
    assert_eq!(with(&out, "rs_10_0_0_1_80.check"), vec!["rs_10_0_0_1_80.check='load'"]);
    assert_eq!(
        with(&out, "load."),
        vec![
            "load.type='file'",
            "load.interval='1s'",
            "load.timeout='500ms'",
            "load.file='/run/load'",
            "load.weight='-2'",
            "load.reverse='1'"
        ]
    );
    assert_eq!(
        reports,
        vec!["18: load: tracked twice; keepalived ignores the second, and so does the import"]
    );
    let (out, reports) = run(&format!(
        "{FILES}{INSTANCE} track_file {{\n  load weight 4 noreverse\n  flag weight 0 reverse\n }}\n}}\n"
    ));
    assert_eq!(with(&out, "VI_1.track"), vec!["VI_1.track_file='load:-4'"]);
    assert_eq!(reports, vec!["17: flag: keeplite takes reverse from the track_file block only: with weight 0 a reverse of the instance's own cannot be carried over; not tracked"]);
}

/// keepalived drops weight 1 (its default) of an address owner's and a sync group member's
/// tracked files, and does not track one with another weight.
#[test]
fn owners_and_sync_group_members_track_files_without_weight() {
    let src = format!("{FILES}{INSTANCE} track_file {{\n  flag\n  load\n }}\n}}\n");
    let (out, reports) = run(&src.replace("priority 150", "priority 255"));
    assert_eq!(with(&out, "VI_1.track"), vec!["VI_1.track_file='flag:0'"]);
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(
        reports[1].contains("does not track files with a weight (-2) in an address owner"),
        "{reports:?}"
    );
    let group = "vrrp_sync_group G {\n group {\n  VI_1\n }\n}\n";
    let (out, reports) = run(&format!("{group}{src}"));
    assert_eq!(with(&out, "VI_1.track"), vec!["VI_1.track_file='flag:0'"]);
    assert_eq!(reports.len(), 2, "{reports:?}");
    let (out, reports) =
        run(&format!("{}{src}", group.replace(" group {", " sync_group_tracking_weight\n group {")));
    assert_eq!(with(&out, "VI_1.track"), vec!["VI_1.track_file='flag' 'load'"]);
    assert!(reports.is_empty(), "{reports:?}");
}

/// A FILE_CHECK's weight 0 is unset to keepalived: the track_file's weight (and reverse).
#[test]
fn a_file_check_weight_0_takes_the_track_files() {
    let (out, reports) = run(&format!(
        "{FILES}virtual_server 10.0.0.7 80 {{\n protocol TCP\n real_server 10.0.0.1 80 {{\n  FILE_CHECK {{\n   track_file load\n   weight 0\n  }}\n  FILE_CHECK {{\n   track_file flag\n   weight 0 reverse\n  }}\n }}\n}}\n"
    ));
    assert_eq!(with(&out, "rs_10_0_0_1_80.check"), vec!["rs_10_0_0_1_80.check='load' 'flag'"]);
    assert_eq!(with(&out, "load.weight"), vec!["load.weight='-2'"]);
    assert!(with(&out, "flag.weight").is_empty() && with(&out, "flag.reverse").is_empty(), "{out}");
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(
        reports[0]
            .starts_with("13: weight: keepalived takes weight 0 as unset and uses the track_file's (-2)"),
        "{reports:?}"
    );
}

/// DNS_CHECK `type`: keepalived 2.4's list; what it does not know, and what keeplite
/// cannot ask, is reported and the check asks SOA.
#[test]
fn dns_check_types_are_keepalived_24s() {
    let check = |t: &str| {
        run(&format!(
            "virtual_server 10.0.0.7 53 {{\n protocol UDP\n real_server 10.0.0.1 53 {{\n  DNS_CHECK {{\n   type {t}\n  }}\n }}\n}}\n"
        ))
    };
    let (out, reports) = check("aaaa");
    assert_eq!(with(&out, "dns_check.dns_type"), vec!["dns_check.dns_type='AAAA'"]);
    assert!(reports.is_empty(), "{reports:?}");
    for t in ["PTR", "srv", "HINFO"] {
        let (out, reports) = check(t);
        assert!(with(&out, "dns_check.dns_type").is_empty(), "{out}");
        assert!(reports[0].contains("not a type keepalived knows"), "{reports:?}");
    }
    for t in ["RRSIG", "dnskey"] {
        let (out, reports) = check(t);
        assert!(with(&out, "dns_check.dns_type").is_empty(), "{out}");
        assert!(reports[0].contains("keeplite cannot ask for"), "{reports:?}");
    }
}

/// Two track_file blocks on one file are two checks: an instance tracking both loads.
#[test]
fn track_file_blocks_on_one_file_stay_apart() {
    let (out, reports) = run(&format!(
        "track_file a {{\n file /run/x\n}}\ntrack_file b {{\n file /run/x\n}}\n{INSTANCE} track_file {{\n  a\n  b\n }}\n}}\n"
    ));
    assert_eq!(with(&out, "VI_1.track"), vec!["VI_1.track_file='a' 'b'"]);
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn a_rule_keeplite_refuses_a_word_of_is_left_out_whole_never_broader() {
    // keepalived's own vrrp.rules sample writes `192.168.200./24`: without its `to` the
    // rule would send all traffic to table 2.
    let (out, reports) = run(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n  192.168.200.16\n }\n virtual_rules {\n  from 192.168.200.0/24 table 2\n  to 192.168.200./24 table 2\n }\n}\n",
    );
    let rules: Vec<&str> = out.lines().filter(|l| l.ends_with("=rule")).collect();
    assert_eq!(rules.len(), 1, "only the rule keeplite takes whole: {out}");
    assert!(out.contains(".from='192.168.200.0/24'"), "{out}");
    assert!(reports.iter().any(|r| r.starts_with("10: ") && r.contains("left out")), "{reports:?}");
}

#[test]
fn one_vip_keeplite_refuses_goes_alone_not_with_its_instance() {
    // A label on an IPv6 address: keeplite refuses that vip, and only that one.
    let (out, reports) = run(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n  192.0.2.16/24\n  192.0.2.17/24\n }\n virtual_ipaddress_excluded {\n  2001:db8::17/64 label eth0:6\n }\n}\n",
    );
    assert!(out.contains("=vrrp"), "the instance stays: {out}\n{reports:?}");
    let vips = with(&out, "VI_1.vip");
    assert_eq!(vips.len(), 1, "{out}");
    assert!(vips[0].contains("'192.0.2.16/24'") && vips[0].contains("'192.0.2.17/24'"), "{vips:?}");
    assert!(!vips[0].contains("2001:db8::17"), "{vips:?}");
    assert!(
        reports.iter().any(|r| r.contains("'2001:db8::17/64 label eth0:6'") && r.contains("left out")),
        "{reports:?}"
    );
}
