//! The two hand-drawn time panels of section 2, on one shared time axis: the point-in-time
//! timeline (orders, daily snapshots, label rows with their 14-day windows and the snapshot
//! each used) and the naive panel (the same label rows reaching for the newest snapshot,
//! with the future orders that snapshot already counts highlighted).
//!
//! Plotters draws plots; these are diagrams with lanes, bands and connectors, so they are
//! drawn by hand on [`Canvas`].

use crate::data::{Order, PointInTime};
use crate::html;
use crate::svg::{self, hex, Canvas, Text};

const WIDTH: f64 = 1060.0;
const PLOT_X0: f64 = 170.0;
const PLOT_X1: f64 = 1040.0;
const DAY: i64 = fsdemo_core::time::MICROS_PER_DAY;

/// Maps times onto the plot's x range; both panels use the same one so they line up.
#[derive(Debug, Clone, Copy)]
struct Axis {
    t0: i64,
    t1: i64,
}

impl Axis {
    /// The span that holds every order, snapshot, label window and naive snapshot, padded
    /// by two days on each side.
    fn of(pit: &PointInTime) -> Axis {
        let mut times: Vec<i64> = pit.orders.iter().map(|o| o.created_at_micros).collect();
        times.extend(pit.snapshots.iter().map(|s| s.feature_timestamp_micros));
        times.extend(pit.naive.iter().map(|n| n.naive_snapshot_micros));
        for label in &pit.labels {
            times.push(label.label_timestamp_micros);
            times.push(label.label_timestamp_micros + i64::from(label.window_days) * DAY);
        }
        let t0 = times.iter().min().copied().unwrap_or(0) - 2 * DAY;
        let t1 = times.iter().max().copied().unwrap_or(0) + 2 * DAY;
        Axis { t0, t1: t1.max(t0 + DAY) }
    }

    fn x(&self, t: i64) -> f64 {
        let share = (t - self.t0) as f64 / (self.t1 - self.t0) as f64;
        PLOT_X0 + share * (PLOT_X1 - PLOT_X0)
    }

    /// Vertical grid lines and date labels every `step` days, from `top` down to `bottom`.
    fn draw(&self, canvas: &mut Canvas, top: f64, bottom: f64) {
        let span_days = (self.t1 - self.t0) / DAY;
        let step = match span_days {
            0..=21 => 2,
            22..=100 => 7,
            101..=250 => 14,
            _ => 28,
        } * DAY;
        let first = (self.t0 / DAY + 1) * DAY;

        canvas.line((PLOT_X0, bottom), (PLOT_X1, bottom), &hex(svg::MUTED), "");
        let mut t = first;
        while t <= self.t1 {
            let x = self.x(t);
            canvas.line((x, top), (x, bottom), &hex(svg::GRID), "");
            canvas.line((x, bottom), (x, bottom + 4.0), &hex(svg::MUTED), "");
            let label = html::short_day(t);
            canvas.text(x, bottom + 17.0, &label, &Text::middle(11.5).colour(svg::MUTED));
            t += step;
        }
    }
}

/// Layout of the point-in-time panel.
const ORDERS_Y: f64 = 52.0;
const SNAP_Y: f64 = 118.0;
const LABELS_Y: f64 = 160.0;
const LABEL_ROW_H: f64 = 34.0;

/// The point-in-time timeline (`chart-timeline`).
///
/// Limitation: every label row gets its own window band; past a dozen rows the bands and
/// connectors crowd, which is why [`PointInTime::labels`] asks the binary for a handful.
pub(crate) fn point_in_time(pit: &PointInTime) -> String {
    let axis = Axis::of(pit);
    let sub_rows = label_sub_rows(pit);
    let lanes = sub_rows.iter().max().map_or(1, |m| m + 1) as f64;
    let bottom = LABELS_Y + lanes * LABEL_ROW_H + 6.0;
    let mut canvas = Canvas::new(WIDTH, bottom + 28.0);

    lane(&mut canvas, 22.0, 82.0, "Orders", "every status, by created_at");
    lane(&mut canvas, 88.0, 142.0, "Daily snapshots", "features_customer rows");
    lane(&mut canvas, 146.0, bottom, "Label rows", "label time and 14-day window");
    axis.draw(&mut canvas, 22.0, bottom);
    order_guides(&mut canvas, &axis, &pit.orders, ORDERS_Y, bottom);

    // Windows, then connectors, then snapshots and orders on top.
    for (label, sub) in pit.labels.iter().zip(&sub_rows) {
        let y = LABELS_Y + *sub as f64 * LABEL_ROW_H;
        let (start, end) = (
            label.label_timestamp_micros,
            label.label_timestamp_micros + i64::from(label.window_days) * DAY,
        );
        let (fill, stroke) = if label.label {
            (svg::WINDOW, svg::POSITIVE)
        } else {
            (svg::WINDOW_EMPTY, svg::MUTED)
        };
        let width = axis.x(end) - axis.x(start);
        canvas.rect(
            axis.x(start),
            y,
            width,
            22.0,
            &hex(fill),
            &format!(r#"rx="4" stroke="{}" stroke-opacity="0.6""#, hex(stroke)),
        );
        let text = format!("label {} · {} days", u8::from(label.label), label.window_days);
        let style =
            Text::start(11.5).colour(if label.label { svg::POSITIVE } else { svg::MUTED }).bold();
        canvas.text(axis.x(start) + 10.0, y + 15.5, &text, &style);

        if let Some(used) = label.used_snapshot_micros {
            let (x_used, x_label) = (axis.x(used), axis.x(start));
            let d = format!(
                "M{} {} L{} {}",
                svg::n(x_label),
                svg::n(y),
                svg::n(x_used),
                svg::n(SNAP_Y + 13.0)
            );
            canvas.path(
                &d,
                &format!(r#"fill="none" stroke="{}" stroke-width="2""#, hex(svg::OFFLINE)),
            );
        }
        let title = format!("label time {}: label {}", html::minute(start), u8::from(label.label));
        diamond(
            &mut canvas,
            (axis.x(start), y + 11.0),
            7.0,
            if label.label { svg::POSITIVE } else { svg::MUTED },
            &title,
        );
    }

    snapshots(&mut canvas, &axis, pit);
    orders(&mut canvas, &axis, &pit.orders, ORDERS_Y, &[]);
    canvas.finish(
        "chart-timeline",
        "One customer's orders, daily snapshots, and each label row with its 14-day window \
         and the snapshot it used",
    )
}

/// Puts each label row in the first sub-row where its window does not overlap another.
fn label_sub_rows(pit: &PointInTime) -> Vec<usize> {
    let mut row_ends: Vec<i64> = Vec::new();
    pit.labels
        .iter()
        .map(|label| {
            let start = label.label_timestamp_micros;
            let end = start + i64::from(label.window_days) * DAY;
            match row_ends.iter().position(|&e| e <= start) {
                Some(row) => {
                    row_ends[row] = end;
                    row
                }
                None => {
                    row_ends.push(end);
                    row_ends.len() - 1
                }
            }
        })
        .collect()
}

fn lane(canvas: &mut Canvas, top: f64, bottom: f64, title: &str, subtitle: &str) {
    canvas.rect(PLOT_X0, top, PLOT_X1 - PLOT_X0, bottom - top, "#f9fafb", "");
    if !title.is_empty() {
        let mid = (top + bottom) / 2.0;
        canvas.text(10.0, mid - 2.0, title, &Text::start(13.0).bold());
        canvas.text(10.0, mid + 13.0, subtitle, &Text::start(11.0).colour(svg::MUTED));
    }
}

fn order_guides(canvas: &mut Canvas, axis: &Axis, orders: &[Order], top: f64, bottom: f64) {
    for order in orders {
        let x = axis.x(order.created_at_micros);
        canvas.line((x, top), (x, bottom), "#94a3b8", r#"stroke-dasharray="2 3""#);
    }
}

fn snapshots(canvas: &mut Canvas, axis: &Axis, pit: &PointInTime) {
    let used: Vec<i64> = pit.labels.iter().filter_map(|l| l.used_snapshot_micros).collect();
    for snapshot in &pit.snapshots {
        let x = axis.x(snapshot.feature_timestamp_micros);
        canvas.line((x, SNAP_Y - 7.0), (x, SNAP_Y + 7.0), "#9ca3af", "");
    }
    for snapshot in pit.snapshots.iter().filter(|s| used.contains(&s.feature_timestamp_micros)) {
        let t = snapshot.feature_timestamp_micros;
        let x = axis.x(t);
        canvas.line(
            (x, SNAP_Y - 13.0),
            (x, SNAP_Y + 13.0),
            &hex(svg::OFFLINE),
            r#"stroke-width="3""#,
        );
        let title = format!("snapshot {} used by the label row at this time", html::minute(t));
        canvas.circle((x, SNAP_Y - 13.0), 3.5, &format!(r#"fill="{}""#, hex(svg::OFFLINE)), &title);
    }
}

/// Draws the orders on a lane at `y`; orders in `leaked` are drawn in the leak colour.
fn orders(canvas: &mut Canvas, axis: &Axis, orders: &[Order], y: f64, leaked: &[i64]) {
    let biggest = orders.iter().map(|o| o.value).fold(1.0, f64::max);
    for order in orders {
        let x = axis.x(order.created_at_micros);
        let r = 5.0 + 6.0 * (order.value / biggest).clamp(0.0, 1.0).sqrt();
        let colour = if leaked.contains(&order.order_id) { svg::LEAK } else { svg::INK };
        let attrs = if order.countable {
            format!(r#"fill="{}" stroke="white" stroke-width="1.5""#, hex(colour))
        } else {
            format!(r#"fill="white" stroke="{}" stroke-width="2""#, hex(svg::MUTED))
        };
        let title = format!(
            "order {} at {}: value {:.2}, {}{}",
            order.order_id,
            html::minute(order.created_at_micros),
            order.value,
            order.status,
            if order.countable { "" } else { " (not countable)" },
        );
        canvas.circle((x, y), r, &attrs, &title);

        let value_style =
            Text::middle(11.0).colour(if order.countable { colour } else { svg::MUTED });
        canvas.text(x, y - r - 4.0, &format!("{:.2}", order.value), &value_style);
        if !order.countable {
            let status = order.status.to_lowercase();
            canvas.text(x, y + r + 12.0, &status, &Text::middle(10.5).colour(svg::MUTED));
        }
    }
}

fn diamond(canvas: &mut Canvas, (x, y): (f64, f64), r: f64, colour: svg::RGBColor, title: &str) {
    let points = [(x, y - r), (x + r, y), (x, y + r), (x - r, y)];
    let attrs = format!(r#"fill="{}" stroke="white" stroke-width="1.5""#, hex(colour));
    canvas.polygon(&points, &attrs, title);
}

/// Layout of the naive panel.
const NAIVE_ORDERS_Y: f64 = 46.0;
const NAIVE_ROWS_Y: f64 = 100.0;
const NAIVE_ROW_H: f64 = 30.0;

/// The naive join panel (`chart-naive`): each label row's reach to the newest snapshot.
pub(crate) fn naive(pit: &PointInTime) -> String {
    let axis = Axis::of(pit);
    let rows = pit.naive.len().max(1) as f64;
    let bottom = NAIVE_ROWS_Y + rows * NAIVE_ROW_H - 8.0;
    let mut canvas = Canvas::new(WIDTH, bottom + 28.0);

    lane(&mut canvas, 18.0, 74.0, "Orders", "leaked ones in colour");
    lane(&mut canvas, 80.0, bottom, "", "");
    axis.draw(&mut canvas, 18.0, bottom);
    order_guides(&mut canvas, &axis, &pit.orders, NAIVE_ORDERS_Y, bottom);

    let leaked: Vec<i64> =
        pit.naive.iter().flat_map(|n| n.future_order_ids.iter().copied()).collect();
    for (i, row) in pit.naive.iter().enumerate() {
        let y = NAIVE_ROWS_Y + i as f64 * NAIVE_ROW_H;
        let (from, to) = (axis.x(row.label_timestamp_micros), axis.x(row.naive_snapshot_micros));
        let leaks = !row.future_order_ids.is_empty();
        let colour = if leaks { svg::LEAK } else { svg::MUTED };

        canvas.line((from, y), (to - 6.0, y), &hex(colour), r#"stroke-width="2.5""#);
        let head = [(to, y), (to - 9.0, y - 5.0), (to - 9.0, y + 5.0)];
        canvas.polygon(
            &head,
            &format!(r#"fill="{}""#, hex(colour)),
            "the newest snapshot: what a naive join takes",
        );
        let label =
            pit.labels.iter().find(|l| l.label_timestamp_micros == row.label_timestamp_micros);
        let label_colour = match label {
            Some(l) if l.label => svg::POSITIVE,
            _ => svg::MUTED,
        };
        let title = format!("label time {}", html::minute(row.label_timestamp_micros));
        diamond(&mut canvas, (from, y), 6.5, label_colour, &title);

        for id in &row.future_order_ids {
            if let Some(order) = pit.orders.iter().find(|o| o.order_id == *id) {
                let x = axis.x(order.created_at_micros);
                let title = format!(
                    "order {id} at {}: after the label time, yet counted",
                    html::minute(order.created_at_micros)
                );
                canvas.circle(
                    (x, y),
                    5.5,
                    &format!(r#"fill="{}" stroke="white" stroke-width="1.5""#, hex(svg::LEAK)),
                    &title,
                );
            }
        }

        let count = row.future_order_ids.len();
        let note = match count {
            0 => "no future order".to_string(),
            1 => "1 future order".to_string(),
            k => format!("{k} future orders"),
        };
        canvas.text(
            PLOT_X0 - 8.0,
            y + 4.0,
            &format!("{} · {note}", html::short_day(row.label_timestamp_micros)),
            &Text::end(11.5).colour(colour).bold(),
        );
    }

    orders(&mut canvas, &axis, &pit.orders, NAIVE_ORDERS_Y, &leaked);
    canvas.finish(
        "chart-naive",
        "What a naive join would use: each label row takes the newest snapshot, which \
         already counts orders placed after the label time",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ReportData;

    #[test]
    fn overlapping_windows_go_to_separate_sub_rows() {
        let pit = ReportData::sample().point_in_time.unwrap();

        // Labels every 7 days with 14-day windows alternate between two sub-rows.
        assert_eq!(label_sub_rows(&pit), [0, 1, 0, 1, 0, 1]);
    }

    #[test]
    fn axis_spans_every_window_and_the_naive_snapshot() {
        let pit = ReportData::sample().point_in_time.unwrap();
        let axis = Axis::of(&pit);

        for label in &pit.labels {
            let end = label.label_timestamp_micros + i64::from(label.window_days) * DAY;
            assert!(axis.x(end) <= PLOT_X1 && axis.x(label.label_timestamp_micros) >= PLOT_X0);
        }
        assert!(axis.x(pit.naive[0].naive_snapshot_micros) <= PLOT_X1);
    }

    #[test]
    fn naive_panel_highlights_exactly_the_recorded_future_orders() {
        let pit = ReportData::sample().point_in_time.unwrap();
        let svg = naive(&pit);

        let recorded: usize = pit.naive.iter().map(|n| n.future_order_ids.len()).sum();
        assert_eq!(svg.matches("after the label time, yet counted").count(), recorded);
    }
}
