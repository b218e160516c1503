//! VRRP: wire format now; the state machine, sync groups and I/O follow.

pub mod packet;
