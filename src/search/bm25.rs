//! Lexical retrieval: identifier-aware tokens and a BM25 index.
//!
//! Code and questions name things differently (`load_settings`, "load the settings", `LoadSettings`),
//! so tokens are identifier parts: text is split on non-alphanumerics and at snake_case and camelCase
//! boundaries, lowercased, with a few English stop words dropped. Each identifier also keeps its
//! whole lowercased form, so an exact name matches strongest.

use std::collections::HashMap;

const K1: f64 = 1.2;
const B: f64 = 0.75;

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from", "how", "i", "if", "in",
    "is", "it", "its", "me", "my", "not", "of", "on", "or", "so", "that", "the", "this", "to", "was", "we", "what",
    "when", "where", "which", "who", "why", "will", "with", "you", "self", "none", "true", "false", "return", "def",
    "fn", "let", "var", "const", "import", "from", "class", "pub", "use",
];

/// Identifier-aware tokens of `text` (see the module docs).
pub fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if word.is_empty() {
            continue;
        }
        let parts = split_identifier(word);
        if parts.len() > 1 {
            let whole = word.to_lowercase();
            if whole.len() > 2 {
                tokens.push(whole);
            }
        }
        for part in parts {
            if part.len() > 1 && !STOP_WORDS.contains(&part.as_str()) && !part.chars().all(|c| c.is_ascii_digit()) {
                tokens.push(part);
            }
        }
    }
    tokens
}

/// `loadSettings_v2` → `load`, `settings`, `v2`; `HTTPServer` → `http`, `server`.
pub fn split_identifier(word: &str) -> Vec<String> {
    let mut parts = Vec::new();
    for piece in word.split('_').filter(|p| !p.is_empty()) {
        let chars: Vec<char> = piece.chars().collect();
        let mut current = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let boundary = i > 0
                && c.is_uppercase()
                && (chars[i - 1].is_lowercase()
                    || chars[i - 1].is_ascii_digit()
                    || (chars[i - 1].is_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_lowercase())));
            if boundary && !current.is_empty() {
                parts.push(std::mem::take(&mut current).to_lowercase());
            }
            current.push(c);
        }
        if !current.is_empty() {
            parts.push(current.to_lowercase());
        }
    }
    parts
}

/// A BM25 index over documents given as token lists.
#[derive(Debug, Default)]
pub struct Bm25 {
    postings: HashMap<String, Vec<(u32, u32)>>,
    lengths: Vec<u32>,
    average_length: f64,
}

impl Bm25 {
    pub fn new(documents: impl IntoIterator<Item = Vec<String>>) -> Bm25 {
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut lengths = Vec::new();
        for (id, tokens) in documents.into_iter().enumerate() {
            lengths.push(tokens.len() as u32);
            let mut counts: HashMap<String, u32> = HashMap::new();
            for token in tokens {
                *counts.entry(token).or_insert(0) += 1;
            }
            for (token, count) in counts {
                postings.entry(token).or_default().push((id as u32, count));
            }
        }
        let average_length = if lengths.is_empty() {
            0.0
        } else {
            lengths.iter().map(|&l| l as f64).sum::<f64>() / lengths.len() as f64
        };
        Bm25 { postings, lengths, average_length }
    }

    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    /// The best `limit` documents for `query` tokens, best first, with their scores.
    pub fn search(&self, query: &[String], limit: usize) -> Vec<(u32, f64)> {
        let n = self.lengths.len() as f64;
        let mut scores: HashMap<u32, f64> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for token in query {
            if !seen.insert(token) {
                continue;
            }
            let Some(postings) = self.postings.get(token) else { continue };
            let df = postings.len() as f64;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(doc, tf) in postings {
                let tf = tf as f64;
                let length = self.lengths[doc as usize] as f64;
                let norm = tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * length / self.average_length.max(1.0)));
                *scores.entry(doc).or_insert(0.0) += idf * norm;
            }
        }
        let mut ranked: Vec<(u32, f64)> = scores.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(limit);
        ranked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_split_at_case_and_underscores() {
        assert_eq!(split_identifier("loadSettings_v2"), ["load", "settings", "v2"]);
        assert_eq!(split_identifier("HTTPServer"), ["http", "server"]);
        assert_eq!(split_identifier("__init__"), ["init"]);
        assert_eq!(tokenize("Where is load_settings called?"), ["load_settings", "load", "settings", "called"]);
    }

    #[test]
    fn bm25_prefers_rare_terms_and_short_documents() {
        let docs = vec![
            tokenize("load settings from a file"),
            tokenize("save settings"),
            tokenize("parse the configuration file format and load it"),
        ];
        let index = Bm25::new(docs);
        let hits = index.search(&tokenize("load settings"), 3);
        assert_eq!(hits[0].0, 0);
        let hits = index.search(&tokenize("configuration"), 3);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, 2);
        assert!(index.search(&tokenize("nothing matches"), 3).is_empty());
    }
}
