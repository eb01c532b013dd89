"""Exports of stored tables: one row per session (shape + facets), no transcript text and, unless asked for, no
free text at all."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from codecensus.measure import SESSION_COLUMNS
from codecensus.runtime import write_all
from codecensus.store import Store, readable_times
from codecensus.taxonomy import ABSTAINING_FACETS, ABSTENTION_REASON_KEYS, abstains_sql

# Facet columns added by `codecensus classify` (table `facets`, one row per session_key).
FACET_COLUMNS = (
    "mode",
    "occupation",
    "occupation_confidence",
    "expertise",
    "outcome",
    "outcome_evidence",
    "user_planning_pct",
    "user_execution_pct",
    "value_hours",
    "value_soc",
    "value_usd",
    "backend",
    "model",
    "abstained",
    # why each facet that abstains has no finding: a key of taxonomy.ABSTENTION_REASONS, NULL where it has one
    *(f"{k}_reason" for k in ABSTAINING_FACETS),
)


def session_table(store: Store, *, summaries: bool = False) -> pa.Table:
    """The `sessions` export: shape columns, then facet columns when classified.

    No free text by default. ``summaries`` adds each session's one-line ``summary``: the offline backend writes it
    from a fixed generic vocabulary, an LLM backend in its own words about the transcript (redacted, but free text).
    """
    shape = ", ".join(f's."{c}"' for c in SESSION_COLUMNS)
    if store.table_exists("facets"):
        cols = {r[0] for r in store.con.execute("DESCRIBE facets").fetchall()}
        facet = ", ".join(
            _reason_sql(c.removesuffix("_reason"), c in cols) if c.endswith("_reason") else
            (f'f."{c}"' if c in cols else f'NULL AS "{c}"') if c != "model" else
            ('f."model" AS "model"' if "model" in cols else 'NULL AS "model"')
            for c in (*FACET_COLUMNS, *(["summary"] if summaries else []))
        )
        sql = f"SELECT {shape}, {facet} FROM sessions s LEFT JOIN facets f USING (session_key) ORDER BY s.started_at, s.session_id, s.session_key"
    else:
        sql = f"SELECT {shape} FROM sessions s ORDER BY s.started_at, s.session_id, s.session_key"
    return readable_times(store.query(sql))  # an old database's out-of-range times: null, not a failure


def _reason_sql(facet: str, stored: bool) -> str:
    """The ``<facet>_reason`` column of the export: only a key of taxonomy.ABSTENTION_REASONS, never other text.

    A facet that abstains has its stored reason; 'not_recorded' when the store has none (classified before reasons
    were stored) or holds a value this version does not know (as the report's abstentions table reads it); NULL
    where the facet holds a finding or the session is not classified."""
    keys = ", ".join(f"'{k}'" for k in ABSTENTION_REASON_KEYS)
    col = f'f."{facet}_reason"'
    known = f"CASE WHEN {col} IN ({keys}) THEN {col} ELSE 'not_recorded' END" if stored else "'not_recorded'"
    return (f'CASE WHEN f.session_key IS NOT NULL AND {abstains_sql(facet, "f." + facet)} THEN {known} END '
            f'AS "{facet}_reason"')


EXPORT_BATCH_ROWS = 10_000  # rows turned into text at a time: 400K sessions as JSON Lines took 4.9 GB at once


def write_table(tbl: pa.Table, fmt: str, dest: Path | IO[str] | IO[bytes]) -> None:
    """Write ``tbl`` as jsonl, csv or parquet to a path or a text stream, :data:`EXPORT_BATCH_ROWS` rows at a time."""
    if fmt == "parquet":
        if not isinstance(dest, Path):
            raise ValueError("parquet needs a file path")
        pq.write_table(tbl, dest)
        return
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"unknown format {fmt!r}")
    chunks = _csv_chunks(tbl) if fmt == "csv" else _jsonl_chunks(tbl)
    if isinstance(dest, Path):
        with open(dest, "wb") as fh:
            for data in chunks:
                fh.write(data)
        return
    stream = getattr(dest, "buffer", None)
    for data in chunks:
        if stream is not None:
            write_all(stream.write, data)  # an unbuffered stdout (PYTHONUNBUFFERED) may take part of it per call
        else:  # text stream (e.g. CliRunner)
            dest.write(data.decode())  # type: ignore[arg-type]
    if stream is not None:
        stream.flush()


def _jsonl_chunks(tbl: pa.Table) -> Iterator[bytes]:
    opts = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
    for batch in tbl.to_batches(max_chunksize=EXPORT_BATCH_ROWS):
        yield b"".join(orjson.dumps(row, option=opts, default=str) for row in batch.to_pylist())


def _csv_chunks(tbl: pa.Table) -> Iterator[bytes]:
    """The table as CSV, one batch at a time, with the header once (the bytes of one ``write_csv`` of the table)."""
    parts = (pa.Table.from_batches([b], schema=tbl.schema) for b in tbl.to_batches(max_chunksize=EXPORT_BATCH_ROWS))
    for i, part in enumerate(parts if tbl.num_rows else [tbl]):  # an empty table: its header alone
        buf = io.BytesIO()
        pacsv.write_csv(part, buf, write_options=pacsv.WriteOptions(include_header=i == 0))
        yield buf.getvalue()


__all__ = ["FACET_COLUMNS", "session_table", "write_table"]
