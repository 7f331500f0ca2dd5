//! The demo's report: one self-contained HTML page that shows, to people who will not read
//! logs, what the feature store changes. The binary gathers what the run recorded into a
//! [`ReportData`]; [`render`] turns it into the page and [`write()`] saves the page with its
//! data beside it. Charts are inline SVG; the page loads nothing from the network.
//!
//! Modules in the order the page reads: the data, then one module per section (pipeline,
//! point in time with its timeline, agreement, model, data profile, speed), then the page
//! shell, the SVG helpers and the output files.

pub mod data;
mod sample;
pub mod section;

mod agreement;
mod data_profile;
mod model;
mod pipeline;
mod point_in_time;
mod speed;
mod summary;
mod timeline;

mod html;
mod output;
mod page;
mod svg;

pub use data::ReportData;
pub use output::{read_data, write, ReportError, DATA_FILE, PAGE_FILE};
pub use section::Section;

/// Renders the whole page for `data`: every section, the ones the run skipped saying which
/// command produces them.
pub fn render(data: &ReportData) -> String {
    let sections = [
        pipeline::render(data),
        point_in_time::render(data),
        agreement::render(data),
        model::render(data),
        data_profile::render(data),
        speed::render(data),
    ];
    page::document(data, &summary::render(data), &sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_is_on_the_page_in_order() {
        let html = render(&ReportData::sample());

        let positions: Vec<usize> = Section::ALL
            .iter()
            .map(|s| html.find(&format!("<section id=\"{}\">", s.id())))
            .map(|found| found.expect("every section is on the page"))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    }

    #[test]
    fn page_has_no_script_no_external_reference_and_no_url() {
        let html = render(&ReportData::sample());

        assert!(!html.contains("<script"));
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<img") && !html.contains("<link") && !html.contains("@import"));
        assert!(!html.contains("src=") && !html.contains("url("));
        for href in html.split("href=\"").skip(1) {
            assert!(href.starts_with('#'), "only in-page links: {}", &href[..40.min(href.len())]);
        }
    }

    #[test]
    fn an_empty_run_still_renders_every_section_with_its_command() {
        let mut data = ReportData::sample();
        data.pipeline = None;
        data.point_in_time = None;
        data.leakage = None;
        data.verify = None;
        data.predictions = None;
        data.model = None;
        data.data = None;
        data.bench = None;

        let html = render(&data);

        for section in Section::ALL {
            assert!(html.contains(&format!("<section id=\"{}\">", section.id())));
        }
        assert!(!html.contains("<svg"));
        assert_eq!(html.matches("not recorded").count(), 5);
        for command in
            ["fsdemo demo", "fsdemo train", "fsdemo featurestore verify", "fsdemo bench online"]
        {
            assert!(html.contains(command), "{command}");
        }
    }

    #[test]
    fn records_with_no_rows_or_non_finite_numbers_still_render_every_chart() {
        let mut data = ReportData::sample();
        data.pipeline.as_mut().unwrap().steps.clear();
        let pit = data.point_in_time.as_mut().unwrap();
        pit.orders.clear();
        pit.snapshots.clear();
        pit.labels.clear();
        pit.naive.clear();
        data.verify.as_mut().unwrap().sample_rows.clear();
        data.predictions.as_mut().unwrap().rows.clear();
        let model = data.model.as_mut().unwrap();
        model.roc_curve.clear();
        model.pr_curve.clear();
        model.weights.clear();
        model.calibration[0].observed_rate = f64::NAN;
        model.test.positive_rate = f64::INFINITY;
        let profile = data.data.as_mut().unwrap();
        profile.label_rate_by_day.clear();
        profile.features[0].bins.clear();
        data.bench.as_mut().unwrap().fetch.p99_ms = f64::NAN;

        let html = render(&data);

        for id in ["pipeline", "timeline", "naive", "roc", "pr", "calibration", "weights"] {
            assert!(html.contains(&format!("<svg id=\"chart-{id}\"")), "chart-{id}");
        }
        for id in ["label-rate", "feature-orders_7d", "latency", "predictions"] {
            assert!(html.contains(&format!("<svg id=\"chart-{id}\"")), "chart-{id}");
        }
        assert!(!html.contains("could not be drawn"), "no chart failed");
    }

    #[test]
    fn the_summary_repeats_the_recorded_numbers() {
        let data = ReportData::sample();
        let html = render(&data);

        let model = data.model.as_ref().unwrap();
        assert!(html
            .contains(&format!("<div class=\"value\">{:.3}</div>", model.test.roc_auc.unwrap())));
        let bench = data.bench.as_ref().unwrap();
        assert!(html.contains(&format!("<div class=\"value\">{:.2} ms</div>", bench.fetch.p99_ms)));
    }

    #[test]
    fn header_values_are_escaped() {
        let mut data = ReportData::sample();
        data.workdir = "/tmp/<x>&\"y\"".into();

        let html = render(&data);

        assert!(html.contains("/tmp/&lt;x&gt;&amp;&quot;y&quot;"));
    }
}
