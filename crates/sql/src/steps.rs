//! The SQL step files under `sql/`, compiled into the binary so every command runs the
//! text of the checkout it was built from. Each step creates tables; the last one checks
//! them and returns one row of counts.

/// One SQL file of the offline pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The file name under `sql/`, e.g. `02_build_features.sql`.
    pub file: &'static str,
    /// What the step does, for logs.
    pub title: &'static str,
    /// The file's text with its `{{name}}` placeholders.
    pub text: &'static str,
    /// `true` for the checks step, whose one statement is a `SELECT` of counts.
    pub is_check: bool,
}

/// The steps in the order they run.
pub const STEPS: [Step; 5] = [
    Step {
        file: "01_prepare_bq.sql",
        title: "prepare orders, items and the time frame",
        text: include_str!("../../../sql/01_prepare_bq.sql"),
        is_check: false,
    },
    Step {
        file: "02_build_features.sql",
        title: "build daily customer snapshots",
        text: include_str!("../../../sql/02_build_features.sql"),
        is_check: false,
    },
    Step {
        file: "03_build_labels.sql",
        title: "build 14-day repurchase labels",
        text: include_str!("../../../sql/03_build_labels.sql"),
        is_check: false,
    },
    Step {
        file: "04_build_train.sql",
        title: "point-in-time join of labels and snapshots",
        text: include_str!("../../../sql/04_build_train.sql"),
        is_check: false,
    },
    Step {
        file: "05_sanity_checks.sql",
        title: "check the invariants",
        text: include_str!("../../../sql/05_sanity_checks.sql"),
        is_check: true,
    },
];

/// The step with file name `file`.
pub fn step(file: &str) -> Option<&'static Step> {
    STEPS.iter().find(|step| step.file == file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_run_in_file_order_and_only_the_last_is_a_check() {
        let files: Vec<&str> = STEPS.iter().map(|s| s.file).collect();
        let mut sorted = files.clone();
        sorted.sort();

        assert_eq!(files, sorted);
        assert_eq!(STEPS.iter().filter(|s| s.is_check).count(), 1);
        assert!(STEPS.last().unwrap().is_check);
        assert!(step("04_build_train.sql").unwrap().text.contains("train_dataset"));
    }
}
