//! Section 5, the data: the label rate per label day (train and held-out test days told
//! apart) and one small histogram per model input, NULLs drawn as their own bar.

use plotters::prelude::*;

use crate::data::{DataProfile, FeatureDistribution, Model, ReportData};
use crate::html::{self, escape};
use crate::page;
use crate::section::{produced_by, Section};
use crate::svg::{self, FONT};

/// The data section.
pub(crate) fn render(data: &ReportData) -> String {
    let Some(profile) = &data.data else {
        return page::section(
            Section::Data,
            "How often customers reorder, label day by label day, and each feature's shape.",
            &page::missing("the label rates and feature distributions", produced_by::DEMO),
        );
    };

    let lede = lede(profile);
    let mut body = label_rate_legend(data.model.as_ref());
    body.push_str(&page::figure(
        &label_rate(profile, data.model.as_ref()),
        "Share of label rows with a countable order in the 14 days after the label day.",
    ));
    body.push_str(&page::subheading("features", "Each feature's distribution"));
    body.push_str("<div class=\"grid2\">\n");
    for feature in &profile.features {
        body.push_str(&page::figure(&histogram(feature), &feature_caption(feature)));
    }
    body.push_str("</div>\n");
    body.push_str(&page::source(&profile.source));
    page::section(Section::Data, &lede, &body)
}

fn lede(profile: &DataProfile) -> String {
    let days = &profile.label_rate_by_day;
    let rows: u64 = days.iter().map(|d| d.rows).sum();
    let rates = days.iter().map(|d| d.positive_rate);
    let (low, high) = rates.fold((f64::INFINITY, 0.0f64), |(lo, hi), r| (lo.min(r), hi.max(r)));
    let range = if days.is_empty() {
        "no label days".to_string()
    } else {
        format!("between {} and {}", html::percent(low), html::percent(high))
    };
    format!(
        "{} label rows over {} label days; the repurchase rate stays {}, which is why accuracy \
         alone says little. From the tables the run built.",
        html::count(rows),
        days.len(),
        escape(&range),
    )
}

fn label_rate_legend(model: Option<&Model>) -> String {
    let mut keys = vec![page::key(&svg::hex(svg::OFFLINE), "dot", "label day used for training")];
    if model.is_some() {
        keys.push(page::key(&svg::hex(svg::TEST), "dot", "held out for test"));
    }
    format!("<div class=\"legend\">{}</div>\n", keys.concat())
}

/// `Aug 3` for `2024-08-03`; the text itself when it is not a date.
fn short_date(day: &str) -> String {
    match chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d") {
        Ok(date) => date.format("%b %-d").to_string(),
        Err(_) => day.to_string(),
    }
}

fn label_rate(profile: &DataProfile, model: Option<&Model>) -> String {
    let days = &profile.label_rate_by_day;
    let n = days.len() as u32;
    let top = days.iter().map(|d| d.positive_rate).fold(0.0, f64::max);
    let top = if top > 0.0 { top * 1.2 } else { 0.01 };
    let test_from = model.map(|m| m.test.label_days.first.clone());
    let every = (days.len() / 12).max(1) as u32;

    svg::plot("chart-label-rate", "Label rate per label day", (1060, 300), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(svg::segments(n), 0.0..top)?;
        let day_of = |segment: &SegmentValue<u32>| match segment {
            SegmentValue::CenterOf(i) if i % every == 0 => {
                days.get(*i as usize).map(|d| short_date(&d.day)).unwrap_or_default()
            }
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .bold_line_style(svg::GRID)
            .axis_style(svg::MUTED)
            .y_desc("label rate")
            .label_style((FONT, 16).into_font().color(&svg::MUTED))
            .axis_desc_style((FONT, 17).into_font().color(&svg::INK))
            .x_labels(days.len())
            .x_label_formatter(&day_of)
            .y_labels(6)
            .y_label_formatter(&|v| format!("{:.1}%", v * 100.0))
            .draw()?;

        chart.draw_series(days.iter().enumerate().map(|(i, day)| {
            let held_out =
                test_from.as_ref().is_some_and(|first| day.day.as_str() >= first.as_str());
            let colour = if held_out { svg::TEST } else { svg::OFFLINE };
            let corners = [
                (SegmentValue::Exact(i as u32), 0.0),
                (SegmentValue::Exact(i as u32 + 1), day.positive_rate),
            ];
            let mut bar = Rectangle::new(corners, colour.filled());
            bar.set_margin(0, 0, 3, 3);
            bar
        }))?;
        Ok(())
    })
}

fn feature_caption(feature: &FeatureDistribution) -> String {
    if feature.null_rate == 0.0 {
        format!("{} customers, no NULL.", html::count(feature.rows))
    } else {
        let rate = html::percent(feature.null_rate);
        format!("{} customers; NULL (grey) in {rate} of them.", html::count(feature.rows))
    }
}

/// A compact number for a bin edge: `25`, `1.5`, `1.6k`.
fn compact(value: f64) -> String {
    if value.abs() >= 1_000.0 {
        let k = value / 1_000.0;
        if k.fract() == 0.0 {
            format!("{k:.0}k")
        } else {
            format!("{k:.1}k")
        }
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// Bars beyond which a histogram labels bins by their lower edge (`30+`), not the range.
const RANGE_LABELS_UP_TO: usize = 7;

/// The bars of one feature: the NULL bar first (when any), then one per bin.
fn bars(feature: &FeatureDistribution) -> Vec<(String, u64, bool)> {
    let nulls = (feature.rows as f64 * feature.null_rate).round() as u64;
    let mut out = Vec::new();
    if nulls > 0 {
        out.push(("NULL".to_string(), nulls, true));
    }
    let crowded = out.len() + feature.bins.len() > RANGE_LABELS_UP_TO;
    for bin in &feature.bins {
        let unit = bin.hi - bin.lo == 1.0 && bin.lo.fract() == 0.0;
        let name = match (unit, crowded) {
            (true, _) => compact(bin.lo),
            (false, true) => format!("{}+", compact(bin.lo)),
            (false, false) => format!("{}–{}", compact(bin.lo), compact(bin.hi)),
        };
        out.push((name, bin.count, false));
    }
    out
}

fn histogram(feature: &FeatureDistribution) -> String {
    let bars = bars(feature);
    let n = bars.len() as u32;
    let top = bars.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64 * 4.0;
    let id = format!("chart-feature-{}", feature.name);
    let label = format!("Distribution of {}", feature.name);

    svg::plot(&id, &label, (520, 250), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(10)
            .caption(&feature.name, (FONT, 19).into_font().color(&svg::INK))
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(svg::segments(n), (1.0..top).log_scale())?;
        let name_of = |segment: &SegmentValue<u32>| match segment {
            SegmentValue::CenterOf(i) => {
                bars.get(*i as usize).map(|b| b.0.clone()).unwrap_or_default()
            }
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .bold_line_style(svg::GRID)
            .axis_style(svg::MUTED)
            .y_desc("customers (log)")
            .label_style((FONT, 15).into_font().color(&svg::MUTED))
            .axis_desc_style((FONT, 15.5).into_font().color(&svg::MUTED))
            .x_labels(bars.len())
            .x_label_formatter(&name_of)
            .y_labels(4)
            .y_label_formatter(&|v| compact(*v))
            .draw()?;

        chart.draw_series(bars.iter().enumerate().filter(|(_, b)| b.1 > 0).map(
            |(i, (_, count, null))| {
                let colour = if *null { svg::MUTED } else { svg::OFFLINE };
                let corners = [
                    (SegmentValue::Exact(i as u32), 1.0),
                    (SegmentValue::Exact(i as u32 + 1), *count as f64),
                ];
                let mut bar = Rectangle::new(corners, colour.filled());
                bar.set_margin(0, 0, 2, 2);
                bar
            },
        ))?;
        chart.draw_series(bars.iter().enumerate().filter(|(_, b)| b.1 > 0).map(
            |(i, (_, count, _))| {
                let style = (FONT, 15).into_font().color(&svg::INK).pos(
                    plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Bottom,
                    ),
                );
                Text::new(
                    compact_count(*count),
                    (SegmentValue::CenterOf(i as u32), *count as f64 * 1.15),
                    style,
                )
            },
        ))?;
        Ok(())
    })
}

/// A count in at most four characters: `812`, `1.1k`, `79k`.
fn compact_count(count: u64) -> String {
    match count {
        0..=999 => count.to_string(),
        1_000..=9_999 => format!("{:.1}k", count as f64 / 1_000.0),
        10_000..=999_999 => format!("{}k", (count as f64 / 1_000.0).round()),
        _ => format!("{:.1}M", count as f64 / 1_000_000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_rate_and_every_feature_have_a_chart() {
        let data = ReportData::sample();
        let html = render(&data);

        assert!(html.contains("<svg id=\"chart-label-rate\""));
        for feature in &data.data.as_ref().unwrap().features {
            assert!(html.contains(&format!("<svg id=\"chart-feature-{}\"", feature.name)));
            if feature.null_rate > 0.0 {
                assert!(html.contains(&html::percent(feature.null_rate)));
            }
        }
    }

    #[test]
    fn nulls_get_their_own_bar_and_unit_bins_a_single_number() {
        let data = ReportData::sample();
        let features = &data.data.as_ref().unwrap().features;

        let avg = bars(&features[3]);
        assert_eq!(avg[0].0, "NULL");
        assert_eq!(avg[0].1, (81_342.0 * 0.9418f64).round() as u64);
        let orders = bars(&features[0]);
        assert_eq!(orders.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(), ["0", "1", "2"]);
        assert_eq!(avg[1].0, "0–25");
        let days = bars(&features[4]);
        assert_eq!(days[1].0, "0+", "nine bars are too many for ranges");
    }

    #[test]
    fn numbers_are_compact_on_axes() {
        assert_eq!(compact(1_600.0), "1.6k");
        assert_eq!(compact(25.0), "25");
        assert_eq!(compact_count(79_114), "79k");
        assert_eq!(compact_count(1_106), "1.1k");
    }

    #[test]
    fn missing_data_profile_names_the_command() {
        let mut data = ReportData::sample();
        data.data = None;

        let html = render(&data);

        assert!(html.contains("Not in this run"));
        assert!(!html.contains("chart-label-rate"));
    }
}
