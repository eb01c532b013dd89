"""The fast classify path reads exactly what the plain one reads.

Evidence read in storage order (batches of neighbouring sessions, each read with a ``rowid`` range pushed
into the scan) must equal evidence read in the caller's order, for every batch size and however sessions are
split into compact and wide ones; the memoised prompt signals and summary redaction must return what the
plain functions return; the lowered DuckDB memory limit must be restored.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from codecensus.classify import evidence as E
from codecensus.classify.base import Facets
from codecensus.classify.features import extract, signals_of
from codecensus.classify.run import facets_rows
from codecensus.classify.text import prompt_signals
from codecensus.store import Store
from codecensus.store.db import parse_size
from genstore import generated_store


@pytest.fixture(scope="module")
def gen_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    st = generated_store(tmp_path_factory.mktemp("speed"), users=5, sessions=60, seed=11, user_from_dir=True)
    yield st
    st.close()


def _keys(st: Store) -> list[str]:
    return [r[0] for r in st.con.execute("SELECT session_key FROM sessions ORDER BY started_at DESC, session_key")
            .fetchall()]


def _dump(batches) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    return {ev.session_key: pickle.dumps(ev) for b in batches for ev in b}


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
@pytest.mark.parametrize("wide_rows", [E.WIDE_ROWS, 0, 40])
@pytest.mark.parametrize("stream_rows", [E.STREAM_ROWS, 3])
@pytest.mark.parametrize("selected", [1.0, 0.1])
def test_storage_order_reads_the_same_evidence(
    gen_store: Store, batch_size: int, wide_rows: int, stream_rows: int, selected: float,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = _keys(gen_store)
    keys = keys[: max(1, int(len(keys) * selected))]  # all sessions (spans unfiltered) or a few (filtered)
    given = _dump(E.iter_evidence(gen_store, keys, batch_size=13))
    assert len(given) == len(keys) > 5
    monkeypatch.setattr(E, "WIDE_ROWS", wide_rows)  # 0: every session with rows is "wide"; 40: some are
    # the sessions rows stream in Arrow batches of this many rows: 3 makes plan batches span several of them
    monkeypatch.setattr(E, "STREAM_ROWS", stream_rows)
    storage = _dump(E.iter_evidence(gen_store, keys, batch_size=batch_size, order="storage"))
    assert storage == given  # every field of every session, byte for byte


def test_raw_batches_shipped_to_workers_build_the_same_evidence(gen_store: Store) -> None:
    """classify_parallel ships the queries' Arrow tables and lets the worker build the objects: after a pickle
    round trip (what the process pool does) they must build exactly the evidence the reading process would."""
    keys = _keys(gen_store)
    raws = list(E.iter_raw_evidence(gen_store, keys, batch_size=9, order="storage"))
    assert len(raws) > 5 and sum(len(r) for r in raws) == len(keys)
    shipped = [pickle.loads(pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL)).build() for r in raws]
    assert _dump(shipped) == _dump(E.iter_evidence(gen_store, keys, batch_size=13))


def test_storage_order_skips_unknown_keys_and_keeps_subsets(gen_store: Store) -> None:
    keys = _keys(gen_store)
    subset = keys[5:40:3] + ["no-such-session"]
    got = _dump(E.iter_evidence(gen_store, subset, batch_size=4, order="storage"))
    assert set(got) == set(subset[:-1])
    assert got == _dump(E.iter_evidence(gen_store, subset, batch_size=4))


def test_storage_batches_are_ranges_of_neighbours(gen_store: Store) -> None:
    keys = _keys(gen_store)
    E._prepare(gen_store)
    try:
        plan = list(E._plan(gen_store, keys, 10))
    finally:
        E._cleanup(gen_store)
    assert sorted(k for b in plan for k in b.keys) == sorted(keys)
    assert all(0 < len(b.keys) <= 10 for b in plan)
    total = gen_store.one("SELECT count(*) FROM messages")[0]  # type: ignore[index]
    spans = [b.ranges["messages"] for b in plan if b.ranges and b.ranges["messages"]]
    # each batch reads a slice of the table, not the whole table
    assert spans and sum(hi - lo + 1 for lo, hi in spans) < 2 * total
    # every row of a batch's sessions lies inside its ranges
    for b in plan:
        assert b.ranges is not None
        gen_store.con.register("_t_keys", __import__("pyarrow").table({"session_key": b.keys}))
        for t in E._SPAN_TABLES:
            lo, hi = gen_store.one(f"SELECT min(rowid), max(rowid) FROM {t} JOIN _t_keys USING (session_key)")  # type: ignore[misc]
            if lo is None:
                assert b.ranges[t] is None
            else:
                r = b.ranges[t]
                assert r is not None and r[0] <= lo and hi <= r[1]
        gen_store.con.unregister("_t_keys")


def test_memoised_signals_equal_and_are_private_copies(gen_store: Store) -> None:
    evs = E.load_evidence(gen_store, _keys(gen_store)[:30])
    prompts = [p for ev in evs for p in ev.prompts]
    assert prompts
    for p in prompts + prompts:  # the second pass is served from the cache
        assert signals_of(p) == prompt_signals(p)
    a, b = signals_of(prompts[0]), signals_of(prompts[0])
    assert a == b and a is not b
    a.words += 1000  # a caller that changes its copy does not change what others get
    assert signals_of(prompts[0]) == prompt_signals(prompts[0])
    f1 = [extract(ev) for ev in evs]
    f2 = [extract(ev) for ev in evs]
    assert f1 == f2


def _facets(summary: str) -> Facets:
    return Facets(mode="build", mode_confidence=0.5, occupation="15", occupation_confidence=0.5, expertise=3,
                  expertise_confidence=0.5, outcome="success", outcome_confidence=0.7, outcome_score=0.7,
                  user_planning_pct=50.0, user_execution_pct=50.0, value_hours=1.0, value_soc="15", summary=summary)


def test_summaries_are_redacted_once_each_with_the_same_result() -> None:
    from datetime import UTC, datetime

    calls: list[str] = []

    def redact(t: str) -> str:
        calls.append(t)
        return t.replace("ann@example.org", "[EMAIL]")

    summaries = ["The user asked the agent to build an app.", "mail ann@example.org", "",
                 "The user asked the agent to build an app.", "mail ann@example.org"]
    tbl = facets_rows([f"k{i}" for i in range(5)], [f"s{i}" for i in range(5)], [_facets(s) for s in summaries],
                      backend="offline", model="m", rubric_hash="h", redact=redact, now=datetime.now(UTC))
    assert tbl.column("summary").to_pylist() == [redact(s) for s in summaries]
    assert sorted(calls[:3]) == sorted(set(summaries))  # three distinct summaries, three calls


def test_reading_memory_lowers_and_restores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODECENSUS_DUCKDB_MEMORY", "1GB")
    st = Store(tmp_path / "m.duckdb")
    try:
        before = st.one("SELECT current_setting('memory_limit')")[0]  # type: ignore[index]
        with E.reading_memory(st, "128MB"):
            inside = st.one("SELECT current_setting('memory_limit')")[0]  # type: ignore[index]
        after = st.one("SELECT current_setting('memory_limit')")[0]  # type: ignore[index]
        assert parse_size(inside) < parse_size(before)  # type: ignore[operator]
        assert abs(parse_size(after) - parse_size(before)) <= 0.001 * parse_size(before)  # type: ignore[operator]
        with E.reading_memory(st, "64GB"):  # never raised above the store's own limit
            assert st.one("SELECT current_setting('memory_limit')")[0] == after  # type: ignore[index]
    finally:
        st.close()


def test_shared_tables_start_near_their_size_and_restore_the_limit(
    gen_store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The shared evidence tables are built under a limit sized from the largest table (no wasted failed
    attempt at the small classify buffer), and the buffer is back afterwards."""
    limits: list[float | None] = []
    real = E._prepare_tables

    def prepare_tables(st: Store) -> None:  # the limit the tables are built under
        limits.append(st.memory_limit_bytes())
        real(st)

    monkeypatch.setattr(E, "_prepare_tables", prepare_tables)
    # at this rate the largest table asks for ~256 MB: more than the 128 MB buffer below
    n_rows = gen_store.one("SELECT max(estimated_size) FROM duckdb_tables() WHERE table_name = 'messages'")[0]  # type: ignore[index]
    monkeypatch.setattr(E, "PREPARE_BYTES_PER_ROW", (256 * 2**20) // n_rows + 1)
    with gen_store.memory_limit("128MB"):
        before = gen_store.memory_limit_bytes()
        keys = _keys(gen_store)
        got = _dump(E.iter_evidence(gen_store, keys, batch_size=50, order="storage"))
        assert gen_store.memory_limit_bytes() == before
    assert len(got) == len(keys)
    assert limits and limits[0] is not None and before is not None and limits[0] >= 256 * 2**20 > before
    assert "out of memory preparing" not in caplog.text
