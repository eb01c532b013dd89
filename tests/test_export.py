"""The sessions export (codecensus.export): complete through an unbuffered stdout, written batch by batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams import PartialStream

from ccbuild import standard_session


def test_jsonl_export_to_an_unbuffered_stdout_is_complete() -> None:
    """``codecensus sessions`` writes to ``sys.stdout.buffer``, which ``PYTHONUNBUFFERED=1`` makes unbuffered:
    each write may take part of the export. Before, the rest was lost without a word."""
    import types

    import orjson
    import pyarrow as pa

    from codecensus.export import write_table

    tbl = pa.table({"session_id": [f"s{i}" for i in range(2000)], "prompts": list(range(2000))})
    raw = PartialStream(1000)
    write_table(tbl, "jsonl", types.SimpleNamespace(buffer=raw))  # type: ignore[arg-type]
    rows = [orjson.loads(line) for line in bytes(raw.data).splitlines()]
    assert rows == tbl.to_pylist()


def test_exports_are_written_batch_by_batch_with_the_bytes_of_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """400K sessions as JSON Lines took 4.9 GB (every row a dict at once); now a batch at a time (0.65 GB, the
    same bytes). The memory of a 60,000-row export stays that of a 10,000-row one; the bytes, CSV's too, equal
    those of writing the table in one piece."""
    import io
    import tracemalloc
    import types

    import orjson
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from codecensus import export

    def table(n: int) -> pa.Table:
        return pa.table({"session_id": [f"s{i}" for i in range(n)], "prompts": list(range(n)),
                         "note": [None if i % 3 else f'a "q", b\\n{i}' for i in range(n)]})

    def peak(n: int, fmt: str) -> int:
        t = table(n)
        tracemalloc.start()
        export.write_table(t, fmt, types.SimpleNamespace(buffer=PartialStream(keep=False)))  # only the export's memory  # type: ignore[arg-type]
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    assert peak(60_000, "jsonl") < 2 * peak(10_000, "jsonl")  # (CSV is written by Arrow, outside Python's heap)
    monkeypatch.setattr(export, "EXPORT_BATCH_ROWS", 7)  # many batches, and a last short one
    for n in (0, 1, 7, 30):
        t = table(n)
        out = io.BytesIO()
        export.write_table(t, "csv", types.SimpleNamespace(buffer=out))  # type: ignore[arg-type]
        whole = io.BytesIO()
        pacsv.write_csv(t, whole)
        assert out.getvalue() == whole.getvalue(), n
        out = io.BytesIO()
        export.write_table(t, "jsonl", types.SimpleNamespace(buffer=out))  # type: ignore[arg-type]
        opts = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
        assert out.getvalue() == b"".join(orjson.dumps(r, option=opts) for r in t.to_pylist()), n


def test_the_sessions_export_has_no_free_text_unless_asked(tmp_path: Path) -> None:
    """Issue 2: no free text in the `sessions` export. It carried each session's `summary`, which an LLM backend
    writes in its own words about the transcript; it is now added only with --summaries."""
    import json

    from typer.testing import CliRunner

    from codecensus.cli import app
    from codecensus.store import Store

    db = tmp_path / "db.duckdb"
    root = tmp_path / "p"
    standard_session("11111111-1111-4111-8111-111111111111").write(root / "a.jsonl")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db)]).exit_code == 0
    assert runner.invoke(app, ["classify", "--db", str(db), "--embedder", "none", "-j", "1"]).exit_code == 0
    with Store(db) as st:  # as an LLM backend would have written it
        st.con.execute("UPDATE facets SET summary = 'The user asked to fix the billing export for Acme'")
    plain = runner.invoke(app, ["sessions", "--db", str(db)])
    assert plain.exit_code == 0 and "Acme" not in plain.output and "summary" not in json.loads(plain.output)
    full = runner.invoke(app, ["sessions", "--db", str(db), "--summaries"])
    assert full.exit_code == 0 and json.loads(full.output)["summary"].endswith("for Acme")


def test_the_sessions_export_says_why_each_facet_has_no_finding_in_the_fixed_vocabulary(tmp_path: Path) -> None:
    """Classification stores why a facet abstains (taxonomy.ABSTENTION_REASONS), and the report counts them, but the
    `sessions` export had no reason columns: a user of the export could not tell "no human request" from "thin
    evidence". Now each facet that can abstain has a `<facet>_reason` column, NULL where it holds a finding or the
    session is not classified; only keys of the fixed vocabulary ever reach it, whatever the store holds."""
    import csv
    import io
    import json

    from typer.testing import CliRunner

    from codecensus.cli import app
    from codecensus.store import Store
    from codecensus.taxonomy import ABSTAINING_FACETS, ABSTENTION_REASON_KEYS

    from ccbuild import Session

    db = tmp_path / "db.duckdb"
    root = tmp_path / "p"
    standard_session("11111111-1111-4111-8111-111111111111").write(root / "a.jsonl")
    hello = Session("22222222-2222-4222-8222-222222222222")  # a greeting and a reply: nothing to judge
    hello.prompt("hi")
    hello.reply("Hello! How can I help?")
    hello.write(root / "b.jsonl")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db)]).exit_code == 0
    assert runner.invoke(app, ["classify", "--db", str(db), "--embedder", "none", "-j", "1"]).exit_code == 0
    late = Session("33333333-3333-4333-8333-333333333333", t0=1767325600)  # ingested, not classified
    late.prompt("explain the retry logic in the billing client")
    late.write(root / "c.jsonl")
    assert runner.invoke(app, ["ingest", str(root), "--db", str(db)]).exit_code == 0
    reason_cols = [f"{k}_reason" for k in ABSTAINING_FACETS]

    def rows() -> dict[str, dict[str, object]]:
        out = runner.invoke(app, ["sessions", "--db", str(db)])
        assert out.exit_code == 0, out.output
        return {r["session_id"][:1]: r for r in map(json.loads, out.output.splitlines())}

    got = rows()
    assert {c: got["2"][c] for c in reason_cols} == dict.fromkeys(reason_cols, "too_little_text")
    assert got["2"]["expertise"] is None and got["2"]["outcome"] == "unclear"
    for key in ("1", "3"):  # a finding in every facet; not classified at all
        assert all(got[key][c] is None for c in reason_cols), got[key]
    csv_out = runner.invoke(app, ["sessions", "--db", str(db), "-f", "csv"])
    assert set(reason_cols) <= set(next(csv.reader(io.StringIO(csv_out.output))))

    with Store(db) as st:  # whatever else a store may hold in these columns (a later version's key, a free text)
        st.con.execute("UPDATE facets SET expertise_reason = 'The user asked to fix the billing export for Acme', "
                       "occupation_reason = 'a_future_reason', outcome_reason = NULL")
    got = rows()
    assert "Acme" not in json.dumps(got) and "a_future_reason" not in json.dumps(got)
    for r in got.values():
        assert all(r[c] is None or r[c] in ABSTENTION_REASON_KEYS for c in reason_cols), r
    assert [got["2"][c] for c in reason_cols] == ["not_recorded"] * 3
    assert all(got["1"][c] is None for c in reason_cols)

    with Store(db) as st:  # a store classified before reasons were stored has no such columns
        for c in reason_cols:
            st.con.execute(f"ALTER TABLE facets DROP COLUMN {c}")
    got = rows()
    assert [got["2"][c] for c in reason_cols] == ["not_recorded"] * 3
    assert all(got[k][c] is None for k in ("1", "3") for c in reason_cols)
