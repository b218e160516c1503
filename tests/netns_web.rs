//! netns tier: the web status page (`board/common/www`) in a real browser. Two keeplite
//! boxes elect a master; busybox httpd on box A serves the page and its CGI asks A's
//! daemon; headless Chromium on a third host loads the page and the test reads the DOM
//! the page's JavaScript built: A master, then (after `yield` and a web server stopping)
//! A backup behind B with the real server down, then the error banner once A's daemon is
//! gone. Screenshots of each go to target/artifacts/.

mod common;

use common::daemon::{scratch, until, vrrp_section, Daemon};
use common::web::backend;
use common::{http_get, keeplite_bin, netns_available, rpcd_call, Lan, Netns};
use keeplite::json::{self, Json};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);
/// Where A's httpd serves the page.
const PAGE: &str = "http://198.51.100.1:8080/";
/// A real browser may stall (a broken profile, no /dev/shm): past this it is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(30);

/// True when headless Chromium is here (`ci/test` installs Debian's `chromium`). Under
/// `CI=true` its absence fails the test; elsewhere the test says it did nothing.
fn chromium_available() -> bool {
    let ok = Command::new("chromium").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok && std::env::var("CI").as_deref() == Ok("true") {
        panic!("chromium is missing (CI=true: ci/test installs it; apt-get install chromium)");
    }
    if !ok {
        eprintln!("SKIPPED: chromium is missing (apt-get install chromium)");
    }
    ok
}

/// target/artifacts: next to the test binary's target/debug/deps, or under
/// `CARGO_TARGET_DIR`.
fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let exe = std::env::current_exe().expect("test binary path");
        exe.ancestors().nth(3).expect("target dir above target/debug/deps").to_owned()
    });
    let dir = target.join("artifacts");
    std::fs::create_dir_all(&dir).expect("create target/artifacts");
    dir
}

/// Loads `url` in headless Chromium inside `ns`, lets the page run for `budget` of
/// virtual time (which stands still while a fetch is pending, so the page's own requests
/// always finish), saves a screenshot to `png` and returns the DOM as the scripts left it.
fn browse(ns: &Netns, url: &str, budget: Duration, png: &Path) -> String {
    let profile = scratch("chromium");
    let _ = std::fs::remove_file(png);
    let mut child = ns
        .command("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-proxy-server", "--hide-scrollbars"])
        .args(["--no-first-run", "--disable-background-networking", "--disable-component-update"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--window-size=1200,720")
        .arg(format!("--virtual-time-budget={}", budget.as_millis()))
        .arg(format!("--screenshot={}", png.display()))
        .args(["--dump-dom", url])
        // Its crash reporter and caches write under HOME: keep them in the scratch dir.
        .env("HOME", &profile)
        .env("XDG_CONFIG_HOME", &profile)
        .env("XDG_CACHE_HOME", &profile)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that a stuck browser goes with all its helpers.
        .process_group(0)
        .spawn()
        .expect("start chromium");
    let out = wait_browser(&mut child);
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && dom.contains("</html>"),
        "chromium {url}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(png.metadata().is_ok_and(|m| m.len() > 0), "chromium wrote no screenshot to {}", png.display());
    println!("screenshot: {}", png.display());
    let _ = std::fs::remove_dir_all(profile);
    dom
}

/// Waits for the browser to exit within BROWSER_TIMEOUT; kills its group if it does not.
fn wait_browser(child: &mut Child) -> std::process::Output {
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    // stdout and stderr are read on threads: a full pipe would stall the browser.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut v);
        v
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let group = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            let _ = child.wait();
            panic!("chromium did not finish within {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::process::Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// The start tag of the first element carrying `hook` (an attribute such as
/// `data-instance="gw"`), and the markup from there to the end of the DOM.
fn element<'a>(dom: &'a str, hook: &str) -> (&'a str, &'a str) {
    let at = dom.find(hook).unwrap_or_else(|| panic!("no element with {hook} in the page:\n{dom}"));
    let start = dom[..at].rfind('<').expect("tag start");
    let end = at + dom[at..].find('>').expect("tag end");
    (&dom[start..=end], &dom[start..])
}

/// Attribute `name` of a start tag; panics when it has none.
fn attr(tag: &str, name: &str) -> String {
    let key = format!(" {name}=\"");
    let from = tag.find(&key).unwrap_or_else(|| panic!("no {name} in {tag}")) + key.len();
    let len = tag[from..].find('"').expect("closing quote");
    tag[from..from + len].to_owned()
}

/// The markup of the table row starting `rest` (up to its `</tr>`).
fn row(rest: &str) -> &str {
    &rest[..rest.find("</tr>").expect("end of row")]
}

/// A's status as the CGI serves it over HTTP, polled from `client` until `ok` holds.
fn until_cgi(client: &Netns, what: &str, ok: impl Fn(&Json) -> bool) -> Json {
    let limits = json::Limits { max_bytes: 1 << 20, max_depth: 16 };
    until(what, WAIT, &[], || {
        let got = http_get(client, &format!("{PAGE}cgi-bin/status"))
            .and_then(|body| json::parse(body.trim().as_bytes(), limits).map_err(|e| format!("{e}: {body}")));
        match got {
            Ok(s) if ok(&s) => Ok(s),
            Ok(s) => Err(s.to_string()),
            Err(e) => Err(e),
        }
    })
}

fn gw(s: &Json) -> Option<&Json> {
    s.get("vrrp")?.as_array()?.iter().find(|v| v.get("name").and_then(Json::as_str) == Some("gw"))
}

fn field<'a>(j: Option<&'a Json>, key: &str) -> Option<&'a str> {
    j?.get(key)?.as_str()
}

/// Real server `name` of the first service.
fn real<'a>(s: &'a Json, name: &str) -> Option<&'a Json> {
    let vs = s.get("virtual_servers")?.as_array()?.first()?;
    vs.get("real_servers")?.as_array()?.iter().find(|r| r.get("name").and_then(Json::as_str) == Some(name))
}

/// `keeplite rpcd call -s SOCKET METHOD` with `params` on stdin; panics unless it succeeds.
fn call(socket: &Path, method: &str, params: &str) {
    let (code, out) = rpcd_call(socket, method, params);
    assert!(code == 0 && out.contains(r#""ok":true"#), "{method} {params}: {out}");
}

/// busybox httpd serving `dir` on port 8080 in `ns`, its CGI pointed at `socket`.
struct PageServer(Child);

impl PageServer {
    fn start(ns: &Netns, dir: &Path, socket: &Path) -> PageServer {
        let child = ns
            .command("busybox")
            .args(["httpd", "-f", "-p", "8080", "-h"])
            .arg(dir)
            .env("KEEPLITE_STATUS_SOCKET", socket)
            .env("KEEPLITE_BIN", keeplite_bin())
            .stdout(Stdio::null())
            .spawn()
            .expect("start busybox httpd");
        PageServer(child)
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_status_page_shows_failover_and_health_in_a_browser() {
    if !netns_available() || !chromium_available() {
        return;
    }
    let www = Path::new(env!("CARGO_MANIFEST_DIR")).join("board/common/www");
    let lan = Lan::new("web", 3);
    let (a, b, c) = (&lan.hosts[0], &lan.hosts[1], &lan.hosts[2]);
    let dir = scratch("web");
    let (sock_a, sock_b) = (dir.join("a.sock"), dir.join("b.sock"));
    // The paper's two-box design in small: web1 on the third host, web2 on box B, both
    // with a TCP check on port 80 (this host has no IPVS: the checks still run).
    let services = "keeplite.web=virtual_server\nkeeplite.web.address='198.51.100.100'\nkeeplite.web.port='80'\n\
                    keeplite.web1=real_server\nkeeplite.web1.virtual_server='web'\nkeeplite.web1.address='198.51.100.3'\n\
                    keeplite.web1.check='port'\n\
                    keeplite.web2=real_server\nkeeplite.web2.virtual_server='web'\nkeeplite.web2.address='198.51.100.2'\n\
                    keeplite.web2.check='port'\n\
                    keeplite.port=check\nkeeplite.port.type='tcp'\nkeeplite.port.interval='500ms'\nkeeplite.port.timeout='400ms'\n";
    let conf = |name: &str, priority: u8, socket: &Path| {
        format!("g=global\ng.status_socket={}\ng.router_id={name}\n", socket.display())
            + &vrrp_section("gw", 51, priority, "198.51.100.100/24 2001:db8:1::100/64", &[])
            + services
    };
    let web1 = backend(c, "web1");
    let _web2 = backend(b, "web2");
    let da = Daemon::keeplite(a, "a", &conf("box-a", 200, &sock_a));
    let db = Daemon::keeplite(b, "b", &conf("box-b", 100, &sock_b));
    let _page = PageServer::start(a, &www, &sock_a);
    let logs = || common::daemon::logs(&[&da, &db]);

    // Before: A master, web1 up. The CGI is asked first so the browser sees a settled state.
    until_cgi(c, "a master, web1 up", |s| {
        field(gw(s), "state") == Some("master") && field(real(s, "web1"), "health") == Some("up")
    });
    let before = artifacts().join("status-page.png");
    let dom = browse(c, PAGE, Duration::from_millis(4500), &before);
    let (body, _) = element(&dom, "data-loaded=");
    // Fetched and drawn more than once: the page refreshes by itself.
    assert!(attr(body, "data-loaded").parse::<u32>().unwrap_or(0) >= 2, "{body}");
    assert_eq!(attr(element(&dom, "data-router-id=").0, "data-router-id"), "box-a");
    let (tag, rest) = element(&dom, "data-instance=\"gw\"");
    assert_eq!(attr(tag, "data-state"), "master", "{}", logs());
    assert_eq!(attr(tag, "data-master"), "198.51.100.1");
    assert!(row(rest).contains(">MASTER<") && row(rest).contains("2001:db8:1::100/64"), "{}", row(rest));
    let (tag, rest) = element(&dom, "data-real-server=\"web1\"");
    assert_eq!((attr(tag, "data-health").as_str(), attr(tag, "data-check").as_str()), ("up", "ok"));
    assert!(row(rest).contains(">UP<"), "{}", row(rest));
    let (tag, _) = element(&dom, "data-ipvs=");
    assert_eq!(attr(tag, "data-ipvs"), "unavailable");
    assert!(!tag.contains(" hidden"), "the IPVS notice is hidden: {tag}");
    assert!(element(&dom, "id=\"error\"").0.contains(" hidden"), "error banner shown:\n{dom}");

    // After: A yields to B, and web1's server stops (its port is closed).
    call(&sock_a, "yield", r#"{"instance":"gw","seconds":30}"#);
    drop(web1);
    until_cgi(c, "a backup behind b, web1 down", |s| {
        field(gw(s), "state") == Some("backup")
            && field(gw(s), "master") == Some("198.51.100.2")
            && field(real(s, "web1"), "health") == Some("down")
    });
    let after = artifacts().join("status-page-after-failover.png");
    let dom = browse(c, PAGE, Duration::from_millis(2500), &after);
    let (tag, rest) = element(&dom, "data-instance=\"gw\"");
    assert_eq!(attr(tag, "data-state"), "backup", "{}", logs());
    assert_eq!(attr(tag, "data-master"), "198.51.100.2");
    let left: u32 = attr(tag, "data-yield-left").parse().expect("yield left");
    assert!((1..=30).contains(&left), "{tag}");
    assert!(row(rest).contains(">BACKUP<") && row(rest).contains("left<"), "{}", row(rest));
    let (tag, rest) = element(&dom, "data-real-server=\"web1\"");
    assert_eq!(attr(tag, "data-health"), "down");
    assert_eq!(attr(tag, "data-check"), "connection refused");
    assert!(row(rest).contains(">DOWN<"), "{}", row(rest));
    assert_eq!(attr(element(&dom, "data-real-server=\"web2\"").0, "data-health"), "up");

    // A's daemon gone: the CGI answers 503 and the page says why in its banner.
    assert_eq!(da.stop(), Some(0));
    let gone = artifacts().join("status-page-error.png");
    let dom = browse(c, PAGE, Duration::from_millis(1000), &gone);
    let (tag, _) = element(&dom, "id=\"error\"");
    assert!(!tag.contains(" hidden"), "no error banner: {tag}");
    assert!(attr(tag, "data-error").contains("is keeplite running?"), "{tag}");
    drop(db);
}
