"""Typed records passed between stages.

Every transcript parser (``codecensus.sources.*``) turns a file into the same
normalised rows below; ``codecensus.store`` loads them into DuckDB through
Arrow; ``codecensus.measure`` turns them into one :class:`SessionRow`-shaped
row per session with SQL.

Row identity is always ``(file_id, line, seq)``: deterministic, so a re-run
after a crash produces byte-identical tables.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
import numpy as np
import pyarrow as pa

from codecensus.paths import as_text


class Row(msgspec.Struct, kw_only=True):
    """Base of every stored row; subclasses declare ``TABLE`` and ``ARROW``."""

    TABLE: ClassVar[str] = ""
    ARROW: ClassVar[pa.Schema]


_ID = [
    ("session_key", pa.string()),
    ("file_id", pa.string()),
    ("line", pa.int32()),
    ("seq", pa.int16()),
    ("uuid", pa.string()),
    ("ts", pa.timestamp("ms", tz="UTC")),
    ("is_subagent", pa.bool_()),
]


class _Base(Row, kw_only=True):
    session_key: str
    file_id: str
    line: int
    seq: int = 0
    uuid: str | None = None
    ts: int | None = None  # epoch milliseconds, UTC
    is_subagent: bool = False


class PromptRec(_Base, kw_only=True):
    """A message typed by the human (taxonomy §1)."""

    TABLE: ClassVar[str] = "prompts"
    ARROW: ClassVar[pa.Schema] = pa.schema(
        [*_ID, ("text", pa.string()), ("words", pa.int32()), ("chars", pa.int32()), ("queued", pa.bool_())]
    )
    text: str
    words: int
    chars: int
    queued: bool = False


class MessageRec(_Base, kw_only=True):
    """One assistant record (one content block) with its API usage."""

    TABLE: ClassVar[str] = "messages"
    ARROW: ClassVar[pa.Schema] = pa.schema(
        [
            *_ID,
            ("msg_id", pa.string()),
            ("request_id", pa.string()),
            ("model", pa.string()),
            ("block", pa.string()),
            ("visible_words", pa.int32()),
            ("input_tokens", pa.int64()),
            ("output_tokens", pa.int64()),
            ("cache_read_tokens", pa.int64()),
            ("cache_creation_tokens", pa.int64()),
            ("cost_usd", pa.float64()),
            ("synthetic", pa.bool_()),
            ("text", pa.string()),
        ]
    )
    msg_id: str | None = None
    request_id: str | None = None
    model: str | None = None
    block: str = "text"  # text | tool_use | thinking | other
    visible_words: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    cost_usd: float | None = None  # only when the format records it
    synthetic: bool = False
    text: str | None = None  # head of a visible reply (raw-transcript table)


class ActionRec(_Base, kw_only=True):
    """One tool call by the agent."""

    TABLE: ClassVar[str] = "actions"
    ARROW: ClassVar[pa.Schema] = pa.schema(
        [
            *_ID,
            ("msg_id", pa.string()),
            ("tool_use_id", pa.string()),
            ("tool", pa.string()),
            ("category", pa.string()),
            ("input_words", pa.int32()),
            ("file_path", pa.string()),
            ("command", pa.string()),
            ("is_test", pa.bool_()),
            ("is_commit", pa.bool_()),
            ("is_push", pa.bool_()),
            ("is_deploy", pa.bool_()),
            ("agent_id", pa.string()),
        ]
    )
    msg_id: str | None = None
    tool_use_id: str | None = None
    tool: str
    category: str  # read | edit | write | shell | search | web | agent | plan | todo | ask | mcp | other
    input_words: int = 0
    file_path: str | None = None
    command: str | None = None
    is_test: bool = False
    is_commit: bool = False
    is_push: bool = False
    is_deploy: bool = False
    agent_id: str | None = None  # subagent spawned by this call, when known


class ResultRec(_Base, kw_only=True):
    """The result of a tool call."""

    TABLE: ClassVar[str] = "results"
    ARROW: ClassVar[pa.Schema] = pa.schema(
        [
            *_ID,
            ("tool_use_id", pa.string()),
            ("is_error", pa.bool_()),
            ("rejected", pa.bool_()),
            ("interrupted", pa.bool_()),
            ("file_op", pa.string()),
            ("test_status", pa.string()),
            ("exit_code", pa.int64()),
            ("agent_id", pa.string()),
            ("agent_actions", pa.int32()),
            ("text", pa.string()),
        ]
    )
    tool_use_id: str | None = None
    is_error: bool = False
    rejected: bool = False
    interrupted: bool = False
    file_op: str | None = None  # create | update
    test_status: str | None = None  # pass | fail | None (not a test summary)
    exit_code: int | None = None
    agent_id: str | None = None
    agent_actions: int | None = None
    text: str | None = None  # head of the output (raw-transcript table)


class EventRec(_Base, kw_only=True):
    """Structural events: turn durations, compactions, API errors, interrupts, queue ops."""

    TABLE: ClassVar[str] = "events"
    ARROW: ClassVar[pa.Schema] = pa.schema(
        [*_ID, ("kind", pa.string()), ("detail", pa.string()), ("value", pa.float64())]
    )
    kind: str  # turn_duration | compaction | api_error | interrupt | injected | queue | outcome_truth | ...
    detail: str | None = None
    value: float | None = None


class BadLine(msgspec.Struct, kw_only=True):
    """A damaged or unknown line: never fatal, always counted with file and line."""

    TABLE: ClassVar[str] = "ingest_log"
    ARROW: ClassVar[pa.Schema] = pa.schema(
        [
            ("file_id", pa.string()),
            ("path", pa.string()),
            ("line", pa.int32()),
            ("kind", pa.string()),
            ("detail", pa.string()),
            ("count", pa.int32()),
        ]
    )
    file_id: str
    path: str
    line: int
    kind: str  # bad_json | bad_record | unknown_type | unknown_block
    detail: str
    count: int = 1


class SessionInfo(msgspec.Struct, kw_only=True):
    """Per-file facts about a session, merged across appends and files."""

    TABLE: ClassVar[str] = "session_files"
    ARROW: ClassVar[pa.Schema] = pa.schema(
        [
            ("session_key", pa.string()),
            ("file_id", pa.string()),
            ("session_id", pa.string()),
            ("source", pa.string()),
            ("role", pa.string()),
            ("agent_id", pa.string()),
            ("user_key", pa.string()),
            ("project_key", pa.string()),
            ("first_ts", pa.timestamp("ms", tz="UTC")),
            ("last_ts", pa.timestamp("ms", tz="UTC")),
            ("version", pa.string()),
            ("entrypoint", pa.string()),
            ("records", pa.int32()),
        ]
    )
    session_key: str
    file_id: str
    session_id: str
    source: str
    role: str = "main"  # main | subagent
    agent_id: str | None = None
    user_key: str | None = None  # raw user name (hashed before anything leaves the store)
    project_key: str | None = None  # raw cwd / project (hashed in exports)
    first_ts: int | None = None
    last_ts: int | None = None
    version: str | None = None
    entrypoint: str | None = None
    records: int = 0


ROW_TYPES: tuple[type[Any], ...] = (PromptRec, MessageRec, ActionRec, ResultRec, EventRec)


_EMPTY: dict[str, pa.Table] = {}


def to_arrow(rows: list[Any], cls: type[Any]) -> pa.Table:
    """Column-wise conversion of a list of structs into an Arrow table."""
    schema: pa.Schema = cls.ARROW
    if not rows:
        empty = _EMPTY.get(cls.TABLE)
        if empty is None:
            empty = _EMPTY[cls.TABLE] = schema.empty_table()
        return empty
    cols = zip(*map(msgspec.structs.astuple, rows), strict=True)
    # pa.array takes epoch-millisecond ints for a timestamp type directly (no cast pass).
    arrays = [array(data, field.type) for field, data in zip(schema, cols, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


_INT64 = (-(2**63), 2**63 - 1)


def array(values: Any, typ: pa.DataType) -> pa.Array:
    """``pa.array(values, typ)`` for values a transcript may have made unfit; they are cleaned only if it fails.

    - Text that is not valid Unicode (a file or folder name's bytes: parsers take ids, projects and users from
      names) is written with escapes (:func:`codecensus.paths.as_text`).
    - An integer beyond 64 bits (a damaged or absurd count, e.g. ``"output_tokens": 1e30`` written as digits)
      becomes null: unknown, not a number.
    - A value of another kind than its column's (a parser passed on a transcript's ``true`` where a number
      belongs) becomes null.

    Each of those used to make the conversion of its whole chunk of files fail. And whatever the first try gave:

    - A text longer than :data:`MAX_TEXT_CHARS` (a damaged id, a path, a prompt of hundreds of MB) is cut there:
      DuckDB could not checkpoint a single 286 MB value under its memory limit, a fatal error that left every
      later ingest of the database failing the same way.
    """
    try:
        arr = pa.array(values, typ)
    except UnicodeEncodeError:
        arr = array([as_text(v) if isinstance(v, str) else v for v in values], typ)
    except (OverflowError, pa.ArrowTypeError, pa.ArrowInvalid):
        kinds = (int,) if pa.types.is_timestamp(typ) else _KINDS.get(typ.id)
        if kinds is None:
            raise
        lo, hi = _INT64
        arr = pa.array([(as_text(v) if v.__class__ is str else v)
                        if v.__class__ in kinds and (v.__class__ is not int or lo <= v <= hi) else None
                        for v in values], typ)
    if typ.id == _STRING_ID and _may_hold_overlong(arr):
        arr = pa.array([stored_text(v) for v in arr.to_pylist()], typ)
    return arr


MAX_TEXT_CHARS = 262_144  # at most 1 MiB of UTF-8: far above any text a parser keeps on purpose (see array())
_STRING_ID = pa.string().id


def stored_text(s: str | None) -> str | None:
    """``s`` as a text column stores it (:func:`array`): undecodable bytes escaped, cut at :data:`MAX_TEXT_CHARS`.

    For text stored beside the rows by other means (the ``files`` bookkeeping), so that it joins with them.
    """
    return as_text(s)[:MAX_TEXT_CHARS] if s else s


def _may_hold_overlong(arr: pa.Array) -> bool:
    """Whether a value of a string array may be longer than :data:`MAX_TEXT_CHARS` characters: its UTF-8 bytes
    are. O(1) unless the column's text is that long in total (then one pass over its offsets)."""
    data = arr.buffers()[2]
    if data is None or data.size <= MAX_TEXT_CHARS:
        return False
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4)
    return bool(np.diff(offsets).max() > MAX_TEXT_CHARS)


# The Python values each column type takes (a bool is not a number here, though Python says it is an int).
_KINDS: dict[int, tuple[type, ...]] = {
    **{t.id: (int,) for t in (pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64())},
    **{t.id: (int, float) for t in (pa.float16(), pa.float32(), pa.float64())},
    pa.string().id: (str,),
    pa.bool_().id: (bool,),
}


def _check_field_order() -> None:
    for cls in (*ROW_TYPES, BadLine, SessionInfo):
        names = [f for f in cls.__struct_fields__]
        if names != cls.ARROW.names:
            raise AssertionError(f"{cls.__name__}: struct fields {names} != arrow schema {cls.ARROW.names}")


_check_field_order()


class ParseResult(msgspec.Struct, kw_only=True):
    """Everything a parser extracted from one file (or the appended tail of one)."""

    sessions: list[SessionInfo] = msgspec.field(default_factory=list)
    prompts: list[PromptRec] = msgspec.field(default_factory=list)
    messages: list[MessageRec] = msgspec.field(default_factory=list)
    actions: list[ActionRec] = msgspec.field(default_factory=list)
    results: list[ResultRec] = msgspec.field(default_factory=list)
    events: list[EventRec] = msgspec.field(default_factory=list)
    bad: list[BadLine] = msgspec.field(default_factory=list)
    consumed: int = 0  # bytes consumed (end of the last complete line)
    lines: int = 0  # lines consumed
    arrow: dict[str, Any] | None = None  # set by freeze(): rows already converted
    # Set by parsers that convert a chunk of files at once: this file's row count per table in the
    # chunk's tables (see split_tables).
    row_counts: dict[str, int] | None = None
    # (head, tail) hashes of the consumed bytes, when the parser process computed them.
    fingerprints: tuple[str, str] | None = None
    # Set by share_tables: the chunk's tables and this file's first row in each; its slices are cut when asked for.
    chunk: tuple[dict[str, Any], dict[str, int]] | None = None
    # Why the file's one JSON document could not be read at all (cut short or damaged: a file rewritten whole may
    # be caught mid-write): ingest then keeps what an earlier run stored from the file instead of replacing it.
    unreadable: str | None = None
    # Stopped after FileContext.max_bytes with more of the file left: the rest is read from ``consumed`` on.
    partial: bool = False

    def freeze(self) -> ParseResult:
        """Convert the rows to Arrow now (in a worker process) and drop the Python rows."""
        self.arrow = self.tables()
        for cls in ROW_TYPES:
            setattr(self, cls.TABLE, [])
        return self

    def tables(self) -> dict[str, pa.Table]:
        if self.arrow is not None:
            return self.arrow
        if self.chunk is not None:
            self.arrow = {name: tbl.slice(o, n) for name, (tbl, o, n) in self.table_parts().items()}
            return self.arrow
        out = {
            "session_files": to_arrow(self.sessions, SessionInfo),
            "ingest_log": to_arrow(self.bad, BadLine),
        }
        for cls in ROW_TYPES:
            out[cls.TABLE] = to_arrow(getattr(self, cls.TABLE), cls)
        return out

    def table_parts(self) -> dict[str, tuple[pa.Table, int, int]]:
        """Each table as (table, first row, rows): the file's own part of its chunk's table (see
        :func:`share_tables`) without cutting it, so that a writer can take neighbouring files as one slice."""
        if self.arrow is None and self.chunk is not None:
            tables, offsets = self.chunk
            counts = self.row_counts or {}
            return {name: (tbl, offsets[name], counts.get(name, 0)) for name, tbl in tables.items()}
        return {name: (tbl, 0, tbl.num_rows) for name, tbl in self.tables().items()}


def share_tables(results: list[ParseResult | str], merged: dict[str, pa.Table]) -> None:
    """:func:`split_tables` without the slices: each result (error strings skipped) keeps ``merged`` and its
    first row in each table; :meth:`ParseResult.tables` cuts its slices when asked for them.

    The ingest writer takes the parts of a batch's neighbouring files as one slice (see
    ``Store.commit_files``): slicing every file's seven tables cost ~35 µs a file of its CPU (0.21 s of a
    6,158-file round) and gave ``concat_tables`` one piece per file and table.
    """
    offsets = dict.fromkeys(merged, 0)
    for r in results:
        if isinstance(r, str) or r.row_counts is None:
            continue
        r.chunk = (merged, dict(offsets))
        for name in merged:
            offsets[name] += r.row_counts.get(name, 0)


def split_tables(results: list[ParseResult | str], merged: dict[str, pa.Table]) -> None:
    """Give each result (in order; error strings skipped) its own zero-copy slices of ``merged``.

    ``merged`` holds the rows of several files one after the other, each file's count in its
    ``row_counts``. Slice in the process that uses the tables: a pickled slice carries the whole
    buffers.
    """
    offsets = dict.fromkeys(merged, 0)
    for r in results:
        if isinstance(r, str) or r.row_counts is None:
            continue
        arrow: dict[str, pa.Table] = {}
        for name, tbl in merged.items():
            n = r.row_counts.get(name, 0)
            arrow[name] = tbl.slice(offsets[name], n)
            offsets[name] += n
        r.arrow = arrow
