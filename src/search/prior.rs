//! How much a file counts in answers before any question is asked:
//! - third-party code copied into the workspace (jQuery in a theme's `static/`, `node_modules`,
//!   `vendor/`, minified bundles) is big and full of everyday words, so it outranks the project's own
//!   code on word overlap while seldom being what a question is about;
//! - tests, fixtures, examples and docs configuration repeat the words of the code they exercise (a
//!   bug report reads like its test), but the code that does the work is what to read first;
//! - prose (plain text, Markdown, reStructuredText: a README, a changelog, the manual) describes the
//!   code in the words a question uses, wherever it lies: it counts like a docs folder. (When `.rst`
//!   got sections of its own, a README.rst and the manual's sections outranked the code on bug
//!   reports: 76.4 → 74.5 Acc@5 on the dev set.)
//!
//! Such files stay indexed and answerable — a question that names their symbols still finds them, and
//! "which tests cover X" is answered from facts — but their fused scores are scaled down.
//!
//! Pure: decided from the path alone.

/// Score factor for vendored and minified files.
pub const VENDORED_WEIGHT: f64 = 0.25;

/// Score factor for tests, fixtures, examples, docs configuration and prose.
pub const SUPPORTING_WEIGHT: f64 = 0.5;

/// Folders of tests, fixtures, examples and docs, as path components.
const SUPPORTING_DIRS: &[&str] = &[
    "test",
    "tests",
    "testing",
    "__tests__",
    "spec",
    "specs",
    "fixtures",
    "testdata",
    "example",
    "examples",
    "doc",
    "docs",
    "benches",
    "benchmarks",
];

/// Folders that hold other people's code, as path components.
const VENDOR_DIRS: &[&str] = &[
    "node_modules",
    "bower_components",
    "vendor",
    "vendors",
    "vendored",
    "third_party",
    "third-party",
    "3rdparty",
    "extern",
    "external",
];

/// Well-known browser libraries that projects copy into their static files: a `.js` file whose name
/// is one of these followed by `.` or `-` (`jquery.js`, `jquery-3.5.1.js`, `underscore-1.13.1.js`).
const VENDORED_JS: &[&str] = &[
    "jquery",
    "underscore",
    "backbone",
    "bootstrap",
    "modernizr",
    "lodash",
    "require",
    "d3",
    "mathjax",
    "popper",
    "angular",
    "react",
    "react-dom",
    "vue",
    "moment",
    "html5shiv",
    "respond",
    "css3-mediaqueries",
];

/// The factor a file's items are scaled by in fused rankings (1.0 for the project's own code).
pub fn file_weight(key: &str) -> f64 {
    if is_vendored(key) {
        VENDORED_WEIGHT
    } else if is_supporting(key) || is_prose(key) {
        SUPPORTING_WEIGHT
    } else {
        1.0
    }
}

/// Whether `key` is a test, fixture, example or docs file: under such a folder, or named like a test
/// (`test_x.py`, `x_test.go`, `x.test.ts`, `x.spec.js`, `conftest.py`).
pub fn is_supporting(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    let (dirs, name) = lower.rsplit_once('/').unwrap_or(("", &lower));
    if dirs.split('/').any(|dir| SUPPORTING_DIRS.contains(&dir)) {
        return true;
    }
    let stem = name.split('.').next().unwrap_or(name);
    name == "conftest.py"
        || stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || [".test.", ".spec."].iter().any(|infix| name.contains(infix))
}

/// Whether `key` is prose by its name (`Language::is_prose`).
pub fn is_prose(key: &str) -> bool {
    crate::syntax::Language::from_path(std::path::Path::new(key)).is_some_and(crate::syntax::Language::is_prose)
}

/// Whether `key` (a workspace-relative path with `/` separators) looks like vendored or minified code.
pub fn is_vendored(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    let (dirs, name) = lower.rsplit_once('/').unwrap_or(("", &lower));
    if dirs.split('/').any(|dir| VENDOR_DIRS.contains(&dir)) {
        return true;
    }
    if [".min.js", ".min.mjs", "-min.js", ".min.css", ".bundle.js"].iter().any(|suffix| name.ends_with(suffix)) {
        return true;
    }
    name.ends_with(".js")
        && VENDORED_JS.iter().any(|library| {
            name.strip_prefix(library).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('-'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_and_minified_files_are_recognised() {
        for key in [
            "sphinx/themes/basic/static/jquery-3.5.1.js",
            "sphinx/themes/basic/static/jquery.js",
            "sphinx/themes/basic/static/underscore-1.13.1.js",
            "web/node_modules/left-pad/index.js",
            "src/vendor/github.com/pkg/errors/errors.go",
            "third_party/zlib/inflate.c",
            "extern/agg24-svn/include/agg_basics.h",
            "app/static/app.min.js",
            "assets/site.bundle.js",
        ] {
            assert!(is_vendored(key), "{key}");
            assert_eq!(file_weight(key), VENDORED_WEIGHT);
        }
    }

    #[test]
    fn tests_fixtures_docs_and_prose_count_half() {
        for key in [
            "tests/roots/test-root/conf.py",
            "doc/conf.py",
            "testing/example_scripts/issue_519.py",
            "src/_pytest/test_helpers.py",
            "pkg/cache_test.go",
            "web/src/app.test.ts",
            "web/src/app.spec.js",
            "conftest.py",
            "lib/matplotlib/tests/test_axes.py",
        ] {
            assert!(is_supporting(key), "{key}");
            assert_eq!(file_weight(key), SUPPORTING_WEIGHT, "{key}");
        }
        for key in ["README.rst", "CHANGES.md", "src/flask/NOTES.txt"] {
            assert!(is_prose(key), "{key}");
            assert_eq!(file_weight(key), SUPPORTING_WEIGHT, "{key}");
        }
    }

    #[test]
    fn the_projects_own_code_counts_fully() {
        for key in [
            "sphinx/builders/gettext.py",
            "src/vendoring.rs",
            "lib/underscore_helpers.py",
            "js/requirements.jsx",
            "vendor.py",
            "src/jquery_bridge.py",
            "app/static/app.js",
            "sphinx/themes/basic/static/doctools.js",
            "js/requirements.js",
            "src/momentum.js",
            "src/_pytest/unittest.py",
            "pkg/contest.py",
            "src/testament.rs",
        ] {
            assert!(!is_vendored(key), "{key}");
            assert_eq!(file_weight(key), 1.0);
        }
    }
}
