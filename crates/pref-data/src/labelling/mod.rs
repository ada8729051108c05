//! Labelling: aggregate several annotators' votes, measure their agreement, and build
//! preference-model pre-training pairs from scored answers.
//!
//! - [`votes`]: [`Annotations`] (item, annotator, label) with validated indices; pairwise
//!   [`Vote`]s (A, B, Tie);
//! - [`majority`]: majority vote per item with an explicit [`TiePolicy`];
//! - [`dawid_skene`]: Dawid-Skene EM (per-annotator confusion matrices, class priors,
//!   posteriors);
//! - [`bradley_terry`]: Bradley-Terry maximum-likelihood scores from pairwise comparisons
//!   (Hunter's MM algorithm), with an error or a prior when the MLE is not finite;
//! - [`kappa`]: Cohen's kappa (unweighted, linear, quadratic) for two annotators;
//! - [`krippendorff`]: Krippendorff's alpha for any number of annotators with missing labels
//!   (nominal, ordinal, interval, ratio);
//! - [`pmp`]: Stack Exchange preference-model pre-training pairs (Askell et al. 2021);
//! - [`error`]: the error type, [`LabellingError`].
//!
//! ```
//! use pref_data::labelling::{Annotations, TiePolicy, Vote, majority_vote};
//!
//! let votes = [(0, 0, Vote::A), (0, 1, Vote::A), (0, 2, Vote::B), (1, 0, Vote::A), (1, 1, Vote::B)];
//! let ann = Annotations::from_pairwise(2, 3, votes)?;
//! let m = majority_vote(&ann, TiePolicy::Label(Vote::Tie.class()))?;
//! assert_eq!(m.labels(), vec![Some(Vote::A.class()), Some(Vote::Tie.class())]);
//! # Ok::<(), pref_data::labelling::LabellingError>(())
//! ```

pub mod bradley_terry;
pub mod dawid_skene;
pub mod error;
pub mod kappa;
pub mod krippendorff;
pub mod majority;
pub mod pmp;
pub mod votes;

pub use bradley_terry::{BradleyTerry, BradleyTerryConfig, BradleyTerryFit};
pub use dawid_skene::{DawidSkene, DawidSkeneConfig, DawidSkeneFit};
pub use error::LabellingError;
pub use kappa::{CohenKappa, KappaWeights, cohen_kappa, cohen_kappa_annotators};
pub use krippendorff::{
    KrippendorffAlpha, Level, krippendorff_alpha, krippendorff_alpha_annotations,
};
pub use majority::{MajorityItem, MajorityLabel, MajorityVote, TiePolicy, majority_vote};
pub use pmp::{PmpConfig, PmpReport, StackAnswer, StackQuestion, pmp_pairs, pmp_ranked, pmp_score};
pub use votes::{Annotation, Annotations, NamedAnnotations, Vote};
