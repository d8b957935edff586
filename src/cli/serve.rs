//! `reverie serve`: the language server on stdin/stdout.

use super::Cli;
use anyhow::Result;
use clap::Args;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Accepted for compatibility with editors that pass it; stdio is the only transport.
    #[arg(long, hide = true)]
    pub stdio: bool,
}

pub fn run(cli: &Cli, _args: &ServeArgs) -> Result<()> {
    let options = crate::server::ServerOptions { cache_dir: cli.cache_dir.clone() };
    super::runtime()?.block_on(crate::server::serve_stdio(options))
}
