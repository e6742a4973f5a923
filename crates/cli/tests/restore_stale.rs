//! End to end: `restore` removes the staging directory a killed restore left beside
//! its destination, and says so on stderr.

mod common;

use common::{custom_event, Scratch};

#[test]
fn restore_removes_a_killed_restores_staging_directory_and_says_so() {
    if !std::path::Path::new("/proc/self").exists() {
        return; // Nothing can be proved abandoned without /proc.
    }
    let s = Scratch::new();
    s.init("test/stale");
    let input: String = (0..3).map(|i| custom_event("stale", i) + "\n").collect();
    s.tt_stdin(&["append", "--data", &s.data_arg()], input.as_bytes())
        .expect(0);
    let bk = s.path().join("bk").display().to_string();
    s.on_data("backup", &["--to", &bk]).expect(0);

    // What a restore killed part way leaves (pid 4000000000 never runs).
    let stale = s.path().join(".restored.restoring-4000000000");
    std::fs::create_dir_all(stale.join("journal")).unwrap();
    std::fs::write(stale.join("journal/00000000000000000000.jsonl"), b"{").unwrap();

    let dest = s.path().join("restored").display().to_string();
    let r = s.tt(&["restore", "--from", &bk, "--data", &dest]).expect(0);
    assert!(!stale.exists(), "{}", r.stderr);
    assert!(
        r.stderr.contains("removed") && r.stderr.contains(".restored.restoring-4000000000"),
        "{}",
        r.stderr
    );
    let leftovers: Vec<_> = std::fs::read_dir(s.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("restoring"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
