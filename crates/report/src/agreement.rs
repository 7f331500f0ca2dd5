//! Section 3, training and serving agree: the `verify` comparison of online values against
//! the newest offline rows (a count, a few customers side by side, every mismatch), and for
//! the demo's predicted customers the served prediction next to the model applied offline.

use plotters::prelude::*;

use crate::data::{Predictions, ReportData, Verify, VerifyRow};
use crate::html::{self, escape};
use crate::page;
use crate::section::{produced_by, Section};
use crate::svg::{self, FONT};

/// The agreement section.
pub(crate) fn render(data: &ReportData) -> String {
    let lede = "The online store must serve exactly what training read offline, and the \
                endpoint must score exactly what the model scores offline. From the run's \
                <code>verify</code> results and its predictions.";

    let mut body = page::subheading("verify", "Online values against the newest offline rows");
    body.push_str(&match &data.verify {
        Some(verify) => verify_part(verify),
        None => page::missing("the online against offline comparison", produced_by::VERIFY),
    });
    body.push_str(&page::subheading("served", "Served predictions against the model offline"));
    body.push_str(&match &data.predictions {
        Some(predictions) => predictions_part(predictions),
        None => page::missing("served predictions for the demo's customers", produced_by::PREDICT),
    });
    page::section(Section::Agreement, lede, &body)
}

fn verify_part(verify: &Verify) -> String {
    let all = verify.matched == verify.sampled;
    let tiles = [
        page::stat(
            &format!("{} / {}", html::count(verify.matched), html::count(verify.sampled)),
            "sampled customers identical online and offline",
            if all { "online" } else { "failed" },
        ),
        page::stat(
            &html::count(verify.mismatches.len() as u64),
            "values that differ",
            if all { "positive" } else { "failed" },
        ),
    ];
    let mut out = format!(
        "<p>Customers sampled from <code>{}</code>, each fetched from <code>{}</code>; a customer \
         matches when every feature and the <code>feature_timestamp</code> are equal.</p>\n",
        escape(&verify.offline_table),
        escape(&verify.feature_view),
    );
    out.push_str(&page::stats(&tiles));
    if !verify.sample_rows.is_empty() {
        out.push_str(&sample_table(&verify.sample_rows));
    }
    if !verify.mismatches.is_empty() {
        out.push_str(&mismatch_table(verify));
    }
    out.push_str(&page::source(&verify.source));
    out
}

fn sample_table(rows: &[VerifyRow]) -> String {
    let mut head = vec![
        page::th("Customer", false),
        page::th("Read from", false),
        page::th("Snapshot", false),
    ];
    for value in &rows[0].values {
        head.push(page::th(&format!("<code>{}</code>", html::breakable(&value.name)), true));
    }

    let mut body = Vec::new();
    for row in rows {
        body.push(sample_row(row, true));
        body.push(sample_row(row, false));
    }
    page::table("pairs", &head, &body)
}

/// One side (online or offline) of a customer's values; cells that differ are marked.
fn sample_row(row: &VerifyRow, online: bool) -> Vec<String> {
    let (tag, ts) = if online {
        ("<span class=\"tag online\">online</span>", row.online_timestamp_micros)
    } else {
        ("<span class=\"tag offline\">offline</span>", row.offline_timestamp_micros)
    };
    let same_time = row.online_timestamp_micros == row.offline_timestamp_micros;
    let ts = ts.map_or("not served".into(), html::when);
    let customer = if online { row.customer_id.to_string() } else { String::new() };

    let mut cells = vec![
        page::td("", &customer),
        page::td("", tag),
        page::td(if same_time { "when" } else { "when bad" }, &escape(&ts)),
    ];
    for value in &row.values {
        let shown = if online { value.online } else { value.offline };
        let class = if value.online == value.offline { "num" } else { "num bad" };
        cells.push(page::td(class, &escape(&html::value(shown))));
    }
    cells
}

fn mismatch_table(verify: &Verify) -> String {
    let head = [
        page::th("Customer", false),
        page::th("Feature", false),
        page::th("Online", true),
        page::th("Offline", true),
    ];
    let rows: Vec<Vec<String>> = verify
        .mismatches
        .iter()
        .map(|m| {
            let online = m.online.map_or("missing".into(), |v| html::value(Some(v)));
            vec![
                page::td("", &m.customer_id.to_string()),
                page::td("", &format!("<code>{}</code>", escape(&m.feature))),
                page::td("num bad", &escape(&online)),
                page::td("num", &escape(&html::value(m.offline))),
            ]
        })
        .collect();
    format!(
        "<h3 id=\"mismatches\">Every value that differed</h3>\n{}",
        page::table("mismatches", &head, &rows)
    )
}

fn predictions_part(predictions: &Predictions) -> String {
    let agreeing =
        predictions.rows.iter().filter(|r| agrees(predictions, r.served, r.offline)).count();
    let intro = format!(
        "<p><b>{agreeing} of {}</b> predictions from <code>{}</code> equal the model applied to \
         the offline row, within {:.0e} (the rounding of the model's <code>f32</code> \
         weights).</p>\n",
        predictions.rows.len(),
        escape(&predictions.endpoint),
        predictions.tolerance,
    );

    let head = [
        page::th("Customer", false),
        page::th("Served (online)", true),
        page::th("Model offline", true),
        page::th("|difference|", true),
        page::th("Deployed model", false),
    ];
    let rows: Vec<Vec<String>> = predictions
        .rows
        .iter()
        .map(|row| {
            let ok = agrees(predictions, row.served, row.offline);
            vec![
                page::td("", &row.customer_id.to_string()),
                page::td("num served", &html::probability(row.served)),
                page::td("num model", &html::probability(row.offline)),
                page::td(if ok { "num" } else { "num bad" }, &difference(row.served - row.offline)),
                page::td("", &format!("<code>{}</code>", escape(&row.deployed_model_id))),
            ]
        })
        .collect();

    let chart = page::figure(
        &scatter(predictions),
        "Each dot is one customer; on the diagonal, serving equals training.",
    );
    format!(
        "{intro}<div class=\"grid2\"><div>{}</div>{chart}</div>\n{}",
        page::table("predictions", &head, &rows),
        page::source(&predictions.source)
    )
}

/// The size of a difference in scientific notation, `0` when there is none: `3.2e-9`.
fn difference(value: f64) -> String {
    let value = value.abs();
    if value == 0.0 {
        "0".into()
    } else {
        format!("{value:.1e}")
    }
}

fn agrees(predictions: &Predictions, served: f64, offline: f64) -> bool {
    (served - offline).abs() <= predictions.tolerance
}

/// Served against offline probability, with the diagonal where they agree.
fn scatter(predictions: &Predictions) -> String {
    let top = predictions.rows.iter().map(|r| r.served.max(r.offline)).fold(0.0, f64::max);
    let top = if top > 0.0 { top * 1.15 } else { 1.0 };

    svg::plot(
        "chart-predictions",
        "Served prediction against the model applied offline",
        (460, 300),
        |root| {
            let mut chart = ChartBuilder::on(root)
                .margin(12)
                .margin_right(24)
                .x_label_area_size(48)
                .y_label_area_size(76)
                .build_cartesian_2d(0.0..top, 0.0..top)?;
            chart
                .configure_mesh()
                .light_line_style(WHITE)
                .bold_line_style(svg::GRID)
                .axis_style(svg::MUTED)
                .x_desc("model applied offline")
                .y_desc("served online")
                .label_style((FONT, 16).into_font().color(&svg::MUTED))
                .axis_desc_style((FONT, 17).into_font().color(&svg::INK))
                .x_labels(5)
                .y_labels(5)
                .x_label_formatter(&|v| format!("{v:.3}"))
                .y_label_formatter(&|v| format!("{v:.3}"))
                .draw()?;

            chart.draw_series(LineSeries::new(
                [(0.0, 0.0), (top, top)],
                svg::OFFLINE.mix(0.6).stroke_width(1),
            ))?;
            chart.draw_series(
                predictions
                    .rows
                    .iter()
                    .map(|r| Circle::new((r.offline, r.served), 6, svg::ONLINE.filled())),
            )?;
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Mismatch;

    #[test]
    fn verify_counts_and_predictions_are_the_recorded_ones() {
        let data = ReportData::sample();
        let html = render(&data);

        let verify = data.verify.as_ref().unwrap();
        assert!(html.contains(&format!("{} / {}", verify.matched, verify.sampled)));
        assert!(html.contains(r#"id="chart-predictions""#));
        for row in &data.predictions.as_ref().unwrap().rows {
            assert!(html.contains(&html::probability(row.served)));
            assert!(html.contains(&html::probability(row.offline)));
        }
        assert!(!html.contains(" bad\""), "the sample agrees everywhere");
    }

    #[test]
    fn a_mismatch_is_listed_and_marked() {
        let mut data = ReportData::sample();
        let verify = data.verify.as_mut().unwrap();
        verify.matched = 199;
        verify.mismatches.push(Mismatch {
            customer_id: 1501,
            feature: "orders_30d".into(),
            online: Some(2.0),
            offline: Some(1.0),
        });
        verify.sample_rows[1].values[1].online = Some(2.0);

        let html = render(&data);

        assert!(html.contains("199 / 200"));
        assert!(html.contains("Every value that differed"));
        assert!(html.contains("<td class=\"num bad\">2</td>"));
    }

    #[test]
    fn a_served_prediction_outside_the_tolerance_is_marked() {
        let mut data = ReportData::sample();
        data.predictions.as_mut().unwrap().rows[0].served += 0.01;

        let html = render(&data);

        assert!(html.contains("<b>4 of 5</b>"));
        assert!(html.contains("class=\"num bad\""));
    }

    #[test]
    fn missing_parts_name_their_commands() {
        let mut data = ReportData::sample();
        data.verify = None;
        data.predictions = None;

        let html = render(&data);

        assert!(html.contains(produced_by::VERIFY));
        assert!(html.contains(produced_by::PREDICT));
        assert!(!html.contains("chart-predictions"));
    }
}
