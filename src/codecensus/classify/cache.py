"""The LLM answer cache, prices, and per-run token/cost accounting.

Cache: a DuckDB table ``llm_cache`` keyed by (sha256 of the condensed text the
model saw, backend, model, rubric hash). A re-run over the same sessions with
the same prompts and model is answered from it and costs nothing. Only
validated results are stored (the :class:`~codecensus.classify.base.Facets`
JSON, never the raw model text, which may echo the transcript), with the tokens
and cost that producing them took.

Prices: ``codecensus/data/pricing.csv`` (USD per million tokens; the most
specific ``LIKE`` pattern wins), the same table :mod:`codecensus.measure` uses.
Message Batches are billed at half price. ``--price-in/--price-out`` override the list; an
OpenAI-compatible server on the local machine (loopback) costs 0 unless they are given. A model with no
known price (no pattern, or a row of empty prices) has an unknown cost: the account records its calls as
unpriced, the cache stores their cost as NULL, and a run with ``budget_usd`` refuses to start.

Accounting: :class:`Account` counts calls, cache hits, retries, repairs,
abstentions, tokens and cost (unknown, never 0, when the price is) for a run, and enforces ``budget_usd``: every call
reserves its worst-case cost first (estimated input at full price plus
``max_tokens`` of output), and a call whose reservation would exceed the budget
is not made (:class:`BudgetExceeded`).
"""

from __future__ import annotations

import hashlib
import re
import statistics
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import orjson

from codecensus.prices import PriceRow, like_regex, price_rows
from codecensus.store import Store

__all__ = [
    "Account",
    "BudgetExceeded",
    "CacheEntry",
    "LLMCache",
    "Price",
    "Usage",
    "content_key",
    "price_for",
]

BATCH_DISCOUNT = 0.5

_DDL = """CREATE TABLE IF NOT EXISTS llm_cache (
    key VARCHAR NOT NULL, backend VARCHAR NOT NULL, model VARCHAR NOT NULL, rubric_hash VARCHAR NOT NULL,
    status VARCHAR NOT NULL, response JSON, input_tokens BIGINT, output_tokens BIGINT,
    cost_usd DOUBLE, "at" TIMESTAMPTZ DEFAULT now(),
    PRIMARY KEY (key, backend, model, rubric_hash))"""


def content_key(text: str) -> str:
    """sha256 of the condensed text (64 hex chars: also a valid Message Batches ``custom_id``)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- prices -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input: float = 0.0
    output: float = 0.0
    cache_write: float = 0.0
    cache_read: float = 0.0
    # long-context tier (data/pricing.csv): a request whose input exceeds ``tier_tokens`` is priced at ``tier``
    tier_tokens: int | None = None
    tier: Price | None = None

    def at(self, total_input: int) -> Price:
        """The prices of a request of ``total_input`` input tokens (input + cache write + cache read)."""
        if self.tier is not None and self.tier_tokens is not None and total_input > self.tier_tokens:
            return self.tier
        return self

    def cost(self, u: Usage, *, batch: bool = False) -> float:
        p = self.at(u.total_input)
        usd = (
            u.input_tokens * p.input
            + u.output_tokens * p.output
            + u.cache_write_tokens * p.cache_write
            + u.cache_read_tokens * p.cache_read
        ) / 1e6
        return usd * (BATCH_DISCOUNT if batch else 1.0)


def _price(r: PriceRow) -> Price | None:
    if r.input is None or r.output is None or r.cache_write is None or r.cache_read is None:
        return None  # the list says "unknown"
    tier = None
    if (r.tier_tokens is not None and r.input_tier is not None and r.output_tier is not None
            and r.cache_write_tier is not None and r.cache_read_tier is not None):
        tier = Price(r.input_tier, r.output_tier, r.cache_write_tier, r.cache_read_tier)
    return Price(r.input, r.output, r.cache_write, r.cache_read, r.tier_tokens if tier else None, tier)


@cache
def _price_rows() -> tuple[tuple[re.Pattern[str], int, Price | None], ...]:
    return tuple((like_regex(r.pattern), len(r.pattern), _price(r)) for r in price_rows())  # as measure reads it


def price_for(model: str) -> Price | None:
    """The list price of a model (most specific pattern; the first row of that length on a tie), or None if
    unknown: no pattern matches, or the most specific one says "unknown" (a broader one's price does not apply)."""
    best: tuple[int, Price | None] | None = None
    for rx, specificity, price in _price_rows():
        if rx.match(model) and (best is None or specificity > best[0]):
            best = (specificity, price)
    return best[1] if best else None


# -- accounting -------------------------------------------------------------------------------
@dataclass(slots=True)
class Usage:
    input_tokens: int = 0  # uncached input
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0

    def __add__(self, o: Usage) -> Usage:
        return Usage(
            self.input_tokens + o.input_tokens,
            self.output_tokens + o.output_tokens,
            self.cache_write_tokens + o.cache_write_tokens,
            self.cache_read_tokens + o.cache_read_tokens,
        )

    @property
    def total_input(self) -> int:
        return self.input_tokens + self.cache_write_tokens + self.cache_read_tokens


class BudgetExceeded(RuntimeError):
    """The next call would take the run's spend over ``budget_usd``; nothing more was sent."""

    def __init__(self, message: str, partial: Sequence[Any] | None = None) -> None:
        super().__init__(message)
        #: results obtained before the stop (None where a session was not classified)
        self.partial: list[Any] = list(partial or [])


#: what accounts of one run add up to (:meth:`Account.counts`, :meth:`Account.add`): each Ray actor keeps its own
ADDED_UP = ("calls", "batch_requests", "sessions", "cache_hits", "retries", "repairs", "abstentions", "failures",
            "input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens", "cost_usd", "saved_usd",
            "unpriced_calls", "unpriced_hits", "lost_calls")


@dataclass
class Account:
    """Token and cost accounting for one run (thread-safe)."""

    budget_usd: float | None = None
    calls: int = 0  # API requests sent (each retry and repair is a call)
    batch_requests: int = 0  # requests sent through Message Batches (also counted in calls)
    sessions: int = 0  # sessions asked for
    cache_hits: int = 0
    retries: int = 0
    repairs: int = 0
    abstentions: int = 0  # sessions answered with the explicit abstention result
    failures: int = 0  # requests the server rejected (4xx) after which the session abstained
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = 0.0  # of the priced calls; the run's cost is unknown when any call was unpriced
    saved_usd: float = 0.0  # what the cache hits had cost when they were made (those of known cost)
    unpriced_calls: int = 0  # calls made at an unknown price: their cost is unknown, not 0
    unpriced_hits: int = 0  # cache hits whose cost was not known when they were made (NULL in the cache)
    #: calls started but never answered: their process died with them in flight (a Ray actor), so their usage
    #: never came back and their cost is unknown; the budget holds back an estimate for each (:meth:`held_back`)
    lost_calls: int = 0
    #: calls started (reserved) and not yet answered or given up; another account's become lost when added
    open_calls: int = 0
    #: why a call's cost is unknown ("no price for model X; give --price-in/--price-out"); None: the price is known
    unknown_price: str | None = None
    input_tokens_condensed: list[int] = field(default_factory=list)  # estimated tokens of each condensed session
    _reserved: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: called (outside the lock) after each call is settled: a Ray actor keeps its spend where a restart finds it
    _on_settle: Callable[[], None] | None = field(default=None, repr=False)
    #: called (outside the lock) after a call is reserved, before it is sent: its start is kept as well
    _on_start: Callable[[], None] | None = field(default=None, repr=False)
    #: the whole run's budget when this account is one of several (a Ray actor's, ``budget_usd`` its share), and
    #: what the run's other accounts spent and hold (:meth:`committed` of each), given the next call's worst case and
    #: the room this account leaves them (the run's budget less what it spent and holds, the next call included):
    #: exactly, or any bound above it that fits in that room. A call is made only when it fits both
    _run_budget_usd: float | None = field(default=None, repr=False)
    _elsewhere: Callable[[float, float], float] | None = field(default=None, repr=False)

    @staticmethod
    def committed(counts: Mapping[str, Any], next_usd: float) -> float:
        """What an account's :meth:`counts` commit of a budget: its cost, its calls in flight (their worst case) and
        an estimate for its lost calls (the mean cost of its answered priced calls, else ``next_usd`` each)."""
        lost = counts.get("lost_calls", 0)
        priced = counts.get("calls", 0) - counts.get("unpriced_calls", 0)
        mean = counts.get("cost_usd", 0.0) / priced if priced > 0 else next_usd
        return counts.get("cost_usd", 0.0) + counts.get("reserved_usd", 0.0) + lost * mean

    def held_back(self, next_usd: float) -> float:
        """What the budget holds back for the lost calls (call with the lock held): the mean cost of an answered
        priced call each, or the next call's worst case while none was answered."""
        if not self.lost_calls:
            return 0.0
        priced = self.calls - self.unpriced_calls
        return self.lost_calls * (self.cost_usd / priced if priced > 0 else next_usd)

    def reserve(self, usd: float) -> None:
        """Reserve the worst-case cost of one call, or raise :class:`BudgetExceeded`."""
        others = None
        if self._elsewhere is not None and self._run_budget_usd is not None:
            with self._lock:
                mine = self.cost_usd + self.held_back(usd) + self._reserved + usd
            if self.budget_usd is None or mine <= self.budget_usd + 1e-12:  # (else refused below, nothing to read)
                others = self._elsewhere(usd, self._run_budget_usd - mine)  # (outside the lock: other actors' files)
        with self._lock:
            lost = self.held_back(usd)
            if (self.budget_usd is not None
                    and self.cost_usd + lost + self._reserved + usd > self.budget_usd + 1e-12):
                raise BudgetExceeded(
                    f"budget ${self.budget_usd:.4f} reached: spent ${self.cost_usd:.4f}, "
                    + (f"held back ${lost:.4f} for {self.lost_calls} lost calls, " if lost else "")
                    + f"in flight ${self._reserved:.4f}, next call up to ${usd:.4f}"
                )
            if (others is not None and self._run_budget_usd is not None
                    and others + self.cost_usd + lost + self._reserved + usd > self._run_budget_usd + 1e-12):
                raise BudgetExceeded(
                    f"the run's budget ${self._run_budget_usd:.4f} reached: the other actors spent and hold "
                    f"${others:.4f}, this one spent ${self.cost_usd:.4f}"
                    + (f", held back ${lost:.4f} for {self.lost_calls} lost calls" if lost else "")
                    + f", in flight ${self._reserved:.4f}, next call up to ${usd:.4f}"
                )
            self._reserved += usd
            self.open_calls += 1
        if self._on_start is not None:
            self._on_start()

    def settle(self, reserved: float, usage: Usage, cost: float | None, *, batch: bool = False) -> None:
        """Replace a reservation with what the call actually cost (None: unknown, the model has no price)."""
        with self._lock:
            self._reserved = max(0.0, self._reserved - reserved)
            self.open_calls = max(0, self.open_calls - 1)
            self.calls += 1
            if batch:
                self.batch_requests += 1
            self.input_tokens += usage.input_tokens
            self.output_tokens += usage.output_tokens
            self.cache_write_tokens += usage.cache_write_tokens
            self.cache_read_tokens += usage.cache_read_tokens
            if cost is None:
                self.unpriced_calls += 1
            else:
                self.cost_usd += cost
        if self._on_settle is not None:
            self._on_settle()

    def release(self, reserved: float) -> None:
        """Drop a reservation whose call was not completed (it failed before any usage)."""
        with self._lock:
            self._reserved = max(0.0, self._reserved - reserved)
            self.open_calls = max(0, self.open_calls - 1)

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def hit(self, cost: float | None) -> None:
        with self._lock:
            self.cache_hits += 1
            if cost is None:
                self.unpriced_hits += 1
            else:
                self.saved_usd += cost

    def cost(self) -> float | None:
        """What the run's calls cost, None when any of them was made at an unknown price."""
        with self._lock:
            return None if self.unpriced_calls else self.cost_usd

    def cost_text(self) -> str:
        """The run's cost as the summary and the manifest say it: '$0.0123', or 'unknown (why)'."""
        cost = self.cost()
        if cost is None:
            return f"unknown ({self.unknown_price or 'no price for the model'})"
        return f"${cost:.4f}"

    def counts(self, since: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What this account counted, as plain values (JSON): all of it, or what it counted after ``since`` (an
        earlier ``counts()`` of this account). A Ray actor sends them with each part; the driver adds them up
        (:meth:`add`)."""
        with self._lock:
            d: dict[str, Any] = {k: getattr(self, k) - (since[k] if since else 0) for k in ADDED_UP}
            d["input_tokens_condensed"] = self.input_tokens_condensed[len(since["input_tokens_condensed"]) if since
                                                                      else 0:]
            d["unknown_price"] = self.unknown_price
            d["open_calls"] = self.open_calls
            d["reserved_usd"] = self._reserved  # (not added up: what another actor sees this one holds)
        return d

    def add(self, counts: Mapping[str, Any]) -> None:
        """Add what another account counted (its :meth:`counts`, e.g. a Ray actor's) to this one. A cost unknown
        there (calls of unknown price) makes this account's cost unknown too. Its calls still open (started, never
        answered: the process that kept it is gone, or done with them) are added as lost calls."""
        with self._lock:
            for k in ADDED_UP:
                setattr(self, k, getattr(self, k) + counts.get(k, 0))
            self.lost_calls += counts.get("open_calls", 0)
            self.input_tokens_condensed.extend(counts["input_tokens_condensed"])
            if self.unknown_price is None:
                self.unknown_price = counts.get("unknown_price")

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            d: dict[str, Any] = {
                f.name: getattr(self, f.name)
                for f in fields(self)
                if not f.name.startswith("_") and f.name not in ("input_tokens_condensed", "open_calls")
            }
            toks = sorted(self.input_tokens_condensed)
        if toks:
            d["condensed_tokens_median"] = statistics.median(toks)
            d["condensed_tokens_p90"] = toks[min(len(toks) - 1, int(0.9 * len(toks)))]
        # unknown, not 0: a run whose calls had no price has no cost to state
        d["cost_usd"] = None if d["unpriced_calls"] else round(d["cost_usd"], 6)
        d["saved_usd"] = None if d["unpriced_hits"] else round(d["saved_usd"], 6)
        d["cost"] = self.cost_text()
        if d["lost_calls"]:  # their usage never came back: the cost stated is of the answered calls only
            d["cost"] += f" + {d['lost_calls']} lost calls of unknown cost"
        return d


# -- the cache ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CacheEntry:
    key: str
    status: str  # 'ok' | 'abstained'
    response: dict[str, Any]  # Facets as JSON
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # None (NULL): the model had no known price when it was answered


class LLMCache:
    """``llm_cache`` in a :class:`Store`, a DuckDB connection, or a database file of its own."""

    def __init__(self, target: Store | duckdb.DuckDBPyConnection | str | Path) -> None:
        self._own = False
        if isinstance(target, Store):
            self.con = target.con
        elif isinstance(target, duckdb.DuckDBPyConnection):
            self.con = target
        else:
            p = Path(target).expanduser()
            if str(p) != ":memory:":
                p.parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(p))
            self._own = True
        self._lock = threading.Lock()
        with self._lock:
            self.con.execute(_DDL)

    def close(self) -> None:
        if self._own:
            self.con.close()

    def get_many(
        self, keys: Iterable[str], *, backend: str, model: str, rubric_hash: str
    ) -> dict[str, CacheEntry]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        out: dict[str, CacheEntry] = {}
        with self._lock:
            for i in range(0, len(wanted), 5000):
                chunk = wanted[i : i + 5000]
                rows = self.con.execute(
                    "SELECT key, status, response, input_tokens, output_tokens, cost_usd FROM llm_cache "
                    "WHERE backend = ? AND model = ? AND rubric_hash = ? AND list_contains(?, key)",
                    [backend, model, rubric_hash, chunk],
                ).fetchall()
                for k, status, resp, ti, to, cost in rows:
                    out[k] = CacheEntry(k, status, orjson.loads(resp), int(ti or 0), int(to or 0),
                                        None if cost is None else float(cost))
        return out

    def put(
        self,
        key: str,
        *,
        backend: str,
        model: str,
        rubric_hash: str,
        status: str,
        response: dict[str, Any],
        usage: Usage,
        cost_usd: float | None,
    ) -> None:
        """Store one validated result; ``cost_usd`` None (unknown price) is stored as NULL, never 0."""
        with self._lock:
            self.con.execute(
                "INSERT OR REPLACE INTO llm_cache VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                [
                    key,
                    backend,
                    model,
                    rubric_hash,
                    status,
                    orjson.dumps(response).decode(),
                    usage.total_input,
                    usage.output_tokens,
                    cost_usd,
                ],
            )

    def count(self) -> int:
        with self._lock:
            rows = self.con.execute("SELECT count(*) FROM llm_cache").fetchall()
        return int(rows[0][0])
