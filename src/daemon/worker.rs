//! A thread that does the event loop's blocking work, one job at a time and in the order
//! asked, and wakes the loop through a descriptor when a job is done. The blocking work is
//! kernel requests that take the RTNL lock (adding an address, opening a socket that joins
//! a multicast group, creating a macvlan): another process can hold that lock for a long
//! time on a busy router, and the VRRP loop must send its adverts meanwhile.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::JoinHandle;

/// The loop's end of a worker thread that turns each job `J` into a result `R`.
pub struct Worker<J, R> {
    jobs: Option<Sender<J>>,
    done: Receiver<R>,
    /// Readable when a job is done (one byte per job).
    wake: UnixStream,
    in_flight: usize,
    thread: Option<JoinHandle<()>>,
}

impl<J: Send + 'static, R: Send + 'static> Worker<J, R> {
    /// Starts thread `name`, which hands each job to `work`.
    pub fn start(name: &str, mut work: impl FnMut(J) -> R + Send + 'static) -> Result<Self, String> {
        let (wake, mut wake_tx) = UnixStream::pair().map_err(|e| e.to_string())?;
        wake.set_nonblocking(true).map_err(|e| e.to_string())?;
        let (jobs, todo) = channel::<J>();
        let (done_tx, done) = channel();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                for job in todo {
                    if done_tx.send(work(job)).is_err() || wake_tx.write_all(&[1]).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| format!("cannot start the {name} thread: {e}"))?;
        Ok(Worker { jobs: Some(jobs), done, wake, in_flight: 0, thread: Some(thread) })
    }

    /// Queues `job`; false when the thread is gone.
    pub fn submit(&mut self, job: J) -> bool {
        let sent = self.jobs.as_ref().is_some_and(|tx| tx.send(job).is_ok());
        self.in_flight += usize::from(sent);
        sent
    }

    /// Readable when a job is done.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// The results of the jobs done since the last call, in the order asked.
    pub fn finished(&mut self) -> Vec<R> {
        let mut buf = [0u8; 64];
        while matches!(self.wake.read(&mut buf), Ok(1..)) {}
        let done: Vec<R> = self.done.try_iter().collect();
        self.in_flight -= done.len().min(self.in_flight);
        done
    }

    /// Waits until every job asked for is done; returns the results not yet taken.
    pub fn wait_idle(&mut self) -> Vec<R> {
        let mut results = self.finished();
        while self.in_flight > 0 {
            match self.done.recv() {
                Ok(r) => {
                    self.in_flight -= 1;
                    results.push(r);
                }
                Err(_) => break,
            }
        }
        let _ = self.finished();
        results
    }
}

impl<J, R> Drop for Worker<J, R> {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    #[test]
    fn jobs_run_in_order_and_are_reported_once_done() {
        let gate = Arc::new(Mutex::new(()));
        let held = gate.lock().unwrap();
        let g = gate.clone();
        let mut w = Worker::start("test", move |n: u32| {
            let _wait = g.lock().unwrap();
            n * 10
        })
        .unwrap();
        assert!(w.submit(1) && w.submit(2) && w.submit(3));
        // Nothing is reported while the thread is held up.
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(w.finished(), Vec::<u32>::new());
        drop(held);
        assert_eq!(w.wait_idle(), vec![10, 20, 30]);
        assert_eq!(w.in_flight, 0);
        assert!(w.finished().is_empty());
    }

    #[test]
    fn the_descriptor_turns_readable_when_a_job_is_done() {
        let mut w = Worker::start("test", |n: u8| n).unwrap();
        w.submit(7);
        let mut fds = [rustix::event::PollFd::new(&w.wake, rustix::event::PollFlags::IN)];
        let ready = rustix::event::poll(&mut fds, None).unwrap();
        assert_eq!(ready, 1);
        assert_eq!(w.finished(), vec![7]);
    }
}
