"""Cursor chat/agent ("composer") history in ``state.vscdb`` (transcript-formats.md §10).

SQLite, global ``…/Cursor/User/globalStorage/state.vscdb``, table
``cursorDiskKV(key, value)``:

- ``composerData:<composerId>`` → ``{_v, composerId, createdAt, lastUpdatedAt,
  fullConversationHeadersOnly[{bubbleId, type}], conversation[]? (older
  versions inline the bubbles), modelConfig{modelName}, unifiedMode, name}``;
- ``bubbleId:<composerId>:<bubbleId>`` → ``{type: 1 (user) | 2 (assistant),
  text, toolFormerData{name, params|rawArgs, result, status, toolCallId},
  tokenCount{inputTokens, outputTokens}, timingInfo{clientStartTime},
  createdAt, modelInfo{modelName}}``.

Each composer is one session (a file holds many). User bubbles are prompts,
assistant bubbles replies (with their token counts), ``toolFormerData`` a tool
call and its result (``status`` error/cancelled/rejected, exit codes of
terminal commands). Per-message timestamps are often absent: the composer's
``createdAt``/``lastUpdatedAt`` bound the session. ``line`` is a running
index of bubbles over the file. The database is opened read-only; workspace
databases (``ItemTable`` only) hold no conversations and yield no session.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson

from codecensus.records import ParseResult
from codecensus.sources.base import FileContext, loads, register
from codecensus.sources.common import parse_ts
from codecensus.sources.rows import (
    Rows,
    Session,
    WholeFileParser,
    as_dict,
    as_int,
    as_list,
    as_str,
    file_size,
)

_SQLITE_MAGIC = b"SQLite format 3\x00"


def _loads(v: Any) -> Any:
    if v is None:
        return None
    try:
        return loads(v)
    except (orjson.JSONDecodeError, TypeError):
        return None


def _obj(v: Any) -> dict[str, Any]:
    if isinstance(v, dict):
        return v
    if isinstance(v, str | bytes):
        p = _loads(v)
        return p if isinstance(p, dict) else {}
    return {}


def _range(prefix: str) -> tuple[str, str]:
    """Key range [prefix, prefix with its last char incremented) — an index range scan."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


class CursorParser(WholeFileParser):
    name = "cursor"

    def detect(self, path: Path, head: bytes) -> float:
        if path.name == "state.vscdb" and head.startswith(_SQLITE_MAGIC):
            return 0.85
        if path.suffix == ".vscdb" and head.startswith(_SQLITE_MAGIC):
            return 0.6
        return 0.0

    def parse(self, ctx: FileContext) -> ParseResult:
        path = ctx.path
        rows = Rows(ctx, self.name)
        size = file_size(path)
        try:
            con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        except sqlite3.Error as exc:
            rows.bad(0, "bad_record", f"sqlite: {exc}")
            return rows.finish(size, 0)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "cursorDiskKV" not in tables:
                return rows.finish(size, 0)
            lo, hi = _range("composerData:")
            composers = []
            for key, value in con.execute("SELECT key, value FROM cursorDiskKV WHERE key >= ? AND key < ?", (lo, hi)):
                data = _obj(value)
                cid = as_str(data.get("composerId")) or str(key).split(":", 1)[-1]
                if not data:
                    rows.bad(0, "bad_json", f"{str(key)[:60]}: not a JSON object")
                    continue
                composers.append((parse_ts(data.get("createdAt")) or 0, cid, data))
            composers.sort(key=lambda c: (c[0], c[1]))
            counter = 0
            for _, cid, data in composers:
                counter = self._composer(con, rows, cid, data, counter)
        except sqlite3.Error as exc:
            rows.bad(0, "bad_record", f"sqlite: {exc}")
        finally:
            con.close()
        return rows.finish(size, 0)

    def _composer(self, con: sqlite3.Connection, rows: Rows, cid: str, data: dict[str, Any], counter: int) -> int:
        bubbles: list[dict[str, Any]] = []
        inline = as_list(data.get("conversation"))
        if inline:
            bubbles = [b for b in inline if isinstance(b, dict)]
        else:
            lo, hi = _range(f"bubbleId:{cid}:")
            by_id: dict[str, dict[str, Any]] = {}
            for key, value in con.execute("SELECT key, value FROM cursorDiskKV WHERE key >= ? AND key < ?", (lo, hi)):
                b = _obj(value)
                if b:
                    by_id[str(key).rsplit(":", 1)[-1]] = b
                else:
                    rows.bad(counter, "bad_json", f"{str(key)[:80]}: not a JSON object")
            order = [as_str(as_dict(h).get("bubbleId")) for h in as_list(data.get("fullConversationHeadersOnly"))]
            seen = set()
            for bid in order:
                if bid and bid in by_id and bid not in seen:
                    seen.add(bid)
                    bubbles.append(by_id[bid])
            # Bubbles not in the headers (older layouts): by their own time, then id.
            rest = [b for k, b in sorted(by_id.items()) if k not in seen]
            rest.sort(key=lambda b: parse_ts(b.get("createdAt")) or 0)
            bubbles.extend(rest)
        if not bubbles:
            return counter
        model_default = as_str(as_dict(data.get("modelConfig")).get("modelName"))
        s = rows.session(cid, session_id=cid, entrypoint=as_str(data.get("unifiedMode")) or as_str(data.get("forceMode")))
        s.touch(parse_ts(data.get("createdAt")), count=False)
        s.touch(parse_ts(data.get("lastUpdatedAt")), count=False)
        for b in bubbles:
            counter += 1
            self._bubble(s, b, counter, model_default)
        return counter

    def _bubble(self, s: Session, b: dict[str, Any], line: int, model_default: str | None) -> None:
        timing = as_dict(b.get("timingInfo"))
        ts = parse_ts(b.get("createdAt")) or parse_ts(timing.get("clientStartTime")) or parse_ts(timing.get("clientRpcSendTime"))
        s.touch(ts)
        text = as_str(b.get("text")) or ""
        bid = as_str(b.get("bubbleId"))
        uuid = f"cursor:{s.key}:{bid}" if bid else None
        btype = b.get("type")
        if btype == 1:
            s.prompt(line, ts, text, uuid=uuid)
            return
        if btype != 2:
            s.rows.bad(line, "unknown_type", f"bubble type {str(btype)[:20]}")
            return
        tok = as_dict(b.get("tokenCount"))
        model = as_str(as_dict(b.get("modelInfo")).get("modelName")) or model_default
        usage = (as_int(tok.get("inputTokens")), as_int(tok.get("outputTokens")), 0, 0)
        if text.strip() or any(usage):
            s.message(line, ts, text=text, model=model, usage=usage, msg_id=bid, uuid=uuid)
        tf = as_dict(b.get("toolFormerData"))
        if not tf:
            return
        name = as_str(tf.get("name")) or "tool"
        params = _obj(tf.get("params")) or _obj(tf.get("rawArgs"))
        tid = as_str(tf.get("toolCallId")) or (f"cursor:{bid}" if bid else None)
        s.action(line, ts, name, params, tool_use_id=tid, msg_id=bid, seq=1)
        status = as_str(tf.get("status"))
        raw_result = tf.get("result")
        if raw_result is None and status in (None, "loading"):
            return
        res = _obj(raw_result)
        out = as_str(res.get("output")) or as_str(res.get("contents")) or (raw_result if isinstance(raw_result, str) else "")
        code_v = res.get("exitCodeV2", res.get("exitCode"))
        code = code_v if isinstance(code_v, int) and not isinstance(code_v, bool) else None
        rejected = status in ("rejected", "cancelled") or res.get("rejected") is True
        is_error = status == "error" or rejected or (code is not None and code != 0)
        s.result(line, ts, tid, out, is_error=is_error, exit_code=code, rejected=rejected, seq=1)


PARSER = register(CursorParser())
