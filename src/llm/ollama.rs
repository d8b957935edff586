//! Offering a local Ollama server when no model is configured: reverie asks the server which models
//! it has (`GET /api/tags`, the only request; no code or question is ever sent) and, if it answers,
//! says in its status how to use it. Using it still takes configuration.

use serde::Deserialize;
use std::time::Duration;

/// Where Ollama listens by default (`llm.offer_ollama`).
pub const DEFAULT_URL: &str = "http://127.0.0.1:11434";
/// The probe gives up after this long: a local server answers in milliseconds or not at all.
const PROBE_TIMEOUT: Duration = Duration::from_millis(800);
/// Models named in the offer.
const MAX_MODELS_SHOWN: usize = 3;

#[derive(Deserialize)]
struct Tags {
    #[serde(default)]
    models: Vec<Model>,
}

#[derive(Deserialize)]
struct Model {
    name: String,
}

/// The models of the Ollama server at `base`, or `None` when nothing answers there like Ollama. Only
/// loopback addresses are asked (the offer is about this machine).
pub async fn installed_models(base: &str) -> Option<Vec<String>> {
    let url = reqwest::Url::parse(base).ok()?.join("api/tags").ok()?;
    if !super::http::is_loopback(&url) {
        return None;
    }
    let client = reqwest::Client::builder().timeout(PROBE_TIMEOUT).no_proxy().build().ok()?;
    let response = client.get(url).send().await.ok()?.error_for_status().ok()?;
    let tags: Tags = response.json().await.ok()?;
    Some(tags.models.into_iter().map(|m| m.name).collect())
}

/// The status line offering the server at `base` with `models`.
pub fn offer(base: &str, models: &[String]) -> String {
    let base = base.trim_end_matches('/');
    let Some(first) = models.first() else {
        return format!(
            "no model configured, answering from facts. An Ollama server answers at {base} but has no models \
             yet (`ollama pull qwen2.5-coder:7b`)"
        );
    };
    let shown: Vec<&str> = models.iter().take(MAX_MODELS_SHOWN).map(String::as_str).collect();
    let more = models.len().saturating_sub(MAX_MODELS_SHOWN);
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    format!(
        "no model configured, answering from facts. An Ollama server answers at {base} ({}{more}); to let \
         reverie think with it, add to reverie.toml: [llm] provider = \"openai\", base_url = \"{base}/v1\", \
         model = \"{first}\"",
        shown.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offer_names_the_models_and_the_config() {
        let models: Vec<String> = ["qwen2.5-coder:7b", "llama3:8b", "phi3", "mistral"].map(String::from).to_vec();
        let text = offer("http://127.0.0.1:11434/", &models);
        assert!(text.contains("(qwen2.5-coder:7b, llama3:8b, phi3 and 1 more)"), "{text}");
        assert!(text.contains("base_url = \"http://127.0.0.1:11434/v1\""), "{text}");
        assert!(text.contains("model = \"qwen2.5-coder:7b\""), "{text}");
        assert!(offer(DEFAULT_URL, &[]).contains("no models yet"));
    }

    #[tokio::test]
    async fn only_loopback_servers_are_asked() {
        assert_eq!(installed_models("http://192.0.2.1:11434").await, None);
        assert_eq!(installed_models("not a url").await, None);
    }
}
