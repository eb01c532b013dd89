"""OpenAI-compatible backend: any server with ``/v1/chat/completions``.

Works with vLLM, Ollama, the llama.cpp server (``llama_cpp.server``) and
OpenAI, through the official ``openai`` SDK (its own retries off: retries,
backoff and accounting are :class:`~codecensus.classify.llm.LLMBackend`'s).

Structured output (``response_format``):

- ``json_object_schema`` (default for servers other than OpenAI):
  ``{"type": "json_object", "schema": ...}``; llama.cpp turns the schema into
  a grammar, vLLM and Ollama accept it as JSON mode;
- ``json_schema`` (default for OpenAI): strict ``json_schema``; note that the
  llama.cpp server answers it with HTTP 500;
- ``json_object``: JSON mode without a schema; ``none``: prompt only.

Prices (USD per million tokens): ``price_in`` / ``price_out`` when given (cached input at the input
price); else a server on the local machine (``base_url`` on a loopback host: ``localhost``, ``127.0.0.1``,
``::1``) costs 0, as it runs on the user's own hardware; else (OpenAI's API, a hosted or LAN server) the
model's list price (``data/pricing.csv``: OpenAI's and Gemini's models, Claude's), and a model the list does
not price has an unknown cost (not 0; ``budget_usd`` is then refused). With no ``model``, the first model the
server lists is used.
``system_in_user=True`` puts the rubric at the start of the first user turn, for
models whose chat template has no system role (Gemma under llama-cpp-python's
``--chat_format gemma``, which drops system messages); the rubric still comes
first, so servers that reuse a cached prompt prefix still reuse it.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai

from codecensus.classify.cache import Price, Usage, price_for
from codecensus.classify.condense import estimate_tokens
from codecensus.classify.llm import (
    LLMBackend,
    LLMError,
    Message,
    Reply,
    TransientError,
    _api_object,
    _connection_error,
    _not_an_answer,
    _status_error,
    answer_schema,
    given_price,
)

__all__ = ["RESPONSE_FORMATS", "OpenAIBackend", "is_local", "normalise_base_url"]

RESPONSE_FORMATS = ("auto", "json_object_schema", "json_schema", "json_object", "none")
_OPENAI_HOST = "api.openai.com"
SUMMARY_MAX_CHARS = 300
_URL_HINT = "check --base-url (the server's OpenAI-compatible API, usually ending in /v1)"


def normalise_base_url(url: str | None) -> str | None:
    """``http://host:port`` → ``http://host:port/v1`` (a URL with a path is kept as given)."""
    if not url:
        return None
    parts = urlsplit(url.rstrip("/"))
    if parts.path in ("", "/"):
        parts = parts._replace(path="/v1")
    return urlunsplit(parts)


def is_local(base_url: str | None) -> bool:
    """Whether the server is on this machine (a loopback host: ``localhost``, ``127.0.0.0/8``, ``::1``); no
    ``base_url`` is OpenAI's API."""
    host = urlsplit(base_url).hostname if base_url else None
    if not host:
        return False
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OpenAIBackend(LLMBackend):
    name = "openai"

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        client: openai.OpenAI | None = None,
        http_client: Any = None,
        response_format: str = "auto",
        price_in: float | None = None,
        price_out: float | None = None,
        timeout_s: float = 300.0,
        system_in_user: bool = False,
        **kw: Any,
    ) -> None:
        self.system_in_user = system_in_user
        self.timeout_s = timeout_s
        self.base_url = normalise_base_url(base_url)
        if response_format not in RESPONSE_FORMATS:
            raise ValueError(f"response_format must be one of {RESPONSE_FORMATS}")
        if response_format == "auto":
            host = urlsplit(self.base_url).hostname if self.base_url else _OPENAI_HOST
            response_format = "json_schema" if host == _OPENAI_HOST else "json_object_schema"
        self.response_format = response_format
        if client is None:
            key = api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
            client = openai.OpenAI(
                api_key=key, base_url=self.base_url, max_retries=0, timeout=timeout_s, http_client=http_client
            )
        self.client = client
        model = model or self._first_model()
        if "price" not in kw:
            given = given_price(price_in, price_out)
            if given is not None:
                kw["price"] = given
            elif is_local(self.base_url):
                kw["price"] = Price()  # the user's own machine: no bill
            else:
                kw["price"] = price_for(model)  # None: unknown
        super().__init__(model, **kw)

    def _first_model(self) -> str:
        try:
            models = [m.id for m in self.client.models.list()]
        except openai.APIError as exc:
            raise LLMError(f"no --model given and the server's model list is unavailable: {exc}") from exc
        if not models:
            raise LLMError("no --model given and the server lists no models")
        return models[0]

    def _hash_extras(self) -> dict[str, Any]:
        return {"response_format": self.response_format, "system_in_user": self.system_in_user}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "base_url": self.base_url, "timeout_s": self.timeout_s}

    def params(self, messages: Sequence[Message]) -> dict[str, Any]:
        msgs: list[dict[str, str]] = [{"role": m["role"], "content": m["content"]} for m in messages]
        if self.system_in_user:  # models without a system role (Gemma): the rubric opens the first user turn
            msgs[0] = {"role": "user", "content": f"{self.system_prompt}\n\n{msgs[0]['content']}"}
        else:
            msgs.insert(0, {"role": "system", "content": self.system_prompt})
        p: dict[str, Any] = {"model": self.model, "max_tokens": self.max_tokens, "messages": msgs}
        if self.temperature is not None:
            p["temperature"] = self.temperature
        schema = answer_schema()
        if self.response_format == "json_object_schema":
            # grammar-constrained servers (llama.cpp) also bound the summary, so a small model cannot ramble
            props = {**schema["properties"], "summary": {"type": "string", "maxLength": SUMMARY_MAX_CHARS}}
            p["response_format"] = {"type": "json_object", "schema": {**schema, "properties": props}}
        elif self.response_format == "json_schema":
            p["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "session_facets", "schema": schema, "strict": True},
            }
        elif self.response_format == "json_object":
            p["response_format"] = {"type": "json_object"}
        return p

    def _send(self, messages: list[Message]) -> Reply:
        try:
            resp = self.client.chat.completions.create(**self.params(messages))
        except openai.APIStatusError as exc:
            raise _status_error(exc.status_code, _message(exc), exc.response.headers) from exc
        except openai.APIConnectionError as exc:  # includes timeouts
            raise _connection_error(exc, self.client.base_url) from exc
        except json.JSONDecodeError:  # the SDK's reading of a body labelled JSON
            raise _not_an_answer(self.client.base_url, "a body that is not JSON", _URL_HINT) from None
        resp = _api_object(resp, ("choices",), self.client.base_url, "a chat completion", _URL_HINT)
        if not resp.choices:
            raise TransientError("the server returned no choices")
        choice = resp.choices[0]
        text = getattr(getattr(choice, "message", None), "content", None) or ""
        u = resp.usage
        if u is None:  # a server that reports no usage: account the estimate
            sent = self.system_prompt + "".join(m["content"] for m in messages)
            usage = Usage(input_tokens=estimate_tokens(sent), output_tokens=estimate_tokens(text))
        else:
            details = u.prompt_tokens_details
            cached = int(details.cached_tokens or 0) if details is not None else 0
            usage = Usage(
                input_tokens=int(u.prompt_tokens) - cached,
                output_tokens=int(u.completion_tokens),
                cache_read_tokens=cached,
            )
        return Reply(text=text, usage=usage, truncated=choice.finish_reason == "length")


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return str(exc)
