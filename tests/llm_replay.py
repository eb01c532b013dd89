"""Test helpers for the LLM backends: replay recorded API responses, build sample sessions."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codecensus.classify.base import ActionEvidence, SessionEvidence

if TYPE_CHECKING:
    import httpx2

FIXTURES = Path(__file__).parent / "fixtures" / "llm"


def fixture(name: str) -> Any:
    path = FIXTURES / name
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return json.loads(path.read_text())


Responder = Callable[["httpx2.Request"], "httpx2.Response"]


class Replay:
    """An httpx2 MockTransport handler: per (method, path), a queue of recorded responses.

    Every request is recorded (``requests``); a request with no queued response fails the test.
    """

    def __init__(self) -> None:
        self.queues: dict[tuple[str, str], deque[Responder]] = defaultdict(deque)
        self.requests: list[httpx2.Request] = []

    def add(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> Replay:
        if isinstance(body, str) and body.endswith((".json", ".jsonl")):
            body = fixture(body)

        def respond(request: httpx2.Request) -> httpx2.Response:
            import httpx2

            return httpx2.Response(status, json=body, headers=headers or {})

        for _ in range(times):
            self.queues[(method, path)].append(respond)
        return self

    def add_fn(self, method: str, path: str, fn: Responder, *, times: int = 1) -> Replay:
        for _ in range(times):
            self.queues[(method, path)].append(fn)
        return self

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        q = self.queues.get((request.method, request.url.path))
        if not q:
            raise AssertionError(f"unexpected request {request.method} {request.url.path}")
        return q.popleft()(request)

    def client(self) -> httpx2.Client:
        import httpx2

        return httpx2.Client(transport=httpx2.MockTransport(self))

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path == path]

    def pending(self) -> int:
        return sum(len(q) for q in self.queues.values())


class IdentityRedactor:
    """Test redactor that only masks one marker word (counts calls)."""

    def __init__(self) -> None:
        self.calls = 0

    def redact(self, text: str) -> str:
        self.calls += 1
        return text.replace("SECRETWORD", "[SECRET]")


def sample_session(i: int = 0, *, prompts: list[str] | None = None, n_actions: int = 6) -> SessionEvidence:
    """A small synthetic session (no real transcript text)."""
    ps = prompts or [
        f"The date parser in utils/dates.py fails on ISO week dates (case {i}). Fix it and run the tests.",
        "Good, now commit it.",
    ]
    acts = [
        ActionEvidence(tool="Read", category="read", file_path="/repo/utils/dates.py", prompt_index=0),
        ActionEvidence(tool="Grep", category="search", command="grep -n parse_week utils", prompt_index=0),
        ActionEvidence(tool="Edit", category="edit", file_path="/repo/utils/dates.py", prompt_index=0),
        ActionEvidence(
            tool="Bash", category="shell", command="pytest -q tests/test_dates.py", is_test=True,
            test_status="fail", is_error=True, result_head="1 failed, 11 passed: AssertionError week 53",
            prompt_index=0,
        ),
        ActionEvidence(tool="Edit", category="edit", file_path="/repo/utils/dates.py", prompt_index=0),
        ActionEvidence(
            tool="Bash", category="shell", command="pytest -q tests/test_dates.py", is_test=True,
            test_status="pass", result_head="12 passed in 0.31s", prompt_index=0,
        ),
        ActionEvidence(
            tool="Bash", category="shell", command='git commit -am "Fix ISO week parsing"', is_commit=True,
            prompt_index=1,
        ),
    ][:n_actions + 1]
    replies = [
        "I'll look at the parser first.",
        f"Fixed: week 53 is now handled (variant {i}). All 12 tests pass.",
        "Committed.",
    ]
    return SessionEvidence(
        session_key=f"s{i}",
        session_id=f"id{i}",
        source="claude_code",
        shape={"duration_s": 600.0, "prompts": len(ps), "actions": len(acts), "test_runs": 2, "commits": 1},
        prompts=ps,
        prompt_ts=[None] * len(ps),
        replies=replies,
        actions=acts,
        reply_prompt_index=[0, 0, 1],
    )
