"""A forked Codex rollout copies its source's history into a new file: the copies count once (measure's uuid rule)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from codecensus.ingest import ingest
from codecensus.measure import build_sessions
from codecensus.store import Store

SRC = Path(__file__).parent / "fixtures" / "formats" / "codex" / (
    "rollout-2025-09-01T10-00-00-0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.jsonl")
FORK_ID = "0199b000-0000-7000-8000-00000000000f"
COLS = ("prompts", "actions", "input_tokens", "output_tokens", "cache_read_tokens", "commands", "test_runs",
        "test_failures", "tool_errors", "interrupts", "compactions")


def _lines(path: Path) -> list[dict[str, Any]]:
    out = []
    for raw in path.read_bytes().splitlines():
        try:
            rec = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue  # the fixture's deliberately damaged lines
        if isinstance(rec, dict):
            out.append(rec)
    return out


def _write(path: Path, recs: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))


def _own_turn(ts: str, total: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"timestamp": ts, "type": "event_msg", "payload": {"type": "user_message", "message": "now add a docstring"}},
        {"timestamp": ts, "type": "response_item", "payload": {
            "type": "function_call", "name": "shell", "arguments": '{"command":["bash","-lc","cat src/calc.py"]}',
            "call_id": "call_fork_1"}},
        {"timestamp": ts, "type": "response_item", "payload": {
            "type": "function_call_output", "call_id": "call_fork_1", "output": '{"output":"x","metadata":{"exit_code":0}}'}},
        {"timestamp": ts, "type": "event_msg", "payload": {"type": "token_count", "info": {"total_token_usage": total}}},
    ]


def _sessions(store: Store) -> dict[str, dict[str, Any]]:
    build_sessions(store)
    return {r["session_id"]: {c: r[c] for c in COLS} for r in store.query("SELECT * FROM sessions").to_pylist()}


def test_a_forked_rollout_counts_only_its_own_calls_prompts_and_tokens(tmp_path: Path) -> None:
    """`codex fork` writes a new rollout: a new session_meta (forked_from_id), then the source's lines again (new
    timestamps), then its own turns. Each copied call, prompt, test run and token count was counted a second time
    in the fork (4 actions and 3 prompts where it made 1 and 1; output tokens 220 for its own 100)."""
    src = _lines(SRC)
    _write(tmp_path / "only" / SRC.name, src)
    _write(tmp_path / "both" / SRC.name, src)
    ts = "2025-09-02T08:00:00.000Z"
    meta = {"timestamp": ts, "type": "session_meta",
            "payload": {**src[0]["payload"], "id": FORK_ID, "forked_from_id": src[0]["payload"]["id"], "timestamp": ts}}
    last = [r for r in src if r["type"] == "event_msg" and r["payload"]["type"] == "token_count"][-1]
    total = {k: v + 100 for k, v in last["payload"]["info"]["total_token_usage"].items()}
    fork = [meta, *({**r, "timestamp": ts} for r in src), *_own_turn("2025-09-02T08:00:05.000Z", total)]
    _write(tmp_path / "both" / f"rollout-2025-09-02T08-00-00-{FORK_ID}.jsonl", fork)

    alone = Store(tmp_path / "alone.duckdb")
    ingest(alone, [tmp_path / "only"], settle_s=0)
    expected_source = _sessions(alone)
    alone.close()
    store = Store(tmp_path / "both.duckdb")
    ingest(store, [tmp_path / "both"], settle_s=0)
    got = _sessions(store)
    source_id = src[0]["payload"]["id"]
    assert got[source_id] == expected_source[source_id]
    assert got[FORK_ID] == {"prompts": 1, "actions": 1, "input_tokens": 0, "output_tokens": 100,
                            "cache_read_tokens": 100, "commands": 1, "test_runs": 0, "test_failures": 0,
                            "tool_errors": 0, "interrupts": 0, "compactions": 0}
    store.close()


def test_unrelated_rollouts_with_the_same_calls_count_each(tmp_path: Path) -> None:
    """Providers that reuse call ids (call_0 in every session) and the same command in two sessions: not copies."""
    def rollout(sid: str) -> list[dict[str, Any]]:
        ts = "2025-09-03T08:00:00.000Z"
        meta = {"timestamp": ts, "type": "session_meta", "payload": {"id": sid, "timestamp": ts, "cwd": "/w"}}
        turn = _own_turn(ts, {"input_tokens": 10, "cached_input_tokens": 0, "output_tokens": 5})
        for r in turn:
            if r["payload"].get("call_id"):
                r["payload"]["call_id"] = "call_0"
        return [meta, *turn]

    ids = ["0199c000-0000-7000-8000-000000000001", "0199c000-0000-7000-8000-000000000002"]
    for sid in ids:
        _write(tmp_path / "c" / f"rollout-2025-09-03T08-00-00-{sid}.jsonl", rollout(sid))
    store = Store(tmp_path / "t.duckdb")
    ingest(store, [tmp_path / "c"], settle_s=0)
    got = _sessions(store)
    assert [(got[s]["prompts"], got[s]["actions"], got[s]["output_tokens"]) for s in ids] == [(1, 1, 5)] * 2
    store.close()


def test_the_fork_ingested_before_its_source_gives_the_same_sessions(tmp_path: Path) -> None:
    """Incremental: the fork first (its copies count there until the source arrives), then the source."""
    src = _lines(SRC)
    ts = "2025-09-02T08:00:00.000Z"
    meta = {"timestamp": ts, "type": "session_meta",
            "payload": {**src[0]["payload"], "id": FORK_ID, "forked_from_id": src[0]["payload"]["id"], "timestamp": ts}}
    fork = [meta, *({**r, "timestamp": ts} for r in src), *_own_turn("2025-09-02T08:00:05.000Z", {
        "input_tokens": 10**6, "cached_input_tokens": 10, "output_tokens": 10**4})]
    _write(tmp_path / "c" / f"rollout-2025-09-02T08-00-00-{FORK_ID}.jsonl", fork)
    store = Store(tmp_path / "t.duckdb")
    ingest(store, [tmp_path / "c"], settle_s=0)
    assert _sessions(store)[FORK_ID]["actions"] == 4  # the source is not there: the copies are the fork's
    _write(tmp_path / "c" / SRC.name, src)
    ingest(store, [tmp_path / "c"], settle_s=0)
    got = _sessions(store)
    store.close()
    once = Store(tmp_path / "once.duckdb")
    ingest(once, [tmp_path / "c"], settle_s=0)
    assert got == _sessions(once)
    assert got[FORK_ID]["actions"] == 1
    once.close()
