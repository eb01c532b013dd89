"""A corpus ingested in one go, or as prefixes then the rest appended, or in pieces: the same `sessions` export.

Claude Code's copied history (a resumed session's file starting with the original's lines, same uuids; a subagent
file replaying its parent's) counts once, in the file that started first. Incremental ingest reads only an
appended tail, a big file is read in pieces, and measure only re-measures what changed: the copy rule must come
out the same whichever part of which file arrived first.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from codecensus.export import session_table, write_table
from codecensus.ingest import ingest
from codecensus.measure import build_sessions
from codecensus.store import Store

from ccbuild import Session

A, B = "a0a0a0a0-0000-4000-8000-00000000000a", "b0b0b0b0-0000-4000-8000-00000000000b"


def _corpus(root: Path, turns: int = 60, pad: int = 200) -> dict[str, bytes]:
    """Files (relative path -> bytes): A's; B's, resumed from A after A ended, its file starting with a copy of A's
    first half (same uuids and timestamps, B's session id); a subagent of A replaying A's first lines."""
    a = Session(A, t0=1767225600)
    for i in range(turns):
        a.prompt(f"step {i}: run the tests")
        (t,) = a.reply(f"Running {i}.", [("Bash", {"command": "pytest -q"})], usage=(10 + i, 100 + i))
        a.result(t, ("1 failed" if i % 3 == 0 else "5 passed") + " in 0.1s " + "x" * pad, is_error=i % 3 == 0,
                 tur={"stdout": "5 passed", "stderr": "", "interrupted": False})
        if i % 7 == 0:
            (t2,) = a.reply(None, [("Edit", {"file_path": f"/w/f{i}.py", "old_string": "a", "new_string": "b"})])
            a.result(t2, "ok", tur={"filePath": f"/w/f{i}.py", "oldString": "a", "newString": "b"})
    half = len(a.lines) // 2
    b = Session(B, t0=1767225600 + 3600)
    b.lines = [{**rec, "sessionId": B} for rec in a.lines[:half]]
    b.parent = b.lines[-1]["uuid"]
    for i in range(turns // 3):
        b.prompt(f"resumed {i}")
        (t,) = b.reply("again", [("Bash", {"command": "git status"})], usage=(3, 30))
        b.result(t, "clean " + "y" * pad)
    sub = Session(A, t0=1767225600 + 30)
    sub.lines = [{**rec, "isSidechain": True, "agentId": "feed01"} for rec in a.lines[:6]]
    sub.parent = sub.lines[-1]["uuid"]
    sub.reply(None, [("Grep", {"pattern": "x"})])
    out = {}
    for rel, s in ((f"p/{A}.jsonl", a), (f"p/{B}.jsonl", b), (f"p/{A}/subagents/agent-feed01.jsonl", sub)):
        s.write(root / rel)
        out[rel] = (root / rel).read_bytes()
    return out


def _export(store: Store) -> str:
    build_sessions(store)  # incremental, as the CLI runs it after each ingest
    buf = io.StringIO()
    write_table(session_table(store), "csv", buf)
    return buf.getvalue()


def _store(path: Path, salt: str | None) -> Store:
    s = Store(path)
    if salt is not None:  # the same salt: the same hashed user and project columns
        s.con.execute("UPDATE meta SET value=? WHERE key='salt'", [salt])
    return s


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], str, str]:
    root = tmp_path_factory.mktemp("whole")
    files = _corpus(root / "c")
    store = _store(root / "t.duckdb", None)
    ingest(store, [root / "c"], workers=0, settle_s=0)
    out = _export(store)
    salt = store.salt
    store.close()
    return files, out, salt


def test_the_copy_rule_holds_in_the_whole_corpus(whole: tuple[dict[str, bytes], str, str]) -> None:
    _files, out, _salt = whole
    rows = {r["session_id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert sorted(rows) == [A, B]
    assert (rows[A]["prompts"], rows[A]["actions"]) == ("60", "69")  # with the copies B and the subagent hold
    assert (rows[B]["prompts"], rows[B]["actions"]) == ("20", "20")  # its own only
    assert rows[A]["subagent_actions"] == "1"


# (fraction of each file present at the first ingest: A's file, B's file, the subagent's), at any byte (mid-line too)
SPLITS = [(0.3, 0.6, 1.0), (0.75, 0.2, 0.5), (1.0, 0.5, 0.0), (0.5, 1.0, 1.0), (0.0, 0.9, 0.3), (0.97, 0.99, 0.9)]


@pytest.mark.parametrize("settle", [0, 3600], ids=["settled", "live"])
@pytest.mark.parametrize("split", SPLITS, ids=[f"{a}-{b}-{c}" for a, b, c in SPLITS])
def test_prefix_then_the_rest_gives_the_export_of_one_ingest(
    tmp_path: Path, whole: tuple[dict[str, bytes], str, str], split: tuple[float, float, float], settle: int
) -> None:
    files, expected, salt = whole
    root = tmp_path / "c"
    for (rel, data), frac in zip(files.items(), split, strict=True):
        if frac > 0:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data[: int(len(data) * frac)])
    store = _store(tmp_path / "t.duckdb", salt)
    ingest(store, [root], workers=0, settle_s=settle)
    _export(store)
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        with open(root / rel, "ab") as fh:  # the rest appended (a file written whole again keeps its inode)
            fh.write(data[(root / rel).stat().st_size if (root / rel).exists() else 0:])
    st = ingest(store, [root], workers=0, settle_s=settle)
    assert st.files_failed == 0
    assert _export(store) == expected
    store.close()


def test_pieces_give_the_export_of_one_read(tmp_path: Path, whole: tuple[dict[str, bytes], str, str]) -> None:
    """Files read in pieces of one block (piece_bytes=1), whole and after a prefix."""
    files, _expected, salt = whole
    root = tmp_path / "c"
    big = _corpus(root, turns=240, pad=9000)  # A's file > 2 MB: several blocks
    assert len(big[f"p/{A}.jsonl"]) > 2 * 2**20
    one = _store(tmp_path / "one.duckdb", salt)
    ingest(one, [root], workers=0, settle_s=0, piece_bytes=10**12)
    expected = _export(one)
    one.close()
    pieces = _store(tmp_path / "pieces.duckdb", salt)
    ingest(pieces, [root], workers=0, settle_s=0, piece_bytes=1)
    assert _export(pieces) == expected
    pieces.close()
    for rel, data in big.items():  # a prefix (B's copy half there), then the rest, in pieces
        (root / rel).write_bytes(data[: len(data) * 2 // 5])
    split = _store(tmp_path / "split.duckdb", salt)
    ingest(split, [root], workers=0, settle_s=0, piece_bytes=1)
    _export(split)
    for rel, data in big.items():
        with open(root / rel, "ab") as fh:
            fh.write(data[(root / rel).stat().st_size:])
    ingest(split, [root], workers=0, settle_s=0, piece_bytes=1)
    assert _export(split) == expected
    split.close()
