"""build_sessions after an ingest measures again only the sessions whose rows changed (and those sharing copied
history with them), and its table is the one a full build gives, row for row."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

import codecensus.measure as measure
from codecensus.ingest import ingest
from codecensus.measure import build_sessions, needs_measure
from codecensus.sample import generate_corpus
from codecensus.store import Store

_IDS = ("uuid", "parentUuid", "messageId", "promptId", "leafUuid", "logicalParentUuid")


def _rows(store: Store) -> list[tuple[Any, ...]]:
    return store.con.execute("SELECT * FROM sessions ORDER BY session_key").fetchall()


def _row(store: Store, key: str) -> tuple[Any, ...] | None:
    return store.one("SELECT * FROM sessions WHERE session_key = ?", [key])


def _fresh(lines: list[bytes], tag: str, shift: timedelta, sid: str | None = None,
           agent: str | None = None) -> list[bytes]:
    """``lines`` as new records: new uuids, message, request and tool ids, times moved by ``shift``; the session id
    ``sid`` and the agent id ``agent`` when given."""
    def new_id(old: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}:{old}"))

    def walk(v: Any) -> Any:
        if isinstance(v, list):
            return [walk(x) for x in v]
        if not isinstance(v, dict):
            return v
        out = {}
        for k, x in v.items():
            if k in _IDS and isinstance(x, str):
                x = new_id(x)
            elif k in ("id", "tool_use_id", "requestId") and isinstance(x, str):
                x = f"{x}{tag}"
            elif k == "timestamp" and isinstance(x, str):
                t = datetime.fromisoformat(x.replace("Z", "+00:00")) + shift
                x = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
            elif k == "sessionId" and sid is not None:
                x = sid
            elif k == "agentId" and agent is not None:
                x = agent
            else:
                x = walk(x)
            out[k] = x
        return out

    out = []
    for b in lines:
        try:
            rec = orjson.loads(b)
        except orjson.JSONDecodeError:
            continue  # a damaged line of the generator
        out.append(orjson.dumps(walk(rec)))
    return out


def _records(path: Path) -> list[bytes]:
    """The lines of ``path`` that are records of the conversation (they carry a uuid)."""
    return [b for b in path.read_bytes().splitlines() if b'"uuid"' in b]


def _last_time(path: Path) -> datetime:
    times = [orjson.loads(b)["timestamp"] for b in _records(path) if b'"timestamp"' in b]
    return datetime.fromisoformat(max(times).replace("Z", "+00:00"))


def _append(path: Path, lines: list[bytes]) -> None:
    with open(path, "ab") as fh:
        fh.write(b"\n".join(lines) + b"\n")


def _ingest(store: Store, corpus: Path, **kw: Any) -> None:
    stats = ingest(store, [corpus], user_from_dir=True, workers=0, settle_s=0, **kw)
    assert not stats.errors, stats.errors


def _measured_again(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "to measure again" in r.getMessage()]


def _same_as_full(store: Store) -> list[tuple[Any, ...]]:
    """The incremental table equals a full build of the same store; returns it."""
    got = _rows(store)
    assert not needs_measure(store)
    build_sessions(store, full=True)
    want = _rows(store)
    assert len(got) == len(want)
    assert [r for r in got if r not in want] == []
    assert got == want
    return got


def _resume(orig: Path, name: str) -> tuple[Path, str]:
    """A session resumed from ``orig`` as Claude Code before 2.1 wrote it: the history copied (the same uuids under
    the new session id), then its own records. Returns its file and session id."""
    sid = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    copied = [b.replace(orig.stem.encode(), sid.encode()) for b in _records(orig)]
    path = orig.parent / f"{sid}.jsonl"
    path.write_bytes(b"\n".join(copied + _fresh(_records(orig)[-4:], name, timedelta(hours=2), sid=sid)) + b"\n")
    return path, sid


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    generate_corpus(root, users=5, sessions=90, months=1, seed=23)
    return root


def _main_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*.jsonl") if "subagents" not in p.parts and not p.name.startswith("agent-")
                  and len(_records(p)) >= 6)


def test_incremental_measure_equals_a_full_build(
    tmp_path: Path, corpus: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "db.duckdb")
    _ingest(store, corpus)
    n0 = build_sessions(store)
    assert n0 >= 90 and not needs_measure(store)
    mains = _main_files(corpus)
    subs = sorted(p for p in corpus.rglob("agent-*.jsonl") if "subagents" in p.parts)
    assert len(mains) > 10 and len(subs) >= 2
    day = timedelta(days=1)

    # -- round 1: appended lines, a new session, a new subagent file, a resumed session copying another's history
    for i, p in enumerate(mains[:3]):
        _append(p, _fresh(_records(p)[-4:], f"a{i}", day))
    _append(subs[0], _fresh(_records(subs[0])[-2:], "s0", timedelta(minutes=1)))
    new_agent = "f" * 17
    new_sub = subs[1].parent / f"agent-{new_agent}.jsonl"
    new_sub.write_bytes(b"\n".join(_fresh(_records(subs[1]), "s1", timedelta(minutes=2), agent=new_agent)) + b"\n")
    src = mains[5]
    new_sid = str(uuid.uuid5(uuid.NAMESPACE_URL, "new-session"))
    (src.parent / f"{new_sid}.jsonl").write_bytes(
        b"\n".join(_fresh(_records(src), "n", timedelta(hours=3), sid=new_sid)) + b"\n")
    orig, orig2 = mains[6], mains[7]
    resumed, res_sid = _resume(orig, "resumed-session")
    _, res2_sid = _resume(orig2, "resumed-session-2")
    _ingest(store, corpus)
    caplog.set_level(logging.INFO, logger="codecensus.measure")
    caplog.clear()
    assert needs_measure(store)
    assert build_sessions(store) == n0 + 3
    assert _measured_again(caplog), "an incremental run"
    rows1 = _same_as_full(store)
    before, before2 = _row(store, res_sid), _row(store, res2_sid)
    assert before is not None and before2 is not None

    # -- round 2: the original goes on past the resumed session's end: its file now ranks after the resumed one,
    # so the copies count in the resumed session (whose file did not change) and no longer in the original
    _append(orig, _fresh(_records(orig)[-2:], "o", _last_time(resumed) - _last_time(orig) + day))
    # a file rewritten (read whole again): its first records are gone
    rew = mains[8]
    rew.write_bytes(b"\n".join(rew.read_bytes().splitlines()[3:]) + b"\n")
    # a subagent file deleted, and two session files, one of them the history another resumed session copied:
    # removed with --prune (the copies count in the resumed session now)
    subs[0].unlink()
    mains[9].unlink()
    orig2.unlink()
    _ingest(store, corpus, prune=True)
    caplog.clear()
    assert build_sessions(store) == n0 + 1
    assert _measured_again(caplog)
    rows2 = _same_as_full(store)
    assert rows2 != rows1
    # the resumed sessions' files did not change; their counts follow the copies they now hold
    assert _row(store, res_sid) != before
    assert _row(store, res2_sid) != before2

    # -- round 3: a parser change reads every file again (the incremental path kept even so)
    from codecensus.sources.claude_code import ClaudeCodeParser

    monkeypatch.setattr(ClaudeCodeParser, "version", ClaudeCodeParser.version + "-test")
    monkeypatch.setattr(measure, "INCREMENTAL_MAX_SHARE", 1e9)
    _ingest(store, corpus)
    caplog.clear()
    build_sessions(store)
    assert _measured_again(caplog)
    assert _same_as_full(store) == rows2
    salt = store.salt
    store.close()

    # -- the same corpus into a fresh store (same salt), one full build: the same rows
    fresh = Store(tmp_path / "fresh.duckdb")
    fresh.set_meta("salt", salt)
    _ingest(fresh, corpus)
    build_sessions(fresh)
    assert _rows(fresh) == rows2
    fresh.close()


_KILL = """
import os, sys
from codecensus.measure import build_sessions
from codecensus.store import Store

class KillAt:
    '''The store's connection, but the process dies (no clean-up, as under kill -9) before running a statement
    that contains ``marker``.'''
    def __init__(self, con, marker):
        self._con, self._marker = con, marker
    def execute(self, sql, *args, **kw):
        if self._marker in sql:
            os._exit(137)
        return self._con.execute(sql, *args, **kw)
    def __getattr__(self, name):
        return getattr(self._con, name)

store = Store(sys.argv[1])
store.con = KillAt(store.con, sys.argv[2])
build_sessions(store)
"""


@pytest.mark.parametrize("marker", [
    "CREATE OR REPLACE TEMP TABLE _mg ",  # midway through the temp tables
    "INSERT INTO sessions",  # the changed sessions' old rows deleted, the new ones not written yet
    "CREATE OR REPLACE TABLE measure_dirty",  # the new rows written, what they measured not cleared yet
])
def test_a_measure_killed_midway_is_finished_by_the_next_ingest(tmp_path: Path, corpus: Path, marker: str) -> None:
    """A measure killed after the ingest committed: the next `codecensus ingest`, with nothing new to read, still
    brings the sessions up to date (before, it measured only when files changed: the table stayed stale)."""
    import subprocess
    import sys

    from typer.testing import CliRunner

    from codecensus.cli import app

    db = tmp_path / "db.duckdb"
    store = Store(db)
    _ingest(store, corpus)
    build_sessions(store)
    for i, p in enumerate(_main_files(corpus)[:4]):
        _append(p, _fresh(_records(p)[-4:], f"k{i}", timedelta(days=1)))
    _ingest(store, corpus)
    old = _rows(store)
    store.close()
    r = subprocess.run([sys.executable, "-c", _KILL, str(db), marker], capture_output=True, text=True)
    assert r.returncode == 137, r.stderr
    with Store(db) as store:
        assert _rows(store) == old, "the killed run changed nothing"
        assert needs_measure(store)
    res = CliRunner().invoke(app, ["ingest", str(corpus), "--db", str(db), "--user-from-dir", "-j", "0"])
    assert res.exit_code == 0, res.output
    with Store(db) as store:
        assert _rows(store) != old
        _same_as_full(store)


def test_sessions_measured_by_other_statements_are_measured_again_with_nothing_changed(
    tmp_path: Path, corpus: Path
) -> None:
    """After an upgrade that changes the measure's statements or prices, an ingest of an unchanged corpus measures
    every session again (before, needs_measure looked only at changed rows: the old rows stayed until a file
    changed, then the stamp made it a full build)."""
    store = Store(tmp_path / "db.duckdb")
    _ingest(store, corpus)
    build_sessions(store)
    assert not needs_measure(store)
    store.set_meta("measure_stamp", "an older release")
    assert needs_measure(store)
    build_sessions(store)
    assert not needs_measure(store)


def test_past_the_cap_the_dirty_table_holds_one_everything_row(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MEASURE_DIRTY_CAP rows, ``measure_dirty`` holds the single "everything" row (later writes add nothing)
    and the next measure is a full build."""
    import codecensus.store.db as db

    store = Store(tmp_path / "db.duckdb")
    _ingest(store, corpus)
    build_sessions(store)
    monkeypatch.setattr(db, "MEASURE_DIRTY_CAP", 3)
    for i, p in enumerate(_main_files(corpus)[:6]):
        _append(p, _fresh(_records(p)[-4:], f"c{i}", timedelta(days=1)))
    _ingest(store, corpus, batch_limit_files=2)  # several commits: the first passes the cap, the others add nothing
    assert store.con.execute("SELECT * FROM measure_dirty").fetchall() == [(None, None, None)]
    assert needs_measure(store)
    build_sessions(store)
    assert not needs_measure(store)
    _same_as_full(store)
