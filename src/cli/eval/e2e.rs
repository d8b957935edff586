//! End-to-end answers: a few records answered by the local model (llama.cpp, `--features local`)
//! with the learned context of (c) and with raw chunks of (a) at the same budget, each call recorded in
//! the ledger as a test-phase entry.

use super::EvalArgs;
use super::count::prompt_tokens;
use crate::answer::{self, ContextItem, Question};
use crate::eval::Record;
use crate::eval::figures::E2eRow;
use crate::llm::{LlmConfig, Provider};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// The default model for end-to-end answers (what `scripts/fetch-model.sh` downloads), looked for in
/// `dirs::model_dirs`.
const TEST_MODEL: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// Completion tokens per answer, the model's context window, the longest question answered.
const ANSWER_TOKENS: u32 = 128;
const CONTEXT_TOKENS: u32 = 8192;
pub(super) const MAX_QUESTION_TOKENS: usize = 800;

/// The local model for end-to-end answers, or why there is none.
pub(super) fn provider(args: &EvalArgs) -> (Option<Arc<crate::llm::Resilient>>, Option<String>) {
    if args.e2e == 0 {
        return (None, Some("--e2e 0".into()));
    }
    if !cfg!(feature = "local") {
        return (
            None,
            Some(
                "this reverie was built without the local model (llama.cpp); rebuild with --features local \
                 (needs cmake, clang, libclang-dev) and fetch a model with scripts/fetch-model.sh"
                    .into(),
            ),
        );
    }
    let model = args
        .e2e_model
        .clone()
        .or_else(|| args.think_local.clone())
        .or_else(|| std::env::var_os("REVERIE_TEST_MODEL").map(PathBuf::from))
        .or_else(|| crate::dirs::model_dirs(None).into_iter().map(|d| d.join(TEST_MODEL)).find(|m| m.is_file()));
    let Some(model) = model.filter(|m| m.is_file()) else {
        return (None, Some("no GGUF model found: pass --e2e-model MODEL.gguf or run scripts/fetch-model.sh".into()));
    };
    let llm = LlmConfig {
        provider: crate::llm::LlmProvider::Local,
        model_path: Some(model.clone()),
        context_tokens: CONTEXT_TOKENS,
        answer_tokens: ANSWER_TOKENS,
        ..LlmConfig::default()
    };
    match crate::llm::from_config(&llm) {
        Ok(Some(provider)) => (Some(provider), None),
        Ok(None) => (None, Some("no provider".into())),
        Err(err) => (None, Some(format!("{} cannot be used: {err}", model.display()))),
    }
}

/// Answers `record` with `context` through `provider`, recording the call in the ledger (test phase).
pub(super) fn answer(
    provider: &dyn Provider,
    store: &crate::store::Store,
    record: &Record,
    label: &'static str,
    context: &[ContextItem],
    runtime: &tokio::runtime::Runtime,
) -> E2eRow {
    let question = Question { text: record.question.clone(), ..Question::default() };
    let request = answer::model_request(&question, context, ANSWER_TOKENS);
    let started = Instant::now();
    let result = runtime.block_on(crate::ask::call_model(provider, Some(store), &record.question, &request, &|_| {}));
    let elapsed = started.elapsed();
    let gold: HashSet<&str> = record.gold_paths.iter().map(String::as_str).collect();
    let (usage, error) = match &result {
        Ok(response) => (response.usage, None),
        Err(err) => (crate::llm::TokenUsage::default(), Some(err.to_string())),
    };
    E2eRow {
        id: record.id.clone(),
        context: label,
        items: context.len(),
        context_tokens: context.iter().map(prompt_tokens).sum(),
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        latency_ms: elapsed.as_secs_f64() * 1000.0,
        gold_in_context: context.iter().any(|c| gold.contains(c.path.as_str())),
        error,
    }
}
