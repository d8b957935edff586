//! Reading `git log --patch --unified=0` (as `git::Git::patches` prints it) into commits: the
//! message, the files each diff touched, and for each file the names that may be the definitions its
//! hunks touched. Pure; the names are only candidates until `mine` keeps those the current facts
//! define in that file.
//!
//! Which definitions a hunk touched, by name: git names each hunk's enclosing function in its header
//! (`@@ -7 +7 @@ def save(self):`, with its language drivers turned on by `git::DRIVER_ATTRIBUTES`),
//! and a changed line that itself opens a definition (`+def clean(self):`) names the definition it
//! adds, removes or changes. Names survive where line numbers do not: a hunk's line numbers belong to
//! the file as it was at that commit, and mapping them onto today's file would mean replaying every
//! later diff; a name is matched against today's definitions of the same file directly.

/// One commit as git printed it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedCommit {
    pub id: String,
    /// The raw message, decoded as UTF-8 (invalid bytes replaced).
    pub message: String,
    /// The first `files_listed` files, in git's order.
    pub files: Vec<ParsedFile>,
    /// Every file the diff touched (binary, mode-only and empty files too).
    pub files_touched: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedFile {
    /// The path relative to the root, `/`-separated.
    pub path: String,
    /// Candidate definition names, first seen first, without repeats.
    pub names: Vec<String>,
}

/// Candidate names kept per file (a rewrite of a long file touches many; the first are enough).
const MAX_NAMES_PER_FILE: usize = 64;

/// Turns lines of the log into commits; feed it every line (with or without its `\n`), then call
/// `finish`.
pub struct Parser {
    files_listed: usize,
    current: Option<ParsedCommit>,
    in_message: bool,
    in_hunk: bool,
}

impl Parser {
    /// A parser that lists at most `files_listed` files per commit (the rest are only counted).
    pub fn new(files_listed: usize) -> Parser {
        Parser { files_listed, current: None, in_message: false, in_hunk: false }
    }

    /// Reads one line; returns the previous commit when this line starts the next one.
    pub fn line(&mut self, line: &[u8]) -> Option<ParsedCommit> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        // The message ends at a NUL, usually at the start of its own line: read it before a NUL can
        // be taken for the next commit's header.
        if !self.in_message
            && let Some(id) = line.strip_prefix(b"\0")
        {
            let done = self.current.take();
            self.current =
                Some(ParsedCommit { id: String::from_utf8_lossy(id).trim().to_string(), ..Default::default() });
            self.in_message = true;
            self.in_hunk = false;
            return done;
        }
        let commit = self.current.as_mut()?;
        if self.in_message {
            let (text, end) = match memchr::memchr(0, line) {
                Some(at) => (&line[..at], true),
                None => (line, false),
            };
            commit.message.push_str(&String::from_utf8_lossy(text));
            if end {
                self.in_message = false;
            } else {
                commit.message.push('\n');
            }
            return None;
        }
        if let Some(rest) = line.strip_prefix(b"diff --git ") {
            commit.files_touched += 1;
            self.in_hunk = false;
            if commit.files.len() < self.files_listed {
                commit.files.push(ParsedFile { path: diff_path(rest), names: Vec::new() });
            }
            return None;
        }
        let listed = commit.files_touched as usize <= self.files_listed;
        let file = commit.files.last_mut().filter(|_| listed)?;
        if let Some(rest) = line.strip_prefix(b"@@ ") {
            self.in_hunk = true;
            // `-a,b +c,d @@ function context`
            if let Some(at) = memchr::memmem::find(rest, b"@@") {
                add_names(file, &String::from_utf8_lossy(&rest[at + 2..]));
            }
        } else if self.in_hunk && matches!(line.first(), Some(b'+' | b'-')) {
            let text = String::from_utf8_lossy(&line[1..]);
            if opens_definition(&text) {
                add_names(file, &text);
            }
        }
        None
    }

    /// The last commit.
    pub fn finish(&mut self) -> Option<ParsedCommit> {
        self.in_message = false;
        self.current.take()
    }
}

fn add_names(file: &mut ParsedFile, text: &str) {
    for name in candidate_names(text) {
        if file.names.len() >= MAX_NAMES_PER_FILE {
            return;
        }
        if !file.names.iter().any(|n| n == name) {
            file.names.push(name.to_string());
        }
    }
}

/// The path of a `diff --git a/P b/P` header (renames are off, so both sides name the same file),
/// C-quoted when git quotes it (`"a/sp ace\"q.txt" "b/…"`).
fn diff_path(rest: &[u8]) -> String {
    if rest.first() == Some(&b'"') {
        let (first, _) = unquote(rest);
        return String::from_utf8_lossy(first.strip_prefix(b"a/").unwrap_or(&first)).into_owned();
    }
    // `a/P b/P`: 2·|P| + 5 bytes.
    let len = rest.len().saturating_sub(5) / 2;
    let path = rest.get(2..2 + len).unwrap_or(rest);
    String::from_utf8_lossy(path).into_owned()
}

/// The bytes of the C-quoted string at the start of `text` (which starts with `"`), and the rest.
fn unquote(text: &[u8]) -> (Vec<u8>, &[u8]) {
    let mut out = Vec::new();
    let mut i = 1;
    while i < text.len() {
        match text[i] {
            b'"' => return (out, &text[i + 1..]),
            b'\\' if i + 1 < text.len() => {
                i += 1;
                match text[i] {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'a' => out.push(7),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'v' => out.push(11),
                    d @ b'0'..=b'3' if i + 2 < text.len() => {
                        let octal = [d, text[i + 1], text[i + 2]];
                        let value = octal.iter().try_fold(0u8, |acc, &c| {
                            (b'0'..=b'7').contains(&c).then(|| acc.wrapping_mul(8).wrapping_add(c - b'0'))
                        });
                        match value {
                            Some(byte) => {
                                out.push(byte);
                                i += 2;
                            }
                            None => out.push(d),
                        }
                    }
                    other => out.push(other),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    (out, &[])
}

/// Words that open a definition in some language.
const DEFINING: &[&str] = &[
    "def",
    "class",
    "fn",
    "fun",
    "func",
    "function",
    "struct",
    "enum",
    "trait",
    "interface",
    "impl",
    "module",
    "mod",
    "defmodule",
    "defp",
    "defmacro",
    "defstruct",
    "sub",
    "type",
    "object",
    "record",
    "protocol",
    "extension",
    "namespace",
    "union",
    "macro_rules",
    "let",
    "val",
    "var",
    "const",
];
/// Words that may stand before one.
const MODIFIERS: &[&str] = &[
    "pub",
    "crate",
    "super",
    "async",
    "static",
    "public",
    "private",
    "protected",
    "internal",
    "abstract",
    "final",
    "override",
    "virtual",
    "export",
    "default",
    "unsafe",
    "extern",
    "inline",
    "open",
    "sealed",
    "data",
    "suspend",
    "declare",
    "readonly",
    "partial",
    "local",
    "inline",
    "case",
    "companion",
];
/// Words before `(` that are not a definition's name.
const NOT_NAMES: &[&str] = &[
    "if", "for", "while", "switch", "return", "catch", "match", "elif", "and", "or", "not", "in", "with", "sizeof",
    "typeof", "new", "yield", "await", "print", "super", "self", "this",
];

/// Whether a changed line opens a definition (`def x(`, `pub fn x(`, `class X:`) — local bindings
/// (`let`, `var`, `const`, `val`) do not count here, only in hunk headers.
fn opens_definition(line: &str) -> bool {
    let mut words = line.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty());
    for word in words.by_ref() {
        if MODIFIERS.contains(&word) {
            continue;
        }
        return DEFINING.contains(&word) && !matches!(word, "let" | "var" | "const" | "val");
    }
    false
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token<'a> {
    Word(&'a str),
    Punct(char),
}

fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let word_char = c.is_alphanumeric() || c == '_' || c == '$';
        match (word_char, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(Token::Word(&text[s..i]));
                start = None;
            }
            _ => {}
        }
        if !word_char && !c.is_whitespace() {
            out.push(Token::Punct(c));
        }
    }
    if let Some(s) = start {
        out.push(Token::Word(&text[s..]));
    }
    out
}

/// Names a line may define: the first name after the defining words (`pub(crate) fn open`,
/// `func (s *Server) Serve`, `class Meta:`), and the name called first (`int main(void)`).
pub fn candidate_names(text: &str) -> Vec<&str> {
    let tokens = tokens(text);
    let mut names = Vec::new();
    let is_name = |w: &str| !w.starts_with(|c: char| c.is_ascii_digit());
    // After the defining words.
    let mut i = 0;
    let mut defining = false;
    while i < tokens.len() {
        match tokens[i] {
            Token::Word(w) if DEFINING.contains(&w) => defining = true,
            // After `fn`, `def`, …: the name, even when it is a word that elsewhere modifies (`open`).
            Token::Word(w) if defining && is_name(w) => {
                names.push(w);
                break;
            }
            Token::Word(w) if MODIFIERS.contains(&w) => {}
            Token::Punct('(') if i > 0 => {
                // `pub(crate)`, a Go receiver: skip to the matching `)`.
                let mut depth = 0;
                while i < tokens.len() {
                    match tokens[i] {
                        Token::Punct('(') => depth += 1,
                        Token::Punct(')') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            Token::Punct('*' | '&') => {}
            _ => break,
        }
        i += 1;
    }
    // The name before the first `(`.
    if let Some(at) = tokens.iter().position(|t| *t == Token::Punct('('))
        && let Some(Token::Word(w)) = at.checked_sub(1).map(|p| tokens[p])
        && is_name(w)
        && !DEFINING.contains(&w)
        && !MODIFIERS.contains(&w)
        && !NOT_NAMES.contains(&w)
        && !names.contains(&w)
    {
        names.push(w);
    }
    names
}

/// Issue numbers a message cites, in order, without repeats: `#1234` (not `&#123;` or `#12ab`),
/// `gh-123` / `GH-123`, and tracker links ending in `/issues/N`, `/pull/N` or `/ticket/N`.
pub fn cited_issues(text: &str) -> Vec<u32> {
    const MAX: usize = 32;
    let bytes = text.as_bytes();
    let mut issues = Vec::new();
    let mut push = |n: u32| {
        if !issues.contains(&n) && issues.len() < MAX {
            issues.push(n);
        }
    };
    let digits_at = |at: usize| -> Option<u32> {
        let end = at + bytes[at..].iter().take_while(|b| b.is_ascii_digit()).count();
        let follows_word = bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
        if end == at || end - at > 9 || follows_word {
            return None;
        }
        text[at..end].parse().ok()
    };
    let word_before = |at: usize| at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && !(i > 0 && (bytes[i - 1] == b'&' || word_before(i))) {
            if let Some(n) = digits_at(i + 1) {
                push(n);
            }
        } else if (b == b'g' || b == b'G')
            && !word_before(i)
            && bytes.get(i + 1..i + 3).is_some_and(|s| s.eq_ignore_ascii_case(b"h-"))
        {
            if let Some(n) = digits_at(i + 3) {
                push(n);
            }
        } else if b == b'/' {
            for word in [&b"issues/"[..], b"pull/", b"ticket/"] {
                if bytes.get(i + 1..i + 1 + word.len()) == Some(word)
                    && let Some(n) = digits_at(i + 1 + word.len())
                {
                    push(n);
                }
            }
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(log: &[u8], files_listed: usize) -> Vec<ParsedCommit> {
        let mut parser = Parser::new(files_listed);
        let mut out: Vec<ParsedCommit> = log.split_inclusive(|&b| b == b'\n').filter_map(|l| parser.line(l)).collect();
        out.extend(parser.finish());
        out
    }

    const LOG: &[u8] = b"\0b1e84f323754211aa267abf02a7aedd725dde9db\nsecond\n\nbody gh-7\n\0\n\n\
diff --git a/b.bin b/b.bin\nindex 88768ef..3e3315e 100644\nBinary files a/b.bin and b/b.bin differ\n\
diff --git a/empty.txt b/empty.txt\nold mode 100644\nnew mode 100755\n\
diff --git a/m.py b/m.py\nindex 47d163c..a587e16 100644\n--- a/m.py\n+++ b/m.py\n\
@@ -7 +7 @@ def m(self):\n-        x = 1\n+        x = 2\n@@ -8,0 +9,2 @@ def m(self):\n+def c(y):\n+    pass\n\
+++ not a header\n\
diff --git \"a/sub/sp ace\\\"q.txt\" \"b/sub/sp ace\\\"q.txt\"\nindex 45b983b..9d2a300 100644\n\
--- \"a/sub/sp ace\\\"q.txt\"\t\n+++ \"b/sub/sp ace\\\"q.txt\"\t\n@@ -1,0 +2 @@ hi\n+ho\n\
\0884042832b077833772cc57372f0bd18780d77f1\ninit #12\n\0\n\n\
diff --git a/caf\xc3\xa9 \xff.py b/caf\xc3\xa9 \xff.py\nnew file mode 100644\n";

    #[test]
    fn reads_messages_files_and_hunk_names() {
        let commits = parse(LOG, 100);
        assert_eq!(commits.len(), 2);
        let second = &commits[0];
        assert_eq!(second.id, "b1e84f323754211aa267abf02a7aedd725dde9db");
        assert_eq!(second.message, "second\n\nbody gh-7\n");
        assert_eq!(second.files_touched, 4);
        let paths: Vec<&str> = second.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["b.bin", "empty.txt", "m.py", "sub/sp ace\"q.txt"]);
        assert_eq!(second.files[2].names, ["m", "c"], "the hunk headers' function, then the added definition");
        assert!(second.files[0].names.is_empty(), "a binary diff has no hunks");
        let first = &commits[1];
        assert_eq!(first.message, "init #12\n");
        assert_eq!(first.files[0].path, "café \u{fffd}.py", "a path that is not UTF-8 is kept, its bad bytes replaced");
    }

    #[test]
    fn a_message_that_is_not_utf8_is_read_with_its_bad_bytes_replaced() {
        let commits = parse(b"\0abc\nBroken \xff\xfe bytes\n\0\n", 10);
        assert_eq!(commits[0].message, "Broken \u{fffd}\u{fffd} bytes\n");
    }

    #[test]
    fn caps_the_file_list_and_keeps_the_count() {
        let commits = parse(LOG, 2);
        assert_eq!(commits[0].files_touched, 4);
        assert_eq!(commits[0].files.len(), 2);
        assert!(commits[0].files.iter().all(|f| f.names.is_empty()), "names of unlisted files go nowhere");
    }

    #[test]
    fn candidate_names_across_languages() {
        let cases: &[(&str, &[&str])] = &[
            ("def save(self, *args):", &["save"]),
            ("    async def fetch(self):", &["fetch"]),
            ("class Meta:", &["Meta"]),
            ("class Form(BaseForm):", &["Form"]),
            ("pub(crate) fn open(path: &Path) -> Result<Store> {", &["open"]),
            ("impl<T> Store for Db {", &[]),
            ("func (s *Server) Serve(l net.Listener) error {", &["Serve"]),
            ("static int parse_args(int argc, char **argv)", &["parse_args"]),
            ("export default function render(props) {", &["render"]),
            ("const handler = (event) => {", &["handler"]),
            ("if (x) {", &[]),
            ("defmodule Plug.Conn do", &["Plug"]),
            // Candidates only: `Base` is kept only if this file defines it (`mine` checks).
            ("open class Adapter : Base() {", &["Adapter", "Base"]),
            ("override fun onCreate(state: Bundle?) {", &["onCreate"]),
        ];
        for (line, want) in cases {
            assert_eq!(candidate_names(line), *want, "{line}");
        }
        assert!(opens_definition("    def clean(self):"));
        assert!(opens_definition("pub fn x() {}"));
        assert!(!opens_definition("        let x = 1;"));
        assert!(!opens_definition("        return x"));
    }

    #[test]
    fn issues_cited() {
        assert_eq!(cited_issues("Fixed #27626 -- Moved MEDIA_URL validation. Refs #1234, #27626."), [27626, 1234]);
        assert_eq!(cited_issues("gh-123 and GH-7; see https://github.com/o/r/issues/99 and /pull/5"), [123, 7, 99, 5]);
        assert_eq!(cited_issues("https://code.djangoproject.com/ticket/31000"), [31000]);
        assert_eq!(cited_issues("colour #12ab3f, entity &#123;, issue#5, sigh-4, #"), Vec::<u32>::new());
    }
}
