//! Captures real kernel IPVS replies as fixtures for the unit tests of `ipvs::wire`
//! (`tests/fixtures/ipvs/capture.sh` runs this in the VM and writes the files). Not part of
//! the VM tier: the fixtures are committed, and the unit tests read them on any machine.
//!
//! The table is made with ipvsadm, not keeplite, so the fixtures show what the kernel says
//! about objects keeplite did not write.

mod common;

use common::{output, vm_available, Netns};
use keeplite::ipvs::model::ServiceKey;
use keeplite::ipvs::wire::{self, Batch, NLM_F_ACK, NLM_F_DUMP};
use keeplite::net::netlink::Socket;

/// Sends the request `encode` writes and returns every reply's payload.
fn ask(sock: &mut Socket, encode: impl FnOnce(&mut Batch, u32, u32)) -> Vec<Vec<u8>> {
    let mut batch = Batch::default();
    let seq = sock.next_seq();
    encode(&mut batch, seq, sock.port());
    sock.send_raw(batch.bytes()).expect("send");
    let mut out = Vec::new();
    sock.wait(seq, |frame| out.push(frame.payload.to_vec())).expect("reply");
    out
}

fn print(name: &str, payloads: &[Vec<u8>]) {
    for (i, p) in payloads.iter().enumerate() {
        let hex: String = p.iter().map(|b| format!("{b:02x}")).collect();
        println!("FIXTURE {name}-{i} {hex}");
    }
}

#[test]
fn capture_kernel_replies() {
    if !vm_available() {
        return;
    }
    let ns = Netns::new("capture");
    for cmd in [
        "-A -t 198.51.100.10:80 -s wrr -p 300 -M 255.255.255.0",
        "-a -t 198.51.100.10:80 -r 203.0.113.1:8080 -m -w 3 -x 100 -y 10",
        "-a -t 198.51.100.10:80 -r 203.0.113.2:80 -g -w 0",
        "-A -u 198.51.100.53:53 -s sh -o",
        "-a -u 198.51.100.53:53 -r 203.0.113.53:53 -i --tun-type gue --tun-port 6080 --tun-remcsum",
        "-A -t [2001:db8::10]:443 -s mh",
        "-a -t [2001:db8::10]:443 -r [2001:db8:1::1]:443 -m -w 2",
        "-A -f 7 -6 -s lc",
        "--start-daemon backup --mcast-interface lo --syncid 9",
    ] {
        output(ns.command("ipvsadm").args(cmd.split_whitespace()));
    }
    let replies = ns.run(|| {
        let mut sock = Socket::open_generic().expect("generic netlink socket");
        let family = ask(&mut sock, |b, seq, port| b.resolve_family(seq, port, wire::IPVS_FAMILY_NAME));
        let id = wire::parse_family_id(&family[0]).expect("IPVS family");
        let info = ask(&mut sock, |b, seq, port| b.command(id, NLM_F_ACK, seq, port, wire::cmd::GET_INFO));
        let services =
            ask(&mut sock, |b, seq, port| b.command(id, NLM_F_DUMP, seq, port, wire::cmd::GET_SERVICE));
        let daemons =
            ask(&mut sock, |b, seq, port| b.command(id, NLM_F_DUMP, seq, port, wire::cmd::GET_DAEMON));
        let mut dests = Vec::new();
        for payload in &services {
            let (service, _) = wire::parse_service(payload).expect("service");
            let key: ServiceKey = service.key;
            dests.extend(ask(&mut sock, |b, seq, port| b.dump_dests(id, seq, port, &key)));
        }
        (family, info, services, daemons, dests)
    });
    let (family, info, services, daemons, dests) = replies;
    print("family", &family);
    print("info", &info);
    print("services", &services);
    print("daemons", &daemons);
    print("dests", &dests);
    assert_eq!((services.len(), dests.len(), daemons.len()), (4, 4, 1));
}
