"""Opening a database: another tool's DuckDB file is refused without a write, a store's own WAL is replayed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from codecensus.cli import app
from codecensus.store import Store

from ccbuild import standard_session

SID = "11111111-2222-3333-4444-555555555555"
runner = CliRunner()

# A process that commits a row and dies before DuckDB checkpoints it: the commit is left in `<file>.wal`.
_CRASH_AFTER_COMMIT = """
import os, sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SET checkpoint_threshold='1TB'")
con.execute(sys.argv[2])
con.execute("CHECKPOINT")
con.execute(sys.argv[3])
os._exit(0)
"""


def _crash_after_commit(db: Path, setup: str, commit: str) -> None:
    subprocess.run([sys.executable, "-c", _CRASH_AFTER_COMMIT, str(db), setup, commit], check=True)
    assert Path(f"{db}.wal").stat().st_size > 0


def test_another_tools_duckdb_file_with_a_wal_is_refused_without_replaying_it(tmp_path: Path) -> None:
    """Another tool's DuckDB file left with a WAL (its process crashed) was refused (exit 2) only after DuckDB had
    opened it read-write, which replays the WAL into the file and deletes it: the refusal changed the other tool's
    database (its file grew, its .wal was gone). Now the check runs read-only: both stay byte for byte."""
    other = tmp_path / "other.duckdb"
    wal = Path(f"{other}.wal")
    _crash_after_commit(other, "CREATE TABLE sessions (id INTEGER, name VARCHAR)", "INSERT INTO sessions VALUES (1, 'mine')")
    before, wal_before = other.read_bytes(), wal.read_bytes()
    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")
    for cmd in (["ingest", str(root)], ["sessions"], ["classify", "-j", "1"], ["cluster"]):
        r = runner.invoke(app, [*cmd, "--db", str(other)])
        text = "".join(r.output.split())
        assert r.exit_code == 2, (cmd, r.output)
        assert f"{other}isaDuckDBdatabasenotmadebycodecensus(ithastablessessions);useanother--db" in text, (cmd, r.output)
        assert other.read_bytes() == before and wal.exists() and wal.read_bytes() == wal_before, cmd
    with duckdb.connect(str(other), read_only=True) as con:  # the other tool's commit is still there to replay
        assert con.execute("SELECT * FROM sessions").fetchall() == [(1, "mine")]


def test_a_store_left_with_a_wal_by_a_crash_keeps_its_commits(tmp_path: Path) -> None:
    """A codecensus store whose process died after a commit (the commit only in the WAL) opens as before: the
    commit is replayed and kept, read-write and read-only."""
    db = tmp_path / "s.duckdb"
    Store(db).close()
    _crash_after_commit(db, "SELECT 1", "INSERT INTO meta VALUES ('after_crash', 'kept')")
    with Store(db, read_only=True) as s:
        assert s.get_meta("after_crash") == "kept"
    with Store(db) as s:
        assert s.get_meta("after_crash") == "kept" and s.salt
    assert not Path(f"{db}.wal").exists() or Path(f"{db}.wal").stat().st_size == 0
    with Store(db) as s:
        assert s.get_meta("after_crash") == "kept"
