//! The test-time side: the prompt that leads with the learned context, and the answer shown when no
//! model is configured.

use super::{ContextItem, Question};
use crate::llm::{ChatRequest, Message, Role};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// One earlier exchange of a conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub question: String,
    pub answer: String,
}

/// Conversations in the store (the store keeps their JSON; this is their typed view).
pub trait ConversationStore {
    /// The turns of a conversation so far (empty for a new one).
    fn conversation(&self, id: &str) -> anyhow::Result<Vec<Turn>>;
    /// Appends a turn to a conversation, keeping the last `MAX_TURNS`.
    fn add_turn(&self, id: &str, turn: Turn) -> anyhow::Result<()>;
}

/// Turns kept per conversation.
const MAX_TURNS: usize = 50;

impl ConversationStore for crate::store::Store {
    fn conversation(&self, id: &str) -> anyhow::Result<Vec<Turn>> {
        Ok(self.get_record(crate::store::RecordTree::Conversations, id.as_bytes())?.unwrap_or_default())
    }

    fn add_turn(&self, id: &str, turn: Turn) -> anyhow::Result<()> {
        let mut turns = self.conversation(id)?;
        turns.push(turn);
        if turns.len() > MAX_TURNS {
            turns.drain(..turns.len() - MAX_TURNS);
        }
        self.put_record(crate::store::RecordTree::Conversations, id.as_bytes(), &turns)
    }
}

/// Earlier turns kept verbatim in a prompt; older ones are listed by their questions only.
const VERBATIM_TURNS: usize = 2;
const TURN_ANSWER_CHARS: usize = 1200;

const SYSTEM: &str = "You are reverie, a coding assistant that already studied this codebase. The context \
below is what it learned ahead of time (summaries, playbooks, anticipated questions) and facts from the \
code (definitions, error messages). Use it first and do not re-derive what it already says. Answer the \
question directly and briefly, and cite files as path:line. Name only functions, classes, files and \
settings that appear in the context, written exactly as there; never invent one. If the context does \
not contain the answer, say \"not in the context\" and what to read next.";

/// An item's header line in a prompt: `[n] path:lines`, and whether it is a note and possibly
/// outdated. The citation alone: a small model's context is better spent on code than on why each
/// item was chosen (the reasons took ~15 estimated tokens an item).
pub fn citation(n: usize, item: &ContextItem) -> String {
    let lines = if item.start_line == item.end_line {
        item.start_line.to_string()
    } else {
        format!("{}-{}", item.start_line, item.end_line)
    };
    let note = if item.kind == super::ItemKind::Note { " (learned note)" } else { "" };
    let stale = if item.stale { " (possibly outdated)" } else { "" };
    format!("[{n}] {}:{lines}{note}{stale}", item.path)
}

/// The model request for `question` given the retrieved `context`.
pub fn model_request(question: &Question, context: &[ContextItem], completion_budget: u32) -> ChatRequest {
    let mut body = String::from("Context, most relevant first:\n");
    for (i, item) in context.iter().enumerate() {
        let _ = writeln!(body, "{}", citation(i + 1, item));
        if !item.text.is_empty() {
            let _ = writeln!(body, "{}", item.text);
        }
    }
    let mut messages = Vec::new();
    let history = &question.history;
    let older = history.len().saturating_sub(VERBATIM_TURNS);
    if older > 0 {
        let _ = writeln!(body, "\nEarlier in this conversation the user asked:");
        for turn in &history[..older] {
            let _ = writeln!(body, "- {}", turn.question.lines().next().unwrap_or(""));
        }
    }
    messages.push(Message { role: Role::User, content: String::new() });
    for turn in &history[older..] {
        messages.push(Message { role: Role::User, content: turn.question.clone() });
        messages
            .push(Message { role: Role::Assistant, content: turn.answer.chars().take(TURN_ANSWER_CHARS).collect() });
    }
    let (redacted_context, _) = crate::redact::redact(&body);
    messages[0].content = redacted_context;
    if messages.len() > 1 {
        // Keep the roles alternating: the context opens the conversation as the first user turn.
        let first_question = messages.remove(1);
        messages[0].content = format!("{}\n\n{}", messages[0].content, first_question.content);
    }
    let (question_text, _) = crate::redact::redact(&question.text);
    match messages.last_mut() {
        Some(last) if last.role == Role::User && history.is_empty() => {
            last.content = format!("{}\n\nQuestion: {question_text}", last.content)
        }
        _ => messages.push(Message { role: Role::User, content: question_text }),
    }
    // Earlier turns came from the user and a model: redact them too before they go out again.
    for message in &mut messages {
        message.content = crate::redact::redact(&message.content).0;
    }
    ChatRequest {
        system: SYSTEM.into(),
        messages,
        max_tokens: completion_budget,
        temperature: 0.2,
        json_schema: None,
        stream: true,
    }
}

/// The answer when no model is configured: the context itself, what to read and why.
pub fn render_context_answer(question: &str, context: &[ContextItem]) -> String {
    if context.is_empty() {
        return format!(
            "reverie found nothing in this workspace that matches \"{}\". Try naming a function, class or file, or paste the error message.\n",
            question.trim()
        );
    }
    let mut out = String::from(
        "No model is configured, so this is the context reverie would give one: what to read, best first.\n\n",
    );
    write_context(&mut out, context);
    out
}

/// The answer when the model's was set aside for naming code that is not in the workspace
/// (`grounding::set_aside`): one line saying so, with `unverified` and `how_to_see` it anyway, then
/// the context as `render_context_answer` shows it.
pub fn render_set_aside_answer(
    question: &str,
    context: &[ContextItem],
    unverified: &[String],
    how_to_see: &str,
) -> String {
    let names: Vec<String> = unverified.iter().take(6).map(|n| format!("`{n}`")).collect();
    let more = if unverified.len() > 6 { ", …" } else { "" };
    let mut out = format!(
        "{} The model's answer named code that does not exist in this workspace ({}{more}), so this is what reverie found instead; {how_to_see}.\n\n",
        super::grounding::MARK,
        names.join(", ")
    );
    if context.is_empty() {
        out.push_str(&render_context_answer(question, context));
    } else {
        write_context(&mut out, context);
    }
    out
}

/// The context as one numbered list: each item's citation, why it is there, and its text in a code
/// block indented under its number (as deep as the number is wide: under `10. ` a block indented three
/// spaces ends the list, and markdown renderers then show every item from the tenth on as a list of
/// its own), fenced with more backticks than the text holds.
fn write_context(out: &mut String, context: &[ContextItem]) {
    for (i, item) in context.iter().enumerate() {
        let lines = if item.start_line == item.end_line {
            format!("{}", item.start_line)
        } else {
            format!("{}-{}", item.start_line, item.end_line)
        };
        let marker = format!("{}. ", i + 1);
        let _ = writeln!(out, "{marker}`{}:{}` — {}", item.path, lines, item.reason);
        if !item.text.is_empty() {
            let indent = " ".repeat(marker.len());
            let fence = "`".repeat(longest_backtick_run(&item.text).max(2) + 1);
            let text = item.text.replace('\n', &format!("\n{indent}"));
            let _ = writeln!(out, "{indent}{fence}\n{indent}{text}\n{indent}{fence}");
        }
    }
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(path: &str) -> ContextItem {
        ContextItem {
            path: path.into(),
            start_line: 3,
            end_line: 9,
            kind: crate::answer::ItemKind::Note,
            score: 1.0,
            tokens: 10,
            reason: "the learned summary".into(),
            text: "Loads settings.".into(),
            stale: false,
        }
    }

    #[test]
    fn the_context_answer_is_one_list_whatever_its_length() {
        let mut items: Vec<ContextItem> = (0..10).map(|_| item("lib.py")).collect();
        items[9].text = "A note that quotes\n```\ncode\n```".into();
        let answer = render_context_answer("what?", &items);
        assert!(
            answer.contains("9. `lib.py:3-9` — the learned summary\n   ```\n   Loads settings.\n   ```\n"),
            "{answer}"
        );
        // Under `10. ` the block is indented four spaces, fenced longer than the text's own fence.
        assert!(
            answer.ends_with("10. `lib.py:3-9` — the learned summary\n    ````\n    A note that quotes\n    ```\n    code\n    ```\n    ````\n"),
            "{answer}"
        );
        assert_eq!(longest_backtick_run("a `b` ``c``"), 2);
    }

    #[test]
    fn the_prompt_leads_with_context_and_keeps_roles_alternating() {
        let question = Question {
            text: "and who calls it?".into(),
            history: vec![Turn { question: "what is load_settings?".into(), answer: "It loads settings.".into() }],
            ..Question::default()
        };
        let request = model_request(&question, &[item("lib.py")], 300);
        let roles: Vec<Role> = request.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::User, Role::Assistant, Role::User]);
        assert!(request.messages[0].content.starts_with("Context, most relevant first:\n[1] lib.py:3-9"));
        assert!(request.messages[0].content.ends_with("what is load_settings?"));
        assert_eq!(request.messages[2].content, "and who calls it?");
        assert_eq!(request.max_tokens, 300);
        let first =
            model_request(&Question { text: "what is it?".into(), ..Question::default() }, &[item("a.py")], 100);
        assert_eq!(first.messages.len(), 1);
        assert!(first.messages[0].content.ends_with("Question: what is it?"));
    }
}
