//! Wire tests for the LLM providers: the real `openai` and `anthropic` clients, wrapped in
//! `Resilient` as `llm::from_config` builds them, against a loopback HTTP/1.1 server that speaks
//! their wire formats (`util/http.rs`). Each test scripts the server's reply and asserts both what
//! comes back and what the server saw. Timeouts are short config values, so the file runs in a few
//! seconds; tests wait on server events and channels (with timeouts), never on sleeps.

use crate::util::http::{Event, Framing, Reply, Server};
use reverie::llm::{
    self, ChatRequest, ChatResponse, LlmConfig, LlmError, LlmProvider, Message, Provider, Resilient, Role,
};
use reverie::tokens::estimate_tokens;
use serde_json::{Value, json};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// Test keys live in variables only this test binary uses.
const KEY_ENV: &str = "REVERIE_WIRE_TEST_KEY";
const KEY: &str = "sk-wire-secret-4242";
const ANTHROPIC_KEY_ENV: &str = "REVERIE_WIRE_TEST_ANTHROPIC_KEY";
const ANTHROPIC_KEY: &str = "sk-ant-wire-secret-77";

fn init() {
    static ONCE: Once = Once::new();
    // SAFETY: every test calls `init` before anything else, so no other thread of this process reads
    // the environment while it is written (the others wait on the `Once`).
    ONCE.call_once(|| unsafe {
        std::env::set_var(KEY_ENV, KEY);
        std::env::set_var(ANTHROPIC_KEY_ENV, ANTHROPIC_KEY);
    });
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config(provider: LlmProvider, base: String) -> LlmConfig {
    LlmConfig {
        provider,
        model: "test-model".into(),
        base_url: Some(base),
        api_key_env: None,
        max_concurrency: 4,
        connect_timeout: ms(1000),
        first_token_timeout: ms(2000),
        total_timeout: ms(5000),
        max_retries: 0,
        ..LlmConfig::default()
    }
}

fn openai(server: &Server) -> LlmConfig {
    config(LlmProvider::OpenAi, format!("{}/v1", server.url()))
}

fn anthropic(server: &Server) -> LlmConfig {
    LlmConfig { api_key_env: Some(ANTHROPIC_KEY_ENV.into()), ..config(LlmProvider::Anthropic, server.url()) }
}

/// The provider as `from_config` builds it, with millisecond backoff so retries are quick.
fn build(config: &LlmConfig) -> Resilient {
    let built = llm::from_config(config).expect("valid config").expect("a provider");
    Resilient::new(built.inner().clone(), config).with_backoff(ms(10), ms(40))
}

fn request(stream: bool) -> ChatRequest {
    ChatRequest {
        system: "You are terse.".into(),
        messages: vec![Message { role: Role::User, content: "Say hello.".into() }],
        max_tokens: 64,
        temperature: 0.2,
        json_schema: None,
        stream,
    }
}

/// Runs one call; returns its result and the chunks streamed to the caller.
async fn run(provider: &dyn Provider, request: &ChatRequest) -> (Result<ChatResponse, LlmError>, Vec<String>) {
    let chunks = Mutex::new(Vec::new());
    let result = provider.chat(request, &|chunk| chunks.lock().unwrap().push(chunk.to_string())).await;
    (result, chunks.into_inner().unwrap())
}

// --- OpenAI wire format -------------------------------------------------------------------------

fn oa_event(value: Value) -> String {
    format!("data: {value}\n\n")
}

fn oa_delta(content: &str) -> String {
    oa_event(json!({"id": "c1", "object": "chat.completion.chunk", "model": "served-model",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]}))
}

fn oa_finish(reason: &str) -> String {
    oa_event(json!({"id": "c1", "object": "chat.completion.chunk", "model": "served-model",
        "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}))
}

fn oa_usage(prompt: u64, completion: u64) -> String {
    oa_event(json!({"id": "c1", "object": "chat.completion.chunk", "model": "served-model", "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}}))
}

const DONE: &str = "data: [DONE]\n\n";

fn oa_completion(text: &str, usage: Option<(u64, u64)>) -> Value {
    let mut body = json!({"id": "c1", "object": "chat.completion", "model": "served-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]});
    if let Some((prompt, completion)) = usage {
        body["usage"] = json!({"prompt_tokens": prompt, "completion_tokens": completion});
    }
    body
}

// --- Anthropic wire format ----------------------------------------------------------------------

fn an_event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

fn an_start(input_tokens: u64) -> String {
    an_event(
        "message_start",
        json!({"type": "message_start", "message": {"id": "m1", "type": "message",
        "role": "assistant", "model": "claude-served", "content": [], "stop_reason": null,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1}}}),
    )
}

fn an_delta(text: &str) -> String {
    an_event(
        "content_block_delta",
        json!({"type": "content_block_delta", "index": 0,
        "delta": {"type": "text_delta", "text": text}}),
    )
}

fn an_stream(deltas: &[&str], input_tokens: u64, output_tokens: u64) -> Reply {
    let mut reply = Reply::sse().send(an_start(input_tokens)).send(an_event(
        "content_block_start",
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ));
    reply = reply.send(an_event("ping", json!({"type": "ping"})));
    for delta in deltas {
        reply = reply.send(an_delta(delta));
    }
    reply
        .send(an_event("content_block_stop", json!({"type": "content_block_stop", "index": 0})))
        .send(an_event(
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": output_tokens}}),
        ))
        .send(an_event("message_stop", json!({"type": "message_stop"})))
}

// --- OpenAI -------------------------------------------------------------------------------------

#[tokio::test]
async fn openai_non_streaming_reads_text_usage_model_and_finish_reason() {
    init();
    let server = Server::always(Reply::json(200, &oa_completion("Hello there.", Some((12, 3)))));
    let provider = build(&openai(&server));
    let (result, chunks) = run(&provider, &request(false)).await;
    let response = result.unwrap();
    assert_eq!(response.text, "Hello there.");
    assert_eq!((response.usage.prompt_tokens, response.usage.completion_tokens), (12, 3));
    assert!(!response.usage.estimated);
    assert_eq!(response.model, "served-model");
    assert_eq!(response.finish_reason.as_deref(), Some("stop"));
    assert_eq!(response.attempts, 1);
    assert!(chunks.is_empty(), "a non-streaming call streams nothing: {chunks:?}");
}

#[tokio::test]
async fn openai_streaming_reads_the_include_usage_chunk() {
    init();
    let reply = Reply::sse()
        .send(oa_delta("Hel"))
        .send(oa_delta("lo"))
        .send(oa_finish("stop"))
        .send(oa_usage(20, 2))
        .send(DONE);
    let server = Server::always(reply);
    let provider = build(&openai(&server));
    let (result, chunks) = run(&provider, &request(true)).await;
    let response = result.unwrap();
    assert_eq!(response.text, "Hello");
    assert_eq!(chunks, ["Hel", "lo"]);
    assert_eq!(
        (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.estimated),
        (20, 2, false)
    );
    assert_eq!(response.finish_reason.as_deref(), Some("stop"));
    assert_eq!(response.model, "served-model");
}

#[tokio::test]
async fn openai_streaming_without_usage_is_estimated() {
    init();
    let reply = Reply::sse().send(oa_delta("Hello, ")).send(oa_delta("world")).send(oa_finish("stop")).send(DONE);
    let server = Server::always(reply);
    let provider = build(&openai(&server));
    let request = request(true);
    let response = run(&provider, &request).await.0.unwrap();
    assert_eq!(response.text, "Hello, world");
    assert!(response.usage.estimated);
    assert_eq!(response.usage.completion_tokens, estimate_tokens("Hello, world") as u64);
    let prompt = estimate_tokens(&request.system) + estimate_tokens(&request.messages[0].content);
    assert_eq!(response.usage.prompt_tokens, prompt as u64);
}

#[tokio::test]
async fn openai_request_shape_with_schema_stream_and_key() {
    init();
    let reply = Reply::sse().send(oa_delta("{}")).send(oa_finish("stop")).send(DONE);
    let server = Server::always(reply);
    let config = LlmConfig { api_key_env: Some(KEY_ENV.into()), ..openai(&server) };
    let provider = build(&config);
    let schema = json!({"type": "object", "properties": {"summary": {"type": "string"}}});
    let request = ChatRequest { json_schema: Some(schema.clone()), ..request(true) };
    run(&provider, &request).await.0.unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("POST", "/v1/chat/completions"));
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    let body = sent.json();
    assert_eq!(body["model"], "test-model");
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello."}])
    );
    assert_eq!(body["max_tokens"], 64);
    assert_eq!(body["temperature"], json!(0.2));
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(
        body["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "reverie", "schema": schema, "strict": false}})
    );
}

#[tokio::test]
async fn openai_request_shape_without_key_or_schema() {
    init();
    let server = Server::always(Reply::json(200, &oa_completion("ok", None)));
    let provider = build(&openai(&server));
    let response = run(&provider, &request(false)).await.0.unwrap();
    assert!(response.usage.estimated, "no usage in the body: estimated");

    let sent = &server.requests()[0];
    assert_eq!(sent.header("authorization"), None, "a local server gets no Authorization header");
    let body = sent.json();
    assert_eq!(body["stream"], false);
    assert!(body.get("stream_options").is_none(), "{body}");
    assert!(body.get("response_format").is_none(), "{body}");
    assert_eq!(body["messages"][0]["role"], "system");
}

// --- Anthropic ----------------------------------------------------------------------------------

#[tokio::test]
async fn anthropic_streaming_reads_text_usage_and_stop_reason() {
    init();
    let server = Server::always(an_stream(&["Hel", "lo"], 25, 7));
    let provider = build(&anthropic(&server));
    let (result, chunks) = run(&provider, &request(true)).await;
    let response = result.unwrap();
    assert_eq!(response.text, "Hello");
    assert_eq!(chunks, ["Hel", "lo"]);
    assert_eq!(
        (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.estimated),
        (25, 7, false)
    );
    assert_eq!(response.finish_reason.as_deref(), Some("stop"), "end_turn is reported as stop");
    assert_eq!(response.model, "claude-served");

    let sent = &server.requests()[0];
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("POST", "/v1/messages"));
    assert_eq!(sent.header("x-api-key"), Some(ANTHROPIC_KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("authorization"), None);
    let body = sent.json();
    assert_eq!(body["stream"], true);
    assert_eq!(body["system"], "You are terse.");
    assert_eq!(body["messages"], json!([{"role": "user", "content": "Say hello."}]));
    assert_eq!(body["max_tokens"], 64);
    assert_eq!(body["model"], "test-model");
}

#[tokio::test]
async fn anthropic_non_streaming_reads_content_and_usage_and_states_the_schema() {
    init();
    let body = json!({"id": "m1", "type": "message", "role": "assistant", "model": "claude-served",
        "content": [{"type": "text", "text": "{\"summary\":"}, {"type": "text", "text": "\"hi\"}"}],
        "stop_reason": "max_tokens", "usage": {"input_tokens": 40, "output_tokens": 64}});
    let server = Server::always(Reply::json(200, &body));
    let provider = build(&anthropic(&server));
    let schema = json!({"type": "object", "required": ["summary"]});
    let request = ChatRequest {
        json_schema: Some(schema.clone()),
        messages: vec![
            Message { role: Role::System, content: "Be exact.".into() },
            Message { role: Role::User, content: "Summarise.".into() },
        ],
        ..request(false)
    };
    let response = run(&provider, &request).await.0.unwrap();
    assert_eq!(response.text, "{\"summary\":\"hi\"}");
    assert_eq!(
        (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.estimated),
        (40, 64, false)
    );
    assert_eq!(response.finish_reason.as_deref(), Some("length"), "max_tokens is reported as length");

    let sent = &server.requests()[0];
    assert_eq!(sent.header("x-api-key"), Some(ANTHROPIC_KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    let body = sent.json();
    assert_eq!(body["stream"], false);
    let system = body["system"].as_str().unwrap();
    assert!(system.starts_with("You are terse.\n\nBe exact."), "{system}");
    assert!(system.contains(&schema.to_string()), "the schema is stated in the system prompt: {system}");
    assert_eq!(body["messages"], json!([{"role": "user", "content": "Summarise."}]), "no system role in messages");
    assert!(body.get("response_format").is_none());
}

#[tokio::test]
async fn anthropic_error_event_before_output_is_retried_but_not_after() {
    init();
    let overloaded =
        an_event("error", json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}));
    let before = overloaded.clone();
    let server = Server::start(move |n, _| match n {
        0 => Reply::sse().send(an_start(5)).send(before.clone()),
        _ => an_stream(&["ok"], 5, 1),
    });
    let provider = build(&LlmConfig { max_retries: 3, ..anthropic(&server) });
    let response = run(&provider, &request(true)).await.0.unwrap();
    assert_eq!((response.text.as_str(), response.attempts), ("ok", 2));

    // Once "Hel" reached the caller, a retry would send it again: the error is returned instead.
    let server = Server::always(Reply::sse().send(an_start(5)).send(an_delta("Hel")).send(overloaded));
    let provider = build(&LlmConfig { max_retries: 3, ..anthropic(&server) });
    let (result, chunks) = run(&provider, &request(true)).await;
    assert!(matches!(result, Err(LlmError::Http { status: 529, .. })), "{result:?}");
    assert_eq!(chunks, ["Hel"]);
    assert_eq!(server.requests().len(), 1);
}

// --- Status codes and retries -------------------------------------------------------------------

#[tokio::test]
async fn rate_limited_then_success_waits_the_retry_after() {
    init();
    let server = Server::start(|n, _| match n {
        0 => Reply::json(429, &json!({"error": {"message": "slow down"}})).header("retry-after", "1"),
        _ => Reply::json(200, &oa_completion("fine", Some((1, 1)))),
    });
    let provider = build(&LlmConfig { max_retries: 3, ..openai(&server) });
    let started = Instant::now();
    let response = run(&provider, &request(false)).await.0.unwrap();
    let elapsed = started.elapsed();
    assert_eq!((response.text.as_str(), response.attempts), ("fine", 2));
    assert!(elapsed >= ms(950) && elapsed < ms(2500), "waited {elapsed:?} for Retry-After: 1");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    init();
    let server = Server::start(|n, _| match n {
        0 => Reply::json(500, &json!({"error": {"message": "boom"}})),
        _ => Reply::json(200, &oa_completion("recovered", None)),
    });
    let provider = build(&LlmConfig { max_retries: 3, ..openai(&server) });
    let response = run(&provider, &request(false)).await.0.unwrap();
    assert_eq!((response.text.as_str(), response.attempts), ("recovered", 2));
}

#[tokio::test]
async fn server_error_forever_gives_up_after_max_retries() {
    init();
    let long_body = format!("upstream exploded: {}", "x".repeat(2000));
    let server = Server::always(Reply::new(500).header("content-type", "text/plain").send(long_body));
    let provider = build(&LlmConfig { max_retries: 2, ..openai(&server) });
    let result = run(&provider, &request(false)).await.0;
    let Err(LlmError::Http { status: 500, body, provider }) = result else { panic!("{result:?}") };
    assert_eq!(provider, "openai");
    assert!(body.starts_with("upstream exploded: xxx"), "{body}");
    assert!(body.chars().count() <= 300, "excerpt of {} chars", body.chars().count());
    assert_eq!(server.requests().len(), 3, "max_retries + 1 attempts");
}

#[tokio::test]
async fn unauthorized_is_not_retried_and_never_shows_the_key() {
    init();
    let echo = json!({"error": {"message": format!("Incorrect API key provided: {KEY}")}});
    let server = Server::always(Reply::json(401, &echo));
    let provider = build(&LlmConfig { max_retries: 3, api_key_env: Some(KEY_ENV.into()), ..openai(&server) });
    let result = run(&provider, &request(false)).await.0;
    let error = result.unwrap_err();
    assert!(matches!(&error, LlmError::Auth { status: 401, env_var, .. } if env_var == KEY_ENV), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(KEY_ENV), "{message}");
    assert!(!message.contains(KEY) && !format!("{error:?}").contains(KEY), "{message}");
    assert!(!format!("{provider:?}").contains(KEY));
    assert_eq!(server.requests().len(), 1, "an auth error is not retried");
    assert_eq!(server.requests()[0].header("authorization"), Some(format!("Bearer {KEY}").as_str()));
}

#[tokio::test]
async fn other_statuses_quote_a_short_redacted_excerpt() {
    init();
    let body = format!("bad request from key {KEY}; {}", "detail ".repeat(100));
    let server = Server::always(Reply::new(400).send(body));
    let provider = build(&LlmConfig { max_retries: 3, api_key_env: Some(KEY_ENV.into()), ..openai(&server) });
    let error = run(&provider, &request(false)).await.0.unwrap_err();
    let LlmError::Http { status: 400, body, .. } = &error else { panic!("{error:?}") };
    assert!(body.starts_with("bad request from key [redacted]; detail"), "{body}");
    assert!(body.chars().count() <= 300);
    assert!(!error.to_string().contains(KEY));
    assert_eq!(server.requests().len(), 1, "a 4xx is not retried");
}

// --- Timeouts -----------------------------------------------------------------------------------

#[tokio::test]
async fn first_token_timeout_when_headers_come_but_nothing_else() {
    init();
    let server = Server::always(Reply::sse().hold());
    let provider = build(&LlmConfig { first_token_timeout: ms(300), ..openai(&server) });
    let started = Instant::now();
    let result = run(&provider, &request(true)).await.0;
    let elapsed = started.elapsed();
    assert!(
        matches!(result, Err(LlmError::Timeout { phase: "first_token", after, .. }) if after == ms(300)),
        "{result:?}"
    );
    assert!(elapsed >= ms(290) && elapsed < ms(2000), "{elapsed:?}");
    // Giving up closes the connection.
    assert_eq!(server.wait_for(ms(2000), |e| matches!(e, Event::ClientGone(_))).await, Some(Event::ClientGone(0)));
}

#[tokio::test]
async fn total_timeout_with_a_slow_drip_of_bytes() {
    init();
    let mut reply = Reply::sse();
    for _ in 0..100 {
        reply = reply.send(oa_delta("a")).wait(ms(50));
    }
    let server = Server::always(reply.send(DONE));
    let config = LlmConfig { first_token_timeout: ms(400), total_timeout: ms(800), max_retries: 2, ..openai(&server) };
    let provider = build(&config);
    let started = Instant::now();
    let (result, chunks) = run(&provider, &request(true)).await;
    let elapsed = started.elapsed();
    assert!(matches!(result, Err(LlmError::Timeout { phase: "total", .. })), "{result:?}");
    assert!(!chunks.is_empty(), "the drip had started");
    assert!(elapsed >= ms(780) && elapsed < ms(2500), "{elapsed:?}");
    assert_eq!(server.requests().len(), 1, "no retry once output has started");
}

// --- Broken responses ---------------------------------------------------------------------------

#[tokio::test]
async fn truncated_streams_are_invalid_responses_not_partial_answers() {
    init();
    let cases = [
        // The body ends with the connection: a clean end of stream, but no `[DONE]`.
        ("openai", Reply::sse().framing(Framing::UntilClose).send(oa_delta("Hel")).send(oa_delta("lo")).close(), 2),
        // Chunked, cut before the last chunk.
        ("openai", Reply::sse().send(oa_delta("Hel")).close(), 1),
        // Cut in the middle of an event.
        ("openai", Reply::sse().framing(Framing::UntilClose).send(oa_delta("Hel")).send("data: {\"choi").close(), 1),
        ("anthropic", Reply::sse().framing(Framing::UntilClose).send(an_start(3)).send(an_delta("Hel")).close(), 1),
    ];
    for (kind, reply, delivered) in cases {
        let server = Server::always(reply);
        let config = if kind == "openai" { openai(&server) } else { anthropic(&server) };
        let (result, chunks) = run(&build(&config), &request(true)).await;
        let Err(LlmError::InvalidResponse { provider, detail }) = &result else { panic!("{kind}: {result:?}") };
        assert_eq!(provider, kind);
        assert!(detail.contains("ended before") || detail.contains("broke"), "{kind}: {detail}");
        // What was streamed stays streamed; the caller learns from the error that it is incomplete.
        assert_eq!(chunks, ["Hel", "lo"][..delivered], "{kind}");
    }
}

#[tokio::test]
async fn invalid_json_is_an_invalid_response() {
    init();
    let server = Server::always(Reply::new(200).header("content-type", "application/json").send("{\"choices\": [oops"));
    let result = run(&build(&openai(&server)), &request(false)).await.0;
    assert!(
        matches!(&result, Err(LlmError::InvalidResponse { detail, .. }) if detail.contains("invalid JSON")),
        "{result:?}"
    );

    let server = Server::always(Reply::sse().send("data: {not json}\n\n").send(DONE));
    let result = run(&build(&openai(&server)), &request(true)).await.0;
    assert!(
        matches!(&result, Err(LlmError::InvalidResponse { detail, .. }) if detail.contains("invalid JSON")),
        "{result:?}"
    );

    let server = Server::always(Reply::json(200, &json!({"content": "not an array"})));
    let result = run(&build(&anthropic(&server)), &request(false)).await.0;
    assert!(matches!(result, Err(LlmError::InvalidResponse { .. })), "{result:?}");
}

#[tokio::test]
async fn an_answer_ten_times_too_long_is_cut_with_finish_reason_length() {
    init();
    let max_tokens = 20u32;
    let cap_tokens = 2 * max_tokens as usize + 64;
    // 20 tokens is ~70 characters; the server sends ten times that, then never ends the stream.
    let mut reply = Reply::sse();
    for _ in 0..175 {
        reply = reply.send(oa_delta("abcd"));
    }
    let server = Server::always(reply.hold());
    let request = ChatRequest { max_tokens, ..request(true) };
    let (result, chunks) = run(&build(&openai(&server)), &request).await;
    let response = result.unwrap();
    assert_eq!(response.finish_reason.as_deref(), Some("length"));
    assert!(estimate_tokens(&response.text) <= cap_tokens, "{} tokens", estimate_tokens(&response.text));
    assert!(response.text.len() < 700 && response.text.len() > 300, "{}", response.text.len());
    assert_eq!(chunks.concat(), response.text, "the caller saw exactly the kept text");
    assert!(response.usage.estimated);
    // We stopped reading: the connection is closed without waiting for a timeout.
    assert_eq!(server.wait_for(ms(2000), |e| matches!(e, Event::ClientGone(_))).await, Some(Event::ClientGone(0)));

    let server = Server::always(Reply::json(200, &oa_completion(&"abcd".repeat(175), Some((10, 200)))));
    let request = ChatRequest { max_tokens, ..request.clone() };
    let response = run(&build(&openai(&server)), &ChatRequest { stream: false, ..request }).await.0.unwrap();
    assert_eq!(response.finish_reason.as_deref(), Some("length"));
    assert!(estimate_tokens(&response.text) <= cap_tokens);
    assert_eq!(response.usage.completion_tokens, 200, "reported usage is what was billed");
}

#[tokio::test]
async fn connection_refused_is_a_connect_error_naming_the_url() {
    init();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = config(LlmProvider::OpenAi, format!("http://127.0.0.1:{port}/v1"));
    let error = run(&build(&config), &request(false)).await.0.unwrap_err();
    let url = format!("http://127.0.0.1:{port}/v1/chat/completions");
    assert!(matches!(&error, LlmError::Connect { url: u, .. } if *u == url), "{error:?}");
    assert!(error.to_string().contains(&url), "{error}");
}

// --- Cancellation and concurrency ---------------------------------------------------------------

#[tokio::test]
async fn dropping_the_future_mid_stream_closes_the_connection() {
    init();
    let server = Server::always(Reply::sse().send(oa_delta("Hel")).hold());
    let provider = build(&openai(&server));
    let request = request(true);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let on_chunk = move |chunk: &str| {
        let _ = tx.send(chunk.to_string());
    };
    let call = provider.chat(&request, &on_chunk);
    tokio::select! {
        result = call => panic!("the call cannot finish while the server holds the stream: {result:?}"),
        chunk = tokio::time::timeout(ms(2000), rx.recv()) => assert_eq!(chunk.unwrap().as_deref(), Some("Hel")),
    }
    // The call's future is dropped at the end of `select!`; the provider itself stays alive.
    assert_eq!(server.wait_for(ms(2000), |e| matches!(e, Event::ClientGone(_))).await, Some(Event::ClientGone(0)));
    assert_eq!(provider.name(), "openai");
}

#[tokio::test]
async fn max_concurrency_one_never_overlaps_calls_on_the_server() {
    init();
    let reply = Reply::sse().send(oa_delta("a")).wait(ms(300)).send(oa_delta("b")).send(DONE);
    for (max_concurrency, overlap) in [(1, false), (2, true)] {
        let server = Server::always(reply.clone());
        let provider = build(&LlmConfig { max_concurrency, ..openai(&server) });
        let request = request(true);
        let (first, second) = tokio::join!(run(&provider, &request), run(&provider, &request));
        assert_eq!(first.0.unwrap().text, "ab");
        assert_eq!(second.0.unwrap().text, "ab");
        let mut spans = server.spans();
        spans.sort_by_key(|s| s.start);
        assert_eq!(spans.len(), 2);
        let overlapped = spans[1].start < spans[0].end.unwrap();
        assert_eq!(overlapped, overlap, "max_concurrency = {max_concurrency}: {spans:?}");
    }
}
