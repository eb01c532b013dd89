"""Value = professional hours x median hourly wage (BLS OEWS May 2025)."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from codecensus.classify.base import ActionEvidence, SessionEvidence
from codecensus.classify.features import extract
from codecensus.classify.value import (
    DAMPING_HOURS,
    ERROR_HOURS,
    damp,
    estimate_hours,
    raw_hours,
    value_soc_for,
    value_usd,
    wage,
    wage_table,
)
from codecensus.taxonomy import MODE_KEYS, SOC_KEYS


def test_wage_table_ships_source_and_release() -> None:
    text = resources.files("codecensus.data").joinpath("wages_oews_may2025.csv").read_text()
    head = [ln for ln in text.splitlines() if ln.startswith("#")]
    assert any("OEWS" in ln and "May 2025" in ln for ln in head)
    assert any("2026-05-15" in ln for ln in head)
    rows = list(csv.DictReader(ln for ln in text.splitlines() if not ln.startswith("#")))
    majors = {r["soc_code"][:2] for r in rows if r["group"] == "major"}
    assert majors == set(SOC_KEYS)  # every SOC major group of the taxonomy has a wage


def test_wage_lookup_and_fallbacks() -> None:
    assert wage("15-1252").hourly_median == pytest.approx(65.38)
    assert wage("15").soc == "15-0000"
    assert wage("15-9999").soc == "15-0000"  # unknown detailed code: its major group
    assert wage(None).soc == "00-0000" and wage("xx").soc == "00-0000"
    assert all(w.hourly_median > 0 for w in wage_table().values())
    assert value_usd(2.0, "15-1252") == pytest.approx(130.76)
    assert value_usd(-1, "15-1252") == 0.0


def test_value_soc_by_mode_and_domain() -> None:
    for mode in MODE_KEYS:
        assert wage(value_soc_for(mode, "15")).hourly_median > 0
    assert value_soc_for("build", "23") == "15-1252"  # code is written by software developers
    assert value_soc_for("test", "15") == "15-1253"
    assert value_soc_for("operate", "not_inferable") == "15-1244"
    assert value_soc_for("analyze", "not_inferable") == "15-2051"
    assert value_soc_for("write", "23") == "23-0000"  # legal writing: the legal group
    assert value_soc_for("write", "not_inferable") == "27-3043"


def _ev(actions: list[ActionEvidence]) -> SessionEvidence:
    return SessionEvidence("k", "k", "claude_code", {"visible_words": 0, "subagent_actions": 0},
                           prompts=["do it"], prompt_ts=[None], replies=["ok"], actions=actions,
                           reply_prompt_index=[0])


def test_hours_grow_with_output_and_are_damped() -> None:
    small = _ev([ActionEvidence("Write", "write", file_path="/r/a.py", file_op="create", input_words=300,
                                is_error=False)])
    big = _ev([ActionEvidence("Write", "write", file_path=f"/r/m{i}.py", file_op="create", input_words=3000,
                              is_error=False) for i in range(30)])
    hs, hb = estimate_hours(small, extract(small)), estimate_hours(big, extract(big))
    assert hs == pytest.approx(1.0, rel=0.1)  # 300 code words ~ one hour
    assert hb > hs
    assert raw_hours(big, extract(big)) == pytest.approx(300.0)
    assert hb < 40  # damped: 300 raw hours are not 300 hours of value
    assert damp(DAMPING_HOURS) == pytest.approx(DAMPING_HOURS * 0.693, rel=0.01)
    assert damp(0) == 0 and damp(1) < 1


def test_failed_writes_and_memory_files_add_nothing() -> None:
    ev = _ev([
        ActionEvidence("Write", "write", file_path="/r/a.py", input_words=500, is_error=True),
        ActionEvidence("Write", "write", file_path="/r/CLAUDE.md", input_words=500, is_error=False),
    ])
    # no written words count; only the diagnosis time of the one error
    assert raw_hours(ev, extract(ev)) == pytest.approx(ERROR_HOURS)
