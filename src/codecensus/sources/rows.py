"""Row builders shared by the non-Claude-Code parsers.

Every agent format ends up as the same normalised rows
(:mod:`codecensus.records`). :class:`Rows` collects them for one file (which
may hold several sessions) and :class:`Session` adds rows for one session,
keeping its first/last timestamp and record count up to date, so that each
format module only has to say *what* it found.

Also here: tolerant readers (a JSON file, the first records of a head), OpenAI
usage normalisation, ANSI stripping, tool-input helpers (file paths, shell
commands, editor sub-commands), SWE-bench / Terminal-Bench outcome lookup.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import math
import re
import shlex
from codecs import BOM_UTF8
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from codecensus.records import (
    ActionRec,
    BadLine,
    EventRec,
    MessageRec,
    ParseResult,
    PromptRec,
    ResultRec,
    SessionInfo,
)
from codecensus.sources.base import FileContext, loads
from codecensus.sources.common import (
    TEXT_HEAD,
    implausible_count,
    implausible_note,
    is_commit_command,
    is_deploy_command,
    is_push_command,
    is_test_command,
    leaf_words,
    test_status,
    tool_category,
    words,
)

INT16_MAX = 32767
FILE_KEYS = ("file_path", "filePath", "absolute_path", "path", "target_file", "notebook_path", "filename", "file")
COMMAND_KEYS = ("command", "cmd", "full_command", "bash_command", "commandLine", "script")
# Editor tools whose ``command`` argument is a sub-command, not a shell command.
EDITOR_TOOLS = frozenset({"str_replace_editor", "file_editor", "str_replace_based_edit_tool", "edit_tool", "editor"})
_EDITOR_SUB = {
    "view": "read",
    "create": "write",
    "str_replace": "edit",
    "insert": "edit",
    "undo_edit": "edit",
    "edit": "edit",
    "write": "write",
    "append": "edit",
}
# Tool names seen in other agents that ``common.tool_category`` does not know (name → alias it knows).
TOOL_ALIASES = {
    "run_terminal_cmd": "bash",
    "run_command": "bash",
    "execute": "bash",
    "bash_tool": "bash",
    "ipython": "run_ipython",
    "grep_search": "grep",
    "file_search": "glob",
    "list_dir": "ls",
    "list_dirs": "ls",
    "read_many_files": "read",
    "glob_search": "glob",
    "search": "grep",
    "find": "glob",
    "search_and_replace": "edit",
    "insert_content": "edit",
    "multiedit": "edit",
    "multi_edit": "edit",
    "delete_file": "edit",
    "todo_write": "todowrite",
    "task_tracker": "todowrite",
    "fetch": "webfetch",
    "web_fetch": "webfetch",
    "web_search": "websearch",
    "new_task": "task",
    "use_subagent": "task",
    "think": "other",
    "report_intent": "other",
}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_ansi(text: str) -> str:
    """Remove terminal escape sequences and control characters (keeps tabs and newlines)."""
    return _ANSI.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def as_int(v: Any) -> int:
    """An int from an int, float or numeric string; 0 otherwise (``"NaN"`` and ``"1e400"`` too)."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    f = as_float(v)
    return int(f) if f is not None else 0


def as_float(v: Any) -> float | None:
    """A finite float from an int, float or numeric string; None otherwise.

    ``"NaN"``, ``"Infinity"`` and ``"1e400"`` are None: OTLP JSON writes a non-finite double as such a string, and a
    NaN cost or an infinite duration stored as a number made every later session build fail or gave NaN figures.
    """
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        try:
            f = float(v)
        except OverflowError:
            return None
    elif isinstance(v, float):
        f = v
    elif isinstance(v, str):
        try:
            f = float(v.strip())
        except ValueError:
            return None
    else:
        return None
    return f if math.isfinite(f) else None


def as_str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


# A tool's own id (a uuid, with or without dashes): a name of this shape is no name a user chose
_TOOL_ID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


def named_session_id(source: str, ctx: FileContext, name: str | None = None) -> str:
    """The session id of a transcript that records none: ``name`` (its file's or folder's name) when that is a
    tool's own id (a uuid, :data:`_TOOL_ID`), else ``<source>-<file id>`` (stable: the file id is its format and
    real path). A name a user chose (a project, a private issue, a person) never becomes an id: exports carry
    session ids raw, and such names only ever as salted hashes."""
    if name and _TOOL_ID.fullmatch(name):
        return name
    return f"{source}-{ctx.file_id[:12]}"


# A recorded id kept as it is: a uuid, or 16+ hex digits (a tool's own id; not a phone number, at most 15 digits)
_SAFE_ID = re.compile(r"[0-9a-fA-F]{16,64}")


def recorded_session_id(source: str, recorded: str, ctx: FileContext) -> str:
    """The session id of a transcript that records its id in a field a user may fill (mini-swe-agent's and
    OpenHands' ``instance_id``: a benchmark task, or a private project's name): ``recorded`` when it is a tool's
    own id (a uuid or a long hex id), else ``<source>-<12 hex of its hash salted with the store's salt>``
    (``ctx.salt``, as user names and projects are): the same for every copy of the run and at every ingest into
    one database, different in another database, never the raw text in an export, and no guessed name can be
    confirmed by hashing it."""
    if _TOOL_ID.fullmatch(recorded) or _SAFE_ID.fullmatch(recorded):
        return recorded
    digest = hashlib.sha256(f"{ctx.salt}|{recorded}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"{source}-{digest[:12]}"


def as_dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def openai_usage(usage: Any) -> tuple[int, int, int, int]:
    """(input, output, cache_read, cache_creation) from an OpenAI/LiteLLM-style ``usage``.

    OpenAI's ``prompt_tokens`` include cached tokens; input_tokens here are the
    uncached rest, as in Anthropic's usage. Anthropic-style keys are read too.
    """
    u = as_dict(usage)
    if not u:
        return 0, 0, 0, 0
    if "input_tokens" in u and "prompt_tokens" not in u:
        return (
            as_int(u.get("input_tokens")),
            as_int(u.get("output_tokens")),
            as_int(u.get("cache_read_input_tokens") or u.get("cache_read_tokens")),
            as_int(u.get("cache_creation_input_tokens") or u.get("cache_write_tokens")),
        )
    prompt = as_int(u.get("prompt_tokens"))
    out = as_int(u.get("completion_tokens"))
    details = as_dict(u.get("prompt_tokens_details"))
    cr = as_int(u.get("cache_read_input_tokens")) or as_int(details.get("cached_tokens")) or as_int(u.get("cache_read_tokens"))
    cw = as_int(u.get("cache_creation_input_tokens")) or as_int(u.get("cache_write_tokens"))
    return max(0, prompt - cr - cw), out, cr, cw


def read_json_file(path: Path) -> tuple[Any, str | None]:
    """(value, None) or (None, error) — never raises. Invalid UTF-8 bytes are read as U+FFFD (see read_json_doc)."""
    data, err, _ = read_json_doc(path)
    return data, err


def read_json_doc(path: Path) -> tuple[Any, str | None, bool]:
    """``(value, error, text_damaged)`` of a file holding one JSON document — never raises.

    Invalid UTF-8 bytes (a damaged disk block, a tool's output cut mid-character) made the whole document
    unreadable: the one session of a trajectory was lost, where a JSON Lines transcript loses only the line that
    holds them. They are read as U+FFFD instead, and ``text_damaged`` says so."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"unreadable: {exc}"[:120], False
    data = data.removeprefix(BOM_UTF8)  # a byte order mark is not part of the document
    try:
        return loads(data), None, False
    except orjson.JSONDecodeError as exc:
        err = str(exc)[:120]
    try:
        data.decode()
    except UnicodeDecodeError:
        try:
            return loads(data.decode(errors="replace")), None, True
        except orjson.JSONDecodeError as exc:  # damaged beyond its bytes too (cut short): the JSON error says where
            err = str(exc)[:120]
    return None, err, False


_SHARED_HEAD = 6  # records per head that most detectors ask for: one parse answers every n up to it


def head_records(head: bytes, n: int = 8) -> tuple[dict[str, Any], ...]:
    """The first ``n`` JSON objects among the first ``3 n`` lines of ``head`` (a last line the head may have cut
    excluded). Read-only: the records are shared between callers.

    Every format's ``detect`` asks about the head of every file, and most ask for 6, 3 or 1 records: one
    memoised parse of up to ``_SHARED_HEAD`` records (with their line numbers) answers all of those (a bytes
    object caches its own hash, so a repeated call costs one dictionary lookup); a larger ``n`` is parsed
    on its own.
    """
    if n <= _SHARED_HEAD:
        limit = 3 * n
        return tuple([rec for i, rec in _head_indexed(head, _SHARED_HEAD) if i < limit][:n])
    return tuple(rec for _i, rec in _head_indexed(head, n))


@functools.lru_cache(maxsize=16)
def _head_indexed(head: bytes, n: int) -> tuple[tuple[int, dict[str, Any]], ...]:
    """(line number, object) of the first ``n`` JSON objects among the first ``3 n`` complete lines."""
    out: list[tuple[int, dict[str, Any]]] = []
    limit = n * 3
    lines = head.removeprefix(BOM_UTF8).split(b"\n", limit)  # the first `limit` lines, and the rest in one piece
    if len(lines) > limit:
        lines = lines[:limit]
    elif len(lines) > 1:
        lines = lines[:-1]  # the last piece may be cut by the head limit
    for i, raw in enumerate(lines):
        raw = raw.strip()
        if not raw.startswith(b"{"):
            continue
        try:
            rec = loads(raw)
        except orjson.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            out.append((i, rec))
        if len(out) >= n:
            break
    return tuple(out)


def looks_like_claude_code(recs: Iterable[dict[str, Any]]) -> bool:
    """True when the records carry Claude Code's on-disk envelope (camelCase ``sessionId`` etc.)."""
    for r in recs:
        if "sessionId" in r or "parentUuid" in r or "leafUuid" in r:
            return True
        if r.get("type") in ("summary", "file-history-snapshot", "queue-operation"):
            return True
    return False


def text_of(content: Any) -> str:
    """Text of a string, a list of blocks (``text``/``content``) or a block."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        for k in ("text", "content", "message"):
            v = content.get(k)
            if isinstance(v, str):
                return v
        return ""
    if isinstance(content, list):
        parts = []
        for b in content:
            if isinstance(b, str):
                parts.append(b)
            elif isinstance(b, dict):
                t = b.get("text")
                if isinstance(t, str):
                    parts.append(t)
        return "\n".join(parts)
    return ""


def shell_command(value: Any) -> str | None:
    """A shell command from a string or an argv list (``["bash", "-lc", "…"]`` → the script)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, list) and all(isinstance(x, str) for x in value) and value:
        if len(value) >= 3 and value[0].rsplit("/", 1)[-1] in ("bash", "sh", "zsh") and value[1] in ("-lc", "-c", "-l"):
            return value[-1]
        return shlex.join(value)
    return None


def tool_kind(tool: str, inp: dict[str, Any] | None = None) -> str:
    """Category of a tool call, resolving editor sub-commands and other agents' names."""
    n = tool.lower()
    if n in EDITOR_TOOLS and inp is not None:
        sub = inp.get("command")
        if isinstance(sub, str) and sub in _EDITOR_SUB:
            return _EDITOR_SUB[sub]
        return "edit"
    cat = tool_category(tool)
    if cat == "other" and n in TOOL_ALIASES:
        cat = tool_category(TOOL_ALIASES[n])
    return cat


def file_of(inp: dict[str, Any]) -> str | None:
    for k in FILE_KEYS:
        v = inp.get(k)
        if isinstance(v, str) and v:
            return v
    return None


def command_of(inp: dict[str, Any]) -> str | None:
    for k in COMMAND_KEYS:
        c = shell_command(inp.get(k))
        if c:
            return c
    return None


class WholeFileParser:
    """Defaults for a format whose file is re-read whole when it changes, one main session per file.

    Subclasses set ``name`` and implement ``detect`` and ``parse`` (:class:`codecensus.sources.base.Parser`).
    """

    name: str
    version = "1"
    append_only = False
    folder = False

    def role(self, path: Path) -> str:
        return "main"


class FolderParser(WholeFileParser):
    """Defaults for a format stored as one folder per session (ingest hands the parser the folder).

    ``markers``: names of entries at least one of which a folder of this format holds; discovery calls
    ``detect`` only on folders that have one (empty: every folder).
    """

    folder = True
    markers: frozenset[str] = frozenset()


class Session:
    """Adds one session's rows to a :class:`Rows`; keeps its :class:`SessionInfo` current."""

    def __init__(self, rows: Rows, info: SessionInfo, is_subagent: bool = False) -> None:
        self.rows = rows
        self.info = info
        self.sub = is_subagent
        self.res = rows.res
        self._tools: dict[str, str] = {}  # tool_use_id -> category

    @property
    def key(self) -> str:
        return self.info.session_key

    def touch(self, ts: int | None, count: bool = True) -> None:
        i = self.info
        if ts is not None:
            if i.first_ts is None or ts < i.first_ts:
                i.first_ts = ts
            if i.last_ts is None or ts > i.last_ts:
                i.last_ts = ts
        if count:
            i.records += 1

    def _base(self, line: int, ts: int | None, seq: int, uuid: str | None) -> dict[str, Any]:
        return {
            "session_key": self.key,
            "file_id": self.info.file_id,
            "line": line,
            "seq": min(max(seq, 0), INT16_MAX),
            "uuid": uuid,
            "ts": ts,
            "is_subagent": self.sub,
        }

    # -- rows -----------------------------------------------------------
    def prompt(
        self,
        line: int,
        ts: int | None,
        text: str,
        *,
        seq: int = 0,
        uuid: str | None = None,
        queued: bool = False,
        chars: int | None = None,
    ) -> PromptRec | None:
        """A human prompt. Empty text is skipped unless ``chars`` gives its length (text withheld, e.g. telemetry)."""
        body = text.strip()
        if not body and chars is None:
            return None
        rec = PromptRec(
            **self._base(line, ts, seq, uuid),
            text=body,
            words=words(body),
            chars=len(body) if body or chars is None else max(0, chars),
            queued=queued,
        )
        self.res.prompts.append(rec)
        return rec

    def message(
        self,
        line: int,
        ts: int | None,
        *,
        text: str | None = None,
        model: str | None = None,
        usage: tuple[int, int, int, int] = (0, 0, 0, 0),
        msg_id: str | None = None,
        request_id: str | None = None,
        cost: float | None = None,
        block: str | None = None,
        seq: int = 0,
        uuid: str | None = None,
        synthetic: bool = False,
    ) -> MessageRec:
        t = text.strip() if text else ""
        rec = MessageRec(
            **self._base(line, ts, seq, uuid),
            msg_id=msg_id,
            request_id=request_id,
            model=model,
            block=block or ("text" if t else "other"),
            visible_words=words(t),
            input_tokens=max(0, usage[0]),
            output_tokens=max(0, usage[1]),
            cache_read_tokens=max(0, usage[2]),
            cache_creation_tokens=max(0, usage[3]),
            cost_usd=cost,
            synthetic=synthetic,
            text=t[:TEXT_HEAD] if t else None,
        )
        self.res.messages.append(rec)
        return rec

    def action(
        self,
        line: int,
        ts: int | None,
        tool: str,
        inp: dict[str, Any] | None = None,
        *,
        command: str | None = None,
        file_path: str | None = None,
        category: str | None = None,
        tool_use_id: str | None = None,
        msg_id: str | None = None,
        seq: int = 0,
        uuid: str | None = None,
        input_words: int | None = None,
    ) -> ActionRec:
        tool = (tool or "unknown")[:80]
        inp = inp or {}
        cat = category or tool_kind(tool, inp)
        cmd = command
        if cmd is None and cat == "shell":
            cmd = command_of(inp)
        fpath = file_path
        if fpath is None and cat in ("read", "edit", "write"):
            fpath = file_of(inp)
        if cat not in ("read", "edit", "write", "shell"):
            fpath = None
        if tool_use_id:
            self._tools[tool_use_id] = cat
        rec = ActionRec(
            **self._base(line, ts, seq, uuid),
            msg_id=msg_id,
            tool_use_id=tool_use_id,
            tool=tool,
            category=cat,
            input_words=leaf_words(inp) if input_words is None else input_words,
            file_path=fpath,
            command=cmd[:TEXT_HEAD] if cmd else None,
            is_test=is_test_command(cmd),
            is_commit=is_commit_command(cmd),
            is_push=is_push_command(cmd),
            is_deploy=is_deploy_command(cmd),
        )
        self.res.actions.append(rec)
        return rec

    def result(
        self,
        line: int,
        ts: int | None,
        tool_use_id: str | None,
        text: str | None,
        *,
        is_error: bool = False,
        exit_code: int | None = None,
        rejected: bool = False,
        interrupted: bool = False,
        file_op: str | None = None,
        shell: bool | None = None,
        seq: int = 0,
        uuid: str | None = None,
    ) -> ResultRec:
        out = text or ""
        if shell is None:
            cat = self._tools.get(tool_use_id or "")
            shell = cat is None or cat == "shell"
        rec = ResultRec(
            **self._base(line, ts, seq, uuid),
            tool_use_id=tool_use_id,
            is_error=is_error,
            rejected=rejected,
            interrupted=interrupted,
            file_op=file_op,
            test_status=test_status(out) if shell else None,
            exit_code=exit_code,
            text=out[:TEXT_HEAD] if out else None,
        )
        self.res.results.append(rec)
        return rec

    def event(
        self,
        line: int,
        ts: int | None,
        kind: str,
        detail: str | None = None,
        value: float | None = None,
        *,
        seq: int = 0,
        uuid: str | None = None,
    ) -> EventRec:
        rec = EventRec(**self._base(line, ts, seq, uuid), kind=kind, detail=detail[:200] if detail else None, value=value)
        self.res.events.append(rec)
        return rec

    def outcome(self, line: int, resolved: bool | None, source: str) -> None:
        """Ground-truth outcome from an evaluation harness (``kind="outcome_truth"``)."""
        if resolved is None:
            return
        self.event(line, self.info.last_ts, "outcome_truth", "resolved" if resolved else "unresolved", 1.0 if resolved else 0.0)
        self.event(line, self.info.last_ts, "outcome_source", source[:200], seq=1)


class Rows:
    """Everything parsed from one file (or folder): one or more sessions, and bad lines."""

    def __init__(self, ctx: FileContext, source: str) -> None:
        self.ctx = ctx
        self.source = source
        self.res = ParseResult()
        self.sessions: dict[str, Session] = {}
        self._refused = implausible_count()  # implausible times met before this file (see finish)

    def session(
        self,
        key: str,
        *,
        session_id: str | None = None,
        role: str = "main",
        user: str | None = None,
        project: str | None = None,
        version: str | None = None,
        entrypoint: str | None = None,
    ) -> Session:
        s = self.sessions.get(key)
        if s is None:
            info = SessionInfo(
                session_key=key,
                file_id=self.ctx.file_id,
                session_id=session_id or key,
                source=self.source,
                role=role,
                user_key=user if user is not None else self.ctx.user,
                project_key=project,
                version=version,
                entrypoint=entrypoint,
            )
            s = Session(self, info, is_subagent=role == "subagent")
            self.sessions[key] = s
        else:
            if project and not s.info.project_key:
                s.info.project_key = project
            if version:
                s.info.version = version
            if entrypoint and not s.info.entrypoint:
                s.info.entrypoint = entrypoint
        return s

    def bad(self, line: int, kind: str, detail: str, count: int = 1) -> None:
        self.res.bad.append(
            BadLine(file_id=self.ctx.file_id, path=str(self.ctx.path), line=line, kind=kind, detail=detail[:200], count=count)
        )

    def read_json(self, path: Path, line: int, label: str = "") -> tuple[Any, str | None]:
        """:func:`read_json_doc` of ``path``; invalid UTF-8 in it (read as U+FFFD) is noted once, as ``line``
        (``label`` names a side file in the note)."""
        data, err, damaged = read_json_doc(path)
        if damaged:
            self.bad(line, "bad_text", f"{label}invalid UTF-8 bytes, read as U+FFFD")
        return data, err

    def side_json(self, path: Path) -> Any:
        """A side file's JSON value; ``None`` when it is absent or damaged (damage is logged as a bad line)."""
        if not path.is_file():
            return None
        data, err = self.read_json(path, 0, f"{path.name}: ")
        if err is not None:
            self.bad(0, "bad_json", f"{path.name}: {err}")
            return None
        return data

    def json_object(self, path: Path) -> dict[str, Any] | None:
        """The file's top-level JSON object; ``None`` (logged as a bad line 1) when unreadable or not an object."""
        data, err = self.read_json(path, 1)
        if err is not None or not isinstance(data, dict):
            self.bad(1, "bad_json" if err else "bad_record", err or "not a JSON object")
            self.res.unreadable = err
            return None
        return data

    def unknown(self, counts: dict[str, tuple[int, int]]) -> None:
        """Log unknown record types: ``{type: (first_line, count)}``."""
        for key, (first, n) in counts.items():
            self.bad(first, "unknown_type", key[:40], n)

    def finish(self, consumed: int, lines: int) -> ParseResult:
        note = implausible_note(self._refused)
        if note is not None:  # the file's times taken as none (epoch 0, a reset clock): said once, with their count
            self.bad(0, note[0], note[1], note[2])
        # Sessions with no record are still listed when the whole file was read (an empty session).
        for s in self.sessions.values():
            if s.info.records or self.ctx.start_offset == 0:
                self.res.sessions.append(s.info)
        self.res.consumed = consumed
        self.res.lines = lines
        return self.res


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as fh:
            return sum(1 for _ in fh)
    except OSError:
        return 0


# -- ground-truth outcomes from evaluation harnesses ----------------------------------------------
def _report_resolved(path: Path, instance: str) -> bool | None:
    data, err = read_json_file(path)
    if err or not isinstance(data, dict):
        return None
    entry = data.get(instance)
    if not isinstance(entry, dict):
        # A report of one instance keyed by another spelling: take the only entry.
        vals = [v for v in data.values() if isinstance(v, dict) and "resolved" in v]
        entry = vals[0] if len(vals) == 1 else (data if "resolved" in data else None)
    if isinstance(entry, dict) and isinstance(entry.get("resolved"), bool):
        return bool(entry["resolved"])
    return None


def _ids(v: Any) -> set[str]:
    return {x for x in as_list(v) if isinstance(x, str)}


def run_results(path: Path, instance: str) -> bool | None:
    """SWE-bench ``results.json`` / Terminal-Bench run ``results.json`` with id lists."""
    data, err = read_json_file(path)
    if err or not isinstance(data, dict):
        return None
    resolved = _ids(data.get("resolved")) | _ids(data.get("resolved_ids"))
    unresolved = _ids(data.get("unresolved_ids")) | _ids(data.get("unresolved"))
    if instance in resolved:
        return True
    if instance in unresolved:
        return False
    # A SWE-bench run's results.json lists only the resolved ids of the run the trajectory belongs to.
    if isinstance(data.get("resolved"), list) and "unresolved_ids" not in data:
        return False
    return None


def _summary_csv(path: Path, instance: str) -> bool | None:
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            for row in csv.DictReader(fh):
                if row.get("instance_id") == instance:
                    v = (row.get("resolved") or "").strip().lower()
                    if v in ("true", "1", "yes"):
                        return True
                    if v in ("false", "0", "no"):
                        return False
    except OSError:
        return None
    return None


def swebench_outcome(traj_path: Path, instance: str, levels: int = 3) -> tuple[bool | None, str]:
    """Resolved flag of a SWE-bench instance from harness files near its trajectory.

    Looks for ``report.json`` beside the trajectory, then ``logs/<instance>/report.json``,
    ``results/results.json`` / ``results.json`` and ``results_summary.csv`` in up to
    ``levels`` parent folders. Returns ``(resolved, file name)`` or ``(None, "")``.
    """
    if not instance:
        return None, ""
    d = traj_path.parent
    beside = d / "report.json"
    if beside.is_file():
        r = _report_resolved(beside, instance)
        if r is not None:
            return r, "report.json"
    # The instance id comes from the transcript: a folder name only if it is one (no separator, no "..", not too
    # long for the file system), so a damaged or hostile id neither fails the file nor reads outside ``logs``.
    as_folder = instance not in (".", "..") and not any(c in instance for c in "/\\\0") and len(instance.encode()) <= 255
    for _ in range(levels + 1):
        rep = d / "logs" / instance / "report.json"
        if as_folder and rep.is_file():
            r = _report_resolved(rep, instance)
            if r is not None:
                return r, "logs/report.json"
        for cand in (d / "results" / "results.json", d / "results.json"):
            if cand.is_file() and cand != traj_path:
                r = run_results(cand, instance)
                if r is not None:
                    return r, "results.json"
        summ = d / "results_summary.csv"
        if summ.is_file():
            r = _summary_csv(summ, instance)
            if r is not None:
                return r, "results_summary.csv"
        if d.parent == d:
            break
        d = d.parent
    return None, ""
