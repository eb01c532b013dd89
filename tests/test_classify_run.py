"""The classify driver end to end: JSONL -> store -> evidence -> offline facets -> `facets` table -> export."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codecensus.classify.evidence import iter_evidence, load_evidence
from codecensus.classify.run import FACETS_SCHEMA, ClassifyStats, classify_store, make_backend
from codecensus.export import FACET_COLUMNS, session_table
from codecensus.ingest import ingest
from codecensus.measure import build_sessions
from codecensus.store import Store

from ccbuild import Session, standard_session


def _corpus(root: Path) -> Path:
    standard_session("11111111-aaaa-4000-8000-000000000001").write(root / "proj" / "s1.jsonl")
    s = Session("22222222-bbbb-4000-8000-000000000002")
    s.prompt("Create a script that renames photos by date; my email is ann@example.org")
    (t1,) = s.reply("Writing it.", [("Write", {"file_path": "/home/dev/app/rename.py", "content": "x " * 300})])
    s.result(t1, "File created", tur={"type": "create", "filePath": "/home/dev/app/rename.py"})
    (t2,) = s.reply(None, [("Bash", {"command": "pytest -q"})])
    s.result(t2, "3 passed in 0.1s", tur={"stdout": "3 passed in 0.1s", "stderr": ""})
    s.reply("Done: rename.py is ready and the tests pass.")
    s.prompt("it works, thanks!")
    s.reply("Great!")
    s.write(root / "proj" / "s2.jsonl")
    s3 = Session("33333333-cccc-4000-8000-000000000003")
    s3.prompt("hello")
    s3.write(root / "proj" / "s3.jsonl")
    return root


@pytest.fixture
def loaded(tmp_path: Path) -> Store:
    root = _corpus(tmp_path / "corpus")
    st = Store(tmp_path / "db.duckdb")
    ingest(st, [root], user="dev", workers=1, settle_s=0)
    build_sessions(st)
    yield st
    st.close()


def test_evidence_loads_prompts_actions_and_order(loaded: Store) -> None:
    keys = [r[0] for r in loaded.con.execute("SELECT session_key FROM sessions ORDER BY session_id").fetchall()]
    evs = {e.session_id: e for e in load_evidence(loaded, keys)}
    s1 = evs["11111111-aaaa-4000-8000-000000000001"]
    assert s1.prompts == ["fix the failing test in tests/test_api.py", "now run the whole suite and commit",
                          "and push it"]
    assert [a.prompt_index for a in s1.actions] == [0, 0, 0, 1, 1, 2]
    assert [a.test_status for a in s1.actions if a.is_test] == ["fail", "pass"]
    assert s1.actions[4].is_commit and s1.actions[5].rejected
    assert s1.shape["prompts"] == 3
    s2 = evs["22222222-bbbb-4000-8000-000000000002"]
    assert s2.final_reply_after_last_action is True
    assert s2.actions[0].file_op == "create" and s2.actions[0].input_words >= 300


def test_evidence_drops_uuid_copies_of_resumed_sessions(tmp_path: Path) -> None:
    root = tmp_path / "c"
    standard_session("44444444-dddd-4000-8000-000000000004").write(root / "p" / "a.jsonl")
    # an old-style resume copied the whole history into a second file of another session id
    text = (root / "p" / "a.jsonl").read_text().replace(
        "44444444-dddd-4000-8000-000000000004", "55555555-eeee-4000-8000-000000000005")
    (root / "p" / "b.jsonl").write_text(text)
    st = Store(tmp_path / "db.duckdb")
    ingest(st, [root], user="dev", workers=1, settle_s=0)
    build_sessions(st)
    keys = [r[0] for r in st.con.execute("SELECT session_key FROM sessions").fetchall()]
    evs = load_evidence(st, keys)
    assert sum(len(e.prompts) for e in evs) == 3  # the copies count once, in the first file
    assert sum(len(e.actions) for e in evs) == 6
    st.close()


def test_rows_of_a_session_in_two_files_follow_the_files_rank(tmp_path: Path) -> None:
    """A session whose main-chain rows lie in two files reads the earlier file's rows first, whatever their lines.

    (Ranks are kept only for the files of sessions with several files; a one-file session reads rank 0.)
    """
    root = tmp_path / "c"
    first, later = "66666666-ffff-4000-8000-000000000006", "77777777-aaaa-4000-8000-000000000007"
    standard_session(first).write(root / "p" / "a.jsonl")
    s = Session(later, t0=1767225600 + 86400)
    s.prompt("the prompt of the later file")
    s.reply("ok")
    s.write(root / "p" / "b.jsonl")
    st = Store(tmp_path / "db.duckdb")
    ingest(st, [root], user="dev", workers=1, settle_s=0)
    # a format whose sessions span files: the later file's rows belong to the first session
    for t in ("prompts", "messages", "actions", "results", "events", "session_files"):
        st.con.execute(f"UPDATE {t} SET session_key = ? WHERE session_key = ?", [first, later])
    build_sessions(st)
    (ev,) = load_evidence(st, [first])
    assert ev.prompts == ["fix the failing test in tests/test_api.py", "now run the whole suite and commit",
                          "and push it", "the prompt of the later file"]
    (again,) = [e for b in iter_evidence(st, [first], order="storage") for e in b]
    assert again.prompts == ev.prompts
    st.close()


@pytest.mark.parametrize("order", ["given", "storage"])
def test_a_long_session_is_read_as_its_first_and_last_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, order: str
) -> None:
    """Evidence holds at most SESSION_HEAD_ROWS + SESSION_TAIL_ROWS rows of a session per table (the first and
    the last, chosen in SQL); a session within the cap, in the same batch, is read whole."""
    from codecensus.classify import evidence

    root = tmp_path / "c"
    long_id = "88888888-aaaa-4000-8000-000000000008"
    s = Session(long_id)
    for i in range(20):
        s.prompt(f"step {i}: rename the photos in folder {i}")
        (t,) = s.reply(f"reply {i}", [("Bash", {"command": f"ls folder{i}"})])
        s.result(t, f"out {i}")
    s.write(root / "p" / "long.jsonl")
    standard_session("11111111-aaaa-4000-8000-000000000001").write(root / "p" / "short.jsonl")
    st = Store(tmp_path / "db.duckdb")
    ingest(st, [root], user="dev", workers=1, settle_s=0)
    build_sessions(st)
    keys = [r[0] for r in st.con.execute("SELECT session_key FROM sessions ORDER BY session_id").fetchall()]
    whole = {e.session_id: e for e in load_evidence(st, keys)}
    assert len(whole[long_id].prompts) == 20
    monkeypatch.setattr(evidence, "SESSION_HEAD_ROWS", 4, raising=False)
    monkeypatch.setattr(evidence, "SESSION_TAIL_ROWS", 3, raising=False)
    evs = {e.session_id: e for b in iter_evidence(st, keys, order=order) for e in b}  # type: ignore[arg-type]
    ev = evs[long_id]
    kept = [0, 1, 2, 3, 17, 18, 19]
    assert ev.prompts == [f"step {i}: rename the photos in folder {i}" for i in kept]
    assert ev.replies == [f"reply {i}" for i in kept]
    assert [a.command for a in ev.actions] == [f"ls folder{i}" for i in kept]
    assert [a.result_head for a in ev.actions] == [f"out {i}" for i in kept]  # each kept call with its result
    assert [a.prompt_index for a in ev.actions] == list(range(7))
    assert ev.shape["prompts"] == 20  # the measured shape stays the whole session's
    short = "11111111-aaaa-4000-8000-000000000001"
    assert len(whole[short].actions) == 6 and evs[short] == whole[short]  # under the cap: read whole
    if order == "storage":
        # a planned batch knows from the plan's row counts whether it holds a long session (a query per batch cost
        # 19 ms a batch at 400K, ~4 s a run): the long session's batch does, a batch of the short one alone does not
        key = {e.session_id: k for k, e in zip(keys, load_evidence(st, keys), strict=True)}

        def flags() -> dict[str, bool | None]:
            evidence._prepare(st)
            try:
                return {b.keys[0]: b.long for b in evidence._plan(st, keys, 1)}
            finally:
                evidence._cleanup(st)

        assert flags()[key[long_id]] is True  # (at a cap of 7 the short one's message rows may pass it too)
        monkeypatch.setattr(evidence, "SESSION_HEAD_ROWS", 10, raising=False)
        monkeypatch.setattr(evidence, "SESSION_TAIL_ROWS", 10, raising=False)
        assert flags() == {key[long_id]: True, key[short]: False}
        monkeypatch.setattr(evidence, "SESSION_HEAD_ROWS", 40, raising=False)
        assert flags() == {key[long_id]: False, key[short]: False}
    st.close()


def test_classify_store_writes_facets_and_skips_done(loaded: Store) -> None:
    be = make_backend("offline", store=loaded, embedder="use")
    stats = classify_store(loaded, be)
    assert stats.classified == stats.selected == 3 and stats.sessions_per_second > 0
    cols = [r[0] for r in loaded.con.execute("DESCRIBE facets").fetchall()]
    assert cols == FACETS_SCHEMA.names
    rows = {r[0]: r[1:] for r in loaded.con.execute(
        "SELECT session_id, mode, occupation, outcome, outcome_evidence, summary, value_usd, backend, rubric_hash "
        "FROM facets").fetchall()}
    s2 = rows["22222222-bbbb-4000-8000-000000000002"]
    assert s2[0] == "build" and s2[1] == "15"
    assert s2[2] == "verified_success" and set(s2[3].split(",")) == {"tests_pass", "user_confirmed"}
    assert "ann@example.org" not in s2[4] and s2[5] > 0 and s2[6] == "offline" and s2[7] == be.rubric_hash
    s3 = rows["33333333-cccc-4000-8000-000000000003"]
    assert s3[2] == "unclear" and s3[1] == "not_inferable"
    assert stats.abstained == 1 and sum(stats.by_mode.values()) == 2  # "hello", nothing done: in no mode
    # a second run with the same rubric skips everything; --force redoes it
    again = classify_store(loaded, be)
    assert again.selected == 0 and again.skipped_already_classified == 3
    assert classify_store(loaded, be, force=True, limit=2).classified == 2
    # the sessions export carries the facet columns under the agreed names
    tbl = session_table(loaded)
    for c in FACET_COLUMNS:
        assert c in tbl.column_names
    assert tbl.num_rows == 3 and all(v is not None for v in tbl.column("mode").to_pylist())
    # no free text unless asked for: the summary (an LLM backend's own words about the transcript) is opt-in
    assert "summary" not in tbl.column_names
    with_text = session_table(loaded, summaries=True)
    assert with_text.column_names == [*tbl.column_names, "summary"]
    # every answered session has a summary; "hello" alone (nothing asked, nothing done) is an abstention, whose
    # summary is empty
    summaries = dict(zip(with_text.column("session_id").to_pylist(), with_text.column("summary").to_pylist(),
                         strict=True))
    assert summaries.pop("33333333-cccc-4000-8000-000000000003") in ("", None)
    assert all(isinstance(v, str) and v for v in summaries.values())


def test_summaries_are_redacted(loaded: Store) -> None:
    be = make_backend("offline", store=loaded, embedder=None)  # type: ignore[arg-type]
    seen: list[str] = []

    def redact(text: str) -> str:
        seen.append(text)
        return "[R]" + text

    classify_store(loaded, be, redact=redact)
    assert len(seen) == 3
    assert all(r[0].startswith("[R]") for r in loaded.con.execute("SELECT summary FROM facets").fetchall())


def test_classify_cli(tmp_path: Path) -> None:
    from codecensus.cli import app

    root = _corpus(tmp_path / "corpus")
    db = tmp_path / "cli.duckdb"
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db), "--user", "dev", "-j", "1"]).exit_code == 0
    r = runner.invoke(app, ["classify", "--db", str(db), "--embedder", "none"])
    assert r.exit_code == 0, r.output
    st = Store(db, read_only=True)
    assert st.one("SELECT count(*) FROM facets")[0] == 3  # type: ignore[index]
    man = st.one("SELECT manifest FROM runs WHERE command = 'classify'")
    assert man is not None and "rubric_hash" in man[0] and "weights" in man[0]
    st.close()
    r = runner.invoke(app, ["classify", "--db", str(tmp_path / "empty.duckdb")])
    assert r.exit_code == 2


def test_classify_cli_refuses_an_engine_it_lacks_and_counts_below_their_range(tmp_path: Path) -> None:
    """`classify --engine spark` ran on the local engine (in one process) and exited 0; `--batch-size 0` or
    `-5` and `--workers -3` were taken too. Each is now refused with exit 2 naming the option; nothing is
    classified."""
    from codecensus.cli import app

    root = _corpus(tmp_path / "corpus")
    db = tmp_path / "cli.duckdb"
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db), "--user", "dev", "-j", "1"]).exit_code == 0
    for args, said in ((["--engine", "spark"], "--engine 'spark' is not an engine codecensus has: choose local or ray"),
                       (["--batch-size", "0"], "--batch-size"), (["--batch-size", "-5"], "--batch-size"),
                       (["--workers", "-3"], "--workers")):
        r = runner.invoke(app, ["classify", "--db", str(db), "--embedder", "none", *args])
        assert r.exit_code == 2 and said in " ".join(r.output.split()), (args, r.output)
    st = Store(db, read_only=True)
    assert not st.table_exists("facets") or st.one("SELECT count(*) FROM facets") == (0,)
    st.close()


def test_ray_batch_size_above_its_cap_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`classify --engine ray --batch-size 2000` classified in batches of 500 without a word (the help said only
    "Ray: 500"); the cap is now said. (The engine is replaced: this checks what reaches it.)"""
    import codecensus.engine as engine
    from codecensus.cli import app

    root = _corpus(tmp_path / "corpus")
    db = tmp_path / "cli.duckdb"
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db), "--user", "dev", "-j", "1"]).exit_code == 0
    seen: list[int | None] = []

    def fake(name: str, store: Store, backend: str, **kw: object) -> ClassifyStats:
        seen.append(kw["batch_size"])  # type: ignore[arg-type]
        return ClassifyStats(backend, "", "")

    monkeypatch.setattr(engine, "classify_with", fake)
    for size, warned in (("2000", True), ("300", False)):
        r = runner.invoke(app, ["classify", "--db", str(db), "--embedder", "none", "--engine", "ray",
                                "--batch-size", size])
        assert ("more than Ray's 500" in " ".join(r.output.split())) is warned, r.output
    assert seen == [500, 300]


def test_unknown_llm_backend_errors_cleanly(loaded: Store) -> None:
    with pytest.raises(ValueError):
        make_backend("nonsense", store=loaded)


def test_shared_ground_truth_roundtrip(shared: Path, tmp_path: Path) -> None:
    """Mini-swe-agent runs carry SWE-bench outcomes: classify them offline and score the AUC."""
    from codecensus.classify.eval import evaluate

    src = shared / "data" / "transcripts" / "mini_swe_agent__gruckion__mini-swe-agent"
    if not src.is_dir():
        pytest.skip("mini-swe-agent sample absent")
    root = tmp_path / "msa"
    shutil.copytree(src, root)
    st = Store(tmp_path / "msa.duckdb")
    ingest(st, [root], workers=1, settle_s=0)
    build_sessions(st)
    if not st.one("SELECT count(*) FROM events WHERE kind = 'outcome_truth'")[0]:  # type: ignore[index]
        pytest.skip("the mini-swe-agent parser stores no ground truth")
    classify_store(st, make_backend("offline", store=st, embedder=None))  # type: ignore[arg-type]
    rep = evaluate(st, [], use_store_truth=True)
    res = rep["facets"]["resolved"]
    assert res["n"] >= 10 and res["positives"] > 0
    assert res["auc"] is not None and 0.0 <= res["auc"] <= 1.0
    st.close()


def test_facet_rows_mark_abstentions(loaded: Store) -> None:
    """An abstention is stored with abstained = true (reports leave its placeholders out); an answer with false."""
    from datetime import UTC, datetime

    from codecensus.classify.llm import abstention
    from codecensus.classify.run import facets_rows

    keys = [r[0] for r in loaded.con.execute("SELECT session_key FROM sessions ORDER BY session_key").fetchall()][:2]
    answer = make_backend("offline", embedder="none").classify(load_evidence(loaded, keys[:1]))[0]
    tbl = facets_rows(keys, keys, [abstention(), answer], backend="llm", model="m", rubric_hash="h",
                      redact=lambda s: s, now=datetime.now(UTC))
    assert tbl.column("abstained").to_pylist() == [True, False]
    # an abstention has no value (it stored 0 USD at the fallback wage: a direct query averaged the zeros in)
    assert tbl.column("value_usd").to_pylist()[0] is None and tbl.column("value_hours").to_pylist()[0] is None
    assert tbl.column("value_usd").to_pylist()[1] is not None
    # a facets table written before the column existed gets it filled from the abstention's signature
    from codecensus.classify.run import ensure_facets_table

    loaded.replace_table("facets", tbl.drop_columns(["abstained"]))
    ensure_facets_table(loaded)
    got = loaded.con.execute("SELECT session_key, abstained FROM facets").fetchall()
    assert dict(got) == {keys[0]: True, keys[1]: False}
    # an abstention stored when the abstention result still held the placeholder level 3: the level goes, so an
    # export or a direct query does not count a guess (the answer's level stays)
    level = answer.expertise
    loaded.con.execute("UPDATE facets SET expertise = 3, expertise_confidence = 0 WHERE abstained")
    ensure_facets_table(loaded)
    got = loaded.con.execute("SELECT session_key, expertise FROM facets").fetchall()
    assert dict(got) == {keys[0]: None, keys[1]: level}


def test_a_session_with_nothing_in_it_abstains_and_is_not_sent(tmp_path: Path) -> None:
    """A transcript with no prompt, no tool call and no reply (Claude Code opened and closed: 82 of 2,141 sessions
    in a corpus built from the real samples) was classified offline as mode 'build', adding ~4 points to the
    build share of the work-mode figure. It is now an abstention (in no mode, outcome unclear, occupation not
    inferable), and no backend is asked about it."""
    root = tmp_path / "p"
    standard_session("11111111-1111-4111-8111-111111111111").write(root / "a.jsonl")
    empty = Session("22222222-2222-4222-8222-222222222222")
    empty.system("local_command", content="<command-name>/exit</command-name>")
    empty.write(root / "b.jsonl")
    store = Store(tmp_path / "db.duckdb")
    ingest(store, [root], workers=0)
    build_sessions(store)
    seen: list[str] = []
    offline = make_backend("offline", embedder="none")

    class Spy:
        name, model, rubric_hash = offline.name, offline.model, offline.rubric_hash

        def classify(self, batch: list) -> list:  # type: ignore[type-arg]
            seen.extend(ev.session_id for ev in batch)
            return offline.classify(batch)

    stats = classify_store(store, Spy())  # type: ignore[arg-type]
    assert seen == ["11111111-1111-4111-8111-111111111111"]
    assert (stats.classified, stats.abstained) == (2, 1) and sum(stats.by_mode.values()) == 1
    rows = dict(store.con.execute("SELECT session_id, abstained FROM facets").fetchall())
    assert rows == {"11111111-1111-4111-8111-111111111111": False, "22222222-2222-4222-8222-222222222222": True}
    store.close()


def classify_one_and_an_empty_session(tmp_path: Path) -> tuple[Path, str]:
    """A standard session and one holding only `/exit`, ingested and classified offline through the CLI (its
    worker processes: engine.local); the database and the command's output, whitespace folded."""
    root = tmp_path / "p"
    standard_session("11111111-1111-4111-8111-111111111111").write(root / "a.jsonl")
    empty = Session("22222222-2222-4222-8222-222222222222")
    empty.system("local_command", content="<command-name>/exit</command-name>")
    empty.write(root / "b.jsonl")
    db = tmp_path / "db.duckdb"
    from codecensus.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db)]).exit_code == 0
    r = runner.invoke(app, ["classify", "--db", str(db), "--embedder", "none", "--workers", "2"])
    assert r.exit_code == 0, r.output
    return db, " ".join(r.output.split())


def test_the_cli_counts_an_empty_session_as_abstained_in_no_mode(tmp_path: Path) -> None:
    """The CLI's offline classify runs in worker processes (engine.local), whose count put every stored row's
    mode in the table, abstentions' placeholder mode included."""
    _, text = classify_one_and_an_empty_session(tmp_path)
    assert "abstained (no answer, or empty) │ 1" in text, text
    modes = text.partition("modes │")[2].partition("│")[0]
    assert sum(int(n) for n in modes.split()[1::2]) == 1, modes


def test_a_forked_classify_worker_does_not_collect_what_it_inherited() -> None:
    """A classify worker is forked from the process that runs classify. Collecting an inherited, unreachable object
    that holds a DuckDB connection (a cycle left by earlier work: the test suite's process, a notebook) ran the
    connection's finaliser without its threads: the worker died with a segmentation fault while garbage-collecting
    in its start-up, and the run ended in BrokenProcessPool (seen in a full test run). The worker's start-up now
    freezes what it inherited. Run in a forked child as the pool does, with such garbage present."""
    import gc
    import os

    import duckdb

    from codecensus.engine import local

    class Holder:
        pass

    was = gc.isenabled()
    gc.disable()  # the garbage stays uncollected in this process until the fork
    try:
        for _ in range(5):
            h = Holder()
            h.me = h  # type: ignore[attr-defined]
            h.con = duckdb.connect()  # type: ignore[attr-defined]
            h.con.execute("SELECT sum(range) FROM range(100000)").fetchall()  # type: ignore[attr-defined]
            del h
        pid = os.fork()
        if pid == 0:  # the worker: start-up as the pool runs it, then a collection
            code = 1
            try:
                gc.enable()
                local._init_worker("offline", {"embedder": "none", "threads": 1})
                gc.collect()
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    finally:
        gc.collect()
        if was:
            gc.enable()
    assert not os.WIFSIGNALED(status), f"the worker died of signal {os.WTERMSIG(status)}"
    assert os.WEXITSTATUS(status) == 0
