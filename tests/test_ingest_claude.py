"""Claude Code ingestion: the prompt rule, dedup, subagents, damaged lines, exact session shape."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from codecensus.export import session_table
from codecensus.ingest import ingest
from codecensus.measure import SESSION_COLUMNS, build_sessions
from codecensus.store import Store

from ccbuild import Session, standard_session

SID = "11111111-1111-4111-8111-111111111111"


def _run(store: Store, root: Path, **kw) -> dict:
    stats = ingest(store, [root], settle_s=0, **kw)
    assert stats.files_failed == 0, stats.errors
    build_sessions(store)
    rows = session_table(store).to_pylist()
    return {r["session_id"]: r for r in rows}


def test_active_time_from_turn_durations_or_idle_capped_gaps(tmp_path: Path, store: Store) -> None:
    """active_s: the sum of turn durations where a session records them, else its gaps capped at 300 s."""
    proj = tmp_path / "alice" / ".claude" / "projects" / "-home-dev-app"
    standard_session(SID).write(proj / f"{SID}.jsonl")  # turn durations of 30 s and 20 s
    other = "99999999-9999-4999-8999-999999999999"
    s = Session(other, version="1.0.80")
    s.prompt("list the files")  # t0 + 5
    s.reply("Here they are.")  # + 5
    s.t += 1000
    s.prompt("and the hidden ones?")  # + 1,005: capped at 300
    s.reply("Done.")  # + 5
    s.write(proj / f"{other}.jsonl")
    rows = _run(store, tmp_path, user_from_dir=True)
    assert rows[SID]["active_s"] == 50.0
    assert rows[other]["active_s"] == 310.0


def test_standard_session_shape(tmp_path: Path, store: Store) -> None:
    proj = tmp_path / "alice" / ".claude" / "projects" / "-home-dev-app"
    standard_session(SID).write(proj / f"{SID}.jsonl", damaged=['{"type":"user","message":{"content":"trunc', "[1,2]"])
    rows = _run(store, tmp_path, user_from_dir=True)
    r = rows[SID]
    assert r["prompts"] == 3
    assert r["actions"] == 6
    assert r["actions_per_prompt"] == 2.0
    assert r["visible_words"] == 4  # "Let me look." + "Running."; the synthetic API error is excluded
    assert r["output_words"] == 4 + 21  # + every word written through tool inputs
    assert r["words_per_prompt"] == 25 / 3
    assert r["interrupts"] == 2
    assert r["rejections"] == 1
    assert r["compactions"] == 1
    assert r["commits"] == 1
    assert r["pushes"] == 0  # the push was rejected
    assert r["test_runs"] == 2 and r["test_failures"] == 1
    assert r["files_read"] == 1 and r["files_edited"] == 1 and r["files_created"] == 0
    assert r["commands"] == 4
    assert r["tool_errors"] == 1
    assert r["output_tokens"] == 600  # last line of each message.id group, 6 responses
    assert r["input_tokens"] == 60
    assert r["active_s"] == 50.0
    assert r["bad_lines"] == 2
    assert r["models"] == "claude-sonnet-4-5-20250929"
    assert r["cost_usd"] > 0
    assert re.fullmatch(r"[0-9a-f]{16}", r["user"]) and re.fullmatch(r"[0-9a-f]{16}", r["project"])
    # damaged lines are logged with file and line; the unknown type is counted, not fatal
    log = store.query("SELECT path, line, kind, detail, count FROM ingest_log ORDER BY line").to_pylist()
    kinds = {(x["kind"], x["line"]) for x in log}
    n = len(standard_session("22222222-2222-4222-8222-222222222222").lines)
    assert ("bad_json", n + 1) in kinds and ("bad_record", n + 2) in kinds
    assert any(x["kind"] == "unknown_type" and x["detail"] == "brand-new-record-type" for x in log)
    assert all(x["path"].endswith(f"{SID}.jsonl") for x in log)


def test_export_columns_and_no_text(tmp_path: Path, store: Store) -> None:
    standard_session(SID).write(tmp_path / "p" / f"{SID}.jsonl")
    _run(store, tmp_path, user="bob")
    tbl = session_table(store)
    for c in SESSION_COLUMNS:
        assert c in tbl.column_names
    blob = orjson.dumps(tbl.to_pylist(), default=str).decode()
    for secret in ("bob", "/home/dev", "fix the failing", "Let me look", "pytest"):
        assert secret not in blob


def test_usage_last_line_wins_and_missing_request_id(tmp_path: Path, store: Store) -> None:
    s = Session(SID)
    s.prompt("hello there")
    s.reply("a b c", [("Bash", {"command": "ls"})], usage=(7, 300), request_id=None)
    s.reply("d", usage=(5, 40), split=False)
    s.write(tmp_path / f"{SID}.jsonl")
    r = _run(store, tmp_path)[SID]
    assert r["output_tokens"] == 340 and r["input_tokens"] == 12
    assert r["visible_words"] == 4 and r["actions"] == 1


def test_a_response_replayed_in_its_file_under_new_uuids_counts_its_words_once(tmp_path: Path, store: Store) -> None:
    """Four 2.0.x files of the shared samples replay part of their conversation: the same response (message id,
    request id, text) again under new uuids. Its usage was taken once (last line of the group) but its words
    twice: 658 visible words too many over 4 sessions, against a count written from the format notes."""
    s = Session(SID, version="2.0.29")
    s.prompt("explain the parser")
    s.reply("one two three", [("Read", {"file_path": "/a.py"})], usage=(5, 50))
    s.reply("four five", usage=(5, 20))
    first = [dict(r) for r in s.lines if r["type"] == "assistant"]
    for i, rec in enumerate(first):  # the replay: the same responses, new uuids and parents
        s.raw({**rec, "uuid": f"99999999-0000-4000-8000-{i:012d}", "parentUuid": s.lines[-1]["uuid"]})
    s.reply("four five", usage=(5, 20))  # a new response that happens to say the same: counted
    s.write(tmp_path / f"{SID}.jsonl")
    r = _run(store, tmp_path)[SID]
    assert r["visible_words"] == 3 + 2 + 2 and r["actions"] == 1
    assert r["output_tokens"] == 50 + 20 + 20


def test_subagents_both_layouts_attach_and_never_count(tmp_path: Path, store: Store) -> None:
    proj = tmp_path / "projects" / "-x"
    main = Session(SID)
    main.prompt("use an agent to explore")
    (tid,) = main.reply(None, [("Task", {"description": "explore", "prompt": "look around"})])
    main.result(tid, "done", tur={"status": "completed", "agentId": "a1b2c3d", "totalToolUseCount": 4})
    (tid2,) = main.reply(None, [("Agent", {"description": "more", "prompt": "more"})])
    main.result(tid2, "done", tur={"status": "completed", "agentId": "abcdef0123456789a", "totalToolUseCount": 2})
    main.write(proj / f"{SID}.jsonl")
    # legacy flat agent file
    legacy = Session(SID, version="2.0.30")
    legacy.prompt("look around")
    # a sidechain file may replay the parent's message (its Task call) under a uuid of its own
    legacy.lines.append({**main.lines[1], "uuid": "0badc0de-0000-4000-8000-000000000001"})
    legacy.reply(None, [("Grep", {"pattern": "foo"}), ("Read", {"file_path": "/a"}), ("Glob", {"pattern": "*"}),
                        ("Read", {"file_path": "/b"})])
    for rec in legacy.lines:
        rec["isSidechain"] = True
        rec["agentId"] = "a1b2c3d"
    legacy.write(proj / "agent-a1b2c3d.jsonl")
    # new layout, meta.json beside it
    new = Session(SID)
    new.prompt("more")
    new.reply("ok", [("Bash", {"command": "ls"}), ("Read", {"file_path": "/c"})])
    for rec in new.lines:
        rec["isSidechain"] = True
        rec["agentId"] = "abcdef0123456789a"
    new.write(proj / SID / "subagents" / "agent-abcdef0123456789a.jsonl")
    (proj / SID / "subagents" / "agent-abcdef0123456789a.meta.json").write_text('{"agentType":"general-purpose"}')
    rows = _run(store, tmp_path)
    assert list(rows) == [SID]  # subagent files are never sessions
    r = rows[SID]
    assert r["prompts"] == 1  # the subagents' task prompts are not human prompts
    assert r["actions"] == 2
    assert r["subagents"] == 2
    assert r["subagent_actions"] == 6  # the replayed Task call is the parent's, counted once in `actions`


def test_subagent_file_replaying_the_main_history_leaves_it_to_the_main_file(tmp_path: Path, store: Store) -> None:
    """A subagent file that starts with copies of the main transcript's lines (same uuids, same timestamps) and ends
    first: the copies still count in the main transcript, and only the subagent's own call in subagent_actions."""
    proj = tmp_path / "projects" / "-x"
    main = Session(SID)
    main.prompt("go")
    (t1,) = main.reply(None, [("Bash", {"command": "ls"})])
    main.result(t1, "ok")
    n_copied = len(main.lines)
    (t2,) = main.reply(None, [("Read", {"file_path": "/a"})])
    main.result(t2, "1 x")
    main.t += 3600  # the main session goes on long after the subagent ended
    (t3,) = main.reply(None, [("Edit", {"file_path": "/a", "old_string": "x", "new_string": "y"})])
    main.result(t3, "ok")
    main.write(proj / f"{SID}.jsonl")
    sub = Session(SID, t0=main.t - 3600 - 60)
    sub.lines = [{**rec, "isSidechain": True, "agentId": "feed01"} for rec in main.lines[:n_copied]]
    sub.parent = sub.lines[-1]["uuid"]
    sub.t = 1767225600 + 100
    sub.reply(None, [("Grep", {"pattern": "x"})])
    sub.write(proj / SID / "subagents" / "agent-feed01.jsonl")
    r = _run(store, tmp_path)[SID]
    assert r["actions"] == 3
    assert r["subagent_actions"] == 1


@pytest.mark.parametrize("sid2", ["33333333-3333-4333-8333-333333333333", "00000000-0000-4000-8000-000000000000"])
def test_resumed_copy_counted_once(tmp_path: Path, store: Store, sid2: str) -> None:
    """The copies count in the original session, whichever file's name sorts first (the copies carry the original
    timestamps, so both files start at the same moment: the one that ends first is the original)."""
    a = Session(SID, t0=1767225600)
    a.prompt("first prompt")
    a.reply("one", [("Bash", {"command": "ls"})])
    a.write(tmp_path / f"{SID}.jsonl")
    b = Session(sid2, t0=1767229200)
    b.lines = [dict(x) for x in a.lines]  # older versions copied the history into the new file
    b.parent = a.parent
    b.prompt("second prompt")
    b.reply("two", [("Bash", {"command": "pwd"})])
    b.write(tmp_path / f"{sid2}.jsonl")
    rows = _run(store, tmp_path)
    assert rows[SID]["prompts"] == 1 and rows[SID]["actions"] == 1
    assert rows[sid2]["prompts"] == 1 and rows[sid2]["actions"] == 1
    # the resumed session starts at its own first row, not at the copied history's (an hour earlier)
    assert rows[sid2]["started_at"] == datetime.fromtimestamp(1767229200 + 5, UTC)
    assert rows[sid2]["duration_s"] == 10.0  # its prompt at +5 s, its reply's two lines at +10 and +15 s
    assert rows[SID]["started_at"] == datetime.fromtimestamp(1767225600 + 5, UTC)


def test_last_tool_result_in_file_rank_order(tmp_path: Path, store: Store) -> None:
    """A session continued in a second file that repeats a call's result under a new uuid: the call's outcome is
    the result last in (file rank, line) order, the order classify's evidence reads, not the highest line number."""
    a = Session(SID, t0=1767225600)
    a.prompt("edit the config")
    (tid,) = a.reply(None, [("Edit", {"file_path": "/home/dev/app/config.toml", "old_string": "a", "new_string": "b"})])
    for _ in range(6):  # push the failed result to a high line number
        a.system("informational", content="x")
    a.result(tid, "Error: file changed on disk", is_error=True)
    a.write(tmp_path / f"{SID}.jsonl")
    b = Session(SID, t0=1767229200)  # the same session continued in a later file (ranks after the first)
    b.result(tid, "The file has been updated.")
    b.write(tmp_path / "zzzz-continued.jsonl")
    r = _run(store, tmp_path)[SID]
    assert r["files_edited"] == 1


def test_sidechain_lines_in_main_file_are_not_main_work(tmp_path: Path, store: Store) -> None:
    s = Session(SID)
    s.prompt("real prompt")
    s.reply("x", [("Bash", {"command": "ls"})])
    s.prompt("replayed sidechain prompt")
    s.lines[-1]["isSidechain"] = True
    s.write(tmp_path / f"{SID}.jsonl")
    r = _run(store, tmp_path)[SID]
    assert r["prompts"] == 1


def test_system_reminder_and_images(tmp_path: Path, store: Store) -> None:
    s = Session(SID)
    s.prompt("<system-reminder>injected</system-reminder>")
    s.user_blocks([{"type": "text", "text": "<system-reminder>x</system-reminder>\nreal words here"},
                   {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}])
    s.write(tmp_path / f"{SID}.jsonl")
    r = _run(store, tmp_path)[SID]
    assert r["prompts"] == 1
    assert store.one("SELECT text FROM prompts")[0] == "real words here"


def test_active_time_stays_within_the_sessions_span(tmp_path: Path, store: Store) -> None:
    """active_s <= duration_s: 20 of 342 real Claude Code sessions had active_s above duration_s by float noise (the
    epoch difference 21.50499999 s against the rounded 21.505 s), and a recorded turn can outlast the timestamps."""
    proj = tmp_path / "alice" / ".claude" / "projects" / "-home-dev-app"
    sids = [f"{i:08d}-1111-4111-8111-111111111111" for i in range(12)]
    for i, sid in enumerate(sids):
        s = Session(sid, t0=1767225600 + 977 * i)
        s.prompt("list the files")
        s.reply("Here they are.")
        s.prompt("and the hidden ones?")
        s.reply("Done.")
        if i == 0:  # one turn recorded as longer than the whole session's timestamps span (15 s)
            s.system("turn_duration", durationMs=60000)
        for k, line in enumerate(s.lines):  # millisecond timestamps, as real transcripts have them
            line["timestamp"] = line["timestamp"].replace(".000Z", f".{(123 + 389 * k + 71 * i) % 1000:03d}Z")
        s.write(proj / f"{sid}.jsonl")
    rows = _run(store, tmp_path, user_from_dir=True)
    assert len(rows) == len(sids)
    for r in rows.values():
        assert 0 < r["active_s"] <= r["duration_s"], (r["active_s"], r["duration_s"])
        assert r["duration_s"] == round(r["duration_s"], 3)
    assert rows[sids[0]]["active_s"] == rows[sids[0]]["duration_s"]  # the 60 s turn, bounded by the span
