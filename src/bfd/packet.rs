//! The BFD Control packet (RFC 5880 section 4.1), without authentication: [`Control`] is
//! the parsed packet, [`Control::parse`] applies the receive checks of section 6.8.6 that
//! need no session (a packet that fails one is discarded, and why is counted), and
//! [`Control::emit`] writes the 24 bytes.

/// UDP port of single-hop BFD Control packets (RFC 5881).
pub const PORT: u16 = 3784;
/// UDP port of multihop BFD Control packets (RFC 5883).
pub const MULTIHOP_PORT: u16 = 4784;
/// Length of a Control packet without authentication.
pub const LEN: usize = 24;
/// The protocol version this implements.
const VERSION: u8 = 1;

/// The session state a packet carries (RFC 5880 section 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    AdminDown = 0,
    Down = 1,
    Init = 2,
    Up = 3,
}

impl State {
    /// The state of the 2 low bits of `b`.
    pub(crate) fn from_bits(b: u8) -> State {
        match b & 3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    /// The name operators and logs see.
    pub fn name(self) -> &'static str {
        match self {
            State::AdminDown => "admin-down",
            State::Down => "down",
            State::Init => "init",
            State::Up => "up",
        }
    }
}

/// Why the local system last changed the session's state (RFC 5880 section 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Diag {
    None = 0,
    /// Control Detection Time Expired.
    DetectionExpired = 1,
    /// Neighbor Signaled Session Down.
    NeighborDown = 3,
    /// Administratively Down.
    AdminDown = 7,
}

impl Diag {
    /// The name logs use for a received code (any of the 32).
    pub fn describe(code: u8) -> &'static str {
        match code {
            0 => "no diagnostic",
            1 => "control detection time expired",
            2 => "echo function failed",
            3 => "neighbor signaled session down",
            4 => "forwarding plane reset",
            5 => "path down",
            6 => "concatenated path down",
            7 => "administratively down",
            8 => "reverse concatenated path down",
            _ => "reserved diagnostic",
        }
    }
}

/// A Control packet. Intervals are in microseconds, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    /// The sender's diagnostic code (0..=31).
    pub diag: u8,
    pub state: State,
    /// Poll (P).
    pub poll: bool,
    /// Final (F).
    pub fin: bool,
    /// Demand mode (D): this implementation never asks for it.
    pub demand: bool,
    pub detect_mult: u8,
    pub my_discr: u32,
    pub your_discr: u32,
    pub desired_min_tx: u32,
    pub required_min_rx: u32,
    pub required_min_echo_rx: u32,
}

/// Why a received packet was discarded before any session saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Shorter than 24 bytes, or than its Length field, or a Length under 24.
    Length,
    /// A version other than 1.
    Version(u8),
    /// Detect Mult 0.
    DetectMult,
    /// The Multipoint (M) bit, reserved.
    Multipoint,
    /// My Discriminator 0.
    MyDiscriminator,
    /// Your Discriminator 0 in a packet whose state is neither Down nor AdminDown.
    YourDiscriminator,
    /// The Authentication Present (A) bit: no session here uses authentication.
    Authentication,
}

impl Error {
    /// What the counters and logs call it.
    pub fn describe(self) -> String {
        match self {
            Error::Length => "bad length".into(),
            Error::Version(v) => format!("version {v}"),
            Error::DetectMult => "detect multiplier 0".into(),
            Error::Multipoint => "multipoint bit set".into(),
            Error::MyDiscriminator => "my discriminator 0".into(),
            Error::YourDiscriminator => "your discriminator 0 outside down".into(),
            Error::Authentication => "authentication present (not configured)".into(),
        }
    }
}

impl Control {
    /// Parses a received UDP payload, with RFC 5880 section 6.8.6's checks up to the
    /// session look-up. Bytes after the Length are ignored (a link's padding).
    pub fn parse(b: &[u8]) -> Result<Control, Error> {
        if b.len() < LEN {
            return Err(Error::Length);
        }
        let version = b[0] >> 5;
        if version != VERSION {
            return Err(Error::Version(version));
        }
        let length = usize::from(b[3]);
        if length < LEN || length > b.len() {
            return Err(Error::Length);
        }
        let flags = b[1];
        if flags & 0x04 != 0 {
            return Err(Error::Authentication);
        }
        if flags & 0x01 != 0 {
            return Err(Error::Multipoint);
        }
        let word = |at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let c = Control {
            diag: b[0] & 0x1f,
            state: State::from_bits(flags >> 6),
            poll: flags & 0x20 != 0,
            fin: flags & 0x10 != 0,
            demand: flags & 0x02 != 0,
            detect_mult: b[2],
            my_discr: word(4),
            your_discr: word(8),
            desired_min_tx: word(12),
            required_min_rx: word(16),
            required_min_echo_rx: word(20),
        };
        if c.detect_mult == 0 {
            return Err(Error::DetectMult);
        }
        if c.my_discr == 0 {
            return Err(Error::MyDiscriminator);
        }
        if c.your_discr == 0 && !matches!(c.state, State::Down | State::AdminDown) {
            return Err(Error::YourDiscriminator);
        }
        Ok(c)
    }

    /// The packet's 24 bytes.
    pub fn emit(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[0] = (VERSION << 5) | (self.diag & 0x1f);
        b[1] = ((self.state as u8) << 6)
            | (u8::from(self.poll) << 5)
            | (u8::from(self.fin) << 4)
            | (u8::from(self.demand) << 1);
        b[2] = self.detect_mult;
        b[3] = LEN as u8;
        let words = [
            self.my_discr,
            self.your_discr,
            self.desired_min_tx,
            self.required_min_rx,
            self.required_min_echo_rx,
        ];
        for (i, w) in words.iter().enumerate() {
            b[4 + 4 * i..8 + 4 * i].copy_from_slice(&w.to_be_bytes());
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn up() -> Control {
        Control {
            diag: 0,
            state: State::Up,
            poll: true,
            fin: false,
            demand: false,
            detect_mult: 3,
            my_discr: 0x0102_0304,
            your_discr: 7,
            desired_min_tx: 300_000,
            required_min_rx: 200_000,
            required_min_echo_rx: 0,
        }
    }

    #[test]
    fn a_packet_as_frr_and_keepalived_send_it() {
        // Version 1, diag 0, state Up with Poll, mult 3, length 24, discriminators 0x01020304
        // and 7, 300 ms / 200 ms / no echo.
        let wire =
            [0x20, 0xe0, 3, 24, 1, 2, 3, 4, 0, 0, 0, 7, 0, 0x04, 0x93, 0xe0, 0, 0x03, 0x0d, 0x40, 0, 0, 0, 0];
        assert_eq!(up().emit(), wire);
        assert_eq!(Control::parse(&wire), Ok(up()));
    }

    #[test]
    fn the_receive_checks() {
        let good = up().emit();
        let with = |at: usize, v: u8| {
            let mut b = good;
            b[at] = v;
            b
        };
        assert_eq!(Control::parse(&good[..23]), Err(Error::Length));
        assert_eq!(Control::parse(&with(3, 23)), Err(Error::Length));
        assert_eq!(Control::parse(&with(3, 25)), Err(Error::Length));
        assert_eq!(Control::parse(&with(0, 0x40)), Err(Error::Version(2)));
        assert_eq!(Control::parse(&with(2, 0)), Err(Error::DetectMult));
        assert_eq!(Control::parse(&with(1, 0xc1)), Err(Error::Multipoint));
        assert_eq!(Control::parse(&with(1, 0xc4)), Err(Error::Authentication));
        let mut no_discr = good;
        no_discr[4..8].fill(0);
        assert_eq!(Control::parse(&no_discr), Err(Error::MyDiscriminator));
        let mut unknown = good;
        unknown[8..12].fill(0);
        assert_eq!(Control::parse(&unknown), Err(Error::YourDiscriminator));
        // Down with Your Discriminator 0 is how a session starts.
        let first = Control { state: State::Down, your_discr: 0, ..up() };
        assert_eq!(Control::parse(&first.emit()), Ok(first));
        // Trailing bytes past the Length are padding.
        let mut padded = good.to_vec();
        padded.extend_from_slice(&[0; 8]);
        assert_eq!(Control::parse(&padded), Ok(up()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Any bytes: parsed or refused, never a panic; what parses emits back to itself.
        #[test]
        fn any_bytes_parse_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(c) = Control::parse(&bytes) {
                prop_assert_eq!(Control::parse(&c.emit()), Ok(c));
            }
        }

        /// Every packet this side can make reads back the same.
        #[test]
        fn emitted_packets_read_back(
            diag in 0u8..32, state in 0u8..4, poll: bool, fin: bool, mult in 1u8..,
            my in 1u32.., your: u32, tx: u32, rx: u32,
        ) {
            let state = State::from_bits(state);
            let your = if matches!(state, State::Down | State::AdminDown) { your } else { your.max(1) };
            let c = Control {
                diag, state, poll, fin, demand: false, detect_mult: mult, my_discr: my,
                your_discr: your, desired_min_tx: tx, required_min_rx: rx, required_min_echo_rx: 0,
            };
            prop_assert_eq!(Control::parse(&c.emit()), Ok(c));
        }
    }
}
