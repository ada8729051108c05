//! Unpaired examples → [`TokenizedUnpaired`].

use lm::tokenizer::Tokenizer;

use super::report::DropReason;
use super::{Encoder, TokenizeConfig, TokenizeError, TokenizeReport, template_err};
use crate::batch::TokenizedUnpaired;
use crate::record::UnpairedExample;
use crate::template::ChatTemplate;

/// Tokenises unpaired (KTO) examples; the label is carried over.
pub fn tokenize_unpaired(
    examples: &[UnpairedExample],
    tokenizer: &Tokenizer,
    template: &ChatTemplate,
    cfg: &TokenizeConfig,
) -> Result<(Vec<TokenizedUnpaired>, TokenizeReport), TokenizeError> {
    let enc = Encoder::new(tokenizer, cfg)?;
    let mut report = TokenizeReport::default();
    let mut out = Vec::with_capacity(examples.len());
    for (record, e) in examples.iter().enumerate() {
        let (p, c) = template
            .render_pair(&e.prompt, &e.completion)
            .map_err(template_err(record, "completion"))?;
        let (prompt, p_cut) = enc.prompt(&p, record, "prompt")?;
        let (completion, c_cut) = enc.completion(&c, record, "completion")?;
        if prompt.is_empty() {
            report.drop_record(DropReason::EmptyPrompt);
        } else if completion.is_empty() {
            report.drop_record(DropReason::EmptyCompletion);
        } else {
            report.keep(p_cut, c_cut);
            out.push(TokenizedUnpaired {
                prompt,
                completion,
                label: e.label,
                group: record,
            });
        }
    }
    Ok((out, report))
}
