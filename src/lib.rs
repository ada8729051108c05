pub use lm;
pub use policy_opt;
pub use pref_data;
