//! A symbol → a hover card: where it is defined, its signature and doc, and who uses it.

use super::learned::LearnedContext;
use crate::snapshot::Snapshot;
use std::fmt::Write;

/// Callers listed by name on the card.
const TOP_CALLERS: usize = 5;

/// Markdown describing `name` as seen from the file `from` (its own definitions come first), or
/// `None` if the workspace defines nothing by that name.
pub fn describe_symbol(
    snapshot: &Snapshot,
    learned: Option<&LearnedContext>,
    name: &str,
    from: Option<&str>,
) -> Option<String> {
    let defs = snapshot.definitions_named(name, from);
    let (key, index) = defs.first()?;
    let facts = snapshot.files.get(key)?;
    let def = facts.definitions.get(*index as usize)?;
    let mut out = String::new();
    let _ = writeln!(out, "```{}\n{}\n```", facts.language.name(), def.signature);
    if let Some(doc) = &def.doc {
        let _ = writeln!(out, "{doc}\n");
    }
    let (start, end) = def.span.lines_1based();
    let _ = write!(out, "{} defined at `{}:{}-{}`", def.kind.name(), key, start, end);
    if defs.len() > 1 {
        let _ = write!(
            out,
            " (and {} other definition{} of `{name}`)",
            defs.len() - 1,
            if defs.len() == 2 { "" } else { "s" }
        );
    }
    let _ = writeln!(out);
    if let Some((note, fresh)) = learned.and_then(|l| l.summary_of(key)) {
        let label = if fresh { "Learned summary" } else { "Learned summary (stale: the file changed since)" };
        let role = note.body["key_symbols"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["name"].as_str() == Some(name))
            .and_then(|s| s["role"].as_str());
        let _ = writeln!(out, "\n**{label}** of `{key}`: {}", note.body["purpose"].as_str().unwrap_or("").trim());
        if let Some(role) = role {
            let _ = writeln!(out, "\n`{name}`: {role}");
        }
    }
    let referencing = snapshot.referencing_files(name);
    let total: u32 = referencing.iter().map(|(_, n)| n).sum();
    if total == 0 {
        let _ = writeln!(out, "\nNo references to `{name}` in the workspace.");
    } else {
        let _ = writeln!(
            out,
            "\n{total} reference{} in {} file{}:",
            plural(total as usize),
            referencing.len(),
            plural(referencing.len())
        );
        for (file, count) in referencing.iter().take(TOP_CALLERS) {
            let _ = writeln!(out, "- `{file}` ({count})");
        }
        if referencing.len() > TOP_CALLERS {
            let _ = writeln!(out, "- … and {} more", referencing.len() - TOP_CALLERS);
        }
    }
    Some(out)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
