//! End to end: `export` bundles whose every record passes `verify-proof` with the
//! bundled checkpoint, key and proof, and whose HTML report is self-contained.

mod common;

use std::path::Path;

use common::{parse, Scratch};
use serde_json::Value;

fn order(ty: &str, ts: u64, order_id: &str, trader: &str, data: &str) -> String {
    format!(
        r#"{{"type":"{ty}","ts_event":{ts},"source":"oms","actor":"trader:{trader}","trader_id":"{trader}","instrument_id":"AAPL.XNAS","entity":{{"kind":"order","id":"{order_id}"}},"data":{data}}}"#
    )
}

/// Two traders' orders in November and December 2026, with a `<script>` in a field
/// to prove the report escapes what it shows.
fn desk(s: &Scratch) {
    s.init("test/export");
    let nov = 1_793_491_200_000_000_000u64; // 2026-11-01T00:00:00Z
    let dec = 1_796_083_200_000_000_000u64; // 2026-12-01T00:00:00Z
    let sub = r#"{"side":"buy","quantity":"100","order_type":"limit","price":"187.5","time_in_force":"day"}"#;
    let fill =
        r#"{"fill_qty":"100","fill_price":"187.45","trade_id":"X-<script>alert(1)</script>"}"#;
    let rej = r#"{"reason":"price band <&>"}"#;
    let lines = [
        order("order.submitted", nov + 10, "O-123", "T-03", sub),
        order("order.accepted", nov + 20, "O-123", "T-03", "{}"),
        order("order.submitted", nov + 30, "O-200", "T-07", sub),
        order("order.filled", nov + 40, "O-123", "T-03", fill),
        order("order.rejected", nov + 50, "O-200", "T-07", rej),
        order("order.submitted", dec + 10, "O-300", "T-03", sub),
    ];
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    s.tt_stdin(&["append", "--data", &s.data_arg()], input.as_bytes())
        .expect(0);
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// Runs `verify-proof` for every proof of the bundle; returns the seqs that passed.
fn verify_bundle(s: &Scratch, b: &Path) -> Vec<u64> {
    let mut seqs: Vec<u64> = std::fs::read_dir(b.join("proofs"))
        .unwrap()
        .map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.strip_suffix(".json").unwrap().parse().unwrap()
        })
        .collect();
    seqs.sort_unstable();
    for seq in &seqs {
        let r = s
            .tt(&[
                "verify-proof",
                "--checkpoint",
                &p(&b.join("checkpoint.txt")),
                "--key",
                &p(&b.join("verifier.vkey")),
                "--record",
                &p(&b.join(format!("records/{seq}.jsonl"))),
                "--proof",
                &p(&b.join(format!("proofs/{seq}.json"))),
            ])
            .expect(0);
        assert!(r
            .stdout
            .starts_with(&format!("ok: record {seq} is in test/export")));
    }
    seqs
}

fn journal_line(s: &Scratch, seq: u64) -> String {
    s.lines()[seq as usize].clone()
}

#[test]
fn an_entity_export_verifies_offline_record_by_record() {
    let s = Scratch::new();
    desk(&s);
    let b = s.path().join("bundle");
    let r = s
        .on_data("export", &["--entity", "O-123", "--out", &p(&b)])
        .expect(0);
    // No checkpoint existed: one was taken, covering every record.
    assert!(r.stdout.contains("signed a new one"), "{}", r.stdout);

    // The trail of O-123: its three records, exactly.
    let seqs = verify_bundle(&s, &b);
    assert_eq!(seqs, [1, 2, 4]);
    let jsonl = std::fs::read_to_string(b.join("records.jsonl")).unwrap();
    let expected: String = seqs.iter().map(|&q| journal_line(&s, q) + "\n").collect();
    assert_eq!(
        jsonl, expected,
        "records.jsonl is the journal's lines byte for byte"
    );
    for q in &seqs {
        let one = std::fs::read_to_string(b.join(format!("records/{q}.jsonl"))).unwrap();
        assert_eq!(one, journal_line(&s, *q) + "\n");
        // Each proof is what `prove inclusion --json` prints at the checkpoint's size.
        let size = parse(&std::fs::read_to_string(b.join("bundle.json")).unwrap())["checkpoint"]
            ["size"]
            .as_u64()
            .unwrap();
        let printed = s
            .on_data(
                "prove",
                &[
                    "inclusion",
                    "--seq",
                    &q.to_string(),
                    "--size",
                    &size.to_string(),
                    "--json",
                ],
            )
            .expect(0)
            .stdout;
        assert_eq!(
            std::fs::read_to_string(b.join(format!("proofs/{q}.json"))).unwrap(),
            printed
        );
    }
    // The key and checkpoint are the journal's.
    assert_eq!(
        std::fs::read(b.join("verifier.vkey")).unwrap(),
        std::fs::read(s.data.join("keys/verifier.vkey")).unwrap()
    );
    let csv = std::fs::read_to_string(b.join("records.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + seqs.len());
    assert!(csv.lines().next().unwrap().starts_with("seq,"));

    // A changed record fails verification with the bundle's proof.
    let rec = b.join("records/4.jsonl");
    let changed = std::fs::read_to_string(&rec)
        .unwrap()
        .replace("187.45", "187.40");
    std::fs::write(&rec, changed).unwrap();
    let r = s.tt(&[
        "verify-proof",
        "--checkpoint",
        &p(&b.join("checkpoint.txt")),
        "--key",
        &p(&b.join("verifier.vkey")),
        "--record",
        &p(&rec),
        "--proof",
        &p(&b.join("proofs/4.json")),
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
}

#[test]
fn the_html_report_is_self_contained_and_readable() {
    let s = Scratch::new();
    desk(&s);
    let b = s.path().join("bundle");
    s.on_data("export", &["--entity", "O-123", "--out", &p(&b)])
        .expect(0);
    let html = std::fs::read_to_string(b.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for banned in [
        "http://", "https://", "<script", "<link", "src=", "href=", "url(", "@import",
    ] {
        assert!(!html.contains(banned), "report.html contains {banned:?}");
    }
    // A timeline row per record, with its key fields, and the field text escaped.
    for seq in [1, 2, 4] {
        assert!(
            html.contains(&format!("<tr id=\"seq-{seq}\">")),
            "row {seq}"
        );
    }
    assert!(!html.contains("<tr id=\"seq-3\">"));
    assert!(html.contains("order.filled") && html.contains("trader:T-03"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let readme = std::fs::read_to_string(b.join("README.md")).unwrap();
    assert!(
        readme.contains("tradetrail verify-proof --checkpoint checkpoint.txt --key verifier.vkey")
    );
    assert!(readme.contains("RFC 9162"));
}

#[test]
fn a_filtered_export_uses_the_saved_checkpoint_and_the_filters() {
    let s = Scratch::new();
    desk(&s);
    s.on_data("checkpoint", &[]).expect(0);
    let b = s.path().join("nov-t03");
    let r = s
        .on_data(
            "export",
            &[
                "--from",
                "2026-11-01",
                "--to",
                "2026-12-01",
                "--trader",
                "T-03",
                "--out",
                &p(&b),
            ],
        )
        .expect(0);
    assert!(!r.stdout.contains("signed a new one"), "{}", r.stdout);
    // T-03's November records only: not T-07's, not O-300 in December.
    assert_eq!(verify_bundle(&s, &b), [1, 2, 4]);
    let bundle: Value = parse(&std::fs::read_to_string(b.join("bundle.json")).unwrap());
    assert_eq!(bundle["checkpoint"]["size"], 7);
    assert_eq!(
        std::fs::read_to_string(b.join("checkpoint.txt")).unwrap(),
        std::fs::read_to_string(s.data.join("checkpoints/00000000000000000007.txt")).unwrap()
    );
}

#[test]
fn bad_export_requests_write_nothing() {
    let s = Scratch::new();
    desk(&s);
    let b = s.path().join("bundle");
    // The issue's `--to bundle/`: --to is a time here, and the error says where the
    // bundle goes.
    let r = s
        .on_data(
            "export",
            &[
                "--from",
                "2026-11-01",
                "--to",
                "bundle/",
                "--trader",
                "T-03",
            ],
        )
        .expect(2);
    assert!(r.stderr.contains("--out"), "{}", r.stderr);
    let r = s
        .on_data(
            "export",
            &["--from", "2026-11-01", "--to", "bundle/", "--out", &p(&b)],
        )
        .expect(2);
    assert!(
        r.stderr.contains("bundle directory is --out"),
        "{}",
        r.stderr
    );
    let r = s
        .on_data(
            "export",
            &["--entity", "O-123", "--trader", "T-03", "--out", &p(&b)],
        )
        .expect(2);
    assert!(r.stderr.contains("cannot be combined"), "{}", r.stderr);
    let r = s.on_data("export", &["--out", &p(&b)]).expect(2);
    assert!(r.stderr.contains("choose the records"), "{}", r.stderr);
    let r = s
        .on_data("export", &["--entity", "O-999", "--out", &p(&b)])
        .expect(2);
    assert!(r.stderr.contains("no record matches"), "{}", r.stderr);
    assert!(!b.exists());
    // No checkpoint was taken for any of them.
    assert!(
        !s.data.join("checkpoints").exists()
            || std::fs::read_dir(s.data.join("checkpoints"))
                .unwrap()
                .next()
                .is_none()
    );
    // An output directory that is not empty is refused and left alone.
    std::fs::create_dir(&b).unwrap();
    std::fs::write(b.join("keep.txt"), "mine").unwrap();
    let r = s
        .on_data("export", &["--entity", "O-123", "--out", &p(&b)])
        .expect(2);
    assert!(r.stderr.contains("not empty"), "{}", r.stderr);
    assert_eq!(std::fs::read_dir(&b).unwrap().count(), 1);
}
