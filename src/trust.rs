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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

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
