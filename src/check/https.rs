//! The `https` check: the `http` check's exchange over TLS (rustls with the ring provider).
//!
//! `verify` off (the default, as keepalived's SSL_GET) accepts any certificate, but the
//! server must still sign the handshake with the key of the certificate it sends. `verify`
//! on checks the chain against the roots in `ca_file` alone (keeplite carries no CA store)
//! and the name against `sni`, else the `Host` name. SNI goes out only when `sni` is set
//! (and is a DNS name: TLS has no SNI for an address).

mod stream;

use super::{http, tcp, Outcome, Target};
use crate::config::model::{HttpCheck, TlsCheck};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::io::ErrorKind;
use std::sync::Arc;
use stream::{Failure, TlsStream};

/// The port an HTTPS `Host` header leaves out.
const DEFAULT_PORT: u16 = 443;

/// The `https` check against `target`, with `host` (a name or an address) as `Host`.
pub async fn probe(target: &Target, check: &HttpCheck, tls: &TlsCheck, host: &str) -> Outcome {
    let setup = client_config(tls).and_then(|config| Ok((config, server_name(tls, host, target)?)));
    let (config, name) = match setup {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    let host = http::host_header(host, target.addr.port(), DEFAULT_PORT);
    super::within(target.timeout, async {
        let tcp = match tcp::connect(target).await {
            Ok(tcp) => tcp,
            Err(outcome) => return outcome,
        };
        let conn = match ClientConnection::new(config, name) {
            Ok(conn) => conn,
            Err(e) => return Outcome::Tls(e.to_string()),
        };
        let mut stream = TlsStream::new(tcp, conn);
        match stream.handshake().await {
            Ok(true) => http::check_on(&mut stream, check, &host).await,
            Ok(false) => Outcome::Tls("connection closed during the handshake".into()),
            Err(Failure::Tls(e)) => Outcome::Tls(e.to_string()),
            Err(Failure::Io(e)) if e.kind() == ErrorKind::ConnectionReset => {
                Outcome::Tls("connection reset during the handshake".into())
            }
            Err(Failure::Io(e)) => tcp::io_outcome(e),
        }
    })
    .await
}

/// The client configuration of one probe. Built per probe: it reads `ca_file` each time,
/// so a renewed CA takes effect without a reload, at a cost small beside the handshake.
fn client_config(tls: &TlsCheck) -> Result<Arc<ClientConfig>, Outcome> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Outcome::Error(format!("https: {e}")))?;
    let mut config = match (&tls.ca_file, tls.verify) {
        (Some(path), true) => builder.with_root_certificates(roots(path)?).with_no_client_auth(),
        // The config validator refuses `verify` without `ca_file`; should one get here all
        // the same, it must fail rather than quietly check nothing.
        (None, true) => return Err(Outcome::Error("https: verify needs ca_file".into())),
        (_, false) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(
                provider.signature_verification_algorithms,
            )))
            .with_no_client_auth(),
    };
    config.enable_sni = tls.sni.is_some();
    Ok(Arc::new(config))
}

/// The trust anchors in the PEM file at `path`.
fn roots(path: &str) -> Result<RootCertStore, Outcome> {
    let pem = std::fs::read(path).map_err(|e| Outcome::Error(format!("ca_file {path}: {e}")))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| Outcome::Error(format!("ca_file {path}: {e}")))?;
        roots.add(cert).map_err(|e| Outcome::Error(format!("ca_file {path}: {e}")))?;
    }
    if roots.is_empty() {
        return Err(Outcome::Error(format!("ca_file {path}: no PEM certificate in it")));
    }
    Ok(roots)
}

/// The name to verify (and to send as SNI when `sni` is set): `sni`, else `host`.
fn server_name(tls: &TlsCheck, host: &str, target: &Target) -> Result<ServerName<'static>, Outcome> {
    let name = tls.sni.as_deref().unwrap_or(host);
    match ServerName::try_from(name.to_owned()) {
        Ok(name) => Ok(name),
        Err(_) if tls.verify => {
            Err(Outcome::Error(format!("https: '{name}' is not a name a certificate can carry")))
        }
        // Unverified, the name only matters as SNI, and a name rustls cannot send is none.
        Err(_) => Ok(ServerName::IpAddress(target.addr.ip().into())),
    }
}

/// `verify` off: any certificate passes, but the handshake signature must still verify
/// with the certificate's key, so the server at least holds the key it shows (what
/// keepalived's SSL_GET gets from OpenSSL without a CA).
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::StatusRange;
    use rustls::pki_types::PrivateKeyDer;
    use rustls::{ServerConfig, ServerConnection, StreamOwned, SupportedProtocolVersion};
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener};
    use std::path::PathBuf;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A CA, and a server certificate it signed for `names` (DNS names or addresses).
    struct Pki {
        ca_pem: String,
        chain: Vec<CertificateDer<'static>>,
        key: Vec<u8>,
    }

    fn pki(names: &[&str]) -> Pki {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        // A name of its own: two CAs of one name would make the wrong one look like the
        // issuer with a bad signature, not an unknown issuer.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, format!("test CA {n}"));
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let leaf = rcgen::CertificateParams::new(names).unwrap().signed_by(&key, &ca, &ca_key).unwrap();
        Pki { ca_pem: ca.pem(), chain: vec![leaf.der().clone()], key: key.serialize_der() }
    }

    /// A file holding `text`, removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(text: &str) -> TempFile {
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("keeplite-https-{}-{n}.pem", std::process::id()));
            std::fs::write(&path, text).unwrap();
            TempFile(path)
        }

        fn path(&self) -> String {
            self.0.display().to_string()
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// What the test server saw of the connection.
    #[derive(Debug)]
    struct Seen {
        sni: Option<String>,
        request: String,
    }

    /// Reads a request head (up to the blank line) off `s`.
    fn read_head(s: &mut impl Read) -> std::io::Result<String> {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if s.read(&mut byte)? == 0 {
                break;
            }
            head.push(byte[0]);
        }
        Ok(String::from_utf8_lossy(&head).into_owned())
    }

    /// A TLS server on 127.0.0.1 for one connection: it reads the request, answers
    /// `reply`, and closes, with a close_notify when `close_notify`.
    fn server(
        pki: &Pki,
        versions: &[&'static SupportedProtocolVersion],
        reply: &'static [u8],
        close_notify: bool,
    ) -> (SocketAddr, mpsc::Receiver<Seen>) {
        let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(pki.chain.clone(), PrivateKeyDer::Pkcs8(pki.key.clone().into()))
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut s = StreamOwned::new(ServerConnection::new(Arc::new(config)).unwrap(), tcp);
            let Ok(request) = read_head(&mut s) else { return };
            let sni = s.conn.server_name().map(str::to_owned);
            let _ = s.write_all(reply);
            if close_notify {
                s.conn.send_close_notify();
                let _ = s.flush();
            }
            let _ = tx.send(Seen { sni, request });
        });
        (addr, rx)
    }

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    const TLS13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

    fn target(addr: SocketAddr) -> Target {
        Target { addr, bind: None, timeout: Duration::from_secs(3) }
    }

    fn check(digest: Option<[u8; 16]>) -> HttpCheck {
        let mut expect_status = heapless::Vec::new();
        expect_status.push(StatusRange { first: 200, last: 299 }).unwrap();
        HttpCheck { path: "/health".into(), expect_status, digest, host: None }
    }

    fn tls(sni: Option<&str>, ca_file: Option<&TempFile>) -> TlsCheck {
        TlsCheck {
            sni: sni.map(str::to_owned),
            verify: ca_file.is_some(),
            ca_file: ca_file.map(TempFile::path),
        }
    }

    fn run(addr: SocketAddr, check: &HttpCheck, tls: &TlsCheck, host: &str) -> Outcome {
        crate::check::reactor::block_on_test(probe(&target(addr), check, tls, host))
    }

    #[test]
    fn unverified_any_certificate_passes_and_no_sni_goes_out() {
        let pki = pki(&["web.test"]);
        let (addr, seen) = server(&pki, TLS13, OK, true);
        assert_eq!(run(addr, &check(None), &tls(None, None), "127.0.0.1"), Outcome::Ok);
        let seen = seen.recv().unwrap();
        assert_eq!(seen.sni, None);
        assert!(seen.request.starts_with("GET /health HTTP/1.1\r\n"), "{}", seen.request);
        assert!(
            seen.request.contains(&format!("\r\nHost: 127.0.0.1:{}\r\n", addr.port())),
            "{}",
            seen.request
        );
    }

    #[test]
    fn verified_with_the_ca_and_sni() {
        let pki = pki(&["web.test"]);
        let ca = TempFile::new(&pki.ca_pem);
        let (addr, seen) = server(&pki, TLS13, OK, true);
        assert_eq!(run(addr, &check(None), &tls(Some("web.test"), Some(&ca)), "127.0.0.1"), Outcome::Ok);
        assert_eq!(seen.recv().unwrap().sni.as_deref(), Some("web.test"));
    }

    #[test]
    fn without_sni_the_host_name_is_verified_and_not_sent() {
        let pki = pki(&["127.0.0.1"]);
        let ca = TempFile::new(&pki.ca_pem);
        let (addr, seen) = server(&pki, TLS13, OK, true);
        assert_eq!(run(addr, &check(None), &tls(None, Some(&ca)), "127.0.0.1"), Outcome::Ok);
        assert_eq!(seen.recv().unwrap().sni, None);
        let (addr, _) = server(&pki, TLS13, OK, true);
        let outcome = run(addr, &check(None), &tls(None, Some(&ca)), "web.test");
        assert!(matches!(&outcome, Outcome::Tls(why) if why.contains("not valid for name")), "{outcome:?}");
    }

    #[test]
    fn an_address_as_sni_is_verified_but_not_sent() {
        let pki = pki(&["127.0.0.1"]);
        let ca = TempFile::new(&pki.ca_pem);
        let (addr, seen) = server(&pki, TLS13, OK, true);
        assert_eq!(run(addr, &check(None), &tls(Some("127.0.0.1"), Some(&ca)), "web.test"), Outcome::Ok);
        assert_eq!(seen.recv().unwrap().sni, None);
    }

    #[test]
    fn another_ca_is_a_tls_failure() {
        let pki = pki(&["web.test"]);
        let other = TempFile::new(&self::pki(&["web.test"]).ca_pem);
        let (addr, _) = server(&pki, TLS13, OK, true);
        let outcome = run(addr, &check(None), &tls(Some("web.test"), Some(&other)), "127.0.0.1");
        assert!(matches!(&outcome, Outcome::Tls(why) if why.contains("UnknownIssuer")), "{outcome:?}");
        assert!(outcome.to_string().starts_with("TLS failure: "), "{outcome}");
    }

    #[test]
    fn a_bad_ca_file_is_an_error_that_names_it() {
        // No server: the file is read before connecting (port 9: nothing may answer).
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let missing = TlsCheck { sni: None, verify: true, ca_file: Some("/nonexistent/ca.pem".into()) };
        let outcome = run(addr, &check(None), &missing, "127.0.0.1");
        assert!(
            matches!(&outcome, Outcome::Error(why) if why.starts_with("ca_file /nonexistent/ca.pem: ")),
            "{outcome:?}"
        );
        let empty = TempFile::new("not a certificate\n");
        let outcome = run(addr, &check(None), &tls(None, Some(&empty)), "127.0.0.1");
        assert_eq!(outcome, Outcome::Error(format!("ca_file {}: no PEM certificate in it", empty.path())));
    }

    #[test]
    fn a_plain_http_server_is_a_tls_failure() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf);
            let _ =
                s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        });
        let outcome = run(addr, &check(None), &tls(None, None), "127.0.0.1");
        assert!(matches!(outcome, Outcome::Tls(_)), "{outcome:?}");
    }

    #[test]
    fn a_server_that_hangs_up_is_a_tls_failure() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || drop(listener.accept()));
        let outcome = run(addr, &check(None), &tls(None, None), "127.0.0.1");
        assert!(matches!(outcome, Outcome::Tls(_)), "{outcome:?}");
    }

    #[test]
    fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let t = Target { timeout: Duration::from_millis(300), ..target(listener.local_addr().unwrap()) };
        let outcome = crate::check::reactor::block_on_test(probe(&t, &check(None), &tls(None, None), "h"));
        assert_eq!(outcome, Outcome::Timeout);
        drop(listener);
        assert_eq!(
            crate::check::reactor::block_on_test(probe(&t, &check(None), &tls(None, None), "h")),
            Outcome::Refused
        );
    }

    #[test]
    fn tls12_servers_pass() {
        let pki = pki(&["web.test"]);
        let ca = TempFile::new(&pki.ca_pem);
        let (addr, _) = server(&pki, &[&rustls::version::TLS12], OK, true);
        assert_eq!(run(addr, &check(None), &tls(Some("web.test"), Some(&ca)), "web.test"), Outcome::Ok);
    }

    #[test]
    fn status_and_digest_as_over_http() {
        use md5::Digest;
        let pki = pki(&["web.test"]);
        let (addr, _) = server(&pki, TLS13, b"HTTP/1.1 503 No\r\nContent-Length: 0\r\n\r\n", true);
        assert_eq!(run(addr, &check(None), &tls(None, None), "web.test"), Outcome::BadStatus(503));
        // A body that ends with the connection, closed without close_notify: whole all the same.
        let hello: [u8; 16] = md5::Md5::digest(b"hello\n").into();
        let (addr, _) = server(&pki, TLS13, b"HTTP/1.0 200 OK\r\n\r\nhello\n", false);
        assert_eq!(run(addr, &check(Some(hello)), &tls(None, None), "web.test"), Outcome::Ok);
        let (addr, _) = server(&pki, TLS13, b"HTTP/1.0 200 OK\r\n\r\nhello\n", true);
        assert_eq!(run(addr, &check(Some([0; 16])), &tls(None, None), "web.test"), Outcome::BadDigest);
    }

    #[test]
    fn the_host_header_leaves_out_443_only() {
        assert_eq!(http::host_header("web.test", DEFAULT_PORT, DEFAULT_PORT), "web.test");
        assert_eq!(http::host_header("2001:db8::1", 8443, DEFAULT_PORT), "[2001:db8::1]:8443");
    }
}
