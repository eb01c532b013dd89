"""A store holding a corpus from the sample generator, ingested and measured: realistic data at test scale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codecensus.ingest import ingest
from codecensus.measure import build_sessions
from codecensus.sample import generate_corpus
from codecensus.store import Store


def generated_store(
    root: Path, *, users: int, sessions: int, seed: int, db: str = "db.duckdb", measure: bool = True, **ingest_kw: Any
) -> Store:
    """Generate ``<root>/corpus`` (2 months), ingest it into ``<root>/<db>`` and, with ``measure``, build
    its session rows. ``ingest_kw`` goes to :func:`codecensus.ingest.ingest`. The caller closes the store."""
    generate_corpus(root / "corpus", users=users, sessions=sessions, months=2, seed=seed)
    store = Store(root / db)
    ingest(store, [root / "corpus"], **ingest_kw)
    if measure:
        build_sessions(store)
    return store
