"""The price list (``data/pricing.csv``, USD per million tokens): one reader for measure (session costs, SQL LIKE),
the LLM backends' cost estimate (classify.cache) and every run's manifest (its hash)."""

from __future__ import annotations

import csv
import re
from functools import cache
from importlib import resources
from typing import NamedTuple


class PriceRow(NamedTuple):
    pattern: str  # SQL LIKE, matched case-insensitively: % any text, _ one character; the longest pattern wins
    # None (empty in the CSV): the price is unknown. A row of unknown price still wins over shorter patterns, so a
    # model it names has an unknown cost (NULL), not the price of a broader pattern.
    input: float | None
    output: float | None
    cache_write: float | None
    cache_read: float | None
    # Long-context tier: a request whose input (input + cache read + cache creation tokens) exceeds ``tier_tokens``
    # is priced at the ``*_tier`` prices, all its tokens; None: one price at any length.
    tier_tokens: int | None = None
    input_tier: float | None = None
    output_tier: float | None = None
    cache_write_tier: float | None = None
    cache_read_tier: float | None = None


_PRICES = ("input", "output", "cache_write", "cache_read")
_TIER = ("input_tier", "output_tier", "cache_write_tier", "cache_read_tier")


def _number(text: str | None) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


def _row(r: dict[str, str]) -> PriceRow:
    base = [_number(r[k]) for k in _PRICES]
    if any(p is None for p in base) and any(p is not None for p in base):
        raise ValueError(f"pricing.csv: {r['pattern']}: give all four prices or none (unknown)")
    tokens = _number(r.get("tier_tokens"))
    tier = [_number(r.get(k)) for k in _TIER]
    if (tokens is None) != all(p is None for p in tier) or (tokens is not None and None in tier + base):
        raise ValueError(f"pricing.csv: {r['pattern']}: a tier needs its threshold, all four prices and a base price")
    return PriceRow(r["pattern"], *base, None if tokens is None else int(tokens), *tier)


@cache
def price_list_text() -> str:
    return resources.files("codecensus.data").joinpath("pricing.csv").read_text(encoding="utf-8")


def read_price_list(text: str) -> tuple[PriceRow, ...]:
    """The rows of a price list in pricing.csv's form (blank lines and ``#`` comments skipped), checked."""
    lines = (line for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return tuple(_row(r) for r in csv.DictReader(lines))


@cache
def price_rows() -> tuple[PriceRow, ...]:
    return read_price_list(price_list_text())


def like_regex(pattern: str) -> re.Pattern[str]:
    """A row's pattern as measure's SQL LIKE reads it (% any text, _ one character, case-insensitive)."""
    return re.compile("^" + "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern) + "$",
                      re.IGNORECASE)


__all__ = ["PriceRow", "like_regex", "price_list_text", "price_rows", "read_price_list"]
