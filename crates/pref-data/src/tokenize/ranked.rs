//! Rankings → [`TokenizedRanked`] (Plackett–Luce form) and → implied [`TokenizedPair`]s.

use lm::tokenizer::Tokenizer;

use super::report::DropReason;
use super::{Encoder, TokenizeConfig, TokenizeError, TokenizeReport, template_err};
use crate::batch::{TokenizedPair, TokenizedRanked};
use crate::record::RankedExample;
use crate::template::ChatTemplate;

/// Tokenises rankings: completions best first ([`RankedExample::order`]), with their
/// implied pairs ([`RankedExample::implied_pairs`]) as positions in that order.
///
/// A ranking with fewer than 2 completions, or an empty prompt or completion, is dropped
/// and counted. Scores whose count differs from the completions', or that are not finite,
/// are an error naming the record.
pub fn tokenize_ranked(
    rankings: &[RankedExample],
    tokenizer: &Tokenizer,
    template: &ChatTemplate,
    cfg: &TokenizeConfig,
) -> Result<(Vec<TokenizedRanked>, TokenizeReport), TokenizeError> {
    let enc = Encoder::new(tokenizer, cfg)?;
    let mut report = TokenizeReport::default();
    let mut out = Vec::with_capacity(rankings.len());
    'records: for (record, r) in rankings.iter().enumerate() {
        if let Some(s) = &r.scores {
            if s.len() != r.completions.len() {
                return Err(TokenizeError::InvalidRecord {
                    record,
                    field: "scores".into(),
                    expected: format!("one score per completion ({})", r.completions.len()),
                    got: format!("{} scores", s.len()),
                });
            }
            if let Some(j) = s.iter().position(|x| !x.is_finite()) {
                return Err(TokenizeError::InvalidRecord {
                    record,
                    field: format!("scores[{j}]"),
                    expected: "a finite number".into(),
                    got: s[j].to_string(),
                });
            }
        }
        if r.completions.len() < 2 {
            report.drop_record(DropReason::TooFewCompletions);
            continue;
        }
        let order = r.order();
        let mut position = vec![0; order.len()];
        for (pos, &j) in order.iter().enumerate() {
            position[j] = pos;
        }
        let mut prompt = None;
        let mut completions = Vec::with_capacity(order.len());
        let (mut p_cut, mut c_cut) = (false, false);
        for &j in &order {
            let field = format!("completions[{j}]");
            let (p, c) = template
                .render_pair(&r.prompt, &r.completions[j])
                .map_err(template_err(record, &field))?;
            match &prompt {
                None => {
                    let (ids, cut) = enc.prompt(&p, record, "prompt")?;
                    p_cut = cut;
                    prompt = Some((p, ids));
                }
                Some((first, _)) if *first != p => {
                    return Err(TokenizeError::InvalidRecord {
                        record,
                        field: "prompt".into(),
                        expected: "the same prompt rendering with every completion".into(),
                        got: format!("a different rendering with {field}"),
                    });
                }
                Some(_) => {}
            }
            let (ids, cut) = enc.completion(&c, record, &field)?;
            c_cut |= cut;
            completions.push(ids);
        }
        let Some((_, prompt)) = prompt else {
            continue 'records;
        };
        if prompt.is_empty() {
            report.drop_record(DropReason::EmptyPrompt);
            continue;
        }
        if completions.iter().any(Vec::is_empty) {
            report.drop_record(DropReason::EmptyCompletion);
            continue;
        }
        report.keep(p_cut, c_cut);
        let implied = r
            .implied_pairs()
            .into_iter()
            .map(|(a, b)| (position[a], position[b]))
            .collect();
        out.push(TokenizedRanked {
            prompt,
            completions,
            implied,
            group: record,
        });
    }
    Ok((out, report))
}

/// Every implied pair of every ranking, each weighted `1 / #pairs of its ranking` so that
/// each prompt weighs 1 in total, however many completions it ranks (InstructGPT's
/// treatment of the C(K, 2) comparisons of one prompt, Ouyang et al. 2022, §3.5 / eq. 1:
/// `loss = −1/C(K,2) · Σ log σ(r(x, y_w) − r(x, y_l))`). Hard labels (`p_chosen = 1`), no
/// margin; `group` is the ranking's. A ranking whose completions all tie implies no pair.
pub fn ranked_to_pairs(rankings: &[TokenizedRanked]) -> Vec<TokenizedPair> {
    let mut out = Vec::new();
    for r in rankings {
        let w = 1.0 / r.implied.len().max(1) as f32;
        out.extend(r.implied.iter().map(|&(a, b)| TokenizedPair {
            prompt: r.prompt.clone(),
            chosen: r.completions[a].clone(),
            rejected: r.completions[b].clone(),
            p_chosen: 1.0,
            margin: None,
            weight: w,
            group: r.group,
        }));
    }
    out
}
