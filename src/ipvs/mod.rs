//! IPVS programming: the kernel's virtual services over generic netlink, kept equal to
//! what the configuration and the health of the real servers ask for.
//!
//! `model` holds the kernel's objects; `desired` computes what the kernel should hold;
//! `reconcile` turns the difference into an ordered list of writes; `wire` encodes and
//! decodes the IPVS generic netlink messages; `client` talks to the kernel.

pub mod applied;
pub mod client;
pub mod desired;
pub mod model;
pub mod omega;
pub mod quorum;
pub mod reconcile;
pub mod wire;
