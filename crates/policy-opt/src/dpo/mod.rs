//! Direct preference optimisation and its family: losses on summed completion log-probs
//! ([`loss`]).

pub mod loss;

pub use loss::{DpoError, DpoLoss, DpoLossConfig, DpoLossOutput, DpoLossType, PairLogps};
