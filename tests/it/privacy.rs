//! Nothing secret leaves the machine: a workspace seeded with canaries of every shape — in ignored
//! files, in files that look like secrets, and as secret-looking strings inside ordinary code — goes
//! through a full `think` and many questions against a capturing model server on loopback. No canary
//! may appear in any captured request.

use crate::util::Workspace;
use crate::util::lsp::LspClient;
use crate::util::openai_fake::{FakeOpenAi, Reply, job_of, valid_note};
use serde_json::json;

/// (where it is planted, the canary). Each canary is unique and searchable.
fn canaries() -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for i in 0..3 {
        out.push(("aws", format!("AKIAC{i}NRY7Q2W5E8R1T4")));
        out.push(("github", format!("ghp_C{i}NRYa1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6")));
        out.push(("github-pat", format!("github_pat_11C{i}NRY0a1b2c3d4e5f6g7h8i9j0k1l2m3n4")));
        out.push(("openai", format!("sk-proj-C{i}NRY1a2b3c4d5e6f7g8h9i0jklmnop")));
        out.push(("anthropic", format!("sk-ant-api03-C{i}NRY1a2b3c4d5e6f7g8h9i0j")));
        out.push(("slack", format!("xoxb-12345{i}67890-C{i}NRY0987654321-abcdefgh")));
        out.push(("gcp", format!("AIzaSyC{i}NRY1a2b3c4d5e6f7g8h9i0j1k2l3m4")));
        out.push((
            "jwt",
            format!("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJDTlJZ{i}MTIzNDU2In0.c2lnQ{i}NRYbmF0dXJlMTIzNDU2Nzg"),
        ));
        out.push(("assigned", format!("Zq8x{i}CNRYp3Lr0W2mK7vN1cT5")));
        out.push(("private-key", format!("MIIEpAIBAAKCAQEAC{i}NRYkeymaterial0123456789abcdef")));
        out.push(("ignored", format!("ignored_canary_function_{i}")));
        out.push(("reverieignored", format!("reverieignored_canary_{i}")));
        out.push(("secret-file", format!("secret_file_canary_{i}")));
    }
    out
}

fn seeded() -> (Workspace, FakeOpenAi, Vec<(&'static str, String)>) {
    let fake = FakeOpenAi::start(|request| {
        if job_of(request).0 == "other" {
            Reply::Text("Here is what the code does.".into())
        } else {
            Reply::Text(valid_note(request))
        }
    });
    let ws = Workspace::new();
    let canaries = canaries();
    for i in 0..3 {
        let get = |kind: &str| canaries.iter().filter(|(k, _)| *k == kind).nth(i).unwrap().1.clone();
        ws.write(
            &format!("app/client_{i}.py"),
            format!(
                "import os\n\nAWS_KEY = \"{aws}\"\nGITHUB = \"{gh}\"\nPAT = '{pat}'\n\n\ndef connect_{i}():\n    \"\"\"Connects with {openai}.\"\"\"\n    token = \"{anthropic}\"\n    slack = \"{slack}\"\n    google = \"{gcp}\"\n    return token, slack, google\n\n\nDB_PASSWORD = \"{assigned}\"\nSESSION = \"{jwt}\"\n\nKEY_PEM = '''\n-----BEGIN RSA PRIVATE KEY-----\n{pk}\n-----END RSA PRIVATE KEY-----\n'''\n\n\ndef use_{i}():\n    if not AWS_KEY:\n        raise RuntimeError(\"missing key {openai}\")\n    return connect_{i}()\n",
                aws = get("aws"), gh = get("github"), pat = get("github-pat"), openai = get("openai"), anthropic = get("anthropic"),
                slack = get("slack"), gcp = get("gcp"), assigned = get("assigned"), jwt = get("jwt"), pk = get("private-key"),
            ),
        );
        ws.write(&format!("build/gen_{i}.py"), format!("def {}():\n    return 1\n", get("ignored")));
        ws.write(&format!("vendor/lib_{i}.py"), format!("def {}():\n    return 1\n", get("reverieignored")));
        ws.write(
            &format!("config/secrets_{i}.py"),
            format!("def {}():\n    return \"plain looking value {i}\"\n", get("secret-file")),
        );
    }
    ws.write(".gitignore", "build/\n");
    ws.write(".reverieignore", "vendor/\n");
    ws.write(".env", format!("OPENAI_API_KEY={}\n", canaries[3].1));
    ws.write("main.py", "from app.client_0 import use_0\n\n\ndef main():\n    use_0()\n");
    ws.write(
        "reverie.toml",
        format!("{}[sleep]\ntokens_per_hour = 100000000\ntokens_per_day = 100000000\n", fake.llm_config()),
    );
    (ws, fake, canaries)
}

fn leaks(fake: &FakeOpenAi, canaries: &[(&str, String)]) -> Vec<String> {
    let sent = fake.all_prompt_text();
    canaries.iter().filter(|(_, c)| sent.contains(c.as_str())).map(|(k, c)| format!("{k}: {c}")).collect()
}

#[test]
fn no_canary_reaches_the_model_through_think_or_ask() {
    let (ws, fake, canaries) = seeded();
    let result = ws.json(&["think", "."]);
    assert!(result["report"]["stored"].as_u64().unwrap() >= 5, "{result}");
    let questions = [
        "what is AWS_KEY used for?",
        "show me DB_PASSWORD and SESSION",
        "explain connect_0 and the tokens it uses",
        "why do I get RuntimeError missing key?",
        "what does KEY_PEM hold",
        "what does the config in config/secrets_0.py do",
        "list the functions in build/gen_0.py",
        "what is in vendor/lib_1.py",
        &format!("is {} a valid key?", canaries[0].1),
        "explain use_2 in detail",
    ];
    for question in questions {
        ws.json(&["ask", ".", question, "--conversation", "leak-test"]);
    }
    let requests = fake.requests().len();
    let found = leaks(&fake, &canaries);
    println!("canaries: {}, requests captured: {requests}, canaries found: {}", canaries.len(), found.len());
    assert!(requests >= 15, "the test exercised the model path: {requests} requests");
    assert!(found.is_empty(), "canaries reached the model: {found:?}");
    // The redactions are visible to the user in a dry run.
    let dry = ws.ok(&["think", ".", "--dry-run"]);
    assert!(!canaries.iter().any(|(_, c)| dry.contains(c.as_str())), "the dry run shows prompts as they would be sent");
}

#[tokio::test]
async fn no_canary_reaches_the_model_through_the_language_server() {
    let (ws, fake, canaries) = seeded();
    let mut client = LspClient::spawn(&ws.cache_dir(), ws.home.path());
    client.initialize(&ws.root(), &["utf-16"], json!(null)).await;
    client.wait_for_status("ready", 1).await;
    // Open a file full of canaries: its buffer is what the server knows.
    let text = std::fs::read_to_string(ws.path("app/client_1.py")).unwrap();
    client.open(&ws.path("app/client_1.py"), "python", &text).await;
    client.result("workspace/executeCommand", json!({"command": "reverie.think"})).await;
    client
        .wait_for(|m| {
            m["method"] == "reverie/status"
                && m["params"]["message"].as_str().unwrap_or("").contains("notes stored this pass")
        })
        .await;
    for question in ["what is GITHUB for?", "explain connect_1", "what does this file do?"] {
        let params = json!({"question": question, "textDocument": {"uri": crate::util::lsp::file_uri(&ws.path("app/client_1.py"))}, "position": {"line": 8, "character": 4}, "conversation": "lsp"});
        client.result("reverie/ask", params).await;
    }
    let found = leaks(&fake, &canaries);
    println!(
        "canaries: {}, requests captured: {}, canaries found: {}",
        canaries.len(),
        fake.requests().len(),
        found.len()
    );
    assert!(fake.requests().len() >= 5);
    assert!(found.is_empty(), "canaries reached the model: {found:?}");
    assert_eq!(client.shutdown().await, Some(0));
}
