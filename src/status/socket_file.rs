//! The status socket's file: its directory, a stale file left by a crash, the 0600 mode
//! and removal at stop.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// Which file a path named when keeplite created it: (device, inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId(u64, u64);

fn id_of(path: &Path) -> Option<FileId> {
    fs::symlink_metadata(path).ok().map(|m| FileId(m.dev(), m.ino()))
}

/// Binds a listening socket at `path` with mode 0600.
///
/// The directory is created 0700 when missing; an existing one must belong to keeplite's
/// user and be writable by nobody else (it is left as it is). A socket
/// nobody answers on is a stale one and is replaced; one that answers belongs to a running
/// daemon and is an error, as is a path that is not a socket. The socket is bound under a
/// temporary name, made 0600, then renamed into place, so it is never reachable with the
/// umask's mode.
pub fn bind(path: &Path) -> Result<(UnixListener, FileId), String> {
    let shown = path.display();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("status socket {shown}: cannot create {}: {e}", dir.display()))?;
    }
    // A directory another user can write lets that user replace the socket with one of
    // their own (the client refuses a server that is not root's, but never bind there).
    crate::trust::dir(dir).map_err(|why| format!("status socket {shown}: {why}"))?;
    match fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_socket() => {
            return Err(format!(
                "status socket {shown}: the path exists and is not a socket; not replacing it"
            ));
        }
        Ok(_) if UnixStream::connect(path).is_ok() => {
            return Err(format!(
                "status socket {shown}: another process answers on it (keeplite already running?)"
            ));
        }
        _ => {}
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    let _ = fs::remove_file(&temporary);
    let listener =
        UnixListener::bind(&temporary).map_err(|e| format!("status socket {shown}: cannot bind: {e}"))?;
    let placed = fs::set_permissions(&temporary, fs::Permissions::from_mode(0o600))
        .and_then(|()| fs::rename(&temporary, path));
    if let Err(e) = placed {
        let _ = fs::remove_file(&temporary);
        return Err(format!("status socket {shown}: {e}"));
    }
    let id = id_of(path).ok_or_else(|| format!("status socket {shown}: vanished after it was made"))?;
    Ok((listener, id))
}

/// Removes the socket at `path` if it is still the one [`bind`] made (a daemon started
/// since may have replaced it).
pub fn remove(path: &Path, id: FileId) {
    if id_of(path) == Some(id) {
        if let Err(e) = fs::remove_file(path) {
            if e.kind() != ErrorKind::NotFound {
                crate::log::error!("status socket {}: cannot remove: {e}", path.display());
            }
        }
    }
}
