//! `tradetrail bench http` runs a real server, measures, and checks every receipt
//! against the journal afterwards.

mod common;

use common::{json_lines, Scratch};

#[test]
fn bench_http_measures_and_checks_every_receipt() {
    let s = Scratch::new();
    let dir = s.path().to_str().unwrap().to_string();
    let run = s
        .tt(&[
            "bench",
            "http",
            "--seconds",
            "0.3",
            "--clients",
            "1,3",
            "--batches",
            "1,5",
            "--durability",
            "os,fsync",
            "--dir",
            &dir,
            "--json",
        ])
        .expect(0);
    let lines = json_lines(&run.stdout);
    // 2 durabilities x 2 batches on the library, x 2 client counts over HTTP.
    assert_eq!(lines.iter().filter(|l| l["group"] == "library").count(), 4);
    let http: Vec<_> = lines.iter().filter(|l| l["group"] == "http").collect();
    assert_eq!(http.len(), 8);
    for l in http {
        assert!(l["events"].as_u64().unwrap() > 0, "{l}");
        assert!(l["p99_us"].as_f64().unwrap() >= l["p50_us"].as_f64().unwrap());
        assert!(l["of_library"].as_f64().unwrap() > 0.0);
    }
    // The scratch data directory is removed afterwards.
    assert_eq!(std::fs::read_dir(s.path()).unwrap().count(), 0);
}

#[test]
fn bench_http_refuses_bad_options() {
    let s = Scratch::new();
    let run = s
        .tt(&["bench", "http", "--durability", "sometimes"])
        .expect(2);
    assert!(run.stderr.contains("--durability"), "{}", run.stderr);
    let run = s.tt(&["bench", "http", "--clients", "0"]).expect(2);
    assert!(run.stderr.contains("--clients"), "{}", run.stderr);
}
