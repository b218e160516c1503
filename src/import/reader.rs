//! Reads keepalived configuration text into lines as keepalived's own reader sees them:
//! comments gone, `include` files read in place, `@id` lines kept or dropped for the
//! configuration id, `$NAME=` definitions stored and substituted, `~SEQ`/`~LST` lines
//! repeated, and each `{` and `}` a line of its own.

use super::files::Files;
use super::glob;
use super::params::{self, Context, Defs, SubstError};
use super::report::{Origin, Reports};
use super::sequence;
use super::words;
use std::collections::VecDeque;
use std::rc::Rc;

/// Most files one import reads (an `include` of `*` in a large directory, or a loop).
const FILES: usize = 256;
/// Deepest nesting of `include`s.
const INCLUDE_DEPTH: usize = 16;
/// Most lines the reader hands on (`~SEQ` can ask for millions).
pub const LINES: usize = 200_000;
/// Largest file read.
pub const FILE_BYTES: usize = crate::limits::CONFIG_FILE_BYTES;

/// One line as keepalived's keyword parser sees it: `{`, `}`, or a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub at: Origin,
    pub text: String,
}

/// Where lines come from: a file, the rest of a multi-line definition, a repetition.
enum Source {
    File { path: Rc<str>, dir: String, lines: Vec<String>, next: usize },
    Expansion { at: Origin, dir: String, lines: VecDeque<String> },
    Repeat { at: Origin, dir: String, vars: Vec<String>, values: VecDeque<Vec<String>>, text: String },
}

struct Reader<'a> {
    files: &'a dyn Files,
    instance: String,
    defs: Defs,
    stack: Vec<Source>,
    out: Vec<Line>,
    reports: &'a mut Reports,
    /// A multi-line definition being read: its name.
    open_definition: Option<String>,
    files_read: usize,
    full: bool,
}

/// A file that cannot be read at all.
#[derive(Debug)]
pub struct Unreadable(pub String);

/// Reads `path` and what it includes; `instance` is the configuration id of `@` lines
/// and `${_INSTANCE}`. Problems go to `reports`; only an unreadable top file is an error.
pub fn read(
    path: &str,
    instance: &str,
    files: &dyn Files,
    reports: &mut Reports,
) -> Result<Vec<Line>, Unreadable> {
    let mut r = Reader {
        files,
        instance: instance.to_owned(),
        defs: Defs::new(instance),
        stack: Vec::new(),
        out: Vec::new(),
        reports,
        open_definition: None,
        files_read: 0,
        full: false,
    };
    let bytes = files.read(path).map_err(|e| Unreadable(format!("{path}: cannot read: {e}")))?;
    if bytes.len() > FILE_BYTES {
        return Err(Unreadable(format!("{path}: larger than {FILE_BYTES} bytes")));
    }
    r.open(path, &bytes);
    r.run();
    Ok(r.out)
}

/// The keywords that include files, all read alike here (keepalived's variants differ in
/// which failures they report).
const INCLUDES: [&str; 6] = ["include", "includer", "includem", "includew", "includeb", "includea"];

impl Reader<'_> {
    fn open(&mut self, path: &str, bytes: &[u8]) {
        self.files_read += 1;
        let text = String::from_utf8_lossy(bytes);
        let lines = text.split('\n').map(|l| l.trim_end_matches('\r').to_owned()).collect();
        self.stack.push(Source::File {
            path: Rc::from(path),
            dir: glob::dir_of(path).to_owned(),
            lines,
            next: 0,
        });
    }

    fn run(&mut self) {
        while let Some((text, at, dir, raw)) = self.next_line() {
            if self.out.len() >= LINES {
                if !self.full {
                    self.full = true;
                    self.reports.add(
                        &at,
                        "~SEQ",
                        format!("the file expands to more than {LINES} lines; the rest is not read"),
                    );
                }
                self.stack.clear();
                break;
            }
            if let Some(name) = self.open_definition.clone() {
                self.continue_definition(&name, &text, raw);
                continue;
            }
            self.process(text, &at, &dir, 0);
        }
        if let Some(name) = self.open_definition.take() {
            self.defs.finish(&name);
        }
    }

    /// The next line to read, with where it is from and the directory of its file; `raw`
    /// is true for an empty line of a file (it ends a multi-line definition).
    fn next_line(&mut self) -> Option<(String, Origin, String, bool)> {
        loop {
            let top = self.stack.last_mut()?;
            match top {
                Source::File { path, dir, lines, next } => {
                    let Some(raw) = lines.get(*next) else {
                        self.stack.pop();
                        continue;
                    };
                    *next += 1;
                    let at = Origin { file: path.clone(), line: u32::try_from(*next).unwrap_or(u32::MAX) };
                    let dir = dir.clone();
                    if raw.is_empty() {
                        if self.open_definition.is_some() {
                            return Some((String::new(), at, dir, true));
                        }
                        continue;
                    }
                    let d = words::decomment(raw);
                    if d.open_quote {
                        self.reports.add(&at, first_word(&d.text), "a double quote is not closed");
                    }
                    if d.text.is_empty() {
                        continue;
                    }
                    return Some((d.text, at, dir, false));
                }
                Source::Expansion { at, dir, lines } => match lines.pop_front() {
                    Some(l) => return Some((l, at.clone(), dir.clone(), false)),
                    None => {
                        self.stack.pop();
                    }
                },
                Source::Repeat { at, dir, vars, values, text } => match values.pop_front() {
                    Some(vals) => {
                        let (at, dir, text) = (at.clone(), dir.clone(), text.clone());
                        for (var, val) in vars.clone().iter().zip(vals) {
                            self.defs.set(var, &val);
                        }
                        return Some((text, at, dir, false));
                    }
                    None => {
                        self.stack.pop();
                    }
                },
            }
        }
    }

    fn continue_definition(&mut self, name: &str, text: &str, empty: bool) {
        if empty {
            self.defs.finish(name);
            self.open_definition = None;
            return;
        }
        match text.strip_suffix('\\') {
            Some(t) => self.defs.extend(name, t.trim_end_matches([' ', '\t'])),
            None => {
                self.defs.extend(name, text);
                self.defs.finish(name);
                self.open_definition = None;
            }
        }
    }

    /// Handles one line: conditions, definitions, repetitions, substitution, includes,
    /// then hands it on split at its braces.
    fn process(&mut self, mut text: String, at: &Origin, dir: &str, depth: usize) {
        if depth > params::LINE_BYTES {
            return;
        }
        for _round in 0..100 {
            if let Some(rest) = text.strip_prefix('@') {
                let (negate, rest) = match rest.strip_prefix('^') {
                    Some(r) => (true, r),
                    None => (false, rest),
                };
                let Some(space) = rest.find([' ', '\t']) else {
                    return;
                };
                if (rest[..space] == *self.instance) == negate {
                    return;
                }
                text = rest[space..].trim_start_matches([' ', '\t']).to_owned();
            }
            if let Some(d) = params::definition(&text) {
                self.defs.start(&d);
                if d.continues {
                    self.open_definition = Some(d.name);
                }
                return;
            }
            if text.starts_with("~SEQ") || text.starts_with("~LST") {
                self.repeat(&text, at, dir);
                return;
            }
            if text.starts_with('~') || !text.contains('$') {
                break;
            }
            match self.substitute(&text, dir) {
                Ok(s) if s.changed => {
                    if s.random {
                        self.reports.add(
                            at,
                            "${_RANDOM}",
                            "keepalived draws a random number at each reading; the import takes the lowest",
                        );
                    }
                    for (var, set) in &s.env {
                        let why = if *set {
                            "keepalived reads the variable from its environment at each reading; the import took the value in its own environment"
                        } else {
                            "the variable is not set in the import's environment: replaced by nothing; keepalived reads it from its own environment at each reading"
                        };
                        self.reports.add(at, format!("${{_ENV {var}}}"), why);
                    }
                    if !s.more.is_empty() {
                        self.stack.push(Source::Expansion {
                            at: at.clone(),
                            dir: dir.to_owned(),
                            lines: s.more.into(),
                        });
                    }
                    text = s.text;
                    if !(text.starts_with('@') || text.contains('$')) {
                        break;
                    }
                }
                Ok(_) => break,
                Err(e) => {
                    let why = match e {
                        SubstError::TooLong => format!(
                            "substitution makes the line longer than {} bytes; line left out",
                            params::LINE_BYTES
                        ),
                        SubstError::Endless => "a parameter refers to itself; line left out".to_owned(),
                    };
                    self.reports.add(at, first_word(&text), why);
                    return;
                }
            }
        }
        let (w, _) = words::split(&text);
        if w.len() == 2 && INCLUDES.contains(&w[0].as_str()) {
            self.include(&w[0], &w[1], at, dir);
            return;
        }
        match words::first_brace(&text) {
            None => self.out.push(Line { at: at.clone(), text }),
            Some((before, brace, after)) => {
                if let Some(b) = before {
                    self.out.push(Line { at: at.clone(), text: b.to_owned() });
                }
                self.out.push(Line { at: at.clone(), text: brace.to_string() });
                if !after.is_empty() {
                    let after = after.to_owned();
                    self.process(after, at, dir, depth + 1);
                }
            }
        }
    }

    /// Substitutes the parameters of `text`, read in directory `dir`.
    fn substitute(&self, text: &str, dir: &str) -> Result<params::Substituted, SubstError> {
        let files = self.files;
        self.defs.substitute(text, Context { pwd: &self.pwd(dir), env: &|var| files.env(var) })
    }

    /// `${_PWD}`: the absolute directory of the file being read.
    fn pwd(&self, dir: &str) -> String {
        if dir.starts_with('/') {
            dir.to_owned()
        } else if dir.is_empty() {
            self.files.current_dir()
        } else {
            format!("{}/{dir}", self.files.current_dir().trim_end_matches('/'))
        }
    }

    fn repeat(&mut self, text: &str, at: &Origin, dir: &str) {
        // The arguments may use parameters; the repeated text is substituted at each turn.
        let (head, tail) = match text.find(')') {
            Some(i) => text.split_at(i),
            None => (text, ""),
        };
        let head = match self.substitute(head, dir) {
            Ok(s) if s.more.is_empty() => s.text,
            _ => head.to_owned(),
        };
        match sequence::parse(&format!("{head}{tail}")) {
            Ok(r) => self.stack.push(Source::Repeat {
                at: at.clone(),
                dir: dir.to_owned(),
                vars: r.vars,
                values: r.values.into(),
                text: r.text,
            }),
            Err(why) => self.reports.add(at, first_word(text), format!("{why}; line left out")),
        }
    }

    fn include(&mut self, keyword: &str, pattern: &str, at: &Origin, dir: &str) {
        let depth = self.stack.iter().filter(|s| matches!(s, Source::File { next, .. } if *next > 0)).count();
        if depth > INCLUDE_DEPTH {
            self.reports.add(
                at,
                keyword,
                format!("includes nest deeper than {INCLUDE_DEPTH}; '{pattern}' is not read"),
            );
            return;
        }
        // includeb and includea want every brace alternative to match (keepalived's
        // brace_match check): each that matches nothing is reported.
        if matches!(keyword, "includeb" | "includea") {
            let alternatives = glob::braces(pattern);
            if alternatives.len() > 1 {
                for alt in alternatives.iter().filter(|a| glob::expand(a, dir, self.files).is_empty()) {
                    self.reports.add(at, keyword, format!("no file matches '{alt}' (of '{pattern}')"));
                }
            }
        }
        let found = glob::expand(pattern, dir, self.files);
        if found.is_empty() {
            // keepalived's plain `include` and `includer` take no match as nothing to
            // read; the other variants report it.
            if !matches!(keyword, "include" | "includer") {
                self.reports.add(at, keyword, format!("no file matches '{pattern}'"));
            }
            return;
        }
        let mut opened = Vec::new();
        for path in found {
            let reading = self
                .stack
                .iter()
                .any(|s| matches!(s, Source::File { path: p, next, .. } if *next > 0 && **p == *path));
            if reading {
                self.reports.add(at, keyword, format!("{path} includes itself; not read again"));
                continue;
            }
            if self.files_read + opened.len() >= FILES {
                self.reports.add(
                    at,
                    keyword,
                    format!("more than {FILES} files; {path} and the rest are not read"),
                );
                break;
            }
            match self.files.read(&path) {
                Ok(bytes) if bytes.len() > FILE_BYTES => self.reports.add(
                    at,
                    keyword,
                    format!("{path} is larger than {FILE_BYTES} bytes; not read"),
                ),
                Ok(bytes) => opened.push((path, bytes)),
                Err(e) => self.reports.add(at, keyword, format!("{path}: cannot read: {e}")),
            }
        }
        // The first match is read first: it goes on the top of the stack.
        for (path, bytes) in opened.into_iter().rev() {
            self.open(&path, &bytes);
        }
    }
}

fn first_word(text: &str) -> String {
    words::split(text).0.into_iter().next().unwrap_or_else(|| text.chars().take(20).collect())
}

#[cfg(test)]
mod tests {
    use super::super::files::Memory;
    use super::*;

    fn lines(fs: &Memory, path: &str, instance: &str) -> (Vec<String>, Vec<String>) {
        let mut reports = Reports::default();
        let out = read(path, instance, fs, &mut reports).unwrap();
        let texts = out.into_iter().map(|l| format!("{}:{} {}", l.at.file, l.at.line, l.text)).collect();
        (texts, reports.sorted().iter().map(|r| r.to_string()).collect())
    }

    fn texts(src: &str, instance: &str) -> Vec<String> {
        let mut fs = Memory::new("/etc/keepalived");
        fs.add("k.conf", src);
        let mut reports = Reports::default();
        read("k.conf", instance, &fs, &mut reports).unwrap().into_iter().map(|l| l.text).collect()
    }

    #[test]
    fn braces_comments_and_lines() {
        let (out, reports) = {
            let mut fs = Memory::new("/");
            fs.add("k.conf", "! comment\nvrrp_instance VI_1 { # open\n  state MASTER }\n\n  virtual_ipaddress { 10.0.0.1 }\n}\n");
            lines(&fs, "k.conf", "x")
        };
        assert_eq!(
            out,
            vec![
                "k.conf:2 vrrp_instance VI_1",
                "k.conf:2 {",
                "k.conf:3 state MASTER",
                "k.conf:3 }",
                "k.conf:5 virtual_ipaddress",
                "k.conf:5 {",
                "k.conf:5 10.0.0.1",
                "k.conf:5 }",
                "k.conf:6 }",
            ]
        );
        assert!(reports.is_empty());
    }

    #[test]
    fn conditional_lines_follow_the_configuration_id() {
        let src = "@high priority 200\n@low priority 100\n@^high nopreempt\n@high\n";
        assert_eq!(texts(src, "high"), vec!["priority 200"]);
        assert_eq!(texts(src, "low"), vec!["priority 100", "nopreempt"]);
    }

    #[test]
    fn parameters_and_conditions_combine() {
        let src = "@main $PRIORITY=240\n@backup $PRIORITY=200\npriority $PRIORITY\n$IF_MAIN=@main\n$IF_MAIN weight 2\n";
        assert_eq!(texts(src, "main"), vec!["priority 240", "weight 2"]);
        assert_eq!(texts(src, "backup"), vec!["priority 200"]);
        assert_eq!(texts("x ${_INSTANCE} ${_PWD}\n", "a"), vec!["x a /etc/keepalived"]);
    }

    #[test]
    fn multiline_definitions_expand_in_place() {
        let src = "$INST= \\\nvrrp_instance VI_${NUM} { \\\n  interface eth${NUM} \\\n}\n\n$NUM=0\n$INST\n$NUM=1\n$INST\n";
        assert_eq!(
            texts(src, "x"),
            vec![
                "vrrp_instance VI_0",
                "{",
                "interface eth0",
                "}",
                "vrrp_instance VI_1",
                "{",
                "interface eth1",
                "}"
            ]
        );
    }

    #[test]
    fn nested_multiline_definitions() {
        let src = "$RS= \\\nreal_server 10.0.${VS}.${RS_NUM} 80 { \\\n  weight 1 \\\n}\n\n\
                   $VS_BLOCK= \\\nvirtual_server 10.0.${VS}.4 80 { \\\n  $RS_NUM=1 \\\n  $RS \\\n  $RS_NUM=2 \\\n  $RS \\\n}\n\n\
                   $VS=7\n$VS_BLOCK\n";
        assert_eq!(
            texts(src, "x"),
            vec![
                "virtual_server 10.0.7.4 80",
                "{",
                "real_server 10.0.7.1 80",
                "{",
                "weight 1",
                "}",
                "real_server 10.0.7.2 80",
                "{",
                "weight 1",
                "}",
                "}"
            ]
        );
    }

    #[test]
    fn sequences_and_lists_repeat_lines() {
        assert_eq!(texts("~SEQ(S, 0, 2) 10.0.${S}.1\n", "x"), vec!["10.0.0.1", "10.0.1.1", "10.0.2.1"]);
        assert_eq!(texts("~SEQ(A, 1, 2) ~SEQ(B, 1, 2) ${A}.${B}\n", "x"), vec!["1.1", "1.2", "2.1", "2.2"]);
        assert_eq!(texts("$N=2\n~SEQ(A, $N) a${A}\n", "x"), vec!["a1", "a2"]);
        assert_eq!(
            texts("~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}\n", "x"),
            vec!["192.168.10.1", "192.168.20.4"]
        );
    }

    #[test]
    fn includes_with_globs_relative_to_the_including_file() {
        let mut fs = Memory::new("/work");
        fs.add("/etc/keepalived/keepalived.conf", "global_defs {\n}\ninclude conf.d/*.conf\nlast\n")
            .add("/etc/keepalived/conf.d/b.conf", "b\n")
            .add("/etc/keepalived/conf.d/a.conf", "a\ninclude ../more/x.conf\n")
            .add("/etc/keepalived/more/x.conf", "x\n");
        let (out, reports) = lines(&fs, "/etc/keepalived/keepalived.conf", "h");
        assert_eq!(
            out,
            vec![
                "/etc/keepalived/keepalived.conf:1 global_defs",
                "/etc/keepalived/keepalived.conf:1 {",
                "/etc/keepalived/keepalived.conf:2 }",
                "/etc/keepalived/conf.d/a.conf:1 a",
                "/etc/keepalived/conf.d/../more/x.conf:1 x",
                "/etc/keepalived/conf.d/b.conf:1 b",
                "/etc/keepalived/keepalived.conf:4 last",
            ]
        );
        assert!(reports.is_empty(), "{reports:?}");
    }

    #[test]
    fn include_problems_are_reported() {
        let mut fs = Memory::new("/");
        // A plain include that matches nothing reads nothing, silently, as keepalived's.
        fs.add(
            "/k.conf",
            "includea /none/*.conf\ninclude /k.conf\ninclude /optional/*.conf\nincludeb /{k,x}.conf\n",
        );
        let (_, reports) = lines(&fs, "/k.conf", "h");
        assert_eq!(
            reports,
            vec![
                "/k.conf:1: includea: no file matches '/none/*.conf'",
                "/k.conf:2: include: /k.conf includes itself; not read again",
                "/k.conf:4: includeb: no file matches '/x.conf' (of '/{k,x}.conf')",
                "/k.conf:4: includeb: /k.conf includes itself; not read again",
            ]
        );
    }

    #[test]
    fn an_endless_parameter_is_reported_not_followed() {
        let mut fs = Memory::new("/");
        fs.add("k.conf", "$A=x $A\nrouter_id $A\n");
        let (out, reports) = lines(&fs, "k.conf", "h");
        assert!(out.is_empty());
        assert_eq!(reports.len(), 1, "{reports:?}");
    }
}
