//! Orders from the status thread that the event loop carries out, because it owns the
//! VRRP instances and the running configuration: `reload`, `yield`, `hold`. A small
//! bounded queue and a wake-up descriptor; the answer goes back on a channel the status
//! server waits on (its `Reply::Later`), so the event loop never blocks on a client.

use crate::status::server::{Answer, Reply};
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::Duration;

/// Orders waiting at most; a client that asks for more while the loop is busy is told so.
const QUEUE: usize = 8;

/// What the event loop is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    Reload,
    /// Instance `instance` yields for `time` (zero ends a yield).
    Yield {
        instance: String,
        time: Duration,
    },
    /// Instance `instance` is held BACKUP (`on`) or released.
    Hold {
        instance: String,
        on: bool,
    },
}

/// One order and where its answer goes.
pub struct Request {
    pub order: Order,
    answer: async_channel::Sender<Answer>,
}

impl Request {
    /// Sends the answer; a client that gave up is no one's problem.
    pub fn answer(self, answer: Answer) {
        let _ = self.answer.try_send(answer);
    }
}

/// The event loop's end.
pub struct Control {
    orders: Receiver<Request>,
    wake: UnixStream,
}

/// The status thread's end.
pub struct Remote {
    orders: SyncSender<Request>,
    wake: UnixStream,
}

/// A connected pair.
pub fn channel() -> std::io::Result<(Control, Remote)> {
    let (tx, rx) = mpsc::sync_channel(QUEUE);
    let (wake_rx, wake_tx) = UnixStream::pair()?;
    wake_rx.set_nonblocking(true)?;
    wake_tx.set_nonblocking(true)?;
    Ok((Control { orders: rx, wake: wake_rx }, Remote { orders: tx, wake: wake_tx }))
}

impl Control {
    /// Readable when orders wait.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// The orders waiting now.
    pub fn take(&mut self) -> Vec<Request> {
        let mut buf = [0u8; 64];
        while let Ok(1..) = self.wake.read(&mut buf) {}
        std::iter::from_fn(|| self.orders.try_recv().ok()).collect()
    }
}

impl Remote {
    /// Queues `order`; the reply comes when the event loop has carried it out.
    pub fn ask(&self, order: Order) -> Reply {
        let (tx, rx) = async_channel::bounded(1);
        match self.orders.try_send(Request { order, answer: tx }) {
            Ok(()) => {
                // A full socket buffer means a wake-up is pending already.
                let _ = (&self.wake).write(&[1]);
                Reply::Later(rx)
            }
            Err(TrySendError::Full(_)) => {
                Reply::Now(Err("busy: earlier requests are still being carried out".into()))
            }
            Err(TrySendError::Disconnected(_)) => Reply::Now(Err("the daemon is stopping".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Json;

    #[test]
    fn an_order_wakes_the_loop_and_its_answer_reaches_the_asker() {
        let (mut control, remote) = channel().unwrap();
        assert!(control.take().is_empty());
        let Reply::Later(rx) = remote.ask(Order::Reload) else { panic!("queued orders answer later") };
        let orders = control.take();
        assert_eq!(orders.len(), 1);
        assert!(control.take().is_empty(), "the wake-up byte is read with the order");
        for r in orders {
            assert_eq!(r.order, Order::Reload);
            r.answer(Ok(Json::str("done")));
        }
        assert_eq!(rx.try_recv().unwrap(), Ok(Json::str("done")));
    }

    #[test]
    fn a_full_queue_answers_busy_at_once() {
        let (_control, remote) = channel().unwrap();
        for _ in 0..QUEUE {
            assert!(matches!(remote.ask(Order::Reload), Reply::Later(_)));
        }
        match remote.ask(Order::Reload) {
            Reply::Now(Err(e)) => assert!(e.starts_with("busy"), "{e}"),
            _ => panic!("a full queue must answer at once"),
        }
    }

    #[test]
    fn a_stopped_loop_says_so() {
        let (control, remote) = channel().unwrap();
        drop(control);
        match remote.ask(Order::Hold { instance: "gw".into(), on: true }) {
            Reply::Now(Err(e)) => assert!(e.contains("stopping"), "{e}"),
            _ => panic!("no loop, no later answer"),
        }
    }
}
