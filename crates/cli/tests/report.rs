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

/// Orders on Tuesday 18:00 New York (23:00Z), Wednesday 10:00 (15:00Z) and Wednesday
/// 21:00 (02:00Z Thursday): `--date 2026-11-25` is one order in UTC and two in New
/// York, whether the zone comes from `[time]` in tradetrail.toml or from `--tz`.
#[test]
fn days_in_the_configured_zone_and_in_tz() {
    let s = Scratch::new();
    s.init("test/report-tz");
    let line = |ts: &str, n: u32| {
        format!(
            "{{\"type\":\"order.submitted\",\"ts_event\":\"{ts}\",\"source\":\"oms\",\
             \"actor\":\"trader:T-1\",\"trader_id\":\"T-1\",\"instrument_id\":\"AAPL.XNAS\",\
             \"entity\":{{\"kind\":\"order\",\"id\":\"O-{n}\"}},\
             \"data\":{{\"side\":\"buy\",\"quantity\":\"100\",\"order_type\":\"market\"}}}}\n"
        )
    };
    let events = line("2026-11-24T23:00:00Z", 1)
        + &line("2026-11-25T15:00:00Z", 2)
        + &line("2026-11-26T02:00:00Z", 3);
    let file = s.file("orders.jsonl", &events);
    s.on_data("append", &[&file]).expect(0);
    let orders = |extra: &[&str]| {
        let mut a = vec!["compliance", "--date", "2026-11-25", "--format", "json"];
        a.extend_from_slice(extra);
        let j = parse(&s.on_data("report", &a).expect(0).stdout);
        (
            j["totals"]["orders"].as_u64().unwrap(),
            j["filter"]["days"]["zone"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(orders(&[]), (1, "UTC".into()));
    assert_eq!(
        orders(&["--tz", "America/New_York"]),
        (2, "America/New_York".into())
    );
    // The configuration's zone is the default; --tz overrides it.
    let cfg = s.data.join("tradetrail.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        text.contains("zone = \"UTC\""),
        "init writes [time]: {text}"
    );
    std::fs::write(
        &cfg,
        text.replace("zone = \"UTC\"", "zone = \"America/New_York\""),
    )
    .unwrap();
    assert_eq!(orders(&[]), (2, "America/New_York".into()));
    assert_eq!(orders(&["--tz", "UTC"]), (1, "UTC".into()));
    // The table says which days.
    let t = s
        .on_data("report", &["compliance", "--date", "2026-11-25"])
        .expect(0)
        .stdout;
    assert!(t.contains("2026-11-25 (days in America/New_York)"), "{t}");
    // query --from/--to without an offset: in the configured zone.
    let q = s
        .on_data(
            "query",
            &[
                "--from",
                "2026-11-25T09:30",
                "--to",
                "2026-11-25T23:00",
                "--format",
                "jsonl",
            ],
        )
        .expect(0)
        .stdout;
    assert_eq!(q.lines().count(), 2, "{q}");
    // Tables show times in the zone, each with its offset; --tz UTC puts them back.
    let q = s.on_data("query", &["--type", "order.*"]).expect(0).stdout;
    assert!(
        q.contains("time (America/New_York)") && q.contains("2026-11-24T18:00:00.000-05:00"),
        "{q}"
    );
    let q = s
        .on_data("query", &["--type", "order.*", "--tz", "UTC"])
        .expect(0)
        .stdout;
    assert!(
        q.contains("time (UTC)") && q.contains("2026-11-24T23:00:00.000Z"),
        "{q}"
    );
    // A bad zone exits 2 naming the flag, as does a session that is not configured.
    let r = s
        .on_data("report", &["daily", "--tz", "Mars/Base"])
        .expect(2);
    assert!(
        r.stderr
            .contains("--tz: \"Mars/Base\" is not a time zone: use an IANA name"),
        "{}",
        r.stderr
    );
    let r = s.on_data("query", &["--tz", "Mars/Base"]).expect(2);
    assert!(r.stderr.contains("--tz: "), "{}", r.stderr);
    let r = s
        .on_data("report", &["daily", "--session", "XNYS"])
        .expect(2);
    assert!(
        r.stderr.contains("--session: no session \"XNYS\""),
        "{}",
        r.stderr
    );
    // A bad zone in the configuration names the key.
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("America/New_York", "Mars/Base"),
    )
    .unwrap();
    let r = s.on_data("report", &["daily"]).expect(2);
    assert!(
        r.stderr.contains("time.zone: \"Mars/Base\""),
        "{}",
        r.stderr
    );
}
