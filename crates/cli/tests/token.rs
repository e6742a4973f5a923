//! `tradetrail token create | list | revoke`.

mod common;

use common::Scratch;

#[test]
fn tokens_are_created_listed_and_revoked() {
    let s = Scratch::new();
    s.init("test.local/tokens");
    let t = s
        .on_data(
            "token",
            &[
                "create", "--role", "trader", "--trader", "T-3", "--name", "alice",
            ],
        )
        .expect(0);
    let secret = t.stdout.trim().to_string();
    assert!(secret.starts_with("tt_"), "{}", t.stdout);
    s.on_data("token", &["create", "--role", "writer", "--name", "gw-1"])
        .expect(0);
    let list = s.on_data("token", &["list", "--json"]).expect(0);
    let rows: Vec<serde_json::Value> = list
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["name"], "alice");
    assert_eq!(rows[0]["role"], "trader");
    assert_eq!(rows[0]["trader_id"], "T-3");
    assert_eq!(rows[1]["trader_id"], serde_json::Value::Null);
    assert!(!list.stdout.contains(&secret[3..]), "never the secret");
    let table = s.on_data("token", &["list"]).expect(0);
    assert!(table.stdout.contains("gw-1") && table.stdout.contains("writer"));

    s.on_data("token", &["revoke", "--name", "alice"]).expect(0);
    let list = s.on_data("token", &["list", "--json"]).expect(0);
    assert_eq!(list.stdout.lines().count(), 1);
    assert!(list.stdout.contains("gw-1"));
    // Revoking a name that is not there: exit 2, naming it.
    let r = s.on_data("token", &["revoke", "--name", "alice"]).expect(2);
    assert!(r.stderr.contains("\"alice\""), "{}", r.stderr);
}

#[test]
fn token_commands_need_an_initialized_directory() {
    let s = Scratch::new();
    let r = s.on_data("token", &["list"]);
    assert_ne!(r.code, Some(0));
    assert!(r.stderr.contains("init"), "{}", r.stderr);
}

#[test]
fn a_trader_id_with_a_pattern_character_is_refused() {
    let s = Scratch::new();
    s.init("test.local/tokens");
    for id in ["T-1*", "T-?", "T-[1]", "T-1,T-2"] {
        let r = s
            .on_data(
                "token",
                &[
                    "create", "--role", "trader", "--trader", id, "--name", "carol",
                ],
            )
            .expect(2);
        assert!(
            r.stderr.contains(&format!("--trader {id:?}")) && r.stderr.contains("pattern"),
            "{}",
            r.stderr
        );
        assert!(r.stdout.trim().is_empty(), "no token printed: {}", r.stdout);
    }
    let list = s.on_data("token", &["list", "--json"]).expect(0);
    assert_eq!(list.stdout.trim(), "", "nothing stored");
    // The literal id is accepted.
    s.on_data(
        "token",
        &[
            "create", "--role", "trader", "--trader", "T-1", "--name", "carol",
        ],
    )
    .expect(0);
}
