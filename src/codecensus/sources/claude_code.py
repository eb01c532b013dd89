"""Claude Code on-disk JSONL transcripts, every generation (1.0.x – 2.1.2xx).

Implements transcript-formats.md §1: the human-prompt rule (§1.8), usage
rows per assistant line so that measure can keep the last line of each
``message.id`` group (§1.6), tool calls and results matched by id (§1.10),
subagent files attached to their parent session (§1.9), and tolerant parsing:
unknown record types are counted, damaged lines are logged with file and line.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import msgspec
import numpy as np
import orjson
import pyarrow as pa

from codecensus.records import (
    ROW_TYPES,
    ActionRec,
    BadLine,
    EventRec,
    MessageRec,
    ParseResult,
    PromptRec,
    ResultRec,
    SessionInfo,
    array,
    split_tables,
    to_arrow,
)
from codecensus.sources.base import FileContext, decode_line, iter_line_blocks, loads, register
from codecensus.sources.common import (
    RESULT_HEAD,
    TEXT_HEAD,
    TS_PLAUSIBLE_MAX_MS,
    TS_PLAUSIBLE_MIN_MS,
    WORDS_SLICE,
    block_text,
    implausible_count,
    implausible_note,
    is_commit_command,
    is_deploy_command,
    is_push_command,
    is_test_command,
    leaf_words,
    parse_ts,
    test_status,
    tool_category,
    words,
)
from codecensus.sources.rows import looks_like_claude_code

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SYSTEM_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.S)
_INJECTED_PREFIXES = ("<command-", "<local-command", "<task-notification", "<bash-")
_INTERRUPTS = ("[Request interrupted by user]", "[Request interrupted by user for tool use]")
_REJECTED = "The user doesn't want to proceed with this tool use"
_COMMAND_NAME = re.compile(r"<command-name>\s*(/?[\w:.-]+)")
_EXIT_CODE = re.compile(r"^Exit code (\d+)", re.M)

CHAIN_TYPES = frozenset({"user", "assistant", "system", "attachment", "progress"})
# Known record types that carry nothing we count (kept for chain links by the format, skipped here).
KNOWN_SKIP = frozenset(
    {
        "summary",
        "file-history-snapshot",
        "progress",
        "attachment",
        "last-prompt",
        "ai-title",
        "custom-title",
        "mode",
        "permission-mode",
        "agent-name",
        "bridge-session",
        "atis-latch",
        "pr-link",
        "agent-setting",
        "turn_end",
        "tag",
    }
)
KNOWN_TYPES = KNOWN_SKIP | {"user", "assistant", "system", "queue-operation"}
_FILE_KEYS = ("file_path", "filePath", "notebook_path", "path")


def _file_path(inp: dict[str, Any]) -> str | None:
    """The first non-empty file-path argument of a tool input."""
    for k in _FILE_KEYS:
        v = inp.get(k)
        if isinstance(v, str) and v:
            return v
    return None


_PATH_CATEGORIES = frozenset({"shell", "read", "edit", "write"})  # tools whose file path is kept
_category = functools.lru_cache(maxsize=4096)(tool_category)  # tool names are few
_NO_COMMAND = (None, False, False, False, False)  # command head and test/commit/push/deploy flags


def _text_of_user(content: Any) -> tuple[str, bool]:
    """(joined text, has_tool_result) of a user message's content."""
    if isinstance(content, str):
        return content, False
    if not isinstance(content, list):
        return "", False
    parts: list[str] = []
    has_result = False
    for b in content:
        if not isinstance(b, dict):
            continue
        t = b.get("type")
        if t == "tool_result":
            has_result = True
        elif t == "text":
            txt = b.get("text")
            if isinstance(txt, str):
                parts.append(txt)
    return "\n".join(parts), has_result


# -- typed decoding (the fast path) ------------------------------------------
# Only the fields read below are declared: msgspec skips every other field without allocating.
# Scalars are ``Any`` so that the checks below stay exactly those of the generic (dict) path;
# containers are typed, and a line whose containers do not fit goes through the generic path.
_NO_RAW = msgspec.Raw()


class _Usage(msgspec.Struct):
    input_tokens: Any = None
    output_tokens: Any = None
    cache_read_input_tokens: Any = None
    cache_creation_input_tokens: Any = None


class _TextItem(msgspec.Struct):
    text: Any = None


class _Block(msgspec.Struct):
    type: Any = None
    text: Any = None
    name: Any = None
    id: Any = None
    input: dict[str, Any] | None = None
    tool_use_id: Any = None
    is_error: Any = None
    content: str | list[str | _TextItem] | None = None


class _Msg(msgspec.Struct):
    model: Any = None
    id: Any = None
    usage: _Usage | None = None
    content: str | list[_Block] | None = None


class _ToolUseResult(msgspec.Struct):
    type: Any = None
    agentId: Any = None
    totalToolUseCount: Any = None
    interrupted: Any = None
    stdout: msgspec.Raw = _NO_RAW  # decoded only for test commands
    stderr: msgspec.Raw = _NO_RAW


class _CompactMeta(msgspec.Struct):
    trigger: Any = None
    preTokens: Any = None


class _Line(msgspec.Struct):
    type: str | None = None
    timestamp: Any = None
    version: Any = None
    entrypoint: Any = None
    cwd: Any = None
    agentId: Any = None
    isSidechain: Any = None
    uuid: Any = None
    message: _Msg | None = None
    requestId: Any = None
    isApiErrorMessage: Any = None
    toolUseResult: _ToolUseResult | str | list[msgspec.Raw] | None = None
    isCompactSummary: Any = None
    isMeta: Any = None
    subtype: Any = None
    durationMs: Any = None
    compactMetadata: _CompactMeta | None = None
    content: msgspec.Raw = _NO_RAW  # system local_command text, decoded only there
    operation: Any = None


_DECODER = msgspec.json.Decoder(_Line)
_RAW_DECODE = msgspec.json.Decoder().decode


class _NoTypedDecode:
    def decode(self, raw: bytes) -> Any:
        raise msgspec.ValidationError("the generic path only")


@contextlib.contextmanager
def generic_path_only() -> Iterator[None]:
    """Parse every line with the generic path (orjson and the dict handlers) while inside.

    The generic path is the reference the typed fast path must match, line for line: the tests and
    ``scripts/fuzz_parsers.py`` compare the two with this.
    """
    global _DECODER
    typed, _DECODER = _DECODER, _NoTypedDecode()  # type: ignore[assignment]
    try:
        yield
    finally:
        _DECODER = typed


def _raw_value(raw: msgspec.Raw) -> Any:
    return _RAW_DECODE(raw) if len(raw) else None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
# Epoch microseconds of the plausible times (TS_PLAUSIBLE_MIN_MS..TS_PLAUSIBLE_MAX_MS)
_PLAUSIBLE_US = (TS_PLAUSIBLE_MIN_MS * 1000, TS_PLAUSIBLE_MAX_MS * 1000)
_MINUTES: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM:" -> epoch microseconds (-1: not a valid prefix)


def _fast_ts(s: str) -> int | None:
    """``parse_ts`` for the usual ``YYYY-MM-DDTHH:MM:SS.fffZ`` timestamps, without datetime objects.

    Gives exactly ``parse_ts(s)``: the same float steps as ``int(datetime.timestamp() * 1000)``
    on the same exact microsecond count; any other shape goes to ``parse_ts``.
    """
    if len(s) == 24 and s[23] == "Z" and s[19] == "." and s[16] == ":" and s[13] == ":" and s[10] == "T":
        prefix = s[:17]
        base = _MINUTES.get(prefix)
        if base is None:
            try:
                dt = datetime.fromisoformat(prefix + "00+00:00")
                base = (dt - _EPOCH) // _US if s[4] == "-" and s[7] == "-" else -1
                if not _PLAUSIBLE_US[0] <= base <= _PLAUSIBLE_US[1] - 60_000_000:
                    base = -1  # a minute not wholly plausible: parse_ts says (see TS_PLAUSIBLE_MIN_MS)
            except ValueError:
                base = -1
            if len(_MINUTES) > 200_000:
                _MINUTES.clear()
            _MINUTES[prefix] = base
        sec = s[17:19]
        frac = s[20:23]
        if base >= 0 and sec.isascii() and sec.isdigit() and frac.isascii() and frac.isdigit():
            n = int(sec)
            if n < 60:
                return int(((base + n * 1_000_000 + int(frac) * 1000) / 1_000_000) * 1000)
    return parse_ts(s)



class _Rows:
    """Rows of one or more files as tuples (without the per-file constants), turned into Arrow at once.

    Converting a chunk of files together costs far less than one conversion per file.
    """

    __slots__ = ("actions", "events", "files", "messages", "prompts", "results")

    def __init__(self) -> None:
        # (line, seq, uuid, ts, <the table's own columns>)
        self.prompts: list[tuple[Any, ...]] = []
        self.messages: list[tuple[Any, ...]] = []
        self.actions: list[tuple[Any, ...]] = []
        self.results: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        # per file: (session_key, file_id, is_subagent, row counts per table in ROW_TYPES order)
        self.files: list[tuple[str, str, bool, tuple[int, ...]]] = []

    def _lens(self) -> tuple[int, ...]:
        return tuple(len(getattr(self, cls.TABLE)) for cls in ROW_TYPES)

    def begin(self) -> tuple[int, ...]:
        return self._lens()

    def end(self, mark: tuple[int, ...], skey: str, fid: str, sub: bool) -> dict[str, int]:
        """Close one file's rows (begun at ``mark``); returns its row count per table."""
        counts = tuple(b - a for a, b in zip(mark, self._lens(), strict=True))
        self.files.append((skey, fid, sub, counts))
        return {cls.TABLE: n for cls, n in zip(ROW_TYPES, counts, strict=True)}

    def rollback(self, mark: tuple[int, ...]) -> None:
        """Drop the rows of a file that failed half-way."""
        for cls, n in zip(ROW_TYPES, mark, strict=True):
            del getattr(self, cls.TABLE)[n:]

    def extend_records(self, res: ParseResult) -> None:
        """Append rows made by the generic path (record structs), in order."""
        for cls in ROW_TYPES:
            rows = getattr(self, cls.TABLE)
            for rec in getattr(res, cls.TABLE):
                t = msgspec.structs.astuple(rec)
                rows.append(t[2:6] + t[7:])

    def tables(self) -> dict[str, pa.Table]:
        out: dict[str, pa.Table] = {}
        for k, cls in enumerate(ROW_TYPES):
            rows = getattr(self, cls.TABLE)
            schema: pa.Schema = cls.ARROW
            if not rows:
                out[cls.TABLE] = to_arrow([], cls)
                continue
            # The per-file constants: each file's value repeated over its rows, built in C.
            counts = np.fromiter((f[3][k] for f in self.files), dtype=np.int64, count=len(self.files))
            which = pa.array(np.repeat(np.arange(len(self.files), dtype=np.int32), counts))
            cols = list(zip(*rows, strict=True))
            types = schema.types
            arrays = [
                array([f[0] for f in self.files], pa.string()).take(which),
                array([f[1] for f in self.files], pa.string()).take(which),
                *(array(cols[i], types[2 + i]) for i in range(4)),
                pa.array([f[2] for f in self.files], pa.bool_()).take(which),
                *(array(cols[i], types[3 + i]) for i in range(4, len(cols))),
            ]
            out[cls.TABLE] = pa.Table.from_arrays(arrays, schema=schema)
        return out


def _line_hits(raw: bytes) -> int:
    """What one stripped line of a head counts towards :meth:`ClaudeCodeParser.detect` (2 hits: 0.9, 1: 0.6)."""
    if not raw.startswith(b"{"):
        return 0
    if b'"sessionId"' in raw and (b'"type"' in raw):
        return 2
    if (raw.startswith(b'{"type":"summary"') or raw.startswith(b'{"type":"file-history-snapshot"')
            or b'"leafUuid"' in raw or b'"parentUuid"' in raw):
        return 1
    return 0


class ClaudeCodeParser:
    name = "claude_code"
    version = "2"  # 2: a text block copied in the same response counts its words once
    append_only = True
    folder = False

    # The formats `claim` was checked against (see there): another format registered turns it off.
    claim_checked = frozenset({
        "aider", "claude_agent_platform", "claude_code", "claude_otel", "claude_stream_json", "cline", "codex",
        "copilot_cli", "cursor", "gemini_cli", "mini_swe_agent", "openhands", "openhands_v1", "swe_agent",
        "terminal_bench",
    })
    claim_suffixes = frozenset({".jsonl"})

    # -- detection -------------------------------------------------------
    def detect(self, path: Path, head: bytes) -> float:
        if path.suffix != ".jsonl":
            return 0.0
        first = head.split(b"\n", 8)
        hits = 0
        for raw in first[:8]:
            hits += _line_hits(raw.strip())
        if hits >= 2:
            return 0.9
        if hits == 1:
            return 0.6
        # Under a Claude Code projects dir, even an empty/odd file is ours.
        if "projects" in path.parts and (".claude" in path.parts or "claude" in path.parts):
            return 0.55
        return 0.0

    def claim(self, path: Path, start: bytes) -> bool:
        """Whether ``base.detect`` over the formats in :attr:`claim_checked` picks this one for ``path``, told by
        ``start`` (the file's first bytes, as ``read_head`` reads them) alone. False: not known from ``start``.

        True when the first line ends in ``start`` and is a JSON object with Claude Code's envelope
        (``looks_like_claude_code``) that :meth:`detect` counts as a hit. Then every format that reads the head's
        JSON records (Claude Agent Platform, stream-json, Codex, Copilot CLI, OTel: 1 to 6 records, each count
        holding this first line) returns 0 on that envelope, OpenHands' one-record test (``instance_id`` and a
        ``history`` list) is made here, the other formats want another suffix or a folder, and :meth:`detect`
        scores at least 0.6 (a hit in a line it reads is never taken back by the lines after).
        """
        if path.suffix != ".jsonl":
            return False
        end = start.find(b"\n")
        if end < 0:  # the first line may go on past `start`
            return False
        raw = start[:end].strip()
        if not _line_hits(raw):  # (also a line after a second byte order mark: detect counts none there)
            return False
        try:
            rec = loads(raw)
        except orjson.JSONDecodeError:
            return False
        return (
            isinstance(rec, dict)
            and looks_like_claude_code((rec,))
            and not ("instance_id" in rec and isinstance(rec.get("history"), list))
        )

    def role(self, path: Path) -> str:
        if path.name.startswith("agent-") or "subagents" in path.parts:
            return "subagent"
        return "main"

    # -- session identity ------------------------------------------------
    def session_key_for(self, path: Path, file_id: str) -> str:
        """The session a file belongs to (parent session for subagent files)."""
        parts = path.parts
        if "subagents" in parts:
            i = len(parts) - 1 - parts[::-1].index("subagents")
            if i >= 1 and _UUID_RE.match(parts[i - 1]):
                return parts[i - 1]
        stem = path.stem
        if self.role(path) == "main" and _UUID_RE.match(stem):
            return stem
        # Legacy flat agent files and renamed main files: the records' sessionId.
        counts: Counter[str] = Counter()
        try:
            with open(path, "rb") as fh:
                for n, raw in enumerate(fh):
                    if n > 2000:
                        break
                    if b'"sessionId"' not in raw:
                        continue
                    try:
                        rec = loads(raw)
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(rec, dict) and rec.get("type").__class__ is str and rec["type"] in CHAIN_TYPES:
                        sid = rec.get("sessionId")
                        if isinstance(sid, str) and sid:
                            counts[sid] += 1
                            if len(counts) == 1 and counts[sid] >= 3:
                                break
        except OSError:
            pass
        if counts:
            # The first session id seen is the file's own (later ones are resumes appended to it).
            return next(iter(counts))
        return f"{stem}-{file_id[:8]}"

    # -- parsing -------------------------------------------------------------
    def parse(self, ctx: FileContext) -> ParseResult:
        """Parse one transcript (from ``ctx.start_offset``) into Arrow tables."""
        rows = _Rows()
        res = self._parse_into(ctx, rows)
        split_tables([res], self._tables(rows, [res]))
        return res

    def parse_many(self, ctxs: list[FileContext]) -> tuple[list[ParseResult | str], dict[str, pa.Table]]:
        """Parse several transcripts, converting all their rows to Arrow at once.

        Returns one entry per file (its :class:`ParseResult` with ``row_counts`` set, or the
        error text of a file that failed, none of whose rows are kept) and the rows of every
        file in order, as one Arrow table per table name: give each result its own slices with
        :func:`~codecensus.records.split_tables` in the process that uses them (a pickled slice
        carries the whole buffers).
        """
        rows = _Rows()
        results: list[ParseResult | str] = []
        for ctx in ctxs:
            mark = rows.begin()
            try:
                results.append(self._parse_into(ctx, rows))
            except Exception as exc:  # reported per file; a parser bug must not lose the chunk
                rows.rollback(mark)
                results.append(f"{type(exc).__name__}: {exc}")
        return results, self._tables(rows, results)

    @staticmethod
    def _tables(rows: _Rows, results: list[ParseResult | str]) -> dict[str, pa.Table]:
        merged = rows.tables()
        ok = [r for r in results if not isinstance(r, str)]
        merged["session_files"] = to_arrow([s for r in ok for s in r.sessions], SessionInfo)
        merged["ingest_log"] = to_arrow([b for r in ok for b in r.bad], BadLine)
        for r in ok:
            assert r.row_counts is not None
            r.row_counts["session_files"] = len(r.sessions)
            r.row_counts["ingest_log"] = len(r.bad)
        return merged

    def _parse_into(self, ctx: FileContext, out: _Rows) -> ParseResult:
        """Parse a transcript (from ``ctx.start_offset``): rows go to ``out``, the rest to the result.

        Each line is decoded once by a typed msgspec decoder (:class:`_Line`) that reads only the
        fields used here and skips the rest without allocating. A line it cannot take (damaged,
        not an object, invalid UTF-8, or a field of an unexpected type in some odd generation) goes
        through the generic path instead (orjson + the dict handlers below), so both paths give
        the same rows, and damaged lines are reported exactly as before.
        """
        path = ctx.path
        role = self.role(path)
        sub = role == "subagent"
        skey = ctx.session_key or self.session_key_for(path, ctx.file_id)
        fid = ctx.file_id
        res = ParseResult()
        unknown: Counter[str] = Counter()
        unknown_first: dict[str, int] = {}
        info = SessionInfo(
            session_key=skey,
            file_id=fid,
            session_id=skey,
            source=self.name,
            role=role,
            user_key=ctx.user,
        )
        if sub:
            m = re.match(r"agent-(.+?)(?:\.jsonl)?$", path.name)
            info.agent_id = m.group(1) if m else path.stem
        # tool-use id -> (category, the command when a test): the test calls of earlier reads, given by ingest
        tool_names: dict[str, tuple[str, str | None]] = {
            tid: ("shell", "") for tid in cast("list[str]", ctx.extra.get("test_calls", []))
        }
        texts_seen: set[tuple[str, str | None, str]] = set()
        mark = out.begin()
        decode = _DECODER.decode
        known = KNOWN_TYPES
        skip = KNOWN_SKIP
        chain = CHAIN_TYPES
        first_ts: int | None = None
        last_ts: int | None = None
        records = 0
        version: str | None = None
        entrypoint: str | None = None
        project: str | None = None
        agent_id = info.agent_id

        def bad(line: int, kind: str, detail: str) -> None:
            res.bad.append(BadLine(file_id=fid, path=str(path), line=line, kind=kind, detail=detail))

        refused = implausible_count()  # implausible times met before this file (noted below)

        line_no = ctx.start_line
        consumed = ctx.start_offset
        ts_prefix = ""  # "YYYY-MM-DDTHH:MM:" of the last fast-parsed timestamp, and its epoch microseconds
        ts_base = 0
        stop_at = ctx.start_offset + ctx.max_bytes if ctx.max_bytes else None
        for lines, end, ascii_block in iter_line_blocks(path, ctx.start_offset, ctx.final):
            if stop_at is not None and consumed >= stop_at:  # (more lines are left: the caller reads them next)
                res.partial = True
                break
            consumed = end
            for raw in lines:
                line_no += 1
                try:
                    # Non-UTF-8 bytes anywhere in a line make it damaged: orjson rejects such a line,
                    # msgspec would skip unread fields unchecked. Only non-ASCII lines need the check.
                    if not ascii_block and not raw.isascii():
                        raw.decode()
                    rec = decode(raw)
                except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # (nesting over ~1,000 levels)
                    # The generic path: blank and damaged lines, odd generations.
                    info.first_ts, info.last_ts, info.records = first_ts, last_ts, records
                    info.version, info.entrypoint, info.project_key, info.agent_id = version, entrypoint, project, agent_id
                    self._generic_line(line_no, raw, info, sub, skey, fid, unknown, unknown_first, out, tool_names, bad,
                                       texts_seen)
                    first_ts, last_ts, records = info.first_ts, info.last_ts, info.records
                    version, entrypoint, project, agent_id = info.version, info.entrypoint, info.project_key, info.agent_id
                    continue
                rtype = rec.type
                if rtype not in known:
                    key = str(rtype)[:40]
                    unknown[key] += 1
                    unknown_first.setdefault(key, line_no)
                    continue
                t = rec.timestamp
                if t.__class__ is str:
                    if t[:17] == ts_prefix and len(t) == 24 and t[23] == "Z" and t[19] == ".":
                        # Same minute as the line before: only the seconds are new (see _fast_ts).
                        # "SSfff": milliseconds in the minute (five ASCII digits, seconds below 60).
                        ms = t[17:19] + t[20:23]
                        if ms.isdigit() and ms.isascii() and ms < "60000":
                            ts = int(((ts_base + int(ms) * 1000) / 1_000_000) * 1000)
                        else:
                            ts = _fast_ts(t)
                    else:
                        ts = _fast_ts(t)
                        base_us = _MINUTES.get(t[:17], -1)
                        if base_us >= 0:
                            ts_prefix, ts_base = t[:17], base_us
                else:
                    ts = parse_ts(t)
                if ts is not None and rtype != "summary":
                    if first_ts is None or ts < first_ts:
                        first_ts = ts
                    if last_ts is None or ts > last_ts:
                        last_ts = ts
                records += 1
                if rtype in chain:
                    v = rec.version
                    if isinstance(v, str):
                        version = v
                    v = rec.entrypoint
                    if isinstance(v, str):
                        entrypoint = v
                    if project is None:
                        v = rec.cwd
                        if isinstance(v, str) and v:
                            project = v
                    if sub and agent_id is None and isinstance(rec.agentId, str):
                        agent_id = rec.agentId
                if rtype in skip:
                    continue
                if not sub and rec.isSidechain is True:
                    continue
                uuid = rec.uuid if isinstance(rec.uuid, str) else None
                if rtype == "assistant":
                    self._assistant_fast(rec, line_no, uuid, ts, out, tool_names, texts_seen)
                elif rtype == "user":
                    self._user_fast(rec, line_no, uuid, ts, sub, out, tool_names)
                elif rtype == "system":
                    self._system_fast(rec, line_no, uuid, ts, out)
                else:  # queue-operation
                    op = rec.operation
                    out.events.append((line_no, 0, uuid, ts, "queue", str(op)[:20] if op else None, None))
        info.first_ts, info.last_ts, info.records = first_ts, last_ts, records
        info.version, info.entrypoint, info.project_key, info.agent_id = version, entrypoint, project, agent_id

        for key, count in unknown.items():
            res.bad.append(
                BadLine(
                    file_id=fid,
                    path=str(path),
                    line=unknown_first[key],
                    kind="unknown_type",
                    detail=key,
                    count=count,
                )
            )
        note = implausible_note(refused)
        if note is not None:
            res.bad.append(BadLine(file_id=fid, path=str(path), line=0, kind=note[0], detail=note[1], count=note[2]))
        if info.records or ctx.start_offset == 0:
            res.sessions.append(info)
        res.consumed = consumed
        res.lines = line_no
        res.row_counts = out.end(mark, skey, fid, sub)
        return res

    def _generic_line(
        self,
        line_no: int,
        raw: bytes,
        info: SessionInfo,
        sub: bool,
        skey: str,
        fid: str,
        unknown: Counter[str],
        unknown_first: dict[str, int],
        out: _Rows,
        tool_names: dict[str, tuple[str, str | None]],
        bad: Any,
        texts_seen: set[tuple[str, str | None, str]],
    ) -> None:
        """One line through the generic path (orjson and the dict handlers), rows appended to ``out``."""
        rec = decode_line(raw, line_no, bad)
        if rec is None:
            return
        rtype = rec.get("type")
        if not isinstance(rtype, str) or rtype not in KNOWN_TYPES:
            key = str(rtype)[:40]
            unknown[key] += 1
            unknown_first.setdefault(key, line_no)
            return
        ts = parse_ts(rec.get("timestamp"))
        if rtype != "summary" and ts is not None:
            if info.first_ts is None or ts < info.first_ts:
                info.first_ts = ts
            if info.last_ts is None or ts > info.last_ts:
                info.last_ts = ts
        info.records += 1
        if rtype in CHAIN_TYPES:
            v = rec.get("version")
            if isinstance(v, str):
                info.version = v
            ep = rec.get("entrypoint")
            if isinstance(ep, str):
                info.entrypoint = ep
            cwd = rec.get("cwd")
            if info.project_key is None and isinstance(cwd, str) and cwd:
                info.project_key = cwd
            if sub and info.agent_id is None and isinstance(rec.get("agentId"), str):
                info.agent_id = rec["agentId"]
        if rtype in KNOWN_SKIP:
            return
        # A sidechain line inside a main file replays subagent/parent traffic: not main-chain work.
        if not sub and rec.get("isSidechain") is True:
            return
        uuid = rec.get("uuid") if isinstance(rec.get("uuid"), str) else None
        base = {"session_key": skey, "file_id": fid, "line": line_no, "uuid": uuid, "ts": ts, "is_subagent": sub}
        tmp = ParseResult()
        if rtype == "assistant":
            self._assistant(rec, base, tmp.messages, tmp.actions, tool_names, texts_seen)
        elif rtype == "user":
            self._user(rec, base, sub, tmp.prompts, tmp.results, tmp.events, tool_names)
        elif rtype == "system":
            self._system(rec, base, tmp.events)
        elif rtype == "queue-operation":
            op = rec.get("operation")
            tmp.events.append(EventRec(**base, kind="queue", detail=str(op)[:20] if op else None))
        out.extend_records(tmp)

    # -- fast-path handlers (typed lines; mirror the dict handlers below exactly) --
    def _assistant_fast(
        self,
        rec: _Line,
        line: int,
        uuid: str | None,
        ts: int | None,
        out: _Rows,
        tool_names: dict[str, tuple[str, str | None]],
        texts_seen: set[tuple[str, str | None, str]],
    ) -> None:
        msg = rec.message
        if msg is None:
            return
        model = msg.model if isinstance(msg.model, str) else None
        synthetic = model == "<synthetic>" or rec.isApiErrorMessage is True
        content = msg.content
        msg_id = msg.id if isinstance(msg.id, str) else None
        rid = rec.requestId if isinstance(rec.requestId, str) else None
        vis = 0
        first_block = None
        texts: list[str] = []
        if isinstance(content, str):
            first_block = "text"
            vis = words(content) if _first_copy(texts_seen, msg_id, rid, content) else 0
            texts.append(content)
        elif content:
            seq = 0
            actions = out.actions
            for b in content:
                bt = b.type
                first_block = first_block or (bt if bt.__class__ is str else None)  # a type that is no name names nothing
                if bt == "text":
                    t = b.text
                    if isinstance(t, str):
                        if _first_copy(texts_seen, msg_id, rid, t):
                            vis += words(t)
                        texts.append(t)
                elif bt == "tool_use" and not synthetic:
                    name = b.name if isinstance(b.name, str) else "unknown"
                    inp = b.input if b.input is not None else {}
                    cat = _category(name)
                    fpath = _file_path(inp) if cat in _PATH_CATEGORIES else None
                    cmd = inp.get("command")
                    tid = b.id if isinstance(b.id, str) else None
                    if cmd.__class__ is str and cmd:
                        is_test = is_test_command(cmd)
                        flags = (cmd[:TEXT_HEAD], is_test, is_commit_command(cmd), is_push_command(cmd),
                                 is_deploy_command(cmd))
                    else:  # no command (or an empty one): none of the command classifiers can match
                        is_test, flags = False, _NO_COMMAND
                    if tid:
                        tool_names[tid] = (cat, cmd if is_test else None)
                    actions.append((line, seq, uuid, ts, msg_id, tid, name[:80], cat, _leaf_words(inp), fpath, *flags, None))
                    seq += 1
        text = "\n".join(texts)
        usage = msg.usage
        if usage is None:
            tin = tout = tcr = tcc = 0
        else:
            tin = usage.input_tokens
            tout = usage.output_tokens
            tcr = usage.cache_read_input_tokens
            tcc = usage.cache_creation_input_tokens
            if tin.__class__ is not int:
                tin = _int(tin)
            if tout.__class__ is not int:
                tout = _int(tout)
            if tcr.__class__ is not int:
                tcr = _int(tcr)
            if tcc.__class__ is not int:
                tcc = _int(tcc)
        out.messages.append(
            (
                line, 0, uuid, ts, msg_id, rid, model,
                first_block or "other", 0 if synthetic else vis, tin, tout, tcr, tcc, None, synthetic,
                text[:TEXT_HEAD] if text else None,
            )
        )

    def _user_fast(
        self,
        rec: _Line,
        line: int,
        uuid: str | None,
        ts: int | None,
        sub: bool,
        out: _Rows,
        tool_names: dict[str, tuple[str, str | None]],
    ) -> None:
        msg = rec.message
        if msg is None:
            return
        content = msg.content
        has_result = False
        if isinstance(content, str):
            text = content
        elif content:
            parts: list[str] = []
            for b in content:
                t = b.type
                if t == "tool_result":
                    has_result = True
                elif t == "text":
                    txt = b.text
                    if isinstance(txt, str):
                        parts.append(txt)
            text = "\n".join(parts)
        else:
            text = ""
        if has_result and isinstance(content, list):
            tur = rec.toolUseResult
            if not isinstance(tur, _ToolUseResult):
                tur = None
            results = out.results
            seq = 0
            for b in content:
                if b.type != "tool_result":
                    continue
                c = b.content
                if isinstance(c, str):
                    res_text = c
                elif c:
                    res_text = "\n".join(
                        [x if isinstance(x, str) else x.text for x in c if isinstance(x, str) or isinstance(x.text, str)]
                    )
                else:
                    res_text = ""
                tid = b.tool_use_id if isinstance(b.tool_use_id, str) else None
                is_error = b.is_error is True
                rejected = is_error and res_text.startswith(_REJECTED)
                head = res_text[:200]
                interrupted = "[Request interrupted by user" in head or (tur is not None and tur.interrupted is True)
                file_op = None
                agent_id = None
                agent_actions = None
                exit_code = None
                if tur is not None:
                    t = tur.type
                    if t in ("create", "update"):
                        file_op = t
                    if isinstance(tur.agentId, str):
                        agent_id = tur.agentId
                    n_tools = tur.totalToolUseCount
                    if isinstance(n_tools, int) and not isinstance(n_tools, bool):
                        agent_actions = n_tools
                if res_text.startswith("Exit code") or "\nExit code" in head:
                    m = _EXIT_CODE.search(head)
                    if m:
                        exit_code = int(m.group(1))
                cat_cmd = tool_names.get(tid or "")
                ts_status = None
                if cat_cmd is not None and cat_cmd[1] is not None:
                    # Test summaries are read only from the output of test commands.
                    stdout = res_text
                    if tur is not None:
                        so = _raw_value(tur.stdout)
                        if isinstance(so, str):
                            se = _raw_value(tur.stderr)
                            stdout = so + ("\n" + se if isinstance(se, str) and se else "")
                    ts_status = test_status(stdout)
                results.append(
                    (
                        line, seq, uuid, ts, tid, is_error, rejected, interrupted, file_op, ts_status, exit_code,
                        agent_id, agent_actions, res_text[:RESULT_HEAD] if res_text else None,
                    )
                )
                seq += 1
            marker = text.strip()
            if marker in _INTERRUPTS:
                out.events.append((line, seq, uuid, ts, "interrupt", "tool_use" if "tool use" in marker else None, None))
            return
        stripped = text.strip()
        if stripped in _INTERRUPTS:
            out.events.append((line, 0, uuid, ts, "interrupt", "tool_use" if "tool use" in stripped else None, None))
            return
        if rec.isCompactSummary is True:
            out.events.append((line, 0, uuid, ts, "compact_summary", None, None))
            return
        if rec.isMeta is True:
            return
        if stripped.startswith(_INJECTED_PREFIXES):
            m = _COMMAND_NAME.search(stripped[:300])
            if m:
                out.events.append((line, 0, uuid, ts, "command", m.group(1)[:40], None))
            return
        body = _SYSTEM_REMINDER.sub("", text).strip() if "<system-reminder>" in text else stripped
        if not body or sub:
            # In a subagent file the first line is the parent's task prompt, never a human prompt.
            return
        out.prompts.append((line, 0, uuid, ts, body, words(body), len(body), False))

    def _system_fast(self, rec: _Line, line: int, uuid: str | None, ts: int | None, out: _Rows) -> None:
        st = rec.subtype
        if st == "turn_duration":
            d = rec.durationMs
            if isinstance(d, int | float):
                out.events.append((line, 0, uuid, ts, "turn_duration", None, float(d)))
        elif st == "compact_boundary":
            meta = rec.compactMetadata
            trigger = meta.trigger if meta is not None else None
            pre = meta.preTokens if meta is not None else None
            out.events.append(
                (
                    line, 0, uuid, ts, "compaction", str(trigger)[:20] if trigger else None,
                    float(pre) if isinstance(pre, int | float) else None,
                )
            )
        elif st == "api_error":
            out.events.append((line, 0, uuid, ts, "api_error", None, None))
        elif st == "local_command":
            c = _raw_value(rec.content)
            m = _COMMAND_NAME.search(c[:300]) if isinstance(c, str) else None
            out.events.append((line, 0, uuid, ts, "command", m.group(1)[:40] if m else None, None))

    # -- record handlers -------------------------------------------------
    def _assistant(
        self,
        rec: dict[str, Any],
        base: dict[str, Any],
        messages: list[MessageRec],
        actions: list[ActionRec],
        tool_names: dict[str, tuple[str, str | None]],
        texts_seen: set[tuple[str, str | None, str]],
    ) -> None:
        msg = rec.get("message")
        if not isinstance(msg, dict):
            return
        model = msg.get("model") if isinstance(msg.get("model"), str) else None
        synthetic = model == "<synthetic>" or rec.get("isApiErrorMessage") is True
        usage = msg.get("usage") if isinstance(msg.get("usage"), dict) else {}
        content = msg.get("content")
        blocks = content if isinstance(content, list) else ([{"type": "text", "text": content}] if isinstance(content, str) else [])
        msg_id = msg.get("id") if isinstance(msg.get("id"), str) else None
        rid = rec.get("requestId") if isinstance(rec.get("requestId"), str) else None
        vis = 0
        first_block = None
        texts: list[str] = []
        seq = 0
        for b in blocks:
            if not isinstance(b, dict):
                continue
            bt = b.get("type")
            first_block = first_block or (bt if bt.__class__ is str else None)  # a type that is no name names nothing
            if bt == "text":
                t = b.get("text")
                if isinstance(t, str):
                    if _first_copy(texts_seen, msg_id, rid, t):
                        vis += words(t)
                    texts.append(t)
            elif bt == "tool_use" and not synthetic:
                name = b.get("name") if isinstance(b.get("name"), str) else "unknown"
                inp = b.get("input") if isinstance(b.get("input"), dict) else {}
                fpath = _file_path(inp)
                cat = tool_category(name)
                cmd = inp.get("command") if isinstance(inp.get("command"), str) else None
                if cat != "shell":
                    fp_for_search = fpath if cat in ("read", "edit", "write") else None
                    fpath = fp_for_search
                tid = b.get("id") if isinstance(b.get("id"), str) else None
                is_test = is_test_command(cmd)
                if tid:
                    tool_names[tid] = (cat, cmd if is_test else None)
                actions.append(
                    ActionRec(
                        **base,
                        seq=seq,
                        msg_id=msg_id,
                        tool_use_id=tid,
                        tool=name[:80],
                        category=cat,
                        input_words=leaf_words(inp),
                        file_path=fpath,
                        command=cmd[:TEXT_HEAD] if cmd else None,
                        is_test=is_test,
                        is_commit=is_commit_command(cmd),
                        is_push=is_push_command(cmd),
                        is_deploy=is_deploy_command(cmd),
                    )
                )
                seq += 1
        text = "\n".join(texts)
        messages.append(
            MessageRec(
                **base,
                msg_id=msg_id,
                request_id=rid,
                model=model,
                block=first_block or "other",
                visible_words=0 if synthetic else vis,
                input_tokens=_int(usage.get("input_tokens")),
                output_tokens=_int(usage.get("output_tokens")),
                cache_read_tokens=_int(usage.get("cache_read_input_tokens")),
                cache_creation_tokens=_int(usage.get("cache_creation_input_tokens")),
                synthetic=synthetic,
                text=text[:TEXT_HEAD] if text else None,
            )
        )

    def _user(
        self,
        rec: dict[str, Any],
        base: dict[str, Any],
        sub: bool,
        prompts: list[PromptRec],
        results: list[ResultRec],
        events: list[EventRec],
        tool_names: dict[str, tuple[str, str | None]],
    ) -> None:
        msg = rec.get("message")
        if not isinstance(msg, dict):
            return
        content = msg.get("content")
        text, has_result = _text_of_user(content)
        if has_result and isinstance(content, list):
            tur = rec.get("toolUseResult")
            seq = 0
            for b in content:
                if not isinstance(b, dict) or b.get("type") != "tool_result":
                    continue
                out = block_text(b.get("content"))
                tid = b.get("tool_use_id") if isinstance(b.get("tool_use_id"), str) else None
                is_error = b.get("is_error") is True
                rejected = is_error and out.startswith(_REJECTED)
                interrupted = "[Request interrupted by user" in out[:200] or (
                    isinstance(tur, dict) and tur.get("interrupted") is True
                )
                file_op = None
                agent_id = None
                agent_actions = None
                exit_code = None
                stdout = out
                if isinstance(tur, dict):
                    t = tur.get("type")
                    if t in ("create", "update"):
                        file_op = t
                    if isinstance(tur.get("agentId"), str):
                        agent_id = tur["agentId"]
                    n_tools = tur.get("totalToolUseCount")
                    # (a JSON true is not a count: it used to fail the whole file in the int32 column)
                    if isinstance(n_tools, int) and not isinstance(n_tools, bool):
                        agent_actions = n_tools
                    so = tur.get("stdout")
                    if isinstance(so, str):
                        se = tur.get("stderr")
                        stdout = so + ("\n" + se if isinstance(se, str) and se else "")
                if out.startswith("Exit code") or "\nExit code" in out[:200]:
                    m = _EXIT_CODE.search(out[:200])
                    if m:
                        exit_code = int(m.group(1))
                cat_cmd = tool_names.get(tid or "")
                # Test summaries are read only from the output of test commands.
                ts_status = test_status(stdout) if (cat_cmd is not None and cat_cmd[1] is not None) else None
                results.append(
                    ResultRec(
                        **base,
                        seq=seq,
                        tool_use_id=tid,
                        is_error=is_error,
                        rejected=rejected,
                        interrupted=interrupted,
                        file_op=file_op,
                        test_status=ts_status,
                        exit_code=exit_code,
                        agent_id=agent_id,
                        agent_actions=agent_actions,
                        text=out[:RESULT_HEAD] if out else None,
                    )
                )
                seq += 1
            # Interrupt markers may also sit beside results as text blocks.
            marker = text.strip()
            if marker in _INTERRUPTS:
                events.append(
                    EventRec(**base, seq=seq, kind="interrupt", detail="tool_use" if "tool use" in marker else None)
                )
            return
        stripped = text.strip()
        if stripped in _INTERRUPTS:
            events.append(EventRec(**base, kind="interrupt", detail="tool_use" if "tool use" in stripped else None))
            return
        if rec.get("isCompactSummary") is True:
            events.append(EventRec(**base, kind="compact_summary"))
            return
        if rec.get("isMeta") is True:
            return
        if stripped.startswith(_INJECTED_PREFIXES):
            m = _COMMAND_NAME.search(stripped[:300])
            if m:
                events.append(EventRec(**base, kind="command", detail=m.group(1)[:40]))
            return
        body = _SYSTEM_REMINDER.sub("", text).strip() if "<system-reminder>" in text else stripped
        if not body:
            return
        if sub:
            # The first line of a subagent file is the parent's task prompt, never a human prompt.
            return
        prompts.append(PromptRec(**base, text=body, words=words(body), chars=len(body)))

    def _system(self, rec: dict[str, Any], base: dict[str, Any], events: list[EventRec]) -> None:
        st = rec.get("subtype")
        if st == "turn_duration":
            d = rec.get("durationMs")
            if isinstance(d, int | float):
                events.append(EventRec(**base, kind="turn_duration", value=float(d)))
        elif st == "compact_boundary":
            meta = rec.get("compactMetadata") if isinstance(rec.get("compactMetadata"), dict) else {}
            pre = meta.get("preTokens")
            events.append(
                EventRec(
                    **base,
                    kind="compaction",
                    detail=str(meta.get("trigger"))[:20] if meta.get("trigger") else None,
                    value=float(pre) if isinstance(pre, int | float) else None,
                )
            )
        elif st == "api_error":
            events.append(EventRec(**base, kind="api_error"))
        elif st == "local_command":
            c = rec.get("content")
            m = _COMMAND_NAME.search(c[:300]) if isinstance(c, str) else None
            events.append(EventRec(**base, kind="command", detail=m.group(1)[:40] if m else None))


def _first_copy(seen: set[tuple[str, str | None, str]], msg_id: str | None, rid: str | None, text: str) -> bool:
    """False for a text block the file already had in the same response (message id + request id): a copy of it
    under a new uuid (2.0.x files that replay part of their conversation), whose words were counted once already."""
    if msg_id is None:
        return True
    key = (msg_id, rid, text)
    if key in seen:
        return False
    seen.add(key)
    return True


def _leaf_words(inp: dict[str, Any]) -> int:
    """``leaf_words`` of a tool input (a JSON object): the same count, flat values without recursion."""
    n = 0
    for v in inp.values():
        if v.__class__ is str:
            n += len(v.split()) if len(v) <= WORDS_SLICE else words(v)  # words(), without a call for most
        elif isinstance(v, dict | list):
            n += leaf_words(v)
    return n


def _int(v: Any) -> int:
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0


PARSER = register(ClaudeCodeParser())
