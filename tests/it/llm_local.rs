//! The `local` provider (llama.cpp in-process) against a real model: SmolLM2-135M-Instruct, Q4_1.
//!
//! The model is found by `crate::util::test_model` (`scripts/fetch-model.sh` puts it in place). Without it the
//! tests say how to fetch it and pass, unless `REVERIE_REQUIRE_TOOLS=1`, which makes it a failure.
//!
//! What happens inside a generation (cancellation, speed) is observed through the provider's tracing
//! events, captured by a layer installed for this test binary.
#![cfg(feature = "local")]

use reverie::llm::{ChatRequest, LlmConfig, Message, Provider, Role, from_config};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tracing_subscriber::layer::SubscriberExt;

/// The provider under test, or `None` (after saying how to fetch the model) when the model is absent.
fn provider() -> Option<Arc<dyn Provider>> {
    capture_events();
    let path = crate::util::test_model()?;
    // A fixed seed: sampled answers (temperature 0.7 below) are the same at every run. Unseeded, one
    // run in many sampled a string that ran to `max_tokens` and cut the JSON short (CI rehearsal).
    let config = LlmConfig {
        provider: reverie::llm::LlmProvider::Local,
        model_path: Some(path),
        context_tokens: 2048,
        seed: Some(7),
        ..LlmConfig::default()
    };
    let resilient = from_config(&config).expect("the local provider builds").expect("a provider is configured");
    Some(Arc::clone(resilient.inner()))
}

fn request(system: &str, user: &str, max_tokens: u32) -> ChatRequest {
    ChatRequest {
        system: system.into(),
        messages: vec![Message { role: Role::User, content: user.into() }],
        max_tokens,
        temperature: 0.0,
        json_schema: None,
        stream: false,
    }
}

#[tokio::test]
async fn plain_chat_reports_real_usage() {
    let Some(provider) = provider() else { return };
    assert_eq!((provider.name(), provider.model(), provider.is_local()), ("local", "SmolLM2-135M-Instruct.Q4_1", true));
    let request = request("You are a concise assistant.", "What is the capital of France?", 64);
    let streamed = Mutex::new(0);
    let response = provider.chat(&request, &|_| *streamed.lock().unwrap() += 1).await.unwrap();

    assert!(!response.text.trim().is_empty(), "{response:?}");
    assert!(response.text.contains("Paris"), "{response:?}");
    assert_eq!(*streamed.lock().unwrap(), 0, "nothing is streamed when stream is false");
    assert!(response.usage.prompt_tokens > 10, "{response:?}");
    assert!((1..=64).contains(&response.usage.completion_tokens), "{response:?}");
    assert!(!response.usage.estimated);
    assert_eq!(response.model, "SmolLM2-135M-Instruct.Q4_1");
    assert!(matches!(response.finish_reason.as_deref(), Some("stop" | "length")), "{response:?}");
    assert_eq!(response.attempts, 1);
    assert!(response.latency > Duration::ZERO);
}

/// The model's speed is measured when it loads (what `reverie ask` sizes its context by), and reading
/// a prompt is much faster than writing an answer, as it is for every transformer on a CPU.
#[test]
fn the_speed_is_measured_when_the_model_loads() {
    let Some(provider) = provider() else { return };
    let speed = provider.speed().expect("a local model knows its speed");
    assert!(speed.answer_per_s(1000.0) > 1.0, "{speed:?}");
    assert!(speed.prompt_per_s(1000.0) > 2.0 * speed.answer_per_s(1000.0), "{speed:?}");
    assert!(speed.answer_per_s(2000.0) <= speed.answer_per_s(100.0), "a longer context is not faster: {speed:?}");
    let (answer, context) = reverie::llm::fit_to_time(speed, Duration::from_secs(10), 400, 200);
    assert!(answer >= 1 && context >= reverie::llm::MIN_CONTEXT_TOKENS, "{answer} {context}");
}

/// The measured speed is kept in the cache, so the next run (`reverie ask` is one process per
/// question) does not measure the model again: a second provider for the same model file gets the
/// very same speed (a new measurement would differ in its noise).
#[test]
fn the_measured_speed_is_kept_for_the_next_run() {
    let Some(path) = crate::util::test_model() else { return };
    // A copy of its own, so no other test's calls move the kept speed under this one.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("kept-speed.gguf");
    std::fs::copy(&path, &copy).unwrap();
    let config = LlmConfig {
        provider: reverie::llm::LlmProvider::Local,
        model_path: Some(copy),
        context_tokens: 2048,
        ..LlmConfig::default()
    };
    let first = reverie::llm::local::Local::new(&config).unwrap();
    let file = first.speed_file().expect("a cache directory").to_path_buf();
    let measured = first.speed().expect("measured");
    // JSON keeps a float to within its last bit; a new measurement would differ by far more.
    let same = |a: &reverie::llm::Speed, b: &reverie::llm::Speed| {
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1e-30);
        close(a.prompt.base, b.prompt.base)
            && close(a.prompt.per_position, b.prompt.per_position)
            && close(a.answer.base, b.answer.base)
            && close(a.answer.per_position, b.answer.per_position)
            && close(a.tokens_per_estimate, b.tokens_per_estimate)
    };
    let kept: reverie::llm::Speed = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(same(&kept, &measured), "{kept:?} {measured:?}");
    let second = reverie::llm::local::Local::new(&config).unwrap();
    let read_back = second.speed().expect("a speed");
    assert!(same(&read_back, &measured), "read back, not measured again: {read_back:?} {measured:?}");
    std::fs::remove_file(&file).unwrap();
}

#[tokio::test]
async fn streamed_chunks_make_up_the_answer() {
    let Some(provider) = provider() else { return };
    let mut request = request("", "Name three colours and say one thing about each.", 80);
    request.stream = true;
    let chunks = Mutex::new(Vec::new());
    let response = provider.chat(&request, &|chunk| chunks.lock().unwrap().push(chunk.to_string())).await.unwrap();

    let chunks = chunks.into_inner().unwrap();
    assert!(chunks.len() > 5, "{chunks:?}");
    assert!(chunks.iter().all(|c| !c.is_empty()));
    assert_eq!(chunks.concat(), response.text);
}

#[tokio::test]
async fn max_tokens_is_respected() {
    let Some(provider) = provider() else { return };
    for max_tokens in [1, 7] {
        let request = request("", "Write a long story about a dragon who learns to code.", max_tokens);
        let response = provider.chat(&request, &|_| {}).await.unwrap();
        assert_eq!(response.usage.completion_tokens, u64::from(max_tokens), "{response:?}");
        assert_eq!(response.finish_reason.as_deref(), Some("length"));
        assert!(!response.text.is_empty());
    }
}

#[tokio::test]
async fn the_context_bounds_prompt_and_answer() {
    let Some(provider) = provider() else { return };
    let config = LlmConfig {
        provider: reverie::llm::LlmProvider::Local,
        model_path: crate::util::test_model(),
        context_tokens: 64,
        ..LlmConfig::default()
    };
    let small = from_config(&config).unwrap().unwrap();
    let small = Arc::clone(small.inner());

    let long = request("", &"Explain why the sky is blue. ".repeat(20), 16);
    let error = small.chat(&long, &|_| {}).await.unwrap_err().to_string();
    assert!(error.contains("tokens but the context holds 64; raise llm.context_tokens"), "{error}");

    // A prompt that fits, with an answer that would not: the answer stops where the context ends.
    let short = request("", "Write a long story about a dragon who learns to code.", 500);
    let response = small.chat(&short, &|_| {}).await.unwrap();
    assert_eq!(response.finish_reason.as_deref(), Some("length"), "{response:?}");
    assert!(response.usage.prompt_tokens + response.usage.completion_tokens <= 64, "{response:?}");
    assert!(response.usage.completion_tokens > 0);

    // The same model serves the normal provider afterwards.
    assert!(provider.chat(&request("", "Say hello.", 4), &|_| {}).await.is_ok());
}

/// The schema of a note, as reverie asks for it; 5 different prompts, sampled, must all give valid JSON.
#[tokio::test]
async fn json_schema_constrains_the_answer() {
    let Some(provider) = provider() else { return };
    let schema = json!({
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "symbols": {"type": "array", "items": {"type": "string"}, "maxItems": 3}
        },
        "required": ["summary", "symbols"]
    });
    let snippets = [
        "fn add(a: i32, b: i32) -> i32 { a + b }",
        "def load(path):\n    with open(path) as f:\n        return json.load(f)",
        "class Cache { get(key) { return this.map.get(key); } set(key, value) { this.map.set(key, value); } }",
        "func (s *Server) Stop() error { close(s.quit); return s.listener.Close() }",
        "int max(int a, int b) { return a > b ? a : b; }",
    ];
    let mut failures = Vec::new();
    for snippet in snippets {
        let mut request = request(
            "You describe code. Answer in JSON with a one-sentence summary and the names of the symbols it defines.",
            &format!("Describe this code:\n```\n{snippet}\n```"),
            400,
        );
        request.temperature = 0.7;
        request.json_schema = Some(schema.clone());
        let response = provider.chat(&request, &|_| {}).await.unwrap();
        match serde_json::from_str::<Value>(&response.text) {
            Ok(value)
                if value["summary"].is_string()
                    && value["symbols"].as_array().is_some_and(|s| s.len() <= 3 && s.iter().all(Value::is_string)) =>
            {
                assert_eq!(response.finish_reason.as_deref(), Some("stop"), "{response:?}");
            }
            _ => failures.push(response.text),
        }
    }
    assert!(failures.is_empty(), "answers that are not JSON of the schema: {failures:#?}");
}

#[tokio::test]
async fn dropping_the_future_stops_generation() {
    let Some(provider) = provider() else { return };
    let mut long = request("", "Write a very long story about a dragon who learns to code.", 400);
    long.stream = true;
    let first_chunk = tokio::sync::Notify::new();
    let on_chunk = |_: &str| first_chunk.notify_one();
    let before = events().len();
    let call = provider.chat(&long, &on_chunk);
    tokio::select! {
        () = first_chunk.notified() => {}
        result = call => panic!("the call ended before its first chunk: {result:?}"),
    }
    // `select!` has dropped the call; the generation thread must notice before the next token.
    let dropped = Instant::now();
    let stopped = wait_for_event("local: generation cancelled", before, Duration::from_secs(10))
        .expect("the generation thread reports that it stopped");
    // One token takes ~15 ms on an idle 2-core machine; the bound leaves room for a loaded one.
    assert!(dropped.elapsed() < Duration::from_secs(5), "stopping took {:?}", dropped.elapsed());
    let generated = stopped.numbers["completion_tokens"];
    assert!(
        generated < 20.0,
        "{generated} tokens were generated before stopping; it should stop after the first chunk"
    );

    // The provider is free again: the next call runs.
    let response = provider.chat(&request("", "Say hello.", 8), &|_| {}).await.unwrap();
    assert!(response.usage.completion_tokens > 0);
}

/// The provider reports its timings; the figures are printed for the record (they depend on the
/// machine and its load, so they are not asserted).
#[tokio::test]
async fn reports_speed() {
    let Some(provider) = provider() else { return };
    let code = "fn parse(line: &str) -> Option<(String, u32)> { let (name, n) = line.split_once('=')?; \
                Some((name.trim().to_string(), n.trim().parse().ok()?)) }\n"
        .repeat(8);
    let request = request("You explain Rust code.", &format!("Explain this code step by step:\n{code}"), 128);
    let response = provider.chat(&request, &|_| {}).await.unwrap();
    let finished = events()
        .into_iter()
        .rev()
        .find(|e| {
            e.message == "local: generation finished"
                && e.numbers["prompt_tokens"] == response.usage.prompt_tokens as f64
                && e.numbers["completion_tokens"] == response.usage.completion_tokens as f64
        })
        .expect("a 'generation finished' event for this call");
    let load_ms = events().iter().find(|e| e.message == "local: loaded model").map(|e| e.numbers["load_ms"]);
    let (prompt_speed, generation_speed) =
        (finished.numbers["prompt_tokens_per_s"], finished.numbers["completion_tokens_per_s"]);
    eprintln!(
        "local model: load {load_ms:?} ms; prompt {} tokens at {prompt_speed} tokens/s; \
         generation {} tokens at {generation_speed} tokens/s; call {:?}",
        response.usage.prompt_tokens, response.usage.completion_tokens, response.latency
    );
    assert!(response.usage.prompt_tokens > 200, "{response:?}");
    assert!(prompt_speed > 0.0 && generation_speed > 0.0, "{finished:?}");
    let measured = Duration::from_millis((finished.numbers["prompt_ms"] + finished.numbers["generation_ms"]) as u64);
    assert!(measured <= response.latency, "{finished:?} vs {:?}", response.latency);
}

// ---------------------------------------------------------------------------------------------------
// Captured tracing events of `reverie::llm::local`.

#[derive(Clone, Debug, Default)]
struct Captured {
    message: String,
    numbers: BTreeMap<String, f64>,
}

impl tracing::field::Visit for Captured {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.numbers.insert(field.name().into(), value as f64);
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.numbers.insert(field.name().into(), value as f64);
    }
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.numbers.insert(field.name().into(), value);
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

struct Capture;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "reverie::llm::local" {
            return;
        }
        let mut captured = Captured::default();
        event.record(&mut captured);
        let (list, arrived) = store();
        list.lock().unwrap().push(captured);
        arrived.notify_all();
    }
}

fn store() -> &'static (Mutex<Vec<Captured>>, Condvar) {
    static STORE: OnceLock<(Mutex<Vec<Captured>>, Condvar)> = OnceLock::new();
    STORE.get_or_init(|| (Mutex::new(Vec::new()), Condvar::new()))
}

fn capture_events() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Capture))
            .expect("no other global subscriber in this test binary");
    });
}

fn events() -> Vec<Captured> {
    store().0.lock().unwrap().clone()
}

/// The first event with `message` after the first `seen` events, waiting at most `timeout` for it.
fn wait_for_event(message: &str, seen: usize, timeout: Duration) -> Option<Captured> {
    let (list, arrived) = store();
    let list = list.lock().unwrap();
    let (list, _) =
        arrived.wait_timeout_while(list, timeout, |list| !list[seen..].iter().any(|e| e.message == message)).unwrap();
    list[seen..].iter().find(|e| e.message == message).cloned()
}
