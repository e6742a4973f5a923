//! `tradetrail report`: bad flags exit 2 naming the flag and write nothing; every
//! report runs on a demo day in every format.

mod common;

use common::*;

fn demo() -> Scratch {
    let s = Scratch::new();
    s.init("test/report-cli");
    s.on_data("demo", &["--events", "3000"]).expect(0);
    s
}

#[test]
fn bad_dates_and_months_exit_2_naming_the_flag() {
    let s = demo();
    let out = s.path().join("r.html");
    let out_arg = out.display().to_string();
    for (args, flag) in [
        (vec!["daily", "--date", "2026-11-31"], "--date"),
        (vec!["daily", "--date", "yesterday"], "--date"),
        (vec!["monthly", "--month", "2026-13"], "--month"),
        (vec!["monthly", "--month", "11/2026"], "--month"),
        (vec!["tax", "--year", "26"], "--year"),
        (
            vec!["execution", "--from", "2026-11-27", "--to", "2026-11-26"],
            "--to",
        ),
        (
            vec!["daily", "--date", "2026-11-26", "--from", "2026-11-26"],
            "--from",
        ),
        (vec!["daily", "--format", "pdf"], "--format"),
        (vec!["weekly"], "kind"),
    ] {
        let mut a = vec!["report", "--data", s.data.to_str().unwrap()];
        a.extend(args.iter().copied());
        a.extend(["-o", out_arg.as_str()]);
        let r = s.tt(&a).expect(2);
        assert!(
            r.stderr.contains(&format!("{flag}: ")),
            "{args:?}: the error names {flag}: {}",
            r.stderr
        );
        assert!(r.stdout.is_empty());
        assert!(!out.exists(), "{args:?}: nothing written");
    }
}

#[test]
fn every_report_on_a_demo_day() {
    let s = demo();
    for (kind, range) in [
        ("daily", ["--date", "2026-11-26"]),
        ("monthly", ["--month", "2026-11"]),
        ("execution", ["--from", "2026-11-26"]),
        ("tax", ["--year", "2026"]),
        ("compliance", ["--date", "2026-11-26"]),
        ("reconciliation", ["--month", "2026-11"]),
    ] {
        for format in ["table", "json", "csv", "html"] {
            let r = s
                .on_data("report", &[kind, range[0], range[1], "--format", format])
                .expect(0);
            assert!(!r.stdout.is_empty(), "{kind} {format}");
            if format == "json" {
                assert_eq!(parse(&r.stdout)["kind"], kind);
            }
            if format == "html" {
                assert!(r.stdout.starts_with("<!DOCTYPE html>"));
                assert!(r.stdout.trim_end().ends_with("</html>"));
            }
        }
    }
    // The daily figures of the JSON agree with the CSV section.
    let j = parse(
        &s.on_data(
            "report",
            &["daily", "--date", "2026-11-26", "--format", "json"],
        )
        .expect(0)
        .stdout,
    );
    let usd = j["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["currency"] == "USD")
        .unwrap();
    let csv = s
        .on_data(
            "report",
            &[
                "daily",
                "--date",
                "2026-11-26",
                "--format",
                "csv",
                "--section",
                "days",
            ],
        )
        .expect(0)
        .stdout;
    let row = csv
        .lines()
        .find(|l| l.starts_with("2026-11-26,USD,"))
        .unwrap();
    let cells: Vec<&str> = row.split(',').collect();
    assert_eq!(cells[2], usd["trades"].to_string());
    assert_eq!(cells[9], usd["net_pnl"].as_str().unwrap());
    // A trader sees only themselves.
    let j = parse(
        &s.on_data(
            "report",
            &["execution", "--trader", "T-02", "--format", "json"],
        )
        .expect(0)
        .stdout,
    );
    let traders: Vec<&str> = j["by_trader"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert_eq!(traders, ["T-02"]);
    // -o writes the page to a file.
    let out = s.path().join("daily.html");
    s.on_data(
        "report",
        &[
            "daily",
            "--date",
            "2026-11-26",
            "--format",
            "html",
            "-o",
            out.to_str().unwrap(),
        ],
    )
    .expect(0);
    let page = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        page.matches("<svg").count(),
        4,
        "equity and daily P&L, USD and EUR"
    );
}
