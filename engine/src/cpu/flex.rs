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

    /// The values as an owned, writable vector: the buffer itself when nothing else holds it,
    /// else a copy.
    #[must_use]
    pub fn into_vec(self) -> Vec<f32> {
        let whole = self.start == 0 && self.end * 4 == self.tensor.bytes().len();
        if whole && self.tensor.is_unique() {
            // Zero-copy: flex hands its buffer over when it is the only owner.
            return match self.tensor.into_data().try_into_vec::<f32>() {
                Ok(values) => values,
                Err(e) => panic!("an f32 tensor (checked in FlexF32::of) did not read as f32: {e:?}"),
            };
        }
        self.values().to_vec()
    }
}

/// A CPU tensor of `shape` holding `values` (moved, not copied).
#[must_use]
pub fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), &Device::flex())
}
