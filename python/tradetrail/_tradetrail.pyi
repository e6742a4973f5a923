"""Type stubs of the native half of the package (``tradetrail._tradetrail``)."""

from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union, final

class TradetrailError(Exception):
    """A damaged or contradicted journal, a locked or missing data directory, an I/O
    error, or a closed recorder. The message is the Rust library's."""

class ValidationError(TradetrailError, ValueError):
    """Bad events; nothing was written."""

    errors: List[Tuple[int, str, str]]
    """``(index, field, reason)`` for every problem (index: position in the call)."""

class ConflictError(TradetrailError, ValueError):
    """An ``event_id`` reused with another body; nothing was written."""

@final
class Receipt:
    @property
    def seq(self) -> int: ...
    @property
    def hash(self) -> str: ...
    @property
    def duplicate(self) -> bool: ...
    @property
    def ts_recorded(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...

@final
class ReceiptList:
    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> Receipt: ...

@final
class NativeRecorder:
    @staticmethod
    def open(path: str) -> NativeRecorder: ...
    @property
    def path(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def recovered(self) -> Optional[Tuple[int, Optional[str]]]: ...
    def record_json(self, line: bytes, durability: Optional[str] = None) -> Receipt: ...
    def record_many_json(
        self, lines: List[bytes], durability: Optional[str] = None
    ) -> ReceiptList: ...
    def record(
        self, event: Any, to_json: Callable[[Any], bytes], durability: Optional[str] = None
    ) -> Receipt: ...
    def record_many(
        self,
        events: Iterable[Any],
        to_json: Callable[[Any], bytes],
        durability: Optional[str] = None,
    ) -> ReceiptList: ...
    def flush(self) -> None: ...
    def verify_json(self) -> str: ...
    def query(
        self,
        filters: List[Tuple[str, str]],
        limit: Optional[int] = None,
        reverse: bool = False,
        after: Optional[int] = None,
        before: Optional[int] = None,
        arrow: bool = True,
    ) -> Tuple[Union[Any, List[bytes]], str]: ...
    def trail_json(self, id: str) -> str: ...
    def positions_json(
        self, at: Optional[str] = None, account: Optional[str] = None, all: bool = False
    ) -> str: ...
    def stats_json(self, by: str, filters: List[Tuple[str, str]]) -> str: ...
    def incident_json(
        self,
        at: str,
        window: str,
        filters: List[Tuple[str, str]],
        limit: Optional[int] = None,
    ) -> str: ...
    def checkpoint(self) -> Tuple[str, int, str, str, int]: ...
    def verifier_key(self) -> str: ...
    def prove_inclusion_json(
        self, seq: int, size: Optional[int] = None, checkpoint: Optional[str] = None
    ) -> str: ...
    def prove_consistency_json(
        self,
        old: Optional[int] = None,
        old_checkpoint: Optional[str] = None,
        new: Optional[int] = None,
        new_checkpoint: Optional[str] = None,
    ) -> str: ...
    def read_line(self, seq: int) -> bytes: ...
    def log_levels(self) -> Tuple[Optional[str], Dict[str, str]]: ...
    def close(self) -> Optional[str]: ...

def init(path: str, origin: Optional[str] = None) -> None: ...
def verify_proof(
    checkpoint: str,
    key: str,
    proof: bytes,
    record: Optional[bytes] = None,
    old_checkpoint: Optional[str] = None,
) -> Tuple[
    bool, Optional[str], Optional[int], Optional[int], Optional[int], Optional[str]
]: ...
