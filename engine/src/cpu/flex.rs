//! Reading and making tensors of burn's CPU backend (flex) as plain `f32` slices, without the
//! copies `into_data` makes when a tensor is shared (as module weights always are).

use burn::tensor::{DType, Device, Tensor, TensorData};
use burn_flex::{Flex, FlexTensor};

/// A tensor's f32 values on the CPU backend, borrowed in place.
#[derive(Debug)]
pub struct FlexF32 {
    tensor: FlexTensor,
    start: usize,
    end: usize,
}

impl FlexF32 {
    /// The values of `tensor` if it lives on the CPU backend, is f32 and contiguous; `None`
    /// otherwise (callers then take burn's general path).
    #[must_use]
    pub fn of<const D: usize>(tensor: &Tensor<D>) -> Option<Self> {
        if tensor.dtype() != DType::F32 || tensor.device() != Device::flex() {
            return None;
        }
        let tensor = tensor.clone().try_into_primitive::<Flex>().ok()?;
        let (start, end) = tensor.layout().contiguous_offsets()?;
        Some(Self { tensor, start, end })
    }

    /// The values, row-major.
    #[must_use]
    pub fn values(&self) -> &[f32] {
        &self.tensor.storage::<f32>()[self.start..self.end]
    }
}

/// Whether `tensor` lives on the CPU backend in f32, where the kernels here apply.
#[must_use]
pub fn is_cpu_f32<const D: usize>(tensor: &Tensor<D>) -> bool {
    tensor.dtype() == DType::F32 && tensor.device() == Device::flex()
}

/// The values of `tensor` as an owned, writable vector: its buffer itself when the caller held
/// the only reference (no copy), else a contiguous copy.
///
/// # Panics
/// A tensor for which [`is_cpu_f32`] is false (callers check first).
#[must_use]
pub fn into_values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    assert!(is_cpu_f32(&tensor), "into_values: not an f32 tensor on the CPU backend");
    let values = tensor.try_into_primitive::<Flex>().map(|t| t.into_data().try_into_vec::<f32>());
    match values {
        Ok(Ok(values)) => values,
        other => panic!("an f32 tensor on the CPU backend did not read as f32: {other:?}"),
    }
}

/// A CPU tensor of `shape` holding `values` (moved, not copied).
#[must_use]
pub fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), &Device::flex())
}
