"""Ingest under a DuckDB buffer too small for a batch commit: the limit grows, the batch commits whole."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import codecensus.store.db as db
from codecensus import ingest as ingest_mod
from codecensus.ingest import ingest
from codecensus.store import Store
from codecensus.store.db import parse_size
from genstore import generated_store

TABLES = ("prompts", "messages", "actions", "results", "events", "session_files", "ingest_log")


def _rows(store: Store) -> dict[str, list[tuple[object, ...]]]:
    return {t: sorted(map(repr, store.con.execute(f"SELECT * FROM {t}").fetchall())) for t in TABLES}


def test_out_of_memory_in_a_batch_commit_grows_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ref = generated_store(tmp_path, users=4, sessions=40, seed=5, db="ref.duckdb", measure=False, workers=0)
    expected = _rows(ref)
    assert sum(map(len, expected.values())) > 1000

    calls: list[int] = []
    real = db.Store.commit_files

    def counting(self: Store, batch: list[db.FileCommit]) -> None:
        calls.append(len(batch))
        real(self, batch)

    monkeypatch.setattr(db.Store, "commit_files", counting)
    # 4 MiB cannot hold a batch: the first commit fails and is retried at 8, 16, 32 MiB, never file by file.
    monkeypatch.setenv("CODECENSUS_INGEST_MEMORY", "4MiB")
    store = Store(tmp_path / "db.duckdb")
    before = store.one("SELECT current_setting('memory_limit')")
    with caplog.at_level(logging.WARNING, logger="codecensus.ingest"):
        stats = ingest(store, [tmp_path / "corpus"], workers=0)
    assert "out of memory at 4 MiB in a batch commit; retrying at 8 MiB" in caplog.text
    assert stats.files_failed == 0
    assert min(calls) > 1  # every attempt was a whole batch
    assert _rows(store) == expected
    after = store.one("SELECT current_setting('memory_limit')")
    assert before and after and abs((parse_size(after[0]) or 0) - (parse_size(before[0]) or 0)) <= 2**20  # the store's own


def test_ingest_buffer_grows_with_the_files_held() -> None:
    class Fake:
        def __init__(self, n: int) -> None:
            self.n = n

        def one(self, sql: str) -> tuple[int]:
            return (self.n,)

    assert ingest_mod._ingest_memory(Fake(0)) == "32MB"  # type: ignore[arg-type]
    assert ingest_mod._ingest_memory(Fake(243_421)) == "61MB"  # type: ignore[arg-type]
    assert ingest_mod._ingest_memory(Fake(500_000)) == "93MB"  # type: ignore[arg-type]
