//! The server's thinking pass: the sleep-time engine (`crate::sleep`) run in the background while
//! the user is idle (or when they ask with `reverie.think`).
//!
//! Guarantees: at most one pass at a time; activity stops it (the runner cancels a model call in
//! flight after the grace period); it reports `$/progress` as `done/total` jobs and updates the
//! status' note counts as each note lands, not only at the end; when it ends, the learned context
//! is rebuilt and the status says what the pass stored. The request path never waits on it.

use super::pass::{PassHandle, Progress, Work};
use crate::sleep::{Outcome, ThinkEvent, ThinkOptions, Thinker};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

/// The thinking pass's own state, kept by the session: the running pass's "the user is back" signal.
#[derive(Default)]
pub(super) struct ThinkingPass {
    /// Set while a pass runs; sending `true` tells it the user is back.
    running: Mutex<Option<watch::Sender<bool>>>,
}

/// What the pass reports while it runs.
enum Step {
    Planned { total: usize },
    Finished { done: usize, total: usize, what: String, stored: bool },
}

impl ThinkingPass {
    fn running(&self) -> std::sync::MutexGuard<'_, Option<watch::Sender<bool>>> {
        self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn is_running(&self) -> bool {
        self.running().is_some()
    }

    /// The user is back: the pass stops taking jobs (the runner cancels a call in flight after the
    /// grace period).
    pub(super) fn user_back(&self) {
        if let Some(running) = self.running().as_ref() {
            let _ = running.send(true);
        }
    }

    /// Starts a pass if a model is configured, the workspace is indexed and none is running. Returns
    /// whether a pass is running now.
    pub(super) fn start(self: &Arc<Self>, handle: &PassHandle) -> bool {
        let Some(provider) = handle.provider() else { return false };
        let Some(store) = handle.store() else { return false };
        let user_back = {
            let mut running = self.running();
            if running.is_some() {
                return true;
            }
            let (sender, receiver) = watch::channel(false);
            *running = Some(sender);
            receiver
        };
        handle.working("thinking".into());
        let pass = self.clone();
        let handle = handle.clone();
        tokio::spawn(async move {
            let config = handle.config();
            let snapshot = || handle.snapshot();
            let source = |key: &str| handle.source_of(key);
            let (signals, asked) = handle.scheduling().await;
            let thinker = Thinker {
                store: &store,
                provider: Some(provider.as_ref() as &dyn crate::llm::Provider),
                config: &config.sleep,
                snapshot: &snapshot,
                source: &source,
                signals,
                asked,
                past: handle.past_changes(),
            };
            let progress = handle.progress(Work::Thinking).await;
            let (steps, mut step_receiver) = mpsc::unbounded_channel::<Step>();
            let planned = AtomicUsize::new(0);
            let done = AtomicUsize::new(0);
            let on_event = |event: ThinkEvent| match event {
                ThinkEvent::Planned { jobs } => {
                    planned.store(jobs, Ordering::Relaxed);
                    let _ = steps.send(Step::Planned { total: jobs });
                }
                ThinkEvent::Finished { job, outcome } => {
                    let _ = steps.send(Step::Finished {
                        done: done.fetch_add(1, Ordering::Relaxed) + 1,
                        total: planned.load(Ordering::Relaxed),
                        what: job_label(job.kind.name(), &job.subject),
                        stored: matches!(outcome, Outcome::Stored),
                    });
                }
                _ => {}
            };
            let options = ThinkOptions::default();
            let think = thinker.think(&options, user_back, &on_event);
            tokio::pin!(think);
            let report = loop {
                tokio::select! {
                    report = &mut think => break report,
                    Some(step) = step_receiver.recv() => report_step(&handle, &progress, step).await,
                }
            };
            // The steps sent as the last job finished.
            while let Ok(step) = step_receiver.try_recv() {
                report_step(&handle, &progress, step).await;
            }
            *pass.running() = None;
            let counts = handle.notes_written().await;
            let run = crate::jobs::JobRun::ended_now(
                report.elapsed_ms / 1000.0,
                counts.fresh as u64,
                (counts.stale + counts.missing) as u64,
                report.stopped.clone().unwrap_or_else(|| "done".into()),
            );
            if let Err(err) = crate::jobs::JobStore::put_job_run(&*store, crate::jobs::Job::Notes, &run) {
                tracing::warn!("could not keep the thinking pass's run: {err:#}");
            }
            let message = format!(
                "{} notes stored this pass ({} fresh, {} stale, {} failed){}",
                report.stored,
                counts.fresh,
                counts.stale,
                counts.failed,
                report.stopped.as_deref().map(|s| format!("; {s}")).unwrap_or_default()
            );
            tracing::info!("thinking pass: {message}");
            progress.end(&message).await;
            handle.finished(message);
        });
        true
    }
}

/// One step of a running pass: `$/progress` with `done/total`, and the status — with the note
/// counts as they are now when a note was stored.
async fn report_step(handle: &PassHandle, progress: &Progress, step: Step) {
    match step {
        Step::Planned { total } => {
            progress.report(&format!("0/{total} jobs"), 0).await;
            handle.working(format!("thinking: 0/{total} jobs"));
        }
        Step::Finished { done, total, what, stored } => {
            let total = total.max(done);
            progress.report(&format!("{done}/{total}: {what}"), (done * 100 / total.max(1)) as u32).await;
            if stored {
                // A new note counts for answering at once.
                handle.notes_written().await;
            }
            handle.working(format!("thinking: {done}/{total} jobs"));
        }
    }
}

/// What a job is about, for progress: `summary go/router.go`, `module go`; the workspace's own
/// jobs (the root directory's module note, the overview) have no subject.
fn job_label(kind: &str, subject: &str) -> String {
    if subject.is_empty() { format!("{kind} of the workspace") } else { format!("{kind} {subject}") }
}

#[cfg(test)]
mod tests {
    use super::job_label;

    #[test]
    fn jobs_are_labelled_by_kind_and_subject() {
        assert_eq!(job_label("summary", "go/router.go"), "summary go/router.go");
        assert_eq!(job_label("module", ""), "module of the workspace");
        assert_eq!(job_label("overview", ""), "overview of the workspace");
    }
}
