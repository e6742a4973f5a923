//! Another `tradetrail serve` as a replica peer (`tradetrail replica status --peer
//! URL`): its size from `GET /healthz`, its root at any size from
//! `GET /v1/proof/consistency?old=SIZE&new=N` (each proof checked against its own
//! roots, and `new`'s root required the same in every answer); its latest signed
//! checkpoint and verifier key from `GET /v1/checkpoint`.

use std::time::Duration;

use tradetrail_merkle::{ConsistencyProof, Hash};
use tradetrail_store::replica::{PeerTree, SignedNotes};

/// A peer server, asked over HTTP with a bearer token of role compliance or admin.
#[derive(Debug)]
pub struct HttpPeer {
    base: String,
    token: String,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    /// The size the comparison is made at, and its root once known.
    size: Option<u64>,
    new_root: Option<Hash>,
}

impl HttpPeer {
    /// A peer at `url` (`http://host:port`, no path) asked with `token`.
    pub fn new(url: &str, token: &str) -> Result<HttpPeer, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("starting the async runtime: {e}"))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        Ok(HttpPeer {
            base: url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            client,
            runtime,
            size: None,
            new_root: None,
        })
    }

    fn get(&self, path: &str) -> Result<serde_json::Value, String> {
        self.request(path, false)?
            .ok_or_else(|| format!("GET {}{path}: no answer", self.base))
    }

    /// [`HttpPeer::get`], `None` for a 404 when `missing_ok`.
    fn request(&self, path: &str, missing_ok: bool) -> Result<Option<serde_json::Value>, String> {
        let url = format!("{}{path}", self.base);
        self.runtime.block_on(async {
            let r = self
                .client
                .get(&url)
                .bearer_auth(&self.token)
                .send()
                .await
                .map_err(|e| format!("GET {url}: {e}"))?;
            let status = r.status();
            let text = r.text().await.map_err(|e| format!("GET {url}: {e}"))?;
            if missing_ok && status == reqwest::StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(format!("GET {url}: {status}: {}", text.trim()));
            }
            serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| format!("GET {url}: not JSON ({e})"))
        })
    }
}

impl PeerTree for HttpPeer {
    fn describe(&self) -> String {
        self.base.clone()
    }

    fn size(&mut self) -> Result<u64, String> {
        if let Some(n) = self.size {
            return Ok(n);
        }
        let v = self.get("/healthz")?;
        let n = v["records"]
            .as_u64()
            .ok_or_else(|| format!("/healthz names no record count: {v}"))?;
        self.size = Some(n);
        Ok(n)
    }

    fn root_at(&mut self, size: u64) -> Result<Hash, String> {
        let new = self.size()?;
        let v = self.get(&format!("/v1/proof/consistency?old={size}&new={new}"))?;
        let p: ConsistencyProof = serde_json::from_value(v)
            .map_err(|e| format!("/v1/proof/consistency: not a consistency proof ({e})"))?;
        if p.old != size || p.new != new {
            return Err(format!(
                "/v1/proof/consistency answered sizes {}..{} for {size}..{new}",
                p.old, p.new
            ));
        }
        p.verify()
            .map_err(|e| format!("its consistency proof {size}..{new} does not verify: {e}"))?;
        match self.new_root {
            Some(r) if r != p.new_root => {
                return Err(format!(
                    "its root at size {new} changed between two answers: its history was rewritten"
                ))
            }
            _ => self.new_root = Some(p.new_root),
        }
        Ok(p.old_root)
    }

    fn checkpoints(&mut self) -> Result<SignedNotes, String> {
        // 404: no checkpoint taken yet.
        let Some(v) = self.request("/v1/checkpoint", true)? else {
            return Ok(SignedNotes::default());
        };
        let field = |name: &str| {
            v[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("/v1/checkpoint names no {name}: {v}"))
        };
        Ok(SignedNotes {
            notes: vec![field("note")?],
            verifier: Some(field("verifier_key")?),
        })
    }
}
