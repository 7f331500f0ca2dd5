//! The function table of the translation: BigQuery functions DuckDB has under the same
//! name and meaning, those it has under another name, and those rewritten into DuckDB
//! expressions. A function in none of the three is an error.
//!
//! Where the two engines differ in meaning, the rewrite keeps BigQuery's:
//! - `TIMESTAMP_DIFF` counts whole elapsed units (truncated): DuckDB's `date_sub`, not
//!   `date_diff`, which counts unit boundaries crossed;
//! - `SAFE_DIVIDE` by zero is NULL; DuckDB's `/` by zero is infinity, hence `NULLIF`;
//! - `LEAST`/`GREATEST` are NULL when any argument is; DuckDB's skip NULLs;
//! - `DATE_SUB`/`DATE_ADD` stay `DATE`s; DuckDB's `DATE - INTERVAL` is a `TIMESTAMP`;
//! - `COUNTIF` of no row, or of only NULLs, is 0; DuckDB's `count_if` is NULL, hence the
//!   `COALESCE` around it (its window or filter kept inside).

use sqlparser::ast::{
    DateTimeField, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Ident,
    ObjectName, Spanned,
};

use super::{duck_expr, Translator};
use crate::error::SqlError;

/// Same name, same meaning.
const SHARED: &[&str] = &[
    "ABS",
    "AVG",
    "CEIL",
    "CEILING",
    "COALESCE",
    "CONCAT",
    "COUNT",
    "CUME_DIST",
    "CURRENT_DATE",
    "CURRENT_TIMESTAMP",
    "DENSE_RANK",
    "EXP",
    "FIRST_VALUE",
    "FLOOR",
    "LAG",
    "LAST_VALUE",
    "LEAD",
    "LENGTH",
    "LN",
    "LOWER",
    "MAX",
    "MIN",
    "MOD",
    "NTILE",
    "NULLIF",
    "PERCENT_RANK",
    "POW",
    "POWER",
    "RANK",
    "ROUND",
    "ROW_NUMBER",
    "SIGN",
    "SQRT",
    "STDDEV",
    "STDDEV_POP",
    "STDDEV_SAMP",
    "SUM",
    "UPPER",
    "VAR_POP",
    "VAR_SAMP",
    "VARIANCE",
];

/// Same meaning, another name in DuckDB; windows and filters carry over.
const RENAMED: &[(&str, &str)] = &[
    ("IFNULL", "coalesce"),
    ("LOGICAL_AND", "bool_and"),
    ("LOGICAL_OR", "bool_or"),
    ("UNIX_MICROS", "epoch_us"),
];

/// Rewrites the function call in `expr` (its arguments are already translated).
pub(super) fn rewrite(translator: &Translator, expr: &mut Expr) -> Result<(), SqlError> {
    let span = expr.span();
    let Expr::Function(function) = expr else { return Ok(()) };
    let name = match function.name.0.as_slice() {
        [part] => part.to_string().to_ascii_uppercase(),
        _ => {
            let construct = format!("function `{}`", function.name);
            return Err(translator.unsupported(
                span,
                construct,
                "qualified names are not translated",
            ));
        }
    };

    if SHARED.contains(&name.as_str()) {
        return Ok(());
    }
    if let Some((_, duck)) = RENAMED.iter().find(|(bigquery, _)| *bigquery == name) {
        function.name = ObjectName::from(vec![Ident::new(*duck)]);
        return Ok(());
    }
    if name == "COUNTIF" {
        function.name = ObjectName::from(vec![Ident::new("count_if")]);
        *expr = duck_expr(&format!("COALESCE({expr}, 0)"));
        return Ok(());
    }

    let unsupported = |hint: &str| translator.unsupported(span, format!("function {name}"), hint);
    let args = plain_args(function).ok_or_else(|| {
        unsupported("it is rewritten only as a plain call, without OVER, FILTER or DISTINCT")
    })?;
    let text = rewritten(&name, &args).map_err(|hint| unsupported(&hint))?;
    *expr = duck_expr(&text);
    Ok(())
}

/// The DuckDB text for a rewritten call, or why it cannot be rewritten.
fn rewritten(name: &str, args: &[Expr]) -> Result<String, String> {
    let arg = |i: usize| args[i].to_string();
    let arity = |expected: &[usize]| {
        if expected.contains(&args.len()) {
            Ok(())
        } else {
            Err(format!("it takes {expected:?} arguments here, not {}", args.len()))
        }
    };

    let text = match name {
        "IF" => {
            arity(&[3])?;
            format!("CASE WHEN {} THEN {} ELSE {} END", arg(0), arg(1), arg(2))
        }
        "SAFE_DIVIDE" => {
            arity(&[2])?;
            format!("(({}) / NULLIF({}, 0))", arg(0), arg(1))
        }
        "DATE_ADD" | "DATE_SUB" => {
            arity(&[2])?;
            interval(&args[1])?;
            let sign = if name == "DATE_ADD" { '+' } else { '-' };
            format!("CAST(({}) {sign} {} AS DATE)", arg(0), arg(1))
        }
        "TIMESTAMP_ADD" | "TIMESTAMP_SUB" => {
            arity(&[2])?;
            interval(&args[1])?;
            let sign = if name == "TIMESTAMP_ADD" { '+' } else { '-' };
            format!("(({}) {sign} {})", arg(0), arg(1))
        }
        "DATE_DIFF" => {
            arity(&[3])?;
            let part = part(&args[2], &["DAY", "MONTH", "QUARTER", "YEAR"])?;
            format!("date_diff('{part}', {}, {})", arg(1), arg(0))
        }
        "TIMESTAMP_DIFF" => {
            arity(&[3])?;
            let parts = ["MICROSECOND", "MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY"];
            let part = part(&args[2], &parts)?;
            format!("date_sub('{part}', {}, {})", arg(1), arg(0))
        }
        "GENERATE_DATE_ARRAY" => {
            arity(&[2, 3])?;
            let step = match args.get(2) {
                Some(step) => interval(step).map(|_| step.to_string())?,
                None => "INTERVAL 1 DAY".into(),
            };
            format!(
                "CAST(generate_series(CAST({} AS DATE), CAST({} AS DATE), {step}) AS DATE[])",
                arg(0),
                arg(1)
            )
        }
        "GENERATE_ARRAY" => {
            arity(&[2, 3])?;
            let step = args.get(2).map_or("1".to_string(), ToString::to_string);
            format!("generate_series({}, {}, {step})", arg(0), arg(1))
        }
        "DATE" => {
            arity(&[1, 3]).map_err(|_| "DATE with a time zone is not translated".to_string())?;
            match args.len() {
                1 => format!("CAST({} AS DATE)", arg(0)),
                _ => format!("make_date({}, {}, {})", arg(0), arg(1), arg(2)),
            }
        }
        "TIMESTAMP" => {
            arity(&[1]).map_err(|_| "TIMESTAMP with a time zone is not translated".to_string())?;
            format!("CAST({} AS TIMESTAMP)", arg(0))
        }
        "TIMESTAMP_MICROS" => {
            arity(&[1])?;
            format!("make_timestamp({})", arg(0))
        }
        "LEAST" | "GREATEST" => {
            if args.len() < 2 {
                return Err("it needs at least two arguments".into());
            }
            let all: Vec<String> = args.iter().map(ToString::to_string).collect();
            let any_null: Vec<String> = all.iter().map(|a| format!("({a}) IS NULL")).collect();
            format!(
                "CASE WHEN {} THEN NULL ELSE {}({}) END",
                any_null.join(" OR "),
                name.to_ascii_lowercase(),
                all.join(", ")
            )
        }
        _ => return Err("it is not in the translator's function table".into()),
    };
    Ok(text)
}

/// Whether an interval unit means the same in both engines.
pub(super) fn is_interval_unit(field: &DateTimeField) -> bool {
    use DateTimeField::*;
    matches!(
        field,
        Microsecond
            | Millisecond
            | Second
            | Minute
            | Hour
            | Day
            | Week(None)
            | Month
            | Quarter
            | Year
    )
}

/// The arguments of a plain call (no window, filter, DISTINCT or named arguments).
fn plain_args(function: &Function) -> Option<Vec<Expr>> {
    if function.over.is_some() || function.filter.is_some() || !function.within_group.is_empty() {
        return None;
    }
    let list = match &function.args {
        FunctionArguments::List(list)
            if list.duplicate_treatment.is_none() && list.clauses.is_empty() =>
        {
            list
        }
        FunctionArguments::None => return Some(Vec::new()),
        _ => return None,
    };
    list.args
        .iter()
        .map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => Some(expr.clone()),
            _ => None,
        })
        .collect()
}

/// Checks that `expr` is an `INTERVAL n UNIT` literal.
fn interval(expr: &Expr) -> Result<(), String> {
    match expr {
        Expr::Interval(_) => Ok(()),
        other => Err(format!("the second argument must be INTERVAL n UNIT, not `{other}`")),
    }
}

/// A date part written as a bare word (`DAY`), one of `allowed`.
fn part(expr: &Expr, allowed: &[&str]) -> Result<String, String> {
    let word = match expr {
        Expr::Identifier(ident) if ident.quote_style.is_none() => ident.value.to_ascii_uppercase(),
        other => other.to_string(),
    };
    if allowed.contains(&word.as_str()) {
        return Ok(word.to_ascii_lowercase());
    }
    Err(format!("the date part {word} is not translated; use one of {}", allowed.join(", ")))
}
