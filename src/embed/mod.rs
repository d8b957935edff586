//! Embeddings: the semantic index's vectors, computed while the user is idle.
//!
//! What is here, and how the server and `reverie think` use it:
//!
//! - [`Embedder`]: one trait, two providers, built from the `[embed]` config by [`from_config`]:
//!   - `local` (the default): all-MiniLM-L6-v2 (or any BERT-family model in a directory holding
//!     `model.safetensors`, `config.json`, `tokenizer.json`) in-process with candle (`bert.rs`),
//!     mean pooling and L2 normalisation as sentence-transformers does (`local.rs`). It runs on its
//!     own rayon pool of `embed.threads` threads, called through `tokio::task::spawn_blocking`, never
//!     on the async threads, and stops between layers when its caller gives up;
//!   - `openai`: any OpenAI-compatible `POST {base_url}/embeddings` server (Ollama
//!     `nomic-embed-text`, llama-server, vLLM, OpenAI), with the `[llm]` section's timeouts, retries
//!     and concurrency limit (`openai.rs`).
//! - [`Embedder::model_id`] keys every stored vector (with [`model_key`]): a model change, another
//!   model file or another `max_tokens` re-embeds; an item's *content key* (the caller's digest of
//!   what it embeds, e.g. [`item_key`] of [`definition_text`]) invalidates it when its text changes.
//! - [`definition_text`] (pure): what is embedded for a definition — path, signature, doc, the head
//!   of the body — bounded by the model's `max_tokens`.
//! - [`run::embed_pending`]: the idle pass. Give it the `(content key, text)` pairs in priority
//!   order, the embedder, the store and a cancellation check; it skips what the store has for this
//!   model, embeds in batches sized to finish within ~400 ms (measured as it goes), stores each batch
//!   durably before the next, returns within 5 ms of cancellation (the local model's CPU work stops at
//!   its next layer: 17–84 ms measured) and returns a report.
//! - [`quant`] (pure): `i8` vectors with a per-vector scale (384 dims → 388 bytes) and the exact
//!   cosine top-k over a flat array ([`quant::FlatIndex`]), for the question-time channel: load the
//!   model's vectors once with [`stored_index`], embed the question (one short call), then
//!   `FlatIndex::top_k` (content keys with their cosine, best first).
//! - The store's `embeddings` tree (`store.rs`, bytes only — this module encodes them):
//!   `put_embeddings`, `embeddings`, `has_embedding`, `embeddings_of_model`, `embedding_count`,
//!   `drop_embeddings` (a model's), `retain_embeddings` (garbage collection: keep one model's vectors
//!   of live content keys).
//!
//! - [`adapter`]: the semantic space fitted to the project — a linear map of the question's vector
//!   learned at idle from the project's own pairs (commit → definitions, doc → definition, test →
//!   definitions), used by [`semantic::SemanticIndex::nearby`] only when it beats the base model
//!   on held-out pairs.
//!
//! Without an embedder (`provider = "none"`, or the model is not found: [`from_config`] says why and
//! how to fetch it) everything else works from the other channels.
//!
//! Wiring, in outline:
//!
//! ```text
//! // once, off the async threads (the local model loads in about a second):
//! let dirs = embed::model_search_dirs(Some(&cache_root));
//! let embedder = embed::from_config(&config.embed, &config.llm, &dirs)?;        // None: no channel
//! // idle (most valuable files first):
//! let text = embed::definition_text(path, def, parent, source, embedder.max_tokens());
//! items.push((embed::item_key(&text), text));
//! let report = embed::run::embed_pending(&items, &*embedder, &store, &|| user_is_back()).await?;
//! store.retain_embeddings(&embed::model_key(&embedder.model_id()), &live_item_keys)?;   // after an index
//! // question time:
//! let index = embed::stored_index(&store, &embedder.model_id())?;               // keep it, reload after a pass
//! let query = embedder.embed(&[question.to_string()]).await?.remove(0);         // 10–20 ms here
//! let hits = index.top_k(&query, 50);                                           // item keys + cosine
//! ```

pub mod adapter;
mod bert;
mod inplace;
pub mod local;
pub mod openai;
pub mod quant;
pub mod run;
pub mod semantic;

use crate::hash::{Digest, DigestBuilder};
use crate::syntax::facts::Definition;
use crate::tokens::estimate_tokens;
use anyhow::Result;
use serde::{Deserialize, Deserializer};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

/// Which embedder `[embed]` uses: in-process (`local`, the default), any `/v1/embeddings` server
/// (`openai`), or none (no semantic index).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EmbedProvider {
    #[default]
    Local,
    OpenAi,
    None,
}

impl EmbedProvider {
    pub const ALL: [EmbedProvider; 3] = [EmbedProvider::Local, EmbedProvider::OpenAi, EmbedProvider::None];

    /// The name written in `embed.provider`.
    pub fn name(self) -> &'static str {
        match self {
            EmbedProvider::Local => "local",
            EmbedProvider::OpenAi => "openai",
            EmbedProvider::None => "none",
        }
    }
}

impl<'de> Deserialize<'de> for EmbedProvider {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<EmbedProvider, D::Error> {
        let given = String::deserialize(deserializer)?;
        crate::units::one_of(&given, "a provider", &EmbedProvider::ALL, EmbedProvider::name)
            .map_err(serde::de::Error::custom)
    }
}

/// The `[embed]` section: the embedding model of the semantic index (`crate::embed`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default)]
pub struct EmbedConfig {
    pub provider: EmbedProvider,
    /// For `local`: a model name (looked up in the cache's `models/`, where
    /// `scripts/fetch-embed-model.sh` puts it) or a directory holding `model.safetensors`,
    /// `config.json` and `tokenizer.json`. For `openai`: the server's model name.
    pub model: String,
    /// For `openai`: e.g. `http://localhost:11434/v1` (Ollama); default `https://api.openai.com/v1`.
    pub base_url: Option<String>,
    /// For `openai`: the environment variable holding the API key (never the key itself).
    pub api_key_env: Option<String>,
    /// Most texts per call (default: 16 in-process, 64 for `openai`).
    #[serde(deserialize_with = "de_positive_opt")]
    pub batch: Option<usize>,
    /// For `local`: threads of the embedder (default: the cores, at most 4).
    #[serde(deserialize_with = "de_positive_opt")]
    pub threads: Option<usize>,
    /// Tokens of one item the model sees; longer items are cut (default 64: see `embed::local`).
    #[serde(deserialize_with = "de_positive")]
    pub max_tokens: usize,
}

impl Default for EmbedConfig {
    fn default() -> Self {
        EmbedConfig {
            provider: EmbedProvider::Local,
            model: "all-MiniLM-L6-v2".into(),
            base_url: None,
            api_key_env: None,
            batch: None,
            threads: None,
            max_tokens: 64,
        }
    }
}

fn de_positive<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    match usize::deserialize(deserializer)? {
        0 => Err(serde::de::Error::custom("must be at least 1")),
        n => Ok(n),
    }
}

fn de_positive_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<usize>, D::Error> {
    de_positive(deserializer).map(Some)
}

pub type EmbedFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<Vec<f32>>>> + Send + 'a>>;

/// Turns texts into vectors. Implementations return one vector per text, in order, all of
/// `dims()` dimensions; the in-process one L2-normalizes them, remote ones return what the server
/// computed (cosine does not need unit length).
pub trait Embedder: Send + Sync {
    /// A stable id of the model and everything that changes its vectors (weights, truncation):
    /// stored vectors are keyed by it, so a change re-embeds instead of mixing vector spaces.
    fn model_id(&self) -> String;
    /// Dimensions of the vectors; `None` for a remote model until its first answer.
    fn dims(&self) -> Option<usize>;
    /// Most texts one `embed` call takes; larger inputs are the caller's to split (the idle pass
    /// does; the `openai` provider also splits on its own).
    fn max_batch(&self) -> usize;
    /// Tokens per text the model sees; longer texts are truncated (by the tokenizer, or by the
    /// server). [`definition_text`] bounds its output by this.
    fn max_tokens(&self) -> usize;
    /// Whether dropping `embed`'s future stops the work (an HTTP request: yes; a local forward pass:
    /// no, it runs to the end of the batch). The idle pass keeps batches short when it does not.
    fn abortable(&self) -> bool;
    /// Embeds a batch. Dropping the future abandons the call: an HTTP request is aborted; a local
    /// batch stops at the next layer of its forward pass (a fraction of a batch's time), which is
    /// why the idle pass also keeps local batches short.
    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a>;
}

/// The digest that keys a model's vectors in the store.
pub fn model_key(model_id: &str) -> Digest {
    DigestBuilder::new().part(b"embed-model").part(model_id.as_bytes()).finish()
}

/// The store key of one definition's vector (under the model's key).
pub fn definition_key(path: &str, content_hash: &Digest, index: u32) -> Digest {
    DigestBuilder::new()
        .part(b"embed-definition")
        .part(path.as_bytes())
        .part(&content_hash.0)
        .part(&index.to_le_bytes())
        .finish()
}

/// A content key for an embedded text: the digest of the text itself, so any change to what is
/// embedded (the code, the path, the bound) gives a new key.
pub fn item_key(text: &str) -> Digest {
    DigestBuilder::new().part(b"embed-item").part(text.as_bytes()).finish()
}

/// What is embedded for one definition: its path, its signature (after its parent's, for a method),
/// its doc and then the head of its body, whitespace collapsed, within `max_tokens` (estimated with
/// `tokens::estimate_tokens`, which errs long, so the model rarely truncates). Pure; a span outside
/// `source` (stale facts) contributes no body.
pub fn definition_text(
    path: &str,
    def: &Definition,
    parent: Option<&Definition>,
    source: &str,
    max_tokens: usize,
) -> String {
    let mut header = String::new();
    header.push_str(path);
    header.push('\n');
    if let Some(parent) = parent {
        header.push_str(&parent.signature);
        header.push_str(" > ");
    }
    header.push_str(&def.signature);
    let mut text = String::new();
    push_bounded(&mut text, &header, max_tokens);
    if let Some(doc) = def.doc.as_deref() {
        let doc = collapse(doc);
        if !doc.is_empty() {
            push_bounded(&mut text, &format!("\n{doc}"), max_tokens);
        }
    }
    let start = def.span.start_byte as usize;
    let end = def.span.end_byte as usize;
    let body = collapse(source.get(start..end).unwrap_or(""));
    // The body's first words repeat the signature (and a Python docstring the doc): say them once.
    let mut body = body.strip_prefix(def.signature.as_str()).unwrap_or(&body).trim_start();
    if let Some(doc) = def.doc.as_deref().map(collapse).filter(|d| !d.is_empty())
        && let Some(at) = body.find(&doc)
        && at < 200
    {
        body = body[at + doc.len()..].trim_start_matches(['"', '\'', ' ']);
    }
    let body = body.trim_start_matches([':', '{', ' ']);
    if !body.is_empty() {
        push_bounded(&mut text, &format!("\n{body}"), max_tokens);
    }
    text
}

/// Appends as much of `part` as keeps `text` within `max_tokens`, cut on a char boundary.
fn push_bounded(text: &mut String, part: &str, max_tokens: usize) {
    let used = estimate_tokens(text);
    if used >= max_tokens {
        return;
    }
    if used + estimate_tokens(part) <= max_tokens {
        text.push_str(part);
        return;
    }
    // estimate_tokens is ceil(2 × chars / 7): this many more characters still fit.
    let room_chars = ((max_tokens - used) * 7 / 2).saturating_sub(1);
    text.extend(part.chars().take(room_chars));
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every stored vector of the model `model_id`, decoded, in a flat index for the cosine channel.
/// Vectors that do not decode or whose dimensions differ from the first one's are left out.
pub fn stored_index(store: &crate::store::Store, model_id: &str) -> Result<quant::FlatIndex<Digest>> {
    let stored = store.embeddings_of_model(&model_key(model_id))?;
    let dims =
        stored.iter().find_map(|(_, bytes)| quant::QuantizedVector::from_bytes(bytes, None)).map_or(0, |v| v.dims());
    let mut index = quant::FlatIndex::new(dims);
    for (key, bytes) in &stored {
        if let Some(vector) = quant::QuantizedVector::from_bytes(bytes, Some(dims)) {
            index.push(*key, &vector);
        }
    }
    Ok(index)
}

/// Where a model given by name (not a path) is looked for: `crate::dirs::model_dirs`, where
/// `scripts/fetch-embed-model.sh` puts all-MiniLM-L6-v2.
pub fn model_search_dirs(cache_root: Option<&std::path::Path>) -> Vec<PathBuf> {
    crate::dirs::model_dirs(cache_root)
}

/// Builds the configured embedder; `Ok(None)` for `provider = "none"`. Errors say what is missing
/// and how to get it (a model not found names where it was looked for and the fetch script). The
/// local model loads here (about a second: 87 MB of weights), so call it off the async threads.
pub fn from_config(
    config: &EmbedConfig,
    limits: &crate::llm::LlmConfig,
    search_dirs: &[PathBuf],
) -> Result<Option<Arc<dyn Embedder>>> {
    match config.provider {
        EmbedProvider::None => Ok(None),
        EmbedProvider::Local => {
            let dir = local::resolve_model_dir(&config.model, search_dirs)?;
            Ok(Some(Arc::new(local::LocalEmbedder::load(&dir, &local::LocalOptions::from_config(config))?)))
        }
        EmbedProvider::OpenAi => Ok(Some(Arc::new(openai::OpenAiEmbedder::new(config, limits)?))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::facts::{DefKind, Point, Span};

    fn def(signature: &str, doc: Option<&str>, start: usize, end: usize) -> Definition {
        let point = Point { line: 0, column: 0 };
        Definition {
            name: "f".into(),
            kind: DefKind::Function,
            span: Span { start_byte: start as u32, end_byte: end as u32, start: point, end: point },
            signature: signature.into(),
            doc: doc.map(str::to_string),
            parent: None,
        }
    }

    #[test]
    fn a_definition_text_has_path_signature_doc_and_body_once_each() {
        let source = "def sign(self, value):\n    \"\"\"Signs the value.\"\"\"\n    return hmac(value,\n        key)\n";
        let d = def("def sign(self, value)", Some("Signs the value."), 0, source.len());
        let class = def("class Signer", None, 0, 0);
        let text = definition_text("src/signing.py", &d, Some(&class), source, 256);
        assert_eq!(
            text,
            "src/signing.py\nclass Signer > def sign(self, value)\nSigns the value.\nreturn hmac(value, key)"
        );
        let rust = "pub fn open(path: &Path) -> Result<Store> {\n    let x = 1;\n}";
        let d = def("pub fn open(path: &Path) -> Result<Store>", None, 0, rust.len());
        assert_eq!(
            definition_text("src/store.rs", &d, None, rust, 256),
            "src/store.rs\npub fn open(path: &Path) -> Result<Store>\nlet x = 1; }"
        );
    }

    #[test]
    fn a_definition_text_stays_within_max_tokens() {
        let body = format!("fn big() {{ {} }}", "let value = compute(value);\n".repeat(500));
        let d = def("fn big()", Some(&"A long doc. ".repeat(100)), 0, body.len());
        for max in [8, 32, 64, 128, 256] {
            let text = definition_text("a/b.rs", &d, None, &body, max);
            assert!(estimate_tokens(&text) <= max, "{max}: {}", estimate_tokens(&text));
            assert!(estimate_tokens(&text) + 2 >= max, "{max}: the budget is used, not wasted");
        }
        assert!(definition_text("a/b.rs", &d, None, &body, 128).starts_with("a/b.rs\nfn big()\nA long doc."));
        assert_eq!(definition_text("a/b.rs", &d, None, &body, 0), "");
    }

    #[test]
    fn a_stale_span_contributes_no_body_and_never_panics() {
        let d = def("fn f()", None, 3, 900);
        assert_eq!(definition_text("x.rs", &d, None, "fn f() {}", 64), "x.rs\nfn f()");
        // A span that cuts a multi-byte character.
        let d = def("fn g()", None, 1, 4);
        assert_eq!(definition_text("x.rs", &d, None, "é€x", 64), "x.rs\nfn g()");
    }

    #[test]
    fn keys_separate_models_and_texts() {
        assert_ne!(model_key("local:a"), model_key("local:b"));
        assert_ne!(item_key("a"), item_key("b"));
        assert_ne!(model_key("x"), item_key("x"));
    }
}
