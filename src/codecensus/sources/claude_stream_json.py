"""Claude Code ``claude -p --output-format stream-json`` output (transcript-formats.md §2).

One JSON object per line: ``system/init`` (``session_id``, ``cwd``, ``model``,
``claude_code_version``), ``assistant`` / ``user`` lines carrying the same API
message schema as the on-disk transcript (plus ``parent_tool_use_id``: set on
the traffic of a subagent), optional ``stream_event`` partials, and a final
``result`` (``subtype``, ``duration_ms``, ``num_turns``, ``total_cost_usd``).

Assistant and user lines are read by the Claude Code parser's own handlers,
so prompts, usage, tool calls and results follow the same rules (§1.8, §1.6).
The ``result``'s ``total_cost_usd`` is the run's real cost: it becomes the
recorded cost of one summary row and the session's other messages record 0,
so the cost is neither lost nor counted twice. ``duration_ms`` is a turn
duration; ``subtype`` a ``run_status`` event. Files may hold several runs:
sessions are keyed by ``session_id`` (the same id as the run's on-disk
transcript, so both merge into one session when both are ingested).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codecensus.records import ParseResult
from codecensus.sources.base import FileContext, JsonLines, register
from codecensus.sources.claude_code import PARSER as CLAUDE_CODE
from codecensus.sources.common import parse_ts
from codecensus.sources.rows import (
    Rows,
    Session,
    WholeFileParser,
    as_float,
    as_str,
    head_records,
    looks_like_claude_code,
    named_session_id,
)

_SUFFIXES = frozenset({".jsonl", ".json", ".txt", ".log", ".ndjson"})
_KNOWN = frozenset({"system", "assistant", "user", "result", "stream_event", "control_request", "control_response"})


class ClaudeStreamJsonParser(WholeFileParser):
    name = "claude_stream_json"
    version = "2"  # 2: without a recorded session_id, the id is the file's (named_session_id), not its name

    def detect(self, path: Path, head: bytes) -> float:
        if path.suffix not in _SUFFIXES:
            return 0.0
        recs = head_records(head, 6)
        if not recs or looks_like_claude_code(recs):
            return 0.0
        first = recs[0]
        if first.get("type") == "system" and first.get("subtype") == "init" and "session_id" in first:
            return 0.95
        hits = sum(
            1
            for r in recs
            if r.get("type") in ("assistant", "user", "result") and "session_id" in r and isinstance(r.get("message", {}), dict)
        )
        if hits >= 2 and any("parent_tool_use_id" in r or r.get("type") == "result" for r in recs):
            return 0.8
        return 0.0

    def parse(self, ctx: FileContext) -> ParseResult:
        path = ctx.path
        rows = Rows(ctx, self.name)
        fallback = named_session_id(self.name, ctx, path.stem)
        current: Session | None = None
        tool_names: dict[str, dict[str, tuple[str, str | None]]] = {}
        texts_seen: dict[str, set[tuple[str, str | None, str]]] = {}  # per session: copies of a text block
        results: list[tuple[Session, int, int | None, dict[str, Any]]] = []
        unknown: dict[str, tuple[int, int]] = {}
        reader = JsonLines(path, rows.bad, final=ctx.final)
        for line_no, rec in reader:
            rtype = rec.get("type")
            if rtype.__class__ is not str:  # a list or object is no type name (and cannot be looked up)
                rtype = None
            if rtype not in _KNOWN:
                key = str(rtype)[:40]
                first, n = unknown.get(key, (line_no, 0))
                unknown[key] = (first, n + 1)
                continue
            if rtype in ("stream_event", "control_request", "control_response"):
                continue
            sid = as_str(rec.get("session_id"))
            if sid is not None or current is None:
                current = rows.session(ctx.session_key or sid or fallback, session_id=sid or fallback)
            s = current
            ts = parse_ts(rec.get("timestamp"))
            s.touch(ts)
            if rtype == "system":
                self._system(s, rec, line_no, ts)
                continue
            if rtype == "result":
                results.append((s, line_no, ts, rec))
                continue
            sub = rec.get("parent_tool_use_id") is not None
            uuid = as_str(rec.get("uuid"))
            base = {
                "session_key": s.key,
                "file_id": ctx.file_id,
                "line": line_no,
                "uuid": uuid,
                "ts": ts,
                "is_subagent": sub,
            }
            names = tool_names.setdefault(s.key, {})
            res = rows.res
            if rtype == "assistant":
                CLAUDE_CODE._assistant(rec, base, res.messages, res.actions, names, texts_seen.setdefault(s.key, set()))
            else:
                if "tool_use_result" in rec and "toolUseResult" not in rec:
                    rec = {**rec, "toolUseResult": rec["tool_use_result"]}
                CLAUDE_CODE._user(rec, base, sub, res.prompts, res.results, res.events, names)
        for s, line_no, ts, rec in results:
            self._result(s, rec, line_no, ts)
        rows.unknown(unknown)
        return rows.finish(reader.consumed, reader.lines)

    def _system(self, s: Session, rec: dict[str, Any], line: int, ts: int | None) -> None:
        st = rec.get("subtype")
        if st == "init":
            v = as_str(rec.get("claude_code_version"))
            if v:
                s.info.version = v
            cwd = as_str(rec.get("cwd"))
            if cwd and not s.info.project_key:
                s.info.project_key = cwd
            s.info.entrypoint = s.info.entrypoint or "sdk-cli"
        elif st == "compact_boundary":
            meta = rec.get("compact_metadata") if isinstance(rec.get("compact_metadata"), dict) else {}
            pre = meta.get("pre_tokens", meta.get("preTokens"))
            s.event(line, ts, "compaction", as_str(meta.get("trigger")), float(pre) if isinstance(pre, int | float) else None)
        elif st == "api_error" or st == "api_retry":
            s.event(line, ts, "api_error")

    def _result(self, s: Session, rec: dict[str, Any], line: int, ts: int | None) -> None:
        cost = as_float(rec.get("total_cost_usd"))
        if cost is None:
            cost = as_float(rec.get("cost_usd"))
        if cost is not None:
            for m in s.res.messages:
                if m.session_key == s.key and m.line < line and not (m.msg_id or "").startswith("result:"):
                    m.cost_usd = 0.0
            s.message(line, ts, cost=cost, block="usage", msg_id=f"result:{s.key}:{line}")
        d = rec.get("duration_ms")
        if isinstance(d, int | float) and not isinstance(d, bool):
            s.event(line, ts, "turn_duration", value=float(d))
        st = as_str(rec.get("subtype"))
        if st:
            n = rec.get("num_turns")
            s.event(line, ts, "run_status", st[:40], float(n) if isinstance(n, int) else None, seq=1)


PARSER = register(ClaudeStreamJsonParser())
