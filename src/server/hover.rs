//! The hover card: `answer::describe_symbol`'s card (signature, doc, definition site, learned
//! summary), marked as reverie's, with its references listed by caller — the definition that
//! encloses each reference — each with its line and a link that opens it (`links.rs`).
//!
//! Guarantees: pure (a function of the snapshot, the learned context and the workspace roots); at
//! most `MAX_CALLERS` callers are listed, the rest counted.

use crate::answer::{LearnedContext, describe_symbol};
use crate::snapshot::Snapshot;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

/// Most callers listed on a card.
const MAX_CALLERS: usize = 8;

/// One place that references the symbol: the file, the first line, the enclosing definition (`None`
/// at the top level of the file) and how many references it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub file: String,
    pub line: u32,
    pub within: Option<String>,
    pub references: u32,
}

/// The hover card for `name` (preferring its definition in `from`), or `None` if it is not defined
/// in the workspace.
pub fn card(
    snapshot: &Snapshot,
    learned: Option<&LearnedContext>,
    name: &str,
    from: Option<&str>,
    roots: &[PathBuf],
) -> Option<String> {
    let described = describe_symbol(snapshot, learned, name, from)?;
    // The card up to its references section, which is written here with callers and lines.
    let head: Vec<&str> = described.lines().take_while(|line| !is_references_line(line)).collect();
    let mut out = String::from("**reverie**\n\n");
    // The definition site and any other citation in the head open the real file too.
    let is_key = |key: &str| snapshot.files.contains_key(key);
    let head = super::links::link_citations(head.join("\n").trim_end(), roots, super::links::Target::Uri, &is_key);
    out.push_str(&head);
    out.push_str("\n\n");
    let callers = callers(snapshot, name);
    if callers.is_empty() {
        let _ = writeln!(out, "No references to `{name}` in the workspace.");
        return Some(out);
    }
    let total: u32 = callers.iter().map(|c| c.references).sum();
    let files = callers.iter().map(|c| c.file.as_str()).collect::<std::collections::BTreeSet<_>>().len();
    let _ = writeln!(out, "{total} reference{} in {files} file{}:", plural(total as usize), plural(files));
    for caller in callers.iter().take(MAX_CALLERS) {
        let link = super::links::link(roots, &caller.file, &caller.line.to_string(), super::links::Target::Uri);
        let who = match &caller.within {
            Some(within) => format!("`{within}`"),
            None => "top level".to_string(),
        };
        let times = if caller.references > 1 { format!(" ({} references)", caller.references) } else { String::new() };
        let _ = writeln!(out, "- {who} — {link}{times}");
    }
    if callers.len() > MAX_CALLERS {
        let _ = writeln!(out, "- … and {} more", callers.len() - MAX_CALLERS);
    }
    Some(out)
}

/// `describe_symbol`'s references section starts with "N reference(s) in M file(s):" or "No references".
fn is_references_line(line: &str) -> bool {
    if line.starts_with("No references to ") {
        return true;
    }
    let mut words = line.split(' ');
    let count = words.next().is_some_and(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit()));
    count && words.next().is_some_and(|w| w.starts_with("reference")) && line.ends_with(':')
}

/// Every place that references `name`, grouped by enclosing definition: the files with the most
/// references first, then by line.
pub fn callers(snapshot: &Snapshot, name: &str) -> Vec<Caller> {
    let mut callers = Vec::new();
    for (file, _) in snapshot.referencing_files(name) {
        let Some(facts) = snapshot.files.get(&file) else { continue };
        let mut by_definition: BTreeMap<Option<usize>, Caller> = BTreeMap::new();
        for reference in facts.references.iter().filter(|r| r.name == name) {
            // The innermost definition whose span holds the reference.
            let within = facts.enclosing_definition(&reference.span).map(|i| i as usize);
            let line = reference.span.start.line + 1;
            by_definition
                .entry(within)
                .and_modify(|c| {
                    c.references += 1;
                    c.line = c.line.min(line);
                })
                .or_insert_with(|| Caller {
                    file: file.to_string(),
                    line,
                    within: within.map(|i| facts.definitions[i].name.clone()),
                    references: 1,
                });
        }
        let mut in_file: Vec<Caller> = by_definition.into_values().collect();
        in_file.sort_by_key(|c| c.line);
        callers.extend(in_file);
    }
    callers
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Language;
    use std::sync::Arc;

    fn snapshot(files: &[(&str, &str)]) -> Snapshot {
        let files = files
            .iter()
            .map(|(key, text)| {
                let facts = crate::syntax::extract(text.as_bytes(), Language::Python);
                (Arc::<str>::from(*key), Arc::new(facts))
            })
            .collect();
        Snapshot::new(files)
    }

    #[test]
    fn callers_are_named_by_their_enclosing_definition() {
        let snapshot = snapshot(&[
            ("cart.py", "def add_line_item(cart, item):\n    check(item)\n    check(cart)\n\n\ncheck(None)\n"),
            ("rules.py", "def check(x):\n    return x\n"),
        ]);
        let callers = callers(&snapshot, "check");
        assert_eq!(
            callers,
            vec![
                Caller { file: "cart.py".into(), line: 2, within: Some("add_line_item".into()), references: 2 },
                Caller { file: "cart.py".into(), line: 6, within: None, references: 1 },
            ]
        );
        let card = card(&snapshot, None, "check", None, &[PathBuf::from("/ws")]).unwrap();
        assert!(card.starts_with("**reverie**"), "{card}");
        assert!(card.contains("def check(x)"), "{card}");
        assert!(card.contains("defined at [/ws/rules.py:1-2](file:///ws/rules.py#L1)"), "{card}");
        assert!(card.contains("3 references in 1 file:"), "{card}");
        assert!(card.contains("- `add_line_item` — [/ws/cart.py:2](file:///ws/cart.py#L2) (2 references)"), "{card}");
        assert!(card.contains("- top level — [/ws/cart.py:6](file:///ws/cart.py#L6)"), "{card}");
        assert_eq!(card.matches(" in 1 file").count(), 1, "one references section: {card}");
    }

    #[test]
    fn an_unreferenced_symbol_says_so() {
        let snapshot = snapshot(&[("rules.py", "def check(x):\n    return x\n")]);
        let card = card(&snapshot, None, "check", None, &[]).unwrap();
        assert!(card.ends_with("No references to `check` in the workspace.\n"), "{card}");
    }
}
