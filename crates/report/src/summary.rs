//! The strip of headline numbers at the top of the page: one tile per section, each the
//! section's main number (taken from the same recorded field the section prints) and a
//! link to it. A section the run did not record gets a grey "not recorded" tile.

use crate::data::{ReportData, StepStatus};
use crate::html::{self, escape};
use crate::section::Section;

/// The summary strip as HTML.
pub(crate) fn render(data: &ReportData) -> String {
    let tiles = [pipeline(data), point_in_time(data), agreement(data), model(data), speed(data)];
    format!("<div class=\"summary\" id=\"summary\">{}</div>\n", tiles.concat())
}

fn tile(section: Section, accent: &str, value: Option<String>, label: &str) -> String {
    let (class, value) = match value {
        Some(value) => ("", value),
        None => ("absent", "not recorded".to_string()),
    };
    format!(
        "<a href=\"#{}\" class=\"{class}\" style=\"--c:var(--{accent})\">\
         <div class=\"value\">{}</div><div class=\"label\">{}</div></a>",
        section.id(),
        escape(&value),
        escape(label),
    )
}

fn pipeline(data: &ReportData) -> String {
    let Some(pipeline) = &data.pipeline else {
        return tile(Section::Pipeline, "muted", None, "pipeline steps");
    };
    let failed = pipeline.steps.iter().filter(|s| s.status == StepStatus::Failed).count();
    let total_ms: u64 = pipeline.steps.iter().map(|s| s.duration_ms).sum();

    let value = if failed == 0 {
        format!("{} steps ok", pipeline.steps.len())
    } else {
        format!("{failed} of {} failed", pipeline.steps.len())
    };
    let accent = if failed == 0 { "positive" } else { "failed" };
    tile(Section::Pipeline, accent, Some(value), &format!("pipeline, {}", html::duration(total_ms)))
}

fn point_in_time(data: &ReportData) -> String {
    let value = data.leakage.as_ref().map(|leak| {
        html::percent(leak.rows_leaking_with_naive_join as f64 / leak.train_rows.max(1) as f64)
    });
    tile(Section::PointInTime, "leak", value, "of training rows a naive join would leak")
}

fn agreement(data: &ReportData) -> String {
    let value = data.verify.as_ref().map(|v| format!("{} / {}", v.matched, v.sampled));
    let accent = match &data.verify {
        Some(v) if v.matched == v.sampled => "online",
        Some(_) => "failed",
        None => "muted",
    };
    tile(Section::Agreement, accent, value, "customers: online equals offline")
}

fn model(data: &ReportData) -> String {
    let value = data.model.as_ref().map(|m| html::metric(m.test.roc_auc));
    tile(Section::Model, "offline", value, "ROC AUC on held-out label days")
}

fn speed(data: &ReportData) -> String {
    let value = data.bench.as_ref().map(|b| html::millis(b.fetch.p99_ms));
    tile(Section::Speed, "online", value, "p99 online feature fetch")
}
