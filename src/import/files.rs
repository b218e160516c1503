//! The files an import reads: the disk for the command, a table in memory for tests.

use std::io;

/// What the import needs of the machine: its files, and its environment.
pub trait Files {
    /// A file's bytes.
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;
    /// The names in a directory (not `.` and `..`), in any order.
    fn list(&self, dir: &str) -> io::Result<Vec<String>>;
    /// True when `path` names a regular file (following links).
    fn is_file(&self, path: &str) -> bool;
    /// The working directory, for `${_PWD}` of a file named by a relative path.
    fn current_dir(&self) -> String;
    /// An environment variable, for `${_ENV NAME}`.
    fn env(&self, name: &str) -> Option<String>;
}

/// The real file system, with each file read up to `max_bytes` + 1 (enough to tell it is
/// too large).
pub struct Disk {
    pub max_bytes: usize,
}

impl Files for Disk {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let mut bytes = Vec::new();
        std::fs::File::open(path)?.take(self.max_bytes as u64 + 1).read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let dir = if dir.is_empty() { "." } else { dir };
        std::fs::read_dir(dir)?.map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned())).collect()
    }

    fn is_file(&self, path: &str) -> bool {
        std::fs::metadata(path).is_ok_and(|m| m.is_file())
    }

    fn current_dir(&self) -> String {
        std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_else(|_| "/".to_owned())
    }

    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// Files held in memory, by path; directories are implied by the paths. The environment
/// is empty unless set.
#[cfg(test)]
#[derive(Debug, Default, Clone)]
pub struct Memory {
    files: Vec<(String, Vec<u8>)>,
    cwd: String,
    env: Vec<(String, String)>,
}

#[cfg(test)]
impl Memory {
    /// An empty file system whose working directory is `cwd`.
    pub fn new(cwd: &str) -> Memory {
        Memory { files: Vec::new(), cwd: cwd.to_owned(), env: Vec::new() }
    }

    /// Sets an environment variable.
    pub fn set_env(&mut self, name: &str, value: &str) -> &mut Memory {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds (or replaces) a file.
    pub fn add(&mut self, path: &str, text: impl Into<Vec<u8>>) -> &mut Memory {
        let bytes = text.into();
        match self.files.iter_mut().find(|(p, _)| p == path) {
            Some(f) => f.1 = bytes,
            None => self.files.push((path.to_owned(), bytes)),
        }
        self
    }

    /// The absolute path, with `.` and `..` resolved.
    fn absolute(&self, path: &str) -> String {
        let full = if path.starts_with('/') { path.to_owned() } else { format!("{}/{path}", self.cwd) };
        let mut parts: Vec<&str> = Vec::new();
        for p in full.split('/') {
            match p {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        format!("/{}", parts.join("/"))
    }
}

#[cfg(test)]
impl Files for Memory {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        let want = self.absolute(path);
        self.files
            .iter()
            .find(|(p, _)| self.absolute(p) == want)
            .map(|(_, b)| b.clone())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "No such file or directory"))
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let prefix = format!("{}/", self.absolute(dir).trim_end_matches('/'));
        let mut names: Vec<String> = self
            .files
            .iter()
            .filter_map(|(p, _)| {
                self.absolute(p).strip_prefix(&prefix).map(|r| r.split('/').next().unwrap_or("").to_owned())
            })
            .filter(|n| !n.is_empty())
            .collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "No such file or directory"));
        }
        Ok(names)
    }

    fn is_file(&self, path: &str) -> bool {
        let want = self.absolute(path);
        self.files.iter().any(|(p, _)| self.absolute(p) == want)
    }

    fn current_dir(&self) -> String {
        self.cwd.clone()
    }

    fn env(&self, name: &str) -> Option<String> {
        self.env.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }
}
