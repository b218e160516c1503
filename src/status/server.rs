//! The status socket server: a thread of its own with one async task per connection, so
//! no client, however slow or hostile, can delay VRRP, and a few cannot shut out the rest.

use super::connection;
use super::events::{self, Hub};
use super::peer_cred::peer_cred;
use super::request::Request;
use super::socket_file::{self, FileId};
use crate::json::Json;
use crate::log;
use async_io::{Async, Timer};
use futures_lite::future;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Longest request line, in bytes, without its newline.
pub const MAX_LINE: usize = 4096;
/// A connection that sends no complete line (or does not take its reply) for this long is
/// closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more are accepted and closed at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Of those, the last ones are root's: other users together hold at most
/// `MAX_CONNECTIONS - ROOT_RESERVED`, so root's `keeplite status` always gets in.
pub const ROOT_RESERVED: usize = 8;
/// Connections one non-root user may hold at once.
pub const PER_UID: usize = 8;
/// The longest a connection lives, however busy: requests keep it open, not forever.
pub const LIFETIME: Duration = Duration::from_secs(60);
/// How long a [`Reply::Later`] may take before the client is told there was no answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a failed `accept` (out of descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The server's limits; [`Limits::default`] is the named constants above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_line: usize,
    pub idle: Duration,
    pub max_connections: usize,
    pub root_reserved: usize,
    pub per_uid: usize,
    pub lifetime: Duration,
    pub answer: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_line: MAX_LINE,
            idle: IDLE_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            root_reserved: ROOT_RESERVED,
            per_uid: PER_UID,
            lifetime: LIFETIME,
            answer: ANSWER_TIMEOUT,
        }
    }
}

/// Who is asking, from `SO_PEERCRED` (the credentials at `connect` time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    /// 0 when the peer is in a pid namespace the daemon cannot see.
    pub pid: i32,
}

impl Peer {
    /// True for root, the only caller of write methods.
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

/// A reply body (its fields go after `"ok":true,"schema":1`), or the error text.
pub type Answer = Result<Json, String>;

/// What a handler returns.
pub enum Reply {
    /// The answer, now.
    Now(Answer),
    /// An answer another thread sends later (e.g. the event loop, after a reload); the
    /// client waits up to [`Limits::answer`], other clients not at all.
    Later(async_channel::Receiver<Answer>),
}

impl From<Answer> for Reply {
    fn from(answer: Answer) -> Reply {
        Reply::Now(answer)
    }
}

/// What the daemon provides: answers to valid requests. Called on the status thread, so
/// it must not block: read a snapshot behind a briefly held lock, send a command and
/// return [`Reply::Later`]. Write methods reach it only from root.
pub trait Handler: Send + 'static {
    /// Answers `request` from `peer`.
    fn call(&self, request: &Request, peer: &Peer) -> Reply;
}

impl<F: Fn(&Request, &Peer) -> Reply + Send + 'static> Handler for F {
    fn call(&self, request: &Request, peer: &Peer) -> Reply {
        self(request, peer)
    }
}

/// The server's own counters, shown by the `status` and `counters` methods.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections served.
    pub connections: AtomicU64,
    /// Request lines received.
    pub requests: AtomicU64,
    /// Requests answered with an error, and over-long lines.
    pub errors: AtomicU64,
    /// Connections closed at once because `max_connections` were open.
    pub refused: AtomicU64,
    /// Connections closed for idling.
    pub timeouts: AtomicU64,
}

impl Stats {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters as a JSON object.
    pub fn json(&self) -> Json {
        let get = |c: &AtomicU64| Json::Int(i64::try_from(c.load(Ordering::Relaxed)).unwrap_or(i64::MAX));
        Json::object([
            ("connections", get(&self.connections)),
            ("requests", get(&self.requests)),
            ("errors", get(&self.errors)),
            ("refused", get(&self.refused)),
            ("timeouts", get(&self.timeouts)),
        ])
    }
}

/// What every connection task shares.
pub(super) struct Shared {
    pub handler: Box<dyn Handler>,
    pub limits: Limits,
    pub stats: Arc<Stats>,
    /// Connections open now, and how many of them each non-root user holds.
    pub open: Cell<usize>,
    pub by_uid: RefCell<HashMap<u32, usize>>,
    /// The event stream's subscribers.
    pub hub: Hub,
}

/// A running server; [`Server::stop`] (or dropping it) closes it and removes the socket.
pub struct Server {
    path: PathBuf,
    id: FileId,
    stats: Arc<Stats>,
    stop: async_channel::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on `path` with the default limits.
    pub fn start(path: impl AsRef<Path>, handler: impl Handler) -> Result<Server, String> {
        Server::start_with(path, handler, Limits::default())
    }

    /// Listens on `path` with the default limits; `subscribe` streams the events of `events`.
    pub fn start_with_events(
        path: impl AsRef<Path>,
        handler: impl Handler,
        events: events::Source,
    ) -> Result<Server, String> {
        Server::spawn(path, handler, Limits::default(), Some(events))
    }

    /// Listens on `path` with `limits`.
    pub fn start_with(
        path: impl AsRef<Path>,
        handler: impl Handler,
        limits: Limits,
    ) -> Result<Server, String> {
        Server::spawn(path, handler, limits, None)
    }

    fn spawn(
        path: impl AsRef<Path>,
        handler: impl Handler,
        limits: Limits,
        events: Option<events::Source>,
    ) -> Result<Server, String> {
        let path = path.as_ref().to_path_buf();
        let (listener, id) = socket_file::bind(&path)?;
        let listener = match Async::new(listener) {
            Ok(l) => l,
            Err(e) => {
                socket_file::remove(&path, id);
                return Err(format!("status socket {}: {e}", path.display()));
            }
        };
        let stats = Arc::new(Stats::default());
        let (stop, stopped) = async_channel::bounded(1);
        let handler: Box<dyn Handler> = Box::new(handler);
        let thread_stats = stats.clone();
        let spawned = std::thread::Builder::new().name("status".into()).spawn(move || {
            // Made here: the subscribers' queues belong to this thread.
            let shared = Shared {
                handler,
                limits,
                stats: thread_stats,
                open: Cell::new(0),
                by_uid: RefCell::new(HashMap::new()),
                hub: Hub::default(),
            };
            run(listener, Rc::new(shared), stopped, events)
        });
        match spawned {
            Ok(thread) => {
                log::info!("status: listening on {}", path.display());
                Ok(Server { path, id, stats, stop, thread: Some(thread) })
            }
            Err(e) => {
                socket_file::remove(&path, id);
                Err(format!("status socket {}: cannot start its thread: {e}", path.display()))
            }
        }
    }

    /// The server's counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes every connection, stops the thread and removes the socket file.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
            socket_file::remove(&self.path, self.id);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The thread: accepts until stopped; dropping the executor closes open connections.
fn run(
    listener: Async<UnixListener>,
    shared: Rc<Shared>,
    stopped: async_channel::Receiver<()>,
    events: Option<events::Source>,
) {
    let ex = async_executor::LocalExecutor::new();
    if let Some(source) = events {
        let shared = shared.clone();
        ex.spawn(async move { shared.hub.run(source).await }).detach();
    }
    async_io::block_on(ex.run(async {
        // Out of descriptors, accept fails every ACCEPT_BACKOFF: logged once per streak.
        let mut failing = false;
        loop {
            let next = future::or(async { Some(listener.accept().await) }, async {
                let _ = stopped.recv().await;
                None
            });
            match next.await {
                None => return,
                Some(Ok((stream, _))) => {
                    failing = false;
                    if let Some(peer) = admit(&stream, &shared) {
                        let guard = OpenGuard::new(shared.clone(), peer.uid);
                        ex.spawn(async move {
                            connection::serve(stream, peer, &guard.0).await;
                            drop(guard);
                        })
                        .detach();
                    }
                }
                Some(Err(e)) => {
                    if !failing {
                        log::error!("status: accept failed: {e}");
                    }
                    failing = true;
                    Timer::after(ACCEPT_BACKOFF).await;
                }
            }
        }
    }));
}

/// Decides whether a new connection is served; refused ones get a best-effort error line
/// and are closed (when the caller drops them).
fn admit(stream: &Async<UnixStream>, shared: &Shared) -> Option<Peer> {
    let refuse = |reply: Json| {
        // Never waits: a fresh socket's buffer takes one short line.
        let _ = stream.get_ref().write(format!("{reply}\n").as_bytes());
    };
    let peer = match peer_cred(stream.get_ref().as_fd()) {
        Ok(peer) => peer,
        Err(e) => {
            Stats::bump(&shared.stats.errors);
            refuse(super::reply::error(format!("cannot read the caller's credentials: {e}")));
            return None;
        }
    };
    if let Some(why) = full(shared, &peer) {
        Stats::bump(&shared.stats.refused);
        refuse(super::reply::busy(why));
        return None;
    }
    Stats::bump(&shared.stats.connections);
    Some(peer)
}

/// Why a connection from `peer` cannot be served now, if it cannot.
fn full(shared: &Shared, peer: &Peer) -> Option<String> {
    let limits = &shared.limits;
    let open = shared.open.get();
    if open >= limits.max_connections {
        return Some(format!("busy: {} connections open; try again", limits.max_connections));
    }
    if peer.is_root() {
        return None;
    }
    let others = shared.by_uid.borrow().values().sum::<usize>();
    if others >= limits.max_connections.saturating_sub(limits.root_reserved) {
        return Some("busy: the connections for users other than root are all open; try again".into());
    }
    if shared.by_uid.borrow().get(&peer.uid).copied().unwrap_or(0) >= limits.per_uid {
        return Some(format!(
            "busy: uid {} has {} connections open already; try again",
            peer.uid, limits.per_uid
        ));
    }
    None
}

/// Counts a connection as open, and as its user's (uid 0's are not counted by user), for
/// as long as it lives (its task may be dropped at stop).
struct OpenGuard(Rc<Shared>, Option<u32>);

impl OpenGuard {
    fn new(shared: Rc<Shared>, uid: u32) -> OpenGuard {
        shared.open.set(shared.open.get() + 1);
        let user = (uid != 0).then_some(uid);
        if let Some(uid) = user {
            *shared.by_uid.borrow_mut().entry(uid).or_insert(0) += 1;
        }
        OpenGuard(shared, user)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.set(self.0.open.get().saturating_sub(1));
        if let Some(uid) = self.1 {
            let mut by_uid = self.0.by_uid.borrow_mut();
            if let Some(n) = by_uid.get_mut(&uid) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    by_uid.remove(&uid);
                }
            }
        }
    }
}
