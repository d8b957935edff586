//! The idle embedding pass: embed what the store does not have yet, in the caller's priority order,
//! in batches short enough to stop within 100 ms of activity, storing as it goes.
//!
//! Guarantees:
//! - items whose vector is stored for this model (same model key, same content key) are skipped,
//!   as are repeats of a key within one call, so a second pass over the same items embeds nothing;
//! - each batch is written (durably) before the next is embedded, so a pass stopped or killed
//!   anywhere loses at most the batch in flight and the next pass resumes where it stopped;
//! - cancellation is checked before each batch and, while a batch runs, every `poll` (5 ms): the
//!   pass returns at once, dropping the batch in flight (an HTTP request is aborted; a local batch
//!   stops at its next layer, measured 17–84 ms later). Local batches cannot stop mid-layer, so their
//!   size comes from measured time per item (`BatchSizer`): as many items as fit in `batch_budget`
//!   (400 ms, i.e. layers of ≈ 65 ms for a 6-layer model), growing at most twofold per batch, never
//!   above the embedder's `max_batch` — so the CPU is free again within 100 ms;
//! - vectors that are not one per text, of one length (the embedder's `dims` when it knows it) are
//!   refused with an error naming the model, and nothing of that batch is stored.

use super::quant::QuantizedVector;
use super::{Embedder, model_key};
use crate::hash::Digest;
use crate::store::Store;
use anyhow::{Context, Result, bail};
use std::collections::HashSet;
use std::time::Duration;
use tokio::time::Instant;

/// How the pass paces itself.
#[derive(Clone, Debug, PartialEq)]
pub struct PassOptions {
    /// Target time of one batch of an embedder that cannot be aborted mid-batch.
    pub batch_budget: Duration,
    /// How often cancellation is checked while a batch runs.
    pub poll: Duration,
}

impl Default for PassOptions {
    fn default() -> Self {
        PassOptions { batch_budget: Duration::from_millis(400), poll: Duration::from_millis(5) }
    }
}

/// What a pass did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EmbedReport {
    /// Items embedded and stored by this pass.
    pub embedded: usize,
    /// Items already stored for this model (or repeated in the input).
    pub skipped: usize,
    /// The pass stopped because the cancellation check said so; the rest is for the next pass.
    pub cancelled: bool,
    pub batches: usize,
    pub elapsed: Duration,
    /// The longest batch (embedding and storing): how late a cancellation can be honoured.
    pub longest_batch: Duration,
}

/// Chooses batch sizes from measured time per item.
#[derive(Clone, Debug)]
pub struct BatchSizer {
    budget: Duration,
    max: usize,
    per_item: Option<Duration>,
    last: usize,
}

impl BatchSizer {
    pub fn new(budget: Duration, max: usize) -> BatchSizer {
        BatchSizer { budget, max: max.max(1), per_item: None, last: 0 }
    }

    /// The next batch's size: one until a batch was timed, then as many as the measured time per
    /// item fits in the budget, at most twice the last size and `max`.
    pub fn next(&self) -> usize {
        let Some(per_item) = self.per_item else { return 1 };
        let fits =
            if per_item.is_zero() { self.max } else { (self.budget.as_secs_f64() / per_item.as_secs_f64()) as usize };
        fits.clamp(1, self.max).min(self.last.max(1) * 2)
    }

    /// Records that `items` took `took`. Recent batches weigh most (machine load changes).
    pub fn record(&mut self, items: usize, took: Duration) {
        if items == 0 {
            return;
        }
        let per = took / items as u32;
        self.per_item = Some(match self.per_item {
            None => per,
            Some(old) => (old + per) / 2,
        });
        self.last = items;
    }
}

/// Runs the pass with the default pacing (see `embed_pending_with`).
pub async fn embed_pending(
    items: &[(Digest, String)],
    embedder: &dyn Embedder,
    store: &Store,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<EmbedReport> {
    embed_pending_with(items, embedder, store, cancelled, &PassOptions::default()).await
}

/// Embeds `items` (`(content key, text)`, most valuable first) that `store` has no vector of for
/// `embedder`'s model, until done or `cancelled()` (see the module docs).
pub async fn embed_pending_with(
    items: &[(Digest, String)],
    embedder: &dyn Embedder,
    store: &Store,
    cancelled: &(dyn Fn() -> bool + Sync),
    options: &PassOptions,
) -> Result<EmbedReport> {
    let started = Instant::now();
    let model_id = embedder.model_id();
    let model = model_key(&model_id);
    let abortable = embedder.abortable();
    let mut sizer = BatchSizer::new(options.batch_budget, embedder.max_batch());
    let mut report = EmbedReport::default();
    let mut seen: HashSet<Digest> = HashSet::new();
    let mut next = 0;
    loop {
        if cancelled() {
            report.cancelled = true;
            break;
        }
        let size = if abortable { embedder.max_batch().max(1) } else { sizer.next() };
        let mut keys = Vec::with_capacity(size);
        let mut texts = Vec::with_capacity(size);
        while keys.len() < size && next < items.len() {
            let (key, text) = &items[next];
            next += 1;
            if !seen.insert(*key) || store.has_embedding(&model, key)? {
                report.skipped += 1;
                continue;
            }
            keys.push(*key);
            texts.push(text.clone());
        }
        if keys.is_empty() {
            break;
        }
        let batch_started = Instant::now();
        let vectors = tokio::select! {
            vectors = embedder.embed(&texts) => vectors.with_context(|| format!("embedding with {model_id}"))?,
            () = until(cancelled, options.poll) => {
                report.cancelled = true;
                break;
            }
        };
        check_vectors(&vectors, texts.len(), embedder.dims(), &model_id)?;
        let batch: Vec<(Digest, Vec<u8>)> = keys
            .iter()
            .zip(&vectors)
            .map(|(key, vector)| (*key, QuantizedVector::quantize(vector).to_bytes()))
            .collect();
        store.put_embeddings(&model, &batch)?;
        let took = batch_started.elapsed();
        sizer.record(batch.len(), took);
        report.embedded += batch.len();
        report.batches += 1;
        report.longest_batch = report.longest_batch.max(took);
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Resolves once `cancelled()` is true, checking every `poll`.
async fn until(cancelled: &(dyn Fn() -> bool + Sync), poll: Duration) {
    while !cancelled() {
        tokio::time::sleep(poll).await;
    }
}

fn check_vectors(vectors: &[Vec<f32>], texts: usize, dims: Option<usize>, model_id: &str) -> Result<()> {
    if vectors.len() != texts {
        bail!("{model_id} returned {} vectors for {texts} texts; nothing of this batch was stored", vectors.len());
    }
    let expected = dims.or_else(|| vectors.first().map(Vec::len)).unwrap_or(0);
    if expected == 0 {
        bail!("{model_id} returned empty vectors");
    }
    if let Some(odd) = vectors.iter().find(|v| v.len() != expected) {
        bail!(
            "{model_id} returned a vector of {} dimensions, expected {expected}; nothing of this batch was stored",
            odd.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_start_at_one_then_fit_the_budget_and_grow_at_most_twofold() {
        let mut sizer = BatchSizer::new(Duration::from_millis(50), 32);
        assert_eq!(sizer.next(), 1);
        sizer.record(1, Duration::from_millis(2));
        assert_eq!(sizer.next(), 2, "twofold at most, though 25 would fit");
        sizer.record(2, Duration::from_millis(4));
        assert_eq!(sizer.next(), 4);
        for _ in 0..10 {
            let n = sizer.next();
            sizer.record(n, Duration::from_millis(2) * n as u32);
        }
        assert_eq!(sizer.next(), 25, "50 ms at 2 ms per item");
        // The machine gets slower: sizes follow.
        for _ in 0..10 {
            let n = sizer.next();
            sizer.record(n, Duration::from_millis(20) * n as u32);
        }
        assert_eq!(sizer.next(), 2);
        // Slower than the budget per item: still one at a time, never zero.
        sizer.record(1, Duration::from_secs(1));
        sizer.record(1, Duration::from_secs(1));
        assert_eq!(sizer.next(), 1);
        let mut fast = BatchSizer::new(Duration::from_millis(50), 8);
        fast.record(4, Duration::ZERO);
        assert_eq!(fast.next(), 8, "capped by max");
        fast.record(0, Duration::from_secs(9));
        assert_eq!(fast.next(), 8, "an empty batch teaches nothing");
    }

    #[test]
    fn vectors_are_checked_before_storing() {
        assert!(check_vectors(&[vec![1.0, 0.0]], 1, Some(2), "m").is_ok());
        assert!(check_vectors(&[vec![1.0, 0.0], vec![0.0, 1.0]], 2, None, "m").is_ok());
        let err = |v: &[Vec<f32>], n, d| check_vectors(v, n, d, "m").unwrap_err().to_string();
        assert!(err(&[vec![1.0]], 2, None).contains("1 vectors for 2 texts"));
        assert!(err(&[vec![1.0]], 1, Some(2)).contains("1 dimensions, expected 2"));
        assert!(err(&[vec![1.0, 2.0], vec![1.0]], 2, None).contains("expected 2"));
        assert!(err(&[vec![]], 1, None).contains("empty"));
    }
}
