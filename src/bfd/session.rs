//! One BFD session in Asynchronous mode (RFC 5880 section 6), without Demand mode, the Echo
//! function or authentication: its state machine, the intervals it negotiates and its two
//! timers (the next packet, the detection time). Pure: the caller hands it the packets
//! addressed to it and the time, sends what [`Session::due`] returns, and acts on the
//! state changes.
//!
//! As keepalived does, a session that is not Up transmits every `idle_tx` (RFC 5880
//! section 6.8.3: at least one second while not Up) and, once Up, every `min_tx`,
//! announced by a Poll Sequence; going down it drops back to `idle_tx` at once (a peer that
//! is gone never ends a Poll Sequence).

use super::packet::{Control, Diag, State};
use std::time::{Duration, Instant};

/// A session's configured timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The interval this side wants to send at once Up (bfd.DesiredMinTxInterval).
    pub min_tx: Duration,
    /// The shortest interval this side takes packets at (bfd.RequiredMinRxInterval).
    pub min_rx: Duration,
    /// The interval while not Up (at least 1 s, RFC 5880 section 6.8.3).
    pub idle_tx: Duration,
    /// Detect Mult: packets missed before the peer calls the session down.
    pub multiplier: u8,
    /// Sends nothing until the peer has (RFC 5880 section 6.1's passive role).
    pub passive: bool,
}

/// A change of the session's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub from: State,
    pub to: State,
    /// Why, as the packets now say (for logs).
    pub diag: Diag,
}

/// One session's state (RFC 5880 section 6.8.1's variables, intervals in microseconds).
#[derive(Debug, Clone)]
pub struct Session {
    timing: Timing,
    local_discr: u32,
    state: State,
    diag: Diag,
    remote_discr: u32,
    remote_state: State,
    remote_min_rx: u32,
    /// What this side advertises as Desired Min TX.
    desired_tx: u32,
    /// The interval transmissions use: it follows `desired_tx`, except that an increase
    /// while Up waits for the Poll Sequence to end.
    tx_base: u32,
    /// The peer's Detect Mult times the agreed receive interval.
    detection: Duration,
    polling: bool,
    /// A packet with Final is owed (the peer polled).
    final_owed: bool,
    next_tx: Instant,
    /// When the session goes down unless a packet comes (Init and Up only).
    detect_at: Option<Instant>,
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

impl Session {
    /// A session in Down with discriminator `local_discr` (non-zero, unique on this
    /// system); an active one sends its first packet at `now`.
    pub fn new(timing: Timing, local_discr: u32, now: Instant) -> Session {
        let idle = micros(timing.idle_tx);
        Session {
            timing,
            local_discr,
            state: State::Down,
            diag: Diag::None,
            remote_discr: 0,
            remote_state: State::Down,
            // RFC 5880 section 6.8.1: initialised to 1 (not 0, which asks for no packets).
            remote_min_rx: 1,
            desired_tx: idle,
            tx_base: idle,
            detection: Duration::ZERO,
            polling: false,
            final_owed: false,
            next_tx: now,
            detect_at: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn local_discr(&self) -> u32 {
        self.local_discr
    }

    /// The peer's discriminator (0 until it is heard, and after it timed out).
    pub fn remote_discr(&self) -> u32 {
        self.remote_discr
    }

    /// How long the peer may stay silent (0 before it is heard).
    pub fn detection_time(&self) -> Duration {
        self.detection
    }

    /// The interval packets are sent at now, before jitter.
    pub fn tx_interval(&self) -> Duration {
        Duration::from_micros(u64::from(self.tx_base.max(self.remote_min_rx)))
    }

    /// Takes a packet addressed to this session (by Your Discriminator, or for a first
    /// packet by the peer's address), already through [`Control::parse`]. Returns the
    /// change of state it causes.
    pub fn receive(&mut self, c: &Control, now: Instant) -> Option<Change> {
        if self.state == State::AdminDown {
            return None;
        }
        self.remote_discr = c.my_discr;
        self.remote_state = c.state;
        let was_fast = self.tx_interval();
        self.remote_min_rx = c.required_min_rx;
        if c.fin && self.polling {
            self.polling = false;
            self.tx_base = self.desired_tx;
        }
        // RFC 5880 section 6.8.4: the peer's multiplier times the slower of what it sends
        // at and what this side takes.
        let agreed = c.desired_min_tx.max(micros(self.timing.min_rx));
        self.detection = Duration::from_micros(u64::from(agreed) * u64::from(c.detect_mult));
        if c.poll {
            self.final_owed = true;
        }
        if self.tx_interval() < was_fast {
            self.next_tx = self.next_tx.min(now + self.tx_interval());
        }
        let change = match (self.state, c.state) {
            (State::Down | State::Init | State::Up, State::AdminDown) if self.state != State::Down => {
                self.go(State::Down, Diag::NeighborDown, now)
            }
            (State::Down, State::Down) => self.go(State::Init, Diag::None, now),
            (State::Down, State::Init) | (State::Init, State::Init | State::Up) => {
                self.go(State::Up, Diag::None, now)
            }
            (State::Up, State::Down) => self.go(State::Down, Diag::NeighborDown, now),
            _ => None,
        };
        if matches!(self.state, State::Init | State::Up) {
            self.detect_at = Some(now + self.detection);
        }
        change
    }

    /// The detection timer: in Init or Up, a peer silent for the detection time takes
    /// the session down.
    pub fn expire(&mut self, now: Instant) -> Option<Change> {
        match self.detect_at {
            Some(at) if now >= at => {
                self.remote_discr = 0;
                self.remote_state = State::Down;
                self.remote_min_rx = 1;
                self.go(State::Down, Diag::DetectionExpired, now)
            }
            _ => None,
        }
    }

    /// The packet to send now, if one is due: the periodic one (then the next is
    /// scheduled `jitter` of the way into RFC 5880 section 6.8.7's range: 75-100% of the
    /// interval, 90-100% with a multiplier of 1), or a Final owed to the peer's Poll.
    /// `jitter` is a random number; any u32 will do.
    pub fn due(&mut self, now: Instant, jitter: u32) -> Option<Control> {
        // RFC 5880 section 6.8.7: no periodic packets to a peer that asks for none, nor
        // from a passive side that has not heard its peer.
        let silent = self.remote_min_rx == 0 || (self.timing.passive && self.remote_discr == 0);
        let periodic = now >= self.next_tx && !silent;
        if !(periodic || self.final_owed) {
            return None;
        }
        let fin = std::mem::take(&mut self.final_owed);
        if periodic {
            let interval = self.tx_interval().as_micros() as u64;
            let (low, span) = if self.timing.multiplier == 1 { (90, 10) } else { (75, 25) };
            let percent = low + u64::from(jitter) % (span + 1);
            self.next_tx = now + Duration::from_micros(interval * percent / 100);
        }
        // A packet never carries both (RFC 5880 section 6.5).
        Some(self.packet(self.polling && !fin, fin))
    }

    /// This side's packet now, with Poll and Final as given.
    fn packet(&self, poll: bool, fin: bool) -> Control {
        Control {
            diag: self.diag as u8,
            state: self.state,
            poll,
            fin,
            demand: false,
            detect_mult: self.timing.multiplier,
            my_discr: self.local_discr,
            your_discr: self.remote_discr,
            desired_min_tx: self.desired_tx,
            required_min_rx: micros(self.timing.min_rx),
            required_min_echo_rx: 0,
        }
    }

    /// The packet that tells the peer this side is going away (keeplite stops): AdminDown,
    /// which the peer takes as its session going down without counting a failure.
    pub fn admin_down(&mut self) -> Control {
        self.state = State::AdminDown;
        self.diag = Diag::AdminDown;
        self.detect_at = None;
        self.packet(false, false)
    }

    /// When this session next needs [`Session::due`] or [`Session::expire`]: the next
    /// packet or the detection time, whichever is first. (A Final owed is due at once:
    /// ask [`Session::due`] right after [`Session::receive`].)
    pub fn deadline(&self) -> Instant {
        self.detect_at.map_or(self.next_tx, |d| d.min(self.next_tx))
    }

    fn go(&mut self, to: State, diag: Diag, now: Instant) -> Option<Change> {
        let from = self.state;
        self.state = to;
        self.diag = diag;
        if to == State::Up {
            // Faster once Up, announced by a Poll Sequence (RFC 5880 section 6.8.3); a
            // decrease applies at once, an increase when the peer answers.
            self.desired_tx = micros(self.timing.min_tx);
            self.polling = true;
            if self.desired_tx < self.tx_base {
                self.tx_base = self.desired_tx;
                self.next_tx = self.next_tx.min(now + self.tx_interval());
            }
        } else if to == State::Down {
            self.desired_tx = micros(self.timing.idle_tx);
            self.tx_base = self.desired_tx;
            self.polling = false;
            self.detect_at = None;
        }
        Some(Change { from, to, diag })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn timing() -> Timing {
        Timing { min_tx: 100 * MS, min_rx: 100 * MS, idle_tx: 1000 * MS, multiplier: 3, passive: false }
    }

    /// Runs `a` and `b` on a lossless wire from `t0` for `span`, in steps of 1 ms: each
    /// side's timers, then what it sends, delivered at once. Returns each side's changes.
    fn run(a: &mut Session, b: &mut Session, t0: Instant, span: Duration) -> (Vec<Change>, Vec<Change>) {
        let (mut ca, mut cb) = (Vec::new(), Vec::new());
        let mut now = t0;
        while now <= t0 + span {
            ca.extend(a.expire(now));
            cb.extend(b.expire(now));
            while let Some(p) = a.due(now, 7) {
                cb.extend(b.receive(&Control::parse(&p.emit()).expect("accepted"), now));
            }
            while let Some(p) = b.due(now, 7) {
                ca.extend(a.receive(&Control::parse(&p.emit()).expect("accepted"), now));
            }
            now += MS;
        }
        (ca, cb)
    }

    #[test]
    fn two_sessions_come_up_by_the_three_way_handshake() {
        let t0 = Instant::now();
        let (mut a, mut b) = (Session::new(timing(), 1, t0), Session::new(timing(), 2, t0));
        let (ca, cb) = run(&mut a, &mut b, t0, 50 * MS);
        // a's Down reaches b (Init) and b's first packet, Init, reaches a (Up) at once;
        // a's Up reaches b with a's next packet, 100 ms on (the Up interval).
        let states = |c: &[Change]| c.iter().map(|c| c.to).collect::<Vec<_>>();
        assert_eq!(states(&cb), vec![State::Init], "{cb:?}");
        assert_eq!(states(&ca), vec![State::Up], "{ca:?}");
        let (ca, cb) = run(&mut a, &mut b, t0 + 51 * MS, 2000 * MS);
        assert_eq!((states(&ca), states(&cb)), (vec![], vec![State::Up]));
        assert_eq!((a.remote_discr(), b.remote_discr()), (2, 1));
        // Up: 100 ms each way, the peer's 3 x 100 ms to detect.
        assert_eq!(a.tx_interval(), 100 * MS);
        assert_eq!(a.detection_time(), 300 * MS);
    }

    /// Two sessions brought Up, and the time they were.
    fn up_pair(t0: Instant) -> (Session, Session, Instant) {
        let (mut a, mut b) = (Session::new(timing(), 1, t0), Session::new(timing(), 2, t0));
        run(&mut a, &mut b, t0, 3000 * MS);
        assert_eq!((a.state(), b.state()), (State::Up, State::Up));
        (a, b, t0 + 3000 * MS)
    }

    #[test]
    fn an_up_pair_stays_up() {
        let t0 = Instant::now();
        let (mut a, mut b, t1) = up_pair(t0);
        let (ca, cb) = run(&mut a, &mut b, t1, 10_000 * MS);
        assert!(ca.is_empty() && cb.is_empty(), "{ca:?} {cb:?}");
    }

    #[test]
    fn going_up_polls_and_the_peer_answers_with_final() {
        let t0 = Instant::now();
        let (mut a, mut b) = (Session::new(timing(), 1, t0), Session::new(timing(), 2, t0));
        let first = a.due(t0, 0).unwrap();
        b.receive(&first, t0);
        let init = b.due(t0, 0).unwrap();
        assert_eq!(a.receive(&init, t0).map(|c| c.to), Some(State::Up));
        // a is Up: its next packet, 100 ms on, polls with the faster interval.
        assert_eq!(a.due(t0 + 50 * MS, 0), None);
        let p = a.due(t0 + 100 * MS, 0).expect("a packet");
        assert!(p.poll && !p.fin && p.desired_min_tx == 100_000, "{p:?}");
        b.receive(&p, t0 + 100 * MS);
        let f = b.due(t0 + 100 * MS, 0).expect("the Final, at once");
        assert!(f.fin && !f.poll, "{f:?}");
        a.receive(&f, t0 + 100 * MS);
        assert!(!a.due(t0 + 300 * MS, 0).expect("a packet").poll, "the poll sequence ended");
    }

    #[test]
    fn silence_for_the_detection_time_takes_the_session_down() {
        let (mut a, _, t1) = up_pair(Instant::now());
        // The last packet from b came at most 100 ms before t1.
        let t0 = t1 - 100 * MS;
        assert_eq!(a.expire(t1), None);
        let c = (0..400).find_map(|ms| a.expire(t0 + ms * MS)).expect("down within 300 ms");
        assert_eq!((c.from, c.to, c.diag), (State::Up, State::Down, Diag::DetectionExpired));
        assert_eq!(a.remote_discr(), 0);
        // Down: back to idle_tx, and the packets say why.
        assert_eq!(a.tx_interval(), 1000 * MS);
        let p = a.due(t1 + 2000 * MS, 0).expect("a packet");
        assert_eq!((p.state, p.diag, p.your_discr, p.desired_min_tx), (State::Down, 1, 0, 1_000_000));
        // A Down session has no detection timer.
        assert_eq!(a.expire(t1 + 10_000 * MS), None);
    }

    #[test]
    fn the_peer_going_down_or_admin_down_takes_the_session_down() {
        let (mut a, mut b, t1) = up_pair(Instant::now());
        let bye = b.admin_down();
        let c = a.receive(&bye, t1).expect("down");
        assert_eq!((c.to, c.diag), (State::Down, Diag::NeighborDown));
        // And up again when b comes back (a new start: Down, then the handshake).
        let t2 = t1 + 5000 * MS;
        let mut b = Session::new(timing(), 3, t2);
        let (ca, _) = run(&mut a, &mut b, t2, 3000 * MS);
        assert_eq!(ca.last().map(|c| c.to), Some(State::Up));
        assert_eq!((a.state(), b.state(), a.remote_discr()), (State::Up, State::Up, 3));
        // A peer that reports Down (restarted without AdminDown) takes it down too.
        let down = Control { state: State::Down, your_discr: 0, ..b.due(t2 + 10_000 * MS, 0).unwrap() };
        assert_eq!(
            a.receive(&down, t2 + 10_000 * MS).map(|c| (c.to, c.diag)),
            Some((State::Down, Diag::NeighborDown))
        );
    }

    #[test]
    fn transmit_intervals_follow_the_slower_side_with_jitter() {
        // b takes packets no faster than 250 ms: a sends at 75-100% of that once Up.
        let t0 = Instant::now();
        let mut a = Session::new(timing(), 1, t0);
        let mut b = Session::new(Timing { min_rx: 250 * MS, ..timing() }, 2, t0);
        run(&mut a, &mut b, t0, 3000 * MS);
        assert_eq!((a.state(), a.tx_interval(), b.tx_interval()), (State::Up, 250 * MS, 100 * MS));
        // The detection time a keeps for b: b's 3 x max(b's 100 ms tx, a's 100 ms rx).
        assert_eq!(a.detection_time(), 300 * MS);
        let now = t0 + 10_000 * MS;
        a.due(now, 0).expect("due");
        assert_eq!(a.next_tx, now + 187_500 * Duration::from_micros(1), "jitter 0: 75%");
        a.due(a.next_tx, 25).expect("due");
        assert_eq!(a.next_tx, now + 187_500 * Duration::from_micros(1) + 250 * MS, "jitter 25: 100%");
        // With a multiplier of 1, 90-100%.
        let mut one = Session::new(Timing { multiplier: 1, ..timing() }, 9, t0);
        one.due(t0, 0).unwrap();
        assert_eq!(one.next_tx, t0 + 900 * MS);
    }

    #[test]
    fn a_passive_side_waits_for_its_peer_and_a_peer_asking_nothing_gets_nothing() {
        let t0 = Instant::now();
        let mut passive = Session::new(Timing { passive: true, ..timing() }, 1, t0);
        assert_eq!(passive.due(t0, 0), None);
        let mut active = Session::new(timing(), 2, t0);
        passive.receive(&active.due(t0, 0).unwrap(), t0);
        assert!(passive.due(t0, 0).is_some(), "it answers once heard");
        let quiet = Control { required_min_rx: 0, ..active.due(t0 + 1000 * MS, 0).unwrap() };
        passive.receive(&quiet, t0 + 1000 * MS);
        assert_eq!(passive.due(t0 + 5000 * MS, 0), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// Whatever a neighbour sends, whenever: no panic, a transmit interval never below
        /// this side's `min_tx`, never both Poll and Final, and a packet always due again.
        #[test]
        fn any_packets_keep_the_session_sane(
            steps in proptest::collection::vec(
                (0u64..2000, 0u8..4, proptest::prelude::any::<bool>(), proptest::prelude::any::<bool>(),
                 1u8..=255, 0u32..3, proptest::prelude::any::<u32>(), proptest::prelude::any::<u32>()),
                1..40,
            ),
        ) {
            let t0 = Instant::now();
            let mut s = Session::new(timing(), 1, t0);
            let mut now = t0;
            for (ms, state, poll, fin, mult, your, tx, rx) in steps {
                now += Duration::from_millis(ms);
                let state = State::from_bits(state);
                let c = Control {
                    diag: 0, state, poll, fin: fin && !poll, demand: false, detect_mult: mult, my_discr: 9,
                    your_discr: your, desired_min_tx: tx, required_min_rx: rx, required_min_echo_rx: 0,
                };
                s.receive(&c, now);
                s.expire(now);
                if let Some(p) = s.due(now, ms as u32) {
                    proptest::prop_assert!(!(p.poll && p.fin));
                    proptest::prop_assert_eq!(Control::parse(&p.emit()).map(|q| q.my_discr), Ok(1));
                }
                proptest::prop_assert!(s.tx_interval() >= 100 * MS);
                proptest::prop_assert!(s.deadline() > now || s.due(now, 0).is_some() || s.remote_min_rx == 0);
            }
        }
    }
}
