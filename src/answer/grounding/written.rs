//! What a text writes as code, before anything is looked up (the module docs of `grounding.rs` say
//! what counts as a name): the names of prose — inline code, bare code-shaped words, chains, paths
//! with a line — and of code blocks and inline snippets, where every identifier chain the snippet
//! uses counts, minus what it binds itself, its strings and its comments, and every header its
//! `#include`s name.
//!
//! Guarantees: names come in the order of the text, each with the place its mark goes (after the
//! name, or after its code block) and its unit — the sentence, list item, heading, table row or code
//! block it is written in; a block tagged as output or data (```text, ```json) names nothing;
//! an unclosed block is still read. Pure: text in, names out.
//!
//! Units: a sentence ends at `.`, `!` or `?` followed by a space or a line break, outside inline
//! code (`app.py:12`, `Flask.route` and `v3.0.3` end none; `e.g. ` does, which only leaves a citation
//! fewer names to be judged by); a blank line, a line opening a list item, heading, quote or table
//! row, and a code fence start one. A paragraph wrapped over lines stays one unit.

use crate::syntax::Language;
use std::collections::HashSet;

/// A name found in the text, before it is looked up.
#[derive(Debug, PartialEq)]
pub(super) struct Written {
    pub(super) name: String,
    pub(super) what: What,
    pub(super) mark_at: usize,
    pub(super) in_block: bool,
    /// The languages whose own names count (a code block's tag, else the workspace's).
    pub(super) languages: Vec<Language>,
    /// The unit (see the module docs) it is written in, numbered in the text's order.
    pub(super) unit: usize,
}

#[derive(Debug, PartialEq)]
pub(super) enum What {
    Path {
        path: String,
        line: Option<(u32, u32)>,
    },
    /// A header an `#include` line names (`stdio.h`, `brotli/decode.h`).
    Header(String),
    /// `alone`: written as a global (prose, or a snippet's unbound name), not after a bound variable.
    Chain {
        parts: Vec<String>,
        alone: bool,
    },
}

/// Languages named by a code block's tag (`python`, `py`, `rs`, `ts`, `jsx`).
fn language_of_tag(tag: &str) -> Option<Language> {
    let tag = tag.trim().to_lowercase();
    let tag = tag.split(|c: char| c.is_whitespace() || c == ',' || c == '{').next().unwrap_or("");
    Language::from_lsp_id(tag).or_else(|| Language::from_extension(tag)).filter(|l| l.grammar().is_some())
}

/// The languages whose own names count in a code block: its tag's, else the workspace's; C's and
/// C++'s too when it includes headers (a model labels C code `python` now and then).
fn block_languages(tag: &str, code: &str, workspace: &[Language]) -> Vec<Language> {
    let mut languages = match language_of_tag(tag) {
        Some(l) => vec![l],
        None => workspace.to_vec(),
    };
    if !includes(code).is_empty() {
        for c in [Language::C, Language::Cpp] {
            if !languages.contains(&c) {
                languages.push(c);
            }
        }
    }
    languages
}

/// The headers a snippet's `#include` lines name (`#include <stdio.h>`, `#include "brotli/decode.h"`).
fn includes(code: &str) -> Vec<String> {
    code.lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix('#')?.trim_start().strip_prefix("include")?.trim();
            let close = match rest.chars().next()? {
                '<' => '>',
                '"' => '"',
                _ => return None,
            };
            let header = &rest[1..];
            Some(header[..header.find(close)?].trim().to_string()).filter(|h| !h.is_empty())
        })
        .collect()
}

/// A code block that holds output or data, not code (```text, ```json, ```console): nothing in it
/// is a claim about the workspace's code.
fn is_output_tag(tag: &str) -> bool {
    let tag = tag.trim().to_lowercase();
    matches!(tag.as_str(), "text" | "txt" | "plaintext" | "output" | "console" | "log" | "json" | "csv" | "diff")
}

/// The names `text` writes as code, in order (see the module docs).
pub(super) fn written_names(text: &str, workspace: &[Language]) -> Vec<Written> {
    let mut out = Vec::new();
    // Where units start (see the module docs), in order.
    let mut unit_starts = Vec::new();
    let mut offset = 0;
    let mut block: Option<(String, usize, String)> = None; // (fence, code start, tag)
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_start();
        if let Some((fence, code_start, tag)) = &block {
            if trimmed.starts_with(fence.as_str())
                && trimmed.trim_end().chars().all(|c| c == fence.as_bytes()[0] as char)
            {
                let code = &text[*code_start..start];
                let languages = block_languages(tag, code, workspace);
                let end_of_fence = start + line.trim_end_matches(['\n', '\r']).len();
                let code = if is_output_tag(tag) { "" } else { code };
                for (name, what) in snippet_names(code, &languages) {
                    out.push(Written {
                        name,
                        what,
                        mark_at: end_of_fence,
                        in_block: true,
                        languages: languages.clone(),
                        unit: 0,
                    });
                }
                block = None;
                unit_starts.push(offset);
            }
            continue;
        }
        let fence_len = trimmed.chars().take_while(|&c| c == '`' || c == '~').count();
        if fence_len >= 3 && trimmed.chars().take(fence_len).all(|c| c == trimmed.chars().next().unwrap_or('`')) {
            let fence: String = trimmed.chars().take(fence_len).collect();
            block = Some((fence, offset, trimmed[fence_len..].trim().to_string()));
            unit_starts.push(start);
            continue;
        }
        if opens_a_unit(trimmed) {
            unit_starts.push(start);
        }
        prose_names(line, start, workspace, &mut out, &mut unit_starts);
    }
    if let Some((_, code_start, tag)) = block.filter(|(_, _, tag)| !is_output_tag(tag)) {
        // An unclosed block (an answer cut short) is still checked, marked at the end.
        let languages = block_languages(&tag, &text[code_start..], workspace);
        for (name, what) in snippet_names(&text[code_start..], &languages) {
            out.push(Written {
                name,
                what,
                mark_at: text.len(),
                in_block: true,
                languages: languages.clone(),
                unit: 0,
            });
        }
    }
    out.sort_by_key(|w| w.mark_at);
    for written in &mut out {
        // A name's mark stands at its end, before the punctuation that ends its sentence.
        written.unit = unit_starts.partition_point(|&start| start <= written.mark_at);
    }
    out
}

/// Whether a line of prose starts a unit of its own: a blank line, a list item, a heading, a quote
/// or a table row.
fn opens_a_unit(trimmed: &str) -> bool {
    let numbered = trimmed.trim_start_matches(|c: char| c.is_ascii_digit());
    trimmed.trim().is_empty()
        || ["- ", "* ", "+ ", "#", ">", "|"].iter().any(|p| trimmed.starts_with(p))
        || (numbered.len() < trimmed.len() && (numbered.starts_with(". ") || numbered.starts_with(") ")))
}

/// The names of one line of prose at `base` in the text: inline code spans and bare code-like words;
/// and where its sentences end, into `unit_starts`.
fn prose_names(line: &str, base: usize, languages: &[Language], out: &mut Vec<Written>, unit_starts: &mut Vec<usize>) {
    let mut blanked = line.as_bytes().to_vec();
    let mut i = 0;
    while i < line.len() {
        if line.as_bytes()[i] != b'`' {
            i += 1;
            continue;
        }
        let ticks = line.as_bytes()[i..].iter().take_while(|&&b| b == b'`').count();
        let open_end = i + ticks;
        let Some(close) = line[open_end..].find(&"`".repeat(ticks)) else {
            i = open_end;
            continue;
        };
        let code = &line[open_end..open_end + close];
        let mark_at = base + open_end + close + ticks;
        if !reads_as_a_command(code, languages) {
            for (name, what) in snippet_names(code, languages) {
                out.push(Written { name, what, mark_at, in_block: false, languages: languages.to_vec(), unit: 0 });
            }
        }
        for b in &mut blanked[i..open_end + close + ticks] {
            *b = b' ';
        }
        i = open_end + close + ticks;
    }
    // A sentence ends at `.`, `!` or `?` before a space or the line's end, outside inline code.
    for (at, pair) in blanked.windows(2).enumerate() {
        if matches!(pair[0], b'.' | b'!' | b'?') && pair[1].is_ascii_whitespace() {
            unit_starts.push(base + at + 1);
        }
    }
    // Bare words: the line with its inline code blanked out.
    bare_names(&String::from_utf8_lossy(&blanked), base, languages, out);
}

/// Inline code that is a shell command (`pip install flask`, `flask run`): plain lowercase words
/// with no code punctuation, the first not a keyword of the workspace's languages.
fn reads_as_a_command(code: &str, languages: &[Language]) -> bool {
    let words: Vec<&str> = code.split_whitespace().collect();
    words.len() >= 2
        && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || " -_/".contains(c))
        && !languages.iter().any(|&l| crate::syntax::is_keyword(l, words[0]))
}

/// Source extensions and a few more that name files in answers.
fn is_file_extension(ext: &str) -> bool {
    crate::syntax::Language::from_extension(&ext.to_lowercase()).is_some()
        || matches!(ext, "txt" | "cfg" | "ini" | "toml" | "json" | "yaml" | "yml" | "html" | "css" | "lock")
}

/// Bare words of prose that read as code: paths, dotted chains, snake_case, CamelCase, calls.
fn bare_names(line: &str, base: usize, languages: &[Language], out: &mut Vec<Written>) {
    let is_path_char = |c: char| c.is_alphanumeric() || "_./-:\\".contains(c);
    let mut i = 0;
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    while i < chars.len() {
        let (at, c) = chars[i];
        if !(c.is_alphanumeric() || c == '_' || c == '.' || c == '/') {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && is_path_char(chars[j].1) {
            j += 1;
        }
        let end = chars.get(j).map_or(line.len(), |(e, _)| *e);
        let token = line[at..end].trim_end_matches([':', '.', '-', '/', '\\']);
        let next = line[at + token.len()..].chars().next();
        i = j;
        if token.is_empty() || token.contains("://") || token.starts_with("www.") {
            continue;
        }
        if token.starts_with('_') && token.ends_with('_') && !(token.starts_with("__") && token.ends_with("__")) {
            continue; // _emphasis_
        }
        if let Some(written) = path_in(token).filter(|_| token.contains('/') || !token.chars().any(char::is_uppercase))
        {
            out.push(Written {
                name: token.to_string(),
                what: written,
                mark_at: base + at + token.len(),
                in_block: false,
                languages: languages.to_vec(),
                unit: 0,
            });
            continue;
        }
        // `base_class::XMLOutputArchive` is a chain like `Flask.route`.
        let chain = token.replace("::", ".");
        if chain.contains(['/', '\\', '-', ':']) {
            continue;
        }
        let parts: Vec<&str> = chain.split('.').collect();
        if parts.iter().any(|p| !is_identifier(p)) {
            continue;
        }
        let called = next == Some('(');
        let shaped = parts.iter().any(|p| looks_like_code(p));
        let dotted = parts.len() >= 2
            && parts.iter().all(|p| p.len() >= 2)
            && !matches!(parts.last().copied(), Some("com" | "org" | "net" | "io" | "dev"));
        let long_enough = parts.iter().map(|p| p.len()).sum::<usize>() >= 2;
        if long_enough && (shaped || dotted || (called && parts[0].len() >= 2)) {
            let mark_at = base + at + token.len() + if called { closing_paren(&line[at + token.len()..]) } else { 0 };
            out.push(Written {
                name: token.to_string(),
                what: What::Chain { parts: parts.iter().map(|p| p.to_string()).collect(), alone: true },
                mark_at,
                in_block: false,
                languages: languages.to_vec(),
                unit: 0,
            });
        }
    }
}

/// The length of a call's `(…)` at the start of `rest` when it closes on the line, else 0.
fn closing_paren(rest: &str) -> usize {
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    0
}

fn is_identifier(word: &str) -> bool {
    word.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && word.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Shaped like code in prose: snake_case or a dunder, or CamelCase with a lowercase letter after an
/// inner capital (`FlaskContext`, `getValue`; not `JSON`, `I`).
fn looks_like_code(word: &str) -> bool {
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    if word.contains('_') {
        return letters >= 2;
    }
    let chars: Vec<char> = word.chars().collect();
    chars.windows(2).skip(1).any(|w| w[0].is_uppercase() && w[1].is_lowercase())
        || chars.windows(2).any(|w| w[0].is_lowercase() && w[1].is_uppercase())
}

/// A path with a known extension or a folder, with an optional `:line` or `:start-end` (`#L12` too).
fn path_in(token: &str) -> Option<What> {
    let (path, lines) = match token.rsplit_once(':') {
        Some((path, lines)) if !lines.is_empty() && lines.chars().all(|c| c.is_ascii_digit() || c == '-') => {
            (path, Some(lines))
        }
        _ => (token, None),
    };
    let (path, lines) = match path.rsplit_once("#L") {
        Some((p, l)) if lines.is_none() && l.chars().all(|c| c.is_ascii_digit() || c == '-') => (p, Some(l)),
        _ => (path, lines),
    };
    let (_, file) = path.rsplit_once(['/', '\\']).unwrap_or(("", path));
    let (stem, ext) = file.rsplit_once('.')?;
    if stem.is_empty() || !is_file_extension(ext) || !path.chars().any(|c| c.is_alphabetic()) {
        return None;
    }
    let line = lines.and_then(|l| {
        let (a, b) = l.split_once('-').unwrap_or((l, l));
        Some((a.parse().ok()?, b.parse().ok()?))
    });
    Some(What::Path { path: path.replace('\\', "/"), line })
}

/// Words that bind the next name in a snippet (`def name`, `let name`, `for name`).
const BINDERS: &[&str] = &[
    "def",
    "class",
    "fn",
    "function",
    "let",
    "const",
    "var",
    "struct",
    "enum",
    "trait",
    "type",
    "interface",
    "func",
    "mut",
    "as",
    "static",
    "mod",
    "module",
    "namespace",
    "typedef",
    "lambda",
    "val",
    "defp",
    "local",
];

/// A snippet's token: an identifier chain with what surrounds it.
#[derive(Debug)]
struct Token {
    parts: Vec<String>,
    start: usize,
    end: usize,
}

/// The names a snippet uses and does not bind itself (see the module docs), once each.
fn snippet_names(code: &str, languages: &[Language]) -> Vec<(String, What)> {
    let hash_comments =
        languages.iter().any(|l| matches!(l, Language::Python | Language::Ruby | Language::Bash | Language::Elixir))
            || languages.is_empty();
    let slash_comments = !languages.iter().all(|l| matches!(l, Language::Python));
    let clean = blank_strings_and_comments(code, hash_comments, slash_comments);
    let mut out = Vec::new();
    // Paths in inline code (`src/app.py:12`) are checked as paths.
    let trimmed = code.trim();
    if !trimmed.contains(char::is_whitespace)
        && let Some(what) = path_in(trimmed)
    {
        out.push((trimmed.to_string(), what));
        return out;
    }
    for header in includes(code) {
        out.push((header.clone(), What::Header(header)));
    }
    let tokens = chains(&clean);
    let (destructured_keys, destructured_bound) = destructured(&clean, &tokens);
    let mut bound: HashSet<String> = destructured_bound;
    // Names bound by an import stand for what they import: their uses are claims about it.
    let mut imported: HashSet<String> = HashSet::new();
    // First pass: what the snippet binds.
    for (k, token) in tokens.iter().enumerate() {
        let before = clean[..token.start].trim_end();
        let after = clean[token.end..].trim_start();
        let prev_word = tokens.get(k.wrapping_sub(1)).filter(|p| clean[p.end..token.start].trim().is_empty());
        let binder = prev_word.is_some_and(|p| p.parts.len() == 1 && BINDERS.contains(&p.parts[0].as_str()));
        let assigned = (after.starts_with('=') && !after.starts_with("==") && !after.starts_with("=>"))
            || after.starts_with(":=")
            || (after.starts_with(',') && line_has_assignment(&clean, token.end));
        if binder || (assigned && token.parts.len() == 1) {
            bound.insert(token.parts[0].clone());
        }
        if is_parameter(&clean, token, before, after) {
            bound.insert(token.parts[0].clone());
        }
        if after.starts_with("=>") && token.parts.len() == 1 {
            bound.insert(token.parts[0].clone());
        }
        if token.parts.len() == 1 && declared_after_type(before, after, prev_word, languages) {
            bound.insert(token.parts[0].clone());
        }
        if in_for_header(&clean, token.start) && token.parts.len() == 1 {
            bound.insert(token.parts[0].clone());
        }
        if let Some(name) = imported_binding(&clean, token) {
            bound.insert(name.clone());
            imported.insert(name);
        }
    }
    // Second pass: the uses.
    for (k, token) in tokens.iter().enumerate() {
        let head = &token.parts[0];
        if destructured_keys.contains(&token.start) {
            // `const { getHeaders } = …` claims the object has `getHeaders`.
            out.push((head.clone(), What::Chain { parts: token.parts.clone(), alone: true }));
            continue;
        }
        let after = clean[token.end..].trim_start();
        let prev_word = tokens.get(k.wrapping_sub(1)).filter(|p| clean[p.end..token.start].trim().is_empty());
        if prev_word.is_some_and(|p| p.parts.len() == 1 && BINDERS.contains(&p.parts[0].as_str())) {
            continue; // the name being defined
        }
        if token.parts.len() == 1 && (head.chars().count() < 2 || after.starts_with(':') && !after.starts_with("::")) {
            continue; // a one-letter name, or a key, label or parameter name
        }
        if token.parts.len() == 1 && languages.iter().any(|&l| crate::syntax::is_keyword(l, head)) {
            continue; // a keyword says nothing about the workspace
        }
        if token.parts.len() == 1 && after.starts_with('=') && !after.starts_with("==") {
            continue; // an assignment or a keyword argument
        }
        if token.parts.len() > 1 && after.starts_with('=') && !after.starts_with("==") {
            continue; // an attribute being set
        }
        let on_import_line = imported_binding(&clean, token).is_some();
        let alone = !bound.contains(head) || imported.contains(head);
        if !alone && token.parts.len() == 1 {
            continue; // a use of a name the snippet bound
        }
        if alone && imported.contains(head) && token.parts.len() == 1 && !on_import_line {
            continue; // the import itself is the claim
        }
        let named_alone = tokens.len() == 1;
        let called = after.starts_with('(');
        let type_like = head.starts_with(char::is_uppercase) || (head.starts_with("__") && head.ends_with("__"));
        if token.parts.len() == 1 && !(named_alone || called || type_like || on_import_line || looks_like_code(head)) {
            continue; // a plain word the snippet uses but never binds (`url`): a placeholder
        }
        let name = token.parts.join(".");
        let what = What::Chain { parts: token.parts.clone(), alone };
        out.push((name, what));
    }
    let mut seen = HashSet::new();
    out.retain(|(name, _)| seen.insert(name.clone()));
    out
}

/// JavaScript's destructuring, `const { getHeaders, route: r, ...rest } = require('x')`: its keys
/// (`getHeaders`, `route`) claim the object has them — each is looked up alone — and the names it
/// binds (`getHeaders`, `r`, `rest`) are the snippet's. Returns the keys' token starts and the bound
/// names.
fn destructured(clean: &str, tokens: &[Token]) -> (HashSet<usize>, HashSet<String>) {
    let mut keys = HashSet::new();
    let mut bound = HashSet::new();
    for (k, token) in tokens.iter().enumerate() {
        if token.parts.len() != 1 || !matches!(token.parts[0].as_str(), "const" | "let" | "var") {
            continue;
        }
        let rest = &clean[token.end..];
        let Some(open) = rest.find(|c: char| !c.is_whitespace()).filter(|&i| rest[i..].starts_with('{')) else {
            continue;
        };
        let open = token.end + open;
        // A pattern cut short with the answer (`const {\n  getBody,`) is still one.
        let close = matching_brace(clean, open);
        let after = close.map_or("=", |close| clean[close + 1..].trim_start());
        if !(after.starts_with('=') && !after.starts_with("==") && !after.starts_with("=>")) {
            continue;
        }
        let close = close.unwrap_or(clean.len());
        for inner in tokens[k + 1..].iter().take_while(|t| t.start < close) {
            if inner.parts.len() != 1 {
                continue;
            }
            let before = clean[open..inner.start].trim_end();
            let after = clean[inner.end..close].trim_start();
            if before.ends_with(':') || before.ends_with("...") {
                bound.insert(inner.parts[0].clone()); // an alias or the rest
            } else if before.ends_with(['{', ',']) {
                keys.insert(inner.start);
                if !after.starts_with(':') {
                    bound.insert(inner.parts[0].clone());
                }
            }
        }
    }
    (keys, bound)
}

/// The `}` that closes the `{` at `open`, if it closes.
fn matching_brace(code: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in code[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// A C-family declaration's name, right after its type: `std::vector<int> v;`, `Config cfg{…}`,
/// `int main(void)`, `char *buf = …` — a type word that is not a keyword (`new Foo(…)`, `return x;`
/// declare nothing) or a `>`, `*`, `&` just before, and `;`, `=`, `{`, `[`, `,`, `)`, `(` just after.
/// Only where types come first (C, C++, Java, C#; Go's `c Command` is the other way round).
fn declared_after_type(before: &str, after: &str, prev_word: Option<&Token>, languages: &[Language]) -> bool {
    let type_first = |l: &Language| matches!(l, Language::C | Language::Cpp | Language::Java | Language::CSharp);
    if !languages.iter().any(type_first) || after.starts_with("==") {
        return false;
    }
    match prev_word {
        Some(prev) => {
            (prev.parts.len() > 1 || !languages.iter().any(|&l| crate::syntax::is_keyword(l, &prev.parts[0])))
                && after.starts_with([';', '=', '{', '[', ',', ')', '('])
        }
        None if before.ends_with('>') && !before.ends_with("->") => after.starts_with([';', '=', '{', '[', ',', ')']),
        None if before.ends_with(['*', '&']) && !before.ends_with("&&") => after.starts_with([';', '=', '[']),
        None => false,
    }
}

/// Whether the statement holding `at` assigns (`a, b = f()`) — a top-level `=` after `at`.
fn line_has_assignment(code: &str, at: usize) -> bool {
    let line_end = code[at..].find('\n').map_or(code.len(), |e| at + e);
    let rest = &code[at..line_end];
    for (i, c) in rest.char_indices() {
        if c == '=' {
            let prev = rest[..i].chars().next_back();
            let next = rest[i + 1..].chars().next();
            if next != Some('=') && next != Some('>') && !matches!(prev, Some('=' | '!' | '<' | '>')) {
                return true;
            }
        }
        if c == '(' || c == '[' {
            return false;
        }
    }
    false
}

/// Whether `token` is a parameter in the parameter list of a `def`/`fn`/`function`/`func`/`lambda`
/// (its first name, or a name right after `(` or `,` before `:` in `name: Type`).
fn is_parameter(code: &str, token: &Token, before: &str, after: &str) -> bool {
    if token.parts.len() != 1 {
        return false;
    }
    // Find the innermost unclosed `(` before the token on the same statement.
    let mut depth = 0i32;
    let mut open = None;
    for (i, c) in code[..token.start].char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' if depth == 0 => {
                open = Some(i);
                break;
            }
            '(' => depth -= 1,
            '\n' if depth == 0 => break,
            _ => {}
        }
    }
    let lambda_header = {
        let line_start = code[..token.start].rfind('\n').map_or(0, |i| i + 1);
        let line = &code[line_start..token.start];
        line.contains("lambda ") && !line[line.rfind("lambda ").unwrap_or(0)..].contains(':')
    };
    if lambda_header {
        return true;
    }
    let Some(open) = open else { return false };
    let head = code[..open].trim_end();
    let words: Vec<&str> = head.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    let n = words.len();
    let defines = (n >= 2 && ["def", "fn", "function", "func", "async"].contains(&words[n - 2]))
        || (n >= 1 && ["function", "func", "fn"].contains(&words[n - 1]))
        || closes_into_arrow(code, open);
    if !defines {
        return false;
    }
    // `name` first in its parameter (`name: Type`, `name=default`, `*name`), or last (`Type name`).
    let first = before.ends_with(['(', ',', '*', '&']) || before.ends_with("mut");
    let last = after.starts_with([',', ')']);
    first || last
}

/// Whether the parenthesis opened at `open` closes and is followed by `=>` (a JavaScript arrow).
fn closes_into_arrow(code: &str, open: usize) -> bool {
    let mut depth = 0;
    for (i, c) in code[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return code[open + i + 1..].trim_start().starts_with("=>");
                }
            }
            _ => {}
        }
    }
    false
}

/// Whether `at` lies between a `for` and its `in`/`of` on one line (a loop variable).
fn in_for_header(code: &str, at: usize) -> bool {
    let line_start = code[..at].rfind('\n').map_or(0, |i| i + 1);
    let before = &code[line_start..at];
    let words: Vec<&str> =
        before.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    let Some(for_at) = words.iter().rposition(|w| *w == "for") else { return false };
    !words[for_at + 1..].iter().any(|w| *w == "in" || *w == "of")
}

/// The name an import statement binds at `token`: `import a.b` binds `a`, `from m import x` binds
/// `x`, `use a::b` binds `b`, `import { x } from`, `#include` nothing.
fn imported_binding(code: &str, token: &Token) -> Option<String> {
    let line_start = code[..token.start].rfind('\n').map_or(0, |i| i + 1);
    let line = code[line_start..token.start].trim_start();
    let first = line.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or("");
    match first {
        "import" | "from" | "use" | "require" | "using" => {}
        _ => return None,
    }
    if first == "from" && !line.contains(" import") {
        return None; // the module of `from m import x` is claimed, binds nothing
    }
    if first == "use" || line.contains(" import") || line.starts_with("import") {
        return Some(if first == "use" { token.parts.last()?.clone() } else { token.parts[0].clone() });
    }
    None
}

/// Identifier chains (`a`, `a.b`, `a::b`, `a->b`, `a?.b`) of already-cleaned code.
fn chains(code: &str) -> Vec<Token> {
    let bytes = code.as_bytes();
    let is_start = |b: u8| b.is_ascii_alphabetic() || b == b'_' || b >= 0x80;
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !is_start(bytes[i]) || (i > 0 && (is_word(bytes[i - 1]) || bytes[i - 1] == b'$')) {
            i += 1;
            continue;
        }
        let start = i;
        let mut parts = Vec::new();
        let mut end;
        loop {
            let word_start = i;
            while i < bytes.len() && is_word(bytes[i]) {
                i += 1;
            }
            parts.push(code[word_start..i].to_string());
            end = i;
            let sep = ["?.", ".", "::", "->"].iter().find(|s| code[i..].starts_with(**s)).map(|s| s.len());
            match sep {
                Some(len) if i + len < bytes.len() && is_start(bytes[i + len]) => i += len,
                _ => break,
            }
        }
        // Numbers with a suffix (`1.0f`) and digits-first words are not names.
        if parts.iter().all(|p| is_identifier(p)) {
            out.push(Token { parts, start, end });
        }
        i = end.max(start + 1);
    }
    out
}

/// `code` with string literals' contents and comments replaced by spaces (offsets kept).
fn blank_strings_and_comments(code: &str, hash_comments: bool, slash_comments: bool) -> String {
    let bytes = code.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for b in &mut out[from..to] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    };
    while i < bytes.len() {
        if !code.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let rest = &code[i..];
        // `#include`, `#define` and other directives say nothing checkable either.
        let directive = bytes[i] == b'#' && code[..i].rsplit('\n').next().is_some_and(|l| l.trim().is_empty());
        if (hash_comments && bytes[i] == b'#' && !rest.starts_with("#[") && !rest.starts_with("#!"))
            || (slash_comments && rest.starts_with("//"))
            || (directive && !rest.starts_with("#["))
        {
            let end = rest.find('\n').map_or(code.len(), |e| i + e);
            blank(&mut out, i, end);
            i = end;
            continue;
        }
        if slash_comments && rest.starts_with("/*") {
            let end = rest[2..].find("*/").map_or(code.len(), |e| i + 2 + e + 2);
            blank(&mut out, i, end);
            i = end;
            continue;
        }
        if let Some(quote) = ["\"\"\"", "'''"].into_iter().find(|q| rest.starts_with(q)) {
            let end = rest[3..].find(quote).map_or(code.len(), |e| i + 3 + e + 3);
            blank(&mut out, i, end);
            i = end;
            continue;
        }
        if matches!(bytes[i], b'"' | b'\'' | b'`') {
            let quote = bytes[i];
            let line_end = if quote == b'`' { code.len() } else { rest.find('\n').map_or(code.len(), |e| i + e) };
            let mut j = i + 1;
            let mut closed = None;
            while j < line_end {
                if bytes[j] == b'\\' {
                    j += 2;
                    continue;
                }
                if bytes[j] == quote {
                    closed = Some(j);
                    break;
                }
                j += 1;
            }
            match closed {
                Some(close) => {
                    blank(&mut out, i, close + 1);
                    i = close + 1;
                }
                None => i += 1, // a lifetime (`'a`) or an apostrophe
            }
            continue;
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
