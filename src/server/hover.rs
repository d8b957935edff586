//! The hover card: `answer::describe_symbol`'s card (signature, doc, definition site, learned
//! summary), marked as reverie's, with its references listed by caller — the definition that
//! encloses each reference — each with its line and a link that opens it (`links.rs`).
//!
//! When the history is mined, the card ends with the files most often changed together with the
//! definition's file (co-change: what else may need to change).
//!
//! Guarantees: pure (a function of the snapshot, the learned context, the mined history and the
//! workspace roots); at most `MAX_CALLERS` callers are listed, the rest counted; at most
//! `MAX_CO_CHANGES` files changed together, each at least `MIN_TOGETHER` times.

use crate::answer::{LearnedContext, describe_symbol};
use crate::search::PastChanges;
use crate::snapshot::Snapshot;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

/// Most callers listed on a card.
const MAX_CALLERS: usize = 8;
/// Most files listed as changed together with the definition's file.
const MAX_CO_CHANGES: usize = 3;
/// Fewer shared commits than this is chance, not coupling.
const MIN_TOGETHER: u32 = 2;

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
    past: Option<&PastChanges>,
    name: &str,
    from: Option<&str>,
    roots: &[PathBuf],
) -> Option<String> {
    let described = describe_symbol(snapshot, learned, name, from)?;
    let co_changes = past.zip(snapshot.definitions_named(name, from).first()).map(|(past, (key, _))| {
        let (of, with) = past.changed_with(key, MIN_TOGETHER, MAX_CO_CHANGES);
        (key.clone(), of, with)
    });
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
    } else {
        write_callers(&mut out, &callers, roots);
    }
    if let Some((key, of, with)) = co_changes
        && !with.is_empty()
    {
        let files: Vec<String> = with
            .iter()
            .map(|c| {
                let link = super::links::link(roots, &c.file, "1", super::links::Target::Uri);
                format!("{link} ({} of its {of} commits)", c.together)
            })
            .collect();
        let _ = writeln!(out, "\nChanged together with `{key}` in past commits: {}", files.join(", "));
    }
    Some(out)
}

/// "N references in M files:" and the callers, each a link.
fn write_callers(out: &mut String, callers: &[Caller], roots: &[PathBuf]) {
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
        // Read without keeping: a common name's referencing files would otherwise stay in memory.
        let Some(facts) = snapshot.files.fetch(&file) else { continue };
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

    #[test]
    fn callers_are_named_by_their_enclosing_definition() {
        let snapshot = Snapshot::of_python(&[
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
        let card = card(&snapshot, None, None, "check", None, &[PathBuf::from("/ws")]).unwrap();
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
        let snapshot = Snapshot::of_python(&[("rules.py", "def check(x):\n    return x\n")]);
        let card = card(&snapshot, None, None, "check", None, &[]).unwrap();
        assert!(card.ends_with("No references to `check` in the workspace.\n"), "{card}");
    }

    #[test]
    fn the_files_changed_together_with_the_definition_close_the_card() {
        let snapshot = Snapshot::of_python(&[("rules.py", "def check(x):\n    return x\n")]);
        let commit = |id: &str, files: &[&str]| crate::search::PastCommit {
            id: id.into(),
            files: files.iter().map(|f| f.to_string()).collect(),
            files_touched: files.len() as u32,
            ..Default::default()
        };
        let past = PastChanges::new(vec![
            commit("1", &["rules.py", "cart.py"]),
            commit("2", &["rules.py", "cart.py", "docs.rst"]),
            commit("3", &["rules.py"]),
        ]);
        let card = card(&snapshot, None, Some(&past), "check", None, &[PathBuf::from("/ws")]).unwrap();
        assert!(
            card.ends_with(
                "Changed together with `rules.py` in past commits: [/ws/cart.py:1](file:///ws/cart.py#L1) (2 of its 3 commits)\n"
            ),
            "{card}"
        );
        assert!(!card.contains("docs.rst"), "changed together once is chance: {card}");
    }
}
