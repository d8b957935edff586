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
//! ```

use crate::workspace::WalkOptions;
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};

/// The workspace configuration file's name.
pub const WORKSPACE_CONFIG_FILE: &str = "reverie.toml";

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Config {
    pub index: IndexConfig,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default)]
pub struct IndexConfig {
    #[serde(deserialize_with = "byte_size")]
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
        WalkOptions { max_file_size: self.max_file_size, follow_symlinks: self.follow_symlinks }
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
    /// Loads the configuration that applies to the workspace at `root`.
    pub fn load(root: &Path) -> (Config, Vec<ConfigProblem>) {
        let mut files = Vec::new();
        if let Some(user) = user_config_file() {
            files.push(user);
        }
        files.push(root.join(WORKSPACE_CONFIG_FILE));
        let mut merged = toml::Table::new();
        let mut problems = Vec::new();
        for file in files {
            let text = match std::fs::read_to_string(&file) {
                Ok(text) => text,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => {
                    problems.push(ConfigProblem(format!("{}: cannot be read ({err}); ignoring it", file.display())));
                    continue;
                }
            };
            match Config::parse(&text) {
                Ok((_, unknown)) => {
                    problems.extend(unknown.into_iter().map(|key| {
                        ConfigProblem(format!(
                            "{}: unknown key `{key}` ignored (see the README for the keys)",
                            file.display()
                        ))
                    }));
                    if let Ok(table) = text.parse::<toml::Table>() {
                        merge(&mut merged, table);
                    }
                }
                Err(err) => {
                    problems.push(ConfigProblem(format!("{}: {err}; using the defaults for it", file.display())))
                }
            }
        }
        let config = Config::parse(&toml::to_string(&merged).unwrap_or_default()).map(|(c, _)| c).unwrap_or_default();
        (config, problems)
    }

    /// Parses one TOML document, returning the config and the keys it did not know.
    pub fn parse(text: &str) -> Result<(Config, Vec<String>), String> {
        let mut unknown = Vec::new();
        let deserializer =
            toml::Deserializer::parse(text).map_err(|err| format!("is not valid TOML: {}", err.message()))?;
        let config = serde_ignored::deserialize(deserializer, |path| unknown.push(path.to_string()))
            .map_err(|err| format!("has a bad value: {}", err.message()))?;
        Ok((config, unknown))
    }
}

fn merge(into: &mut toml::Table, from: toml::Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(existing)), toml::Value::Table(new)) => merge(existing, new),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// Parses a size given as bytes (`1048576`) or with a unit (`512KiB`, `1MiB`, `2MB`, `1G`).
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("`{text}` is not a size like 1048576, 512KiB or 1MiB"))?;
    let multiplier = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("unknown size unit `{other}` in `{text}` (use B, KiB, MiB, GiB, KB, MB or GB)")),
    };
    Ok((number * multiplier) as u64)
}

fn byte_size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    match Size::deserialize(deserializer)? {
        Size::Bytes(bytes) => Ok(bytes),
        Size::Text(text) => parse_byte_size(&text).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_byte_size("1048576"), Ok(1048576));
        assert_eq!(parse_byte_size("1MiB"), Ok(1048576));
        assert_eq!(parse_byte_size("512 KiB"), Ok(524288));
        assert_eq!(parse_byte_size("2MB"), Ok(2_000_000));
        assert!(parse_byte_size("lots").is_err());
        assert!(parse_byte_size("3 parsecs").is_err());
    }

    #[test]
    fn unknown_keys_are_reported_not_fatal() {
        let (config, unknown) =
            Config::parse("[index]\nmax_file_size = \"2MiB\"\nmax_fiel_size = 3\n[sever]\n").unwrap();
        assert_eq!(config.index.max_file_size, 2 * 1024 * 1024);
        assert_eq!(unknown, vec!["index.max_fiel_size".to_string(), "sever".to_string()]);
    }

    #[test]
    fn wrong_types_name_the_problem() {
        let err = Config::parse("[index]\nfollow_symlinks = \"yes\"\n").unwrap_err();
        assert!(err.contains("bad value"), "{err}");
        let err = Config::parse("[index\n").unwrap_err();
        assert!(err.contains("not valid TOML"), "{err}");
    }
}
