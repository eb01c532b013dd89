"""Ctrl-C while the executable loads the command line: an exit status, not a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import codecensus.cli
import codecensus.quickcheck
from codecensus import entry


def _interrupt() -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize("argv", [["sessions"], ["ingest", "x"]])
def test_ctrl_c_before_the_command_exits_130_quietly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    # sessions: Ctrl-C while cli.py imports duckdb/typer; ingest: while quickcheck looks at the snapshot
    monkeypatch.setattr(codecensus.cli, "main", _interrupt)
    monkeypatch.setattr(codecensus.quickcheck, "try_fast_ingest", lambda _argv: _interrupt())
    monkeypatch.setattr(sys, "argv", ["codecensus", *argv])
    with pytest.raises(SystemExit) as info:
        entry.main()  # was: KeyboardInterrupt out of main (a traceback, status -2)
    assert info.value.code == 130
    assert "interrupted" in capsys.readouterr().err


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process")
def test_sigint_during_startup_prints_no_traceback(tmp_path: Path) -> None:
    src = Path(codecensus.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(src)}
    # the signal lands while Python imports the CLI (Python's own handler is there after a few ms; the imports
    # take ~0.5 s, longer on a loaded machine)
    p = subprocess.Popen([sys.executable, "-m", "codecensus", "sessions", "--db", str(tmp_path / "db")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(0.25)
    p.send_signal(signal.SIGINT)
    _out, err = p.communicate(timeout=60)
    said = err.decode(errors="replace")
    assert "Traceback" not in said
    # 130: interrupted; 2: it had finished (no database); -2 with nothing said: the signal came before the interpreter
    # had set up its own handler (0.25 s was not enough on a cold fresh-clone venv), which no code of ours can change.
    # The bug was -2 *with* a traceback (through importlib).
    assert p.returncode in (130, 2) or (p.returncode == -2 and not said.strip()), (p.returncode, len(said))
