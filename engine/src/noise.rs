//! Where the randomness of a generation comes from: a seeded standard-normal stream by default,
//! or recorded noise (the parity tests replay diffusers' own).

/// Which image the VAE encodes, where a run samples a latent distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoded {
    /// The init image (image-to-image, inpainting).
    Image,
    /// The masked image a 9-channel inpainting UNet is conditioned on.
    MaskedImage,
}

/// Supplies the starting latents of each image and the fresh noise ancestral schedulers add.
pub trait NoiseSource {
    /// `len` standard-normal values to sample the VAE's latent distribution of `which` image
    /// for image `image` of the batch (`mean + std · noise`, diffusers' `latent_dist.sample`).
    fn encoded(&mut self, image: usize, which: Encoded, len: usize) -> Vec<f64>;
    /// `len` standard-normal values for the starting latents of image `image` of the batch.
    fn initial(&mut self, image: usize, len: usize) -> Vec<f64>;
    /// `len` standard-normal values for step `step` of image `image`.
    fn step(&mut self, image: usize, step: usize, len: usize) -> Vec<f64>;
}

/// Seeded noise: image `k` of a batch draws from the stream of `seed + k`, so any image can be
/// reproduced alone with its own seed, on any device.
#[derive(Debug, Clone)]
pub struct SeededNoise {
    streams: Vec<Gaussian>,
}

impl SeededNoise {
    /// Streams for `batch` images starting at `seed`.
    #[must_use]
    pub fn new(seed: u64, batch: usize) -> Self {
        Self { streams: (0..batch as u64).map(|k| Gaussian::new(seed.wrapping_add(k))).collect() }
    }
}

impl NoiseSource for SeededNoise {
    fn encoded(&mut self, image: usize, _which: Encoded, len: usize) -> Vec<f64> {
        // Drawn from the image's stream in the order the pipeline asks (diffusers' order).
        self.streams[image].take(len)
    }

    fn initial(&mut self, image: usize, len: usize) -> Vec<f64> {
        self.streams[image].take(len)
    }

    fn step(&mut self, image: usize, _step: usize, len: usize) -> Vec<f64> {
        // Steps draw after the initial latents, in order, from the same stream.
        self.streams[image].take(len)
    }
}

/// SplitMix64 uniforms turned into standard normals by the Box–Muller transform. Small, fast
/// and the same on every platform; statistical quality is ample for diffusion noise.
#[derive(Debug, Clone)]
pub struct Gaussian {
    state: u64,
    spare: Option<f64>,
}

impl Gaussian {
    /// A stream for `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self { state: seed, spare: None }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform value in (0, 1].
    pub fn uniform(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let u = ((self.next_u64() >> 11) + 1) as f64 / (1_u64 << 53) as f64;
        u
    }

    /// The next standard-normal value.
    pub fn sample(&mut self) -> f64 {
        if let Some(spare) = self.spare.take() {
            return spare;
        }
        let (u1, u2) = (self.uniform(), self.uniform());
        let radius = (-2.0 * u1.ln()).sqrt();
        let angle = std::f64::consts::TAU * u2;
        self.spare = Some(radius * angle.sin());
        radius * angle.cos()
    }

    /// The next `len` values.
    pub fn take(&mut self, len: usize) -> Vec<f64> {
        (0..len).map(|_| self.sample()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_noise_every_time_and_another_seed_different_noise() {
        let a = Gaussian::new(42).take(1000);
        assert_eq!(a, Gaussian::new(42).take(1000));
        assert_ne!(a, Gaussian::new(43).take(1000));
    }

    #[test]
    fn the_noise_is_standard_normal() {
        let values = Gaussian::new(7).take(200_000);
        #[allow(clippy::cast_precision_loss)]
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "variance {var}");
        #[allow(clippy::cast_precision_loss)]
        let beyond_two = values.iter().filter(|v| v.abs() > 2.0).count() as f64 / n;
        assert!((beyond_two - 0.0455).abs() < 0.003, "tail mass {beyond_two}");
    }

    #[test]
    fn image_k_of_a_batch_is_the_image_of_seed_plus_k() {
        let mut batch = SeededNoise::new(100, 3);
        let mut alone = SeededNoise::new(102, 1);
        assert_eq!(batch.initial(2, 64), alone.initial(0, 64));
        assert_eq!(batch.step(2, 0, 64), alone.step(0, 0, 64));
    }
}
