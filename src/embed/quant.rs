//! Quantized embedding vectors and the cosine top-k over them, pure.
//!
//! A vector is stored as one `f32` scale and one `i8` per dimension (symmetric quantization:
//! `value ≈ scale × q`, `scale = max |value| / 127`), so a 384-dimension vector takes
//! `4 + 384 = 388` bytes instead of 1,536 — Django's ~35k definitions fit in ~13.6 MB. The encoding
//! (`QuantizedVector::to_bytes`) is the value stored in the store's `embeddings` tree: 4 bytes of
//! little-endian scale, then the `i8`s.
//!
//! Guarantees: quantizing never fails (non-finite inputs count as 0; an all-zero vector gets scale
//! 0); decoding checks the length against the expected dimensions and returns `None` on mismatch;
//! cosine is computed on the quantized values (the scale cancels), so a vector and its own
//! quantization score ≈ 1 and the measured loss on normalized model output is below 0.01 (tests).
//! `FlatIndex::top_k` is exact (a scan, no approximation), deterministic (ties broken by insertion
//! order) and returns at most `k` hits, best first.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Bytes one stored vector takes for `dims` dimensions.
pub const fn stored_bytes(dims: usize) -> usize {
    4 + dims
}

/// One vector, quantized to `i8` with a per-vector scale.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedVector {
    pub scale: f32,
    pub values: Vec<i8>,
}

impl QuantizedVector {
    /// Quantizes `vector` (any norm; model output is usually L2-normalized).
    pub fn quantize(vector: &[f32]) -> QuantizedVector {
        let finite = |x: f32| if x.is_finite() { x } else { 0.0 };
        let max = vector.iter().map(|&x| finite(x).abs()).fold(0.0f32, f32::max);
        if max == 0.0 {
            return QuantizedVector { scale: 0.0, values: vec![0; vector.len()] };
        }
        let scale = max / 127.0;
        let values = vector.iter().map(|&x| (finite(x) / scale).round().clamp(-127.0, 127.0) as i8).collect();
        QuantizedVector { scale, values }
    }

    /// The approximate original vector.
    pub fn dequantize(&self) -> Vec<f32> {
        self.values.iter().map(|&q| q as f32 * self.scale).collect()
    }

    pub fn dims(&self) -> usize {
        self.values.len()
    }

    /// The stored form: scale (f32, little-endian), then one byte per dimension.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(stored_bytes(self.values.len()));
        out.extend_from_slice(&self.scale.to_le_bytes());
        out.extend(self.values.iter().map(|&q| q as u8));
        out
    }

    /// Decodes `to_bytes` output; `None` when the length is not `4 + dims` (when `dims` is given)
    /// or the scale is not a finite, non-negative number.
    pub fn from_bytes(bytes: &[u8], dims: Option<usize>) -> Option<QuantizedVector> {
        if bytes.len() < 4 || dims.is_some_and(|d| bytes.len() != stored_bytes(d)) {
            return None;
        }
        let scale = f32::from_le_bytes(bytes[..4].try_into().ok()?);
        if !scale.is_finite() || scale < 0.0 {
            return None;
        }
        Some(QuantizedVector { scale, values: bytes[4..].iter().map(|&b| b as i8).collect() })
    }
}

/// Cosine similarity of two `f32` vectors (0 when either is all zeros or the lengths differ).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = (a.iter().map(|x| x * x).sum::<f32>() * b.iter().map(|x| x * x).sum::<f32>()).sqrt();
    if norm == 0.0 { 0.0 } else { dot / norm }
}

/// Scales `vector` to unit length in place (an all-zero vector stays zero).
pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Quantized vectors of one model in one flat array, for an exact cosine scan.
#[derive(Clone, Debug, Default)]
pub struct FlatIndex<K> {
    dims: usize,
    keys: Vec<K>,
    values: Vec<i8>,
    /// The L2 norm of each row's `i8` values (the scale cancels in a cosine).
    norms: Vec<f32>,
}

/// One result of `FlatIndex::top_k`.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit<K> {
    pub key: K,
    pub score: f32,
}

impl<K: Clone> FlatIndex<K> {
    pub fn new(dims: usize) -> FlatIndex<K> {
        FlatIndex::with_capacity(dims, 0)
    }

    /// An empty index with room for `rows` rows.
    pub fn with_capacity(dims: usize, rows: usize) -> FlatIndex<K> {
        FlatIndex {
            dims,
            keys: Vec::with_capacity(rows),
            values: Vec::with_capacity(rows * dims),
            norms: Vec::with_capacity(rows),
        }
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Gives back the spare capacity growing left (a built index is kept for a long time).
    /// Gives back spare room (a copy when there is any: call once, after the last push).
    pub fn shrink_to_fit(&mut self) {
        if self.keys.len() == self.keys.capacity() {
            return;
        }
        self.keys.shrink_to_fit();
        self.values.shrink_to_fit();
        self.norms.shrink_to_fit();
    }

    /// Adds a row. A vector of other dimensions is refused (returns false): it belongs to another
    /// model and must not be compared.
    pub fn push(&mut self, key: K, vector: &QuantizedVector) -> bool {
        if vector.dims() != self.dims {
            return false;
        }
        let norm = vector.values.iter().map(|&q| (q as f32) * (q as f32)).sum::<f32>().sqrt();
        self.keys.push(key);
        self.values.extend_from_slice(&vector.values);
        self.norms.push(norm);
        true
    }

    /// The `k` rows most similar to `query` by cosine, best first. Rows that are all zeros and a
    /// query of other dimensions give no hits.
    pub fn top_k(&self, query: &[f32], k: usize) -> Vec<Hit<K>> {
        if query.len() != self.dims || k == 0 || self.dims == 0 {
            return Vec::new();
        }
        let query_norm = query.iter().map(|x| x * x).sum::<f32>().sqrt();
        if query_norm == 0.0 || !query_norm.is_finite() {
            return Vec::new();
        }
        // A min-heap of the best k so far: the root is the worst kept hit.
        let mut heap: BinaryHeap<Ranked> = BinaryHeap::with_capacity(k + 1);
        for (row, values) in self.values.chunks_exact(self.dims).enumerate() {
            let norm = self.norms[row];
            if norm == 0.0 {
                continue;
            }
            let dot: f32 = values.iter().zip(query).map(|(&q, &x)| q as f32 * x).sum();
            let score = dot / (norm * query_norm);
            heap.push(Ranked { score, row });
            if heap.len() > k {
                heap.pop();
            }
        }
        // Ascending in `Ranked`'s order is best first.
        let mut best = heap.into_vec();
        best.sort();
        best.into_iter().map(|r| Hit { key: self.keys[r.row].clone(), score: r.score }).collect()
    }
}

/// A scored row, ordered so that `BinaryHeap` (a max-heap) keeps the *worst* on top: a higher score
/// is "less", and on equal scores the earlier row wins.
#[derive(Clone, Copy, Debug)]
struct Ranked {
    score: f32,
    row: usize,
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        other.score.total_cmp(&self.score).then(self.row.cmp(&other.row))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random unit vector (xorshift), like model output.
    fn unit(seed: u64, dims: usize) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut v: Vec<f32> = (0..dims)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        normalize(&mut v);
        v
    }

    #[test]
    fn a_384_dimension_vector_takes_388_bytes_and_round_trips() {
        let q = QuantizedVector::quantize(&unit(1, 384));
        let bytes = q.to_bytes();
        assert_eq!(bytes.len(), 388);
        assert_eq!(stored_bytes(384), 388);
        assert_eq!(QuantizedVector::from_bytes(&bytes, Some(384)), Some(q.clone()));
        assert_eq!(QuantizedVector::from_bytes(&bytes, None), Some(q));
        assert_eq!(QuantizedVector::from_bytes(&bytes, Some(768)), None);
        assert_eq!(QuantizedVector::from_bytes(&bytes[..3], None), None);
        let mut nan = bytes.clone();
        nan[..4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(QuantizedVector::from_bytes(&nan, Some(384)), None);
    }

    #[test]
    fn quantization_loses_under_a_hundredth_of_cosine() {
        for seed in 0..50 {
            let a = unit(seed, 384);
            let b = unit(seed + 1000, 384);
            let qa = QuantizedVector::quantize(&a).dequantize();
            let qb = QuantizedVector::quantize(&b).dequantize();
            assert!(cosine(&a, &qa) > 0.999, "seed {seed}: {}", cosine(&a, &qa));
            assert!((cosine(&a, &b) - cosine(&qa, &qb)).abs() < 0.01);
        }
    }

    #[test]
    fn degenerate_input_never_panics() {
        let zero = QuantizedVector::quantize(&[0.0; 8]);
        assert_eq!((zero.scale, zero.values), (0.0, vec![0; 8]));
        let odd = QuantizedVector::quantize(&[f32::NAN, f32::INFINITY, 1.0, -2.0]);
        assert_eq!(odd.values, vec![0, 0, 64, -127]);
        assert!(QuantizedVector::quantize(&[]).values.is_empty());
        assert_eq!(cosine(&[1.0], &[1.0, 2.0]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 2.0]), 0.0);
        let mut v = vec![0.0, 0.0];
        normalize(&mut v);
        assert_eq!(v, vec![0.0, 0.0]);
    }

    #[test]
    fn top_k_is_exact_best_first_and_bounded() {
        let dims = 64;
        let rows: Vec<Vec<f32>> = (0..200).map(|s| unit(s, dims)).collect();
        let mut index = FlatIndex::new(dims);
        for (i, row) in rows.iter().enumerate() {
            assert!(index.push(i, &QuantizedVector::quantize(row)));
        }
        assert!(!index.push(999, &QuantizedVector::quantize(&unit(1, dims + 1))), "other dimensions are refused");
        assert_eq!(index.len(), 200);
        let query = &rows[42];
        let hits = index.top_k(query, 5);
        assert_eq!(hits.len(), 5);
        assert_eq!(hits[0].key, 42);
        assert!((hits[0].score - 1.0).abs() < 0.01);
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
        // The same order as an exact f32 scan (quantization may swap only near-ties).
        let mut exact: Vec<(usize, f32)> = rows.iter().enumerate().map(|(i, r)| (i, cosine(query, r))).collect();
        exact.sort_by(|a, b| b.1.total_cmp(&a.1));
        assert_eq!(hits[0].key, exact[0].0);
        for hit in &hits {
            let truth = exact.iter().find(|(i, _)| *i == hit.key).unwrap().1;
            assert!((hit.score - truth).abs() < 0.01);
        }
        assert_eq!(index.top_k(query, 1000).len(), 200);
        assert!(index.top_k(query, 0).is_empty());
        assert!(index.top_k(&unit(3, dims - 1), 5).is_empty());
        assert!(index.top_k(&vec![0.0; dims], 5).is_empty());
    }

    #[test]
    fn ties_keep_insertion_order() {
        let mut index = FlatIndex::new(2);
        for key in ["a", "b", "c"] {
            index.push(key, &QuantizedVector::quantize(&[1.0, 0.0]));
        }
        index.push("zero", &QuantizedVector::quantize(&[0.0, 0.0]));
        let keys: Vec<&str> = index.top_k(&[1.0, 0.0], 2).into_iter().map(|h| h.key).collect();
        assert_eq!(keys, ["a", "b"]);
    }
}
