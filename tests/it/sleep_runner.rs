//! The runner in-process: a result computed for inputs that changed meanwhile is dropped; activity
//! stops a pass before the next job and cancels a slow call after the grace period.

use crate::util::openai_fake::{FakeOpenAi, Reply, valid_note};
use reverie::ledger::LedgerStore;
use reverie::llm::{LlmConfig, Provider};
use reverie::sleep::NoteStore;
use reverie::sleep::SleepConfig;
use reverie::sleep::{NoteKind, Outcome, ThinkOptions, Thinker};
use reverie::snapshot::Snapshot;
use reverie::store::Store;
use reverie::syntax::{Language, extract};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn snapshot(files: &[(&str, &str)]) -> Arc<Snapshot> {
    let map: BTreeMap<Arc<str>, Arc<reverie::syntax::FileFacts>> =
        files.iter().map(|(k, src)| (Arc::from(*k), Arc::new(extract(src.as_bytes(), Language::Python)))).collect();
    Arc::new(Snapshot::new(map))
}

fn provider(fake: &FakeOpenAi) -> Arc<reverie::llm::Resilient> {
    let config = LlmConfig {
        provider: reverie::llm::LlmProvider::OpenAi,
        model: "fake-model".into(),
        base_url: Some(fake.base_url()),
        max_retries: 0,
        ..LlmConfig::default()
    };
    reverie::llm::from_config(&config).unwrap().unwrap()
}

fn summaries_only() -> SleepConfig {
    SleepConfig {
        notes: vec![reverie::sleep::NoteKind::FileSummary],
        grace_period: Duration::from_millis(200),
        ..SleepConfig::default()
    }
}

#[tokio::test]
async fn a_result_for_outdated_inputs_is_dropped() {
    let current = Arc::new(Mutex::new(snapshot(&[("a.py", "def alpha():\n    return 1\n")])));
    let edited = snapshot(&[("a.py", "def alpha():\n    return 2\n")]);
    let fake = FakeOpenAi::start(|r| Reply::Text(valid_note(r)));
    {
        // The file changes while the model is answering.
        let current = current.clone();
        fake.set_responder(move |r| {
            *current.lock().unwrap() = edited.clone();
            Reply::Text(valid_note(r))
        });
    }
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path()).unwrap();
    let provider = provider(&fake);
    let config = summaries_only();
    let snapshot_fn = {
        let current = current.clone();
        move || current.lock().unwrap().clone()
    };
    let source = |_: &str| Some("def alpha():\n    return 1\n".to_string());
    let thinker = Thinker {
        store: &store,
        provider: Some(provider.as_ref() as &dyn Provider),
        config: &config,
        snapshot: &snapshot_fn,
        source: &source,
        signals: Default::default(),
        asked: vec![],
        past: None,
    };
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let outcomes = Mutex::new(Vec::new());
    let report = thinker
        .think(&ThinkOptions::default(), rx, &|e| {
            if let reverie::sleep::ThinkEvent::Finished { outcome, .. } = e {
                outcomes.lock().unwrap().push(outcome.clone())
            }
        })
        .await;
    assert_eq!(report.outdated, 1, "{report:?}");
    assert_eq!(outcomes.into_inner().unwrap(), [Outcome::Outdated]);
    assert!(store.note(NoteKind::FileSummary, "a.py").unwrap().is_none(), "nothing stored for the old inputs");
}

#[tokio::test]
async fn activity_stops_new_jobs_and_cancels_a_slow_call_after_the_grace_period() {
    let snap = snapshot(&[("a.py", "def alpha():\n    pass\n"), ("b.py", "def beta():\n    pass\n")]);
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let (seen_tx, seen_rx) = std::sync::mpsc::channel::<()>();
    let seen_tx = Mutex::new(seen_tx);
    let fake = FakeOpenAi::start(move |r| {
        let _ = seen_tx.lock().unwrap().send(());
        // Hold the answer until the test releases it (never, here): a slow model.
        let _ = release_rx.lock().unwrap().recv_timeout(Duration::from_secs(30));
        Reply::Text(valid_note(r))
    });
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path()).unwrap();
    let provider = provider(&fake);
    let config = summaries_only();
    let snapshot_fn = move || snap.clone();
    let source = |_: &str| None;
    let thinker = Thinker {
        store: &store,
        provider: Some(provider.as_ref() as &dyn Provider),
        config: &config,
        snapshot: &snapshot_fn,
        source: &source,
        signals: Default::default(),
        asked: vec![],
        past: None,
    };

    // Already active: nothing starts.
    let (_tx, rx) = tokio::sync::watch::channel(true);
    let report = thinker.think(&ThinkOptions::default(), rx, &|_| {}).await;
    assert_eq!(report.stored + report.invalid + report.provider_errors, 0);
    assert_eq!(report.stopped.as_deref(), Some("the user is active"));
    assert!(fake.requests().is_empty());

    // Becomes active while the model is slow: the call is cancelled after the grace period.
    let (tx, rx) = tokio::sync::watch::channel(false);
    let started = std::time::Instant::now();
    let options = ThinkOptions::default();
    let no_events = |_: reverie::sleep::ThinkEvent| {};
    let think = thinker.think(&options, rx, &no_events);
    let trigger = async {
        tokio::task::spawn_blocking(move || seen_rx.recv_timeout(Duration::from_secs(30)))
            .await
            .unwrap()
            .expect("the request reached the server");
        tx.send(true).unwrap();
    };
    let (report, _) = tokio::join!(think, trigger);
    assert!(report.stopped.as_deref().unwrap_or("").contains("cancelled"), "{report:?}");
    assert_eq!(fake.requests().len(), 1, "no second job started");
    assert!(started.elapsed() < Duration::from_secs(20), "cancelled, not waited out");
    assert!(
        store.note(NoteKind::FileSummary, "a.py").unwrap().is_none()
            && store.note(NoteKind::FileSummary, "b.py").unwrap().is_none()
    );
    let ledger = store.ledger(0).unwrap();
    assert_eq!(ledger.len(), 1, "the cancelled call is still accounted for");
    drop(release_tx);
}
