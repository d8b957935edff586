//! The server's share pass: with `[share] remote = "origin"`, what a teammate or CI pushed
//! (`reverie share push`) is pulled while the user is idle (`crate::share::pull`), before the
//! embedding pass, so that pass embeds only what nobody shared.
//!
//! Guarantees: it runs only once the embedder is loaded (its model id picks the share), at the
//! first idle time after the server starts and then at most once per `RECHECK` of idle time, one
//! at a time, off the async threads; the user's return stops it between two groups of shards
//! (what was imported stays); a failure (no such remote, git missing, a remote that does not
//! answer) is one status line and a log line, never an error shown as a crash, and is not retried
//! before `RECHECK`. Imported vectors reach questions at once: the semantic index is rebuilt.
//! Each run is kept for `reverie status` (the `share` job).

use super::pass::{PassHandle, Work};
use crate::jobs::{Job, JobRun, JobStore};
use crate::share::PullReport;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Idle time after which the remote is asked again.
const RECHECK: Duration = Duration::from_secs(600);

#[derive(Default)]
pub(super) struct SharePass {
    state: Mutex<ShareState>,
    /// Set when the user is back: the running pull stops.
    cancel: Arc<AtomicBool>,
}

#[derive(Default)]
struct ShareState {
    running: bool,
    /// When the last pull ended (a stopped one does not count).
    checked: Option<Instant>,
}

impl SharePass {
    fn lock(&self) -> MutexGuard<'_, ShareState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The user is back: a running pull stops (what it imported is kept).
    pub(super) fn user_back(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Starts a pull when a remote is configured, the embedder's `model_id` is known and none ran
    /// within `RECHECK`; returns whether one runs now (it hands the idle time on when it ends).
    pub(super) fn start(self: &Arc<Self>, handle: &PassHandle, model_id: Option<String>) -> bool {
        let Some(remote) = handle.config().share.remote else { return false };
        let (Some(model_id), Some(store)) = (model_id, handle.store()) else { return false };
        let Some(root) = handle.roots().first().cloned() else { return false };
        {
            let mut state = self.lock();
            if state.running {
                return true;
            }
            if state.checked.is_some_and(|at| at.elapsed() < RECHECK) {
                return false;
            }
            state.running = true;
        }
        self.cancel.store(false, Ordering::SeqCst);
        handle.working(format!("share: pulling from {remote}"));
        let pass = self.clone();
        let handle = handle.clone();
        tokio::spawn(async move {
            let progress = handle.progress(Work::Share).await;
            let snapshot = handle.snapshot();
            let cancel = pass.cancel.clone();
            let pulling = store.clone();
            let result = tokio::task::spawn_blocking(move || {
                let git = crate::git::Git::default();
                crate::share::pull(&pulling, &git, &root, &snapshot, &model_id, &remote, &|| {
                    cancel.load(Ordering::SeqCst)
                })
            })
            .await;
            let report = super::pass::joined(result);
            let message = match &report {
                Ok(report) => summary(report),
                Err(err) => {
                    tracing::warn!("share pull failed: {err}");
                    format!("share: {err}")
                }
            };
            tracing::info!("{message}");
            let run = match &report {
                Ok(r) => JobRun::ended_now(r.seconds, r.imported, r.missing, outcome(r)),
                Err(err) => JobRun::ended_now(0.0, 0, 0, err.clone()),
            };
            let recorder = store.clone();
            let _ = tokio::task::spawn_blocking(move || recorder.put_job_run(Job::Share, &run)).await;
            {
                let mut state = pass.lock();
                state.running = false;
                if !matches!(&report, Ok(r) if r.cancelled) {
                    state.checked = Some(Instant::now());
                }
            }
            if let Ok(r) = &report
                && (r.imported > 0 || r.notes_imported > 0 || r.adapter.as_deref() == Some("imported"))
            {
                handle.shared_work_added(r.notes_imported > 0).await;
            }
            progress.end(&message).await;
            handle.hand_on(message);
        });
        true
    }
}

fn outcome(report: &PullReport) -> String {
    if report.cancelled {
        "cancelled".into()
    } else if !report.rejected.is_empty() {
        format!("{} rejected: {}", report.rejected.len(), report.rejected.join("; "))
    } else {
        report.note.clone().unwrap_or_else(|| "done".into())
    }
}

/// What a pull did, in one status line: `share: pulled 1,234 vectors from origin`.
fn summary(report: &PullReport) -> String {
    let mut line = match &report.note {
        Some(note) => format!("share: {note}"),
        None => format!("share: pulled {} vectors from {}", crate::units::thousands(report.imported), report.remote),
    };
    if report.notes_imported > 0 {
        line.push_str(&format!("; {} notes", crate::units::thousands(report.notes_imported)));
    }
    if report.adapter.as_deref() == Some("imported") {
        line.push_str("; adapter imported");
    }
    if report.cancelled {
        line.push_str(" (paused; resumes when idle)");
    }
    if !report.rejected.is_empty() {
        line.push_str(&format!("; {} rejected: {}", report.rejected.len(), report.rejected.join("; ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_what_was_pulled_and_what_was_rejected() {
        let report = PullReport { imported: 1234, remote: "origin".into(), ..PullReport::default() };
        assert_eq!(summary(&report), "share: pulled 1,234 vectors from origin");
        let rejected = PullReport {
            remote: "origin".into(),
            rejected: vec!["shard-03 does not match its digest in the manifest (corrupt)".into()],
            ..PullReport::default()
        };
        assert!(
            summary(&rejected).ends_with("; 1 rejected: shard-03 does not match its digest in the manifest (corrupt)")
        );
        let nothing = PullReport { note: Some("nothing shared on `origin` yet".into()), ..PullReport::default() };
        assert_eq!(summary(&nothing), "share: nothing shared on `origin` yet");
    }
}
