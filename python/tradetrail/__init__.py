"""Record a trading system's events in-process into a tradetrail data directory.

The journal is the same one the ``tradetrail`` CLI and server write: opened through
the one door (configuration, the journal failing closed, the archive as cold tier,
the guard against contradicting a signed checkpoint), validated with the same rules
and the same error messages.

    import tradetrail as tt

    tt.init("/tmp/t")                       # once, like `tradetrail init`
    with tt.Recorder.open("/tmp/t") as rec:
        r = rec.record({"type": "param.changed", ...})
        print(r.seq, r.hash)
        assert rec.verify()["ok"]
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import decimal
import json
import os
import uuid
import warnings
from typing import Any, Iterable, List, Optional, Union

from ._tradetrail import (
    ConflictError,
    NativeRecorder as _NativeRecorder,
    Receipt,
    TradetrailError,
    ValidationError,
    init as _init,
)

__all__ = [
    "ConflictError",
    "Receipt",
    "Recorder",
    "TradetrailError",
    "ValidationError",
    "init",
    "to_json",
]

PathLike = Union[str, "os.PathLike[str]"]


def init(path: PathLike, origin: Optional[str] = None) -> None:
    """Create a data directory at ``path`` (what ``tradetrail init`` does).

    ``origin`` names the journal (the first line of its checkpoints); by default a
    unique one is made from the host name and a random id. Raises
    ``TradetrailError`` if ``path`` already holds a data directory.
    """
    _init(os.fspath(path), origin)


def _default(o: Any) -> Any:
    # Decimals are recorded as decimal strings, exactly as written ("228.50").
    if isinstance(o, decimal.Decimal):
        return str(o)
    if isinstance(o, (_dt.datetime, _dt.date)):
        return o.isoformat()
    if isinstance(o, uuid.UUID):
        return str(o)
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def to_json(event: Any) -> bytes:
    """The JSON bytes recorded for ``event``.

    ``event`` may be JSON already (``bytes``, ``bytearray``, ``memoryview`` or
    ``str``), a mapping, or an object with ``model_dump()`` (a Pydantic model, dumped
    with ``mode="json"``). ``Decimal``, ``datetime``/``date`` and ``UUID`` values are
    written as strings (``datetime`` in ISO 8601: give it a time zone).
    """
    if isinstance(event, (bytes, bytearray, memoryview)):
        return bytes(event)
    if isinstance(event, str):
        return event.encode("utf-8")
    dump = getattr(event, "model_dump", None)
    if callable(dump):
        try:
            event = dump(mode="json")
        except TypeError:
            event = dump()
    return json.dumps(
        event, ensure_ascii=False, separators=(",", ":"), default=_default
    ).encode("utf-8")


class Recorder:
    """An open data directory that events are recorded into.

    Open it with ``Recorder.open(path)``; close it with ``close()`` or use it as a
    context manager. One recorder may be shared by any number of threads and
    asyncio tasks: calls into the journal run without the GIL, and concurrent
    records are sequenced, never lost. Only one process may record into a data
    directory at a time (a second ``open`` raises ``TradetrailError``).
    """

    __slots__ = ("_native",)

    def __init__(self, native: _NativeRecorder) -> None:
        self._native = native

    @classmethod
    def open(cls, path: PathLike) -> "Recorder":
        """Open the data directory ``path`` for recording.

        Raises ``TradetrailError`` when it is missing or not initialized, locked by
        another process, or damaged (a record altered or a checkpoint contradicted:
        run ``tradetrail verify``). An unfinished last line (a write that was never
        acknowledged) is cut, with a ``RuntimeWarning``.
        """
        native = _NativeRecorder.open(os.fspath(path))
        cut = native.recovered()
        if cut is not None:
            n, segment = cut
            warnings.warn(
                f"recovered: cut an unfinished last line of {n} bytes from {segment}"
                " (a write that never completed, so never acknowledged)",
                RuntimeWarning,
                stacklevel=2,
            )
        return cls(native)

    @property
    def path(self) -> str:
        """The data directory."""
        return self._native.path

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._native.closed

    def record(self, event: Any, *, durability: Optional[str] = None) -> Receipt:
        """Validate and record one event; return its receipt once acknowledged.

        ``durability`` is ``"os"`` or ``"fsync"``; by default the configuration's
        for the event's type. A repeated ``event_id`` with the same body writes
        nothing and returns the original record's receipt with ``duplicate=True``.

        Raises ``ValidationError`` (nothing written) for a bad event,
        ``ConflictError`` for an ``event_id`` already used with another body, and
        ``TradetrailError`` for the rest.
        """
        return self._native.record_json(to_json(event), durability)

    def record_many(
        self, events: Iterable[Any], *, durability: Optional[str] = None
    ) -> List[Receipt]:
        """Record several events, all or nothing, as one contiguous run of seqs.

        Every event is validated first; if any is bad, ``ValidationError`` lists
        every problem as ``(index, field, reason)`` and nothing is written.
        """
        return self._native.record_many_json([to_json(e) for e in events], durability)

    async def arecord(self, event: Any, *, durability: Optional[str] = None) -> Receipt:
        """``record`` for asyncio: runs in a worker thread, never blocking the loop."""
        line = to_json(event)
        return await asyncio.to_thread(self._native.record_json, line, durability)

    async def arecord_many(
        self, events: Iterable[Any], *, durability: Optional[str] = None
    ) -> List[Receipt]:
        """``record_many`` for asyncio: runs in a worker thread."""
        lines = [to_json(e) for e in events]
        return await asyncio.to_thread(self._native.record_many_json, lines, durability)

    def flush(self) -> None:
        """Write and fsync everything recorded so far."""
        self._native.flush()

    def verify(self) -> dict:
        """Verify the whole data directory, changing nothing.

        Returns the verdict as a dict: the same JSON ``tradetrail verify --json``
        prints (``ok``, ``first_bad_seq``, ``reason``, ``records``, ``journal``,
        ``archive``, ``checkpoints``, ``index``, ...). Damage is reported in it, not
        raised; ``TradetrailError`` only when the files cannot be read.
        """
        return json.loads(self._native.verify_json())

    def close(self) -> None:
        """Flush, take a checkpoint if the configured policy says one is due, and
        release the data directory. Closing twice does nothing."""
        warning = self._native.close()
        if warning is not None:
            warnings.warn(warning, RuntimeWarning, stacklevel=2)

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<tradetrail.Recorder {self.path!r} ({state})>"
