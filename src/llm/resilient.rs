//! `Resilient`: what every call to a provider needs around the single attempt a `Provider` makes.
//!
//! Guarantees:
//! - at most `llm.max_concurrency` attempts in flight per wrapped provider (a permit is held only
//!   while an attempt runs, not while waiting to retry, so a backing-off call does not block others);
//! - transient failures (`LlmError::is_transient`: connection errors, timeouts, 5xx, 429) are retried
//!   up to `llm.max_retries` times with exponential backoff and jitter (base 500 ms, cap 30 s); a
//!   429's `Retry-After` is waited exactly instead (capped at 120 s);
//! - never a retry once a chunk of the answer has reached the caller: a second attempt would send
//!   the caller text it already has, so the error is returned as is;
//! - the whole call, retries and waits included, ends within `llm.total_timeout` from its first
//!   attempt (time queued for a first permit is not counted: that is our own backlog, not the
//!   provider's slowness). A wait that would overrun it is not started; the last error is returned;
//! - `ChatResponse::attempts` counts the attempts made and `latency` spans all of them;
//! - dropping the future cancels the attempt in flight (its HTTP request is aborted).

use super::{ChatFuture, ChatRequest, ChatResponse, LlmConfig, LlmError, OnChunk, Provider};
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(500);
const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(30);
/// A server asking for longer is more likely confused than right; we come back after this.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(120);

pub struct Resilient {
    inner: Arc<dyn Provider>,
    retrying: Retrying,
}

/// The retry discipline of the module docs, for any call to a provider's server: `Resilient` runs
/// chats through it, the `/embeddings` client (`crate::embed::openai`) its requests, so both obey
/// the same limits, waits and `[llm]` settings.
pub(crate) struct Retrying {
    permits: Semaphore,
    max_retries: u32,
    total_timeout: Duration,
    backoff_base: Duration,
    backoff_cap: Duration,
}

impl std::fmt::Debug for Resilient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resilient")
            .field("provider", &self.inner.name())
            .field("model", &self.inner.model())
            .field("max_retries", &self.retrying.max_retries)
            .field("total_timeout", &self.retrying.total_timeout)
            .finish_non_exhaustive()
    }
}

impl Resilient {
    pub fn new(inner: Arc<dyn Provider>, config: &LlmConfig) -> Resilient {
        Resilient { inner, retrying: Retrying::new(config) }
    }

    /// Backoff base and cap other than 500 ms / 30 s (tests use milliseconds).
    pub fn with_backoff(mut self, base: Duration, cap: Duration) -> Resilient {
        self.retrying = self.retrying.with_backoff(base, cap);
        self
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &Arc<dyn Provider> {
        &self.inner
    }

    #[cfg(test)]
    fn wait_after(&self, attempt: u32, error: &LlmError) -> Duration {
        self.retrying.wait_after(attempt, error)
    }

    async fn chat_with_retries(&self, request: &ChatRequest, on_chunk: OnChunk<'_>) -> Result<ChatResponse, LlmError> {
        let started_output = AtomicBool::new(false);
        let forward = |chunk: &str| {
            started_output.store(true, Ordering::Relaxed);
            on_chunk(chunk);
        };
        let (mut response, attempts, latency) = self
            .retrying
            .run(self.inner.name(), || self.inner.chat(request, &forward), || !started_output.load(Ordering::Relaxed))
            .await?;
        response.attempts = attempts;
        response.latency = latency;
        Ok(response)
    }
}

impl Retrying {
    pub(crate) fn new(config: &LlmConfig) -> Retrying {
        Retrying {
            // Zero would deadlock every call; one is the least that works.
            permits: Semaphore::new(config.max_concurrency.clamp(1, Semaphore::MAX_PERMITS)),
            max_retries: config.max_retries,
            total_timeout: config.total_timeout,
            backoff_base: DEFAULT_BACKOFF_BASE,
            backoff_cap: DEFAULT_BACKOFF_CAP,
        }
    }

    pub(crate) fn with_backoff(mut self, base: Duration, cap: Duration) -> Retrying {
        self.backoff_base = base;
        self.backoff_cap = cap.max(base);
        self
    }

    /// The wait before attempt `attempt + 1`, after `attempt` failed with `error`.
    fn wait_after(&self, attempt: u32, error: &LlmError) -> Duration {
        if let LlmError::RateLimited { retry_after: Some(after), .. } = error {
            return (*after).min(RETRY_AFTER_CAP);
        }
        // base × 2^(attempt-1), capped; then "equal jitter": half fixed, half random, so callers that
        // failed together do not come back together, and the wait never collapses to zero.
        let exp = self.backoff_base.saturating_mul(1u32 << (attempt - 1).min(20)).min(self.backoff_cap);
        let half = exp / 2;
        half + half.mul_f64(jitter())
    }

    /// Runs `attempt` until it succeeds, fails for good, `may_retry` says no (checked after a
    /// failure), or the retries or the total timeout run out. Returns the value, the attempts made
    /// and the time since the first attempt started.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        provider: &str,
        mut attempt_once: F,
        may_retry: impl Fn() -> bool,
    ) -> Result<(T, u32, Duration), LlmError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, LlmError>>,
    {
        // (first attempt's start, deadline of the whole call), set when the first permit is granted.
        let mut clock: Option<(Instant, Instant)> = None;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let permit = match clock {
                None => self.permits.acquire().await,
                Some((_, deadline)) => match tokio::time::timeout_at(deadline, self.permits.acquire()).await {
                    Ok(permit) => permit,
                    Err(_) => return Err(self.total_timeout(provider)),
                },
            };
            // The semaphore is never closed; should it be, run unlimited rather than fail the call.
            let permit = permit.ok();
            let (start, deadline) = *clock.get_or_insert_with(|| {
                let now = Instant::now();
                (now, now + self.total_timeout)
            });
            let result = match tokio::time::timeout_at(deadline, attempt_once()).await {
                Ok(result) => result,
                Err(_) => Err(self.total_timeout(provider)),
            };
            drop(permit);
            let error = match result {
                Ok(value) => return Ok((value, attempt, start.elapsed())),
                Err(error) => error,
            };
            if !error.is_transient() || attempt > self.max_retries || !may_retry() {
                return Err(error);
            }
            let wait = self.wait_after(attempt, &error);
            if Instant::now() + wait >= deadline {
                return Err(error);
            }
            tracing::warn!(provider, attempt, wait_ms = wait.as_millis() as u64, "{error}; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    fn total_timeout(&self, provider: &str) -> LlmError {
        LlmError::Timeout { provider: provider.to_string(), phase: "total", after: self.total_timeout }
    }
}

impl Provider for Resilient {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model(&self) -> &str {
        self.inner.model()
    }

    fn is_local(&self) -> bool {
        self.inner.is_local()
    }

    fn speed(&self) -> Option<super::Speed> {
        self.inner.speed()
    }

    /// The call with retries, waits and the concurrency limit (not one attempt, unlike providers).
    fn chat<'a>(&'a self, request: &'a ChatRequest, on_chunk: OnChunk<'a>) -> ChatFuture<'a> {
        Box::pin(self.chat_with_retries(request, on_chunk))
    }
}

/// A number in [0, 1): std's randomly keyed hasher, fresh keys per call, is randomness enough for
/// spreading retries, without a dependency.
fn jitter() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{Message, Role, TokenUsage};
    use std::sync::Mutex;
    use std::sync::atomic::AtomicU32;

    /// A provider that plays back a script of results, one per attempt.
    struct Scripted {
        script: Mutex<Vec<Result<&'static str, LlmError>>>,
        calls: AtomicU32,
        chunk_first: bool,
    }

    impl Provider for Scripted {
        fn name(&self) -> &str {
            "scripted"
        }
        fn model(&self) -> &str {
            "m"
        }
        fn is_local(&self) -> bool {
            true
        }
        fn chat<'a>(&'a self, _: &'a ChatRequest, on_chunk: OnChunk<'a>) -> ChatFuture<'a> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                if self.chunk_first {
                    on_chunk("partial");
                }
                let next = self.script.lock().unwrap().remove(0);
                next.map(|text| ChatResponse {
                    text: text.into(),
                    usage: TokenUsage::default(),
                    model: "m".into(),
                    finish_reason: Some("stop".into()),
                    attempts: 1,
                    latency: Duration::ZERO,
                })
            })
        }
    }

    fn request() -> ChatRequest {
        ChatRequest {
            system: String::new(),
            messages: vec![Message { role: Role::User, content: "hi".into() }],
            max_tokens: 10,
            temperature: 0.0,
            json_schema: None,
            stream: true,
        }
    }

    fn resilient(
        script: Vec<Result<&'static str, LlmError>>,
        chunk_first: bool,
        retries: u32,
    ) -> (Resilient, Arc<Scripted>) {
        let inner = Arc::new(Scripted { script: Mutex::new(script), calls: AtomicU32::new(0), chunk_first });
        let config = LlmConfig { max_retries: retries, ..LlmConfig::default() };
        let r = Resilient::new(inner.clone(), &config).with_backoff(Duration::from_millis(1), Duration::from_millis(4));
        (r, inner)
    }

    fn http500() -> LlmError {
        LlmError::Http { provider: "scripted".into(), status: 500, body: String::new() }
    }

    #[tokio::test]
    async fn retries_transient_errors_and_counts_attempts() {
        let (r, inner) = resilient(vec![Err(http500()), Err(http500()), Ok("done")], false, 3);
        let response = r.chat(&request(), &|_| {}).await.unwrap();
        assert_eq!((response.text.as_str(), response.attempts), ("done", 3));
        assert_eq!(inner.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn does_not_retry_permanent_errors() {
        let auth = LlmError::Auth { provider: "scripted".into(), status: 401, env_var: "K".into() };
        let (r, inner) = resilient(vec![Err(auth.clone()), Ok("never")], false, 3);
        assert_eq!(r.chat(&request(), &|_| {}).await, Err(auth));
        assert_eq!(inner.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn does_not_retry_once_output_reached_the_caller() {
        let (r, inner) = resilient(vec![Err(http500()), Ok("never")], true, 3);
        assert_eq!(r.chat(&request(), &|_| {}).await, Err(http500()));
        assert_eq!(inner.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn gives_up_after_max_retries() {
        let (r, inner) = resilient(vec![Err(http500()), Err(http500()), Err(http500())], false, 2);
        assert_eq!(r.chat(&request(), &|_| {}).await, Err(http500()));
        assert_eq!(inner.calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let config = LlmConfig::default();
        let inner = Arc::new(Scripted { script: Mutex::new(vec![]), calls: AtomicU32::new(0), chunk_first: false });
        let r = Resilient::new(inner, &config);
        for attempt in 1..40 {
            let exp = (DEFAULT_BACKOFF_BASE * 2u32.pow((attempt - 1).min(20))).min(DEFAULT_BACKOFF_CAP);
            let wait = r.wait_after(attempt, &http500());
            assert!(wait >= exp / 2 && wait <= exp, "attempt {attempt}: {wait:?} vs {exp:?}");
        }
        let limited = LlmError::RateLimited { provider: "p".into(), retry_after: Some(Duration::from_secs(7)) };
        assert_eq!(r.wait_after(1, &limited), Duration::from_secs(7));
        let greedy = LlmError::RateLimited { provider: "p".into(), retry_after: Some(Duration::from_secs(9999)) };
        assert_eq!(r.wait_after(1, &greedy), RETRY_AFTER_CAP);
        let jitters: Vec<f64> = (0..8).map(|_| jitter()).collect();
        assert!(jitters.iter().all(|j| (0.0..1.0).contains(j)));
        assert!(jitters.windows(2).any(|w| w[0] != w[1]));
    }
}
