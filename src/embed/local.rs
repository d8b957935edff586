//! The in-process embedder: a BERT-family sentence-embedding model (all-MiniLM-L6-v2 by default)
//! run with candle on the CPU, no server and no system library.
//!
//! A model is a directory with `model.safetensors`, `config.json` (BERT's), `tokenizer.json` and
//! optionally `1_Pooling/config.json` (sentence-transformers' pooling: mean, the default, or CLS).
//! Output matches sentence-transformers: tokens truncated to `max_tokens`, the last hidden states
//! pooled over the attention mask, then L2-normalized (norm 1 ± 1e-5, checked in tests/embed.rs).
//!
//! Measured (`cargo run --example embed_throughput -- MODEL_DIR 64`, all-MiniLM-L6-v2, 64
//! definition-sized texts, 2 shared AMD EPYC cores, load average 3–7 from other builds; wall-clock
//! items/s varied up to 2× between runs, so ranges over three runs):
//!
//! | max_tokens | threads | batch 1 | batch 8 | batch 32 |
//! |---|---|---|---|---|
//! | 64  | 1 | 11–35 | 15–43 | 17–44 |
//! | 64  | 2 | 9–39  | 11–50 | 19–59 |
//! | 128 | 1 | 7–19  | 9–14  | 8–14  |
//! | 128 | 2 | 7–23  | 9–26  | 8–25  |
//! | 256 | 1 | 5–6   | 4–7   | 3–7   |
//! | 256 | 2 | 5–14  | 9–11  | 6–9   |
//!
//! Hence the defaults: 64 tokens (path, signature, doc and the first lines of the body; 128 costs
//! 2–2.5×), batches of 8, all cores up to 4. Django 5.1.4's ~35k definitions then take ≈ 12 min at
//! the 50 items/s measured with 2 threads at load 3, up to 53 min at the worst (11/s, load 7), and
//! 14–39 min with 1 thread. A batch of 8 at 64 tokens takes 160–340 ms;
//! told to stop a third of the way in, it returned 7–8 ms after the stop was due (31 ms at 128
//! tokens), so a local batch holds the CPU well within 100 ms of the user's return.
//!
//! Guarantees: loading reads the files once (weights copied into candle tensors, the file buffer
//! dropped) and fails with a message naming the file and the fix; `embed` never panics on any text
//! (empty ones included) and runs on this embedder's own rayon pool of `threads` threads, so the
//! indexer's pool and the async runtime are never borrowed; the async `embed` runs the batch on a
//! `spawn_blocking` thread, and dropping its future stops that thread's work at the next layer
//! (`bert.rs`), so the CPU is handed back within a layer's time. The model id covers the model's name, a digest of all three files and
//! `max_tokens`, so another model file or bound re-embeds.

use super::bert::{self, Bert, BertConfig};
use super::{EmbedFuture, Embedder};
use crate::config::EmbedConfig;
use crate::hash::DigestBuilder;
use anyhow::{Context, Result, bail};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// The files a model directory must hold.
const REQUIRED: [&str; 3] = ["model.safetensors", "config.json", "tokenizer.json"];

/// What the in-process embedder is asked to do (from `[embed]`).
#[derive(Clone, Debug, PartialEq)]
pub struct LocalOptions {
    /// Tokens per text, `[CLS]` and `[SEP]` included; at most the model's position embeddings.
    pub max_tokens: usize,
    /// Texts per forward pass.
    pub max_batch: usize,
    /// Threads of the embedder's pool.
    pub threads: usize,
}

impl LocalOptions {
    pub fn from_config(config: &EmbedConfig) -> LocalOptions {
        LocalOptions {
            max_tokens: config.max_tokens,
            max_batch: config.batch.unwrap_or(DEFAULT_BATCH),
            threads: config.threads.unwrap_or_else(default_threads),
        }
    }
}

/// Texts per forward pass by default: batch 8 gains 25–35% over batch 1 (measured, module docs)
/// and 32 only 2–24% more while a batch takes over a second.
pub const DEFAULT_BATCH: usize = 8;

/// The cores, at most 4: embedding runs while the user is idle and gives the CPU back within a
/// layer's time when they return; on 2 cores two threads nearly double the measured throughput.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4)
}

/// Pooling as sentence-transformers' `1_Pooling/config.json` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pooling {
    Mean,
    Cls,
}

pub struct LocalEmbedder {
    inner: Arc<Model>,
    model_id: String,
}

struct Model {
    bert: Bert,
    tokenizer: Tokenizer,
    pooling: Pooling,
    dims: usize,
    max_tokens: usize,
    max_batch: usize,
    pool: rayon::ThreadPool,
}

impl std::fmt::Debug for LocalEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEmbedder").field("model_id", &self.model_id).finish_non_exhaustive()
    }
}

/// The model directory for `model`: a path to a directory (absolute, or containing a `/`) is used
/// as is; a name is looked up in each of `search_dirs`. The error names every place looked at and
/// how to get the default model.
pub fn resolve_model_dir(model: &str, search_dirs: &[PathBuf]) -> Result<PathBuf> {
    let model = model.trim();
    if model.is_empty() {
        bail!("embed.model is empty; name a model (all-MiniLM-L6-v2) or a directory holding model.safetensors");
    }
    let as_path = Path::new(model);
    let candidates: Vec<PathBuf> = if as_path.is_absolute() || model.contains('/') || model.starts_with('.') {
        vec![as_path.to_path_buf()]
    } else {
        search_dirs.iter().map(|dir| dir.join(model)).collect()
    };
    for dir in &candidates {
        if REQUIRED.iter().all(|file| dir.join(file).is_file()) {
            return Ok(dir.clone());
        }
    }
    let looked: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
    bail!(
        "the embedding model {model:?} was not found (looked in {}; a model directory holds {}); run \
         tests/fetch-embed-model.sh to get all-MiniLM-L6-v2, set embed.model to a model directory, or set \
         embed.provider = \"none\"",
        if looked.is_empty() { "nowhere".to_string() } else { looked.join(", ") },
        REQUIRED.join(", ")
    )
}

impl LocalEmbedder {
    /// Loads the model in `dir` (see the module docs for what it must hold).
    pub fn load(dir: &Path, options: &LocalOptions) -> Result<LocalEmbedder> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).with_context(|| format!("reading the embedding model's {}", path.display()))
        };
        let config_bytes = read("config.json")?;
        let tokenizer_bytes = read("tokenizer.json")?;
        let weights = read("model.safetensors")?;
        let config: BertConfig = serde_json::from_slice(&config_bytes).with_context(|| {
            format!(
                "{} is not a BERT config.json (only BERT-family models run in-process)",
                dir.join("config.json").display()
            )
        })?;
        let pooling = read_pooling(dir)?;
        if options.max_tokens < 3 {
            bail!(
                "embed.max_tokens is {}; it must leave room for a word besides [CLS] and [SEP] (use e.g. 128)",
                options.max_tokens
            );
        }
        let max_tokens = options.max_tokens.min(config.max_position_embeddings);
        if config.hidden_size == 0 {
            bail!("{} says hidden_size 0", dir.join("config.json").display());
        }
        let mut tokenizer = Tokenizer::from_bytes(&tokenizer_bytes)
            .map_err(|e| anyhow::anyhow!("{} does not load: {e}", dir.join("tokenizer.json").display()))?;
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: max_tokens, ..Default::default() }))
            .map_err(|e| anyhow::anyhow!("cannot truncate to {max_tokens} tokens: {e}"))?;
        // Pad to the longest text of each batch, not to a fixed length (tokenizer.json says 128).
        tokenizer.with_padding(Some(PaddingParams { strategy: PaddingStrategy::BatchLongest, ..Default::default() }));
        let digest = DigestBuilder::new()
            .part(&config_bytes)
            .part(&tokenizer_bytes)
            .part(&weights)
            .part(format!("{pooling:?}").as_bytes())
            .finish();
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .with_context(|| format!("{} is not a safetensors file", dir.join("model.safetensors").display()))?;
        let bert = Bert::load(vb, &config)
            .with_context(|| format!("{} does not hold the BERT weights config.json describes", dir.display()))?;
        let threads = options.threads.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("reverie-embed-{i}"))
            .build()
            .context("starting the embedder's threads")?;
        let name = dir.file_name().map_or_else(|| "model".to_string(), |n| n.to_string_lossy().into_owned());
        let model_id = format!("local:{name}:{}:{max_tokens}", digest.short());
        let model = Model {
            bert,
            tokenizer,
            pooling,
            dims: config.hidden_size,
            max_tokens,
            max_batch: options.max_batch.max(1),
            pool,
        };
        Ok(LocalEmbedder { inner: Arc::new(model), model_id })
    }

    /// Embeds on the calling thread (blocking; the pool does the work). For callers that are not
    /// async, and for measurements.
    pub fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        self.inner.embed(texts, &|| false)
    }

    /// `embed_blocking` that gives up (with an error) at the next layer once `stop()` is true.
    pub fn embed_blocking_until(&self, texts: &[String], stop: &(dyn Fn() -> bool + Sync)) -> Result<Vec<Vec<f32>>> {
        self.inner.embed(texts, stop)
    }
}

fn read_pooling(dir: &Path) -> Result<Pooling> {
    let path = dir.join("1_Pooling").join("config.json");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Pooling::Mean),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not JSON", path.display()))?;
    let on = |key: &str| value.get(key).and_then(|v| v.as_bool()).unwrap_or(false);
    match (on("pooling_mode_mean_tokens"), on("pooling_mode_cls_token")) {
        (true, false) => Ok(Pooling::Mean),
        (false, true) => Ok(Pooling::Cls),
        _ => bail!("{} asks for a pooling other than mean or CLS alone, which reverie does not do", path.display()),
    }
}

impl Model {
    fn embed(&self, texts: &[String], stop: &(dyn Fn() -> bool + Sync)) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(self.max_batch) {
            out.extend(self.pool.install(|| self.forward(chunk, stop))?);
        }
        Ok(out)
    }

    fn forward(&self, texts: &[String], stop: &(dyn Fn() -> bool + Sync)) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.iter().map(String::as_str).collect::<Vec<_>>(), true)
            .map_err(|e| anyhow::anyhow!("tokenizing: {e}"))?;
        let len = encodings.iter().map(|e| e.get_ids().len()).max().unwrap_or(0).max(1);
        let rows = encodings.len();
        let mut ids = Vec::with_capacity(rows * len);
        let mut mask = Vec::with_capacity(rows * len);
        for encoding in &encodings {
            // Padding makes every row `len` long; pad by hand should a tokenizer not.
            let (row_ids, row_mask) = (encoding.get_ids(), encoding.get_attention_mask());
            ids.extend((0..len).map(|i| row_ids.get(i).copied().unwrap_or(0)));
            mask.extend((0..len).map(|i| row_mask.get(i).copied().unwrap_or(0)));
        }
        debug_assert!(len <= self.max_tokens.max(1));
        let device = Device::Cpu;
        let ids = Tensor::from_vec(ids, (rows, len), &device)?;
        let mask = Tensor::from_vec(mask, (rows, len), &device)?;
        let Some(hidden) = self.bert.forward(&ids, &mask, stop)? else {
            bail!("the embedding batch was abandoned");
        };
        let pooled = match self.pooling {
            Pooling::Cls => bert::cls_pool(&hidden)?,
            Pooling::Mean => bert::mean_pool(&hidden, &mask)?,
        };
        let mut vectors: Vec<Vec<f32>> = pooled.to_vec2()?;
        for vector in &mut vectors {
            super::quant::normalize(vector);
        }
        Ok(vectors)
    }
}

impl Embedder for LocalEmbedder {
    fn model_id(&self) -> String {
        self.model_id.clone()
    }

    fn dims(&self) -> Option<usize> {
        Some(self.inner.dims)
    }

    fn max_batch(&self) -> usize {
        self.inner.max_batch
    }

    fn max_tokens(&self) -> usize {
        self.inner.max_tokens
    }

    fn abortable(&self) -> bool {
        false
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        let model = self.inner.clone();
        let texts = texts.to_vec();
        let abandoned = Arc::new(AtomicBool::new(false));
        let stop = abandoned.clone();
        Box::pin(async move {
            // Dropping this future (the caller gave up) sets the flag the forward pass checks.
            let _guard = SetOnDrop(abandoned);
            tokio::task::spawn_blocking(move || model.embed(&texts, &|| stop.load(Ordering::Relaxed)))
                .await
                .context("the embedding thread stopped unexpectedly")?
        })
    }
}

/// Sets its flag when dropped: ties the blocking forward pass to the future that awaits it.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
