//! The `reverie` binary: parses the command line and hands over to `reverie::cli`.
//!
//! On Unix the binary allocates with jemalloc: glibc's per-thread arenas hold on to freed memory, and a
//! language server that builds and drops large indexes as the code changes paid for it in RSS
//! (measured in the README's Benchmarks).

#[cfg(all(unix, not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    reverie::cli::main()
}
