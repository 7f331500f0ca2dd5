//! Section 2, point in time made visible: for one customer, the timeline (drawn in
//! [`crate::timeline`]), the features each training row actually got, and a second panel
//! showing what a naive join (latest features regardless of time) would have fed the model
//! for the same rows, with the dataset-wide count of rows that would have leaked.

use crate::data::{LabelRow, Leakage, NaiveRow, Order, PointInTime, ReportData, Snapshot};
use crate::html::{self, escape};
use crate::page;
use crate::section::{produced_by, Section};
use crate::svg::{self, hex};
use crate::timeline;

const DAY: i64 = fsdemo_core::time::MICROS_PER_DAY;

/// The point-in-time section.
pub(crate) fn render(data: &ReportData) -> String {
    let lede = match &data.point_in_time {
        Some(pit) => format!(
            "Customer <b>{}</b> ({}): each training row takes the newest snapshot at or \
             before its label time, so the orders that decide its 14-day label are never in \
             its features. From <code>train_dataset</code> and the rows it was built from.",
            pit.customer_id,
            escape(&pit.why_chosen),
        ),
        None => "One customer's orders, daily snapshots and label rows, showing which snapshot \
                 each training row used."
            .into(),
    };

    let mut body = match &data.point_in_time {
        Some(pit) => customer(pit),
        None => page::missing("one customer's orders, snapshots and label rows", produced_by::DEMO),
    };
    body.push_str(&page::subheading("naive", "What a naive join would have fed the model"));
    if let Some(pit) = &data.point_in_time {
        body.push_str(&naive(pit));
    }
    body.push_str(&match &data.leakage {
        Some(leakage) => leakage_summary(leakage),
        None => {
            page::missing("the count of training rows a naive join would leak", produced_by::DEMO)
        }
    });
    page::section(Section::PointInTime, &lede, &body)
}

fn customer(pit: &PointInTime) -> String {
    let keys = [
        page::key(&hex(svg::INK), "dot", "countable order (size: value)"),
        page::key(&hex(svg::MUTED), "ring", "cancelled or returned: counts for nothing"),
        page::key("#9ca3af", "bar", "daily snapshot"),
        page::key(&hex(svg::OFFLINE), "bar", "snapshot a training row used"),
        page::key(&hex(svg::POSITIVE), "diamond", "label time, label 1"),
        page::key(&hex(svg::WINDOW), "band", "14-day window, label 1"),
        page::key(&hex(svg::WINDOW_EMPTY), "band", "window, label 0"),
    ];
    let mut out = page::legend(&keys);
    out.push_str(&page::figure(
        &timeline::point_in_time(pit),
        "Each blue line joins a label row to the snapshot its features came from. Dotted lines \
         follow each order down: the orders inside a green window make that label 1.",
    ));
    if let Some(text) = focus_callout(pit) {
        out.push_str(&format!("<p class=\"callout\">{text}</p>\n"));
    }

    out.push_str(&label_table(pit));
    out.push_str(&page::source(&pit.source));
    out
}

/// One sentence on the first positive label row: which snapshot it used and which later
/// orders made its label, none of them in its features.
fn focus_callout(pit: &PointInTime) -> Option<String> {
    let label = pit.labels.iter().find(|l| l.label && l.used_snapshot_micros.is_some())?;
    let used = label.used_snapshot_micros?;
    let deciding: Vec<&Order> = window_orders(pit, label).collect();
    let orders = deciding
        .iter()
        .map(|o| format!("order {} on {}", o.order_id, html::day(o.created_at_micros)))
        .collect::<Vec<_>>()
        .join(" and ");

    Some(format!(
        "The label row at <b>{}</b> used the snapshot of <b>{}</b>. Its label is 1 because of \
         {}, inside the {}-day window and after the snapshot: the model learns to predict that \
         order, it never sees it.",
        escape(&html::minute(label.label_timestamp_micros)),
        escape(&html::minute(used)),
        escape(&orders),
        label.window_days,
    ))
}

/// The countable orders inside a label row's window, those that make its label.
fn window_orders<'a>(pit: &'a PointInTime, label: &'a LabelRow) -> impl Iterator<Item = &'a Order> {
    let start = label.label_timestamp_micros;
    let end = start + i64::from(label.window_days) * DAY;
    pit.orders.iter().filter(move |o| o.countable && (start..end).contains(&o.created_at_micros))
}

fn snapshot_at(pit: &PointInTime, micros: Option<i64>) -> Option<&Snapshot> {
    let micros = micros?;
    pit.snapshots.iter().find(|s| s.feature_timestamp_micros == micros)
}

/// The feature names to show, in the order the first snapshot with values lists them.
fn feature_names(pit: &PointInTime) -> Vec<String> {
    let first = pit.snapshots.iter().find(|s| !s.values.is_empty());
    first.map(|s| s.values.iter().map(|v| v.name.clone()).collect()).unwrap_or_default()
}

fn feature_value(snapshot: Option<&Snapshot>, name: &str) -> Option<Option<f64>> {
    snapshot.and_then(|s| s.values.iter().find(|v| v.name == name)).map(|v| v.value)
}

/// Header cells: `leading` titles, then one numeric column per feature.
fn header(names: &[String], leading: &[&str]) -> Vec<String> {
    let mut cells: Vec<String> = leading.iter().map(|title| page::th(title, false)).collect();
    for name in names {
        cells.push(page::th(&format!("<code>{}</code>", html::breakable(name)), true));
    }
    cells
}

fn label_table(pit: &PointInTime) -> String {
    let names = feature_names(pit);
    let rows: Vec<Vec<String>> = pit
        .labels
        .iter()
        .map(|label| {
            let snapshot = snapshot_at(pit, label.used_snapshot_micros);
            let used = label.used_snapshot_micros.map_or("none: features NULL".into(), html::when);
            let mut cells = vec![
                page::td("when", &escape(&html::when(label.label_timestamp_micros))),
                page::td("", label_badge(label.label)),
                page::td("", &format!("<span class=\"tag offline\">{}</span>", escape(&used))),
            ];
            for name in &names {
                let cell = feature_value(snapshot, name).map_or("–".into(), html::value);
                cells.push(page::td("num", &escape(&cell)));
            }
            cells
        })
        .collect();

    let head = header(&names, &["Label time", "Label", "Snapshot used"]);
    format!(
        "<h3 id=\"pit-rows\">The training rows, as the model saw them</h3>\n{}",
        page::table("pit", &head, &rows)
    )
}

fn label_badge(label: bool) -> &'static str {
    if label {
        "<span class=\"badge ok\">1 · reordered</span>"
    } else {
        "<span class=\"badge skipped\">0</span>"
    }
}

fn naive(pit: &PointInTime) -> String {
    let leaked: usize = pit.naive.iter().filter(|n| !n.future_order_ids.is_empty()).count();
    let mut out = format!(
        "<p>Joining on <code>customer_id</code> alone hands every row the customer's newest \
         snapshot. For this customer, <b class=\"diff\">{leaked} of {} rows</b> would then be \
         trained on features that already count orders placed <i>after</i> their label time, \
         often the very orders that make the label.</p>\n",
        pit.naive.len(),
    );
    let keys = [
        page::key(&hex(svg::LEAK), "dot", "future order the naive features count"),
        page::key(&hex(svg::LEAK), "bar", "label row reaching to the newest snapshot"),
    ];
    out.push_str(&page::legend(&keys));
    out.push_str(&page::figure(
        &timeline::naive(pit),
        "Same rows, same time axis. Red dots are orders after the label time that the naive \
         row's features would include.",
    ));
    out.push_str(&naive_table(pit));
    out
}

fn naive_table(pit: &PointInTime) -> String {
    let names = feature_names(pit);
    let rows: Vec<Vec<String>> = pit.naive.iter().map(|row| naive_row(pit, row, &names)).collect();
    let head = header(&names, &["Label time", "Label", "Naive snapshot", "Future orders seen"]);
    format!(
        "{}<p class=\"source\">Cells in red differ from the point-in-time row above \
         (point in time → naive).</p>\n",
        page::table("naive", &head, &rows)
    )
}

fn naive_row(pit: &PointInTime, row: &NaiveRow, names: &[String]) -> Vec<String> {
    let label = pit.labels.iter().find(|l| l.label_timestamp_micros == row.label_timestamp_micros);
    let pit_snapshot = snapshot_at(pit, label.and_then(|l| l.used_snapshot_micros));
    let naive_snapshot = snapshot_at(pit, Some(row.naive_snapshot_micros));
    let future = row.future_order_ids.len();

    let naive_at = escape(&html::when(row.naive_snapshot_micros));
    let mut cells = vec![
        page::td("when", &escape(&html::when(row.label_timestamp_micros))),
        page::td("", label.map_or("–", |l| label_badge(l.label))),
        page::td("", &format!("<span class=\"tag leak\">{naive_at}</span>")),
        page::td(if future > 0 { "num leaked" } else { "num" }, &future.to_string()),
    ];
    for name in names {
        let (before, after) =
            (feature_value(pit_snapshot, name), feature_value(naive_snapshot, name));
        cells.push(match (before, after) {
            (Some(b), Some(a)) if b != a => {
                let text = format!("{} → {}", html::value(b), html::value(a));
                page::td("num leaked", &escape(&text))
            }
            (_, Some(a)) => page::td("num", &escape(&html::value(a))),
            (_, None) => page::td("num", "–"),
        });
    }
    cells
}

fn leakage_summary(leakage: &Leakage) -> String {
    let share = leakage.rows_leaking_with_naive_join as f64 / leakage.train_rows.max(1) as f64;
    format!(
        "<div class=\"callout leak\"><span class=\"big leak\">{}</span> of the whole training set \
         would leak: <b>{}</b> of <b>{}</b> rows would have used a snapshot that counts an order \
         placed at or after their label time. The point-in-time join used none.</div>\n{}",
        escape(&html::percent(share)),
        html::count(leakage.rows_leaking_with_naive_join),
        html::count(leakage.train_rows),
        page::source(&leakage.source),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_naive_panel_and_leak_count_are_present() {
        let data = ReportData::sample();
        let html = render(&data);

        assert!(html.contains(r#"<section id="point-in-time">"#));
        assert!(html.contains(r#"id="chart-timeline""#));
        assert!(html.contains(r#"id="chart-naive""#));
        let leakage = data.leakage.unwrap();
        assert!(html.contains(&html::count(leakage.rows_leaking_with_naive_join)));
        assert!(html.contains(&html::count(leakage.train_rows)));
    }

    #[test]
    fn every_label_row_shows_the_snapshot_it_used() {
        let pit = ReportData::sample().point_in_time.unwrap();
        let table = label_table(&pit);

        for label in &pit.labels {
            let used = html::when(label.used_snapshot_micros.unwrap());
            assert!(table.contains(&format!("<span class=\"tag offline\">{used}</span>")));
        }
    }

    #[test]
    fn the_naive_table_marks_values_that_differ_from_the_point_in_time_row() {
        let pit = ReportData::sample().point_in_time.unwrap();
        let table = naive_table(&pit);

        // Dec 21: orders_30d was 1 at the label time and is 1 again at the newest
        // snapshot, but revenue changed: 84.50 then, 57.25 from the January order.
        assert!(table.contains("<td class=\"num leaked\">84.50 → 57.25</td>"));
    }

    #[test]
    fn the_callout_names_the_orders_that_made_the_label() {
        let pit = ReportData::sample().point_in_time.unwrap();

        let text = focus_callout(&pit).unwrap();

        assert!(text.contains("2024-12-14 00:00 UTC"));
        assert!(text.contains("order 42877 on 2024-12-22"));
    }

    #[test]
    fn missing_customer_and_leakage_name_the_command() {
        let mut data = ReportData::sample();
        data.point_in_time = None;
        data.leakage = None;

        let html = render(&data);

        assert_eq!(html.matches("Not in this run").count(), 2);
        assert!(html.contains(produced_by::DEMO));
        assert!(html.contains(r#"id="naive""#));
    }

    #[test]
    fn why_chosen_is_escaped() {
        let mut data = ReportData::sample();
        data.point_in_time.as_mut().unwrap().why_chosen = "--customer-id <1501>".into();

        let html = render(&data);

        assert!(html.contains("--customer-id &lt;1501&gt;"));
    }
}
