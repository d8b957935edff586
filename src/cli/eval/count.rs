//! How `reverie eval` counts a context item's tokens, the same way for every system: the item
//! exactly as `answer::model_request` puts it in a prompt — its citation line and its text.

use crate::answer::{ContextItem, ItemKind};
use crate::eval::Item;
use crate::tokens::estimate_tokens;

/// How tokens are counted, for the output.
pub(super) const TOKEN_COUNTING: &str = "tokens::estimate_tokens (3.5 chars/token) of each item as answer::model_request renders \
it: the citation line `[n] path:lines` + the item's text (facts: signature + doc; notes: the note; raw chunks: the \
60-line window's full text)";

/// What `item` takes in a prompt: its citation line (`answer::citation`) and text as
/// `answer::model_request` renders them. A raw chunk's text is read only when needed, so its
/// window's estimate is in `tokens`.
pub(super) fn prompt_tokens(item: &ContextItem) -> usize {
    let citation = estimate_tokens(&format!("{}\n", crate::answer::citation(10, item)));
    let text = if item.kind == ItemKind::Chunk {
        item.tokens
    } else if item.text.is_empty() {
        0
    } else {
        estimate_tokens(&item.text) + 1
    };
    citation + text
}

/// The first items of `ranking` that fit in `budget` (the walk of budget recall).
pub(super) fn walk(ranking: &[ContextItem], budget: usize) -> Vec<ContextItem> {
    let mut used = 0;
    ranking
        .iter()
        .take_while(|item| {
            used += prompt_tokens(item);
            used <= budget
        })
        .cloned()
        .collect()
}

pub(super) fn metric_items(ranking: &[ContextItem]) -> Vec<Item> {
    ranking.iter().map(|item| Item { path: item.path.clone(), tokens: prompt_tokens(item) }).collect()
}
