"""The evidence set-up tables under a DuckDB limit too small for them: the limit grows for that step only."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from codecensus.classify.evidence import _prepare, load_evidence
from genstore import generated_store


def test_prepare_retries_out_of_memory_and_restores_the_limit(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = generated_store(tmp_path, users=4, sessions=40, seed=3, workers=0)
    keys = [r[0] for r in store.con.execute("SELECT session_key FROM sessions").fetchall()]
    expected = load_evidence(store, keys)
    with store.memory_limit("2MiB"):
        before = store.one("SELECT current_setting('memory_limit')")
        with caplog.at_level(logging.WARNING, logger="codecensus.classify.evidence"):
            _prepare(store)
        assert "out of memory preparing the evidence tables" in caplog.text
        assert store.one("SELECT current_setting('memory_limit')") == before
        assert store.one("SELECT count(*) FROM _ev_rank")[0] > 0  # type: ignore[index]
    assert load_evidence(store, keys) == expected


def test_batch_plan_retries_out_of_memory_and_restores_the_limit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan's per-session spans grow with the store (420K sessions needed 512 MiB); under a limit too small
    for them it must retry larger, give the same batches, and leave the classify buffer as it was."""
    from codecensus.classify import evidence

    store = generated_store(tmp_path, users=4, sessions=40, seed=3, workers=0)
    keys = [r[0] for r in store.con.execute("SELECT session_key FROM sessions").fetchall()]
    expected = [b.keys for b in evidence._plan(store, keys, 7)]
    monkeypatch.setattr(evidence, "PLAN_BYTES_PER_SESSION", 0)  # no head start: the first attempt must fail
    with store.memory_limit("8MiB"):
        before = store.one("SELECT current_setting('memory_limit')")
        with caplog.at_level(logging.WARNING, logger="codecensus.classify.evidence"):
            plan = evidence._plan(store, keys, 7)
            first = next(plan)
            assert store.one("SELECT current_setting('memory_limit')") == before
        assert "out of memory planning the batches" in caplog.text
    assert [first.keys, *(b.keys for b in plan)] == expected
