//! Majority vote per item, with an explicit policy for ties.
//!
//! ```text
//! counts_i(c) = #{ annotations on item i with label c }
//! winners_i   = argmax_c counts_i(c)          (a set: several labels may share the maximum)
//! label_i     = the single winner, or TiePolicy(winners_i) when there are several
//! ```
//!
//! The result depends only on each item's counts, so it does not depend on the order of the
//! votes (tested). Items with no vote get [`MajorityLabel::NoVotes`]; nothing is dropped.

use rlhf_core::ConfigError;
use serde::{Deserialize, Serialize};

use super::{Annotations, LabellingError};

/// What to do when several labels share an item's highest count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TiePolicy {
    /// Leave the item undecided: [`MajorityLabel::Tied`] lists the tied labels. Callers
    /// usually drop such items, and the report counts them.
    Abstain,
    /// Take the lowest tied label index. Deterministic but biased towards low labels: with
    /// [`Vote`](super::Vote) classes it always picks A in an A-vs-B split.
    Lowest,
    /// Assign this label, whichever labels tied. For pairwise votes, `Label(Vote::Tie.class())`
    /// turns an A-vs-B deadlock into a tie, the usual choice for preference data.
    Label(usize),
    /// Pick one tied label uniformly at random, from a generator seeded by `(seed, item)` so
    /// the pick is reproducible and independent of the order of items and votes.
    Random {
        /// Seed.
        seed: u64,
    },
}

/// The aggregated label of one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MajorityLabel {
    /// A label was chosen; `tie_broken` says whether the tie policy chose it.
    Decided {
        /// The label.
        label: usize,
        /// `true` if several labels shared the highest count.
        tie_broken: bool,
    },
    /// Several labels share the highest count and the policy is [`TiePolicy::Abstain`].
    Tied(Vec<usize>),
    /// The item has no vote.
    NoVotes,
}

/// One item's vote counts and aggregated label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MajorityItem {
    /// Number of votes for each class.
    pub counts: Vec<usize>,
    /// The aggregated label.
    pub outcome: MajorityLabel,
}

impl MajorityItem {
    /// The decided label, if any.
    pub fn label(&self) -> Option<usize> {
        match self.outcome {
            MajorityLabel::Decided { label, .. } => Some(label),
            _ => None,
        }
    }

    /// Share of the item's votes that went to `label` (`None` without votes): e.g. the soft
    /// label `P(A preferred)` of a pairwise item.
    pub fn share(&self, label: usize) -> Option<f64> {
        let total: usize = self.counts.iter().sum();
        (total > 0).then(|| self.counts.get(label).copied().unwrap_or(0) as f64 / total as f64)
    }
}

/// Majority vote over every item, with counts of how each item was settled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MajorityVote {
    /// One entry per item, in item order.
    pub items: Vec<MajorityItem>,
    /// Items with a strict majority.
    pub clear: usize,
    /// Items whose label was chosen by the tie policy.
    pub tie_broken: usize,
    /// Items left [`MajorityLabel::Tied`].
    pub abstained: usize,
    /// Items with no vote.
    pub unlabelled: usize,
}

impl MajorityVote {
    /// The decided label of each item (`None` for tied or unlabelled items).
    pub fn labels(&self) -> Vec<Option<usize>> {
        self.items.iter().map(MajorityItem::label).collect()
    }
}

/// Majority vote of each item of `annotations`, ties settled by `policy`.
///
/// Errors: [`TiePolicy::Label`] with a label outside `0..n_classes`.
pub fn majority_vote(
    annotations: &Annotations,
    policy: TiePolicy,
) -> Result<MajorityVote, LabellingError> {
    if let TiePolicy::Label(l) = policy
        && l >= annotations.n_classes()
    {
        return Err(LabellingError::Config {
            config: "TiePolicy",
            source: ConfigError::new(
                "Label",
                format_args!(
                    "a label below the number of classes ({})",
                    annotations.n_classes()
                ),
                l,
            ),
        });
    }
    let mut out = MajorityVote {
        items: Vec::with_capacity(annotations.n_items()),
        clear: 0,
        tie_broken: 0,
        abstained: 0,
        unlabelled: 0,
    };
    for (item, counts) in annotations.class_counts().into_iter().enumerate() {
        let max = counts.iter().copied().max().unwrap_or(0);
        let outcome = if max == 0 {
            out.unlabelled += 1;
            MajorityLabel::NoVotes
        } else {
            let winners: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] == max).collect();
            if winners.len() == 1 {
                out.clear += 1;
                MajorityLabel::Decided {
                    label: winners[0],
                    tie_broken: false,
                }
            } else {
                let label = match policy {
                    TiePolicy::Abstain => None,
                    TiePolicy::Lowest => Some(winners[0]),
                    TiePolicy::Label(l) => Some(l),
                    TiePolicy::Random { seed } => {
                        let h = splitmix64(seed ^ splitmix64(item as u64));
                        Some(winners[(h % winners.len() as u64) as usize])
                    }
                };
                match label {
                    Some(label) => {
                        out.tie_broken += 1;
                        MajorityLabel::Decided {
                            label,
                            tie_broken: true,
                        }
                    }
                    None => {
                        out.abstained += 1;
                        MajorityLabel::Tied(winners)
                    }
                }
            }
        };
        out.items.push(MajorityItem { counts, outcome });
    }
    Ok(out)
}

/// SplitMix64 (Steele, Lea and Flood 2014): a well-mixed 64-bit hash of `x`.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labelling::{Annotation, Vote};
    use proptest::prelude::*;

    fn pairwise() -> Annotations {
        // item 0: A A B -> A; item 1: A B -> tie between A and B; item 2: no vote;
        // item 3: Tie Tie A -> Tie.
        Annotations::from_pairwise(
            4,
            3,
            [
                (0, 0, Vote::A),
                (0, 1, Vote::A),
                (0, 2, Vote::B),
                (1, 0, Vote::A),
                (1, 1, Vote::B),
                (3, 0, Vote::Tie),
                (3, 1, Vote::Tie),
                (3, 2, Vote::A),
            ],
        )
        .unwrap()
    }

    #[test]
    fn hand_counted_items_under_each_policy() {
        let a = pairwise();
        let m = majority_vote(&a, TiePolicy::Abstain).unwrap();
        assert_eq!(m.labels(), vec![Some(0), None, None, Some(2)]);
        assert_eq!(m.items[1].outcome, MajorityLabel::Tied(vec![0, 1]));
        assert_eq!(m.items[2].outcome, MajorityLabel::NoVotes);
        assert_eq!(
            (m.clear, m.tie_broken, m.abstained, m.unlabelled),
            (2, 0, 1, 1)
        );
        assert_eq!(m.items[0].share(0), Some(2.0 / 3.0));
        assert_eq!(m.items[2].share(0), None);

        let m = majority_vote(&a, TiePolicy::Lowest).unwrap();
        assert_eq!(m.labels(), vec![Some(0), Some(0), None, Some(2)]);
        assert_eq!((m.tie_broken, m.abstained), (1, 0));

        let m = majority_vote(&a, TiePolicy::Label(Vote::Tie.class())).unwrap();
        assert_eq!(m.labels(), vec![Some(0), Some(2), None, Some(2)]);
        assert_eq!(
            m.items[1].outcome,
            MajorityLabel::Decided {
                label: 2,
                tie_broken: true
            }
        );

        let m = majority_vote(&a, TiePolicy::Random { seed: 3 }).unwrap();
        assert!(matches!(m.labels()[1], Some(0) | Some(1)));

        assert!(matches!(
            majority_vote(&a, TiePolicy::Label(3)),
            Err(LabellingError::Config { .. })
        ));
    }

    #[test]
    fn random_policy_picks_every_tied_label_across_items() {
        // 200 items each tied A-vs-B: a fair pick lands on each side about half the time.
        let votes: Vec<_> = (0..200)
            .flat_map(|i| [(i, 0, Vote::A), (i, 1, Vote::B)])
            .collect();
        let a = Annotations::from_pairwise(200, 2, votes).unwrap();
        let m = majority_vote(&a, TiePolicy::Random { seed: 11 }).unwrap();
        let picked_a = m.labels().iter().filter(|l| **l == Some(0)).count();
        assert!((70..=130).contains(&picked_a), "{picked_a}");
        assert_eq!(m.tie_broken, 200);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn invariant_to_vote_order(
            votes in prop::collection::vec((0usize..5, 0usize..4, 0usize..3), 1..40),
            seed in 0u64..1000,
            rot in 0usize..40,
        ) {
            let ann: Vec<Annotation> = votes.iter().map(|&(i, j, l)| Annotation::new(i, j, l)).collect();
            let mut shuffled = ann.clone();
            shuffled.reverse();
            let r = rot % shuffled.len();
            shuffled.rotate_left(r);
            for policy in [TiePolicy::Abstain, TiePolicy::Lowest, TiePolicy::Label(2), TiePolicy::Random { seed }] {
                let a = majority_vote(&Annotations::new(5, 4, 3, ann.clone()).unwrap(), policy).unwrap();
                let b = majority_vote(&Annotations::new(5, 4, 3, shuffled.clone()).unwrap(), policy).unwrap();
                prop_assert_eq!(&a, &b);
                // A decided label always has the highest count, unless the policy imposed it.
                for item in &a.items {
                    if let MajorityLabel::Decided { label, tie_broken } = item.outcome {
                        let max = *item.counts.iter().max().unwrap();
                        prop_assert!(item.counts[label] == max || (tie_broken && policy == TiePolicy::Label(2)));
                    }
                }
                prop_assert_eq!(a.clear + a.tie_broken + a.abstained + a.unlabelled, 5);
            }
        }
    }
}
