//! Direct preference optimisation and its family: losses on summed completion log-probs
//! ([`loss`]); the trainer ([`method`]), reference handling ([`mod@reference`]), its batches
//! ([`data`]) and the sampled KL to the reference ([`eval`]); [`run()`], the whole run from a
//! [`DpoRunConfig`].

pub mod data;
pub mod eval;
pub mod loss;
pub mod method;
pub mod reference;
mod run;
mod run_config;

pub use data::{DpoBatch, DpoBatches};
pub use eval::{SampledKl, sampled_kl};
pub use loss::{DpoError, DpoLoss, DpoLossConfig, DpoLossOutput, DpoLossType, PairLogps};
pub use method::{Dpo, DpoTrainError, train_dpo};
pub use reference::{
    FrozenReference, ReferenceCache, ReferenceError, data_fingerprint, module_fingerprint,
};
pub use run::{DpoReport, run};
pub use run_config::{DPO_DEFAULT_LR, DpoRunConfig, ReferenceMode};
