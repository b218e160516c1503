//! The file names an `include` pattern stands for, as glob(3) with `GLOB_BRACE` finds
//! them: `*`, `?`, `[...]` in any path component, csh-style `{a,b}` alternatives, names
//! starting with `.` only when the pattern says so, directories left out.

use super::files::Files;

/// Most alternatives one pattern's braces may expand to.
const ALTERNATIVES: usize = 256;
/// Most names one pattern may match.
const MATCHES: usize = 1024;

/// The files `pattern` matches, relative patterns taken from `dir` (the directory of the
/// including file; empty for the working directory). Each brace alternative's matches
/// are sorted, the alternatives kept in order.
pub fn expand(pattern: &str, dir: &str, files: &dyn Files) -> Vec<String> {
    let mut out = Vec::new();
    for alt in braces(pattern) {
        let full = if alt.starts_with('/') || dir.is_empty() { alt } else { format!("{dir}/{alt}") };
        let mut found = walk(&full, files);
        found.sort();
        out.extend(found);
        if out.len() >= MATCHES {
            out.truncate(MATCHES);
            break;
        }
    }
    out
}

/// The directory part of a path (`""` for a bare name), as the base of its includes.
pub fn dir_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => "",
    }
}

fn has_magic(component: &str) -> bool {
    component.contains(['*', '?', '['])
}

/// Every existing file named by a pattern without braces.
fn walk(pattern: &str, files: &dyn Files) -> Vec<String> {
    let absolute = pattern.starts_with('/');
    let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    let mut prefixes = vec![if absolute { "/".to_owned() } else { String::new() }];
    for part in parts {
        let mut next = Vec::new();
        for prefix in &prefixes {
            let join = |name: &str| match prefix.as_str() {
                "" => name.to_owned(),
                "/" => format!("/{name}"),
                p => format!("{p}/{name}"),
            };
            if has_magic(part) {
                let mut names = files.list(prefix).unwrap_or_default();
                names.sort();
                for name in names {
                    if (!name.starts_with('.') || part.starts_with('.')) && matches(part, &name) {
                        next.push(join(&name));
                    }
                }
            } else {
                next.push(join(&unescape(part)));
            }
            if next.len() > MATCHES {
                break;
            }
        }
        prefixes = next;
    }
    prefixes.retain(|p| !p.is_empty() && files.is_file(p));
    prefixes
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// fnmatch(3) on one path component: `*`, `?`, `[abc]`, `[a-z]`, `[!x]` / `[^x]`, `\x`.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative matching with one backtrack point for the last `*`.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
                continue;
            }
            Some('?') => Some(pi + 1),
            Some('[') => class(&p, pi, n[ni]),
            Some('\\') if pi + 1 < p.len() => (p[pi + 1] == n[ni]).then_some(pi + 2),
            Some(&c) => (c == n[ni]).then_some(pi + 1),
            None => None,
        };
        match step {
            Some(next) => {
                pi = next;
                ni += 1;
            }
            None => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the bracket expression at `p[start]`; the index after it when it
/// matches. An unclosed `[` is a literal `[`.
fn class(p: &[char], start: usize, c: char) -> Option<usize> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let Some(&lo) = p.get(i) else {
            return (c == '[').then_some(start + 1);
        };
        if lo == ']' && !first {
            return (found != negate).then_some(i + 1);
        }
        first = false;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&h| h != ']') {
            let hi = p[i + 2];
            found |= lo <= c && c <= hi;
            i += 3;
        } else {
            found |= lo == c;
            i += 1;
        }
    }
}

/// csh-style brace expansion: `a{b,c{d,e}}f` is `abf acdf acef`. A brace without a comma
/// or without its closing brace is kept as it is.
pub fn braces(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_braces(pattern, &mut out);
    out
}

fn expand_braces(pattern: &str, out: &mut Vec<String>) {
    if out.len() >= ALTERNATIVES {
        return;
    }
    let chars: Vec<(usize, char)> = pattern.char_indices().collect();
    for (k, &(open, c)) in chars.iter().enumerate() {
        if c != '{' || (k > 0 && chars[k - 1].1 == '\\') {
            continue;
        }
        let mut depth = 0;
        let mut commas = Vec::new();
        for &(i, c) in &chars[k..] {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        if commas.is_empty() {
                            break;
                        }
                        let (head, tail) = (&pattern[..open], &pattern[i + 1..]);
                        let mut start = open + 1;
                        for end in commas.iter().copied().chain([i]) {
                            expand_braces(&format!("{head}{}{tail}", &pattern[start..end]), out);
                            start = end + 1;
                        }
                        return;
                    }
                }
                ',' if depth == 1 => commas.push(i),
                _ => {}
            }
        }
    }
    out.push(pattern.to_owned());
}

#[cfg(test)]
mod tests {
    use super::super::files::Memory;
    use super::*;

    #[test]
    fn wildcards_match_like_fnmatch() {
        assert!(matches("*.conf", "a.conf"));
        assert!(!matches("*.conf", "a.conf.bak"));
        assert!(matches("vrrp_??.conf", "vrrp_01.conf"));
        assert!(matches("[a-c]*", "beta"));
        assert!(!matches("[!a-c]*", "beta"));
        assert!(matches("x[]]y", "x]y"));
        assert!(matches("a\\*", "a*"));
        assert!(!matches("a\\*", "ab"));
        assert!(matches("*a*b*", "xxaxxbxx"));
        assert!(matches("[", "["));
    }

    #[test]
    fn braces_expand_in_order() {
        assert_eq!(braces("{foo/{,cat,dog},bar}"), vec!["foo/", "foo/cat", "foo/dog", "bar"]);
        assert_eq!(braces("a{b}c"), vec!["a{b}c"]);
        assert_eq!(braces("a{b,c"), vec!["a{b,c"]);
    }

    #[test]
    fn patterns_find_files_relative_to_the_including_file() {
        let mut fs = Memory::new("/etc/keepalived");
        fs.add("/etc/keepalived/conf.d/b.conf", "")
            .add("/etc/keepalived/conf.d/a.conf", "")
            .add("/etc/keepalived/conf.d/.hidden.conf", "")
            .add("/etc/keepalived/conf.d/sub/c.conf", "")
            .add("/etc/other.conf", "");
        assert_eq!(
            expand("conf.d/*.conf", "/etc/keepalived", &fs),
            vec!["/etc/keepalived/conf.d/a.conf", "/etc/keepalived/conf.d/b.conf"]
        );
        assert_eq!(expand("conf.d/*", "/etc/keepalived", &fs).len(), 2, "directories are left out");
        assert_eq!(expand("/etc/{other,none}.conf", "x", &fs), vec!["/etc/other.conf"]);
        assert_eq!(expand("conf.d/*/c.conf", "", &fs), vec!["conf.d/sub/c.conf"]);
        assert!(expand("missing.conf", "", &fs).is_empty());
        assert_eq!(dir_of("/etc/keepalived/k.conf"), "/etc/keepalived");
        assert_eq!(dir_of("k.conf"), "");
        assert_eq!(dir_of("/k.conf"), "/");
    }
}
