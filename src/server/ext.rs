//! reverie's extensions to LSP, in one place: every custom request and notification as a type (the
//! way tower-lsp-server's `examples/custom_notification.rs` declares one), and the commands
//! `workspace/executeCommand` runs, with the form of each command's argument.
//!
//! Guarantees: the server registers, advertises and sends exactly what is declared here
//! (`MESSAGES`, `Command::ALL`); the README's protocol table lists exactly these (checked by the test
//! below); a parameterless request accepts an absent `params`, `null`, `{}` or `[]` alike
//! (`accept_empty_params`, applied to every frame by `transport.rs`), because clients differ in what
//! they send for "no parameters".

use super::status::StatusParams;
use crate::answer::Answer;
use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::notification::Notification;
use tower_lsp_server::ls_types::{Position, TextDocumentIdentifier};

/// A custom request: its method, what it takes and what it answers.
pub trait Request {
    const METHOD: &'static str;
    /// `()` for a request that takes no parameters.
    type Params;
    type Result;
}

/// `reverie/ask` (client → server): answer a question with citations.
pub enum Ask {}

impl Request for Ask {
    const METHOD: &'static str = "reverie/ask";
    type Params = AskParams;
    type Result = Answer;
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AskParams {
    pub question: String,
    #[serde(default)]
    pub text_document: Option<TextDocumentIdentifier>,
    #[serde(default)]
    pub position: Option<Position>,
    #[serde(default)]
    pub budget: Option<usize>,
    /// Continue this conversation (any string the client chooses); follow-ups see earlier turns.
    #[serde(default)]
    pub conversation: Option<String>,
    /// Stream the answer as `reverie/answerChunk` notifications carrying this token.
    #[serde(default)]
    pub token: Option<String>,
    /// Show the model's answer even when it names mostly code that is not in the workspace (its
    /// unverified names marked) instead of setting it aside for the context.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub show_unverified: bool,
    /// The symbol the question is about, as a code action names it (the code actions fill it in):
    /// its context is built from the symbol's definition outward. Absent for a typed question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<AskSubject>,
}

/// `reverie/ask`'s `subject`: `{"name": "get_signing_serializer", "intent": "explain"}`, with
/// `intent` one of `explain`, `debug`, `usages`; the definition is the one of that name at
/// `position` in `textDocument`, else the nearest by name.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct AskSubject {
    pub name: String,
    pub intent: crate::answer::Intent,
}

impl From<AskSubject> for crate::answer::Subject {
    fn from(subject: AskSubject) -> Self {
        crate::answer::Subject { name: subject.name, intent: subject.intent }
    }
}

/// `reverie/status` (client → server): what the server is doing now. Takes no parameters.
pub enum Status {}

impl Request for Status {
    const METHOD: &'static str = "reverie/status";
    type Params = ();
    type Result = StatusParams;
}

/// `reverie/status` (server → client): the same payload, sent on every change.
pub enum StatusNotification {}

impl Notification for StatusNotification {
    type Params = StatusParams;
    const METHOD: &'static str = "reverie/status";
}

/// Where a client declares that it handles `reverie/status` notifications, as a JSON pointer into
/// its `capabilities.experimental`: `{"reverie": {"statusNotification": true}}`. Only such clients
/// are sent them; any client can ask `reverie/status`.
pub const STATUS_NOTIFICATION_CAPABILITY: &str = "/reverie/statusNotification";

/// `reverie/answerChunk` (server → client): a piece of a streamed answer, for the `token` the client
/// gave in `reverie/ask`.
pub enum AnswerChunk {}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AnswerChunkParams {
    pub token: String,
    pub text: String,
}

impl Notification for AnswerChunk {
    type Params = AnswerChunkParams;
    const METHOD: &'static str = "reverie/answerChunk";
}

/// Whether a message is a request or a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Request,
    Notification,
}

impl Kind {
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Notification => "notification",
        }
    }
}

/// Every custom message, as `(method, kind)`.
pub const MESSAGES: [(&str, Kind); 4] = [
    (Ask::METHOD, Kind::Request),
    (Status::METHOD, Kind::Request),
    (<StatusNotification as Notification>::METHOD, Kind::Notification),
    (<AnswerChunk as Notification>::METHOD, Kind::Notification),
];

/// The requests that take no parameters (standard and custom): `{}`, `[]` and `null` count as none.
pub const PARAMETERLESS_REQUESTS: [&str; 2] = [Status::METHOD, "shutdown"];

/// The commands `workspace/executeCommand` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// One argument, the `reverie/ask` params; the answer opens as a document or a message.
    Ask,
    /// Shows the status.
    Status,
    /// Indexes the workspace again from scratch.
    Reindex,
    /// Thinks now (writes notes), with a model configured.
    Think,
    /// One argument, `OpenParams`: opens a cited file at its line (`window/showDocument` with the
    /// line selected) — the code action on a citation in an answer document.
    Open,
}

/// `reverie.open`'s argument: `{"uri": "file:///home/me/app/go/router.go", "line": 9}` (`line` from 1,
/// as citations write it).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct OpenParams {
    pub uri: tower_lsp_server::ls_types::Uri,
    pub line: u32,
}

impl Command {
    pub const ALL: [Command; 5] = [Command::Ask, Command::Status, Command::Reindex, Command::Think, Command::Open];

    pub const fn name(self) -> &'static str {
        match self {
            Command::Ask => "reverie.ask",
            Command::Status => "reverie.status",
            Command::Reindex => "reverie.reindex",
            Command::Think => "reverie.think",
            Command::Open => "reverie.open",
        }
    }

    pub fn from_name(name: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The arguments it takes, as a user types them (for error messages).
    pub const fn usage(self) -> &'static str {
        match self {
            Command::Ask => "reverie.ask {\"question\": \"where is the config loaded?\"}",
            Command::Status => "reverie.status (no argument)",
            Command::Reindex => "reverie.reindex (no argument)",
            Command::Think => "reverie.think (no argument)",
            Command::Open => "reverie.open {\"uri\": \"file:///home/me/app/go/router.go\", \"line\": 9}",
        }
    }
}

/// The command names, advertised in `executeCommandProvider`.
pub const COMMANDS: [&str; 5] = [
    Command::ALL[0].name(),
    Command::ALL[1].name(),
    Command::ALL[2].name(),
    Command::ALL[3].name(),
    Command::ALL[4].name(),
];

/// Drops an empty `params` (`{}`, `[]`, `null`) from a request that takes none, so it is read as "no
/// parameters" instead of answered with `-32602 Unexpected params`. Returns whether it changed.
pub fn accept_empty_params(message: &mut serde_json::Value) -> bool {
    let Some(object) = message.as_object_mut() else { return false };
    let parameterless =
        object.get("method").and_then(|m| m.as_str()).is_some_and(|m| PARAMETERLESS_REQUESTS.contains(&m));
    let empty = match object.get("params") {
        Some(serde_json::Value::Object(map)) => map.is_empty(),
        Some(serde_json::Value::Array(items)) => items.is_empty(),
        Some(serde_json::Value::Null) => true,
        _ => false,
    };
    if parameterless && empty {
        object.remove("params");
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeSet;

    #[test]
    fn empty_params_of_parameterless_requests_are_dropped() {
        for params in [json!({}), json!([]), json!(null)] {
            let mut message = json!({"jsonrpc": "2.0", "id": 1, "method": "reverie/status", "params": params});
            assert!(accept_empty_params(&mut message), "{message}");
            assert!(message.get("params").is_none());
        }
        let mut absent = json!({"jsonrpc": "2.0", "id": 1, "method": "reverie/status"});
        assert!(!accept_empty_params(&mut absent));
        // Requests that take parameters, and real parameters, are left alone (they get their errors).
        let mut ask = json!({"jsonrpc": "2.0", "id": 1, "method": "reverie/ask", "params": {}});
        assert!(!accept_empty_params(&mut ask));
        assert_eq!(ask["params"], json!({}));
        let mut extra = json!({"jsonrpc": "2.0", "id": 1, "method": "reverie/status", "params": {"x": 1}});
        assert!(!accept_empty_params(&mut extra));
    }

    #[test]
    fn commands_round_trip_by_name() {
        for command in Command::ALL {
            assert_eq!(Command::from_name(command.name()), Some(command));
            assert!(command.usage().starts_with(command.name()));
        }
        assert_eq!(COMMANDS.to_vec(), Command::ALL.map(Command::name).to_vec());
        assert_eq!(Command::from_name("reverie.nope"), None);
    }

    /// The README's "Custom protocol" table names exactly the messages and commands declared here.
    #[test]
    fn the_readme_protocol_table_matches_the_server() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let table: Vec<&str> = readme
            .lines()
            .skip_while(|l| !l.starts_with("| message | direction | payload |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .collect();
        assert!(!table.is_empty(), "README.md has no protocol table");
        let mut documented = BTreeSet::new();
        for row in table {
            // The first cell: one or more `name`s followed by their kind, e.g. "`a`, `b` commands".
            let cell = row.trim_start_matches('|').split('|').next().unwrap_or_default().trim();
            let kind = cell.rsplit(' ').next().unwrap_or_default().trim_end_matches('s').to_string();
            for name in cell.split('`').skip(1).step_by(2) {
                documented.insert((name.to_string(), kind.clone()));
            }
        }
        let mut declared: BTreeSet<(String, String)> =
            MESSAGES.iter().map(|(method, kind)| (method.to_string(), kind.name().to_string())).collect();
        declared.extend(Command::ALL.map(|c| (c.name().to_string(), "command".to_string())));
        assert_eq!(documented, declared, "README.md's protocol table and src/server/ext.rs disagree");
    }

    /// The README's `reverie/ask` row lists exactly the params `AskParams` reads and the fields an
    /// `Answer` carries.
    #[test]
    fn the_readme_lists_every_field_of_reverie_ask() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let row = readme.lines().find(|l| l.starts_with("| `reverie/ask` request |")).expect("no reverie/ask row");
        let payload = row.split('|').nth(3).unwrap_or_default();
        let (params_text, result_text) = payload.split_once("→").expect("`params` → `result`");
        // Top-level names of a `{a, b?, c: [{…}], d}` written in backticks.
        let names = |text: &str| -> BTreeSet<String> {
            let inner = text.split('`').nth(1).unwrap_or_default();
            let inner = inner.trim();
            let inner = inner.strip_prefix('{').and_then(|i| i.strip_suffix('}')).unwrap_or(inner);
            let mut depth = 0;
            let mut names = BTreeSet::new();
            let mut current = String::new();
            for c in inner.chars().chain([',']) {
                match c {
                    '[' | '{' => depth += 1,
                    ']' | '}' => depth -= 1,
                    ',' if depth == 0 => {
                        let name = current.split(':').next().unwrap_or_default().trim().trim_end_matches('?');
                        names.insert(name.to_string());
                        current.clear();
                    }
                    _ if depth == 0 => current.push(c),
                    _ => {}
                }
            }
            names
        };
        let keys =
            |value: serde_json::Value| -> BTreeSet<String> { value.as_object().unwrap().keys().cloned().collect() };
        // Every optional field set, so each is serialized.
        let params = AskParams {
            question: "q".into(),
            text_document: Some(TextDocumentIdentifier { uri: "file:///a.py".parse().unwrap() }),
            position: Some(Position::default()),
            budget: Some(1),
            conversation: Some("c".into()),
            token: Some("t".into()),
            show_unverified: true,
            subject: Some(AskSubject { name: "f".into(), intent: crate::answer::Intent::Explain }),
        };
        assert_eq!(names(params_text), keys(serde_json::to_value(&params).unwrap()), "reverie/ask params");
        let answer = Answer {
            answer: String::new(),
            source: crate::answer::Source::Model,
            context: Vec::new(),
            usage: crate::answer::Usage::default(),
            unverified: Vec::new(),
            set_aside: false,
        };
        assert_eq!(names(result_text), keys(serde_json::to_value(&answer).unwrap()), "reverie/ask result");
    }
}
