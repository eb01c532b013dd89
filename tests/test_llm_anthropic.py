"""The Anthropic backend through the official SDK, against recorded API responses."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from codecensus.classify.cache import BudgetExceeded, LLMCache
from codecensus.classify.llm import LLMError, is_abstention, make_backend
from codecensus.store import Store
from llm_replay import IdentityRedactor, Replay, fixture, sample_session

pytest.importorskip("anthropic")

if TYPE_CHECKING:
    import httpx2

    from codecensus.classify.llm_anthropic import AnthropicBackend

MSG = "/v1/messages"


def _backend(replay: Replay, tmp_path: Path, **kw: object) -> AnthropicBackend:
    from codecensus.classify.llm_anthropic import AnthropicBackend

    opts: dict[str, object] = {
        "api_key": "sk-ant-test",
        "http_client": replay.client(),
        "redactor": IdentityRedactor(),
        "backoff_base_s": 0.0,
        "sleep": lambda s: None,
        "rng": random.Random(0),
        "concurrency": 1,
        **kw,
    }
    if "cache" not in opts:
        opts["cache"] = LLMCache(tmp_path / "cache.duckdb")
    b = make_backend("anthropic", "claude-haiku-4-5-20251001", **opts)
    assert isinstance(b, AnthropicBackend)
    return b


def test_classify_request_shape_cost_and_cache(tmp_path: Path) -> None:
    replay = Replay().add("POST", MSG, "anthropic_message_ok.json").add("POST", MSG, "anthropic_message_ok_cached.json")
    b = _backend(replay, tmp_path)
    out = b.classify([sample_session(0), sample_session(1)])
    assert [f.mode for f in out] == ["fix", "build"]
    assert out[0].outcome == "verified_success" and out[0].outcome_evidence == ["tests_pass", "commit"]
    assert out[0].value_hours == 1.5 and out[0].value_soc == "15"

    body = replay.bodies(MSG)[0]
    assert body["model"] == "claude-haiku-4-5-20251001"
    assert "temperature" not in body  # this SDK and current models take no sampling parameters
    sys_block = body["system"][0]
    assert sys_block["cache_control"] == {"type": "ephemeral"}
    assert "classifies coding-agent sessions" in sys_block["text"]
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert body["output_config"]["format"]["schema"]["additionalProperties"] is False
    assert [m["role"] for m in body["messages"]] == ["user"]
    assert "<transcript>\nSESSION: 2 human prompts" in body["messages"][0]["content"]
    assert replay.requests[0].headers["authorization"] == "Bearer sk-ant-test"

    acc = b.account
    assert acc.calls == 2 and acc.cache_hits == 0 and acc.retries == 0
    assert acc.input_tokens == 812 + 640 and acc.output_tokens == 187 + 171
    assert acc.cache_write_tokens == 2391 and acc.cache_read_tokens == 2391
    # haiku 4.5: $1 in, $5 out, $1.25 cache write, $0.10 cache read per MTok
    expected = ((812 + 640) * 1 + (187 + 171) * 5 + 2391 * 1.25 + 2391 * 0.1) / 1e6
    assert acc.cost_usd == pytest.approx(expected)

    # a second run (new backend, same cache file) makes no call at all
    b2 = _backend(Replay(), tmp_path)
    again = b2.classify([sample_session(0), sample_session(1)])
    assert [f.model_dump() for f in again] == [f.model_dump() for f in out]
    assert b2.account.calls == 0 and b2.account.cache_hits == 2 and b2.account.cost_usd == 0
    assert b2.account.saved_usd == pytest.approx(expected)


def test_identical_sessions_are_sent_once(tmp_path: Path) -> None:
    replay = Replay().add("POST", MSG, "anthropic_message_ok.json")
    b = _backend(replay, tmp_path)
    out = b.classify([sample_session(0), sample_session(0)])
    assert len(out) == 2 and out[0] == out[1]
    assert b.account.calls == 1


def test_retries_with_backoff_on_overload_and_rate_limit(tmp_path: Path) -> None:
    sleeps: list[float] = []
    replay = (
        Replay()
        .add("POST", MSG, "anthropic_error_overloaded.json", status=529)
        .add("POST", MSG, "anthropic_error_rate_limit.json", status=429, headers={"retry-after": "7"})
        .add("POST", MSG, "anthropic_message_ok.json")
    )
    b = _backend(replay, tmp_path, backoff_base_s=1.0, sleep=sleeps.append)
    (f,) = b.classify([sample_session(0)])
    assert f.mode == "fix"
    assert b.account.retries == 2 and b.account.calls == 1
    assert 0.5 <= sleeps[0] <= 1.5  # 1 s * jitter
    assert sleeps[1] >= 7  # Retry-After honoured
    assert len(replay.requests) == 3


def test_retries_exhausted_raise_and_keep_nothing_half_done(tmp_path: Path) -> None:
    replay = Replay().add("POST", MSG, "anthropic_error_overloaded.json", status=529, times=3)
    b = _backend(replay, tmp_path, max_retries=2)
    with pytest.raises(LLMError, match="giving up after 3 attempts"):
        b.classify([sample_session(0)])
    assert b.account.calls == 0 and b.account.cost_usd == 0


def test_auth_error_stops_the_run(tmp_path: Path) -> None:
    replay = Replay().add("POST", MSG, "anthropic_error_auth.json", status=401)
    b = _backend(replay, tmp_path)
    with pytest.raises(LLMError, match="401"):
        b.classify([sample_session(0)])
    assert len(replay.requests) == 1  # never retried


def test_malformed_answer_gets_one_repair_turn(tmp_path: Path) -> None:
    replay = Replay().add("POST", MSG, "anthropic_message_malformed.json").add("POST", MSG, "anthropic_message_ok.json")
    b = _backend(replay, tmp_path)
    (f,) = b.classify([sample_session(0)])
    assert f.mode == "fix" and not is_abstention(f)
    assert b.account.repairs == 1 and b.account.abstentions == 0 and b.account.calls == 2
    repair = replay.bodies(MSG)[1]["messages"]
    assert [m["role"] for m in repair] == ["user", "assistant", "user"]
    assert repair[1]["content"].startswith("Here is my analysis")
    assert "not valid JSON" in repair[2]["content"] and "cut off at the token limit" in repair[2]["content"]


def test_second_invalid_answer_abstains_and_is_cached(tmp_path: Path) -> None:
    replay = (
        Replay()
        .add("POST", MSG, "anthropic_message_invalid_values.json")
        .add("POST", MSG, "anthropic_message_malformed.json")
    )
    b = _backend(replay, tmp_path)
    (f,) = b.classify([sample_session(0)])
    assert is_abstention(f)
    assert b.account.repairs == 1 and b.account.abstentions == 1 and b.account.calls == 2
    assert "mode" in replay.bodies(MSG)[1]["messages"][2]["content"]
    b2 = _backend(Replay(), tmp_path)
    (g,) = b2.classify([sample_session(0)])
    assert is_abstention(g) and b2.account.calls == 0 and b2.account.abstentions == 1
    # retry_abstained sends it again
    b3 = _backend(Replay().add("POST", MSG, "anthropic_message_ok.json"), tmp_path, retry_abstained=True)
    (h,) = b3.classify([sample_session(0)])
    assert h.mode == "fix" and b3.account.calls == 1


def test_rejected_request_abstains_without_caching(tmp_path: Path) -> None:
    replay = Replay().add("POST", MSG, "anthropic_error_invalid_request.json", status=400)
    cache = LLMCache(tmp_path / "c.duckdb")
    b = _backend(replay, tmp_path, cache=cache)
    (f,) = b.classify([sample_session(0)])
    assert is_abstention(f) and b.account.failures == 1
    assert cache.count() == 0


def test_every_request_rejected_is_a_configuration_error(tmp_path: Path) -> None:
    replay = Replay().add("POST", MSG, "anthropic_error_invalid_request.json", status=400, times=3)
    b = _backend(replay, tmp_path)
    with pytest.raises(LLMError, match="rejected every request"):
        b.classify([sample_session(i) for i in range(3)])


def test_budget_stops_before_exceeding(tmp_path: Path) -> None:
    replay = Replay().add("POST", MSG, "anthropic_message_ok.json", times=5)
    probe = _backend(Replay(), tmp_path)
    one_call = probe._worst_cost([{"role": "user", "content": probe.user_message(probe.condense(sample_session(0)))}])
    budget = one_call * 2.5
    b = _backend(replay, tmp_path, budget_usd=budget, cache=False)
    with pytest.raises(BudgetExceeded) as ei:
        b.classify([sample_session(i) for i in range(5)])
    acc = b.account
    assert 2 <= acc.calls < 5
    assert acc.cost_usd <= budget  # never exceeded
    assert acc.cost_usd + one_call > budget  # stopped only because the next call might have exceeded it
    partial = ei.value.partial
    assert len(partial) == 5 and sum(p is not None for p in partial) == acc.calls


def test_concurrent_calls_are_cached_as_they_complete(tmp_path: Path) -> None:
    replay = Replay().add("POST", MSG, "anthropic_message_ok.json", times=6)
    cache = LLMCache(tmp_path / "c.duckdb")
    b = _backend(replay, tmp_path, concurrency=3, cache=cache)
    out = b.classify([sample_session(i) for i in range(6)])
    assert len(out) == 6 and all(f.mode == "fix" for f in out)
    assert b.account.calls == 6 and cache.count() == 6


def test_cache_lives_in_the_store_when_given(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as st:
        b = make_backend(
            "anthropic", api_key="k", http_client=Replay().add("POST", MSG, "anthropic_message_ok.json").client(),
            redactor=IdentityRedactor(), store=st,
        )
        b.classify([sample_session(0)])
        assert st.one("SELECT count(*), any_value(model), any_value(status) FROM llm_cache") == (
            1, "claude-haiku-4-5", "ok",
        )
        row = st.one("SELECT response FROM llm_cache")
        assert row is not None and json.loads(row[0])["mode"] == "fix"


def test_rubric_hash_depends_on_options(tmp_path: Path) -> None:
    a = _backend(Replay(), tmp_path)
    b = _backend(Replay(), tmp_path, structured=False)
    c = _backend(Replay(), tmp_path, max_tokens=1000)
    assert len({a.rubric_hash, b.rubric_hash, c.rubric_hash}) == 3
    assert a.describe()["rubric_hash"] == a.rubric_hash
    assert "output_config" not in b.params([{"role": "user", "content": "x"}])


def _batch_results(replay: Replay) -> httpx2.Response:
    import httpx2

    ids = [r["custom_id"] for r in replay.bodies("/v1/messages/batches")[0]["requests"]]
    lines = []
    for i, item in enumerate(fixture("anthropic_batch_results.jsonl")):
        item["custom_id"] = ids[i]
        lines.append(json.dumps(item))
    return httpx2.Response(200, content=("\n".join(lines) + "\n").encode(),
                           headers={"content-type": "application/binary"})


def test_message_batches_half_price_with_polling_and_fallback(tmp_path: Path) -> None:
    bid = fixture("anthropic_batch_in_progress.json")["id"]
    replay = Replay()
    replay.add("POST", "/v1/messages/batches", "anthropic_batch_in_progress.json")
    replay.add("GET", f"/v1/messages/batches/{bid}", "anthropic_batch_in_progress.json")
    replay.add("GET", f"/v1/messages/batches/{bid}", "anthropic_batch_ended.json", times=2)
    replay.add_fn("GET", f"/v1/messages/batches/{bid}/results", lambda req: _batch_results(replay))
    replay.add("POST", MSG, "anthropic_message_ok.json")  # the errored request, answered directly
    polls: list[float] = []
    b = _backend(replay, tmp_path, batch=True, batch_min=2, poll_interval_s=5.0, sleep=polls.append)
    out = b.classify([sample_session(i) for i in range(3)])
    assert [f.mode for f in out] == ["fix", "fix", "build"]
    assert polls == [5.0, 5.0]
    reqs = replay.bodies("/v1/messages/batches")[0]["requests"]
    assert len(reqs) == 3 and all(len(r["custom_id"]) == 64 for r in reqs)
    assert reqs[0]["params"]["system"][0]["cache_control"] == {"type": "ephemeral"}
    acc = b.account
    assert acc.batch_requests == 2 and acc.calls == 3
    batch_cost = ((812 + 640) * 1 + (187 + 171) * 5 + 2391 * 1.25 + 2391 * 0.1) / 1e6 * 0.5
    direct_cost = (812 * 1 + 187 * 5 + 2391 * 1.25) / 1e6
    assert acc.cost_usd == pytest.approx(batch_cost + direct_cost)
    assert replay.pending() == 0
    # and it is all cached
    b2 = _backend(Replay(), tmp_path, batch=True, batch_min=2)
    b2.classify([sample_session(i) for i in range(3)])
    assert b2.account.calls == 0 and b2.account.cache_hits == 3


def test_budget_holds_with_concurrent_calls(tmp_path: Path) -> None:
    """Reservations are taken before each call, so calls in flight cannot overshoot together."""
    replay = Replay().add("POST", MSG, "anthropic_message_ok.json", times=8)
    probe = _backend(Replay(), tmp_path)
    one_call = probe._worst_cost([{"role": "user", "content": probe.user_message(probe.condense(sample_session(0)))}])
    budget = one_call * 3.5
    b = _backend(replay, tmp_path, budget_usd=budget, cache=False, concurrency=4)
    with pytest.raises(BudgetExceeded) as ei:
        b.classify([sample_session(i) for i in range(8)])
    acc = b.account
    assert 3 <= acc.calls < 8 and acc.cost_usd <= budget
    assert sum(p is not None for p in ei.value.partial) == acc.calls
    assert replay.pending() == 8 - acc.calls  # nothing was sent after the stop
