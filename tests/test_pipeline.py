"""The main job end to end on a small generated corpus (the same code path as `make demo`)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from rich.console import Console

from codecensus.pipeline import run_demo


def test_demo_pipeline_small(tmp_path: Path) -> None:
    html = run_demo(tmp_path / "demo", users=40, sessions=200, months=6, seed=3, console=Console(quiet=True))
    assert html.exists() and html.stat().st_size > 100_000
    text = html.read_text()
    assert "<script" in text and "cdn." not in text  # self-contained
    man = json.loads((html.parent / "manifest-demo.json").read_text())
    assert set(man["timings_s"]) >= {"ingest", "classify (offline)", "cluster topics", "report"}
    from codecensus.manifest import price_list_hash

    assert man["price_list"] == price_list_hash() and len(man["price_list"]) == 16  # the costs' prices
    con = duckdb.connect(str(tmp_path / "demo" / "codecensus.duckdb"), read_only=True)
    n_sessions, n_facets = con.execute("SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM facets)").fetchall()[0]
    assert n_sessions == 200 and n_facets == 200
    assert con.execute("SELECT count(*) FROM clusters").fetchall()[0][0] > 0
    assert con.execute("SELECT count(*) FROM git_agent_monthly").fetchall()[0][0] > 0
    con.close()
