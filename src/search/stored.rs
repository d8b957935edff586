//! Search indexes kept between processes: a snapshot whose facts were all read from the store has an
//! identity (every file's path, language and content hash, the fact extraction's fingerprint and
//! `facts_index::recipe_probe`), and the indexes built for it are kept in files named by it
//! (`store::SearchFiles`), so the next process with the same facts maps them instead of building
//! them again — and reads only the pages a question touches.
//!
//! What this module guarantees: an index is taken from a file only when the file is a whole,
//! well-formed index (`Bm25::from_bytes`) over exactly as many documents as the snapshot gives;
//! anything else is rebuilt from the facts, with a log line saying why, and written again. A changed
//! file, a new extraction or a new recipe changes the identity, so a stale file is never read.

use super::bm25::{Bm25, IndexBytes};

/// Bump when the documents or the terms an index is built from change in a way the probe of
/// `facts_index::recipe_probe` does not show (the tokenizer's output on a fixed text is part of
/// the identity).
pub const RECIPE: u32 = 1;

/// Where one snapshot's indexes are kept: files named by the snapshot's identity.
pub trait IndexFiles: Send + Sync {
    /// The bytes of the index `name` kept for this snapshot, if a file holds them.
    fn read(&self, name: &str) -> Option<IndexBytes>;
    /// Keeps `bytes` as the index `name` of this snapshot (best effort: a failure is logged).
    fn write(&self, name: &str, bytes: &[u8]);
}

/// The index `name` from `files` when one is kept there over `documents` documents, else `build()`'s,
/// then kept.
pub fn load_or_build(
    files: Option<&dyn IndexFiles>,
    name: &str,
    documents: usize,
    build: impl FnOnce() -> Bm25,
) -> Bm25 {
    let Some(files) = files else { return build() };
    if let Some(bytes) = files.read(name) {
        match Bm25::from_bytes(bytes) {
            Ok(index) if index.len() == documents => {
                tracing::debug!("search index {name}: read in place ({} documents)", documents);
                return index;
            }
            Ok(index) => tracing::warn!(
                "the kept search index {name} has {} documents where the facts give {documents}; rebuilding it",
                index.len()
            ),
            Err(reason) => tracing::warn!("the kept search index {name} is unreadable ({reason}); rebuilding it"),
        }
    }
    let index = build();
    files.write(name, index.as_bytes());
    // Served from the file just written, so the built copy leaves the heap (a server keeps it).
    match files.read(name).map(Bm25::from_bytes) {
        Some(Ok(kept)) if kept.len() == documents => kept,
        _ => index,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    #[derive(Default)]
    struct InMemory(Mutex<HashMap<String, Vec<u8>>>);

    impl IndexFiles for InMemory {
        fn read(&self, name: &str) -> Option<IndexBytes> {
            let kept = self.0.lock().unwrap().get(name).cloned()?;
            Some(Box::new(kept))
        }

        fn write(&self, name: &str, bytes: &[u8]) {
            self.0.lock().unwrap().insert(name.to_string(), bytes.to_vec());
        }
    }

    fn index() -> Bm25 {
        Bm25::new(vec![super::super::tokenize("load settings"), super::super::tokenize("save settings")])
    }

    #[test]
    fn a_kept_index_is_read_and_a_bad_one_is_rebuilt_and_kept_again() {
        let files = InMemory::default();
        let mut builds = 0;
        let mut get = |documents| {
            load_or_build(Some(&files), "facts", documents, || {
                builds += 1;
                index()
            })
            .len()
        };
        assert_eq!((get(2), get(2)), (2, 2));
        // A kept index over another number of documents is never taken: built again each time.
        assert_eq!((get(3), get(3)), (2, 2));
        assert_eq!(builds, 3);
        files.0.lock().unwrap().get_mut("facts").unwrap().truncate(30);
        let rebuilt = load_or_build(Some(&files), "facts", 2, index);
        assert_eq!(rebuilt.search(&super::super::tokenize("load"), 1)[0].0, 0);
        assert_eq!(files.0.lock().unwrap()["facts"], index().as_bytes());
    }
}
