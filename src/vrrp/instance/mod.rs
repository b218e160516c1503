//! One VRRP virtual router as a sans-IO state machine: RFC 9568 section 6 for v3 and
//! RFC 3768 section 6 for v2, plus keepalived's Fault state and preempt delay.
//!
//! Inputs come in with an explicit `now` ([`Instance::handle_advert`],
//! [`Instance::handle_timeout`], [`Instance::set_link`], ...); outputs come out of
//! [`Instance::poll_action`] and [`Instance::poll_timeout`]. The core never reads a clock
//! or touches a socket, so every rule below runs in tests faster than real time.
//!
//! RFC 9568 calls the Master state "Active"; keeplite keeps keepalived's word, MASTER.

use super::counters::{Counters, Discard};
use super::packet::{Auth, Repr, Version, AUTH_DATA_LEN};
use super::timing::{self, Timing};
use crate::limits;
use heapless::{Deque, Vec as Fixed};
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

/// Protocol state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not started, or stopped.
    Initialize,
    Backup,
    Master,
    /// The interface (or a tracked interface or script without weight) is down.
    Fault,
}

impl State {
    /// Upper-case name, as keepalived logs it.
    pub fn name(self) -> &'static str {
        match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

/// Why a transition happened, for logs, notify scripts and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Startup,
    /// The address owner (priority 255) starts as master.
    Owner,
    /// Master_Down_Timer expired: no advert from a master in time.
    MasterDown,
    /// An advert with higher priority (or equal priority and higher address) arrived.
    Preempted,
    /// A link or tracked object went down.
    Fault,
    /// All links and tracked objects are up again.
    Recovered,
    /// Another member of the sync group moved, and this one follows.
    SyncGroup,
    Shutdown,
    /// The operator asked (the status endpoint's `yield` or `hold`).
    Operator,
}

/// An operator's hold on an instance: it stays BACKUP (the status endpoint's `hold` and
/// `yield`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Until released.
    Indefinite,
    /// Until then (`yield`).
    Until(Instant),
}

/// What the shell must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The state changed (observers: log, notify scripts, status, e-mail).
    Transition { from: State, to: State, reason: Reason },
    /// Add the virtual addresses to the interface.
    AddVips,
    /// Remove the virtual addresses from the interface.
    RemoveVips,
    /// Send an advert with this priority ([`Instance::advert`] builds it).
    SendAdvert { priority: u8 },
    /// Send one burst of gratuitous ARP / unsolicited NA for the virtual addresses.
    Announce,
    /// The same, as a master's answer to a lower-priority advert (its own count of
    /// rounds, `garp_lower_prio_repeat`).
    AnnounceToLower,
    /// Adverts from `src` list other addresses (`theirs` of them) than this router's:
    /// taken all the same (a pair reconfigured one router at a time), unless `strict`.
    /// Reported once per different list, for the log.
    AddressListDiffers { src: IpAddr, theirs: usize, strict: bool },
}

/// One tracked object: an interface or a script, with its weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    /// `None`: down means Fault. `Some(w)`: w > 0 adds w while up, w < 0 adds w while down.
    pub weight: Option<i16>,
    pub up: bool,
}

/// Static parameters of an instance (from the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub vrid: u8,
    pub version: Version,
    /// Configured priority; 255 is the address owner.
    pub priority: u8,
    pub advert_int: Duration,
    /// Addresses carried in adverts (the instance family's VIPs).
    pub addresses: Fixed<IpAddr, { limits::VIPS_PER_INSTANCE }>,
    pub preempt: bool,
    pub preempt_delay: Duration,
    /// v2 simple-text password, zero padded.
    pub auth: Option<[u8; AUTH_DATA_LEN]>,
    /// Second burst of gratuitous ARP after becoming master (0: none).
    pub garp_delay: Duration,
    /// Periodic gratuitous ARP while master (0: none).
    pub garp_refresh: Duration,
    /// RFC 9568's strict receive rule: an advert whose address list differs from the
    /// configured one is discarded (keepalived's `strict_mode`). Off: it still counts
    /// for the election, as keepalived does by default.
    pub strict: bool,
    /// A master answers a lower-priority advert with announcements only, no advert of
    /// its own (keepalived's `lower_prio_no_advert`).
    pub lower_prio_no_advert: bool,
    /// TTL / hop limits an advert may arrive with: 255 only (RFC 9568 section 5.1.1.3),
    /// unless a unicast instance's `min_ttl` / `max_ttl` accept adverts that crossed
    /// routers.
    pub accept_ttl: RangeInclusive<u8>,
}

/// Actions waiting for the shell; a handful per input at most.
type Queue = Deque<Action, 16>;

/// One VRRP virtual router.
#[derive(Debug)]
pub struct Instance {
    params: Params,
    state: State,
    link_up: bool,
    /// Another member of this instance's sync group is in Fault.
    group_fault: bool,
    tracked: Fixed<Tracked, { limits::TRACKED }>,
    /// This router's primary address on the link (ties between equal priorities).
    primary: Option<IpAddr>,
    /// v3: the interval learned from the master's adverts (RFC 9568 Master_Adver_Interval).
    master_adver_int: Duration,
    /// Source and priority of the master's last accepted advert, while backup.
    master: Option<(IpAddr, u8)>,
    adver_timer: Option<Instant>,
    master_down_timer: Option<Instant>,
    announce_timer: Option<Instant>,
    /// keepalived's preempt_delay: until then a lower-priority master is tolerated.
    preempt_after: Option<Instant>,
    /// A master pushed back to backup by an advert may not be master again before this:
    /// its own Master_Down_Interval after the step-down, whatever interval the advert
    /// claimed, so that no traffic on the LAN makes it flap faster than its own timers.
    settle_until: Option<Instant>,
    /// The last address list that differed from ours (a digest) and when it was reported:
    /// once per different list, and at most once a second whatever the LAN sends.
    differing: Option<(u64, Instant)>,
    /// When this master last answered another router's advert (a priority-0 advert or a
    /// lower-priority master) out of its schedule: at most once per advert interval.
    answered: Option<Instant>,
    since: Option<Instant>,
    hold: Option<Hold>,
    counters: Counters,
    actions: Queue,
}

impl Instance {
    /// A stopped instance; [`start`](Self::start) runs RFC 9568's Startup event.
    pub fn new(params: Params, tracked: &[Tracked]) -> Instance {
        Instance {
            master_adver_int: params.advert_int,
            params,
            state: State::Initialize,
            link_up: true,
            group_fault: false,
            tracked: tracked.iter().copied().take(limits::TRACKED).collect(),
            primary: None,
            master: None,
            adver_timer: None,
            master_down_timer: None,
            announce_timer: None,
            preempt_after: None,
            settle_until: None,
            differing: None,
            answered: None,
            since: None,
            hold: None,
            counters: Counters::default(),
            actions: Queue::new(),
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// When the current state was entered.
    pub fn since(&self) -> Option<Instant> {
        self.since
    }

    /// The master's address and priority as last seen, while backup.
    pub fn master(&self) -> Option<(IpAddr, u8)> {
        self.master
    }

    /// The operator's hold, if one is in force at `now`.
    pub fn hold(&self, now: Instant) -> Option<Hold> {
        self.hold.filter(|h| match h {
            Hold::Indefinite => true,
            Hold::Until(t) => now < *t,
        })
    }

    /// Tracked objects, interfaces first, then scripts.
    pub fn tracked(&self) -> &[Tracked] {
        &self.tracked
    }

    /// Counters for the status endpoint.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Parameters the instance runs with.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The priority adverts carry now: the configured one adjusted by tracked weights,
    /// kept within 1..254; the address owner stays at 255.
    pub fn effective_priority(&self) -> u8 {
        if self.params.priority == 255 {
            return 255;
        }
        let adjust: i32 = self
            .tracked
            .iter()
            .filter_map(|t| match t.weight {
                Some(w) if w > 0 && t.up => Some(i32::from(w)),
                Some(w) if w < 0 && !t.up => Some(i32::from(w)),
                _ => None,
            })
            .sum();
        (i32::from(self.params.priority) + adjust).clamp(1, 254) as u8
    }

    fn timing(&self) -> Timing {
        Timing {
            version: self.params.version,
            priority: self.effective_priority(),
            master_adver_int: self.master_adver_int,
        }
    }

    /// Master_Down_Interval with this router's own advert interval, not a learned one.
    fn own_master_down_interval(&self) -> Duration {
        Timing { master_adver_int: self.params.advert_int, ..self.timing() }.master_down_interval()
    }

    /// True when the link or an unweighted tracked object is down: a fault of this
    /// instance's own, as opposed to one its sync group imposes.
    pub fn own_fault(&self) -> bool {
        !self.link_up || self.tracked.iter().any(|t| t.weight.is_none() && !t.up)
    }

    /// True while the sync group imposes a fault.
    pub fn group_fault(&self) -> bool {
        self.group_fault
    }

    fn faulty(&self) -> bool {
        self.own_fault() || self.group_fault
    }

    /// Sets this router's primary address on the link (from the interface).
    pub fn set_primary(&mut self, addr: Option<IpAddr>) {
        self.primary = addr;
    }

    /// The advert this router sends with `priority`.
    pub fn advert(&self, priority: u8) -> Repr {
        let interval = match self.params.version {
            Version::V2 => self.params.advert_int.as_secs() as u16,
            Version::V3 => (self.params.advert_int.as_millis() / 10) as u16,
        };
        Repr {
            version: self.params.version,
            vrid: self.params.vrid,
            priority,
            interval,
            addresses: self.params.addresses.iter().copied().collect(),
            auth: match (self.params.version, self.params.auth) {
                (Version::V2, Some(p)) => Auth::SimpleText(p),
                _ => Auth::None,
            },
        }
    }

    fn push(&mut self, action: Action) {
        // The queue is sized for the longest sequence one input produces; a shell that
        // stops polling loses the oldest action rather than growing memory.
        if self.actions.is_full() {
            self.actions.pop_front();
        }
        let _ = self.actions.push_back(action);
    }

    /// The next action for the shell.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest time [`handle_timeout`](Self::handle_timeout) must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.adver_timer, self.master_down_timer, self.announce_timer].into_iter().flatten().min()
    }

    fn enter(&mut self, now: Instant, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        self.since = Some(now);
        self.push(Action::Transition { from, to, reason });
    }

    fn become_master(&mut self, now: Instant, reason: Reason) {
        self.master_down_timer = None;
        self.master = None;
        self.enter(now, State::Master, reason);
        self.counters.became_master += 1;
        // RFC 9568 section 6.4.2 order: the advert first. Adding the VIPs takes the
        // kernel's RTNL lock, which another process can hold for milliseconds; the other
        // routers need not wait for it.
        self.send(self.effective_priority());
        self.push(Action::AddVips);
        self.push(Action::Announce);
        self.adver_timer = Some(now + self.params.advert_int);
        let second = self.params.garp_delay;
        self.announce_timer = (!second.is_zero()).then(|| now + second).or_else(|| self.refresh_at(now));
    }

    fn refresh_at(&self, now: Instant) -> Option<Instant> {
        let every = self.params.garp_refresh;
        (!every.is_zero()).then(|| now + every)
    }

    fn become_backup(&mut self, now: Instant, reason: Reason) {
        let was_master = self.state == State::Master;
        self.adver_timer = None;
        self.announce_timer = None;
        self.enter(now, State::Backup, reason);
        if was_master {
            self.push(Action::RemoveVips);
            self.settle_until = Some(now + self.own_master_down_interval());
        }
        self.master_down_timer = Some(now + self.timing().master_down_interval());
    }

    fn send(&mut self, priority: u8) {
        self.counters.adverts_tx += 1;
        if priority == 0 {
            self.counters.priority_zero_tx += 1;
        }
        self.push(Action::SendAdvert { priority });
    }

    /// Leaves Master or Backup for a state where nothing is owned.
    fn release(&mut self, now: Instant, to: State, reason: Reason) {
        if self.state == State::Master {
            // Backups take over after Skew_Time instead of Master_Down_Interval.
            self.send(0);
            self.push(Action::RemoveVips);
        }
        self.adver_timer = None;
        self.master_down_timer = None;
        self.announce_timer = None;
        self.master = None;
        self.enter(now, to, reason);
    }

    /// RFC 9568 section 6.4.1, Startup: the owner becomes master at once, others backup.
    pub fn start(&mut self, now: Instant) {
        if self.state == State::Initialize {
            self.init(now, false);
        }
    }

    /// Startup, or recovery from Fault (which restarts the same way).
    fn init(&mut self, now: Instant, recovering: bool) {
        self.master_adver_int = self.params.advert_int;
        if self.faulty() {
            if self.state != State::Fault {
                self.enter(now, State::Fault, Reason::Fault);
            }
            return;
        }
        let (owner, backup) = if recovering {
            (Reason::Recovered, Reason::Recovered)
        } else {
            (Reason::Owner, Reason::Startup)
        };
        if self.params.priority == 255 && self.hold(now).is_none() {
            self.become_master(now, owner);
        } else {
            self.preempt_after = Some(now + self.params.preempt_delay);
            self.become_backup(now, backup);
        }
    }

    /// Shutdown: a master sends priority 0 and releases its addresses.
    pub fn shutdown(&mut self, now: Instant) {
        if self.state != State::Initialize {
            self.release(now, State::Initialize, Reason::Shutdown);
        }
    }

    /// Timers that are due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.master_down_timer.is_some_and(|t| t <= now) && self.state == State::Backup {
            let settling = self.settle_until.filter(|&t| now < t);
            match self.hold(now).or(settling.map(Hold::Until)) {
                // Held, or settling after a step-down: keep watching, and look again
                // when the yield or the settling ends.
                Some(Hold::Until(t)) => self.master_down_timer = Some(t),
                Some(Hold::Indefinite) => {
                    self.master_down_timer = Some(now + self.timing().master_down_interval())
                }
                None => self.become_master(now, Reason::MasterDown),
            }
        }
        if self.adver_timer.is_some_and(|t| t <= now) && self.state == State::Master {
            self.send(self.effective_priority());
            self.adver_timer = Some(now + self.params.advert_int);
        }
        if self.announce_timer.is_some_and(|t| t <= now) && self.state == State::Master {
            self.push(Action::Announce);
            self.announce_timer = self.refresh_at(now);
        }
    }

    /// The interface went up or down.
    pub fn set_link(&mut self, now: Instant, up: bool) {
        self.link_up = up;
        self.reassess(now);
    }

    /// Tracked object `index` (interfaces first, then scripts, in configuration order)
    /// went up or down.
    pub fn set_tracked(&mut self, now: Instant, index: usize, up: bool) {
        if let Some(t) = self.tracked.get_mut(index) {
            t.up = up;
        }
        self.reassess(now);
    }

    /// A tracked object whose weight follows what it tracks (a file's value times its
    /// weight): `weight` and `up` as in [`Tracked`].
    pub fn set_tracked_weight(&mut self, now: Instant, index: usize, weight: Option<i16>, up: bool) {
        if let Some(t) = self.tracked.get_mut(index) {
            (t.weight, t.up) = (weight, up);
        }
        self.reassess(now);
    }

    /// Sync group: another member is (or is no longer) in Fault.
    pub fn set_group_fault(&mut self, now: Instant, fault: bool) {
        if self.group_fault != fault {
            self.group_fault = fault;
            self.reassess(now);
        }
    }

    /// Sync group: another member became master on its own; a backup follows at once.
    pub fn force_master(&mut self, now: Instant) {
        if self.state == State::Backup && self.hold(now).is_none() {
            self.become_master(now, Reason::SyncGroup);
        }
    }

    /// Sync group: another member fell back to backup; a master follows.
    pub fn force_backup(&mut self, now: Instant) {
        if self.state == State::Master {
            self.become_backup(now, Reason::SyncGroup);
        }
    }

    /// The operator's `hold` (or `yield`, with an end): a master steps down at once with a
    /// priority-0 advert, so a backup takes over after Skew_Time instead of
    /// Master_Down_Interval; the instance then stays BACKUP, whatever its priority, until
    /// the hold is lifted (`None`) or ends. Lifting it lets preemption and
    /// Master_Down_Timer work as usual again.
    pub fn set_hold(&mut self, now: Instant, hold: Option<Hold>) {
        self.hold = hold;
        if self.hold(now).is_some() && self.state == State::Master {
            self.send(0);
            self.become_backup(now, Reason::Operator);
        }
    }

    /// A reloaded configuration of the same virtual router (same VRID, version and
    /// interface): the state, the master seen and the counters stay; a master keeps
    /// advertising on its schedule, a backup keeps its Master_Down_Timer. A shorter
    /// interval takes effect at once, so peers already running the new configuration do
    /// not time this router out.
    pub fn reconfigure(&mut self, now: Instant, params: Params, tracked: &[Tracked]) {
        let refresh_changed = params.garp_refresh != self.params.garp_refresh;
        self.params = params;
        self.tracked = tracked.iter().copied().take(limits::TRACKED).collect();
        if self.params.version == Version::V2 || self.state != State::Backup {
            self.master_adver_int = self.params.advert_int;
        }
        let sooner = |timer: Option<Instant>, limit: Instant| timer.map(|t| t.min(limit));
        match self.state {
            State::Master => {
                self.adver_timer = sooner(self.adver_timer, now + self.params.advert_int);
                if refresh_changed {
                    self.announce_timer = self.refresh_at(now);
                }
            }
            State::Backup => {
                let limit = now + self.timing().master_down_interval();
                self.master_down_timer = sooner(self.master_down_timer, limit);
            }
            State::Initialize | State::Fault => {}
        }
        self.reassess(now);
    }

    /// Enters Fault when something required is down, leaves it when all are up again.
    fn reassess(&mut self, now: Instant) {
        match (self.state, self.faulty()) {
            (State::Master | State::Backup, true) => self.release(now, State::Fault, Reason::Fault),
            (State::Fault, false) => self.init(now, true),
            _ => {}
        }
    }

    /// Records a discard found before the advert reached this instance (wire errors the
    /// I/O layer could still attribute to this VRID).
    pub fn count_discard(&mut self, reason: Discard) {
        self.counters.discard(reason);
    }

    /// Records an advert taken without the `auth_hmac` signature the instance would have
    /// checked (its mode lets unsigned adverts through).
    pub fn count_unsigned(&mut self) {
        self.counters.unsigned_rx += 1;
    }

    /// An advert for this VRID arrived from `src` with IP TTL / hop limit `ttl`.
    pub fn handle_advert(&mut self, now: Instant, src: IpAddr, ttl: u8, advert: &Repr) {
        if let Err(reason) = self.accept(ttl, advert) {
            self.counters.discard(reason);
            return;
        }
        if !self.same_addresses(now, src, advert) {
            return;
        }
        self.counters.adverts_rx += 1;
        if advert.priority == 0 {
            self.counters.priority_zero_rx += 1;
        }
        match self.state {
            State::Backup => self.backup_advert(now, src, advert),
            State::Master => self.master_advert(now, src, advert),
            State::Initialize | State::Fault => {}
        }
    }

    /// RFC 3768 / RFC 9568 section 7.1 checks that need this instance's configuration.
    fn accept(&self, ttl: u8, advert: &Repr) -> Result<(), Discard> {
        if !self.params.accept_ttl.contains(&ttl) {
            return Err(Discard::Ttl);
        }
        if advert.version != self.params.version {
            return Err(Discard::Version);
        }
        if advert.vrid != self.params.vrid {
            return Err(Discard::Vrid);
        }
        if self.params.version == Version::V3 && advert.interval == 0 {
            // Max Adver Int 0 would make Master_Down_Interval 0 (Skew_Time too): every
            // such advert a flap. No router sends it (the minimum is 1 centisecond).
            return Err(Discard::Interval);
        }
        if advert.addresses.is_empty() {
            // RFC 9568 erratum 8299: a count of zero is discarded.
            return Err(Discard::AddressList);
        }
        if self.params.version == Version::V2 {
            let expected = match self.params.auth {
                Some(p) => Auth::SimpleText(p),
                None => Auth::None,
            };
            if advert.auth != expected {
                return Err(Discard::Auth);
            }
            if u64::from(advert.interval) != self.params.advert_int.as_secs() {
                return Err(Discard::Interval);
            }
        }
        Ok(())
    }

    /// RFC 9568 section 7.1's address check, which the RFC makes optional (MAY): an
    /// advert whose address list differs from the configured one (not the owner's) is
    /// counted and reported once per different list; with `strict` it is discarded
    /// (false), else it counts for the election, so that a pair can be reconfigured one
    /// router at a time without the other taking over (keepalived's default too).
    fn same_addresses(&mut self, now: Instant, src: IpAddr, advert: &Repr) -> bool {
        let ours = &self.params.addresses;
        let same = advert.addresses.len() == ours.len() && advert.addresses.iter().all(|a| ours.contains(a));
        if same || advert.priority == 255 {
            self.differing = None;
            return true;
        }
        let strict = self.params.strict;
        if strict {
            self.counters.discard(Discard::AddressList);
        } else {
            self.counters.address_list_mismatch += 1;
        }
        let digest = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            advert.addresses.hash(&mut h);
            h.finish()
        };
        let report = match self.differing {
            Some((last, _)) if last == digest => false,
            Some((_, at)) => now >= at + Duration::from_secs(1),
            None => true,
        };
        if report {
            self.differing = Some((digest, now));
            self.push(Action::AddressListDiffers { src, theirs: advert.addresses.len(), strict });
        }
        !strict
    }

    /// RFC 9568 section 6.4.2 (Backup) receiving an advert.
    fn backup_advert(&mut self, now: Instant, src: IpAddr, advert: &Repr) {
        if advert.priority == 0 {
            self.master_down_timer = Some(now + self.timing().skew_time());
            self.master = None;
            return;
        }
        let local = self.effective_priority();
        let accept = if !self.params.preempt || advert.priority >= local || self.hold(now).is_some() {
            if advert.priority >= local {
                self.preempt_after = None;
            }
            true
        } else {
            // A lower-priority master while preemption is on. keepalived's preempt_delay
            // tolerates it until the delay, counted from startup or from first sight, has
            // passed; then (or at once without a delay) the advert is discarded and
            // Master_Down_Timer runs out: preemption.
            let until = *self.preempt_after.get_or_insert(now + self.params.preempt_delay);
            now < until
        };
        if accept {
            if self.params.version == Version::V3 {
                self.master_adver_int = timing::centiseconds(advert.interval);
            }
            self.master = Some((src, advert.priority));
            self.master_down_timer = Some(now + self.timing().master_down_interval());
        }
    }

    /// RFC 9568 section 6.4.3 (Master) receiving an advert.
    fn master_advert(&mut self, now: Instant, src: IpAddr, advert: &Repr) {
        if advert.priority == 0 {
            if self.may_answer(now) {
                self.send(self.effective_priority());
                self.adver_timer = Some(now + self.params.advert_int);
            }
            return;
        }
        let local = self.effective_priority();
        let higher_address = self.primary.is_some_and(|p| wider(src) > wider(p));
        if advert.priority > local || (advert.priority == local && higher_address) {
            if self.params.version == Version::V3 {
                self.master_adver_int = timing::centiseconds(advert.interval);
            }
            self.become_backup(now, Reason::Preempted);
            self.master = Some((src, advert.priority));
        } else if self.may_answer(now) {
            // A lower-priority master: a split brain healing. Reassert at once so the
            // other side's backups and the LAN's ARP caches follow this router (unless
            // configured to leave it to the next scheduled advert).
            if !self.params.lower_prio_no_advert {
                self.send(local);
                self.adver_timer = Some(now + self.params.advert_int);
            }
            self.push(Action::AnnounceToLower);
        }
    }

    /// True (and noted) when an advert out of schedule may answer another router's now:
    /// at most one per advert interval, so a flood of adverts from the LAN cannot make
    /// this router send more than twice its own rate, nor restart its announcements at
    /// every packet.
    fn may_answer(&mut self, now: Instant) -> bool {
        if self.answered.is_some_and(|t| now < t + self.params.advert_int) {
            return false;
        }
        self.answered = Some(now);
        true
    }
}

#[cfg(test)]
mod tests;

/// An address as a number for RFC 9568's "greater primary address" comparison.
fn wider(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}
