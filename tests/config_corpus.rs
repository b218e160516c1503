//! The configuration corpus, run through the real binary.
//!
//! `tests/config/bad/NAME.conf`: must be refused (exit 1, nothing on stdout) with exactly
//! the stderr in `NAME.err`. `tests/config/good/NAME.conf` / `NAME.uci`: must load, with
//! empty stderr (or exactly `NAME.err` where one exists, for files that deliberately warn);
//! the effective configuration printed must read back to itself, in flat and UCI form,
//! and a `NAME.uci` twin must print the same effective configuration as `NAME.conf`.
//!
//! To accept new output after a deliberate change of wording, run with
//! `KEEPLITE_BLESS=1 cargo test --test config_corpus` and review the `.err` diff.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// At least this many bad cases must exist (the issue asks for 40).
const MIN_BAD: usize = 40;
/// At least this many good files, and this many `.conf`/`.uci` twins.
const MIN_GOOD: usize = 12;
const MIN_TWINS: usize = 6;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs keeplite from the repository root, so file names in messages are relative.
fn keeplite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keeplite"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the keeplite binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Files in `tests/config/DIR` with extension `ext`, as paths relative to the root, sorted.
fn corpus(dir: &str, ext: &str) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(root().join("tests/config").join(dir))
        .expect("corpus directory exists")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| format!("tests/config/{dir}/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    out.sort();
    out
}

/// `tests/config/bad/x.conf` -> `tests/config/bad/x.err`.
fn expectation(file: &str) -> PathBuf {
    root().join(Path::new(file).with_extension("err"))
}

/// A line diff (longest common subsequence), `-` expected, `+` actual.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("   {}\n", a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!(" - {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!(" + {}\n", b[j]));
            j += 1;
        }
    }
    if !expected.is_empty() && !expected.ends_with('\n') || !actual.is_empty() && !actual.ends_with('\n') {
        out.push_str("   (the two differ in their final newline)\n");
    }
    out
}

/// Collects failures so that one run reports every broken case, not just the first.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    fn finish(self, kind: &str) {
        assert!(self.0.is_empty(), "{} {kind} failure(s):\n\n{}", self.0.len(), self.0.join("\n"));
    }
}

fn bless() -> bool {
    std::env::var_os("KEEPLITE_BLESS").is_some()
}

/// Compares stderr with the expectation file, or rewrites it when blessing.
fn expect_stderr(f: &mut Failures, file: &str, expected_path: &Path, stderr: &str) {
    if bless() {
        fs::write(expected_path, stderr).expect("write expectation");
        return;
    }
    let expected = fs::read_to_string(expected_path).unwrap_or_default();
    f.check(expected == stderr, || {
        format!(
            "{file}: stderr differs from {} (- expected, + actual):\n{}",
            expected_path.strip_prefix(root()).unwrap_or(expected_path).display(),
            diff(&expected, stderr)
        )
    });
}

#[test]
fn bad_files_are_refused_with_the_expected_messages() {
    let files = corpus("bad", "conf");
    assert!(files.len() >= MIN_BAD, "only {} bad cases; the corpus needs at least {MIN_BAD}", files.len());
    let mut f = Failures::default();
    for file in &files {
        let exp = expectation(file);
        f.check(exp.exists() || bless(), || format!("{file}: no expectation file {}", exp.display()));
        let out = keeplite(&["check-config", "-f", file]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        f.check(out.status.code() == Some(1), || format!("{file}: exit status {:?}, expected 1", out.status));
        f.check(stdout.is_empty(), || format!("{file}: printed a configuration although refused:\n{stdout}"));
        f.check(!stderr.is_empty(), || format!("{file}: refused without a message"));
        expect_stderr(&mut f, file, &exp, &stderr);
    }
    // Every expectation belongs to a case (a renamed case must not leave a stale .err).
    for err in corpus("bad", "err") {
        let conf = Path::new(&err).with_extension("conf");
        f.check(root().join(&conf).exists(), || format!("{err}: no {} next to it", conf.display()));
    }
    f.finish("bad-file");
}

/// Where a round trip writes its text: unique per process and call.
fn temp_file(name: &str, ext: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let stem = name.replace('/', "_");
    std::env::temp_dir().join(format!("keeplite-corpus-{}-{n}-{stem}.{ext}", std::process::id()))
}

/// Warning messages without their `FILE:LINE: ` prefix, sorted: what must survive a
/// round trip (lines and file names change, the problems must not).
fn warnings(stderr: &str) -> Vec<String> {
    let mut w: Vec<String> =
        stderr.lines().map(|l| l.split_once(": warning: ").map_or(l, |(_, m)| m).to_owned()).collect();
    w.sort();
    w
}

/// Loads `printed` (an effective configuration in some form) from a temporary file and
/// checks it prints `effective` again, with the same warnings as the original.
fn round_trip(f: &mut Failures, file: &str, how: &str, printed: &str, effective: &str, stderr: &str) {
    let tmp = temp_file(file, if how == "uci" { "uci" } else { "conf" });
    fs::write(&tmp, printed).expect("write temporary file");
    let out = keeplite(&["check-config", "-f", tmp.to_str().expect("UTF-8 temp path")]);
    let _ = fs::remove_file(&tmp);
    let (again, again_err) = (text(&out.stdout), text(&out.stderr));
    f.check(out.status.success(), || {
        format!("{file}: the {how} effective configuration does not load again:\n{again_err}\n--- it was:\n{printed}")
    });
    f.check(again == effective, || {
        format!(
            "{file}: the {how} effective configuration reads back differently (- first, + second):\n{}",
            diff(effective, &again)
        )
    });
    f.check(warnings(&again_err) == warnings(stderr), || {
        format!("{file}: the {how} round trip changes the warnings:\nbefore:\n{stderr}\nafter:\n{again_err}")
    });
}

#[test]
fn good_files_load_and_round_trip() {
    let mut files = corpus("good", "conf");
    files.extend(corpus("good", "uci"));
    files.sort();
    assert!(files.len() >= MIN_GOOD, "only {} good files; the corpus needs at least {MIN_GOOD}", files.len());
    let mut f = Failures::default();
    let mut effective_of = std::collections::BTreeMap::new();
    for file in &files {
        let out = keeplite(&["check-config", "-f", file]);
        let (effective, stderr) = (text(&out.stdout), text(&out.stderr));
        f.check(out.status.success(), || format!("{file}: refused (exit {:?}):\n{stderr}", out.status));
        if !out.status.success() {
            continue;
        }
        let exp = expectation(file);
        if exp.exists() {
            expect_stderr(&mut f, file, &exp, &stderr);
        } else {
            f.check(stderr.is_empty(), || {
                format!("{file}: a good file must load without warnings (or come with a .err):\n{stderr}")
            });
        }
        round_trip(&mut f, file, "flat", &effective, &effective, &stderr);
        let uci = keeplite(&["check-config", "--uci", "-f", file]);
        let uci_text = text(&uci.stdout);
        f.check(uci.status.success() && uci_text.starts_with("package keeplite\n"), || {
            format!("{file}: --uci did not print a native configuration:\n{uci_text}")
        });
        round_trip(&mut f, file, "uci", &uci_text, &effective, &stderr);
        effective_of.insert(file.clone(), effective);
    }
    let mut twins = 0;
    for (file, effective) in &effective_of {
        let Some(stem) = file.strip_suffix(".uci") else { continue };
        let conf = format!("{stem}.conf");
        match effective_of.get(&conf) {
            Some(flat) => {
                twins += 1;
                f.check(flat == effective, || {
                    format!(
                        "{file}: prints a different configuration than {conf} (- conf, + uci):\n{}",
                        diff(flat, effective)
                    )
                });
            }
            None => f.check(false, || format!("{file}: no flat twin {conf}")),
        }
    }
    f.check(twins >= MIN_TWINS, || {
        format!("only {twins} .conf/.uci twins; the corpus needs at least {MIN_TWINS}")
    });
    f.finish("good-file");
}

#[test]
fn native_and_flat_forms_are_both_used_by_bad_cases() {
    let uci = corpus("bad", "conf")
        .iter()
        .filter(|file| {
            let body = fs::read(root().join(file)).expect("read bad case");
            String::from_utf8_lossy(&body).lines().any(|l| l.trim_start().starts_with("config "))
        })
        .count();
    assert!(uci >= 8, "only {uci} bad cases in native UCI form; at least 8 expected");
}

/// Checks that `s` is one JSON value as far as brackets and strings go (no JSON crate in
/// the tests: this catches truncation, unbalanced nesting and broken string escapes).
fn balanced_json(s: &str) -> bool {
    let mut stack = Vec::new();
    let mut chars = s.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => loop {
                match chars.next() {
                    Some('\\') => {
                        chars.next();
                    }
                    Some('"') => break,
                    Some(c) if (c as u32) < 0x20 => return false,
                    Some(_) => {}
                    None => return false,
                }
            },
            '{' | '[' => stack.push(c),
            '}' if stack.pop() != Some('{') => return false,
            ']' if stack.pop() != Some('[') => return false,
            _ => {}
        }
    }
    stack.is_empty() && s.trim().starts_with('{') && s.trim().ends_with('}')
}

#[test]
fn json_output_has_the_expected_shape() {
    let good = keeplite(&["check-config", "--json", "-f", "tests/config/good/paper-vrrp.uci"]);
    let json = text(&good.stdout);
    assert!(good.status.success(), "good file refused: {json}");
    assert!(good.stderr.is_empty(), "--json writes nothing to stderr: {}", text(&good.stderr));
    assert!(balanced_json(&json), "not one JSON object: {json}");
    for needle in [
        r#"{"file":"tests/config/good/paper-vrrp.uci","valid":true,"form":"uci","errors":[],"warnings":[],"sections":["#,
        r#"{"name":"@global[0]","type":"global","options":{"router_id":"edge-a","#,
        r#"{"name":"gw","type":"vrrp","options":{"interface":"eth0","vrid":"51","priority":"200","version":"3","#,
        r#""vip":["10.0.0.7/24","2001:db8::7/64"]"#,
    ] {
        assert!(json.contains(needle), "missing {needle} in {json}");
    }

    let bad = keeplite(&["check-config", "--json", "-f", "tests/config/bad/vrid-range.conf"]);
    let json = text(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "bad file accepted: {json}");
    assert!(balanced_json(&json), "not one JSON object: {json}");
    for needle in [
        r#"{"file":"tests/config/bad/vrid-range.conf","valid":false,"form":"flat","errors":["#,
        r#"{"line":4,"section":"a","option":"vrid","message":"0 is out of range","expected":"1..255","text":"tests/config/bad/vrid-range.conf:4: a.vrid: 0 is out of range (expected 1..255)"}"#,
        r#""message":"'fifty' is not a whole number""#,
        r#""warnings":[]"#,
    ] {
        assert!(json.contains(needle), "missing {needle} in {json}");
    }
    assert!(!json.contains(r#""sections""#), "a refused file has no effective configuration: {json}");

    // A native-form file with errors and a warning; a line-level error has null section.
    let mixed = keeplite(&["check-config", "--json", "-f", "tests/config/bad/uci-references.conf"]);
    let json = text(&mixed.stdout);
    assert!(balanced_json(&json), "not one JSON object: {json}");
    assert!(json.contains(r#""valid":false,"form":"uci""#), "{json}");
    assert!(json.contains(r#""warnings":[{"line":28,"section":"web","option":null,"#), "{json}");
    let syntax = keeplite(&["check-config", "--json", "-f", "tests/config/bad/missing-equals.conf"]);
    let json = text(&syntax.stdout);
    assert!(json.contains(r#"{"line":6,"section":null,"option":null,"message":"line has no '='""#), "{json}");
}

#[test]
fn version_lists_the_limits() {
    let out = keeplite(&["version"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.starts_with(&format!("keeplite {}\n", env!("CARGO_PKG_VERSION"))), "{stdout}");
    assert!(stdout.contains("\nlimits:\n"), "{stdout}");
    for name in ["CONFIG_FILE_BYTES", "VRRP_INSTANCES", "VIPS_PER_INSTANCE", "IPVS_DESTINATIONS", "PROBES"] {
        let line = stdout.lines().find(|l| l.split_whitespace().next() == Some(name));
        let value = line.and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<usize>().ok());
        assert!(value.is_some_and(|v| v > 0), "limit {name} not listed with a number:\n{stdout}");
    }
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let missing = "tests/config/no-such-file.conf";
    let out = keeplite(&["check-config", "-f", missing]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(stderr.starts_with(&format!("{missing}: cannot open: ")), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line of error: {stderr}");

    let json = keeplite(&["check-config", "--json", "-f", missing]);
    let body = text(&json.stdout);
    assert_eq!(json.status.code(), Some(1), "{body}");
    assert!(balanced_json(&body), "{body}");
    assert!(body.contains(&format!(r#"{{"file":"{missing}","valid":false,"#)), "{body}");
    // The same shape as a file with errors: an errors array whose entry has no line.
    assert!(body.contains(r#""errors":[{"line":null,"section":null,"option":null,"message":"tests/config/no-such-file.conf: cannot open: "#), "{body}");
    assert!(body.ends_with("\"warnings\":[]}\n"), "{body}");
}
