//! Which records go in which batch: seeded shuffle, length bucketing, cutting.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::BatchConfig;

/// Records per sorting window, in batches.
const WINDOW_BATCHES: usize = 32;

/// Batches of record indices for records of the given lengths, all in one class.
pub(crate) fn plan(lengths: &[usize], cfg: &BatchConfig) -> Vec<Vec<usize>> {
    plan_classes(lengths, &vec![0; lengths.len()], cfg)
}

/// Batches of record indices, never mixing records of different `class` (e.g. a ranking's
/// K): each class is shuffled, bucketed and cut on its own, then all batches are shuffled.
pub(crate) fn plan_classes(
    lengths: &[usize],
    class: &[usize],
    cfg: &BatchConfig,
) -> Vec<Vec<usize>> {
    let bs = cfg.batch_size.max(1);
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut classes: Vec<usize> = class.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let mut batches = Vec::new();
    for c in classes {
        let mut order: Vec<usize> = (0..lengths.len()).filter(|&i| class[i] == c).collect();
        order.shuffle(&mut rng);
        if cfg.group_by_length {
            for window in order.chunks_mut(bs * WINDOW_BATCHES) {
                window.sort_by_key(|&i| lengths[i]);
            }
        }
        batches.extend(order.chunks(bs).map(<[usize]>::to_vec));
    }
    batches.shuffle(&mut rng);
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_once_classes_unmixed_and_deterministic() {
        let lengths: Vec<usize> = (0..103).map(|i| (i * 37) % 50).collect();
        let class: Vec<usize> = (0..103).map(|i| i % 3).collect();
        let cfg = BatchConfig {
            batch_size: 4,
            ..Default::default()
        };
        let a = plan_classes(&lengths, &class, &cfg);
        assert_eq!(a, plan_classes(&lengths, &class, &cfg));
        let mut all: Vec<usize> = a.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
        for b in &a {
            assert!(b.len() <= 4 && !b.is_empty());
            assert!(b.iter().all(|&i| class[i] == class[b[0]]));
        }
        let other = plan_classes(&lengths, &class, &BatchConfig { seed: 1, ..cfg });
        assert_ne!(a, other);
    }

    #[test]
    fn grouping_cuts_padding() {
        let lengths: Vec<usize> = (0..512).map(|i| (i * 7919) % 300 + 1).collect();
        let pad = |batches: &[Vec<usize>]| -> usize {
            batches
                .iter()
                .map(|b| {
                    let m = b.iter().map(|&i| lengths[i]).max().unwrap();
                    b.iter().map(|&i| m - lengths[i]).sum::<usize>()
                })
                .sum()
        };
        let grouped = BatchConfig::default();
        let ungrouped = BatchConfig {
            group_by_length: false,
            ..Default::default()
        };
        assert!(pad(&plan(&lengths, &grouped)) * 5 < pad(&plan(&lengths, &ungrouped)));
    }
}
