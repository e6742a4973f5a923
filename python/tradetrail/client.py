"""``tradetrail.Client``: the recorder's calls over the HTTP API of a remote
``tradetrail serve`` (docs/server.md), in standard-library Python.

Every event sent gets an ``event_id`` before the first attempt (a fresh UUID where it
has none), so a retry after a timeout or a dropped connection repeats the same events
and the server records each once: a retried event's receipt is the original record's,
with ``duplicate=True``.
"""

from __future__ import annotations

import dataclasses
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from ._tradetrail import ConflictError, TradetrailError, ValidationError

# Answers after which the same request may be sent again: the server did not take it,
# or said it is busy.
_RETRY_STATUS = frozenset({429, 502, 503, 504})


@dataclasses.dataclass(frozen=True)
class RemoteReceipt:
    """The receipt of one event recorded by a server."""

    seq: int
    """The record's position in the journal (for a duplicate, the original's)."""
    hash: str
    """SHA-256 of the record's line, 64 lowercase hex digits."""
    duplicate: bool = False
    """The ``event_id`` was already recorded with this body: nothing new was written."""


def _with_event_id(event: Any) -> bytes:
    """The event's JSON with an ``event_id`` (a fresh UUID where it has none)."""
    from . import to_json

    if isinstance(event, (bytes, bytearray, memoryview, str)):
        raw = bytes(event, "utf-8") if isinstance(event, str) else bytes(event)
        try:
            obj = json.loads(raw)
        except ValueError:
            return raw  # not JSON: the server says so, naming the line
        if not isinstance(obj, dict) or "event_id" in obj:
            return raw
        obj["event_id"] = str(uuid.uuid4())
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    line = to_json(event)
    obj = json.loads(line)
    if isinstance(obj, dict) and "event_id" not in obj:
        obj["event_id"] = str(uuid.uuid4())
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return line


class Client:
    """A remote recorder: ``tradetrail serve`` at ``url``, with a bearer ``token``.

    ``retries`` more attempts are made after a connection failure, a timeout, or a 429,
    502, 503 or 504 answer, waiting ``backoff`` seconds, doubled each time. Use an
    ``https://`` URL behind the documented TLS proxy; ``context`` is the
    ``ssl.SSLContext`` to check it with (the system's CAs by default).
    """

    page_size: int = 10_000
    """Records asked for per request by ``query`` and ``incident`` (pages are followed)."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.2,
        batch_size: int = 1000,
        context: Optional[ssl.SSLContext] = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size: must be at least 1")
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.batch_size = batch_size
        self.context = context
        self.attempts = 0
        """Requests sent, retries included (for tests and metrics)."""

    # -- transport ---------------------------------------------------------------

    def _send(self, method: str, path: str, body: Optional[bytes] = None,
              content_type: Optional[str] = None) -> Any:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            req = urllib.request.Request(self.url + path, data=body, method=method)
            req.add_header("Authorization", f"Bearer {self.token}")
            if content_type is not None:
                req.add_header("Content-Type", content_type)
            self.attempts += 1
            try:
                with urllib.request.urlopen(req, timeout=self.timeout, context=self.context) as r:
                    return json.loads(r.read())
            except urllib.error.HTTPError as e:
                raw = e.read()
                if e.code in _RETRY_STATUS and not last:
                    time.sleep(delay)
                    delay *= 2
                    continue
                raise _error(e.code, raw) from None
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
                if last:
                    raise TradetrailError(
                        f"{method} {self.url}{path}: no answer after {attempt + 1} attempts: {e}"
                    ) from e
                time.sleep(delay)
                delay *= 2
        raise TradetrailError(f"{method} {self.url}{path}: no attempt made")  # retries < 0

    # -- recording -----------------------------------------------------------------

    def record(self, event: Any) -> RemoteReceipt:
        """Send one event; its receipt once the server acknowledged it."""
        return self.record_many([event])[0]

    def record_many(self, events: Iterable[Any]) -> List[RemoteReceipt]:
        """Send events in batches of ``batch_size`` (one request each, all or nothing
        per batch); their receipts, in order."""
        lines = [_with_event_id(e) for e in events]
        out: List[RemoteReceipt] = []
        for start in range(0, len(lines), self.batch_size):
            chunk = lines[start:start + self.batch_size]
            body = b"\n".join(chunk) + b"\n"
            try:
                answer = self._send("POST", "/v1/events", body, "application/x-ndjson")
            except ValidationError as e:
                raise _shift(e, start) from None
            out.extend(
                RemoteReceipt(r["seq"], r["hash"], bool(r.get("duplicate", False)))
                for r in answer["receipts"]
            )
        return out

    # -- questions -------------------------------------------------------------------

    def query(self, type: Any = None, *, since: Any = None, until: Any = None,
              recorded: bool = False, tz: Optional[str] = None,
              limit: Optional[int] = None, **fields: Any) -> List[dict]:
        """The matching records as dicts, every page followed (or the first ``limit``).
        Filters as ``Recorder.query``; ``since``/``until`` without an offset are read in
        ``tz``, else the server's ``[time] zone``."""
        from . import _pairs

        params = _pairs({"type": type, **fields}, since, until, recorded, tz)
        out: List[dict] = []
        cursor: Optional[Tuple[str, int]] = None
        while True:
            page = self.page_size if limit is None else min(self.page_size, limit - len(out))
            q = list(params) + [("limit", str(page))]
            if cursor is not None:
                q.append(cursor)
            answer = self._send("GET", "/v1/events?" + urllib.parse.urlencode(q))
            out.extend(answer["records"])
            nxt = answer["summary"].get("next")
            if not nxt or (limit is not None and len(out) >= limit):
                return out
            ((name, seq),) = nxt.items()
            cursor = (name, str(seq))

    def trail(self, id: str) -> dict:
        """The trail of ``id``: ``{"id", "records", "gaps", "notes"}``."""
        return self._send("GET", "/v1/trail/" + urllib.parse.quote(id, safe=""))

    def stats(self, by: str = "type", *, since: Any = None, until: Any = None,
              recorded: bool = False, tz: Optional[str] = None, **fields: Any) -> dict:
        """Counts by ``by`` among the matching records (as ``Recorder.stats``)."""
        from . import _pairs

        q = [("by", by)] + _pairs(fields, since, until, recorded, tz)
        return self._send("GET", "/v1/stats?" + urllib.parse.urlencode(q))

    def incident(self, at: Any, window: str = "5m", *, tz: Optional[str] = None,
                 limit: Optional[int] = None, **fields: Any) -> dict:
        """Everything within ``window`` either side of ``at`` (as ``Recorder.incident``,
        ``GET /v1/incident``): every page of records followed (or the first ``limit``);
        ``at`` without an offset is read in ``tz``, else the server's ``[time] zone``."""
        from . import _instant, _pairs

        at_text = _instant("at", at)
        if at_text is None:
            raise TypeError("at: an instant is required")
        params = [("at", at_text), ("window", window)] + _pairs(fields, tz=tz)
        answer: Optional[dict] = None
        cursor: Optional[Tuple[str, str]] = None
        while True:
            got = 0 if answer is None else len(answer["records"])
            page = self.page_size if limit is None else min(self.page_size, limit - got)
            q = list(params) + [("limit", str(page))]
            if cursor is not None:
                q.append(cursor)
            part = self._send("GET", "/v1/incident?" + urllib.parse.urlencode(q))
            if answer is None:
                answer = part
            else:
                answer["records"].extend(part["records"])
                for key in ("truncated", "next", "next_url"):
                    answer[key] = part.get(key)
            nxt = part.get("next")
            if not nxt or (limit is not None and len(answer["records"]) >= limit):
                return answer
            ((name, seq),) = nxt.items()
            cursor = (name, str(seq))

    def verify(self) -> dict:
        """The server's verdict on its data directory (``tradetrail verify --json``)."""
        return self._send("GET", "/v1/verify")

    def health(self) -> dict:
        """``GET /healthz``."""
        return self._send("GET", "/healthz")


def _error(status: int, raw: bytes) -> Exception:
    """The exception for an error answer, as the in-process recorder raises it."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = {}
    err: Dict[str, Any] = body.get("error", {}) if isinstance(body, dict) else {}
    message = err.get("message") or raw.decode("utf-8", "replace")
    text = f"{status} {err.get('code', 'error')}: {message}"
    if status == 400 and err.get("lines"):
        problems = [
            (line["line"] - 1, e["field"], e["reason"])
            for line in err["lines"]
            for e in line.get("errors", [])
        ]
        exc = ValidationError(
            "\n".join(f"events[{i}]: {f}: {r}" for i, f, r in problems)
        )
        exc.errors = problems
        return exc
    if status == 409:
        return ConflictError(text)
    return TradetrailError(text)


def _shift(e: ValidationError, start: int) -> ValidationError:
    """``e`` with its indexes counted from the start of the whole call."""
    problems = [(i + start, f, r) for i, f, r in getattr(e, "errors", [])]
    exc = ValidationError("\n".join(f"events[{i}]: {f}: {r}" for i, f, r in problems))
    exc.errors = problems
    return exc


__all__: Sequence[str] = ("Client", "RemoteReceipt")
