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

use super::api::Api;
use super::http::{self, Call, Events, Reading, Reply};
use super::{ChatRequest, LlmConfig, LlmError, OnChunk, Role};
use reqwest::RequestBuilder;
use serde::Serialize;
use serde_json::Value;

const NAME: &str = "anthropic";
const DEFAULT_KEY_ENV: &str = "ANTHROPIC_API_KEY";
const API_VERSION: &str = "2023-06-01";

/// The Messages API.
pub struct Messages {
    /// The variable holding the key (never the key: that is read per request).
    key_env: String,
}

impl Api for Messages {
    const NAME: &'static str = NAME;
    const DEFAULT_BASE: &'static str = "https://api.anthropic.com";
    const EXAMPLE_MODELS: &'static str = "claude-sonnet-4-5";

    fn new(config: &LlmConfig) -> Messages {
        Messages { key_env: config.api_key_env.clone().unwrap_or_else(|| DEFAULT_KEY_ENV.into()) }
    }

    /// Accepts a base given with the version (`.../v1`), as OpenAI-style bases are.
    fn path(base: &str) -> &'static str {
        if base.trim().trim_end_matches('/').ends_with("/v1") { "/messages" } else { "/v1/messages" }
    }

    fn is_local(_: &reqwest::Url) -> bool {
        false
    }

    fn key(&self) -> Result<(Option<String>, String), LlmError> {
        match std::env::var(&self.key_env) {
            Ok(key) if !key.trim().is_empty() => Ok((Some(key.trim().to_string()), self.key_env.clone())),
            _ => Err(LlmError::Config {
                provider: NAME.into(),
                detail: format!(
                    "${} is not set; export your Anthropic API key in it, or name another variable with llm.api_key_env",
                    self.key_env
                ),
            }),
        }
    }

    fn body(model: &str, request: &ChatRequest) -> Result<Vec<u8>, LlmError> {
        http::encode(NAME, &wire_request(model, request, &system_prompt(request)))
    }

    fn authorize(&self, post: RequestBuilder, key: Option<&str>) -> Result<RequestBuilder, LlmError> {
        let key = http::key_header(NAME, key.unwrap_or_default(), &self.key_env)?;
        Ok(post.header("x-api-key", key).header("anthropic-version", API_VERSION))
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

/// Reads `usage` as found in `message_start`, `message_delta` and whole messages. Prompt tokens
/// include cached ones, which were still read by the model and billed (at another rate).
fn absorb_usage(reading: &mut Reading, usage: Option<&Value>) {
    let Some(usage) = usage else { return };
    let count = |field: &str| usage.get(field).and_then(Value::as_u64);
    if let Some(input) = count("input_tokens") {
        let cached = count("cache_creation_input_tokens").unwrap_or(0) + count("cache_read_input_tokens").unwrap_or(0);
        reading.prompt_tokens = Some(input + cached);
    }
    if let Some(output) = count("output_tokens") {
        reading.completion_tokens = Some(output);
    }
}

/// A stop reason in the OpenAI words callers check.
fn normalise(stop_reason: &str) -> String {
    match stop_reason {
        "end_turn" | "stop_sequence" => "stop".into(),
        "max_tokens" => "length".into(),
        _ => stop_reason.to_string(),
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

impl Reply for Messages {
    /// Cut streams never saw the final `message_delta`: its partial counts would undercount.
    fn settle(reading: &mut Reading, request: &ChatRequest) {
        if reading.answer.cut && request.stream {
            reading.completion_tokens = None;
        }
    }

    fn parse_body(call: &Call<'_>, body: &[u8], reading: &mut Reading) -> Result<(), LlmError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| call.invalid(format!("invalid JSON: {e}; is llm.base_url the Anthropic API?")))?;
        if value.get("type").and_then(Value::as_str) == Some("error") {
            return Err(reported_error(call, &value));
        }
        let Some(content) = value.get("content").and_then(Value::as_array) else {
            return Err(call.invalid("the response has no `content` array"));
        };
        reading.model = value.get("model").and_then(Value::as_str).map(str::to_string);
        reading.finish_reason = value.get("stop_reason").and_then(Value::as_str).map(normalise);
        absorb_usage(reading, value.get("usage"));
        // Only text blocks are the answer (thinking and tool-use blocks are not).
        for block in content.iter().filter(|b| b.get("type").and_then(Value::as_str) == Some("text")) {
            reading.push_text(block.get("text").and_then(Value::as_str).unwrap_or_default(), None);
        }
        Ok(())
    }

    async fn read_stream(mut events: Events<'_>, reading: &mut Reading, on_chunk: OnChunk<'_>) -> Result<(), LlmError> {
        let call = events.call();
        // Only `message_stop` ends the answer (no `done` marker).
        while let Some((name, value)) = events.next_json::<Value>("message_stop", None).await? {
            // The data's `type` is authoritative; the event name is the same word when both are present.
            let kind = value.get("type").and_then(Value::as_str).unwrap_or(&name);
            match kind {
                "message_start" => {
                    let message = value.get("message");
                    reading.model = message.and_then(|m| m.get("model")).and_then(Value::as_str).map(str::to_string);
                    absorb_usage(reading, message.and_then(|m| m.get("usage")));
                }
                "content_block_start" => {
                    let block = value.get("content_block");
                    if block.and_then(|b| b.get("type")).and_then(Value::as_str) == Some("text") {
                        let text = block.and_then(|b| b.get("text")).and_then(Value::as_str).unwrap_or_default();
                        reading.push_text(text, Some(on_chunk));
                    }
                }
                "content_block_delta" => {
                    let delta = value.get("delta");
                    if delta.and_then(|d| d.get("type")).and_then(Value::as_str) == Some("text_delta") {
                        let text = delta.and_then(|d| d.get("text")).and_then(Value::as_str).unwrap_or_default();
                        reading.push_text(text, Some(on_chunk));
                    }
                }
                "message_delta" => {
                    if let Some(reason) = value.get("delta").and_then(|d| d.get("stop_reason")).and_then(Value::as_str)
                    {
                        reading.finish_reason = Some(normalise(reason));
                    }
                    absorb_usage(reading, value.get("usage"));
                }
                "message_stop" => return Ok(()),
                "error" => return Err(reported_error(call, &value)),
                // `ping`, `content_block_stop` and event types added later carry nothing we need.
                _ => {}
            }
            if reading.answer.cut {
                // Dropping the response closes the connection: the server stops sending.
                return Ok(());
            }
        }
        Ok(())
    }
}
