//! Per-instance counters, in the spirit of RFC 6527's VRRPv3 MIB statistics.

use super::auth_hmac::Reject;
use super::packet::Error;

/// Why a received advert was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discard {
    /// IP TTL / hop limit was not 255 (or outside `min_ttl`..`max_ttl` for unicast).
    Ttl,
    /// Version other than the instance's (or not VRRP for the family).
    Version,
    Checksum,
    /// Advert for a VRID no instance on the interface has.
    Vrid,
    /// v2 authentication type or password mismatch.
    Auth,
    /// v2 advert interval differs from the configured one.
    Interval,
    /// Packet shorter than its header and address count need.
    Length,
    /// Addresses differ from the configured ones (and the sender is not the owner), or none.
    AddressList,
    /// Packet type other than advertisement.
    Type,
    /// A unicast advert from an address not in `unicast_peer` (`check_unicast_src`).
    Source,
    /// `auth_hmac`: no valid signature.
    Hmac(Reject),
}

impl From<Error> for Discard {
    fn from(e: Error) -> Discard {
        match e {
            Error::Length => Discard::Length,
            Error::Version(_) | Error::Family => Discard::Version,
            Error::Type(_) => Discard::Type,
            Error::Checksum => Discard::Checksum,
            Error::TooManyAddresses => Discard::AddressList,
        }
    }
}

impl std::fmt::Display for Counters {
    /// `name=value` pairs separated by spaces.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (name, value)) in self.fields().iter().enumerate() {
            write!(f, "{}{name}={value}", if i > 0 { " " } else { "" })?;
        }
        Ok(())
    }
}

/// Counts since start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub adverts_rx: u64,
    pub adverts_tx: u64,
    pub became_master: u64,
    pub priority_zero_rx: u64,
    pub priority_zero_tx: u64,
    /// Adverts taken although their address list differs from the configured one (a
    /// peer running another configuration; without `strict_mode`).
    pub address_list_mismatch: u64,
    pub discard_ttl: u64,
    pub discard_version: u64,
    pub discard_checksum: u64,
    pub discard_vrid: u64,
    pub discard_auth: u64,
    pub discard_interval: u64,
    pub discard_length: u64,
    pub discard_address_list: u64,
    pub discard_type: u64,
    pub discard_source: u64,
    /// `auth_hmac`, not enforcing: adverts taken without a signature.
    pub unsigned_rx: u64,
    pub discard_hmac_missing: u64,
    pub discard_hmac_malformed: u64,
    pub discard_hmac_key: u64,
    pub discard_hmac_digest: u64,
    pub discard_hmac_stale: u64,
    pub discard_hmac_replay: u64,
}

impl Counters {
    /// Every counter with its name, in a stable order (logs and the status endpoint).
    pub fn fields(&self) -> [(&'static str, u64); 23] {
        [
            ("adverts_rx", self.adverts_rx),
            ("adverts_tx", self.adverts_tx),
            ("became_master", self.became_master),
            ("priority_zero_rx", self.priority_zero_rx),
            ("priority_zero_tx", self.priority_zero_tx),
            ("address_list_mismatch", self.address_list_mismatch),
            ("discard_ttl", self.discard_ttl),
            ("discard_version", self.discard_version),
            ("discard_checksum", self.discard_checksum),
            ("discard_vrid", self.discard_vrid),
            ("discard_auth", self.discard_auth),
            ("discard_interval", self.discard_interval),
            ("discard_length", self.discard_length),
            ("discard_address_list", self.discard_address_list),
            ("discard_type", self.discard_type),
            ("discard_source", self.discard_source),
            ("unsigned_rx", self.unsigned_rx),
            ("discard_hmac_missing", self.discard_hmac_missing),
            ("discard_hmac_malformed", self.discard_hmac_malformed),
            ("discard_hmac_key", self.discard_hmac_key),
            ("discard_hmac_digest", self.discard_hmac_digest),
            ("discard_hmac_stale", self.discard_hmac_stale),
            ("discard_hmac_replay", self.discard_hmac_replay),
        ]
    }

    /// Counts one discard.
    pub fn discard(&mut self, reason: Discard) {
        let c = match reason {
            Discard::Ttl => &mut self.discard_ttl,
            Discard::Version => &mut self.discard_version,
            Discard::Checksum => &mut self.discard_checksum,
            Discard::Vrid => &mut self.discard_vrid,
            Discard::Auth => &mut self.discard_auth,
            Discard::Interval => &mut self.discard_interval,
            Discard::Length => &mut self.discard_length,
            Discard::AddressList => &mut self.discard_address_list,
            Discard::Type => &mut self.discard_type,
            Discard::Source => &mut self.discard_source,
            Discard::Hmac(Reject::Missing) => &mut self.discard_hmac_missing,
            Discard::Hmac(Reject::Malformed) => &mut self.discard_hmac_malformed,
            Discard::Hmac(Reject::UnknownKey) => &mut self.discard_hmac_key,
            Discard::Hmac(Reject::Digest) => &mut self.discard_hmac_digest,
            Discard::Hmac(Reject::Stale) => &mut self.discard_hmac_stale,
            Discard::Hmac(Reject::Replay) => &mut self.discard_hmac_replay,
        };
        *c += 1;
    }
}
