//! The size limits of `src/`, checked: no function over `MAX_FUNCTION_LINES` lines and no file over
//! `MAX_FILE_LINES` lines, test items (`#[cfg(test)]`, such as `mod tests`) aside. A failure names
//! each offender with its place and size: split it along its steps or its concerns, one module each.
//!
//! A function is counted from the line of its `fn` to the line of its closing brace (a function
//! nested in another counts within it and again on its own); a file, every line outside its test
//! items, comments and blank lines included. The sources are read with the lexing of `layers.rs`
//! (comments and literals set aside, so a brace in a string is not one).

use crate::layers::{code_only, skip_item, sources};

/// The most lines a function of `src/` may have.
const MAX_FUNCTION_LINES: usize = 150;

/// The most lines a file of `src/` may have outside its test items.
const MAX_FILE_LINES: usize = 900;

/// `code` (from `code_only`) with each item under `#[cfg(test)]` reduced to its line breaks, so the
/// rest keeps its line numbers; and how many lines those items took.
fn blank_test_items(code: &str) -> (String, usize) {
    const MARK: &str = "#[cfg(test)]";
    let (mut out, mut test_lines) = (String::new(), 0);
    let mut rest = code;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let after = skip_item(&rest[at + MARK.len()..]);
        let breaks = rest[at..rest.len() - after.len()].matches('\n').count();
        out.push_str(&"\n".repeat(breaks));
        test_lines += breaks + 1;
        rest = after;
    }
    out.push_str(rest);
    (out, test_lines)
}

/// Each function with a body in `code` (test items blanked): its name, the 1-based line of its `fn`
/// and its length in lines.
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let bytes = code.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = code[from..].find("fn") {
        let at = from + found;
        from = at + 2;
        if (at > 0 && is_word(bytes[at - 1])) || !bytes.get(at + 2).is_some_and(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let name: String =
            code[at + 2..].trim_start().chars().take_while(|&c| c.is_alphanumeric() || c == '_').collect();
        // The body opens at the first `{` outside brackets; a `;` first is a declaration without one.
        let mut depth = 0i32;
        let Some(open) = code[at..].char_indices().find_map(|(i, c)| {
            match c {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                '{' | ';' if depth == 0 => return Some((at + i, c)),
                _ => {}
            }
            None
        }) else {
            continue;
        };
        if open.1 == ';' {
            continue;
        }
        let mut depth = 0;
        let close = code[open.0..].char_indices().find_map(|(i, c)| {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(open.0 + i);
                    }
                }
                _ => {}
            }
            None
        });
        let close = close.unwrap_or(code.len());
        let line = code[..at].matches('\n').count() + 1;
        out.push((name, line, code[at..close].matches('\n').count() + 1));
    }
    out
}

/// The offenders among `sources` (path, text): files over `max_file` lines outside their tests,
/// functions over `max_function` lines, each said with its place and size.
fn oversized(sources: &[(String, String)], max_file: usize, max_function: usize) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in sources {
        let (code, test_lines) = blank_test_items(&code_only(text));
        let lines = text.lines().count().saturating_sub(test_lines);
        if lines > max_file {
            out.push(format!("src/{path}: {lines} lines outside tests (at most {max_file})"));
        }
        for (name, line, length) in functions(&code) {
            if length > max_function {
                out.push(format!("src/{path}:{line}: fn {name} has {length} lines (at most {max_function})"));
            }
        }
    }
    out
}

#[test]
fn no_function_or_file_of_src_is_over_its_size() {
    let offenders = oversized(&sources(), MAX_FILE_LINES, MAX_FUNCTION_LINES);
    assert!(offenders.is_empty(), "too long (split along the steps or the concerns):\n{}", offenders.join("\n"));
}

fn source(text: &str) -> Vec<(String, String)> {
    vec![("a.rs".to_string(), text.to_string())]
}

#[test]
fn a_function_counts_from_its_fn_to_its_closing_brace() {
    let text =
        "//! A.\n\nfn short() {}\n\npub fn long(x: [u8; 2]) -> u8 {\n    let s = \"}\";\n    '{';\n    x[0]\n}\n";
    assert_eq!(oversized(&source(text), 100, 5), Vec::<String>::new());
    assert_eq!(oversized(&source(text), 100, 4), ["src/a.rs:5: fn long has 5 lines (at most 4)"]);
}

#[test]
fn a_declaration_without_a_body_is_no_function() {
    let text = "trait T {\n    fn f(&self);\n    fn g(&self) -> u8 {\n        1\n    }\n}\n";
    assert_eq!(functions(&code_only(text)), [("g".to_string(), 3, 3)]);
}

#[test]
fn test_items_count_neither_as_lines_nor_as_functions() {
    let long_test =
        format!("#[cfg(test)]\nmod tests {{\n    fn long() {{\n{}    }}\n}}\n", "        f();\n".repeat(10));
    let text = format!("fn f() {{}}\n{long_test}#[cfg(test)]\nuse std::fs;\nfn after() {{\n}}\n");
    assert_eq!(oversized(&source(&text), 3, 2), Vec::<String>::new());
    assert_eq!(oversized(&source(&text), 2, 2), ["src/a.rs: 3 lines outside tests (at most 2)"]);
}
