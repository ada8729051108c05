pub mod sft;
pub mod train;
