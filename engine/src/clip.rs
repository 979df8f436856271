//! transformers' `CLIPTextModel`: token and position embeddings, a causal pre-norm transformer
//! and a final layer norm, whose last hidden state conditions the UNet. Shaped by
//! `text_encoder/config.json`; weight names are transformers' (`text_model.encoder.layers.N…`).

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, Linear};
use burn::tensor::activation::{gelu, sigmoid};
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::Deserialize;

use crate::nn::{layer_norm, linear, multi_head_attention};

/// The activation between the two MLP layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HiddenAct {
    /// `x · sigmoid(1.702 x)` (OpenAI CLIP, SD 1.x).
    QuickGelu,
    /// The exact GELU (OpenCLIP, SD 2.x).
    Gelu,
}

/// The fields of `text_encoder/config.json` that shape the model.
#[derive(Debug, Clone, Deserialize)]
pub struct ClipTextConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Width.
    pub hidden_size: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// Attention heads.
    pub num_attention_heads: usize,
    /// Transformer layers.
    pub num_hidden_layers: usize,
    /// Positions (77).
    #[serde(default = "positions")]
    pub max_position_embeddings: usize,
    /// Layer-norm epsilon.
    #[serde(default = "eps")]
    pub layer_norm_eps: f64,
    /// MLP activation.
    #[serde(default = "quick_gelu")]
    pub hidden_act: HiddenAct,
}

const fn positions() -> usize {
    77
}
const fn eps() -> f64 {
    1e-5
}
const fn quick_gelu() -> HiddenAct {
    HiddenAct::QuickGelu
}

impl ClipTextConfig {
    /// Refuses inconsistent shapes.
    ///
    /// # Errors
    /// What does not fit, described.
    pub fn check(&self) -> Result<(), String> {
        if self.num_attention_heads == 0 || !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(format!(
                "{} features do not divide into {} heads",
                self.hidden_size, self.num_attention_heads
            ));
        }
        Ok(())
    }
}

/// `self_attn`: causal multi-head attention with biased projections.
#[derive(Module, Debug)]
pub struct ClipAttention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    out_proj: Linear,
    heads: usize,
}

/// `mlp`.
#[derive(Module, Debug)]
pub struct ClipMlp {
    fc1: Linear,
    fc2: Linear,
}

/// One pre-norm transformer layer.
#[derive(Module, Debug)]
pub struct ClipEncoderLayer {
    layer_norm1: LayerNorm,
    self_attn: ClipAttention,
    layer_norm2: LayerNorm,
    mlp: ClipMlp,
}

/// `text_model.embeddings`.
#[derive(Module, Debug)]
pub struct ClipEmbeddings {
    token_embedding: Embedding,
    position_embedding: Embedding,
}

/// `text_model.encoder`.
#[derive(Module, Debug)]
pub struct ClipEncoder {
    layers: Vec<ClipEncoderLayer>,
}

/// `text_model`.
#[derive(Module, Debug)]
pub struct ClipTextTransformer {
    embeddings: ClipEmbeddings,
    encoder: ClipEncoder,
    final_layer_norm: LayerNorm,
}

/// The text encoder.
#[derive(Module, Debug)]
pub struct ClipTextModel {
    text_model: ClipTextTransformer,
    #[module(skip)]
    hidden_act: HiddenAct,
}

impl ClipTextModel {
    /// A model shaped by `config` (checked first), with weights to be loaded.
    ///
    /// # Errors
    /// An inconsistent configuration, described.
    pub fn new(config: &ClipTextConfig, device: &Device) -> Result<Self, String> {
        config.check()?;
        let (d, eps) = (config.hidden_size, config.layer_norm_eps);
        let layers = (0..config.num_hidden_layers)
            .map(|_| ClipEncoderLayer {
                layer_norm1: layer_norm(d, eps, device),
                self_attn: ClipAttention {
                    q_proj: linear(d, d, true, device),
                    k_proj: linear(d, d, true, device),
                    v_proj: linear(d, d, true, device),
                    out_proj: linear(d, d, true, device),
                    heads: config.num_attention_heads,
                },
                layer_norm2: layer_norm(d, eps, device),
                mlp: ClipMlp {
                    fc1: linear(d, config.intermediate_size, true, device),
                    fc2: linear(config.intermediate_size, d, true, device),
                },
            })
            .collect();
        Ok(Self {
            text_model: ClipTextTransformer {
                embeddings: ClipEmbeddings {
                    token_embedding: EmbeddingConfig::new(config.vocab_size, d).init(device),
                    position_embedding: EmbeddingConfig::new(config.max_position_embeddings, d).init(device),
                },
                encoder: ClipEncoder { layers },
                final_layer_norm: layer_norm(d, eps, device),
            },
            hidden_act: config.hidden_act,
        })
    }

    /// The last hidden state [B, N, hidden] for token ids (each row the same length N).
    #[must_use]
    pub fn forward(&self, ids: &[Vec<u32>], device: &Device) -> Tensor<3> {
        let (batch, len) = (ids.len(), ids.first().map_or(0, Vec::len));
        let flat: Vec<i64> = ids.iter().flatten().map(|&id| i64::from(id)).collect();
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(flat, [batch, len]), device);
        let positions: Vec<i64> =
            (0..batch).flat_map(|_| 0..len).map(|p| i64::try_from(p).unwrap_or(i64::MAX)).collect();
        let positions = Tensor::<2, Int>::from_data(TensorData::new(positions, [batch, len]), device);
        let model = &self.text_model;
        let mut h = model.embeddings.token_embedding.forward(tokens)
            + model.embeddings.position_embedding.forward(positions);
        for layer in &model.encoder.layers {
            let attended = layer.self_attn.forward(layer.layer_norm1.forward(h.clone()));
            h = h + attended;
            let hidden = layer.mlp.fc1.forward(layer.layer_norm2.forward(h.clone()));
            let hidden = match self.hidden_act {
                HiddenAct::QuickGelu => hidden.clone() * sigmoid(hidden.mul_scalar(1.702)),
                HiddenAct::Gelu => gelu(hidden),
            };
            h = h + layer.mlp.fc2.forward(hidden);
        }
        model.final_layer_norm.forward(h)
    }
}

impl ClipAttention {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let (q, k, v) =
            (self.q_proj.forward(x.clone()), self.k_proj.forward(x.clone()), self.v_proj.forward(x));
        self.out_proj.forward(multi_head_attention(q, k, v, self.heads, true))
    }
}
