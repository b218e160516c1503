//! The keeplite configuration an import builds: sections of options, each remembering the
//! keepalived line and keyword it came from (to report it if keeplite refuses it), and the
//! section names, unique and in keeplite's alphabet.

use super::report::Origin;
use crate::config::sections::{self, Document};
use crate::limits;
use std::collections::HashSet;

/// One value of an option, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub value: String,
    pub at: Origin,
    /// The keepalived keyword it carries.
    pub keyword: String,
}

/// One option: one item, or several for a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    pub name: String,
    pub list: bool,
    pub items: Vec<Item>,
}

impl Opt {
    /// The values, in order.
    pub fn values(&self) -> Vec<String> {
        self.items.iter().map(|i| i.value.clone()).collect()
    }
}

/// One section, with the keepalived block it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub kind: &'static str,
    pub at: Origin,
    /// The keepalived keyword of the block (`vrrp_instance`, `real_server`, ...).
    pub keyword: String,
    pub options: Vec<Opt>,
}

impl Section {
    /// An empty section.
    pub fn new(name: &str, kind: &'static str, at: &Origin, keyword: &str) -> Section {
        Section {
            name: name.to_owned(),
            kind,
            at: at.clone(),
            keyword: keyword.to_owned(),
            options: Vec::new(),
        }
    }

    /// Sets a single-value option (a second setting replaces the first: keepalived's last
    /// keyword wins).
    pub fn set(&mut self, name: &str, value: impl Into<String>, at: &Origin, keyword: &str) {
        let item = Item { value: value.into(), at: at.clone(), keyword: keyword.to_owned() };
        match self.options.iter_mut().find(|o| o.name == name) {
            Some(o) => o.items = vec![item],
            None => self.options.push(Opt { name: name.to_owned(), list: false, items: vec![item] }),
        }
    }

    /// Appends one value to a list option; a value already there is not added twice.
    pub fn push(&mut self, name: &str, value: impl Into<String>, at: &Origin, keyword: &str) {
        let item = Item { value: value.into(), at: at.clone(), keyword: keyword.to_owned() };
        match self.options.iter_mut().find(|o| o.name == name) {
            Some(o) => {
                if !o.items.iter().any(|i| i.value == item.value) {
                    o.items.push(item);
                }
            }
            None => self.options.push(Opt { name: name.to_owned(), list: true, items: vec![item] }),
        }
    }

    /// The option called `name`.
    pub fn opt(&self, name: &str) -> Option<&Opt> {
        self.options.iter().find(|o| o.name == name)
    }

    /// The (first) value of option `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.opt(name).and_then(|o| o.items.first()).map(|i| i.value.as_str())
    }

    /// Removes option `name`.
    pub fn remove(&mut self, name: &str) {
        self.options.retain(|o| o.name != name);
    }
}

/// The whole configuration, in the order it is printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub sections: Vec<Section>,
}

impl Output {
    /// Puts every section's options in the order of keeplite's schema (the order
    /// `check-config` prints), whatever the order of the keepalived keywords.
    pub fn order_options(&mut self) {
        for s in &mut self.sections {
            if let Some(spec) = crate::config::schema::section(s.kind) {
                let rank =
                    |name: &str| spec.options.iter().position(|o| o.name == name).unwrap_or(usize::MAX);
                s.options.sort_by_key(|o| rank(&o.name));
            }
        }
    }

    /// The config module's section model, for its printers and its loader.
    pub fn document(&self) -> Document {
        Document {
            sections: self
                .sections
                .iter()
                .map(|s| sections::Section {
                    name: s.name.clone(),
                    kind: s.kind.to_owned(),
                    line: 0,
                    options: s
                        .options
                        .iter()
                        .map(|o| sections::Opt {
                            name: o.name.clone(),
                            values: o.values(),
                            line: 0,
                            from_list: o.list,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Section names handed out so far: keeplite has one name space for all sections, and a
/// name of letters, digits and `_`.
#[derive(Debug, Default)]
pub struct Names {
    taken: HashSet<String>,
}

impl Names {
    /// True when `name` is handed out already.
    pub fn taken(&self, name: &str) -> bool {
        self.taken.contains(name)
    }

    /// A free name made from `wanted`: other characters become `_`, a clash gets `_2`,
    /// `_3`, ...
    pub fn claim(&mut self, wanted: &str) -> String {
        let mut base: String =
            wanted.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
        if base.is_empty() {
            base.push('x');
        }
        if base == "keeplite" {
            base.push_str("_1");
        }
        base.truncate(limits::NAME_BYTES);
        let mut name = base.clone();
        let mut n = 2;
        while self.taken.contains(&name) {
            let suffix = format!("_{n}");
            let mut b = base.clone();
            b.truncate(limits::NAME_BYTES - suffix.len());
            name = format!("{b}{suffix}");
            n += 1;
        }
        self.taken.insert(name.clone());
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_words_and_unique() {
        let mut n = Names::default();
        assert_eq!(n.claim("VI_1"), "VI_1");
        assert_eq!(n.claim("VI_1"), "VI_1_2");
        assert_eq!(n.claim("vrrp4.0.0.1"), "vrrp4_0_0_1");
        assert_eq!(n.claim(""), "x");
        assert_eq!(n.claim("keeplite"), "keeplite_1");
        let long = "a".repeat(80);
        let first = n.claim(&long);
        let second = n.claim(&long);
        assert_eq!(first.len(), 64);
        assert_eq!(second.len(), 64);
        assert_ne!(first, second);
    }
}
