"""scripts/pricing_from_litellm.py --check-anthropic reads pricing.csv with the app's reader (codecensus.prices)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

HEADER = "pattern,input,output,cache_write,cache_read,tier_tokens,input_tier,output_tier,cache_write_tier,cache_read_tier"


def _script() -> ModuleType:
    path = Path(__file__).parents[1] / "scripts" / "pricing_from_litellm.py"
    spec = importlib.util.spec_from_file_location("pricing_from_litellm", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _entry(usd: tuple[float, float, float, float]) -> dict[str, object]:
    keys = ("input_cost_per_token", "output_cost_per_token", "cache_creation_input_token_cost",
            "cache_read_input_token_cost")
    return {"litellm_provider": "anthropic", "mode": "chat", **{k: v / 1e6 for k, v in zip(keys, usd, strict=True)}}


def test_check_anthropic_reads_the_price_list_as_the_app_does(tmp_path: Path) -> None:
    """The check had a CSV reader of its own (its own comment filter, LIKE-to-regex and number parsing): a row the
    app refuses (three of four prices empty: `give all four prices or none`) was compared as if valid, and the
    check printed a price difference for a list the app cannot load. It now reads through codecensus.prices."""
    check = _script().check_anthropic
    data = {"claude-opus-4-6": _entry((5, 25, 6.25, 0.5)), "claude-opus-4-1": _entry((15, 75, 18.75, 1.5)),
            "claude-opus-4-20250514": _entry((1, 1, 1, 1))}  # dated: skipped
    csv_path = tmp_path / "pricing.csv"
    csv_path.write_text(f"# a comment\n{HEADER}\n\n%claude-opus-4%,9,9,9,9,,,,,\n%claude-opus-4_6%,5,25,6.25,0.5,,,,,\n"
                        "%CLAUDE-opus-4_1%,15,75,18.75,1.6,,,,,\n", encoding="utf-8")
    # the most specific pattern of each model (case-insensitive LIKE); only the one that differs is printed
    assert check(data, csv_path) == ["claude-opus-4-1: row %CLAUDE-opus-4_1% 15,75,18.75,1.6,,,,,; "
                                     "LiteLLM 15,75,18.75,1.5,,,,,"]
    csv_path.write_text(f"{HEADER}\n%claude-opus-4_6%,5,,,,,,,,\n", encoding="utf-8")
    with pytest.raises(ValueError, match="claude-opus-4_6%: give all four prices or none"):
        check(data, csv_path)
