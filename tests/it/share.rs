//! Sharing idle work through a git remote (`reverie share push|pull`, `[share] remote`), on the
//! real binary, real git and the real embedding model: two clones of one bare repository on
//! loopback (`file://`).

use crate::util::{Workspace, commit, git, test_embed_model};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const CANARY: &str = "CANARY-share-7f3a91";

/// A small project: billing, retries, colours, and a secret-looking file with a definition.
const FILES: &[(&str, &str)] = &[
    (
        "billing/invoice.py",
        "def compute_invoice_total(lines):\n    \"\"\"Adds up the price of every line, then the tax.\"\"\"\n    subtotal = sum(line.price * line.quantity for line in lines)\n    return subtotal * 1.2\n\n\nclass Invoice:\n    def send(self, mailer):\n        mailer.deliver(self)\n",
    ),
    (
        "net/retry.py",
        "def backoff_delay(attempt):\n    \"\"\"Seconds to wait before the next attempt.\"\"\"\n    return min(30, 2 ** attempt)\n\n\ndef should_retry(status):\n    return status >= 500\n",
    ),
    ("ui/colors.py", "def theme_palette(dark):\n    return {'fg': '#fff' if dark else '#000'}\n"),
    ("app/secret_settings.py", "def signing_key():\n    return 'CANARY-share-7f3a91'\n"),
];

const QUESTIONS: &[&str] = &[
    "how much does the customer pay altogether for an order?",
    "how long do we wait before trying the request again?",
    "where is the dark mode palette?",
];

/// Runs git in `dir` (a test identity, no signing) and returns its stdout.
fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A bare repository and two clones of it: the first with the project committed and pushed (and
/// a tag), the second cloned after; both configured with the test embedding model.
struct Team {
    bare: tempfile::TempDir,
    first: Workspace,
    second: Workspace,
}

fn team(model: &Path) -> Team {
    let bare = tempfile::tempdir().unwrap();
    git_in(bare.path(), &["init", "-q", "--bare", "-b", "main"]);
    let url = format!("file://{}", bare.path().display());
    let first = Workspace::new();
    git(&first, &["clone", "-q", &url, "."]);
    for (path, text) in FILES {
        first.write(path, text);
    }
    first.write("reverie.toml", format!("[embed]\nmodel = {:?}\n", model.display().to_string()));
    commit(&first, "the project");
    git(&first, &["tag", "v1"]);
    git(&first, &["push", "-q", "origin", "HEAD:main", "v1"]);
    let second = Workspace::new();
    git(&second, &["clone", "-q", &url, "."]);
    Team { bare, first, second }
}

/// What git shows a user of a clone: refs but reverie's, HEAD, the index and the working tree.
fn visible_state(dir: &Path) -> String {
    let refs =
        git_in(dir, &["for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags", "refs/remotes"]);
    let head = git_in(dir, &["rev-parse", "HEAD", "--symbolic-full-name", "HEAD"]);
    let status = git_in(dir, &["status", "--porcelain", "--untracked-files=all"]);
    let index = git_in(dir, &["ls-files", "--stage"]);
    format!("{refs}\n{head}\n{status}\n{index}")
}

fn answers(ws: &Workspace) -> Vec<Value> {
    QUESTIONS
        .iter()
        .map(|question| {
            let answer = ws.json(&["ask", ".", question, "--no-llm"]);
            json!({"answer": answer["answer"], "context": answer["context"], "source": answer["source"]})
        })
        .collect()
}

/// The blobs of every object the remote holds under `refs/reverie/`.
fn shared_blobs(bare: &Path) -> Vec<Vec<u8>> {
    let refs = git_in(bare, &["for-each-ref", "--format=%(objectname)", "refs/reverie/"]);
    let mut blobs = Vec::new();
    for commit in refs.lines() {
        for line in git_in(bare, &["ls-tree", "-r", commit]).lines() {
            let id = line.split_whitespace().nth(2).unwrap();
            let out = Command::new("git").args(["cat-file", "blob", id]).current_dir(bare).output().unwrap();
            blobs.push(out.stdout);
        }
    }
    blobs
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The acceptance run: after `think` and `share push` in the first clone and `share pull` in the
/// second, `think` in the second embeds 0 definitions and answers the questions identically; the
/// secret file's vectors, path and text are in no pushed object; no branch, tag, HEAD, index or
/// working tree moved on either side.
#[test]
fn a_second_clone_pulls_what_the_first_pushed_and_embeds_nothing() {
    let Some(model) = test_embed_model() else { return };
    let Team { bare, first, second } = team(&model);
    let thought = first.json(&["think", "."]);
    let embedded = thought["semantic"]["embedded"].as_u64().unwrap();
    assert_eq!(embedded, 6, "every definition but the secret file's: {thought}");
    let before = (visible_state(&first.root()), visible_state(&second.root()));
    let remote_before = git_in(bare.path(), &["for-each-ref", "refs/heads", "refs/tags"]);

    let pushed = first.json(&["share", "push", "."]);
    assert_eq!(pushed["vectors"], 6, "{pushed}");
    assert_eq!(pushed["secret_files"], 1, "{pushed}");
    let reference = pushed["reference"].as_str().unwrap();
    assert!(reference.starts_with("refs/reverie/embeddings/"), "{pushed}");
    let on_remote = git_in(bare.path(), &["for-each-ref", "--format=%(objectname) %(refname)", "refs/reverie/"]);
    let adapter_ref = pushed["adapter_reference"].as_str().unwrap();
    assert!(adapter_ref.starts_with("refs/reverie/adapter/"), "{pushed}");
    let refs: Vec<&str> = on_remote.lines().map(|line| line.split_once(' ').unwrap().1).collect();
    assert_eq!(refs, [adapter_ref, reference], "only reverie's refs are added: {on_remote}");
    assert!(on_remote.contains(&format!("{} {reference}", pushed["commit"].as_str().unwrap())), "{on_remote}");

    // Nothing of the secret file left: not its text, not its path, not its definition's vector key.
    let secret = FILES.iter().find(|(path, _)| path.contains("secret")).unwrap();
    let secret_key = reverie::embed::definition_key(secret.0, &reverie::hash::Digest::of(secret.1.as_bytes()), 0);
    let (invoice_path, invoice) = FILES[0];
    let invoice_key = reverie::embed::definition_key(invoice_path, &reverie::hash::Digest::of(invoice.as_bytes()), 0);
    let blobs = shared_blobs(bare.path());
    assert!(
        blobs.iter().any(|b| contains(b, &invoice_key.0)),
        "a shared definition's key is found (the check can fail)"
    );
    for blob in &blobs {
        assert!(!contains(blob, CANARY.as_bytes()), "the secret file's text was pushed");
        assert!(!contains(blob, b"secret_settings"), "the secret file's path was pushed");
        assert!(!contains(blob, &secret_key.0), "the secret file's vector was pushed");
        assert!(!contains(blob, b"compute_invoice_total"), "code text was pushed");
    }

    let pulled = second.json(&["share", "pull", "."]);
    assert_eq!(
        (pulled["imported"].as_u64(), pulled["rejected"].as_array().map(Vec::len)),
        (Some(6), Some(0)),
        "{pulled}"
    );
    assert_eq!(pulled["adapter"], "imported", "{pulled}");
    let rethought = second.json(&["think", "."]);
    assert_eq!(rethought["semantic"]["embedded"], 0, "{rethought}");
    let adapter = &rethought["adapter"];
    assert_eq!((adapter["unchanged"].as_bool(), adapter["embedded"].as_u64()), (Some(true), Some(0)), "{rethought}");
    assert_eq!(answers(&first), answers(&second));

    // A second pull finds everything in place and imports nothing.
    let again = second.json(&["share", "pull", "."]);
    assert_eq!(again["imported"], 0, "{again}");
    assert_eq!(again["note"], "every definition here has a vector already", "{again}");

    let after = (visible_state(&first.root()), visible_state(&second.root()));
    assert_eq!(before, after, "push and pull moved a branch, tag, HEAD, the index or the working tree");
    assert_eq!(remote_before, git_in(bare.path(), &["for-each-ref", "refs/heads", "refs/tags"]));
    let status = second.json(&["status", "."]);
    assert_eq!(status["idle_jobs"]["share"]["outcome"], "every definition here has a vector already", "{status}");
}

/// Rewrites the remote's share: `edit` gets the tree's `(name, bytes)` and returns the new ones;
/// the result is committed in the bare repository under the same ref (a hostile or broken remote).
fn forge(bare: &Path, reference: &str, edit: impl Fn(Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)>) {
    let mut files = Vec::new();
    for line in git_in(bare, &["ls-tree", reference]).lines() {
        let (meta, name) = line.split_once('\t').unwrap();
        let id = meta.split_whitespace().nth(2).unwrap();
        let out = Command::new("git").args(["cat-file", "blob", id]).current_dir(bare).output().unwrap();
        files.push((name.to_string(), out.stdout));
    }
    let mut tree = String::new();
    for (name, bytes) in edit(files) {
        let mut child = Command::new("git")
            .args(["hash-object", "-w", "--stdin"])
            .current_dir(bare)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), &bytes).unwrap();
        let id = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
        tree.push_str(&format!("100644 blob {}\t{name}\n", id.trim()));
    }
    let mut child = Command::new("git")
        .args(["mktree"])
        .current_dir(bare)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), tree.as_bytes()).unwrap();
    let tree = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    let commit = git_in(bare, &["commit-tree", tree.trim(), "-m", "forged"]);
    git_in(bare, &["update-ref", reference, commit.trim()]);
}

/// A truncated shard, a flipped byte and a manifest of another embedder are each rejected with the
/// reason; the shards that check out are imported, and nothing the store had is lost.
#[test]
fn a_corrupt_truncated_or_foreign_share_is_rejected_and_the_store_keeps_what_it_had() {
    let Some(model) = test_embed_model() else { return };
    let Team { bare, first, second } = team(&model);
    first.json(&["think", "."]);
    let pushed = first.json(&["share", "push", "."]);
    let reference = pushed["reference"].as_str().unwrap().to_string();
    // The second clone has the shared vectors, and one file of its own with none.
    assert_eq!(second.json(&["share", "pull", "."])["imported"], 6);
    second.write("extra/stats.py", "def running_mean(values):\n    return sum(values) / len(values)\n");

    // A truncated shard and a corrupt one (same size, a byte flipped).
    let shards = std::cell::Cell::new(0);
    forge(bare.path(), &reference, |files| {
        files
            .into_iter()
            .map(|(name, mut bytes)| {
                if name.starts_with("shard-") {
                    match shards.get() {
                        0 => bytes.truncate(bytes.len() - 100),
                        1 => *bytes.last_mut().unwrap() ^= 0x55,
                        _ => {}
                    }
                    shards.set(shards.get() + 1);
                }
                (name, bytes)
            })
            .collect()
    });
    assert!(shards.get() >= 2, "the share has at least two shards");
    let out = second.run(&["share", "pull", "."]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a rejected shard fails the pull: {stdout}");
    assert!(stdout.contains("rejected: ") && stdout.contains("truncated"), "{stdout}");
    assert!(stdout.contains("does not match its digest in the manifest (corrupt)"), "{stdout}");
    assert!(
        crate::util::stderr(&out).contains("were rejected (see above); what was stored is kept"),
        "{}",
        crate::util::stderr(&out)
    );

    // A manifest naming another embedder: nothing is read.
    forge(bare.path(), &reference, |files| {
        files
            .into_iter()
            .map(|(name, bytes)| {
                let bytes = if name == "manifest.json" {
                    String::from_utf8(bytes)
                        .unwrap()
                        .replace("\"model_id\": \"local:", "\"model_id\": \"other:")
                        .into_bytes()
                } else {
                    bytes
                };
                (name, bytes)
            })
            .collect()
    });
    let out = second.run(&["share", "pull", ".", "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!out.status.success());
    let why = report["rejected"][0].as_str().unwrap();
    assert!(
        why.contains("the shared vectors are of the embedder `other:") && why.contains("no vector imported"),
        "{report}"
    );
    assert_eq!(report["imported"], 0, "{report}");

    // A corrupt adapter is named and not used.
    let adapter_ref = pushed["adapter_reference"].as_str().unwrap();
    forge(bare.path(), adapter_ref, |files| {
        files
            .into_iter()
            .map(|(name, mut bytes)| {
                if name == "adapter.bin" {
                    bytes[0] ^= 1;
                }
                (name, bytes)
            })
            .collect()
    });
    let out = second.run(&["share", "pull", ".", "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rejected = report["rejected"].to_string();
    assert!(rejected.contains("the adapter blob does not match its digest in the manifest (corrupt)"), "{report}");

    // Everything pulled before is still there: only the new file is embedded.
    let thought = second.json(&["think", "."]);
    assert_eq!(thought["semantic"]["embedded"], 1, "{thought}");
}

/// A remote that is not there, a folder outside git, and nothing shared yet: each says what is wrong
/// before any slow work (no model is needed to be told).
#[test]
fn a_missing_remote_or_repository_is_a_clear_error() {
    let ws = Workspace::with(&[("a.py", "def f():\n    return 1\n")]);
    let out = ws.run(&["share", "push", "."]);
    assert!(!out.status.success());
    assert!(crate::util::stderr(&out).contains("is not in a git repository"), "{}", crate::util::stderr(&out));
    git(&ws, &["init", "-q"]);
    commit(&ws, "one");
    for action in ["push", "pull"] {
        let out = ws.run(&["share", action, ".", "--remote", "upstream"]);
        assert!(!out.status.success());
        let err = crate::util::stderr(&out);
        assert!(err.contains("has no remote named `upstream`") && err.contains("git remote -v"), "{err}");
    }
    let out = ws.run(&["share", "pull", ".", "--remote=--upload-pack=touch /tmp/x"]);
    assert!(!out.status.success());
    assert!(crate::util::stderr(&out).contains("is not a git remote's name"), "{}", crate::util::stderr(&out));
    ws.write("reverie.toml", "[share]\nremote = \"-x\"\n");
    let err = crate::util::stderr(&ws.run(&["share", "pull", "."]));
    assert!(
        err.contains("has a bad value for `share.remote`: `-x` is not a git remote's name (letters, digits"),
        "the config names the key and the problem: {err}"
    );
}

/// With `[share] remote = "origin"`, the server pulls at its first idle time, before embedding: the
/// embedding pass then has nothing left to embed.
#[tokio::test]
async fn the_server_pulls_at_idle_before_embedding() {
    let Some(model) = test_embed_model() else { return };
    let Team { bare: _bare, first, second } = team(&model);
    first.json(&["think", "."]);
    first.json(&["share", "push", "."]);
    second.write(
        "reverie.toml",
        format!(
            "[embed]\nmodel = {:?}\n\n[share]\nremote = \"origin\"\n\n[server]\nidle_after = \"300ms\"\n",
            model.display().to_string()
        ),
    );
    let mut client = crate::util::lsp::LspClient::spawn(&second.cache_dir(), second.home.path());
    client.initialize(&second.root(), &["utf-16"], Value::Null).await;
    let ended = |text: &'static str| {
        move |m: &Value| {
            m["method"] == "$/progress"
                && m["params"]["value"]["kind"] == "end"
                && m["params"]["value"]["message"].as_str().is_some_and(|t| t.contains(text))
        }
    };
    let pulled = client.wait_for(ended("share: ")).await;
    assert_eq!(
        pulled["params"]["value"]["message"], "share: pulled 6 vectors from origin; adapter imported",
        "{pulled}"
    );
    let embedded = client.wait_for(ended("embedded")).await;
    assert_eq!(embedded["params"]["value"]["message"], "embedded 0 definitions", "{embedded}");
    assert_eq!(client.shutdown().await, Some(0));
}

/// Notes cost tokens: the notes fresh for the pushed commit travel too (redacted), a pull keeps
/// those written for exactly this content, and `think` in the second clone writes no note and
/// embeds no passage — the model is not called at all.
#[test]
fn notes_written_in_one_clone_are_not_written_again_in_the_other() {
    use crate::util::openai_fake::{FakeOpenAi, Reply, valid_note};
    let Some(model) = test_embed_model() else { return };
    let fake = FakeOpenAi::start(|request| Reply::Text(valid_note(request)));
    let Team { bare: _bare, first, second } = team(&model);
    let config = format!(
        "{}\n[embed]\nmodel = {:?}\n\n[sleep]\nnotes = [\"summary\", \"questions\"]\n",
        fake.llm_config(),
        model.display().to_string()
    );
    first.write("reverie.toml", &config);
    second.write("reverie.toml", &config);
    let thought = first.json(&["think", "."]);
    let fresh = thought["notes"]["fresh"].as_u64().unwrap();
    assert!(fresh >= 6, "{thought}");
    let pushed = first.json(&["share", "push", "."]);
    assert_eq!(pushed["notes"].as_u64(), Some(fresh), "{pushed}");
    assert!(pushed["passages"].as_u64().unwrap() >= fresh, "{pushed}");
    let calls = fake.requests().len();

    let pulled = second.json(&["share", "pull", "."]);
    assert_eq!(pulled["notes_imported"].as_u64(), Some(fresh), "{pulled}");
    assert_eq!(pulled["missing"], 0, "{pulled}");
    let rethought = second.json(&["think", "."]);
    assert_eq!(rethought["report"]["stored"], 0, "{rethought}");
    assert_eq!(rethought["notes"]["fresh"].as_u64(), Some(fresh), "{rethought}");
    assert_eq!(
        (rethought["semantic"]["embedded"].as_u64(), rethought["semantic"]["passages"].as_u64()),
        (Some(0), Some(0)),
        "{rethought}"
    );
    assert_eq!(fake.requests().len(), calls, "the second clone called the model");
    assert_eq!(answers(&first), answers(&second));
}

/// A workspace that is a folder inside the repository shares under a ref of its own (git run from
/// a sub-folder still sees the whole share), and a pull there imports what the same folder pushed.
#[test]
fn a_folder_inside_the_repository_shares_under_its_own_ref() {
    let Some(model) = test_embed_model() else { return };
    let Team { bare: _bare, first, second } = team(&model);
    let config = format!("[embed]\nmodel = {:?}\n", model.display().to_string());
    first.write("billing/reverie.toml", &config);
    second.write("billing/reverie.toml", &config);
    let folder = |ws: &Workspace| ws.root().join("billing").display().to_string();
    assert_eq!(first.json(&["think", &folder(&first)])["semantic"]["embedded"], 3);
    let pushed = first.json(&["share", "push", &folder(&first)]);
    assert!(!pushed["reference"].as_str().unwrap().ends_with("/root"), "{pushed}");
    let pulled = second.json(&["share", "pull", &folder(&second)]);
    assert_eq!(
        (pulled["imported"].as_u64(), pulled["rejected"].as_array().map(Vec::len)),
        (Some(3), Some(0)),
        "{pulled}"
    );
    // The repository's top folder has shared nothing yet.
    let top = second.json(&["share", "pull", "."]);
    assert_eq!(top["note"], "nothing shared on `origin` for this folder and embedder yet", "{top}");
}

/// An SSH remote is asked in batch mode, over the user's own ssh command: a key with a passphrase and
/// no agent fails at once with ssh's message instead of asking on the terminal the editor runs in.
/// (A recording `ssh` stands in for the network: git itself runs it as it would OpenSSH.)
#[test]
fn an_ssh_remote_is_asked_in_batch_mode_and_its_refusal_is_told() {
    let Some(model) = test_embed_model() else { return };
    let ws = Workspace::with(&[("a.py", "def f():\n    return 1\n")]);
    ws.write("reverie.toml", format!("[embed]\nmodel = {:?}\n", model.display().to_string()));
    git(&ws, &["init", "-q"]);
    commit(&ws, "one");
    let bin = tempfile::tempdir().unwrap();
    let ssh = bin.path().join("ssh");
    let seen = bin.path().join("arguments");
    std::fs::write(
        &ssh,
        format!(
            "#!/bin/sh\necho \"$@\" > '{}'\necho 'git@example.invalid: Permission denied (publickey).' >&2\nexit 255\n",
            seen.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&ssh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    git(&ws, &["remote", "add", "origin", "ssh://git@example.invalid/team/project.git"]);
    git(&ws, &["config", "core.sshCommand", &format!("{} -i team_key", ssh.display())]);
    ws.ok(&["think", "."]);
    for action in ["pull", "push"] {
        let _ = std::fs::remove_file(&seen);
        let out = ws.run(&["share", action, "."]);
        assert!(!out.status.success(), "{action}");
        let err = crate::util::stderr(&out);
        assert!(err.contains("Permission denied (publickey)"), "{action}: ssh's own message is told: {err}");
        let arguments = std::fs::read_to_string(&seen).unwrap_or_default();
        assert!(
            arguments.starts_with("-i team_key -o BatchMode=yes -o ConnectTimeout=15 ")
                && arguments.contains("git@example.invalid"),
            "{action}: the user's command, in batch mode: {arguments:?}"
        );
    }
}
