"""Ingest at scale: a call reads the stored state of the files under its roots only, not of the whole database.

The rows an ingest call fetches from ``files`` are counted through a proxy around the store's connection
(no timing): with many files stored under other roots, a call over a small root must fetch only its own.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from codecensus.engine.plan import plan_inputs
from codecensus.ingest import ingest
from codecensus.records import ParseResult
from codecensus.store import FileCommit, Store

from ccbuild import Session, standard_session

_FROM_FILES = re.compile(r"\bFROM\s+files\b", re.I)


class _Counted:
    """A DuckDB connection that counts the rows fetched by SELECTs over ``files`` (all else passes through)."""

    def __init__(self, con: Any) -> None:
        self._con = con
        self.rows = 0
        self.queries: list[str] = []

    def execute(self, sql: str, *args: Any, **kw: Any) -> Any:
        self._con.execute(sql, *args, **kw)
        if _FROM_FILES.search(sql) and "count(*)" not in sql.lower():
            self.queries.append(sql)
            return _CountedResult(self)
        return self

    def fetchall(self) -> Any:
        return self._con.fetchall()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


class _CountedResult:
    def __init__(self, owner: _Counted) -> None:
        self._owner = owner

    def fetchall(self) -> list[Any]:
        rows = self._owner._con.fetchall()
        self._owner.rows += len(rows)
        return rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self._owner._con, name)


def _sid(i: int, tag: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}-{i}"))


def _corpus(root: Path, n: int, tag: str) -> list[Path]:
    out = []
    for i in range(n):
        sid = _sid(i, tag)
        out.append(standard_session(sid).write(root / f"u{i % 3}" / "proj" / f"{sid}.jsonl"))
    return out


@contextlib.contextmanager
def _counting(store: Store) -> Iterator[_Counted]:
    """Count the queries and rows fetched through the store's connection while the block runs."""
    proxy = _Counted(store.con)
    store.con = proxy  # type: ignore[assignment]
    try:
        yield proxy
    finally:
        store.con = proxy._con


def _table_counts(store: Store) -> dict[str, int]:
    names = ["files", "session_files", "prompts", "messages", "actions", "results", "events", "ingest_log"]
    return {t: store.one(f"SELECT count(*) FROM {t}")[0] for t in names}  # type: ignore[index]


def test_ingest_fetches_only_states_under_its_roots(tmp_path: Path, store: Store) -> None:
    big = tmp_path / "big"
    _corpus(big, 40, "big")
    assert ingest(store, [big], user_from_dir=True, settle_s=0).files_parsed == 40

    small = tmp_path / "small"
    files = _corpus(small, 3, "small")
    with _counting(store) as proxy:
        st = ingest(store, [small], user_from_dir=True, settle_s=0)
    assert st.files_parsed == 3
    assert proxy.queries, "the file states were not read through the store's connection"
    assert proxy.rows == 0  # nothing of the 40 other files; the 3 new ones are not stored yet

    # Re-ingest: unchanged (one stat each), and only those 3 rows are read.
    with _counting(store) as proxy:
        st = ingest(store, [small], user_from_dir=True, settle_s=0)
    assert (st.files_seen, st.files_skipped, st.files_parsed) == (3, 3, 0)
    assert proxy.rows == len(files)

    # Append to one of them: picked up at its offset; still only the root's rows are read.
    s = Session(_sid(0, "small"))
    s.prompt("and one more thing")
    s.reply("done", [("Bash", {"command": "ls"})])
    with open(files[0], "ab") as fh:
        for rec in s.lines:
            fh.write(orjson.dumps(rec) + b"\n")
    with _counting(store) as proxy:
        st = ingest(store, [small], user_from_dir=True, settle_s=0)
    assert (st.files_appended, st.files_parsed, st.files_skipped) == (1, 0, 2)
    assert proxy.rows <= len(files)


def test_file_stored_under_another_path_is_found_by_id(tmp_path: Path, store: Store) -> None:
    """A file first ingested through a symlinked root is the same file (same id) through the real root:
    unchanged, not parsed again (its state lies outside the real root's path prefix, found by id)."""
    real = tmp_path / "real"
    _corpus(real, 4, "link")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    assert ingest(store, [link], user_from_dir=True, settle_s=0).files_parsed == 4
    before = _table_counts(store)

    with _counting(store) as proxy:
        st = ingest(store, [real], user_from_dir=True, settle_s=0)
    assert (st.files_seen, st.files_skipped, st.files_parsed, st.files_appended) == (4, 4, 0, 0)
    assert _table_counts(store) == before
    assert proxy.rows == 4


def test_replaced_and_removed_files_with_other_roots_stored(tmp_path: Path, store: Store) -> None:
    _corpus(tmp_path / "other", 10, "other")
    ingest(store, [tmp_path / "other"], user_from_dir=True, settle_s=0)
    root = tmp_path / "mine"
    files = _corpus(root, 3, "mine")
    ingest(store, [root], user_from_dir=True, settle_s=0)
    before = _table_counts(store)
    # Rewrite one file whole (a different session in it): its old rows are replaced, never duplicated.
    standard_session(_sid(0, "mine"), version="2.1.100").write(files[0])
    files[1].unlink()  # a removed file keeps its rows (ingest never deletes history)
    st = ingest(store, [root], user_from_dir=True, settle_s=0)
    assert (st.files_parsed, st.files_skipped) == (1, 1)
    assert _table_counts(store) == before


def test_engine_plan_reads_only_discovered_files(tmp_path: Path, store: Store) -> None:
    _corpus(tmp_path / "big", 30, "pbig")
    ingest(store, [tmp_path / "big"], user_from_dir=True, settle_s=0)
    small = tmp_path / "small"
    _corpus(small, 2, "psmall")
    with _counting(store) as proxy:
        plan = plan_inputs(store, [small], user_from_dir=True, settle_s=0)
    assert (plan.seen, plan.skipped, len(plan.specs)) == (2, 0, 2)
    assert all(not s.replace for s in plan.specs)
    assert proxy.rows == 0

    ingest(store, [small], user_from_dir=True, settle_s=0)
    with _counting(store) as proxy:
        plan = plan_inputs(store, [small], user_from_dir=True, settle_s=0)
    assert (plan.seen, plan.skipped, len(plan.specs)) == (2, 2, 0)
    assert proxy.rows == 2


def _fc(file_id: str, *, size: int, new: bool) -> FileCommit:
    return FileCommit(
        file_id=file_id, path=f"/nowhere/{file_id}.jsonl", source="claude_code", role="main", session_key=None,
        user_name="u", size=size, mtime_ns=1, head_hash="h", tail_hash="t", parser_version="0", result=ParseResult(),
        replace=True, existed=False, consumed=size, lines=1, new=new,
    )


def test_commit_of_files_marked_new_falls_back_to_upsert(store: Store) -> None:
    """``FileCommit.new`` only picks a plain INSERT; a wrong mark cannot fail or duplicate a `files` row."""
    store.commit_files([_fc("a", size=1, new=True), _fc("b", size=1, new=True)])
    store.commit_files([_fc("c", size=1, new=True), _fc("a", size=2, new=True)])  # "a" is not new: upserted
    rows = store.con.execute("SELECT file_id, size FROM files ORDER BY file_id").fetchall()
    assert rows == [("a", 2), ("b", 1), ("c", 1)]


def test_same_file_twice_in_one_call(tmp_path: Path, store: Store) -> None:
    """A root given twice (or a root inside another) reads each file once: no raw row is stored twice, the
    database equals a single-root ingest, and a re-run finds everything unchanged (counted once)."""
    root = tmp_path / "twice"
    _corpus(root, 3, "twice")
    st = ingest(store, [root, root], user_from_dir=True, settle_s=0)
    assert st.files_failed == 0 and st.files_seen == 3
    assert store.one("SELECT count(*), count(DISTINCT file_id) FROM files") == (3, 3)
    once = Store(tmp_path / "once.duckdb")
    try:
        ingest(once, [root], user_from_dir=True, settle_s=0)
        for table in ("session_files", "prompts", "actions"):
            q = f"SELECT count(*) FROM {table}"
            assert store.one(q) == once.one(q), table
    finally:
        once.close()
    st = ingest(store, [root, root], user_from_dir=True, settle_s=0)
    assert (st.files_seen, st.files_skipped) == (3, 3)


def test_new_files_cost_no_lookup_by_id(tmp_path: Path, store: Store) -> None:
    """Files new to a store with others stored are known new from the stored-id filter: no query by id."""
    _corpus(tmp_path / "big", 30, "nbig")
    ingest(store, [tmp_path / "big"], user_from_dir=True, settle_s=0)
    _corpus(tmp_path / "new", 5, "nnew")
    with _counting(store) as proxy:
        st = ingest(store, [tmp_path / "new"], user_from_dir=True, settle_s=0)
    assert st.files_parsed == 5
    assert not [q for q in proxy.queries if "file_id IN" in q]


def test_stored_id_filter(tmp_path: Path, store: Store) -> None:
    import hashlib

    ids = [hashlib.sha1(str(i).encode()).hexdigest()[:20] for i in range(300)]
    store.commit_files([_fc(i, size=1, new=True) for i in ids[:100]])
    may = store.stored_id_filter()
    assert all(may(i) for i in ids[:100])  # stored: always looked up
    assert not any(may(i) for i in ids[100:])  # new (no 60-bit prefix shared by chance here)
    assert may("not-hex-at-all") and may("abc")  # an id it cannot judge is looked up
    store.commit_files([_fc("plain-name", size=1, new=True)])
    may = store.stored_id_filter()
    assert may(ids[200])  # a store holding an id it cannot read: every id is looked up
    empty = Store(tmp_path / "empty.duckdb")
    try:
        assert not empty.stored_id_filter()(ids[0])
    finally:
        empty.close()


def test_stored_id_filter_leaves_arrow_compute_unloaded(tmp_path: Path) -> None:
    """The ingest writer builds the filter and imports ``pyarrow.compute`` nowhere else: ``combine_chunks`` of a
    cold ingest's empty column imported it (+50 MB in the writer; the 1 GB ingest's peak RSS 324-330 MB against
    280-285)."""
    import hashlib
    import subprocess
    import sys

    empty = tmp_path / "empty.duckdb"
    Store(empty).close()
    held = tmp_path / "ids.duckdb"
    s = Store(held)
    s.commit_files([_fc(hashlib.sha1(str(i).encode()).hexdigest()[:20], size=1, new=True) for i in range(50)])
    s.close()
    code = (
        "import sys; from codecensus.store import Store; s = Store(sys.argv[1]); f = s.stored_id_filter(); "
        "print(f('0' * 20), 'pyarrow._compute' in sys.modules)"
    )
    for db in (empty, held):
        out = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True, check=True).stdout
        assert out.split() == ["False", "False"], db.name
