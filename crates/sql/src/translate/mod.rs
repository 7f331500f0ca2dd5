//! BigQuery Standard SQL to DuckDB, by rewriting the parsed statement (sqlparser's AST,
//! BigQuery dialect in) and printing it back (DuckDB reads the printed text).
//!
//! What changes, and where:
//! - names: backquoted identifiers become double-quoted; `project.dataset.table` becomes
//!   `dataset.table` (a dataset is a DuckDB schema) for the projects the caller names;
//! - `* EXCEPT (..)` becomes `* EXCLUDE (..)`; `UNNEST(..) AS x` becomes `AS x(x)`;
//! - types in casts (`INT64` to `BIGINT`, `FLOAT64` to `DOUBLE`, `STRING` to `VARCHAR`, ...),
//!   `SAFE_CAST` to `TRY_CAST`, double-quoted strings to single-quoted ones;
//! - functions, by the table in [`functions`].
//!
//! Everything else must be on an allow list: a construct the translation does not know is
//! an error naming it with its file and line, never passed through on hope. No DuckDB
//! built-in is shadowed by a macro; every rewrite uses DuckDB's own functions.

mod functions;

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, ExactNumberInfo, ExcludeSelectItem, Expr, Ident, InTarget,
    ObjectName, ObjectNamePart, Select, SelectItem, Spanned, Statement, TableAliasColumnDef,
    TableFactor, Value, VisitMut, VisitorMut, WildcardAdditionalOptions,
};
use sqlparser::dialect::{BigQueryDialect, DuckDbDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Span;

use crate::error::SqlError;
use crate::split::StatementText;

/// One statement, translated for DuckDB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuckStatement {
    /// DuckDB SQL text.
    pub sql: String,
    /// The 1-based line of the file the statement starts on.
    pub line: u64,
    /// For `CREATE TABLE .. AS`, the table it creates.
    pub creates: Option<TableRef>,
    /// The `project.dataset.table` names it reads, sorted, without the one it creates.
    pub reads: Vec<String>,
}

/// A table by its BigQuery name and its DuckDB schema and table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    /// `project.dataset.table`, as BigQuery names it.
    pub bigquery: String,
    /// The DuckDB schema (the dataset).
    pub schema: String,
    /// The table.
    pub table: String,
}

impl TableRef {
    /// `"schema"."table"`, quoted for DuckDB.
    pub fn duckdb(&self) -> String {
        format!("\"{}\".\"{}\"", self.schema, self.table)
    }
}

/// Translates one statement of `file`; `projects` are the project ids whose tables live
/// in the local warehouse (the demo's and the source's), whose names lose the project part.
pub fn to_duckdb(
    file: &str,
    statement: &StatementText,
    projects: &[&str],
) -> Result<DuckStatement, SqlError> {
    let parse_error = |e: sqlparser::parser::ParserError| SqlError::Parse {
        file: file.into(),
        line: statement.line,
        message: e.to_string(),
    };
    let mut parsed = Parser::parse_sql(&BigQueryDialect, &statement.text).map_err(parse_error)?;
    let mut ast = match parsed.len() {
        1 => parsed.remove(0),
        n => {
            let message = format!("expected one statement, found {n}");
            return Err(SqlError::Parse { file: file.into(), line: statement.line, message });
        }
    };

    let mut translator =
        Translator { file, first_line: statement.text_line, projects, reads: BTreeSet::new() };
    let creates = translator.check_statement(&mut ast)?;
    if let ControlFlow::Break(error) = ast.visit(&mut translator) {
        return Err(error);
    }

    if let Some(created) = &creates {
        translator.reads.remove(&created.bigquery);
    }
    let reads = translator.reads.into_iter().collect();
    Ok(DuckStatement { sql: ast.to_string(), line: statement.line, creates, reads })
}

/// The state of one statement's translation.
struct Translator<'a> {
    file: &'a str,
    /// The file line on which the statement's text (and so its spans' line 1) starts.
    first_line: u64,
    projects: &'a [&'a str],
    /// Every three-part table name met, as BigQuery spells it.
    reads: BTreeSet<String>,
}

impl Translator<'_> {
    /// An [`SqlError::Unsupported`] at `node`'s line.
    pub(crate) fn unsupported(&self, span: Span, construct: String, hint: &str) -> SqlError {
        let span_line = span.start.line.max(1);
        SqlError::Unsupported {
            file: self.file.into(),
            line: self.first_line + span_line - 1,
            construct,
            hint: hint.into(),
        }
    }

    /// Allows queries, `CREATE [OR REPLACE] TABLE .. AS`, views and drops; returns the
    /// table a `CREATE TABLE .. AS` makes.
    fn check_statement(&self, statement: &mut Statement) -> Result<Option<TableRef>, SqlError> {
        match statement {
            Statement::Query(_) | Statement::Drop { .. } | Statement::CreateView { .. } => Ok(None),
            Statement::CreateTable(create)
                if create.query.is_some() && create.columns.is_empty() =>
            {
                // Storage layout hints mean nothing to DuckDB and change no result.
                create.partition_by = None;
                create.cluster_by = None;
                self.table_ref(&create.name).map(Some)
            }
            other => {
                let kind = first_words(&other.to_string(), 3);
                let hint = "the pipeline runs queries and CREATE TABLE .. AS SELECT";
                Err(self.unsupported(other.span(), format!("statement `{kind}`"), hint))
            }
        }
    }

    /// The BigQuery and DuckDB names of a created table.
    fn table_ref(&self, name: &ObjectName) -> Result<TableRef, SqlError> {
        let parts = name_parts(name);
        match parts.as_slice() {
            [project, dataset, table] if self.projects.contains(&project.as_str()) => {
                Ok(TableRef {
                    bigquery: parts.join("."),
                    schema: dataset.clone(),
                    table: table.clone(),
                })
            }
            _ => Err(self.unsupported(
                name.span(),
                format!("table name `{name}`"),
                "a created table must be named `{{project}}.{{dataset}}.table`",
            )),
        }
    }

    /// `project.dataset.table` to `dataset.table` for the local projects.
    fn relation(&mut self, name: &mut ObjectName) -> Result<(), SqlError> {
        let parts = name_parts(name);
        if parts.len() > 3 {
            let hint = "BigQuery names have at most project.dataset.table";
            return Err(self.unsupported(name.span(), format!("table name `{name}`"), hint));
        }
        if parts.len() == 3 {
            if !self.projects.contains(&parts[0].as_str()) {
                let hint = format!(
                    "only tables of {} are in the local warehouse",
                    self.projects.join(", ")
                );
                return Err(self.unsupported(name.span(), format!("table name `{name}`"), &hint));
            }
            self.reads.insert(parts.join("."));
            name.0 = parts[1..].iter().map(|p| ObjectNamePart::Identifier(quoted(p))).collect();
        }
        Ok(())
    }

    /// `* EXCEPT (a, b)` to `* EXCLUDE (a, b)`.
    fn select(&self, select: &mut Select) -> Result<(), SqlError> {
        for item in &mut select.projection {
            let options = match item {
                SelectItem::Wildcard(options) | SelectItem::QualifiedWildcard(_, options) => {
                    options
                }
                _ => continue,
            };
            except_to_exclude(options);
            if options.opt_ilike.is_some() || options.opt_rename.is_some() {
                let hint = "use EXCEPT or REPLACE";
                return Err(self.unsupported(item.span(), format!("`{item}`"), hint));
            }
        }
        Ok(())
    }

    /// Allows table references, subqueries, joins and `UNNEST` without offsets.
    fn table_factor(&self, factor: &mut TableFactor) -> Result<(), SqlError> {
        match factor {
            TableFactor::Table { args: None, .. }
            | TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. } => Ok(()),
            TableFactor::UNNEST { alias, with_offset: false, with_ordinality: false, .. } => {
                // BigQuery's `AS x` names the element; DuckDB's names the table, so name
                // the column too.
                if let Some(alias) = alias.as_mut().filter(|a| a.columns.is_empty()) {
                    alias.columns = vec![TableAliasColumnDef::from_name(alias.name.value.clone())];
                }
                Ok(())
            }
            other => {
                let hint = "the pipeline reads tables, subqueries and UNNEST without OFFSET";
                Err(self.unsupported(other.span(), format!("FROM item `{other}`"), hint))
            }
        }
    }

    /// Rewrites or checks one expression; children are already translated.
    fn expr(&self, expr: &mut Expr) -> Result<(), SqlError> {
        let span = expr.span();
        let text = expr.to_string();
        match expr {
            Expr::Function(_) => functions::rewrite(self, expr),
            Expr::Cast { kind, data_type, format: None, .. } => {
                if *kind == CastKind::SafeCast {
                    *kind = CastKind::TryCast;
                }
                self.data_type(data_type, span)
            }
            Expr::Value(value) => match &value.value {
                Value::DoubleQuotedString(text) => {
                    // BigQuery's "text" is a string; DuckDB's would be a column name.
                    value.value = Value::SingleQuotedString(text.clone());
                    Ok(())
                }
                Value::Number(..)
                | Value::SingleQuotedString(_)
                | Value::Boolean(_)
                | Value::Null => Ok(()),
                other => {
                    let construct = format!("literal `{other}`");
                    Err(self.unsupported(span, construct, "use numbers and '..' strings"))
                }
            },
            Expr::TypedString(typed) => match typed.data_type {
                DataType::Date | DataType::Timestamp(..) => Ok(()),
                _ => {
                    let construct = format!("literal `{text}`");
                    Err(self.unsupported(span, construct, "use DATE '..' or TIMESTAMP '..'"))
                }
            },
            Expr::Interval(interval) => {
                let known =
                    interval.leading_field.as_ref().is_some_and(functions::is_interval_unit);
                if !known || interval.last_field.is_some() || interval.leading_precision.is_some() {
                    let construct = format!("interval `{text}`");
                    let hint = "use INTERVAL n DAY (or MICROSECOND to YEAR)";
                    return Err(self.unsupported(span, construct, hint));
                }
                // DuckDB reads `INTERVAL 7 DAY` and `INTERVAL (x) DAY`, not `INTERVAL x DAY`.
                if !matches!(*interval.value, Expr::Value(_) | Expr::Nested(_)) {
                    let value = std::mem::replace(&mut *interval.value, Expr::value(Value::Null));
                    *interval.value = Expr::Nested(Box::new(value));
                }
                Ok(())
            }
            Expr::BinaryOp { op, .. } if !is_shared_operator(op) => {
                let construct = format!("operator `{op}`");
                Err(self.unsupported(span, construct, "use arithmetic, comparison, AND, OR, ||"))
            }
            Expr::In { target: InTarget::Unnest(_) | InTarget::Table { .. }, .. } => {
                let construct = format!("`{text}`");
                Err(self.unsupported(span, construct, "use IN (list) or IN (subquery)"))
            }
            Expr::Identifier(_)
            | Expr::CompoundIdentifier(_)
            | Expr::BinaryOp { .. }
            | Expr::UnaryOp { .. }
            | Expr::Nested(_)
            | Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::IsTrue(_)
            | Expr::IsNotTrue(_)
            | Expr::IsFalse(_)
            | Expr::IsNotFalse(_)
            | Expr::IsDistinctFrom(..)
            | Expr::IsNotDistinctFrom(..)
            | Expr::In { .. }
            | Expr::Between { .. }
            | Expr::Like { escape_char: None, any: false, .. }
            | Expr::Case { .. }
            | Expr::Exists { .. }
            | Expr::Subquery(_)
            | Expr::Tuple(_) => Ok(()),
            other => {
                let construct =
                    format!("expression `{}` ({})", first_words(&text, 6), variant(other));
                let hint = "it is not on the translator's allow list";
                Err(self.unsupported(span, construct, hint))
            }
        }
    }

    /// BigQuery's type names to DuckDB's.
    fn data_type(&self, data_type: &mut DataType, at: Span) -> Result<(), SqlError> {
        let duck = match data_type {
            DataType::Int64 => DataType::BigInt(None),
            DataType::Float64 => DataType::Double(ExactNumberInfo::None),
            DataType::String(None) => DataType::Varchar(None),
            DataType::Bool => DataType::Boolean,
            DataType::Bytes(None) => DataType::Blob(None),
            DataType::Numeric(ExactNumberInfo::None) => {
                DataType::Decimal(ExactNumberInfo::PrecisionAndScale(38, 9))
            }
            DataType::Date | DataType::Timestamp(None, _) | DataType::BigInt(_) => return Ok(()),
            DataType::Boolean | DataType::Double(_) | DataType::Varchar(_) => return Ok(()),
            other => {
                let construct = format!("type `{other}`");
                let hint = "use INT64, FLOAT64, NUMERIC, STRING, BOOL, BYTES, DATE or TIMESTAMP";
                return Err(self.unsupported(at, construct, hint));
            }
        };
        *data_type = duck;
        Ok(())
    }
}

impl VisitorMut for Translator<'_> {
    type Break = SqlError;

    fn pre_visit_ident(&mut self, ident: &mut Ident) -> ControlFlow<SqlError> {
        if ident.quote_style == Some('`') {
            ident.quote_style = Some('"');
        }
        ControlFlow::Continue(())
    }

    fn post_visit_relation(&mut self, relation: &mut ObjectName) -> ControlFlow<SqlError> {
        to_flow(self.relation(relation))
    }

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<SqlError> {
        to_flow(self.select(select))
    }

    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<SqlError> {
        to_flow(self.table_factor(factor))
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<SqlError> {
        to_flow(self.expr(expr))
    }
}

fn to_flow(result: Result<(), SqlError>) -> ControlFlow<SqlError> {
    match result {
        Ok(()) => ControlFlow::Continue(()),
        Err(error) => ControlFlow::Break(error),
    }
}

/// Parses a DuckDB expression written by the rewrite table.
pub(crate) fn duck_expr(text: &str) -> Expr {
    Parser::new(&DuckDbDialect {})
        .try_with_sql(text)
        .and_then(|mut parser| parser.parse_expr())
        .unwrap_or_else(|e| panic!("the rewrite table wrote invalid DuckDB SQL `{text}`: {e}"))
}

fn except_to_exclude(options: &mut WildcardAdditionalOptions) {
    if let Some(except) = options.opt_except.take() {
        let mut columns = vec![except.first_element];
        columns.extend(except.additional_elements);
        options.opt_exclude =
            Some(ExcludeSelectItem::Multiple(columns.into_iter().map(Into::into).collect()));
    }
}

/// The parts of a name, splitting a backquoted `a.b.c` that arrived as one part.
fn name_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .flat_map(|part| match part {
            ObjectNamePart::Identifier(ident) => {
                ident.value.split('.').map(str::to_string).collect::<Vec<_>>()
            }
            ObjectNamePart::Function(function) => vec![function.name.value.clone()],
        })
        .collect()
}

fn quoted(value: &str) -> Ident {
    Ident::with_quote('"', value)
}

/// Operators both dialects read the same way.
fn is_shared_operator(op: &BinaryOperator) -> bool {
    use BinaryOperator::*;
    matches!(
        op,
        Plus | Minus
            | Multiply
            | Divide
            | StringConcat
            | Gt
            | Lt
            | GtEq
            | LtEq
            | Eq
            | NotEq
            | And
            | Or
    )
}

/// The enum variant of an expression, for messages.
fn variant(expr: &Expr) -> String {
    format!("{expr:?}").chars().take_while(|c| c.is_ascii_alphanumeric()).collect()
}

/// The first `n` words of `text`, for short messages.
fn first_words(text: &str, n: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().take(n).collect();
    let short = words.join(" ");
    if text.split_whitespace().count() > n {
        format!("{short} ..")
    } else {
        short
    }
}

#[cfg(test)]
mod tests;
