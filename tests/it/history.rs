//! The project's history on the real binary: `reverie think` with no chat model mines it (and the
//! other idle work that needs no model), says the notes need a model, and succeeds; `reverie status`
//! lists each idle job's last run (the adapter's with an embedder). A later commit on another branch and
//! a stash are never mined.

use crate::util::{Workspace, commit, git};

/// Two commits on `main`, a later one on `other`, a stash.
fn project() -> Workspace {
    let ws = Workspace::with(&[("shop/cart.py", "def total(items):\n    return sum(items)\n")]);
    git(&ws, &["init", "-q", "-b", "main"]);
    commit(&ws, "Added the cart.");
    ws.write("shop/cart.py", "def total(items):\n    return sum(i.price for i in items)\n");
    commit(&ws, "Fixed #41 -- total() summed items, not prices.");
    git(&ws, &["checkout", "-q", "-b", "other"]);
    ws.write("shop/later.py", "def later():\n    pass\n");
    commit(&ws, "A later commit on another branch.");
    git(&ws, &["checkout", "-q", "main"]);
    ws.write("shop/cart.py", "def stashed():\n    pass\n");
    git(&ws, &["stash", "-q"]);
    ws
}

#[test]
fn think_without_a_model_mines_the_history_says_notes_need_one_and_succeeds() {
    let ws = project();
    let json = ws.json(&["think", "."]);
    assert_eq!(json["history"]["commits"], 2, "{json}");
    assert_eq!(json["history"]["new"], 2, "{json}");
    assert_eq!(json["notes"]["skipped"], "no chat model configured", "{json}");
    assert!(!json.to_string().contains("another branch"), "only what HEAD reaches: {json}");

    let text = ws.ok(&["think", "."]);
    assert!(text.contains("history: 2 commits, 0 new, 0 dropped"), "{text}");
    let notes: Vec<&str> = text.lines().filter(|l| l.starts_with("notes:")).collect();
    assert_eq!(notes.len(), 1, "{text}");
    assert!(notes[0].contains("need a chat model") && notes[0].contains("[llm]"), "{text}");

    let status = ws.json(&["status", "."]);
    let history = &status["idle_jobs"]["history"];
    assert_eq!((history["done"].as_u64(), history["pending"].as_u64()), (Some(2), Some(0)), "{status}");
    assert_eq!(history["outcome"], "done", "{status}");
    assert!(history["seconds"].as_f64().is_some(), "{status}");
    assert!(status["idle_jobs"]["notes"].is_null(), "{status}");
    let text = ws.ok(&["status", "."]);
    assert!(text.contains("history   done 2 commits · pending 0 · last run"), "{text}");
    assert!(text.contains("notes     never run (needs a chat model"), "{text}");
}

#[test]
fn a_new_commit_is_mined_on_the_next_think() {
    let ws = project();
    ws.ok(&["think", "."]);
    ws.write("shop/tax.py", "def vat(amount):\n    return amount * 0.2\n");
    commit(&ws, "Added VAT.");
    let json = ws.json(&["think", "."]);
    assert_eq!((json["history"]["commits"].as_u64(), json["history"]["new"].as_u64()), (Some(3), Some(1)), "{json}");
}

#[test]
fn outside_git_or_without_git_think_says_why_there_is_no_history_and_succeeds() {
    let ws = Workspace::with(&[("a.py", "def f():\n    pass\n")]);
    let text = ws.ok(&["think", "."]);
    assert!(text.contains("is not in a git repository"), "{text}");

    let project = project();
    let empty_path = tempfile::tempdir().unwrap();
    let out = project.command(&["think", "."]).env("PATH", empty_path.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", crate::util::stderr(&out));
    assert!(stdout.contains("git was not found"), "{stdout}");
}

/// With an embedder and no chat model, `think` also runs the adapter job after the embeddings and
/// the history, reports it (`"adapter"` in JSON, one line in text) and `status` lists its last run
/// with the held-out verdict. A project this small has too few pairs: the adapter says so and stays off.
#[test]
fn think_without_a_model_fits_the_adapter_and_status_shows_it() {
    let Some(model) = crate::util::test_embed_model() else { return };
    let ws = project();
    ws.write("reverie.toml", format!("[embed]\nmodel = {:?}\n", model.display().to_string()));
    let json = ws.json(&["think", "."]);
    let adapter = &json["adapter"];
    assert!(adapter.is_object(), "{json}");
    assert_eq!(adapter["adopted"], false, "{json}");
    assert!(adapter["summary"].as_str().unwrap().starts_with("not used: too few pairs"), "{json}");
    assert_eq!(json["notes"]["skipped"], "no chat model configured", "{json}");

    let text = ws.ok(&["think", "."]);
    assert!(text.lines().any(|l| l.starts_with("adapter: not used: too few pairs")), "{text}");
    let status = ws.json(&["status", "."]);
    assert!(status["idle_jobs"]["adapter"]["outcome"].as_str().unwrap().contains("too few pairs"), "{status}");
    let text = ws.ok(&["status", "."]);
    assert!(text.contains("adapter   done 0 epochs"), "{text}");
}
