"""The report on the real sample sessions in ../shared, with lowered thresholds (as an individual would).

Ingests the Claude Code samples, classifies them with the offline backend, and checks that the
regression table and the reweighted trends are produced, that every figure says why it is missing
when it is, and that no transcript text reaches the report. Never prints transcript text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from codecensus.store import Store

pytestmark = [pytest.mark.shared, pytest.mark.slow]


@pytest.fixture(scope="module")
def real_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, object]:
    from codecensus.classify.run import classify_store, make_backend
    from codecensus.ingest import ingest
    from codecensus.measure import build_sessions
    from codecensus.report.build import ReportOptions, write_report

    from conftest import shared_dir

    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared data not present")
    roots = sorted(p for p in (shared / "data" / "transcripts").iterdir() if p.name.startswith("claude_code__"))
    root = tmp_path_factory.mktemp("real_report")
    store = Store(root / "real.duckdb")
    stats = ingest(store, roots, fmt="claude_code", user_from_dir=True, workers=2)
    assert stats.files_failed == 0
    build_sessions(store)
    classify_store(store, make_backend("offline", store=store))
    res = write_report(store, ReportOptions(out=root / "out", individual=True, bootstrap=100))
    yield store, res
    store.close()


def test_regression_and_reweighted_trends_on_real_sessions(real_report: tuple[Store, object]) -> None:
    store, res = real_report
    figs = {f.id: f for f in res.computed.figures}  # type: ignore[attr-defined]
    n = store.one("SELECT count(*) FROM sessions")
    assert n is not None and res.computed.sessions == n[0] > 300  # type: ignore[attr-defined]
    reg = figs["regression"]
    assert reg.available, reg.reason
    released = reg.table[~reg.table["suppressed"]]
    assert len(released) >= 2 and released["reference"].sum() == 1
    assert released[~released["reference"]]["ci_low"].notna().all()
    for fid in ("value_by_month", "success_trend"):
        f = figs[fid]
        assert f.available, (fid, f.reason)
        rw = f.table[(f.table["variable"] == "reweighted") & ~f.table["suppressed"]]
        assert len(rw) >= 6, fid
    for f in figs.values():
        assert f.available or f.reason


def test_no_transcript_text_in_the_real_report(real_report: tuple[Store, object]) -> None:
    store, res = real_report
    html = Path(res.html).read_text()  # type: ignore[attr-defined]
    head = html[: html.index("<main")]
    assert 'id="individual-banner"' in head
    prompts = [r[0] for r in store.con.execute(
        "SELECT text FROM prompts WHERE length(text) >= 40 ORDER BY file_id, line LIMIT 300").fetchall()]
    assert prompts
    leaked = sum(1 for p in prompts if p[:40] in html)
    assert leaked == 0, f"{leaked} prompt openings found in the report"  # counts only, never the text
