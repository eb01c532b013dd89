"""The fast Claude Code path: typed decoding must give exactly the rows of the generic (dict) path.

Also: the block line reader, the timestamp fast path, chunked parsing with per-file slices, and
the parser processes (same database as in-process parsing; a dead process fails only its files).
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import random
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from codecensus.ingest import ingest
from codecensus.measure import build_sessions
from codecensus.records import ROW_TYPES, ParseResult, share_tables, split_tables
from codecensus.sources import claude_code
from codecensus.sources.base import FileContext, ParserPool, iter_line_blocks, iter_lines
from codecensus.sources.common import TS_PLAUSIBLE_MAX_MS, TS_PLAUSIBLE_MIN_MS, parse_ts
from codecensus.store import Store

from ccbuild import Session, standard_session

SHARED = Path(os.environ.get("CODECENSUS_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SID = "33333333-3333-4333-8333-333333333333"

# Lines of odd shapes: each must go through the generic path (or give the same rows on the fast one).
_ENV = {"sessionId": SID, "cwd": "/w", "version": "2.0.1", "timestamp": "2026-01-01T00:00:01.500Z"}
ODD: list[Any] = [
    {**_ENV, "type": "user", "uuid": "u1", "message": {"role": "user", "content": "plain prompt here"}},
    {**_ENV, "type": "user", "uuid": "u2", "message": {"content": ["bare string block", {"type": "text", "text": "x y"}]}},
    {**_ENV, "type": "user", "uuid": "u3", "message": "not an object"},
    {**_ENV, "type": "user", "uuid": 7, "message": {"content": "uuid is a number"}},
    {**_ENV, "type": "assistant", "uuid": "a1", "version": 3, "message": {"id": "m1", "model": "claude-x",
     "usage": {"input_tokens": 5.0, "output_tokens": True}, "content": "string content reply"}},
    {**_ENV, "type": "assistant", "uuid": "a2", "message": {"id": "m2", "usage": [1, 2], "content": [
        {"type": "tool_use", "id": "t1", "name": "Bash", "input": "not a dict"}]}},
    {**_ENV, "type": "assistant", "uuid": "a3", "isSidechain": 1, "message": {"id": "m3", "content": [
        {"type": "tool_use", "id": "t2", "name": "Write", "input": {"file_path": "/w/a.py", "content": "a b\u00a0c",
                                                                    "nested": [{"k": "d e"}, 3, None]}},
        {"type": "thinking", "thinking": "hidden words"}, {"type": "text", "text": 12}]}},
    {**_ENV, "type": "user", "uuid": "u4", "toolUseResult": 5, "message": {"content": [
        {"type": "tool_result", "tool_use_id": "t2", "content": [{"type": "text", "text": "ok"}, "tail"]}]}},
    {**_ENV, "type": "user", "uuid": "u5", "toolUseResult": ["a", 1], "message": {"content": [
        {"type": "tool_result", "tool_use_id": "t1", "is_error": "yes", "content": "Exit code 2\nboom"}]}},
    {**_ENV, "type": "user", "uuid": "u6", "toolUseResult": {"type": "create", "stdout": 3, "agentId": "ag",
                                                          "totalToolUseCount": True, "interrupted": 1},
     "message": {"content": [{"type": "tool_result", "tool_use_id": "t9", "content": {"text": "dict content"}}]}},
    {**_ENV, "type": "system", "subtype": "turn_duration", "durationMs": True, "uuid": "s1"},
    {**_ENV, "type": "system", "subtype": "compact_boundary", "compactMetadata": [1], "uuid": "s2"},
    {**_ENV, "type": "system", "subtype": "compact_boundary", "compactMetadata": {"trigger": 0, "preTokens": 1e3}},
    {**_ENV, "type": "system", "subtype": "local_command", "content": ["not", "text"]},
    {**_ENV, "type": "system", "subtype": "local_command", "content": "<command-name>/cost</command-name>"},
    {**_ENV, "type": "queue-operation", "operation": {"op": "enqueue"}},
    {**_ENV, "type": 5},
    {**_ENV, "type": None},
    {"type": "summary", "summary": "s", "leafUuid": "zz", "timestamp": 1767225600},
    {**_ENV, "type": "progress", "timestamp": "2026-01-01T00:00:61.000Z", "data": {"big": "x" * 50}},
    {**_ENV, "type": "attachment", "timestamp": "2026-01-01 00:00:02.000Z"},
    {**_ENV, "type": "assistant", "timestamp": "2026-13-01T00:00:01.000Z", "message": {"id": "m9", "content": []}},
    [1, 2, 3],
    "just a string",
]
RAW_ODD = [
    b"",
    b"   ",
    b'{"type":"user","message":{"content":"trunc',
    b'\xef\xbb\xbf{"type":"user","message":{"content":"bom"}}',
    b'{"type":"user","message":{"content":"bad utf8 in unused field"},"other":"\xff\xfe"}',
    b'{"type":"user","message":{"content":"big int"},"other":123456789012345678901234567890}',
    b'{"type":"assistant","type":"user","message":{"content":"duplicate keys, last wins"}}',
    b'{"type":"user","message":{"content":"crlf line"}}\r',
    b'{"type":"user","message":{"content":"lone \\ud800 surrogate"}}',
]


def _parse(path: Path, **kw: Any) -> dict[str, list[dict[str, Any]]]:
    res = claude_code.PARSER.parse(FileContext(path=path, file_id="f" * 20, user="u", **kw))
    out = {name: tbl.to_pylist() for name, tbl in res.tables().items()}
    out["_meta"] = [{"consumed": res.consumed, "lines": res.lines}]
    return out


def _files(tmp_path: Path) -> list[Path]:
    files = []
    std = tmp_path / "std" / f"{SID}.jsonl"
    standard_session(SID).write(std, damaged=['{"type":"user","message":{"content":"trunc', "[1,2]"])
    files.append(std)
    odd = tmp_path / "odd" / f"{SID}.jsonl"
    odd.parent.mkdir(parents=True)
    odd.write_bytes(b"\n".join([orjson.dumps(r) for r in ODD] + RAW_ODD) + b"\n")
    files.append(odd)
    sub = tmp_path / "odd" / SID / "subagents" / "agent-abc.jsonl"
    sub.parent.mkdir(parents=True)
    sub.write_bytes(b"\n".join(orjson.dumps(r) for r in ODD[:12]))  # no final newline
    files.append(sub)
    if SHARED.is_dir():
        real = sorted((SHARED / "data" / "transcripts").glob("claude_code__*/**/*.jsonl"))
        files += real[:: max(1, len(real) // 40)]  # a spread of real generations
    return files


def test_fast_path_gives_the_generic_rows(tmp_path: Path) -> None:
    files = _files(tmp_path)
    fast = [_parse(f) for f in files]
    with claude_code.generic_path_only():
        generic = [_parse(f) for f in files]
    for f, a, b in zip(files, fast, generic, strict=True):
        for name in a:
            assert a[name] == b[name], f"{f.name}: table {name} differs"
    # the odd file really exercised both paths and reported its damaged lines
    odd = fast[1]
    assert {x["kind"] for x in odd["ingest_log"]} >= {"bad_json", "bad_record", "unknown_type"}
    assert sum(len(odd[c.TABLE]) for c in ROW_TYPES) > 10


def test_resume_from_offset_matches_generic(tmp_path: Path) -> None:
    f = _files(tmp_path)[0]
    lines = list(iter_lines(f, 0, 0, True))
    line_no, _raw, end = lines[len(lines) // 2]
    fast = _parse(f, start_offset=end, start_line=line_no, session_key=SID)
    with claude_code.generic_path_only():
        assert fast == _parse(f, start_offset=end, start_line=line_no, session_key=SID)
    assert fast["_meta"][0]["lines"] == len(lines)


def test_fast_timestamps_equal_parse_ts() -> None:
    rng = random.Random(5)
    for _ in range(20000):
        ms = rng.randrange(0, 4_102_444_800_000)
        s = dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
        got = claude_code._fast_ts(s)
        assert got == parse_ts(s)  # exactly, float truncation included (parse_ts can be 1 ms low)
        if TS_PLAUSIBLE_MIN_MS < ms < TS_PLAUSIBLE_MAX_MS:
            assert got is not None and ms - 1 <= got <= ms
        else:  # before 2020 or over a year ahead: no time, on both paths
            assert got is None
    for s in ("2025-13-01T00:00:00.000Z", "2025-02-30T00:00:00.000Z", "2025-01-01T00:00:60.000Z",
              "2025-01-01T00:00:0a.000Z", "2025-01-01T00:00:00.0a0Z", "2025-01-01 00:00:00.000Z",
              "2025-01-01T00:00:+5.000Z", "2025-01-01T00:00:05.+10Z", "2025-01-01T00:00:5 .100Z",
              "2025-01-01T00:00:05.123456Z", "2025-01-01T00:00:05Z", "20250101T000000.000000Z", "", "x" * 24):
        assert claude_code._fast_ts(s) == parse_ts(s), s


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("final", [True, False])
def test_line_blocks_equal_iter_lines(tmp_path: Path, block: int, final: bool) -> None:
    f = tmp_path / "x.jsonl"
    f.write_bytes(b'{"a":1}\n\n{"b":"' + b"y" * 300 + b'"}\r\n\xc3\xa9\n{"tail": "no newline"')
    for start in (0, 8, 9):
        want = [(raw.rstrip(b"\n"), end) for _n, raw, end in iter_lines(f, start, 0, final)]
        got: list[bytes] = []
        ends: list[int] = []
        for lines, end, _ascii in iter_line_blocks(f, start, final, block):
            got += lines
            ends.append(end)
        assert got == [w[0] for w in want]
        assert ends[-1] == want[-1][1]


def test_parse_many_keeps_other_files_when_one_fails(tmp_path: Path) -> None:
    files = _files(tmp_path)[:3]
    ctxs = [FileContext(path=f, file_id=f"{i:020d}", user="u") for i, f in enumerate(files)]
    ctxs.insert(1, FileContext(path=tmp_path / "missing.jsonl", file_id="9" * 20))
    results, merged = claude_code.PARSER.parse_many(ctxs)
    assert isinstance(results[1], str) and "FileNotFoundError" in results[1]
    split_tables(results, merged)
    for ctx, res in zip([c for i, c in enumerate(ctxs) if i != 1], [r for i, r in enumerate(results) if i != 1],
                        strict=True):
        assert isinstance(res, ParseResult)
        alone = claude_code.PARSER.parse(ctx)
        for name, tbl in alone.tables().items():
            assert res.tables()[name].to_pylist() == tbl.to_pylist(), name


def test_batch_commit_takes_a_chunks_neighbouring_files_as_one_slice(tmp_path: Path, monkeypatch: Any) -> None:
    """The writer keeps a parsed chunk's tables whole (share_tables) and commits its files' neighbouring rows as
    one slice: the rows of one slice per file (split_tables), in one piece per table, not one per file."""
    from codecensus.store import db as store_db
    from codecensus.store.db import FileCommit

    files = _files(tmp_path)[:3]  # the hand-made ones
    ctxs = [FileContext(path=f, file_id=f"{i:020d}", user="u") for i, f in enumerate(files)]
    ctxs.insert(2, FileContext(path=tmp_path / "missing.jsonl", file_id="9" * 20))  # a failed file in between
    split, split_merged = claude_code.PARSER.parse_many(ctxs)
    split_tables(split, split_merged)
    shared, merged = claude_code.PARSER.parse_many(ctxs)
    share_tables(shared, merged)
    ok = [(c, r) for c, r in zip(ctxs, shared, strict=True) if isinstance(r, ParseResult)]
    for a, (_c, b) in zip([r for r in split if isinstance(r, ParseResult)], ok, strict=True):
        assert all(part[0] is merged[name] for name, part in b.table_parts().items())
        for name, tbl in a.tables().items():
            assert b.tables()[name].to_pylist() == tbl.to_pylist(), name
    shared, merged = claude_code.PARSER.parse_many(ctxs)  # fresh results: tables() above cut their slices
    share_tables(shared, merged)

    pieces: list[int] = []
    concat = store_db.pa.concat_tables

    def counted(tbls: list[Any], *args: Any, **kwargs: Any) -> Any:
        pieces.append(len(tbls))
        return concat(tbls, *args, **kwargs)

    monkeypatch.setattr(store_db.pa, "concat_tables", counted)
    store = Store(tmp_path / "db.duckdb")
    store.commit_files([
        FileCommit(file_id=c.file_id, path=str(c.path), source="claude_code", role="main", session_key=None,
                   user_name="u", size=1, mtime_ns=1, head_hash="", tail_hash="", parser_version="1", result=r,
                   replace=True, existed=False, consumed=r.consumed, lines=r.lines, new=True)
        for c, r in zip(ctxs, shared, strict=True) if isinstance(r, ParseResult)
    ])
    assert len(ok) >= 3 and pieces and set(pieces) == {1}, pieces
    for name in ("prompts", "messages", "actions", "results", "events", "session_files"):
        want = [row for r in split if isinstance(r, ParseResult) for row in r.tables()[name].to_pylist()]
        got = store.con.sql(f"SELECT * FROM {name} ORDER BY rowid").to_arrow_table().to_pylist()
        assert got == want, name
    store.close()


def _corpus(root: Path, n: int) -> None:
    rng = random.Random(9)
    for i in range(n):
        sid = f"66666666-6666-4666-8666-{i:012d}"
        s = standard_session(sid) if i % 4 == 0 else Session(sid)
        for j in range(rng.randint(3, 12)):
            s.prompt(f"prompt {j} " + "word " * rng.randint(1, 20))
            s.reply("reply " * rng.randint(1, 30), [("Bash", {"command": f"pytest -k t{j}"})] * rng.randint(0, 2))
        s.write(root / f"u{i % 3}" / ".claude" / "projects" / "-p" / f"{sid}.jsonl")


def _dump(db: Path) -> dict[str, list[str]]:
    con = duckdb.connect(str(db), read_only=True)
    out = {}
    for t in ("prompts", "messages", "actions", "results", "events", "session_files", "ingest_log", "sessions"):
        out[t] = sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall()))
    out["files"] = sorted(map(repr, con.execute("SELECT * EXCLUDE (ingested_at) FROM files").fetchall()))
    con.close()
    return out


def test_parser_processes_give_the_in_process_database(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _corpus(corpus, 140)  # > 64 files: several chunks, so parser processes are used
    dbs = []
    salt = None
    for workers in (0, 2):
        db = tmp_path / f"w{workers}.duckdb"
        store = Store(db)
        if salt is None:
            salt = store.salt
        else:
            store.set_meta("salt", salt)
            store._salt = None
        stats = ingest(store, [corpus], user_from_dir=True, workers=workers, settle_s=0)
        assert stats.files_failed == 0, stats.errors
        assert stats.files_parsed == 140
        build_sessions(store)
        store.close()
        dbs.append(db)
    assert _dump(dbs[0]) == _dump(dbs[1])


def test_dead_parser_process_fails_its_chunk(tmp_path: Path) -> None:
    f = tmp_path / f"{SID}.jsonl"
    standard_session(SID).write(f)
    with ParserPool(1) as pool:
        ok = pool.submit([("claude_code", FileContext(path=f, file_id="1" * 20))]).result(timeout=60)
        assert not isinstance(ok[0][0][0], str)
        pool._procs[0].kill()
        pool._procs[0].wait()
        fut = pool.submit([("claude_code", FileContext(path=f, file_id="1" * 20))])
        with pytest.raises(RuntimeError, match="parser process"):
            fut.result(timeout=60)


def test_chunks_go_to_the_parser_process_still_working(tmp_path: Path) -> None:
    """One dead process out of two: later chunks are parsed by the other, not failed."""
    f = tmp_path / f"{SID}.jsonl"
    standard_session(SID).write(f)
    item = ("claude_code", FileContext(path=f, file_id="1" * 20))
    with ParserPool(2) as pool:
        pool._procs[0].kill()
        pool._procs[0].wait()
        results = [pool.submit([item]).result(timeout=60) for _ in range(4)]
    assert all(not isinstance(r[0][0][0], str) for r in results)


@pytest.mark.parametrize(
    "reply",
    [
        # a length no frame can have, from a process that stays alive (it must be stopped, not waited on)
        "sys.stdout.buffer.write((1 << 60).to_bytes(8, 'little')); sys.stdout.flush(); sys.stdin.buffer.read()",
        "sys.stdout.buffer.write((1000).to_bytes(8, 'little') + b'x' * 10)",  # a frame cut short by the exit
        "sys.stdout.buffer.write((10).to_bytes(8, 'little') + b'not pickle')",  # a frame that is no result
        # its output closed, the process alive and reading on: nothing more can come back from it
        "import os; os.close(1); sys.stdin.buffer.read()",
    ],
)
def test_broken_result_stream_fails_the_chunks_instead_of_hanging(reply: str) -> None:
    """Whatever a parser process writes, every chunk queued on it ends with an error, and soon.

    Before, a corrupt length killed the pool's reader thread (a MemoryError) and every chunk queued on that
    process waited forever: ingest hung."""
    import sys
    import time

    script = f"import sys; sys.stdin.buffer.read(8); {reply}"
    t0 = time.monotonic()
    with ParserPool(1, command=[sys.executable, "-c", script]) as pool:
        futs = [pool.submit([("claude_code", FileContext(path=Path("x.jsonl"), file_id="1" * 20))]) for _ in range(3)]
        errors = []
        for fut in futs:
            with pytest.raises(Exception) as info:  # noqa: PT011 - which error depends on the breakage
                fut.result(timeout=60)
            errors.append(info.value)
    assert time.monotonic() - t0 < 60
    assert all(isinstance(e, RuntimeError | pickle.UnpicklingError) for e in errors), errors
    assert isinstance(errors[-1], RuntimeError) and "parser process" in str(errors[-1])
    # and work submitted afterwards fails at once instead of waiting on a process nobody reads
    with ParserPool(1, command=[sys.executable, "-c", script]) as pool:
        first = pool.submit([("claude_code", FileContext(path=Path("x.jsonl"), file_id="1" * 20))])
        with pytest.raises((RuntimeError, pickle.UnpicklingError)):
            first.result(timeout=60)
        late = pool.submit([("claude_code", FileContext(path=Path("x.jsonl"), file_id="1" * 20))])
        with pytest.raises(RuntimeError, match="parser process"):
            late.result(timeout=5)


def test_many_chunks_in_flight_never_deadlock(tmp_path: Path) -> None:
    """Submitting far more chunks than the pipes hold, before taking any result, must not hang.

    The requests fill the parser's stdin while its results fill its stdout: the reader thread must be able to
    hand results over while ``submit`` is blocked writing (it once waited for a lock ``submit`` held)."""
    import threading

    f = tmp_path / f"{SID}.jsonl"
    standard_session(SID).write(f)
    # one chunk names the file many times: small requests, large results
    item = ("claude_code", FileContext(path=f, file_id="1" * 20))
    futs: list[Any] = []
    with ParserPool(1) as pool:
        t = threading.Thread(target=lambda: futs.extend(pool.submit([item] * 40) for _ in range(600)), daemon=True)
        t.start()
        # the 24,000 parses take ~10 s of CPU: 30.6 s measured at load 5.5 on 2 cores, so 120 s was four times that;
        # a deadlock never ends, so a long bound costs nothing when it passes
        t.join(timeout=600)
        if t.is_alive():  # fail, not hang: the processes' end unblocks the pipes and the pool's close()
            for proc in pool._procs:
                proc.kill()
        assert not t.is_alive(), "submit() blocked: the pool deadlocked"
        results = [fut.result(timeout=120) for fut in futs]
    assert len(results) == 600
    assert all(not isinstance(r[0][0][0], str) for r in results)


def test_results_survive_a_stopped_and_continued_parser_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-Z then ``fg`` (or a profiler) stops and continues the parser processes while they write results.

    A pipe write interrupted that way writes part of its buffer. Under ``PYTHONUNBUFFERED=1`` (common in containers)
    the parser process's stdout is unbuffered and reported the part without writing the rest: the frames lost their
    place, and an ingest stopped 40 times failed 2,369 of 2,644 files. Every chunk must now come back whole."""
    import signal
    import threading
    import time

    monkeypatch.setenv("PYTHONUNBUFFERED", "1")  # the parser processes inherit the writer's environment
    f = tmp_path / f"{SID}.jsonl"
    standard_session(SID).write(f)
    item = ("claude_code", FileContext(path=f, file_id="1" * 20))
    stop = threading.Event()
    with ParserPool(1) as pool:
        pid = pool._procs[0].pid

        def pester() -> None:
            while not stop.is_set():
                time.sleep(0.003)
                try:
                    os.kill(pid, signal.SIGSTOP)
                    time.sleep(0.002)
                finally:
                    os.kill(pid, signal.SIGCONT)

        t = threading.Thread(target=pester, daemon=True)
        t.start()
        try:
            futs = [pool.submit([item] * 40) for _ in range(150)]
            results = [fut.result(timeout=120) for fut in futs]
        finally:
            stop.set()
            t.join()
    assert all(not isinstance(r[0][0][0], str) for r in results)
    first = results[0][0][1]
    assert first is not None and all(r[0][1] is not None and r[0][1]["actions"].equals(first["actions"]) for r in results)


def test_stray_output_on_stdout_cannot_corrupt_the_result_frames(tmp_path: Path) -> None:
    """A library in the parser process that prints to stdout (from Python or from C) must not break the frames."""
    import sys

    f = tmp_path / f"{SID}.jsonl"
    standard_session(SID).write(f)
    item = ("claude_code", FileContext(path=f, file_id="1" * 20))
    script = (
        "import os\n"
        "from codecensus.sources import base\n"
        "parse = base.parse_chunk\n"
        "def noisy(items):\n"
        "    os.write(1, b'noise from C code')\n"
        "    print('noise from Python')\n"
        "    return parse(items)\n"
        "base.parse_chunk = noisy\n"
        "base.worker_main()\n"
    )
    with ParserPool(2, command=[sys.executable, "-c", script]) as pool:
        results = [fut.result(timeout=60) for fut in [pool.submit([item] * 3) for _ in range(6)]]
    assert all(not isinstance(r[0][0][0], str) for r in results)


def test_batch_commit_hands_duckdb_each_chunks_slice_without_copying(tmp_path: Path) -> None:
    """Two parsed chunks in one batch: DuckDB gets their two slices as they are (no copy into one contiguous
    table) and stores the rows in batch order."""
    from codecensus.store.db import FileCommit

    files = _files(tmp_path)[:3]
    chunks = [files[:2], files[2:]]
    fcs, want = [], {}
    for n, chunk in enumerate(chunks):
        ctxs = [FileContext(path=f, file_id=f"{n}{i:019d}", user="u") for i, f in enumerate(chunk)]
        results, merged = claude_code.PARSER.parse_many(ctxs)
        share_tables(results, merged)
        for name, tbl in merged.items():
            want.setdefault(name, []).extend(tbl.to_pylist())
        fcs += [FileCommit(file_id=c.file_id, path=str(c.path), source="claude_code", role="main", session_key=None,
                           user_name="u", size=1, mtime_ns=1, head_hash="", tail_hash="", parser_version="1",
                           result=r, replace=True, existed=False, consumed=r.consumed, lines=r.lines, new=True)
                for c, r in zip(ctxs, results, strict=True) if isinstance(r, ParseResult)]

    registered: dict[str, int] = {}

    class Recording:
        def __init__(self, con: Any) -> None:
            self._con = con

        def register(self, name: str, tbl: Any) -> Any:
            registered[name] = max(registered.get(name, 0), tbl.column(0).num_chunks)
            return self._con.register(name, tbl)

        def __getattr__(self, attr: str) -> Any:
            return getattr(self._con, attr)

    store = Store(tmp_path / "db.duckdb")
    con = store.con
    store.con = Recording(con)  # type: ignore[assignment]
    try:
        store.commit_files(fcs)
    finally:
        store.con = con
    assert registered.get("_incoming") == 2, registered
    for name in ("prompts", "messages", "actions", "results", "events", "session_files"):
        got = store.con.sql(f"SELECT * FROM {name} ORDER BY rowid").to_arrow_table().to_pylist()
        assert got == want[name], name
    store.close()
