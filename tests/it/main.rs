//! The integration tests, one binary (as ripgrep does): each module is one area, run against the real
//! `reverie` binary, real editors and real models where users would meet them. `util` is the shared
//! harness. One binary links once instead of two dozen times, which keeps a clean test run's build
//! time and disk use down. Run one area with `cargo test --test it -- lsp::`.

mod util;

mod answer;
mod answer_docs;
mod churn;
mod cli;
mod crash;
mod embed;
mod eval;
mod facts_fixtures;
mod faults;
mod grounding;
mod helix;
mod helix_wire;
mod history;
mod interface_hash;
mod languages;
mod layers;
mod llm_local;
mod llm_wire;
mod local_e2e;
mod lsp;
mod neovim;
mod past_changes;
mod privacy;
mod repo_map;
mod robustness;
mod share;
mod sizes;
mod sleep;
mod sleep_runner;
mod store;
