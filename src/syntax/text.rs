//! The words of a file for full-text search, stored with its facts: one document per definition
//! (its own lines — the lines of definitions nested in it belong to those) and one per run of up to
//! `CHUNK_LINES` lines outside every definition (module-level code, or a whole file in a language
//! without a grammar). Each document keeps its term counts (`crate::terms`), so the full-text index
//! is built from facts without reading a file again, and is content-addressed like them.
//!
//! Pure: a function of the bytes and the definitions extracted from them.

use super::facts::{Definition, TermCounts, TextDoc};
use rustc_hash::FxHashMap;

/// Lines per document for code outside every definition.
pub const CHUNK_LINES: u32 = 60;

/// The full-text documents of a file (see the module docs), in line order; documents without a
/// single term are left out.
pub fn text_docs(bytes: &[u8], definitions: &[Definition]) -> Vec<TextDoc> {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return Vec::new();
    }
    // Each line belongs to the innermost definition spanning it: paint the largest first.
    let mut owner: Vec<Option<u32>> = vec![None; lines.len()];
    let mut order: Vec<usize> = (0..definitions.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(definitions[i].span.end.line - definitions[i].span.start.line));
    for i in order {
        let span = &definitions[i].span;
        let end = (span.end.line as usize).min(lines.len() - 1);
        for slot in owner.iter_mut().take(end + 1).skip(span.start.line as usize) {
            *slot = Some(i as u32);
        }
    }
    let mut per_definition: FxHashMap<u32, FxHashMap<String, u32>> = FxHashMap::default();
    let mut docs = Vec::new();
    let mut chunk: Option<(u32, FxHashMap<String, u32>)> = None;
    let close_chunk = |chunk: &mut Option<(u32, FxHashMap<String, u32>)>, last_line: u32, docs: &mut Vec<TextDoc>| {
        if let Some((start, counts)) = chunk.take()
            && !counts.is_empty()
        {
            docs.push(TextDoc { start_line: start, end_line: last_line, definition: None, terms: sorted(counts) });
        }
    };
    for (index, line) in lines.iter().enumerate() {
        let line_no = index as u32 + 1;
        match owner[index] {
            Some(def) => {
                close_chunk(&mut chunk, line_no - 1, &mut docs);
                count_terms(line, per_definition.entry(def).or_default());
            }
            None => {
                if chunk.as_ref().is_some_and(|(start, _)| line_no - start >= CHUNK_LINES) {
                    close_chunk(&mut chunk, line_no - 1, &mut docs);
                }
                let (_, counts) = chunk.get_or_insert_with(|| (line_no, FxHashMap::default()));
                count_terms(line, counts);
            }
        }
    }
    close_chunk(&mut chunk, lines.len() as u32, &mut docs);
    for (def, counts) in per_definition {
        if counts.is_empty() {
            continue;
        }
        let (start_line, end_line) = definitions[def as usize].span.lines_1based();
        docs.push(TextDoc { start_line, end_line, definition: Some(def), terms: sorted(counts) });
    }
    docs.sort_by_key(|d| (d.start_line, d.definition));
    docs
}

/// Adds the terms of `line` to `counts`, allocating only for a term not counted yet.
fn count_terms(line: &str, counts: &mut FxHashMap<String, u32>) {
    crate::terms::for_each_token(line, |term| match counts.get_mut(term) {
        Some(count) => *count += 1,
        None => {
            counts.insert(term.to_string(), 1);
        }
    });
}

/// Term counts in a fixed order, so equal files store equal bytes.
fn sorted(counts: FxHashMap<String, u32>) -> TermCounts {
    TermCounts::new(counts.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use crate::syntax::{Language, extract};

    #[test]
    fn bodies_module_code_and_nested_definitions_are_separate_documents() {
        let source = "import os\nRETRY_MESSAGE = 'connection refused, retrying'\n\nclass Pool:\n    size = 4\n\n    def acquire(self):\n        return self.sockets.pop()\n";
        let facts = extract(source.as_bytes(), Language::Python);
        let docs = &facts.text;
        let module = docs.iter().find(|d| d.definition.is_none()).unwrap();
        assert_eq!((module.start_line, module.end_line), (1, 1), "{docs:?}");
        assert!(module.terms.contains("os"), "{module:?}");
        assert!(
            docs.iter().any(|d| d.definition.is_some() && d.terms.contains("refused")),
            "a message kept in a constant is searchable: {docs:?}"
        );
        let acquire = docs
            .iter()
            .find(|d| d.definition.is_some_and(|i| facts.definitions[i as usize].name == "acquire"))
            .unwrap();
        assert!(acquire.terms.contains("sockets"));
        let pool =
            docs.iter().find(|d| d.definition.is_some_and(|i| facts.definitions[i as usize].name == "Pool")).unwrap();
        assert!(pool.terms.contains("size"));
        assert!(!pool.terms.contains("sockets"), "a method's words belong to the method");
    }

    #[test]
    fn code_outside_definitions_is_cut_into_chunks() {
        let source: String = (0..150).map(|i| format!("value_{i} = compute({i})\n")).collect();
        let docs = super::text_docs(source.as_bytes(), &[]);
        let spans: Vec<(u32, u32)> = docs.iter().map(|d| (d.start_line, d.end_line)).collect();
        assert_eq!(spans, [(1, 60), (61, 120), (121, 150)]);
    }
}
