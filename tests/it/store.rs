//! The store: reopening keeps what was written; an incompatible or corrupt store is rebuilt with a
//! reason; an undecodable record is treated as absent, never served and never a crash.

use reverie::index::{Mode, index};
use reverie::store::{OpenOutcome, Store};
use reverie::workspace::WalkOptions;

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.py"), "def alpha():\n    return beta()\n").unwrap();
    std::fs::write(dir.path().join("b.py"), "def beta():\n    return 1\n").unwrap();
    dir
}

fn run(store: &Store, root: &std::path::Path) -> reverie::index::IndexReport {
    index(store, &[root.to_path_buf()], &WalkOptions::default(), Mode::Incremental, &|_| {}).unwrap()
}

/// A store of `ws` indexed once, then changed underneath by `tamper` with sled itself (what another
/// version, a crash or a bad disk leaves): the store's folder, under `cache`.
fn indexed_then_tampered(
    ws: &std::path::Path,
    cache: &std::path::Path,
    tamper: impl FnOnce(&sled::Db),
) -> std::path::PathBuf {
    let dir = cache.join("store");
    {
        let (store, _) = Store::open(&dir).unwrap();
        run(&store, ws);
    }
    let db = sled::open(&dir).unwrap();
    tamper(&db);
    db.flush().unwrap();
    dir
}

#[test]
fn reopening_keeps_the_index() {
    let ws = workspace();
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("store");
    {
        let (store, outcome) = Store::open(&dir).unwrap();
        assert_eq!(outcome, OpenOutcome::Created);
        assert_eq!(run(&store, ws.path()).parsed, 2);
    }
    let (store, outcome) = Store::open(&dir).unwrap();
    assert_eq!(outcome, OpenOutcome::Existing);
    let report = run(&store, ws.path());
    assert_eq!((report.parsed, report.unchanged + report.rehashed), (0, 2));
    assert_eq!(report.definitions, 2);
    // From scratch (the server's reverie.reindex): every file parsed again, the graph ranked again,
    // the same facts; and the summary says so.
    let report =
        index(&store, &[ws.path().to_path_buf()], &WalkOptions::default(), Mode::FromScratch, &|_| {}).unwrap();
    assert_eq!((report.parsed, report.unchanged + report.rehashed), (2, 0));
    assert!(report.graph_rebuilt);
    assert_eq!(report.definitions, 2);
    assert!(report.summary().starts_with("indexed 2 files from scratch in "), "{}", report.summary());
}

#[test]
fn another_schema_version_is_rebuilt() {
    let ws = workspace();
    let cache = tempfile::tempdir().unwrap();
    let dir = indexed_then_tampered(ws.path(), cache.path(), |db| {
        db.open_tree("meta").unwrap().insert("schema", &999u32.to_le_bytes()).unwrap();
    });
    let (store, outcome) = Store::open(&dir).unwrap();
    match outcome {
        OpenOutcome::Rebuilt(reason) => assert!(reason.contains("schema"), "{reason}"),
        other => panic!("expected a rebuild, got {other:?}"),
    }
    assert_eq!(run(&store, ws.path()).parsed, 2);
}

#[test]
fn undecodable_records_are_rebuilt_not_served() {
    let ws = workspace();
    let cache = tempfile::tempdir().unwrap();
    let dir = indexed_then_tampered(ws.path(), cache.path(), |db| {
        db.open_tree("files").unwrap().insert("a.py", &b"\xff\xff garbage"[..]).unwrap();
        let facts = db.open_tree("facts").unwrap();
        let keys: Vec<_> = facts.iter().keys().map(|k| k.unwrap()).collect();
        for key in keys {
            facts.insert(key, &b"\x01 not facts"[..]).unwrap();
        }
    });
    let (store, _) = Store::open(&dir).unwrap();
    // Reading never serves what does not decode.
    assert!(reverie::index::all_facts(&store).unwrap().is_empty());
    // The next index extracts both files again: a.py (its record was garbage) and b.py (its facts were).
    let report = run(&store, ws.path());
    assert_eq!(report.files, 2);
    assert_eq!(report.parsed, 2, "{report:?}");
    let facts = reverie::index::all_facts(&store).unwrap();
    assert_eq!(facts.len(), 2);
    for (key, facts) in &facts {
        assert!(!facts.definitions.is_empty(), "{key} has real facts");
    }
}

/// Facts no record points at are collected when files change or go, and a warm index with nothing
/// new does not walk the facts to find out (`Store::collect_garbage`).
#[test]
fn unreferenced_facts_are_collected_and_a_warm_index_finds_none_to_collect() {
    let ws = workspace();
    let cache = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(&cache.path().join("store")).unwrap();
    run(&store, ws.path());
    assert_eq!(store.facts_count(), 2);
    assert_eq!(store.collect_garbage().unwrap(), 0);
    std::fs::write(ws.path().join("a.py"), "def changed():\n    return 2\n").unwrap();
    assert_eq!(run(&store, ws.path()).parsed, 1);
    assert_eq!(store.facts_count(), 2, "the old facts of a.py are gone");
    assert_eq!(store.collect_garbage().unwrap(), 0);
    std::fs::remove_file(ws.path().join("b.py")).unwrap();
    run(&store, ws.path());
    assert_eq!(store.facts_count(), 1, "b.py's facts are gone with it");
    // Written again after a collection: the next collection looks again.
    std::fs::write(ws.path().join("b.py"), "def back():\n    pass\n").unwrap();
    run(&store, ws.path());
    std::fs::remove_file(ws.path().join("b.py")).unwrap();
    run(&store, ws.path());
    assert_eq!(store.facts_count(), 1);
}

/// A store written before the facts' keys were kept apart (no `facts-keys` tree) gets them at open:
/// its files are trusted, not parsed again.
#[test]
fn a_store_without_the_facts_keys_gets_them_at_open() {
    let ws = workspace();
    let cache = tempfile::tempdir().unwrap();
    let dir = indexed_then_tampered(ws.path(), cache.path(), |db| {
        db.drop_tree("facts-keys").unwrap();
        db.open_tree("meta").unwrap().remove("facts-keys").unwrap();
    });
    let (store, _) = Store::open(&dir).unwrap();
    assert_eq!(store.facts_count(), 2);
    let report = run(&store, ws.path());
    assert_eq!((report.parsed, report.files), (0, 2), "{report:?}");
}

/// A store another handle holds (a server while `reverie ask` runs) is refused with a message that
/// says so after a short wait, and never rebuilt: what the holder stored is all still there.
#[test]
fn a_store_in_use_is_refused_not_rebuilt() {
    let ws = workspace();
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("store");
    let (held, _) = Store::open(&dir).unwrap();
    assert_eq!(run(&held, ws.path()).parsed, 2);
    held.flush().unwrap();
    let err = format!("{:#}", Store::open(&dir).err().expect("the store is in use"));
    assert!(err.contains("is in use by another reverie process"), "{err}");
    let report = run(&held, ws.path());
    assert_eq!((report.parsed, report.definitions), (0, 2), "the holder's index is intact");
    drop(held);
    let (store, outcome) = Store::open(&dir).unwrap();
    assert_eq!(outcome, OpenOutcome::Existing);
    assert_eq!(run(&store, ws.path()).parsed, 0);
}

#[test]
fn an_unopenable_store_is_rebuilt() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("store");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("conf"), b"\x00\x01 definitely not sled").unwrap();
    std::fs::write(dir.join("db"), vec![0xAB; 4096]).unwrap();
    let (store, outcome) = Store::open(&dir).unwrap();
    assert!(matches!(outcome, OpenOutcome::Rebuilt(_)), "{outcome:?}");
    let ws = workspace();
    assert_eq!(run(&store, ws.path()).parsed, 2);
}

/// The search index files kept in the cache (`search/*.bm25`, the summary of the facts among them),
/// sorted.
fn kept_search_indexes(ws: &crate::util::Workspace) -> Vec<std::path::PathBuf> {
    let mut kept: Vec<std::path::PathBuf> = std::fs::read_dir(ws.cache_dir())
        .unwrap()
        .flat_map(|store| std::fs::read_dir(store.unwrap().path().join("search")).into_iter().flatten())
        .map(|entry| entry.unwrap().path())
        .collect();
    kept.sort();
    kept
}

#[test]
fn kept_search_indexes_follow_the_files_and_a_damaged_one_is_rebuilt() {
    let ws = crate::util::Workspace::with(&[
        ("net.py", "def connect(host):\n    raise TimeoutError('the handshake stalled on the socket')\n"),
        ("other.py", "def unrelated():\n    return 1\n"),
    ]);
    let question = "why is the handshake stalled?";
    let first = |ws: &crate::util::Workspace| {
        let answer = ws.json(&["ask", ".", question, "--no-llm"]);
        answer["context"][0]["path"].as_str().unwrap_or_default().to_string()
    };
    // Kept by the index, which has every file's facts in memory when it ranks them: the first
    // question reads them in place too.
    ws.json(&["index", "."]);
    let kept = kept_search_indexes(&ws);
    assert_eq!(kept.len(), 4, "the facts index, both full-text indexes and the facts' summary: {kept:?}");
    assert_eq!(first(&ws), "net.py");
    assert_eq!(kept_search_indexes(&ws), kept);
    // Read in place by the next question: the same answer, the same files.
    assert_eq!(first(&ws), "net.py");
    assert_eq!(kept_search_indexes(&ws), kept);

    // A file changed between index and ask: the fresh answer, from new files replacing the old.
    ws.write("net.py", "def connect(host):\n    return host\n");
    ws.write("other.py", "def unrelated():\n    raise TimeoutError('the handshake stalled again')\n");
    assert_eq!(first(&ws), "other.py");
    let fresh = kept_search_indexes(&ws);
    assert_eq!(fresh.len(), 4, "{fresh:?}");
    assert!(fresh.iter().all(|f| !kept.contains(f)), "{kept:?} → {fresh:?}");

    // Truncated, then overwritten with garbage: rebuilt with a line saying so, never a crash.
    for damage in [|b: &mut Vec<u8>| b.truncate(b.len() / 2), |b: &mut Vec<u8>| b.iter_mut().for_each(|x| *x ^= 0x5A)] {
        for file in &fresh {
            let mut bytes = std::fs::read(file).unwrap();
            damage(&mut bytes);
            std::fs::write(file, bytes).unwrap();
        }
        let out =
            ws.command(&["ask", ".", question, "--no-llm", "--format", "json"]).env("REVERIE_LOG", "warn").output();
        let out = out.unwrap();
        let log = crate::util::stderr(&out);
        assert!(out.status.success(), "{log}");
        assert_eq!(log.matches("is unreadable").count(), 4, "{log}");
        assert!(log.contains("rebuilding it"), "{log}");
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(answer["context"][0]["path"], "other.py", "{answer}");
        // Kept again, whole: the next question reads them without a word.
        let out = ws.command(&["ask", ".", question, "--no-llm"]).env("REVERIE_LOG", "warn").output().unwrap();
        assert!(!crate::util::stderr(&out).contains("unreadable"), "{}", crate::util::stderr(&out));
    }
}
