//! The VRRP socket shell: one raw IP socket per (interface, family) that sends the adverts
//! the instances ask for and hands received packets back as parsed adverts or discards.
//! It decides nothing; the state machine (`instance`) does.

pub(crate) mod cmsg;
mod error;
mod ipv4;
mod peers;
mod received;
mod socket;
pub(crate) mod sys;

pub use error::{Error, ErrorKind, IfName};
pub use ipv4::HeaderError;
pub use peers::{group, Mode};
pub use received::{Received, Rejected};
pub use socket::{VrrpSocket, RECV_BUFFER};
