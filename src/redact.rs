//! Secrets never leave the machine: which files count as secret, and redaction of secret-looking
//! strings inside ordinary text, applied to every prompt before it is sent.
//!
//! Files ignored by `.gitignore`/`.ignore`/`.reverieignore` never reach a prompt because they are
//! never indexed. This module covers the rest: files that look like secrets by name (`.env*`,
//! `*.pem`, `*.key`, `id_rsa*`, credential files, ...) are excluded, and strings shaped like keys and
//! tokens (AWS, GCP, GitHub, OpenAI, Anthropic, Slack, private-key blocks, JWTs, high-entropy values
//! assigned to names like `key`/`secret`/`token`/`password`) are replaced by `[REDACTED:<kind>]`.
//! Pure functions; tested with canaries.

use std::path::Path;

/// A redaction made in a text: what kind of secret and where (byte range in the original).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redaction {
    pub kind: &'static str,
    pub start: usize,
    pub end: usize,
}

/// Whether a file must never be sent anywhere, judged by its name.
pub fn is_secret_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else { return false };
    let lower = name.to_ascii_lowercase();
    lower == ".env"
        || lower.starts_with(".env.")
        || lower.ends_with(".env")
        || lower.starts_with("id_rsa")
        || lower.starts_with("id_dsa")
        || lower.starts_with("id_ecdsa")
        || lower.starts_with("id_ed25519")
        || [
            ".pem",
            ".key",
            ".p12",
            ".pfx",
            ".jks",
            ".keystore",
            ".asc",
            ".gpg",
            ".ovpn",
            ".kdbx",
            ".tfvars",
            ".tfstate",
        ]
        .iter()
        .any(|ext| lower.ends_with(ext))
        || [
            ".npmrc",
            ".pypirc",
            ".netrc",
            "_netrc",
            ".git-credentials",
            "credentials",
            "credentials.json",
            "credentials.yml",
            "credentials.yaml",
            "secrets.json",
            "secrets.yml",
            "secrets.yaml",
            "service-account.json",
            ".htpasswd",
            "known_hosts",
            "authorized_keys",
        ]
        .contains(&lower.as_str())
        || (lower.contains("secret") && !lower.ends_with(".md"))
}

/// Token shapes with a fixed prefix: (kind, prefix, minimum length of the rest, allowed characters).
const PREFIXED: &[(&str, &str, usize)] = &[
    ("aws-access-key", "AKIA", 16),
    ("aws-access-key", "ASIA", 16),
    ("github-token", "ghp_", 30),
    ("github-token", "gho_", 30),
    ("github-token", "ghu_", 30),
    ("github-token", "ghs_", 30),
    ("github-token", "ghr_", 30),
    ("github-token", "github_pat_", 30),
    ("anthropic-key", "sk-ant-", 20),
    ("openai-key", "sk-proj-", 20),
    ("openai-key", "sk-", 20),
    ("slack-token", "xoxb-", 10),
    ("slack-token", "xoxp-", 10),
    ("slack-token", "xoxa-", 10),
    ("slack-token", "xoxs-", 10),
    ("slack-webhook", "https://hooks.slack.com/services/", 20),
    ("gcp-api-key", "AIza", 30),
    ("stripe-key", "sk_live_", 16),
    ("stripe-key", "rk_live_", 16),
    ("npm-token", "npm_", 30),
    ("pypi-token", "pypi-", 30),
    ("gitlab-token", "glpat-", 16),
];

/// Names that, when assigned a long random-looking value, mark it as a secret.
const SECRET_NAMES: &[&str] = &[
    "key",
    "secret",
    "token",
    "password",
    "passwd",
    "pwd",
    "credential",
    "auth",
    "private",
    "api_key",
    "apikey",
    "access",
];

fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'/' | b'+' | b'=' | b'.')
}

/// Replaces secret-looking strings in `text`; returns the redacted text and what was redacted.
pub fn redact(text: &str) -> (String, Vec<Redaction>) {
    let mut found: Vec<Redaction> = Vec::new();
    find_private_key_blocks(text, &mut found);
    find_prefixed_tokens(text, &mut found);
    find_jwts(text, &mut found);
    find_assigned_secrets(text, &mut found);
    find_gcp_service_account_keys(text, &mut found);
    found.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
    // Drop overlaps, keeping the earliest (and longest at the same start).
    let mut kept: Vec<Redaction> = Vec::new();
    for r in found {
        if kept.last().is_some_and(|last| r.start < last.end) {
            continue;
        }
        kept.push(r);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in &kept {
        out.push_str(&text[at..r.start]);
        out.push_str(&format!("[REDACTED:{}]", r.kind));
        at = r.end;
    }
    out.push_str(&text[at..]);
    (out, kept)
}

fn find_private_key_blocks(text: &str, found: &mut Vec<Redaction>) {
    let mut from = 0;
    while let Some(begin) = text[from..].find("-----BEGIN ") {
        let start = from + begin;
        let header_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let header = &text[start..header_end];
        if !header.contains("PRIVATE KEY") && !header.contains("OPENSSH") && !header.contains("PGP PRIVATE") {
            from = start + 11;
            continue;
        }
        let end = match text[start..].find("-----END ") {
            Some(i) => {
                let end_line = start + i;
                text[end_line..].find('\n').map_or(text.len(), |j| end_line + j)
            }
            None => text.len(), // An unterminated block: redact to the end, never leak half a key.
        };
        found.push(Redaction { kind: "private-key", start, end });
        from = end;
    }
}

fn find_prefixed_tokens(text: &str, found: &mut Vec<Redaction>) {
    let bytes = text.as_bytes();
    for &(kind, prefix, min_rest) in PREFIXED {
        let mut from = 0;
        while let Some(i) = text[from..].find(prefix) {
            let start = from + i;
            // A token starts at a boundary (not inside a longer identifier).
            let boundary = start == 0 || !is_token_char(bytes[start - 1]) || prefix.starts_with("https://");
            let mut end = start + prefix.len();
            while end < bytes.len() && is_token_char(bytes[end]) {
                end += 1;
            }
            let rest = &text[start + prefix.len()..end];
            if boundary && rest.len() >= min_rest && rest.bytes().any(|b| b.is_ascii_digit()) {
                found.push(Redaction { kind, start, end });
            }
            from = end.max(start + 1);
        }
    }
}

fn find_jwts(text: &str, found: &mut Vec<Redaction>) {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find("eyJ") {
        let start = from + i;
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || matches!(bytes[end], b'_' | b'-' | b'.')) {
            end += 1;
        }
        let token = &text[start..end];
        if token.matches('.').count() >= 2 && token.len() >= 40 {
            found.push(Redaction { kind: "jwt", start, end });
        }
        from = end.max(start + 3);
    }
}

fn find_gcp_service_account_keys(text: &str, found: &mut Vec<Redaction>) {
    // "private_key_id": "0123abcd..." in a service-account JSON pasted into code.
    let mut from = 0;
    while let Some(i) = text[from..].find("\"private_key_id\"") {
        let start = from + i;
        let line_end = text[start..].find('\n').map_or(text.len(), |j| start + j);
        found.push(Redaction { kind: "gcp-service-account", start, end: line_end });
        from = line_end;
    }
}

/// `name = "value"`, `name: value`, `NAME=value` where name contains a secret word and the value
/// looks random (long, mixed character classes, high entropy).
fn find_assigned_secrets(text: &str, found: &mut Vec<Redaction>) {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let lower = line.to_ascii_lowercase();
        if SECRET_NAMES.iter().any(|n| lower.contains(n))
            && let Some(sep) = line.find([':', '='])
        {
            let name = line[..sep].trim().trim_matches(|c| c == '"' || c == '\'').to_ascii_lowercase();
            if SECRET_NAMES.iter().any(|n| name.contains(n)) {
                let value_part = &line[sep + 1..];
                let trimmed = value_part.trim_start_matches(['=', ' ', '\t', '"', '\'', '`', ':']);
                let value_start = offset + sep + 1 + (value_part.len() - trimmed.len());
                let value_len = trimmed.bytes().take_while(|&b| is_token_char(b)).count();
                let value = &text[value_start..value_start + value_len];
                if looks_random(value) {
                    found.push(Redaction { kind: "assigned-secret", start: value_start, end: value_start + value_len });
                }
            }
        }
        offset += line.len();
    }
}

/// Long, varied, high-entropy: a key or token, not a word or an identifier.
pub fn looks_random(value: &str) -> bool {
    if value.len() < 16 {
        return false;
    }
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    let has_alpha = value.bytes().any(|b| b.is_ascii_alphabetic());
    if !(has_digit && has_alpha) {
        return false;
    }
    entropy_bits_per_char(value) >= 3.5
}

fn entropy_bits_per_char(value: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in value.bytes() {
        counts[b as usize] += 1;
    }
    let n = value.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_files_are_recognized() {
        for secret in [
            ".env",
            ".env.production",
            "prod.env",
            "server.pem",
            "tls.key",
            "id_rsa",
            "id_ed25519.pub",
            ".npmrc",
            ".pypirc",
            "credentials.json",
            "client_secret.json",
        ] {
            assert!(is_secret_file(Path::new(secret)), "{secret}");
        }
        for ordinary in ["main.rs", "keyboard.py", "environment.ts", "README.md", "secrets.md", "tokenizer.go"] {
            assert!(!is_secret_file(Path::new(ordinary)), "{ordinary}");
        }
    }

    #[test]
    fn canaries_of_every_shape_are_redacted() {
        let canaries = [
            "AKIAZ7CANARY1234567X",
            "ghp_CANARYa1b2c3d4e5f6g7h8i9j0k1l2m3n4o5",
            "github_pat_11CANARY0a1b2c3d4e5f6g7h8i9j0k1l2",
            "sk-ant-api03-CANARY1a2b3c4d5e6f7g8h9",
            "sk-proj-CANARY1a2b3c4d5e6f7g8h9i0j",
            "sk-CANARY1a2b3c4d5e6f7g8h9i0jklmno",
            "xoxb-1234567890-CANARY0987654321-abcdef",
            "AIzaSyCANARY1a2b3c4d5e6f7g8h9i0j1k2l3m",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJDQU5BUlkxMjMifQ.c2lnbmF0dXJlQ0FOQVJZMTIz",
        ];
        for canary in canaries {
            let text = format!("config = load()\nclient = Client(\"{canary}\")\n");
            let (redacted, found) = redact(&text);
            assert!(!redacted.contains(canary), "{canary} leaked: {redacted}");
            assert_eq!(found.len(), 1, "{canary}: {found:?}");
            assert!(redacted.contains("client = Client(\"[REDACTED:"), "{redacted}");
        }
    }

    #[test]
    fn private_key_blocks_and_assigned_secrets_are_redacted() {
        let text = "KEY = '''\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAcanary\n-----END RSA PRIVATE KEY-----\n'''\nDB_PASSWORD = \"Zx8q3Lr0pW2mK7vN1cT5\"\nrequest_timeout = 30\n";
        let (redacted, found) = redact(text);
        assert!(!redacted.contains("MIIEpAIBAAKCAQEAcanary"), "{redacted}");
        assert!(!redacted.contains("Zx8q3Lr0pW2mK7vN1cT5"), "{redacted}");
        assert!(redacted.contains("request_timeout = 30"));
        assert_eq!(found.iter().map(|r| r.kind).collect::<Vec<_>>(), ["private-key", "assigned-secret"]);
    }

    #[test]
    fn ordinary_code_is_left_alone() {
        let code = "def get_token_count(text):\n    token = tokenizer.encode(text)\n    password_field = forms.CharField(max_length=128)\n    return len(token)\n";
        let (redacted, found) = redact(code);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(redacted, code);
    }
}
