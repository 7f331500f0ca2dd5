//! Writes the sample report (every section, realistic numbers) for a quick look:
//! `cargo run -p fsdemo-report --example sample -- [DIR]` (default `.fsdemo/report-sample`),
//! then open the printed path in a browser.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from(".fsdemo/report-sample"), PathBuf::from);

    match fsdemo_report::write(&dir, &fsdemo_report::ReportData::sample()) {
        Ok(page) => {
            println!("{}", page.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
