"""Exports of stored tables: one row per session (shape + facets), no transcript text."""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from codecensus.measure import SESSION_COLUMNS
from codecensus.runtime import write_all
from codecensus.store import Store

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
    "summary",
    "backend",
    "model",
    "abstained",
)


def session_table(store: Store) -> pa.Table:
    """The `sessions` export: shape columns, then facet columns when classified."""
    shape = ", ".join(f's."{c}"' for c in SESSION_COLUMNS)
    if store.table_exists("facets"):
        cols = {r[0] for r in store.con.execute("DESCRIBE facets").fetchall()}
        facet = ", ".join(
            (f'f."{c}"' if c in cols else f'NULL AS "{c}"') if c != "model" else
            ('f."model" AS "model"' if "model" in cols else 'NULL AS "model"')
            for c in FACET_COLUMNS
        )
        sql = f"SELECT {shape}, {facet} FROM sessions s LEFT JOIN facets f USING (session_key) ORDER BY s.started_at, s.session_id, s.session_key"
    else:
        sql = f"SELECT {shape} FROM sessions s ORDER BY s.started_at, s.session_id, s.session_key"
    return store.query(sql)


def write_table(tbl: pa.Table, fmt: str, dest: Path | IO[str] | IO[bytes]) -> None:
    """Write ``tbl`` as jsonl, csv or parquet to a path or a text stream."""
    if fmt == "parquet":
        if not isinstance(dest, Path):
            raise ValueError("parquet needs a file path")
        pq.write_table(tbl, dest)
        return
    if fmt == "csv":
        buf = io.BytesIO()
        pacsv.write_csv(tbl, buf)
        data = buf.getvalue()
    elif fmt == "jsonl":
        opts = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
        data = b"".join(orjson.dumps(row, option=opts, default=str) for row in tbl.to_pylist())
    else:
        raise ValueError(f"unknown format {fmt!r}")
    if isinstance(dest, Path):
        dest.write_bytes(data)
    else:
        stream = getattr(dest, "buffer", None)
        if stream is not None:
            write_all(stream.write, data)  # an unbuffered stdout (PYTHONUNBUFFERED) may take part of it per call
            stream.flush()
        else:  # text stream (e.g. CliRunner)
            dest.write(data.decode())  # type: ignore[arg-type]


__all__ = ["FACET_COLUMNS", "session_table", "write_table"]
