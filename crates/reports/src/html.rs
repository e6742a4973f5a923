//! The HTML page: one self-contained document (inline CSS, inline SVG charts drawn
//! with plotters' SVG backend; no scripts, no external links), well-formed XML so any
//! XML parser can check it.

use std::fmt::Write as _;
use std::io::Write;

use plotters::coord::ranged1d::{AsRangedCoord, DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axis;
use crate::table::{Chart, Kind, Table, Tabular};
use crate::{Error, Result};

const W: u32 = 860;
const H: u32 = 320;

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;\
margin:2em;color:#1d2433;background:#fff}h1{font-size:1.5em;margin-bottom:.2em}\
h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #d8dde6;padding-bottom:.2em}\
p.meta{color:#5b6478;margin-top:0}figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}\
table{border-collapse:collapse;font-size:.85em;margin:.4em 0}\
th,td{border:1px solid #d8dde6;padding:.25em .6em;text-align:left;vertical-align:top}\
th{background:#f2f4f8}th.n{text-align:right}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
td.t{white-space:nowrap}td.id{max-width:14em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}\
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
    let h = t.human();
    s.push_str("<table>\n<thead><tr>");
    for (i, c) in h.headers.iter().enumerate() {
        let class = if h.right.get(i).copied().unwrap_or(false) {
            " class=\"n\""
        } else {
            ""
        };
        // The machine name (CSV header, JSON field) as a tooltip.
        let _ = write!(
            s,
            "<th{class} title=\"{}\">{}</th>",
            escape(t.columns.get(i).map_or("", String::as_str)),
            escape(c)
        );
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for r in &h.rows {
        s.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            if h.kinds.get(i) == Some(&Kind::Id) {
                // Cut by CSS (`text-overflow`); the whole id stays in the text (copy,
                // search) and in the title.
                let _ = write!(
                    s,
                    "<td class=\"id\" title=\"{}\">{}</td>",
                    escape(&c.raw),
                    escape(&c.text)
                );
            } else if h.kinds.get(i) == Some(&Kind::Time) {
                let _ = write!(s, "<td class=\"t\">{}</td>", escape(&c.text));
            } else if h.right.get(i).copied().unwrap_or(false) {
                let _ = write!(s, "<td class=\"n\">{}</td>", escape(&c.text));
            } else {
                let _ = write!(s, "<td>{}</td>", escape(&c.text));
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

/// An axis with the ticks `axis.rs` chose (plotters' own `WithKeyPoints` gives an
/// `f64` axis no label formatter). Labels come from the charts' formatters.
struct Ticked<R: Ranged> {
    inner: R,
    ticks: Vec<R::ValueType>,
}

fn ticked<T: AsRangedCoord>(range: T, ticks: Vec<T::Value>) -> Ticked<T::CoordDescType> {
    Ticked {
        inner: range.into(),
        ticks,
    }
}

impl<R: Ranged> Ranged for Ticked<R>
where
    R::ValueType: Clone + std::fmt::Debug,
{
    type ValueType = R::ValueType;
    type FormatOption = DefaultFormatting;

    fn range(&self) -> std::ops::Range<Self::ValueType> {
        self.inner.range()
    }

    fn map(&self, value: &Self::ValueType, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<Self::ValueType> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn axis_pixel_range(&self, limit: (i32, i32)) -> std::ops::Range<i32> {
        self.inner.axis_pixel_range(limit)
    }
}

/// Whether every value is a whole number (then the axis counts: whole ticks only).
fn all_whole(values: impl IntoIterator<Item = f64>) -> bool {
    values.into_iter().all(|v| v.fract() == 0.0)
}

fn line(root: &Area<'_>, y_label: &str, points: &[(i64, f64)]) -> Result<(), String> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return no_data(root);
    };
    let xt = axis::time_ticks(first.0, last.0, 10);
    let lo = points.iter().map(|p| p.1).fold(0.0f64, f64::min);
    let hi = points.iter().map(|p| p.1).fold(0.0f64, f64::max);
    let yt = axis::value_ticks(lo, hi, 8, all_whole(points.iter().map(|p| p.1)));
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .margin_right(28)
        .x_label_area_size(32)
        .y_label_area_size(84)
        .build_cartesian_2d(
            ticked(xt.lo..xt.hi, xt.ticks.iter().map(|t| t.0).collect()),
            ticked(yt.lo..yt.hi, yt.ticks.clone()),
        )
        .map_err(|e| e.to_string())?;
    let fmt_x = |ns: &i64| xt.label(*ns);
    let fmt_y = |v: &f64| yt.label(*v);
    chart
        .configure_mesh()
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&fmt_y)
        .y_desc(y_label)
        .light_line_style(RGBColor(236, 239, 244))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(LineSeries::new(
            [(xt.lo, 0.0), (xt.hi, 0.0)],
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
    let yt = axis::value_ticks(lo, hi, 8, all_whole(bars.iter().map(|b| b.1)));
    // Slot i spans [i, i + 1) on a plain axis: exactly one slot per bar (plotters'
    // segmented `0..n` has n + 1 slots, the last one empty, and breaks on one bar).
    // A label at each slot's centre; labels that would not fit side by side are
    // turned upright, and beyond about 60 bars every k-th is labelled.
    let n = bars.len();
    let longest = bars.iter().map(|b| b.0.chars().count()).max().unwrap_or(1) as u32;
    let flat = n as f64 * (f64::from(longest) * 6.5 + 10.0) <= f64::from(W - 120);
    let every = if flat { 1 } else { n.div_ceil(60).max(1) };
    let centres: Vec<f64> = (0..n).step_by(every).map(|i| i as f64 + 0.5).collect();
    let label_area = if flat {
        40
    } else {
        (longest * 6 + 24).min(150)
    };
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(label_area)
        .y_label_area_size(84)
        .build_cartesian_2d(
            ticked(0.0..n as f64, centres),
            ticked(yt.lo..yt.hi, yt.ticks.clone()),
        )
        .map_err(|e| e.to_string())?;
    // Upright labels are drawn below (plotters centres a turned axis label on its
    // tick, across the axis); the axis then only marks the ticks.
    let label = |v: &f64| {
        let i = v.floor();
        if i >= 0.0 && flat {
            bars.get(i as usize)
                .map(|b| b.0.clone())
                .unwrap_or_default()
        } else {
            String::new()
        }
    };
    let fmt_y = |v: &f64| yt.label(*v);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&label)
        .y_label_formatter(&fmt_y)
        .y_desc(y_label)
        .light_line_style(RGBColor(236, 239, 244))
        .draw()
        .map_err(|e| e.to_string())?;
    if !flat {
        let style = TextStyle::from(
            ("sans-serif", 11)
                .into_font()
                .transform(FontTransform::Rotate270),
        )
        .pos(Pos::new(HPos::Right, VPos::Center));
        for i in (0..n).step_by(every) {
            let (x, y) = chart.backend_coord(&(i as f64 + 0.5, yt.lo));
            let text = bars.get(i).map(|b| b.0.as_str()).unwrap_or_default();
            root.draw(&Text::new(text, (x, y + 8), style.clone()))
                .map_err(|e| e.to_string())?;
        }
    }
    // Rectangles in the bars' order (plotters' `Histogram` series collects its data
    // in a hash map, which made the SVG's element order differ from run to run).
    // A gap of a tenth of a slot between bars (a twentieth when there are many);
    // no bar wider than about 120 px (one bar alone would fill the chart).
    let slot_px = f64::from(W - 120) / n as f64;
    let gap = if n > 40 {
        0.05
    } else {
        (0.5 - 60.0 / slot_px).max(0.1)
    };
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let x = i as f64;
            let style = if b.1 < 0.0 {
                RGBColor(196, 58, 49).filled()
            } else {
                RGBColor(46, 139, 87).filled()
            };
            Rectangle::new([(x + gap, 0.0), (x + 1.0 - gap, b.1)], style)
        }))
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn histogram(root: &Area<'_>, x_label: &str, bins: &[(f64, f64, u64)]) -> Result<(), String> {
    let (Some(first), Some(last)) = (bins.first(), bins.last()) else {
        return no_data(root);
    };
    let (x0, x1) = (first.0, last.1);
    let xt = axis::value_ticks(x0, x1, 12, false);
    let top = bins.iter().map(|b| b.2).max().unwrap_or(1).max(1) as f64;
    // Fills are counted: whole ticks only.
    let yt = axis::value_ticks(0.0, top, 6, true);
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(72)
        .build_cartesian_2d(
            ticked(xt.lo..xt.hi, xt.ticks.clone()),
            ticked(yt.lo..yt.hi, yt.ticks.clone()),
        )
        .map_err(|e| e.to_string())?;
    let fmt_x = |v: &f64| xt.label(*v);
    let fmt_y = |v: &f64| yt.label(*v);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&fmt_y)
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

    fn rects(svg: &str, fill: &str) -> Vec<(f64, f64, f64, f64)> {
        let num = |r: &str, a: &str| -> f64 {
            let k = format!(" {a}=\"");
            let at = r.find(&k).unwrap() + k.len();
            r[at..].split('"').next().unwrap().parse().unwrap()
        };
        svg.split("<rect")
            .skip(1)
            .filter(|r| r.contains(&format!("fill=\"{fill}\"")))
            .map(|r| (num(r, "x"), num(r, "y"), num(r, "width"), num(r, "height")))
            .collect()
    }

    fn labels(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| t.split_once('>').map(|x| x.1))
            .filter_map(|t| t.split_once('<').map(|x| x.0.trim().to_owned()))
            .collect()
    }

    fn bars(values: &[f64]) -> String {
        draw(&Chart::Bars {
            title: "t".into(),
            y_label: "discrepancies".into(),
            bars: values
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("b{i}"), *v))
                .collect(),
        })
        .unwrap()
    }

    /// One slot per bar: the last bar ends at the right edge of the plot (no empty
    /// slot after it), and a single bar is drawn too.
    #[test]
    fn bar_charts_have_one_slot_per_bar() {
        for n in [1usize, 2, 3, 8, 40] {
            let svg = bars(&vec![1.0; n]);
            let r = rects(&svg, "#2E8B57");
            assert_eq!(r.len(), n, "{n} bars: {svg}");
            assert!(r.iter().all(|x| x.2 > 0.0 && x.3 > 0.0), "{n}: {r:?}");
            // Each bar is centred in its slot, and the slots fill the plot, from the
            // y axis (margin + label area) to the right margin.
            let (plot_l, plot_r) = (12.0 + 84.0, f64::from(W) - 12.0);
            let centres: Vec<f64> = r.iter().map(|x| x.0 + x.2 / 2.0).collect();
            let slot = (plot_r - plot_l) / n as f64;
            for (i, c) in centres.iter().enumerate() {
                let want = plot_l + slot * (i as f64 + 0.5);
                assert!(
                    (c - want).abs() < 3.0,
                    "{n} bars: bar {i} centred at {c}, its slot's centre is {want}"
                );
            }
            let l = labels(&svg);
            // Every bar labelled up to 60 bars (upright when crowded).
            for i in 0..n {
                assert!(l.contains(&format!("b{i}")), "{n}: label b{i} in {l:?}");
            }
        }
    }

    /// Counted bars get whole ticks: no `0.5` or `1.5` discrepancies.
    #[test]
    fn count_bars_have_whole_ticks() {
        let svg = bars(&[1.0, 1.0]);
        let labels = labels(&svg);
        assert!(labels.contains(&"1".to_owned()), "{labels:?}");
        assert!(!labels.iter().any(|l| l.contains('.')), "{labels:?}");
    }

    /// The equity curve: three days of points. Each day is labelled once
    /// (the last day too), the money axis has separators and no `.0`.
    #[test]
    fn an_equity_curve_labels_each_day_once() {
        // 2026-11-26T14:30Z, then every 10 minutes for 52 hours.
        let t0 = 1_795_703_400_000_000_000i64;
        let points: Vec<(i64, f64)> = (0..312)
            .map(|i| {
                (
                    t0 + i * 600_000_000_000,
                    (i as f64 * 0.37).sin() * 40_000.0 - 1.5,
                )
            })
            .collect();
        let svg = draw(&Chart::Line {
            title: "t".into(),
            y_label: "EUR".into(),
            points,
        })
        .unwrap();
        let l = labels(&svg);
        for day in ["2026-11-26", "2026-11-27", "2026-11-28"] {
            assert_eq!(l.iter().filter(|x| *x == day).count(), 1, "{day}: {l:?}");
        }
        assert!(
            l.contains(&"40,000".to_owned()) || l.contains(&"-40,000".to_owned()),
            "{l:?}"
        );
        assert!(!l.iter().any(|x| x.ends_with(".0")), "{l:?}");
    }

    /// Fills are counted: the histogram's y axis has whole ticks.
    #[test]
    fn a_histogram_counts_in_whole_fills() {
        let svg = draw(&Chart::Histogram {
            title: "t".into(),
            x_label: "bps".into(),
            bins: vec![(-10.0, -5.0, 1), (-5.0, 0.0, 2500), (0.0, 5.0, 3)],
        })
        .unwrap();
        let l = labels(&svg);
        assert!(
            l.contains(&"2,500".to_owned()) || l.contains(&"2,000".to_owned()),
            "{l:?}"
        );
        assert!(!l.iter().any(|x| x.contains('.')), "{l:?}");
    }
}
