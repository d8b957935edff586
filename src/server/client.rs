//! What the client can do, read once from `initialize`: its capabilities, and — where a client
//! handles more than it advertises — what its `clientInfo` says it is.
//!
//! Guarantees: a pure function of the `initialize` params (tested with the exact params Helix, Neovim
//! and VS Code send); an unknown client gets exactly what it advertises.

use tower_lsp_server::ls_types::{ClientInfo, InitializeParams};

/// The editors reverie knows by name (for what they handle without advertising it, and for saying
/// where their settings live).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Editor {
    Helix,
    Neovim,
    VsCode,
    #[default]
    Other,
}

/// What the client told us it can do (or is known to do).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientSupport {
    pub editor: Editor,
    pub work_done_progress: bool,
    /// `window/showDocument`: answers open as documents.
    pub show_document: bool,
    pub watched_files_registration: bool,
    /// `reverie/status` notifications: only for a client that declares it handles them
    /// (`ext::STATUS_NOTIFICATION_CAPABILITY`); others log each as unhandled (Helix).
    pub status_notifications: bool,
}

/// Helix handles `window/showDocument` since 24.03 without advertising it (`handle_show_document`
/// in helix-term's application.rs).
const HELIX_SHOWS_DOCUMENTS_SINCE: (u32, u32) = (24, 3);

impl ClientSupport {
    pub fn from_initialize(params: &InitializeParams) -> ClientSupport {
        let info = params.client_info.as_ref();
        let editor = info.map_or(Editor::Other, |info| Editor::from_name(&info.name));
        let version = info.and_then(|info| info.version.as_deref()).and_then(calendar_version);
        let window = params.capabilities.window.as_ref();
        let advertised_show_document = window.and_then(|w| w.show_document.as_ref()).is_some_and(|s| s.support);
        let known_show_document =
            editor == Editor::Helix && version.is_some_and(|version| version >= HELIX_SHOWS_DOCUMENTS_SINCE);
        ClientSupport {
            editor,
            work_done_progress: window.and_then(|w| w.work_done_progress).unwrap_or(false),
            show_document: advertised_show_document || known_show_document,
            watched_files_registration: params
                .capabilities
                .workspace
                .as_ref()
                .and_then(|w| w.did_change_watched_files.as_ref())
                .and_then(|d| d.dynamic_registration)
                .unwrap_or(false),
            status_notifications: params
                .capabilities
                .experimental
                .as_ref()
                .and_then(|experimental| experimental.pointer(super::ext::STATUS_NOTIFICATION_CAPABILITY))
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
        }
    }

    /// One line for the log: who the client is and what reverie will do with it, e.g. `client
    /// code-server 1.100.3 (VS Code): answers open as documents; progress shown; file changes from
    /// the disk and the client`.
    pub fn describe(&self, info: Option<&ClientInfo>) -> String {
        let who = match info {
            Some(ClientInfo { name, version: Some(version) }) => format!("{name} {version}"),
            Some(ClientInfo { name, version: None }) => name.clone(),
            None => "without clientInfo".to_string(),
        };
        let editor = match self.editor {
            Editor::Helix => " (Helix)",
            Editor::Neovim => " (Neovim)",
            Editor::VsCode => " (VS Code)",
            Editor::Other => "",
        };
        let answers = if self.show_document { "answers open as documents" } else { "answers shown as messages" };
        let progress = if self.work_done_progress { "progress shown" } else { "no progress (status only)" };
        let watching = if self.watched_files_registration {
            "file changes from the disk and the client"
        } else {
            "file changes from the disk"
        };
        let status = if self.status_notifications { "; status notifications" } else { "" };
        format!("client {who}{editor}: {answers}; {progress}; {watching}{status}")
    }
}

impl Editor {
    /// From `clientInfo.name`: Helix sends `helix`, Neovim `Neovim`, VS Code its application name
    /// (`Visual Studio Code`, `code-server`, `VSCodium`, `Code - OSS`, …).
    pub fn from_name(name: &str) -> Editor {
        let name = name.to_ascii_lowercase();
        if name == "helix" {
            Editor::Helix
        } else if name == "neovim" || name == "nvim" {
            Editor::Neovim
        } else if name.contains("visual studio code")
            || name.contains("vscode")
            || name.contains("vscodium")
            || name.starts_with("code")
        {
            Editor::VsCode
        } else {
            Editor::Other
        }
    }

    /// The title of a `$/progress` ("indexing"): Helix shows it after the server's name already
    /// ("reverie: indexing ⋅ 3/8 files"); other clients show it alone, so it names reverie itself.
    pub fn progress_title(self, what: &str) -> String {
        if self == Editor::Helix { what.to_string() } else { format!("reverie: {what}") }
    }

    /// Whether the editor shows a server's message as one status line — line breaks dropped, cut at
    /// the terminal's width (Helix) — so a message must say what matters first, on one line.
    pub fn one_line_messages(self) -> bool {
        self == Editor::Helix
    }

    /// How to configure a model from inside this editor, for the "no model" message (one line for
    /// an editor with `one_line_messages`).
    pub fn how_to_configure_model(self) -> &'static str {
        match self {
            Editor::Helix => {
                "reverie is running on facts alone. To let it think, add under [language-server.reverie.config] in Helix's languages.toml: llm = { provider = \"openai\", model = \"...\", base_url = \"http://localhost:11434/v1\" }, then :lsp-restart."
            }
            Editor::Neovim => {
                "From Neovim: require(\"reverie\").setup{ settings = { llm = { provider = \"openai\", model = \"...\", base_url = \"http://localhost:11434/v1\" } } }, then :LspRestart (or restart Neovim)."
            }
            Editor::VsCode => {
                "From VS Code: in Settings, search for reverie.llm and set reverie.llm.provider, reverie.llm.model and reverie.llm.baseUrl (the server restarts by itself)."
            }
            Editor::Other => {
                "From your editor: send the same keys as initializationOptions or workspace/didChangeConfiguration settings, e.g. {\"llm\": {\"provider\": \"openai\", \"model\": \"...\"}}."
            }
        }
    }
}

/// `25.07.1 (a1b2c3d4)`, `25.7.1`, `24.03` → (25, 7), (25, 7), (24, 3).
fn calendar_version(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editors_are_known_by_client_info_name() {
        assert_eq!(Editor::from_name("helix"), Editor::Helix);
        assert_eq!(Editor::from_name("Neovim"), Editor::Neovim);
        for name in ["Visual Studio Code", "code-server", "VSCodium", "Code - OSS", "Visual Studio Code - Insiders"] {
            assert_eq!(Editor::from_name(name), Editor::VsCode, "{name}");
        }
        assert_eq!(Editor::from_name("Emacs"), Editor::Other);
    }

    #[test]
    fn progress_titles_name_reverie_once() {
        assert_eq!(Editor::Helix.progress_title("indexing"), "indexing");
        for editor in [Editor::Neovim, Editor::VsCode, Editor::Other] {
            assert_eq!(editor.progress_title("indexing"), "reverie: indexing");
        }
        // Every progress the server begins (the history and share passes once titled themselves
        // "reverie: …", which read "reverie: reverie: history" in every editor).
        for work in super::super::pass::Work::ALL {
            let title = Editor::Helix.progress_title(work.word());
            assert!(!title.contains("reverie"), "{title}");
            assert_eq!(Editor::VsCode.progress_title(work.word()).matches("reverie").count(), 1, "{work:?}");
        }
    }

    #[test]
    fn status_notifications_go_to_clients_that_declare_them() {
        let params = |experimental: serde_json::Value| -> InitializeParams {
            serde_json::from_value(serde_json::json!({"capabilities": {"experimental": experimental}})).unwrap()
        };
        let declared = params(serde_json::json!({"reverie": {"statusNotification": true}}));
        assert!(ClientSupport::from_initialize(&declared).status_notifications);
        for other in [serde_json::json!(null), serde_json::json!({"reverie": {}}), serde_json::json!({"x": 1})] {
            assert!(!ClientSupport::from_initialize(&params(other.clone())).status_notifications, "{other}");
        }
    }

    #[test]
    fn the_client_is_described_in_words() {
        let support = ClientSupport {
            editor: Editor::VsCode,
            work_done_progress: true,
            show_document: false,
            watched_files_registration: true,
            status_notifications: true,
        };
        let info = ClientInfo { name: "code-server".into(), version: Some("1.100.3".into()) };
        assert_eq!(
            support.describe(Some(&info)),
            "client code-server 1.100.3 (VS Code): answers shown as messages; progress shown; file changes from the disk and the client; status notifications"
        );
        assert_eq!(
            ClientSupport::default().describe(None),
            "client without clientInfo: answers shown as messages; no progress (status only); file changes from the disk"
        );
    }

    #[test]
    fn calendar_versions_parse_with_or_without_padding_and_hash() {
        assert_eq!(calendar_version("25.07.1 (a1b2c3d4)"), Some((25, 7)));
        assert_eq!(calendar_version("25.7.1"), Some((25, 7)));
        assert_eq!(calendar_version("24.03"), Some((24, 3)));
        assert_eq!(calendar_version("23.10 (deadbeef)"), Some((23, 10)));
        assert_eq!(calendar_version("nightly"), None);
    }
}
