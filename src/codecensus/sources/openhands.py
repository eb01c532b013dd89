"""OpenHands trajectories (transcript-formats.md §7), two generations.

``openhands`` — V0 (file): a JSON list of events (UI "download trajectory",
``tests/runtime/trajs/*.json``) or an evaluation ``output.jsonl`` whose lines
are ``{instance_id, instruction, history[], metrics, test_result, report?}``
(one session per line). Events are ``{id, timestamp, source, action|observation,
args|extras, cause, tool_call_metadata{tool_call_id, model_response{id, model,
usage}}, llm_metrics?}``; observations answer the action whose id is ``cause``.

``openhands_v1`` — V1 SDK/CLI conversation folder (folder parser):
``base_state.json`` (model, working dir, usage stats) + ``events/event-*.json``
(``MessageEvent``, ``ActionEvent``, ``ObservationEvent``, ``UserRejectObservation``,
``AgentErrorEvent``, ``PauseEvent``, ``Condensation`` …).

Rows: user messages are prompts; agent messages and the thoughts attached to
actions are replies; usage comes per LLM response (grouped by response id) or,
when only cumulative metrics exist, as one summary row. Evaluation rows with a
SWE-bench report (inline or ``logs/<instance>/report.json`` near the file) get
an ``outcome_truth`` event.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from codecensus.records import ParseResult
from codecensus.sources.base import FileContext, iter_lines, loads, register
from codecensus.sources.common import parse_ts
from codecensus.sources.rows import (
    FolderParser,
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
    named_session_id,
    openai_usage,
    recorded_session_id,
    swebench_outcome,
    text_of,
)

_V0_CATEGORY = {
    "run": "shell",
    "run_ipython": "shell",
    "read": "read",
    "write": "write",
    "edit": "edit",
    "browse": "web",
    "browse_interactive": "web",
    "delegate": "agent",
    "finish": "finish",
    "think": "other",
    "call_tool_mcp": "mcp",
    "mcp": "mcp",
    "browser_mcp": "mcp",
    "task_tracking": "todo",
}
_V0_NOT_ACTIONS = frozenset(
    {"message", "system", "recall", "change_agent_state", "condensation", "null", "reject", "condensation_request"}
)
_EVENT_FILE = re.compile(r"event-(\d+)")


def _metric_usage(m: dict[str, Any]) -> tuple[int, int, int, int]:
    """Usage from an OpenHands ``accumulated_token_usage`` / ``token_usages[]`` entry."""
    prompt = as_int(m.get("prompt_tokens"))
    cr = as_int(m.get("cache_read_tokens"))
    cw = as_int(m.get("cache_write_tokens"))
    return max(0, prompt - cr - cw), as_int(m.get("completion_tokens")), cr, cw


def _model_arguments(tcm: dict[str, Any]) -> dict[str, Any] | None:
    """The arguments the model wrote for a V0 action: ``function.arguments`` of the tool call in
    ``tool_call_metadata.model_response.choices[].message.tool_calls[]`` whose id is the event's ``tool_call_id``,
    read as JSON (a string that is not a JSON object: ``{"input": <it>}``). None when the metadata does not hold it."""
    call_id = as_str(tcm.get("tool_call_id"))
    if not call_id:
        return None
    for choice in as_list(as_dict(tcm.get("model_response")).get("choices")):
        for tc in as_list(as_dict(as_dict(choice).get("message")).get("tool_calls")):
            tc = as_dict(tc)
            if as_str(tc.get("id")) != call_id:
                continue
            raw = as_dict(tc.get("function")).get("arguments")
            if isinstance(raw, dict):
                return raw
            if not isinstance(raw, str):
                return None
            try:
                parsed = loads(raw) if raw.strip() else {}
            except orjson.JSONDecodeError:
                return {"input": raw}
            return parsed if isinstance(parsed, dict) else {"input": parsed}
    return None


class _V0:
    """Turns a list of V0 events into one session's rows."""

    def __init__(self, s: Session, line_of: Any, spread: bool = False) -> None:
        self.s = s
        self.line_of = line_of  # event index -> line number
        # Events sharing one line (an evaluation row) get distinct seqs: 4 per event.
        self.spread = spread
        self.base_seq = 0
        self.usage_rows = 0
        self.last_metrics: dict[str, Any] = {}
        self.last_ts: int | None = None

    def run(self, events: list[Any]) -> None:
        flat: list[Any] = []
        for e in events:
            # Old histories store [action, observation] pairs.
            if isinstance(e, list) and len(e) == 2 and all(isinstance(x, dict) for x in e):
                flat.extend(e)
            else:
                flat.append(e)
        for idx, e in enumerate(flat, start=1):
            line = self.line_of(idx)
            if not isinstance(e, dict):
                continue
            self.base_seq = idx * 4 if self.spread else 0
            self.event(e, line)
        if self.usage_rows == 0 and self.last_metrics:
            acc = as_dict(self.last_metrics.get("accumulated_token_usage"))
            cost = as_float(self.last_metrics.get("accumulated_cost"))
            if acc or cost:
                self.s.message(
                    self.line_of(len(flat)),
                    self.last_ts,
                    usage=_metric_usage(acc),
                    cost=cost,
                    block="usage",
                    msg_id="openhands-metrics",
                    model=as_str(acc.get("model")),
                )

    def event(self, e: dict[str, Any], line: int) -> None:
        s = self.s
        ts = parse_ts(e.get("timestamp"))
        if ts is not None:
            self.last_ts = ts
        s.touch(ts)
        lm = e.get("llm_metrics")
        if isinstance(lm, dict) and lm:
            self.last_metrics = lm
        src = e.get("source")
        eid = e.get("id")
        tcm = as_dict(e.get("tool_call_metadata"))
        if "action" in e:
            action = str(e.get("action"))
            args = as_dict(e.get("args"))
            if action == "message":
                text = as_str(args.get("content")) or as_str(e.get("message")) or ""
                if src == "user":
                    s.prompt(line, ts, text, seq=self.base_seq)
                elif src == "agent":
                    self._reply(e, line, ts, text, tcm)
                return
            if action == "condensation":
                s.event(line, ts, "compaction", seq=self.base_seq)
                return
            if action in _V0_NOT_ACTIONS:
                return
            if src != "agent":
                return
            thought = as_str(args.get("thought")) or ""
            msg_id = self._reply(e, line, ts, thought, tcm)
            cat = _V0_CATEGORY.get(action, "other")
            model_args = _model_arguments(tcm)
            # real V0 edits' ``args`` carry no ``command``: the model's arguments say create/view/str_replace
            edit_cmd = args.get("command") if "command" in args else (model_args or {}).get("command")
            if action == "edit" and edit_cmd == "create":
                cat = "write"
            if action == "edit" and edit_cmd == "view":
                cat = "read"
            cmd = None
            if action == "run":
                cmd = as_str(args.get("command"))
            elif action == "run_ipython":
                cmd = as_str(args.get("code"))
            tool = as_str(tcm.get("function_name")) or action
            # The model's own arguments (taxonomy §1: output words are the words the model produced): an edit's
            # ``args`` hold OpenHands' rewrite of the call (``translated_ipython_code``), not what the model wrote
            inp = model_args
            if inp is None:
                inp = {k: v for k, v in args.items() if k not in ("thought", "impl_source", "confirmation_state", "hidden")}
            s.action(
                line,
                ts,
                tool,
                inp,
                category=cat,
                command=cmd,
                file_path=as_str(args.get("path")) if cat in ("read", "edit", "write") else None,
                tool_use_id=f"oh:{eid}" if eid is not None else as_str(tcm.get("tool_call_id")),
                msg_id=msg_id,
                seq=self.base_seq + 1,
            )
        elif "observation" in e:
            obs = str(e.get("observation"))
            extras = as_dict(e.get("extras"))
            cause = e.get("cause")
            if obs == "agent_state_changed":
                st = extras.get("agent_state")
                if st == "paused":
                    s.event(line, ts, "interrupt", "paused", seq=self.base_seq)
                elif st == "error":
                    s.event(line, ts, "api_error", "agent_state_error", seq=self.base_seq)
                return
            if cause is None or obs in ("null", "recall", "condensation"):
                return
            text = as_str(e.get("content")) or ""
            meta = as_dict(extras.get("metadata"))
            code = meta.get("exit_code") if isinstance(meta.get("exit_code"), int) else None
            if code == -1:
                code = None  # OpenHands' "no exit code yet" marker
            rejected = obs == "user_rejected"
            is_error = obs == "error" or rejected or e.get("success") is False or (code is not None and code != 0)
            file_op = None
            if obs == "edit":
                file_op = "update" if extras.get("prev_exist") is True else ("create" if extras.get("prev_exist") is False else None)
            s.result(
                line,
                ts,
                f"oh:{cause}",
                text,
                is_error=is_error,
                exit_code=code,
                rejected=rejected,
                file_op=file_op,
                shell=obs in ("run", "run_ipython"),
                seq=self.base_seq,
            )

    def _reply(self, e: dict[str, Any], line: int, ts: int | None, text: str, tcm: dict[str, Any]) -> str | None:
        mr = as_dict(tcm.get("model_response"))
        usage = openai_usage(mr.get("usage"))
        msg_id = as_str(mr.get("id"))
        if any(usage):
            self.usage_rows += 1
        if not text.strip() and not any(usage):
            return msg_id
        self.s.message(line, ts, text=text, model=as_str(mr.get("model")), usage=usage, msg_id=msg_id, seq=self.base_seq)
        return msg_id


class OpenHandsParser(WholeFileParser):
    name = "openhands"
    # 2: a trajectory's session_id from the file's id, not its name (named_session_id); 3: an evaluation row's
    # instance_id of no tool's id shape is hashed (rows.recorded_session_id); 4: an action's input words are the
    # model's own arguments (tool_call_metadata), not OpenHands' rewrite of the call (translated_ipython_code); 5: an
    # edit's create/view read from the model's arguments when its ``args`` lack them (real V0 edits); 6: an evaluation
    # row's hashed id is salted with the store's salt (FileContext.salt)
    version = "6"

    def detect(self, path: Path, head: bytes) -> float:
        if path.suffix == ".json":
            h = head[:8192].lstrip()
            if h.startswith(b"[") and b'"source"' in h and (b'"action"' in h or b'"observation"' in h):
                return 0.85
            return 0.0
        if path.suffix == ".jsonl":
            recs = head_records(head, 1)
            if recs and "instance_id" in recs[0] and isinstance(recs[0].get("history"), list):
                return 0.85
            # A long first line (a whole trajectory) is cut by the head: look at the raw bytes.
            if not recs and head.startswith(b'{"instance_id"') and b'"history"' in head:
                return 0.8
        return 0.0

    def parse(self, ctx: FileContext) -> ParseResult:
        path = ctx.path
        rows = Rows(ctx, self.name)
        if path.suffix == ".jsonl":
            return self._eval_rows(ctx, rows)
        data, err = rows.read_json(path, 1)
        total = count_lines(path)
        if err is not None or not isinstance(data, list):
            rows.bad(1, "bad_json" if err else "bad_record", err or "not a JSON list of events")
            rows.res.unreadable = err
            return rows.finish(file_size(path), total)
        key = ctx.session_key or f"openhands:{path.stem}:{ctx.file_id[:8]}"
        s = rows.session(key, session_id=named_session_id(self.name, ctx, path.stem))
        _V0(s, lambda i: i).run(data)
        for i, e in enumerate(data, start=1):
            if not isinstance(e, dict | list):
                rows.bad(i, "bad_record", f"event is {type(e).__name__}")
        return rows.finish(file_size(path), total)

    def _eval_rows(self, ctx: FileContext, rows: Rows) -> ParseResult:
        path = ctx.path
        consumed = lines = 0
        for line_no, raw, end in iter_lines(path, 0, 0, ctx.final):
            consumed, lines = end, line_no
            if not raw.strip():
                continue
            try:
                row = loads(raw)
            except orjson.JSONDecodeError as exc:
                rows.bad(line_no, "bad_json", str(exc))
                continue
            if not isinstance(row, dict) or not isinstance(row.get("history"), list):
                rows.bad(line_no, "bad_record", "not an evaluation row with a history")
                continue
            inst = as_str(row.get("instance_id")) or f"row{line_no}"
            # (a row without an id: its file's id and line, not 'rowN' shared by every such file)
            sid = recorded_session_id(self.name, inst if row.get("instance_id") else f"{ctx.file_id}:{inst}", ctx)
            s = rows.session(f"openhands:{inst}:{ctx.file_id[:8]}", session_id=sid)
            instr = row.get("instruction")
            has_user_msg = any(
                isinstance(e, dict) and e.get("source") == "user" and e.get("action") == "message" for e in row["history"]
            )
            if isinstance(instr, str) and instr.strip() and not has_user_msg:
                s.prompt(line_no, None, instr)
            v0 = _V0(s, lambda _i, ln=line_no: ln, spread=True)
            if not v0.last_metrics and isinstance(row.get("metrics"), dict):
                v0.last_metrics = row["metrics"]
            v0.run(row["history"])
            resolved = _inline_resolved(row)
            source = "inline report"
            if resolved is None:
                resolved, source = swebench_outcome(path, inst)
            s.outcome(line_no, resolved, source)
        return rows.finish(consumed, lines)


def _inline_resolved(row: dict[str, Any]) -> bool | None:
    for holder in (row.get("report"), as_dict(row.get("test_result")).get("report"), row.get("test_result")):
        h = as_dict(holder)
        if isinstance(h.get("resolved"), bool):
            return bool(h["resolved"])
    return None


class OpenHandsV1Parser(FolderParser):
    name = "openhands_v1"
    # 2: without a recorded id, session_id from a uuid folder name or the folder's id (named_session_id); 3: a recorded
    # id of no tool's id shape is hashed (rows.recorded_session_id); 4: that hash is salted with the store's salt
    # (FileContext.salt)
    version = "4"
    markers = frozenset({"base_state.json"})

    def detect(self, path: Path, head: bytes) -> float:
        if not path.is_dir():
            return 0.0
        if (path / "base_state.json").is_file() and (path / "events").is_dir():
            return 0.9
        return 0.0

    def parse(self, ctx: FileContext) -> ParseResult:
        folder = ctx.path
        rows = Rows(ctx, self.name)
        state, err = rows.read_json(folder / "base_state.json", 0, "base_state.json: ")
        if err is not None or not isinstance(state, dict):
            rows.bad(0, "bad_json" if err else "bad_record", f"base_state.json: {err or 'not an object'}")
            state = {}
        sid = as_str(state.get("id")) or folder.name
        agent = as_dict(state.get("agent"))
        model = as_str(as_dict(agent.get("llm")).get("model"))
        work = as_str(as_dict(state.get("workspace")).get("working_dir"))
        s = rows.session(ctx.session_key or sid, session_id=recorded_session_id(self.name, recorded, ctx) if (recorded := as_str(state.get("id")))
                         else named_session_id(self.name, ctx, sid),
                         project=work)
        files = []
        try:
            files = sorted(
                (p for p in (folder / "events").iterdir() if p.suffix == ".json"),
                key=lambda p: (int(m.group(1)) if (m := _EVENT_FILE.search(p.name)) else 1 << 30, p.name),
            )
        except OSError as exc:
            rows.bad(0, "bad_record", f"events/: {exc}")
        last_ts: int | None = None
        for idx, f in enumerate(files, start=1):
            e, ferr = rows.read_json(f, idx, f"{f.name}: ")
            if ferr is not None or not isinstance(e, dict):
                rows.bad(idx, "bad_json" if ferr else "bad_record", f"{f.name}: {ferr or 'not an object'}")
                continue
            ts = parse_ts(e.get("timestamp"))
            last_ts = ts or last_ts
            s.touch(ts)
            kind = e.get("kind")
            src = e.get("source")
            if kind == "MessageEvent":
                msg = as_dict(e.get("llm_message"))
                text = text_of(msg.get("content"))
                role = msg.get("role") or src
                if src == "user" or role == "user":
                    if src != "environment":
                        s.prompt(idx, ts, text)
                elif src == "agent":
                    s.message(idx, ts, text=text, model=model, msg_id=as_str(e.get("llm_response_id")))
            elif kind == "ActionEvent":
                tool = as_str(e.get("tool_name")) or "tool"
                action = as_dict(e.get("action"))
                thought = text_of(e.get("thought"))
                rid = as_str(e.get("llm_response_id"))
                if thought.strip():
                    s.message(idx, ts, text=thought, model=model, msg_id=rid)
                inp = {k: v for k, v in action.items() if k != "kind"}
                s.action(idx, ts, tool, inp, tool_use_id=as_str(e.get("tool_call_id")), msg_id=rid, seq=1)
            elif kind in ("ObservationEvent", "UserRejectObservation", "AgentErrorEvent"):
                tid = as_str(e.get("tool_call_id"))
                obs = as_dict(e.get("observation"))
                text = text_of(obs.get("content")) or as_str(obs.get("output")) or as_str(e.get("error")) or ""
                meta = as_dict(obs.get("metadata"))
                code_v = obs.get("exit_code", meta.get("exit_code"))
                code = code_v if isinstance(code_v, int) and not isinstance(code_v, bool) and code_v != -1 else None
                rejected = kind == "UserRejectObservation"
                is_error = (
                    rejected or kind == "AgentErrorEvent" or obs.get("is_error") is True or (code is not None and code != 0)
                )
                s.result(idx, ts, tid, text, is_error=is_error, exit_code=code, rejected=rejected)
            elif kind == "PauseEvent":
                s.event(idx, ts, "interrupt", "pause")
            elif kind == "Condensation":
                s.event(idx, ts, "compaction")
            elif kind == "ConversationErrorEvent":
                s.event(idx, ts, "api_error")
        # Usage: per-response entries when recorded, else the accumulated totals.
        stats = as_dict(as_dict(state.get("stats")).get("usage_to_metrics"))
        n = len(files)
        for name, metrics in stats.items():
            m = as_dict(metrics)
            per = [u for u in as_list(m.get("token_usages")) if isinstance(u, dict)]
            mname = as_str(m.get("model_name")) or model
            if per:
                costs = [as_float(as_dict(c).get("cost")) for c in as_list(m.get("costs"))]
                for i, u in enumerate(per):
                    cost = costs[i] if i < len(costs) and len(costs) == len(per) else None
                    s.message(
                        n,
                        last_ts,
                        model=as_str(u.get("model")) or mname,
                        usage=_metric_usage(u),
                        msg_id=as_str(u.get("response_id")) or f"oh-usage:{name}:{i}",
                        cost=cost,
                        block="usage",
                        seq=min(i, 30000),
                    )
            else:
                acc = as_dict(m.get("accumulated_token_usage"))
                cost = as_float(m.get("accumulated_cost"))
                if acc or cost:
                    s.message(n, last_ts, model=mname, usage=_metric_usage(acc), cost=cost, block="usage", msg_id=f"oh-acc:{name}")
        status = as_str(state.get("execution_status")) or as_str(state.get("agent_status"))
        if status:
            s.event(n, last_ts, "run_status", status[:40], seq=2)
        return rows.finish(0, len(files))


PARSER = register(OpenHandsParser())
PARSER_V1 = register(OpenHandsV1Parser())
