//! `auth_hmac_key` values read from files: what the file may hold, and who may change it.

use super::load;
use crate::config::Severity;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// A directory of root's, mode 700, under the temporary directory.
fn keys_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keeplite-keys-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    d
}

fn write(path: &Path, content: &str, mode: u32) {
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The problems of an instance whose only key is `file:PATH`, and its key bytes.
fn with_file(path: &Path) -> (Vec<(Severity, String)>, Option<Vec<u8>>) {
    let text = format!(
        "keeplite.gw=vrrp\nkeeplite.gw.interface='eth0'\nkeeplite.gw.vrid='1'\nkeeplite.gw.vip='10.0.0.1/24'\n\
         keeplite.gw.auth_hmac_key='1 file:{}'\n",
        path.display()
    );
    let o = load(&text);
    let problems = o.problems.iter().map(|p| (p.severity, p.render("t.conf"))).collect();
    let key = o.config.and_then(|c| c.vrrp[0].auth_hmac.clone()).map(|h| h.keys[0].secret.0.to_vec());
    (problems, key)
}

#[test]
fn a_key_file_holds_a_hex_line_or_text() {
    if !rustix::process::geteuid().is_root() {
        return; // the files must be keeplite's user's, and the directories above root's
    }
    let d = keys_dir("content");
    let hex = d.join("hex");
    write(&hex, &format!("hex:{KEY_HEX}\n"), 0o600);
    let (problems, key) = with_file(&hex);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(key, Some((0..32).collect()));

    let text = d.join("text");
    write(&text, "correct-horse-battery-staple-4242\r\n", 0o400);
    let (problems, key) = with_file(&text);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(key, Some(b"correct-horse-battery-staple-4242".to_vec()));

    let short = d.join("short");
    write(&short, "hex:0011\n", 0o600);
    let (problems, _) = with_file(&short);
    assert!(problems[0].1.contains("key 1 is 2 bytes long"), "{problems:?}");
    let long = d.join("long");
    write(&long, &"x".repeat(200), 0o600);
    let (problems, _) = with_file(&long);
    assert!(problems[0].1.contains("longer than 134 bytes"), "{problems:?}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_key_file_others_can_change_is_refused_and_one_they_can_read_is_a_warning() {
    if !rustix::process::geteuid().is_root() {
        return;
    }
    let d = keys_dir("trust");
    let key = d.join("vrrp51");
    write(&key, &format!("hex:{KEY_HEX}\n"), 0o644);
    let (problems, loaded) = with_file(&key);
    assert!(loaded.is_some());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, Severity::Warning);
    assert!(problems[0].1.contains("can be read by group or others"), "{problems:?}");

    for (file_mode, dir_mode) in [(0o664, 0o700), (0o600, 0o777)] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(file_mode)).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(dir_mode)).unwrap();
        let (problems, loaded) = with_file(&key);
        assert!(loaded.is_none());
        assert!(
            problems[0].1.contains("is writable by group or others"),
            "{file_mode:o} {dir_mode:o}: {problems:?}"
        );
    }
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&key, Some(65534), None).unwrap();
    let (problems, _) = with_file(&key);
    assert!(problems[0].1.contains("belongs to uid 65534"), "{problems:?}");

    // A symlink (systemd's credentials directory, say) to a file of root's is fine; to
    // another user's file it is refused.
    std::os::unix::fs::chown(&key, Some(0), None).unwrap();
    let link = d.join("link");
    std::os::unix::fs::symlink(&key, &link).unwrap();
    assert_eq!(with_file(&link).0, vec![]);
    std::os::unix::fs::chown(&key, Some(65534), None).unwrap();
    assert!(with_file(&link).0[0].1.contains("belongs to uid 65534"));
    // A FIFO is no key file, and reading it never blocks.
    let fifo = d.join("fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    assert!(with_file(&fifo).0[0].1.contains("not a regular file"));
    let _ = std::fs::remove_dir_all(&d);
}
