//! Indexing: bring the store's facts in line with the workspace on disk.
//!
//! Walk the roots; trust a file whose size and mtime match its record (unless the mtime is too close
//! to when it was read — then hash it, "hash on doubt"); read and hash the rest; parse only bytes whose
//! facts the store does not hold yet, on all cores; write results in batches as they arrive; drop
//! records of files that are gone and facts nothing points at; re-rank the graph only if what it is
//! built from changed — the set of files, or a file's definition names or references
//! (`graph::graph_digest`); a body edit that names nothing new re-ranks nothing. A warm start with
//! nothing changed therefore reads no file and parses nothing. `Mode::FromScratch` (the server's
//! `reverie.reindex`, asked by the user) trusts nothing: every file is read and parsed again and the
//! graph ranked again.

use crate::graph::{self, Focus};
use crate::hash::{Digest, DigestBuilder};
use crate::snapshot::{FactsSource, Files, Snapshot, Summary};
use crate::store::{FileRecord, GraphSnapshot, Store};
use crate::syntax::{self, FileFacts, Language};
use crate::workspace::{self, IgnoreRules, SkipReason, Skipped, SourceFile, WalkOptions};
use anyhow::Result;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Records written per store batch.
const WRITE_BATCH: usize = 256;
/// An mtime within this long before the file was read is not trusted (file systems with coarse
/// timestamps can hide a second write in the same tick).
const RACY_MTIME_NS: u64 = 2_000_000_000;

/// Where the index is, reported as it goes (for progress bars and `$/progress`).
#[derive(Clone, Copy, Debug)]
pub enum Progress<'a> {
    Walked { files: usize },
    Checked { done: usize, total: usize, key: &'a str },
    Ranking,
}

/// How much of what the store recorded an index run trusts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Read only the files whose size or mtime changed, parse only bytes with no stored facts, rank
    /// the graph only when what it is built from changed.
    Incremental,
    /// Read and parse every file again and rank the graph again (a user who asks to re-index
    /// expects it to happen, e.g. after a grammar changed or when the index looks wrong).
    FromScratch,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct IndexReport {
    pub roots: Vec<String>,
    /// Whether every file was parsed again (`Mode::FromScratch`).
    pub from_scratch: bool,
    pub files: usize,
    pub files_by_language: BTreeMap<String, usize>,
    pub bytes: u64,
    /// Files whose bytes were parsed in this run.
    pub parsed: usize,
    pub parsed_bytes: u64,
    /// Files read and hashed whose facts were already known (touched, renamed, copied, racy mtime).
    pub rehashed: usize,
    /// Of `rehashed`, the files whose bytes were not theirs at the last index but another file's: a
    /// copy, a rename, the same bytes as another file (Django's empty `__init__.py` files).
    pub shared: usize,
    /// Files trusted from their size and mtime without reading them.
    pub unchanged: usize,
    /// Records dropped because their file is gone.
    pub removed: usize,
    pub skipped: Vec<Skipped>,
    /// Files not ignored but in no supported language.
    pub other_files: usize,
    pub definitions: u64,
    pub references: u64,
    pub graph_rebuilt: bool,
    pub graph_edges: u64,
    pub elapsed_ms: f64,
    /// The process's peak resident memory so far, where the OS tells it (Linux).
    pub peak_rss_bytes: Option<u64>,
}

impl IndexReport {
    /// One line for the editor: the files, the time, and what this run did — so a run with nothing
    /// to do says so ("indexed 8 files in 0.0 s: nothing changed since the last index, 0 skipped"),
    /// and one from scratch says that ("indexed 8 files from scratch in 0.1 s (8 parsed, 0 skipped)").
    pub fn summary(&self) -> String {
        let scratch = if self.from_scratch { " from scratch" } else { "" };
        let head =
            format!("indexed {} file{}{scratch} in {:.1} s", self.files, plural(self.files), self.elapsed_ms / 1000.0);
        let skipped = format!("{} skipped", self.skipped.len());
        let removed = if self.removed > 0 { format!(", {} removed", self.removed) } else { String::new() };
        let shared = self.shared.min(self.rehashed);
        let kept = self.unchanged + self.rehashed - shared;
        let same = if shared > 0 { format!(", {shared} the same as a file already parsed") } else { String::new() };
        match (self.parsed, shared, kept) {
            (parsed, _, 0) => format!("{head} ({parsed} parsed{same}{removed}, {skipped})"),
            (0, 0, _) => format!("{head}: nothing changed since the last index{removed}, {skipped}"),
            (parsed, _, kept) => {
                format!("{head}: {parsed} parsed{same}, {kept} unchanged since the last index{removed}, {skipped}")
            }
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

enum Checked {
    /// Same bytes as recorded (or as facts already stored — `shared`: a copy, a rename, another
    /// file with the same bytes): only the record changes.
    Known {
        record: FileRecord,
        shared: bool,
    },
    Parsed(FileRecord, Box<FileFacts>),
    Skipped(SkipReason),
}

/// Indexes `roots` into `store`, trusting what the store recorded as `mode` says.
pub fn index(
    store: &Store,
    roots: &[PathBuf],
    options: &WalkOptions,
    mode: Mode,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<IndexReport> {
    let started = Instant::now();
    store.set_roots(roots)?;
    let walk = workspace::walk(roots, options);
    tracing::debug!("walked {} files in {:?}", walk.files.len(), started.elapsed());
    progress(Progress::Walked { files: walk.files.len() });

    let mut report = IndexReport {
        roots: roots.iter().map(|r| r.display().to_string()).collect(),
        from_scratch: mode == Mode::FromScratch,
        files: walk.files.len(),
        other_files: walk.other_files,
        skipped: walk.skipped.clone(),
        ..IndexReport::default()
    };
    let now = now_ns();
    let (to_read, mut current) = trust_or_read(store, &walk.files, mode, &mut report)?;
    let total = to_read.len();
    let parsed_facts =
        check_and_write(store, to_read, options.max_file_size, now, mode, progress, &mut report, &mut current)?;
    tracing::debug!("checked, parsed and wrote {total} files by {:?}", started.elapsed());
    report.skipped.sort_by(|a, b| a.key.cmp(&b.key));
    store.replace_skipped(&report.skipped)?;
    store.collect_garbage()?;

    current.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, record) in &current {
        *report.files_by_language.entry(record.language.name().to_string()).or_insert(0) += 1;
        report.bytes += record.size;
        report.definitions += u64::from(record.definitions);
        report.references += u64::from(record.references);
    }
    report.files = current.len();

    let inputs = graph_inputs(&current);
    let snapshot = store.graph()?;
    if snapshot.inputs == Some(inputs) && mode == Mode::Incremental {
        report.graph_edges = snapshot.edges;
    } else {
        progress(Progress::Ranking);
        let mut facts = load_facts(store, &current, parsed_facts)?;
        if facts.len() < current.len() {
            repair_facts(store, &walk.files, options.max_file_size, now, &mut facts, &mut report)?;
        }
        rank_graph(store, &facts, inputs, &mut report)?;
        tracing::debug!("ranked {} edges by {:?}", report.graph_edges, started.elapsed());
        keep_for_snapshot(store, facts)?;
        tracing::debug!("kept the summary and search indexes by {:?}", started.elapsed());
    }
    store.flush()?;
    tracing::debug!("flushed by {:?}", started.elapsed());
    report.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    report.peak_rss_bytes = peak_rss_bytes();
    Ok(report)
}

/// The walked files split into those to read (with their old record, if any) and those trusted from
/// their record (`current`; none from scratch); records of files that are gone are removed from the
/// store.
#[allow(clippy::type_complexity)]
fn trust_or_read<'a>(
    store: &Store,
    files: &'a [SourceFile],
    mode: Mode,
    report: &mut IndexReport,
) -> Result<(Vec<(&'a SourceFile, Option<FileRecord>)>, Vec<(String, FileRecord)>)> {
    let mut records: HashMap<String, FileRecord> = store.file_records()?.into_iter().collect();
    let mut to_read: Vec<(&SourceFile, Option<FileRecord>)> = Vec::new();
    let mut current: Vec<(String, FileRecord)> = Vec::with_capacity(files.len());
    for file in files {
        let record = records.remove(&file.key);
        match record {
            Some(record)
                if mode == Mode::Incremental
                    && is_trusted(&record, file)
                    && store.has_facts(record.language, &record.content_hash)? =>
            {
                report.unchanged += 1;
                current.push((file.key.clone(), record));
            }
            other => to_read.push((file, other)),
        }
    }
    // What is left in `records` belongs to files that are gone.
    let gone: Vec<String> = records.into_keys().collect();
    report.removed = gone.len();
    store.remove_files(&gone)?;
    Ok((to_read, current))
}

/// Reads, hashes and (when the store has no facts for the bytes, or from scratch) parses `to_read`
/// on all cores, writing records and facts in batches of `WRITE_BATCH` as they arrive; adds each
/// file's record to `current`. Returns the facts parsed, by key.
#[allow(clippy::too_many_arguments)]
fn check_and_write(
    store: &Store,
    to_read: Vec<(&SourceFile, Option<FileRecord>)>,
    max_size: u64,
    now: u64,
    mode: Mode,
    progress: &(dyn Fn(Progress) + Sync),
    report: &mut IndexReport,
    current: &mut Vec<(String, FileRecord)>,
) -> Result<HashMap<String, FileFacts>> {
    let total = to_read.len();
    let mut parsed_facts: HashMap<String, FileFacts> = HashMap::new();
    let mut write_error: Option<anyhow::Error> = None;
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<(&SourceFile, Checked)>(WRITE_BATCH * 2);
        scope.spawn(move || {
            to_read.into_par_iter().for_each_with(sender, |sender, (file, record)| {
                let checked = check(store, file, record, max_size, now, mode);
                let _ = sender.send((file, checked));
            });
        });
        let mut pending: Vec<(String, FileRecord, FileFacts)> = Vec::new();
        let mut known: Vec<(String, FileRecord)> = Vec::new();
        let flush = |pending: &mut Vec<(String, FileRecord, FileFacts)>,
                     known: &mut Vec<(String, FileRecord)>,
                     parsed: &mut HashMap<String, FileFacts>|
         -> Result<()> {
            let batch: Vec<(String, FileRecord, &FileFacts)> =
                pending.iter().map(|(k, r, f)| (k.clone(), r.clone(), f)).collect();
            store.write_indexed(&batch)?;
            store.write_records(known)?;
            known.clear();
            for (key, _, facts) in pending.drain(..) {
                parsed.insert(key, facts);
            }
            Ok(())
        };
        for (done, (file, checked)) in receiver.into_iter().enumerate() {
            progress(Progress::Checked { done: done + 1, total, key: &file.key });
            match checked {
                Checked::Known { record, shared } => {
                    report.rehashed += 1;
                    report.shared += usize::from(shared);
                    current.push((file.key.clone(), record.clone()));
                    known.push((file.key.clone(), record));
                }
                Checked::Parsed(record, facts) => {
                    report.parsed += 1;
                    report.parsed_bytes += record.size;
                    current.push((file.key.clone(), record.clone()));
                    pending.push((file.key.clone(), record, *facts));
                }
                Checked::Skipped(reason) => report.skipped.push(Skipped { key: file.key.clone(), reason }),
            }
            if pending.len() + known.len() >= WRITE_BATCH
                && write_error.is_none()
                && let Err(err) = flush(&mut pending, &mut known, &mut parsed_facts)
            {
                write_error = Some(err);
            }
        }
        if write_error.is_none()
            && let Err(err) = flush(&mut pending, &mut known, &mut parsed_facts)
        {
            write_error = Some(err);
        }
    });
    match write_error {
        Some(err) => Err(err.context(format!("writing to the store at {}", store.path().display()))),
        None => Ok(parsed_facts),
    }
}

/// Some stored facts did not decode (see `Store::facts`): extracts the files of `files` missing from
/// `facts` again, stores them and adds them to `facts` (kept sorted by key).
fn repair_facts(
    store: &Store,
    files: &[SourceFile],
    max_size: u64,
    now: u64,
    facts: &mut Vec<(String, FileFacts)>,
    report: &mut IndexReport,
) -> Result<()> {
    let have: HashSet<&str> = facts.iter().map(|(k, _)| k.as_str()).collect();
    let missing: Vec<&SourceFile> = files.iter().filter(|f| !have.contains(f.key.as_str())).collect();
    let mut repaired = Vec::new();
    for file in missing {
        match workspace::read_source(&file.path, max_size) {
            Ok(bytes) => {
                if let Checked::Parsed(record, file_facts) = parse(file, &bytes, now) {
                    report.parsed += 1;
                    report.parsed_bytes += record.size;
                    repaired.push((file.key.clone(), record, *file_facts));
                }
            }
            Err(reason) => tracing::warn!("{} could not be re-read to repair its facts: {reason}", file.key),
        }
    }
    let batch: Vec<(String, FileRecord, &FileFacts)> =
        repaired.iter().map(|(k, r, f)| (k.clone(), r.clone(), f)).collect();
    store.write_indexed(&batch)?;
    facts.extend(repaired.into_iter().map(|(k, _, f)| (k, f)));
    facts.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(())
}

/// Builds the reference graph of `facts`, ranks its files and stores the ranking with the `inputs`
/// it came from.
fn rank_graph(store: &Store, facts: &[(String, FileFacts)], inputs: Digest, report: &mut IndexReport) -> Result<()> {
    let files: Vec<graph::GraphFile> = facts.iter().map(|(k, f)| (k.as_str(), f)).collect();
    let file_graph = graph::build(&files);
    let ranking = graph::rank(&file_graph, &Focus::default());
    let mut file_ranks: Vec<(String, f64)> =
        file_graph.files.iter().cloned().zip(ranking.file_ranks.iter().copied()).collect();
    file_ranks.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    report.graph_edges = file_graph.edges.len() as u64;
    report.graph_rebuilt = true;
    store.set_graph(&GraphSnapshot { inputs: Some(inputs), file_ranks, edges: report.graph_edges })?;
    Ok(())
}

/// Size and mtime match, and the mtime is old enough to be trusted.
fn is_trusted(record: &FileRecord, file: &SourceFile) -> bool {
    record.size == file.size
        && record.mtime_ns == file.mtime_ns
        && record.language == file.language
        && file.mtime_ns.saturating_add(RACY_MTIME_NS) < record.read_at_ns
}

/// Reads `file`: its record again when the store holds facts for its bytes (never from scratch),
/// else its bytes parsed.
fn check(store: &Store, file: &SourceFile, record: Option<FileRecord>, max_size: u64, now: u64, mode: Mode) -> Checked {
    let bytes = match workspace::read_source(&file.path, max_size) {
        Ok(bytes) => bytes,
        Err(reason) => return Checked::Skipped(reason),
    };
    let hash = Digest::of(&bytes);
    if mode == Mode::Incremental && store.has_facts(file.language, &hash).unwrap_or(false) {
        let shared = record.as_ref().is_none_or(|r| r.content_hash != hash);
        let (definitions, references, graph_hash) = match record.filter(|r| r.content_hash == hash) {
            Some(r) => (r.definitions, r.references, r.graph_hash),
            None => match store.facts(file.language, &hash) {
                Ok(Some(facts)) => {
                    (facts.definitions.len() as u32, facts.references.len() as u32, graph::graph_digest(&facts))
                }
                _ => return parse(file, &bytes, now),
            },
        };
        let record = FileRecord {
            language: file.language,
            size: bytes.len() as u64,
            mtime_ns: file.mtime_ns,
            content_hash: hash,
            read_at_ns: now,
            definitions,
            references,
            graph_hash,
        };
        return Checked::Known { record, shared };
    }
    parse(file, &bytes, now)
}

fn parse(file: &SourceFile, bytes: &[u8], now: u64) -> Checked {
    let facts = syntax::extract(bytes, file.language);
    let record = FileRecord {
        language: file.language,
        size: bytes.len() as u64,
        mtime_ns: file.mtime_ns,
        content_hash: facts.content_hash,
        read_at_ns: now,
        definitions: facts.definitions.len() as u32,
        references: facts.references.len() as u32,
        graph_hash: graph::graph_digest(&facts),
    };
    Checked::Parsed(record, Box::new(facts))
}

/// What `update_paths` changed.
#[derive(Debug, Default)]
pub struct Update {
    /// Files whose facts are new or different, with their facts.
    pub changed: Vec<(String, FileFacts)>,
    /// Files that are gone (deleted, renamed away, newly ignored or skipped).
    pub removed: Vec<String>,
    pub skipped: Vec<Skipped>,
    pub parsed: usize,
}

/// Brings the store up to date for `paths` only (watcher events): files are re-checked, directories
/// walked, paths that no longer exist removed with everything under them. No full walk.
pub fn update_paths(store: &Store, rules: &IgnoreRules, options: &WalkOptions, paths: &[PathBuf]) -> Result<Update> {
    let now = now_ns();
    let mut update = Update::default();
    let mut files: Vec<PathBuf> = Vec::new();
    for path in paths.iter().filter(|path| !options.excludes(path)) {
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => {
                if rules.is_ignored(path, true) {
                    continue;
                }
                for entry in ignore::WalkBuilder::new(path)
                    .hidden(true)
                    .require_git(false)
                    .add_custom_ignore_filename(workspace::IGNORE_FILE)
                    .build()
                    .flatten()
                {
                    if entry.file_type().is_some_and(|t| t.is_file()) && !options.excludes(entry.path()) {
                        files.push(entry.into_path());
                    }
                }
            }
            Ok(_) => files.push(path.clone()),
            Err(_) => {
                // Gone: the file, or a directory and everything that was under it.
                if let Some((_, key)) = rules.locate(path) {
                    let mut gone = store.keys_under(&key)?;
                    if store.file_record(&key)?.is_some() {
                        gone.push(key.clone());
                    }
                    store.set_skipped(&key, None)?;
                    store.remove_files(&gone)?;
                    update.removed.extend(gone);
                }
            }
        }
    }
    files.sort();
    files.dedup();
    for path in files {
        let Some((_, key)) = rules.locate(&path) else { continue };
        let language = syntax::Language::from_path(&path);
        let metadata = std::fs::metadata(&path);
        let (Some(language), Ok(metadata), false) = (language, &metadata, rules.is_ignored(&path, false)) else {
            if store.file_record(&key)?.is_some() {
                store.remove_files(std::slice::from_ref(&key))?;
                update.removed.push(key);
            }
            continue;
        };
        let file = SourceFile {
            path: path.clone(),
            key: key.clone(),
            language,
            size: metadata.len(),
            mtime_ns: workspace::mtime_ns(metadata),
        };
        let record = store.file_record(&key)?;
        if record.as_ref().is_some_and(|r| is_trusted(r, &file))
            && store.has_facts(language, &record.as_ref().unwrap().content_hash)?
        {
            continue;
        }
        let checked = if file.size > options.max_file_size {
            Checked::Skipped(SkipReason::TooLarge { size: file.size, limit: options.max_file_size })
        } else {
            check(store, &file, record.clone(), options.max_file_size, now, Mode::Incremental)
        };
        match checked {
            Checked::Known { record: new_record, .. } => {
                let same = record.as_ref().is_some_and(|r| r.content_hash == new_record.content_hash);
                store.write_records(&[(key.clone(), new_record.clone())])?;
                store.set_skipped(&key, None)?;
                if !same && let Some(facts) = store.facts(language, &new_record.content_hash)? {
                    update.changed.push((key, facts));
                }
            }
            Checked::Parsed(new_record, facts) => {
                store.write_indexed(&[(key.clone(), new_record, &facts)])?;
                update.parsed += 1;
                update.changed.push((key, *facts));
            }
            Checked::Skipped(reason) => {
                store.set_skipped(&key, Some(&reason))?;
                if record.is_some() {
                    update.removed.push(key.clone());
                }
                update.skipped.push(Skipped { key, reason });
            }
        }
    }
    Ok(update)
}

/// The digest the ranked graph depends on: every file's key and graph hash.
fn graph_inputs(records: &[(String, FileRecord)]) -> Digest {
    let mut builder = DigestBuilder::new();
    for (key, record) in records {
        builder.part(key.as_bytes()).part(&record.graph_hash.0);
    }
    builder.finish()
}

/// The facts of every file in `records`, taking those in `parsed` and reading the rest from the store.
pub fn load_facts(
    store: &Store,
    records: &[(String, FileRecord)],
    mut parsed: HashMap<String, FileFacts>,
) -> Result<Vec<(String, FileFacts)>> {
    let mut out = Vec::with_capacity(records.len());
    for (key, record) in records {
        let facts = match parsed.remove(key) {
            Some(facts) => facts,
            None => match store.facts(record.language, &record.content_hash)? {
                Some(facts) => facts,
                None => continue,
            },
        };
        out.push((key.clone(), facts));
    }
    Ok(out)
}

/// Every indexed file's facts, by key.
pub fn all_facts(store: &Store) -> Result<Vec<(String, FileFacts)>> {
    load_facts(store, &store.file_records()?, HashMap::new())
}

/// The snapshot of every indexed file's facts: what questions and thinking read. Its summary and its
/// search indexes are kept in the store's folder under the identity of these facts
/// (`search::stored`): when they are there (and the stored ranks are those of these files), no
/// file's facts are read until a question needs them; else every file's facts are read, and the
/// summary is kept for the next snapshot.
pub fn snapshot(store: &Store) -> Result<Snapshot> {
    let records = store.file_records()?;
    // The ranks the index computed, when they are those of exactly these files.
    let graph = store.graph()?;
    let ranked = graph.inputs == Some(graph_inputs(&records));
    if ranked {
        let kept = store.search_files(facts_identity(&records, records.iter().map(|(key, _)| key.as_str())));
        if let Some(summary) = Summary::read_kept(&kept, records.len()) {
            tracing::debug!("the summary of {} files read in place", records.len());
            let keys = records.iter().map(|(key, _)| Arc::<str>::from(key.as_str())).collect();
            let source = StoredFacts {
                reader: store.facts_reader(),
                records: records.into_iter().map(|(key, record)| (key, record.language, record.content_hash)).collect(),
            };
            let files = Files::read_on_demand(keys, Arc::new(source));
            let snapshot = Snapshot::of_summary(files, summary, Some(graph.file_ranks));
            return Ok(snapshot.with_kept_indexes(Arc::new(kept)));
        }
    }
    let files = load_facts(store, &records, HashMap::new())?;
    tracing::debug!("{} files' facts read; peak RSS {} MB", files.len(), peak_rss_bytes().map_or(0, |b| b / 1_000_000));
    let ranks = (ranked && files.len() == records.len()).then_some(graph.file_ranks);
    Ok(snapshot_of_facts(store, &records, files, ranks))
}

/// The snapshot of `files` (every file of `records` whose facts could be read), its summary kept
/// for the next snapshot of the same facts.
fn snapshot_of_facts(
    store: &Store,
    records: &[(String, FileRecord)],
    files: Vec<(String, FileFacts)>,
    ranks: Option<Vec<(String, f64)>>,
) -> Snapshot {
    let files: BTreeMap<Arc<str>, Arc<FileFacts>> =
        files.into_iter().map(|(k, f)| (Arc::<str>::from(k.as_str()), Arc::new(f))).collect();
    let kept = store.search_files(facts_identity(records, files.keys().map(|key| &**key)));
    let summary = Summary::of(files.values().map(|facts| &**facts));
    summary.keep(&kept);
    Snapshot::of_summary(Files::from(files), summary, ranks).with_kept_indexes(Arc::new(kept))
}

/// Keeps what the next snapshot of the store's facts reads in place — the summary and the search
/// indexes — built from `facts`, every indexed file's, which the index has in memory after ranking
/// them (a question after `reverie index` then reads no file's facts), unless they are kept already.
fn keep_for_snapshot(store: &Store, facts: Vec<(String, FileFacts)>) -> Result<()> {
    let records = store.file_records()?;
    if facts.len() != records.len() {
        return Ok(());
    }
    let kept = store.search_files(facts_identity(&records, records.iter().map(|(key, _)| key.as_str())));
    if Summary::read_kept(&kept, records.len()).is_some() {
        return Ok(());
    }
    let ranks = store.graph()?.file_ranks;
    let snapshot = snapshot_of_facts(store, &records, facts, Some(ranks));
    snapshot.facts_index();
    snapshot.text_index();
    Ok(())
}

/// A snapshot's files' facts, read from the store when a question first needs them.
struct StoredFacts {
    reader: crate::store::FactsReader,
    /// Per file in key order: its key, language and content hash.
    records: Vec<(String, Language, Digest)>,
}

impl FactsSource for StoredFacts {
    fn read(&self, key: &str) -> Option<FileFacts> {
        let at = self.records.binary_search_by(|(other, ..)| other.as_str().cmp(key)).ok()?;
        let (_, language, hash) = &self.records[at];
        match self.reader.facts(*language, hash) {
            Ok(facts) => facts,
            Err(err) => {
                tracing::warn!("the facts of {key} could not be read from the store ({err:#})");
                None
            }
        }
    }
}

/// What the facts `load_facts` read from `records` are a function of: each loaded file's path,
/// language and content hash, the extraction's fingerprint and the search indexes' recipe.
fn facts_identity<'a>(records: &[(String, FileRecord)], loaded: impl Iterator<Item = &'a str>) -> crate::hash::Digest {
    let mut identity = crate::hash::DigestBuilder::new();
    identity.part(&crate::syntax::facts_fingerprint().0).part(&crate::search::recipe_probe());
    // `loaded` is `records` in order, less the files whose facts were missing.
    let mut loaded = loaded.peekable();
    for (key, record) in records {
        if loaded.next_if(|next| *next == key.as_str()).is_some() {
            identity.part(key.as_bytes()).part(&[record.language as u8]).part(&record.content_hash.0);
        }
    }
    identity.finish()
}

/// Keys the store knows, for resolving `--focus` arguments.
pub fn known_keys(store: &Store) -> Result<HashSet<String>> {
    Ok(store.file_records()?.into_iter().map(|(k, _)| k).collect())
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// `VmHWM` from `/proc/self/status`.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_what_the_run_did() {
        let report = |parsed, unchanged, removed| IndexReport {
            files: 8,
            parsed,
            unchanged,
            removed,
            elapsed_ms: 40.0,
            ..IndexReport::default()
        };
        assert_eq!(report(8, 0, 0).summary(), "indexed 8 files in 0.0 s (8 parsed, 0 skipped)");
        assert_eq!(
            report(0, 8, 0).summary(),
            "indexed 8 files in 0.0 s: nothing changed since the last index, 0 skipped"
        );
        assert_eq!(
            report(2, 6, 1).summary(),
            "indexed 8 files in 0.0 s: 2 parsed, 6 unchanged since the last index, 1 removed, 0 skipped"
        );
        let scratch = IndexReport { from_scratch: true, ..report(8, 0, 0) };
        assert_eq!(scratch.summary(), "indexed 8 files from scratch in 0.0 s (8 parsed, 0 skipped)");
        // A first index where some files have the bytes of one parsed before (empty __init__.py
        // files): they are not "unchanged since the last index" — there was none.
        let first = IndexReport { rehashed: 3, shared: 3, ..report(5, 0, 0) };
        assert_eq!(
            first.summary(),
            "indexed 8 files in 0.0 s (5 parsed, 3 the same as a file already parsed, 0 skipped)"
        );
        let warm = IndexReport { rehashed: 2, shared: 1, ..report(1, 5, 0) };
        assert_eq!(
            warm.summary(),
            "indexed 8 files in 0.0 s: 1 parsed, 1 the same as a file already parsed, 6 unchanged since the last index, 0 skipped"
        );
    }
}
