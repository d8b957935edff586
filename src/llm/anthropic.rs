//! The `anthropic` provider: the Messages API, `POST {base_url}/v1/messages` (default base
//! `https://api.anthropic.com`), with `x-api-key` and `anthropic-version: 2023-06-01`.
//!
//! Guarantees: the system prompt is the top-level `system` field (system-role messages are folded
//! into it, since the API accepts only user/assistant turns); a JSON Schema is stated in the system
//! prompt, as the API has no `response_format`; the key comes from `$ANTHROPIC_API_KEY` unless
//! `llm.api_key_env` names another variable, is read per request and never logged. Usage comes from
//! `message_start`/`message_delta` (streaming) or `usage` (not), else is estimated and marked so.
//! Stop reasons are normalised to the OpenAI words callers check (`end_turn`/`stop_sequence` →
//! `stop`, `max_tokens` → `length`); others pass through. An answer is complete or an error: a
//! stream that ends before `message_stop` is `InvalidResponse`; an `error` event is an error. The
//! hard length cap of `http::Answer` applies. Dropping the future aborts the request.

use super::http::{self, Answer, Call, Deadlines, Events};
use super::{ChatFuture, ChatRequest, ChatResponse, LlmConfig, LlmError, OnChunk, Provider, Role};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use serde_json::Value;
use std::time::{Duration, Instant};

const NAME: &str = "anthropic";
const DEFAULT_BASE: &str = "https://api.anthropic.com";
const DEFAULT_KEY_ENV: &str = "ANTHROPIC_API_KEY";
const API_VERSION: &str = "2023-06-01";

pub struct Anthropic {
    client: reqwest::Client,
    url: reqwest::Url,
    model: String,
    /// The variable holding the key (never the key: that is read per request).
    key_env: String,
    config: LlmConfig,
}

/// No key is ever held, but keep Debug output to what identifies the provider.
impl std::fmt::Debug for Anthropic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anthropic").field("model", &self.model).finish_non_exhaustive()
    }
}

impl Anthropic {
    pub fn new(config: &LlmConfig) -> Result<Anthropic, LlmError> {
        if config.model.trim().is_empty() {
            return Err(LlmError::Config {
                provider: NAME.into(),
                detail: "llm.model is empty; name the model to use, e.g. claude-sonnet-4-5".into(),
            });
        }
        let base = config.base_url.as_deref().unwrap_or(DEFAULT_BASE);
        // Accept a base given with the version (`.../v1`), as OpenAI-style bases are.
        let path = if base.trim().trim_end_matches('/').ends_with("/v1") { "/messages" } else { "/v1/messages" };
        let url = http::endpoint(NAME, base, path)?;
        Ok(Anthropic {
            client: http::client(NAME, config)?,
            url,
            model: config.model.clone(),
            key_env: config.api_key_env.clone().unwrap_or_else(|| DEFAULT_KEY_ENV.into()),
            config: config.clone(),
        })
    }

    fn key(&self) -> Result<String, LlmError> {
        match std::env::var(&self.key_env) {
            Ok(key) if !key.trim().is_empty() => Ok(key.trim().to_string()),
            _ => Err(LlmError::Config {
                provider: NAME.into(),
                detail: format!(
                    "${} is not set; export your Anthropic API key in it, or name another variable with llm.api_key_env",
                    self.key_env
                ),
            }),
        }
    }

    async fn chat_once(&self, request: &ChatRequest, on_chunk: OnChunk<'_>) -> Result<ChatResponse, LlmError> {
        let started = Instant::now();
        let key = self.key()?;
        let call = Call {
            provider: NAME,
            url: http::shown(&self.url),
            key_env: self.key_env.clone(),
            key: Some(&key),
            connect_timeout: self.config.connect_timeout,
            deadlines: Deadlines::start(&self.config),
        };
        let mut key_header = HeaderValue::from_str(&key).map_err(|_| LlmError::Config {
            provider: NAME.into(),
            detail: format!("${} holds characters not allowed in an HTTP header; check the key", self.key_env),
        })?;
        key_header.set_sensitive(true);
        let system = system_prompt(request);
        let body = serde_json::to_vec(&wire_request(&self.model, request, &system)).map_err(|e| LlmError::Config {
            provider: NAME.into(),
            detail: format!("cannot encode the request: {e}"),
        })?;
        let accept = if request.stream { "text/event-stream" } else { "application/json" };
        let builder = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, accept)
            .header("x-api-key", key_header)
            .header("anthropic-version", API_VERSION)
            .body(body);
        let outcome: Outcome = http::exchange(&call, builder, request, on_chunk).await?;
        Ok(outcome.into_response(request, &self.model, started.elapsed()))
    }
}

impl Provider for Anthropic {
    fn name(&self) -> &str {
        NAME
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn is_local(&self) -> bool {
        false
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest, on_chunk: OnChunk<'a>) -> ChatFuture<'a> {
        Box::pin(self.chat_once(request, on_chunk))
    }
}

/// The `system` field: the system prompt, system-role messages, and the schema the answer must match.
fn system_prompt(request: &ChatRequest) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !request.system.is_empty() {
        parts.push(request.system.clone());
    }
    parts.extend(request.messages.iter().filter(|m| m.role == Role::System).map(|m| m.content.clone()));
    if let Some(schema) = &request.json_schema {
        parts.push(format!(
            "Answer with a single JSON value and nothing else (no prose, no code fences). \
             It must match this JSON Schema:\n{schema}"
        ));
    }
    parts.join("\n\n")
}

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    /// The API accepts 0..=1 (OpenAI's range is 0..=2); clamped rather than refused.
    temperature: f32,
    #[serde(skip_serializing_if = "str::is_empty")]
    system: &'a str,
    messages: Vec<WireMessage<'a>>,
    stream: bool,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: Role,
    content: &'a str,
}

fn wire_request<'a>(model: &'a str, request: &'a ChatRequest, system: &'a str) -> WireRequest<'a> {
    let temperature = if request.temperature.is_finite() { request.temperature.clamp(0.0, 1.0) } else { 1.0 };
    WireRequest {
        model,
        max_tokens: request.max_tokens,
        temperature,
        system,
        messages: request
            .messages
            .iter()
            .filter(|m| m.role != Role::System)
            .map(|m| WireMessage { role: m.role, content: &m.content })
            .collect(),
        stream: request.stream,
    }
}

/// What one attempt read, before it becomes a `ChatResponse`.
struct Outcome {
    answer: Answer,
    model: Option<String>,
    stop_reason: Option<String>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
}

impl Outcome {
    fn new(request: &ChatRequest) -> Outcome {
        Outcome {
            answer: Answer::new(request.max_tokens),
            model: None,
            stop_reason: None,
            input_tokens: None,
            output_tokens: None,
        }
    }

    fn into_response(self, request: &ChatRequest, model: &str, latency: Duration) -> ChatResponse {
        let finish_reason = if self.answer.cut { Some("length".to_string()) } else { self.stop_reason.map(normalise) };
        // Cut streams never saw the final `message_delta`: its partial counts would undercount.
        let output_tokens = if self.answer.cut && request.stream { None } else { self.output_tokens };
        ChatResponse {
            usage: http::usage(request, &self.answer.text, self.input_tokens, output_tokens),
            text: self.answer.text,
            model: self.model.filter(|m| !m.is_empty()).unwrap_or_else(|| model.to_string()),
            finish_reason,
            attempts: 1,
            latency,
        }
    }

    /// Reads `usage` as found in `message_start`, `message_delta` and whole messages. Prompt tokens
    /// include cached ones, which were still read by the model and billed (at another rate).
    fn absorb_usage(&mut self, usage: Option<&Value>) {
        let Some(usage) = usage else { return };
        let count = |field: &str| usage.get(field).and_then(Value::as_u64);
        if let Some(input) = count("input_tokens") {
            let cached =
                count("cache_creation_input_tokens").unwrap_or(0) + count("cache_read_input_tokens").unwrap_or(0);
            self.input_tokens = Some(input + cached);
        }
        if let Some(output) = count("output_tokens") {
            self.output_tokens = Some(output);
        }
    }

    fn push_text(&mut self, text: &str, on_chunk: Option<OnChunk<'_>>) {
        let kept = self.answer.push(text);
        if let Some(on_chunk) = on_chunk.filter(|_| !kept.is_empty()) {
            on_chunk(kept);
        }
    }
}

fn normalise(stop_reason: String) -> String {
    match stop_reason.as_str() {
        "end_turn" | "stop_sequence" => "stop".into(),
        "max_tokens" => "length".into(),
        _ => stop_reason,
    }
}

/// An `error` document or event (`{"type":"error","error":{"type":...,"message":...}}`) as the error
/// it stands for: overloaded and internal errors are transient, as their HTTP statuses would be.
fn reported_error(call: &Call<'_>, value: &Value) -> LlmError {
    let kind = value.get("error").and_then(|e| e.get("type")).and_then(Value::as_str).unwrap_or("error");
    let message = http::excerpt(http::error_message(value).unwrap_or_default().as_bytes(), call.key);
    let provider = NAME.to_string();
    match kind {
        "overloaded_error" => LlmError::Http { provider, status: 529, body: format!("overloaded: {message}") },
        "api_error" => LlmError::Http { provider, status: 500, body: format!("api_error: {message}") },
        "rate_limit_error" => LlmError::RateLimited { provider, retry_after: None },
        "authentication_error" => LlmError::Auth { provider, status: 401, env_var: call.key_env.clone() },
        "permission_error" => LlmError::Auth { provider, status: 403, env_var: call.key_env.clone() },
        _ => call.invalid(format!("the server reported an error: {kind}: {message}")),
    }
}

impl http::Reply for Outcome {
    fn parse_body(call: &Call<'_>, body: &[u8], request: &ChatRequest) -> Result<Outcome, LlmError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| call.invalid(format!("invalid JSON: {e}; is llm.base_url the Anthropic API?")))?;
        if value.get("type").and_then(Value::as_str) == Some("error") {
            return Err(reported_error(call, &value));
        }
        let Some(content) = value.get("content").and_then(Value::as_array) else {
            return Err(call.invalid("the response has no `content` array"));
        };
        let mut outcome = Outcome::new(request);
        outcome.model = value.get("model").and_then(Value::as_str).map(str::to_string);
        outcome.stop_reason = value.get("stop_reason").and_then(Value::as_str).map(str::to_string);
        outcome.absorb_usage(value.get("usage"));
        // Only text blocks are the answer (thinking and tool-use blocks are not).
        for block in content.iter().filter(|b| b.get("type").and_then(Value::as_str) == Some("text")) {
            outcome.push_text(block.get("text").and_then(Value::as_str).unwrap_or_default(), None);
        }
        Ok(outcome)
    }

    async fn read_stream(
        call: &Call<'_>,
        mut events: Events<'_>,
        request: &ChatRequest,
        on_chunk: OnChunk<'_>,
    ) -> Result<Outcome, LlmError> {
        let mut outcome = Outcome::new(request);
        // Only `message_stop` ends the answer (no `done` marker).
        while let Some((name, value)) = events.next_json::<Value>("message_stop", None).await? {
            // The data's `type` is authoritative; the event name is the same word when both are present.
            let kind = value.get("type").and_then(Value::as_str).unwrap_or(&name);
            match kind {
                "message_start" => {
                    let message = value.get("message");
                    outcome.model = message.and_then(|m| m.get("model")).and_then(Value::as_str).map(str::to_string);
                    outcome.absorb_usage(message.and_then(|m| m.get("usage")));
                }
                "content_block_start" => {
                    let block = value.get("content_block");
                    if block.and_then(|b| b.get("type")).and_then(Value::as_str) == Some("text") {
                        let text = block.and_then(|b| b.get("text")).and_then(Value::as_str).unwrap_or_default();
                        outcome.push_text(text, Some(on_chunk));
                    }
                }
                "content_block_delta" => {
                    let delta = value.get("delta");
                    if delta.and_then(|d| d.get("type")).and_then(Value::as_str) == Some("text_delta") {
                        let text = delta.and_then(|d| d.get("text")).and_then(Value::as_str).unwrap_or_default();
                        outcome.push_text(text, Some(on_chunk));
                    }
                }
                "message_delta" => {
                    if let Some(reason) = value.get("delta").and_then(|d| d.get("stop_reason")).and_then(Value::as_str)
                    {
                        outcome.stop_reason = Some(reason.to_string());
                    }
                    outcome.absorb_usage(value.get("usage"));
                }
                "message_stop" => return Ok(outcome),
                "error" => return Err(reported_error(call, &value)),
                // `ping`, `content_block_stop` and event types added later carry nothing we need.
                _ => {}
            }
            if outcome.answer.cut {
                // Dropping the response closes the connection: the server stops sending.
                return Ok(outcome);
            }
        }
        Ok(outcome)
    }

    fn text(&self) -> &str {
        &self.answer.text
    }
}
