//! keepalived's UDP_CHECK, DNS_CHECK and FILE_CHECK keywords -> the options of keeplite's
//! udp, dns and file checks (PING_CHECK has none of its own).

use super::global::Val;
use super::Ctx;
use crate::config::model::DNS_TYPES;
use crate::config::value;
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

/// The record types keepalived 2.4's DNS_CHECK asks for (check_dns.c, `DNS_TYPE`); it
/// reports another and asks for SOA.
const KEEPALIVED_DNS_TYPES: &[&str] = &["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "RRSIG", "DNSKEY"];

/// A DNS_CHECK keyword into `extra`; false when `n` is none of them.
pub fn dns(cx: &mut Ctx, n: &Node, extra: &mut Vec<(&'static str, Val)>) -> bool {
    match n.keyword() {
        "type" => match n.arg(0).and_then(|t| KEEPALIVED_DNS_TYPES.iter().find(|k| k.eq_ignore_ascii_case(t))) {
            Some(t) if DNS_TYPES.iter().any(|(name, _)| name == t) => extra.push(("dns_type", val(n, (*t).to_owned()))),
            Some(t) => cx.report(n, format!("keeplite cannot ask for {t} records; the check asks for SOA (keepalived's check, like keeplite's, passes on any answer with RCODE NOERROR)")),
            None => cx.report(n, format!("not a type keepalived knows ({}); it asks for SOA, and so does keeplite", KEEPALIVED_DNS_TYPES.join(", "))),
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

/// A keepalived `track_file NAME { file ...; weight W [reverse]; init_file }` block as
/// keeplite's file check, with the weight and reverse that FILE_CHECKs and instances
/// naming it start from.
#[derive(Debug, Clone)]
pub struct TrackedFile {
    pub section: Section,
    pub weight: i64,
    pub reverse: bool,
}

/// The file check of keepalived's `track_file` block `name` (the one block both FILE_CHECKs
/// and vrrp instances name), made once: its keywords are reported the first time. `None`
/// when no block has the name (not reported: the caller says where it was named), or the
/// block has no `file` (reported once), as keepalived ignores such a block.
pub fn track_file(cx: &mut Ctx, name: &str) -> Option<TrackedFile> {
    if let Some(done) = cx.tracked_files.get(name) {
        return done.clone();
    }
    let made = cx.track_files.get(name).cloned().and_then(|declared| declared_file(cx, &declared));
    cx.tracked_files.insert(name.to_owned(), made.clone());
    made
}

fn declared_file(cx: &mut Ctx, declared: &Node) -> Option<TrackedFile> {
    let mut s = Section::new("", "check", &declared.at, "track_file");
    s.set("type", "file", &declared.at, "track_file");
    let mut file = None;
    // keepalived's default; a second `weight` is ignored unless the first was 1.
    let (mut weight, mut reverse) = (1, false);
    for n in declared.children() {
        match n.keyword() {
            "file" => match (cx.arg(n), &file) {
                (Some(_), Some(_)) => {
                    cx.report(n, "a second file; keepalived keeps the first, and so does the import")
                }
                (Some(f), None) => file = Some((f.to_owned(), n.at.clone())),
                (None, _) => {}
            },
            "weight" => {
                if weight != 1 {
                    cx.report(n, "a second weight; keepalived keeps the first, and so does the import");
                    continue;
                }
                let Some(w) = cx.arg(n) else { continue };
                match value::int(w, -254, 254) {
                    Ok(w) => {
                        weight = w;
                        s.set("weight", w.to_string(), &n.at, "weight");
                    }
                    Err(_) => cx.report(
                        n,
                        "not a weight keepalived takes (-254..254); 1 is used, as keepalived uses it",
                    ),
                }
                match n.arg(1) {
                    None => {}
                    Some("reverse") => {
                        reverse = true;
                        s.set("reverse", "1", &n.at, "weight");
                    }
                    Some(other) => {
                        cx.report(n, format!("'{other}' is not reverse; ignored, as keepalived ignores it"))
                    }
                }
            }
            "init_file" => {
                cx.report(n, "keeplite writes no file; a missing file reads as 0, as keepalived reads it")
            }
            _ => cx.unsupported(n),
        }
    }
    let Some((path, path_at)) = file else {
        cx.report(declared, "no file; keepalived ignores the track_file, and so does the import");
        return None;
    };
    s.set("file", path, &path_at, "file");
    // No interval or timeout of its own: read every second, one reading decides.
    s.set("interval", "1s", &declared.at, "track_file");
    s.set("timeout", "500ms", &declared.at, "track_file");
    Some(TrackedFile { section: s, weight, reverse })
}

/// One FILE_CHECK: the file check of the `track_file` block it names, with the checker's
/// own weight (and reverse) unless it has none or 0, which keepalived takes as unset.
/// keepalived reads the file as soon as it changes (inotify); the check polls it every
/// second. Returns the check's name.
pub fn file_check(cx: &mut Ctx, node: &Node) -> Option<String> {
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
    if !cx.track_files.contains_key(&name) {
        cx.report(at, format!("no track_file block is called '{name}'; keepalived ignores the checker, and so does the import"));
        return None;
    }
    let tf = track_file(cx, &name)?;
    let mut s = tf.section;
    match weight.and_then(|w| own_weight(cx, w)) {
        Some((0, _)) => {
            let w = weight.expect("a weight was read");
            if tf.weight != 0 {
                cx.report(w, format!("keepalived takes weight 0 as unset and uses the track_file's ({}), and so does the import", tf.weight));
            }
        }
        Some((v, reverse)) => {
            let w = weight.expect("a weight was read");
            s.set("weight", v.to_string(), &w.at, "weight");
            s.remove("reverse");
            if reverse {
                s.set("reverse", "1", &w.at, "weight");
            }
        }
        None => {}
    }
    Some(cx.check_section_named(s, &name))
}

/// A FILE_CHECK's `weight W [reverse|noreverse]`, or a report that keepalived ignores it.
fn own_weight(cx: &mut Ctx, w: &Node) -> Option<(i64, bool)> {
    let v = cx.arg(w)?;
    let Ok(v) = value::int(v, -65535, 65535) else {
        cx.report(
            w,
            "not a weight keepalived takes (-65535..65535); it uses the track_file's, and so does the import",
        );
        return None;
    };
    match w.arg(1) {
        None | Some("noreverse") => Some((v, false)),
        Some("reverse") => Some((v, true)),
        Some(other) => {
            cx.report(w, format!("'{other}' is not reverse or noreverse: keepalived ignores the weight and uses the track_file's, and so does the import"));
            None
        }
    }
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
