"""The report's session rows need more than DuckDB's buffer: the limit grows for that read only."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from codecensus.aggregate import figures
from codecensus.store.db import parse_size
from genstore import generated_store


def test_report_data_retries_out_of_memory_and_restores_the_limit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = generated_store(tmp_path, users=4, sessions=40, seed=3, workers=0)
    expected = figures.load_report_data(store, None, None).df
    real_query = store.query
    limits: list[float] = []

    def query_needing_64mib(sql: str, params: list | None = None):  # type: ignore[no-untyped-def]
        """The session read, as if it needed 64 MiB (a 40-session store needs far less than any limit)."""
        limit = parse_size(str(store.one("SELECT current_setting('memory_limit')")[0]))  # type: ignore[index]
        if "FROM sessions s" in sql:
            limits.append(limit)
            if limit < 64 * 2**20:
                raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block of size 256.0 KiB")
        return real_query(sql, params)

    monkeypatch.setattr(store, "query", query_needing_64mib)
    monkeypatch.setattr(figures, "REPORT_BYTES_PER_SESSION", 0)  # no head start: the first attempt must fail
    with store.memory_limit("20MiB"):
        before = store.one("SELECT current_setting('memory_limit')")
        with caplog.at_level(logging.WARNING, logger="codecensus.aggregate.figures"):
            got = figures.load_report_data(store, None, None).df
        assert "out of memory at 20 MiB reading the sessions; retrying at 40 MiB" in caplog.text
        assert store.one("SELECT current_setting('memory_limit')") == before
    assert [round(x / 2**20) for x in limits] == [20, 40, 80]
    assert got.equals(expected)


def test_report_data_starts_with_a_buffer_for_its_sessions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 1 KB a session the read starts large enough: no failed attempt first."""
    store = generated_store(tmp_path, users=4, sessions=40, seed=3, workers=0)
    monkeypatch.setattr(figures, "REPORT_BYTES_PER_SESSION", 2**20)  # 40 sessions -> 40 MiB
    seen: list[str] = []
    real_query = store.query

    def spy(sql: str, params: list | None = None):  # type: ignore[no-untyped-def]
        if "FROM sessions s" in sql:
            seen.append(str(store.one("SELECT current_setting('memory_limit')")[0]))  # type: ignore[index]
        return real_query(sql, params)

    monkeypatch.setattr(store, "query", spy)
    with store.memory_limit("20MiB"):
        figures.load_report_data(store, None, None)
        assert store.one("SELECT current_setting('memory_limit')")[0] == "20.0 MiB"  # type: ignore[index]
    assert seen == ["40.0 MiB"]


@pytest.mark.parametrize(
    ("values", "keys"),
    [
        (pd.Series(["b", None, "a", "zz", np.nan, "b"], dtype=object), ["a", "b", "c"]),
        (pd.Series(["b", None, "a", "zz"], dtype="string[pyarrow]"), ["a", "b"]),
        (pd.Series([1.0, np.nan, 4.0, 2.5, 3.0]), [1, 2, 3, 4]),
        (pd.Series([1, None, 4, 7], dtype="Int64"), [1, 2, 3, 4]),
        (pd.Series(["2026-01", "2026-03", None]), ["2026-01", "2026-02", "2026-03"]),
        (pd.Series(["a", "b"]), []),
    ],
)
def test_codes_match_the_per_row_lookup(values: pd.Series, keys: list) -> None:
    """Each value's position in the keys by equality, as a dict lookup per row gives it; missing values -1."""
    m = {k: i for i, k in enumerate(keys)}
    expected = [m.get(v, -1) if v is not None and v is not pd.NA and v == v else -1 for v in values.astype(object)]
    got = figures._codes(values, keys)
    assert got.dtype == np.int64
    assert got.tolist() == expected
