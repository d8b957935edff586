//! The mined history as the "past changes" channel's index (`search::PastChanges`): each commit's
//! message searched, its files voted for. Built once per loaded `History` (the server keeps it with
//! the snapshot; `eval --ranking --checkouts` at each base commit).

use super::History;
use crate::search::{PastChanges, PastCommit};
use std::sync::Arc;

/// The searchable form of `history` (its commits newest first, so ties go to the newer).
pub fn past_changes(history: &History) -> PastChanges {
    PastChanges::new(history.commits().map(|c| PastCommit {
        id: c.id(),
        subject: c.subject().to_string(),
        message: c.message().to_string(),
        files: c.files().map(str::to_string).collect(),
        files_touched: c.files_touched(),
    }))
}

/// The stored history as the channel's index (reads every mined commit: seconds on Django's 31k);
/// `None` while nothing is mined.
pub fn load_past_changes(store: &crate::store::Store) -> anyhow::Result<Option<Arc<PastChanges>>> {
    let started = std::time::Instant::now();
    let history = super::load(store)?;
    tracing::debug!("{} mined commits read by {:?}", history.len(), started.elapsed());
    let past = (!history.is_empty()).then(|| Arc::new(past_changes(&history)));
    tracing::info!(
        "past changes searchable by {:?}: {} commits, {:.1} MB (the history read {:.1} MB)",
        started.elapsed(),
        history.len(),
        past.as_ref().map_or(0, |p| p.heap_bytes()) as f64 / 1e6,
        history.heap_bytes() as f64 / 1e6
    );
    Ok(past)
}
