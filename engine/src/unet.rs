//! Diffusers' `UNet2DConditionModel` as Stable Diffusion 1.x and 2.x use it: sinusoidal time
//! embedding, down blocks (with or without cross-attention), a cross-attention mid block and up
//! blocks with skip connections, shaped entirely by the model's `unet/config.json`.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{GroupNorm, Linear};
use burn::tensor::activation::silu;
use burn::tensor::{Device, FloatDType, Tensor, TensorData};
use serde::Deserialize;

use crate::nn::{
    Downsample2D, ResnetBlock2D, ResnetShape, Transformer2DModel, TransformerShape, Upsample2D, conv,
    conv_forward, group_norm, group_norm_forward, linear,
};

/// One number for every block, or a list with one per block (diffusers accepts both).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum PerBlock {
    /// The same for every block.
    One(usize),
    /// One per down block, in order.
    Each(Vec<usize>),
}

impl PerBlock {
    fn get(&self, block: usize) -> usize {
        match self {
            Self::One(n) => *n,
            Self::Each(list) => list[block.min(list.len().saturating_sub(1))],
        }
    }

    fn len_ok(&self, blocks: usize) -> bool {
        match self {
            Self::One(_) => true,
            Self::Each(list) => list.len() == blocks,
        }
    }
}

/// The fields of `unet/config.json` that shape the model. Settings of other architectures
/// (SDXL's added embeddings, class embeddings, dual attention) are refused by [`Self::check`].
#[derive(Debug, Clone, Deserialize)]
pub struct UNetConfig {
    /// The latent size the model was trained at (the default image size is this times the
    /// VAE's scale factor, as in diffusers).
    #[serde(default = "default_sample_size")]
    pub sample_size: usize,
    /// Latent channels in.
    pub in_channels: usize,
    /// Latent channels out.
    pub out_channels: usize,
    /// Channels of each resolution level.
    pub block_out_channels: Vec<usize>,
    /// Down block kinds: `CrossAttnDownBlock2D` or `DownBlock2D`.
    pub down_block_types: Vec<String>,
    /// Up block kinds: `CrossAttnUpBlock2D` or `UpBlock2D`.
    pub up_block_types: Vec<String>,
    /// Resnets per down block (up blocks have one more).
    pub layers_per_block: usize,
    /// Width of the text embeddings.
    pub cross_attention_dim: usize,
    /// In diffusers' naming for SD 1.x/2.x, the number of heads (per block or for all).
    pub attention_head_dim: PerBlock,
    /// Heads, where a config states them under this name instead.
    #[serde(default)]
    pub num_attention_heads: Option<PerBlock>,
    /// Transformer blocks in each cross-attention block.
    #[serde(default = "one_layer")]
    pub transformer_layers_per_block: PerBlock,
    /// Groups of every group norm.
    #[serde(default = "default_groups")]
    pub norm_num_groups: usize,
    /// Epsilon of the resnets' and output group norms.
    #[serde(default = "default_eps")]
    pub norm_eps: f64,
    /// Linear rather than 1×1 convolution projections in the transformers.
    #[serde(default)]
    pub use_linear_projection: bool,
    /// Order of the sinusoidal embedding (diffusers: cos first).
    #[serde(default = "yes")]
    pub flip_sin_to_cos: bool,
    /// Frequency shift of the sinusoidal embedding.
    #[serde(default)]
    pub freq_shift: f64,
    #[serde(default)]
    class_embed_type: Option<String>,
    #[serde(default)]
    addition_embed_type: Option<String>,
    #[serde(default)]
    dual_cross_attention: bool,
    #[serde(default)]
    only_cross_attention: serde_json::Value,
    #[serde(default)]
    time_cond_proj_dim: Option<usize>,
    #[serde(default = "default_mid_block")]
    mid_block_type: Option<String>,
}

const fn default_sample_size() -> usize {
    64
}
const fn one_layer() -> PerBlock {
    PerBlock::One(1)
}
const fn default_groups() -> usize {
    32
}
const fn default_eps() -> f64 {
    1e-5
}
const fn yes() -> bool {
    true
}
#[allow(clippy::unnecessary_wraps)]
fn default_mid_block() -> Option<String> {
    Some("UNetMidBlock2DCrossAttn".into())
}

impl UNetConfig {
    /// Refuses what this UNet does not implement, naming it.
    ///
    /// # Errors
    /// The unsupported setting, described.
    pub fn check(&self) -> Result<(), String> {
        let blocks = self.block_out_channels.len();
        if blocks == 0 || self.down_block_types.len() != blocks || self.up_block_types.len() != blocks {
            return Err(
                "block_out_channels, down_block_types and up_block_types must have the same, non-zero length"
                    .into(),
            );
        }
        for (name, set) in [
            ("class_embed_type", self.class_embed_type.is_some()),
            ("addition_embed_type (SDXL)", self.addition_embed_type.is_some()),
            ("dual_cross_attention", self.dual_cross_attention),
            (
                "only_cross_attention",
                self.only_cross_attention.as_bool().unwrap_or(!self.only_cross_attention.is_null()),
            ),
            ("time_cond_proj_dim (LCM)", self.time_cond_proj_dim.is_some()),
            (
                "a mid block other than UNetMidBlock2DCrossAttn",
                self.mid_block_type.as_deref() != Some("UNetMidBlock2DCrossAttn"),
            ),
        ] {
            if set {
                return Err(format!("unsupported UNet setting: {name}"));
            }
        }
        for kind in self.down_block_types.iter().chain(&self.up_block_types) {
            if !matches!(
                kind.as_str(),
                "CrossAttnDownBlock2D" | "DownBlock2D" | "CrossAttnUpBlock2D" | "UpBlock2D"
            ) {
                return Err(format!("unsupported UNet block {kind:?}"));
            }
        }
        if !self.heads_config().len_ok(blocks) || !self.transformer_layers_per_block.len_ok(blocks) {
            return Err("per-block head or layer lists must have one entry per block".into());
        }
        for (i, &channels) in self.block_out_channels.iter().enumerate() {
            let heads = self.heads_config().get(i);
            if heads == 0 || channels % heads != 0 || channels % self.norm_num_groups != 0 {
                return Err(format!(
                    "block {i}: {channels} channels do not divide into {heads} heads and {} groups",
                    self.norm_num_groups
                ));
            }
        }
        Ok(())
    }

    fn heads_config(&self) -> &PerBlock {
        self.num_attention_heads.as_ref().unwrap_or(&self.attention_head_dim)
    }

    fn resnet(&self, channels_in: usize, channels_out: usize) -> ResnetShape {
        ResnetShape {
            channels_in,
            channels_out,
            temb: Some(self.block_out_channels[0] * 4),
            groups: self.norm_num_groups,
            eps: self.norm_eps,
        }
    }

    fn transformer(&self, block: usize, channels: usize) -> TransformerShape {
        TransformerShape {
            channels,
            heads: self.heads_config().get(block),
            context_dim: self.cross_attention_dim,
            layers: self.transformer_layers_per_block.get(block),
            groups: self.norm_num_groups,
            linear_projection: self.use_linear_projection,
        }
    }
}

/// `time_embedding`: two linear layers around a SiLU.
#[derive(Module, Debug)]
pub struct TimestepEmbedding {
    linear_1: Linear,
    linear_2: Linear,
}

/// A down block: resnets, each followed by a transformer in cross-attention blocks, then a
/// downsampler except at the lowest resolution.
#[derive(Module, Debug)]
pub struct DownBlock {
    resnets: Vec<ResnetBlock2D>,
    attentions: Vec<Transformer2DModel>,
    downsamplers: Vec<Downsample2D>,
}

/// The mid block: resnet, transformer, resnet.
#[derive(Module, Debug)]
pub struct MidBlock {
    resnets: Vec<ResnetBlock2D>,
    attentions: Vec<Transformer2DModel>,
}

/// An up block: resnets over the input concatenated with a skip connection, each followed by a
/// transformer in cross-attention blocks, then an upsampler except at the top.
#[derive(Module, Debug)]
pub struct UpBlock {
    resnets: Vec<ResnetBlock2D>,
    attentions: Vec<Transformer2DModel>,
    upsamplers: Vec<Upsample2D>,
}

/// The denoising UNet.
#[derive(Module, Debug)]
pub struct UNet2DConditionModel {
    conv_in: Conv2d,
    time_embedding: TimestepEmbedding,
    down_blocks: Vec<DownBlock>,
    mid_block: MidBlock,
    up_blocks: Vec<UpBlock>,
    conv_norm_out: GroupNorm,
    conv_out: Conv2d,
    time_channels: usize,
    flip_sin_to_cos: bool,
    #[module(skip)]
    freq_shift: f64,
}

impl UNet2DConditionModel {
    /// A model shaped by `config` (checked first), with zero weights to be loaded.
    ///
    /// # Errors
    /// An unsupported configuration, described.
    pub fn new(config: &UNetConfig, device: &Device) -> Result<Self, String> {
        config.check()?;
        let channels = &config.block_out_channels;
        let (blocks, c0) = (channels.len(), channels[0]);
        let layers = config.layers_per_block;
        let down_blocks = (0..blocks)
            .map(|i| {
                let (channels_in, channels_out) = (if i == 0 { c0 } else { channels[i - 1] }, channels[i]);
                let cross = config.down_block_types[i].starts_with("CrossAttn");
                DownBlock {
                    resnets: (0..layers)
                        .map(|j| {
                            ResnetBlock2D::new(
                                config.resnet(if j == 0 { channels_in } else { channels_out }, channels_out),
                                device,
                            )
                        })
                        .collect(),
                    attentions: if cross {
                        (0..layers)
                            .map(|_| Transformer2DModel::new(config.transformer(i, channels_out), device))
                            .collect()
                    } else {
                        Vec::new()
                    },
                    downsamplers: if i + 1 < blocks {
                        vec![Downsample2D::new(channels_out, true, device)]
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect();
        let last = channels[blocks - 1];
        let mid_block = MidBlock {
            resnets: vec![
                ResnetBlock2D::new(config.resnet(last, last), device),
                ResnetBlock2D::new(config.resnet(last, last), device),
            ],
            attentions: vec![Transformer2DModel::new(config.transformer(blocks - 1, last), device)],
        };
        let up_blocks = (0..blocks)
            .map(|i| {
                // Up block i works at the resolution of down block (blocks - 1 - i).
                let level = blocks - 1 - i;
                let channels_out = channels[level];
                let previous_out = channels[(level + 1).min(blocks - 1)];
                let skip_in = channels[level.saturating_sub(1)];
                let cross = config.up_block_types[i].starts_with("CrossAttn");
                UpBlock {
                    resnets: (0..=layers)
                        .map(|j| {
                            let skip = if j == layers { skip_in } else { channels_out };
                            let input = if j == 0 { previous_out } else { channels_out };
                            ResnetBlock2D::new(config.resnet(input + skip, channels_out), device)
                        })
                        .collect(),
                    attentions: if cross {
                        (0..=layers)
                            .map(|_| Transformer2DModel::new(config.transformer(level, channels_out), device))
                            .collect()
                    } else {
                        Vec::new()
                    },
                    upsamplers: if i + 1 < blocks {
                        vec![Upsample2D::new(channels_out, device)]
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect();
        Ok(Self {
            conv_in: conv(config.in_channels, c0, 3, device),
            time_embedding: TimestepEmbedding {
                linear_1: linear(c0, c0 * 4, true, device),
                linear_2: linear(c0 * 4, c0 * 4, true, device),
            },
            down_blocks,
            mid_block,
            up_blocks,
            conv_norm_out: group_norm(config.norm_num_groups, c0, config.norm_eps, device),
            conv_out: conv(c0, config.out_channels, 3, device),
            time_channels: c0,
            flip_sin_to_cos: config.flip_sin_to_cos,
            freq_shift: config.freq_shift,
        })
    }

    /// The predicted noise (or velocity) for latents `x` [B, C, H, W] at training timestep `t`,
    /// conditioned on the text embeddings `context` [B, 77, C'].
    #[must_use]
    pub fn forward(&self, x: Tensor<4>, t: f64, context: &Tensor<3>) -> Tensor<4> {
        // Inputs follow the weights' float type (f16 on GPUs).
        let dtype: FloatDType = self.conv_in.weight.val().dtype().into();
        let (x, context) = (x.cast(dtype), &context.clone().cast(dtype));
        let batch = x.dims()[0];
        let device = x.device();
        let t_emb = self.timestep_features(t, batch, &device).cast(dtype);
        let temb = self.time_embedding.linear_2.forward(silu(self.time_embedding.linear_1.forward(t_emb)));

        let mut h = conv_forward(&self.conv_in, x, None);
        let mut skips = vec![h.clone()];
        for block in &self.down_blocks {
            for (j, resnet) in block.resnets.iter().enumerate() {
                h = resnet.forward(h, Some(&temb));
                if let Some(attention) = block.attentions.get(j) {
                    h = attention.forward(h, context);
                }
                skips.push(h.clone());
            }
            for down in &block.downsamplers {
                h = down.forward(h);
                skips.push(h.clone());
            }
        }

        h = self.mid_block.resnets[0].forward(h, Some(&temb));
        h = self.mid_block.attentions[0].forward(h, context);
        h = self.mid_block.resnets[1].forward(h, Some(&temb));

        for block in &self.up_blocks {
            for (j, resnet) in block.resnets.iter().enumerate() {
                let skip =
                    skips.pop().unwrap_or_else(|| unreachable!("one skip per up resnet, by construction"));
                h = resnet.forward(Tensor::cat(vec![h, skip], 1), Some(&temb));
                if let Some(attention) = block.attentions.get(j) {
                    h = attention.forward(h, context);
                }
            }
            for up in &block.upsamplers {
                // The next skip's size: twice this one, or one less where a size was odd.
                let [.., sh, sw] = skips.last().map_or_else(|| h.dims(), Tensor::dims);
                h = up.forward(h, [sh, sw]);
            }
        }
        conv_forward(&self.conv_out, group_norm_forward(&self.conv_norm_out, h, true), None)
    }

    /// Diffusers' `get_timestep_embedding`, computed in `f32` exactly as torch does (the
    /// arguments of sin and cos reach ~1000, where `f64` frequencies would differ by 1e-4).
    fn timestep_features(&self, t: f64, batch: usize, device: &Device) -> Tensor<2> {
        let half = self.time_channels / 2;
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let (t, shift, log_period) = (t as f32, self.freq_shift as f32, 10000_f64.ln() as f32);
        #[allow(clippy::cast_precision_loss)]
        let args: Vec<f32> =
            (0..half).map(|k| t * ((-log_period * k as f32) / (half as f32 - shift)).exp()).collect();
        let (sin, cos) = (args.iter().map(|a| a.sin()), args.iter().map(|a| a.cos()));
        let row: Vec<f32> =
            if self.flip_sin_to_cos { cos.chain(sin).collect() } else { sin.chain(cos).collect() };
        let rows: Vec<f32> = std::iter::repeat_n(row, batch).flatten().collect();
        Tensor::from_data(TensorData::new(rows, [batch, 2 * half]), device)
    }
}
