"""Plain-text LLM calls for cluster naming and the hierarchizer: ``complete(prompt) -> str``.

The classify backends (:mod:`codecensus.classify.llm`) are built around the facet rubric (a fixed
system prompt and a JSON answer schema), which Clio's naming prompts do not fit. This module wraps
the two official SDKs in the smallest useful adapter: one user message in, the text out, with
classify's retries (backoff, ``Retry-After`` waited up to its cap, a run stopped at once with a
message when the server asks for a longer wait: the Anthropic SDK would sleep a ``Retry-After: 86400``),
a call/token account and an optional cap on calls. The clients it makes have the SDK's retries off; a client
passed in (tests pass fakes; callers may pass a configured client) keeps its own. No credential lives in
codecensus: the SDKs read ``ANTHROPIC_API_KEY`` / ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` themselves.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codecensus.classify.llm import TransientError

DEFAULT_ANTHROPIC_MODEL = "claude-haiku-4-5"
#: Seconds to wait for one answer (as classify: a hung server must not hold a run for the SDK's 10 minutes).
DEFAULT_TIMEOUT_S = {"anthropic": 120.0, "openai": 300.0}
_URL_HINT = {"anthropic": "check --base-url (the Anthropic API's address)",
             "openai": "check --base-url (the server's OpenAI-compatible API, usually ending in /v1)"}
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
        temperature: float | None = None,
        max_calls: int | None = None,
        max_retries: int = 6,
        timeout_s: float | None = None,
    ) -> None:
        if backend not in ("anthropic", "openai"):
            raise ValueError(f"unknown LLM backend {backend!r}: use 'anthropic' or 'openai'")
        self.backend = backend
        self.max_tokens = max_tokens
        # current Anthropic models take no sampling parameters (and the SDK's create() no ``temperature``):
        # sent there only when asked for, as classify does
        self.temperature = NAMING_TEMPERATURE if temperature is None and backend == "openai" else temperature
        self.max_calls = max_calls
        self.max_retries = max_retries
        self.timeout_s = DEFAULT_TIMEOUT_S[backend] if timeout_s is None else timeout_s
        self.account = TextAccount()
        self._sleep: Callable[[float], None] = time.sleep
        if client is None:
            client = _make_client(backend, base_url, self.timeout_s)
        self.client = client
        if model is None:
            model = DEFAULT_ANTHROPIC_MODEL if backend == "anthropic" else self._plain(lambda: _first_model(client))
        self.model = model

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model, "temperature": self.temperature,
                "max_tokens": self.max_tokens, "timeout_s": self.timeout_s, "max_retries": self.max_retries,
                "account": self.account.as_dict()}

    def _plain(self, call: Callable[[], Any]) -> Any:
        """``call()``, with the SDK's errors said as classify says them (an :class:`LLMError`): the server's URL,
        its status and at most 300 characters of its text (servers quote the prompt, summaries included), a
        timeout or refused connection by name, a body that is not the API's (a web page) as such. A 429, 5xx or
        lost connection is retried up to ``max_retries`` times as classify retries it."""
        from codecensus.classify.llm import (
            LLMError,
            TransientError,
            _connection_error,
            _not_an_answer,
            _status_error,
        )

        try:
            sdk = _sdk(self.backend)
        except ImportError:  # pragma: no cover - a client passed in without its SDK installed
            return call()
        url = getattr(self.client, "base_url", None)
        attempt = 0
        while True:
            try:
                return call()
            except sdk.APIStatusError as exc:
                err = _status_error(exc.status_code, _sdk_message(exc), getattr(exc.response, "headers", None))
                if isinstance(err, TransientError) and attempt < self.max_retries:
                    self._wait_to_retry(attempt, err, url)
                    attempt += 1
                    continue
                tries = f" (after {attempt + 1} attempts)" if attempt else ""
                raise LLMError(f"the server at {url} answered {err}{tries}") from None
            except sdk.APIConnectionError as exc:  # includes timeouts
                conn = _connection_error(exc, url)
                if attempt < self.max_retries:
                    self._wait_to_retry(attempt, conn, url)
                    attempt += 1
                    continue
                tries = f" after {attempt + 1} attempts" if attempt else ""
                raise LLMError(f"{conn}{tries}; a slow server: raise --timeout") from None
            except json.JSONDecodeError:  # the SDK's reading of a body labelled JSON
                raise _not_an_answer(url, "a body that is not JSON", _URL_HINT[self.backend]) from None
            except sdk.APIError as exc:  # an answer the SDK could not read as the API's
                raise LLMError(f"the server at {url} did not answer like the API ({type(exc).__name__}): "
                               f"{_URL_HINT[self.backend]}") from None

    def _wait_to_retry(self, attempt: int, err: TransientError, url: object) -> None:
        """As classify: sleep the backoff (at least the server's ``Retry-After``, at most 60 s), or stop the run
        when the server asks for a wait longer than classify's ``MAX_WAIT_S``."""
        from codecensus.classify.llm import MAX_WAIT_S, backoff_delay, far_wait

        stop = far_wait(f"{self.backend} at {url}", err, MAX_WAIT_S, " (the previous cluster tables are kept)")
        if stop is not None:
            raise stop
        self._sleep(backoff_delay(attempt, err.retry_after, 1.0, 60.0, random.uniform(0.5, 1.5)))

    def __call__(self, prompt: str) -> str:
        if self.max_calls is not None and self.account.calls >= self.max_calls:
            raise CallLimitExceeded(f"more than {self.max_calls} LLM calls needed (raise --max-calls)")
        from codecensus.classify.llm import _api_object, _not_an_answer

        url, hint = getattr(self.client, "base_url", None), _URL_HINT[self.backend]
        if self.backend == "anthropic":
            extra = None if self.temperature is None else {"temperature": self.temperature}
            resp = self._plain(lambda: self.client.messages.create(
                model=self.model, max_tokens=self.max_tokens, messages=[{"role": "user", "content": prompt}],
                extra_body=extra,
            ))
            resp = _api_object(resp, ("content",), url, "a message", hint)
            text = "".join(getattr(b, "text", "") or "" for b in resp.content or []
                           if getattr(b, "type", "text") == "text")
            u = getattr(resp, "usage", None)
            self.account.add(int(getattr(u, "input_tokens", 0) or 0), int(getattr(u, "output_tokens", 0) or 0))
            return text
        resp = self._plain(lambda: self.client.chat.completions.create(
            model=self.model, max_tokens=self.max_tokens, temperature=self.temperature,
            messages=[{"role": "user", "content": prompt}],
        ))
        resp = _api_object(resp, ("choices",), url, "a chat completion", hint)
        if resp.choices is None:  # a JSON object without "choices" ({"error": …} with HTTP 200, another API's)
            raise _not_an_answer(url, "JSON that is not a chat completion", hint)
        text = (getattr(getattr(resp.choices[0], "message", None), "content", None) or "") if resp.choices else ""
        u = getattr(resp, "usage", None)
        self.account.add(int(getattr(u, "prompt_tokens", 0) or 0), int(getattr(u, "completion_tokens", 0) or 0))
        return text


def _sdk(backend: str) -> Any:
    if backend == "anthropic":
        import anthropic

        return anthropic
    import openai

    return openai


def _sdk_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return str(exc)


def _make_client(backend: str, base_url: str | None, timeout_s: float) -> Any:
    """An SDK client with its own retries off (``TextLLM`` retries as classify does)."""
    if backend == "anthropic":
        try:
            import anthropic
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError("--backend anthropic needs the anthropic package: pip install anthropic") from exc
        client = anthropic.Anthropic(base_url=base_url, max_retries=0, timeout=timeout_s)
        if not client.api_key and not getattr(client, "auth_token", None):  # else a TypeError at the first call
            raise ValueError("no Anthropic API key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN)")
        return client
    try:
        import openai
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("--backend openai needs the openai package: pip install openai") from exc
    import os

    url = base_url or os.environ.get("OPENAI_BASE_URL")
    if url and url.rstrip("/").count("/") == 2:  # http://host:port → http://host:port/v1
        url = url.rstrip("/") + "/v1"
    key = os.environ.get("OPENAI_API_KEY") or "not-needed"
    return openai.OpenAI(api_key=key, base_url=url, max_retries=0, timeout=timeout_s)


def _first_model(client: Any) -> str:
    models = [m.id for m in client.models.list()]
    if not models:
        raise RuntimeError("no --model given and the server lists no models")
    return str(models[0])
