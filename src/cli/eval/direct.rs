//! Direct-answer latency: the asking flow (`ask::ask`, no model) timed on questions that should be
//! answered with zero model tokens — the workspace's fresh anticipated questions asked back verbatim, and "where
//! is X defined?" / "what calls X?" about distinctive definitions of the most central files.

use crate::answer::{LearnedContext, Question};
use crate::eval::figures::Timing;
use crate::snapshot::Snapshot;
use std::sync::Arc;
use std::time::Instant;

/// Anticipated questions asked back per workspace, and definitions asked about.
const ANTICIPATED_PER_WORKSPACE: usize = 40;
const DEFINITIONS_PER_WORKSPACE: usize = 10;

const ANTICIPATED: &str = "anticipated (stored questions asked back)";
const DEFINED: &str = "\"where is X defined?\"";
const CALLERS: &str = "\"what calls X?\"";
/// The kinds of questions timed, in the order of the latency table.
pub(super) const KINDS: [&str; 3] = [ANTICIPATED, DEFINED, CALLERS];

/// Times the asking flow with no model on questions that should be answered directly: the
/// workspace's fresh anticipated questions asked back verbatim, and structural questions about
/// distinctive definitions of the most central files.
pub(super) fn latencies(
    snapshot: &Arc<Snapshot>,
    learned: &Arc<LearnedContext>,
    runtime: &tokio::runtime::Runtime,
) -> Vec<Timing> {
    let mut questions: Vec<(&'static str, String)> = Vec::new();
    for &passage in &learned.questions {
        let p = &learned.passages[passage];
        if !learned.fresh[p.note] {
            continue;
        }
        let text = learned.notes[p.note].body["questions"][p.question.unwrap_or(0)]["question"].as_str().unwrap_or("");
        if !text.trim().is_empty() && questions.len() < ANTICIPATED_PER_WORKSPACE {
            questions.push((ANTICIPATED, text.to_string()));
        }
    }
    let mut ranked: Vec<(&Arc<str>, f64)> = snapshot.file_ranks.iter().map(|(k, r)| (k, *r)).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut names = Vec::new();
    for (key, _) in ranked {
        let Some(facts) = snapshot.files.get(key) else { continue };
        let name =
            facts.definitions.iter().map(|d| d.name.as_str()).find(|name| {
                name.len() >= 4 && !name.starts_with('_') && snapshot.definitions_by_name.count(name) == 1
            });
        if let Some(name) = name {
            names.push(name.to_string());
        }
        if names.len() >= DEFINITIONS_PER_WORKSPACE {
            break;
        }
    }
    for name in names {
        questions.push((DEFINED, format!("Where is {name} defined?")));
        questions.push((CALLERS, format!("What calls {name}?")));
    }
    questions
        .into_iter()
        .map(|(kind, text)| {
            let question = Question { text: text.clone(), budget: 2000, ..Question::default() };
            let knowledge = crate::ask::Knowledge {
                snapshot: snapshot.clone(),
                learned: Some(learned.clone()),
                store: None,
                provider: None,
                past: None,
                llm: crate::llm::LlmConfig::default(),
            };
            let started = Instant::now();
            let answered = runtime.block_on(crate::ask::ask(knowledge, question, None, &NoSources, started));
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            Timing { kind, question: text, ms, direct: answered.answer.source.is_direct() }
        })
        .collect()
}

/// Direct answers read no source and have no semantic index here.
struct NoSources;

impl crate::ask::Surroundings for NoSources {
    fn source_of(&self, _: &str) -> Option<String> {
        None
    }

    async fn nearest(&self, _: &str) -> crate::embed::semantic::Nearby {
        Default::default()
    }

    fn on_chunk(&self, _: &str) {}

    fn show_unverified(&self) -> bool {
        false
    }

    fn how_to_show_unverified(&self) -> &str {
        "no model answers here"
    }
}
