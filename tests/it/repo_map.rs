//! The repo map respects its token budget, grows with it, and puts what is referenced first.

use proptest::prelude::*;
use reverie::graph::{self, Focus};
use reverie::syntax::{FileFacts, Language, extract};
use reverie::tokens::estimate_tokens;

fn workspace(modules: usize) -> Vec<(String, FileFacts)> {
    let mut files = Vec::new();
    for m in 0..modules {
        let mut src = format!("class Service{m}:\n    \"\"\"Service number {m}.\"\"\"\n\n");
        for f in 0..6 {
            src.push_str(&format!("    def operation_{m}_{f}(self, request_{f}):\n        return request_{f}\n\n"));
        }
        src.push_str(&format!("\ndef build_service_{m}():\n    return Service{m}()\n"));
        if m > 0 {
            src.push_str(&format!(
                "\n\ndef use_previous_{m}():\n    build_service_{}().operation_{}_0(1)\n",
                m - 1,
                m - 1
            ));
        }
        src.push_str("\n\ndef use_first():\n    build_service_0()\n");
        files.push((format!("pkg/module_{m}.py"), extract(src.as_bytes(), Language::Python)));
    }
    files
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_map_never_exceeds_its_budget(modules in 1usize..12, budget in 0usize..3000, extra in 1usize..500) {
        let facts = workspace(modules);
        let files: Vec<graph::GraphFile> = facts.iter().map(|(k, f)| (k.as_str(), f)).collect();
        let ranking = graph::rank(&graph::build(&files), &Focus::default());
        let small = graph::render_repo_map(&files, &ranking, budget);
        prop_assert!(small.tokens <= budget);
        prop_assert_eq!(small.tokens, estimate_tokens(&small.text));
        let large = graph::render_repo_map(&files, &ranking, budget + extra);
        prop_assert!(large.tokens <= budget + extra);
        prop_assert!(large.definitions >= small.definitions);
    }
}

#[test]
fn the_most_referenced_definition_comes_first() {
    let facts = workspace(8);
    let files: Vec<graph::GraphFile> = facts.iter().map(|(k, f)| (k.as_str(), f)).collect();
    let ranking = graph::rank(&graph::build(&files), &Focus::default());
    let map = graph::render_repo_map(&files, &ranking, 60);
    let first_file = map.text.lines().next().unwrap();
    assert_eq!(first_file, "pkg/module_0.py", "every module calls build_service_0:\n{}", map.text);
    assert!(map.text.contains("def build_service_0()"), "{}", map.text);
    let all = graph::render_repo_map(&files, &ranking, 100_000);
    assert_eq!(all.definitions, all.candidates, "a large budget shows everything");
}

#[test]
fn focus_personalizes_the_ranking() {
    let facts = workspace(8);
    let files: Vec<graph::GraphFile> = facts.iter().map(|(k, f)| (k.as_str(), f)).collect();
    let g = graph::build(&files);
    let plain = graph::rank(&g, &Focus::default());
    let focus = Focus { files: vec!["pkg/module_6.py".into()], identifiers: vec![] };
    let focused = graph::rank(&g, &focus);
    let five = g.file_index("pkg/module_5.py").unwrap();
    assert!(
        focused.file_ranks[five] > plain.file_ranks[five] * 1.5,
        "module_6 uses module_5, so focusing on it lifts module_5: {} vs {}",
        focused.file_ranks[five],
        plain.file_ranks[five]
    );
    let by_identifier = graph::rank(&g, &Focus { files: vec![], identifiers: vec!["operation_3_0".into()] });
    let three = g.file_index("pkg/module_3.py").unwrap();
    assert!(by_identifier.file_ranks[three] > plain.file_ranks[three]);
}
