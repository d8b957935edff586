//! The semantic space fitted to the project: a linear map over the frozen embeddings, learned at
//! idle from pairs the project itself provides, applied to a question's vector before the cosine
//! search (issue 21, section 2).
//!
//! - Pairs ([`project_pairs`], pure): a commit's subject → the definitions its diff touched (from
//!   `history`, when mined); a docstring's first line → its definition; a test's name (words of it)
//!   → the project definitions its body calls, when the name is unambiguous. A pair's target is a
//!   definition's vector key ([`super::definition_key`]), so only definitions that are
//!   embedded count.
//! - The map ([`Adapter`]): `dims × dims`, initialised to the identity, trained with InfoNCE over
//!   in-batch negatives (a batch's other targets; duplicates of the positive are masked), Adam, and
//!   a pull towards the identity ([`train_epoch`], pure, deterministic for a given pair order).
//! - Adoption ([`evaluate`], [`should_adopt`]): a fifth of the questions (by their digest, so the
//!   split is stable) is held out; each held-out question ranks its definition among every target
//!   of the pair set, with the base model (identity) and with the map. The map is used only when its
//!   held-out MRR beats the base by [`ADOPT_MARGIN`] and its recall@10 is not lower. Both figures
//!   are stored and shown by `reverie status` (the `adapter` job's line).
//! - The job ([`refresh`]): embeds the pairs' questions (kept in the store's `adapter` tree, so the
//!   embeddings' garbage collection never drops them), trains epoch by epoch, checks `cancelled`
//!   between batches (a batch is a few ms) and stores the map after every epoch, so a cancelled
//!   pass resumes where it stopped. Everything is keyed by the embedder's model id: another model
//!   never reads it, and the pass drops other models' values. A pass over the same pairs as the
//!   last complete one does nothing.
//! - Question time: [`super::semantic::SemanticIndex::load`] reads the adopted map
//!   ([`adopted`]), and `nearby` maps the question's vector through it — when the caller keeps it:
//!   the server and `ask` do only with `REVERIE_ADAPTER=on` ([`questions_go_through_it`]: measured,
//!   the map does not pay in the fused ranking yet); `eval` ranks in both spaces. Zero model tokens.

use super::{Embedder, definition_key, model_key, quant};
use crate::hash::{Digest, DigestBuilder};
use crate::snapshot::Snapshot;
use crate::store::Store;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Where a pair comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PairSource {
    Commit,
    Doc,
    Test,
}

/// A question the project asked and answered itself, and the definition that answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    pub question: String,
    /// The answer's vector key.
    pub target: Digest,
    pub source: PairSource,
}

/// Most distinct questions a pass trains on (the longest part of a pass is embedding them).
pub const MAX_QUESTIONS: usize = 6000;
/// A commit touching more definitions than this says little about any one of them.
const MAX_COMMIT_DEFINITIONS: usize = 12;
/// Definitions a test names that become its pairs.
const MAX_TEST_TARGETS: usize = 3;
/// Pairs needed to train (and held-out pairs needed to judge).
pub const MIN_TRAIN_PAIRS: usize = 64;
pub const MIN_HELD_OUT: usize = 16;
/// Epochs of a complete pass.
pub const EPOCHS: u32 = 8;
const BATCH: usize = 64;
const TEMPERATURE: f32 = 0.05;
const LEARNING_RATE: f32 = 2e-3;
/// Pull towards the identity (keeps the map close to the base model on what the pairs do not cover).
const TO_IDENTITY: f32 = 1e-2;
/// The held-out MRR the map must gain over the base model to be used.
pub const ADOPT_MARGIN: f64 = 0.005;

/// Every pair `snapshot` and the mined `commits` provide, deduplicated, in a stable order, at most
/// [`MAX_QUESTIONS`] distinct questions (chosen by their digest, so the choice is stable).
pub fn project_pairs(snapshot: &Snapshot, commits: &[crate::history::Commit]) -> Vec<Pair> {
    let mut pairs = Vec::new();
    let key_of = |path: &str, name: &str| -> Option<Digest> {
        let facts = snapshot.files.get(path)?;
        let i = facts.definitions.iter().position(|d| d.name == name)?;
        Some(definition_key(path, &facts.content_hash, i as u32))
    };
    for commit in commits {
        let question = commit.subject.trim();
        if words(question) < 3 || commit.definitions.is_empty() || commit.definitions.len() > MAX_COMMIT_DEFINITIONS {
            continue;
        }
        for (path, name) in &commit.definitions {
            if let Some(target) = key_of(path, name) {
                pairs.push(Pair { question: question.to_string(), target, source: PairSource::Commit });
            }
        }
    }
    // Every file once, none kept (an idle pass, not a question).
    for (path, facts) in snapshot.files.scan() {
        for (i, def) in facts.definitions.iter().enumerate() {
            let Some(line) = def.doc.as_deref().and_then(|doc| doc.lines().map(str::trim).find(|l| !l.is_empty()))
            else {
                continue;
            };
            if words(line) >= 3 {
                let target = definition_key(path, &facts.content_hash, i as u32);
                pairs.push(Pair { question: line.to_string(), target, source: PairSource::Doc });
            }
        }
        // Each reference belongs to the last test that starts before it, if that test encloses it.
        let mut tests: Vec<&crate::syntax::facts::TestCase> = facts.tests.iter().collect();
        tests.sort_by_key(|t| t.span.start_byte);
        let mut called: Vec<Vec<&str>> = vec![Vec::new(); tests.len()];
        for reference in &facts.references {
            let after = tests.partition_point(|t| t.span.start_byte <= reference.span.start_byte);
            let Some(t) = after.checked_sub(1) else { continue };
            if reference.span.end_byte <= tests[t].span.end_byte && !called[t].contains(&reference.name.as_str()) {
                called[t].push(&reference.name);
            }
        }
        for (test, names) in tests.iter().zip(called) {
            let question = test_question(&test.name);
            if words(&question) < 2 {
                continue;
            }
            let mut taken = 0;
            for name in names {
                if taken == MAX_TEST_TARGETS {
                    break;
                }
                let named = snapshot.definitions_named(name, None);
                let [(at_path, at)] = named.as_slice() else { continue };
                if crate::search::prior::is_supporting(at_path) {
                    continue;
                }
                let Some(at_facts) = snapshot.files.get(at_path) else { continue };
                let target = definition_key(at_path, &at_facts.content_hash, *at);
                pairs.push(Pair { question: question.clone(), target, source: PairSource::Test });
                taken += 1;
            }
        }
    }
    let mut seen = HashSet::new();
    pairs.retain(|p| seen.insert((p.question.clone(), p.target)));
    let mut questions: Vec<(Digest, &str)> = Vec::new();
    let mut distinct = HashSet::new();
    for pair in &pairs {
        if distinct.insert(pair.question.as_str()) {
            questions.push((Digest::of(pair.question.as_bytes()), pair.question.as_str()));
        }
    }
    questions.sort();
    let kept: HashSet<String> = questions.iter().take(MAX_QUESTIONS).map(|(_, q)| q.to_string()).collect();
    pairs.retain(|p| kept.contains(&p.question));
    pairs.sort_by(|a, b| {
        (Digest::of(a.question.as_bytes()), a.target).cmp(&(Digest::of(b.question.as_bytes()), b.target))
    });
    pairs
}

fn words(text: &str) -> usize {
    text.split_whitespace().filter(|w| w.chars().any(char::is_alphabetic)).count()
}

/// `test_session_cookie_is_signed` → `session cookie is signed`; `TestSignedCookie` → `signed cookie`.
fn test_question(name: &str) -> String {
    let mut out = Vec::new();
    for part in name.split(['_', '.', ' ', ':']) {
        let mut word = String::new();
        for c in part.chars() {
            if c.is_uppercase() && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            word.extend(c.to_lowercase());
        }
        if !word.is_empty() {
            out.push(word);
        }
    }
    out.retain(|w| w != "test" && w != "tests" && w != "it" && w != "should");
    out.join(" ")
}

/// Whether questions are mapped through the adopted adapter before the cosine search: only with
/// `REVERIE_ADAPTER=on`. Measured, the map does not pay in the fused ranking yet, though it does for
/// the semantic channel alone — natural-language set (135 questions): semantic alone Acc@1/@5 43.0 /
/// 74.1 → 45.2 / 83.0, but reverie 49.6 / 92.6 → 47.4 / 92.6; dev set at base commits (requests,
/// Flask, seaborn, pylint: 18 reports) semantic alone 27.8 / 55.6 → 22.2 / 61.1, reverie 38.9 / 72.2
/// → 33.3 / 72.2 (`reverie eval`, rows "without adapter" and "semantic + adapter alone"). So the pass
/// still fits, judges and keeps the map (and `share` publishes it), and answers use the base space.
pub fn questions_go_through_it() -> bool {
    std::env::var("REVERIE_ADAPTER").is_ok_and(|v| v == "on")
}

/// Whether `question` is held out from training (one in five, by its digest).
pub fn held_out(question: &str) -> bool {
    Digest::of(question.as_bytes()).0[0].is_multiple_of(5)
}

/// A linear map over one model's vectors, row-major.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adapter {
    pub dims: usize,
    pub weights: Vec<f32>,
}

impl Adapter {
    pub fn identity(dims: usize) -> Adapter {
        let mut weights = vec![0.0; dims * dims];
        (0..dims).for_each(|i| weights[i * dims + i] = 1.0);
        Adapter { dims, weights }
    }

    /// `W v`, at unit length (a vector of other dimensions is returned as it is).
    pub fn apply(&self, vector: &[f32]) -> Vec<f32> {
        if vector.len() != self.dims {
            return vector.to_vec();
        }
        let mut out: Vec<f32> =
            self.weights.chunks_exact(self.dims).map(|row| row.iter().zip(vector).map(|(w, v)| w * v).sum()).collect();
        quant::normalize(&mut out);
        out
    }
}

/// Adam's moments for one map (not stored: a resumed pass restarts them).
pub struct Moments {
    first: Vec<f32>,
    second: Vec<f32>,
    steps: i32,
}

impl Moments {
    pub fn new(dims: usize) -> Moments {
        Moments { first: vec![0.0; dims * dims], second: vec![0.0; dims * dims], steps: 0 }
    }
}

/// One training example: the question's vector, the answer's vector (both unit length) and the
/// answer's id (pairs sharing an answer are not each other's negatives).
pub struct Example<'a> {
    pub question: &'a [f32],
    pub answer: &'a [f32],
    pub answer_id: usize,
}

/// One epoch of InfoNCE over `examples` in an order shuffled by `epoch`. Returns the mean loss, or
/// `None` when `cancelled` turned true (checked before every batch; the map holds the batches done).
pub fn train_epoch(
    adapter: &mut Adapter,
    moments: &mut Moments,
    examples: &[Example<'_>],
    epoch: u32,
    cancelled: &dyn Fn() -> bool,
) -> Option<f32> {
    let dims = adapter.dims;
    let mut order: Vec<usize> = (0..examples.len()).collect();
    shuffle(&mut order, 0x9e37_79b9_7f4a_7c15 ^ u64::from(epoch));
    let (mut total, mut batches) = (0.0, 0);
    let mut grad = vec![0.0f32; dims * dims];
    for batch in order.chunks(BATCH) {
        if cancelled() {
            return None;
        }
        if batch.len() < 2 {
            continue;
        }
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mapped: Vec<(Vec<f32>, f32)> = batch
            .iter()
            .map(|&i| {
                let q = examples[i].question;
                let u: Vec<f32> =
                    adapter.weights.chunks_exact(dims).map(|row| row.iter().zip(q).map(|(w, v)| w * v).sum()).collect();
                let norm = u.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                (u.into_iter().map(|x| x / norm).collect(), norm)
            })
            .collect();
        let scale = 1.0 / (TEMPERATURE * batch.len() as f32);
        for (b, &i) in batch.iter().enumerate() {
            let (unit, norm) = &mapped[b];
            let logits: Vec<Option<f32>> = batch
                .iter()
                .enumerate()
                .map(|(j, &k)| {
                    let same_answer = j != b && examples[k].answer_id == examples[i].answer_id;
                    (!same_answer).then(|| dot(unit, examples[k].answer) / TEMPERATURE)
                })
                .collect();
            let max = logits.iter().flatten().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
            let sum: f32 = logits.iter().flatten().map(|x| (x - max).exp()).sum();
            total += -(logits[b].unwrap_or(max) - max - sum.ln());
            // d loss / d unit = (Σ p_j a_j − a_b) / (τ B)
            let mut g_unit = vec![0.0f32; dims];
            for (j, &k) in batch.iter().enumerate() {
                let Some(logit) = logits[j] else { continue };
                let p = (logit - max).exp() / sum - if j == b { 1.0 } else { 0.0 };
                g_unit.iter_mut().zip(examples[k].answer).for_each(|(g, a)| *g += p * a * scale);
            }
            // Through the normalisation: (g − (g·û) û) / |u|.
            let along = dot(&g_unit, unit);
            let q = examples[i].question;
            for r in 0..dims {
                let g = (g_unit[r] - along * unit[r]) / norm;
                if g != 0.0 {
                    grad[r * dims..(r + 1) * dims].iter_mut().zip(q).for_each(|(w, v)| *w += g * v);
                }
            }
        }
        adam_step(adapter, moments, &grad);
        batches += 1;
    }
    Some(if batches == 0 { 0.0 } else { total / (batches as f32 * BATCH as f32).max(1.0) })
}

/// One Adam step on `grad` plus the pull towards the identity.
fn adam_step(adapter: &mut Adapter, moments: &mut Moments, grad: &[f32]) {
    let dims = adapter.dims;
    moments.steps += 1;
    let (b1, b2) = (0.9f32, 0.999f32);
    let c1 = 1.0 - b1.powi(moments.steps);
    let c2 = 1.0 - b2.powi(moments.steps);
    for (idx, w) in adapter.weights.iter_mut().enumerate() {
        let identity = if idx / dims == idx % dims { 1.0 } else { 0.0 };
        let g = grad[idx] + TO_IDENTITY * (*w - identity);
        let m = &mut moments.first[idx];
        let v = &mut moments.second[idx];
        *m = b1 * *m + (1.0 - b1) * g;
        *v = b2 * *v + (1.0 - b2) * g * g;
        *w -= LEARNING_RATE * (*m / c1) / ((*v / c2).sqrt() + 1e-8);
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Fisher–Yates with a small xorshift generator: the same seed, the same order.
fn shuffle(items: &mut [usize], seed: u64) {
    let mut state = seed | 1;
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

/// How well questions find their answers among a pool of candidates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Held-out pairs measured.
    pub pairs: usize,
    /// Candidates each question ranks its answer among.
    pub candidates: usize,
    pub recall_at_1: f64,
    pub recall_at_10: f64,
    pub mrr: f64,
}

/// Ranks each `(question, answer index)` among `pool` (unit vectors) by cosine, the question
/// mapped by `adapter` (or not, for the base model).
pub fn evaluate(adapter: Option<&Adapter>, held: &[(&[f32], usize)], pool: &[&[f32]]) -> Figures {
    let mut figures = Figures { pairs: held.len(), candidates: pool.len(), ..Figures::default() };
    if held.is_empty() {
        return figures;
    }
    for &(question, answer) in held {
        let q = adapter.map_or_else(|| question.to_vec(), |a| a.apply(question));
        let own = dot(&q, pool[answer]);
        let rank = 1 + pool.iter().enumerate().filter(|&(j, c)| j != answer && dot(&q, c) > own).count();
        figures.recall_at_1 += f64::from(u8::from(rank == 1));
        figures.recall_at_10 += f64::from(u8::from(rank <= 10));
        figures.mrr += 1.0 / rank as f64;
    }
    let n = held.len() as f64;
    figures.recall_at_1 /= n;
    figures.recall_at_10 /= n;
    figures.mrr /= n;
    figures
}

/// The adoption rule: the map must beat the base model's held-out MRR by [`ADOPT_MARGIN`] without
/// losing recall@10, on enough held-out pairs.
pub fn should_adopt(base: &Figures, adapted: &Figures) -> bool {
    adapted.pairs >= MIN_HELD_OUT && adapted.mrr >= base.mrr + ADOPT_MARGIN && adapted.recall_at_10 >= base.recall_at_10
}

/// What the store keeps for one model: the map, how far training got and what it measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdapterState {
    pub model_id: String,
    /// The digest of the pairs trained on: new pairs start a new training.
    pub pairs_digest: Option<Digest>,
    pub epochs_done: u32,
    pub complete: bool,
    pub adapter: Option<Adapter>,
    pub train_pairs: usize,
    pub held_out_pairs: usize,
    pub pairs_by_source: Vec<(PairSource, usize)>,
    pub base: Option<Figures>,
    pub adapted: Option<Figures>,
    pub adopted: bool,
    /// Seconds of idle time spent on the current pairs, over every pass.
    pub seconds: f64,
    /// Why the pass stopped short of training (too few pairs), if it did.
    pub note: Option<String>,
}

impl AdapterState {
    /// One line for `reverie status` and `reverie think`: the held-out figures of both.
    pub fn summary(&self) -> String {
        if let Some(note) = &self.note {
            return format!("not used: {note}");
        }
        match (&self.base, &self.adapted) {
            (Some(base), Some(adapted)) => format!(
                "{} — held-out MRR {:.3} vs base {:.3}, recall@10 {:.1}% vs {:.1}% ({} pairs, {} candidates)",
                if self.adopted { "adopted" } else { "not adopted (does not beat the base model)" },
                adapted.mrr,
                base.mrr,
                adapted.recall_at_10 * 100.0,
                base.recall_at_10 * 100.0,
                adapted.pairs,
                adapted.candidates
            ),
            _ => format!("training: {} of {EPOCHS} epochs", self.epochs_done),
        }
    }
}

const STATE: &[u8] = b"state";

fn question_name(question: &str) -> Vec<u8> {
    let key = DigestBuilder::new().part(b"adapter-question").part(question.as_bytes()).finish();
    let mut name = b"q".to_vec();
    name.extend_from_slice(&key.0);
    name
}

/// The stored state of `model_id`'s adapter, if any (an undecodable one counts as none).
pub fn stored_state(store: &Store, model_id: &str) -> Result<Option<AdapterState>> {
    let bytes = store.adapter_value(&model_key(model_id), STATE)?;
    Ok(bytes.and_then(|b| postcard::from_bytes::<AdapterState>(&b).ok()).filter(|s| s.model_id == model_id))
}

fn put_state(store: &Store, state: &AdapterState) -> Result<()> {
    store.put_adapter_value(&model_key(&state.model_id), STATE, &postcard::to_stdvec(state)?)
}

/// The adopted map of `model_id`, if training finished and the map beat the base model.
pub fn adopted(store: &Store, model_id: &str) -> Result<Option<Adapter>> {
    Ok(stored_state(store, model_id)?.filter(|s| s.complete && s.adopted).and_then(|s| s.adapter))
}

/// The pairs whose answer has a vector, those vectors (normalized), and the digest of the pairs:
/// what a training on them is keyed by.
struct EmbeddedPairs {
    pairs: Vec<Pair>,
    answer_vectors: HashMap<Digest, Vec<f32>>,
    digest: Digest,
}

/// The [`EmbeddedPairs`] of `snapshot` and `commits` for `model`.
fn embedded_pairs(
    store: &Store,
    snapshot: &Snapshot,
    commits: &[crate::history::Commit],
    model: &Digest,
) -> Result<EmbeddedPairs> {
    let all = project_pairs(snapshot, commits);
    let targets: Vec<Digest> = all.iter().map(|p| p.target).collect::<HashSet<_>>().into_iter().collect();
    let mut answer_vectors: HashMap<Digest, Vec<f32>> = HashMap::new();
    for (key, bytes) in targets.iter().zip(store.embeddings(model, &targets)) {
        if let Some(vector) = bytes?.and_then(|b| quant::QuantizedVector::from_bytes(&b, None)) {
            let mut v = vector.dequantize();
            quant::normalize(&mut v);
            answer_vectors.insert(*key, v);
        }
    }
    let pairs: Vec<Pair> = all.into_iter().filter(|p| answer_vectors.contains_key(&p.target)).collect();
    let mut builder = DigestBuilder::new();
    pairs.iter().for_each(|p| {
        builder.part(p.question.as_bytes()).part(&p.target.0);
    });
    Ok(EmbeddedPairs { pairs, answer_vectors, digest: builder.finish() })
}

/// The complete state of `model_id`'s adapter, encoded to travel (`share`), if training finished.
pub fn shareable_state(store: &Store, model_id: &str) -> Result<Option<Vec<u8>>> {
    Ok(stored_state(store, model_id)?.filter(|s| s.complete).map(|s| postcard::to_stdvec(&s)).transpose()?)
}

/// Stores a state another machine trained (`bytes`, from [`shareable_state`]) when it is
/// `model_id`'s, complete, trained on exactly the pairs this workspace's facts, history and vectors
/// give (its pairs digest, which covers every question and answer), with a sound map (`dims ×
/// dims` finite weights, `dims` those of the vectors), and this workspace has no complete training on
/// those pairs yet. `Ok(Err(why))` when it is refused; `Ok(Ok(false))` when there was nothing to do.
pub fn accept_shared_state(
    store: &Store,
    snapshot: &Snapshot,
    commits: &[crate::history::Commit],
    model_id: &str,
    bytes: &[u8],
) -> Result<Result<bool, String>> {
    let Ok(state) = postcard::from_bytes::<AdapterState>(bytes) else {
        return Ok(Err("the adapter's state does not decode".into()));
    };
    if state.model_id != model_id {
        return Ok(Err(format!("the adapter was trained on `{}`'s vectors, not `{model_id}`'s", state.model_id)));
    }
    let model = model_key(model_id);
    let EmbeddedPairs { answer_vectors, digest, .. } = embedded_pairs(store, snapshot, commits, &model)?;
    if !state.complete || state.pairs_digest != Some(digest) {
        return Ok(Err("the adapter was trained on other pairs than this workspace's (another commit, or \
                       the history or vectors are not all here)"
            .into()));
    }
    let dims = answer_vectors.values().next().map(Vec::len);
    if let Some(adapter) = &state.adapter
        && (Some(adapter.dims) != dims
            || adapter.weights.len() != adapter.dims * adapter.dims
            || !adapter.weights.iter().all(|w| w.is_finite()))
    {
        return Ok(Err("the adapter's map does not fit the vectors".into()));
    }
    if stored_state(store, model_id)?.is_some_and(|mine| mine.complete && mine.pairs_digest == Some(digest)) {
        return Ok(Ok(false));
    }
    store.retain_adapter(&model)?;
    put_state(store, &state)?;
    store.flush()?;
    Ok(Ok(true))
}

/// What one pass did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AdapterReport {
    pub pairs: usize,
    /// Questions embedded by this pass.
    pub embedded: usize,
    pub epochs: u32,
    pub cancelled: bool,
    /// Nothing to do: the pairs are those of the last complete pass.
    pub unchanged: bool,
    pub adopted: bool,
    pub base: Option<Figures>,
    pub adapted: Option<Figures>,
    pub summary: String,
    pub seconds: f64,
}

/// The adapter's idle pass over `snapshot` (whose definitions should be embedded first) and the
/// mined `commits`: embeds the pairs' questions it lacks, trains the epochs left, measures both
/// spaces on the held-out pairs and stores the outcome. Stops between two batches once `cancelled`
/// is true; what was stored stays, so the next pass resumes.
pub async fn refresh(
    store: &Store,
    snapshot: &Snapshot,
    commits: &[crate::history::Commit],
    embedder: &dyn Embedder,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<AdapterReport> {
    let started = std::time::Instant::now();
    let model_id = embedder.model_id();
    let model = model_key(&model_id);
    store.retain_adapter(&model)?;
    let mut report = AdapterReport::default();
    let EmbeddedPairs { pairs, answer_vectors, digest } = embedded_pairs(store, snapshot, commits, &model)?;
    report.pairs = pairs.len();
    let mut state = stored_state(store, &model_id)?.unwrap_or_default();
    if state.pairs_digest == Some(digest) && state.complete {
        report.unchanged = true;
        report.adopted = state.adopted;
        report.base = state.base.clone();
        report.adapted = state.adapted.clone();
        report.summary = state.summary();
        return Ok(report);
    }
    if state.pairs_digest != Some(digest) {
        state = AdapterState { model_id: model_id.clone(), pairs_digest: Some(digest), ..AdapterState::default() };
    }
    let mut by_source: HashMap<PairSource, usize> = HashMap::new();
    pairs.iter().for_each(|p| *by_source.entry(p.source).or_default() += 1);
    state.pairs_by_source = [PairSource::Commit, PairSource::Doc, PairSource::Test]
        .iter()
        .map(|s| (*s, by_source.get(s).copied().unwrap_or(0)))
        .collect();

    // The questions' vectors: stored ones, then the rest embedded in batches (redacted first).
    let mut question_vectors: HashMap<String, Vec<f32>> = HashMap::new();
    let mut missing = Vec::new();
    for question in pairs.iter().map(|p| p.question.as_str()).collect::<HashSet<_>>() {
        match store.adapter_value(&model, &question_name(question))? {
            Some(bytes) => {
                if let Some(v) = quant::QuantizedVector::from_bytes(&bytes, None) {
                    let mut v = v.dequantize();
                    quant::normalize(&mut v);
                    question_vectors.insert(question.to_string(), v);
                }
            }
            None => missing.push(question.to_string()),
        }
    }
    missing.sort();
    for batch in missing.chunks(embedder.max_batch().max(1)) {
        if cancelled() {
            report.cancelled = true;
            return finish(store, state, report, started);
        }
        let texts: Vec<String> = batch.iter().map(|q| crate::redact::redact(q).0).collect();
        let vectors = embedder.embed(&texts).await?;
        let mut values = Vec::new();
        for (question, mut vector) in batch.iter().zip(vectors) {
            values.push((question_name(question), quant::QuantizedVector::quantize(&vector).to_bytes()));
            quant::normalize(&mut vector);
            question_vectors.insert(question.clone(), vector);
        }
        store.put_adapter_values(&model, &values)?;
        report.embedded += batch.len();
    }

    // Train on four fifths, judge on the rest.
    let mut answer_ids: HashMap<Digest, usize> = HashMap::new();
    let mut train = Vec::new();
    let mut held = Vec::new();
    for pair in &pairs {
        let (Some(question), Some(answer)) = (question_vectors.get(&pair.question), answer_vectors.get(&pair.target))
        else {
            continue;
        };
        let next = answer_ids.len();
        let answer_id = *answer_ids.entry(pair.target).or_insert(next);
        if question.len() != answer.len() {
            continue;
        }
        let example = Example { question, answer, answer_id };
        if held_out(&pair.question) { held.push(example) } else { train.push(example) }
    }
    state.train_pairs = train.len();
    state.held_out_pairs = held.len();
    if train.len() < MIN_TRAIN_PAIRS || held.len() < MIN_HELD_OUT {
        state.note = Some(format!(
            "too few pairs ({} to train, {} held out; {MIN_TRAIN_PAIRS} and {MIN_HELD_OUT} needed)",
            train.len(),
            held.len()
        ));
        state.complete = true;
        return finish(store, state, report, started);
    }
    let dims = train[0].question.len();
    let mut adapter = state.adapter.take().filter(|a| a.dims == dims).unwrap_or_else(|| Adapter::identity(dims));
    let mut moments = Moments::new(dims);
    while state.epochs_done < EPOCHS {
        let epoch_started = std::time::Instant::now();
        let loss = train_epoch(&mut adapter, &mut moments, &train, state.epochs_done, cancelled);
        state.seconds += epoch_started.elapsed().as_secs_f64();
        if loss.is_none() {
            // The batches done are kept; the epoch is counted only when whole.
            state.adapter = Some(adapter);
            report.cancelled = true;
            return finish(store, state, report, started);
        }
        state.epochs_done += 1;
        report.epochs += 1;
        state.adapter = Some(adapter.clone());
        put_state(store, &state)?;
    }
    let mut pool: Vec<&[f32]> = Vec::with_capacity(answer_ids.len());
    let mut pool_index = vec![0usize; answer_ids.len()];
    let mut by_id: Vec<(&Digest, &usize)> = answer_ids.iter().collect();
    by_id.sort_by_key(|(_, id)| **id);
    for (key, id) in by_id {
        pool_index[*id] = pool.len();
        pool.push(&answer_vectors[key]);
    }
    let judged: Vec<(&[f32], usize)> = held.iter().map(|e| (e.question, pool_index[e.answer_id])).collect();
    let base = evaluate(None, &judged, &pool);
    let adapted = evaluate(Some(&adapter), &judged, &pool);
    state.adopted = should_adopt(&base, &adapted);
    state.base = Some(base);
    state.adapted = Some(adapted);
    state.adapter = Some(adapter);
    state.complete = true;
    finish(store, state, report, started)
}

/// Keeps a pass's run for `status` (the `adapter` job: epochs done, epochs left, its one line).
pub fn record_run(store: &Store, model_id: &str, report: &AdapterReport) -> Result<()> {
    use crate::jobs::{Job, JobRun, JobStore};
    let state = stored_state(store, model_id)?;
    let epochs = state.as_ref().map_or(0, |s| s.epochs_done);
    let pending = if state.is_some_and(|s| s.complete) { 0 } else { u64::from(EPOCHS.saturating_sub(epochs)) };
    store.put_job_run(
        Job::Adapter,
        &JobRun::ended_now(report.seconds, u64::from(epochs), pending, report.summary.clone()),
    )
}

fn finish(
    store: &Store,
    mut state: AdapterState,
    mut report: AdapterReport,
    started: std::time::Instant,
) -> Result<AdapterReport> {
    if state.model_id.is_empty() {
        return Ok(report);
    }
    if report.cancelled {
        state.complete = false;
    }
    put_state(store, &state)?;
    report.adopted = state.complete && state.adopted;
    report.base = state.base.clone();
    report.adapted = state.adapted.clone();
    report.summary =
        if report.cancelled { format!("cancelled after {} epochs", state.epochs_done) } else { state.summary() };
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit vectors of `dims` from a fixed seed.
    fn random_unit(dims: usize, seed: &mut u64) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dims)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                (*seed % 2000) as f32 / 1000.0 - 1.0
            })
            .collect();
        quant::normalize(&mut v);
        v
    }

    /// Answers, and questions that are a known signed permutation of them: the identity finds
    /// little, the map must find it back.
    fn permuted(dims: usize, n: usize) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let mut seed = 42;
        let answers: Vec<Vec<f32>> = (0..n).map(|_| random_unit(dims, &mut seed)).collect();
        let questions = answers
            .iter()
            .map(|a| (0..dims).map(|i| if i % 2 == 0 { a[(i + 3) % dims] } else { -a[(i + 5) % dims] }).collect())
            .collect();
        (questions, answers)
    }

    #[test]
    fn training_recovers_a_known_map_better_than_the_identity() {
        let (dims, n) = (16, 400);
        let (questions, answers) = permuted(dims, n);
        let examples: Vec<Example> =
            (0..320).map(|i| Example { question: &questions[i], answer: &answers[i], answer_id: i }).collect();
        let mut adapter = Adapter::identity(dims);
        let mut moments = Moments::new(dims);
        let first = train_epoch(&mut adapter, &mut moments, &examples, 0, &|| false).unwrap();
        let mut last = first;
        for epoch in 1..60 {
            last = train_epoch(&mut adapter, &mut moments, &examples, epoch, &|| false).unwrap();
        }
        assert!(last < first * 0.5, "the loss falls: {first} -> {last}");
        let pool: Vec<&[f32]> = answers.iter().map(Vec::as_slice).collect();
        let held: Vec<(&[f32], usize)> = (320..n).map(|i| (questions[i].as_slice(), i)).collect();
        let base = evaluate(None, &held, &pool);
        let adapted = evaluate(Some(&adapter), &held, &pool);
        assert!(adapted.mrr > base.mrr + 0.3, "{base:?} vs {adapted:?}");
        assert!(adapted.recall_at_10 > 0.8, "{adapted:?}");
        assert!(should_adopt(&base, &adapted));
    }

    #[test]
    fn the_adoption_rule_needs_a_better_mrr_no_worse_recall_and_enough_pairs() {
        let figures =
            |pairs, recall_at_10, mrr| Figures { pairs, candidates: 100, recall_at_1: 0.0, recall_at_10, mrr };
        let base = figures(100, 0.5, 0.30);
        assert!(should_adopt(&base, &figures(100, 0.5, 0.32)));
        assert!(!should_adopt(&base, &figures(100, 0.5, 0.302)), "within the margin");
        assert!(!should_adopt(&base, &figures(100, 0.45, 0.40)), "recall@10 lost");
        assert!(!should_adopt(&base, &figures(MIN_HELD_OUT - 1, 0.9, 0.9)), "too few held-out pairs");
        // The identity is the base model: it never beats itself.
        let (questions, answers) = permuted(8, 40);
        let pool: Vec<&[f32]> = answers.iter().map(Vec::as_slice).collect();
        let held: Vec<(&[f32], usize)> = (0..40).map(|i| (questions[i].as_slice(), i)).collect();
        let same = evaluate(Some(&Adapter::identity(8)), &held, &pool);
        assert_eq!(same.mrr, evaluate(None, &held, &pool).mrr);
    }

    #[test]
    fn a_cancelled_epoch_stops_before_its_next_batch() {
        let (questions, answers) = permuted(8, 200);
        let examples: Vec<Example> =
            (0..200).map(|i| Example { question: &questions[i], answer: &answers[i], answer_id: i }).collect();
        let mut adapter = Adapter::identity(8);
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let cancel_after_one = || calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= 1;
        assert_eq!(train_epoch(&mut adapter, &mut Moments::new(8), &examples, 0, &cancel_after_one), None);
        assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 2, "checked before every batch");
        assert_ne!(adapter, Adapter::identity(8), "the batch done is kept");
    }

    #[test]
    fn questions_come_from_docs_tests_and_commits() {
        use crate::syntax::{Language, extract};
        use std::sync::Arc;
        let files = [
            (
                "src/cookies.py",
                "def sign_cookie(value):\n    \"\"\"Sign a session cookie with the secret key.\"\"\"\n    return value\n",
            ),
            ("tests/test_cookies.py", "def test_cookie_is_signed():\n    assert sign_cookie(1)\n"),
        ];
        let snapshot = Snapshot::new(
            files.iter().map(|(p, s)| (Arc::from(*p), Arc::new(extract(s.as_bytes(), Language::Python)))).collect(),
        );
        let commit = crate::history::Commit {
            subject: "Fixed cookie signing with rotated keys".into(),
            definitions: vec![("src/cookies.py".into(), "sign_cookie".into()), ("gone.py".into(), "f".into())],
            ..Default::default()
        };
        let pairs = project_pairs(&snapshot, &[commit]);
        let facts = &snapshot.files["src/cookies.py"];
        let target = definition_key("src/cookies.py", &facts.content_hash, 0);
        let mut found: Vec<(&str, PairSource)> = pairs.iter().map(|p| (p.question.as_str(), p.source)).collect();
        found.sort_by_key(|(q, _)| *q);
        assert_eq!(
            found,
            vec![
                ("Fixed cookie signing with rotated keys", PairSource::Commit),
                ("Sign a session cookie with the secret key.", PairSource::Doc),
                ("cookie is signed", PairSource::Test),
            ]
        );
        assert!(pairs.iter().all(|p| p.target == target), "{pairs:?}");
        assert_eq!(test_question("TestSignedCookie.test_rotation"), "signed cookie rotation");
    }

    /// Each text's vector is the sum of one direction per word, so a question and its definition's
    /// text are near when they share words; the definitions' vectors are a fixed signed permutation
    /// of that, so the base model is poor and a map helps. Its field is the model's id.
    struct Words(&'static str);

    /// The test embedder under its own id.
    const WORDS: Words = Words("words");

    impl Embedder for Words {
        fn model_id(&self) -> String {
            self.0.into()
        }
        fn dims(&self) -> Option<usize> {
            Some(16)
        }
        fn max_batch(&self) -> usize {
            8
        }
        fn max_tokens(&self) -> usize {
            64
        }
        fn abortable(&self) -> bool {
            true
        }
        fn embed<'a>(&'a self, texts: &'a [String]) -> super::super::EmbedFuture<'a> {
            Box::pin(async move { Ok(texts.iter().map(|t| words_vector(t)).collect()) })
        }
    }

    fn words_vector(text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; 16];
        for word in text.split_whitespace() {
            let d = Digest::of(word.to_lowercase().as_bytes());
            v[d.0[0] as usize % 16] += 1.0;
            v[d.0[1] as usize % 16] -= 0.5;
        }
        quant::normalize(&mut v);
        v
    }

    /// A workspace of `n` documented functions, with each function's vector stored as the
    /// permuted vector of its doc.
    fn workspace(n: usize) -> (tempfile::TempDir, Store, Snapshot) {
        use crate::syntax::{Language, extract};
        use std::sync::Arc;
        let mut source = String::new();
        for i in 0..n {
            let (a, b, c) = (3 * i, 3 * i + 1, 3 * i + 2);
            source.push_str(&format!("def f{i}():\n    \"\"\"Handle w{a} w{b} w{c}.\"\"\"\n    return {i}\n\n"));
        }
        let facts = Arc::new(extract(source.as_bytes(), Language::Python));
        let snapshot = Snapshot::new([(Arc::from("src/app.py"), facts.clone())].into_iter().collect());
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path()).unwrap();
        let vectors: Vec<(Digest, Vec<u8>)> = facts
            .definitions
            .iter()
            .enumerate()
            .map(|(i, def)| {
                let doc = words_vector(def.doc.as_deref().unwrap_or(""));
                let permuted: Vec<f32> =
                    (0..16).map(|k| if k % 2 == 0 { doc[(k + 3) % 16] } else { -doc[(k + 5) % 16] }).collect();
                (
                    definition_key("src/app.py", &facts.content_hash, i as u32),
                    quant::QuantizedVector::quantize(&permuted).to_bytes(),
                )
            })
            .collect();
        store.put_embeddings(&model_key("words"), &vectors).unwrap();
        (dir, store, snapshot)
    }

    #[tokio::test]
    async fn a_cancelled_pass_resumes_and_a_finished_one_is_adopted_and_kept() {
        let (_dir, store, snapshot) = workspace(400);
        // Cancelled after a few checks: part of the questions embedded, nothing adopted.
        let checks = std::sync::atomic::AtomicUsize::new(0);
        let cancel_soon = || checks.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= 5;
        let first = refresh(&store, &snapshot, &[], &WORDS, &cancel_soon).await.unwrap();
        assert!(first.cancelled && !first.adopted, "{first:?}");
        assert_eq!(first.embedded, 5 * 8);
        assert!(adopted(&store, "words").unwrap().is_none());
        // The next pass embeds only the rest, trains and adopts.
        let second = refresh(&store, &snapshot, &[], &WORDS, &|| false).await.unwrap();
        assert!(!second.cancelled, "{second:?}");
        assert_eq!(second.embedded, first.pairs - first.embedded, "questions already embedded are not embedded again");
        assert_eq!(second.epochs, EPOCHS);
        let (base, adapted) = (second.base.clone().unwrap(), second.adapted.clone().unwrap());
        assert!(second.adopted && adapted.mrr > base.mrr, "{base:?} vs {adapted:?}");
        assert!(stored_state(&store, "words").unwrap().unwrap().summary().starts_with("adopted"));
        let map = adopted(&store, "words").unwrap().expect("adopted");
        assert_eq!(map.dims, 16);
        // The same pairs again: nothing to do.
        let third = refresh(&store, &snapshot, &[], &WORDS, &|| false).await.unwrap();
        assert!(third.unchanged && third.adopted && third.embedded == 0 && third.epochs == 0, "{third:?}");
    }

    #[tokio::test]
    async fn a_model_change_discards_the_adapter() {
        let (_dir, store, snapshot) = workspace(120);
        let report = refresh(&store, &snapshot, &[], &WORDS, &|| false).await.unwrap();
        assert!(report.adapted.is_some(), "{report:?}");
        assert!(stored_state(&store, "words").unwrap().is_some());
        // The same vectors under another model id.
        let other = refresh(&store, &snapshot, &[], &Words("other"), &|| false).await.unwrap();
        assert_eq!(other.pairs, 0, "the other model has no definition vectors: {other:?}");
        assert!(stored_state(&store, "words").unwrap().is_none(), "the old model's adapter is gone");
        assert!(adopted(&store, "words").unwrap().is_none());
    }
}
