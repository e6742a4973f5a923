//! `tradetrail bench http`: ingest over loopback HTTP, beside the library's own append
//! measured in the same run.
//!
//! A scratch data directory gets a real server on `127.0.0.1:0` and a writer token.
//! Clients are tasks on the same runtime, each with a kept-alive connection, posting
//! batches of events with unique `event_id`s and timing request to response (the
//! response comes only once every event in it is acknowledged). Durability follows the
//! type, as in production: `order.filled` is fsync'd under the default policy, a
//! `system.*` event is acknowledged when written to the OS.
//!
//! Afterwards every receipt is checked against the journal: the line at the receipt's
//! `seq` must hash to the receipt's hash, and the journal must verify. A figure whose
//! events are not all there is not printed as a figure.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_journal::{Durability, FsStorage};
use tradetrail_model::Event;

use tradetrail_server::{create_token, serve, AppState, Role, ServerOptions};

use crate::journal::{percentiles, sample_fill};

/// What to measure.
#[derive(Debug, Clone)]
pub struct HttpBenchOptions {
    /// Seconds for each run.
    pub seconds: f64,
    /// Concurrent clients (each its own connection).
    pub clients: Vec<usize>,
    /// Events per request.
    pub batches: Vec<usize>,
    /// Durabilities to measure.
    pub durabilities: Vec<Durability>,
    /// Bytes per record line, about.
    pub record_size: usize,
    /// Where the scratch data directory goes (removed afterwards).
    pub dir: PathBuf,
}

/// One printed figure.
#[derive(Debug, Clone, Serialize)]
pub struct HttpBenchLine {
    /// `library` or `http`.
    pub group: String,
    /// What ran: durability, clients or threads, batch size.
    pub what: String,
    /// Events acknowledged.
    pub events: u64,
    /// Events acknowledged per second.
    pub per_second: f64,
    /// Request (or library call) latency percentiles, microseconds.
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
    pub p999_us: Option<f64>,
    /// HTTP throughput as a fraction of the library's at the same durability and batch.
    pub of_library: Option<f64>,
}

/// Why a run could not be measured.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpBenchError(String);

fn fail(what: impl std::fmt::Display) -> HttpBenchError {
    HttpBenchError(what.to_string())
}

/// The `event_id` placeholder that each request replaces with a fresh one.
const ID_TEMPLATE: &str = "00000000-0000-4000-8000-000000000000";

/// One event's JSON with a placeholder `event_id`, padded to about `record_size`
/// bytes once the journal's header is added.
fn template(durability: Durability, record_size: usize) -> String {
    let id = uuid::Uuid::parse_str(ID_TEMPLATE).expect("uuid");
    let base = |pad: usize| {
        let e = match durability {
            Durability::Fsync => sample_fill(),
            Durability::Os => Event::new(
                "system.heartbeat",
                1_795_700_000_123_456_789,
                "broker_gateway",
                "system",
            )
            .with_data("session", "FIX.4.4:GW1->XNAS"),
        };
        let e = e.with_event_id(id);
        if pad > 0 {
            e.with_data("venue", "X".repeat(pad))
        } else {
            e
        }
    };
    let len = base(0).to_body().len() + 125;
    let pad = record_size.saturating_sub(len + 10);
    String::from_utf8(base(pad).to_body()).expect("JSON is UTF-8")
}

/// A request body of `n` events with ids `first..first+n`.
fn batch_body(template: &str, first: u128, n: usize) -> String {
    let (head, tail) = template
        .split_once(ID_TEMPLATE)
        .expect("the template holds the placeholder");
    let mut body = String::with_capacity((template.len() + 1) * n);
    for i in 0..n as u128 {
        body.push_str(head);
        body.push_str(&uuid::Uuid::from_u128(first + i).to_string());
        body.push_str(tail);
        body.push('\n');
    }
    body
}

fn durability_name(d: Durability) -> &'static str {
    match d {
        Durability::Os => "os",
        Durability::Fsync => "fsync",
    }
}

/// Ids are unique across the whole bench: a run's ids start at its own base.
struct Ids(u128);

impl Ids {
    /// A fresh base; each client or thread adds its own offset below it.
    fn next_base(&mut self) -> u128 {
        self.0 += 1;
        self.0 << 64
    }
}

/// The library's own `record_batch` from `threads` threads for `seconds`.
fn library_run(
    rec: &Recorder,
    template: &str,
    ids: &mut Ids,
    threads: usize,
    batch: usize,
    seconds: f64,
) -> Result<(u64, f64, Vec<u64>), HttpBenchError> {
    let base = ids.next_base();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let results: Vec<Result<(u64, Vec<u64>), HttpBenchError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let rec = rec.clone();
                s.spawn(move || {
                    let mut next = base + ((t as u128) << 40);
                    let mut events = 0u64;
                    let mut lat = Vec::new();
                    while Instant::now() < deadline {
                        let body = batch_body(template, next, batch);
                        next += batch as u128;
                        let t0 = Instant::now();
                        let mut entries = Vec::with_capacity(batch);
                        for line in body.lines() {
                            let ev = Event::from_json(line.as_bytes())
                                .map_err(|e| fail(format!("bench event invalid: {e:?}")))?;
                            entries.push(rec.prepare(&ev, None));
                        }
                        rec.record_batch(entries).map_err(fail)?;
                        lat.push(t0.elapsed().as_nanos() as u64);
                        events += batch as u64;
                    }
                    Ok((events, lat))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .collect()
    });
    let secs = start.elapsed().as_secs_f64();
    let mut events = 0;
    let mut lat = Vec::new();
    for r in results {
        let (e, l) = r?;
        events += e;
        lat.extend(l);
    }
    Ok((events, secs, lat))
}

/// The answer to `POST /v1/events`, as far as the bench reads it.
#[derive(Deserialize)]
struct Answer {
    receipts: Vec<AnswerReceipt>,
}

#[derive(Deserialize)]
struct AnswerReceipt {
    seq: u64,
    hash: String,
}

/// Receipts (seq, hash hex) the server returned.
type Receipts = Vec<(u64, String)>;

/// Where the HTTP runs post, and as whom.
struct Target {
    client: reqwest::Client,
    url: String,
    token: String,
}

async fn http_run(
    target: &Target,
    template: &str,
    base: u128,
    clients: usize,
    batch: usize,
    seconds: f64,
) -> Result<(u64, f64, Vec<u64>, Receipts), HttpBenchError> {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let client = target.client.clone();
        let url = target.url.clone();
        let auth = format!("Bearer {}", target.token);
        let template = template.to_string();
        tasks.push(tokio::spawn(async move {
            let mut next = base + ((c as u128) << 40);
            let mut lat = Vec::new();
            let mut receipts = Vec::new();
            while Instant::now() < deadline {
                let body = batch_body(&template, next, batch);
                next += batch as u128;
                let t0 = Instant::now();
                let resp = client
                    .post(&url)
                    .header("authorization", &auth)
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| fail(format!("POST {url}: {e}")))?;
                let status = resp.status();
                let bytes = resp
                    .bytes()
                    .await
                    .map_err(|e| fail(format!("reading the answer of POST {url}: {e}")))?;
                let took = t0.elapsed().as_nanos() as u64;
                if !status.is_success() {
                    return Err(fail(format!(
                        "POST {url} answered {status}: {}",
                        String::from_utf8_lossy(&bytes)
                    )));
                }
                // What a client reads of the answer: each receipt's seq and hash.
                let answer: Answer = serde_json::from_slice(&bytes)
                    .map_err(|e| fail(format!("the answer is not a list of receipts: {e}")))?;
                if answer.receipts.len() != batch {
                    return Err(fail(format!(
                        "{} receipts for {batch} events",
                        answer.receipts.len()
                    )));
                }
                receipts.extend(answer.receipts.into_iter().map(|r| (r.seq, r.hash)));
                lat.push(took);
            }
            Ok::<_, HttpBenchError>((lat, receipts))
        }));
    }
    let mut lat = Vec::new();
    let mut receipts = Vec::new();
    for t in tasks {
        let (l, r) = t.await.map_err(|e| fail(format!("client task: {e}")))??;
        lat.extend(l);
        receipts.extend(r);
    }
    let secs = start.elapsed().as_secs_f64();
    Ok((receipts.len() as u64, secs, lat, receipts))
}

/// Every receipt's line is in the journal with the receipt's hash, and the journal
/// verifies. Returns the number of receipts checked.
fn check_receipts(rec: &Recorder, receipts: &[(u64, String)]) -> Result<u64, HttpBenchError> {
    let mut want: HashMap<u64, &str> = HashMap::with_capacity(receipts.len());
    for (seq, hash) in receipts {
        if want.insert(*seq, hash.as_str()).is_some() {
            return Err(fail(format!("two receipts name seq {seq}")));
        }
    }
    let mut found = 0u64;
    let mut bad = None;
    tradetrail_journal::for_each_line(
        &FsStorage,
        &rec.data_dir().journal(),
        0,
        None,
        |seq, line| {
            if let Some(h) = want.get(&seq) {
                let got = hex::encode(Sha256::digest(line));
                if got != *h {
                    bad = Some(seq);
                    return Ok(false);
                }
                found += 1;
            }
            Ok(true)
        },
    )
    .map_err(fail)?;
    if let Some(seq) = bad {
        return Err(fail(format!(
            "the record at seq {seq} does not hash to its receipt"
        )));
    }
    if found != want.len() as u64 {
        return Err(fail(format!(
            "{} acknowledged events are missing from the journal",
            want.len() as u64 - found
        )));
    }
    let report =
        tradetrail_journal::verify(&FsStorage, &rec.data_dir().journal(), &|_| {}).map_err(fail)?;
    if !report.ok {
        return Err(fail(format!(
            "the journal does not verify after the bench: {}",
            report.reason.unwrap_or_default()
        )));
    }
    Ok(found)
}

/// Runs the HTTP bench; `print` gets each line as it is measured. Returns the number
/// of acknowledged events checked against the journal at the end.
pub fn run_http_bench(
    opts: &HttpBenchOptions,
    print: &mut dyn FnMut(&HttpBenchLine),
) -> Result<u64, HttpBenchError> {
    let scratch = tempfile::Builder::new()
        .prefix("tradetrail-bench-http-")
        .tempdir_in(&opts.dir)
        .map_err(|e| {
            fail(format!(
                "cannot make a scratch directory in {}: {e}",
                opts.dir.display()
            ))
        })?;
    let dir = DataDir::new(scratch.path().join("data"));
    let rec = Recorder::init(
        &dir,
        InitOptions {
            origin: Some("bench.local/http".into()),
            ..Default::default()
        },
    )
    .map_err(fail)?;
    let token = create_token(dir.root(), Role::Writer, None, "bench").map_err(fail)?;
    let mut ids = Ids(0);
    let threads = opts.clients.iter().copied().max().unwrap_or(1).min(8);

    // The library's own figure for each durability and batch size.
    let mut library: HashMap<(&'static str, usize), f64> = HashMap::new();
    for &d in &opts.durabilities {
        let tpl = template(d, opts.record_size);
        for &batch in &opts.batches {
            let (events, secs, lat) =
                library_run(&rec, &tpl, &mut ids, threads, batch, opts.seconds)?;
            let per_second = events as f64 / secs;
            library.insert((durability_name(d), batch), per_second);
            let (p50, p99, p999) = percentiles(lat);
            print(&HttpBenchLine {
                group: "library".into(),
                what: format!(
                    "{} record_batch, {threads} threads, batch {batch}",
                    durability_name(d)
                ),
                events,
                per_second,
                p50_us: p50,
                p99_us: p99,
                p999_us: p999,
                of_library: None,
            });
        }
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(format!("cannot start a runtime: {e}")))?;
    let state = Arc::new(
        AppState::new(
            rec.clone(),
            ServerOptions {
                checkpoint_interval: None,
                ..ServerOptions::default()
            },
        )
        .map_err(fail)?,
    );
    let all_receipts = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| fail(format!("cannot listen on loopback: {e}")))?;
        let url = format!("http://{}/v1/events", listener.local_addr().map_err(fail)?);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(state, listener, async {
            let _ = stop_rx.await;
        }));
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(opts.clients.iter().copied().max().unwrap_or(1))
            .build()
            .map_err(|e| fail(format!("HTTP client: {e}")))?;
        let target = Target { client, url, token };
        let mut all = Vec::new();
        for &d in &opts.durabilities {
            let tpl = template(d, opts.record_size);
            for &batch in &opts.batches {
                for &clients in &opts.clients {
                    let base = ids.next_base();
                    let (events, secs, lat, receipts) =
                        http_run(&target, &tpl, base, clients, batch, opts.seconds).await?;
                    let per_second = events as f64 / secs;
                    let (p50, p99, p999) = percentiles(lat);
                    print(&HttpBenchLine {
                        group: "http".into(),
                        what: format!(
                            "{} POST /v1/events, {clients} clients, batch {batch}",
                            durability_name(d)
                        ),
                        events,
                        per_second,
                        p50_us: p50,
                        p99_us: p99,
                        p999_us: p999,
                        of_library: library
                            .get(&(durability_name(d), batch))
                            .map(|l| per_second / l),
                    });
                    all.extend(receipts);
                }
            }
        }
        let _ = stop_tx.send(());
        server
            .await
            .map_err(|e| fail(format!("server task: {e}")))?
            .map_err(|e| fail(format!("server: {e}")))?;
        Ok::<_, HttpBenchError>(all)
    })?;
    check_receipts(&rec, &all_receipts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_valid_events_with_distinct_ids() {
        for d in [Durability::Os, Durability::Fsync] {
            let tpl = template(d, 350);
            let body = batch_body(&tpl, 7 << 64, 3);
            let mut ids = std::collections::HashSet::new();
            for line in body.lines() {
                let ev = Event::from_json(line.as_bytes()).expect("valid event");
                assert!(ids.insert(ev.event_id.expect("has an id")));
            }
            assert_eq!(ids.len(), 3);
            // The asked size once the header (~125 bytes) is added, unless the
            // smallest valid event of the type is already bigger.
            let len = body.lines().next().unwrap().len() + 125;
            let smallest = template(d, 0).len() + 125;
            assert!(
                (330..=370).contains(&len) || (smallest > 340 && len == smallest),
                "{len}"
            );
        }
    }
}
