//! Offline stand-in for `cubecl-llvm` (see `Cargo.toml`): the types cubecl-cuda's LLVM path
//! names, shaped as cubecl-cuda uses them, with a compiler that always refuses. The engine turns
//! on cubecl-cuda's `cpp` feature, so kernels go through CUDA C++ and NVRTC and this compiler is
//! never selected; if it ever were, the first kernel would fail with the message below instead
//! of the process failing at link time or downloading LLVM.

use cubecl_core::prelude::KernelDefinition;
use cubecl_environment::backtrace::BackTrace;
use cubecl_runtime::compiler::CompilationError;
use cubecl_runtime::kernel::BufferIOAttr;

/// Why this build cannot lower kernels through LLVM.
const NO_LLVM: &str = "this build has no LLVM backend (cubecl-llvm is replaced by an offline \
                       stand-in); kernels compile through CUDA C++ and NVRTC (cubecl-cuda's `cpp` feature)";

/// Where a kernel would be lowered to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LlvmTarget {
    /// The host CPU.
    #[default]
    Cpu,
    /// NVIDIA PTX.
    #[cfg(feature = "nvptx")]
    Nvptx,
}

/// The LLVM compiler's options, with the fields cubecl-cuda fills in.
#[derive(Clone, Debug, Default)]
pub struct PlironOptions {
    /// The AMD architecture in the real crate; cubecl-cuda only ever sets it to `None`.
    pub arch: Option<()>,
    /// NVIDIA architecture.
    #[cfg(feature = "nvptx")]
    pub sm_arch: Option<cubecl_core::ir::nvidia::SmArch>,
    /// PTX version to emit.
    #[cfg(feature = "nvptx")]
    pub ptx_version: Option<nvptx::ptx_version::PtxVersion>,
    /// Scalars in the kernel parameter block.
    pub grid_constants: bool,
}

/// A compiled PTX module (never produced by this stand-in).
#[cfg(feature = "nvptx")]
#[derive(Clone, Debug)]
pub struct NvptxModule {
    /// NUL-terminated PTX.
    pub ptx: Vec<core::ffi::c_char>,
    /// IR for logs and cache keys.
    pub ir: String,
    /// Shared memory per launch, in bytes.
    pub shared_memory_size: usize,
    /// Buffer access modes in binding order.
    pub io: Vec<BufferIOAttr>,
}

/// What a compilation yields.
#[derive(Clone, Debug)]
pub enum PlironArtifact {
    /// A PTX module.
    #[cfg(feature = "nvptx")]
    NvptxCode(NvptxModule),
    /// Nothing (keeps the enum inhabited-looking without `nvptx`; never built).
    Unavailable,
}

/// The LLVM compiler, which refuses every kernel.
#[derive(Clone, Debug, Default)]
pub struct PlironCompiler {
    /// The target it was made for.
    pub target: LlvmTarget,
}

impl PlironCompiler {
    /// Always an error: there is no LLVM in this build.
    ///
    /// # Errors
    /// Always, with a message that names the backend to use instead.
    pub fn compile(
        &mut self,
        _kernel: KernelDefinition,
        _options: &PlironOptions,
    ) -> Result<PlironArtifact, CompilationError> {
        Err(CompilationError::Generic { reason: NO_LLVM.to_string(), backtrace: BackTrace::capture() })
    }

    /// The language tag the real compiler reports.
    #[must_use]
    pub const fn lang_tag(&self) -> &'static str {
        "llvm"
    }
}

/// The NVPTX items cubecl-cuda names.
#[cfg(feature = "nvptx")]
pub mod nvptx {
    /// PTX versions.
    pub mod ptx_version {
        use core::fmt;

        /// A PTX ISA version as the driver loads it (8.7 is `87`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct PtxVersion(u32);

        impl PtxVersion {
            /// The newest PTX version a CUDA driver of version `driver` (12.8 is `12080`)
            /// loads: major 12 → 8.x, 13 → 9.x, from the minor release (capped at 8.8 and 9.3,
            /// what the real crate's LLVM emits). `None` before CUDA 12. Only the LLVM path
            /// reads it, and the cache namespace of compiled kernels.
            #[must_use]
            pub fn for_driver(driver: i32) -> Option<Self> {
                let (major, minor) = (driver / 1000, (driver % 1000) / 10);
                let ptx = match major {
                    12 => 80 + minor.min(8),
                    13.. => 90 + minor.min(3),
                    _ => return None,
                };
                u32::try_from(ptx).ok().map(Self)
            }
        }

        impl fmt::Display for PtxVersion {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "ptx{}", self.0)
            }
        }
    }
}

/// Items shared between targets.
pub mod shared {
    /// Narrowing a device's advertised features to what LLVM lowers.
    pub mod lowered_features {
        use cubecl_core::ir::DeviceProperties;

        /// A GPU target.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum GpuTarget {
            /// NVIDIA PTX.
            #[cfg(feature = "nvptx")]
            Nvptx,
        }

        /// Leaves `props` as they are: cubecl-cuda calls this only when the LLVM backend is
        /// selected, which never happens with this stand-in (the CUDA C++ backend keeps every
        /// feature the device has).
        pub fn restrict_features(_props: &mut DeviceProperties, _target: GpuTarget) {}
    }
}
