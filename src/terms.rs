//! Identifier-aware terms: how code and questions are cut into words for lexical search.
//!
//! Code and questions name things differently (`load_settings`, "load the settings", `LoadSettings`),
//! so terms are identifier parts: text is split on non-alphanumerics and at snake_case and camelCase
//! boundaries, lowercased, with pieces of one character, digits and common English stop words
//! dropped. An identifier of several pieces also keeps its whole lowercased form, so an exact name
//! matches strongest. Pure; a leaf module (facts store terms, search ranks by them).

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from", "how", "i", "if", "in",
    "is", "it", "its", "me", "my", "not", "of", "on", "or", "so", "that", "the", "this", "to", "was", "we", "what",
    "when", "where", "which", "who", "why", "will", "with", "you", "self", "none", "true", "false", "return", "def",
    "fn", "let", "var", "const", "import", "from", "class", "pub", "use",
];

/// Identifier-aware tokens of `text` (see the module docs).
pub fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for_each_token(text, |token| tokens.push(token.to_string()));
    tokens
}

/// Calls `emit` with each token of `text`, in `tokenize`'s order, without a string per token: the
/// index tokenizes every line of a workspace (a tenth of a cold index's CPU went to allocating them),
/// and most words are ASCII, whose parts are byte ranges of the word lowercased once.
pub fn for_each_token(text: &str, mut emit: impl FnMut(&str)) {
    let mut parts: Vec<(usize, usize)> = Vec::new();
    let mut lower = String::new();
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if word.is_empty() {
            continue;
        }
        if !word.is_ascii() {
            let parts = split_identifier(word);
            if parts.len() > 1 {
                let whole = word.to_lowercase();
                if whole.len() > 2 {
                    emit(&whole);
                }
            }
            for part in parts.iter().filter(|part| is_term(part)) {
                emit(part);
            }
            continue;
        }
        ascii_identifier_parts(word.as_bytes(), &mut parts);
        lower.clear();
        lower.push_str(word);
        lower.make_ascii_lowercase();
        if parts.len() > 1 && lower.len() > 2 {
            emit(&lower);
        }
        for part in parts.iter().map(|&(start, end)| &lower[start..end]).filter(|part| is_term(part)) {
            emit(part);
        }
    }
}

/// Whether an identifier part (lowercased) is kept as a term.
fn is_term(part: &str) -> bool {
    part.len() > 1 && !STOP_WORDS.contains(&part) && !part.bytes().all(|b| b.is_ascii_digit())
}

/// `split_identifier` of an ASCII word, as byte ranges of the word (into `parts`, cleared first).
fn ascii_identifier_parts(word: &[u8], parts: &mut Vec<(usize, usize)>) {
    parts.clear();
    let mut at = 0;
    while at < word.len() {
        if word[at] == b'_' {
            at += 1;
            continue;
        }
        let start = at;
        let end = memchr::memchr(b'_', &word[start..]).map_or(word.len(), |i| start + i);
        let piece = &word[start..end];
        let mut current = start;
        for i in 1..piece.len() {
            let (previous, c) = (piece[i - 1], piece[i]);
            let boundary = c.is_ascii_uppercase()
                && (previous.is_ascii_lowercase()
                    || previous.is_ascii_digit()
                    || (previous.is_ascii_uppercase() && piece.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())));
            if boundary {
                parts.push((current, start + i));
                current = start + i;
            }
        }
        parts.push((current, end));
        at = end;
    }
}

/// `loadSettings_v2` → `load`, `settings`, `v2`; `HTTPServer` → `http`, `server`.
pub fn split_identifier(word: &str) -> Vec<String> {
    let mut parts = Vec::new();
    for piece in word.split('_').filter(|p| !p.is_empty()) {
        let chars: Vec<char> = piece.chars().collect();
        let mut current = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let boundary = i > 0
                && c.is_uppercase()
                && (chars[i - 1].is_lowercase()
                    || chars[i - 1].is_ascii_digit()
                    || (chars[i - 1].is_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_lowercase())));
            if boundary && !current.is_empty() {
                parts.push(std::mem::take(&mut current).to_lowercase());
            }
            current.push(c);
        }
        if !current.is_empty() {
            parts.push(current.to_lowercase());
        }
    }
    parts
}

/// The position of the item that compares equal among `len` items kept sorted, found by binary
/// search: `compare(i)` orders item `i` against the one sought. For the packed sorted word lists
/// (search indexes, name maps, term counts) that are not slices of comparable items.
pub fn find_sorted(len: usize, compare: impl Fn(usize) -> std::cmp::Ordering) -> Option<usize> {
    let (mut low, mut high) = (0, len);
    while low < high {
        let middle = (low + high) / 2;
        match compare(middle) {
            std::cmp::Ordering::Less => low = middle + 1,
            std::cmp::Ordering::Greater => high = middle,
            std::cmp::Ordering::Equal => return Some(middle),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_sorted_finds_each_item_and_nothing_else() {
        let words = ["apple", "kiwi", "pear", "plum"];
        for (i, word) in words.iter().enumerate() {
            assert_eq!(find_sorted(words.len(), |at| words[at].cmp(word)), Some(i));
        }
        for absent in ["", "banana", "zebra"] {
            assert_eq!(find_sorted(words.len(), |at| words[at].cmp(absent)), None);
        }
        assert_eq!(find_sorted(0, |_| std::cmp::Ordering::Equal), None);
    }

    /// The tokens as the module docs define them, one string at a time: what `for_each_token`'s
    /// byte ranges must give.
    fn tokens_by_definition(text: &str) -> Vec<String> {
        let mut tokens = Vec::new();
        for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()) {
            let parts = split_identifier(word);
            if parts.len() > 1 && word.to_lowercase().len() > 2 {
                tokens.push(word.to_lowercase());
            }
            tokens.extend(parts.into_iter().filter(|part| is_term(part)));
        }
        tokens
    }

    #[test]
    fn tokens_are_identifier_parts_lowercased_with_the_whole_name() {
        assert_eq!(
            tokenize("loadSettings_v2(HTTPServer)"),
            ["loadsettings_v2", "load", "settings", "v2", "httpserver", "http", "server"]
        );
        assert_eq!(tokenize("def the_x(self): return 42"), ["the_x"]);
    }

    #[test]
    fn ascii_and_unicode_words_give_the_tokens_of_the_definition() {
        for text in [
            "",
            "___ _a_ __init__ a_b ab_cd __dunder__",
            "XMLHttpRequest getHTTPResponseCode ABC aB Ab a1B 12 123abc x86_64 IOError",
            "parse_URL2Path HTMLParser2 _privateThing CONSTANT_VALUE_3 mixed_CamelCase",
            "größe_Überblick naïveBayes ÉcoleNormale 東京Tower café_au_lait ΣΑΣ",
            "fn main() { let v = vec![1, 2]; println!(\"{v:?}\"); } // TODO: éviter ça",
        ] {
            assert_eq!(tokenize(text), tokens_by_definition(text), "{text:?}");
        }
    }
}
