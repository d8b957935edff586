//! What to think about first, and whether the budget allows it. Pure decisions.
//!
//! Priority = predicted value × staleness / cost. Value estimates how likely the user is to ask about
//! a note's subject, from proxies: files open in the editor, recently edited, named in past
//! questions, churned in git history, and central in the reference graph (PageRank, scaled by the
//! file's prior, so the project's own code comes before its tests and docs). A missing
//! note is worth more than a stale one. Children come before parents regardless of priority.

use super::note::NoteKind;
use super::plan::Job;
use crate::snapshot::Snapshot;
use std::collections::{HashMap, HashSet};

/// Signals about what the user cares about, gathered by the caller.
#[derive(Clone, Debug, Default)]
pub struct Signals {
    pub open_files: HashSet<String>,
    /// Last edit time per file, ns since the epoch.
    pub edited_at_ns: HashMap<String, u64>,
    /// How many past questions named or cited each file.
    pub asked_about: HashMap<String, u32>,
    /// Commits touching each file (recent git history), when the workspace is a git repository.
    pub churn: HashMap<String, u32>,
    pub now_ns: u64,
}

/// How a job's note stands in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Missing,
    Stale,
    Fresh,
}

/// The predicted value of a note about `subject` (a file, or a directory for module notes).
pub fn value(job: &Job, snapshot: &Snapshot, signals: &Signals) -> f64 {
    let kind_weight = match job.kind {
        NoteKind::FileSummary => 1.0,
        NoteKind::Questions => 0.8,
        NoteKind::Playbook => 0.6,
        NoteKind::ModuleSummary => 0.5,
        NoteKind::Overview => 2.0,
    };
    let files: Vec<&str> = if job.kind.is_file_level() {
        vec![job.subject.as_str()]
    } else {
        let prefix = if job.subject.is_empty() { String::new() } else { format!("{}/", job.subject) };
        snapshot.files.keys().map(|k| &**k).filter(|k| k.starts_with(&prefix)).collect()
    };
    let n = snapshot.files.len().max(1) as f64;
    let mut value: f64 = 0.0;
    for file in &files {
        // 1 on average, central files more; tests, fixtures and docs count half (`search::file_weight`).
        let mut v = (1.0 + snapshot.file_rank(file) * n) * crate::search::file_weight(file);
        if signals.open_files.contains(*file) {
            v += 5.0;
        }
        if let Some(&at) = signals.edited_at_ns.get(*file) {
            let hours = signals.now_ns.saturating_sub(at) as f64 / 3.6e12;
            v += 3.0 * (-hours / 24.0).exp();
        }
        v += 2.0 * f64::from(*signals.asked_about.get(*file).unwrap_or(&0)).sqrt();
        v += f64::from(*signals.churn.get(*file).unwrap_or(&0)).ln_1p();
        value = value.max(v);
    }
    kind_weight * value
}

/// Jobs that need doing (missing or stale notes), best first, with every job after the jobs it
/// must follow. `cost` estimates a job's tokens.
pub fn order(
    jobs: Vec<Job>,
    standing: &dyn Fn(&Job) -> Standing,
    snapshot: &Snapshot,
    signals: &Signals,
    cost: &dyn Fn(&Job) -> f64,
) -> Vec<(Job, f64)> {
    let mut todo: Vec<(Job, f64)> = jobs
        .into_iter()
        .filter_map(|job| {
            let staleness = match standing(&job) {
                Standing::Missing => 1.0,
                Standing::Stale => 0.7,
                Standing::Fresh => return None,
            };
            let priority = value(&job, snapshot, signals) * staleness / cost(&job).max(1.0);
            Some((job, priority))
        })
        .collect();
    todo.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| (a.0.kind, &a.0.subject).cmp(&(b.0.kind, &b.0.subject))));
    // Parents wait for their children: emit a job only once every job it follows has been emitted.
    let pending: HashSet<(NoteKind, String)> = todo.iter().map(|(j, _)| (j.kind, j.subject.clone())).collect();
    let mut emitted: HashSet<(NoteKind, String)> = HashSet::new();
    let mut out = Vec::with_capacity(todo.len());
    let mut waiting = todo;
    while !waiting.is_empty() {
        let before = out.len();
        let mut still = Vec::new();
        for (job, priority) in waiting {
            let ready = job.after.iter().all(|dep| !pending.contains(dep) || emitted.contains(dep));
            if ready {
                emitted.insert((job.kind, job.subject.clone()));
                out.push((job, priority));
            } else {
                still.push((job, priority));
            }
        }
        waiting = still;
        if out.len() == before {
            // A cycle cannot happen with a directory tree; emit the rest rather than loop.
            out.append(&mut waiting);
        }
    }
    out
}

/// Token budgets per hour and per day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub tokens_per_hour: u64,
    pub tokens_per_day: u64,
}

impl Budget {
    /// Whether a job estimated at `tokens` fits, given what was spent in the last hour and day.
    pub fn allows(&self, spent_last_hour: u64, spent_last_day: u64, tokens: u64) -> bool {
        spent_last_hour + tokens <= self.tokens_per_hour && spent_last_day + tokens <= self.tokens_per_day
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Digest;

    fn job(kind: NoteKind, subject: &str, after: &[(NoteKind, &str)]) -> Job {
        Job {
            kind,
            subject: subject.into(),
            inputs: vec![],
            key: Digest::of(subject.as_bytes()),
            after: after.iter().map(|(k, s)| (*k, s.to_string())).collect(),
        }
    }

    #[test]
    fn children_come_before_parents_and_fresh_notes_are_skipped() {
        let snapshot = Snapshot::default();
        let jobs = vec![
            job(NoteKind::Overview, "", &[(NoteKind::ModuleSummary, "")]),
            job(NoteKind::ModuleSummary, "", &[(NoteKind::FileSummary, "a.py"), (NoteKind::FileSummary, "b.py")]),
            job(NoteKind::FileSummary, "a.py", &[]),
            job(NoteKind::FileSummary, "b.py", &[]),
        ];
        let standing = |j: &Job| if j.subject == "b.py" { Standing::Fresh } else { Standing::Missing };
        let ordered = order(jobs, &standing, &snapshot, &Signals::default(), &|_| 100.0);
        let names: Vec<String> = ordered.iter().map(|(j, _)| format!("{} {}", j.kind.name(), j.subject)).collect();
        assert_eq!(names, ["summary a.py", "module ", "overview "]);
    }

    #[test]
    fn open_and_asked_files_come_first() {
        let snapshot = Snapshot::default();
        let jobs = vec![
            job(NoteKind::FileSummary, "a.py", &[]),
            job(NoteKind::FileSummary, "b.py", &[]),
            job(NoteKind::FileSummary, "c.py", &[]),
        ];
        let mut signals = Signals::default();
        signals.open_files.insert("c.py".into());
        signals.asked_about.insert("b.py".into(), 1);
        let ordered = order(jobs, &|_| Standing::Missing, &snapshot, &signals, &|_| 100.0);
        let names: Vec<&str> = ordered.iter().map(|(j, _)| j.subject.as_str()).collect();
        assert_eq!(names, ["c.py", "b.py", "a.py"]);
    }

    #[test]
    fn budgets_cap_spending() {
        let budget = Budget { tokens_per_hour: 1000, tokens_per_day: 5000 };
        assert!(budget.allows(0, 0, 1000));
        assert!(!budget.allows(900, 900, 200));
        assert!(!budget.allows(0, 4900, 200));
    }
}
