//! The state of every BFD session, by the name of its bfd check: the VRRP thread runs the
//! sessions and writes here at each change; the checker reads here for the real servers
//! that name a bfd check (keepalived's `BFD_CHECK`).

use std::sync::Mutex;

/// Whether each session is up (a session never heard of is down).
#[derive(Debug, Default)]
pub struct States(Mutex<Vec<(String, bool)>>);

impl States {
    /// Records session `name` as up or down.
    pub fn set(&self, name: &str, up: bool) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match all.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = up,
            None => all.push((name.to_owned(), up)),
        }
    }

    /// Keeps only the sessions named in `names` (after a reload).
    pub fn retain(&self, names: &[&str]) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|(n, _)| names.contains(&n.as_str()));
    }

    /// Whether session `name` is up.
    pub fn is_up(&self, name: &str) -> bool {
        let all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        all.iter().any(|(n, up)| n == name && *up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_down_until_set_up_and_forgotten_when_dropped() {
        let s = States::default();
        assert!(!s.is_up("gw"));
        s.set("gw", true);
        s.set("far", false);
        assert!(s.is_up("gw") && !s.is_up("far"));
        s.set("gw", false);
        assert!(!s.is_up("gw"));
        s.set("gw", true);
        s.retain(&["far"]);
        assert!(!s.is_up("gw"));
    }
}
