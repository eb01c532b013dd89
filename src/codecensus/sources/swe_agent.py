"""SWE-agent ``.traj`` trajectories (transcript-formats.md §8).

``{environment, trajectory[{action, observation, response, thought, state,
execution_time?}], history[{role, content, agent, message_type, is_demo,
thought, action, tool_calls}], info{exit_status, submission, model_stats{
instance_cost, tokens_sent, tokens_received, api_calls}}, replay_config?}``.

- Prompt: the first non-demonstration ``user`` message of ``history`` (the issue).
- Actions: one per trajectory step (or per assistant ``history`` entry when the
  trajectory is absent). The action string is a SWE-agent command
  (``open``/``create``/``edit``/``find_file``/``str_replace_editor view …``/
  ``submit``) or a shell command; ``edit`` applies to the file last opened.
- Replies: the step's ``thought``.
- Usage: only run totals exist (``model_stats``): one summary usage row with
  ``instance_cost`` as its recorded cost.
- No timestamps are recorded. ``line`` is the 1-based step index.
- ``info.exit_status`` → ``run_status`` event; a SWE-bench report near the
  file → ``outcome_truth``.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import orjson

from codecensus.records import ParseResult
from codecensus.sources.base import FileContext, loads, register
from codecensus.sources.rows import (
    Rows,
    WholeFileParser,
    as_dict,
    as_float,
    as_int,
    as_list,
    as_str,
    count_lines,
    file_size,
    named_session_id,
    swebench_outcome,
    text_of,
)

_READ = frozenset({"open", "goto", "scroll_up", "scroll_down", "filemap", "view", "cat_file"})
_SEARCH = frozenset({"search_dir", "search_file", "find_file", "find", "grep"})
_EDIT = frozenset({"edit", "insert", "append", "replace", "edit_file"})
_FINISH = frozenset({"submit", "exit_forfeit", "exit_cost", "exit_context", "exit_format", "exit_error"})
_EDITOR_SUB = {"view": "read", "create": "write", "str_replace": "edit", "insert": "edit", "undo_edit": "edit"}


def _split(action: str) -> list[str]:
    first = action.strip().split("\n", 1)[0]
    try:
        return shlex.split(first)
    except ValueError:
        return first.split()


def _model(replay: Any) -> str | None:
    cfg = replay
    if isinstance(replay, str):
        try:
            cfg = loads(replay)
        except orjson.JSONDecodeError:
            return None
    agent = as_dict(as_dict(cfg).get("agent"))
    m = as_dict(agent.get("model"))
    return as_str(m.get("name")) or as_str(m.get("model_name"))


def classify_action(action: str, current_file: str | None) -> tuple[str, str, str | None, str | None]:
    """(tool, category, file path, shell command) of one SWE-agent action string."""
    parts = _split(action)
    if not parts:
        return "bash", "shell", None, action.strip() or None
    head = parts[0]
    if head == "str_replace_editor" and len(parts) >= 2:
        cat = _EDITOR_SUB.get(parts[1], "edit")
        return head, cat, parts[2] if len(parts) >= 3 else None, None
    if head in _READ:
        fp = parts[1] if head in ("open", "view", "cat_file") and len(parts) >= 2 else current_file
        return head, "read", fp, None
    if head == "create":
        return head, "write", parts[1] if len(parts) >= 2 else None, None
    if head in _EDIT:
        return head, "edit", current_file, None
    if head in _SEARCH:
        return head, "search", None, None
    if head in _FINISH:
        return head, "finish", None, None
    return "bash", "shell", None, action.strip()


class SweAgentParser(WholeFileParser):
    name = "swe_agent"
    version = "2"  # 2: session_id from the file's id, not the file's (instance's) name (named_session_id)

    def detect(self, path: Path, head: bytes) -> float:
        if path.suffix != ".traj":
            return 0.0
        h = head[:4096].lstrip()
        if h.startswith(b"{") and (b'"trajectory"' in head or b'"history"' in head or b'"environment"' in head):
            return 0.9
        return 0.6 if h.startswith(b"{") else 0.0

    def parse(self, ctx: FileContext) -> ParseResult:
        path = ctx.path
        rows = Rows(ctx, self.name)
        total = count_lines(path)
        data = rows.json_object(path)
        if data is None:
            return rows.finish(file_size(path), total)
        instance = path.stem
        info = as_dict(data.get("info"))
        s = rows.session(
            ctx.session_key or f"swe_agent:{instance}:{ctx.file_id[:8]}",
            session_id=named_session_id(self.name, ctx, instance),
            version=as_str(info.get("swe_agent_version")),
        )
        model = _model(data.get("replay_config"))
        history = [h for h in as_list(data.get("history")) if isinstance(h, dict)]
        for h in history:
            if h.get("role") == "user" and not h.get("is_demo"):
                s.touch(None)
                s.prompt(1, None, text_of(h.get("content")))
                break
        steps = [t for t in as_list(data.get("trajectory")) if isinstance(t, dict)]
        if steps:
            pairs = [(as_str(t.get("thought")) or "", as_str(t.get("action")) or "", as_str(t.get("observation"))) for t in steps]
        else:
            pairs = self._from_history(history)
        current: str | None = None
        for i, (thought, action, observation) in enumerate(pairs, start=1):
            s.touch(None)
            s.message(i, None, text=thought, model=model, msg_id=f"swe:{i}")
            if not action.strip():
                continue
            tool, cat, fpath, cmd = classify_action(action, current)
            if tool in ("open", "create") or (tool == "str_replace_editor" and fpath):
                current = fpath or current
            tid = f"swe:{i}"
            s.action(i, None, tool, {"action": action}, category=cat, file_path=fpath, command=cmd, tool_use_id=tid, seq=1)
            if observation is not None:
                s.result(i, None, tid, observation, shell=cat == "shell", seq=1)
        stats = as_dict(info.get("model_stats"))
        if stats:
            usage = (as_int(stats.get("tokens_sent")), as_int(stats.get("tokens_received")), 0, 0)
            cost = as_float(stats.get("instance_cost"))
            if any(usage) or cost:
                s.message(len(pairs) or 1, None, model=model, usage=usage, cost=cost, block="usage", msg_id="swe-agent-stats", seq=2)
        status = as_str(info.get("exit_status"))
        if status:
            s.event(len(pairs) or 1, None, "run_status", status[:40], seq=3)
        resolved, source = swebench_outcome(path, instance)
        s.outcome(len(pairs) or 1, resolved, source)
        return rows.finish(file_size(path), total)

    def _from_history(self, history: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
        """(thought, action, observation) from the assistant/tool entries of ``history``."""
        out: list[tuple[str, str, str | None]] = []
        seen_task = False
        for h in history:
            role = h.get("role")
            if h.get("is_demo"):
                continue
            if role == "assistant":
                action = as_str(h.get("action")) or ""
                if not action:
                    for tc in as_list(h.get("tool_calls")):
                        fn = as_dict(as_dict(tc).get("function"))
                        args = fn.get("arguments")
                        if isinstance(args, str):
                            try:
                                args = loads(args)
                            except orjson.JSONDecodeError:
                                args = {}
                        a = as_dict(args)
                        name = as_str(fn.get("name")) or ""
                        if name == "bash":
                            action = as_str(a.get("command")) or ""
                        elif name:
                            parts = [name] + [str(a[k]) for k in ("command", "path") if isinstance(a.get(k), str)]
                            action = shlex.join(parts)
                        break
                out.append((as_str(h.get("thought")) or text_of(h.get("content")), action, None))
            elif role in ("tool", "user"):
                if role == "user" and not seen_task:
                    seen_task = True
                    continue
                if out and out[-1][2] is None:
                    t, a, _ = out[-1]
                    out[-1] = (t, a, text_of(h.get("content")))
        return out


PARSER = register(SweAgentParser())
