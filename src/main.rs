//! The `reverie` binary: parses the command line and hands over to `reverie::cli`.
//!
//! On Unix the binary allocates with jemalloc: glibc's per-thread arenas hold on to freed memory, and a
//! language server that builds and drops large indexes as the code changes paid for it in RSS
//! (measured in the README's Benchmarks).

#[cfg(all(unix, not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: one arena (reverie has two busy threads at most, and
/// jemalloc's default of four per core spread its memory over eight) and freed pages given back after
/// one second instead of ten. The server on Django 5.1.4 with its vectors: peak RSS 302 → 280 MB,
/// questions as fast. `_RJEM_MALLOC_CONF` in the environment still overrides them.
#[cfg(all(unix, not(target_env = "musl")))]
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
static malloc_conf: Option<&'static std::ffi::c_char> = Some(unsafe { &*c"narenas:1,dirty_decay_ms:1000".as_ptr() });

fn main() -> std::process::ExitCode {
    reverie::cli::main()
}
