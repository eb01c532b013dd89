"""build_sessions under a DuckDB memory limit too small for it: rolled back, retried larger, same rows."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from codecensus.measure import build_sessions
from codecensus.store import Store
from genstore import generated_store


def _rows(store: Store) -> list[tuple[object, ...]]:
    return store.con.execute("SELECT * FROM sessions ORDER BY session_key").fetchall()


def test_out_of_memory_retries_with_a_larger_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = generated_store(tmp_path, users=6, sessions=60, seed=11, workers=0)
    expected = _rows(store)
    assert len(expected) >= 60

    # 1 MB cannot hold the message groups' aggregate: the first attempt must fail and be retried.
    monkeypatch.setenv("CODECENSUS_MEASURE_MEMORY", "1MB")
    store.con.execute("DROP TABLE sessions")
    with caplog.at_level(logging.WARNING, logger="codecensus.measure"):
        n = build_sessions(store)
    assert "out of memory at memory_limit=1MB" in caplog.text
    assert n == len(expected)
    assert _rows(store) == expected
    # The limit in force afterwards is the store's own again, and no temp table is left behind.
    temps = store.con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    assert temps == []
    store.close()


class _Rows:
    """A store stand-in that only answers the largest raw table's row count."""

    def __init__(self, rows: int) -> None:
        self.rows = rows

    def largest_table_rows(self, tables: tuple[str, ...]) -> int:
        assert "messages" in tables
        return self.rows


def test_first_limit_follows_the_largest_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from codecensus.measure import _measure_limits

    monkeypatch.delenv("CODECENSUS_MEASURE_MEMORY", raising=False)
    assert _measure_limits(_Rows(0)) == ["128MB", "512MB", "2GB", "8GB"]
    assert _measure_limits(_Rows(3_000_000)) == ["128MB", "512MB", "2GB", "8GB"]
    # 400K generated sessions: 24.5M message rows failed at 128 MB and fit in 512 MB
    assert _measure_limits(_Rows(24_500_000)) == ["512MB", "2GB", "8GB"]
    assert _measure_limits(_Rows(10**10)) == ["8GB"]
    monkeypatch.setenv("CODECENSUS_MEASURE_MEMORY", "64MB")  # the user's choice comes first, whatever the size
    assert _measure_limits(_Rows(24_500_000)) == ["64MB", "512MB", "2GB", "8GB"]
