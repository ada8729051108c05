//! Annotation records: which annotator gave which categorical label to which item.
//!
//! Every aggregation and agreement function takes an [`Annotations`] set: items, annotators
//! and classes are dense indices `0..n`, and construction checks every index against the
//! declared sizes. [`Annotations::from_named`] builds one from string ids; pairwise
//! preference votes ([`Vote`]) map to the three classes `A = 0`, `B = 1`, `Tie = 2`.
//!
//! An annotator may label the same item more than once (Dawid and Skene 1979 allow repeated
//! assessments); the agreement statistics, which need one label per annotator and item,
//! reject such repeats with [`LabellingError::DuplicateLabel`].

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::LabellingError;

/// One categorical label given by one annotator to one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Annotation {
    /// The item (e.g. a prompt with two responses), `0..n_items`.
    pub item: usize,
    /// The annotator, `0..n_annotators`.
    pub annotator: usize,
    /// The label, `0..n_classes`.
    pub label: usize,
}

impl Annotation {
    /// An annotation.
    pub fn new(item: usize, annotator: usize, label: usize) -> Self {
        Self {
            item,
            annotator,
            label,
        }
    }
}

/// A pairwise preference vote on an item that shows two responses, A and B.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Vote {
    /// Response A is better.
    A,
    /// Response B is better.
    B,
    /// Neither is better.
    Tie,
}

impl Vote {
    /// Number of classes a vote maps to.
    pub const CLASSES: usize = 3;

    /// The class index: `A = 0`, `B = 1`, `Tie = 2`.
    pub fn class(self) -> usize {
        match self {
            Vote::A => 0,
            Vote::B => 1,
            Vote::Tie => 2,
        }
    }

    /// The vote of a class index, `None` beyond 2.
    pub fn from_class(class: usize) -> Option<Vote> {
        match class {
            0 => Some(Vote::A),
            1 => Some(Vote::B),
            2 => Some(Vote::Tie),
            _ => None,
        }
    }
}

/// A validated set of annotations over `n_items` items, `n_annotators` annotators and
/// `n_classes` classes.
#[derive(Clone, Debug, PartialEq)]
pub struct Annotations {
    n_items: usize,
    n_annotators: usize,
    n_classes: usize,
    annotations: Vec<Annotation>,
}

/// [`Annotations`] built from string ids, with the ids of each index.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedAnnotations {
    /// The annotations, with items and annotators numbered in order of first appearance.
    pub annotations: Annotations,
    /// `items[i]` is the id of item `i`.
    pub items: Vec<String>,
    /// `annotators[j]` is the id of annotator `j`.
    pub annotators: Vec<String>,
}

impl Annotations {
    /// Checks every annotation against the declared sizes.
    ///
    /// Errors: no annotation, a size of zero, or an index out of range (naming the
    /// annotation's position and field).
    pub fn new(
        n_items: usize,
        n_annotators: usize,
        n_classes: usize,
        annotations: Vec<Annotation>,
    ) -> Result<Self, LabellingError> {
        if annotations.is_empty() {
            return Err(LabellingError::Empty {
                what: "annotations",
                expected: "at least one annotation",
            });
        }
        if n_classes == 0 {
            return Err(LabellingError::Empty {
                what: "classes",
                expected: "at least one class",
            });
        }
        for (index, a) in annotations.iter().enumerate() {
            for (field, got, bound) in [
                ("item", a.item, n_items),
                ("annotator", a.annotator, n_annotators),
                ("label", a.label, n_classes),
            ] {
                if got >= bound {
                    return Err(LabellingError::OutOfRange {
                        what: "annotation",
                        index,
                        field,
                        got,
                        bound,
                    });
                }
            }
        }
        Ok(Self {
            n_items,
            n_annotators,
            n_classes,
            annotations,
        })
    }

    /// Pairwise votes `(item, annotator, vote)` as annotations with three classes
    /// ([`Vote::class`]).
    pub fn from_pairwise(
        n_items: usize,
        n_annotators: usize,
        votes: impl IntoIterator<Item = (usize, usize, Vote)>,
    ) -> Result<Self, LabellingError> {
        let annotations = votes
            .into_iter()
            .map(|(item, annotator, v)| Annotation::new(item, annotator, v.class()))
            .collect();
        Self::new(n_items, n_annotators, Vote::CLASSES, annotations)
    }

    /// Annotations `(item id, annotator id, label)` with string ids; items and annotators
    /// are numbered in order of first appearance.
    pub fn from_named<I, A>(
        n_classes: usize,
        records: impl IntoIterator<Item = (I, A, usize)>,
    ) -> Result<NamedAnnotations, LabellingError>
    where
        I: AsRef<str>,
        A: AsRef<str>,
    {
        fn index_of(ids: &mut Vec<String>, map: &mut HashMap<String, usize>, id: &str) -> usize {
            if let Some(&i) = map.get(id) {
                return i;
            }
            ids.push(id.to_string());
            map.insert(id.to_string(), ids.len() - 1);
            ids.len() - 1
        }
        let (mut items, mut item_map) = (Vec::new(), HashMap::new());
        let (mut annotators, mut annotator_map) = (Vec::new(), HashMap::new());
        let mut annotations = Vec::new();
        for (item, annotator, label) in records {
            let i = index_of(&mut items, &mut item_map, item.as_ref());
            let j = index_of(&mut annotators, &mut annotator_map, annotator.as_ref());
            annotations.push(Annotation::new(i, j, label));
        }
        let annotations = Self::new(items.len(), annotators.len(), n_classes, annotations)?;
        Ok(NamedAnnotations {
            annotations,
            items,
            annotators,
        })
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// Number of annotators.
    pub fn n_annotators(&self) -> usize {
        self.n_annotators
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// The annotations, in the order given.
    pub fn as_slice(&self) -> &[Annotation] {
        &self.annotations
    }

    /// Per item, the number of labels of each class: `counts[item][class]`.
    pub fn class_counts(&self) -> Vec<Vec<usize>> {
        let mut counts = vec![vec![0usize; self.n_classes]; self.n_items];
        for a in &self.annotations {
            counts[a.item][a.label] += 1;
        }
        counts
    }

    /// The annotator × item matrix of labels (`None` where missing), for statistics that
    /// need at most one label per annotator and item; `method` names the statistic in the
    /// [`LabellingError::DuplicateLabel`] error a repeat raises.
    pub fn label_matrix(
        &self,
        method: &'static str,
    ) -> Result<Vec<Vec<Option<usize>>>, LabellingError> {
        let mut matrix = vec![vec![None; self.n_items]; self.n_annotators];
        let mut first_at = vec![vec![usize::MAX; self.n_items]; self.n_annotators];
        for (index, a) in self.annotations.iter().enumerate() {
            let first = first_at[a.annotator][a.item];
            if first != usize::MAX {
                return Err(LabellingError::DuplicateLabel {
                    method,
                    item: a.item,
                    annotator: a.annotator,
                    first,
                    second: index,
                });
            }
            first_at[a.annotator][a.item] = index;
            matrix[a.annotator][a.item] = Some(a.label);
        }
        Ok(matrix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_names_the_annotation_and_field() {
        let e = Annotations::new(
            2,
            2,
            3,
            vec![Annotation::new(0, 0, 1), Annotation::new(1, 2, 0)],
        )
        .unwrap_err();
        assert_eq!(
            e,
            LabellingError::OutOfRange {
                what: "annotation",
                index: 1,
                field: "annotator",
                got: 2,
                bound: 2
            }
        );
        assert!(matches!(
            Annotations::new(1, 1, 2, vec![]),
            Err(LabellingError::Empty { .. })
        ));
    }

    #[test]
    fn named_ids_are_numbered_by_first_appearance() {
        let n = Annotations::from_named(2, [("q7", "ann", 1), ("q3", "bob", 0), ("q7", "bob", 1)])
            .unwrap();
        assert_eq!(n.items, ["q7", "q3"]);
        assert_eq!(n.annotators, ["ann", "bob"]);
        assert_eq!(
            n.annotations.as_slice(),
            &[
                Annotation::new(0, 0, 1),
                Annotation::new(1, 1, 0),
                Annotation::new(0, 1, 1)
            ]
        );
        assert_eq!(n.annotations.class_counts(), vec![vec![0, 2], vec![1, 0]]);
    }

    #[test]
    fn pairwise_votes_map_to_three_classes_and_repeats_are_caught() {
        let a =
            Annotations::from_pairwise(1, 2, [(0, 0, Vote::A), (0, 1, Vote::Tie), (0, 0, Vote::B)])
                .unwrap();
        assert_eq!(a.n_classes(), 3);
        assert_eq!(a.class_counts(), vec![vec![1, 1, 1]]);
        assert_eq!(
            a.label_matrix("test").unwrap_err(),
            LabellingError::DuplicateLabel {
                method: "test",
                item: 0,
                annotator: 0,
                first: 0,
                second: 2
            }
        );
        for c in 0..3 {
            assert_eq!(Vote::from_class(c).unwrap().class(), c);
        }
        assert_eq!(Vote::from_class(3), None);
    }
}
