//! The offline pipeline, locally: a theLook export becomes `features_customer`,
//! `labels_customer` and `train_dataset` in a DuckDB warehouse, by the BigQuery SQL files
//! translated for DuckDB (crate `fsdemo-sql`).
//!
//! Modules in pipeline order: [`generate`] writes a synthetic export when there is no real
//! one, [`source`] loads an export, [`warehouse`] is the DuckDB file, [`build`] runs the SQL
//! steps and their checks, [`read`] gives the later stages typed rows, [`export`] writes a
//! table to CSV or Parquet.

pub mod generate;

pub mod source;

pub mod warehouse;

pub mod build;

pub mod read;

pub mod export;

mod error;

pub use build::{build, BuildReport};
pub use error::DataError;
pub use read::LabeledRow;
pub use source::{load_export, LoadReport};
pub use warehouse::{Cell, Rows, Warehouse, WAREHOUSE_FILE};
