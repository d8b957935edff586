//! The token ledger: every LLM call, with what it cost and what it served.
//!
//! It is what proves (or disproves) that sleep-time compute pays: sleep-phase tokens are spent ahead
//! of time on notes; test-phase tokens are spent answering. `Totals` sums them; the paper's accounting
//! over them (sleep tokens + N × test tokens, at a price multiplier for test-time tokens) is
//! `eval::amortize`. Entries are plain values; the store persists them.

use crate::llm::TokenUsage;
use crate::store::{RecordTree, Store};
use anyhow::Result;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Thinking ahead, while the user is idle.
    Sleep,
    /// Answering a question.
    Test,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Nanoseconds since the Unix epoch.
    pub at_ns: u64,
    pub phase: Phase,
    pub provider: String,
    pub model: String,
    pub usage: TokenUsage,
    pub latency_ms: u64,
    /// What the call served: `summary lib.py`, `question: where is …`.
    pub purpose: String,
    /// `ok`, or why it failed.
    pub outcome: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseTotals {
    pub calls: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Calls whose counts were estimated (the provider reported none).
    pub estimated_calls: u64,
}

impl PhaseTotals {
    pub fn tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }

    fn add(&mut self, entry: &LedgerEntry) {
        self.calls += 1;
        self.prompt_tokens += entry.usage.prompt_tokens;
        self.completion_tokens += entry.usage.completion_tokens;
        if entry.usage.estimated {
            self.estimated_calls += 1;
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub sleep: PhaseTotals,
    pub test: PhaseTotals,
}

/// The ledger entry of a test-time (answering) call, successful or not.
pub fn test_entry(
    provider: &dyn crate::llm::Provider,
    question: &str,
    request: &crate::llm::ChatRequest,
    result: &Result<crate::llm::ChatResponse, crate::llm::LlmError>,
    elapsed: std::time::Duration,
) -> LedgerEntry {
    let (usage, model, outcome) = match result {
        Ok(response) => (response.usage, response.model.clone(), "ok".to_string()),
        Err(err) => {
            let prompt: usize =
                request.messages.iter().map(|m| crate::tokens::estimate_tokens(&m.content)).sum::<usize>()
                    + crate::tokens::estimate_tokens(&request.system);
            (
                TokenUsage { prompt_tokens: prompt as u64, completion_tokens: 0, estimated: true },
                provider.model().to_string(),
                err.to_string(),
            )
        }
    };
    LedgerEntry {
        at_ns: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64),
        phase: Phase::Test,
        provider: provider.name().to_string(),
        model,
        usage,
        latency_ms: elapsed.as_millis() as u64,
        purpose: format!("question: {}", question.lines().next().unwrap_or("").chars().take(120).collect::<String>()),
        outcome,
    }
}

pub fn totals<'a>(entries: impl IntoIterator<Item = &'a LedgerEntry>) -> Totals {
    let mut totals = Totals::default();
    for entry in entries {
        match entry.phase {
            Phase::Sleep => totals.sleep.add(entry),
            Phase::Test => totals.test.add(entry),
        }
    }
    totals
}

/// Tokens of `phase` spent at or after `since_ns`.
pub fn tokens_since<'a>(entries: impl IntoIterator<Item = &'a LedgerEntry>, phase: Phase, since_ns: u64) -> u64 {
    entries
        .into_iter()
        .filter(|e| e.phase == phase && e.at_ns >= since_ns)
        .map(|e| e.usage.prompt_tokens + e.usage.completion_tokens)
        .sum()
}

/// The ledger in the store (the store keeps its JSON; this is its typed view).
pub trait LedgerStore {
    /// Appends an entry (each gets its own key, also within one nanosecond).
    fn record(&self, entry: &LedgerEntry) -> Result<()>;
    /// Entries at or after `since_ns`, oldest first.
    fn ledger(&self, since_ns: u64) -> Result<Vec<LedgerEntry>>;
}

impl LedgerStore for Store {
    fn record(&self, entry: &LedgerEntry) -> Result<()> {
        let mut key = entry.at_ns.to_be_bytes().to_vec();
        key.extend_from_slice(&(self.next_sequence()? as u32).to_be_bytes());
        self.put_record(RecordTree::Ledger, &key, entry)
    }

    fn ledger(&self, since_ns: u64) -> Result<Vec<LedgerEntry>> {
        Ok(self.records_from(RecordTree::Ledger, &since_ns.to_be_bytes())?.into_iter().map(|(_, e)| e).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(phase: Phase, prompt: u64, completion: u64, at_ns: u64) -> LedgerEntry {
        LedgerEntry {
            at_ns,
            phase,
            provider: "p".into(),
            model: "m".into(),
            usage: TokenUsage { prompt_tokens: prompt, completion_tokens: completion, estimated: false },
            latency_ms: 1,
            purpose: "x".into(),
            outcome: "ok".into(),
        }
    }

    #[test]
    fn totals_split_by_phase() {
        let entries = [entry(Phase::Sleep, 100, 20, 1), entry(Phase::Test, 30, 5, 2), entry(Phase::Sleep, 50, 10, 3)];
        let t = totals(&entries);
        assert_eq!(t.sleep, PhaseTotals { calls: 2, prompt_tokens: 150, completion_tokens: 30, estimated_calls: 0 });
        assert_eq!(t.test.tokens(), 35);
        assert_eq!(tokens_since(&entries, Phase::Sleep, 2), 60);
    }
}
