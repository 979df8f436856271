//! The building blocks diffusers' UNet and VAE share, with diffusers' field names so that
//! checkpoints load by path: `ResnetBlock2D`, `Attention`, `Downsample2D`, `Upsample2D`, the
//! transformer block and `Transformer2DModel`. Only inference: no dropout.

use burn::module::{Initializer, Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    GroupNorm, GroupNormConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::tensor::activation::{gelu, silu};
use burn::tensor::module::{attention, interpolate};
use burn::tensor::ops::{AttentionModuleOptions, InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Tensor};

use crate::cpu;

/// A convolution with `kernel` × `kernel` weights, stride 1 and "same" padding, as diffusers'
/// `nn.Conv2d(in, out, kernel, padding=kernel // 2)`. Parameters start at zero: they are loaded.
#[must_use]
pub fn conv(channels_in: usize, channels_out: usize, kernel: usize, device: &Device) -> Conv2d {
    let pad = kernel / 2;
    Conv2dConfig::new([channels_in, channels_out], [kernel, kernel])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_initializer(Initializer::Zeros)
        .init(device)
}

/// A linear layer whose parameters are loaded, not trained.
#[must_use]
pub fn linear(d_in: usize, d_out: usize, bias: bool, device: &Device) -> Linear {
    LinearConfig::new(d_in, d_out).with_bias(bias).with_initializer(Initializer::Zeros).init(device)
}

/// Group normalisation over `channels` in `groups`.
#[must_use]
pub fn group_norm(groups: usize, channels: usize, eps: f64, device: &Device) -> GroupNorm {
    GroupNormConfig::new(groups, channels).with_epsilon(eps).init(device)
}

/// `norm(x)`, followed by SiLU when `then_silu`: one fused kernel on the CPU backend in f32
/// ([`crate::cpu::norm`]), burn's operations elsewhere.
#[must_use]
pub fn group_norm_forward<const D: usize>(norm: &GroupNorm, x: Tensor<D>, then_silu: bool) -> Tensor<D> {
    // Both affine parameters present and on the CPU backend.
    let affine = |p: &Option<Param<Tensor<1>>>| cpu_param(p).flatten();
    if cpu::flex::is_cpu_f32(&x)
        && let (Some(gamma), Some(beta)) = (affine(&norm.gamma), affine(&norm.beta))
    {
        let dims = x.dims();
        let shape = cpu::norm::Shape {
            channels: dims[1],
            spatial: dims[2..].iter().product(),
            groups: norm.num_groups,
        };
        // Normalised in x's own buffer when the caller handed over the only reference.
        let mut values = cpu::flex::into_values(x);
        cpu::norm::group_norm(&mut values, shape, gamma.values(), beta.values(), norm.epsilon, then_silu);
        return cpu::flex::tensor(values, dims);
    }
    let normed = norm.forward(x);
    if then_silu { silu(normed) } else { normed }
}

/// `conv(x)`, plus `residual` when given: on the CPU backend in f32 one matrix product over the
/// weights in place with the bias and residual folded into its accumulator
/// ([`crate::cpu::conv`]); burn's convolution elsewhere.
#[must_use]
pub fn conv_forward(conv: &Conv2d, x: Tensor<4>, mut residual: Option<Tensor<4>>) -> Tensor<4> {
    if let Some(out) = cpu_conv(conv, &x, &mut residual) {
        return out;
    }
    plus_residual(conv.forward(x), residual)
}

/// The CPU path, or `None` (with `residual` left in place) where it does not apply; takes the
/// residual only once it will be used, so its buffer can become the output's.
fn cpu_conv(conv: &Conv2d, x: &Tensor<4>, residual: &mut Option<Tensor<4>>) -> Option<Tensor<4>> {
    if conv.groups != 1 || conv.dilation != [1, 1] {
        return None;
    }
    let padding = match conv.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right) => [top, left, bottom, right],
        PaddingConfig2d::Valid => [0; 4],
        PaddingConfig2d::Same => return None,
    };
    let input = cpu::flex::FlexF32::of(x)?;
    let weight = conv.weight.val();
    let [channels_out, _, kh, kw] = weight.dims();
    let weight = cpu::flex::FlexF32::of(&weight)?;
    let bias = cpu_param(&conv.bias)?;
    let geometry =
        cpu::conv::Geometry { input: x.dims(), channels_out, kernel: [kh, kw], stride: conv.stride, padding };
    let [ho, wo] = geometry.output();
    let out_shape = [x.dims()[0], channels_out, ho, wo];
    let residual = take_residual(residual, out_shape)?;
    let out = cpu::conv::conv2d(
        input.values(),
        weight.values(),
        bias.as_ref().map(|b| b.values()),
        residual,
        geometry,
    );
    Some(cpu::flex::tensor(out, out_shape))
}

/// `linear(x)`, plus `residual` when given: on the CPU backend in f32 one matrix product with the
/// bias and residual folded into its accumulator ([`crate::cpu::linear`]); burn's elsewhere.
#[must_use]
pub fn linear_forward<const D: usize>(
    linear: &Linear,
    x: Tensor<D>,
    residual: Option<Tensor<D>>,
) -> Tensor<D> {
    let mut residual = residual;
    if let Some(out) = cpu_linear(linear, &x, &mut residual) {
        return out;
    }
    plus_residual(linear.forward(x), residual)
}

/// As [`cpu_conv`], for a linear layer.
fn cpu_linear<const D: usize>(
    linear: &Linear,
    x: &Tensor<D>,
    residual: &mut Option<Tensor<D>>,
) -> Option<Tensor<D>> {
    let input = cpu::flex::FlexF32::of(x)?;
    let weight = linear.weight.val();
    let [d_in, d_out] = weight.dims();
    let weight = cpu::flex::FlexF32::of(&weight)?;
    let bias = cpu_param(&linear.bias)?;
    let mut shape = x.dims();
    shape[D - 1] = d_out;
    let residual = take_residual(residual, shape)?;
    let out = cpu::linear::linear(
        input.values(),
        weight.values(),
        bias.as_ref().map(|b| b.values()),
        residual,
        d_in,
    );
    Some(cpu::flex::tensor(out, shape))
}

/// An optional parameter (a bias, a norm scale) on the CPU backend: `Some(None)` when absent, `None` when the CPU
/// kernels do not apply to it.
fn cpu_param(param: &Option<Param<Tensor<1>>>) -> Option<Option<cpu::flex::FlexF32>> {
    match param {
        Some(param) => cpu::flex::FlexF32::of(&param.val()).map(Some),
        None => Some(None),
    }
}

/// The residual's buffer for a CPU kernel whose output is `shape` (`Some(None)` without one),
/// taken only when it fits; `None`, with the residual left in place, when it does not.
fn take_residual<const D: usize>(
    residual: &mut Option<Tensor<D>>,
    shape: [usize; D],
) -> Option<Option<Vec<f32>>> {
    if residual.as_ref().is_some_and(|r| r.dims() != shape || !cpu::flex::is_cpu_f32(r)) {
        return None;
    }
    Some(residual.take().map(cpu::flex::into_values))
}

/// burn's path: `out`, plus `residual` when given.
fn plus_residual<const D: usize>(out: Tensor<D>, residual: Option<Tensor<D>>) -> Tensor<D> {
    match residual {
        Some(residual) => out + residual,
        None => out,
    }
}

/// Layer normalisation over the last dimension.
#[must_use]
pub fn layer_norm(dim: usize, eps: f64, device: &Device) -> LayerNorm {
    LayerNormConfig::new(dim).with_epsilon(eps).init(device)
}

/// Diffusers' `ResnetBlock2D` (default time-embedding norm, SiLU, output scale 1).
#[derive(Module, Debug)]
pub struct ResnetBlock2D {
    norm1: GroupNorm,
    conv1: Conv2d,
    /// Absent in the VAE, which has no time embedding.
    time_emb_proj: Option<Linear>,
    norm2: GroupNorm,
    conv2: Conv2d,
    /// A 1×1 convolution where the channel count changes.
    conv_shortcut: Option<Conv2d>,
}

/// The shape of a [`ResnetBlock2D`].
#[derive(Debug, Clone, Copy)]
pub struct ResnetShape {
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// Time-embedding width, if any.
    pub temb: Option<usize>,
    /// Groups of both norms.
    pub groups: usize,
    /// Epsilon of both norms.
    pub eps: f64,
}

impl ResnetBlock2D {
    /// A block of `shape`.
    #[must_use]
    pub fn new(shape: ResnetShape, device: &Device) -> Self {
        let ResnetShape { channels_in, channels_out, temb, groups, eps } = shape;
        Self {
            norm1: group_norm(groups, channels_in, eps, device),
            conv1: conv(channels_in, channels_out, 3, device),
            time_emb_proj: temb.map(|t| linear(t, channels_out, true, device)),
            norm2: group_norm(groups, channels_out, eps, device),
            conv2: conv(channels_out, channels_out, 3, device),
            conv_shortcut: (channels_in != channels_out).then(|| conv(channels_in, channels_out, 1, device)),
        }
    }

    /// `x` [B, C, H, W] with the time embedding `temb` [B, T] where the block has one.
    #[must_use]
    pub fn forward(&self, x: Tensor<4>, temb: Option<&Tensor<2>>) -> Tensor<4> {
        let mut h = conv_forward(&self.conv1, group_norm_forward(&self.norm1, x.clone(), true), None);
        if let (Some(proj), Some(temb)) = (&self.time_emb_proj, temb) {
            let t: Tensor<2> = proj.forward(silu(temb.clone()));
            h = h + t.unsqueeze_dims::<4>(&[2, 3]);
        }
        let shortcut = match &self.conv_shortcut {
            Some(conv) => conv_forward(conv, x, None),
            None => x,
        };
        // The residual is folded into the second convolution's accumulator.
        conv_forward(&self.conv2, group_norm_forward(&self.norm2, h, true), Some(shortcut))
    }
}

/// Diffusers' `Attention`: multi-head scaled dot-product attention with `to_q`, `to_k`, `to_v`
/// and `to_out.0`, optionally preceded by a group norm over a 4-D input (the VAE's form).
#[derive(Module, Debug)]
pub struct Attention {
    group_norm: Option<GroupNorm>,
    to_q: Linear,
    to_k: Linear,
    to_v: Linear,
    to_out: Vec<Linear>,
    heads: usize,
}

impl Attention {
    /// Attention from `query_dim` features over `context_dim` features (self-attention when
    /// equal), in `heads` heads of `head_dim`; `qkv_bias` as the checkpoint has them.
    #[must_use]
    pub fn new(
        query_dim: usize,
        context_dim: usize,
        heads: usize,
        head_dim: usize,
        qkv_bias: bool,
        device: &Device,
    ) -> Self {
        let inner = heads * head_dim;
        Self {
            group_norm: None,
            to_q: linear(query_dim, inner, qkv_bias, device),
            to_k: linear(context_dim, inner, qkv_bias, device),
            to_v: linear(context_dim, inner, qkv_bias, device),
            to_out: vec![linear(inner, query_dim, true, device)],
            heads,
        }
    }

    /// The VAE's single-head spatial self-attention over `channels`, with its own group norm.
    #[must_use]
    pub fn spatial(channels: usize, groups: usize, eps: f64, device: &Device) -> Self {
        Self {
            group_norm: Some(group_norm(groups, channels, eps, device)),
            ..Self::new(channels, channels, 1, channels, true, device)
        }
    }

    /// Attention of `x` [B, N, C] over `context` [B, M, C'] (itself when `None`).
    #[must_use]
    pub fn forward(&self, x: Tensor<3>, context: Option<&Tensor<3>>) -> Tensor<3> {
        self.forward_with_residual(x, context.cloned(), None)
    }

    /// [`Self::forward`] with `residual` added by the output projection (the transformer
    /// blocks' skip connections, folded into its accumulator on the CPU).
    #[must_use]
    pub fn forward_with_residual(
        &self,
        x: Tensor<3>,
        context: Option<Tensor<3>>,
        residual: Option<Tensor<3>>,
    ) -> Tensor<3> {
        let context = context.unwrap_or_else(|| x.clone());
        let q = linear_forward(&self.to_q, x, None);
        let k = linear_forward(&self.to_k, context.clone(), None);
        let v = linear_forward(&self.to_v, context, None);
        linear_forward(&self.to_out[0], multi_head_attention(q, k, v, self.heads, false), residual)
    }

    /// Spatial self-attention of `x` [B, C, H, W] with the residual added (the VAE's mid block).
    #[must_use]
    pub fn forward_spatial(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let normed = match &self.group_norm {
            Some(norm) => group_norm_forward(norm, x.clone(), false),
            None => x.clone(),
        };
        let tokens = normed.reshape([b, c, h * w]).swap_dims(1, 2);
        let out = self.forward(tokens, None).swap_dims(1, 2).reshape([b, c, h, w]);
        out + x
    }
}

/// The two halves of `x` along `dim` (an even size), first and second.
#[must_use]
pub fn halves<const D: usize>(x: Tensor<D>, dim: usize) -> (Tensor<D>, Tensor<D>) {
    let half = x.dims()[dim] / 2;
    (x.clone().narrow(dim, 0, half), x.narrow(dim, half, half))
}

/// Multi-head `softmax(q kᵀ / √d) v` with the heads side by side, as linear layers make them:
/// `q` [B, N, heads · d], `k` and `v` [B, M, heads · d] → [B, N, heads · d]; optionally causal.
/// On the CPU backend in f32 our own kernel ([`crate::cpu::attention`]), which reads the heads in
/// place; elsewhere the heads are split out for burn's attention, which GPUs run fused.
#[must_use]
pub fn multi_head_attention(
    q: Tensor<3>,
    k: Tensor<3>,
    v: Tensor<3>,
    heads: usize,
    causal: bool,
) -> Tensor<3> {
    let ([b, n, width], m) = (q.dims(), k.dims()[1]);
    let d = width / heads;
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    let scale = (1.0 / (d as f64).sqrt()) as f32;
    if let (Some(qv), Some(kv), Some(vv)) =
        (cpu::flex::FlexF32::of(&q), cpu::flex::FlexF32::of(&k), cpu::flex::FlexF32::of(&v))
    {
        let shape = cpu::attention::Shape { batch: b, heads, n, m, d };
        let out = cpu::attention::attention(qv.values(), kv.values(), vv.values(), shape, scale, causal);
        return cpu::flex::tensor(out, [b, n, width]);
    }
    let split = |t: Tensor<3>| {
        let [b, len, _] = t.dims();
        t.reshape([b, len, heads, d]).swap_dims(1, 2)
    };
    let options = AttentionModuleOptions { is_causal: causal, ..AttentionModuleOptions::default() };
    let out = attention(split(q), split(k), split(v), None, None, options);
    out.swap_dims(1, 2).reshape([b, n, width])
}

/// Diffusers' `Downsample2D` with a convolution: stride 2, padded by 1 on every side (UNet) or
/// by one row and column at the bottom and right (the VAE encoder, `padding = 0`).
#[derive(Module, Debug)]
pub struct Downsample2D {
    conv: Conv2d,
}

impl Downsample2D {
    /// A downsampler; `symmetric` for the UNet's padding, else the VAE encoder's.
    #[must_use]
    pub fn new(channels: usize, symmetric: bool, device: &Device) -> Self {
        let padding = if symmetric {
            PaddingConfig2d::Explicit(1, 1, 1, 1)
        } else {
            PaddingConfig2d::Explicit(0, 0, 1, 1)
        };
        let conv = Conv2dConfig::new([channels, channels], [3, 3])
            .with_stride([2, 2])
            .with_padding(padding)
            .with_initializer(Initializer::Zeros)
            .init(device);
        Self { conv }
    }

    /// Halves the spatial size (rounding up).
    #[must_use]
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        conv_forward(&self.conv, x, None)
    }
}

/// Diffusers' `Upsample2D`: nearest-neighbour resize, then a 3×3 convolution.
#[derive(Module, Debug)]
pub struct Upsample2D {
    conv: Conv2d,
}

impl Upsample2D {
    /// An upsampler over `channels`.
    #[must_use]
    pub fn new(channels: usize, device: &Device) -> Self {
        Self { conv: conv(channels, channels, 3, device) }
    }

    /// Resizes `x` to `size` (twice its size, or the size of the skip connection it meets when
    /// the input was not a multiple of the downsampling factor).
    #[must_use]
    pub fn forward(&self, x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
        let options = InterpolateOptions::new(InterpolateMode::Nearest).with_output_size(size);
        conv_forward(&self.conv, interpolate(x, options), None)
    }
}

/// The GEGLU feed-forward of diffusers' transformer blocks (`ff.net.0.proj`, `ff.net.2` in
/// checkpoints; renamed to `ff.proj` and `ff.out` at load, since burn lists hold one type).
#[derive(Module, Debug)]
pub struct FeedForward {
    proj: Linear,
    out: Linear,
}

impl FeedForward {
    /// `dim` → 4 × `dim` (gated) → `dim`.
    #[must_use]
    pub fn new(dim: usize, device: &Device) -> Self {
        let inner = dim * 4;
        Self { proj: linear(dim, inner * 2, true, device), out: linear(inner, dim, true, device) }
    }

    /// Applies the feed-forward to `x` [B, N, dim].
    #[must_use]
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.forward_with_residual(x, None)
    }

    /// [`Self::forward`] with `residual` added by the output layer.
    #[must_use]
    pub fn forward_with_residual(&self, x: Tensor<3>, residual: Option<Tensor<3>>) -> Tensor<3> {
        let projected = linear_forward(&self.proj, x, None);
        let [b, n, width] = projected.dims();
        let gated = match cpu::flex::FlexF32::of(&projected) {
            // One fused pass with a vectorised erf on the CPU backend.
            Some(values) => {
                cpu::flex::tensor(cpu::activation::geglu(values.values(), width), [b, n, width / 2])
            }
            None => {
                let (hidden, gate) = halves(projected, 2);
                hidden * gelu(gate)
            }
        };
        linear_forward(&self.out, gated, residual)
    }
}

/// Diffusers' `BasicTransformerBlock` (layer norms): self-attention, cross-attention over the
/// text embeddings, feed-forward, each with a residual.
#[derive(Module, Debug)]
pub struct BasicTransformerBlock {
    norm1: LayerNorm,
    attn1: Attention,
    norm2: LayerNorm,
    attn2: Attention,
    norm3: LayerNorm,
    ff: FeedForward,
}

impl BasicTransformerBlock {
    /// A block of width `dim` in `heads` heads, attending to `context_dim`-wide embeddings.
    #[must_use]
    pub fn new(dim: usize, heads: usize, context_dim: usize, device: &Device) -> Self {
        let head_dim = dim / heads;
        Self {
            norm1: layer_norm(dim, 1e-5, device),
            attn1: Attention::new(dim, dim, heads, head_dim, false, device),
            norm2: layer_norm(dim, 1e-5, device),
            attn2: Attention::new(dim, context_dim, heads, head_dim, false, device),
            norm3: layer_norm(dim, 1e-5, device),
            ff: FeedForward::new(dim, device),
        }
    }

    /// Applies the block to `x` [B, N, dim] with the text embeddings `context`.
    #[must_use]
    pub fn forward(&self, x: Tensor<3>, context: &Tensor<3>) -> Tensor<3> {
        let x = self.attn1.forward_with_residual(self.norm1.forward(x.clone()), None, Some(x));
        let x =
            self.attn2.forward_with_residual(self.norm2.forward(x.clone()), Some(context.clone()), Some(x));
        self.ff.forward_with_residual(self.norm3.forward(x.clone()), Some(x))
    }
}

/// `proj_in` / `proj_out` of a [`Transformer2DModel`]: 1×1 convolutions (SD 1.x) or linear
/// layers (SD 2.x, `use_linear_projection`). Checkpoints name neither variant; the loader skips
/// enum variant names.
#[derive(Module, Debug)]
pub enum Projection {
    /// A 1×1 convolution over [B, C, H, W].
    Conv(Conv2d),
    /// A linear layer over [B, H·W, C].
    Linear(Linear),
}

/// Diffusers' `Transformer2DModel` over continuous inputs: group norm, projection in, transformer
/// blocks, projection out, residual.
#[derive(Module, Debug)]
pub struct Transformer2DModel {
    norm: GroupNorm,
    proj_in: Projection,
    transformer_blocks: Vec<BasicTransformerBlock>,
    proj_out: Projection,
}

/// The shape of a [`Transformer2DModel`].
#[derive(Debug, Clone, Copy)]
pub struct TransformerShape {
    /// Channels in and out (also the inner width).
    pub channels: usize,
    /// Attention heads.
    pub heads: usize,
    /// Width of the text embeddings.
    pub context_dim: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Groups of the input norm.
    pub groups: usize,
    /// Linear rather than 1×1 convolution projections.
    pub linear_projection: bool,
}

impl Transformer2DModel {
    /// A model of `shape`.
    #[must_use]
    pub fn new(shape: TransformerShape, device: &Device) -> Self {
        let c = shape.channels;
        let projection = || {
            if shape.linear_projection {
                Projection::Linear(linear(c, c, true, device))
            } else {
                Projection::Conv(conv(c, c, 1, device))
            }
        };
        Self {
            norm: group_norm(shape.groups, c, 1e-6, device),
            proj_in: projection(),
            transformer_blocks: (0..shape.layers)
                .map(|_| BasicTransformerBlock::new(c, shape.heads, shape.context_dim, device))
                .collect(),
            proj_out: projection(),
        }
    }

    /// Applies the model to `x` [B, C, H, W] with the text embeddings `context` [B, 77, C'].
    #[must_use]
    pub fn forward(&self, x: Tensor<4>, context: &Tensor<3>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let normed = group_norm_forward(&self.norm, x.clone(), false);
        let to_tokens = |t: Tensor<4>| t.permute([0, 2, 3, 1]).reshape([b, h * w, c]);
        let mut tokens = match &self.proj_in {
            Projection::Conv(conv) => to_tokens(conv_forward(conv, normed, None)),
            Projection::Linear(linear) => linear_forward(linear, to_tokens(normed), None),
        };
        for block in &self.transformer_blocks {
            tokens = block.forward(tokens, context);
        }
        let to_image = |t: Tensor<3>| t.reshape([b, h, w, c]).permute([0, 3, 1, 2]);
        match &self.proj_out {
            Projection::Conv(conv) => conv_forward(conv, to_image(tokens), Some(x)),
            Projection::Linear(linear) => to_image(linear_forward(linear, tokens, None)) + x,
        }
    }
}
