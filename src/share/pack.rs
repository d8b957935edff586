//! The shared form of the semantic index's vectors, pure: what `share push` writes as git blobs and
//! what `share pull` accepts back.
//!
//! A share is one manifest (JSON) and up to [`SHARDS`] shards. A definition's vectors go to the shard
//! of its file's path ([`shard_of`]), so an edit of one file changes one shard and git stores and
//! sends only that one again. A shard is binary:
//!
//! | bytes | what |
//! |---|---|
//! | 8 | [`MAGIC`] |
//! | 4 | format version, `u32` little-endian ([`FORMAT_VERSION`]) |
//! | 32 | `embed::model_key` of the embedder's model id |
//! | 4 | dimensions, `u32` LE |
//! | 4 | entries, `u32` LE |
//! | entries × (32 + 4 + dims) | a vector key (`embed::definition_key`), then the stored vector (`embed::quant`) |
//!
//! The manifest names the format version, the embedder's model id (and its key), the dimensions,
//! and for each shard its name, entries, bytes and BLAKE3 digest. Keys are digests of a file's path,
//! content and a definition's place in it: nothing of a file's text or path is in a share.
//!
//! Guarantees: [`Manifest::check`] and [`decode_shard`] accept only what [`encode`] can have written
//! for the expected model — the version, the model, sane dimensions, a shard's size, digest, header
//! and every vector (finite scale, right length) are checked — and say in one sentence what was
//! wrong otherwise. Decoding never panics on any input.

use crate::embed::quant::{QuantizedVector, stored_bytes};
use crate::hash::{Digest, DigestBuilder};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The first bytes of a shard.
pub const MAGIC: &[u8; 8] = b"RVSHARD\0";
/// Bumped whenever the manifest or shard layout changes; a pull accepts only its own version.
pub const FORMAT_VERSION: u32 = 1;
/// Shards of one share (a file's vectors always land in the same one).
pub const SHARDS: usize = 64;
/// The largest manifest and shard a pull reads (a hostile remote cannot make it read more; a
/// million definitions make 64 shards of ~6.5 MB).
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;
pub const MAX_SHARD_BYTES: u64 = 16 << 20;
/// The most dimensions a vector may have (all-MiniLM-L6-v2 has 384, large models 4,096).
pub const MAX_DIMS: u32 = 8192;
/// The manifest's name in the share's tree.
pub const MANIFEST: &str = "manifest.json";
const HEADER: usize = 8 + 4 + 32 + 4 + 4;

/// What a share holds, stored beside its shards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// `embeddings` (the only kind so far).
    pub kind: String,
    pub model_id: String,
    /// `embed::model_key(model_id)` in hex.
    pub model_key: String,
    pub dims: u32,
    pub vectors: u64,
    pub shards: Vec<ShardEntry>,
    /// The commit the pushing workspace was at (for people reading the ref; not checked).
    pub head: Option<String>,
}

/// One shard as the manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// The blob's name in the tree (`shard-07`).
    pub name: String,
    pub entries: u64,
    pub bytes: u64,
    /// BLAKE3 of the blob, hex.
    pub digest: String,
}

/// The shard of a file's vectors, by its workspace key.
pub fn shard_of(path: &str) -> usize {
    let digest = DigestBuilder::new().part(b"share-shard").part(path.as_bytes()).finish();
    digest.0[0] as usize % SHARDS
}

fn shard_name(index: usize) -> String {
    format!("shard-{index:02}")
}

/// A share ready to be written: the manifest's bytes and each shard's name and bytes.
pub struct Encoded {
    pub manifest: Manifest,
    pub manifest_bytes: Vec<u8>,
    pub shards: Vec<(String, Vec<u8>)>,
}

/// Encodes `vectors` (per shard, `(vector key, stored vector bytes)`, each `stored_bytes(dims)`
/// long) of `model_id`. Empty shards are left out.
pub fn encode(model_id: &str, dims: u32, shards: &[Vec<(Digest, Vec<u8>)>], head: Option<String>) -> Encoded {
    let model = crate::embed::model_key(model_id);
    let mut encoded = Vec::new();
    let mut entries = Vec::new();
    let mut vectors = 0u64;
    for (index, shard) in shards.iter().enumerate() {
        if shard.is_empty() {
            continue;
        }
        let mut bytes = Vec::with_capacity(HEADER + shard.len() * (32 + stored_bytes(dims as usize)));
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&model.0);
        bytes.extend_from_slice(&dims.to_le_bytes());
        bytes.extend_from_slice(&(shard.len() as u32).to_le_bytes());
        for (key, vector) in shard {
            bytes.extend_from_slice(&key.0);
            bytes.extend_from_slice(vector);
        }
        vectors += shard.len() as u64;
        let name = shard_name(index);
        entries.push(ShardEntry {
            name: name.clone(),
            entries: shard.len() as u64,
            bytes: bytes.len() as u64,
            digest: Digest::of(&bytes).to_hex(),
        });
        encoded.push((name, bytes));
    }
    let manifest = Manifest {
        format: FORMAT_VERSION,
        kind: "embeddings".into(),
        model_id: model_id.to_string(),
        model_key: model.to_hex(),
        dims,
        vectors,
        shards: entries,
        head,
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    Encoded { manifest, manifest_bytes, shards: encoded }
}

impl Manifest {
    /// Parses a manifest and checks it describes a share this reverie reads, of `model_id`, whose
    /// shards are among the tree's blobs `blobs` (name → bytes; a shard whose size differs is
    /// rejected alone, by [`check_size`], before it is read).
    pub fn check(bytes: &[u8], model_id: &str, blobs: &BTreeMap<String, u64>) -> Result<Manifest, String> {
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|err| format!("the manifest does not parse ({err})"))?;
        if manifest.format != FORMAT_VERSION {
            return Err(format!(
                "the share has format version {}, this reverie reads {FORMAT_VERSION} (update reverie on both sides)",
                manifest.format
            ));
        }
        if manifest.kind != "embeddings" {
            return Err(format!("the share holds `{}`, not embeddings", manifest.kind));
        }
        if manifest.model_id != model_id {
            return Err(format!(
                "the shared vectors are of the embedder `{}`, this workspace embeds with `{model_id}`",
                manifest.model_id
            ));
        }
        if manifest.model_key != crate::embed::model_key(model_id).to_hex() {
            return Err("the manifest's model key does not match its model id".into());
        }
        if manifest.dims == 0 || manifest.dims > MAX_DIMS {
            return Err(format!("the manifest says {} dimensions", manifest.dims));
        }
        let mut total = 0u64;
        for shard in &manifest.shards {
            if !blobs.contains_key(&shard.name) {
                return Err(format!("{} is listed but not in the share", shard.name));
            }
            if shard.bytes > MAX_SHARD_BYTES {
                return Err(format!("{} is {} bytes, more than a share holds", shard.name, shard.bytes));
            }
            total = total.saturating_add(shard.entries);
        }
        if total != manifest.vectors {
            return Err(format!("the shards hold {total} vectors, the manifest says {}", manifest.vectors));
        }
        Ok(manifest)
    }
}

/// Whether the blob of `entry` has the size the manifest says (checked before it is read).
pub fn check_size(entry: &ShardEntry, size: u64) -> Result<(), String> {
    if size != entry.bytes {
        return Err(format!("{} is {size} bytes, the manifest says {} (truncated?)", entry.name, entry.bytes));
    }
    Ok(())
}

/// Decodes a shard the manifest lists as `entry`, checking its digest, header and every vector:
/// `(vector key, stored vector bytes)` per entry, or why the shard is rejected.
pub fn decode_shard(bytes: &[u8], entry: &ShardEntry, manifest: &Manifest) -> Result<Vec<(Digest, Vec<u8>)>, String> {
    let name = &entry.name;
    if bytes.len() as u64 != entry.bytes {
        return Err(format!("{name} is {} bytes, the manifest says {} (truncated?)", bytes.len(), entry.bytes));
    }
    if Digest::of(bytes).to_hex() != entry.digest {
        return Err(format!("{name} does not match its digest in the manifest (corrupt)"));
    }
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err(format!("{name} is not a reverie shard"));
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let version = u32_at(8);
    if version != FORMAT_VERSION {
        return Err(format!("{name} has format version {version}, this reverie reads {FORMAT_VERSION}"));
    }
    if bytes[12..44] != crate::embed::model_key(&manifest.model_id).0 {
        return Err(format!("{name} holds another model's vectors"));
    }
    let (dims, entries) = (u32_at(44), u32_at(48) as usize);
    if dims != manifest.dims {
        return Err(format!("{name} has {dims} dimensions, the manifest says {}", manifest.dims));
    }
    if entries as u64 != entry.entries {
        return Err(format!("{name} holds {entries} vectors, the manifest says {}", entry.entries));
    }
    let width = 32 + stored_bytes(dims as usize);
    if Some(bytes.len() - HEADER) != entries.checked_mul(width) {
        return Err(format!("{name} is {} bytes, {entries} vectors take {}", bytes.len(), HEADER + entries * width));
    }
    let mut out = Vec::with_capacity(entries);
    for record in bytes[HEADER..].chunks_exact(width) {
        let key = Digest(record[..32].try_into().expect("32 bytes"));
        let vector = &record[32..];
        if QuantizedVector::from_bytes(vector, Some(dims as usize)).is_none() {
            return Err(format!("{name} holds a vector that does not decode"));
        }
        out.push((key, vector.to_vec()));
    }
    Ok(out)
}

/// The manifest of a share that is one blob (the notes, the adapter's state): its kind, how many
/// items the blob holds, its bytes and BLAKE3 digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobManifest {
    pub format: u32,
    pub kind: String,
    pub items: u64,
    pub bytes: u64,
    /// BLAKE3 of the blob, hex.
    pub digest: String,
}

/// The manifest of `blob`, a share of `kind` holding `items`.
pub fn blob_manifest(kind: &str, items: u64, blob: &[u8]) -> Vec<u8> {
    let manifest = BlobManifest {
        format: FORMAT_VERSION,
        kind: kind.into(),
        items,
        bytes: blob.len() as u64,
        digest: Digest::of(blob).to_hex(),
    };
    serde_json::to_vec_pretty(&manifest).unwrap_or_default()
}

/// Parses a one-blob manifest of `kind` and checks the blob's size (`blob_size`, from the tree,
/// at most `max`) against it before the blob is read.
pub fn check_blob_manifest(bytes: &[u8], kind: &str, blob_size: u64, max: u64) -> Result<BlobManifest, String> {
    let manifest: BlobManifest =
        serde_json::from_slice(bytes).map_err(|err| format!("the {kind} manifest does not parse ({err})"))?;
    if manifest.format != FORMAT_VERSION || manifest.kind != kind {
        return Err(format!(
            "the share has format version {} of `{}`, this reverie reads {FORMAT_VERSION} of `{kind}`",
            manifest.format, manifest.kind
        ));
    }
    if blob_size != manifest.bytes || blob_size > max {
        return Err(format!("the {kind} blob is {blob_size} bytes, the manifest says {} (truncated?)", manifest.bytes));
    }
    Ok(manifest)
}

/// Checks a one-blob share's blob against its manifest's digest.
pub fn check_blob(blob: &[u8], manifest: &BlobManifest) -> Result<(), String> {
    if Digest::of(blob).to_hex() != manifest.digest {
        return Err(format!("the {} blob does not match its digest in the manifest (corrupt)", manifest.kind));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(x: f32) -> Vec<u8> {
        QuantizedVector::quantize(&[x, 1.0, -0.5]).to_bytes()
    }

    fn sample() -> Encoded {
        let mut shards = vec![Vec::new(); SHARDS];
        shards[shard_of("a.py")].push((Digest::of(b"a0"), vector(0.1)));
        shards[shard_of("a.py")].push((Digest::of(b"a1"), vector(0.2)));
        shards[shard_of("b/c.py")].push((Digest::of(b"c0"), vector(0.3)));
        encode("local:m:abc:64", 3, &shards, None)
    }

    fn sizes(encoded: &Encoded) -> BTreeMap<String, u64> {
        encoded.shards.iter().map(|(name, bytes)| (name.clone(), bytes.len() as u64)).collect()
    }

    #[test]
    fn what_is_encoded_decodes_to_the_same_vectors() {
        let encoded = sample();
        let manifest = Manifest::check(&encoded.manifest_bytes, "local:m:abc:64", &sizes(&encoded)).unwrap();
        assert_eq!(manifest.vectors, 3);
        let mut all = Vec::new();
        for ((_, bytes), entry) in encoded.shards.iter().zip(&manifest.shards) {
            all.extend(decode_shard(bytes, entry, &manifest).unwrap());
        }
        all.sort();
        let mut expected = vec![(Digest::of(b"a0"), vector(0.1)), (Digest::of(b"a1"), vector(0.2))];
        expected.push((Digest::of(b"c0"), vector(0.3)));
        expected.sort();
        assert_eq!(all, expected);
    }

    #[test]
    fn another_model_version_or_missing_shard_is_rejected_with_the_reason() {
        let encoded = sample();
        let err = Manifest::check(&encoded.manifest_bytes, "local:other:1:64", &sizes(&encoded)).unwrap_err();
        assert!(err.contains("this workspace embeds with `local:other:1:64`"), "{err}");
        let newer =
            String::from_utf8(encoded.manifest_bytes.clone()).unwrap().replace("\"format\": 1", "\"format\": 9");
        let err = Manifest::check(newer.as_bytes(), "local:m:abc:64", &sizes(&encoded)).unwrap_err();
        assert!(err.contains("format version 9"), "{err}");
        let err = Manifest::check(&encoded.manifest_bytes, "local:m:abc:64", &BTreeMap::new()).unwrap_err();
        assert!(err.contains("is listed but not in the share"), "{err}");
        assert!(Manifest::check(b"{not json", "local:m:abc:64", &sizes(&encoded)).unwrap_err().contains("parse"));
    }

    #[test]
    fn a_truncated_corrupt_or_forged_shard_is_rejected_and_nothing_panics() {
        let encoded = sample();
        let manifest = encoded.manifest.clone();
        let (_, bytes) = &encoded.shards[0];
        let entry = &manifest.shards[0];
        let err = decode_shard(&bytes[..bytes.len() - 5], entry, &manifest).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(decode_shard(&flipped, entry, &manifest).unwrap_err().contains("corrupt"));
        // A forged shard whose digest the manifest was rewritten to match: a bad vector scale.
        let mut forged = bytes.clone();
        forged[HEADER + 32..HEADER + 36].copy_from_slice(&f32::NAN.to_le_bytes());
        let forged_entry = ShardEntry { digest: Digest::of(&forged).to_hex(), ..entry.clone() };
        assert!(decode_shard(&forged, &forged_entry, &manifest).unwrap_err().contains("does not decode"));
        // Any prefix, with a matching manifest entry, is rejected without a panic.
        for cut in 0..bytes.len() {
            let part = &bytes[..cut];
            let entry = ShardEntry { bytes: cut as u64, digest: Digest::of(part).to_hex(), ..entry.clone() };
            assert!(decode_shard(part, &entry, &manifest).is_err(), "{cut}");
        }
    }

    #[test]
    fn a_file_keeps_its_shard() {
        assert_eq!(shard_of("src/a.py"), shard_of("src/a.py"));
        let spread: std::collections::HashSet<usize> = (0..200).map(|i| shard_of(&format!("f{i}.py"))).collect();
        assert!(spread.len() > SHARDS / 2, "{}", spread.len());
    }
}
