//! `keeplite import`: a keepalived.conf read with keepalived's own grammar and written out
//! as keeplite configuration, with every keyword that cannot be carried over reported.
//!
//! This part reads: [`reader`] turns files into keepalived's lines (includes, conditions,
//! parameters, repetitions), [`tree`] into blocks.

pub mod files;
pub mod glob;
pub mod params;
pub mod reader;
pub mod report;
pub mod sequence;
pub mod tree;
pub mod words;
