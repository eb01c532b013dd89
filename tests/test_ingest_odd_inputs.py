"""Inputs that once failed more than themselves: a file name that is not UTF-8, an integer beyond 64 bits,
and a file whose chunk conversion fails. Each must cost at most its own file, never its chunk-mates."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import duckdb
import fuzz_parsers as fuzz
import orjson
import pytest

from codecensus import quickcheck
from codecensus.ingest import ingest
from codecensus.paths import as_text
from codecensus.sources import claude_code
from codecensus.sources.base import FileContext, parse_chunk
from codecensus.store import Store

from ccbuild import standard_session

SID1 = "11111111-1111-4111-8111-111111111111"
SID2 = "22222222-2222-4222-8222-222222222222"


def test_as_text_escapes_only_undecodable_bytes() -> None:
    assert as_text("plain/ascii.jsonl") == "plain/ascii.jsonl"
    assert as_text("/home/zoë/日本/a.jsonl") == "/home/zoë/日本/a.jsonl"
    assert as_text(os.fsdecode(b"/home/caf\xe9/a.jsonl")) == "/home/caf\\xe9/a.jsonl"


def _latin1_dir(root: Path) -> Path:
    d = Path(os.fsdecode(os.fsencode(str(root)) + b"/-home-caf\xe9"))
    try:
        d.mkdir(parents=True)
    except (OSError, UnicodeEncodeError):  # a file system that takes only UTF-8 names
        pytest.skip("this file system refuses names that are not UTF-8")
    return d


def test_a_folder_name_that_is_not_utf8_is_ingested_with_its_neighbours(tmp_path: Path) -> None:
    """Such a name crashed `codecensus ingest` at once (the unchanged-corpus listing), and then failed every file
    of its chunk (Arrow refused the path text)."""
    root = tmp_path / "projects"
    standard_session(SID1).write(_latin1_dir(root) / f"{SID1}.jsonl")
    standard_session(SID2).write(root / "ok" / f"{SID2}.jsonl")
    assert quickcheck.list_roots([root]).files == 2  # crashed: UnicodeEncodeError
    db = tmp_path / "c.duckdb"
    store = Store(db)
    first = ingest(store, [root], workers=0)
    assert (first.files_parsed, first.files_failed) == (2, 0), first.errors
    again = ingest(store, [root], workers=0)
    assert (again.files_parsed, again.files_skipped) == (0, 2)  # found by its stored path: not read again
    store.close()
    with duckdb.connect(str(db), read_only=True) as con:
        paths = sorted(r[0] for r in con.execute("SELECT path FROM files").fetchall())
        keys = sorted(r[0] for r in con.execute("SELECT DISTINCT session_key FROM session_files").fetchall())
    assert any(p.endswith(f"-home-caf\\xe9/{SID1}.jsonl") for p in paths), paths
    assert keys == [SID1, SID2]


def test_a_user_folder_that_is_not_utf8_is_a_user(tmp_path: Path) -> None:
    root = tmp_path / "team"
    standard_session(SID1).write(_latin1_dir(root) / f"{SID1}.jsonl")
    standard_session(SID2).write(root / "ann" / f"{SID2}.jsonl")
    store = Store(tmp_path / "c.duckdb")
    st = ingest(store, [root], user_from_dir=True, workers=0)
    assert (st.files_parsed, st.files_failed) == (2, 0), st.errors
    users = store.con.execute("SELECT user_name FROM files ORDER BY user_name").fetchall()
    assert users == [("-home-caf\\xe9",), ("ann",)]
    store.close()


def _with_huge_count(src: Path, dst: Path) -> None:
    """``src`` with its first assistant message claiming 10**30 output tokens."""
    out, done = [], False
    for line in src.read_bytes().splitlines():
        try:
            rec = orjson.loads(line)
        except orjson.JSONDecodeError:
            out.append(line)
            continue
        msg = rec.get("message") if isinstance(rec, dict) else None
        if not done and rec.get("type") == "assistant" and isinstance(msg, dict) and isinstance(msg.get("usage"), dict):
            msg["usage"]["output_tokens"] = 10**30
            line = json.dumps(rec).encode()  # orjson refuses integers beyond 64 bits
            done = True
        out.append(line)
    assert done
    dst.write_bytes(b"\n".join(out) + b"\n")


def test_an_integer_beyond_64_bits_is_null_and_fails_no_file(tmp_path: Path) -> None:
    good, odd = tmp_path / f"{SID1}.jsonl", tmp_path / f"{SID2}.jsonl"
    standard_session(SID1).write(good)
    standard_session(SID2).write(tmp_path / "src.jsonl")
    _with_huge_count(tmp_path / "src.jsonl", odd)
    runs = parse_chunk([("claude_code", FileContext(path=p, file_id=str(i) * 20, final=True)) for i, p in ((1, good), (2, odd))])
    results = [r for res, _ in runs for r in res]
    assert not any(isinstance(r, str) for r in results), results  # both files failed: OverflowError
    tokens = [v for _, merged in runs if merged for v in merged["messages"].column("output_tokens").to_pylist()]
    assert tokens.count(None) == 1 and all(v is None or v < 10**9 for v in tokens)


def test_a_file_that_fails_its_chunk_is_retried_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure of the chunk's joint conversion fails only the file that causes it, not up to 63 neighbours."""
    files = []
    for i, sid in enumerate((SID1, "33333333-3333-4333-8333-333333333333", SID2)):
        p = tmp_path / f"{sid}.jsonl"
        standard_session(sid).write(p)
        files.append((i, p))
    culprit = files[1][1]
    many = claude_code.ClaudeCodeParser.parse_many

    def failing(self: claude_code.ClaudeCodeParser, ctxs: list[FileContext]):  # type: ignore[no-untyped-def]
        if any(c.path == culprit for c in ctxs):
            raise ValueError("cannot convert")
        return many(self, ctxs)

    monkeypatch.setattr(claude_code.ClaudeCodeParser, "parse_many", failing)
    runs = parse_chunk([("claude_code", FileContext(path=p, file_id=str(i) * 20, final=True)) for i, p in files])
    results = [r for res, _ in runs for r in res]
    assert [isinstance(r, str) for r in results] == [False, True, False]
    assert results[1] == "ValueError: cannot convert"


# -- one odd value in one line: found by mutating the lines of a standard session ---------------------------------
# The mutations are those of scripts/fuzz_parsers.py (its functions, on the tests' path through conftest).


def _both_paths(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The rows of ``path`` from the fast (typed) path and from the generic path alone."""

    def rows() -> dict[str, Any]:
        res = claude_code.PARSER.parse(FileContext(path=path, file_id="f" * 20, user="u", final=True))
        return {name: tbl.to_pydict() for name, tbl in res.tables().items()}  # to_pydict: timestamps as datetimes

    fast = rows()
    with claude_code.generic_path_only():
        generic = rows()
    return fast, generic




@pytest.mark.parametrize(
    ("rtype", "path", "value"),
    [
        ("assistant", ("message", "content", 0, "type"), [1]),  # ArrowTypeError: the whole file failed
        ("assistant", ("message", "content", 0, "type"), 5),
        ("assistant", ("timestamp",), 2**70),  # DuckDB: "Could not convert TimestampTZ": the whole file failed
        ("user", ("timestamp",), -(2**70)),
        ("system", ("timestamp",), 1e300),
    ],
)
def test_one_odd_value_is_not_a_failed_file(
    tmp_path: Path, rtype: str, path: tuple[Any, ...], value: Any
) -> None:
    f = tmp_path / f"{SID1}.jsonl"
    standard_session(SID1).write(f)
    idx, rec = next((i, r) for i, r in fuzz.records(f) if r.get("type") == rtype
                    and (path[0] != "message" or isinstance(r["message"].get("content"), list)))
    node = rec
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    fuzz.replace(f, idx, rec)
    fast, generic = _both_paths(f)
    assert fast == generic
    store = Store(tmp_path / "c.duckdb")
    st = ingest(store, [f], workers=0)
    assert (st.files_parsed, st.files_failed) == (1, 0), st.errors
    store.close()


def test_four_hundred_mutated_lines_parse_alike_on_both_paths(tmp_path: Path) -> None:
    """Schema drift, seeded: one value of one line replaced by an odd one (or removed), 400 times. The file must
    parse, and the typed fast path must give the generic path's rows. (On the code before this test, 0.6 % of
    such mutations failed the whole file.)"""
    f = tmp_path / f"{SID1}.jsonl"
    standard_session(SID1).write(f)
    orig = f.read_bytes()
    recs = fuzz.records(f)
    for seed in range(400):
        rng = random.Random(seed)
        idx, rec = rng.choice(recs)
        rec = orjson.loads(orjson.dumps(rec))  # a copy: every mutation starts from the standard session
        path = fuzz.mutate(rec, rng)
        fuzz.replace(f, idx, rec)
        fast, generic = _both_paths(f)
        assert fast == generic, (seed, path)
        f.write_bytes(orig)


# -- the other formats: one odd value in one record of their fixtures ----------------------------------------------
FIXTURES = Path(__file__).parent / "fixtures" / "formats"


@pytest.mark.parametrize(
    ("fmt", "name", "nth", "key", "value"),
    [
        # a type (or kind) that is a list or an object: "unhashable type" failed the whole file (the nth record
        # that has the key gets the value: not the first line, which format detection reads)
        ("codex", "rollout-2025-09-01T10-00-00-0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.jsonl", 2, ("type",), ["x"]),
        ("claude_stream_json", "run.jsonl", 2, ("type",), {"a": 1}),
        ("claude_agent_platform", "transcript.jsonl", 2, ("raw", "type"), [1]),
        ("cline", "ui_messages.json", 0, (0, "say"), {"a": 1}),
        ("cline", "ui_messages.json", 0, (1, "say"), ["x"]),
        # an instance id too long for a folder name was looked up as one: "File name too long" failed the file
        ("openhands", "output.jsonl", 1, ("instance_id",), "z" * 5000),  # the record without an inline report
    ],
)
def test_one_odd_value_in_another_format_is_not_a_failed_file(
    tmp_path: Path, fmt: str, name: str, nth: int, key: tuple[Any, ...], value: Any
) -> None:
    import shutil

    root = tmp_path / fmt
    shutil.copytree(FIXTURES / fmt, root)
    f = next(root.rglob(name))
    for i, rec in fuzz.records(f):
        node = rec
        try:
            for k in key[:-1]:
                node = node[k]
            node[key[-1]]  # noqa: B018 - present?
        except (KeyError, IndexError, TypeError):
            continue
        if nth:
            nth -= 1
            continue
        node[key[-1]] = value
        fuzz.replace(f, i, rec)
        break
    else:
        pytest.fail(f"no record of {name} has {key}")
    assert fuzz.parse_tree(root, compare_paths=False) is None


@pytest.mark.parametrize("fmt", sorted(p.name for p in FIXTURES.iterdir() if any(p.rglob("*.json*"))))
def test_mutated_records_of_every_format_still_parse(tmp_path: Path, fmt: str) -> None:
    """Schema drift, seeded, over each format's fixture: 60 times, one value of one record replaced by an odd one."""
    import shutil

    root = tmp_path / fmt
    shutil.copytree(FIXTURES / fmt, root)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl"))
    for seed in range(60):
        rng = random.Random(seed)
        f = rng.choice(files)
        orig = f.read_bytes()
        recs = [(i, r) for i, r in fuzz.records(f) if fuzz.key_paths(r)]
        if not recs:
            continue
        i, rec = rng.choice(recs)
        path = fuzz.mutate(rec, rng)
        fuzz.replace(f, i, rec)
        try:
            assert fuzz.parse_tree(root, compare_paths=False) is None, (seed, f.name, path)
        finally:
            f.write_bytes(orig)


def test_a_value_of_the_wrong_kind_becomes_null_in_its_column() -> None:
    """The Arrow conversion's safety net (records.array): a parser that passes on a transcript's odd value (a
    ``true`` where a count belongs, an unnameable type) costs that cell, not the chunk."""
    import pyarrow as pa

    from codecensus.records import array

    assert array([1, True, 2**70, "x", 3.5, None], pa.int64()).to_pylist() == [1, None, None, None, None, None]
    assert array([1.5, True, 2, "x"], pa.float64()).to_pylist() == [1.5, None, 2.0, None]
    assert array(["a", 1, [2], os.fsdecode(b"caf\xe9")], pa.string()).to_pylist() == ["a", None, None, "caf\\xe9"]
    assert array([True, 1, None], pa.bool_()).to_pylist() == [True, None, None]
    assert array([1, 2, 3], pa.int32()).to_pylist() == [1, 2, 3]  # nothing to clean: untouched


def test_numbers_that_are_not_finite_are_not_numbers() -> None:
    """``"1e400"`` as a count raised OverflowError (the whole file failed); ``"NaN"`` and ``"Infinity"`` as a cost
    or a duration were stored as such, and a NaN cost failed every later session build."""
    from codecensus.sources.rows import as_float, as_int

    assert [as_float(v) for v in ("NaN", "-inf", "Infinity", "1e400", float("nan"), 10**400)] == [None] * 6
    assert [as_float(v) for v in ("0.5", 2, " 3 ", True)] == [0.5, 2.0, 3.0, None]
    assert [as_int(v) for v in ("1e400", "NaN", float("inf"), "12", 7.9, True)] == [0, 0, 0, 12, 7, 1]


def test_an_absurd_recorded_cost_does_not_stop_every_later_session_build(tmp_path: Path) -> None:
    """A run that recorded ``total_cost_usd: 1e30`` failed the session build's exact sum (DECIMAL(38, 12) cast), and
    with it that ingest and every later one: "run the same command again" failed the same way for good. Such a
    cost is now taken as not recorded (the run is priced from its tokens, as one without a recorded cost)."""
    from codecensus.measure import build_sessions

    fixture = Path(__file__).parent / "fixtures" / "formats" / "claude_stream_json" / "run.jsonl"
    root = tmp_path / "runs"
    root.mkdir()
    for name, cost in (("absurd.jsonl", b"1e30"), ("nan.jsonl", b'"NaN"'), ("fine.jsonl", None)):
        data = fixture.read_bytes()
        if cost is not None:
            data = data.replace(b'"total_cost_usd":0.1234', b'"total_cost_usd":' + cost)
            data = data.replace(b"9d2f6a1e", name[:4].encode().hex().encode())  # a session of its own
        (root / name).write_bytes(data)
    store = Store(tmp_path / "c.duckdb")
    stats = ingest(store, [root], workers=0)
    assert stats.files_parsed == 3 and not stats.errors
    assert build_sessions(store) == 3
    costs = store.con.execute("SELECT session_key LIKE '9d2f6a1e%', cost_usd FROM sessions ORDER BY 1").fetchall()
    assert len(costs) == 3 and costs[2] == (True, pytest.approx(0.1234))  # the fine run keeps its recorded cost
    assert all(0 <= c < 1 for _, c in costs[:2])
    standard_session(SID1).write(root / "later" / f"{SID1}.jsonl")
    ingest(store, [root], workers=0)
    assert build_sessions(store) == 4
    store.close()


def test_a_renamed_transcript_with_an_odd_type_still_gets_its_session(tmp_path: Path) -> None:
    """A Claude Code file not named by its session id takes the id from its records; a record whose type was a
    list made that lookup fail (``unhashable type``), and with it the whole file."""
    src = tmp_path / "src.jsonl"
    standard_session(SID1).write(src)
    lines = src.read_bytes().splitlines()
    i = next(k for k, raw in enumerate(lines) if raw.startswith(b"{") and b'"sessionId"' in raw)
    rec = orjson.loads(lines[i])
    rec["type"] = ["user"]
    lines[i] = orjson.dumps(rec)
    f = tmp_path / "renamed.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    assert claude_code.PARSER.session_key_for(f, "f" * 20) == SID1


def test_an_instance_id_is_a_folder_name_only_when_it_is_one(tmp_path: Path) -> None:
    """SWE-bench outcomes are looked up in ``logs/<instance id>/report.json``; the id comes from the transcript.
    One with ``..`` in it read a report from outside ``logs``."""
    from codecensus.sources.rows import swebench_outcome

    traj = tmp_path / "run" / "traj.json"
    (tmp_path / "run" / "logs").mkdir(parents=True)
    traj.write_text("{}")
    other = tmp_path / "run" / "elsewhere" / "report.json"
    other.parent.mkdir()
    other.write_text(json.dumps({"../elsewhere": {"resolved": True}}))
    assert swebench_outcome(traj, "../elsewhere") == (None, "")
    assert swebench_outcome(traj, "z" * 300) == (None, "")  # too long for a name: no OSError
    good = tmp_path / "run" / "logs" / "django__django-1" / "report.json"
    good.parent.mkdir()
    good.write_text(json.dumps({"django__django-1": {"resolved": True}}))
    assert swebench_outcome(traj, "django__django-1") == (True, "logs/report.json")


# -- one very large value ---------------------------------------------------------------------------------------------
def test_words_of_a_long_text_are_counted_slice_by_slice_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    from codecensus.sources import common

    monkeypatch.setattr(common, "WORDS_SLICE", 7)  # many slice boundaries, inside words and between them
    rng = random.Random(0)
    alphabet = ["a", "b", " ", "\n", "\u00a0", "\u3000", "é", "\t", "\x1c", "\u2028"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        assert common.words(text) == len(text.split()), repr(text)


def test_a_prompt_larger_than_duckdbs_memory_is_stored_cut_with_exact_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 286 MB prompt was stored whole, and DuckDB's checkpoint could not hold it under its memory limit: a fatal
    error, after which every ingest of that database failed the same way. Here the same at a smaller scale (a
    40 MB prompt, DuckDB at 24 MB). Words and characters still count the whole prompt."""
    from codecensus.records import MAX_TEXT_CHARS

    monkeypatch.setenv("CODECENSUS_DUCKDB_MEMORY", "24MB")
    monkeypatch.setenv("CODECENSUS_INGEST_MEMORY", "24MB")
    src = tmp_path / "src.jsonl"
    standard_session(SID1).write(src)
    lines = src.read_bytes().splitlines()
    i = next(k for k, raw in enumerate(lines) if raw.startswith(b"{") and orjson.loads(raw).get("type") == "user"
             and isinstance(orjson.loads(raw)["message"].get("content"), str))
    rec = orjson.loads(lines[i])
    rec["message"]["content"] = "word " * 8_000_000
    lines[i] = orjson.dumps(rec)
    root = tmp_path / "p"
    root.mkdir()
    (root / f"{SID1}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    db = tmp_path / "c.duckdb"
    store = Store(db)
    st = ingest(store, [root], workers=0)
    assert (st.files_parsed, st.files_failed) == (1, 0), st.errors
    store.close()
    with duckdb.connect(str(db), read_only=True) as con:
        longest = con.execute("SELECT max(length(text)), max(chars), max(words) FROM prompts").fetchone()
    assert longest == (MAX_TEXT_CHARS, 8_000_000 * 5 - 1, 8_000_000)
    store = Store(db)  # and the database opens and takes more
    assert ingest(store, [root], workers=0).files_skipped == 1
    store.close()


def test_the_ray_engines_parse_task_takes_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    """The Ray engine's parse task (codecensus.engine.tasks.parse_files, run here without Ray) stored the raw path
    text: the whole Ray ingest failed on one such name (UnicodeEncodeError). Its files row now carries the path as
    the local ingest stores it."""
    from codecensus.engine.fs import FileSpec
    from codecensus.engine.tasks import parse_files

    f = _latin1_dir(tmp_path / "projects") / f"{SID1}.jsonl"
    standard_session(SID1).write(f)
    st = f.stat()
    spec = FileSpec(url=str(f), local=True, user=os.fsdecode(b"b\xe9a"), size=st.st_size, mtime_ns=st.st_mtime_ns,
                    parser="claude_code", file_id="f" * 20)
    rows = parse_files([spec.row()], out=str(tmp_path / "parts"), salt="").to_pylist()
    assert [(r["status"], r["error"]) for r in rows] == [("parsed", None)]
    assert rows[0]["path"] == as_text(str(f)) and rows[0]["user_name"] == "b\\xe9a"


def test_a_byte_order_mark_is_not_part_of_the_first_line(tmp_path: Path) -> None:
    """A file saved by a Windows editor starts with a UTF-8 byte order mark: the first line was damaged (and a
    JSON document unreadable). Both read as without it, on both Claude Code paths and for a JSON-document format."""
    import shutil

    f = tmp_path / f"{SID1}.jsonl"
    standard_session(SID1).write(f)
    want = _both_paths(f)
    f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
    assert _both_paths(f) == want
    root = tmp_path / "gemini"
    shutil.copytree(FIXTURES / "gemini_cli", root)
    doc = next(root.rglob("session-*.json"))
    want = [get_rows(doc)]
    doc.write_bytes(b"\xef\xbb\xbf" + doc.read_bytes())
    assert [get_rows(doc)] == want


def get_rows(path: Path) -> dict[str, Any]:
    from codecensus.sources.base import detect

    parser = detect(path)
    assert parser is not None, path
    res = parser.parse(FileContext(path=path, file_id="f" * 20, user="u", final=True))
    return {name: tbl.to_pydict() for name, tbl in res.tables().items()}


@pytest.mark.parametrize(("depth", "damaged"), [(600, False), (5000, True)])
def test_deeply_nested_json_costs_at_most_its_line(tmp_path: Path, depth: int, damaged: bool) -> None:
    """A tool input nested 600 levels deep exceeded Python's recursion limit in the word count, and 5,000 levels
    anywhere in a line made the typed decoder raise RecursionError: either failed the whole file. Now the first
    is counted like any input, the second is a damaged line (JSON's own nesting limit)."""
    src = tmp_path / "src.jsonl"
    standard_session(SID1).write(src)
    lines = src.read_bytes().splitlines()
    i = next(k for k, raw in enumerate(lines) if raw.startswith(b"{") and b'"tool_use"' in raw
             and orjson.loads(raw).get("type") == "assistant")
    rec = orjson.loads(lines[i])
    block = next(b for b in rec["message"]["content"] if b.get("type") == "tool_use")
    block["input"] = {"deep": "@@DEEP@@"}
    lines[i] = orjson.dumps(rec).replace(b'"@@DEEP@@"', b"[" * depth + b'"two words"' + b"]" * depth)
    f = tmp_path / f"{SID1}.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    fast, generic = _both_paths(f)
    assert fast == generic
    damaged_lines = [line for kind, line in zip(fast["ingest_log"]["kind"], fast["ingest_log"]["line"], strict=True)
                     if kind == "bad_json"]
    assert damaged_lines == ([i + 1] if damaged else [])
    if not damaged:  # the deep input's one string leaf, "two words", is counted
        acts = fast["actions"]
        assert [w for w, line in zip(acts["input_words"], acts["line"], strict=True) if line == i + 1] == [2]


def _without_root_powers(cmd: list[str]) -> list[str]:
    """``cmd`` run as this user, unable to read what the user may not: root's powers to read any file
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) are dropped with setpriv; skipped where that cannot be done."""
    import shutil
    import subprocess

    if os.geteuid() != 0:
        return cmd
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    probe = Path(os.environ.get("TMPDIR", "/tmp"))
    if shutil.which("setpriv") is None or subprocess.run([*drop, "true"], cwd=probe, capture_output=True).returncode:
        pytest.skip("running as root without setpriv: no way to make a file unreadable here")
    return [*drop, *cmd]


def test_a_file_or_folder_it_may_not_read_is_said_and_kept(tmp_path: Path) -> None:
    """A transcript file of mode 000 inside a folder was skipped without a word ("files seen 1", exit 0), as was
    an unreadable folder, and `--prune` then removed the unreadable file's stored rows as if it were gone. Now
    both are counted and named as not readable, the exit status is 1 (as for a damaged file), and the file's
    stored rows are kept."""
    import subprocess
    import sys

    import codecensus

    root = tmp_path / "team"
    locked = root / "-p" / f"{SID2}.jsonl"
    standard_session(SID1).write(root / "-p" / f"{SID1}.jsonl")
    standard_session(SID2).write(locked)
    db = tmp_path / "db.duckdb"
    store = Store(db)
    assert ingest(store, [root], workers=0).files_parsed == 2
    store.close()
    locked.chmod(0)
    (root / "-q").mkdir()
    (root / "-q").chmod(0)
    env = {**os.environ, "PYTHONPATH": str(Path(codecensus.__file__).parents[1]), "COLUMNS": "200"}
    try:
        cmd = _without_root_powers([sys.executable, "-m", "codecensus", "ingest", str(root), "--db", str(db), "--prune"])
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    finally:
        locked.chmod(0o644)
        (root / "-q").chmod(0o755)
    text = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 1, text
    assert "2 file(s) or folder(s) could not be read" in text and str(locked) in text and str(root / "-q") in text, text
    assert "files seen │ 2" in text and "not readable (files, folders) │ 2" in text, text
    with duckdb.connect(str(db), read_only=True) as con:
        kept = {r[0] for r in con.execute("SELECT DISTINCT session_id FROM session_files").fetchall()}
    assert kept == {SID1, SID2}


@pytest.mark.parametrize("fmt", [None, "claude_code"])
def test_a_file_it_may_not_open_is_opened_once_to_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       fmt: str | None) -> None:
    """Detection read a file it could not open as empty (``read_head`` gave b""), so discovery opened every file
    no format took once more (``ingest._can_open``) to tell "cannot be read" from "empty": 3 opens of the locked
    file (the claim's first bytes, the whole head, then that check), 2 with --format. Detection now reports the
    read error itself: one open, and the file is still said to be not readable."""
    import builtins

    from codecensus import ingest as ingest_mod
    from codecensus.sources import base

    root = tmp_path / "team"
    standard_session(SID1).write(root / "-p" / f"{SID1}.jsonl")
    locked = root / "-p" / f"{SID2}.jsonl"
    standard_session(SID2).write(locked)
    opens: list[str] = []

    def guarded(file: Any, *a: Any, **kw: Any) -> Any:
        if str(file) == str(locked):
            opens.append(str(file))
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *a, **kw)

    for mod in (base, ingest_mod):
        monkeypatch.setattr(mod, "open", guarded, raising=False)
    store = Store(tmp_path / "db.duckdb")
    st = ingest(store, [root], workers=0, fmt=fmt)
    assert st.files_parsed == 1 and st.not_readable == [str(locked)], st
    assert len(opens) == 1, opens
    empty = root / "-p" / "empty.jsonl"  # an empty file is not "not readable"
    empty.write_bytes(b"")
    assert ingest(store, [root], workers=0, fmt=fmt).not_readable == [str(locked)]


def _team_with_chosen_ids(team: Path, secret: str, uuid: str) -> None:
    """Runs whose recorded ids a user chose: an OpenHands evaluation row ('<secret>-1', and one with ``uuid``), a
    mini-swe-agent run ('<secret>-2') with its harness report and a copy without it, a renamed Cline task folder
    ('<secret>-plan')."""
    fix = Path(__file__).parent / "fixtures" / "formats"
    lines = (fix / "openhands" / "eval" / "output.jsonl").read_text().splitlines()
    rows = [json.loads(x) for x in lines if x.startswith("{")]
    rows[0]["instance_id"], rows[1]["instance_id"] = f"{secret}-1", uuid
    (team / "oh").mkdir(parents=True)
    (team / "oh" / "output.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    traj = json.loads((fix / "mini_swe_agent" / "flat" / "astropy__astropy-7.traj.json").read_text())
    traj["instance_id"] = f"{secret}-2"
    for d in ("mini", "copy"):  # the run with its harness report, and a copy without it
        (team / d).mkdir()
        (team / d / "run.traj.json").write_text(json.dumps(traj))
    (team / "mini" / "report.json").write_text(json.dumps({f"{secret}-2": {"resolved": True}}))
    import shutil

    cline = fix / "cline" / "saoudrizwan.claude-dev" / "tasks" / "1733000000000"
    shutil.copytree(cline, team / "cline" / "tasks" / f"{secret}-plan")


def _ids(store: Store) -> dict[str, str]:
    return dict(store.con.execute("SELECT session_key, session_id FROM sessions").fetchall())


def test_an_instance_id_a_user_chose_is_exported_only_hashed(tmp_path: Path) -> None:
    """mini-swe-agent and OpenHands evaluation rows record an ``instance_id`` that a user may choose (a private
    project or customer name), and it became the session id raw: the sessions export, which carries no free text
    (ids from file names are '<format>-<file id>'), showed 'acme-secret-merger-2'. Such ids are now
    '<format>-<12 hex>' of the recorded id salted with the database's salt: the same for every copy of the run
    (ground truth still reaches a copy without its report, labels keyed by the instance id still match), another
    in another database; uuids and long hex ids stay as recorded."""
    import csv
    import io
    import re

    from typer.testing import CliRunner

    from codecensus.classify.eval import _resolve_keys, read_labels, store_truth
    from codecensus.cli import app

    secret = "acme-secret-merger"
    uuid = "0b6f3c1e-9a7d-4c2b-8e5f-1a2b3c4d5e6f"
    team = tmp_path / "team"
    _team_with_chosen_ids(team, secret, uuid)
    runner = CliRunner()
    ids = []
    for name in ("a.duckdb", "b.duckdb"):
        db = tmp_path / name
        r = runner.invoke(app, ["ingest", str(team), "--db", str(db), "-j", "0"])
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["sessions", "--db", str(db), "-f", "csv"])
        assert r.exit_code == 0, r.output
        got = sorted((x["source"], x["session_id"]) for x in csv.DictReader(io.StringIO(r.stdout)))
        assert secret not in r.stdout, got
        assert len(got) == 5 and ("openhands", uuid) in got, got
        mini = [sid for src, sid in got if src == "mini_swe_agent"]
        assert len(mini) == 2 and mini[0] == mini[1], got  # the two copies of the run share one id
        assert all(re.fullmatch(f"{src}-[0-9a-f]{{12}}", sid) for src, sid in got if sid != uuid), got
        ids.append(got)
    # another database, another salt: only the uuid is the same
    assert set(ids[0]) & set(ids[1]) == {("openhands", uuid)}, ids
    store = Store(tmp_path / "a.duckdb", read_only=True)
    keys = [k for (k,) in store.con.execute(
        "SELECT session_key FROM sessions WHERE source = 'mini_swe_agent' ORDER BY 1").fetchall()]
    assert len(keys) == 2 and all(store_truth(store).get(k) == "1" for k in keys)
    labels = tmp_path / "labels.csv"
    labels.write_text(f"session_id,mode\n{secret}-1,fix\n{secret}-2,fix\n")
    assert len(_resolve_keys(store, read_labels(labels))) == 2
    store.close()


def test_a_lone_surrogate_escape_is_read_as_a_replacement_character(tmp_path: Path) -> None:
    """Claude Code before 2.1.132 wrote a lone UTF-16 surrogate escape ("\\ud83d" without its low half) when a tool
    error's truncation split an emoji; JavaScript writes them for any string cut inside a pair. orjson and msgspec
    refuse them ("no low surrogate in string"): the line was counted damaged and its prompt, reply or tool result
    lost. Now the line reads as with U+FFFD in their place, on both Claude Code paths and in ingest; a valid pair and
    an escaped backslash before "ud83d" are left as they are."""
    from codecensus.sources.base import loads, sanitize_surrogates

    assert loads(b'{"a":"x\\ud83d y"}') == {"a": "x\ufffd y"}
    assert loads(b'{"a":"lo \\uDC00"}') == {"a": "lo \ufffd"}
    assert loads(b'{"a":"\\ud83d\\ud83d\\ude00"}') == {"a": "\ufffd\U0001f600"}
    assert sanitize_surrogates(b'{"a":"\\ud83d\\ude00"}') is None  # a pair
    assert sanitize_surrogates(b'{"a":"\\\\ud83d"}') is None  # a backslash, then the text "ud83d"
    assert loads(b'{"a":"\\\\\\ud83d"}') == {"a": "\\\ufffd"}  # a backslash, then a lone surrogate
    with pytest.raises(orjson.JSONDecodeError):
        loads(b'{"a":"\\ud83d"')  # damaged in another way too: still damaged

    f = tmp_path / f"{SID1}.jsonl"
    standard_session(SID1).write(f)
    data = f.read_bytes()
    marks = (b"Let me look.", b"fix the failing test", b"1 failed, 3 passed in 0.2s")  # a reply, a prompt, a result
    assert all(data.count(m) >= 1 for m in marks)
    lone, fffd = data, data
    for m, esc in zip(marks, (b"\\ud83d", b"\\udc00", b"\\uD83D"), strict=True):
        lone = lone.replace(m, m + b" " + esc)
        fffd = fffd.replace(m, m + b" \\ufffd")
    ref = tmp_path / "ref" / f"{SID1}.jsonl"
    ref.parent.mkdir()
    ref.write_bytes(fffd)
    f.write_bytes(lone)

    def rows(path: Path) -> tuple[dict[str, Any], ...]:
        both = _both_paths(path)
        for r in both:
            r["ingest_log"].pop("path", None)  # (the two files' own paths)
        return both

    assert rows(f) == rows(ref)
    logs = []
    for path in (f, ref):
        store = Store(tmp_path / f"{path.parent.name}.duckdb")
        st = ingest(store, [path], workers=0)
        assert (st.files_parsed, st.files_failed) == (1, 0), st.errors
        logs.append(store.con.execute("SELECT line, kind FROM ingest_log ORDER BY line").fetchall())
        store.close()
    assert logs[0] == logs[1]  # (the standard session's own damaged line, nothing more)
    # a JSON-document format (a Gemini CLI session) with one
    import shutil

    root = tmp_path / "gemini"
    shutil.copytree(FIXTURES / "gemini_cli", root)
    doc = next(root.rglob("session-*.json"))
    text = doc.read_bytes()
    i = text.index(b"I'll read the form first.")  # a reply's text
    doc.write_bytes(text[:i] + b"\\ufffd" + text[i:])
    want = get_rows(doc)
    doc.write_bytes(text[:i] + b"\\ud83d" + text[i:])
    assert get_rows(doc) == want


def test_a_file_whose_lines_an_older_version_lost_to_a_lone_surrogate_is_read_again(tmp_path: Path) -> None:
    """A store ingested before lone surrogate escapes were read holds such a line as damaged ("no low surrogate in
    string") and without its rows; the next ingest reads that file again (once), and only that file."""
    root = tmp_path / "c"
    root.mkdir()
    f, other = root / f"{SID1}.jsonl", root / "22222222-2222-4222-8222-222222222222.jsonl"
    standard_session(SID1).write(f)
    standard_session(other.stem).write(other)
    f.write_bytes(f.read_bytes().replace(b"Let me look.", b"Let me look. \\ud83d"))
    store = Store(tmp_path / "s.duckdb")
    ingest(store, [root], workers=0)
    before = store.con.execute("SELECT count(*) FROM ingest_log").fetchone()
    # as an older version left it: the line logged as damaged, the rows of its reply gone
    (fid,) = store.con.execute("SELECT file_id FROM files WHERE path LIKE ?", [f"%{SID1}.jsonl"]).fetchone()
    (line,) = store.con.execute("SELECT min(line) FROM messages WHERE file_id = ?", [fid]).fetchone()
    want = {t: store.con.execute(f"SELECT count(*) FROM {t} WHERE file_id = ?", [fid]).fetchone()
            for t in ("messages", "actions", "prompts")}
    store.con.execute("DELETE FROM messages WHERE file_id = ? AND line = ?", [fid, line])
    store.con.execute("INSERT INTO ingest_log VALUES (?, ?, ?, 'bad_json', 'no low surrogate in string: line 1 "
                      "column 99 (char 98)', 1)", [fid, str(f), line])
    st = ingest(store, [root], workers=0)
    assert st.files_parsed == 1 and st.files_skipped == 1, st
    assert store.con.execute("SELECT count(*) FROM ingest_log").fetchone() == before
    assert {t: store.con.execute(f"SELECT count(*) FROM {t} WHERE file_id = ?", [fid]).fetchone()
            for t in ("messages", "actions", "prompts")} == want
    st = ingest(store, [root], workers=0)  # once
    assert st.files_parsed == 0, st


def test_a_guessed_instance_id_is_not_confirmed_by_hashing_it(tmp_path: Path) -> None:
    """The hash of an id a user chose was unsalted, the same in every database: whoever guessed
    'acme-secret-merger-2' found 'mini_swe_agent-' + sha256('acme-secret-merger-2')[:12] in an export and knew the
    run was there. Now no unsalted hash of a recorded id is a session id; each is the hash salted with the
    database's own salt (FileContext.salt, from ``meta``)."""
    import hashlib

    from codecensus.measure import build_sessions
    from codecensus.sources.rows import recorded_session_id

    secret = "acme-secret-merger"
    team = tmp_path / "team"
    _team_with_chosen_ids(team, secret, "0b6f3c1e-9a7d-4c2b-8e5f-1a2b3c4d5e6f")
    store = Store(tmp_path / "a.duckdb")
    ingest(store, [team], workers=0, settle_s=0)
    build_sessions(store)
    sids = set(_ids(store).values())
    chosen = {"openhands": f"{secret}-1", "mini_swe_agent": f"{secret}-2", "cline": f"{secret}-plan"}
    for src, name in chosen.items():
        assert f"{src}-{hashlib.sha256(name.encode()).hexdigest()[:12]}" not in sids, src
        salted = recorded_session_id(src, name, FileContext(path=team, file_id="", salt=store.salt))
        assert salted in sids and salted != recorded_session_id(src, name, FileContext(path=team, file_id="")), src
    store.close()


def test_a_hashed_instance_id_is_the_same_at_every_ingest_into_one_database(tmp_path: Path) -> None:
    """Read again (files rewritten, the store opened anew, with parser processes), every run keeps its session id
    and no session is added: the salt is the database's, read from ``meta``."""
    from codecensus.measure import build_sessions

    team = tmp_path / "team"
    _team_with_chosen_ids(team, "acme-secret-merger", "0b6f3c1e-9a7d-4c2b-8e5f-1a2b3c4d5e6f")
    db = tmp_path / "a.duckdb"
    store = Store(db)
    ingest(store, [team], workers=0, settle_s=0)
    build_sessions(store)
    first = _ids(store)
    store.close()
    assert len(first) == 5
    for f in [*team.rglob("*.json"), *team.rglob("*.jsonl")]:  # every file changed: each is read again
        os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns - 10**9))
    store = Store(db)
    stats = ingest(store, [team], workers=2, settle_s=0)
    assert stats.files_parsed == 4, stats
    build_sessions(store)
    assert _ids(store) == first
    assert store.one("SELECT count(*) FROM session_files")[0] == 5
    store.close()


def test_a_store_of_unsalted_ids_gets_salted_ids_at_its_next_ingest(tmp_path: Path) -> None:
    """A database written before the ids were salted holds each hashed id unsalted and the parser versions of
    then (mini_swe_agent 4, openhands 5, cline 2). Those versions changed, so its next ingest reads these files
    again whole and replaces their rows: the same sessions (keys) with salted ids, none added."""
    import hashlib

    from codecensus.measure import build_sessions
    from codecensus.sources.rows import recorded_session_id

    secret = "acme-secret-merger"
    team = tmp_path / "team"
    _team_with_chosen_ids(team, secret, "0b6f3c1e-9a7d-4c2b-8e5f-1a2b3c4d5e6f")
    db = tmp_path / "old.duckdb"
    store = Store(db)
    ingest(store, [team], workers=0, settle_s=0)
    build_sessions(store)
    salted = _ids(store)
    # what the code before wrote: the unsalted hash, and its parser versions
    unsalted = set()
    for src, name in (("openhands", f"{secret}-1"), ("mini_swe_agent", f"{secret}-2"), ("cline", f"{secret}-plan")):
        old = f"{src}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"
        new = recorded_session_id(src, name, FileContext(path=team, file_id="", salt=store.salt))
        store.con.execute("UPDATE session_files SET session_id = ? WHERE session_id = ?", [old, new])
        unsalted.add(old)
    store.con.execute("UPDATE files SET parser_version = CASE source WHEN 'mini_swe_agent' THEN '4' "
                      "WHEN 'openhands' THEN '5' WHEN 'cline' THEN '2' END")
    build_sessions(store, full=True)
    assert unsalted <= set(_ids(store).values())  # the database as the code before left it
    store.close()
    store = Store(db)
    stats = ingest(store, [team], workers=0, settle_s=0)
    assert stats.files_parsed == 4, stats
    build_sessions(store)
    assert _ids(store) == salted
    assert not set(unsalted) & set(_ids(store).values())
    assert store.one("SELECT count(*) FROM session_files")[0] == 5
    assert store.one("SELECT count(*), count(DISTINCT session_key) FROM sessions") == (5, 5)
    store.close()
