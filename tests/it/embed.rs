//! The semantic index's embeddings (`reverie::embed`): the in-process model on the real
//! all-MiniLM-L6-v2 files (a paraphrase beats a lexical decoy, unit norms, batch = single), the
//! idle pass against the real store (skips what is stored, invalidation by content and by model,
//! cancellation and resume), and the `/v1/embeddings` provider against a loopback server (batch
//! limits, errors, 429, wrong dimensions). Tests wait on server events and results, never sleeps.

use crate::util::http::{Event, Framing, Reply, Server};
use reverie::embed::local::{LocalEmbedder, LocalOptions};
use reverie::embed::openai::OpenAiEmbedder;
use reverie::embed::quant::{QuantizedVector, cosine};
use reverie::embed::run::{EmbedReport, PassOptions, embed_pending, embed_pending_with};
use reverie::embed::{EmbedConfig, EmbedFuture, Embedder, item_key, model_key, stored_index};
use reverie::hash::Digest;
use reverie::llm::LlmConfig;
use reverie::store::Store;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// The in-process model.

/// The real model, loaded once per test binary (about a second).
fn local_model() -> Option<&'static LocalEmbedder> {
    static MODEL: OnceLock<Option<LocalEmbedder>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let dir = crate::util::test_embed_model()?;
            let options = LocalOptions { max_tokens: 128, max_batch: 8, threads: 1 };
            Some(LocalEmbedder::load(&dir, &options).expect("the test model loads"))
        })
        .as_ref()
}

const QUESTION: &str = "where is the session cookie signed?";
/// The answer, as the embedder sees a definition (`embed::definition_text`): no word of the
/// question but "session".
const PARAPHRASE: &str = "src/flask/sessions.py\nclass SecureCookieSessionInterface > def get_signing_serializer(self, app)\n\
    return URLSafeTimedSerializer(app.secret_key, salt=self.salt, key_derivation='hmac', digest_method=hashlib.sha1)";
/// What the zero-token answer once wrongly cited for this question: it names `session`.
const DECOY: &str =
    "src/flask/globals.py\nsession = LocalProxy(_cv_request, 'session')\nThe session for the current request.";

fn texts(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_local_model_ranks_a_paraphrase_above_a_lexical_decoy() {
    let Some(model) = local_model() else { return };
    assert_eq!(model.dims(), Some(384));
    assert!(model.model_id().starts_with("local:all-MiniLM-L6-v2:") && model.model_id().ends_with(":128"));
    let v = model.embed_blocking(&texts(&[QUESTION, PARAPHRASE, DECOY])).unwrap();
    let (to_paraphrase, to_decoy) = (cosine(&v[0], &v[1]), cosine(&v[0], &v[2]));
    eprintln!("cosine: paraphrase {to_paraphrase:.4}, decoy {to_decoy:.4}");
    assert!(to_paraphrase > to_decoy + 0.05, "paraphrase {to_paraphrase} vs decoy {to_decoy}");
    for vector in &v {
        assert_eq!(vector.len(), 384);
        let norm: f32 = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
    }
}

/// The first dimensions of one vector, as the forward pass with candle's own ops computed them
/// (before `embed/inplace.rs`); a change of the forward pass must not move them (the stored
/// vectors would no longer match new ones under the same model id).
#[test]
fn the_forward_pass_reproduces_recorded_vectors() {
    let Some(model) = local_model() else { return };
    let recorded = [-0.0087516, 0.0531300, -0.1008647, -0.0764389, -0.0002533, -0.0267671, 0.1720896, 0.0211215];
    // Alone, and padded within a batch beside a longer text.
    let alone = model.embed_blocking(&texts(&["how is the session cookie signed?"])).unwrap();
    let padded = model.embed_blocking(&texts(&["how is the session cookie signed?", PARAPHRASE])).unwrap();
    for vector in [&alone[0], &padded[0]] {
        for (got, want) in vector.iter().zip(recorded) {
            assert!((got - want).abs() < 1e-6, "{:?} vs {recorded:?}", &vector[..8]);
        }
    }
}

#[test]
fn batching_padding_and_odd_input_do_not_change_vectors() {
    let Some(model) = local_model() else { return };
    let long = "fn parse(input: &str) -> Result<Ast> { tokens(input).fold(Ast::new(), push) } ".repeat(40);
    let items = texts(&["short", &long, "", "émoji 🦀 and 中文", "short"]);
    let together = model.embed_blocking(&items).unwrap();
    assert_eq!(together.len(), items.len());
    for (i, text) in items.iter().enumerate() {
        let alone = model.embed_blocking(std::slice::from_ref(text)).unwrap();
        let same = cosine(&alone[0], &together[i]);
        assert!(same > 0.9999, "item {i} alone vs in a padded batch: {same}");
    }
    assert_eq!(together[0], together[4], "deterministic");
    // Past max_tokens the text is cut: what follows the cut changes nothing.
    let longer = format!("{long} and then something else entirely about databases");
    let cut = model.embed_blocking(&texts(&[&long, &longer])).unwrap();
    assert!(cosine(&cut[0], &cut[1]) > 0.9999);
    assert!(model.embed_blocking(&[]).unwrap().is_empty());
}

#[test]
fn a_local_batch_stops_between_layers_when_told() {
    let Some(model) = local_model() else { return };
    let items = texts(&[PARAPHRASE, DECOY, QUESTION]);
    let err = model.embed_blocking_until(&items, &|| true).unwrap_err();
    assert!(err.to_string().contains("abandoned"), "{err}");
    // Told to stop after the third layer: the rest is not computed.
    let checks = AtomicUsize::new(0);
    let stop = || checks.fetch_add(1, Ordering::SeqCst) >= 3;
    assert!(model.embed_blocking_until(&items, &stop).is_err());
    assert_eq!(checks.load(Ordering::SeqCst), 4, "one check per layer until the stop");
    let never = AtomicUsize::new(0);
    let count = || {
        never.fetch_add(1, Ordering::SeqCst);
        false
    };
    assert_eq!(model.embed_blocking_until(&items, &count).unwrap(), model.embed_blocking(&items).unwrap());
    assert_eq!(never.load(Ordering::SeqCst), 6, "MiniLM-L6 has six layers");
}

#[test]
fn the_cosine_channel_over_stored_vectors_finds_the_paraphrase() {
    let Some(model) = local_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path()).unwrap();
    let docs = [
        DECOY,
        PARAPHRASE,
        "src/flask/app.py\nclass Flask > def make_response(self, rv)\nConvert the return value from a view function to a response.",
        "src/flask/blueprints.py\nclass Blueprint > def register(self, app, options)\nRegister the blueprint's views on the app.",
    ];
    let items: Vec<(Digest, String)> = docs.iter().map(|d| (item_key(d), d.to_string())).collect();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let report = runtime.block_on(embed_pending(&items, model, &store, &|| false)).unwrap();
    assert_eq!((report.embedded, report.skipped, report.cancelled), (4, 0, false));
    let model_key = model_key(&model.model_id());
    assert_eq!(store.embedding_count(&model_key), 4);
    for (_, bytes) in store.embeddings_of_model(&model_key).unwrap() {
        assert_eq!(bytes.len(), 388, "384 dimensions stored in 388 bytes");
    }
    let index = stored_index(&store, &model.model_id()).unwrap();
    assert_eq!((index.len(), index.dims()), (4, 384));
    let query = model.embed_blocking(&texts(&[QUESTION])).unwrap().remove(0);
    let hits = index.top_k(&query, 4);
    assert_eq!(hits[0].key, item_key(PARAPHRASE), "{hits:?}");
    let blueprints = model.embed_blocking(&texts(&["how are blueprints registered on the app?"])).unwrap().remove(0);
    assert_eq!(index.top_k(&blueprints, 1)[0].key, item_key(docs[3]));
}

#[test]
fn the_idle_pass_on_the_real_model_stops_when_cancelled_and_resumes() {
    let Some(model) = local_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path()).unwrap();
    let items: Vec<(Digest, String)> = (0..24)
        .map(|i| {
            let text = format!("src/m{i}.py\ndef handler_{i}(request)\nreturn render(request, 'page{i}.html')");
            (item_key(&text), text)
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // Activity resumes once two batches are stored.
    let key = model_key(&model.model_id());
    let cancel = || store.embedding_count(&key) >= 2;
    let first = runtime.block_on(embed_pending(&items, model, &store, &cancel)).unwrap();
    assert!(first.cancelled);
    assert!(first.embedded >= 2 && first.embedded < items.len(), "{first:?}");
    assert_eq!(store.embedding_count(&key), first.embedded);
    let second = runtime.block_on(embed_pending(&items, model, &store, &|| false)).unwrap();
    assert!(!second.cancelled);
    assert_eq!((second.skipped, second.embedded), (first.embedded, items.len() - first.embedded));
    eprintln!("first pass {first:?}\nsecond pass {second:?}");
}

#[test]
fn a_cut_or_foreign_weights_file_is_an_error_naming_it() {
    let Some(real) = crate::util::test_embed_model() else { return };
    let dir = tempfile::tempdir().unwrap();
    for file in ["config.json", "tokenizer.json"] {
        std::fs::copy(real.join(file), dir.path().join(file)).unwrap();
    }
    let weights = std::fs::read(real.join("model.safetensors")).unwrap();
    let options = LocalOptions { max_tokens: 64, max_batch: 8, threads: 1 };
    for (what, bytes) in [
        ("cut short", weights[..weights.len() / 2].to_vec()),
        ("a header only", weights[..8].to_vec()),
        ("not safetensors", b"GGUF\x03\x00\x00\x00 not this format".to_vec()),
    ] {
        std::fs::write(dir.path().join("model.safetensors"), &bytes).unwrap();
        let err = format!("{:#}", LocalEmbedder::load(dir.path(), &options).unwrap_err());
        assert!(err.contains("model.safetensors"), "{what}: {err}");
    }
}

#[test]
fn a_missing_model_says_how_to_get_it() {
    let nowhere = tempfile::tempdir().unwrap();
    let err = reverie::embed::local::resolve_model_dir("all-MiniLM-L6-v2", &[nowhere.path().to_path_buf()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("scripts/fetch-embed-model.sh") && err.contains(&nowhere.path().display().to_string()),
        "{err}"
    );
    let config = EmbedConfig { model: nowhere.path().display().to_string(), ..EmbedConfig::default() };
    let err = reverie::embed::from_config(&config, &LlmConfig::default(), &[]).err().unwrap().to_string();
    assert!(err.contains("was not found"), "{err}");
    let none = EmbedConfig { provider: reverie::embed::EmbedProvider::None, ..EmbedConfig::default() };
    assert!(reverie::embed::from_config(&none, &LlmConfig::default(), &[]).unwrap().is_none());
    // A directory with broken files is an error naming the file, never a panic.
    for file in ["model.safetensors", "config.json", "tokenizer.json"] {
        std::fs::write(nowhere.path().join(file), "{}").unwrap();
    }
    let err =
        LocalEmbedder::load(nowhere.path(), &LocalOptions { max_tokens: 128, max_batch: 8, threads: 1 }).unwrap_err();
    assert!(format!("{err:#}").contains("config.json"), "{err:#}");
}

#[test]
fn definition_texts_from_real_facts_carry_the_class_and_the_body() {
    let source = "class SecureCookieSessionInterface(SessionInterface):\n    \"\"\"Stores the session in a signed cookie.\"\"\"\n\n    \
                  def get_signing_serializer(self, app):\n        \"\"\"The serializer that signs.\"\"\"\n        \
                  if not app.secret_key:\n            return None\n        return URLSafeTimedSerializer(app.secret_key)\n";
    let facts = reverie::syntax::extract(source.as_bytes(), reverie::syntax::Language::Python);
    let method = facts.definitions.iter().find(|d| d.name == "get_signing_serializer").expect("the method is a fact");
    let parent = method.parent.map(|p| &facts.definitions[p as usize]);
    let text = reverie::embed::definition_text("src/flask/sessions.py", method, parent, source, 128);
    assert!(text.starts_with("src/flask/sessions.py\nclass SecureCookieSessionInterface"), "{text}");
    assert!(text.contains("> def get_signing_serializer(self, app)"), "{text}");
    assert!(text.contains("The serializer that signs."), "{text}");
    assert!(text.contains("return URLSafeTimedSerializer(app.secret_key)"), "{text}");
    assert_eq!(text.matches("The serializer that signs.").count(), 1, "the docstring once: {text}");
}

// ---------------------------------------------------------------------------------------------
// The idle pass with a scripted embedder: the store's bookkeeping, exactly.

/// Vectors from the text's digest; counts what it was asked.
struct Scripted {
    id: String,
    calls: AtomicUsize,
    embedded: Mutex<Vec<String>>,
    max_batch: usize,
}

impl Scripted {
    fn new(id: &str, max_batch: usize) -> Scripted {
        Scripted { id: id.into(), calls: AtomicUsize::new(0), embedded: Mutex::new(Vec::new()), max_batch }
    }
}

impl Embedder for Scripted {
    fn model_id(&self) -> String {
        self.id.clone()
    }
    fn dims(&self) -> Option<usize> {
        Some(8)
    }
    fn max_batch(&self) -> usize {
        self.max_batch
    }
    fn max_tokens(&self) -> usize {
        128
    }
    fn abortable(&self) -> bool {
        false
    }
    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.embedded.lock().unwrap().extend(texts.iter().cloned());
            Ok(texts
                .iter()
                .map(|t| Digest::of(t.as_bytes()).0[..8].iter().map(|&b| b as f32 - 127.5).collect())
                .collect())
        })
    }
}

fn items(texts: &[&str]) -> Vec<(Digest, String)> {
    texts.iter().map(|t| (item_key(t), t.to_string())).collect()
}

fn pass(
    items: &[(Digest, String)],
    embedder: &dyn Embedder,
    store: &Store,
    cancel: &(dyn Fn() -> bool + Sync),
) -> EmbedReport {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(embed_pending(items, embedder, store, cancel)).unwrap()
}

#[test]
fn vectors_are_invalidated_by_content_and_by_model() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path()).unwrap();
    let a = Scripted::new("model-a", 4);
    let first = items(&["fn one()", "fn two()", "fn three()", "fn one()"]);
    let report = pass(&first, &a, &store, &|| false);
    assert_eq!((report.embedded, report.skipped), (3, 1), "the repeated item is embedded once");
    assert_eq!(pass(&first, &a, &store, &|| false).embedded, 0, "nothing changed, nothing embedded");
    // One item's text changed: only it is embedded again.
    a.embedded.lock().unwrap().clear();
    let edited = items(&["fn one()", "fn two(x: u32)", "fn three()"]);
    let report = pass(&edited, &a, &store, &|| false);
    assert_eq!((report.embedded, report.skipped), (1, 2));
    assert_eq!(*a.embedded.lock().unwrap(), vec!["fn two(x: u32)".to_string()]);
    // Another model embeds everything again, in its own key space.
    let b = Scripted::new("model-b", 4);
    assert_eq!(pass(&edited, &b, &store, &|| false).embedded, 3);
    let (ka, kb) = (model_key("model-a"), model_key("model-b"));
    assert_eq!((store.embedding_count(&ka), store.embedding_count(&kb)), (4, 3));
    let asked = [item_key("fn one()"), item_key("fn missing()")];
    let stored: Vec<_> = store.embeddings(&kb, &asked).collect::<Result<_, _>>().unwrap();
    assert!(stored[0].is_some() && stored[1].is_none());
    assert!(store.has_embedding(&ka, &item_key("fn two()")).unwrap());
    // Garbage collection: model b's vectors of live content stay, the rest goes.
    let live: std::collections::HashSet<Digest> = [item_key("fn one()"), item_key("fn two(x: u32)")].into();
    let store_dir = tempfile::tempdir().unwrap();
    let (other, _) = Store::open(store_dir.path()).unwrap();
    pass(&edited, &a, &other, &|| false);
    pass(&edited, &b, &other, &|| false);
    assert_eq!(other.retain_embeddings(&kb, &live).unwrap(), 4, "a's 3 and b's `fn three()`");
    assert_eq!((other.embedding_count(&ka), other.embedding_count(&kb)), (0, 2));
    assert_eq!(store.drop_embeddings(&ka).unwrap(), 4);
    assert_eq!((store.embedding_count(&ka), store.embedding_count(&kb)), (0, 3));
    // Survives a reopen.
    drop(store);
    let (store, _) = Store::open(dir.path()).unwrap();
    assert_eq!(store.embedding_count(&kb), 3);
    assert_eq!(store.embeddings_of_model(&kb).unwrap().len(), 3);
    assert_eq!(stored_index(&store, "model-b").unwrap().len(), 3);
}

#[test]
fn the_idle_pass_stops_on_cancellation_and_resumes_losing_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path()).unwrap();
    let texts: Vec<String> = (0..50).map(|i| format!("def f{i}(): pass")).collect();
    let all = items(&texts.iter().map(String::as_str).collect::<Vec<_>>());
    let embedder = Scripted::new("m", 4);
    let cancelled = || embedder.calls.load(Ordering::SeqCst) >= 3;
    let first = pass(&all, &embedder, &store, &cancelled);
    assert!(first.cancelled, "{first:?}");
    assert_eq!(first.batches, 3);
    assert_eq!(store.embedding_count(&model_key("m")), first.embedded, "every finished batch is stored");
    // Highest priority first: what was embedded is a prefix of the input.
    let done = embedder.embedded.lock().unwrap().clone();
    assert_eq!(done[..], texts[..done.len()]);
    let second = pass(&all, &embedder, &store, &|| false);
    assert_eq!((second.skipped, second.embedded, second.cancelled), (first.embedded, 50 - first.embedded, false));
    // Already cancelled: nothing is done at all.
    let other = Scripted::new("other", 4);
    let report = pass(&all, &other, &store, &|| true);
    assert_eq!((report.embedded, report.cancelled, other.calls.load(Ordering::SeqCst)), (0, true, 0));
}

#[test]
fn a_bad_embedder_answer_stores_nothing() {
    struct Short;
    impl Embedder for Short {
        fn model_id(&self) -> String {
            "short".into()
        }
        fn dims(&self) -> Option<usize> {
            Some(4)
        }
        fn max_batch(&self) -> usize {
            8
        }
        fn max_tokens(&self) -> usize {
            8
        }
        fn abortable(&self) -> bool {
            true
        }
        fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
            Box::pin(async move { Ok(texts.iter().map(|_| vec![1.0, 2.0]).collect()) })
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let err = runtime.block_on(embed_pending(&items(&["a", "b"]), &Short, &store, &|| false)).unwrap_err();
    assert!(err.to_string().contains("2 dimensions, expected 4"), "{err}");
    assert_eq!(store.embedding_count(&model_key("short")), 0);
}

// ---------------------------------------------------------------------------------------------
// The `/v1/embeddings` provider against a loopback server.

const KEY_ENV: &str = "REVERIE_EMBED_TEST_KEY";
const KEY: &str = "sk-embed-secret-9191";

fn init() {
    static ONCE: Once = Once::new();
    // SAFETY: every test of this section calls `init` before it reads the variable; the others
    // wait on the `Once`, and no test of this binary writes the environment elsewhere.
    ONCE.call_once(|| unsafe { std::env::set_var(KEY_ENV, KEY) });
}

fn limits() -> LlmConfig {
    LlmConfig {
        connect_timeout: Duration::from_millis(1000),
        first_token_timeout: Duration::from_millis(2000),
        total_timeout: Duration::from_millis(5000),
        max_retries: 2,
        ..LlmConfig::default()
    }
}

fn remote(server: &Server, batch: usize, key: bool) -> OpenAiEmbedder {
    init();
    let config = EmbedConfig {
        provider: reverie::embed::EmbedProvider::OpenAi,
        model: "nomic-embed-text".into(),
        base_url: Some(format!("{}/v1", server.url())),
        api_key_env: key.then(|| KEY_ENV.to_string()),
        batch: Some(batch),
        max_tokens: 64,
        ..EmbedConfig::default()
    };
    OpenAiEmbedder::new(&config, &limits()).unwrap().with_backoff(Duration::from_millis(5), Duration::from_millis(20))
}

/// A server that embeds each input as `[len, first byte, dims-2 zeros…]`, in reverse order with indices.
fn embeddings_reply(request: &crate::util::http::Request, dims: usize) -> Reply {
    let inputs = request.json()["input"].as_array().cloned().unwrap_or_default();
    let data: Vec<_> = inputs
        .iter()
        .enumerate()
        .rev()
        .map(|(i, text)| {
            let text = text.as_str().unwrap_or_default();
            let mut v = vec![0.0f32; dims];
            v[0] = text.len() as f32;
            v[1] = text.bytes().next().unwrap_or(0) as f32;
            json!({"object": "embedding", "index": i, "embedding": v})
        })
        .collect();
    Reply::json(200, &json!({"object": "list", "data": data, "model": "nomic-embed-text"}))
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

#[test]
fn remote_batches_respect_the_limit_and_keep_the_order() {
    let server = Server::start(|_, request| embeddings_reply(request, 4));
    let embedder = remote(&server, 2, true);
    let inputs = texts(&["alpha", "bravo", "charlie", "delta", "echo"]);
    let vectors = block_on(embedder.embed(&inputs)).unwrap();
    assert_eq!(vectors.len(), 5);
    for (text, vector) in inputs.iter().zip(&vectors) {
        assert_eq!((vector[0], vector[1]), (text.len() as f32, text.as_bytes()[0] as f32));
    }
    assert_eq!(embedder.dims(), Some(4));
    let requests = server.requests();
    let sizes: Vec<usize> = requests.iter().map(|r| r.json()["input"].as_array().unwrap().len()).collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    for request in &requests {
        assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/v1/embeddings"));
        assert_eq!(request.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
        assert_eq!(request.json()["model"], "nomic-embed-text");
    }
    // Long inputs are cut to max_tokens (64 tokens ≈ 224 characters) before they are sent.
    block_on(embedder.embed(&["x".repeat(10_000)])).unwrap();
    let last = server.requests().pop().unwrap();
    assert_eq!(last.json()["input"][0].as_str().unwrap().len(), 224);
}

#[test]
fn remote_429_waits_for_retry_after_and_5xx_is_retried() {
    let server = Server::start(|n, request| match n {
        0 => Reply::json(429, &json!({"error": {"message": "slow down"}})).header("retry-after-ms", "30"),
        1 => Reply::json(503, &json!({"error": "loading model"})),
        _ => embeddings_reply(request, 3),
    });
    let embedder = remote(&server, 8, false);
    let started = std::time::Instant::now();
    let vectors = block_on(embedder.embed(&texts(&["a", "b"]))).unwrap();
    assert_eq!(vectors.len(), 2);
    assert_eq!(server.requests().len(), 3);
    assert!(started.elapsed() >= Duration::from_millis(30), "the Retry-After wait was obeyed");
    assert!(server.requests()[0].header("authorization").is_none(), "no key configured, none sent");
}

#[test]
fn remote_errors_are_clear_and_never_show_the_key() {
    init();
    let cases: Vec<(Reply, &str, usize)> = vec![
        (Reply::json(401, &json!({"error": {"message": format!("bad key {KEY}")}})), "REVERIE_EMBED_TEST_KEY", 1),
        (Reply::json(404, &json!({"error": {"message": "model not found"}})), "model not found", 1),
        (Reply::new(200).header("content-type", "text/html").send("<html>proxy login</html>"), "not JSON", 1),
        (Reply::json(200, &json!({"data": [{"index": 0, "embedding": [1.0]}]})), "1 vectors for 2 inputs", 1),
        (Reply::json(500, &json!({"error": {"message": format!("boom {KEY}")}})), "HTTP 500", 3),
    ];
    for (reply, says, attempts) in cases {
        let server = Server::always(reply);
        let embedder = remote(&server, 8, true);
        let err = block_on(embedder.embed(&texts(&["a", "b"]))).unwrap_err();
        let message = format!("{err:#}");
        assert!(message.contains(says), "expected {says:?} in {message}");
        assert!(!message.contains(KEY), "the key leaked: {message}");
        assert_eq!(server.requests().len(), attempts, "{message}");
    }
    // A key variable that is not set is a configuration error before anything is sent.
    let server = Server::always(Reply::json(200, &json!({})));
    let config = EmbedConfig {
        provider: reverie::embed::EmbedProvider::OpenAi,
        model: "m".into(),
        base_url: Some(server.url()),
        api_key_env: Some("REVERIE_EMBED_TEST_UNSET_KEY".into()),
        ..EmbedConfig::default()
    };
    let err = block_on(OpenAiEmbedder::new(&config, &limits()).unwrap().embed(&texts(&["a"]))).unwrap_err();
    assert!(format!("{err:#}").contains("embed.api_key_env names $REVERIE_EMBED_TEST_UNSET_KEY"), "{err:#}");
    assert!(server.requests().is_empty());
    let bad = EmbedConfig { base_url: Some("ftp://x".into()), ..config };
    assert!(OpenAiEmbedder::new(&bad, &limits()).unwrap_err().to_string().contains("embed.base_url"));
}

#[test]
fn remote_vectors_that_change_dimensions_are_refused() {
    let server = Server::start(|n, request| embeddings_reply(request, if n == 0 { 4 } else { 6 }));
    let embedder = remote(&server, 8, false);
    assert_eq!(block_on(embedder.embed(&texts(&["a"]))).unwrap()[0].len(), 4);
    let err = block_on(embedder.embed(&texts(&["b"]))).unwrap_err();
    assert!(format!("{err:#}").contains("6 dimensions, earlier ones had 4"), "{err:#}");
}

#[test]
fn the_idle_pass_aborts_a_remote_request_when_cancelled() {
    let server = Server::always(Reply::new(200).framing(Framing::UntilClose).hold());
    let embedder = remote(&server, 8, false);
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let pending = items(&["a", "b"]);
    let flag = stop.clone();
    let cancelled = move || flag.load(Ordering::SeqCst);
    let options = PassOptions::default();
    let report = runtime.block_on(async {
        let pass = embed_pending_with(&pending, &embedder, &store, &cancelled, &options);
        let cancel = async {
            // Activity resumes once the request is in flight.
            let seen = server.wait_for(Duration::from_secs(5), |e| matches!(e, Event::Request(_))).await;
            assert!(seen.is_some(), "no request reached the server");
            stop.store(true, Ordering::SeqCst);
        };
        let (report, ()) = tokio::join!(pass, cancel);
        report.unwrap()
    });
    assert!(report.cancelled && report.embedded == 0, "{report:?}");
    assert_eq!(store.embedding_count(&model_key(&embedder.model_id())), 0);
    // The request was aborted: the server sees the client go away.
    let gone = runtime.block_on(server.wait_for(Duration::from_secs(5), |e| matches!(e, Event::ClientGone(_))));
    assert_eq!(gone, Some(Event::ClientGone(0)), "the held request was not aborted");
}

#[test]
fn quantized_vectors_of_the_store_round_trip() {
    let vector = QuantizedVector::quantize(&[0.5, -0.25, 0.0, 1.0]);
    assert_eq!(QuantizedVector::from_bytes(&vector.to_bytes(), Some(4)), Some(vector));
}

// ---------------------------------------------------------------------------------------------
// The semantic channel in the server, on the real model.

/// The server embeds at idle (`$/progress` "reverie: embedding", files done/total), and then a
/// question that shares no word with the code meets the definition it paraphrases through the
/// semantic channel.
#[tokio::test]
async fn the_server_embeds_at_idle_and_answers_through_the_semantic_channel() {
    let Some(model) = crate::util::test_embed_model() else { return };
    let ws = crate::util::Workspace::with(&[
        (
            "billing/invoice.py",
            "def compute_invoice_total(lines):\n    \"\"\"Adds up the price of every line, then the tax.\"\"\"\n    subtotal = sum(line.price * line.quantity for line in lines)\n    return subtotal * 1.2\n",
        ),
        (
            "net/retry.py",
            "def backoff_delay(attempt):\n    \"\"\"Seconds to wait before the next attempt.\"\"\"\n    return min(30, 2 ** attempt)\n",
        ),
        ("ui/colors.py", "def theme_palette(dark):\n    return {'fg': '#fff' if dark else '#000'}\n"),
    ]);
    ws.write(
        "reverie.toml",
        format!("[embed]\nmodel = {:?}\n\n[server]\nidle_after = \"300ms\"\n", model.display().to_string()),
    );
    let mut client = crate::util::lsp::LspClient::spawn(&ws.cache_dir(), ws.home.path());
    client.initialize(&ws.root(), &["utf-16"], serde_json::Value::Null).await;
    let begin =
        client.wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["title"] == "reverie: embedding").await;
    let token = begin["params"]["token"].clone();
    let end = client
        .wait_for(|m| {
            m["method"] == "$/progress" && m["params"]["token"] == token && m["params"]["value"]["kind"] == "end"
        })
        .await;
    assert_eq!(end["params"]["value"]["message"], "embedded 3 definitions", "{end}");
    let reported = client.received.iter().any(|m| {
        m["method"] == "$/progress" && m["params"]["token"] == token && m["params"]["value"]["message"] == "3/3 files"
    });
    assert!(reported, "progress counts files");

    let answer = client
        .result("reverie/ask", json!({"question": "how much does the customer pay altogether for an order?"}))
        .await;
    let first = &answer["context"][0];
    assert_eq!(first["path"], "billing/invoice.py", "{answer}");
    assert!(first["reason"].as_str().unwrap().ends_with("its meaning is close to the question's"), "{answer}");
    assert_eq!(client.shutdown().await, Some(0));
}

/// A fake model whose playbook for `billing/invoice.py` reports a symptom in words the code does not
/// use, and a workspace with that file and `others` beside it.
fn billed_twice(others: &[(&str, &str)]) -> (crate::util::openai_fake::FakeOpenAi, crate::util::Workspace) {
    use crate::util::openai_fake::{FakeOpenAi, Reply, job_of, valid_note};
    let fake = FakeOpenAi::start(|request| {
        let (kind, subject) = job_of(request);
        if kind == "playbook" && subject == "billing/invoice.py" {
            let body = json!({"failure_modes": [{"symptom": "customers are billed two times the expected price", "cause": "tax applied to a total that already holds it", "where": "compute_invoice_total"}], "breakpoints": ["compute_invoice_total"], "tests": []});
            return Reply::Text(body.to_string());
        }
        Reply::Text(valid_note(request))
    });
    let mut files = vec![(
        "billing/invoice.py",
        "def compute_invoice_total(lines):\n    subtotal = sum(line.price * line.quantity for line in lines)\n    return subtotal * 1.2\n",
    )];
    files.extend_from_slice(others);
    (fake, crate::util::Workspace::with(&files))
}

const RETRY_PY: (&str, &str) = ("net/retry.py", "def backoff_delay(attempt):\n    return min(30, 2 ** attempt)\n");

/// `reverie think` embeds the notes it writes, and a bug report that shares no word with a note's
/// symptom meets that note through its vector (the paper's anticipated queries).
#[test]
fn a_symptom_in_other_words_meets_the_playbook_written_for_it() {
    let Some(model) = crate::util::test_embed_model() else { return };
    let (fake, ws) = billed_twice(&[
        RETRY_PY,
        ("ui/colors.py", "def theme_palette(dark):\n    return {'fg': '#fff' if dark else '#000'}\n"),
    ]);
    ws.write("reverie.toml", format!("{}\n[embed]\nmodel = {:?}\n", fake.llm_config(), model.display().to_string()));
    let thought = ws.json(&["think", "."]);
    assert!(thought["notes"]["fresh"].as_u64().unwrap() >= 4, "{thought}");
    let answer = ws.json(&["ask", ".", "why does the amount at checkout come out doubled?", "--no-llm"]);
    // No word of the question is in the note: only its vector can have found it.
    assert_eq!(
        (answer["context"][0]["path"].as_str(), answer["context"][0]["kind"].as_str()),
        (Some("billing/invoice.py"), Some("note")),
        "{answer}"
    );
    let text = answer["answer"].as_str().unwrap();
    assert!(text.contains("1. `billing/invoice.py:1-3` — the debugging playbook"), "{text}");
    assert!(text.contains("customers are billed two times the expected price"), "{text}");
}

/// In the server, the notes a thinking pass writes are embedded at idle time (the next one, or the
/// pass that follows the embedder's loading), and then a symptom in other words meets the playbook
/// written for it.
#[tokio::test]
async fn the_server_embeds_new_notes_at_the_next_idle_time() {
    let Some(model) = crate::util::test_embed_model() else { return };
    let (fake, ws) = billed_twice(&[RETRY_PY]);
    ws.write(
        "reverie.toml",
        format!(
            "{}\n[embed]\nmodel = {:?}\n\n[server]\nidle_after = \"300ms\"\n\n[sleep]\nnotes = [\"playbook\"]\n",
            fake.llm_config(),
            model.display().to_string()
        ),
    );
    let mut client = crate::util::lsp::LspClient::spawn(&ws.cache_dir(), ws.home.path());
    client.initialize(&ws.root(), &["utf-16"], serde_json::Value::Null).await;
    let ended = |title: &'static str| {
        move |m: &serde_json::Value| {
            m["method"] == "$/progress"
                && m["params"]["value"]["kind"] == "end"
                && m["params"]["value"]["message"].as_str().is_some_and(|t| t.contains(title))
        }
    };
    client.wait_for(ended("2 notes stored this pass")).await;
    // The user comes back (a question), then leaves again: the new notes are embedded then — or
    // already were, when the model finished loading only after the thinking pass.
    client.result("reverie/ask", json!({"question": "what is here?"})).await;
    client.wait_for(ended("and 2 note passages")).await;
    let answer =
        client.result("reverie/ask", json!({"question": "why does the amount at checkout come out doubled?"})).await;
    let first = &answer["context"][0];
    let cited = (first["path"].as_str(), first["reason"].as_str());
    assert_eq!(cited, (Some("billing/invoice.py"), Some("the debugging playbook")), "{answer}");
    assert!(first["text"].as_str().unwrap().contains("customers are billed two times"), "{answer}");
    assert_eq!(client.shutdown().await, Some(0));
}
