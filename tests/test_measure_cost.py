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


def _measure(tmp_path: Path, corpus: Path, column: str = "cost_usd") -> dict[str, object]:
    """session id -> ``column`` of the sessions table, the corpus under ``corpus`` ingested and measured."""
    store = Store(tmp_path / "db.duckdb")
    ingest(store, [corpus], workers=0)
    build_sessions(store)
    got = dict(store.con.execute(f"SELECT session_id, {column} FROM sessions").fetchall())
    store.close()
    return got


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
    _session(ids["mixed"], [PRICED, "MiniMax-M2.1"]).write(root / f"{ids['mixed']}.jsonl")
    free = _session(ids["no_tokens"], [PRICED])
    free._env("assistant", message={"id": "msg_free", "type": "message", "role": "assistant", "model": "Qwen3-Coder",
                                    "content": [{"type": "text", "text": "ok"}], "usage": {
                                        "input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0,
                                        "cache_creation_input_tokens": 0}})
    free.write(root / f"{ids['no_tokens']}.jsonl")
    cost = _measure(tmp_path, root.parent)
    # 2 responses x (10 in, 100 out, 1000 cache read, 50 cache write) at 3 / 15 / 0.3 / 3.75 USD per million
    assert cost[ids["priced"]] == pytest.approx(2 * (10 * 3 + 100 * 15 + 1000 * 0.3 + 50 * 3.75) / 1e6, abs=1e-6)
    assert cost[ids["glm"]] is None and cost[ids["mixed"]] is None
    # a response of an unpriced model that used no tokens costs nothing: the session keeps its priced cost
    assert cost[ids["no_tokens"]] == pytest.approx(cost[ids["priced"]] / 2, abs=1e-6)


def _one_session_per_model(tmp_path: Path, models: list[str], column: str) -> dict[str, object]:
    """model -> ``column`` of the sessions table, for one measured session (one response) of each model."""
    root = tmp_path / "team" / "-p"
    sids = {}
    for i, model in enumerate(models):
        sid = f"{i:08d}-1111-4111-8111-111111111111"
        sids[sid] = model
        _session(sid, [model]).write(root / f"{sid}.jsonl")
    return {sids[sid]: v for sid, v in _measure(tmp_path, root.parent, column).items()}


# (model as recorded, USD per million tokens: input, output, cache write, cache read)
LISTED = [
    ("claude-sonnet-5", (2, 10, 2.5, 0.2)),  # was 3 / 15 (the %sonnet% fallback): half as much again
    ("anthropic/claude-sonnet-5", (2, 10, 2.5, 0.2)),
    ("claude-opus-4.6", (5, 25, 6.25, 0.5)),  # was 15 / 75 (claude-opus-4%: Opus 4.0's price)
    ("claude-opus-4-6-thinking", (5, 25, 6.25, 0.5)),
    ("claude-opus-4-20250514", (15, 75, 18.75, 1.5)),
    ("claude-opus-4", (15, 75, 18.75, 1.5)),
    ("claude-opus-4-8", (5, 25, 6.25, 0.5)),
    ("claude-haiku-5-5", (0.1, 0.5, 0.125, 0.01)),  # was 1 / 5 (%haiku%)
    ("Claude-Sonnet-4-5", (3, 15, 3.75, 0.3)),  # any case
    ("gpt-4o-2024-08-06", (2.5, 10, 0, 1.25)),  # was unknown
    ("openai/gpt-4o-mini", (0.15, 0.6, 0, 0.075)),
    ("gpt-5.1-codex-mini", (0.25, 2, 0, 0.025)),
    ("gpt-5.5", (5, 30, 0, 0.5)),
    ("o3-mini", (1.1, 4.4, 0, 0.55)),
    ("o3", (2, 8, 0, 0.5)),
    ("gemini/gemini-2.5-pro", (1.25, 10, 0, 0.125)),
    ("gemini-2.5-flash", (0.3, 2.5, 0, 0.03)),
    ("gemini-3-pro-preview", (2, 12, 0, 0.2)),  # was unknown (LiteLLM lists it under vertex_ai/ only)
    ("google/gemini-3-pro-preview", (2, 12, 0, 0.2)),
]


def test_each_listed_model_gets_its_own_price_in_measure_and_in_the_llm_cost_estimate(tmp_path: Path) -> None:
    """The real corpus ran claude-sonnet-5 (priced as any sonnet, 3 / 15, against its 2 / 10), claude-opus-4.6
    (Opus 4.0's 15 / 75 through 'claude-opus-4%', against 5 / 25) and OpenAI and Google models (no price: their
    sessions' cost unknown). Each model here has its listed price, in measure (SQL LIKE) and in the LLM backends'
    cost estimate (classify.cache.price_for), which read the same list."""
    from codecensus.classify.cache import price_for

    cost = _one_session_per_model(tmp_path, [m for m, _p in LISTED], "cost_usd")
    want = dict(LISTED)
    for model in want:
        p_in, p_out, p_cw, p_cr = want[model]
        # one response: 10 in, 100 out, 1000 cache read, 50 cache write (ccbuild's usage)
        assert cost[model] == pytest.approx((10 * p_in + 100 * p_out + 1000 * p_cr + 50 * p_cw) / 1e6, abs=1e-6), model
        price = price_for(model)
        assert price is not None, model
        assert (price.input, price.output, price.cache_write, price.cache_read) == pytest.approx(want[model]), model


def test_a_model_named_by_its_files_path_is_kept_by_its_last_part(tmp_path: Path) -> None:
    """A local model server names a model by its file's path (llama.cpp: "/home/alice/models/qwen.gguf"): the
    sessions table and its export kept the path, and with it a user name. Only the last part is kept; a provider's
    prefix (unsloth/…, openai/…) is no path and stays."""
    cases = {
        "/home/alice/models/qwen3-coder-q4.gguf": "qwen3-coder-q4.gguf",
        "C:\\Users\\bob\\models\\llama.gguf": "llama.gguf",
        "~/models/phi.gguf": "phi.gguf",
        "./models/m.gguf": "m.gguf",
        "unsloth/Qwen3-Coder-Next": "unsloth/Qwen3-Coder-Next",
        "openai/qwen3:32b": "openai/qwen3:32b",
        PRICED: PRICED,
    }
    assert _one_session_per_model(tmp_path, list(cases), "models") == cases


def _measured(tmp_path: Path, sessions: dict[str, list[tuple[str, int]]]) -> dict[str, object]:
    """name -> cost_usd of a session of one response per (model, input tokens) (ccbuild: 100 out, 1000 cache
    read, 50 cache write)."""
    root = tmp_path / "team" / "-p"
    sids = {}
    for i, (name, replies) in enumerate(sessions.items()):
        sid = f"{i:08d}-2222-4222-8222-222222222222"
        sids[sid] = name
        s = Session(sid)
        s.prompt("fix the failing test")
        for model, tokens_in in replies:
            s.reply("Done.", model=model, usage=(tokens_in, 100))
        s.write(root / f"{sid}.jsonl")
    return {sids[sid]: v for sid, v in _measure(tmp_path, root.parent).items()}


def _usd(tokens_in: int, p: tuple[float, float, float, float]) -> float:
    return (tokens_in * p[0] + 100 * p[1] + 50 * p[2] + 1000 * p[3]) / 1e6


def test_a_request_above_the_long_context_tier_is_priced_at_the_tier(tmp_path: Path) -> None:
    """Claude Sonnet 4 / 4.5 with the 1M context beta and Gemini 2.5 Pro charge more for a request whose input
    (input + cache read + cache creation tokens) exceeds 200K: every request was priced at the base price. Now each
    request (response) above the tier is priced at the tier's prices (LiteLLM's *_above_200k_tokens), one at or
    below it at the base price; in measure and in the LLM cost estimate. Sonnet 4.6 has no tier (LiteLLM lists
    none)."""
    from codecensus.classify.cache import Usage, price_for

    sonnet, sonnet_long = (3, 15, 3.75, 0.3), (6, 22.5, 7.5, 0.6)
    pro, pro_long = (1.25, 10, 0, 0.125), (2.5, 15, 0, 0.25)
    at_tier = 200_000 - 1000 - 50  # input + cache read + cache write = 200,000: not above
    cases = {
        "sonnet long": ([("claude-sonnet-4-5-20250929", 250_000)], _usd(250_000, sonnet_long)),
        "sonnet 4 long": ([("claude-sonnet-4-20250514", 250_000)], _usd(250_000, sonnet_long)),
        "sonnet at tier": ([("claude-sonnet-4-5-20250929", at_tier)], _usd(at_tier, sonnet)),
        "sonnet one of each": ([("claude-sonnet-4-5-20250929", 250_000), ("claude-sonnet-4-5-20250929", 1000)],
                               _usd(250_000, sonnet_long) + _usd(1000, sonnet)),
        "sonnet 4.6 long": ([("claude-sonnet-4-6", 250_000)], _usd(250_000, sonnet)),
        "gemini pro long": ([("gemini-2.5-pro", 250_000)], _usd(250_000, pro_long)),
        "gemini pro short": ([("gemini-2.5-pro", 1000)], _usd(1000, pro)),
    }
    cost = _measured(tmp_path, {name: replies for name, (replies, _want) in cases.items()})
    for name, (replies, want) in cases.items():
        assert cost[name] == pytest.approx(want, abs=1e-6), name
        estimate = 0.0
        for model, tokens_in in replies:
            price = price_for(model)
            assert price is not None, model
            estimate += price.cost(Usage(tokens_in, 100, cache_write_tokens=50, cache_read_tokens=1000))
        assert estimate == pytest.approx(want, abs=1e-6), name


def test_a_row_of_unknown_price_wins_over_a_broader_pattern(tmp_path: Path) -> None:
    """gemini-2.5-pro-exp-03-25 (experimental, free of charge when it ran) was priced as Gemini 2.5 Pro through
    '%gemini-2.5-pro%': the list could not say "unknown" for a pattern. A row with empty prices now does, and as the
    most specific pattern it wins: the session's cost is NULL (never 0), and the LLM cost estimate has no price; the
    stable model keeps its price."""
    from codecensus.classify.cache import price_for

    cost = _measured(tmp_path, {"exp": [("gemini/gemini-2.5-pro-exp-03-25", 1000)],
                                "stable": [("gemini/gemini-2.5-pro", 1000)],
                                "mixed": [("gemini-2.5-pro", 1000), ("gemini-2.5-pro-exp-03-25", 1000)]})
    assert cost["exp"] is None and cost["mixed"] is None
    assert cost["stable"] == pytest.approx(_usd(1000, (1.25, 10, 0, 0.125)), abs=1e-6)
    assert price_for("gemini/gemini-2.5-pro-exp-03-25") is None
    assert price_for("gemini-2.5-pro") is not None
