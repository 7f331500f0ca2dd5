//! The pipeline's SQL, written once in BigQuery Standard SQL and run by both profiles.
//!
//! In pipeline order: [`steps`] are the SQL files under `sql/` (compiled in), [`template`]
//! fills their `{{name}}` placeholders from the configuration, [`split`] cuts a file into
//! statements with their line numbers, [`translate`] rewrites a statement's parsed AST for
//! DuckDB (the local profile), and [`queries`] builds the few generated queries (the
//! feature view's newest rows) in the same dialect. BigQuery receives the rendered text
//! as it is; DuckDB receives the translation. There is no second copy of any query.
//!
//! Nothing here touches a database, so the translator is tested without building DuckDB.

pub mod error;
pub mod queries;
pub mod split;
pub mod steps;
pub mod template;
pub mod translate;

pub use error::SqlError;
pub use split::{split_statements, StatementText};
pub use steps::{Step, STEPS};
pub use template::Params;
pub use translate::{to_duckdb, DuckStatement};
