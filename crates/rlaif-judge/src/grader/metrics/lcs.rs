//! Length of the longest common subsequence, bit-parallel (Hyyrö 2004): `O(⌈m/64⌉·n)`
//! word operations, so long outputs stay cheap.

use std::collections::HashMap;
use std::hash::Hash;

/// Length of the longest common subsequence of `a` and `b`.
pub fn lcs_len<T: Eq + Hash>(a: &[T], b: &[T]) -> usize {
    let (pattern, text) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let m = pattern.len();
    if m == 0 {
        return 0;
    }
    let words = m.div_ceil(64);
    let mut masks: HashMap<&T, Vec<u64>> = HashMap::new();
    for (i, t) in pattern.iter().enumerate() {
        masks.entry(t).or_insert_with(|| vec![0; words])[i / 64] |= 1 << (i % 64);
    }
    let mut s = vec![u64::MAX; words];
    for t in text {
        let Some(mask) = masks.get(t) else { continue };
        // S = (S + (S & M)) | (S & !M), with the addition carried across words.
        let mut carry = 0u64;
        for w in 0..words {
            let u = s[w] & mask[w];
            let (sum1, c1) = s[w].overflowing_add(u);
            let (sum2, c2) = sum1.overflowing_add(carry);
            carry = u64::from(c1 || c2);
            s[w] = sum2 | (s[w] & !mask[w]);
        }
    }
    let mut zeros = 0;
    for (w, &v) in s.iter().enumerate() {
        let bits = if w + 1 == words && m % 64 != 0 {
            m % 64
        } else {
            64
        };
        let valid = if bits == 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        zeros += (!v & valid).count_ones() as usize;
    }
    zeros
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[char], b: &[char]) -> usize {
        let mut t = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                t[i][j] = if a[i - 1] == b[j - 1] {
                    t[i - 1][j - 1] + 1
                } else {
                    t[i - 1][j].max(t[i][j - 1])
                };
            }
        }
        t[a.len()][b.len()]
    }

    #[test]
    fn matches_the_dynamic_programme_across_word_boundaries() {
        let mut state = 12345u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for _ in 0..200 {
            let la = next(150) as usize;
            let lb = next(150) as usize;
            let a: Vec<char> = (0..la).map(|_| (b'a' + next(4) as u8) as char).collect();
            let b: Vec<char> = (0..lb).map(|_| (b'a' + next(4) as u8) as char).collect();
            assert_eq!(lcs_len(&a, &b), naive(&a, &b), "{a:?} {b:?}");
        }
    }
}
