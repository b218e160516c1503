//! netns tier: the status endpoint of a live daemon. Two keeplite boxes on a LAN elect a
//! master; their status shows the states, priorities, master address and counters moving
//! as adverts flow, the real servers with their check results, and `keeplite status`,
//! `rpcd list` and `rpcd call` give what a person and OpenWrt's ubus expect. (This host
//! has no IPVS: `"ipvs": "unavailable"`, which the status must say.)

mod common;

use common::daemon::{scratch, vrrp_section, Daemon};
use common::status::{instance, status, LIMITS};
use common::{keeplite_with_input, netns_available, Lan};
use keeplite::json::{self, Json};
use std::path::Path;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn text<'a>(j: &'a Json, key: &str) -> &'a str {
    j.get(key).and_then(Json::as_str).unwrap_or_else(|| panic!("{key} in {j}"))
}

fn int(j: &Json, key: &str) -> i64 {
    j.get(key).and_then(Json::as_int).unwrap_or_else(|| panic!("{key} in {j}"))
}

/// Polls `status` of `socket` (the daemon may still be starting) until `ok` holds for it.
/// A reply without instance gw yet (a daemon answering before its first snapshot, which a
/// busy machine makes likelier) is not yet an answer.
fn until(socket: &Path, what: &str, ok: impl Fn(&Json) -> bool) -> Json {
    let has_gw = |s: &Json| {
        let list = s.get("vrrp").and_then(Json::as_array);
        list.is_some_and(|l| l.iter().any(|v| v.get("name").and_then(Json::as_str) == Some("gw")))
    };
    common::daemon::until(what, WAIT, &[], || match status(socket) {
        Ok(s) if has_gw(&s) && ok(&s) => Ok(s),
        Ok(s) => Err(s.to_string()),
        Err(e) => Err(e),
    })
}

#[test]
fn a_live_daemon_reports_its_state_and_rpcd_speaks_for_it() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("status", 3);
    let (a, b, server) = (&lan.hosts[0], &lan.hosts[1], &lan.hosts[2]);
    let dir = scratch("status");
    let (sock_a, sock_b) = (dir.join("a.sock"), dir.join("b.sock"));
    // A real server on the third host: port 80 closed, so its check fails with a reason.
    let services = "keeplite.web=virtual_server\nkeeplite.web.address='198.51.100.100'\nkeeplite.web.port='80'\n\
                    keeplite.r1=real_server\nkeeplite.r1.virtual_server='web'\nkeeplite.r1.address='198.51.100.3'\n\
                    keeplite.r1.check='port'\n\
                    keeplite.port=check\nkeeplite.port.type='tcp'\nkeeplite.port.interval='500ms'\nkeeplite.port.timeout='400ms'\n";
    let conf = |priority: u8, socket: &Path| {
        format!("g=global\ng.status_socket={}\ng.router_id=box{priority}\n", socket.display())
            + &vrrp_section("gw", 51, priority, "198.51.100.100/24", &[])
            + services
    };
    let da = Daemon::keeplite(a, "a", &conf(200, &sock_a));
    let db = Daemon::keeplite(b, "b", &conf(100, &sock_b));
    let _ = server;

    let sa = until(&sock_a, "a becomes master", |s| {
        text(instance(s, "gw"), "state") == "master" && int(instance(s, "gw"), "priority") == 200
    });
    let sb = until(&sock_b, "b sees a as master", |s| {
        let gw = instance(s, "gw");
        text(gw, "state") == "backup" && gw.get("master").and_then(Json::as_str) == Some("198.51.100.1")
    });
    assert_eq!(text(&sa, "router_id"), "box200");
    assert_eq!(text(&sa, "ipvs"), "unavailable");
    assert_eq!(int(&sa, "schema"), 1);
    assert_eq!(text(instance(&sa, "gw"), "master"), "198.51.100.1");
    assert_eq!(int(instance(&sb, "gw"), "base_priority"), 100);

    // Counters move as adverts flow.
    let tx = |s: &Json| int(instance(s, "gw").get("counters").expect("counters"), "adverts_tx");
    let rx = |s: &Json| int(instance(s, "gw").get("counters").expect("counters"), "adverts_rx");
    let first = tx(&sa);
    until(&sock_a, "a keeps sending", |s| tx(s) >= first + 5);
    let first = rx(&sb);
    until(&sock_b, "b keeps receiving", |s| rx(s) >= first + 5);

    // The real server with a closed port: down, with the check's reason and latency.
    let r1 = |s: &Json| -> Option<Json> {
        let vs = s.get("virtual_servers")?.as_array()?.first()?;
        vs.get("real_servers")?.as_array()?.first().cloned()
    };
    let s = until(&sock_a, "r1 down with its reason", |s| {
        r1(s).is_some_and(|r| {
            r.get("health").and_then(Json::as_str) == Some("down")
                && r.get("check").and_then(|c| c.get("result")).and_then(Json::as_str)
                    == Some("connection refused")
        })
    });
    let r = r1(&s).expect("r1");
    assert_eq!(text(&r, "address"), "198.51.100.3");
    assert!(int(r.get("check").expect("check"), "latency_ms") < 400, "{r}");
    let vs = &s.get("virtual_servers").and_then(Json::as_array).expect("services")[0];
    assert_eq!((text(vs, "name"), text(vs, "service")), ("web", "tcp 198.51.100.100:80"));
    // drain and undrain: the real server's wanted weight goes to 0 and back (the kernel
    // side is the VM tier's); an unknown name is refused.
    let call = |method: &str, params: &str| {
        keeplite_with_input(&["rpcd", "call", "-s", &sock_a.display().to_string(), method], params)
    };
    assert_eq!(call("drain", "{\"name\":\"r1\"}").0, 0);
    until(&sock_a, "r1 drained", |s| {
        r1(s).is_some_and(|r| r.get("drained") == Some(&Json::Bool(true)) && int(&r, "weight") == 0)
    });
    assert_eq!(call("undrain", "{\"name\":\"r1\"}").0, 0);
    until(&sock_a, "r1 undrained", |s| {
        r1(s).is_some_and(|r| r.get("drained") == Some(&Json::Bool(false)) && int(&r, "weight") == 1)
    });
    let (_, refused) = call("drain", "{\"name\":\"nobody\"}");
    assert!(refused.contains("no real server"), "{refused}");

    // The table for a person names the instance, its state and its master.
    let (code, table) = keeplite_with_input(&["status", "-s", &sock_b.display().to_string()], "");
    assert_eq!(code, 0, "{table}");
    for word in ["gw", "backup", "198.51.100.1"] {
        assert!(table.to_lowercase().contains(word), "{word:?} missing from:\n{table}");
    }

    // rpcd: list names the methods; call status gives the same document.
    let (code, list) = keeplite_with_input(&["rpcd", "list"], "");
    assert_eq!(code, 0);
    let list = json::parse(list.trim().as_bytes(), LIMITS).expect("rpcd list is JSON");
    for method in ["status", "vrrp", "virtual_servers", "counters", "reload", "drain"] {
        assert!(list.get(method).is_some(), "rpcd list lacks {method}: {list}");
    }
    let (code, called) = keeplite_with_input(
        &["rpcd", "call", "-s", &sock_a.display().to_string(), "vrrp"],
        "{\"ubus_rpc_session\":\"x\"}",
    );
    assert_eq!(code, 0, "{called}");
    let called = json::parse(called.trim().as_bytes(), LIMITS).expect("rpcd call is JSON");
    assert_eq!(text(instance(&called, "gw"), "state"), "master");

    // Failover shows in the status too.
    assert_eq!(da.stop(), Some(0));
    until(&sock_b, "b takes over", |s| text(instance(s, "gw"), "state") == "master");
    drop(db);
}
