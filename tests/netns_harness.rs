//! The netns harness itself: hosts on one LAN reach each other, and code run in a host's
//! namespace sees that host's interfaces.

mod common;

use common::{netns_available, Lan};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};

#[test]
fn hosts_on_a_lan_talk_and_threads_enter_their_namespace() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("harness", 2);
    let receiver = lan.hosts[1].run(|| UdpSocket::bind("198.51.100.2:40000").expect("bind in h1"));
    lan.hosts[0].run(|| {
        let s = UdpSocket::bind("0.0.0.0:0").unwrap();
        s.send_to(b"hello", "198.51.100.2:40000").unwrap();
    });
    let mut buf = [0u8; 16];
    let (n, from) = receiver.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello");
    assert_eq!(from.ip(), SocketAddr::from((Ipv4Addr::new(198, 51, 100, 1), 0)).ip());
    // The test thread itself is still in the original namespace.
    assert!(UdpSocket::bind("198.51.100.2:0").is_err());
}
