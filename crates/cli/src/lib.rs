//! The `rlhf` command line as a library: each training subcommand reads a documented run
//! configuration ([`policy_opt::sft::SftRunConfig`], [`reward_model::RewardRunConfig`],
//! [`policy_opt::dpo::DpoRunConfig`], and for `ppo`/`grpo`/`rloo`/`rft`
//! [`policy_opt::online::OnlineRunConfig`] with each method's defaults, [`online`]) from a
//! TOML file ([`config_file`]: the file merged over the command's defaults), applies
//! `--set key=value` overrides, validates it — errors name the file, the key and the line —
//! and calls the method's one entry point (`policy_opt::sft::run`, `reward_model::run`,
//! `policy_opt::dpo::run`, `policy_opt::online::run`). `--print-config` prints every
//! setting with its documentation ([`mod@print`]).
//!
//! ```text
//! rlhf sft --config examples/configs/sft.toml
//! rlhf reward --config examples/configs/reward.toml --set train.steps=50
//! rlhf dpo --config examples/configs/dpo.toml --print-config
//! rlhf ppo --config examples/configs/ppo.toml
//! rlhf eval-policy --config examples/configs/ppo.toml --policy runs/ppo/model
//! rlhf judge --config examples/configs/judge.toml
//! rlhf generate --model runs/dpo/model --prompt "Human: Hi!\n\nAssistant:"
//! ```

#![warn(missing_docs)]

pub mod commands;
pub mod config_file;
pub mod error;
pub mod method;
pub mod online;
pub mod print;
pub mod rlaif;

pub use commands::{Cli, Command, run};
pub use config_file::{Loaded, load};
pub use error::CliError;
pub use method::RunConfig;
pub use online::{
    EvalPolicyCommand, GrpoCommand, OnlineCommand, PpoCommand, RftCommand, RlooCommand,
};
pub use print::print_config;
pub use rlaif::{JudgeCommand, RlaifCommand, SlCaiCommand};
