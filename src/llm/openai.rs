//! The `openai` provider: any OpenAI-compatible `POST {base_url}/chat/completions` server (OpenAI,
//! Ollama, llama.cpp's server, vLLM, LM Studio, OpenRouter).
//!
//! Guarantees: the system prompt goes first; a JSON Schema goes as `response_format`; a key is sent
//! as `Authorization: Bearer` only when `llm.api_key_env` names one (local servers need none); usage
//! comes from the response (`stream_options.include_usage` when streaming) or is estimated and marked
//! so. An answer is complete or an error: a stream that ends before `data: [DONE]` is
//! `InvalidResponse`, never a silently partial answer. A server that ignores `max_tokens` is cut off
//! at the hard cap in `http::Answer` (finish reason `length`). One attempt per call; retries
//! and the concurrency limit are `Resilient`'s. Dropping the future aborts the request.

use super::http::{self, Answer, Call, Deadlines, Events};
use super::{ChatFuture, ChatRequest, ChatResponse, LlmConfig, LlmError, OnChunk, Provider, Role};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

const NAME: &str = "openai";
const DEFAULT_BASE: &str = "https://api.openai.com/v1";

pub struct OpenAi {
    client: reqwest::Client,
    url: reqwest::Url,
    model: String,
    /// The variable holding the key (never the key: that is read per request).
    api_key_env: Option<String>,
    is_local: bool,
    config: LlmConfig,
}

/// No key is ever held, but keep Debug output to what identifies the provider.
impl std::fmt::Debug for OpenAi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAi").field("model", &self.model).field("is_local", &self.is_local).finish_non_exhaustive()
    }
}

impl OpenAi {
    pub fn new(config: &LlmConfig) -> Result<OpenAi, LlmError> {
        if config.model.trim().is_empty() {
            return Err(LlmError::Config {
                provider: NAME.into(),
                detail: "llm.model is empty; name the model to use, e.g. gpt-4o-mini or qwen2.5-coder:7b".into(),
            });
        }
        let base = config.base_url.as_deref().unwrap_or(DEFAULT_BASE);
        let url = http::endpoint(NAME, base, "/chat/completions")?;
        Ok(OpenAi {
            client: http::client(NAME, config)?,
            is_local: http::is_loopback(&url),
            url,
            model: config.model.clone(),
            api_key_env: config.api_key_env.clone(),
            config: config.clone(),
        })
    }

    async fn chat_once(&self, request: &ChatRequest, on_chunk: OnChunk<'_>) -> Result<ChatResponse, LlmError> {
        let started = Instant::now();
        let key = super::api_key(NAME, self.api_key_env.as_deref())?;
        let call = Call {
            provider: NAME,
            url: http::shown(&self.url),
            key_env: match &self.api_key_env {
                Some(var) => var.clone(),
                None => "OPENAI_API_KEY (name it in llm.api_key_env)".into(),
            },
            key: key.as_deref(),
            connect_timeout: self.config.connect_timeout,
            deadlines: Deadlines::start(&self.config),
        };
        let body = serde_json::to_vec(&wire_request(&self.model, request)).map_err(|e| LlmError::Config {
            provider: NAME.into(),
            detail: format!("cannot encode the request: {e}"),
        })?;
        let accept = if request.stream { "text/event-stream" } else { "application/json" };
        let mut builder = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, accept)
            .body(body);
        if let Some(key) = &key {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| LlmError::Config {
                provider: NAME.into(),
                detail: format!(
                    "${} holds characters not allowed in an HTTP header; check the key",
                    self.api_key_env.as_deref().unwrap_or_default()
                ),
            })?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        let outcome: Outcome = http::exchange(&call, builder, request, on_chunk).await?;
        Ok(outcome.into_response(request, &self.model, started.elapsed()))
    }
}

impl Provider for OpenAi {
    fn name(&self) -> &str {
        NAME
    }

    fn model(&self) -> &str {
        &self.model
    }

    /// Local when the server is on a loopback address (Ollama, llama.cpp's server on this machine).
    fn is_local(&self) -> bool {
        self.is_local
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest, on_chunk: OnChunk<'a>) -> ChatFuture<'a> {
        Box::pin(self.chat_once(request, on_chunk))
    }
}

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    max_tokens: u32,
    /// Serialised as an f32, so `0.2` goes out as `0.2`, not `0.20000000298023224`.
    temperature: f32,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<ResponseFormat<'a>>,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: Role,
    content: &'a str,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct ResponseFormat<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    json_schema: JsonSchema<'a>,
}

#[derive(Serialize)]
struct JsonSchema<'a> {
    name: &'static str,
    schema: &'a serde_json::Value,
    /// Strict mode rejects schemas with optional properties or open objects, which ours may have;
    /// callers validate what comes back anyway.
    strict: bool,
}

fn wire_request<'a>(model: &'a str, request: &'a ChatRequest) -> WireRequest<'a> {
    // An empty system message is noise at best and rejected by some servers.
    let system = (!request.system.is_empty()).then(|| WireMessage { role: Role::System, content: &request.system });
    let messages = system
        .into_iter()
        .chain(request.messages.iter().map(|m| WireMessage { role: m.role, content: &m.content }))
        .collect();
    WireRequest {
        model,
        messages,
        max_tokens: request.max_tokens,
        temperature: request.temperature,
        stream: request.stream,
        stream_options: request.stream.then_some(StreamOptions { include_usage: true }),
        response_format: request.json_schema.as_ref().map(|schema| ResponseFormat {
            kind: "json_schema",
            json_schema: JsonSchema { name: "reverie", schema, strict: false },
        }),
    }
}

/// A completion or a stream chunk: the same shape, `message` in one and `delta` in the other.
#[derive(Deserialize)]
struct WireResponse {
    model: Option<String>,
    #[serde(default)]
    choices: Vec<WireChoice>,
    usage: Option<WireUsage>,
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: Option<WireContent>,
    delta: Option<WireContent>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireContent {
    content: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

/// What one attempt read, before it becomes a `ChatResponse`.
struct Outcome {
    answer: Answer,
    model: Option<String>,
    finish_reason: Option<String>,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

impl Outcome {
    fn new(request: &ChatRequest) -> Outcome {
        Outcome {
            answer: Answer::new(request.max_tokens),
            model: None,
            finish_reason: None,
            prompt_tokens: None,
            completion_tokens: None,
        }
    }

    fn into_response(self, request: &ChatRequest, model: &str, latency: Duration) -> ChatResponse {
        let finish_reason = if self.answer.cut { Some("length".to_string()) } else { self.finish_reason };
        ChatResponse {
            usage: http::usage(request, &self.answer.text, self.prompt_tokens, self.completion_tokens),
            text: self.answer.text,
            model: self.model.filter(|m| !m.is_empty()).unwrap_or_else(|| model.to_string()),
            finish_reason,
            attempts: 1,
            latency,
        }
    }

    /// Takes in one document or chunk; `Err` when it is an error report rather than an answer.
    fn absorb(&mut self, call: &Call<'_>, wire: WireResponse, on_chunk: Option<OnChunk<'_>>) -> Result<(), LlmError> {
        if let Some(error) = &wire.error {
            let message =
                http::error_message(&serde_json::json!({ "error": error })).unwrap_or_else(|| error.to_string());
            return Err(
                call.invalid(format!("the server reported an error: {}", http::excerpt(message.as_bytes(), call.key)))
            );
        }
        if wire.model.is_some() {
            self.model = wire.model;
        }
        if let Some(usage) = wire.usage {
            self.prompt_tokens = usage.prompt_tokens.or(self.prompt_tokens);
            self.completion_tokens = usage.completion_tokens.or(self.completion_tokens);
        }
        // n = 1: the first choice is the answer.
        if let Some(choice) = wire.choices.into_iter().next() {
            if let Some(content) = choice.message.or(choice.delta).and_then(|c| c.content) {
                let kept = self.answer.push(&content);
                if let Some(on_chunk) = on_chunk.filter(|_| !kept.is_empty()) {
                    on_chunk(kept);
                }
            }
            if choice.finish_reason.is_some() {
                self.finish_reason = choice.finish_reason;
            }
        }
        Ok(())
    }
}

impl http::Reply for Outcome {
    fn parse_body(call: &Call<'_>, body: &[u8], request: &ChatRequest) -> Result<Outcome, LlmError> {
        let wire: WireResponse = serde_json::from_slice(body)
            .map_err(|e| call.invalid(format!("invalid JSON: {e}; is llm.base_url an OpenAI-compatible API?")))?;
        if wire.error.is_none() && wire.choices.is_empty() {
            return Err(call.invalid("the response has no choices"));
        }
        let mut outcome = Outcome::new(request);
        outcome.absorb(call, wire, None)?;
        Ok(outcome)
    }

    async fn read_stream(
        call: &Call<'_>,
        mut events: Events<'_>,
        request: &ChatRequest,
        on_chunk: OnChunk<'_>,
    ) -> Result<Outcome, LlmError> {
        let mut outcome = Outcome::new(request);
        while let Some((_, wire)) = events.next_json::<WireResponse>("data: [DONE]", Some("[DONE]")).await? {
            outcome.absorb(call, wire, Some(on_chunk))?;
            if outcome.answer.cut {
                break; // Dropping the response closes the connection: the server stops sending.
            }
        }
        Ok(outcome)
    }

    fn text(&self) -> &str {
        &self.answer.text
    }
}
