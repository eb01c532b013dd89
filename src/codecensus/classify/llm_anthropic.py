"""Anthropic backend: the Messages API through the official SDK.

- The rubric is the system prompt, marked ``cache_control: ephemeral`` so that
  every request after the first reads it from the prompt cache (billed at the
  cache-read price; the model's minimum cacheable prompt length applies).
- The answer is constrained with structured outputs
  (``output_config.format = json_schema``) unless ``structured=False`` (for
  models without it); it is validated with pydantic either way.
- ``batch=True``: sessions not in the cache are sent through Message Batches
  (half price) once there are at least ``batch_min`` of them: one batch per
  chunk of up to 10,000 requests, polled every ``poll_interval_s`` until it
  ends; answers that need a repair, and requests that errored or expired, are
  finished with direct Messages calls.
- Prices: the model's list price (``data/pricing.csv``), or ``price_in`` / ``price_out`` (USD per million
  input / output tokens; cache writes and reads at 1.25x and 0.1x the input price, as Anthropic bills them).
  A model the list does not price has an unknown cost (not 0), and ``budget_usd`` is then refused.
- The SDK's own retries are off (``max_retries=0``): retries, backoff and
  accounting are :class:`~codecensus.classify.llm.LLMBackend`'s.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import anthropic

from codecensus.classify.cache import BudgetExceeded, Usage, price_for
from codecensus.classify.llm import (
    LLMBackend,
    LLMError,
    Message,
    Reply,
    TransientError,
    _api_object,
    _connection_error,
    _not_an_answer,
    _Outcome,
    _plus,
    _status_error,
    answer_schema,
    given_price,
)

__all__ = ["DEFAULT_MODEL", "AnthropicBackend"]

DEFAULT_MODEL = "claude-haiku-4-5"
BATCH_CHUNK = 10_000
_URL_HINT = "check --base-url (or leave it out for Anthropic's own API)"


class AnthropicBackend(LLMBackend):
    name = "anthropic"

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        client: anthropic.Anthropic | None = None,
        http_client: Any = None,
        structured: bool = True,
        batch: bool = False,
        batch_min: int = 20,
        poll_interval_s: float = 30.0,
        batch_timeout_s: float = 25 * 3600,
        timeout_s: float = 120.0,
        price_in: float | None = None,
        price_out: float | None = None,
        **kw: Any,
    ) -> None:
        model = model or DEFAULT_MODEL
        self.structured = structured
        self.batch = batch
        self.batch_min = max(1, batch_min)
        self.poll_interval_s = poll_interval_s
        self.batch_timeout_s = batch_timeout_s
        self.timeout_s = timeout_s
        if "price" not in kw:
            # given: cache writes and reads at Anthropic's 1.25x and 0.1x of the input price; else the list (None:
            # unknown)
            given = given_price(price_in, price_out, cache_write=1.25, cache_read=0.1)
            kw["price"] = given if given is not None else price_for(model)
        kw.setdefault("temperature", None)
        super().__init__(model, **kw)
        if client is None:
            client = anthropic.Anthropic(
                api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_s, http_client=http_client
            )
            if not client.api_key and not getattr(client, "auth_token", None):
                # said now, not as the SDK's TypeError at the first request
                raise ValueError("no Anthropic API key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN)")
        self.client = client

    def _hash_extras(self) -> dict[str, Any]:
        return {"structured": self.structured}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "batch": self.batch, "timeout_s": self.timeout_s}

    # -- one request ------------------------------------------------------------------------------
    def params(self, messages: Sequence[Message]) -> dict[str, Any]:
        """The Messages API request body for ``messages`` (also used inside batches)."""
        p: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": [{"type": "text", "text": self.system_prompt, "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        }
        if self.structured:
            p["output_config"] = {"format": {"type": "json_schema", "schema": answer_schema()}}
        if self.temperature is not None:  # only when asked for: current models take no sampling parameters
            p["temperature"] = self.temperature
        return p

    @staticmethod
    def _reply(msg: Any) -> Reply:
        text = "".join(getattr(b, "text", "") for b in msg.content if getattr(b, "type", None) == "text")
        u = msg.usage
        usage = Usage(
            input_tokens=int(u.input_tokens or 0),
            output_tokens=int(u.output_tokens or 0),
            cache_write_tokens=int(getattr(u, "cache_creation_input_tokens", 0) or 0),
            cache_read_tokens=int(getattr(u, "cache_read_input_tokens", 0) or 0),
        )
        return Reply(text=text, usage=usage, truncated=msg.stop_reason == "max_tokens")

    def _send(self, messages: list[Message]) -> Reply:
        try:
            params = self.params(messages)
            extra = {"temperature": params.pop("temperature")} if "temperature" in params else None
            msg = self.client.messages.create(**params, extra_body=extra)
        except anthropic.APIStatusError as exc:
            raise _status_error(exc.status_code, _message(exc), exc.response.headers) from exc
        except anthropic.APIConnectionError as exc:  # includes timeouts
            raise _connection_error(exc, self.client.base_url) from exc
        except json.JSONDecodeError:  # the SDK's reading of a body labelled JSON
            raise _not_an_answer(self.client.base_url, "a body that is not JSON", _URL_HINT) from None
        return self._reply(_api_object(msg, ("content",), self.client.base_url, "a message", _URL_HINT))

    # -- Message Batches ------------------------------------------------------------------------------
    def _solve_many(self, todo: Sequence[tuple[str, str]]) -> Iterator[tuple[str, _Outcome]]:
        if not self.batch or len(todo) < self.batch_min:
            yield from super()._solve_many(todo)
            return
        for i in range(0, len(todo), BATCH_CHUNK):
            yield from self._run_batch(todo[i : i + BATCH_CHUNK])

    def _run_batch(self, chunk: Sequence[tuple[str, str]]) -> Iterator[tuple[str, _Outcome]]:
        texts = dict(chunk)
        requests = []
        reserved: dict[str, float] = {}
        stop: BudgetExceeded | None = None
        for key, text in chunk:
            messages: list[Message] = [{"role": "user", "content": self.user_message(text)}]
            cost = self._worst_cost(messages, batch=True)
            try:
                self.account.reserve(cost)
            except BudgetExceeded as exc:  # send what the budget allows, then stop
                stop = exc
                break
            reserved[key] = cost
            requests.append({"custom_id": key, "params": self.params(messages)})
        if not requests:
            assert stop is not None
            raise stop
        try:
            batch = self._batch(self._with_retries(lambda: self.client.messages.batches.create(requests=requests)))
            deadline = time.monotonic() + self.batch_timeout_s
            while batch.processing_status != "ended":
                if time.monotonic() > deadline:
                    raise LLMError(f"message batch {batch.id} did not end within {self.batch_timeout_s:.0f} s")
                self._sleep(self.poll_interval_s)
                bid = batch.id
                batch = self._batch(self._with_retries(lambda bid=bid: self.client.messages.batches.retrieve(bid)))
            results = self._with_retries(lambda: list(self.client.messages.batches.results(batch.id)))
            if not all(hasattr(item, "custom_id") and hasattr(item, "result") for item in results):
                raise _not_an_answer(self.client.base_url, "results that are not batch results", _URL_HINT)
        except BaseException:
            for cost in reserved.values():
                self.account.release(cost)
            raise
        redo: list[tuple[str, str]] = []
        for item in results:
            key = item.custom_id
            if key not in reserved:
                continue
            res = item.result
            if getattr(res, "type", None) == "succeeded":
                reply = self._reply(res.message)
                cost = self._cost(reply.usage, batch=True)
                self.account.settle(reserved.pop(key), reply.usage, cost, batch=True)
                out = self._solve(texts[key], first=reply)  # validation, repair (direct call) or abstention
                out.cost = _plus(out.cost, cost)
                yield key, out
            else:  # errored / canceled / expired: answer it with a direct call
                self.account.release(reserved.pop(key))
                redo.append((key, texts[key]))
        for key in list(reserved):  # missing from the results file
            self.account.release(reserved.pop(key))
            redo.append((key, texts[key]))
        if redo:
            yield from super()._solve_many(redo)
        if stop is not None:
            raise stop

    def _batch(self, obj: Any) -> Any:
        """A message batch as the API describes it (the SDK hands over any other body as it is)."""
        return _api_object(obj, ("processing_status", "id"), self.client.base_url, "a message batch", _URL_HINT)

    def _with_retries(self, fn: Any) -> Any:
        attempt = 0
        while True:
            transient: TransientError | None = None
            try:
                return fn()
            except anthropic.APIStatusError as exc:
                err = _status_error(exc.status_code, _message(exc), exc.response.headers)
                if not isinstance(err, TransientError) or attempt >= self.max_retries:
                    raise err from exc
                transient = err
            except anthropic.APIConnectionError as exc:
                if attempt >= self.max_retries:
                    raise LLMError(str(_connection_error(exc, self.client.base_url))) from exc
            except json.JSONDecodeError:  # the SDK's reading of a body labelled JSON (or of a results line)
                raise _not_an_answer(self.client.base_url, "a body that is not JSON", _URL_HINT) from None
            self._wait_to_retry(attempt, transient)
            attempt += 1


def _message(exc: anthropic.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            return f"{err.get('type', 'error')}: {err['message']}"
    return str(exc)
