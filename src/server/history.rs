//! The server's history pass: the project's git history mined while the user is idle
//! (`crate::history::refresh`), so the past-changes channel answers from commits up to HEAD.
//!
//! Guarantees: it runs first of the idle passes (a pass with nothing new costs a `git rev-parse`
//! and a store read), at most once per change of the facts or per `RECHECK` of idle time (a commit
//! changes no file the watcher sees), one at a time; the user's return stops it within the miner's
//! 100 ms (`user_back` sets its cancel flag; what was mined stays and the next pass continues);
//! it reports `$/progress` as commits done/total and says in the status what it did, including the
//! miner's own lines (not a repository, shallow, capped, git missing). Only commits reachable from
//! HEAD are mined — the miner's rule.

use super::pass::{PassHandle, Progress, Work};
use crate::history::HistoryReport;
use crate::search::PastChanges;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Idle time after which HEAD is looked at again although no file changed.
const RECHECK: Duration = Duration::from_secs(60);

/// The history pass's own state, kept by the session, with the past-changes index it keeps loaded
/// for questions (read after each pass that changed the history, never on the request path).
#[derive(Default)]
pub(super) struct HistoryPass {
    state: Mutex<HistoryState>,
    /// Set when the user is back: the running miner stops.
    cancel: Arc<AtomicBool>,
    /// The mined history as the past-changes channel's index, read from the store on first use
    /// after each pass that changed it.
    past: Mutex<Option<Arc<PastChanges>>>,
}

#[derive(Default)]
struct HistoryState {
    running: bool,
    /// The snapshot generation of the last finished pass, and when it finished.
    checked: Option<(u64, Instant)>,
}

impl HistoryPass {
    fn lock(&self) -> MutexGuard<'_, HistoryState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The past-changes channel's index, if a pass loaded it (never reads the store: questions do
    /// not wait for it).
    pub(super) fn past_changes(&self) -> Option<Arc<PastChanges>> {
        self.past.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn past_loaded(&self) -> bool {
        self.past.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).is_some()
    }

    /// Reads the mined history into the past-changes index (blocking: seconds on Django's 31k
    /// commits) and swaps it in; none while nothing is mined.
    fn load_past_changes(&self, store: &crate::store::Store) {
        let past = match crate::history::load_past_changes(store) {
            Ok(past) => past,
            Err(err) => {
                tracing::warn!("could not read the mined history: {err:#}");
                return;
            }
        };
        *self.past.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = past;
    }

    /// The user is back: a running pass stops (what it mined is kept).
    pub(super) fn user_back(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Starts a pass when the facts changed or `RECHECK` has passed since the last one; returns
    /// whether one runs now (the caller starts the next pass otherwise; this one hands the idle
    /// time on when it ends).
    pub(super) fn start(self: &Arc<Self>, handle: &PassHandle) -> bool {
        let Some(store) = handle.store() else { return false };
        let generation = handle.generation();
        {
            let mut state = self.lock();
            if state.running {
                return true;
            }
            if state.checked.is_some_and(|(g, at)| g == generation && at.elapsed() < RECHECK) {
                return false;
            }
            state.running = true;
        }
        self.cancel.store(false, Ordering::SeqCst);
        handle.working("reading the project's history".into());
        let pass = self.clone();
        let handle = handle.clone();
        tokio::spawn(async move {
            let progress = handle.progress(Work::History).await;
            let (steps, mut step_receiver) = tokio::sync::mpsc::unbounded_channel::<crate::history::Progress>();
            let snapshot = handle.snapshot();
            let roots = handle.roots();
            let cancel = pass.cancel.clone();
            let mining = tokio::task::spawn_blocking(move || {
                crate::history::refresh(&store, &roots, &snapshot, &cancel, &|step| {
                    let _ = steps.send(step);
                })
            });
            tokio::pin!(mining);
            let result = loop {
                tokio::select! {
                    result = &mut mining => break result,
                    Some(step) = step_receiver.recv() => report_step(&handle, &progress, step).await,
                }
            };
            let report = super::pass::joined(result);
            let message = match &report {
                Ok(report) => summary(report),
                Err(err) => {
                    tracing::warn!("history pass failed: {err}");
                    format!("history: {err}")
                }
            };
            tracing::info!("{message}");
            {
                let mut state = pass.lock();
                state.running = false;
                // A stopped pass is not a finished one: the next idle time continues it.
                if !matches!(&report, Ok(r) if r.cancelled) {
                    state.checked = Some((generation, Instant::now()));
                }
            }
            // The index questions use: read again after a change, and once after start.
            if matches!(&report, Ok(r) if r.new > 0 || r.dropped > 0) || !pass.past_loaded() {
                let loader = pass.clone();
                if let Some(store) = handle.store() {
                    let _ = tokio::task::spawn_blocking(move || loader.load_past_changes(&store)).await;
                }
            }
            progress.end(&message).await;
            handle.hand_on(message);
        });
        true
    }
}

async fn report_step(handle: &PassHandle, progress: &Progress, step: crate::history::Progress) {
    let crate::history::Progress { done, total } = step;
    progress.report(&format!("{done}/{total} commits"), (done * 100 / total.max(1)) as u32).await;
    handle.working(format!("history: {done}/{total} commits"));
}

/// What a pass did, in one status line: `history: 31,012 commits (12 new)`, and the miner's own
/// lines (not a repository, shallow, capped, git missing).
fn summary(report: &HistoryReport) -> String {
    let mut line = format!("history: {} commits", crate::units::thousands(report.commits as u64));
    let mut changes = Vec::new();
    if report.new > 0 {
        changes.push(format!("{} new", crate::units::thousands(report.new as u64)));
    }
    if report.dropped > 0 {
        changes.push(format!("{} no longer reachable", crate::units::thousands(report.dropped as u64)));
    }
    if report.cancelled {
        changes.push(format!("paused, {} left for the next idle time", crate::units::thousands(report.pending as u64)));
    }
    if !changes.is_empty() {
        line.push_str(&format!(" ({})", changes.join(", ")));
    }
    for status in &report.status {
        line.push_str(&format!("; {status}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_what_changed_and_what_the_miner_said() {
        let report = HistoryReport { commits: 31012, new: 12, ..HistoryReport::default() };
        assert_eq!(summary(&report), "history: 31,012 commits (12 new)");
        let paused =
            HistoryReport { commits: 500, new: 500, pending: 30000, cancelled: true, ..HistoryReport::default() };
        assert_eq!(summary(&paused), "history: 500 commits (500 new, paused, 30,000 left for the next idle time)");
        let outside = HistoryReport { status: vec!["not a git repository".into()], ..HistoryReport::default() };
        assert_eq!(summary(&outside), "history: 0 commits; not a git repository");
    }
}
