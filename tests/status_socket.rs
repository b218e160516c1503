//! The status socket against hostile and ordinary clients: a server on a temporary path
//! with a fake handler that answers from the sample snapshot.
//!
//! Bad input: a garbage or unknown-method line gets an error and the connection stays
//! usable; an over-long line gets an error and the connection is closed; so does a half
//! line after the idle timeout.

use keeplite::json::{self, Json};
use keeplite::status::snapshot::sample;
use keeplite::status::{client, reply, Limits, Peer, Reply, Request, Server};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A fresh directory under the system's temporary one, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("keeplite-status-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        TempDir(dir)
    }

    /// The socket's path, in a directory the server has to create.
    fn socket(&self) -> PathBuf {
        self.0.join("run").join("status.sock")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Answers reads from the sample snapshot; `drain` knows `web1` only; `reload` answers
/// later from another thread; `yield` never answers.
fn handler() -> impl Fn(&Request, &Peer) -> Reply + Send + 'static {
    let snapshot = Arc::new(Mutex::new(sample(Instant::now())));
    let never = Mutex::new(Vec::new());
    move |request, _peer| {
        if let Some(body) = snapshot.lock().ok().and_then(|s| s.answer(request, Instant::now())) {
            return Reply::Now(Ok(body));
        }
        match request {
            Request::Drain { name } if name == "web1" => {
                Reply::Now(Ok(Json::object([("drained", Json::str(name))])))
            }
            Request::Drain { name } => Reply::Now(Err(format!("no real server {name:?}"))),
            Request::Reload => {
                let (tx, rx) = async_channel::bounded(1);
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(20));
                    let _ = tx.send_blocking(Ok(Json::object([("reloaded", Json::Bool(true))])));
                });
                Reply::Later(rx)
            }
            _ => {
                let (tx, rx) = async_channel::bounded(1);
                if let Ok(mut never) = never.lock() {
                    never.push(tx);
                }
                Reply::Later(rx)
            }
        }
    }
}

fn start(dir: &TempDir, limits: Limits) -> Server {
    Server::start_with(dir.socket(), handler(), limits).expect("start the status server")
}

/// A raw connection, with reads that give up after 5 s.
struct Conn {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Conn {
    fn open(path: &Path) -> Conn {
        let writer = UnixStream::connect(path).expect("connect");
        writer.set_read_timeout(Some(Duration::from_secs(5))).expect("read timeout");
        let reader = BufReader::new(writer.try_clone().expect("clone"));
        Conn { writer, reader }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("send");
    }

    /// The next reply line, parsed.
    fn reply(&mut self) -> Json {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read a reply");
        assert!(line.ends_with('\n'), "no complete reply line: {line:?}");
        json::parse(line.trim_end().as_bytes(), json::Limits { max_bytes: 1 << 20, max_depth: 32 })
            .unwrap_or_else(|e| panic!("reply {line:?} is not JSON: {e}"))
    }

    fn call(&mut self, line: &str) -> Json {
        self.send(format!("{line}\n").as_bytes());
        self.reply()
    }

    /// True when the server closed the connection (end of file or reset).
    fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => rest.is_empty(),
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    }
}

fn error(reply: &Json) -> &str {
    assert!(!reply::is_ok(reply), "expected an error: {reply}");
    reply::error_text(reply).unwrap_or("")
}

fn counter(reply: &Json, name: &str) -> i64 {
    reply.get("status_socket").and_then(|s| s.get(name)).and_then(Json::as_int).unwrap_or(-1)
}

#[test]
fn a_status_request_gets_the_handlers_json() {
    let dir = TempDir::new("status");
    let server = start(&dir, Limits::default());
    let reply = Conn::open(&dir.socket()).call(r#"{"method":"status"}"#);
    assert!(reply::is_ok(&reply), "{reply}");
    assert_eq!(reply.get("schema").and_then(Json::as_int), Some(1));
    assert_eq!(reply.get("router_id").and_then(Json::as_str), Some("edge-a"));
    assert_eq!(counter(&reply, "requests"), 1);
    let vrrp = client::call(&dir.socket(), "vrrp", None, client::TIMEOUT).expect("vrrp");
    assert!(vrrp.get("vrrp").and_then(Json::as_array).is_some_and(|v| v.len() == 1), "{vrrp}");
    assert!(vrrp.get("status_socket").is_none(), "only status and counters carry the server's counters");
    server.stop();
}

#[test]
fn garbage_gets_an_error_and_the_connection_stays_usable() {
    let dir = TempDir::new("garbage");
    let server = start(&dir, Limits::default());
    let mut conn = Conn::open(&dir.socket());
    assert!(error(&conn.call("garbage")).starts_with("not JSON: expected a value at byte 0"));
    conn.send(b"\xff\xfe{\n");
    assert!(error(&conn.reply()).starts_with("not JSON: not UTF-8"));
    assert_eq!(error(&conn.call("[1,2")), "not JSON: unexpected end of input at byte 4");
    assert!(error(&conn.call(r#"{"method":"foo"}"#)).starts_with(r#"unknown method "foo""#));
    assert_eq!(
        error(&conn.call(r#"{"method":"drain","params":{"name":7}}"#)),
        "params.name: expected a string of 1 to 64 bytes"
    );
    // Blank lines are skipped, CRLF is fine, several requests in one write are answered in order.
    conn.send(b"\r\n\n{\"method\":\"vrrp\"}\r\n{\"method\":\"counters\"}\n");
    assert!(conn.reply().get("vrrp").is_some());
    let counters = conn.reply();
    assert!(counters.get("virtual_servers").is_some(), "{counters}");
    assert_eq!(counter(&counters, "errors"), 5);
    assert_eq!(counter(&counters, "requests"), 7);
    server.stop();
}

#[test]
fn a_handler_error_and_a_deferred_answer() {
    let dir = TempDir::new("deferred");
    let limits = Limits { answer: Duration::from_millis(200), ..Limits::default() };
    let server = start(&dir, limits);
    let mut conn = Conn::open(&dir.socket());
    assert_eq!(
        error(&conn.call(r#"{"method":"drain","params":{"name":"web9"}}"#)),
        r#"no real server "web9""#
    );
    let drained = conn.call(r#"{"method":"drain","params":{"name":"web1"}}"#);
    assert_eq!(drained.to_string(), r#"{"ok":true,"schema":1,"drained":"web1"}"#);
    assert_eq!(conn.call(r#"{"method":"reload"}"#).to_string(), r#"{"ok":true,"schema":1,"reloaded":true}"#);
    let started = Instant::now();
    let never = conn.call(r#"{"method":"hold","params":{"instance":"gw","on":true}}"#);
    assert_eq!(error(&never), "no answer from the daemon within 200 ms");
    assert!(started.elapsed() >= Duration::from_millis(200));
    server.stop();
}

#[test]
fn an_over_long_line_gets_an_error_and_is_closed() {
    let dir = TempDir::new("long");
    let server = start(&dir, Limits::default());
    let mut conn = Conn::open(&dir.socket());
    conn.send(&[b'x'; 5000]);
    assert_eq!(error(&conn.reply()), "request line longer than 4096 bytes; closing");
    assert!(conn.closed());
    // With its newline, a line just over the limit too; one at the limit is answered.
    let mut conn = Conn::open(&dir.socket());
    let padded = |n: usize| format!("{{\"method\":\"vrrp\"}}{}\n", " ".repeat(n - 17));
    conn.send(padded(4096).as_bytes());
    assert!(reply::is_ok(&conn.reply()));
    conn.send(padded(4097).as_bytes());
    assert!(error(&conn.reply()).starts_with("request line longer"));
    assert!(conn.closed());
    server.stop();
}

#[test]
fn a_half_line_is_closed_after_the_idle_timeout_and_others_are_served_meanwhile() {
    let dir = TempDir::new("idle");
    let server = start(&dir, Limits { idle: Duration::from_millis(1000), ..Limits::default() });
    let started = Instant::now();
    let mut slow = Conn::open(&dir.socket());
    slow.send(br#"{"meth"#);
    let quick = Instant::now();
    assert!(reply::is_ok(&Conn::open(&dir.socket()).call(r#"{"method":"status"}"#)));
    assert!(quick.elapsed() < Duration::from_millis(500), "a stalled client delayed another");
    assert_eq!(error(&slow.reply()), "closed: no complete request line within 1000 ms");
    assert!(slow.closed());
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1000) && took < Duration::from_secs(3), "closed after {took:?}");
    let counters = client::call(&dir.socket(), "counters", None, client::TIMEOUT).expect("counters");
    assert_eq!(counter(&counters, "timeouts"), 1);
    server.stop();
}

/// Raises the soft descriptor limit to at least `n` (up to the hard limit): the flood
/// holds a thousand client sockets in this process.
fn enough_descriptors(n: u64) {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current.is_some_and(|c| c < n) {
        limit.current = Some(limit.maximum.map_or(n, |m| m.min(n)));
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

#[test]
fn a_thousand_connections_at_once_do_not_shut_out_a_fresh_client() {
    let dir = TempDir::new("flood");
    // The 64 connections served first hold their slots until they idle out.
    let server = start(&dir, Limits { idle: Duration::from_millis(300), ..Limits::default() });
    enough_descriptors(1200);
    let flood: Vec<UnixStream> =
        (0..1000).map(|_| UnixStream::connect(dir.socket()).expect("connect")).collect();
    let started = Instant::now();
    let reply = client::call(&dir.socket(), "status", None, Duration::from_secs(1)).expect("a fresh client");
    assert!(reply::is_ok(&reply), "{reply}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(counter(&reply, "refused") >= 1000 - 64, "{reply}");
    // A refused connection was told why.
    let mut refused = BufReader::new(&flood[999]);
    let mut line = String::new();
    let _ = refused.read_line(&mut line);
    assert!(line.contains(r#""busy":true"#), "{line:?}");
    drop(flood);
    server.stop();
}

#[test]
fn stop_closes_open_connections_at_once() {
    let dir = TempDir::new("stop");
    let server = start(&dir, Limits::default());
    let mut idle = Conn::open(&dir.socket());
    idle.send(b"{");
    let mut waiting = Conn::open(&dir.socket());
    waiting.send(b"{\"method\":\"yield\",\"params\":{\"instance\":\"gw\",\"seconds\":5}}\n");
    // Let the server read both before it stops.
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    server.stop();
    assert!(started.elapsed() < Duration::from_millis(500), "stop waited for clients");
    assert!(idle.closed() && waiting.closed());
    assert!(!dir.socket().exists());
}

#[test]
fn the_socket_file_is_0600_in_a_0700_directory_and_removed_at_stop() {
    let dir = TempDir::new("file");
    let path = dir.socket();
    let server = start(&dir, Limits::default());
    let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap_or(&path)), 0o700);
    // A second server on the same path must not steal a live one's socket.
    let second = Server::start(&path, handler()).err().unwrap_or_default();
    assert!(second.contains("another process answers on it"), "{second}");
    server.stop();
    assert!(!path.exists(), "the socket file outlived the server");
    // A stale socket left by a crash is replaced; a regular file is not.
    drop(UnixListener::bind(&path).expect("bind a stale socket"));
    start(&dir, Limits::default()).stop();
    std::fs::write(&path, "x").expect("write a regular file");
    let refused = Server::start(&path, handler()).err().unwrap_or_default();
    assert!(refused.contains("is not a socket"), "{refused}");
}

/// The built binary, as rpcd runs it.
fn keeplite() -> Command {
    Command::new(env!("CARGO_BIN_EXE_keeplite"))
}

/// Runs `cmd` with `stdin`; returns its exit code and stdout.
fn run(cmd: &mut Command, stdin: &str) -> (i32, String) {
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn rpcd_plugin_lists_and_calls() {
    let dir = TempDir::new("rpcd");
    let server = start(&dir, Limits::default());
    let socket = dir.socket();
    let (code, list) = run(keeplite().args(["rpcd", "list"]), "");
    assert_eq!(code, 0);
    assert!(list.contains(r#""drain":{"name":"str"}"#), "{list}");
    // rpcd runs the symlink as `/usr/libexec/rpcd/keeplite list`.
    assert_eq!(run(keeplite().arg("list"), ""), (0, list));
    let (code, out) =
        run(keeplite().arg("call").arg("drain").arg("-s").arg(&socket), r#"{ "name": "web1" }"#);
    assert_eq!((code, out.trim()), (0, r#"{"ok":true,"schema":1,"drained":"web1"}"#));
    let (code, out) =
        run(keeplite().args(["rpcd", "call", "drain", "-s"]).arg(&socket), r#"{"name":"nope"}"#);
    assert_eq!(code, 1);
    assert!(out.contains(r#""ok":false"#), "{out}");
    let (code, out) = run(keeplite().args(["rpcd", "call", "status", "-s"]).arg(&socket), "");
    assert_eq!(code, 0);
    assert!(out.starts_with(r#"{"ok":true,"schema":1,"router_id":"edge-a""#), "{out}");
    // No daemon: still one JSON object, which rpcd relays.
    let (code, out) = run(keeplite().args(["rpcd", "call", "status", "-s", "/nonexistent/k.sock"]), "");
    assert_eq!(code, 1);
    assert!(
        out.starts_with(r#"{"ok":false,"schema":1,"error":"/nonexistent/k.sock: no such socket"#),
        "{out}"
    );
    server.stop();
}

#[test]
fn keeplite_status_prints_tables_or_json() {
    let dir = TempDir::new("cli");
    let server = start(&dir, Limits::default());
    let (code, table) = run(keeplite().args(["status", "-s"]).arg(dir.socket()), "");
    assert_eq!(code, 0);
    assert!(table.contains("gw    MASTER  200"), "{table}");
    assert!(table.contains("web2         10.0.0.2:80   down"), "{table}");
    let (code, out) = run(keeplite().args(["status", "--json", "-s"]).arg(dir.socket()), "");
    assert_eq!(code, 0);
    let parsed = json::parse(out.trim().as_bytes(), json::Limits { max_bytes: 1 << 20, max_depth: 32 });
    assert!(parsed.is_ok_and(|j| reply::is_ok(&j)), "{out}");
    server.stop();
}

#[test]
fn only_root_may_call_write_methods() {
    if !rustix::process::geteuid().is_root() {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "needs root to switch to uid 65534 (CI=true)");
        eprintln!("SKIPPED: not running as root, cannot switch to uid 65534");
        return;
    }
    let dir = TempDir::new("uid");
    let server = start(&dir, Limits::default());
    let socket = dir.socket();
    let nobody = |method: &str, params: &str| {
        let mut cmd = keeplite();
        cmd.args(["rpcd", "call", method, "-s"]).arg(&socket).uid(65534).gid(65534);
        run(&mut cmd, params)
    };
    // At mode 0600 nobody cannot even connect.
    let (code, out) = nobody("status", "{}");
    assert_eq!(code, 1);
    assert!(out.contains("permission denied"), "{out}");
    // Opened up (as an operator might for a web UI user), reads work and writes do not.
    let open = |p: &Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    open(&dir.0, 0o755).expect("chmod");
    open(socket.parent().unwrap_or(&socket), 0o755).expect("chmod");
    open(&socket, 0o666).expect("chmod");
    let (code, out) = nobody("status", "{}");
    assert_eq!(code, 0, "{out}");
    let writes = [
        ("drain", r#"{"name":"web1"}"#),
        ("undrain", r#"{"name":"web1"}"#),
        ("set_weight", r#"{"name":"web1","weight":3}"#),
        ("yield", r#"{"instance":"gw","seconds":10}"#),
        ("hold", r#"{"instance":"gw","on":true}"#),
        ("reload", "{}"),
    ];
    for (method, params) in writes {
        let (code, out) = nobody(method, params);
        assert_eq!(code, 1, "{method}: {out}");
        let refusal = format!("{method} changes the daemon: only root (uid 0) may call it, not uid 65534");
        assert!(out.contains(&refusal), "{out}");
    }
    let counters = client::call(&socket, "counters", None, client::TIMEOUT).expect("counters");
    assert_eq!(counter(&counters, "errors"), writes.len() as i64);
    let owner = std::fs::metadata(&socket).map(|m| m.uid()).unwrap_or(1);
    assert_eq!(owner, 0);
    server.stop();
}

#[test]
fn blank_lines_do_not_keep_a_connection_open() {
    // 64 clients sending "\n" every 3 s used to hold every slot for ever.
    let dir = TempDir::new("blank");
    let server = start(&dir, Limits { idle: Duration::from_millis(400), ..Limits::default() });
    let mut conn = Conn::open(&dir.socket());
    let started = Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_millis(1500) && conn.writer.write_all(b"\n").is_ok() {
        sent += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(sent < 15, "the connection took blank lines for {:?}", started.elapsed());
    assert_eq!(error(&conn.reply()), "closed: no complete request line within 400 ms");
    server.stop();
}

#[test]
fn a_connection_lives_at_most_its_lifetime_however_busy() {
    let dir = TempDir::new("lifetime");
    let limits = Limits {
        idle: Duration::from_millis(300),
        lifetime: Duration::from_millis(800),
        ..Limits::default()
    };
    let server = start(&dir, limits);
    let mut conn = Conn::open(&dir.socket());
    let started = Instant::now();
    // Requests every 100 ms, each answered, until the server ends the connection.
    let closing = loop {
        if conn.writer.write_all(b"{\"method\":\"vrrp\"}\n").is_err() {
            // Closed meanwhile: its last line is still there to read.
            break conn.reply();
        }
        let reply = conn.reply();
        if !reply::is_ok(&reply) {
            break reply;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "still open after {:?}", started.elapsed());
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(error(&closing), "closed: a connection lives at most 800 ms");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(800), "closed after {took:?}");
    assert!(conn.closed());
    server.stop();
}

/// Runs `python3` as `uid` with a connection per entry of `count` to `socket`, printing
/// for each what the server said within 300 ms (`busy`, or `open` for nothing: admitted);
/// the connections stay open until the returned child is killed.
fn connect_as(uid: u32, socket: &Path, count: usize) -> (std::process::Child, Vec<String>) {
    let script = r#"
import socket, sys, time
conns = []
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    conns.append(s)
time.sleep(0.3)
for s in conns:
    s.setblocking(False)
    try:
        said = s.recv(4096).decode()
        print("busy" if '"busy":true' in said else "other:" + said.strip(), flush=True)
    except BlockingIOError:
        print("open", flush=True)
print("done", flush=True)
sys.stdin.read()
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .arg(socket)
        .arg(count.to_string())
        .uid(uid)
        .gid(uid)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut said = Vec::new();
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap_or(0) == 0 || line.trim() == "done" {
            break;
        }
        said.push(line.trim().to_owned());
    }
    (child, said)
}

fn root_only(what: &str) -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{what} needs root (CI=true)");
    eprintln!("SKIPPED: {what} needs root");
    false
}

#[test]
fn other_users_cannot_take_every_connection_from_root() {
    if !root_only("switching users") {
        return;
    }
    let dir = TempDir::new("slots");
    // Idle connections are kept for the whole test.
    let server = start(&dir, Limits { idle: Duration::from_secs(60), ..Limits::default() });
    let socket = dir.socket();
    // Opened to other users, as for a monitoring user.
    let open = |p: &Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    open(&dir.0, 0o755).expect("chmod");
    open(socket.parent().unwrap_or(&socket), 0o755).expect("chmod");
    open(&socket, 0o666).expect("chmod");
    // One user: 8 connections, not more.
    let (first, said) = connect_as(60000, &socket, 10);
    assert_eq!(said, [vec!["open"; 8], vec!["busy"; 2]].concat(), "one user's connections");
    // Seven users: 56 of the 64; the eighth user finds the rest kept for root.
    let mut holders = vec![first];
    for uid in 60001..60007 {
        let (child, said) = connect_as(uid, &socket, 8);
        assert_eq!(said, vec!["open"; 8], "uid {uid}");
        holders.push(child);
    }
    let (child, said) = connect_as(60007, &socket, 1);
    assert_eq!(said, vec!["busy"], "the eighth user");
    holders.push(child);
    // Root still gets in.
    let reply = client::call(&socket, "status", None, Duration::from_secs(1)).expect("root's status");
    assert!(reply::is_ok(&reply), "{reply}");
    for mut h in holders {
        let _ = h.kill();
        let _ = h.wait();
    }
    server.stop();
}

#[test]
fn the_client_refuses_a_server_of_another_user() {
    if !root_only("switching users") {
        return;
    }
    // Another user's process listening where root's keeplite status will look.
    let dir = TempDir::new("impostor");
    let socket = dir.0.join("status.sock");
    std::os::unix::fs::chown(&dir.0, Some(60010), Some(60010)).expect("chown");
    let script = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(4)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b'{"ok":true,"schema":1,"vrrp":[]}\n')
"#;
    let mut impostor = Command::new("python3")
        .args(["-c", script])
        .arg(&socket)
        .uid(60010)
        .gid(60010)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut ready = String::new();
    let _ = BufReader::new(impostor.stdout.take().expect("stdout")).read_line(&mut ready);
    assert_eq!(ready.trim(), "ready");
    let e = client::call(&socket, "status", None, Duration::from_secs(1)).unwrap_err();
    assert!(e.contains("answered by a process of uid 60010") && e.contains("refused"), "{e}");
    let _ = impostor.kill();
    let _ = impostor.wait();
}

#[test]
fn a_socket_directory_others_can_write_is_refused() {
    let dir = TempDir::new("opendir");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let e =
        Server::start_with(dir.0.join("status.sock"), handler(), Limits::default()).err().expect("refused");
    assert!(e.contains("is writable by group or others (mode 777): refused"), "{e}");
}
