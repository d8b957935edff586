//! Idle work shared through the team's git remote: what one machine computed (a CI job, the first
//! teammate) for a commit, everyone else fetches instead of computing again.
//!
//! What is shared, and why:
//! - **the semantic index's definition vectors** (`embed::semantic`): the bulk of idle work (about
//!   80 definitions/s on two cores), keyed by the embedder's model id and by a digest of each
//!   definition's file path, file content and place — so a pull imports exactly the vectors of files
//!   whose content is the same here, and nothing else;
//! - not the history: the remote already holds the commits, and mining them costs seconds
//!   (`history::mine`); shared commit records would be a second, unverifiable copy of them;
//! - **the adapter** (`embed::adapter`, embedding its questions and training: a minute on Flask)
//!   when its training is complete: it is keyed by the digest of the pairs drawn from the history,
//!   the facts and the vectors, so a pull accepts it only when this workspace's mined history,
//!   facts and vectors give exactly that digest (and its map fits the vectors);
//! - **the notes** (`sleep::Note`, written by a chat model: tokens and money) fresh for the pushed
//!   facts, and their passages' vectors: a note is keyed by its kind, model and the content and
//!   interface hashes it was written from, so a pull keeps exactly the notes this workspace's facts
//!   would ask the same model for (`notes::acceptable`), and the vectors of their passages.
//!
//! Where: one parentless commit per (embedder model, workspace folder in the repository) under
//! `refs/reverie/embeddings/<model key>/<folder>` ([`reference`]), whose tree is `pack`'s manifest
//! and shards; one per (model, folder) under `refs/reverie/adapter/<model key>/<folder>` and one
//! per folder under `refs/reverie/notes/<folder>` (a one-blob manifest, `pack::BlobManifest`, and
//! the blob), written and read with `git`'s plumbing (`crate::git`): branches, tags, HEAD, the
//! index and the working tree are never touched. A push replaces the remote's refs (the newest
//! push wins; git sends only the blobs that changed).
//!
//! Guarantees:
//! - nothing leaves that would not go to a provider: only files the workspace walk indexes (ignored
//!   files never are), never a secret-looking file's vectors or notes (`redact::is_secret_file`),
//!   no code — vector keys are digests, vectors are what an embedding provider returns — and notes
//!   (model output about prompts that were redacted) with every string redacted again;
//! - a pull checks the format version, the embedder's model id, every blob's size and digest and
//!   every vector, and imports only vectors whose key is a definition (or a fresh note's passage)
//!   of this workspace without one, notes written for this content, and an adapter trained on this
//!   workspace's pairs; a rejected manifest, shard or blob is named with the reason and nothing
//!   stored is lost;
//! - killing either side loses nothing: a push writes objects, then its local ref, then pushes (git
//!   updates the remote ref last); a pull fetches (git writes the ref last), then imports shard by
//!   shard, each one sled batch flushed to disk.

pub mod notes;
pub mod pack;

use crate::answer::LearnedContext;
use crate::embed::{definition_key, model_key, quant};
use crate::git::{Git, GitError};
use crate::hash::{Digest, DigestBuilder};
use crate::sleep::NoteStore;
use crate::snapshot::Snapshot;
use crate::store::Store;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// The `[share]` section: which git remote the server pulls shared idle work from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ShareConfig {
    /// A remote of the workspace's repository (`origin`); none: the server never pulls.
    #[serde(deserialize_with = "de_remote")]
    pub remote: Option<String>,
}

/// Whether `name` can be a git remote's name (and never an option or a path trick).
pub fn check_remote_name(name: &str) -> Result<(), String> {
    let fine = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/');
    if name.is_empty()
        || name.starts_with('-')
        || name.starts_with('/')
        || name.contains("..")
        || !name.chars().all(fine)
    {
        return Err(format!(
            "`{name}` is not a git remote's name (letters, digits, `-`, `_`, `.` and `/`, e.g. \"origin\")"
        ));
    }
    Ok(())
}

fn de_remote<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let name = String::deserialize(deserializer)?;
    check_remote_name(&name).map_err(serde::de::Error::custom)?;
    Ok(Some(name))
}

/// The ref a share of `model_id`'s vectors for the folder `prefix` of the repository lives under.
pub fn reference(model_id: &str, prefix: &str) -> String {
    format!("refs/reverie/embeddings/{}/{}", &model_key(model_id).to_hex()[..16], folder(prefix))
}

/// The ref the adapter of `model_id` for the folder `prefix` of the repository lives under.
pub fn adapter_reference(model_id: &str, prefix: &str) -> String {
    format!("refs/reverie/adapter/{}/{}", &model_key(model_id).to_hex()[..16], folder(prefix))
}

/// The adapter's blob in its share's tree, the share's kind, and the largest one a pull reads.
const ADAPTER: &str = "adapter.bin";
const ADAPTER_KIND: &str = "adapter";
const MAX_ADAPTER_BYTES: u64 = 64 << 20;

/// The ref the notes about the folder `prefix` of the repository live under.
pub fn notes_reference(prefix: &str) -> String {
    format!("refs/reverie/notes/{}", folder(prefix))
}

/// A folder of the repository in a ref: `root` at the top, else a digest of its path.
fn folder(prefix: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        "root".to_string()
    } else {
        DigestBuilder::new().part(b"share-folder").part(prefix.as_bytes()).finish().short()
    }
}

/// What `push` did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PushReport {
    pub remote: String,
    pub reference: String,
    pub commit: String,
    pub model: String,
    /// Vectors pushed, and the files they belong to.
    pub vectors: u64,
    pub files: usize,
    /// Definitions that have no vector yet (not pushed; `reverie think` embeds them).
    pub missing: u64,
    /// Secret-looking files left out.
    pub secret_files: usize,
    /// Of `vectors`, the notes' passages.
    pub passages: u64,
    /// Notes pushed (fresh ones), under `notes_reference`.
    pub notes: u64,
    pub notes_reference: Option<String>,
    /// The adapter's trained state was pushed (complete trainings only), under this ref.
    pub adapter_reference: Option<String>,
    pub shards: usize,
    /// Bytes of the manifest and shards (before git's compression).
    pub bytes: u64,
    pub seconds: f64,
}

/// What `pull` did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PullReport {
    pub remote: String,
    pub reference: String,
    /// The shared commit read; none when the remote has nothing for this folder and embedder.
    pub commit: Option<String>,
    pub model: String,
    /// Vectors the share holds.
    pub offered: u64,
    /// Vectors imported: definitions here that had none, with the same file content.
    pub imported: u64,
    /// Shared vectors of definitions that already had one here.
    pub already: u64,
    /// Shared vectors of content this workspace does not have (other versions of files).
    pub unmatched: u64,
    /// Notes the share holds, and those imported (written for this content, none fresh here).
    pub notes_offered: u64,
    pub notes_imported: u64,
    /// What became of a shared adapter: `imported`, `already here`, or why it was not used.
    pub adapter: Option<String>,
    /// What was rejected and why (the manifest, or shards); nothing of it was imported.
    pub rejected: Vec<String>,
    /// Definitions here that still have no vector (`reverie think` or the idle pass embeds them).
    pub missing: u64,
    /// Bytes of the shards read.
    pub bytes: u64,
    pub cancelled: bool,
    pub seconds: f64,
    /// Why nothing was read, when nothing was (`nothing shared …`, `every definition has a vector`).
    pub note: Option<String>,
}

/// The definitions of `snapshot` whose vectors may be shared: every indexed file's but a
/// secret-looking one's. Returns `(path, keys)` in path order, and how many secret files were left out.
fn shareable(snapshot: &Snapshot) -> (Vec<(&str, Vec<Digest>)>, usize) {
    let mut files = Vec::new();
    let mut secret = 0;
    for (path, shape) in snapshot.shapes() {
        if shape.definitions == 0 {
            continue;
        }
        if crate::redact::is_secret_file(Path::new(&**path)) {
            secret += 1;
            continue;
        }
        let keys = (0..shape.definitions).map(|i| definition_key(path, &shape.content_hash, i)).collect();
        files.push((&**path, keys));
    }
    (files, secret)
}

/// The keys of the passages of the notes fresh for `snapshot` (the learned context's), whose
/// vectors may be shared.
fn shareable_passages(store: &Store, snapshot: &Snapshot) -> Result<Vec<Digest>> {
    let learned = LearnedContext::new(store.notes()?, snapshot);
    Ok(learned
        .passages
        .iter()
        .filter(|p| learned.fresh[p.note])
        .filter(|p| !crate::redact::is_secret_file(Path::new(&learned.notes[p.note].subject)))
        .map(|p| p.key)
        .collect())
}

/// Writes `blobs` as a tree, commits it, points the local `reference` at it and pushes it.
fn publish(
    git: &Git,
    root: &Path,
    remote: &str,
    reference: &str,
    blobs: &[(String, &[u8])],
    message: &str,
) -> Result<String> {
    let mut written = Vec::new();
    for (name, bytes) in blobs {
        written.push((name.clone(), git.write_blob(root, bytes)?));
    }
    let tree = git.write_tree(root, &written)?;
    let commit = git.write_commit(root, &tree, message)?;
    git.update_ref(root, reference, &commit)?;
    git.push_ref(root, remote, &commit, reference)?;
    Ok(commit)
}

/// A share fetched from the remote: its commit and its blobs, by name, with id and size.
struct Fetched {
    commit: String,
    blobs: BTreeMap<String, (String, u64)>,
}

impl Fetched {
    /// Reads the blob `name` if it is at most `max` bytes.
    fn read(&self, git: &Git, root: &Path, name: &str, max: u64) -> Result<Result<Vec<u8>, String>> {
        match self.blobs.get(name) {
            None => Ok(Err(format!("the share has no {name}"))),
            Some((_, size)) if *size > max => Ok(Err(format!("{name} is {size} bytes, more than a share holds"))),
            Some((id, _)) => Ok(Ok(git.read_blobs(root, std::slice::from_ref(id))?.pop().unwrap_or_default())),
        }
    }
}

/// Fetches `reference` from `remote` when the remote has it.
fn fetch(git: &Git, root: &Path, remote: &str, reference: &str) -> Result<Option<Fetched>> {
    if git.remote_refs(root, remote, reference)?.is_empty() {
        return Ok(None);
    }
    git.fetch_ref(root, remote, reference)?;
    let commit =
        git.resolve(root, reference).with_context(|| format!("{reference} was fetched but does not resolve"))?;
    let blobs = git
        .tree_entries(root, &commit)?
        .into_iter()
        .filter(|e| e.kind == "blob")
        .map(|e| (e.name, (e.id, e.size.unwrap_or(u64::MAX))))
        .collect();
    Ok(Some(Fetched { commit, blobs }))
}

/// Checks that git works and `root`'s repository has the remote `remote`, with an error that says
/// what to do otherwise (callers check before any slow work).
pub fn check_remote(git: &Git, root: &Path, remote: &str) -> Result<()> {
    check_remote_name(remote).map_err(anyhow::Error::msg)?;
    git.version()?;
    git.remote_url(root, remote).map_err(|err| match err {
        GitError::NotARepository { root } => {
            anyhow::anyhow!("{root} is not in a git repository; sharing goes through the repository's remote")
        }
        other => other.into(),
    })?;
    Ok(())
}

/// Checks git and the remote before anything is written or read; returns the share's ref.
fn prepare(git: &Git, root: &Path, model_id: &str, remote: &str) -> Result<String> {
    check_remote(git, root, remote)?;
    Ok(reference(model_id, &git.prefix(root)?))
}

/// Publishes the vectors of `model_id` for `snapshot`'s definitions and fresh notes' passages, and
/// the fresh notes, to `remote`.
pub fn push(
    store: &Store,
    git: &Git,
    root: &Path,
    snapshot: &Snapshot,
    model_id: &str,
    remote: &str,
) -> Result<PushReport> {
    let started = std::time::Instant::now();
    let reference = prepare(git, root, model_id, remote)?;
    let model = model_key(model_id);
    let (files, secret_files) = shareable(snapshot);
    let passages = shareable_passages(store, snapshot)?;
    let mut shards = vec![Vec::new(); pack::SHARDS];
    let mut dims = None;
    let (mut vectors, mut missing, mut with_vectors, mut passage_vectors) = (0u64, 0u64, 0usize, 0u64);
    // A file's definitions go to its path's shard; a passage to its key's.
    let passage_group = passages.iter().map(|key| (key.to_hex(), vec![*key]));
    let groups = files.iter().map(|(path, keys)| (path.to_string(), keys.clone())).chain(passage_group);
    for (index, (place, keys)) in groups.enumerate() {
        let is_file = index < files.len();
        let mut any = false;
        for (key, bytes) in keys.iter().zip(store.embeddings(&model, &keys)) {
            let decoded = bytes?.filter(|b| quant::QuantizedVector::from_bytes(b, dims).is_some());
            let Some(bytes) = decoded else {
                missing += u64::from(is_file);
                continue;
            };
            dims.get_or_insert(bytes.len() - 4);
            shards[pack::shard_of(&place)].push((*key, bytes.to_vec()));
            vectors += 1;
            passage_vectors += u64::from(!is_file);
            any = true;
        }
        with_vectors += usize::from(any && is_file);
    }
    let Some(dims) = dims else {
        bail!(
            "nothing to share: no definition of {} has a vector of `{model_id}` yet; run `reverie think` first",
            root.display()
        );
    };
    let head = git.repository(root)?.head;
    let encoded = pack::encode(model_id, dims as u32, &shards, head);
    let mut blobs: Vec<(String, &[u8])> = vec![(pack::MANIFEST.to_string(), &encoded.manifest_bytes)];
    blobs.extend(encoded.shards.iter().map(|(name, bytes)| (name.clone(), bytes.as_slice())));
    let mut bytes = blobs.iter().map(|(_, b)| b.len() as u64).sum::<u64>();
    let message = format!("reverie share: {vectors} vectors of {model_id}");
    let commit = publish(git, root, remote, &reference, &blobs, &message)?;

    // The notes fresh for these facts, redacted.
    let learned = LearnedContext::new(store.notes()?, snapshot);
    let fresh = notes::shareable(learned.notes.clone(), &learned.fresh);
    let mut notes_reference = None;
    if !fresh.is_empty() {
        let (manifest, blob) = notes::encode(&fresh);
        let reference = notes_reference_for(git, root)?;
        let blobs = [(pack::MANIFEST.to_string(), manifest.as_slice()), (notes::NOTES.to_string(), blob.as_slice())];
        publish(git, root, remote, &reference, &blobs, &format!("reverie share: {} notes", fresh.len()))?;
        bytes += (manifest.len() + blob.len()) as u64;
        notes_reference = Some(reference);
    }
    let mut adapter_ref = None;
    if let Some(state) = crate::embed::adapter::shareable_state(store, model_id)? {
        let reference = adapter_reference(model_id, &git.prefix(root)?);
        let manifest = pack::blob_manifest(ADAPTER_KIND, 1, &state);
        let blobs = [(pack::MANIFEST.to_string(), manifest.as_slice()), (ADAPTER.to_string(), state.as_slice())];
        publish(git, root, remote, &reference, &blobs, &format!("reverie share: the adapter of {model_id}"))?;
        bytes += (manifest.len() + state.len()) as u64;
        adapter_ref = Some(reference);
    }
    Ok(PushReport {
        remote: remote.to_string(),
        reference,
        commit,
        model: model_id.to_string(),
        vectors,
        files: with_vectors,
        missing,
        secret_files,
        passages: passage_vectors,
        notes: fresh.len() as u64,
        notes_reference,
        adapter_reference: adapter_ref,
        shards: encoded.shards.len(),
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn notes_reference_for(git: &Git, root: &Path) -> Result<String> {
    Ok(notes_reference(&git.prefix(root)?))
}

/// Shards read (and held in memory) at once.
const SHARDS_PER_READ: usize = 8;

/// Fetches what `remote` shares for this folder and imports the notes written for this content
/// and the vectors of `model_id` this workspace's definitions and notes' passages lack (see the
/// module's guarantees). Stops between two groups of shards once `cancelled` is true; what was
/// imported stays.
pub fn pull(
    store: &Store,
    git: &Git,
    root: &Path,
    snapshot: &Snapshot,
    model_id: &str,
    remote: &str,
    cancelled: &dyn Fn() -> bool,
) -> Result<PullReport> {
    let started = std::time::Instant::now();
    let reference = prepare(git, root, model_id, remote)?;
    let mut report = PullReport {
        remote: remote.to_string(),
        reference: reference.clone(),
        model: model_id.to_string(),
        ..PullReport::default()
    };
    pull_notes(store, git, root, snapshot, remote, &mut report)?;

    let model = model_key(model_id);
    let (files, _) = shareable(snapshot);
    let passages = shareable_passages(store, snapshot)?;
    let mut wanted = HashSet::new();
    let mut have = HashSet::new();
    for key in files.iter().flat_map(|(_, keys)| keys).chain(&passages) {
        if store.has_embedding(&model, key)? {
            have.insert(*key);
        } else {
            wanted.insert(*key);
        }
    }
    report.missing = wanted.len() as u64;
    let finish = |mut report: PullReport| {
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    };
    let Some(share) = fetch(git, root, remote, &reference)? else {
        report.note = Some(format!("nothing shared on `{remote}` for this folder and embedder yet"));
        return finish(report);
    };
    report.commit = Some(share.commit.clone());
    let manifest = share.read(git, root, pack::MANIFEST, pack::MAX_MANIFEST_BYTES)?.and_then(|bytes| {
        let sizes = share.blobs.iter().map(|(name, (_, size))| (name.clone(), *size)).collect();
        pack::Manifest::check(&bytes, model_id, &sizes)
    });
    let manifest = match manifest {
        Ok(manifest) => manifest,
        Err(why) => {
            report.rejected.push(format!("{}: {why}; no vector imported", share.commit));
            pull_adapter(store, git, root, snapshot, model_id, remote, &mut report)?;
            return finish(report);
        }
    };
    report.offered = manifest.vectors;
    if wanted.is_empty() {
        report.already = manifest.vectors;
        report.note = Some("every definition here has a vector already".into());
        pull_adapter(store, git, root, snapshot, model_id, remote, &mut report)?;
        return finish(report);
    }
    for group in manifest.shards.chunks(SHARDS_PER_READ) {
        if cancelled() {
            report.cancelled = true;
            break;
        }
        let mut group: Vec<&pack::ShardEntry> = group.iter().collect();
        group.retain(|entry| match pack::check_size(entry, share.blobs[&entry.name].1) {
            Ok(()) => true,
            Err(why) => {
                report.rejected.push(format!("{why}; its vectors were not imported"));
                false
            }
        });
        let ids: Vec<String> = group.iter().map(|shard| share.blobs[&shard.name].0.clone()).collect();
        let contents = git.read_blobs(root, &ids)?;
        for (entry, bytes) in group.into_iter().zip(contents) {
            report.bytes += bytes.len() as u64;
            let vectors = match pack::decode_shard(&bytes, entry, &manifest) {
                Ok(vectors) => vectors,
                Err(why) => {
                    report.rejected.push(format!("{why}; its vectors were not imported"));
                    continue;
                }
            };
            let mut batch = Vec::new();
            for (key, vector) in vectors {
                if wanted.remove(&key) {
                    batch.push((key, vector));
                } else if have.contains(&key) {
                    report.already += 1;
                } else {
                    report.unmatched += 1;
                }
            }
            report.imported += batch.len() as u64;
            report.missing -= batch.len() as u64;
            // One shard, one flushed batch: a kill keeps whole shards.
            store.put_embeddings(&model, &batch)?;
        }
    }
    if !report.cancelled {
        pull_adapter(store, git, root, snapshot, model_id, remote, &mut report)?;
    }
    finish(report)
}

/// Imports the shared adapter when it was trained on exactly this workspace's pairs
/// (`embed::adapter::accept_shared_state`); a corrupt one is named in `report.rejected`.
fn pull_adapter(
    store: &Store,
    git: &Git,
    root: &Path,
    snapshot: &Snapshot,
    model_id: &str,
    remote: &str,
    report: &mut PullReport,
) -> Result<()> {
    let reference = adapter_reference(model_id, &git.prefix(root)?);
    let Some(share) = fetch(git, root, remote, &reference)? else { return Ok(()) };
    let blob_size = share.blobs.get(ADAPTER).map_or(0, |(_, size)| *size);
    let blob = share
        .read(git, root, pack::MANIFEST, pack::MAX_MANIFEST_BYTES)?
        .and_then(|bytes| pack::check_blob_manifest(&bytes, ADAPTER_KIND, blob_size, MAX_ADAPTER_BYTES))
        .and_then(|manifest| {
            let blob = share.read(git, root, ADAPTER, MAX_ADAPTER_BYTES).ok().and_then(Result::ok).unwrap_or_default();
            pack::check_blob(&blob, &manifest).map(|()| blob)
        });
    let blob = match blob {
        Ok(blob) => blob,
        Err(why) => {
            report.rejected.push(format!("{}: {why}; the adapter was not imported", share.commit));
            return Ok(());
        }
    };
    report.bytes += blob.len() as u64;
    let commits = crate::history::stored::all_commits(store)?;
    report.adapter =
        Some(match crate::embed::adapter::accept_shared_state(store, snapshot, &commits, model_id, &blob)? {
            Ok(true) => "imported".into(),
            Ok(false) => "already here".into(),
            Err(why) => format!("not used: {why}"),
        });
    Ok(())
}

/// Imports the shared notes written for exactly this content (`notes::acceptable`), each one
/// stored durably; a rejected share is named in `report.rejected`.
fn pull_notes(
    store: &Store,
    git: &Git,
    root: &Path,
    snapshot: &Snapshot,
    remote: &str,
    report: &mut PullReport,
) -> Result<()> {
    let Some(share) = fetch(git, root, remote, &notes_reference_for(git, root)?)? else { return Ok(()) };
    let blob_size = share.blobs.get(notes::NOTES).map_or(0, |(_, size)| *size);
    let checked = share
        .read(git, root, pack::MANIFEST, pack::MAX_MANIFEST_BYTES)?
        .and_then(|bytes| pack::check_blob_manifest(&bytes, notes::KIND, blob_size, notes::MAX_NOTES_BYTES));
    let shared = match checked {
        Ok(manifest) => share.read(git, root, notes::NOTES, notes::MAX_NOTES_BYTES)?.and_then(|blob| {
            report.bytes += blob.len() as u64;
            notes::decode(&blob, &manifest)
        }),
        Err(why) => Err(why),
    };
    match shared {
        Ok(shared) => {
            report.notes_offered = shared.len() as u64;
            let accepted = notes::acceptable(shared, &store.notes()?, snapshot);
            for note in &accepted {
                store.put_note(note)?;
            }
            report.notes_imported = accepted.len() as u64;
        }
        Err(why) => report.rejected.push(format!("{}: {why}; no note imported", share.commit)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_names_are_names_never_options_or_paths() {
        for good in ["origin", "upstream", "team/share", "my-remote_2.x"] {
            assert_eq!(check_remote_name(good), Ok(()), "{good}");
        }
        for bad in ["", "--upload-pack=evil", "-o", "/tmp/repo", "../up", "a b", "ori:gin", "file://x"] {
            let err = check_remote_name(bad).unwrap_err();
            assert!(err.contains("is not a git remote's name"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_ref_names_the_model_and_the_folder() {
        let root = reference("local:all-MiniLM-L6-v2:abc:64", "");
        assert!(root.starts_with("refs/reverie/embeddings/") && root.ends_with("/root"), "{root}");
        assert_ne!(reference("local:other:abc:64", ""), root);
        assert_ne!(reference("local:all-MiniLM-L6-v2:abc:64", "sub/"), root);
        assert_eq!(reference("m", "sub/"), reference("m", "sub"));
    }
}
