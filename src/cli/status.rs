//! `reverie status`: what the cache holds for a folder, without changing it.

use super::{Cli, Format, files_line, human_bytes, thousands};
use crate::ledger::LedgerStore;
use crate::sleep::NoteStore;
use anyhow::Result;
use clap::Args;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The folder whose cache to describe.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Serialize)]
struct Status {
    root: String,
    store: String,
    indexed: bool,
    schema: u32,
    store_bytes: u64,
    files: usize,
    files_by_language: BTreeMap<String, usize>,
    bytes: u64,
    definitions: u64,
    references: u64,
    distinct_facts: usize,
    graph_edges: u64,
    top_files: Vec<(String, f64)>,
    skipped: Vec<crate::workspace::Skipped>,
    /// Notes for the configured model: fresh, stale, missing, failed.
    notes: Option<crate::sleep::NoteCounts>,
    /// Every note stored, whatever model wrote it.
    notes_stored: usize,
    ledger: crate::ledger::Totals,
    /// Each idle job's last run (`jobs::JobRun`: done, pending, seconds, outcome), `null` if never.
    idle_jobs: BTreeMap<&'static str, Option<crate::jobs::JobRun>>,
}

pub fn run(cli: &Cli, args: &StatusArgs) -> Result<()> {
    let root = super::workspace_root(&args.path)?;
    let roots = vec![root.clone()];
    let dir = super::store_dir(cli, &roots)?;
    let mut status = Status {
        root: root.display().to_string(),
        store: dir.display().to_string(),
        indexed: false,
        schema: crate::store::SCHEMA_VERSION,
        store_bytes: 0,
        files: 0,
        files_by_language: BTreeMap::new(),
        bytes: 0,
        definitions: 0,
        references: 0,
        distinct_facts: 0,
        graph_edges: 0,
        top_files: Vec::new(),
        skipped: Vec::new(),
        notes: None,
        notes_stored: 0,
        ledger: crate::ledger::Totals::default(),
        idle_jobs: crate::jobs::Job::ALL.iter().map(|job| (job.name(), None)).collect(),
    };
    if dir.exists() {
        let store = super::open_store(cli, &roots)?;
        let records = store.file_records()?;
        status.indexed = !records.is_empty() || !store.skipped()?.is_empty();
        status.files = records.len();
        for (_, record) in &records {
            *status.files_by_language.entry(record.language.name().to_string()).or_insert(0) += 1;
            status.bytes += record.size;
            status.definitions += u64::from(record.definitions);
            status.references += u64::from(record.references);
        }
        status.distinct_facts = store.facts_count();
        let graph = store.graph()?;
        status.graph_edges = graph.edges;
        status.top_files = graph.file_ranks.into_iter().take(10).collect();
        status.skipped = store.skipped()?;
        status.store_bytes = store.size_on_disk();
        status.notes_stored = store.notes()?.len();
        status.ledger = crate::ledger::totals(&store.ledger(0)?);
        for job in crate::jobs::Job::ALL {
            status.idle_jobs.insert(job.name(), crate::jobs::JobStore::job_run(&store, job)?);
        }
        let config = super::load_config(&root);
        if let Ok(Some(provider)) = crate::llm::from_config(&config.llm) {
            let facts = crate::index::all_facts(&store)?;
            let files = facts
                .into_iter()
                .map(|(k, f)| (std::sync::Arc::<str>::from(k.as_str()), std::sync::Arc::new(f)))
                .collect();
            let snapshot = crate::snapshot::Snapshot::new(files);
            let model = crate::sleep::model_id(Some(provider.as_ref() as &dyn crate::llm::Provider));
            status.notes = Some(crate::sleep::note_counts(&store, &snapshot, &model, &config.sleep.kinds()));
        }
    }
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&status)?),
        Format::Text => print!("{}", render(&status)),
    }
    Ok(())
}

/// A job's last run in a line: `done 31,278 commits · pending 0 · last run 41.2 s (done)`.
fn job_line(job: crate::jobs::Job, run: Option<crate::jobs::JobRun>) -> String {
    let Some(run) = run else {
        return match job {
            crate::jobs::Job::Notes => "never run (needs a chat model: [llm] in reverie.toml)".into(),
            crate::jobs::Job::Share => "never run (`reverie share pull`, or the server with [share] remote)".into(),
            _ => "never run (`reverie think`, or the server while you are idle)".into(),
        };
    };
    let unit = match job {
        crate::jobs::Job::Semantic => "files",
        crate::jobs::Job::History => "commits",
        crate::jobs::Job::Adapter => "epochs",
        crate::jobs::Job::Notes => "notes",
        crate::jobs::Job::Share => "vectors pulled",
    };
    format!(
        "done {} {unit} · pending {} · last run {:.1} s ({})",
        thousands(run.done),
        thousands(run.pending),
        run.seconds,
        run.outcome
    )
}

fn render(status: &Status) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{}", status.root);
    if !status.indexed {
        let _ = writeln!(out, "  not indexed yet: run `reverie index {}`", status.root);
        return out;
    }
    let _ = writeln!(out, "  {}", files_line(status.files, status.bytes, &status.files_by_language));
    let _ = writeln!(
        out,
        "  {} definitions · {} references · {} graph edges",
        thousands(status.definitions),
        thousands(status.references),
        thousands(status.graph_edges)
    );
    if !status.top_files.is_empty() {
        let _ = writeln!(out, "  most central files:");
        for (key, rank) in &status.top_files {
            let _ = writeln!(out, "    {rank:.4}  {key}");
        }
    }
    match &status.notes {
        Some(n) => {
            let _ = writeln!(
                out,
                "  notes: {} fresh, {} stale, {} missing, {} failed",
                n.fresh, n.stale, n.missing, n.failed
            );
        }
        None => {
            let _ =
                writeln!(out, "  notes: {} stored; no model configured ([llm] in reverie.toml)", status.notes_stored);
        }
    }
    let (sleep, test) = (&status.ledger.sleep, &status.ledger.test);
    let _ = writeln!(
        out,
        "  tokens: sleep {} in {} calls · test {} in {} calls",
        thousands(sleep.tokens()),
        sleep.calls,
        thousands(test.tokens()),
        test.calls
    );
    let _ = writeln!(out, "  idle jobs:");
    for job in crate::jobs::Job::ALL {
        let _ = writeln!(
            out,
            "    {:<9} {}",
            job.name(),
            job_line(job, status.idle_jobs.get(job.name()).cloned().flatten())
        );
    }
    if status.skipped.is_empty() {
        let _ = writeln!(out, "  skipped: none");
    } else {
        let _ = writeln!(out, "  skipped {}:", status.skipped.len());
        for skip in &status.skipped {
            let _ = writeln!(out, "    {}  {}", skip.key, skip.reason);
        }
    }
    let _ = writeln!(out, "  store: {} ({}, schema {})", status.store, human_bytes(status.store_bytes), status.schema);
    out
}
