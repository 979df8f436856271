//! The building blocks diffusers' UNet and VAE share, with diffusers' field names so that
//! checkpoints load by path: `ResnetBlock2D`, `Attention`, `Downsample2D`, `Upsample2D`, the
//! transformer block and `Transformer2DModel`. Only inference: no dropout.

use burn::module::{Initializer, Module};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    GroupNorm, GroupNormConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::tensor::activation::{gelu, silu};
use burn::tensor::module::{attention, interpolate};
use burn::tensor::ops::{AttentionModuleOptions, InterpolateMode, InterpolateOptions};
use burn::tensor::{DType, Device, Tensor, TensorData};

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
        let mut h = self.conv1.forward(silu(self.norm1.forward(x.clone())));
        if let (Some(proj), Some(temb)) = (&self.time_emb_proj, temb) {
            let t: Tensor<2> = proj.forward(silu(temb.clone()));
            h = h + t.unsqueeze_dims::<4>(&[2, 3]);
        }
        let h = self.conv2.forward(silu(self.norm2.forward(h)));
        let shortcut = match &self.conv_shortcut {
            Some(conv) => conv.forward(x),
            None => x,
        };
        shortcut + h
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
        let context = context.cloned().unwrap_or_else(|| x.clone());
        let q = self.split_heads(self.to_q.forward(x));
        let k = self.split_heads(self.to_k.forward(context.clone()));
        let v = self.split_heads(self.to_v.forward(context));
        let out = scaled_dot_product(q, k, v, false);
        let [b, h, n, d] = out.dims();
        let merged = out.swap_dims(1, 2).reshape([b, n, h * d]);
        self.to_out[0].forward(merged)
    }

    /// Spatial self-attention of `x` [B, C, H, W] with the residual added (the VAE's mid block).
    #[must_use]
    pub fn forward_spatial(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let normed = match &self.group_norm {
            Some(norm) => norm.forward(x.clone()),
            None => x.clone(),
        };
        let tokens = normed.reshape([b, c, h * w]).swap_dims(1, 2);
        let out = self.forward(tokens, None).swap_dims(1, 2).reshape([b, c, h, w]);
        out + x
    }

    fn split_heads(&self, x: Tensor<3>) -> Tensor<4> {
        let [b, n, inner] = x.dims();
        x.reshape([b, n, self.heads, inner / self.heads]).swap_dims(1, 2)
    }
}

/// The two halves of `x` along `dim` (an even size), first and second.
#[must_use]
pub fn halves<const D: usize>(x: Tensor<D>, dim: usize) -> (Tensor<D>, Tensor<D>) {
    let half = x.dims()[dim] / 2;
    (x.clone().narrow(dim, 0, half), x.narrow(dim, half, half))
}

/// `softmax(q kᵀ / √d) v` over [B, H, N, D] tensors, optionally causal. On the CPU backend in f32,
/// for long sequences, our own kernel ([`crate::cpu::attention`]); elsewhere burn's, which GPUs
/// run fused.
#[must_use]
pub fn scaled_dot_product(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, causal: bool) -> Tensor<4> {
    let device = q.device();
    let ([b, h, n, d], m) = (q.dims(), k.dims()[2]);
    // burn's CPU attention is good while a score matrix fits its naive path (≤ 256K entries);
    // past that it takes a flash path that is slow for SD's head widths, and ours is faster.
    if device == Device::flex() && q.dtype() == DType::F32 && n * m > 256 * 1024 {
        let read = |t: Tensor<4>| t.try_into_vec_as::<f32>();
        if let (Ok(qv), Ok(kv), Ok(vv)) = (read(q.clone()), read(k.clone()), read(v.clone())) {
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
            let scale = (1.0 / (d as f64).sqrt()) as f32;
            let out = cpu::attention::attention(
                &qv,
                &kv,
                &vv,
                cpu::attention::Shape { bh: b * h, n, m, d },
                scale,
                causal,
            );
            return Tensor::from_data(TensorData::new(out, [b, h, n, d]), &device);
        }
    }
    let options = AttentionModuleOptions { is_causal: causal, ..AttentionModuleOptions::default() };
    attention(q, k, v, None, None, options)
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
        self.conv.forward(x)
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
        self.conv.forward(interpolate(x, options))
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
        let (hidden, gate) = halves(self.proj.forward(x), 2);
        self.out.forward(hidden * gelu(gate))
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
        let x = self.attn1.forward(self.norm1.forward(x.clone()), None) + x;
        let x = self.attn2.forward(self.norm2.forward(x.clone()), Some(context)) + x;
        self.ff.forward(self.norm3.forward(x.clone())) + x
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
        let normed = self.norm.forward(x.clone());
        let to_tokens = |t: Tensor<4>| t.permute([0, 2, 3, 1]).reshape([b, h * w, c]);
        let mut tokens = match &self.proj_in {
            Projection::Conv(conv) => to_tokens(conv.forward(normed)),
            Projection::Linear(linear) => linear.forward(to_tokens(normed)),
        };
        for block in &self.transformer_blocks {
            tokens = block.forward(tokens, context);
        }
        let to_image = |t: Tensor<3>| t.reshape([b, h, w, c]).permute([0, 3, 1, 2]);
        let out = match &self.proj_out {
            Projection::Conv(conv) => conv.forward(to_image(tokens)),
            Projection::Linear(linear) => to_image(linear.forward(tokens)),
        };
        out + x
    }
}
