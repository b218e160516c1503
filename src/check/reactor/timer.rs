//! A deadline on the thread's [`Reactor`]: an entry in its map, taken out by the reactor
//! when due (then the timer is ready) or by the timer when dropped first.

use super::Reactor;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Ready at its deadline. Polled outside a [`super::block_on`], where nothing would wake
/// it, it is ready at once rather than never.
pub struct Timer {
    at: Instant,
    /// The reactor and the entry's id, once registered.
    entry: Option<(Rc<Reactor>, u64)>,
}

impl Timer {
    pub fn at(at: Instant) -> Timer {
        Timer { at, entry: None }
    }

    pub fn after(delay: Duration) -> Timer {
        Timer::at(Instant::now() + delay)
    }

    pub fn deadline(&self) -> Instant {
        self.at
    }
}

impl Future for Timer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let at = self.at;
        match &self.entry {
            Some((reactor, id)) => match reactor.timers.borrow_mut().get_mut(&(at, *id)) {
                // Still pending: the latest waker is the one to wake.
                Some(waker) => {
                    if !waker.will_wake(cx.waker()) {
                        *waker = cx.waker().clone();
                    }
                    Poll::Pending
                }
                None => Poll::Ready(()),
            },
            None => {
                if Instant::now() >= at {
                    return Poll::Ready(());
                }
                let Some(reactor) = Reactor::current() else { return Poll::Ready(()) };
                let id = reactor.add_timer(at, cx.waker().clone());
                self.entry = Some((reactor, id));
                Poll::Pending
            }
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some((reactor, id)) = &self.entry {
            reactor.timers.borrow_mut().remove(&(self.at, *id));
        }
    }
}
