//! Corpora from the registries reachable here (Debian packages, PyPI, npm, crates.io): `fetch` downloads
//! and unpacks one package with the registry's own client; the per-language corpora of the index
//! benchmark are one real project per language, fetched once into the bench dir and reduced to that
//! language's files (by reverie's own language table), so a corpus measures one language.
//!
//! Scala and Elixir have no entry: Debian ships them compiled (jars; `elixir` 1.14 holds only .beam
//! files), and no PyPI or npm package found here vendors their sources. Haskell's is the base library
//! Debian ships as source for the Hugs interpreter.

#![allow(dead_code)] // Each benchmark uses its own part.

use reverie::syntax::Language;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where a corpus comes from.
pub enum Source {
    /// `apt-get download PACKAGE`, unpacked with `dpkg-deb -x`.
    Debian(&'static str),
    /// `pip download --no-deps --no-binary :all: NAME==VERSION` (an sdist), untarred.
    PypiSdist(&'static str, &'static str),
    /// `pip download --no-deps --only-binary :all: --platform P NAME==VERSION` (a wheel), unzipped.
    PypiWheel(&'static str, &'static str, &'static str),
    /// `npm pack NAME@VERSION`, untarred.
    Npm(&'static str, &'static str),
    /// `cargo fetch` of a throwaway manifest depending on `NAME = "=VERSION"` (with a `CARGO_HOME` of
    /// its own, so the user's registry cache is not touched), the crate's `.crate` untarred.
    Crate(&'static str, &'static str),
}

impl Source {
    pub fn label(&self) -> String {
        match *self {
            Source::Debian(package) => format!("{package} (Debian)"),
            Source::PypiSdist(name, version) => format!("{name} {version} (PyPI sdist)"),
            Source::PypiWheel(name, version, _) => format!("{name} {version} (PyPI wheel)"),
            Source::Npm(name, version) => format!("{name} {version} (npm)"),
            Source::Crate(name, version) => format!("{name} {version} (crates.io)"),
        }
    }

    /// `NAME-VERSION`, or the Debian package's name.
    pub fn dir_name(&self) -> String {
        match *self {
            Source::Debian(package) => package.to_string(),
            Source::PypiSdist(name, version)
            | Source::PypiWheel(name, version, _)
            | Source::Npm(name, version)
            | Source::Crate(name, version) => format!("{name}-{version}"),
        }
    }
}

pub struct LanguageCorpus {
    pub language: Language,
    /// The language's name for `ctags --languages=`, if Universal Ctags knows it.
    pub ctags_language: Option<&'static str>,
    pub source: Source,
}

impl LanguageCorpus {
    pub fn label(&self) -> String {
        self.source.label()
    }

    fn dir_name(&self) -> String {
        format!("lang-{}-{}", self.language.name(), self.source.dir_name())
    }
}

/// One corpus per language (Kotlin and Swift share an npm package that holds both), and one docs tree.
pub fn language_corpora() -> Vec<LanguageCorpus> {
    use Source::*;
    vec![
        LanguageCorpus { language: Language::Ruby, ctags_language: Some("Ruby"), source: Debian("ruby-rack") },
        LanguageCorpus { language: Language::Php, ctags_language: Some("PHP"), source: Debian("php-symfony-console") },
        LanguageCorpus {
            language: Language::CSharp,
            ctags_language: Some("C#"),
            source: PypiSdist("pythonnet", "3.2.1"),
        },
        LanguageCorpus { language: Language::Lua, ctags_language: Some("Lua"), source: Debian("lua-penlight") },
        LanguageCorpus { language: Language::Bash, ctags_language: Some("Sh"), source: Debian("dracut-core") },
        LanguageCorpus {
            language: Language::Kotlin,
            ctags_language: Some("Kotlin"),
            source: Npm("expo-modules-core", "58.0.7"),
        },
        LanguageCorpus { language: Language::Swift, ctags_language: None, source: Npm("expo-modules-core", "58.0.7") },
        LanguageCorpus {
            language: Language::Haskell,
            ctags_language: Some("Haskell"),
            source: Debian("libhugs-base-bundled"),
        },
        LanguageCorpus { language: Language::OCaml, ctags_language: Some("OCaml"), source: Debian("liblwt-ocaml-dev") },
        LanguageCorpus {
            language: Language::Zig,
            ctags_language: None,
            source: PypiWheel("ziglang", "0.17.0", "manylinux_2_12_x86_64"),
        },
        // Documentation: npm's own docs (commands, configuration) and its dependencies' READMEs.
        LanguageCorpus { language: Language::Markdown, ctags_language: Some("Markdown"), source: Npm("npm", "10.9.2") },
    ]
}

/// The corpus root under `bench_dir`, fetching it first if needed; `Err` says why it could not be had.
pub fn ensure(corpus: &LanguageCorpus, bench_dir: &Path, staging: &Path) -> Result<PathBuf, String> {
    let dir = bench_dir.join(corpus.dir_name());
    let marker = dir.join(".complete");
    if marker.is_file() {
        return Ok(dir);
    }
    println!("\nfetching {} for {}…", corpus.label(), corpus.language.name());
    let unpacked = fetch(&corpus.source, staging)?;
    // Keep the language's files only, at their relative paths.
    let _ = std::fs::remove_dir_all(&dir);
    let mut kept = 0usize;
    let mut stack = vec![unpacked.clone()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).map_err(|e| e.to_string())?.flatten() {
            let path = entry.path();
            let Ok(file_type) = entry.file_type() else { continue };
            if file_type.is_dir() {
                stack.push(path);
            } else if file_type.is_file() && Language::from_path(&path) == Some(corpus.language) {
                let target = dir.join(path.strip_prefix(&unpacked).expect("inside the unpacked tree"));
                std::fs::create_dir_all(target.parent().expect("a parent")).map_err(|e| e.to_string())?;
                std::fs::copy(&path, &target).map_err(|e| e.to_string())?;
                kept += 1;
            }
        }
    }
    if kept == 0 {
        return Err(format!("{} holds no {} files", corpus.label(), corpus.language.name()));
    }
    std::fs::write(&marker, "").map_err(|e| e.to_string())?;
    Ok(dir)
}

/// Files and bytes of a corpus (what reverie and ctags both read).
pub fn size_of(dir: &Path) -> (u64, u64) {
    let (mut files, mut bytes) = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).into_iter().flatten().flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() && !path.ends_with(".complete") => {
                    files += 1;
                    bytes += entry.metadata().map_or(0, |m| m.len());
                }
                _ => {}
            }
        }
    }
    (files, bytes)
}

/// Downloads `source` into `staging` (an empty directory) with the registry's own client and unpacks
/// it into `staging/unpacked`, which it returns; `Err` says what failed.
pub fn fetch(source: &Source, staging: &Path) -> Result<PathBuf, String> {
    let unpacked = staging.join("unpacked");
    std::fs::create_dir_all(&unpacked).map_err(|e| e.to_string())?;
    let ok = |status: std::io::Result<std::process::ExitStatus>, what: &str| -> Result<(), String> {
        match status {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!("{what} failed ({s})")),
            Err(e) => Err(format!("{what}: {e}")),
        }
    };
    let only_file = |ext: &str| -> Result<PathBuf, String> {
        std::fs::read_dir(staging)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.is_file() && p.to_string_lossy().ends_with(ext))
            .ok_or_else(|| format!("no *{ext} downloaded into {}", staging.display()))
    };
    match *source {
        Source::Debian(package) => {
            ok(
                Command::new("apt-get").args(["download", "-q", package]).current_dir(staging).status(),
                "apt-get download",
            )?;
            let deb = only_file(".deb")?;
            ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked).status(), "dpkg-deb -x")?;
        }
        Source::PypiSdist(name, version) => {
            let spec = format!("{name}=={version}");
            ok(
                Command::new("pip")
                    .args(["download", "-q", "--no-deps", "--no-binary", ":all:", &spec, "-d"])
                    .arg(staging)
                    .status(),
                "pip download",
            )?;
            let tarball = only_file(".tar.gz")?;
            ok(Command::new("tar").arg("xzf").arg(&tarball).arg("-C").arg(&unpacked).status(), "tar")?;
        }
        Source::PypiWheel(name, version, platform) => {
            let spec = format!("{name}=={version}");
            ok(
                Command::new("pip")
                    .args([
                        "download",
                        "-q",
                        "--no-deps",
                        "--only-binary",
                        ":all:",
                        "--platform",
                        platform,
                        &spec,
                        "-d",
                    ])
                    .arg(staging)
                    .status(),
                "pip download",
            )?;
            let wheel = only_file(".whl")?;
            ok(
                Command::new("python3").args(["-m", "zipfile", "-e"]).arg(&wheel).arg(&unpacked).status(),
                "unzipping the wheel",
            )?;
        }
        Source::Npm(name, version) => {
            let spec = format!("{name}@{version}");
            ok(Command::new("npm").args(["pack", "-q", &spec]).current_dir(staging).status(), "npm pack")?;
            let tarball = only_file(".tgz")?;
            ok(Command::new("tar").arg("xzf").arg(&tarball).arg("-C").arg(&unpacked).status(), "tar")?;
        }
        Source::Crate(name, version) => {
            let project = staging.join("fetch-project");
            std::fs::create_dir_all(project.join("src")).map_err(|e| e.to_string())?;
            let manifest = format!(
                "[package]\nname = \"reverie-bench-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[dependencies]\n{name} = \"={version}\"\n"
            );
            std::fs::write(project.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
            std::fs::write(project.join("src/lib.rs"), "").map_err(|e| e.to_string())?;
            let cargo_home = staging.join("cargo-home");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
            ok(
                Command::new(cargo)
                    .arg("fetch")
                    .current_dir(&project)
                    .env("CARGO_HOME", &cargo_home)
                    .env_remove("CARGO_TARGET_DIR")
                    .status(),
                "cargo fetch",
            )?;
            let wanted = format!("{name}-{version}.crate");
            let krate = std::fs::read_dir(cargo_home.join("registry/cache"))
                .map_err(|e| format!("cargo fetch left no registry cache: {e}"))?
                .flatten()
                .map(|e| e.path().join(&wanted))
                .find(|p| p.is_file())
                .ok_or_else(|| format!("cargo fetch left no {wanted} under {}", cargo_home.display()))?;
            ok(Command::new("tar").arg("xzf").arg(&krate).arg("-C").arg(&unpacked).status(), "tar")?;
        }
    }
    Ok(unpacked)
}
