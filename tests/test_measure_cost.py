"""A session's cost when a model has no listed price."""

from __future__ import annotations

from pathlib import Path

import pytest

from codecensus.ingest import ingest
from codecensus.measure import build_sessions
from codecensus.store import Store

from ccbuild import Session

PRICED = "claude-sonnet-4-5-20250929"


def _session(sid: str, models: list[str]) -> Session:
    s = Session(sid)
    s.prompt("fix the failing test")
    for m in models:
        s.reply("Done.", model=m)
    return s


def test_a_model_without_a_price_makes_the_session_cost_unknown_not_zero(tmp_path: Path) -> None:
    """Sessions of models the price list lacks (glm, MiniMax, Qwen, gemini, gpt-5.5) had cost_usd 0.0, as if
    free: every total and mean of cost was understated. Now their cost is NULL (unknown), also when only one of
    the session's responses is of such a model; a priced session keeps its cost."""
    ids = {
        "priced": "11111111-1111-4111-8111-111111111111",
        "glm": "22222222-2222-4222-8222-222222222222",
        "mixed": "33333333-3333-4333-8333-333333333333",
        "no_tokens": "44444444-4444-4444-8444-444444444444",
    }
    root = tmp_path / "team" / "-p"
    _session(ids["priced"], [PRICED, PRICED]).write(root / f"{ids['priced']}.jsonl")
    _session(ids["glm"], ["glm-4.6"]).write(root / f"{ids['glm']}.jsonl")
    _session(ids["mixed"], [PRICED, "gpt-5.5"]).write(root / f"{ids['mixed']}.jsonl")
    free = _session(ids["no_tokens"], [PRICED])
    free._env("assistant", message={"id": "msg_free", "type": "message", "role": "assistant", "model": "Qwen3-Coder",
                                    "content": [{"type": "text", "text": "ok"}], "usage": {
                                        "input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0,
                                        "cache_creation_input_tokens": 0}})
    free.write(root / f"{ids['no_tokens']}.jsonl")
    store = Store(tmp_path / "db.duckdb")
    ingest(store, [root.parent], workers=0)
    build_sessions(store)
    cost = dict(store.con.execute("SELECT session_id, cost_usd FROM sessions").fetchall())
    store.close()
    # 2 responses x (10 in, 100 out, 1000 cache read, 50 cache write) at 3 / 15 / 0.3 / 3.75 USD per million
    assert cost[ids["priced"]] == pytest.approx(2 * (10 * 3 + 100 * 15 + 1000 * 0.3 + 50 * 3.75) / 1e6, abs=1e-6)
    assert cost[ids["glm"]] is None and cost[ids["mixed"]] is None
    # a response of an unpriced model that used no tokens costs nothing: the session keeps its priced cost
    assert cost[ids["no_tokens"]] == pytest.approx(cost[ids["priced"]] / 2, abs=1e-6)
