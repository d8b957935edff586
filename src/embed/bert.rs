//! A BERT encoder (the architecture of all-MiniLM-L6-v2 and most sentence-embedding models) on
//! candle's tensors, with a stop check between layers.
//!
//! It follows Hugging Face's `modeling_bert.py` (absolute positions, post-layer-norm, no dropout at
//! inference) and reads its weights by the same names from `model.safetensors` (with or without a
//! `bert.` prefix). Written here rather than taken from candle-transformers because a forward pass
//! must be abandonable: the idle pass stops within a layer's time (≈ 1/6 of a batch for MiniLM-L6),
//! not a whole batch's, when the user comes back; it also spares building candle-transformers'
//! hundred other models. Checked against an independent numpy forward pass of the same weights
//! (max difference 6e-7 per dimension) and by tests/it/embed.rs.

use super::inplace::{Activation, Dense, Norm, Strided, masked_softmax, product};
use anyhow::{Context, Result, bail};
use candle_core::{DType, Tensor};
use candle_nn::{Embedding, LayerNorm, Module, VarBuilder, embedding, layer_norm, linear};
use serde::Deserialize;

/// The fields of a Hugging Face BERT `config.json` that the forward pass needs.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
}

fn default_act() -> String {
    "gelu".into()
}

fn default_type_vocab() -> usize {
    2
}

fn default_eps() -> f64 {
    1e-12
}

struct Layer {
    query: Dense,
    key: Dense,
    value: Dense,
    attention_out: Dense,
    attention_norm: Norm,
    intermediate: Dense,
    output: Dense,
    output_norm: Norm,
}

/// Tokens the feed-forward part takes at a time (`Bert::layer`). A batch of 16 texts of 64 tokens
/// on two threads: peak memory 110 → 100 MB (model included), as fast (75 texts/s).
const FEED_FORWARD_ROWS: usize = 128;

/// The name the word table's weights end with (kept in f16).
pub const WORD_TABLE: &str = "word_embeddings.weight";

pub struct Bert {
    words: Embedding,
    positions: Embedding,
    types: Embedding,
    embeddings_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_size: usize,
    activation: Activation,
    pub max_positions: usize,
}

impl Bert {
    pub fn load(vb: VarBuilder, config: &BertConfig) -> Result<Bert> {
        if config.num_attention_heads == 0 || !config.hidden_size.is_multiple_of(config.num_attention_heads) {
            bail!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                config.hidden_size,
                config.num_attention_heads
            );
        }
        if let Some(kind) = config.position_embedding_type.as_deref().filter(|k| *k != "absolute") {
            bail!("position_embedding_type {kind:?} is not supported (only absolute)");
        }
        let activation = match config.hidden_act.as_str() {
            "gelu" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            other => bail!("hidden_act {other:?} is not supported (gelu, gelu_new, relu)"),
        };
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") { vb.pp("bert") } else { vb };
        let (h, eps) = (config.hidden_size, config.layer_norm_eps);
        let e = vb.pp("embeddings");
        // The word table is most of a small model's weights (all-MiniLM-L6-v2: 47 of 90 MB) and only
        // ever read a row at a time: kept in f16 (a relative error of 5e-4, below what changes a
        // cosine ranking; `local.rs` narrows it as it reads the file) and widened per lookup.
        let words = e
            .pp("word_embeddings")
            .get_with_hints_dtype((config.vocab_size, h), "weight", Default::default(), DType::F16)
            .context("word embeddings")?;
        let words = Embedding::new(words, h);
        let positions =
            embedding(config.max_position_embeddings, h, e.pp("position_embeddings")).context("position embeddings")?;
        let types =
            embedding(config.type_vocab_size, h, e.pp("token_type_embeddings")).context("token type embeddings")?;
        let embeddings_norm = layer_norm(h, eps, e.pp("LayerNorm")).context("embedding layer norm")?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for index in 0..config.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{index}"));
            let load = || -> candle_core::Result<Layer> {
                Ok(Layer {
                    query: Dense::new(&linear(h, h, l.pp("attention.self.query"))?)?,
                    key: Dense::new(&linear(h, h, l.pp("attention.self.key"))?)?,
                    value: Dense::new(&linear(h, h, l.pp("attention.self.value"))?)?,
                    attention_out: Dense::new(&linear(h, h, l.pp("attention.output.dense"))?)?,
                    attention_norm: Norm::new(&layer_norm(h, eps, l.pp("attention.output.LayerNorm"))?)?,
                    intermediate: Dense::new(&linear(h, config.intermediate_size, l.pp("intermediate.dense"))?)?,
                    output: Dense::new(&linear(config.intermediate_size, h, l.pp("output.dense"))?)?,
                    output_norm: Norm::new(&layer_norm(h, eps, l.pp("output.LayerNorm"))?)?,
                })
            };
            layers.push(load().with_context(|| format!("layer {index}"))?);
        }
        Ok(Bert {
            words,
            positions,
            types,
            embeddings_norm,
            layers,
            heads: config.num_attention_heads,
            head_size: h / config.num_attention_heads,
            activation,
            max_positions: config.max_position_embeddings,
        })
    }

    /// The last hidden states, `(batch, tokens, hidden)`, for `ids` and `mask` (`(batch, tokens)`,
    /// mask 1 for real tokens, 0 for padding). `Ok(None)` when `stop()` said so before a layer.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor, stop: &dyn Fn() -> bool) -> Result<Option<Tensor>> {
        let (_, len) = ids.dims2()?;
        if len > self.max_positions {
            bail!("{len} tokens, the model takes at most {}", self.max_positions);
        }
        let positions = Tensor::arange(0u32, len as u32, ids.device())?;
        let x = (self.words.forward(ids)?.to_dtype(DType::F32)? + self.types.forward(&ids.zeros_like()?)?)?
            .broadcast_add(&self.positions.forward(&positions)?)?;
        let x = self.embeddings_norm.forward(&x)?;
        let (batch, len, hidden) = x.dims3()?;
        let mut x = x.flatten_all()?.to_vec1::<f32>()?;
        // Per batch row and token: 0 where attended, a large negative number on padding.
        let mask_bias: Vec<f32> =
            mask.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?.into_iter().map(|m| (1. - m) * -1e30).collect();
        for layer in &self.layers {
            if stop() {
                return Ok(None);
            }
            x = self.layer(layer, &x, (batch, len), &mask_bias);
        }
        Ok(Some(Tensor::from_vec(x, (batch, len, hidden), ids.device())?))
    }

    /// One encoder layer on `x`, `batch × len` tokens of the hidden size, row after row. Each step
    /// writes into the buffer the step before filled (`inplace.rs`): the batch's activations stay a
    /// few times the hidden states' size, and every product runs on the calling thread.
    fn layer(&self, layer: &Layer, x: &[f32], (batch, len): (usize, usize), mask_bias: &[f32]) -> Vec<f32> {
        let (heads, head_size) = (self.heads, self.head_size);
        let hidden = heads * head_size;
        let tokens = batch * len;
        let q = layer.query.forward(x, tokens, None);
        let k = layer.key.forward(x, tokens, None);
        let v = layer.value.forward(x, tokens, None);
        // Each head reads its columns of q, k and v in place: head h of text b is the `len × head_size`
        // matrix from row b × len, column h × head_size.
        fn head_of(data: &[f32], at: usize, hidden: usize) -> Strided<'_> {
            Strided { data, offset: at, row_stride: hidden, column_stride: 1 }
        }
        let head_of = |data, b: usize, h: usize| head_of(data, b * len * hidden + h * head_size, hidden);
        let mut scores = vec![0f32; batch * heads * len * len];
        for b in 0..batch {
            for h in 0..heads {
                let keys = Strided { row_stride: 1, column_stride: hidden, ..head_of(&k, b, h) };
                product((len, len, head_size), &mut scores, (b * heads + h) * len * len, len, head_of(&q, b, h), keys);
            }
        }
        masked_softmax(&mut scores, len, heads * len, (1. / (head_size as f64).sqrt()) as f32, mask_bias);
        // The heads' results side by side, token after token, as the output layer takes them.
        let mut context = vec![0f32; tokens * hidden];
        for b in 0..batch {
            for h in 0..heads {
                let probs =
                    Strided { data: &scores, offset: (b * heads + h) * len * len, row_stride: len, column_stride: 1 };
                let at = b * len * hidden + h * head_size;
                product((len, head_size, len), &mut context, at, hidden, probs, head_of(&v, b, h));
            }
        }
        drop((q, k, v, scores));
        let mut attended = layer.attention_out.forward(&context, tokens, None);
        layer.attention_norm.add_and_normalize(&mut attended, x);
        // The feed-forward part works on each token alone, so it takes `FEED_FORWARD_ROWS` tokens
        // at a time: its inner activations (4× the hidden size) stay small whatever the batch.
        let mut out = context;
        for start in (0..tokens).step_by(FEED_FORWARD_ROWS) {
            let rows = FEED_FORWARD_ROWS.min(tokens - start);
            let part = &attended[start * hidden..(start + rows) * hidden];
            let inner = layer.intermediate.forward(part, rows, Some(self.activation));
            layer.output.forward_into(&inner, rows, None, &mut out, start * hidden);
            layer.output_norm.add_and_normalize(&mut out[start * hidden..(start + rows) * hidden], part);
        }
        out
    }
}

/// Mean of the hidden states over real tokens, `(batch, hidden)`.
pub fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (batch, tokens, 1)
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    // [CLS] and [SEP] are always there, so the count is never 0; clamp anyway.
    let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?;
    Ok(summed.broadcast_div(&counts)?)
}

/// The first token's hidden state, `(batch, hidden)`.
pub fn cls_pool(hidden: &Tensor) -> Result<Tensor> {
    Ok(hidden.narrow(1, 0, 1)?.squeeze(1)?)
}
