//! The past-changes channel on the real binary: after `reverie think` mined the history, `ask`
//! lifts the files that past commits like the question changed and says which commits; and the
//! leakage rule — a later commit on another branch, however like the question, changes no answer.
//! In the server, once the idle history pass ran, hover names the files changed together with the
//! definition's file (co-change), and "How to debug" tells the past fixes of the symbol's file.

use crate::util::lsp::LspClient;
use crate::util::{Workspace, commit, git};
use serde_json::{Value, json};

const QUESTION: &str = "the discount is applied twice at checkout";

/// A shop whose discount code shares no word with the question; its history says where discounts
/// were fixed before.
fn shop() -> Workspace {
    let ws = Workspace::with(&[
        ("shop/pricing.py", "def reduce(amount, rate):\n    return amount * (1 - rate)\n"),
        ("shop/cart.py", "def add(cart, item):\n    cart.append(item)\n"),
        ("shop/mail.py", "def send(to, body):\n    print(to, body)\n"),
    ]);
    git(&ws, &["init", "-q", "-b", "main"]);
    commit(&ws, "Added the shop.");
    ws.write("shop/pricing.py", "def reduce(amount, rate):\n    return round(amount * (1 - rate), 2)\n");
    commit(&ws, "Fixed #12 -- The discount was applied twice when the checkout was retried.");
    ws.write("shop/mail.py", "def send(to, body):\n    print(to, body, sep='\\n')\n");
    commit(&ws, "Mails put the body on its own line.");
    ws
}

/// The cited places, best first, and the answer's text (which gives each one's reason).
fn context(ws: &Workspace) -> (Vec<String>, String) {
    let json: Value = ws.json(&["ask", ".", QUESTION, "--no-llm"]);
    let places = json["context"]
        .as_array()
        .expect("a context")
        .iter()
        .map(|i| format!("{}:{}-{}", i["path"].as_str().unwrap(), i["start_line"], i["end_line"]))
        .collect();
    (places, json["answer"].as_str().unwrap().to_string())
}

#[test]
fn similar_past_fixes_lift_what_they_changed_and_say_so() {
    let ws = shop();
    ws.ok(&["think", "."]);
    let (places, answer) = context(&ws);
    assert_eq!(places[0], "shop/pricing.py:1-2", "{answer}");
    assert!(
        answer.contains("changed by 1 similar past change: `Fixed #12 -- The discount was applied twice when the"),
        "{answer}"
    );
}

#[test]
fn a_later_commit_on_another_branch_changes_no_answer() {
    let ws = shop();
    ws.ok(&["think", "."]);
    let before = context(&ws);
    git(&ws, &["checkout", "-q", "-b", "later"]);
    ws.write("shop/cart.py", "def add(cart, item):\n    if item not in cart:\n        cart.append(item)\n");
    commit(&ws, "Fixed #13 -- The discount was applied twice at checkout: the cart held the item twice.");
    git(&ws, &["checkout", "-q", "main"]);
    ws.ok(&["think", "."]);
    assert_eq!(context(&ws), before, "only commits reachable from HEAD count");
    // The same commit reachable from HEAD does change the answer: the test can fail.
    git(&ws, &["merge", "-q", "--ff-only", "later"]);
    ws.ok(&["think", "."]);
    let (places, answer) = context(&ws);
    assert_ne!((&places, &answer), (&before.0, &before.1));
    assert!(places.iter().any(|p| p.starts_with("shop/cart.py")) && answer.contains("Fixed #13"), "{answer}");
}

/// Twice the price code changed with the cart: hovering a price definition says so, once the
/// server's idle history pass has mined the commits.
#[tokio::test]
async fn hover_names_files_changed_together_and_debugging_tells_past_fixes() {
    let ws = shop();
    ws.write("shop/pricing.py", "def reduce(amount, rate):\n    return round(amount * (1 - rate), 3)\n");
    ws.write("shop/cart.py", "def add(cart, item):\n    cart.append(item)\n    return cart\n");
    commit(&ws, "Prices keep three decimals in the cart.");
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    client.initialize(&ws.root(), &["utf-16"], json!({"server": {"idle_after": "300ms"}})).await;
    let mined = client
        .wait_for(|m| {
            m["method"] == "$/progress"
                && m["params"]["value"]["kind"] == "end"
                && m["params"]["value"]["message"].as_str().is_some_and(|t| t.starts_with("history: "))
        })
        .await;
    assert!(mined["params"]["value"]["message"].as_str().unwrap().starts_with("history: 4 commits"), "{mined}");
    let pricing = ws.path("shop/pricing.py");
    client.open(&pricing, "python", &std::fs::read_to_string(&pricing).unwrap()).await;
    // The pass reads the mined history into memory before it ends: the hover has it.
    let text = client.hover(&pricing, 0, 5).await["contents"]["value"].as_str().unwrap_or_default().to_string();
    let cart = ws.root().join("shop/cart.py");
    let expected = format!(
        "Changed together with `shop/pricing.py` in past commits: [{}:1]({}#L1) (2 of its 3 commits)",
        cart.display(),
        crate::util::lsp::file_uri(&cart)
    );
    assert!(text.contains(&expected), "{expected} in {text}");
    assert!(!text.contains("mail.py"), "{text}");
    // "How to debug reduce": its file's past fix is told with the definition, zero tokens.
    let range = json!({"start": {"line": 0, "character": 5}, "end": {"line": 0, "character": 5}});
    let actions = client
        .result(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": crate::util::lsp::file_uri(&pricing)}, "range": range, "context": {"diagnostics": []}}),
        )
        .await;
    let debug = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "reverie: How to debug reduce")
        .expect("a How to debug action")
        .clone();
    let answer = client
        .result(
            "workspace/executeCommand",
            json!({"command": debug["command"]["command"], "arguments": debug["command"]["arguments"]}),
        )
        .await;
    let first = &answer["context"][0];
    assert_eq!(first["path"], "shop/pricing.py", "{answer}");
    assert!(
        first["text"].as_str().unwrap().contains(
            "Fixed before in this file: `Fixed #12 -- The discount was applied twice when the checkout was retried.` ("
        ),
        "{answer}"
    );
    assert_eq!(client.shutdown().await, Some(0));
}

/// "What else must change if I change reduce?": its users, what changed with its file in the past,
/// its tests — from facts and the mined history, with no model; without a history it says so.
#[test]
fn an_impact_question_lists_users_co_changed_files_and_tests() {
    let ws = shop();
    ws.write("shop/pricing.py", "def reduce(amount, rate):\n    return round(amount * (1 - rate), 3)\n");
    ws.write(
        "shop/cart.py",
        "from shop.pricing import reduce\n\ndef add(cart, item):\n    cart.append(reduce(item, 0.1))\n",
    );
    ws.write(
        "tests/test_pricing.py",
        "from shop.pricing import reduce\n\ndef test_reduce():\n    assert reduce(10, 0.5) == 5\n",
    );
    commit(&ws, "Prices keep three decimals in the cart.");
    let question = "What else must change if I change `reduce`?";
    let before: Value = ws.json(&["ask", ".", question, "--no-llm"]);
    let text = before["answer"].as_str().unwrap();
    assert!(text.contains("unknown — no git history is mined"), "{text}");

    ws.ok(&["think", "."]);
    let json: Value = ws.json(&["ask", ".", question, "--no-llm"]);
    let answer = json["answer"].as_str().unwrap();
    assert!(answer.starts_with("If you change `reduce` (`shop/pricing.py:1`"), "{answer}");
    assert!(
        answer.contains("**What uses it** (4 in 2 files):\n- `shop/cart.py:1`\n- `shop/cart.py:4` in `add`"),
        "{answer}"
    );
    assert!(answer.contains("(of its 3 commits):\n- `shop/cart.py` — 2 together"), "{answer}");
    assert!(!answer.contains("mail.py"), "{answer}");
    assert!(answer.contains("**Tests that use it**:\n- `tests/test_pricing.py:3` test_reduce"), "{answer}");
    let places: Vec<&str> = json["context"].as_array().unwrap().iter().map(|i| i["path"].as_str().unwrap()).collect();
    assert_eq!(places[0], "shop/pricing.py", "{json}");
    assert!(places.contains(&"tests/test_pricing.py"), "{json}");
    assert_eq!(json["tokens_used"].as_u64().unwrap_or(0), 0, "{json}");
}
