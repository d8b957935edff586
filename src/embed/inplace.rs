//! The CPU steps of the BERT forward pass (`bert.rs`) on plain `f32` buffers: matrix products by
//! `gemm` on the calling thread alone, a dense layer's bias and activation, attention's scaling,
//! padding mask and softmax, and the residual sum with its layer norm — each written into the
//! buffer the step before filled instead of into a new buffer per step.
//!
//! They compute what candle's ops computed, in the same order (the same `gemm` products with the
//! same operands, bias added after the product, its erf-based GELU and tanh approximation, scores
//! times 1/√d, the mask added, softmax with the row's maximum subtracted, layer norm's one-pass sum
//! and sum of squares), so the vectors do not change (tests/it/embed.rs checks them against the
//! vectors of candle's own ops to the last printed digit; the unit tests below against candle's ops
//! on random inputs, bit for bit). What they save is time: candle's products ask `gemm` for every
//! core and its element-wise ops use a pool of their own, but the embedder already runs one part of
//! a batch per core (`local.rs`), so each product and each sum paid for threads that had nothing to
//! add — measured on Django 5.1.4's definitions (`examples/embed_throughput.rs --tree`), see
//! `local.rs`.

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

/// `Activation::Gelu` of every value, in place, bit for bit what `Activation::apply` gives (candle's
/// `gelu_erf`, with libm's `erff`), but without a branch per value: libm's erf takes one of four
/// paths by the value's size (two `expf` calls on the widest), which a processor mispredicts on
/// activations of every size. Here every path is computed for eight values at a time with the same
/// f32 operations in the same order and each value keeps its own path's result, which the compiler
/// turns into vector instructions (AVX2 when the processor has it). It was a fifth of the forward
/// pass's time.
pub fn gelu_erf(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2 (checked just above).
        unsafe { gelu_erf_avx2(values) };
        return;
    }
    gelu_erf_lanes(values);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn gelu_erf_avx2(values: &mut [f32]) {
    gelu_erf_lanes(values);
}

#[inline(always)]
fn gelu_erf_lanes(values: &mut [f32]) {
    const LANES: usize = 8;
    let mut chunks = values.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        let mut x = [0f32; LANES];
        for (x, v) in x.iter_mut().zip(chunk.iter()) {
            *x = *v * std::f32::consts::FRAC_1_SQRT_2;
        }
        for (v, x) in chunk.iter_mut().zip(x) {
            *v *= (erf_branchless(x) + 1.) * 0.5;
        }
    }
    for v in chunks.into_remainder() {
        *v *= (erf_branchless(*v * std::f32::consts::FRAC_1_SQRT_2) + 1.) * 0.5;
    }
}

/// libm's `erff` (musl's, from FreeBSD) with every path computed and the value's own chosen. The
/// constants are written as libm writes them (the same f32 values).
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn erf_branchless(x: f32) -> f32 {
    const ERX: f32 = 8.4506291151e-01;
    const EFX8: f32 = 1.0270333290e+00;
    const PP: [f32; 5] = [1.2837916613e-01, -3.2504209876e-01, -2.8481749818e-02, -5.7702702470e-03, -2.3763017452e-05];
    const QQ: [f32; 5] = [3.9791721106e-01, 6.5022252500e-02, 5.0813062117e-03, 1.3249473704e-04, -3.9602282413e-06];
    const PA: [f32; 7] = [
        -2.3621185683e-03,
        4.1485610604e-01,
        -3.7220788002e-01,
        3.1834661961e-01,
        -1.1089469492e-01,
        3.5478305072e-02,
        -2.1663755178e-03,
    ];
    const QA: [f32; 6] =
        [1.0642088205e-01, 5.4039794207e-01, 7.1828655899e-02, 1.2617121637e-01, 1.3637083583e-02, 1.1984500103e-02];
    const RA: [f32; 8] = [
        -9.8649440333e-03,
        -6.9385856390e-01,
        -1.0558626175e+01,
        -6.2375331879e+01,
        -1.6239666748e+02,
        -1.8460508728e+02,
        -8.1287437439e+01,
        -9.8143291473e+00,
    ];
    const SA: [f32; 8] = [
        1.9651271820e+01,
        1.3765776062e+02,
        4.3456588745e+02,
        6.4538726807e+02,
        4.2900814819e+02,
        1.0863500214e+02,
        6.5702495575e+00,
        -6.0424413532e-02,
    ];
    const RB: [f32; 7] = [
        -9.8649431020e-03,
        -7.9928326607e-01,
        -1.7757955551e+01,
        -1.6063638306e+02,
        -6.3756646729e+02,
        -1.0250950928e+03,
        -4.8351919556e+02,
    ];
    const SB: [f32; 7] = [
        3.0338060379e+01,
        3.2579251099e+02,
        1.5367296143e+03,
        3.1998581543e+03,
        2.5530502930e+03,
        4.7452853394e+02,
        -2.2440952301e+01,
    ];
    let bits = x.to_bits();
    let negative = bits >> 31 != 0;
    let ix = bits & 0x7fff_ffff;
    let ax = f32::from_bits(ix);
    // |x| < 0.84375 (below 2^-28, a form that avoids underflow).
    let z = x * x;
    let r = PP[0] + z * (PP[1] + z * (PP[2] + z * (PP[3] + z * PP[4])));
    let s = 1.0 + z * (QQ[0] + z * (QQ[1] + z * (QQ[2] + z * (QQ[3] + z * QQ[4]))));
    let near_zero = if ix < 0x3180_0000 { 0.125 * (8.0 * x + EFX8 * x) } else { x + x * (r / s) };
    // 0.84375 ≤ |x| < 1.25: erfc1.
    let s = ax - 1.0;
    let p = PA[0] + s * (PA[1] + s * (PA[2] + s * (PA[3] + s * (PA[4] + s * (PA[5] + s * PA[6])))));
    let q = 1.0 + s * (QA[0] + s * (QA[1] + s * (QA[2] + s * (QA[3] + s * (QA[4] + s * QA[5])))));
    let erfc_near = 1.0 - ERX - p / q;
    // 1.25 ≤ |x| < 6: erfc2's far form, one of two rational fits.
    let s = 1.0 / (ax * ax);
    let (r, big_s) = if ix < 0x4036_db6d {
        (
            RA[0] + s * (RA[1] + s * (RA[2] + s * (RA[3] + s * (RA[4] + s * (RA[5] + s * (RA[6] + s * RA[7])))))),
            1.0 + s
                * (SA[0]
                    + s * (SA[1] + s * (SA[2] + s * (SA[3] + s * (SA[4] + s * (SA[5] + s * (SA[6] + s * SA[7]))))))),
        )
    } else {
        (
            RB[0] + s * (RB[1] + s * (RB[2] + s * (RB[3] + s * (RB[4] + s * (RB[5] + s * RB[6]))))),
            1.0 + s * (SB[0] + s * (SB[1] + s * (SB[2] + s * (SB[3] + s * (SB[4] + s * (SB[5] + s * SB[6])))))),
        )
    };
    let z = f32::from_bits(ix & 0xffff_e000);
    let erfc_far = expf_in_range(-z * z - 0.5625) * expf_in_range((z - ax) * (z + ax) + r / big_s) / ax;
    let y = if ix < 0x40c0_0000 {
        1.0 - if ix < 0x3fa0_0000 { erfc_near } else { erfc_far }
    } else {
        1.0 - f32::from_bits(0x0380_0000)
    };
    let y = if negative { -y } else { y };
    if ix >= 0x7f80_0000 {
        // NaN stays NaN, ±∞ gives ±1.
        1.0 - 2.0 * f32::from(u8::from(negative)) + 1.0 / x
    } else if ix < 0x3f58_0000 {
        near_zero
    } else {
        y
    }
}

/// libm's `expf` for the arguments erf's far form gives it (−37 < x < 1: no overflow, no
/// underflow, so no special case).
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn expf_in_range(x: f32) -> f32 {
    const LN2_HI: f32 = 6.9314575195e-01;
    const LN2_LO: f32 = 1.4286067653e-06;
    const INV_LN2: f32 = 1.4426950216e+00;
    const P1: f32 = 1.6666625440e-1;
    const P2: f32 = -2.7667332906e-3;
    let bits = x.to_bits();
    let negative = bits >> 31 != 0;
    let hx = bits & 0x7fff_ffff;
    let sign = i32::from(negative);
    let k = if hx > 0x3f85_1592 {
        (INV_LN2 * x + if negative { -0.5 } else { 0.5 }) as i32
    } else if hx > 0x3eb1_7218 {
        1 - sign - sign
    } else {
        0
    };
    let kf = k as f32;
    let reduced = hx > 0x3eb1_7218;
    let hi = if reduced { x - kf * LN2_HI } else { x };
    let lo = if reduced { kf * LN2_LO } else { 0. };
    let xr = if reduced { hi - lo } else { x };
    let xx = xr * xr;
    let c = xr - xx * (P1 + xx * P2);
    let y = 1. + (xr * c / (2. - c) - lo + hi);
    // 2^k is exact and y · 2^k a normal number for these arguments.
    let scale = f32::from_bits(((0x7f + k.clamp(-126, 127)) as u32) << 23);
    let y = if k == 0 { y } else { y * scale };
    if hx > 0x3900_0000 { y } else { 1. + x }
}

/// A matrix inside a buffer: element `(row, column)` is `data[offset + row × row_stride + column ×
/// column_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct Strided<'a> {
    pub data: &'a [f32],
    pub offset: usize,
    pub row_stride: usize,
    pub column_stride: usize,
}

impl Strided<'_> {
    /// Whether a `rows × columns` matrix at these strides lies inside `data`.
    fn fits(&self, rows: usize, columns: usize) -> bool {
        rows == 0
            || columns == 0
            || self.offset + (rows - 1) * self.row_stride + (columns - 1) * self.column_stride < self.data.len()
    }
}

/// `dst = lhs · rhs` for an `m × k` lhs and a `k × n` rhs, `dst`'s rows `dst_row_stride` apart
/// (columns adjacent) from `dst_offset`, on the calling thread. Panics when a matrix does not fit
/// its buffer (a bug of the caller, never of the input).
#[allow(clippy::too_many_arguments)]
pub fn product(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    dst_offset: usize,
    dst_row_stride: usize,
    lhs: Strided,
    rhs: Strided,
) {
    let dst_fits = m == 0 || n == 0 || dst_offset + (m - 1) * dst_row_stride + n - 1 < dst.len();
    assert!(dst_fits && lhs.fits(m, k) && rhs.fits(k, n), "a product's operands do not fit their buffers");
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: every element the product reads or writes lies inside its slice (checked above), and
    // `dst` is borrowed mutably, so it overlaps neither operand.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr().add(dst_offset),
            1,
            dst_row_stride as isize,
            false,
            lhs.data.as_ptr().add(lhs.offset),
            lhs.column_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr().add(rhs.offset),
            rhs.column_stride as isize,
            rhs.row_stride as isize,
            0.,
            1.,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// A dense layer: `x · Wᵀ + b`, optionally followed by an activation.
pub struct Dense {
    /// `(out, in)`, as stored in the model file, row after row.
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
}

impl Dense {
    pub fn new(linear: &candle_nn::Linear) -> candle_core::Result<Dense> {
        let (out, inputs) = linear.weight().dims2()?;
        let weight = linear.weight().to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let bias = match linear.bias() {
            Some(bias) => bias.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()?,
            None => vec![0.; out],
        };
        Ok(Dense { weight, bias, inputs })
    }

    pub fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// `x` holds `rows` rows of `in` values; the result, `rows` rows of `out` values, is written
    /// into `dst` from `dst_offset` (rows adjacent), with the bias and the activation applied there.
    pub fn forward_into(
        &self,
        x: &[f32],
        rows: usize,
        activation: Option<Activation>,
        dst: &mut [f32],
        dst_offset: usize,
    ) {
        let out = self.outputs();
        let lhs = Strided { data: x, offset: 0, row_stride: self.inputs, column_stride: 1 };
        // Wᵀ without a copy: its element (i, o) is W's (o, i).
        let rhs = Strided { data: &self.weight, offset: 0, row_stride: 1, column_stride: self.inputs };
        product((rows, out, self.inputs), dst, dst_offset, out, lhs, rhs);
        let written = &mut dst[dst_offset..dst_offset + rows * out];
        for row in written.chunks_exact_mut(out) {
            for (value, bias) in row.iter_mut().zip(&self.bias) {
                let sum = *value + bias;
                *value = match activation {
                    // Below, many values at a time.
                    Some(Activation::Gelu) | None => sum,
                    Some(activation) => activation.apply(sum),
                };
            }
        }
        if activation == Some(Activation::Gelu) {
            gelu_erf(written);
        }
    }

    /// `forward_into` a new buffer.
    pub fn forward(&self, x: &[f32], rows: usize, activation: Option<Activation>) -> Vec<f32> {
        let mut dst = vec![0.; rows * self.outputs()];
        self.forward_into(x, rows, activation, &mut dst, 0);
        dst
    }
}

/// A layer norm's weights (`LayerNorm` with a bias, as BERT has).
pub struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl Norm {
    pub fn new(norm: &candle_nn::LayerNorm) -> candle_core::Result<Norm> {
        let weight = norm.weight().to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()?;
        let bias = match norm.bias() {
            Some(bias) => bias.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()?,
            None => vec![0.; weight.len()],
        };
        Ok(Norm { weight, bias, eps: norm.eps() as f32 })
    }

    /// Each row of `values` (rows of the norm's width) replaced by the layer norm of itself plus
    /// the same row of `residual`, in place.
    pub fn add_and_normalize(&self, values: &mut [f32], residual: &[f32]) {
        let width = self.weight.len();
        for (row, residual) in values.chunks_exact_mut(width).zip(residual.chunks_exact(width)) {
            let (mut sum, mut sum2) = (0f32, 0f32);
            for (value, residual) in row.iter_mut().zip(residual) {
                *value += residual;
                sum += *value;
                sum2 += *value * *value;
            }
            let mean = sum / width as f32;
            let var = sum2 / width as f32 - mean * mean;
            let inv_std = (var + self.eps).sqrt().recip();
            for ((value, alpha), beta) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                *value = (*value - mean) * inv_std * alpha + beta;
            }
        }
    }
}

/// Attention weights from raw scores, in place: each score multiplied by `scale` (1/√ of the head
/// size, as candle divides), `mask_bias` added (per batch row and key: 0 for a token, a large
/// negative number for padding), then softmax over the keys. `scores` holds `(batch, heads, queries,
/// keys)` values, `rows_per_batch` = heads × queries; `mask_bias` holds `batch × keys` values.
pub fn masked_softmax(scores: &mut [f32], keys: usize, rows_per_batch: usize, scale: f32, mask_bias: &[f32]) {
    if keys == 0 {
        return;
    }
    for (index, row) in scores.chunks_exact_mut(keys).enumerate() {
        let batch = index / rows_per_batch.max(1);
        let mask = &mask_bias[batch * keys..(batch + 1) * keys];
        let mut max = f32::NEG_INFINITY;
        for (value, bias) in row.iter_mut().zip(mask) {
            *value = *value * scale + bias;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Module, Tensor};

    fn values(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1().unwrap()
    }

    #[test]
    fn dense_equals_candles_linear_then_activation_bit_for_bit() -> candle_core::Result<()> {
        let device = Device::Cpu;
        let weight = Tensor::randn(0f32, 1., (40, 24), &device)?;
        let bias = Tensor::randn(0f32, 1., 40, &device)?;
        let linear = candle_nn::Linear::new(weight, Some(bias));
        let x = Tensor::randn(0f32, 1., (2, 5, 24), &device)?;
        let dense = Dense::new(&linear)?;
        let plain = linear.forward(&x)?;
        for (activation, expected) in [
            (None, plain.clone()),
            (Some(Activation::Gelu), plain.gelu_erf()?),
            (Some(Activation::GeluTanh), plain.gelu()?),
            (Some(Activation::Relu), plain.relu()?),
        ] {
            let got = dense.forward(&values(&x), 10, activation);
            assert_eq!(got, values(&expected), "{activation:?} differs from candle's");
        }
        Ok(())
    }

    #[test]
    fn gelu_erf_equals_libms_erf_gelu_bit_for_bit() {
        // Every 1/4096 from −12 to 12 (activations live there), then a spread of all f32 values
        // (zeros, subnormals, huge values, infinities and NaN included), and lengths that leave a
        // remainder after the lanes.
        let mut inputs: Vec<f32> = (-12 * 4096..=12 * 4096).map(|i| i as f32 / 4096.).collect();
        inputs.extend((0..=u32::MAX / 7919).map(|i| f32::from_bits(i * 7919)));
        inputs.extend([0., -0., f32::INFINITY, f32::NEG_INFINITY, f32::NAN, f32::MIN_POSITIVE, 1e-30, -1e-30]);
        inputs.push(0.5);
        let mut got = inputs.clone();
        gelu_erf(&mut got);
        for (input, got) in inputs.iter().zip(&got) {
            let want = Activation::Gelu.apply(*input);
            assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "gelu({input:e}) = {got:e}, libm's gives {want:e}"
            );
        }
    }

    #[test]
    fn a_strided_product_equals_candles_matmul_of_the_copied_matrices() -> candle_core::Result<()> {
        let device = Device::Cpu;
        // Two heads of 3 values side by side in rows of 6: head 1's (4 × 3) times head 1's transposed.
        let rows = Tensor::randn(0f32, 1., (4, 6), &device)?;
        let head = rows.narrow(1, 3, 3)?.contiguous()?;
        let expected = head.matmul(&head.t()?)?;
        let data = values(&rows);
        let lhs = Strided { data: &data, offset: 3, row_stride: 6, column_stride: 1 };
        let rhs = Strided { data: &data, offset: 3, row_stride: 1, column_stride: 6 };
        // Written into the second of two 4 × 4 blocks.
        let mut dst = vec![0.; 32];
        product((4, 4, 3), &mut dst, 16, 4, lhs, rhs);
        assert_eq!(&dst[16..], values(&expected).as_slice());
        assert!(dst[..16].iter().all(|v| *v == 0.));
        Ok(())
    }

    #[test]
    #[should_panic(expected = "do not fit")]
    fn a_product_past_its_buffer_is_refused() {
        let data = [1f32; 6];
        let m = Strided { data: &data, offset: 0, row_stride: 3, column_stride: 1 };
        let mut dst = [0f32; 4];
        product((3, 2, 3), &mut dst, 0, 2, m, m);
    }

    #[test]
    fn add_and_normalize_equals_candles_sum_then_layer_norm_bit_for_bit() -> candle_core::Result<()> {
        let device = Device::Cpu;
        let norm = candle_nn::LayerNorm::new(
            Tensor::randn(0f32, 1., 16, &device)?,
            Tensor::randn(0f32, 1., 16, &device)?,
            1e-12,
        );
        let x = Tensor::randn(0f32, 3., (5, 16), &device)?;
        let residual = Tensor::randn(0f32, 3., (5, 16), &device)?;
        let expected = norm.forward(&(&x + &residual)?)?;
        let mut got = values(&x);
        Norm::new(&norm)?.add_and_normalize(&mut got, &values(&residual));
        assert_eq!(got, values(&expected));
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
        let mask_bias: Vec<f32> = values(&bias_tensor);
        let mut got = values(&scores);
        masked_softmax(&mut got, len, heads * len, 0.5, &mask_bias);
        let want = values(&expected);
        assert!(got.iter().zip(&want).all(|(x, y)| (x - y).abs() <= 1e-6 * (1. + y.abs())));
        // Every weight of the padding key is 0 in the second row, and every row sums to 1.
        for (index, row) in got.chunks(len).enumerate() {
            assert!((row.iter().sum::<f32>() - 1.).abs() < 1e-5);
            if index >= heads * len {
                assert_eq!(row[len - 1], 0.);
            }
        }
        Ok(())
    }
}
