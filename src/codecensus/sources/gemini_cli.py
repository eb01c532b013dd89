"""Gemini CLI chat sessions (transcript-formats.md §5).

``~/.gemini/tmp/<sha256(project)>/chats/session-<date>-<8hex>.json``: ONE JSON
object ``{sessionId, projectHash, startTime, lastUpdated, messages[]}``,
rewritten on every turn (``append_only = False``). Messages ``{id, timestamp,
type: user|gemini|info|error|warning, content, thoughts, tokens, model,
toolCalls[]}``.

- ``user`` messages are prompts (``/…`` slash commands become ``command`` events).
- ``gemini`` messages are replies; ``tokens`` give usage: ``input`` includes
  ``cached`` (stored as uncached input + cache reads) and ``thoughts`` are
  billed as output (added to output tokens).
- ``toolCalls[]`` are actions; their ``result`` / ``status`` the results
  (``cancelled`` = rejected by the user; ``Exit Code: N`` read from shell output).
- ``error`` messages are API errors; an ``info`` "Request cancelled" is an interrupt.

There are no lines: ``line`` is the 1-based index of the message in ``messages``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from codecensus.records import ParseResult
from codecensus.sources.base import FileContext, register
from codecensus.sources.common import parse_ts
from codecensus.sources.rows import (
    Rows,
    WholeFileParser,
    as_dict,
    as_int,
    as_list,
    as_str,
    count_lines,
    file_size,
    named_session_id,
    text_of,
)

_EXIT = re.compile(r"Exit Code:\s*(-?\d+)")
_NAME = re.compile(r"^session-.*\.json$")


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return text_of(content)


def _result_text(result: Any) -> tuple[str, bool]:
    """(output text, has error) of a toolCall ``result`` (list of functionResponse parts)."""
    parts: list[str] = []
    err = False
    for r in as_list(result) if isinstance(result, list) else [result]:
        fr = as_dict(as_dict(r).get("functionResponse"))
        resp = as_dict(fr.get("response"))
        out = resp.get("output")
        if isinstance(out, str):
            parts.append(out)
        e = resp.get("error")
        if e:
            err = True
            parts.append(e if isinstance(e, str) else str(e))
    return "\n".join(parts), err


class GeminiCliParser(WholeFileParser):
    name = "gemini_cli"
    version = "2"  # 2: without a recorded sessionId, session_id from the file's id, not its name

    def detect(self, path: Path, head: bytes) -> float:
        if path.suffix != ".json":
            return 0.0
        h = head[:4096]
        has_keys = b'"sessionId"' in h and b'"messages"' in h
        if has_keys and (b'"projectHash"' in h or b'"startTime"' in h):
            return 0.9
        if _NAME.match(path.name) and path.parent.name == "chats" and h.lstrip().startswith(b"{"):
            return 0.7
        return 0.0

    def parse(self, ctx: FileContext) -> ParseResult:
        rows = Rows(ctx, self.name)
        path = ctx.path
        total = count_lines(path)
        data = rows.json_object(path)
        if data is None:
            return rows.finish(file_size(path), total)
        sid = as_str(data.get("sessionId")) or named_session_id(self.name, ctx, path.stem)
        s = rows.session(ctx.session_key or sid, session_id=sid, project=as_str(data.get("projectHash")))
        s.touch(parse_ts(data.get("startTime")), count=False)
        s.touch(parse_ts(data.get("lastUpdated")), count=False)
        unknown: dict[str, tuple[int, int]] = {}
        for idx, m in enumerate(as_list(data.get("messages")), start=1):
            if not isinstance(m, dict):
                rows.bad(idx, "bad_record", f"message is {type(m).__name__}")
                continue
            ts = parse_ts(m.get("timestamp"))
            s.touch(ts)
            mtype = m.get("type")
            text = _content_text(m.get("content"))
            if mtype == "user":
                st = text.strip()
                if st.startswith("/") and " " not in st.split("\n", 1)[0][:40]:
                    s.event(idx, ts, "command", st.split()[0][:40] if st.split() else "/")
                else:
                    s.prompt(idx, ts, text, uuid=None)
            elif mtype == "gemini":
                tok = as_dict(m.get("tokens"))
                cached = as_int(tok.get("cached"))
                usage = (
                    max(0, as_int(tok.get("input")) - cached),
                    as_int(tok.get("output")) + as_int(tok.get("thoughts")),
                    cached,
                    0,
                )
                model = as_str(m.get("model"))
                msg_id = as_str(m.get("id"))
                s.message(idx, ts, text=text, model=model, usage=usage, msg_id=msg_id)
                for seq, tc in enumerate(as_list(m.get("toolCalls"))):
                    if not isinstance(tc, dict):
                        continue
                    self._tool(s, tc, idx, ts, seq, msg_id)
            elif mtype == "error":
                s.event(idx, ts, "api_error")
            elif mtype == "info":
                if text.strip().lower().startswith("request cancelled"):
                    s.event(idx, ts, "interrupt")
            elif mtype == "warning":
                continue
            else:
                key = str(mtype)[:40]
                first, n = unknown.get(key, (idx, 0))
                unknown[key] = (first, n + 1)
        rows.unknown(unknown)
        return rows.finish(file_size(path), total)

    def _tool(self, s: Any, tc: dict[str, Any], idx: int, msg_ts: int | None, seq: int, msg_id: str | None) -> None:
        name = as_str(tc.get("name")) or "tool"
        args = as_dict(tc.get("args"))
        tid = as_str(tc.get("id"))
        ts = parse_ts(tc.get("timestamp")) or msg_ts
        s.action(idx, ts, name, args, tool_use_id=tid, msg_id=msg_id, seq=seq)
        status = tc.get("status")
        if tc.get("result") is None and status is None:
            return
        out, has_err = _result_text(tc.get("result"))
        code = None
        mm = _EXIT.search(out[-2000:]) if out else None
        if mm:
            code = int(mm.group(1))
        cancelled = status == "cancelled"
        is_error = status == "error" or has_err or cancelled or (code is not None and code != 0)
        s.result(idx, ts, tid, out, is_error=is_error, exit_code=code, rejected=cancelled, seq=seq)


PARSER = register(GeminiCliParser())
