"""Incremental and crash-safe ingestion: unchanged files cost nothing, appends resume, kills lose nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import orjson
import pytest

from codecensus.ingest import ingest
from codecensus.measure import build_sessions
from codecensus.store import Store, StoreBusy

from ccbuild import Session, rewrite_keeping_size_and_mtime, standard_session

SID = "44444444-4444-4444-8444-444444444444"


def _sess(store: Store) -> dict:
    build_sessions(store)
    return {r["session_id"]: r for r in store.query("SELECT * FROM sessions").to_pylist()}


def test_reingest_unchanged_is_noop(tmp_path: Path, store: Store) -> None:
    standard_session(SID).write(tmp_path / "c" / f"{SID}.jsonl")
    s1 = ingest(store, [tmp_path / "c"], settle_s=0)
    assert s1.files_parsed == 1
    before = store.one("SELECT count(*) FROM actions")[0]
    s2 = ingest(store, [tmp_path / "c"], settle_s=0)
    assert (s2.files_parsed, s2.files_appended, s2.files_skipped) == (0, 0, 1)
    assert s2.bytes_read == 0
    assert store.one("SELECT count(*) FROM actions")[0] == before


def test_append_resumes_at_offset(tmp_path: Path, store: Store) -> None:
    s = Session(SID)
    s.prompt("first")
    s.reply("a", [("Bash", {"command": "ls"})])
    path = s.write(tmp_path / f"{SID}.jsonl")
    ingest(store, [tmp_path], settle_s=0)
    size1 = path.stat().st_size
    n_before = len(s.lines)
    s.prompt("second")
    s.reply("b", [("Bash", {"command": "pwd"})])
    with open(path, "ab") as fh:
        for rec in s.lines[n_before:]:
            fh.write(orjson.dumps(rec) + b"\n")
    st = ingest(store, [tmp_path], settle_s=0)
    assert st.files_appended == 1 and st.files_parsed == 0
    assert st.bytes_read == path.stat().st_size - size1  # only the new bytes were read
    r = _sess(store)[SID]
    assert r["prompts"] == 2 and r["actions"] == 2
    assert store.one("SELECT count(*) FROM prompts")[0] == 2  # no duplicates


def test_partial_last_line_waits_until_complete(tmp_path: Path, store: Store) -> None:
    s = Session(SID)
    s.prompt("first")
    path = s.write(tmp_path / f"{SID}.jsonl")
    s.prompt("second")
    line = orjson.dumps(s.lines[-1])
    with open(path, "ab") as fh:
        fh.write(line[:20])  # the writer is mid-line
    ingest(store, [tmp_path], settle_s=3600)  # file is "fresh": keep the partial line for later
    assert store.one("SELECT count(*) FROM ingest_log WHERE kind='bad_json'")[0] == 0
    with open(path, "ab") as fh:
        fh.write(line[20:] + b"\n")
    st = ingest(store, [tmp_path], settle_s=3600)
    assert st.files_appended == 1
    assert _sess(store)[SID]["prompts"] == 2


def test_rewritten_file_is_replaced(tmp_path: Path, store: Store) -> None:
    s = standard_session(SID)
    path = s.write(tmp_path / f"{SID}.jsonl")
    ingest(store, [tmp_path], settle_s=0)
    t = Session(SID)
    t.prompt("only one prompt now, and a longer file than before to change the size " * 50)
    t.write(path)
    st = ingest(store, [tmp_path], settle_s=0)
    assert st.files_parsed == 1
    r = _sess(store)[SID]
    assert r["prompts"] == 1 and r["actions"] == 0


@pytest.mark.parametrize("partial", [False, True], ids=["settled", "fresh-with-a-partial-line"])
def test_rewritten_with_the_same_size_and_mtime_is_read_again(tmp_path: Path, store: Store, partial: bool) -> None:
    """A transcript rewritten in place with the same size, its mtime put back (os.utime), was taken as unchanged:
    the old prompt stayed stored. The tail hash of what was read (one 4 KB read) now tells it apart."""
    path = standard_session(SID).write(tmp_path / f"{SID}.jsonl")
    if partial:  # a writer mid-line: the file is not read to its end, and not settled
        with open(path, "ab") as fh:
            fh.write(b'{"type": "user", "mess')
    settle = 3600 if partial else 0
    ingest(store, [tmp_path], settle_s=settle)
    rewrite_keeping_size_and_mtime(path)
    s2 = ingest(store, [tmp_path], settle_s=settle)
    assert (s2.files_parsed, s2.files_skipped) == (1, 0)
    texts = {r[0] for r in store.con.execute("SELECT text FROM prompts").fetchall()}
    assert "and undo it" in texts and "and push it" not in texts
    s3 = ingest(store, [tmp_path], settle_s=settle)
    assert (s3.files_parsed, s3.files_appended, s3.files_skipped, s3.bytes_read) == (0, 0, 1, 0)


def test_second_writer_waits_then_stops_clearly(tmp_path: Path) -> None:
    db = tmp_path / "lock.duckdb"
    Store(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(db)!r}); print('ok', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"ok"
        t0 = time.monotonic()
        with pytest.raises(StoreBusy, match="in use by another codecensus process"):
            Store(db, wait_s=1.0)
        assert time.monotonic() - t0 >= 0.9  # it waited before giving up
    finally:
        holder.kill()
        holder.wait()
    Store(db, wait_s=5).close()  # usable again, not corrupted


def _corpus(root: Path, n: int) -> None:
    rng = random.Random(3)
    for i in range(n):
        sid = f"55555555-5555-4555-8555-{i:012d}"
        s = standard_session(sid) if i % 3 == 0 else Session(sid)
        for j in range(rng.randint(5, 40)):
            s.prompt(f"prompt {j} " + "word " * rng.randint(1, 30))
            s.reply("reply " * rng.randint(1, 50), [("Bash", {"command": f"echo {j}"})] * rng.randint(0, 3))
        s.write(root / f"u{i % 5}" / ".claude" / "projects" / "-p" / f"{sid}.jsonl")


_DUMP_SQL = {
    "files": "SELECT file_id, path, source, role, session_key, user_name, size, consumed, lines, head_hash, tail_hash FROM files",
    "sessions": "SELECT * EXCLUDE (session_key) FROM sessions",
}


def _dump(db: Path) -> dict[str, list]:
    con = duckdb.connect(str(db), read_only=True)
    out = {}
    for t in ("prompts", "messages", "actions", "results", "events", "session_files", "ingest_log", "files", "sessions"):
        sql = _DUMP_SQL.get(t, f"SELECT * FROM {t}")
        out[t] = sorted(map(repr, con.execute(sql).fetchall()))
    con.close()
    return out


def test_killed_ingest_reruns_to_identical_database(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _corpus(corpus, 60)
    clean = tmp_path / "clean.duckdb"
    cmd = [sys.executable, "-m", "codecensus", "ingest", str(corpus), "--user-from-dir", "-j", "1"]
    # 8 files per transaction: the 60 files commit in 8 steps, so a kill can land between commits.
    base_env = {**os.environ, "CODECENSUS_COMMIT_FILES": "8"}
    t0 = time.monotonic()
    subprocess.run(cmd, env={**base_env, "CODECENSUS_DB": str(clean)}, check=True, capture_output=True)
    clean_s = time.monotonic() - t0
    # Same salt so hashes compare: copy the clean db's salt into the victim db first.
    salt = duckdb.connect(str(clean), read_only=True).execute("SELECT value FROM meta WHERE key='salt'").fetchall()[0][0]
    victim = tmp_path / "victim.duckdb"
    Store(victim).close()
    con = duckdb.connect(str(victim))
    con.execute("UPDATE meta SET value=? WHERE key='salt'", [salt])
    con.close()
    pristine = victim.read_bytes()
    env_v = {**base_env, "CODECENSUS_DB": str(victim)}
    rng = random.Random(11)
    partial = 0  # kills that left some, but not all, files committed
    for attempt in range(12):
        p = subprocess.Popen(cmd, env=env_v, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if attempt % 2 == 1:
            time.sleep(rng.uniform(0.35, 0.95) * clean_s)  # somewhere inside a run like the clean one
        else:
            # Ingest itself is a short part of a run (start-up and measure are most of it): wait for the
            # first commit to reach the WAL, then kill a random moment later, among the commits.
            wal = Path(str(victim) + ".wal")
            deadline = time.monotonic() + 2 * clean_s + 5
            while p.poll() is None and time.monotonic() < deadline and not (wal.exists() and wal.stat().st_size):
                time.sleep(0.001)
            time.sleep(rng.uniform(0.0, 0.05))
        killed = p.poll() is None
        if killed:
            p.send_signal(signal.SIGKILL)
        p.wait()
        c = duckdb.connect(str(victim), read_only=True)
        n = c.execute("SELECT count(*) FROM files").fetchall()[0][0]
        c.close()
        partial += killed and 0 < n < 60
        if n == 60 and partial:
            break
        if n == 60:
            # every file was committed before any kill landed between two commits (a kill timed on the clock, or
            # one the scheduler delayed past the last commit on a busy machine): that proved nothing, and ended the
            # test ("no kill landed between two commits"). Start again from the empty database.
            victim.write_bytes(pristine)
            Path(str(victim) + ".wal").unlink(missing_ok=True)
    subprocess.run(cmd, env=env_v, check=True, capture_output=True)
    assert partial >= 1, "no kill landed between two commits; the test proved nothing"
    assert _dump(victim) == _dump(clean)


def test_other_user_attribution_remakes_the_rows(tmp_path: Path, store: Store) -> None:
    # `--user x` then `--user y` (or a `--user-from-dir` folder renamed): the unchanged files were skipped and
    # every session stayed with the first user; a clean ingest would attribute them to the second.
    standard_session(SID).write(tmp_path / "c" / f"{SID}.jsonl")
    ingest(store, [tmp_path / "c"], user="x", settle_s=0)
    st = ingest(store, [tmp_path / "c"], user="y", settle_s=0)
    assert (st.files_parsed, st.files_skipped) == (1, 0)
    assert _sess(store)[SID]["user"] == store.hash_name("y")
    assert store.query("SELECT DISTINCT user_key FROM session_files").column(0).to_pylist() == ["y"]
    st = ingest(store, [tmp_path / "c"], user="y", settle_s=0)  # the same user again: nothing to do
    assert (st.files_parsed, st.files_skipped) == (0, 1)


def _raw_counts(store: Store) -> dict[str, int]:
    return {t: store.one(f"SELECT count(*) FROM {t}")[0] for t in ("prompts", "actions", "session_files", "files")}


def test_files_no_longer_there_are_kept_and_said_or_pruned(tmp_path: Path, store: Store) -> None:
    # A deleted file kept its sessions and a moved one was stored twice, and nothing said so; now the run counts
    # them (files_gone) and `prune` makes the database what a clean ingest of the corpus gives.
    sids = [f"66666666-6666-4666-8666-{i:012d}" for i in range(3)]
    root = tmp_path / "team"
    for i, sid in enumerate(sids):
        standard_session(sid).write(root / f"u{i}" / "-p" / f"{sid}.jsonl")
    ingest(store, [root], user_from_dir=True, settle_s=0)
    (root / "u0" / "-p" / f"{sids[0]}.jsonl").unlink()  # deleted
    (root / "u1" / "-q").mkdir()
    (root / "u1" / "-p" / f"{sids[1]}.jsonl").rename(root / "u1" / "-q" / f"{sids[1]}.jsonl")  # moved
    (root / "u2").rename(root / "bob")  # a user's folder renamed
    st = ingest(store, [root], user_from_dir=True, settle_s=0)
    assert (st.files_gone, st.files_removed, st.files_parsed) == (3, 0, 2)
    assert len(_sess(store)) == 3  # history kept
    assert store.one("SELECT count(*) FROM files")[0] == 5
    st = ingest(store, [root], user_from_dir=True, settle_s=0, prune=True)
    assert (st.files_gone, st.files_removed, st.files_parsed) == (3, 3, 0)
    clean = Store(tmp_path / "clean.duckdb")
    clean.con.execute("UPDATE meta SET value=? WHERE key='salt'", [store.salt])
    ingest(clean, [root], user_from_dir=True, settle_s=0)
    assert _raw_counts(store) == _raw_counts(clean)
    assert _sess(store) == _sess(clean)
    assert {r["user"] for r in _sess(store).values()} == {store.hash_name(u) for u in ("u1", "bob")}
    clean.close()
    st = ingest(store, [root], user_from_dir=True, settle_s=0, prune=True)  # nothing more to remove
    assert (st.files_gone, st.files_removed, st.files_skipped) == (0, 0, 2)


def test_prune_leaves_files_it_cannot_vouch_for(tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # A relative root stored from another working directory names other files here; a folder that cannot be
    # read is not a folder whose files are gone.
    a, b = tmp_path / "a", tmp_path / "b"
    standard_session(SID).write(a / "c" / f"{SID}.jsonl")
    sid2 = "66666666-6666-4666-8666-000000000009"
    standard_session(sid2).write(b / "c" / "sub" / f"{sid2}.jsonl")
    monkeypatch.chdir(a)
    ingest(store, [Path("c")], settle_s=0)
    monkeypatch.chdir(b)
    st = ingest(store, [Path("c")], settle_s=0, prune=True)
    assert (st.files_parsed, st.files_gone, st.files_removed) == (1, 0, 0)
    assert len(_sess(store)) == 2
    import codecensus.paths

    real_scandir = os.scandir

    def scandir(d: str):  # noqa: ANN202
        if str(d).endswith("sub"):
            raise PermissionError(13, "Permission denied", d)
        return real_scandir(d)

    monkeypatch.setattr(codecensus.paths.os, "scandir", scandir)
    st = ingest(store, [Path("c")], settle_s=0, prune=True)
    assert (st.files_gone, st.files_removed) == (0, 0)
    assert len(_sess(store)) == 2


def test_file_deleted_while_the_ingest_runs(tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # Listed, then deleted before it was planned (Claude Code's clean-up runs whenever it starts): the stat in
    # the planning raised FileNotFoundError out of ingest, and the CLI stopped the whole run with exit 2.
    from codecensus import ingest as ingest_mod

    sids = [f"66666666-6666-4666-8666-{i:012d}" for i in range(3)]
    for sid in sids:
        standard_session(sid).write(tmp_path / "c" / f"{sid}.jsonl")
    ingest(store, [tmp_path / "c"], settle_s=0)
    victim = tmp_path / "c" / f"{sids[1]}.jsonl"
    with open(victim, "ab") as fh:  # changed, so it is detected and planned again
        fh.write(b"\n")
    standard_session(SID).write(tmp_path / "c" / f"{SID}.jsonl")
    real = ingest_mod.registry.detect

    def detect(p: Path, *a: object):  # noqa: ANN202
        found = real(p, *a)  # type: ignore[arg-type]
        if p == victim or p.name == f"{SID}.jsonl":
            p.unlink()
        return found

    monkeypatch.setattr(ingest_mod.registry, "detect", detect)
    st = ingest(store, [tmp_path / "c"], settle_s=0, prune=True)
    assert (st.files_seen, st.files_failed, st.files_gone, st.files_removed) == (2, 0, 1, 1)
    assert sorted(_sess(store)) == [sids[0], sids[2]]


def test_last_line_read_without_newline_then_completed(tmp_path: Path, store: Store) -> None:
    # A settled file's last line is read even without its newline; when the writer came back and finished that
    # line, the next run resumed after it and read the rest as a damaged line: 1 prompt and 2 bad lines where a
    # clean ingest finds 2 prompts and none. Such a file is now re-read whole.
    s = Session(SID)
    s.prompt("first")
    s.reply("a", [("Bash", {"command": "ls"})])
    path = s.write(tmp_path / f"{SID}.jsonl")
    s.prompt("second")
    line = orjson.dumps(s.lines[-1])
    with open(path, "ab") as fh:
        fh.write(line[:40])
    assert ingest(store, [tmp_path], settle_s=0).bad_lines == 1  # settled: the cut line is read as it is
    with open(path, "ab") as fh:
        fh.write(line[40:] + b"\n")
    st = ingest(store, [tmp_path], settle_s=0)
    assert (st.files_parsed, st.files_appended, st.bad_lines) == (1, 0, 0)
    assert store.one("SELECT count(*) FROM ingest_log")[0] == 0
    r = _sess(store)[SID]
    assert (r["prompts"], r["bad_lines"]) == (2, 0)
    # a file whose last line has its newline still resumes at the stored offset
    s.prompt("third")
    with open(path, "ab") as fh:
        fh.write(orjson.dumps(s.lines[-1]) + b"\n")
    assert ingest(store, [tmp_path], settle_s=0).files_appended == 1
    assert _sess(store)[SID]["prompts"] == 3


def test_reingest_by_a_relative_path_skips_unchanged_files_with_one_stat(tmp_path: Path, store: Store,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest /abs/c, then `ingest c` from its parent: the stored states were looked up under "c" only (the paths are
    stored absolute), so every unchanged file had its head read for format detection and its id looked up (100K
    files: a 39 s ingest instead of 6 s). The states are now found under the root's absolute form too."""
    from codecensus.sources import base as registry

    for i in range(3):
        standard_session(f"4444444{i}-4444-4444-8444-444444444444").write(tmp_path / "c" / "p" / f"{i}.jsonl")
    s1 = ingest(store, [tmp_path / "c"], settle_s=0)
    assert s1.files_parsed == 3
    monkeypatch.chdir(tmp_path)
    heads: list[Path] = []
    real = registry.read_head
    monkeypatch.setattr(registry, "read_head", lambda p, *a: heads.append(p) or real(p, *a))
    s2 = ingest(store, [Path("c")], settle_s=0)
    assert (s2.files_seen, s2.files_skipped, s2.files_parsed, s2.files_appended, s2.files_gone) == (3, 3, 0, 0, 0)
    assert heads == []
    # a grown file is still read (appended), the others skipped, none counted gone
    f = tmp_path / "c" / "p" / "1.jsonl"
    with open(f, "ab") as fh:
        fh.write(f.read_bytes().splitlines(keepends=True)[-1])
    s3 = ingest(store, [Path("c")], settle_s=0)
    assert (s3.files_seen, s3.files_skipped, s3.files_appended, s3.files_gone) == (3, 2, 1, 0)
    assert store.one("SELECT count(*) FROM files")[0] == 3


def test_a_root_given_in_other_forms_names_the_same_stored_files(tmp_path: Path, store: Store,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`ingest ./c`, then the same folder by its absolute path, through a symlink and from another working
    directory: the paths were stored as given (`c/p/0.jsonl`), so a later `--prune` under another form of the root
    never found the deleted file (files_gone 0, its session kept), and each form re-read every head. Paths are now
    stored absolute through no symlink."""
    from codecensus.sources import base as registry

    sids = [f"4444444{i}-4444-4444-8444-444444444444" for i in range(3)]
    for i, sid in enumerate(sids):
        standard_session(sid).write(tmp_path / "c" / "p" / f"{i}.jsonl")
    (tmp_path / "link").symlink_to(tmp_path / "c")
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path)
    assert ingest(store, [Path("./c")], settle_s=0).files_parsed == 3
    real_c = str((tmp_path / "c").resolve())
    assert {r[0] for r in store.con.execute("SELECT path FROM files").fetchall()} == {
        f"{real_c}/p/{i}.jsonl" for i in range(3)}
    heads: list[Path] = []
    real = registry.read_head
    monkeypatch.setattr(registry, "read_head", lambda p, *a: heads.append(p) or real(p, *a))
    monkeypatch.chdir(tmp_path / "other")
    for root in (tmp_path / "c", Path("../link"), Path("../c")):
        st = ingest(store, [root], settle_s=0)
        assert (st.files_seen, st.files_skipped, st.files_parsed, st.files_gone) == (3, 3, 0, 0), root
    assert heads == []
    (tmp_path / "c" / "p" / "1.jsonl").unlink()
    st = ingest(store, [Path("../link")], settle_s=0, prune=True)
    assert (st.files_gone, st.files_removed) == (1, 1)
    assert sorted(_sess(store)) == [sids[0], sids[2]]


def test_paths_stored_relative_by_an_older_ingest_still_match(tmp_path: Path, store: Store,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A store written before paths were stored absolute holds them as the root was given (`c/p/0.jsonl`): an
    ingest by the absolute root skips those files with one stat, stores their real path, and --prune finds a
    deleted one."""
    sids = [f"4444444{i}-4444-4444-8444-444444444444" for i in range(3)]
    for i, sid in enumerate(sids):
        standard_session(sid).write(tmp_path / "c" / "p" / f"{i}.jsonl")
    monkeypatch.chdir(tmp_path)
    ingest(store, [Path("c")], settle_s=0)
    store.con.execute("UPDATE files SET path = 'c/p/' || split_part(path, '/p/', 2)")  # as older versions stored it
    (tmp_path / "c" / "p" / "2.jsonl").unlink()
    st = ingest(store, [tmp_path / "c"], settle_s=0, prune=True)
    assert (st.files_skipped, st.files_parsed, st.files_gone, st.files_removed) == (2, 0, 1, 1)
    assert sorted(_sess(store)) == sids[:2]
    real_c = str((tmp_path / "c").resolve())
    assert sorted(r[0] for r in store.con.execute("SELECT path FROM files").fetchall()) == [
        f"{real_c}/p/{i}.jsonl" for i in range(2)]
