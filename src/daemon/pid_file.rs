//! The optional pid file (`pid_file`): written at start, removed at a clean stop. Meant
//! for the runtime directory (tmpfs), so a read-only root is no obstacle.
//!
//! Root writes it, so nothing another user can change is trusted: the directory must
//! belong to keeplite's user (root) and be writable by nobody else; an existing file must
//! be a regular file of keeplite's user, opened without following a symlink and without
//! waiting on a FIFO; the new file is created exclusively (`O_EXCL|O_NOFOLLOW`). The file
//! stays open with an exclusive lock while keeplite runs, which is what tells a second
//! keeplite that the first still runs (a pid alone may have been reused).

use rustix::fd::OwnedFd;
use rustix::fs::{self, FlockOperation, Mode, OFlags};
use rustix::io::Errno;
use std::path::{Path, PathBuf};

/// A pid file this process wrote and holds locked; dropping it removes the file.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    _lock: OwnedFd,
}

impl PidFile {
    /// Writes this process's pid to `path`. A file that a running keeplite holds is
    /// refused; one left by a dead one is replaced; anything another user could have
    /// placed (a symlink, a FIFO, a file of theirs, a directory they can write) is refused
    /// with the reason.
    pub fn create(path: &str) -> Result<PidFile, String> {
        let fail = |why: String| format!("pid file {path}: {why}");
        let file = Path::new(path);
        let dir = file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        crate::trust::dir(dir).map_err(fail)?;
        match fs::open(
            file,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(old) => {
                let st = fs::fstat(&old).map_err(|e| fail(format!("cannot stat: {e}")))?;
                crate::trust::own_regular_file(&st).map_err(fail)?;
                if fs::flock(&old, FlockOperation::NonBlockingLockShared) == Err(Errno::WOULDBLOCK) {
                    let pid = std::fs::read_to_string(file).unwrap_or_default();
                    return Err(fail(format!(
                        "held by process {}: is keeplite running already?",
                        pid.trim()
                    )));
                }
                fs::unlink(file).map_err(|e| fail(format!("cannot remove the stale file: {e}")))?;
            }
            Err(Errno::NOENT) => {}
            Err(Errno::LOOP) => return Err(fail("is a symbolic link: refused".into())),
            Err(e) => return Err(fail(format!("cannot open: {e}"))),
        }
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = fs::open(file, flags, Mode::from_raw_mode(0o644))
            .map_err(|e| format!("cannot write pid file {path}: {e}"))?;
        fs::flock(&fd, FlockOperation::NonBlockingLockExclusive)
            .map_err(|e| fail(format!("cannot lock: {e}")))?;
        let text = format!("{}\n", std::process::id());
        rustix::io::write(&fd, text.as_bytes()).map_err(|e| format!("cannot write pid file {path}: {e}"))?;
        Ok(PidFile { path: file.to_path_buf(), _lock: fd })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fresh directory of this user's, mode 0755, and the pid file's path in it.
    fn scratch(name: &str) -> (PathBuf, String) {
        let dir = std::env::temp_dir().join(format!("keeplite-pid-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.join("keeplite.pid").to_string_lossy().into_owned();
        (dir, path)
    }

    #[test]
    fn written_locked_then_removed() {
        let (_, path) = scratch("plain");
        let pid = PidFile::create(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{}\n", std::process::id()));
        // A second keeplite finds it held, whatever pid it names.
        let e = PidFile::create(&path).unwrap_err();
        assert!(e.contains("is keeplite running already?"), "{e}");
        drop(pid);
        assert!(!Path::new(&path).exists());
    }

    #[test]
    fn a_stale_file_is_replaced_even_when_its_pid_runs() {
        let (_, path) = scratch("stale");
        // pid 1 always runs, but nobody holds the file: a reused pid is not keeplite.
        std::fs::write(&path, "1\n").unwrap();
        let pid = PidFile::create(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{}\n", std::process::id()));
        drop(pid);
    }

    #[test]
    fn a_symlink_is_refused_and_its_target_untouched() {
        let (dir, path) = scratch("symlink");
        let target = dir.join("precious");
        std::fs::write(&target, "keep me\n").unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let e = PidFile::create(&path).unwrap_err();
        assert!(e.contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
    }

    #[test]
    fn a_fifo_is_refused_without_hanging() {
        let (_, path) = scratch("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            path.as_str(),
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let e = PidFile::create(&path).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
    }

    #[test]
    fn a_directory_others_can_write_is_refused() {
        let (dir, path) = scratch("open");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = PidFile::create(&path).unwrap_err();
        assert!(e.contains("writable by group or others (mode 777)"), "{e}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(PidFile::create(&path).is_err(), "sticky does not make /tmp-like directories safe");
    }

    #[test]
    fn another_users_file_is_refused() {
        let (_, path) = scratch("theirs");
        std::fs::write(&path, "2147483646\n").unwrap();
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
            let e = PidFile::create(&path).unwrap_err();
            assert!(e.contains("belongs to uid 65534"), "{e}");
        }
    }

    #[test]
    fn an_unusable_place_says_where() {
        let e = PidFile::create("/proc/self/keeplite.pid").unwrap_err();
        assert!(e.contains("/proc/self/keeplite.pid"), "{e}");
    }
}
