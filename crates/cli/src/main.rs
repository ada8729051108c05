//! `rlhf`: the command line (see the `rlhf_cli` library).

use clap::Parser;

fn main() {
    if let Err(e) = rlhf_cli::run(rlhf_cli::Cli::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
