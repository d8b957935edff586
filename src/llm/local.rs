//! The `local` provider: llama.cpp in-process through the `llama-cpp-2` crate (cargo feature `local`).
//!
//! No data leaves the machine. The GGUF file named by `llm.model_path` is checked when the provider is
//! built and loaded on the first call; every `Local` pointing at the same file shares one loaded model,
//! and the llama.cpp backend is started once per process. Prompts are rendered with the model's own
//! chat template (ChatML when the model has none or llama.cpp does not know it).
//!
//! Guarantees:
//! - One generation at a time in the process: llama.cpp already uses `llm.threads` cores (default: all),
//!   and its threads spin-wait on each other, so two generations at once (or any other load on the
//!   cores) make every token several times slower rather than sharing the machine.
//! - Generation runs on a blocking thread; streamed text reaches `on_chunk` as tokens are decoded, and a
//!   character split across tokens is held back until it is whole.
//! - Dropping the call's future stops generation before the next token (a flag set by a drop guard).
//! - Token counts are real: the tokenized prompt and the tokens sampled (end-of-generation excluded).
//! - With `json_schema`, sampling is constrained by a GBNF grammar built from the schema
//!   (`schema_to_gbnf`), so even a 135M model answers with JSON of the right shape. Strings and arrays
//!   without a bound in the schema get one (`DEFAULT_MAX_STRING_CHARS`, `DEFAULT_MAX_ITEMS`) so the
//!   answer closes before `max_tokens` in practice.

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
use serde_json::Value;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};

const PROVIDER: &str = "local";

/// How to get a small model that works, for the errors about a missing one.
const HOW_TO_GET_A_MODEL: &str = "set llm.model_path to a GGUF file, e.g. SmolLM2-135M-Instruct (98 MB): \
     run tests/fetch-model.sh from the reverie source tree, which prints the path";

/// Bound on a JSON string's characters when the schema gives no `maxLength`.
pub const DEFAULT_MAX_STRING_CHARS: u64 = 256;
/// Bound on a JSON array's items when the schema gives no `maxItems`.
pub const DEFAULT_MAX_ITEMS: u64 = 16;
/// Above this many items an array is left unbounded: the grammar parser expands bounded repetitions.
const MAX_BOUNDED_REPETITION: u64 = 256;
/// Schemas nest at most this deep (deeper ones are refused rather than risking the stack).
const MAX_SCHEMA_DEPTH: usize = 32;
/// Prompt tokens evaluated per llama.cpp batch. Cancellation is checked between batches, so this bounds
/// how long a dropped call keeps the CPU: ~0.7 s at 180 tokens/s. Larger batches gain little on a CPU.
const PROMPT_BATCH: usize = 128;

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
    /// Held once loaded, so the model lives as long as this provider.
    model: Mutex<Option<Arc<LlamaModel>>>,
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
            _ => std::thread::available_parallelism().map_or(1, |n| i32::try_from(n.get()).unwrap_or(i32::MAX)),
        };
        let model_name = path.file_stem().map_or_else(|| "local".to_string(), |s| s.to_string_lossy().into_owned());
        Ok(Local {
            shared: Arc::new(Shared { path, threads, context_tokens: config.context_tokens, model: Mutex::new(None) }),
            model_name,
        })
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

    fn chat<'a>(&'a self, request: &'a ChatRequest, on_chunk: OnChunk<'a>) -> ChatFuture<'a> {
        Box::pin(async move {
            let started = Instant::now();
            let grammar = request.json_schema.as_ref().map(|schema| {
                schema_to_gbnf(schema).unwrap_or_else(|why| {
                    tracing::warn!("local: no grammar for this JSON schema ({why}); constraining to any JSON object");
                    GENERIC_JSON_GBNF.to_string()
                })
            });
            let job = Job {
                system: request.system.clone(),
                messages: request.messages.clone(),
                max_tokens: request.max_tokens,
                temperature: request.temperature,
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
        Ok(model)
    }
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
        let chain = if job.temperature.is_nan() || job.temperature <= 0.0 {
            LlamaSampler::greedy()
        } else {
            LlamaSampler::chain(
                [
                    LlamaSampler::top_k(40),
                    LlamaSampler::top_p(0.95, 1),
                    LlamaSampler::min_p(0.05, 1),
                    LlamaSampler::temp(job.temperature),
                    // llama.cpp's "default seed" means a fresh random seed per call.
                    LlamaSampler::dist(u32::MAX),
                ],
                true,
            )
        };
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

// ---------------------------------------------------------------------------------------------------
// JSON Schema → GBNF

/// Any JSON object: used when a schema cannot be converted (the caller validates the answer anyway).
const GENERIC_JSON_GBNF: &str = r#"root ::= object
value ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ( string ":" ws value ( "," ws string ":" ws value )* )? "}"
array ::= "[" ( value ( "," ws value )* )? "]"
string ::= "\"" char{0,256} "\""
char ::= [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )
number ::= "-"? ( "0" | [1-9] [0-9]{0,15} ) ( "." [0-9]{1,15} )? ( [eE] [-+]? [0-9]{1,3} )?
ws ::= " "?
"#;

/// Converts the JSON Schema subset reverie uses into a llama.cpp GBNF grammar whose root rule is `root`.
///
/// Supported: `type` (`object`, `array`, `string`, `integer`, `number`, `boolean`, `null`, or a list of
/// them), `properties`, `required`, `items`, `minItems`/`maxItems`, `minLength`/`maxLength`, `enum`,
/// `const`, `anyOf`/`oneOf`. Keywords that only narrow values (`pattern`, `minimum`, `format`, ...) are
/// ignored, and so is `additionalProperties`: the grammar emits the listed properties only, in the order
/// of `properties`, required ones first. Output is JSON on one line, with at most a space after `:` and
/// `,` (a model left free to choose whitespace can loop on it).
/// Strings and arrays are bounded (see `DEFAULT_MAX_STRING_CHARS`, `DEFAULT_MAX_ITEMS`) so that a small
/// model cannot loop inside one forever.
pub fn schema_to_gbnf(schema: &Value) -> Result<String, String> {
    let mut grammar = Grammar::default();
    let root = grammar.visit(schema, "root", "#", 0)?;
    let mut out = format!("root ::= {root}\n");
    for (name, body) in &grammar.rules {
        let _ = writeln!(out, "{name} ::= {body}");
    }
    Ok(out)
}

#[derive(Default)]
struct Grammar {
    /// Rules other than `root`, in definition order.
    rules: Vec<(String, String)>,
    names: HashSet<String>,
}

impl Grammar {
    /// Returns a GBNF expression for values matching `schema`; `name` is the hint for rules it defines.
    fn visit(&mut self, schema: &Value, name: &str, at: &str, depth: usize) -> Result<String, String> {
        if depth > MAX_SCHEMA_DEPTH {
            return Err(format!("{at}: the schema nests deeper than {MAX_SCHEMA_DEPTH} levels"));
        }
        let Some(schema) = schema.as_object() else {
            return match schema {
                // `true` accepts anything; `false` nothing, which no answer could satisfy.
                Value::Bool(true) => Err(format!("{at}: `true` (any value) is not supported; give a type")),
                _ => Err(format!("{at}: a schema must be an object, found {schema}")),
            };
        };
        if let Some(reference) = schema.get("$ref") {
            return Err(format!("{at}: $ref ({reference}) is not supported; inline the definition"));
        }
        if schema.contains_key("allOf") {
            return Err(format!("{at}: allOf is not supported; merge the schemas into one"));
        }
        if let Some(value) = schema.get("const") {
            return Ok(literal(&value.to_string()));
        }
        if let Some(values) = schema.get("enum") {
            let values = values.as_array().filter(|v| !v.is_empty());
            let values = values.ok_or_else(|| format!("{at}: enum must be a non-empty array"))?;
            let alternatives: Vec<String> = values.iter().map(|v| literal(&v.to_string())).collect();
            return Ok(format!("( {} )", alternatives.join(" | ")));
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(options) = schema.get(keyword) {
                let options = options.as_array().filter(|v| !v.is_empty());
                let options = options.ok_or_else(|| format!("{at}: {keyword} must be a non-empty array"))?;
                let mut alternatives = Vec::with_capacity(options.len());
                for (i, option) in options.iter().enumerate() {
                    alternatives.push(self.visit(
                        option,
                        &format!("{name}-{i}"),
                        &format!("{at}/{keyword}/{i}"),
                        depth + 1,
                    )?);
                }
                return Ok(format!("( {} )", alternatives.join(" | ")));
            }
        }
        let kind = match schema.get("type") {
            Some(Value::String(kind)) => kind.as_str(),
            Some(Value::Array(kinds)) => {
                let mut alternatives = Vec::with_capacity(kinds.len());
                for (i, kind) in kinds.iter().enumerate() {
                    let mut single = schema.clone();
                    single.insert("type".into(), kind.clone());
                    alternatives.push(self.visit(&Value::Object(single), &format!("{name}-{i}"), at, depth + 1)?);
                }
                if alternatives.is_empty() {
                    return Err(format!("{at}: \"type\" is an empty list"));
                }
                return Ok(format!("( {} )", alternatives.join(" | ")));
            }
            Some(other) => return Err(format!("{at}: \"type\" must be a string or a list of strings, found {other}")),
            None if schema.contains_key("properties") => "object",
            None if schema.contains_key("items") => "array",
            None => {
                return Err(format!(
                    "{at}: no \"type\"; give one of object, array, string, integer, number, boolean, null"
                ));
            }
        };
        match kind {
            "object" => self.object(schema, name, at, depth),
            "array" => self.array(schema, name, at, depth),
            "string" => {
                let min = unsigned(schema, "minLength", at)?.unwrap_or(0);
                let max = unsigned(schema, "maxLength", at)?.unwrap_or(DEFAULT_MAX_STRING_CHARS.max(min));
                if min > max {
                    return Err(format!("{at}: minLength {min} is above maxLength {max}"));
                }
                self.primitive("char", CHAR);
                if max > MAX_BOUNDED_REPETITION.max(DEFAULT_MAX_STRING_CHARS) {
                    return Ok(self.primitive(&format!("string-{min}-"), &format!(r#""\"" char{{{min},}} "\"""#)));
                }
                let rule: String = if (min, max) == (0, DEFAULT_MAX_STRING_CHARS) {
                    "string".into()
                } else {
                    format!("string-{min}-{max}")
                };
                Ok(self.primitive(&rule, &format!(r#""\"" char{{{min},{max}}} "\"""#)))
            }
            "integer" => Ok(self.primitive("integer", INTEGER)),
            "number" => {
                self.primitive("integer", INTEGER);
                self.primitive("fraction", FRACTION);
                self.primitive("exponent", EXPONENT);
                Ok(self.primitive("number", "integer fraction? exponent?"))
            }
            "boolean" => Ok(self.primitive("boolean", r#""true" | "false""#)),
            "null" => Ok(literal("null")),
            other => Err(format!(
                "{at}: unknown type {other:?}; use object, array, string, integer, number, boolean or null"
            )),
        }
    }

    fn object(
        &mut self,
        schema: &serde_json::Map<String, Value>,
        name: &str,
        at: &str,
        depth: usize,
    ) -> Result<String, String> {
        let empty = serde_json::Map::new();
        let properties = match schema.get("properties") {
            None => &empty,
            Some(Value::Object(properties)) => properties,
            Some(other) => return Err(format!("{at}: \"properties\" must be an object, found {other}")),
        };
        let mut required = Vec::new();
        if let Some(list) = schema.get("required") {
            let list = list.as_array().ok_or_else(|| format!("{at}: \"required\" must be an array of names"))?;
            for key in list {
                let key = key.as_str().ok_or_else(|| format!("{at}: \"required\" holds {key}, not a name"))?;
                if !properties.contains_key(key) {
                    return Err(format!(
                        "{at}: \"required\" names {key:?}, which is not in \"properties\"; add it there"
                    ));
                }
                required.push(key);
            }
        }
        self.primitive("ws", WS);
        let mut first = Vec::new();
        let mut optional = Vec::new();
        for (key, property) in properties {
            let hint = format!("{name}-{}", rule_word(key));
            let value = self.visit(property, &hint, &format!("{at}/properties/{key}"), depth + 1)?;
            let member = format!(r#"{} ":" ws {value}"#, literal(&Value::String(key.clone()).to_string()));
            if required.contains(&key.as_str()) {
                first.push(member);
            } else {
                optional.push(member);
            }
        }
        let members = if !first.is_empty() {
            let mut members = first.join(r#" "," ws "#);
            for member in &optional {
                let _ = write!(members, r#" ( "," ws {member} )?"#);
            }
            members
        } else if optional.is_empty() {
            String::new()
        } else {
            // All optional: any of them may come first, the later ones may follow it.
            let starts: Vec<String> = (0..optional.len())
                .map(|i| {
                    let mut start = optional[i].clone();
                    for member in &optional[i + 1..] {
                        let _ = write!(start, r#" ( "," ws {member} )?"#);
                    }
                    start
                })
                .collect();
            format!("( {} )?", starts.join(" | "))
        };
        let body = if members.is_empty() { r#""{" "}""#.to_string() } else { format!(r#""{{" {members} "}}""#) };
        Ok(self.define(name, body))
    }

    fn array(
        &mut self,
        schema: &serde_json::Map<String, Value>,
        name: &str,
        at: &str,
        depth: usize,
    ) -> Result<String, String> {
        let items =
            schema.get("items").ok_or_else(|| format!("{at}: an array needs \"items\" (the schema of one item)"))?;
        let min = unsigned(schema, "minItems", at)?.unwrap_or(0);
        let max = unsigned(schema, "maxItems", at)?;
        if let Some(max) = max
            && min > max
        {
            return Err(format!("{at}: minItems {min} is above maxItems {max}"));
        }
        let max = max.unwrap_or(DEFAULT_MAX_ITEMS.max(min));
        self.primitive("ws", WS);
        if max == 0 {
            return Ok(self.define(name, r#""[" "]""#.into()));
        }
        let item = self.visit(items, &format!("{name}-item"), &format!("{at}/items"), depth + 1)?;
        let more = if max > MAX_BOUNDED_REPETITION {
            format!(r#"( "," ws {item} ){{{},}}"#, min.saturating_sub(1))
        } else {
            format!(r#"( "," ws {item} ){{{},{}}}"#, min.saturating_sub(1), max - 1)
        };
        let body =
            if min == 0 { format!(r#""[" ( {item} {more} )? "]""#) } else { format!(r#""[" {item} {more} "]""#) };
        Ok(self.define(name, body))
    }

    /// Defines a rule under a name derived from `hint` that no other rule has, and returns the name.
    fn define(&mut self, hint: &str, body: String) -> String {
        // `schema_to_gbnf` writes `root ::= <expression>`, so the top value's rule needs its own name.
        let wanted = if hint == "root" { "root-value" } else { hint };
        let mut name = wanted.to_string();
        let mut n = 2;
        while self.names.contains(&name) {
            name = format!("{wanted}-{n}");
            n += 1;
        }
        self.names.insert(name.clone());
        self.rules.push((name.clone(), body));
        name
    }

    /// Defines a shared rule once (by its fixed name) and returns the name.
    fn primitive(&mut self, name: &str, body: &str) -> String {
        if self.names.insert(name.to_string()) {
            self.rules.push((name.to_string(), body.to_string()));
        }
        name.to_string()
    }
}

const WS: &str = r#"" "?"#;
const CHAR: &str = r#"[^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )"#;
const INTEGER: &str = r#""-"? ( "0" | [1-9] [0-9]{0,15} )"#;
const FRACTION: &str = r#""." [0-9]{1,15}"#;
const EXPONENT: &str = r#"[eE] [-+]? [0-9]{1,3}"#;

fn unsigned(schema: &serde_json::Map<String, Value>, key: &str, at: &str) -> Result<Option<u64>, String> {
    match schema.get(key) {
        None => Ok(None),
        Some(value) => {
            value.as_u64().map(Some).ok_or_else(|| format!("{at}: {key} must be a non-negative integer, found {value}"))
        }
    }
}

/// A GBNF string literal matching exactly `text`.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A property name as a piece of a rule name (GBNF names are letters, digits and dashes).
fn rule_word(key: &str) -> String {
    let word: String = key.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let word = word.trim_matches('-');
    if word.is_empty() { "property".into() } else { word.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reverie_note_schema() {
        let schema = json!({
            "type": "object",
            "properties": {
                "summary": {"type": "string"},
                "symbols": {"type": "array", "items": {"type": "string"}, "maxItems": 3}
            },
            "required": ["summary", "symbols"]
        });
        expect_test::expect![[r#"
            root ::= root-value
            ws ::= " "?
            char ::= [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )
            string ::= "\"" char{0,256} "\""
            root-symbols ::= "[" ( string ( "," ws string ){0,2} )? "]"
            root-value ::= "{" "\"summary\"" ":" ws string "," ws "\"symbols\"" ":" ws root-symbols "}"
        "#]]
        .assert_eq(&schema_to_gbnf(&schema).unwrap());
    }

    #[test]
    fn primitives_enums_and_nesting() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a_count": {"type": "integer"},
                "b_kind": {"enum": ["fn", "type \"alias\""]},
                "c_ok": {"type": "boolean"},
                "d_score": {"type": "number"},
                "e_where": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "maxLength": 40}, "line": {"type": "integer"}},
                    "required": ["file"]
                },
                "f_calls": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
                    "minItems": 1
                }
            },
            "required": ["a_count", "b_kind", "c_ok", "d_score", "e_where", "f_calls"]
        });
        expect_test::expect![[r#"
            root ::= root-value
            ws ::= " "?
            integer ::= "-"? ( "0" | [1-9] [0-9]{0,15} )
            boolean ::= "true" | "false"
            fraction ::= "." [0-9]{1,15}
            exponent ::= [eE] [-+]? [0-9]{1,3}
            number ::= integer fraction? exponent?
            char ::= [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )
            string-0-40 ::= "\"" char{0,40} "\""
            root-e-where ::= "{" "\"file\"" ":" ws string-0-40 ( "," ws "\"line\"" ":" ws integer )? "}"
            string ::= "\"" char{0,256} "\""
            root-f-calls-item ::= "{" "\"name\"" ":" ws string "}"
            root-f-calls ::= "[" root-f-calls-item ( "," ws root-f-calls-item ){0,15} "]"
            root-value ::= "{" "\"a_count\"" ":" ws integer "," ws "\"b_kind\"" ":" ws ( "\"fn\"" | "\"type \\\"alias\\\"\"" ) "," ws "\"c_ok\"" ":" ws boolean "," ws "\"d_score\"" ":" ws number "," ws "\"e_where\"" ":" ws root-e-where "," ws "\"f_calls\"" ":" ws root-f-calls "}"
        "#]]
        .assert_eq(&schema_to_gbnf(&schema).unwrap());
    }

    #[test]
    fn all_optional_properties() {
        let schema =
            json!({"type": "object", "properties": {"x": {"type": "null"}, "y": {"type": ["integer", "null"]}}});
        expect_test::expect![[r#"
            root ::= root-value
            ws ::= " "?
            integer ::= "-"? ( "0" | [1-9] [0-9]{0,15} )
            root-value ::= "{" ( "\"x\"" ":" ws "null" ( "," ws "\"y\"" ":" ws ( integer | "null" ) )? | "\"y\"" ":" ws ( integer | "null" ) )? "}"
        "#]]
        .assert_eq(&schema_to_gbnf(&schema).unwrap());
    }

    #[test]
    fn top_level_array_and_bounds() {
        let schema = json!({"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 0});
        expect_test::expect![[r#"
            root ::= root-value
            ws ::= " "?
            root-value ::= "[" "]"
        "#]]
        .assert_eq(&schema_to_gbnf(&schema).unwrap());
        let schema = json!({"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 1000});
        expect_test::expect![[r#"
            root ::= root-value
            ws ::= " "?
            integer ::= "-"? ( "0" | [1-9] [0-9]{0,15} )
            root-value ::= "[" integer ( "," ws integer ){1,} "]"
        "#]]
        .assert_eq(&schema_to_gbnf(&schema).unwrap());
    }

    #[test]
    fn clashing_property_names_get_distinct_rules() {
        let schema = json!({"type": "object", "properties": {
            "a b": {"type": "object", "properties": {}},
            "a-b": {"type": "object", "properties": {}},
            "__": {"type": "array", "items": {"type": "boolean"}, "maxItems": 1}
        }, "required": ["a b", "a-b", "__"]});
        let grammar = schema_to_gbnf(&schema).unwrap();
        let names: Vec<&str> = grammar.lines().filter_map(|l| l.split(" ::= ").next()).collect();
        let unique: HashSet<&str> = names.iter().copied().collect();
        assert_eq!(names.len(), unique.len(), "{grammar}");
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')), "{grammar}");
        assert!(
            grammar.contains("root-a-b ::=")
                && grammar.contains("root-a-b-2 ::=")
                && grammar.contains("root-property ::=")
        );
    }

    #[test]
    fn unsupported_schemas_say_what_to_do() {
        let cases = [
            (json!({"$ref": "#/defs/x"}), "#: $ref (\"#/defs/x\") is not supported; inline the definition"),
            (json!({"type": "object", "properties": {"a": {}}}), "#/properties/a: no \"type\"; give one of"),
            (
                json!({"type": "object", "required": ["a"]}),
                "#: \"required\" names \"a\", which is not in \"properties\"",
            ),
            (json!({"type": "tuple"}), "#: unknown type \"tuple\""),
            (json!({"type": "array"}), "#: an array needs \"items\""),
            (
                json!({"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 2}),
                "#: minItems 3 is above",
            ),
            (json!({"type": "string", "maxLength": -1}), "#: maxLength must be a non-negative integer"),
            (json!({"enum": []}), "#: enum must be a non-empty array"),
            (json!(true), "#: `true` (any value) is not supported"),
            (json!(7), "#: a schema must be an object"),
        ];
        for (schema, expected) in cases {
            let error = schema_to_gbnf(&schema).unwrap_err();
            assert!(error.starts_with(expected), "{schema}: {error}");
        }
        let mut deep = json!({"type": "string"});
        for _ in 0..100 {
            deep = json!({"type": "array", "items": deep});
        }
        assert!(schema_to_gbnf(&deep).unwrap_err().contains("deeper than"));
    }

    #[test]
    fn literals_escape_what_gbnf_needs() {
        assert_eq!(literal(r#""a\b""#), r#""\"a\\b\"""#);
        assert_eq!(literal("tab\there\u{1}é"), r#""tab\there\x01é""#);
    }

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
        let config = LlmConfig { provider: "local".into(), ..LlmConfig::default() };
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
