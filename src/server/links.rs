//! Citations as links that open the real file at its line, for answer documents and hover's
//! reference list: `[/home/me/app/go/router.go:9](file:///home/me/app/go/router.go#L9)`.
//!
//! Why this form: the label is the absolute path with its line, so `gf` on it opens the file in Helix
//! (which resolves a relative path against the document's own folder — reverie's cache, for an
//! answer document) and in Neovim (`gF` at the line). The target depends on where the link is shown
//! (`Target`): in a hover, a `file://` URI with a `#L9` anchor, which VS Code's and Neovim's hovers
//! open; in an answer document, the path relative to the document's folder with the anchor
//! (`../../home/me/app/go/router.go#L9`), because VS Code's markdown preview (markdown-it) drops
//! `file:` links and joins a `/absolute` one to the workspace root, and opens a relative one at its
//! line. A key that is already a URI (an open file with no workspace folder) is used as it is, never
//! joined to a root.
//!
//! Guarantees: pure (paths come from the roots; no file system); `link_citations` changes only
//! citations of known files, never the inside of code blocks or of code spans that are not exactly
//! a citation.

use std::path::{Path, PathBuf};

/// The file a key names, as an absolute path: under its root, or the path of a key that is a
/// `file://` URI. `None` for anything else (another scheme, no roots).
pub fn file_of(roots: &[PathBuf], key: &str) -> Option<PathBuf> {
    if is_uri(key) {
        return super::proto::path_of(&key.parse().ok()?);
    }
    crate::workspace::path_of_key(roots, key)
}

/// Whether a key is a URI (`file:///tmp/x.py`, `untitled:Untitled-1`: the key of an open document
/// with no workspace path) rather than a path relative to a root.
fn is_uri(key: &str) -> bool {
    key.split_once(':').is_some_and(|(scheme, _)| {
        scheme.len() > 1
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// Where a link is shown, which decides its target.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// A `file://` URI (hover cards).
    Uri,
    /// A path relative to this folder: the folder of the markdown document the link is in.
    RelativeTo(&'a Path),
}

/// A markdown link to `key` at `line` (the first line of `lines`, which the label shows: `9` or
/// `9-12`), or the citation in backticks when the key names no file.
pub fn link(roots: &[PathBuf], key: &str, lines: &str, target: Target) -> String {
    let first = lines.split('-').next().unwrap_or(lines);
    let Some(path) = file_of(roots, key) else { return format!("`{key}:{lines}`") };
    let destination = match target {
        Target::Uri => match super::proto::uri_of(&path) {
            Some(uri) => uri.as_str().to_string(),
            None => return format!("`{key}:{lines}`"),
        },
        Target::RelativeTo(folder) => encode_path(&relative_path(folder, &path)),
    };
    let destination = format!("{destination}#L{first}");
    // A destination with parentheses needs angle brackets to stay one link.
    let destination = if destination.contains(['(', ')']) { format!("<{destination}>") } else { destination };
    format!("[{}:{lines}]({destination})", escape_label(&path))
}

/// `to` relative to the folder `from` (both absolute), by their components: `../../a/b.py`.
fn relative_path(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let shared = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - shared];
    parts.extend(to[shared..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    parts.join("/")
}

/// Percent-encodes what a link destination cannot hold as it is (spaces, `#`, `%`, `<`, `>`, …).
fn encode_path(path: &str) -> String {
    let mut out = String::new();
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A citation link as `link` writes it, read back from a line of a document: the file its label
/// names and the first line cited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cited {
    pub path: PathBuf,
    pub line: u32,
}

/// The citation links in `line` whose label is an absolute path with its line (`[/ws/a.py:9](…)`,
/// `[/ws/a.py:9-12](…)`), in order; other links and text are passed over.
pub fn cited_in(line: &str) -> Vec<Cited> {
    let mut found = Vec::new();
    let mut searched = 0;
    while let Some(at) = line[searched..].find("](").map(|i| i + searched) {
        searched = at + 2;
        // The `[` that opens the label: the nearest one before that is not escaped.
        let opening =
            line[..at].char_indices().rev().find(|&(i, c)| c == '[' && !line[..i].ends_with('\\')).map(|(i, _)| i);
        let Some(opening) = opening else { continue };
        let label = unescape_label(&line[opening + 1..at]);
        let Some((path, lines)) = label.rsplit_once(':') else { continue };
        let first = lines.split('-').next().unwrap_or_default();
        if let (true, Ok(line)) = (path.starts_with('/'), first.parse::<u32>()) {
            found.push(Cited { path: PathBuf::from(path), line });
        }
    }
    found
}

fn unescape_label(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut chars = label.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

fn escape_label(path: &Path) -> String {
    let mut label = String::new();
    for c in path.display().to_string().chars() {
        if matches!(c, '[' | ']' | '\\' | '*' | '`') {
            label.push('\\');
        }
        label.push(c);
    }
    label
}

/// `text` with every citation of a known file (`is_key`) — `go/router.go:9`, `go/router.go:9-12`,
/// bare or alone in a code span — made a `link`. Code blocks, other code spans and citations already
/// inside a link are left as they are.
pub fn link_citations(text: &str, roots: &[PathBuf], target: Target, is_key: &dyn Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut fence: Option<String> = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let marker: String = trimmed.chars().take_while(|c| *c == '`' || *c == '~').collect();
        match &fence {
            Some(open) if marker.starts_with(open.as_str()) => {
                fence = None;
                out.push_str(line);
            }
            Some(_) => out.push_str(line),
            None if marker.len() >= 3 => {
                fence = Some(marker);
                out.push_str(line);
            }
            // The grounding check's list of what is not in the workspace: nothing there to open.
            None if trimmed.starts_with(crate::answer::grounding::MARK) => out.push_str(line),
            None => out.push_str(&link_line(line, roots, target, is_key)),
        }
    }
    out
}

/// One line outside code blocks: code spans that hold exactly a citation, and bare citations.
fn link_line(line: &str, roots: &[PathBuf], target: Target, is_key: &dyn Fn(&str) -> bool) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(open) = rest.find('`') {
        out.push_str(&link_bare(&rest[..open], roots, target, is_key));
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let span = &after[..close];
        match citation(span).filter(|(key, _)| is_key(key)) {
            Some((key, lines)) if citation_len(span) == span.len() && !marked(&after[close + 1..]) => {
                out.push_str(&link(roots, key, lines, target))
            }
            _ => {
                out.push('`');
                out.push_str(span);
                out.push('`');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(&link_bare(rest, roots, target, is_key));
    out
}

/// Characters of a key (a relative path).
fn is_path_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | '@')
}

/// Bare citations in prose (no code spans in `text`).
fn link_bare(text: &str, roots: &[PathBuf], target: Target, is_key: &dyn Fn(&str) -> bool) -> String {
    let mut out = String::new();
    let mut at = 0;
    let mut previous: Option<char> = None;
    while at < text.len() {
        let rest = &text[at..];
        let starts = previous.is_none_or(|p| !is_path_char(p) && p != ':' && p != '\\');
        if starts
            && let Some((key, lines)) = citation(rest)
            && is_key(key)
            && !in_link(&text[..at], &rest[citation_len(rest)..])
            && !marked(&rest[citation_len(rest)..])
        {
            let len = citation_len(rest);
            out.push_str(&link(roots, key, lines, target));
            previous = rest[..len].chars().last();
            at += len;
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        previous = Some(c);
        at += c.len_utf8();
    }
    out
}

/// Whether a citation is followed by the grounding check's mark (a missing file, a line past the
/// end): it stays text, as in VS Code's chat — a link would lead nowhere.
fn marked(after: &str) -> bool {
    after.starts_with(crate::answer::grounding::MARK)
}

/// Whether a citation between `before` and `after` is a link's label (`[…](`) or target (`](…`).
fn in_link(before: &str, after: &str) -> bool {
    before.ends_with("](") || (before.ends_with('[') && after.starts_with("]("))
}

/// The citation at the start of `text`: `(key, lines)` for `key:9` or `key:9-12`.
fn citation(text: &str) -> Option<(&str, &str)> {
    let key_len = text.find(|c: char| !is_path_char(c)).unwrap_or(text.len());
    let key = text[..key_len].trim_end_matches('.');
    if key.is_empty() || key.len() != key_len || !text[key_len..].starts_with(':') {
        return None;
    }
    let lines = &text[key_len + 1..];
    let first = lines.find(|c: char| !c.is_ascii_digit()).unwrap_or(lines.len());
    if first == 0 {
        return None;
    }
    let mut end = first;
    if let Some(range) = lines[first..].strip_prefix('-') {
        let second = range.find(|c: char| !c.is_ascii_digit()).unwrap_or(range.len());
        if second > 0 {
            end = first + 1 + second;
        }
    }
    Some((key, &lines[..end]))
}

/// The length in bytes of the citation at the start of `text` (0 when there is none).
fn citation_len(text: &str) -> usize {
    citation(text).map_or(0, |(key, lines)| key.len() + 1 + lines.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots() -> Vec<PathBuf> {
        vec![PathBuf::from("/ws")]
    }

    fn known(key: &str) -> bool {
        matches!(key, "go/router.go" | "app.py" | "pages/[id].tsx")
    }

    #[test]
    fn a_link_shows_the_absolute_path_and_opens_the_line() {
        assert_eq!(
            link(&roots(), "go/router.go", "9", Target::Uri),
            "[/ws/go/router.go:9](file:///ws/go/router.go#L9)"
        );
        assert_eq!(
            link(&roots(), "go/router.go", "9-12", Target::Uri),
            "[/ws/go/router.go:9-12](file:///ws/go/router.go#L9)"
        );
        // A key that is a URI is used as it is, never joined to a root.
        assert_eq!(
            link(&roots(), "file:///tmp/notes.py", "4", Target::Uri),
            "[/tmp/notes.py:4](file:///tmp/notes.py#L4)"
        );
        assert_eq!(link(&roots(), "untitled:Untitled-1", "4", Target::Uri), "`untitled:Untitled-1:4`");
        assert_eq!(link(&[], "app.py", "4", Target::Uri), "`app.py:4`", "no root, no file");
        assert_eq!(
            link(&roots(), "pages/[id].tsx", "3", Target::Uri),
            r"[/ws/pages/\[id\].tsx:3](file:///ws/pages/%5Bid%5D.tsx#L3)"
        );
        assert_eq!(
            link(&[PathBuf::from("/my ws")], "a b.py", "1", Target::Uri),
            "[/my ws/a b.py:1](file:///my%20ws/a%20b.py#L1)"
        );
        let parenthesized = link(&roots(), "copy (1).py", "2", Target::Uri);
        assert!(
            parenthesized.starts_with("[/ws/copy (1).py:2](") && parenthesized.ends_with("#L2)"),
            "{parenthesized}"
        );
        assert!(
            !parenthesized["[/ws/copy (1).py:2](".len()..parenthesized.len() - 1].contains(')')
                || parenthesized.contains("](<"),
            "one link: {parenthesized}"
        );
    }

    #[test]
    fn in_a_document_the_target_is_relative_to_its_folder() {
        let answers = Path::new("/home/me/.cache/reverie/answers");
        assert_eq!(
            link(&roots(), "go/router.go", "9", Target::RelativeTo(answers)),
            "[/ws/go/router.go:9](../../../../../ws/go/router.go#L9)"
        );
        let beside = Path::new("/ws/.cache/answers");
        assert_eq!(
            link(&roots(), "go/router.go", "9-12", Target::RelativeTo(beside)),
            "[/ws/go/router.go:9-12](../../go/router.go#L9)"
        );
        assert_eq!(
            link(&[PathBuf::from("/my ws")], "a#b (1).py", "1", Target::RelativeTo(beside)),
            "[/my ws/a#b (1).py:1](<../../../my%20ws/a%23b%20(1).py#L1>)"
        );
    }

    #[test]
    fn citation_links_are_read_back_from_a_line() {
        let line = format!(
            "- {} in `RegisterRoute`, see {} and [docs](https://x.org/a:1) {}",
            link(&roots(), "go/router.go", "9", Target::RelativeTo(Path::new("/cache/answers"))),
            link(&roots(), "pages/[id].tsx", "3-5", Target::Uri),
            link(&[PathBuf::from("/my ws")], "a#b (1).py", "12", Target::RelativeTo(Path::new("/c")))
        );
        assert_eq!(
            cited_in(&line),
            [
                Cited { path: "/ws/go/router.go".into(), line: 9 },
                Cited { path: "/ws/pages/[id].tsx".into(), line: 3 },
                Cited { path: "/my ws/a#b (1).py".into(), line: 12 },
            ]
        );
        assert_eq!(cited_in("no links here, go/router.go:9 [x](y) [rel/a.py:3](rel/a.py#L3)"), []);
    }

    #[test]
    fn citations_of_known_files_become_links() {
        let text =
            "That message is produced at:\n- `go/router.go:9` in `RegisterRoute`\n\nSee app.py:3-5, and app.py:12.\n";
        assert_eq!(
            link_citations(text, &roots(), Target::Uri, &known),
            "That message is produced at:\n- [/ws/go/router.go:9](file:///ws/go/router.go#L9) in `RegisterRoute`\n\nSee [/ws/app.py:3-5](file:///ws/app.py#L3), and [/ws/app.py:12](file:///ws/app.py#L12).\n"
        );
    }

    #[test]
    fn code_unknown_files_and_links_are_left_alone() {
        let text = "```\ngo/router.go:9\n```\n`x = app.py:3 + 1` vendor/lib.go:4 myapp.py:3 [app.py:3](app.py#L3) (app.py:7) http://host:80/x\n";
        let linked = link_citations(text, &roots(), Target::Uri, &known);
        assert_eq!(
            linked,
            "```\ngo/router.go:9\n```\n`x = app.py:3 + 1` vendor/lib.go:4 myapp.py:3 [app.py:3](app.py#L3) ([/ws/app.py:7](file:///ws/app.py#L7)) http://host:80/x\n"
        );
    }
}
