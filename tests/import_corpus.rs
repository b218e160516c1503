//! `keeplite import` run through the real binary.
//!
//! `tests/fixtures/import/NAME.conf` (keepalived's syntax; `NAME.args` holds extra
//! arguments): the import must print exactly `NAME.out` and report exactly `NAME.err`
//! (none when there is no such file), exit 1 exactly when it reports, and `keeplite
//! check-config` must accept what it printed. Together the files use every keyword the
//! import carries over (`keeplite::import::MAPPED`).
//!
//! keepalived's own sample configurations (`$KEEPALIVED_SAMPLES`, else
//! `../shared/keepalived-samples`, else Debian's `/usr/share/doc/keepalived/samples`; not
//! part of this repository) must each import to a file that
//! loads, with exactly the keywords `tests/fixtures/import/samples.expected` lists as
//! reported. Without the directory the test says so and passes, except under `CI=true`.
//!
//! After a deliberate change, `KEEPLITE_BLESS=1 cargo test --test import_corpus` rewrites
//! the expectations; review the diff.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn keeplite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keeplite"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run keeplite")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn bless() -> bool {
    std::env::var_os("KEEPLITE_BLESS").is_some()
}

const DIR: &str = "tests/fixtures/import";

/// The keepalived files of the corpus, relative to the root, sorted.
fn corpus() -> Vec<String> {
    let mut files: Vec<String> = fs::read_dir(root().join(DIR))
        .expect("tests/fixtures/import")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".conf"))
        .map(|n| format!("{DIR}/{n}"))
        .collect();
    files.sort();
    files
}

/// Compares `actual` with the file `expected` (missing: empty), or writes it when blessing.
fn expect(failures: &mut Vec<String>, what: &str, expected: &Path, actual: &str) {
    if bless() {
        if actual.is_empty() {
            let _ = fs::remove_file(expected);
        } else {
            fs::write(expected, actual).expect("write expectation");
        }
        return;
    }
    let want = fs::read_to_string(expected).unwrap_or_default();
    if want != actual {
        failures.push(format!(
            "{what} differs from {}:\n--- expected\n{want}--- actual\n{actual}",
            expected.strip_prefix(root()).unwrap_or(expected).display()
        ));
    }
}

/// `keeplite check-config` on `config`: accepted (warnings allowed: keeplite warns about
/// some things keepalived lets pass, such as an IPv6 instance whose first vip is not
/// link-local), or why not.
fn loads(config: &str, name: &str, uci: bool) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("kl-import-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{}.{}", name.replace('/', "_"), if uci { "uci" } else { "conf" }));
    fs::write(&path, config).expect("write");
    let out = keeplite(&["check-config", "-f", &path.display().to_string()]);
    let _ = fs::remove_file(&path);
    let stderr = text(&out.stderr);
    match out.status.code() {
        Some(0) if stderr.lines().all(|l| l.contains(": warning: ")) => Ok(()),
        code => Err(format!("check-config exit {code:?}:\n{stderr}")),
    }
}

#[test]
fn the_corpus_imports_as_expected_and_loads() {
    let files = corpus();
    assert!(files.len() >= 10, "only {} files in {DIR}", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let stem = file.trim_end_matches(".conf");
        let extra = fs::read_to_string(root().join(format!("{stem}.args"))).unwrap_or_default();
        let mut args = vec!["import", "-f", file.as_str()];
        args.extend(extra.split_whitespace());
        let out = keeplite(&args);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        expect(&mut failures, &format!("{file}: stdout"), &root().join(format!("{stem}.out")), &stdout);
        expect(&mut failures, &format!("{file}: stderr"), &root().join(format!("{stem}.err")), &stderr);
        let want_code = i32::from(!stderr.is_empty());
        if out.status.code() != Some(want_code) {
            failures.push(format!("{file}: exit {:?}, expected {want_code}", out.status.code()));
        }
        if let Err(e) = loads(&stdout, stem, extra.contains("--uci")) {
            failures.push(format!("{file}: the import does not load: {e}\n{stdout}"));
        }
    }
    // Every expectation has its case.
    for entry in fs::read_dir(root().join(DIR)).expect("dir") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".out").or_else(|| name.strip_suffix(".err")) {
            if !root().join(DIR).join(format!("{stem}.conf")).exists() {
                failures.push(format!("{DIR}/{name}: no {stem}.conf next to it"));
            }
        }
    }
    assert!(failures.is_empty(), "{} failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
}

/// The words of the corpus's keepalived files (included ones too).
fn corpus_words() -> Vec<String> {
    let mut words = Vec::new();
    let mut dirs = vec![root().join(DIR)];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "conf") {
                let body = fs::read_to_string(&path).expect("read");
                words.extend(
                    body.split(|c: char| c.is_whitespace() || c == '{' || c == '}').map(str::to_owned),
                );
            }
        }
    }
    words
}

#[test]
fn the_corpus_uses_every_keyword_the_import_carries() {
    let words = corpus_words();
    let missing: Vec<&&str> =
        keeplite::import::MAPPED.iter().filter(|k| !words.iter().any(|w| w == **k)).collect();
    assert!(missing.is_empty(), "keywords no file of {DIR} uses: {missing:?}");
}

#[test]
fn a_missing_file_is_an_error_with_no_output() {
    let out = keeplite(&["import", "-f", "tests/fixtures/import/none.conf"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).starts_with("tests/fixtures/import/none.conf: cannot read: "),
        "{}",
        text(&out.stderr)
    );
}

/// Where keepalived's sample configurations are, if here: `$KEEPALIVED_SAMPLES`, else the
/// folder beside the checkout, else Debian's keepalived package (a prerequisite of the
/// test tiers, ci/prerequisites.sh), which ships the same 25 files.
fn samples_dir() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("KEEPALIVED_SAMPLES") {
        Some(dir) => vec![PathBuf::from(dir)],
        None => vec![root().join("../shared/keepalived-samples"), "/usr/share/doc/keepalived/samples".into()],
    };
    if let Some(dir) = candidates.iter().find(|d| d.join("keepalived.conf.sample").exists()) {
        return Some(dir.clone());
    }
    let tried: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
    let why = format!(
        "keepalived's sample configurations are not in {} (install keepalived, or set KEEPALIVED_SAMPLES)",
        tried.join(" nor ")
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{why} (CI=true: a missing prerequisite is a failure)");
    }
    eprintln!("SKIPPED: {why}");
    None
}

/// The keywords a report line names: `FILE:LINE: keyword: why`.
fn reported_keyword(line: &str) -> Option<&str> {
    let mut parts = line.splitn(4, ": ");
    let _file_line = parts.next()?;
    parts.next()
}

#[test]
fn keepalived_samples_import_and_load() {
    let Some(dir) = samples_dir() else { return };
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("samples")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("keepalived.conf"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 25, "expected keepalived's 25 samples in {}", dir.display());
    let mut failures = Vec::new();
    let mut summary = String::new();
    for name in &names {
        let path = dir.join(name).display().to_string();
        // conditional_conf is written for `-i high` or `-i low`.
        let out = keeplite(&["import", "-f", &path, "--instance", "high"]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        if out.status.code() != Some(i32::from(!stderr.is_empty())) {
            failures.push(format!("{name}: exit {:?} with stderr:\n{stderr}", out.status.code()));
        }
        if let Err(e) = loads(&stdout, name, false) {
            failures.push(format!("{name}: the import does not load: {e}\n{stdout}"));
        }
        let mut keywords: Vec<&str> = stderr.lines().filter_map(reported_keyword).collect();
        keywords.dedup();
        let list = if keywords.is_empty() { "-".to_owned() } else { keywords.join(", ") };
        summary.push_str(&format!("{name}: {list}\n"));
    }
    expect(
        &mut failures,
        "the samples' reported keywords",
        &root().join(DIR).join("samples.expected"),
        &summary,
    );
    assert!(failures.is_empty(), "{} failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
}
