"""Load :class:`SessionEvidence` from the store in bulk.

One pass per batch of sessions: set-based queries (shape, prompts, replies,
tool calls joined to their results, events) over a registered key table,
grouped in Python. No per-session queries, so it scales to hundreds of
thousands of sessions.

With ``order="storage"`` (what the classify drivers use) the batches follow
the order the rows were ingested in, and each query reads only the row groups
its batch occupies (a ``rowid`` range pushed into the scan; see :func:`_plan`);
the ``sessions`` rows come from one sorted stream instead of a query per batch.
So the cost of a batch does not grow with the size of the store. The default
``order="given"`` keeps the caller's order and scans every table per batch.
Either way a session's evidence is the same.

The dedup rules of :mod:`codecensus.measure` apply: a ``uuid`` copied into a
later file (resumed sessions) is kept only in the first-ranked file, tool
calls are kept once per ``tool_use_id`` with their LAST result, and only the
main chain is read (subagent work is in the shape row's counts).
Order within a session is (file rank, line, seq), the order the transcript
was written in.

A backend reads at most ``SESSION_HEAD_ROWS + SESSION_TAIL_ROWS`` rows of a session from each of prompts,
replies, tool calls and events: for a longer session, the first ``SESSION_HEAD_ROWS`` and the last
``SESSION_TAIL_ROWS`` in that order (after the dedup above; the rule is applied in SQL, see :func:`_cap`).
So one huge session (300K turns) no longer loads every row into the process. Its evidence is then the
beginning and the end of the session as if they were contiguous (features and rules count what they see);
its ``sessions`` row (measured counts, tokens, words) is always the whole session's. Sessions within the
cap, nearly all of them, are read exactly as before.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
from bisect import bisect_right
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from codecensus.classify.base import ActionEvidence, SessionEvidence
from codecensus.measure import FILE_RANK_SELECT, HASH_FIRST_TABLES, MULTI_FILE_RANK_SELECT, copied_keys_select
from codecensus.store import Store, readable_times
from codecensus.store.db import parse_size

log = logging.getLogger(__name__)
T = TypeVar("T")

# Text caps (characters) for what a backend may read.
PROMPT_CHARS = 4000
REPLY_CHARS = 600
RESULT_CHARS = 400
DEFAULT_BATCH = 2000
# A session whose rows in one table lie further apart than this (resumed much later, re-ingested) is batched
# with its kind at the end, so that it does not widen the row range of a batch of compact sessions.
WIDE_ROWS = 250_000
# Rows of one session read from each table (see the module text): the first HEAD and the last TAIL.
SESSION_HEAD_ROWS = 5000
SESSION_TAIL_ROWS = 5000

SPAN_FILTER_SHARE = 4  # the plan filters the tables by the selection when it is under 1/4 of the sessions
STREAM_ROWS = 4096  # rows per Arrow batch of a streamed query (a plan batch takes them across batch borders)

_DEDUP_TABLES = ("prompts", "messages", "actions", "results", "events")
_SPAN_TABLES = ("messages", "actions", "prompts", "events", "results")  # sort order: the largest table first
_CAPPED_TABLES = ("prompts", "messages", "actions", "events")  # read at most SESSION_HEAD_ROWS + SESSION_TAIL_ROWS

Order = Literal["given", "storage"]
# a row's file rank in the batch queries: only files of sessions with several files have one (_ev_mrank, joined as r)
_RANK = "coalesce(r.rank, 0)"


def reading_order(backend: str) -> Order:
    """The order a classify driver reads evidence in for ``backend`` (a backend's name).

    The offline backend's results do not depend on the order sessions are read in, so it reads in storage
    order (each batch then reads only its own row groups). An LLM backend keeps the selection's order (most
    recent first), which decides what a budget that runs out has covered.
    """
    return "storage" if backend == "offline" else "given"


@dataclass(slots=True)
class _Batch:
    keys: list[str]
    ranges: dict[str, tuple[int, int] | None] | None = None  # table -> (min rowid, max rowid); None: no rows
    shape: pa.Table | None = None  # the keys' ``sessions`` rows, when the plan streamed them
    # whether a session may be longer than the evidence cap, from the plan's row counts; None: not planned
    long: bool | None = None


# DuckDB memory while classifying (``$CODECENSUS_CLASSIFY_MEMORY``): a batch reads only its own row groups, so
# a small buffer pool loses nothing, and the classifying process stays flat in the size of the store (with the
# store's own limit, often 1 GB, the pool fills with table blocks as the run goes through them).
DEFAULT_CLASSIFY_MEMORY = "256MB"
PREPARE_BYTES_PER_ROW = 24  # DuckDB memory to start the shared evidence tables with, per row of the largest table
PLAN_BYTES_PER_SESSION = 1536  # DuckDB memory to start the batch plan with, per session in the store


@contextlib.contextmanager
def reading_memory(store: Store, limit: str | None = None) -> Iterator[None]:
    """Run a classify loop with DuckDB's memory limit lowered to ``limit`` (never raised above the store's)."""
    limit = limit or os.environ.get("CODECENSUS_CLASSIFY_MEMORY", DEFAULT_CLASSIFY_MEMORY)
    want, have = parse_size(limit), store.memory_limit_bytes()
    if want is None or (have is not None and have <= want):
        yield
        return
    with store.memory_limit(limit):
        yield


def _prepare(store: Store) -> None:
    """Temp tables shared by every batch (built once, before the first batch).

    Their window over the duplicated uuids needs memory that grows with the store, far beyond the small
    classify buffer. So they start under a limit estimated from the largest table
    (``PREPARE_BYTES_PER_ROW``: 24.5M message rows of 400K generated sessions failed at 244 MiB and fit in
    488 MiB); a failed attempt is wasted work while the workers wait (400K: 13.5-15.3 s from 256 MB,
    7.2-7.8 s with the estimate). When DuckDB still runs out of memory, the limit is doubled (up to four
    times). Either way the classify buffer is back afterwards.
    """
    _above_buffer(store, lambda: _prepare_tables(store), PREPARE_BYTES_PER_ROW * store.largest_table_rows(_DEDUP_TABLES),
                  "preparing the evidence tables")


def _above_buffer(store: Store, fn: Callable[[], T], estimate: int, what: str) -> T:
    """``fn()``, a set-up step whose memory grows with the store: run under at least ``estimate`` bytes (at most
    4 GiB), doubled up to four times when DuckDB still runs out; the classify buffer is back afterwards."""
    return store.grow_on_out_of_memory(
        fn, retries=4, log=log, restore=True, start_bytes=min(estimate, 4 * 2**30),
        message=f"classify: out of memory {what} at %d MiB; retrying at %d MiB",
    )


def _prepare_tables(store: Store) -> None:
    """Temp tables shared by every batch: file ranks and the uuid copies to drop."""
    con = store.con
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ev_rank AS {FILE_RANK_SELECT}")  # measure's rule, the same ranks
    # One table per raw table: the row ids of its copies to drop, sorted. A batch query joins only the ids in its
    # own row range (a few hundred), where a join on (table, file, line, seq) read every copy of the store in each
    # query (400K generated sessions: ~440K copies, four joins per batch).
    for t in _DEDUP_TABLES:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _ev_drop_{t} AS SELECT rid FROM (
                  SELECT x.rowid AS rid,
                         row_number() OVER (PARTITION BY x.uuid, x.seq ORDER BY r.rank, x.line) AS rn
                  FROM {t} x JOIN _ev_rank r USING (file_id)
                  WHERE x.uuid IN ({copied_keys_select(t, "uuid", t in HASH_FIRST_TABLES)})
                ) WHERE rn > 1 ORDER BY rid"""
        )
    # The batch queries order a session's rows by (file rank, line, seq). A session of one file has one rank,
    # so only files of sessions with several files need theirs (the others read as 0): the queries' hash joins
    # are built on this table, not on every file (400K generated sessions: 167K of 494K files).
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ev_mrank AS {MULTI_FILE_RANK_SELECT.format(ranks='_ev_rank')}")


def _cleanup(store: Store) -> None:
    for t in ("_ev_rank", "_ev_mrank", *(f"_ev_drop_{t}" for t in _DEDUP_TABLES)):
        store.con.execute(f"DROP TABLE IF EXISTS {t}")


def _plan(store: Store, keys: Sequence[str], batch_size: int) -> Iterator[_Batch]:
    """``keys`` cut into batches in storage order, each with the row-id range it occupies in every table.

    Ingest appends a session's rows file by file, so sessions that are neighbours in ``messages`` are
    neighbours in the other tables too. A batch of neighbours is read with ``rowid BETWEEN lo AND hi``, which
    DuckDB pushes into the scan (only row groups in range are read). The range is a superset of the batch's
    rows by construction (min and max row id over its sessions) and every query still joins on the batch's
    keys, so exactly the same rows are read as without it. Unknown keys are dropped (they have no evidence).
    The plan is one Arrow table (a few dozen bytes per session); batches are cut from it as they are needed.

    The ``sessions`` rows come in the plan's order from one sorted query on a second connection, streamed
    (:class:`_Stream`): measure writes that table in ``started_at`` order, so a batch's rows lie all over it
    and a query per batch scanned the whole table (40-47 ms per 500 sessions at 400K, ~35 s of CPU a run).
    """
    batch_size = max(1, batch_size)
    con = store.con
    con.register("_ev_sel", pa.table({"session_key": pa.array(list(keys), pa.string())}))
    try:
        cols = ", ".join(f"lo_{t}, hi_{t}" for t in _SPAN_TABLES)
        # A session's span does not depend on which others are selected; filtering the tables by the selection
        # only pays when it is small (400K of 400K sessions: 3.2 s with the filter, 0.4 s without; 20K: equal)
        row = store.one("SELECT count(*) FROM sessions")
        few = SPAN_FILTER_SHARE * len(keys) < (row[0] if row else 0)
        where = "WHERE session_key IN (SELECT session_key FROM _ev_sel)" if few else ""
        joins = " ".join(
            f"""LEFT JOIN (SELECT session_key, min(rowid) AS lo_{t}, max(rowid) AS hi_{t}, count(*) AS n_{t} FROM {t}
                           {where} GROUP BY session_key)
                USING (session_key)"""
            for t in _SPAN_TABLES
        )
        width = ", ".join(f"coalesce(hi_{t} - lo_{t}, 0)" for t in _SPAN_TABLES)
        order = ", ".join(f"lo_{t} NULLS LAST" for t in _SPAN_TABLES)
        # every row of a session in a capped table (subagents' and copies' too: a superset of what is read), counted
        # in the same aggregate as its span: a batch knows from the plan whether it needs the cap (a query per batch
        # cost 19 ms a 2,000-session batch on a 400K store in this order, ~4 s a run)
        longest = ", ".join(f"coalesce(n_{t}, 0)" for t in _CAPPED_TABLES)
        sql = f"""SELECT s.session_key, s.rowid AS srid, {cols}, greatest({width}) > {WIDE_ROWS} AS wide,
                         greatest({longest}) > {SESSION_HEAD_ROWS + SESSION_TAIL_ROWS} AS long
                  FROM sessions s {joins}
                  WHERE s.session_key IN (SELECT session_key FROM _ev_sel)
                  ORDER BY wide, {order}, s.session_key"""
        # One hash aggregate per table over every session: memory grows with the store, past the small classify
        # buffer (420K sessions failed at 384 MiB and fit in 512 MiB), like the shared tables above.
        tbl = _above_buffer(store, lambda: con.sql(sql).to_arrow_table(),
                            PLAN_BYTES_PER_SESSION * (row[0] if row else 0), "planning the batches")
    finally:
        con.unregister("_ev_sel")
    # compact sessions come first (``wide`` is sorted): batches never mix the two kinds
    n_compact = tbl.num_rows - int(pc.sum(tbl.column("wide")).as_py() or 0)
    with contextlib.closing(_Stream.sessions_in_order(store, tbl.column("srid"))) as shapes:
        start = 0
        while start < tbl.num_rows:
            end = min(tbl.num_rows, start + batch_size, n_compact if start < n_compact else tbl.num_rows)
            part = tbl.slice(start, end - start)
            ranges: dict[str, tuple[int, int] | None] = {}
            for t in _SPAN_TABLES:
                lo, hi = pc.min(part.column(f"lo_{t}")).as_py(), pc.max(part.column(f"hi_{t}")).as_py()
                ranges[t] = None if lo is None or hi is None else (int(lo), int(hi))
            batch_keys = part.column("session_key").to_pylist()
            shape = shapes.take(len(batch_keys))
            if shape.column("session_key").to_pylist() != batch_keys:  # the stream follows the plan row for row
                raise RuntimeError("classify: the sessions stream lost step with the batch plan")
            yield _Batch(batch_keys, ranges, shape, long=bool(pc.any(part.column("long")).as_py()))
            start = end


class _Stream:
    """Rows of one query read in consecutive slices of any size, from its own connection (a cursor), so the
    batch queries can run on the store's connection meanwhile. Each slice is a compact copy (a pickled Arrow
    slice would carry its whole parent buffers)."""

    def __init__(self, cursor: Any, reader: pa.RecordBatchReader) -> None:
        self._cur, self._reader = cursor, reader
        self._buf: list[pa.RecordBatch] = []
        self._have = 0

    @classmethod
    def sessions_in_order(cls, store: Store, rowids: pa.ChunkedArray) -> _Stream:
        """``sessions`` rows (``s.*``) in the order of ``rowids``, a permutation of some of its row ids."""
        cur = store.cursor()
        try:
            order = pa.table({"srid": rowids.cast(pa.int64()), "pos": pa.array(range(len(rowids)), pa.int64())})
            cur.register("_ev_order", order)
            reader = cur.sql(
                "SELECT s.* FROM sessions s JOIN _ev_order o ON s.rowid = o.srid ORDER BY o.pos"
            ).to_arrow_reader(STREAM_ROWS)
        except BaseException:
            cur.close()
            raise
        return cls(cur, reader)

    def take(self, n: int) -> pa.Table:
        while self._have < n:
            try:
                b = self._reader.read_next_batch()
            except StopIteration:
                raise RuntimeError(f"classify: the sessions stream ended {n - self._have} rows short") from None
            self._buf.append(b)
            self._have += b.num_rows
        tbl = pa.Table.from_batches(self._buf, schema=self._reader.schema)
        rest = tbl.slice(n)
        self._buf, self._have = rest.to_batches(), rest.num_rows
        return tbl.take(pa.array(range(n), pa.int64()))

    def close(self) -> None:
        self._buf = []
        with contextlib.suppress(Exception):
            self._reader.close()
        with contextlib.suppress(Exception):
            self._cur.close()


def _kept(batch: _Batch, table: str, alias: str) -> str:
    """The join that marks ``table``'s copies to drop (``d.rid`` is then not NULL): only those in the batch's row
    range, when it has one."""
    r = batch.ranges.get(table) if batch.ranges is not None else None
    where = f"WHERE rid BETWEEN {int(r[0])} AND {int(r[1])}" if r is not None else ""
    return f"LEFT JOIN (SELECT rid FROM _ev_drop_{table} {where}) d ON d.rid = {alias}.rowid"


def _once_per_id(name: str, src: str, order: str) -> str:
    """Two CTEs: ``{name}`` holds the rows of CTE ``src`` once per (session, tool_use_id), the first in ``order``;
    rows without an id are all kept. Only the ids met more than once (``{name}_dup``) go through a window: a window
    over every row sorted the whole batch, ~3/4 of the actions query's time at 400K generated sessions. (Measure's
    ``_once_per_call`` applies the same rule to a whole store.)"""
    return f"""{name}_dup AS (
                  SELECT session_key, tool_use_id FROM {src} WHERE tool_use_id IS NOT NULL GROUP BY ALL HAVING count(*) > 1
                ), {name} AS (
                  SELECT {src}.* FROM {src} ANTI JOIN {name}_dup USING (session_key, tool_use_id)  -- NULL: no match
                  UNION ALL
                  (SELECT {src}.* FROM {src} SEMI JOIN {name}_dup USING (session_key, tool_use_id)
                   QUALIFY row_number() OVER (PARTITION BY session_key, tool_use_id ORDER BY {order}) = 1)
                )"""


def _in_range(batch: _Batch, table: str, alias: str) -> str:
    """The row-id filter of ``table`` for this batch ('' when the batch has no ranges)."""
    if batch.ranges is None:
        return ""
    r = batch.ranges.get(table)
    if r is None:  # no session of the batch has a row in this table
        return "AND FALSE"
    return f"AND {alias}.rowid BETWEEN {int(r[0])} AND {int(r[1])}"


def _arrow(store: Store, sql: str) -> pa.Table:
    return store.con.sql(sql).to_arrow_table()


def _runs(keys: list[str]) -> dict[str, tuple[int, int]]:
    """key -> (start, end) of each run of equal consecutive keys (rows are ordered by session_key)."""
    out: dict[str, tuple[int, int]] = {}
    start = 0
    for k, run in itertools.groupby(keys):
        end = start + sum(1 for _ in run)
        out[k] = (start, end)
        start = end
    return out


@dataclass(slots=True)
class RawBatch:
    """One batch's evidence as the store's queries return it: Arrow tables, ordered by session and position.

    It is what the reading process ships to a classify worker (Arrow tables pickle as buffers), and
    :meth:`build` turns it into :class:`SessionEvidence` there, off the reading process."""

    keys: list[str]
    shape: pa.Table
    prompts: pa.Table
    replies: pa.Table
    actions: pa.Table
    events: pa.Table
    truth: pa.Table

    def __len__(self) -> int:
        return self.shape.num_rows

    def build(self) -> list[SessionEvidence]:
        return _build(self)


def _long_sessions(store: Store, batch: _Batch) -> bool:
    """Whether a session of the batch may have more rows in one table than a backend reads
    (``SESSION_HEAD_ROWS + SESSION_TAIL_ROWS``): counted over the raw rows (a superset of what is read), so
    the usual batch, without one, is queried exactly as before. A planned batch carries the answer from the
    plan's counts; a batch in the given order counts here. Needs ``_ev_keys``."""
    if batch.long is not None:
        return batch.long
    cap = SESSION_HEAD_ROWS + SESSION_TAIL_ROWS
    parts = " UNION ALL ".join(
        f"""(SELECT 1 FROM {t} x JOIN _ev_keys k USING (session_key) WHERE NOT x.is_subagent {_in_range(batch, t, "x")}
             GROUP BY x.session_key HAVING count(*) > {cap} LIMIT 1)"""
        for t in _CAPPED_TABLES
    )
    return bool(store.con.sql(f"SELECT count(*) FROM ({parts})").fetchall()[0][0])


def _cap(alias: str, source: str) -> str:
    """The condition that keeps, of each session's rows of ``source`` (``FROM ... WHERE ...`` naming the table
    ``alias``, joined to ``_ev_mrank r``), the first ``SESSION_HEAD_ROWS`` and the last ``SESSION_TAIL_ROWS`` in
    (file rank, line, seq) order. The window reads row ids and positions only, never the text."""
    return f"""AND {alias}.rowid IN (
                 SELECT rid FROM (
                   SELECT {alias}.rowid AS rid,
                          row_number() OVER (PARTITION BY {alias}.session_key ORDER BY {_RANK}, {alias}.line, {alias}.seq) AS i,
                          count(*) OVER (PARTITION BY {alias}.session_key) AS n
                   FROM {source})
                 WHERE i <= {SESSION_HEAD_ROWS} OR i > n - {SESSION_TAIL_ROWS})"""


def _query_batch(store: Store, batch: _Batch) -> RawBatch:
    keys = batch.keys
    con = store.con
    con.register("_ev_keys", pa.table({"session_key": pa.array(keys, pa.string())}))
    try:
        shape = batch.shape
        if shape is None:
            shape = con.sql("SELECT s.* FROM sessions s JOIN _ev_keys k USING (session_key)").to_arrow_table()
        long = _long_sessions(store, batch)

        def capped(alias: str, source: str) -> str:
            return _cap(alias, source) if long else ""

        src = f"""prompts p JOIN _ev_keys k USING (session_key) LEFT JOIN _ev_mrank r USING (file_id)
                {_kept(batch, "prompts", "p")}
                WHERE NOT p.is_subagent AND d.rid IS NULL {_in_range(batch, "prompts", "p")}"""
        prompts = _arrow(
            store,
            f"""SELECT p.session_key, left(p.text, {PROMPT_CHARS}) AS text, epoch_ms(p.ts) AS ts,
                       {_RANK} AS rank, p.line, p.seq
                FROM {src} {capped("p", src)}
                ORDER BY p.session_key, {_RANK}, p.line, p.seq""",
        )
        src = f"""messages m JOIN _ev_keys k USING (session_key) LEFT JOIN _ev_mrank r USING (file_id)
                {_kept(batch, "messages", "m")}
                WHERE NOT m.is_subagent AND m.block = 'text' AND m.text IS NOT NULL AND d.rid IS NULL
                      {_in_range(batch, "messages", "m")}"""
        replies = _arrow(
            store,
            f"""SELECT m.session_key, left(m.text, {REPLY_CHARS}) AS text, m.synthetic, {_RANK} AS rank,
                       m.line, m.seq
                FROM {src} {capped("m", src)}
                ORDER BY m.session_key, {_RANK}, m.line, m.seq""",
        )
        # a long session's tool calls: the first and last ones once per id, and only their results
        cap_a = (
            f""", a_cap AS MATERIALIZED (
                  SELECT * FROM a WINDOW w AS (PARTITION BY session_key ORDER BY rank, line, seq)
                  QUALIFY row_number() OVER w <= {SESSION_HEAD_ROWS}
                          OR row_number() OVER w > count(*) OVER (PARTITION BY session_key) - {SESSION_TAIL_ROWS}
                )"""
            if long else ""
        )
        a_rows = "a_cap" if long else "a"
        cap_res = "AND x.tool_use_id IN (SELECT tool_use_id FROM a_cap)" if long else ""  # the join below pairs by session
        actions = _arrow(
            store,
            # Tool calls once per id (the first), each with its last result (see _once_per_id).
            f"""WITH a0 AS MATERIALIZED (
                  SELECT a.*, {_RANK} AS rank
                  FROM actions a JOIN _ev_keys k USING (session_key) LEFT JOIN _ev_mrank r USING (file_id)
                  {_kept(batch, "actions", "a")}
                  WHERE NOT a.is_subagent AND d.rid IS NULL {_in_range(batch, "actions", "a")}
                ), {_once_per_id("a", "a0", "rank, line, seq")}{cap_a}, r0 AS MATERIALIZED (
                  SELECT x.session_key, x.tool_use_id, x.is_error, x.rejected, x.interrupted, x.file_op,
                         x.test_status, x.exit_code, left(x.text, {RESULT_CHARS}) AS text, {_RANK} AS rank, x.line, x.seq
                  FROM results x JOIN _ev_keys k USING (session_key) LEFT JOIN _ev_mrank r USING (file_id)
                  WHERE NOT x.is_subagent AND x.tool_use_id IS NOT NULL {_in_range(batch, "results", "x")} {cap_res}
                ), {_once_per_id("res", "r0", "rank DESC, line DESC, seq DESC")}
                SELECT a.session_key, a.tool, a.category, a.file_path, a.command, a.is_test, a.is_commit, a.is_push,
                       a.is_deploy, a.input_words, epoch_ms(a.ts) AS ts, a.rank, a.line, a.seq,
                       res.is_error, res.rejected, res.interrupted, res.file_op, res.test_status, res.exit_code,
                       res.text AS result_head
                FROM {a_rows} a LEFT JOIN res ON res.session_key = a.session_key AND res.tool_use_id = a.tool_use_id
                ORDER BY a.session_key, a.rank, a.line, a.seq""",
        )
        src = f"""events e JOIN _ev_keys k USING (session_key) LEFT JOIN _ev_mrank r USING (file_id)
                {_kept(batch, "events", "e")}
                WHERE NOT e.is_subagent AND d.rid IS NULL AND e.kind <> 'queue' {_in_range(batch, "events", "e")}"""
        events = _arrow(
            store,
            f"""SELECT e.session_key, e.kind, e.detail, {_RANK} AS rank, e.line, e.seq
                FROM {src} {capped("e", src)}
                ORDER BY e.session_key, {_RANK}, e.line, e.seq""",
        )
        truth = _arrow(
            store,
            f"""SELECT e.session_key, arg_max(e.detail, e.line) AS detail
               FROM events e JOIN _ev_keys k USING (session_key)
               WHERE e.kind = 'outcome_truth' {_in_range(batch, "events", "e")} GROUP BY e.session_key""",
        )
    finally:
        con.unregister("_ev_keys")
    return RawBatch(list(keys), shape, prompts, replies, actions, events, truth)


def _build(raw: RawBatch) -> list[SessionEvidence]:
    """SessionEvidence of every key of ``raw`` that has a ``sessions`` row, in the order of its keys."""
    keys = raw.keys
    shape_rows = readable_times(raw.shape).to_pylist()  # an old database's out-of-range times: null
    prompts, replies, actions = raw.prompts.to_pydict(), raw.replies.to_pydict(), raw.actions.to_pydict()
    events, truth = raw.events.to_pydict(), raw.truth.to_pydict()

    def pos(cols: dict[str, list[Any]]) -> list[tuple[int, int, int]]:
        return list(zip(cols["rank"], cols["line"], cols["seq"], strict=True))

    p_run, m_run, a_run, e_run = (
        _runs(prompts["session_key"]), _runs(replies["session_key"]), _runs(actions["session_key"]),
        _runs(events["session_key"]),
    )
    p_pos, m_pos, a_pos, e_pos = pos(prompts), pos(replies), pos(actions), pos(events)
    p_text, p_ts = prompts["text"], prompts["ts"]
    m_text, m_syn = replies["text"], replies["synthetic"]
    e_kind, e_detail = events["kind"], events["detail"]
    a = actions
    truth_of = dict(zip(truth["session_key"], truth["detail"], strict=True))
    shape_of = {r["session_key"]: r for r in shape_rows}
    none = (0, 0)

    out = []
    for key in keys:
        shape = shape_of.get(key)
        if shape is None:
            continue
        p0, p1 = p_run.get(key, none)
        pkeys = p_pos[p0:p1]

        def pidx(k: tuple[int, int, int], _pk: list[tuple[int, int, int]] = pkeys) -> int:
            return max(0, bisect_right(_pk, k) - 1)

        a0, a1 = a_run.get(key, none)
        acts = [
            ActionEvidence(
                tool=a["tool"][i] or "",
                category=a["category"][i] or "other",
                file_path=a["file_path"][i],
                command=a["command"][i],
                is_test=bool(a["is_test"][i]),
                is_commit=bool(a["is_commit"][i]),
                is_push=bool(a["is_push"][i]),
                is_deploy=bool(a["is_deploy"][i]),
                is_error=a["is_error"][i],
                test_status=a["test_status"][i],
                result_head=a["result_head"][i],
                ts=a["ts"][i],
                prompt_index=pidx(a_pos[i]),
                file_op=a["file_op"][i],
                exit_code=a["exit_code"][i],
                rejected=bool(a["rejected"][i]),
                interrupted=bool(a["interrupted"][i]),
                input_words=int(a["input_words"][i] or 0),
            )
            for i in range(a0, a1)
        ]
        m0, m1 = m_run.get(key, none)
        visible = [i for i in range(m0, m1) if not m_syn[i]]
        synthetic = [i for i in range(m0, m1) if m_syn[i]]
        e0, e1 = e_run.get(key, none)
        ev = SessionEvidence(
            session_key=key,
            session_id=str(shape.get("session_id") or key),
            source=str(shape.get("source") or ""),
            shape=shape,
            prompts=[t or "" for t in p_text[p0:p1]],
            prompt_ts=list(p_ts[p0:p1]),
            replies=[m_text[i] or "" for i in visible],
            actions=acts,
            events=[(e_kind[i], e_detail[i]) for i in range(e0, e1)]
            + [("synthetic_reply", None) for _ in synthetic],
            truth=truth_of.get(key),
            reply_prompt_index=[pidx(m_pos[i]) for i in visible],
            event_prompt_index=[pidx(e_pos[i]) for i in range(e0, e1)] + [pidx(m_pos[i]) for i in synthetic],
            final_reply_after_last_action=_reply_last([m_pos[i] for i in visible], a_pos[a0:a1]),
        )
        out.append(ev)
    return out


def _reply_last(reps: list[tuple[int, int, int]], acts: list[tuple[int, int, int]]) -> bool | None:
    """Whether the last (non-synthetic) visible reply comes after the last tool call."""
    if not acts:
        return bool(reps) if reps else None
    if not reps:
        return False
    return max(reps) > max(acts)


def iter_evidence(
    store: Store, keys: Sequence[str], *, batch_size: int = DEFAULT_BATCH, order: Order = "given"
) -> Generator[list[SessionEvidence], None, None]:
    """Yield evidence for ``keys`` in batches, unknown keys skipped.

    ``order="given"``: batches follow ``keys``. ``order="storage"``: batches follow the order the sessions'
    rows were ingested in, and each batch reads only its own row groups (see :func:`_plan`); use it when the
    order of the results does not matter (it is much faster on large stores).
    """
    with contextlib.closing(iter_raw_evidence(store, keys, batch_size=batch_size, order=order)) as raws:
        for raw in raws:
            yield raw.build()


def iter_raw_evidence(
    store: Store, keys: Sequence[str], *, batch_size: int = DEFAULT_BATCH, order: Order = "given"
) -> Generator[RawBatch, None, None]:
    """:func:`iter_evidence` without building the objects: each batch as :class:`RawBatch` (``.build()``
    gives the same evidence). A driver that hands batches to other processes ships these, so the reading
    process only runs queries."""
    _prepare(store)
    try:
        if order == "storage":
            for b in _plan(store, keys, batch_size):
                yield _query_batch(store, b)
        else:
            for i in range(0, len(keys), batch_size):
                yield _query_batch(store, _Batch(list(keys[i : i + batch_size])))
    finally:
        _cleanup(store)


def load_evidence(store: Store, keys: Sequence[str]) -> list[SessionEvidence]:
    """Evidence for ``keys`` as one list (convenience for tests and small runs)."""
    out: list[SessionEvidence] = []
    for b in iter_evidence(store, keys):
        out.extend(b)
    return out


__all__ = ["RawBatch", "iter_evidence", "iter_raw_evidence", "load_evidence", "reading_memory", "reading_order"]
