"""The parser protocol and the registry of transcript formats.

One module per format registers one :class:`Parser` with :func:`register`.
``codecensus.ingest`` asks :func:`detect` which parser owns a file and hands
it a :class:`FileContext`; the parser returns a
:class:`~codecensus.records.ParseResult`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from codecs import BOM_UTF8
from collections.abc import Callable, Iterator
from concurrent.futures import InvalidStateError
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
    # Append-only formats may stop after about this many bytes from start_offset (ParseResult.partial):
    # the rows of one huge file then never all sit in memory at once.
    max_bytes: int | None = None
    # The store's salt (``meta``): an id a user may fill is hashed with it (rows.recorded_session_id), so its hash
    # differs between databases and a guessed name cannot be confirmed from an export. "" without a store.
    salt: str = ""
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
_CLAIMERS: list[Any] | None = None  # see _claimers()


def register(parser: Parser) -> Parser:
    global _CLAIMERS
    if parser.name in _REGISTRY:
        raise ValueError(f"parser {parser.name!r} registered twice")
    _REGISTRY[parser.name] = parser
    _CLAIMERS = None
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


def read_head(path: Path, n: int = HEAD_BYTES, errors: list[OSError] | None = None) -> bytes:
    """The first ``n`` bytes of ``path``, without a byte order mark (a detector that asks whether the document
    starts with ``{`` or ``[`` must not be told no by a Windows editor's BOM); ``b""`` when unreadable, and the
    error appended to ``errors`` when given (so a caller tells a file it cannot open from an empty one)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(n).removeprefix(BOM_UTF8)
    except OSError as exc:
        if errors is not None:
            errors.append(exc)
        return b""


# What a format's ``claim`` is shown of a file: its first bytes (as ``read_head`` reads them).
CLAIM_BYTES = 8192


def _claimers() -> list[Any]:
    """The formats with a ``claim(path, start) -> bool`` whose ``claim_checked`` (the formats it was checked
    against) names every registered format: a format registered since turns a claim off (``detect`` asks every
    format then, as without claims)."""
    global _CLAIMERS
    if _CLAIMERS is None:
        ps = parsers()
        _CLAIMERS = [p for p in ps.values() if callable(getattr(p, "claim", None))
                     and set(ps) <= getattr(p, "claim_checked", frozenset())]
    return _CLAIMERS


def detect(path: Path, head: bytes | None = None, errors: list[OSError] | None = None) -> Parser | None:
    """Return the parser most confident about ``path`` (≥ 0.5), or None.

    ``errors``: when given and the file cannot be read, the error is appended there and None returned at once.

    Without ``head``, a format's ``claim`` may answer first from the file's first :data:`CLAIM_BYTES`: true only
    when asking every format about the whole head would pick that one (Claude Code's first line: 64 KB heads and
    every format's ``detect`` cost ~70 µs a file, ~1 s of the ingest writer's CPU per 12K files).
    """
    is_dir = path.is_dir()  # once, not once per parser
    if head is None and not is_dir:
        suffix = path.suffix
        claimers = [p for p in _claimers() if suffix in p.claim_suffixes]
        if claimers:
            start = read_head(path, CLAIM_BYTES, errors)
            if errors:
                return None
            for p in claimers:
                try:
                    if p.claim(path, start):
                        return p  # type: ignore[no-any-return]
                except Exception:  # as a detector: never breaks discovery (the full detection decides)
                    pass
    if head is None:
        head = b"" if is_dir else read_head(path, HEAD_BYTES, errors)
        if errors:
            return None
    best: tuple[float, Parser | None] = (0.0, None)
    for p in parsers().values():
        if is_dir != bool(getattr(p, "folder", False)):
            continue
        try:
            score = p.detect(path, head)
        except Exception:  # a detector must never break discovery
            score = 0.0
        if score > best[0]:
            best = (score, p)
    return best[1] if best[0] >= 0.5 else None


def file_id_for(path: Path, source: str, resolved: str | None = None) -> str:
    """Deterministic id of a file: its resolved path (``resolved`` when the caller knows it) and format."""
    # fsencode: a path need not be valid UTF-8 (the same bytes as .encode() when it is)
    return hashlib.sha1(os.fsencode(f"{source}\0{resolved or path.resolve()}")).hexdigest()[:20]


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
            # a byte order mark (a Windows editor writes one) is not part of the first line
            yield line_no, raw.removeprefix(BOM_UTF8) if offset == 0 else raw, end
            offset = end


BLOCK_BYTES = 1 << 20


def iter_line_blocks(
    path: Path, start: int, final: bool, block_bytes: int = BLOCK_BYTES
) -> Iterator[tuple[list[bytes], int, bool]]:
    """Yield ``(lines, end_offset, ascii)`` for the next block of complete lines of ``path`` from ``start``.

    The same lines as :func:`iter_lines` (split on ``\\n`` only, blank lines included), without
    their newline, about ``block_bytes`` at a time: memory stays flat in file size, and one
    ``bytes.split`` per block replaces one Python iteration per line. ``end_offset`` is the offset
    just past the block's last line; ``ascii`` is true when the whole block is ASCII (so valid
    UTF-8: no line needs checking). A last line without a newline is yielded (alone) only when
    ``final`` is true.
    """
    offset = start
    parts: list[bytes] = []  # the start of a line that did not end in the blocks read so far, in pieces
    held = 0  # their length
    with open(path, "rb") as fh:
        fh.seek(start)
        while True:
            data = fh.read(block_bytes)
            if not data:
                break
            if offset == 0 and not parts and data.startswith(BOM_UTF8):  # not part of the first line
                data = data[len(BOM_UTF8) :]
                offset = len(BOM_UTF8)
            lines = data.split(b"\n")
            if len(lines) == 1:  # no line ends in this block
                parts.append(data)
                held += len(data)
                continue
            ascii_block = data.isascii()
            if parts:
                # The first line began in earlier blocks: join only its pieces, never the whole block.
                parts.append(lines[0])
                lines[0] = b"".join(parts)
                parts = []
                ascii_block = ascii_block and lines[0].isascii()
            rest = lines.pop()
            offset += held + len(data) - len(rest)
            held = 0
            if rest:
                parts.append(rest)
                held = len(rest)
            yield lines, offset, ascii_block
    if parts and final:
        last = b"".join(parts)
        yield [last], offset + len(last), last.isascii()


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
            rec = decode_line(raw, line_no, self.bad)
            if rec is not None:
                yield line_no, rec


# A JSON string escape that matters for surrogates: an escaped backslash (consumed first, so that "\\\\ud83d" is a
# backslash and plain text), a high+low surrogate pair, or a lone surrogate of either half.
_SURROGATE_ESCAPE = re.compile(
    rb"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)


def _fix_surrogate(m: re.Match[bytes]) -> bytes:
    s = m.group(0)
    return s if len(s) != 6 else b"\\ufffd"  # a lone surrogate (6 bytes); a pair (12) or a backslash (2) stays


def sanitize_surrogates(data: bytes) -> bytes | None:
    """``data`` with every lone UTF-16 surrogate escape (``\\ud83d`` without its low half, or a low half alone)
    replaced by ``\\ufffd``; ``None`` when it has none.

    JavaScript's JSON.stringify writes such escapes when a string was cut inside a surrogate pair: Claude Code before
    2.1.132 did when a tool error's truncation split an emoji. They are valid JSON syntax, but orjson and msgspec
    refuse them ("no low surrogate in string"), so the whole line was counted damaged and lost."""
    if b"\\u" not in data:
        return None
    fixed = _SURROGATE_ESCAPE.sub(_fix_surrogate, data)
    return fixed if fixed != data else None


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """``orjson.loads``, and where it fails on a lone surrogate escape (:func:`sanitize_surrogates`), the same document
    with those replaced by U+FFFD. Any other error is orjson's, raised as before."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raw = data.encode() if isinstance(data, str) else bytes(data)
        fixed = sanitize_surrogates(raw)
        if fixed is None:
            raise
        return orjson.loads(fixed)


def decode_line(raw: bytes, line_no: int, bad: Callable[[int, str, str], Any]) -> dict[str, Any] | None:
    """The JSON object on one line; ``None`` for a blank line, or a damaged or non-object one (reported to ``bad``)."""
    stripped = raw.strip()
    if not stripped:
        return None
    try:
        rec = loads(stripped)
    except orjson.JSONDecodeError as exc:
        bad(line_no, "bad_json", str(exc)[:120])
        return None
    if not isinstance(rec, dict):
        bad(line_no, "bad_record", f"JSON {type(rec).__name__}, not an object")
        return None
    return rec


Run = tuple[list[ParseResult | str], dict[str, Any] | None]


def parse_chunk(items: list[tuple[str, FileContext]]) -> list[Run]:
    """Parse a chunk of files (in a parser process or in-process); a file that fails gives its error text.

    Consecutive files of a parser with ``parse_many`` are parsed together and their rows come
    back as one set of Arrow tables (one conversion per chunk, not per file; Arrow tables pickle
    as buffers, far cheaper than Python rows); the others come back file by file, frozen.
    """
    runs: list[Run] = []
    i = 0
    while i < len(items):
        name = items[i][0]
        j = i
        while j < len(items) and items[j][0] == name:
            j += 1
        parser = get(name)
        ctxs = [ctx for _, ctx in items[i:j]]
        many = getattr(parser, "parse_many", None)
        if many is not None:
            try:
                results, merged = many(ctxs)
                _fingerprint_results(ctxs, results)
                runs.append((results, merged))
            except Exception as exc:  # reported per file by the writer
                if len(ctxs) == 1:
                    runs.append(([f"{type(exc).__name__}: {exc}"], None))
                else:  # one file must not fail the others (every run would fail them again): each on its own
                    for ctx in ctxs:
                        runs += parse_chunk([(name, ctx)])
        else:
            out: list[ParseResult | str] = []
            for ctx in ctxs:
                try:
                    out.append(parser.parse(ctx).freeze())
                except Exception as exc:  # reported per file by the writer
                    out.append(f"{type(exc).__name__}: {exc}")
            runs.append((out, None))
        i = j
    return runs


def _hash_range(path: Path, start: int, end: int) -> str:
    if end <= start:
        return ""
    fd = os.open(path, os.O_RDONLY)  # one pread: a third of a buffered open's cost (checked on every unchanged file)
    try:
        return hashlib.sha1(os.pread(fd, end - start, start)).hexdigest()
    finally:
        os.close(fd)


def tail_fingerprint(path: Path, consumed: int) -> str:
    """The hash of a file's last 4 KB before ``consumed`` (the ``tail_hash`` stored for it)."""
    return _hash_range(path, max(0, consumed - 4096), consumed)


def fingerprints(path: Path, consumed: int) -> tuple[str, str]:
    """(head, tail) hashes of a file's first and last 4 KB before ``consumed``: an append is
    resumed only when both are unchanged."""
    return _hash_range(path, 0, min(4096, consumed)), tail_fingerprint(path, consumed)


def _fingerprint_results(ctxs: list[FileContext], results: list[ParseResult | str]) -> None:
    for ctx, res in zip(ctxs, results, strict=True):
        if not isinstance(res, str) and not ctx.path.is_dir():
            with contextlib.suppress(OSError):  # else the writer computes them (and reports the file)
                res.fingerprints = fingerprints(ctx.path, res.consumed)


_LIBC: Any = None


def release_memory() -> None:
    """Give freed heap memory back to the system (glibc keeps it otherwise; RSS stays flat per chunk)."""
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes

            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


def worker_init() -> None:
    """Set up a parser process (one that only parses and sends Arrow tables back).

    pyarrow imports pandas the first time it converts a Python list (+57 MB per process), only
    to ask whether the list is a pandas object. A parser process never holds pandas objects:
    mark pandas unavailable here, in the parser process only (the writer is left alone).
    """
    import sys

    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, _NoPandas())
    import pyarrow as pa

    # The system allocator gives freed chunk buffers back; mimalloc kept ~25 MB more per process.
    pa.set_memory_pool(pa.system_memory_pool())
    parsers()  # import every format once, before the first chunk
    from codecensus.runtime import tune_worker_gc

    tune_worker_gc()  # after the imports: they go to the permanent generation


class _NoPandas:
    """A meta path finder that makes ``import pandas`` fail (in parser processes only)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"pandas is not used in parser processes ({name})", name=name)
        return None


def worker_main() -> None:
    """Entry point of a parser process (see :class:`ParserPool`): chunks in on stdin, results out on stdout.

    Frames are an 8-byte little-endian length and a pickle. Runs until stdin closes (which also
    happens when the writer dies, so no parser process outlives it).
    """
    import functools
    import pickle
    import signal
    import sys

    from codecensus.runtime import write_all

    # Ctrl-C is the writer's to handle: this process ends when its stdin closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    inp = sys.stdin.buffer
    # The frames are written in full (see write_all), on a descriptor of their own: whatever else is
    # written to stdout, by Python or by a library's C code, goes to stderr and cannot corrupt them.
    send = functools.partial(os.write, os.dup(1))
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    worker_init()
    while True:
        head = inp.read(8)
        if len(head) < 8:
            return
        items = pickle.loads(inp.read(int.from_bytes(head, "little")))
        try:
            runs: Any = parse_chunk(items)
        except Exception as exc:  # parse_chunk reports per file; this is a last resort
            runs = [([f"{type(exc).__name__}: {exc}"] * len(items), None)]
        payload = pickle.dumps(runs, protocol=pickle.HIGHEST_PROTOCOL)
        del runs
        write_all(send, len(payload).to_bytes(8, "little"))
        write_all(send, payload)
        del payload
        release_memory()


MAX_FRAME = 1 << 34  # 16 GiB: a longer result frame can only be a corrupt stream


class ParserPool:
    """Parser processes for ingest: ``submit(items)`` gives a future of :func:`parse_chunk`'s result.

    Plain child processes (``python -c``) fed over pipes, not ``multiprocessing``: a forked child
    would carry (and count in RSS) every page of the writer, its DuckDB buffers included, and a
    spawned one re-imports the caller's main script. These import only the parsers. One reader
    thread per process collects results in order; a process that dies, or whose result stream breaks, fails
    its pending chunks and gets no more work.
    """

    def __init__(self, n: int, *, command: list[str] | None = None) -> None:
        """``n`` parser processes; ``command`` replaces the parser process's command line (tests use it to
        stand in a process that breaks the frame protocol)."""
        import subprocess
        import sys
        import threading
        from collections import deque
        from concurrent.futures import Future

        import codecensus

        self._Future = Future
        src = str(Path(codecensus.__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([src, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
        cmd = command or [sys.executable, "-c", "from codecensus.sources.base import worker_main; worker_main()"]
        self._procs = [
            subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env) for _ in range(n)
        ]
        self._queues: list[deque[Any]] = [deque() for _ in range(n)]
        self._gone = [False] * n  # a process's reader stopped: nothing more is read from it
        self._lock = threading.Lock()
        self._wlocks = [threading.Lock() for _ in range(n)]
        self._threads = [threading.Thread(target=self._read, args=(i,), daemon=True) for i in range(n)]
        for t in self._threads:
            t.start()

    def submit(self, items: list[tuple[str, FileContext]]) -> Any:
        import pickle

        fut = self._Future()
        payload = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            # the least busy process still working: one whose results are no longer read (or that exited) must
            # not be given work, which would never end; when none is left, the chunk fails
            live = [k for k, p in enumerate(self._procs) if not self._gone[k] and p.poll() is None]
            if not live:
                fut.set_exception(RuntimeError(f"no parser process left (exit codes {[p.returncode for p in self._procs]})"))
                return fut
            i = min(live, key=lambda k: len(self._queues[k]))
            proc = self._procs[i]
            assert proc.stdin is not None
            self._queues[i].append(fut)
            # Writes to one process go in the order of its queue; taken before the shared lock is let go.
            wlock = self._wlocks[i]
            wlock.acquire()
        # The write may block while the process is busy writing results: never under the shared lock, which
        # the reader thread needs to hand a result over (held here, it deadlocked with many chunks queued).
        try:
            proc.stdin.write(len(payload).to_bytes(8, "little") + payload)
            proc.stdin.flush()
        except OSError as exc:
            with self._lock:
                if fut in self._queues[i]:
                    self._queues[i].remove(fut)
            with contextlib.suppress(InvalidStateError):  # the reader thread failed it already (the process ended)
                fut.set_exception(RuntimeError(f"parser process is gone: {exc}"))
        finally:
            wlock.release()
        return fut

    def _read(self, i: int) -> None:
        import pickle
        import subprocess

        proc = self._procs[i]
        assert proc.stdout is not None
        out = proc.stdout
        failure = ""
        while True:
            try:
                head = out.read(8)
                size = int.from_bytes(head, "little") if len(head) == 8 else 0
                if size > MAX_FRAME:
                    raise ValueError(f"a result frame of {size:,} bytes (corrupt stream)")
                data = out.read(size) if size else b""
                if size and len(data) != size:
                    raise ValueError(f"a result frame cut short ({len(data):,} of {size:,} bytes)")
            except BaseException as exc:  # noqa: BLE001 - whatever breaks the stream, the chunks must fail, not hang
                failure = f"{type(exc).__name__}: {exc}"
                data = b""
            with self._lock:
                if not data:
                    self._gone[i] = True
                    pending = list(self._queues[i])
                    self._queues[i].clear()
                    break
                fut = self._queues[i].popleft()
            try:
                fut.set_result(pickle.loads(data))
            except Exception as exc:
                fut.set_exception(exc)
        # A broken stream is stopped at once; a process whose output ended but lives on gets 2 s to exit (nothing
        # it does can be read any more).
        try:
            proc.wait(timeout=0 if failure else 2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        why = f"parser process {proc.pid}: {failure}" if failure else f"parser process exited with code {proc.returncode}"
        for fut in pending:
            with contextlib.suppress(InvalidStateError):  # failed by submit() already
                fut.set_exception(RuntimeError(why))

    def close(self) -> None:
        for proc in self._procs:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
        for t in self._threads:
            t.join()

    def __enter__(self) -> ParserPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
