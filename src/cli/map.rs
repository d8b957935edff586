//! `reverie map`: print the repo map of a folder within a token budget.

use super::Cli;
use crate::graph::{self, Focus};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct MapArgs {
    /// The folder to map.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The most tokens the map may take (estimated at 3.5 characters per token).
    #[arg(long, default_value_t = 1024, value_name = "TOKENS")]
    pub budget: usize,
    /// Personalize the map to this file (repeatable), e.g. the files you are working on.
    #[arg(long, value_name = "FILE")]
    pub focus: Vec<PathBuf>,
    /// Personalize the map to this identifier (repeatable).
    #[arg(long = "ident", value_name = "NAME")]
    pub identifiers: Vec<String>,
}

pub fn run(cli: &Cli, args: &MapArgs) -> Result<()> {
    let root = super::workspace_root(&args.path)?;
    let config = super::load_config(&root);
    let roots = vec![root.clone()];
    let store = super::open_store(cli, &roots)?;
    super::index::index_with_progress(&store, &roots, &config)?;

    let known = crate::index::known_keys(&store)?;
    let mut focus = Focus { files: Vec::new(), identifiers: args.identifiers.clone() };
    for file in &args.focus {
        let absolute = file
            .canonicalize()
            .or_else(|_| root.join(file).canonicalize())
            .with_context(|| format!("--focus {}: no such file", file.display()))?;
        let key = crate::workspace::key_for(&root, None, &absolute);
        anyhow::ensure!(
            known.contains(&key),
            "--focus {}: not an indexed source file of {} (ignored, skipped or not a supported language)",
            file.display(),
            root.display()
        );
        focus.files.push(key);
    }

    let facts = crate::index::all_facts(&store)?;
    let files: Vec<graph::GraphFile> = facts.iter().map(|(k, f)| (k.as_str(), f)).collect();
    let file_graph = graph::build(&files);
    let ranking = graph::rank(&file_graph, &focus);
    let map = graph::render_repo_map(&files, &ranking, args.budget);
    if map.text.is_empty() {
        eprintln!(
            "reverie: nothing to map (no definitions found, or --budget {} is too small for one line)",
            args.budget
        );
    }
    print!("{}", map.text);
    Ok(())
}
