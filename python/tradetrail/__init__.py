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
import collections.abc as _abc
import datetime as _dt
import decimal
import json
import operator
import os
import uuid
import warnings
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Union, overload

from . import events
from ._tradetrail import (
    ConflictError,
    NativeRecorder as _NativeRecorder,
    Receipt,
    TradetrailError,
    ValidationError,
    init as _init,
    verify_proof as _verify_proof,
)

__all__ = [
    "Client",
    "ConflictError",
    "LogHandler",
    "Receipt",
    "Receipts",
    "RemoteReceipt",
    "Recorder",
    "Records",
    "TradetrailError",
    "ValidationError",
    "events",
    "init",
    "to_json",
    "verify_proof",
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
    ``str``), a mapping, a typed event from ``tradetrail.events``, or an object with
    ``model_dump()`` (a Pydantic model, dumped with ``mode="json"``). ``Decimal``, ``datetime``/``date`` and ``UUID`` values are
    written as strings (``datetime`` in ISO 8601: give it a time zone).
    """
    if isinstance(event, (bytes, bytearray, memoryview)):
        return bytes(event)
    if isinstance(event, str):
        return event.encode("utf-8")
    to_event = getattr(event, "to_event", None)
    if callable(to_event):
        event = to_event()
    dump = getattr(event, "model_dump", None)
    if callable(dump):
        try:
            event = dump(mode="json")
        except TypeError:
            event = dump()
    return json.dumps(
        event, ensure_ascii=False, separators=(",", ":"), default=_default
    ).encode("utf-8")


# The query's field filters, named as the CLI's flags and the HTTP API's parameters.
_FIELDS = (
    "type",
    "source",
    "actor",
    "trader",
    "strategy",
    "account",
    "instrument",
    "kind",
    "entity",
    "mentions",
    "text",
    "level",
    "category",
)

Pattern = Union[str, Sequence[str], None]
Instant = Union[str, int, _dt.datetime, _dt.date, None]


def _instant(name: str, value: Instant) -> Optional[str]:
    """An instant as the library parses it: RFC 3339, a date, or ns since the epoch."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected a time, got a bool")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"{name}: a datetime without a time zone is ambiguous; "
                "give it one (datetime.timezone.utc)"
            )
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise TypeError(f"{name}: expected str, int (ns), datetime or date, got {type(value).__name__}")


def _pairs(
    fields: Dict[str, Pattern],
    since: Instant = None,
    until: Instant = None,
    recorded: bool = False,
    tz: Optional[str] = None,
) -> List[tuple]:
    """``(name, value)`` pairs for the native filter; a list value matches any of its
    patterns."""
    out: List[tuple] = []
    for name, value in fields.items():
        if name not in _FIELDS:
            raise TypeError(f"unknown filter {name!r}: use one of {', '.join(_FIELDS)}")
        if value is None:
            continue
        values = [value] if isinstance(value, str) else list(value)
        for v in values:
            if not isinstance(v, str):
                raise TypeError(f"{name}: expected str, got {type(v).__name__}")
            out.append((name, v))
    for name, value in (("from", _instant("since", since)), ("to", _instant("until", until))):
        if value is not None:
            out.append((name, value))
    if recorded:
        out.append(("recorded", "true"))
    if tz is not None:
        out.append(("tz", tz))
    return out


def _pyarrow() -> Any:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    return pyarrow


class Receipts(_abc.Sequence):
    """The receipts of one ``record_many`` call, one per event, in the events' order.

    A read-only sequence that behaves like the list it stands for: it indexes (negative
    indexes count from the end), slices (a slice is a ``list``), iterates, has a
    ``len()``, and compares equal to a ``list`` of the same receipts (and ``list +
    receipts`` is a list). The ``Receipt`` objects are made as they are read, which
    keeps a call of many events fast; ``list(receipts)`` makes them all.
    """

    __slots__ = ("_native",)

    def __init__(self, native: Any) -> None:
        self._native = native

    def __len__(self) -> int:
        return len(self._native)

    @overload
    def __getitem__(self, index: int) -> Receipt: ...
    @overload
    def __getitem__(self, index: slice) -> List[Receipt]: ...
    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._native[i] for i in range(*index.indices(len(self._native)))]
        return self._native[operator.index(index)]

    def __iter__(self) -> Iterator[Receipt]:
        return iter(self._native)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, Receipts)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: Any) -> List[Receipt]:
        if isinstance(other, (list, Receipts)):
            return list(self) + list(other)
        return NotImplemented

    def __radd__(self, other: Any) -> List[Receipt]:
        if isinstance(other, list):
            return other + list(self)
        return NotImplemented

    def __repr__(self) -> str:
        return repr(list(self))


class Records:
    """One answer to ``Recorder.query``: the matching records, in ``seq`` order (or
    newest first), and its ``summary``.

    ``to_arrow()`` gives a ``pyarrow.Table`` with the Parquet archive's columns
    (``seq``, ``ts_recorded``, ``prev``, ``type``, ``ts_event``, ``source``, ``actor``,
    ``event_id``, ``trader_id``, ..., ``refs``, ``data``, ``line``), built in Rust;
    ``to_pandas()`` and ``to_polars()`` convert it. Iterating gives each record as a
    dict; ``lines()`` gives the journal's lines byte for byte. Without pyarrow
    installed, everything but the three conversions works.
    """

    __slots__ = ("_stream", "_lines", "_table", "summary")

    def __init__(self, payload: Any, summary: dict) -> None:
        # Either the lines (no pyarrow) or an Arrow C stream capsule, read once.
        lines = isinstance(payload, list)
        self._stream: Any = None if lines else payload
        self._lines: Optional[List[bytes]] = payload if lines else None
        self._table: Any = None
        self.summary: dict = summary
        """``returned``, ``notes``, ``truncated`` and ``next`` (the cursor of the next
        page: ``{"after": seq}`` or ``{"before": seq}``), as ``GET /v1/events`` gives."""

    @property
    def truncated(self) -> bool:
        """True when the answer stopped at ``limit`` and more records match."""
        return bool(self.summary.get("truncated"))

    @property
    def next(self) -> Optional[dict]:
        """Where the next page starts (pass it as ``**records.next``), or ``None``."""
        return self.summary.get("next")

    def to_arrow(self) -> Any:
        """The records as a ``pyarrow.Table`` (the archive's columns)."""
        if self._table is None:
            pa = _pyarrow()
            if pa is None or self._stream is None:
                raise ImportError(
                    "to_arrow() needs pyarrow: pip install pyarrow (then ask again)"
                )
            # The batches built in Rust, taken over without a copy.
            reader = pa.RecordBatchReader._import_from_c_capsule(self._stream)
            self._stream = None
            self._table = reader.read_all()
        return self._table

    def to_pandas(self, *, strings: str = "arrow", **kwargs: Any) -> Any:
        """The records as a ``pandas.DataFrame`` (through ``to_arrow()``).

        ``strings="arrow"`` (the default) keeps the text columns Arrow-backed
        (``pd.ArrowDtype(pa.string())``: no copy, no Python object per cell, about ten
        times faster on large answers; needs pandas 2); ``strings="pandas"`` leaves
        them to ``pyarrow.Table.to_pandas()``'s own conversion (Python ``str`` cells on
        pandas 2, pandas 3's default string dtype).
        Numbers and times are NumPy columns either way (``seq`` uint64,
        ``ts_recorded``/``ts_event`` datetime64[ns, UTC]). Other keyword arguments go
        to ``pyarrow.Table.to_pandas``.
        """
        table = self.to_arrow()
        if strings == "pandas":
            return table.to_pandas(**kwargs)
        if strings != "arrow":
            raise ValueError(f"strings: use 'arrow' or 'pandas', not {strings!r}")
        import pandas as pd
        import pyarrow as pa

        def mapper(t: Any) -> Any:
            return pd.ArrowDtype(t) if pa.types.is_string(t) or pa.types.is_large_string(t) else None

        kwargs.setdefault("types_mapper", mapper)
        return table.to_pandas(**kwargs)

    def to_polars(self) -> Any:
        """The records as a ``polars.DataFrame`` (through ``to_arrow()``)."""
        import polars

        return polars.from_arrow(self.to_arrow())

    def lines(self) -> List[bytes]:
        """The journal's lines, byte for byte (what ``query --format jsonl`` prints)."""
        if self._lines is None:
            column = self.to_arrow().column("line").to_pylist()
            self._lines = [s.encode("utf-8") for s in column]
        return self._lines

    def __len__(self) -> int:
        return int(self.summary.get("returned", 0))

    def __iter__(self) -> Iterator[dict]:
        return (json.loads(line) for line in self.lines())

    def __repr__(self) -> str:
        more = f", next={self.next}" if self.truncated else ""
        return f"<tradetrail.Records {len(self)} records{more}>"


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
        return self._native.record(event, to_json, durability)

    def record_many(
        self, events: Iterable[Any], *, durability: Optional[str] = None
    ) -> Receipts:
        """Record several events, all or nothing, as one contiguous run of seqs.

        Every event is validated first; if any is bad, ``ValidationError`` lists
        every problem as ``(index, field, reason)`` and nothing is written. Returns
        the receipts in the events' order, as ``Receipts`` (a sequence that indexes,
        iterates and compares like a list).
        """
        return Receipts(self._native.record_many(events, to_json, durability))

    async def arecord(self, event: Any, *, durability: Optional[str] = None) -> Receipt:
        """``record`` for asyncio: runs in a worker thread, never blocking the loop."""
        line = to_json(event)
        return await asyncio.to_thread(self._native.record_json, line, durability)

    async def arecord_many(
        self, events: Iterable[Any], *, durability: Optional[str] = None
    ) -> Receipts:
        """``record_many`` for asyncio: runs in a worker thread."""
        lines = [to_json(e) for e in events]
        return Receipts(
            await asyncio.to_thread(self._native.record_many_json, lines, durability)
        )

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

    def query(
        self,
        type: Pattern = None,
        *,
        since: Instant = None,
        until: Instant = None,
        recorded: bool = False,
        tz: Optional[str] = None,
        limit: Optional[int] = None,
        reverse: bool = False,
        after: Optional[int] = None,
        before: Optional[int] = None,
        **fields: Pattern,
    ) -> Records:
        """The records that match, as ``tradetrail query`` and ``GET /v1/events``
        answer, from the same index.

        Filters are named as the CLI's flags: ``type``, ``source``, ``actor``,
        ``trader``, ``strategy``, ``account``, ``instrument``, ``kind`` (patterns with
        ``*``; a list matches any of them), ``entity`` and ``mentions`` (exact ids),
        ``text`` (free text in ``data``, ignoring ASCII case).
        ``since``/``until`` bound ``ts_event`` (``ts_recorded`` with
        ``recorded=True``): RFC 3339 text, a date, ns since the epoch, or a datetime
        with a time zone; text without an offset (``"2026-11-26"``,
        ``"2026-11-26T09:30"``) is read in ``tz`` (an IANA name, ``+02:00`` or
        ``UTC``), else in the data directory's ``[time] zone``, as the CLI's ``--tz``.
        Without ``limit`` every match is returned; with it,
        ``Records.truncated`` and ``Records.next`` say where the next page starts.

        Bad filters raise ``ValueError`` naming the field, as the CLI does.
        """
        pairs = _pairs({"type": type, **fields}, since, until, recorded, tz)
        arrow = _pyarrow() is not None
        payload, summary = self._native.query(pairs, limit, reverse, after, before, arrow)
        return Records(payload, json.loads(summary))

    def trail(self, id: str) -> dict:
        """The decision chain around an order, recommendation, signal, evaluation or
        approval id: ``{"id", "records", "gaps", "notes"}``, records in ``seq`` order
        (what ``tradetrail trail ID --json`` and ``GET /v1/trail/{id}`` give)."""
        return json.loads(self._native.trail_json(id))

    def stats(
        self,
        by: str = "type",
        *,
        since: Instant = None,
        until: Instant = None,
        recorded: bool = False,
        tz: Optional[str] = None,
        **fields: Pattern,
    ) -> dict:
        """Counts of the matching records by ``by`` (type, source, actor, trader,
        strategy, account, instrument, kind): ``{"by", "rows", "total", "notes"}``.
        ``since``/``until`` and ``tz`` as for :meth:`query`."""
        pairs = _pairs(fields, since, until, recorded, tz)
        return json.loads(self._native.stats_json(by, pairs))

    def positions(
        self, at: Instant = None, *, account: Optional[str] = None, all: bool = False
    ) -> List[dict]:
        """Positions, average cost, P&L derived from the trail as of ``at`` (everything
        recorded by default): one dict per account and instrument, as ``tradetrail
        positions --format jsonl`` prints them (decimals as exact text). Flat
        positions only with ``all=True``."""
        return json.loads(self._native.positions_json(_instant("at", at), account, all))

    def incident(
        self,
        at: Instant,
        window: str = "5m",
        *,
        tz: Optional[str] = None,
        limit: Optional[int] = None,
        **fields: Pattern,
    ) -> dict:
        """Everything within ``window`` (``30s``, ``5m``, ``1h``) either side of ``at``,
        grouped by source and type, with its records (what ``tradetrail incident --at
        AT --window W --json`` gives). ``at`` without an offset is read in ``tz``, else
        the data directory's ``[time] zone``, as the CLI's ``--tz``."""
        at_text = _instant("at", at)
        if at_text is None:
            raise TypeError("at: an instant is required")
        pairs = _pairs(fields, tz=tz)
        return json.loads(self._native.incident_json(at_text, window, pairs, limit))

    # -- checkpoints and proofs -----------------------------------------------------

    def checkpoint(self) -> str:
        """Sign a checkpoint of every record so far and save it, as ``tradetrail
        checkpoint`` does; return the signed note's text, exactly as saved (hand it to
        an auditor, or to :func:`verify_proof` as ``checkpoint``)."""
        note, _size, _root, _path, _seq = self._native.checkpoint()
        return note

    def verifier_key(self) -> str:
        """The journal's verifier key to publish (``tradetrail key show``)."""
        return self._native.verifier_key()

    def prove_inclusion(
        self,
        seq: int,
        *,
        size: Optional[int] = None,
        checkpoint: Optional[PathLike] = None,
    ) -> dict:
        """An inclusion proof that record ``seq`` is in the journal: what ``tradetrail
        prove inclusion --seq SEQ --json`` prints (``seq``, ``size``, ``leaf_hash``,
        ``root``, ``proof``). The tree size: ``size``, else that of the checkpoint
        note in the file ``checkpoint``, else the newest saved checkpoint's, else every
        record. Raises ``ValueError`` for a seq or size out of range."""
        cp = None if checkpoint is None else os.fspath(checkpoint)
        return json.loads(self._native.prove_inclusion_json(seq, size, cp))

    def prove_consistency(
        self,
        old: Optional[int] = None,
        *,
        new: Optional[int] = None,
        old_checkpoint: Optional[PathLike] = None,
        new_checkpoint: Optional[PathLike] = None,
    ) -> dict:
        """A consistency proof that the journal's first ``old`` records are unchanged in
        its first ``new``: what ``tradetrail prove consistency --json`` prints (``old``,
        ``new``, ``old_root``, ``new_root``, ``proof``). Sizes as the CLI's: ``old``
        else the note in ``old_checkpoint`` else the saved checkpoint before the new
        size; ``new`` else ``new_checkpoint`` else the newest saved checkpoint's, else
        every record."""
        oc = None if old_checkpoint is None else os.fspath(old_checkpoint)
        nc = None if new_checkpoint is None else os.fspath(new_checkpoint)
        return json.loads(self._native.prove_consistency_json(old, oc, new, nc))

    def read_line(self, seq: int) -> bytes:
        """Record ``seq``'s line as stored (no newline): the leaf an inclusion proof is
        for (``prove inclusion --record-out``)."""
        return self._native.read_line(seq)

    def log_levels(self) -> dict:
        """The ``[log]`` section of ``tradetrail.toml``: ``{"level": str | None,
        "categories": {category: level}}`` (what ``LogHandler`` applies when given no
        ``levels=``)."""
        level, categories = self._native.log_levels()
        return {"level": level, "categories": dict(categories)}

    def log_metric(
        self,
        name: str,
        value: Any,
        *,
        tags: Optional[dict] = None,
        unit: Optional[str] = None,
        category: Optional[str] = None,
        source: str = "python",
        actor: str = "system",
    ) -> Receipt:
        """Record a ``log.metric`` event: a named value (a decimal) with optional
        ``tags``, ``unit`` and ``category``."""
        from .logs import metric_event

        ev = metric_event(
            name, value, tags=tags, unit=unit, category=category, source=source, actor=actor
        )
        return self.record(ev, durability="os")

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


def _text(what: str, value: Any) -> str:
    """A note or key given as text, or as a path (``os.PathLike``) to a file holding it."""
    if isinstance(value, os.PathLike):
        with open(value, "r", encoding="utf-8") as f:
            return f.read()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    raise TypeError(f"{what}: expected str, bytes or a path, got {type(value).__name__}")


def verify_proof(
    checkpoint: Union[str, bytes, "os.PathLike[str]"],
    key: Union[str, "os.PathLike[str]"],
    proof: Union[dict, str, bytes],
    *,
    record: Union[bytes, str, None] = None,
    old_checkpoint: Union[str, bytes, "os.PathLike[str]", None] = None,
) -> dict:
    """Check a proof offline, with nothing but public material, as ``tradetrail
    verify-proof`` does (the same library code).

    - inclusion: ``record`` (the journal line, ``Recorder.read_line(seq)``) is in the
      journal as of the signed ``checkpoint`` note, by ``proof``
      (``Recorder.prove_inclusion``);
    - consistency (with ``old_checkpoint``): the journal as of ``checkpoint`` extends
      the journal as of ``old_checkpoint``, by ``proof``
      (``Recorder.prove_consistency``).

    ``checkpoint``/``old_checkpoint`` are note text or a path to a file; ``key`` the
    verifier key (``Recorder.verifier_key()``, ``tradetrail key show``) or a path;
    ``proof`` a dict or its JSON. Returns ``{"ok": True, "origin", "seq", "size"}``
    (inclusion) or ``{"ok": True, "origin", "old", "new"}`` (consistency) when it
    proves it, ``{"ok": False, "reason": ...}`` when the inputs are well formed but do
    not (``verify-proof`` exits 1: tampering, or the wrong record). Raises
    ``ValueError`` for malformed inputs or a proof for other tree sizes than the
    checkpoints' (exit 2: says nothing about the journal).
    """
    note = _text("checkpoint", checkpoint)
    vkey = _text("key", key)
    if isinstance(proof, dict):
        proof_bytes = json.dumps(proof).encode("utf-8")
    elif isinstance(proof, str):
        proof_bytes = proof.encode("utf-8")
    else:
        proof_bytes = bytes(proof)
    rec_bytes = record.encode("utf-8") if isinstance(record, str) else record
    old = None if old_checkpoint is None else _text("old_checkpoint", old_checkpoint)
    ok, origin, seq, size, old_size, reason = _verify_proof(
        note, vkey, proof_bytes, rec_bytes, old
    )
    if not ok:
        return {"ok": False, "reason": reason}
    if old is not None:
        return {"ok": True, "origin": origin, "old": old_size, "new": size}
    return {"ok": True, "origin": origin, "seq": seq, "size": size}


from .client import Client, RemoteReceipt  # noqa: E402  (needs _pairs, to_json above)
from .logs import LogHandler  # noqa: E402
