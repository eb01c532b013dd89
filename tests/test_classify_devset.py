"""The dev set: a valid labels file, and (with ../shared) the offline rules beat every constant baseline."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from codecensus.classify.eval import evaluate, filter_labels, read_labels
from codecensus.taxonomy import EXPERTISE_LEVELS, MODE_KEYS, OCCUPATION_KEYS, OUTCOME_KEYS

LABELS = Path(__file__).parent / "devset" / "labels.csv"


def test_labels_file_is_valid() -> None:
    labs = read_labels(LABELS)
    assert len(labs) >= 60
    assert len({lab.key for lab in labs}) == len(labs)
    for lab in labs:
        v = lab.values
        assert v.get("mode", "build") in MODE_KEYS
        assert v["occupation"] in OCCUPATION_KEYS
        assert int(v.get("expertise", 3)) in EXPERTISE_LEVELS
        assert v["outcome"] in OUTCOME_KEYS
        assert lab.extra["split"] in ("A", "B")
    assert len(filter_labels(labs, "split=B")) >= 60 // 2
    # labels only: no free text columns
    header = [ln for ln in LABELS.read_text().splitlines() if not ln.startswith("#")][0]
    assert header == "session_id,mode,occupation,expertise,outcome,split"


@pytest.mark.shared
@pytest.mark.slow
def test_offline_rules_beat_constant_baselines(shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Structure-only rules (no embedder, for speed) on the real sample sessions, without any network."""
    from codecensus.classify.run import classify_store, make_backend
    from codecensus.ingest import ingest
    from codecensus.measure import build_sessions
    from codecensus.store import Store

    def refuse(*_a: Any, **_k: Any) -> None:
        raise AssertionError("network use")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    st = Store(tmp_path / "dev.duckdb")
    ingest(st, [shared / "data" / "transcripts"], user_from_dir=True, workers=2, settle_s=0)
    build_sessions(st)
    stats = classify_store(st, make_backend("offline", store=st, embedder=None))  # type: ignore[arg-type]
    assert stats.classified == st.one("SELECT count(*) FROM sessions")[0]  # type: ignore[index]
    # every facet filled or explicitly abstained
    nulls = st.one(
        "SELECT count(*) FROM facets WHERE mode IS NULL OR occupation IS NULL OR expertise IS NULL "
        "OR outcome IS NULL OR outcome_score IS NULL OR value_usd IS NULL OR summary IS NULL"
    )
    assert nulls == (0,)
    rep = evaluate(st, read_labels(LABELS))
    st.close()
    assert rep["unmatched_labels"] == 0
    f = rep["facets"]
    assert f["mode"]["accuracy"] >= f["mode"]["accuracy_constant"] + 0.2
    assert f["mode"]["macro_f1"] >= f["mode"]["macro_f1_constant"] + 0.2
    assert f["occupation"]["accuracy"] >= f["occupation"]["accuracy_constant"] + 0.1
    assert f["occupation"]["precision_where_inferred"] >= 0.6
    assert f["outcome"]["accuracy"] >= f["outcome"]["accuracy_constant"] + 0.15
    assert f["outcome"]["success_vs_not_accuracy"] >= f["outcome"]["success_vs_not_accuracy_constant"] + 0.15
    assert f["expertise"]["quadratic_kappa"] >= 0.2
    assert f["expertise"]["within_1"] >= 0.85
