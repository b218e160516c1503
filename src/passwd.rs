//! User names to ids from `/etc/passwd`, for scripts run as another user (`script_user`,
//! `script.user`). A static musl binary has no NSS, and a router's users live in that file.

/// The ids a script runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

/// Looks `name` up in passwd-format `text`.
pub fn find(text: &str, name: &str) -> Option<RunAs> {
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some(RunAs { uid, gid })
    })
}

/// Looks `name` up in `/etc/passwd`.
pub fn lookup(name: &str) -> Result<RunAs, String> {
    let text = std::fs::read_to_string("/etc/passwd").map_err(|e| format!("/etc/passwd: {e}"))?;
    find(&text, name).ok_or_else(|| format!("no user {name:?} in /etc/passwd"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_users_and_refuses_garbage() {
        let text = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\nbad:x:one:2\n";
        assert_eq!(find(text, "nobody"), Some(RunAs { uid: 65534, gid: 65534 }));
        assert_eq!(find(text, "root"), Some(RunAs { uid: 0, gid: 0 }));
        assert_eq!(find(text, "bad"), None);
        assert_eq!(find(text, "nob"), None);
        assert_eq!(find("", "root"), None);
    }
}
