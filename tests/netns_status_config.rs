//! netns tier: the clients find a live daemon's non-default status socket from the
//! configuration file alone, as rpcd's plugin must (rpcd gives it nothing but `call
//! METHOD`): `keeplite status`, `keeplite call` (the plugin link's form), `keeplite rpcd
//! call` and the web page's CGI, with `-f`, and with the default files themselves
//! (`/etc/config/keeplite`, else `/etc/keeplite.conf`) in a mount namespace whose `/etc`
//! is a scratch directory: the test cannot write the host's `/etc`, and an environment
//! variable the daemon would have to ignore is not needed.

mod common;

use common::daemon::{scratch, until, Daemon};
use common::status::LIMITS;
use common::{keeplite_bin, netns_available, Netns};
use keeplite::json::{self, Json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// A finished command: exit code, stdout, stderr.
struct Ran {
    code: i32,
    out: String,
    err: String,
}

/// Runs `cmd` with empty stdin (rpcd closes it after the parameters; none here).
fn run(cmd: &mut Command) -> Ran {
    let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    Ran {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn keeplite(args: &[&str]) -> Command {
    let mut c = Command::new(keeplite_bin());
    c.args(args);
    c
}

/// `keeplite ARGS...` in a private mount namespace whose `/etc` is `etc`.
fn with_etc(etc: &Path, program: &str, args: &[&str]) -> Command {
    let mut c = Command::new("unshare");
    c.args([
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        r#"mount --bind "$0" /etc && exec "$@""#,
    ]);
    c.arg(etc).arg(program).args(args);
    c
}

/// The JSON object a client printed.
fn object(ran: &Ran) -> Json {
    json::parse(ran.out.trim().as_bytes(), LIMITS)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", ran.out, ran.err))
}

/// Asserts a status reply of the test's daemon.
fn assert_ours(ran: &Ran, what: &str) {
    assert_eq!(ran.code, 0, "{what}: exit {}\nstdout: {}\nstderr: {}", ran.code, ran.out, ran.err);
    let reply = object(ran);
    assert_eq!(reply.get("ok"), Some(&Json::Bool(true)), "{what}: {reply}");
    assert_eq!(reply.get("router_id").and_then(Json::as_str), Some("from-conf"), "{what}: {reply}");
}

/// An rpcd-style error object whose error contains every one of `words`.
fn assert_error(ran: &Ran, what: &str, words: &[&str]) {
    assert_eq!(ran.code, 1, "{what}: exit {}\nstdout: {}\nstderr: {}", ran.code, ran.out, ran.err);
    let reply = object(ran);
    let error = reply.get("error").and_then(Json::as_str).unwrap_or_else(|| panic!("{what}: {reply}"));
    for w in words {
        assert!(error.contains(w), "{what}: {w:?} missing from {error:?}");
    }
}

/// The body of the CGI's answer, after checking its header says `status`.
fn cgi_body<'a>(ran: &'a Ran, status: Option<&str>) -> &'a str {
    let (head, body) = ran.out.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no CGI header: {}", ran.out));
    match status {
        Some(s) => assert!(head.contains(&format!("Status: {s}")), "{head}"),
        None => assert!(!head.contains("Status:"), "{head}"),
    }
    assert!(head.contains("Content-Type: application/json"), "{head}");
    body
}

fn cgi() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("board/common/www/cgi-bin/status")
}

#[test]
fn clients_find_the_socket_the_configuration_file_names() {
    if !netns_available() {
        return;
    }
    let ns = Netns::new("stconf");
    let dir = scratch("stconf");
    let socket = dir.join("run").join("keeplite.sock");
    let sock = socket.display().to_string();
    let daemon = Daemon::keeplite(
        &ns,
        "stconf",
        &format!("keeplite.main=global\nkeeplite.main.router_id='from-conf'\nkeeplite.main.status_socket='{sock}'\n"),
    );
    // The clients' copy, in native UCI form as on OpenWrt; later lines broken, as after an
    // edit the daemon refused: it runs on with its last valid file, and must stay reachable.
    let uci = dir.join("keeplite");
    std::fs::write(
        &uci,
        format!(
            "config global 'main'\n\toption router_id 'from-conf'\n\toption status_socket '{sock}'\n\n\
             config vrrp 'gw'\n\toption interface 'br-lan'\n\toption vrid '300'\n\toption prority '5\n"
        ),
    )
    .expect("write the clients' file");
    let conf = uci.display().to_string();
    until("the daemon answers on its socket", WAIT, &[&daemon], || {
        let ran = run(&mut keeplite(&["status", "--json", "-s", &sock]));
        if ran.code == 0 {
            Ok(())
        } else {
            Err(format!("{}{}", ran.out, ran.err))
        }
    });
    assert!(!socket.starts_with("/var/run"), "the test needs a non-default socket");

    // -f: status for a program and for a person, the plugin link's `call`, `rpcd call`.
    assert_ours(&run(&mut keeplite(&["status", "--json", "-f", &conf])), "status --json -f");
    let table = run(&mut keeplite(&["status", "-f", &conf]));
    assert_eq!(table.code, 0, "{}{}", table.out, table.err);
    assert!(table.out.contains("from-conf"), "{}", table.out);
    assert_ours(&run(&mut keeplite(&["call", "status", "-f", &conf])), "call status -f");
    assert_ours(&run(&mut keeplite(&["rpcd", "call", "status", "-f", &conf])), "rpcd call status -f");
    let vrrp = run(&mut keeplite(&["rpcd", "call", "vrrp", "-f", &conf]));
    assert_eq!((vrrp.code, object(&vrrp).get("ok")), (0, Some(&Json::Bool(true))), "{}", vrrp.out);
    // The CGI told the file only.
    let page =
        run(Command::new("sh").arg(cgi()).env("KEEPLITE_BIN", keeplite_bin()).env("KEEPLITE_CONF", &conf));
    assert!(cgi_body(&page, None).contains(r#""router_id":"from-conf""#), "{}", page.out);

    // A relative socket is an error naming the file and line; so is an unreadable one.
    let bad = dir.join("relative.conf");
    std::fs::write(&bad, "main=global\nmain.status_socket='run/keeplite.sock'\n").expect("write");
    let bad = bad.display().to_string();
    let words = [bad.as_str(), ":2: main.status_socket: 'run/keeplite.sock' is not an absolute path"];
    assert_error(&run(&mut keeplite(&["call", "status", "-f", &bad])), "relative", &words);
    let status = run(&mut keeplite(&["status", "-f", &bad]));
    assert_eq!(status.code, 1);
    assert!(status.err.starts_with(&format!("keeplite: {bad}:2: main.status_socket: ")), "{}", status.err);
    let page =
        run(Command::new("sh").arg(cgi()).env("KEEPLITE_BIN", keeplite_bin()).env("KEEPLITE_CONF", &bad));
    assert!(cgi_body(&page, Some("503")).contains("is not an absolute path"), "{}", page.out);
    let broken = dir.join("unreadable.conf");
    std::fs::write(&broken, format!("config global\n\toption status_socket '{sock}\n")).expect("write");
    let broken = broken.display().to_string();
    let ran = run(&mut keeplite(&["rpcd", "call", "status", "-f", &broken]));
    assert_error(&ran, "unreadable", &[&broken, ":2: @global[0].status_socket: unterminated single quote"]);

    // Nobody on the socket a file names: the error says which socket, file and line.
    let elsewhere = dir.join("elsewhere.conf");
    std::fs::write(&elsewhere, format!("main=global\nmain.status_socket='{}/none.sock'\n", dir.display()))
        .expect("write");
    let elsewhere = elsewhere.display().to_string();
    let none = format!("{}/none.sock", dir.display());
    let words = [none.as_str(), "no such socket", "global.status_socket of", elsewhere.as_str(), "line 2"];
    assert_error(&run(&mut keeplite(&["call", "status", "-f", &elsewhere])), "nobody there", &words);
    // A file that does not exist: the default socket, and the error says so.
    let missing = dir.join("missing.conf").display().to_string();
    let words = ["/var/run/keeplite/status.sock", "the default socket", &missing, "does not exist"];
    let missing_ran = run(&mut keeplite(&["call", "status", "-f", &missing, "-s", "/nonexistent/x.sock"]));
    assert_error(&missing_ran, "-s wins over -f", &["/nonexistent/x.sock: no such socket"]);
    // (Unless a keeplite on this host answers there.)
    let ran = run(&mut keeplite(&["call", "status", "-f", &missing]));
    if ran.code != 0 {
        assert_error(&ran, "missing file", &words);
    }

    // No -f at all, as rpcd runs the plugin: the default files, in a private /etc.
    let etc = dir.join("etc");
    std::fs::create_dir_all(etc.join("config")).expect("mkdir etc/config");
    std::fs::copy(&uci, etc.join("config/keeplite")).expect("copy");
    let bin = keeplite_bin();
    assert_ours(&run(&mut with_etc(&etc, &bin, &["call", "status"])), "call status, /etc/config/keeplite");
    assert_ours(
        &run(&mut with_etc(&etc, &bin, &["rpcd", "call", "status"])),
        "rpcd call, /etc/config/keeplite",
    );
    assert_ours(&run(&mut with_etc(&etc, &bin, &["status", "--json"])), "status, /etc/config/keeplite");
    let page = run(with_etc(&etc, "sh", &[&cgi().display().to_string()]).env("KEEPLITE_BIN", &bin));
    assert!(cgi_body(&page, None).contains(r#""router_id":"from-conf""#), "CGI: {}", page.out);
    // /etc/config/keeplite first: a /etc/keeplite.conf beside it is not read.
    std::fs::write(etc.join("keeplite.conf"), "main=global\nmain.status_socket='/nonexistent/flat.sock'\n")
        .expect("write");
    assert_ours(&run(&mut with_etc(&etc, &bin, &["call", "status"])), "both files: /etc/config/keeplite");
    // Without /etc/config/keeplite, /etc/keeplite.conf (a Buildroot or appliance image).
    std::fs::remove_file(etc.join("config/keeplite")).expect("rm");
    let ran = run(&mut with_etc(&etc, &bin, &["call", "status"]));
    assert_error(&ran, "/etc/keeplite.conf", &["/nonexistent/flat.sock", "/etc/keeplite.conf, line 2"]);
    std::fs::write(etc.join("keeplite.conf"), format!("main=global\nmain.status_socket='{sock}'\n"))
        .expect("write");
    assert_ours(&run(&mut with_etc(&etc, &bin, &["call", "status"])), "call status, /etc/keeplite.conf");
    // check-config reads the same default file.
    let check = run(&mut with_etc(&etc, &bin, &["check-config", "--json"]));
    assert!(check.out.contains(r#""file":"/etc/keeplite.conf""#), "{}", check.out);
    // Neither file: the default socket, and which file was missing.
    std::fs::remove_file(etc.join("keeplite.conf")).expect("rm");
    let ran = run(&mut with_etc(&etc, &bin, &["call", "status"]));
    if ran.code != 0 {
        let words =
            ["/var/run/keeplite/status.sock", "the default socket: /etc/keeplite.conf does not exist"];
        assert_error(&ran, "no file", &words);
    }
    drop(daemon);
    let _ = std::fs::remove_dir_all(&dir);
}
