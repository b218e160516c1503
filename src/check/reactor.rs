//! The checker's own event loop: one epoll instance and one timer list per thread, driven
//! by [`block_on`] on that thread alone.
//!
//! Why not async-io's reactor: it is one per process, shared by every thread that runs
//! `async_io::block_on` (the checks and the status threads) and by its "async-io" helper
//! thread, which takes the reactor over whenever the thread blocked on it was busy for
//! more than 500 us, and from then on wakes that thread across threads for each event.
//! Every new timer also writes to its eventfd. Under emulation (qemu TCG), where 500 us
//! pass quickly, the helper thread took 44 s of the 198 s the checker spent in the
//! benchmark. Here the thread that runs the probes is the only one that waits on their
//! descriptors, sockets are registered once, edge-triggered (no re-arming per wait), and
//! timers are a map on the same thread: a probe costs no cross-thread wake-up, and a
//! loop iteration one `epoll_pwait` for all the probes it serves.

mod socket;
mod timer;

pub use socket::Socket;
pub use timer::Timer;

use rustix::event::epoll::{self, CreateFlags, Event, EventData, EventFlags};
use rustix::event::{eventfd, EventfdFlags};
use rustix::fd::{AsFd, OwnedFd};
use rustix::time::Timespec;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

/// Events taken per `epoll_pwait`; more wait for the next call, which does not block.
const EVENTS_PER_WAIT: usize = 256;
/// The epoll key of the eventfd that wakes the loop from other threads.
const WAKE_KEY: u64 = u64::MAX;
/// Polls in a row, woken while it ran, before a look at the sockets and timers. A probe's
/// end wakes the loop from within (the executor, the results channel): running it again
/// at once saves an `epoll_pwait` that would find nothing; the bound keeps a future that
/// always wakes itself from starving the sockets.
const POLLS_WITHOUT_IO: u32 = 16;

/// What a socket is ready for, and who waits for it.
#[derive(Default)]
struct Readiness {
    readable: bool,
    writable: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

/// A slot of the socket table. The generation goes into the epoll key, so an event that
/// still names a freed slot (its descriptor kept alive a moment by a forked child) is
/// dropped rather than taken for the slot's next socket.
struct Slot {
    generation: u32,
    readiness: Option<Readiness>,
}

/// One thread's event loop.
pub struct Reactor {
    epoll: OwnedFd,
    slots: RefCell<Vec<Slot>>,
    free: RefCell<Vec<u32>>,
    /// Pending timers by deadline; the `u64` tells timers with the same deadline apart.
    timers: RefCell<BTreeMap<(Instant, u64), Waker>>,
    next_timer: Cell<u64>,
}

thread_local! {
    /// The reactor of the [`block_on`] running on this thread.
    static CURRENT: RefCell<Option<Rc<Reactor>>> = const { RefCell::new(None) };
}

impl Reactor {
    fn new() -> io::Result<Reactor> {
        Ok(Reactor {
            epoll: epoll::create(CreateFlags::CLOEXEC)?,
            slots: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            timers: RefCell::new(BTreeMap::new()),
            next_timer: Cell::new(0),
        })
    }

    /// The reactor of the `block_on` running on this thread, if any.
    fn current() -> Option<Rc<Reactor>> {
        CURRENT.with(|c| c.borrow().clone())
    }

    /// Watches `fd` for reading and writing, edge-triggered: the kernel reports each
    /// change once, so nothing is re-armed per wait. Returns its key.
    fn register(&self, fd: impl AsFd) -> io::Result<u64> {
        let mut slots = self.slots.borrow_mut();
        let index = match self.free.borrow_mut().pop() {
            Some(i) => i,
            None => {
                slots.push(Slot { generation: 0, readiness: None });
                (slots.len() - 1) as u32
            }
        };
        let slot = &mut slots[index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        let key = (u64::from(slot.generation) << 32) | u64::from(index);
        let flags = EventFlags::IN | EventFlags::OUT | EventFlags::RDHUP | EventFlags::ET;
        if let Err(e) = epoll::add(&self.epoll, fd, EventData::new_u64(key), flags) {
            self.free.borrow_mut().push(index);
            return Err(e.into());
        }
        slot.readiness = Some(Readiness::default());
        Ok(key)
    }

    /// Forgets a socket. There is no `EPOLL_CTL_DEL`: closing the descriptor, next, takes
    /// it out of the epoll set (a syscall saved per probe), and the slot's generation
    /// guards against a late event.
    fn deregister(&self, key: u64) {
        let index = key as u32;
        if let Some(slot) = self.slots.borrow_mut().get_mut(index as usize) {
            slot.readiness = None;
            self.free.borrow_mut().push(index);
        }
    }

    /// Runs `f` on the readiness of the socket `key` (which is registered while its
    /// [`Socket`] lives).
    fn with<R>(&self, key: u64, f: impl FnOnce(&mut Readiness) -> R) -> Option<R> {
        let mut slots = self.slots.borrow_mut();
        let slot = slots.get_mut(key as u32 as usize)?;
        if u64::from(slot.generation) != key >> 32 {
            return None;
        }
        slot.readiness.as_mut().map(f)
    }

    fn add_timer(&self, at: Instant, waker: Waker) -> u64 {
        let id = self.next_timer.get();
        self.next_timer.set(id.wrapping_add(1));
        self.timers.borrow_mut().insert((at, id), waker);
        id
    }

    /// Waits for events until `deadline` (none: until one comes; a deadline passed: just
    /// looks), then wakes whoever they concern and every timer that is due.
    fn react(&self, events: &mut Vec<Event>, signal: &Signal, deadline: Option<Instant>) -> io::Result<()> {
        let timeout = deadline.map(|d| {
            let left = d.saturating_duration_since(Instant::now());
            Timespec { tv_sec: left.as_secs() as i64, tv_nsec: left.subsec_nanos().into() }
        });
        events.clear();
        let waited = epoll::wait(&self.epoll, rustix::buffer::spare_capacity(events), timeout.as_ref());
        // Awake from here on: the wakers below run on this thread and need no eventfd.
        signal.sleeping.store(false, Ordering::SeqCst);
        match waited {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        // Wakers run after the borrows end: a woken task may run no code here, but its
        // waker may be anything.
        let mut woken: Vec<Waker> = Vec::new();
        for event in events.iter() {
            let key = event.data.u64();
            if key == WAKE_KEY {
                let mut count = [0u8; 8];
                let _ = rustix::io::read(&signal.eventfd, &mut count);
                continue;
            }
            let flags = event.flags;
            let hangup = flags.intersects(EventFlags::ERR | EventFlags::HUP);
            self.with(key, |r| {
                if hangup || flags.intersects(EventFlags::IN | EventFlags::RDHUP | EventFlags::PRI) {
                    r.readable = true;
                    woken.extend(r.reader.take());
                }
                if hangup || flags.contains(EventFlags::OUT) {
                    r.writable = true;
                    woken.extend(r.writer.take());
                }
            });
        }
        let now = Instant::now();
        {
            let mut timers = self.timers.borrow_mut();
            while let Some(entry) = timers.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                woken.push(entry.remove());
            }
        }
        woken.into_iter().for_each(Waker::wake);
        Ok(())
    }
}

/// Wakes a [`block_on`] loop: a flag, and the eventfd when the loop sleeps in epoll (only
/// a waker used from another thread finds it so: on the loop's own thread it never is).
struct Signal {
    woken: AtomicBool,
    sleeping: AtomicBool,
    eventfd: OwnedFd,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // SeqCst on both sides: either this sees `sleeping`, or the loop sees `woken`
        // before it sleeps.
        if !self.woken.swap(true, Ordering::SeqCst) && self.sleeping.load(Ordering::SeqCst) {
            let _ = rustix::io::write(&self.eventfd, &1u64.to_ne_bytes());
        }
    }
}

/// Runs `future` to its end on this thread, waiting on the sockets and timers of the
/// checks it runs. Fails only when the epoll instance cannot be made (no descriptors).
pub fn block_on<T>(future: impl Future<Output = T>) -> io::Result<T> {
    let reactor = Rc::new(Reactor::new()?);
    let signal = Arc::new(Signal {
        woken: AtomicBool::new(false),
        sleeping: AtomicBool::new(false),
        eventfd: eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?,
    });
    epoll::add(&reactor.epoll, &signal.eventfd, EventData::new_u64(WAKE_KEY), EventFlags::IN)?;
    let previous = CURRENT.with(|c| c.replace(Some(reactor.clone())));
    // Put back on the way out, a panic included, so no reactor outlives its loop here.
    struct Restore(Option<Option<Rc<Reactor>>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take().flatten();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let _restore = Restore(Some(previous));

    let waker = Waker::from(signal.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let mut events = Vec::with_capacity(EVENTS_PER_WAIT);
    let mut polls = 0;
    loop {
        signal.woken.store(false, Ordering::SeqCst);
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return Ok(value);
        }
        if signal.woken.load(Ordering::SeqCst) && polls < POLLS_WITHOUT_IO {
            polls += 1;
            continue;
        }
        polls = 0;
        // Woken while it ran: look for events without waiting, then run it again.
        let mut deadline = reactor.timers.borrow().first_key_value().map(|(&(at, _), _)| at);
        if signal.woken.load(Ordering::SeqCst) {
            deadline = Some(Instant::now());
        } else {
            signal.sleeping.store(true, Ordering::SeqCst);
            if signal.woken.load(Ordering::SeqCst) {
                deadline = Some(Instant::now());
            }
        }
        reactor.react(&mut events, &signal, deadline)?;
    }
}

/// [`block_on`] for tests, which have descriptors to spare.
#[cfg(test)]
pub fn block_on_test<T>(future: impl Future<Output = T>) -> T {
    block_on(future).expect("an event loop")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_waker_from_another_thread_wakes_the_loop() {
        let (tx, rx) = async_channel::bounded::<u32>(1);
        let t = Instant::now();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            tx.send_blocking(7).unwrap();
        });
        assert_eq!(block_on(rx.recv()).unwrap(), Ok(7));
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        sender.join().unwrap();
    }

    #[test]
    fn timers_fire_in_order_and_not_early() {
        let t = Instant::now();
        let order = RefCell::new(Vec::new());
        block_on(futures_lite::future::zip(
            async {
                Timer::after(Duration::from_millis(60)).await;
                order.borrow_mut().push(2);
            },
            async {
                Timer::after(Duration::from_millis(20)).await;
                order.borrow_mut().push(1);
            },
        ))
        .unwrap();
        assert!(t.elapsed() >= Duration::from_millis(60));
        assert_eq!(order.into_inner(), [1, 2]);
    }

    #[test]
    fn a_future_that_always_wakes_itself_does_not_starve_timers() {
        let t = Instant::now();
        block_on(futures_lite::future::or(Timer::after(Duration::from_millis(20)), async {
            loop {
                futures_lite::future::yield_now().await;
            }
        }))
        .unwrap();
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }

    #[test]
    fn a_dropped_timer_leaves_nothing_behind() {
        block_on(async {
            let r = Reactor::current().unwrap();
            futures_lite::future::or(Timer::after(Duration::from_secs(60)), async {}).await;
            assert!(r.timers.borrow().is_empty());
        })
        .unwrap();
    }
}
