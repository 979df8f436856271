//! Seeded random weights for a model built from its configs alone, so that the full-size
//! architectures (SD 1.5, SD 2.1) can be benchmarked and their memory measured anywhere,
//! without downloading a checkpoint.
//!
//! The distributions are PyTorch's defaults, which diffusers' and transformers' random
//! pipelines also start from, so activations keep realistic magnitudes (nothing overflows f16):
//! linear and convolution weights and biases uniform in ±1/√fan_in, embeddings N(0, 0.02²)
//! (transformers' `initializer_range`), norm scales one and shifts zero. Each parameter draws
//! from its own stream, seeded by the model seed and the parameter's position in the module, so
//! the weights depend only on (seed, architecture), on every platform.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{DType, FloatDType, Tensor, TensorData};

use crate::noise::Gaussian;

/// Fills every float parameter of `module` with seeded random values (in `dtype`).
pub fn randomize<M: Module>(module: M, seed: u64, dtype: DType) -> M {
    module.map(&mut Randomizer { seed, index: 0, path: Vec::new(), fan_in: 1, dtype })
}

struct Randomizer {
    seed: u64,
    /// Parameters seen so far: each one's stream is `seed` mixed with its index.
    index: u64,
    /// Container types entered, innermost last ("Struct:Linear", …).
    path: Vec<String>,
    /// The fan-in of the last weight seen, for the bias that follows it.
    fan_in: usize,
    dtype: DType,
}

/// How one parameter is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Draw {
    /// Left as constructed (norm scales at one, shifts at zero).
    Keep,
    /// Uniform in ±bound.
    Uniform(f64),
    /// Normal with this standard deviation.
    Normal(f64),
}

impl Randomizer {
    fn draw(&mut self, container: &str, dims: &[usize]) -> Draw {
        if container.ends_with("Norm") {
            return Draw::Keep;
        }
        match dims {
            // Biases follow their weight (burn's modules list weight first).
            [_] => {}
            // burn's linear weights are [in, out].
            [fan_in, _] if container == "Struct:Linear" => self.fan_in = *fan_in,
            // Token and position tables.
            [_, _] => return Draw::Normal(0.02),
            // Convolutions: [out, in / groups, kh, kw].
            [_, rest @ ..] => self.fan_in = rest.iter().product(),
            [] => return Draw::Keep,
        }
        #[allow(clippy::cast_precision_loss)]
        let bound = 1.0 / (self.fan_in.max(1) as f64).sqrt();
        Draw::Uniform(bound)
    }
}

impl ModuleMapper for Randomizer {
    fn enter_module(&mut self, _name: &str, container_type: &str) {
        self.path.push(container_type.to_owned());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let container =
            self.path.iter().rev().find(|c| c.starts_with("Struct:")).cloned().unwrap_or_default();
        let index = self.index;
        self.index += 1;
        let dtype = self.dtype;
        param.map(|tensor| {
            let shape = tensor.dims();
            let draw = self.draw(&container, &shape);
            let device = tensor.device();
            let values = match draw {
                Draw::Keep => return tensor.cast(FloatDType::from(dtype)),
                Draw::Uniform(bound) => {
                    sample(self.seed, index, shape.iter().product(), |g| bound * (2.0 * g.uniform() - 1.0))
                }
                Draw::Normal(std) => sample(self.seed, index, shape.iter().product(), |g| std * g.sample()),
            };
            Tensor::<D>::from_data(TensorData::new(values, shape), &device).cast(FloatDType::from(dtype))
        })
    }
}

/// `len` values from the stream of parameter `index` under `seed`.
fn sample(seed: u64, index: u64, len: usize, mut value: impl FnMut(&mut Gaussian) -> f64) -> Vec<f32> {
    // Mixing the index through a multiply keeps neighbouring parameters' streams apart.
    let mut stream = Gaussian::new(seed ^ index.wrapping_add(1).wrapping_mul(0xD6E8_FEB8_6659_FD93));
    #[allow(clippy::cast_possible_truncation)]
    (0..len).map(|_| value(&mut stream) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_get_their_fan_in_bound_biases_follow_and_norms_and_tables_their_own() {
        let mut r = Randomizer { seed: 1, index: 0, path: Vec::new(), fan_in: 1, dtype: DType::F32 };
        assert_eq!(r.draw("Struct:Conv2d", &[320, 4, 3, 3]), Draw::Uniform(1.0 / 6.0));
        assert_eq!(r.draw("Struct:Conv2d", &[320]), Draw::Uniform(1.0 / 6.0));
        assert_eq!(r.draw("Struct:Linear", &[64, 1280]), Draw::Uniform(0.125));
        assert_eq!(r.draw("Struct:Linear", &[1280]), Draw::Uniform(0.125));
        assert_eq!(r.draw("Struct:GroupNorm", &[320]), Draw::Keep);
        assert_eq!(r.draw("Struct:LayerNorm", &[768]), Draw::Keep);
        assert_eq!(r.draw("Struct:Embedding", &[49408, 768]), Draw::Normal(0.02));
    }

    #[test]
    fn streams_are_fixed_by_seed_and_position() {
        let draw = |seed, index| sample(seed, index, 64, Gaussian::uniform);
        assert_eq!(draw(7, 3), draw(7, 3));
        assert_ne!(draw(7, 3), draw(7, 4));
        assert_ne!(draw(7, 3), draw(8, 3));
    }
}
