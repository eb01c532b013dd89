"""LLM backends: shared machinery and the :func:`make_backend` factory.

Every LLM backend works the same way (the API-specific part is one method,
``_send``, in :mod:`codecensus.classify.llm_anthropic` and
:mod:`codecensus.classify.llm_openai`):

1. each session is condensed into a bounded, redacted digest
   (:func:`codecensus.classify.condense.condense`); nothing else is sent;
2. the cache (:class:`~codecensus.classify.cache.LLMCache`) is asked for
   (sha256 of the digest, backend, model, rubric hash); hits cost nothing;
3. the misses are sent with a concurrency limit: the rubric is the system
   prompt, the digest goes into the user message between ``<transcript>`` tags
   as data (tags inside the data are neutralised, see
   :func:`codecensus.prompts.neutralize_tags`), and the answer is a JSON object
   (structured output where the API has it);
4. the answer is validated with pydantic (:func:`parse_answer`); an invalid one
   gets ONE repair turn quoting the validation errors; a second failure gives
   the explicit abstention result (:func:`abstention`: outcome ``unclear``,
   occupation ``not_inferable``, every confidence 0), counted in the account;
5. 429/5xx/timeouts are retried with exponential backoff and jitter (honouring
   ``Retry-After`` up to ``backoff_cap_s``; a server that asks for a wait longer than
   ``max_wait_s``, 300 s, stops the run at once: hours of 429s are not waited out); other 4xx answers make that session abstain (counted as a
   failure, not cached; only a Ray part's answers keep it, so a retried part does not ask it again), and 401/403/404
   stop the run, as does an HTTP 200 whose body is not the
   API's answer (a web page: a wrong ``--base-url``); a server's error text is cut to one short line;
6. tokens and cost are accounted per call (:class:`~codecensus.classify.cache.Account`),
   and ``budget_usd`` stops the run before a call could exceed it. A model with no known price
   (``price=None``: not in ``data/pricing.csv`` and no ``price_in``/``price_out``) has an unknown cost,
   never 0: the account and the cache record it so, and a backend given ``budget_usd`` refuses to start
   (:func:`require_price`), since no budget could be kept.

Value (taxonomy §7): the model estimates ``value_hours`` (hours a professional
would need without AI to produce what the session produced) and ``value_soc``;
the driver multiplies them with the wage table.
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import queue
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from hashlib import sha256
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from codecensus import prompts
from codecensus import taxonomy as tx
from codecensus.classify.base import Backend, Facets, SessionEvidence
from codecensus.classify.cache import (
    BATCH_DISCOUNT,
    Account,
    BudgetExceeded,
    LLMCache,
    Price,
    Usage,
    content_key,
)
from codecensus.classify.condense import (
    CONDENSER_VERSION,
    DEFAULT_BUDGET,
    Redactor,
    condense,
    estimate_tokens,
)
from codecensus.classify.features import has_human_request, human_request_reason
from codecensus.store import Store

__all__ = [
    "ABSTENTION_SIGNATURE",
    "AnswerError",
    "BudgetExceeded",
    "LLMBackend",
    "LLMError",
    "RejectedRequest",
    "Reply",
    "TransientError",
    "abstention",
    "answer_schema",
    "default_cache_path",
    "is_abstention",
    "given_price",
    "make_backend",
    "parse_answer",
    "check_budget",
    "require_price",
]

DEFAULT_MAX_TOKENS = 800
#: the longest ``Retry-After`` a run waits out; a server asking for more stops the run (run it again later)
MAX_WAIT_S = 300.0
TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
FATAL_STATUS = frozenset({401, 403, 404})


# -- errors ----------------------------------------------------------------------------------------
class LLMError(RuntimeError):
    """The LLM could not be used (bad key, unknown model, retries exhausted, ...)."""

    #: set by ``classify``: results obtained before the error (None where a session is missing)
    partial: list[Facets | None] | None = None


class TransientError(LLMError):
    """A failure worth retrying (429, 5xx, overloaded, timeout, connection reset)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RejectedRequest(LLMError):
    """The server refused this one request (4xx other than auth): the session abstains."""


class AnswerError(ValueError):
    """The model's answer is not a valid facets object."""


# -- the answer ----------------------------------------------------------------------------------------
@cache
def answer_schema() -> dict[str, Any]:
    """JSON schema of the answer: the fields of :class:`Facets` with enums from the taxonomy.

    It uses only what both Anthropic structured outputs and llama.cpp grammars accept
    (types, enums, ``required``, ``additionalProperties: false``); numeric ranges are
    checked by pydantic afterwards.
    """
    num = {"type": "number"}
    soc = list(tx.SOC_KEYS)
    props: dict[str, Any] = {
        "summary": {"type": "string"},
        "mode": {"type": "string", "enum": list(tx.MODE_KEYS)},
        "mode_confidence": num,
        "outcome": {"type": "string", "enum": list(tx.OUTCOME_KEYS)},
        "outcome_confidence": num,
        "outcome_score": num,
        "outcome_evidence": {"type": "array", "items": {"type": "string", "enum": [e.key for e in tx.OUTCOME_EVIDENCE]}},
        "trouble": {"type": "boolean"},
        "recovered": {"type": "boolean"},
        "abandoned": {"type": "boolean"},
        # null: the model cannot tell (the rubric's abstention for expertise, taxonomy §4)
        "expertise": {"anyOf": [{"type": "integer", "enum": list(tx.EXPERTISE_LEVELS)}, {"type": "null"}]},
        "expertise_confidence": num,
        "occupation": {"type": "string", "enum": [*soc, tx.NOT_INFERABLE]},
        "occupation_confidence": num,
        "user_planning_pct": num,
        "user_execution_pct": num,
        "value_hours": num,
        "value_soc": {"type": "string", "enum": soc},
    }
    assert tuple(props) == prompts.ANSWER_KEYS, "answer schema and prompt keys differ"
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n?|\n?\s*```\s*$")


def _extract_json(text: str) -> dict[str, Any]:
    s = _FENCE.sub("", text.strip())
    start = s.find("{")
    if start < 0:
        raise AnswerError("the reply contains no JSON object")
    try:
        obj, _ = json.JSONDecoder(strict=False).raw_decode(s[start:])  # raw newlines in strings are harmless
    except json.JSONDecodeError as exc:
        raise AnswerError(f"the reply is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(obj, dict):
        raise AnswerError("the reply is JSON but not an object")
    return obj


def _norm_key(v: Any) -> Any:
    return v.strip().lower().replace(" ", "_").replace("-", "_") if isinstance(v, str) else v


def _normalise(obj: dict[str, Any]) -> dict[str, Any]:
    """Harmless spelling fixes only (case, spaces, '15-1252' for '15'); anything else is the validator's."""
    d = {str(k).strip().lower(): v for k, v in obj.items()}
    for k in ("mode", "outcome"):
        d[k] = _norm_key(d.get(k))
    for k in ("occupation", "value_soc"):
        v = d.get(k)
        if isinstance(v, int | float) and not isinstance(v, bool):
            v = str(int(v))
        if isinstance(v, str):
            v = v.strip()
            m = re.fullmatch(r"(\d{2})(?:[-.]\d{2,4}(?:\.\d+)?)?", v)
            v = m.group(1) if m else _norm_key(v)
        d[k] = v
    ev = d.get("outcome_evidence")
    if isinstance(ev, str):
        ev = [ev] if ev.strip() else []
    if isinstance(ev, list):
        d["outcome_evidence"] = list(dict.fromkeys(_norm_key(x) for x in ev))
    return d


def parse_answer(text: str) -> Facets:
    """Validate a model answer into :class:`Facets` or raise :class:`AnswerError` (message fit for a repair turn)."""
    obj = _normalise(_extract_json(text))
    missing = [k for k in prompts.ANSWER_KEYS if k not in obj]
    if missing:
        raise AnswerError(f"missing keys: {', '.join(missing)}")
    extra = [k for k in obj if k not in prompts.ANSWER_KEYS]
    for k in extra:
        obj.pop(k)
    if isinstance(obj.get("summary"), str):
        obj["summary"] = " ".join(obj["summary"].split())
    try:
        f = Facets.model_validate(obj)
    except ValidationError as exc:
        errs = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:8])
        raise AnswerError(f"invalid values: {errs}") from None
    problems = []
    if f.value_soc not in tx.SOC_KEYS:
        problems.append(f"value_soc must be one of {list(tx.SOC_KEYS)}")
    if f.outcome == "verified_success" and not f.outcome_evidence:
        problems.append("outcome 'verified_success' needs at least one outcome_evidence item")
    if not isinstance(obj.get("summary"), str) or not f.summary.strip():
        problems.append("summary must be a non-empty sentence")
    if problems:
        raise AnswerError("; ".join(problems))
    return f


def abstention(reason: str = "no_answer") -> Facets:
    """The explicit 'cannot tell' result: outcome unclear, occupation not inferable, expertise None (stored
    NULL), every confidence 0, each with ``reason`` (a key of ``taxonomy.ABSTENTION_REASONS``).

    Fields that have no 'unknown' value (mode, value) hold placeholders with
    confidence 0 and ``value_hours`` 0; use :func:`is_abstention` to leave such rows out of
    aggregates.
    """
    return Facets(
        expertise_reason=reason,
        occupation_reason=reason,
        outcome_reason=reason,
        mode=tx.MODE_KEYS[0],
        mode_confidence=0.0,
        occupation=tx.NOT_INFERABLE,
        occupation_confidence=0.0,
        expertise=None,
        expertise_confidence=0.0,
        outcome="unclear",
        outcome_confidence=0.0,
        outcome_score=tx.OUTCOME_SCORE["unclear"],
        outcome_evidence=[],
        user_planning_pct=0.0,
        user_execution_pct=0.0,
        value_hours=0.0,
        value_soc=tx.SOFTWARE_SOC,
        summary="",
    )


# The fields that tell the abstention result apart from any answer (an answer always has a summary), with their
# values; classify.run reads the same signature to mark facets rows stored before they carried ``abstained``.
ABSTENTION_SIGNATURE: dict[str, object] = {
    "outcome": "unclear", "occupation": tx.NOT_INFERABLE, "mode_confidence": 0.0, "outcome_confidence": 0.0,
    "expertise_confidence": 0.0, "summary": "",
}


def _interruptible_get(q: queue.SimpleQueue[Any]) -> Any:
    """``q.get()`` that Ctrl-C ends. A blocking get in the main thread only wakes for a signal the OS delivers to
    that thread: when SIGINT went to a worker thread (one in a socket read, here), Python noted it but the main
    thread slept on until an answer came (seen: a classify still running 90 s after Ctrl-C, every thread's stack
    showing the main one in ``done.get()``). A short timeout lets it see the signal."""
    while True:
        try:
            return q.get(timeout=0.2)
        except queue.Empty:
            continue


def _human_side(batch: Sequence[SessionEvidence], facets: list[Facets | None]) -> list[Facets | None]:
    """Expertise is judged from the human's side only (taxonomy §4): a session without a human prompt with content
    has no level, whatever the model answered (the rubric lets it answer null; the offline backend abstains the same
    way), with the rule's reason. Every other abstaining facet of an answer (expertise null, occupation not
    inferable, outcome unclear) gets its reason: the model's own judgement. Applied to cached answers too, so a
    re-run fixes rows stored before."""
    out: list[Facets | None] = []
    for ev, f in zip(batch, facets, strict=True):
        if f is not None and f.expertise_reason is None and not has_human_request(ev):
            f = f.model_copy(update={"expertise": None, "expertise_confidence": 0.0,
                                     "expertise_reason": human_request_reason(ev)})
        if f is not None:
            f = _own_reasons(f)
        out.append(f)
    return out


def _own_reasons(f: Facets) -> Facets:
    """An answer's abstaining facets without a reason: the model said it cannot tell (taxonomy.ABSTENTION_REASONS)."""
    upd = {f"{k}_reason": "model_cannot_tell" for k, abstains in (
        ("expertise", f.expertise is None), ("occupation", f.occupation == tx.NOT_INFERABLE),
        ("outcome", f.outcome == "unclear")) if abstains and getattr(f, f"{k}_reason") is None}
    return f.model_copy(update=upd) if upd else f


def is_abstention(f: Facets) -> bool:
    return all(getattr(f, k) == v for k, v in ABSTENTION_SIGNATURE.items())


def default_cache_path() -> Path:
    """Where the LLM cache lives when no store is given (``$CODECENSUS_LLM_CACHE`` overrides)."""
    env = os.environ.get("CODECENSUS_LLM_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("codecensus")) / "llm_cache.duckdb"


# -- the shared backend ------------------------------------------------------------------------------
@dataclass(slots=True)
class Reply:
    text: str
    usage: Usage
    truncated: bool = False  # stopped at max_tokens


Message = dict[str, str]


@dataclass(slots=True)
class _Outcome:
    facets: Facets
    status: str  # 'ok' | 'abstained' | 'failed'
    usage: Usage = field(default_factory=Usage)
    cost: float | None = 0.0  # None: unknown (the model has no price)


def _plus(a: float | None, b: float | None) -> float | None:
    """A sum of costs, unknown when either is."""
    return None if a is None or b is None else a + b


PRICE_HINT = "give --price-in/--price-out"


def given_price(price_in: float | None, price_out: float | None, *, cache_write: float = 1.0,
                cache_read: float = 1.0) -> Price | None:
    """The price given as ``price_in`` / ``price_out`` (USD per million input / output tokens; cache writes and
    reads at ``cache_write`` / ``cache_read`` times the input price), or None when neither is given.

    Both or neither, each a finite number >= 0 (else :class:`ValueError`, said as the CLI's options).
    """
    if price_in is None and price_out is None:
        return None
    if price_in is None or price_out is None:
        raise ValueError("give both --price-in and --price-out (USD per million input / output tokens), or neither "
                         "(the price list's)")
    for flag, v in (("--price-in", price_in), ("--price-out", price_out)):
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"{flag} must be a number of USD per million tokens, 0 or more (not {v})")
    pin, pout = float(price_in), float(price_out)
    return Price(input=pin, output=pout, cache_write=pin * cache_write, cache_read=pin * cache_read)


def check_budget(budget_usd: float | None) -> None:
    """Refuse a budget that is not a number of dollars, 0 or more (:class:`ValueError`). NaN compared false with
    every cost, so a run given it spent without any limit; a negative budget stopped it before its first request.
    0 is kept: the run sends no request that could cost anything (a reservation of more than 0 is refused), so
    it takes answers from the cache only (and from a server that costs nothing, on this machine)."""
    if budget_usd is not None and (not math.isfinite(budget_usd) or budget_usd < 0):
        raise ValueError(f"--budget-usd must be a finite number of USD, 0 or more (0: answers from the cache only), "
                         f"not {budget_usd}")


def require_price(model: str, price: Price | None, budget_usd: float | None) -> None:
    """Refuse a budget that cannot be kept: with no known price every call's cost is unknown, so a run would go
    on without any limit (:class:`ValueError`, said with the model and how to give a price)."""
    if price is None and budget_usd is not None:
        raise ValueError(
            f"--budget-usd {budget_usd:g} cannot be kept: there is no price for model {model!r} (not in the price "
            f"list, data/pricing.csv, or listed there as unknown), so what a request costs is unknown; {PRICE_HINT} "
            "(USD per million input / output tokens), or leave --budget-usd out"
        )


class LLMBackend:
    """Common machinery of the LLM backends (subclasses implement ``_send``)."""

    name: str = "llm"

    def __init__(
        self,
        model: str,
        *,
        cache: LLMCache | None = None,
        price: Price | None = None,
        budget_usd: float | None = None,
        budget_tokens: int = DEFAULT_BUDGET,
        concurrency: int = 4,
        max_retries: int = 6,
        backoff_base_s: float = 1.0,
        backoff_cap_s: float = 60.0,
        max_wait_s: float = MAX_WAIT_S,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        temperature: float | None = 0.0,
        redactor: Redactor | None = None,
        ner: bool | None = None,
        retry_abstained: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        check_budget(budget_usd)
        require_price(model, price, budget_usd)
        self.model = model
        self.cache = cache
        #: USD per million tokens; None: unknown (the calls' cost is unknown, not 0, and no budget can be kept)
        self.price: Price | None = price
        self.budget_tokens = budget_tokens
        self.concurrency = max(1, int(concurrency))
        self.max_retries = max(0, int(max_retries))
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.max_wait_s = max_wait_s
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.retry_abstained = retry_abstained
        self.account = Account(budget_usd=budget_usd)
        if price is None:
            self.account.unknown_price = f"no price for model {model}; {PRICE_HINT}"
        self._redactor = redactor
        self._ner = ner
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self.system_prompt = prompts.render_facets_system()
        self.rubric_hash = self._rubric_hash()

    # -- identity ------------------------------------------------------------------------------
    def _rubric_hash(self) -> str:
        blob = orjson.dumps(
            {
                "system": self.system_prompt,
                "prompts": prompts.prompt_hashes(),
                "taxonomy": tx.TAXONOMY_VERSION,
                "schema": answer_schema(),
                "temperature": self.temperature,
                "max_tokens": self.max_tokens,
                **self._hash_extras(),
            },
            option=orjson.OPT_SORT_KEYS,
        )
        return sha256(blob).hexdigest()[:16]

    def _hash_extras(self) -> dict[str, Any]:
        """Request options that change answers (e.g. structured output on/off)."""
        return {}

    def describe(self) -> dict[str, Any]:
        """What a run manifest should record about this backend."""
        return {
            "backend": self.name,
            "model": self.model,
            "rubric_hash": self.rubric_hash,
            "prompt_hashes": prompts.prompt_hashes(),
            "taxonomy_version": tx.TAXONOMY_VERSION,
            "condenser_version": CONDENSER_VERSION,
            "budget_tokens": self.budget_tokens,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "concurrency": self.concurrency,
            "max_retries": self.max_retries,
            "ner": self.uses_ner,
            # None: the model has no known price (its cost is unknown, see account.cost)
            "price_per_mtok": None if self.price is None else {
                "input": self.price.input, "output": self.price.output,
                "cache_write": self.price.cache_write, "cache_read": self.price.cache_read,
            },
            "account": self.account.as_dict(),
            **self._hash_extras(),
        }

    @property
    def uses_ner(self) -> bool:
        """Whether the digests' redaction runs the NER model, which finds people and places written without an
        introduction (``ner``: None means whenever the model is installed; it comes with the ``llm`` extra)."""
        if self._redactor is not None:
            return bool(getattr(self._redactor, "ner", False))
        if self._ner is not None:
            return self._ner
        from codecensus.redact.engines import ner_model_path

        return ner_model_path() is not None

    @property
    def redactor(self) -> Redactor:
        if self._redactor is None:
            from codecensus.redact import get_redactor

            self._redactor = get_redactor(ner=self.uses_ner)
        return self._redactor

    # -- the protocol ----------------------------------------------------------------------------
    def condense(self, ev: SessionEvidence) -> str:
        return condense(ev, self.budget_tokens, redactor=self.redactor)

    def user_message(self, digest: str) -> str:
        return prompts.render_facets_user(digest)

    def classify(self, batch: list[SessionEvidence]) -> list[Facets]:
        texts = [self.condense(ev) for ev in batch]
        keys = [content_key(t) for t in texts]
        acc = self.account
        acc.count("sessions", len(batch))
        with acc._lock:
            acc.input_tokens_condensed.extend(estimate_tokens(t) for t in texts)
        cached = (
            self.cache.get_many(keys, backend=self.name, model=self.model, rubric_hash=self.rubric_hash)
            if self.cache is not None
            else {}
        )
        if self.retry_abstained:
            cached = {k: e for k, e in cached.items() if e.status == "ok"}
        results: dict[str, Facets] = {}
        # rejections kept by a cache that keeps them (a Ray part's answers, asked again when the part is retried):
        # counted as when they were asked, and not asked again
        rejected: set[str] = set()
        keeps_rejections = bool(getattr(self.cache, "keeps_rejections", False))
        for k in keys:
            e = cached.get(k)
            if e is None:
                continue
            acc.hit(e.cost_usd)
            if e.status in ("abstained", "failed"):
                acc.count("abstentions")
            if e.status == "failed":
                acc.count("failures")
                rejected.add(k)
            if k not in results:
                results[k] = Facets.model_validate(e.response)
        todo = list({k: t for k, t in zip(keys, texts, strict=True) if k not in results}.items())
        failed: set[str] = set(rejected)
        try:
            for key, out in self._solve_many(todo):
                results[key] = out.facets
                if out.status == "failed":
                    failed.add(key)
                if self.cache is not None and (out.status != "failed" or keeps_rejections):
                    self.cache.put(
                        key,
                        backend=self.name,
                        model=self.model,
                        rubric_hash=self.rubric_hash,
                        status=out.status,
                        response=out.facets.model_dump(mode="json"),
                        usage=out.usage,
                        cost_usd=out.cost,
                    )
        except (BudgetExceeded, LLMError) as exc:
            exc.partial = _human_side(batch, [results.get(k) for k in keys])
            raise
        sent = len(todo) + len(rejected)
        if sent and len(failed) == sent and sent >= 3:
            exc = LLMError(
                f"the server rejected every request of this batch ({len(failed)}); check the model and options"
            )
            # the rejected sessions stay unclassified (not stored as abstentions), so a re-run retries them
            exc.partial = _human_side(batch, [None if k in failed else results.get(k) for k in keys])
            raise exc
        return [f for f in _human_side(batch, [results[k] for k in keys]) if f is not None]

    # -- solving ----------------------------------------------------------------------------
    def _solve_many(self, todo: Sequence[tuple[str, str]]) -> Iterator[tuple[str, _Outcome]]:
        """Solve each (key, digest) with at most ``concurrency`` requests in flight.

        The workers are daemon threads: when the consumer stops (Ctrl-C, an error) nothing more is sent and
        the requests in flight are abandoned, so the process ends at once instead of waiting up to the
        request timeout for answers nobody reads. After a worker's error, the calls in flight are still
        collected (and yielded, so they are cached) before the error is raised.
        """
        if not todo:
            return
        if self.concurrency == 1 or len(todo) == 1:
            for key, text in todo:
                yield key, self._solve(text)
            return
        work: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        done: queue.SimpleQueue[tuple[str, _Outcome | None, BaseException | None]] = queue.SimpleQueue()
        for item in todo:
            work.put(item)
        halt = threading.Event()

        def worker() -> None:
            while not halt.is_set():
                try:
                    key, text = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    done.put((key, self._solve(text), None))
                except BaseException as exc:  # handed to the consumer
                    done.put((key, None, exc))

        def send_nothing_more() -> int:
            halt.set()
            n = 0
            while True:
                try:
                    work.get_nowait()
                except queue.Empty:
                    return n
                n += 1

        for i in range(min(self.concurrency, len(todo))):
            threading.Thread(target=worker, name=f"llm-{self.name}-{i}", daemon=True).start()
        pending = len(todo)
        stop: BaseException | None = None
        try:
            while pending:
                key, out, exc = _interruptible_get(done)
                pending -= 1
                if exc is not None:
                    if stop is None:
                        stop = exc
                        pending -= send_nothing_more()
                    continue
                assert out is not None
                yield key, out
        finally:  # the consumer stopped early (or an error): send nothing more
            send_nothing_more()
        if stop is not None:
            raise stop

    def _solve(self, digest: str, first: Reply | None = None) -> _Outcome:
        """Classify one digest: call, validate, one repair turn, else abstain."""
        usage = Usage()
        cost: float | None = 0.0
        messages: list[Message] = [{"role": "user", "content": self.user_message(digest)}]
        try:
            if first is None:
                reply, c = self._call(messages)
            else:
                reply, c = first, 0.0  # already accounted by the caller (batch results)
            usage, cost = usage + reply.usage, _plus(cost, c)
            try:
                return _Outcome(self._finish(parse_answer(reply.text)), "ok", usage, cost)
            except AnswerError as exc:
                err = str(exc)
                if reply.truncated:
                    err += " (the reply was cut off at the token limit: keep the summary short)"
            self.account.count("repairs")
            messages += [
                {"role": "assistant", "content": reply.text.strip() or "(empty reply)"},
                {"role": "user", "content": prompts.render_facets_repair(err)},
            ]
            reply, c = self._call(messages)
            usage, cost = usage + reply.usage, _plus(cost, c)
            try:
                return _Outcome(self._finish(parse_answer(reply.text)), "ok", usage, cost)
            except AnswerError:
                self.account.count("abstentions")
                return _Outcome(abstention(), "abstained", usage, cost)
        except RejectedRequest:
            self.account.count("failures")
            self.account.count("abstentions")
            return _Outcome(abstention(), "failed", usage, cost)

    def _finish(self, f: Facets) -> Facets:
        """Redact the summary (it is stored and clustered) and return the result."""
        return f.model_copy(update={"summary": self.redactor.redact(f.summary.strip())})

    def _cost(self, usage: Usage, *, batch: bool = False) -> float | None:
        """What a response cost, None when the model has no known price."""
        return None if self.price is None else self.price.cost(usage, batch=batch)

    def _worst_cost(self, messages: Sequence[Message], *, batch: bool = False) -> float:
        if self.price is None:  # no budget to keep (require_price refused one at the start)
            return 0.0
        tokens_in = estimate_tokens(self.system_prompt) + sum(estimate_tokens(m["content"]) for m in messages) + 50
        price = self.price.at(tokens_in)
        per_in = max(price.input, price.cache_write)
        usd = (tokens_in * per_in + self.max_tokens * price.output) / 1e6
        return usd * (BATCH_DISCOUNT if batch else 1.0)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        with self._rng_lock:
            jitter = self._rng.uniform(0.5, 1.5)
        return backoff_delay(attempt, retry_after, self.backoff_base_s, self.backoff_cap_s, jitter)

    def _wait_to_retry(self, attempt: int, err: TransientError | None) -> None:
        """Sleep before retry ``attempt + 1``, or stop the run when the server asks for a wait no run makes."""
        stop = far_wait(self.name, err, self.max_wait_s, " (the sessions classified so far are kept)")
        if stop is not None:
            raise stop
        self.account.count("retries")
        self._sleep(self._backoff(attempt, err.retry_after if err is not None else None))

    def _call(self, messages: list[Message]) -> tuple[Reply, float | None]:
        """One logical request: budget reservation, retries with backoff, accounting."""
        reserved = self._worst_cost(messages)
        self.account.reserve(reserved)
        try:
            attempt = 0
            while True:
                try:
                    reply = self._send(messages)
                except TransientError as exc:
                    if attempt >= self.max_retries:
                        raise LLMError(f"{self.name}: giving up after {attempt + 1} attempts: {exc}") from exc
                    self._wait_to_retry(attempt, exc)
                    attempt += 1
                    continue
                break
        except BaseException:
            self.account.release(reserved)
            raise
        cost = self._cost(reply.usage)
        self.account.settle(reserved, reply.usage, cost)
        return reply, cost

    def _send(self, messages: list[Message]) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError


MAX_SERVER_TEXT = 300


def _server_text(message: str) -> str:
    """A server's error text as a run shows and records it: one line of at most 300 characters (some servers
    quote the whole request, the session's digest included, in their error messages)."""
    text = " ".join(message.split())
    return text if len(text) <= MAX_SERVER_TEXT else text[: MAX_SERVER_TEXT - 1] + "…"


def _connection_error(exc: BaseException, url: object) -> TransientError:
    """A request that got no HTTP answer (refused, reset, timed out): the URL and the network's reason."""
    cause = exc.__cause__
    why = str(cause).strip() if cause is not None else ""
    return TransientError(f"cannot reach {url}: {_server_text(why or str(exc))} ({type(exc).__name__})")


def _api_object(obj: Any, attrs: tuple[str, ...], url: object, kind: str, hint: str) -> Any:
    """``obj`` when it has the attributes of the API's ``kind`` of object; else the run stops (the SDKs hand over
    a body that is not a JSON object as it is: a web page from a wrong ``--base-url``, a proxy's answer)."""
    if all(hasattr(obj, a) for a in attrs):
        return obj
    what = "a body that is not JSON" if isinstance(obj, str | bytes) else f"JSON that is not {kind}"
    raise _not_an_answer(url, what, hint)


def _not_an_answer(url: object, what: str, hint: str) -> LLMError:
    """An HTTP 200 whose body is not the API's response (a web page, a proxy's answer): stops the run."""
    return LLMError(f"the server at {url} did not answer like the API (it sent {what}): {hint}")


def _duration(seconds: float) -> str:
    """'86400 s (24.0 h)': a wait as a person reads it."""
    if seconds >= 3600:
        return f"{seconds:.0f} s ({seconds / 3600:.1f} h)"
    if seconds >= 120:
        return f"{seconds:.0f} s ({seconds / 60:.0f} min)"
    return f"{seconds:.0f} s"


def backoff_delay(attempt: int, retry_after: float | None, base_s: float, cap_s: float, jitter: float) -> float:
    """Seconds to wait before retry ``attempt + 1``: exponential from ``base_s`` (times ``jitter``), at least the
    server's ``Retry-After``, at most ``cap_s``."""
    delay = min(cap_s, base_s * (2**attempt)) * jitter
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap_s))
    return delay


def far_wait(who: str, err: TransientError | None, max_wait_s: float, kept: str) -> LLMError | None:
    """The error that stops a run when the server asks for a wait longer than ``max_wait_s`` (a ``Retry-After`` of
    a day: no run waits that out, and the SDKs would either sleep it or retry at once); None otherwise."""
    retry_after = err.retry_after if err is not None else None
    if err is None or retry_after is None or retry_after <= max_wait_s:
        return None
    return LLMError(
        f"{who}: the server asks to wait {_duration(retry_after)} before the next request ({err}); "
        f"a run waits at most {max_wait_s:.0f} s, so it stops here: run the same command again later{kept}"
    )


def _retry_after(headers: Any) -> float | None:
    """Seconds a server asks to wait: ``Retry-After`` (seconds or an HTTP date), else ``retry-after-ms``."""
    if headers is None:
        return None
    raw, scale = headers.get("retry-after"), 1.0
    if raw is None:
        raw, scale = headers.get("retry-after-ms"), 0.001
    if raw is None:
        return None
    try:
        value = float(raw) * scale
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(str(raw))
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        value = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, value) if math.isfinite(value) else None


def _status_error(status: int, message: str, headers: Any = None) -> LLMError:
    """Map an HTTP status to the error class that decides retry / abstain / stop."""
    message = _server_text(message)
    if status in TRANSIENT_STATUS or status >= 500:
        return TransientError(f"HTTP {status}: {message}", _retry_after(headers))
    if status in FATAL_STATUS:
        return LLMError(f"HTTP {status}: {message}")
    return RejectedRequest(f"HTTP {status}: {message}")


# -- factory --------------------------------------------------------------------------------------
def _open_cache(cache: LLMCache | Store | str | Path | bool | None, store: Store | None) -> LLMCache | None:
    if cache is False:  # explicit opt-out
        return None
    if isinstance(cache, LLMCache):
        return cache
    if cache is not None and cache is not True:
        return LLMCache(cache)
    if store is not None:
        return LLMCache(store)
    return LLMCache(default_cache_path())


def make_backend(name: str, model: str | None = None, base_url: str | None = None, **opts: Any) -> Backend:
    """Build an LLM backend.

    ``name``: ``'anthropic'`` (Messages API via the official SDK) or ``'openai'`` (any
    OpenAI-compatible server: vLLM, Ollama, llama.cpp server, OpenAI).

    Common options: ``store`` (keep the cache in this :class:`Store`'s database) or
    ``cache`` (an :class:`LLMCache`, a path, or ``False`` for none; default: the store's
    database, else :func:`default_cache_path`), ``budget_usd``, ``budget_tokens`` (condensed
    digest size, default 2000), ``concurrency`` (requests in flight), ``max_retries`` (per request),
    ``timeout_s`` (seconds per attempt; default 120 Anthropic, 300 OpenAI-compatible), ``max_tokens``,
    ``temperature``, ``redactor``, ``ner`` (the digests' redaction runs the NER model: None, the default, when it is
    installed), ``retry_abstained``.
    Prices: ``price_in`` / ``price_out`` (USD per million input / output tokens, both or neither) override the
    price list (``data/pricing.csv``), which both backends read otherwise; an OpenAI-compatible server on the local
    machine (``base_url`` on a loopback host) costs 0 unless they are given. A model with no price has an unknown
    cost, and ``budget_usd`` is then refused (:class:`ValueError`).
    Anthropic: ``api_key``, ``client`` / ``http_client`` (injection for tests), ``structured``
    (JSON-schema structured output, default True), ``batch`` (use Message Batches at half
    price), ``batch_min``, ``poll_interval_s``.
    OpenAI-compatible: ``api_key``, ``client`` / ``http_client``, ``response_format`` (``auto``, ``json_object_schema``,
    ``json_schema``, ``json_object``, ``none``).
    """
    store = opts.pop("store", None)
    cache_opt = opts.pop("cache", None)
    if name == "anthropic":
        from codecensus.classify.llm_anthropic import AnthropicBackend

        return AnthropicBackend(model, base_url=base_url, cache=_open_cache(cache_opt, store), **opts)
    if name == "openai":
        from codecensus.classify.llm_openai import OpenAIBackend

        return OpenAIBackend(model, base_url=base_url, cache=_open_cache(cache_opt, store), **opts)
    raise ValueError(f"unknown LLM backend {name!r}: use 'anthropic' or 'openai'")
