//! Diffusers' `AutoencoderKL`: the decoder turns latents into images (text-to-image), the encoder
//! turns images into latent distributions (image-to-image), shaped by `vae/config.json`.

use burn::module::Module;
use burn::nn::GroupNorm;
use burn::nn::conv::Conv2d;
use burn::tensor::Device;
use burn::tensor::Tensor;
use serde::Deserialize;

use crate::nn::{
    Attention, Downsample2D, ResnetBlock2D, ResnetShape, Upsample2D, conv, conv_forward, group_norm,
    group_norm_forward, halves,
};

/// The fields of `vae/config.json` that shape the model.
#[derive(Debug, Clone, Deserialize)]
pub struct VaeConfig {
    /// Image channels in.
    #[serde(default = "three")]
    pub in_channels: usize,
    /// Image channels out.
    #[serde(default = "three")]
    pub out_channels: usize,
    /// Latent channels.
    #[serde(default = "four")]
    pub latent_channels: usize,
    /// Channels of each resolution level.
    pub block_out_channels: Vec<usize>,
    /// Resnets per encoder block (decoder blocks have one more).
    #[serde(default = "one")]
    pub layers_per_block: usize,
    /// Groups of every group norm.
    #[serde(default = "groups")]
    pub norm_num_groups: usize,
    /// Latents are divided by this before decoding (0.18215 for SD 1.x/2.x).
    #[serde(default = "scaling")]
    pub scaling_factor: f64,
    /// Whether the mid blocks have attention.
    #[serde(default = "yes")]
    pub mid_block_add_attention: bool,
    /// Whether `quant_conv` exists.
    #[serde(default = "yes")]
    pub use_quant_conv: bool,
    /// Whether `post_quant_conv` exists.
    #[serde(default = "yes")]
    pub use_post_quant_conv: bool,
    #[serde(default)]
    shift_factor: Option<f64>,
}

const fn three() -> usize {
    3
}
const fn four() -> usize {
    4
}
const fn one() -> usize {
    1
}
const fn groups() -> usize {
    32
}
const fn scaling() -> f64 {
    0.18215
}
const fn yes() -> bool {
    true
}

/// Every group norm of the VAE uses this epsilon.
const EPS: f64 = 1e-6;

impl VaeConfig {
    /// Refuses what this VAE does not implement.
    ///
    /// # Errors
    /// The unsupported setting, described.
    pub fn check(&self) -> Result<(), String> {
        if self.block_out_channels.is_empty() {
            return Err("the VAE needs at least one block".into());
        }
        if self.shift_factor.is_some_and(|s| s != 0.0) {
            return Err("unsupported VAE setting: shift_factor".into());
        }
        if self.block_out_channels.iter().any(|c| c % self.norm_num_groups != 0) {
            return Err("VAE channels do not divide into its norm groups".into());
        }
        Ok(())
    }

    /// How many times smaller than the image the latents are.
    #[must_use]
    pub fn scale_factor(&self) -> usize {
        1 << (self.block_out_channels.len() - 1)
    }

    fn resnet(&self, channels_in: usize, channels_out: usize) -> ResnetShape {
        ResnetShape { channels_in, channels_out, temb: None, groups: self.norm_num_groups, eps: EPS }
    }
}

/// `UNetMidBlock2D` without time embedding: resnet, spatial attention, resnet.
#[derive(Module, Debug)]
pub struct VaeMidBlock {
    resnets: Vec<ResnetBlock2D>,
    attentions: Vec<Attention>,
}

impl VaeMidBlock {
    fn new(config: &VaeConfig, channels: usize, device: &Device) -> Self {
        Self {
            resnets: vec![
                ResnetBlock2D::new(config.resnet(channels, channels), device),
                ResnetBlock2D::new(config.resnet(channels, channels), device),
            ],
            attentions: if config.mid_block_add_attention {
                vec![Attention::spatial(channels, config.norm_num_groups, EPS, device)]
            } else {
                Vec::new()
            },
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut h = self.resnets[0].forward(x, None);
        if let Some(attention) = self.attentions.first() {
            h = attention.forward_spatial(h);
        }
        self.resnets[1].forward(h, None)
    }
}

/// `DownEncoderBlock2D`.
#[derive(Module, Debug)]
pub struct EncoderBlock {
    resnets: Vec<ResnetBlock2D>,
    downsamplers: Vec<Downsample2D>,
}

/// `UpDecoderBlock2D`.
#[derive(Module, Debug)]
pub struct DecoderBlock {
    resnets: Vec<ResnetBlock2D>,
    upsamplers: Vec<Upsample2D>,
}

/// The encoder: image → mean and log-variance of the latent distribution (before `quant_conv`).
#[derive(Module, Debug)]
pub struct Encoder {
    conv_in: Conv2d,
    down_blocks: Vec<EncoderBlock>,
    mid_block: VaeMidBlock,
    conv_norm_out: GroupNorm,
    conv_out: Conv2d,
}

/// The decoder: latents → image in [-1, 1] (roughly).
#[derive(Module, Debug)]
pub struct Decoder {
    conv_in: Conv2d,
    mid_block: VaeMidBlock,
    up_blocks: Vec<DecoderBlock>,
    conv_norm_out: GroupNorm,
    conv_out: Conv2d,
}

/// The autoencoder.
#[derive(Module, Debug)]
pub struct AutoencoderKL {
    encoder: Encoder,
    decoder: Decoder,
    quant_conv: Option<Conv2d>,
    post_quant_conv: Option<Conv2d>,
}

/// A latent distribution: diagonal Gaussian.
#[derive(Debug, Clone)]
pub struct LatentDistribution {
    /// Mean [B, latent, h, w].
    pub mean: Tensor<4>,
    /// Log-variance, clamped to [-30, 20] as diffusers does.
    pub logvar: Tensor<4>,
}

impl AutoencoderKL {
    /// A model shaped by `config` (checked first), with zero weights to be loaded.
    ///
    /// # Errors
    /// An unsupported configuration, described.
    pub fn new(config: &VaeConfig, device: &Device) -> Result<Self, String> {
        config.check()?;
        let channels = &config.block_out_channels;
        let blocks = channels.len();
        let (first, last) = (channels[0], channels[blocks - 1]);
        let latent = config.latent_channels;
        let layers = config.layers_per_block;
        let encoder = Encoder {
            conv_in: conv(config.in_channels, first, 3, device),
            down_blocks: (0..blocks)
                .map(|i| {
                    let (input, output) = (if i == 0 { first } else { channels[i - 1] }, channels[i]);
                    EncoderBlock {
                        resnets: (0..layers)
                            .map(|j| {
                                ResnetBlock2D::new(
                                    config.resnet(if j == 0 { input } else { output }, output),
                                    device,
                                )
                            })
                            .collect(),
                        downsamplers: if i + 1 < blocks {
                            vec![Downsample2D::new(output, false, device)]
                        } else {
                            Vec::new()
                        },
                    }
                })
                .collect(),
            mid_block: VaeMidBlock::new(config, last, device),
            conv_norm_out: group_norm(config.norm_num_groups, last, EPS, device),
            conv_out: conv(last, 2 * latent, 3, device),
        };
        let decoder = Decoder {
            conv_in: conv(latent, last, 3, device),
            mid_block: VaeMidBlock::new(config, last, device),
            up_blocks: (0..blocks)
                .map(|i| {
                    let level = blocks - 1 - i;
                    let (input, output) = (channels[(level + 1).min(blocks - 1)], channels[level]);
                    DecoderBlock {
                        resnets: (0..=layers)
                            .map(|j| {
                                ResnetBlock2D::new(
                                    config.resnet(if j == 0 { input } else { output }, output),
                                    device,
                                )
                            })
                            .collect(),
                        upsamplers: if i + 1 < blocks {
                            vec![Upsample2D::new(output, device)]
                        } else {
                            Vec::new()
                        },
                    }
                })
                .collect(),
            conv_norm_out: group_norm(config.norm_num_groups, first, EPS, device),
            conv_out: conv(first, config.out_channels, 3, device),
        };
        Ok(Self {
            encoder,
            decoder,
            quant_conv: config.use_quant_conv.then(|| conv(2 * latent, 2 * latent, 1, device)),
            post_quant_conv: config.use_post_quant_conv.then(|| conv(latent, latent, 1, device)),
        })
    }

    /// Decodes (already unscaled) latents `z` [B, latent, h, w] into images [B, C, H, W].
    #[must_use]
    pub fn decode(&self, z: Tensor<4>) -> Tensor<4> {
        let z = match &self.post_quant_conv {
            Some(conv) => conv_forward(conv, z, None),
            None => z,
        };
        let d = &self.decoder;
        let mut h = d.mid_block.forward(conv_forward(&d.conv_in, z, None));
        for block in &d.up_blocks {
            for resnet in &block.resnets {
                h = resnet.forward(h, None);
            }
            for up in &block.upsamplers {
                let [.., height, width] = h.dims();
                h = up.forward(h, [height * 2, width * 2]);
            }
        }
        conv_forward(&d.conv_out, group_norm_forward(&d.conv_norm_out, h, true), None)
    }

    /// Encodes images `x` [B, C, H, W] in [-1, 1] into their latent distribution.
    #[must_use]
    pub fn encode(&self, x: Tensor<4>) -> LatentDistribution {
        let e = &self.encoder;
        let mut h = conv_forward(&e.conv_in, x, None);
        for block in &e.down_blocks {
            for resnet in &block.resnets {
                h = resnet.forward(h, None);
            }
            for down in &block.downsamplers {
                h = down.forward(h);
            }
        }
        let h = conv_forward(
            &e.conv_out,
            group_norm_forward(&e.conv_norm_out, e.mid_block.forward(h), true),
            None,
        );
        let moments = match &self.quant_conv {
            Some(conv) => conv_forward(conv, h, None),
            None => h,
        };
        let (mean, logvar) = halves(moments, 1);
        LatentDistribution { mean, logvar: logvar.clamp(-30.0, 20.0) }
    }
}
