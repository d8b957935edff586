//! Language models: one `Provider` trait, three implementations, one way to build them from config.
//!
//! - `openai`: any OpenAI-compatible `/v1/chat/completions` server (OpenAI, Ollama, llama.cpp's
//!   server, vLLM, LM Studio, OpenRouter) — `openai.rs`;
//! - `anthropic`: the Messages API — `anthropic.rs`;
//! - `local`: llama.cpp in-process, behind the cargo feature `local` — `local.rs`.
//!
//! The providers apply the connect and first-token timeouts (`http.rs`, shared by the two HTTP
//! providers, with `sse.rs`); `resilient.rs` wraps any provider with what every call needs on top:
//! the total timeout across attempts, retries with exponential backoff and jitter on 5xx and
//! connection errors, `429` with `Retry-After` obeyed, and a concurrency limit. Dropping a call's future cancels it (the HTTP
//! request is aborted, local generation stops).
//!
//! This module and its children are the only place reverie talks to the network. API keys are read
//! from the environment variable the config names, at the moment a request is built, and never
//! logged or stored. Prompts are assembled (and redacted) by the callers; providers send what they
//! are given.

mod anthropic;
mod api;
pub mod gbnf;
pub(crate) mod http;
#[cfg(feature = "local")]
pub mod local;
pub mod ollama;
mod openai;
mod resilient;
mod speed;
pub mod sse;

pub use resilient::Resilient;
pub(crate) use resilient::Retrying;
pub use speed::{Cost, MIN_CONTEXT_TOKENS, Speed, fit_to_time};

use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// One chat completion request, provider-neutral.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatRequest {
    /// The system prompt (providers place it where their API wants it).
    pub system: String,
    pub messages: Vec<Message>,
    /// Upper bound on completion tokens.
    pub max_tokens: u32,
    pub temperature: f32,
    /// When set, the output must be JSON matching this JSON Schema: sent as `response_format` to
    /// OpenAI-compatible servers, turned into a grammar for the local model, and stated in the
    /// prompt for Anthropic. Callers still validate what comes back.
    pub json_schema: Option<serde_json::Value>,
    /// Stream the answer (chunks go to the `on_chunk` callback as they arrive).
    pub stream: bool,
}

/// Token counts of one call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// True when the provider did not report usage and the counts are estimates (`tokens.rs`).
    pub estimated: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChatResponse {
    pub text: String,
    pub usage: TokenUsage,
    /// The model that answered, as the provider reports it (else the configured one).
    pub model: String,
    /// `stop`, `length`, ... as reported; `length` means the answer was cut at `max_tokens`.
    pub finish_reason: Option<String>,
    /// Attempts made (1 when the first succeeded).
    pub attempts: u32,
    pub latency: Duration,
}

/// Why a call failed. Every message names the provider and says what the user can do.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LlmError {
    #[error("{provider}: could not connect to {url} ({detail}); is the server running and the base_url right?")]
    Connect { provider: String, url: String, detail: String },
    #[error(
        "{provider}: timed out waiting for {phase} after {after:?}; raise llm.{phase}_timeout or use a faster model"
    )]
    Timeout { provider: String, phase: &'static str, after: Duration },
    #[error("{provider}: rate limited (HTTP 429){}; lower llm.max_concurrency or the token budgets", retry_after.map(|d| format!(", retry after {d:?}")).unwrap_or_default())]
    RateLimited { provider: String, retry_after: Option<Duration> },
    #[error("{provider}: HTTP {status}: {body}")]
    Http { provider: String, status: u16, body: String },
    #[error("{provider}: authentication failed (HTTP {status}); check that ${env_var} holds a valid key")]
    Auth { provider: String, status: u16, env_var: String },
    #[error("{provider}: the response could not be understood ({detail})")]
    InvalidResponse { provider: String, detail: String },
    #[error("{provider}: {detail}")]
    Config { provider: String, detail: String },
    #[error("cancelled")]
    Cancelled,
}

impl LlmError {
    /// Worth retrying: connection problems, timeouts before any output, 5xx, 429.
    pub fn is_transient(&self) -> bool {
        match self {
            LlmError::Connect { .. } | LlmError::Timeout { .. } | LlmError::RateLimited { .. } => true,
            LlmError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

pub type ChatFuture<'a> = Pin<Box<dyn Future<Output = Result<ChatResponse, LlmError>> + Send + 'a>>;

/// Called with each piece of streamed text, in order.
pub type OnChunk<'a> = &'a (dyn Fn(&str) + Send + Sync);

pub trait Provider: Send + Sync {
    /// `openai`, `anthropic`, `local`.
    fn name(&self) -> &str;
    fn model(&self) -> &str;
    /// Runs on this machine: no data leaves it (the secret filters still apply to remote ones).
    fn is_local(&self) -> bool;
    /// One attempt, no retries (see `Resilient`). Dropping the future cancels the call.
    fn chat<'a>(&'a self, request: &'a ChatRequest, on_chunk: OnChunk<'a>) -> ChatFuture<'a>;
    /// How fast this model reads a prompt and writes an answer on this machine, when that bounds
    /// what a question may send (an in-process model: measured once when it loads, then from real
    /// calls). May block while the model loads: call it off the async threads. `None`: unknown or
    /// not a concern (a hosted API).
    fn speed(&self) -> Option<Speed> {
        None
    }
}

/// Which model `[llm]` uses: none (facts only, the default), any OpenAI-compatible server, Anthropic's
/// API, or llama.cpp in-process (`local`, cargo feature `local`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LlmProvider {
    #[default]
    None,
    OpenAi,
    Anthropic,
    Local,
}

impl LlmProvider {
    pub const ALL: [LlmProvider; 4] =
        [LlmProvider::OpenAi, LlmProvider::Anthropic, LlmProvider::Local, LlmProvider::None];

    /// The name written in `llm.provider`.
    pub fn name(self) -> &'static str {
        match self {
            LlmProvider::None => "none",
            LlmProvider::OpenAi => "openai",
            LlmProvider::Anthropic => "anthropic",
            LlmProvider::Local => "local",
        }
    }
}

impl<'de> Deserialize<'de> for LlmProvider {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<LlmProvider, D::Error> {
        let given = String::deserialize(deserializer)?;
        if given.is_empty() {
            return Ok(LlmProvider::None);
        }
        crate::units::one_of(&given, "a provider", &LlmProvider::ALL, LlmProvider::name)
            .map_err(serde::de::Error::custom)
    }
}

/// The `[llm]` section of the configuration.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default)]
pub struct LlmConfig {
    pub provider: LlmProvider,
    pub model: String,
    /// For `openai`: e.g. `https://api.openai.com/v1`, `http://localhost:11434/v1` (Ollama).
    /// For `anthropic`: default `https://api.anthropic.com`.
    pub base_url: Option<String>,
    /// The environment variable that holds the API key (not the key itself). Local servers need none.
    pub api_key_env: Option<String>,
    pub max_concurrency: usize,
    #[serde(deserialize_with = "crate::units::de_duration")]
    pub connect_timeout: Duration,
    #[serde(deserialize_with = "crate::units::de_duration")]
    pub first_token_timeout: Duration,
    #[serde(deserialize_with = "crate::units::de_duration")]
    pub total_timeout: Duration,
    pub max_retries: u32,
    /// For `local`: the GGUF model file.
    pub model_path: Option<std::path::PathBuf>,
    /// For `local`: CPU threads (default: half the cores, at least one).
    pub threads: Option<u32>,
    /// For `local`: context window in tokens.
    pub context_tokens: u32,
    /// For `local`: a fixed sampling seed, so the same prompt gives the same answer (default: a new
    /// seed per call).
    pub seed: Option<u32>,
    /// Most tokens a test-time answer may take.
    pub answer_tokens: u32,
    /// For a model whose speed is measured (`local`): the time an answer should take on this
    /// machine; the context and the answer length are sized to it (`fit_to_time`).
    #[serde(deserialize_with = "crate::units::de_duration")]
    pub answer_time: Duration,
    /// With no provider: an Ollama server to look for on this machine, offered in the status when
    /// it answers (only its model list is asked for). Empty: never look.
    pub offer_ollama: String,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            provider: LlmProvider::None,
            model: String::new(),
            base_url: None,
            api_key_env: None,
            max_concurrency: 2,
            connect_timeout: Duration::from_secs(10),
            first_token_timeout: Duration::from_secs(60),
            total_timeout: Duration::from_secs(300),
            max_retries: 3,
            model_path: None,
            threads: None,
            context_tokens: 4096,
            seed: None,
            answer_tokens: 400,
            answer_time: Duration::from_secs(10),
            offer_ollama: ollama::DEFAULT_URL.into(),
        }
    }
}

/// How to enable a model, for messages shown when none is configured.
pub const HOW_TO_ENABLE: &str = "reverie is running on facts alone. To let it think, add to reverie.toml:\n  [llm]\n  provider = \"openai\"   # or anthropic, or local\n  model = \"...\"\n  base_url = \"http://localhost:11434/v1\"   # e.g. Ollama\n  api_key_env = \"OPENAI_API_KEY\"           # only for hosted APIs";

/// Builds the configured provider, wrapped in `Resilient`; `Ok(None)` when none is configured.
pub fn from_config(config: &LlmConfig) -> Result<Option<Arc<Resilient>>, LlmError> {
    let provider: Arc<dyn Provider> = match config.provider {
        LlmProvider::None => return Ok(None),
        LlmProvider::OpenAi => Arc::new(api::HttpProvider::<openai::ChatCompletions>::new(config)?),
        LlmProvider::Anthropic => Arc::new(api::HttpProvider::<anthropic::Messages>::new(config)?),
        LlmProvider::Local => local_provider(config)?,
    };
    Ok(Some(Arc::new(Resilient::new(provider, config))))
}

#[cfg(feature = "local")]
fn local_provider(config: &LlmConfig) -> Result<Arc<dyn Provider>, LlmError> {
    Ok(Arc::new(local::Local::new(config)?))
}

#[cfg(not(feature = "local"))]
fn local_provider(_: &LlmConfig) -> Result<Arc<dyn Provider>, LlmError> {
    Err(LlmError::Config {
        provider: "local".into(),
        detail: "this reverie was built without llama.cpp; rebuild with `cargo install --path . --features local` \
                 (needs cmake, clang and libclang-dev)"
            .into(),
    })
}

/// Reads the API key from the named environment variable. The key is returned, never logged.
pub fn api_key(provider: &str, env_var: Option<&str>) -> Result<Option<String>, LlmError> {
    let Some(var) = env_var else { return Ok(None) };
    match std::env::var(var) {
        Ok(key) if !key.trim().is_empty() => Ok(Some(key.trim().to_string())),
        _ => Err(LlmError::Config {
            provider: provider.to_string(),
            detail: format!(
                "llm.api_key_env names ${var}, which is not set; export it or remove api_key_env for a local server"
            ),
        }),
    }
}
