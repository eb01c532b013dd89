"""Claude Code version drift for the sample generator (transcript-formats.md §1.11).

A corpus spans several months; each session is written by the version its user
ran on that day. :func:`version_at` maps a position in the corpus' time span to
a version string, and :class:`Features` says which record types, envelope
fields and layouts that version writes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# (first, last) patch numbers per minor line and the share of the time span each occupies.
_LINES: tuple[tuple[str, int, int, float], ...] = (
    ("1.0", 51, 128, 0.12),
    ("2.0", 0, 77, 0.30),
    ("2.1", 0, 230, 0.58),
)


def version_at(frac: float) -> str:
    """The newest release at ``frac`` (0 = start of the span, 1 = end)."""
    f = min(max(frac, 0.0), 0.999999)
    acc = 0.0
    for minor, lo, hi, share in _LINES:
        if f < acc + share:
            pos = (f - acc) / share
            return f"{minor}.{lo + int(pos * (hi - lo + 1))}"
        acc += share
    minor, lo, hi, _ = _LINES[-1]
    return f"{minor}.{hi}"


def parse_version(v: str) -> tuple[int, int, int]:
    a, b, c = v.split(".")
    return int(a), int(b), int(c)


@dataclass(frozen=True, slots=True)
class Features:
    """What a given Claude Code version writes."""

    version: str
    vt: tuple[int, int, int]
    gen1: bool  # 1.0.x: only user / assistant / summary, flat agent files
    file_history: bool  # file-history-snapshot
    queue_ops: bool  # queue-operation
    system_records: bool  # system/api_error, local_command …
    thinking_metadata: bool  # thinkingMetadata + todos on prompts
    slug: bool
    compact_boundary: bool
    stop_hooks: bool
    git_branch: bool
    subagent_folder: bool  # <session>/subagents/agent-<17hex>.jsonl (+ .meta.json)
    progress: bool
    source_tool_uuid: bool
    turn_duration: bool
    last_prompt: bool
    permission_mode: bool
    caller: bool  # tool_use.caller {"type":"direct"}
    agent_tool: bool  # Task renamed Agent
    prompt_id: bool
    empty_thinking: bool
    new_key_order: bool  # envelope after the payload
    usage_v2: bool  # usage.iterations / speed / inference_geo
    attachments: bool
    session_meta: bool  # ai-title, mode, permission-mode, agent-name
    stop_details: bool
    entrypoint: bool
    bridge: bool  # bridge-session, atis-latch
    last_prompt_leaf: bool
    system_local_command: bool  # slash commands as system/local_command records
    cache_creation_detail: bool


def features(version: str) -> Features:
    vt = parse_version(version)
    ge = vt.__ge__
    return Features(
        version=version,
        vt=vt,
        gen1=vt < (2, 0, 0),
        file_history=ge((2, 0, 0)),
        queue_ops=ge((2, 0, 0)),
        system_records=ge((2, 0, 0)),
        thinking_metadata=ge((2, 0, 0)),
        slug=ge((2, 0, 50)),
        compact_boundary=ge((2, 0, 50)),
        stop_hooks=ge((2, 0, 50)),
        git_branch=ge((1, 0, 58)),
        subagent_folder=ge((2, 1, 0)),
        progress=ge((2, 1, 0)),
        source_tool_uuid=ge((2, 0, 77)),
        turn_duration=ge((2, 1, 0)),
        last_prompt=ge((2, 1, 0)),
        permission_mode=ge((2, 1, 15)),
        caller=ge((2, 1, 0)),
        agent_tool=ge((2, 1, 63)),
        prompt_id=ge((2, 1, 74)),
        empty_thinking=ge((2, 1, 70)),
        new_key_order=ge((2, 1, 70)),
        usage_v2=ge((2, 1, 20)),
        attachments=ge((2, 1, 90)),
        session_meta=ge((2, 1, 90)),
        stop_details=ge((2, 1, 90)),
        entrypoint=ge((2, 1, 78)),  # observed from 2.1.78 in real transcripts
        bridge=ge((2, 1, 140)),
        last_prompt_leaf=ge((2, 1, 110)),
        system_local_command=ge((2, 0, 20)),
        cache_creation_detail=ge((1, 0, 100)),
    )


def pick_model(feat: Features, rng: random.Random, *, subagent: bool = False) -> str:
    """A plausible model id for this version (subagents often run Haiku)."""
    vt = feat.vt
    if subagent and vt >= (2, 0, 0) and rng.random() < 0.5:
        return "claude-haiku-4-5-20251001"
    r = rng.random()
    if vt < (2, 0, 0):
        return "claude-sonnet-4-20250514" if r < 0.85 else "claude-opus-4-1-20250805"
    if vt < (2, 0, 50):
        return "claude-sonnet-4-5-20250929" if r < 0.93 else "claude-haiku-4-5-20251001"
    if vt < (2, 1, 30):
        return "claude-sonnet-4-5-20250929" if r < 0.55 else "claude-opus-4-5-20251101"
    if vt < (2, 1, 150):
        return "claude-sonnet-4-6" if r < 0.5 else "claude-opus-4-6"
    return "claude-sonnet-4-6" if r < 0.5 else "claude-opus-4-7"
