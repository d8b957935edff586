//! The `reverie` binary: parses the command line and hands over to `reverie::cli`.

fn main() -> std::process::ExitCode {
    reverie::cli::main()
}
