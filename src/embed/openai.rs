//! The `openai` embedder: any OpenAI-compatible `POST {base_url}/embeddings` server (Ollama
//! `nomic-embed-text`, llama.cpp's server, vLLM, OpenAI).
//!
//! Guarantees: inputs larger than `embed.batch` are split into requests of at most that many texts,
//! sent one after another; each request goes through the `[llm]` section's limits — connect,
//! first-byte and total timeouts (`llm::http`), retries with backoff on 5xx and connection errors,
//! a 429's `Retry-After` waited exactly, the concurrency limit (`llm::Retrying`, the same code the
//! chat providers use). The key is read from the variable `embed.api_key_env` names when a request
//! is built, sent as `Authorization: Bearer`, never logged (error bodies have it redacted).
//! A response is used only if it is complete and consistent — one finite vector per input (matched
//! by `index`), all of one length, the same length as every earlier answer — else the call fails
//! with `InvalidResponse` saying what was wrong. Texts are cut to `embed.max_tokens` (estimated) so
//! a server that refuses long inputs is not sent any. Dropping the future aborts the request.

use super::EmbedConfig;
use super::{EmbedFuture, Embedder};
use crate::llm::http::{self, Call, Deadlines};
use crate::llm::{LlmConfig, LlmError, Retrying};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use std::sync::OnceLock;
use std::time::Duration;

const NAME: &str = "openai-embeddings";
const DEFAULT_BASE: &str = "https://api.openai.com/v1";
/// Texts per request by default; OpenAI takes up to 2048, Ollama and llama-server any number.
pub const DEFAULT_BATCH: usize = 64;

pub struct OpenAiEmbedder {
    client: reqwest::Client,
    url: reqwest::Url,
    model: String,
    /// The variable holding the key (never the key: that is read per request).
    api_key_env: Option<String>,
    limits: LlmConfig,
    retrying: Retrying,
    max_batch: usize,
    max_tokens: usize,
    /// Learned from the first answer; every later one must match.
    dims: OnceLock<usize>,
}

impl std::fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbedder")
            .field("model", &self.model)
            .field("url", &http::shown(&self.url))
            .finish_non_exhaustive()
    }
}

impl OpenAiEmbedder {
    /// The embedder for `[embed]`, with `[llm]`'s timeouts, retries and concurrency (`limits`).
    pub fn new(config: &EmbedConfig, limits: &LlmConfig) -> anyhow::Result<OpenAiEmbedder> {
        if config.model.trim().is_empty() {
            anyhow::bail!("embed.model is empty; name the server's embedding model, e.g. nomic-embed-text");
        }
        let base = config.base_url.as_deref().unwrap_or(DEFAULT_BASE);
        let url = http::endpoint(NAME, base, "/embeddings").map_err(|_| {
            anyhow::anyhow!("embed.base_url {base:?} is not an http(s) URL; use e.g. http://localhost:11434/v1")
        })?;
        Ok(OpenAiEmbedder {
            client: http::client(NAME, limits)?,
            url,
            model: config.model.clone(),
            api_key_env: config.api_key_env.clone(),
            limits: limits.clone(),
            retrying: Retrying::new(limits),
            max_batch: config.batch.unwrap_or(DEFAULT_BATCH).max(1),
            max_tokens: config.max_tokens.max(1),
            dims: OnceLock::new(),
        })
    }

    /// Backoff base and cap other than 500 ms / 30 s (tests use milliseconds).
    pub fn with_backoff(mut self, base: Duration, cap: Duration) -> OpenAiEmbedder {
        self.retrying = self.retrying.with_backoff(base, cap);
        self
    }

    async fn embed_all(&self, texts: &[String]) -> anyhow::Result<Vec<Vec<f32>>> {
        // ceil(2 × chars / 7) tokens is what `tokens::estimate_tokens` counts; it errs long.
        let max_chars = self.max_tokens * 7 / 2;
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(self.max_batch) {
            let inputs: Vec<&str> = chunk.iter().map(|t| cut(t, max_chars)).collect();
            let (vectors, _, _) = self.retrying.run(NAME, || self.embed_once(&inputs), || true).await?;
            out.extend(vectors);
        }
        Ok(out)
    }

    /// One request, no retries.
    async fn embed_once(&self, inputs: &[&str]) -> Result<Vec<Vec<f32>>, LlmError> {
        let key = match self.api_key_env.as_deref() {
            None => None,
            Some(var) => match std::env::var(var) {
                Ok(key) if !key.trim().is_empty() => Some(key.trim().to_string()),
                _ => {
                    return Err(LlmError::Config {
                        provider: NAME.into(),
                        detail: format!(
                            "embed.api_key_env names ${var}, which is not set; export it or remove api_key_env for a local server"
                        ),
                    });
                }
            },
        };
        let call = Call {
            provider: NAME,
            url: http::shown(&self.url),
            key_env: self.api_key_env.clone().unwrap_or_else(|| "OPENAI_API_KEY (name it in embed.api_key_env)".into()),
            key: key.as_deref(),
            connect_timeout: self.limits.connect_timeout,
            deadlines: Deadlines::start(&self.limits),
        };
        let body = serde_json::json!({ "model": self.model, "input": inputs });
        let mut builder = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body.to_string());
        if let Some(key) = &key {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| LlmError::Config {
                provider: NAME.into(),
                detail: "the embedding API key holds characters not allowed in an HTTP header; check it".into(),
            })?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        let mut response = call.send(builder).await?;
        let body = call.read_limited(&mut response, http::MAX_BODY_BYTES, false).await?;
        let vectors = parse_response(&body, inputs.len()).map_err(|detail| call.invalid(detail))?;
        let dims = vectors.first().map_or(0, Vec::len);
        let expected = *self.dims.get_or_init(|| dims);
        if dims != expected {
            return Err(call.invalid(format!(
                "the server returned vectors of {dims} dimensions, earlier ones had {expected}; did embed.model change on the server?"
            )));
        }
        Ok(vectors)
    }
}

/// The vectors of a `/embeddings` response for `expected` inputs, in input order, or what is wrong.
pub fn parse_response(body: &[u8], expected: usize) -> Result<Vec<Vec<f32>>, String> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not JSON ({e}): {}", http::excerpt(body, None)))?;
    let data = value
        .get("data")
        .and_then(|d| d.as_array())
        .ok_or_else(|| format!("no `data` list in {}", http::excerpt(body, None)))?;
    if data.len() != expected {
        return Err(format!("{} vectors for {expected} inputs", data.len()));
    }
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
    for (position, item) in data.iter().enumerate() {
        let index = match item.get("index") {
            None => position,
            Some(index) => index
                .as_u64()
                .map(|i| i as usize)
                .filter(|i| *i < expected)
                .ok_or_else(|| format!("item {position} has index {index}, outside 0..{expected}"))?,
        };
        let numbers = item
            .get("embedding")
            .and_then(|e| e.as_array())
            .ok_or_else(|| format!("item {position} has no `embedding` list (base64 answers are not supported)"))?;
        let vector: Vec<f32> = numbers
            .iter()
            .map(|n| n.as_f64().map(|x| x as f32).filter(|x| x.is_finite()))
            .collect::<Option<_>>()
            .ok_or_else(|| format!("item {position}'s embedding holds something other than finite numbers"))?;
        if vector.is_empty() {
            return Err(format!("item {position}'s embedding is empty"));
        }
        if slots[index].replace(vector).is_some() {
            return Err(format!("index {index} appears twice"));
        }
    }
    let vectors: Vec<Vec<f32>> = slots.into_iter().map(|v| v.unwrap_or_default()).collect();
    let dims = vectors.first().map_or(0, Vec::len);
    if let Some(odd) = vectors.iter().position(|v| v.len() != dims) {
        return Err(format!("vector {odd} has {} dimensions, vector 0 has {dims}", vectors[odd].len()));
    }
    Ok(vectors)
}

/// At most `max_chars` characters of `text`, cut on a char boundary.
fn cut(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

impl Embedder for OpenAiEmbedder {
    fn model_id(&self) -> String {
        format!("openai:{}:{}", self.model, self.max_tokens)
    }

    fn dims(&self) -> Option<usize> {
        self.dims.get().copied()
    }

    fn max_batch(&self) -> usize {
        self.max_batch
    }

    fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    fn abortable(&self) -> bool {
        true
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        Box::pin(self.embed_all(texts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_reordered_by_index_and_checked() {
        let body = br#"{"data":[{"index":1,"embedding":[0.5,1]},{"index":0,"embedding":[1,0]}],"model":"m"}"#;
        assert_eq!(parse_response(body, 2), Ok(vec![vec![1.0, 0.0], vec![0.5, 1.0]]));
        let no_index = br#"{"data":[{"embedding":[1,2]},{"embedding":[3,4]}]}"#;
        assert_eq!(parse_response(no_index, 2), Ok(vec![vec![1.0, 2.0], vec![3.0, 4.0]]));
        let cases: [(&[u8], usize, &str); 8] = [
            (b"<html>oops</html>", 1, "not JSON"),
            (br#"{"object":"list"}"#, 1, "no `data` list"),
            (br#"{"data":[{"embedding":[1]}]}"#, 2, "1 vectors for 2 inputs"),
            (br#"{"data":[{"index":5,"embedding":[1]}]}"#, 1, "outside 0..1"),
            (br#"{"data":[{"index":0,"embedding":"AAAA"}]}"#, 1, "base64"),
            (br#"{"data":[{"index":0,"embedding":[1,"x"]}]}"#, 1, "finite numbers"),
            (br#"{"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[2]}]}"#, 2, "appears twice"),
            (br#"{"data":[{"embedding":[1,2]},{"embedding":[3]}]}"#, 2, "vector 1 has 1 dimensions"),
        ];
        for (body, expected, says) in cases {
            let err = parse_response(body, expected).unwrap_err();
            assert!(err.contains(says), "{}: {err}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn texts_are_cut_on_char_boundaries() {
        assert_eq!(cut("héllo", 2), "hé");
        assert_eq!(cut("hi", 5), "hi");
        assert_eq!(cut("", 0), "");
    }
}
