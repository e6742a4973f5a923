//! Checkpoints through the library: taking them by hand and by policy, and checking a
//! journal against them.

use tradetrail_core::checkpoints::{
    check_against, checkpoint_if_due, latest_checkpoint, take_checkpoint, verifier_key,
};
use tradetrail_core::{Config, DataDir, InitOptions, Recorder};
use tradetrail_demo::{run_demo, DemoOptions};

fn init(tmp: &tempfile::TempDir, toml_edit: impl FnOnce(String) -> String) -> (DataDir, Recorder) {
    let dir = DataDir::new(tmp.path().join("d"));
    drop(
        Recorder::init(
            &dir,
            InitOptions {
                origin: Some("cp.test/desk".into()),
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let text = std::fs::read_to_string(dir.config()).unwrap();
    std::fs::write(dir.config(), toml_edit(text)).unwrap();
    let (rec, _) = Recorder::open(&dir).unwrap();
    (dir, rec)
}

#[test]
fn a_checkpoint_is_signed_saved_recorded_and_checks_out() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, rec) = init(&tmp, |t| t);
    run_demo(
        &rec,
        &DemoOptions {
            events: 500,
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    let before = rec.journal().status().unwrap().records;
    let taken = take_checkpoint(&rec).unwrap();
    assert_eq!(taken.size, before);
    assert_eq!(
        taken.receipt.seq, before,
        "the journal.checkpoint record comes right after"
    );
    assert_eq!(std::fs::read_to_string(&taken.path).unwrap(), taken.note);
    let line = rec.journal().read_line(taken.receipt.seq).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(v["type"], "journal.checkpoint");
    assert_eq!(v["data"]["size"], before);
    assert_eq!(v["data"]["root"], taken.root.to_string());
    assert_eq!(v["data"]["note"], taken.note);
    let (path, text) = latest_checkpoint(&dir).unwrap().unwrap();
    assert_eq!(
        (path, text.clone()),
        (taken.path.clone(), taken.note.clone())
    );

    let vkey = verifier_key(&dir).unwrap();
    let origin = Config::load(&dir.config()).unwrap().origin;
    let ok = check_against(&dir, &origin, &text, &vkey, None).unwrap();
    assert!(ok.ok, "{ok:?}");
    // Another origin is not this journal.
    let other = check_against(&dir, "someone.else/desk", &text, &vkey, None).unwrap();
    assert!(!other.ok);
    // A changed size in the text breaks the signature.
    let forged = text.replacen(&format!("\n{before}\n"), &format!("\n{}\n", before - 1), 1);
    assert!(check_against(&dir, &origin, &forged, &vkey, None).is_err());
}

#[test]
fn the_policy_takes_checkpoints_by_count_and_not_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, rec) = init(&tmp, |t| {
        t.replace("every_records = 100000", "every_records = 1000")
            .replace("at_seal = true", "at_seal = false")
    });
    run_demo(
        &rec,
        &DemoOptions {
            events: 300,
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    assert!(
        checkpoint_if_due(&rec).unwrap().is_none(),
        "300 records are below every_records"
    );
    run_demo(
        &rec,
        &DemoOptions {
            events: 900,
            seed: 3,
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    let taken = checkpoint_if_due(&rec)
        .unwrap()
        .expect("1,200 records are past every_records");
    assert_eq!(taken.size, rec.journal().status().unwrap().records - 1);
    assert!(
        checkpoint_if_due(&rec).unwrap().is_none(),
        "only the checkpoint record was added since"
    );
}

#[test]
fn the_policy_takes_one_when_a_segment_was_sealed() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, rec) = init(&tmp, |t| {
        t.replace("segment_max_bytes = 67108864", "segment_max_bytes = 65536")
    });
    run_demo(
        &rec,
        &DemoOptions {
            events: 100,
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    assert_eq!(rec.journal().status().unwrap().segments, 1);
    assert!(checkpoint_if_due(&rec).unwrap().is_none());
    run_demo(
        &rec,
        &DemoOptions {
            events: 400,
            seed: 5,
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    assert!(rec.journal().status().unwrap().segments > 1);
    assert!(checkpoint_if_due(&rec).unwrap().is_some());
}
