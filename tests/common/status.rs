//! A live daemon's status, as `keeplite status --json` prints it.

use super::keeplite_with_input;
use keeplite::json::{self, Json};
use std::path::Path;

/// Generous: a status document of a small test configuration.
pub const LIMITS: json::Limits = json::Limits { max_bytes: 1 << 20, max_depth: 16 };

/// The daemon's `status` reply through `keeplite status --json`, or why there is none.
pub fn status(socket: &Path) -> Result<Json, String> {
    let (code, out) = keeplite_with_input(&["status", "--json", "-s", &socket.display().to_string()], "");
    if code != 0 {
        return Err(format!("keeplite status --json exited {code}: {out}"));
    }
    json::parse(out.trim().as_bytes(), LIMITS).map_err(|e| format!("not JSON ({e}): {out}"))
}

/// The instance `name` in a status reply.
pub fn instance<'a>(status: &'a Json, name: &str) -> &'a Json {
    let list = status.get("vrrp").and_then(Json::as_array).expect("vrrp array");
    list.iter().find(|v| v.get("name").and_then(Json::as_str) == Some(name)).expect("the instance")
}
