//! End to end with the real local model (llama.cpp in-process, SmolLM2-135M-Instruct Q4_1):
//! `reverie think` on a small workspace stores validated notes of every kind with a ledger of real
//! token counts, and `reverie ask` answers with it. A 135M model writes weak prose, so this checks
//! structure, anchors and accounting, not eloquence.
//!
//! Needs `--features local` and the model (`scripts/fetch-model.sh`, which tests/run.sh runs). Without
//! the model the test says how to get it and passes, unless REVERIE_REQUIRE_TOOLS=1 (CI).

#![cfg(feature = "local")]

use crate::util::Workspace;

#[test]
fn think_and_ask_with_the_local_model() {
    let Some(model) = crate::util::test_model() else { return };
    let ws = Workspace::with(&[
        (
            "pkg/cache.py",
            "class Cache:\n    \"\"\"A small in-memory cache.\"\"\"\n\n    def __init__(self):\n        self.items = {}\n\n    def get(self, key):\n        if key not in self.items:\n            raise KeyError(\"no such key in the cache\")\n        return self.items[key]\n\n    def put(self, key, value):\n        self.items[key] = value\n",
        ),
        (
            "app.py",
            "from pkg.cache import Cache\n\n\ndef main():\n    cache = Cache()\n    cache.put(\"a\", 1)\n    return cache.get(\"a\")\n",
        ),
    ]);
    // The README's main job: no provider configured, the model given on the command line. The
    // config only keeps the test quick (one thread, short notes) and repeatable (a fixed seed).
    ws.write(
        "reverie.toml",
        "[llm]\nthreads = 1\nseed = 7\ncontext_tokens = 4096\ntotal_timeout = \"300s\"\n[sleep]\njob_prompt_tokens = 900\njob_completion_tokens = 300\n",
    );
    let model = model.to_str().unwrap();
    let result = ws.json(&["think", ".", "--local-model", model]);
    println!("{result}");
    let report = &result["report"];
    // 2 files × 3 kinds + 2 modules + 1 overview.
    assert_eq!(report["planned"], 9, "{result}");
    assert!(report["stored"].as_u64().unwrap() >= 7, "most notes validate with grammar-constrained output: {result}");
    let ledger = &result["ledger"]["sleep"];
    assert!(ledger["calls"].as_u64().unwrap() >= 9);
    assert!(ledger["prompt_tokens"].as_u64().unwrap() > 1000, "real prompt token counts: {result}");
    assert!(ledger["completion_tokens"].as_u64().unwrap() > 50, "{result}");
    assert_eq!(ledger["estimated_calls"], 0, "the local model reports real counts");
    // Every kind of note is there.
    let dry = ws.json(&["think", ".", "--dry-run", "--local-model", model]);
    assert_eq!(dry["notes"]["stale"], 0);
    let asked =
        ws.run(&["ask", ".", "how does the cache handle a missing key?", "--local-model", model, "--format", "json"]);
    let said = crate::util::stderr(&asked);
    assert!(asked.status.success(), "{said}");
    let answer: serde_json::Value = serde_json::from_slice(&asked.stdout).unwrap();
    println!("{answer}");
    // The context is sized to the model's measured speed (`llm.answer_time`), and kept to.
    let budget: usize = said
        .split(" tokens of context")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("ask says how it sized the context: {said}"));
    let sent: u64 = answer["context"].as_array().unwrap().iter().map(|c| c["tokens"].as_u64().unwrap()).sum();
    assert!(sent as usize <= budget, "{sent} tokens of context sent, {budget} allowed");
    // The model answered; its prose is shown, or set aside when it named mostly code that is not in
    // the workspace (a 135M model may: then the ranked context stands in, `source: context`).
    let set_aside = answer["set_aside"].as_bool().unwrap_or(false);
    assert!(answer["source"] == "model" || set_aside, "{answer}");
    assert!(answer["usage"]["test_prompt_tokens"].as_u64().unwrap() > 0);
    let text = answer["answer"].as_str().unwrap();
    assert!(!text.trim().is_empty());
    // The repetition penalty keeps a small model from saying the same sentence over and over.
    let mut sentences = std::collections::HashMap::new();
    for sentence in text.split(['.', '\n']).map(str::trim).filter(|s| s.len() > 20) {
        *sentences.entry(sentence).or_insert(0) += 1;
    }
    let most = sentences.values().max().copied().unwrap_or(0);
    assert!(most <= 2, "a sentence comes {most} times: {text}");
    assert_eq!(answer["context"][0]["path"], "pkg/cache.py", "{answer}");
}
