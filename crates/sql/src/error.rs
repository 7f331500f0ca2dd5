//! Errors of the SQL stage. Each names the file and line, what was found and what to do.

/// Why a SQL file could not be rendered, split or translated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SqlError {
    /// A `{{name}}` placeholder names no known parameter, or is not closed.
    #[error("template {file}:{line}: {message}")]
    Template {
        /// The SQL file, e.g. `02_build_features.sql`.
        file: String,
        /// 1-based line of the placeholder.
        line: u64,
        /// What is wrong and which names exist.
        message: String,
    },

    /// A configuration value cannot be written into SQL safely.
    #[error("template: {key} = {value:?} cannot be used in SQL: {need}")]
    Param {
        /// The configuration key, e.g. `data.horizon`.
        key: &'static str,
        /// Its value.
        value: String,
        /// What it must be.
        need: &'static str,
    },

    /// The text does not parse as BigQuery Standard SQL.
    #[error("parse {file}:{line}: {message}")]
    Parse {
        /// The SQL file.
        file: String,
        /// 1-based line where the statement (or the error) starts.
        line: u64,
        /// The parser's message.
        message: String,
    },

    /// A construct that the DuckDB translation does not handle.
    #[error(
        "translate {file}:{line}: {construct} is not translated for DuckDB ({hint}); rewrite \
         it with the constructs listed in crates/sql/src/translate/ or extend the translator"
    )]
    Unsupported {
        /// The SQL file.
        file: String,
        /// 1-based line of the construct.
        line: u64,
        /// The construct, e.g. `function ARRAY_AGG` or `UNNEST ... WITH OFFSET`.
        construct: String,
        /// Why, or what to use instead.
        hint: String,
    },
}
