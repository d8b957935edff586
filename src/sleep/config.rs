//! The `[sleep]` section of the configuration: what reverie may spend thinking ahead. Owned here,
//! read by `config` (which assembles every section) and by the runner.

use super::NoteKind;
use serde::{Deserialize, Deserializer};

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
    /// Which notes to write, by name: summary, playbook, questions, module, overview.
    #[serde(deserialize_with = "de_note_kinds")]
    pub notes: Vec<NoteKind>,
}

impl Default for SleepConfig {
    fn default() -> Self {
        SleepConfig {
            tokens_per_hour: 200_000,
            tokens_per_day: 2_000_000,
            job_prompt_tokens: 1500,
            job_completion_tokens: 400,
            grace_period: std::time::Duration::from_secs(2),
            notes: NoteKind::ALL.to_vec(),
        }
    }
}

impl SleepConfig {
    /// The note kinds to write.
    pub fn kinds(&self) -> Vec<NoteKind> {
        self.notes.clone()
    }
}

/// `notes = ["summary", "playbook"]`: each name one of `NoteKind::name`'s (an unknown one is an error
/// that lists them).
fn de_note_kinds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<NoteKind>, D::Error> {
    Vec::<String>::deserialize(deserializer)?
        .iter()
        .map(|name| crate::units::one_of(name, "a note kind", &NoteKind::ALL, NoteKind::name))
        .collect::<Result<_, _>>()
        .map_err(serde::de::Error::custom)
}
