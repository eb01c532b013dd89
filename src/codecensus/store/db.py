"""The DuckDB store.

Design rules:
- one database file; every table is created from the Arrow schemas in
  :mod:`codecensus.records` plus the few tables declared here;
- a file's rows and its ``files`` entry are committed in ONE transaction, so
  a kill at any moment leaves either the old or the new state, never half;
- bulk loads go through Arrow (``INSERT INTO t SELECT * FROM arrow``), never
  row-by-row;
- user names and project paths are hashed with a per-database salt that lives
  in the ``meta`` table; only hashes leave the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import orjson
import pyarrow as pa

from codecensus.paths import pending_runs_path
from codecensus.records import ROW_TYPES, BadLine, ParseResult, SessionInfo

SCHEMA_VERSION = 1
T = TypeVar("T")
RAW_TABLES = ("prompts", "messages", "actions", "results", "events", "session_files", "ingest_log")
# Tables that hold raw transcript text (the privacy canary checks every other table).
RAW_TEXT_TABLES = frozenset({"prompts", "messages", "actions", "results", "events", "session_files", "files", "ingest_log"})


_SECONDS_PER_UNIT = {"s": 1, "ms": 1_000, "us": 1_000_000}
# Epoch seconds of 0001-01-01 and of 10000-01-01 UTC: the dates Python can make
_PY_DATE_S = (-62_135_596_800, 253_402_300_800)


def readable_times(tbl: pa.Table) -> pa.Table:
    """``tbl`` with every timestamp outside years 1-9999 made null.

    A database written before the parsers bounded times can hold some ('9999-12-31T23:59:59-05:00' is in year
    10000 UTC): every reader that turns rows into Python values failed on them ('date value out of range' in
    `codecensus sessions`, in classify). A table without such values is returned as it is."""
    for i, field in enumerate(tbl.schema):
        per_s = _SECONDS_PER_UNIT.get(field.type.unit) if pa.types.is_timestamp(field.type) else None
        if per_s is None:  # not a timestamp, or nanoseconds (years 1677-2262 only: always readable)
            continue
        import pyarrow.compute as pc  # here: the ingest writer imports this module and not pyarrow.compute

        col = tbl.column(i)
        raw = col.cast(pa.int64())
        lo, hi = _PY_DATE_S[0] * per_s, _PY_DATE_S[1] * per_s
        mm = pc.min_max(raw).as_py()
        if mm["min"] is None or (mm["min"] >= lo and mm["max"] < hi):
            continue
        ok = pc.and_(pc.greater_equal(raw, lo), pc.less(raw, hi))
        tbl = tbl.set_column(i, field, pc.if_else(ok, col, pa.scalar(None, field.type)))
    return tbl


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction, unless DuckDB has already ended it.

    A failed COMMIT (a full disk, say) ends the transaction itself; a ROLLBACK then raises "no transaction is
    active" and hides the failure being handled. Every ``except: ROLLBACK; raise`` goes through here.
    """
    with contextlib.suppress(duckdb.TransactionException):
        con.execute("ROLLBACK")


class StoreBusy(RuntimeError):
    """Another codecensus process holds the database."""


class NotAStore(duckdb.IOException):
    """A DuckDB database that codecensus did not make (an IOException, so every "cannot open" path says it)."""


_UNITS = {"": 1, "b": 1, "bytes": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20,
          "gib": 2**30, "tib": 2**40}


def parse_size(text: str) -> float | None:
    """Bytes in a DuckDB size ('256MB', '30.5 MiB', '1.2 GiB'); None when it is not one."""
    m = re.fullmatch(r"\s*([\d.]+)\s*([a-zA-Z]*)\s*", text or "")
    if not m or m.group(2).lower() not in _UNITS:
        return None
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


def is_out_of_memory(exc: BaseException) -> bool:
    """DuckDB ran out of memory: in a statement (OutOfMemoryException) or in a COMMIT (TransactionException)."""
    msg = str(exc)
    return isinstance(exc, duckdb.OutOfMemoryException) or (
        isinstance(exc, duckdb.TransactionException)
        and ("could not allocate" in msg or "failed to pin" in msg or "Out of Memory" in msg)
    )


@dataclass(slots=True)
class FileCommit:
    """One parsed file (or appended tail) ready to be committed."""

    file_id: str
    path: str
    source: str
    role: str
    session_key: str | None
    user_name: str | None
    size: int
    mtime_ns: int
    head_hash: str
    tail_hash: str
    parser_version: str
    result: ParseResult
    replace: bool  # re-parsed whole: old rows are deleted first
    existed: bool  # the file had rows from an earlier run
    consumed: int
    lines: int
    # The caller knows no `files` row holds this id (a file new to the database, met once in its ingest):
    # its bookkeeping row goes in with a plain INSERT, cheaper than INSERT OR REPLACE's conflict check.
    new: bool = False
    # When ``size`` and ``mtime_ns`` were read (epoch seconds, taken before the stat), stored as ``ingested_at``:
    # the next ingest trusts the file as unchanged only when its mtime is safely older (paths.racily_clean).
    # None: unknown (stored NULL: the next ingest reads the file again).
    checked_at: float | None = None
    # The file's ctime and inode at that stat (None: a folder, or not known). A rewrite that puts the size and mtime
    # back (touch -r, rsync -t, an editor restoring times) changes the ctime (a rename over it: the inode).
    ctime_ns: int | None = None
    inode: int | None = None


@dataclass(frozen=True, slots=True)
class FileState:
    file_id: str
    path: str
    source: str
    size: int
    mtime_ns: int
    consumed: int
    lines: int
    head_hash: str
    tail_hash: str
    session_key: str | None
    parser_version: str | None = None
    user_name: str | None = None  # as stored: the user the file's rows are attributed to
    checked_ns: int | None = None  # ``ingested_at``: when size and mtime were read (epoch ns; None: unknown)
    ctime_ns: int | None = None  # ctime and inode at that stat (None: not known, stored before they were)
    inode: int | None = None


_STATE_COLS = (
    "file_id, path, source, size, mtime_ns, consumed, lines, head_hash, tail_hash, session_key, parser_version, user_name, "
    "epoch_ns(ingested_at), ctime_ns, inode"
)


def _duck_type(t: pa.DataType) -> str:
    if pa.types.is_string(t):
        return "VARCHAR"
    if pa.types.is_int16(t):
        return "SMALLINT"
    if pa.types.is_int32(t):
        return "INTEGER"
    if pa.types.is_int64(t):
        return "BIGINT"
    if pa.types.is_float64(t):
        return "DOUBLE"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ"
    raise TypeError(f"no DuckDB type for {t}")


def _ddl(table: str, schema: pa.Schema) -> str:
    cols = ", ".join(f'"{f.name}" {_duck_type(f.type)}' for f in schema)
    return f"CREATE TABLE IF NOT EXISTS {table} ({cols})"


_EXTRA_DDL = [
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS files (
        file_id VARCHAR PRIMARY KEY, path VARCHAR, source VARCHAR, role VARCHAR,
        session_key VARCHAR, user_name VARCHAR, size BIGINT, mtime_ns BIGINT,
        consumed BIGINT, lines BIGINT, head_hash VARCHAR, tail_hash VARCHAR,
        parser_version VARCHAR, ingested_at TIMESTAMPTZ, ctime_ns BIGINT, inode UBIGINT)""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY, command VARCHAR, started_at TIMESTAMPTZ,
        finished_at TIMESTAMPTZ, manifest JSON)""",
    # What changed in the raw tables since the last session measures (codecensus.measure reads it and clears the
    # rows it measured in the transaction that writes their sessions). A row names a file whose rows were written
    # (file_id), or a deleted row: its session (session_key) and its uuid (its copies elsewhere may count now); a
    # row of three NULLs: everything (measure rebuilds every session).
    """CREATE TABLE IF NOT EXISTS measure_dirty (file_id VARCHAR, session_key VARCHAR, uuid VARCHAR)""",
]
# Past this many rows in ``measure_dirty`` it holds the "everything" row instead (a re-parse of the whole store
# after a parser change would otherwise copy every uuid into it; measure then rebuilds every session anyway).
MEASURE_DIRTY_CAP = 500_000
# The raw tables whose rows carry a session key and a uuid (the others: session_files, ingest_log)
_UUID_TABLES = ("prompts", "messages", "actions", "results", "events")


_FILES_COLS = [
    ("file_id", "VARCHAR"), ("path", "VARCHAR"), ("source", "VARCHAR"), ("role", "VARCHAR"),
    ("session_key", "VARCHAR"), ("user_name", "VARCHAR"), ("size", "BIGINT"), ("mtime_ns", "BIGINT"),
    ("consumed", "BIGINT"), ("lines", "BIGINT"), ("head_hash", "VARCHAR"), ("tail_hash", "VARCHAR"),
    ("parser_version", "VARCHAR"), ("ctime_ns", "BIGINT"), ("inode", "UBIGINT"),
]
# Columns added to ``files`` since its first version: a store made before gets them (NULL: not known) when opened
_FILES_ADDED = (("ctime_ns", "BIGINT"), ("inode", "UBIGINT"))  # st_ino: up to 2**64 - 1
_FILES_SELECT = "({}, ingested_at) SELECT {}, to_timestamp(unnest($checked::DOUBLE[]))".format(
    ", ".join(c for c, _t in _FILES_COLS), ", ".join(f"unnest($c{i}::{t}[])" for i, (_c, t) in enumerate(_FILES_COLS)))
_FILES_INSERT = f"INSERT OR REPLACE INTO files {_FILES_SELECT}"
_FILES_INSERT_NEW = f"INSERT INTO files {_FILES_SELECT}"  # every file of the batch is new (FileCommit.new)


class Store:
    """A DuckDB database holding every stage's tables."""

    def __init__(self, path: str | Path, *, read_only: bool = False, wait_s: float = 30.0) -> None:
        self.path = Path(path).expanduser()
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.read_only = read_only
        self.con = self._connect(wait_s)
        try:
            self._check_ours()
        except BaseException:
            self.con.close()
            raise
        if not read_only:
            self._init_schema()
        self._salt: str | None = None

    # -- connection -------------------------------------------------------
    def _check_header(self) -> None:
        """Refuse an existing file that is not a DuckDB database before DuckDB sees it: given an SQLite file,
        DuckDB downloads its sqlite extension from the internet and, with it, opens the file read-write (so an
        ingest would add this store's tables to the user's SQLite database)."""
        try:
            with open(self.path, "rb") as fh:
                head = fh.read(12)
        except OSError:  # missing (a new database), a folder, no access: DuckDB's own message says it
            return
        if len(head) >= 12 and head[8:12] != b"DUCK":
            what = " (it is an SQLite database)" if head.startswith(b"SQLite form") else ""
            raise duckdb.IOException(f'The file "{self.path}" exists, but it is not a valid DuckDB database file{what}')

    def _check_ours(self) -> None:
        """Refuse a database that holds tables but not this store's marker (``meta`` with a salt), before
        anything is read or written: an ingest into another tool's DuckDB file replaced its ``sessions`` table
        (CREATE OR REPLACE), and `codecensus sessions` on it failed with a BinderException. Every codecensus store
        has had that marker since its first version (``meta`` and its salt are made in the transaction that makes
        the first tables); an empty database is a new store."""
        self._refuse_foreign(self.con)

    def _refuse_foreign(self, con: duckdb.DuckDBPyConnection) -> None:
        """Raise :class:`NotAStore` when the database of ``con`` holds tables but not this store's marker."""
        names = [r[0] for r in con.execute(
            "SELECT CASE WHEN schema_name = 'main' THEN name ELSE schema_name || '.' || name END FROM ("
            "SELECT schema_name, table_name AS name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND NOT temporary UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
            "WHERE database_name = current_database() AND NOT temporary AND NOT internal) ORDER BY 1"
        ).fetchall()]
        if not names:
            return
        if "meta" in names:
            with contextlib.suppress(duckdb.Error):  # a `meta` of another shape: not ours
                if con.execute("SELECT count(*) FROM main.meta WHERE key = 'salt'").fetchall()[0][0]:
                    return
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        raise NotAStore(f"{self.path} is a DuckDB database not made by codecensus (it has tables {shown}); use another --db")

    def _check_ours_before_replay(self) -> None:
        """Refuse another tool's database left with a WAL (its process crashed) before opening it read-write: that
        replays the WAL into the file and deletes it, so the refusal in :meth:`_check_ours` came after the other
        tool's database had been changed. A read-only connection replays it in memory only. (Without a WAL the
        read-write check writes nothing.) When the read-only open fails (another process holds the database,
        say), the read-write open below gives the reason."""
        if self.read_only or not os.path.isfile(f"{self.path}.wal"):
            return
        try:
            con = duckdb.connect(str(self.path), read_only=True)
        except duckdb.Error:
            return
        try:
            self._refuse_foreign(con)
        except NotAStore:
            raise
        except duckdb.Error:
            return  # the read-write open's own check says it
        finally:
            con.close()

    def _connect(self, wait_s: float) -> duckdb.DuckDBPyConnection:
        self._check_header()
        self._check_ours_before_replay()
        deadline = time.monotonic() + wait_s
        delay = 0.1
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=self.read_only)
                self._session_settings(con)
                # Bounded memory: DuckDB spills to disk beyond this (ingest stays flat in corpus size).
                con.execute(f"SET memory_limit='{os.environ.get('CODECENSUS_DUCKDB_MEMORY', '256MB')}'")
                if not self.read_only:
                    # Checkpoint rarely: every automatic checkpoint (default: each 16 MB of WAL) rewrites
                    # and recompresses row groups, which made bulk ingest several times slower. Commits
                    # stay durable through the WAL; DuckDB checkpoints on close.
                    con.execute(f"SET checkpoint_threshold='{os.environ.get('CODECENSUS_DUCKDB_CHECKPOINT', '1GB')}'")
                return con
            except duckdb.IOException as exc:
                msg = str(exc)
                if "lock" not in msg.lower():
                    raise
                if time.monotonic() >= deadline:
                    raise StoreBusy(
                        f"database {self.path} is in use by another codecensus process "
                        f"(waited {wait_s:.0f}s; raise --wait or try again when it finishes): {msg.splitlines()[0]}"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    @staticmethod
    def _session_settings(con: duckdb.DuckDBPyConnection) -> None:
        """Settings DuckDB keeps per connection (the others are the database's, shared by every cursor)."""
        con.execute("SET TimeZone='UTC'")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A second connection to the same database, set up like :attr:`con` (e.g. to stream one query's rows
        while other queries run on :attr:`con`). The caller closes it."""
        cur = self.con.cursor()
        self._session_settings(cur)
        return cur

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _init_schema(self) -> None:
        con = self.con
        con.execute("BEGIN")
        for ddl in _EXTRA_DDL:
            con.execute(ddl)
        have = {r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name = 'files'").fetchall()}
        for col, typ in _FILES_ADDED:
            if col not in have:
                con.execute(f"ALTER TABLE files ADD COLUMN {col} {typ}")
        for cls in (*ROW_TYPES, BadLine, SessionInfo):
            con.execute(_ddl(cls.TABLE, cls.ARROW))
        if not con.execute("SELECT value FROM meta WHERE key='salt'").fetchall():
            con.execute("INSERT INTO meta VALUES ('salt', ?)", [secrets.token_hex(16)])
            con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        con.execute("COMMIT")
        self._take_pending_runs()

    def _take_pending_runs(self) -> None:
        """Move the manifests of runs that did not open the database (``codecensus.quickcheck``) into ``runs``."""
        pending = pending_runs_path(self.path)
        if not pending.exists():
            return
        rows = []
        for line in pending.read_bytes().splitlines():
            try:
                man = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # a line cut by a crash: the run's manifest is lost, nothing else
            if isinstance(man, dict) and man.get("run_id"):
                rows.append((str(man["run_id"]), str(man.get("command", "")), man.get("at"), orjson.dumps(man).decode()))
        if rows:
            self.con.executemany("INSERT OR IGNORE INTO runs VALUES (?, ?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, ?)",
                                 [(r, c, at, at, m) for r, c, at, m in rows])
        pending.unlink(missing_ok=True)  # after the commit: a crash in between only repeats ignored inserts

    # -- hashing ------------------------------------------------------------
    @property
    def salt(self) -> str:
        if self._salt is None:
            row = self.one("SELECT value FROM meta WHERE key='salt'")
            self._salt = row[0] if row else ""
        return self._salt

    def hash_name(self, value: str | None) -> str | None:
        """Stable salted hash of a user name or project path (16 hex chars)."""
        if value is None:
            return None
        return hashlib.sha256(f"{self.salt}|{value}".encode()).hexdigest()[:16]

    # -- meta ------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key=?", [key])
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])
        if key == "salt":
            self._salt = None  # read again: the parsers hash ids with it (FileContext.salt)

    # -- files -----------------------------------------------------------------
    def file_states(
        self,
        *,
        ids: Sequence[str] | None = None,
        paths: Sequence[str] | None = None,
        under: Sequence[str] | None = None,
    ) -> dict[str, FileState]:
        """States (by file id) of the stored files: every file when no filter is given, else the files whose
        id is in ``ids``, whose path is in ``paths`` or whose path is one of ``under`` or below it.

        The filters run inside DuckDB (a semi-join against the given list, a prefix filter on ``path``):
        only the matching rows are fetched, so the cost follows the files asked for, not the database size.
        """
        sql = f"SELECT {_STATE_COLS} FROM files"
        if ids is None and paths is None and under is None:
            rows = self.con.execute(sql).fetchall()
            return {r[0]: FileState(*r) for r in rows}
        conds: list[str] = []
        params: dict[str, Any] = {}
        if ids:
            conds.append("file_id IN (SELECT unnest($ids::VARCHAR[]))")
            params["ids"] = list(ids)
        if paths:
            conds.append("path IN (SELECT unnest($paths::VARCHAR[]))")
            params["paths"] = list(paths)
        for i, root in enumerate(under or ()):
            prefix = root if root.endswith(os.sep) else root + os.sep
            conds.append(f"(path = $r{i} OR starts_with(path, $p{i}))")
            params[f"r{i}"], params[f"p{i}"] = root, prefix
        if not conds:
            return {}
        rows = self.con.execute(f"{sql} WHERE {' OR '.join(conds)}", params).fetchall()
        return {r[0]: FileState(*r) for r in rows}

    def open_test_calls(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """The tool-use ids of the stored test commands of the files ``ids`` that have no stored result yet
        (by file id): a result appended later reads its test summary only when it knows its call was a test."""
        rows = self.con.execute(
            """
            SELECT a.file_id, a.tool_use_id FROM actions a
            WHERE a.file_id IN (SELECT unnest($ids::VARCHAR[])) AND a.is_test AND a.tool_use_id IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM results r WHERE r.file_id = a.file_id AND r.tool_use_id = a.tool_use_id)
            """,
            {"ids": list(ids)},
        ).fetchall()
        out: dict[str, list[str]] = {}
        for fid, tid in rows:
            out.setdefault(fid, []).append(tid)
        return out

    def stored_id_filter(self) -> Callable[[str], bool]:
        """A test for "may this file id be stored?": False means surely not; True means look it up.

        Built from the first 15 hex digits of every stored id, sorted (8 bytes per file, one scan): a new file
        then costs no query. An id that is not hexadecimal (or a store holding one) always answers True.
        (Why: each lookup is a semi-join over the whole ``files`` table, and under ingest's small buffer it was
        re-read every time: 1.0-1.1 s of a 10K-session round into a 400K-session store, 0.2 s into a small one.)
        """
        from array import array
        from bisect import bisect_left

        # a stored id that is not hexadecimal casts to NULL; shorter ids are keys too (at worst a needless lookup)
        col = self.con.sql(
            "SELECT try_cast('0x' || left(file_id, 15) AS BIGINT) AS k FROM files ORDER BY k NULLS FIRST"
        ).to_arrow_table().column("k")
        if col.null_count:
            return lambda _fid: True
        keys = array("q")
        # chunk by chunk, not combine_chunks(): on an empty column (a cold ingest) that imports pyarrow.compute,
        # +50 MB in the writer, which imports it nowhere else (the 1 GB ingest's peak RSS: 324-330 MB against 280-285)
        for chunk in col.chunks:
            if len(chunk):
                keys.frombytes(chunk.buffers()[1][chunk.offset * 8 : (chunk.offset + len(chunk)) * 8])

        def may_be_stored(fid: str) -> bool:
            if len(fid) < 15:
                return True
            try:
                k = int(fid[:15], 16)
            except ValueError:
                return True
            i = bisect_left(keys, k)
            return i < len(keys) and keys[i] == k

        return may_be_stored

    def commit_files(self, batch: list[FileCommit]) -> None:
        """Write several files' rows and bookkeeping in ONE transaction.

        Either every file of the batch is committed or none is: never half a
        file. Batching amortises DuckDB's per-commit cost over many small files.
        """
        if not batch:
            return
        if all(fc.new for fc in batch):
            try:
                self._commit_files(batch, upsert=False)
                return
            except (duckdb.ConstraintException, duckdb.TransactionException) as exc:
                if isinstance(exc, duckdb.TransactionException) and "constraint" not in str(exc).lower():
                    raise
                # A row held one of the ids after all: the batch was rolled back; commit it as an upsert.
        self._commit_files(batch, upsert=True)

    def _commit_files(self, batch: list[FileCommit], *, upsert: bool) -> None:
        con = self.con
        # Each file's rows as (table, first row, rows); neighbouring files of one parsed chunk become one slice.
        parts: dict[str, list[list[Any]]] = {}
        appended_parts: list[list[Any]] = []
        for fc in batch:
            for name, (tbl, start, n) in fc.result.table_parts().items():
                if n == 0:
                    continue
                into = appended_parts if name == "session_files" and fc.existed and not fc.replace else (
                    parts.setdefault(name, []))
                last = into[-1] if into else None
                if last is not None and last[0] is tbl and last[1] + last[2] == start:
                    last[2] += n
                else:
                    into.append([tbl, start, n])
        merged = {name: [t.slice(o, n) for t, o, n in ps] for name, ps in parts.items()}
        appended_sf = [t.slice(o, n) for t, o, n in appended_parts]
        replaced = [fc.file_id for fc in batch if fc.existed and fc.replace]
        con.execute("BEGIN TRANSACTION")
        try:
            self.note_for_measure([fc.file_id for fc in batch], replaced)
            if replaced:
                self._delete_file_rows(RAW_TABLES, replaced)
            for name, tbls in merged.items():
                # One piece per parsed chunk (<= 64 files), not per file: DuckDB scans them as they are. Copying
                # them into one contiguous table first cost more than it saved (writer CPU, 6,158 files: 4.02-4.17
                # against 4.37-4.47 s), and the rows go in in the same order.
                con.register("_incoming", pa.concat_tables(tbls))
                con.execute(f"INSERT INTO {name} SELECT * FROM _incoming")
                con.unregister("_incoming")
            if appended_sf:  # one merge for the batch: one per file cost 8 ms each and ran out of memory
                self._merge_session_files(pa.concat_tables(appended_sf).combine_chunks())
            # Bookkeeping rows go in as list parameters: no Arrow conversion of Python lists here
            # (pyarrow would import pandas, +57 MB in the writer process).
            con.execute(_FILES_INSERT if upsert else _FILES_INSERT_NEW, {f"c{i}": [getattr(fc, c) for fc in batch] for i, (c, _t) in enumerate(_FILES_COLS)} | {"checked": [fc.checked_at for fc in batch]})
            con.execute("COMMIT")
        except BaseException:
            rollback(self.con)
            raise

    def _delete_file_rows(self, tables: Sequence[str], ids: Sequence[str]) -> None:
        """Delete the rows of the files ``ids`` from ``tables`` (inside the caller's transaction)."""
        for t in tables:
            self.con.execute(f"DELETE FROM {t} WHERE file_id IN (SELECT unnest($ids::VARCHAR[]))", {"ids": list(ids)})

    def note_for_measure(self, written: Sequence[str], deleted: Sequence[str]) -> None:
        """Record in ``measure_dirty`` what the caller's open transaction changes: the files ``written`` (rows
        added or replaced) and, BEFORE their rows are deleted, the files ``deleted`` (replaced or removed): the
        sessions their rows held and those rows' uuids. Every writer of the raw tables calls this in the same
        transaction as its writes, so the session measures can be brought up to date from it alone.

        Every result is read whole: a caller may register an Arrow table next, which DuckDB refuses while a
        result is left open."""
        con = self.con
        # a plain count is the table's cardinality; a filtered one scans it (11.7 against 0.16 ms at 494K rows, once
        # per batch commit of a 400K-session ingest). The "everything" row is always the table's only row.
        (n,) = con.execute("SELECT count(*) FROM measure_dirty").fetchall()[0]
        if n == 1 and con.execute(
            "SELECT count(*) FROM measure_dirty WHERE file_id IS NULL AND session_key IS NULL AND uuid IS NULL"
        ).fetchall()[0][0]:
            return  # every session is measured again anyway
        if written:
            con.execute("INSERT INTO measure_dirty (file_id) SELECT unnest($ids::VARCHAR[])", {"ids": list(written)}).fetchall()
            n += len(written)
        if deleted:  # one row per deleted row (no aggregate: this runs under ingest's small buffer)
            for t in (*_UUID_TABLES, "session_files", "files"):
                ucol = "uuid" if t in _UUID_TABLES else "NULL"
                (added,) = con.execute(
                    f"INSERT INTO measure_dirty SELECT NULL, session_key, {ucol} FROM {t} WHERE file_id IN "
                    f"(SELECT unnest($ids::VARCHAR[])) AND (session_key IS NOT NULL OR {ucol} IS NOT NULL)",
                    {"ids": list(deleted)},
                ).fetchall()[0]
                n += added
        if n > MEASURE_DIRTY_CAP:
            con.execute("DELETE FROM measure_dirty").fetchall()
            con.execute("INSERT INTO measure_dirty VALUES (NULL, NULL, NULL)").fetchall()

    def set_file_paths(self, paths: dict[str, str]) -> None:
        """Store new paths (by file id) for files whose rows are unchanged, in ONE transaction."""
        self.con.execute(
            "UPDATE files SET path = n.path FROM (SELECT unnest($ids::VARCHAR[]) AS file_id, "
            "unnest($paths::VARCHAR[]) AS path) n WHERE files.file_id = n.file_id",
            {"ids": list(paths), "paths": list(paths.values())},
        )

    def set_file_identities(self, ids: Sequence[str], ctimes: Sequence[int], inodes: Sequence[int | None]) -> None:
        """Store the ctime and inode of files found unchanged whose rows hold none (stored before they were)."""
        self.con.execute(
            "UPDATE files SET ctime_ns = n.c, inode = n.i FROM (SELECT unnest($ids::VARCHAR[]) AS file_id, "
            "unnest($c::BIGINT[]) AS c, unnest($i::UBIGINT[]) AS i) n WHERE files.file_id = n.file_id",
            {"ids": list(ids), "c": list(ctimes), "i": list(inodes)},
        )

    def forget_files(self, ids: Sequence[str]) -> None:
        """Remove the rows and bookkeeping of the files ``ids``, in ONE transaction."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            self.note_for_measure((), ids)
            self._delete_file_rows((*RAW_TABLES, "files"), ids)
            con.execute("COMMIT")
        except BaseException:
            rollback(con)
            raise

    def _merge_session_files(self, tbl: pa.Table) -> None:
        """Merge the session rows of appended reads (one per session and file) into the stored ones."""
        con = self.con
        con.register("_sf", tbl)
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _sf_merged AS
            SELECT n.session_key, n.file_id,
                   coalesce(o.session_id, n.session_id) AS session_id,
                   n.source, n.role,
                   coalesce(n.agent_id, o.agent_id) AS agent_id,
                   coalesce(o.user_key, n.user_key) AS user_key,
                   coalesce(o.project_key, n.project_key) AS project_key,
                   least(o.first_ts, n.first_ts) AS first_ts,
                   greatest(o.last_ts, n.last_ts) AS last_ts,
                   coalesce(n.version, o.version) AS version,
                   coalesce(n.entrypoint, o.entrypoint) AS entrypoint,
                   coalesce(o.records, 0) + n.records AS records
            FROM _sf n LEFT JOIN session_files o
              ON o.session_key = n.session_key AND o.file_id = n.file_id
            """
        )
        con.execute(
            "DELETE FROM session_files WHERE (session_key, file_id) IN (SELECT session_key, file_id FROM _sf)"
        )
        con.execute("INSERT INTO session_files SELECT * FROM _sf_merged")
        con.unregister("_sf")
        con.execute("DROP TABLE _sf_merged")

    # -- generic helpers ---------------------------------------------------
    def table_exists(self, name: str) -> bool:
        row = self.one("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name])
        return bool(row and row[0])

    def replace_table(self, name: str, tbl: pa.Table) -> None:
        """Atomically replace a derived table with an Arrow table."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.register("_new", tbl)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _new")
            con.unregister("_new")
            con.execute("COMMIT")
        except BaseException:
            rollback(con)
            raise

    @contextlib.contextmanager
    def memory_limit(
        self, limit: str, threads: int | None = None, checkpoint_threshold: str | None = None
    ) -> Iterator[None]:
        """Run a block under DuckDB memory limit ``limit`` (e.g. '64MB'; DuckDB spills beyond it),
        with ``threads`` DuckDB threads and WAL ``checkpoint_threshold`` when given."""
        settings = {"memory_limit": f"'{limit}'"}
        if threads is not None:
            settings["threads"] = str(int(threads))
        if checkpoint_threshold is not None:
            settings["checkpoint_threshold"] = f"'{checkpoint_threshold}'"
        old = {k: self.one(f"SELECT current_setting('{k}')") for k in settings}
        for k, v in settings.items():
            self.con.execute(f"SET {k}={v}")
        try:
            yield
        finally:
            for k, row in old.items():
                if row and row[0] is not None:
                    self.con.execute(f"SET {k}={int(row[0])}" if k == "threads" else f"SET {k}='{row[0]}'")

    def memory_limit_bytes(self) -> float | None:
        """DuckDB's memory limit now, in bytes."""
        row = self.one("SELECT current_setting('memory_limit')")
        return parse_size(str(row[0])) if row else None

    def grow_on_out_of_memory(
        self, fn: Callable[[], T], *, retries: int, log: logging.Logger, message: str, restore: bool,
        start_bytes: int | None = None,
    ) -> T:
        """``fn()``; when DuckDB runs out of memory, double its limit and retry (at most ``retries`` times).

        ``fn`` must leave nothing behind when it fails (one transaction, or one statement). ``message`` is
        logged with the old and new limits in MiB. ``restore``: set the limit back when done; otherwise the
        grown limit stays (for the rest of an enclosing :meth:`memory_limit` block, which restores it).
        ``start_bytes``: the first attempt already runs under at least this limit (a caller that can estimate
        what ``fn`` needs avoids a failed attempt, which is wasted work).
        """
        base = self.one("SELECT current_setting('memory_limit')")
        size = parse_size(str(base[0])) if base else None
        attempt = 0
        changed = size is not None and start_bytes is not None and start_bytes > size
        if changed:
            size = start_bytes
            self.con.execute(f"SET memory_limit='{max(1, int(size) // 2**20)}MiB'")
        try:
            while True:
                try:
                    return fn()
                except duckdb.Error as exc:
                    if attempt == retries or size is None or not is_out_of_memory(exc):
                        raise
                attempt += 1
                mib = max(1, int(size // 2**20))
                log.warning(message, mib, 2 * mib)
                size = 2 * mib * 2**20
                self.con.execute(f"SET memory_limit='{2 * mib}MiB'")
        finally:
            if restore and (attempt or changed) and base:
                self.con.execute(f"SET memory_limit='{base[0]}'")

    def largest_table_rows(self, tables: Sequence[str]) -> int:
        """DuckDB's estimated row count of the largest of ``tables`` (0 when none exists): sizes memory limits."""
        row = self.one(
            "SELECT max(estimated_size) FROM duckdb_tables() WHERE NOT temporary AND table_name IN "
            "(SELECT unnest(?::VARCHAR[]))",
            [list(tables)],
        )
        return int(row[0] or 0) if row else 0

    def one(self, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
        """First row of a query (the result is always fully consumed: DuckDB 2 requires it)."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0] if rows else None

    def query(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        rel = self.con.sql(sql, params=params) if params else self.con.sql(sql)
        return rel.to_arrow_table()
