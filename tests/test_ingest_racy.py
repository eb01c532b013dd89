""""Racily clean" files (git's term): a file rewritten with the same size within the filesystem's timestamp tick of
the moment its state was recorded has the same size and mtime as stored. On FAT/exFAT (2 s), HFS+ (1 s), some
network filesystems, or a kernel with coarse-grained timestamps that happens; here (ext4, ns timestamps) it is
simulated by putting the mtime back with ``os.utime``. A file whose mtime is not safely older than the moment its
state was recorded is read again, not trusted as unchanged; a file last modified long before costs one stat."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from codecensus import paths
from codecensus.ingest import ingest
from codecensus.store import Store

from ccbuild import standard_session

SID = "45454545-4545-4545-8545-454545454545"
OLD, NEW = b"and push it", b"and undo it"  # an early prompt: more than 4 KB before the end of the file


@pytest.fixture(autouse=True)
def _racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real window (the test suite's conftest sets 0: its files are written and read within milliseconds)."""
    monkeypatch.setattr(paths, "RACY_NS", 2_000_000_000, raising=False)


def _write(root: Path, mtime_ns: int | None = None) -> Path:
    s = standard_session(SID)
    s.prompt("a long last prompt, so that the changed one lies before the last 4 KB " * 80)
    path = s.write(root / f"{SID}.jsonl")
    data = path.read_bytes()
    assert data.count(OLD) == 1 and len(data) - data.index(OLD) > 4096
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def _rewrite(path: Path, mtime_ns: int | None = None) -> None:
    """Same size, other early bytes, the mtime as it was (or ``mtime_ns``): a write in the same timestamp tick."""
    st = path.stat()
    data = path.read_bytes()
    path.write_bytes(data.replace(OLD, NEW) if OLD in data else data.replace(NEW, OLD))
    m = st.st_mtime_ns if mtime_ns is None else mtime_ns
    os.utime(path, ns=(m, m))
    assert path.stat().st_size == st.st_size


def _prompts(store: Store) -> list[str]:
    return sorted(r[0] for r in store.con.execute("SELECT text FROM prompts").fetchall())


@pytest.mark.parametrize("age_s", [0.0, 1.5], ids=["written-just-now", "a-second-and-a-half-before-ingest"])
def test_a_same_tick_rewrite_of_a_fresh_file_is_read_again(tmp_path: Path, store: Store, age_s: float) -> None:
    """Before: the rewrite had the stored size, mtime and tail (a change before the last 4 KB): skipped, and the old
    prompt stayed stored. The file's mtime was within 2 s of the moment it was stat'ed: it is read again."""
    path = _write(tmp_path / "c", time.time_ns() - int(age_s * 1e9))
    s1 = ingest(store, [tmp_path / "c"], settle_s=0)
    assert s1.files_parsed == 1
    n = len(_prompts(store))
    _rewrite(path)
    s2 = ingest(store, [tmp_path / "c"], settle_s=0)
    assert (s2.files_parsed, s2.files_skipped) == (1, 0)
    texts = _prompts(store)
    assert NEW.decode() in texts and OLD.decode() not in texts
    assert len(texts) == n  # replaced, not added to


def test_a_file_modified_long_before_costs_one_stat(tmp_path: Path, store: Store,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The racy check costs nothing for old files: skipped without reading their heads for format detection."""
    _write(tmp_path / "c", time.time_ns() - 3600 * 10**9)
    assert ingest(store, [tmp_path / "c"], settle_s=0).files_parsed == 1
    from codecensus.sources import base

    detected: list[Path] = []
    real = base.detect
    monkeypatch.setattr(base, "detect", lambda p: detected.append(p) or real(p))
    s2 = ingest(store, [tmp_path / "c"], settle_s=0)
    assert (s2.files_parsed, s2.files_appended, s2.files_skipped, s2.bytes_read) == (0, 0, 1, 0)
    assert detected == []


def test_a_same_size_rewrite_with_another_mtime_is_not_an_empty_append(tmp_path: Path, store: Store) -> None:
    """Before: a same-size rewrite with another mtime (no race: an ordinary edit) and the same head and last 4 KB was
    planned as an append from the end of the file: nothing read, the old prompt kept. An append grows the file."""
    old = time.time_ns() - 3600 * 10**9
    path = _write(tmp_path / "c", old)
    ingest(store, [tmp_path / "c"], settle_s=0)
    _rewrite(path, old + 10**9)
    s2 = ingest(store, [tmp_path / "c"], settle_s=0)
    assert (s2.files_parsed, s2.files_appended) == (1, 0)
    assert NEW.decode() in _prompts(store) and OLD.decode() not in _prompts(store)
    s3 = ingest(store, [tmp_path / "c"], settle_s=0)
    assert (s3.files_parsed, s3.files_appended, s3.files_skipped) == (0, 0, 1)


def test_a_corpus_being_written_is_read_again_until_it_settles(tmp_path: Path, store: Store) -> None:
    """A file written seconds before each run: every run reads what changed (an append as an append, a same-tick
    rewrite whole), never a duplicate row; once it is older than the window at the time it was read, one stat."""
    path = _write(tmp_path / "c")
    ingest(store, [tmp_path / "c"], settle_s=0)
    base_n = len(_prompts(store))
    with open(path, "ab") as fh:  # the writer appends a line
        last = path.read_bytes().splitlines(keepends=True)[-1]
        fh.write(last.replace(b'"uuid":"', b'"uuid":"e'))
    s2 = ingest(store, [tmp_path / "c"], settle_s=0)
    assert (s2.files_parsed, s2.files_appended) == (0, 1)
    assert len(_prompts(store)) == base_n + 1
    for _ in range(2):  # a same-tick rewrite, then the same again right away: read whole each time
        _rewrite(path)
        s = ingest(store, [tmp_path / "c"], settle_s=0)
        assert (s.files_parsed, s.files_skipped) == (1, 0)
        assert len(_prompts(store)) == base_n + 1
    assert NEW.decode() not in _prompts(store)  # rewritten twice: back to the first text
    # the writer stops; the file's mtime is now long before the time of its last read (its mtime is put back an
    # hour: read whole once more, as another mtime), then skipped
    old = time.time_ns() - 3600 * 10**9
    os.utime(path, ns=(old, old))
    assert ingest(store, [tmp_path / "c"], settle_s=0).files_parsed == 1
    s = ingest(store, [tmp_path / "c"], settle_s=0)
    assert (s.files_parsed, s.files_appended, s.files_skipped, s.bytes_read) == (0, 0, 1, 0)
    assert len(_prompts(store)) == base_n + 1


def test_ingested_at_is_when_the_file_was_stat_ed_not_the_commit(tmp_path: Path, store: Store,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The recorded time is taken before the file's stat: a commit made later (a batch filling up, a slow disk)
    would leave a rewrite made between the stat and the commit, in the stat's tick, outside the window."""
    _write(tmp_path / "c")
    from codecensus.store import db

    real = db.Store.commit_files
    after_stat: list[float] = []

    def slow_commit(self: Store, batch: list) -> None:  # type: ignore[type-arg]
        after_stat.append(time.time())
        time.sleep(0.3)
        real(self, batch)

    monkeypatch.setattr(db.Store, "commit_files", slow_commit)
    ingest(store, [tmp_path / "c"], settle_s=0)
    (at,) = store.one("SELECT epoch_us(ingested_at) FROM files")
    assert at / 1e6 <= after_stat[0]


def test_ray_plan_reads_a_racily_clean_file_again(tmp_path: Path, store: Store) -> None:
    """The distributed engine's plan made the same check (size, mtime, tail) and skipped the same rewrite."""
    from codecensus.engine.plan import plan_inputs

    path = _write(tmp_path / "c")
    ingest(store, [tmp_path / "c"], settle_s=0)
    _rewrite(path)
    plan = plan_inputs(store, [tmp_path / "c"], settle_s=0)
    assert (plan.seen, plan.skipped, len(plan.specs)) == (1, 0, 1)
    old = time.time_ns() - 3600 * 10**9
    os.utime(path, ns=(old, old))
    ingest(store, [tmp_path / "c"], settle_s=0)
    plan = plan_inputs(store, [tmp_path / "c"], settle_s=0)
    assert (plan.seen, plan.skipped, len(plan.specs)) == (1, 1, 0)
    # an old file rewritten with the same size and its mtime put back: another ctime, read again (before: skipped)
    _rewrite(path)
    plan = plan_inputs(store, [tmp_path / "c"], settle_s=0)
    assert (plan.seen, plan.skipped, len(plan.specs)) == (1, 0, 1)
    assert (plan.specs[0].ctime_ns, plan.specs[0].inode) == (path.stat().st_ctime_ns, path.stat().st_ino)


def test_ray_load_records_the_plan_time_not_the_commit_time(tmp_path: Path, store: Store) -> None:
    """The distributed engine stored ``now()`` at the load (minutes after the files were stat'ed, on a cluster):
    its files looked settled to the next run's racy check. It now stores the time each file was stat'ed."""
    from codecensus.engine.parquet import load_ingest
    from codecensus.engine.plan import plan_inputs
    from codecensus.engine.tasks import parse_files

    _write(tmp_path / "c")
    t0 = time.time()
    plan = plan_inputs(store, [tmp_path / "c"], settle_s=0)
    time.sleep(0.3)
    out = str(tmp_path / "run")
    files = parse_files([s.row() for s in plan.specs], out=out, salt=store.salt, settle_s=0)
    load_ingest(store, out, files)
    (at,) = store.one("SELECT epoch_us(ingested_at) FROM files")
    assert t0 <= at / 1e6 <= t0 + 0.25


@pytest.mark.parametrize("fmt", [None, "claude_code"])
def test_a_same_size_rewrite_of_an_old_file_with_its_mtime_put_back_is_read_again(
        tmp_path: Path, store: Store, fmt: str | None) -> None:
    """Before: a file last modified an hour before it was ingested, then rewritten with the same size and its mtime
    put back (touch -r, rsync -t, an editor restoring times), a change before its last 4 KB: size, mtime and tail as
    stored, so it was skipped and the old prompt stayed. Its ctime changed (a rename over it: its inode): read again."""
    old = time.time_ns() - 3600 * 10**9
    path = _write(tmp_path / "c", old)
    assert ingest(store, [tmp_path / "c"], settle_s=0, fmt=fmt).files_parsed == 1
    _rewrite(path)
    s2 = ingest(store, [tmp_path / "c"], settle_s=0, fmt=fmt)
    assert (s2.files_parsed, s2.files_appended, s2.files_skipped) == (1, 0, 0)
    assert NEW.decode() in _prompts(store) and OLD.decode() not in _prompts(store)
    # replaced by a rename over it, with the size and times of the file it replaced
    st = path.stat()
    tmp = path.with_name("new.tmp")
    tmp.write_bytes(path.read_bytes().replace(NEW, OLD))
    os.utime(tmp, ns=(st.st_mtime_ns, st.st_mtime_ns))
    os.replace(tmp, path)
    s3 = ingest(store, [tmp_path / "c"], settle_s=0, fmt=fmt)
    assert (s3.files_parsed, s3.files_skipped) == (1, 0)
    assert OLD.decode() in _prompts(store) and NEW.decode() not in _prompts(store)
    s4 = ingest(store, [tmp_path / "c"], settle_s=0, fmt=fmt)  # nothing changed: one stat
    assert (s4.files_parsed, s4.files_appended, s4.files_skipped, s4.bytes_read) == (0, 0, 1, 0)


def test_a_store_without_ctime_and_inode_is_migrated_and_keeps_its_files(tmp_path: Path) -> None:
    """A store written before ctime and inode were kept: opened, its `files` table gets the two columns (NULL: not
    known); the next ingest skips its unchanged files as before (no re-read) and records their ctime and inode, so
    a later same-size rewrite with the mtime put back is read again."""
    import duckdb

    db = tmp_path / "old.duckdb"
    old = time.time_ns() - 3600 * 10**9
    path = _write(tmp_path / "c", old)
    with Store(db) as s:
        ingest(s, [tmp_path / "c"], settle_s=0)
    with duckdb.connect(str(db)) as con:  # the table as an older version made it
        con.execute("ALTER TABLE files DROP COLUMN ctime_ns")
        con.execute("ALTER TABLE files DROP COLUMN inode")
    with Store(db) as s:
        assert s.one("SELECT count(*) FROM files WHERE ctime_ns IS NULL AND inode IS NULL")[0] == 1
        st = ingest(s, [tmp_path / "c"], settle_s=0)
        assert (st.files_parsed, st.files_appended, st.files_skipped) == (0, 0, 1)
        assert s.one("SELECT ctime_ns, inode FROM files") == (path.stat().st_ctime_ns, path.stat().st_ino)
        _rewrite(path)
        assert ingest(s, [tmp_path / "c"], settle_s=0).files_parsed == 1
        assert NEW.decode() in _prompts(s)


def test_a_file_numbered_anew_by_a_remount_is_not_read_again(tmp_path: Path, store: Store) -> None:
    """Before: a filesystem mounted again that numbers its files anew (a network or FUSE filesystem, an overlay, a
    disk image) gave every stored file another inode with the same size, mtime and ctime; each was taken as rewritten
    and parsed again whole. Now such a file, its head and tail unchanged, is skipped and its new inode stored (the
    distributed plan skips it too); a file whose ctime changed as well is still read again."""
    from codecensus.engine.plan import plan_inputs

    path = _write(tmp_path / "c", time.time_ns() - 3600 * 10**9)
    assert ingest(store, [tmp_path / "c"], settle_s=0).files_parsed == 1
    real = path.stat().st_ino
    store.con.execute("UPDATE files SET inode = ?", [real + 1])  # the number it had before the remount
    assert plan_inputs(store, [str(tmp_path / "c")], settle_s=0).skipped == 1
    s2 = ingest(store, [tmp_path / "c"], settle_s=0)
    assert (s2.files_parsed, s2.files_appended, s2.files_skipped, s2.bytes_read) == (0, 0, 1, 0)
    assert store.one("SELECT inode FROM files") == (real,)
    # another number AND another ctime: replaced, as a rename over it would (read again)
    store.con.execute("UPDATE files SET inode = ?, ctime_ns = ctime_ns - 1", [real + 1])
    assert plan_inputs(store, [str(tmp_path / "c")], settle_s=0).skipped == 0
    assert ingest(store, [tmp_path / "c"], settle_s=0).files_parsed == 1
