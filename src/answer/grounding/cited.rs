//! Whether cited lines hold the code named beside them. A model writes "`find_template` … in
//! `jinja2/environment.py:95-137`": a real file, lines inside it, yet lines that hold other code.
//! When a unit of the text (a sentence, a list item: `written.rs`) cites lines of a file and names
//! code, the lines must hold one of those names in that file — overlap its definition, or reference
//! it — else the citation is unverified, with a detail that says what the lines hold and where the
//! names are (`lines 95–137 of jinja2/environment.py hold `Environment.__init__`, not
//! `find_template``; "`X` is at lines N–M").
//!
//! Which names judge a citation: those of its own unit, outside code blocks, that are not the
//! language's own (`self`, `sorted`) and do not name the cited file or its folders
//! (`jinja2.environment`); a chain by its last part (`Environment.get_template` by `get_template`).
//! Names found nowhere judge too: lines cannot hold what does not exist. A citation with no such
//! name beside it keeps the check it had (the file exists, the lines lie inside it), and so does a
//! citation of prose or data (`docs/usage.md:10`: no definitions say what its lines hold). When
//! the path fits several files (`app.py`), one of them holding a name is enough. Pure: reads the facts of the
//! cited files and the definitions index.

use super::written::{What, Written};
use super::{Claim, Verdict};
use crate::snapshot::Snapshot;
use crate::syntax::facts::FileFacts;

/// Definitions named in a detail as what cited lines hold, at most.
const HELD_NAMED: usize = 3;
/// Files described in a detail, at most (a path that fits several).
const FILES_DESCRIBED: usize = 2;

/// Marks unverified each found citation of lines (`claims[i]` is `written[i]`'s) whose lines hold
/// none of the names of its unit (see the module docs).
pub(super) fn judge_cited_lines(snapshot: &Snapshot, written: &[Written], claims: &mut [Claim]) {
    for (i, citation) in written.iter().enumerate() {
        let What::Path { path, line: Some(lines) } = &citation.what else { continue };
        if citation.in_block || claims[i].verdict != Verdict::Workspace {
            continue;
        }
        let named: Vec<(&str, &str)> = written
            .iter()
            .zip(claims.iter())
            .filter(|(other, claim)| {
                other.unit == citation.unit && !other.in_block && claim.verdict != Verdict::Language
            })
            .filter_map(|(other, _)| match &other.what {
                What::Chain { parts, alone: true } => Some((other.name.as_str(), parts.last()?.as_str())),
                _ => None,
            })
            .collect();
        if named.is_empty() {
            continue;
        }
        if let Some(detail) = lines_miss(snapshot, path, *lines, &named) {
            claims[i].verdict = Verdict::Unverified;
            claims[i].detail = Some(detail);
        }
    }
}

/// Why the lines `start..=end` of the files at `path` hold none of `named` (as written, identifier),
/// or `None` when one of those files holds one, or when every name names the file itself.
fn lines_miss(snapshot: &Snapshot, path: &str, (start, end): (u32, u32), named: &[(&str, &str)]) -> Option<String> {
    let files: Vec<(&str, &FileFacts)> = super::super::names::files_at_path(snapshot, path)
        .into_iter()
        .filter_map(|key| Some((key, &**snapshot.files.get(key)?)))
        .filter(|(_, facts)| end <= facts.line_count)
        .collect();
    let mut judged = Vec::new();
    for &(key, facts) in &files {
        if facts.language.is_prose() || facts.language.grammar().is_none() {
            return None; // docs and data: no definitions say what their lines hold
        }
        let names: Vec<(&str, &str)> = named.iter().copied().filter(|(_, id)| !names_the_file(key, id)).collect();
        if names.is_empty() || names.iter().any(|(_, id)| holds(facts, id, start, end)) {
            return None;
        }
        judged.push((key, facts, names));
    }
    let (_, _, names) = judged.first()?;
    let mut held: Vec<String> = judged
        .iter()
        .take(FILES_DESCRIBED)
        .map(|(key, facts, _)| format!("lines {start}–{end} of {key} hold {}", held_there(facts, start, end)))
        .collect();
    let one_file = judged.len() == 1;
    let mut absent = Vec::new();
    let mut elsewhere = Vec::new();
    for (written, id) in names {
        let in_cited = judged.iter().find_map(|(key, facts, _)| {
            let def = facts.definitions.iter().find(|d| d.name == *id)?;
            Some((*key, def.span.lines_1based()))
        });
        let in_workspace = || {
            let (key, index) = snapshot.definitions_named(id, None).into_iter().next()?;
            let (a, b) = snapshot.definition(&key, index)?.span.lines_1based();
            Some(format!("`{written}` is at lines {a}–{b} of {key}"))
        };
        match in_cited {
            Some((_, (a, b))) if one_file => elsewhere.push(format!("`{written}` is at lines {a}–{b}")),
            Some((key, (a, b))) => elsewhere.push(format!("`{written}` is at lines {a}–{b} of {key}")),
            None => match in_workspace() {
                Some(there) => elsewhere.push(there),
                None => absent.push(format!("`{written}`")),
            },
        }
    }
    if !absent.is_empty()
        && let Some(last) = held.last_mut()
    {
        last.push_str(&format!(", not {}", absent.join(", ")));
    }
    held.extend(elsewhere);
    Some(held.join("; "))
}

/// Whether `id` is the stem of the file `key` or one of its folders (`environment`, `jinja2` of
/// `src/jinja2/environment.py`): such a name says which file, not which lines.
fn names_the_file(key: &str, id: &str) -> bool {
    key.split('/').any(|part| part.rsplit_once('.').map_or(part, |(stem, _)| stem) == id)
}

/// Whether the lines `start..=end` (1-based) of a file overlap a definition of `id` or reference it.
fn holds(facts: &FileFacts, id: &str, start: u32, end: u32) -> bool {
    facts.definitions.iter().any(|d| d.name == id && overlaps(d.span.lines_1based(), start, end))
        || facts.references.iter().any(|r| r.name == id && overlaps(r.span.lines_1based(), start, end))
}

/// Whether the lines `a..=b` and `start..=end` (1-based) share a line.
fn overlaps((a, b): (u32, u32), start: u32, end: u32) -> bool {
    a <= end && start <= b
}

/// What the lines `start..=end` of a file hold: the innermost definitions overlapping them, by
/// qualified name (`Environment.__init__`), or "no definition".
fn held_there(facts: &FileFacts, start: u32, end: u32) -> String {
    let overlapping: Vec<usize> = (0..facts.definitions.len())
        .filter(|&i| overlaps(facts.definitions[i].span.lines_1based(), start, end))
        .collect();
    let innermost: Vec<String> = overlapping
        .iter()
        .filter(|&&i| !overlapping.iter().any(|&j| facts.definitions[j].parent == Some(i as u32)))
        .map(|&i| format!("`{}`", facts.qualified_name(&facts.definitions[i])))
        .collect();
    match innermost.len() {
        0 => "no definition".to_string(),
        n if n > HELD_NAMED => format!("{}, …", innermost[..HELD_NAMED].join(", ")),
        _ => innermost.join(", "),
    }
}
