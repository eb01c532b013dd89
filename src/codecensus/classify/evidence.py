"""Load :class:`SessionEvidence` from the store in bulk.

One pass per batch of sessions: five set-based queries (shape, prompts,
replies, tool calls joined to their results, events) over a registered key
table, grouped in Python. No per-session queries, so it scales to hundreds of
thousands of sessions.

The dedup rules of :mod:`codecensus.measure` apply: a ``uuid`` copied into a
later file (resumed sessions) is kept only in the first-ranked file, tool
calls are kept once per ``tool_use_id`` with their LAST result, and only the
main chain is read (subagent work is in the shape row's counts).
Order within a session is (file rank, line, seq), the order the transcript
was written in.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from codecensus.classify.base import ActionEvidence, SessionEvidence
from codecensus.store import Store

# Text caps (characters) for what a backend may read.
PROMPT_CHARS = 4000
REPLY_CHARS = 600
RESULT_CHARS = 400
DEFAULT_BATCH = 2000

_DEDUP_TABLES = ("prompts", "messages", "actions", "results", "events")


def _prepare(store: Store) -> None:
    """Temp tables shared by every batch: file ranks and the uuid copies to drop."""
    con = store.con
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _ev_rank AS
           SELECT f.file_id, row_number() OVER (ORDER BY s.first_ts NULLS LAST, f.path) AS rank
           FROM files f LEFT JOIN (SELECT file_id, min(first_ts) AS first_ts FROM session_files GROUP BY file_id) s
           USING (file_id)"""
    )
    parts = []
    for t in _DEDUP_TABLES:
        parts.append(
            f"""SELECT '{t}' AS t, file_id, line, seq FROM (
                  SELECT x.file_id, x.line, x.seq,
                         row_number() OVER (PARTITION BY x.uuid, x.seq ORDER BY r.rank, x.line) AS rn
                  FROM {t} x JOIN _ev_rank r USING (file_id)
                  WHERE x.uuid IN (SELECT uuid FROM {t} WHERE uuid IS NOT NULL GROUP BY uuid HAVING count(*) > 1)
                ) WHERE rn > 1"""
        )
    con.execute("CREATE OR REPLACE TEMP TABLE _ev_drop AS " + " UNION ALL ".join(parts))


def _cleanup(store: Store) -> None:
    for t in ("_ev_rank", "_ev_drop"):
        store.con.execute(f"DROP TABLE IF EXISTS {t}")


def _kept(table: str, alias: str) -> str:
    return (
        f"LEFT JOIN _ev_drop d ON d.t = '{table}' AND d.file_id = {alias}.file_id "
        f"AND d.line = {alias}.line AND d.seq = {alias}.seq"
    )


def _rows(store: Store, sql: str) -> list[dict[str, Any]]:
    return store.con.sql(sql).to_arrow_table().to_pylist()


def _load_batch(store: Store, keys: Sequence[str]) -> list[SessionEvidence]:
    con = store.con
    con.register("_ev_keys", pa.table({"session_key": list(keys)}))
    try:
        shape_rows = _rows(store, "SELECT s.* FROM sessions s JOIN _ev_keys k USING (session_key)")
        prompts = _rows(
            store,
            f"""SELECT p.session_key, left(p.text, {PROMPT_CHARS}) AS text, epoch_ms(p.ts) AS ts,
                       r.rank, p.line, p.seq
                FROM prompts p JOIN _ev_keys k USING (session_key) JOIN _ev_rank r USING (file_id)
                {_kept("prompts", "p")}
                WHERE NOT p.is_subagent AND d.file_id IS NULL
                ORDER BY p.session_key, r.rank, p.line, p.seq""",
        )
        replies = _rows(
            store,
            f"""SELECT m.session_key, left(m.text, {REPLY_CHARS}) AS text, m.synthetic, r.rank, m.line, m.seq
                FROM messages m JOIN _ev_keys k USING (session_key) JOIN _ev_rank r USING (file_id)
                {_kept("messages", "m")}
                WHERE NOT m.is_subagent AND m.block = 'text' AND m.text IS NOT NULL AND d.file_id IS NULL
                ORDER BY m.session_key, r.rank, m.line, m.seq""",
        )
        actions = _rows(
            store,
            f"""WITH a AS (
                  SELECT a.*, r.rank FROM actions a JOIN _ev_keys k USING (session_key) JOIN _ev_rank r USING (file_id)
                  {_kept("actions", "a")}
                  WHERE NOT a.is_subagent AND d.file_id IS NULL
                  QUALIFY a.tool_use_id IS NULL
                       OR row_number() OVER (PARTITION BY a.session_key, a.tool_use_id ORDER BY r.rank, a.line, a.seq) = 1
                ), res AS (
                  SELECT x.session_key, x.tool_use_id, x.is_error, x.rejected, x.interrupted, x.file_op,
                         x.test_status, x.exit_code, left(x.text, {RESULT_CHARS}) AS text
                  FROM results x JOIN _ev_keys k USING (session_key) JOIN _ev_rank r USING (file_id)
                  WHERE NOT x.is_subagent AND x.tool_use_id IS NOT NULL
                  QUALIFY row_number() OVER (PARTITION BY x.session_key, x.tool_use_id
                                             ORDER BY r.rank DESC, x.line DESC, x.seq DESC) = 1
                )
                SELECT a.session_key, a.tool, a.category, a.file_path, a.command, a.is_test, a.is_commit, a.is_push,
                       a.is_deploy, a.input_words, epoch_ms(a.ts) AS ts, a.rank, a.line, a.seq,
                       res.is_error, res.rejected, res.interrupted, res.file_op, res.test_status, res.exit_code,
                       res.text AS result_head
                FROM a LEFT JOIN res ON res.session_key = a.session_key AND res.tool_use_id = a.tool_use_id
                ORDER BY a.session_key, a.rank, a.line, a.seq""",
        )
        events = _rows(
            store,
            f"""SELECT e.session_key, e.kind, e.detail, r.rank, e.line, e.seq
                FROM events e JOIN _ev_keys k USING (session_key) JOIN _ev_rank r USING (file_id)
                {_kept("events", "e")}
                WHERE NOT e.is_subagent AND d.file_id IS NULL AND e.kind <> 'queue'
                ORDER BY e.session_key, r.rank, e.line, e.seq""",
        )
        truth = _rows(
            store,
            """SELECT e.session_key, arg_max(e.detail, e.line) AS detail
               FROM events e JOIN _ev_keys k USING (session_key)
               WHERE e.kind = 'outcome_truth' GROUP BY e.session_key""",
        )
    finally:
        con.unregister("_ev_keys")

    by_p: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in prompts:
        by_p[r["session_key"]].append(r)
    by_m: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in replies:
        by_m[r["session_key"]].append(r)
    by_a: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in actions:
        by_a[r["session_key"]].append(r)
    by_e: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in events:
        by_e[r["session_key"]].append(r)
    truth_of = {r["session_key"]: r["detail"] for r in truth}
    shape_of = {r["session_key"]: r for r in shape_rows}

    out = []
    for key in keys:
        shape = shape_of.get(key)
        if shape is None:
            continue
        ps = by_p.get(key, [])
        pkeys = [(r["rank"], r["line"], r["seq"]) for r in ps]

        def pidx(rank: int, line: int, seq: int, _pk: list[tuple[int, int, int]] = pkeys) -> int:
            return max(0, bisect_right(_pk, (rank, line, seq)) - 1)

        acts = [
            ActionEvidence(
                tool=r["tool"] or "",
                category=r["category"] or "other",
                file_path=r["file_path"],
                command=r["command"],
                is_test=bool(r["is_test"]),
                is_commit=bool(r["is_commit"]),
                is_push=bool(r["is_push"]),
                is_deploy=bool(r["is_deploy"]),
                is_error=r["is_error"],
                test_status=r["test_status"],
                result_head=r["result_head"],
                ts=r["ts"],
                prompt_index=pidx(r["rank"], r["line"], r["seq"]),
                file_op=r["file_op"],
                exit_code=r["exit_code"],
                rejected=bool(r["rejected"]),
                interrupted=bool(r["interrupted"]),
                input_words=int(r["input_words"] or 0),
            )
            for r in by_a.get(key, [])
        ]
        ev = SessionEvidence(
            session_key=key,
            session_id=str(shape.get("session_id") or key),
            source=str(shape.get("source") or ""),
            shape=shape,
            prompts=[r["text"] or "" for r in ps],
            prompt_ts=[r["ts"] for r in ps],
            replies=[r["text"] or "" for r in by_m.get(key, []) if not r["synthetic"]],
            actions=acts,
            events=[(r["kind"], r["detail"]) for r in by_e.get(key, [])]
            + [("synthetic_reply", None) for r in by_m.get(key, []) if r["synthetic"]],
            truth=truth_of.get(key),
            reply_prompt_index=[pidx(r["rank"], r["line"], r["seq"]) for r in by_m.get(key, []) if not r["synthetic"]],
            event_prompt_index=[pidx(r["rank"], r["line"], r["seq"]) for r in by_e.get(key, [])]
            + [pidx(r["rank"], r["line"], r["seq"]) for r in by_m.get(key, []) if r["synthetic"]],
            final_reply_after_last_action=_reply_last(by_m.get(key, []), by_a.get(key, [])),
        )
        out.append(ev)
    return out


def _reply_last(replies: list[dict[str, Any]], actions: list[dict[str, Any]]) -> bool | None:
    """Whether the last (non-synthetic) visible reply comes after the last tool call."""
    reps = [(r["rank"], r["line"], r["seq"]) for r in replies if not r["synthetic"]]
    if not actions:
        return bool(reps) if reps else None
    if not reps:
        return False
    return max(reps) > max((a["rank"], a["line"], a["seq"]) for a in actions)


def iter_evidence(
    store: Store, keys: Sequence[str], *, batch_size: int = DEFAULT_BATCH
) -> Iterator[list[SessionEvidence]]:
    """Yield evidence for ``keys`` in batches (same order as ``keys``, unknown keys skipped)."""
    _prepare(store)
    try:
        for i in range(0, len(keys), batch_size):
            yield _load_batch(store, keys[i : i + batch_size])
    finally:
        _cleanup(store)


def load_evidence(store: Store, keys: Sequence[str]) -> list[SessionEvidence]:
    """Evidence for ``keys`` as one list (convenience for tests and small runs)."""
    out: list[SessionEvidence] = []
    for b in iter_evidence(store, keys):
        out.extend(b)
    return out


__all__ = ["iter_evidence", "load_evidence"]
