"""Operational logs next to the audit trail: ``tradetrail.LogHandler``, a
``logging.Handler`` that records each log line as a ``log.<level>`` event.

    import logging, tradetrail as tt
    rec = tt.Recorder.open("/var/lib/tradetrail")
    handler = tt.LogHandler(rec, category="order", source="oms")
    logging.getLogger("oms").addHandler(handler)
    logging.getLogger("oms").warning("order %s rejected", "O-7", extra={"trader_id": "T-03"})

A line is ``{"type": "log.warning", "entity": {"kind": "log", "id": "order"},
"data": {"message": ..., "logger": ..., "context": {...}, "exception": ...}}``: the
level is the type and the category the entity, so ``query --level warning
--category order`` (and ``rec.query(level="warning", category="order")``) find them
through the index.

Emitting never waits for the disk: lines go into a bounded queue that a background
thread records in batches (``durability="os"``). When the queue is full, ``on_full``
decides: ``"block"`` (the default) makes the logging call wait for room, so nothing is
lost; ``"drop"`` drops the line, counts it in ``stats["dropped"]`` and records a
``log.dropped`` event with the count, so a drop is never silent.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
import uuid
from typing import Any, Dict, List, Mapping, Optional

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()
    | {"message", "asctime", "taskName", "category"}
)
# Extra keys that go to the envelope instead of `data.context`.
_ENVELOPE = ("trader_id", "strategy_id", "account_id", "instrument_id")
_LEVELS = ("debug", "info", "warning", "error", "critical")
_LEVEL_NUMBERS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
_STOP = object()


def level_name(levelno: int) -> str:
    """The tradetrail level of a ``logging`` level number."""
    if levelno <= logging.DEBUG:
        return "debug"
    if levelno <= logging.INFO:
        return "info"
    if levelno <= logging.WARNING:
        return "warning"
    if levelno <= logging.ERROR:
        return "error"
    return "critical"


def _json_safe(v: Any) -> Any:
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    if isinstance(v, Mapping):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    return repr(v)


class LogHandler(logging.Handler):
    """Records log lines into ``recorder`` (a ``tradetrail.Recorder``).

    - ``category``: the lines' category (``connection``, ``order``, ``execution``,
      ``position``, ``balance``, ``error``, ``system``, or your own); a record's
      ``extra={"category": ...}`` overrides it.
    - ``levels``: minimum level per category, e.g. ``{"connection": "warning"}``
      (others pass the handler's own ``level``). Without it, the data directory's
      ``[log]`` section of ``tradetrail.toml`` applies: ``[log.categories]`` per
      category, ``[log] level`` for the rest.
    - ``source``/``actor``: the envelope's; ``source`` defaults to the logger's name.
    - ``user_id``/``session_id``: put on every line.
    - ``queue_size``, ``on_full`` (``"block"`` or ``"drop"``), ``batch_size``,
      ``flush_interval`` (seconds a line may wait for its batch).
    - ``start=False`` queues lines without recording them until ``start()``.
    """

    def __init__(
        self,
        recorder: Any,
        category: str = "system",
        *,
        level: int = logging.NOTSET,
        levels: Optional[Mapping[str, str]] = None,
        source: Optional[str] = None,
        actor: str = "system",
        user_id: Optional[str] = None,
        session_id: Optional[str] = None,
        queue_size: int = 10_000,
        on_full: str = "block",
        batch_size: int = 1000,
        flush_interval: float = 0.2,
        start: bool = True,
    ) -> None:
        super().__init__(level)
        if on_full not in ("block", "drop"):
            raise ValueError(f"on_full: use 'block' or 'drop', not {on_full!r}")
        if queue_size < 1 or batch_size < 1:
            raise ValueError("queue_size and batch_size: must be at least 1")
        self.minimum: Dict[str, int] = {}
        # The lowest level of a category without its own: none unless the data
        # directory's `[log] level` says so.
        self.default_minimum: Optional[int] = None
        if levels is None:
            configured = getattr(recorder, "log_levels", None)
            if callable(configured):
                cfg = configured()
                levels = cfg.get("categories") or {}
                if cfg.get("level") is not None:
                    self.default_minimum = _LEVEL_NUMBERS[cfg["level"]]
        for cat, name in (levels or {}).items():
            if name.lower() not in _LEVEL_NUMBERS:
                raise ValueError(f"levels[{cat!r}]: use one of {', '.join(_LEVELS)}, not {name!r}")
            self.minimum[cat] = _LEVEL_NUMBERS[name.lower()]
        self.recorder = recorder
        self.category = category
        self.source = source
        self.actor = actor
        self.user_id = user_id
        self.session_id = session_id
        self.on_full = on_full
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=queue_size)
        self._counts = {"queued": 0, "recorded": 0, "dropped": 0, "failed": 0}
        self._dropped_unreported = 0
        self._count_lock = threading.Lock()
        self._worker: Optional[threading.Thread] = None
        if start:
            self.start()

    # -- the logging side ---------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        try:
            category = getattr(record, "category", None) or self.category
            minimum = self.minimum.get(category, self.default_minimum)
            if minimum is not None and record.levelno < minimum:
                return
            event = self._event(record, category)
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)
            return
        if self.on_full == "block":
            self._queue.put(event)
        else:
            try:
                self._queue.put_nowait(event)
            except queue.Full:
                with self._count_lock:
                    self._counts["dropped"] += 1
                    self._dropped_unreported += 1
                return
        with self._count_lock:
            self._counts["queued"] += 1

    def _event(self, record: logging.LogRecord, category: str) -> dict:
        data: Dict[str, Any] = {"message": record.getMessage() or "(empty)", "logger": record.name}
        context = {
            k: _json_safe(v)
            for k, v in vars(record).items()
            if k not in _STANDARD and k not in _ENVELOPE
        }
        if context:
            data["context"] = context
        if record.exc_info:
            data["exception"] = logging.Formatter().formatException(record.exc_info)
        elif record.exc_text:
            data["exception"] = record.exc_text
        for key in ("user_id", "session_id"):
            value = context.pop(key, None) if context else None
            value = value if value is not None else getattr(self, key)
            if value is not None:
                data[key] = str(value)
        if "context" in data and not data["context"]:
            del data["context"]
        event: Dict[str, Any] = {
            "type": f"log.{level_name(record.levelno)}",
            "ts_event": int(record.created * 1_000_000_000),
            "source": self.source or record.name or "python",
            "actor": self.actor,
            "event_id": str(uuid.uuid4()),
            "entity": {"kind": "log", "id": category},
            "data": data,
        }
        for key in _ENVELOPE:
            value = getattr(record, key, None)
            if value is not None:
                event[key] = str(value)
        return event

    # -- the recording side -------------------------------------------------------

    def start(self) -> None:
        """Start recording queued lines (once)."""
        if self._worker is None:
            self._worker = threading.Thread(
                target=self._run, name="tradetrail-log-handler", daemon=True
            )
            self._worker.start()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: List[Any] = []
            try:
                first = self._queue.get(timeout=self.flush_interval)
            except queue.Empty:
                first = None
            taken = 0
            if first is not None:
                taken = 1
                if first is _STOP:
                    stopping = True
                else:
                    batch.append(first)
                while len(batch) < self.batch_size and not stopping:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    taken += 1
                    if item is _STOP:
                        stopping = True
                    else:
                        batch.append(item)
            self._write(batch)
            for _ in range(taken):
                self._queue.task_done()

    def _write(self, batch: List[Any]) -> None:
        with self._count_lock:
            dropped, self._dropped_unreported = self._dropped_unreported, 0
        if dropped:
            batch = batch + [
                {
                    "type": "log.dropped",
                    "ts_event": batch[-1]["ts_event"] if batch else _now(),
                    "source": self.source or "python",
                    "actor": self.actor,
                    "event_id": str(uuid.uuid4()),
                    "data": {
                        "dropped": dropped,
                        "reason": "the log handler's queue was full (on_full='drop')",
                        "category": self.category,
                    },
                }
            ]
        if not batch:
            return
        try:
            self.recorder.record_many(batch, durability="os")
        except Exception as e:  # noqa: BLE001 - reported, counted, never raised into logging
            with self._count_lock:
                self._counts["failed"] += len(batch)
            print(f"tradetrail.LogHandler: {len(batch)} lines not recorded: {e}", file=sys.stderr)
            return
        with self._count_lock:
            self._counts["recorded"] += len(batch) - (1 if dropped else 0)

    def flush(self) -> None:
        """Wait until every line queued so far is recorded (or failed)."""
        if self._worker is not None and self._worker.is_alive():
            self._queue.join()

    def close(self) -> None:
        """Record what is queued, then stop the thread. ``logging.shutdown()`` calls it."""
        if self._worker is not None and self._worker.is_alive():
            self._queue.put(_STOP)
            self._worker.join()
        super().close()

    @property
    def stats(self) -> Dict[str, int]:
        """``queued``, ``recorded``, ``dropped`` and ``failed`` line counts."""
        with self._count_lock:
            return dict(self._counts)


def _now() -> int:
    import time

    return time.time_ns()


def metric_event(
    name: str,
    value: Any,
    *,
    tags: Optional[Mapping[str, Any]] = None,
    unit: Optional[str] = None,
    category: Optional[str] = None,
    source: str = "python",
    actor: str = "system",
) -> dict:
    """A ``log.metric`` event (what ``Recorder.log_metric`` records)."""
    data: Dict[str, Any] = {"name": name, "value": value}
    if unit is not None:
        data["unit"] = unit
    if tags:
        data["tags"] = json.loads(json.dumps(_json_safe(tags)))
    if category is not None:
        data["category"] = category
    return {
        "type": "log.metric",
        "ts_event": _now(),
        "source": source,
        "actor": actor,
        "event_id": str(uuid.uuid4()),
        "data": data,
    }
