//! What notes should exist for the current facts, with their inputs and keys (see `note.rs`), in
//! dependency order: file notes, then modules from the deepest directory up, then the overview.
//! Pure: a `Snapshot` in, `Job`s out.

use super::note::{Inputs, NoteKind, note_key};
use crate::hash::Digest;
use crate::snapshot::Snapshot;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A file's notes depend on at most this many other files' interfaces (the most used ones).
pub const MAX_DEPENDENCIES: usize = 32;

#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub kind: NoteKind,
    pub subject: String,
    pub inputs: Inputs,
    pub key: Digest,
    /// Notes that must be fresh before this one can be written (children before parents).
    pub after: Vec<(NoteKind, String)>,
}

/// The directory of a key: `a/b/c.py` → `a/b`; `c.py` → `` (the root).
pub fn directory_of(key: &str) -> &str {
    key.rfind('/').map_or("", |i| &key[..i])
}

/// Every job for `kinds`, keyed for `model`, in an order where `after` always comes first.
pub fn plan(snapshot: &Snapshot, model: &str, kinds: &[NoteKind]) -> Vec<Job> {
    let wants = |k: NoteKind| kinds.contains(&k);
    let mut jobs = Vec::new();

    let dependencies = dependencies(snapshot);
    // Vendored and minified code (`search::is_vendored`) is not the project's to explain: no notes,
    // and it takes no part in module summaries.
    // The hashes come from the snapshot's summary: planning reads no file's facts.
    let own_files = || snapshot.shapes().filter(|(key, _)| !crate::search::is_vendored(key));
    for (key, shape) in own_files() {
        let mut inputs: Inputs = vec![("content".into(), shape.content_hash)];
        for dep in dependencies.get(&**key).into_iter().flatten() {
            if let Some(dep_shape) = snapshot.shape(dep) {
                inputs.push((format!("interface:{dep}"), dep_shape.interface_hash));
            }
        }
        // Files that look like they hold secrets get no notes: their text never goes into a prompt.
        let secret = crate::redact::is_secret_file(std::path::Path::new(&**key));
        for kind in [NoteKind::FileSummary, NoteKind::Playbook, NoteKind::Questions] {
            if wants(kind) && !secret {
                jobs.push(Job {
                    kind,
                    subject: key.to_string(),
                    key: note_key(kind, model, &inputs),
                    inputs: inputs.clone(),
                    after: Vec::new(),
                });
            }
        }
    }

    // Directories, deepest first, so a module's sub-modules are keyed before it.
    let mut files_in: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut subdirs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (key, _) in own_files() {
        let mut dir = directory_of(key).to_string();
        files_in.entry(dir.clone()).or_default().push(key.to_string());
        loop {
            subdirs.entry(dir.clone()).or_default();
            if dir.is_empty() {
                break;
            }
            let parent = directory_of(&dir).to_string();
            subdirs.entry(parent.clone()).or_default().insert(dir.clone());
            dir = parent;
        }
    }
    let mut dirs: Vec<&String> = subdirs.keys().collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(if d.is_empty() { 0 } else { d.matches('/').count() + 1 }));
    let mut module_keys: HashMap<String, Digest> = HashMap::new();
    for dir in dirs {
        let mut inputs: Inputs = Vec::new();
        let mut after = Vec::new();
        for file in files_in.get(dir).into_iter().flatten() {
            let Some(shape) = snapshot.shape(file) else { continue };
            inputs.push((format!("file:{file}"), shape.interface_hash));
            if !crate::redact::is_secret_file(std::path::Path::new(file)) {
                after.push((NoteKind::FileSummary, file.clone()));
            }
        }
        for sub in &subdirs[dir] {
            inputs.push((format!("module:{sub}"), module_keys[sub]));
            after.push((NoteKind::ModuleSummary, sub.clone()));
        }
        let key = note_key(NoteKind::ModuleSummary, model, &inputs);
        module_keys.insert(dir.clone(), key);
        if wants(NoteKind::ModuleSummary) {
            if !wants(NoteKind::FileSummary) {
                after.retain(|(k, _)| *k != NoteKind::FileSummary);
            }
            jobs.push(Job { kind: NoteKind::ModuleSummary, subject: dir.clone(), inputs, key, after });
        }
    }
    if wants(NoteKind::Overview)
        && let Some(root) = module_keys.get("")
    {
        let inputs: Inputs = vec![("module:".into(), *root)];
        let after =
            if wants(NoteKind::ModuleSummary) { vec![(NoteKind::ModuleSummary, String::new())] } else { Vec::new() };
        jobs.push(Job {
            kind: NoteKind::Overview,
            subject: String::new(),
            key: note_key(NoteKind::Overview, model, &inputs),
            inputs,
            after,
        });
    }
    jobs
}

/// For each file, the files whose definitions it uses most (by edge weight), at most `MAX_DEPENDENCIES`.
pub fn dependencies(snapshot: &Snapshot) -> HashMap<String, Vec<String>> {
    let graph = snapshot.graph();
    let mut weights: HashMap<(u32, u32), f64> = HashMap::new();
    for edge in &graph.edges {
        *weights.entry((edge.from, edge.to)).or_insert(0.0) += edge.weight;
    }
    let mut per_file: HashMap<u32, Vec<(u32, f64)>> = HashMap::new();
    for ((from, to), weight) in weights {
        per_file.entry(from).or_default().push((to, weight));
    }
    per_file
        .into_iter()
        .map(|(from, mut tos)| {
            tos.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            tos.truncate(MAX_DEPENDENCIES);
            let mut deps: Vec<String> = tos.into_iter().map(|(to, _)| graph.files[to as usize].clone()).collect();
            deps.sort();
            (graph.files[from as usize].clone(), deps)
        })
        .collect()
}
