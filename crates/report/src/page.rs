//! The HTML shell: document head with the inline stylesheet (`page.css` after the palette
//! variables), the header and navigation, and the building blocks every section uses:
//! heading with its one-line lede, source note, stat tiles, legend keys, tables, and the
//! note that stands in for a part the run did not record. Sections own their content.
//!
//! The page holds no script, no external link, font or image: system fonts only, every
//! colour from the palette in [`crate::svg`], so it opens offline and prints as shown.

use crate::data::ReportData;
use crate::html::escape;
use crate::section::Section;
use crate::svg::{self, hex};

/// The stylesheet, after the palette variables.
const STYLE: &str = include_str!("page.css");

/// What the header says under the title.
const KICKER: &str =
    "theLook orders → point-in-time features → feature store → model → online predictions";

/// The page's promise in one sentence, for readers who stop at the header.
const INTRO: &str = "A feature store keeps two promises, and this run checks both: every \
                     training row sees only what was known at its label time (section 2), and \
                     serving returns exactly the values training used (section 3).";

/// What the footer says about the page itself.
const FOOTER: &str = "Written by <code>fsdemo report</code> from the run's records; the same \
                      numbers are saved next to this page as <code>report_data.json</code>. \
                      This page loads nothing from the network.";

/// The whole document around the rendered `summary` and `sections`.
pub(crate) fn document(data: &ReportData, summary: &str, sections: &[String]) -> String {
    let title = format!("Feature store demo report ({} profile)", data.profile.as_str());
    let mut out = String::with_capacity(256 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!("<title>{}</title>\n", escape(&title)));
    out.push_str(&format!("<style>\n{}{STYLE}</style>\n</head>\n", palette()));

    out.push_str("<body>\n<header class=\"top\"><div class=\"wrap\">\n");
    out.push_str(&format!("<p class=\"kicker\">{KICKER}</p>\n"));
    out.push_str("<h1>Why a feature store matters</h1>\n");
    out.push_str(&format!("<p class=\"intro\">{INTRO}</p>\n"));
    let chips = [
        chip("profile", &format!("<b>{}</b>", escape(data.profile.as_str()))),
        chip("generated", &format!("<b>{}</b>", escape(&data.generated_at))),
        chip("workdir", &format!("<code>{}</code>", escape(&data.workdir))),
    ];
    out.push_str(&format!("<p class=\"meta\">{}</p>\n", chips.concat()));
    out.push_str(&format!("{}</div></header>\n", nav()));

    out.push_str("<main class=\"wrap\">\n");
    out.push_str(summary);
    for section in sections {
        out.push_str(section);
        out.push('\n');
    }
    out.push_str("</main>\n");
    out.push_str(&format!("<footer class=\"wrap\"><p>{FOOTER}</p></footer>\n</body>\n</html>\n"));
    out
}

fn chip(name: &str, value_html: &str) -> String {
    format!("<span class=\"chip\">{name} {value_html}</span>")
}

fn nav() -> String {
    let links: String =
        Section::ALL.iter().map(|s| format!("<a href=\"#{}\">{}</a>", s.id(), s.short())).collect();
    format!("<nav>{links}</nav>\n")
}

/// The palette as CSS variables, so CSS and SVG share one set of colours.
fn palette() -> String {
    let colours = [
        ("offline", svg::OFFLINE),
        ("online", svg::ONLINE),
        ("leak", svg::LEAK),
        ("positive", svg::POSITIVE),
        ("failed", svg::FAILED),
        ("reused", svg::REUSED),
        ("skipped", svg::SKIPPED),
        ("ink", svg::INK),
        ("muted", svg::MUTED),
        ("grid", svg::GRID),
        ("test", svg::TEST),
        ("window", svg::WINDOW),
    ];
    let vars: String = colours.iter().map(|(name, c)| format!("--{name}:{};", hex(*c))).collect();
    format!(":root{{{vars}}}\n")
}

/// A section element: numbered heading, the one-line `lede` (HTML), then `body` (HTML).
pub(crate) fn section(section: Section, lede: &str, body: &str) -> String {
    format!(
        "<section id=\"{}\">\n<h2>{}</h2>\n<p class=\"lede\">{lede}</p>\n{body}</section>",
        section.id(),
        escape(section.title()),
    )
}

/// A subsection heading inside a section, with its own anchor id.
pub(crate) fn subheading(id: &str, title: &str) -> String {
    format!("<h3 id=\"{}\">{}</h3>\n", escape(id), escape(title))
}

/// Where a part's numbers came from.
pub(crate) fn source(text: &str) -> String {
    format!("<p class=\"source\">Numbers from: {}</p>\n", escape(text))
}

/// The note shown instead of a part the run did not record, naming the command.
pub(crate) fn missing(what: &str, command: &str) -> String {
    format!(
        "<div class=\"missing\"><b>Not in this run:</b> {}. Run <code>{}</code> to record it, \
         then <code>fsdemo report</code>.</div>\n",
        escape(what),
        escape(command),
    )
}

/// One headline number with its label; `class` picks the accent (`online`, `offline`...).
pub(crate) fn stat(value: &str, label: &str, class: &str) -> String {
    format!(
        "<div class=\"stat {}\"><div class=\"value\">{}</div><div class=\"label\">{}</div></div>",
        escape(class),
        escape(value),
        escape(label),
    )
}

/// A row of stat tiles.
pub(crate) fn stats(tiles: &[String]) -> String {
    format!("<div class=\"stats\">{}</div>\n", tiles.concat())
}

/// A legend item: a swatch of `colour` and its meaning; `shape` is `dot`, `ring`, `bar`,
/// `band` or `diamond`.
pub(crate) fn key(colour: &str, shape: &str, text: &str) -> String {
    format!(
        "<span class=\"key\"><i class=\"{}\" style=\"--c:{}\"></i>{}</span>",
        escape(shape),
        escape(colour),
        escape(text),
    )
}

/// A legend line of `keys`.
pub(crate) fn legend(keys: &[String]) -> String {
    format!("<div class=\"legend\">{}</div>\n", keys.concat())
}

/// A figure holding one chart, with a caption under it.
pub(crate) fn figure(svg: &str, caption: &str) -> String {
    format!("<figure>{svg}<figcaption>{}</figcaption></figure>\n", escape(caption))
}

/// A header cell; `html` is already escaped. Numeric columns align right.
pub(crate) fn th(html: &str, numeric: bool) -> String {
    if numeric {
        format!("<th class=\"num\">{html}</th>")
    } else {
        format!("<th>{html}</th>")
    }
}

/// A body cell with `class` (may be empty); `html` is already escaped.
pub(crate) fn td(class: &str, html: &str) -> String {
    if class.is_empty() {
        format!("<td>{html}</td>")
    } else {
        format!("<td class=\"{class}\">{html}</td>")
    }
}

/// A table in a horizontally scrolling box; `head` and `rows` are rows of cells.
pub(crate) fn table(class: &str, head: &[String], rows: &[Vec<String>]) -> String {
    let body: String = rows.iter().map(|cells| format!("<tr>{}</tr>\n", cells.concat())).collect();
    format!(
        "<div class=\"scroll\"><table class=\"{class}\"><thead><tr>{}</tr></thead><tbody>\n\
         {body}</tbody></table></div>\n",
        head.concat(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_defines_every_variable_the_stylesheet_uses() {
        let defined = palette();

        for used in STYLE.split("var(--").skip(1) {
            let name = &used[..used.find([')', ',']).unwrap()];
            if name != "c" {
                assert!(defined.contains(&format!("--{name}:")), "--{name} is not defined");
            }
        }
    }

    #[test]
    fn tables_hold_their_cells_in_order() {
        let head = [th("a", false), th("b", true)];
        let rows = vec![vec![td("", "1"), td("num", "2")]];

        let html = table("t", &head, &rows);

        assert!(html.contains("<tr><th>a</th><th class=\"num\">b</th></tr>"));
        assert!(html.contains("<tr><td>1</td><td class=\"num\">2</td></tr>"));
    }
}
