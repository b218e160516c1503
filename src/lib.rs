//! keeplite: VRRP, IPVS programming and health checks in one small static binary.
//!
//! The library holds everything; `main.rs` only calls [`cli::main`].

pub mod bfd;
pub mod check;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod import;
pub mod ipvs;
pub mod json;
pub mod limits;
pub mod log;
pub mod net;
pub mod notify;
pub mod passwd;
pub mod process;
pub mod rise_fall;
pub mod routing;
pub mod smtp;
pub mod status;
pub mod trust;
pub mod vrrp;
