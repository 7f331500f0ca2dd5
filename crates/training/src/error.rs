//! Errors of the training stage. Each names the step, the resource and what to do next.

use std::path::PathBuf;

/// Why training, saving or loading a model failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainingError {
    /// No rows reached training.
    #[error(
        "split: train_dataset has no rows; build it first, with more snapshot days or a \
         later horizon so that at least one label day fits before the horizon"
    )]
    NoRows,

    /// One side of the out-of-time split has no label day.
    #[error(
        "split: train_dataset has {label_days} distinct label day(s) and \
         training.test_label_days = {test_label_days}, so the {split} split is empty; \
         add snapshot days or a later horizon, or change training.test_label_days"
    )]
    EmptySplit {
        /// `train` or `test`.
        split: &'static str,
        /// Distinct label days in the data.
        label_days: usize,
        /// The configured number of test label days.
        test_label_days: u32,
    },

    /// The train split holds one class only, so there is nothing to separate.
    #[error(
        "fit: the train split ({rows} rows, label days {days}) has only {class} labels; a \
         logistic regression needs both classes: add snapshot days or a later horizon"
    )]
    SingleClass {
        /// Rows in the train split.
        rows: usize,
        /// The train split's label days.
        days: String,
        /// `positive` or `negative`.
        class: &'static str,
    },

    /// A `training:` setting cannot be used.
    #[error("fit: training.{field} = {value} cannot be used; it must be {need}")]
    InvalidConfig {
        /// The setting under `training:`.
        field: &'static str,
        /// Its value.
        value: String,
        /// What it must be.
        need: &'static str,
    },

    /// The optimiser rejected the data or failed.
    #[error("fit: the logistic regression on {rows} train rows failed")]
    Fit {
        /// Rows in the train split.
        rows: usize,
        /// linfa's error.
        #[source]
        source: linfa_logistic::error::Error,
    },

    /// A file of the artifact could not be read or written.
    #[error("{step}: cannot {action} {path}; check that the directory exists and is writable")]
    Io {
        /// `save` or `load`.
        step: &'static str,
        /// `write`, `read`, `create`, ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// A model file is not a model this crate wrote or can serve.
    #[error("load: {path} is not a gblinear binary:logistic model with 6 inputs: {reason}")]
    BadModel {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// `model.bst` does not match the hash recorded next to it.
    #[error(
        "load: {path} has sha256 {actual} but model_meta.json records {expected}; the \
         artifact was changed or half written: train and save it again"
    )]
    HashMismatch {
        /// `model.bst`.
        path: PathBuf,
        /// The hash in `model_meta.json`.
        expected: String,
        /// The hash of the file.
        actual: String,
    },
}
