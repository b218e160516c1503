//! The `process` check, as keepalived's `vrrp_track_process`: how many running processes
//! match a name (and, when asked, arguments), against a quorum. A vrrp `track_process`
//! follows it (with `fork_delay` and `terminate_delay`), and a real server may name it too
//! (up while the quorum holds).
//!
//! keepalived learns of every fork, exec and exit from the kernel's proc connector. That
//! connector only speaks to the first network namespace, and keepalived in a container
//! hears nothing; keeplite reads `/proc` instead, every `interval` of the check (1 s when
//! unset): a process that exits counts at the next read. A read opens `/proc/PID/stat`
//! of each process (two system calls and a close), and `/proc/PID/cmdline` only for the
//! checks that match arguments or the whole command: about a millisecond for the few
//! hundred processes of a router.
//!
//! Matching as keepalived's: the name is compared whole with the kernel's process name
//! (`comm`, as `ps -o comm` and `pgrep -x` see it, at most 15 bytes), or with
//! `full_command` with the command line's first word (`argv[0]`, a path as the process
//! was started). Arguments, when given or when `param_match` is set, are compared with
//! the rest of the command line: `exact` the same ones (none when none are given),
//! `partial` the first ones, `initial` the first ones with the last given only beginning
//! the process's. Zombies do not count.

use super::Outcome;
use crate::config::model::{ParamMatch, ProcessCheck};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

/// Bytes of a command line read; arguments past them are not compared (an `exact` match
/// of a longer command line fails, as it must: a configuration holds less).
const CMDLINE_BYTES: usize = 4096;
/// Bytes of `/proc/PID/stat` read: the pid, the name in parentheses and the state.
const STAT_BYTES: usize = 64;

/// One running process as the checks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The kernel's name of the process.
    pub comm: Vec<u8>,
    /// The command line, NUL after each word, when a check needs it; `truncated` when it
    /// was longer than [`CMDLINE_BYTES`].
    pub cmdline: Option<Vec<u8>>,
    pub truncated: bool,
}

/// True when `seen` is a process `check` counts.
pub fn matches(check: &ProcessCheck, seen: &Seen) -> bool {
    let needs_cmdline = check.full_command || check.args.is_some();
    let words: Vec<&[u8]> = match (&seen.cmdline, needs_cmdline) {
        (Some(c), true) => c.strip_suffix(b"\0").unwrap_or(c.as_slice()).split(|&b| b == 0).collect(),
        (None, true) => return false,
        (_, false) => Vec::new(),
    };
    let name: &[u8] =
        if check.full_command { words.first().copied().unwrap_or_default() } else { &seen.comm };
    if name != check.process.as_bytes() {
        return false;
    }
    let Some((want, how)) = &check.args else { return true };
    let have = words.get(1..).unwrap_or_default();
    let prefix = |n: usize| have.len() >= n && want[..n].iter().zip(have).all(|(w, h)| w.as_bytes() == *h);
    match how {
        ParamMatch::Exact => !seen.truncated && have.len() == want.len() && prefix(want.len()),
        ParamMatch::Partial => prefix(want.len()),
        ParamMatch::Initial => match want.split_last() {
            None => true,
            Some((last, _)) => {
                let n = want.len() - 1;
                prefix(n) && have.get(n).is_some_and(|h| h.starts_with(last.as_bytes()))
            }
        },
    }
}

/// True when `count` matching processes make the quorum (before `reverse`).
pub fn quorate(check: &ProcessCheck, count: u32) -> bool {
    (check.quorum..=check.quorum_max).contains(&count)
}

/// How many running processes each of `checks` counts, read from `proc` (`/proc`, or a
/// directory laid out like it in tests). An error when `proc` cannot be listed; a process
/// that ends while it is read is passed over.
pub fn count(proc: &Path, checks: &[&ProcessCheck]) -> Result<Vec<u32>, String> {
    let cmdline = checks.iter().any(|c| c.full_command || c.args.is_some());
    let entries = std::fs::read_dir(proc).map_err(|e| format!("cannot list {}: {e}", proc.display()))?;
    let mut counts = vec![0u32; checks.len()];
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.as_encoded_bytes().iter().all(u8::is_ascii_digit) {
            continue;
        }
        let Some(seen) = read_process(&entry.path(), cmdline) else { continue };
        for (n, check) in counts.iter_mut().zip(checks) {
            *n += u32::from(matches(check, &seen));
        }
    }
    Ok(counts)
}

/// The name and (when `cmdline`) the command line of the process at `dir`; `None` for a
/// zombie, or a process gone meanwhile.
fn read_process(dir: &Path, cmdline: bool) -> Option<Seen> {
    let mut stat = [0u8; STAT_BYTES];
    let len = read_into(&dir.join("stat"), &mut stat)?;
    let (comm, state) = parse_stat(&stat[..len])?;
    if matches!(state, b'Z' | b'X') {
        return None;
    }
    let (cmdline, truncated) = if cmdline {
        let mut buf = vec![0u8; CMDLINE_BYTES];
        let len = read_into(&dir.join("cmdline"), &mut buf)?;
        buf.truncate(len);
        (Some(buf), len == CMDLINE_BYTES)
    } else {
        (None, false)
    };
    Some(Seen { comm: comm.to_vec(), cmdline, truncated })
}

/// The start of the file at `path` into `buf`; the bytes read.
fn read_into(path: &Path, buf: &mut [u8]) -> Option<usize> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut len = 0;
    while len < buf.len() {
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(len)
}

/// The name and state of `/proc/PID/stat` (`PID (NAME) S ...`). The name may hold any
/// byte, `)` and spaces too, and the fields after it are numbers: it ends at the last `)`
/// of the first bytes, where a name of at most 15 bytes must end.
fn parse_stat(stat: &[u8]) -> Option<(&[u8], u8)> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let head = &stat[..stat.len().min(open + 1 + 16 + 1)];
    let close = head.iter().rposition(|&b| b == b')')?;
    let state = *stat.get(close + 2)?;
    Some((stat.get(open + 1..close)?, state))
}

/// The `process` check of a real server: up while the quorum holds (`reverse`: while it
/// does not). The delays are vrrp tracking's; a real server has `rise` and `fall`.
pub async fn probe(check: &ProcessCheck) -> Outcome {
    match count(Path::new("/proc"), &[check]) {
        Ok(counts) => {
            let n = counts[0];
            if quorate(check, n) != check.reverse {
                Outcome::Ok
            } else {
                Outcome::Processes(n)
            }
        }
        Err(e) => Outcome::Error(e),
    }
}

/// A tracked process's quorum as vrrp tracking sees it: a change counts once it has
/// lasted `fork_delay` (gained) or `terminate_delay` (lost), as keepalived's timers; a
/// change undone before then never shows. Judged at each read, so a delay is rounded up
/// to the reads.
#[derive(Debug, Clone, Default)]
pub struct Quorum {
    /// The state shown; `None` before the first read, which is taken as it is.
    shown: Option<bool>,
    /// The other state, and since when it has been read.
    pending: Option<(bool, Instant)>,
}

impl Quorum {
    /// The state to show after a read at `now` found `count` processes.
    pub fn read(&mut self, check: &ProcessCheck, count: u32, now: Instant) -> bool {
        let now_up = quorate(check, count);
        let Some(shown) = self.shown else {
            self.shown = Some(now_up);
            return now_up;
        };
        if now_up == shown {
            self.pending = None;
            return shown;
        }
        let since = match self.pending {
            Some((state, since)) if state == now_up => since,
            _ => {
                self.pending = Some((now_up, now));
                now
            }
        };
        let delay: Duration = if now_up { check.fork_delay } else { check.terminate_delay };
        if now.saturating_duration_since(since) >= delay {
            self.shown = Some(now_up);
            self.pending = None;
            return now_up;
        }
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(process: &str) -> ProcessCheck {
        ProcessCheck {
            process: process.into(),
            args: None,
            full_command: false,
            quorum: 1,
            quorum_max: u32::MAX,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
            weight: 0,
            reverse: false,
        }
    }

    fn with_args(process: &str, args: &[&str], how: ParamMatch) -> ProcessCheck {
        ProcessCheck { args: Some((args.iter().map(|a| (*a).to_owned()).collect(), how)), ..check(process) }
    }

    fn seen(comm: &str, cmdline: &[&str]) -> Seen {
        let mut c = Vec::new();
        for word in cmdline {
            c.extend_from_slice(word.as_bytes());
            c.push(0);
        }
        Seen { comm: comm.into(), cmdline: Some(c), truncated: false }
    }

    #[test]
    fn the_name_is_compared_whole_with_comm() {
        let nginx = seen("nginx", &["nginx: master process /usr/sbin/nginx"]);
        assert!(matches(&check("nginx"), &nginx));
        assert!(!matches(&check("ngin"), &nginx), "no prefix match, unlike pgrep");
        assert!(!matches(&check("nginx2"), &nginx));
        assert!(!matches(&check("Nginx"), &nginx));
        // Without a check that needs it, the command line is not read at all.
        assert!(matches(&check("sshd"), &Seen { comm: b"sshd".to_vec(), cmdline: None, truncated: false }));
    }

    #[test]
    fn full_command_compares_the_first_word() {
        let haproxy = seen("haproxy", &["/usr/sbin/haproxy", "-f", "/etc/haproxy.cfg"]);
        let full = |p: &str| ProcessCheck { full_command: true, ..check(p) };
        assert!(matches(&full("/usr/sbin/haproxy"), &haproxy));
        assert!(!matches(&full("haproxy"), &haproxy));
        // A kernel thread has an empty command line.
        assert!(!matches(&full("/usr/sbin/haproxy"), &seen("kworker/0:1", &[])));
    }

    #[test]
    fn arguments_exact_partial_and_initial() {
        let p = seen("haproxy", &["/usr/sbin/haproxy", "-f", "/etc/haproxy.cfg", "-D"]);
        let bare = seen("haproxy", &["haproxy"]);
        use ParamMatch::*;
        assert!(matches(&with_args("haproxy", &["-f", "/etc/haproxy.cfg", "-D"], Exact), &p));
        assert!(!matches(&with_args("haproxy", &["-f", "/etc/haproxy.cfg"], Exact), &p));
        assert!(matches(&with_args("haproxy", &["-f", "/etc/haproxy.cfg"], Partial), &p));
        assert!(!matches(&with_args("haproxy", &["-f", "/etc/haproxy"], Partial), &p));
        assert!(matches(&with_args("haproxy", &["-f", "/etc/haproxy"], Initial), &p));
        assert!(!matches(&with_args("haproxy", &["-g", "/etc/haproxy"], Initial), &p));
        assert!(!matches(&with_args("haproxy", &["-f", "/etc/haproxy.cfg", "-D", "-x"], Partial), &p));
        // Exact with no arguments: a process started without any.
        assert!(matches(&with_args("haproxy", &[], Exact), &bare));
        assert!(!matches(&with_args("haproxy", &[], Exact), &p));
        assert!(matches(&with_args("haproxy", &[], Partial), &p));
        assert!(matches(&with_args("haproxy", &[], Initial), &p));
        // A command line longer than was read never equals a configured one.
        let long = Seen { truncated: true, ..p.clone() };
        assert!(!matches(&with_args("haproxy", &["-f", "/etc/haproxy.cfg", "-D"], Exact), &long));
        assert!(matches(&with_args("haproxy", &["-f"], Partial), &long));
    }

    #[test]
    fn stat_names_with_parentheses_and_spaces() {
        assert_eq!(parse_stat(b"42 (nginx) S 1 42 42 0"), Some((&b"nginx"[..], b'S')));
        assert_eq!(parse_stat(b"7 (a) b (c)) Z 1 2"), Some((&b"a) b (c)"[..], b'Z')));
        assert_eq!(parse_stat(b"7 () R 1"), Some((&b""[..], b'R')));
        assert_eq!(parse_stat(b"7 (cut"), None);
        assert_eq!(parse_stat(b""), None);
        assert_eq!(parse_stat(b"7 (x)"), None);
    }

    #[test]
    fn quorum_and_quorum_max() {
        let c = ProcessCheck { quorum: 2, quorum_max: 3, ..check("w") };
        assert_eq!([0, 1, 2, 3, 4].map(|n| quorate(&c, n)), [false, false, true, true, false]);
        // quorum 0, quorum_max 0: up while none runs.
        let none = ProcessCheck { quorum: 0, quorum_max: 0, ..check("w") };
        assert!(quorate(&none, 0) && !quorate(&none, 1));
    }

    #[test]
    fn delays_hold_a_change_back_until_it_has_lasted() {
        let c = ProcessCheck {
            fork_delay: Duration::from_millis(300),
            terminate_delay: Duration::from_millis(500),
            ..check("w")
        };
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut q = Quorum::default();
        assert!(!q.read(&c, 0, at(0)), "the first read is taken as it is");
        assert!(!q.read(&c, 1, at(100)), "gained: not yet");
        assert!(!q.read(&c, 1, at(300)));
        assert!(q.read(&c, 1, at(400)), "gained 300 ms ago");
        assert!(q.read(&c, 0, at(500)), "lost: not yet");
        assert!(q.read(&c, 1, at(600)), "back before the terminate delay: never shown");
        assert!(q.read(&c, 0, at(700)));
        assert!(q.read(&c, 0, at(1100)), "lost again at 700: the delay starts afresh");
        assert!(!q.read(&c, 0, at(1200)));
        let mut instant = Quorum::default();
        assert!(instant.read(&check("w"), 1, at(0)));
        assert!(!instant.read(&check("w"), 0, at(0)), "no delay: at once");
    }

    #[test]
    fn counts_a_proc_like_directory() {
        let root = std::env::temp_dir().join(format!("keeplite-proc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let process = |pid: &str, stat: &str, cmdline: &[u8]| {
            let dir = root.join(pid);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("stat"), stat).unwrap();
            std::fs::write(dir.join("cmdline"), cmdline).unwrap();
        };
        process("1", "1 (init) S 0 1", b"/sbin/init\0");
        process("20", "20 (nginx) S 1 20", b"nginx: master process\0");
        process("21", "21 (nginx) S 20 20", b"nginx: worker process\0");
        process("22", "22 (nginx) Z 20 20", b"");
        process("30", "30 (haproxy) S 1 30", b"/usr/sbin/haproxy\0-f\0/etc/h.cfg\0");
        std::fs::create_dir_all(root.join("self")).unwrap();
        std::fs::write(root.join("version"), "not a process").unwrap();
        let nginx = check("nginx");
        let haproxy = with_args("haproxy", &["-f"], ParamMatch::Partial);
        let init = ProcessCheck { full_command: true, ..check("/sbin/init") };
        assert_eq!(
            count(&root, &[&nginx, &haproxy, &init]).unwrap(),
            vec![2, 1, 1],
            "the zombie does not count"
        );
        assert!(count(&root.join("missing"), &[&nginx]).unwrap_err().contains("cannot list"));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn this_test_process_is_found_in_proc() {
        // Its name as the scan reads it: under qemu-user (the aarch64 unit tests) this
        // process's /proc/PID/stat is qemu's rendering, not /proc/self/comm.
        let mut stat = [0u8; STAT_BYTES];
        let dir = Path::new("/proc").join(std::process::id().to_string());
        let len = read_into(&dir.join("stat"), &mut stat).unwrap();
        let (comm, _) = parse_stat(&stat[..len]).unwrap();
        let name = String::from_utf8_lossy(comm).into_owned();
        let counts = count(Path::new("/proc"), &[&check(&name)]).unwrap();
        assert!(counts[0] >= 1, "{name:?} not found");
    }
}
