//! The kernel's network settings under `/proc/sys/net`: one read, one write.

fn path(key: &str) -> String {
    format!("/proc/sys/net/{key}")
}

/// Setting `key` (`ipv4/conf/eth0/rp_filter`, ...), trimmed; `None` when it cannot be read
/// (no such interface, or no such setting).
pub fn read(key: &str) -> Option<String> {
    std::fs::read_to_string(path(key)).ok().map(|v| v.trim().to_owned())
}

/// Sets `key` to `value`; the error names the file.
pub fn write(key: &str, value: &str) -> Result<(), String> {
    let path = path(key);
    std::fs::write(&path, value).map_err(|e| format!("{path}: {e}"))
}
