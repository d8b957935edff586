//! An embedder that remembers every text's vector in a file across runs and workspace states, for
//! the ranking benchmark at base commits (`REVERIE_EVAL_VECTORS=FILE` with `REVERIE_EVAL_SEMANTIC=1`).
//!
//! The store keys a definition's vector by its file's content, so moving a working copy from one
//! base commit to the next re-embeds every definition of every file that changed in between, and
//! the store's garbage collection drops the vectors of files no longer present, so a second run
//! embeds them all again. Keyed by the text embedded (and the model id), a definition that did not
//! change is embedded once for the whole run and every later one: the vectors are the model's, so
//! the ranking is the one the product gives.
//!
//! The file is a run of records — the key's 32 bytes, the vector's length (u32, little endian), the
//! vector (f32, little endian) — appended after each batch; a torn last record (a run stopped
//! mid-write) is cut off when the file is read.

use crate::embed::{EmbedFuture, Embedder};
use crate::hash::{Digest, DigestBuilder};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// `inner` with a memory of every vector it computed, kept in a file.
pub struct Remembered {
    inner: Arc<dyn Embedder>,
    known: Mutex<HashMap<Digest, Vec<f32>>>,
    file: Mutex<std::fs::File>,
}

impl Remembered {
    /// Opens (or creates) `path` and reads what it remembers.
    pub fn open(inner: Arc<dyn Embedder>, path: &Path) -> Result<Remembered> {
        let mut known = HashMap::new();
        let mut valid = 0u64;
        if let Ok(bytes) = std::fs::read(path) {
            let mut at = 0usize;
            while at + 36 <= bytes.len() {
                let key: [u8; 32] = bytes[at..at + 32].try_into().expect("32 bytes");
                let dims = u32::from_le_bytes(bytes[at + 32..at + 36].try_into().expect("4 bytes")) as usize;
                let end = at + 36 + dims * 4;
                if end > bytes.len() {
                    break;
                }
                let vector =
                    bytes[at + 36..end].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
                known.insert(Digest(key), vector);
                at = end;
            }
            valid = at as u64;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("REVERIE_EVAL_VECTORS: cannot open {}", path.display()))?;
        file.set_len(valid).with_context(|| format!("REVERIE_EVAL_VECTORS: cannot cut {}", path.display()))?;
        eprintln!("reverie eval: {} vectors remembered in {}", known.len(), path.display());
        Ok(Remembered { inner, known: Mutex::new(known), file: Mutex::new(file) })
    }

    fn key(&self, text: &str) -> Digest {
        DigestBuilder::new().part(b"eval-vector").part(self.inner.model_id().as_bytes()).part(text.as_bytes()).finish()
    }
}

impl Embedder for Remembered {
    fn model_id(&self) -> String {
        self.inner.model_id()
    }

    fn dims(&self) -> Option<usize> {
        self.inner.dims()
    }

    fn max_batch(&self) -> usize {
        self.inner.max_batch()
    }

    fn max_tokens(&self) -> usize {
        self.inner.max_tokens()
    }

    fn abortable(&self) -> bool {
        self.inner.abortable()
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
        Box::pin(async move {
            let keys: Vec<Digest> = texts.iter().map(|t| self.key(t)).collect();
            let missing: Vec<usize> = {
                let known = self.known.lock().expect("known");
                (0..texts.len()).filter(|&i| !known.contains_key(&keys[i])).collect()
            };
            if !missing.is_empty() {
                let batch: Vec<String> = missing.iter().map(|&i| texts[i].clone()).collect();
                let vectors = self.inner.embed(&batch).await?;
                anyhow::ensure!(
                    vectors.len() == batch.len(),
                    "the embedder returned {} vectors for {}",
                    vectors.len(),
                    batch.len()
                );
                let mut bytes = Vec::new();
                for (&i, vector) in missing.iter().zip(&vectors) {
                    bytes.extend_from_slice(&keys[i].0);
                    bytes.extend_from_slice(&(vector.len() as u32).to_le_bytes());
                    vector.iter().for_each(|x| bytes.extend_from_slice(&x.to_le_bytes()));
                }
                self.file.lock().expect("file").write_all(&bytes).context("REVERIE_EVAL_VECTORS: writing")?;
                let mut known = self.known.lock().expect("known");
                for (&i, vector) in missing.iter().zip(vectors) {
                    known.insert(keys[i], vector);
                }
            }
            let known = self.known.lock().expect("known");
            Ok(keys.iter().map(|k| known[k].clone()).collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Vectors from the text's length; counts the texts it embedded.
    struct Lengths(AtomicUsize);

    impl Embedder for Lengths {
        fn model_id(&self) -> String {
            "lengths".into()
        }
        fn dims(&self) -> Option<usize> {
            Some(2)
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
        fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
            self.0.fetch_add(texts.len(), Ordering::SeqCst);
            Box::pin(async move { Ok(texts.iter().map(|t| vec![t.len() as f32, 1.0]).collect()) })
        }
    }

    #[test]
    fn a_text_is_embedded_once_across_runs_and_a_torn_record_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vectors.bin");
        let inner = Arc::new(Lengths(AtomicUsize::new(0)));
        let texts: Vec<String> = ["a", "bb", "a"].map(String::from).to_vec();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let first = Remembered::open(inner.clone(), &path).unwrap();
        let vectors = runtime.block_on(first.embed(&texts)).unwrap();
        assert_eq!(vectors, [vec![1.0, 1.0], vec![2.0, 1.0], vec![1.0, 1.0]]);
        assert_eq!(inner.0.load(Ordering::SeqCst), 3, "one batch: what was missing when it started");
        drop(first);
        // A torn record at the end: cut off, the rest kept.
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(&[7u8; 40]).unwrap();
        let second = Remembered::open(inner.clone(), &path).unwrap();
        let again = runtime.block_on(second.embed(&["bb".to_string(), "ccc".to_string()])).unwrap();
        assert_eq!(again, [vec![2.0, 1.0], vec![3.0, 1.0]]);
        assert_eq!(inner.0.load(Ordering::SeqCst), 4, "only the new text was embedded");
        drop(second);
        let third = Remembered::open(inner, &path).unwrap();
        assert_eq!(third.known.lock().unwrap().len(), 3);
    }
}
