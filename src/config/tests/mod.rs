//! Whole-parser tests: capacities, and property tests over generated configurations.

mod auth_hmac_files;
mod capacity;
mod generated;

use super::{parse, Host, Outcome, Severity};

fn host() -> Host {
    Host { hostname: "test-host".to_owned() }
}

fn load(text: &str) -> Outcome {
    parse(text.as_bytes(), &host())
}

/// The rendered error lines of an outcome (warnings left out).
fn errors(o: &Outcome) -> Vec<String> {
    o.problems.iter().filter(|p| p.severity == Severity::Error).map(|p| p.render("t.conf")).collect()
}
