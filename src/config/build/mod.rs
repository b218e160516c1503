//! Turns the untyped sections into a typed [`Config`], reporting every problem found.

mod auth_hmac;
mod check;
mod global;
mod kinds;
mod lvs;
mod reader;
mod routing;
mod vip;
mod vrrp;

use super::diag::{At, Diagnostics};
use super::model::Config;
use super::sections::Document;
use super::{schema, suggest};
use crate::limits;
pub use reader::Names;
use reader::Reader;

/// What the file cannot say but defaults need: facts about the machine, read by the shell.
#[derive(Debug, Clone)]
pub struct Host {
    /// Default `router_id`, `smtp_helo_name` and `smtp_from` domain (keepalived's choice).
    pub hostname: String,
}

/// One table of sections while building: the typed value (if the section read cleanly)
/// next to its section, so that cross-section checks can name lines.
pub struct Table<'a, T> {
    pub items: Vec<(Option<T>, &'a super::sections::Section)>,
}

impl<'a, T> Table<'a, T> {
    /// The sections whose typed value was built.
    pub fn valid(&self) -> impl Iterator<Item = (usize, &T, &'a super::sections::Section)> + '_ {
        self.items.iter().enumerate().filter_map(|(i, (t, s))| t.as_ref().map(|t| (i, t, *s)))
    }

    /// Typed value at `index`, if it was built.
    pub fn get(&self, index: usize) -> Option<&T> {
        self.items.get(index).and_then(|(t, _)| t.as_ref())
    }
}

/// Everything built from a document, valid or not, for the cross-section checks.
pub struct Built<'a> {
    pub global: Option<super::model::Global>,
    pub vrrp: Table<'a, super::model::Vrrp>,
    pub sync_groups: Table<'a, super::model::SyncGroup>,
    pub scripts: Table<'a, super::model::Script>,
    pub virtual_servers: Table<'a, super::model::VirtualServer>,
    pub real_servers: Table<'a, super::model::RealServer>,
    pub checks: Table<'a, super::model::Check>,
    pub routes: Table<'a, super::model::Route>,
    pub rules: Table<'a, super::model::Rule>,
}

impl Built<'_> {
    /// The finished configuration, when every section was built.
    pub fn finish(self) -> Option<Config> {
        fn all<T>(t: Table<'_, T>) -> Option<Box<[T]>> {
            t.items.into_iter().map(|(v, _)| v).collect::<Option<Vec<T>>>().map(Vec::into_boxed_slice)
        }
        Some(Config {
            global: self.global?,
            vrrp: all(self.vrrp)?,
            sync_groups: all(self.sync_groups)?,
            scripts: all(self.scripts)?,
            virtual_servers: all(self.virtual_servers)?,
            real_servers: all(self.real_servers)?,
            checks: all(self.checks)?,
            routes: all(self.routes)?,
            rules: all(self.rules)?,
        })
    }
}

/// Builds every section of `doc`; problems go to `diags`.
pub fn build<'a>(doc: &'a Document, host: &Host, diags: &mut Diagnostics) -> Built<'a> {
    check_schema(doc, diags);
    check_capacities(doc, diags);
    let names = Names { sections: &doc.sections };

    let scripts = table(doc, "script", diags, vrrp::script);
    let vrrp = table(doc, "vrrp", diags, |r| vrrp::instance(r, &names));
    let sync_groups = table(doc, "sync_group", diags, |r| vrrp::sync_group(r, &names));
    let checks = table(doc, "check", diags, |r| check::check(r, host));
    let virtual_servers = table(doc, "virtual_server", diags, lvs::virtual_server);
    let real_servers = table(doc, "real_server", diags, |r| lvs::real_server(r, &names));
    let routes = table(doc, "route", diags, |r| routing::route(r, &names));
    let rules = table(doc, "rule", diags, |r| routing::rule(r, &names));

    let globals: Vec<_> = doc.sections.iter().filter(|s| s.kind == "global").collect();
    for extra in globals.iter().skip(1) {
        diags.error(
            At::section(extra.line, &extra.name),
            "a second global section",
            format!("one global section (the first is on line {})", globals[0].line),
        );
    }
    let global = match globals.first() {
        Some(s) => {
            let mut r = Reader::new(s, diags);
            global::global(&mut r, host, &names, &vrrp).filter(|_| r.ok)
        }
        None => Some(global::defaults(host)),
    };
    Built { global, vrrp, sync_groups, scripts, virtual_servers, real_servers, checks, routes, rules }
}

/// Reads every section of type `kind` with `read`.
fn table<'a, T>(
    doc: &'a Document,
    kind: &str,
    diags: &mut Diagnostics,
    mut read: impl FnMut(&mut Reader<'a, '_>) -> Option<T>,
) -> Table<'a, T> {
    let mut items = Vec::new();
    for section in doc.sections.iter().filter(|s| s.kind == kind) {
        let mut r = Reader::new(section, diags);
        let value = read(&mut r);
        items.push((value.filter(|_| r.ok), section));
    }
    Table { items }
}

/// Unknown section types and options, and options given the wrong number of values.
fn check_schema(doc: &Document, diags: &mut Diagnostics) {
    for section in &doc.sections {
        let Some(spec) = schema::section(&section.kind) else {
            let mut what = format!("unknown section type '{}'", section.kind);
            if let Some(near) = suggest::closest(&section.kind, schema::SECTIONS.iter().map(|s| s.kind)) {
                what.push_str(&format!(" (did you mean '{near}'?)"));
            }
            let kinds: Vec<&str> = schema::SECTIONS.iter().map(|s| s.kind).collect();
            diags.error(At::section(section.line, &section.name), what, kinds.join(", "));
            continue;
        };
        for opt in &section.options {
            let at = At::option(opt.line, &section.name, &opt.name);
            match spec.option(&opt.name) {
                None => {
                    let mut what = format!("unknown option for a {} section", spec.kind);
                    if let Some(near) = suggest::closest(&opt.name, spec.options.iter().map(|o| o.name)) {
                        what.push_str(&format!(" (did you mean '{near}'?)"));
                    }
                    diags.error_plain(at, what);
                }
                Some(o) if !o.list && opt.from_list => {
                    diags.error(at, "is not a list", format!("option {} 'value'", opt.name));
                }
                // No values: the reader refused the line and said why.
                Some(o) if !o.list && opt.values.len() > 1 => {
                    diags.error(at, format!("takes one value, got {}", opt.values.len()), "one quoted value");
                }
                Some(_) => {}
            }
        }
    }
}

/// Section counts against their limits; the error is on the first section past the limit.
fn check_capacities(doc: &Document, diags: &mut Diagnostics) {
    for (kind, limit, name) in limits::SECTIONS {
        if let Some(over) = doc.sections.iter().filter(|s| s.kind == kind).nth(limit) {
            diags.error(
                At::section(over.line, &over.name),
                format!("too many {kind} sections"),
                format!("at most {limit} (limits::{name})"),
            );
        }
    }
}
