"""``cluster`` with an LLM against servers that misbehave (bodies that are not the API's, errors that quote the
prompt, requests that never finish, runaway names) and against the Anthropic SDK itself: each failure is said
plainly, the previous tables stay, and what is released stays short and audited."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from codecensus.classify.llm import LLMError
from codecensus.cluster import hierarchy as H
from codecensus.cluster import naming as N
from codecensus.cluster.embed_stage import LexicalEmbedder
from codecensus.cluster.llm_text import TextLLM
from codecensus.store import Store
from local_server import LocalServer
from test_cluster_helpers import FakeLLM

pytest.importorskip("openai")
pytest.importorskip("anthropic")


def _chat(text: str) -> dict[str, Any]:
    return {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}


def _message(text: str) -> dict[str, Any]:
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 4, "output_tokens": 2}}


class _Server(LocalServer):
    """A local server for /v1/chat/completions and /v1/messages; ``mode`` picks how it answers."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json",
                      retry_after: str | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._send(200, json.dumps({"object": "list", "data": [{"id": "m", "object": "model"}]}).encode())

            def do_POST(self) -> None:
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                outer.requests.append(req)
                prompt = req["messages"][0]["content"]
                mode = outer.mode
                if mode == "hang":
                    outer.release.wait(60)
                    return
                if mode == "html":
                    return self._send(200, b"<html>Welcome to nginx</html>", "text/html")
                if mode == "list":
                    return self._send(200, b"[1, 2]")
                if mode == "no_choices":
                    return self._send(200, b'{"error": "model is loading"}')
                if mode == "empty":  # a model that answers nothing (null content)
                    return self._send(200, json.dumps(_chat("")).encode())
                if mode.startswith("429:"):  # "429:SECONDS" always, "429:SECONDS:once" on the first request only
                    _, wait, *once = mode.split(":")
                    if once:
                        outer.mode = "ok"
                    body = json.dumps({"error": {"message": "rate limited", "type": "rate_limit_error"}}).encode()
                    return self._send(429, body, retry_after=wait)
                if mode == "echo500":
                    return self._send(500, json.dumps({"error": {"message": f"bad input {prompt} END"}}).encode())
                text = "<summary>Users fixed tests.</summary><name>Fix failing tests</name>"
                body = _message(text) if self.path.endswith("/messages") else _chat(text)
                return self._send(200, json.dumps(body).encode())

        super().__init__(Handler)


@pytest.fixture
def server() -> Iterator[_Server]:
    with _Server() as s:
        yield s


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("html", "a body that is not JSON"),  # was AttributeError: 'str' object has no attribute 'choices'
        ("list", "JSON that is not a chat completion"),  # was AttributeError: 'list' object has no attribute …
        ("no_choices", "JSON that is not a chat completion"),  # was taken as an empty answer: all withheld, rc 0
    ],
)
def test_a_body_that_is_not_a_chat_completion_is_said_plainly(server: _Server, mode: str, said: str) -> None:
    server.mode = mode
    llm = TextLLM("openai", "m", base_url=server.url, max_retries=0)
    with pytest.raises(LLMError) as ei:
        llm("Name this cluster.")
    msg = str(ei.value)
    assert said in msg and f"{server.url}/v1" in msg and "--base-url" in msg


def test_a_server_error_quoting_the_prompt_is_cut_short(server: _Server) -> None:
    """The 500's whole text (the naming prompt with its 100 summaries) was printed."""
    server.mode = "echo500"
    llm = TextLLM("openai", "m", base_url=server.url, max_retries=0)
    with pytest.raises(LLMError) as ei:
        llm(N.name_prompt(["Fix the date parser for week 53 in the billing app."] * 50, ["Other work."] * 50))
    msg = str(ei.value)
    assert "HTTP 500: bad input" in msg and len(msg) < 500 and "END" not in msg


def test_timeout_and_max_retries_bound_a_hung_server(server: _Server) -> None:
    """The adapter had the SDK's 600 s timeout and 6 retries (70 minutes on a hung server) and no option."""
    server.mode = "hang"
    llm = TextLLM("openai", "m", base_url=server.url, timeout_s=1.0, max_retries=1)
    t0 = time.monotonic()
    with pytest.raises(LLMError, match=r"timed out .* after 2 attempts.*--timeout"):
        llm("Name this cluster.")
    # 3.3 s measured (two 1 s timeouts and a backoff with jitter); without the timeout the server answers after 60 s
    assert time.monotonic() - t0 < 30 and len(server.requests) == 2
    assert llm.describe()["timeout_s"] == 1.0 and llm.describe()["max_retries"] == 1


@pytest.mark.parametrize("backend", ["openai", "anthropic"])
def test_a_far_retry_after_stops_at_once_as_in_classify(server: _Server, backend: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """429 with Retry-After: 86400. With Anthropic the SDK slept the whole day (the call still waiting after
    120 s, 1 request); with OpenAI its message said 'after 7 attempts' for 1 request and not why it stopped."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    server.mode = "429:86400"
    llm = TextLLM(backend, "m", base_url=server.url + ("/v1" if backend == "openai" else ""))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            llm("Name this cluster.")
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            errors.append(exc)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(15)
    assert not worker.is_alive(), "still waiting out the server's Retry-After"
    assert len(server.requests) == 1 and len(errors) == 1 and isinstance(errors[0], LLMError)
    msg = str(errors[0])
    assert "asks to wait 86400 s (24.0 h)" in msg and "HTTP 429: rate limited" in msg
    assert "run the same command again later" in msg and "attempts" not in msg


def test_a_short_retry_after_is_waited_then_retried(server: _Server) -> None:
    """A Retry-After within classify's cap is waited (at least what the server asks) and the call retried."""
    server.mode = "429:2:once"
    llm = TextLLM("openai", "m", base_url=server.url)
    waits: list[float] = []
    llm._sleep = waits.append
    assert N.parse_name_answer(llm("Name this cluster.")) == ("Fix failing tests", "Users fixed tests.")
    assert len(server.requests) == 2 and len(waits) == 1 and 2.0 <= waits[0] <= 60.0


def test_anthropic_backend_works_with_the_sdk(server: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every naming call failed: TypeError Messages.create() got an unexpected keyword argument 'temperature'."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    llm = TextLLM("anthropic", base_url=server.url, max_retries=0)
    assert N.parse_name_answer(llm("Name this cluster.")) == ("Fix failing tests", "Users fixed tests.")
    assert "temperature" not in server.requests[0]  # current models take no sampling parameters
    assert llm.describe()["account"] == {"calls": 1, "input_tokens": 4, "output_tokens": 2}


def test_anthropic_without_a_key_is_said_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key: a TypeError traceback ('Could not resolve authentication method') after embedding and k-means."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    with pytest.raises(ValueError, match="ANTHROPIC_API_KEY"):
        TextLLM("anthropic")


# -- the hierarchizer and the names --------------------------------------------------------------


def test_hierarchy_with_the_lexical_embedder_survives_unusable_assignments() -> None:
    """With --embedder lexical (fitted per call), an assignment answer that named no parent fell back to
    comparing child and parent vectors from two fits: ValueError matmul … (size 14 is different from 7)."""
    names = [f"Fix {w} tests in web apps" for w in ("Django", "Flask", "React", "Vue", "Rust", "Go", "SQL", "Java")]
    descs = [f"Users fixed {n.split()[1]} test suites and fixtures in their projects." for n in names]
    res = H.llm_level(FakeLLM(garbage=True), names, descs, LexicalEmbedder().encode, target=3)
    assert len(res.parent_of) == len(names) and all(0 <= p < len(res.names) for p in res.parent_of)


def test_a_rename_answer_that_cleans_to_nothing_keeps_the_proposal_name() -> None:
    """'<name>""</name>' became a parent named '' (marked renamed, so released with an empty name)."""

    def complete(prompt: str) -> str:
        if prompt.startswith(H.RENAME_PROMPT[:40]):
            return '<summary>S.</summary><name>""</name>'
        if prompt.startswith(H.PROPOSE_PROMPT[:40]):
            return "<answer>1. Fix web app tests</answer>"
        return "<answer>Fix web app tests</answer>"

    res = H.llm_level(complete, ["Fix Django tests", "Fix Flask tests"], ["", ""], LexicalEmbedder().encode, 1)
    assert res.names == ["Fix web app tests"] and res.renamed == [False]


def test_runaway_names_and_descriptions_are_cut() -> None:
    """A 100,000-character name (ten 'words' of a runaway answer) was stored, released and printed whole."""
    got = N.parse_name_answer(f"<summary>{'Users fixed tests. ' * 2}{'y' * 50_000}</summary>"
                              f"<name>Fix {'x' * 100_000}</name>")
    assert got is not None
    name, desc = got
    assert len(name) <= N.MAX_NAME_CHARS and name.startswith("Fix xxx") and name.endswith("…")
    assert len(desc) <= N.MAX_DESCRIPTION_CHARS
    words = N.clean_name("Fix failing pytest suites in Django web apps with fixtures " + "z" * 200)
    assert len(words) <= N.MAX_NAME_CHARS and words.startswith("Fix failing pytest suites")
    assert H.parse_list("<answer>1. " + "Build " * 5 + "q" * 5000 + "</answer>")[0].endswith("…")


# -- the command ---------------------------------------------------------------------------------


def _store(path: Path) -> Path:
    n = 120
    topics = ["Fix failing pytest tests in a Django app", "Build React form components with hooks",
              "Set up Docker deployment for Node services", "Write SQL queries for monthly sales reports"]
    with Store(path) as st:
        keys = [f"s{i}" for i in range(n)]
        st.replace_table("facets", pa.table({
            "session_key": keys, "summary": [f"{topics[i % 4]} and {('logs', 'docs', 'tests')[i % 3]}" for i in range(n)],
            "mode": ["fix"] * n, "outcome": ["success"] * n, "expertise": [3] * n}))
        st.replace_table("sessions", pa.table({"session_key": keys, "session_id": keys,
                                               "user": [f"u{i % 30}" for i in range(n)]}))
    return path


def _cluster(*args: str) -> Any:
    from codecensus.cli import app

    return CliRunner().invoke(app, ["cluster", "--embedder", "lexical", "--show", "0", *args])


def test_cli_timeout_stops_a_hung_server_and_keeps_the_previous_tables(server: _Server, tmp_path: Path) -> None:
    db = _store(tmp_path / "c.duckdb")
    assert _cluster("--db", str(db)).exit_code == 0
    with Store(db, read_only=True) as st:
        before = st.query("SELECT * FROM clusters ORDER BY cluster_id").to_pylist()
    server.mode = "hang"
    t0 = time.monotonic()
    r = _cluster("--db", str(db), "--backend", "openai", "--model", "m", "--base-url", server.url,
                 "--timeout", "1", "--max-retries", "0")
    assert r.exit_code == 1, r.output
    said = " ".join(r.output.split())
    assert "LLM call failed, nothing written" in said and "timed out" in said and "Traceback" not in said
    assert time.monotonic() - t0 < 30
    with Store(db, read_only=True) as st:
        assert st.query("SELECT * FROM clusters ORDER BY cluster_id").to_pylist() == before


def test_cli_request_options_need_an_llm_backend(tmp_path: Path) -> None:
    db = _store(tmp_path / "c.duckdb")
    r = _cluster("--db", str(db), "--timeout", "5")
    assert r.exit_code == 2 and "--timeout applies to the LLM backends" in " ".join(r.output.split())


def test_cli_says_when_the_llm_never_gave_a_usable_name(server: _Server, tmp_path: Path) -> None:
    """A server answering empty text ran "successfully": every name was an offline one (or withheld) without a
    word that no answer of the LLM had been read."""
    db = _store(tmp_path / "c.duckdb")
    server.mode = "empty"
    r = _cluster("--db", str(db), "--backend", "openai", "--model", "m", "--base-url", server.url, "--no-llm-audit")
    said = " ".join(r.output.split())
    assert r.exit_code == 0, said
    assert "The LLM gave no usable name in" in said and "every name is an offline one" in said
    server.mode = "ok"
    r = _cluster("--db", str(db), "--backend", "openai", "--model", "m", "--base-url", server.url, "--no-llm-audit")
    assert r.exit_code == 0 and "no usable name" not in " ".join(r.output.split())
