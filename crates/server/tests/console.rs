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

fn ev(ty: &str, at: &str, trader: &str, kind: &str, id: &str, data: &str) -> String {
    format!(
        r#"{{"type":"{ty}","ts_event":"{at}","source":"oms","actor":"trader:{trader}","trader_id":"{trader}","instrument_id":"AAPL.XNAS","account_id":"U-{trader}","entity":{{"kind":"{kind}","id":"{id}"}},"data":{data}}}"#
    )
}

/// The `data-count` values of an SVG's marks, summed.
fn marks(html: &str, svg_id: &str) -> u64 {
    let start = html.find(&format!("id=\"{svg_id}\"")).unwrap();
    let end = start + html[start..].find("</svg>").unwrap();
    html[start..end]
        .split("data-count=\"")
        .skip(1)
        .map(|x| x[..x.find('"').unwrap()].parse::<u64>().unwrap())
        .sum()
}

fn attr(html: &str, name: &str) -> u64 {
    let i = html.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    html[i..i + html[i..].find('"').unwrap()].parse().unwrap()
}

/// The seqs of a results table, in order.
fn rows(html: &str) -> Vec<u64> {
    html.split("<tr data-seq=\"")
        .skip(1)
        .map(|x| x[..x.find('"').unwrap()].parse().unwrap())
        .collect()
}

async fn journal(s: &TestServer) {
    let order = r#"{"side":"buy","quantity":"10","order_type":"market"}"#;
    let body = [
        ev(
            "signal.generated",
            "2026-11-21T14:29:00Z",
            "T-1",
            "signal",
            "S-1",
            r#"{"direction":"long"}"#,
        )
        .replace("\"source\"", "\"strategy_id\":\"ST-1\",\"source\""),
        ev(
            "recommendation.generated",
            "2026-11-21T14:29:10Z",
            "T-1",
            "recommendation",
            "R-1",
            r#"{"side":"buy","quantity":"10"}"#,
        ),
        ev(
            "risk.evaluated",
            "2026-11-21T14:29:20Z",
            "T-1",
            "recommendation",
            "R-1",
            r#"{"decision":"approved"}"#,
        ),
        ev(
            "order.submitted",
            "2026-11-21T14:30:00Z",
            "T-1",
            "order",
            "O-1",
            order,
        ),
        ev(
            "order.filled",
            "2026-11-21T14:30:05Z",
            "T-1",
            "order",
            "O-1",
            r#"{"fill_qty":"10","fill_price":"190.25","trade_id":"X-1"}"#,
        ),
        ev(
            "order.submitted",
            "2026-11-21T14:30:30Z",
            "T-2",
            "order",
            "O-2",
            order,
        ),
        ev(
            "order.rejected",
            "2026-11-21T14:30:31Z",
            "T-2",
            "order",
            "O-2",
            r#"{"reason":"bob-only reason"}"#,
        ),
        ev(
            "order.submitted",
            "2026-11-21T14:31:00Z",
            "T-1",
            "order",
            "O-3",
            order,
        ),
        ev(
            "order.rejected",
            "2026-11-21T14:31:01Z",
            "T-1",
            "order",
            "O-3",
            r#"{"reason":"price band"}"#,
        ),
        ev(
            "order.submitted",
            "2026-11-22T09:00:00Z",
            "T-1",
            "order",
            "O-9",
            order,
        ),
    ]
    .join("\n");
    let r = s.post_events(&s.writer, body).await;
    let status = r.status();
    assert_eq!(status, 200, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn incident_page_groups_the_window_on_a_time_axis_pages_by_seq_and_is_scoped() {
    let s = start().await;
    journal(&s).await;
    let q = "/incident?at=2026-11-21T14:30:30Z&window=5m";
    // A trader: its own 7 records of the window (not O-9 the next day, nothing of T-2).
    let alice = sign_in(&s, &s.alice).await;
    let (status, html) = page(&alice, &s, q).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(attr(&html, "data-total"), 7, "{html}");
    assert_eq!(
        marks(&html, "incident-timeline"),
        7,
        "every record in one slice"
    );
    assert!(html.contains("oms · order.submitted"), "{html}");
    assert!(!html.contains("T-2") && !html.contains("O-2") && !html.contains("bob-only"));
    assert_eq!(rows(&html).len(), 7);
    assert!(!html.contains("style="), "no inline style under the CSP");
    let (status, _) = page(&alice, &s, &format!("{q}&trader=T-2")).await;
    assert_eq!(status, 403);
    // Compliance: all 9, by source and type; pages of 4 by seq, to the end.
    let cco = sign_in(&s, &s.compliance).await;
    let (status, html) = page(&cco, &s, q).await;
    assert_eq!(status, 200);
    assert_eq!(attr(&html, "data-total"), 9);
    assert_eq!(marks(&html, "incident-timeline"), 9);
    assert_eq!(
        attr(&html, "data-lanes"),
        6,
        "signal, recommendation, risk, submitted, filled, rejected"
    );
    let all = rows(&html);
    let mut seen = Vec::new();
    let mut next = format!("{q}&limit=4");
    loop {
        let (status, html) = page(&cco, &s, &next).await;
        assert_eq!(status, 200);
        seen.extend(rows(&html));
        match html.find("id=\"next\" rel=\"next\" href=\"") {
            Some(i) => {
                let rest = &html[i + 27..];
                next = rest[..rest.find('"').unwrap()].replace("&amp;", "&");
            }
            None => {
                assert!(html.contains("This is the last page"));
                break;
            }
        }
    }
    assert_eq!(seen, all, "every record once, in seq order");
    // A record links to the incident around it.
    let (_, html) = page(&cco, &s, &format!("/record/{}", all[0])).await;
    let at = tradetrail_model::parse_time("2026-11-21T14:29:00Z").unwrap();
    assert!(
        html.contains(&format!(
            "id=\"incident-around\" href=\"/incident?at={at}&amp;window=5m\""
        )),
        "{html}"
    );
    // Bad input names the field.
    let (status, html) = page(&cco, &s, "/incident?at=yesterday").await;
    assert_eq!(status, 400);
    assert!(html.contains("at:"), "{html}");
    let (status, html) = page(&cco, &s, &format!("{q}&from=2026-11-21")).await;
    assert_eq!(status, 400, "{html}");
    s.shutdown().await;
}

async fn api(s: &TestServer, token: &str, path: &str) -> (u16, Vec<u8>) {
    let r = client()
        .get(s.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

async fn download(cookie: &str, s: &TestServer, path: &str) -> (u16, String, Vec<u8>) {
    let r = client()
        .get(s.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let disp = r
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status().as_u16(), disp, r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn reports_page_shows_every_kind_downloads_what_the_api_answers_and_records_it() {
    let s = start().await;
    journal(&s).await;
    let alice = sign_in(&s, &s.alice).await;
    let cco = sign_in(&s, &s.compliance).await;
    for kind in [
        "daily",
        "monthly",
        "execution",
        "tax",
        "compliance",
        "reconciliation",
    ] {
        let period = if kind == "monthly" || kind == "tax" {
            "month=2026-11"
        } else {
            "date=2026-11-21"
        };
        for (who, cookie, token) in [("alice", &alice, &s.alice), ("cco", &cco, &s.compliance)] {
            let (status, html) = page(cookie, &s, &format!("/reports?kind={kind}&{period}")).await;
            assert_eq!(status, 200, "{kind} {who}: {html}");
            assert!(html.contains("id=\"report-title\""), "{kind}");
            assert!(!html.contains("style="), "no inline style: {kind}");
            // Every table of the CSV is on the page.
            let (status, disp, csv) = download(
                cookie,
                &s,
                &format!("/reports/download?kind={kind}&format=csv&{period}"),
            )
            .await;
            assert_eq!(status, 200, "{kind} {who}");
            assert!(
                disp.starts_with("attachment; filename=\"tradetrail-"),
                "{disp}"
            );
            let csv = String::from_utf8(csv).unwrap();
            for section in csv.lines().filter_map(|l| l.strip_prefix("# ")) {
                assert!(
                    html.contains(&format!("data-table=\"{section}\"")),
                    "{kind} {who}: table {section} on the page"
                );
            }
            // The downloads are the API's answers for the same token, byte for byte.
            for format in ["json", "csv", "html"] {
                let (status, _, got) = download(
                    cookie,
                    &s,
                    &format!("/reports/download?kind={kind}&format={format}&{period}"),
                )
                .await;
                assert_eq!(status, 200);
                let (status, want) = api(
                    &s,
                    token,
                    &format!("/v1/reports/{kind}?format={format}&{period}"),
                )
                .await;
                assert_eq!(status, 200);
                let (got, want) = (
                    String::from_utf8(got).unwrap(),
                    String::from_utf8(want).unwrap(),
                );
                let at = got
                    .chars()
                    .zip(want.chars())
                    .take_while(|(a, b)| a == b)
                    .count();
                assert_eq!(
                    got,
                    want,
                    "{kind} {format} {who}: from char {at}: {:?} vs {:?}",
                    got.chars().skip(at).take(200).collect::<String>(),
                    want.chars().skip(at).take(200).collect::<String>()
                );
            }
        }
    }
    // A trader's report is its own: T-2's rejection is in compliance's, not alice's.
    let (_, _, mine) = download(
        &alice,
        &s,
        "/reports/download?kind=compliance&format=json&date=2026-11-21",
    )
    .await;
    let (_, _, all) = download(
        &cco,
        &s,
        "/reports/download?kind=compliance&format=json&date=2026-11-21",
    )
    .await;
    assert_ne!(mine, all);
    assert!(!String::from_utf8_lossy(&mine).contains("T-2"));
    let (status, _) = page(&alice, &s, "/reports?kind=daily&date=2026-11-21&trader=T-2").await;
    assert_eq!(status, 403);
    let (status, _, _) = download(
        &alice,
        &s,
        "/reports/download?kind=daily&format=csv&trader=T-2",
    )
    .await;
    assert_eq!(status, 403);
    // Bad input names the field; nothing is exported.
    let (status, html) = page(&cco, &s, "/reports?kind=weekly").await;
    assert_eq!(status, 400, "{html}");
    let (status, _, _) = download(&cco, &s, "/reports/download?kind=daily&format=pdf").await;
    assert_eq!(status, 400);
    // Every download was recorded as user.exported (6 kinds × 4 files × 2 people + 2).
    let (_, body) = api(
        &s,
        &s.compliance,
        "/v1/events?type=user.exported&limit=1000",
    )
    .await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    let exported = v["records"].as_array().unwrap();
    assert_eq!(exported.len(), 6 * 4 * 2 + 2, "{v}");
    let first = &exported[0];
    assert_eq!(first["data"]["what"], "report");
    assert_eq!(first["data"]["kind"], "daily");
    assert_eq!(first["data"]["format"], "csv");
    assert_eq!(first["data"]["parameters"], "date=2026-11-21");
    assert_eq!(first["trader_id"], "T-1");
    s.shutdown().await;
}

#[tokio::test]
async fn dashboard_draws_the_funnel_rejections_and_reconciliation_within_scope() {
    let s = start().await;
    journal(&s).await;
    let alice = sign_in(&s, &s.alice).await;
    let (status, html) = page(&alice, &s, "/dashboard").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("data-src=\"/dashboard/funnel\""));
    assert!(!html.contains("reviews open"), "reviews are compliance's");
    // Positions and P&L, after first paint: hers is one open position of 10 bought at
    // 190.25; bob has no fills.
    assert!(html.contains("data-src=\"/dashboard/positions\""));
    let (status, pos) = page(&alice, &s, "/dashboard/positions").await;
    assert_eq!(status, 200, "{pos}");
    assert_eq!(pos.matches("<tr data-quantity=").count(), 1, "{pos}");
    assert!(
        pos.contains("<tr data-quantity=\"10\"><td>U-T-1</td><td>AAPL.XNAS</td>"),
        "{pos}"
    );
    assert!(pos.contains(">190.25<"), "{pos}");
    assert!(!pos.contains("style="));
    let bob = sign_in(&s, &s.bob).await;
    let (_, pos) = page(&bob, &s, "/dashboard/positions").await;
    assert!(pos.contains("id=\"no-positions\""), "{pos}");
    // Records over time: every one of hers counted once, in a bar of its day.
    assert_eq!(
        marks(&html, "over-time"),
        attr(&html, "data-total"),
        "{html}"
    );
    assert!(html.contains("Records per day"), "{html}");
    assert!(!html.contains("style="));
    let (status, html) = page(&alice, &s, "/dashboard/funnel").await;
    assert_eq!(status, 200, "{html}");
    // Funnel of T-1: 1 signal, 1 recommendation, 1 risk evaluated, 0 approvals, 3 orders, 1 fill.
    assert_eq!(marks(&html, "funnel"), 1 + 1 + 1 + 3 + 1, "{html}");
    assert!(html.contains("order rejected: price band"), "{html}");
    assert_eq!(marks(&html, "rejections"), 1);
    assert!(!html.contains("bob-only"));
    assert!(!html.contains("reviews open"), "reviews are compliance's");
    assert!(!html.contains("style="));
    // Two reviews requested, one resolved through the console: one open.
    let reviews = (1..=2)
        .map(|i| format!(r#"{{"type":"review.requested","ts_event":"2026-11-25T09:00:00Z","source":"review_desk","actor":"system","entity":{{"kind":"review","id":"REV-{i}"}},"data":{{"category":"trade","field":"price","detail":"d"}}}}"#))
        .collect::<Vec<_>>()
        .join("\n");
    let r = s.post_events(&s.writer, reviews).await;
    assert_eq!(r.status(), 200);
    let cco = sign_in(&s, &s.compliance).await;
    let (_, html) = page(&cco, &s, "/reviews").await;
    let csrf = {
        let i = html.find("name=\"csrf-token\" content=\"").unwrap() + 27;
        html[i..i + 64].to_string()
    };
    let r = post_form(
        &cco,
        &s,
        "/reviews/resolve",
        &format!("csrf={csrf}&id=REV-1&note=ok"),
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, html) = page(&cco, &s, "/dashboard/funnel").await;
    assert_eq!(marks(&html, "funnel"), 1 + 1 + 1 + 4 + 1);
    assert!(html.contains("order rejected: bob-only reason"));
    assert_eq!(marks(&html, "rejections"), 2);
    let (_, html) = page(&cco, &s, "/dashboard").await;
    // runs 0, corrected 0, sent to review 2, open 1.
    assert_eq!(marks(&html, "reconciliation"), 3, "{html}");
    assert_eq!(marks(&html, "over-time"), attr(&html, "data-total"));
    assert!(
        html.contains("data-count=\"1\"><title>reviews open: 1</title>"),
        "{html}"
    );
    assert!(html.contains("reviews open"));
    s.shutdown().await;
}

async fn post_form(cookie: &str, s: &TestServer, path: &str, form: &str) -> reqwest::Response {
    client()
        .post(s.url(path))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_time_zone_preference_shows_times_in_that_zone_for_that_session_only() {
    let s = start().await;
    journal(&s).await;
    let cco = sign_in(&s, &s.compliance).await;
    let alice = sign_in(&s, &s.alice).await;
    let (_, html) = page(&cco, &s, "/search?type=order.submitted").await;
    assert!(html.contains("2026-11-21 14:30:00 UTC<"), "{html}");
    let csrf = {
        let i = html.find("name=\"csrf-token\" content=\"").unwrap() + 27;
        html[i..i + 64].to_string()
    };
    // Without the CSRF token: refused, nothing changes.
    let r = post_form(&cco, &s, "/prefs", "tz=%2B01:00").await;
    assert_eq!(r.status(), 403);
    let (_, html) = page(&cco, &s, "/search?type=order.submitted").await;
    assert!(html.contains("14:30:00 UTC<"));
    // A bad zone names the field.
    let r = post_form(&cco, &s, "/prefs", &format!("csrf={csrf}&tz=Mars/Base")).await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("tz: &quot;Mars/Base&quot;"));
    // UTC+01:00, back to the page it was set on (never to another site).
    let back = "/incident?at=2026-11-21T14:30:30Z";
    let r = post_form(
        &cco,
        &s,
        "/prefs",
        &format!("csrf={csrf}&tz=%2B01:00&back={}", back.replace('&', "%26")),
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], back);
    let (_, html) = page(&cco, &s, "/search?type=order.submitted").await;
    assert!(html.contains("2026-11-21 15:30:00 UTC+01:00<"), "{html}");
    assert!(!html.contains("14:30:00 UTC"));
    assert!(html.contains("<meta name=\"tz\" content=\"+01:00\">"));
    let (_, html) = page(&cco, &s, back).await;
    assert!(html.contains("2026-11-21 15:30:30 UTC+01:00"), "{html}");
    let r = post_form(
        &cco,
        &s,
        "/prefs",
        &format!("csrf={csrf}&tz=-05:30&back=//evil.example/"),
    )
    .await;
    assert_eq!(r.headers()["location"], "/search");
    let (_, html) = page(&cco, &s, "/search?type=order.submitted").await;
    assert!(html.contains("2026-11-21 09:00:00 UTC-05:30<"), "{html}");
    // A named zone follows daylight saving time: New York is UTC-5 in November and
    // UTC-4 in June.
    let june = ev(
        "order.submitted",
        "2026-06-15T14:30:00Z",
        "T-1",
        "order",
        "O-J",
        r#"{"side":"buy","quantity":"1","order_type":"market"}"#,
    );
    assert_eq!(s.post_events(&s.writer, june).await.status(), 200);
    let r = post_form(
        &cco,
        &s,
        "/prefs",
        &format!("csrf={csrf}&tz=America/New_York"),
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, html) = page(&cco, &s, "/search?type=order.submitted").await;
    assert!(
        html.contains("2026-11-21 09:30:00 America/New_York (-05:00)<"),
        "{html}"
    );
    assert!(
        html.contains("2026-06-15 10:30:00 America/New_York (-04:00)<"),
        "{html}"
    );
    assert!(html.contains("<meta name=\"tz\" content=\"America/New_York\">"));
    assert!(html.contains("<option value=\"America/New_York\" selected>"));
    // Another session keeps its own.
    let (_, html) = page(&alice, &s, "/search?type=order.submitted").await;
    assert!(html.contains("2026-11-21 14:30:00 UTC<"));
    s.shutdown().await;
}

/// Posts the sign-in form with `token`; the answer.
async fn try_sign_in(s: &TestServer, token: &str) -> reqwest::Response {
    let c = client();
    let page = c.get(s.url("/login")).send().await.unwrap();
    let nonce = set_cookie(&page, "tt_login");
    c.post(s.url("/login"))
        .header("cookie", format!("tt_login={nonce}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("login_csrf={nonce}&token={token}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_lock_the_address_out_and_are_recorded_once() {
    let s = common::start_with(tradetrail_server::ServerOptions {
        checkpoint_interval: None,
        console: tradetrail_server::ConsoleOptions {
            sign_in_failures: 3,
            sign_in_window: std::time::Duration::from_secs(600),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    // A success forgets earlier failures.
    assert_eq!(try_sign_in(&s, "tt_guess0").await.status(), 401);
    assert_eq!(try_sign_in(&s, "tt_guess1").await.status(), 401);
    sign_in(&s, &s.compliance).await;
    for i in 0..3 {
        let r = try_sign_in(&s, &format!("tt_wrong{i}")).await;
        assert_eq!(r.status(), 401, "attempt {i}");
        let body = r.text().await.unwrap();
        assert_eq!(body.contains("Too many failed sign-ins"), i == 2, "{body}");
    }
    // Now even the right token waits: 429 with Retry-After, and nothing recorded.
    let before = s.rec.journal().status().unwrap().records;
    let r = try_sign_in(&s, &s.compliance).await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 600, "{wait}");
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("try again in 10 minute(s)"));
    assert_eq!(
        s.rec.journal().status().unwrap().records,
        before,
        "a refused try appends nothing"
    );
    // Five failures recorded, the last one saying the address is now refused.
    let failed: Vec<String> = (0..s.rec.journal().status().unwrap().records)
        .filter_map(|seq| {
            let v: Value = serde_json::from_slice(&s.rec.journal().read_line(seq).ok()?).ok()?;
            (v["type"] == "user.sign_in_failed")
                .then(|| v["data"]["reason"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        failed,
        [
            "unknown token",
            "unknown token",
            "unknown token",
            "unknown token",
            "unknown token; address refused"
        ]
    );
}

/// Free text in `data`: the API and the console's search find what a reason says,
/// within the caller's scope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_text_search_in_data_through_the_api_and_the_console() {
    let s = start().await;
    journal(&s).await;
    let seqs = |body: &[u8]| -> Vec<u64> {
        let v: Value = serde_json::from_slice(body).unwrap();
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["seq"].as_u64().unwrap())
            .collect()
    };
    // "REASON" (any case) is in both rejections; compliance sees both, alice only hers.
    let (status, body) = api(&s, &s.compliance, "/v1/events?text=REASON").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let all = seqs(&body);
    assert_eq!(all.len(), 2, "{}", String::from_utf8_lossy(&body));
    let (_, body) = api(&s, &s.alice, "/v1/events?text=reason").await;
    let mine = seqs(&body);
    assert_eq!(mine.len(), 1);
    let (_, body) = api(&s, &s.compliance, "/v1/events?text=price%20BAND").await;
    assert_eq!(seqs(&body), mine);
    let cookie = sign_in(&s, &s.alice).await;
    let (status, html) = page(&cookie, &s, "/search?text=Reason").await;
    assert_eq!(status, 200);
    assert_eq!(rows(&html), mine, "{html}");
    assert!(
        html.contains("name=\"text\""),
        "the search form has the field"
    );
    let (status, body) = api(&s, &s.compliance, "/v1/events?text=").await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
}

/// The search's export bundle: a ZIP of the session's own matches, every proof
/// verifying offline against the bundle's checkpoint and key, recorded as an export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_exports_as_a_verifiable_bundle_within_scope() {
    use std::io::Read as _;
    let s = start().await;
    journal(&s).await;
    let cookie = sign_in(&s, &s.alice).await;
    let (status, html) = page(&cookie, &s, "/search?type=order.*").await;
    assert_eq!(status, 200);
    let mine = rows(&html);
    assert!(html.contains("id=\"export\""), "{html}");
    assert!(html.contains("href=\"/export?type=order.*\""), "{html}");
    let (status, headers, bytes) = download(&cookie, &s, "/export?type=order.*").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert!(
        headers.starts_with("attachment; filename=\"tradetrail-export-")
            && headers.ends_with(".zip\""),
        "{headers}"
    );
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut file = |name: &str| {
        let mut f = z.by_name(&format!("tradetrail-export/{name}")).unwrap();
        let mut v = Vec::new();
        f.read_to_end(&mut v).unwrap();
        v
    };
    let manifest: Value = serde_json::from_slice(&file("bundle.json")).unwrap();
    let seqs: Vec<u64> = manifest["seqs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(seqs, mine, "alice's orders only");
    let note = String::from_utf8(file("checkpoint.txt")).unwrap();
    let vkey = String::from_utf8(file("verifier.vkey")).unwrap();
    for seq in &seqs {
        let line = file(&format!("records/{seq}.jsonl"));
        let v: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["trader_id"], "T-1");
        let proof = file(&format!("proofs/{seq}.json"));
        tradetrail_core::checkpoints::verify_offline(&note, &vkey, &line, &proof).unwrap();
    }
    // Recorded, with what was asked.
    let n = s.rec.journal().status().unwrap().records;
    let last_export = (0..n)
        .rev()
        .filter_map(|seq| {
            serde_json::from_slice::<Value>(&s.rec.journal().read_line(seq).ok()?).ok()
        })
        .find(|v| v["type"] == "user.exported")
        .expect("a user.exported record");
    assert_eq!(last_export["data"]["what"], "bundle");
    assert_eq!(last_export["data"]["records"], seqs.len());
    assert_eq!(last_export["data"]["parameters"], "type=order.*");
    // Nothing matching: 400, nothing downloaded.
    let (status, _, _) = download(&cookie, &s, "/export?type=nope.*").await;
    assert_eq!(status, 400);
    // The integrity page offers the same export for any filter.
    let (status, html) = page(&cookie, &s, "/integrity").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<form method=\"get\" action=\"/export\"") && html.contains("name=\"type\""),
        "{html}"
    );
}
