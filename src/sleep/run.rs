//! Running sleep-time jobs: plan, order, call the model within budgets, validate, store.
//!
//! Used by `reverie think` (one pass now) and by the language server while the user is idle. The
//! caller passes a `watch` channel that turns true when the user becomes active: from then on no new
//! job starts, and a call in flight is cancelled once `grace_period` has passed. A result whose
//! inputs changed while it was computed (the file was edited meanwhile) is dropped, never stored.

use super::SleepConfig;
use super::note::NoteStore;
use super::note::{Note, NoteKind};
use super::plan::{self, Job};
use super::prompt::{self, PromptContext, PromptReport};
use super::schedule::{self, Budget, Signals, Standing};
use crate::ledger::LedgerStore;
use crate::ledger::{LedgerEntry, Phase};
use crate::llm::{ChatRequest, ChatResponse, LlmError, Message, Provider, Role};
use crate::snapshot::Snapshot;
use crate::store::{JobFailure, Store};
use crate::tokens::estimate_tokens;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;

const HOUR_NS: u64 = 3_600_000_000_000;

#[derive(Clone, Debug, Default)]
pub struct ThinkOptions {
    /// Build and report prompts, call nothing, store nothing.
    pub dry_run: bool,
    /// Stop after this many jobs.
    pub max_jobs: Option<usize>,
}

/// What happened to one job.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Stored,
    /// The model's output was invalid twice; recorded as a failure.
    Invalid(String),
    /// The provider failed (after its retries).
    ProviderError(String),
    /// The inputs changed while the model worked; the result was dropped.
    Outdated,
    /// The user became active and the call was cancelled.
    Cancelled,
    /// A child note is missing or failed, so this parent waits.
    Blocked,
    DryRun,
}

#[derive(Clone, Debug)]
pub enum ThinkEvent<'a> {
    Planned { jobs: usize },
    Started { job: &'a Job, index: usize },
    Finished { job: &'a Job, outcome: &'a Outcome },
    DryRun { job: &'a Job, request: &'a ChatRequest, report: &'a PromptReport, estimated_tokens: usize },
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ThinkReport {
    pub planned: usize,
    pub stored: usize,
    pub invalid: usize,
    pub provider_errors: usize,
    pub outdated: usize,
    pub blocked: usize,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Why the pass ended before running out of jobs, if it did.
    pub stopped: Option<String>,
    pub elapsed_ms: f64,
}

pub struct Thinker<'a> {
    pub store: &'a Store,
    /// `None` only for dry runs.
    pub provider: Option<&'a dyn Provider>,
    pub config: &'a SleepConfig,
    /// The latest facts; called again after each model call to detect outdated results.
    pub snapshot: &'a (dyn Fn() -> Arc<Snapshot> + Send + Sync),
    pub source: &'a (dyn Fn(&str) -> Option<String> + Send + Sync),
    pub signals: Signals,
    pub asked: Vec<String>,
    /// The project's mined history as the past-changes index, if any (playbooks cite past fixes).
    pub past: Option<Arc<crate::search::PastChanges>>,
}

/// The model identity that note keys carry: `provider/model`.
pub fn model_id(provider: Option<&dyn Provider>) -> String {
    provider.map_or_else(|| "none/none".to_string(), |p| format!("{}/{}", p.name(), p.model()))
}

impl Thinker<'_> {
    /// Jobs whose notes are missing or stale, in the order they will run.
    pub fn pending(&self) -> Vec<(Job, f64)> {
        let snapshot = (self.snapshot)();
        let model = model_id(self.provider);
        let jobs = plan::plan(&snapshot, &model, &self.config.kinds());
        let standing = |job: &Job| match self.store.note(job.kind, &job.subject) {
            Ok(Some(note)) if note.key == job.key => Standing::Fresh,
            Ok(Some(_)) => Standing::Stale,
            _ => Standing::Missing,
        };
        let cost = |job: &Job| self.estimate_cost(job, &snapshot);
        schedule::order(jobs, &standing, &snapshot, &self.signals, &cost)
    }

    fn estimate_cost(&self, job: &Job, snapshot: &Snapshot) -> f64 {
        let source_tokens = if job.kind.is_file_level() {
            snapshot.files.get(job.subject.as_str()).map_or(0, |f| (f.byte_len as usize * 2).div_ceil(7))
        } else {
            self.config.job_prompt_tokens / 2
        };
        (source_tokens.min(self.config.job_prompt_tokens) + self.config.job_completion_tokens as usize) as f64
    }

    /// One pass: runs pending jobs until done, out of budget, or the user is back.
    pub async fn think(
        &self,
        options: &ThinkOptions,
        mut user_active: watch::Receiver<bool>,
        on_event: &(dyn Fn(ThinkEvent) + Send + Sync),
    ) -> ThinkReport {
        let started = Instant::now();
        let mut report = ThinkReport::default();
        let pending = self.pending();
        report.planned = pending.len();
        on_event(ThinkEvent::Planned { jobs: pending.len() });
        let budget =
            Budget { tokens_per_hour: self.config.tokens_per_hour, tokens_per_day: self.config.tokens_per_day };
        for (index, (job, _)) in pending.iter().enumerate() {
            if options.max_jobs.is_some_and(|max| index >= max) {
                report.stopped = Some(format!("stopped after {index} jobs (--max-jobs)"));
                break;
            }
            if *user_active.borrow() {
                report.stopped = Some("the user is active".into());
                break;
            }
            if !self.children_ready(job) {
                report.blocked += 1;
                on_event(ThinkEvent::Finished { job, outcome: &Outcome::Blocked });
                continue;
            }
            let snapshot = (self.snapshot)();
            let (request, prompt_report) = self.request(job, &snapshot);
            let estimated = estimate_tokens(&request.system)
                + request.messages.iter().map(|m| estimate_tokens(&m.content)).sum::<usize>()
                + request.max_tokens as usize;
            if options.dry_run {
                on_event(ThinkEvent::DryRun {
                    job,
                    request: &request,
                    report: &prompt_report,
                    estimated_tokens: estimated,
                });
                report.prompt_tokens += estimated as u64;
                continue;
            }
            let Some(provider) = self.provider else {
                report.stopped = Some(crate::llm::HOW_TO_ENABLE.into());
                break;
            };
            let now = now_ns();
            let ledger = self.store.ledger(now.saturating_sub(24 * HOUR_NS)).unwrap_or_default();
            let last_hour = crate::ledger::tokens_since(&ledger, Phase::Sleep, now.saturating_sub(HOUR_NS));
            let last_day = crate::ledger::tokens_since(&ledger, Phase::Sleep, 0);
            if !budget.allows(last_hour, last_day, estimated as u64) {
                report.stopped = Some(format!(
                    "the token budget is spent ({last_hour} tokens in the last hour of {}, {last_day} today of {}); raise sleep.tokens_per_hour / tokens_per_day",
                    budget.tokens_per_hour, budget.tokens_per_day
                ));
                break;
            }
            on_event(ThinkEvent::Started { job, index });
            let outcome = self.run_job(job, provider, request, &mut user_active, &mut report).await;
            match &outcome {
                Outcome::Stored => report.stored += 1,
                Outcome::Invalid(_) => report.invalid += 1,
                Outcome::ProviderError(_) => report.provider_errors += 1,
                Outcome::Outdated => report.outdated += 1,
                Outcome::Cancelled => {
                    report.stopped = Some("the user is active; the call in flight was cancelled".into())
                }
                Outcome::Blocked | Outcome::DryRun => {}
            }
            on_event(ThinkEvent::Finished { job, outcome: &outcome });
            if outcome == Outcome::Cancelled {
                break;
            }
        }
        report.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        report
    }

    fn children_ready(&self, job: &Job) -> bool {
        job.after.iter().all(|(kind, subject)| matches!(self.store.note(*kind, subject), Ok(Some(_))))
    }

    fn request(&self, job: &Job, snapshot: &Snapshot) -> (ChatRequest, PromptReport) {
        let note_body = |kind: NoteKind, subject: &str| self.store.note(kind, subject).ok().flatten().map(|n| n.body);
        let ctx = PromptContext {
            snapshot,
            source: self.source,
            note_body: &note_body,
            asked: &self.asked,
            past: self.past.as_deref(),
            prompt_budget: self.config.job_prompt_tokens,
            completion_budget: self.config.job_completion_tokens,
        };
        prompt::build(job, &ctx)
    }

    async fn run_job(
        &self,
        job: &Job,
        provider: &dyn Provider,
        request: ChatRequest,
        user_active: &mut watch::Receiver<bool>,
        report: &mut ThinkReport,
    ) -> Outcome {
        let snapshot = (self.snapshot)();
        let mut request = request;
        for attempt in 0..2 {
            let response = match self.call(job, provider, &request, user_active).await {
                Ok(response) => response,
                Err(LlmError::Cancelled) => return Outcome::Cancelled,
                Err(err) => {
                    let message = err.to_string();
                    self.fail(job, &message);
                    return Outcome::ProviderError(message);
                }
            };
            report.prompt_tokens += response.usage.prompt_tokens;
            report.completion_tokens += response.usage.completion_tokens;
            match prompt::validate(job, &response.text, &snapshot) {
                Ok((body, anchors)) => {
                    // Drop the result if the facts moved on while the model was working.
                    let current = (self.snapshot)();
                    let still = plan::plan(&current, &model_id(Some(provider)), &[job.kind])
                        .into_iter()
                        .find(|j| j.subject == job.subject)
                        .is_some_and(|j| j.key == job.key);
                    if !still {
                        return Outcome::Outdated;
                    }
                    let note = Note {
                        key: job.key,
                        kind: job.kind,
                        subject: job.subject.clone(),
                        body,
                        anchors,
                        provider: provider.name().to_string(),
                        model: response.model.clone(),
                        model_configured: provider.model().to_string(),
                        prompt_tokens: response.usage.prompt_tokens,
                        completion_tokens: response.usage.completion_tokens,
                        created_at_ns: now_ns(),
                    };
                    if let Err(err) = self.store.put_note(&note) {
                        return Outcome::ProviderError(format!("storing the note failed: {err:#}"));
                    }
                    return Outcome::Stored;
                }
                Err(problem) if attempt == 0 => {
                    tracing::info!("{} {}: invalid output ({problem}); retrying once", job.kind.name(), job.subject);
                    request
                        .messages
                        .push(Message { role: Role::Assistant, content: response.text.chars().take(2000).collect() });
                    request.messages.push(Message {
                        role: Role::User,
                        content: format!("That reply is invalid: {problem}. Reply again with only the JSON object, with every required key."),
                    });
                }
                Err(problem) => {
                    let message = format!("invalid output twice: {problem}");
                    self.fail(job, &message);
                    return Outcome::Invalid(message);
                }
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// One model call, recorded in the ledger, cancelled `grace_period` after the user is back.
    async fn call(
        &self,
        job: &Job,
        provider: &dyn Provider,
        request: &ChatRequest,
        user_active: &mut watch::Receiver<bool>,
    ) -> Result<ChatResponse, LlmError> {
        let started = Instant::now();
        let grace = self.config.grace_period;
        let call = provider.chat(request, &|_| {});
        tokio::pin!(call);
        let result = loop {
            tokio::select! {
                result = &mut call => break result,
                changed = user_active.changed() => {
                    if changed.is_err() {
                        // The sender is gone (the server is shutting down): finish the call.
                        break (&mut call).await;
                    }
                    if *user_active.borrow() {
                        match tokio::time::timeout(grace, &mut call).await {
                            Ok(result) => break result,
                            Err(_) => break Err(LlmError::Cancelled),
                        }
                    }
                }
            }
        };
        let (usage, outcome, model) = match &result {
            Ok(response) => (response.usage, "ok".to_string(), response.model.clone()),
            Err(err) => {
                // A failed call still spent the prompt, as far as we can tell.
                let prompt = request.messages.iter().map(|m| estimate_tokens(&m.content)).sum::<usize>()
                    + estimate_tokens(&request.system);
                let usage =
                    crate::llm::TokenUsage { prompt_tokens: prompt as u64, completion_tokens: 0, estimated: true };
                (usage, err.to_string(), provider.model().to_string())
            }
        };
        let entry = LedgerEntry {
            at_ns: now_ns(),
            phase: Phase::Sleep,
            provider: provider.name().to_string(),
            model,
            usage,
            latency_ms: started.elapsed().as_millis() as u64,
            purpose: format!("{} {}", job.kind.name(), job.subject),
            outcome,
        };
        if let Err(err) = self.store.record(&entry) {
            tracing::warn!("could not record a ledger entry: {err:#}");
        }
        result
    }

    fn fail(&self, job: &Job, error: &str) {
        let failure = JobFailure { key: job.key, error: error.to_string(), at_ns: now_ns() };
        if let Err(err) = self.store.put_failure(job.kind, &job.subject, &failure) {
            tracing::warn!("could not record a job failure: {err:#}");
        }
    }
}

/// Fresh, stale and failed notes, for status reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NoteCounts {
    pub fresh: usize,
    pub stale: usize,
    pub missing: usize,
    pub failed: usize,
}

/// Counts notes against the jobs the current facts call for.
pub fn note_counts(store: &Store, snapshot: &Snapshot, model: &str, kinds: &[NoteKind]) -> NoteCounts {
    let mut counts = NoteCounts::default();
    for job in plan::plan(snapshot, model, kinds) {
        match store.note(job.kind, &job.subject) {
            Ok(Some(note)) if note.key == job.key => counts.fresh += 1,
            Ok(Some(_)) => counts.stale += 1,
            _ => counts.missing += 1,
        }
        if matches!(store.failure(job.kind, &job.subject), Ok(Some(f)) if f.key == job.key) {
            counts.failed += 1;
        }
    }
    counts
}

fn now_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}
