//! The curves behind the test metrics, for the report: ROC and precision-recall points at
//! every distinct score (thinned to a drawable number), and calibration by decile. They are
//! computed from the same scores and labels as [`crate::metrics`], so the area under the
//! ROC points is the recorded ROC AUC.

use serde::{Deserialize, Serialize};

use crate::dataset::{split_out_of_time, TrainingRow};
use crate::error::TrainingError;
use crate::fit::TrainedModel;

/// At most this many points per curve; the first and last are always kept.
const MAX_POINTS: usize = 200;

/// One calibration bin: rows with predictions in one decile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// The mean predicted probability of the bin.
    pub predicted: f64,
    /// The share of positives in the bin.
    pub observed: f64,
    /// Rows in the bin.
    pub rows: usize,
}

/// The test split's curves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    /// (false positive rate, true positive rate), from (0, 0) to (1, 1).
    pub roc: Vec<(f64, f64)>,
    /// (recall, precision), by descending score.
    pub pr: Vec<(f64, f64)>,
    /// Ten bins of equal row counts, by ascending prediction.
    pub calibration: Vec<CalibrationBin>,
}

impl Curves {
    /// The curves of `trained` on the test split of `rows` (the split training used).
    pub fn of_test_split(
        trained: &TrainedModel,
        rows: &[TrainingRow],
    ) -> Result<Curves, TrainingError> {
        let split = split_out_of_time(rows, trained.config.test_label_days)?;
        let scores: Vec<f64> =
            split.test.iter().map(|row| trained.model.predict(&row.inputs)).collect();
        let labels: Vec<bool> = split.test.iter().map(|row| row.label).collect();
        Ok(Curves::compute(&scores, &labels))
    }

    /// The curves of `scores` against `labels`.
    pub fn compute(scores: &[f64], labels: &[bool]) -> Curves {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let positives = labels.iter().filter(|&&l| l).count().max(1) as f64;
        let negatives = (labels.len() - labels.iter().filter(|&&l| l).count()).max(1) as f64;

        // One point per group of tied scores, walking from the highest score down.
        let (mut roc, mut pr) = (vec![(0.0, 0.0)], Vec::new());
        let (mut tp, mut fp, mut start) = (0usize, 0usize, 0usize);
        while start < order.len() {
            let mut end = start + 1;
            while end < order.len() && scores[order[end]] == scores[order[start]] {
                end += 1;
            }
            let group_tp = order[start..end].iter().filter(|&&i| labels[i]).count();
            tp += group_tp;
            fp += end - start - group_tp;
            roc.push((fp as f64 / negatives, tp as f64 / positives));
            pr.push((tp as f64 / positives, tp as f64 / (tp + fp) as f64));
            start = end;
        }

        Curves { roc: thin(roc), pr: thin(pr), calibration: calibration(scores, labels) }
    }

    /// The trapezoid area under the ROC points.
    pub fn roc_area(&self) -> f64 {
        self.roc.windows(2).map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0).sum()
    }
}

/// Ten bins of (nearly) equal size by ascending score.
fn calibration(scores: &[f64], labels: &[bool]) -> Vec<CalibrationBin> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let bins = 10.min(order.len());
    (0..bins)
        .map(|bin| {
            let rows = &order[bin * order.len() / bins..(bin + 1) * order.len() / bins];
            let n = rows.len().max(1) as f64;
            CalibrationBin {
                predicted: rows.iter().map(|&i| scores[i]).sum::<f64>() / n,
                observed: rows.iter().filter(|&&i| labels[i]).count() as f64 / n,
                rows: rows.len(),
            }
        })
        .collect()
}

/// Keeps at most [`MAX_POINTS`] evenly spaced points, always the first and the last.
fn thin(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if points.len() <= MAX_POINTS {
        return points;
    }
    let last = points.len() - 1;
    (0..MAX_POINTS).map(|k| points[k * last / (MAX_POINTS - 1)]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::roc_auc;

    #[test]
    fn roc_area_equals_the_metric_on_few_points() {
        let scores = [0.1, 0.4, 0.35, 0.8, 0.35, 0.2];
        let labels = [false, false, true, true, false, true];

        let curves = Curves::compute(&scores, &labels);

        assert!((curves.roc_area() - roc_auc(&scores, &labels).unwrap()).abs() < 1e-12);
        assert_eq!(curves.roc.first(), Some(&(0.0, 0.0)));
        assert_eq!(curves.roc.last(), Some(&(1.0, 1.0)));
        assert_eq!(curves.pr.first(), Some(&(1.0 / 3.0, 1.0)));
    }

    #[test]
    fn many_points_are_thinned_but_keep_the_ends_and_nearly_the_area() {
        let scores: Vec<f64> = (0..5_000).map(|i| ((i * 7919) % 5_000) as f64 / 5_000.0).collect();
        let labels: Vec<bool> =
            scores.iter().map(|s| (s * 1000.0) as i64 % 3 == 0 || *s > 0.9).collect();

        let curves = Curves::compute(&scores, &labels);

        assert_eq!(curves.roc.len(), MAX_POINTS);
        assert_eq!(curves.roc.last(), Some(&(1.0, 1.0)));
        assert!((curves.roc_area() - roc_auc(&scores, &labels).unwrap()).abs() < 0.01);
    }

    #[test]
    fn calibration_has_ten_equal_bins_in_ascending_order() {
        let scores: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
        let labels: Vec<bool> = (0..100).map(|i| i % 10 == 0).collect();

        let bins = Curves::compute(&scores, &labels).calibration;

        assert_eq!(bins.len(), 10);
        assert!(bins.iter().all(|b| b.rows == 10));
        assert!(bins.windows(2).all(|w| w[0].predicted < w[1].predicted));
        assert!((bins[0].observed - 0.1).abs() < 1e-12);
    }
}
