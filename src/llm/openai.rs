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

use super::api::Api;
use super::http::{self, Call, Events, Reading, Reply};
use super::{ChatRequest, LlmConfig, LlmError, OnChunk, Role};
use reqwest::RequestBuilder;
use reqwest::header::AUTHORIZATION;
use serde::{Deserialize, Serialize};

const NAME: &str = "openai";

/// The Chat Completions API.
pub struct ChatCompletions {
    /// The variable holding the key (never the key: that is read per request).
    api_key_env: Option<String>,
}

impl Api for ChatCompletions {
    const NAME: &'static str = NAME;
    const DEFAULT_BASE: &'static str = "https://api.openai.com/v1";
    const EXAMPLE_MODELS: &'static str = "gpt-4o-mini or qwen2.5-coder:7b";

    fn new(config: &LlmConfig) -> ChatCompletions {
        ChatCompletions { api_key_env: config.api_key_env.clone() }
    }

    fn path(_: &str) -> &'static str {
        "/chat/completions"
    }

    /// Local when the server is on a loopback address (Ollama, llama.cpp's server on this machine).
    fn is_local(url: &reqwest::Url) -> bool {
        http::is_loopback(url)
    }

    fn key(&self) -> Result<(Option<String>, String), LlmError> {
        let key = super::api_key(NAME, self.api_key_env.as_deref())?;
        let key_env = match &self.api_key_env {
            Some(var) => var.clone(),
            None => "OPENAI_API_KEY (name it in llm.api_key_env)".into(),
        };
        Ok((key, key_env))
    }

    fn body(model: &str, request: &ChatRequest) -> Result<Vec<u8>, LlmError> {
        http::encode(NAME, &wire_request(model, request))
    }

    fn authorize(&self, post: RequestBuilder, key: Option<&str>) -> Result<RequestBuilder, LlmError> {
        let Some(key) = key else { return Ok(post) };
        let key_env = self.api_key_env.as_deref().unwrap_or_default();
        Ok(post.header(AUTHORIZATION, http::key_header(NAME, &format!("Bearer {key}"), key_env)?))
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

/// Takes in one document or chunk; `Err` when it is an error report rather than an answer.
fn absorb(
    reading: &mut Reading,
    call: &Call<'_>,
    wire: WireResponse,
    on_chunk: Option<OnChunk<'_>>,
) -> Result<(), LlmError> {
    if let Some(error) = &wire.error {
        let message = http::error_message(&serde_json::json!({ "error": error })).unwrap_or_else(|| error.to_string());
        return Err(
            call.invalid(format!("the server reported an error: {}", http::excerpt(message.as_bytes(), call.key)))
        );
    }
    if wire.model.is_some() {
        reading.model = wire.model;
    }
    if let Some(usage) = wire.usage {
        reading.prompt_tokens = usage.prompt_tokens.or(reading.prompt_tokens);
        reading.completion_tokens = usage.completion_tokens.or(reading.completion_tokens);
    }
    // n = 1: the first choice is the answer.
    if let Some(choice) = wire.choices.into_iter().next() {
        if let Some(content) = choice.message.or(choice.delta).and_then(|c| c.content) {
            reading.push_text(&content, on_chunk);
        }
        if choice.finish_reason.is_some() {
            reading.finish_reason = choice.finish_reason;
        }
    }
    Ok(())
}

impl Reply for ChatCompletions {
    fn parse_body(call: &Call<'_>, body: &[u8], reading: &mut Reading) -> Result<(), LlmError> {
        let wire: WireResponse = serde_json::from_slice(body)
            .map_err(|e| call.invalid(format!("invalid JSON: {e}; is llm.base_url an OpenAI-compatible API?")))?;
        if wire.error.is_none() && wire.choices.is_empty() {
            return Err(call.invalid("the response has no choices"));
        }
        absorb(reading, call, wire, None)?;
        Ok(())
    }

    async fn read_stream(mut events: Events<'_>, reading: &mut Reading, on_chunk: OnChunk<'_>) -> Result<(), LlmError> {
        let call = events.call();
        while let Some((_, wire)) = events.next_json::<WireResponse>("data: [DONE]", Some("[DONE]")).await? {
            absorb(reading, call, wire, Some(on_chunk))?;
            if reading.answer.cut {
                break; // Dropping the response closes the connection: the server stops sending.
            }
        }
        Ok(())
    }
}
