//! Where a line of keepalived's configuration came from, and the keywords an import could
//! not carry over, as the operator reads them: `FILE:LINE: keyword: why`.

use std::fmt;
use std::rc::Rc;

/// A line of a keepalived configuration file (after includes: the included file's name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub file: Rc<str>,
    pub line: u32,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One keyword (or value) that the keeplite configuration does not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub at: Origin,
    /// The keepalived keyword, as written.
    pub keyword: String,
    /// Why it is not carried over, and what happens instead.
    pub why: String,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.at, self.keyword, self.why)
    }
}

/// The reports of one import, in the order they were found.
#[derive(Debug, Default, Clone)]
pub struct Reports {
    items: Vec<Report>,
}

impl Reports {
    /// Records that `keyword` at `at` is not carried over, and why.
    pub fn add(&mut self, at: &Origin, keyword: impl Into<String>, why: impl Into<String>) {
        let r = Report { at: at.clone(), keyword: keyword.into(), why: why.into() };
        // The same line expanded twice (a ~SEQ, a multi-line definition) says it once.
        if !self.items.contains(&r) {
            self.items.push(r);
        }
    }

    /// Every report, sorted by file and line (stable: one line's reports keep their order).
    pub fn sorted(mut self) -> Vec<Report> {
        self.items.sort_by(|a, b| a.at.cmp(&b.at));
        self.items
    }

    /// How many reports so far.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing was reported.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
