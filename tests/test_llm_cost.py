"""What an LLM run costs: the price list for either backend (OpenAI's models too), 0 only for a server on this
machine, an unknown cost said as unknown (never $0.00), and no --budget-usd a run could not keep."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from codecensus.classify.cache import BudgetExceeded, LLMCache, Price, Usage, price_for
from codecensus.classify.llm import LLMBackend, make_backend
from llm_replay import IdentityRedactor, Replay, sample_session

pytest.importorskip("openai")
pytest.importorskip("anthropic")

CHAT = "/v1/chat/completions"
MSG = "/v1/messages"
QUICK: dict[str, Any] = {"backoff_base_s": 0.0, "sleep": lambda s: None, "rng": random.Random(0),
                         "redactor": IdentityRedactor(), "concurrency": 1}
# openai_chat_ok.json: 3120 prompt tokens (none cached), 208 completion tokens
IN, OUT = 3120, 208


def _openai(replay: Replay, model: str, base_url: str | None, **kw: Any) -> LLMBackend:
    b = make_backend("openai", model, base_url=base_url, api_key="k", http_client=replay.client(),
                     **{"cache": False, **QUICK, **kw})
    assert isinstance(b, LLMBackend)
    return b


def _anthropic(replay: Replay, model: str, **kw: Any) -> LLMBackend:
    b = make_backend("anthropic", model, api_key="sk-ant-test", http_client=replay.client(),
                     **{"cache": False, **QUICK, **kw})
    assert isinstance(b, LLMBackend)
    return b


def _one_call(b: LLMBackend) -> float:
    return b._worst_cost([{"role": "user", "content": b.user_message(b.condense(sample_session(0)))}])


@pytest.mark.parametrize("base_url", [None, "https://llm.example.com/v1"])  # OpenAI's own API; a hosted server
def test_openai_api_gets_the_list_price_and_a_budget_stops_it(base_url: str | None) -> None:
    """The OpenAI-compatible backend cost 0 without --price-in/--price-out, even on OpenAI's API with gpt-4o:
    --budget-usd never stopped it."""
    gpt4o = price_for("gpt-4o")
    assert gpt4o is not None and gpt4o.input > 0
    b = _openai(Replay().add("POST", CHAT, "openai_chat_ok.json"), "gpt-4o", base_url)
    assert b.price == gpt4o
    b.classify([sample_session(0)])
    assert b.account.cost() == pytest.approx((IN * gpt4o.input + OUT * gpt4o.output) / 1e6)

    one_call = _one_call(b)
    assert one_call > 0
    budget = one_call * 2.5
    b = _openai(Replay().add("POST", CHAT, "openai_chat_ok.json", times=5), "gpt-4o", base_url, budget_usd=budget)
    with pytest.raises(BudgetExceeded) as ei:
        b.classify([sample_session(i) for i in range(5)])
    acc = b.account
    assert 2 <= acc.calls < 5 and acc.cost_usd <= budget < acc.cost_usd + one_call
    assert sum(p is not None for p in ei.value.partial) == acc.calls


def test_a_server_on_this_machine_costs_nothing_a_remote_one_its_list_price() -> None:
    """Loopback hosts are the user's own machine: 0 unless prices are given; any other host is billed at the
    model's list price (a LAN or hosted server with gpt-4o cost 0 before)."""
    gpt4o = price_for("gpt-4o")
    for url in ("http://127.0.0.1:8080", "http://localhost:11434", "http://[::1]:8000/v1", "http://127.0.0.2:1"):
        b = _openai(Replay().add("POST", CHAT, "openai_chat_ok.json"), "gpt-4o", url, budget_usd=0.0001)
        assert b.price == Price(), url
        b.classify([sample_session(0)])  # a budget of a hundredth of a cent: nothing to spend here
        assert b.account.cost() == 0 and b.account.calls == 1, url
        given = _openai(Replay(), "gpt-4o", url, price_in=1.0, price_out=2.0)
        assert given.price is not None and (given.price.input, given.price.output) == (1.0, 2.0)
    for url in ("http://192.168.1.20:8000", "http://gpu-box.lan:8000", "http://localhost.example.com"):
        assert _openai(Replay(), "gpt-4o", url).price == gpt4o, url


def test_a_budget_for_a_model_without_a_price_refuses_to_start() -> None:
    """An unlisted model cost 0 in the accounting, so --budget-usd 5 let the run go on without any limit."""
    assert price_for("claude-unlisted-9") is None
    with pytest.raises(ValueError, match=r"no price for model 'claude-unlisted-9'.*--price-in/--price-out") as ei:
        _anthropic(Replay(), "claude-unlisted-9", budget_usd=5.0)
    assert "--budget-usd 5" in str(ei.value)
    with pytest.raises(ValueError, match="no price for model 'my-finetune'"):
        _openai(Replay(), "my-finetune", "https://llm.example.com", budget_usd=5.0)
    # a price given instead: the budget is kept at it (Anthropic's cache writes 1.25x, reads 0.1x the input price)
    b = _anthropic(Replay().add("POST", MSG, "anthropic_message_ok.json"), "claude-unlisted-9", budget_usd=5.0,
                   price_in=2.0, price_out=10.0)
    assert b.price == Price(2.0, 10.0, 2.5, 0.2)
    b.classify([sample_session(0)])
    u = Usage(b.account.input_tokens, b.account.output_tokens, b.account.cache_write_tokens,
              b.account.cache_read_tokens)
    assert b.account.cost() == pytest.approx(b.price.cost(u)) and b.account.cost() > 0


@pytest.mark.parametrize(("price_in", "price_out", "said"), [
    (1.0, None, "give both --price-in and --price-out"),
    (None, 2.0, "give both --price-in and --price-out"),
    (-1.0, 2.0, "--price-in must be a number of USD per million tokens, 0 or more"),
    (1.0, float("nan"), "--price-out must be"),
])
def test_given_prices_are_checked(price_in: float | None, price_out: float | None, said: str) -> None:
    for build in (lambda **kw: _openai(Replay(), "gpt-4o", None, **kw),
                  lambda **kw: _anthropic(Replay(), "claude-haiku-4-5", **kw)):
        with pytest.raises(ValueError, match=said.replace("-", r"\-")):
            build(price_in=price_in, price_out=price_out)


def test_an_unknown_price_is_an_unknown_cost_in_the_account_and_the_cache(tmp_path: Path) -> None:
    """A model with no price was accounted (and cached) at $0.00: a wrong number, not an unknown one."""
    cache = LLMCache(tmp_path / "cache.duckdb")
    b = _anthropic(Replay().add("POST", MSG, "anthropic_message_ok.json"), "claude-unlisted-9", cache=cache)
    b.classify([sample_session(0)])
    acc = b.account
    d = b.describe()  # what the run manifest records
    assert d["account"]["cost_usd"] is None and d["price_per_mtok"] is None
    assert acc.calls == 1 and acc.input_tokens > 0 and acc.output_tokens > 0  # the tokens are still counted
    assert d["account"]["input_tokens"] == acc.input_tokens and d["account"]["output_tokens"] == acc.output_tokens
    said = "unknown (no price for model claude-unlisted-9; give --price-in/--price-out)"
    assert d["account"]["cost"] == acc.cost_text() == said
    assert acc.cost() is None and acc.unpriced_calls == 1
    (cost,) = cache.con.execute("SELECT cost_usd FROM llm_cache").fetchone()  # type: ignore[misc]
    assert cost is None  # NULL, not 0

    # answered from the cache: what the hit saved is unknown too
    again = _anthropic(Replay(), "claude-unlisted-9", cache=cache)
    again.classify([sample_session(0)])
    assert again.account.cache_hits == 1 and again.account.unpriced_hits == 1
    assert again.account.as_dict()["saved_usd"] is None
    assert again.account.cost() == 0 and again.account.cost_text() == "$0.0000"  # this run sent nothing

    # a row stored before (a number) reads as it did
    (key,) = cache.con.execute("SELECT key FROM llm_cache").fetchone()  # type: ignore[misc]
    cache.con.execute("UPDATE llm_cache SET cost_usd = 0.25")
    got = cache.get_many([key], backend="anthropic", model="claude-unlisted-9", rubric_hash=b.rubric_hash)
    assert got[key].cost_usd == 0.25
    hit = _anthropic(Replay(), "claude-unlisted-9", cache=cache)
    hit.classify([sample_session(0)])
    assert hit.account.unpriced_hits == 0 and hit.account.as_dict()["saved_usd"] == 0.25


@pytest.mark.parametrize("budget", [float("nan"), -1.0, float("inf")])
def test_a_budget_that_is_not_a_number_of_dollars_is_refused(budget: float) -> None:
    """NaN compared false with every cost, so --budget-usd nan ran without any limit; -1 stopped the run before its
    first request with "budget $-1.0000 reached". Both backends now refuse them at the start."""
    for build in (lambda: _openai(Replay(), "gpt-4o", None, budget_usd=budget),
                  lambda: _anthropic(Replay(), "claude-haiku-4-5", budget_usd=budget)):
        with pytest.raises(ValueError, match=r"--budget-usd must be a finite number of USD, 0 or more"):
            build()


def test_a_budget_of_0_answers_from_the_cache_only(tmp_path: Path) -> None:
    """0 is kept (Account.reserve refuses any reservation above it): cached answers cost nothing, a request would."""
    cache = LLMCache(tmp_path / "cache.duckdb")
    _openai(Replay().add("POST", CHAT, "openai_chat_ok.json"), "gpt-4o", None, cache=cache).classify(
        [sample_session(0)])
    b = _openai(Replay(), "gpt-4o", None, cache=cache, budget_usd=0.0)
    with pytest.raises(BudgetExceeded) as ei:
        b.classify([sample_session(0), sample_session(1)])
    assert b.account.cache_hits == 1 and b.account.calls == 0 and b.account.cost() == 0
    assert [p is not None for p in ei.value.partial] == [True, False]


def test_the_offline_backend_refuses_a_budget() -> None:
    """classify.run.make_backend('offline', budget_usd=5) dropped the budget without a word, as the CLI did."""
    from codecensus.classify.run import make_backend as make_any

    with pytest.raises(ValueError, match="budget_usd: options of the LLM backends"):
        make_any("offline", embedder="none", budget_usd=5.0)
