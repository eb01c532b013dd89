"""Anthropic agent-platform session events (``transcript.jsonl``; transcript-formats.md §10).

One event per line ``{role: user|agent|system, kind, time, content?, tool?,
raw{id: "sevt_…", type, processed_at, …}}`` with ``raw.type`` such as
``user.message``, ``user.define_outcome``, ``user.interrupt``,
``agent.message``, ``agent.thinking``, ``agent.tool_use``, ``agent.tool_result``,
``span.model_request_start/end`` (``model_usage``), ``span.outcome_evaluation_*``,
``session.usage``, ``session.status_*``.

- Prompts: ``user.message`` and ``user.define_outcome`` (the task the user
  set for the session).
- Replies: ``agent.message``; usage per model request from
  ``span.model_request_end.model_usage`` (Anthropic usage keys); a failed
  request is an API error.
- Tool calls: ``agent.tool_use`` / ``agent.mcp_tool_use`` / ``agent.custom_tool_use``
  (id = ``raw.id``) and their ``*_tool_result`` (``raw.tool_use_id``,
  ``is_error``); a denied ``user.tool_confirmation`` is a rejection.
- ``user.interrupt`` = interrupt. The last ``span.outcome_evaluation_end``
  ``result`` is the platform grader's verdict on the defined outcome:
  ``satisfied`` → ``outcome_truth`` resolved, anything else unresolved.
- No model name and no per-request cost are recorded (``session.usage``'s
  ``list_cost`` is not read: its unit is undocumented).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codecensus.records import ParseResult
from codecensus.sources.base import FileContext, JsonLines, register
from codecensus.sources.common import parse_ts
from codecensus.sources.rows import (
    Rows,
    WholeFileParser,
    as_dict,
    as_str,
    head_records,
    looks_like_claude_code,
    named_session_id,
    text_of,
)

_TOOL_USE = frozenset({"agent.tool_use", "agent.mcp_tool_use", "agent.custom_tool_use"})
_TOOL_RESULT = frozenset({"agent.tool_result", "agent.mcp_tool_result", "agent.custom_tool_result", "user.custom_tool_result"})
_QUIET = frozenset(
    {
        "agent.thinking",
        "span.model_request_start",
        "span.outcome_evaluation_start",
        "span.outcome_evaluation_ongoing",
        "session.usage",
        "session.status_running",
        "session.thread_status_running",
        "session.thread_status_idle",
        "session.status_rescheduled",
        "session.status_terminated",
        "agent.thread_message_sent",
        "agent.thread_message_received",
    }
)


def _usage(u: dict[str, Any]) -> tuple[int, int, int, int]:
    def n(k: str) -> int:
        v = u.get(k)
        return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0

    return n("input_tokens"), n("output_tokens"), n("cache_read_input_tokens"), n("cache_creation_input_tokens")


class ClaudeAgentPlatformParser(WholeFileParser):
    name = "claude_agent_platform"
    version = "2"  # 2: session_id from the file's id, not a folder or file name a user chose (named_session_id)

    def detect(self, path: Path, head: bytes) -> float:
        if path.suffix != ".jsonl":
            return 0.0
        recs = head_records(head, 6)
        if not recs or looks_like_claude_code(recs):
            return 0.0
        hits = sum(
            1
            for r in recs
            if isinstance(r.get("raw"), dict) and isinstance(r["raw"].get("type"), str) and "kind" in r and "role" in r
        )
        if hits >= 2 or (hits == 1 and len(recs) == 1):
            return 0.9
        return 0.0

    def parse(self, ctx: FileContext) -> ParseResult:
        path = ctx.path
        rows = Rows(ctx, self.name)
        sid = path.parent.name if path.stem == "transcript" else path.stem
        s = rows.session(ctx.session_key or f"agent_platform:{sid}:{ctx.file_id[:8]}",
                         session_id=named_session_id(self.name, ctx, sid))
        last_eval: str | None = None
        last_eval_line = 0
        unknown: dict[str, tuple[int, int]] = {}
        reader = JsonLines(path, rows.bad, final=ctx.final)
        for line_no, rec in reader:
            if not isinstance(rec.get("raw"), dict):
                rows.bad(line_no, "bad_record", "not an event object with raw")
                continue
            raw = rec["raw"]
            rt = as_str(raw.get("type"))  # a list or object is no type name (and cannot be looked up)
            ts = parse_ts(rec.get("time")) or parse_ts(raw.get("processed_at"))
            s.touch(ts)
            eid = as_str(raw.get("id"))
            if rt == "user.message":
                text = rec.get("content") if isinstance(rec.get("content"), str) else text_of(raw.get("content"))
                s.prompt(line_no, ts, text or "", uuid=eid)
            elif rt == "user.define_outcome":
                s.prompt(line_no, ts, as_str(raw.get("description")) or as_str(rec.get("content")) or "", uuid=eid)
            elif rt == "user.interrupt":
                s.event(line_no, ts, "interrupt", uuid=eid)
            elif rt == "user.tool_confirmation":
                if str(raw.get("result", "")).lower() in ("deny", "denied", "reject", "rejected"):
                    s.result(line_no, ts, as_str(raw.get("tool_use_id")), "denied", is_error=True, rejected=True, uuid=eid)
            elif rt == "agent.message":
                text = rec.get("content") if isinstance(rec.get("content"), str) else text_of(raw.get("content"))
                s.message(line_no, ts, text=text or "", uuid=eid)
            elif rt in _TOOL_USE:
                name = as_str(raw.get("name")) or as_str(rec.get("tool")) or "tool"
                if rt == "agent.mcp_tool_use":
                    name = f"mcp__{as_str(raw.get('mcp_server_name')) or 'server'}__{name}"
                inp = as_dict(raw.get("input"))
                s.action(line_no, ts, name, inp, tool_use_id=eid, uuid=eid)
            elif rt in _TOOL_RESULT:
                text = rec.get("content") if isinstance(rec.get("content"), str) else text_of(raw.get("content"))
                tid = as_str(raw.get("tool_use_id")) or as_str(raw.get("mcp_tool_use_id")) or as_str(raw.get("custom_tool_use_id"))
                s.result(line_no, ts, tid, text or "", is_error=raw.get("is_error") is True, uuid=eid)
            elif rt == "span.model_request_end":
                usage = _usage(as_dict(raw.get("model_usage")))
                s.message(
                    line_no,
                    ts,
                    usage=usage,
                    block="usage",
                    msg_id=as_str(raw.get("model_request_start_id")) or eid,
                    model=as_str(raw.get("model")),
                    uuid=eid,
                )
                if raw.get("is_error") is True:
                    s.event(line_no, ts, "api_error", seq=1)
            elif rt == "span.outcome_evaluation_end":
                last_eval = as_str(raw.get("result"))
                last_eval_line = line_no
            elif rt == "session.status_idle":
                reason = as_str(as_dict(raw.get("stop_reason")).get("type"))
                if reason:
                    s.event(line_no, ts, "run_status", reason, uuid=eid)
            elif rt == "session.error":
                s.event(line_no, ts, "api_error", uuid=eid)
            elif isinstance(rt, str) and "compact" in rt:
                s.event(line_no, ts, "compaction", uuid=eid)
            elif rt in _QUIET:
                continue
            else:
                key = str(rt)[:40]
                first, n = unknown.get(key, (line_no, 0))
                unknown[key] = (first, n + 1)
        if last_eval is not None:
            s.outcome(last_eval_line, last_eval == "satisfied", f"outcome_evaluation:{last_eval}")
        rows.unknown(unknown)
        return rows.finish(reader.consumed, reader.lines)


PARSER = register(ClaudeAgentPlatformParser())
