"""mini-swe-agent ``*.traj.json`` trajectories (transcript-formats.md §8).

``{trajectory_format: "mini-swe-agent-1", instance_id, info{exit_status,
submission, model_stats{instance_cost, api_calls}, mini_version, config{model{
model_name}}}, messages[{role: system|user|assistant, content, extra{response{
id, model, created, usage}}}]}``.

- Prompt: the first ``user`` message (the task; SWE-bench puts the issue in
  ``<pr_description>``). Later user messages are command outputs.
- Each assistant message is one reply and, when it holds exactly one fenced
  ```bash``` block (mini-swe-agent's ``action_regex``, ``info.config.agent``'s
  when the run set one), one shell action: that block, whose words are the
  action's, not the reply's. With none or several, mini-swe-agent ran nothing
  (it answers with its format error): no action, the whole text is the reply.
- The next user message is its result: ``<returncode>N</returncode>`` and
  ``<output>…</output>`` (non-zero exit = error; a timeout notice = error).
- Usage per assistant message from the provider response (OpenAI style;
  ``usage.cost`` when the provider reports it); without any, the run's
  ``instance_cost`` becomes one summary row.
- ``line`` is the 1-based message index.
- Outcome: a SWE-bench ``report.json`` beside the trajectory or under
  ``logs/<instance_id>/report.json`` in the run folder (or the run's
  ``results.json`` / ``results_summary.csv``) gives an ``outcome_truth``
  event ``resolved`` / ``unresolved``.
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
    as_float,
    as_list,
    as_str,
    count_lines,
    file_size,
    named_session_id,
    openai_usage,
    recorded_session_id,
    swebench_outcome,
    text_of,
)

_RETURNCODE = re.compile(r"<returncode>\s*(-?\d+)\s*</returncode>")
_OUTPUT = re.compile(r"<output>\n?(.*?)</output>", re.S)
_TIMEOUT = re.compile(r"timed out|TimeoutExpired", re.I)


# mini-swe-agent's default ``action_regex`` (agents/default.py); it runs a reply's command only when this finds
# exactly one block
ACTION_REGEX = r"```bash\s*\n(.*?)\n```"


# A group repeated by a quantifier, itself under a quantifier or holding one ("(a+)+", "(\\w*)*", "(x|y+){2,}"): the
# shape whose backtracking can take exponential time on a reply that almost matches.
_NESTED_QUANTIFIER = re.compile(r"[*+}?]\)[*+{]|\)[*+{][^)]*\)[*+{]")


def _action_regex(given: str | None) -> re.Pattern[str]:
    """The run's own ``action_regex`` when it is a plausible one, else mini-swe-agent's default.

    The pattern comes from the transcript file, and a file is input, not code: one over 300 characters, with a
    nested quantifier, or that does not compile is not run (a pattern such as ``(a+)+$`` over a long reply would hang
    the ingest); the default is used instead."""
    if given and len(given) <= 300 and not _NESTED_QUANTIFIER.search(given):
        try:
            return re.compile(given, re.S)
        except re.error:
            pass
    return re.compile(ACTION_REGEX, re.S)


def split_action(content: str, action_regex: re.Pattern[str]) -> tuple[str, str | None]:
    """(the reply's text without the command block, the command mini-swe-agent ran or None)"""
    found = list(action_regex.finditer(content))
    if len(found) != 1:
        return content, None
    m = found[0]
    return content[: m.start()] + " " + content[m.end() :], m.group(1).strip()


def parse_observation(text: str) -> tuple[str, int | None, bool]:
    """(output, exit code, timed out) of an observation message."""
    m = _RETURNCODE.search(text[:500])
    code = int(m.group(1)) if m else None
    o = _OUTPUT.search(text)
    out = o.group(1) if o else text
    timed_out = code is None and bool(_TIMEOUT.search(text[:400]))
    return out, code, timed_out


def _msg_ts(m: dict[str, Any]) -> int | None:
    extra = as_dict(m.get("extra"))
    for v in (m.get("timestamp"), extra.get("timestamp"), as_dict(extra.get("response")).get("created")):
        ts = parse_ts(v)
        if ts is not None:
            return ts
    return None


class MiniSweAgentParser(WholeFileParser):
    name = "mini_swe_agent"
    # 2: a reply is an action only with exactly one ```bash block (was: any fence, the first); 3: without a recorded
    # instance_id, session_id from the file's id, not its name; 4: a recorded instance_id of no tool's id shape is
    # hashed (rows.recorded_session_id); 5: that hash is salted with the store's salt (FileContext.salt)
    version = "5"

    def detect(self, path: Path, head: bytes) -> float:
        if path.suffix != ".json":
            return 0.0
        h = head[:65536]
        if b'"trajectory_format"' in h and b"mini-swe-agent" in h:
            return 0.95
        if path.name.endswith(".traj.json") and h.lstrip().startswith(b"{"):
            # Long configs can push "messages" past the head.
            return 0.8 if (b'"messages"' in h or b'"mini_version"' in h or b'"model_stats"' in h) else 0.7
        return 0.0

    def parse(self, ctx: FileContext) -> ParseResult:
        path = ctx.path
        rows = Rows(ctx, self.name)
        total = count_lines(path)
        data = rows.json_object(path)
        if data is None:
            return rows.finish(file_size(path), total)
        info = as_dict(data.get("info"))
        instance = as_str(data.get("instance_id")) or path.name.removesuffix(".traj.json")
        cfg = as_dict(info.get("config"))
        model_default = as_str(as_dict(cfg.get("model")).get("model_name"))
        env_cwd = as_str(as_dict(cfg.get("environment")).get("cwd"))
        action_regex = _action_regex(as_str(as_dict(cfg.get("agent")).get("action_regex")))
        s = rows.session(
            ctx.session_key or f"mini_swe_agent:{instance}:{ctx.file_id[:8]}",
            session_id=recorded_session_id(self.name, recorded, ctx) if (recorded := as_str(data.get("instance_id")))
            else named_session_id(self.name, ctx, instance),
            version=as_str(info.get("mini_version")),
            project=env_cwd,
            entrypoint=as_str(data.get("trajectory_format")),
        )
        messages = as_list(data.get("messages"))
        prompted = False
        pending: str | None = None  # tool_use_id awaiting its output
        usage_rows = 0
        last_ts: int | None = None
        for idx, m in enumerate(messages, start=1):
            if not isinstance(m, dict):
                rows.bad(idx, "bad_record", f"message is {type(m).__name__}")
                continue
            ts = _msg_ts(m) or last_ts
            last_ts = ts
            s.touch(ts)
            role = m.get("role")
            content = text_of(m.get("content"))
            if role == "user":
                if not prompted:
                    prompted = True
                    s.prompt(idx, ts, content)
                    continue
                out, code, timed_out = parse_observation(content)
                if pending is not None:
                    s.result(idx, ts, pending, out, is_error=(code not in (None, 0)) or timed_out, exit_code=code)
                    pending = None
            elif role == "assistant":
                resp = as_dict(as_dict(m.get("extra")).get("response"))
                usage_d = as_dict(resp.get("usage"))
                usage = openai_usage(usage_d)
                cost = as_float(usage_d.get("cost"))
                if any(usage):
                    usage_rows += 1
                msg_id = as_str(resp.get("id")) or f"mini:{idx}"
                visible, cmd = split_action(content, action_regex)
                s.message(
                    idx, ts, text=visible, model=as_str(resp.get("model")) or model_default, usage=usage, cost=cost, msg_id=msg_id
                )
                if cmd is not None:
                    tid = f"mini:{idx}"
                    s.action(idx, ts, "bash", {"command": cmd}, category="shell", command=cmd, tool_use_id=tid, msg_id=msg_id, seq=1)
                    pending = tid
                else:
                    pending = None
        for p in rows.res.prompts:  # the task precedes the first timed message
            if p.ts is None:
                p.ts = s.info.first_ts
        n = len(messages) or 1
        stats = as_dict(info.get("model_stats"))
        cost_total = as_float(stats.get("instance_cost"))
        if usage_rows == 0 and cost_total:
            s.message(n, last_ts, model=model_default, cost=cost_total, block="usage", msg_id="mini-stats", seq=2)
        status = as_str(info.get("exit_status"))
        if status:
            s.event(n, last_ts, "run_status", status[:40], seq=3)
        sub = info.get("submission")
        if isinstance(sub, str):  # the final state: an empty patch cannot resolve anything
            files = len(re.findall(r"(?m)^diff --git ", sub))
            s.event(n, last_ts, "submission", "empty" if not sub.strip() else "patch", float(files), seq=4)
        resolved, source = swebench_outcome(path, instance)
        s.outcome(n, resolved, source)
        return rows.finish(file_size(path), total)


PARSER = register(MiniSweAgentParser())
