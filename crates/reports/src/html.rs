//! The HTML page: one self-contained document (inline CSS, inline SVG charts drawn
//! with plotters' SVG backend; no scripts, no external links), well-formed XML so any
//! XML parser can check it.

use std::fmt::Write as _;
use std::io::Write;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::table::{Chart, Table, Tabular};
use crate::{Error, Result};

const W: u32 = 860;
const H: u32 = 320;

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;\
margin:2em;color:#1d2433;background:#fff}h1{font-size:1.5em;margin-bottom:.2em}\
h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #d8dde6;padding-bottom:.2em}\
p.meta{color:#5b6478;margin-top:0}figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}\
table{border-collapse:collapse;font-size:.85em;margin:.4em 0}\
th,td{border:1px solid #d8dde6;padding:.25em .6em;text-align:left;vertical-align:top}\
th{background:#f2f4f8}td.n{text-align:right;font-variant-numeric:tabular-nums}\
tbody tr:nth-child(even){background:#fafbfc}p.none{color:#5b6478;font-style:italic}\
ul.notes{color:#7a4b00}";

/// Escapes text for HTML/XML content and attribute values
/// ([`tradetrail_query::render::html_escape`]).
pub fn escape(s: &str) -> String {
    tradetrail_query::render::html_escape(s)
}

/// Writes the whole page.
pub fn write_html(out: &mut dyn Write, report: &dyn Tabular) -> Result<()> {
    let title = report.title();
    let mut s = String::with_capacity(1 << 16);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <meta name=\"generator\" content=\"tradetrail {}\"/>\n<title>{}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n\
         <p class=\"meta\">Computed from the journal's records by tradetrail; every figure \
         can be traced to the records it came from (see docs/reports.md).</p>\n",
        env!("CARGO_PKG_VERSION"),
        escape(&title),
        escape(&title)
    );
    for c in report.charts() {
        let svg = draw(&c)?;
        let _ = write!(
            s,
            "<figure class=\"chart\">\n<figcaption>{}</figcaption>\n{}\n</figure>\n",
            escape(c.title()),
            svg
        );
    }
    for t in report.tables() {
        html_table(&mut s, &t);
    }
    let notes = report.notes();
    if !notes.is_empty() {
        s.push_str("<h2>Notes</h2>\n<ul class=\"notes\">\n");
        for n in notes {
            let _ = writeln!(s, "<li>{}</li>", escape(&n));
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</body>\n</html>\n");
    out.write_all(s.as_bytes())?;
    Ok(())
}

fn html_table(s: &mut String, t: &Table) {
    let _ = writeln!(
        s,
        "<section id=\"{}\">\n<h2>{}</h2>",
        escape(&t.name),
        escape(&t.title)
    );
    if t.rows.is_empty() {
        s.push_str("<p class=\"none\">None.</p>\n</section>\n");
        return;
    }
    s.push_str("<table>\n<thead><tr>");
    for c in &t.columns {
        let _ = write!(s, "<th>{}</th>", escape(c));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for r in &t.rows {
        s.push_str("<tr>");
        for c in r {
            if c.parse::<f64>().is_ok() {
                let _ = write!(s, "<td class=\"n\">{}</td>", escape(c));
            } else {
                let _ = write!(s, "<td>{}</td>", escape(c));
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>\n</section>\n");
}

fn chart_err(c: &Chart) -> impl Fn(String) -> Error + '_ {
    move |reason| Error::Chart {
        chart: c.title().to_owned(),
        reason,
    }
}

/// Draws one chart as an SVG element (text).
pub fn draw(c: &Chart) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| chart_err(c)(e.to_string()))?;
        let drawn = match c {
            Chart::Line {
                y_label, points, ..
            } => line(&root, y_label, points),
            Chart::Bars { y_label, bars, .. } => bars_chart(&root, y_label, bars),
            Chart::Histogram { x_label, bins, .. } => histogram(&root, x_label, bins),
        };
        drawn.map_err(chart_err(c))?;
        root.present().map_err(|e| chart_err(c)(e.to_string()))?;
    }
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn no_data(root: &Area<'_>) -> Result<(), String> {
    root.draw(&Text::new(
        "no data in the range",
        (W as i32 / 2 - 80, H as i32 / 2),
        ("sans-serif", 16)
            .into_font()
            .color(&RGBColor(90, 100, 120)),
    ))
    .map_err(|e| e.to_string())
}

fn pad_range(lo: f64, hi: f64) -> (f64, f64) {
    if (hi - lo).abs() < f64::EPSILON {
        (lo - 1.0, hi + 1.0)
    } else {
        let m = (hi - lo) * 0.05;
        (lo - m, hi + m)
    }
}

fn time_label(ns: i64, span_ns: i64) -> String {
    let t = tradetrail_model::format_time(ns);
    if span_ns <= 86_400 * 1_000_000_000 {
        // HH:MM of the RFC 3339 text.
        t.get(11..16).unwrap_or(&t).to_owned()
    } else {
        t.get(..10).unwrap_or(&t).to_owned()
    }
}

fn line(root: &Area<'_>, y_label: &str, points: &[(i64, f64)]) -> Result<(), String> {
    if points.is_empty() {
        return no_data(root);
    }
    let (x0, x1) = (points[0].0, points[points.len() - 1].0.max(points[0].0 + 1));
    let lo = points.iter().map(|p| p.1).fold(0.0f64, f64::min);
    let hi = points.iter().map(|p| p.1).fold(0.0f64, f64::max);
    let (lo, hi) = pad_range(lo, hi);
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(72)
        .build_cartesian_2d(x0..x1, lo..hi)
        .map_err(|e| e.to_string())?;
    let span = x1 - x0;
    let fmt_x = |ns: &i64| time_label(*ns, span);
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&fmt_x)
        .y_desc(y_label)
        .light_line_style(RGBColor(236, 239, 244))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(LineSeries::new(
            [(x0, 0.0), (x1, 0.0)],
            RGBColor(160, 168, 184),
        ))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(LineSeries::new(
            points.iter().copied(),
            RGBColor(31, 94, 181).stroke_width(2),
        ))
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn bars_chart(root: &Area<'_>, y_label: &str, bars: &[(String, f64)]) -> Result<(), String> {
    if bars.is_empty() {
        return no_data(root);
    }
    let lo = bars.iter().map(|b| b.1).fold(0.0f64, f64::min);
    let hi = bars.iter().map(|b| b.1).fold(0.0f64, f64::max);
    let (lo, hi) = pad_range(lo, hi);
    let n = bars.len() as u32;
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(72)
        .build_cartesian_2d((0..n).into_segmented(), lo..hi)
        .map_err(|e| e.to_string())?;
    let label = |v: &SegmentValue<u32>| match v {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => bars
            .get(*i as usize)
            .map(|b| b.0.clone())
            .unwrap_or_default(),
        SegmentValue::Last => String::new(),
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(bars.len().min(16))
        .x_label_formatter(&label)
        .y_labels(8)
        .y_desc(y_label)
        .light_line_style(RGBColor(236, 239, 244))
        .draw()
        .map_err(|e| e.to_string())?;
    // Rectangles in the bars' order (plotters' `Histogram` series collects its data
    // in a hash map, which made the SVG's element order differ from run to run).
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let i = i as u32;
            let style = if b.1 < 0.0 {
                RGBColor(196, 58, 49).filled()
            } else {
                RGBColor(46, 139, 87).filled()
            };
            let mut r = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), b.1),
                ],
                style,
            );
            r.set_margin(0, 0, 4, 4);
            r
        }))
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn histogram(root: &Area<'_>, x_label: &str, bins: &[(f64, f64, u64)]) -> Result<(), String> {
    if bins.is_empty() {
        return no_data(root);
    }
    let x0 = bins[0].0;
    let x1 = bins[bins.len() - 1].1;
    let top = bins.iter().map(|b| b.2).max().unwrap_or(1).max(1) as f64 * 1.08;
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, 0.0..top)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(12)
        .y_labels(6)
        .x_desc(x_label)
        .y_desc("fills")
        .light_line_style(RGBColor(236, 239, 244))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(bins.iter().map(|&(lo, hi, n)| {
            Rectangle::new(
                [(lo, 0.0), (hi, n as f64)],
                RGBColor(31, 94, 181).mix(0.75).filled(),
            )
        }))
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Bars;

    impl Tabular for Bars {
        fn title(&self) -> String {
            "bars".into()
        }
        fn tables(&self) -> Vec<Table> {
            Vec::new()
        }
        fn charts(&self) -> Vec<Chart> {
            vec![Chart::Bars {
                title: "t".into(),
                y_label: "n".into(),
                bars: (0..8)
                    .map(|i| (format!("b{i}"), f64::from(i * 3 - 7)))
                    .collect(),
            }]
        }
    }

    /// The same report gives the same bytes (a bar chart's marks in the bars' order).
    #[test]
    fn bar_charts_render_the_same_every_time() {
        let render = || {
            let mut out = Vec::new();
            write_html(&mut out, &Bars).unwrap();
            String::from_utf8(out).unwrap()
        };
        let first = render();
        for _ in 0..5 {
            assert_eq!(render(), first);
        }
        // One filled mark per bar, negative ones in the other colour.
        assert_eq!(first.matches("fill=\"#C43A31\"").count(), 3, "{first}");
        assert_eq!(first.matches("fill=\"#2E8B57\"").count(), 5);
    }
}
