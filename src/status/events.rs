//! The event stream (`{"method":"subscribe"}`): every VRRP transition, health change and
//! IPVS change as one JSON line, in the order they happened, to every subscriber.
//!
//! The daemon's threads [`emit`](Emitter::emit) into one bounded queue and never wait:
//! a full queue (the status thread stalled) drops the event and counts it, and the
//! subscribers are told how many they missed. On the status thread a [`Hub`] numbers each
//! event (`seq`, one sequence for all, so a gap is visible) and hands it to each
//! subscriber's own bounded queue; a subscriber that lets its queue fill is dropped, with
//! a last line saying so, never waited for.

use crate::json::Json;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Events waiting for the status thread, at most.
pub const BACKLOG: usize = 1024;
/// Events waiting for one subscriber to read them, at most.
pub const PER_SUBSCRIBER: usize = 256;
/// Subscribers at once, at most (each holds a connection slot as well).
pub const MAX_SUBSCRIBERS: usize = 16;

/// One event: its kind (`vrrp`, `sync_group`, `health`, `quorum`, `ipvs`) and fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: &'static str,
    pub fields: Vec<(&'static str, Json)>,
    /// Wall-clock time, in milliseconds since the epoch.
    pub at_ms: i64,
}

/// The producers' end, shared by every thread that has events.
#[derive(Debug)]
pub struct Emitter {
    queue: async_channel::Sender<Event>,
    /// Events dropped because the queue was full.
    lost: AtomicU64,
}

/// The status thread's end.
pub struct Source {
    queue: async_channel::Receiver<Event>,
    emitter: Arc<Emitter>,
}

/// A connected emitter and source.
pub fn channel() -> (Arc<Emitter>, Source) {
    let (tx, rx) = async_channel::bounded(BACKLOG);
    let emitter = Arc::new(Emitter { queue: tx, lost: AtomicU64::new(0) });
    (emitter.clone(), Source { queue: rx, emitter })
}

impl Emitter {
    /// Queues an event of `kind`; never waits.
    pub fn emit(&self, kind: &'static str, fields: Vec<(&'static str, Json)>) {
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        if self.queue.try_send(Event { kind, fields, at_ms }).is_err() {
            self.lost.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Why a subscription ended on the daemon's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The subscriber let [`PER_SUBSCRIBER`] events wait.
    TooSlow,
    /// The daemon is stopping.
    Stopped,
}

/// One subscriber's queue of event lines.
pub struct Subscription {
    lines: async_channel::Receiver<Rc<str>>,
    dropped: Rc<Cell<bool>>,
}

impl Subscription {
    /// The next line, or why there are no more.
    pub async fn next(&self) -> Result<Rc<str>, Ended> {
        match self.lines.recv().await {
            Ok(line) => Ok(line),
            Err(_) if self.dropped.get() => Err(Ended::TooSlow),
            Err(_) => Err(Ended::Stopped),
        }
    }
}

struct Subscriber {
    lines: async_channel::Sender<Rc<str>>,
    dropped: Rc<Cell<bool>>,
}

/// The status thread's fan-out.
#[derive(Default)]
pub struct Hub {
    subscribers: RefCell<Vec<Subscriber>>,
    seq: Cell<u64>,
    /// The emitter's lost count already reported.
    lost_told: Cell<u64>,
}

impl Hub {
    /// A new subscription, or none when [`MAX_SUBSCRIBERS`] are open; also the number the
    /// next event will have.
    pub fn subscribe(&self) -> Option<(Subscription, u64)> {
        let mut subs = self.subscribers.borrow_mut();
        subs.retain(|s| !s.lines.is_closed());
        if subs.len() >= MAX_SUBSCRIBERS {
            return None;
        }
        let (tx, rx) = async_channel::bounded(PER_SUBSCRIBER);
        let dropped = Rc::new(Cell::new(false));
        subs.push(Subscriber { lines: tx, dropped: dropped.clone() });
        Some((Subscription { lines: rx, dropped }, self.seq.get() + 1))
    }

    /// Subscribers now.
    pub fn subscribers(&self) -> usize {
        self.subscribers.borrow().iter().filter(|s| !s.lines.is_closed()).count()
    }

    /// Hands `event` to every subscriber, as its line; `lost` is how many events the
    /// emitter has dropped in all.
    pub fn publish(&self, event: &Event, lost: u64) {
        if lost > self.lost_told.get() {
            let missed = lost - self.lost_told.get();
            self.lost_told.set(lost);
            let fields = vec![("missed", Json::Int(i64::try_from(missed).unwrap_or(i64::MAX)))];
            self.send(&Event { kind: "lost", fields, at_ms: event.at_ms });
        }
        self.send(event);
    }

    fn send(&self, event: &Event) {
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        let line: Rc<str> = line(event, seq).into();
        self.subscribers.borrow_mut().retain(|s| match s.lines.try_send(line.clone()) {
            Ok(()) => true,
            Err(async_channel::TrySendError::Full(_)) => {
                s.dropped.set(true);
                s.lines.close();
                false
            }
            Err(async_channel::TrySendError::Closed(_)) => false,
        });
    }

    /// Publishes every event from `source` until the daemon drops its emitters.
    pub async fn run(&self, source: Source) {
        while let Ok(event) = source.queue.recv().await {
            self.publish(&event, source.emitter.lost.load(Ordering::Relaxed));
            // A burst is handed out one event at a time, the subscribers' writes in
            // between: otherwise the whole backlog would land in their queues at once, and
            // a burst longer than a queue would drop even a subscriber that keeps up.
            futures_lite::future::yield_now().await;
        }
    }
}

/// The JSON line of `event` numbered `seq` (without a newline).
pub fn line(event: &Event, seq: u64) -> String {
    let mut fields = vec![
        ("event".to_owned(), Json::str(event.kind)),
        ("seq".to_owned(), Json::Int(i64::try_from(seq).unwrap_or(i64::MAX))),
        ("time_ms".to_owned(), Json::Int(event.at_ms)),
    ];
    fields.extend(event.fields.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    Json::Object(fields).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: i64) -> Event {
        Event { kind: "vrrp", fields: vec![("n", Json::Int(n))], at_ms: 1000 }
    }

    fn lines(sub: &Subscription) -> Vec<String> {
        std::iter::from_fn(|| sub.lines.try_recv().ok()).map(|l| l.to_string()).collect()
    }

    #[test]
    fn every_subscriber_gets_every_event_numbered_in_order() {
        let hub = Hub::default();
        let (a, first) = hub.subscribe().unwrap();
        assert_eq!(first, 1);
        hub.publish(&event(1), 0);
        let (b, next) = hub.subscribe().unwrap();
        assert_eq!(next, 2);
        hub.publish(&event(2), 0);
        assert_eq!(
            lines(&a),
            [
                r#"{"event":"vrrp","seq":1,"time_ms":1000,"n":1}"#,
                r#"{"event":"vrrp","seq":2,"time_ms":1000,"n":2}"#
            ]
        );
        assert_eq!(lines(&b), [r#"{"event":"vrrp","seq":2,"time_ms":1000,"n":2}"#]);
    }

    #[test]
    fn a_slow_subscriber_is_dropped_and_the_others_go_on() {
        let hub = Hub::default();
        let (slow, _) = hub.subscribe().unwrap();
        let (quick, _) = hub.subscribe().unwrap();
        for n in 0..PER_SUBSCRIBER as i64 {
            hub.publish(&event(n), 0);
            assert_eq!(lines(&quick).len(), 1);
        }
        assert_eq!(hub.subscribers(), 2);
        hub.publish(&event(-1), 0);
        assert_eq!(hub.subscribers(), 1);
        assert_eq!(lines(&quick).len(), 1);
        // The slow one reads what it had, then learns why there is no more.
        assert_eq!(lines(&slow).len(), PER_SUBSCRIBER);
        assert_eq!(async_io::block_on(slow.next()), Err(Ended::TooSlow));
    }

    #[test]
    fn events_the_emitter_dropped_are_reported_as_missed() {
        let (emitter, source) = channel();
        for n in 0..BACKLOG as i64 + 3 {
            emitter.emit("vrrp", vec![("n", Json::Int(n))]);
        }
        let hub = Hub::default();
        let (sub, _) = hub.subscribe().unwrap();
        drop(emitter);
        // Only the first few: the subscriber's own queue is smaller than the backlog.
        let first = async_io::block_on(source.queue.recv()).unwrap();
        hub.publish(&first, source.emitter.lost.load(Ordering::Relaxed));
        let got = lines(&sub);
        assert!(
            got[0].starts_with(r#"{"event":"lost","seq":1,"#) && got[0].ends_with(r#""missed":3}"#),
            "{got:?}"
        );
        assert!(got[1].contains(r#""seq":2,"#) && got[1].ends_with(r#""n":0}"#), "{got:?}");
    }

    #[test]
    fn subscribers_are_capped_and_a_closed_one_frees_its_place() {
        let hub = Hub::default();
        let mut subs: Vec<Subscription> = (0..MAX_SUBSCRIBERS).map(|_| hub.subscribe().unwrap().0).collect();
        assert!(hub.subscribe().is_none());
        drop(subs.pop());
        assert!(hub.subscribe().is_some());
    }

    #[test]
    fn a_stopped_daemon_ends_the_subscriptions() {
        let hub = Hub::default();
        let (sub, _) = hub.subscribe().unwrap();
        drop(hub);
        assert_eq!(async_io::block_on(sub.next()), Err(Ended::Stopped));
    }
}
