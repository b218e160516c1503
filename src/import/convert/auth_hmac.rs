//! keepalived's `auth_hmac { }` block in a `vrrp_instance` -> the instance's `auth_hmac_*`
//! options: the same keys, ids, mode and replay protection, on the same wire format.

use super::Ctx;
use crate::import::out::Section;
use crate::import::tree::Node;

/// Carries the block's keywords over to `s`.
pub fn block(cx: &mut Ctx, s: &mut Section, node: &Node) {
    for n in node.children() {
        let kw = n.keyword();
        let option = match kw {
            "key" => {
                match n.args() {
                    // keepalived reads `file:` keys itself: the path must name the same
                    // file where keeplite runs (check-config reads it).
                    [id, value] => s.push("auth_hmac_key", format!("{id} {value}"), &n.at, kw),
                    _ => cx.report(n, "takes an id and a key (hex:..., file:PATH or text); ignored"),
                }
                continue;
            }
            "active_key" => "auth_hmac_active_key",
            "anti_replay" => "auth_hmac_anti_replay",
            // A bare number is seconds for keeplite too.
            "time_window" => "auth_hmac_window",
            "mode" => "auth_hmac_mode",
            _ => {
                cx.unsupported(n);
                continue;
            }
        };
        if let Some(v) = cx.arg(n) {
            s.set(option, v, &n.at, kw);
        }
    }
}
