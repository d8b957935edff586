//! Measures the in-process embedder on this machine: items/s for definition-sized texts at max
//! sequence lengths 64/128/256, batch sizes 1/8/32, 1 and 2 threads, and the time a batch takes
//! (what bounds how fast the idle pass honours cancellation). The figures behind the `[embed]`
//! defaults (README). Not a test: it asserts nothing and prints a table.
//!
//!   cargo run --example embed_throughput -- "$(tests/fetch-embed-model.sh)" [ITEMS]

use reverie::embed::local::{LocalEmbedder, LocalOptions};
use std::time::Instant;

/// Definition-sized texts as `embed::definition_text` builds them: path, signature, doc, body head;
/// lengths vary like real code (a few short, most medium, some long enough to be cut at 256).
fn corpus(n: usize) -> Vec<String> {
    let body = "if value is None:\n        raise ValueError(f'missing {name}')\n    result = self._cache.get(key)\n    \
                for item in items:\n        result.append(transform(item, options=options))\n    return result\n";
    (0..n)
        .map(|i| {
            let repeat = [1, 2, 2, 3, 3, 3, 4, 6, 8, 12][i % 10];
            format!(
                "src/package/module_{i}.py\nclass Handler{i} > def process_{i}(self, request, options=None)\n\
                 Process the request and return the rendered response, caching by key.\n{}",
                body.repeat(repeat)
            )
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or_else(|| anyhow::anyhow!("usage: embed_throughput MODEL_DIR [ITEMS]"))?;
    let items: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(64);
    let texts = corpus(items);
    println!("| threads | max_tokens | batch | items/s | ms/batch (mean) |");
    println!("|---|---|---|---|---|");
    for threads in [1, 2] {
        for max_tokens in [64, 128, 256] {
            for batch in [1, 8, 32] {
                let model = LocalEmbedder::load(
                    std::path::Path::new(&dir),
                    &LocalOptions { max_tokens, max_batch: batch, threads },
                )?;
                model.embed_blocking(&texts[..batch.min(texts.len())])?; // warm up
                let started = Instant::now();
                for chunk in texts.chunks(batch) {
                    model.embed_blocking(chunk)?;
                }
                let secs = started.elapsed().as_secs_f64();
                let batches = texts.len().div_ceil(batch);
                println!(
                    "| {threads} | {max_tokens} | {batch} | {:.1} | {:.1} |",
                    texts.len() as f64 / secs,
                    secs * 1000.0 / batches as f64
                );
            }
        }
    }
    Ok(())
}
