"""The parser protocol and the registry of transcript formats.

One module per format registers one :class:`Parser` with :func:`register`.
``codecensus.ingest`` asks :func:`detect` which parser owns a file and hands
it a :class:`FileContext`; the parser returns a
:class:`~codecensus.records.ParseResult`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import orjson

from codecensus.records import ParseResult


@dataclass(slots=True)
class FileContext:
    """What a parser is told about the file it parses."""

    path: Path
    file_id: str
    user: str | None = None  # raw user name the operator attributed the file to
    start_offset: int = 0  # resume here (append-only formats)
    start_line: int = 0  # number of lines already consumed
    session_key: str | None = None  # known from an earlier run of this file
    final: bool = True  # False while the file may still be written (keep a partial last line)
    extra: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class Parser(Protocol):
    name: str  # stable format name, e.g. "claude_code"
    version: str  # bump when parsing changes; files are re-parsed
    append_only: bool  # True: can resume from an offset; False: whole file re-parsed on change
    # True: the parser reads the whole folder `path` (e.g. a task folder); ingest hands it the folder.
    folder: bool

    def detect(self, path: Path, head: bytes) -> float:
        """Confidence 0..1 that ``path`` (with its first bytes ``head``) is this format."""
        ...

    def role(self, path: Path) -> str:
        """'main', 'subagent' or 'aux' (read for another file, never a session of its own)."""
        ...

    def parse(self, ctx: FileContext) -> ParseResult:
        """Parse the file from ``ctx.start_offset``."""
        ...


_REGISTRY: dict[str, Parser] = {}


def register(parser: Parser) -> Parser:
    if parser.name in _REGISTRY:
        raise ValueError(f"parser {parser.name!r} registered twice")
    _REGISTRY[parser.name] = parser
    return parser


def parsers() -> dict[str, Parser]:
    from codecensus import sources  # noqa: F401  (imports every format module)

    return dict(_REGISTRY)


def get(name: str) -> Parser:
    p = parsers()
    if name not in p:
        raise KeyError(f"unknown format {name!r}; known: {sorted(p)}")
    return p[name]


HEAD_BYTES = 65536


def read_head(path: Path, n: int = HEAD_BYTES) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def detect(path: Path, head: bytes | None = None) -> Parser | None:
    """Return the parser most confident about ``path`` (≥ 0.5), or None."""
    if head is None:
        head = b"" if path.is_dir() else read_head(path)
    best: tuple[float, Parser | None] = (0.0, None)
    for p in parsers().values():
        if path.is_dir() != bool(getattr(p, "folder", False)):
            continue
        try:
            score = p.detect(path, head)
        except Exception:  # a detector must never break discovery
            score = 0.0
        if score > best[0]:
            best = (score, p)
    return best[1] if best[0] >= 0.5 else None


def file_id_for(path: Path, source: str) -> str:
    """Deterministic id of a file: its resolved path and format."""
    return hashlib.sha1(f"{source}\0{path.resolve()}".encode()).hexdigest()[:20]


def iter_lines(path: Path, start: int, start_line: int, final: bool) -> Iterator[tuple[int, bytes, int]]:
    """Yield ``(line_no, raw_line, end_offset)`` from ``start``.

    A last line without a newline is yielded only when ``final`` is true (the
    file is no longer being written); otherwise it is left for the next run.
    Line numbers are 1-based and count every line, blank or not.
    """
    line_no = start_line
    offset = start
    with open(path, "rb") as fh:
        fh.seek(start)
        for raw in fh:
            line_no += 1
            end = offset + len(raw)
            if not raw.endswith(b"\n") and not final:
                return
            yield line_no, raw, end
            offset = end


class JsonLines:
    """Reads a JSONL transcript from an offset, the way every line-oriented format needs it.

    Iterating yields ``(line_no, record)`` for each line holding a JSON object; a line that does
    not parse or is not an object goes to ``bad(line_no, kind, detail)`` and is skipped. After the
    loop, ``consumed`` and ``lines`` say where reading stopped (for incremental resumption).
    """

    def __init__(
        self,
        path: Path,
        bad: Callable[[int, str, str], None],
        *,
        start: int = 0,
        start_line: int = 0,
        final: bool = True,
    ) -> None:
        self.path = path
        self.bad = bad
        self.start = start
        self.start_line = start_line
        self.final = final
        self.consumed = start
        self.lines = start_line

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for line_no, raw, end in iter_lines(self.path, self.start, self.start_line, self.final):
            self.consumed, self.lines = end, line_no
            stripped = raw.strip()
            if not stripped:
                continue
            try:
                rec = orjson.loads(stripped)
            except orjson.JSONDecodeError as exc:
                self.bad(line_no, "bad_json", str(exc)[:120])
                continue
            if not isinstance(rec, dict):
                self.bad(line_no, "bad_record", f"JSON {type(rec).__name__}, not an object")
                continue
            yield line_no, rec
