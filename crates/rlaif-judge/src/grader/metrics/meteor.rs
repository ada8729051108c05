//! METEOR (Banerjee & Lavie 2005), as NLTK's `meteor_score` computes it.

use std::collections::HashMap;

use super::{porter, words};

/// A source of synonyms for METEOR's third matching stage (NLTK uses WordNet:
/// the lemma names of every synset of the word).
pub trait Synonyms {
    /// The synonyms of `word` (lowercase), without multi-word lemmas; the word itself
    /// need not be included.
    fn synonyms(&self, word: &str) -> Vec<String>;
}

/// No synonyms: METEOR with exact and stem matching only.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSynonyms;

impl Synonyms for NoSynonyms {
    fn synonyms(&self, _word: &str) -> Vec<String> {
        Vec::new()
    }
}

type Enum = Vec<(usize, String)>;

/// NLTK's `_match_enums`: from the last hypothesis word back, each word takes the last
/// unmatched reference position holding the same string.
fn match_enums(hyp: &Enum, reference: &Enum) -> (Vec<(usize, usize)>, Enum, Enum) {
    let mut positions: HashMap<&str, Vec<usize>> = HashMap::new();
    for (j, (_, w)) in reference.iter().enumerate() {
        positions.entry(w.as_str()).or_default().push(j);
    }
    let mut matches = Vec::new();
    let mut hyp_used = vec![false; hyp.len()];
    let mut ref_used = vec![false; reference.len()];
    for i in (0..hyp.len()).rev() {
        if let Some(p) = positions.get_mut(hyp[i].1.as_str())
            && let Some(j) = p.pop()
        {
            hyp_used[i] = true;
            ref_used[j] = true;
            matches.push((hyp[i].0, reference[j].0));
        }
    }
    (
        matches,
        keep_unused(hyp, &hyp_used),
        keep_unused(reference, &ref_used),
    )
}

fn keep_unused(list: &Enum, used: &[bool]) -> Enum {
    list.iter()
        .zip(used)
        .filter(|(_, u)| !**u)
        .map(|(p, _)| p.clone())
        .collect()
}

fn stemmed(list: &Enum) -> Enum {
    list.iter().map(|(i, w)| (*i, porter::stem(w))).collect()
}

/// NLTK's `_enum_wordnetsyn_match`.
fn synonym_match(hyp: &Enum, reference: &Enum, synonyms: &dyn Synonyms) -> Vec<(usize, usize)> {
    let mut positions: HashMap<&str, Vec<usize>> = HashMap::new();
    for (j, (_, w)) in reference.iter().enumerate() {
        positions.entry(w.as_str()).or_default().push(j);
    }
    let mut matches = Vec::new();
    for i in (0..hyp.len()).rev() {
        let word = hyp[i].1.as_str();
        let mut syns = synonyms.synonyms(word);
        syns.retain(|s| !s.contains('_'));
        syns.push(word.to_string());
        let mut best: Option<(usize, String)> = None;
        for syn in syns {
            if let Some(&j) = positions.get(syn.as_str()).and_then(|p| p.last())
                && best.as_ref().is_none_or(|(b, _)| j > *b)
            {
                best = Some((j, syn));
            }
        }
        if let Some((j, syn)) = best {
            if let Some(p) = positions.get_mut(syn.as_str()) {
                p.pop();
            }
            matches.push((hyp[i].0, reference[j].0));
        }
    }
    matches
}

/// METEOR with exact and Porter-stem matching only (no synonyms): NLTK's
/// `meteor_score([reference.split()], hypothesis.split(), wordnet=<none>)`. See
/// [`meteor_with`].
pub fn meteor(reference: &str, hypothesis: &str) -> f64 {
    meteor_with(reference, hypothesis, &NoSynonyms)
}

/// Sentence METEOR of `hypothesis` against one `reference`, as NLTK's
/// `meteor_score([reference.split()], hypothesis.split())` with `synonyms` in place of
/// WordNet.
///
/// Words are lowercased and aligned in three stages, each on the words the earlier stages
/// left: exact match, Porter-stem match, synonym match. With `m` aligned words, `c`
/// hypothesis and `r` reference words, `P = m/c`, `R = m/r`, and `ch` the fewest chunks
/// of adjacent aligned words in the same order,
///
/// ```text
/// F_mean = P·R / (α·P + (1 − α)·R)            α = 0.9
/// METEOR = F_mean · (1 − γ·(ch/m)^β)          β = 3, γ = 0.5
/// ```
///
/// and 0 when nothing aligns.
pub fn meteor_with(reference: &str, hypothesis: &str, synonyms: &dyn Synonyms) -> f64 {
    let hyp: Enum = words(hypothesis)
        .into_iter()
        .map(str::to_lowercase)
        .enumerate()
        .collect();
    let reference: Enum = words(reference)
        .into_iter()
        .map(str::to_lowercase)
        .enumerate()
        .collect();
    let (c, r) = (hyp.len(), reference.len());
    let (mut matches, h1, r1) = match_enums(&hyp, &reference);
    let (stem_matches, h2, r2) = match_enums(&stemmed(&h1), &stemmed(&r1));
    matches.extend(stem_matches);
    matches.extend(synonym_match(&h2, &r2, synonyms));
    matches.sort_by_key(|m| m.0);
    let m = matches.len();
    if m == 0 || c == 0 || r == 0 {
        return 0.0;
    }
    let precision = m as f64 / c as f64;
    let recall = m as f64 / r as f64;
    let (alpha, beta, gamma) = (0.9, 3.0, 0.5);
    let fmean = precision * recall / (alpha * precision + (1.0 - alpha) * recall);
    let mut chunks = 1;
    for w in matches.windows(2) {
        if !(w[1].0 == w[0].0 + 1 && w[1].1 == w[0].1 + 1) {
            chunks += 1;
        }
    }
    let frag = chunks as f64 / m as f64;
    (1.0 - gamma * frag.powf(beta)) * fmean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        // Identical 4-word texts: P = R = 1, one chunk: 1 − 0.5·(1/4)³.
        let v = meteor("the cat sat down", "the cat sat down");
        assert!((v - (1.0 - 0.5 / 64.0)).abs() < 1e-12, "{v}");
        assert_eq!(meteor("this is a cat", "non matching hypothesis"), 0.0);
        assert_eq!(meteor("", "a"), 0.0);
        // Stem match: "cats" ~ "cat".
        assert!(meteor("cats", "cat") > 0.0);
    }
}
