//! VRRP: wire format, timers, the per-instance state machine and its counters. Sockets,
//! address moves and sync groups follow.

pub mod announce;
pub mod auth_hmac;
pub mod counters;
pub mod group;
pub mod instance;
pub mod io;
pub mod packet;
pub mod timing;
