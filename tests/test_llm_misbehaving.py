"""LLM backends against servers that misbehave: bodies that are not the API's, errors that quote the request,
requests that never finish, a server that rejects everything. Each failure is said plainly, nothing half is
stored, and a re-run goes on from where the run stopped."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from codecensus.classify.cache import LLMCache
from codecensus.classify.llm import LLMError, make_backend
from codecensus.classify.run import classify_store
from genstore import generated_store
from llm_replay import IdentityRedactor, Replay, fixture, sample_session
from local_server import ChatServer, closed_url

pytest.importorskip("openai")

if TYPE_CHECKING:
    import httpx2

    from codecensus.classify.llm import LLMBackend

CHAT = "/v1/chat/completions"
MSG = "/v1/messages"
QUICK: dict[str, Any] = {"backoff_base_s": 0.0, "sleep": lambda s: None, "rng": random.Random(0)}


def _openai(replay: Replay, **kw: Any) -> LLMBackend:
    opts: dict[str, Any] = {"http_client": replay.client(), "redactor": IdentityRedactor(), "concurrency": 1,
                            "cache": False, **QUICK, **kw}
    return make_backend("openai", "m", base_url="http://127.0.0.1:8765", **opts)  # type: ignore[return-value]


def _raw(status: int, content: bytes, content_type: str) -> Callable[[httpx2.Request], httpx2.Response]:
    def respond(request: httpx2.Request) -> httpx2.Response:
        import httpx2

        return httpx2.Response(status, content=content, headers={"content-type": content_type})

    return respond


@pytest.mark.parametrize(
    ("content", "content_type", "said"),
    [
        (b"<html><body>Welcome to nginx</body></html>", "text/html", "a body that is not JSON"),
        (b"<html>oops</html>", "application/json", "a body that is not JSON"),
        (b"[1, 2]", "application/json", "JSON that is not a chat completion"),
    ],
)
def test_a_body_that_is_not_a_chat_completion_stops_with_a_plain_message(
    content: bytes, content_type: str, said: str
) -> None:
    """An HTTP 200 that is a web page (a --base-url pointing at a web UI or a proxy) ended in a traceback:
    AttributeError: 'str' object has no attribute 'choices', json's JSONDecodeError, or 'list' has no 'choices'."""
    b = _openai(Replay().add_fn("POST", CHAT, _raw(200, content, content_type)))
    with pytest.raises(LLMError) as ei:
        b.classify([sample_session(0)])
    msg = str(ei.value)
    assert said in msg and "http://127.0.0.1:8765/v1" in msg and "--base-url" in msg
    assert ei.value.partial == [None]  # the session stays unclassified, and the run can go on later
    assert b.account.calls == 0 and b.account.retries == 0  # not retried: the next answer would be the same


def test_anthropic_a_body_that_is_not_a_message_stops_with_a_plain_message(tmp_path: Path) -> None:
    """Same for the Anthropic backend (AttributeError: 'str' object has no attribute 'content')."""
    replay = Replay().add_fn("POST", MSG, _raw(200, b"<html>proxy login</html>", "text/html"))
    b = make_backend("anthropic", "claude-haiku-4-5", base_url="http://127.0.0.1:8766", api_key="k", cache=False,
                     http_client=replay.client(), redactor=IdentityRedactor(), concurrency=1, **QUICK)
    with pytest.raises(LLMError, match="not JSON.*--base-url"):
        b.classify([sample_session(0)])


def test_server_errors_that_quote_the_request_are_cut_short() -> None:
    """A server quoting the whole request in its 500 put the session's digest (thousands of characters) into
    the run's 'stopped early' line, on the terminal and in the manifest."""

    def echo(request: httpx2.Request) -> httpx2.Response:
        import httpx2

        quoted = json.dumps(json.loads(request.content)["messages"])
        return httpx2.Response(500, json={"error": {"message": f"failed on input {quoted} END-OF-REQUEST"}})

    b = _openai(Replay().add_fn("POST", CHAT, echo), max_retries=0)
    with pytest.raises(LLMError) as ei:
        b.classify([sample_session(0, prompts=["The date parser fails on week 53. " * 40])])
    msg = str(ei.value)
    assert "HTTP 500: failed on input" in msg
    assert len(msg) < 400 and "END-OF-REQUEST" not in msg and "week 53. The date parser" not in msg


def test_unreachable_server_is_named_with_the_reason() -> None:
    """'APIConnectionError: Connection error.' named neither the server nor the reason."""
    url = closed_url()
    b = make_backend("openai", "m", base_url=url, cache=False, redactor=IdentityRedactor(), max_retries=0,
                     timeout_s=2.0)
    with pytest.raises(LLMError) as ei:
        b.classify([sample_session(0)])
    assert f"{url}/v1" in str(ei.value) and "refused" in str(ei.value).lower()


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("llm_gen")
    generated_store(root, users=3, sessions=6, seed=5).close()
    return root / "db.duckdb"


def _fresh(store_path: Path, tmp_path: Path) -> Path:
    db = tmp_path / "db.duckdb"
    db.write_bytes(store_path.read_bytes())
    return db


def test_a_server_that_rejects_everything_stores_nothing_and_a_rerun_classifies_all(
    store_path: Path, tmp_path: Path
) -> None:
    """The 'rejected every request' stop had no partial results: classify ended in a traceback (LLMError)."""
    from codecensus.store import Store

    db = _fresh(store_path, tmp_path)
    with Store(db) as st:
        n = st.one("SELECT count(*) FROM sessions")[0]  # type: ignore[index]
        bad = _openai(Replay().add("POST", CHAT, "openai_error_400.json", status=400, times=n), concurrency=2,
                      cache=LLMCache(st))
        stats = classify_store(st, bad, redact=lambda s: s)
        assert stats.stopped is not None and "rejected every request" in stats.stopped
        assert stats.classified == 0 and not st.one("SELECT count(*) FROM facets")[0]  # type: ignore[index]
        good = _openai(Replay().add("POST", CHAT, "openai_chat_ok.json", times=n), cache=LLMCache(st))
        stats = classify_store(st, good, redact=lambda s: s)
        assert stats.stopped is None and stats.classified == n and good.account.calls == n


def test_abstentions_are_counted_apart_and_in_no_mode(store_path: Path, tmp_path: Path) -> None:
    """Sessions whose answer failed validation twice were shown as 'modes: build N' (the placeholder's mode)."""
    from codecensus.store import Store

    malformed = "openai_chat_malformed.json"
    with Store(_fresh(store_path, tmp_path)) as st:
        b = _openai(Replay().add("POST", CHAT, "openai_chat_ok.json").add("POST", CHAT, malformed, times=4),
                    cache=LLMCache(st))
        stats = classify_store(st, b, limit=3, redact=lambda s: s)
    assert stats.classified == 3 and stats.abstained == 2
    assert stats.by_mode == {"fix": 1}


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as s:
        yield s


def test_ctrl_c_ends_at_once_and_a_rerun_completes(server: ChatServer, store_path: Path, tmp_path: Path) -> None:
    """Ctrl-C while requests were in flight waited for them (up to the 300 s request timeout; 27 s measured
    against a server answering in 30 s) and then ended with no word."""
    db = _fresh(store_path, tmp_path)
    cmd = [sys.executable, "-m", "codecensus", "classify", "--backend", "openai", "--base-url", server.url,
           "--model", "m", "--db", str(db)]
    # faulthandler: a run that does not end after Ctrl-C is stopped with SIGABRT below, which prints every thread's
    # stack (once, in a full fresh-clone run of 1,596 tests, the process had not ended 90 s after Ctrl-C; not
    # reproduced since: the stacks say where the interrupt was lost)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "PYTHONFAULTHANDLER": "1"}
    # A test run started in the background by a shell without job control ignores SIGINT, and the child inherits
    # that: Python then installs no KeyboardInterrupt handler and Ctrl-C does nothing (the cause of this test's
    # failures in backgrounded `make test` runs). The child gets SIGINT's default back, as in a terminal.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # 8-24 s measured on a busy 2-core machine (start-up, reading, redaction), so 60 s was close: the deadline
        # only bounds a hang, and stays below the 120 s after which the server answers
        deadline = time.monotonic() + 100
        while server.requests < 4 and time.monotonic() < deadline:  # four requests in flight, none answered
            time.sleep(0.05)
        assert server.requests >= 4
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        # 1.5 s measured; the bounds leave a busy 2-core machine room and still fail on the old wait (the server
        # here answers after 120 s)
        try:
            _, err = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            _, err = proc.communicate(timeout=30)
            pytest.fail(f"classify had not ended 90 s after Ctrl-C; its threads:\n{err[-8000:]}")
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and took < 30, (proc.returncode, took)
    assert "interrupted" in err and "run the same command again" in " ".join(err.split())
    assert "Traceback" not in err
    server.release.set()
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    from codecensus.store import Store

    with Store(db, read_only=True) as st:
        assert st.one("SELECT count(*) FROM facets")[0] == st.one("SELECT count(*) FROM sessions")[0]  # type: ignore[index]


def _manifest(db: Path) -> dict[str, Any]:
    from codecensus.store import Store

    with Store(db, read_only=True) as st:
        row = st.one("SELECT * FROM runs WHERE command = 'classify' ORDER BY 3 DESC LIMIT 1")
    assert row is not None
    return json.loads(row[-1])  # type: ignore[no-any-return]


def _count(db: Path, sql: str) -> int:
    from codecensus.store import Store

    with Store(db, read_only=True) as st:
        return int(st.one(sql)[0])  # type: ignore[index]


_FAR = [
    {"retry-after": "86400"},
    {"retry-after": "Wed, 21 Oct 2099 07:28:00 GMT"},  # an HTTP date was read as no Retry-After at all
    {"retry-after-ms": "3600000"},
]


@pytest.mark.parametrize("headers", _FAR, ids=["seconds", "http-date", "ms"])
def test_a_retry_after_far_beyond_what_a_run_waits_stops_at_once(
    headers: dict[str, str], store_path: Path, tmp_path: Path
) -> None:
    """'Retry-After: 86400' was capped at 60 s and the request retried 6 times (6 minutes asleep per session)
    before the run gave up. Now the run stops at the first such answer with the wait the server asked for; the
    sessions answered before are stored and a re-run classifies only the rest."""
    from codecensus.store import Store

    sleeps: list[float] = []
    replay = (Replay().add("POST", CHAT, "openai_chat_ok.json", times=2)
              .add("POST", CHAT, {"error": {"message": "rate limit reached"}}, status=429, headers=headers, times=8))
    with Store(_fresh(store_path, tmp_path)) as st:
        n = st.one("SELECT count(*) FROM sessions")[0]  # type: ignore[index]
        b = _openai(replay, cache=LLMCache(st), sleep=sleeps.append, backoff_base_s=1.0)
        stats = classify_store(st, b, redact=lambda s: s)
        assert sleeps == [] and len(replay.requests) == 3
        assert stats.stopped is not None and stats.classified == 2
        said = " ".join(stats.stopped.split())
        assert "the server asks to wait" in said and "(HTTP 429: rate limit reached)" in said
        assert "run the same command again later" in said
        assert st.one("SELECT count(*) FROM facets")[0] == 2  # type: ignore[index]
        again = _openai(Replay().add("POST", CHAT, "openai_chat_ok.json", times=n), cache=LLMCache(st))
        stats = classify_store(st, again, redact=lambda s: s)
        assert stats.stopped is None and again.account.calls == n - 2
        assert st.one("SELECT count(*) FROM facets")[0] == n  # type: ignore[index]


def test_a_retry_after_within_what_a_run_waits_is_still_waited(tmp_path: Path) -> None:
    sleeps: list[float] = []
    replay = (Replay().add("POST", CHAT, {"error": {"message": "slow down"}}, status=429,
                           headers={"retry-after": "200"})
              .add("POST", CHAT, "openai_chat_ok.json"))
    b = _openai(replay, sleep=sleeps.append)
    (f,) = b.classify([sample_session(0)])
    assert f.mode == "fix" and sleeps == [60.0]  # capped at backoff_cap_s, as before


def test_message_batches_stop_at_a_far_retry_after(tmp_path: Path) -> None:
    sleeps: list[float] = []
    replay = Replay().add("POST", "/v1/messages/batches", {"type": "error", "error": {"type": "rate_limit_error",
                          "message": "too many batches"}}, status=429, headers={"retry-after": "7200"}, times=7)
    b = make_backend("anthropic", "claude-haiku-4-5", api_key="k", cache=False, http_client=replay.client(),
                     redactor=IdentityRedactor(), batch=True, batch_min=2, **{**QUICK, "sleep": sleeps.append})
    with pytest.raises(LLMError, match=r"asks to wait 7200 s \(2.0 h\)") as ei:
        b.classify([sample_session(i) for i in range(3)])
    assert sleeps == [] and len(replay.requests) == 1 and ei.value.partial == [None, None, None]


def _raw_fn(content: bytes, content_type: str) -> Callable[[httpx2.Request], httpx2.Response]:
    return _raw(200, content, content_type)


@pytest.mark.parametrize(
    ("where", "content", "content_type", "said"),
    [
        ("create", b"<html>proxy login</html>", "text/html", "a body that is not JSON"),
        ("create", b"[1, 2]", "application/json", "JSON that is not a message batch"),
        ("retrieve", b"<html>proxy login</html>", "text/html", "a body that is not JSON"),
        ("results", b"<html>proxy login</html>", "text/html", "a body that is not JSON"),
        ("results", b"[1, 2]\n", "application/binary", "results that are not batch results"),
    ],
)
def test_message_batches_a_body_that_is_not_the_api_stops_with_a_plain_message(
    where: str, content: bytes, content_type: str, said: str
) -> None:
    """The --batch path had no check: AttributeError 'str'/'list' object has no attribute 'processing_status' or
    'custom_id', or json's JSONDecodeError, as a traceback."""
    batch = fixture("anthropic_batch_in_progress.json")
    bid = batch["id"]
    replay = Replay()
    if where == "create":
        replay.add_fn("POST", "/v1/messages/batches", _raw_fn(content, content_type))
    else:
        replay.add("POST", "/v1/messages/batches", batch)
        if where == "retrieve":
            replay.add_fn("GET", f"/v1/messages/batches/{bid}", _raw_fn(content, content_type))
        else:
            replay.add("GET", f"/v1/messages/batches/{bid}", "anthropic_batch_ended.json", times=2)
            replay.add_fn("GET", f"/v1/messages/batches/{bid}/results", _raw_fn(content, content_type))
    b = make_backend("anthropic", "claude-haiku-4-5", base_url="http://127.0.0.1:8766", api_key="k", cache=False,
                     http_client=replay.client(), redactor=IdentityRedactor(), batch=True, batch_min=2, **QUICK)
    with pytest.raises(LLMError) as ei:
        b.classify([sample_session(i) for i in range(3)])
    msg = str(ei.value)
    assert said in msg and "http://127.0.0.1:8766" in msg and "--base-url" in msg
    assert ei.value.partial == [None, None, None]
    assert b.account.calls == 0 and b.account.retries == 0 and b.account._reserved == pytest.approx(0)


def _cli(*args: str) -> Any:
    from typer.testing import CliRunner

    from codecensus.cli import app

    return CliRunner().invoke(app, ["classify", *args])


def test_concurrency_bounds_the_requests_in_flight(server: ChatServer, store_path: Path, tmp_path: Path) -> None:
    """--concurrency was passed to Ray only: the local LLM run kept its default of 4 requests in flight."""
    db = _fresh(store_path, tmp_path)
    server.hold = 0.3
    server.release.set()
    r = _cli("--backend", "openai", "--base-url", server.url, "--model", "m", "--db", str(db), "--concurrency", "2")
    assert r.exit_code == 0, r.output
    assert server.max_in_flight == 2, server.max_in_flight
    assert _count(db, "SELECT count(*) FROM facets") == _count(db, "SELECT count(*) FROM sessions")
    assert _manifest(db)["backend"]["concurrency"] == 2


def test_timeout_and_max_retries_bound_a_hung_server(server: ChatServer, store_path: Path, tmp_path: Path) -> None:
    """A server that never answers held each request 300 s and retried it 6 times (about 35 minutes) and the
    CLI could not change that. --timeout 1 --max-retries 1: the run stops in seconds, naming the timeout."""
    db = _fresh(store_path, tmp_path)
    t0 = time.monotonic()
    r = _cli("--backend", "openai", "--base-url", server.url, "--model", "m", "--db", str(db), "--limit", "2",
             "--timeout", "1", "--max-retries", "1")
    took = time.monotonic() - t0
    assert r.exit_code == 1, r.output
    said = " ".join(r.output.split())
    assert "giving up after 2 attempts" in said and "timed out" in said.lower()
    # 5.3-9.0 s measured at load 5-7 on 2 cores (2.1 s of it CPU), so 15 s was close; a run without the timeout
    # takes over 120 s (the server answers then)
    assert took < 60 and server.requests == 4  # 2 sessions x 2 attempts
    assert _count(db, "SELECT count(*) FROM facets") == 0
    backend = _manifest(db)["backend"]
    assert backend["timeout_s"] == 1.0 and backend["max_retries"] == 1


_LOCAL = ["--backend", "openai", "--model", "m", "--base-url", closed_url()]  # nothing listens


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--timeout", "30"], "--timeout applies to the LLM backends"),
        (["--max-retries", "2", "--timeout", "30"], "--timeout, --max-retries apply to the LLM backends"),
        (["--concurrency", "3"], "--workers"),  # ran offline, ignoring it
        ([*_LOCAL, "--timeout", "0"], "--timeout"),
        ([*_LOCAL, "--max-retries", "-1"], "--max-retries"),
        ([*_LOCAL, "--concurrency", "0"], "--concurrency"),  # ran with 1
        (["--no-ner"], "--ner/--no-ner applies to the LLM backends"),
        (["--price-in", "1", "--price-out", "2"], "--price-in, --price-out apply to the LLM backends"),
        ([*_LOCAL, "--price-in", "1"], "give both --price-in and --price-out"),
        ([*_LOCAL, "--price-out", "-1", "--price-in", "1"], "Invalid value for '--price-out'"),
        # offline, --budget-usd was ignored without a word; NaN ran with no limit, a negative one stopped at once
        (["--budget-usd", "5"], "--budget-usd applies to the LLM backends"),
        (["--budget-usd", "5", "--timeout", "30"], "--budget-usd, --timeout apply to the LLM backends"),
        ([*_LOCAL, "--budget-usd", "nan"], "--budget-usd must be a finite number of USD, 0 or more"),
        ([*_LOCAL, "--budget-usd", "-1"], "--budget-usd must be a finite number of USD, 0 or more"),
    ],
)
def test_request_options_are_checked(args: list[str], said: str, store_path: Path, tmp_path: Path) -> None:
    db = _fresh(store_path, tmp_path)
    r = _cli("--db", str(db), "--embedder", "none", *args)
    assert r.exit_code == 2, r.output
    assert said in " ".join(r.output.split())
    assert _count(db, "SELECT count(*) FROM sessions") > 0
    from codecensus.store import Store

    with Store(db, read_only=True) as st:
        assert not st.table_exists("facets")


def test_ray_engine_gets_the_llm_request_options(monkeypatch: pytest.MonkeyPatch, store_path: Path,
                                                 tmp_path: Path) -> None:
    """classify --engine ray --backend openai|anthropic dropped --budget-usd: docs/ray.md says it is split
    between the actors, but no actor had a budget."""
    from codecensus.classify.run import ClassifyStats
    from codecensus.engine import ray_engine
    from codecensus.engine.tasks import ClassifyWorker

    seen: dict[str, Any] = {}

    def fake_ray_classify(store: object, backend: str, **kw: Any) -> ClassifyStats:
        seen.update(kw, backend=backend)
        return ClassifyStats("openai", "m", "h")

    monkeypatch.setattr(ray_engine, "ray_classify", fake_ray_classify)
    db = _fresh(store_path, tmp_path)
    ray = ["--backend", "openai", "--base-url", closed_url(), "--model", "m", "--db", str(db), "--engine", "ray"]
    r = _cli(*ray, "--budget-usd", "0.5")
    assert r.exit_code == 0, r.output
    assert seen.get("budget_usd") == 0.5
    r = _cli(*ray, "--timeout", "9", "--max-retries", "2", "--concurrency", "3")
    assert r.exit_code == 0, r.output
    assert (seen["budget_usd"], seen["timeout_s"], seen["max_retries"], seen["concurrency"]) == (None, 9.0, 2, 3)
    actor = ClassifyWorker("openai", model="m", base_url=closed_url(), budget_usd=0.25, timeout_s=9.0,
                           max_retries=2).backend
    d = actor.describe()  # type: ignore[attr-defined]
    assert (d["timeout_s"], d["max_retries"], d["account"]["budget_usd"], d["concurrency"]) == (9.0, 2, 0.25, 1)
    r = _cli(*ray, "--no-ner")
    assert r.exit_code == 0, r.output
    assert seen["ner"] is False
    actor = ClassifyWorker("openai", model="m", base_url=closed_url(), ner=False).backend
    assert actor.describe()["ner"] is False  # type: ignore[attr-defined]


def _said(r: Any) -> str:
    """The CLI's output as one line, the summary table's borders left out (a long cell wraps)."""
    return " ".join(r.output.replace("\u2502", " ").split())


def test_price_options_reach_the_backend_the_summary_and_the_manifest(
    server: ChatServer, store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The OpenAI-compatible backend took price_in/price_out, but classify had no option for them (its cost was 0
    on any server), and the summary said nothing of the cost."""
    from codecensus.classify.run import ClassifyStats
    from codecensus.engine import ray_engine

    server.release.set()
    db = _fresh(store_path, tmp_path)
    r = _cli("--backend", "openai", "--base-url", server.url, "--model", "m", "--db", str(db), "--limit", "2",
             "--price-in", "1.5", "--price-out", "6")
    assert r.exit_code == 0, r.output
    backend = _manifest(db)["backend"]
    assert backend["price_per_mtok"]["input"] == 1.5 and backend["price_per_mtok"]["output"] == 6
    acc = backend["account"]
    assert acc["calls"] == 2 and acc["input_tokens"] == 2 * 3120 and acc["output_tokens"] == 2 * 208
    assert acc["cost_usd"] == pytest.approx(2 * (3120 * 1.5 + 208 * 6) / 1e6)
    assert acc["cost"] == f"${acc['cost_usd']:.4f}" and f"LLM cost {acc['cost']} (2 calls" in _said(r)
    # Ray's actors get them too
    seen: dict[str, Any] = {}

    def fake_ray_classify(store: object, backend: str, **kw: Any) -> ClassifyStats:
        seen.update(kw)
        return ClassifyStats("openai", "m", "h")

    monkeypatch.setattr(ray_engine, "ray_classify", fake_ray_classify)
    r = _cli("--backend", "openai", "--base-url", server.url, "--model", "m", "--db", str(db), "--engine", "ray",
             "--price-in", "1.5", "--price-out", "6")
    assert r.exit_code == 0, r.output
    assert (seen["price_in"], seen["price_out"]) == (1.5, 6.0)


def test_an_unknown_price_is_said_unknown_in_the_summary_and_the_manifest(
    server: ChatServer, store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model with no price (here: model 'm' on a server taken for a remote one) was accounted at $0.00."""
    from codecensus.classify import llm_openai

    monkeypatch.setattr(llm_openai, "is_local", lambda url: False, raising=False)
    server.release.set()
    db = _fresh(store_path, tmp_path)
    r = _cli("--backend", "openai", "--base-url", server.url, "--model", "m", "--db", str(db), "--limit", "2")
    assert r.exit_code == 0, r.output
    said = "unknown (no price for model m; give --price-in/--price-out)"
    assert f"LLM cost {said} (2 calls; tokens 6,240 in, 416 out" in _said(r), _said(r)
    backend = _manifest(db)["backend"]
    acc = backend["account"]
    assert acc["cost_usd"] is None and acc["cost"] == said and acc["unpriced_calls"] == 2
    assert acc["input_tokens"] == 2 * 3120 and acc["output_tokens"] == 2 * 208  # the tokens are kept
    assert backend["price_per_mtok"] is None


def test_a_budget_without_a_price_refuses_to_start(
    store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--budget-usd with a model of unknown price ran with no limit at all (its calls cost 0 in the account); on
    Ray too. Now the run does not start (exit 2), naming the model and how to give a price."""
    from codecensus.classify import llm_openai
    from codecensus.classify.run import ClassifyStats
    from codecensus.engine import ray_engine
    from codecensus.store import Store

    monkeypatch.setattr(llm_openai, "is_local", lambda url: False, raising=False)  # nothing listens there anyway
    called: list[str] = []

    def fake_ray_classify(*a: Any, **kw: Any) -> ClassifyStats:
        called.append("ray")
        return ClassifyStats("openai", "m", "h")

    monkeypatch.setattr(ray_engine, "ray_classify", fake_ray_classify)
    db = _fresh(store_path, tmp_path)
    for engine in ("local", "ray"):
        r = _cli(*_LOCAL, "--db", str(db), "--budget-usd", "5", "--engine", engine, "--timeout", "1",
                 "--max-retries", "0")
        assert r.exit_code == 2, r.output
        said = _said(r)
        assert "Cannot start the openai backend" in said and "no price for model 'm'" in said, said
        assert "--price-in/--price-out" in said
    assert not called
    with Store(db, read_only=True) as st:
        assert not st.table_exists("facets")
    # with a price it starts (and the budget holds at it)
    r = _cli(*_LOCAL, "--db", str(db), "--budget-usd", "5", "--price-in", "1", "--price-out", "2", "--engine", "ray")
    assert r.exit_code == 0 and called == ["ray"], r.output


def test_ray_refuses_a_budget_without_a_price_before_staging(tmp_path: Path) -> None:
    """ray_classify built its probe backend without the budget: each actor then ran with a budget it could not
    keep (its calls cost 0)."""
    from codecensus.engine.ray_engine import ray_classify
    from codecensus.store import Store

    with Store(tmp_path / "db.duckdb") as st, pytest.raises(ValueError, match="no price for model 'my-finetune'"):
        ray_classify(st, "openai", model="my-finetune", base_url="https://llm.example.com", budget_usd=1.0,
                     out=str(tmp_path / "parts"))
    assert not (tmp_path / "parts").exists()


def test_ray_actors_send_what_each_part_cost_and_it_adds_up_to_a_local_run(
    server: ChatServer, store_path: Path, tmp_path: Path
) -> None:
    """The Ray UDF (ClassifyParts, run here without a cluster, as two actors) returned no account: what each actor
    spent stayed in it. Each actor now keeps its account under the run's ``spend`` folder (its ledger: the Ray actor's
    id, given here), and those add up to the account of a local run of the same sessions with the same answers."""
    import pyarrow as pa

    from codecensus.classify.cache import Account
    from codecensus.classify.evidence import reading_order
    from codecensus.classify.run import select_sessions
    from codecensus.engine.ray_engine import write_evidence
    from codecensus.engine.tasks import ClassifyParts, spent_by_actors
    from codecensus.store import Store

    server.release.set()
    opts: dict[str, Any] = {"model": "m", "base_url": server.url, "ner": False, "price_in": 1.5, "price_out": 6.0}
    with Store(_fresh(store_path, tmp_path)) as st:
        local = make_backend("openai", cache=False, concurrency=1, **opts)
        classify_store(st, local, limit=7, batch_size=2, force=True)
        keys, _, _ = select_sessions(st, backend="openai", model="m", rubric_hash=local.rubric_hash, limit=7,
                                     force=True)
        run = str(tmp_path / "run")
        parts = write_evidence(st, keys, run, batch_size=2, order=reading_order("openai"))
    assert len(parts) >= 2  # parts for both actors
    actors = [ClassifyParts("openai", out=run, budget_usd=2.5, ledger=f"actor{i}", **opts) for i in range(2)]
    total = Account(budget_usd=5.0)
    for i, part in enumerate(parts):
        (status,) = actors[i % 2](pa.table({"part": [part]})).to_pylist()
        assert status["rows"] > 0 and status["stopped"] is None
    spent = spent_by_actors(run)
    assert len(spent) == 2
    for counts in spent:
        total.add(counts)
    want, got = local.account.as_dict(), total.as_dict()
    assert want["calls"] > 2 and want["cost_usd"] > 0
    for k in ("calls", "sessions", "input_tokens", "output_tokens", "repairs", "retries", "abstentions",
              "failures", "unpriced_calls", "condensed_tokens_median", "condensed_tokens_p90", "cost"):
        assert got[k] == want[k], k
    assert got["cost_usd"] == pytest.approx(want["cost_usd"])
    assert sum(a.backend.account.calls for a in actors) == total.calls  # nothing counted twice


def test_batch_option_reaches_the_anthropic_backend(monkeypatch: pytest.MonkeyPatch, store_path: Path,
                                                    tmp_path: Path) -> None:
    """The README offered `--batch` for Message Batches, but classify had no such option ("No such option")."""
    from codecensus.classify import run

    seen: dict[str, Any] = {}
    real = run.make_backend

    def spy(name: str, **kw: Any) -> Any:
        be = real(name, **kw)
        seen["batch"] = getattr(be, "batch", None)
        raise ValueError("stop here: no key is used")

    monkeypatch.setattr(run, "make_backend", spy)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    db = _fresh(store_path, tmp_path)
    r = _cli("--db", str(db), "--backend", "anthropic", "--batch")
    assert r.exit_code == 2 and "stop here" in r.output and seen == {"batch": True}
    r = _cli("--db", str(db), "--backend", "anthropic")
    assert seen == {"batch": False}
    for other in (_LOCAL, []):  # openai, offline
        r = _cli("--db", str(db), "--embedder", "none", *other, "--batch")
        assert r.exit_code == 2 and "--batch is for --backend anthropic" in " ".join(r.output.split()), r.output


def test_without_the_ner_model_an_llm_run_says_names_can_reach_the_llm(monkeypatch: pytest.MonkeyPatch,
                                                                      store_path: Path, tmp_path: Path) -> None:
    """The NER model finds people named without an introduction; without it an LLM run sent such names silently."""
    import codecensus.redact.engines as engines

    monkeypatch.setattr(engines, "ner_model_path", lambda: None)
    db = _fresh(store_path, tmp_path)
    r = _cli("--db", str(db), *_LOCAL, "--ner")
    assert r.exit_code == 2 and "--ner needs the NER model" in " ".join(r.output.split())
    r = _cli("--db", str(db), *_LOCAL, "--timeout", "1", "--max-retries", "0", "--limit", "1")
    assert "names of people written without an introduction" in " ".join(r.output.split())


def test_ctrl_c_delivered_to_a_request_thread_still_ends_the_wait() -> None:
    """The OS hands a process's SIGINT to any of its threads. When it went to a thread waiting on its HTTP answer,
    Python noted the signal but the main thread, blocked on the queue of answers, slept on until an answer came: a
    classify ran on 90 s after Ctrl-C (seen once in a full test run; the thread stacks showed the main thread in
    the queue's get). The main thread now wakes to see it."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even in a background run
    b = _openai(Replay(), concurrency=4)
    gate = threading.Event()

    def slow(text: str, first: Any = None) -> Any:  # a request that is not answered for 20 s
        gate.wait(20)
        raise RuntimeError("answered too late")

    b._solve = slow  # type: ignore[method-assign]

    def interrupt_a_request_thread() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            workers = [t for t in threading.enumerate() if t.name.startswith("llm-")]
            if len(workers) == 4:
                time.sleep(0.2)
                signal.pthread_kill(workers[0].ident, signal.SIGINT)  # type: ignore[arg-type]
                return
            time.sleep(0.01)

    threading.Thread(target=interrupt_a_request_thread, daemon=True).start()
    t0 = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            list(b._solve_many([(f"k{i}", f"digest {i}") for i in range(8)]))
        took = time.monotonic() - t0
    finally:
        gate.set()
        signal.signal(signal.SIGINT, old)
    assert took < 8, took  # before: ~20 s, when the first late answer woke the main thread
