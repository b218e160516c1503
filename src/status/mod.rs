//! The status endpoint: JSON lines over a unix socket (docs/status.md).
//!
//! The daemon starts a [`Server`] with a [`Handler`] that answers from a [`Snapshot`] it
//! keeps up to date; `keeplite status` and `keeplite rpcd` are the clients, and [`locate`]
//! tells them which socket to ask.

pub mod client;
mod connection;
pub mod events;
pub mod locate;
mod peer_cred;
pub mod reply;
pub mod request;
pub mod rpcd;
pub mod server;
pub mod snapshot;
mod socket_file;
pub mod table;

pub use request::{Method, Request};
pub use server::{Answer, Handler, Limits, Peer, Reply, Server, Stats};
pub use snapshot::Snapshot;

/// Where the socket is when the configuration does not say (`global.status_socket`).
pub const DEFAULT_SOCKET: &str = "/var/run/keeplite/status.sock";

#[cfg(test)]
mod tests {
    use crate::config::{self, Host};

    #[test]
    fn default_socket_is_the_configuration_default() {
        let outcome = config::parse(b"keeplite.main=global\n", &Host { hostname: "edge-a".into() });
        let socket = outcome.config.map(|c| c.global.status_socket);
        assert_eq!(socket.as_deref(), Some(super::DEFAULT_SOCKET));
    }
}
