//! The server's one background event loop: everything slow — the initial index, watcher batches,
//! re-extracting an edited buffer, rebuilding the snapshot — happens here, one round of coalesced
//! events at a time, off the request path, on blocking threads. Each round ends with a new snapshot
//! swapped in whole (`publish_snapshot`); requests keep reading the previous one until then.

use super::pass::{Progress, Work};
use super::session::Session;
use super::status::ServerState;
use crate::snapshot::Snapshot;
use crate::store::Store;
use crate::syntax::FileFacts;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tower_lsp_server::ls_types::MessageType;

/// What the event loop works on.
#[derive(Debug)]
pub enum Event {
    /// Walk and index the whole workspace: at start-up incrementally (a warm start reads nothing
    /// that did not change), and from scratch when `asked` (`reverie.reindex`: every file parsed
    /// again, and the result shown to the user as a message too).
    Reindex { asked: bool },
    /// Files or directories changed on disk.
    Paths(Vec<PathBuf>),
    /// An open buffer changed; its facts must be re-extracted from the buffer.
    Buffer(String),
    /// A buffer was closed; its file's facts come from disk again.
    Closed(PathBuf),
}

pub(super) async fn run(session: Arc<Session>, mut receiver: mpsc::UnboundedReceiver<Event>) {
    while let Some(first) = receiver.recv().await {
        // Coalesce everything that is already queued into one round of work.
        let mut events = vec![first];
        while let Ok(next) = receiver.try_recv() {
            events.push(next);
        }
        let reindexing = events.iter().any(|e| matches!(e, Event::Reindex { .. }));
        if reindexing {
            let asked = events.iter().any(|e| matches!(e, Event::Reindex { asked: true }));
            reindex(&session, asked).await;
        }
        let mut paths: Vec<PathBuf> = Vec::new();
        let mut buffers: Vec<String> = Vec::new();
        for event in events {
            match event {
                Event::Reindex { .. } => {}
                Event::Paths(p) if !reindexing => paths.extend(p),
                Event::Closed(p) if !reindexing => paths.push(p),
                // A re-index applies every open buffer itself.
                Event::Buffer(uri) if !reindexing => buffers.push(uri),
                Event::Buffer(_) => {}
                Event::Paths(_) | Event::Closed(_) => {}
            }
        }
        buffers.sort();
        buffers.dedup();
        if !paths.is_empty() || !buffers.is_empty() {
            apply_changes(&session, paths, buffers).await;
        }
    }
}

/// A full index with `$/progress`, then a fresh snapshot. When the user `asked` for it, every file is
/// parsed again and the result is also shown as a message, for clients that show no progress.
async fn reindex(session: &Arc<Session>, asked: bool) {
    let roots = session.roots();
    if roots.is_empty() {
        let message = "no workspace folder: only open files are known";
        if asked {
            session.client().show_message(MessageType::INFO, format!("reverie: {message}")).await;
        }
        session.set_status(ServerState::Ready, Some(0), Some(message.into()));
        return;
    }
    session.set_status(ServerState::Indexing, None, Some(format!("indexing {}", describe_roots(&roots))));
    let store = match open_store(session, &roots).await {
        Ok(store) => store,
        Err(err) => {
            let message = format!("cannot open the cache: {err:#}; set REVERIE_CACHE_DIR to a writable folder");
            session.client().show_message(MessageType::ERROR, &message).await;
            session.set_status(ServerState::Error, None, Some(message));
            return;
        }
    };
    let rules = session.rules();
    rules.clear();
    {
        // Adding inotify watches to a large tree takes a while: not on an async worker.
        let session = session.clone();
        let watch_roots = roots.clone();
        let _ = tokio::task::spawn_blocking(move || session.start_watcher(&watch_roots)).await;
    }

    let progress = Progress::begin(session, Work::Indexing).await;
    let (sender, mut receiver) = mpsc::unbounded_channel::<(usize, usize)>();
    let walk_options = session.walk_options();
    let mode = if asked { crate::index::Mode::FromScratch } else { crate::index::Mode::Incremental };
    let task_store = store.clone();
    let task_roots = roots.clone();
    let work = tokio::task::spawn_blocking(move || {
        let last = std::sync::Mutex::new(Instant::now());
        let report = crate::index::index(&task_store, &task_roots, &walk_options, mode, &|event| {
            if let crate::index::Progress::Checked { done, total, .. } = event {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                if done == total || last.elapsed().as_millis() >= 100 {
                    *last = Instant::now();
                    let _ = sender.send((done, total));
                }
            }
        })?;
        let snapshot = crate::index::snapshot(&task_store)?;
        Ok::<_, anyhow::Error>((report, snapshot))
    });
    while let Some((done, total)) = receiver.recv().await {
        progress.report(&format!("{done}/{total} files"), (done * 100 / total.max(1)) as u32).await;
    }
    let result = work.await.map_err(anyhow::Error::from).and_then(|r| r);
    match result {
        Ok((report, snapshot)) => {
            let count = snapshot.files.len();
            let snapshot = Arc::new(snapshot);
            session.replace_snapshot(snapshot.clone());
            // The search indexes and the learned context are built before "ready" (off the async
            // threads), so the first question after it does not wait for them (seconds on a big
            // workspace). Requests meanwhile read this snapshot and build nothing twice.
            let learning = session.clone();
            let _ = tokio::task::spawn_blocking(move || {
                snapshot.facts_index();
                snapshot.text_index();
                learning.learned();
            })
            .await;
            // Open buffers win over the disk.
            let open: Vec<String> = session.documents().keys().cloned().collect();
            if !open.is_empty() {
                apply_changes(session, Vec::new(), open).await;
            }
            let message = report.summary();
            // The editors' log (VS Code's output channel at its default level) says it too.
            tracing::info!("{message}");
            // Ready before saying so: a `reverie.status` asked on the message reads the new state.
            session.next_generation(None);
            session.set_status(ServerState::Ready, Some(count), Some(message.clone()));
            progress.end(&message).await;
            if asked {
                session.client().show_message(MessageType::INFO, format!("reverie: {message}")).await;
            }
            session.facts_changed();
            // The user went idle while we indexed: think now (or report idle).
            session.after_index();
        }
        Err(err) => {
            let message = format!("indexing failed: {err:#}");
            tracing::error!("{message}");
            progress.end(&message).await;
            session.client().show_message(MessageType::ERROR, &message).await;
            session.set_status(ServerState::Error, None, Some(message));
        }
    }
}

async fn open_store(session: &Session, roots: &[PathBuf]) -> anyhow::Result<Arc<Store>> {
    if let Some(store) = session.store() {
        return Ok(store);
    }
    let dir = crate::dirs::cache_root(session.cache_dir())?.join(crate::store::workspace_id(roots));
    let (store, outcome) = tokio::task::spawn_blocking(move || Store::open(&dir)).await??;
    if let crate::store::OpenOutcome::Rebuilt(reason) = outcome {
        session.client().log_message(MessageType::WARNING, reason).await;
    }
    Ok(session.keep_store(store))
}

/// Applies disk changes and re-extracts changed buffers, then swaps in a new snapshot.
async fn apply_changes(session: &Arc<Session>, paths: Vec<PathBuf>, buffers: Vec<String>) {
    let (Some(store), Some(rules)) = (session.store(), session.rules_if_made()) else {
        // Not indexed yet (or no workspace): buffers still count.
        if !buffers.is_empty() {
            refresh_buffers(session, Vec::new(), Vec::new(), buffers).await;
        }
        return;
    };
    let options = session.walk_options();
    // Paths of open buffers are handled from the buffer, not the disk.
    let open_paths: Vec<PathBuf> =
        session.documents().keys().filter_map(|uri| uri.parse().ok().and_then(|u| super::proto::path_of(&u))).collect();
    let disk_paths: Vec<PathBuf> = paths.into_iter().filter(|p| !open_paths.contains(p)).collect();
    let update = if disk_paths.is_empty() {
        crate::index::Update::default()
    } else {
        match tokio::task::spawn_blocking(move || crate::index::update_paths(&store, &rules, &options, &disk_paths))
            .await
        {
            Ok(Ok(update)) => update,
            Ok(Err(err)) => {
                tracing::warn!("updating changed files failed: {err:#}");
                crate::index::Update::default()
            }
            Err(err) => {
                tracing::warn!("updating changed files panicked: {err}");
                crate::index::Update::default()
            }
        }
    };
    let changed: Vec<(String, Arc<FileFacts>)> = update.changed.into_iter().map(|(k, f)| (k, Arc::new(f))).collect();
    refresh_buffers(session, changed, update.removed, buffers).await;
}

async fn refresh_buffers(
    session: &Arc<Session>,
    mut changed: Vec<(String, Arc<FileFacts>)>,
    removed: Vec<String>,
    buffers: Vec<String>,
) {
    for uri in buffers {
        let (input, key) = {
            let documents = session.documents();
            let Some(doc) = documents.get(&uri).filter(|doc| doc.in_workspace) else { continue };
            let Some(language) = doc.language else { continue };
            // Parse incrementally from the edited old tree, off the request path.
            let input = doc.parse_input().unwrap_or_else(|| (doc.text.clone(), doc.version, language, None));
            (input, doc.key.clone())
        };
        let (text, version, language, old_tree) = input;
        let parsed = tokio::task::spawn_blocking(move || {
            let tree = crate::syntax::parse(text.as_bytes(), language, old_tree.as_ref())?;
            let facts = crate::syntax::extract_from_tree(text.as_bytes(), language, &tree);
            Some((tree, facts))
        })
        .await;
        let Ok(Some((tree, facts))) = parsed else { continue };
        // A result for an outdated version is dropped: a newer Buffer event is queued.
        let mut documents = session.documents();
        if let Some(doc) = documents.get_mut(&uri).filter(|d| d.version == version) {
            doc.install_tree(version, tree);
            drop(documents);
            changed.push((key, Arc::new(facts)));
        }
    }
    if changed.is_empty() && removed.is_empty() {
        return;
    }
    let base = session.snapshot();
    let snapshot = tokio::task::spawn_blocking(move || base.with_changes(changed, &removed)).await;
    if let Ok(snapshot) = snapshot {
        publish_snapshot(session, snapshot);
    }
}

/// Swaps in a new snapshot and tells the client (status with the next generation); the search
/// indexes, the learned context and the semantic index follow it off the request path.
fn publish_snapshot(session: &Arc<Session>, snapshot: Snapshot) {
    let snapshot = Arc::new(snapshot);
    let state = session.publish(snapshot.clone());
    // Build the search indexes now, off the request path, so the first question does not wait.
    tokio::task::spawn_blocking(move || {
        snapshot.facts_index();
        snapshot.text_index();
    });
    session.set_status(state, None, None);
    // Rebuild the learned context off the request path, so hover finds it current.
    if session.store().is_some() {
        let learning = session.clone();
        tokio::task::spawn_blocking(move || learning.learned());
        session.facts_changed();
    }
}

/// The workspace folders, for messages: `~/src/app`, or `3 folders`.
fn describe_roots(roots: &[PathBuf]) -> String {
    match roots {
        [root] => {
            let home = std::env::var_os("HOME").map(PathBuf::from);
            match home.as_deref().and_then(|home| root.strip_prefix(home).ok()) {
                Some(under_home) => format!("~/{}", under_home.display()),
                None => root.display().to_string(),
            }
        }
        roots => format!("{} folders", roots.len()),
    }
}
