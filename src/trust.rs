//! What root may trust on the file system: files and directories that no other user can
//! change. keeplite runs as root, so a pid file, a socket or a script in a place another
//! user can write is a way for that user to act as root.

use rustix::fs::{self, FileType, Stat};
use std::path::Path;

/// The owner and mode bits of `st` leave it to keeplite's user (root) alone: owned by it
/// and writable by neither group nor others.
fn owned_alone(st: &Stat) -> Result<(), String> {
    if st.st_uid != rustix::process::geteuid().as_raw() {
        return Err(format!("belongs to uid {}, not to keeplite's user", st.st_uid));
    }
    if st.st_mode & 0o022 != 0 {
        return Err(format!("is writable by group or others (mode {:o})", st.st_mode & 0o7777));
    }
    Ok(())
}

/// `dir` is a directory that only keeplite's user can change.
pub fn dir(dir: &Path) -> Result<(), String> {
    let st = fs::stat(dir).map_err(|e| format!("directory {}: {e}", dir.display()))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        return Err(format!("{} is not a directory", dir.display()));
    }
    owned_alone(&st).map_err(|why| format!("directory {} {why}: refused", dir.display()))
}

/// `st` (of an open file) is a regular file of keeplite's user.
pub fn own_regular_file(st: &Stat) -> Result<(), String> {
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err("is not a regular file: refused".into());
    }
    if st.st_uid != rustix::process::geteuid().as_raw() {
        return Err(format!("belongs to uid {}, not to keeplite's user: refused", st.st_uid));
    }
    Ok(())
}

/// Where a command's program is looked up, and the only `PATH` scripts get.
pub const SCRIPT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The program `command` (a `/bin/sh -c` line) starts with can be changed by nobody but
/// keeplite's user: the file and every directory above it (a sticky directory such as
/// `/tmp` is fine when the next one down is keeplite's). keepalived's
/// `enable_script_security`. A first word that is no file on [`SCRIPT_PATH`] is a shell
/// builtin or missing: nothing to check (the shell says what is missing).
pub fn script(command: &str) -> Result<(), String> {
    let Some(word) = command.split_whitespace().next() else { return Ok(()) };
    let program = if word.contains('/') {
        Some(std::path::PathBuf::from(word))
    } else {
        SCRIPT_PATH.split(':').map(|d| Path::new(d).join(word)).find(|p| p.is_file())
    };
    let Some(program) = program else { return Ok(()) };
    let real = std::fs::canonicalize(&program).map_err(|e| format!("{}: {e}", program.display()))?;
    for path in [program.as_path(), real.as_path()] {
        chain(path).map_err(|why| format!("{} runs as root but {why}: refused", program.display()))?;
    }
    Ok(())
}

/// A secret (a key file): a regular file that nobody but keeplite's user can change, nor
/// any directory above it. The file opened is the one checked: it must be keeplite's user's
/// and writable by nobody else (read from the open descriptor), and it must be the file the
/// symlink-free path names, whose directories are checked as for [`script`] (a symlink
/// swapped between the open and the check is refused, not followed). Its bytes, at most
/// `max` (more is refused), and whether group or others may read it (a warning, as
/// keepalived gives).
pub fn read_secret(path: &Path, max: usize) -> Result<(Vec<u8>, bool), String> {
    use std::io::Read;
    let flags = fs::OFlags::RDONLY | fs::OFlags::NONBLOCK | fs::OFlags::CLOEXEC;
    let fd = fs::open(path, flags, fs::Mode::empty()).map_err(|e| e.to_string())?;
    let st = fs::fstat(&fd).map_err(|e| e.to_string())?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err("not a regular file".into());
    }
    owned_alone(&st).map_err(|why| format!("{why}: refused"))?;
    let real = std::fs::canonicalize(path).map_err(|e| e.to_string())?;
    let named = fs::stat(&real).map_err(|e| format!("{}: {e}", real.display()))?;
    if (named.st_dev, named.st_ino) != (st.st_dev, st.st_ino) {
        return Err(format!("changed while it was read ({} is another file now): refused", real.display()));
    }
    chain(&real).map_err(|why| format!("{why}: refused"))?;
    let mut bytes = Vec::new();
    std::fs::File::from(fd).take(max as u64 + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() > max {
        return Err(format!("longer than {max} bytes"));
    }
    Ok((bytes, st.st_mode & 0o044 != 0))
}

/// `path` and its directories up to `/`, checked the way [`script`] says.
fn chain(path: &Path) -> Result<(), String> {
    let me = rustix::process::geteuid().as_raw();
    let mut below_is_mine = true;
    for (i, p) in path.ancestors().enumerate() {
        if p.as_os_str().is_empty() {
            continue;
        }
        // The program itself may be a symlink: its target is checked on its own.
        let st = if i == 0 { fs::lstat(p) } else { fs::stat(p) };
        let st = st.map_err(|e| format!("{}: {e}", p.display()))?;
        let writable_by_others = st.st_mode & 0o022 != 0;
        let sticky = st.st_mode & 0o1000 != 0 && i > 0;
        let is_link = FileType::from_raw_mode(st.st_mode) == FileType::Symlink;
        if st.st_uid != me && !is_link {
            return Err(format!("{} belongs to uid {}", p.display(), st.st_uid));
        }
        if writable_by_others && !is_link && !(sticky && below_is_mine) {
            return Err(format!(
                "{} is writable by group or others (mode {:o})",
                p.display(),
                st.st_mode & 0o7777
            ));
        }
        below_is_mine = st.st_uid == me;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_script_others_can_change_is_refused() {
        if !rustix::process::geteuid().is_root() {
            return; // /usr/bin is root's: the cases below need keeplite's user to be root
        }
        // System programs and shell builtins are fine.
        for ok in ["test -e /x", "echo hi >> /tmp/y", "pidof nginx", "/bin/true", "  ", "nosuchprogram --x"] {
            assert_eq!(script(ok), Ok(()), "{ok}");
        }
        let d = std::env::temp_dir().join(format!("keeplite-trust-script-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        let prog = d.join("check.sh");
        std::fs::write(&prog, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cmd = format!("{} --quick", prog.display());
        // Root's file in root's directory under the sticky /tmp: fine.
        assert_eq!(script(&cmd), Ok(()));
        // Writable by others, or in a directory others can write: refused, saying why.
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = script(&cmd).unwrap_err();
        assert!(e.contains("check.sh runs as root but") && e.contains("mode 777"), "{e}");
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(script(&cmd).unwrap_err().contains("is writable by group or others"));
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Another user's file, or a symlink to one.
        std::os::unix::fs::chown(&prog, Some(65534), None).unwrap();
        assert!(script(&cmd).unwrap_err().contains("belongs to uid 65534"));
        let link = d.join("link.sh");
        std::os::unix::fs::symlink(&prog, &link).unwrap();
        assert!(script(&link.display().to_string()).unwrap_err().contains("belongs to uid 65534"));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_directory_is_trusted_only_when_nobody_else_can_write_it() {
        let d = std::env::temp_dir().join(format!("keeplite-trust-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        for (mode, ok) in [(0o700, true), (0o755, true), (0o775, false), (0o777, false), (0o1777, false)] {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(dir(&d).is_ok(), ok, "mode {mode:o}: {:?}", dir(&d));
        }
        assert!(dir(Path::new("/nonexistent/keeplite")).unwrap_err().contains("/nonexistent/keeplite"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
