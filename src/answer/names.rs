//! Which words of a question really name code. "Where is the session cookie signed?" uses
//! `session` as a word, not as the global `flask.globals.session`; "why does `load_settings` fail?"
//! names a function. Getting this wrong sends plain words into the exact-name channel, where they
//! outrank the code the question is about, and lets a structural answer fire on the wrong symbol.
//!
//! A word names a definition when the workspace defines it and the question writes it as code:
//! - code-shaped: snake_case, camelCase/CamelCase, with digits, dotted (`Flask.make_response`) —
//!   but a leading part that names one of the workspace's packages or modules (`django` in
//!   `django.db.models.F()`) is a path, not a definition;
//! - marked: in backticks, or called (`register()`);
//! - or rare: a plain word that only a few files use at all (it is a name more than a word).
//!
//! Files named in the question (`django/db/models/query.py`, `query.py`, `django.db.models.query`)
//! are found here too. Pure.

use crate::search::TextIndex;
use crate::snapshot::Snapshot;
use std::collections::HashSet;

/// A plain word counts as a name when at most this share of files use it.
const RARE_FILE_SHARE: f64 = 0.01;
/// A plain word must also be at least this long to count as a rare name.
const MIN_RARE_LEN: usize = 5;

/// A name the question uses, and why it counts as one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub name: String,
    /// Written as code (shape, backticks, a call, a dotted path); else rare.
    pub as_code: bool,
    /// The qualifier of a dotted name (`Flask` in `Flask.make_response`).
    pub qualifier: Option<String>,
}

/// Identifier-like words of `text`, in order, once each.
pub fn identifiers_in(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_'))
        .filter(|w| seen.insert(w.to_string()))
        .map(str::to_string)
        .collect()
}

/// Whether `name` looks like code rather than a word: an underscore, a capital after the first
/// letter, or a digit.
pub fn is_code_shaped(name: &str) -> bool {
    name.contains('_') || name.chars().skip(1).any(char::is_uppercase) || name.chars().any(|c| c.is_ascii_digit())
}

/// What a question writes as code.
struct CodeMarks {
    /// Inside backticks, followed by `(`, or the last part of a dotted path.
    marked: HashSet<String>,
    /// The other parts of dotted paths: `django`, `db`, `models` in `django.db.models.F`, `Flask` in
    /// `Flask.make_response`.
    dotted_prefixes: HashSet<String>,
    /// Neighbouring parts of dotted paths (qualifier, member).
    dotted: Vec<(String, String)>,
}

fn marked_as_code(text: &str) -> CodeMarks {
    let mut marked = HashSet::new();
    let mut dotted_prefixes = HashSet::new();
    let mut dotted = Vec::new();
    for (i, piece) in text.split('`').enumerate() {
        if i % 2 == 1 && piece.len() < 120 {
            marked.extend(identifiers_in(piece));
        }
    }
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_alphanumeric() || chars[i] == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect::<String>().trim_end_matches('.').to_string();
            if i < chars.len()
                && chars[i] == '('
                && let Some(last) = word.rsplit('.').next()
            {
                marked.insert(last.to_string());
            }
            let parts: Vec<&str> = word.split('.').filter(|p| !p.is_empty()).collect();
            if parts.len() >= 2 && parts.iter().all(|p| p.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_'))
            {
                for pair in parts.windows(2) {
                    dotted.push((pair[0].to_string(), pair[1].to_string()));
                }
                if let Some((last, prefixes)) = parts.split_last() {
                    marked.insert(last.to_string());
                    dotted_prefixes.extend(prefixes.iter().map(|p| p.to_string()));
                }
            }
        } else {
            i += 1;
        }
    }
    CodeMarks { marked, dotted_prefixes, dotted }
}

/// Whether `word` is the name of one of the workspace's folders or files (without extension): as a
/// leading part of a dotted path it names a package or module (`django` in `django.db.models.F`),
/// which `files_named_in` handles, not a definition.
fn names_a_module(snapshot: &Snapshot, word: &str) -> bool {
    snapshot.files.keys().any(|path| {
        path.split('/').any(|part| part == word || part.rsplit_once('.').is_some_and(|(stem, _)| stem == word))
    })
}

/// The names the question uses (see the module docs), most specific first.
pub fn names_in(snapshot: &Snapshot, text_index: &TextIndex, question: &str) -> Vec<Name> {
    let CodeMarks { marked, dotted_prefixes, dotted } = marked_as_code(question);
    let mut names = Vec::new();
    for word in identifiers_in(question) {
        if word.len() < 3 || !snapshot.definitions_by_name.contains_key(&word) {
            continue;
        }
        let as_code = is_code_shaped(&word)
            || marked.contains(&word)
            || (dotted_prefixes.contains(&word) && !names_a_module(snapshot, &word));
        let rare = word.len() >= MIN_RARE_LEN && {
            let share =
                crate::terms::tokenize(&word).iter().map(|t| text_index.file_share(t)).fold(f64::INFINITY, f64::min);
            share <= RARE_FILE_SHARE
        };
        if as_code || rare {
            let qualifier = dotted.iter().find(|(_, member)| *member == word).map(|(q, _)| q.clone());
            names.push(Name { name: word, as_code, qualifier });
        }
    }
    names.sort_by_key(|n| snapshot.definitions_by_name.count(&n.name));
    names
}

/// Files the question names by path (`src/app.py`, `app.py` when unique) or as a dotted module
/// (`flask.app`), in the order they appear — except a Python traceback's frames, which come first
/// and innermost first: "most recent call last" puts the code that failed at the bottom.
pub fn files_named_in(snapshot: &Snapshot, question: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |key: &str| {
        if !out.iter().any(|k| k == key) {
            out.push(key.to_string());
        }
    };
    if question.contains("most recent call last") {
        let frames: Vec<&str> =
            question.lines().filter_map(|line| line.trim_start().strip_prefix("File \"")?.split('"').next()).collect();
        for frame in frames.iter().rev() {
            let matches = files_at_path(snapshot, &frame.replace('\\', "/"));
            if matches.len() <= 2 {
                matches.iter().for_each(|k| push(k));
            }
        }
    }
    for raw in question.split(|c: char| c.is_whitespace() || "\"'`()[]{}<>,;:".contains(c)) {
        let word = raw.trim_matches(|c: char| c == '.' || c == '/');
        if word.len() < 4 {
            continue;
        }
        if word.contains(['/', '\\']) || has_source_extension(word) {
            let word = word.trim_start_matches("./").replace('\\', "/");
            let matches = files_at_path(snapshot, &word);
            if matches.len() <= 2 {
                matches.iter().for_each(|k| push(k));
            }
        } else if word.contains('.') && word.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            // A dotted module path, maybe followed by members: the longest prefix that is a file.
            let parts: Vec<&str> = word.split('.').collect();
            'prefixes: for take in (2..=parts.len()).rev() {
                let as_path = parts[..take].join("/");
                for candidate in [format!("{as_path}.py"), format!("{as_path}/__init__.py")] {
                    let matches: Vec<&str> = snapshot
                        .files
                        .keys()
                        .map(|k| &**k)
                        .filter(|k| *k == candidate || k.ends_with(&format!("/{candidate}")))
                        .collect();
                    if matches.len() == 1 {
                        push(matches[0]);
                        break 'prefixes;
                    }
                }
            }
        }
    }
    out
}

/// The files a written path points at: those whose path ends with the same folders and name, as many
/// of them as the path has or at least two (a folder and the name) — a relative path (`app.py`,
/// `flask/app.py`) or another machine's copy of the tree (a traceback's
/// `/usr/lib/python3/site-packages/django/db/models/query.py`). Only the files that share the
/// longest such tail.
pub(super) fn files_at_path<'a>(snapshot: &'a Snapshot, path: &str) -> Vec<&'a str> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let needed = parts.len().min(2);
    let mut best = (needed, Vec::new());
    for key in snapshot.files.keys() {
        let shared = key.rsplit('/').zip(parts.iter().rev()).take_while(|(a, b)| a == *b).count();
        if shared > best.0 {
            best = (shared, vec![&**key]);
        } else if shared == best.0 && shared > 0 {
            best.1.push(&**key);
        }
    }
    best.1
}

fn has_source_extension(word: &str) -> bool {
    let Some((stem, ext)) = word.rsplit_once('.') else { return false };
    !stem.is_empty() && crate::syntax::Language::from_extension(ext).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_split_and_deduplicated() {
        assert_eq!(
            identifiers_in("Why does store.open_db() fail? open_db again, 42x"),
            vec!["Why", "does", "store", "open_db", "fail", "again"]
        );
    }

    #[test]
    fn plain_words_that_happen_to_name_definitions_are_not_names() {
        let mut files = vec![
            ("globals.py", "session = None\ndef get(key):\n    return session\n".to_string()),
            ("sessions.py", "def get_signing_serializer(app):\n    return sign(app.secret_key)\n".to_string()),
        ];
        // Many files use the words "session" and "get": they are vocabulary, not names.
        for i in 0..120 {
            files.push((
                Box::leak(format!("m{i}.py").into_boxed_str()),
                "def f():\n    return session.get('x')\n".to_string(),
            ));
        }
        let files: Vec<(&str, &str)> = files.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let snapshot = Snapshot::of_python(&files);
        let index = snapshot.text_index();
        let names = |q: &str| -> Vec<String> { names_in(&snapshot, &index, q).into_iter().map(|n| n.name).collect() };
        assert!(names("where is the session cookie signed?").is_empty());
        assert!(names("how do I get a value?").is_empty());
        assert_eq!(names("where is `session` defined?"), ["session"]);
        assert_eq!(names("what calls get_signing_serializer?"), ["get_signing_serializer"]);
        assert_eq!(names("why does get() return None?"), ["get"]);
    }

    #[test]
    fn leading_parts_of_a_dotted_path_that_name_packages_are_not_names() {
        let snapshot = Snapshot::of_python(&[
            ("django/db/models/expressions.py", "class F:\n    pass\n"),
            ("django/contrib/gis/geomtype.py", "class OGRGeomType:\n    def django(self):\n        pass\n"),
            ("flask/app.py", "class Flask:\n    def make_response(self):\n        pass\n"),
        ]);
        let index = snapshot.text_index();
        let names = |q: &str| -> Vec<String> { names_in(&snapshot, &index, q).into_iter().map(|n| n.name).collect() };
        assert!(!names("F() deconstructed to django.db.models.expressions.F()").contains(&"django".to_string()));
        assert_eq!(names("what does Flask.make_response do?"), ["Flask", "make_response"]);
        assert_eq!(names("see `django` on the geometry type"), ["django"]);
    }

    #[test]
    fn files_are_found_by_path_and_by_module() {
        let snapshot = Snapshot::of_python(&[
            ("src/flask/app.py", "def run():\n    pass\n"),
            ("src/flask/sessions.py", "def sign():\n    pass\n"),
        ]);
        assert_eq!(files_named_in(&snapshot, "In src/flask/app.py, line 3"), ["src/flask/app.py"]);
        assert_eq!(files_named_in(&snapshot, "File \"sessions.py\", line 9"), ["src/flask/sessions.py"]);
        let traceback = "File \"/usr/lib/python3/site-packages/flask/app.py\", line 3, in run";
        assert_eq!(files_named_in(&snapshot, traceback), ["src/flask/app.py"]);
        assert_eq!(files_named_in(&snapshot, r"File C:\Python\Lib\flask\sessions.py"), ["src/flask/sessions.py"]);
        assert!(files_named_in(&snapshot, "see /home/me/other/app.py").is_empty());
        let frames = "Traceback (most recent call last):\n  File \"/srv/flask/app.py\", line 3, in run\n    \
                      sign()\n  File \"/srv/flask/sessions.py\", line 2, in sign\nValueError: bad";
        assert_eq!(files_named_in(&snapshot, frames), ["src/flask/sessions.py", "src/flask/app.py"]);
        assert_eq!(files_named_in(&snapshot, "see flask.sessions.sign"), ["src/flask/sessions.py"]);
        assert_eq!(files_named_in(&snapshot, "the module flask.app is slow"), ["src/flask/app.py"]);
        assert!(files_named_in(&snapshot, "e.g. this works").is_empty());
    }
}
