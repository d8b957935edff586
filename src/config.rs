//! Configuration: defaults, then `$XDG_CONFIG_HOME/reverie/config.toml`, then the workspace's
//! `reverie.toml` (the workspace wins), then command-line flags.
//!
//! A bad configuration never stops reverie: an unknown key is reported and ignored, a file that does
//! not parse or has a value of the wrong type is reported and skipped (its defaults apply), and every
//! report names the file, the key and what to do. Example `reverie.toml`:
//!
//! ```toml
//! [index]
//! max_file_size = "2MiB"     # or a number of bytes
//! follow_symlinks = false
//!
//! [server]
//! idle_after = "20s"         # quiet time before reverie starts thinking
//! ```
//!
//! The language server adds two more layers on top, with the same keys: the client's
//! `initializationOptions` and `workspace/didChangeConfiguration` settings (as JSON).

use crate::workspace::WalkOptions;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The workspace configuration file's name.
pub const WORKSPACE_CONFIG_FILE: &str = "reverie.toml";

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Config {
    pub index: IndexConfig,
    pub server: ServerConfig,
    pub llm: crate::llm::LlmConfig,
    pub sleep: crate::sleep::SleepConfig,
    pub embed: crate::embed::EmbedConfig,
    pub share: crate::share::ShareConfig,
}

impl Config {
    /// The completion budget of a test-time answer.
    pub fn llm_answer_tokens(&self) -> u32 {
        self.llm.answer_tokens
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// How long the editor must be quiet before reverie counts the user as idle.
    #[serde(deserialize_with = "crate::units::de_duration")]
    pub idle_after: std::time::Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { idle_after: std::time::Duration::from_secs(20) }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default)]
pub struct IndexConfig {
    #[serde(deserialize_with = "crate::units::de_byte_size")]
    pub max_file_size: u64,
    pub follow_symlinks: bool,
}

impl Default for IndexConfig {
    fn default() -> Self {
        let walk = WalkOptions::default();
        IndexConfig { max_file_size: walk.max_file_size, follow_symlinks: walk.follow_symlinks }
    }
}

impl IndexConfig {
    pub fn walk_options(&self) -> WalkOptions {
        WalkOptions { max_file_size: self.max_file_size, follow_symlinks: self.follow_symlinks, excluded: Vec::new() }
    }
}

/// A problem found in a configuration file, worded for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem(pub String);

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The user-level configuration file, if a config directory is known.
pub fn user_config_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("reverie").join("config.toml"))
}

impl Config {
    /// Loads the configuration that applies to the workspace at `root` from the configuration files.
    pub fn load(root: &Path) -> (Config, Vec<ConfigProblem>) {
        Config::from_layers(file_layers(root))
    }

    /// Merges configuration layers, later ones winning key by key. A layer with an unknown key keeps
    /// its other keys; a layer with a value of the wrong type is dropped whole. Problems name the
    /// layer and the key.
    pub fn from_layers(layers: Vec<Layer>) -> (Config, Vec<ConfigProblem>) {
        let mut merged = serde_json::Value::Object(Default::default());
        let mut problems = Vec::new();
        for layer in layers {
            let value = match layer.value {
                Ok(value) => value,
                Err(err) => {
                    problems.push(ConfigProblem(format!("{}: {err}; ignoring it", layer.source)));
                    continue;
                }
            };
            match Config::parse_value(value.clone()) {
                Ok((_, unknown)) => {
                    problems.extend(unknown.into_iter().map(|key| {
                        ConfigProblem(format!(
                            "{}: unknown key `{key}` ignored (see the README for the keys)",
                            layer.source
                        ))
                    }));
                    merge(&mut merged, value);
                }
                Err(err) => problems.push(ConfigProblem(format!("{}: {err}; using the defaults for it", layer.source))),
            }
        }
        let config = Config::parse_value(merged).map(|(c, _)| c).unwrap_or_default();
        (config, problems)
    }

    /// Parses one TOML document, returning the config and the keys it did not know.
    pub fn parse(text: &str) -> Result<(Config, Vec<String>), String> {
        Config::parse_value(toml_to_json(text)?)
    }

    fn parse_value(value: serde_json::Value) -> Result<(Config, Vec<String>), String> {
        let mut unknown = Vec::new();
        let mut record = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
        let ignoring = serde_ignored::Deserializer::new(value, &mut record);
        let config = serde_path_to_error::deserialize(ignoring)
            .map_err(|err| format!("has a bad value for `{}`: {}", err.path(), err.inner()))?;
        Ok((config, unknown))
    }
}

/// One source of configuration: a file, the client's initialization options, its settings.
#[derive(Clone, Debug)]
pub struct Layer {
    /// Where it came from, as shown in problems (a path, `initializationOptions`, ...).
    pub source: String,
    /// The settings, or why they could not be read.
    pub value: Result<serde_json::Value, String>,
}

/// The layers from the user's and the workspace's configuration files that exist and parse.
pub fn file_layers(root: &Path) -> Vec<Layer> {
    let mut files = Vec::new();
    if let Some(user) = user_config_file() {
        files.push(user);
    }
    files.push(root.join(WORKSPACE_CONFIG_FILE));
    let mut layers = Vec::new();
    for file in files {
        let source = file.display().to_string();
        let value = match std::fs::read_to_string(&file) {
            Ok(text) => toml_to_json(&text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => Err(format!("cannot be read ({err})")),
        };
        layers.push(Layer { source, value });
    }
    layers
}

fn toml_to_json(text: &str) -> Result<serde_json::Value, String> {
    let table: toml::Table =
        text.parse().map_err(|err: toml::de::Error| format!("is not valid TOML: {}", err.message()))?;
    serde_json::to_value(table).map_err(|err| format!("is not valid TOML: {err}"))
}

fn merge(into: &mut serde_json::Value, from: serde_json::Value) {
    match (into, from) {
        (serde_json::Value::Object(existing), serde_json::Value::Object(new)) => {
            for (key, value) in new {
                match existing.get_mut(&key) {
                    Some(slot) if slot.is_object() && value.is_object() => merge(slot, value),
                    _ => {
                        existing.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_reported_not_fatal() {
        let (config, unknown) =
            Config::parse("[index]\nmax_file_size = \"2MiB\"\nmax_fiel_size = 3\n[sever]\n").unwrap();
        assert_eq!(config.index.max_file_size, 2 * 1024 * 1024);
        assert_eq!(unknown, vec!["index.max_fiel_size".to_string(), "sever".to_string()]);
    }

    #[test]
    fn layers_merge_and_later_ones_win() {
        let layers = vec![
            Layer {
                source: "user".into(),
                value: Ok(serde_json::json!({"index": {"max_file_size": 10, "follow_symlinks": true}})),
            },
            Layer { source: "workspace".into(), value: Ok(serde_json::json!({"index": {"max_file_size": "1KiB"}})) },
            Layer {
                source: "initializationOptions".into(),
                value: Ok(serde_json::json!({"server": {"idle_after": "500ms"}, "bogus": 1})),
            },
            Layer { source: "settings".into(), value: Ok(serde_json::json!({"server": {"idle_after": "soon"}})) },
        ];
        let (config, problems) = Config::from_layers(layers);
        assert_eq!(config.index.max_file_size, 1024);
        assert!(config.index.follow_symlinks);
        assert_eq!(config.server.idle_after, std::time::Duration::from_millis(500));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].0.starts_with("initializationOptions: unknown key `bogus`"), "{problems:?}");
        assert!(problems[1].0.starts_with("settings: has a bad value"), "{problems:?}");
    }

    #[test]
    fn the_embed_section_has_defaults_and_reports_bad_values() {
        let (config, unknown) = Config::parse("").unwrap();
        assert!(unknown.is_empty());
        assert_eq!((config.embed.provider.name(), config.embed.model.as_str()), ("local", "all-MiniLM-L6-v2"));
        assert_eq!((config.embed.max_tokens, config.embed.batch, config.embed.threads), (64, None, None));
        let (config, _) = Config::parse(
            "[embed]\nprovider = \"openai\"\nmodel = \"nomic-embed-text\"\nbase_url = \"http://127.0.0.1:11434/v1\"\n\
             api_key_env = \"EMBED_KEY\"\nbatch = 16\nthreads = 2\nmax_tokens = 256\n",
        )
        .unwrap();
        assert_eq!(config.embed.provider, crate::embed::EmbedProvider::OpenAi);
        assert_eq!((config.embed.batch, config.embed.threads, config.embed.max_tokens), (Some(16), Some(2), 256));
        assert_eq!(config.embed.api_key_env.as_deref(), Some("EMBED_KEY"));
        for bad in ["provider = \"onnx\"", "batch = 0", "max_tokens = 0", "threads = -1"] {
            let err = Config::parse(&format!("[embed]\n{bad}\n")).unwrap_err();
            assert!(err.contains("embed."), "{bad}: {err}");
        }
        // Never fatal: the layer with the mistake is reported, the defaults apply.
        let layers = vec![Layer {
            source: "reverie.toml".into(),
            value: Ok(serde_json::json!({"embed": {"provider": "onnx"}})),
        }];
        let (config, problems) = Config::from_layers(layers);
        assert_eq!(config.embed, crate::embed::EmbedConfig::default());
        assert!(
            problems[0].0.contains("`embed.provider`") && problems[0].0.contains("use local, openai or none"),
            "{problems:?}"
        );
    }

    #[test]
    fn closed_sets_name_the_file_the_key_and_the_allowed_values() {
        let (config, unknown) =
            Config::parse("[llm]\nprovider = \"anthropic\"\n[sleep]\nnotes = [\"summary\", \"module\"]\n").unwrap();
        assert!(unknown.is_empty());
        assert_eq!(config.llm.provider, crate::llm::LlmProvider::Anthropic);
        assert_eq!(config.sleep.kinds(), [crate::sleep::NoteKind::FileSummary, crate::sleep::NoteKind::ModuleSummary]);
        assert_eq!(Config::parse("[llm]\nprovider = \"\"\n").unwrap().0.llm.provider, crate::llm::LlmProvider::None);
        assert_eq!(Config::default().sleep.kinds(), crate::sleep::NoteKind::ALL);
        let cases = [
            (
                serde_json::json!({"llm": {"provider": "ollama"}}),
                "reverie.toml: has a bad value for `llm.provider`: `ollama` is not a provider; use openai, anthropic, local or none",
            ),
            (
                serde_json::json!({"embed": {"provider": "onnx"}}),
                "reverie.toml: has a bad value for `embed.provider`: `onnx` is not a provider; use local, openai or none",
            ),
            (
                serde_json::json!({"sleep": {"notes": ["summary", "sumary"]}}),
                "reverie.toml: has a bad value for `sleep.notes`: `sumary` is not a note kind; use summary, playbook, questions, module or overview",
            ),
        ];
        for (value, expected) in cases {
            let (config, problems) =
                Config::from_layers(vec![Layer { source: "reverie.toml".into(), value: Ok(value) }]);
            assert_eq!(config, Config::default(), "the layer with the mistake is skipped");
            assert_eq!(problems, [ConfigProblem(format!("{expected}; using the defaults for it"))]);
        }
    }

    #[test]
    fn wrong_types_name_the_problem() {
        let err = Config::parse("[index]\nfollow_symlinks = \"yes\"\n").unwrap_err();
        assert!(err.contains("bad value"), "{err}");
        let err = Config::parse("[index\n").unwrap_err();
        assert!(err.contains("not valid TOML"), "{err}");
    }
}
