r"""Issue 2's point 3 for the formats other than Claude Code: prompts, actions, visible words and words of output of
every session in the real samples under ../shared (``data/transcripts/<format>__*``) against a second count.

Each count below is written from the format notes (transcript-formats.md §4 Codex, §5 Gemini CLI, §6 Aider,
§7 OpenHands, §8 SWE-agent and mini-swe-agent, §10 agent-platform events) and the taxonomy (§1: a prompt is typed by
the human, an action is one tool call of the agent, visible words are the agent's replies, words of output add what
it wrote through its tools; thinking is neither), not from the parsers: plain ``json`` (or plain lines for Aider).
Words are ``len(text.split())``; the words of a tool input are those of every string in it. Rules per format:

Codex rollouts (one session per rollout file):
- prompt = an ``event_msg`` ``user_message`` whose ``message`` is not empty (the ``response_item`` user messages
  repeat it beside the ``<environment_context>`` boilerplate, and are not counted);
- action = a ``response_item`` ``function_call``, ``custom_tool_call``, ``local_shell_call`` or ``web_search_call``,
  once per ``call_id``; its input = the ``arguments`` JSON string read as JSON (the string itself if it is not
  JSON), the ``input`` of a custom tool, the ``action`` of a shell call or web search;
- visible words = the ``output_text`` parts of ``response_item`` assistant messages (``event_msg`` ``agent_message``
  repeats them).

Gemini CLI (one session per chat file):
- prompt = a ``user`` message with text (a string, or the ``text`` of its parts);
- action = an entry of a ``gemini`` message's ``toolCalls``; its input = ``args``;
- visible words = the ``content`` of ``gemini`` messages (``thoughts`` are thinking; ``info`` / ``error`` /
  ``warning`` messages are the CLI's).

Aider (``.aider.chat.history.md``; one session per run, a run starting at ``# aider chat started at``):
- prompt = a block of consecutive ``#### `` lines with text, unless it is an in-chat command (starts with ``/``) other
  than ``/ask``, ``/code`` or ``/architect`` followed by a message (those send the message to the model);
- action = a ``> Applied edit to <file>``, ``> Commit <hash>`` or ``> Running <command>`` line ("tool calls are
  implicit (edits, commits)", §6);
- a reply = the lines between prompts and ``> `` harness lines (a fenced block's lines are the reply's, whatever
  they start with); its fenced blocks (fence lines at the start of a line included: aider writes its edit blocks
  so; an indented one is an example in a list, text) are the edits it wrote when an ``Applied edit`` line
  follows it before the next reply or prompt, else visible text (an answer's code, a suggested command, an edit aider did not apply);
  visible words = the rest of the replies; words of output add the edits.

OpenHands V0 trajectories (one session per file, a JSON list of events):
- prompt = a ``user`` ``message`` action whose ``args.content`` is not empty;
- action = an ``agent`` event with an ``action`` other than ``message`` (a reply), ``system``, ``recall``,
  ``condensation`` or ``change_agent_state`` (bookkeeping), once per event id — ``finish`` and ``think`` are tool
  calls of the agent;
- visible words = ``args.content`` of agent ``message`` actions and ``args.thought`` of its tool calls (the text the
  model wrote beside the call); its input = the arguments the model wrote: ``function.arguments`` (read as JSON, the
  string itself if it is not JSON) of the entry of ``tool_call_metadata.model_response.choices[].message.tool_calls``
  whose ``id`` is the event's ``tool_call_id``. The ``args`` are OpenHands' own reading of the call (an edit's hold
  ``translated_ipython_code``, the call rewritten as a ``file_editor(...)`` line: 378 words against the model's 371 in
  ``basic.json``), so they count only for an action without such an entry, without ``impl_source``,
  ``confirmation_state`` and ``hidden``, which OpenHands sets itself.

SWE-agent ``.traj`` (one session per file):
- prompt = 1: the task (the first non-demo ``user`` message of ``history``); the later ones are observations;
- action = a ``trajectory`` step with a non-empty ``action`` (without a ``trajectory``: a non-demo ``assistant``
  message of ``history``);
- visible words = each step's ``thought``; words of output add the words of its ``action``.

mini-swe-agent ``.traj.json`` (one session per file):
- prompt = 1: the task (the first ``user`` message, ``<pr_description>``); the later ones are observations;
- action = an ``assistant`` message holding exactly one ```` ```bash ```` block (mini-swe-agent's ``action_regex``
  ```` ```bash\s*\n(.*?)\n``` ````): the command it runs; with none or several it runs nothing and answers with its
  format error (in the sample every such reply is followed by a message without ``<returncode>``);
- visible words = the assistant messages' words without that one command block (fence included); words of output
  add the command's words. A reply without an action is all visible (its blocks were never run).

Agent-platform events (``transcript.jsonl``; one session per file):
- prompt = a ``user`` event of kind ``message`` or ``define_outcome`` (``interrupt`` is not a prompt);
- action = a ``tool_use`` event, once per ``raw.id``; its input = ``raw.input``;
- visible words = ``content`` of agent ``message`` events.

Only counts are compared and printed, never transcript text.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from codecensus.ingest import ingest
from codecensus.measure import build_sessions
from codecensus.store import Store
from test_shared_independent import _string_words as _words  # words of every string in a value

Counts = tuple[int, int, int, int]  # prompts, actions, visible words, words of output


def _dict(v: object) -> dict:
    return v if isinstance(v, dict) else {}


def count_codex(path: Path) -> list[Counts]:
    prompts = visible = tool_words = 0
    calls: set[object] = set()
    for raw in path.read_bytes().splitlines():
        try:
            rec = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(rec, dict):
            continue
        pl = _dict(rec.get("payload"))
        if rec.get("type") == "event_msg" and pl.get("type") == "user_message":
            if isinstance(pl.get("message"), str) and pl["message"].strip():
                prompts += 1
        elif rec.get("type") == "response_item":
            kind = pl.get("type")
            if kind == "message" and pl.get("role") == "assistant" and isinstance(pl.get("content"), list):
                visible += sum(_words(b.get("text")) for b in pl["content"] if _dict(b).get("type") == "output_text")
            elif kind in ("function_call", "custom_tool_call", "local_shell_call", "web_search_call"):
                cid = pl.get("call_id") or pl.get("id") or len(calls)
                if cid in calls:
                    continue
                calls.add(cid)
                if kind == "function_call":
                    args = pl.get("arguments")
                    with contextlib.suppress(ValueError):
                        args = json.loads(args) if isinstance(args, str) else args
                    tool_words += _words(args)
                elif kind == "custom_tool_call":
                    tool_words += _words(pl.get("input"))
                else:
                    tool_words += _words(pl.get("action"))
    return [(prompts, len(calls), visible, visible + tool_words)]


def _parts_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def count_gemini_cli(path: Path) -> list[Counts]:
    doc = json.loads(path.read_bytes())
    prompts = visible = tool_words = actions = 0
    for m in doc.get("messages") or []:
        m = _dict(m)
        if m.get("type") == "user" and _parts_text(m.get("content")).strip():
            prompts += 1
        elif m.get("type") == "gemini":
            visible += len(_parts_text(m.get("content")).split())
            for tc in m.get("toolCalls") or []:
                actions += 1
                tool_words += _words(_dict(tc).get("args"))
    return [(prompts, actions, visible, visible + tool_words)]


AIDER_RUN = re.compile(r"# aider chat started at ")
AIDER_TO_MODEL = ("/ask", "/code", "/architect")
AIDER_ACTIONS = re.compile(r"> (Applied edit to |Commit [0-9a-f]{6,40}\b|Running )")


def count_aider(path: Path) -> list[Counts]:
    runs: list[list[str]] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if AIDER_RUN.match(line):
            runs.append([])
        elif runs:
            runs[-1].append(line)
    out = []
    for lines in runs:
        prompts = actions = visible = edit_words = 0
        block: list[str] | None = None  # the prompt being read
        fenced = 0  # words of the fenced blocks of the last reply, until an "Applied edit" takes them
        in_reply = in_fence = False
        for line in [*lines, "#### "]:
            if not in_fence and line.startswith("####"):
                visible, fenced, in_reply = visible + fenced, 0, False
                block = [*(block or []), line[4:]]
                continue
            if block is not None:
                text = "\n".join(block).strip()
                first = text.split()[0] if text else ""
                if text and (not first.startswith("/") or (first in AIDER_TO_MODEL and len(text.split()) > 1)):
                    prompts += 1
                block = None
            if not in_fence and (line.startswith("> ") or line.rstrip() == ">"):
                in_reply = False
                if AIDER_ACTIONS.match(line):
                    actions += 1
                    if line.startswith("> Applied edit to "):
                        edit_words, fenced = edit_words + fenced, 0
                continue
            if not in_reply:  # a new reply: the last one's unapplied blocks were text
                visible, fenced, in_reply = visible + fenced, 0, True
            if line.startswith("```"):
                in_fence = not in_fence
                fenced += len(line.split())
            elif in_fence:
                fenced += len(line.split())
            else:
                visible += len(line.split())
        out.append((prompts, actions, visible, visible + edit_words))
    return out


OPENHANDS_NOT_ACTIONS = {"message", "system", "recall", "condensation", "change_agent_state", "null", None}


# the text beside the call (visible), and fields OpenHands sets itself ("oh_aci", "confirmed")
OPENHANDS_NOT_WRITTEN = {"thought", "impl_source", "confirmation_state", "hidden"}


def openhands_model_arguments(meta: dict) -> object:
    """The model's arguments of the call ``meta`` (a ``tool_call_metadata``) describes; None without them."""
    response = _dict(meta.get("model_response"))
    for choice in response.get("choices") or []:
        for call in _dict(_dict(choice).get("message")).get("tool_calls") or []:
            call = _dict(call)
            if meta.get("tool_call_id") is not None and call.get("id") == meta.get("tool_call_id"):
                args = _dict(call.get("function")).get("arguments")
                with contextlib.suppress(ValueError):
                    args = json.loads(args) if isinstance(args, str) else args
                return args
    return None


def count_openhands(path: Path) -> list[Counts]:
    events = json.loads(path.read_bytes())
    if isinstance(events, dict):
        events = events.get("history") or []
    prompts = visible = tool_words = 0
    ids: set[object] = set()
    for n, e in enumerate(events):
        e = _dict(e)
        args = _dict(e.get("args"))
        action = e.get("action")
        if e.get("source") == "user" and action == "message":
            if isinstance(args.get("content"), str) and args["content"].strip():
                prompts += 1
        elif e.get("source") == "agent" and action == "message":
            visible += _words(args.get("content"))
        elif e.get("source") == "agent" and action not in OPENHANDS_NOT_ACTIONS:
            eid = e.get("id", f"#{n}")
            if eid in ids:
                continue
            ids.add(eid)
            visible += _words(args.get("thought"))
            written = openhands_model_arguments(_dict(e.get("tool_call_metadata")))
            if written is None:
                written = {k: v for k, v in args.items() if k not in OPENHANDS_NOT_WRITTEN}
            tool_words += _words(written)
    return [(prompts, len(ids), visible, visible + tool_words)]


def count_swe_agent(path: Path) -> list[Counts]:
    doc = json.loads(path.read_bytes())
    history = [_dict(h) for h in doc.get("history") or []]
    prompts = int(any(h.get("role") == "user" and not h.get("is_demo") for h in history))
    steps = doc.get("trajectory")
    if isinstance(steps, list) and steps:
        done = [_dict(s) for s in steps if str(_dict(s).get("action") or "").strip()]
        thought = sum(_words(s.get("thought")) for s in done)
        action = sum(_words(s.get("action")) for s in done)
    else:
        done = [h for h in history if h.get("role") == "assistant" and not h.get("is_demo")]
        thought = sum(_words(h.get("thought")) for h in done)
        action = sum(_words(h.get("action")) for h in done)
    return [(prompts, len(done), thought, thought + action)]


BASH_BLOCK = re.compile(r"```bash\s*\n(.*?)\n```", re.DOTALL)


def count_mini_swe_agent(path: Path) -> list[Counts]:
    doc = json.loads(path.read_bytes())
    messages = [_dict(m) for m in doc.get("messages") or []]
    prompts = int(any(m.get("role") == "user" for m in messages))
    actions = visible = command = 0
    for m in messages:
        if m.get("role") != "assistant":
            continue
        text = _parts_text(m.get("content"))
        blocks = BASH_BLOCK.findall(text)
        if len(blocks) == 1:
            actions += 1
            command += len(blocks[0].split())
            text = BASH_BLOCK.sub(" ", text)
        visible += len(text.split())
    return [(prompts, actions, visible, visible + command)]


def count_agent_platform(path: Path) -> list[Counts]:
    prompts = visible = tool_words = 0
    ids: set[object] = set()
    for raw in path.read_bytes().splitlines():
        try:
            rec = json.loads(raw)
        except ValueError:
            continue
        rec = _dict(rec)
        kind, raw_ev = rec.get("kind"), _dict(rec.get("raw"))
        if rec.get("role") == "user" and kind in ("message", "define_outcome"):
            prompts += 1
        elif rec.get("role") == "agent" and kind == "message":
            visible += _words(rec.get("content"))
        elif rec.get("role") == "agent" and kind == "tool_use":
            rid = raw_ev.get("id") or f"#{len(ids)}"
            if rid in ids:
                continue
            ids.add(rid)
            tool_words += _words(raw_ev.get("input"))
    return [(prompts, len(ids), visible, visible + tool_words)]


# folder prefix -> (files of a session, counter, sessions in the sample)
FORMATS: dict[str, tuple[str, Callable[[Path], list[Counts]], int]] = {
    "codex": ("*.jsonl", count_codex, 1),
    "gemini_cli": ("*.json", count_gemini_cli, 1),
    "aider": (".aider.chat.history.md", count_aider, 1),
    "openhands": ("*.json", count_openhands, 4),
    "swe_agent": ("*.traj", count_swe_agent, 7),
    "mini_swe_agent": ("*.traj.json", count_mini_swe_agent, 16),
    "claude_managed_agents": ("*.jsonl", count_agent_platform, 1),
}


def independent_counts(root: Path, fmt: str) -> dict[tuple[str, int], Counts]:
    """(path, session index within the file) -> counts"""
    pattern, counter, _n = FORMATS[fmt]
    return {(str(p), i): c for p in sorted(root.rglob(pattern)) for i, c in enumerate(counter(p))}


def parsed_counts(root: Path, tmp: Path) -> dict[tuple[str, int], Counts]:
    with Store(tmp / "real.duckdb") as store:
        stats = ingest(store, [root], workers=1)
        assert stats.files_failed == 0
        build_sessions(store)
        rows = store.con.execute(
            "SELECT f.path, s.session_id, s.prompts, s.actions, s.visible_words, s.output_words"
            " FROM session_files sf JOIN files f ON f.file_id = sf.file_id JOIN sessions s ON s.session_key = sf.session_key"
            " WHERE sf.role = 'main' ORDER BY f.path, s.started_at NULLS LAST, s.session_id"
        ).fetchall()
    got: dict[tuple[str, int], Counts] = {}
    for path, _sid, *counts in rows:
        got[(path, sum(k[0] == path for k in got))] = tuple(counts)  # type: ignore[assignment]
    return got


@pytest.fixture(scope="module")
def transcripts() -> Path:
    from conftest import shared_dir

    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared data not present")
    return shared / "data" / "transcripts"


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_counts_equal_an_independent_count(fmt: str, transcripts: Path, tmp_path: Path) -> None:
    roots = sorted(p for p in transcripts.iterdir() if p.is_dir() and p.name.startswith(f"{fmt}__"))
    assert len(roots) == 1
    expected = independent_counts(roots[0], fmt)
    got = parsed_counts(roots[0], tmp_path)
    assert len(expected) == FORMATS[fmt][2]
    assert set(got) == set(expected), f"sessions: parsed {len(got)}, counted {len(expected)}"
    keys = sorted(expected)
    names = ("prompts", "actions", "visible_words", "output_words")
    wrong = {
        name: [(keys.index(k), got[k][i], expected[k][i]) for k in keys if got[k][i] != expected[k][i]]
        for i, name in enumerate(names)
    }
    assert wrong == {name: [] for name in names}, f"(session index, parsed, counted) that differ: {wrong}"
