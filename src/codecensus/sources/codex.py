"""OpenAI Codex CLI rollouts (transcript-formats.md §4).

``~/.codex/sessions/YYYY/MM/DD/rollout-<ts>-<uuid>.jsonl``. Current layout:
every line ``{timestamp, type, payload}`` with ``session_meta``,
``turn_context``, ``response_item``, ``event_msg`` and ``compacted`` records.
Legacy layout (≤ mid-2025): a first line ``{id, timestamp, instructions}``
then bare ResponseItems and ``{"record_type": "state"}`` lines.

- Prompts: ``event_msg.user_message`` (current) or ``role: user`` messages
  (legacy); ``<environment_context>`` / ``<user_instructions>`` boilerplate
  is skipped.
- Replies: ``response_item`` messages of the assistant (visible words).
- Usage: ``event_msg.token_count.info.total_token_usage`` is cumulative, so
  each increase becomes one usage row (OpenAI input includes cached input:
  stored as uncached input + cache reads; output includes reasoning).
- Tool calls: ``function_call`` (shell / exec_command / update_plan …),
  ``custom_tool_call`` (apply_patch), ``local_shell_call``,
  ``web_search_call``; their outputs give exit codes and test results.
  A ``call_id`` is not always unique: non-OpenAI providers reuse per-turn
  ids (``call_0``, ``terminal:0``) on later, different calls. Measure counts
  a call once per id (for copies), so each later call under a used id gets
  the id ``<call_id>#<n>`` (n-th call under it in the file: a copied file
  gives the same ids) and its output the id of the oldest call under that
  id still waiting for one. A line repeating a call still waiting for its
  output (same id, same tool and arguments) is a copy: it keeps its id.
- Events: ``turn_aborted`` = interrupt, ``task_complete.duration_ms`` = turn
  duration, ``compacted`` / ``context_compacted`` = compaction, ``error`` =
  API error.
- Forks copy history: a forked rollout (``codex fork``, backtracking to an
  earlier message) is a new file and session that starts with a copy of the
  source's lines (its ``session_meta`` included, new timestamps), then goes
  on with its own. (A resumed session appends to its own file: no copy.) Each
  row gets a ``uuid``: a hash chain over the ``session_meta`` line it follows
  and every ``response_item`` since (without their timestamps), plus, for an
  ``event_msg``, its payload and rank since the last response item. A copy
  has the same history, so the same uuids, and measure counts each uuid once,
  in the file that started first (as Claude Code's copied history): the fork
  keeps only its own calls, prompts and tokens. Two branches whose histories
  are the same up to a prompt of the same text (no response item between:
  the fork's first prompt re-sent unchanged) count that prompt once.

Whole-file parser (``append_only = False``): token differences and the model
need the file's earlier lines.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from codecensus.records import ParseResult
from codecensus.sources.base import FileContext, JsonLines, loads, register
from codecensus.sources.common import parse_ts
from codecensus.sources.rows import (
    Rows,
    Session,
    WholeFileParser,
    as_dict,
    as_int,
    as_str,
    head_records,
    looks_like_claude_code,
    named_session_id,
    shell_command,
    text_of,
)

_MAX_TOTAL = 2**63 - 1  # a token count the database can store
_BOILERPLATE = ("<environment_context>", "<user_instructions>", "<turn_aborted>", "# AGENTS.md instructions")
_ROLLOUT_RE = re.compile(r"rollout-.*?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$")
_PATCH_FILE = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+)$", re.M)
_EXIT_RE = re.compile(r"(?:^Exit code:\s*|Process exited with code\s+|exited\s+)(-?\d+)", re.M)
_MODERN_TYPES = frozenset({"session_meta", "turn_context", "response_item", "event_msg", "compacted"})
_SKIP_EVENTS = frozenset(
    {
        "agent_message",
        "agent_reasoning",
        "agent_reasoning_raw_content",
        "agent_reasoning_section_break",
        "task_started",
        "exec_command_begin",
        "exec_command_end",
        "exec_command_output_delta",
        "patch_apply_begin",
        "patch_apply_end",
        "mcp_tool_call_begin",
        "mcp_tool_call_end",
        "web_search_begin",
        "web_search_end",
        "exec_approval_request",
        "apply_patch_approval_request",
        "background_event",
        "plan_update",
        "get_history_entry_response",
        "turn_diff",
        "entered_review_mode",
        "exited_review_mode",
        "session_configured",
        "mcp_list_tools_response",
        "list_custom_prompts_response",
        "shutdown_complete",
        "view_image_tool_call",
        "user_message_event",
        "item_started",
        "item_completed",
        "raw_response_item",
    }
)


def _patch_files(patch: str) -> tuple[str | None, str]:
    """(first file, 'write' if the patch only adds files else 'edit')."""
    hits = _PATCH_FILE.findall(patch or "")
    if not hits:
        return None, "edit"
    kind = "write" if all(h[0] == "Add" for h in hits) else "edit"
    return hits[0][1].strip(), kind


def _parse_output(out: Any) -> tuple[str, int | None]:
    """(text, exit code) of a function_call_output's ``output``."""
    text = ""
    code: int | None = None
    if isinstance(out, dict):
        text = as_str(out.get("output")) or as_str(out.get("content")) or ""
        meta = as_dict(out.get("metadata"))
        if isinstance(meta.get("exit_code"), int):
            code = meta["exit_code"]
    elif isinstance(out, str):
        text = out
        s = out.lstrip()
        if s.startswith("{") and '"output"' in s[:200]:
            try:
                obj = loads(s)
            except orjson.JSONDecodeError:
                obj = None
            if isinstance(obj, dict):
                return _parse_output(obj)
    elif isinstance(out, list):
        text = text_of(out)
    if code is None and text:
        m = _EXIT_RE.search(text[:400])
        if m:
            code = int(m.group(1))
    return text, code


def _first_id(path: Path) -> str | None:
    """The session id on the file's first record (``session_meta.payload.id`` or the legacy header ``id``)."""
    try:
        with open(path, "rb") as fh:
            for raw in fh:
                raw = raw.strip()
                if not raw:
                    continue
                try:
                    rec = loads(raw)
                except orjson.JSONDecodeError:
                    return None
                if not isinstance(rec, dict):
                    return None
                if rec.get("type") == "session_meta":
                    return as_str(as_dict(rec.get("payload")).get("id"))
                if "instructions" in rec and "type" not in rec:
                    return as_str(rec.get("id"))
                return None
    except OSError:
        return None
    return None


def _digest(*parts: Any) -> bytes:
    """A 16-byte hash of ``parts`` (bytes as they are, anything else as its JSON; a value nested too deep for
    orjson, 255 levels, as :func:`_flat_tokens`)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        if isinstance(part, bytes):
            h.update(part)
        else:
            try:
                h.update(orjson.dumps(part, default=str))
            except TypeError:  # "Recursion limit reached": a drifted or damaged record, still one row
                for tok in _flat_tokens(part):
                    h.update(tok)
        h.update(b"\0")
    return h.digest()


class _Key(NamedTuple):
    name: Any


def _flat_tokens(value: Any) -> Iterator[bytes]:
    """The structure and leaves of ``value`` in order, with a stack instead of recursion (any depth)."""
    stack: list[Any] = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            yield b"{%d" % len(v)
            for k, x in reversed(list(v.items())):
                stack += [x, _Key(k)]
        elif isinstance(v, list):
            yield b"[%d" % len(v)
            stack += reversed(v)
        elif isinstance(v, _Key):
            yield b"k" + str(v.name).encode("utf-8", "surrogatepass")
        else:
            yield b"v" + repr(v).encode("utf-8", "surrogatepass")


class _CallIds:
    """The ``tool_use_id`` of each call and output of one file (see the module notes on reused ``call_id``s)."""

    def __init__(self) -> None:
        self._count: dict[str, int] = {}  # call_id -> calls met under it
        self._last: dict[str, tuple[str, bytes]] = {}  # call_id -> (id given to its last call, that call's digest)
        self._open: dict[str, list[str]] = {}  # call_id -> ids of its calls without an output yet, oldest first

    def call(self, call_id: str | None, *content: Any) -> str | None:
        if not call_id:
            return call_id
        digest = hashlib.blake2b(repr(content).encode("utf-8", "replace"), digest_size=16).digest()
        last = self._last.get(call_id)
        waiting = self._open.setdefault(call_id, [])
        if last is not None and last[1] == digest and last[0] in waiting:
            return last[0]  # a copy of a call still waiting for its output
        n = self._count.get(call_id, 0) + 1
        self._count[call_id] = n
        tid = call_id if n == 1 else f"{call_id}#{n}"
        self._last[call_id] = (tid, digest)
        waiting.append(tid)
        return tid

    def output(self, call_id: str | None) -> str | None:
        if not call_id:
            return call_id
        waiting = self._open.get(call_id)
        if waiting:
            return waiting.pop(0)
        last = self._last.get(call_id)
        return last[0] if last is not None else call_id  # a repeated output, or one without its call


class CodexParser(WholeFileParser):
    name = "codex"
    # 2: calls under a reused call_id count once each (were merged into one); 3: rows carry a history-chain uuid
    # (a fork's copied calls, prompts and tokens counted once); 4: a file not named rollout-...-<uuid> that records
    # no id gets its session_id from the file's id, not its name (named_session_id)
    version = "4"

    def detect(self, path: Path, head: bytes) -> float:
        if path.suffix != ".jsonl":
            return 0.0
        recs = head_records(head, 6)
        if not recs:
            # A first line longer than the head (large base_instructions): look at its start.
            start = head[:300]
            if start.startswith(b"{") and b'"type":"session_meta"' in start.replace(b" ", b"") and b'"payload"' in start:
                return 0.9
            return 0.6 if _ROLLOUT_RE.search(path.name) and ".codex" in path.parts else 0.0
        if looks_like_claude_code(recs):
            return 0.0
        first = recs[0]
        if first.get("type") in _MODERN_TYPES and isinstance(first.get("payload"), dict):
            return 0.95
        if "id" in first and "instructions" in first and "type" not in first:
            return 0.85
        if any(r.get("record_type") == "state" for r in recs):
            return 0.8
        if _ROLLOUT_RE.search(path.name):
            return 0.6
        return 0.0

    def parse(self, ctx: FileContext) -> ParseResult:
        path = ctx.path
        rows = Rows(ctx, self.name)
        m = _ROLLOUT_RE.search(path.name)
        fallback_id = m.group(1) if m else named_session_id(self.name, ctx, path.stem)
        sess: Session | None = None
        model: str | None = None
        prev = (0, 0, 0)  # cumulative input, cached input, output
        compacted_items: list[tuple[int, int | None, str]] = []
        compacted_events: list[tuple[int, int | None, str]] = []
        unknown: dict[str, tuple[int, int]] = {}
        ids = _CallIds()
        chain = hashlib.blake2b(b"codex", digest_size=16).digest()  # the history so far (module notes)
        since = 0  # event lines since the chain last moved

        first_id = _first_id(path)

        def session() -> Session:
            nonlocal sess
            if sess is None:
                sid = ctx.session_key or first_id or fallback_id
                sess = rows.session(sid, session_id=sid)
            return sess

        def note_unknown(key: str, line_no: int) -> None:
            first, n = unknown.get(key, (line_no, 0))
            unknown[key] = (first, n + 1)

        reader = JsonLines(path, rows.bad, final=ctx.final)
        for line_no, rec in reader:
            rtype = rec.get("type")
            if rtype.__class__ is not str:  # a list or object is no type name (and cannot be looked up)
                rtype = None
            payload = rec.get("payload")
            ts = parse_ts(rec.get("timestamp"))
            if rtype in _MODERN_TYPES and isinstance(payload, dict):
                modern = True
                item = payload
            else:
                modern = False
                item = rec
                # Legacy header line.
                if "id" in rec and "instructions" in rec and "type" not in rec:
                    chain = _digest(b"meta", rec.get("id"), rec.get("instructions"))
                    session().touch(ts)
                    continue
                if rec.get("record_type") == "state":
                    continue
            if rtype == "session_meta":
                chain, since = _digest(b"meta", item), 0
            elif rtype == "response_item" or not modern:
                chain, since = _digest(chain, item), 0
            elif rtype in ("event_msg", "compacted"):
                since += 1
            uid = (chain if rtype != "event_msg" and rtype != "compacted" else _digest(chain, since, item)).hex()
            s = session()
            if rtype == "session_meta":
                s.touch(ts or parse_ts(item.get("timestamp")))
                cwd = as_str(item.get("cwd"))
                if cwd and not s.info.project_key:
                    s.info.project_key = cwd
                v = as_str(item.get("cli_version"))
                if v:
                    s.info.version = v
                src = item.get("originator") or item.get("source")
                if isinstance(src, str) and not s.info.entrypoint:
                    s.info.entrypoint = src[:40]
                if isinstance(item.get("model"), str):
                    model = item["model"]
                continue
            s.touch(ts)
            if rtype == "turn_context":
                if isinstance(item.get("model"), str):
                    model = item["model"]
                cwd = as_str(item.get("cwd"))
                if cwd and not s.info.project_key:
                    s.info.project_key = cwd
                continue
            if rtype == "compacted":
                compacted_items.append((line_no, ts, uid))
                continue
            if rtype == "event_msg":
                prev = self._event(s, item, line_no, ts, model, prev, compacted_events, note_unknown, uid)
                continue
            # response_item (current) or a bare legacy item
            self._item(s, item, line_no, ts, model, legacy=not modern, note_unknown=note_unknown, ids=ids, uid=uid)

        if sess is None and ctx.start_offset == 0:
            session()
        for line_no, ts, uid in compacted_items or compacted_events:
            if sess is not None:
                sess.event(line_no, ts, "compaction", uuid=uid)
        rows.unknown(unknown)
        return rows.finish(reader.consumed, reader.lines)

    # -- handlers --------------------------------------------------------------
    def _event(
        self,
        s: Session,
        p: dict[str, Any],
        line: int,
        ts: int | None,
        model: str | None,
        prev: tuple[int, int, int],
        compacted_events: list[tuple[int, int | None, str]],
        note_unknown: Callable[[str, int], None],
        uid: str,
    ) -> tuple[int, int, int]:
        et = p.get("type")
        if et == "user_message":
            msg = p.get("message")
            text = msg if isinstance(msg, str) else text_of(msg)
            if text.strip() and not text.lstrip().startswith(_BOILERPLATE):
                s.prompt(line, ts, text, uuid=uid)
        elif et == "token_count":
            info = as_dict(p.get("info"))
            total = as_dict(info.get("total_token_usage"))
            if total:
                cur = (
                    as_int(total.get("input_tokens")),
                    as_int(total.get("cached_input_tokens")),
                    as_int(total.get("output_tokens")),
                )
                if not all(0 <= v <= _MAX_TOTAL for v in cur):
                    # A damaged total (negative, beyond 64 bits) is no counter reset: taken as one, the next total
                    # was counted whole a second time (10**30 input tokens gave 40 output tokens for 30).
                    s.rows.bad(line, "bad_record", "token_count: a total usage count out of range")
                    return prev
                delta: tuple[int, int, int] = (cur[0] - prev[0], cur[1] - prev[1], cur[2] - prev[2])
                if any(d < 0 for d in delta):  # counter reset: a new accumulation started
                    delta = cur
                if any(d > 0 for d in delta):
                    d_in, d_cached, d_out = delta
                    s.message(
                        line,
                        ts,
                        model=model,
                        usage=(max(0, d_in - d_cached), d_out, d_cached, 0),
                        msg_id=f"codex-usage:{line}",
                        block="usage",
                        uuid=uid,
                    )
                return cur
        elif et == "turn_aborted":
            s.event(line, ts, "interrupt", as_str(p.get("reason")), uuid=uid)
        elif et == "task_complete":
            d = p.get("duration_ms")
            if isinstance(d, int | float) and not isinstance(d, bool):
                s.event(line, ts, "turn_duration", value=float(d), uuid=uid)
        elif et == "context_compacted":
            compacted_events.append((line, ts, uid))
        elif et in ("error", "stream_error"):
            s.event(line, ts, "api_error", et, uuid=uid)
        elif isinstance(et, str) and et not in _SKIP_EVENTS:
            note_unknown(f"event_msg.{et}", line)
        return prev

    def _item(
        self,
        s: Session,
        it: dict[str, Any],
        line: int,
        ts: int | None,
        model: str | None,
        *,
        legacy: bool,
        note_unknown: Callable[[str, int], None],
        ids: _CallIds,
        uid: str,
    ) -> None:
        t = it.get("type")
        if t == "message":
            role = it.get("role")
            text = text_of(it.get("content"))
            if role == "assistant":
                s.message(line, ts, text=text, model=model, msg_id=as_str(it.get("id")), uuid=uid)
            elif role == "user" and legacy and text.strip() and not text.lstrip().startswith(_BOILERPLATE):
                s.prompt(line, ts, text, uuid=uid)
        elif t == "function_call":
            name = as_str(it.get("name")) or "function"
            args_raw = it.get("arguments")
            args: dict[str, Any] = {}
            if isinstance(args_raw, str):
                try:
                    parsed = loads(args_raw) if args_raw.strip() else {}
                except orjson.JSONDecodeError:
                    parsed = {"input": args_raw}
                args = parsed if isinstance(parsed, dict) else {"input": parsed}
            elif isinstance(args_raw, dict):
                args = args_raw
            call_id = ids.call(as_str(it.get("call_id")) or as_str(it.get("id")), t, name, args_raw)
            if name == "apply_patch":
                patch = as_str(args.get("input")) or as_str(args.get("patch")) or ""
                fpath, kind = _patch_files(patch)
                s.action(line, ts, name, args, category=kind, file_path=fpath, tool_use_id=call_id, uuid=uid)
                return
            cmd = shell_command(args.get("command")) or shell_command(args.get("cmd"))
            if name in ("shell", "container.exec", "exec_command", "local_shell", "bash"):
                s.action(line, ts, name, args, category="shell", command=cmd, tool_use_id=call_id, uuid=uid)
            else:
                s.action(line, ts, name, args, tool_use_id=call_id, uuid=uid)
        elif t == "custom_tool_call":
            name = as_str(it.get("name")) or "custom_tool"
            inp = it.get("input")
            call_id = ids.call(as_str(it.get("call_id")) or as_str(it.get("id")), t, name, inp)
            if name == "apply_patch" and isinstance(inp, str):
                fpath, kind = _patch_files(inp)
                s.action(line, ts, name, {"input": inp}, category=kind, file_path=fpath, tool_use_id=call_id, uuid=uid)
            else:
                s.action(line, ts, name, inp if isinstance(inp, dict) else {"input": inp}, tool_use_id=call_id, uuid=uid)
        elif t == "local_shell_call":
            action = as_dict(it.get("action"))
            cmd = shell_command(action.get("command"))
            call_id = ids.call(as_str(it.get("call_id")) or as_str(it.get("id")), t, action)
            s.action(line, ts, "local_shell_call", action, category="shell", command=cmd, tool_use_id=call_id, uuid=uid)
        elif t == "web_search_call":
            action = as_dict(it.get("action"))
            call_id = ids.call(as_str(it.get("id")), t, action)
            s.action(line, ts, "web_search_call", action, category="web", tool_use_id=call_id, uuid=uid)
        elif t in ("function_call_output", "custom_tool_call_output", "local_shell_call_output"):
            call_id = ids.output(as_str(it.get("call_id")))
            text, code = _parse_output(it.get("output"))
            low = text[:300].lower()
            rejected = "rejected by user" in low or "declined" in low[:80]
            interrupted = low.startswith("aborted") or "interrupted" in low[:80]
            is_error = (code is not None and code != 0) or rejected
            s.result(line, ts, call_id, text, is_error=is_error, exit_code=code, rejected=rejected, interrupted=interrupted,
                     uuid=uid)
        elif t in ("reasoning", "ghost_snapshot", "compaction_summary"):
            return
        elif isinstance(t, str):
            note_unknown(f"response_item.{t}", line)
        else:
            note_unknown(str(t)[:40], line)


PARSER = register(CodexParser())
