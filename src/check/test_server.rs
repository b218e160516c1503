//! Test servers more than one probe kind's tests use.

use std::net::{SocketAddr, TcpListener};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Accepts one connection on loopback and says nothing for `hold`, then closes it.
pub fn silent(hold: Duration) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("its address");
    let server = thread::spawn(move || {
        let (s, _) = listener.accept().expect("accept");
        thread::sleep(hold);
        drop(s);
    });
    (addr, server)
}
