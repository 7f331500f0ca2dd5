//! How good the model is on one split: ROC AUC, PR AUC (average precision), log loss,
//! accuracy and the positive rate, computed from predicted probabilities and labels.
//!
//! The label is rare (1-2% positives on theLook), so ROC AUC and PR AUC are the numbers
//! to read; accuracy is reported next to the accuracy of always answering "no".

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::dataset::DayRange;

/// Probabilities are clipped to `[EPSILON, 1 - EPSILON]` before taking logs, so a confident
/// mistake costs a large but finite loss.
pub const LOG_LOSS_EPSILON: f64 = 1e-15;

/// Below this positive rate, accuracy mostly measures how rare the label is.
const RARE_POSITIVE_RATE: f64 = 0.1;

/// The metrics of both splits, as saved in `model_meta.json` and the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The probability at or above which a prediction counts as positive for accuracy.
    pub threshold: f64,
    /// Metrics on the rows the model was fitted on.
    pub train: SplitMetrics,
    /// Metrics on the held-out newest label days.
    pub test: SplitMetrics,
}

/// The metrics of one split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitMetrics {
    /// The label days the split covers.
    pub label_days: DayRange,
    /// Rows in the split.
    pub rows: usize,
    /// Rows with label 1.
    pub positives: usize,
    /// `positives / rows`.
    pub positive_rate: f64,
    /// Area under the ROC curve; tied scores count one half. `None` with a single class.
    pub roc_auc: Option<f64>,
    /// Average precision (area under the precision-recall curve, step-wise). `None`
    /// without positives.
    pub pr_auc: Option<f64>,
    /// Mean negative log likelihood, probabilities clipped by [`LOG_LOSS_EPSILON`].
    pub log_loss: f64,
    /// Share of rows whose thresholded prediction equals the label.
    pub accuracy: f64,
    /// The accuracy of always predicting 0 (`1 - positive_rate`), to read accuracy against.
    pub baseline_accuracy: f64,
}

impl SplitMetrics {
    /// Measures `probabilities` against `labels` (same length and order).
    pub fn compute(
        probabilities: &[f64],
        labels: &[bool],
        threshold: f64,
        label_days: DayRange,
    ) -> SplitMetrics {
        let rows = labels.len();
        let positives = labels.iter().filter(|&&label| label).count();
        let positive_rate = positives as f64 / rows.max(1) as f64;

        SplitMetrics {
            label_days,
            rows,
            positives,
            positive_rate,
            roc_auc: roc_auc(probabilities, labels),
            pr_auc: average_precision(probabilities, labels),
            log_loss: log_loss(probabilities, labels),
            accuracy: accuracy(probabilities, labels, threshold),
            baseline_accuracy: 1.0 - positive_rate,
        }
    }
}

impl Metrics {
    /// Logs one info line per split, and a warning when accuracy says little.
    pub fn log(&self) {
        for (split, m) in [("train", &self.train), ("test", &self.test)] {
            info!(
                split,
                label_days = %m.label_days,
                rows = m.rows,
                positives = m.positives,
                positive_rate = m.positive_rate,
                roc_auc = ?m.roc_auc,
                pr_auc = ?m.pr_auc,
                log_loss = m.log_loss,
                accuracy = m.accuracy,
                "model metrics"
            );
            if m.roc_auc.is_none() {
                warn!(split, rows = m.rows, "one class only in this split: ROC AUC is undefined");
            }
        }

        if self.test.positive_rate < RARE_POSITIVE_RATE {
            warn!(
                positive_rate = self.test.positive_rate,
                accuracy = self.test.accuracy,
                always_no_accuracy = self.test.baseline_accuracy,
                "positives are rare, so accuracy alone means little: always answering no \
                 scores about as well; read ROC AUC and PR AUC instead"
            );
        }
    }
}

/// ROC AUC as the Mann-Whitney statistic: the chance that a random positive scores above a
/// random negative, ties counting one half (average ranks). `None` unless both classes occur.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|&&label| label).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }

    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));

    // Walk groups of equal scores; each member gets the group's average 1-based rank.
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let end = group_end(&order, scores, start);
        let average_rank = (start + 1 + end) as f64 / 2.0;
        let group_positives = order[start..end].iter().filter(|&&i| labels[i]).count();
        positive_rank_sum += average_rank * group_positives as f64;
        start = end;
    }

    let (p, n) = (positives as f64, negatives as f64);
    Some((positive_rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Average precision: `sum over thresholds of (recall_k - recall_{k-1}) * precision_k`, one
/// threshold per distinct score (tied rows enter together). `None` without positives.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|&&label| label).count();
    if positives == 0 {
        return None;
    }

    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));

    let (mut true_positives, mut seen, mut previous_recall, mut sum) = (0usize, 0usize, 0.0, 0.0);
    let mut start = 0;
    while start < order.len() {
        let end = group_end(&order, scores, start);
        true_positives += order[start..end].iter().filter(|&&i| labels[i]).count();
        seen += end - start;

        let recall = true_positives as f64 / positives as f64;
        let precision = true_positives as f64 / seen as f64;
        sum += (recall - previous_recall) * precision;
        previous_recall = recall;
        start = end;
    }
    Some(sum)
}

/// Mean log loss with probabilities clipped to `[1e-15, 1 - 1e-15]`; 0 for no rows.
pub fn log_loss(probabilities: &[f64], labels: &[bool]) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let total: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(&p, &label)| {
            let p = p.clamp(LOG_LOSS_EPSILON, 1.0 - LOG_LOSS_EPSILON);
            if label {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    total / labels.len() as f64
}

/// Share of rows where `probability >= threshold` equals the label; 0 for no rows.
pub fn accuracy(probabilities: &[f64], labels: &[bool], threshold: f64) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let correct =
        probabilities.iter().zip(labels).filter(|(&p, &label)| (p >= threshold) == label).count();
    correct as f64 / labels.len() as f64
}

/// The end (exclusive) of the run of equal scores that starts at `start` in `order`.
fn group_end(order: &[usize], scores: &[f64], start: usize) -> usize {
    let score = scores[order[start]];
    let mut end = start + 1;
    while end < order.len() && scores[order[end]] == score {
        end += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-12, "{actual} != {expected}");
    }

    #[test]
    fn roc_auc_counts_correctly_ordered_pairs() {
        // Pairs (pos, neg): (0.35, 0.1) yes, (0.35, 0.4) no, (0.8, 0.1) yes, (0.8, 0.4) yes.
        let auc = roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap();

        close(auc, 0.75);
    }

    #[test]
    fn roc_auc_of_all_tied_scores_is_one_half() {
        let auc = roc_auc(&[0.3; 5], &[true, false, false, true, false]).unwrap();

        close(auc, 0.5);
    }

    #[test]
    fn roc_auc_counts_a_tied_pair_as_one_half() {
        // Pairs: (0.5 pos, 0.5 neg) = 1/2, (0.5 pos, 0.2 neg) = 1: (1/2 + 1) / 2.
        let auc = roc_auc(&[0.5, 0.5, 0.2], &[true, false, false]).unwrap();

        close(auc, 0.75);
    }

    #[test]
    fn roc_auc_of_reversed_scores_is_zero_and_of_one_class_undefined() {
        close(roc_auc(&[0.9, 0.1], &[false, true]).unwrap(), 0.0);
        assert_eq!(roc_auc(&[0.9, 0.1], &[false, false]), None);
    }

    #[test]
    fn average_precision_matches_hand_computation() {
        // Descending: 0.8 pos (P=1, R=1/2), 0.4 neg, 0.35 pos (P=2/3, R=1), 0.1 neg.
        // AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
        let ap = average_precision(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap();

        close(ap, 5.0 / 6.0);
    }

    #[test]
    fn average_precision_of_tied_scores_is_the_positive_rate() {
        let ap = average_precision(&[0.2; 4], &[true, false, false, false]).unwrap();

        close(ap, 0.25);
        assert_eq!(average_precision(&[0.2], &[false]), None);
    }

    #[test]
    fn log_loss_matches_hand_computation_and_clips() {
        let loss = log_loss(&[0.8, 0.4], &[true, false]);
        close(loss, -(0.8f64.ln() + 0.6f64.ln()) / 2.0);

        // A certain, wrong prediction costs about -ln(1e-15) = 34.5, not infinity.
        let clipped = log_loss(&[1.0], &[false]);
        assert!((34.0..35.0).contains(&clipped), "{clipped}");
    }

    #[test]
    fn accuracy_counts_threshold_as_positive() {
        let acc = accuracy(&[0.5, 0.49, 0.9, 0.1], &[true, true, false, false], 0.5);

        close(acc, 0.5);
    }

    #[test]
    fn split_metrics_report_rows_positives_and_baseline() {
        let days = DayRange { first: "2024-01-01".into(), last: "2024-01-01".into(), days: 1 };

        let m =
            SplitMetrics::compute(&[0.1, 0.2, 0.3, 0.9], &[false, false, false, true], 0.5, days);

        assert_eq!((m.rows, m.positives), (4, 1));
        close(m.positive_rate, 0.25);
        close(m.baseline_accuracy, 0.75);
        close(m.accuracy, 1.0);
        close(m.roc_auc.unwrap(), 1.0);
    }
}
