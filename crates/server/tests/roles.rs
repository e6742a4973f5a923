//! Every route × every role, no token and a bad token.

mod common;

use common::{error_of, new_id, order, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_matrix() {
    let s = start().await;
    // Record 1 is trader T-1's (alice's); a checkpoint exists for GET /v1/checkpoint.
    let r = s.post_events(&s.writer, order("T-1", &new_id())).await;
    assert_eq!(r.status(), 200);
    let r = s
        .client
        .post(s.url("/v1/checkpoint"))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // (method, path, [writer, trader, compliance, admin])
    let routes: [(&str, &str, [u16; 4]); 19] = [
        ("GET", "/v1/events?type=order.*", [403, 200, 200, 200]),
        ("GET", "/v1/trail/O-1", [403, 200, 200, 200]),
        (
            "GET",
            "/v1/incident?at=1795700000000000000&window=5m",
            [403, 200, 200, 200],
        ),
        ("GET", "/v1/stats?by=type", [403, 200, 200, 200]),
        ("GET", "/v1/reports/execution", [403, 200, 200, 200]),
        (
            "GET",
            "/v1/reports/compliance?format=html",
            [403, 200, 200, 200],
        ),
        ("POST", "/v1/events", [200, 403, 403, 403]),
        ("GET", "/v1/verify", [403, 403, 200, 200]),
        ("GET", "/v1/checkpoint", [403, 200, 200, 200]),
        ("POST", "/v1/checkpoint", [403, 403, 403, 200]),
        ("POST", "/v1/reconcile", [403, 403, 403, 200]),
        ("GET", "/v1/proof/inclusion?seq=1", [403, 200, 200, 200]),
        ("GET", "/v1/proof/consistency?old=1", [403, 403, 200, 200]),
        ("GET", "/v1/tokens", [403, 403, 403, 200]),
        ("POST", "/v1/tokens", [403, 403, 403, 201]),
        ("GET", "/healthz", [200, 200, 200, 200]),
        ("GET", "/metrics", [200, 200, 200, 200]),
        ("GET", "/v1/openapi.json", [200, 200, 200, 200]),
        ("GET", "/v1/schema", [200, 200, 200, 200]),
    ];
    let open = ["/healthz", "/metrics", "/v1/openapi.json", "/v1/schema"];
    let roles = [
        ("writer", s.writer.clone()),
        ("trader", s.alice.clone()),
        ("compliance", s.compliance.clone()),
        ("admin", s.admin.clone()),
    ];
    for (method, path, expected) in routes {
        let send = |token: Option<&str>| {
            let mut req = match method {
                "POST" => s.client.post(s.url(path)),
                _ => s.client.get(s.url(path)),
            };
            if path == "/v1/events" && method == "POST" {
                req = req.body(order("T-1", &new_id()));
            }
            if path == "/v1/tokens" && method == "POST" {
                req = req.json(&serde_json::json!({"role": "writer", "name": new_id()}));
            }
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            req.send()
        };
        for ((role, token), want) in roles.iter().zip(expected) {
            let resp = send(Some(token)).await.unwrap();
            let got = resp.status().as_u16();
            assert_eq!(got, want, "{role} {method} {path}");
            if want == 403 {
                let e = error_of(resp, 403).await;
                assert_eq!(e["code"], "forbidden");
            }
        }
        let no_token = send(None).await.unwrap();
        let bad_token = send(Some(
            "tt_0000000000000000000000000000000000000000000000000000000000000000",
        ))
        .await
        .unwrap();
        if open.contains(&path) {
            assert_eq!(no_token.status(), 200, "no token {path}");
            assert_eq!(bad_token.status(), 200, "bad token {path}");
        } else {
            assert!(no_token.headers().contains_key("www-authenticate"));
            let e = error_of(no_token, 401).await;
            assert_eq!(e["code"], "unauthorized", "no token {method} {path}");
            let e = error_of(bad_token, 401).await;
            assert_eq!(e["code"], "unauthorized", "bad token {method} {path}");
        }
    }
    // Not "Bearer": 401 too.
    let r = s
        .client
        .get(s.url("/v1/verify"))
        .header("authorization", format!("Basic {}", s.compliance))
        .send()
        .await
        .unwrap();
    error_of(r, 401).await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trader_proves_only_its_own_records() {
    let s = start().await;
    s.post_events(&s.writer, order("T-1", &new_id())).await; // seq 1: T-1
    s.post_events(&s.writer, order("T-2", &new_id())).await; // seq 2: T-2
    assert_eq!(
        s.get(Some(&s.alice), "/v1/proof/inclusion?seq=1")
            .await
            .status(),
        200
    );
    assert_eq!(
        s.get(Some(&s.bob), "/v1/proof/inclusion?seq=2")
            .await
            .status(),
        200
    );
    let e = error_of(s.get(Some(&s.bob), "/v1/proof/inclusion?seq=1").await, 403).await;
    assert_eq!(e["code"], "forbidden");
    error_of(
        s.get(Some(&s.alice), "/v1/proof/inclusion?seq=2").await,
        403,
    )
    .await;
    // Record 0 (journal.created) has no trader: no trader may prove it.
    error_of(
        s.get(Some(&s.alice), "/v1/proof/inclusion?seq=0").await,
        403,
    )
    .await;
    // Compliance may prove any of them.
    assert_eq!(
        s.get(Some(&s.compliance), "/v1/proof/inclusion?seq=0")
            .await
            .status(),
        200
    );
    // No route updates or deletes.
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let r = s
            .client
            .request(method.clone(), s.url("/v1/events"))
            .bearer_auth(&s.admin)
            .send()
            .await
            .unwrap();
        let e = error_of(r, 405).await;
        assert_eq!(e["code"], "method_not_allowed", "{method}");
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_tokens_that_work_at_once() {
    let s = start().await;
    let create = |body: serde_json::Value| {
        s.client
            .post(s.url("/v1/tokens"))
            .bearer_auth(&s.admin)
            .json(&body)
            .send()
    };
    let r = create(serde_json::json!({"role": "trader", "trader_id": "T-9", "name": "carol"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = r.json().await.unwrap();
    let carol = v["token"].as_str().unwrap().to_string();
    s.post_events(&s.writer, order("T-9", &new_id())).await;
    assert_eq!(
        s.get(Some(&carol), "/v1/proof/inclusion?seq=1")
            .await
            .status(),
        200
    );
    error_of(s.get(Some(&carol), "/v1/verify").await, 403).await;
    // Same name: 409. Trader without a trader_id, unknown role, unknown field: 400.
    let r = create(serde_json::json!({"role": "writer", "name": "carol"}))
        .await
        .unwrap();
    assert_eq!(error_of(r, 409).await["code"], "conflict");
    for bad in [
        serde_json::json!({"role": "trader", "name": "dave"}),
        serde_json::json!({"role": "root", "name": "dave"}),
        serde_json::json!({"role": "writer", "name": "dave", "extra": 1}),
    ] {
        let r = create(bad.clone()).await.unwrap();
        assert_eq!(error_of(r, 400).await["code"], "bad_request", "{bad}");
    }
    // The list shows names and roles, never a secret or a digest.
    let list = s
        .get(Some(&s.admin), "/v1/tokens")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("\"carol\""));
    assert!(!list.contains(&carol[3..]) && !list.contains("sha256"));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_by_a_running_server() {
    let s = start().await;
    let root = s.rec.data_dir().root().to_path_buf();
    assert_ne!(s.get(Some(&s.alice), "/v1/checkpoint").await.status(), 401);
    tradetrail_server::revoke_token(&root, "alice").unwrap();
    let e = error_of(s.get(Some(&s.alice), "/v1/checkpoint").await, 401).await;
    assert_eq!(e["code"], "unauthorized");
    // The other tokens still work.
    assert_ne!(s.get(Some(&s.bob), "/v1/checkpoint").await.status(), 401);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_scoped_to_a_traders_own_records() {
    let s = start().await;
    for trader in ["T-1", "T-1", "T-2"] {
        assert_eq!(
            s.post_events(&s.writer, order(trader, &new_id()))
                .await
                .status(),
            200
        );
    }
    let orders = |v: &serde_json::Value| v["totals"]["orders"].as_u64().unwrap();
    let all: serde_json::Value = s
        .get(Some(&s.compliance), "/v1/reports/execution?date=2026-11-26")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["kind"], "execution");
    assert_eq!(orders(&all), 3);
    // alice is T-1: two orders, whatever she asks for.
    let mine: serde_json::Value = s
        .get(Some(&s.alice), "/v1/reports/execution")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(orders(&mine), 2);
    let e = error_of(
        s.get(Some(&s.alice), "/v1/reports/execution?trader=T-2")
            .await,
        403,
    )
    .await;
    assert_eq!(e["code"], "forbidden");
    // compliance may scope to one trader.
    let bob: serde_json::Value = s
        .get(Some(&s.compliance), "/v1/reports/execution?trader=T-2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(orders(&bob), 1);
    // Formats.
    let r = s
        .get(Some(&s.compliance), "/v1/reports/compliance?format=html")
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("<svg"));
    let r = s
        .get(Some(&s.compliance), "/v1/reports/execution?format=csv")
        .await;
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    // Bad input names the parameter: 400.
    for (path, names) in [
        ("/v1/reports/weekly", "kind"),
        ("/v1/reports/daily?date=2026-11-31", "date"),
        ("/v1/reports/daily?format=pdf", "format"),
        ("/v1/reports/daily?colour=blue", "colour"),
    ] {
        let e = error_of(s.get(Some(&s.compliance), path).await, 400).await;
        assert!(
            e["message"].as_str().unwrap().starts_with(names),
            "{path}: {e}"
        );
    }
    s.shutdown().await;
}
