//! Choosing where the models run, at run time, by name: the pure-Rust CPU backend, a wgpu
//! adapter (Vulkan, Metal, DX12, or Vulkan on the CPU through lavapipe) or CUDA (with the `cuda`
//! feature).

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, DeviceKind};

use crate::error::EngineError;
use crate::model::Precision;

/// A device by name: `cpu`, `wgpu`, `wgpu:cpu` (a CPU adapter such as lavapipe), `cuda`, `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// burn's flex backend on the CPU.
    Cpu,
    /// The preferred wgpu adapter (a discrete GPU when there is one).
    Wgpu,
    /// A wgpu adapter that runs on the CPU (lavapipe): slow, but needs no GPU.
    WgpuCpu,
    /// CUDA device N.
    Cuda(usize),
}

impl FromStr for DeviceChoice {
    type Err = EngineError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "cpu" => Ok(Self::Cpu),
            "wgpu" => Ok(Self::Wgpu),
            "wgpu:cpu" => Ok(Self::WgpuCpu),
            "cuda" => Ok(Self::Cuda(0)),
            other => {
                other.strip_prefix("cuda:").and_then(|n| n.parse().ok()).map(Self::Cuda).ok_or_else(|| {
                    EngineError::Device(format!(
                        "unknown device {other:?} (use cpu, wgpu, wgpu:cpu, cuda or cuda:N)"
                    ))
                })
            }
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Wgpu => f.write_str("wgpu"),
            Self::WgpuCpu => f.write_str("wgpu:cpu"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl DeviceChoice {
    /// The burn device, checked to work: a GPU device is asked for one tiny tensor, so that a
    /// missing driver or adapter is an error here rather than a panic in the middle of a run.
    ///
    /// # Errors
    /// CUDA asked for in a build without the `cuda` feature, or a device that does not work.
    pub fn device(self) -> Result<Device, EngineError> {
        let device = match self {
            Self::Cpu => return Ok(Device::flex()),
            Self::Wgpu => Device::wgpu(DeviceKind::DefaultDevice),
            Self::WgpuCpu => Device::wgpu(DeviceKind::Cpu),
            #[cfg(feature = "cuda")]
            Self::Cuda(n) => Device::cuda(n),
            #[cfg(not(feature = "cuda"))]
            Self::Cuda(_) => {
                return Err(EngineError::Device(
                    "this build has no CUDA support (build with --features cuda)".into(),
                ));
            }
        };
        // burn reports a missing driver by panicking on its device thread; the probe turns that
        // into an error (the panic's own message, printed above it, says which library).
        let probe = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            burn::tensor::Tensor::<1>::zeros([1], &device).into_data()
        }));
        match probe {
            Ok(_) => Ok(device),
            Err(_) => Err(EngineError::Device(format!(
                "device {self} does not work here (is its driver installed and on the library path?)"
            ))),
        }
    }
}

impl DeviceChoice {
    /// Half precision on GPUs that compute it, single precision on CPUs (lavapipe included).
    #[must_use]
    pub fn precision(self, device: &Device) -> Precision {
        match self {
            Self::Cpu | Self::WgpuCpu => Precision::F32,
            Self::Wgpu | Self::Cuda(_) if device.supports_dtype(burn::tensor::DType::F16) => Precision::F16,
            Self::Wgpu | Self::Cuda(_) => Precision::F32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_parse_and_print_back() {
        for name in ["cpu", "wgpu", "wgpu:cpu", "cuda:0", "cuda:3"] {
            assert_eq!(name.parse::<DeviceChoice>().map(|d| d.to_string()).ok().as_deref(), Some(name));
        }
        assert_eq!("cuda".parse::<DeviceChoice>().ok(), Some(DeviceChoice::Cuda(0)));
        let err = "tpu".parse::<DeviceChoice>().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("unknown device \"tpu\""), "{err}");
    }
}
