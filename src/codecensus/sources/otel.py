"""Claude Code OpenTelemetry, as OTLP/HTTP JSON (transcript-formats.md §3). Format ``claude_otel``.

Reads files of OTLP JSON requests — one ``ExportLogsServiceRequest`` /
``ExportMetricsServiceRequest`` object per line (the spool files written by
``codecensus otel serve``, or an export), or one whole (pretty-printed)
object or list of objects. Append-only: spool files grow and are resumed
at the last complete line.

Log events (``event.name`` attribute or ``eventName`` / body
``claude_code.<name>``), with resource and record attributes merged:

- ``user_prompt`` → a prompt (text only when ``OTEL_LOG_USER_PROMPTS=1``;
  otherwise empty text with its ``prompt_length``); with ``command_name`` it
  is a slash command (``command`` event) instead;
- ``tool_result`` → one action and its result (``success``, ``error``,
  ``decision_type=reject`` = rejection; command and file from
  ``tool_parameters`` / ``tool_input`` when ``OTEL_LOG_TOOL_DETAILS=1``).
  The action's ``msg_id`` is the event's ``prompt.id``: actions group per prompt;
- ``api_request`` → a usage row (model, tokens, ``cost_usd`` as recorded cost);
- ``api_error`` → an ``api_error`` event; ``assistant_response`` → a reply.

Sessions are keyed ``otel:<session.id>`` (``session_id`` = ``session.id``): the
same session's on-disk transcript stays a separate ``claude_code`` session, as
telemetry and transcript rows carry different ids and would count twice if
merged. The user is ``user.account_uuid``
(else ``user.id``; the store hashes it on export). Each event's identity is
``(session.id, event.sequence)`` so the same event received twice (an
exporter retry, or a spool and an export of the same data) is counted once.
Metrics: delta-temporality ``claude_code.active_time.total`` points become
``turn_duration`` events (active seconds); other metrics duplicate the events
and are not read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from codecensus.records import ParseResult
from codecensus.sources.base import FileContext, iter_lines, loads, register
from codecensus.sources.common import parse_ts, plausible_ms, tool_category
from codecensus.sources.rows import (
    Rows,
    Session,
    WholeFileParser,
    as_dict,
    as_float,
    as_int,
    as_list,
    as_str,
    count_lines,
    file_size,
    head_records,
    looks_like_claude_code,
)

_SUFFIXES = frozenset({".jsonl", ".json", ".ndjson"})
_REDACTED = frozenset({"<REDACTED>", "<redacted>", "[REDACTED]"})
_IGNORED = frozenset(
    {
        "tool_decision",
        "permission_mode_changed",
        "auth",
        "api_request_body",
        "api_response_body",
        "session_start",
        "hook_execution",
        "plugin_loaded",
        "skill_activated",
    }
)
DELTA = 1


def any_value(v: Any) -> Any:
    """Python value of an OTLP JSON ``AnyValue``."""
    if not isinstance(v, dict):
        return v
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return as_int(v["intValue"])
    if "doubleValue" in v:
        return as_float(v["doubleValue"])
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "arrayValue" in v:
        return [any_value(x) for x in as_list(as_dict(v["arrayValue"]).get("values"))]
    if "kvlistValue" in v:
        return attrs(as_dict(v["kvlistValue"]).get("values"))
    if "bytesValue" in v:
        return v["bytesValue"]
    return None


def attrs(kvs: Any) -> dict[str, Any]:
    """``[{key, value: AnyValue}]`` → dict."""
    out: dict[str, Any] = {}
    for kv in as_list(kvs):
        if isinstance(kv, dict) and isinstance(kv.get("key"), str):
            out[kv["key"]] = any_value(kv.get("value"))
    return out


def _nanos_ms(v: Any) -> int | None:
    ms = as_int(v) // 1_000_000
    return plausible_ms(ms) if ms else None  # 0: none; before 2020 or far ahead: damaged (see TS_PLAUSIBLE_MIN_MS)


def _truthy(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
    if isinstance(v, int | float):
        return bool(v)
    return None


def _json_attr(v: Any) -> dict[str, Any]:
    if isinstance(v, dict):
        return v
    if isinstance(v, str) and v.lstrip().startswith("{"):
        try:
            p = loads(v)
        except orjson.JSONDecodeError:
            return {}
        return p if isinstance(p, dict) else {}
    return {}


def iter_log_records(req: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(record, merged attributes, scope) for every log record of a request."""
    for rl in as_list(req.get("resourceLogs")):
        rl = as_dict(rl)
        res_attrs = attrs(as_dict(rl.get("resource")).get("attributes"))
        for sl in as_list(rl.get("scopeLogs")) or as_list(rl.get("instrumentationLibraryLogs")):
            sl = as_dict(sl)
            scope = as_dict(sl.get("scope")) or as_dict(sl.get("instrumentationLibrary"))
            for lr in as_list(sl.get("logRecords")):
                if isinstance(lr, dict):
                    yield lr, {**res_attrs, **attrs(lr.get("attributes"))}, scope


def event_name(lr: dict[str, Any], a: dict[str, Any]) -> str:
    name = as_str(a.get("event.name")) or as_str(lr.get("eventName"))
    if not name:
        body = any_value(lr.get("body"))
        name = body if isinstance(body, str) else ""
    return name.removeprefix("claude_code.")


class ClaudeOtelParser(WholeFileParser):
    name = "claude_otel"
    append_only = True

    def detect(self, path: Path, head: bytes) -> float:
        if path.suffix not in _SUFFIXES:
            return 0.0
        recs = head_records(head, 3)
        if recs:
            if looks_like_claude_code(recs):
                return 0.0
            if "resourceLogs" in recs[0] or "resourceMetrics" in recs[0]:
                return 0.95
            return 0.0
        start = head[:512].lstrip()
        if start.startswith((b"{", b"[")) and (b'"resourceLogs"' in head[:4096] or b'"resourceMetrics"' in head[:4096]):
            return 0.9
        return 0.0

    def parse(self, ctx: FileContext) -> ParseResult:
        path = ctx.path
        rows = Rows(ctx, self.name)
        consumed, lines = ctx.start_offset, ctx.start_line
        first = True
        for line_no, raw, end in iter_lines(path, ctx.start_offset, ctx.start_line, ctx.final):
            stripped = raw.strip()
            if not stripped:
                consumed, lines = end, line_no
                continue
            try:
                req = loads(stripped)
            except orjson.JSONDecodeError as exc:
                if first and ctx.start_offset == 0 and stripped[:1] in (b"{", b"["):
                    whole = self._whole(rows, path)
                    if whole:
                        return rows.finish(file_size(path), count_lines(path))
                rows.bad(line_no, "bad_json", str(exc))
                consumed, lines = end, line_no
                first = False
                continue
            first = False
            consumed, lines = end, line_no
            for r in req if isinstance(req, list) else [req]:
                self.request(rows, r, line_no)
        return rows.finish(consumed, lines)

    def _whole(self, rows: Rows, path: Path) -> bool:
        """A file holding ONE JSON value (a request or a list of requests)."""
        data, err = rows.read_json(path, 1)
        if err is not None:
            return False
        reqs = data if isinstance(data, list) else [data]
        for i, r in enumerate(reqs, start=1):
            self.request(rows, r, i)
        return True

    # -- one OTLP request ------------------------------------------------------------
    def request(self, rows: Rows, req: Any, line: int) -> None:
        if not isinstance(req, dict):
            rows.bad(line, "bad_record", f"JSON {type(req).__name__}, not an OTLP request")
            return
        if "resourceLogs" in req:
            for seq, (lr, a, scope) in enumerate(iter_log_records(req)):
                self.log_record(rows, lr, a, scope, line, seq)
        if "resourceMetrics" in req:
            self.metrics(rows, req, line)
        if "resourceLogs" not in req and "resourceMetrics" not in req:
            rows.bad(line, "unknown_type", "not an OTLP logs/metrics request")

    def _session(self, rows: Rows, a: dict[str, Any], scope: dict[str, Any]) -> Session:
        sid = as_str(a.get("session.id")) or f"nosession-{rows.ctx.file_id[:8]}"
        user = as_str(a.get("user.account_uuid")) or as_str(a.get("user.id"))
        # Keyed apart from the same session's on-disk transcript (whose ids differ: merging would count twice).
        s = rows.session(f"otel:{sid}", session_id=sid, user=user, entrypoint="otel")
        v = as_str(a.get("app.version")) or as_str(a.get("service.version")) or as_str(scope.get("version"))
        if v:
            s.info.version = v
        if user and s.info.user_key != user and s.info.user_key == rows.ctx.user:
            s.info.user_key = user
        return s

    def log_record(self, rows: Rows, lr: dict[str, Any], a: dict[str, Any], scope: dict[str, Any], line: int, seq: int) -> None:
        name = event_name(lr, a)
        if not name:
            rows.bad(line, "unknown_type", "log record without event name")
            return
        if name in _IGNORED:
            return
        if name not in ("user_prompt", "tool_result", "api_request", "api_error", "assistant_response"):
            rows.bad(line, "unknown_type", f"event {name[:30]}")
            return
        s = self._session(rows, a, scope)
        ts = parse_ts(a.get("event.timestamp")) or _nanos_ms(lr.get("timeUnixNano")) or _nanos_ms(lr.get("observedTimeUnixNano"))
        s.touch(ts)
        sq = a.get("event.sequence")
        ident = f"{s.key}:{as_int(sq)}" if sq is not None else None
        prompt_id = as_str(a.get("prompt.id"))
        if name == "user_prompt":
            cmd = as_str(a.get("command_name"))
            if cmd:
                s.event(line, ts, "command", cmd if cmd.startswith("/") else f"/{cmd}", seq=seq, uuid=ident)
                return
            text = as_str(a.get("prompt")) or ""
            if text in _REDACTED:
                text = ""
            length = a.get("prompt_length")
            s.prompt(line, ts, text, seq=seq, uuid=ident, chars=as_int(length) if length is not None else 0)
        elif name == "tool_result":
            tool = as_str(a.get("tool_name")) or "tool"
            params = _json_attr(a.get("tool_parameters"))
            inp = _json_attr(a.get("tool_input"))
            cat = tool_category(tool)
            cmd = None
            if cat == "shell":
                cmd = (
                    as_str(params.get("full_command"))
                    or as_str(params.get("bash_command"))
                    or as_str(inp.get("command"))
                )
            fpath = as_str(inp.get("file_path")) or as_str(inp.get("notebook_path")) or as_str(params.get("file_path"))
            if tool.startswith("mcp__") or as_str(params.get("mcp_server_name")):
                cat = "mcp"
            tid = as_str(a.get("tool_use_id")) or (f"{ident}:tool" if ident else f"otel:{rows.ctx.file_id[:8]}:{line}:{seq}")
            s.action(
                line,
                ts,
                tool,
                inp,
                category=cat,
                command=cmd,
                file_path=fpath,
                tool_use_id=tid,
                msg_id=prompt_id,
                seq=seq,
                uuid=ident,
            )
            success = _truthy(a.get("success"))
            decision = (as_str(a.get("decision_type")) or as_str(a.get("decision")) or "").lower()
            rejected = decision == "reject"
            err = as_str(a.get("error")) or ""
            s.result(
                line,
                ts,
                tid,
                err,
                is_error=success is False or rejected,
                rejected=rejected,
                interrupted="interrupt" in err[:200].lower(),
                shell=False,
                seq=seq,
                uuid=ident,
            )
        elif name == "api_request":
            usage = (
                as_int(a.get("input_tokens")),
                as_int(a.get("output_tokens")),
                as_int(a.get("cache_read_tokens")),
                as_int(a.get("cache_creation_tokens")),
            )
            rid = as_str(a.get("request_id"))
            s.message(
                line,
                ts,
                model=as_str(a.get("model")),
                usage=usage,
                cost=as_float(a.get("cost_usd")),
                msg_id=rid or (f"{ident}:api" if ident else f"otel:{rows.ctx.file_id[:8]}:{line}:{seq}"),
                request_id=rid,
                block="usage",
                seq=seq,
                uuid=ident,
            )
        elif name == "api_error":
            code = a.get("status_code")
            s.event(line, ts, "api_error", str(code)[:20] if code is not None else None, seq=seq, uuid=ident)
        elif name == "assistant_response":
            text = as_str(a.get("response")) or as_str(a.get("text")) or ""
            if text in _REDACTED:
                text = ""
            s.message(
                line,
                ts,
                text=text,
                model=as_str(a.get("model")),
                msg_id=f"{ident}:resp" if ident else f"otel-resp:{rows.ctx.file_id[:8]}:{line}:{seq}",
                block="text",
                seq=seq,
                uuid=ident,
            )

    def metrics(self, rows: Rows, req: dict[str, Any], line: int) -> None:
        seq = 10000  # keep clear of log-record seqs on the same line
        for rm in as_list(req.get("resourceMetrics")):
            rm = as_dict(rm)
            res_attrs = attrs(as_dict(rm.get("resource")).get("attributes"))
            for sm in as_list(rm.get("scopeMetrics")):
                sm = as_dict(sm)
                scope = as_dict(sm.get("scope"))
                for metric in as_list(sm.get("metrics")):
                    metric = as_dict(metric)
                    if metric.get("name") != "claude_code.active_time.total":
                        continue
                    data = as_dict(metric.get("sum"))
                    if as_int(data.get("aggregationTemporality")) != DELTA:
                        continue
                    for dp in as_list(data.get("dataPoints")):
                        dp = as_dict(dp)
                        a = {**res_attrs, **attrs(dp.get("attributes"))}
                        if not as_str(a.get("session.id")):
                            continue
                        v = as_float(dp.get("asDouble"))
                        if v is None:
                            v = float(as_int(dp.get("asInt")))
                        if v <= 0:
                            continue
                        s = self._session(rows, a, scope)
                        ts = _nanos_ms(dp.get("timeUnixNano"))
                        s.touch(ts)
                        s.event(line, ts, "turn_duration", as_str(a.get("type")), v * 1000.0, seq=seq)
                        seq += 1


PARSER = register(ClaudeOtelParser())
