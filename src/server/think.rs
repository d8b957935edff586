//! The server's thinking pass: the sleep-time engine (`crate::sleep`) run in the background while
//! the user is idle (or when they ask with `reverie.think`).
//!
//! Guarantees: at most one pass at a time; activity stops it (the runner cancels a model call in
//! flight after the grace period); it reports `$/progress` as `done/total` jobs and updates the
//! status' note counts as each note lands, not only at the end; when it ends, the learned context
//! is rebuilt and the status says what the pass stored. The request path never waits on it.

use super::session::{Progress, Session};
use super::status::ServerState;
use crate::sleep::{Outcome, ThinkEvent, ThinkOptions, Thinker};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::mpsc;

/// What the pass reports while it runs.
enum Step {
    Planned { total: usize },
    Finished { done: usize, total: usize, what: String, stored: bool },
}

/// Starts a pass if a model is configured, the workspace is indexed and none is running. Returns
/// whether a pass is running now.
pub(super) fn start(session: &Arc<Session>) -> bool {
    let Some(provider) = session.provider() else { return false };
    let Some(store) = session.store() else { return false };
    let Some(user_back) = session.begin_thinking() else { return true };
    session.set_status(ServerState::Thinking, None, Some("thinking".into()));
    let session = session.clone();
    tokio::spawn(async move {
        let config = session.config();
        let snapshot_session = session.clone();
        let snapshot = move || snapshot_session.snapshot();
        let source_session = session.clone();
        let source = move |key: &str| source_session.source_of(key);
        let churn_session = session.clone();
        let churn = tokio::task::spawn_blocking(move || churn_session.churn()).await.unwrap_or_default();
        let thinker = Thinker {
            store: &store,
            provider: Some(provider.as_ref() as &dyn crate::llm::Provider),
            config: &config.sleep,
            snapshot: &snapshot,
            source: &source,
            signals: session.signals(&churn),
            asked: session.recent_questions(),
        };
        let progress = Progress::begin(&session, "thinking").await;
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
                Some(step) = step_receiver.recv() => report_step(&session, &progress, step).await,
            }
        };
        // The steps sent as the last job finished.
        while let Ok(step) = step_receiver.try_recv() {
            report_step(&session, &progress, step).await;
        }
        session.notes_written(true);
        let counts = note_counts(&session).await;
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
        session.set_note_counts(counts.fresh + counts.stale, counts.stale);
        let state = if session.user_idle() { ServerState::Idle } else { ServerState::Ready };
        session.set_status(state, None, Some(message));
    });
    true
}

/// One step of a running pass: `$/progress` with `done/total`, and the status — with the note
/// counts as they are now when a note was stored.
async fn report_step(session: &Arc<Session>, progress: &Progress, step: Step) {
    match step {
        Step::Planned { total } => {
            progress.report(&format!("0/{total} jobs"), 0).await;
            session.set_status(ServerState::Thinking, None, Some(format!("thinking: 0/{total} jobs")));
        }
        Step::Finished { done, total, what, stored } => {
            let total = total.max(done);
            progress.report(&format!("{done}/{total}: {what}"), (done * 100 / total.max(1)) as u32).await;
            if stored {
                // A new note counts for answering at once.
                session.notes_written(false);
                let counts = note_counts(session).await;
                session.set_note_counts(counts.fresh + counts.stale, counts.stale);
            }
            session.set_status(ServerState::Thinking, None, Some(format!("thinking: {done}/{total} jobs")));
        }
    }
}

/// What a job is about, for progress: `summary go/router.go`, `module go`; the workspace's own
/// jobs (the root directory's module note, the overview) have no subject.
fn job_label(kind: &str, subject: &str) -> String {
    if subject.is_empty() { format!("{kind} of the workspace") } else { format!("{kind} {subject}") }
}

/// The note counts, read from the store off the async threads.
async fn note_counts(session: &Arc<Session>) -> crate::sleep::NoteCounts {
    let session = session.clone();
    tokio::task::spawn_blocking(move || session.note_counts()).await.unwrap_or_default()
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
