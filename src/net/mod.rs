//! Network helpers shared by the protocol code.

pub mod address;
pub mod checksum;
pub mod error;
pub mod frame;
pub mod link;
pub mod monitor;
pub mod netlink;
pub mod packet_socket;
#[cfg(test)]
mod proptests;
pub mod route;
pub mod rule;
pub mod sysctl;
