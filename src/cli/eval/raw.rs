//! The raw-code baseline, system (a): BM25 over every indexed file cut into 60-line windows, each
//! window's text and path tokenized with `search::tokenize` — the context a chunk-and-retrieve
//! assistant has. Reads the workspace's files (at build time, and again for a window's text).

use crate::answer::{ContextItem, ItemKind};
use crate::eval::{self, CHUNK_LINES};
use crate::search;
use crate::snapshot::Snapshot;
use crate::tokens::estimate_tokens;
use rayon::prelude::*;
use std::path::Path;
use std::sync::Arc;

/// Raw chunks taken from BM25 per question (enough for 32k tokens and 10 distinct files).
const RAW_LIMIT: usize = 1000;

/// The reason a raw chunk is given in a prompt (raw retrieval has nothing more to say).
const RAW_REASON: &str = "matches the question's words";

/// One raw chunk: a window of a file.
struct Chunk {
    path: Arc<str>,
    start_line: u32,
    end_line: u32,
    tokens: usize,
}

/// The raw-code baseline's index: BM25 over 60-line windows of every indexed file.
pub(in crate::cli) struct RawChunks {
    chunks: Vec<Chunk>,
    bm25: search::Bm25,
}

impl RawChunks {
    pub(in crate::cli) fn build(root: &Path, snapshot: &Snapshot, max_file_size: u64) -> RawChunks {
        let keys: Vec<&Arc<str>> = snapshot.files.keys().collect();
        let per_file: Vec<Vec<(Chunk, Vec<String>)>> = keys
            .par_iter()
            .map(|key| {
                let Ok(bytes) = crate::workspace::read_source(&root.join(&***key), max_file_size) else {
                    return Vec::new();
                };
                let text = String::from_utf8_lossy(&bytes);
                let path_tokens = search::path_tokens(key);
                eval::line_windows(&text, CHUNK_LINES)
                    .into_iter()
                    .map(|(start_line, end_line, window)| {
                        let mut tokens = search::tokenize(window);
                        tokens.extend(path_tokens.iter().cloned());
                        let cost = estimate_tokens(window);
                        (Chunk { path: (*key).clone(), start_line, end_line, tokens: cost }, tokens)
                    })
                    .collect()
            })
            .collect();
        let (chunks, docs): (Vec<Chunk>, Vec<Vec<String>>) = per_file.into_iter().flatten().unzip();
        RawChunks { chunks, bm25: search::Bm25::new(docs.iter()) }
    }

    /// How many chunks there are.
    pub(super) fn len(&self) -> usize {
        self.chunks.len()
    }

    /// BM25's best chunks for `question`, as context items. The text is left empty (see `text_of`);
    /// `tokens` holds the window's.
    pub(in crate::cli) fn ranking(&self, question: &str) -> Vec<ContextItem> {
        self.bm25
            .search(&search::tokenize(question), RAW_LIMIT)
            .into_iter()
            .map(|(doc, score)| {
                let chunk = &self.chunks[doc as usize];
                ContextItem {
                    path: chunk.path.to_string(),
                    start_line: chunk.start_line,
                    end_line: chunk.end_line,
                    kind: ItemKind::Chunk,
                    score,
                    tokens: chunk.tokens,
                    reason: RAW_REASON.into(),
                    text: String::new(),
                    stale: false,
                }
            })
            .collect()
    }
}

/// The text of a raw chunk, read again from disk.
pub(super) fn text_of(root: &Path, item: &ContextItem, max_file_size: u64) -> String {
    let Ok(bytes) = crate::workspace::read_source(&root.join(&item.path), max_file_size) else { return String::new() };
    let text = String::from_utf8_lossy(&bytes);
    eval::line_windows(&text, CHUNK_LINES)
        .into_iter()
        .find(|w| w.0 == item.start_line)
        .map_or_else(String::new, |w| w.2.to_string())
}
