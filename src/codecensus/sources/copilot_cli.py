"""GitHub Copilot CLI session events (transcript-formats.md §10).

``~/.copilot/session-state/<sessionId>/events.jsonl`` (older: ``<sessionId>.jsonl``),
one event per line ``{type, data, id, timestamp, parentId}``:
``session.start`` (``sessionId``, ``copilotVersion``, ``selectedModel``,
``context.cwd``), ``user.message`` (the prompt), ``assistant.message``
(``content``, ``toolRequests[{toolCallId, name, arguments}]``),
``tool.execution_start`` / ``tool.execution_complete`` (``success``,
``result.content``, ``error``), ``assistant.usage`` (per-call tokens),
``abort``, ``session.compaction_complete``, ``session.error``,
``session.model_change``, ``session.shutdown``.

- Tool calls come from ``toolRequests`` (or ``tool.execution_start`` when a
  call was not announced); ``report_intent`` (the agent's status line, not
  work) is not counted. Calls made inside a subagent (``parentToolCallId``)
  are subagent rows.
- Usage: ``assistant.usage``. Its ``inputTokens`` are read as including the
  cache reads (OpenAI-style accounting of the Copilot API): stored as
  uncached input + cache reads. Its ``cost`` is in premium requests, not USD,
  and is not recorded as a cost.
- ``abort`` = interrupt; compaction and session errors become events.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from codecensus.records import ParseResult
from codecensus.sources.base import FileContext, JsonLines, loads, register
from codecensus.sources.common import parse_ts
from codecensus.sources.rows import (
    Rows,
    WholeFileParser,
    as_dict,
    as_int,
    as_list,
    as_str,
    head_records,
    looks_like_claude_code,
    named_session_id,
    text_of,
)

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SKIP_TOOLS = frozenset({"report_intent"})
_KNOWN_PREFIXES = ("session.", "user.", "assistant.", "tool.", "subagent.", "hook.", "skill.", "system.", "pending_messages.")
_CWD_YAML = re.compile(r"^cwd:\s*(.+?)\s*$", re.M)


def _args(v: Any) -> dict[str, Any]:
    if isinstance(v, dict):
        return v
    if isinstance(v, str):
        try:
            p = loads(v)
        except orjson.JSONDecodeError:
            return {"input": v}
        return p if isinstance(p, dict) else {"input": p}
    return {}


def _start_id(path: Path) -> str | None:
    """``data.sessionId`` of a first ``session.start`` line."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(1 << 20)
        rec = loads(first)
    except (OSError, orjson.JSONDecodeError):
        return None
    if isinstance(rec, dict) and rec.get("type") == "session.start":
        return as_str(as_dict(rec.get("data")).get("sessionId"))
    return None


class CopilotCliParser(WholeFileParser):
    name = "copilot_cli"
    version = "2"  # 2: without a recorded or uuid id, session_id from the file's id, not its name

    def detect(self, path: Path, head: bytes) -> float:
        if path.suffix != ".jsonl":
            return 0.0
        recs = head_records(head, 6)
        if not recs or looks_like_claude_code(recs):
            return 0.0
        first = recs[0]
        if first.get("type") == "session.start" and isinstance(first.get("data"), dict):
            return 0.95
        hits = sum(
            1
            for r in recs
            if isinstance(r.get("type"), str) and r["type"].startswith(_KNOWN_PREFIXES) and isinstance(r.get("data"), dict)
        )
        if hits >= 2 or (hits >= 1 and "session-state" in path.parts):
            return 0.85
        return 0.0

    def parse(self, ctx: FileContext) -> ParseResult:
        path = ctx.path
        rows = Rows(ctx, self.name)
        folder = path.resolve().parent
        sid = _start_id(path)
        if sid is None:
            if path.name == "events.jsonl" and _UUID.match(folder.name):
                sid = folder.name
            elif _UUID.match(path.stem):
                sid = path.stem
            else:
                sid = named_session_id(self.name, ctx)
        s = rows.session(ctx.session_key or sid, session_id=sid)
        ws = folder / "workspace.yaml"
        if ws.is_file():
            try:
                m = _CWD_YAML.search(ws.read_text(encoding="utf-8", errors="replace"))
            except OSError:
                m = None
            if m:
                s.info.project_key = m.group(1).strip("'\"")
        model: str | None = None
        seen_calls: set[str] = set()
        unknown: dict[str, tuple[int, int]] = {}
        reader = JsonLines(path, rows.bad, final=ctx.final)
        for line_no, rec in reader:
            et = rec.get("type")
            data = as_dict(rec.get("data"))
            ts = parse_ts(rec.get("timestamp"))
            eid = as_str(rec.get("id"))
            uuid = f"copilot:{s.key}:{eid}" if eid else None
            s.touch(ts)
            s.sub = as_str(data.get("parentToolCallId")) is not None
            if et in ("session.start", "session.resume"):
                v = as_str(data.get("copilotVersion"))
                if v:
                    s.info.version = v
                model = as_str(data.get("selectedModel")) or model
                cwd = as_str(as_dict(data.get("context")).get("cwd"))
                if cwd and not s.info.project_key:
                    s.info.project_key = cwd
                s.info.entrypoint = s.info.entrypoint or as_str(data.get("producer"))
                s.touch(parse_ts(data.get("startTime")), count=False)
            elif et == "session.model_change":
                model = as_str(data.get("newModel")) or model
            elif et == "session.context_changed":
                cwd = as_str(data.get("cwd"))
                if cwd and not s.info.project_key:
                    s.info.project_key = cwd
            elif et == "user.message":
                src = as_str(data.get("source"))
                if src in (None, "user"):
                    content = data.get("content")
                    s.prompt(line_no, ts, content if isinstance(content, str) else text_of(content), uuid=uuid)
            elif et == "assistant.message":
                msg_id = as_str(data.get("messageId"))
                s.message(line_no, ts, text=as_str(data.get("content")) or "", model=model, msg_id=msg_id, uuid=uuid)
                for seq, tr in enumerate(as_list(data.get("toolRequests")), start=1):
                    tr = as_dict(tr)
                    name = as_str(tr.get("name")) or "tool"
                    cid = as_str(tr.get("toolCallId"))
                    if name in _SKIP_TOOLS or (cid and cid in seen_calls):
                        continue
                    if cid:
                        seen_calls.add(cid)
                    s.action(line_no, ts, name, _args(tr.get("arguments")), tool_use_id=cid, msg_id=msg_id, seq=seq)
            elif et == "tool.execution_start":
                name = as_str(data.get("toolName")) or "tool"
                cid = as_str(data.get("toolCallId"))
                if name in _SKIP_TOOLS or (cid and cid in seen_calls):
                    continue
                if cid:
                    seen_calls.add(cid)
                if as_str(data.get("mcpServerName")):
                    name = f"mcp__{data['mcpServerName']}__{as_str(data.get('mcpToolName')) or name}"
                s.action(line_no, ts, name, _args(data.get("arguments")), tool_use_id=cid, uuid=uuid)
            elif et == "tool.execution_complete":
                cid = as_str(data.get("toolCallId"))
                if cid is None or cid not in seen_calls:
                    continue
                result = as_dict(data.get("result"))
                err = data.get("error")
                err_d = as_dict(err)
                text = as_str(result.get("detailedContent")) or as_str(result.get("content")) or ""
                err_text = as_str(err_d.get("message")) or (err if isinstance(err, str) else "")
                code = (as_str(err_d.get("code")) or "").lower()
                rejected = "reject" in code or "denied" in code or "denied" in err_text[:120].lower()
                ok = data.get("success")
                s.result(
                    line_no, ts, cid, text or err_text, is_error=ok is False or bool(err), rejected=rejected, uuid=uuid
                )
            elif et == "assistant.usage":
                inp = as_int(data.get("inputTokens"))
                cr = as_int(data.get("cacheReadTokens"))
                cw = as_int(data.get("cacheWriteTokens"))
                usage = (max(0, inp - cr - cw) if inp >= cr + cw else inp, as_int(data.get("outputTokens")), cr, cw)
                s.message(line_no, ts, model=as_str(data.get("model")) or model, usage=usage, block="usage", uuid=uuid)
            elif et == "abort":
                s.event(line_no, ts, "interrupt", as_str(data.get("reason")))
            elif et == "session.compaction_complete":
                s.event(line_no, ts, "compaction")
            elif et == "session.error":
                s.event(line_no, ts, "api_error", as_str(data.get("errorType")))
            elif isinstance(et, str) and et.startswith(_KNOWN_PREFIXES):
                pass
            else:
                key = str(et)[:40]
                first, n = unknown.get(key, (line_no, 0))
                unknown[key] = (first, n + 1)
            s.sub = False
        rows.unknown(unknown)
        return rows.finish(reader.consumed, reader.lines)


PARSER = register(CopilotCliParser())
