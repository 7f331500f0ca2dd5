//! Inline SVG for the page: the palette every chart and the CSS share, a wrapper that
//! draws a plotters chart into an `<svg>` element fit for inline HTML, and a small canvas
//! for the panels drawn by hand (the pipeline and the point-in-time timelines).
//!
//! Every `<svg>` the page holds comes out of [`plot`] or [`Canvas::finish`], so each has an
//! `id`, a `viewBox` that scales to the column width, a `<title>`, and no namespace URL:
//! inline SVG in HTML needs none, and the page must hold no `http://` at all.

use std::fmt::Write as _;

use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::RangedCoordu32;
use plotters::coord::Shift;
use plotters::prelude::*;
pub(crate) use plotters::style::RGBColor;

use crate::html::escape;

/// Offline and training: BigQuery tables, `train_dataset`, the model applied offline.
pub(crate) const OFFLINE: RGBColor = RGBColor(0x25, 0x63, 0xeb);
/// Online and serving: the online store, the endpoint, the bench.
pub(crate) const ONLINE: RGBColor = RGBColor(0xdd, 0x6b, 0x20);
/// What a naive join leaks: future orders, the snapshot it should not have used.
pub(crate) const LEAK: RGBColor = RGBColor(0xc0, 0x26, 0x5a);
/// A positive label, and steps that succeeded.
pub(crate) const POSITIVE: RGBColor = RGBColor(0x16, 0x85, 0x4a);
/// A step whose output already existed and was kept.
pub(crate) const REUSED: RGBColor = RGBColor(0x47, 0x55, 0x69);
/// A failed step.
pub(crate) const FAILED: RGBColor = RGBColor(0xb9, 0x1c, 0x1c);
/// Body text.
pub(crate) const INK: RGBColor = RGBColor(0x1f, 0x29, 0x37);
/// Secondary text, axes.
pub(crate) const MUTED: RGBColor = RGBColor(0x6b, 0x72, 0x80);
/// A skipped step.
pub(crate) const SKIPPED: RGBColor = RGBColor(0xa1, 0xa1, 0xaa);
/// Grid lines and neutral fills.
pub(crate) const GRID: RGBColor = RGBColor(0xe5, 0xe7, 0xeb);
/// The window fill behind a positive label's 14 days.
pub(crate) const WINDOW: RGBColor = RGBColor(0xd1, 0xf4, 0xdf);
/// The window fill behind a negative label's 14 days.
pub(crate) const WINDOW_EMPTY: RGBColor = RGBColor(0xf1, 0xf3, 0xf5);
/// The held-out test split, next to [`OFFLINE`] for the training split.
pub(crate) const TEST: RGBColor = RGBColor(0x7c, 0x3a, 0xed);
/// The second online path (fetch then predict), next to [`ONLINE`] for fetch alone.
pub(crate) const ONLINE_DARK: RGBColor = RGBColor(0x9a, 0x34, 0x12);

/// The font stack charts ask for; the page's CSS uses the same, all system fonts.
///
/// Plotters writes a font size of `size / 1.24` into the SVG, so charts ask for sizes
/// about a quarter above the size they mean.
pub(crate) const FONT: &str = "sans-serif";

/// `#rrggbb` for a palette colour, for CSS and hand-drawn SVG.
pub(crate) fn hex(colour: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", colour.0, colour.1, colour.2)
}

/// The drawing area a plotters chart draws on.
pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// What a chart's drawing closure returns; any plotters error ends the chart.
pub(crate) type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// `n` equal segments for bars, numbered `0..n` (at least one).
///
/// Plotters' integer ranges include their end, so `(0..n).into_segmented()` would make
/// `n + 1` segments and leave an empty one after the last bar.
pub(crate) fn segments(n: u32) -> SegmentedCoord<RangedCoordu32> {
    (0..n.max(1) - 1).into_segmented()
}

/// Draws one plotters chart of `size` pixels and returns it as an inline `<svg>`.
///
/// `label` becomes the chart's `<title>` (what a screen reader says and a hover shows).
/// A chart that fails to draw becomes a box saying so, rather than failing the page.
///
/// Limitation: with no font loaded, plotters estimates text widths from the character
/// count, so an unusually long axis label can touch its neighbour; a report that must
/// place text exactly would measure it with the font (plotters' `ttf` feature, which
/// pulls in font-kit and a system font lookup).
pub(crate) fn plot(
    id: &str,
    label: &str,
    size: (u32, u32),
    draw: impl FnOnce(&Area) -> DrawResult,
) -> String {
    let mut raw = String::new();
    let outcome = {
        let root = SVGBackend::with_string(&mut raw, size).into_drawing_area();
        let drawn = root.fill(&WHITE).map_err(Into::into).and_then(|()| draw(&root));
        drawn.and_then(|()| root.present().map_err(Into::into))
    };

    match outcome {
        Ok(()) => adopt(&raw, id, label, size),
        Err(error) => failed_chart(id, label, size, &error.to_string()),
    }
}

/// Replaces plotters' root tag with ours: id, class, viewBox, title; no namespace URL.
fn adopt(raw: &str, id: &str, label: &str, (width, height): (u32, u32)) -> String {
    let body = raw.find("<svg").and_then(|start| raw[start..].find('>').map(|end| start + end + 1));
    let body = body.map_or(raw, |end| &raw[end..]);

    let mut out = open_tag(id, label, f64::from(width), f64::from(height));
    out.push_str(body.trim());
    if !out.ends_with("</svg>") {
        out.push_str("</svg>");
    }
    out
}

fn open_tag(id: &str, label: &str, width: f64, height: f64) -> String {
    format!(
        "<svg id=\"{id}\" class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-label=\"{label}\"><title>{label}</title>",
        id = escape(id),
        label = escape(label),
    )
}

fn failed_chart(id: &str, label: &str, (width, height): (u32, u32), error: &str) -> String {
    let mut canvas = Canvas::new(f64::from(width), f64::from(height));
    canvas.rect(0.0, 0.0, f64::from(width), f64::from(height), &hex(GRID), "");
    let message = format!("this chart could not be drawn: {error}");
    canvas.text(f64::from(width) / 2.0, f64::from(height) / 2.0, &message, &Text::middle(13.0));
    canvas.finish(id, label)
}

/// How a piece of hand-drawn text looks.
#[derive(Debug, Clone)]
pub(crate) struct Text {
    /// Font size in SVG units.
    pub size: f64,
    /// `start`, `middle` or `end`.
    pub anchor: &'static str,
    /// Fill colour.
    pub colour: RGBColor,
    /// Bold when true.
    pub bold: bool,
}

impl Text {
    /// Left-aligned body text of `size`.
    pub(crate) fn start(size: f64) -> Text {
        Text { size, anchor: "start", colour: INK, bold: false }
    }

    /// Centred body text of `size`.
    pub(crate) fn middle(size: f64) -> Text {
        Text { anchor: "middle", ..Text::start(size) }
    }

    /// Right-aligned body text of `size`.
    pub(crate) fn end(size: f64) -> Text {
        Text { anchor: "end", ..Text::start(size) }
    }

    /// The same text in `colour`.
    pub(crate) fn colour(self, colour: RGBColor) -> Text {
        Text { colour, ..self }
    }

    /// The same text in bold.
    pub(crate) fn bold(self) -> Text {
        Text { bold: true, ..self }
    }
}

/// A hand-drawn SVG: elements appended in paint order, coordinates in SVG units.
#[derive(Debug)]
pub(crate) struct Canvas {
    width: f64,
    height: f64,
    body: String,
}

impl Canvas {
    /// An empty canvas of `width` by `height` units.
    pub(crate) fn new(width: f64, height: f64) -> Canvas {
        Canvas { width, height, body: String::new() }
    }

    /// A rectangle; `extra` holds further attributes such as `rx="4"` or a stroke.
    pub(crate) fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, extra: &str) {
        let _ = write!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}" {extra}/>"#,
            n(x),
            n(y),
            n(w.max(0.0)),
            n(h.max(0.0)),
        );
    }

    /// A straight line; `extra` holds further attributes such as a dash pattern.
    pub(crate) fn line(&mut self, from: (f64, f64), to: (f64, f64), stroke: &str, extra: &str) {
        let _ = write!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{stroke}" {extra}/>"#,
            n(from.0),
            n(from.1),
            n(to.0),
            n(to.1),
        );
    }

    /// A circle with a hover title.
    pub(crate) fn circle(&mut self, centre: (f64, f64), r: f64, attrs: &str, title: &str) {
        let _ = write!(
            self.body,
            r#"<circle cx="{}" cy="{}" r="{}" {attrs}><title>{}</title></circle>"#,
            n(centre.0),
            n(centre.1),
            n(r),
            escape(title),
        );
    }

    /// A closed polygon through `points`, with a hover title.
    pub(crate) fn polygon(&mut self, points: &[(f64, f64)], attrs: &str, title: &str) {
        let points: Vec<String> =
            points.iter().map(|(x, y)| format!("{},{}", n(*x), n(*y))).collect();
        let _ = write!(
            self.body,
            r#"<polygon points="{}" {attrs}><title>{}</title></polygon>"#,
            points.join(" "),
            escape(title),
        );
    }

    /// A path with data `d` (already numeric, nothing to escape).
    pub(crate) fn path(&mut self, d: &str, attrs: &str) {
        let _ = write!(self.body, r#"<path d="{d}" {attrs}/>"#);
    }

    /// Text at (`x`, `y`), the baseline; the content is escaped.
    pub(crate) fn text(&mut self, x: f64, y: f64, content: &str, style: &Text) {
        let weight = if style.bold { r#" font-weight="600""# } else { "" };
        let _ = write!(
            self.body,
            r#"<text x="{}" y="{}" font-size="{}" text-anchor="{}" fill="{}"{weight}>{}</text>"#,
            n(x),
            n(y),
            n(style.size),
            style.anchor,
            hex(style.colour),
            escape(content),
        );
    }

    /// The finished `<svg>` with `id` and the `<title>` `label`.
    pub(crate) fn finish(self, id: &str, label: &str) -> String {
        let mut out = open_tag(id, label, self.width, self.height);
        let _ = write!(out, r#"<g font-family="{FONT}">"#);
        out.push_str(&self.body);
        out.push_str("</g></svg>");
        out
    }
}

/// A coordinate with one decimal, enough at any screen size.
pub(crate) fn n(value: f64) -> String {
    // Adding 0.0 turns a rounded -0.0 into 0.0, so no "-0" reaches the markup.
    let rounded = (value * 10.0).round() / 10.0 + 0.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plotted_chart_has_our_root_tag_and_no_namespace_url() {
        let svg = plot("chart-test", "A <test> chart", (200, 100), |root| {
            root.draw(&Rectangle::new([(10, 10), (50, 50)], OFFLINE.filled()))?;
            Ok(())
        });

        assert!(svg.starts_with(r#"<svg id="chart-test" class="chart" viewBox="0 0 200 100""#));
        assert!(svg.contains("<title>A &lt;test&gt; chart</title>"));
        assert!(!svg.contains("http"), "{svg}");
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn a_chart_that_fails_says_so_instead_of_failing_the_page() {
        let svg = plot("chart-broken", "Broken", (200, 100), |_| Err("no data".into()));

        assert!(svg.contains(r#"id="chart-broken""#));
        assert!(svg.contains("this chart could not be drawn: no data"));
    }

    #[test]
    fn canvas_escapes_text_and_titles() {
        let mut canvas = Canvas::new(100.0, 50.0);
        canvas.text(1.0, 2.0, "<b>&", &Text::start(12.0));
        canvas.circle((5.0, 5.0), 2.0, "", "order \"7\"");

        let svg = canvas.finish("c", "c");

        assert!(svg.contains("&lt;b&gt;&amp;"));
        assert!(svg.contains("order &quot;7&quot;"));
    }

    #[test]
    fn coordinates_keep_one_decimal() {
        assert_eq!(n(12.0), "12");
        assert_eq!(n(12.345), "12.3");
        assert_eq!(n(-0.04), "0");
    }
}
