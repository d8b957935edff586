//! Measures the in-process embedder on this machine: items/s for definition-sized texts at max
//! sequence lengths 64/128/256, batch sizes 1/8/32, 1 and 2 threads, and the time a batch takes
//! and how long a batch runs on after it is told to stop (the CPU the idle pass still takes after the
//! user comes back). The figures behind the `[embed]` defaults (`src/embed/local.rs`). Not a test:
//! it asserts nothing and prints tables.
//!
//!   cargo run --example embed_throughput -- "$(scripts/fetch-embed-model.sh)" [ITEMS]
//!   cargo run --example embed_throughput -- MODEL_DIR --tree SOURCE_DIR [SAMPLE [VECTORS_FILE]]
//!
//! With `--tree`, it extracts every definition of the tree's source files, builds what the idle pass
//! embeds (`embed::definition_text`, default `[embed]` settings), prints their tokens per text and
//! what padding adds, embeds an evenly spread sample and extrapolates the time for the whole tree;
//! with `VECTORS_FILE` it writes the sample's vectors there (to compare two builds bit for bit). With `--query QUESTION` (repeatable) after the tree, it
//! embeds every definition instead and prints each question's five nearest definitions by cosine
//! over the quantized vectors, as the question-time channel would rank them.

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

/// User + system CPU time of this process so far (Linux: /proc/self/stat, in clock ticks of 10 ms).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Every definition's embedded text in the source files under `root`.
fn tree_texts(root: &std::path::Path, max_tokens: usize) -> Vec<String> {
    let mut out = Vec::new();
    for entry in ignore::Walk::new(root).flatten() {
        let path = entry.path();
        let Some(language) = reverie::syntax::Language::from_path(path) else { continue };
        let Ok(source) = std::fs::read_to_string(path) else { continue };
        let facts = reverie::syntax::extract(source.as_bytes(), language);
        let rel = path.strip_prefix(root).unwrap_or(path).display().to_string();
        for def in &facts.definitions {
            let parent = def.parent.and_then(|p| facts.definitions.get(p as usize));
            out.push(reverie::embed::definition_text(&rel, def, parent, &source, max_tokens));
        }
    }
    out
}

/// Tokens per text of `texts` as the model's tokenizer counts them (truncated to `max_tokens`), and
/// the tokens a forward pass computes when batches of `max_batch` are cut in one part per thread and
/// each part is padded to its longest text: what padding costs.
fn print_token_counts(dir: &str, texts: &[String], options: &LocalOptions) -> anyhow::Result<()> {
    let mut tokenizer = tokenizers::Tokenizer::from_file(std::path::Path::new(dir).join("tokenizer.json"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tokenizer.with_padding(None);
    let mut counts = Vec::with_capacity(texts.len());
    for text in texts {
        let encoding = tokenizer.encode(text.as_str(), true).map_err(|e| anyhow::anyhow!("{e}"))?;
        counts.push(encoding.get_ids().len().min(options.max_tokens));
    }
    let real: usize = counts.iter().sum();
    let padded = |counts: &[usize]| -> usize {
        counts
            .chunks(options.max_batch)
            .map(|batch| {
                let mut batch = batch.to_vec();
                batch.sort_unstable();
                let per_thread = batch.len().div_ceil(options.threads.max(1)).max(1);
                batch.chunks(per_thread).map(|part| part.len() * part.iter().max().unwrap_or(&0)).sum::<usize>()
            })
            .sum()
    };
    let mut sorted = counts.clone();
    sorted.sort_unstable();
    let at_cap = counts.iter().filter(|&&c| c >= options.max_tokens).count();
    println!(
        "tokens per text: {:.1} real ({:.0}% at max_tokens); computed with padding: {:.1} in sample order, {:.1} \
         with the sample sorted by tokens",
        real as f64 / counts.len().max(1) as f64,
        100.0 * at_cap as f64 / counts.len().max(1) as f64,
        padded(&counts) as f64 / counts.len().max(1) as f64,
        padded(&sorted) as f64 / counts.len().max(1) as f64,
    );
    Ok(())
}

/// Resident and peak memory of this process (Linux: /proc/self/status).
fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status.lines().find(|l| l.starts_with(name)).map_or("?".to_string(), |l| l[name.len()..].trim().to_string())
    };
    format!("RSS {}, peak {}", field("VmRSS:"), field("VmHWM:"))
}

/// Embeds every definition under `root` and prints each query's five nearest.
fn nearest(dir: &str, root: &std::path::Path, queries: &[&String]) -> anyhow::Result<()> {
    use reverie::embed::quant::{FlatIndex, QuantizedVector};
    let options = LocalOptions::from_config(&reverie::embed::EmbedConfig::default());
    let all = tree_texts(root, options.max_tokens);
    let model = LocalEmbedder::load(std::path::Path::new(dir), &options)?;
    println!("after loading the model: {}", memory());
    let started = Instant::now();
    let vectors = model.embed_blocking(&all)?;
    println!("after embedding: {}", memory());
    println!("{} definitions embedded in {:.1} s", all.len(), started.elapsed().as_secs_f64());
    let mut index = FlatIndex::new(384);
    for (i, vector) in vectors.iter().enumerate() {
        index.push(i, &QuantizedVector::quantize(vector));
    }
    for query in queries {
        let embed_started = Instant::now();
        let q = model.embed_blocking(std::slice::from_ref(*query))?.remove(0);
        let embed_ms = embed_started.elapsed().as_secs_f64() * 1000.0;
        let scan_started = Instant::now();
        let hits = index.top_k(&q, 5);
        let scan_ms = scan_started.elapsed().as_secs_f64() * 1000.0;
        println!("\n{query}  (question embedded in {embed_ms:.1} ms, top 5 of {} in {scan_ms:.1} ms)", index.len());
        for hit in hits {
            let text = &all[hit.key];
            let head: String = text.lines().take(2).collect::<Vec<_>>().join("  ");
            println!("  {:.3}  {}", hit.score, head.chars().take(110).collect::<String>());
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or_else(|| {
        anyhow::anyhow!("usage: embed_throughput MODEL_DIR [ITEMS | --tree DIR [SAMPLE [VECTORS_FILE]]]")
    })?;
    let rest: Vec<String> = args.collect();
    if rest.first().map(String::as_str) == Some("--tree") {
        let root = rest.get(1).ok_or_else(|| anyhow::anyhow!("--tree needs a directory"))?;
        let queries: Vec<&String> = rest
            .iter()
            .skip(2)
            .collect::<Vec<_>>()
            .chunks(2)
            .filter(|p| p[0] == "--query")
            .filter_map(|p| p.get(1).copied())
            .collect();
        if !queries.is_empty() {
            return nearest(&dir, std::path::Path::new(root), &queries);
        }
        let sample: usize = rest.get(2).map(|n| n.parse()).transpose()?.unwrap_or(400);
        let config = reverie::embed::EmbedConfig::default();
        let options = LocalOptions::from_config(&config);
        let all = tree_texts(std::path::Path::new(root), options.max_tokens);
        let step = (all.len() / sample.max(1)).max(1);
        let picked: Vec<String> = all.iter().step_by(step).take(sample).cloned().collect();
        print_token_counts(&dir, &picked, &options)?;
        let model = LocalEmbedder::load(std::path::Path::new(&dir), &options)?;
        let started = Instant::now();
        let cpu_started = cpu_seconds();
        let mut vectors = Vec::with_capacity(picked.len());
        for chunk in picked.chunks(options.max_batch) {
            vectors.extend(model.embed_blocking(chunk)?);
        }
        let secs = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu_started;
        let rate = picked.len() as f64 / secs;
        let chars: usize = all.iter().map(|t| t.chars().count()).sum();
        println!(
            "{} definitions ({:.0} chars each on average); {options:?}; sample of {}: {:.1} items/s wall, {:.1} per \
             CPU-second; the whole tree: {:.1} min",
            all.len(),
            chars as f64 / all.len().max(1) as f64,
            picked.len(),
            rate,
            picked.len() as f64 / cpu.max(0.01),
            all.len() as f64 / rate / 60.0
        );
        if let Some(dump) = rest.get(3) {
            let bytes: Vec<u8> = vectors.iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(dump, bytes)?;
            println!("the sample's vectors (f32, little-endian, {} per text) are in {dump}", vectors[0].len());
        }
        return Ok(());
    }
    let mut args = rest.into_iter();
    let items: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(64);
    let texts = corpus(items);
    // Wall time depends on what else runs on the machine; CPU time of this process does much less.
    println!("| threads | max_tokens | batch | items/s (wall) | items per CPU-second | ms/batch (mean) |");
    println!("|---|---|---|---|---|---|");
    for threads in [1, 2] {
        for max_tokens in [64, 128, 256] {
            for batch in [1, 8, 16, 32] {
                let model = LocalEmbedder::load(
                    std::path::Path::new(&dir),
                    &LocalOptions { max_tokens, max_batch: batch, threads },
                )?;
                model.embed_blocking(&texts[..batch.min(texts.len())])?; // warm up
                let started = Instant::now();
                let cpu_started = cpu_seconds();
                for chunk in texts.chunks(batch) {
                    model.embed_blocking(chunk)?;
                }
                let secs = started.elapsed().as_secs_f64();
                let cpu = cpu_seconds() - cpu_started;
                let batches = texts.len().div_ceil(batch);
                println!(
                    "| {threads} | {max_tokens} | {batch} | {:.1} | {:.1} | {:.1} |",
                    texts.len() as f64 / secs,
                    texts.len() as f64 / cpu.max(0.01),
                    secs * 1000.0 / batches as f64
                );
            }
        }
    }
    println!();
    println!("| max_tokens | batch | threads | batch ms | stop after ms | ran on for ms (max of 5) |");
    println!("|---|---|---|---|---|---|");
    for (max_tokens, threads) in [(64, 1), (64, 2), (128, 2)] {
        let batch = reverie::embed::local::DEFAULT_BATCH;
        let model =
            LocalEmbedder::load(std::path::Path::new(&dir), &LocalOptions { max_tokens, max_batch: batch, threads })?;
        let chunk = &texts[..batch.min(texts.len())];
        let started = Instant::now();
        model.embed_blocking(chunk)?;
        let batch_time = started.elapsed();
        let mut worst = std::time::Duration::ZERO;
        for _ in 0..5 {
            let stop_at = Instant::now() + batch_time / 3;
            let stop = || Instant::now() >= stop_at;
            let result = model.embed_blocking_until(chunk, &stop);
            let ended = Instant::now();
            // The stop was seen at a layer boundary; from the moment it was due to the return.
            if result.is_err() {
                worst = worst.max(ended - stop_at);
            }
        }
        println!(
            "| {max_tokens} | {batch} | {threads} | {:.0} | {:.0} | {:.0} |",
            batch_time.as_secs_f64() * 1000.0,
            (batch_time / 3).as_secs_f64() * 1000.0,
            worst.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
