//! reverie: a language server that thinks about your codebase while the editor is idle.
//!
//! Modules in reading order; the layering and its invariants are in the README.

pub mod hash;
pub mod tokens;
pub mod syntax;
pub mod graph;
pub mod workspace;
pub mod store;
pub mod config;
pub mod index;
pub mod cli;
