//! Scripts root would run that another user could change are refused, with the reason
//! (keepalived's `enable_script_security`, always on here), and scripts get a clean
//! environment. A notify script and a track script live in a directory a user can write
//! (a program there is that user's to replace); the same scripts in a directory only root
//! can write run.

mod common;

use common::daemon::{holds_for, scratch, until, until_vip, Daemon};
use common::{netns_available, Lan};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

const VIP: &str = "198.51.100.100";
const WAIT: Duration = Duration::from_secs(10);

/// An executable script at `path` that appends its environment to `out`.
fn script(path: &Path, out: &Path) {
    std::fs::write(path, format!("#!/bin/sh\nenv >> {}\n", out.display())).expect("script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A master whose notify_master and track script are `prog`.
fn conf(prog: &Path) -> String {
    format!(
        "keeplite.gw=vrrp\nkeeplite.gw.interface=eth0\nkeeplite.gw.vrid=51\nkeeplite.gw.priority=100\n\
         keeplite.gw.advert_int=100ms\nkeeplite.gw.vip='{VIP}/24'\nkeeplite.gw.notify_master='{p} master'\n\
         keeplite.gw.track_script=chk\nkeeplite.chk=script\nkeeplite.chk.command='{p} track'\n\
         keeplite.chk.interval=100ms\nkeeplite.chk.weight=-10\n",
        p = prog.display()
    )
}

#[test]
fn scripts_others_could_change_are_refused_and_the_rest_run_with_a_clean_environment() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("scrsec", 1);
    let host = &lan.hosts[0];
    let dir = scratch("scrsec");

    // A directory every user can write (not sticky): its scripts are refused.
    let open = dir.join("open");
    std::fs::create_dir(&open).expect("mkdir");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let (bad, bad_out) = (open.join("hook.sh"), dir.join("bad.out"));
    script(&bad, &bad_out);
    let d = Daemon::keeplite(host, "scrsec-bad", &conf(&bad));
    until_vip(host, VIP, true, WAIT, &[&d]);
    let refusal = format!(
        "{} runs as root but {} is writable by group or others (mode 777): refused",
        bad.display(),
        open.display()
    );
    until("the track script refused, with the reason", WAIT, &[&d], || d.log().contains(&refusal));
    until("the notify script refused", WAIT, &[&d], || {
        d.log().contains("notify") && d.log().matches(&refusal).count() >= 2
    });
    // Said once, not at every 100 ms interval (looked at for 5 intervals).
    holds_for("the refusal said once", Duration::from_millis(500), &[&d], || {
        d.log().matches("script chk: cannot run").count() == 1
    });
    assert!(!bad_out.exists(), "a refused script ran");
    drop(d);

    // The same script in a directory only root can write: it runs, with PATH alone.
    let (good, good_out) = (dir.join("hook.sh"), dir.join("good.out"));
    script(&good, &good_out);
    let d = Daemon::keeplite(host, "scrsec-good", &conf(&good));
    until_vip(host, VIP, true, WAIT, &[&d]);
    let env = until("the scripts ran", WAIT, &[&d], || {
        std::fs::read_to_string(&good_out).ok().filter(|t| t.contains("PATH="))
    });
    let names: std::collections::BTreeSet<&str> =
        env.lines().filter_map(|l| l.split_once('=').map(|(k, _)| k)).collect();
    // dash adds PWD; nothing of keeplite's own environment (HOME, CARGO_*, ...) gets in.
    assert!(names.iter().all(|n| ["PATH", "PWD", "OLDPWD", "SHLVL", "_"].contains(n)), "{names:?}");
    assert!(env.contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), "{env}");
}
