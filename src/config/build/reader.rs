//! Typed reading of one section's options, recording every problem it meets.

use crate::config::diag::{At, Diagnostics};
use crate::config::sections::{Opt, Section};
use crate::config::value::{Bad, Parsed};
use heapless::Vec as Fixed;

/// Where names resolve: every section's name and type, in file order.
pub struct Names<'a> {
    pub sections: &'a [Section],
}

impl Names<'_> {
    /// Index of section `name` among the sections of type `kind`. As in UCI, `@kind[N]`
    /// names the Nth section of that type, whether it has a name of its own or not.
    pub fn resolve(&self, kind: &str, name: &str) -> Result<usize, Bad> {
        if let Some((of, n)) = positional(name) {
            return match self.sections.iter().filter(|s| s.kind == of).nth(n) {
                Some(_) if of == kind => Ok(n),
                Some(s) => Err(Bad {
                    what: format!("'{name}' is a {} section", s.kind),
                    expected: format!("the name of a {kind} section"),
                }),
                None => {
                    let count = self.sections.iter().filter(|s| s.kind == of).count();
                    let plural = if count == 1 { "" } else { "s" };
                    Err(Bad {
                        what: format!("'{name}' does not exist (the file has {count} {of} section{plural})"),
                        expected: format!("the name of a {kind} section"),
                    })
                }
            };
        }
        let mut index = 0;
        for s in self.sections {
            if s.name == name {
                return if s.kind == kind {
                    Ok(index)
                } else {
                    Err(Bad {
                        what: format!("'{name}' is a {} section", s.kind),
                        expected: format!("the name of a {kind} section"),
                    })
                };
            }
            if s.kind == kind {
                index += 1;
            }
        }
        let same_kind = self.sections.iter().filter(|s| s.kind == kind).map(|s| s.name.as_str());
        let mut what = format!("no {kind} section is called '{name}'");
        if let Some(near) = crate::config::suggest::closest(name, same_kind) {
            what.push_str(&format!(" (did you mean '{near}'?)"));
        }
        Err(Bad { what, expected: format!("the name of a {kind} section") })
    }
}

impl Names<'_> {
    /// Name of the `index`th section of type `kind`, as written in the file.
    pub fn name_of(&self, kind: &str, index: usize) -> &str {
        self.sections.iter().filter(|s| s.kind == kind).nth(index).map_or("?", |s| s.name.as_str())
    }
}

/// `@kind[N]`: UCI's positional name of a section.
fn positional(name: &str) -> Option<(&str, usize)> {
    let (kind, n) = name.strip_prefix('@')?.strip_suffix(']')?.split_once('[')?;
    Some((kind, n.parse().ok()?))
}

/// Reads the options of one section.
pub struct Reader<'a, 'd> {
    pub section: &'a Section,
    pub diags: &'d mut Diagnostics,
    /// False once any problem was found in this section.
    pub ok: bool,
}

impl<'a, 'd> Reader<'a, 'd> {
    /// Starts reading `section`.
    pub fn new(section: &'a Section, diags: &'d mut Diagnostics) -> Self {
        Reader { section, diags, ok: true }
    }

    /// Name of the section being read.
    pub fn name(&self) -> &'a str {
        &self.section.name
    }

    /// True when option `name` is set.
    pub fn has(&self, name: &str) -> bool {
        self.section.get(name).is_some()
    }

    /// Records an error about option `name`.
    pub fn fail(&mut self, name: &str, what: impl Into<String>, expected: impl Into<String>) {
        let at = At::option(self.section.line_of(name), &self.section.name, name);
        self.diags.error(at, what, expected);
        self.ok = false;
    }

    /// Records a warning about option `name`.
    pub fn warn(&mut self, name: &str, what: impl Into<String>, expected: impl Into<String>) {
        let at = At::option(self.section.line_of(name), &self.section.name, name);
        self.diags.warning(at, what, expected);
    }

    fn bad(&mut self, name: &str, b: Bad) {
        self.fail(name, b.what, b.expected);
    }

    fn single(&self, name: &str) -> Option<&'a str> {
        // The schema pass has already reported options with the wrong number of values.
        match self.section.get(name) {
            Some(Opt { values, .. }) if values.len() == 1 => Some(values[0].as_str()),
            _ => None,
        }
    }

    /// Option `name` parsed, or `None` when unset or invalid.
    pub fn one<T>(&mut self, name: &str, parse: impl Fn(&str) -> Parsed<T>) -> Option<T> {
        let v = self.single(name)?;
        match parse(v) {
            Ok(t) => Some(t),
            Err(b) => {
                self.bad(name, b);
                None
            }
        }
    }

    /// Option `name` parsed, or `default` when unset (and when invalid, which is reported).
    pub fn or<T>(&mut self, name: &str, default: T, parse: impl Fn(&str) -> Parsed<T>) -> T {
        self.one(name, parse).unwrap_or(default)
    }

    /// A required option; reports it when missing.
    pub fn required<T>(&mut self, name: &str, parse: impl Fn(&str) -> Parsed<T>) -> Option<T> {
        if !self.has(name) {
            self.missing(&format!("'{name}'"), &format!("{name} to be set"));
            return None;
        }
        self.one(name, parse)
    }

    /// Reports that none of several alternative options is set (`what` names them).
    pub fn missing(&mut self, what: &str, expected: &str) {
        let at = At::section(self.section.line, &self.section.name);
        self.diags.error(at, format!("option {what} is missing"), expected.to_owned());
        self.ok = false;
    }

    /// Every value of list option `name` that parses; each bad one is reported.
    pub fn list<T>(&mut self, name: &str, parse: impl Fn(&str) -> Parsed<T>) -> Vec<T> {
        let values = self.section.get(name).map_or(&[][..], |o| o.values.as_slice());
        let mut out = Vec::with_capacity(values.len());
        for v in values {
            match parse(v) {
                Ok(t) => out.push(t),
                Err(b) => self.bad(name, b),
            }
        }
        out
    }

    /// Moves `items` into a fixed-capacity list, reporting when there are more than fit.
    pub fn fixed<T, const N: usize>(&mut self, name: &str, items: Vec<T>, limit: &str) -> Fixed<T, N> {
        let count = items.len();
        if count > N {
            self.fail(name, format!("{count} entries"), format!("at most {N} (limits::{limit})"));
        }
        items.into_iter().take(N).collect()
    }

    /// Reports the first value that appears twice in a list option; true when one did.
    pub fn no_duplicates<T: PartialEq>(
        &mut self,
        name: &str,
        items: &[T],
        show: impl Fn(&T) -> String,
    ) -> bool {
        for (i, a) in items.iter().enumerate() {
            if items[..i].contains(a) {
                self.fail(name, format!("{} is listed twice", show(a)), "each entry once");
                return true;
            }
        }
        false
    }

    /// Reports options set in this section that do not apply given `why`.
    pub fn forbid(&mut self, names: &[&str], why: &str, expected: &str) {
        for &n in names {
            if self.has(n) {
                self.fail(n, format!("does not apply {why}"), expected.to_owned());
            }
        }
    }
}
