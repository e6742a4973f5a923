//! The console's trader scope on every page that reads records, without a browser
//! (the browser tests are crates/cli/tests/console.rs): a trader's session sees its
//! own records and is refused the rest — record pages, proofs, search, live tail,
//! dashboard, reviews — exactly as its token is through `/v1`.

mod common;

use common::{start, TestServer};
use serde_json::Value;

fn order(trader: &str, id: &str) -> String {
    format!(
        r#"{{"type":"order.submitted","ts_event":"2026-11-21T14:30:00Z","source":"oms","actor":"trader:{trader}","trader_id":"{trader}","instrument_id":"AAPL.XNAS","entity":{{"kind":"order","id":"{id}"}},"data":{{"side":"buy","quantity":"10","order_type":"market"}}}}"#
    )
}

/// A client that does not follow redirects (a redirect to /login is an answer here).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn set_cookie(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_string())
        .unwrap()
}

/// Signs in through the form; the session's `Cookie` header value.
async fn sign_in(s: &TestServer, token: &str) -> String {
    let c = client();
    let page = c.get(s.url("/login")).send().await.unwrap();
    let nonce = set_cookie(&page, "tt_login");
    let r = c
        .post(s.url("/login"))
        .header("cookie", format!("tt_login={nonce}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("login_csrf={nonce}&token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    format!("tt_session={}", set_cookie(&r, "tt_session"))
}

async fn page(cookie: &str, s: &TestServer, path: &str) -> (u16, String) {
    let r = client()
        .get(s.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

#[tokio::test]
async fn a_trader_session_sees_only_its_own_records_on_every_page() {
    let s = start().await;
    let body = [
        order("T-1", "O-1"),
        order("T-2", "O-2"),
        order("T-1", "O-3"),
    ]
    .join("\n");
    let r = s.post_events(&s.writer, body).await;
    assert_eq!(r.status(), 200);
    let seqs: Vec<u64> = r.json::<Value>().await.unwrap()["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    let (mine, theirs) = (seqs[0], seqs[1]);
    let r = client()
        .post(s.url("/v1/checkpoint"))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let alice = sign_in(&s, &s.alice).await;
    // Search: only T-1's rows; asking for T-2 is refused.
    let (status, html) = page(&alice, &s, "/search?type=order.*").await;
    assert_eq!(status, 200);
    assert_eq!(html.matches("<td class=\"trader\">T-1</td>").count(), 2);
    assert!(!html.contains("T-2"), "{html}");
    let (status, _) = page(&alice, &s, "/search?trader=T-2").await;
    assert_eq!(status, 403);
    // Record pages and proofs.
    let (status, html) = page(&alice, &s, &format!("/record/{mine}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("O-1"));
    let (status, html) = page(&alice, &s, &format!("/record/{theirs}")).await;
    assert_eq!(status, 403);
    assert!(!html.contains("O-2"), "nothing of the record leaks");
    let (status, proof) = page(&alice, &s, &format!("/record/{mine}/proof")).await;
    assert_eq!(status, 200, "{proof}");
    let proof: Value = serde_json::from_str(&proof).unwrap();
    assert_eq!(proof["seq"], mine);
    assert!(proof["checkpoint"]
        .as_str()
        .unwrap()
        .contains("test.local/server"));
    let (status, _) = page(&alice, &s, &format!("/record/{theirs}/proof")).await;
    assert_eq!(status, 403);
    // Trails: its own shows, another trader's is refused.
    let (status, _) = page(&alice, &s, "/trail?id=O-1").await;
    assert_eq!(status, 200);
    let (status, html) = page(&alice, &s, "/trail?id=O-2").await;
    assert_eq!(status, 403);
    assert!(!html.contains("order.submitted"));
    // Live tail of another trader, reviews: refused. Dashboard: its own count.
    let (status, _) = page(&alice, &s, "/live/stream?trader=T-2").await;
    assert_eq!(status, 403);
    let (status, _) = page(&alice, &s, "/reviews").await;
    assert_eq!(status, 403);
    let (status, html) = page(&alice, &s, "/dashboard").await;
    assert_eq!(status, 200);
    // Two orders, its own sign-in and proof export (user.* records carry its trader_id).
    assert!(html.contains("data-total=\"4\""), "{html}");
    assert!(html.contains("user.exported"), "{html}");
    // Compliance sees everything.
    let cco = sign_in(&s, &s.compliance).await;
    let (status, html) = page(&cco, &s, &format!("/record/{theirs}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("O-2"));
    // A revoked token's session ends at once.
    tradetrail_server::revoke_token(s.rec.data_dir().root(), "alice").unwrap();
    let r = client()
        .get(s.url("/search"))
        .header("cookie", &alice)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?ended=revoked");
    s.shutdown().await;
}
