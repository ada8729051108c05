//! Collation of preference pairs, rankings, unpaired examples and prompts: hand-checked
//! tensors, and property tests that masks never mix.

use std::collections::HashSet;

use burn::tensor::{Device, Int, Tensor};
use pref_data::{
    BatchConfig, BatchSource, PaddingSide, PairBatches, PromptBatches, RankedBatches,
    TokenizedPair, TokenizedPrompt, TokenizedRanked, TokenizedUnpaired, UnpairedBatches,
};
use proptest::prelude::*;

const PAD: u32 = 0;

fn rows(t: Tensor<2, Int>) -> Vec<Vec<i64>> {
    let [b, n] = t.dims();
    let v: Vec<i64> = t
        .into_data()
        .convert::<i64>()
        .try_into_vec::<i64>()
        .expect("int data");
    (0..b).map(|r| v[r * n..(r + 1) * n].to_vec()).collect()
}

fn floats(t: Tensor<1>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

fn pair(prompt: &[u32], chosen: &[u32], rejected: &[u32]) -> TokenizedPair {
    TokenizedPair {
        prompt: prompt.to_vec(),
        chosen: chosen.to_vec(),
        rejected: rejected.to_vec(),
        p_chosen: 1.0,
        margin: None,
        weight: 1.0,
        group: 0,
    }
}

/// Two pairs of lengths 5 and 6: length sorting puts them in the order 0, 1.
fn two_pairs() -> Vec<TokenizedPair> {
    let a = pair(&[1, 10], &[20, 2], &[21, 22, 2]);
    let mut b = pair(&[1, 11, 12, 13], &[23, 2], &[2]);
    b.p_chosen = 0.75;
    b.margin = Some(0.5);
    b.weight = 0.25;
    b.group = 1;
    vec![a, b]
}

fn cfg(side: PaddingSide) -> BatchConfig {
    BatchConfig {
        batch_size: 2,
        padding_side: side,
        seed: 7,
        group_by_length: true,
    }
}

#[test]
fn pairs_right_padding_exact_tensors() {
    let dev = Device::flex();
    let src = PairBatches::new(two_pairs(), PAD, &cfg(PaddingSide::Right)).unwrap();
    assert_eq!(src.len(), 1);
    let b = src.batch(0, &dev);
    assert_eq!(b.indices, vec![0, 1]);
    assert_eq!(b.num_pairs(), 2);
    assert_eq!(
        rows(b.ids),
        vec![
            vec![1, 10, 20, 2, 0, 0],
            vec![1, 11, 12, 13, 23, 2],
            vec![1, 10, 21, 22, 2, 0],
            vec![1, 11, 12, 13, 2, 0],
        ]
    );
    assert_eq!(
        rows(b.attention_mask),
        vec![
            vec![1, 1, 1, 1, 0, 0],
            vec![1, 1, 1, 1, 1, 1],
            vec![1, 1, 1, 1, 1, 0],
            vec![1, 1, 1, 1, 1, 0],
        ]
    );
    assert_eq!(
        rows(b.completion_mask),
        vec![
            vec![0, 0, 1, 1, 0, 0],
            vec![0, 0, 0, 0, 1, 1],
            vec![0, 0, 1, 1, 1, 0],
            vec![0, 0, 0, 0, 1, 0],
        ]
    );
    assert_eq!(floats(b.p_chosen), vec![1.0, 0.75]);
    assert_eq!(floats(b.margin), vec![0.0, 0.5]);
    assert!(b.has_margin);
    assert_eq!(floats(b.weight), vec![1.0, 0.25]);
    assert_eq!(src.tokens(), 2 * 2 + 2 + 3 + 2 * 4 + 2 + 1);
    assert_eq!(src.padding_tokens(), 2 + 1 + 1);
}

#[test]
fn pairs_left_padding_exact_tensors() {
    let dev = Device::flex();
    let src = PairBatches::new(two_pairs(), 99, &cfg(PaddingSide::Left)).unwrap();
    let b = src.batch(0, &dev);
    assert_eq!(
        rows(b.ids),
        vec![
            vec![99, 99, 1, 10, 20, 2],
            vec![1, 11, 12, 13, 23, 2],
            vec![99, 1, 10, 21, 22, 2],
            vec![99, 1, 11, 12, 13, 2],
        ]
    );
    assert_eq!(
        rows(b.attention_mask),
        vec![
            vec![0, 0, 1, 1, 1, 1],
            vec![1, 1, 1, 1, 1, 1],
            vec![0, 1, 1, 1, 1, 1],
            vec![0, 1, 1, 1, 1, 1],
        ]
    );
    assert_eq!(
        rows(b.completion_mask),
        vec![
            vec![0, 0, 0, 0, 1, 1],
            vec![0, 0, 0, 0, 1, 1],
            vec![0, 0, 0, 1, 1, 1],
            vec![0, 0, 0, 0, 0, 1],
        ]
    );
}

#[test]
fn no_margin_batch_says_so() {
    let dev = Device::flex();
    let src = PairBatches::new(vec![pair(&[1], &[2], &[3])], PAD, &BatchConfig::default()).unwrap();
    let b = src.batch(0, &dev);
    assert!(!b.has_margin);
    assert_eq!(floats(b.margin), vec![0.0]);
}

#[test]
fn invalid_config_and_records_are_errors() {
    let zero = BatchConfig {
        batch_size: 0,
        ..Default::default()
    };
    let e = PairBatches::new(two_pairs(), PAD, &zero).unwrap_err();
    assert_eq!(
        e.to_string(),
        "batch config: `batch_size`: expected at least 1, got 0"
    );
    let mut bad = two_pairs();
    bad[1].rejected.clear();
    let e = PairBatches::new(bad, PAD, &BatchConfig::default()).unwrap_err();
    assert!(e.to_string().contains("record #1: field `rejected`"), "{e}");
    let mut bad = two_pairs();
    bad[0].p_chosen = 1.5;
    assert!(PairBatches::new(bad, PAD, &BatchConfig::default()).is_err());
    let one = TokenizedRanked {
        prompt: vec![1],
        completions: vec![vec![2]],
        implied: vec![],
        group: 0,
    };
    assert!(RankedBatches::new(vec![one], PAD, &BatchConfig::default()).is_err());
}

#[test]
fn ranked_rows_are_grouped_per_prompt_best_first() {
    let dev = Device::flex();
    let r = TokenizedRanked {
        prompt: vec![1, 5],
        completions: vec![vec![7, 2], vec![8, 2], vec![9, 9, 2]],
        implied: vec![(0, 1), (0, 2), (1, 2)],
        group: 0,
    };
    let src = RankedBatches::new(vec![r], PAD, &BatchConfig::default()).unwrap();
    let b = src.batch(0, &dev);
    assert_eq!(b.k, 3);
    assert_eq!(
        rows(b.ids),
        vec![
            vec![1, 5, 7, 2, 0],
            vec![1, 5, 8, 2, 0],
            vec![1, 5, 9, 9, 2]
        ]
    );
    assert_eq!(
        rows(b.completion_mask),
        vec![
            vec![0, 0, 1, 1, 0],
            vec![0, 0, 1, 1, 0],
            vec![0, 0, 1, 1, 1]
        ]
    );
}

#[test]
fn ranked_batches_never_mix_k() {
    let dev = Device::flex();
    let rankings: Vec<TokenizedRanked> = (0..20)
        .map(|i| TokenizedRanked {
            prompt: vec![1; 1 + i % 4],
            completions: vec![vec![3, 2]; 2 + i % 3],
            implied: vec![],
            group: i,
        })
        .collect();
    let cfg = BatchConfig {
        batch_size: 3,
        ..Default::default()
    };
    let src = RankedBatches::new(rankings.clone(), PAD, &cfg).unwrap();
    let mut seen = 0;
    for i in 0..src.len() {
        let b = src.batch(i, &dev);
        assert!(b.indices.iter().all(|&j| rankings[j].k() == b.k));
        assert_eq!(b.ids.dims()[0], b.k * b.indices.len());
        seen += b.indices.len();
    }
    assert_eq!(seen, 20);
}

#[test]
fn unpaired_and_prompt_batches() {
    let dev = Device::flex();
    let ex = vec![
        TokenizedUnpaired {
            prompt: vec![1, 4],
            completion: vec![6, 2],
            label: true,
            group: 0,
        },
        TokenizedUnpaired {
            prompt: vec![1, 4, 4],
            completion: vec![7, 7, 2],
            label: false,
            group: 1,
        },
    ];
    let src = UnpairedBatches::new(ex, PAD, &cfg(PaddingSide::Right)).unwrap();
    let b = src.batch(0, &dev);
    assert_eq!(b.indices, vec![0, 1]);
    assert_eq!(
        rows(b.ids),
        vec![vec![1, 4, 6, 2, 0, 0], vec![1, 4, 4, 7, 7, 2]]
    );
    assert_eq!(
        rows(b.completion_mask),
        vec![vec![0, 0, 1, 1, 0, 0], vec![0, 0, 0, 1, 1, 1]]
    );
    assert_eq!(floats(b.label), vec![1.0, 0.0]);

    let prompts = vec![
        TokenizedPrompt {
            prompt: vec![1, 4],
            reference: Some("42".into()),
            group: 0,
        },
        TokenizedPrompt {
            prompt: vec![1, 5, 6, 7],
            reference: None,
            group: 1,
        },
    ];
    // Right padding requested, but prompts for generation are always left-padded.
    let src = PromptBatches::new(prompts, PAD, &cfg(PaddingSide::Right)).unwrap();
    let b = src.batch(0, &dev);
    assert_eq!(rows(b.ids), vec![vec![0, 0, 1, 4], vec![1, 5, 6, 7]]);
    assert_eq!(
        rows(b.attention_mask),
        vec![vec![0, 0, 1, 1], vec![1, 1, 1, 1]]
    );
    assert_eq!(b.references, vec![Some("42".to_string()), None]);
}

fn arb_pairs() -> impl Strategy<Value = Vec<TokenizedPair>> {
    let seq = |lo: usize| prop::collection::vec(1u32..50, lo..9);
    prop::collection::vec(
        (
            seq(1),
            seq(1),
            seq(1),
            0.0f32..=1.0,
            prop::option::of(-2.0f32..2.0),
        ),
        1..24,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (prompt, chosen, rejected, p, m))| TokenizedPair {
                prompt,
                chosen,
                rejected,
                p_chosen: p,
                margin: m,
                weight: 1.0,
                group: i,
            })
            .collect()
    })
}

fn strip(ids: &[i64], attn: &[i64]) -> Vec<i64> {
    ids.iter()
        .zip(attn)
        .filter(|&(_, &a)| a == 1)
        .map(|(&i, _)| i)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// completion_mask ⊆ attention_mask; padding is the pad id on the chosen side only;
    /// a pair's prompt tokens are identical in its chosen and rejected rows; every pair is
    /// in exactly one batch; the same seed gives the same batches.
    #[test]
    fn pair_batches_never_mix_masks(
        pairs in arb_pairs(),
        batch_size in 1usize..6,
        seed in 0u64..1000,
        left in any::<bool>(),
        group_by_length in any::<bool>(),
    ) {
        let dev = Device::flex();
        let cfg = BatchConfig {
            batch_size,
            padding_side: if left { PaddingSide::Left } else { PaddingSide::Right },
            seed,
            group_by_length,
        };
        let src = PairBatches::new(pairs.clone(), PAD, &cfg).unwrap();
        let again = PairBatches::new(pairs.clone(), PAD, &cfg).unwrap();
        prop_assert_eq!(src.len(), pairs.len().div_ceil(batch_size));
        let mut seen = HashSet::new();
        for bi in 0..src.len() {
            let b = src.batch(bi, &dev);
            let b2 = again.batch(bi, &dev);
            prop_assert_eq!(&b.indices, &b2.indices);
            prop_assert_eq!(rows(b.ids.clone()), rows(b2.ids));
            let n = b.num_pairs();
            prop_assert!(n >= 1 && n <= batch_size);
            let (ids, attn, comp) = (rows(b.ids), rows(b.attention_mask), rows(b.completion_mask));
            prop_assert_eq!(ids.len(), 2 * n);
            prop_assert_eq!(b.p_chosen.dims(), [n]);
            for r in 0..2 * n {
                for j in 0..ids[r].len() {
                    prop_assert!(comp[r][j] <= attn[r][j]);
                    if attn[r][j] == 0 {
                        prop_assert_eq!(ids[r][j], PAD as i64);
                    }
                }
                // Padding sits on one side only.
                let first_real = attn[r].iter().position(|&a| a == 1).unwrap();
                let last_real = attn[r].iter().rposition(|&a| a == 1).unwrap();
                prop_assert!(attn[r][first_real..=last_real].iter().all(|&a| a == 1));
                if left { prop_assert_eq!(last_real, attn[r].len() - 1); } else { prop_assert_eq!(first_real, 0); }
            }
            for (i, &idx) in b.indices.iter().enumerate() {
                prop_assert!(seen.insert(idx));
                let p = &pairs[idx];
                let c = strip(&ids[i], &attn[i]);
                let r = strip(&ids[n + i], &attn[n + i]);
                let np = p.prompt.len();
                let as_i64 = |v: &[u32]| v.iter().map(|&x| x as i64).collect::<Vec<_>>();
                prop_assert_eq!(&c[..np], &r[..np]);
                let want = as_i64(&p.prompt);
                prop_assert_eq!(&c[..np], &want[..]);
                let want = as_i64(&p.chosen);
                prop_assert_eq!(&c[np..], &want[..]);
                let want = as_i64(&p.rejected);
                prop_assert_eq!(&r[np..], &want[..]);
                // The completion mask marks exactly the completion tokens.
                prop_assert_eq!(strip(&comp[i], &attn[i]).iter().sum::<i64>(), p.chosen.len() as i64);
                prop_assert_eq!(strip(&comp[n + i], &attn[n + i]).iter().sum::<i64>(), p.rejected.len() as i64);
                prop_assert!(strip(&comp[i], &attn[i])[..np].iter().all(|&m| m == 0));
            }
        }
        prop_assert_eq!(seen.len(), pairs.len());
    }
}
