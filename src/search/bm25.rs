//! Okapi BM25 (k1 = 1.2, b = 0.75, Lucene's idf `ln(1 + (N − df + 0.5) / (df + 0.5))`) over documents
//! given as terms (`crate::terms`) or as term counts; query terms weigh by how often the question
//! repeats them. Ties go to the earlier document.

pub use crate::terms::{split_identifier, tokenize};
use std::collections::HashMap;

const K1: f64 = 1.2;
const B: f64 = 0.75;

/// A BM25 index over documents given as token lists.
#[derive(Debug, Default)]
pub struct Bm25 {
    postings: HashMap<String, Vec<(u32, u32)>>,
    lengths: Vec<u32>,
    average_length: f64,
}

impl Bm25 {
    pub fn new(documents: impl IntoIterator<Item = Vec<String>>) -> Bm25 {
        Bm25::from_counts(documents.into_iter().map(|tokens| {
            let mut counts: HashMap<String, u32> = HashMap::new();
            for token in tokens {
                *counts.entry(token).or_insert(0) += 1;
            }
            counts
        }))
    }

    /// From documents given as term → count (a document's length is the sum of its counts).
    pub fn from_counts<I, T>(documents: impl IntoIterator<Item = I>) -> Bm25
    where
        I: IntoIterator<Item = (T, u32)>,
        T: AsRef<str>,
    {
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut lengths = Vec::new();
        for (id, counts) in documents.into_iter().enumerate() {
            let mut length = 0;
            for (term, count) in counts {
                length += count;
                match postings.get_mut(term.as_ref()) {
                    Some(list) => list.push((id as u32, count)),
                    None => {
                        postings.insert(term.as_ref().to_string(), vec![(id as u32, count)]);
                    }
                }
            }
            lengths.push(length);
        }
        let average_length = if lengths.is_empty() {
            0.0
        } else {
            lengths.iter().map(|&l| l as f64).sum::<f64>() / lengths.len() as f64
        };
        Bm25 { postings, lengths, average_length }
    }

    /// The best conceivable score for `query`: every query term's idf (a document holding each once,
    /// at average length). A hit far below it matches only the question's commonest words.
    pub fn best_score(&self, query: &[String]) -> f64 {
        let n = self.lengths.len() as f64;
        let mut seen = std::collections::HashSet::new();
        query
            .iter()
            .filter(|t| seen.insert(*t))
            .filter_map(|t| self.postings.get(t))
            .map(|p| ((n - p.len() as f64 + 0.5) / (p.len() as f64 + 0.5) + 1.0).ln())
            .sum()
    }

    /// In how many documents `term` occurs.
    pub fn document_frequency(&self, term: &str) -> usize {
        self.postings.get(term).map_or(0, Vec::len)
    }

    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    /// The best `limit` documents for `query` terms, best first, with their scores. A term the query
    /// repeats weighs as often as it occurs.
    pub fn search(&self, query: &[String], limit: usize) -> Vec<(u32, f64)> {
        let n = self.lengths.len() as f64;
        let mut scores: HashMap<u32, f64> = HashMap::new();
        let mut weights: Vec<(&String, f64)> = Vec::new();
        let mut slot: HashMap<&String, usize> = HashMap::new();
        for token in query {
            match slot.get(token) {
                Some(&i) => weights[i].1 += 1.0,
                None => {
                    slot.insert(token, weights.len());
                    weights.push((token, 1.0));
                }
            }
        }
        for (token, weight) in weights {
            let Some(postings) = self.postings.get(token) else { continue };
            let df = postings.len() as f64;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(doc, tf) in postings {
                let tf = tf as f64;
                let length = self.lengths[doc as usize] as f64;
                let norm = tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * length / self.average_length.max(1.0)));
                *scores.entry(doc).or_insert(0.0) += weight * idf * norm;
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
