"""Cline / Roo Code / Kilo Code task folders (transcript-formats.md §10). Folder parser.

``<globalStorage>/saoudrizwan.claude-dev/tasks/<taskId = epoch ms>/`` (Roo:
``rooveterinaryinc.roo-cline``, Kilo: ``kilocode.kilo-code``) with
``ui_messages.json`` (ClineMessage[] ``{ts, type: ask|say, ask?, say?, text,
partial?}``), ``api_conversation_history.json`` (Anthropic MessageParam[])
and ``task_metadata.json`` (``model_usage[{ts, model_id}]``, files in context).
One folder = one session.

From ``ui_messages.json`` (preferred: it has timestamps):
- prompts: ``say: task`` and ``say: user_feedback``;
- replies: ``say: text`` / ``completion_result`` and ``ask: followup`` questions;
- usage: ``say: api_req_started`` JSON ``{tokensIn, tokensOut, cacheWrites,
  cacheReads, cost, cancelReason?}`` (``user_cancelled`` = interrupt,
  ``streaming_failed`` = API error; ``ask: api_req_failed`` = API error);
- actions: ``tool`` messages (JSON ``{tool: readFile|editedExistingFile|
  newFileCreated|searchFiles|…, path}``), ``command`` (+ ``command_output``
  result), browser actions and MCP calls (+ ``mcp_server_response``);
- ``condense_context`` = compaction. Streaming placeholders (``partial: true``) are skipped.

Without ``ui_messages.json`` the API history is read instead: the ``<task>``
and ``<feedback>``/``<answer>`` texts are prompts, ``tool_use`` blocks or
Cline's XML tool tags are actions, ``tool_result`` blocks results.
``line`` is the 1-based index of the message in the file read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from codecensus.records import ParseResult
from codecensus.sources.base import FileContext, loads, register
from codecensus.sources.common import parse_ts
from codecensus.sources.rows import (
    FolderParser,
    Rows,
    Session,
    as_dict,
    as_float,
    as_int,
    as_list,
    as_str,
    recorded_session_id,
    text_of,
)

_UI_TOOLS = {
    "readFile": ("read_file", "read"),
    "editedExistingFile": ("replace_in_file", "edit"),
    "appliedDiff": ("apply_diff", "edit"),
    "insertContent": ("insert_content", "edit"),
    "searchAndReplace": ("search_and_replace", "edit"),
    "newFileCreated": ("write_to_file", "write"),
    "fileDeleted": ("delete_file", "edit"),
    "listFilesTopLevel": ("list_files", "search"),
    "listFilesRecursive": ("list_files", "search"),
    "listCodeDefinitionNames": ("list_code_definition_names", "search"),
    "searchFiles": ("search_files", "search"),
    "codebaseSearch": ("codebase_search", "search"),
    "webFetch": ("web_fetch", "web"),
    "newTask": ("new_task", "agent"),
    "updateTodoList": ("update_todo_list", "todo"),
}
_XML_TOOLS = (
    "read_file",
    "write_to_file",
    "replace_in_file",
    "apply_diff",
    "insert_content",
    "search_and_replace",
    "execute_command",
    "search_files",
    "list_files",
    "list_code_definition_names",
    "browser_action",
    "use_mcp_tool",
    "access_mcp_resource",
    "ask_followup_question",
    "attempt_completion",
    "new_task",
    "plan_mode_respond",
    "web_fetch",
    "codebase_search",
)
_XML_RE = re.compile(r"<(" + "|".join(_XML_TOOLS) + r")>(.*?)</\1>", re.S)
_XML_PARAM = re.compile(r"<(path|command|regex|url|server_name|tool_name)>(.*?)</\1>", re.S)
_CWD = re.compile(r"Current (?:Working|Workspace) Directory \(([^)\n]+)\)")
_WRAPPED = re.compile(r"<(task|feedback|answer|user_message)>\s*(.*?)\s*</\1>", re.S)
_SKIP_SAY = frozenset(
    {
        "reasoning",
        "checkpoint_created",
        "shell_integration_warning",
        "diff_error",
        "deleted_api_reqs",
        "clineignore_error",
        "api_req_finished",
        "api_req_retried",
        "inspect_site_result",
        "load_mcp_documentation",
        "info",
        "task_progress",
        "hook",
        "hook_output",
        "user_feedback_diff",
        "browser_action_result",
        "error_retry",
        "subtask_result",
        "codebase_search_result",
        "generate_mermaid_diagram",
    }
)


def _json(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or not text.lstrip().startswith("{"):
        return {}
    try:
        v = loads(text)
    except orjson.JSONDecodeError:
        return {}
    return v if isinstance(v, dict) else {}


def _flavour(folder: Path) -> str:
    parts = " ".join(folder.parts).lower()
    if "roo-cline" in parts or "roo-code" in parts:
        return "roo"
    if "kilo" in parts:
        return "kilo"
    return "cline"


def _task_id(name: str, ctx: FileContext) -> str:
    """A task folder's name as the session id: Cline names it by its start (epoch ms); any other name was given by
    someone and is hashed (with the store's salt) like every id a user may fill."""
    return name if name.isdigit() else recorded_session_id("cline", name, ctx)


class ClineParser(FolderParser):
    name = "cline"
    # 2: a task folder's name is the session_id only when it is Cline's own id (epoch ms); a renamed folder's name
    # is hashed (rows.recorded_session_id): no free text in the sessions export; 3: that hash is salted with the
    # store's salt (FileContext.salt)
    version = "3"
    markers = frozenset({"ui_messages.json", "api_conversation_history.json"})

    def detect(self, path: Path, head: bytes) -> float:
        if not path.is_dir():
            return 0.0
        if (path / "ui_messages.json").is_file() or (path / "api_conversation_history.json").is_file():
            return 0.9
        return 0.0

    def parse(self, ctx: FileContext) -> ParseResult:
        folder = ctx.path
        rows = Rows(ctx, self.name)
        meta = rows.side_json(folder / "task_metadata.json")
        models = sorted(
            (
                (parse_ts(u.get("ts")) or 0, as_str(u.get("model_id")))
                for u in as_list(as_dict(meta).get("model_usage"))
                if isinstance(u, dict) and as_str(u.get("model_id"))
            ),
            key=lambda x: x[0],
        )
        s = rows.session(
            ctx.session_key or f"cline:{folder.name}:{ctx.file_id[:8]}", session_id=_task_id(folder.name, ctx),
            entrypoint=_flavour(folder),
        )
        start = parse_ts(int(folder.name)) if folder.name.isdigit() else None
        s.touch(start, count=False)

        def model_at(ts: int | None) -> str | None:
            m = None
            for t, name in models:
                if ts is None or t <= ts or m is None:
                    m = name
            return m

        unreadable: list[str] = []  # the conversation files that could not be read as JSON, and why
        ui_path = folder / "ui_messages.json"
        if ui_path.is_file():
            data, err = rows.read_json(ui_path, 0, "ui_messages.json: ")
            if err is None and isinstance(data, list):
                self._ui(s, data, model_at)
                return rows.finish(0, len(data))
            rows.bad(0, "bad_json" if err else "bad_record", f"ui_messages.json: {err or 'not a list'}")
            if err is not None:
                unreadable.append(f"ui_messages.json: {err}")
        api_path = folder / "api_conversation_history.json"
        if api_path.is_file():
            data, err = rows.read_json(api_path, 0, "api_conversation_history.json: ")
            if err is None and isinstance(data, list):
                self._api(s, data, model_at(None), start)
                return rows.finish(0, len(data))
            rows.bad(0, "bad_json" if err else "bad_record", f"api_conversation_history.json: {err or 'not a list'}")
            if err is not None:
                unreadable.append(f"api_conversation_history.json: {err}")
        if unreadable and len(unreadable) == ui_path.is_file() + api_path.is_file():
            # Every conversation file there is was cut short (Cline rewrites them whole, and one may be caught
            # mid-write): an empty task replaced the session an earlier run stored. Ingest keeps that one instead.
            rows.res.unreadable = "; ".join(unreadable)
        return rows.finish(0, 0)

    # -- ui_messages.json ----------------------------------------------------------
    def _ui(self, s: Session, msgs: list[Any], model_at: Any) -> None:
        pending: str | None = None  # command / MCP call awaiting output
        last_tool_key: tuple[str, str] | None = None
        last_ask_cmd: str | None = None
        unknown: dict[str, tuple[int, int]] = {}
        for idx, m in enumerate(msgs, start=1):
            if not isinstance(m, dict):
                s.rows.bad(idx, "bad_record", f"message is {type(m).__name__}")
                continue
            if m.get("partial") is True:
                continue
            ts = parse_ts(m.get("ts"))
            s.touch(ts)
            kind = as_str(m.get("say") if m.get("type") == "say" else m.get("ask"))  # a name, or None
            text = m.get("text") if isinstance(m.get("text"), str) else ""
            if kind in ("task", "user_feedback"):
                s.prompt(idx, ts, text)
            elif kind in ("text", "completion_result"):
                if m.get("type") == "say":
                    s.message(idx, ts, text=text, model=model_at(ts))
            elif kind == "followup":
                q = _json(text)
                s.message(idx, ts, text=as_str(q.get("question")) or text, model=model_at(ts))
            elif kind == "api_req_started":
                info = _json(text)
                usage = (
                    as_int(info.get("tokensIn")),
                    as_int(info.get("tokensOut")),
                    as_int(info.get("cacheReads")),
                    as_int(info.get("cacheWrites")),
                )
                cost = as_float(info.get("cost"))
                if any(usage) or cost:
                    s.message(idx, ts, model=model_at(ts), usage=usage, cost=cost, block="usage", msg_id=f"cline:{idx}")
                reason = info.get("cancelReason")
                if reason == "user_cancelled":
                    s.event(idx, ts, "interrupt")
                elif reason == "streaming_failed":
                    s.event(idx, ts, "api_error", "streaming_failed")
                if not s.info.project_key:
                    cwd = _CWD.search(as_str(info.get("request")) or "")
                    if cwd:
                        s.info.project_key = cwd.group(1).strip()
            elif kind == "api_req_failed":
                s.event(idx, ts, "api_error")
            elif kind == "tool":
                info = _json(text)
                tool = as_str(info.get("tool")) or "tool"
                key = (tool, as_str(info.get("path")) or "")
                # An approval ask followed by the same tool's say is one call.
                if m.get("type") == "say" and last_tool_key == key:
                    last_tool_key = None
                    continue
                last_tool_key = key if m.get("type") == "ask" else None
                name, cat = _UI_TOOLS.get(tool, (tool, "other"))
                s.action(idx, ts, name, {k: v for k, v in info.items() if k != "tool"}, category=cat, file_path=as_str(info.get("path")))
            elif kind == "command":
                cmd = text.removesuffix("REQ_APP").strip()
                if m.get("type") == "say" and last_ask_cmd == cmd:
                    last_ask_cmd = None
                    continue
                last_ask_cmd = cmd if m.get("type") == "ask" else None
                tid = f"cline:{idx}"
                s.action(idx, ts, "execute_command", {"command": cmd}, category="shell", command=cmd, tool_use_id=tid)
                pending = tid
            elif kind == "command_output" and m.get("type") == "say":
                if pending is not None:
                    s.result(idx, ts, pending, text)
                    pending = None
            elif kind in ("use_mcp_server",):
                info = _json(text)
                tid = f"cline:{idx}"
                tool = as_str(info.get("toolName")) or as_str(info.get("uri")) or "mcp"
                s.action(idx, ts, f"mcp__{as_str(info.get('serverName')) or 'server'}__{tool}", info, category="mcp", tool_use_id=tid)
                pending = tid
            elif kind == "mcp_server_response":
                if pending is not None:
                    s.result(idx, ts, pending, text, shell=False)
                    pending = None
            elif kind in ("browser_action_launch", "browser_action"):
                if m.get("type") == "say" or kind == "browser_action_launch":
                    s.action(idx, ts, "browser_action", _json(text) or {"url": text}, category="web")
            elif kind == "condense_context":
                s.event(idx, ts, "compaction")
            elif kind == "mistake_limit_reached":
                s.event(idx, ts, "run_status", "mistake_limit_reached")
            elif kind == "error":
                s.event(idx, ts, "agent_error")
            elif kind in _SKIP_SAY or kind in (
                "resume_task",
                "resume_completed_task",
                "command_output",
                "plan_mode_respond",
                "act_mode_respond",
                "new_task",
                "condense",
                "report_bug",
                "auto_approval_max_req_reached",
            ):
                continue
            else:
                key = f"{m.get('type')}.{kind}"[:40]
                first, n = unknown.get(key, (idx, 0))
                unknown[key] = (first, n + 1)
        s.rows.unknown(unknown)

    # -- api_conversation_history.json ---------------------------------------------
    def _api(self, s: Session, msgs: list[Any], model: str | None, start: int | None) -> None:
        first_user = True
        for idx, m in enumerate(msgs, start=1):
            if not isinstance(m, dict):
                s.rows.bad(idx, "bad_record", f"message is {type(m).__name__}")
                continue
            ts = parse_ts(m.get("ts")) or (start if idx == 1 else None)
            s.touch(ts)
            role = m.get("role")
            content = m.get("content")
            blocks = content if isinstance(content, list) else [{"type": "text", "text": content}] if isinstance(content, str) else []
            if role == "user":
                texts = []
                for seq, b in enumerate(blocks):
                    if not isinstance(b, dict):
                        continue
                    if b.get("type") == "tool_result":
                        out = text_of(b.get("content"))
                        s.result(idx, ts, as_str(b.get("tool_use_id")), out, is_error=b.get("is_error") is True, seq=seq)
                    elif b.get("type") == "text" and isinstance(b.get("text"), str):
                        texts.append(b["text"])
                joined = "\n".join(texts)
                found = [w.group(2) for w in _WRAPPED.finditer(joined)]
                if found:
                    s.prompt(idx, ts, "\n".join(found))
                elif first_user and joined.strip() and not joined.lstrip().startswith(("[", "<environment_details>")):
                    s.prompt(idx, ts, joined)
                first_user = False
                if not s.info.project_key:
                    cwd = _CWD.search(joined)
                    if cwd:
                        s.info.project_key = cwd.group(1).strip()
            elif role == "assistant":
                seq = 0
                visible: list[str] = []
                for b in blocks:
                    if not isinstance(b, dict):
                        continue
                    if b.get("type") == "text" and isinstance(b.get("text"), str):
                        txt = b["text"]
                        for tm in _XML_RE.finditer(txt):
                            tool, body = tm.group(1), tm.group(2)
                            params = {p.group(1): p.group(2).strip() for p in _XML_PARAM.finditer(body)}
                            if tool in ("attempt_completion", "ask_followup_question", "plan_mode_respond"):
                                visible.append(body)
                                continue
                            s.action(idx, ts, tool, params or {"input": body}, seq=seq)
                            seq += 1
                        stripped = _XML_RE.sub(" ", txt)
                        stripped = re.sub(r"<thinking>.*?</thinking>", " ", stripped, flags=re.S)
                        visible.append(stripped)
                    elif b.get("type") == "tool_use":
                        inp = as_dict(b.get("input"))
                        s.action(idx, ts, as_str(b.get("name")) or "tool", inp, tool_use_id=as_str(b.get("id")), seq=seq)
                        seq += 1
                s.message(idx, ts, text="\n".join(visible), model=model)


PARSER = register(ClineParser())
