//! The on-disk store (sled): file records, content-addressed facts, skip reasons and the ranked graph.
//!
//! Key layout (all keys are bytes; values are postcard-encoded unless noted):
//!
//! | tree      | key                                   | value |
//! |-----------|---------------------------------------|-------|
//! | `meta`    | `schema`                              | `u32` little-endian: `SCHEMA_VERSION` |
//! | `meta`    | `facts-fingerprint`                   | 32 raw bytes: `syntax::facts_fingerprint()` |
//! | `meta`    | `roots`                               | JSON list of the workspace roots |
//! | `meta`    | `graph`                               | `GraphSnapshot` |
//! | `meta`    | `facts-keys`                          | empty: `facts-keys` holds every key of `facts` (absent in a store written before it: filled at open) |
//! | `meta`    | `facts-collected`                     | 32 raw bytes: the digest of the live facts keys when garbage was last collected (absent once facts are written since) |
//! | `files`   | workspace-relative path (UTF-8)       | `FileRecord` |
//! | `facts`   | language byte + 32-byte content hash  | `FileFacts` |
//! | `facts-keys` | the same keys as `facts`           | empty: which facts exist, answered without reading them |
//! | `skipped` | workspace-relative path (UTF-8)       | `SkipReason` as JSON (internally tagged) |
//! | `notes`   | note-kind byte + subject (UTF-8)      | `Note` as JSON (its body is free-form JSON) |
//! | `failures`| note-kind byte + subject (UTF-8)      | `JobFailure` as JSON |
//! | `ledger`  | 8-byte big-endian ns + 4-byte sequence | `LedgerEntry` as JSON |
//! | `conversations` | conversation id (UTF-8)         | `Vec<answer::Turn>` as JSON |
//! | `embeddings` | 32-byte `embed::model_key` + 32-byte content key | raw bytes of `embed::quant::QuantizedVector::to_bytes` (f32 LE scale + one i8 per dimension: 388 bytes at 384 dims) |
//! | `history` | root prefix (UTF-8, empty for one root) + `0x00` + hex commit id | `history::Commit` as JSON |
//! | `history-state` | root prefix (UTF-8) + `0x00`        | `history::RootState` as JSON (HEAD mined, commit order) |
//! | `idle-jobs` | job name (`share`, `semantic`, `history`, `notes`, `adapter`) | `jobs::JobRun` as JSON (the job's last run) |
//! | `adapter` | 32-byte `embed::model_key` + a name (`state`, or `q` + 32-byte content key) | bytes encoded by `embed::adapter` (the trained map and its figures; a training question's vector) |
//!
//! Beside the trees, the folder `search/` holds the search indexes kept for the last snapshot of the
//! store's facts, `<index>-<identity>.bm25` (`SearchFiles`; the layout is `search::Bm25`'s, but for
//! `summary-<identity>.bm25`: what a snapshot needs across every file, `snapshot::Summary`'s).
//!
//! `notes`, `failures`, `ledger`, `conversations` and the last three trees are `RecordTree`s: the
//! store keeps their JSON without knowing the types, which belong to the layers above (`sleep`,
//! `ledger`, `answer`, `history`, `jobs`). Trees added later start empty in an older store: adding
//! one needs no schema change.
//!
//! Guarantees: each batch of indexed files is flushed to disk before the next starts, so a crash
//! loses at most the batch in flight. Facts are written before the file record that points at them, so a crash leaves at
//! most unreferenced facts (collected by the next index), never a record whose facts are missing. A
//! record that does not decode is treated as absent. A store that does not open, has another schema
//! version, or was written by a binary with other queries is rebuilt (or its facts dropped), with a
//! log line, never a crash. The store lives outside the workspace (see `cache_dir`).

use crate::hash::Digest;
use crate::syntax::{FileFacts, Language};
use crate::workspace::SkipReason;
use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Bumped whenever the key layout or a value's encoding changes.
pub const SCHEMA_VERSION: u32 = 2;
/// sled's page cache; the default (1 GiB) would let the cache dominate reverie's memory. sled holds
/// about twice this in memory once full, and writing the vectors of a first embedding pass fills it.
/// The server on Django 5.1.4 (44,666 vectors): peak RSS 307 → 291 MB in the first session (index,
/// embed everything), 280 → 267–272 MB in the next (vectors loaded), questions as fast (p50 25 ms);
/// 8 MB gave 266, 24 MB 272.
const CACHE_CAPACITY_BYTES: u64 = 16 * 1024 * 1024;

const SCHEMA_KEY: &[u8] = b"schema";
const FINGERPRINT_KEY: &[u8] = b"facts-fingerprint";
const ROOTS_KEY: &[u8] = b"roots";
const GRAPH_KEY: &[u8] = b"graph";
const COLLECTED_KEY: &[u8] = b"facts-collected";
const FACTS_KEYS_KEY: &[u8] = b"facts-keys";

/// What the store remembers about one file, to decide without reading it whether it changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub language: Language,
    pub size: u64,
    pub mtime_ns: u64,
    pub content_hash: Digest,
    /// When the file was read (ns since the epoch). An mtime this close to the read time is not
    /// trusted: the file may have changed again within the file system's timestamp granularity.
    pub read_at_ns: u64,
    pub definitions: u32,
    pub references: u32,
    /// `graph::graph_digest` of the file's facts: what the ranked graph depends on.
    pub graph_hash: Digest,
}

/// The ranked file graph, stored with the digest of its inputs (every path and graph hash).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GraphSnapshot {
    pub inputs: Option<Digest>,
    /// Files by PageRank, highest first.
    pub file_ranks: Vec<(String, f64)>,
    pub edges: u64,
}

/// How opening went; `Rebuilt` carries the reason, which callers log and `status` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenOutcome {
    Existing,
    Created,
    Rebuilt(String),
}

pub struct Store {
    db: sled::Db,
    meta: sled::Tree,
    files: sled::Tree,
    facts: sled::Tree,
    /// The keys of `facts` alone: a warm index asks whether each file's facts exist, and sled reads
    /// a key's whole page with the values beside it (a big workspace's every facts, 140 MB).
    facts_keys: sled::Tree,
    skipped: sled::Tree,
    notes: sled::Tree,
    failures: sled::Tree,
    ledger: sled::Tree,
    conversations: sled::Tree,
    embeddings: sled::Tree,
    history: sled::Tree,
    history_state: sled::Tree,
    idle_jobs: sled::Tree,
    adapter: sled::Tree,
    path: PathBuf,
}

/// A job that failed (invalid output twice, or a provider error), kept for `status`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobFailure {
    /// The note key the job would have produced.
    pub key: Digest,
    pub error: String,
    pub at_ns: u64,
}

/// A stable id for a set of workspace roots: the last folder name plus a digest of the full paths.
pub fn workspace_id(roots: &[PathBuf]) -> String {
    let mut builder = crate::hash::DigestBuilder::new();
    for root in roots {
        builder.part(root.to_string_lossy().as_bytes());
    }
    let name = roots
        .first()
        .and_then(|r| r.file_name())
        .map_or_else(|| "root".to_string(), |n| n.to_string_lossy().into_owned());
    let name: String =
        name.chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    format!("{name}-{}", builder.finish().short())
}

/// How long `Store::open` waits for another holder of the store's lock to let go.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether sled refused to open a store because another handle holds its lock.
fn is_locked(err: &anyhow::Error) -> bool {
    format!("{err:#}").contains("could not acquire lock")
}

impl Store {
    /// Opens (or creates, or rebuilds) the store in `dir`.
    ///
    /// A store locked by another process (a server while a command runs, or a store this process
    /// just dropped whose flusher has not let go yet) is waited for up to `LOCK_WAIT`, then refused
    /// with an error that says so: it is never taken for a broken store and rebuilt.
    pub fn open(dir: &Path) -> Result<(Store, OpenOutcome)> {
        let existed = dir.join("db").exists() || dir.join("conf").exists();
        let waiting_since = std::time::Instant::now();
        let opened = loop {
            match Store::try_open(dir) {
                Err(err) if is_locked(&err) && waiting_since.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(err) if is_locked(&err) => anyhow::bail!(
                    "the store at {} is in use by another reverie process (a server or another command); \
                     it was left as it is: try again when that one has finished",
                    dir.display()
                ),
                other => break other,
            }
        };
        match opened {
            Ok(store) => {
                let outcome = store.check_versions()?;
                let outcome = match outcome {
                    OpenOutcome::Existing if !existed => OpenOutcome::Created,
                    other => other,
                };
                Ok((store, outcome))
            }
            Err(err) => {
                let reason = format!("the store at {} could not be opened ({err:#}); rebuilding it", dir.display());
                tracing::warn!("{reason}");
                std::fs::remove_dir_all(dir)
                    .with_context(|| format!("removing the unreadable store at {}", dir.display()))?;
                let store = Store::try_open(dir)?;
                store.check_versions()?;
                Ok((store, OpenOutcome::Rebuilt(reason)))
            }
        }
    }

    fn try_open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the store directory {}", dir.display()))?;
        let config = sled::Config::new().path(dir).cache_capacity(CACHE_CAPACITY_BYTES);
        // sled has been seen to panic instead of returning an error on some corrupt files.
        let db = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || config.open()))
            .map_err(|_| anyhow::anyhow!("sled panicked while opening it"))?
            .context("sled refused to open it")?;
        let open_tree = |name: &str| db.open_tree(name).with_context(|| format!("opening tree {name}"));
        Ok(Store {
            meta: open_tree("meta")?,
            files: open_tree("files")?,
            facts: open_tree("facts")?,
            facts_keys: open_tree("facts-keys")?,
            skipped: open_tree("skipped")?,
            notes: open_tree("notes")?,
            failures: open_tree("failures")?,
            ledger: open_tree("ledger")?,
            conversations: open_tree("conversations")?,
            embeddings: open_tree("embeddings")?,
            history: open_tree("history")?,
            history_state: open_tree("history-state")?,
            idle_jobs: open_tree("idle-jobs")?,
            adapter: open_tree("adapter")?,
            db,
            path: dir.to_path_buf(),
        })
    }

    /// Checks the schema version and facts fingerprint, clearing what no longer applies.
    fn check_versions(&self) -> Result<OpenOutcome> {
        let mut outcome = OpenOutcome::Existing;
        match self.meta.get(SCHEMA_KEY)? {
            Some(v) if v.as_ref() == SCHEMA_VERSION.to_le_bytes() => {}
            Some(v) => {
                let reason = format!(
                    "the store at {} has schema {:?}, this reverie uses {SCHEMA_VERSION}; rebuilding it",
                    self.path.display(),
                    v.as_ref()
                );
                tracing::warn!("{reason}");
                self.clear_all()?;
                outcome = OpenOutcome::Rebuilt(reason);
            }
            None => {
                if !self.files.is_empty() || !self.facts.is_empty() {
                    let reason = format!("the store at {} has no schema version; rebuilding it", self.path.display());
                    tracing::warn!("{reason}");
                    self.clear_all()?;
                    outcome = OpenOutcome::Rebuilt(reason);
                }
            }
        }
        self.meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_le_bytes())?;
        if !self.meta.contains_key(FACTS_KEYS_KEY)? {
            // A store written before `facts-keys`: its keys once, from the facts.
            self.facts_keys.clear()?;
            let mut keys = sled::Batch::default();
            for key in self.facts.iter().keys() {
                keys.insert(key?, &[]);
            }
            self.facts_keys.apply_batch(keys)?;
            self.meta.insert(FACTS_KEYS_KEY, &[])?;
        }
        let fingerprint = crate::syntax::facts_fingerprint();
        if self.meta.get(FINGERPRINT_KEY)?.as_deref() != Some(&fingerprint.0[..]) {
            if !self.facts.is_empty() {
                tracing::info!("fact extraction changed since the last index; facts will be re-extracted");
            }
            self.facts.clear()?;
            self.facts_keys.clear()?;
            self.meta.remove(GRAPH_KEY)?;
            self.meta.insert(FINGERPRINT_KEY, &fingerprint.0[..])?;
        }
        Ok(outcome)
    }

    fn clear_all(&self) -> Result<()> {
        for tree in [
            &self.meta,
            &self.files,
            &self.facts,
            &self.facts_keys,
            &self.skipped,
            &self.notes,
            &self.failures,
            &self.ledger,
            &self.conversations,
            &self.embeddings,
            &self.history,
            &self.history_state,
            &self.idle_jobs,
            &self.adapter,
        ] {
            tree.clear()?;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn set_roots(&self, roots: &[PathBuf]) -> Result<()> {
        let roots: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
        if self.roots()? != roots {
            self.meta.insert(ROOTS_KEY, serde_json::to_vec(&roots)?)?;
        }
        Ok(())
    }

    pub fn roots(&self) -> Result<Vec<String>> {
        Ok(match self.meta.get(ROOTS_KEY)? {
            Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            None => Vec::new(),
        })
    }

    pub fn file_record(&self, key: &str) -> Result<Option<FileRecord>> {
        Ok(self.files.get(key.as_bytes())?.and_then(|bytes| decode(&bytes, "file record", key)))
    }

    /// Every file record, sorted by key.
    pub fn file_records(&self) -> Result<Vec<(String, FileRecord)>> {
        let mut records = Vec::new();
        for item in self.files.iter() {
            let (key, value) = item?;
            let key = String::from_utf8_lossy(&key).into_owned();
            if let Some(record) = decode(&value, "file record", &key) {
                records.push((key, record));
            }
        }
        Ok(records)
    }

    pub fn has_facts(&self, language: Language, hash: &Digest) -> Result<bool> {
        Ok(self.facts_keys.contains_key(facts_key(language, hash))?)
    }

    /// The facts of `hash`. Facts that do not decode are deleted, so the next index extracts them
    /// again, and reported as absent.
    pub fn facts(&self, language: Language, hash: &Digest) -> Result<Option<FileFacts>> {
        let facts = self.facts_reader().facts(language, hash)?;
        if facts.is_none() {
            self.facts_keys.remove(facts_key(language, hash))?;
            self.facts.remove(facts_key(language, hash))?;
        }
        Ok(facts)
    }

    /// A handle that reads facts by content from any thread, for as long as it is kept (a
    /// snapshot reads a file's facts when a question first needs them: `snapshot::FactsSource`).
    pub fn facts_reader(&self) -> FactsReader {
        FactsReader { facts: self.facts.clone() }
    }

    /// Writes a batch of indexed files: their facts first, then their records (see the module docs).
    pub fn write_indexed(&self, batch: &[(String, FileRecord, &FileFacts)]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut facts = sled::Batch::default();
        let mut facts_keys = sled::Batch::default();
        let mut files = sled::Batch::default();
        let mut unskip = sled::Batch::default();
        // Facts written from here may be left unreferenced (by a crash, or a file that changes
        // again): the next collection walks them.
        self.meta.remove(COLLECTED_KEY)?;
        for (key, record, file_facts) in batch {
            let content = facts_key(record.language, &record.content_hash);
            facts.insert(content.to_vec(), postcard::to_stdvec(file_facts)?);
            facts_keys.insert(content.to_vec(), &[]);
            files.insert(key.as_bytes(), postcard::to_stdvec(record)?);
            unskip.remove(key.as_bytes());
        }
        // Facts, then their keys, then the records that point at them.
        self.facts.apply_batch(facts)?;
        self.facts_keys.apply_batch(facts_keys)?;
        self.files.apply_batch(files)?;
        self.skipped.apply_batch(unskip)?;
        // Durable per batch: a crash loses at most the batch in flight, never finished work.
        self.flush()
    }

    /// Updates records whose file was confirmed unchanged (same bytes, new mtime).
    pub fn write_records(&self, batch: &[(String, FileRecord)]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut files = sled::Batch::default();
        for (key, record) in batch {
            files.insert(key.as_bytes(), postcard::to_stdvec(record)?);
        }
        self.files.apply_batch(files)?;
        Ok(())
    }

    pub fn remove_files(&self, keys: &[String]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut files = sled::Batch::default();
        for key in keys {
            files.remove(key.as_bytes());
        }
        self.files.apply_batch(files)?;
        Ok(())
    }

    /// Replaces the skip list with `skipped`, removing their file records.
    pub fn replace_skipped(&self, skipped: &[crate::workspace::Skipped]) -> Result<()> {
        if self.skipped()? == skipped {
            return Ok(());
        }
        self.skipped.clear()?;
        let mut batch = sled::Batch::default();
        let mut files = sled::Batch::default();
        for skip in skipped {
            batch.insert(skip.key.as_bytes(), serde_json::to_vec(&skip.reason)?);
            files.remove(skip.key.as_bytes());
        }
        self.skipped.apply_batch(batch)?;
        self.files.apply_batch(files)?;
        Ok(())
    }

    /// Records or clears the skip reason of one file.
    pub fn set_skipped(&self, key: &str, reason: Option<&SkipReason>) -> Result<()> {
        match reason {
            Some(reason) => {
                self.skipped.insert(key.as_bytes(), serde_json::to_vec(reason)?)?;
                self.files.remove(key.as_bytes())?;
            }
            None => {
                self.skipped.remove(key.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Keys of file records under the directory `prefix` (a key without the trailing `/`).
    pub fn keys_under(&self, prefix: &str) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        for key in self.files.scan_prefix(format!("{prefix}/").as_bytes()).keys() {
            keys.push(String::from_utf8_lossy(&key?).into_owned());
        }
        Ok(keys)
    }

    pub fn skipped(&self) -> Result<Vec<crate::workspace::Skipped>> {
        let mut skipped = Vec::new();
        for item in self.skipped.iter() {
            let (key, value) = item?;
            let key = String::from_utf8_lossy(&key).into_owned();
            match serde_json::from_slice::<SkipReason>(&value) {
                Ok(reason) => skipped.push(crate::workspace::Skipped { key, reason }),
                Err(err) => tracing::warn!("ignoring an undecodable skip reason for {key} in the store ({err})"),
            }
        }
        Ok(skipped)
    }

    /// Deletes facts that no file record points at any more. Returns how many were deleted. When no
    /// facts were written since the last collection and the records point at the same facts, there
    /// is nothing to collect and the facts are not walked (reading every value: a big workspace's
    /// hundreds of megabytes, on every warm index).
    pub fn collect_garbage(&self) -> Result<usize> {
        let mut live: Vec<[u8; 33]> =
            self.file_records()?.iter().map(|(_, record)| facts_key(record.language, &record.content_hash)).collect();
        live.sort_unstable();
        live.dedup();
        let mut digest = crate::hash::DigestBuilder::new();
        live.iter().for_each(|key| {
            digest.part(key);
        });
        let digest = digest.finish();
        if self.meta.get(COLLECTED_KEY)?.as_deref() == Some(&digest.0[..]) {
            return Ok(0);
        }
        let live: std::collections::HashSet<[u8; 33]> = live.into_iter().collect();
        let mut batch = sled::Batch::default();
        let mut removed = 0;
        // The keys, not the facts: a walk over `facts` reads every value.
        for key in self.facts_keys.iter().keys() {
            let key = key?;
            if key.len() != 33 || !live.contains(&key[..]) {
                batch.remove(key);
                removed += 1;
            }
        }
        if removed > 0 {
            // The keys first: facts without a key are never taken for present.
            self.facts_keys.apply_batch(batch.clone())?;
            self.facts.apply_batch(batch)?;
        }
        self.meta.insert(COLLECTED_KEY, &digest.0[..])?;
        Ok(removed)
    }

    pub fn facts_count(&self) -> usize {
        self.facts_keys.len()
    }

    pub fn graph(&self) -> Result<GraphSnapshot> {
        Ok(self.meta.get(GRAPH_KEY)?.and_then(|bytes| decode(&bytes, "graph", "graph")).unwrap_or_default())
    }

    pub fn set_graph(&self, graph: &GraphSnapshot) -> Result<()> {
        self.meta.insert(GRAPH_KEY, postcard::to_stdvec(graph)?)?;
        Ok(())
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// Makes everything written so far durable.
    pub fn flush(&self) -> Result<()> {
        self.db.flush().context("flushing the store to disk")?;
        Ok(())
    }
}

/// Reads facts by language and content hash (`Store::facts_reader`).
#[derive(Clone)]
pub struct FactsReader {
    facts: sled::Tree,
}

impl FactsReader {
    /// The facts of `hash`; `None` when the store has none or they do not decode (logged).
    pub fn facts(&self, language: Language, hash: &Digest) -> Result<Option<FileFacts>> {
        let Some(bytes) = self.facts.get(facts_key(language, hash))? else { return Ok(None) };
        Ok(decode(&bytes, "facts", &hash.short()))
    }
}

/// The search indexes kept for one snapshot of this store's facts (`search::stored`): files in the
/// store's `search/` folder named `<index>-<identity>.bm25`, mapped in place when read. A file is
/// written whole under a temporary name and then renamed, and never changed after, so a reader sees
/// a whole file or none, and a mapping stays valid while the next identity's file replaces it;
/// writing one removes the same index's files of other identities.
pub struct SearchFiles {
    dir: PathBuf,
    identity: Digest,
}

impl Store {
    /// Where the search indexes of the snapshot whose identity is `identity` are kept.
    pub fn search_files(&self, identity: Digest) -> SearchFiles {
        SearchFiles { dir: self.path.join("search"), identity }
    }
}

impl SearchFiles {
    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}-{}.bm25", self.identity.to_hex()))
    }
}

impl crate::search::IndexFiles for SearchFiles {
    fn read(&self, name: &str) -> Option<crate::search::IndexBytes> {
        let file = std::fs::File::open(self.path_of(name)).ok()?;
        // SAFETY: the file is never written after its rename into place (a new index is a new
        // file), so the mapped bytes do not change under the reader. The bytes are checked before
        // use (`Bm25::from_bytes`).
        match unsafe { memmap2::Mmap::map(&file) } {
            Ok(map) => Some(Box::new(map)),
            Err(err) => {
                tracing::warn!("the kept search index {name} could not be mapped ({err}); rebuilding it");
                None
            }
        }
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        let path = self.path_of(name);
        let temporary = self.dir.join(format!(".{name}-{}.tmp", std::process::id()));
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(&temporary, bytes))
            .and_then(|()| std::fs::rename(&temporary, &path));
        if let Err(err) = written {
            let _ = std::fs::remove_file(&temporary);
            tracing::warn!("could not keep the search index {name} in {} ({err})", self.dir.display());
            return;
        }
        let prefix = format!("{name}-");
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let other = entry.path();
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            let same_index = file_name.strip_prefix(&prefix).is_some_and(|rest| !rest.contains('-'));
            if other != path && same_index && file_name.ends_with(".bm25") {
                let _ = std::fs::remove_file(other);
            }
        }
    }
}

/// The trees that hold JSON records whose type and key belong to a higher layer: the store keeps
/// bytes and JSON and knows nothing of notes, ledger entries or conversations. Their owners give the
/// typed view (`sleep::NoteStore`, `ledger::LedgerStore`, `answer::ConversationStore`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordTree {
    /// Notes by note-kind byte + subject.
    Notes,
    /// Failed jobs by note-kind byte + subject.
    Failures,
    /// Ledger entries by 8-byte big-endian ns + 4-byte sequence.
    Ledger,
    /// Conversations by id.
    Conversations,
    /// Mined commits by root prefix + `0x00` + hex id.
    History,
    /// What the history miner last did, by root prefix.
    HistoryState,
    /// Each idle job's last run, by job name.
    IdleJobs,
}

impl Store {
    fn record_tree(&self, tree: RecordTree) -> &sled::Tree {
        match tree {
            RecordTree::Notes => &self.notes,
            RecordTree::Failures => &self.failures,
            RecordTree::Ledger => &self.ledger,
            RecordTree::Conversations => &self.conversations,
            RecordTree::History => &self.history,
            RecordTree::HistoryState => &self.history_state,
            RecordTree::IdleJobs => &self.idle_jobs,
        }
    }

    /// Writes `value` as JSON under `key`, replacing what was there.
    pub fn put_record<T: Serialize>(&self, tree: RecordTree, key: &[u8], value: &T) -> Result<()> {
        self.record_tree(tree).insert(key, serde_json::to_vec(value)?)?;
        Ok(())
    }

    /// The record under `key`; an undecodable one is logged and treated as absent.
    pub fn get_record<T: DeserializeOwned>(&self, tree: RecordTree, key: &[u8]) -> Result<Option<T>> {
        Ok(self
            .record_tree(tree)
            .get(key)?
            .and_then(|bytes| decode_json(&bytes, tree.what(), &String::from_utf8_lossy(key))))
    }

    /// Every record with a key at or after `from`, in key order, with its key (undecodable ones
    /// skipped).
    pub fn records_from<T: DeserializeOwned>(&self, tree: RecordTree, from: &[u8]) -> Result<Vec<(Vec<u8>, T)>> {
        let mut out = Vec::new();
        for item in self.record_tree(tree).range(from.to_vec()..) {
            let (key, value) = item?;
            if let Some(record) = decode_json(&value, tree.what(), &String::from_utf8_lossy(&key)) {
                out.push((key.to_vec(), record));
            }
        }
        Ok(out)
    }

    pub fn remove_record(&self, tree: RecordTree, key: &[u8]) -> Result<()> {
        self.record_tree(tree).remove(key)?;
        Ok(())
    }

    /// Writes many records at once (one sled batch: all or none).
    pub fn put_records<T: Serialize>(&self, tree: RecordTree, records: &[(Vec<u8>, T)]) -> Result<()> {
        let mut batch = sled::Batch::default();
        for (key, value) in records {
            batch.insert(key.as_slice(), serde_json::to_vec(value)?);
        }
        self.record_tree(tree).apply_batch(batch)?;
        Ok(())
    }

    /// Removes many records at once.
    pub fn remove_records(&self, tree: RecordTree, keys: &[Vec<u8>]) -> Result<()> {
        let mut batch = sled::Batch::default();
        for key in keys {
            batch.remove(key.as_slice());
        }
        self.record_tree(tree).apply_batch(batch)?;
        Ok(())
    }

    /// The keys that start with `prefix`, in key order (values are not decoded).
    pub fn record_keys(&self, tree: RecordTree, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut keys = Vec::new();
        for key in self.record_tree(tree).scan_prefix(prefix).keys() {
            keys.push(key?.to_vec());
        }
        Ok(keys)
    }

    /// Every record whose key starts with `prefix`, in key order, with its key (undecodable ones
    /// skipped).
    pub fn records_with_prefix<T: DeserializeOwned>(
        &self,
        tree: RecordTree,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, T)>> {
        let mut out = Vec::new();
        for item in self.record_tree(tree).scan_prefix(prefix) {
            let (key, value) = item?;
            if let Some(record) = decode_json(&value, tree.what(), &String::from_utf8_lossy(&key)) {
                out.push((key.to_vec(), record));
            }
        }
        Ok(out)
    }

    /// Bytes of keys and values a record tree holds (for `status` and measurements).
    pub fn record_bytes(&self, tree: RecordTree) -> u64 {
        self.record_tree(tree).iter().filter_map(|item| item.ok()).map(|(k, v)| (k.len() + v.len()) as u64).sum()
    }

    /// A number that grows with every call, also across restarts (for keys that must not collide).
    pub fn next_sequence(&self) -> Result<u64> {
        Ok(self.db.generate_id()?)
    }
}

/// The embeddings of the semantic index: one vector (opaque bytes, encoded by `embed::quant`) per
/// (model key, content key). Vectors of different models never meet: every call names the model.
impl Store {
    /// Stores a batch of one model's vectors, durably (the idle pass is resumable: a kill loses at
    /// most the batch in flight).
    pub fn put_embeddings(&self, model: &Digest, batch: &[(Digest, Vec<u8>)]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tree = sled::Batch::default();
        for (item, vector) in batch {
            tree.insert(&embedding_key(model, item)[..], vector.as_slice());
        }
        self.embeddings.apply_batch(tree)?;
        self.flush()
    }

    /// The stored bytes for each of `items`, in order (`None` when absent), read as the iterator is
    /// consumed: a caller building an index from them never holds them all at once.
    pub fn embeddings<'a>(
        &'a self,
        model: &'a Digest,
        items: &'a [Digest],
    ) -> impl Iterator<Item = Result<Option<sled::IVec>>> + 'a {
        items.iter().map(move |item| Ok(self.embeddings.get(embedding_key(model, item))?))
    }

    /// Whether a vector is stored for `item`.
    /// Whether any model's vector is stored (asking costs nothing; loading an embedder does).
    pub fn has_embeddings(&self) -> bool {
        !self.embeddings.is_empty()
    }

    pub fn has_embedding(&self, model: &Digest, item: &Digest) -> Result<bool> {
        Ok(self.embeddings.contains_key(embedding_key(model, item))?)
    }

    /// Every vector of `model` with its content key, in key order.
    pub fn embeddings_of_model(&self, model: &Digest) -> Result<Vec<(Digest, Vec<u8>)>> {
        let mut out = Vec::new();
        for item in self.embeddings.scan_prefix(model.0) {
            let (key, value) = item?;
            if let Ok(content) = <[u8; 32]>::try_from(&key[32..]) {
                out.push((Digest(content), value.to_vec()));
            }
        }
        Ok(out)
    }

    /// How many vectors `model` has.
    pub fn embedding_count(&self, model: &Digest) -> usize {
        self.embeddings.scan_prefix(model.0).count()
    }

    /// Deletes every vector of `model` (after a model change). Returns how many were deleted.
    pub fn drop_embeddings(&self, model: &Digest) -> Result<usize> {
        let mut batch = sled::Batch::default();
        let mut removed = 0;
        for key in self.embeddings.scan_prefix(model.0).keys() {
            batch.remove(key?);
            removed += 1;
        }
        self.embeddings.apply_batch(batch)?;
        Ok(removed)
    }

    /// Keeps only the vectors of `model` whose content key is in `live`: vectors of other models and
    /// of content that no longer exists are deleted (the embeddings' garbage collection, run after
    /// an index). Returns how many were deleted.
    pub fn retain_embeddings(&self, model: &Digest, live: &std::collections::HashSet<Digest>) -> Result<usize> {
        let mut batch = sled::Batch::default();
        let mut removed = 0;
        for key in self.embeddings.iter().keys() {
            let key = key?;
            let keep = key.len() == 64
                && key[..32] == model.0
                && <[u8; 32]>::try_from(&key[32..]).is_ok_and(|item| live.contains(&Digest(item)));
            if !keep {
                batch.remove(key);
                removed += 1;
            }
        }
        if removed > 0 {
            self.embeddings.apply_batch(batch)?;
        }
        Ok(removed)
    }
}

/// The semantic adapter's values (opaque bytes, encoded by `embed::adapter`), keyed by the embedding
/// model's key and a name: another model's values are never read, and `retain_adapter` drops them.
impl Store {
    pub fn put_adapter_value(&self, model: &Digest, name: &[u8], value: &[u8]) -> Result<()> {
        self.adapter.insert(adapter_key(model, name), value)?;
        Ok(())
    }

    /// Writes many values at once (one sled batch: all or none).
    pub fn put_adapter_values(&self, model: &Digest, values: &[(Vec<u8>, Vec<u8>)]) -> Result<()> {
        let mut batch = sled::Batch::default();
        for (name, value) in values {
            batch.insert(adapter_key(model, name), value.as_slice());
        }
        self.adapter.apply_batch(batch)?;
        Ok(())
    }

    pub fn adapter_value(&self, model: &Digest, name: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.adapter.get(adapter_key(model, name))?.map(|v| v.to_vec()))
    }

    /// Deletes the adapter values of every model but `model` (after a model change). Returns how many.
    pub fn retain_adapter(&self, model: &Digest) -> Result<usize> {
        let mut batch = sled::Batch::default();
        let mut removed = 0;
        for key in self.adapter.iter().keys() {
            let key = key?;
            if !key.starts_with(&model.0) {
                batch.remove(key);
                removed += 1;
            }
        }
        if removed > 0 {
            self.adapter.apply_batch(batch)?;
        }
        Ok(removed)
    }
}

fn adapter_key(model: &Digest, name: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(32 + name.len());
    key.extend_from_slice(&model.0);
    key.extend_from_slice(name);
    key
}

fn embedding_key(model: &Digest, item: &Digest) -> [u8; 64] {
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(&model.0);
    key[32..].copy_from_slice(&item.0);
    key
}

impl RecordTree {
    fn what(self) -> &'static str {
        match self {
            RecordTree::Notes => "note",
            RecordTree::Failures => "failure",
            RecordTree::Ledger => "ledger entry",
            RecordTree::Conversations => "conversation",
            RecordTree::History => "commit",
            RecordTree::HistoryState => "history state",
            RecordTree::IdleJobs => "idle job run",
        }
    }
}

fn decode_json<T: DeserializeOwned>(bytes: &[u8], what: &str, key: &str) -> Option<T> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Some(value),
        Err(err) => {
            tracing::warn!("ignoring an undecodable {what} {key} in the store ({err})");
            None
        }
    }
}

fn facts_key(language: Language, hash: &Digest) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = language as u8;
    key[1..].copy_from_slice(&hash.0);
    key
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str, key: &str) -> Option<T> {
    match postcard::from_bytes(bytes) {
        Ok(value) => Some(value),
        Err(err) => {
            tracing::warn!("ignoring an undecodable {what} for {key} in the store ({err}); it will be rebuilt");
            None
        }
    }
}
