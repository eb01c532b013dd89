"""Aider chat history (transcript-formats.md §6).

``.aider.chat.history.md`` in the repo root. One file holds many runs, each
starting ``# aider chat started at <local time>``; each run is one session.
User turns are ``#### <line>`` (consecutive lines form one prompt;
``#### /cmd`` is a slash command); harness output lines start ``> ``;
everything else is the assistant's reply (Markdown with edit blocks).

- ``> Tokens: 3.2k sent, 1.0k cache write, 2.0k cache hit, 222 received. Cost: $0.01 message, …``
  gives the usage (and recorded cost) of the reply above it.
- ``> Applied edit to <path>`` is an edit action, ``> Commit <hash> <msg>`` a
  git commit action, ``> Running <cmd>`` a shell action.
- ``> litellm.…Error`` / ``> The API provider …`` lines are API errors; ``^C`` an interrupt.
- Per-prompt timestamps come from ``.aider.input.history`` beside the file
  (``# <timestamp>`` then ``+<line>``), matched to prompts in order; the run
  header gives the start. Aider writes local time without a zone: read as UTC.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from codecensus.records import MessageRec, ParseResult
from codecensus.sources.base import FileContext, iter_lines, register
from codecensus.sources.common import parse_ts, words
from codecensus.sources.rows import Rows, Session, WholeFileParser

_START = re.compile(r"^# aider chat started at (\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})")
_TOKENS = re.compile(r"^Tokens:\s*(?P<body>.*)$", re.I)
_COST = re.compile(r"Cost:\s*\$(?P<cost>[\d.]+)\s*message", re.I)
_TOK_PART = re.compile(r"([\d.]+)\s*([kKmM]?)\s+(sent|received|cache write|cache hit)")
_APPLIED = re.compile(r"^Applied edit to (.+?)\s*$")
_COMMIT = re.compile(r"^Commit ([0-9a-f]{6,40})\s*(.*)$")
_RUNNING = re.compile(r"^Running (.+?)\s*$")
_MODEL = re.compile(r"^(?:Main model|Model):\s*(\S+)")
_VERSION = re.compile(r"^Aider v(\S+)")
_API_ERR = re.compile(r"^litellm\.\w*(?:Error|Exception)")
# Chat-mode commands whose text is a request to the model (a prompt).
_PROMPT_COMMANDS = frozenset({"/code", "/ask", "/architect", "/context", "/chat"})
_FENCED = re.compile(r"^```.*?^```[^\n]*$", re.M | re.S)
_INPUT_TS = re.compile(r"^# (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?)")


def _num(v: str, unit: str) -> int:
    try:
        x = float(v)
    except ValueError:
        return 0
    mult = {"k": 1_000, "m": 1_000_000}.get(unit.lower(), 1)
    return int(round(x * mult))


def _norm(text: str) -> str:
    return " ".join(text.split())


def read_input_history(path: Path) -> list[tuple[int | None, str]]:
    """(ts, text) entries of an ``.aider.input.history`` file."""
    out: list[tuple[int | None, str]] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    ts: int | None = None
    buf: list[str] = []
    for line in text.splitlines():
        m = _INPUT_TS.match(line)
        if m:
            if buf:
                out.append((ts, "\n".join(buf)))
            ts = parse_ts(m.group(1).replace(" ", "T"))
            buf = []
        elif line.startswith("+"):
            buf.append(line[1:])
    if buf:
        out.append((ts, "\n".join(buf)))
    return out


@dataclass
class _State:
    edit_words: int = 0  # words of edit blocks not yet attributed to an "Applied edit"
    edit_msg: MessageRec | None = None  # the reply they are from

    def settle(self) -> None:
        """Fenced words of a reply that applied no edit are its visible text (an answer's code, a shell
        suggestion, an edit aider could not apply): they were written, but through no tool."""
        if self.edit_msg is not None and self.edit_words:
            self.edit_msg.visible_words += self.edit_words
        self.edit_words, self.edit_msg = 0, None


@dataclass
class _Reply:
    line: int
    lines: list[str] = field(default_factory=list)


class AiderParser(WholeFileParser):
    name = "aider"
    # 2: session_id from the file's id, not its folder's name; 3: fenced words of a reply that applied no edit
    # count as its visible words (they were lost)
    version = "3"

    def detect(self, path: Path, head: bytes) -> float:
        if path.name == ".aider.chat.history.md":
            return 0.95
        if path.suffix == ".md" and head.lstrip().startswith(b"# aider chat started at"):
            return 0.9
        return 0.0

    def parse(self, ctx: FileContext) -> ParseResult:
        path = ctx.path
        rows = Rows(ctx, self.name)
        history = read_input_history(path.parent / ".aider.input.history")
        hist_norm = [_norm(t) for _, t in history]
        cursor = 0
        run = 0
        sess: Session | None = None
        run_ts: int | None = None
        last_ts: int | None = None
        model: str | None = None
        version: str | None = None
        prompt_buf: list[str] = []
        prompt_line = 0
        reply: _Reply | None = None
        pending_msg = None  # MessageRec awaiting its "> Tokens:" line
        st = _State()
        last_run: str | None = None  # command of a /run, echoed later as "> Running <cmd>"
        consumed = 0
        lines = 0
        project = str(path.resolve().parent)
        in_fence = False  # inside a fenced block of a reply (its lines are never harness output)

        def session() -> Session:
            nonlocal sess, run
            if sess is None:
                run += 1
                key = f"aider:{ctx.file_id[:12]}:{run}"
                # not the folder's name: it is the project's (or, in a team corpus, the user's), which exports
                # only ever carry as salted hashes
                sess = rows.session(key, session_id=f"aider-{ctx.file_id[:12]}-{run}", project=project, version=version)
                sess.touch(run_ts, count=False)
            return sess

        def match_ts(text: str) -> int | None:
            nonlocal cursor
            n = _norm(text)
            for j in range(cursor, min(len(history), cursor + 200)):
                if hist_norm[j] == n:
                    cursor = j + 1
                    return history[j][0]
            return None

        def flush_prompt() -> None:
            nonlocal prompt_buf, last_ts, last_run
            if not prompt_buf:
                return
            text = "\n".join(prompt_buf)
            prompt_buf = []
            s = session()
            ts = match_ts(text) or last_ts or run_ts
            last_ts = ts
            s.touch(ts)
            st = text.strip()
            if st.startswith("/"):
                head, _, rest = st.partition(" ")
                s.event(prompt_line, ts, "command", head[:40])
                if head in _PROMPT_COMMANDS and rest.strip():
                    s.prompt(prompt_line, ts, rest, seq=1)
                elif st.startswith(("/run ", "/test ")):
                    last_run = rest.strip()
                    s.action(prompt_line, ts, "run", category="shell", command=last_run, seq=1)
            else:
                s.prompt(prompt_line, ts, text)

        def flush_reply() -> None:
            nonlocal reply, pending_msg, in_fence
            in_fence = False
            if reply is None:
                return
            text = "\n".join(reply.lines).strip()
            r = reply
            reply = None
            if not text:
                return
            s = session()
            s.touch(last_ts)
            # Fenced blocks are the edits (SEARCH/REPLACE, diffs): tool input, not visible prose.
            prose = _FENCED.sub(" ", text)
            st.settle()
            st.edit_words = words(text) - words(prose)
            pending_msg = st.edit_msg = s.message(r.line, last_ts, text=prose, model=model, msg_id=f"aider:{ctx.file_id[:12]}:{r.line}")

        for line_no, raw, end in iter_lines(path, 0, 0, ctx.final):
            consumed, lines = end, line_no
            line = raw.decode("utf-8", errors="replace").rstrip("\n").rstrip("\r")
            m = _START.match(line)
            if m:
                flush_prompt()
                flush_reply()
                st.settle()
                pending_msg = None
                sess = None
                run_ts = parse_ts(m.group(1).replace(" ", "T"))
                last_ts = run_ts
                model = None
                version = None
                session()
                continue
            if line.startswith("####") and not in_fence:
                flush_reply()
                st.settle()
                if not prompt_buf:
                    prompt_line = line_no
                prompt_buf.append((line[5:] if line.startswith("#### ") else line[4:]).rstrip())
                continue
            flush_prompt()
            if line.lstrip().startswith("```"):
                in_fence = not in_fence
            if not in_fence and (line.startswith("> ") or line.rstrip() == ">"):
                flush_reply()
                body = line[1:].strip()
                rm = _RUNNING.match(body)
                if rm and last_run is not None and rm.group(1) == last_run:
                    last_run = None  # the echo of a /run already counted
                    continue
                self._harness(session(), body, line_no, last_ts, model, pending_msg, st)
                mm = _MODEL.match(body)
                if mm:
                    model = mm.group(1)
                vm = _VERSION.match(body)
                if vm:
                    version = vm.group(1)
                    session().info.version = version
                if _TOKENS.match(body):
                    pending_msg = None
                continue
            if sess is None and not line.strip():
                continue
            if reply is None:
                if not line.strip():
                    continue
                reply = _Reply(line_no)
            reply.lines.append(line)
        flush_prompt()
        flush_reply()
        st.settle()
        return rows.finish(consumed, lines)

    def _harness(
        self, s: Session, body: str, line: int, ts: int | None, model: str | None, pending: MessageRec | None, st: _State
    ) -> None:
        m = _TOKENS.match(body)
        if m:
            sent = recv = cw = cr = 0
            for v, unit, kind in _TOK_PART.findall(m.group("body")):
                n = _num(v, unit)
                if kind == "sent":
                    sent = n
                elif kind == "received":
                    recv = n
                elif kind == "cache write":
                    cw = n
                else:
                    cr = n
            cm = _COST.search(body)
            cost = float(cm.group("cost")) if cm else None
            # "sent" counts every prompt token, cache hits and writes included.
            usage = (max(0, sent - cr - cw), recv, cr, cw)
            if pending is not None:
                pending.input_tokens, pending.output_tokens = usage[0], usage[1]
                pending.cache_read_tokens, pending.cache_creation_tokens = usage[2], usage[3]
                pending.cost_usd = cost
                if pending.model is None:
                    pending.model = model
            else:
                s.message(line, ts, model=model, usage=usage, cost=cost, block="usage", msg_id=f"aider-usage:{line}")
            return
        m = _APPLIED.match(body)
        if m:
            s.action(line, ts, "apply_edit", category="edit", file_path=m.group(1).strip("`'\" "), input_words=st.edit_words)
            st.edit_words, st.edit_msg = 0, None
            return
        m = _COMMIT.match(body)
        if m:
            msg = m.group(2).strip()
            s.action(line, ts, "git_commit", category="shell", command=f"git commit -m {shlex.quote(msg)}")
            return
        m = _RUNNING.match(body)
        if m:
            s.action(line, ts, "run", category="shell", command=m.group(1))
            return
        if _API_ERR.match(body):
            s.event(line, ts, "api_error")
            return
        if "^C" in body or "KeyboardInterrupt" in body:
            s.event(line, ts, "interrupt")


PARSER = register(AiderParser())
