//! `tradetrail bench` on a tiny run: every group is measured, the floor is beside the
//! journal's figures, and the journal it wrote verifies.

mod common;

use common::{json_lines, Scratch};

#[test]
fn bench_prints_every_group_beside_the_floor() {
    let s = Scratch::new();
    let dir = s.path().to_str().unwrap().to_string();
    let run = s
        .tt(&[
            "bench",
            "--events",
            "3000",
            "--threads",
            "1,2",
            "--seconds",
            "0.1",
            "--dir",
            &dir,
            "--json",
        ])
        .expect(0);
    let lines = json_lines(&run.stdout);
    let group = |g: &str| lines.iter().filter(|l| l["group"] == g).count();
    assert_eq!(group("floor"), 3, "{}", run.stdout);
    // 2 thread counts, the pipelined producer and append_batch.
    assert_eq!(group("append-os"), 4, "{}", run.stdout);
    assert_eq!(group("append-fsync"), 3);
    assert_eq!(group("steady"), 2);
    let verify: Vec<_> = lines.iter().filter(|l| l["group"] == "verify").collect();
    assert_eq!(verify.len(), 1);
    assert!(verify[0]["note"].as_str().unwrap().starts_with("ok=true"));
    // The biggest saturation journal (3000 events + journal.created) was verified.
    assert_eq!(verify[0]["events"], 3001);
    for l in lines.iter().filter(|l| l["group"] == "append-os") {
        assert!(l["per_sec"].as_f64().unwrap() > 0.0, "{l}");
        assert!(
            l["note"].as_str().unwrap().contains("bare write loop"),
            "{l}"
        );
    }
    // Scratch journals are removed afterwards.
    assert_eq!(std::fs::read_dir(s.path()).unwrap().count(), 0);
}

#[test]
fn bench_sync_measures_every_model_beside_the_floor() {
    let s = Scratch::new();
    let dir = s.path().to_str().unwrap().to_string();
    let run = s
        .tt(&[
            "bench",
            "sync",
            "--rate",
            "2000",
            "--producers",
            "4",
            "--seconds",
            "0.1",
            "--dir",
            &dir,
            "--json",
        ])
        .expect(0);
    let lines = json_lines(&run.stdout);
    let group = |g: &str| lines.iter().filter(|l| l["group"] == g).collect::<Vec<_>>();
    assert_eq!(group("floor").len(), 2, "{}", run.stdout);
    let models = group("sync-model");
    assert_eq!(models.len(), 4, "{}", run.stdout);
    let steady = group("steady");
    assert_eq!(steady.len(), 1, "{}", run.stdout);
    // Every model and the journal sent every event (2000/s for 0.1 s) and has a p99
    // compared with the floor's.
    for l in models.iter().chain(&steady) {
        assert_eq!(l["events"], 200, "{l}");
        assert!(l["p99_us"].as_f64().unwrap() > 0.0, "{l}");
        assert!(
            l["note"]
                .as_str()
                .unwrap()
                .contains("the bare fdatasync p99"),
            "{l}"
        );
    }
    // Scratch files are removed afterwards.
    assert_eq!(std::fs::read_dir(s.path()).unwrap().count(), 0);

    let r = s.tt(&["bench", "sync", "--rate", "0"]).expect(2);
    assert!(r.stderr.contains("--rate"), "{}", r.stderr);
}
