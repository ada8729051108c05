//! The SentencePiece vocabulary of a Gemma GGUF file as a BPE vocabulary: whitespace
//! tokens respelled with "▁", and the merges transformers derives from the token order.

use std::collections::HashMap;

/// SentencePiece's word-boundary symbol.
pub(super) const METASPACE: char = '▁';

/// Python's `str.isspace` for one char: Unicode `White_Space` plus U+001C..U+001F, which
/// Python counts as whitespace and Rust does not.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A token of only whitespace that contains a space is spelled with "▁" (one per char).
pub(super) fn respell(token: &str) -> String {
    if token.contains(' ') && token.chars().all(is_python_space) {
        METASPACE.to_string().repeat(token.chars().count())
    } else {
        token.to_owned()
    }
}

/// token → id; `Err((token, first, second))` on a duplicate.
pub(super) fn vocabulary(tokens: &[String]) -> Result<HashMap<String, u32>, (String, u32, u32)> {
    let mut vocab = HashMap::with_capacity(tokens.len());
    for (id, token) in tokens.iter().enumerate() {
        // GGUF arrays index tokens by u32 ids in practice; larger vocabularies cannot be
        // addressed by the tokenizers crate anyway.
        let id = id as u32;
        if let Some(first) = vocab.insert(token.clone(), id) {
            return Err((token.clone(), first, id));
        }
    }
    Ok(vocab)
}

/// The merges transformers derives for Gemma (`generate_merges` with the negated id as the
/// score): every split of every token into two vocabulary tokens, ordered by the token's
/// id, then by the left part's length, longest first.
pub(super) fn gemma_merges(
    tokens: &[String],
    vocab: &HashMap<String, u32>,
) -> Vec<(String, String)> {
    let mut merges = Vec::new();
    for token in tokens {
        // Split points at char boundaries, from the end: longest left part first.
        let cuts: Vec<usize> = token.char_indices().skip(1).map(|(i, _)| i).collect();
        for &cut in cuts.iter().rev() {
            let (left, right) = token.split_at(cut);
            if vocab.contains_key(left) && vocab.contains_key(right) {
                merges.push((left.to_owned(), right.to_owned()));
            }
        }
    }
    merges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_follow_token_order_then_longest_left_part() {
        let tokens: Vec<String> = ["a", "b", "c", "ab", "abc", "bc", "cab"]
            .map(String::from)
            .to_vec();
        let vocab = vocabulary(&tokens).unwrap();
        let merges = gemma_merges(&tokens, &vocab);
        let pairs: Vec<(&str, &str)> = merges
            .iter()
            .map(|(l, r)| (l.as_str(), r.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("a", "b"),  // ab
                ("ab", "c"), // abc, longest left first
                ("a", "bc"), // abc
                ("b", "c"),  // bc
                ("c", "ab"), // cab ("ca" is not a token)
            ]
        );
    }

    #[test]
    fn whitespace_tokens_with_a_space_are_respelled() {
        assert_eq!(respell("  "), "▁▁");
        assert_eq!(respell(" \t "), "▁▁▁");
        assert_eq!(respell(" \u{1c}"), "▁▁"); // Python's isspace counts U+001C
        assert_eq!(respell("\n\n"), "\n\n"); // no space: kept
        assert_eq!(respell(" a"), " a"); // not all whitespace: kept
        assert_eq!(respell("\t"), "\t");
    }
}
