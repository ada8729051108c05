//! Preference pairs → [`TokenizedPair`]s.

use lm::tokenizer::Tokenizer;

use super::report::DropReason;
use super::{Encoder, TokenizeConfig, TokenizeError, TokenizeReport, template_err};
use crate::batch::TokenizedPair;
use crate::record::PreferencePair;
use crate::template::ChatTemplate;

/// Tokenises preference pairs (see the [module docs](super) for the policy).
///
/// The prompt is the one rendered with the chosen completion; the template must render it
/// identically with the rejected one (it does unless the template looks ahead at the
/// completion), otherwise the record is an error naming it. `group` is the index of the
/// pair in `pairs`; `weight` is 1; `p_chosen` and `margin` are carried over.
pub fn tokenize_pairs(
    pairs: &[PreferencePair],
    tokenizer: &Tokenizer,
    template: &ChatTemplate,
    cfg: &TokenizeConfig,
) -> Result<(Vec<TokenizedPair>, TokenizeReport), TokenizeError> {
    let enc = Encoder::new(tokenizer, cfg)?;
    let mut report = TokenizeReport::default();
    let mut out = Vec::with_capacity(pairs.len());
    for (i, pair) in pairs.iter().enumerate() {
        if let Some(p) = tokenize_pair(&enc, pair, i, template, &mut report)? {
            out.push(p);
        }
    }
    Ok((out, report))
}

/// One pair; `None` (and counted) if dropped.
pub(crate) fn tokenize_pair(
    enc: &Encoder<'_>,
    pair: &PreferencePair,
    record: usize,
    template: &ChatTemplate,
    report: &mut TokenizeReport,
) -> Result<Option<TokenizedPair>, TokenizeError> {
    let (prompt_a, chosen) = template
        .render_pair(&pair.prompt, &pair.chosen)
        .map_err(template_err(record, "chosen"))?;
    let (prompt_b, rejected) = template
        .render_pair(&pair.prompt, &pair.rejected)
        .map_err(template_err(record, "rejected"))?;
    if prompt_a != prompt_b {
        return Err(TokenizeError::InvalidRecord {
            record,
            field: "prompt".into(),
            expected: "the same prompt rendering with the chosen and the rejected completion"
                .into(),
            got: "two different renderings (the template depends on the completion)".into(),
        });
    }
    let (prompt, p_cut) = enc.prompt(&prompt_a, record, "prompt")?;
    let (chosen, c_cut) = enc.completion(&chosen, record, "chosen")?;
    let (rejected, r_cut) = enc.completion(&rejected, record, "rejected")?;
    if prompt.is_empty() {
        report.drop_record(DropReason::EmptyPrompt);
        return Ok(None);
    }
    if chosen.is_empty() || rejected.is_empty() {
        report.drop_record(DropReason::EmptyCompletion);
        return Ok(None);
    }
    report.keep(p_cut, c_cut || r_cut);
    Ok(Some(TokenizedPair {
        prompt,
        chosen,
        rejected,
        p_chosen: pair.p_chosen as f32,
        margin: pair.margin.map(|m| m as f32),
        weight: 1.0,
        group: record,
    }))
}
