//! The `reverie/status` payload: what the server is doing, for status bars and `reverie.status`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerState {
    /// Building the index (initial, or a re-index).
    #[default]
    Indexing,
    /// The user is away; background thinking may run.
    Idle,
    /// Thinking (sleep-time jobs running).
    Thinking,
    /// Indexed and the user is active.
    Ready,
    /// Something failed; `message` says what.
    Error,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusParams {
    pub state: ServerState,
    /// Indexed source files.
    pub files: usize,
    /// Learned notes (fresh + stale); none until the sleep-time engine runs.
    pub notes: usize,
    pub stale: usize,
    pub message: String,
    /// Incremented each time the server's view of the workspace changes (an index, a file change,
    /// an edit in an open buffer), so clients and tests can wait for "after my change".
    pub generation: u64,
    /// The semantic index as last built: definitions with a vector of all the snapshot's. Absent
    /// until an embedder is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semantic: Option<SemanticCounts>,
    /// Each idle job's last run (`semantic`, `history`, `adapter`, `notes`), by job name; only in
    /// the answer to a `reverie/status` request (notifications leave it out), and only the jobs that
    /// ever ran.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub jobs: std::collections::BTreeMap<String, crate::jobs::JobRun>,
}

/// How far the semantic index covers the code (`semantic index: 2,168 of 2,168 definitions`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SemanticCounts {
    /// Definitions with a vector.
    pub embedded: usize,
    /// Definitions in the snapshot.
    pub definitions: usize,
}
