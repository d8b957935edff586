//! The server's adapter pass: once the semantic index covers the facts and the history is mined,
//! the semantic space is fitted to the project while the user is idle
//! (`crate::embed::adapter::refresh`), and the semantic index is rebuilt so that questions are
//! mapped through the map it adopted.
//!
//! Guarantees: it runs after the history and embedding passes and before the thinking pass, one at
//! a time, with zero model tokens; it runs again when the mined history changed, else at most once
//! per `RECHECK` after the facts changed (a pass over unchanged pairs does nothing but costs a read
//! of every mined commit); the user's return stops it between two batches (what was stored stays:
//! the next idle time resumes); it keeps its run for `reverie status` (the `adapter` job).

use super::pass::{PassHandle, Work};
use super::semantic::SemanticPass;
use crate::embed::adapter::AdapterReport;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Idle time after which changed facts alone fit the space again.
const RECHECK: Duration = Duration::from_secs(600);

/// The adapter pass's own state, kept by the session.
#[derive(Default)]
pub(super) struct AdapterPass {
    state: Mutex<AdapterState>,
    /// Set when the user is back: the running pass stops between two batches.
    cancel: Arc<AtomicBool>,
}

#[derive(Default)]
struct AdapterState {
    running: bool,
    /// What the last finished pass saw: mined commits, the facts' generation, and when.
    checked: Option<(usize, u64, Instant)>,
}

impl AdapterPass {
    fn lock(&self) -> MutexGuard<'_, AdapterState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The user is back: a running pass stops (what it stored is kept).
    pub(super) fn user_back(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Starts a pass when the semantic index is complete and there is something new to learn from
    /// (`commits` mined, see the module docs); returns whether one runs now (the caller starts the
    /// next pass otherwise; this one hands the idle time on when it ends).
    pub(super) fn start(self: &Arc<Self>, handle: &PassHandle, semantic: &Arc<SemanticPass>, commits: usize) -> bool {
        let (Some(store), Some(embedder)) = (handle.store(), semantic.embedder()) else { return false };
        if !semantic.is_complete(handle) {
            return false;
        }
        let generation = handle.generation();
        {
            let mut state = self.lock();
            if state.running {
                return true;
            }
            if let Some((seen, checked_generation, at)) = state.checked
                && seen == commits
                && (checked_generation == generation || at.elapsed() < RECHECK)
            {
                return false;
            }
            state.running = true;
        }
        self.cancel.store(false, Ordering::SeqCst);
        handle.working("fitting the semantic space to the project".into());
        let pass = self.clone();
        let semantic = semantic.clone();
        let handle = handle.clone();
        tokio::spawn(async move {
            let progress = handle.progress(Work::FittingSemanticSpace).await;
            let snapshot = handle.snapshot();
            let cancel = pass.cancel.clone();
            let runtime = tokio::runtime::Handle::current();
            let fitting = tokio::task::spawn_blocking(move || -> anyhow::Result<AdapterReport> {
                let commits = crate::history::stored::all_commits(&store)?;
                let cancelled = || cancel.load(Ordering::SeqCst);
                let report = runtime
                    .block_on(crate::embed::adapter::refresh(&store, &snapshot, &commits, &*embedder, &cancelled))?;
                crate::embed::adapter::record_run(&store, &embedder.model_id(), &report)?;
                Ok(report)
            })
            .await;
            let report = super::pass::joined(fitting);
            let message = match &report {
                Ok(report) => summary(report),
                Err(err) => {
                    tracing::warn!("adapter pass failed: {err}");
                    format!("adapter: {err}")
                }
            };
            tracing::info!("{message}");
            {
                let mut state = pass.lock();
                state.running = false;
                // A stopped pass is not a finished one: the next idle time continues it.
                if !matches!(&report, Ok(r) if r.cancelled) {
                    state.checked = Some((commits, generation, Instant::now()));
                }
            }
            // Questions are mapped through what was adopted (or no longer are): the index follows.
            if matches!(&report, Ok(r) if !r.unchanged && !r.cancelled) {
                semantic.rebuild_index(&handle).await;
            }
            progress.end(&message).await;
            handle.hand_on(message);
        });
        true
    }
}

/// What a pass did, in one status line.
fn summary(report: &AdapterReport) -> String {
    if report.cancelled {
        return format!("adapter: paused ({} questions embedded; resumes when idle)", report.embedded);
    }
    format!("adapter: {}", report.summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_whether_the_pass_finished() {
        let paused = AdapterReport { cancelled: true, embedded: 120, ..AdapterReport::default() };
        assert_eq!(summary(&paused), "adapter: paused (120 questions embedded; resumes when idle)");
        let done = AdapterReport { summary: "not used: too few pairs".into(), ..AdapterReport::default() };
        assert_eq!(summary(&done), "adapter: not used: too few pairs");
    }
}
