"""benchmarks/e2e_400k.py: the rounds mode (generate, ingest, delete) and the RESULTS block it writes.

Timings are never asserted; what is checked is that every generated session reaches the database,
that no round's transcripts stay on disk, and that the block says how the figures were obtained.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def e2e() -> ModuleType:
    path = REPO / "benchmarks" / "e2e_400k.py"
    spec = importlib.util.spec_from_file_location("e2e_400k_under_test", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _args(tmp: Path, **kw: object) -> argparse.Namespace:
    a = argparse.Namespace(sessions=12, chunk=3, gen_workers=2, users_per_chunk=2, lean=160, workers=1,
                           classify="parallel", embedder="use", duckdb_memory="256MB", corpus=tmp / "corpus",
                           db=tmp / "e2e.duckdb")
    for k, v in kw.items():
        setattr(a, k, v)
    return a


def test_rounds_ingest_every_session_and_delete_each_round(e2e: ModuleType, tmp_path: Path) -> None:
    from codecensus.measure import build_sessions
    from codecensus.store import Store

    a = _args(tmp_path)
    row, gen = e2e.ingest_in_rounds(a)
    assert gen["rounds"] == 2  # 12 sessions in rounds of 2 x 3
    assert gen["sessions"] == 12
    assert row["stage"] == "ingest" and row["failed"] == 0 and row["files"] >= 12
    assert row["wall_s"] >= row["startup_s"] > 0
    assert row["rss_mb"] > 0 and 0 < row["pss_mb"] <= row["rss_mb"]
    assert 0 < gen["max_round_mb"] < 0.8 * row["mb"]  # one round on disk at a time, never the whole corpus
    assert not list(a.corpus.glob("chunk-*"))  # every round's transcripts deleted
    st = Store(a.db)
    try:
        assert build_sessions(st) == 12
        users = st.one('SELECT count(DISTINCT "user") FROM sessions')[0]
        assert users >= 4  # users of different chunks stay distinct
    finally:
        st.close()

    block = e2e.render(a, gen, [row], 12, row["mb"])
    assert block.startswith(e2e.MARK_BEGIN) and block.endswith(e2e.MARK_END)
    assert "2 rounds of up to 6 sessions" in block
    assert "deleted after it was ingested" in block and "generation is not counted" in block
    assert "| ingest |" in block and "peak PSS" in block and "(mean " in block


def test_write_results_replaces_only_the_block(e2e: ModuleType, tmp_path: Path) -> None:
    res = tmp_path / "RESULTS.md"
    res.write_text(f"before\n{e2e.MARK_BEGIN}\nold\n{e2e.MARK_END}\nafter\n")
    e2e.write_results(res, f"{e2e.MARK_BEGIN}\nnew\n{e2e.MARK_END}")
    assert res.read_text() == f"before\n{e2e.MARK_BEGIN}\nnew\n{e2e.MARK_END}\nafter\n"
    (tmp_path / "none.md").write_text("no block")
    with pytest.raises(SystemExit):
        e2e.write_results(tmp_path / "none.md", "x")
