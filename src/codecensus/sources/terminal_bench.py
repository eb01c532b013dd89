"""Terminal-Bench / Harbor trial folders (transcript-formats.md §9). Folder parser.

A trial folder holds ``agent.log`` (or ``sessions/agent.log``: the agent CLI's
terminal output with ANSI escapes, after several hundred lines of install
output), ``commands.txt`` (one Python list literal per line: the tmux keys
the harness sent, including the agent command line with the task) and, in the
leaderboard layout, ``results.json`` (``is_resolved``, ``failure_mode``,
``instruction``, token totals, trial timestamps). One folder = one session.

The log is read for the agents that print their turns:

- mini-swe-agent (``👋 This is mini-swe-agent version X``): the first ``User:``
  block is the prompt; each ``mini-swe-agent (step N, $C):`` block is a reply,
  a shell action when it holds exactly one fenced ```bash``` block (as
  mini-swe-agent's ``action_regex``; with none or several it ran nothing and
  answered with its format error); the next ``User:`` block is its result
  (``<returncode>``/``<output>``); the last ``$C`` is the run's cost.
- Codex CLI ``codex exec`` (``[ts] OpenAI Codex vX``): ``User instructions:``
  is the prompt, ``codex`` blocks are replies, ``exec <cmd> in <dir>`` /
  ``apply_patch …:`` are actions with their ``succeeded``/``exited N`` results,
  ``tokens used: N`` are per-turn token totals (no input/output split is
  printed: stored as input tokens).

Otherwise (or when the agent never started) the prompt is the task text in
``commands.txt`` (the longest argument of the agent command) or
``results.json``'s ``instruction``. ``results.json`` ``is_resolved`` (or a run
``results.json`` with ``resolved_ids``/``unresolved_ids`` up to three folders
up) gives the ``outcome_truth`` event. Times come from the log, from
``results.json`` or from the ``@YYYY-MM-DD__HH-MM-SS`` suffix of the folder.
"""

from __future__ import annotations

import ast
import re
import shlex
from datetime import UTC, datetime
from pathlib import Path

from codecensus.records import ParseResult
from codecensus.sources.base import FileContext, register
from codecensus.sources.codex import _patch_files
from codecensus.sources.common import parse_ts, plausible_ms
from codecensus.sources.mini_swe_agent import ACTION_REGEX, parse_observation, split_action
from codecensus.sources.rows import (
    FolderParser,
    Rows,
    Session,
    as_dict,
    as_int,
    as_str,
    named_session_id,
    run_results,
    shell_command,
    strip_ansi,
)

# the log does not print the run's config: mini-swe-agent's default action_regex
_ACTION = re.compile(ACTION_REGEX, re.S)
_MINI_BANNER = re.compile(r"This is mini-swe-agent version (\S+?)\.?\s*$")
_MINI_STEP = re.compile(r"^mini-swe-agent \(step (\d+), \$([\d.]+)\):")
_RULE = re.compile(r"^─{10,}")
_SPINNER = re.compile(r"^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]")
_CODEX_LINE = re.compile(r"^\[(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?)\]\s?(.*)$")
_CODEX_BANNER = re.compile(r"^OpenAI Codex v?(\S+)")
_EXEC = re.compile(r"^exec (.+?) in (\S+)\s*$", re.S)
_EXEC_DONE = re.compile(r"^(.+?) (?:succeeded|exited (-?\d+)) in \d+(?:\.\d+)?m?s:?\s*$")
_DONE_TAIL = re.compile(r"(?:^|\s)(?:succeeded|exited (-?\d+)) in \d+(?:\.\d+)?m?s:?\s*$")
_SUBMIT_MARK = re.compile(r"COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT|MINI_SWE_AGENT_FINAL_OUTPUT")
_PATCH = re.compile(r"^apply_patch auto_approved=\w+:\s*$")
_PATCH_DONE = re.compile(r"^apply_patch\(auto_approved=\w+\) (?:succeeded|exited (-?\d+))")
_TOKENS = re.compile(r"^tokens used:\s*([\d,]+)")
_MODEL_ARG = re.compile(r"(?:^|\s)(?:-m|--model)[ =]['\"]?([\w./:@-]+)")
_CODEX_MODEL = re.compile(r"^model:\s*(\S+)")
_FOLDER_TS = re.compile(r"@(\d{4}-\d{2}-\d{2})__(\d{2})-(\d{2})-(\d{2})$")


def _log_path(folder: Path) -> Path | None:
    for p in (folder / "agent.log", folder / "sessions" / "agent.log"):
        if p.is_file():
            return p
    return None


def _folder_ts(name: str) -> int | None:
    m = _FOLDER_TS.search(name)
    if not m:
        return None
    try:
        dt = datetime.strptime(f"{m.group(1)} {m.group(2)}:{m.group(3)}:{m.group(4)}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return plausible_ms(int(dt.replace(tzinfo=UTC).timestamp() * 1000))


def task_from_commands(path: Path) -> str | None:
    """The task text in ``commands.txt``: the longest argument of the longest command sent."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    best = ""
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            keys = ast.literal_eval(line)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            keys = [line]
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list | tuple):
            continue
        for k in keys:
            if isinstance(k, str) and len(k) > len(best):
                best = k
    if len(best) < 40:
        return None
    try:
        tokens = shlex.split(best)
    except ValueError:
        tokens = best.split()
    longest = max(tokens, key=len, default="")
    return longest if len(longest) >= 20 else None


class TerminalBenchParser(FolderParser):
    name = "terminal_bench"
    # 2: session_id from the folder's id, not its (task's) name (named_session_id)
    # 3: a mini-swe-agent step is an action only with exactly one ```bash block (was: any fence, the first)
    version = "3"
    markers = frozenset({"commands.txt", "results.json"})

    def detect(self, path: Path, head: bytes) -> float:
        if not path.is_dir():
            return 0.0
        if _log_path(path) is None:
            return 0.0
        if (path / "commands.txt").is_file() or (path / "results.json").is_file():
            return 0.9
        return 0.0

    def parse(self, ctx: FileContext) -> ParseResult:
        folder = ctx.path
        rows = Rows(ctx, self.name)
        res = as_dict(rows.side_json(folder / "results.json"))
        s = rows.session(ctx.session_key or f"terminal_bench:{folder.name}:{ctx.file_id[:8]}", session_id=named_session_id(self.name, ctx, folder.name))
        for k in ("trial_started_at", "agent_started_at", "trial_ended_at", "agent_ended_at"):
            s.touch(parse_ts(res.get(k)), count=False)
        log = _log_path(folder)
        lines: list[str] = []
        if log is not None:
            try:
                lines = strip_ansi(log.read_text(encoding="utf-8", errors="replace")).split("\n")
            except OSError as exc:
                rows.bad(0, "bad_record", f"agent.log: {exc}")
        flavour = None
        for i, line in enumerate(lines):
            banner = _MINI_BANNER.search(line)
            if banner:
                flavour = "mini-swe-agent"
                s.info.version = banner.group(1)
                self._mini(s, lines, i + 1)
                break
            m = _CODEX_LINE.match(line)
            codex_banner = _CODEX_BANNER.match(m.group(2)) if m else None
            if codex_banner:
                flavour = "codex"
                s.info.version = codex_banner.group(1)
                self._codex(s, lines, i)
                break
        s.info.entrypoint = flavour or "unknown"
        model = self._model(folder, lines)
        for m in rows.res.messages:
            m.model = m.model or model
        if flavour is None and lines:
            s.event(len(lines), None, "run_status", "agent_not_started")
        if not rows.res.prompts:
            task = as_str(res.get("instruction")) or task_from_commands(folder / "commands.txt")
            if task:
                s.prompt(0, s.info.first_ts, task)
        if not any(m.input_tokens or m.output_tokens for m in rows.res.messages):
            tin, tout = as_int(res.get("total_input_tokens")), as_int(res.get("total_output_tokens"))
            if tin or tout:
                s.message(len(lines), s.info.last_ts, usage=(tin, tout, 0, 0), block="usage", msg_id="tb-results")
        if s.info.first_ts is None:
            s.touch(_folder_ts(folder.name), count=False)
        s.info.records = max(s.info.records, 1)
        for p in rows.res.prompts:  # the task is given at the start of the trial
            if p.ts is None:
                p.ts = s.info.first_ts
        fm = as_str(res.get("failure_mode"))
        if fm:
            s.event(len(lines), s.info.last_ts, "run_status", fm[:40], seq=1)
        resolved = res.get("is_resolved") if isinstance(res.get("is_resolved"), bool) else None
        source = "results.json"
        if resolved is None:
            resolved, source = self._run_level(folder)
        s.outcome(len(lines) + 1, resolved, source)
        return rows.finish(0, len(lines))

    # -- mini-swe-agent ----------------------------------------------------------
    def _mini(self, s: Session, lines: list[str], start: int) -> None:
        block: list[str] = []
        kind: str | None = None  # system | user | step
        block_line = start
        pending: str | None = None
        prompted = False
        cost: float | None = None
        steps = 0
        submitted = False

        def flush() -> None:
            nonlocal pending, prompted, steps, submitted
            text = "\n".join(block).strip()
            if kind == "user":
                if not prompted:
                    prompted = True
                    s.prompt(block_line, None, text)
                elif pending is not None:
                    out, code, timed_out = parse_observation(text)
                    s.result(block_line, None, pending, out, is_error=(code not in (None, 0)) or timed_out, exit_code=code)
                    pending = None
            elif kind == "step":
                steps += 1
                s.touch(None)
                found = list(_ACTION.finditer(text))
                if found:  # log lines printed while the command ran follow the (last) block
                    text = text[: found[-1].end()]
                visible, cmd = split_action(text, _ACTION)
                s.message(block_line, None, text=visible, msg_id=f"tb-mini:{block_line}")
                if cmd is not None:
                    submitted = submitted or bool(_SUBMIT_MARK.search(cmd))
                    tid = f"tb:{block_line}"
                    s.action(block_line, None, "bash", {"command": cmd}, category="shell", command=cmd, tool_use_id=tid, seq=1)
                    pending = tid
                else:
                    pending = None

        for n, line in enumerate(lines[start:], start=start + 1):
            if _SPINNER.match(line):
                continue
            m = _MINI_STEP.match(line)
            if m or line in ("User:", "System:") or _RULE.match(line):
                flush()
                block = []
                block_line = n
                if m:
                    kind = "step"
                    cost = float(m.group(2))
                elif line == "User:":
                    kind = "user"
                elif line == "System:":
                    kind = "system"
                else:
                    kind = None
                continue
            if kind is not None:
                block.append(line)
        flush()
        if cost:
            s.message(len(lines), None, cost=cost, block="usage", msg_id="tb-mini-cost", seq=2)
        if steps:  # the agent's final state: it submitted, or the log stops mid-run (harness timeout / crash)
            s.event(len(lines), None, "run_status", "Submitted" if submitted else "unfinished", seq=3)

    # -- codex exec ----------------------------------------------------------------
    def _codex(self, s: Session, lines: list[str], start: int) -> None:
        head: str | None = None
        head_ts: int | None = None
        head_line = start
        block: list[str] = []
        pending: str | None = None
        pending_patch: str | None = None

        def flush() -> None:
            nonlocal pending, pending_patch
            if head is None:
                return
            text = "\n".join(block).strip()
            ts = head_ts
            if head == "User instructions:":
                s.prompt(head_line, ts, text)
                return
            if head == "codex":
                s.message(head_line, ts, text=text, msg_id=f"tb-codex:{head_line}")
                return
            if head.startswith("ERROR") or head.startswith("stream error"):
                s.event(head_line, ts, "api_error")
                return
            m = _TOKENS.match(head)
            if m:
                n = as_int(m.group(1).replace(",", ""))
                if n:
                    s.message(head_line, ts, usage=(n, 0, 0, 0), block="usage", msg_id=f"tb-codex-tokens:{head_line}")
                return
            m = _EXEC.match(head) or (_EXEC.match(f"{head}\n{text}") if head.startswith("exec ") else None)
            if m:
                raw = m.group(1)
                try:
                    argv = shlex.split(raw)
                except ValueError:
                    argv = raw.split()
                cmd = shell_command(argv) or raw
                tid = f"tb:{head_line}"
                s.action(head_line, ts, "shell", {"command": cmd}, category="shell", command=cmd, tool_use_id=tid)
                pending = tid
                return
            if _PATCH.match(head):
                fpath, kind = _patch_files(text)
                tid = f"tb:{head_line}"
                s.action(head_line, ts, "apply_patch", {"input": text}, category=kind, file_path=fpath, tool_use_id=tid)
                pending_patch = tid
                return
            m = _PATCH_DONE.match(head)
            if m:
                code = int(m.group(1)) if m.group(1) else 0
                s.result(head_line, ts, pending_patch, text, is_error=code != 0, exit_code=code, shell=False)
                pending_patch = None
                return
            m = _EXEC_DONE.match(head)
            if m and pending is not None:
                code = int(m.group(2)) if m.group(2) else 0
                s.result(head_line, ts, pending, text, is_error=code != 0, exit_code=code)
                pending = None
                return
            if pending is not None and head.startswith("bash "):  # a multi-line command: its status ends a later line
                for j, ln in enumerate(block):
                    d = _DONE_TAIL.search(ln)
                    if d:
                        code = int(d.group(1)) if d.group(1) else 0
                        out = "\n".join(block[j + 1 :]).strip()
                        s.result(head_line, ts, pending, out, is_error=code != 0, exit_code=code)
                        pending = None
                        break

        for n, line in enumerate(lines[start:], start=start + 1):
            m = _CODEX_LINE.match(line)
            if m:
                flush()
                head_ts = parse_ts(m.group(1))
                s.touch(head_ts)
                head = m.group(2).strip()
                head_line = n
                block = []
                continue
            block.append(line)
        flush()

    def _model(self, folder: Path, lines: list[str]) -> str | None:
        """The model named on the agent command line (``-m``/``--model``) or in Codex's banner."""
        for line in lines[:2000]:
            m = _CODEX_MODEL.match(line)
            if m:
                return m.group(1)
        try:
            text = (folder / "commands.txt").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        m = _MODEL_ARG.search(text)
        return m.group(1) if m else None

    def _run_level(self, folder: Path) -> tuple[bool | None, str]:
        """Outcome from a run-level ``results.json`` listing resolved / unresolved task ids."""
        ids = {folder.name.split("@", 1)[0], folder.parent.name}
        d = folder.parent
        for _ in range(3):
            cand = d / "results.json"
            if cand.is_file():
                for i in ids:
                    r = run_results(cand, i)
                    if r is not None:
                        return r, "run results.json"
            if d.parent == d:
                break
            d = d.parent
        return None, ""


PARSER = register(TerminalBenchParser())
