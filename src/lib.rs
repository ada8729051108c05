pub use lm; pub use policy_opt;
