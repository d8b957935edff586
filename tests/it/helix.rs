//! The Helix configuration in editors/helix: it parses, runs the real binary's `serve` command, and
//! names exactly the languages of the language table; its timeout matches Helix's request timeout.

use std::collections::BTreeSet;

#[test]
fn languages_toml_matches_the_server() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/editors/helix/languages.toml")).unwrap();
    let config: toml::Table = text.parse().expect("editors/helix/languages.toml is valid TOML");
    let server = &config["language-server"]["reverie"];
    assert_eq!(server["command"].as_str(), Some("reverie"));
    assert_eq!(server["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect::<Vec<_>>(), ["serve"]);
    assert!(server["timeout"].as_integer().unwrap() <= 20, "within Helix's 20 s request timeout");
    // The config section must be valid reverie configuration.
    let options = serde_json::to_value(server["config"].clone()).unwrap();
    let (_, problems) = reverie::config::Config::from_layers(vec![reverie::config::Layer {
        source: "helix".into(),
        value: Ok(options),
    }]);
    assert!(problems.is_empty(), "{problems:?}");

    let languages: BTreeSet<&str> = config["language"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|l| {
            let servers: Vec<&str> =
                l["language-servers"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
            assert_eq!(servers.last(), Some(&"reverie"), "reverie is added after the usual server: {l}");
        })
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    // Helix's language names for what reverie parses, from the language table.
    let expected: BTreeSet<&str> = reverie::syntax::Language::ALL
        .iter()
        .flat_map(|language| language.spec().helix_names.iter().copied())
        .collect();
    assert_eq!(languages, expected);
}

#[test]
fn the_server_advertises_the_commands_the_docs_use() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/editors/helix/README.md")).unwrap();
    for command in reverie::server::COMMANDS {
        assert!(readme.contains(command), "editors/helix/README.md should mention {command}");
    }
}
