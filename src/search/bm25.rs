//! Okapi BM25 (k1 = 1.2, b = 0.75, Lucene's idf `ln(1 + (N − df + 0.5) / (df + 0.5))`) over documents
//! given as terms (`crate::terms`) or as term counts; query terms weigh by how often the question
//! repeats them. Ties go to the earlier document.

pub use crate::terms::{split_identifier, tokenize};
use std::collections::HashMap;

const K1: f64 = 1.2;
const B: f64 = 0.75;

/// A document's tokens as term → count.
fn count_tokens<I: IntoIterator<Item = T>, T: AsRef<str>>(tokens: I) -> HashMap<String, u32> {
    let mut counts: HashMap<String, u32> = HashMap::new();
    for token in tokens {
        match counts.get_mut(token.as_ref()) {
            Some(count) => *count += 1,
            None => {
                counts.insert(token.as_ref().to_string(), 1);
            }
        }
    }
    counts
}

/// A BM25 index over documents given as token lists.
///
/// Postings are stored compressed-row style — one array of (document, count) ordered by term, and
/// where each term's run starts — built in two passes over the documents, so the index holds exactly
/// its postings: no per-term vector with room to grow (a quarter of it, on average, was spare), and
/// a term costs 28 bytes besides its text instead of 48. The server keeps three of these (the facts, the
/// code bodies, whole files).
#[derive(Debug, Default)]
pub struct Bm25 {
    /// Term → its row.
    terms: HashMap<Box<str>, u32>,
    /// Row `r`'s postings are `postings[starts[r]..starts[r + 1]]`.
    starts: Vec<u32>,
    postings: Vec<(u32, u32)>,
    lengths: Vec<u32>,
    average_length: f64,
}

impl Bm25 {
    /// From documents given as tokens (the iterator is walked twice).
    pub fn new<D, I, T>(documents: D) -> Bm25
    where
        D: IntoIterator<Item = I>,
        D::IntoIter: Clone,
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let counted = documents.into_iter().map(count_tokens::<I, T>);
        Bm25::from_counts(counted)
    }

    /// From documents given as term → count (a document's length is the sum of its counts; a term
    /// must not repeat within a document). The iterator is walked twice: once to count each term's
    /// documents, once to place the postings.
    pub fn from_counts<D, I, T>(documents: D) -> Bm25
    where
        D: IntoIterator<Item = I>,
        D::IntoIter: Clone,
        I: IntoIterator<Item = (T, u32)>,
        T: AsRef<str>,
    {
        let mut terms: HashMap<Box<str>, u32> = HashMap::new();
        let mut frequencies: Vec<u32> = Vec::new();
        let mut lengths = Vec::new();
        let documents = documents.into_iter();
        for counts in documents.clone() {
            let mut length = 0;
            for (term, count) in counts {
                length += count;
                let row = match terms.get(term.as_ref()) {
                    Some(&row) => row,
                    None => {
                        let row = frequencies.len() as u32;
                        terms.insert(term.as_ref().into(), row);
                        frequencies.push(0);
                        row
                    }
                };
                frequencies[row as usize] += 1;
            }
            lengths.push(length);
        }
        terms.shrink_to_fit();
        let mut starts = Vec::with_capacity(frequencies.len() + 1);
        let mut total = 0u32;
        starts.push(0);
        for frequency in &frequencies {
            total += frequency;
            starts.push(total);
        }
        // `frequencies` becomes each row's next free slot.
        let rows = frequencies.len();
        frequencies.copy_from_slice(&starts[..rows]);
        let mut postings = vec![(0u32, 0u32); total as usize];
        for (id, counts) in documents.enumerate() {
            for (term, count) in counts {
                let Some(&row) = terms.get(term.as_ref()) else { continue };
                let slot = &mut frequencies[row as usize];
                // Both walks see the same documents; the bound only keeps a row inside its own run.
                if *slot < starts[row as usize + 1] {
                    postings[*slot as usize] = (id as u32, count);
                    *slot += 1;
                }
            }
        }
        let average_length = if lengths.is_empty() {
            0.0
        } else {
            lengths.iter().map(|&l| l as f64).sum::<f64>() / lengths.len() as f64
        };
        Bm25 { terms, starts, postings, lengths, average_length }
    }

    /// Bytes this index holds on the heap (an estimate from its sizes: the term table at the hash
    /// map's load factor, each term's text, the postings and lengths).
    pub fn heap_bytes(&self) -> usize {
        let text: usize = self.terms.keys().map(|t| t.len()).sum();
        text + self.terms.capacity() * (std::mem::size_of::<(Box<str>, u32)>() + 1) * 8 / 7
            + self.starts.capacity() * 4
            + self.postings.capacity() * std::mem::size_of::<(u32, u32)>()
            + self.lengths.capacity() * 4
    }

    /// The postings of `term`: (document, count), documents in increasing order.
    fn postings(&self, term: &str) -> Option<&[(u32, u32)]> {
        let row = *self.terms.get(term)? as usize;
        Some(&self.postings[self.starts[row] as usize..self.starts[row + 1] as usize])
    }

    /// The best conceivable score for `query`: every query term's idf (a document holding each once,
    /// at average length). A hit far below it matches only the question's commonest words.
    pub fn best_score(&self, query: &[String]) -> f64 {
        let n = self.lengths.len() as f64;
        let mut seen = std::collections::HashSet::new();
        query
            .iter()
            .filter(|t| seen.insert(*t))
            .filter_map(|t| self.postings(t))
            .map(|p| ((n - p.len() as f64 + 0.5) / (p.len() as f64 + 0.5) + 1.0).ln())
            .sum()
    }

    /// In how many documents `term` occurs.
    pub fn document_frequency(&self, term: &str) -> usize {
        self.postings(term).map_or(0, <[_]>::len)
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
            let Some(postings) = self.postings(token) else { continue };
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

    #[test]
    fn postings_are_those_of_a_plain_inverted_index_whatever_the_order_of_terms() {
        let vocab: Vec<String> = (0..50).map(|i| format!("t{i}")).collect();
        let mut seed = 7u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        let docs: Vec<HashMap<String, u32>> = (0..200)
            .map(|_| {
                let mut m = HashMap::new();
                for _ in 0..(rnd() % 30) {
                    *m.entry(vocab[rnd() % 50].clone()).or_insert(0) += 1;
                }
                m
            })
            .collect();
        // Each walk meets a document's terms in its HashMap's order.
        let index = Bm25::from_counts(docs.iter().map(|d| d.iter().map(|(k, v)| (k.as_str(), *v))));
        for t in &vocab {
            let naive: Vec<(u32, u32)> =
                docs.iter().enumerate().filter_map(|(i, d)| d.get(t).map(|c| (i as u32, *c))).collect();
            assert_eq!(index.postings(t).unwrap_or(&[]), naive.as_slice(), "{t}");
        }
    }
}
