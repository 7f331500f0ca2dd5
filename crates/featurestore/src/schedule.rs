//! placeholder
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

/// Parses a five-field cron line (minute hour day-of-month month day-of-week), UTC.
pub fn parse_cron(line: &str) -> Result<Cron, String> {
    let parser = CronParser::builder().seconds(Seconds::Disallowed).year(Year::Disallowed).build();
    parser.parse(line).map_err(|e| {
        format!("cron `{line}` is not a five-field cron line ({e}); e.g. `0 3 * * *` is daily at 03:00 UTC")
    })
}
