//! Keeping freed memory for reuse. Each denoising step allocates and frees the same activation
//! buffers (tens to hundreds of MB), and glibc's malloc serves every allocation above 128 KiB with
//! a fresh `mmap` and returns it with `munmap` when freed: each step then pays for the kernel
//! zeroing new pages, a page fault per 4 KiB, and TLB shoot-downs that interrupt the other core
//! mid-product. perf on SD 1.5 at 512 px showed ~7 % of samples in page clearing and faults; with
//! the buffers kept, denoising took 18 % and decoding 24 % less (see the commit).

/// Serves allocations up to 1 GiB from malloc's heap and keeps up to 1 GiB freed at its top
/// instead of handing it back to the kernel, so the next step reuses the same pages. Call once at
/// start in processes that generate (the peak is reached again by the next image anyway).
/// Returns whether the allocator took the settings (always false off glibc, and when
/// `PINGVAS_ALLOCATOR_DEFAULTS` is set: to compare, or to give memory back between jobs).
pub fn keep_freed_memory_for_reuse() -> bool {
    if std::env::var_os("PINGVAS_ALLOCATOR_DEFAULTS").is_some() {
        return false;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const GIB: libc::c_int = 1 << 30;
        // SAFETY: mallopt only sets allocator parameters; any value is accepted or refused.
        #[allow(unsafe_code)]
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, GIB) == 1 && libc::mallopt(libc::M_TRIM_THRESHOLD, GIB) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
