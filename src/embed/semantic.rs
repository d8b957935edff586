//! The semantic channel: which definitions get a vector, how a vector finds its definition again,
//! and the question-time cosine search over a snapshot.
//!
//! A definition's vector is keyed by [`definition_key`]: its file's path and content digest and its
//! place in the file. The key is computed from facts alone, so joining the stored vectors with a
//! snapshot ([`SemanticIndex::load`]) reads no file, and any edit of a file re-embeds that file's
//! definitions (and only those). The text embedded is [`super::definition_text`], read from the file
//! by the idle pass ([`file_items`]); the model (and its `max_tokens`) keys the vectors above this.
//!
//! The idle pass takes files in [`embedding_order`]: the project's own central code first (the file
//! prior times its PageRank), vendored code last. The learned context's passages (notes: the
//! questions a user would ask, the symptoms they would report) are embedded first — they are few and
//! cost tokens to write — under their passage key (`answer::LearnedContext::embedding_items`), which
//! changes whenever the note is rewritten, so a bug report can meet the note written for it.

use super::{definition_text, model_key, quant};
use crate::hash::Digest;
use crate::search::prior;
use crate::snapshot::{DefinitionAt, Snapshot};
use crate::store::Store;
use crate::syntax::FileFacts;
use anyhow::Result;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Nearest definitions a question takes into the fusion (the server's and the CLI's).
pub const NEAREST: usize = 100;

pub use super::definition_key;

/// What the idle pass embeds for one file: `(key, text)` per definition, given the file's source.
pub fn file_items(path: &str, facts: &FileFacts, source: &str, max_tokens: usize) -> Vec<(Digest, String)> {
    facts
        .definitions
        .iter()
        .enumerate()
        .map(|(i, def)| {
            let parent = def.parent.and_then(|p| facts.definitions.get(p as usize));
            let text = definition_text(path, def, parent, source, max_tokens);
            (definition_key(path, &facts.content_hash, i as u32), text)
        })
        .collect()
}

/// Every definition key of `snapshot` and every passage key of `passages` (what garbage collection
/// keeps).
pub fn live_keys(snapshot: &Snapshot, passages: &[(Digest, String)]) -> HashSet<Digest> {
    snapshot
        .shapes()
        .flat_map(|(path, shape)| (0..shape.definitions).map(move |i| definition_key(path, &shape.content_hash, i)))
        .chain(passages.iter().map(|(key, _)| *key))
        .collect()
}

/// Files with definitions, most valuable first: the file prior (vendored, tests, docs count less)
/// times the file's PageRank, then by path.
pub fn embedding_order(snapshot: &Snapshot) -> Vec<Arc<str>> {
    let mut files: Vec<(f64, Arc<str>)> = snapshot
        .shapes()
        .filter(|(_, shape)| shape.definitions > 0)
        .map(|(path, _)| (prior::file_weight(path) * (snapshot.file_rank(path) + 1e-9), path.clone()))
        .collect();
    files.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    files.into_iter().map(|(_, path)| path).collect()
}

/// Files of `order` with a definition whose vector `store` lacks for `model_id`.
pub fn files_pending(snapshot: &Snapshot, store: &Store, model_id: &str, order: &[Arc<str>]) -> Result<Vec<Arc<str>>> {
    let model = model_key(model_id);
    let shapes: HashMap<&str, &crate::snapshot::FileShape> = snapshot.shapes().map(|(k, s)| (&**k, s)).collect();
    let mut pending = Vec::new();
    for path in order {
        let Some(shape) = shapes.get(&**path) else { continue };
        for i in 0..shape.definitions {
            if !store.has_embedding(&model, &definition_key(path, &shape.content_hash, i))? {
                pending.push(path.clone());
                break;
            }
        }
    }
    Ok(pending)
}

/// What one idle pass over a snapshot did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PassReport {
    /// Files whose definitions were all embedded by the end of the pass.
    pub files_done: usize,
    /// Files that still lack a vector (the pass was cancelled, or a file could not be read).
    pub files_left: usize,
    pub embedded: usize,
    /// Of `embedded`, the learned context's passages.
    pub passages: usize,
    pub cancelled: bool,
    /// Vectors dropped at the end of a complete pass: other models', and those of definitions that
    /// no longer exist (an edited file's old version).
    pub dropped: usize,
    pub elapsed: std::time::Duration,
}

/// Files embedded together: enough items for full batches, few enough that a cancelled pass loses
/// little reading.
const FILES_PER_ROUND: usize = 8;

/// Embeds every passage of `passages` (`(key, text)`: the learned context's) and every definition of
/// `snapshot` that has no vector yet for `embedder`, the definitions in [`embedding_order`], reading
/// each file with `source_of` (the open buffer or the disk). Secret-looking
/// files are not embedded at all and secret-looking strings are redacted before any text reaches the
/// embedder (a remote one sends it away). Stops when `cancelled` turns true (within one batch: see
/// [`super::run`]); what was stored stays, so the next pass resumes. `on_progress(done, total)`
/// is called after each round of files.
pub async fn embed_snapshot(
    snapshot: &Snapshot,
    passages: &[(Digest, String)],
    store: &Store,
    embedder: &dyn super::Embedder,
    source_of: &(dyn Fn(&str) -> Option<String> + Sync),
    cancelled: &(dyn Fn() -> bool + Sync),
    on_progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<PassReport> {
    let started = std::time::Instant::now();
    let model_id = embedder.model_id();
    let model = model_key(&model_id);
    let order = embedding_order(snapshot);
    let order: Vec<Arc<str>> =
        order.into_iter().filter(|path| !crate::redact::is_secret_file(std::path::Path::new(&**path))).collect();
    let pending = files_pending(snapshot, store, &model_id, &order)?;
    let mut report = PassReport { files_left: pending.len(), ..PassReport::default() };
    let mut new_passages = Vec::new();
    for (key, text) in passages {
        if !store.has_embedding(&model, key)? {
            new_passages.push((*key, crate::redact::redact(text).0));
        }
    }
    if !new_passages.is_empty() {
        let pass = super::run::embed_pending(&new_passages, embedder, store, cancelled).await?;
        report.embedded += pass.embedded;
        report.passages += pass.embedded;
        if pass.cancelled {
            report.cancelled = true;
        }
    }
    for round in pending.chunks(FILES_PER_ROUND) {
        if report.cancelled {
            break;
        }
        if cancelled() {
            report.cancelled = true;
            break;
        }
        let mut items = Vec::new();
        let mut read = 0;
        for path in round {
            // Not kept: the pass reads every file once, a question reads a few.
            let (Some(facts), Some(source)) = (snapshot.files.fetch(path), source_of(path)) else { continue };
            read += 1;
            for (key, text) in file_items(path, &facts, &source, embedder.max_tokens()) {
                items.push((key, crate::redact::redact(&text).0));
            }
        }
        let pass = super::run::embed_pending(&items, embedder, store, cancelled).await?;
        report.embedded += pass.embedded;
        if pass.cancelled {
            report.cancelled = true;
            break;
        }
        report.files_done += read;
        report.files_left -= read;
        on_progress(report.files_done, pending.len());
    }
    if !report.cancelled && report.files_left == 0 {
        report.dropped = store.retain_embeddings(&model, &live_keys(snapshot, passages))?;
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// What lies near a question: definitions and learned passages, best first, with their cosine.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Nearby {
    pub definitions: Vec<(DefinitionAt, f32)>,
    pub passages: Vec<(Digest, f32)>,
}

/// The vectors of one model joined with a snapshot's definitions and the learned context's
/// passages, for cosine search.
pub struct SemanticIndex {
    model_id: String,
    flat: quant::FlatIndex<DefinitionAt>,
    definitions: usize,
    passages: quant::FlatIndex<Digest>,
    /// The project's adopted map of questions ([`super::adapter`]), if any.
    adapter: Option<super::adapter::Adapter>,
}

impl SemanticIndex {
    /// The stored vectors of `model_id` that belong to a definition of `snapshot` or to one of
    /// `passage_keys` (stale ones are left out; the pass re-embeds them). Reads the store, no file.
    pub fn load(store: &Store, model_id: &str, snapshot: &Snapshot, passage_keys: &[Digest]) -> Result<SemanticIndex> {
        let model = model_key(model_id);
        let mut keys = Vec::new();
        let mut sites = Vec::new();
        for (path, shape) in snapshot.shapes() {
            for i in 0..shape.definitions {
                keys.push(definition_key(path, &shape.content_hash, i));
                sites.push((path.clone(), i));
            }
        }
        let definitions = keys.len();
        // Rows are added as they are read, into room for every definition (a workspace embedded
        // once has them all): no doubling, no second copy of the index while it loads.
        let mut flat = None;
        for (site, bytes) in sites.into_iter().zip(store.embeddings(&model, &keys)) {
            let Some(bytes) = bytes? else { continue };
            let dims = flat.as_ref().map(quant::FlatIndex::dims);
            let Some(vector) = quant::QuantizedVector::from_bytes(&bytes, dims) else { continue };
            flat.get_or_insert_with(|| quant::FlatIndex::with_capacity(vector.dims(), definitions)).push(site, &vector);
        }
        let mut passages: Option<quant::FlatIndex<Digest>> = None;
        for (key, bytes) in passage_keys.iter().zip(store.embeddings(&model, passage_keys)) {
            let dims = flat.as_ref().map(quant::FlatIndex::dims).or(passages.as_ref().map(quant::FlatIndex::dims));
            let Some(vector) = bytes?.and_then(|b| quant::QuantizedVector::from_bytes(&b, dims)) else { continue };
            passages
                .get_or_insert_with(|| quant::FlatIndex::with_capacity(vector.dims(), passage_keys.len()))
                .push(*key, &vector);
        }
        let mut flat = flat.unwrap_or_else(|| quant::FlatIndex::new(0));
        let mut passages = passages.unwrap_or_else(|| quant::FlatIndex::new(0));
        flat.shrink_to_fit();
        passages.shrink_to_fit();
        let adapter = super::adapter::adopted(store, model_id)?.filter(|a| a.dims == flat.dims());
        Ok(SemanticIndex { model_id: model_id.to_string(), flat, definitions, passages, adapter })
    }

    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Definitions with a vector.
    pub fn len(&self) -> usize {
        self.flat.len()
    }

    /// Nothing to search: no definition and no passage has a vector.
    pub fn is_empty(&self) -> bool {
        self.flat.is_empty() && self.passages.is_empty()
    }

    /// Definitions of the snapshot, with a vector or not.
    pub fn definitions(&self) -> usize {
        self.definitions
    }

    /// The `k` definitions nearest to `query`, best first, with their cosine.
    pub fn search(&self, query: &[f32], k: usize) -> Vec<(DefinitionAt, f32)> {
        if self.flat.is_empty() || query.len() != self.flat.dims() {
            return Vec::new();
        }
        self.flat.top_k(query, k).into_iter().map(|hit| (hit.key, hit.score)).collect()
    }

    /// The [`NEAREST`] definitions and passages to the question whose vector is `query`; for the
    /// definitions (what the adapter was trained on) the question goes through the project's adopted
    /// adapter when there is one.
    pub fn nearby(&self, query: &[f32]) -> Nearby {
        let mapped = self.adapter.as_ref().map(|a| a.apply(query));
        let definitions = self.search(mapped.as_deref().unwrap_or(query), NEAREST);
        Nearby { definitions, passages: self.search_passages(query, NEAREST) }
    }

    /// [`SemanticIndex::nearby`] in the base model's space: the adopted adapter left out (to measure
    /// what it buys).
    pub fn nearby_base(&self, query: &[f32]) -> Nearby {
        Nearby { definitions: self.search(query, NEAREST), passages: self.search_passages(query, NEAREST) }
    }

    /// Whether questions go through an adopted adapter.
    pub fn adapted(&self) -> bool {
        self.adapter.is_some()
    }

    /// The same index searched with the base model's space (for measuring, or when switched off).
    pub fn without_adapter(mut self) -> SemanticIndex {
        self.adapter = None;
        self
    }

    /// Learned passages with a vector.
    pub fn passages(&self) -> usize {
        self.passages.len()
    }

    /// The `k` learned passages nearest to `query`, by passage key, best first, with their cosine.
    pub fn search_passages(&self, query: &[f32], k: usize) -> Vec<(Digest, f32)> {
        if self.passages.is_empty() || query.len() != self.passages.dims() {
            return Vec::new();
        }
        self.passages.top_k(query, k).into_iter().map(|hit| (hit.key, hit.score)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_change_with_the_file_and_the_place_only() {
        let a = Snapshot::of_python(&[("a.py", "def f():\n    return 1\n\ndef g():\n    return 2\n")]);
        let b = Snapshot::of_python(&[("a.py", "def f():\n    return 1\n\ndef g():\n    return 3\n")]);
        let (fa, fb) = (&a.files["a.py"], &b.files["a.py"]);
        assert_ne!(definition_key("a.py", &fa.content_hash, 0), definition_key("a.py", &fb.content_hash, 0));
        assert_ne!(definition_key("a.py", &fa.content_hash, 0), definition_key("a.py", &fa.content_hash, 1));
        assert_ne!(definition_key("a.py", &fa.content_hash, 0), definition_key("b.py", &fa.content_hash, 0));
        assert_eq!(live_keys(&a, &[]).len(), 2);
        let source = "def f():\n    return 1\n\ndef g():\n    return 2\n";
        let items = file_items("a.py", fa, source, 64);
        assert_eq!(items.len(), 2);
        assert!(items[1].1.starts_with("a.py\ndef g()"), "{}", items[1].1);
    }

    #[test]
    fn the_index_joins_stored_vectors_with_current_definitions_and_searches_them() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path()).unwrap();
        let snap = Snapshot::of_python(&[
            ("a.py", "def f():\n    return 1\n\ndef g():\n    return 2\n"),
            ("b.py", "import os\n"),
        ]);
        assert_eq!(embedding_order(&snap), vec![Arc::<str>::from("a.py")], "files without definitions are skipped");
        let order = embedding_order(&snap);
        assert_eq!(files_pending(&snap, &store, "m", &order).unwrap().len(), 1);
        let facts = &snap.files["a.py"];
        let vector = |v: [f32; 3]| quant::QuantizedVector::quantize(&v).to_bytes();
        store
            .put_embeddings(
                &model_key("m"),
                &[
                    (definition_key("a.py", &facts.content_hash, 0), vector([1.0, 0.0, 0.0])),
                    (definition_key("a.py", &facts.content_hash, 1), vector([0.0, 1.0, 0.0])),
                    (definition_key("gone.py", &facts.content_hash, 0), vector([0.0, 1.0, 0.0])),
                ],
            )
            .unwrap();
        assert!(files_pending(&snap, &store, "m", &order).unwrap().is_empty());
        assert_eq!(files_pending(&snap, &store, "other model", &order).unwrap().len(), 1);
        let passage = Digest::of(b"a passage");
        store.put_embeddings(&model_key("m"), &[(passage, vector([0.0, 0.0, 1.0]))]).unwrap();
        let index = SemanticIndex::load(&store, "m", &snap, &[passage, Digest::of(b"no vector")]).unwrap();
        assert_eq!(index.passages(), 1, "a passage key without a vector is left out");
        assert_eq!(index.search_passages(&[0.0, 0.1, 0.9], 3)[0].0, passage);
        assert_eq!((index.len(), index.definitions()), (2, 2), "a vector of no current definition is left out");
        let hits = index.search(&[0.1, 0.9, 0.0], 5);
        assert_eq!(hits[0].0, (Arc::<str>::from("a.py"), 1));
        assert!(hits[0].1 > hits[1].1);
        assert!(index.search(&[1.0, 0.0], 5).is_empty(), "a query of other dimensions finds nothing");
        assert!(SemanticIndex::load(&store, "other model", &snap, &[]).unwrap().is_empty());
    }

    #[test]
    fn the_most_central_files_are_embedded_first_tests_last() {
        // `core.py` is used by three files, `helpers.py` by one, the leaves by none; a test file
        // using `core` counts less whatever its rank.
        let uses_core = "from pkg.core import Engine\n\ndef run():\n    return Engine().start()\n";
        let snap = Snapshot::of_python(&[
            ("pkg/core.py", "class Engine:\n    def start(self):\n        return 1\n"),
            ("pkg/helpers.py", "from pkg.core import Engine\n\ndef make():\n    return Engine()\n"),
            ("pkg/a.py", uses_core),
            ("pkg/b.py", "from pkg.helpers import make\n\ndef b():\n    return make()\n"),
            ("tests/test_core.py", uses_core),
        ]);
        let order: Vec<String> = embedding_order(&snap).iter().map(|p| p.to_string()).collect();
        assert_eq!(order.len(), 5);
        assert_eq!(order[0], "pkg/core.py", "{order:?}");
        let at = |path: &str| order.iter().position(|p| p == path).unwrap();
        assert!(at("pkg/helpers.py") < at("pkg/b.py"), "{order:?}");
        assert_eq!(order[4], "tests/test_core.py", "{order:?}");
        assert!(snap.file_rank("pkg/core.py") > snap.file_rank("pkg/a.py"));
    }

    /// Counts its texts; every vector points the same way.
    struct Counting(std::sync::atomic::AtomicUsize);

    impl super::super::Embedder for Counting {
        fn model_id(&self) -> String {
            "counting".into()
        }
        fn dims(&self) -> Option<usize> {
            Some(3)
        }
        fn max_batch(&self) -> usize {
            4
        }
        fn max_tokens(&self) -> usize {
            64
        }
        fn abortable(&self) -> bool {
            true
        }
        fn embed<'a>(&'a self, texts: &'a [String]) -> super::super::EmbedFuture<'a> {
            self.0.fetch_add(texts.len(), std::sync::atomic::Ordering::Relaxed);
            Box::pin(async move { Ok(texts.iter().map(|_| vec![1.0, 0.0, 0.0]).collect()) })
        }
    }

    #[tokio::test]
    async fn a_pass_embeds_what_is_missing_skips_secrets_and_drops_what_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path()).unwrap();
        let a = "def f():\n    return 1\n\ndef g():\n    return 2\n";
        let snap = Snapshot::of_python(&[("a.py", a), (".env.py", "def token():\n    return 'x'\n")]);
        let old = Snapshot::of_python(&[("a.py", "def f():\n    return 0\n")]);
        let stale = definition_key("a.py", &old.files["a.py"].content_hash, 0);
        store.put_embeddings(&model_key("counting"), &[(stale, vec![0; 7])]).unwrap();
        let embedder = Counting(Default::default());
        let read = |key: &str| {
            (key == "a.py").then(|| a.to_string()).or_else(|| Some("def token():\n    return 'x'\n".into()))
        };
        let progress = std::sync::Mutex::new(Vec::new());
        let on_progress = |done, total| progress.lock().unwrap().push((done, total));
        let report = embed_snapshot(&snap, &[], &store, &embedder, &read, &|| false, &on_progress).await.unwrap();
        assert_eq!((report.embedded, report.files_done, report.files_left, report.dropped), (2, 1, 0, 1), "{report:?}");
        assert_eq!(*progress.lock().unwrap(), vec![(1, 1)]);
        assert!(!store.has_embedding(&model_key("counting"), &stale).unwrap(), "the old version's vector is gone");
        // A second pass has nothing to do.
        let again = embed_snapshot(&snap, &[], &store, &embedder, &read, &|| false, &|_, _| {}).await.unwrap();
        assert_eq!((again.embedded, again.files_left), (0, 0));
        assert_eq!(embedder.0.load(std::sync::atomic::Ordering::Relaxed), 2, "secret-looking files are never embedded");
        // Cancelled before it starts: nothing happens and nothing is dropped.
        let edited = Snapshot::of_python(&[("a.py", "def f():\n    return 5\n")]);
        let cancelled = embed_snapshot(&edited, &[], &store, &embedder, &read, &|| true, &|_, _| {}).await.unwrap();
        assert!(cancelled.cancelled && cancelled.files_left == 1 && cancelled.dropped == 0, "{cancelled:?}");
    }
}
