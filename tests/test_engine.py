"""The engine-free work units of the distributed engine, run in-process (no cluster needed).

The same functions run inside Ray tasks (tests/test_ray.py); here they are checked
against the single-machine ingest on local files and on an fsspec ``memory://``
store standing in for object storage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fsspec")

import fsspec  # noqa: E402
import pyarrow as pa  # noqa: E402

from codecensus.engine.fs import FileSpec, is_url, remote_file_id, split_inputs  # noqa: E402
from codecensus.engine.parquet import load_ingest, part_name  # noqa: E402
from codecensus.engine.plan import plan_inputs, stats_from_files  # noqa: E402
from codecensus.engine.tasks import parse_files  # noqa: E402
from codecensus.ingest import ingest  # noqa: E402
from codecensus.measure import build_sessions  # noqa: E402
from codecensus.sources.base import file_id_for  # noqa: E402
from codecensus.store import Store  # noqa: E402

from ccbuild import Session, rewrite_keeping_size_and_mtime, standard_session  # noqa: E402

S1 = "11111111-1111-4111-8111-111111111111"
S2 = "22222222-2222-4222-8222-222222222222"
RAW = ("prompts", "messages", "actions", "results", "events", "session_files", "ingest_log")

#: what one answer of the local chat server costs at the test price: 3,120 tokens in, 208 out
ONE_CALL_USD = (3120 * 1.5 + 208 * 6) / 1e6


def make_corpus(root: Path) -> list[Path]:
    """Two users; a main session with a damaged line, a subagent file, and a small second session."""
    proj = root / "alice" / ".claude" / "projects" / "-home-dev-app"
    a = standard_session(S1).write(proj / f"{S1}.jsonl", damaged=['{"type": "user", "trunc'])
    sub = Session(S1)
    sub.prompt("look for the config loader")
    (t,) = sub.reply("Searching.", [("Grep", {"pattern": "load_config"})])
    sub.result(t, "src/config.py:3: def load_config():")
    b = sub.write(proj / S1 / "subagents" / "agent-a1b2c3d4e5f6a7b8c.jsonl")
    s2 = Session(S2, cwd="/home/bob/site")
    s2.prompt("add a dark mode toggle")
    (t,) = s2.reply("On it.", [("Write", {"file_path": "/home/bob/site/theme.css", "content": "body { color: #eee }"})])
    s2.result(t, "ok", tur={"type": "create", "filePath": "/home/bob/site/theme.css"})
    c = s2.write(root / "bob" / ".claude" / "projects" / "-home-bob-site" / f"{S2}.jsonl")
    return [a, b, c]


def local_store(path: Path, corpus: Path, salt: str | None = None) -> Store:
    s = Store(path)
    if salt:
        s.set_meta("salt", salt)
    ingest(s, [corpus], user_from_dir=True, settle_s=0)
    build_sessions(s)
    return s


def table(store: Store, name: str, exclude: str = "") -> pa.Table:
    sel = f"* EXCLUDE ({exclude})" if exclude else "*"
    return store.query(f"SELECT {sel} FROM {name} ORDER BY ALL")


def assert_same(a: Store, b: Store, *, tables: tuple[str, ...] = (*RAW, "sessions"), files: bool = True) -> None:
    for t in tables:
        if t == "sessions":
            assert_same_sessions(a, b)
            continue
        x, y = table(a, t), table(b, t)
        assert x.num_rows == y.num_rows, t
        assert x.equals(y), f"table {t} differs"
    if files:
        x, y = table(a, "files", "ingested_at"), table(b, "files", "ingested_at")
        assert x.equals(y), "files differ"


def assert_same_sessions(a: Store, b: Store) -> None:
    """Every session row identical (measure sums cost as DECIMAL, so row order cannot change it)."""
    q = "SELECT * FROM sessions ORDER BY session_key"
    x, y = a.query(q), b.query(q)
    assert x.num_rows == y.num_rows
    assert x.equals(y), "sessions differ"


def engine_ingest(store: Store, paths: list[str], out: str, *, batch: int = 2):
    """What ray_ingest does, without Ray: plan, parse in batches, load, measure."""
    plan = plan_inputs(store, paths, user_from_dir=True, settle_s=0)
    rows = [parse_files([s.row() for s in plan.specs[i : i + batch]], out=out, salt=store.salt, settle_s=0)
            for i in range(0, len(plan.specs), batch)]
    files = pa.concat_tables(rows) if rows else None
    if files is not None:
        load_ingest(store, out, files)
    build_sessions(store)
    return stats_from_files(files, plan)


def test_local_paths_identical_to_local_ingest(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    make_corpus(corpus)
    a = local_store(tmp_path / "a.duckdb", corpus)
    b = Store(tmp_path / "b.duckdb")
    b.set_meta("salt", a.salt)
    stats = engine_ingest(b, [str(corpus)], str(tmp_path / "out" / "run1"))
    assert (stats.files_seen, stats.files_parsed, stats.files_failed) == (3, 3, 0)
    assert stats.bad_lines == 1
    assert stats.changed_sessions == {S1, S2}
    assert b.one("SELECT count(*) FROM sessions")[0] == 2
    assert b.one("SELECT count(*) FROM ingest_log")[0] >= 1
    assert_same(a, b)
    # file ids are the local ingest's: derived from the resolved path and the format
    ids = {r[0] for r in b.con.execute("SELECT file_id FROM files").fetchall()}
    assert file_id_for((corpus / "bob" / ".claude" / "projects" / "-home-bob-site" / f"{S2}.jsonl"),
                       "claude_code") in ids


def test_ids_a_user_chose_are_hashed_with_the_stores_salt_as_locally(tmp_path: Path) -> None:
    """The parse task hashes an id a user may fill (an ``instance_id``, a renamed Cline folder) with the salt of the
    store it loads into, as the local ingest does: the same session ids as a local ingest with that salt, other ids
    in a store with another salt."""
    from test_ingest_odd_inputs import _team_with_chosen_ids

    corpus = tmp_path / "corpus"
    _team_with_chosen_ids(corpus, "acme-secret-merger", "0b6f3c1e-9a7d-4c2b-8e5f-1a2b3c4d5e6f")
    b = Store(tmp_path / "b.duckdb")
    engine_ingest(b, [str(corpus)], str(tmp_path / "out" / "r1"))
    a = local_store(tmp_path / "a.duckdb", corpus, salt=b.salt)
    assert_same(a, b)
    ids = {r[0] for r in b.con.execute("SELECT session_id FROM sessions").fetchall()}
    assert len(ids) == 4  # (the two copies of the mini-swe-agent run share one)
    other = local_store(tmp_path / "c.duckdb", corpus)
    assert {r[0] for r in other.con.execute("SELECT session_id FROM sessions").fetchall()} & ids == {
        "0b6f3c1e-9a7d-4c2b-8e5f-1a2b3c4d5e6f"}


def test_reingest_skips_unchanged_and_replaces_changed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    paths = make_corpus(corpus)
    out = tmp_path / "out"
    b = Store(tmp_path / "b.duckdb")
    engine_ingest(b, [str(corpus)], str(out / "r1"))
    again = engine_ingest(b, [str(corpus)], str(out / "r2"))
    assert (again.files_seen, again.files_skipped, again.files_parsed) == (3, 3, 0)
    # grow the small session: only it is re-parsed, its old rows replaced (never duplicated)
    s2 = Session(S2, cwd="/home/bob/site")
    s2.prompt("add a dark mode toggle")
    s2.reply("On it.")
    s2.prompt("and a light one")
    s2.reply("Done.")
    s2.write(paths[2])
    third = engine_ingest(b, [str(corpus)], str(out / "r3"))
    assert (third.files_skipped, third.files_parsed) == (2, 1)
    a = local_store(tmp_path / "a.duckdb", corpus, salt=b.salt)
    assert_same(a, b)
    assert b.one("SELECT prompts FROM sessions WHERE session_id = ?", [S2])[0] == 2


def test_retried_task_overwrites_its_parts(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    make_corpus(corpus)
    out = str(tmp_path / "out" / "run")
    b = Store(tmp_path / "b.duckdb")
    plan = plan_inputs(b, [str(corpus)], user_from_dir=True, settle_s=0)
    rows = [s.row() for s in plan.specs]
    first = parse_files(rows, out=out, salt=b.salt, settle_s=0)
    second = parse_files(rows, out=out, salt=b.salt, settle_s=0)  # a retry of the same task
    assert first.equals(second)
    parts = list((tmp_path / "out" / "run" / "prompts").glob("*.parquet"))
    assert [p.name for p in parts] == [part_name(r["url"] for r in rows)]
    load_ingest(b, out, second)
    a = local_store(tmp_path / "a.duckdb", corpus, salt=b.salt)
    build_sessions(b)
    assert_same(a, b)


def test_failed_file_is_reported_and_not_loaded(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    paths = make_corpus(corpus)
    b = Store(tmp_path / "b.duckdb")
    plan = plan_inputs(b, [str(corpus)], user_from_dir=True, settle_s=0)
    paths[2].unlink()  # vanishes between planning and parsing
    files = parse_files([s.row() for s in plan.specs], out=str(tmp_path / "out"), salt=b.salt, settle_s=0)
    stats = stats_from_files(files, plan)
    assert (stats.files_parsed, stats.files_failed) == (2, 1)
    assert "FileNotFoundError" in stats.errors[0]
    load_ingest(b, str(tmp_path / "out"), files)
    assert b.one("SELECT count(*) FROM files")[0] == 2
    assert b.one("SELECT count(*) FROM prompts WHERE session_key = ?", [S2])[0] == 0


@pytest.fixture
def memfs():
    fs = fsspec.filesystem("memory")
    yield fs
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")


def test_object_storage_inputs_and_outputs(tmp_path: Path, memfs) -> None:
    """Remote inputs are fetched into a mirrored layout: same sessions as a local ingest, URL-based ids."""
    corpus = tmp_path / "corpus"
    paths = make_corpus(corpus)
    for p in paths:
        memfs.pipe(f"/bucket/team/{p.relative_to(corpus).as_posix()}", p.read_bytes())
    memfs.pipe("/bucket/team/alice/.claude/projects/notes.txt", b"not a transcript")
    memfs.pipe("/bucket/team/alice/.claude/todos/x.json", b"[]")  # skipped dir
    b = Store(tmp_path / "b.duckdb")
    a = local_store(tmp_path / "a.duckdb", corpus, salt=b.salt)
    stats = engine_ingest(b, ["memory://bucket/team"], "memory://out/run1")
    assert (stats.files_seen, stats.files_parsed, stats.files_failed) == (3, 3, 0)
    assert_same(a, b, tables=("sessions",), files=False)
    for t in RAW:  # the same rows, under URL-based file ids
        drop = "file_id, path" if t == "ingest_log" else "file_id"
        assert table(a, t, drop).equals(table(b, t, drop)), t
    url = f"memory:///bucket/team/bob/.claude/projects/-home-bob-site/{S2}.jsonl"
    row = b.one("SELECT file_id, user_name, role FROM files WHERE path = ?", [url])
    assert row == (remote_file_id(url, "claude_code"), "bob", "main")
    assert b.one("SELECT count(*) FROM files WHERE role = 'subagent'")[0] == 1
    assert b.one("SELECT min(path) FROM ingest_log")[0].startswith("memory://")
    # the Parquet partitions are in the output store; an unchanged re-run parses nothing
    assert any(p.endswith(".parquet") for p in memfs.find("/out/run1/prompts"))
    again = engine_ingest(b, ["memory://bucket/team"], "memory://out/run2")
    assert (again.files_skipped, again.files_parsed) == (3, 0)


def test_input_helpers() -> None:
    assert is_url("s3://b/k") and is_url("memory://x") and not is_url("/tmp/x") and not is_url("file:///tmp/x")
    local, remote = split_inputs(["/a", "file:///b", "gs://c/d", Path("s3://bucket/k")])
    assert local == [Path("/a"), Path("/b")] and remote == ["gs://c/d", "s3://bucket/k"]
    spec = FileSpec(url="s3://b/k.jsonl", local=False, user=None, size=1, mtime_ns=2)
    assert FileSpec(**spec.row()) == spec
    assert remote_file_id("s3://b/k", "claude_code") != remote_file_id("s3://b/k", "codex")


def test_parallel_classify_identical_to_classify_store(tmp_path: Path) -> None:
    import shutil

    from codecensus.classify.run import classify_store, make_backend
    from codecensus.engine.local import classify_parallel

    corpus = tmp_path / "corpus"
    make_corpus(corpus)
    a = local_store(tmp_path / "a.duckdb", corpus)
    a.con.execute("CHECKPOINT")
    shutil.copy(a.path, tmp_path / "b.duckdb")
    b = Store(tmp_path / "b.duckdb")
    local = classify_store(a, make_backend("offline", embedder="none", store=a))
    par = classify_parallel(b, "offline", embedder="none", workers=2, batch_size=1)
    assert par.classified == local.classified == 2
    assert par.by_mode == local.by_mode
    cols = "* EXCLUDE (classified_at)"
    assert a.query(f"SELECT {cols} FROM facets ORDER BY ALL").equals(b.query(f"SELECT {cols} FROM facets ORDER BY ALL"))
    assert classify_parallel(b, "offline", embedder="none", workers=2).selected == 0  # done: skipped


def test_parallel_batch_size_keeps_every_worker_busy() -> None:
    """Large runs take 2,000 sessions a batch (fewer per-batch queries and evidence builds); smaller ones shrink it
    so that each worker still gets four batches, never under 100."""
    from codecensus.engine.local import MAX_BATCH, MIN_BATCH, parallel_batch_size

    assert parallel_batch_size(400_000, 2) == MAX_BATCH == 2000
    assert parallel_batch_size(8_000, 2) == 1000  # 4 batches a worker
    assert parallel_batch_size(3_000, 2) == 375
    assert parallel_batch_size(300, 2) == MIN_BATCH == 100
    assert parallel_batch_size(0, 0) == MIN_BATCH
    n, w = 10_001, 3
    b = parallel_batch_size(n, w)
    assert -(-n // b) >= 4 * w  # enough batches to share


def test_plan_reparses_a_file_attributed_to_another_user(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    standard_session(S1).write(corpus / f"{S1}.jsonl")
    store = Store(tmp_path / "db.duckdb")
    ingest(store, [corpus], user="x", settle_s=0)
    assert plan_inputs(store, [str(corpus)], user="x", settle_s=0).skipped == 1
    plan = plan_inputs(store, [str(corpus)], user="y", settle_s=0)  # was skipped: the rows kept user x
    assert (plan.skipped, [s.user for s in plan.specs]) == (0, ["y"])


def test_file_urls_that_went_through_pathlib_are_local_paths(tmp_path: Path) -> None:
    """`ingest --engine ray file:///data/x`: the CLI's Path made it 'file:/data/x', read as a relative folder
    named 'file:' ('no such file or directory' for a folder that exists)."""
    local, remote = split_inputs([Path(f"file://{tmp_path}"), f"file://{tmp_path}"])
    assert local == [tmp_path, tmp_path] and remote == []


def test_a_remote_input_that_does_not_exist_is_said(tmp_path: Path) -> None:
    """A URL that names nothing ran as an empty corpus (exit 0, 'No transcript … under memory:/nothing'), where a
    missing local path is an error."""
    from typer.testing import CliRunner

    from codecensus.cli import app

    with Store(tmp_path / "db.duckdb") as s, pytest.raises(FileNotFoundError, match="memory://nothing"):
        plan_inputs(s, ["memory://nothing/here"])
    r = CliRunner().invoke(app, ["ingest", "--engine", "ray", "--db", str(tmp_path / "db.duckdb"), "memory://nothing"])
    assert r.exit_code == 2 and "memory://nothing: no such file or folder" in " ".join(r.output.split())


def test_a_url_whose_filesystem_package_is_missing_is_said(tmp_path: Path) -> None:
    """s3:// without s3fs ended in an ImportError traceback."""
    import importlib.util

    if importlib.util.find_spec("s3fs") is not None:
        pytest.skip("s3fs is installed")
    from typer.testing import CliRunner

    from codecensus.cli import app

    r = CliRunner().invoke(app, ["ingest", "--engine", "ray", "--db", str(tmp_path / "db.duckdb"), "s3://b/team/"])
    said = " ".join(r.output.split())
    assert r.exit_code == 2 and "s3://b/team" in said and "s3fs" in said, r.output


def test_plan_reads_again_a_same_size_rewrite_with_its_mtime_put_back(tmp_path: Path) -> None:
    """The planner skipped a local file of the same size and mtime without the local ingest's tail check: one
    rewritten in place with its mtime put back (os.utime) kept its old rows under --engine ray. Now re-read."""
    corpus = tmp_path / "corpus"
    path = standard_session(S1).write(corpus / f"{S1}.jsonl")
    store = Store(tmp_path / "db.duckdb")
    engine_ingest(store, [str(corpus)], str(tmp_path / "r1"))
    assert plan_inputs(store, [str(corpus)], settle_s=0).skipped == 1
    rewrite_keeping_size_and_mtime(path)
    again = engine_ingest(store, [str(corpus)], str(tmp_path / "r2"))
    assert (again.files_parsed, again.files_skipped) == (1, 0)
    texts = {r[0] for r in store.con.execute("SELECT text FROM prompts").fetchall()}
    assert "and undo it" in texts and "and push it" not in texts
    assert plan_inputs(store, [str(corpus)], settle_s=0).skipped == 1


def test_classify_worker_redacts_each_summary_once_across_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Summaries repeat across a run's batches: a worker redacts each distinct one once (the same text out)."""
    from codecensus.classify import run as classify_run
    from codecensus.engine.tasks import ClassifyWorker
    from evidence_builders import edit, session

    seen: list[str] = []
    real = classify_run._default_redact()

    def counting(text: str) -> str:
        seen.append(text)
        return real(text)

    monkeypatch.setattr(classify_run, "_default_redact", lambda: counting)
    worker = ClassifyWorker("offline", embedder="none")
    batch = [session(["fix the failing login test in auth.py please"], [edit("auth.py")]) for _ in range(3)]
    first = worker.classify(batch).column("summary").to_pylist()
    second = worker.classify(batch).column("summary").to_pylist()
    assert first == second and first[0] == real(first[0])
    assert len(seen) == len(set(seen)) == 1, seen  # once for the run, not once per batch


def test_a_ray_ingest_stores_the_new_inode_of_a_renumbered_file_as_the_local_ingest(tmp_path: Path) -> None:
    """A file numbered anew by a remount (same size, mtime and ctime, another inode; head and tail unchanged) is
    skipped by both ingests, but only the local one stored its new inode: under --engine ray every later run read
    its fingerprints again. The same for a file stored before ctimes and inodes were kept. Now the Ray ingest
    stores them too (every file skipped: no cluster is started)."""
    from codecensus.engine.ray_engine import ray_ingest

    corpus = tmp_path / "corpus"
    path = standard_session(S1).write(corpus / f"{S1}.jsonl")
    store = Store(tmp_path / "db.duckdb")
    engine_ingest(store, [str(corpus)], str(tmp_path / "r1"))
    st = path.stat()
    assert store.one("SELECT ctime_ns, inode FROM files") == (st.st_ctime_ns, st.st_ino)
    for change in ("inode = inode + 1", "ctime_ns = NULL, inode = NULL"):  # a remount; a store of an older version
        store.con.execute(f"UPDATE files SET {change}")
        stats = ray_ingest(store, [str(corpus)], user_from_dir=True, settle_s=0)
        assert (stats.files_seen, stats.files_skipped, stats.files_parsed) == (1, 1, 0), change
        assert store.one("SELECT ctime_ns, inode FROM files") == (st.st_ctime_ns, st.st_ino), change
        assert plan_inputs(store, [str(corpus)], user_from_dir=True, settle_s=0).identities == {}, change


class _Died(BaseException):
    """An actor process ending in the middle of a part (killed, out of memory, its node lost)."""


def _llm_actor(chat: Any, out: str, ledger: str = "actor-1", budget: float = 1.0, **kw: Any) -> Any:
    """A classify actor of the OpenAI-compatible backend on the local chat server (1.5 / 6 USD per M tokens)."""
    from codecensus.engine.tasks import ClassifyParts

    return ClassifyParts("openai", out=out, ledger=ledger, model="m", base_url=chat.url, ner=False, price_in=1.5,
                         price_out=6, budget_usd=budget, **kw)


def _reservations(actor: Any) -> list[float]:
    """The worst-case costs ``actor``'s account reserves, one per call, as it reserves them."""
    acc = actor.backend.account
    reserved: list[float] = []
    reserve = acc.reserve

    def spy(usd: float) -> None:
        reserved.append(usd)
        reserve(usd)

    acc.reserve = spy
    return reserved


def _dies_sending(actor: Any, answered: int) -> None:
    """``actor``'s process dies while sending its request after ``answered`` answered ones."""
    send = actor.backend._send
    sent = 0

    def send_or_die(messages: Any) -> Any:
        nonlocal sent
        if sent == answered:
            raise _Died
        sent += 1
        return send(messages)

    actor.backend._send = send_or_die


def test_a_restarted_classify_actor_keeps_the_spend_and_budget_of_the_one_that_died(tmp_path: Path) -> None:
    """Ray restarts an actor that died (Ray Data's max_restarts=-1, under the same actor id) and retries its part.
    Each actor reported its spend only with a finished part, and a restarted one started with a fresh account:
    the calls of the failed attempt were missing from the run's account, and the new incarnation had its whole
    budget share again. Now each actor keeps its account under <run>/spend/<actor id>.json after every call; a
    restart starts from it and the driver adds those up (run here without Ray: the id is given)."""
    pytest.importorskip("openai")
    from codecensus.classify.cache import Account
    from codecensus.engine.ray_engine import write_evidence
    from codecensus.engine.tasks import ClassifyParts, spent_by_actors
    from local_server import ChatServer

    corpus = tmp_path / "corpus"
    sids = [f"{i}1111111-1111-4111-8111-111111111111" for i in range(1, 5)]
    for sid in sids:
        standard_session(sid).write(corpus / f"{sid}.jsonl")
    store = Store(tmp_path / "db.duckdb")
    engine_ingest(store, [str(corpus)], str(tmp_path / "r1"))
    keys = [r[0] for r in store.con.execute("SELECT session_key FROM sessions ORDER BY session_key").fetchall()]
    run = str(tmp_path / "run")
    parts = write_evidence(store, keys, run, batch_size=2)
    assert len(parts) == 2
    one_call = ONE_CALL_USD
    with ChatServer() as chat:
        chat.release.set()

        def actor(budget: float) -> ClassifyParts:
            return _llm_actor(chat, run, budget=budget)

        first = actor(1.0)
        assert first(pa.table({"part": [parts[0]]})).column("rows").to_pylist() == [2]
        made = chat.requests  # (requests: sessions of like content share one)
        assert made >= 1
        acc = first.backend.account  # type: ignore[attr-defined]
        keep = acc._on_settle

        def die_after_the_call() -> None:
            keep()
            raise _Died

        acc._on_settle = die_after_the_call
        with pytest.raises(_Died):  # one call of the second part made, then the process is gone
            first(pa.table({"part": [parts[1]]}))
        made += 1
        assert chat.requests == made
        again = actor(made * one_call)  # the restart, with a share that the calls made used up
        assert again.backend.account.calls == made  # type: ignore[attr-defined]
        assert again.backend.account.cost_usd == pytest.approx(made * one_call)  # type: ignore[attr-defined]
        status = again(pa.table({"part": [parts[1]]}))
        assert chat.requests == made and "budget" in (status.column("stopped")[0].as_py() or ""), status
    run_account = Account()
    for counts in spent_by_actors(run):
        run_account.add(counts)
    assert run_account.calls == made and run_account.cost_usd == pytest.approx(made * one_call)


def _distinct_sessions_part(tmp_path: Path, n: int, batch: int | None = None) -> tuple[str, str, list[str]]:
    """``n`` sessions of distinct content (one request each) staged as evidence parts of ``batch`` sessions (one part
    by default) in two fresh run dirs."""
    from codecensus.engine.ray_engine import write_evidence

    corpus = tmp_path / "corpus"
    for i in range(n):
        s = Session(f"{i + 1}2222222-2222-4222-8222-222222222222")
        s.prompt(f"rename module number {i} to its new name and fix imports {'x' * i}")
        s.reply(f"Done with module {i}.")
        s.write(corpus / f"s{i}.jsonl")
    store = Store(tmp_path / "db.duckdb")
    engine_ingest(store, [str(corpus)], str(tmp_path / "r1"))
    keys = [r[0] for r in store.con.execute("SELECT session_key FROM sessions ORDER BY session_key").fetchall()]
    store.close()
    assert len(keys) == n
    runs = [str(tmp_path / name) for name in ("clean", "crashed")]
    parts = [write_evidence(Store(tmp_path / "db.duckdb", read_only=True), keys, r, batch_size=batch or n)
             for r in runs]
    assert parts[0] == parts[1]
    return runs[0], runs[1], parts[0]


@pytest.mark.parametrize("retried_by", ["actor-1", "actor-2"])  # Ray restarts it under its id, or another takes it
def test_a_retried_classify_part_asks_only_the_sessions_not_answered_before_its_actor_died(
        tmp_path: Path, retried_by: str) -> None:
    """Actors use no LLM cache: a part retried after its actor died (restarted, or another actor taking it) asked
    all its sessions again, so they were paid twice and the run's 'sessions' exceeded its distinct sessions. Each
    answer is now kept under <run>/answers/<part>/ as it arrives: the retry asks only the rest (n - k calls), the
    facets equal a clean run's, and the run's account counts each session once."""
    pytest.importorskip("openai")
    from codecensus.classify.cache import Account
    from codecensus.engine.parquet import read_table
    from codecensus.engine.tasks import spent_by_actors
    from local_server import ChatServer

    n, k = 5, 2
    clean_run, run, (part,) = _distinct_sessions_part(tmp_path, n)
    with ChatServer() as chat:
        chat.release.set()

        clean = _llm_actor(chat, clean_run, "actor-0")
        assert clean(pa.table({"part": [part]})).column("rows").to_pylist() == [n]
        assert chat.requests == n  # one request per session: nothing shared
        first = _llm_actor(chat, run, "actor-1")
        _dies_sending(first, k)
        with pytest.raises(_Died):  # k sessions answered, then the process is gone while sending the next
            first(pa.table({"part": [part]}))
        assert chat.requests == n + k
        status = _llm_actor(chat, run, retried_by)(pa.table({"part": [part]}))
        assert status.to_pylist() == [{"part": part, "rows": n, "stopped": None}]
        assert chat.requests == 2 * n  # the retry asked the n - k sessions not answered
    got, want = (read_table(r, "facets").drop_columns(["classified_at"]).sort_by("session_key")
                 for r in (run, clean_run))
    assert got.num_rows == n and got.equals(want)
    accounts = []
    for r in (run, clean_run):
        a = Account()
        for counts in spent_by_actors(r):
            a.add(counts)
        accounts.append(a.as_dict())
    for key in ("calls", "sessions", "input_tokens", "output_tokens", "cost_usd", "abstentions", "cache_hits",
                "saved_usd"):
        assert accounts[0][key] == accounts[1][key], key
    assert accounts[0]["sessions"] == accounts[0]["calls"] == n


def _account(run: str) -> dict[str, Any]:
    """The run's account as the driver adds it up from what its actors kept (:func:`spent_by_actors`)."""
    from codecensus.classify.cache import Account
    from codecensus.engine.tasks import spent_by_actors

    a = Account()
    for counts in spent_by_actors(run):
        a.add(counts)
    return a.as_dict()


RUN_FIGURES = ("calls", "sessions", "input_tokens", "output_tokens", "cost_usd", "abstentions", "failures",
               "cache_hits", "saved_usd", "repairs")


@pytest.mark.parametrize("retried_by", ["actor-1", "actor-2"])
# the actor died sending the call after the rejection, or reserving it (before its account was kept again)
@pytest.mark.parametrize("dies", ["sending", "reserving"])
def test_a_retried_classify_part_does_not_ask_again_a_session_the_server_rejected(
        tmp_path: Path, retried_by: str, dies: str) -> None:
    """A session the server rejected (HTTP 4xx: it abstains, counted as a failure) was not kept with the part's
    answers: a retried part asked it again (one more request) and counted its failure and abstention twice. The
    rejection is now kept under <run>/answers/<part>/ too, after the account that counted it: the retry asks only
    the sessions never asked, and the run's facets and account equal a clean run's."""
    pytest.importorskip("openai")
    import pyarrow.parquet as pq

    from codecensus.engine.parquet import read_table
    from local_server import ChatServer

    n = 5
    clean_run, run, (part,) = _distinct_sessions_part(tmp_path, n)
    first_row = pq.read_table(f"{run}/evidence/{part}").column("evidence")[0].as_py()  # (a pickle: its text is in it)
    asked_first = next(i for i in range(n) if f"module number {i} ".encode() in first_row)
    with ChatServer() as chat:
        chat.release.set()
        chat.reject = f"module number {asked_first} ".encode()  # the part's first session: rejected

        clean = _llm_actor(chat, clean_run, "actor-0")
        assert clean(pa.table({"part": [part]})).column("rows").to_pylist() == [n]
        assert chat.requests == n
        first = _llm_actor(chat, run, "actor-1")
        if dies == "sending":
            _dies_sending(first, 2)  # the rejected session and one answered
        else:
            acc = first.backend.account
            reserve, reserved = acc.reserve, []

            def reserve_or_die(usd: float) -> None:
                if reserved:
                    raise _Died
                reserved.append(usd)
                reserve(usd)

            acc.reserve = reserve_or_die
        with pytest.raises(_Died):
            first(pa.table({"part": [part]}))
        made = chat.requests - n
        assert made == (2 if dies == "sending" else 1)
        status = _llm_actor(chat, run, retried_by)(pa.table({"part": [part]}))
        assert status.to_pylist() == [{"part": part, "rows": n, "stopped": None}]
        assert chat.requests - n - made == n - made  # the retry asked only the sessions never asked
    got, want = (read_table(r, "facets").drop_columns(["classified_at"]).sort_by("session_key")
                 for r in (run, clean_run))
    assert got.num_rows == n and got.equals(want)
    accounts = [_account(r) for r in (run, clean_run)]
    assert accounts[1]["failures"] == 1 and accounts[1]["sessions"] == n
    # (the call on its way when the actor died sending it is one lost call, as it should be)
    assert accounts[0].pop("lost_calls") == (dies == "sending") and accounts[1].pop("lost_calls") == 0
    for key in RUN_FIGURES:
        assert accounts[0][key] == accounts[1][key], key


@pytest.mark.parametrize("retried_by", ["actor-1", "actor-2"])
# the actor died writing the part's .started marker, or at the first file it wrote after it
@pytest.mark.parametrize("dies", ["at", "after"])
def test_a_classify_part_whose_actor_died_by_its_started_marker_counts_its_sessions_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, retried_by: str, dies: str) -> None:
    """A part's first attempt kept its sessions in its actor's account, then wrote the part's .started marker: an
    actor that died between the two left the sessions counted and no marker, so the retry counted them again (the
    run's 'sessions' 2n for n). The marker is now written first (renamed into place) and says how many sessions the
    part asks; the actors' accounts leave them out and spent_by_actors adds them to the account of the actor that
    wrote the marker: counted once, whatever the moment of the death."""
    pytest.importorskip("openai")
    import fsspec as fss

    from local_server import ChatServer

    n = 3
    clean_run, run, (part,) = _distinct_sessions_part(tmp_path, n)
    fs = fss.filesystem("file")  # (the instance every actor here writes through)
    with ChatServer() as chat:
        chat.release.set()
        _llm_actor(chat, clean_run, "actor-0")(pa.table({"part": [part]}))
        first = _llm_actor(chat, run, "actor-1")
        opened, moved = fs.open, fs.mv
        marker_seen = False

        def check(path: str) -> None:
            nonlocal marker_seen
            if str(path).startswith(run):
                if ".started" in str(path):
                    if dies == "at":
                        raise _Died
                    marker_seen = True
                elif marker_seen:
                    raise _Died

        def open_or_die(path: str, *a: Any, **kw: Any) -> Any:
            if "w" in (a[0] if a else kw.get("mode", "rb")):
                check(path)
            return opened(path, *a, **kw)

        def mv_or_die(src: str, dst: str, *a: Any, **kw: Any) -> Any:
            check(dst)
            return moved(src, dst, *a, **kw)

        monkeypatch.setattr(fs, "open", open_or_die)
        monkeypatch.setattr(fs, "mv", mv_or_die)
        with pytest.raises(_Died):
            first(pa.table({"part": [part]}))
        monkeypatch.undo()
        assert chat.requests == n  # the clean run's: the first attempt asked nothing
        status = _llm_actor(chat, run, retried_by)(pa.table({"part": [part]}))
        assert status.to_pylist() == [{"part": part, "rows": n, "stopped": None}]
        assert chat.requests == 2 * n
    accounts = [_account(r) for r in (run, clean_run)]
    assert accounts[1]["sessions"] == n
    for key in RUN_FIGURES:
        assert accounts[0][key] == accounts[1][key], key


@pytest.mark.parametrize("retried_by", ["actor-1", "actor-2"])
# answers received before the actor died (-1: it died before its first call was kept, its estimates with it)
@pytest.mark.parametrize("dies_after", [-1, 0, 2])
def test_a_retried_classify_part_counts_each_sessions_condensed_tokens_once(
        tmp_path: Path, retried_by: str, dies_after: int) -> None:
    """A retried part condensed its sessions again and added their token estimates to the account again: the
    run's condensed-token figures (median, p90: the manifest's and the token-budget benchmark's) counted the
    part's sessions twice. The retry now drops the estimates an earlier attempt kept (<run>/answers/<part>.condensed)."""
    pytest.importorskip("openai")
    from codecensus.classify.cache import Account
    from codecensus.engine.tasks import spent_by_actors
    from local_server import ChatServer

    n = 5
    clean_run, run, (part,) = _distinct_sessions_part(tmp_path, n)
    with ChatServer() as chat:
        chat.release.set()

        _llm_actor(chat, clean_run, "actor-0")(pa.table({"part": [part]}))
        first = _llm_actor(chat, run, "actor-1")
        _dies_sending(first, dies_after)

        def reserve_or_die(usd: float) -> None:
            raise _Died

        if dies_after < 0:
            first.backend.account.reserve = reserve_or_die
        with pytest.raises(_Died):
            first(pa.table({"part": [part]}))
        _llm_actor(chat, run, retried_by)(pa.table({"part": [part]}))
    tokens = []
    for r in (run, clean_run):
        a = Account()
        for counts in spent_by_actors(r):
            a.add(counts)
        tokens.append(sorted(a.input_tokens_condensed))
    assert len(tokens[1]) == n
    assert tokens[0] == tokens[1]


def test_a_call_in_flight_when_its_actor_died_is_counted_as_lost_and_the_budget_holds_back_its_cost(
        tmp_path: Path) -> None:
    """A call in flight when its actor died was counted nowhere (its usage never came back) and a restarted actor
    had its budget share as if it had never been made. Its start is now kept with the actor's account before it is
    sent: the run's account counts it as lost (the manifest's lost_calls, the cost said to exclude it), and the
    budget holds back the mean cost of an answered call for it, so a run that keeps crashing cannot overspend."""
    pytest.importorskip("openai")
    from codecensus.classify.cache import Account
    from codecensus.engine.tasks import ClassifyParts, spent_by_actors
    from local_server import ChatServer

    _, run, (part,) = _distinct_sessions_part(tmp_path, 3)
    one_call = ONE_CALL_USD
    with ChatServer() as chat:
        chat.release.set()

        def actor(budget: float) -> ClassifyParts:
            return _llm_actor(chat, run, budget=budget)

        first = actor(1.0)
        reserved = _reservations(first)
        send = first.backend._send  # type: ignore[attr-defined]

        def send_or_die(messages: Any) -> Any:
            if len(reserved) == 2:  # the second call is on its way: the process dies with it
                raise _Died
            return send(messages)

        first.backend._send = send_or_die  # type: ignore[attr-defined]
        with pytest.raises(_Died):
            first(pa.table({"part": [part]}))
        assert chat.requests == 1 and len(reserved) == 2
        # a share that leaves room for the next call, but not for it and what the lost one is assumed to have cost
        again = actor(one_call + reserved[1] + one_call / 2)
        status = again(pa.table({"part": [part]}))
        assert chat.requests == 1 and "lost calls" in (status.column("stopped")[0].as_py() or ""), status
        assert again.backend.account.lost_calls == 1  # type: ignore[attr-defined]
    run_account = Account()
    for counts in spent_by_actors(run):
        run_account.add(counts)
    said = run_account.as_dict()
    assert (said["calls"], said["lost_calls"]) == (1, 1)
    assert said["cost"] == f"${one_call:.4f} + 1 lost calls of unknown cost"


def test_an_actor_replacing_one_that_died_spends_only_what_the_run_has_left(tmp_path: Path) -> None:
    """The budget was split evenly between the actors and each kept to its share: an actor replacing one that died
    (a new actor id) started with a full share, so the run could spend its whole budget and what the dead actor
    had spent. Each actor now also keeps the run's total (every actor's file under <run>/spend) within the whole
    budget; here a pool of one (its share the whole budget), its actor replaced after one part."""
    pytest.importorskip("openai")
    from codecensus.classify.cache import Account
    from codecensus.engine.tasks import ClassifyParts, spent_by_actors
    from local_server import ChatServer

    _, run, parts = _distinct_sessions_part(tmp_path, 6, batch=3)
    assert len(parts) == 2
    one_call = ONE_CALL_USD
    budget = 1.0
    with ChatServer() as chat:
        chat.release.set()

        def actor(ledger: str) -> ClassifyParts:
            return _llm_actor(chat, run, ledger, budget=budget, run_budget_usd=budget)

        first = actor("actor-1")
        reserved = _reservations(first)
        assert first(pa.table({"part": [parts[0]]})).column("rows").to_pylist() == [3] and chat.requests == 3
        budget = 3 * one_call + max(reserved) + one_call / 2  # room for the three calls made and one more, not two
        # the actor dies between parts and another one (a new id, a full share) takes the next part
        status = actor("actor-2")(pa.table({"part": [parts[1]]}))
        assert "budget" in (status.column("stopped")[0].as_py() or ""), status
    run_account = Account()
    for counts in spent_by_actors(run):
        run_account.add(counts)
    assert run_account.calls == chat.requests == 4
    assert run_account.cost_usd == pytest.approx(4 * one_call) and run_account.cost_usd <= budget


def _counting_spend_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The spend files read from now on (by every actor of the test: they share one local filesystem instance)."""
    fs = fsspec.filesystem("file")
    opened, reads = fs.open, []

    def counting(path: str, *a: Any, **kw: Any) -> Any:
        if "/spend/" in str(path) and "r" in (a[0] if a else kw.get("mode", "rb")):
            reads.append(str(path).rsplit("/", 1)[-1])
        return opened(path, *a, **kw)

    monkeypatch.setattr(fs, "open", counting)
    return reads


def test_the_run_budget_check_reads_other_actors_spend_only_when_their_shares_may_not_fit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before each call an actor listed <run>/spend and read every other actor's file: N+1 operations a call (on
    object storage, N+1 requests). It now lists the folder and reads a file the first time it sees it; the files are
    read again only when what the others can hold at most (each its share, or what it committed when more) does not
    fit in the room this actor leaves of the run's budget, which a run whose actors all live does not reach."""
    pytest.importorskip("openai")
    from local_server import ChatServer

    n = 6
    _, run, (part,) = _distinct_sessions_part(tmp_path, n)
    budget = 1.0
    with ChatServer() as chat:
        chat.release.set()
        actors = [_llm_actor(chat, run, f"actor-{i}", budget=budget / 3, run_budget_usd=budget) for i in (1, 2, 3)]
        reads = _counting_spend_reads(monkeypatch)
        status = actors[0](pa.table({"part": [part]}))
        monkeypatch.undo()
        assert status.to_pylist() == [{"part": part, "rows": n, "stopped": None}] and chat.requests == n
    assert sorted(reads) == ["actor-2.json", "actor-3.json"]  # each once (before: both before each call, 12)


@pytest.mark.parametrize("race", [False, True])
def test_a_replacement_and_a_live_actor_keep_the_run_within_its_budget_but_one_call(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, race: bool) -> None:
    """The bound the run's budget keeps when an actor died and another replaced it (a new id, a full share): the
    live actor and the replacement, taking parts in turn, stop within the budget; when their checks race (each
    reads the other's account before the other kept its new call: here the replacement's whole part runs inside
    the live actor's call start), the run exceeds it by at most one call's worst case. Once the shares may not
    fit (the dead actor's file counts), each reads the others' files before every call, as it did before."""
    pytest.importorskip("openai")
    from local_server import ChatServer

    n = 14
    _, run, parts = _distinct_sessions_part(tmp_path, n, batch=1)
    one_call = ONE_CALL_USD
    # a pool of two, shares of 4.4 calls: the shares of the live actor and the replacement hold 3 calls each (a
    # call's worst case is ~1.6 calls), the run's budget 8.8 calls; the dead actor made 3
    budget = 8.8 * one_call
    with ChatServer() as chat:
        chat.release.set()
        dead = _llm_actor(chat, run, "actor-1", budget=budget / 2, run_budget_usd=budget)
        worst = _reservations(dead)
        for p in parts[:3]:  # three calls, then its process is gone (between parts)
            assert dead(pa.table({"part": [p]})).column("rows").to_pylist() == [1]
        live = _llm_actor(chat, run, "actor-2", budget=budget / 2, run_budget_usd=budget)
        worst_live = _reservations(live)
        replacement = _llm_actor(chat, run, "actor-3", budget=budget / 2, run_budget_usd=budget)
        todo = iter(parts[3:])
        stops: list[str | None] = []

        def take(actor: Any) -> None:
            stops.append(actor(pa.table({"part": [next(todo)]})).column("stopped")[0].as_py())

        if race:
            acc = live.backend.account
            keep = acc._on_start

            def replacement_first() -> None:  # the live actor checked its call; the replacement's part runs now
                take(replacement)
                keep()

            acc._on_start = replacement_first
        reads = _counting_spend_reads(monkeypatch)
        while len(stops) < 8 and not all(stops[-2:] or [None]):
            take(live)
            if not race:
                take(replacement)
        monkeypatch.undo()
    spent = _account(run)
    assert spent["calls"] == chat.requests
    w = max(worst + worst_live)
    assert spent["cost_usd"] <= budget + (w if race else 0) + 1e-9, (spent, budget, w)
    assert (spent["cost_usd"] > budget) == race  # (the race is real: both passed with room for one call)
    assert spent["cost_usd"] + w > budget  # (the budget stopped it, not the parts running out)
    assert reads  # (the others' files were read: the shares no longer fit)
