//! Network helpers shared by the protocol code.

pub mod checksum;
