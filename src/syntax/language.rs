//! The language registry: which files reverie understands, with which grammar and which queries.
//!
//! Each language's queries live in `grammars/<language>/*.scm` and are compiled into the binary with
//! `include_str!`. A language's query is the concatenation of its files (TypeScript reuses the
//! JavaScript files and adds its own), compiled once per process. The capture names the queries use
//! are the contract with `extract.rs`; they are listed in `grammars/README.md`.
//!
//! A language is one entry in the `languages!` table below: its grammar, names, file extensions and
//! file names, LSP language ids and editor names, doc style and query files. Everything else — the
//! enum, `Language::ALL`, lookups by path and by LSP id, the per-language compiled queries — is
//! derived from it, and so are the editor configurations' language lists and the README's language
//! line: `tests/it/languages.rs` checks them, and rewrites them with `UPDATE_EXPECT=1`.

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::OnceLock;
use tree_sitter::Query;

/// Declares the languages: one entry each, from which `Language`, `Language::ALL` and the spec table
/// are all generated, so that adding a language is one entry here, its query files, a fixture, and
/// one `UPDATE_EXPECT=1 cargo test --test it languages` to rewrite the editor lists and the README.
macro_rules! languages {
    ($($(#[$attr:meta])* $variant:ident { $($field:ident: $value:expr),* $(,)? })*) => {
        /// A language reverie extracts facts from. The discriminant is the position in `SPECS` and is
        /// part of stored records (postcard encodes the variant index): append new languages at the end.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Language {
            $($(#[$attr])* $variant,)*
        }

        impl Language {
            /// Every language, in table order.
            pub const ALL: &'static [Language] = &[$(Language::$variant),*];
        }

        static SPECS: &[LanguageSpec] = &[$(LanguageSpec { language: Language::$variant, $($field: $value),* }),*];
    };
}

/// Everything reverie knows about a language, in one place.
#[derive(Debug)]
pub struct LanguageSpec {
    pub language: Language,
    /// A short lowercase name, used in summaries, JSON and the store.
    pub name: &'static str,
    /// The name people write (the README's language list).
    pub title: &'static str,
    /// File extensions, without the dot, lowercase.
    pub extensions: &'static [&'static str],
    /// Whole file names (`Makefile`, `Gemfile`) for files whose extension says nothing.
    pub file_names: &'static [&'static str],
    /// LSP `languageId`s that editors send for this language (VS Code's ids; the documentSelector).
    pub lsp_ids: &'static [&'static str],
    /// Neovim filetypes (the plugin's `filetypes`).
    pub nvim_filetypes: &'static [&'static str],
    /// Helix language names (`editors/helix/languages.toml`).
    pub helix_names: &'static [&'static str],
    /// The language servers Helix users usually run for it; reverie goes after them in each of
    /// `helix_names`' entries of `editors/helix/languages.toml`.
    pub helix_servers: &'static [&'static str],
    pub doc_style: DocStyle,
    /// The tree-sitter grammar; `None` for plain text, which is kept and counted but not parsed.
    pub grammar: Option<fn() -> tree_sitter::Language>,
    /// The query's files from `grammars/`, the more specific first (earlier patterns win when two
    /// match the same node).
    pub queries: &'static [&'static str],
}

/// How a language attaches documentation to a definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocStyle {
    /// Comments directly above the definition (Rust, JavaScript, Go, Java, C, ...).
    PrecedingComments,
    /// A string literal as the first statement of the body (Python).
    Docstring,
    /// A `@doc "…"` attribute just before the definition, or `@moduledoc` first in a module's body
    /// (Elixir); else comments directly above.
    DocAttribute,
    /// Comments directly above; else a `(** … *)` doc comment right after the definition, odoc's
    /// other placement (`val length : t -> int` then `(** The length. *)` below it), when a blank
    /// line or the end follows it (a comment between two items with no blank line belongs to the next).
    PrecedingOrFollowingDocComment,
    /// The first paragraph of the section (Markdown, reStructuredText).
    FirstParagraph,
    /// No documentation (plain text).
    None,
}

languages! {
    Rust {
        name: "rust", title: "Rust", extensions: &["rs"], file_names: &[],
        lsp_ids: &["rust"], nvim_filetypes: &["rust"], helix_names: &["rust"], helix_servers: &["rust-analyzer"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_rust::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/rust/tags.scm"), include_str!("../../grammars/rust/facts.scm")],
    }
    Python {
        name: "python", title: "Python", extensions: &["py", "pyi"], file_names: &[],
        lsp_ids: &["python"], nvim_filetypes: &["python"], helix_names: &["python"], helix_servers: &["pylsp"],
        doc_style: DocStyle::Docstring, grammar: Some(|| tree_sitter_python::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/python/tags.scm"), include_str!("../../grammars/python/facts.scm")],
    }
    JavaScript {
        name: "javascript", title: "JavaScript/JSX", extensions: &["js", "mjs", "cjs", "jsx"], file_names: &[],
        lsp_ids: &["javascript", "javascriptreact"], nvim_filetypes: &["javascript", "javascriptreact"],
        helix_names: &["javascript", "jsx"], helix_servers: &["typescript-language-server"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_javascript::LANGUAGE.into()),
        queries: &[
            include_str!("../../grammars/javascript/tags.scm"),
            include_str!("../../grammars/javascript/facts.scm"),
            include_str!("../../grammars/javascript/jsx.scm"),
        ],
    }
    TypeScript {
        name: "typescript", title: "TypeScript", extensions: &["ts", "mts", "cts"], file_names: &[],
        lsp_ids: &["typescript"], nvim_filetypes: &["typescript"], helix_names: &["typescript"],
        helix_servers: &["typescript-language-server"],
        doc_style: DocStyle::PrecedingComments,
        grammar: Some(|| tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into()),
        queries: &[
            include_str!("../../grammars/typescript/tags.scm"),
            include_str!("../../grammars/javascript/tags.scm"),
            include_str!("../../grammars/javascript/facts.scm"),
        ],
    }
    Tsx {
        name: "tsx", title: "TSX", extensions: &["tsx"], file_names: &[],
        lsp_ids: &["typescriptreact"], nvim_filetypes: &["typescriptreact"], helix_names: &["tsx"],
        helix_servers: &["typescript-language-server"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_typescript::LANGUAGE_TSX.into()),
        queries: &[
            include_str!("../../grammars/typescript/tags.scm"),
            include_str!("../../grammars/javascript/tags.scm"),
            include_str!("../../grammars/javascript/facts.scm"),
            include_str!("../../grammars/javascript/jsx.scm"),
        ],
    }
    Go {
        name: "go", title: "Go", extensions: &["go"], file_names: &[],
        lsp_ids: &["go"], nvim_filetypes: &["go"], helix_names: &["go"], helix_servers: &["gopls"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_go::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/go/tags.scm"), include_str!("../../grammars/go/facts.scm")],
    }
    Java {
        name: "java", title: "Java", extensions: &["java"], file_names: &[],
        lsp_ids: &["java"], nvim_filetypes: &["java"], helix_names: &["java"], helix_servers: &["jdtls"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_java::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/java/tags.scm"), include_str!("../../grammars/java/facts.scm")],
    }
    C {
        name: "c", title: "C", extensions: &["c", "h"], file_names: &[],
        lsp_ids: &["c"], nvim_filetypes: &["c"], helix_names: &["c"], helix_servers: &["clangd"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_c::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/c/tags.scm"), include_str!("../../grammars/c/facts.scm")],
    }
    Cpp {
        name: "cpp", title: "C++",
        extensions: &["cc", "cpp", "cxx", "c++", "hpp", "hh", "hxx", "h++", "ipp", "inl"], file_names: &[],
        lsp_ids: &["cpp"], nvim_filetypes: &["cpp"], helix_names: &["cpp"], helix_servers: &["clangd"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_cpp::LANGUAGE.into()),
        queries: &[
            include_str!("../../grammars/cpp/tags.scm"),
            include_str!("../../grammars/cpp/facts.scm"),
            include_str!("../../grammars/c/tags.scm"),
            include_str!("../../grammars/c/facts.scm"),
        ],
    }
    Ruby {
        name: "ruby", title: "Ruby", extensions: &["rb", "rake", "gemspec", "ru"],
        file_names: &["Rakefile", "Gemfile", "Guardfile", "Vagrantfile", "Podfile"],
        lsp_ids: &["ruby"], nvim_filetypes: &["ruby"], helix_names: &["ruby"],
        helix_servers: &["ruby-lsp", "solargraph"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_ruby::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/ruby/tags.scm"), include_str!("../../grammars/ruby/facts.scm")],
    }
    Php {
        name: "php", title: "PHP", extensions: &["php", "phtml", "php8", "phpt"], file_names: &[],
        lsp_ids: &["php"], nvim_filetypes: &["php"], helix_names: &["php"], helix_servers: &["intelephense"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_php::LANGUAGE_PHP.into()),
        queries: &[include_str!("../../grammars/php/tags.scm"), include_str!("../../grammars/php/facts.scm")],
    }
    CSharp {
        name: "csharp", title: "C#", extensions: &["cs", "csx"], file_names: &[],
        lsp_ids: &["csharp"], nvim_filetypes: &["cs"], helix_names: &["c-sharp"], helix_servers: &["omnisharp"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_c_sharp::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/csharp/tags.scm"), include_str!("../../grammars/csharp/facts.scm")],
    }
    Lua {
        name: "lua", title: "Lua", extensions: &["lua", "rockspec"], file_names: &[],
        lsp_ids: &["lua"], nvim_filetypes: &["lua"], helix_names: &["lua"], helix_servers: &["lua-language-server"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_lua::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/lua/tags.scm"), include_str!("../../grammars/lua/facts.scm")],
    }
    Bash {
        name: "bash", title: "Bash", extensions: &["sh", "bash", "bats", "ksh"], file_names: &["PKGBUILD"],
        lsp_ids: &["shellscript"], nvim_filetypes: &["sh", "bash"], helix_names: &["bash"],
        helix_servers: &["bash-language-server"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_bash::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/bash/tags.scm"), include_str!("../../grammars/bash/facts.scm")],
    }
    Kotlin {
        name: "kotlin", title: "Kotlin", extensions: &["kt", "kts"], file_names: &[],
        lsp_ids: &["kotlin"], nvim_filetypes: &["kotlin"], helix_names: &["kotlin"],
        helix_servers: &["kotlin-language-server"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_kotlin_ng::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/kotlin/tags.scm"), include_str!("../../grammars/kotlin/facts.scm")],
    }
    Swift {
        name: "swift", title: "Swift", extensions: &["swift"], file_names: &[],
        lsp_ids: &["swift"], nvim_filetypes: &["swift"], helix_names: &["swift"], helix_servers: &["sourcekit-lsp"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_swift::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/swift/tags.scm"), include_str!("../../grammars/swift/facts.scm")],
    }
    Scala {
        name: "scala", title: "Scala", extensions: &["scala", "sc", "sbt"], file_names: &[],
        lsp_ids: &["scala"], nvim_filetypes: &["scala", "sbt"], helix_names: &["scala"], helix_servers: &["metals"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_scala::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/scala/tags.scm"), include_str!("../../grammars/scala/facts.scm")],
    }
    Elixir {
        name: "elixir", title: "Elixir", extensions: &["ex", "exs"], file_names: &[],
        lsp_ids: &["elixir"], nvim_filetypes: &["elixir"], helix_names: &["elixir"], helix_servers: &["elixir-ls"],
        doc_style: DocStyle::DocAttribute, grammar: Some(|| tree_sitter_elixir::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/elixir/tags.scm"), include_str!("../../grammars/elixir/facts.scm")],
    }
    Haskell {
        name: "haskell", title: "Haskell", extensions: &["hs", "hs-boot"], file_names: &[],
        lsp_ids: &["haskell"], nvim_filetypes: &["haskell"], helix_names: &["haskell"],
        helix_servers: &["haskell-language-server"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_haskell::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/haskell/tags.scm"), include_str!("../../grammars/haskell/facts.scm")],
    }
    OCaml {
        name: "ocaml", title: "OCaml", extensions: &["ml"], file_names: &[],
        lsp_ids: &["ocaml"], nvim_filetypes: &["ocaml"], helix_names: &["ocaml"], helix_servers: &["ocamllsp"],
        doc_style: DocStyle::PrecedingOrFollowingDocComment,
        grammar: Some(|| tree_sitter_ocaml::LANGUAGE_OCAML.into()),
        queries: &[include_str!("../../grammars/ocaml/tags.scm"), include_str!("../../grammars/ocaml/facts.scm")],
    }
    Zig {
        name: "zig", title: "Zig", extensions: &["zig"], file_names: &[],
        lsp_ids: &["zig"], nvim_filetypes: &["zig"], helix_names: &["zig"], helix_servers: &["zls"],
        doc_style: DocStyle::PrecedingComments, grammar: Some(|| tree_sitter_zig::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/zig/tags.scm"), include_str!("../../grammars/zig/facts.scm")],
    }
    Markdown {
        name: "markdown", title: "Markdown", extensions: &["md", "markdown", "mdown", "mkd"], file_names: &[],
        // Not a Neovim filetype of the plugin: its answer window is a markdown scratch buffer, which the
        // FileType autocommand would attach the server to. Markdown files are indexed from disk.
        lsp_ids: &["markdown"], nvim_filetypes: &[], helix_names: &["markdown"], helix_servers: &["marksman"],
        doc_style: DocStyle::FirstParagraph, grammar: Some(|| tree_sitter_md::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/markdown/facts.scm")],
    }
    /// Text files people consider source or configuration but reverie has no grammar for: kept (for
    /// full-text search and counts), with facts of only their size and TODO/FIXME lines.
    Text {
        name: "text", title: "",
        extensions: &[
            "txt", "adoc", "org", "tex", "toml", "yaml", "yml", "json", "jsonc", "json5", "cfg", "ini",
            "conf", "properties", "sql", "proto", "graphql", "gql", "y", "yy", "l", "jq", "html", "htm", "xml",
            "xsd", "css", "scss", "sass", "less", "vue", "svelte", "erb", "ejs", "hbs", "mustache", "j2", "jinja",
            "cmake", "gradle", "mk", "mak", "m4", "ac", "am", "in", "bzl", "bazel", "star", "tf", "hcl", "nix",
            "dockerfile", "containerfile", "pl", "pm", "r", "jl", "dart", "vim", "el", "clj", "cljs", "erl",
            "hrl", "fs", "fsx", "nim", "cr", "groovy", "ps1", "bat", "cmd", "awk", "tcl",
        ],
        file_names: &[
            "Makefile", "makefile", "GNUmakefile", "Dockerfile", "Containerfile", "Jenkinsfile", "Procfile",
            "Justfile", "justfile", "BUILD", "WORKSPACE", "CODEOWNERS", "Caddyfile", "go.mod", "go.work",
            "Pipfile",
        ],
        lsp_ids: &[], nvim_filetypes: &[], helix_names: &[], helix_servers: &[],
        doc_style: DocStyle::None, grammar: None, queries: &[],
    }
    OCamlInterface {
        name: "ocaml-interface", title: "OCaml interfaces", extensions: &["mli"], file_names: &[],
        lsp_ids: &["ocaml.interface"], nvim_filetypes: &["ocamlinterface"], helix_names: &["ocaml-interface"],
        helix_servers: &["ocamllsp"],
        doc_style: DocStyle::PrecedingOrFollowingDocComment,
        grammar: Some(|| tree_sitter_ocaml::LANGUAGE_OCAML_INTERFACE.into()),
        queries: &[include_str!("../../grammars/ocaml/interface.scm")],
    }
    Rst {
        name: "rst", title: "reStructuredText", extensions: &["rst", "rest"], file_names: &[],
        lsp_ids: &["restructuredtext"], nvim_filetypes: &["rst"], helix_names: &["rst"], helix_servers: &[],
        doc_style: DocStyle::FirstParagraph, grammar: Some(|| tree_sitter_rst::LANGUAGE.into()),
        queries: &[include_str!("../../grammars/rst/facts.scm")],
    }
}

/// Files that are not the project's text though their extension says so: lock files a tool writes
/// and nobody reads, and reverie's own configuration (read by `config.rs`, not indexed).
const NOT_PROJECT_FILES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "pnpm-lock.yaml",
    "composer.lock",
    "deno.lock",
    "flake.lock",
    "reverie.toml",
];

impl Language {
    /// This language's entry in the table.
    pub fn spec(self) -> &'static LanguageSpec {
        &SPECS[self as usize]
    }

    /// Prose: documentation rather than code (plain text, Markdown, reStructuredText).
    pub fn is_prose(self) -> bool {
        matches!(self, Language::Text | Language::Markdown | Language::Rst)
    }

    /// The language of a file, from its name or extension; `None` for files reverie does not keep.
    pub fn from_path(path: &Path) -> Option<Language> {
        let file_name = path.file_name()?.to_str()?;
        if NOT_PROJECT_FILES.contains(&file_name) {
            return None;
        }
        if let Some(spec) = SPECS.iter().find(|spec| spec.file_names.contains(&file_name)) {
            return Some(spec.language);
        }
        Language::from_extension(path.extension()?.to_str()?)
    }

    pub fn from_extension(ext: &str) -> Option<Language> {
        let ext = ext.to_ascii_lowercase();
        SPECS.iter().find(|spec| spec.extensions.contains(&ext.as_str())).map(|spec| spec.language)
    }

    /// The language of an LSP `languageId`, as VS Code, Neovim (its filetype) or Helix (its language
    /// name) send it.
    pub fn from_lsp_id(id: &str) -> Option<Language> {
        SPECS
            .iter()
            .find(|spec| {
                spec.lsp_ids.contains(&id) || spec.nvim_filetypes.contains(&id) || spec.helix_names.contains(&id)
            })
            .map(|spec| spec.language)
    }

    /// A short lowercase name, used in summaries, JSON and the store.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The tree-sitter grammar; `None` for languages reverie keeps as plain text.
    pub fn grammar(self) -> Option<tree_sitter::Language> {
        self.spec().grammar.map(|grammar| grammar())
    }

    pub fn doc_style(self) -> DocStyle {
        self.spec().doc_style
    }

    /// The query source: the language's `.scm` files from `grammars/`, concatenated.
    pub fn query_source(self) -> String {
        self.spec().queries.join("\n")
    }

    /// The compiled query, built once per process; `None` for a language without a grammar. Panics
    /// only if a query shipped in `grammars/` does not compile against its grammar, which the
    /// `every_grammar_loads_and_every_query_compiles` test below checks for every language.
    pub fn query(self) -> Option<&'static Query> {
        static QUERIES: OnceLock<Vec<OnceLock<Option<Query>>>> = OnceLock::new();
        let queries = QUERIES.get_or_init(|| SPECS.iter().map(|_| OnceLock::new()).collect());
        queries[self as usize]
            .get_or_init(|| {
                let grammar = self.grammar()?;
                Some(
                    Query::new(&grammar, &self.query_source())
                        .unwrap_or_else(|err| panic!("the query for {} does not compile: {err}", self.name())),
                )
            })
            .as_ref()
    }
}

/// A fingerprint of every query and of the extractor's version. Facts in the store carry it, so a
/// binary with different queries never serves facts an older binary extracted.
pub fn facts_fingerprint() -> crate::hash::Digest {
    let mut builder = crate::hash::DigestBuilder::new();
    builder.part(env!("CARGO_PKG_VERSION").as_bytes());
    builder.part(&crate::syntax::EXTRACTOR_VERSION.to_le_bytes());
    for &language in Language::ALL {
        builder.part(language.name().as_bytes());
        builder.part(language.query_source().as_bytes());
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_map_to_languages() {
        assert_eq!(Language::from_path(Path::new("a/b.rs")), Some(Language::Rust));
        assert_eq!(Language::from_path(Path::new("x.tsx")), Some(Language::Tsx));
        assert_eq!(Language::from_path(Path::new("x.hpp")), Some(Language::Cpp));
        assert_eq!(Language::from_path(Path::new("X.PY")), Some(Language::Python));
        assert_eq!(Language::from_path(Path::new("a.unknown-ext")), None);
        assert_eq!(Language::from_path(Path::new("Makefile")), Some(Language::Text));
        assert_eq!(Language::from_path(Path::new("conf/app.yaml")), Some(Language::Text));
        assert_eq!(Language::from_path(Path::new("web/package.json")), Some(Language::Text));
        assert_eq!(Language::from_path(Path::new("web/package-lock.json")), None);
        assert_eq!(Language::from_path(Path::new("Gemfile")), Some(Language::Ruby));
        assert_eq!(Language::from_path(Path::new("doc/usage.rst")), Some(Language::Rst));
        assert!(Language::Rst.is_prose() && Language::Markdown.is_prose() && Language::Text.is_prose());
        assert!(!Language::Python.is_prose() && !Language::Bash.is_prose());
        assert_eq!(Language::from_lsp_id("typescriptreact"), Some(Language::Tsx));
        assert_eq!(Language::from_lsp_id("jsx"), Some(Language::JavaScript));
        assert_eq!(Language::from_lsp_id("no-such-language"), None);
    }

    #[test]
    fn the_table_is_indexed_by_discriminant() {
        assert_eq!(SPECS.len(), Language::ALL.len());
        for (i, language) in Language::ALL.iter().enumerate() {
            assert_eq!(*language as usize, i);
            assert_eq!(SPECS[i].language, *language);
        }
    }

    #[test]
    fn names_extensions_and_ids_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for spec in SPECS {
            assert!(seen.insert(("name", spec.name)), "name {} twice", spec.name);
            for ext in spec.extensions {
                assert_eq!(*ext, ext.to_ascii_lowercase(), "extensions are lowercase");
                assert!(seen.insert(("ext", ext)), "extension {ext} in two languages");
            }
            for file_name in spec.file_names {
                assert!(seen.insert(("file", file_name)), "file name {file_name} in two languages");
            }
            for id in spec.lsp_ids {
                assert!(seen.insert(("lsp", id)), "LSP id {id} in two languages");
            }
            for id in spec.nvim_filetypes {
                assert!(seen.insert(("nvim", id)), "Neovim filetype {id} in two languages");
            }
            for id in spec.helix_names {
                assert!(seen.insert(("helix", id)), "Helix name {id} in two languages");
            }
        }
    }

    /// Every grammar loads at run time (its ABI is one this tree-sitter reads: resolving a crate is
    /// not loading it) and every query compiles against its grammar.
    #[test]
    fn every_grammar_loads_and_every_query_compiles() {
        for &language in Language::ALL {
            let Some(grammar) = language.grammar() else {
                assert!(language.spec().queries.is_empty(), "{} has queries but no grammar", language.name());
                continue;
            };
            let mut parser = tree_sitter::Parser::new();
            if let Err(err) = parser.set_language(&grammar) {
                panic!("the {} grammar does not load (ABI {}): {err}", language.name(), grammar.abi_version());
            }
            if let Err(err) = Query::new(&grammar, &language.query_source()) {
                panic!("the query for {} does not compile: {err}", language.name());
            }
        }
    }
}
