//! Clients that connect and then stall cannot hold the server: request heads must
//! arrive within the header-read timeout (which also closes idle keep-alive
//! connections), connections are limited, and a shutdown finishes within its grace
//! period whatever the clients do. Real sockets throughout.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::start_with;
use tradetrail_server::ServerOptions;

fn opts(header: Duration, max_connections: usize, grace: Duration) -> ServerOptions {
    ServerOptions {
        checkpoint_interval: None,
        header_read_timeout: header,
        max_connections,
        shutdown_grace: grace,
        ..ServerOptions::default()
    }
}

/// A connection that has sent `bytes` and then nothing.
fn sent(addr: std::net::SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut c = TcpStream::connect(addr).unwrap();
    c.write_all(bytes).unwrap();
    c
}

/// A connection that has sent half a request head and then nothing.
fn stalled(addr: std::net::SocketAddr) -> TcpStream {
    sent(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ",
    )
}

/// Reads (on the blocking pool) until the server closes the connection or resets it:
/// what was read, or `None` if it was still open after `limit`.
async fn until_closed(c: &TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut c = c.try_clone().unwrap();
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + limit;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            c.set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            match c.read(&mut buf) {
                Ok(0) => return Some(got),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None
                }
                Err(_) => return Some(got),
            }
        }
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_head_is_closed_after_the_header_timeout() {
    let s = start_with(opts(Duration::from_secs(1), 64, Duration::from_secs(5))).await;
    let start = Instant::now();
    let c = stalled(s.addr());
    let got = until_closed(&c, Duration::from_secs(5)).await;
    let took = start.elapsed();
    assert!(
        got.is_some(),
        "still open after 5 s with a 1 s header timeout"
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "closed after {took:?}, expected about 1 s"
    );
    assert!(
        !String::from_utf8_lossy(&got.unwrap_or_default()).contains("200 OK"),
        "a half request is not answered"
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let s = start_with(opts(Duration::from_secs(1), 64, Duration::from_secs(5))).await;
    let c = sent(
        s.addr(),
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    );
    let start = Instant::now();
    let got = until_closed(&c, Duration::from_secs(5)).await;
    let took = start.elapsed();
    let text = String::from_utf8_lossy(got.as_deref().unwrap_or_default()).into_owned();
    assert!(
        got.is_some(),
        "an idle connection was kept past 5 s: {text}"
    );
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "closed after {took:?}, expected about 1 s"
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_connection_does_not_hold_up_shutdown() {
    // The header timeout is long, so only the grace period can end the connection.
    let s = start_with(opts(Duration::from_secs(60), 64, Duration::from_secs(1))).await;
    let half = stalled(s.addr());
    let idle = TcpStream::connect(s.addr()).unwrap();
    // A request answered on another connection shows both have been accepted.
    assert_eq!(s.get(None, "/healthz").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let took = s.shutdown_within(Duration::from_secs(6)).await;
    let took = took.expect("serve had not returned 6 s after shutdown with a 1 s grace");
    assert!(took < Duration::from_secs(4), "shutdown took {took:?}");
    // Both connections were closed by the server.
    assert!(until_closed(&half, Duration::from_secs(2)).await.is_some());
    assert!(until_closed(&idle, Duration::from_secs(2)).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let s = start_with(opts(Duration::from_secs(30), 4, Duration::from_secs(1))).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(stalled(s.addr()));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A fifth client is not served while four connections are open...
    let url = s.url("/healthz");
    let fifth = tokio::spawn(async move {
        let r = reqwest::Client::new().get(url).send().await.unwrap();
        r.status().as_u16()
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !fifth.is_finished(),
        "served beyond the limit of 4 connections"
    );
    // ...and is as soon as one closes.
    drop(held.pop());
    let status = tokio::time::timeout(Duration::from_secs(3), fifth)
        .await
        .expect("not served after a connection closed")
        .unwrap();
    assert_eq!(status, 200);
    drop(held);
    let took = s.shutdown_within(Duration::from_secs(6)).await;
    assert!(took.is_some(), "shutdown did not finish");
}
