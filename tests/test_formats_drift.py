"""Schema drift and damage in the formats other than Claude Code's own, through ingest and the sessions export:
an out-of-range ISO timestamp, a byte order mark before a whole-file JSON document, a damaged cumulative token
total, and a whole-file transcript caught cut short after an earlier run stored it."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from codecensus.cli import app
from codecensus.ingest import ingest
from codecensus.sources import base
from codecensus.sources.common import parse_ts
from codecensus.store import Store

FIX = Path(__file__).parent / "fixtures" / "formats"
runner = CliRunner()
SID = "0199b000-0000-7000-8000-00000000000a"


def _codex_lines(ts2: str = "2025-10-02T08:01:00.000Z") -> list[dict[str, Any]]:
    """A small Codex rollout: 2 prompts, 2 actions, 4 visible words; cumulative totals 100/10 then 300 (50
    cached)/30, so 250 uncached input, 50 cache reads and 30 output tokens."""
    ts1 = "2025-10-02T08:00:00.000Z"

    def total(inp: Any, cached: Any, out: Any) -> dict[str, Any]:
        return {"type": "token_count", "info": {"total_token_usage": {
            "input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out, "total_tokens": 0}}}

    return [
        {"timestamp": ts1, "type": "session_meta", "payload": {"id": SID, "timestamp": ts1, "cwd": "/w/p",
                                                               "originator": "codex_cli_rs", "cli_version": "0.50.0"}},
        {"timestamp": ts1, "type": "turn_context", "payload": {"turn_id": "t1", "cwd": "/w/p", "model": "gpt-5-codex"}},
        {"timestamp": ts1, "type": "event_msg", "payload": {"type": "user_message", "message": "alpha beta gamma"}},
        {"timestamp": ts1, "type": "response_item", "payload": {
            "type": "function_call", "name": "shell", "arguments": json.dumps({"command": ["bash", "-lc", "ls"]}),
            "call_id": "c1"}},
        {"timestamp": ts2, "type": "response_item", "payload": {
            "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "one two three four"}]}},
        {"timestamp": ts2, "type": "event_msg", "payload": total(100, 0, 10)},
        {"timestamp": ts2, "type": "event_msg", "payload": {"type": "user_message", "message": "delta epsilon"}},
        {"timestamp": ts2, "type": "response_item", "payload": {
            "type": "custom_tool_call", "name": "apply_patch", "input": "*** Begin Patch", "call_id": "c2"}},
        {"timestamp": ts2, "type": "event_msg", "payload": total(300, 50, 30)},
    ]


def _write_codex(d: Path, lines: list[dict[str, Any]]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    f = d / f"rollout-2025-10-02T08-00-00-{SID}.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return f


def _export(db: Path) -> list[dict[str, Any]]:
    r = runner.invoke(app, ["sessions", "--db", str(db), "--format", "jsonl"])
    assert r.exit_code == 0, r.output
    return [json.loads(ln) for ln in r.output.splitlines() if ln.startswith("{")]


# -- timestamps ------------------------------------------------------------------------------------
@pytest.mark.parametrize("ts", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"])
def test_an_iso_timestamp_outside_years_1_to_9999_utc_is_no_time(tmp_path: Path, ts: str) -> None:
    """A valid ISO string whose offset puts the instant past year 9999 (or before year 1) in UTC was stored: ingest
    said nothing, and `codecensus sessions` then failed with a traceback ('date value out of range')."""
    assert parse_ts(ts) is None
    _write_codex(tmp_path / "t", _codex_lines(ts2=ts))
    db = tmp_path / "c.duckdb"
    r = runner.invoke(app, ["ingest", str(tmp_path / "t"), "--db", str(db), "-j", "0"])
    assert r.exit_code == 0, r.output
    (row,) = _export(db)
    assert row["started_at"] == row["ended_at"] == "2025-10-02T08:00:00Z"
    assert (row["prompts"], row["actions"]) == (2, 2)


# -- a byte order mark before a whole-file JSON document -------------------------------------------
@pytest.mark.parametrize(
    ("rel", "fmt"),
    [
        ("openhands/trajectory.json", "openhands"),
        ("swe_agent/run1/trajs/marshmallow__marshmallow-42.traj", "swe_agent"),
        ("swe_agent/function_calling.traj", "swe_agent"),
    ],
)
def test_a_byte_order_mark_does_not_hide_a_whole_file_transcript(tmp_path: Path, rel: str, fmt: str) -> None:
    """These detectors ask whether the document starts with '[' or '{': a Windows editor's BOM made the answer no,
    and ingest skipped the file without a word (its parser reads it fine)."""
    src = FIX / rel
    f = tmp_path / src.name
    f.write_bytes(b"\xef\xbb\xbf" + src.read_bytes())
    parser = base.detect(f)
    assert parser is not None and parser.name == fmt
    store = Store(tmp_path / "c.duckdb")
    st = ingest(store, [f], workers=0)
    assert (st.files_parsed, st.files_failed) == (1, 0)
    assert store.one("SELECT count(*) FROM session_files")[0] == 1  # type: ignore[index]
    store.close()


# -- Codex cumulative token totals -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "key", "value", "expected"),
    [
        # beyond 64 bits: taken as a counter reset, the next total (300/30) was counted whole again: 40 output tokens
        (5, "input_tokens", 10**30, (250, 30)),
        # negative: a 'reset' too, so input 100 + 300 - 50 = 350; the damaged last total is now left out
        (8, "output_tokens", -30, (100, 10)),
    ],
)
def test_a_damaged_codex_total_is_a_damaged_line_not_a_counter_reset(
    tmp_path: Path, line: int, key: str, value: int, expected: tuple[int, int]
) -> None:
    lines = _codex_lines()
    lines[line]["payload"]["info"]["total_token_usage"][key] = value
    _write_codex(tmp_path / "t", lines)
    db = tmp_path / "c.duckdb"
    assert runner.invoke(app, ["ingest", str(tmp_path / "t"), "--db", str(db), "-j", "0"]).exit_code == 0
    (row,) = _export(db)
    assert (row["input_tokens"], row["output_tokens"]) == expected
    assert row["bad_lines"] == 1


def test_a_sound_codex_session_counts_by_hand(tmp_path: Path) -> None:
    """Taxonomy §1 on the small rollout: 2 prompts, 2 actions, 4 visible words + 3 (ls command) + 3 (patch)."""
    _write_codex(tmp_path / "t", _codex_lines())
    db = tmp_path / "c.duckdb"
    assert runner.invoke(app, ["ingest", str(tmp_path / "t"), "--db", str(db), "-j", "0"]).exit_code == 0
    (row,) = _export(db)
    assert (row["prompts"], row["actions"], row["visible_words"], row["output_words"]) == (2, 2, 4, 10)
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"], row["bad_lines"]) == (250, 50, 30, 0)


# -- a whole-file transcript cut short after an earlier run stored it ------------------------------
WHOLE = [
    ("gemini_cli/.gemini/tmp/5f2b9c0e1d/chats/session-2025-10-01T10-00-ab12cd34.json", "gemini_cli"),
    ("openhands/trajectory.json", "openhands"),
    ("swe_agent/function_calling.traj", "swe_agent"),
    ("mini_swe_agent/flat/astropy__astropy-7.traj.json", "mini_swe_agent"),
]


@pytest.mark.parametrize(("rel", "fmt"), WHOLE, ids=[f for _, f in WHOLE])
def test_a_whole_file_transcript_cut_short_keeps_its_stored_session(tmp_path: Path, rel: str, fmt: str) -> None:
    """These files are rewritten whole (Gemini CLI on every turn): one caught mid-write, or left cut short by a
    crash, replaced the session an earlier run stored by none (0 sessions in the database, a 'damaged line' the
    only trace). Now the file fails with its name and the decoder's line and column, the stored session stays,
    and the complete file is read again next run."""
    src = FIX / rel
    f = tmp_path / "t" / src.name
    f.parent.mkdir()
    shutil.copyfile(src, f)
    store = Store(tmp_path / "c.duckdb")
    st = ingest(store, [tmp_path / "t"], workers=0, settle_s=0)
    assert (st.files_parsed, st.files_failed, st.by_source) == (1, 0, {fmt: 1})
    before = store.con.execute("SELECT session_key, records FROM session_files ORDER BY 1").fetchall()
    assert before

    whole = f.read_bytes()
    f.write_bytes(whole[: len(whole) // 2])
    os.utime(f, ns=(f.stat().st_mtime_ns + 10**9,) * 2)
    st = ingest(store, [tmp_path / "t"], workers=0, settle_s=0)
    assert (st.files_parsed, st.files_failed) == (0, 1)
    assert str(f) in st.errors[0] and "line " in st.errors[0] and "kept" in st.errors[0]
    assert store.con.execute("SELECT session_key, records FROM session_files ORDER BY 1").fetchall() == before

    f.write_bytes(whole)
    os.utime(f, ns=(f.stat().st_mtime_ns + 2 * 10**9,) * 2)
    st = ingest(store, [tmp_path / "t"], workers=0, settle_s=0)
    assert (st.files_parsed, st.files_failed) == (1, 0)
    assert store.con.execute("SELECT session_key, records FROM session_files ORDER BY 1").fetchall() == before
    store.close()


def test_a_whole_file_transcript_cut_short_on_its_first_reading_is_stored_as_damaged(tmp_path: Path) -> None:
    """Nothing stored before: the file is committed as read (no session, its damage logged with file and line), as
    before, so an ingest of a corpus holding one abandoned cut-short trajectory does not fail every run."""
    src = FIX / "openhands" / "trajectory.json"
    f = tmp_path / "t" / src.name
    f.parent.mkdir()
    f.write_bytes(src.read_bytes()[:500])
    store = Store(tmp_path / "c.duckdb")
    st = ingest(store, [tmp_path / "t"], workers=0, settle_s=0)
    assert (st.files_parsed, st.files_failed, st.bad_lines) == (1, 0, 1)
    (path, line, kind) = store.one("SELECT path, line, kind FROM ingest_log")  # type: ignore[misc]
    assert (path, line, kind) == (str(f), 1, "bad_json")
    store.close()


# -- implausible instants (epoch 0, a reset clock, far ahead) --------------------------------------
def _log(db: Path) -> list[tuple[Any, ...]]:
    store = Store(db)
    try:
        return store.con.execute("SELECT kind, count FROM ingest_log ORDER BY kind").fetchall()
    finally:
        store.close()


@pytest.mark.parametrize("ts", ["1970-01-01T00:00:00.000Z", "2019-12-31T23:59:59Z", "2099-06-01T00:00:00Z"])
def test_an_implausible_instant_is_no_time(tmp_path: Path, ts: str) -> None:
    """One Codex line stamped 1970-01-01 (epoch 0) made the session 55 years long and counted it in January 1970; no
    coding agent wrote a transcript before 2020, and none is stamped decades ahead. Now such a time is none (the
    line's rows are kept), and the file's ingest_log says so once."""
    assert parse_ts(ts) is None
    _write_codex(tmp_path / "t", _codex_lines(ts2=ts))
    db = tmp_path / "c.duckdb"
    assert runner.invoke(app, ["ingest", str(tmp_path / "t"), "--db", str(db), "-j", "0"]).exit_code == 0
    (row,) = _export(db)
    assert (row["started_at"], row["ended_at"], row["duration_s"]) == ("2025-10-02T08:00:00Z",) * 2 + (0.0,)
    assert (row["prompts"], row["actions"], row["visible_words"], row["bad_lines"]) == (2, 2, 4, 0)
    assert ("bad_time", 5) in _log(db)  # five lines carry ts2


def test_plausible_times_keep_their_values() -> None:
    """The bounds: 2020-01-01 is the first plausible instant; an old-but-plausible 2021 time is kept, in any form."""
    assert parse_ts("2020-01-01T00:00:00Z") == 1_577_836_800_000
    assert parse_ts("2019-12-31T23:59:59.999Z") is None
    assert parse_ts("2021-03-04T05:06:07Z") == parse_ts(1614834367) == parse_ts(1614834367000) == 1614834367000
    assert parse_ts(0) is parse_ts(1) is parse_ts(-5) is parse_ts(10**17) is None


def test_an_epoch_zero_in_cline_is_no_time(tmp_path: Path) -> None:
    """Cline stamps each message with epoch ms: a message with "ts": 0 started the task in 1970."""
    src = FIX / "cline" / "saoudrizwan.claude-dev" / "tasks" / "1733000000000"
    task = tmp_path / "saoudrizwan.claude-dev" / "tasks" / "1733000000000"
    shutil.copytree(src, task)
    msgs = json.loads((task / "ui_messages.json").read_text())
    sound = tmp_path / "sound.duckdb"
    assert runner.invoke(app, ["ingest", str(tmp_path / "saoudrizwan.claude-dev"), "--db", str(sound), "-j", "0"]).exit_code == 0
    msgs[2]["ts"] = 0
    (task / "ui_messages.json").write_text(json.dumps(msgs))
    db = tmp_path / "c.duckdb"
    assert runner.invoke(app, ["ingest", str(tmp_path / "saoudrizwan.claude-dev"), "--db", str(db), "-j", "0"]).exit_code == 0
    (row,) = _export(db)
    (want,) = _export(sound)
    assert row["started_at"] == want["started_at"] == "2024-11-30T20:53:20Z"
    assert (row["ended_at"], row["duration_s"], row["prompts"]) == (want["ended_at"], want["duration_s"], want["prompts"])
    assert ("bad_time", 1) in _log(db)


def test_an_epoch_zero_in_claude_code_is_no_time(tmp_path: Path) -> None:
    """Claude Code's fast timestamp path too (a 1970 minute is a valid 'YYYY-MM-DDTHH:MM:' prefix)."""
    sid = "44444444-4444-4444-8444-444444444444"
    env = {"sessionId": sid, "cwd": "/w", "version": "2.0.1"}
    lines = [
        {**env, "type": "user", "uuid": "u1", "timestamp": "2025-10-02T08:00:00.000Z",
         "message": {"role": "user", "content": "alpha beta"}},
        {**env, "type": "assistant", "uuid": "a1", "parentUuid": "u1", "timestamp": "1970-01-01T00:00:00.000Z",
         "message": {"id": "m1", "role": "assistant", "model": "claude-x", "content": [{"type": "text", "text": "ok"}]}},
        {**env, "type": "assistant", "uuid": "a2", "parentUuid": "a1", "timestamp": "1970-01-01T00:00:01.000Z",
         "message": {"id": "m2", "role": "assistant", "model": "claude-x", "content": [{"type": "text", "text": "ok"}]}},
        {**env, "type": "user", "uuid": "u2", "parentUuid": "a2", "timestamp": "2025-10-02T08:01:00.000Z",
         "message": {"role": "user", "content": "gamma"}},
    ]
    d = tmp_path / "projects" / "-w"
    d.mkdir(parents=True)
    (d / f"{sid}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    db = tmp_path / "c.duckdb"
    assert runner.invoke(app, ["ingest", str(tmp_path / "projects"), "--db", str(db), "-j", "0"]).exit_code == 0
    (row,) = _export(db)
    assert (row["started_at"], row["ended_at"], row["prompts"]) == ("2025-10-02T08:00:00Z", "2025-10-02T08:01:00Z", 2)
    assert ("bad_time", 2) in _log(db)


def test_an_old_but_plausible_aider_log_keeps_its_times(tmp_path: Path) -> None:
    """A 2021 Aider history is old, not damaged: its session keeps its day, and nothing is noted."""
    d = tmp_path / "repo"
    d.mkdir()
    text = (FIX / "aider" / ".aider.chat.history.md").read_text()
    (d / ".aider.chat.history.md").write_text(text.replace("2025-05-0", "2021-05-0"))
    db = tmp_path / "c.duckdb"
    assert runner.invoke(app, ["ingest", str(d), "--db", str(db), "-j", "0"]).exit_code == 0
    rows = _export(db)
    assert sorted(r["started_at"][:10] for r in rows) == ["2021-05-04", "2021-05-05"]
    assert not [k for k, _ in _log(db) if k == "bad_time"]


# -- invalid UTF-8 in a whole-file JSON transcript -------------------------------------------------
def _shape(db: Path) -> list[tuple[Any, ...]]:
    return sorted((r["session_id"], r["prompts"], r["actions"], r["started_at"], r["ended_at"]) for r in _export(db))


@pytest.mark.parametrize(("rel", "fmt"), WHOLE, ids=[f for _, f in WHOLE])
def test_invalid_utf8_in_a_whole_file_transcript_keeps_its_session(tmp_path: Path, rel: str, fmt: str) -> None:
    """Bytes that are not UTF-8 inside one message made the whole document unreadable ('str is not valid UTF-8',
    reported as a damaged line 1) and its session was lost, where JSON Lines loses only that line. Now they are
    read as U+FFFD: the same sessions as the sound file, and one 'bad_text' note."""
    src = FIX / rel
    sound, bad = tmp_path / "sound", tmp_path / "bad"
    for d in (sound, bad):
        d.mkdir()
        shutil.copyfile(src, d / src.name)
    whole = src.read_bytes()
    i = whole.index(b'"content": "') + len(b'"content": "')
    (bad / src.name).write_bytes(whole[:i] + b"\xff\xfe caf\xe9 " + whole[i:])
    for d in (sound, bad):
        assert runner.invoke(app, ["ingest", str(d), "--db", str(d / "c.duckdb"), "-j", "0"]).exit_code == 0
    # an id made from the file's id (a format that records none: named_session_id) names the file's path
    def same_file(shape: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [(re.sub(rf"^{fmt}-[0-9a-f]{{12}}$", f"{fmt}-<file id>", r[0]), *r[1:]) for r in shape]

    assert same_file(_shape(bad / "c.duckdb")) == same_file(_shape(sound / "c.duckdb")) != []
    log, clean = _log(bad / "c.duckdb"), _log(sound / "c.duckdb")
    assert sorted([*clean, ("bad_text", 1)]) == log


def test_invalid_utf8_in_cline_keeps_its_task(tmp_path: Path) -> None:
    src = FIX / "cline" / "saoudrizwan.claude-dev" / "tasks" / "1733000000000"
    task = tmp_path / "saoudrizwan.claude-dev" / "tasks" / "1733000000000"
    shutil.copytree(src, task)
    db = tmp_path / "c.duckdb"
    assert runner.invoke(app, ["ingest", str(task.parent.parent), "--db", str(db), "-j", "0"]).exit_code == 0
    want = _shape(db)
    ui = task / "ui_messages.json"
    ui.write_bytes(ui.read_bytes().replace(b"dark mode", b"dark \xc3 mode", 1))
    db2 = tmp_path / "c2.duckdb"
    assert runner.invoke(app, ["ingest", str(task.parent.parent), "--db", str(db2), "-j", "0"]).exit_code == 0
    assert _shape(db2) == want
    assert ("bad_text", 1) in _log(db2)


def test_invalid_utf8_in_json_lines_still_loses_only_its_line(tmp_path: Path) -> None:
    """JSON Lines are unchanged: the line with the bytes is a damaged line, the others are read."""
    f = _write_codex(tmp_path / "t", _codex_lines())
    lines = f.read_bytes().split(b"\n")
    lines[4] = lines[4].replace(b"one two", b"one \xff two")
    f.write_bytes(b"\n".join(lines))
    db = tmp_path / "c.duckdb"
    assert runner.invoke(app, ["ingest", str(tmp_path / "t"), "--db", str(db), "-j", "0"]).exit_code == 0
    (row,) = _export(db)
    assert (row["prompts"], row["actions"], row["visible_words"], row["bad_lines"]) == (2, 2, 0, 1)
    assert [k for k, _ in _log(db)] == ["bad_json"]


# -- a Cline task whose conversation files were caught cut short ------------------------------------
@pytest.mark.parametrize("cut", [("ui_messages.json", "api_conversation_history.json"), ("ui_messages.json",)])
def test_a_cline_task_cut_short_keeps_its_stored_session(tmp_path: Path, cut: tuple[str, ...]) -> None:
    """Cline rewrites ui_messages.json and api_conversation_history.json whole: both caught cut short replaced the
    stored session by an empty one (0 prompts, 0 actions, 0 records; two 'damaged lines' the only trace). Now the
    task fails with both files' decoder errors, the stored session stays, and the complete task is read again."""
    src = FIX / "cline" / "saoudrizwan.claude-dev" / "tasks" / "1733000000000"
    root = tmp_path / "saoudrizwan.claude-dev"
    task = root / "tasks" / "1733000000000"
    shutil.copytree(src, task)
    if len(cut) == 1:  # a task with only ui_messages.json
        (task / "api_conversation_history.json").unlink()
    store = Store(tmp_path / "c.duckdb")
    st = ingest(store, [root], workers=0, settle_s=0)
    assert (st.files_parsed, st.files_failed) == (1, 0)
    q = "SELECT session_key, records FROM session_files ORDER BY 1"
    before = store.con.execute(q).fetchall()
    assert before and before[0][1] > 0

    whole = {name: (task / name).read_bytes() for name in cut}
    for name, data in whole.items():
        (task / name).write_bytes(data[: len(data) // 2])
        os.utime(task / name, ns=((task / name).stat().st_mtime_ns + 10**9,) * 2)
    st = ingest(store, [root], workers=0, settle_s=0)
    assert (st.files_parsed, st.files_failed) == (0, 1)
    assert all(name in st.errors[0] for name in cut) and "kept" in st.errors[0]
    assert store.con.execute(q).fetchall() == before

    for name, data in whole.items():
        (task / name).write_bytes(data)
        os.utime(task / name, ns=((task / name).stat().st_mtime_ns + 2 * 10**9,) * 2)
    st = ingest(store, [root], workers=0, settle_s=0)
    assert (st.files_parsed, st.files_failed) == (1, 0)
    assert store.con.execute(q).fetchall() == before
    store.close()


def test_a_cline_task_with_one_sound_conversation_file_is_read_from_it(tmp_path: Path) -> None:
    """Only ui_messages.json cut short: the task is read from api_conversation_history.json, as before."""
    src = FIX / "cline" / "saoudrizwan.claude-dev" / "tasks" / "1733000000000"
    root = tmp_path / "saoudrizwan.claude-dev"
    task = root / "tasks" / "1733000000000"
    shutil.copytree(src, task)
    ui = task / "ui_messages.json"
    ui.write_bytes(ui.read_bytes()[:300])
    store = Store(tmp_path / "c.duckdb")
    st = ingest(store, [root], workers=0, settle_s=0)
    assert (st.files_parsed, st.files_failed) == (1, 0)
    assert store.one("SELECT count(*) FROM prompts")[0] > 0  # type: ignore[index]
    store.close()


# -- a database that already holds an out-of-range time ---------------------------------------------
def test_an_old_database_with_an_out_of_range_time_still_exports_and_classifies(tmp_path: Path) -> None:
    """A database written before parse_ts bounded ISO times holds '9999-12-31T23:59:59-05:00' (year 10000 UTC):
    `codecensus sessions --format jsonl` and `codecensus classify` failed on it with a traceback ('date value out
    of range'), for good, since nothing re-reads an unchanged file. Readers now take such a time as none."""
    _write_codex(tmp_path / "t", _codex_lines())
    db = tmp_path / "c.duckdb"
    assert runner.invoke(app, ["ingest", str(tmp_path / "t"), "--db", str(db), "-j", "0"]).exit_code == 0
    store = Store(db)
    far = "'9999-12-31 23:59:59-05:00'::TIMESTAMPTZ"
    store.con.execute(f"UPDATE session_files SET last_ts = {far}")
    store.con.execute(f"UPDATE sessions SET ended_at = {far}")
    store.close()
    (row,) = _export(db)
    assert (row["started_at"], row["ended_at"], row["prompts"]) == ("2025-10-02T08:00:00Z", None, 2)
    r = runner.invoke(app, ["sessions", "--db", str(db), "--format", "csv"])
    assert r.exit_code == 0 and "2025-10-02" in r.output
    r = runner.invoke(app, ["classify", "--db", str(db), "-j", "0"])
    assert r.exit_code == 0, r.output
    store = Store(db)
    assert store.one("SELECT count(*) FROM facets")[0] == 1  # type: ignore[index]
    store.close()


def test_readable_times_leaves_readable_tables_alone() -> None:
    import datetime as dt

    import pyarrow as pa

    from codecensus.store import readable_times

    t = pa.table({"t": pa.array([0, None, 253_402_300_799_999_999], pa.timestamp("us", tz="UTC")), "n": [1, 2, 3]})
    assert readable_times(t) is t
    bad = pa.table({"t": pa.array([0, 253_402_300_800_000_000, -62_135_596_800_000_001], pa.timestamp("us"))})
    assert readable_times(bad).column("t").to_pylist() == [dt.datetime(1970, 1, 1), None, None]


def test_ray_workers_keep_a_stored_whole_file_transcript_that_was_cut_short(tmp_path: Path) -> None:
    """The same under --engine ray: its workers (engine.tasks.parse_files) returned the cut file as parsed, so the
    driver replaced the stored session by none. Now a file the store already holds (``replace``) fails and its
    rows are kept; a file met for the first time is still stored as damaged."""
    from codecensus.engine.fs import FileSpec
    from codecensus.engine.tasks import parse_files

    rel, fmt = WHOLE[0]
    f = tmp_path / "t" / Path(rel).name
    f.parent.mkdir()
    whole = (FIX / rel).read_bytes()
    f.write_bytes(whole[: len(whole) // 2])
    st = f.stat()

    def row(replace: bool) -> dict[str, object]:
        spec = FileSpec(url=str(f), local=True, user=None, size=st.st_size, mtime_ns=st.st_mtime_ns, parser=fmt,
                        file_id="f1", replace=replace)
        return parse_files([spec.row()], out=str(tmp_path / f"out{int(replace)}"), salt="",
                           settle_s=0).to_pylist()[0]

    stored = row(replace=True)
    assert stored["status"] == "failed" and "kept" in str(stored["error"])
    first = row(replace=False)
    assert first["status"] == "parsed" and first["bad_lines"] == 1


# -- a reused Codex call_id ------------------------------------------------------------------------
def test_codex_calls_under_a_reused_call_id_count_once_each(tmp_path: Path) -> None:
    """Providers that mint per-turn ids (``call_0``) reuse a call_id on later, different calls: measure's
    once-per-id rule (meant for copied lines) merged them, 3 calls counted as 1 and the failing pytest's
    output paired with the ls. Now 3 actions; a repeated line of a call still waiting for its output, and a
    second copy of the whole file under the same session, still count once."""
    ts = "2025-10-02T08:00:00.000Z"

    def call(cmd: str) -> dict[str, Any]:
        return {"timestamp": ts, "type": "response_item", "payload": {
            "type": "function_call", "name": "shell", "arguments": json.dumps({"command": ["bash", "-lc", cmd]}),
            "call_id": "call_0"}}

    def out(code: int) -> dict[str, Any]:
        return {"timestamp": ts, "type": "response_item", "payload": {
            "type": "function_call_output", "call_id": "call_0",
            "output": json.dumps({"output": "x", "metadata": {"exit_code": code}})}}

    lines = _codex_lines()[:3] + [
        call("ls"), call("ls"), out(0),  # the repeated line is a copy: one call
        call("pytest -q"), out(1),  # a different call under the same id
        call("ls"), out(0),  # the same command again after its output: a new call
    ]
    f = _write_codex(tmp_path / "t", lines)
    archived = tmp_path / "t" / "archived"
    archived.mkdir()
    shutil.copyfile(f, archived / f.name)
    db = tmp_path / "c.duckdb"
    assert runner.invoke(app, ["ingest", str(tmp_path / "t"), "--db", str(db), "-j", "0"]).exit_code == 0
    (row,) = _export(db)
    assert (row["actions"], row["commands"], row["test_runs"], row["test_failures"]) == (3, 3, 1, 1)
    # the failing call's result counts once too (before: once per copy of the file, tool_errors 2)
    assert row["tool_errors"] == 1
