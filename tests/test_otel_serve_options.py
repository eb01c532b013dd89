"""`codecensus otel serve`: impossible --port / --flush-interval values are refused before it listens."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from codecensus.cli import app

runner = CliRunner()


def test_port_out_of_range_is_an_option_error(tmp_path: Path) -> None:
    r = runner.invoke(app, ["otel", "serve", "--port", "99999", "--db", str(tmp_path / "db.duckdb")])
    # was: OverflowError("bind(): port must be 0-65535") as a traceback, exit 1
    assert r.exit_code == 2, r.output
    assert not isinstance(r.exception, OverflowError)
    assert "--port" in r.output


def test_a_zero_flush_interval_is_refused(tmp_path: Path) -> None:
    # --flush-interval 0 (or below) made the flush loop spin: 0.5 s of CPU per second with no request at all.
    # The port is taken, so a serve that accepted the interval stops at once ("cannot listen") instead of serving.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = runner.invoke(app, ["otel", "serve", "--port", str(port), "--flush-interval", "0",
                                "--db", str(tmp_path / "db.duckdb")])
    assert r.exit_code == 2, r.output
    assert "--flush-interval" in r.output


def test_a_database_under_a_file_is_said(tmp_path: Path) -> None:
    # `--db notes.txt/x.duckdb` ended in a FileExistsError traceback (the store making its folder) before listening
    (tmp_path / "notes.txt").write_text("x")
    r = runner.invoke(app, ["otel", "serve", "--port", "0", "--db", str(tmp_path / "notes.txt" / "x.duckdb")])
    assert r.exit_code == 2, r.output
    assert not isinstance(r.exception, OSError)
    assert "Cannot create the database" in " ".join(r.output.split())
    assert (tmp_path / "notes.txt").read_text() == "x"
