//! Training rows and the out-of-time split: the newest label days become the test set, so
//! the model is measured on days it has never seen, as it will be used.

use std::collections::BTreeSet;

use chrono::DateTime;
use fsdemo_core::time::MICROS_PER_DAY;
use serde::{Deserialize, Serialize};

use crate::error::TrainingError;

/// One `train_dataset` row as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingRow {
    /// The label time `L`, microseconds since the Unix epoch (UTC).
    pub label_timestamp: i64,
    /// `label_repurchase_14d = 1`.
    pub label: bool,
    /// The model inputs in [`fsdemo_core::MODEL_INPUTS`] order, already filled by
    /// [`fsdemo_core::features::model_input`]; training never fills again.
    pub inputs: [f64; 6],
}

/// The label days a split covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRange {
    /// The first label day, `YYYY-MM-DD`.
    pub first: String,
    /// The last label day, `YYYY-MM-DD`.
    pub last: String,
    /// Distinct label days in the split.
    pub days: usize,
}

impl std::fmt::Display for DayRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..={} ({} days)", self.first, self.last, self.days)
    }
}

/// Rows split by label day into an older train set and a newer test set.
#[derive(Debug, Clone)]
pub struct Split {
    /// Rows of the older label days.
    pub train: Vec<TrainingRow>,
    /// Rows of the newest `test_label_days` label days.
    pub test: Vec<TrainingRow>,
    /// The train split's label days.
    pub train_days: DayRange,
    /// The test split's label days.
    pub test_days: DayRange,
}

/// Splits `rows` out of time: the newest `test_label_days` distinct label days are the test
/// set, every older day is the train set.
///
/// A label day is the UTC day of `label_timestamp`. Fails when there are no rows or when
/// either side would be empty.
pub fn split_out_of_time(
    rows: &[TrainingRow],
    test_label_days: u32,
) -> Result<Split, TrainingError> {
    if rows.is_empty() {
        return Err(TrainingError::NoRows);
    }

    let days: BTreeSet<i64> = rows.iter().map(|row| label_day(row.label_timestamp)).collect();
    let test_days = test_label_days as usize;
    let empty =
        |split| TrainingError::EmptySplit { split, label_days: days.len(), test_label_days };
    if test_days == 0 {
        return Err(empty("test"));
    }
    if days.len() <= test_days {
        return Err(empty("train"));
    }

    // Days are sorted, so the first test day is the one `test_days` from the end.
    let ordered: Vec<i64> = days.into_iter().collect();
    let first_test_day = ordered[ordered.len() - test_days];
    let (test, train): (Vec<TrainingRow>, Vec<TrainingRow>) =
        rows.iter().partition(|row| label_day(row.label_timestamp) >= first_test_day);

    let boundary = ordered.len() - test_days;
    Ok(Split {
        train,
        test,
        train_days: day_range(&ordered[..boundary]),
        test_days: day_range(&ordered[boundary..]),
    })
}

/// The UTC day number (days since 1970-01-01) of a timestamp.
fn label_day(micros: i64) -> i64 {
    micros.div_euclid(MICROS_PER_DAY)
}

/// The range of sorted, non-empty day numbers.
fn day_range(days: &[i64]) -> DayRange {
    let format = |day: i64| {
        DateTime::from_timestamp(day * 86_400, 0)
            .map(|time| time.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    DayRange { first: format(days[0]), last: format(days[days.len() - 1]), days: days.len() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(day: i64, hour: i64, label: bool) -> TrainingRow {
        let label_timestamp = day * MICROS_PER_DAY + hour * 3_600_000_000;
        TrainingRow { label_timestamp, label, inputs: [0.0; 6] }
    }

    #[test]
    fn newest_label_days_are_the_test_set() {
        let rows: Vec<TrainingRow> =
            [19_700, 19_707, 19_714, 19_721].iter().map(|&day| row(day, 0, day % 2 == 0)).collect();

        let split = split_out_of_time(&rows, 2).unwrap();

        assert_eq!(split.train.len(), 2);
        assert_eq!(split.test.len(), 2);
        assert!(split.train.iter().all(|r| label_day(r.label_timestamp) < 19_714));
        assert_eq!(split.test_days.first, "2023-12-23");
        assert_eq!(split.test_days.days, 2);
        assert_eq!(split.train_days.last, "2023-12-16");
    }

    #[test]
    fn rows_of_one_day_stay_together_whatever_the_hour() {
        let rows = vec![row(10, 0, true), row(10, 23, false), row(11, 5, true)];

        let split = split_out_of_time(&rows, 1).unwrap();

        assert_eq!(split.train.len(), 2);
        assert_eq!(split.test.len(), 1);
    }

    #[test]
    fn no_rows_is_an_error_that_says_what_to_build() {
        let error = split_out_of_time(&[], 4).unwrap_err();

        assert!(matches!(error, TrainingError::NoRows));
        assert!(error.to_string().contains("later horizon"));
    }

    #[test]
    fn too_few_label_days_leave_train_empty_and_say_so() {
        let rows = vec![row(10, 0, true), row(17, 0, false)];

        let error = split_out_of_time(&rows, 2).unwrap_err();

        assert!(matches!(error, TrainingError::EmptySplit { split: "train", label_days: 2, .. }));
        assert!(error.to_string().contains("test_label_days = 2"));
    }

    #[test]
    fn zero_test_days_is_an_empty_test_split() {
        let rows = vec![row(10, 0, true), row(17, 0, false)];

        let error = split_out_of_time(&rows, 0).unwrap_err();

        assert!(matches!(error, TrainingError::EmptySplit { split: "test", .. }));
    }
}
