//! Answers that need no model: structural questions answered from facts ("where is X defined",
//! "what calls X", "which tests cover X", "where is the error … raised", "what else must change if I
//! change X" — its users, the files that changed with its file in past commits, its tests) and
//! anticipated questions
//! whose answer was precomputed while the user was away and whose anchors are still fresh.

use super::learned::LearnedContext;
use super::retrieve::longest_quoted_fragment;
use super::{ContextItem, ItemKind, Question, Source};
use crate::search::tokenize;
use crate::snapshot::Snapshot;
use crate::tokens::estimate_tokens;
use std::collections::HashSet;
use std::fmt::Write;
use std::sync::Arc;

/// How similar (token-set Jaccard) a question must be to an anticipated one to reuse its answer.
pub const ANTICIPATED_MATCH: f64 = 0.6;

#[derive(Clone, Debug, PartialEq)]
pub struct Direct {
    pub answer: String,
    /// `Facts` or `Anticipated`.
    pub source: Source,
    pub context: Vec<ContextItem>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Definition,
    Callers,
    Tests,
    ErrorSite,
    /// What else a change of the symbol touches: its users, what changed with it, its tests.
    Impact,
}

fn shape_of(question: &str) -> Option<Shape> {
    let q = question.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| q.contains(w));
    if has(&[
        "if i change",
        "if we change",
        "if i modify",
        "if i rename",
        "if i remove",
        "what else must",
        "what else needs",
        "what else has to",
        "what else should",
        "what would break",
        "what breaks",
        "what will break",
        "impact of",
        "affected by",
        "changes together",
        "changed together",
        "change together",
        "changes with",
        "changed with",
        "co-change",
        "depends on",
        "depend on",
    ]) {
        return Some(Shape::Impact);
    }
    if has(&[
        "what calls",
        "who calls",
        "callers of",
        "where is",
        "where are",
        "usages of",
        "uses of",
        "references to",
        "who uses",
        "what uses",
    ]) && has(&["call", "used", "usage", "uses", "reference"])
    {
        return Some(Shape::Callers);
    }
    if has(&["which tests", "what tests", "tests for", "tests cover", "test covers", "tested"]) {
        return Some(Shape::Tests);
    }
    if has(&["raised", "thrown", "error", "exception"]) && has(&["where", "which"]) {
        return Some(Shape::ErrorSite);
    }
    if has(&["where is", "where's", "defined", "definition of", "find "]) {
        return Some(Shape::Definition);
    }
    None
}

/// Words that only say what shape a structural question has; every other content word of the
/// question must be part of the symbol's name for a direct answer (else the question asks about more
/// than the symbol: "where is the session cookie signed?" is not "where is `session` defined?").
const SHAPE_WORDS: &[&str] = &[
    "where",
    "defined",
    "define",
    "definition",
    "declared",
    "declare",
    "declaration",
    "find",
    "located",
    "live",
    "lives",
    "implemented",
    "calls",
    "call",
    "called",
    "calling",
    "callers",
    "caller",
    "used",
    "uses",
    "use",
    "usage",
    "usages",
    "using",
    "references",
    "reference",
    "referenced",
    "tests",
    "test",
    "tested",
    "cover",
    "covers",
    "covered",
    "coverage",
    "which",
    "what",
    "who",
    "whom",
    "function",
    "functions",
    "method",
    "methods",
    "class",
    "classes",
    "struct",
    "type",
    "variable",
    "constant",
    "module",
    "field",
    "property",
    "trait",
    "interface",
    "enum",
    "symbol",
    "code",
    "all",
    "places",
    "place",
    "anywhere",
    "there",
    "any",
    "exercise",
    "exercises",
    "raised",
    "thrown",
    "error",
    "exception",
    "message",
    "show",
    "list",
    "me",
    "please",
];

/// Words that only say a question asks about the impact of a change (with `SHAPE_WORDS`).
const IMPACT_WORDS: &[&str] = &[
    "else",
    "must",
    "change",
    "changes",
    "changed",
    "changing",
    "modify",
    "modifying",
    "rename",
    "renaming",
    "remove",
    "removing",
    "delete",
    "deleting",
    "break",
    "breaks",
    "broken",
    "would",
    "might",
    "could",
    "should",
    "need",
    "needs",
    "has",
    "have",
    "impact",
    "affected",
    "affect",
    "affects",
    "depends",
    "depend",
    "depending",
    "together",
    "co",
    "also",
    "too",
    "touch",
    "touches",
    "updated",
    "update",
];

/// Users, co-changed files and tests an impact answer lists, at most.
const IMPACT_REFERENCES: usize = 15;
const IMPACT_CO_CHANGES: usize = 8;
const IMPACT_TESTS: usize = 8;
/// Commits a file must share with the symbol's file to be listed as changing with it.
const IMPACT_MIN_TOGETHER: u32 = 2;

/// Words that ask where a message comes from.
const MESSAGE_WORDS: &[&str] = &[
    "produced",
    "produce",
    "comes",
    "come",
    "printed",
    "logged",
    "emitted",
    "generated",
    "get",
    "getting",
    "got",
    "see",
    "seeing",
    "happen",
    "happens",
    "text",
    "string",
    "says",
    "saying",
    "warning",
    "panic",
    "failure",
];

/// Other words a question about a message may hold (a file name, "in the parser").
const MAX_UNEXPLAINED_AROUND_MESSAGE: usize = 3;

/// A structural question about one named symbol, answered from facts — only when certain: the
/// question has a structural shape, names exactly one symbol as code (or a rare name), and says
/// nothing else.
pub fn structural(snapshot: &Snapshot, question: &Question) -> Option<Direct> {
    let shape = shape_of(&question.text)?;
    if shape == Shape::ErrorSite {
        return error_site(snapshot, question);
    }
    let text_index = snapshot.text_index();
    let names = super::names::names_in(snapshot, &text_index, &question.text);
    // Exactly one symbol, so the answer cannot be about the wrong one.
    let (named, qualified) = one_symbol(&names)?;
    let name = &named.name;
    let own: HashSet<String> =
        tokenize(name).into_iter().chain(named.qualifier.iter().flat_map(|q| tokenize(q))).collect();
    let unexplained = tokenize(&question.text)
        .into_iter()
        .filter(|t| {
            let explained = own.contains(t)
                || SHAPE_WORDS.contains(&t.as_str())
                || (shape == Shape::Impact && IMPACT_WORDS.contains(&t.as_str()));
            !explained
        })
        .count();
    if unexplained > 0 {
        return None;
    }
    let mut defs = snapshot.definitions_named(name, question.focus_file.as_deref());
    if qualified {
        let qualifier = named.qualifier.as_deref()?;
        let every = defs.len();
        defs.retain(|(file, index)| {
            let Some(definitions) = snapshot.files.get(file).map(|facts| &facts.definitions) else { return false };
            let Some(def) = definitions.get(*index as usize) else { return false };
            member_of(def, def.parent.and_then(|p| definitions.get(p as usize)), qualifier)
        });
        // Uses and tests are found by name: only when no other definition shares it are they this one's.
        if defs.is_empty() || (shape != Shape::Definition && defs.len() != every) {
            return None;
        }
    }
    let mut out = String::new();
    let mut context = Vec::new();
    match shape {
        Shape::Definition => {
            let shown = match (&named.qualifier, qualified) {
                (Some(qualifier), true) => format!("{qualifier}.{name}"),
                _ => name.clone(),
            };
            let _ = writeln!(out, "`{shown}` is defined in {} place{}:", defs.len(), plural(defs.len()));
            for (file, index) in defs.iter().take(10) {
                let Some(def) = snapshot.definition(file, *index) else { continue };
                let (start, _) = def.span.lines_1based();
                let _ = writeln!(out, "- `{file}:{start}` — {} `{}`", def.kind.name(), def.signature);
                context.push(definition_item(file, def));
            }
        }
        Shape::Callers => {
            let mut total = 0;
            let _ = writeln!(out, "`{name}` is referenced from:");
            // Only the files that reference the name (the snapshot's index), callers first — so the
            // ones a user asks for are not cut off by a changelog's mentions.
            let mut files: Vec<Arc<str>> = snapshot.referencing_files(name).into_iter().map(|(f, _)| f).collect();
            files.sort_by_key(|file| (caller_order(file), file.clone()));
            for (file, facts) in files.iter().filter_map(|f| snapshot.files.get_key_value(f)) {
                for reference in facts.references.iter().filter(|r| &r.name == name) {
                    total += 1;
                    if total > 25 {
                        continue;
                    }
                    let line = reference.span.start.line + 1;
                    let within = facts.enclosing_definition(&reference.span).map(|d| &facts.definitions[d as usize]);
                    let place = within.map(|d| format!(" in `{}`", d.name)).unwrap_or_default();
                    let _ = writeln!(out, "- `{file}:{line}`{place}");
                    context.push(item(
                        file,
                        line,
                        line,
                        ItemKind::Reference,
                        format!("uses `{name}`{place}"),
                        String::new(),
                    ));
                }
            }
            if total == 0 {
                return None;
            }
            if total > 25 {
                let _ = writeln!(out, "- … {} more", total - 25);
            }
        }
        Shape::Tests => {
            let tests = snapshot.tests_covering_name(name, 20);
            if tests.is_empty() {
                return None;
            }
            let _ = writeln!(out, "Tests that use `{name}`:");
            list_tests(tests, name, &mut out, &mut context);
        }
        Shape::Impact => return impact(snapshot, question, name, &defs),
        Shape::ErrorSite => unreachable!("handled above"),
    }
    (!context.is_empty()).then_some(Direct { answer: out, source: Source::Facts, context })
}

/// The one symbol a question names, and whether it is a qualified member (`QuerySet.get` names
/// `QuerySet` and `get`: the member, defined in the qualifier); `None` for none or several.
fn one_symbol(names: &[super::names::Name]) -> Option<(&super::names::Name, bool)> {
    match names {
        [named] => Some((named, false)),
        [a, b] => {
            let member_of = |m: &super::names::Name, q: &super::names::Name| m.qualifier.as_deref() == Some(&*q.name);
            if member_of(a, b) {
                Some((a, true))
            } else if member_of(b, a) {
                Some((b, true))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Whether `def` (enclosed by `parent`) is a member of `qualifier`: defined inside it (a Python or
/// Java method), or naming it before its own name — a Go receiver (`func (c *Command) ExecuteC()`),
/// a C++ definition out of its class (`void Command::run()`).
fn member_of(
    def: &crate::syntax::facts::Definition,
    parent: Option<&crate::syntax::facts::Definition>,
    qualifier: &str,
) -> bool {
    if parent.is_some_and(|p| p.name == qualifier) {
        return true;
    }
    let before_name = def.signature.find(def.name.as_str()).map_or("", |at| &def.signature[..at]);
    before_name.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|word| word == qualifier)
}

/// "What else must change if I change X?": X's definition, the lines that use it (the project's own
/// code first), the files that changed together with X's file in past commits (when a history is
/// mined), and the tests that use it. From facts and the history alone: zero tokens.
fn impact(snapshot: &Snapshot, question: &Question, name: &str, defs: &[(Arc<str>, u32)]) -> Option<Direct> {
    let (file, index) = defs.first()?;
    let def = snapshot.definition(file, *index)?;
    let (start, end) = def.span.lines_1based();
    let mut out = String::new();
    let _ = writeln!(out, "If you change `{name}` (`{file}:{start}`, {} `{}`):", def.kind.name(), def.signature);
    let mut context = vec![definition_item(file, def)];

    let mut files: Vec<Arc<str>> = snapshot.referencing_files(name).into_iter().map(|(f, _)| f).collect();
    files.sort_by_key(|file| (caller_order(file), file.clone()));
    let mut users = Vec::new();
    for (user_file, facts) in files.iter().filter_map(|f| snapshot.files.get_key_value(f)) {
        for reference in facts.references.iter().filter(|r| r.name == name) {
            let line = reference.span.start.line + 1;
            let within = facts.enclosing_definition(&reference.span).map(|d| &facts.definitions[d as usize]);
            // The definition's own lines are not a use of it.
            if user_file == file && (start..=end).contains(&line) {
                continue;
            }
            users.push((user_file.clone(), line, within.map(|d| d.name.clone())));
        }
    }
    if users.is_empty() {
        let _ = writeln!(out, "\n**What uses it**: nothing in the workspace refers to `{name}` by name.");
    } else {
        let in_files = users.iter().map(|(f, _, _)| f).collect::<HashSet<_>>().len();
        let _ = writeln!(out, "\n**What uses it** ({} in {in_files} file{}):", users.len(), plural(in_files));
        for (user_file, line, within) in users.iter().take(IMPACT_REFERENCES) {
            let place = within.as_ref().map(|d| format!(" in `{d}`")).unwrap_or_default();
            let _ = writeln!(out, "- `{user_file}:{line}`{place}");
            context.push(item(
                user_file,
                *line,
                *line,
                ItemKind::Reference,
                format!("uses `{name}`{place}"),
                String::new(),
            ));
        }
        if users.len() > IMPACT_REFERENCES {
            let _ = writeln!(out, "- … {} more", users.len() - IMPACT_REFERENCES);
        }
    }

    match &question.past_changes {
        Some(past) => {
            let (of, with) = past.changed_with(file, IMPACT_MIN_TOGETHER, IMPACT_CO_CHANGES);
            if with.is_empty() {
                let _ = writeln!(
                    out,
                    "\n**Changed with `{file}` in past commits**: no file changed with it more than once ({of} commit{}).",
                    plural(of as usize)
                );
            } else {
                let _ = writeln!(out, "\n**Changed with `{file}` in past commits** (of its {of} commits):");
                for co in &with {
                    let _ = writeln!(out, "- `{}` — {} together", co.file, co.together);
                    if snapshot.files.contains_key(co.file.as_str()) {
                        context.push(item(
                            &co.file,
                            1,
                            1,
                            ItemKind::Code,
                            format!("changed together with `{file}` in {} of its {of} past commits", co.together),
                            String::new(),
                        ));
                    }
                }
            }
        }
        None => {
            let _ = writeln!(
                out,
                "\n**Changed with `{file}` in past commits**: unknown — no git history is mined for this workspace yet (in a git repository, `reverie think` mines it, and the server does at idle)."
            );
        }
    }

    let tests = snapshot.tests_covering_name(name, IMPACT_TESTS);
    if tests.is_empty() {
        let _ = writeln!(out, "\n**Tests that use it**: none found.");
    } else {
        let _ = writeln!(out, "\n**Tests that use it**:");
        list_tests(tests, name, &mut out, &mut context);
    }
    Some(Direct { answer: out, source: Source::Facts, context })
}

/// A definition as a context item: its lines, kind and name, its signature as the text.
fn definition_item(file: &str, def: &crate::syntax::facts::Definition) -> ContextItem {
    let (start, end) = def.span.lines_1based();
    item(file, start, end, ItemKind::Definition, format!("{} `{}`", def.kind.name(), def.name), def.signature.clone())
}

/// The tests that use `name` (`Snapshot::tests_covering_name`), one line and one item each.
fn list_tests(tests: Vec<(String, String, u32, u32)>, name: &str, out: &mut String, context: &mut Vec<ContextItem>) {
    for (file, test, start, end) in tests {
        let _ = writeln!(out, "- `{file}:{start}` {test}");
        context.push(item(&file, start, end, ItemKind::Test, format!("test `{test}` uses `{name}`"), String::new()));
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn error_site(snapshot: &Snapshot, question: &Question) -> Option<Direct> {
    let mut hits = Vec::new();
    // The messages from the snapshot's summary: only the files of those quoted are read.
    for (file, site, message) in snapshot.error_messages() {
        if let Some(len) = longest_quoted_fragment(message, &question.text)
            && let Some(facts) = snapshot.files.get(file)
            && let Some(site) = facts.error_sites.get(site as usize)
        {
            hits.push((
                len,
                file.clone(),
                site.clone(),
                site.definition.and_then(|d| facts.definitions.get(d as usize)).map(|d| d.name.clone()),
            ));
        }
    }
    if hits.is_empty() {
        return None;
    }
    hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let best = hits[0].0;
    // Only a question about the message itself ("where is 'empty route path' raised?") gets this
    // answer; a bug report that quotes a traceback asks why, and the raise site is seldom the cause.
    let message: HashSet<String> = tokenize(&hits[0].2.message).into_iter().collect();
    let unexplained = tokenize(&question.text)
        .into_iter()
        .filter(|t| !message.contains(t) && !SHAPE_WORDS.contains(&t.as_str()) && !MESSAGE_WORDS.contains(&t.as_str()))
        .count();
    if unexplained > MAX_UNEXPLAINED_AROUND_MESSAGE {
        return None;
    }
    let mut out = String::from("That message is produced at:\n");
    let mut context = Vec::new();
    for (_, file, site, within) in hits.into_iter().filter(|h| h.0 == best).take(10) {
        let (start, end) = site.span.lines_1based();
        // The message as the facts keep it; the line itself is quoted from the file by the caller
        // (`ask::quote_error_sites`), never rewritten here (`raise "…"` where the file says
        // `errors.New("…")`).
        let place = within.as_ref().map(|n| format!(" in `{n}`")).unwrap_or_default();
        let _ = writeln!(out, "- `{file}:{start}`{place}: \"{}\"", site.message);
        context.push(item(
            &file,
            start,
            end,
            ItemKind::ErrorSite,
            match &within {
                Some(name) => format!("this error message is produced here, in `{name}`"),
                None => "this error message is produced here".to_string(),
            },
            format!("{} \"{}\"", site.kind.name(), site.message),
        ));
    }
    Some(Direct { answer: out, source: Source::Facts, context })
}

/// A note answers directly only if at least half the symbols it names exist (`learned.rs`).
const MIN_RELIABILITY: f64 = 0.5;

/// A fresh anticipated question similar enough to this one: its precomputed answer.
pub fn anticipated(learned: &LearnedContext, question: &Question) -> Option<Direct> {
    let asked: HashSet<String> = tokenize(&question.text).into_iter().collect();
    if asked.is_empty() {
        return None;
    }
    let mut best: Option<(f64, usize)> = None;
    for (slot, &passage) in learned.questions.iter().enumerate() {
        let p = &learned.passages[passage];
        if !learned.fresh[p.note] {
            continue; // A stale answer is never served as fresh.
        }
        if learned.reliability[p.note] < MIN_RELIABILITY {
            continue; // A note naming symbols that do not exist does not answer for zero tokens.
        }
        let note = &learned.notes[p.note];
        let text = note.body["questions"][p.question.unwrap_or(0)]["question"].as_str().unwrap_or("");
        let theirs: HashSet<String> = tokenize(text).into_iter().collect();
        let union = asked.union(&theirs).count();
        let similarity = if union == 0 { 0.0 } else { asked.intersection(&theirs).count() as f64 / union as f64 };
        if similarity >= ANTICIPATED_MATCH && best.is_none_or(|(s, _)| similarity > s) {
            best = Some((similarity, slot));
        }
    }
    let (similarity, slot) = best?;
    let passage = &learned.passages[learned.questions[slot]];
    let note = &learned.notes[passage.note];
    let q = &note.body["questions"][passage.question.unwrap_or(0)];
    let symbols: Vec<&str> = q["symbols"].as_array().into_iter().flatten().filter_map(|s| s.as_str()).collect();
    let mut context: Vec<ContextItem> = note
        .anchors
        .iter()
        .filter(|a| a.symbol.as_deref().is_some_and(|s| symbols.contains(&s)))
        .map(|a| {
            item(
                &a.path,
                a.start_line,
                a.end_line,
                ItemKind::Note,
                format!("anchor of the anticipated answer (`{}`)", a.symbol.as_deref().unwrap_or("")),
                String::new(),
            )
        })
        .collect();
    if context.is_empty() {
        context.push(item(
            &note.subject,
            1,
            1,
            ItemKind::Note,
            "the file the anticipated answer is about".into(),
            String::new(),
        ));
    }
    let answer = format!(
        "{}\n\n(Answered from an anticipated question reverie prepared while you were away: \"{}\", {:.0}% similar; no model was called.)",
        q["answer"].as_str().unwrap_or("").trim(),
        q["question"].as_str().unwrap_or(""),
        similarity * 100.0
    );
    Some(Direct { answer, source: Source::Anticipated, context })
}

/// Where a file's references go in a list of callers: the project's own code, then tests and
/// examples, then docs, then vendored code.
pub(super) fn caller_order(file: &str) -> u8 {
    use crate::search::prior::{is_prose, is_supporting, is_vendored};
    if is_vendored(file) {
        3
    } else if is_prose(file) {
        2
    } else if is_supporting(file) {
        1
    } else {
        0
    }
}

fn item(path: &str, start_line: u32, end_line: u32, kind: ItemKind, reason: String, text: String) -> ContextItem {
    let tokens = estimate_tokens(&text) + estimate_tokens(path) + 4;
    ContextItem { path: path.to_string(), start_line, end_line, kind, score: 1.0, tokens, reason, text, stale: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_shapes() {
        assert_eq!(shape_of("Where is load_settings defined?"), Some(Shape::Definition));
        assert_eq!(shape_of("what calls load_settings"), Some(Shape::Callers));
        assert_eq!(shape_of("Where is load_settings used?"), Some(Shape::Callers));
        assert_eq!(shape_of("Which tests cover Settings?"), Some(Shape::Tests));
        assert_eq!(shape_of("Where is the error \"x\" raised?"), Some(Shape::ErrorSite));
        assert_eq!(shape_of("Explain how caching works"), None);
        assert_eq!(shape_of("What else must change if I change load_settings?"), Some(Shape::Impact));
        assert_eq!(shape_of("what would break if I rename Settings"), Some(Shape::Impact));
        assert_eq!(shape_of("which files change together with Settings?"), Some(Shape::Impact));
    }

    fn ask(snapshot: &Snapshot, text: &str) -> Option<Direct> {
        structural(snapshot, &Question { text: text.into(), budget: usize::MAX, ..Question::default() })
    }

    #[test]
    fn a_qualified_member_is_answered_with_its_own_definition() {
        let snapshot = Snapshot::of_python(&[
            (
                "query.py",
                "class QuerySet:\n    def get(self, key):\n        return key\n\n    def only_here(self):\n        return 1\n",
            ),
            ("cache.py", "class Cache:\n    def get(self, key):\n        return None\n"),
            ("use.py", "from query import QuerySet\n\ndef main(qs):\n    qs.get(1)\n    qs.only_here()\n"),
        ]);
        let direct = ask(&snapshot, "Where is `QuerySet.get` defined?").expect("a direct answer");
        assert!(direct.answer.starts_with("`QuerySet.get` is defined in 1 place:"), "{}", direct.answer);
        assert_eq!(direct.context.len(), 1);
        assert_eq!((direct.context[0].path.as_str(), direct.context[0].start_line), ("query.py", 2));

        // Uses are found by name: `get` is also `Cache.get`, so they are not told as `QuerySet.get`'s.
        assert!(ask(&snapshot, "Where is `QuerySet.get` used?").is_none());
        let users = ask(&snapshot, "Where is `QuerySet.only_here` used?").expect("a unique member's uses");
        assert!(users.context.iter().any(|i| i.path == "use.py" && i.start_line == 5), "{}", users.answer);

        // A Go method names its type in its receiver, a C++ one out of its class before its name.
        let go = |signature: &str| crate::syntax::facts::Definition {
            name: "ExecuteC".into(),
            kind: crate::syntax::facts::DefKind::Method,
            span: Default::default(),
            signature: signature.into(),
            doc: None,
            parent: None,
        };
        assert!(member_of(&go("func (c *Command) ExecuteC() (cmd *Command, err error)"), None, "Command"));
        assert!(member_of(&go("void Command::ExecuteC()"), None, "Command"));
        assert!(!member_of(&go("func (c *Cache) ExecuteC() *Command"), None, "Command"));

        // A member the qualifier does not define, or two unrelated names: no direct answer.
        assert!(ask(&snapshot, "Where is `Cache.only_here` defined?").is_none());
        assert!(ask(&snapshot, "Where are `QuerySet` and `Cache` defined?").is_none());
    }
}
