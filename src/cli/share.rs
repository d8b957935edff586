//! `reverie share push|pull`: the idle work shared through the workspace's git remote (`share`).
//! Both refresh the index first (what is pushed and what a pull accepts are the current files'
//! definitions) and load the configured embedder (its model id keys the vectors); a pull mines the
//! history's new commits too (a shared adapter is checked against the pairs it gives). A pull's run is
//! kept for `reverie status` (the `share` job). Text prints a summary line, `--format json` the report.

use super::{Cli, Format, human_bytes, thousands};
use crate::jobs::{Job, JobRun, JobStore};
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ShareArgs {
    #[command(subcommand)]
    pub action: ShareAction,
}

#[derive(Subcommand, Debug)]
pub enum ShareAction {
    /// Publish the semantic index's vectors and the fresh notes to the git remote, under
    /// refs/reverie/ (branches, tags and the working tree are never touched; secret-looking files
    /// are left out, notes redacted).
    Push(ShareTarget),
    /// Fetch what was shared on the git remote and import the notes and vectors written for content
    /// that is the same here (each part checked: format, embedder, size, digest, keys).
    Pull(ShareTarget),
}

#[derive(Args, Debug)]
pub struct ShareTarget {
    /// The workspace folder (inside a git repository).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The git remote [default: [share] remote in reverie.toml, else origin].
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(cli: &Cli, args: &ShareArgs) -> Result<()> {
    let (ShareAction::Push(target) | ShareAction::Pull(target)) = &args.action;
    let root = super::workspace_root(&target.path)?;
    let config = super::load_config(&root);
    let remote = target.remote.clone().or(config.share.remote.clone()).unwrap_or_else(|| "origin".into());
    let git = crate::git::Git::default();
    crate::share::check_remote(&git, &root, &remote)?;
    let roots = vec![root.clone()];
    let store = super::open_store(cli, &roots)?;
    super::index::index_with_progress(&store, &roots, &config)?;
    let snapshot = crate::index::snapshot(&store)?;
    let Some(embedder) = super::semantic::embedder(cli, &config) else {
        bail!("no embedder ([embed] provider = \"none\", or its model is missing): there are no vectors to share");
    };
    let model_id = embedder.model_id();
    match &args.action {
        ShareAction::Push(_) => {
            let report = crate::share::push(&store, &git, &root, &snapshot, &model_id, &remote)?;
            match target.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Text => {
                    println!(
                        "share: pushed {} vectors of {} files ({}, {} shards) to {} {} in {:.1} s",
                        thousands(report.vectors),
                        thousands(report.files as u64),
                        human_bytes(report.bytes),
                        report.shards,
                        report.remote,
                        report.reference,
                        report.seconds
                    );
                    if let Some(reference) = &report.adapter_reference {
                        println!("  and the adapter's trained map to {reference}");
                    }
                    if let Some(reference) = &report.notes_reference {
                        println!(
                            "  and {} notes to {reference} ({} of the vectors are their passages')",
                            thousands(report.notes),
                            thousands(report.passages)
                        );
                    }
                    if report.missing > 0 {
                        println!(
                            "  {} definitions have no vector yet (`reverie think` embeds them)",
                            thousands(report.missing)
                        );
                    }
                    if report.secret_files > 0 {
                        println!("  {} secret-looking files left out", report.secret_files);
                    }
                }
            }
            Ok(())
        }
        ShareAction::Pull(_) => {
            // The adapter is checked against the pairs the history gives: mine what is new first.
            super::think::mine_history(&store, &roots, &snapshot)?;
            let report = crate::share::pull(&store, &git, &root, &snapshot, &model_id, &remote, &|| false)?;
            let outcome = match (&report.note, report.rejected.len()) {
                (_, 0) => report.note.clone().unwrap_or_else(|| "done".into()),
                (_, n) => format!("{n} rejected"),
            };
            store.put_job_run(
                Job::Share,
                &JobRun::ended_now(report.seconds, report.imported, report.missing, outcome),
            )?;
            match target.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Text => {
                    match &report.note {
                        Some(note) => println!("share: {note} ({} {})", report.remote, report.reference),
                        None => println!(
                            "share: imported {} of {} shared vectors from {} {} ({} read) in {:.1} s; {} here already, {} for other file versions",
                            thousands(report.imported),
                            thousands(report.offered),
                            report.remote,
                            report.reference,
                            human_bytes(report.bytes),
                            report.seconds,
                            thousands(report.already),
                            thousands(report.unmatched)
                        ),
                    }
                    if report.notes_offered > 0 {
                        println!(
                            "  notes: imported {} of {} shared (the others were written for other content, or are fresh here)",
                            thousands(report.notes_imported),
                            thousands(report.notes_offered)
                        );
                    }
                    if let Some(adapter) = &report.adapter {
                        println!("  adapter: {adapter}");
                    }
                    if report.missing > 0 {
                        println!(
                            "  {} definitions and passages here still have no vector (`reverie think` embeds them)",
                            thousands(report.missing)
                        );
                    }
                    for rejected in &report.rejected {
                        println!("  rejected: {rejected}");
                    }
                }
            }
            if !report.rejected.is_empty() {
                bail!(
                    "{} part(s) of the share on {} were rejected (see above); what was stored is kept",
                    report.rejected.len(),
                    report.remote
                );
            }
            Ok(())
        }
    }
}
