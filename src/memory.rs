//! How the process hands memory back: allocator settings for a server that
//! runs for months, and a call to return freed memory after large transient
//! work (a feed render, a crawl), and the process's peak memory as the system
//! counts it. Owns nothing else; glibc-specific, a no-op elsewhere.

/// Keeps `serve`'s memory flat under load. glibc raises its mmap threshold each
/// time a large block is freed, after which multi-megabyte feed buffers come
/// from heap arenas that are rarely given back, one arena per thread that ever
/// rendered; a fixed threshold keeps large buffers mapped (returned to the
/// system when freed) and two arenas bound the rest. Call once, at start.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tame_allocator() {
    // SAFETY: mallopt only changes allocator tunables; it is called before any
    // other thread exists and its return value (0 on failure) only means the
    // default stays in force.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Keeps `serve`'s memory flat under load (a no-op off glibc).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tame_allocator() {}

/// Returns the free memory the allocator holds to the system, after work that
/// allocated and freed many small blocks (a crawl, a render of thousands of
/// events): glibc keeps them in its arenas otherwise.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn give_back() {
    // SAFETY: malloc_trim only releases free pages; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Returns free memory to the system (a no-op off glibc).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back() {}

/// The process's peak resident memory in KiB (`VmHWM` in `/proc/self/status`),
/// where the system keeps that count; `main` logs it at exit (at debug level,
/// under the `events::memory` target) so the bound a test sets on a command's
/// memory is read from the process's own counter.
pub fn peak_resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
