//! `keeplite import`: a keepalived.conf read with keepalived's own grammar and written out
//! as keeplite configuration, with every keyword that cannot be carried over reported.
//!
//! The stages, each pure and tested on its own: [`reader`] turns files into keepalived's
//! lines (includes, conditions, parameters, repetitions), [`tree`] into blocks, `convert`
//! into keeplite sections, and `verify` reads the result back with keeplite's own loader,
//! so that what is printed always loads.

mod convert;
pub mod files;
mod glob;
pub mod out;
mod params;
pub mod reader;
pub mod report;
mod sequence;
#[cfg(test)]
mod tests;
pub mod tree;
mod verify;
mod words;

pub use convert::MAPPED;
use report::{Report, Reports};

/// The result of an import: the configuration, and what it could not carry.
#[derive(Debug)]
pub struct Imported {
    pub output: out::Output,
    /// Sorted by file and line.
    pub reports: Vec<Report>,
}

/// Imports the keepalived configuration `path` (and what it includes), with `instance` as
/// the configuration id for `@` lines and `${_INSTANCE}`. Only an unreadable `path` is an
/// error; everything else is carried over or reported.
pub fn import(path: &str, instance: &str, files: &dyn files::Files) -> Result<Imported, String> {
    let mut reports = Reports::default();
    let lines = reader::read(path, instance, files, &mut reports).map_err(|e| e.0)?;
    let nodes = tree::build(lines, &mut reports);
    let mut output = convert::convert(&nodes, &mut reports);
    output.order_options();
    verify::verify(&mut output, &mut reports);
    Ok(Imported { output, reports: reports.sorted() })
}

/// keepalived's default configuration id: the host name up to its first dot.
pub fn default_instance(hostname: &str) -> String {
    hostname.trim().split('.').next().unwrap_or_default().to_owned()
}
