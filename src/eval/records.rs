//! The question-set format of the localization dev set (`shared/data/README.md`): one JSON record
//! per line, naming the PyPI release its workspace is made of, the question and the gold files.
//! Pure: text in, records out; a malformed line is an error that names the line.

use serde::{Deserialize, Serialize};

/// One record of a question set (the JSON-lines format of the dev set).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    #[serde(default)]
    pub repo: String,
    pub pypi: Release,
    pub question: String,
    pub gold_paths: Vec<String>,
    /// The upstream commit the fix was written against (for asking with history, in a git working
    /// copy at that commit).
    #[serde(default)]
    pub base_commit: Option<String>,
    /// `owner/name` of a repository that holds `base_commit` with its history.
    #[serde(default)]
    pub git_mirror: Option<String>,
    /// The gold files relative to the repository root (`gold_paths` are relative to the sdist).
    #[serde(default)]
    pub gold_paths_git: Option<Vec<String>>,
}

/// The PyPI release a record's workspace is made of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub package: String,
    pub version: String,
}

impl Record {
    /// The workspace folder's name: `<package>-<version>`.
    pub fn workspace(&self) -> String {
        format!("{}-{}", self.pypi.package, self.pypi.version)
    }

    /// Whether `filter` names this record's project: its package (`Django`), its repository
    /// (`django/django`) or its release (`Django==4.0.3`, `Django-4.0.3`); case does not matter.
    pub fn matches(&self, filter: &str) -> bool {
        let f = filter.to_lowercase();
        f == self.pypi.package.to_lowercase()
            || f == self.repo.to_lowercase()
            || f == format!("{}=={}", self.pypi.package, self.pypi.version).to_lowercase()
            || f == self.workspace().to_lowercase()
    }
}

/// Parses JSON lines (blank lines are skipped); an error names the line.
pub fn parse_records(text: &str) -> Result<Vec<Record>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_and_match_filters() {
        let text = r#"{"id": "django__django-1", "repo": "django/django", "pypi": {"package": "Django", "version": "4.0.3"}, "question": "Q", "gold_paths": ["django/a.py"]}

{"id": "x", "pypi": {"package": "sympy", "version": "1.1.1"}, "question": "Q2", "gold_paths": []}"#;
        let records = parse_records(text).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].workspace(), "Django-4.0.3");
        for filter in ["django", "Django", "django/django", "Django==4.0.3", "django-4.0.3"] {
            assert!(records[0].matches(filter), "{filter}");
        }
        assert!(!records[0].matches("Django==4.0.4"));
        assert!(records[1].matches("SymPy"));
        assert!(parse_records("{}\n").unwrap_err().starts_with("line 1:"));
    }
}
