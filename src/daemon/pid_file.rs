//! The optional pid file (`pid_file`): written at start, removed at a clean stop. Meant
//! for the runtime directory (tmpfs), so a read-only root is no obstacle.

use std::io::Write;
use std::path::PathBuf;

/// A pid file this process wrote; dropping it removes the file.
#[derive(Debug)]
pub struct PidFile(PathBuf);

impl PidFile {
    /// Writes this process's pid to `path`. A file left by a keeplite that still runs is
    /// refused, one left by a dead process is replaced.
    pub fn create(path: &str) -> Result<PidFile, String> {
        if let Some(pid) = std::fs::read_to_string(path).ok().and_then(|t| t.trim().parse::<i32>().ok()) {
            let alive = rustix::process::Pid::from_raw(pid)
                .is_some_and(|p| rustix::process::test_kill_process(p).is_ok());
            if alive && pid != std::process::id() as i32 {
                return Err(format!(
                    "pid file {path}: process {pid} is running; is keeplite running already?"
                ));
            }
        }
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(path)?;
            writeln!(f, "{}", std::process::id())
        };
        write().map_err(|e| format!("cannot write pid file {path}: {e}"))?;
        Ok(PidFile(PathBuf::from(path)))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> String {
        let dir = std::env::temp_dir().join(format!("keeplite-pid-{}-{name}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        dir.join("keeplite.pid").to_string_lossy().into_owned()
    }

    #[test]
    fn written_then_removed() {
        let path = scratch("plain");
        let pid = PidFile::create(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{}\n", std::process::id()));
        drop(pid);
        assert!(!std::path::Path::new(&path).exists());
    }

    #[test]
    fn a_stale_file_is_replaced_and_a_live_owner_refused() {
        let path = scratch("stale");
        // pid 1 always runs; a huge pid never does.
        std::fs::write(&path, "1\n").unwrap();
        assert!(PidFile::create(&path).unwrap_err().contains("process 1 is running"));
        std::fs::write(&path, "2147483646\n").unwrap();
        assert!(PidFile::create(&path).is_ok());
    }

    #[test]
    fn an_unwritable_place_says_where() {
        let e = PidFile::create("/proc/keeplite.pid").unwrap_err();
        assert!(e.starts_with("cannot write pid file /proc/keeplite.pid"), "{e}");
    }
}
