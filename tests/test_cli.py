"""The command line: ingest → sessions export in every format, with clear errors."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from codecensus.cli import app
from codecensus.measure import SESSION_COLUMNS

from ccbuild import standard_session

runner = CliRunner()
SID = "66666666-6666-4666-8666-666666666666"


def test_ingest_then_export_all_formats(tmp_path: Path) -> None:
    root = tmp_path / "team"
    standard_session(SID).write(root / "carol" / ".claude" / "projects" / "-p" / f"{SID}.jsonl")
    db = tmp_path / "db.duckdb"
    r = runner.invoke(app, ["ingest", str(root), "--db", str(db), "--user-from-dir", "-j", "1"])
    assert r.exit_code == 0, r.output
    assert "become users" not in r.output  # one folder per user: nothing to warn about
    r = runner.invoke(app, ["sessions", "--db", str(db)])
    assert r.exit_code == 0, r.output
    rows = [orjson.loads(x) for x in r.stdout.splitlines() if x.strip()]
    assert len(rows) == 1 and rows[0]["session_id"] == SID and rows[0]["prompts"] == 3
    assert set(SESSION_COLUMNS) <= set(rows[0])
    r = runner.invoke(app, ["sessions", "--db", str(db), "--format", "csv"])
    got = list(csv.DictReader(io.StringIO(r.stdout)))
    assert got[0]["actions"] == "6"
    out = tmp_path / "s.parquet"
    r = runner.invoke(app, ["sessions", "--db", str(db), "-f", "parquet", "-o", str(out)])
    assert r.exit_code == 0 and pq.read_table(out).num_rows == 1
    # a second ingest changes nothing
    r = runner.invoke(app, ["ingest", str(root), "--db", str(db), "--user-from-dir"])
    assert r.exit_code == 0 and "0 / 0 / 1" in r.output
    # the run manifests are recorded
    from codecensus.store import Store

    with Store(db) as s:
        assert s.one("SELECT count(*) FROM runs WHERE command='ingest'")[0] == 2


def test_user_from_dir_on_one_users_folder_is_warned(tmp_path: Path) -> None:
    """`ingest ~carol --user-from-dir` (one user's home, not the team's root) made ".claude" the user of every
    session, unsaid; the ingest still runs (the layout may be meant), with a warning that names the folder."""
    home = tmp_path / "carol"
    standard_session(SID).write(home / ".claude" / "projects" / "-p" / f"{SID}.jsonl")
    db = tmp_path / "db.duckdb"
    r = runner.invoke(app, ["ingest", str(home), "--db", str(db), "--user-from-dir", "-j", "0"])
    out = " ".join(r.output.split())
    assert r.exit_code == 0 and "become users" in out and "'.claude' is an agent's own" in out, r.output


def test_clear_errors(tmp_path: Path) -> None:
    r = runner.invoke(app, ["ingest", str(tmp_path / "missing"), "--db", str(tmp_path / "x.duckdb")])
    assert r.exit_code == 2 and "no such file or directory" in " ".join(r.output.split())
    r = runner.invoke(app, ["sessions", "--db", str(tmp_path / "none.duckdb")])
    assert r.exit_code == 2 and "No database" in " ".join(r.output.split())
    r = runner.invoke(app, ["ingest", str(tmp_path), "--user", "a", "--user-from-dir", "--db", str(tmp_path / "y.duckdb")])
    assert r.exit_code == 2


@pytest.mark.parametrize("args", [["report", "--out", "REP"], ["classify"], ["cluster"],
                                  ["classify", "--backend", "openai", "--base-url", "http://127.0.0.1:9"]])
def test_commands_that_need_data_do_not_create_a_database(tmp_path: Path, args: list[str]) -> None:
    # a typo in --db made report, classify and cluster create an empty 800 KB database there and say
    # "no `sessions` table" / "No sessions in the database"; sessions and summary said "No database at ..."
    db = tmp_path / "typo.duckdb"
    r = runner.invoke(app, [*(a.replace("REP", str(tmp_path / "rep")) for a in args), "--db", str(db)])
    assert r.exit_code == 2, r.output
    assert "No database at" in " ".join(r.output.split()) and "Traceback" not in r.output
    assert not list(tmp_path.iterdir())  # neither the database nor the report folder


def test_formats_lists_claude_code() -> None:
    r = runner.invoke(app, ["formats"])
    assert r.exit_code == 0 and "claude_code" in r.stdout


def test_sessions_export_before_any_ingest_says_what_to_do(tmp_path: Path) -> None:
    """It used to end in a DuckDB traceback ("Table with name sessions does not exist")."""
    from codecensus.store import Store

    db = tmp_path / "db.duckdb"
    Store(db).close()  # a database that exists but holds no sessions yet
    r = runner.invoke(app, ["sessions", "--db", str(db)])
    assert r.exit_code == 1 and "run `codecensus ingest` first" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["sessions", "--db", str(db), "-f", "parquet"])  # checked before the database
    assert r.exit_code == 2 and "--out" in r.output


def test_a_file_that_is_not_a_database_is_named_and_left_alone(tmp_path: Path) -> None:
    """Each command that opens the database ended in a DuckDB traceback; the file must stay as it was."""
    other = tmp_path / "notes.txt"
    other.write_text("not a database\n")
    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    for args in (["ingest", str(root)], ["sessions"], ["summary"], ["report", "--out", str(tmp_path / "r")],
                 ["git-agents", str(tmp_path / "repo")]):
        r = runner.invoke(app, [*args, "--db", str(other)])
        text = " ".join(r.output.split())  # as printed, unwrapped
        assert r.exit_code == 2, (args, text)
        assert "Cannot open the database" in text and "Traceback" not in text, args
    assert other.read_text() == "not a database\n"


def test_a_database_whose_folder_cannot_be_made_is_named(tmp_path: Path) -> None:
    """`--db` under a file (or a folder that cannot be created) ended in a FileNotFoundError/NotADirectoryError
    traceback, for git-agents only after its whole scan."""
    (tmp_path / "file").write_text("x")
    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    db = tmp_path / "file" / "sub" / "db.duckdb"
    for args in (["ingest", str(root)], ["git-agents", str(tmp_path / "repo")]):
        r = runner.invoke(app, [*args, "--db", str(db)])
        text = " ".join(r.output.split())
        assert r.exit_code == 2, (args, text)
        assert "Cannot create the database" in text and "Not a directory" in text and "Traceback" not in text, args
    # classify reads what ingest stored: no database there to make
    r = runner.invoke(app, ["classify", "--db", str(db)])
    assert r.exit_code == 2 and "No database at" in " ".join(r.output.split()), r.output
    assert (tmp_path / "file").read_text() == "x"


@pytest.fixture
def unwritable_db(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An ingested database this process may open but not write: mode 0444, or immutable for root."""
    import subprocess

    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")
    db = tmp_path / "db.duckdb"
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db)]).exit_code == 0
    db.chmod(0o444)
    root_user = os.geteuid() == 0
    if root_user and subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
        pytest.skip("running as root without chattr +i: no way to make a file unwritable here")
    yield db
    if root_user:
        subprocess.run(["chattr", "-i", str(db)], capture_output=True)


def test_report_of_a_database_it_may_not_write(unwritable_db: Path, tmp_path: Path) -> None:
    """report only writes its run record to the database, yet refused one it could not write; summary and
    sessions read it. Now it reports from it read-only and says the run is recorded in the report's manifest;
    with --epsilon (the privacy ledger lives in the database) it still refuses."""
    before = unwritable_db.read_bytes()
    r = runner.invoke(app, ["report", "--db", str(unwritable_db), "--out", str(tmp_path / "r")])
    text = " ".join(r.output.split())
    assert r.exit_code == 0, text
    assert "is read-only here" in text and "manifest-report.json" in text
    assert (tmp_path / "r" / "report.html").is_file() and (tmp_path / "r" / "manifest-report.json").is_file()
    r = runner.invoke(app, ["report", "--db", str(unwritable_db), "--out", str(tmp_path / "r2"), "--epsilon", "1"])
    assert r.exit_code == 2 and "Cannot open the database" in " ".join(r.output.split())
    assert unwritable_db.read_bytes() == before


def test_report_or_demo_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")
    db = tmp_path / "db.duckdb"
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db)]).exit_code == 0
    (tmp_path / "taken").write_text("x")
    r = runner.invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "taken")])
    assert r.exit_code == 2 and "is a file" in " ".join(r.output.split())
    r = runner.invoke(app, ["demo", "--out", str(tmp_path / "taken")])  # FileExistsError before
    assert r.exit_code == 2 and "is a file" in " ".join(r.output.split())
    assert (tmp_path / "taken").read_text() == "x"


def test_classify_bad_since_and_missing_api_key_are_said_plainly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ended in tracebacks: DuckDB's "invalid timestamp field format", the Anthropic SDK's TypeError."""
    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")
    db = tmp_path / "db.duckdb"
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db)]).exit_code == 0
    r = runner.invoke(app, ["classify", "--db", str(db), "--since", "20xx"])
    assert r.exit_code == 2 and "--since must be a date" in " ".join(r.output.split())
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    r = runner.invoke(app, ["classify", "--db", str(db), "--backend", "anthropic"])
    assert r.exit_code == 2 and "no Anthropic API key" in " ".join(r.output.split()), r.output


def test_ctrl_c_during_ingest_says_how_to_go_on_and_a_rerun_finishes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C ended the command with no word (exit 130)."""
    import codecensus.engine as engine

    root = tmp_path / "team"
    sids = [f"{i:08d}-6666-4666-8666-666666666666" for i in range(8)]
    for sid in sids:
        standard_session(sid).write(root / "-p" / f"{sid}.jsonl")
    db = tmp_path / "db.duckdb"
    real = engine.ingest_with

    def interrupted(*args, progress=None, **kw):  # type: ignore[no-untyped-def]
        def cb(done: int, total: int, current: str) -> None:
            if done >= 5:
                raise KeyboardInterrupt
        return real(*args, progress=cb, **kw)

    monkeypatch.setattr(engine, "ingest_with", interrupted)
    r = runner.invoke(app, ["ingest", str(root), "--db", str(db), "-j", "0"])
    assert r.exit_code == 130 and "run the same command again" in " ".join(r.output.split()), r.output
    monkeypatch.setattr(engine, "ingest_with", real)
    r = runner.invoke(app, ["ingest", str(root), "--db", str(db), "-j", "0"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["sessions", "--db", str(db)])
    assert sorted(orjson.loads(x)["session_id"] for x in r.stdout.splitlines() if x.strip()) == sids


def test_a_database_write_failure_is_said_with_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk made the final checkpoint fail with a DuckDB FatalException traceback. (Checked for real on a
    3 MB tmpfs: the message, then after making room, a re-run that finished the ingest with every session.)"""
    import duckdb

    import codecensus.engine as engine

    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")

    def full(*args, **kw):  # type: ignore[no-untyped-def]
        raise duckdb.FatalException('Failed to create checkpoint: Could not write file "x": No space left on device')

    monkeypatch.setattr(engine, "ingest_with", full)
    r = runner.invoke(app, ["ingest", str(root), "--db", str(tmp_path / "db.duckdb")])
    text = " ".join(r.output.split())
    assert r.exit_code == 1 and "could not be written" in text and "free some space" in text, text
    assert "Traceback" not in text


def test_report_and_summary_of_a_window_without_sessions(tmp_path: Path) -> None:
    """A --since after every session made both crash (TypeError in the release step of an empty table); a window
    that ends before it starts is refused; --min-users alone raises the session threshold with it."""
    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")
    db = tmp_path / "db.duckdb"
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db)]).exit_code == 0
    r = runner.invoke(app, ["summary", "--db", str(db), "--since", "2030-01-01"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["report", "--db", str(db), "--since", "2030-01-01", "--out", str(tmp_path / "r")])
    assert r.exit_code == 0 and (tmp_path / "r" / "report.html").is_file(), r.output
    r = runner.invoke(app, ["summary", "--db", str(db), "--since", "2026-05-01", "--until", "2026-01-01"])
    assert r.exit_code == 2 and "is after --until" in " ".join(r.output.split())
    r = runner.invoke(app, ["summary", "--db", str(db), "--min-users", "50"])
    text = " ".join(r.output.split())
    assert r.exit_code == 0 and "≥50 users and ≥50 sessions" in text, text


def test_sessions_out_into_a_new_folder_and_classify_limit_below_one(tmp_path: Path) -> None:
    """--out in a folder that does not exist yet ended in a FileNotFoundError traceback (report --out creates its
    folder); --out naming a folder is refused; classify --limit -3 was taken silently."""
    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")
    db = tmp_path / "db.duckdb"
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db)]).exit_code == 0
    for fmt, name in (("jsonl", "s.jsonl"), ("parquet", "s.parquet")):
        out = tmp_path / "new" / fmt / name
        r = runner.invoke(app, ["sessions", "--db", str(db), "-f", fmt, "-o", str(out)])
        assert r.exit_code == 0 and out.is_file(), r.output
    r = runner.invoke(app, ["sessions", "--db", str(db), "-o", str(tmp_path)])
    assert r.exit_code == 2 and "is a folder" in " ".join(r.output.split())
    r = runner.invoke(app, ["classify", "--db", str(db), "--limit", "-3"])
    assert r.exit_code == 2


def test_ingest_names_an_unknown_format_and_says_when_nothing_was_found(tmp_path: Path) -> None:
    """--format nosuch ended in a KeyError traceback; a folder without transcripts said nothing at all."""
    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")
    db = tmp_path / "db.duckdb"
    r = runner.invoke(app, ["ingest", str(root), "--db", str(db), "--format", "nosuch"])
    text = " ".join(r.output.split())
    assert r.exit_code == 2 and "Unknown format 'nosuch'" in text and "claude_code" in text, text
    r = runner.invoke(app, ["ingest", str(root), "--db", str(db), "--format", "codex"])
    assert r.exit_code == 0 and "No transcript in the codex format" in " ".join(r.output.split())
    (tmp_path / "empty").mkdir()
    r = runner.invoke(app, ["ingest", str(tmp_path / "empty"), "--db", str(db)])
    assert r.exit_code == 0 and "No transcript in a format codecensus reads" in " ".join(r.output.split())


def test_demo_needs_at_least_one_user_and_one_session(tmp_path: Path) -> None:
    """--sessions 0 ended in a LookupError traceback (no summaries to cluster), --users 0 in a ValueError one."""
    for args in (["--sessions", "0"], ["--users", "0"]):
        r = runner.invoke(app, ["demo", "--out", str(tmp_path / "d"), *args])
        assert r.exit_code == 2 and "Invalid value" in r.output, args


def test_a_full_disk_in_any_command_is_said_plainly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """classify and report ended in tracebacks on a full disk (checked for real on a full tmpfs); classify's even
    hid the cause: its ROLLBACK after the failed COMMIT raised "no transaction is active"."""
    import errno
    import sys

    import duckdb

    import codecensus.report.build as build
    from codecensus.cli import main
    from codecensus.store import rollback

    con = duckdb.connect()
    rollback(con)  # no transaction open (as after a failed COMMIT): nothing raised, the real error stays the one
    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")
    db = tmp_path / "db.duckdb"
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db)]).exit_code == 0

    def full(*args, **kw):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(build, "write_report", full)
    monkeypatch.setattr(sys, "argv", ["codecensus", "report", "--db", str(db), "--out", str(tmp_path / "r")])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 1
    assert "No space left on the device" in " ".join(capsys.readouterr().err.split())
    monkeypatch.setattr(build, "write_report", lambda *a, **k: 1 / 0)  # any other error keeps its traceback
    with pytest.raises(ZeroDivisionError):
        main()


def test_sessions_out_never_overwrites_the_database_and_says_when_it_cannot_write(tmp_path: Path) -> None:
    """`sessions -o DB` replaced the database with the export (6.3 MB of a demo's tables became 44 KB of JSON
    Lines); an --out under a file, or one that cannot be written, ended in an OSError traceback."""
    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")
    db = tmp_path / "db.duckdb"
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db)]).exit_code == 0
    before = db.read_bytes()
    for target in (db, tmp_path / "." / "db.duckdb"):
        r = runner.invoke(app, ["sessions", "--db", str(db), "-o", str(target)])
        assert r.exit_code == 2 and "is the database itself" in " ".join(r.output.split()), r.output
    assert db.read_bytes() == before
    (tmp_path / "afile").write_text("x")
    for target in (tmp_path / "afile" / "s.jsonl", tmp_path / "afile" / "sub" / "s.jsonl"):
        r = runner.invoke(app, ["sessions", "--db", str(db), "-o", str(target)])
        text = " ".join(r.output.split())
        # (rich wraps a line longer than the terminal inside the path: compared without whitespace)
        assert r.exit_code == 2 and "".join(f"Cannot write --out {target}".split()) in "".join(text.split()), text
        assert "Traceback" not in text, text
        # "File exists" (mkdir's word for a file where the folder would be) read as if s.jsonl existed
        assert "File exists" not in text and ("a file is in the way" in text or "Not a directory" in text), text
    assert (tmp_path / "afile").read_text() == "x"


def test_sessions_format_follows_the_out_suffix_and_a_contradiction_is_refused(tmp_path: Path) -> None:
    """`sessions -o s.csv` wrote JSON Lines into s.csv (and -o s.parquet JSON Lines into s.parquet)."""
    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")
    db = tmp_path / "db.duckdb"
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db)]).exit_code == 0
    assert runner.invoke(app, ["sessions", "--db", str(db), "-o", str(tmp_path / "s.csv")]).exit_code == 0
    assert next(csv.DictReader(io.StringIO((tmp_path / "s.csv").read_text())))["session_id"] == SID
    assert runner.invoke(app, ["sessions", "--db", str(db), "-o", str(tmp_path / "s.PARQUET")]).exit_code == 0
    assert pq.read_table(tmp_path / "s.PARQUET").column("session_id").to_pylist() == [SID]
    r = runner.invoke(app, ["sessions", "--db", str(db), "-f", "csv", "-o", str(tmp_path / "t.parquet")])
    assert r.exit_code == 2 and "does not match" in " ".join(r.output.split()) and not (tmp_path / "t.parquet").exists()
    r = runner.invoke(app, ["sessions", "--db", str(db), "-f", "csv", "-o", str(tmp_path / "t.txt")])
    assert r.exit_code == 0 and (tmp_path / "t.txt").read_text().startswith('"session_id"')
    # a suffix that names no format without --format ("t.cvs", a typo; "t.json", not JSON Lines) was written as JSON
    # Lines (with a warning); now refused, naming the suffix and the choices, and nothing is written
    for name in ("t.cvs", "t.json", "t.out"):
        r = runner.invoke(app, ["sessions", "--db", str(db), "-o", str(tmp_path / name)])
        text = " ".join(r.output.split())
        assert r.exit_code == 2 and not (tmp_path / name).exists(), text
        assert f"suffix {name[1:]} names no format" in text and ".jsonl" in text and ".csv" in text, text
        assert ".parquet" in text and "--format" in text, text
    r = runner.invoke(app, ["sessions", "--db", str(db), "-f", "jsonl", "-o", str(tmp_path / "t2.out")])
    assert r.exit_code == 0 and orjson.loads((tmp_path / "t2.out").read_text().splitlines()[0])["session_id"] == SID
    r = runner.invoke(app, ["sessions", "--db", str(db), "-o", str(tmp_path / "t3")])  # no suffix: JSON Lines
    assert r.exit_code == 0 and orjson.loads((tmp_path / "t3").read_text().splitlines()[0])["session_id"] == SID


def test_demo_out_under_a_file_is_said(tmp_path: Path) -> None:
    # `demo --out notes.txt/demo` ended in a NotADirectoryError traceback (pathlib's mkdir)
    (tmp_path / "notes.txt").write_text("x")
    r = runner.invoke(app, ["demo", "--out", str(tmp_path / "notes.txt" / "demo"), "--sessions", "5", "--users", "2"])
    text = " ".join(r.output.split())
    assert r.exit_code == 2, text
    assert "Cannot write the demo to --out" in text and "a file is in the way" in text, text
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert (tmp_path / "notes.txt").read_text() == "x"


def test_demo_into_a_folder_of_user_files_touches_none_of_them(tmp_path: Path) -> None:
    """`demo --out` a folder of one's own deleted its repos/ (shutil.rmtree), overwrote report/report.html and
    deleted a codecensus.duckdb there; a non-empty corpus/ ended in a FileExistsError traceback after the
    database was already deleted. Now such a folder is refused before anything is written; an earlier demo's
    folder is still taken (a second run replaces the first)."""
    mine = tmp_path / "mine"
    files = {"repos/app/main.py": "precious", "report/report.html": "mine", "codecensus.duckdb": "db",
             "corpus/notes.txt": "n", "notes.txt": "x"}
    for rel, text in files.items():
        (mine / rel).parent.mkdir(parents=True, exist_ok=True)
        (mine / rel).write_text(text)
    r = runner.invoke(app, ["demo", "--out", str(mine), "--users", "2", "--sessions", "3"])
    text = " ".join(r.output.split())
    assert r.exit_code == 2 and "is not empty and holds no earlier demo" in text and "Traceback" not in text, text
    assert {str(p.relative_to(mine)) for p in mine.rglob("*") if p.is_file()} == set(files)
    assert all((mine / rel).read_text() == t for rel, t in files.items())
    from codecensus.pipeline import check_demo_dir
    from codecensus.sample import generate_corpus

    check_demo_dir(tmp_path / "new")  # missing, or empty: taken
    (tmp_path / "empty").mkdir()
    check_demo_dir(tmp_path / "empty")
    earlier = tmp_path / "earlier"
    generate_corpus(earlier / "corpus", users=2, sessions=3, seed=1)
    (earlier / "codecensus.duckdb").write_text("an earlier demo's")
    check_demo_dir(earlier)


def test_an_sqlite_file_as_db_is_refused_untouched_without_reaching_duckdb(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """--db naming an SQLite file made DuckDB download its sqlite extension from the internet (every command
    then failed with "Failed to download extension"; with the extension at hand, DuckDB opens the SQLite file
    read-write, and ingest adds its tables to it)."""
    import sqlite3

    import duckdb

    import codecensus.store.db as dbmod

    lite = tmp_path / "notes.sqlite"
    con = sqlite3.connect(lite)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = lite.read_bytes()
    opened: list[str] = []
    real = duckdb.connect

    def connect(database: str = ":memory:", *a, **kw):  # type: ignore[no-untyped-def]
        opened.append(str(database))
        return real(database, *a, **kw)

    monkeypatch.setattr(dbmod.duckdb, "connect", connect)
    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")
    labels = tmp_path / "labels.csv"
    labels.write_text(f"session_id,mode\n{SID},fix\n")
    for cmd in (["sessions"], ["summary"], ["eval", str(labels)], ["classify", "-j", "1"], ["ingest", str(root)],
                ["report", "--out", str(tmp_path / "r")], ["cluster"]):
        r = runner.invoke(app, [*cmd, "--db", str(lite)])
        text = " ".join(r.output.split())
        assert r.exit_code == 2 and "not a valid DuckDB database file (it is an SQLite database)" in text, (cmd, text)
    assert str(lite) not in opened and lite.read_bytes() == before


def test_another_tools_duckdb_file_is_refused_untouched(tmp_path: Path) -> None:
    """`ingest --db other.duckdb` on a DuckDB file of another tool with its own `sessions` table dropped and
    replaced that table (exit 0); `sessions` and `summary` on it failed with a BinderException/ParserException
    traceback. Now every command refuses it (exit 2) naming the file and its tables, and never writes it; an empty
    DuckDB file still becomes a store."""
    import duckdb

    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE sessions (id INTEGER, name VARCHAR)")
    con.execute("INSERT INTO sessions VALUES (1, 'mine')")
    con.execute("CREATE TABLE meta (k VARCHAR)")  # a `meta` without codecensus's salt is not the marker
    con.close()
    before = other.read_bytes()
    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")
    for cmd in (["ingest", str(root)], ["sessions"], ["summary"], ["classify", "-j", "1"], ["cluster"],
                ["report", "--out", str(tmp_path / "r")]):
        r = runner.invoke(app, [*cmd, "--db", str(other)])
        text = "".join(r.output.split())
        assert r.exit_code == 2, (cmd, r.output)
        want = f"{other}isaDuckDBdatabasenotmadebycodecensus(ithastablesmeta,sessions);useanother--db"
        assert want in text, (cmd, r.output)
    assert other.read_bytes() == before and not Path(f"{other}.wal").exists()
    with duckdb.connect(str(other), read_only=True) as con:
        assert con.execute("SELECT * FROM sessions").fetchall() == [(1, "mine")]
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    assert runner.invoke(app, ["ingest", str(root), "--db", str(empty)]).exit_code == 0
    r = runner.invoke(app, ["sessions", "--db", str(empty)])
    assert r.exit_code == 0 and SID in r.stdout, r.output


def test_version_option() -> None:
    """`codecensus --version` was "No such option: --version" (only `codecensus version` printed it)."""
    from codecensus import __version__

    for args in (["--version"], ["version"]):
        r = runner.invoke(app, args)
        assert r.exit_code == 0 and r.stdout.strip() == f"codecensus {__version__}", (args, r.output)
    r = runner.invoke(app, ["--version", "formats"])  # eager: nothing else runs
    assert r.exit_code == 0 and r.stdout.strip() == f"codecensus {__version__}"


def test_a_reader_that_stops_reading_ends_a_command_quietly(tmp_path: Path) -> None:
    """``codecensus sessions | head -1`` exited 1 (click's and rich's answer to a closed pipe), so a pipeline under
    ``set -o pipefail`` failed as if the command had; now each command stops as a Unix tool does: status 141
    (128 + SIGPIPE), nothing on stderr. The reader here closes its end before the command writes anything."""
    import subprocess
    import sys

    root = tmp_path / "team"
    standard_session(SID).write(root / "carol" / ".claude" / "projects" / "-p" / f"{SID}.jsonl")
    db = tmp_path / "db.duckdb"
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db), "-j", "0"]).exit_code == 0
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=A", "-c", "user.email=a@example.org", "commit", "-q",
                    "--allow-empty", "-m", "init"], check=True)
    for args in (["sessions", "--db", str(db)], ["sessions", "--db", str(db), "-f", "csv"],
                 ["summary", "--db", str(db)], ["git-agents", str(repo)], ["formats"], ["--help"]):
        p = subprocess.Popen([sys.executable, "-m", "codecensus", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=os.environ)
        assert p.stdout is not None
        p.stdout.close()
        _, err = p.communicate(timeout=120)
        assert (args[0], p.returncode, err.decode()) == (args[0], 141, "")


def test_out_dash_is_standard_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``sessions --out -`` wrote a file named '-' in the current folder (and said 'wrote 1 sessions to -'); '-' is
    the Unix name of standard output."""
    root = tmp_path / "team"
    standard_session(SID).write(root / "carol" / ".claude" / "projects" / "-p" / f"{SID}.jsonl")
    db = tmp_path / "db.duckdb"
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db), "-j", "0"]).exit_code == 0
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["sessions", "--db", str(db), "--out", "-"])
    assert r.exit_code == 0, r.output
    assert [orjson.loads(x)["session_id"] for x in r.stdout.splitlines() if x.strip()] == [SID]
    assert not (tmp_path / "-").exists()


def test_ctrl_c_during_the_demo_says_so_and_a_rerun_takes_the_folder(tmp_path: Path) -> None:
    """Ctrl-C while the demo generated its corpus ended with exit 130 and no word, and left user folders without the
    corpus manifest: every later `codecensus demo` there was refused ("holds no earlier demo")."""
    import signal
    import subprocess
    import sys
    import time

    from codecensus.pipeline import check_demo_dir

    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "codecensus", "demo", "--out", str(out), "--users", "50", "--sessions", "200000"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    # a test run started in the background ignores SIGINT and a child inherits that: the default is given back
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not ((out / "corpus").is_dir()
                                                   and len(list((out / "corpus").iterdir())) >= 3):
            time.sleep(0.05)
        assert proc.poll() is None, "the demo ended before it was interrupted"
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    said = " ".join(err.split())
    assert proc.returncode == 130 and took < 30, (proc.returncode, took, said)  # 0.3-0.8 s measured
    assert "demo interrupted" in said and "run the same command again" in said and "Traceback" not in said, said
    assert not (out / "codecensus.duckdb").exists()  # stopped while generating
    check_demo_dir(out)  # raised FileExistsError before: a rerun refused the folder


def test_sessions_export_carries_no_aider_folder_name(tmp_path: Path) -> None:
    """An aider history lives in its project's folder: its session_id was 'aider-<folder name>-1', so the sessions
    export named the project (or, in a <root>/<user>/ corpus, the user) that its project column hashes."""
    hist = Path(__file__).parent / "fixtures" / "formats" / "aider" / ".aider.chat.history.md"
    proj = tmp_path / "team" / "alice.smith" / "acme-secret-merger"
    proj.mkdir(parents=True)
    (proj / ".aider.chat.history.md").write_bytes(hist.read_bytes())
    db = tmp_path / "db.duckdb"
    r = runner.invoke(app, ["ingest", str(tmp_path / "team"), "--db", str(db), "--user-from-dir", "-j", "0"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["sessions", "--db", str(db), "-f", "csv"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 2 and {x["source"] for x in rows} == {"aider"}
    assert len({x["session_id"] for x in rows}) == 2  # still one id per run
    assert all(x["session_id"].startswith("aider-") for x in rows)
    assert "acme-secret-merger" not in r.stdout and "alice.smith" not in r.stdout


def test_sessions_export_carries_no_file_or_folder_name_as_session_id(tmp_path: Path) -> None:
    """Formats whose transcripts record no session id took it from a name a user may choose: the agent-platform
    parser from its folder, SWE-agent, OpenHands, Claude stream-json from the file name, terminal-bench from its
    trial folder. The sessions export then carried that raw name ('acme-secret-merger'), which exports only ever
    carry as salted hashes. Now such ids are '<format>-<file id>' (uuid names are kept), the same on every run."""
    import shutil

    fix = Path(__file__).parent / "fixtures" / "formats"
    secret = "acme-secret-merger"
    home = tmp_path / "team" / "alice.smith"
    copies = {
        "swe_agent/function_calling.traj": f"{secret}.traj",
        "openhands/trajectory.json": f"{secret}.json",
        "claude_agent_platform/sess_demo/transcript.jsonl": f"{secret}/transcript.jsonl",
        "claude_stream_json/run.jsonl": f"{secret}.jsonl",
        "mini_swe_agent/flat/astropy__astropy-7.traj.json": f"mini/{secret}.traj.json",
    }
    for src, dst in copies.items():
        (home / dst).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fix / src, home / dst)
    shutil.copytree(fix / "terminal_bench" / "usaco" / "usaco-101@2025-08-24__16-32-09", home / "tb" / secret)
    ids = []
    for name in ("a.duckdb", "a.duckdb", "b.duckdb"):  # a re-ingest of one database, and another database
        db = tmp_path / name
        r = runner.invoke(app, ["ingest", str(tmp_path / "team"), "--db", str(db), "--user-from-dir", "-j", "0"])
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["sessions", "--db", str(db), "-f", "csv"])
        assert r.exit_code == 0, r.output
        rows = list(csv.DictReader(io.StringIO(r.stdout)))
        assert {x["source"] for x in rows} >= {"swe_agent", "openhands", "claude_agent_platform", "terminal_bench"}, rows
        assert secret not in r.stdout and "alice.smith" not in r.stdout, [x["session_id"] for x in rows]
        ids.append(sorted(x["session_id"] for x in rows))
    assert ids[0] == ids[1] and len(set(ids[0])) == len(ids[0])  # stable across runs, one per session
    # another database: as many sessions; a recorded id a user may fill is hashed with that database's salt
    assert len(ids[2]) == len(ids[0]) and ids[2] != ids[0]


def test_an_empty_user_is_refused_and_cluster_without_summaries_says_to_classify(tmp_path: Path) -> None:
    """`ingest --user ""` attributed the files to the login user without a word; `cluster` on a database whose
    facets table holds no row (classify ran before any session was there) said only "no session has a summary
    in the facets table". Now the empty --user is refused (exit 2) and cluster says to run `codecensus classify`."""
    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")
    db = tmp_path / "db.duckdb"
    for user in ("", "  "):
        r = runner.invoke(app, ["ingest", str(root), "--db", str(db), "--user", user])
        assert r.exit_code == 2 and "--user is empty" in r.output, r.output
    assert not db.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert runner.invoke(app, ["ingest", str(empty), "--db", str(db)]).exit_code == 0
    assert runner.invoke(app, ["classify", "--db", str(db), "-j", "1", "--embedder", "none"]).exit_code == 0
    r = runner.invoke(app, ["cluster", "--db", str(db)])
    assert r.exit_code == 1 and "run `codecensus classify` first" in " ".join(r.output.split()), r.output


def test_paths_with_brackets_are_printed_as_they_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths went into rich markup raw: a folder named '[/x]' (a closing tag with no opener) ended ingest's list
    of failed files, eval's 'labels file ... not found' and sessions' '--out ... is a folder' in a MarkupError
    traceback, and '[bold]' vanished from the path shown. Now each path is printed as it is."""
    import shutil

    from codecensus.sources.claude_stream_json import ClaudeStreamJsonParser

    odd = tmp_path / "[bold]team" / "[/x]"
    odd.mkdir(parents=True)
    shutil.copyfile(Path(__file__).parent / "fixtures" / "formats" / "claude_stream_json" / "run.jsonl", odd / "run.jsonl")

    def boom(self: object, ctx: object) -> None:
        raise RuntimeError("parser broke")

    monkeypatch.setattr(ClaudeStreamJsonParser, "parse", boom)
    db = tmp_path / "c.duckdb"
    r = runner.invoke(app, ["ingest", str(odd), "--db", str(db), "-j", "0"])
    flat = "".join(r.output.split())
    assert "MarkupError" not in repr(r.exception), r.exception
    assert "failed" in r.output and "".join(f"{odd / 'run.jsonl'}: RuntimeError".split()) in flat, r.output
    monkeypatch.undo()
    runner.invoke(app, ["ingest", str(odd), "--db", str(db), "-j", "0"])
    r = runner.invoke(app, ["sessions", "--db", str(db), "-f", "parquet", "--out", str(odd)])
    assert r.exit_code == 2 and "".join(f"--out {odd} is a folder".split()) in "".join(r.output.split()), r.output
    r = runner.invoke(app, ["eval", str(odd / "labels.csv"), "--db", str(db)])
    assert r.exit_code == 2 and "".join(f"labels file {odd / 'labels.csv'} not found".split()) in "".join(r.output.split()), r.output


def test_db_given_as_the_demos_folder_points_at_the_database_in_it(tmp_path: Path) -> None:
    """`--db demo` (the folder `codecensus demo` writes) said "Cannot open the database demo: IO Error: ... Is a
    directory"; now it says it is a folder and names the database inside it."""
    demo = tmp_path / "demo"
    root = tmp_path / "team"
    standard_session(SID).write(root / "-p" / f"{SID}.jsonl")
    assert runner.invoke(app, ["ingest", str(root), "--db", str(demo / "codecensus.duckdb")]).exit_code == 0
    for cmd in (["sessions"], ["summary"], ["classify"], ["ingest", str(root)]):
        r = runner.invoke(app, [*cmd, "--db", str(demo)])
        out = "".join(r.output.split())
        assert r.exit_code == 2 and "isafolder" in out and "".join(f"--db {demo / 'codecensus.duckdb'}?".split()) in out, r.output
    r = runner.invoke(app, ["sessions", "--db", str(tmp_path / "team")])
    assert r.exit_code == 2 and "name the database file" in " ".join(r.output.split()), r.output


def test_summary_of_one_persons_sessions_says_how_to_see_them(tmp_path: Path) -> None:
    """One user's benchmark runs (220 sessions, no --user-from-dir) printed 'fewer sessions or users than the release
    thresholds' and then 'Cost per session: withheld (the sessions whose model has no known price ... are too few)':
    a reason that was not the one. Now the summary says nothing can be released and how to see one's own sessions,
    and no cost line; with --individual the figures are there."""
    for i in range(12):
        standard_session(f"{i:08d}-1111-4111-8111-111111111111").write(tmp_path / "c" / "-p" / f"{i:08d}-1111-4111-8111-111111111111.jsonl")
    db = tmp_path / "x.duckdb"
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", "--db", str(db), "--user", "me", str(tmp_path / "c")]).exit_code == 0
    r = runner.invoke(app, ["summary", "--db", str(db)], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "no figure can be released" in r.output and "--individual" in r.output, r.output
    assert "Cost per session" not in r.output, r.output
    r = runner.invoke(app, ["summary", "--db", str(db), "--individual"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "no figure can be released" not in r.output and "Cost per session" in r.output, r.output


def test_report_of_one_persons_sessions_says_how_to_see_them(tmp_path: Path) -> None:
    """The HTML report of a store below the thresholds opened with 'below thresholds coding-agent sessions from below
    thresholds users.'; now it says that no figure can be released, and how to see one's own sessions."""
    for i in range(12):
        sid = f"{i:08d}-1111-4111-8111-111111111111"
        standard_session(sid).write(tmp_path / "c" / "-p" / f"{sid}.jsonl")
    db = tmp_path / "x.duckdb"
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", "--db", str(db), "--user", "me", str(tmp_path / "c")]).exit_code == 0
    assert runner.invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "r")]).exit_code == 0
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "below thresholds coding-agent sessions" not in html
    assert "no figure can be released" in html and "codecensus report --individual" in html
    assert runner.invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "i"), "--individual"]).exit_code == 0
    html = (tmp_path / "i" / "report.html").read_text(encoding="utf-8")
    assert "no figure can be released" not in html and "12 coding-agent sessions from 1 user" in html
