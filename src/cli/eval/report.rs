//! The report of `reverie eval`: what was measured where (the run's header and the workspace table),
//! then the figures `crate::eval` computes and prints. JSON is the report serialized, with the
//! figures' fields after the workspaces'.

use super::count::TOKEN_COUNTING;
use super::measure::{Gathered, WorkspaceRow};
use crate::cli::thousands;
use crate::eval::amortize::{self, WorkspaceSleep};
use crate::eval::figures;
use crate::eval::tables::Column::{Left, Right};
use crate::eval::tables::{Figures, table_row};
use serde::Serialize;
use std::collections::HashSet;
use std::fmt::Write as _;

/// Where the run's questions and workspaces came from, and what was skipped.
pub(super) struct Inputs {
    pub data: String,
    pub workspaces_dir: String,
    pub skipped: Vec<(String, usize)>,
    pub fetch_command: Option<String>,
    pub e2e_skipped: Option<String>,
    pub e2e_budget: usize,
}

#[derive(Serialize)]
pub(super) struct Report {
    data: String,
    workspaces_dir: String,
    token_counting: &'static str,
    records: usize,
    projects: usize,
    skipped: Vec<(String, usize)>,
    fetch_command: Option<String>,
    workspaces: Vec<WorkspaceRow>,
    notes_absent_in: Vec<String>,
    #[serde(flatten)]
    figures: Figures,
}

impl Report {
    pub(super) fn new(inputs: Inputs, gathered: Gathered) -> Report {
        let Gathered { scored, rows: workspaces, timings, e2e } = gathered;
        let systems = figures::systems(&scored);
        let reach = figures::reach(&scored, &systems[0].overall);
        let sleep: Vec<WorkspaceSleep> =
            workspaces.iter().map(|w| WorkspaceSleep { notes: w.notes, sleep_tokens: w.sleep_tokens }).collect();
        let figures = Figures {
            systems,
            reach,
            latency: figures::latency(&timings, &super::direct::KINDS),
            amortization: amortize::amortization(&scored, &sleep),
            e2e_skipped: inputs.e2e_skipped,
            e2e_budget: inputs.e2e_budget,
            e2e,
        };
        let notes_absent_in: Vec<String> =
            workspaces.iter().filter(|w| w.notes == 0).map(|w| w.workspace.clone()).collect();
        Report {
            data: inputs.data,
            workspaces_dir: inputs.workspaces_dir,
            token_counting: TOKEN_COUNTING,
            records: scored.len(),
            projects: scored.iter().map(|r| r.project.as_str()).collect::<HashSet<_>>().len(),
            skipped: inputs.skipped,
            fetch_command: inputs.fetch_command,
            workspaces,
            notes_absent_in,
            figures,
        }
    }

    /// The text output: the header, the workspace table, then `eval::tables`.
    pub(super) fn render(&self) -> String {
        let r = self;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "reverie eval — {} records in {} workspaces ({} projects), questions from {}",
            r.records,
            r.workspaces.len(),
            r.projects,
            r.data
        );
        let _ = writeln!(out, "Token counting: {}.", r.token_counting);
        if let Some(command) = &r.fetch_command {
            let records: usize = r.skipped.iter().map(|s| s.1).sum();
            let _ = writeln!(
                out,
                "Skipped {} workspaces not fetched ({records} records); fetch them with:\n  {command}",
                r.skipped.len()
            );
        }

        let _ = writeln!(out, "\nWorkspaces");
        let columns = [Left(22), Right(7), Right(7), Right(8), Right(11), Right(12), Right(13), Right(12)];
        let header: [&dyn std::fmt::Display; 8] = [
            &"workspace",
            &"records",
            &"files",
            &"index s",
            &"gold found",
            &"notes/fresh",
            &"anticipated",
            &"sleep tokens",
        ];
        let _ = writeln!(out, "{}", table_row(&columns, &header));
        for w in &r.workspaces {
            let (files, seconds) = (thousands(w.files as u64), format!("{:.1}", w.index_seconds));
            let (gold, notes) =
                (format!("{}/{}", w.gold_indexed, w.gold_files), format!("{}/{}", w.notes, w.fresh_notes));
            let sleep_tokens = thousands(w.sleep_tokens);
            let cells: [&dyn std::fmt::Display; 8] =
                [&w.workspace, &w.records, &files, &seconds, &gold, &notes, &w.anticipated_questions, &sleep_tokens];
            let _ = writeln!(out, "{}", table_row(&columns, &cells));
            if let Some(think) = &w.think {
                let _ = writeln!(
                    out,
                    "  {:<22} thought {:.0} s: {} stored, {} invalid, {} provider errors; {} + {} tokens{}",
                    "",
                    think.elapsed_ms / 1000.0,
                    think.stored,
                    think.invalid,
                    think.provider_errors,
                    think.prompt_tokens,
                    think.completion_tokens,
                    think.stopped.as_deref().map(|s| format!(" ({s})")).unwrap_or_default()
                );
            }
        }
        let _ = writeln!(
            out,
            "  (gold found: the records' gold files that are in the index — a miss there no system can fix)"
        );
        if r.notes_absent_in.len() == r.workspaces.len() {
            let _ = writeln!(
                out,
                "\nNOTE: no workspace has notes, so (c) facts + notes is the same ranking as (b) facts only. \
                 Run with --think (configured [llm]) or --think-local MODEL.gguf to measure learned context."
            );
        } else if !r.notes_absent_in.is_empty() {
            let _ = writeln!(out, "\nNOTE: no notes in {} — there (c) equals (b).", r.notes_absent_in.join(", "));
        }
        out.push_str(&crate::eval::tables::render(&r.figures));
        out
    }
}
