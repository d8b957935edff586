//! Durations and sizes as people write them in configuration and on the command line (`20s`,
//! `500ms`, `2MiB`): parsing and serde deserializers; names from a closed set (`provider = "local"`);
//! and counts as people read them (`1,234,567`). Pure; every error says what was expected.

use serde::{Deserialize, Deserializer};

/// The one of `choices` named `given` (a closed set in the configuration: providers, note kinds);
/// otherwise an error that lists the names allowed: "`onnx` is not a provider; use local, openai or none".
pub fn one_of<T: Copy>(given: &str, what: &str, choices: &[T], name: impl Fn(T) -> &'static str) -> Result<T, String> {
    if let Some(&choice) = choices.iter().find(|&&choice| name(choice) == given) {
        return Ok(choice);
    }
    let names: Vec<&str> = choices.iter().map(|&choice| name(choice)).collect();
    let allowed = match names.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    Err(format!("`{given}` is not {what}; use {allowed}"))
}

/// Parses a duration: seconds as a number (`20`, `0.5`) or with a unit (`500ms`, `20s`, `2m`).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("`{text}` is not a duration like 20s, 500ms or 2m"))?;
    let seconds = match unit.trim() {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        other => return Err(format!("unknown duration unit `{other}` in `{text}` (use ms, s, m or h)")),
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!("`{text}` is not a duration"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

/// Deserializes a duration written as seconds or with a unit (see `parse_duration`).
pub fn de_duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<std::time::Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Value {
        Seconds(f64),
        Text(String),
    }
    match Value::deserialize(deserializer)? {
        Value::Seconds(seconds) => parse_duration(&seconds.to_string()).map_err(serde::de::Error::custom),
        Value::Text(text) => parse_duration(&text).map_err(serde::de::Error::custom),
    }
}

/// Parses a size given as bytes (`1048576`) or with a unit (`512KiB`, `1MiB`, `2MB`, `1G`).
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("`{text}` is not a size like 1048576, 512KiB or 1MiB"))?;
    let multiplier = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("unknown size unit `{other}` in `{text}` (use B, KiB, MiB, GiB, KB, MB or GB)")),
    };
    Ok((number * multiplier) as u64)
}

/// Deserializes a size written as bytes or with a unit (see `parse_byte_size`).
pub fn de_byte_size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    match Size::deserialize(deserializer)? {
        Size::Bytes(bytes) => Ok(bytes),
        Size::Text(text) => parse_byte_size(&text).map_err(serde::de::Error::custom),
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_byte_size("1048576"), Ok(1048576));
        assert_eq!(parse_byte_size("1MiB"), Ok(1048576));
        assert_eq!(parse_byte_size("512 KiB"), Ok(524288));
        assert_eq!(parse_byte_size("2MB"), Ok(2_000_000));
        assert!(parse_byte_size("lots").is_err());
        assert!(parse_byte_size("3 parsecs").is_err());
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("20"), Ok(std::time::Duration::from_secs(20)));
        assert_eq!(parse_duration("500ms"), Ok(std::time::Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(std::time::Duration::from_secs(120)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3 fortnights").is_err());
    }

    #[test]
    fn a_name_outside_its_set_lists_the_allowed_ones() {
        let name = |n: u8| ["local", "openai", "none"][n as usize];
        assert_eq!(one_of("openai", "a provider", &[0, 1, 2], name), Ok(1));
        assert_eq!(
            one_of("onnx", "a provider", &[0, 1, 2], name),
            Err("`onnx` is not a provider; use local, openai or none".to_string())
        );
    }

    #[test]
    fn thousands_are_grouped_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }
}
