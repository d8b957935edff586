//! The in-process embedder: a BERT-family sentence-embedding model (all-MiniLM-L6-v2 by default)
//! run with candle on the CPU, no server and no system library.
//!
//! A model is a directory with `model.safetensors`, `config.json` (BERT's), `tokenizer.json` and
//! optionally `1_Pooling/config.json` (sentence-transformers' pooling: mean, the default, or CLS).
//! Output matches sentence-transformers: tokens truncated to `max_tokens`, the last hidden states
//! pooled over the attention mask, then L2-normalized (norm 1 ± 1e-5, checked in tests/it/embed.rs).
//!
//! Defaults, from `examples/embed_throughput.rs` on 2 shared AMD EPYC (Zen 4) cores: 64 tokens per
//! text (path, signature, doc, the body's first lines; 128 cost 2×), batches of 16 split in one
//! part per thread (candle's own parallelism alone was 40% slower), all cores up to 4. Told to stop
//! a third into a batch of 16, the forward pass returned within one layer's time (17–84 ms), which
//! the idle pass keeps under 100 ms by sizing batches (`run.rs`).
//!
//! Where the time goes (`perf record` on `embed_throughput --tree` over Django 5.1.4's 44,666
//! definitions, 58.7 tokens each on average, 70% cut at 64): before `inplace.rs` took over the
//! products and the GELU, 49% in gemm's f32 kernel, 9% in its packing, 23% in the GELU (libm's
//! erf, a branch per value), 9% in softmax, 5% in threads waiting on each other (candle's products
//! and sums asking for every core inside a part that already has one), tokenizing under 1%; padding
//! to each part's longest text adds 8% of tokens (63.6 computed per text against 58.7). Now the
//! kernel is 59%, the GELU 17%, packing 11%. The same run, anchor alternated (load 7–8.7, so per
//! CPU-second figures; wall time moved 1.5× between runs), a sample of 800: 29.7–33.8 → 39.1–41.6
//! definitions per CPU-second (13.2–15.5 → 18.4–20.7/s wall), the vectors bit for bit the same.
//! Before that, Django 5.1.4 embedded at idle in 566–620 s (72–79/s) on a quieter machine.
//!
//! The kernel runs AVX2 FMA near its peak (a feed-forward product, 512 × 384 by 384 × 1536, in
//! 8.7 ms on one thread: 69 GFLOP/s; a definition is about 22 MFLOP per token, 1.3 GFLOP), so 150
//! definitions/s on 2 cores would need the whole pass at that peak: what is left is fewer tokens (a
//! `max_tokens` below 64 changes the vectors and the model id) or lower precision, which candle's
//! CPU products make slower here, measured on that product (load 9–11): f16 12–25 ms against f32's
//! 9–18, bf16 15–18, its quantized q8_0 90–97 and q4_0 118–166 (matrix-vector kernels for text
//! generation).
//!
//! Guarantees: loading reads the files once, one tensor at a time into candle tensors and fails with a message naming the file and the fix; `embed` never panics on any text
//! (empty ones included) and runs on this embedder's own rayon pool of `threads` threads, so the
//! indexer's pool and the async runtime are never borrowed; the async `embed` runs the batch on a
//! `spawn_blocking` thread, and dropping its future stops that thread's work at the next layer
//! (`bert.rs`), so the CPU is handed back within a layer's time. The model id covers the model's name, a digest of all three files and
//! `max_tokens`, so another model file or bound re-embeds.

use super::EmbedConfig;
use super::bert::{self, Bert, BertConfig};
use super::{EmbedFuture, Embedder};
use crate::hash::DigestBuilder;
use anyhow::{Context, Result, bail};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use std::collections::HashMap;
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

/// Texts per forward pass by default: split across two threads, 16 beat 8 by 19% on Django's
/// definitions (module docs); larger batches gain little and hold the CPU longer.
pub const DEFAULT_BATCH: usize = 16;

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
         scripts/fetch-embed-model.sh to get all-MiniLM-L6-v2, set embed.model to a model directory, or set \
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
        let mut digest = DigestBuilder::new();
        digest.part(&config_bytes).part(&tokenizer_bytes).part(format!("{pooling:?}").as_bytes());
        let weights_path = dir.join("model.safetensors");
        let tensors = read_safetensors(&weights_path, &mut digest, |name| name.ends_with(bert::WORD_TABLE))
            .with_context(|| format!("{} is not a usable safetensors file", weights_path.display()))?;
        let digest = digest.finish();
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
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

/// The tensors of a safetensors file, read one at a time and f32 ones a megabyte at a time straight
/// into their tensor — the peak is the tensors themselves, with no copy of the file or of a tensor's
/// bytes — with the header and every tensor's bytes added to `digest` (the model id changes with the
/// weights). f32 tensors that `to_f16` names are narrowed to f16 as they are read.
fn read_safetensors(
    path: &Path,
    digest: &mut DigestBuilder,
    to_f16: impl Fn(&str) -> bool,
) -> Result<HashMap<String, Tensor>> {
    use std::io::{Read, Seek, SeekFrom};
    #[derive(serde::Deserialize)]
    struct Entry {
        dtype: String,
        shape: Vec<usize>,
        data_offsets: (u64, u64),
    }
    let mut file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let size = file.metadata()?.len();
    let mut len = [0u8; 8];
    file.read_exact(&mut len).context("no header")?;
    let header_len = u64::from_le_bytes(len);
    if header_len > (100 << 20) || 8 + header_len > size {
        bail!("the header length {header_len} does not fit the file's {size} bytes");
    }
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header).context("the header is cut short")?;
    digest.part(&header);
    let mut entries: Vec<(String, Entry)> = serde_json::from_slice::<HashMap<String, serde_json::Value>>(&header)
        .context("the header is not JSON")?
        .into_iter()
        .filter(|(name, _)| name != "__metadata__")
        .map(|(name, value)| {
            let entry = serde_json::from_value(value).with_context(|| format!("tensor {name}'s header entry"))?;
            Ok((name, entry))
        })
        .collect::<Result<_>>()?;
    entries.sort_by_key(|(_, entry)| entry.data_offsets.0);
    let data_start = 8 + header_len;
    let mut tensors = HashMap::with_capacity(entries.len());
    let mut bytes = Vec::new();
    for (name, entry) in entries {
        let dtype = match entry.dtype.as_str() {
            "F32" => DType::F32,
            "F16" => DType::F16,
            "BF16" => DType::BF16,
            "F64" => DType::F64,
            "I64" => DType::I64,
            "U32" => DType::U32,
            "U8" => DType::U8,
            other => bail!("tensor {name} has dtype {other}, which reverie does not read"),
        };
        let (begin, end) = entry.data_offsets;
        let expected = entry.shape.iter().product::<usize>() as u64 * dtype.size_in_bytes() as u64;
        if end < begin || end - begin != expected || data_start + end > size {
            bail!("tensor {name}'s offsets {begin}..{end} do not fit its shape {:?} or the file", entry.shape);
        }
        file.seek(SeekFrom::Start(data_start + begin))?;
        digest.part(name.as_bytes()).begin_part(end - begin);
        let tensor = if dtype == DType::F32 {
            let values = (end - begin) as usize / 4;
            let mut read_f32 = |each: &mut dyn FnMut(f32)| -> Result<()> {
                let mut left = (end - begin) as usize;
                while left > 0 {
                    bytes.resize(left.min(F32_CHUNK_BYTES), 0);
                    file.read_exact(&mut bytes).with_context(|| format!("tensor {name} is cut short"))?;
                    digest.more(&bytes);
                    for value in bytes.chunks_exact(4) {
                        each(f32::from_le_bytes([value[0], value[1], value[2], value[3]]));
                    }
                    left -= bytes.len();
                }
                Ok(())
            };
            if to_f16(&name) {
                let mut narrowed = Vec::with_capacity(values);
                read_f32(&mut |v| narrowed.push(half::f16::from_f32(v)))?;
                Tensor::from_vec(narrowed, entry.shape.as_slice(), &Device::Cpu)?
            } else {
                let mut wide = Vec::with_capacity(values);
                read_f32(&mut |v| wide.push(v))?;
                Tensor::from_vec(wide, entry.shape.as_slice(), &Device::Cpu)?
            }
        } else {
            bytes.resize((end - begin) as usize, 0);
            file.read_exact(&mut bytes).with_context(|| format!("tensor {name} is cut short"))?;
            digest.more(&bytes);
            Tensor::from_raw_buffer(&bytes, dtype, &entry.shape, &Device::Cpu)?
        };
        tensors.insert(name, tensor);
    }
    Ok(tensors)
}

/// How much of an f32 tensor is read at a time.
const F32_CHUNK_BYTES: usize = 1 << 20;

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
        use rayon::prelude::*;
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(self.max_batch) {
            // Texts of similar length together pad less; the order is restored below.
            let mut order: Vec<usize> = (0..chunk.len()).collect();
            order.sort_by_key(|&i| chunk[i].len());
            let sorted: Vec<String> = order.iter().map(|&i| chunk[i].clone()).collect();
            // One sub-batch per thread: candle parallelizes little inside one forward pass of
            // matrices this small, so a batch split across the threads is what uses the cores.
            let per_thread = sorted.len().div_ceil(self.pool.current_num_threads().max(1)).max(1);
            let parts: Vec<Result<Vec<Vec<f32>>>> =
                self.pool.install(|| sorted.par_chunks(per_thread).map(|part| self.forward(part, stop)).collect());
            let mut vectors = vec![Vec::new(); chunk.len()];
            for (&slot, vector) in
                order.iter().zip(parts.into_iter().collect::<Result<Vec<_>>>()?.into_iter().flatten())
            {
                vectors[slot] = vector;
            }
            out.extend(vectors);
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
