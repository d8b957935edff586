//! `reverie notes`: the learned context as markdown — what reverie thought about a folder while the
//! user was away. The overview, then each folder's summary, then each file's summary, playbook and
//! anticipated questions; a note written for code that has changed since is marked stale. Refreshes
//! the index first (staleness is judged against the code as it is now); calls no model.

use super::{Cli, Format};
use crate::answer::{LearnedContext, note_text};
use crate::sleep::{Note, NoteKind, NoteStore};
use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  reverie notes\n  reverie notes . --kind overview\n  reverie notes ~/src/project src/auth/session.py"
)]
pub struct NotesArgs {
    /// The folder whose notes to show.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Only the notes about this file or folder (a path inside PATH).
    pub file: Option<PathBuf>,
    /// Only notes of this kind (repeat for several).
    #[arg(long, value_name = "KIND", value_parser = note_kind)]
    pub kind: Vec<NoteKind>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `--kind NAME`: one of the note kinds' names.
fn note_kind(name: &str) -> Result<NoteKind, String> {
    crate::units::one_of(name, "a note kind", &NoteKind::ALL, NoteKind::name)
}

/// One note as shown.
#[derive(Debug, Serialize)]
struct Shown {
    kind: &'static str,
    /// The file or folder it is about (`""`: the workspace).
    subject: String,
    /// False when the code it was written from has changed since.
    fresh: bool,
    model: String,
    text: String,
}

pub fn run(cli: &Cli, args: &NotesArgs) -> Result<()> {
    let root = super::workspace_root(&args.path)?;
    let config = super::load_config(&root);
    let roots = vec![root.clone()];
    let store = super::open_store(cli, &roots)?;
    super::index::index_with_progress(&store, &roots, &config)?;
    let snapshot = Arc::new(crate::index::snapshot(&store)?);
    let subject = args.file.as_deref().map(|file| subject_of(&root, file)).transpose()?;
    let learned = LearnedContext::new(store.notes()?, &snapshot);
    let shown = select(&learned, subject.as_deref(), &args.kind);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&shown)?),
        Format::Text => print!("{}", render(&root, &shown, learned.notes.len())),
    }
    Ok(())
}

/// `file` as a subject key: its path inside `root`, with `/`.
fn subject_of(root: &Path, file: &Path) -> Result<String> {
    let absolute = if file.is_absolute() { file.to_path_buf() } else { std::env::current_dir()?.join(file) };
    let absolute = absolute.canonicalize().unwrap_or(absolute);
    let relative =
        absolute.strip_prefix(root).with_context(|| format!("{} is not inside {}", file.display(), root.display()))?;
    Ok(relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
}

/// The notes to show, in reading order: the overview, folders, then files (each file's summary,
/// playbook and questions together). `subject`: only notes about it or, for a folder, under it.
fn select(learned: &LearnedContext, subject: Option<&str>, kinds: &[NoteKind]) -> Vec<Shown> {
    let about = |note: &Note| match subject {
        None => true,
        Some("") => true,
        Some(subject) => {
            note.subject == subject || note.subject.strip_prefix(subject).is_some_and(|rest| rest.starts_with('/'))
        }
    };
    let mut chosen: Vec<(&Note, bool)> = learned
        .notes
        .iter()
        .zip(&learned.fresh)
        .filter(|(note, _)| about(note) && (kinds.is_empty() || kinds.contains(&note.kind)))
        .map(|(note, fresh)| (note, *fresh))
        .collect();
    let rank = |kind: NoteKind| match kind {
        NoteKind::Overview => 0,
        NoteKind::ModuleSummary => 1,
        _ => 2,
    };
    chosen.sort_by(|(a, _), (b, _)| (rank(a.kind), &a.subject, a.kind).cmp(&(rank(b.kind), &b.subject, b.kind)));
    chosen
        .into_iter()
        .map(|(note, fresh)| Shown {
            kind: note.kind.name(),
            subject: note.subject.clone(),
            fresh,
            model: format!("{}/{}", note.provider, note.model_id_tail()),
            text: note_text(note),
        })
        .collect()
}

fn heading(note: &Shown) -> String {
    let subject =
        if note.subject.is_empty() { "the workspace root".to_string() } else { format!("`{}`", note.subject) };
    match note.kind {
        "overview" => "Architecture overview".to_string(),
        "module" => format!("Folder {subject}"),
        "summary" => format!("Summary of {subject}"),
        "playbook" => format!("Debugging playbook for {subject}"),
        "questions" => format!("Anticipated questions about {subject}"),
        other => format!("{other} of {subject}"),
    }
}

fn render(root: &Path, shown: &[Shown], stored: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# What reverie learned about {}\n", root.display());
    if shown.is_empty() {
        let _ = if stored == 0 {
            writeln!(out, "No notes yet: `reverie think {}` writes them (it needs a model).", root.display())
        } else {
            writeln!(out, "No note matches ({stored} stored; `reverie notes {}` lists them all).", root.display())
        };
        return out;
    }
    let stale = shown.iter().filter(|n| !n.fresh).count();
    let _ = writeln!(
        out,
        "{} notes, {stale} stale (written for code that has changed since; `reverie think` rewrites them).",
        shown.len()
    );
    for note in shown {
        let mark = if note.fresh { "" } else { " *(stale)*" };
        let _ = writeln!(out, "\n## {}{mark}\n\n{}", heading(note), note.text);
    }
    out
}
