"""Parquet partitions between distributed workers and the DuckDB store.

Layout of one run under an output dir or URL (``out``)::

    <out>/<run>/files/*.parquet          one row per input file: bookkeeping, status, error
    <out>/<run>/<table>/<part>.parquet   raw rows (prompts, messages, actions, results, events,
                                         session_files, ingest_log) written by the worker that parsed them
    <out>/<run>/facets/*.parquet         classify results (one row per session)

Workers write parts named after the content of their batch, so a retried task
overwrites its own parts instead of adding duplicates; the loader keeps only
rows whose ``file_id`` the ``files`` partitions report as parsed, so a part
left by a task that failed after writing is ignored.

Loading is one DuckDB transaction per run: old rows of re-parsed files are
deleted, every table is inserted with ``INSERT ... SELECT`` straight from the
Parquet files (streamed: memory does not grow with the corpus), and the
``files`` bookkeeping rows are upserted last.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from codecensus.engine.fs import join, output_fs
from codecensus.records import ROW_TYPES, BadLine, SessionInfo
from codecensus.store import Store, rollback
from codecensus.store.db import RAW_TABLES

TABLE_SCHEMAS: dict[str, pa.Schema] = {
    **{cls.TABLE: cls.ARROW for cls in ROW_TYPES},
    SessionInfo.TABLE: SessionInfo.ARROW,
    BadLine.TABLE: BadLine.ARROW,
}

# One row per input file, produced by the ingest workers (the `files` table plus run status).
FILES_SCHEMA = pa.schema(
    [
        ("file_id", pa.string()),
        ("path", pa.string()),
        ("source", pa.string()),
        ("role", pa.string()),
        ("session_key", pa.string()),
        ("user_name", pa.string()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("consumed", pa.int64()),
        ("lines", pa.int64()),
        ("head_hash", pa.string()),
        ("tail_hash", pa.string()),
        ("parser_version", pa.string()),
        ("replace", pa.bool_()),
        ("status", pa.string()),  # parsed | undetected | failed
        ("error", pa.string()),
        ("bad_lines", pa.int64()),
        ("sessions", pa.list_(pa.string())),
        ("ord", pa.int64()),
        ("checked_at", pa.float64()),  # when the driver stat'ed or listed the file (epoch s): stored as ingested_at
        ("ctime_ns", pa.int64()),  # local files: from the driver's stat (Store.FileCommit.ctime_ns)
        ("inode", pa.uint64()),
    ]
)
ROW_COLUMN = "_row"  # position of a row in its part: with the file's ``ord``, restores the parser's order
STORE_FILES_COLUMNS = (
    "file_id", "path", "source", "role", "session_key", "user_name", "size", "mtime_ns",
    "consumed", "lines", "head_hash", "tail_hash", "parser_version", "ctime_ns", "inode",
)


def part_name(keys: Iterable[str]) -> str:
    """Deterministic part name for a batch (a retried task overwrites its own files)."""
    h = hashlib.sha1()
    for k in keys:
        h.update(k.encode())
        h.update(b"\0")
    return f"part-{h.hexdigest()[:16]}.parquet"


def write_tables(
    out: str, tables: dict[str, list[pa.Table]], name: str, options: dict[str, Any] | None = None
) -> dict[str, int]:
    """Write each non-empty table as ``<out>/<table>/<name>``. Returns rows written per table."""
    fs, root = output_fs(out, options)
    written: dict[str, int] = {}
    for table, parts in tables.items():
        parts = [p for p in parts if p.num_rows]
        if not parts:
            continue
        tbl = pa.concat_tables(parts).cast(TABLE_SCHEMAS.get(table, parts[0].schema))
        tbl = tbl.append_column(ROW_COLUMN, pa.array(range(tbl.num_rows), pa.int64()))
        d = join(root, table)
        fs.makedirs(d, exist_ok=True)
        with fs.open(join(d, name), "wb") as fh:
            pq.write_table(tbl, fh, compression="zstd")
        written[table] = tbl.num_rows
    return written


def _list_parts(fs: Any, root: str, table: str) -> list[str]:
    d = join(root, table)
    if not fs.exists(d):
        return []
    return sorted(p for p in fs.find(d) if p.endswith(".parquet"))


def read_table(out: str, table: str, options: dict[str, Any] | None = None) -> pa.Table | None:
    """All partitions of ``table`` under ``out`` as one Arrow table (for small tables: files, facets)."""
    fs, root = output_fs(out, options)
    parts = _list_parts(fs, root, table)
    if not parts:
        return None
    tbls = []
    for p in parts:
        with fs.open(p, "rb") as fh:
            tbls.append(pq.read_table(fh))
    return pa.concat_tables(tbls, promote_options="default")


def _is_local(fs: Any) -> bool:
    proto = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return proto in ("file", "local")


def _scan(store: Store, fs: Any, parts: list[str], view: str) -> Callable[[], None]:
    """Make ``view`` a streaming scan over the Parquet parts; returns its cleanup."""
    con = store.con
    if _is_local(fs):
        lst = ", ".join("'" + p.replace("'", "''") + "'" for p in parts)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM read_parquet([{lst}])")
        return lambda: con.execute(f"DROP VIEW IF EXISTS {view}") and None
    import pyarrow.dataset as ds
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    con.register(view, ds.dataset(parts, filesystem=PyFileSystem(FSSpecHandler(fs)), format="parquet"))
    return lambda: con.unregister(view) and None


@dataclass(slots=True)
class LoadStats:
    files: int = 0
    replaced: int = 0
    rows: dict[str, int] | None = None


def load_ingest(store: Store, out: str, files: pa.Table, options: dict[str, Any] | None = None) -> LoadStats:
    """Load one run's raw partitions into the store's raw tables, in one transaction.

    ``files`` is the run's ``files`` partition table; only rows of files with
    ``status = 'parsed'`` are loaded.
    """
    fs, root = output_fs(out, options)
    con = store.con
    ok = files.filter(pc.equal(files["status"], "parsed"))
    stats = LoadStats(files=ok.num_rows, rows={})
    if ok.num_rows == 0:
        return stats
    existing = {r[0] for r in con.execute("SELECT file_id FROM files").fetchall()}
    replaced = [f for f in ok["file_id"].to_pylist() if f in existing]
    stats.replaced = len(replaced)
    con.register("_ok_files", ok.select([*STORE_FILES_COLUMNS, "ord", "checked_at"]))
    con.execute("BEGIN TRANSACTION")
    try:
        store.note_for_measure(ok["file_id"].to_pylist(), replaced)
        if replaced:
            con.register("_replaced", pa.table({"file_id": replaced}))
            for t in RAW_TABLES:
                con.execute(f"DELETE FROM {t} WHERE file_id IN (SELECT file_id FROM _replaced)")
            con.unregister("_replaced")
        for t in RAW_TABLES:
            parts = _list_parts(fs, root, t)
            if not parts:
                continue
            cols = ", ".join(f'"{c}"' for c in TABLE_SCHEMAS[t].names)
            pcols = ", ".join(f'p."{c}"' for c in TABLE_SCHEMAS[t].names)
            done = _scan(store, fs, parts, "_part_scan")
            try:
                # In discovery order, each file's rows in parser order: the same physical
                # layout as a local ingest, so even order-sensitive float sums agree.
                res = con.execute(
                    f"INSERT INTO {t} ({cols}) SELECT {pcols} FROM _part_scan p JOIN _ok_files o USING (file_id) "
                    f"ORDER BY o.ord, p.{ROW_COLUMN}"
                ).fetchall()
            finally:
                done()
            stats.rows[t] = int(res[0][0]) if res else 0  # type: ignore[index]
        cols = ", ".join(STORE_FILES_COLUMNS)
        # ingested_at: when the file was stat'ed (as a local ingest stores it), not now: a file rewritten since, in the
        # tick of that stat, must look racily clean to the next run (paths.racily_clean)
        con.execute(f"INSERT OR REPLACE INTO files ({cols}, ingested_at) SELECT {cols}, to_timestamp(checked_at) "
                    "FROM _ok_files ORDER BY ord")
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    finally:
        con.unregister("_ok_files")
    return stats
