//! The history in the store (the store keeps its JSON; this is its typed view): one `Commit` per
//! (root, commit) and one `RootState` per root — the HEAD mined last, whether that pass finished,
//! and the commits in `git rev-list` order.

use super::Commit;
use crate::store::{RecordTree, Store};
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// What the miner knows about one root's history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootState {
    /// The HEAD the last pass mined towards.
    pub head: Option<String>,
    /// Whether every commit of `order` was mined (a cancelled pass leaves this false).
    pub complete: bool,
    /// The commits reachable from `head`, newest first (`git rev-list` order), at most the cap.
    pub order: Vec<String>,
    /// A shallow clone: history stops at its graft points.
    #[serde(default)]
    pub shallow: bool,
    /// More commits were reachable than the cap; the oldest were left out.
    #[serde(default)]
    pub capped: bool,
}

/// The store key of a root's commit.
pub fn commit_key(prefix: &str, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + 1 + id.len());
    key.extend_from_slice(prefix.as_bytes());
    key.push(0);
    key.extend_from_slice(id.as_bytes());
    key
}

fn root_key(prefix: &str) -> Vec<u8> {
    let mut key = prefix.as_bytes().to_vec();
    key.push(0);
    key
}

pub trait HistoryStore {
    fn root_state(&self, prefix: &str) -> Result<Option<RootState>>;
    fn put_root_state(&self, prefix: &str, state: &RootState) -> Result<()>;
    /// Every root's state, by prefix.
    fn root_states(&self) -> Result<Vec<(String, RootState)>>;
    /// The ids of a root's stored commits.
    fn stored_commit_ids(&self, prefix: &str) -> Result<Vec<String>>;
    /// A root's stored commits.
    fn stored_commits(&self, prefix: &str) -> Result<Vec<Commit>>;
    fn put_commits(&self, prefix: &str, commits: &[Commit]) -> Result<()>;
    fn remove_commits(&self, prefix: &str, ids: &[String]) -> Result<()>;
}

impl HistoryStore for Store {
    fn root_state(&self, prefix: &str) -> Result<Option<RootState>> {
        self.get_record(RecordTree::HistoryState, &root_key(prefix))
    }

    fn put_root_state(&self, prefix: &str, state: &RootState) -> Result<()> {
        self.put_record(RecordTree::HistoryState, &root_key(prefix), state)
    }

    fn root_states(&self) -> Result<Vec<(String, RootState)>> {
        Ok(self
            .records_from(RecordTree::HistoryState, &[])?
            .into_iter()
            .map(|(key, state)| (String::from_utf8_lossy(key.strip_suffix(&[0]).unwrap_or(&key)).into_owned(), state))
            .collect())
    }

    fn stored_commit_ids(&self, prefix: &str) -> Result<Vec<String>> {
        let start = root_key(prefix).len();
        Ok(self
            .record_keys(RecordTree::History, &root_key(prefix))?
            .into_iter()
            .map(|key| String::from_utf8_lossy(&key[start..]).into_owned())
            .collect())
    }

    fn stored_commits(&self, prefix: &str) -> Result<Vec<Commit>> {
        Ok(self.records_with_prefix(RecordTree::History, &root_key(prefix))?.into_iter().map(|(_, c)| c).collect())
    }

    fn put_commits(&self, prefix: &str, commits: &[Commit]) -> Result<()> {
        let records: Vec<(Vec<u8>, &Commit)> = commits.iter().map(|c| (commit_key(prefix, &c.id), c)).collect();
        self.put_records(RecordTree::History, &records)
    }

    fn remove_commits(&self, prefix: &str, ids: &[String]) -> Result<()> {
        let keys: Vec<Vec<u8>> = ids.iter().map(|id| commit_key(prefix, id)).collect();
        self.remove_records(RecordTree::History, &keys)
    }
}

/// Every mined commit of every root (what the adapter learns from).
pub fn all_commits(store: &Store) -> Result<Vec<Commit>> {
    let mut commits = Vec::new();
    for (prefix, _) in store.root_states()? {
        commits.extend(store.stored_commits(&prefix)?);
    }
    Ok(commits)
}
