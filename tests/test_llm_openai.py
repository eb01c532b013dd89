"""The OpenAI-compatible backend through the official SDK, against recorded responses."""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from codecensus.classify.cache import LLMCache
from codecensus.classify.llm import LLMError, is_abstention, make_backend
from llm_replay import IdentityRedactor, Replay, sample_session
from local_server import closed_url

pytest.importorskip("openai")

if TYPE_CHECKING:
    from codecensus.classify.llm_openai import OpenAIBackend

CHAT = "/v1/chat/completions"
BASE = "http://127.0.0.1:8765"


def _backend(replay: Replay, tmp_path: Path, model: str | None = "gemma3-270m", **kw: object) -> OpenAIBackend:
    from codecensus.classify.llm_openai import OpenAIBackend

    opts: dict[str, object] = {
        "http_client": replay.client(),
        "redactor": IdentityRedactor(),
        "backoff_base_s": 0.0,
        "sleep": lambda s: None,
        "rng": random.Random(0),
        "concurrency": 1,
        "cache": LLMCache(tmp_path / "cache.duckdb"),
        **kw,
    }
    b = make_backend("openai", model, base_url=BASE, **opts)
    assert isinstance(b, OpenAIBackend)
    return b


def test_base_url_normalisation() -> None:
    from codecensus.classify.llm_openai import normalise_base_url

    assert normalise_base_url("http://127.0.0.1:8765") == "http://127.0.0.1:8765/v1"
    assert normalise_base_url("http://127.0.0.1:8765/") == "http://127.0.0.1:8765/v1"
    assert normalise_base_url("http://h:1/api/v1") == "http://h:1/api/v1"
    assert normalise_base_url(None) is None


def test_request_shape_zero_cost_and_cache(tmp_path: Path) -> None:
    replay = Replay().add("POST", CHAT, "openai_chat_ok.json")
    b = _backend(replay, tmp_path)
    (f,) = b.classify([sample_session(0)])
    assert f.outcome == "partial" and f.expertise == 2
    body = replay.bodies(CHAT)[0]
    assert body["model"] == "gemma3-270m" and body["temperature"] == 0
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["response_format"]["type"] == "json_object"
    assert body["response_format"]["schema"]["required"][0] == "summary"
    assert body["response_format"]["schema"]["properties"]["summary"]["maxLength"] == 300
    assert b.account.input_tokens == 3120 and b.account.output_tokens == 208
    assert b.account.cost_usd == 0  # a local server costs nothing unless prices are given
    b2 = _backend(Replay(), tmp_path)
    b2.classify([sample_session(0)])
    assert b2.account.calls == 0 and b2.account.cache_hits == 1


def test_prices_and_model_discovery(tmp_path: Path) -> None:
    replay = Replay().add("GET", "/v1/models", "openai_models.json").add("POST", CHAT, "openai_chat_ok.json")
    b = _backend(replay, tmp_path, model=None, price_in=0.5, price_out=1.5, cache=False)
    assert b.model == "gemma3-270m"
    b.classify([sample_session(0)])
    assert b.account.cost_usd == pytest.approx((3120 * 0.5 + 208 * 1.5) / 1e6)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("json_schema", {"type": "json_schema"}),
        ("json_object", {"type": "json_object"}),
        ("none", None),
    ],
)
def test_response_formats(tmp_path: Path, fmt: str, expected: dict[str, str] | None) -> None:
    b = _backend(Replay(), tmp_path, response_format=fmt)
    p = b.params([{"role": "user", "content": "x"}])
    if expected is None:
        assert "response_format" not in p
    else:
        assert p["response_format"]["type"] == expected["type"]
    with pytest.raises(ValueError):
        _backend(Replay(), tmp_path, response_format="yaml")


def test_openai_itself_gets_strict_json_schema(tmp_path: Path) -> None:
    b = make_backend("openai", "gpt-x", api_key="k", http_client=Replay().client(), cache=False,
                     redactor=IdentityRedactor())
    assert b.response_format == "json_schema"  # type: ignore[attr-defined]


def test_sloppy_answer_is_normalised(tmp_path: Path) -> None:
    replay = Replay().add("POST", CHAT, "openai_chat_fenced.json")
    b = _backend(replay, tmp_path)
    (f,) = b.classify([sample_session(0)])
    assert f.mode == "fix" and f.occupation == "15" and b.account.repairs == 0


def test_truncated_answer_repair_then_abstention(tmp_path: Path) -> None:
    replay = Replay().add("POST", CHAT, "openai_chat_malformed.json", times=2)
    b = _backend(replay, tmp_path)
    (f,) = b.classify([sample_session(0)])
    assert is_abstention(f)
    assert b.account.calls == 2 and b.account.repairs == 1 and b.account.abstentions == 1
    msgs = replay.bodies(CHAT)[1]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert "cut off at the token limit" in msgs[3]["content"]


def test_server_errors_are_retried(tmp_path: Path) -> None:
    replay = (
        Replay()
        .add("POST", CHAT, "openai_error_500.json", status=500)
        .add("POST", CHAT, "openai_error_500.json", status=503)
        .add("POST", CHAT, "openai_chat_ok.json")
    )
    b = _backend(replay, tmp_path)
    (f,) = b.classify([sample_session(0)])
    assert f.outcome == "partial" and b.account.retries == 2 and b.account.calls == 1


def test_context_overflow_abstains_and_is_counted(tmp_path: Path) -> None:
    replay = Replay().add("POST", CHAT, "openai_error_400.json", status=400).add("POST", CHAT, "openai_chat_ok.json")
    b = _backend(replay, tmp_path)
    out = b.classify([sample_session(0), sample_session(1)])
    assert is_abstention(out[0]) and not is_abstention(out[1])
    assert b.account.failures == 1 and b.account.abstentions == 1


def test_unreachable_server_gives_up(tmp_path: Path) -> None:
    b = make_backend("openai", "m", base_url=closed_url(), cache=False, redactor=IdentityRedactor(),
                     max_retries=1, backoff_base_s=0.0, timeout_s=2.0)
    with pytest.raises(LLMError, match="giving up"):
        b.classify([sample_session(0)])


def test_unknown_backend_name() -> None:
    with pytest.raises(ValueError, match="anthropic"):
        make_backend("gemini")


def test_system_in_user_for_models_without_a_system_role(tmp_path: Path) -> None:
    replay = Replay().add("POST", CHAT, "openai_chat_ok.json")
    b = _backend(replay, tmp_path, system_in_user=True)
    b.classify([sample_session(0)])
    (msg,) = replay.bodies(CHAT)[0]["messages"]
    assert msg["role"] == "user"
    assert msg["content"].startswith(b.system_prompt)
    assert msg["content"].index("<transcript>") > len(b.system_prompt)
    assert b.rubric_hash != _backend(Replay(), tmp_path).rubric_hash


def test_no_human_request_has_no_expertise_level(tmp_path: Path) -> None:
    """Expertise is judged from the human's side only (taxonomy §4). A session whose prompts hold nothing (a
    greeting, empty wrappers) got the model's level (2 here) from an LLM backend while the offline backend abstained:
    by-expertise figures then mixed guesses in. The level is now withheld, for cached answers as well."""
    replay = Replay().add("POST", CHAT, "openai_chat_ok.json")
    b = _backend(replay, tmp_path)
    (f,) = b.classify([sample_session(0, prompts=["hi", ""])])
    assert f.expertise is None and f.expertise_confidence == 0.0
    assert f.summary and f.outcome == "partial"  # the rest of the answer stands: not an abstention
    b2 = _backend(Replay(), tmp_path)  # the same digest from the cache
    (g,) = b2.classify([sample_session(0, prompts=["hi", ""])])
    assert b2.account.cache_hits == 1 and g.expertise is None
    (h,) = _backend(Replay().add("POST", CHAT, "openai_chat_ok.json"), tmp_path / "other").classify([sample_session(0)])
    assert h.expertise == 2  # a session with a request keeps the model's level
