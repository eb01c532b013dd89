"""Condense one session into a bounded, redacted digest for an LLM.

The digest keeps what a reader needs to label a session (taxonomy §2–§8) and
drops the bulk (file contents, long tool output):

- a header with the measured shape (prompts, tool calls, duration, files,
  tests, commits, errors);
- per human prompt: the prompt (trimmed), the heads of the agent's visible
  replies, one line per tool call (tool + short target, with its result when it
  matters: errors, rejections, test status, commits); runs of the same tool are
  folded into one line;
- the end state: last test status and whether it came after the last edit,
  commits/pushes after the last edit, the last tool call and whether the human
  or the agent spoke last, and the final reply.

The text is built at the most detailed level that fits ``budget_tokens`` (the
levels below shrink prompts, replies and tool lines step by step); a session too
long even at the tightest level keeps its first and last prompts and says how
many were left out.

Privacy: every piece of transcript text is redacted with
:func:`codecensus.redact.get_redactor` BEFORE it is trimmed (so a trim can never
cut a secret in half and leak its prefix), and the finished digest is redacted
once more. If the redactor cannot be imported, :func:`condense` raises: nothing
unredacted ever leaves this module.

Token estimate (:func:`estimate_tokens`): ASCII characters / 3.5 plus one token
per non-ASCII character, rounded up. That is the usual "chars/4" rule made
conservative: on the digests of the shared corpus a real BPE tokenizer
(Gemma 3's, 262k vocabulary) counted 11% more tokens than chars/4 on the
digests (paths, commands and code split finely), and CJK text is close to one
token per character. ``benchmarks/tokens.py`` re-checks it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from codecensus.classify.base import ActionEvidence, SessionEvidence

__all__ = ["CONDENSER_VERSION", "DEFAULT_BUDGET", "Redactor", "condense", "estimate_tokens"]

CONDENSER_VERSION = "1"
DEFAULT_BUDGET = 2000


class Redactor(Protocol):
    def redact(self, text: str) -> str: ...


def estimate_tokens(text: str) -> int:
    """Conservative token estimate: ``ceil(ascii_chars / 3.5 + non_ascii_chars)``."""
    if not text:
        return 0
    n_ascii = sum(1 for ch in text if ord(ch) < 128) if not text.isascii() else len(text)
    return math.ceil(n_ascii / 3.5 + (len(text) - n_ascii))


# -- detail levels ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Level:
    prompt_chars: int  # per prompt (first and last prompts get 2x)
    reply_chars: int  # per reply head (0 = no replies except the final one)
    replies_per_prompt: int
    tool_lines: int  # folded tool lines per prompt block before "(… N more …)"
    detail_chars: int  # error / result heads
    target_chars: int  # tool target (command or path)
    final_reply_chars: int


_LEVELS: tuple[_Level, ...] = (
    _Level(1200, 300, 4, 30, 160, 90, 600),
    _Level(800, 200, 3, 20, 120, 80, 500),
    _Level(500, 160, 2, 12, 100, 70, 400),
    _Level(320, 120, 1, 8, 80, 60, 300),
    _Level(200, 80, 1, 5, 60, 50, 240),
    _Level(140, 0, 0, 3, 50, 40, 200),
    _Level(100, 0, 0, 2, 40, 36, 160),
)

# Caps applied before redaction (bounds the redactor's work on huge pasted prompts).
_RAW_PROMPT_CAP = 6000
_RAW_PIECE_CAP = 1200

_WS = re.compile(r"\s+")
_LONG_TOKEN = 20  # an unbroken token this long at a cut is dropped, never split


def _one_line(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _trim(text: str, n: int) -> str:
    """Cut ``text`` to at most ``n`` characters at a word boundary, marking the cut with '…'.

    A long unbroken token (hash, key, blob) at the cut is dropped rather than split.
    """
    if n <= 0:
        return ""
    if len(text) <= n:
        return text
    cut = text[: n - 1]
    if not text[n - 1].isspace():
        sp = cut.rfind(" ")
        end = text.find(" ", n - 1)
        token_len = (len(text) if end < 0 else end) - (sp + 1)
        if sp >= n // 2 or token_len >= _LONG_TOKEN:
            cut = cut[:sp] if sp > 0 else ""
    return cut.rstrip() + "…"


def _raw_cap(text: str, n: int) -> str:
    """Pre-redaction cap: cut at whitespace so no token is split; drop a long token at the cut."""
    if len(text) <= n:
        return text
    cut = text[:n]
    m = max(cut.rfind(" "), cut.rfind("\n"), cut.rfind("\t"))
    return cut[:m] if m > 0 else ""


def _short_path(path: str, n: int) -> str:
    p = path.strip().replace("\\", "/")
    parts = [x for x in p.split("/") if x]
    short = "/".join(parts[-2:]) if len(parts) > 2 else p
    return _trim(short, n)


# -- redaction ----------------------------------------------------------------------------------
def _default_redactor() -> Redactor:
    try:
        from codecensus.redact import get_redactor
    except ImportError as exc:  # fail closed: never send unredacted text
        raise RuntimeError("codecensus.redact is not available: refusing to condense unredacted text") from exc
    return get_redactor()


class _Cleaner:
    """Redacts (then memoises) each piece of text."""

    def __init__(self, redactor: Redactor, users: frozenset[str] = frozenset()) -> None:
        self._r = redactor
        self._users = users
        self._memo: dict[str, str] = {}

    def __call__(self, text: str | None, cap: int = _RAW_PIECE_CAP, *, one_line: bool = True) -> str:
        if not text:
            return ""
        raw = _raw_cap(text.strip(), cap)
        hit = self._memo.get(raw)
        if hit is None:
            hit = self._r.redact(raw, users=self._users) if self._users else self._r.redact(raw)
            if one_line:
                hit = _one_line(hit)
            self._memo[raw] = hit
        return hit


# -- session pieces ------------------------------------------------------------------------------
@dataclass(slots=True)
class _Tool:
    """One tool call, cleaned."""

    tool: str
    target: str
    error: str | None  # error head, or None
    flags: list[str]
    groupable: bool  # nothing notable: may fold with neighbours of the same tool


def _target(a: ActionEvidence, clean: _Cleaner) -> str:
    if a.command:
        return clean(a.command, 400)
    if a.file_path:
        return clean(a.file_path, 400)
    return ""


def _tool(a: ActionEvidence, clean: _Cleaner) -> _Tool:
    flags: list[str] = []
    err: str | None = None
    if a.rejected:
        flags.append("rejected by user")
    if a.interrupted:
        flags.append("interrupted")
    if a.is_commit:
        flags.append("commit")
    if a.is_push:
        flags.append("push")
    if a.is_deploy:
        flags.append("deploy")
    if a.test_status:
        flags.append(f"tests {a.test_status}")
    elif a.is_test:
        flags.append("test run")
    if a.is_error and not a.rejected:
        err = clean(a.result_head, 600) or "error"
    code = a.exit_code
    if code not in (None, 0) and err is None and not a.test_status:
        flags.append(f"exit {code}")
    target = _target(a, clean)
    return _Tool(tool=a.tool or a.category or "tool", target=target, error=err, flags=flags,
                 groupable=not flags and err is None)


def _tool_lines(tools: Sequence[_Tool], lv: _Level) -> list[str]:
    """One line per tool call; consecutive plain calls of the same tool fold into one line."""
    lines: list[str] = []
    i = 0
    while i < len(tools):
        t = tools[i]
        if t.groupable:
            j = i
            while j + 1 < len(tools) and tools[j + 1].groupable and tools[j + 1].tool == t.tool:
                j += 1
            if j > i:
                targets = [_short_path(x.target, lv.target_chars // 2) for x in tools[i : j + 1] if x.target]
                uniq = list(dict.fromkeys(targets))
                shown = ", ".join(uniq[:3]) + (", …" if len(uniq) > 3 else "")
                lines.append(f"- {t.tool} ×{j - i + 1}" + (f": {shown}" if shown else ""))
                i = j + 1
                continue
        line = f"- {t.tool}"
        if t.target:
            line += f" {_trim(t.target, lv.target_chars)}"
        if t.flags:
            line += f" [{', '.join(t.flags)}]"
        if t.error is not None:
            line += f" → ERROR: {_trim(t.error, lv.detail_chars)}"
        lines.append(line)
        i += 1
    return lines


def _fold_tail(lines: list[str], keep: int, tools: Sequence[_Tool]) -> list[str]:
    """Keep at most ``keep`` lines: the first and last ones and every error line that fits."""
    if len(lines) <= keep:
        return lines
    head = max(1, keep // 3)
    tail = max(1, keep - head - 1)
    omitted = len(lines) - head - tail
    counts: dict[str, int] = {}
    for t in tools:
        counts[t.tool] = counts.get(t.tool, 0) + 1
    top = ", ".join(f"{k}×{v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])[:4])
    errs = sum(1 for ln in lines[head : len(lines) - tail] if "ERROR" in ln)
    note = f"- (… {omitted} more tool lines omitted" + (f", {errs} with errors" if errs else "") + f"; tools in this turn: {top} …)"
    return [*lines[:head], note, *lines[len(lines) - tail :]]


def _fmt_duration(seconds: Any) -> str | None:
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return None
    if s != s or s < 0:  # NaN / negative
        return None
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def _header(ev: SessionEvidence) -> str:
    sh = ev.shape or {}
    parts = [f"{len(ev.prompts)} human prompts", f"{len(ev.actions)} agent tool calls"]
    d = _fmt_duration(sh.get("duration_s"))
    if d:
        parts.append(f"duration {d}")
    a = _fmt_duration(sh.get("active_s"))
    if a and sh.get("active_s"):
        parts.append(f"active {a}")
    for col, name in (
        ("files_read", "files read"),
        ("files_edited", "files edited"),
        ("files_created", "files created"),
        ("commands", "shell commands"),
        ("test_runs", "test runs"),
        ("test_failures", "failed test runs"),
        ("commits", "commits"),
        ("pushes", "pushes"),
        ("tool_errors", "tool errors"),
        ("interrupts", "interruptions"),
        ("rejections", "rejected tool calls"),
        ("compactions", "context compactions"),
        ("subagents", "subagents"),
    ):
        v = sh.get(col)
        if isinstance(v, int | float) and v:
            parts.append(f"{name} {int(v)}")
    return "SESSION: " + "; ".join(parts)


def _end_state(ev: SessionEvidence, tools: Sequence[_Tool], lv: _Level) -> str:
    acts = ev.actions
    out: list[str] = []
    last_edit = max((i for i, a in enumerate(acts) if a.category in ("edit", "write")), default=-1)
    tests = [(i, a) for i, a in enumerate(acts) if a.test_status or a.is_test]
    if tests:
        i, a = tests[-1]
        status = a.test_status or ("error" if a.is_error else "status unknown")
        where = "after the last edit" if i > last_edit else "before the last edit"
        out.append(f"last test run: {status} ({where})")
    else:
        out.append("last test run: none")
    commits = [i for i, a in enumerate(acts) if a.is_commit and not a.is_error]
    if commits:
        after = sum(1 for i in commits if i > last_edit)
        out.append(f"commits: {len(commits)} ({after} after the last edit)")
    pushes = sum(1 for a in acts if a.is_push and not a.is_error)
    if pushes:
        out.append(f"pushes: {pushes}")
    errs_tail = sum(1 for t in tools[-5:] if t.error is not None)
    if errs_tail:
        out.append(f"errors among the last 5 tool calls: {errs_tail}")
    if tools:
        t = tools[-1]
        last = f"{t.tool} {_trim(t.target, lv.target_chars)}".strip()
        if t.error is not None:
            last += " → ERROR"
        out.append(f"last tool call: {last}")
    ends = _ending(ev)
    if ends:
        out.append(f"the session ends with {ends}")
    return "END STATE: " + "; ".join(out)


def _ending(ev: SessionEvidence) -> str | None:
    """Whether the agent did anything after the last human prompt (None when it cannot be told)."""
    if not ev.prompts:
        return None
    last_p = len(ev.prompts) - 1
    rpi = ev.reply_prompt_index
    aligned = len(rpi) == len(ev.replies)
    answered = any(a.prompt_index >= last_p for a in ev.actions) or (aligned and any(i >= last_p for i in rpi))
    if answered:
        return "agent work after the last human prompt"
    if not aligned and ev.replies:
        return None
    return "a human prompt that got no agent work"


_EVENT_NAMES = {
    "interrupt": "user interrupted",
    "api_error": "API error",
    "compaction": "context compacted",
}


@dataclass(slots=True)
class _Block:
    prompt: str
    replies: list[str]
    tools: list[_Tool]
    events: list[str]


def _blocks(ev: SessionEvidence, clean: _Cleaner) -> tuple[list[_Block], list[str], list[_Tool]]:
    """Per-prompt blocks (prompt, replies, tools, events); replies that cannot be placed are returned apart."""
    n = max(1, len(ev.prompts))
    blocks = [
        _Block(clean(ev.prompts[i], _RAW_PROMPT_CAP, one_line=False) if i < len(ev.prompts) else "", [], [], [])
        for i in range(n)
    ]

    def at(i: Any) -> _Block:
        return blocks[min(max(int(i), 0), n - 1)]

    all_tools: list[_Tool] = []
    for a in ev.actions:
        t = _tool(a, clean)
        all_tools.append(t)
        at(a.prompt_index).tools.append(t)
    loose: list[str] = []
    rpi = ev.reply_prompt_index
    replies = [clean(r, 800) for r in ev.replies]
    if len(rpi) == len(replies):
        for i, r in zip(rpi, replies, strict=True):
            if r:
                at(i).replies.append(r)
    else:
        loose = [r for r in replies if r]
    epi = ev.event_prompt_index
    if len(epi) == len(ev.events):
        for i, (kind, detail) in zip(epi, ev.events, strict=True):
            if kind == "command" and detail:
                at(i).events.append(clean(detail, 60))
            elif kind in _EVENT_NAMES:
                at(i).events.append(_EVENT_NAMES[kind])
    return blocks, loose, all_tools


def _prompt_text(text: str, n: int) -> str:
    lines = [_one_line(ln) for ln in text.splitlines() if ln.strip()]
    return _trim(" ⏎ ".join(lines), n)


def _events_line(events: list[str]) -> str | None:
    if not events:
        return None
    counts: dict[str, int] = {}
    for e in events:
        counts[e] = counts.get(e, 0) + 1
    return "- (" + ", ".join(k if v == 1 else f"{k} ×{v}" for k, v in counts.items()) + ")"


def _render_block(i: int, b: _Block, *, is_edge: bool, skip_last_reply: bool, lv: _Level) -> list[str]:
    out: list[str] = []
    if b.prompt:
        out.append(f"[human prompt {i + 1}] {_prompt_text(b.prompt, lv.prompt_chars * (2 if is_edge else 1))}")
    replies = b.replies[:-1] if skip_last_reply else b.replies
    if lv.replies_per_prompt and replies:
        if len(replies) > lv.replies_per_prompt:
            replies = [*replies[: max(1, lv.replies_per_prompt - 1)], replies[-1]]
        out.extend(f"[agent] {_trim(r, lv.reply_chars)}" for r in replies)
    out.extend(_fold_tail(_tool_lines(b.tools, lv), lv.tool_lines, b.tools))
    ev_line = _events_line(b.events)
    if ev_line:
        out.append(ev_line)
    return out


def _render(
    ev: SessionEvidence,
    blocks: list[_Block],
    loose: list[str],
    tools: list[_Tool],
    lv: _Level,
    keep_blocks: int | None,
) -> str:
    out = [_header(ev)]
    n = len(blocks)
    last_with_reply = max((i for i, b in enumerate(blocks) if b.replies), default=-1)
    final_reply = blocks[last_with_reply].replies[-1] if last_with_reply >= 0 else (loose[-1] if loose else "")
    if keep_blocks is not None and keep_blocks < n:
        first = max(1, keep_blocks // 2)
        last = max(1, keep_blocks - first)
        shown: list[int] = [*range(first), *range(n - last, n)]
        skipped = blocks[first : n - last]
    else:
        first, last, shown, skipped = n, 0, list(range(n)), []
    for i in shown:
        if skipped and i == n - last:
            n_tools = sum(len(b.tools) for b in skipped)
            n_err = sum(1 for b in skipped for t in b.tools if t.error is not None)
            out.append(
                f"(… {len(skipped)} human prompts omitted here, with {n_tools} tool calls"
                + (f", {n_err} of them with errors" if n_err else "")
                + " …)"
            )
        out.extend(
            _render_block(i, blocks[i], is_edge=i in (0, n - 1), skip_last_reply=i == last_with_reply, lv=lv)
        )
    if loose and lv.replies_per_prompt:
        rest = loose[:-1]
        if len(rest) > lv.replies_per_prompt:
            rest = [*rest[: max(1, lv.replies_per_prompt - 1)], rest[-1]]
        if rest:
            out.append("[agent replies, in order (not aligned to the prompts)]")
            out.extend(f"[agent] {_trim(r, lv.reply_chars)}" for r in rest)
    out.append(_end_state(ev, tools, lv))
    if final_reply:
        out.append(f"[final agent reply] {_trim(final_reply, lv.final_reply_chars)}")
    return "\n".join(out)


def _path_users(ev: SessionEvidence, red: Redactor) -> frozenset[str]:
    """The home-directory user names anywhere in the session (``/Users/alice`` in one tool call's path): each piece
    is redacted on its own, and a bare ``alice`` in a prompt would otherwise stay."""
    find = getattr(red, "path_users", None)
    if find is None:
        return frozenset()
    texts = [*ev.prompts, *ev.replies, *(d for _, d in ev.events if d)]
    for a in ev.actions:
        texts += [t for t in (a.file_path, a.command, a.result_head) if t]
    return frozenset(find("\n".join(t[:_RAW_PIECE_CAP] for t in texts)))


def condense(
    ev: SessionEvidence,
    budget_tokens: int = DEFAULT_BUDGET,
    *,
    redactor: Redactor | None = None,
    estimator: Callable[[str], int] = estimate_tokens,
) -> str:
    """A redacted digest of ``ev`` of at most ``budget_tokens`` (by ``estimator``)."""
    red = redactor if redactor is not None else _default_redactor()
    users = _path_users(ev, red)
    clean = _Cleaner(red, users)
    blocks, loose, tools = _blocks(ev, clean)

    def finish(text: str) -> str:
        return red.redact(text, users=users) if users else red.redact(text)

    text = ""
    for lv in _LEVELS:
        text = finish(_render(ev, blocks, loose, tools, lv, None))
        if estimator(text) <= budget_tokens:
            return text
    # Too long even at the tightest level: keep the first and last prompts, fewer and fewer in the middle.
    lv = _LEVELS[-1]
    lo, hi = 2, max(2, len(blocks) - 1)
    best: str | None = None
    while lo <= hi:
        mid = (lo + hi) // 2
        cand = finish(_render(ev, blocks, loose, tools, lv, mid))
        if estimator(cand) <= budget_tokens:
            best, lo = cand, mid + 1
        else:
            hi = mid - 1
    if best is not None:
        return best
    # Last resort: hard cut at a line boundary (the end state is kept).
    text = finish(_render(ev, blocks, loose, tools, lv, 2))
    lines = text.split("\n")
    tail_at = next((i for i, ln in enumerate(lines) if ln.startswith("END STATE:")), len(lines))
    tail = lines[tail_at:]
    body = lines[:tail_at]
    while body and estimator("\n".join([*body, "(… cut …)", *tail])) > budget_tokens:
        body.pop()
    result = "\n".join([*body, "(… cut …)", *tail])
    while estimator(result) > budget_tokens and result:
        result = _trim(result, int(len(result) * 0.9))
    return result
