"""Issue 2's point 3 on the real Claude Code samples in ../shared: prompts, actions, visible words and words of output
of every main session against a second, independent count.

The count below is written from the format notes (transcript-formats.md §1.6, §1.8, §1.13) and the taxonomy (§1),
not from the parser: plain ``json`` over each main transcript, line by line. Its rules:

- a line met before (same ``uuid``, in any file) and sidechain lines are skipped;
- prompt = a ``user`` line, not ``isMeta`` / ``isCompactSummary``, without a ``tool_result`` block, whose text is
  not empty, not an interruption marker and does not start with ``<command-``, ``<local-command``,
  ``<task-notification`` or ``<bash-``;
- action = a ``tool_use`` block of an ``assistant`` line, once per tool-use id;
- visible words = whitespace-separated words of the ``text`` blocks of ``assistant`` lines, except client-generated
  ones (``model: "<synthetic>"``, ``isApiErrorMessage``: not the agent's output), and once per response for a text
  block repeated in the same response (message id + request id) — a replay, not new output;
- words of output = visible words + the words of every string in each action's input (what the agent wrote through
  its tools: file contents, edits, commands).

Only counts are compared and printed, never transcript text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from codecensus.ingest import ingest
from codecensus.measure import build_sessions
from codecensus.store import Store

INTERRUPTS = ("[Request interrupted by user]", "[Request interrupted by user for tool use]")
HARNESS = ("<command-", "<local-command", "<task-notification", "<bash-")


def _main_files(roots: list[Path]) -> Iterator[Path]:
    for root in roots:
        for p in sorted(root.rglob("*.jsonl")):
            if not p.name.startswith("agent-") and "subagents" not in p.parts:
                yield p


def _user_text(content: object) -> tuple[str, bool]:
    """(text, has a tool result)"""
    if isinstance(content, str):
        return content, False
    parts = []
    for b in content if isinstance(content, list) else []:
        if isinstance(b, dict):
            if b.get("type") == "tool_result":
                return "", True
            if b.get("type") == "text" and isinstance(b.get("text"), str):
                parts.append(b["text"])
    return "\n".join(parts), False


def _string_words(value: object) -> int:
    n, stack = 0, [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            n += len(v.split())
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return n


def independent_counts(roots: list[Path]) -> dict[str, tuple[int, int, int, int]]:
    """path -> (prompts, actions, visible words, words of output)"""
    seen: set[str] = set()
    out = {}
    for path in _main_files(roots):
        prompts = actions = visible = tool_words = 0
        tools: set[object] = set()
        texts: set[tuple[str, object, str]] = set()
        with open(path, "rb") as fh:
            for raw in fh:
                try:
                    rec = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(rec, dict) or rec.get("isSidechain") is True:
                    continue
                uuid = rec.get("uuid")
                if isinstance(uuid, str):
                    if uuid in seen:
                        continue
                    seen.add(uuid)
                msg = rec.get("message") if isinstance(rec.get("message"), dict) else {}
                if rec.get("type") == "user":
                    if rec.get("isMeta") or rec.get("isCompactSummary"):
                        continue
                    text, tool_result = _user_text(msg.get("content"))
                    text = text.strip()
                    if not tool_result and text and text not in INTERRUPTS and not text.startswith(HARNESS):
                        prompts += 1
                elif rec.get("type") == "assistant" and isinstance(msg.get("content"), list):
                    synthetic = msg.get("model") == "<synthetic>" or rec.get("isApiErrorMessage") is True
                    mid = msg.get("id")
                    for b in msg["content"]:
                        if not isinstance(b, dict):
                            continue
                        if b.get("type") == "tool_use" and not synthetic and b.get("id") not in tools:
                            tools.add(b.get("id"))
                            actions += 1
                            tool_words += _string_words(b.get("input") if isinstance(b.get("input"), dict) else {})
                        elif b.get("type") == "text" and isinstance(b.get("text"), str) and not synthetic:
                            if isinstance(mid, str):
                                key = (mid, rec.get("requestId"), b["text"])
                                if key in texts:
                                    continue
                                texts.add(key)
                            visible += len(b["text"].split())
        out[str(path)] = (prompts, actions, visible, visible + tool_words)
    return out


@pytest.fixture(scope="module")
def roots() -> list[Path]:
    from conftest import shared_dir

    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared data not present")
    return sorted(p for p in (shared / "data" / "transcripts").iterdir() if p.name.startswith("claude_code__"))


def test_prompts_actions_and_words_equal_an_independent_count(roots: list[Path], tmp_path: Path) -> None:
    expected = independent_counts(roots)
    assert len(expected) == 342
    with Store(tmp_path / "real.duckdb") as store:
        stats = ingest(store, roots, fmt="claude_code", workers=2)
        assert stats.files_failed == 0
        build_sessions(store)
        got = {
            path: (p, a, v, o)
            for path, p, a, v, o in store.con.execute(
                "SELECT f.path, s.prompts, s.actions, s.visible_words, s.output_words FROM files f"
                " JOIN sessions s USING (session_key) WHERE f.role = 'main'"
            ).fetchall()
        }
    assert set(got) == set(expected)
    names = ("prompts", "actions", "visible_words", "output_words")
    wrong = {name: sum(got[p][i] != expected[p][i] for p in got) for i, name in enumerate(names)}
    assert wrong == dict.fromkeys(names, 0), f"sessions that differ: {wrong}"
    totals = [sum(v[i] for v in got.values()) for i in range(4)]
    # the counts are not trivially equal: ~1,600 prompts, ~12,000 actions, ~290,000 visible and ~1.2M output words
    assert totals[0] > 1000 and totals[1] > 5000 and 100_000 < totals[2] < totals[3]
