//! The `local` provider: llama.cpp in-process through the `llama-cpp-2` crate (cargo feature `local`).
//!
//! No data leaves the machine. The GGUF file named by `llm.model_path` is checked when the provider is
//! built and loaded on the first call; every `Local` pointing at the same file shares one loaded model,
//! and the llama.cpp backend is started once per process. Prompts are rendered with the model's own
//! chat template (ChatML when the model has none or llama.cpp does not know it).
//!
//! Guarantees:
//! - One generation at a time in the process: llama.cpp already uses `llm.threads` cores (default: half
//!   of them, so the editor keeps a core) and its threads spin-wait on each other, so two generations
//!   at once (or any other load on those cores) make every token several times slower rather than
//!   sharing the machine (measured on 2 busy cores: 2 threads generated ~10× slower than 1).
//! - Generation runs on a blocking thread; streamed text reaches `on_chunk` as tokens are decoded, and a
//!   character split across tokens is held back until it is whole.
//! - Dropping the call's future stops generation before the next token (a flag set by a drop guard).
//! - Token counts are real: the tokenized prompt and the tokens sampled (end-of-generation excluded).
//! - With `json_schema`, sampling is constrained by a GBNF grammar built from the schema
//!   (`gbnf`), so even a 135M model answers with JSON of the right shape; the longest answer the
//!   grammar allows fits the call's `max_tokens`, so the answer closes before the budget runs out.

use super::gbnf;
use super::{ChatFuture, ChatRequest, ChatResponse, LlmConfig, LlmError, Message, OnChunk, Provider, Role, TokenUsage};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};

const PROVIDER: &str = "local";

/// How to get a small model that works, for the errors about a missing one.
const HOW_TO_GET_A_MODEL: &str = "set llm.model_path to a GGUF file, e.g. SmolLM2-135M-Instruct (98 MB): \
     run scripts/fetch-model.sh from the reverie source tree, which prints the path";

/// Prompt tokens evaluated per llama.cpp batch. Cancellation is checked between batches, so this bounds
/// how long a dropped call keeps the CPU: ~0.7 s at 180 tokens/s. Larger batches gain little on a CPU.
const PROMPT_BATCH: usize = 128;
/// Free text: tokens seen in the last `REPEAT_PENALTY_LAST_N` have their logits divided by
/// `REPEAT_PENALTY` (llama.cpp's classic 1.1). The window is wider than llama.cpp's default 64: a
/// small model's looping sentence can be 60 tokens long and slip past a 64-token window (seen with
/// SmolLM2-135M: the same 60-token sentence three times).
const REPEAT_PENALTY_LAST_N: i32 = 256;
const REPEAT_PENALTY: f32 = 1.1;

/// llama.cpp's backend may be initialized once per process; every model and context borrows it.
static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
/// Loaded models by path, so two providers for one file share its memory.
static MODELS: Mutex<Vec<(PathBuf, Weak<LlamaModel>)>> = Mutex::new(Vec::new());
/// One generation at a time (see the module doc).
static TURN: Semaphore = Semaphore::const_new(1);

/// The `local` provider. Cheap to build: the model is loaded on the first call.
pub struct Local {
    shared: Arc<Shared>,
    model_name: String,
}

/// What the blocking generation thread needs from the provider.
struct Shared {
    path: PathBuf,
    threads: i32,
    context_tokens: u32,
    /// The sampling seed (`llm.seed`); `None`: a fresh one per call.
    seed: Option<u32>,
    /// Held once loaded, so the model lives as long as this provider.
    model: Mutex<Option<Arc<LlamaModel>>>,
    /// Measured when the model loads (`calibrate`), then moved toward each real call's speed.
    speed: Mutex<Option<super::Speed>>,
    /// Where the speed is kept between runs (`speed_file`), if there is a cache directory.
    speed_file: Option<PathBuf>,
}

/// A measured speed is trusted this long; then the model is measured again. Only measurements are
/// kept: real calls move the speed of the running process alone.
const SPEED_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);

/// The file that keeps a model's speed between runs (so `reverie ask` does not measure it each
/// time): in the cache directory, named by what the speed depends on — the model file (path, size,
/// modification time), the threads and the machine's cores.
fn speed_file(path: &Path, threads: i32) -> Option<PathBuf> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let digest = crate::hash::DigestBuilder::new()
        .part(path.to_string_lossy().as_bytes())
        .part(&meta.len().to_le_bytes())
        .part(&modified.to_le_bytes())
        .part(&threads.to_le_bytes())
        .part(&cores.to_le_bytes())
        .finish();
    Some(crate::dirs::cache_root(None).ok()?.join("speed").join(format!("{}.json", digest.short())))
}

/// The speed kept in `file`, if it is there, readable and recent.
fn kept_speed(file: &Path) -> Option<super::Speed> {
    let age = std::fs::metadata(file).ok()?.modified().ok()?.elapsed().ok()?;
    if age > SPEED_KEPT {
        return None;
    }
    serde_json::from_slice(&std::fs::read(file).ok()?).ok()
}

/// Keeps `speed` in `file` (a failure only costs the next run a measurement).
fn keep_speed(file: &Path, speed: &super::Speed) {
    let written = file
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(file, serde_json::to_vec(speed).unwrap_or_default()));
    if let Err(err) = written {
        tracing::debug!("local: could not keep the model's speed in {}: {err}", file.display());
    }
}

/// Half the machine's cores, at least one.
fn default_threads() -> i32 {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    i32::try_from((cores / 2).max(1)).unwrap_or(i32::MAX)
}

impl Local {
    /// Checks that `config.model_path` names a GGUF file; the model itself is loaded on the first call.
    pub fn new(config: &LlmConfig) -> Result<Local, LlmError> {
        let Some(path) = config.model_path.clone() else {
            return Err(config_error(format!("llm.model_path is not set; {HOW_TO_GET_A_MODEL}")));
        };
        check_gguf(&path)?;
        let threads = match config.threads {
            Some(n) if n > 0 => i32::try_from(n).unwrap_or(i32::MAX),
            _ => default_threads(),
        };
        let model_name = path.file_stem().map_or_else(|| "local".to_string(), |s| s.to_string_lossy().into_owned());
        Ok(Local {
            shared: Arc::new(Shared {
                threads,
                context_tokens: config.context_tokens,
                seed: config.seed,
                model: Mutex::new(None),
                speed: Mutex::new(None),
                speed_file: speed_file(&path, threads),
                path,
            }),
            model_name,
        })
    }
}

impl Local {
    /// Where this model's measured speed is kept between runs (`None` without a cache directory).
    pub fn speed_file(&self) -> Option<&Path> {
        self.shared.speed_file.as_deref()
    }
}

impl Provider for Local {
    fn name(&self) -> &str {
        PROVIDER
    }

    fn model(&self) -> &str {
        &self.model_name
    }

    fn is_local(&self) -> bool {
        true
    }

    /// Loads the model on first use (and measures it then).
    fn speed(&self) -> Option<super::Speed> {
        if let Err(err) = self.shared.model() {
            tracing::warn!("local: cannot measure the model's speed: {err}");
            return None;
        }
        *self.shared.speed.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest, on_chunk: OnChunk<'a>) -> ChatFuture<'a> {
        Box::pin(async move {
            let started = Instant::now();
            let grammar = request.json_schema.as_ref().map(|schema| {
                gbnf::schema_to_gbnf_for_tokens(schema, request.max_tokens).unwrap_or_else(|why| {
                    tracing::warn!("local: no grammar for this JSON schema ({why}); constraining to any JSON object");
                    gbnf::GENERIC_JSON_GBNF.to_string()
                })
            });
            let job = Job {
                system: request.system.clone(),
                messages: request.messages.clone(),
                max_tokens: request.max_tokens,
                temperature: request.temperature,
                seed: self.shared.seed,
                grammar,
                stream: request.stream,
            };
            // Waiting for the turn is cancellable like the rest: dropping the future leaves the queue.
            let turn = TURN.acquire().await.map_err(|_| config_error("the generation queue was closed".into()))?;
            let cancel = Arc::new(AtomicBool::new(false));
            let _stop_on_drop = StopOnDrop(Arc::clone(&cancel));
            let (chunks, mut received) = mpsc::unbounded_channel();
            let shared = Arc::clone(&self.shared);
            let task = tokio::task::spawn_blocking(move || {
                let _turn = turn;
                generate(&shared, &job, &cancel, &chunks)
            });
            while let Some(chunk) = received.recv().await {
                on_chunk(&chunk);
            }
            let outcome = task.await.map_err(|e| {
                config_error(format!("the generation thread failed ({e}); this is a bug in reverie, please report it"))
            })??;
            Ok(ChatResponse {
                text: outcome.text,
                usage: TokenUsage {
                    prompt_tokens: outcome.prompt_tokens,
                    completion_tokens: outcome.completion_tokens,
                    estimated: false,
                },
                model: self.model_name.clone(),
                finish_reason: Some(outcome.finish.to_string()),
                attempts: 1,
                latency: started.elapsed(),
            })
        })
    }
}

/// A request as the generation thread owns it.
struct Job {
    system: String,
    messages: Vec<Message>,
    max_tokens: u32,
    temperature: f32,
    seed: Option<u32>,
    grammar: Option<String>,
    stream: bool,
}

struct Outcome {
    text: String,
    prompt_tokens: u64,
    completion_tokens: u64,
    finish: &'static str,
}

/// Sets the cancel flag when the call's future is dropped (or finishes: by then the flag is unread).
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn config_error(detail: String) -> LlmError {
    LlmError::Config { provider: PROVIDER.into(), detail }
}

/// Fails early, with the path, when the file is missing or is not GGUF (llama.cpp would only say "null").
fn check_gguf(path: &Path) -> Result<(), LlmError> {
    use std::io::Read;
    let shown = path.display();
    let mut magic = [0u8; 4];
    match std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)) {
        Ok(()) if &magic == b"GGUF" => Ok(()),
        Ok(()) => Err(config_error(format!(
            "{shown} is not a GGUF model file (llama.cpp reads only GGUF); point llm.model_path at a .gguf file"
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(config_error(format!("llm.model_path {shown} does not exist; {HOW_TO_GET_A_MODEL}")))
        }
        Err(e) => {
            Err(config_error(format!("cannot read llm.model_path {shown} ({e}); check the file and its permissions")))
        }
    }
}

fn backend() -> Result<&'static LlamaBackend, LlmError> {
    BACKEND
        .get_or_init(|| {
            // llama.cpp's own log lines go to tracing under `llama_cpp_2` (hidden unless asked for).
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| config_error(format!("llama.cpp could not start ({e})")))
}

impl Shared {
    fn model(&self) -> Result<Arc<LlamaModel>, LlmError> {
        let mut held = self.model.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(model) = held.as_ref() {
            return Ok(Arc::clone(model));
        }
        let model = load(&self.path)?;
        *held = Some(Arc::clone(&model));
        if let Some(speed) = self.speed_file.as_deref().and_then(kept_speed) {
            tracing::info!(
                prompt_tokens_per_s_over_1000 = speed.prompt_per_s(1000.0),
                answer_tokens_per_s_after_1000 = speed.answer_per_s(1000.0),
                "local: the model's speed as measured before"
            );
            *self.speed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(speed);
            return Ok(model);
        }
        match calibrate(&model, self.threads) {
            Ok(speed) => {
                tracing::info!(
                    prompt_tokens_per_s_over_1000 = speed.prompt_per_s(1000.0),
                    answer_tokens_per_s_after_1000 = speed.answer_per_s(1000.0),
                    tokens_per_estimate = speed.tokens_per_estimate,
                    "local: measured the model"
                );
                *self.speed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(speed);
                if let Some(file) = &self.speed_file {
                    keep_speed(file, &speed);
                }
            }
            Err(err) => tracing::warn!("local: could not measure the model's speed: {err}"),
        }
        Ok(model)
    }

    /// Moves the speed toward what a real call measured.
    fn observed(&self, prompt_tokens: u64, prompt_time: Duration, answer_tokens: u64, answer_time: Duration) {
        let mut speed = self.speed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(speed) = speed.as_mut() {
            // In memory only: what is kept is a measurement, not the drift of many short calls.
            speed.observe(prompt_tokens, prompt_time, answer_tokens, answer_time);
        }
    }
}

/// Tokens read to measure a model when it loads, and answer steps timed at its start and its end
/// (about 2.5 s for SmolLM2-135M on one core; paid once a week: the speed is kept in the cache).
/// Both speeds fall with the context's length (`speed.rs`), so each is timed at two positions.
const CALIBRATION_PROMPT: usize = 512;
const CALIBRATION_ANSWER: usize = 8;

/// Code and prose like a question's context, to measure a model on (varied, so the tokenizer sees
/// what it sees in real prompts).
const CALIBRATION_TEXT: &str = "[1] src/session.py:40-72 — function `get_signing_serializer`: matches the words of the question\n\
def get_signing_serializer(self, app: Flask) -> Optional[URLSafeTimedSerializer]:\n\
    \"\"\"Returns the serializer that signs the session cookie, or None without a secret key.\"\"\"\n\
    if not app.secret_key:\n        return None\n\
    signer_kwargs = dict(key_derivation=self.key_derivation, digest_method=self.digest_method)\n\
[2] internal/router/tree.go:118-140 — func (n *node) addRoute(path string, handlers HandlersChain)\n\
if len(path) == 0 { panic(\"empty route path\") } for i, c := range []byte(path) { n.priority++ }\n\
[3] src/lib.rs:9-30 — pub fn from_str<'a, T: Deserialize<'a>>(s: &'a str) -> Result<T, Error>\n";

/// Reads `CALIBRATION_PROMPT` tokens of `CALIBRATION_TEXT` (repeated) in `PROMPT_BATCH`-token
/// batches, timing the first and the last batch, and writes `CALIBRATION_ANSWER` sampled tokens after
/// the first batch and again after the last (the sampler over the whole vocabulary costs a small
/// model as much as its forward step), with the threads `generate` uses. A line through each pair of
/// timings is the speed (`speed::Cost`). Also counts how many of the model's tokens one
/// `tokens::estimate_tokens` token is on such text.
fn calibrate(model: &LlamaModel, threads: i32) -> Result<super::Speed, LlmError> {
    let backend = backend()?;
    let once = model.vocab().tokenize(CALIBRATION_TEXT.as_bytes(), false, false);
    let tokens_per_estimate = once.len() as f64 / crate::tokens::estimate_tokens(CALIBRATION_TEXT).max(1) as f64;
    let text = CALIBRATION_TEXT.repeat(CALIBRATION_PROMPT / once.len().max(1) + 1);
    let mut tokens = model.vocab().tokenize(text.as_bytes(), true, false);
    tokens.truncate(CALIBRATION_PROMPT);
    let n_ctx = (tokens.len() + 2 * CALIBRATION_ANSWER + 1) as u32;
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_batch(n_ctx.min(PROMPT_BATCH as u32))
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let mut ctx = model
        .new_context(backend, params)
        .map_err(|e| config_error(format!("llama.cpp could not make a context to measure the model ({e})")))?;
    let decode_error = |e: llama_cpp_2::DecodeError| config_error(format!("llama.cpp failed while measuring ({e})"));
    let job = Job {
        system: String::new(),
        messages: Vec::new(),
        max_tokens: CALIBRATION_ANSWER as u32,
        temperature: 0.2,
        seed: Some(1),
        grammar: None,
        stream: false,
    };
    let mut sampling = Sampling::new(model, &job)?;
    let mut batch = LlamaBatch::new(PROMPT_BATCH, 1);
    let mut pos = 0;
    // (position, seconds per token) of the first and the last prompt batch, and of the answer steps
    // written after each.
    let mut prompt_points = Vec::new();
    let mut answer_points = Vec::new();
    let batches = tokens.chunks(PROMPT_BATCH).count();
    for (index, chunk) in tokens.chunks(PROMPT_BATCH).enumerate() {
        batch.clear();
        for (i, token) in chunk.iter().enumerate() {
            add(&mut batch, *token, pos + i, i + 1 == chunk.len())?;
        }
        let started = Instant::now();
        ctx.decode(&mut batch).map_err(decode_error)?;
        let took = started.elapsed().as_secs_f64();
        let timed = index == 0 || index + 1 == batches;
        if timed {
            prompt_points.push((pos as f64 + chunk.len() as f64 / 2.0, took / chunk.len() as f64));
        }
        pos += chunk.len();
        if timed {
            let started = Instant::now();
            let at = pos;
            for _ in 0..CALIBRATION_ANSWER {
                let token = sampling.sample(&ctx, batch.n_tokens() - 1)?;
                batch.clear();
                add(&mut batch, token, pos, true)?;
                pos += 1;
                ctx.decode(&mut batch).map_err(decode_error)?;
            }
            let per_token = started.elapsed().as_secs_f64() / CALIBRATION_ANSWER as f64;
            answer_points.push((at as f64 + CALIBRATION_ANSWER as f64 / 2.0, per_token));
        }
    }
    let line = |points: &[(f64, f64)]| match points {
        [a, .., b] => super::Cost::through(*a, *b),
        [a] => super::Cost { base: a.1, per_position: 0.0 },
        [] => super::Cost { base: 0.0, per_position: 0.0 },
    };
    Ok(super::Speed { prompt: line(&prompt_points), answer: line(&answer_points), tokens_per_estimate })
}

/// The model at `path`, loaded now or shared with another provider that loaded it.
fn load(path: &Path) -> Result<Arc<LlamaModel>, LlmError> {
    let backend = backend()?;
    // Holding the lock while loading keeps two first calls from loading the same file twice.
    let mut models = MODELS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    models.retain(|(_, model)| model.strong_count() > 0);
    if let Some(model) = models.iter().find(|(p, _)| p == path).and_then(|(_, m)| m.upgrade()) {
        return Ok(model);
    }
    check_gguf(path)?;
    let started = Instant::now();
    let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default()).map_err(|e| {
        config_error(format!(
            "llama.cpp could not load {} ({e}); the file may be truncated or of an architecture this llama.cpp \
             does not know: download it again or try another GGUF",
            path.display()
        ))
    })?;
    let model = Arc::new(model);
    tracing::info!(path = %path.display(), load_ms = started.elapsed().as_millis() as u64, "local: loaded model");
    models.push((path.to_path_buf(), Arc::downgrade(&model)));
    Ok(model)
}

/// Renders the conversation with the model's chat template, ending with the assistant's turn opened.
fn render_prompt(model: &LlamaModel, job: &Job) -> Result<String, LlmError> {
    let mut chat = Vec::with_capacity(job.messages.len() + 1);
    let mut push = |role: &str, content: &str| {
        // A NUL byte cannot cross into C; it carries no meaning in a prompt anyway.
        LlamaChatMessage::new(role.into(), content.replace('\0', ""))
            .map(|m| chat.push(m))
            .map_err(|e| config_error(format!("cannot pass the prompt to llama.cpp ({e})")))
    };
    if !job.system.is_empty() {
        push("system", &job.system)?;
    }
    for message in &job.messages {
        let role = match message.role {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        push(role, &message.content)?;
    }
    let own = model.chat_template(None).ok().and_then(|t| model.apply_chat_template(&t, &chat, true).ok());
    if let Some(prompt) = own {
        return Ok(prompt);
    }
    tracing::warn!("local: the model has no chat template llama.cpp understands; using ChatML");
    let chatml = LlamaChatTemplate::new("chatml").map_err(|e| config_error(format!("bad template name ({e})")))?;
    model.apply_chat_template(&chatml, &chat, true).map_err(|e| {
        config_error(format!("llama.cpp could not render the prompt ({e}); try a model with a chat template"))
    })
}

/// Picks tokens: the usual sampler chain, and the grammar when the answer must be JSON.
struct Sampling {
    grammar: Option<LlamaSampler>,
    chain: LlamaSampler,
}

impl Sampling {
    fn new(model: &LlamaModel, job: &Job) -> Result<Sampling, LlmError> {
        let grammar = match &job.grammar {
            None => None,
            Some(grammar) => Some(LlamaSampler::grammar(model, grammar, "root").map_err(|e| {
                config_error(format!(
                    "llama.cpp refused the grammar made from the JSON schema ({e}); this is a bug in reverie, \
                     please report it"
                ))
            })?),
        };
        // Free text gets a repetition penalty: small models otherwise repeat a paragraph until the
        // budget runs out. JSON repeats its punctuation by nature, and the grammar bounds it anyway.
        let mut samplers = Vec::new();
        if job.grammar.is_none() {
            samplers.push(LlamaSampler::penalties(model.n_vocab(), REPEAT_PENALTY_LAST_N, REPEAT_PENALTY, 0.0, 0.0));
        }
        if job.temperature.is_nan() || job.temperature <= 0.0 {
            samplers.push(LlamaSampler::greedy());
        } else {
            samplers.extend([
                LlamaSampler::top_k(40),
                LlamaSampler::top_p(0.95, 1),
                LlamaSampler::min_p(0.05, 1),
                LlamaSampler::temp(job.temperature),
                // llama.cpp's "default seed" (u32::MAX) means a fresh random seed per call.
                LlamaSampler::dist(job.seed.unwrap_or(u32::MAX)),
            ]);
        }
        let chain = LlamaSampler::chain(samplers, true);
        Ok(Sampling { grammar, chain })
    }

    /// The next token from the logits of output `index` of the last batch.
    ///
    /// With a grammar, the token is first picked freely and kept when the grammar allows it (it nearly
    /// always does); only otherwise is the grammar applied to the whole vocabulary, which costs a
    /// sizeable fraction of a small model's time per token. llama.cpp's own sampler does the same.
    fn sample(&mut self, ctx: &LlamaContext, index: i32) -> Result<LlamaToken, LlmError> {
        let Some(grammar) = self.grammar.as_mut() else {
            return Ok(self.chain.sample(ctx, index));
        };
        let mut candidates = ctx.token_data_array_ith(index);
        candidates.apply_sampler(&mut self.chain);
        let free = candidates.selected_token().filter(|&token| {
            let mut one = LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, 1.0, 0.0)], false);
            one.apply_sampler(grammar);
            one.data.first().is_some_and(|d| d.logit().is_finite())
        });
        let token = match free {
            Some(token) => token,
            None => {
                let mut candidates = ctx.token_data_array_ith(index);
                candidates.apply_sampler(grammar);
                candidates.apply_sampler(&mut self.chain);
                candidates.selected_token().ok_or_else(|| {
                    config_error("the JSON grammar allowed no token; this is a bug in reverie, please report it".into())
                })?
            }
        };
        grammar.accept(token);
        self.chain.accept(token);
        Ok(token)
    }
}

/// Runs one generation on the calling (blocking) thread. Chunks go to `chunks` when streaming.
fn generate(
    shared: &Shared,
    job: &Job,
    cancel: &AtomicBool,
    chunks: &mpsc::UnboundedSender<String>,
) -> Result<Outcome, LlmError> {
    let cancelled = || cancel.load(Ordering::Relaxed) || chunks.is_closed();
    if cancelled() {
        return Err(LlmError::Cancelled);
    }
    let backend = backend()?;
    let model = shared.model()?;
    let prompt = render_prompt(&model, job)?;
    let vocab = model.vocab();
    let mut prompt_tokens = vocab.tokenize(prompt.as_bytes(), true, true);
    // Templates that write the BOS text themselves would otherwise get it twice.
    if prompt_tokens.len() >= 2 && prompt_tokens[0] == vocab.bos() && prompt_tokens[1] == vocab.bos() {
        prompt_tokens.remove(0);
    }
    let prompt_len = prompt_tokens.len();
    let context_tokens = match shared.context_tokens {
        0 => model.n_ctx_train(),
        n => n,
    } as usize;
    if prompt_len == 0 {
        return Err(config_error("the prompt is empty; nothing to answer".into()));
    }
    if prompt_len >= context_tokens {
        return Err(config_error(format!(
            "the prompt is {prompt_len} tokens but the context holds {context_tokens}; raise llm.context_tokens \
             (the model was trained on {}) or send less context",
            model.n_ctx_train()
        )));
    }
    let mut outcome =
        Outcome { text: String::new(), prompt_tokens: prompt_len as u64, completion_tokens: 0, finish: "length" };
    if job.max_tokens == 0 {
        return Ok(outcome);
    }

    // A context just big enough for this call: the KV cache is allocated per call.
    let n_ctx = (prompt_len + job.max_tokens as usize).min(context_tokens);
    let n_ctx_u32 = u32::try_from(n_ctx).unwrap_or(u32::MAX);
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx_u32))
        .with_n_batch(n_ctx_u32.min(PROMPT_BATCH as u32))
        .with_n_threads(shared.threads)
        .with_n_threads_batch(shared.threads);
    let mut ctx = model.new_context(backend, params).map_err(|e| {
        config_error(format!(
            "llama.cpp could not make a {n_ctx}-token context ({e}); lower llm.context_tokens or free some memory"
        ))
    })?;
    let mut sampling = Sampling::new(&model, job)?;
    let decode_error =
        |e: llama_cpp_2::DecodeError| config_error(format!("llama.cpp failed while evaluating tokens ({e})"));

    let prompt_started = Instant::now();
    let mut batch = LlamaBatch::new(PROMPT_BATCH.min(n_ctx), 1);
    for (chunk_index, chunk) in prompt_tokens.chunks(PROMPT_BATCH).enumerate() {
        if cancelled() {
            tracing::debug!(completion_tokens = 0u64, "local: generation cancelled");
            return Err(LlmError::Cancelled);
        }
        batch.clear();
        for (i, token) in chunk.iter().enumerate() {
            let pos = chunk_index * PROMPT_BATCH + i;
            add(&mut batch, *token, pos, pos + 1 == prompt_len)?;
        }
        ctx.decode(&mut batch).map_err(decode_error)?;
    }
    let prompt_time = prompt_started.elapsed();

    let generation_started = Instant::now();
    let mut text = Utf8Decoder::default();
    let mut piece = Vec::new();
    let mut pos = prompt_len;
    loop {
        if cancelled() {
            tracing::debug!(completion_tokens = outcome.completion_tokens, "local: generation cancelled");
            return Err(LlmError::Cancelled);
        }
        let token = sampling.sample(&ctx, batch.n_tokens() - 1)?;
        if vocab.is_eog(token) {
            outcome.finish = "stop";
            break;
        }
        outcome.completion_tokens += 1;
        piece.clear();
        vocab.token_to_piece_into(token, &mut piece, false, None);
        let decoded = text.push(&piece);
        if job.stream && !decoded.is_empty() {
            // A closed channel means the caller went away; the next check stops the loop.
            let _ = chunks.send(decoded.clone());
        }
        outcome.text.push_str(&decoded);
        // A full context (prompt + answer = n_ctx) also ends the answer as "length".
        if outcome.completion_tokens >= u64::from(job.max_tokens) || pos + 1 >= n_ctx {
            break;
        }
        batch.clear();
        add(&mut batch, token, pos, true)?;
        pos += 1;
        ctx.decode(&mut batch).map_err(decode_error)?;
    }
    let rest = text.finish();
    if job.stream && !rest.is_empty() {
        let _ = chunks.send(rest.clone());
    }
    outcome.text.push_str(&rest);
    let generation_time = generation_started.elapsed();
    shared.observed(outcome.prompt_tokens, prompt_time, outcome.completion_tokens, generation_time);
    tracing::debug!(
        prompt_tokens = outcome.prompt_tokens,
        prompt_ms = prompt_time.as_millis() as u64,
        prompt_tokens_per_s = per_second(outcome.prompt_tokens, prompt_time),
        completion_tokens = outcome.completion_tokens,
        generation_ms = generation_time.as_millis() as u64,
        completion_tokens_per_s = per_second(outcome.completion_tokens, generation_time),
        finish = outcome.finish,
        "local: generation finished"
    );
    Ok(outcome)
}

fn add(batch: &mut LlamaBatch, token: LlamaToken, pos: usize, logits: bool) -> Result<(), LlmError> {
    let pos = i32::try_from(pos).map_err(|_| config_error("the context is too long for llama.cpp".into()))?;
    batch.add(token, pos, &[0], logits).map_err(|e| config_error(format!("llama.cpp batch is full ({e})")))
}

fn per_second(tokens: u64, time: Duration) -> f64 {
    let seconds = time.as_secs_f64();
    if seconds > 0.0 { (tokens as f64 / seconds * 10.0).round() / 10.0 } else { 0.0 }
}

/// Turns token bytes into text as they come: a character whose bytes span two tokens is held back until
/// complete; bytes that can never be UTF-8 become U+FFFD.
#[derive(Default)]
struct Utf8Decoder {
    pending: Vec<u8>,
}

impl Utf8Decoder {
    fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(whole) => {
                    out.push_str(whole);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.push_str(&String::from_utf8_lossy(&self.pending[..valid]));
                    match e.error_len() {
                        // An incomplete character at the end: wait for the next token.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    /// Whatever is still held back (generation ended inside a character).
    fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_split_across_tokens_is_held_back() {
        let mut decoder = Utf8Decoder::default();
        let bytes = "é🙂".as_bytes();
        assert_eq!(decoder.push(&bytes[..1]), "");
        assert_eq!(decoder.push(&bytes[1..3]), "é");
        assert_eq!(decoder.push(&bytes[3..5]), "");
        assert_eq!(decoder.push(&bytes[5..]), "🙂");
        assert_eq!(decoder.push(b"a\xFFb"), "a\u{FFFD}b");
        assert_eq!(decoder.push(&bytes[..1]), "");
        assert_eq!(decoder.finish(), "\u{FFFD}");
        assert_eq!(decoder.finish(), "");
    }

    #[test]
    fn missing_model_is_a_config_error_that_says_how_to_get_one() {
        let config = LlmConfig { provider: crate::llm::LlmProvider::Local, ..LlmConfig::default() };
        let Err(LlmError::Config { detail, .. }) = Local::new(&config) else { panic!("expected a config error") };
        assert!(detail.contains("llm.model_path is not set") && detail.contains("fetch-model.sh"), "{detail}");

        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.gguf");
        let config = LlmConfig { model_path: Some(missing.clone()), ..LlmConfig::default() };
        let Err(LlmError::Config { detail, .. }) = Local::new(&config) else { panic!("expected a config error") };
        assert!(detail.contains(&missing.display().to_string()) && detail.contains("does not exist"), "{detail}");

        let not_gguf = dir.path().join("model.bin");
        std::fs::write(&not_gguf, b"PK\x03\x04 not a model").unwrap();
        let config = LlmConfig { model_path: Some(not_gguf), ..LlmConfig::default() };
        let Err(LlmError::Config { detail, .. }) = Local::new(&config) else { panic!("expected a config error") };
        assert!(detail.contains("is not a GGUF model file"), "{detail}");
    }
}
