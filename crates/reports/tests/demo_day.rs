//! A simulated demo day reconciled against a generated statement with planted
//! discrepancies; then every report in every format, and the HTML pages checked as
//! well-formed, self-contained documents with their charts.

use tradetrail_books::{generate_statement, read_records, run, RunOptions, Tolerances};
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_demo::{run_demo, DemoOptions};
use tradetrail_query::{Investigator, Source};
use tradetrail_reports::{Format, ReportKind, ReportRequest};

const NOW: i64 = 1_795_800_000_000_000_000;

fn demo_day() -> (tempfile::TempDir, Recorder, Investigator) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path().join("data"));
    let rec = Recorder::init(
        &dir,
        InitOptions {
            origin: Some("test/reports-demo".into()),
            ..Default::default()
        },
    )
    .unwrap();
    run_demo(
        &rec,
        &DemoOptions {
            events: 4000,
            ..DemoOptions::default()
        },
        &|_| {},
    )
    .unwrap();
    let records = read_records(&dir.journal(), None).unwrap();
    let (statement, planted) = generate_statement(&records, true).unwrap();
    assert_eq!(planted.len(), 4);
    let opts = RunOptions {
        actor: "system".into(),
        statement_name: "broker.csv".into(),
        statement_sha256: "0".repeat(64),
        now: NOW,
    };
    let out = run(&rec, &statement, &Tolerances::default(), &opts).unwrap();
    assert_eq!((out.corrections.len(), out.reviews.len()), (2, 2));
    let first_review = out.reviews[0].0.clone();
    tradetrail_books::review::resolve(
        &rec,
        &first_review,
        "operator:carol",
        "broker confirmed our fill",
        NOW + 60_000_000_000,
    )
    .unwrap();
    let inv = Investigator::open(Source::dir(dir.journal()), dir.index().join("query")).unwrap();
    (tmp, rec, inv)
}

#[test]
fn reconciliation_report_counts_runs_discrepancies_and_reviews() {
    let (_tmp, _rec, inv) = demo_day();
    let r = tradetrail_reports::reconciliation(&inv, &Default::default()).unwrap();
    assert_eq!(r.runs.len(), 1);
    let run = &r.runs[0];
    assert_eq!(
        (
            run.discrepancies,
            run.minor,
            run.major,
            run.corrections,
            run.reviews_requested
        ),
        (4, 2, 2, 2, 2)
    );
    assert_eq!(run.matched, run.our_trades, "every trade of ours matched");
    let minor: u64 = r
        .by_severity
        .iter()
        .filter(|s| s.severity == "minor")
        .map(|s| s.count)
        .sum();
    let major: u64 = r
        .by_severity
        .iter()
        .filter(|s| s.severity == "major")
        .map(|s| s.count)
        .sum();
    assert_eq!((minor, major), (2, 2));
    assert_eq!(
        r.discrepancies
            .iter()
            .filter(|d| d.action == "corrected")
            .count(),
        2
    );
    assert_eq!(
        r.discrepancies
            .iter()
            .filter(|d| d.action == "review")
            .count(),
        2
    );
    assert!(r.discrepancies.iter().all(|d| d.run_id == run.run_id));
    // What the severity was judged on is shown: the cash change differs by the missing
    // trades' amounts, and only the planted fee is unexplained (a minor break).
    let dec = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
    let cash = r
        .discrepancies
        .iter()
        .find(|d| d.category == "cash")
        .expect("the planted fee is a cash break");
    assert_eq!(cash.severity, "minor");
    assert!(dec(&cash.unexplained).abs() <= dec("25"), "{cash:?}");
    assert!(dec(&cash.difference).abs() > dec("25"), "{cash:?}");
    assert_eq!(r.open_reviews.len(), 1);
    assert_eq!(r.resolved_reviews.len(), 1);
    let done = &r.resolved_reviews[0];
    assert_eq!(done.resolved_by.as_deref(), Some("operator:carol"));
    assert_eq!(done.note.as_deref(), Some("broker confirmed our fill"));
    assert_eq!(done.resolution_ns, Some(60_000_000_000));
    // Before the resolution, the same review is open.
    let before = tradetrail_reports::ReportFilter::range(None, Some(NOW + 1));
    let r = tradetrail_reports::reconciliation(&inv, &before).unwrap();
    assert_eq!((r.open_reviews.len(), r.resolved_reviews.len()), (2, 0));
    // A range before the run has nothing.
    let early = tradetrail_reports::ReportFilter::range(None, Some(NOW - 1));
    assert!(tradetrail_reports::reconciliation(&inv, &early)
        .unwrap()
        .runs
        .is_empty());
}

#[test]
fn every_report_in_every_format_on_a_demo_day() {
    let (_tmp, _rec, inv) = demo_day();
    for kind in ReportKind::ALL {
        let mut req = ReportRequest::new(kind);
        match kind {
            ReportKind::Monthly => req.set("month", "2026-11").unwrap(),
            ReportKind::Tax => req.set("year", "2026").unwrap(),
            ReportKind::Reconciliation => {}
            _ => req.set("date", "2026-11-26").unwrap(),
        }
        let report = tradetrail_reports::run(&inv, &req).unwrap();
        let tables = report.tabular().tables();
        assert!(!tables.is_empty());
        if kind != ReportKind::Reconciliation {
            assert!(
                tables[0].rows.len() + tables.get(1).map_or(0, |t| t.rows.len()) > 0,
                "{kind:?} has figures on a demo day"
            );
        }
        for format in [Format::Table, Format::Json, Format::Csv, Format::Html] {
            let mut out = Vec::new();
            tradetrail_reports::write(&mut out, &report, format, None).unwrap();
            let text = String::from_utf8(out).unwrap();
            match format {
                Format::Json => {
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                    assert_eq!(v["kind"], kind.name());
                }
                Format::Csv => {
                    // Every block parses as CSV with as many fields as its header.
                    for block in text.split("\n\n") {
                        let body = block.split_once('\n').unwrap().1;
                        let mut rd = csv::Reader::from_reader(body.as_bytes());
                        let n = rd.headers().unwrap().len();
                        for rec in rd.records() {
                            assert_eq!(rec.unwrap().len(), n);
                        }
                    }
                }
                Format::Html => check_html(&text, report.tabular().charts().len()),
                Format::Table => assert!(text.starts_with(&report.tabular().title())),
            }
        }
    }
}

/// Well-formed (an XML parser reads it whole), self-contained (no scripts, no links,
/// no URLs but the SVG namespace), with one SVG per chart, drawn (paths, rectangles
/// or polylines, and axis labels).
fn check_html(text: &str, charts: usize) {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, opts)
        .unwrap_or_else(|e| panic!("not well-formed: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "html");
    let svgs: Vec<_> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "svg")
        .collect();
    assert_eq!(svgs.len(), charts);
    for svg in &svgs {
        let marks = svg
            .descendants()
            .filter(|n| matches!(n.tag_name().name(), "rect" | "polyline" | "path" | "line"))
            .count();
        assert!(marks > 5, "a chart with marks");
        assert!(
            svg.descendants().any(|n| n.tag_name().name() == "text"),
            "axis labels"
        );
    }
    for n in doc.descendants() {
        assert_ne!(n.tag_name().name(), "script");
        assert_ne!(n.tag_name().name(), "link");
        for a in n.attributes() {
            assert!(
                !matches!(a.name(), "href" | "src"),
                "external reference {a:?}"
            );
        }
    }
    let without_ns = text.replace("http://www.w3.org/2000/svg", "");
    assert!(
        !without_ns.contains("http://") && !without_ns.contains("https://"),
        "a URL in the page"
    );
    assert!(!text.contains("url("), "no CSS fetches");
}

/// The human outputs format every figure (thousands separators, 2 places for money,
/// the instrument's decimals for prices, human headers) while JSON and CSV carry the
/// exact decimals the report computed; the tax report has charts; the compliance
/// chart has no bar for the group without a trader and strategy.
#[test]
fn people_get_formatted_figures_machines_get_exact_ones() {
    let (_tmp, _rec, inv) = demo_day();
    let mut req = ReportRequest::new(ReportKind::Tax);
    req.set("year", "2026").unwrap();
    let report = tradetrail_reports::run(&inv, &req).unwrap();
    let tradetrail_reports::Report::Tax(tax) = &report else {
        panic!("a tax report")
    };
    let render = |format| {
        let mut out = Vec::new();
        tradetrail_reports::write(&mut out, &report, format, None).unwrap();
        String::from_utf8(out).unwrap()
    };
    let (text, json, csv, html) = (
        render(Format::Table),
        render(Format::Json),
        render(Format::Csv),
        render(Format::Html),
    );
    // A lot worth more than 1,000: grouped for people, exact for machines.
    let big = tax
        .lots
        .iter()
        .find(|l| l.proceeds > rust_decimal::Decimal::from(1000))
        .expect("a lot with proceeds over 1,000 on a demo day");
    let exact = big.proceeds.to_string();
    let human = tradetrail_query::numfmt::money(big.proceeds);
    assert!(human.contains(','), "{human}");
    assert!(text.contains(&human), "{human} in the text table");
    assert!(html.contains(&human), "{human} in the page");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let lots = v["lots"].as_array().unwrap();
    assert!(lots.iter().any(|l| l["proceeds"] == exact.as_str()));
    assert!(!json.contains(&human), "JSON has no grouped figures");
    // CSV: the `lots` block, cell for cell the report's own decimals.
    let block = csv.split("\n\n").next().unwrap();
    let body = block.split_once('\n').unwrap().1;
    let mut rd = csv::Reader::from_reader(body.as_bytes());
    let h = rd.headers().unwrap().clone();
    assert_eq!(h.get(12), Some("proceeds"), "machine names in CSV");
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), tax.lots.len());
    for (r, l) in rows.iter().zip(&tax.lots) {
        assert_eq!(r.get(4), Some(l.quantity.to_string().as_str()));
        assert_eq!(r.get(10), Some(l.open_price.to_string().as_str()));
        assert_eq!(r.get(12), Some(l.proceeds.to_string().as_str()));
        assert_eq!(r.get(16), Some(l.net_gain.to_string().as_str()));
    }
    assert!(!csv.contains(&human), "CSV has no grouped figures");
    // Human headers for people, the machine name as the header's title.
    assert!(
        html.contains("<th class=\"n\" title=\"cost_basis\">Cost basis</th>"),
        "human header"
    );
    assert!(text.contains("Cost basis") && !text.contains("cost_basis"));
    // Prices with the instrument's decimals: every shown price of an instrument has
    // the same number of places.
    let mut places: std::collections::BTreeMap<&str, std::collections::BTreeSet<usize>> =
        Default::default();
    for line in text
        .lines()
        .filter(|l| l.contains(" short ") || l.contains(" long "))
    {
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.len() < 12 {
            continue;
        }
        for p in [cells[10], cells[11]] {
            let dp = p.split_once('.').map_or(0, |x| x.1.len());
            places.entry(cells[1]).or_default().insert(dp);
        }
    }
    assert!(!places.is_empty());
    for (inst, dps) in &places {
        assert_eq!(dps.len(), 1, "{inst}: prices shown with {dps:?} places");
    }
    // The tax report has charts.
    assert!(!report.tabular().charts().is_empty());
    assert!(html.contains("<svg"), "the tax page has a chart");

    let r = tradetrail_reports::compliance(&inv, &Default::default()).unwrap();
    assert!(
        r.rows
            .iter()
            .any(|x| x.trader_id == "-" && x.strategy_id == "-" && x.orders == 0),
        "the demo has desk-wide records (changes, kill switches) in the keyless group"
    );
    use tradetrail_reports::Tabular;
    let charts = r.charts();
    let tradetrail_reports::Chart::Bars { bars, .. } = &charts[0] else {
        panic!("orders per trader and strategy as bars")
    };
    assert!(!bars.is_empty());
    for (label, n) in bars {
        assert!(!label.contains("-/-") && !label.is_empty(), "{label}");
        assert!(*n > 0.0, "{label}: {n}");
    }
}
