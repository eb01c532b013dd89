"""The unchanged-corpus fast path of `codecensus ingest` (codecensus.quickcheck)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codecensus import quickcheck
from codecensus.cli import app
from codecensus.store import Store

from ccbuild import standard_session

runner = CliRunner()
SID = "77777777-7777-4777-8777-777777777777"
SID2 = "88888888-8888-4888-8888-888888888888"


@pytest.fixture(autouse=True)
def _snapshots_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODECENSUS_NO_SNAPSHOT", raising=False)


def _corpus(tmp_path: Path) -> tuple[Path, Path, Path]:
    root = tmp_path / "team"
    f = root / "carol" / ".claude" / "projects" / "-p" / f"{SID}.jsonl"
    standard_session(SID).write(f)
    return root, f, tmp_path / "db.duckdb"


def _ingest(root: Path, db: Path, *extra: str) -> None:
    r = runner.invoke(app, ["ingest", str(root), "--db", str(db), "-j", "0", *extra])
    assert r.exit_code == 0, r.output


def test_unchanged_corpus_is_answered_without_the_database(tmp_path: Path) -> None:
    root, _f, db = _corpus(tmp_path)
    _ingest(root, db, "--user-from-dir")
    assert quickcheck.snapshot_path(db).exists()
    assert quickcheck.try_fast_ingest([str(root), "--db", str(db), "--user-from-dir"])
    assert quickcheck.try_fast_ingest([str(root), f"--db={db}", "--user-from-dir", "-j", "3"])
    # other options are another ingest: the full path decides
    assert not quickcheck.try_fast_ingest([str(root), "--db", str(db)])
    assert not quickcheck.try_fast_ingest([str(root), "--db", str(db), "--user", "bob"])
    assert not quickcheck.try_fast_ingest([str(root), "--db", str(db), "--user-from-dir", "--help"])
    # the skipped runs' manifests reach the runs table when the database is next opened for writing
    assert quickcheck.pending_runs_path(db).exists()
    with Store(db) as s:
        rows = s.con.execute("SELECT manifest->>'unchanged_snapshot' FROM runs WHERE command='ingest'").fetchall()
    assert sorted(str(r[0]) for r in rows) == ["None", "true", "true"]
    assert not quickcheck.pending_runs_path(db).exists()


def test_any_change_takes_the_full_path(tmp_path: Path) -> None:
    root, f, db = _corpus(tmp_path)
    args = [str(root), "--db", str(db)]
    _ingest(root, db)
    assert quickcheck.try_fast_ingest(args)
    # a touched file
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert not quickcheck.try_fast_ingest(args)
    _ingest(root, db)
    assert quickcheck.try_fast_ingest(args)
    # an appended line is picked up by the next (full) run
    before = f.read_bytes()
    standard_session(SID2).write(tmp_path / "other.jsonl")
    with open(f, "ab") as fh:
        fh.write((tmp_path / "other.jsonl").read_bytes().splitlines(keepends=True)[0])
    assert not quickcheck.try_fast_ingest(args)
    _ingest(root, db)
    with Store(db, read_only=True) as s:
        lines = s.one("SELECT lines FROM files")[0]
    assert lines == len(before.splitlines()) + 1
    assert quickcheck.try_fast_ingest(args)
    # a new file
    standard_session(SID2).write(root / "carol" / ".claude" / "projects" / "-p" / f"{SID2}.jsonl")
    assert not quickcheck.try_fast_ingest(args)
    _ingest(root, db)
    assert quickcheck.try_fast_ingest(args)
    # another command wrote the database
    with Store(db) as s:
        s.set_meta("touched", "1")
    assert not quickcheck.try_fast_ingest(args)
    _ingest(root, db)
    assert quickcheck.try_fast_ingest(args)
    # a removed file
    (root / "carol" / ".claude" / "projects" / "-p" / f"{SID2}.jsonl").unlink()
    assert not quickcheck.try_fast_ingest(args)


def test_no_snapshot_after_an_incomplete_ingest(tmp_path: Path) -> None:
    root, f, db = _corpus(tmp_path)
    # a last line without a newline in a file still being written is left for the next run
    with open(f, "ab") as fh:
        fh.write(b'{"type":"user","sessionId":"' + SID.encode() + b'"')
    _ingest(root, db)
    assert not quickcheck.snapshot_path(db).exists()
    assert not quickcheck.try_fast_ingest([str(root), "--db", str(db)])


def test_parse_ingest_args() -> None:
    p = quickcheck.parse_ingest_args
    assert p(["a", "b", "--db", "x.duckdb", "-j", "2"]) == {
        "db": "x.duckdb", "user": None, "user_from_dir": False, "format": None, "paths": ["a", "b"]}
    assert p(["--format=claude_code", "--", "--odd-name"])["paths"] == ["--odd-name"]  # type: ignore[index]
    assert p(["a", "--engine", "ray"]) is None
    assert p(["a", "--parts", "x"]) is None
    assert p(["a", "--db"]) is None


def test_executable_skips_duckdb_when_unchanged(tmp_path: Path) -> None:
    root, _f, db = _corpus(tmp_path)
    _ingest(root, db)
    code = (
        "import sys; sys.argv = ['codecensus', 'ingest', sys.argv[1], '--db', sys.argv[2]]\n"
        "from codecensus.entry import main\nmain()\nprint('duckdb' in sys.modules, 'pyarrow' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "CODECENSUS_NO_SNAPSHOT"}
    r = subprocess.run([sys.executable, "-c", code, str(root), str(db)], capture_output=True, text=True, env=env,
                       check=True)
    assert r.stdout.strip() == "False False"
    assert "nothing changed since the last run" in r.stderr


def test_gone_files_are_said_and_prune_never_takes_the_fast_path(tmp_path: Path) -> None:
    root, f, db = _corpus(tmp_path)
    other = root / "dave" / ".claude" / "projects" / "-p" / f"{SID2}.jsonl"
    standard_session(SID2).write(other)
    _ingest(root, db, "--user-from-dir")
    other.unlink()
    r = runner.invoke(app, ["ingest", str(root), "--db", str(db), "-j", "0", "--user-from-dir"])
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "1 file(s) stored by an earlier run are no longer under the paths" in said
    assert "their sessions are kept" in said and "ingest --prune" in said
    # the snapshot of that run describes the corpus; a --prune run must still open the database to remove the file
    assert quickcheck.try_fast_ingest([str(root), "--db", str(db), "--user-from-dir"])
    assert not quickcheck.try_fast_ingest([str(root), "--db", str(db), "--user-from-dir", "--prune"])
    r = runner.invoke(app, ["ingest", str(root), "--db", str(db), "-j", "0", "--user-from-dir", "--prune"])
    assert r.exit_code == 0, r.output
    assert "their rows were removed (--prune)" in " ".join(r.output.split())
    with Store(db) as s:
        assert s.one("SELECT count(*) FROM sessions")[0] == 1
    r = runner.invoke(app, ["ingest", str(root), "--db", str(db), "--prune", "--engine", "ray"])
    assert r.exit_code == 2 and "--prune works with --engine local only" in " ".join(r.output.split())


def test_fast_path_still_says_files_are_gone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Delete a stored file and ingest (says 1 file gone); the next ingest of the unchanged corpus took the fast
    path and said nothing about it. It now says what the full path said, until --prune removes the file."""
    root, _f, db = _corpus(tmp_path)
    other = root / "dave" / ".claude" / "projects" / "-p" / f"{SID2}.jsonl"
    standard_session(SID2).write(other)
    _ingest(root, db, "--user-from-dir")
    other.unlink()
    _ingest(root, db, "--user-from-dir")
    capsys.readouterr()
    assert quickcheck.try_fast_ingest([str(root), "--db", str(db), "--user-from-dir"])
    err = capsys.readouterr().err
    assert "nothing changed since the last run" in err
    assert "1 file(s) stored by an earlier run are no longer under the paths (deleted" in err
    assert "their sessions are kept" in err and "`codecensus ingest --prune` with the same paths" in err
    r = runner.invoke(app, ["ingest", str(root), "--db", str(db), "-j", "0", "--user-from-dir", "--prune"])
    assert r.exit_code == 0 and "their rows were removed (--prune)" in " ".join(r.output.split()), r.output
    capsys.readouterr()
    assert quickcheck.try_fast_ingest([str(root), "--db", str(db), "--user-from-dir"])
    err = capsys.readouterr().err
    assert "nothing changed since the last run" in err and "no longer under the paths" not in err
    with Store(db) as s:
        assert s.one("SELECT count(*) FROM sessions")[0] == 1
        gone = s.con.execute("SELECT manifest->>'files_gone' FROM runs WHERE manifest->>'unchanged_snapshot' = 'true'"
                             " ORDER BY started_at").fetchall()
    assert [g[0] for g in gone] == ["1", "0"]


@pytest.mark.parametrize("how", ["in-place", "renamed-over"])
def test_a_same_size_rewrite_with_its_mtime_put_back_takes_the_full_path(tmp_path: Path, how: str) -> None:
    """A file rewritten with the same size and its mtime put back (os.utime) was answered "nothing changed" by the
    fast path, whose listing held only size and mtime, while the full path re-reads it (its tail hash differs).
    The listing now holds the ctime and inode too, which such a rewrite changes."""
    root, f, db = _corpus(tmp_path)
    args = [str(root), "--db", str(db)]
    _ingest(root, db)
    assert quickcheck.try_fast_ingest(args)
    st = f.stat()
    data = f.read_bytes()
    assert data.count(b"and push it") == 1
    new = data.replace(b"and push it", b"and undo it")
    if how == "in-place":
        f.write_bytes(new)
    else:  # written beside it and renamed over it (an editor's safe save)
        tmp = f.with_name("tmp.part")
        tmp.write_bytes(new)
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(tmp, f)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (f.stat().st_size, f.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert not quickcheck.try_fast_ingest(args)
    _ingest(root, db)
    with Store(db, read_only=True) as s:
        texts = {r[0] for r in s.con.execute("SELECT text FROM prompts").fetchall()}
    assert "and undo it" in texts and "and push it" not in texts
    assert quickcheck.try_fast_ingest(args)


def test_the_full_path_after_a_failed_fast_path_lists_the_corpus_once(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """`codecensus ingest` of a changed corpus listed every file twice: the fast path (to find the change), then the
    full path (for its snapshot), 1.0-1.6 s each at 100K files. The full path now takes the fast path's listing."""
    root, f, db = _corpus(tmp_path)
    args = [str(root), "--db", str(db)]
    _ingest(root, db)
    with open(f, "ab") as fh:  # a changed corpus: a grown file
        fh.write(f.read_bytes().splitlines(keepends=True)[-1])
    walks: list[int] = []
    real = quickcheck.list_roots
    monkeypatch.setattr(quickcheck, "list_roots", lambda roots: walks.append(1) or real(roots))
    assert not quickcheck.try_fast_ingest(args)  # what entry.main does before the CLI
    _ingest(root, db)
    assert len(walks) == 1
    assert quickcheck.try_fast_ingest(args)  # the snapshot it saved describes the corpus
    # handed over once: another full run lists the corpus itself
    os.utime(f)
    assert not quickcheck.try_fast_ingest(args)
    _ingest(root, db)
    _ingest(root, db)
    assert len(walks) == 4 and quickcheck.try_fast_ingest(args)


def _coarse_key(st: os.stat_result) -> bytes:
    """The listing's stat key on a filesystem whose timestamps tick very rarely (~11.6 days here, 2 s on FAT): a write
    in the same tick leaves the mtime and ctime as they were."""
    tick = 10**15
    return f"\x00{st.st_size}\x00{st.st_mtime_ns // tick}\x00{st.st_ctime_ns // tick}\x00{st.st_ino}\n".encode()


def test_a_same_tick_rewrite_after_the_snapshot_takes_the_full_path(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: on a coarse-timestamp filesystem a file rewritten in place with the same size in the tick of its last
    write (and of the listing) listed as it had: "nothing changed", the old prompt kept. A snapshot is no longer
    saved while a file's mtime or ctime is within 2 s of the listing; the full path reads such a file again."""
    from codecensus import paths

    monkeypatch.setattr(paths, "RACY_NS", 2_000_000_000, raising=False)
    monkeypatch.setattr(quickcheck, "_stat_key", _coarse_key)
    root, f, db = _corpus(tmp_path)
    args = [str(root), "--db", str(db)]
    _ingest(root, db)
    f.write_bytes(f.read_bytes().replace(b"and push it", b"and undo it"))  # same size, the same (coarse) tick
    assert not quickcheck.try_fast_ingest(args)
    _ingest(root, db)
    with Store(db, read_only=True) as s:
        texts = {r[0] for r in s.con.execute("SELECT text FROM prompts").fetchall()}
    assert "and undo it" in texts and "and push it" not in texts


def test_no_snapshot_of_a_listing_with_a_file_written_moments_before(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The window applies to the mtime and the ctime (which os.utime cannot put back); once the corpus is older than
    it at the listing, the snapshot is saved and answers the next run."""
    from codecensus import paths

    monkeypatch.setattr(paths, "RACY_NS", 2_000_000_000, raising=False)
    root, f, db = _corpus(tmp_path)
    old = f.stat().st_mtime_ns - 3600 * 10**9
    os.utime(f, ns=(old, old))  # an old mtime, a fresh ctime
    args = [str(root), "--db", str(db)]
    _ingest(root, db)
    assert not quickcheck.snapshot_path(db).exists()
    assert not quickcheck.try_fast_ingest(args)
    listing = quickcheck.list_roots([root])
    assert (listing.files, listing.racy) == (1, 1)
    # ten seconds later (the clock the listing reads, moved on)
    real_ns = time.time_ns
    monkeypatch.setattr(time, "time_ns", lambda: real_ns() + 10 * 10**9)
    assert quickcheck.list_roots([root]).racy == 0
    _ingest(root, db)
    assert quickcheck.snapshot_path(db).exists()
    assert quickcheck.try_fast_ingest(args)
