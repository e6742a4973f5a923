#!/usr/bin/env python3
"""A tradetrail client in standard-library Python: send events, get receipts, and check
that a record is in the journal as of the latest signed checkpoint.

    tradetrail init --data /tmp/tt
    export TT_WRITER=$(tradetrail token create --data /tmp/tt --role writer --name py-gw)
    export TT_ADMIN=$(tradetrail token create --data /tmp/tt --role admin --name py-admin)
    tradetrail serve --data /tmp/tt &
    python3 examples/python_client.py [--url http://127.0.0.1:7070]

The inclusion check recomputes the Merkle root (RFC 9162 / RFC 6962 hashing: leaves
are SHA-256(0x00 || line), nodes SHA-256(0x01 || left || right)) from the record's own
line and the proof, and compares it with the root the server signed. Checking the
note's Ed25519 signature needs a crypto library; `tradetrail verify-proof` does it
offline.
"""

import argparse
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
import uuid


class TradetrailError(Exception):
    """An error answer: status, code and message from the server's JSON."""

    def __init__(self, status, body):
        err = body.get("error", {}) if isinstance(body, dict) else {}
        self.status = status
        self.code = err.get("code", "unknown")
        self.lines = err.get("lines", [])
        super().__init__(f"{status} {self.code}: {err.get('message', body)}")


class Client:
    def __init__(self, url, token, timeout=30):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(self, method, path, body=None, content_type="application/json"):
        req = urllib.request.Request(self.url + path, data=body, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if body is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            raise TradetrailError(e.code, body) from None

    def append(self, events):
        """Appends events as one batch; returns one receipt per event, in order.

        The batch is validated whole: one bad event and nothing is written
        (TradetrailError with .lines naming every problem). Give every event an
        event_id, so that retrying after a timeout writes nothing twice.
        """
        body = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events)
        answer = self._request("POST", "/v1/events", body.encode(), "application/x-ndjson")
        return answer["receipts"]

    def checkpoint(self, take=False):
        """The latest signed checkpoint; with take=True (admin) sign one now."""
        return self._request("POST" if take else "GET", "/v1/checkpoint", b"" if take else None)

    def inclusion_proof(self, seq, size=None):
        q = f"?seq={seq}" + (f"&size={size}" if size is not None else "")
        return self._request("GET", "/v1/proof/inclusion" + q)


def _leaf(line):
    return hashlib.sha256(b"\x00" + line).digest()


def _node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(leaf, index, size, path):
    """RFC 9162 section 2.1.3.2: the root implied by a leaf and its inclusion proof."""
    if index >= size:
        raise ValueError("index beyond tree size")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ValueError("proof too long")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("proof too short")
    return r


def checkpoint_root(note):
    """The root hash (hex) of a checkpoint note: origin, size, base64 root, blank, signatures."""
    import base64

    lines = note.split("\n")
    return base64.b64decode(lines[2]).hex(), int(lines[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default=os.environ.get("TT_URL", "http://127.0.0.1:7070"))
    args = ap.parse_args()
    writer = Client(args.url, os.environ["TT_WRITER"])
    admin = Client(args.url, os.environ["TT_ADMIN"])

    order_id = "O-" + uuid.uuid4().hex[:8]
    events = [
        {
            "type": "order.submitted",
            "ts_event": "2026-11-21T14:32:10.000Z",
            "event_id": str(uuid.uuid4()),
            "source": "oms",
            "actor": "trader:T-1",
            "trader_id": "T-1",
            "instrument_id": "AAPL.XNAS",
            "entity": {"kind": "order", "id": order_id},
            "data": {"side": "buy", "quantity": "100", "order_type": "market"},
        },
        {
            "type": "order.filled",
            "ts_event": "2026-11-21T14:32:10.250Z",
            "event_id": str(uuid.uuid4()),
            "source": "oms",
            "actor": "system",
            "trader_id": "T-1",
            "instrument_id": "AAPL.XNAS",
            "entity": {"kind": "order", "id": order_id},
            "data": {"fill_qty": "100", "fill_price": "187.50", "trade_id": "X-1", "venue": "XNAS"},
        },
    ]
    receipts = writer.append(events)
    for r in receipts:
        print("receipt", json.dumps(r))
    # A retry of the same batch writes nothing twice.
    again = writer.append(events)
    assert all(r.get("duplicate") for r in again), again
    assert [r["seq"] for r in again] == [r["seq"] for r in receipts]

    # A bad batch is refused whole, naming every problem.
    try:
        writer.append([events[0], {"type": "order.filed", "ts_event": 1.5, "source": "oms", "actor": "bob"}])
    except TradetrailError as e:
        for line in e.lines:
            for p in line["errors"]:
                print(f"refused line {line['line']}: {p['field']}: {p['reason']}")

    cp = admin.checkpoint(take=True)
    root_hex, size = checkpoint_root(cp["note"])
    print(f"checkpoint: size {size}, root {root_hex}")

    seq = receipts[0]["seq"]
    proof = admin.inclusion_proof(seq, size)
    line = proof["record"].encode()
    assert hashlib.sha256(line).hexdigest() == receipts[0]["hash"], "not the acknowledged record"
    leaf = _leaf(line)
    assert leaf.hex() == proof["leaf_hash"]
    got = root_from_inclusion(leaf, proof["seq"], proof["size"], [bytes.fromhex(h) for h in proof["proof"]])
    if got.hex() != root_hex:
        print("inclusion proof does NOT match the signed checkpoint", file=sys.stderr)
        return 1
    print(f"record {seq} is in the journal as of the signed checkpoint of size {size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
