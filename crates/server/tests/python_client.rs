//! `examples/python_client.py` against a real server (skipped without python3).

mod common;

use common::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_appends_and_checks_a_proof() {
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("python3 not found; skipped");
        return;
    }
    let s = start().await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/python_client.py"
    );
    let (url, writer, admin) = (s.base.clone(), s.writer.clone(), s.admin.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .args(["--url", &url])
            .env("TT_WRITER", writer)
            .env("TT_ADMIN", admin)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("is in the journal as of the signed checkpoint"),
        "{stdout}"
    );
    assert!(stdout.contains("refused line 2: type:"), "{stdout}");
    // Two events, once each, plus the checkpoint record.
    assert_eq!(s.records(), 4);
    s.shutdown().await;
}
