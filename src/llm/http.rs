//! The HTTP plumbing the two HTTP providers (`openai`, `anthropic`) share: the client (with the
//! connect timeout), the first-token and total deadlines, status → `LlmError` mapping (401/403 →
//! `Auth`, 429 → `RateLimited` with `Retry-After`, else `Http` with a short, key-redacted body
//! excerpt), the POST with its key header, bounded body reads, a streamed or whole reply read alike
//! into one `Reading` (`exchange`), a stream's events as JSON (`Events::next_json`), the hard cap
//! on answer length and token usage (reported or estimated).

use super::sse::{SseEvent, SseParser};
use crate::llm::{ChatRequest, ChatResponse, LlmConfig, LlmError, OnChunk, TokenUsage};
use crate::tokens::estimate_tokens;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use std::collections::VecDeque;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// A successful non-streaming body larger than this is refused: no real completion comes near.
pub const MAX_BODY_BYTES: usize = 16 << 20;
/// Error bodies are read up to this much, only to quote an excerpt.
const MAX_ERROR_BODY_BYTES: usize = 64 << 10;
/// Longest body excerpt quoted in an `Http` error.
pub const EXCERPT_CHARS: usize = 300;

/// The client for one provider: connect timeout set here; first-token and total deadlines are
/// enforced per call (`Deadlines`) so their errors say which one fired.
pub fn client(provider: &str, config: &LlmConfig) -> Result<reqwest::Client, LlmError> {
    reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .user_agent(concat!("reverie/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| LlmError::Config {
            provider: provider.into(),
            detail: format!("cannot build an HTTP client: {e}"),
        })
}

/// `base` + `path` (`path` starts with `/`), checked to be an http(s) URL.
pub fn endpoint(provider: &str, base: &str, path: &str) -> Result<reqwest::Url, LlmError> {
    let joined = format!("{}{path}", base.trim().trim_end_matches('/'));
    let bad = |why: String| LlmError::Config {
        provider: provider.into(),
        detail: format!("llm.base_url {base:?} is not usable ({why}); use e.g. http://localhost:11434/v1"),
    };
    let url = reqwest::Url::parse(&joined).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!("scheme {:?}, expected http or https", url.scheme())));
    }
    Ok(url)
}

/// The URL as shown in errors and logs: without a password, should the base_url carry one.
pub fn shown(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("redacted"));
    }
    url.to_string()
}

/// True when `url` points at this machine (loopback), so no data leaves it.
pub fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// When each phase of one attempt must be over. First token: the response headers and then the
/// first SSE event (streaming) or the first body byte (not). A non-streaming server usually sends
/// nothing before the whole answer is ready, so there `first_token_timeout` bounds generation
/// itself; long answers should stream.
#[derive(Clone, Copy, Debug)]
pub struct Deadlines {
    first_token: Instant,
    total: Instant,
    first_token_after: Duration,
    total_after: Duration,
}

impl Deadlines {
    pub fn start(config: &LlmConfig) -> Deadlines {
        let now = Instant::now();
        Deadlines {
            first_token: now + config.first_token_timeout,
            total: now + config.total_timeout,
            first_token_after: config.first_token_timeout,
            total_after: config.total_timeout,
        }
    }

    /// Awaits `fut`, failing with the phase whose deadline comes first: before the first token
    /// both apply, after it only the total one.
    pub async fn within<F: Future>(&self, provider: &str, first_seen: bool, fut: F) -> Result<F::Output, LlmError> {
        let (at, phase, after) = if !first_seen && self.first_token < self.total {
            (self.first_token, "first_token", self.first_token_after)
        } else {
            (self.total, "total", self.total_after)
        };
        tokio::time::timeout_at(at, fut).await.map_err(|_| LlmError::Timeout {
            provider: provider.into(),
            phase,
            after,
        })
    }
}

/// One attempt against one endpoint: what every error message needs to say.
pub struct Call<'a> {
    pub provider: &'static str,
    pub url: String,
    /// The variable the key comes from, for the `Auth` message (name only).
    pub key_env: String,
    /// The key, only to redact it from quoted error bodies.
    pub key: Option<&'a str>,
    pub connect_timeout: Duration,
    pub deadlines: Deadlines,
}

impl Call<'_> {
    pub fn invalid(&self, detail: impl Into<String>) -> LlmError {
        LlmError::InvalidResponse { provider: self.provider.into(), detail: detail.into() }
    }

    /// Sends the request and returns the response if its status is a success; otherwise the
    /// error the status means. Headers must arrive before the first-token deadline.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, LlmError> {
        let response =
            self.deadlines.within(self.provider, false, request.send()).await?.map_err(|e| self.send_error(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        Err(self.status_error(response).await)
    }

    fn send_error(&self, e: &reqwest::Error) -> LlmError {
        // No request or read timeout is set on the client, so a reqwest timeout is the connect one.
        if e.is_timeout() {
            return LlmError::Timeout { provider: self.provider.into(), phase: "connect", after: self.connect_timeout };
        }
        if e.is_builder() {
            return LlmError::Config {
                provider: self.provider.into(),
                detail: format!("cannot build the request: {e}"),
            };
        }
        let detail = root_cause(e);
        let detail = if e.is_connect() { detail } else { format!("no response: {detail}") };
        LlmError::Connect { provider: self.provider.into(), url: self.url.clone(), detail }
    }

    async fn status_error(&self, mut response: reqwest::Response) -> LlmError {
        let status = response.status().as_u16();
        let provider = self.provider.to_string();
        match status {
            // The body may echo (part of) the key; it is not quoted at all.
            401 | 403 => LlmError::Auth { provider, status, env_var: self.key_env.clone() },
            429 => LlmError::RateLimited { provider, retry_after: retry_after(response.headers(), SystemTime::now()) },
            _ => {
                // The body only decorates the error: if it does not come in time, say without it.
                let body = self.read_limited(&mut response, MAX_ERROR_BODY_BYTES, true).await.unwrap_or_default();
                let mut body = excerpt(&body, self.key);
                if body.is_empty() {
                    body.push_str("(empty body)");
                }
                if status == 404 {
                    body.push_str(" (check llm.base_url and llm.model)");
                }
                LlmError::Http { provider, status, body }
            }
        }
    }

    /// The whole body, up to `limit` bytes (an error beyond, unless `truncate`); the first byte
    /// must come before the first-token deadline, the rest before the total one.
    pub async fn read_limited(
        &self,
        response: &mut reqwest::Response,
        limit: usize,
        truncate: bool,
    ) -> Result<Vec<u8>, LlmError> {
        let mut body = Vec::new();
        let mut first_seen = false;
        loop {
            let chunk = self
                .deadlines
                .within(self.provider, first_seen, response.chunk())
                .await?
                .map_err(|e| self.invalid(format!("the connection broke mid-body: {}", root_cause(&e))))?;
            let Some(chunk) = chunk else { break };
            first_seen = true;
            if body.len() + chunk.len() > limit {
                if truncate {
                    body.extend_from_slice(&chunk[..limit - body.len()]);
                    break;
                }
                return Err(self.invalid(format!("the response body is larger than {} MiB", limit >> 20)));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Reads the body as server-sent events.
    pub fn events(&self, response: reqwest::Response) -> Events<'_> {
        Events {
            call: self,
            response,
            parser: SseParser::new(),
            queue: VecDeque::new(),
            first_seen: false,
            ended: false,
        }
    }
}

/// A response body read as events, under the call's deadlines: the first event must come
/// before the first-token deadline (comments do not count), every later one before the total.
pub struct Events<'c> {
    call: &'c Call<'c>,
    response: reqwest::Response,
    parser: SseParser,
    queue: VecDeque<SseEvent>,
    first_seen: bool,
    ended: bool,
}

/// What `Events::next` yields.
enum Next {
    Event(SseEvent),
    /// The last event, flushed at the end of the stream without its closing blank line: if it
    /// does not parse, the stream was cut mid-event.
    LastEvent(SseEvent),
    /// The connection closed.
    End,
}

impl<'c> Events<'c> {
    /// The call these events answer.
    pub fn call(&self) -> &'c Call<'c> {
        self.call
    }
}

impl Events<'_> {
    /// The next event's name and its data parsed as JSON; `None` when the data is `done`, the marker
    /// some streams close with (OpenAI's `[DONE]`). The connection closing first, or its last event
    /// cut mid-JSON, is a truncation: "the stream ended before `{end}`", the event that closes an answer.
    pub async fn next_json<T: serde::de::DeserializeOwned>(
        &mut self,
        end: &str,
        done: Option<&str>,
    ) -> Result<Option<(String, T)>, LlmError> {
        let call = self.call;
        let truncated = || call.invalid(format!("the stream ended before `{end}`: the connection closed mid-answer"));
        let (event, last) = match self.next().await? {
            Next::Event(event) => (event, false),
            Next::LastEvent(event) => (event, true),
            Next::End => return Err(truncated()),
        };
        let data = event.data.trim();
        if done == Some(data) {
            return Ok(None);
        }
        match serde_json::from_str(data) {
            Ok(value) => Ok(Some((event.event, value))),
            // An event cut by the connection closing is a truncation, not a server speaking nonsense.
            Err(_) if last => Err(truncated()),
            Err(e) => Err(call.invalid(format!("invalid JSON in a `{}` event: {e}", event.event))),
        }
    }

    async fn next(&mut self) -> Result<Next, LlmError> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                self.first_seen = true;
                return Ok(Next::Event(event));
            }
            if self.ended {
                return Ok(Next::End);
            }
            let call = self.call;
            let chunk = call
                .deadlines
                .within(call.provider, self.first_seen, self.response.chunk())
                .await?
                .map_err(|e| call.invalid(format!("the connection broke mid-answer: {}", root_cause(&e))))?;
            match chunk {
                Some(bytes) => {
                    let events = self.parser.push(&bytes).map_err(|e| call.invalid(e.to_string()))?;
                    self.queue.extend(events);
                }
                None => {
                    self.ended = true;
                    if let Some(event) = self.parser.finish() {
                        self.first_seen = true;
                        return Ok(Next::LastEvent(event));
                    }
                }
            }
        }
    }
}

/// Whether the server answered with Server-Sent Events (some ignore `stream: true` and send one JSON
/// document, which callers take as is).
fn is_event_stream(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/event-stream"))
}

/// What one attempt read, whatever the wire format: the answer (capped), the model the server named,
/// why it stopped (in the OpenAI words callers check: `stop`, `length`) and the token counts it
/// reported.
pub struct Reading {
    pub answer: Answer,
    pub model: Option<String>,
    pub finish_reason: Option<String>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
}

impl Reading {
    pub fn new(request: &ChatRequest) -> Reading {
        Reading {
            answer: Answer::new(request.max_tokens),
            model: None,
            finish_reason: None,
            prompt_tokens: None,
            completion_tokens: None,
        }
    }

    /// Adds `text` to the answer up to the cap, passing what is kept on to `on_chunk` when there is one.
    pub fn push_text(&mut self, text: &str, on_chunk: Option<OnChunk<'_>>) {
        let kept = self.answer.push(text);
        if let Some(on_chunk) = on_chunk.filter(|_| !kept.is_empty()) {
            on_chunk(kept);
        }
    }

    /// The response, `latency` after the call began: a cut answer finishes with `length`; the model is
    /// the one the server named, else `model` (the one asked for); usage as reported, else estimated.
    fn into_response(self, request: &ChatRequest, model: &str, latency: Duration) -> ChatResponse {
        let finish_reason = if self.answer.cut { Some("length".to_string()) } else { self.finish_reason };
        ChatResponse {
            usage: usage(request, &self.answer.text, self.prompt_tokens, self.completion_tokens),
            text: self.answer.text,
            model: self.model.filter(|m| !m.is_empty()).unwrap_or_else(|| model.to_string()),
            finish_reason,
            attempts: 1,
            latency,
        }
    }
}

/// How one API's replies are read: as one JSON document or as a stream of events, each in its own
/// wire format.
pub trait Reply {
    /// The reply as one JSON document, into `reading`.
    fn parse_body(call: &Call<'_>, body: &[u8], reading: &mut Reading) -> Result<(), LlmError>;
    /// The reply as Server-Sent Events (of `events.call()`), into `reading`, each piece of the answer
    /// passed to `on_chunk` as it comes.
    fn read_stream(
        events: Events<'_>,
        reading: &mut Reading,
        on_chunk: OnChunk<'_>,
    ) -> impl Future<Output = Result<(), LlmError>> + Send;
    /// What the API knows of a reading once it is over (none of it, unless it says).
    fn settle(_reading: &mut Reading, _request: &ChatRequest) {}
}

/// `body` as JSON; a body that cannot be encoded is a configuration error.
pub fn encode(provider: &str, body: &impl serde::Serialize) -> Result<Vec<u8>, LlmError> {
    serde_json::to_vec(body)
        .map_err(|e| LlmError::Config { provider: provider.into(), detail: format!("cannot encode the request: {e}") })
}

/// A chat request's POST of the JSON `body` to `url`, accepting an event stream when `request`
/// streams and one JSON document otherwise.
pub fn post(
    client: &reqwest::Client,
    url: &reqwest::Url,
    request: &ChatRequest,
    body: Vec<u8>,
) -> reqwest::RequestBuilder {
    let accept = if request.stream { "text/event-stream" } else { "application/json" };
    client.post(url.clone()).header(CONTENT_TYPE, "application/json").header(ACCEPT, accept).body(body)
}

/// A header that carries a key (`x-api-key: …`, `Authorization: Bearer …`), marked sensitive; a key
/// with characters no header allows is a configuration error that names `key_env`, never the key.
pub fn key_header(provider: &str, value: &str, key_env: &str) -> Result<HeaderValue, LlmError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| LlmError::Config {
        provider: provider.into(),
        detail: format!("${key_env} holds characters not allowed in an HTTP header; check the key"),
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// Sends `request` (built by a provider as `builder`) and reads the reply: as a stream when one was
/// asked for and the server sends one, else as one JSON document (some servers ignore `stream: true`:
/// the document is taken as is, and its whole answer goes to `on_chunk` at once, as a stream's pieces
/// would). The response's latency counts from `started`; `model` is the one asked for.
pub async fn exchange<R: Reply>(
    call: &Call<'_>,
    builder: reqwest::RequestBuilder,
    request: &ChatRequest,
    on_chunk: OnChunk<'_>,
    model: &str,
    started: std::time::Instant,
) -> Result<ChatResponse, LlmError> {
    let mut response = call.send(builder).await?;
    let mut reading = Reading::new(request);
    if request.stream && is_event_stream(&response) {
        R::read_stream(call.events(response), &mut reading, on_chunk).await?;
    } else {
        let body = call.read_limited(&mut response, MAX_BODY_BYTES, false).await?;
        R::parse_body(call, &body, &mut reading)?;
        if request.stream && !reading.answer.text.is_empty() {
            on_chunk(&reading.answer.text);
        }
    }
    R::settle(&mut reading, request);
    Ok(reading.into_response(request, model, started.elapsed()))
}

/// The innermost error message: "Connection refused (os error 111)" rather than three layers
/// of "error sending request".
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// At most `EXCERPT_CHARS` characters of an error body, whitespace collapsed, the key (should
/// the server echo it) replaced. A JSON `error.message` (OpenAI, Anthropic, most proxies) is
/// preferred to the raw body.
pub fn excerpt(body: &[u8], key: Option<&str>) -> String {
    let raw = String::from_utf8_lossy(body);
    let message = serde_json::from_str::<serde_json::Value>(&raw).ok().and_then(|v| error_message(&v));
    let mut text = message.unwrap_or_else(|| raw.into_owned());
    if let Some(key) = key.filter(|k| !k.is_empty()) {
        text = text.replace(key, "[redacted]");
    }
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= EXCERPT_CHARS {
        return collapsed;
    }
    let mut cut: String = collapsed.chars().take(EXCERPT_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// `error.message`, `error` as a string, or a top-level `message`, from an error document.
pub fn error_message(value: &serde_json::Value) -> Option<String> {
    let error = value.get("error");
    let message = match error {
        Some(serde_json::Value::String(s)) => Some(s.as_str()),
        Some(e) => e.get("message").and_then(|m| m.as_str()),
        None => value.get("message").and_then(|m| m.as_str()),
    }?;
    Some(message.to_string())
}

/// How long a 429 asks us to wait: `Retry-After` as seconds or an HTTP date, or OpenAI's
/// `retry-after-ms`. A date in the past means now.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let ms = headers.get("retry-after-ms").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok());
    if let Some(ms) = ms.filter(|ms| ms.is_finite() && *ms >= 0.0) {
        return Some(Duration::from_secs_f64((ms / 1000.0).min(1e6)));
    }
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An HTTP date in any of the three forms RFC 9110 §5.6.7 requires recipients to accept:
/// `Sun, 06 Nov 1994 08:49:37 GMT`, `Sunday, 06-Nov-94 08:49:37 GMT`, `Sun Nov  6 08:49:37 1994`.
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let (day, month, year, time) = match parts.as_slice() {
        [_, day, month, year, time, "GMT"] => (*day, *month, year.parse::<i64>().ok()?, *time),
        [_, date, time, "GMT"] => {
            let mut it = date.split('-');
            let (day, month, year) = (it.next()?, it.next()?, it.next()?);
            let year = year.parse::<i64>().ok()?;
            // Two-digit years: RFC 9110 says to read them as the nearest past century match.
            (
                day,
                month,
                if year < 70 {
                    2000 + year
                } else if year < 100 {
                    1900 + year
                } else {
                    year
                },
                *time,
            )
        }
        [_, month, day, time, year] => (*day, *month, year.parse::<i64>().ok()?, *time),
        _ => return None,
    };
    let day = day.parse::<i64>().ok().filter(|d| (1..=31).contains(d))?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| *m == month)? as i64
        + 1;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..61).contains(&sec) {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The answer being assembled, with the hard cap on its length.
///
/// A server that ignores `max_tokens` (some local servers do, and a broken one may never stop)
/// must not make us read without end. The cap is `2 × max_tokens + 64` estimated tokens: twice,
/// because `tokens::estimate_tokens` may overcount a real answer (long whitespace runs, prose),
/// plus slack for tiny budgets. In characters that is `cap × 7 / 2`, the count the estimate
/// (3.5 characters per token) rates at exactly `cap` tokens; a unit test keeps the two in step.
/// Text beyond is dropped and the answer ends with finish reason `length`, as if the server had
/// stopped at `max_tokens` itself: the caller gets a bounded answer it can recognise as cut.
pub struct Answer {
    pub text: String,
    chars: usize,
    max_chars: usize,
    pub cut: bool,
}

impl Answer {
    pub fn new(max_tokens: u32) -> Answer {
        Answer { text: String::new(), chars: 0, max_chars: cap_chars(max_tokens), cut: false }
    }

    /// Appends `delta` up to the cap; returns the part kept (to pass on to `on_chunk`).
    pub fn push<'d>(&mut self, delta: &'d str) -> &'d str {
        if self.cut {
            return "";
        }
        let room = self.max_chars - self.chars;
        let kept = match delta.char_indices().nth(room) {
            Some((end, _)) => {
                self.cut = true;
                &delta[..end]
            }
            None => delta,
        };
        self.chars += kept.chars().count();
        self.text.push_str(kept);
        kept
    }
}

/// Characters allowed for an answer of `max_tokens` (see `Answer`).
pub fn cap_chars(max_tokens: u32) -> usize {
    let cap_tokens = 2 * max_tokens as usize + 64;
    cap_tokens * 7 / 2
}

/// Usage as reported, any part missing estimated from the text (and marked so).
pub fn usage(request: &ChatRequest, text: &str, prompt: Option<u64>, completion: Option<u64>) -> TokenUsage {
    let estimated = prompt.is_none() || completion.is_none();
    let prompt = prompt.unwrap_or_else(|| {
        let schema = request.json_schema.as_ref().map_or(0, |s| estimate_tokens(&s.to_string()));
        let messages: usize = request.messages.iter().map(|m| estimate_tokens(&m.content)).sum();
        (estimate_tokens(&request.system) + messages + schema) as u64
    });
    let completion = completion.unwrap_or_else(|| estimate_tokens(text) as u64);
    TokenUsage { prompt_tokens: prompt, completion_tokens: completion, estimated }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{ChatRequest, Message, Role};
    use crate::tokens::estimate_tokens;
    use reqwest::header::{HeaderMap, HeaderValue};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn http_dates_in_all_three_forms() {
        let expected = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(expected));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(expected));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(expected));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(UNIX_EPOCH));
        assert_eq!(
            parse_http_date("Wed, 29 Feb 2040 23:59:59 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(2_214_172_799))
        );
        for bad in
            ["", "soon", "Sun, 06 Nov 1994 08:49 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 32 Nov 1994 08:49:37 GMT"]
        {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_seconds_dates_and_ms() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777);
        let headers = |k: &'static str, v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(k, HeaderValue::from_static(v));
            h
        };
        assert_eq!(retry_after(&headers("retry-after", "7"), now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after(&headers("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(retry_after(&headers("retry-after", "Sun, 06 Nov 1994 08:00:00 GMT"), now), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers("retry-after-ms", "1500"), now), Some(Duration::from_millis(1500)));
        assert_eq!(retry_after(&headers("retry-after", "later"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn excerpts_are_short_redacted_and_prefer_the_message() {
        let long = "x".repeat(1000);
        assert_eq!(excerpt(long.as_bytes(), None).chars().count(), EXCERPT_CHARS);
        assert_eq!(excerpt(br#"{"error":{"message":"model  not\nfound"}}"#, None), "model not found");
        assert_eq!(excerpt(b"bad key sk-123 given", Some("sk-123")), "bad key [redacted] given");
        assert_eq!(excerpt(b"\xff\xfe", None), "\u{fffd}\u{fffd}");
    }

    #[test]
    fn the_cap_in_characters_matches_the_token_estimate() {
        for max_tokens in [0u32, 1, 7, 20, 100, 4096] {
            let cap_tokens = 2 * max_tokens as usize + 64;
            let chars = cap_chars(max_tokens);
            assert!(estimate_tokens(&"a".repeat(chars)) <= cap_tokens);
            assert!(estimate_tokens(&"a".repeat(chars + 1)) > cap_tokens);
        }
    }

    #[test]
    fn answers_are_cut_at_the_cap_on_a_char_boundary() {
        let mut answer = Answer::new(0);
        let max = cap_chars(0);
        let delta = "é".repeat(100);
        let mut kept = 0;
        for _ in 0..5 {
            kept += answer.push(&delta).chars().count();
        }
        assert_eq!(kept, max);
        assert_eq!(answer.text.chars().count(), max);
        assert!(answer.cut);
        assert_eq!(answer.push("more"), "");
        let mut exact = Answer::new(0);
        exact.push(&"a".repeat(max));
        assert!(!exact.cut);
    }

    #[test]
    fn usage_is_reported_or_estimated() {
        let request = ChatRequest {
            system: "s".repeat(7),
            messages: vec![Message { role: Role::User, content: "u".repeat(14) }],
            max_tokens: 10,
            temperature: 0.0,
            json_schema: None,
            stream: false,
        };
        let reported = usage(&request, "ignored", Some(5), Some(6));
        assert_eq!((reported.prompt_tokens, reported.completion_tokens, reported.estimated), (5, 6, false));
        let estimated = usage(&request, &"t".repeat(7), None, None);
        assert_eq!((estimated.prompt_tokens, estimated.completion_tokens, estimated.estimated), (6, 2, true));
        let half = usage(&request, "", Some(9), None);
        assert_eq!((half.prompt_tokens, half.estimated), (9, true));
    }
}
