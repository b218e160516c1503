//! `keeplite digest URL`: the MD5 of a page's body, in the form the `digest` option takes
//! (keepalived's `genhash`). It fetches exactly as the http check does, with its caps.

use super::{http, Outcome, Target};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// The parts of an `http://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    pub path: String,
}

/// Parses an `http://` URL; a bracketed IPv6 host, an optional port, a path (default `/`).
pub fn parse_url(url: &str) -> Result<Url, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| format!("{url}: only http:// URLs"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']').ok_or_else(|| format!("{url}: unclosed '['"))?;
            (host, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() || path.contains(char::is_whitespace) {
        return Err(format!("{url}: not a URL keeplite can fetch"));
    }
    let port = match port {
        Some(p) => p.parse().map_err(|_| format!("{url}: bad port {p:?}"))?,
        None => 80,
    };
    Ok(Url { host: host.to_owned(), port, path: path.to_owned() })
}

/// Fetches `url` (from `bind` when given) and returns its digest as 32 hex digits.
pub fn digest(url: &str, bind: Option<IpAddr>, timeout: Duration) -> Result<String, String> {
    let u = parse_url(url)?;
    let addr: SocketAddr = (u.host.as_str(), u.port)
        .to_socket_addrs()
        .map_err(|e| format!("{}: {e}", u.host))?
        .next()
        .ok_or_else(|| format!("{}: no address", u.host))?;
    let target = Target { addr, bind, timeout };
    let fetched = super::reactor::block_on(http::fetch_digest(&target, &u.path, &u.host))
        .map_err(|e| format!("cannot wait for sockets: {e}"))?;
    fetched.map(|d| http::digest_hex(&d)).map_err(|o: Outcome| format!("{url}: {o}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(host: &str, port: u16, path: &str) -> Url {
        Url { host: host.into(), port, path: path.into() }
    }

    #[test]
    fn urls() {
        assert_eq!(parse_url("http://10.0.0.1/"), Ok(url("10.0.0.1", 80, "/")));
        assert_eq!(parse_url("http://web.example:8080/a/b?c"), Ok(url("web.example", 8080, "/a/b?c")));
        assert_eq!(parse_url("http://[2001:db8::1]:81/x"), Ok(url("2001:db8::1", 81, "/x")));
        assert_eq!(parse_url("http://[2001:db8::1]"), Ok(url("2001:db8::1", 80, "/")));
        for bad in ["https://a/", "http://", "http://a:x/", "http://[::1/", "http://a/b c", "ftp://a"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_digest_of_a_page() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n");
        });
        let got = digest(&format!("http://127.0.0.1:{port}/"), None, Duration::from_secs(2));
        assert_eq!(got, Ok("b1946ac92492d2347c6235b4d2611184".to_owned()));
        let refused = digest(&format!("http://127.0.0.1:{port}/"), None, Duration::from_secs(2));
        assert!(refused.unwrap_err().ends_with("connection refused"));
    }
}
