//! In-place CPU steps of the BERT forward pass (`bert.rs`): a dense layer's bias and activation,
//! and attention's scaling, padding mask and softmax, written into the buffer the matrix product
//! just filled instead of into a new buffer per step.
//!
//! They compute what candle's ops compute, in the same order (bias added after the product, its
//! erf-based GELU and tanh approximation, scores times 1/√d, the mask added, softmax with the
//! row's maximum subtracted), so the vectors do not change (tests/it/embed.rs checks them against
//! the vectors of the code before them, to the last printed digit). What they save is memory while
//! the idle pass embeds, and time: measured on a batch of 16 texts of 64 tokens on two threads
//! (all-MiniLM-L6-v2; 960 texts, jemalloc as the binary sets it), peak RSS with the model loaded
//! (82 MB) went from 120 to 110 MB and 55 to 73 texts/s; the feed-forward part taken 128 tokens at
//! a time (`bert.rs`) then brought the peak to 100 MB at the same speed.

use candle_core::{CpuStorage, InplaceOp1, Layout, Tensor};

/// The activation after a feed-forward layer's first product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// `gelu`: the exact form, with erf.
    Gelu,
    /// `gelu_new` and its aliases: the tanh approximation.
    GeluTanh,
    Relu,
}

impl Activation {
    fn apply(self, v: f32) -> f32 {
        match self {
            Activation::Gelu => (candle_core::cpu::erf::erf_f32(v * std::f32::consts::FRAC_1_SQRT_2) + 1.) * 0.5 * v,
            Activation::GeluTanh => {
                const SQRT_TWO_OVER_PI: f32 = 0.797_884_6;
                0.5 * v * (1.0 + f32::tanh(SQRT_TWO_OVER_PI * v * (1.0 + 0.044715 * v * v)))
            }
            Activation::Relu => v.max(0.),
        }
    }
}

/// A dense layer: `x · Wᵀ + b`, optionally followed by an activation.
pub struct Dense {
    /// `(out, in)`, as stored in the model file.
    weight: Tensor,
    bias: Vec<f32>,
}

impl Dense {
    pub fn new(linear: &candle_nn::Linear) -> candle_core::Result<Dense> {
        let out = linear.weight().dim(0)?;
        let bias = match linear.bias() {
            Some(bias) => bias.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()?,
            None => vec![0.; out],
        };
        Ok(Dense { weight: linear.weight().clone(), bias })
    }

    /// `x` is `(…, in)`; the result `(…, out)` is the product's buffer, with the bias and the
    /// activation applied in place.
    pub fn forward(&self, x: &Tensor, activation: Option<Activation>) -> candle_core::Result<Tensor> {
        let dims = x.dims().to_vec();
        let Some((&inputs, outer)) = dims.split_last() else {
            candle_core::bail!("a dense layer needs at least one dimension");
        };
        let rows = outer.iter().product::<usize>();
        let product = x.reshape((rows, inputs))?.matmul(&self.weight.t()?)?;
        product.inplace_op1(&BiasActivation { bias: &self.bias, activation })?;
        let mut shape = outer.to_vec();
        shape.push(self.bias.len());
        product.reshape(shape)
    }
}

struct BiasActivation<'a> {
    bias: &'a [f32],
    activation: Option<Activation>,
}

impl InplaceOp1 for BiasActivation<'_> {
    fn name(&self) -> &'static str {
        "bias-activation"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let values = contiguous_f32(storage, layout, self.name())?;
        for row in values.chunks_exact_mut(self.bias.len()) {
            for (value, bias) in row.iter_mut().zip(self.bias) {
                let sum = *value + bias;
                *value = match self.activation {
                    Some(activation) => activation.apply(sum),
                    None => sum,
                };
            }
        }
        Ok(())
    }
}

/// Attention weights from raw scores, in place: each score multiplied by `scale` (1/√ of the head
/// size, as candle divides), `mask_bias` added (per batch row and key: 0 for a token, a large negative number for
/// padding), then softmax over the keys. `scores` is `(batch, heads, queries, keys)`, contiguous;
/// `mask_bias` holds `batch × keys` values.
pub fn masked_softmax(scores: &Tensor, scale: f32, mask_bias: &[f32]) -> candle_core::Result<()> {
    let (_, heads, queries, keys) = scores.dims4()?;
    scores.inplace_op1(&MaskedSoftmax { scale, mask_bias, rows_per_batch: heads * queries, keys })
}

struct MaskedSoftmax<'a> {
    scale: f32,
    mask_bias: &'a [f32],
    rows_per_batch: usize,
    keys: usize,
}

impl InplaceOp1 for MaskedSoftmax<'_> {
    fn name(&self) -> &'static str {
        "masked-softmax"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let values = contiguous_f32(storage, layout, self.name())?;
        if self.keys == 0 {
            return Ok(());
        }
        for (index, row) in values.chunks_exact_mut(self.keys).enumerate() {
            let batch = index / self.rows_per_batch.max(1);
            let Some(mask) = self.mask_bias.get(batch * self.keys..(batch + 1) * self.keys) else {
                candle_core::bail!("{}: the mask has no row for batch {batch}", self.name());
            };
            let mut max = f32::NEG_INFINITY;
            for (value, bias) in row.iter_mut().zip(mask) {
                *value = *value * self.scale + bias;
                max = max.max(*value);
            }
            let mut sum = 0.;
            for value in row.iter_mut() {
                *value = (*value - max).exp();
                sum += *value;
            }
            for value in row.iter_mut() {
                *value /= sum;
            }
        }
        Ok(())
    }
}

/// The f32 values a contiguous layout covers, or an error naming the step.
fn contiguous_f32<'a>(storage: &'a mut CpuStorage, layout: &Layout, step: &str) -> candle_core::Result<&'a mut [f32]> {
    let CpuStorage::F32(values) = storage else {
        candle_core::bail!("{step}: expects f32 values");
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{step}: expects a contiguous tensor");
    };
    Ok(&mut values[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Module};

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-6 * (1. + y.abs()))
    }

    #[test]
    fn dense_equals_candles_linear_then_activation() -> candle_core::Result<()> {
        let device = Device::Cpu;
        let weight = Tensor::randn(0f32, 1., (12, 8), &device)?;
        let bias = Tensor::randn(0f32, 1., 12, &device)?;
        let linear = candle_nn::Linear::new(weight, Some(bias));
        let x = Tensor::randn(0f32, 1., (2, 5, 8), &device)?;
        let dense = Dense::new(&linear)?;
        let plain = linear.forward(&x)?;
        for (activation, expected) in [
            (None, plain.clone()),
            (Some(Activation::Gelu), plain.gelu_erf()?),
            (Some(Activation::GeluTanh), plain.gelu()?),
            (Some(Activation::Relu), plain.relu()?),
        ] {
            let got = dense.forward(&x, activation)?;
            assert_eq!(got.dims(), &[2, 5, 12]);
            assert!(
                close(&got.flatten_all()?.to_vec1()?, &expected.flatten_all()?.to_vec1()?),
                "{activation:?} differs from candle's"
            );
        }
        Ok(())
    }

    #[test]
    fn masked_softmax_equals_candles_ops_and_ignores_padding() -> candle_core::Result<()> {
        let device = Device::Cpu;
        let (batch, heads, len) = (2, 3, 4);
        let scores = Tensor::randn(0f32, 4., (batch, heads, len, len), &device)?;
        // The second row's last token is padding.
        let mask = Tensor::new(&[[1f32, 1., 1., 1.], [1., 1., 1., 0.]], &device)?;
        let bias_tensor = ((mask.ones_like()? - &mask)? * -1e30f64)?.unsqueeze(1)?.unsqueeze(1)?;
        let expected = candle_nn::ops::softmax_last_dim(&(&scores / 2f64)?.broadcast_add(&bias_tensor)?)?;
        let mask_bias: Vec<f32> = bias_tensor.flatten_all()?.to_vec1()?;
        let got = scores.copy()?;
        masked_softmax(&got, 0.5, &mask_bias)?;
        let got_values: Vec<f32> = got.flatten_all()?.to_vec1()?;
        assert!(close(&got_values, &expected.flatten_all()?.to_vec1()?));
        // Every weight of the padding key is 0 in the second row, and every row sums to 1.
        for (index, row) in got_values.chunks(len).enumerate() {
            assert!((row.iter().sum::<f32>() - 1.).abs() < 1e-5);
            if index >= heads * len {
                assert_eq!(row[len - 1], 0.);
            }
        }
        Ok(())
    }
}
