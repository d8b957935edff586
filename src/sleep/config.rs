//! The `[sleep]` section of the configuration: what reverie may spend thinking ahead. Owned here,
//! read by `config` (which assembles every section) and by the runner.

use super::NoteKind;
use serde::Deserialize;

/// The `[sleep]` section: what reverie may spend thinking ahead.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default)]
pub struct SleepConfig {
    /// Sleep-time tokens (prompt + completion) per rolling hour and day.
    pub tokens_per_hour: u64,
    pub tokens_per_day: u64,
    /// Prompt budget of one job, in tokens (facts first, then as much source as fits).
    pub job_prompt_tokens: usize,
    /// Completion budget of one job.
    pub job_completion_tokens: u32,
    /// After the user becomes active, a model call still running is cancelled after this long.
    #[serde(deserialize_with = "crate::units::de_duration")]
    pub grace_period: std::time::Duration,
    /// Which notes to write: summary, playbook, questions, module, overview.
    pub notes: Vec<String>,
}

impl Default for SleepConfig {
    fn default() -> Self {
        SleepConfig {
            tokens_per_hour: 200_000,
            tokens_per_day: 2_000_000,
            job_prompt_tokens: 1500,
            job_completion_tokens: 400,
            grace_period: std::time::Duration::from_secs(2),
            notes: NoteKind::ALL.iter().map(|k| k.name().to_string()).collect(),
        }
    }
}

impl SleepConfig {
    /// The note kinds to write (unknown names are ignored; `Config` reports them).
    pub fn kinds(&self) -> Vec<NoteKind> {
        self.notes.iter().filter_map(|n| NoteKind::from_name(n)).collect()
    }
}
