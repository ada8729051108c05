//! `rlhf`: the command line (see the `rlhf_cli` library).

use clap::Parser;

fn main() {
    // Keep the heap between training steps (glibc; see `rlhf_core::allocator`).
    rlhf_core::allocator::tune_for_training();
    // The whole job on the compute pool (see `lm::device::run_on_compute_pool`).
    let out = lm::device::run_on_compute_pool(|| {
        rlhf_cli::run(rlhf_cli::Cli::parse()).map_err(|e| e.to_string())
    });
    if let Err(e) = out {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
