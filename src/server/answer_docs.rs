//! Answer documents: the markdown file an answer opens as (`window/showDocument`), written to the
//! cache's `answers` folder, the newest `KEPT_ANSWER_FILES` kept.
//!
//! Guarantees: every citation of a workspace file in a document is a link to the real file and line
//! (`links.rs`), and the context items its text does not cite are listed after it, so every file the
//! answer used is one `gf` or click away. The documents are never workspace files: an editor opens
//! them (and sends `didOpen`), but they lie in reverie's cache, so `Session::workspace_key` gives
//! them no key and they are never indexed, counted or cited.

use super::links::Target;
use crate::answer::Answer;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Answer documents kept in the cache (the newest; an editor may still show the older ones).
const KEPT_ANSWER_FILES: usize = 50;

/// The folder answer documents are written to (created; symbolic links resolved, so the relative
/// links in a document lead where they should), or `None` when the cache cannot be written.
pub fn folder(cache_dir: Option<&Path>) -> Option<PathBuf> {
    let dir = crate::dirs::cache_root(cache_dir).ok()?.join("answers");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.canonicalize().unwrap_or(dir))
}

/// The document for `answer` to `question`, to be written in `folder` (`None`: shown elsewhere, as a
/// log message): the answer with its citations linked, the items it used but does not cite, and where
/// it came from. `is_key` tells which keys are workspace files.
pub fn render(
    question: &str,
    answer: &Answer,
    roots: &[PathBuf],
    folder: Option<&Path>,
    is_key: &dyn Fn(&str) -> bool,
) -> String {
    let target = folder.map_or(Target::Uri, Target::RelativeTo);
    let mut out = format!("# {}\n\n", question.trim());
    out.push_str(super::links::link_citations(answer.answer.trim_end(), roots, target, is_key).trim_end());
    out.push_str("\n\n");
    let uncited: Vec<_> = answer
        .context
        .iter()
        .filter(|item| !answer.answer.contains(&format!("{}:{}", item.path, item.start_line)))
        .collect();
    if !uncited.is_empty() {
        out.push_str("Sources:\n\n");
        for item in uncited {
            let lines = if item.end_line > item.start_line {
                format!("{}-{}", item.start_line, item.end_line)
            } else {
                item.start_line.to_string()
            };
            let _ = writeln!(out, "- {} — {}", super::links::link(roots, &item.path, &lines, target), item.reason);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "_source: {}_", answer.source.name());
    out
}

/// Writes `markdown` as a new answer document in `dir` (see `folder`) and drops the oldest beyond
/// the kept number; the document's path, or `None` when it cannot be written.
pub fn write(dir: &Path, markdown: &str) -> Option<PathBuf> {
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let path = dir.join(format!("answer-{stamp}.md"));
    std::fs::write(&path, markdown).ok()?;
    prune(dir, KEPT_ANSWER_FILES);
    Some(path)
}

/// Removes all but the `keep` newest `answer-<ms>.md` files of `dir` (names sort by time).
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut answers: Vec<(u128, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stamp = name.strip_prefix("answer-")?.strip_suffix(".md")?.parse().ok()?;
            Some((stamp, e.path()))
        })
        .collect();
    answers.sort_by_key(|a| std::cmp::Reverse(a.0));
    for (_, old) in answers.into_iter().skip(keep) {
        let _ = std::fs::remove_file(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::{ContextItem, ItemKind, Source, Usage};

    #[test]
    fn only_the_newest_answer_files_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        for stamp in [5, 1, 30, 12] {
            std::fs::write(dir.path().join(format!("answer-{stamp}.md")), "x").unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "not an answer").unwrap();
        prune(dir.path(), 2);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, vec!["answer-12.md", "answer-30.md", "notes.txt"]);
    }

    fn item(path: &str, start_line: u32, end_line: u32, reason: &str) -> ContextItem {
        ContextItem {
            path: path.into(),
            start_line,
            end_line,
            kind: ItemKind::Definition,
            score: 1.0,
            tokens: 5,
            reason: reason.into(),
            text: String::new(),
            stale: false,
        }
    }

    #[test]
    fn the_document_links_every_citation_and_lists_what_the_text_does_not_cite() {
        let answer = Answer {
            answer: "`RegisterRoute` is defined at `go/router.go:5` and called from go/main.go:4.\n".into(),
            source: Source::Facts,
            context: vec![
                item("go/router.go", 5, 10, "definition of `RegisterRoute`"),
                item("go/main.go", 4, 4, "calls `RegisterRoute`"),
                item("go/router_test.go", 3, 8, "tests `RegisterRoute`"),
            ],
            usage: Usage::default(),
            unverified: Vec::new(),
            set_aside: false,
        };
        let keys = ["go/router.go", "go/main.go", "go/router_test.go"];
        let roots = [PathBuf::from("/ws")];
        let folder = Path::new("/cache/answers");
        let document = render(" where is RegisterRoute? ", &answer, &roots, Some(folder), &|k| keys.contains(&k));
        assert_eq!(
            document,
            "# where is RegisterRoute?\n\n\
             `RegisterRoute` is defined at [/ws/go/router.go:5](../../ws/go/router.go#L5) and called from [/ws/go/main.go:4](../../ws/go/main.go#L4).\n\n\
             Sources:\n\n\
             - [/ws/go/router_test.go:3-8](../../ws/go/router_test.go#L3) — tests `RegisterRoute`\n\n\
             _source: facts_\n"
        );
        // Without a folder (the text of a log message), the targets are file:// URIs.
        let logged = render("q", &answer, &roots, None, &|k| keys.contains(&k));
        assert!(logged.contains("[/ws/go/router.go:5](file:///ws/go/router.go#L5)"), "{logged}");
    }
}
