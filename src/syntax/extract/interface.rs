//! The interface digest of a file (see `FileFacts::interface_hash`): its definitions with bodies
//! and comments left out, in any order.

use super::body_of;
use super::source::text;
use crate::hash::{Digest, DigestBuilder};
use crate::syntax::facts::DefKind;
use rustc_hash::FxHashMap;
use tree_sitter::Node;

/// See `FileFacts::interface_hash`.
pub(super) fn interface_hash(
    bytes: &[u8],
    definitions: &[(Node, DefKind, Node)],
    signatures: &FxHashMap<usize, Node>,
    comments: &[Node],
) -> Digest {
    let bodies = merge_ranges(
        definitions
            .iter()
            .filter(|(_, kind, _)| kind.has_implementation_body())
            .filter_map(|(node, _, _)| body_of(*node))
            .map(|body| (body.start_byte(), body.end_byte()))
            .collect(),
    );
    // Bodies are marked as left out (so `fn f() {}` and `fn f();` differ); comments just vanish.
    let mut elided: Vec<(usize, usize, &str)> = bodies.iter().map(|&(s, e)| (s, e, " … ")).collect();
    elided.extend(
        comments
            .iter()
            .map(|c| (c.start_byte(), c.end_byte()))
            .filter(|&(s, _)| !inside(&bodies, s))
            .map(|(s, e)| (s, e, " ")),
    );
    elided.sort_unstable();

    let mut parts: Vec<String> = definitions
        .iter()
        .filter(|(node, _, _)| !inside(&bodies, node.start_byte()))
        .map(|(node, kind, name)| {
            if let Some(sig) = signatures.get(&name.start_byte()) {
                // A separate signature is the definition's whole interface (its equations are body).
                return format!(
                    "{}\u{1f}{}\u{1f}{}",
                    kind.name(),
                    text(bytes, *name),
                    text(bytes, *sig).split_whitespace().collect::<Vec<_>>().join(" ")
                );
            }
            let mut kept = String::new();
            let (start, end) = (node.start_byte(), node.end_byte());
            let mut at = start;
            let first = elided.partition_point(|&(_, e, _)| e <= start);
            for &(s, e, marker) in &elided[first..] {
                if s >= end {
                    break;
                }
                if s > at {
                    kept.push_str(&String::from_utf8_lossy(&bytes[at..s]));
                }
                kept.push_str(marker);
                at = at.max(e);
            }
            if at < end {
                kept.push_str(&String::from_utf8_lossy(&bytes[at..end]));
            }
            format!(
                "{}\u{1f}{}\u{1f}{}",
                kind.name(),
                text(bytes, *name),
                kept.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .collect();
    // Order-independent: moving a definition is not an interface change.
    parts.sort_unstable();
    let mut builder = DigestBuilder::new();
    for part in &parts {
        builder.part(part.as_bytes());
    }
    builder.finish()
}

/// Whether `offset` falls inside one of the sorted, disjoint `ranges`.
fn inside(ranges: &[(usize, usize)], offset: usize) -> bool {
    let i = ranges.partition_point(|&(start, _)| start <= offset);
    i > 0 && offset < ranges[i - 1].1
}

fn merge_ranges(mut ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}
