//! `reverie facts FILE`: the facts of one file, as reverie sees them (no cache involved).

use super::Format;
use crate::syntax::{Language, extract, render_facts};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct FactsArgs {
    /// The source file.
    pub file: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(args: &FactsArgs) -> Result<()> {
    let language = Language::from_path(&args.file).with_context(|| {
        let titles: Vec<&str> = Language::ALL.iter().map(|l| l.spec().title).filter(|t| !t.is_empty()).collect();
        format!("{}: not a file reverie keeps (it parses {})", args.file.display(), titles.join(", "))
    })?;
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let facts = extract(&bytes, language);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&facts)?),
        Format::Text => print!("{}", render_facts(&facts)),
    }
    Ok(())
}
