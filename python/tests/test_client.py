"""tt.Client against a real `tradetrail serve`: receipts, retries that never duplicate,
errors as the in-process recorder raises them, answers equal to the CLI's."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

import tradetrail as tt
from conftest import journal_lines, param_changed, run_cli, with_id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(data, cli):
    """A server on the data directory, with a writer and a compliance token."""
    tokens = {}
    for role in ("writer", "compliance"):
        out = run_cli(cli, "token", "create", "--data", str(data), "--role", role,
                      "--name", f"py-{role}")
        assert out.returncode == 0, out.stderr.decode()
        tokens[role] = out.stdout.decode().strip().splitlines()[-1]
    port = free_port()
    proc = subprocess.Popen(
        [cli, "serve", "--data", str(data), "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"serve did not start: {proc.stderr.read().decode()}")
            time.sleep(0.05)
    yield url, tokens
    proc.terminate()
    proc.wait(timeout=30)


class DroppingProxy:
    """Forwards each HTTP request to `target` and relays the answer, except that the
    answers to the first `drop` requests are thrown away and their connections closed:
    the server did the work, the client never hears of it."""

    def __init__(self, target_port: int, drop: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.drop = drop
        self.requests = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                request = self._read_request(conn)
                self.requests += 1
                with socket.create_connection(self.target) as up:
                    up.sendall(request)
                    answer = self._read_all(up)
                if self.requests <= self.drop:
                    continue  # the connection closes with no answer
                conn.sendall(answer)

    @staticmethod
    def _read_request(conn: socket.socket) -> bytes:
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += conn.recv(65536)
        head, _, body = buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(body) < length:
            body += conn.recv(65536)
        # One request per connection, so the server's answer ends with the connection.
        head = b"\r\n".join(
            l for l in head.split(b"\r\n") if not l.lower().startswith(b"connection:")
        )
        return head + b"\r\nConnection: close\r\n\r\n" + body

    @staticmethod
    def _read_all(s: socket.socket) -> bytes:
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out

    def close(self) -> None:
        self.sock.close()


def test_records_and_answers_like_the_cli(server, data, cli):
    url, tokens = server
    writer = tt.Client(url, tokens["writer"])
    events = [param_changed() for _ in range(5)] + [
        tt.events.ParamChanged(name="k", old_value=1, new_value=2, reason="r",
                               actor="algo:m1", source="meta")
    ]
    receipts = writer.record_many(events)
    assert [r.seq for r in receipts] == list(range(1, 7))
    assert not any(r.duplicate for r in receipts)
    # Every event got an event_id before it was sent.
    assert all("event_id" in json.loads(line) for line in journal_lines(data)[1:])

    reader = tt.Client(url, tokens["compliance"])
    records = reader.query(type="param.*")
    out = run_cli(cli, "query", "--data", str(data), "--type", "param.*", "--format", "jsonl")
    assert records == [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["seq"] for r in reader.query(type="param.*", limit=2)] == [1, 2]
    stats = reader.stats(by="type")
    assert {r["value"]: r["count"] for r in stats["rows"]}["param.changed"] == 6
    assert reader.verify()["ok"] is True
    assert receipts[-1].hash == journal_lines_hash(data, 6)


def journal_lines_hash(data, seq: int) -> str:
    import hashlib

    return hashlib.sha256(journal_lines(data)[seq]).hexdigest()


def test_a_retry_after_a_dropped_answer_records_each_event_once(server, data):
    url, tokens = server
    port = int(url.rsplit(":", 1)[1])
    proxy = DroppingProxy(port, drop=2)
    try:
        client = tt.Client(f"http://127.0.0.1:{proxy.port}", tokens["writer"],
                           backoff=0.01, batch_size=3)
        events = [param_changed() for _ in range(5)]  # no event_id: the client adds them
        receipts = client.record_many(events)
    finally:
        proxy.close()
    # Two answers were lost after the server recorded the first batch: the retries
    # sent the same events again and got the original records back.
    assert client.attempts == 4 and proxy.requests == 4
    assert [r.seq for r in receipts] == [1, 2, 3, 4, 5]
    assert [r.duplicate for r in receipts] == [True, True, True, False, False]
    assert len(journal_lines(data)) == 6  # journal.created + each event once


def test_errors_are_the_recorders(server, data, tmp_path):
    url, tokens = server
    client = tt.Client(url, tokens["writer"], batch_size=2)
    good = with_id()
    bad = param_changed(ts_event=True)
    with pytest.raises(tt.ValidationError) as e:
        client.record_many([param_changed(), good, param_changed(), bad])
    # The in-process recorder's problems, counted from the start of the call though
    # the bad event was in the second request.
    local = tmp_path / "local"
    tt.init(local)
    with tt.Recorder.open(local) as rec, pytest.raises(tt.ValidationError) as here:
        rec.record_many([param_changed(), param_changed(), param_changed(), bad])
    assert e.value.errors == here.value.errors
    assert [(i, f) for i, f, _ in e.value.errors] == [(3, "ts_event")]
    assert len(journal_lines(data)) == 3  # the first batch went in; the bad one did not
    with pytest.raises(tt.ConflictError, match="already used"):
        client.record({**good, "source": "elsewhere"})
    reader_denied = tt.Client(url, tokens["writer"])
    with pytest.raises(tt.TradetrailError, match="403"):
        reader_denied.query()
    nowhere = tt.Client(f"http://127.0.0.1:{free_port()}", tokens["writer"],
                        retries=2, backoff=0.01)
    with pytest.raises(tt.TradetrailError, match="no answer after 3 attempts"):
        nowhere.record(param_changed())


def test_tz_and_incident_answer_like_the_cli(server, data, cli):
    url, tokens = server
    writer = tt.Client(url, tokens["writer"])
    # 09:30, 10:30 and 11:30 in New York (UTC-5 in November).
    times = ["2026-11-20T14:30:00Z", "2026-11-20T15:30:00Z", "2026-11-20T16:30:00Z"]
    writer.record_many([param_changed(ts_event=t) for t in times for _ in range(3)])
    reader = tt.Client(url, tokens["compliance"])

    def cli_seqs(*args):
        out = run_cli(cli, *args, "--data", str(data), "--format", "jsonl")
        assert out.returncode == 0, out.stderr.decode()
        return [json.loads(line)["seq"] for line in out.stdout.splitlines()]

    ny = ["--tz", "America/New_York"]
    got = reader.query(since="2026-11-20T10:00", until="2026-11-20T11:00", tz="America/New_York")
    expected = cli_seqs("query", "--from", "2026-11-20T10:00", "--to", "2026-11-20T11:00", *ny)
    assert [r["seq"] for r in got] == expected == [4, 5, 6]
    # Without tz=, the server's zone (UTC): nothing recorded between 10:00 and 11:00 UTC.
    assert reader.query(since="2026-11-20T10:00", until="2026-11-20T11:00") == []
    stats = reader.stats(since="2026-11-20T10:00", until="2026-11-20T11:00", tz="America/New_York")
    assert stats["total"] == 3

    around = reader.incident("2026-11-20T10:30", "10m", tz="America/New_York")
    assert [r["seq"] for r in around["records"]] == cli_seqs(
        "incident", "--at", "2026-11-20T10:30", "--window", "10m", *ny) == [4, 5, 6]
    assert around["total"] == 3
    paged = reader.incident("2026-11-20T15:30Z", "2h", limit=4)
    assert [r["seq"] for r in paged["records"]] == [1, 2, 3, 4]
    reader.page_size = 2                       # follow pages of two records
    every = reader.incident("2026-11-20T15:30Z", "2h")
    assert [r["seq"] for r in every["records"]] == list(range(1, 10))
    assert every["truncated"] is False and every["total"] == 9
    assert [r["seq"] for r in reader.incident("2026-11-20T15:30Z", "2h", limit=5)["records"]] == [1, 2, 3, 4, 5]
    assert [r["seq"] for r in reader.query(tz="UTC")] == list(range(0, 10))
