//! The dialogue against an in-process fake server that follows a script: every step's
//! failure, multi-line replies, the HELO fall-back, a server that closes or never answers.

use super::*;
use crate::smtp::message::{data, Mail};
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::UNIX_EPOCH;

/// What the fake server does once it has received one command (or, after a 354, the
/// whole message).
#[derive(Clone, Copy)]
enum Act {
    Reply(&'static str),
    /// Closes the connection.
    Close,
    /// Keeps the connection open and never answers.
    Hang,
}
use Act::*;

/// A one-connection server on 127.0.0.1 that opens with `greeting`, then meets each
/// command with the next act. Returns its port, and a handle yielding what it received.
fn fake(greeting: Act, acts: &[Act]) -> (u16, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let acts = acts.to_vec();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut received = Vec::new();
        let act = |stream: &mut TcpStream, act: Act| match act {
            Reply(text) => stream.write_all(text.as_bytes()).is_ok(),
            Close => false,
            Hang => {
                std::thread::sleep(Duration::from_secs(3));
                false
            }
        };
        if !act(&mut stream, greeting) {
            return received;
        }
        let mut acts = acts.into_iter();
        let mut buf = Vec::new();
        let mut in_data = false;
        let mut chunk = [0u8; 4096];
        loop {
            let end = if in_data { "\r\n.\r\n" } else { "\r\n" };
            let Some(at) = buf.windows(end.len()).position(|w| w == end.as_bytes()) else {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => return received,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
                continue;
            };
            let unit: Vec<u8> = buf.drain(..at + end.len()).collect();
            let text = String::from_utf8_lossy(&unit).into_owned();
            received.push(if in_data { text } else { text.trim_end().to_owned() });
            let next = acts.next().unwrap_or(Close);
            in_data = matches!(next, Reply(r) if r.starts_with("354"));
            if !act(&mut stream, next) {
                return received;
            }
        }
    });
    (port, handle)
}

fn recipients() -> Vec<String> {
    vec!["noc@example.org".into(), "ops@example.org".into()]
}

fn payload() -> Vec<u8> {
    data(&Mail {
        from: "keeplite@edge-a".into(),
        to: recipients(),
        subject: "[edge-a] VRRP Instance gw - Entering MASTER state".into(),
        body: "=> VRRP Instance is now owning VRRP VIPs <=\n.hidden\n".into(),
        date: UNIX_EPOCH,
    })
}

fn run(port: u16, within: Duration) -> Result<Sent, Failure> {
    let (to, data) = (recipients(), payload());
    let envelope = Envelope { helo: "edge-a", from: "keeplite@edge-a", to: &to, data: &data };
    send("127.0.0.1", port, Instant::now() + within, &envelope)
}

const OK: &[Act] = &[
    Reply("250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n"),
    Reply("250 sender ok\r\n"),
    Reply("250 ok\r\n"),
    Reply("251 will forward\r\n"),
    Reply("354 go ahead\r\n"),
    Reply("250 queued as 42\r\n"),
    Reply("221 bye\r\n"),
];

#[test]
fn a_whole_dialogue_with_multi_line_replies() {
    let (port, server) = fake(Reply("220-mx.example ESMTP\r\n220 ready\r\n"), OK);
    assert_eq!(run(port, Duration::from_secs(5)), Ok(Sent::default()));
    let got = server.join().expect("server");
    let message = String::from_utf8(payload()).expect("utf-8");
    assert_eq!(
        got,
        [
            "EHLO edge-a",
            "MAIL FROM:<keeplite@edge-a>",
            "RCPT TO:<noc@example.org>",
            "RCPT TO:<ops@example.org>",
            "DATA",
            message.as_str(),
            "QUIT"
        ]
    );
    // The receiver sees the dot-stuffed line, the rest of the mail untouched.
    assert!(got[5].contains("\r\n..hidden\r\n"), "{}", got[5]);
    assert!(got[5].starts_with("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\nFrom: keeplite@edge-a\r\n"));
    assert!(got[5].ends_with("\r\n.\r\n"));
}

#[test]
fn helo_when_ehlo_is_unknown() {
    let mut acts = vec![Reply("502 command not implemented\r\n"), Reply("250 hello\r\n")];
    acts.extend_from_slice(&OK[1..]);
    let (port, server) = fake(Reply("220 old\r\n"), &acts);
    assert_eq!(run(port, Duration::from_secs(5)), Ok(Sent::default()));
    let got = server.join().expect("server");
    assert_eq!(got[..3], ["EHLO edge-a", "HELO edge-a", "MAIL FROM:<keeplite@edge-a>"]);
}

#[test]
fn every_step_can_fail_with_the_servers_code() {
    let fails = |at: usize, code: &'static str| {
        let mut acts = OK.to_vec();
        acts[at] = Reply(code);
        acts
    };
    let helo_refused = [Reply("500 what\r\n"), Reply("550 no\r\n")];
    let both_refused = {
        let mut a = OK.to_vec();
        a[2] = Reply("550 no such user\r\n");
        a[3] = Reply("553 not here\r\n");
        a
    };
    let cases: Vec<(Act, Vec<Act>, Step, u16)> = vec![
        (Reply("554 go away\r\n"), vec![], Step::Greeting, 554),
        (Reply("421 busy\r\n"), vec![], Step::Greeting, 421),
        (Reply("220 hi\r\n"), fails(0, "421 closing\r\n"), Step::Ehlo, 421),
        (Reply("220 hi\r\n"), helo_refused.to_vec(), Step::Helo, 550),
        (Reply("220 hi\r\n"), fails(1, "451 try later\r\n"), Step::MailFrom, 451),
        (Reply("220 hi\r\n"), both_refused, Step::RcptTo, 553),
        (Reply("220 hi\r\n"), fails(4, "503 bad sequence\r\n"), Step::Data, 503),
        (Reply("220 hi\r\n"), fails(5, "452 no room\r\n"), Step::Message, 452),
    ];
    for (greeting, acts, step, code) in cases {
        let (port, server) = fake(greeting, &acts);
        let failure = run(port, Duration::from_secs(5)).expect_err("must fail");
        assert_eq!(failure, Failure { step, cause: Cause::Code(code) });
        assert_eq!(failure.permanent(), code >= 500, "{failure}");
        server.join().expect("server");
    }
}

#[test]
fn a_refused_recipient_does_not_stop_the_others() {
    let mut acts = OK.to_vec();
    acts[2] = Reply("550 no such user\r\n");
    let (port, server) = fake(Reply("220 hi\r\n"), &acts);
    assert_eq!(
        run(port, Duration::from_secs(5)),
        Ok(Sent { refused: vec![("noc@example.org".into(), 550)] })
    );
    assert_eq!(server.join().expect("server").len(), 7);
}

#[test]
fn closed_garbled_and_silent_servers() {
    let (port, _s) = fake(Reply("220 hi\r\n"), &[Reply("250 hi\r\n"), Close]);
    let failure = run(port, Duration::from_secs(5)).expect_err("closed");
    assert_eq!(failure, Failure { step: Step::MailFrom, cause: Cause::Closed });
    assert!(!failure.permanent());
    assert_eq!(failure.to_string(), "MAIL FROM: connection closed by the server");

    let (port, _s) = fake(Reply("HTTP/1.1 200 OK\r\n"), &[]);
    let failure = run(port, Duration::from_secs(5)).expect_err("garbage");
    assert_eq!(failure, Failure { step: Step::Greeting, cause: Cause::Malformed("not an SMTP reply") });

    // A server that accepts and never answers costs the deadline, no more.
    let (port, _s) = fake(Hang, &[]);
    let started = Instant::now();
    let failure = run(port, Duration::from_millis(300)).expect_err("silent");
    assert_eq!(failure, Failure { step: Step::Greeting, cause: Cause::TimedOut });
    assert_eq!(failure.to_string(), "greeting: timed out");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(290) && took < Duration::from_secs(2), "{took:?}");

    // Silent after the message: the mail's fate is unknown, so it is a failure.
    let mut acts = OK.to_vec();
    acts[5] = Hang;
    let (port, _s) = fake(Reply("220 hi\r\n"), &acts);
    let failure = run(port, Duration::from_millis(500)).expect_err("silent at the end");
    assert_eq!(failure, Failure { step: Step::Message, cause: Cause::TimedOut });
}

#[test]
fn nobody_listening() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let failure = run(port, Duration::from_secs(2)).expect_err("refused");
    assert_eq!(failure.step, Step::Connect);
    assert!(matches!(&failure.cause, Cause::Io(e) if e.contains("refused")), "{failure}");
}

/// Whatever a server sends, after any number of good replies, the dialogue ends with a
/// result, never a panic, and within its deadline.
mod hostile {
    use super::*;
    use proptest::prelude::*;

    /// A server that writes `bytes` at once, then reads until the client is done.
    fn blurting(bytes: Vec<u8>) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else { return };
            let _ = stream.write_all(&bytes);
            let mut sink = [0u8; 4096];
            while stream.read(&mut sink).is_ok_and(|n| n > 0) {}
        });
        port
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_server_bytes_end_the_dialogue(good in 0usize..=OK.len(), noise in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let mut bytes = b"220 hi\r\n".to_vec();
            for act in &OK[..good] {
                if let Reply(text) = act {
                    bytes.extend_from_slice(text.as_bytes());
                }
            }
            bytes.extend_from_slice(&noise);
            let port = blurting(bytes);
            let started = Instant::now();
            let result = run(port, Duration::from_secs(2));
            prop_assert!(started.elapsed() < Duration::from_secs(3));
            if good == OK.len() {
                // Every reply was good, up to the QUIT, whose answer does not matter.
                prop_assert_eq!(result, Ok(Sent::default()));
            }
        }
    }
}
