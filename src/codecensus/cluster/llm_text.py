"""Plain-text LLM calls for cluster naming and the hierarchizer: ``complete(prompt) -> str``.

The classify backends (:mod:`codecensus.classify.llm`) are built around the facet rubric (a fixed
system prompt and a JSON answer schema), which Clio's naming prompts do not fit. This module wraps
the two official SDKs in the smallest useful adapter: one user message in, the text out, with the
SDK's own retries, a call/token account and an optional cap on calls. Clients are injectable
(tests pass fakes; callers may pass a configured client), so no credential lives in codecensus:
the SDKs read ``ANTHROPIC_API_KEY`` / ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` themselves.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

DEFAULT_ANTHROPIC_MODEL = "claude-haiku-4-5"
#: Clio ran cluster naming at T=1 and the auditor at T≈0; naming variety helps contrast.
NAMING_TEMPERATURE = 1.0


class CallLimitExceeded(RuntimeError):
    """More LLM calls than ``max_calls`` were needed."""


@dataclass(slots=True)
class TextAccount:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, tin: int, tout: int) -> None:
        with self._lock:
            self.calls += 1
            self.input_tokens += tin
            self.output_tokens += tout

    def as_dict(self) -> dict[str, int]:
        return {"calls": self.calls, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens}


class TextLLM:
    """``complete(prompt) -> str`` over the Anthropic Messages API or any OpenAI-compatible server."""

    def __init__(
        self,
        backend: str,
        model: str | None = None,
        *,
        client: Any = None,
        base_url: str | None = None,
        max_tokens: int = 1024,
        temperature: float = NAMING_TEMPERATURE,
        max_calls: int | None = None,
        max_retries: int = 6,
    ) -> None:
        if backend not in ("anthropic", "openai"):
            raise ValueError(f"unknown LLM backend {backend!r}: use 'anthropic' or 'openai'")
        self.backend = backend
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.max_calls = max_calls
        self.account = TextAccount()
        if client is None:
            client = _make_client(backend, base_url, max_retries)
        self.client = client
        if model is None:
            model = DEFAULT_ANTHROPIC_MODEL if backend == "anthropic" else _first_model(client)
        self.model = model

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model, "temperature": self.temperature,
                "max_tokens": self.max_tokens, "account": self.account.as_dict()}

    def __call__(self, prompt: str) -> str:
        if self.max_calls is not None and self.account.calls >= self.max_calls:
            raise CallLimitExceeded(f"more than {self.max_calls} LLM calls needed (raise --max-calls)")
        if self.backend == "anthropic":
            resp = self.client.messages.create(
                model=self.model, max_tokens=self.max_tokens, temperature=self.temperature,
                messages=[{"role": "user", "content": prompt}],
            )
            text = "".join(getattr(b, "text", "") for b in resp.content if getattr(b, "type", "text") == "text")
            u = getattr(resp, "usage", None)
            self.account.add(int(getattr(u, "input_tokens", 0) or 0), int(getattr(u, "output_tokens", 0) or 0))
            return text
        resp = self.client.chat.completions.create(
            model=self.model, max_tokens=self.max_tokens, temperature=self.temperature,
            messages=[{"role": "user", "content": prompt}],
        )
        text = (resp.choices[0].message.content or "") if resp.choices else ""
        u = getattr(resp, "usage", None)
        self.account.add(int(getattr(u, "prompt_tokens", 0) or 0), int(getattr(u, "completion_tokens", 0) or 0))
        return text


def _make_client(backend: str, base_url: str | None, max_retries: int) -> Any:
    if backend == "anthropic":
        try:
            import anthropic
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError("--backend anthropic needs the anthropic package: pip install anthropic") from exc
        return anthropic.Anthropic(base_url=base_url, max_retries=max_retries)
    try:
        import openai
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("--backend openai needs the openai package: pip install openai") from exc
    import os

    url = base_url or os.environ.get("OPENAI_BASE_URL")
    if url and url.rstrip("/").count("/") == 2:  # http://host:port → http://host:port/v1
        url = url.rstrip("/") + "/v1"
    key = os.environ.get("OPENAI_API_KEY") or "not-needed"
    return openai.OpenAI(api_key=key, base_url=url, max_retries=max_retries)


def _first_model(client: Any) -> str:
    models = [m.id for m in client.models.list()]
    if not models:
        raise RuntimeError("no --model given and the server lists no models")
    return str(models[0])
