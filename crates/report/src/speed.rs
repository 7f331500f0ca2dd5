//! Section 6, online speed, when `fsdemo bench online` has run: latency percentiles and
//! throughput of a feature fetch alone and of fetch then predict, and the timed sync.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::data::{Bench, Latency, ReportData};
use crate::html::{self, escape};
use crate::page;
use crate::section::{produced_by, Section};
use crate::svg::{self, FONT};

/// The speed section.
pub(crate) fn render(data: &ReportData) -> String {
    let Some(bench) = &data.bench else {
        return page::section(
            Section::Speed,
            "How fast the online store and the endpoint answer.",
            &page::missing("online latency and throughput", produced_by::BENCH),
        );
    };

    let lede = format!(
        "How fast serving answers: {} timed requests with {} in flight, against the {} \
         profile's online store and endpoint. From the bench's recorded results.",
        html::count(bench.fetch.requests),
        bench.fetch.concurrency,
        escape(data.profile.as_str()),
    );
    let mut body = page::stats(&tiles(bench));
    body.push_str(&page::figure(
        &chart(bench),
        "Lower is better. Each percentile: the latency that share of requests stayed under.",
    ));
    body.push_str(&table(bench));
    body.push_str(&page::source(&bench.source));
    page::section(Section::Speed, &lede, &body)
}

fn tiles(bench: &Bench) -> Vec<String> {
    let mut tiles = vec![
        page::stat(&html::millis(bench.fetch.p50_ms), "median feature fetch", "online"),
        page::stat(&html::millis(bench.fetch.p99_ms), "p99 feature fetch", "online"),
        page::stat(
            &format!("{}/s", html::count(bench.fetch.requests_per_sec.round() as u64)),
            "fetches per second",
            "online",
        ),
    ];
    if let Some(full) = &bench.full_path {
        tiles.push(page::stat(&html::millis(full.p99_ms), "p99 fetch then predict", "online"));
    }
    if let Some(secs) = bench.sync_secs {
        let label = match bench.sync_rows {
            Some(rows) => format!("to sync {} rows online", html::count(rows)),
            None => "to sync the feature view".to_string(),
        };
        tiles.push(page::stat(&format!("{secs:.1} s"), &label, "offline"));
    }
    tiles
}

fn paths(bench: &Bench) -> Vec<(&'static str, &Latency, svg::RGBColor)> {
    let mut out = vec![("fetchFeatureValues", &bench.fetch, svg::ONLINE)];
    if let Some(full) = &bench.full_path {
        out.push(("fetch then predict", full, svg::ONLINE_DARK));
    }
    out
}

fn chart(bench: &Bench) -> String {
    let paths = paths(bench);
    let percentiles =
        |l: &Latency| [("p50", l.p50_ms), ("p90", l.p90_ms), ("p99", l.p99_ms), ("max", l.max_ms)];
    let reach = paths
        .iter()
        .flat_map(|(_, l, _)| percentiles(l).map(|p| p.1))
        .fold(0.0, f64::max)
        .max(1e-3)
        * 1.22;

    // One slot per bar plus a gap slot under each percentile's group; p50 on top, and
    // within a group the first path on top.
    let per_group = paths.len() as u32 + 1;
    let slots = 4 * per_group;
    let slot =
        |group: usize, path: usize| (3 - group as u32) * per_group + (paths.len() - path) as u32;
    let height = 90 + 4 * 28 * paths.len() as u32;

    svg::plot("chart-latency", "Online latency percentiles", (1060, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..reach, svg::segments(slots))?;
        let name_of = |segment: &SegmentValue<u32>| match segment {
            SegmentValue::CenterOf(s) if s % per_group == per_group - 1 => {
                ["max", "p99", "p90", "p50"][(s / per_group) as usize].to_string()
            }
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .bold_line_style(svg::GRID)
            .axis_style(svg::MUTED)
            .x_desc("milliseconds")
            .label_style((FONT, 15.5).into_font().color(&svg::INK))
            .axis_desc_style((FONT, 17).into_font().color(&svg::INK))
            .y_labels(slots as usize)
            .y_label_formatter(&name_of)
            .x_labels(8)
            .x_label_formatter(&|v| format!("{v:.1}"))
            .draw()?;

        for (p, (name, latency, colour)) in paths.iter().enumerate() {
            let bars: Vec<(u32, f64)> = percentiles(latency)
                .iter()
                .enumerate()
                .map(|(g, (_, ms))| (slot(g, p), *ms))
                .collect();
            let colour = *colour;
            chart
                .draw_series(bars.iter().map(|&(s, ms)| {
                    let corners = [(0.0, SegmentValue::Exact(s)), (ms, SegmentValue::Exact(s + 1))];
                    let mut bar = Rectangle::new(corners, colour.filled());
                    bar.set_margin(3, 3, 0, 0);
                    bar
                }))?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], colour.filled())
                });
            chart.draw_series(bars.iter().map(|&(s, ms)| {
                let style =
                    (FONT, 15).into_font().color(&svg::INK).pos(Pos::new(HPos::Left, VPos::Center));
                Text::new(html::millis(ms), (ms + reach * 0.01, SegmentValue::CenterOf(s)), style)
            }))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(svg::GRID)
            .label_font((FONT, 17).into_font().color(&svg::INK))
            .draw()?;
        Ok(())
    })
}

fn table(bench: &Bench) -> String {
    let titles = ["Requests", "In flight", "p50", "p90", "p99", "max", "Requests/s"];
    let mut head = vec![page::th("Path", false)];
    head.extend(titles.iter().map(|t| page::th(t, true)));

    let rows: Vec<Vec<String>> = paths(bench)
        .iter()
        .map(|(name, l, _)| {
            let numbers = [
                html::count(l.requests),
                l.concurrency.to_string(),
                html::millis(l.p50_ms),
                html::millis(l.p90_ms),
                html::millis(l.p99_ms),
                html::millis(l.max_ms),
                html::count(l.requests_per_sec.round() as u64),
            ];
            let mut cells =
                vec![page::td("", &format!("<span class=\"tag online\">{}</span>", escape(name)))];
            cells.extend(numbers.iter().map(|n| page::td("num", n)));
            cells
        })
        .collect();
    page::table("latency", &head, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_throughput_are_the_recorded_ones() {
        let data = ReportData::sample();
        let html = render(&data);
        let bench = data.bench.as_ref().unwrap();

        assert!(html.contains("<svg id=\"chart-latency\""));
        for ms in [bench.fetch.p50_ms, bench.fetch.p90_ms, bench.fetch.p99_ms, bench.fetch.max_ms] {
            assert!(html.contains(&html::millis(ms)), "{ms}");
        }
        assert!(html.contains("14,870/s"));
    }

    #[test]
    fn a_bench_without_full_path_or_sync_still_renders() {
        let mut data = ReportData::sample();
        let bench = data.bench.as_mut().unwrap();
        bench.full_path = None;
        bench.sync_secs = None;

        let html = render(&data);

        assert!(html.contains("<svg id=\"chart-latency\""));
        assert!(!html.contains("fetch then predict"));
    }

    #[test]
    fn missing_bench_names_the_bench_command() {
        let mut data = ReportData::sample();
        data.bench = None;

        let html = render(&data);

        assert!(html.contains("fsdemo bench online"));
        assert!(!html.contains("chart-latency"));
    }
}
