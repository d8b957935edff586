//! `reverie index`: refresh the index of a folder and summarize it.

use super::{Cli, Format, files_line, human_bytes, thousands};
use crate::index::{IndexReport, Mode, Progress};
use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct IndexArgs {
    /// The folder to index.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Skip files larger than this (bytes, or with a unit: 512KiB, 2MiB) [default: index.max_file_size, 1MiB].
    #[arg(long, value_name = "SIZE", value_parser = crate::units::parse_byte_size)]
    pub max_file_size: Option<u64>,
}

pub fn run(cli: &Cli, args: &IndexArgs) -> Result<()> {
    let root = super::workspace_root(&args.path)?;
    let mut config = super::load_config(&root);
    if let Some(size) = args.max_file_size {
        config.index.max_file_size = size;
    }
    let roots = vec![root];
    let store = super::open_store(cli, &roots)?;
    let report = index_with_progress(&store, &roots, &config)?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print!("{}", render(&report, &store)),
    }
    Ok(())
}

/// Runs the index with a progress bar on stderr when it is a terminal.
pub(super) fn index_with_progress(
    store: &crate::store::Store,
    roots: &[PathBuf],
    config: &crate::config::Config,
) -> Result<IndexReport> {
    let bar = ProgressBar::hidden();
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<10} [{bar:30}] {pos}/{len} files  {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let progress = |event: Progress| match event {
        Progress::Walked { files } => {
            bar.set_length(files as u64);
            bar.set_message("checking");
        }
        Progress::Checked { done, total, .. } => {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            bar.set_message("parsing");
        }
        Progress::Ranking => bar.set_message("ranking"),
    };
    let report = crate::index::index(store, roots, &config.index.walk_options(), Mode::Incremental, &progress);
    bar.finish_and_clear();
    report
}

fn render(report: &IndexReport, store: &crate::store::Store) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let secs = report.elapsed_ms / 1000.0;
    let _ = writeln!(out, "Indexed {} in {:.2} s", report.roots.join(", "), secs);
    let _ = writeln!(out, "  {}", files_line(report.files, report.bytes, &report.files_by_language));
    let rate = if secs > 0.0 { report.parsed_bytes as f64 / 1e6 / secs } else { 0.0 };
    let _ = writeln!(
        out,
        "  parsed {} ({}, {:.1} MB/s) · re-hashed {} · unchanged {} · removed {}",
        thousands(report.parsed as u64),
        human_bytes(report.parsed_bytes),
        rate,
        thousands(report.rehashed as u64),
        thousands(report.unchanged as u64),
        thousands(report.removed as u64)
    );
    let _ = writeln!(
        out,
        "  {} definitions · {} references · {} graph edges{}",
        thousands(report.definitions),
        thousands(report.references),
        thousands(report.graph_edges),
        if report.graph_rebuilt { " (re-ranked)" } else { "" }
    );
    if !report.skipped.is_empty() {
        let _ = writeln!(out, "  skipped {}:", report.skipped.len());
        for skip in &report.skipped {
            let _ = writeln!(out, "    {}  {}", skip.key, skip.reason);
        }
    }
    let _ = writeln!(out, "  store: {} ({})", store.path().display(), human_bytes(store.size_on_disk()));
    out
}
