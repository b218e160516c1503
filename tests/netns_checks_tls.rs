//! netns tier: https checks against the distribution's nginx (nginx-light) serving TLS with
//! certificates that openssl makes for the test. keeplite runs in one namespace, nginx in
//! another on the same LAN; each real server has a check of its own, and the log says
//! what each check concluded and why (this host has no IPVS: the verdicts are what the
//! tests read).
//!
//! nginx presents `web.test`'s certificate to a client that sends that name as SNI, and
//! `default.test`'s to any other, so a check that passes verification against `web.test`
//! proves SNI went out, and one without `sni` proves none did.
//!
//! Built without the `tls` feature (`cargo test --no-default-features`), the test checks
//! instead that an https check fails and keeplite says why.

mod common;

use common::daemon::Daemon;
use common::{netns_available, Lan};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const SERVER: &str = "198.51.100.2";

/// One real server named `name` at the server's `port` checked by an https check of the
/// same name with `options` (`option='value'` lines), behind a virtual server of its own;
/// `alpha` starts it down, so that passing is logged as a change too.
fn real_server(name: &str, port: u16, alpha: bool, options: &str) -> String {
    static NEXT_PORT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(10000);
    let vport = NEXT_PORT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut out = format!(
        "keeplite.vs_{name}=virtual_server\nkeeplite.vs_{name}.address='198.51.100.200'\n\
         keeplite.vs_{name}.port='{vport}'\nkeeplite.vs_{name}.alpha='{}'\n\
         keeplite.{name}=real_server\nkeeplite.{name}.virtual_server='vs_{name}'\n\
         keeplite.{name}.address='{SERVER}'\nkeeplite.{name}.port='{port}'\nkeeplite.{name}.check='c_{name}'\n\
         keeplite.c_{name}=check\nkeeplite.c_{name}.type='https'\nkeeplite.c_{name}.interval='500ms'\n\
         keeplite.c_{name}.timeout='400ms'\nkeeplite.c_{name}.retry_delay='200ms'\n",
        u8::from(alpha)
    );
    for line in options.lines().filter(|l| !l.is_empty()) {
        out += &format!("keeplite.c_{name}.{line}\n");
    }
    out
}

#[cfg(not(feature = "tls"))]
#[test]
fn without_the_tls_feature_https_checks_say_so() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("notls", 2);
    let d = Daemon::keeplite(&lan.hosts[0], "checks-notls", &real_server("web", 443, false, ""));
    d.wait_log("error: checks: https checks need a build with the tls feature: c_web will fail", WAIT);
    d.wait_log(
        &format!("check c_web {SERVER}:443: down (https checks need a build with the tls feature)"),
        WAIT,
    );
    assert_eq!(d.stop(), Some(0));
}

#[cfg(feature = "tls")]
mod with_tls {
    use super::*;
    use common::daemon::scratch;
    use common::{output, Netns};
    use std::net::TcpStream;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::Instant;

    /// nginx: Debian puts it in /usr/sbin, which a non-login PATH may lack.
    fn nginx_bin() -> &'static str {
        let on_path = Command::new("nginx").arg("-v").output().is_ok_and(|o| o.status.success());
        if on_path {
            "nginx"
        } else {
            "/usr/sbin/nginx"
        }
    }

    /// True when nginx and openssl are here (`ci/test` installs them). Under `CI=true` their
    /// absence fails the test; elsewhere the test says it did nothing.
    fn tools_available() -> bool {
        let runs = |program: &str, arg: &str| {
            Command::new(program).arg(arg).output().is_ok_and(|o| o.status.success())
        };
        let missing: Vec<&str> = [(nginx_bin(), "-v"), ("openssl", "version")]
            .into_iter()
            .filter(|(p, a)| !runs(p, a))
            .map(|(p, _)| p)
            .collect();
        if missing.is_empty() {
            return true;
        }
        let why = format!("{} missing (ci/test installs nginx-light and openssl)", missing.join(" and "));
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("https checks cannot be tested: {why} (CI=true: a missing prerequisite is a failure)");
        }
        eprintln!("SKIPPED https netns test: {why}");
        false
    }

    /// Runs `openssl ARGS...` in `dir`.
    fn openssl(dir: &Path, args: &[&str]) {
        output(Command::new("openssl").current_dir(dir).args(args));
    }

    /// A self-signed CA `NAME.crt`/`NAME.key` in `dir`, valid for two days.
    fn make_ca(dir: &Path, name: &str) {
        let (crt, key, subject) =
            (format!("{name}.crt"), format!("{name}.key"), format!("/CN=keeplite test {name}"));
        openssl(dir, &[&NEW_KEY[..], &["-keyout", &key, "-out", &crt, "-subj", &subject]].concat());
    }

    /// A certificate for DNS name `host` signed by CA `ca`: `HOST.crt`/`HOST.key` in `dir`.
    fn make_cert(dir: &Path, ca: &str, host: &str) {
        let (crt, key) = (format!("{host}.crt"), format!("{host}.key"));
        let (ca_crt, ca_key) = (format!("{ca}.crt"), format!("{ca}.key"));
        let (subject, san) = (format!("/CN={host}"), format!("subjectAltName=DNS:{host}"));
        let signed = ["-CA", &ca_crt, "-CAkey", &ca_key, "-keyout", &key, "-out", &crt, "-subj", &subject];
        // openssl's defaults would mark it a CA, which webpki refuses as a server's certificate.
        let leaf = ["-addext", &san, "-addext", "basicConstraints=critical,CA:FALSE"];
        openssl(dir, &[&NEW_KEY[..], &signed, &leaf].concat());
    }

    /// `openssl req` arguments for a new P-256 key and a certificate valid for two days.
    const NEW_KEY: [&str; 9] =
        ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"];

    /// nginx in `ns`, one process (no master: a kill stops it all), in a scratch directory of
    /// its own; stopped on drop.
    struct Nginx {
        child: Child,
        dir: PathBuf,
    }

    impl Nginx {
        /// Serves `ok` over TLS on port 443 (web.test's certificate for SNI web.test,
        /// default.test's otherwise) and over plain HTTP on port 8080; waits until it listens.
        fn start(ns: &Netns, certs: &Path) -> Nginx {
            let dir = scratch("nginx");
            let d = dir.display();
            let c = certs.display();
            let conf = format!(
                "master_process off;\ndaemon off;\nuser root;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
                 events {{ worker_connections 64; }}\n\
                 http {{\n\
                   access_log off;\n\
                   client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n\
                   uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
                   server {{ listen {SERVER}:443 ssl default_server; server_name default.test;\n\
                     ssl_certificate {c}/default.test.crt; ssl_certificate_key {c}/default.test.key;\n\
                     location / {{ return 200 \"ok\\n\"; }} }}\n\
                   server {{ listen {SERVER}:443 ssl; server_name web.test;\n\
                     ssl_certificate {c}/web.test.crt; ssl_certificate_key {c}/web.test.key;\n\
                     location / {{ return 200 \"ok\\n\"; }} }}\n\
                   server {{ listen {SERVER}:8080; location / {{ return 200 \"ok\\n\"; }} }}\n\
                 }}\n"
            );
            std::fs::write(dir.join("nginx.conf"), conf).expect("nginx.conf");
            let child = ns
                .command(nginx_bin())
                .arg("-c")
                .arg(dir.join("nginx.conf"))
                .arg("-p")
                .arg(&dir)
                .arg("-e")
                .arg(dir.join("error.log"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start nginx");
            let mut nginx = Nginx { child, dir };
            let deadline = Instant::now() + Duration::from_secs(10);
            while !ns.run(|| TcpStream::connect((SERVER, 443)).is_ok()) {
                let exited = nginx.child.try_wait().ok().flatten();
                assert!(
                    exited.is_none() && Instant::now() < deadline,
                    "nginx did not start ({exited:?}):\n{}",
                    nginx.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            nginx
        }

        fn log(&self) -> String {
            std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
        }
    }

    impl Drop for Nginx {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// The reason on the first `check CHECK TARGET: down (...)` line of `log`.
    fn down_reason(log: &str, check: &str, target: &str) -> String {
        let prefix = format!("check {check} {target}: down (");
        log.lines()
            .find_map(|l| l.split_once(&prefix).map(|(_, why)| why.trim_end_matches(')').to_owned()))
            .unwrap_or_else(|| panic!("no {prefix:?} line:\n{log}"))
    }

    #[test]
    fn https_checks_against_nginx() {
        if !netns_available() || !tools_available() {
            return;
        }
        let certs = scratch("tls-certs");
        make_ca(&certs, "ca");
        make_ca(&certs, "otherca");
        make_cert(&certs, "ca", "web.test");
        make_cert(&certs, "ca", "default.test");
        let ca = certs.join("ca.crt").display().to_string();
        let other = certs.join("otherca.crt").display().to_string();

        let lan = Lan::new("tls", 2);
        let (director, servers) = (&lan.hosts[0], &lan.hosts[1]);
        let nginx = Nginx::start(servers, &certs);
        let mut conf = String::new();
        conf += &real_server("off", 443, true, "");
        conf += &real_server("verified", 443, true, &format!("sni='web.test'\nca_file='{ca}'"));
        conf += &real_server("wrongca", 443, false, &format!("sni='web.test'\nca_file='{other}'"));
        // No SNI: nginx shows default.test's certificate, which is not web.test's.
        conf += &real_server("nosni", 443, false, &format!("host='web.test'\nca_file='{ca}'"));
        conf += &real_server("plain", 8080, false, "");
        let d = Daemon::keeplite(director, "checks-tls", &conf);
        let target = format!("{SERVER}:443");
        d.wait_log(&format!("check c_off {target}: up (ok)"), WAIT);
        d.wait_log(&format!("check c_verified {target}: up (ok)"), WAIT);
        for (check, target) in [
            ("c_wrongca", target.as_str()),
            ("c_nosni", target.as_str()),
            ("c_plain", &format!("{SERVER}:8080")),
        ] {
            d.wait_log(&format!("check {check} {target}: down (TLS failure: "), WAIT);
        }
        let log = d.log();
        let unknown = down_reason(&log, "c_wrongca", &target);
        assert!(unknown.contains("UnknownIssuer"), "wrong CA: {unknown}\n{log}");
        let name = down_reason(&log, "c_nosni", &target);
        assert!(name.contains("not valid for name"), "no SNI: {name}\n{log}");
        for healthy in ["c_off ", "c_verified "] {
            assert!(!log.contains(&format!("check {healthy}{target}: down")), "{healthy}went down:\n{log}");
        }

        // The server stops: connection refused.
        drop(nginx);
        d.wait_log(&format!("check c_off {target}: down (connection refused)"), WAIT);
        d.wait_log(&format!("check c_verified {target}: down (connection refused)"), WAIT);
        assert_eq!(d.stop(), Some(0));
        let _ = std::fs::remove_dir_all(&certs);
    }
}
