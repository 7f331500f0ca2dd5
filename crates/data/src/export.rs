//! `data export`: writes a warehouse table to a `.csv` (with a header) or `.parquet` file,
//! by DuckDB's own `COPY`.

use std::path::Path;

use crate::error::DataError;
use crate::warehouse::Warehouse;

/// Writes `schema.table` to `out`, in the format its extension names; returns the rows.
pub fn export_table(
    warehouse: &Warehouse,
    schema: &str,
    table: &str,
    out: &Path,
) -> Result<u64, DataError> {
    let format = match out.extension().and_then(|e| e.to_str()) {
        Some("csv") => "FORMAT csv, HEADER true",
        Some("parquet") => "FORMAT parquet",
        _ => {
            return Err(DataError::File {
                step: "export",
                path: out.into(),
                message: "the file must end in .csv or .parquet".into(),
            })
        }
    };
    if !warehouse.has_table(schema, table)? {
        return Err(DataError::Warehouse {
            step: "export".into(),
            target: format!("{schema}.{table}"),
            message: "no such table; run `fsdemo data build` first, or pick one of the built \
                      tables (features_customer, labels_customer, train_dataset)"
                .into(),
        });
    }
    if let Some(folder) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|e| DataError::File {
            step: "export",
            path: folder.into(),
            message: format!("cannot create the folder: {e}"),
        })?;
    }

    let path = out.display().to_string().replace('\'', "''");
    let sql = format!("COPY \"{schema}\".\"{table}\" TO '{path}' ({format})");
    warehouse.execute("export", &format!("{schema}.{table}"), &sql)?;
    let rows = warehouse.count_rows(schema, table)?;
    let name = format!("{schema}.{table}");
    tracing::info!(table = %name, rows, file = %out.display(), "table exported");
    Ok(rows)
}
