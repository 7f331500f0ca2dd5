//! Fills the `{{name}}` placeholders of a SQL file with values from the configuration,
//! each written as a SQL literal both BigQuery and DuckDB read the same way. A value never
//! spans lines, so line numbers in the rendered text are those of the file.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use fsdemo_core::time::{format_timestamp, parse_date, parse_timestamp};
use fsdemo_core::Config;

use crate::error::SqlError;

/// The values a SQL file may use, by placeholder name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    values: BTreeMap<&'static str, String>,
}

impl Params {
    /// The parameters of `config`; `now` is the horizon when `data.horizon` is `now`.
    ///
    /// | placeholder | from | written as |
    /// |---|---|---|
    /// | `project`, `dataset` | `project.id`, `project.dataset` | identifier part |
    /// | `source_project`, `source_dataset` | `project.source_*` | identifier part |
    /// | `horizon` | `data.horizon` | `TIMESTAMP '…'`, or `CAST(NULL AS TIMESTAMP)` |
    /// | `snapshot_end` | `data.snapshot_end` | `DATE '…'`, or `CAST(NULL AS DATE)` |
    /// | `snapshot_days`, `label_every_days`, `label_window_days` | `data.*` | integer |
    /// | `exclude_statuses` | `data.exclude_statuses` | `('Cancelled', 'Returned')` |
    pub fn from_config(config: &Config, now: DateTime<Utc>) -> Result<Params, SqlError> {
        let project = &config.project;
        let data = &config.data;
        let mut values = BTreeMap::new();

        values.insert("project", identifier("project.id", &project.id, true)?);
        values.insert("dataset", identifier("project.dataset", &project.dataset, false)?);
        values.insert(
            "source_project",
            identifier("project.source_project", &project.source_project, true)?,
        );
        values.insert(
            "source_dataset",
            identifier("project.source_dataset", &project.source_dataset, false)?,
        );

        values.insert("horizon", horizon_literal(data.horizon.as_deref(), now)?);
        values.insert("snapshot_end", date_literal(data.snapshot_end.as_deref())?);
        values.insert("snapshot_days", data.snapshot_days.to_string());
        values.insert("label_every_days", data.label_every_days.to_string());
        values.insert("label_window_days", data.label_window_days.to_string());
        values.insert("exclude_statuses", status_list(&data.exclude_statuses)?);
        Ok(Params { values })
    }

    /// The literal for placeholder `name`, if it is one.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// `file`'s `text` with every `{{name}}` replaced; an unknown or unclosed placeholder
    /// is an error naming the file and the line.
    pub fn render(&self, file: &str, text: &str) -> Result<String, SqlError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;

        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            let line = line_of(text, text.len() - rest.len() + open);
            let fail = |message: String| SqlError::Template { file: file.into(), line, message };

            let after = &rest[open + 2..];
            let close = after.find("}}").filter(|&c| !after[..c].contains('\n'));
            let close =
                close.ok_or_else(|| fail("`{{` is not closed by `}}` on its line".into()))?;
            let name = after[..close].trim();
            let value = self.get(name).ok_or_else(|| {
                let known: Vec<&str> = self.values.keys().copied().collect();
                fail(format!("unknown placeholder {{{{{name}}}}}; known: {}", known.join(", ")))
            })?;

            out.push_str(value);
            rest = &after[close + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> u64 {
    text[..offset].bytes().filter(|&b| b == b'\n').count() as u64 + 1
}

/// A project (letters, digits, `-`) or dataset (letters, digits, `_`) id.
fn identifier(key: &'static str, value: &str, project: bool) -> Result<String, SqlError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || (project && c == '-');
    if value.is_empty() || !value.chars().all(allowed) {
        let need = if project {
            "a project id of letters, digits and `-`"
        } else {
            "a dataset id of letters, digits and `_`"
        };
        return Err(SqlError::Param { key, value: value.into(), need });
    }
    Ok(value.to_string())
}

fn horizon_literal(value: Option<&str>, now: DateTime<Utc>) -> Result<String, SqlError> {
    let micros = match value.map(str::trim) {
        None | Some("") => return Ok("CAST(NULL AS TIMESTAMP)".into()),
        Some("now") => now.timestamp_micros(),
        Some(text) => parse_timestamp(text).ok_or_else(|| SqlError::Param {
            key: "data.horizon",
            value: text.into(),
            need: "a timestamp such as `2025-01-25 19:35:00 UTC`, `now`, or empty",
        })?,
    };
    // BigQuery reads a zone-less literal as UTC; DuckDB's TIMESTAMP holds UTC here.
    let text = format_timestamp(micros);
    Ok(format!("TIMESTAMP '{}'", text.trim_end_matches(" UTC")))
}

fn date_literal(value: Option<&str>) -> Result<String, SqlError> {
    match value.map(str::trim) {
        None | Some("") => Ok("CAST(NULL AS DATE)".into()),
        Some(text) => {
            let date = parse_date(text).ok_or_else(|| SqlError::Param {
                key: "data.snapshot_end",
                value: text.into(),
                need: "a date such as `2025-01-25`, or empty",
            })?;
            Ok(format!("DATE '{date}'"))
        }
    }
}

/// `('A', 'B')`; an empty list becomes `(CAST(NULL AS STRING))`, which excludes nothing.
fn status_list(statuses: &[String]) -> Result<String, SqlError> {
    let plain = |s: &String| s.chars().all(|c| c.is_ascii_alphanumeric() || " _-".contains(c));
    if let Some(bad) = statuses.iter().find(|s| s.is_empty() || !plain(s)) {
        return Err(SqlError::Param {
            key: "data.exclude_statuses",
            value: bad.clone(),
            need: "status names of letters, digits, spaces, `_` and `-`",
        });
    }
    if statuses.is_empty() {
        return Ok("(CAST(NULL AS STRING))".into());
    }
    let quoted: Vec<String> = statuses.iter().map(|s| format!("'{s}'")).collect();
    Ok(format!("({})", quoted.join(", ")))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn config(overrides: &[&str]) -> Config {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        Config::load(&dir, &overrides).unwrap()
    }

    fn params(overrides: &[&str]) -> Result<Params, SqlError> {
        Params::from_config(&config(overrides), Utc::now())
    }

    #[test]
    fn every_placeholder_of_the_shipped_files_is_known() {
        let params = params(&[]).unwrap();

        for step in crate::STEPS {
            let rendered = params.render(step.file, step.text).unwrap();
            assert!(!rendered.contains("{{"), "{}", step.file);
            assert_eq!(rendered.lines().count(), step.text.lines().count(), "{}", step.file);
        }
    }

    #[test]
    fn values_are_sql_literals() {
        let params =
            params(&["data.horizon=2024-03-20 00:00:00 UTC", "data.snapshot_end=2024-03-09"])
                .unwrap();

        assert_eq!(params.get("horizon"), Some("TIMESTAMP '2024-03-20 00:00:00'"));
        assert_eq!(params.get("snapshot_end"), Some("DATE '2024-03-09'"));
        assert_eq!(params.get("exclude_statuses"), Some("('Cancelled', 'Returned')"));
        assert_eq!(params.get("snapshot_days"), Some("180"));
    }

    #[test]
    fn empty_values_are_typed_nulls() {
        let params = params(&["data.exclude_statuses=[]"]).unwrap();

        assert_eq!(params.get("horizon"), Some("CAST(NULL AS TIMESTAMP)"));
        assert_eq!(params.get("snapshot_end"), Some("CAST(NULL AS DATE)"));
        assert_eq!(params.get("exclude_statuses"), Some("(CAST(NULL AS STRING))"));
    }

    #[test]
    fn unknown_placeholder_names_file_line_and_the_known_names() {
        let params = params(&[]).unwrap();

        let err = params.render("x.sql", "SELECT 1\nFROM {{projct}}.t").unwrap_err().to_string();

        assert!(err.contains("x.sql:2") && err.contains("projct"), "{err}");
        assert!(err.contains("project"), "{err}");
        let unclosed = params.render("x.sql", "SELECT {{project\n}}").unwrap_err().to_string();
        assert!(unclosed.contains("x.sql:1") && unclosed.contains("not closed"), "{unclosed}");
    }

    #[test]
    fn values_that_would_break_the_sql_are_refused_naming_the_key() {
        let quote = params(&["data.exclude_statuses=[\"O'Brien\"]"]).unwrap_err().to_string();
        let dataset = params(&["project.dataset=a.b"]).unwrap_err().to_string();
        let horizon = params(&["data.horizon=soon"]).unwrap_err().to_string();

        assert!(quote.contains("data.exclude_statuses"), "{quote}");
        assert!(dataset.contains("project.dataset"), "{dataset}");
        assert!(horizon.contains("data.horizon"), "{horizon}");
    }
}
