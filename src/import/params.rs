//! keepalived's parameters: `$NAME=VALUE` definitions (one line, or several lines joined
//! by a trailing `\`), and their substitution for `$NAME` and `${NAME}` in later lines.
//!
//! Substitution is recursive and happens when a line is read, not when it is defined, as
//! in keepalived. A multi-line definition is expanded only where its reference ends the
//! line: its first line takes the reference's place, its other lines follow as lines of
//! their own.

/// Longest line substitution may build (keepalived stops at its own buffer size too).
pub const LINE_BYTES: usize = 4096;
/// Most substitutions in one line: a definition that refers to itself never ends.
const SUBSTITUTIONS: usize = 1000;

/// One definition.
#[derive(Debug, Clone)]
struct Def {
    name: String,
    /// The value's lines; a one-line definition has exactly one.
    lines: Vec<String>,
    multiline: bool,
}

/// The definitions known so far, and what the predefined ones stand for.
#[derive(Debug, Clone)]
pub struct Defs {
    defs: Vec<Def>,
    /// `${_INSTANCE}`: the configuration id the `@` lines are compared with.
    instance: String,
}

/// A `$NAME=VALUE` line, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub name: String,
    /// The value on the definition's own line (without the trailing `\`).
    pub first: String,
    /// The line ends with `\`: the following lines belong to the value.
    pub continues: bool,
}

/// Reads a definition line: `$` and a name (a letter or `_`, then letters, digits and
/// `_`) immediately followed by `=`; `None` for any other line.
pub fn definition(text: &str) -> Option<Definition> {
    let rest = text.strip_prefix('$')?;
    let eq = rest.find('=')?;
    let name = &rest[..eq];
    if !is_name(name) {
        return None;
    }
    let value = rest[eq + 1..].trim_start_matches([' ', '\t']);
    match value.strip_suffix('\\') {
        Some(v) => Some(Definition {
            name: name.to_owned(),
            first: v.trim_end_matches([' ', '\t']).to_owned(),
            continues: true,
        }),
        None => Some(Definition { name: name.to_owned(), first: value.to_owned(), continues: false }),
    }
}

fn is_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Where a substitution happens: what `${_PWD}` and `${_ENV NAME}` stand for.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The directory of the file being read.
    pub pwd: &'a str,
    /// The import's environment.
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// The result of substituting the parameters of one line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Substituted {
    pub text: String,
    /// Lines of a multi-line definition that follow `text`.
    pub more: Vec<String>,
    /// At least one reference was replaced.
    pub changed: bool,
    /// `${_RANDOM}` was used: keepalived picks a new number at each read.
    pub random: bool,
    /// The variables `${_ENV NAME}` read, each with whether it is set.
    pub env: Vec<(String, bool)>,
}

/// Why substitution stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubstError {
    TooLong,
    Endless,
}

impl Defs {
    /// No definitions yet; `instance` is what `${_INSTANCE}` stands for.
    pub fn new(instance: &str) -> Defs {
        Defs { defs: Vec::new(), instance: instance.to_owned() }
    }

    /// Defines (or redefines) `name` as one line.
    pub fn set(&mut self, name: &str, value: &str) {
        self.define(name, vec![value.to_owned()], false);
    }

    /// Starts a definition read from a line; continuation lines are added with [`extend`](Self::extend).
    pub fn start(&mut self, d: &Definition) {
        let lines = if d.continues && d.first.is_empty() { Vec::new() } else { vec![d.first.clone()] };
        self.define(&d.name, lines, d.continues);
    }

    /// Adds a continuation line to the multi-line definition `name`; blank lines are left out.
    pub fn extend(&mut self, name: &str, line: &str) {
        if let Some(d) = self.defs.iter_mut().find(|d| d.name == name) {
            if !line.trim().is_empty() {
                d.lines.push(line.to_owned());
            }
        }
    }

    /// Ends a multi-line definition; one that collected nothing is an empty one-line value.
    pub fn finish(&mut self, name: &str) {
        if let Some(d) = self.defs.iter_mut().find(|d| d.name == name) {
            if d.lines.is_empty() {
                d.lines.push(String::new());
                d.multiline = false;
            }
        }
    }

    fn define(&mut self, name: &str, lines: Vec<String>, multiline: bool) {
        let def = Def { name: name.to_owned(), lines, multiline };
        match self.defs.iter_mut().find(|d| d.name == name) {
            Some(d) => *d = def,
            None => self.defs.push(def),
        }
    }

    /// The value of a reference `r` (with its parameters, for `${_RANDOM MIN MAX}` and
    /// `${_ENV NAME}`), and whether it spans several lines; `None` when nothing by that
    /// name is defined (the reference then stays as written, as in keepalived).
    fn value(&self, r: &Reference, multiline_ok: bool, cx: Context) -> Option<(Vec<String>, bool)> {
        let (name, params) = (r.name, &r.params);
        if let Some(d) = self.defs.iter().find(|d| d.name == name) {
            if d.multiline && !multiline_ok || !params.is_empty() || r.env.is_some() {
                return None;
            }
            return Some((d.lines.clone(), d.multiline));
        }
        let one = |s: String| Some((vec![s], false));
        if let Some(var) = r.env {
            // An unset variable stands for nothing.
            return one((cx.env)(var).unwrap_or_default());
        }
        match name {
            "_PWD" if params.is_empty() => one(cx.pwd.to_owned()),
            "_INSTANCE" if params.is_empty() => one(self.instance.clone()),
            "_HASH" if params.is_empty() => one("#".to_owned()),
            "_BANG" if params.is_empty() => one("!".to_owned()),
            // keepalived draws a number in [MIN, MAX]; the import cannot, and takes MIN.
            "_RANDOM" if params.len() <= 2 => one(params.first().copied().unwrap_or(0).to_string()),
            _ => None,
        }
    }

    /// Substitutes every known `$NAME` / `${NAME}` in `text`, again in what a substitution
    /// brought in.
    pub fn substitute(&self, text: &str, cx: Context) -> Result<Substituted, SubstError> {
        let mut buf = text.to_owned();
        let mut out = Substituted::default();
        let mut pos = 0;
        let mut count = 0;
        while let Some(found) = buf[pos..].find('$') {
            let at = pos + found;
            let Some(r) = reference(&buf[at + 1..]) else {
                pos = at + 1;
                continue;
            };
            let multiline_ok = at + 1 + r.len == buf.len();
            let Some((lines, multiline)) = self.value(&r, multiline_ok, cx) else {
                pos = at + 1;
                continue;
            };
            count += 1;
            if count > SUBSTITUTIONS {
                return Err(SubstError::Endless);
            }
            out.changed = true;
            out.random |= r.name == "_RANDOM" && !self.defs.iter().any(|d| d.name == "_RANDOM");
            if let Some(var) = r.env {
                out.env.push((var.to_owned(), (cx.env)(var).is_some()));
            }
            let first = lines.first().cloned().unwrap_or_default();
            let tilde = first.trim_start_matches([' ', '\t']).starts_with('~');
            buf.replace_range(at..at + 1 + r.len, &first);
            if buf.len() > LINE_BYTES {
                return Err(SubstError::TooLong);
            }
            if multiline {
                // The rest of a multi-line value follows, before what an earlier one left.
                let mut more: Vec<String> = lines.into_iter().skip(1).collect();
                more.append(&mut out.more);
                out.more = more;
            }
            if tilde {
                break;
            }
            // The value itself is read again: substitution is recursive.
            pos = at;
        }
        out.text = buf;
        Ok(out)
    }
}

/// A parameter reference after its `$`.
struct Reference<'a> {
    name: &'a str,
    params: Vec<u64>,
    /// The variable of `${_ENV VAR}`.
    env: Option<&'a str>,
    /// Length of the reference after the `$`.
    len: usize,
}

/// Reads `NAME` (followed by white space, `,`, `)` or the end) or `{NAME}` /
/// `{NAME 1 2}` / `{_ENV VAR}` at the start of `s`.
fn reference(s: &str) -> Option<Reference<'_>> {
    let braced = s.starts_with('{');
    let body = if braced { &s[1..] } else { s };
    let name_len = body.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    let name = &body[..name_len];
    if !is_name(name) {
        return None;
    }
    let after = &body[name_len..];
    if !braced {
        return match after.chars().next() {
            None | Some(' ' | '\t' | ',' | ')') => {
                Some(Reference { name, params: Vec::new(), env: None, len: name_len })
            }
            _ => None,
        };
    }
    let close = after.find('}')?;
    let inside = &after[..close];
    let len = 1 + name_len + close + 1;
    if name == "_ENV" {
        let var = inside.trim_start_matches(' ');
        return (inside.starts_with(' ') && is_name(var)).then_some(Reference {
            name,
            params: Vec::new(),
            env: Some(var),
            len,
        });
    }
    if !inside.bytes().all(|b| b == b' ' || b.is_ascii_digit())
        || inside.ends_with(' ') && !inside.trim().is_empty()
    {
        return None;
    }
    let params: Vec<u64> = inside.split_whitespace().map(|p| p.parse().unwrap_or(u64::MAX)).collect();
    Some(Reference { name, params, env: None, len })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(var: &str) -> Option<String> {
        (var == "HOME").then(|| "/root".to_owned())
    }

    const CX: Context = Context { pwd: "/etc/keepalived", env: &home };

    fn sub(d: &Defs, t: &str) -> String {
        d.substitute(t, CX).unwrap().text
    }

    #[test]
    fn definitions_are_read_like_keepalived_reads_them() {
        let d = definition("$PRIO=200").unwrap();
        assert_eq!((d.name.as_str(), d.first.as_str(), d.continues), ("PRIO", "200", false));
        let d = definition("$VS= \\").unwrap();
        assert_eq!((d.first.as_str(), d.continues), ("", true));
        assert_eq!(definition("$X =1"), None);
        assert_eq!(definition("$1X=1"), None);
        assert_eq!(definition("priority $X"), None);
        assert_eq!(definition("$E=").unwrap().first, "");
    }

    #[test]
    fn references_are_replaced_recursively_at_use() {
        let mut d = Defs::new("high");
        d.set("BASE", "10.2.${SUB}");
        d.set("SUB", "0");
        assert_eq!(sub(&d, "${BASE}.100/32"), "10.2.0.100/32");
        d.set("SUB", "10");
        assert_eq!(sub(&d, "${BASE}.100/32"), "10.2.10.100/32");
        d.set("P", "240");
        assert_eq!(sub(&d, "priority $P"), "priority 240");
        // `$P` must be followed by white space (or , ) or the end); braces need not be.
        assert_eq!(sub(&d, "x $Px"), "x $Px");
        assert_eq!(sub(&d, "x ${P}x"), "x 240x");
        assert_eq!(sub(&d, "$UNDEFINED stays"), "$UNDEFINED stays");
        assert_eq!(sub(&d, "${_INSTANCE} ${_PWD} ${_HASH}${_BANG}"), "high /etc/keepalived #!");
        assert!(!d.substitute("no dollar", CX).unwrap().changed);
    }

    #[test]
    fn a_multiline_definition_expands_only_at_the_end_of_a_line() {
        let mut d = Defs::new("x");
        d.start(&definition("$RS= \\").unwrap());
        d.extend("RS", "real_server 1.2.3.4 80 {");
        d.extend("RS", "   ");
        d.extend("RS", "}");
        d.finish("RS");
        let s = d.substitute("$RS", CX).unwrap();
        assert_eq!(s.text, "real_server 1.2.3.4 80 {");
        assert_eq!(s.more, vec!["}"]);
        assert_eq!(sub(&d, "$RS here"), "$RS here");
    }

    #[test]
    fn endless_substitution_is_an_error() {
        let mut d = Defs::new("x");
        d.set("A", "$A");
        assert_eq!(d.substitute("$A", CX), Err(SubstError::Endless));
        d.set("B", "${B}${B}");
        assert!(d.substitute("$B", CX).is_err());
        d.set("C", "${C}${C}${C}${C}${C}${C}${C}${C}${C}${C}");
        assert_eq!(d.substitute("$C", CX), Err(SubstError::TooLong));
    }

    #[test]
    fn env_reads_the_environment() {
        let mut d = Defs::new("x");
        let s = d.substitute("router_id ${_ENV HOME}/${_ENV NOPE}.", CX).unwrap();
        assert_eq!(s.text, "router_id /root/.");
        assert_eq!(s.env, vec![("HOME".to_owned(), true), ("NOPE".to_owned(), false)]);
        // Not a variable name, or without braces: left as written.
        assert_eq!(
            sub(&d, "${_ENV} ${_ENV 1} ${_ENVHOME} $_ENV HOME"),
            "${_ENV} ${_ENV 1} ${_ENVHOME} $_ENV HOME"
        );
        // The value is read again, as any parameter's.
        d.set("R", "${_ENV HOME}");
        assert_eq!(sub(&d, "$R"), "/root");
    }

    #[test]
    fn random_takes_its_minimum() {
        let d = Defs::new("x");
        let s = d.substitute("${_RANDOM 5 9}", CX).unwrap();
        assert_eq!(s.text, "5");
        assert!(s.random);
    }
}
