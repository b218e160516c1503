//! IPVS generic netlink messages (`include/uapi/linux/ip_vs.h`): requests are written into
//! a byte buffer, several per datagram; replies are read by a reader that never panics.
//!
//! Replies are untrusted input: a known attribute of the wrong size is an error naming it,
//! an unknown attribute is skipped (newer kernels add attributes), and a missing required
//! one is an error. Multi-byte values are host order except ports, IPv4 netmasks and
//! tunnel ports, which are network order, as the kernel puts them.

mod decode;
mod encode;
#[cfg(test)]
mod tests;

pub use decode::{
    attrs, parse_daemon, parse_dest, parse_family_id, parse_info, parse_service, Info, SyncDaemon,
};
pub use encode::Batch;

use crate::config::model::Family;

/// The generic netlink controller's fixed message type.
pub const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// The IPVS family's name; its message type is resolved at start.
pub const IPVS_FAMILY_NAME: &str = "IPVS";
const IPVS_GENL_VERSION: u8 = 1;
/// Generic netlink header: command, version, reserved.
const GENL_HEADER: usize = 4;
const NLA_HEADER: usize = 4;
const NLA_F_NESTED: u16 = 0x8000;
/// Attribute type bits (the two top bits are flags).
const NLA_TYPE_MASK: u16 = 0x3fff;

/// `NLM_F_*` flags.
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP: u16 = 0x300;

/// `IPVS_CMD_*`.
pub mod cmd {
    pub const NEW_SERVICE: u8 = 1;
    pub const SET_SERVICE: u8 = 2;
    pub const DEL_SERVICE: u8 = 3;
    pub const GET_SERVICE: u8 = 4;
    pub const NEW_DEST: u8 = 5;
    pub const SET_DEST: u8 = 6;
    pub const DEL_DEST: u8 = 7;
    pub const GET_DEST: u8 = 8;
    pub const NEW_DAEMON: u8 = 9;
    pub const DEL_DAEMON: u8 = 10;
    pub const GET_DAEMON: u8 = 11;
    pub const GET_INFO: u8 = 15;
}

/// `IPVS_CMD_ATTR_*`: the top-level attributes.
mod top {
    pub const SERVICE: u16 = 1;
    pub const DEST: u16 = 2;
    pub const DAEMON: u16 = 3;
}

/// `IPVS_SVC_ATTR_*`.
mod svc {
    pub const AF: u16 = 1;
    pub const PROTOCOL: u16 = 2;
    pub const ADDR: u16 = 3;
    pub const PORT: u16 = 4;
    pub const FWMARK: u16 = 5;
    pub const SCHED_NAME: u16 = 6;
    pub const FLAGS: u16 = 7;
    pub const TIMEOUT: u16 = 8;
    pub const NETMASK: u16 = 9;
    pub const STATS: u16 = 10;
    pub const STATS64: u16 = 12;
}

/// `IPVS_DEST_ATTR_*`.
mod dest {
    pub const ADDR: u16 = 1;
    pub const PORT: u16 = 2;
    pub const FWD_METHOD: u16 = 3;
    pub const WEIGHT: u16 = 4;
    pub const U_THRESH: u16 = 5;
    pub const L_THRESH: u16 = 6;
    pub const ACTIVE_CONNS: u16 = 7;
    pub const INACT_CONNS: u16 = 8;
    pub const PERSIST_CONNS: u16 = 9;
    pub const STATS: u16 = 10;
    pub const ADDR_FAMILY: u16 = 11;
    pub const STATS64: u16 = 12;
    pub const TUN_TYPE: u16 = 13;
    pub const TUN_PORT: u16 = 14;
    pub const TUN_FLAGS: u16 = 15;
}

/// `IPVS_DAEMON_ATTR_*`.
mod daemon {
    pub const STATE: u16 = 1;
    pub const MCAST_IFN: u16 = 2;
    pub const SYNC_ID: u16 = 3;
}

/// `IPVS_INFO_ATTR_*`.
mod info {
    pub const VERSION: u16 = 1;
    pub const CONN_TAB_SIZE: u16 = 2;
}

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

fn af(family: Family) -> u16 {
    match family {
        Family::Ipv4 => AF_INET,
        Family::Ipv6 => AF_INET6,
    }
}
