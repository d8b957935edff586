//! The idle jobs and their last runs: what `reverie status` (and the server's `reverie/status`)
//! shows for each piece of idle work — the vectors pulled from the team's remote, the semantic index, the history, the adapter, the notes.
//!
//! One small record per job (`JobRun`, JSON in the store's `idle-jobs` tree, replaced by each run):
//! when it ended, how long it took, how many items it has done and how many are left, and how it
//! ended (`done`, `cancelled`, or why it stopped). Nothing else is kept: the figures of older runs
//! are not history anyone reads.

use crate::store::{RecordTree, Store};
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// The idle jobs, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Job {
    /// Embedding definitions and note passages (`embed`).
    Semantic,
    /// Mining the project's history (`history`).
    History,
    /// Fitting the semantic space to the project (`embed::adapter`).
    Adapter,
    /// Writing notes with a chat model (`sleep`).
    Notes,
    /// Pulling what a teammate or CI shared through the git remote (`share`).
    Share,
}

impl Job {
    pub const ALL: [Job; 5] = [Job::Share, Job::Semantic, Job::History, Job::Adapter, Job::Notes];

    pub fn name(self) -> &'static str {
        match self {
            Job::Semantic => "semantic",
            Job::History => "history",
            Job::Adapter => "adapter",
            Job::Notes => "notes",
            Job::Share => "share",
        }
    }
}

/// A job's last run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobRun {
    /// When it ended, in nanoseconds since the Unix epoch.
    pub at_ns: u64,
    /// How long it ran.
    pub seconds: f64,
    /// Items it holds when it ended (definitions embedded, commits mined, notes fresh).
    pub done: u64,
    /// Items left for a later run.
    pub pending: u64,
    /// `done`, `cancelled`, or why it stopped (`git was not found …`).
    pub outcome: String,
}

impl JobRun {
    /// A run that ends now.
    pub fn ended_now(seconds: f64, done: u64, pending: u64, outcome: impl Into<String>) -> JobRun {
        let at_ns =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        JobRun { at_ns, seconds, done, pending, outcome: outcome.into() }
    }
}

/// The last runs in the store (the store keeps their JSON; this is its typed view).
pub trait JobStore {
    fn put_job_run(&self, job: Job, run: &JobRun) -> Result<()>;
    fn job_run(&self, job: Job) -> Result<Option<JobRun>>;
}

impl JobStore for Store {
    fn put_job_run(&self, job: Job, run: &JobRun) -> Result<()> {
        self.put_record(RecordTree::IdleJobs, job.name().as_bytes(), run)
    }

    fn job_run(&self, job: Job) -> Result<Option<JobRun>> {
        self.get_record(RecordTree::IdleJobs, job.name().as_bytes())
    }
}

/// The last run of each job that ever ran, by job name (a job whose run cannot be read is left out).
pub fn last_runs(store: &Store) -> std::collections::BTreeMap<String, JobRun> {
    Job::ALL.iter().filter_map(|job| Some((job.name().to_string(), store.job_run(*job).ok()??))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_run_replaces_the_one_before() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path()).unwrap();
        assert_eq!(store.job_run(Job::History).unwrap(), None);
        store.put_job_run(Job::History, &JobRun::ended_now(1.5, 10, 2, "cancelled")).unwrap();
        store.put_job_run(Job::History, &JobRun::ended_now(0.5, 12, 0, "done")).unwrap();
        let run = store.job_run(Job::History).unwrap().unwrap();
        assert_eq!((run.done, run.pending, run.outcome.as_str()), (12, 0, "done"));
        assert_eq!(store.job_run(Job::Semantic).unwrap(), None);
    }
}
