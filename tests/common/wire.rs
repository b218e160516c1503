//! What crossed a LAN, as one host saw it, with the kernel's timestamps: time measured on
//! the wire, not by a test thread that a busy machine may schedule late (DESIGN.md,
//! "Benchmarks": time it on the wire).
//!
//! A host's own frames are stamped as they leave it, in the sending daemon's system call:
//! capture on the sender to time what a daemon sends. Other hosts' frames are stamped as
//! they enter this host, after the bridge (whose softirq work a busy machine delays and
//! bunches): what this host's daemon could react to, and when.

use super::daemon::{until, Daemon};
use super::Netns;
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::net::{self, RecvFlags};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// A frame and when the kernel received it (CLOCK_REALTIME, as `SystemTime::now()`).
#[derive(Clone)]
pub struct Frame {
    pub at: SystemTime,
    pub bytes: Vec<u8>,
}

/// A VRRP advert (IPv4 or IPv6) seen on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advert {
    pub at: SystemTime,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub vrid: u8,
    pub priority: u8,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
}

impl Frame {
    /// The VRRP advert this frame carries, if it is one (IPv4 protocol or IPv6 next
    /// header 112, without extension headers).
    pub fn advert(&self) -> Option<Advert> {
        let f = &self.bytes;
        let (src, dst, ttl, vrrp) = match f.get(12..14)? {
            [0x08, 0x00] if *f.get(23)? == 112 => {
                let ihl = usize::from(f[14] & 0x0f) * 4;
                let v4 = |at: usize| -> Option<IpAddr> {
                    let o: [u8; 4] = f.get(at..at + 4)?.try_into().ok()?;
                    Some(IpAddr::V4(Ipv4Addr::from(o)))
                };
                (v4(26)?, v4(30)?, *f.get(22)?, f.get(14 + ihl..14 + ihl + 3)?)
            }
            [0x86, 0xdd] if *f.get(20)? == 112 => {
                let v6 = |at: usize| -> Option<IpAddr> {
                    let o: [u8; 16] = f.get(at..at + 16)?.try_into().ok()?;
                    Some(IpAddr::V6(Ipv6Addr::from(o)))
                };
                (v6(22)?, v6(38)?, *f.get(21)?, f.get(54..57)?)
            }
            _ => return None,
        };
        Some(Advert { at: self.at, src, dst, vrid: vrrp[1], priority: vrrp[2], ttl })
    }
}

/// Every frame on a namespace's interfaces (AF_PACKET, ETH_P_ALL: what the host receives
/// and what it sends), read on a thread until dropped or [`finish`](Capture::finish)ed.
pub struct Capture {
    frames: Arc<Mutex<Vec<Frame>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Capture {
    /// Starts capturing in `ns`.
    pub fn start(ns: &Netns) -> Capture {
        let fd: OwnedFd = super::sniffer(ns, Duration::from_millis(20));
        // The first request turns the socket's timestamps on (and may find none yet).
        let _ = kernel_stamp(&fd);
        let frames = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, halt) = (frames.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !halt.load(Ordering::Relaxed) {
                match net::recv(&fd, &mut buf, RecvFlags::empty()) {
                    Ok((n, _)) => {
                        let at = kernel_stamp(&fd).unwrap_or_else(|e| panic!("capture timestamp: {e}"));
                        seen.lock().unwrap().push(Frame { at, bytes: buf[..n].to_vec() });
                    }
                    Err(Errno::AGAIN) | Err(Errno::INTR) => {}
                    Err(e) => panic!("capture recv: {e}"),
                }
            }
        });
        Capture { frames, stop, thread: Some(thread) }
    }

    /// Waits until an advert from `src` is in: from then on, what `src` sends is captured
    /// whole (a hand-over needs the adverts before it).
    pub fn until_advert_from(&self, src: IpAddr, daemons: &[&Daemon]) {
        let what = format!("an advert from {src} in the capture");
        until(&what, Duration::from_secs(10), daemons, || self.adverts().iter().any(|x| x.src == src));
    }

    /// The frames read so far.
    pub fn frames(&self) -> Vec<Frame> {
        self.frames.lock().unwrap().clone()
    }

    /// When the last frame read so far was received (`None` before the first): cheap to
    /// ask often, unlike [`frames`](Self::frames), whose copy holds the reading thread up.
    pub fn last_at(&self) -> Option<SystemTime> {
        self.frames.lock().unwrap().last().map(|f| f.at)
    }

    /// The VRRP adverts read so far.
    pub fn adverts(&self) -> Vec<Advert> {
        self.frames.lock().unwrap().iter().filter_map(Frame::advert).collect()
    }

    /// Stops capturing and returns every frame read.
    pub fn finish(mut self) -> Vec<Frame> {
        self.halt();
        std::mem::take(&mut *self.frames.lock().unwrap())
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.halt();
    }
}

/// A hand-over of virtual router `vrid` as the wire shows it: from the last advert `from`
/// sent (its priority-0 one when it stepped down, its last before falling silent when it
/// died) to the first advert `to` sent after it. `None` until both are there.
pub fn handover(adverts: &[Advert], vrid: u8, from: IpAddr, to: IpAddr) -> Option<(Advert, Advert)> {
    let last = adverts.iter().rev().find(|a| a.vrid == vrid && a.src == from)?;
    let first = adverts.iter().find(|a| a.vrid == vrid && a.src == to && a.at > last.at)?;
    Some((*last, *first))
}

/// Master_Down_Interval of a backup of `priority` whose master advertises every `advert`
/// (RFC 9568 section 6.1: three intervals and Skew_Time).
pub fn master_down_interval(priority: u8, advert: Duration) -> Duration {
    3 * advert + advert * (256 - u32::from(priority)) / 256
}

/// Checks a hand-over by priority-0 advert of virtual router `vrid` from `from` to `to`,
/// whose backup's Master_Down_Interval is `master_down`, and returns how long after the
/// priority-0 advert `to` sent its first. `from`'s last advert must have priority 0, and
/// `to`'s first advert after it must come sooner than `master_down` after `from`'s last
/// regular advert: a backup that ignored the priority-0 advert would take over that late
/// at the earliest, whatever the load; one that took it does so after Skew_Time.
pub fn priority_zero_handover(
    adverts: &[Advert],
    vrid: u8,
    from: IpAddr,
    to: IpAddr,
    master_down: Duration,
) -> Result<Duration, String> {
    let (zero, first) = handover(adverts, vrid, from, to).ok_or("no hand-over on the wire")?;
    if zero.priority != 0 {
        return Err(format!("the last advert of {from} was {zero:?}, not a priority-0 one"));
    }
    let regular = adverts
        .iter()
        .rev()
        .find(|a| a.vrid == vrid && a.src == from && a.at < zero.at)
        .ok_or(format!("no advert of {from} before its priority-0 one"))?;
    let since_regular = between(regular.at, first.at);
    if since_regular >= master_down {
        return Err(format!(
            "{to} took over {since_regular:?} after the last regular advert of {from} (Master_Down_Interval \
             {master_down:?}), {:?} after its priority-0 advert: as if it had not taken that",
            between(zero.at, first.at)
        ));
    }
    Ok(between(zero.at, first.at))
}

/// `later - earlier`, zero when `later` is not later.
pub fn between(earlier: SystemTime, later: SystemTime) -> Duration {
    later.duration_since(earlier).unwrap_or_default()
}

/// The longest interval between consecutive `times`, and how many there are.
pub fn longest_gap(times: &[SystemTime]) -> (Duration, usize) {
    let gap = times.windows(2).map(|w| between(w[0], w[1])).max().unwrap_or(Duration::MAX);
    (gap, times.len())
}

/// When the kernel received the frame `fd` last returned (SIOCGSTAMPNS), as a
/// `SystemTime`. The first call on a socket turns its timestamps on.
fn kernel_stamp(fd: &OwnedFd) -> Result<SystemTime, Errno> {
    use std::os::fd::AsRawFd;
    // asm-generic/sockios.h: SIOCGSTAMPNS_OLD, which takes the C library's 64-bit
    // `struct timespec` on the 64-bit targets the netns tier runs on.
    const SIOCGSTAMPNS: u32 = 0x8907;
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: SIOCGSTAMPNS writes one `struct timespec` to the pointer it is given, which
    // points to a live, writable `libc::timespec`; `fd` is an open socket for the call.
    #[allow(unsafe_code)]
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), SIOCGSTAMPNS as _, &mut ts as *mut libc::timespec) };
    if r < 0 {
        return Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO));
    }
    let since_epoch = Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
    Ok(SystemTime::UNIX_EPOCH + since_epoch)
}
