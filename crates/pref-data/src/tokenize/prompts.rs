//! Prompts for generation → [`TokenizedPrompt`].

use lm::tokenizer::Tokenizer;

use super::report::DropReason;
use super::{Encoder, TokenizeConfig, TokenizeError, TokenizeReport, template_err};
use crate::batch::TokenizedPrompt;
use crate::record::PromptExample;
use crate::template::ChatTemplate;

/// Tokenises prompts for generation: conversations are rendered with the generation
/// prompt; `max_prompt_len` keeps the end. The reference answer is carried over
/// (untokenised, for graders).
pub fn tokenize_prompts(
    prompts: &[PromptExample],
    tokenizer: &Tokenizer,
    template: &ChatTemplate,
    cfg: &TokenizeConfig,
) -> Result<(Vec<TokenizedPrompt>, TokenizeReport), TokenizeError> {
    let enc = Encoder::new(tokenizer, cfg)?;
    let mut report = TokenizeReport::default();
    let mut out = Vec::with_capacity(prompts.len());
    for (record, e) in prompts.iter().enumerate() {
        let text = template
            .render_prompt(&e.prompt)
            .map_err(template_err(record, "prompt"))?;
        let (prompt, cut) = enc.prompt(&text, record, "prompt")?;
        if prompt.is_empty() {
            report.drop_record(DropReason::EmptyPrompt);
        } else {
            report.keep(cut, false);
            out.push(TokenizedPrompt {
                prompt,
                reference: e.reference.clone(),
                group: record,
            });
        }
    }
    Ok((out, report))
}
