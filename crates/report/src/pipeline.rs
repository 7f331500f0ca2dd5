//! Section 1, the pipeline as a picture: a flow of step boxes (status colour, duration,
//! a bar for the step's share of the slowest step), then a table of every step with the
//! resources it created or reused, by full name. Drawn by hand: it is a diagram, not a plot.

use crate::data::{Outcome, Pipeline, ReportData, Step, StepStatus};
use crate::html::{self, escape};
use crate::page;
use crate::section::{produced_by, Section};
use crate::svg::{self, hex, Canvas, Text};

/// The diagram's width in SVG units; it scales to the column.
const WIDTH: f64 = 1060.0;
/// Steps per row of the diagram.
const PER_ROW: usize = 6;
const BOX_H: f64 = 90.0;
const GAP: f64 = 30.0;
const ROW_GAP: f64 = 40.0;

/// The pipeline section.
pub(crate) fn render(data: &ReportData) -> String {
    let Some(pipeline) = &data.pipeline else {
        let what = "the pipeline's step records (status, duration, resources)";
        return page::section(
            Section::Pipeline,
            "Each step of the run with its status, duration and resources.",
            &page::missing(what, produced_by::DEMO),
        );
    };

    let total: u64 = pipeline.steps.iter().map(|s| s.duration_ms).sum();
    let lede = format!(
        "Each step of the <b>{}</b> run in the order it ran: {} steps in {}, with the status, \
         the time taken and every resource it created or reused, by full name. From the run's \
         step records.",
        escape(data.profile.as_str()),
        pipeline.steps.len(),
        html::duration(total),
    );

    let mut body = legend();
    body.push_str(&diagram(pipeline));
    body.push_str(&table(&pipeline.steps));
    body.push_str(&page::source(&pipeline.source));
    page::section(Section::Pipeline, &lede, &body)
}

fn legend() -> String {
    page::legend(&[
        page::key(&hex(svg::POSITIVE), "bar", "ok"),
        page::key(&hex(svg::REUSED), "bar", "reused (unchanged, kept)"),
        page::key(&hex(svg::SKIPPED), "bar", "skipped"),
        page::key(&hex(svg::FAILED), "bar", "failed"),
    ])
}

/// The colour and word for a status.
pub(crate) fn status_style(status: StepStatus) -> (svg::RGBColor, &'static str) {
    match status {
        StepStatus::Ok => (svg::POSITIVE, "ok"),
        StepStatus::Failed => (svg::FAILED, "failed"),
        StepStatus::Skipped => (svg::SKIPPED, "skipped"),
        StepStatus::Reused => (svg::REUSED, "reused"),
    }
}

fn diagram(pipeline: &Pipeline) -> String {
    let steps = &pipeline.steps;
    let per_row = steps.len().clamp(1, PER_ROW);
    let rows = steps.len().div_ceil(per_row).max(1);
    let box_w = (WIDTH - 20.0 - GAP * (per_row as f64 - 1.0)) / per_row as f64;
    let height = 16.0 + rows as f64 * BOX_H + (rows as f64 - 1.0) * ROW_GAP + 10.0;
    let slowest = steps.iter().map(|s| s.duration_ms).max().unwrap_or(0).max(1);

    let mut canvas = Canvas::new(WIDTH, height);
    let origin = |i: usize| {
        let (row, col) = (i / per_row, i % per_row);
        (10.0 + col as f64 * (box_w + GAP), 16.0 + row as f64 * (BOX_H + ROW_GAP))
    };

    // Arrows first, so boxes paint over their ends.
    for i in 1..steps.len() {
        let ((px, py), (x, y)) = (origin(i - 1), origin(i));
        if y == py {
            arrow(&mut canvas, (px + box_w + 3.0, py + BOX_H / 2.0), (x - 4.0, y + BOX_H / 2.0));
        } else {
            let mid = py + BOX_H + ROW_GAP / 2.0;
            let (sx, ex) = (px + box_w / 2.0, x + box_w / 2.0);
            let d = format!(
                "M{} {} V{} H{} V{}",
                svg::n(sx),
                svg::n(py + BOX_H + 3.0),
                svg::n(mid),
                svg::n(ex),
                svg::n(y - 9.0)
            );
            canvas.path(
                &d,
                &format!(r#"fill="none" stroke="{}" stroke-width="1.5""#, hex(svg::MUTED)),
            );
            arrowhead(&mut canvas, (ex, y - 3.0), (0.0, 1.0));
        }
    }

    for (i, step) in steps.iter().enumerate() {
        let (x, y) = origin(i);
        step_box(&mut canvas, step, (x, y, box_w), slowest);
    }
    canvas.finish("chart-pipeline", "Pipeline steps in the order they ran, coloured by status")
}

/// One step's box: name (at most two lines; the table below has it whole), status and
/// duration, resource count, and a bar for its share of the slowest step.
fn step_box(canvas: &mut Canvas, step: &Step, (x, y, w): (f64, f64, f64), slowest: u64) {
    let (colour, word) = status_style(step.status);
    let border = format!(r#"rx="8" stroke="{}" stroke-width="1.5""#, hex(colour));
    canvas.rect(x, y, w, BOX_H, "white", &border);
    canvas.rect(x, y, 6.0, BOX_H, &hex(colour), r#"rx="3""#);

    let lines = wrap(&step.name, ((w - 20.0) / 7.1) as usize, 2);
    let title = Text::start(12.5).bold();
    for (k, line) in lines.iter().enumerate() {
        canvas.text(x + 14.0, y + 20.0 + k as f64 * 16.0, line, &title);
    }

    let status = format!("{word} · {}", html::duration(step.duration_ms));
    canvas.text(x + 14.0, y + 59.0, &status, &Text::start(12.0).colour(colour).bold());
    let resources = match step.resources.len() {
        0 => "no resource".to_string(),
        1 => "1 resource".to_string(),
        k => format!("{k} resources"),
    };
    canvas.text(x + 14.0, y + 74.0, &resources, &Text::start(11.0).colour(svg::MUTED));

    // The bar shows where the time goes: its length is the step's share of the slowest.
    let share = step.duration_ms as f64 / slowest as f64;
    canvas.rect(x + 14.0, y + 80.0, w - 26.0, 4.0, &hex(svg::GRID), r#"rx="2""#);
    let bar = r#"rx="2" opacity="0.75""#;
    canvas.rect(x + 14.0, y + 80.0, (w - 26.0) * share, 4.0, &hex(colour), bar);
}

fn arrow(canvas: &mut Canvas, from: (f64, f64), to: (f64, f64)) {
    canvas.line(from, (to.0 - 5.0, to.1), &hex(svg::MUTED), r#"stroke-width="1.5""#);
    arrowhead(canvas, to, (1.0, 0.0));
}

/// A filled arrowhead whose tip is at `tip`, pointing along the unit vector `dir`.
fn arrowhead(canvas: &mut Canvas, tip: (f64, f64), dir: (f64, f64)) {
    let (len, half) = (8.0, 4.5);
    let back = (tip.0 - dir.0 * len, tip.1 - dir.1 * len);
    let points = [
        tip,
        (back.0 - dir.1 * half, back.1 + dir.0 * half),
        (back.0 + dir.1 * half, back.1 - dir.0 * half),
    ];
    canvas.polygon(&points, &format!(r#"fill="{}""#, hex(svg::MUTED)), "then");
}

/// Splits `text` into at most `lines` lines of about `width` characters, breaking at
/// spaces; the last line ends in `…` when the text does not fit.
fn wrap(text: &str, width: usize, lines: usize) -> Vec<String> {
    let width = width.max(6);
    let mut out: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match out.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => out.push(word.to_string()),
        }
    }

    if out.len() > lines {
        out.truncate(lines);
        let last = &mut out[lines - 1];
        let keep: String = last.chars().take(width.saturating_sub(1)).collect();
        *last = format!("{keep}…");
    }
    for line in &mut out {
        if line.chars().count() > width {
            *line = format!("{}…", line.chars().take(width - 1).collect::<String>());
        }
    }
    out
}

fn table(steps: &[Step]) -> String {
    let slowest = steps.iter().map(|s| s.duration_ms).max().unwrap_or(0).max(1);
    let head = [
        page::th("#", true),
        page::th("Step, what it did, and its resources (full name, outcome)", false),
        page::th("Status", false),
        page::th("Duration", true),
    ];

    let rows: Vec<Vec<String>> = steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let (_, word) = status_style(step.status);
            let what = format!(
                "<b>{}</b> <span class=\"detail\">{}</span>{}",
                escape(&step.name),
                escape(&step.detail),
                resource_list(step),
            );
            let share = 100.0 * step.duration_ms as f64 / slowest as f64;
            let duration = format!(
                "{}<div class=\"bar\" style=\"width:{share:.1}%\"></div>",
                html::duration(step.duration_ms)
            );
            vec![
                page::td("num", &(i + 1).to_string()),
                page::td("", &what),
                page::td("", &format!("<span class=\"badge {word}\">{word}</span>")),
                page::td("num", &duration),
            ]
        })
        .collect();
    page::table("steps", &head, &rows)
}

fn resource_list(step: &Step) -> String {
    if step.resources.is_empty() {
        return String::new();
    }
    let items: String = step
        .resources
        .iter()
        .map(|r| {
            format!(
                "<li><span class=\"kind\">{}</span><span class=\"outcome\">{}</span> \
                 <code>{}</code></li>",
                escape(&r.kind),
                outcome(r.outcome),
                html::breakable(&r.full_name),
            )
        })
        .collect();
    format!("<ul class=\"res\">{items}</ul>")
}

fn outcome(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Created => "created",
        Outcome::Reused => "reused",
        Outcome::Updated => "updated",
        Outcome::Replaced => "replaced",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Resource;

    #[test]
    fn every_step_and_resource_full_name_is_on_the_page() {
        let data = ReportData::sample();
        let html = render(&data);

        assert!(html.contains(r#"<section id="pipeline">"#));
        assert!(html.contains(r#"id="chart-pipeline""#));
        for step in &data.pipeline.as_ref().unwrap().steps {
            assert!(html.contains(&escape(&step.name)), "{}", step.name);
            for resource in &step.resources {
                assert!(
                    html.contains(&html::breakable(&resource.full_name)),
                    "{}",
                    resource.full_name
                );
            }
        }
    }

    #[test]
    fn resource_names_and_details_are_escaped() {
        let mut data = ReportData::sample();
        let step = &mut data.pipeline.as_mut().unwrap().steps[0];
        step.name = "<script>alert(1)</script>".into();
        step.detail = "a & b".into();
        step.resources.push(Resource {
            kind: "Table".into(),
            full_name: "p.d.\"quoted\"<t>".into(),
            outcome: Outcome::Created,
        });

        let html = render(&data);

        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("a &amp; b"));
        assert!(html.contains("p.<wbr>d.<wbr>&quot;quoted&quot;&lt;t&gt;"));
    }

    #[test]
    fn missing_pipeline_names_the_command() {
        let mut data = ReportData::sample();
        data.pipeline = None;

        let html = render(&data);

        assert!(html.contains(r#"<section id="pipeline">"#));
        assert!(html.contains("Not in this run"));
        assert!(html.contains(produced_by::DEMO));
    }

    #[test]
    fn long_step_names_wrap_into_two_lines_then_ellipsis() {
        assert_eq!(wrap("build features_customer", 16, 2), ["build", "features_custom…"]);
        assert_eq!(wrap("a b c d e f g h", 6, 2), ["a b c", "d e f…"]);
    }
}
