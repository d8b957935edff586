//! Context centred on one symbol, for the code actions that ask about it ("Explain …", "How to debug
//! …"): the action knows the symbol exactly (its name, the document and the position), so its context
//! is built from the symbol outward, deterministically, before the general ranking fills the rest.
//!
//! - Explain: the definition (signature, doc, the learned role), what calls it (by name, nearest
//!   first; docs that mention the name come last), the type it belongs to, what it calls, the file's
//!   learned summary, then further callers.
//! - How to debug: the definition, the error sites inside it and in what it calls, the tests that
//!   exercise it (tests that reference it, or one of its callers, or define an override of it or of a
//!   caller, or reference its type), its callers, the file's debugging playbook, then more of each.
//! - Where is … used: no centred context; the structural answer from facts, as for a typed question.
//!
//! Guarantees: the same snapshot, notes and question give the same items in the same order; each
//! item's reason says why it is there ("`open_session` calls `get_signing_serializer` at :321");
//! centred items come first, in their order, as far as the budget holds them, and the general ranking
//! (`retrieve::select`) fills what is left without repeating a place; a symbol the snapshot does not
//! define gives no centred context (the question is answered as if typed). Files that look like they
//! hold secrets show no text.

use super::items::{error_item, file_end, is_secret, item, tokens_of, withheld_definition};
use super::learned::{LearnedContext, note_text};
use super::{ContextItem, ItemKind, Question, select};
use crate::sleep::NoteKind;
use crate::snapshot::{DefinitionAt, Snapshot};
use crate::syntax::FileFacts;
use crate::syntax::facts::{DefKind, Definition, RefKind, Reference, Span};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What a code action asks about its symbol (serialized lowercase: `explain`, `debug`, `usages`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Intent {
    /// What it does, how it is used, why it exists.
    Explain,
    /// How to debug it: failure modes, error messages, tests.
    Debug,
    /// Where it is used (answered from facts, as a typed "where is X used?").
    Usages,
}

/// The symbol a question is about, as a code action names it; the definition is found in the
/// question's snapshot from the name, the focus file and the focus line (`resolve`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    pub name: String,
    pub intent: Intent,
}

/// Callers, tests and error sites in the first group of an answer: with the definition, the first
/// eight items hold the definition, two error sites, two tests and three callers.
const FIRST_CALLERS: usize = 3;
const FIRST_TESTS: usize = 2;
const FIRST_ERRORS: usize = 2;
const FIRST_CALLEES: usize = 3;
/// The most of each kind in the whole centred context.
const MAX_CALLERS: usize = 12;
const MAX_TESTS: usize = 6;
const MAX_ERRORS: usize = 6;
const MAX_CALLEES: usize = 6;
/// Past fixes of the subject's file told with it (How to debug).
const MAX_PAST_FIXES: usize = 3;
/// Definitions whose words name the subject, looked at for callers the grammar did not see.
const MAX_MENTIONS: usize = 200;
/// A called name defined in more places than this cannot be resolved by name.
const MAX_DEFINITIONS_OF_CALLEE: usize = 3;
/// A caller whose name is defined in more places than this says little about which tests reach it.
const MAX_DEFINITIONS_OF_CALLER: usize = 5;
/// Characters of a doc comment shown with a definition.
const DOC_CHARS: usize = 400;
/// Characters of a signature shown.
const SIGNATURE_CHARS: usize = 200;

/// The definition the subject names: the definition of that name at the focus line (the cursor on
/// it, or inside it), else a member of the type around the cursor, else the first definition of the
/// name as `Snapshot::definitions_named` orders them (the focus file's first).
fn resolve(snapshot: &Snapshot, question: &Question, subject: &Subject) -> Option<DefinitionAt> {
    let name = subject.name.as_str();
    let defs = snapshot.definitions_named(name, question.focus_file.as_deref());
    if let (Some(file), Some(line)) = (question.focus_file.as_deref(), question.focus_line)
        && let Some(facts) = snapshot.files.get(file)
    {
        let at_line = defs
            .iter()
            .filter(|(key, _)| &**key == file)
            .filter(|(_, i)| {
                let span = &facts.definitions[*i as usize].span;
                span.start.line <= line && line <= span.end.line
            })
            .min_by_key(|(_, i)| {
                let span = &facts.definitions[*i as usize].span;
                span.end_byte - span.start_byte
            });
        if let Some(found) = at_line {
            return Some(found.clone());
        }
        // `self.name(…)` inside a class: that class's member.
        let mut around = facts.definition_around_line(line);
        while let Some(index) = around {
            if let Some(member) =
                defs.iter().find(|(key, i)| &**key == file && facts.definitions[*i as usize].parent == Some(index))
            {
                return Some(member.clone());
            }
            around = facts.definitions[index as usize].parent;
        }
    }
    defs.into_iter().next()
}

/// The context of a question about `question.subject`, within `question.budget`: the centred items
/// (see the module docs), then `ranked` (the general ranking's candidates for a text, best first) in
/// what is left. The ranking is asked about the symbol itself (`` `Type.name` ``), not about the
/// action's wording: "How do I debug …? … where to put a breakpoint" found every `put` and
/// `get_debug_flag` of a project. `None` when the question has no subject, asks where it is used, or
/// names no definition.
pub fn centred_context(
    snapshot: &Snapshot,
    learned: Option<&LearnedContext>,
    question: &Question,
    ranked: impl FnOnce(&str) -> Vec<ContextItem>,
) -> Option<Vec<ContextItem>> {
    let subject = question.subject.as_ref()?;
    let (items, about) = centred_items(snapshot, learned, question, subject)?;
    Some(fill(items, ranked(&about), question.budget))
}

/// The centred items alone, best first, before budgeting, and the text that asks the general
/// ranking about the symbol (`` `SecureCookieSessionInterface.get_signing_serializer` ``).
fn centred_items(
    snapshot: &Snapshot,
    learned: Option<&LearnedContext>,
    question: &Question,
    subject: &Subject,
) -> Option<(Vec<ContextItem>, String)> {
    if subject.intent == Intent::Usages {
        return None;
    }
    let (key, index) = resolve(snapshot, question, subject)?;
    let (key, facts) = snapshot.files.get_key_value(&key)?;
    let def = facts.definitions.get(index as usize)?;
    let at = Symbol { key: key.clone(), facts, index, def };
    let callers = callers(snapshot, &at);
    // The first group holds definitions in code that call it; module-level code (in Rust, macro
    // invocations in an `impl` block) and docs that mention the name wait for the tail.
    let first_callers = callers.iter().take(FIRST_CALLERS).take_while(|c| c.in_code() && c.def.is_some()).count();
    let callees = callees(snapshot, &at);
    let mut out = Vec::new();
    out.push(subject_item(&at, learned));
    match subject.intent {
        Intent::Explain => {
            out.extend(callers[..first_callers].iter().map(|c| c.item(&at)));
            if let Some(parent) = def.parent.and_then(|p| facts.definitions.get(p as usize)) {
                out.push(brief_definition_item(
                    key,
                    parent,
                    format!("`{}` is a {} of {} `{}`", def.name, def.kind.name(), parent.kind.name(), parent.name),
                    false,
                ));
            }
            out.extend(callees.iter().take(FIRST_CALLEES).map(|c| c.item(&at)));
            out.extend(note_item(snapshot, learned, key, NoteKind::FileSummary));
            out.extend(callers.iter().take(MAX_CALLERS).skip(first_callers).map(|c| c.item(&at)));
            out.extend(callees.iter().skip(FIRST_CALLEES).take(MAX_CALLEES - FIRST_CALLEES).map(|c| c.item(&at)));
        }
        Intent::Debug => {
            if let Some(past) = &question.past_changes {
                add_past_fixes(&mut out[0], &past.fixes_of(key, MAX_PAST_FIXES));
            }
            let errors = error_sites(&at, &callees);
            let tests = tests(snapshot, &at, &callers);
            out.extend(errors.iter().take(FIRST_ERRORS).cloned());
            out.extend(tests.iter().take(FIRST_TESTS).cloned());
            out.extend(callers[..first_callers].iter().map(|c| c.item(&at)));
            out.extend(note_item(snapshot, learned, key, NoteKind::Playbook));
            out.extend(errors.iter().skip(FIRST_ERRORS).take(MAX_ERRORS - FIRST_ERRORS).cloned());
            out.extend(tests.iter().skip(FIRST_TESTS).take(MAX_TESTS - FIRST_TESTS).cloned());
            out.extend(callers.iter().take(MAX_CALLERS).skip(first_callers).map(|c| c.item(&at)));
        }
        Intent::Usages => unreachable!("no centred context"),
    }
    let mut seen = HashSet::new();
    out.retain(|item| seen.insert((item.path.clone(), item.start_line, item.end_line)));
    // Centred items are there because the symbol is, not by a ranking: each scores 1.
    for item in &mut out {
        item.score = 1.0;
    }
    Some((out, format!("`{}`", at.facts.qualified_name(at.def))))
}

/// `centred` first, in order, as far as `budget` holds them; then `ranked`'s items at other places,
/// chosen by `select` within what is left.
fn fill(centred: Vec<ContextItem>, ranked: Vec<ContextItem>, budget: usize) -> Vec<ContextItem> {
    let mut used = 0;
    let mut out: Vec<ContextItem> = Vec::new();
    for item in centred {
        if used + item.tokens <= budget {
            used += item.tokens;
            out.push(item);
        }
    }
    let taken: HashSet<(String, u32, u32)> = out.iter().map(|i| (i.path.clone(), i.start_line, i.end_line)).collect();
    let rest: Vec<ContextItem> =
        ranked.into_iter().filter(|i| !taken.contains(&(i.path.clone(), i.start_line, i.end_line))).collect();
    out.extend(select(rest, budget - used));
    out
}

/// The subject's definition and where it is.
struct Symbol<'a> {
    key: Arc<str>,
    facts: &'a FileFacts,
    index: u32,
    def: &'a Definition,
}

/// A definition (or a file's module-level code) that references the subject.
struct Caller<'a> {
    key: Arc<str>,
    /// `None`: module-level code.
    def: Option<&'a Definition>,
    /// 1-based lines of the references, first first; empty when only its words name the subject (a
    /// call inside a macro's arguments, `tri!(self.ignore_integer())`, which the grammar does not
    /// parse as a call).
    lines: Vec<u32>,
    calls: bool,
}

impl Caller<'_> {
    /// In the project's code, its tests or examples (not a doc that mentions the name, nor vendored
    /// code).
    fn in_code(&self) -> bool {
        super::direct::caller_order(&self.key) <= 1
    }

    fn item(&self, at: &Symbol) -> ContextItem {
        let (verb, lines) = match (self.calls, self.lines.is_empty()) {
            (_, true) => ("names", "in its body".to_string()),
            (true, false) => ("calls", at_lines(&self.lines)),
            (false, false) => ("uses", at_lines(&self.lines)),
        };
        match self.def {
            Some(def) => brief_definition_item(
                &self.key,
                def,
                format!("{} `{}` {verb} `{}` {lines}", def.kind.name(), def.name, at.def.name),
                false,
            ),
            None => {
                let line = self.lines.first().copied().unwrap_or(1);
                item(
                    &self.key,
                    line,
                    line,
                    ItemKind::Reference,
                    format!("module-level code {verb} `{}` {lines}", at.def.name),
                    String::new(),
                )
            }
        }
    }
}

/// `at :321` or `at :321, :368`.
fn at_lines(lines: &[u32]) -> String {
    let shown: Vec<String> = lines.iter().take(3).map(|l| format!(":{l}")).collect();
    let more = if lines.len() > 3 { format!(" and {} more", lines.len() - 3) } else { String::new() };
    format!("at {}{more}", shown.join(", "))
}

/// The definitions that reference the subject by name, nearest first: the project's own code before
/// tests, docs and vendored code (`direct::caller_order`), definitions before module-level code,
/// references before mere mentions of the name, the subject's file first, then by how far apart the
/// directories are.
fn callers<'a>(snapshot: &'a Snapshot, at: &Symbol) -> Vec<Caller<'a>> {
    let name = at.def.name.as_str();
    let mut found: HashMap<(Arc<str>, Option<u32>), Caller<'a>> = HashMap::new();
    for (file, _) in snapshot.referencing_files(name) {
        let Some((file, facts)) = snapshot.files.get_key_value(&file) else { continue };
        for reference in facts.references.iter().filter(|r| r.name == name) {
            let within = facts.enclosing_definition(&reference.span);
            if **file == *at.key && within.is_some_and(|w| w == at.index || inside(facts, w, at.index)) {
                continue; // The subject using itself (recursion, a nested helper).
            }
            let caller = found.entry((file.clone(), within)).or_insert_with(|| Caller {
                key: file.clone(),
                def: within.map(|w| &facts.definitions[w as usize]),
                lines: Vec::new(),
                calls: false,
            });
            caller.lines.push(reference.span.start.line + 1);
            caller.calls |= reference.kind == RefKind::Call;
        }
    }
    // Names written where the grammar sees no reference (a macro's arguments): the definitions whose
    // own words hold the whole name. Only a name of several words is specific enough for that.
    let whole = name.to_lowercase();
    if crate::terms::split_identifier(name).len() > 1 {
        let text_index = snapshot.text_index();
        for (doc, _) in text_index.bm25.search(std::slice::from_ref(&whole), MAX_MENTIONS) {
            let (file, i) = &text_index.docs[doc as usize];
            let Some((file, facts)) = snapshot.files.get_key_value(file) else { continue };
            let Some(within) = facts.text.get(*i as usize).and_then(|d| d.definition) else { continue };
            if **file == *at.key && (within == at.index || inside(facts, within, at.index)) {
                continue;
            }
            found.entry((file.clone(), Some(within))).or_insert_with(|| Caller {
                key: file.clone(),
                def: Some(&facts.definitions[within as usize]),
                lines: Vec::new(),
                calls: false,
            });
        }
    }
    let mut callers: Vec<Caller> = found.into_values().collect();
    for caller in &mut callers {
        caller.lines.sort_unstable();
        caller.lines.dedup();
    }
    callers.sort_by_key(|c| {
        (
            super::direct::caller_order(&c.key),
            c.def.is_none(),
            c.lines.is_empty(),
            *c.key != *at.key,
            directory_distance(&c.key, &at.key),
            c.key.clone(),
            c.lines.first().copied().or(c.def.map(|d| d.span.start.line + 1)),
        )
    });
    callers
}

/// Whether definition `inner` of `facts` lies within definition `outer`.
fn inside(facts: &FileFacts, mut inner: u32, outer: u32) -> bool {
    while let Some(parent) = facts.definitions[inner as usize].parent {
        if parent == outer {
            return true;
        }
        inner = parent;
    }
    false
}

/// How many directories apart two files are (0 in the same directory).
fn directory_distance(a: &str, b: &str) -> usize {
    let dirs = |p: &str| -> Vec<String> {
        let mut parts: Vec<String> = p.split('/').map(str::to_string).collect();
        parts.pop();
        parts
    };
    let (a, b) = (dirs(a), dirs(b));
    let shared = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    a.len() + b.len() - 2 * shared
}

/// A definition the subject calls, resolved by name.
struct Callee<'a> {
    key: Arc<str>,
    facts: &'a FileFacts,
    def: &'a Definition,
    /// 1-based line of the first call.
    line: u32,
}

impl Callee<'_> {
    fn item(&self, at: &Symbol) -> ContextItem {
        brief_definition_item(
            &self.key,
            self.def,
            format!("`{}` calls {} `{}` at :{}", at.def.name, self.def.kind.name(), self.def.name, self.line),
            false,
        )
    }
}

/// What the subject calls, in the order of the first calls: each name defined in few enough places
/// to resolve, as a member of the subject's own type first, then in its file, then as
/// `Snapshot::definitions_named` orders them.
fn callees<'a>(snapshot: &'a Snapshot, at: &Symbol) -> Vec<Callee<'a>> {
    // Calls only: the types a definition names are mostly its parameters' annotations (`app: Flask`).
    let mut calls: Vec<&Reference> =
        at.facts.references.iter().filter(|r| at.def.span.contains(&r.span) && r.kind == RefKind::Call).collect();
    calls.sort_by_key(|r| r.span.start_byte);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for reference in calls {
        let name = reference.name.as_str();
        if name == at.def.name || !seen.insert(name) {
            continue;
        }
        let defs = snapshot.definitions_named(name, Some(&at.key));
        if defs.is_empty() || defs.len() > MAX_DEFINITIONS_OF_CALLEE {
            continue;
        }
        let own_member = defs.iter().find(|(key, i)| {
            *key == at.key && at.def.parent.is_some() && at.facts.definitions[*i as usize].parent == at.def.parent
        });
        let Some((key, index)) = own_member.or(defs.first()) else { continue };
        let Some((key, facts)) = snapshot.files.get_key_value(key) else { continue };
        let def = &facts.definitions[*index as usize];
        if at.def.span.contains(&def.span) && *key == at.key {
            continue; // A helper nested in the subject is part of it.
        }
        // Functions, methods and constructors: a call that resolves to a type alias (`Err(…)`) or a
        // macro used everywhere (`tri!`) says nothing about what the subject does.
        if !matches!(def.kind, DefKind::Function | DefKind::Method | DefKind::Class) {
            continue;
        }
        // A name resolved into tests or examples from the project's code is another definition of
        // that name (`rv.allow.update(…)` is no call of the tutorial's `update`, `o.seek(…)` none of
        // a test double's `seek`).
        if super::direct::caller_order(key) > super::direct::caller_order(&at.key) {
            continue;
        }
        let line = reference.span.start.line + 1;
        out.push(Callee { key: key.clone(), facts, def, line });
    }
    out
}

/// The error sites inside the subject, then inside what it calls (in the order of the calls).
fn error_sites(at: &Symbol, callees: &[Callee]) -> Vec<ContextItem> {
    let mut out = Vec::new();
    for site in at.facts.error_sites.iter().filter(|s| at.def.span.contains(&s.span)) {
        let line = site.span.start.line + 1;
        out.push(error_item(&at.key, site, format!("raised inside `{}` at :{line}", at.def.name)));
    }
    for callee in callees {
        for site in callee.facts.error_sites.iter().filter(|s| callee.def.span.contains(&s.span)).take(2) {
            out.push(error_item(
                &callee.key,
                site,
                format!("raised in `{}`, which `{}` calls at :{}", callee.def.name, at.def.name, callee.line),
            ));
        }
    }
    out
}

/// How a test reaches the subject, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    /// It references the subject, is named after it, or defines an override of it.
    Subject,
    /// It references one of the subject's callers, or defines an override of one.
    Caller,
    /// It references the type the subject belongs to.
    Parent,
}

/// The tests that exercise the subject (see `Reach`), strongest first, then those whose names share
/// the most words with the subject's (`test_provide_automatic_options_attr` for
/// `make_default_options_response`), then the test files named after the subject's file
/// (`test_sessions.py` for `sessions.py`), then the nearest directories.
fn tests(snapshot: &Snapshot, at: &Symbol, callers: &[Caller]) -> Vec<ContextItem> {
    let name = at.def.name.as_str();
    let mut wanted: Vec<(&str, Reach)> = vec![(name, Reach::Subject)];
    for caller in callers.iter().filter(|c| c.in_code()).filter_map(|c| c.def) {
        let defined = snapshot.definitions_by_name.count(&caller.name);
        if caller.name != name && defined <= MAX_DEFINITIONS_OF_CALLER && !wanted.iter().any(|(n, _)| *n == caller.name)
        {
            wanted.push((&caller.name, Reach::Caller));
        }
    }
    let parent = at.def.parent.map(|p| at.facts.definitions[p as usize].name.as_str());
    if let Some(parent) = parent.filter(|p| *p != name) {
        wanted.push((parent, Reach::Parent));
    }
    let name_terms = crate::terms::split_identifier(name);
    let stem = file_stem(&at.key);
    // (reach, words of the subject's name it shares, not named after the file, distance, file, line)
    // → the item.
    type Order = (Reach, std::cmp::Reverse<usize>, bool, usize, Arc<str>, u32);
    let mut found: Vec<(Order, ContextItem)> = Vec::new();
    for (file, facts) in snapshot.files.iter().filter(|(_, f)| !f.tests.is_empty()) {
        for test in &facts.tests {
            let reach = test_reach(facts, &test.span, &test.name, &wanted, &name_terms);
            let Some((reach, how)) = reach else { continue };
            let (start, end) = test.span.lines_1based();
            let item = item(file, start, end, ItemKind::Test, format!("test `{}` {how}", test.name), String::new());
            let named_after_file = !stem.is_empty() && file_stem(file).contains(stem.as_str());
            let test_terms = crate::terms::split_identifier(&test.name);
            let shared = name_terms.iter().filter(|t| test_terms.contains(t)).count();
            let distance = directory_distance(file, &at.key);
            let key = (reach, std::cmp::Reverse(shared), !named_after_file, distance, file.clone(), start);
            found.push((key, item));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    // A test that only names the subject's type (`Flask()` in most of a project's tests) comes after
    // those that reach the subject, and a few of them are enough.
    let mut parents = 0;
    found.retain(|((reach, ..), _)| {
        if *reach != Reach::Parent {
            return true;
        }
        parents += 1;
        parents <= FIRST_TESTS
    });
    found.into_iter().map(|(_, item)| item).collect()
}

/// How the test at `span` reaches one of `wanted`, and the words for it.
fn test_reach(
    facts: &FileFacts,
    span: &Span,
    test_name: &str,
    wanted: &[(&str, Reach)],
    subject_terms: &[String],
) -> Option<(Reach, String)> {
    let mut best: Option<(Reach, String)> = None;
    let mut consider = |reach: Reach, how: String| {
        if best.as_ref().is_none_or(|(b, _)| reach < *b) {
            best = Some((reach, how));
        }
    };
    for reference in facts.references.iter().filter(|r| span.contains(&r.span)) {
        if let Some((name, reach)) = wanted.iter().find(|(n, _)| reference.name == *n) {
            let verb = if reference.kind == RefKind::Call { "calls" } else { "uses" };
            let line = reference.span.start.line + 1;
            consider(*reach, format!("{verb} `{name}` at :{line}{}", relation(*reach, wanted)));
        }
    }
    for def in facts.definitions.iter().filter(|d| span.contains(&d.span) && d.span != *span) {
        if let Some((name, reach)) = wanted.iter().find(|(n, r)| *n == def.name && *r != Reach::Parent) {
            let line = def.span.start.line + 1;
            consider(*reach, format!("overrides `{name}` at :{line}{}", relation(*reach, wanted)));
        }
    }
    // `test_get_signing_serializer`, `TestGetSigningSerializer`: a name of one short word (`get`)
    // names too many tests to count.
    let test_terms = crate::terms::split_identifier(test_name);
    let telling = subject_terms.len() >= 2 || subject_terms.iter().any(|t| t.len() >= 6);
    if telling && subject_terms.iter().all(|t| test_terms.contains(t)) {
        consider(Reach::Subject, format!("is named after `{}`", wanted[0].0));
    }
    best
}

/// ", which calls `x`" for a caller, ", the type of `x`" for the parent.
fn relation(reach: Reach, wanted: &[(&str, Reach)]) -> String {
    let subject = wanted[0].0;
    match reach {
        Reach::Subject => String::new(),
        Reach::Caller => format!(", which calls `{subject}`"),
        Reach::Parent => format!(", the type of `{subject}`"),
    }
}

/// `sessions` for `src/flask/sessions.py`.
fn file_stem(key: &str) -> String {
    let name = key.rsplit('/').next().unwrap_or(key);
    name.split('.').next().unwrap_or(name).to_lowercase()
}

/// The subject's own item: signature, doc, and the learned summary's words about it.
fn subject_item(at: &Symbol, learned: Option<&LearnedContext>) -> ContextItem {
    let qualified = at.facts.qualified_name(at.def);
    let mut item = brief_definition_item(
        &at.key,
        at.def,
        format!("the {} you asked about: `{qualified}`", at.def.kind.name()),
        true,
    );
    let role = learned.and_then(|l| l.note_of(&at.key, NoteKind::FileSummary)).and_then(|(note, fresh)| {
        let role = note.body["key_symbols"]
            .as_array()?
            .iter()
            .find(|s| s["name"].as_str() == Some(at.def.name.as_str()))?["role"]
            .as_str()?
            .trim()
            .to_string();
        Some(if fresh { role } else { format!("{role} (stale: the code changed since)") })
    });
    if let Some(role) = role.filter(|r| !r.is_empty() && !is_secret(&at.key)) {
        item.text.push_str(&format!("\nLearned: {role}"));
        item.tokens = tokens_of(&item.path, &item.text);
    }
    item
}

/// The subject's file's past fixes, newest first, told with the subject (zero-token evidence of how
/// it broke before): "Fixed before in this file: `Fixed #41 -- Crash …` (a1b2c3d); …".
fn add_past_fixes(item: &mut ContextItem, fixes: &[(String, String)]) {
    if fixes.is_empty() || is_secret(&item.path) {
        return;
    }
    let told: Vec<String> = fixes.iter().map(|(id, subject)| format!("`{}` ({id})", cut(subject, 80))).collect();
    item.text.push_str(&format!("\nFixed before in this file: {}", told.join("; ")));
    item.reason.push_str(&format!(
        "; {} past fix{} of its file",
        fixes.len(),
        if fixes.len() == 1 { "" } else { "es" }
    ));
    item.tokens = tokens_of(&item.path, &item.text);
}

/// A definition in brief: its signature and, with `with_doc`, the start of its doc, each cut short
/// (`SIGNATURE_CHARS`, `DOC_CHARS`); the reason as given.
fn brief_definition_item(key: &str, def: &Definition, reason: String, with_doc: bool) -> ContextItem {
    if is_secret(key) {
        return withheld_definition(key, def, ItemKind::Definition);
    }
    let (start, end) = def.span.lines_1based();
    let mut text = cut(&def.signature, SIGNATURE_CHARS);
    if with_doc && let Some(doc) = &def.doc {
        let first = doc.split("\n\n").next().unwrap_or(doc).trim();
        if !first.is_empty() {
            text.push('\n');
            text.push_str(&cut(first, DOC_CHARS));
        }
    }
    item(key, start, end, ItemKind::Definition, reason, text)
}

/// A learned note of `kind` about the file `key`, whole, as an item.
fn note_item(snapshot: &Snapshot, learned: Option<&LearnedContext>, key: &str, kind: NoteKind) -> Option<ContextItem> {
    let (note, fresh) = learned?.note_of(key, kind)?;
    let what = match kind {
        NoteKind::Playbook => "the debugging playbook",
        _ => "the learned summary",
    };
    let stale = if fresh { "" } else { " (stale: the code changed since it was written)" };
    let reason = format!("{what} of `{key}`{stale}");
    Some(ContextItem {
        stale: !fresh,
        ..item(key, 1, file_end(snapshot, key), ItemKind::Note, reason, note_text(note))
    })
}

fn cut(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max_chars).collect();
    if let Some(space) = out.rfind(char::is_whitespace) {
        out.truncate(space);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{Language, extract};
    use std::collections::BTreeMap;

    const SESSIONS: &str = r#"class SessionInterface:
    """Opens and saves sessions."""

    def get_signing_serializer(self, app):
        """The serializer that signs the session cookie."""
        if not app.secret_key:
            raise ValueError("the session is unavailable because no secret key was set")
        return make_serializer(app.secret_key)

    def open_session(self, app, request):
        s = self.get_signing_serializer(app)
        return s

    def save_session(self, app, session, response):
        name = "session"
        value = self.get_signing_serializer(app).dumps(session)
        return name, value


def make_serializer(key):
    if key is None:
        raise TypeError("the signing key must not be None")
    return key
"#;

    const TESTS: &str = r#"from lib.sessions import SessionInterface


def test_arithmetic():
    assert 1 + 1 == 2


def test_open_session():
    assert SessionInterface().open_session(App(), None)


def test_interface_builds():
    assert SessionInterface() is not None
"#;

    const APP: &str = r#"from lib.sessions import SessionInterface


def handle(app, request):
    return SessionInterface().open_session(app, request)
"#;

    fn snapshot() -> Snapshot {
        let files: BTreeMap<Arc<str>, Arc<FileFacts>> =
            [("lib/sessions.py", SESSIONS), ("tests/test_sessions.py", TESTS), ("app.py", APP)]
                .into_iter()
                .map(|(key, source)| (Arc::from(key), Arc::new(extract(source.as_bytes(), Language::Python))))
                .collect();
        Snapshot::new(files)
    }

    /// A code action's question on the line (0-based) of `lib/sessions.py`.
    fn question(intent: Intent, line: u32) -> Question {
        Question {
            text: "Explain `get_signing_serializer`".into(),
            focus_file: Some("lib/sessions.py".into()),
            focus_line: Some(line),
            budget: 2_000,
            subject: Some(Subject { name: "get_signing_serializer".into(), intent }),
            ..Question::default()
        }
    }

    fn items(intent: Intent, line: u32) -> Vec<(String, String)> {
        let snapshot = snapshot();
        let q = question(intent, line);
        centred_items(&snapshot, None, &q, q.subject.as_ref().unwrap())
            .unwrap()
            .0
            .into_iter()
            .map(|i| (format!("{}:{}-{} {}", i.path, i.start_line, i.end_line, i.kind), i.reason))
            .collect()
    }

    fn place(item: &(String, String)) -> &str {
        &item.0
    }

    #[test]
    fn explain_gives_the_definition_its_callers_its_type_and_what_it_calls_in_that_order() {
        let explained = items(Intent::Explain, 3);
        let expected = [
            ("lib/sessions.py:4-8 definition", "the method you asked about: `SessionInterface.get_signing_serializer`"),
            ("lib/sessions.py:10-12 definition", "method `open_session` calls `get_signing_serializer` at :11"),
            ("lib/sessions.py:14-17 definition", "method `save_session` calls `get_signing_serializer` at :16"),
            ("lib/sessions.py:1-17 definition", "`get_signing_serializer` is a method of class `SessionInterface`"),
            ("lib/sessions.py:20-23 definition", "`get_signing_serializer` calls function `make_serializer` at :8"),
        ];
        let got: Vec<(&str, &str)> = explained.iter().map(|(p, r)| (p.as_str(), r.as_str())).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn debug_tells_the_past_fixes_of_the_subject_s_file() {
        let snapshot = snapshot();
        let commit = |id: &str, subject: &str, files: &[&str]| crate::search::PastCommit {
            id: id.into(),
            subject: subject.into(),
            message: subject.into(),
            files: files.iter().map(|f| f.to_string()).collect(),
            files_touched: files.len() as u32,
        };
        let past = crate::search::PastChanges::new(vec![
            commit("a1b2c3d4", "Fixed #41 -- Crash when the secret key is empty", &["lib/sessions.py"]),
            commit("b2", "Renamed the serializer", &["lib/sessions.py"]),
            commit("c3", "Fixed a typo in the app", &["app.py"]),
        ]);
        let mut q = question(Intent::Debug, 3);
        q.past_changes = Some(Arc::new(past));
        let (items, _) = centred_items(&snapshot, None, &q, q.subject.as_ref().unwrap()).unwrap();
        assert!(
            items[0]
                .text
                .ends_with("\nFixed before in this file: `Fixed #41 -- Crash when the secret key is empty` (a1b2c3d)"),
            "{}",
            items[0].text
        );
        assert!(items[0].reason.ends_with("; 1 past fix of its file"), "{}", items[0].reason);
        let mut explain = question(Intent::Explain, 3);
        explain.past_changes = q.past_changes.clone();
        let (explained, _) = centred_items(&snapshot, None, &explain, explain.subject.as_ref().unwrap()).unwrap();
        assert!(!explained[0].text.contains("Fixed before"), "only How to debug tells them");
    }

    #[test]
    fn debug_gives_error_sites_tests_that_reach_it_and_callers() {
        let debugged = items(Intent::Debug, 3);
        let got: Vec<(&str, &str)> = debugged.iter().map(|(p, r)| (p.as_str(), r.as_str())).collect();
        assert_eq!(
            got,
            [
                (
                    "lib/sessions.py:4-8 definition",
                    "the method you asked about: `SessionInterface.get_signing_serializer`"
                ),
                ("lib/sessions.py:7-7 error-site", "raised inside `get_signing_serializer` at :7"),
                (
                    "lib/sessions.py:22-22 error-site",
                    "raised in `make_serializer`, which `get_signing_serializer` calls at :8"
                ),
                (
                    "tests/test_sessions.py:8-9 test",
                    "test `test_open_session` calls `open_session` at :9, which calls `get_signing_serializer`"
                ),
                (
                    "tests/test_sessions.py:12-13 test",
                    "test `test_interface_builds` calls `SessionInterface` at :13, the type of `get_signing_serializer`"
                ),
                ("lib/sessions.py:10-12 definition", "method `open_session` calls `get_signing_serializer` at :11"),
                ("lib/sessions.py:14-17 definition", "method `save_session` calls `get_signing_serializer` at :16"),
            ]
        );
        assert!(!debugged.iter().any(|i| i.1.contains("test_arithmetic")), "a test that reaches nothing: {debugged:?}");
    }

    #[test]
    fn a_call_site_names_the_same_definition_and_where_is_it_used_is_not_centred() {
        // The cursor on `self.get_signing_serializer(app)` in `save_session` (line 16).
        let from_call = items(Intent::Explain, 15);
        assert_eq!(place(&from_call[0]), "lib/sessions.py:4-8 definition");
        assert_eq!(from_call, items(Intent::Explain, 3), "the same context from the call as from the definition");
        let snapshot = snapshot();
        let q = question(Intent::Usages, 3);
        assert!(centred_items(&snapshot, None, &q, q.subject.as_ref().unwrap()).is_none());
        let unknown = Question { subject: Some(Subject { name: "nowhere".into(), intent: Intent::Explain }), ..q };
        assert!(centred_items(&snapshot, None, &unknown, unknown.subject.as_ref().unwrap()).is_none());
    }

    #[test]
    fn a_call_the_grammar_does_not_see_is_found_by_its_words() {
        // Rust parses a macro's arguments as tokens: `tri!(self.ignore_integer())` is no reference.
        let source = "struct De;\n\nimpl De {\n    fn ignore_value(&mut self) -> Result<(), ()> {\n        tri!(self.ignore_integer());\n        Ok(())\n    }\n\n    fn ignore_integer(&mut self) -> Result<(), ()> {\n        Ok(())\n    }\n}\n";
        let facts = extract(source.as_bytes(), Language::Rust);
        let snapshot = Snapshot::new([(Arc::<str>::from("src/de.rs"), Arc::new(facts))].into_iter().collect());
        let q = Question {
            focus_file: Some("src/de.rs".into()),
            focus_line: Some(8),
            subject: Some(Subject { name: "ignore_integer".into(), intent: Intent::Explain }),
            ..Question::default()
        };
        let (items, _) = centred_items(&snapshot, None, &q, q.subject.as_ref().unwrap()).unwrap();
        let reasons: Vec<&str> = items.iter().map(|i| i.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "the method you asked about: `ignore_integer`",
                "method `ignore_value` names `ignore_integer` in its body"
            ]
        );
    }

    #[test]
    fn what_it_calls_stays_in_the_project_s_code_and_tests_of_its_type_alone_are_few() {
        let app = "class Flask:\n    def make_default_options_response(self):\n        rv = self.response_class()\n        rv.allow.update(methods)\n        return rv\n\n    def response_class(self):\n        return 1\n";
        // The tutorial's `update` and a test double's are other definitions of the name.
        let blog = "def update(id):\n    return id\n";
        let tests = (0..4).map(|i| format!("def test_{i}():\n    assert Flask()\n\n\n")).collect::<String>();
        let files: BTreeMap<Arc<str>, Arc<FileFacts>> =
            [("src/app.py", app.to_string()), ("examples/blog.py", blog.to_string()), ("tests/test_app.py", tests)]
                .into_iter()
                .map(|(key, source)| (Arc::from(key), Arc::new(extract(source.as_bytes(), Language::Python))))
                .collect();
        let snapshot = Snapshot::new(files);
        let asked = |intent| {
            let q = Question {
                focus_file: Some("src/app.py".into()),
                focus_line: Some(1),
                subject: Some(Subject { name: "make_default_options_response".into(), intent }),
                ..Question::default()
            };
            let (items, about) = centred_items(&snapshot, None, &q, q.subject.as_ref().unwrap()).unwrap();
            (items.into_iter().map(|i| format!("{}:{} {}", i.path, i.start_line, i.reason)).collect::<Vec<_>>(), about)
        };
        let (explained, about) = asked(Intent::Explain);
        assert_eq!(about, "`Flask.make_default_options_response`", "the general ranking is asked about the symbol");
        assert_eq!(
            explained,
            [
                "src/app.py:2 the method you asked about: `Flask.make_default_options_response`",
                "src/app.py:1 `make_default_options_response` is a method of class `Flask`",
                "src/app.py:7 `make_default_options_response` calls method `response_class` at :3",
            ]
        );
        let (debugged, _) = asked(Intent::Debug);
        let tests: Vec<&String> = debugged.iter().filter(|i| i.starts_with("tests/")).collect();
        assert_eq!(
            tests,
            [
                "tests/test_app.py:1 test `test_0` calls `Flask` at :2, the type of `make_default_options_response`",
                "tests/test_app.py:5 test `test_1` calls `Flask` at :6, the type of `make_default_options_response`",
            ]
        );
    }

    #[test]
    fn the_general_ranking_fills_what_the_centred_items_leave() {
        let item = |path: &str, line: u32, tokens: usize| ContextItem {
            path: path.into(),
            start_line: line,
            end_line: line,
            kind: ItemKind::Definition,
            score: 1.0,
            tokens,
            reason: String::new(),
            text: String::new(),
            stale: false,
        };
        let centred = vec![item("a.py", 1, 10), item("a.py", 2, 10), item("a.py", 3, 10), item("a.py", 4, 10)];
        let ranked = vec![item("a.py", 2, 10), item("b.py", 1, 10), item("c.py", 1, 10)];
        let places = |items: Vec<ContextItem>| -> Vec<(String, u32)> {
            items.into_iter().map(|i| (i.path, i.start_line)).collect()
        };
        // Every centred item (four of one file: no cap per file), then the ranking without repeats.
        assert_eq!(
            places(fill(centred.clone(), ranked.clone(), 100)),
            [("a.py", 1), ("a.py", 2), ("a.py", 3), ("a.py", 4), ("b.py", 1), ("c.py", 1)].map(|(p, l)| (p.into(), l))
        );
        // A small budget keeps the centred items first.
        assert_eq!(
            places(fill(centred, ranked, 50)),
            [("a.py", 1), ("a.py", 2), ("a.py", 3), ("a.py", 4), ("b.py", 1)].map(|(p, l)| (p.into(), l))
        );
    }

    #[test]
    fn a_planned_answer_leads_with_the_centred_context_and_a_typed_question_does_not() {
        let snapshot = snapshot();
        let q = question(Intent::Explain, 3);
        let super::super::Plan::Done(answer) = super::super::plan_answer(&snapshot, None, &q, false, 100) else {
            panic!("no model: the context is the answer")
        };
        assert_eq!(answer.source, super::super::Source::Context);
        assert_eq!((answer.context[0].path.as_str(), answer.context[0].start_line), ("lib/sessions.py", 4));
        assert!(answer.context[1].reason.contains("`open_session` calls"), "{:?}", answer.context[1]);
        let typed = Question { subject: None, ..q };
        let super::super::Plan::Done(typed) = super::super::plan_answer(&snapshot, None, &typed, false, 100) else {
            panic!("no model: the context is the answer")
        };
        assert!(!typed.context.iter().any(|i| i.reason.contains(" calls `get_signing_serializer`")), "{typed:?}");
    }
}
