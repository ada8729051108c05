//! The Anthropic HH-RLHF format as a [`Format`], for the shared reader and writer. The
//! record type, its validation and its skip reasons live in [`crate::hh`].

use serde_json::{Map, Value};

use super::report::Problem;
use super::{Format, ReadOptions};
use crate::hh::{HhPair, SkipReason};

/// Anthropic HH-RLHF: `{"chosen", "rejected"}`, two full `\n\nHuman: … \n\nAssistant: …`
/// dialogues sharing all but the final Assistant turn. Reads into [`HhPair`]s (see
/// [`HhPair::from_json`] for the checks; convert to [`crate::PreferencePair`] with
/// `From`); writes `prompt + chosen` and `prompt + rejected` back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hh;

const FIELDS: &[&str] = &["chosen", "rejected"];

impl Format for Hh {
    type Record = HhPair;
    type Reason = SkipReason;

    fn name(&self) -> &'static str {
        "HH-RLHF"
    }

    fn fields(&self) -> &'static [&'static str] {
        FIELDS
    }

    fn parse(&self, value: &Value, _opts: &ReadOptions) -> Result<HhPair, Problem<SkipReason>> {
        HhPair::from_json(value)
    }

    fn to_json(&self, pair: &HhPair) -> Result<Value, Problem<SkipReason>> {
        let mut o = Map::new();
        o.insert("chosen".into(), Value::String(pair.chosen_dialogue()));
        o.insert("rejected".into(), Value::String(pair.rejected_dialogue()));
        Ok(Value::Object(o))
    }
}
