//! The checker thread against a live server: requests built once per probe are built anew
//! after a reload.

use super::*;
use crate::config::{self, Host};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;

/// One real server on 127.0.0.1:`port` with an `http` check of `path`, every second.
fn config(port: u16, path: &str) -> Arc<Config> {
    let text = format!(
        "keeplite.vs=virtual_server\nkeeplite.vs.address='198.18.0.1'\nkeeplite.vs.port='80'\n\
         keeplite.vs.delay_loop='1s'\n\
         keeplite.web=check\nkeeplite.web.type='http'\nkeeplite.web.path='{path}'\n\
         keeplite.web.timeout='500ms'\n\
         keeplite.r=real_server\nkeeplite.r.virtual_server='vs'\nkeeplite.r.address='127.0.0.1'\n\
         keeplite.r.port='{port}'\nkeeplite.r.check='web'\n"
    );
    let out = config::parse(text.as_bytes(), &Host { hostname: "test".into() });
    Arc::new(out.config.unwrap_or_else(|| panic!("{:?}", out.problems)))
}

/// A server that answers 200 to everything and sends each request line to the channel.
fn serve() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if tx.send(line.trim_end().to_owned()).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

#[test]
fn a_reload_sends_the_new_request() {
    let (port, requests) = serve();
    let checker =
        Checker::start(config(port, "/a"), Box::new(|_| {}), Box::new(|_, _, _| {}), Default::default())
            .unwrap();
    let wait = Duration::from_secs(5);
    assert_eq!(requests.recv_timeout(wait).unwrap(), "GET /a HTTP/1.1");
    // Twice: the second run reuses the request built for the first.
    assert_eq!(requests.recv_timeout(wait).unwrap(), "GET /a HTTP/1.1");
    checker.reload(config(port, "/b"));
    // A probe of the old configuration may still be on its way; then only the new path.
    let mut next = requests.recv_timeout(wait).unwrap();
    if next == "GET /a HTTP/1.1" {
        next = requests.recv_timeout(wait).unwrap();
    }
    assert_eq!(next, "GET /b HTTP/1.1");
    assert_eq!(requests.recv_timeout(wait).unwrap(), "GET /b HTTP/1.1");
    checker.stop();
}
