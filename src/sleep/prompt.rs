//! Job prompts and output validation, one pair per note kind. Pure: facts, notes and source text
//! in, a `ChatRequest` out; model text in, a validated note body and its anchors out (or the reason
//! it is invalid — an invalid output is never stored).
//!
//! Every prompt is assembled from facts first (signatures, docs, error sites, tests — cheap and
//! exact) and fills what is left of its token budget with source; all text passes through
//! `redact::redact`, and files that look like secrets contribute no source at all.

use super::note::{Anchor, NoteKind};
use super::plan::Job;
use crate::llm::{ChatRequest, Message, Role};
use crate::snapshot::Snapshot;
use crate::syntax::FileFacts;
use crate::tokens::estimate_tokens;
use serde_json::{Value, json};
use std::fmt::Write;

/// Limits applied to every string of a validated note, in characters.
const MAX_FIELD_CHARS: usize = 600;

/// What a prompt may draw on besides facts.
pub struct PromptContext<'a> {
    pub snapshot: &'a Snapshot,
    /// The source of a file by key (an open buffer or the disk), if readable.
    pub source: &'a dyn Fn(&str) -> Option<String>,
    /// The body of an existing note (fresh or stale), for roll-ups.
    pub note_body: &'a dyn Fn(NoteKind, &str) -> Option<Value>,
    /// Questions people asked before, as examples for anticipated questions.
    pub asked: &'a [String],
    /// The project's mined history, when there is one: a playbook's prompt lists the file's past
    /// fixes.
    pub past: Option<&'a crate::search::PastChanges>,
    pub prompt_budget: usize,
    pub completion_budget: u32,
}

/// What was redacted while building a prompt (for `think --dry-run`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PromptReport {
    pub redactions: Vec<&'static str>,
    pub source_withheld: bool,
}

const SYSTEM: &str = "You are reverie, a code assistant that studies a codebase ahead of time so that later \
questions can be answered quickly. Be specific and brief: name real functions, classes and files. \
Answer with one JSON object and nothing else.";

pub fn schema(kind: NoteKind) -> Value {
    let string = json!({"type": "string", "minLength": 1});
    let named = json!({"type": "object", "properties": {"name": string, "role": string}, "required": ["name", "role"]});
    match kind {
        NoteKind::FileSummary => json!({
            "type": "object",
            "properties": {
                "purpose": string,
                "key_symbols": {"type": "array", "items": named, "maxItems": 6},
                "invariants": {"type": "array", "items": string, "maxItems": 4},
                "used_by": string
            },
            "required": ["purpose", "key_symbols", "invariants", "used_by"]
        }),
        NoteKind::Playbook => json!({
            "type": "object",
            "properties": {
                "failure_modes": {"type": "array", "maxItems": 4, "items": {
                    "type": "object",
                    "properties": {"symptom": string, "cause": string, "where": string},
                    "required": ["symptom", "cause", "where"]
                }},
                "breakpoints": {"type": "array", "items": string, "maxItems": 4},
                "tests": {"type": "array", "items": string, "maxItems": 4}
            },
            "required": ["failure_modes", "breakpoints", "tests"]
        }),
        NoteKind::Questions => json!({
            "type": "object",
            "properties": {
                "questions": {"type": "array", "minItems": 1, "maxItems": 4, "items": {
                    "type": "object",
                    "properties": {"question": string, "answer": string, "symbols": {"type": "array", "items": string, "maxItems": 3}},
                    "required": ["question", "answer", "symbols"]
                }}
            },
            "required": ["questions"]
        }),
        NoteKind::ModuleSummary => json!({
            "type": "object",
            "properties": {"purpose": string, "components": {"type": "array", "items": named, "maxItems": 8}},
            "required": ["purpose", "components"]
        }),
        NoteKind::Overview => json!({
            "type": "object",
            "properties": {
                "summary": string,
                "components": {"type": "array", "items": named, "maxItems": 8},
                "data_flow": string,
                "entry_points": {"type": "array", "items": string, "maxItems": 4},
                "start_reading": {"type": "array", "items": string, "maxItems": 4}
            },
            "required": ["summary", "components", "data_flow", "entry_points", "start_reading"]
        }),
    }
}

fn instructions(kind: NoteKind) -> &'static str {
    match kind {
        NoteKind::FileSummary => {
            "Summarize this file: its purpose, its key symbols and the role of each, invariants it keeps, and how the rest of the code uses it. JSON keys: purpose, key_symbols [{name, role}], invariants [..], used_by."
        }
        NoteKind::Playbook => {
            "Write a debugging playbook for this file: likely failure modes (symptom, cause, where), where to put a breakpoint or a log line, and which tests to run. JSON keys: failure_modes [{symptom, cause, where}], breakpoints [..], tests [..]."
        }
        NoteKind::Questions => {
            "Predict the questions a developer is likely to ask about this file and answer each from the code, naming the symbols the answer is about. JSON keys: questions [{question, answer, symbols [..]}]."
        }
        NoteKind::ModuleSummary => {
            "Summarize this directory from the summaries of its files and sub-directories: its purpose and its components. JSON keys: purpose, components [{name, role}]."
        }
        NoteKind::Overview => {
            "Write an architecture overview of this codebase from the summaries of its top-level parts: a summary, its components, the data flow, entry points and where to start reading. JSON keys: summary, components [{name, role}], data_flow, entry_points [..], start_reading [..]."
        }
    }
}

/// The request for `job`, and what was redacted on the way.
pub fn build(job: &Job, ctx: &PromptContext<'_>) -> (ChatRequest, PromptReport) {
    let mut report = PromptReport::default();
    let mut body = String::new();
    let _ = writeln!(body, "{}\n", instructions(job.kind));
    match job.kind {
        NoteKind::FileSummary | NoteKind::Playbook | NoteKind::Questions => {
            file_prompt(job, ctx, &mut body, &mut report)
        }
        NoteKind::ModuleSummary => module_prompt(job, ctx, &mut body),
        NoteKind::Overview => overview_prompt(ctx, &mut body),
    }
    let (redacted, found) = crate::redact::redact(&body);
    report.redactions.extend(found.iter().map(|r| r.kind));
    let request = ChatRequest {
        system: SYSTEM.to_string(),
        messages: vec![Message { role: Role::User, content: redacted }],
        max_tokens: ctx.completion_budget,
        temperature: 0.2,
        json_schema: Some(schema(job.kind)),
        stream: false,
    };
    (request, report)
}

fn outline(facts: &FileFacts, out: &mut String, limit: usize) {
    for def in facts.definitions.iter().take(limit) {
        let doc = def.doc.as_deref().and_then(|d| d.lines().next()).map(|d| format!(" — {d}")).unwrap_or_default();
        let _ = writeln!(out, "  L{} {}{}", def.span.start.line + 1, def.signature, doc);
    }
    if facts.definitions.len() > limit {
        let _ = writeln!(out, "  … {} more", facts.definitions.len() - limit);
    }
}

fn file_prompt(job: &Job, ctx: &PromptContext<'_>, body: &mut String, report: &mut PromptReport) {
    let key = job.subject.as_str();
    let Some(facts) = ctx.snapshot.files.get(key) else { return };
    let _ = writeln!(body, "File: {key} ({}, {} lines)", facts.language.name(), facts.line_count);
    let _ = writeln!(body, "Definitions:");
    outline(facts, body, 40);
    if !facts.imports.is_empty() {
        let imports: Vec<&str> = facts.imports.iter().take(20).map(|i| i.path.as_str()).collect();
        let _ = writeln!(body, "Imports: {}", imports.join(", "));
    }
    if matches!(job.kind, NoteKind::Playbook) || !facts.error_sites.is_empty() {
        for site in facts.error_sites.iter().take(12) {
            let _ =
                writeln!(body, "Error ({}) at L{}: \"{}\"", site.kind.name(), site.span.start.line + 1, site.message);
        }
    }
    if job.kind == NoteKind::Playbook {
        let tests = ctx.snapshot.tests_covering_file(key, 8);
        if !tests.is_empty() {
            let _ = writeln!(body, "Tests that use it: {}", tests.join(", "));
        }
        let fixes = ctx.past.map(|past| past.fixes_of(key, 6)).unwrap_or_default();
        if !fixes.is_empty() {
            let _ = writeln!(body, "Past fixes to this file (newest first):");
            for (id, subject) in fixes {
                let _ = writeln!(body, "  - {subject} ({id})");
            }
        }
    }
    let users: Vec<String> = ctx
        .snapshot
        .definitions_named_in(key)
        .into_iter()
        .flat_map(|name| ctx.snapshot.referencing_files(&name))
        .map(|(file, _)| file.to_string())
        .filter(|file| file != key)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .take(8)
        .collect();
    if !users.is_empty() {
        let _ = writeln!(body, "Used by: {}", users.join(", "));
    }
    if job.kind == NoteKind::Questions {
        if let Some(summary) = (ctx.note_body)(NoteKind::FileSummary, key) {
            let _ = writeln!(body, "Summary: {}", summary["purpose"].as_str().unwrap_or(""));
        }
        if !ctx.asked.is_empty() {
            let _ = writeln!(body, "Questions people asked about this codebase before:");
            for question in ctx.asked.iter().take(5) {
                let _ = writeln!(body, "  - {}", question.lines().next().unwrap_or(""));
            }
        }
    }
    if crate::redact::is_secret_file(std::path::Path::new(key)) {
        report.source_withheld = true;
        let _ = writeln!(body, "(The source is withheld: the file looks like it holds secrets.)");
        return;
    }
    let used = estimate_tokens(body) + estimate_tokens(SYSTEM) + 16;
    let remaining = ctx.prompt_budget.saturating_sub(used);
    if remaining < 32 {
        return;
    }
    if let Some(source) = (ctx.source)(key) {
        let max_chars = remaining * 7 / 2;
        let (excerpt, cut) = if source.chars().count() > max_chars {
            (source.chars().take(max_chars).collect::<String>(), true)
        } else {
            (source, false)
        };
        let _ = writeln!(body, "Source{}:\n```\n{}\n```", if cut { " (cut to fit)" } else { "" }, excerpt.trim_end());
    }
}

fn module_prompt(job: &Job, ctx: &PromptContext<'_>, body: &mut String) {
    let dir = if job.subject.is_empty() { "(the workspace root)" } else { job.subject.as_str() };
    let _ = writeln!(body, "Directory: {dir}");
    for (name, _) in &job.inputs {
        if let Some(file) = name.strip_prefix("file:") {
            let purpose = (ctx.note_body)(NoteKind::FileSummary, file)
                .and_then(|b| b["purpose"].as_str().map(str::to_string))
                .unwrap_or_else(|| first_definitions(ctx.snapshot, file));
            let _ = writeln!(body, "- file {file}: {purpose}");
        } else if let Some(sub) = name.strip_prefix("module:") {
            let purpose = (ctx.note_body)(NoteKind::ModuleSummary, sub)
                .and_then(|b| b["purpose"].as_str().map(str::to_string))
                .unwrap_or_else(|| "(not summarized yet)".into());
            let _ = writeln!(body, "- directory {sub}/: {purpose}");
        }
        if estimate_tokens(body) > ctx.prompt_budget {
            let _ = writeln!(body, "- …");
            break;
        }
    }
}

fn overview_prompt(ctx: &PromptContext<'_>, body: &mut String) {
    if let Some(root) = (ctx.note_body)(NoteKind::ModuleSummary, "") {
        let _ = writeln!(body, "The workspace: {}", root["purpose"].as_str().unwrap_or(""));
        for component in root["components"].as_array().into_iter().flatten() {
            let _ = writeln!(
                body,
                "- {}: {}",
                component["name"].as_str().unwrap_or(""),
                component["role"].as_str().unwrap_or("")
            );
        }
    }
    let mut ranked: Vec<(&str, f64)> = ctx.snapshot.files.keys().map(|k| (&**k, ctx.snapshot.file_rank(k))).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let _ = writeln!(body, "Most central files:");
    for (file, _) in ranked.iter().take(12) {
        let purpose = (ctx.note_body)(NoteKind::FileSummary, file)
            .and_then(|b| b["purpose"].as_str().map(str::to_string))
            .unwrap_or_else(|| first_definitions(ctx.snapshot, file));
        let _ = writeln!(body, "- {file}: {purpose}");
        if estimate_tokens(body) > ctx.prompt_budget {
            break;
        }
    }
    let entry_points: Vec<&str> = ctx
        .snapshot
        .files
        .iter()
        .filter(|(key, facts)| is_entry_point(key, facts))
        .map(|(key, _)| &**key)
        .take(8)
        .collect();
    if !entry_points.is_empty() {
        let _ = writeln!(body, "Likely entry points: {}", entry_points.join(", "));
    }
}

fn is_entry_point(key: &str, facts: &FileFacts) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    matches!(
        name,
        "main.rs"
            | "__main__.py"
            | "main.py"
            | "manage.py"
            | "cli.py"
            | "main.go"
            | "index.js"
            | "index.ts"
            | "app.py"
            | "server.js"
    ) || facts.definitions.iter().any(|d| d.name == "main" && d.parent.is_none())
}

fn first_definitions(snapshot: &Snapshot, file: &str) -> String {
    if crate::redact::is_secret_file(std::path::Path::new(file)) {
        return "(withheld: the file looks like it holds secrets)".into();
    }
    let Some(facts) = snapshot.files.get(file) else { return String::new() };
    let names: Vec<&str> =
        facts.definitions.iter().filter(|d| d.parent.is_none()).take(6).map(|d| d.name.as_str()).collect();
    if names.is_empty() { "(no definitions)".into() } else { format!("defines {}", names.join(", ")) }
}

/// The JSON object in a model's reply: the whole text, or the outermost `{…}` inside it (models
/// wrap JSON in code fences or prose).
pub fn extract_json(text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        return Ok(value);
    }
    let start = trimmed.find('{').ok_or("the reply contains no JSON object")?;
    let end = trimmed.rfind('}').ok_or("the reply's JSON object is not closed")?;
    if end <= start {
        return Err("the reply contains no JSON object".into());
    }
    serde_json::from_str(&trimmed[start..=end]).map_err(|err| format!("the reply is not valid JSON: {err}"))
}

/// Validates a model's reply for `job`: the JSON shape of its kind, non-empty essentials, bounded
/// strings and lists. Returns the cleaned body and the anchors it resolves to.
pub fn validate(job: &Job, text: &str, snapshot: &Snapshot) -> Result<(Value, Vec<Anchor>), String> {
    let value = extract_json(text)?;
    let object = value.as_object().ok_or("the reply is not a JSON object")?;
    let schema = schema(job.kind);
    let mut cleaned = serde_json::Map::new();
    for (name, spec) in schema["properties"].as_object().into_iter().flatten() {
        let required = schema["required"].as_array().is_some_and(|r| r.iter().any(|n| n == name));
        match object.get(name) {
            Some(field) => {
                cleaned.insert(name.clone(), clean(field, spec).map_err(|e| format!("`{name}`: {e}"))?);
            }
            None if required => return Err(format!("`{name}` is missing")),
            None => {}
        }
    }
    let body = Value::Object(cleaned);
    for essential in ["purpose", "summary"] {
        if let Some(text) = body.get(essential)
            && text.as_str().is_none_or(|s| s.trim().is_empty())
        {
            return Err(format!("`{essential}` is empty"));
        }
    }
    if job.kind == NoteKind::Questions {
        let questions = body["questions"].as_array().map(Vec::len).unwrap_or(0);
        if questions == 0 {
            return Err("`questions` is empty".into());
        }
        for q in body["questions"].as_array().into_iter().flatten() {
            if q["question"].as_str().is_none_or(|s| s.trim().len() < 5)
                || q["answer"].as_str().is_none_or(|s| s.trim().is_empty())
            {
                return Err("a question or its answer is empty".into());
            }
        }
    }
    let anchors = anchors(job, &body, snapshot);
    Ok((body, anchors))
}

/// Checks `value` against the subset of JSON Schema reverie uses, trimming long strings and lists.
fn clean(value: &Value, spec: &Value) -> Result<Value, String> {
    match spec["type"].as_str() {
        Some("string") => match value {
            Value::String(s) => Ok(Value::String(s.trim().chars().take(MAX_FIELD_CHARS).collect())),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            _ => Err(format!("expected a string, got {}", kind_of(value))),
        },
        Some("array") => {
            let items = value.as_array().ok_or_else(|| format!("expected a list, got {}", kind_of(value)))?;
            let max = spec["maxItems"].as_u64().unwrap_or(16) as usize;
            items
                .iter()
                .take(max)
                .map(|item| clean(item, &spec["items"]))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        Some("object") => {
            let object = value.as_object().ok_or_else(|| format!("expected an object, got {}", kind_of(value)))?;
            let mut out = serde_json::Map::new();
            for (name, field_spec) in spec["properties"].as_object().into_iter().flatten() {
                match object.get(name) {
                    Some(field) => {
                        out.insert(name.clone(), clean(field, field_spec)?);
                    }
                    None if spec["required"].as_array().is_some_and(|r| r.iter().any(|n| n == name)) => {
                        return Err(format!("`{name}` is missing"));
                    }
                    None => {}
                }
            }
            Ok(Value::Object(out))
        }
        _ => Ok(value.clone()),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The symbol names a note's body claims (key symbols, the symbols of its questions, the function
/// of each breakpoint), reduced to their last segment (`Flask.route()` → `route`); empty ones left out.
pub fn named_symbols(body: &Value) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for item in body["key_symbols"].as_array().into_iter().flatten() {
        names.extend(item["name"].as_str().map(str::to_string));
    }
    for q in body["questions"].as_array().into_iter().flatten() {
        for s in q["symbols"].as_array().into_iter().flatten() {
            names.extend(s.as_str().map(str::to_string));
        }
    }
    for s in body["breakpoints"].as_array().into_iter().flatten() {
        names.extend(s.as_str().map(|s| {
            s.split(|c: char| !(c.is_alphanumeric() || c == '_')).find(|w| !w.is_empty()).unwrap_or("").to_string()
        }));
    }
    names
        .into_iter()
        .map(|name| name.trim().trim_end_matches("()").rsplit(['.', ':']).next().unwrap_or("").to_string())
        .filter(|name| !name.is_empty())
        .collect()
}

/// Where a note points: the definitions it names (in its file first), else its file or directory.
fn anchors(job: &Job, body: &Value, snapshot: &Snapshot) -> Vec<Anchor> {
    let mut anchors: Vec<Anchor> = Vec::new();
    let prefer = job.kind.is_file_level().then_some(job.subject.as_str());
    for name in named_symbols(body) {
        let Some((file, index)) = snapshot.definitions_named(&name, prefer).into_iter().next() else { continue };
        if job.kind.is_file_level() && &*file != job.subject.as_str() {
            continue;
        }
        let Some(def) = snapshot.definition(&file, index) else { continue };
        let (start_line, end_line) = def.span.lines_1based();
        let anchor = Anchor { path: file.to_string(), start_line, end_line, symbol: Some(def.name.clone()) };
        if !anchors.contains(&anchor) {
            anchors.push(anchor);
        }
    }
    if anchors.is_empty()
        && job.kind.is_file_level()
        && let Some(facts) = snapshot.files.get(job.subject.as_str())
    {
        anchors.push(Anchor {
            path: job.subject.clone(),
            start_line: 1,
            end_line: facts.line_count.max(1),
            symbol: None,
        });
    }
    anchors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_inside_fences_and_prose() {
        assert_eq!(extract_json("```json\n{\"a\": 1}\n```").unwrap(), json!({"a": 1}));
        assert_eq!(extract_json("Sure! {\"a\": {\"b\": 2}} Hope that helps").unwrap(), json!({"a": {"b": 2}}));
        assert!(extract_json("no json here").is_err());
        assert!(extract_json("{\"a\": ").is_err());
    }

    #[test]
    fn cleaning_enforces_types_limits_and_required_fields() {
        let spec = schema(NoteKind::FileSummary);
        let symbols: Vec<Value> = (0..9).map(|i| json!({"name": format!("f{i}"), "role": "r"})).collect();
        let ok = json!({"purpose": "x", "key_symbols": symbols, "invariants": [], "used_by": "y", "extra": 1});
        let cleaned = clean(&ok, &spec).unwrap();
        assert_eq!(cleaned["key_symbols"].as_array().unwrap().len(), 6, "trimmed to maxItems");
        assert!(cleaned.get("extra").is_none());
        let missing = json!({"purpose": "x", "key_symbols": [], "invariants": []});
        assert_eq!(clean(&missing, &spec).unwrap_err(), "`used_by` is missing");
        let wrong = json!({"purpose": "x", "key_symbols": "f", "invariants": [], "used_by": ""});
        assert!(clean(&wrong, &spec).unwrap_err().contains("expected a list"));
    }
}
