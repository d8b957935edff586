//! Okapi BM25 (k1 = 1.2, b = 0.75, Lucene's idf `ln(1 + (N − df + 0.5) / (df + 0.5))`) over documents
//! given as terms (`crate::terms`) or as term counts; query terms weigh by how often the question
//! repeats them. Ties go to the earlier document.
//!
//! An index is one flat byte layout, the same in memory and in a file, read in place: a process
//! that finds it in a file maps it and reads only the pages of the terms a question asks for
//! (`search::stored`). All numbers little-endian:
//!
//! | bytes | what |
//! |---|---|
//! | 16 | `MAGIC` (its last byte the format version) |
//! | 4 × 4 | documents, terms, postings, bytes of term text (`u32`) |
//! | 8 | average document length (`f64`) |
//! | 4 × terms | where each term's text ends in the term text |
//! | term text | the terms, sorted bytewise, end to end |
//! | 4 × (terms + 1) | where each term's postings start (the last: the number of postings) |
//! | 8 × postings | (document, count) per term, documents increasing |
//! | 4 × documents | each document's length |
//!
//! `Bm25::from_bytes` checks the sizes, the term order and the postings' bounds before it serves a
//! byte (a truncated or damaged file is refused, never a panic); a document number out of range in
//! the postings counts for nothing.

pub use crate::terms::{split_identifier, tokenize};
use rustc_hash::FxHashMap as HashMap;

const K1: f64 = 1.2;
const B: f64 = 0.75;
/// The layout's first bytes; the last is its version.
const MAGIC: &[u8; 16] = b"reverie-bm25\0\0\0\x01";
const HEADER: usize = 16 + 16 + 8;

/// The bytes an index lives in: built in memory, or a file mapped by the caller.
pub type IndexBytes = Box<dyn AsRef<[u8]> + Send + Sync>;

/// A document's tokens as term → count.
fn count_tokens<I: IntoIterator<Item = T>, T: AsRef<str>>(tokens: I) -> HashMap<String, u32> {
    let mut counts: HashMap<String, u32> = HashMap::default();
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

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes.get(at..at + 4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Where each section of the layout starts, from the header's counts.
#[derive(Clone, Copy, Debug, Default)]
struct Sections {
    documents: usize,
    terms: usize,
    postings: usize,
    term_ends: usize,
    term_text: usize,
    starts: usize,
    posting_pairs: usize,
    lengths: usize,
    end: usize,
}

impl Sections {
    fn of(documents: usize, terms: usize, postings: usize, text_bytes: usize) -> Sections {
        let term_ends = HEADER;
        let term_text = term_ends + 4 * terms;
        let starts = term_text + text_bytes;
        let posting_pairs = starts + 4 * (terms + 1);
        let lengths = posting_pairs + 8 * postings;
        let end = lengths + 4 * documents;
        Sections { documents, terms, postings, term_ends, term_text, starts, posting_pairs, lengths, end }
    }
}

/// A BM25 index over documents given as token lists.
///
/// Postings are stored compressed-row style — one array of (document, count) ordered by term, and
/// where each term's run starts — built in two passes over the documents, so the index holds exactly
/// its postings, and a term costs 8 bytes besides its text. A term is found by binary search over
/// the sorted terms (no hash table to build when the index is read from a file).
pub struct Bm25 {
    bytes: IndexBytes,
    sections: Sections,
    average_length: f64,
}

impl std::fmt::Debug for Bm25 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bm25").field("sections", &self.sections).finish_non_exhaustive()
    }
}

impl Default for Bm25 {
    fn default() -> Bm25 {
        Bm25::from_counts(std::iter::empty::<Vec<(&str, u32)>>())
    }
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
    /// documents, once to place the postings straight into the layout.
    pub fn from_counts<D, I, T>(documents: D) -> Bm25
    where
        D: IntoIterator<Item = I>,
        D::IntoIter: Clone,
        I: IntoIterator<Item = (T, u32)>,
        T: AsRef<str>,
    {
        let mut rows: HashMap<Box<str>, u32> = HashMap::default();
        let mut frequencies: Vec<u32> = Vec::new();
        let mut lengths: Vec<u32> = Vec::new();
        let documents = documents.into_iter();
        for counts in documents.clone() {
            let mut length = 0;
            for (term, count) in counts {
                length += count;
                let row = match rows.get(term.as_ref()) {
                    Some(&row) => row,
                    None => {
                        let row = frequencies.len() as u32;
                        rows.insert(term.as_ref().into(), row);
                        frequencies.push(0);
                        row
                    }
                };
                frequencies[row as usize] += 1;
            }
            lengths.push(length);
        }
        // Rows in term order; `rows` becomes each term's place in it.
        let mut sorted: Vec<(&str, u32)> = rows.iter().map(|(t, &r)| (&**t, r)).collect();
        sorted.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut place = vec![0u32; sorted.len()];
        for (i, (_, row)) in sorted.iter().enumerate() {
            place[*row as usize] = i as u32;
        }
        let text_bytes: usize = sorted.iter().map(|(t, _)| t.len()).sum();
        let postings: usize = frequencies.iter().map(|&f| f as usize).sum();
        let s = Sections::of(lengths.len(), sorted.len(), postings, text_bytes);
        let mut bytes = Vec::with_capacity(s.end);
        let average_length = if lengths.is_empty() {
            0.0
        } else {
            lengths.iter().map(|&l| l as f64).sum::<f64>() / lengths.len() as f64
        };
        bytes.extend_from_slice(MAGIC);
        for count in [s.documents, s.terms, s.postings, text_bytes] {
            bytes.extend_from_slice(&(count as u32).to_le_bytes());
        }
        bytes.extend_from_slice(&average_length.to_le_bytes());
        let mut end = 0u32;
        for (term, _) in &sorted {
            end += term.len() as u32;
            bytes.extend_from_slice(&end.to_le_bytes());
        }
        for (term, _) in &sorted {
            bytes.extend_from_slice(term.as_bytes());
        }
        // `next[i]`: the next free slot of the i-th term's run.
        let mut next = Vec::with_capacity(sorted.len());
        let mut start = 0u32;
        for (_, row) in &sorted {
            bytes.extend_from_slice(&start.to_le_bytes());
            next.push(start);
            start += frequencies[*row as usize];
        }
        bytes.extend_from_slice(&start.to_le_bytes());
        drop(sorted);
        drop(frequencies);
        bytes.resize(s.lengths, 0);
        for (id, counts) in documents.enumerate() {
            for (term, count) in counts {
                let Some(&row) = rows.get(term.as_ref()) else { continue };
                let i = place[row as usize] as usize;
                let run_end = if i + 1 < next.len() { u32_at(&bytes, s.starts + 4 * (i + 1)) } else { start };
                // Both walks see the same documents; the bound only keeps a term inside its own run.
                if next[i] < run_end {
                    let at = s.posting_pairs + 8 * next[i] as usize;
                    bytes[at..at + 4].copy_from_slice(&(id as u32).to_le_bytes());
                    bytes[at + 4..at + 8].copy_from_slice(&count.to_le_bytes());
                    next[i] += 1;
                }
            }
        }
        for length in &lengths {
            bytes.extend_from_slice(&length.to_le_bytes());
        }
        Bm25 { bytes: Box::new(bytes), sections: s, average_length }
    }

    /// An index over bytes laid out as `as_bytes` gives them (a file written earlier), checked
    /// first: the reason when they are not such an index.
    pub fn from_bytes(bytes: IndexBytes) -> Result<Bm25, String> {
        let b = (*bytes).as_ref();
        if b.len() < HEADER || &b[..16] != MAGIC {
            return Err("not a search index of this version".into());
        }
        let count = |i: usize| u32_at(b, 16 + 4 * i) as usize;
        let s = Sections::of(count(0), count(1), count(2), count(3));
        if b.len() != s.end {
            return Err(format!("{} bytes where its header says {}", b.len(), s.end));
        }
        let average_length = f64::from_le_bytes(b[32..40].try_into().unwrap_or_default());
        if !average_length.is_finite() || average_length < 0.0 {
            return Err("a damaged header".into());
        }
        let mut previous: Option<&[u8]> = None;
        let mut text_start = 0;
        for i in 0..s.terms {
            let text_end = u32_at(b, s.term_ends + 4 * i) as usize;
            let Some(term) = (text_start <= text_end && s.term_text + text_end <= s.starts)
                .then(|| &b[s.term_text + text_start..s.term_text + text_end])
            else {
                return Err(format!("term {i} lies outside the term text"));
            };
            if previous.is_some_and(|p| p >= term) {
                return Err(format!("term {i} is out of order"));
            }
            previous = Some(term);
            text_start = text_end;
        }
        let mut run_start = 0;
        for i in 0..=s.terms {
            let start = u32_at(b, s.starts + 4 * i) as usize;
            if start < run_start || start > s.postings || (i == 0 && start != 0) {
                return Err(format!("the postings of term {i} lie outside the postings"));
            }
            run_start = start;
        }
        if run_start != s.postings {
            return Err("the postings do not add up".into());
        }
        Ok(Bm25 { bytes, sections: s, average_length })
    }

    /// The layout, to be kept in a file and read again with `from_bytes`.
    pub fn as_bytes(&self) -> &[u8] {
        (*self.bytes).as_ref()
    }

    /// Bytes this index is made of (on the heap when built here, mapped when read from a file).
    pub fn heap_bytes(&self) -> usize {
        self.as_bytes().len()
    }

    fn term(&self, i: usize) -> &[u8] {
        let (b, s) = (self.as_bytes(), &self.sections);
        let start = if i == 0 { 0 } else { u32_at(b, s.term_ends + 4 * (i - 1)) as usize };
        let end = u32_at(b, s.term_ends + 4 * i) as usize;
        b.get(s.term_text + start..s.term_text + end).unwrap_or_default()
    }

    /// The postings of `term`: (document, count), documents in increasing order.
    fn postings(&self, term: &str) -> Option<Postings<'_>> {
        let at = crate::terms::find_sorted(self.sections.terms, |i| self.term(i).cmp(term.as_bytes()))?;
        let (b, s) = (self.as_bytes(), &self.sections);
        let start = u32_at(b, s.starts + 4 * at) as usize;
        let end = u32_at(b, s.starts + 4 * (at + 1)) as usize;
        let run = b.get(s.posting_pairs + 8 * start..s.posting_pairs + 8 * end).unwrap_or_default();
        Some(Postings(run))
    }

    fn length(&self, document: u32) -> Option<u32> {
        let s = &self.sections;
        ((document as usize) < s.documents).then(|| u32_at(self.as_bytes(), s.lengths + 4 * document as usize))
    }

    /// The best conceivable score for `query`: every query term's idf (a document holding each once,
    /// at average length). A hit far below it matches only the question's commonest words.
    pub fn best_score(&self, query: &[String]) -> f64 {
        let n = self.len() as f64;
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
        self.postings(term).map_or(0, |p| p.len())
    }

    pub fn len(&self) -> usize {
        self.sections.documents
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The best `limit` documents for `query` terms, best first, with their scores. A term the query
    /// repeats weighs as often as it occurs.
    pub fn search(&self, query: &[String], limit: usize) -> Vec<(u32, f64)> {
        let n = self.len() as f64;
        let mut scores: HashMap<u32, f64> = HashMap::default();
        let mut weights: Vec<(&String, f64)> = Vec::new();
        let mut slot: HashMap<&String, usize> = HashMap::default();
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
            for (doc, tf) in postings.iter() {
                let Some(length) = self.length(doc) else { continue };
                let tf = tf as f64;
                let length = length as f64;
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

/// One term's run of postings in the layout.
struct Postings<'a>(&'a [u8]);

impl Postings<'_> {
    fn len(&self) -> usize {
        self.0.len() / 8
    }

    fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.0.chunks_exact(8).map(|p| (u32_at(p, 0), u32_at(p, 4)))
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
                let mut m = HashMap::default();
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
            let postings: Vec<(u32, u32)> = index.postings(t).map(|p| p.iter().collect()).unwrap_or_default();
            assert_eq!(postings, naive, "{t}");
        }
    }

    #[test]
    fn an_index_read_from_its_bytes_answers_as_the_one_built() {
        let docs = vec![
            tokenize("load settings from a file"),
            tokenize("save settings"),
            tokenize("parse the configuration file format and load it"),
            Vec::new(),
        ];
        let built = Bm25::new(docs);
        let read = Bm25::from_bytes(Box::new(built.as_bytes().to_vec())).expect("its own bytes");
        for question in ["load settings", "file", "configuration format", "nothing", "settings settings save"] {
            let query = tokenize(question);
            assert_eq!(read.search(&query, 10), built.search(&query, 10), "{question}");
            assert_eq!(read.best_score(&query), built.best_score(&query));
        }
        assert_eq!(read.len(), 4);
        assert_eq!(read.document_frequency("settings"), 2);
        let empty = Bm25::from_bytes(Box::new(Bm25::default().as_bytes().to_vec())).expect("empty");
        assert!(empty.is_empty() && empty.search(&tokenize("load"), 3).is_empty());
    }

    #[test]
    fn truncated_or_damaged_bytes_are_refused_with_a_reason() {
        let bytes = Bm25::new(vec![tokenize("load settings"), tokenize("save settings")]).as_bytes().to_vec();
        let refused = |bytes: Vec<u8>| Bm25::from_bytes(Box::new(bytes)).expect_err("refused");
        assert!(refused(bytes[..bytes.len() - 1].to_vec()).contains("bytes where its header says"));
        assert!(refused(Vec::new()).contains("not a search index"));
        let mut other_version = bytes.clone();
        other_version[15] = 0;
        assert!(refused(other_version).contains("not a search index"));
        // Terms swapped: "load" and "save" (same length) exchange their text.
        let mut swapped = bytes.clone();
        let at = swapped.windows(4).position(|w| w == b"load").expect("load");
        let to = swapped.windows(4).position(|w| w == b"save").expect("save");
        swapped.copy_within(to..to + 4, at);
        assert!(refused(swapped).contains("out of order"));
        // Any single damaged byte is refused or served without a panic.
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0xA5;
            if let Ok(index) = Bm25::from_bytes(Box::new(damaged)) {
                let _ = index.search(&tokenize("load settings save"), 5);
                let _ = index.best_score(&tokenize("load settings"));
            }
        }
    }
}
