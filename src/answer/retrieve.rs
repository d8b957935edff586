//! A question → ranked, cited context, fused from several channels with reciprocal rank fusion
//! (k = 60, as Tabby does):
//!
//! 1. error-message sites whose literal text the question quotes (people paste tracebacks);
//! 2. files the question names by path or module, and definitions it names as code (`names.rs`:
//!    plain words that happen to name a definition are not names);
//! 3. BM25 over facts (definition names, signatures, docs, paths, error messages);
//! 4. full text: BM25 over the words of code bodies, per definition and module-level chunk, and the
//!    same words per whole file, which orders files (`search::TextIndex`);
//! 5. the learned context (summaries, playbooks, anticipated questions and answers): BM25 over its
//!    passages and, with a semantic index, the passages nearest the question by embedding
//!    (`Question::semantic_notes`); each passage counts as far as its note is reliable
//!    (`learned.rs`), and a note whose named symbols mostly do not exist is left out;
//! 6. PageRank personalized to the open file and the named identifiers (only with an open file);
//! 7. the definition under the cursor;
//! 8. semantic: the definitions whose embedding is nearest the question's (`Question::semantic`,
//!    computed by the caller from the index built at idle time, `embed::semantic`);
//! 9. past changes: the files changed by the project's commits most like the question
//!    (`Question::past`, computed by the caller from the history mined at idle time,
//!    `search::PastChanges`); the items of those files say which past fixes changed them.
//!
//! Each channel is a step of `Channels`. Rankings by relevance (3–6, 8, 9) are scaled by the file's prior (`search::prior`: vendored and minified
//! code counts less, tests and docs half); what the question points at itself (1, 2, 7) is not.
//! File-level rankings (named files, whole-file text, past changes) add to every item of the file, and a file
//! ranked high there gets its best-matching code as an item if no other channel gave it one.
//! Items are keyed by location. Then the file stage (`file_stage`) fuses the resulting order of
//! files again, at file level and with a small k, with the files of the semantic channel, the
//! whole-file text ranking's code files and past changes: the item fusion decides which items
//! each file offers, the file stage which files come first. At most `MAX_PER_FILE` items per file;
//! the budget is filled greedily in fused order; every item cites path and lines. `rank_files` exposes the fused file order for
//! measurements.

use super::fusion::{Ranked, file_stage, files_by_prior, fuse};
use super::items::{WITHHELD, definition_item, error_item, is_secret, item, passage_item};
use super::learned::LearnedContext;
use super::names::{files_named_in, names_in};
use super::{ContextItem, ItemKind, Question};
use crate::graph::{self, Focus};
use crate::search::{FactDoc, PastFile, prior, tokenize};
use crate::snapshot::Snapshot;
use crate::syntax::facts::{Definition, ErrorSite};
use crate::tokens::estimate_tokens;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

pub const MAX_PER_FILE: usize = 3;
/// Contexts smaller than this span files before they add a file's second item (`select`).
pub const SPAN_FILES_BELOW: usize = 1_000;
/// The most an item takes in a context below `SPAN_FILES_BELOW` (`select`): its signature and the
/// start of its doc. Recall of a gold file within 750 tokens (the in-process model's context), with
/// whole items → 64 → 48 → 40 → 32: dev subset 87.5 → 87.5 → 89.6 → 90.0 → 90.0 (R@2k 90.0), dev
/// set 91.3 → 90.4 → 90.8 → 91.7 → 90.9 (R@2k 92.2), question set 99.3 at each (R@2k 99.3).
pub const SMALL_CONTEXT_ITEM_TOKENS: usize = 40;
/// Error-message fragments shorter than this are too generic to match on.
const MIN_MESSAGE_FRAGMENT: usize = 12;
/// Candidates taken from each ranker.
const PER_RANKER: usize = 100;
/// Files of the whole-file ranking that get an item of their own when no channel gave them one.
const FILES_WITH_OWN_ITEM: usize = 10;
/// A name defined in more places than this says little about where to look.
const MAX_DEFINITIONS_PER_NAME: usize = 12;

/// Facts-BM25 hits below this share of the best conceivable score match only common words (a plain
/// word that names forty definitions): left out.
const MIN_RELATIVE_SCORE: f64 = 0.05;

/// Semantic hits whose cosine is further than this below the best one's are not "close in meaning"
/// (all-MiniLM-L6-v2: related code scores 0.3–0.6 against a question, unrelated code 0–0.2).
const SEMANTIC_MARGIN: f32 = 0.25;

/// Notes less reliable than this (see `learned.rs`: one named symbol and it does not exist) are not
/// evidence.
const MIN_NOTE_RELIABILITY: f64 = 0.34;

/// Definitions of one name kept in a relevance list.
const SAME_NAME_PER_LIST: usize = 2;

/// Channel weights in the fusion (tuned on the dev sets: `reverie eval --ranking`, `--questions`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    pub errors: f64,
    pub named_files: f64,
    pub names: f64,
    pub unique_names: f64,
    pub facts_bm25: f64,
    pub text_docs: f64,
    pub text_files: f64,
    pub notes: f64,
    pub graph: f64,
    pub semantic: f64,
    /// Past changes: files changed by the commits most like the question (`search::PastChanges`).
    pub history: f64,
    /// The file stage (`file_stage`): the semantic channel's files,
    pub files_semantic: f64,
    /// the whole-file text ranking's code files (tests, docs and vendored code left out),
    pub files_text: f64,
    /// and the past-changes channel's files, each fused again with the fused order of files.
    pub files_history: f64,
}

/// Last tuned with `eval --weights` on both dev sets in the same runs (Acc@5, anchor = whole-file
/// BM25): `text_files` 2.0 → 2.5 and `semantic` 1.0 → 1.5 took the dev set from 74.5 to 76.4 (no
/// vectors; anchor 65.5), its 12-workspace subset with vectors from 75.0 to 80.0 (anchor 57.5) and
/// the question set from 90.8 to 92.2 (anchor 79.1). `notes` 1.2 → 0.6: with SmolLM2-135M's notes
/// (12 per workspace) 1.2 cost the subset 2.5 points; at 0.6 and 0.3 notes change nothing.
/// `unique_names` above 3.0 (3.5, 4.0) cost the subset 5–7.5 points: bug reports name functions that
/// are not where the fix goes. `names` 1.5 → 1.25 once reStructuredText titles became definitions
/// (a README.rst or a manual section named like the question's words): dev set 74.5 → 75.5 (anchor
/// 65.5), question set and subset Acc@5 unchanged (92.8, 80.0); 1.0 gave 74.5 again — one question
/// either way, so read it as "no worse", not as a gain. `history` 1.0 → 2.0 on the dev set with
/// history (all 404 at their base commits, `eval --ranking --checkouts`, no vectors): Acc@1 45.8 →
/// 48.3, Acc@5 77.2 either way (index only 45.0 / 75.7; strongest plain baseline 30.0 / 67.1); 3.0
/// gave 47.8 / 76.0. The question set has no history (sdists): unchanged.
///
/// The file stage (`fusion::file_stage`), tuned on the dev set with history and vectors (366 of the
/// 404 reports, one run, `REVERIE_EVAL_VARIANTS`) and the question set: `files_history` 0.3 → 0
/// gained the dev set 0.8 Acc@5 (53.8 / 82.5), chosen in every project left out in turn — past
/// changes count in the item fusion (`history`), not again here; `files_text` 0 cost 1.1 Acc@5.
/// `files_semantic` 0.5 → 0.75 is a trade within a few questions: the dev set (all 404, final run)
/// 53.7 / 81.9 → 53.0 / 80.7, the question set's hit@5 94.8 → 96.3 (the item fusion alone: 95.6)
/// — 0.75 keeps the question set's hit@5 no lower than before the stage.
pub const WEIGHTS: Weights = Weights {
    errors: 2.0,
    named_files: 1.5,
    names: 1.25,
    unique_names: 3.0,
    facts_bm25: 1.0,
    text_docs: 1.0,
    text_files: 2.5,
    notes: 0.6,
    graph: 0.5,
    semantic: 1.5,
    history: 2.0,
    files_semantic: 0.75,
    files_text: 0.3,
    files_history: 0.0,
};

/// Which channels to use (all by default; measurements switch some off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rankers {
    /// Quoted error messages.
    pub errors: bool,
    /// Named files and definitions.
    pub names: bool,
    pub facts_bm25: bool,
    /// The full-text channel (bodies and whole files).
    pub text: bool,
    pub notes: bool,
    pub graph: bool,
    /// Nearest definitions by embedding (when the question carries them).
    pub semantic: bool,
    /// Files changed by similar past commits (when the question carries them).
    pub history: bool,
}

impl Default for Rankers {
    fn default() -> Self {
        Rankers {
            errors: true,
            names: true,
            facts_bm25: true,
            text: true,
            notes: true,
            graph: true,
            semantic: true,
            history: true,
        }
    }
}

impl Rankers {
    /// The full-text channel alone.
    pub fn only_text() -> Rankers {
        Rankers { text: true, ..Rankers::none() }
    }

    /// The semantic channel alone.
    pub fn only_semantic() -> Rankers {
        Rankers { semantic: true, ..Rankers::none() }
    }

    /// The past-changes channel alone.
    pub fn only_history() -> Rankers {
        Rankers { history: true, ..Rankers::none() }
    }

    /// The learned context alone (its BM25 and, with vectors, its nearest passages).
    pub fn only_notes() -> Rankers {
        Rankers { notes: true, ..Rankers::none() }
    }

    fn none() -> Rankers {
        Rankers {
            errors: false,
            names: false,
            facts_bm25: false,
            text: false,
            notes: false,
            graph: false,
            semantic: false,
            history: false,
        }
    }

    /// Every channel but the learned context.
    pub fn facts_only() -> Rankers {
        Rankers { notes: false, ..Rankers::default() }
    }
}

impl Weights {
    /// `WEIGHTS` with some channels' weights replaced: `graph=0,semantic=1.5` (what `reverie eval
    /// --weights` tunes with).
    pub fn with_overrides(overrides: &str) -> Result<Weights, String> {
        WEIGHTS.overridden(overrides)
    }

    /// These weights with some replaced (`with_overrides`' syntax).
    pub fn overridden(self, overrides: &str) -> Result<Weights, String> {
        let mut w = self;
        for pair in overrides.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').ok_or_else(|| format!("`{pair}`: expected name=number"))?;
            let value: f64 = value.trim().parse().map_err(|_| format!("`{pair}`: `{value}` is not a number"))?;
            let slot = match name.trim() {
                "errors" => &mut w.errors,
                "named_files" => &mut w.named_files,
                "names" => &mut w.names,
                "unique_names" => &mut w.unique_names,
                "facts_bm25" => &mut w.facts_bm25,
                "text_docs" => &mut w.text_docs,
                "text_files" => &mut w.text_files,
                "notes" => &mut w.notes,
                "graph" => &mut w.graph,
                "semantic" => &mut w.semantic,
                "history" => &mut w.history,
                "files_semantic" => &mut w.files_semantic,
                "files_text" => &mut w.files_text,
                "files_history" => &mut w.files_history,
                other => {
                    return Err(format!(
                        "`{other}` is no channel weight (errors, named_files, names, unique_names, facts_bm25, text_docs, text_files, notes, graph, semantic, history, files_semantic, files_text, files_history)"
                    ));
                }
            };
            *slot = value;
        }
        Ok(w)
    }
}

/// Fused candidates, best first, before budgeting.
pub fn candidates(
    snapshot: &Snapshot,
    learned: Option<&LearnedContext>,
    question: &Question,
    rankers: Rankers,
) -> Vec<ContextItem> {
    candidates_weighted(snapshot, learned, question, rankers, &WEIGHTS)
}

/// `candidates` with other channel weights (measurements): each channel adds its lists, then they
/// are fused.
pub fn candidates_weighted(
    snapshot: &Snapshot,
    learned: Option<&LearnedContext>,
    question: &Question,
    rankers: Rankers,
    w: &Weights,
) -> Vec<ContextItem> {
    let mut channels = Channels::new(snapshot, question, rankers, w);
    if rankers.errors {
        channels.quoted_errors();
    }
    if rankers.names {
        channels.named();
    }
    if rankers.facts_bm25 {
        channels.facts_bm25();
    }
    if rankers.text {
        channels.full_text();
    }
    if rankers.notes
        && let Some(learned) = learned.filter(|l| !l.is_empty())
    {
        channels.notes(learned);
    }
    // Without an open file the graph only says what is central to the whole codebase, which cost
    // 0.9 Acc@5 on the dev set and 0.7 on the question set.
    if rankers.graph && question.focus_file.is_some() {
        channels.graph();
    }
    channels.cursor();
    if rankers.semantic && !question.semantic.is_empty() {
        channels.semantic();
    }
    if rankers.history && !question.past.is_empty() {
        channels.past_changes();
    }
    channels.fuse()
}

/// The lists the channels rank, gathered for one question (`candidates_weighted`'s steps).
struct Channels<'a> {
    snapshot: &'a Snapshot,
    question: &'a Question,
    w: &'a Weights,
    text_index: Arc<crate::search::TextIndex>,
    names: Vec<crate::answer::Name>,
    tokens: Vec<String>,
    lists: Vec<Ranked>,
    /// File-level lists: (weight, with the file prior, files best first).
    file_lists: Vec<(f64, bool, Vec<Arc<str>>)>,
    /// Files in whole-file full-text order (empty with the channel off).
    whole_files: Vec<Arc<str>>,
    /// The past-changes channel ranked: its first files' items cite the past fixes.
    past_used: bool,
    /// The file stage's own lists (`file_stage`), each with its weight: files in the order the
    /// semantic channel, the whole-file text ranking (code files) and past changes rank them.
    file_stage: Vec<(f64, Vec<Arc<str>>)>,
}

impl<'a> Channels<'a> {
    fn new(snapshot: &'a Snapshot, question: &'a Question, rankers: Rankers, w: &'a Weights) -> Channels<'a> {
        let text_index = snapshot.text_index();
        let names = if rankers.names { names_in(snapshot, &text_index, &question.text) } else { Vec::new() };
        Channels {
            snapshot,
            question,
            w,
            text_index,
            names,
            tokens: tokenize(&question.text),
            lists: Vec::new(),
            file_lists: Vec::new(),
            whole_files: Vec::new(),
            past_used: false,
            file_stage: Vec::new(),
        }
    }

    /// Channel 1: Error-message sites whose text the question quotes; then quoted text no error site holds
    /// (a message kept in a constant, built by a format call): the code whose words contain every
    /// word of the quote.
    fn quoted_errors(&mut self) {
        let (snapshot, question) = (self.snapshot, self.question);
        let mut errors = Vec::new();
        // The messages from the snapshot's summary: only the files of those quoted are read.
        for (key, site, message) in snapshot.error_messages() {
            if let Some(matched) = longest_quoted_fragment(message, &question.text)
                && let Some(facts) = snapshot.files.get(key)
                && let Some(site) = facts.error_sites.get(site as usize)
            {
                let within = site.definition.and_then(|d| facts.definitions.get(d as usize));
                errors.push((matched, produced_here(key, site, within)));
            }
        }
        errors.sort_by_key(|e| std::cmp::Reverse(e.0));
        self.lists.push(Ranked::asked_for(self.w.errors, errors.into_iter().map(|(_, item)| item).collect()));
        let mut quoted_items = Vec::new();
        for fragment in quoted(&question.text) {
            let terms = tokenize(&fragment);
            if terms.len() < 2 {
                continue;
            }
            for (doc, _) in self.text_index.bm25.search(&terms, PER_RANKER) {
                let (key, i) = &self.text_index.docs[doc as usize];
                let Some(facts) = snapshot.files.get(key) else { continue };
                let has_all = terms.iter().all(|t| facts.text[*i as usize].terms.contains(t));
                if has_all
                    && let Some(item) =
                        text_item(snapshot, key, *i as usize, &terms, "its code holds every word of the quoted text")
                {
                    quoted_items.push(item);
                }
            }
        }
        self.lists.push(Ranked::asked_for(self.w.errors * 0.75, quoted_items));
    }

    /// Channel 2: Named files and definitions, the most specific names first.
    fn named(&mut self) {
        let (snapshot, question) = (self.snapshot, self.question);
        let files: Vec<Arc<str>> = files_named_in(snapshot, &question.text)
            .into_iter()
            .filter_map(|k| snapshot.files.get_key_value(k.as_str()).map(|(k, _)| k.clone()))
            .collect();
        self.file_lists.push((self.w.named_files, false, files));
        let (mut exact, mut unique) = (Vec::new(), Vec::new());
        for name in
            self.names.iter().filter(|n| snapshot.definitions_by_name.count(&n.name) <= MAX_DEFINITIONS_PER_NAME)
        {
            // A name written as code that one definition has is the question pointing at it.
            let list = if name.as_code && snapshot.definitions_by_name.count(&name.name) == 1 {
                &mut unique
            } else {
                &mut exact
            };
            let mut defs = snapshot.definitions_named(&name.name, question.focus_file.as_deref());
            if let Some(qualifier) = &name.qualifier {
                // `Flask.make_response`: the member of that class first.
                defs.sort_by_key(|(key, index)| {
                    let parent = snapshot.definition(key, *index).and_then(|def| def.parent);
                    let parent = parent.and_then(|p| snapshot.definition(key, p)).map(|def| &def.name);
                    parent != Some(qualifier)
                });
            }
            for (key, index) in defs.iter().take(MAX_PER_FILE * 2) {
                let Some(def) = snapshot.definition(key, *index) else { continue };
                list.push(definition_item(
                    key,
                    def,
                    ItemKind::Definition,
                    format!("`{}` is named in the question", name.name),
                ));
            }
        }
        self.lists.push(Ranked::asked_for(self.w.names, exact));
        self.lists.push(Ranked::asked_for(self.w.unique_names, unique));
    }

    /// Channel 3: BM25 over facts.
    fn facts_bm25(&mut self) {
        let snapshot = self.snapshot;
        let index = snapshot.facts_index();
        let hits: Vec<(u32, f64)> = index.bm25.search(&self.tokens, PER_RANKER);
        let floor = MIN_RELATIVE_SCORE * index.bm25.best_score(&self.tokens);
        let hits = hits.into_iter().filter(|(_, score)| *score >= floor);
        // Many definitions of one name ("view", "get") match a plain word alike: keep the first few.
        let mut per_name: HashMap<&str, usize> = HashMap::new();
        let items = hits
            .into_iter()
            .filter_map(|(doc, _)| match &index.docs[doc as usize] {
                FactDoc::Definition { file, index } => {
                    let def = &snapshot.files.get(file)?.definitions[*index as usize];
                    let seen = per_name.entry(def.name.as_str()).or_insert(0);
                    *seen += 1;
                    if *seen > SAME_NAME_PER_LIST {
                        return None;
                    }
                    Some(definition_item(file, def, ItemKind::Definition, "matches the words of the question".into()))
                }
                FactDoc::ErrorSite { file, index } => {
                    let facts = snapshot.files.get(file)?;
                    let site = &facts.error_sites[*index as usize];
                    Some(produced_here(file, site, site.definition.and_then(|d| facts.definitions.get(d as usize))))
                }
            })
            .collect();
        self.lists.push(Ranked::by_relevance(self.w.facts_bm25, items));
    }

    /// Channel 4: Full text: which code uses the question's words, and which files.
    fn full_text(&mut self) {
        let hits = self.text_index.bm25.search(&self.tokens, PER_RANKER);
        let items = hits
            .into_iter()
            .filter_map(|(doc, _)| {
                let (key, i) = &self.text_index.docs[doc as usize];
                text_item(self.snapshot, key, *i as usize, &self.tokens, USES_WORDS)
            })
            .collect();
        self.lists.push(Ranked::by_relevance(self.w.text_docs, items));
        self.whole_files = self.text_index.rank_files(&self.tokens, PER_RANKER).into_iter().map(|(f, _)| f).collect();
        self.file_lists.push((self.w.text_files, true, self.whole_files.clone()));
        let code_files = self.whole_files.iter().filter(|f| prior::file_weight(f) >= 1.0).cloned().collect();
        self.file_stage.push((self.w.files_text, code_files));
    }

    /// Channel 5: The learned context: BM25 over its passages and the passages nearest by embedding, each
    /// counting as far as its note is reliable.
    fn notes(&mut self, learned: &LearnedContext) {
        let reliable = |p: &usize| learned.reliability[learned.passages[*p].note] >= MIN_NOTE_RELIABILITY;
        let by_words: Vec<usize> = learned
            .bm25
            .search(&self.tokens, PER_RANKER)
            .into_iter()
            .map(|(p, _)| p as usize)
            .filter(reliable)
            .collect();
        let floor = self.question.semantic_notes.first().map_or(0.0, |(_, cosine)| cosine - SEMANTIC_MARGIN);
        let by_meaning: Vec<usize> = self
            .question
            .semantic_notes
            .iter()
            .take(PER_RANKER)
            .filter(|(_, cosine)| *cosine >= floor)
            .filter_map(|(key, _)| learned.passage_by_key(key))
            .filter(reliable)
            .collect();
        for passages in [by_words, by_meaning] {
            let factors = passages.iter().map(|&p| learned.reliability[learned.passages[p].note]).collect();
            let items = passages.into_iter().map(|p| passage_item(learned, p, self.snapshot)).collect();
            self.lists.push(Ranked { factors, ..Ranked::by_relevance(self.w.notes, items) });
        }
    }

    /// Channel 6: The graph, personalized to the open file and the named identifiers.
    fn graph(&mut self) {
        let snapshot = self.snapshot;
        let named: Vec<String> = self.names.iter().map(|n| n.name.clone()).collect();
        let focus = Focus { files: self.question.focus_file.iter().cloned().collect(), identifiers: named };
        let ranking = graph::rank(snapshot.graph(), &focus);
        let mut items = Vec::new();
        for (file, name, _) in ranking.definitions.iter().take(PER_RANKER) {
            let key = &snapshot.graph().files[*file as usize];
            if let Some((key, facts)) = snapshot.files.get_key_value(key.as_str()) {
                for def in facts.definitions.iter().filter(|d| &d.name == name).take(2) {
                    items.push(definition_item(
                        key,
                        def,
                        ItemKind::RankedDefinition,
                        "central to the code around your question".into(),
                    ));
                }
            }
        }
        self.lists.push(Ranked::by_relevance(self.w.graph, items));
    }

    /// Channel 7: The definition under the cursor: first for "what does this do?", after the symbols a
    /// question names.
    fn cursor(&mut self) {
        let question = self.question;
        if let (Some(key), Some(line)) = (&question.focus_file, question.focus_line)
            && let Some((key, facts)) = self.snapshot.files.get_key_value(key.as_str())
            && let Some(def) = facts
                .definitions
                .iter()
                .filter(|d| d.span.start.line <= line && line <= d.span.end.line)
                .min_by_key(|d| d.span.end.line - d.span.start.line)
        {
            let weight = if self.names.is_empty() { 3.0 } else { 0.8 };
            self.lists.push(Ranked::asked_for(
                weight,
                vec![definition_item(key, def, ItemKind::Definition, "where your cursor is".into())],
            ));
        }
    }

    /// Channel 8: Semantic: the definitions nearest the question by embedding.
    fn semantic(&mut self) {
        let snapshot = self.snapshot;
        let mut per_name: HashMap<&str, usize> = HashMap::new();
        let floor = self.question.semantic[0].1 - SEMANTIC_MARGIN;
        let items = self
            .question
            .semantic
            .iter()
            .take(PER_RANKER)
            .filter(|(_, cosine)| *cosine >= floor)
            .filter_map(|((key, index), _)| {
                let (key, facts) = snapshot.files.get_key_value(key)?;
                let def = facts.definitions.get(*index as usize)?;
                let seen = per_name.entry(def.name.as_str()).or_insert(0);
                *seen += 1;
                (*seen <= SAME_NAME_PER_LIST).then(|| {
                    definition_item(key, def, ItemKind::Definition, "its meaning is close to the question's".into())
                })
            })
            .collect::<Vec<_>>();
        self.file_stage.push((self.w.files_semantic, files_by_prior(&items)));
        self.lists.push(Ranked::by_relevance(self.w.semantic, items));
    }

    /// Channel 9: Past changes: the files that the project's commits most like the question changed
    /// (`Question::past`), as a file-level list; the first few get an item of their own when no
    /// other channel gave them one, saying which past fixes changed them.
    fn past_changes(&mut self) {
        let snapshot = self.snapshot;
        let files: Vec<Arc<str>> = self
            .question
            .past
            .iter()
            .filter_map(|p| snapshot.files.get_key_value(p.file.as_str()).map(|(k, _)| k.clone()))
            .take(PER_RANKER)
            .collect();
        self.file_lists.push((self.w.history, true, files.clone()));
        self.file_stage.push((self.w.files_history, files.clone()));
        self.past_used = true;
        let covered: HashSet<&str> = self.lists.iter().flat_map(|l| l.items.iter().map(|i| i.path.as_str())).collect();
        let own: Vec<ContextItem> = files
            .iter()
            .take(FILES_WITH_OWN_ITEM)
            .filter(|f| !covered.contains(&***f))
            .filter_map(|f| best_text_item(snapshot, f, &self.tokens))
            .collect();
        if !own.is_empty() {
            self.lists.push(Ranked::by_relevance(0.0, own));
        }
    }

    /// Files that rank high as a whole get their best-matching code when no channel gave them an
    /// item; then every list is fused, and items of files that similar past changes lifted say so.
    fn fuse(mut self) -> Vec<ContextItem> {
        let covered: HashSet<&str> = self.lists.iter().flat_map(|l| l.items.iter().map(|i| i.path.as_str())).collect();
        let mut own = Vec::new();
        for file in self.whole_files.iter().take(FILES_WITH_OWN_ITEM).filter(|f| !covered.contains(&***f)) {
            if let Some(item) = best_text_item(self.snapshot, file, &self.tokens) {
                own.push(item);
            }
        }
        if !own.is_empty() {
            self.lists.push(Ranked::by_relevance(0.0, own));
        }
        let fused = fuse(self.lists, &self.file_lists);
        let mut fused = file_stage(fused, &self.file_stage);
        if !self.past_used {
            return fused;
        }
        let cited: HashMap<&str, &PastFile> =
            self.question.past.iter().take(FILES_WITH_OWN_ITEM).map(|p| (p.file.as_str(), p)).collect();
        for item in &mut fused {
            if let Some(past) = cited.get(item.path.as_str()) {
                item.reason = format!("{}; {}", item.reason, past_reason(past));
            }
        }
        fused
    }
}

/// Why a file is here by its history: "changed by 3 similar past fixes: `Fixed #27626 -- Moved
/// MEDIA_URL validation…` (a1b2c3d)".
fn past_reason(past: &PastFile) -> String {
    let examples: Vec<String> = past
        .examples
        .iter()
        .map(|(id, subject)| {
            let short: String = subject.chars().take(60).collect();
            let ellipsis = if short.len() < subject.len() { "…" } else { "" };
            format!("`{short}{ellipsis}` ({id})")
        })
        .collect();
    let fixes = if past.commits == 1 {
        "1 similar past change".to_string()
    } else {
        format!("{} similar past changes", past.commits)
    };
    format!("changed by {fixes}: {}", examples.join(", "))
}

/// The reason of a full-text item.
const USES_WORDS: &str = "its code uses the words of the question";

/// Text the question puts in quotes (`'…'`, `"…"`, `“…”`, backticks), at least a few words long.
fn quoted(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (open, close) in [('\'', '\''), ('"', '"'), ('“', '”'), ('`', '`')] {
        let mut rest = text;
        while let Some(start) = rest.find(open) {
            let after = &rest[start + open.len_utf8()..];
            let Some(end) = after.find(close) else { break };
            let inside = &after[..end];
            if inside.len() >= MIN_MESSAGE_FRAGMENT && inside.contains(' ') && !inside.contains('\n') {
                out.push(inside.to_string());
            }
            rest = &after[end + close.len_utf8()..];
        }
    }
    out
}

/// The full-text document `i` of `file` as a context item: the definition it belongs to, or the
/// module-level lines.
fn text_item(snapshot: &Snapshot, file: &str, i: usize, tokens: &[String], reason: &str) -> Option<ContextItem> {
    let (key, facts) = snapshot.files.get_key_value(file)?;
    let text_doc = facts.text.get(i)?;
    Some(match text_doc.definition {
        Some(d) => definition_item(key, &facts.definitions[d as usize], ItemKind::Definition, reason.into()),
        None => {
            let words: Vec<&str> =
                text_doc.terms.iter().filter(|(t, _)| tokens.iter().any(|x| x == t)).map(|(t, _)| t).take(8).collect();
            let text = if is_secret(key) {
                WITHHELD.to_string()
            } else {
                format!("module-level code using: {}", words.join(", "))
            };
            item(key, text_doc.start_line, text_doc.end_line, ItemKind::Code, reason.into(), text)
        }
    })
}

/// An error site whose message the question quotes, as an item; `within`: the definition it is in.
fn produced_here(key: &str, site: &ErrorSite, within: Option<&Definition>) -> ContextItem {
    let reason = match within.filter(|_| !is_secret(key)) {
        Some(def) => format!("this error message is produced here, in `{}`", def.name),
        None => "this error message is produced here".into(),
    };
    error_item(key, site, reason)
}

/// The document of `file` that matches `tokens` best, as an item.
fn best_text_item(snapshot: &Snapshot, file: &str, tokens: &[String]) -> Option<ContextItem> {
    let facts = snapshot.files.get(file)?;
    let best = facts
        .text
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let matched: u32 = doc.terms.iter().filter(|(t, _)| tokens.iter().any(|x| x == t)).map(|(_, c)| c).sum();
            (matched, std::cmp::Reverse(i))
        })
        .max()?;
    text_item(snapshot, file, best.1.0, tokens, USES_WORDS)
}

/// Best first, at most `MAX_PER_FILE` per file, within `budget` tokens. Below `SPAN_FILES_BELOW`
/// tokens (the in-process model's context: a few hundred) every file's best item that fits is taken
/// before any file's second, and seconds before thirds, and each item is cut to
/// `SMALL_CONTEXT_ITEM_TOKENS`, so a small context spans as many of the ranked files as it can
/// (recall of a gold file within 400 tokens, spanning alone: 85.8 → 87.5 on the dev subset,
/// 91.5 → 96.5 on the question set). Larger budgets follow the scores: there a file's strong second
/// item (`Blueprint.register` after `Blueprint`) beats a weak first one elsewhere. The items chosen
/// keep the ranking's order, so the order of files is the ranking's whatever the budget.
pub fn select(candidates: Vec<ContextItem>, budget: usize) -> Vec<ContextItem> {
    let span_files = budget < SPAN_FILES_BELOW;
    let mut per_file: HashMap<String, usize> = HashMap::new();
    // (place among its file's items, item), in ranking order, at most MAX_PER_FILE per file.
    let ranked: Vec<(usize, ContextItem)> = candidates
        .into_iter()
        .filter_map(|item| {
            let count = per_file.entry(item.path.clone()).or_insert(0);
            *count += 1;
            (*count <= MAX_PER_FILE)
                .then(|| if span_files { (*count - 1, shortened(item, SMALL_CONTEXT_ITEM_TOKENS)) } else { (0, item) })
        })
        .collect();
    let mut chosen = vec![false; ranked.len()];
    let mut used = 0;
    for place in 0..MAX_PER_FILE {
        for ((item_place, item), chosen) in ranked.iter().zip(chosen.iter_mut()) {
            if *item_place == place && used + item.tokens <= budget {
                *chosen = true;
                used += item.tokens;
            }
        }
    }
    ranked.into_iter().zip(chosen).filter(|(_, chosen)| *chosen).map(|((_, item), _)| item).collect()
}

/// An item cut to about `max_tokens`: its first line (a signature, a message) stays whole, the rest
/// is cut at a word and marked with "…".
fn shortened(mut item: ContextItem, max_tokens: usize) -> ContextItem {
    if item.tokens <= max_tokens {
        return item;
    }
    let overhead = item.tokens.saturating_sub(estimate_tokens(&item.text));
    let first_line = item.text.lines().next().unwrap_or("").to_string();
    let room_chars = (max_tokens.saturating_sub(overhead) * 7 / 2).max(first_line.chars().count());
    let mut cut: String = item.text.chars().take(room_chars).collect();
    if cut.len() < item.text.len() {
        if let Some(space) = cut.rfind(char::is_whitespace).filter(|&at| at >= first_line.len()) {
            cut.truncate(space);
        }
        cut.push('…');
    }
    item.text = cut;
    item.tokens = estimate_tokens(&item.text) + overhead;
    item
}

/// The fused order of files (first appearance), for retrieval measurements.
pub fn rank_files(candidates: &[ContextItem]) -> Vec<String> {
    let mut seen = HashSet::new();
    candidates.iter().filter(|c| seen.insert(c.path.clone())).map(|c| c.path.clone()).collect()
}

/// The length of the longest literal fragment of `message` (split at format placeholders such as
/// `{x}`, `%s`, `%(name)r`) that occurs in `question`, if it is long enough to be telling.
pub fn longest_quoted_fragment(message: &str, question: &str) -> Option<usize> {
    let mut fragments: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                fragments.push(std::mem::take(&mut current));
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                }
            }
            '%' if chars.peek().is_some_and(|n| n.is_ascii_alphabetic() || *n == '(') => {
                fragments.push(std::mem::take(&mut current));
                if chars.peek() == Some(&'(') {
                    for c in chars.by_ref() {
                        if c == ')' {
                            break;
                        }
                    }
                }
                chars.next();
            }
            _ => current.push(c),
        }
    }
    fragments.push(current);
    fragments
        .iter()
        .map(|f| f.trim())
        .filter(|f| f.len() >= MIN_MESSAGE_FRAGMENT && question.contains(f))
        .map(str::len)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_budget_spans_files_before_it_spends_on_second_items() {
        let item = |path: &str, line: u32| ContextItem {
            path: path.into(),
            start_line: line,
            end_line: line,
            kind: ItemKind::Definition,
            score: 0.0,
            tokens: 10,
            reason: String::new(),
            text: String::new(),
            stale: false,
        };
        let ranking =
            vec![item("a.py", 1), item("a.py", 2), item("a.py", 3), item("a.py", 4), item("b.py", 1), item("c.py", 1)];
        let places = |items: Vec<ContextItem>| -> Vec<(String, u32)> {
            items.into_iter().map(|i| (i.path, i.start_line)).collect()
        };
        let all = places(select(ranking.clone(), usize::MAX));
        assert_eq!(all, [("a.py", 1), ("a.py", 2), ("a.py", 3), ("b.py", 1), ("c.py", 1)].map(|(p, l)| (p.into(), l)));
        // 30 tokens: the three files' best items, not a.py's first three.
        let small = places(select(ranking.clone(), 30));
        assert_eq!(small, [("a.py", 1), ("b.py", 1), ("c.py", 1)].map(|(p, l)| (p.into(), l)));
        // 40: then a.py's second, in the ranking's order.
        let more = places(select(ranking.clone(), 40));
        assert_eq!(more, [("a.py", 1), ("a.py", 2), ("b.py", 1), ("c.py", 1)].map(|(p, l)| (p.into(), l)));
        // A large context follows the scores: a.py's three items, then what still fits.
        let large: Vec<ContextItem> = ranking.into_iter().map(|i| ContextItem { tokens: 400, ..i }).collect();
        let greedy = places(select(large, 1_200));
        assert_eq!(greedy, [("a.py", 1), ("a.py", 2), ("a.py", 3)].map(|(p, l)| (p.into(), l)));
    }

    #[test]
    fn a_small_context_cuts_long_items_after_their_first_line() {
        let text = "def get_signing_serializer(self, app)\nReturns the serializer that signs the session cookie with the \
                    app's secret key, or None when the app has no secret key, so that the session is not saved.";
        let path = "src/flask/sessions.py";
        let long = ContextItem {
            path: path.into(),
            start_line: 1,
            end_line: 9,
            kind: ItemKind::Definition,
            score: 0.0,
            tokens: estimate_tokens(text) + estimate_tokens(path) + 4,
            reason: String::new(),
            text: text.into(),
            stale: false,
        };
        assert!(long.tokens > SMALL_CONTEXT_ITEM_TOKENS);
        let small = select(vec![long.clone()], 500);
        let cut = &small[0];
        assert!(cut.text.starts_with("def get_signing_serializer(self, app)\nReturns the"), "{}", cut.text);
        assert!(cut.text.ends_with('…') && !cut.text.ends_with(" …"), "{}", cut.text);
        assert!(cut.tokens <= SMALL_CONTEXT_ITEM_TOKENS, "{} tokens", cut.tokens);
        assert_eq!(cut.tokens, estimate_tokens(&cut.text) + estimate_tokens(path) + 4);
        // A long first line stays whole.
        let signature = format!("def f({})", (0..40).map(|i| format!("argument_{i}")).collect::<Vec<_>>().join(", "));
        let wide = ContextItem { text: format!("{signature}\nDoes f."), ..long.clone() };
        assert_eq!(select(vec![wide], 500)[0].text, format!("{signature}…"));
        // A large context shows the item whole.
        assert_eq!(select(vec![long.clone()], 2_000)[0], long);
    }

    #[test]
    fn weights_are_overridden_by_name() {
        let w = Weights::with_overrides("graph=0, semantic=1.5").unwrap();
        assert_eq!((w.graph, w.semantic, w.notes), (0.0, 1.5, WEIGHTS.notes));
        assert_eq!(Weights::with_overrides("").unwrap(), WEIGHTS);
        assert!(Weights::with_overrides("graph").unwrap_err().contains("name=number"));
        assert!(Weights::with_overrides("grpah=1").unwrap_err().contains("no channel weight"));
        assert!(Weights::with_overrides("graph=x").unwrap_err().contains("not a number"));
    }

    #[test]
    fn error_messages_match_across_placeholders() {
        assert_eq!(
            longest_quoted_fragment("no such table: {name} in database", "I get `no such table: users in database`"),
            Some(14)
        );
        assert_eq!(
            longest_quoted_fragment("Bad value %r for field %(field)s", "Bad value 'x' for field"),
            None,
            "fragments too short"
        );
        assert_eq!(
            longest_quoted_fragment("settings path must not be empty", "ValueError: settings path must not be empty"),
            Some(31)
        );
    }
}
