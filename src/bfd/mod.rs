//! BFD, Bidirectional Forwarding Detection (RFC 5880), single-hop (RFC 5881) and multihop
//! (RFC 5883), as keepalived's `bfd_instance` runs it: Asynchronous mode without the Echo
//! function or authentication. A session's state is a fast, cheap signal that a neighbour
//! (a router, a peer director, a real server) is reachable; VRRP instances track it
//! (`track_bfd`), and real servers may name it as a check.
//!
//! [`packet`] is the Control packet; [`session`] one session's state machine and timers;
//! [`states`] what the VRRP thread, which runs the sessions, tells the checker.

pub mod packet;
pub mod session;
pub mod states;
