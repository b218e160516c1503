//! keepalived's UDP_CHECK, DNS_CHECK and FILE_CHECK keywords -> the options of keeplite's
//! udp, dns and file checks (PING_CHECK has none of its own).

use super::global::Val;
use super::Ctx;
use crate::config::model::DNS_TYPES;
use crate::import::out::Section;
use crate::import::tree::Node;

fn val(n: &Node, value: String) -> Val {
    Val { value, at: n.at.clone(), keyword: n.keyword().to_owned() }
}

/// A UDP_CHECK keyword into `extra`; false when `n` is none of them.
pub fn udp(cx: &mut Ctx, n: &Node, extra: &mut Vec<(&'static str, Val)>) -> bool {
    match n.keyword() {
        "payload" => match hex(n.args()) {
            Some(h) => extra.push(("payload_hex", val(n, h))),
            None => cx.report(n, "not a hex string keepalived reads; ignored"),
        },
        "require_reply" => {
            extra.push(("require_reply", val(n, "1".into())));
            if !n.args().is_empty() {
                match hex(n.args()) {
                    Some(h) => extra.push(("expect_hex", val(n, h))),
                    None => cx.report(n, "not a hex string keepalived reads; any reply passes"),
                }
            }
        }
        "min_reply_length" | "max_reply_length" => cx.report(
            n,
            "keeplite takes a reply of any length (keepalived's default bounds are 0..255); not carried over",
        ),
        _ => return false,
    }
    true
}

/// keepalived's free-form hex (`Ab12f 3 456` is AB 12 0F 03 45 06: each word read two
/// digits at a time, a last single digit a byte of its own; `x` a nibble not compared) as
/// keeplite's `payload_hex`/`expect_hex`: two digits a byte, spaced.
pub fn hex(words: &[String]) -> Option<String> {
    let mut bytes: Vec<String> = Vec::new();
    for word in words {
        let digits: Vec<char> = word.chars().collect();
        if !digits.iter().all(|c| c.is_ascii_hexdigit() || c.eq_ignore_ascii_case(&'x')) {
            return None;
        }
        for pair in digits.chunks(2) {
            let byte: String = match pair {
                [a, b] => [*a, *b].iter().collect(),
                [a] => ['0', *a].iter().collect(),
                _ => continue,
            };
            bytes.push(byte.to_ascii_lowercase());
        }
    }
    (!bytes.is_empty()).then(|| bytes.join(" "))
}

/// A DNS_CHECK keyword into `extra`; false when `n` is none of them.
pub fn dns(cx: &mut Ctx, n: &Node, extra: &mut Vec<(&'static str, Val)>) -> bool {
    match n.keyword() {
        "type" => match n.arg(0) {
            Some(t) if DNS_TYPES.iter().any(|(name, _)| name.eq_ignore_ascii_case(t)) => {
                extra.push(("dns_type", val(n, t.to_ascii_uppercase())));
            }
            _ => cx.report(n, "not a type keepalived knows; it asks for SOA, and so does keeplite"),
        },
        "name" => {
            if let Some(name) = cx.arg(n) {
                extra.push(("dns_name", val(n, name.to_owned())));
            }
        }
        _ => return false,
    }
    true
}

/// One FILE_CHECK: a file check on the `file` of the `track_file` it names, with that
/// track_file's weight unless the checker sets its own. keepalived reads the file as soon
/// as it changes (inotify); the check polls it every second.
pub fn file_check(cx: &mut Ctx, node: &Node) -> Option<Section> {
    let mut s = Section::new("", "check", &node.at, node.keyword());
    s.set("type", "file", &node.at, node.keyword());
    let mut tracked = None;
    let mut weight = None;
    for n in node.children() {
        match n.keyword() {
            "track_file" => tracked = cx.arg(n).map(|name| (name.to_owned(), n)),
            "weight" => weight = Some(n),
            "dynamic" => cx.report(n, "a file check's number always shifts the weight unless weight is 0"),
            _ => cx.unsupported(n),
        }
    }
    let Some((name, at)) = tracked else {
        cx.report(node, "no track_file; keepalived ignores the checker, and so does the import");
        return None;
    };
    let Some(declared) = cx.track_files.get(&name).cloned() else {
        cx.report(at, format!("no track_file block is called '{name}'; keepalived ignores the checker, and so does the import"));
        return None;
    };
    let mut file = None;
    let mut declared_weight = None;
    for n in declared.children() {
        match n.keyword() {
            "file" => file = cx.arg(n).map(|f| (f.to_owned(), n.at.clone())),
            "weight" => declared_weight = Some(n),
            "init_file" => {
                cx.report(n, "keeplite writes no file; a missing file reads as 0, as keepalived reads it")
            }
            _ => cx.unsupported(n),
        }
    }
    let Some((path, path_at)) = file else {
        cx.report(&declared, "no file; keepalived ignores the track_file, and so does the import");
        return None;
    };
    s.set("file", path, &path_at, "file");
    if let Some(w) = weight.or(declared_weight) {
        match w.arg(0).map(str::parse::<i32>) {
            Some(Ok(v)) if (-65535..=65535).contains(&v) => s.set("weight", v.to_string(), &w.at, "weight"),
            _ => cx.report(w, "not a weight keeplite takes (-65535..65535); 1 is used"),
        }
        match w.arg(1) {
            Some("reverse") => s.set("reverse", "1", &w.at, "weight"),
            None | Some("noreverse") => {}
            Some(other) => cx.report(w, format!("'{other}' is not reverse or noreverse; ignored")),
        }
    }
    // No delay_loop, retry or timeout of its own: read every second, one reading decides.
    s.set("interval", "1s", &node.at, node.keyword());
    s.set("timeout", "500ms", &node.at, node.keyword());
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::hex;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn keepalived_hex_strings() {
        // The example of keepalived's manual.
        assert_eq!(hex(&words("Ab12f 3 456 546443123")).unwrap(), "ab 12 0f 03 45 06 54 64 43 12 03");
        assert_eq!(hex(&words("01xX")).unwrap(), "01 xx");
        assert_eq!(hex(&words("zz")), None);
        assert_eq!(hex(&[]), None);
    }
}
