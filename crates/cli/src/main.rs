//! `rlhf`: the command line (see the `rlhf_cli` library).

use clap::Parser;

fn main() {
    // Keep the heap between training steps (glibc; see `rlhf_core::allocator`).
    rlhf_core::allocator::tune_for_training();
    if let Err(e) = rlhf_cli::run(rlhf_cli::Cli::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
