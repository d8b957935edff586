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
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if word.is_empty() {
            continue;
        }
        let parts = split_identifier(word);
        if parts.len() > 1 {
            let whole = word.to_lowercase();
            if whole.len() > 2 {
                tokens.push(whole);
            }
        }
        for part in parts {
            if part.len() > 1 && !STOP_WORDS.contains(&part.as_str()) && !part.chars().all(|c| c.is_ascii_digit()) {
                tokens.push(part);
            }
        }
    }
    tokens
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
