"""`codecensus cluster`: its options are checked, in their own names, before any work."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from codecensus.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        # these ended in ReleasePolicy's words ("use ReleasePolicy(individual=True)", "min_sessions must be >= ...")
        (["--min-users", "1"], "--min-users 1 would release single people's figures"),
        (["--min-sessions", "3"], "--min-sessions 3 is below --min-users 5 (the default)"),
        # this one was taken, and --min-users 5 dropped without a word
        (["--individual", "--min-users", "5"], "cannot be combined with --min-users 5"),
    ],
)
def test_thresholds_are_checked_in_the_options_names(tmp_path: Path, args: list[str], said: str) -> None:
    r = runner.invoke(app, ["cluster", "--db", str(tmp_path / "db.duckdb"), *args])
    assert r.exit_code == 2, r.output
    text = " ".join(r.output.split())
    assert said in text
    assert "ReleasePolicy" not in text and "min_users" not in text

def test_negative_thresholds_are_refused_by_the_parser(tmp_path: Path) -> None:
    r = runner.invoke(app, ["cluster", "--db", str(tmp_path / "db.duckdb"), "--min-sessions", "-5"])
    assert r.exit_code == 2
    assert "--min-sessions" in r.output

@pytest.mark.parametrize("kind", ["missing", "folder", "not_utf8", "no_topic"])
def test_truth_file_problems_are_said_before_any_work(tmp_path: Path, kind: str) -> None:
    truth = tmp_path / "truth.csv"
    if kind == "folder":
        truth.mkdir()
    elif kind == "not_utf8":
        truth.write_bytes(b"\xff\xfe\x00junk")
    elif kind == "no_topic":
        truth.write_text("session_id,mode\nabc,build\n")
    db = tmp_path / "db.duckdb"
    r = runner.invoke(app, ["cluster", "--db", str(db), "--truth", str(truth)])
    # a missing --truth ended in a FileNotFoundError traceback (exit 1), after the database was opened
    assert r.exit_code == 2, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "--truth" in r.output and str(truth.name) in r.output
    assert not db.exists()  # refused before the database was opened (or created)
