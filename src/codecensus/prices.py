"""The price list (``data/pricing.csv``, USD per million tokens): one reader for measure (session costs, SQL LIKE),
the LLM backends' cost estimate (classify.cache) and every run's manifest (its hash)."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from typing import NamedTuple


class PriceRow(NamedTuple):
    pattern: str  # SQL LIKE, matched case-insensitively: % any text, _ one character; the longest pattern wins
    input: float
    output: float
    cache_write: float
    cache_read: float


@cache
def price_list_text() -> str:
    return resources.files("codecensus.data").joinpath("pricing.csv").read_text(encoding="utf-8")


@cache
def price_rows() -> tuple[PriceRow, ...]:
    lines = (line for line in price_list_text().splitlines() if line.strip() and not line.startswith("#"))
    return tuple(PriceRow(r["pattern"], float(r["input"]), float(r["output"]), float(r["cache_write"]),
                          float(r["cache_read"])) for r in csv.DictReader(lines))


__all__ = ["PriceRow", "price_list_text", "price_rows"]
