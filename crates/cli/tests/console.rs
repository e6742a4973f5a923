//! The compliance console in a real browser: headless Chromium (Debian's `chromium`
//! and `chromium-driver`), driven over WebDriver, against a real `tradetrail serve`.
//!
//! The packages are installed when missing (we run as root, as CI does); a machine
//! where that fails makes the test fail saying how to install them — never skip.
//! `TRADETRAIL_SCREENSHOTS=1` also writes each page's screenshot to docs/console/.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, start_server_with, Scratch};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// A child process killed when dropped (chromedriver, the server).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver and chromium, installed from Debian's packages when missing.
fn ensure_chromium() {
    let have = |bin: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {bin}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if have("chromedriver") && have("chromium") {
        return;
    }
    let _ = Command::new("sh")
        .args([
            "-c",
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver",
        ])
        .status();
    assert!(
        have("chromedriver") && have("chromium"),
        "the console's browser tests need Debian's chromium and chromium-driver: \
         apt-get install -y chromium chromium-driver"
    );
}

/// chromedriver in its own process group, which holds the browsers it starts: dropped,
/// the whole group is killed, so a failing test leaves no browser behind.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}

/// chromedriver on a free port, up and answering.
fn start_chromedriver() -> (Driver, u16) {
    use std::os::unix::process::CommandExt;
    ensure_chromium();
    let port = free_port();
    let child = Driver(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("spawn chromedriver"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

/// A headless Chromium session with a fresh profile; the profile is removed with `dir`.
async fn browser(driver_port: u16, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a WebDriver session with headless Chromium")
}

/// One HTTP/1.1 request with extra headers; the status, the head and the body.
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).ok()?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, head.to_ascii_lowercase(), rest.to_string()))
}

/// The value of `Set-Cookie: NAME=value` in a lowercased head.
fn set_cookie(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap_or("").to_string())
}

/// Signs in over plain HTTP (as a browser's form post would); the session cookie and
/// the page's CSRF token.
fn sign_in_http(port: u16, token: &str) -> (String, String) {
    let (_, head, body) = http(port, "GET", "/login", &[], "").unwrap();
    let nonce = set_cookie(&head, "tt_login").unwrap();
    assert!(body.contains(&nonce));
    let form = format!("login_csrf={nonce}&token={}", token.replace('+', "%2B"));
    let (status, head, _) = http(
        port,
        "POST",
        "/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &format!("tt_login={nonce}")),
        ],
        &form,
    )
    .unwrap();
    assert_eq!(status, 303, "{head}");
    let session = set_cookie(&head, "tt_session").unwrap();
    let cookie = format!("tt_session={session}");
    let (status, _, page) = http(port, "GET", "/search", &[("Cookie", &cookie)], "").unwrap();
    assert_eq!(status, 200);
    let csrf = page
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    (cookie, csrf)
}

fn token(s: &Scratch, role: &str, name: &str, trader: Option<&str>) -> String {
    let mut args = vec!["create", "--role", role, "--name", name];
    if let Some(t) = trader {
        args.extend(["--trader", t]);
    }
    s.on_data("token", &args)
        .expect(0)
        .stdout
        .trim()
        .to_string()
}

/// Where screenshots go: docs/console/ with `TRADETRAIL_SCREENSHOTS=1`, else `tmp`.
fn shots_dir(tmp: &Path) -> PathBuf {
    if std::env::var_os("TRADETRAIL_SCREENSHOTS").is_some() {
        let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/console");
        std::fs::create_dir_all(&d).unwrap();
        d
    } else {
        tmp.to_path_buf()
    }
}

async fn shot(c: &Client, dir: &Path, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert_eq!(&png[..4], b"\x89PNG", "{name}: a PNG screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Clicks what `loc` finds and waits (up to 30 s) until the page it leads to has loaded.
async fn click_to_page(c: &Client, loc: Locator<'_>) {
    c.execute("window.__ttOld = true;", vec![]).await.unwrap();
    c.find(loc).await.unwrap().click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done = c
            .execute(
                "return window.__ttOld === undefined && document.readyState === 'complete';",
                vec![],
            )
            .await
            .map(|v| v == Value::Bool(true))
            .unwrap_or(false);
        if done {
            return;
        }
        assert!(Instant::now() < deadline, "no new page after the click");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// Waits (up to 30 s) until `css` matches something.
async fn wait_for(c: &Client, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while c.find_all(Locator::Css(css)).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "{css} did not appear");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn path_of(c: &Client) -> String {
    let u = c.current_url().await.unwrap();
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    }
}

async fn sign_in(c: &Client, port: u16, token: &str) {
    c.goto(&format!("http://127.0.0.1:{port}/")).await.unwrap();
    assert!(
        path_of(c).await.starts_with("/login"),
        "/ sends a stranger to sign in"
    );
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    click_to_page(c, Locator::Id("sign-in")).await;
    assert_eq!(path_of(c).await, "/search", "signed in, on the search page");
}

async fn sign_out(c: &Client) {
    click_to_page(c, Locator::Css(".who button")).await;
    assert_eq!(path_of(c).await, "/login?signed_out=1");
}

/// Text of every element matching `css`.
async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap() {
        out.push(e.text().await.unwrap());
    }
    out
}

async fn attrs(c: &Client, css: &str, attr: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap() {
        out.push(e.attr(attr).await.unwrap().unwrap_or_default());
    }
    out
}

/// Navigation Timing of the page just loaded, in ms from navigation start: response
/// end, DOM content loaded, first contentful paint (waited for up to 2 s; headless
/// Chromium does not always report one). Printed, never asserted.
async fn paint(c: &Client, page: &str) {
    let script = "const n = performance.getEntriesByType('navigation')[0] || {};\
                  const p = performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint') || {};\
                  return [n.responseEnd || null, n.domContentLoadedEventEnd || null, p.startTime || null,\
                          document.querySelectorAll('tbody tr, ol li, svg rect').length];";
    let mut v = Value::Null;
    for _ in 0..40 {
        v = c.execute(script, vec![]).await.unwrap();
        if !v[2].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "timing {page}: response end {} ms, DOM content loaded {} ms, first contentful paint {} ms ({} rows)",
        v[0], v[1], v[2], v[3]
    );
}

fn jsonl(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn console_in_a_browser() {
    let s = Scratch::new();
    let d = s.data_arg();
    // A simulated day, a broker statement reconciled (two reviews, requested by
    // `system`), one review requested by carol herself, and a signed checkpoint.
    let st = s.path().join("st.csv").display().to_string();
    s.tt(&["demo", "--data", &d, "--events", "2000", "--statement", &st])
        .expect(0);
    s.on_data("reconcile", &["--statement", &st]).expect(0);
    let own = r#"{"type":"review.requested","ts_event":"2026-11-27T09:00:00Z","source":"review_desk","actor":"operator:carol","entity":{"kind":"review","id":"REV-carol-1"},"data":{"category":"trade","field":"price","detail":"raised by carol"}}"#;
    s.tt_stdin(&["append", "--data", &d], own.as_bytes())
        .expect(0);
    let cp_size = s.records().len() as u64;
    s.on_data("checkpoint", &[]).expect(0);
    let tom = token(&s, "trader", "tom", Some("T-01"));
    let carol = token(&s, "compliance", "carol", None);
    let gw = token(&s, "writer", "gw", None);
    // What the CLI answers, to hold the console to.
    let cli_count = jsonl(
        &s.on_data(
            "query",
            &["--type", "order.*", "--trader", "T-02", "--format", "jsonl"],
        )
        .expect(0)
        .stdout,
    )
    .len();
    let cli_json: Value = serde_json::from_str(
        &s.on_data(
            "query",
            &["--type", "order.*", "--trader", "T-02", "--json"],
        )
        .expect(0)
        .stdout,
    )
    .unwrap();
    assert_eq!(cli_json["records"].as_array().unwrap().len(), cli_count);
    assert!(cli_count > 100, "several pages of 50: {cli_count}");
    let fills = jsonl(
        &s.on_data("query", &["--type", "order.filled", "--format", "jsonl"])
            .expect(0)
            .stdout,
    );
    let order_of = |trader: &str| {
        fills
            .iter()
            .find(|r| r["trader_id"] == trader)
            .map(|r| r["entity"]["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let (own_order, other_order) = (order_of("T-01"), order_of("T-02"));
    let incident_at = fills[0]["ts_event"].as_i64().unwrap();
    let day = tradetrail_model::format_time(incident_at)[..10].to_string();
    let cli_incident: u64 = jsonl(
        &s.on_data(
            "incident",
            &[
                "--at",
                &incident_at.to_string(),
                "--window",
                "2m",
                "--counts",
                "--format",
                "jsonl",
            ],
        )
        .expect(0)
        .stdout,
    )
    .iter()
    .map(|g| g["count"].as_u64().unwrap())
    .sum();
    assert!(cli_incident > 0);
    let cli_funnel: Vec<u64> = jsonl(
        &s.on_data("stats", &["--conversion", "--format", "jsonl"])
            .expect(0)
            .stdout,
    )
    .iter()
    .filter(|st| st.get("outcome").is_none())
    .map(|st| st["count"].as_u64().unwrap())
    .collect();
    let cli_trail = jsonl(
        &s.on_data("trail", &[&other_order, "--format", "jsonl"])
            .expect(0)
            .stdout,
    );

    let port = free_port();
    let _server = Killed(start_server_with(&s, port, &[]));
    let (_driver, driver_port) = start_chromedriver();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(driver_port, profile.path()).await;
    let shots = shots_dir(s.path());
    let base = format!("http://127.0.0.1:{port}");

    // A trader sees only its own records, and not another trader's order trail.
    c.goto(&format!("{base}/login")).await.unwrap();
    shot(&c, &shots, "sign-in").await;
    sign_in(&c, port, &tom).await;
    let traders = texts(&c, "#results td.trader").await;
    assert!(!traders.is_empty());
    assert!(traders.iter().all(|t| t == "T-01"), "{traders:?}");
    assert_eq!(texts(&c, "#who").await, ["tom · trader T-01"]);
    c.goto(&format!("{base}/search?trader=T-02")).await.unwrap();
    let err = texts(&c, "#error").await.join(" ");
    assert!(err.contains("only trader T-01"), "{err}");
    c.goto(&format!("{base}/trail?id={other_order}"))
        .await
        .unwrap();
    let err = texts(&c, "#error").await.join(" ");
    assert!(
        err.contains("trader T-01"),
        "another trader's trail is refused: {err}"
    );
    assert!(texts(&c, "#timeline li").await.is_empty());
    c.goto(&format!("{base}/trail?id={own_order}"))
        .await
        .unwrap();
    assert!(
        !texts(&c, "#timeline li").await.is_empty(),
        "its own trail shows"
    );
    sign_out(&c).await;
    c.goto(&format!("{base}/search")).await.unwrap();
    assert!(
        path_of(&c).await.starts_with("/login"),
        "signed out means signed out"
    );

    // Compliance: search with filters, page to the end: every record once, as the CLI.
    sign_in(&c, port, &carol).await;
    c.find(Locator::Id("f-type"))
        .await
        .unwrap()
        .send_keys("order.*")
        .await
        .unwrap();
    c.find(Locator::Id("f-trader"))
        .await
        .unwrap()
        .send_keys("T-02")
        .await
        .unwrap();
    c.find(Locator::Id("f-limit"))
        .await
        .unwrap()
        .select_by_value("50")
        .await
        .unwrap();
    click_to_page(&c, Locator::Id("search")).await;
    paint(&c, "search").await;
    shot(&c, &shots, "search").await;
    let total: usize = attrs(&c, "#summary", "data-total").await[0]
        .parse()
        .unwrap();
    assert_eq!(total, cli_count, "the count shown is the CLI's");
    let mut seqs: Vec<u64> = Vec::new();
    let mut pages = 0;
    let first_page = attrs(&c, "#results tbody tr", "data-seq").await;
    loop {
        pages += 1;
        for sq in attrs(&c, "#results tbody tr", "data-seq").await {
            seqs.push(sq.parse().unwrap());
        }
        assert!(texts(&c, "#results td.trader")
            .await
            .iter()
            .all(|t| t == "T-02"));
        let next = c.find_all(Locator::Id("next")).await.unwrap();
        if next.is_empty() {
            break;
        }
        click_to_page(&c, Locator::Id("next")).await;
    }
    assert!(!texts(&c, "#end").await.is_empty(), "the last page says so");
    assert!(pages >= 3, "{pages} pages");
    assert_eq!(seqs.len(), cli_count, "paged to the end: every match");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "once each, in order");
    let cli_seqs: Vec<u64> = cli_json["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, cli_seqs);
    // Previous from the second page is the first page again.
    c.goto(&format!("{base}/search?type=order.*&trader=T-02&limit=50"))
        .await
        .unwrap();
    click_to_page(&c, Locator::Id("next")).await;
    click_to_page(&c, Locator::Id("prev")).await;
    assert_eq!(attrs(&c, "#results tbody tr", "data-seq").await, first_page);

    // A trail: its steps in order, the CLI's records.
    c.goto(&format!("{base}/trail?id={other_order}"))
        .await
        .unwrap();
    paint(&c, "trail").await;
    shot(&c, &shots, "trail").await;
    let steps: Vec<u64> = attrs(&c, "#timeline li", "data-seq")
        .await
        .iter()
        .map(|x| x.parse().unwrap())
        .collect();
    let cli_steps: Vec<u64> = cli_trail
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, cli_steps, "the trail's steps, in order");
    let types = attrs(&c, "#timeline li", "data-type").await;
    let at = |t: &str| types.iter().position(|x| x == t).unwrap();
    assert!(at("order.submitted") < at("order.filled"), "{types:?}");

    // A record, and its proof, which verify-proof accepts offline.
    let fill = cli_trail
        .iter()
        .find(|r| r["type"] == "order.filled")
        .unwrap()["seq"]
        .as_u64()
        .unwrap();
    click_to_page(
        &c,
        Locator::Css(&format!("#timeline li[data-seq='{fill}'] a.type")),
    )
    .await;
    assert_eq!(path_of(&c).await, format!("/record/{fill}"));
    shot(&c, &shots, "record").await;
    assert_eq!(texts(&c, "#seq").await, [fill.to_string()]);
    let line = s.lines()[fill as usize].clone();
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(line.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(texts(&c, "#hash").await, [hash]);
    let href = attrs(&c, "#download-proof", "href").await;
    assert!(href[0].ends_with(&format!("/record/{fill}/proof")));
    let proof = c
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch(arguments[0]).then(r => r.text()).then(done, e => done(String(e)));",
            vec![json!(format!("/record/{fill}/proof"))],
        )
        .await
        .unwrap();
    let proof_text = proof.as_str().unwrap().to_string();
    let bundle: Value = serde_json::from_str(&proof_text).unwrap();
    assert_eq!(bundle["seq"], fill);
    assert_eq!(bundle["size"], cp_size, "against the newest checkpoint");
    let p = |n: &str| s.path().join(n).display().to_string();
    std::fs::write(p("proof.json"), &proof_text).unwrap();
    std::fs::write(p("cp.txt"), bundle["checkpoint"].as_str().unwrap()).unwrap();
    std::fs::write(
        p("line.json"),
        format!("{}\n", bundle["record"].as_str().unwrap()),
    )
    .unwrap();
    let vkey = bundle["verifier_key"].as_str().unwrap();
    let ok = s
        .tt(&[
            "verify-proof",
            "--checkpoint",
            &p("cp.txt"),
            "--key",
            vkey,
            "--record",
            &p("line.json"),
            "--proof",
            &p("proof.json"),
        ])
        .expect(0);
    assert!(ok.stdout.starts_with("ok:"), "{}", ok.stdout);

    // Reviews: resolving one raised by someone else works; one's own is refused.
    c.goto(&format!("{base}/reviews")).await.unwrap();
    shot(&c, &shots, "reviews").await;
    let ids = attrs(&c, "#reviews tbody tr", "data-review").await;
    assert_eq!(ids.len(), 3, "{ids:?}");
    let theirs = ids.iter().find(|i| *i != "REV-carol-1").unwrap().clone();
    let row = format!("#reviews tr[data-review='{theirs}']");
    c.find(Locator::Css(&format!("{row} textarea")))
        .await
        .unwrap()
        .send_keys("booked the missing fill")
        .await
        .unwrap();
    click_to_page(&c, Locator::Css(&format!("{row} button"))).await;
    assert!(path_of(&c).await.starts_with("/reviews?resolved="));
    assert!(texts(&c, "#notice").await[0].contains(&theirs));
    assert_eq!(texts(&c, "#reviews tbody tr").await.len(), 2);
    let row = "#reviews tr[data-review='REV-carol-1']";
    c.find(Locator::Css(&format!("{row} textarea")))
        .await
        .unwrap()
        .send_keys("my own")
        .await
        .unwrap();
    click_to_page(&c, Locator::Css(&format!("{row} button"))).await;
    let err = texts(&c, "#error").await.join(" ");
    assert!(err.contains("four eyes"), "{err}");
    c.goto(&format!("{base}/reviews")).await.unwrap();
    assert_eq!(
        texts(&c, "#reviews tbody tr").await.len(),
        2,
        "nothing resolved"
    );

    // Integrity, dashboard, live tail.
    c.goto(&format!("{base}/integrity?verify=now"))
        .await
        .unwrap();
    shot(&c, &shots, "integrity").await;
    assert_eq!(attrs(&c, "#verdict", "data-ok").await, ["true"]);
    assert!(texts(&c, "#vkey").await[0].contains(vkey.split('+').next().unwrap()));
    c.goto(&format!("{base}/dashboard")).await.unwrap();
    paint(&c, "dashboard").await;
    let bars = c.find_all(Locator::Css("#by-type rect")).await.unwrap();
    assert!(bars.len() > 10, "a bar per type");
    // The funnel (fetched by the script into the dashboard): one bar per stage,
    // signals first, the CLI's figures.
    wait_for(&c, "#funnel-slot #funnel rect").await;
    shot(&c, &shots, "dashboard").await;
    let funnel: Vec<u64> = attrs(&c, "#funnel rect", "data-count")
        .await
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(
        funnel, cli_funnel,
        "the funnel of `tradetrail stats --conversion`"
    );
    assert!(!texts(&c, "#rejections text").await.is_empty());
    // Incident: the window around a fill, by source and type on a time axis; its
    // total is the CLI's.
    c.goto(&format!("{base}/incident?at={incident_at}&window=2m"))
        .await
        .unwrap();
    paint(&c, "incident").await;
    shot(&c, &shots, "incident").await;
    assert_eq!(
        attrs(&c, "#summary", "data-total").await,
        [cli_incident.to_string()]
    );
    let cells = c
        .find_all(Locator::Css("#incident-timeline rect.cell"))
        .await
        .unwrap();
    assert!(!cells.is_empty(), "marks on the time axis");
    // Reports: a report's tables in the page.
    c.goto(&format!("{base}/reports?kind=execution&date={day}"))
        .await
        .unwrap();
    paint(&c, "reports").await;
    shot(&c, &shots, "reports").await;
    assert!(!c
        .find_all(Locator::Css("table.report"))
        .await
        .unwrap()
        .is_empty());
    c.goto(&format!("{base}/live?type=order.submitted"))
        .await
        .unwrap();
    wait_for(&c, "#live tbody tr").await;
    let ev = r#"{"type":"order.submitted","ts_event":"2026-11-27T10:00:00Z","source":"oms","actor":"trader:T-09","trader_id":"T-09","instrument_id":"AAPL.XNAS","entity":{"kind":"order","id":"O-LIVE-1"},"data":{"side":"buy","quantity":"10","order_type":"market"}}"#;
    let (status, _, answer) = http(
        port,
        "POST",
        "/v1/events",
        &[
            ("Authorization", &format!("Bearer {gw}")),
            ("Content-Type", "application/json"),
        ],
        ev,
    )
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    let seq = serde_json::from_str::<Value>(&answer).unwrap()["receipts"][0]["seq"]
        .as_u64()
        .unwrap();
    wait_for(&c, &format!("#live tbody tr[data-seq='{seq}']")).await;
    shot(&c, &shots, "live").await;
    sign_out(&c).await;
    c.close().await.unwrap();

    // Every sign-in, sign-out and export is a user.* record; none holds a token.
    let lines = s.lines();
    for t in [&tom, &carol, &gw] {
        assert!(
            !lines.iter().any(|l| l.contains(t.as_str())),
            "a token was recorded"
        );
    }
    let users: Vec<Value> = s
        .records()
        .into_iter()
        .filter(|r| r["source"] == "console")
        .collect();
    let kinds: Vec<(&str, &str)> = users
        .iter()
        .map(|r| (r["type"].as_str().unwrap(), r["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("user.signed_in", "operator:tom"),
            ("user.signed_out", "operator:tom"),
            ("user.signed_in", "operator:carol"),
            ("user.exported", "operator:carol"),
            ("user.signed_out", "operator:carol"),
        ]
    );
    assert_eq!(users[0]["trader_id"], "T-01");
    assert_eq!(users[3]["data"]["record_seq"], fill);
}

#[tokio::test(flavor = "current_thread")]
async fn sessions_expire_csrf_is_required_and_headers_are_set() {
    let s = Scratch::new();
    s.init("test.local/console");
    let carol = token(&s, "compliance", "carol", None);
    let gw = token(&s, "writer", "gw", None);
    let port = free_port();
    let _server = Killed(start_server_with(
        &s,
        port,
        &["--session-idle-seconds", "2"],
    ));

    // Security headers on pages, redirects and assets.
    for path in [
        "/",
        "/login",
        "/search",
        "/assets/console.js",
        "/assets/console.css",
    ] {
        let (_, head, _) = http(port, "GET", path, &[], "").unwrap();
        for h in [
            "content-security-policy: default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            "x-content-type-options: nosniff",
            "referrer-policy: no-referrer",
            "x-frame-options: deny",
        ] {
            assert!(head.contains(h), "{path}: {h}\n{head}");
        }
    }
    // The API keeps answering JSON.
    let (status, _, body) = http(port, "GET", "/v1/events", &[], "").unwrap();
    assert_eq!(status, 401);
    assert!(body.starts_with('{'), "{body}");

    // Sign-in: a stranger's form (no matching sign-in CSRF token) is refused.
    let (status, _, _) = http(
        port,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!("token={carol}&login_csrf=forged"),
    )
    .unwrap();
    assert_eq!(status, 403);
    // The session cookie's attributes.
    let (_, head, _) = http(port, "GET", "/login", &[], "").unwrap();
    let nonce = set_cookie(&head, "tt_login").unwrap();
    let (status, head, _) = http(
        port,
        "POST",
        "/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &format!("tt_login={nonce}")),
        ],
        &format!("login_csrf={nonce}&token={carol}"),
    )
    .unwrap();
    assert_eq!(status, 303);
    let cookie_line = head
        .lines()
        .find(|l| l.starts_with("set-cookie: tt_session="))
        .unwrap()
        .to_string();
    let id = set_cookie(&head, "tt_session").unwrap();
    assert_eq!(id.len(), 64, "256 random bits");
    for a in ["httponly", "samesite=strict", "path=/"] {
        assert!(cookie_line.contains(a), "{cookie_line}");
    }
    assert!(
        !cookie_line.contains("secure"),
        "not behind TLS: {cookie_line}"
    );
    // A writer token gets no console; an unknown token is refused.
    for (tok, want, says) in [
        (gw.as_str(), 403, "writer token"),
        ("tt_0000", 401, "not known"),
    ] {
        let (_, head, _) = http(port, "GET", "/login", &[], "").unwrap();
        let nonce = set_cookie(&head, "tt_login").unwrap();
        let (status, _, page) = http(
            port,
            "POST",
            "/login",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", &format!("tt_login={nonce}")),
            ],
            &format!("login_csrf={nonce}&token={tok}"),
        )
        .unwrap();
        assert_eq!(status, want, "{page}");
        assert!(page.contains(says), "{page}");
    }

    // CSRF: a state-changing request without the session's token is refused (403)
    // and changes nothing; with it, it goes through.
    let (cookie, csrf) = sign_in_http(port, &carol);
    let before = s.lines().len();
    for (path, body) in [
        ("/logout", String::new()),
        ("/reviews/resolve", "id=REV-x&note=n".to_string()),
        ("/logout", "csrf=0000".to_string()),
    ] {
        let (status, _, page) = http(
            port,
            "POST",
            path,
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", &cookie),
            ],
            &body,
        )
        .unwrap();
        assert_eq!(status, 403, "{path}: {page}");
        assert!(page.contains("CSRF"), "{page}");
    }
    assert_eq!(s.lines().len(), before, "nothing was recorded");
    let (status, _, _) = http(port, "GET", "/search", &[("Cookie", &cookie)], "").unwrap();
    assert_eq!(status, 200, "the session still stands");
    // A live tail is server-sent events, and ends with its session.
    let tail = {
        let cookie = cookie.clone();
        std::thread::spawn(move || http(port, "GET", "/live/stream", &[("Cookie", &cookie)], ""))
    };
    std::thread::sleep(Duration::from_millis(300));
    let (status, head, _) = http(
        port,
        "POST",
        "/logout",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &cookie),
        ],
        &format!("csrf={csrf}"),
    )
    .unwrap();
    assert_eq!(status, 303, "{head}");
    let (status, head, events) = tail
        .join()
        .unwrap()
        .expect("the stream ended with the session");
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    assert!(events.contains("data: {\"seq\":0,"), "{events}");
    let (status, head, _) = http(port, "GET", "/search", &[("Cookie", &cookie)], "").unwrap();
    assert_eq!(status, 303);
    assert!(head.contains("location: /login"), "{head}");

    // In the browser: an idle session expires and the next page is the sign-in.
    let (_driver, driver_port) = start_chromedriver();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(driver_port, profile.path()).await;
    sign_in(&c, port, &carol).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    c.goto(&format!("http://127.0.0.1:{port}/search"))
        .await
        .unwrap();
    assert_eq!(path_of(&c).await, "/login?ended=expired");
    let notice = texts(&c, "#notice").await.join(" ");
    assert!(notice.contains("expired"), "{notice}");
    c.close().await.unwrap();
}

/// First paint of search, trail and dashboard on a large journal (`TRADETRAIL_CONSOLE_SCALE`
/// records, e.g. 1000000): printed, never asserted. Off by default (the journal takes a
/// while to record).
#[tokio::test(flavor = "current_thread")]
async fn first_paint_at_scale() {
    let Some(n) = std::env::var("TRADETRAIL_CONSOLE_SCALE")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        println!("set TRADETRAIL_CONSOLE_SCALE=1000000 to measure first paint on a large journal");
        return;
    };
    let s = Scratch::new();
    let d = s.data_arg();
    let t0 = Instant::now();
    s.tt(&["demo", "--data", &d, "--events", &n.to_string()])
        .expect(0);
    println!("recorded {n} events in {:.1} s", t0.elapsed().as_secs_f64());
    let carol = token(&s, "compliance", "carol", None);
    let order = jsonl(
        &s.on_data(
            "query",
            &[
                "--type",
                "order.filled",
                "--limit",
                "1",
                "--reverse",
                "--format",
                "jsonl",
            ],
        )
        .expect(0)
        .stdout,
    )[0]
    .clone();
    let order_at = order["ts_event"].as_i64().unwrap();
    let order = order["entity"]["id"].as_str().unwrap().to_string();
    let port = free_port();
    let _server = Killed(start_server_with(&s, port, &[]));
    // The query index is built on the first query: not part of a page's paint.
    let t0 = Instant::now();
    let (cookie, _) = sign_in_http(port, &carol);
    println!(
        "first query (opens the index) {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    drop(cookie);
    let (_driver, driver_port) = start_chromedriver();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(driver_port, profile.path()).await;
    sign_in(&c, port, &carol).await;
    let base = format!("http://127.0.0.1:{port}");
    for (name, path) in [
        ("search (everything)", "/search".to_string()),
        (
            "search (order.filled, T-02)",
            "/search?type=order.filled&trader=T-02".to_string(),
        ),
        ("trail", format!("/trail?id={order}")),
        ("dashboard", "/dashboard".to_string()),
        ("dashboard funnel", "/dashboard/funnel".to_string()),
        ("dashboard positions", "/dashboard/positions".to_string()),
        ("incident", format!("/incident?at={order_at}&window=5m")),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        paint(&c, &format!("{name} at {n} records")).await;
    }
    c.close().await.unwrap();
}
