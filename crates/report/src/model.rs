//! Section 4, the model: headline test metrics, ROC and precision-recall curves on the test
//! split, calibration by decile, the weight of each feature, and both splits side by side.
//! Every number is the one training recorded; the curves are drawn, never re-derived.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::data::{Model, ReportData, SplitSummary};
use crate::html::{self, escape};
use crate::page;
use crate::section::{produced_by, Section};
use crate::svg::{self, FONT};

const CHART: (u32, u32) = (520, 380);

/// The model section.
pub(crate) fn render(data: &ReportData) -> String {
    let Some(model) = &data.model else {
        return page::section(
            Section::Model,
            "How well the model ranks customers on label days it never saw.",
            &page::missing("a trained model and its metrics", produced_by::TRAIN),
        );
    };

    let lede = format!(
        "Evaluated out of time: trained on label days {} and tested on the newest, held-out days \
         {}. Only {} of test rows are positive, so read ROC AUC and PR AUC, not accuracy. From \
         training's recorded metrics.",
        escape(&days(&model.train)),
        escape(&days(&model.test)),
        escape(&html::percent(model.test.positive_rate)),
    );

    let mut body = page::stats(&headline(&model.test));
    body.push_str("<div class=\"grid2\">\n");
    body.push_str(&page::figure(
        &roc(model),
        "Test split. The dashed diagonal is a model that guesses.",
    ));
    body.push_str(&page::figure(
        &pr(model),
        "Test split. The dashed line is the positive rate: what guessing achieves.",
    ));
    body.push_str(&page::figure(
        &calibration(model),
        "Test rows by decile of predicted probability; on the diagonal, a predicted 3% means \
         3% reorder.",
    ));
    body.push_str(&page::figure(&weights(model), weights_caption(model)));
    body.push_str("</div>\n");
    body.push_str(&splits_table(model));
    body.push_str(&format!(
        "<p class=\"source\">Model <code>{}</code>, intercept {:.4} (log-odds).</p>\n",
        escape(&model.model),
        model.bias
    ));
    body.push_str(&page::source(&model.source));
    page::section(Section::Model, &lede, &body)
}

fn days(split: &SplitSummary) -> String {
    let range = &split.label_days;
    format!("{} to {} ({} days)", range.first, range.last, range.days)
}

fn headline(test: &SplitSummary) -> Vec<String> {
    vec![
        page::stat(&html::metric(test.roc_auc), "test ROC AUC (0.5 = guessing)", "offline"),
        page::stat(
            &html::metric(test.pr_auc),
            &format!("test PR AUC (guessing: {})", html::metric(Some(test.positive_rate))),
            "offline",
        ),
        page::stat(
            &html::percent(test.positive_rate),
            &format!("positive rate, {} test rows", html::count(test.rows)),
            "positive",
        ),
        page::stat(&html::metric(Some(test.log_loss)), "test log loss", "offline"),
        page::stat(
            &html::percent(test.accuracy),
            &format!("accuracy (always \"no\": {})", html::percent(test.baseline_accuracy)),
            "muted",
        ),
    ]
}

fn axes<'a, DB: DrawingBackend>(
    chart: &mut ChartContext<
        'a,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    x: &str,
    y: &str,
    percent: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let format =
        move |v: &f64| if percent { format!("{:.0}%", v * 100.0) } else { format!("{v:.1}") };
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(svg::GRID)
        .axis_style(svg::MUTED)
        .x_desc(x)
        .y_desc(y)
        .label_style((FONT, 16).into_font().color(&svg::MUTED))
        .axis_desc_style((FONT, 17).into_font().color(&svg::INK))
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&format)
        .y_label_formatter(&format)
        .draw()
}

fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<
        'a,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    position: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(svg::GRID)
        .label_font((FONT, 17).into_font().color(&svg::INK))
        .draw()
}

fn roc(model: &Model) -> String {
    let label = format!("ROC curve, test ROC AUC {}", html::metric(model.test.roc_auc));
    svg::plot("chart-roc", &label, CHART, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(14)
            .margin_right(26)
            .caption("ROC curve", (FONT, 19).into_font().color(&svg::INK))
            .x_label_area_size(42)
            .y_label_area_size(52)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        axes(&mut chart, "false positive rate", "true positive rate (recall)", false)?;

        chart.draw_series(DashedLineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            5,
            4,
            svg::MUTED.stroke_width(1),
        ))?;
        let points = model.roc_curve.iter().map(|p| (p.fpr, p.tpr));
        chart
            .draw_series(LineSeries::new(points, svg::OFFLINE.stroke_width(3)))?
            .label(format!("test, AUC {}", html::metric(model.test.roc_auc)))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], svg::OFFLINE.stroke_width(3)));
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })
}

fn pr(model: &Model) -> String {
    let rate = model.test.positive_rate;
    let top = model.pr_curve.iter().map(|p| p.precision).fold(rate, f64::max);
    let top = (top * 1.15).clamp(0.01, 1.0);
    let label = format!("Precision-recall curve, test PR AUC {}", html::metric(model.test.pr_auc));

    svg::plot("chart-pr", &label, CHART, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(14)
            .margin_right(26)
            .caption("Precision-recall curve", (FONT, 19).into_font().color(&svg::INK))
            .x_label_area_size(42)
            .y_label_area_size(52)
            .build_cartesian_2d(0.0..1.0, 0.0..top)?;
        axes(&mut chart, "recall", "precision", true)?;

        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, rate), (1.0, rate)],
                5,
                4,
                svg::MUTED.stroke_width(1),
            ))?
            .label(format!("guessing, {}", html::percent(rate)))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], svg::MUTED.stroke_width(1)));
        let points = model.pr_curve.iter().map(|p| (p.recall, p.precision.min(top)));
        chart
            .draw_series(LineSeries::new(points, svg::OFFLINE.stroke_width(3)))?
            .label(format!("test, PR AUC {}", html::metric(model.test.pr_auc)))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], svg::OFFLINE.stroke_width(3)));
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

fn calibration(model: &Model) -> String {
    let bins = &model.calibration;
    let top = bins.iter().map(|b| b.predicted_mean.max(b.observed_rate)).fold(0.0, f64::max);
    let top = if top > 0.0 { top * 1.12 } else { 1.0 };

    svg::plot(
        "chart-calibration",
        "Calibration: predicted against observed repurchase rate by decile",
        CHART,
        |root| {
            let mut chart = ChartBuilder::on(root)
                .margin(14)
                .margin_right(26)
                .caption("Calibration by decile", (FONT, 19).into_font().color(&svg::INK))
                .x_label_area_size(42)
                .y_label_area_size(52)
                .build_cartesian_2d(0.0..top, 0.0..top)?;
            axes(&mut chart, "mean predicted probability", "observed repurchase rate", true)?;

            chart.draw_series(DashedLineSeries::new(
                [(0.0, 0.0), (top, top)],
                5,
                4,
                svg::MUTED.stroke_width(1),
            ))?;
            let points: Vec<(f64, f64)> =
                bins.iter().map(|b| (b.predicted_mean, b.observed_rate)).collect();
            chart.draw_series(LineSeries::new(
                points.clone(),
                svg::OFFLINE.mix(0.5).stroke_width(2),
            ))?;
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 5, svg::OFFLINE.filled())))?
                .label("test decile")
                .legend(|(x, y)| Circle::new((x + 9, y), 5, svg::OFFLINE.filled()));
            legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
            Ok(())
        },
    )
}

/// Whether the weights chart shows log-odds per standard deviation (comparable) or raw.
fn per_std_dev(model: &Model) -> bool {
    !model.weights.is_empty() && model.weights.iter().all(|w| w.per_std_dev.is_some())
}

fn weights_caption(model: &Model) -> &'static str {
    if per_std_dev(model) {
        "Change in log-odds for one standard deviation more of each feature. Right: more \
         likely to reorder."
    } else {
        "Raw weights: log-odds per unit of each feature, so features on larger scales show \
         smaller bars."
    }
}

fn weights(model: &Model) -> String {
    let scaled = per_std_dev(model);
    let values: Vec<(String, f64)> = model
        .weights
        .iter()
        .map(|w| {
            let value = if scaled { w.per_std_dev.unwrap_or(w.weight) } else { w.weight };
            (w.feature.clone(), value)
        })
        .collect();
    let reach = values.iter().map(|(_, v)| v.abs()).fold(0.0, f64::max).max(1e-9) * 1.45;
    let n = values.len() as u32;

    svg::plot("chart-weights", "Model weight per feature", CHART, |root| {
        // One segment per feature, the first feature at the top.
        let mut chart = ChartBuilder::on(root)
            .margin(14)
            .caption("Weight per feature", (FONT, 19).into_font().color(&svg::INK))
            .x_label_area_size(42)
            .y_label_area_size(150)
            .build_cartesian_2d(-reach..reach, svg::segments(n))?;
        let name_of = |segment: &SegmentValue<u32>| match segment {
            SegmentValue::CenterOf(i) => (n.checked_sub(i + 1))
                .and_then(|k| values.get(k as usize))
                .map(|(name, _)| name.clone())
                .unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .bold_line_style(svg::GRID)
            .axis_style(svg::MUTED)
            .x_desc(if scaled { "log-odds per standard deviation" } else { "log-odds per unit" })
            .label_style((FONT, 16).into_font().color(&svg::MUTED))
            .axis_desc_style((FONT, 17).into_font().color(&svg::INK))
            .y_labels(values.len())
            .y_label_formatter(&name_of)
            .x_labels(7)
            .x_label_formatter(&|v| format!("{:+.2}", v + 0.0))
            .draw()?;

        let rows = || values.iter().enumerate().map(|(i, (_, v))| (n - 1 - i as u32, *v));
        chart.draw_series(rows().map(|(k, v)| {
            let style =
                if v >= 0.0 { svg::OFFLINE.filled() } else { svg::OFFLINE.mix(0.5).filled() };
            let corners = [(0.0, SegmentValue::Exact(k)), (v, SegmentValue::Exact(k + 1))];
            let mut bar = Rectangle::new(corners, style);
            bar.set_margin(7, 7, 0, 0);
            bar
        }))?;
        chart.draw_series(rows().map(|(k, v)| {
            let (h, x) = if v >= 0.0 {
                (HPos::Left, v + reach * 0.02)
            } else {
                (HPos::Right, v - reach * 0.02)
            };
            let style = (FONT, 15).into_font().color(&svg::INK).pos(Pos::new(h, VPos::Center));
            Text::new(format!("{v:+.3}"), (x, SegmentValue::CenterOf(k)), style)
        }))?;
        let zero = [(0.0, SegmentValue::Exact(0)), (0.0, SegmentValue::Exact(n))];
        chart.draw_series(LineSeries::new(zero, svg::INK.stroke_width(1)))?;
        Ok(())
    })
}

/// How one metric row of the splits table reads a split.
type Cell = Box<dyn Fn(&SplitSummary) -> String>;

fn splits_table(model: &Model) -> String {
    let rows: [(&str, Cell); 9] = [
        ("Label days", Box::new(days)),
        ("Rows", Box::new(|s| html::count(s.rows))),
        ("Positives", Box::new(|s| html::count(s.positives))),
        ("Positive rate", Box::new(|s| html::percent(s.positive_rate))),
        ("ROC AUC", Box::new(|s| html::metric(s.roc_auc))),
        ("PR AUC (average precision)", Box::new(|s| html::metric(s.pr_auc))),
        ("Log loss", Box::new(|s| html::metric(Some(s.log_loss)))),
        ("Accuracy at threshold", Box::new(|s| html::percent(s.accuracy))),
        ("Accuracy of always \"no\"", Box::new(|s| html::percent(s.baseline_accuracy))),
    ];
    let head = [
        page::th(&format!("Metric (threshold {})", model.threshold), false),
        page::th("Train", true),
        page::th("Test (held out)", true),
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|(name, cell)| {
            vec![
                page::td("", &escape(name)),
                page::td("num", &escape(&cell(&model.train))),
                page::td("num", &escape(&cell(&model.test))),
            ]
        })
        .collect();
    format!("<h3 id=\"splits\">Both splits</h3>\n{}", page::table("splits", &head, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chart_is_present() {
        let html = render(&ReportData::sample());

        for id in ["chart-roc", "chart-pr", "chart-calibration", "chart-weights"] {
            assert!(html.contains(&format!("<svg id=\"{id}\"")), "{id}");
        }
    }

    #[test]
    fn the_printed_aucs_are_the_recorded_ones() {
        let mut data = ReportData::sample();
        let test = &mut data.model.as_mut().unwrap().test;
        test.roc_auc = Some(0.71234);
        test.pr_auc = Some(0.04567);

        let html = render(&data);

        assert!(html.contains("<div class=\"value\">0.712</div><div class=\"label\">test ROC AUC"));
        assert!(html.contains("<div class=\"value\">0.046</div><div class=\"label\">test PR AUC"));
        assert!(html.contains("test, AUC 0.712"));
    }

    #[test]
    fn an_undefined_auc_reads_n_a() {
        let mut data = ReportData::sample();
        data.model.as_mut().unwrap().test.roc_auc = None;

        let html = render(&data);

        assert!(html.contains("<div class=\"value\">n/a</div><div class=\"label\">test ROC AUC"));
    }

    #[test]
    fn every_feature_weight_is_labelled() {
        let data = ReportData::sample();
        let html = render(&data);

        for weight in &data.model.as_ref().unwrap().weights {
            assert!(html.contains(&weight.feature), "{}", weight.feature);
            assert!(html.contains(&format!("{:+.3}", weight.per_std_dev.unwrap())));
        }
    }

    #[test]
    fn missing_model_names_the_train_command() {
        let mut data = ReportData::sample();
        data.model = None;

        let html = render(&data);

        assert!(html.contains(produced_by::TRAIN));
        assert!(!html.contains("chart-roc"));
    }
}
