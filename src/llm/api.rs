//! The HTTP providers' `Provider`, written once (`openai.rs`, `anthropic.rs`): the endpoint and
//! client made from `[llm]`, the key read per request, the POST sent and the reply read through
//! `http::exchange`. Each API says only what is its own (`Api`): its name, default base and path,
//! where its key comes from, its headers and body, and how its replies are read (`http::Reply`).
//!
//! Guarantees: an empty `llm.model` is a configuration error that names a model to use; no key is
//! ever held (read per request, sent in a sensitive header, named in errors only by its variable), so
//! `Debug` shows the provider, the model and whether it is local; one attempt per call (retries and
//! the concurrency limit are `Resilient`'s); dropping the future aborts the request.

use super::http::{self, Call, Deadlines, Reply};
use super::{ChatFuture, ChatRequest, ChatResponse, LlmConfig, LlmError, OnChunk, Provider};
use reqwest::RequestBuilder;
use std::time::Instant;

/// What one HTTP API has of its own.
pub trait Api: Reply + Send + Sync + Sized + 'static {
    /// `openai`, `anthropic`.
    const NAME: &'static str;
    /// The base URL when `llm.base_url` names none.
    const DEFAULT_BASE: &'static str;
    /// Models to name in the error for an empty `llm.model`.
    const EXAMPLE_MODELS: &'static str;
    /// The API's state from `[llm]` (where its key comes from).
    fn new(config: &LlmConfig) -> Self;
    /// The path of the endpoint below `base`.
    fn path(base: &str) -> &'static str;
    /// Whether a server at `url` runs on this machine.
    fn is_local(url: &reqwest::Url) -> bool;
    /// The key for one request, read now (`None`: the server needs none), and how errors name where
    /// it comes from.
    fn key(&self) -> Result<(Option<String>, String), LlmError>;
    /// The body of `request` for `model`, encoded (`http::encode`).
    fn body(model: &str, request: &ChatRequest) -> Result<Vec<u8>, LlmError>;
    /// `post` with the API's own headers, the key among them when there is one.
    fn authorize(&self, post: RequestBuilder, key: Option<&str>) -> Result<RequestBuilder, LlmError>;
}

/// A provider over the HTTP API `A`.
pub struct HttpProvider<A: Api> {
    api: A,
    client: reqwest::Client,
    url: reqwest::Url,
    model: String,
    is_local: bool,
    config: LlmConfig,
}

/// No key is ever held, but keep Debug output to what identifies the provider.
impl<A: Api> std::fmt::Debug for HttpProvider<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(A::NAME).field("model", &self.model).field("is_local", &self.is_local).finish_non_exhaustive()
    }
}

impl<A: Api> HttpProvider<A> {
    pub fn new(config: &LlmConfig) -> Result<HttpProvider<A>, LlmError> {
        if config.model.trim().is_empty() {
            return Err(LlmError::Config {
                provider: A::NAME.into(),
                detail: format!("llm.model is empty; name the model to use, e.g. {}", A::EXAMPLE_MODELS),
            });
        }
        let base = config.base_url.as_deref().unwrap_or(A::DEFAULT_BASE);
        let url = http::endpoint(A::NAME, base, A::path(base))?;
        Ok(HttpProvider {
            api: A::new(config),
            client: http::client(A::NAME, config)?,
            is_local: A::is_local(&url),
            url,
            model: config.model.clone(),
            config: config.clone(),
        })
    }

    async fn chat_once(&self, request: &ChatRequest, on_chunk: OnChunk<'_>) -> Result<ChatResponse, LlmError> {
        let started = Instant::now();
        let (key, key_env) = self.api.key()?;
        let call = Call {
            provider: A::NAME,
            url: http::shown(&self.url),
            key_env,
            key: key.as_deref(),
            connect_timeout: self.config.connect_timeout,
            deadlines: Deadlines::start(&self.config),
        };
        let post = http::post(&self.client, &self.url, request, A::body(&self.model, request)?);
        let post = self.api.authorize(post, key.as_deref())?;
        http::exchange::<A>(&call, post, request, on_chunk, &self.model, started).await
    }
}

impl<A: Api> Provider for HttpProvider<A> {
    fn name(&self) -> &str {
        A::NAME
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn is_local(&self) -> bool {
        self.is_local
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest, on_chunk: OnChunk<'a>) -> ChatFuture<'a> {
        Box::pin(self.chat_once(request, on_chunk))
    }
}
