//! JSON Schema → llama.cpp GBNF grammars, so a local model can only answer with JSON of the shape a
//! job asks for (used by the `local` provider; pure, so it is tested in every build).
//!
//! Strings and arrays without a bound in the schema get one, and `schema_to_gbnf_for_tokens` shrinks
//! the default string bound until the longest answer the grammar allows fits the call's token budget:
//! a constrained answer that runs out of tokens is cut-off JSON, which helps nobody.

use serde_json::Value;
use std::collections::HashSet;
use std::fmt::Write as _;

/// Bound on a JSON string's characters when the schema gives no `maxLength`.
pub const DEFAULT_MAX_STRING_CHARS: u64 = 256;
/// Bound on a JSON array's items when the schema gives no `maxItems`.
pub const DEFAULT_MAX_ITEMS: u64 = 16;
/// Above this many items an array is left unbounded: the grammar parser expands bounded repetitions.
const MAX_BOUNDED_REPETITION: u64 = 256;
/// Schemas nest at most this deep (deeper ones are refused rather than risking the stack).
const MAX_SCHEMA_DEPTH: usize = 32;

/// Any JSON object: used when a schema cannot be converted (the caller validates the answer anyway).
pub const GENERIC_JSON_GBNF: &str = r#"root ::= object
value ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ( string ":" ws value ( "," ws string ":" ws value )* )? "}"
array ::= "[" ( value ( "," ws value )* )? "]"
string ::= "\"" char{0,256} "\""
char ::= [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )
number ::= "-"? ( "0" | [1-9] [0-9]{0,15} ) ( "." [0-9]{1,15} )? ( [eE] [-+]? [0-9]{1,3} )?
ws ::= " "?
"#;

/// Converts the JSON Schema subset reverie uses into a llama.cpp GBNF grammar whose root rule is `root`.
///
/// Supported: `type` (`object`, `array`, `string`, `integer`, `number`, `boolean`, `null`, or a list of
/// them), `properties`, `required`, `items`, `minItems`/`maxItems`, `minLength`/`maxLength`, `enum`,
/// `const`, `anyOf`/`oneOf`. Keywords that only narrow values (`pattern`, `minimum`, `format`, ...) are
/// ignored, and so is `additionalProperties`: the grammar emits the listed properties only, in the order
/// of `properties`, required ones first. Output is JSON on one line, with at most a space after `:` and
/// `,` (a model left free to choose whitespace can loop on it).
/// Strings and arrays are bounded (see `DEFAULT_MAX_STRING_CHARS`, `DEFAULT_MAX_ITEMS`) so that a small
/// model cannot loop inside one forever.
pub fn schema_to_gbnf(schema: &Value) -> Result<String, String> {
    grammar_with_string_bound(schema, DEFAULT_MAX_STRING_CHARS)
}

/// Like `schema_to_gbnf`, with the default string bound lowered (to no less than `MIN_STRING_CHARS`)
/// so that the longest answer the grammar allows fits in `max_tokens` tokens. Tokens are counted
/// apart for the JSON around the strings (keys, quotes, brackets: `{"name": "` is several tokens) and
/// for the text inside them: a budget counted at one rate for both let punctuation-heavy answers (many
/// short strings) run out of tokens mid-JSON.
pub fn schema_to_gbnf_for_tokens(schema: &Value, max_tokens: u32) -> Result<String, String> {
    let bound = (MIN_STRING_CHARS..=DEFAULT_MAX_STRING_CHARS)
        .rev()
        .find(|&bound| longest_in_tokens(schema, bound) <= f64::from(max_tokens))
        .unwrap_or(MIN_STRING_CHARS);
    grammar_with_string_bound(schema, bound)
}

/// Characters per token of the JSON around strings, and of the text inside them, for a small model's
/// tokenizer (SmolLM2-135M: keys and punctuation split into 1–2 character tokens; prose runs at 3–4).
const STRUCTURE_CHARS_PER_TOKEN: f64 = 1.5;
const TEXT_CHARS_PER_TOKEN: f64 = 3.0;

/// The tokens of the longest answer allowed with strings bounded at `string_chars`.
fn longest_in_tokens(schema: &Value, string_chars: u64) -> f64 {
    let structure = longest(schema, 0, 0);
    let text = longest(schema, string_chars, 0).saturating_sub(structure);
    structure as f64 / STRUCTURE_CHARS_PER_TOKEN + text as f64 / TEXT_CHARS_PER_TOKEN
}

/// A string bound lower than this would leave nothing to say: past it the budget is the caller's to
/// raise.
pub const MIN_STRING_CHARS: u64 = 16;

fn grammar_with_string_bound(schema: &Value, string_chars: u64) -> Result<String, String> {
    let mut grammar = Grammar { string_chars, ..Grammar::default() };
    let root = grammar.visit(schema, "root", "#", 0)?;
    let mut out = format!("root ::= {root}\n");
    for (name, body) in &grammar.rules {
        let _ = writeln!(out, "{name} ::= {body}");
    }
    Ok(out)
}

#[derive(Default)]
struct Grammar {
    /// Bound on strings whose schema gives no `maxLength`.
    string_chars: u64,
    /// Rules other than `root`, in definition order.
    rules: Vec<(String, String)>,
    names: HashSet<String>,
}

impl Grammar {
    /// Returns a GBNF expression for values matching `schema`; `name` is the hint for rules it defines.
    fn visit(&mut self, schema: &Value, name: &str, at: &str, depth: usize) -> Result<String, String> {
        if depth > MAX_SCHEMA_DEPTH {
            return Err(format!("{at}: the schema nests deeper than {MAX_SCHEMA_DEPTH} levels"));
        }
        let Some(schema) = schema.as_object() else {
            return match schema {
                // `true` accepts anything; `false` nothing, which no answer could satisfy.
                Value::Bool(true) => Err(format!("{at}: `true` (any value) is not supported; give a type")),
                _ => Err(format!("{at}: a schema must be an object, found {schema}")),
            };
        };
        if let Some(reference) = schema.get("$ref") {
            return Err(format!("{at}: $ref ({reference}) is not supported; inline the definition"));
        }
        if schema.contains_key("allOf") {
            return Err(format!("{at}: allOf is not supported; merge the schemas into one"));
        }
        if let Some(value) = schema.get("const") {
            return Ok(literal(&value.to_string()));
        }
        if let Some(values) = schema.get("enum") {
            let values = values.as_array().filter(|v| !v.is_empty());
            let values = values.ok_or_else(|| format!("{at}: enum must be a non-empty array"))?;
            let alternatives: Vec<String> = values.iter().map(|v| literal(&v.to_string())).collect();
            return Ok(format!("( {} )", alternatives.join(" | ")));
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(options) = schema.get(keyword) {
                let options = options.as_array().filter(|v| !v.is_empty());
                let options = options.ok_or_else(|| format!("{at}: {keyword} must be a non-empty array"))?;
                let mut alternatives = Vec::with_capacity(options.len());
                for (i, option) in options.iter().enumerate() {
                    alternatives.push(self.visit(
                        option,
                        &format!("{name}-{i}"),
                        &format!("{at}/{keyword}/{i}"),
                        depth + 1,
                    )?);
                }
                return Ok(format!("( {} )", alternatives.join(" | ")));
            }
        }
        let kind = match schema.get("type") {
            Some(Value::String(kind)) => kind.as_str(),
            Some(Value::Array(kinds)) => {
                let mut alternatives = Vec::with_capacity(kinds.len());
                for (i, kind) in kinds.iter().enumerate() {
                    let mut single = schema.clone();
                    single.insert("type".into(), kind.clone());
                    alternatives.push(self.visit(&Value::Object(single), &format!("{name}-{i}"), at, depth + 1)?);
                }
                if alternatives.is_empty() {
                    return Err(format!("{at}: \"type\" is an empty list"));
                }
                return Ok(format!("( {} )", alternatives.join(" | ")));
            }
            Some(other) => return Err(format!("{at}: \"type\" must be a string or a list of strings, found {other}")),
            None if schema.contains_key("properties") => "object",
            None if schema.contains_key("items") => "array",
            None => {
                return Err(format!(
                    "{at}: no \"type\"; give one of object, array, string, integer, number, boolean, null"
                ));
            }
        };
        match kind {
            "object" => self.object(schema, name, at, depth),
            "array" => self.array(schema, name, at, depth),
            "string" => {
                let min = unsigned(schema, "minLength", at)?.unwrap_or(0);
                let max = unsigned(schema, "maxLength", at)?.unwrap_or(self.string_chars.max(min));
                if min > max {
                    return Err(format!("{at}: minLength {min} is above maxLength {max}"));
                }
                self.primitive("char", CHAR);
                if max > MAX_BOUNDED_REPETITION.max(DEFAULT_MAX_STRING_CHARS) {
                    return Ok(self.primitive(&format!("string-{min}-"), &format!(r#""\"" char{{{min},}} "\"""#)));
                }
                let rule: String = if (min, max) == (0, DEFAULT_MAX_STRING_CHARS) {
                    "string".into()
                } else {
                    format!("string-{min}-{max}")
                };
                Ok(self.primitive(&rule, &format!(r#""\"" char{{{min},{max}}} "\"""#)))
            }
            "integer" => Ok(self.primitive("integer", INTEGER)),
            "number" => {
                self.primitive("integer", INTEGER);
                self.primitive("fraction", FRACTION);
                self.primitive("exponent", EXPONENT);
                Ok(self.primitive("number", "integer fraction? exponent?"))
            }
            "boolean" => Ok(self.primitive("boolean", r#""true" | "false""#)),
            "null" => Ok(literal("null")),
            other => Err(format!(
                "{at}: unknown type {other:?}; use object, array, string, integer, number, boolean or null"
            )),
        }
    }

    fn object(
        &mut self,
        schema: &serde_json::Map<String, Value>,
        name: &str,
        at: &str,
        depth: usize,
    ) -> Result<String, String> {
        let empty = serde_json::Map::new();
        let properties = match schema.get("properties") {
            None => &empty,
            Some(Value::Object(properties)) => properties,
            Some(other) => return Err(format!("{at}: \"properties\" must be an object, found {other}")),
        };
        let mut required = Vec::new();
        if let Some(list) = schema.get("required") {
            let list = list.as_array().ok_or_else(|| format!("{at}: \"required\" must be an array of names"))?;
            for key in list {
                let key = key.as_str().ok_or_else(|| format!("{at}: \"required\" holds {key}, not a name"))?;
                if !properties.contains_key(key) {
                    return Err(format!(
                        "{at}: \"required\" names {key:?}, which is not in \"properties\"; add it there"
                    ));
                }
                required.push(key);
            }
        }
        self.primitive("ws", WS);
        let mut first = Vec::new();
        let mut optional = Vec::new();
        for (key, property) in properties {
            let hint = format!("{name}-{}", rule_word(key));
            let value = self.visit(property, &hint, &format!("{at}/properties/{key}"), depth + 1)?;
            let member = format!(r#"{} ":" ws {value}"#, literal(&Value::String(key.clone()).to_string()));
            if required.contains(&key.as_str()) {
                first.push(member);
            } else {
                optional.push(member);
            }
        }
        let members = if !first.is_empty() {
            let mut members = first.join(r#" "," ws "#);
            for member in &optional {
                let _ = write!(members, r#" ( "," ws {member} )?"#);
            }
            members
        } else if optional.is_empty() {
            String::new()
        } else {
            // All optional: any of them may come first, the later ones may follow it.
            let starts: Vec<String> = (0..optional.len())
                .map(|i| {
                    let mut start = optional[i].clone();
                    for member in &optional[i + 1..] {
                        let _ = write!(start, r#" ( "," ws {member} )?"#);
                    }
                    start
                })
                .collect();
            format!("( {} )?", starts.join(" | "))
        };
        let body = if members.is_empty() { r#""{" "}""#.to_string() } else { format!(r#""{{" {members} "}}""#) };
        Ok(self.define(name, body))
    }

    fn array(
        &mut self,
        schema: &serde_json::Map<String, Value>,
        name: &str,
        at: &str,
        depth: usize,
    ) -> Result<String, String> {
        let items =
            schema.get("items").ok_or_else(|| format!("{at}: an array needs \"items\" (the schema of one item)"))?;
        let min = unsigned(schema, "minItems", at)?.unwrap_or(0);
        let max = unsigned(schema, "maxItems", at)?;
        if let Some(max) = max
            && min > max
        {
            return Err(format!("{at}: minItems {min} is above maxItems {max}"));
        }
        let max = max.unwrap_or(DEFAULT_MAX_ITEMS.max(min));
        self.primitive("ws", WS);
        if max == 0 {
            return Ok(self.define(name, r#""[" "]""#.into()));
        }
        let item = self.visit(items, &format!("{name}-item"), &format!("{at}/items"), depth + 1)?;
        let more = if max > MAX_BOUNDED_REPETITION {
            format!(r#"( "," ws {item} ){{{},}}"#, min.saturating_sub(1))
        } else {
            format!(r#"( "," ws {item} ){{{},{}}}"#, min.saturating_sub(1), max - 1)
        };
        let body =
            if min == 0 { format!(r#""[" ( {item} {more} )? "]""#) } else { format!(r#""[" {item} {more} "]""#) };
        Ok(self.define(name, body))
    }

    /// Defines a rule under a name derived from `hint` that no other rule has, and returns the name.
    fn define(&mut self, hint: &str, body: String) -> String {
        // `schema_to_gbnf` writes `root ::= <expression>`, so the top value's rule needs its own name.
        let wanted = if hint == "root" { "root-value" } else { hint };
        let mut name = wanted.to_string();
        let mut n = 2;
        while self.names.contains(&name) {
            name = format!("{wanted}-{n}");
            n += 1;
        }
        self.names.insert(name.clone());
        self.rules.push((name.clone(), body));
        name
    }

    /// Defines a shared rule once (by its fixed name) and returns the name.
    fn primitive(&mut self, name: &str, body: &str) -> String {
        if self.names.insert(name.to_string()) {
            self.rules.push((name.to_string(), body.to_string()));
        }
        name.to_string()
    }
}

/// The most characters a value of `schema` can take in the grammar's output when strings without a
/// `maxLength` hold at most `string_chars` (an escape counts as one: close enough for a budget). Lenient:
/// parts the grammar would refuse count as nothing, since `visit` reports them.
fn longest(schema: &Value, string_chars: u64, depth: usize) -> u64 {
    let Some(schema) = schema.as_object().filter(|_| depth <= MAX_SCHEMA_DEPTH) else { return 0 };
    let number = |key: &str| schema.get(key).and_then(Value::as_u64);
    if let Some(value) = schema.get("const") {
        return value.to_string().len() as u64;
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        return values.iter().map(|v| v.to_string().len() as u64).max().unwrap_or(0);
    }
    for keyword in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = schema.get(keyword) {
            return options.iter().map(|o| longest(o, string_chars, depth + 1)).max().unwrap_or(0);
        }
    }
    let longest_of = |kind: &str| -> u64 {
        match kind {
            "object" => {
                let Some(Value::Object(properties)) = schema.get("properties") else { return 2 };
                let members: u64 = properties
                    .iter()
                    .map(|(key, value)| {
                        Value::String(key.clone()).to_string().len() as u64
                            + 2
                            + longest(value, string_chars, depth + 1)
                    })
                    .sum();
                2 + members + 2 * (properties.len() as u64).saturating_sub(1)
            }
            "array" => {
                let items = number("maxItems").unwrap_or(DEFAULT_MAX_ITEMS.max(number("minItems").unwrap_or(0)));
                let item = schema.get("items").map_or(0, |i| longest(i, string_chars, depth + 1));
                2 + items * item + 2 * items.saturating_sub(1)
            }
            "string" => 2 + number("maxLength").unwrap_or(string_chars.max(number("minLength").unwrap_or(0))),
            "integer" => 17,
            "number" => 17 + 16 + 5,
            "boolean" => 5,
            "null" => 4,
            _ => 0,
        }
    };
    match schema.get("type") {
        Some(Value::String(kind)) => longest_of(kind),
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).map(longest_of).max().unwrap_or(0),
        _ if schema.contains_key("properties") => longest_of("object"),
        _ if schema.contains_key("items") => longest_of("array"),
        _ => 0,
    }
}

const WS: &str = r#"" "?"#;
const CHAR: &str = r#"[^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )"#;
const INTEGER: &str = r#""-"? ( "0" | [1-9] [0-9]{0,15} )"#;
const FRACTION: &str = r#""." [0-9]{1,15}"#;
const EXPONENT: &str = r#"[eE] [-+]? [0-9]{1,3}"#;

fn unsigned(schema: &serde_json::Map<String, Value>, key: &str, at: &str) -> Result<Option<u64>, String> {
    match schema.get(key) {
        None => Ok(None),
        Some(value) => {
            value.as_u64().map(Some).ok_or_else(|| format!("{at}: {key} must be a non-negative integer, found {value}"))
        }
    }
}

/// A GBNF string literal matching exactly `text`.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A property name as a piece of a rule name (GBNF names are letters, digits and dashes).
fn rule_word(key: &str) -> String {
    let word: String = key.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let word = word.trim_matches('-');
    if word.is_empty() { "property".into() } else { word.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reverie_note_schema() {
        let schema = json!({
            "type": "object",
            "properties": {
                "summary": {"type": "string"},
                "symbols": {"type": "array", "items": {"type": "string"}, "maxItems": 3}
            },
            "required": ["summary", "symbols"]
        });
        expect_test::expect![[r#"
            root ::= root-value
            ws ::= " "?
            char ::= [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )
            string ::= "\"" char{0,256} "\""
            root-symbols ::= "[" ( string ( "," ws string ){0,2} )? "]"
            root-value ::= "{" "\"summary\"" ":" ws string "," ws "\"symbols\"" ":" ws root-symbols "}"
        "#]]
        .assert_eq(&schema_to_gbnf(&schema).unwrap());
    }

    #[test]
    fn primitives_enums_and_nesting() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a_count": {"type": "integer"},
                "b_kind": {"enum": ["fn", "type \"alias\""]},
                "c_ok": {"type": "boolean"},
                "d_score": {"type": "number"},
                "e_where": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "maxLength": 40}, "line": {"type": "integer"}},
                    "required": ["file"]
                },
                "f_calls": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
                    "minItems": 1
                }
            },
            "required": ["a_count", "b_kind", "c_ok", "d_score", "e_where", "f_calls"]
        });
        expect_test::expect![[r#"
            root ::= root-value
            ws ::= " "?
            integer ::= "-"? ( "0" | [1-9] [0-9]{0,15} )
            boolean ::= "true" | "false"
            fraction ::= "." [0-9]{1,15}
            exponent ::= [eE] [-+]? [0-9]{1,3}
            number ::= integer fraction? exponent?
            char ::= [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )
            string-0-40 ::= "\"" char{0,40} "\""
            root-e-where ::= "{" "\"file\"" ":" ws string-0-40 ( "," ws "\"line\"" ":" ws integer )? "}"
            string ::= "\"" char{0,256} "\""
            root-f-calls-item ::= "{" "\"name\"" ":" ws string "}"
            root-f-calls ::= "[" root-f-calls-item ( "," ws root-f-calls-item ){0,15} "]"
            root-value ::= "{" "\"a_count\"" ":" ws integer "," ws "\"b_kind\"" ":" ws ( "\"fn\"" | "\"type \\\"alias\\\"\"" ) "," ws "\"c_ok\"" ":" ws boolean "," ws "\"d_score\"" ":" ws number "," ws "\"e_where\"" ":" ws root-e-where "," ws "\"f_calls\"" ":" ws root-f-calls "}"
        "#]]
        .assert_eq(&schema_to_gbnf(&schema).unwrap());
    }

    #[test]
    fn all_optional_properties() {
        let schema =
            json!({"type": "object", "properties": {"x": {"type": "null"}, "y": {"type": ["integer", "null"]}}});
        expect_test::expect![[r#"
            root ::= root-value
            ws ::= " "?
            integer ::= "-"? ( "0" | [1-9] [0-9]{0,15} )
            root-value ::= "{" ( "\"x\"" ":" ws "null" ( "," ws "\"y\"" ":" ws ( integer | "null" ) )? | "\"y\"" ":" ws ( integer | "null" ) )? "}"
        "#]]
        .assert_eq(&schema_to_gbnf(&schema).unwrap());
    }

    #[test]
    fn top_level_array_and_bounds() {
        let schema = json!({"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 0});
        expect_test::expect![[r#"
            root ::= root-value
            ws ::= " "?
            root-value ::= "[" "]"
        "#]]
        .assert_eq(&schema_to_gbnf(&schema).unwrap());
        let schema = json!({"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 1000});
        expect_test::expect![[r#"
            root ::= root-value
            ws ::= " "?
            integer ::= "-"? ( "0" | [1-9] [0-9]{0,15} )
            root-value ::= "[" integer ( "," ws integer ){1,} "]"
        "#]]
        .assert_eq(&schema_to_gbnf(&schema).unwrap());
    }

    #[test]
    fn clashing_property_names_get_distinct_rules() {
        let schema = json!({"type": "object", "properties": {
            "a b": {"type": "object", "properties": {}},
            "a-b": {"type": "object", "properties": {}},
            "__": {"type": "array", "items": {"type": "boolean"}, "maxItems": 1}
        }, "required": ["a b", "a-b", "__"]});
        let grammar = schema_to_gbnf(&schema).unwrap();
        let names: Vec<&str> = grammar.lines().filter_map(|l| l.split(" ::= ").next()).collect();
        let unique: HashSet<&str> = names.iter().copied().collect();
        assert_eq!(names.len(), unique.len(), "{grammar}");
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')), "{grammar}");
        assert!(
            grammar.contains("root-a-b ::=")
                && grammar.contains("root-a-b-2 ::=")
                && grammar.contains("root-property ::=")
        );
    }

    #[test]
    fn unsupported_schemas_say_what_to_do() {
        let cases = [
            (json!({"$ref": "#/defs/x"}), "#: $ref (\"#/defs/x\") is not supported; inline the definition"),
            (json!({"type": "object", "properties": {"a": {}}}), "#/properties/a: no \"type\"; give one of"),
            (
                json!({"type": "object", "required": ["a"]}),
                "#: \"required\" names \"a\", which is not in \"properties\"",
            ),
            (json!({"type": "tuple"}), "#: unknown type \"tuple\""),
            (json!({"type": "array"}), "#: an array needs \"items\""),
            (
                json!({"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 2}),
                "#: minItems 3 is above",
            ),
            (json!({"type": "string", "maxLength": -1}), "#: maxLength must be a non-negative integer"),
            (json!({"enum": []}), "#: enum must be a non-empty array"),
            (json!(true), "#: `true` (any value) is not supported"),
            (json!(7), "#: a schema must be an object"),
        ];
        for (schema, expected) in cases {
            let error = schema_to_gbnf(&schema).unwrap_err();
            assert!(error.starts_with(expected), "{schema}: {error}");
        }
        let mut deep = json!({"type": "string"});
        for _ in 0..100 {
            deep = json!({"type": "array", "items": deep});
        }
        assert!(schema_to_gbnf(&deep).unwrap_err().contains("deeper than"));
    }

    #[test]
    fn literals_escape_what_gbnf_needs() {
        assert_eq!(literal(r#""a\b""#), r#""\"a\\b\"""#);
        assert_eq!(literal("tab\there\u{1}é"), r#""tab\there\x01é""#);
    }

    #[test]
    fn the_longest_answer_fits_the_budget() {
        let note = crate::sleep::prompt::schema(crate::sleep::NoteKind::FileSummary);
        // Unbounded by budget: the schema's own bounds and the default string bound.
        let roomy = schema_to_gbnf_for_tokens(&note, 1_000_000).unwrap();
        assert_eq!(roomy, schema_to_gbnf(&note).unwrap());
        for budget in [300u32, 400, 1000] {
            let grammar = schema_to_gbnf_for_tokens(&note, budget).unwrap();
            let bound: u64 = grammar
                .lines()
                .find_map(|line| line.split(' ').next()?.strip_prefix("string-")?.rsplit('-').next()?.parse().ok())
                .unwrap_or(DEFAULT_MAX_STRING_CHARS);
            assert!(longest_in_tokens(&note, bound) <= f64::from(budget), "{budget} tokens: {bound} is too many");
            assert!(
                longest_in_tokens(&note, bound + 1) > f64::from(budget) || bound == DEFAULT_MAX_STRING_CHARS,
                "{budget}: {bound}"
            );
            // Even written at 1.5 characters a token throughout its JSON, the answer ends in time.
            let structure = longest(&note, 0, 0) as f64;
            assert!(structure / 1.5 < f64::from(budget), "{budget}: the JSON alone does not fit");
        }
        // A budget too small for anything still gives a usable grammar, at the floor.
        let tiny = schema_to_gbnf_for_tokens(&note, 10).unwrap();
        assert!(tiny.contains(&format!("char{{1,{MIN_STRING_CHARS}}}")), "{tiny}");
    }

    #[test]
    fn longest_counts_every_part_of_the_output() {
        let schema = json!({"type": "object", "properties": {
            "a": {"type": "string", "maxLength": 3},
            "b": {"type": "array", "items": {"type": "boolean"}, "maxItems": 2},
            "c": {"enum": ["xy", 7]}
        }});
        // {"a": "abc", "b": [false, false], "c": "xy"}
        assert_eq!(longest(&schema, 0, 0), r#"{"a": "abc", "b": [false, false], "c": "xy"}"#.len() as u64);
    }
}
