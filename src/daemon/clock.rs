//! Waiting for descriptors or a deadline, precisely.
//!
//! `poll`'s own timeout carries the kernel's select/poll slack of 0.1% of the timeout: a
//! 3.6 s Master_Down_Interval would fire up to 3.6 ms late and every 1 s advert about 1 ms
//! late. A timerfd is an hrtimer with only the thread's small timer slack, so the loop
//! sleeps on one with an infinite poll timeout.

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::time::{
    timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags,
};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

/// A monotonic timer the poll loop waits on.
#[derive(Debug)]
pub struct Clock {
    timer: OwnedFd,
}

const ZERO: Timespec = Timespec { tv_sec: 0, tv_nsec: 0 };

impl Clock {
    /// A disarmed timer.
    pub fn new() -> std::io::Result<Clock> {
        let timer =
            timerfd_create(TimerfdClockId::Monotonic, TimerfdFlags::CLOEXEC | TimerfdFlags::NONBLOCK)?;
        Ok(Clock { timer })
    }

    /// Waits until one of `fds` is readable or `timeout` has passed (`None`: no timeout);
    /// returns each descriptor's readiness. Interruptions return early, which the caller
    /// treats like any other wake-up.
    pub fn wait(&self, fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> Vec<bool> {
        let ts = |d: Duration| Timespec::try_from(d).unwrap_or(Timespec { tv_sec: i64::MAX, tv_nsec: 0 });
        // Arming with zero would disarm: a deadline already passed polls without blocking.
        let (arm, poll_timeout) = match timeout {
            Some(d) if d.is_zero() => (ZERO, Some(ZERO)),
            Some(d) => (ts(d), None),
            None => (ZERO, None),
        };
        let spec = Itimerspec { it_interval: ZERO, it_value: arm };
        let _ = timerfd_settime(&self.timer, TimerfdTimerFlags::empty(), &spec);
        let mut polled: Vec<PollFd<'_>> =
            fds.iter().map(|fd| PollFd::from_borrowed_fd(*fd, PollFlags::IN)).collect();
        polled.push(PollFd::new(&self.timer, PollFlags::IN));
        let _ = poll(&mut polled, poll_timeout.as_ref());
        polled[..fds.len()].iter().map(|p| !p.revents().is_empty()).collect()
    }
}

impl AsFd for Clock {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.timer.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn wakes_at_the_deadline_not_before() {
        let clock = Clock::new().unwrap();
        for ms in [0u64, 5, 50] {
            let start = Instant::now();
            clock.wait(&[], Some(Duration::from_millis(ms)));
            let took = start.elapsed();
            assert!(took >= Duration::from_millis(ms), "{ms} ms: woke after {took:?}");
        }
    }
}
