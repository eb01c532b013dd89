"""A transcript larger than ``piece_bytes`` is read and committed in pieces, each resumed where the last ended.

Before, one file's rows all sat in memory at once (as Python tuples, then Arrow): a 1.7 GB Claude Code file of
300K turns (2.1M lines) peaked at 3.0 GB RSS in ``codecensus ingest``; read in 64 MB pieces, 547 MB. Here the
mechanism at small scale: no parse call reads much more than a piece, and the rows are those of a whole read.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import codecensus.store.db as db
from codecensus.ingest import ingest
from codecensus.sources.base import BLOCK_BYTES
from codecensus.sources.claude_code import ClaudeCodeParser
from codecensus.store import Store

from ccbuild import Session

TABLES = ("prompts", "messages", "actions", "results", "events", "session_files", "ingest_log", "files")
SID = "0b0e0c0d-1111-4222-8333-444444444444"


def _long_session(path: Path, turns: int) -> Path:
    s = Session(SID)
    pad = "x" * 2000
    for i in range(turns):
        s.prompt(f"step {i}: look at the log")
        (t,) = s.reply("Reading it.", [("Bash", {"command": f"cat log{i % 7}.txt"})])
        s.result(t, pad, tur={"stdout": pad, "stderr": "", "interrupted": False})
        s.system("turn_duration", durationMs=1000 + i)
    s.raw({"type": "brand-new-record-type", "foo": 1})
    return s.write(path)


def _rows(store: Store) -> dict[str, list[str]]:
    """Every stored row (of ``files``, all but the time of the commit)."""
    def select(t: str) -> str:
        return "SELECT * EXCLUDE (ingested_at) FROM files" if t == "files" else f"SELECT * FROM {t}"

    return {t: sorted(map(repr, store.con.execute(select(t)).fetchall())) for t in TABLES}


@pytest.fixture
def big(tmp_path: Path) -> Path:
    path = _long_session(tmp_path / "corpus" / "proj" / f"{SID}.jsonl", 900)
    assert path.stat().st_size > 3.5 * BLOCK_BYTES
    return tmp_path / "corpus"


def test_big_file_is_read_in_pieces_with_the_rows_of_a_whole_read(
    tmp_path: Path, big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = Store(tmp_path / "whole.duckdb")
    ingest(whole, [big], workers=0, piece_bytes=10**12)

    read: list[int] = []
    real = ClaudeCodeParser.parse_many

    def counting(self: ClaudeCodeParser, ctxs: list):  # type: ignore[no-untyped-def,type-arg]
        results, merged = real(self, ctxs)
        read.extend(r.consumed - c.start_offset for c, r in zip(ctxs, results, strict=True) if not isinstance(r, str))
        return results, merged

    monkeypatch.setattr(ClaudeCodeParser, "parse_many", counting)
    store = Store(tmp_path / "pieces.duckdb")
    stats = ingest(store, [big], workers=0, piece_bytes=BLOCK_BYTES)
    assert len(read) >= 3
    assert max(read) <= 2 * BLOCK_BYTES + 2**16  # a piece: the blocks that reach piece_bytes
    assert sum(read) == big.joinpath("proj", f"{SID}.jsonl").stat().st_size
    # counted once, as one file parsed
    assert (stats.files_parsed, stats.files_appended, stats.files_failed) == (1, 0, 0)
    assert stats.by_source == {"claude_code": 1}
    assert _rows(store) == _rows(whole)
    # the unknown record type is logged once, by the piece that met it
    assert store.one("SELECT sum(count) FROM ingest_log WHERE kind = 'unknown_type'") == (1,)
    # and a re-run finds it unchanged
    assert ingest(store, [big], workers=0, piece_bytes=BLOCK_BYTES).files_skipped == 1


def test_a_failed_piece_leaves_the_file_partly_read_and_the_next_run_reads_the_rest(
    tmp_path: Path, big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = Store(tmp_path / "whole.duckdb")
    ingest(whole, [big], workers=0, piece_bytes=10**12)

    calls = 0
    real = db.Store.commit_files

    def fails_after_the_first(self: Store, batch: list[db.FileCommit]) -> None:
        nonlocal calls
        calls += 1
        if calls > 1:  # (the batch, then the file alone)
            raise OSError("disk full")
        real(self, batch)

    store = Store(tmp_path / "pieces.duckdb")
    with monkeypatch.context() as m:
        m.setattr(db.Store, "commit_files", fails_after_the_first)
        stats = ingest(store, [big], workers=0, piece_bytes=BLOCK_BYTES)
    assert stats.files_failed == 1 and "disk full" in stats.errors[0]
    consumed, size = store.one("SELECT consumed, size FROM files")  # type: ignore[misc]
    assert 0 < consumed < size  # the first piece is kept
    # read on once the file has settled (a file still being written whose size is unchanged waits)
    stats = ingest(store, [big], workers=0, piece_bytes=BLOCK_BYTES, settle_s=0)
    assert (stats.files_appended, stats.files_failed) == (1, 0)
    assert _rows(store) == _rows(whole)


def test_pieces_through_parser_processes(tmp_path: Path, big: Path) -> None:
    """With parser processes, each piece is committed before the next (several chunks in flight)."""
    for i in range(70):  # more than one chunk of small files beside the big one
        s = Session(f"{i:08d}-1111-4222-8333-444444444444")
        s.prompt("hello")
        s.reply("hi")
        s.write(big / "small" / f"{i:08d}-1111-4222-8333-444444444444.jsonl")
    whole = Store(tmp_path / "whole.duckdb")
    ingest(whole, [big], workers=0, piece_bytes=10**12)
    store = Store(tmp_path / "pieces.duckdb")
    stats = ingest(store, [big], workers=1, piece_bytes=BLOCK_BYTES)
    assert (stats.files_parsed, stats.files_failed) == (71, 0)
    assert _rows(store) == _rows(whole)


def test_a_test_result_appended_after_its_call_keeps_its_status(tmp_path: Path) -> None:
    """A live session is often ingested while a test command runs: its result comes in a later, resumed read,
    which did not know the call was a test, and stored test_status NULL instead of 'fail' (a whole read: 'fail')."""
    s = Session(SID)
    s.prompt("run the tests")
    (t,) = s.reply(None, [("Bash", {"command": "pytest -q"})])
    (other,) = s.reply(None, [("Bash", {"command": "ls"})])
    path = s.write(tmp_path / "corpus" / "proj" / f"{SID}.jsonl")
    store = Store(tmp_path / "db.duckdb")
    ingest(store, [path.parent], workers=0)
    s.result(t, "3 failed, 1 passed in 0.2s", is_error=True)
    s.result(other, "3 failed, 1 passed in 0.2s")  # not a test command: not read as a summary
    s.write(path)
    assert ingest(store, [path.parent], workers=0).files_appended == 1
    got = dict(store.con.execute("SELECT tool_use_id, test_status FROM results").fetchall())
    assert got == {t: "fail", other: None}


def test_many_appended_files_merge_their_sessions_in_one_statement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The append workload (a few lines added to each of 500 files between ingests): each appended file's session
    row was merged in statements of its own, 8 ms a file (9.1 s of a 9.1 s round), and the batch ran out of
    DuckDB's 30 MiB ingest buffer every round and was retried at twice that. Now one merge per batch."""
    sessions = []
    for i in range(600):
        s = Session(f"{i:08d}-aaaa-4222-8333-444444444444")
        s.prompt("hello")
        s.reply("hi")
        sessions.append((s, s.write(tmp_path / "corpus" / f"p{i % 7}" / f"{s.sid}.jsonl")))
    store = Store(tmp_path / "db.duckdb")
    ingest(store, [tmp_path / "corpus"], workers=0)
    for s, path in sessions:
        s.prompt("more")
        s.reply("ok")
        s.write(path)
    merges = 0
    real = db.Store._merge_session_files

    def counting(self: Store, tbl: object) -> None:
        nonlocal merges
        merges += 1
        real(self, tbl)  # type: ignore[arg-type]

    monkeypatch.setattr(db.Store, "_merge_session_files", counting)
    with caplog.at_level("WARNING", logger="codecensus.ingest"):
        stats = ingest(store, [tmp_path / "corpus"], workers=0)
    assert (stats.files_appended, stats.files_failed) == (600, 0)
    assert merges == 1
    assert "out of memory" not in caplog.text
    whole = Store(tmp_path / "whole.duckdb")
    ingest(whole, [tmp_path / "corpus"], workers=0)
    assert _rows(store)["session_files"] == _rows(whole)["session_files"]
    assert store.one("SELECT min(records), max(records) FROM session_files") == (4, 4)


def test_a_resumed_piece_whose_test_call_lookup_outgrows_the_buffer_is_retried(
    tmp_path: Path, big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lookup of a resumed file's open test calls (an anti-join of its stored calls and results) ran under
    ingest's small buffer with no retry: on one 680 MB session (200,000 stored results) DuckDB ran out of memory
    at 30 MB and the ingest stopped after 455 MB. It now grows the buffer and retries, as batch commits do."""
    import duckdb

    whole = Store(tmp_path / "whole.duckdb")
    ingest(whole, [big], workers=0, piece_bytes=10**12)
    real = db.Store.open_test_calls
    calls = 0

    def short_of_memory(self: Store, ids: list[str]) -> dict[str, list[str]]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block of size 256.0 KiB")
        return real(self, ids)

    monkeypatch.setattr(db.Store, "open_test_calls", short_of_memory)
    store = Store(tmp_path / "pieces.duckdb")
    stats = ingest(store, [big], workers=0, piece_bytes=BLOCK_BYTES)
    assert calls >= 2
    assert (stats.files_parsed, stats.files_failed) == (1, 0)
    assert _rows(store) == _rows(whole)
