"""Session shape (taxonomy §1), measured in SQL from the normalised rows.

Dedup rules applied here (transcript-formats.md §1.6, §13):
- a ``uuid`` seen in several files (resumed sessions that copied history) is
  counted once, in the file whose session started first; a session that
  begins (ends) with such copies starts (ends) at its own first (last) row;
- a session's rows met in several files are ordered by (file rank, line), as
  classify's evidence orders them (a tool call's outcome is its last result);
- assistant lines are grouped by ``message.id``; the group's LAST line gives
  its usage; ``<synthetic>`` lines carry no usage, words or model;
- subagent copies of main-chain message ids are dropped; tool calls are
  counted once per ``tool_use_id``.

Definitions:
- prompts: human prompts on the main chain (the parser applies §1.8);
- actions: tool calls on the main chain; subagent_actions: tool calls inside
  attached subagent transcripts (or the parent's ``totalToolUseCount`` when the
  subagent file is absent);
- visible_words: words of the agent's visible replies; output_words adds the
  words of everything it wrote through tools (every string in tool inputs:
  file contents, edits, commands); thinking is excluded;
- tokens and cost include subagents (they are the session's real cost); cost_usd is NULL (unknown)
  when a response has tokens but neither a recorded cost nor a listed price (pricing.csv) for its model;
- active_s: sum of recorded turn durations; where none are recorded, the sum
  of gaps between consecutive events, each capped at 5 minutes; at most duration_s.

Incremental: :func:`build_sessions` measures again only the sessions that ``measure_dirty`` (written by every
writer of the raw tables, in its own transaction) says changed, with the sessions that share uuid copies with
their changed or deleted rows, and clears what it measured in the transaction that writes their rows.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from typing import Any

import duckdb
import pyarrow as pa

from codecensus.prices import price_rows
from codecensus.store import Store
from codecensus.store.db import parse_size, rollback

log = logging.getLogger(__name__)

IDLE_CAP_S = 300
MAX_RECORDED_COST_USD = 1e9  # per response (or per run, where a format records only a total)

SESSION_COLUMNS = ["session_id", "source", "user", "project", "started_at", "ended_at", "duration_s", "active_s", "prompts", "actions", "actions_per_prompt", "output_words", "visible_words", "words_per_prompt", "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "cost_usd", "models", "version", "entrypoint", "files_read", "files_edited", "files_created", "commands", "test_runs", "test_failures", "commits", "pushes", "tool_errors", "interrupts", "rejections", "compactions", "subagents", "subagent_actions", "bad_lines"]


def _pricing_rows() -> dict[str, list[Any]]:
    """The price list as columns (``ord``: the row's place, which breaks a tie between patterns of one length as
    classify.cache.price_for does: the first row wins); a NULL price is unknown, a NULL ``p_tier`` no tier."""
    rows = price_rows()
    return {
        "ord": list(range(len(rows))),
        "pattern": [r.pattern for r in rows],
        "p_in": [r.input for r in rows],
        "p_out": [r.output for r in rows],
        "p_cw": [r.cache_write for r in rows],
        "p_cr": [r.cache_read for r in rows],
        "p_tier": [r.tier_tokens for r in rows],
        "p_in_t": [r.input_tier for r in rows],
        "p_out_t": [r.output_tier for r in rows],
        "p_cw_t": [r.cache_write_tier for r in rows],
        "p_cr_t": [r.cache_read_tier for r in rows],
    }


def pricing_table() -> pa.Table:
    """The price list (USD per million tokens) as an Arrow table."""
    return pa.table(_pricing_rows())


# The raw tables whose copied uuids are found by hash first (see copied_keys_select): where it was measured to
# pay. 400K generated sessions, alternating, CPU at a 1 GB limit: messages (24.5M rows) 5.3-6.0 instead of
# 8.3-12.9 s; actions and results (11.8M rows each) 2.9-3.8 against 3.0-3.3 s, no gain.
HASH_FIRST_TABLES = frozenset({"messages"})


def copied_keys_select(table: str, keys: str, hash_first: bool) -> str:
    """A SELECT of the ``keys`` (``uuid`` or ``uuid, seq``) that more than one row of ``table`` (with a uuid) holds.

    ``hash_first``: grouped on the keys' hash first, then only the rows whose hash occurs more than once on the keys
    themselves, which gives the same keys (two rows with the same keys have the same hash) from a grouping of
    8-byte values instead of 36-character strings over the whole table.
    """
    if not hash_first:
        return f"SELECT {keys} FROM {table} WHERE uuid IS NOT NULL GROUP BY {keys} HAVING count(*) > 1"
    return f"""SELECT {keys} FROM {table} WHERE uuid IS NOT NULL AND hash({keys}) IN (
    SELECT hash({keys}) FROM {table} WHERE uuid IS NOT NULL GROUP BY 1 HAVING count(*) > 1)
  GROUP BY {keys} HAVING count(*) > 1"""


def _dedup(table: str, out: str, cols: str, keep: str = "", hash_first: bool = False) -> str:
    """Statements that build ``out``: the rows of ``table`` with cross-file uuid copies removed, only ``cols``.

    Only (uuid, seq) pairs that occur more than once go through the window (bounded memory): the copy kept
    is the one in the file whose session started first. The candidates are kept in ``{out}_c`` with their
    ``rn`` (1 = kept), so the copies dropped from each session can be read later (``_cp``). ``keep``: a
    condition on ``session_key`` that the rows of ``out`` meet (``table`` may hold other sessions' copies).
    ``hash_first``: see :func:`copied_keys_select`.
    """
    tcols = ", ".join(f"t.{c.strip()}" for c in cols.split(","))
    where, and_ = (f"WHERE t.{keep}", f"AND {keep}") if keep else ("", "")
    return f"""
CREATE OR REPLACE TEMP TABLE {out}_d AS
  {copied_keys_select(table, "uuid, seq", hash_first)};
CREATE OR REPLACE TEMP TABLE {out}_c AS
  SELECT {tcols}, row_number() OVER (PARTITION BY t.uuid, t.seq ORDER BY r.rank, t.line) AS rn
  FROM {table} t SEMI JOIN {out}_d USING (uuid, seq) JOIN _frank r USING (file_id);
CREATE OR REPLACE TEMP TABLE {out} AS
  SELECT {tcols} FROM {table} t ANTI JOIN {out}_d USING (uuid, seq) {where}
  UNION ALL SELECT * EXCLUDE (rn) FROM {out}_c WHERE rn = 1 {and_}"""


def _once_per_call(src: str, out: str, order: str, where: str = "") -> str:
    """Statements that build ``out``: the rows of ``src`` (``_a`` or ``_r``) once per (session, chain, tool_use_id),
    the first in ``order`` (over ``r.rank``: the file rank where a session has several files, else 0; ``x.line``,
    ``x.seq``), without ``file_id``. As in :func:`_dedup`, only ids met more than once go through the window
    (``{out}_d``); a row without an id is kept unless ``where`` drops it."""
    keys = "session_key, is_subagent, tool_use_id"
    return f"""
CREATE OR REPLACE TEMP TABLE {out}_d AS
  SELECT {keys} FROM {src} WHERE tool_use_id IS NOT NULL GROUP BY ALL HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE {out} AS
  SELECT x.* EXCLUDE (file_id) FROM {src} x ANTI JOIN {out}_d USING ({keys}) {where}
  UNION ALL
  (SELECT x.* EXCLUDE (file_id) FROM {src} x SEMI JOIN {out}_d USING ({keys}) LEFT JOIN _mrank r USING (file_id)
   QUALIFY row_number() OVER (PARTITION BY x.session_key, x.is_subagent, x.tool_use_id ORDER BY {order}) = 1)"""


# The columns each measure reads (the raw tables also hold text heads: never copied here).
_COLS = {
    "prompts": "session_key, is_subagent, ts",
    "messages": "session_key, is_subagent, file_id, line, ts, msg_id, model, synthetic, visible_words, input_tokens, "
    "output_tokens, cache_read_tokens, cache_creation_tokens, cost_usd",
    "actions": "session_key, is_subagent, file_id, line, seq, tool_use_id, category, input_words, file_path, "
    "command IS NOT NULL AS has_command, is_test, is_commit, is_push",
    "results": "session_key, is_subagent, file_id, line, seq, ts, tool_use_id, is_error, rejected, interrupted, file_op, "
    "test_status, agent_id, agent_actions",
    "events": "session_key, is_subagent, kind, value",
}


# Every file's rank for the uuid-copy dedup (here and in classify's evidence): the file whose session started first.
# Copies carry their original timestamps, so a file that copied history starts with its original: then a main
# transcript before a subagent file that replays it, and the file that ended first (a resumed one goes on after).
# Only the order of two files' ranks matters (a copy's, a row's in its session), and it follows from the two files
# alone: ranking some of the files (measure's incremental runs) orders them as ranking all of them does.
_FILE_RANK_SELECT = """
  SELECT f.file_id, row_number() OVER (ORDER BY s.first_ts NULLS LAST, coalesce(f.role = 'subagent', false),
                                                s.last_ts NULLS LAST, f.path) AS rank
  FROM {files} f LEFT JOIN (SELECT file_id, min(first_ts) AS first_ts, max(last_ts) AS last_ts FROM {sf}
                          GROUP BY file_id) s USING (file_id)"""
FILE_RANK_SELECT = _FILE_RANK_SELECT.format(files="files", sf="session_files")

# The ranks of the files of sessions with several files (the rank of any other file reads as 0: a session of one
# file has one rank): what ordering a session's rows by (file rank, line) joins, a third of the files at 400K.
MULTI_FILE_RANK_SELECT = """
  SELECT r.file_id, r.rank FROM {ranks} r SEMI JOIN (
    SELECT file_id FROM session_files WHERE session_key IN (
      SELECT session_key FROM session_files GROUP BY session_key HAVING count(DISTINCT file_id) > 1)
  ) m USING (file_id)"""

_SQL = """
CREATE OR REPLACE TEMP TABLE _frank AS {file_rank};
CREATE OR REPLACE TEMP TABLE _mrank AS {multi_file_rank};
{dedup_prompts};
{dedup_messages};
{dedup_actions};
{dedup_results};
{dedup_events};
-- main-chain copies dropped from a session (resumed sessions that copied history): their time span, and the
-- span of the session's own rows of the same tables. The copies keep their original timestamps, so a session
-- that begins (or ends) with them starts (ends) at its own first (last) row instead (the UPDATE of _s)
CREATE OR REPLACE TEMP TABLE _cp AS
  SELECT session_key, min(ts) AS copy_first, max(ts) AS copy_last FROM (
    SELECT session_key, ts FROM _p_c WHERE rn > 1 AND NOT is_subagent
    UNION ALL SELECT session_key, ts FROM _m_c WHERE rn > 1 AND NOT is_subagent
    UNION ALL SELECT session_key, ts FROM _r_c WHERE rn > 1 AND NOT is_subagent)
  WHERE ts IS NOT NULL GROUP BY session_key;
CREATE OR REPLACE TEMP TABLE _own AS
  SELECT c.session_key, c.copy_first, c.copy_last, min(u.ts) AS own_first, max(u.ts) AS own_last
  FROM _cp c LEFT JOIN (
    SELECT session_key, ts FROM _p SEMI JOIN _cp USING (session_key) WHERE NOT is_subagent
    UNION ALL SELECT session_key, ts FROM _m SEMI JOIN _cp USING (session_key) WHERE NOT is_subagent
    UNION ALL SELECT session_key, ts FROM _r SEMI JOIN _cp USING (session_key) WHERE NOT is_subagent) u
  USING (session_key) GROUP BY c.session_key, c.copy_first, c.copy_last;
DROP TABLE _p_d;
DROP TABLE _p_c;
DROP TABLE _m_d;
DROP TABLE _m_c;
DROP TABLE _a_d;
DROP TABLE _a_c;
DROP TABLE _r_d;
DROP TABLE _r_c;
DROP TABLE _e_d;
DROP TABLE _e_c;
-- main sessions: one per main file's session key
CREATE OR REPLACE TEMP TABLE _s AS
  SELECT session_key,
         arg_min(session_id, k) AS session_id,
         arg_min(source, k) AS source,
         arg_min(user_key, k) AS user_key,
         arg_min(project_key, k) FILTER (WHERE project_key IS NOT NULL) AS project_key,
         min(first_ts) AS started_at, max(last_ts) AS ended_at,
         arg_max(version, kl) FILTER (WHERE version IS NOT NULL) AS version,
         arg_max(entrypoint, kl) FILTER (WHERE entrypoint IS NOT NULL) AS entrypoint
  FROM (SELECT *,
               -- files without timestamps (some formats record none) still give the session its source and user
               (coalesce(epoch_ms(first_ts), 9223372036854775807), file_id) AS k,
               (coalesce(epoch_ms(last_ts), -1), file_id) AS kl
        FROM {sf} WHERE role = 'main')
  GROUP BY session_key;
-- a session that begins (ends) with copied history starts (ends) at its own first (last) row
UPDATE _s SET started_at = CASE WHEN o.copy_first < o.own_first THEN o.own_first ELSE _s.started_at END,
              ended_at = CASE WHEN o.copy_last > o.own_last THEN o.own_last ELSE _s.ended_at END
FROM _own o WHERE _s.session_key = o.session_key;
DROP TABLE _own;
DROP TABLE _cp;
CREATE OR REPLACE TEMP TABLE _esum AS
  SELECT session_key,
    count(*) FILTER (WHERE kind = 'interrupt') AS interrupts,
    count(*) FILTER (WHERE kind = 'compaction') AS compactions,
    count(*) FILTER (WHERE kind = 'api_error') AS api_errors,
    sum(value) FILTER (WHERE kind = 'turn_duration') / 1000.0 AS turn_s
  FROM _e WHERE NOT is_subagent GROUP BY session_key;
DROP TABLE _e;
-- idle-capped activity where no turn durations exist (active_s reads turn_s first: sessions that have it skip the
-- window, 60 % of 400K generated sessions)
CREATE OR REPLACE TEMP TABLE _gap AS
  -- a session's first event has no gap (lag is NULL), and least() skips NULLs: the filter keeps it out of the sum
  SELECT session_key, sum(least(gap, {idle_cap})) FILTER (WHERE gap IS NOT NULL) AS gap_s FROM (
    SELECT session_key,
           epoch(ts) - epoch(lag(ts) OVER (PARTITION BY session_key ORDER BY ts)) AS gap
    FROM (SELECT session_key, ts FROM _p WHERE NOT is_subagent
          UNION ALL SELECT session_key, ts FROM _m WHERE NOT is_subagent
          UNION ALL SELECT session_key, ts FROM _r WHERE NOT is_subagent) u
    ANTI JOIN (SELECT session_key FROM _esum WHERE turn_s IS NOT NULL) t USING (session_key)
    WHERE ts IS NOT NULL
  ) GROUP BY session_key;
CREATE OR REPLACE TEMP TABLE _psum AS
  SELECT session_key, count(*) AS prompts FROM _p WHERE NOT is_subagent GROUP BY session_key;
DROP TABLE _p;
-- model names as small numbers in the message groups (a string per group made the grouping spill to disk)
-- ``shown``: the name the sessions table keeps. A local model server names a model by its file's path
-- (llama.cpp: "/home/<user>/models/qwen.gguf"), which names a person: only its last part is kept. A provider's
-- prefix ("unsloth/Qwen3-Coder", "openai/qwen3:32b") is no path and stays.
CREATE OR REPLACE TEMP TABLE _models AS
  SELECT model, row_number() OVER (ORDER BY model) AS mid,
         CASE WHEN regexp_matches(replace(model, chr(92), '/'), '^(/|~|[.][.]?/|[A-Za-z]:/)')
                   OR contains(model, chr(92)) OR length(model) - length(replace(model, '/', '')) >= 2
              THEN coalesce(nullif(regexp_extract(replace(model, chr(92), '/'), '([^/]+)/*$', 1), ''), '[path]')
              ELSE model END AS shown
  FROM (SELECT DISTINCT model FROM _m WHERE model IS NOT NULL);
-- assistant message groups: last line wins for usage
CREATE OR REPLACE TEMP TABLE _mg AS
  SELECT m.session_key, m.is_subagent,
         coalesce(m.msg_id, m.file_id || ':' || m.line) AS gid,
         bool_or(m.synthetic) AS synthetic,
         arg_max(m.mid, k) AS mid,
         sum(m.visible_words) AS visible_words,
         arg_max(m.input_tokens, k) AS input_tokens,
         arg_max(m.output_tokens, k) AS output_tokens,
         arg_max(m.cache_read_tokens, k) AS cache_read_tokens,
         arg_max(m.cache_creation_tokens, k) AS cache_creation_tokens,
         -- a recorded cost outside 0..{max_cost} dollars (NaN, infinite, 1e30: damaged) is not recorded; it made
         -- the exact sum below fail its DECIMAL cast, and with it every later build of the database's sessions
         max(m.cost_usd) FILTER (WHERE m.cost_usd BETWEEN 0 AND {max_cost}) AS cost_recorded
  FROM (SELECT m.*, d.mid, r.rank * 4294967296 + m.line AS k  -- the order of (rank, line): line < 2^31
        FROM _m m JOIN _frank r USING (file_id) LEFT JOIN _models d USING (model)) m
  GROUP BY m.session_key, m.is_subagent, gid;
DROP TABLE _m;
DROP TABLE _frank;
-- drop subagent copies of main-chain responses
DELETE FROM _mg WHERE is_subagent AND (session_key, gid) IN (SELECT session_key, gid FROM _mg WHERE NOT is_subagent);
-- prices per distinct model (the LIKE join runs once per model, not once per response): the whole row of the
-- longest matching pattern (the first such row on a tie). Its prices are NULL where the list says "unknown": they
-- are not replaced by a shorter pattern's (arg_max of each price skipped NULLs, so an unknown row lost to any
-- broader one).
CREATE OR REPLACE TEMP TABLE _price AS
  SELECT w.mid, pc.p_in, pc.p_out, pc.p_cw, pc.p_cr, pc.p_tier, pc.p_in_t, pc.p_out_t, pc.p_cw_t, pc.p_cr_t
  FROM (SELECT g.mid, arg_max(pc.ord, length(pc.pattern) * 1000000 - pc.ord) AS ord
        FROM _models g JOIN _pricing pc ON g.model ILIKE pc.pattern
        GROUP BY g.mid) w
  JOIN _pricing pc USING (ord);
CREATE OR REPLACE TEMP TABLE _mgc AS
  SELECT g.*, d.shown AS model,
         -- recorded, else priced from the list; a response with tokens but neither (a model without a listed
         -- price, or no model name) has an unknown cost: NULL, which makes its session's cost NULL (it counted 0,
         -- understating the cost of every session of such a model); one without tokens costs 0. A request whose
         -- input (input + cache read + cache creation tokens) exceeds the model's long-context tier is priced, all
         -- its tokens, at the tier's prices (Sonnet 4 / 4.5 with the 1M context beta, Gemini Pro above 200K)
         coalesce(g.cost_recorded,
           CASE WHEN coalesce(g.input_tokens, 0) + coalesce(g.cache_read_tokens, 0)
                     + coalesce(g.cache_creation_tokens, 0) > p.p_tier
                THEN g.input_tokens * p.p_in_t + g.output_tokens * p.p_out_t
                     + g.cache_creation_tokens * p.p_cw_t + g.cache_read_tokens * p.p_cr_t
                ELSE g.input_tokens * p.p_in + g.output_tokens * p.p_out
                     + g.cache_creation_tokens * p.p_cw + g.cache_read_tokens * p.p_cr END / 1e6,
           CASE WHEN coalesce(g.input_tokens, 0) + coalesce(g.output_tokens, 0) + coalesce(g.cache_creation_tokens, 0)
                     + coalesce(g.cache_read_tokens, 0) = 0 THEN 0 END) AS cost
  FROM _mg g LEFT JOIN _price p USING (mid) LEFT JOIN _models d USING (mid)
  WHERE NOT g.synthetic;
DROP TABLE _mg;
DROP TABLE _price;
DROP TABLE _models;
CREATE OR REPLACE TEMP TABLE _msum AS
  SELECT session_key,
         sum(visible_words) FILTER (WHERE NOT is_subagent) AS visible_words,
         sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
         sum(cache_read_tokens) AS cache_read_tokens, sum(cache_creation_tokens) AS cache_creation_tokens,
         sum(cost::DECIMAL(38, 12))::DOUBLE AS cost_usd,  -- exact sum: same result in any row order
         bool_or(cost IS NULL) AS cost_unknown,
         string_agg(DISTINCT model, ',' ORDER BY model) FILTER (WHERE model IS NOT NULL) AS models
  FROM _mgc GROUP BY session_key;
DROP TABLE _mgc;
-- tool calls once per id, with their results
-- (a call or result met in several files of a session: the first call and the last result in (file rank, line)
-- order, as classify's evidence reads them)
{once_calls};
DROP TABLE _a;
DROP TABLE _ac_d;
-- drop subagent replays of main-chain tool calls (a sidechain file may replay its parent's message under a new uuid)
DELETE FROM _ac WHERE is_subagent AND tool_use_id IS NOT NULL
  AND (session_key, tool_use_id) IN (SELECT session_key, tool_use_id FROM _ac WHERE NOT is_subagent AND tool_use_id IS NOT NULL);
{once_results};
DROP TABLE _rc_d;
DROP TABLE _mrank;
-- errors and rejections once per call, as the calls are counted (a format without line uuids copies a result
-- under another file: a Codex rollout and its archived copy), and each result without a call id as it is
CREATE OR REPLACE TEMP TABLE _rsum AS
  SELECT session_key,
    count(*) FILTER (WHERE is_error AND NOT rejected AND NOT interrupted) AS tool_errors,
    count(*) FILTER (WHERE rejected) AS rejections
  FROM (SELECT session_key, is_error, rejected, interrupted FROM _rc WHERE NOT is_subagent
        UNION ALL SELECT session_key, is_error, rejected, interrupted FROM _r
        WHERE NOT is_subagent AND tool_use_id IS NULL)
  GROUP BY session_key;
CREATE OR REPLACE TEMP TABLE _sub AS
  SELECT session_key, count(DISTINCT agent_id) AS subagents FROM (
    SELECT session_key, agent_id FROM {sf} WHERE role = 'subagent' AND agent_id IS NOT NULL
    UNION ALL SELECT session_key, agent_id FROM _r WHERE NOT is_subagent AND agent_id IS NOT NULL
  ) GROUP BY session_key;
CREATE OR REPLACE TEMP TABLE _subx AS
  SELECT r.session_key, sum(r.agent_actions) AS extra FROM _rc r
  WHERE NOT r.is_subagent AND r.agent_actions IS NOT NULL AND r.agent_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM {sf} sf WHERE sf.session_key = r.session_key
                    AND sf.role = 'subagent' AND sf.agent_id = r.agent_id)
  GROUP BY r.session_key;
DROP TABLE _r;
-- each call with its result, as a temp table read twice below: a MATERIALIZED CTE of it stays in memory, and at 400K
-- generated sessions (11.8M calls) that failed under the 512 MB limit in every try (8.8-9.6 s this way, 5.2-6.0 s
-- as a CTE under 2 GB); the distinct files counted from one (session, file) aggregate, not three DISTINCT
-- aggregates per session (6.5-6.7 s against 11.0-12.4 s, the same rows)
CREATE OR REPLACE TEMP TABLE _j AS
  SELECT a.session_key, a.is_subagent, a.input_words, a.category, a.file_path, a.has_command, a.is_test,
         a.is_commit, a.is_push, r.is_error, r.file_op, r.test_status
  FROM _ac a LEFT JOIN _rc r
    ON r.session_key = a.session_key AND r.is_subagent = a.is_subagent AND r.tool_use_id = a.tool_use_id;
DROP TABLE _ac;
DROP TABLE _rc;
CREATE OR REPLACE TEMP TABLE _asum AS
  WITH c AS (
    SELECT session_key,
      count(*) FILTER (WHERE NOT is_subagent) AS actions,
      sum(input_words) FILTER (WHERE NOT is_subagent) AS tool_words,
      count(*) FILTER (WHERE is_subagent) AS sub_actions,
      count(*) FILTER (WHERE NOT is_subagent AND category = 'shell' AND has_command) AS commands,
      count(*) FILTER (WHERE NOT is_subagent AND is_test) AS test_runs,
      count(*) FILTER (WHERE NOT is_subagent AND is_test AND (coalesce(is_error, false) OR test_status = 'fail'))
        AS test_failures,
      count(*) FILTER (WHERE NOT is_subagent AND is_commit AND NOT coalesce(is_error, false)) AS commits,
      count(*) FILTER (WHERE NOT is_subagent AND is_push AND NOT coalesce(is_error, false)) AS pushes
    FROM _j GROUP BY session_key),
  f AS (
    -- a file counts once per kind when any of its calls is of that kind (bool_or skips NULLs, as FILTER does)
    SELECT session_key, count(*) FILTER (WHERE rd) AS files_read, count(*) FILTER (WHERE ed) AS files_edited,
           count(*) FILTER (WHERE cr) AS files_created
    FROM (SELECT session_key, file_path,
                 bool_or(category = 'read') AS rd,
                 bool_or(coalesce(is_error, false) = false AND
                         (category = 'edit' OR (category = 'write' AND file_op = 'update'))) AS ed,
                 bool_or(coalesce(is_error, false) = false AND category = 'write'
                         AND coalesce(file_op, 'create') = 'create') AS cr
          FROM _j WHERE NOT is_subagent AND file_path IS NOT NULL GROUP BY session_key, file_path)
    GROUP BY session_key)
  SELECT c.session_key, c.actions, c.tool_words, c.sub_actions,
         coalesce(f.files_read, 0) AS files_read, coalesce(f.files_edited, 0) AS files_edited,
         coalesce(f.files_created, 0) AS files_created,
         c.commands, c.test_runs, c.test_failures, c.commits, c.pushes
  FROM c LEFT JOIN f USING (session_key);
DROP TABLE _j;
CREATE OR REPLACE TEMP TABLE _bad AS
  SELECT f.session_key, sum(l.count) AS bad_lines
  FROM ingest_log l JOIN files f USING (file_id)
  WHERE l.kind IN ('bad_json', 'bad_record') GROUP BY f.session_key;
"""

_FINAL_SELECT = """
SELECT
  s.session_key,
  s.session_id,
  s.source,
  left(sha256('{salt}|' || s.user_key), 16) AS "user",
  left(sha256('{salt}|' || s.project_key), 16) AS project,
  s.started_at, s.ended_at,
  -- both to the millisecond, and active time within the session's span: the epoch difference's float noise
  -- (21.50499999 s) fell below the rounded active_s (21.505), and recorded turns can run past the first and last
  -- timestamps (a Codex turn of 6.074 s in a 6.06 s session); a session without timestamps has no span to bound it
  round(coalesce(epoch(s.ended_at) - epoch(s.started_at), 0), 3)::DOUBLE AS duration_s,
  CASE WHEN s.started_at IS NOT NULL AND s.ended_at IS NOT NULL
       THEN least(round(coalesce(e.turn_s, g.gap_s, 0), 3), round(epoch(s.ended_at) - epoch(s.started_at), 3))
       ELSE round(coalesce(e.turn_s, g.gap_s, 0), 3) END::DOUBLE AS active_s,
  coalesce(p.prompts, 0)::BIGINT AS prompts,
  coalesce(a.actions, 0)::BIGINT AS actions,
  CASE WHEN coalesce(p.prompts, 0) > 0 THEN coalesce(a.actions, 0) / p.prompts END AS actions_per_prompt,
  (coalesce(m.visible_words, 0) + coalesce(a.tool_words, 0))::BIGINT AS output_words,
  coalesce(m.visible_words, 0)::BIGINT AS visible_words,
  CASE WHEN coalesce(p.prompts, 0) > 0
       THEN (coalesce(m.visible_words, 0) + coalesce(a.tool_words, 0)) / p.prompts END AS words_per_prompt,
  coalesce(m.input_tokens, 0)::BIGINT AS input_tokens,
  coalesce(m.output_tokens, 0)::BIGINT AS output_tokens,
  coalesce(m.cache_read_tokens, 0)::BIGINT AS cache_read_tokens,
  coalesce(m.cache_creation_tokens, 0)::BIGINT AS cache_creation_tokens,
  CASE WHEN m.cost_unknown THEN NULL ELSE round(coalesce(m.cost_usd, 0), 6) END::DOUBLE AS cost_usd,
  m.models,
  s.version,
  s.entrypoint,
  coalesce(a.files_read, 0)::BIGINT AS files_read,
  coalesce(a.files_edited, 0)::BIGINT AS files_edited,
  coalesce(a.files_created, 0)::BIGINT AS files_created,
  coalesce(a.commands, 0)::BIGINT AS commands,
  coalesce(a.test_runs, 0)::BIGINT AS test_runs,
  coalesce(a.test_failures, 0)::BIGINT AS test_failures,
  coalesce(a.commits, 0)::BIGINT AS commits,
  coalesce(a.pushes, 0)::BIGINT AS pushes,
  coalesce(r.tool_errors, 0)::BIGINT AS tool_errors,
  coalesce(e.interrupts, 0)::BIGINT AS interrupts,
  coalesce(r.rejections, 0)::BIGINT AS rejections,
  coalesce(e.compactions, 0)::BIGINT AS compactions,
  coalesce(sb.subagents, 0)::BIGINT AS subagents,
  (coalesce(a.sub_actions, 0) + coalesce(sx.extra, 0))::BIGINT AS subagent_actions,
  coalesce(b.bad_lines, 0)::BIGINT AS bad_lines,
  coalesce(e.api_errors, 0)::BIGINT AS api_errors
FROM _s s
LEFT JOIN _psum p USING (session_key)
LEFT JOIN _asum a USING (session_key)
LEFT JOIN _msum m USING (session_key)
LEFT JOIN _rsum r USING (session_key)
LEFT JOIN _esum e USING (session_key)
LEFT JOIN _gap g USING (session_key)
LEFT JOIN _sub sb USING (session_key)
LEFT JOIN _subx sx USING (session_key)
LEFT JOIN _bad b USING (session_key)
ORDER BY s.started_at NULLS LAST, s.session_key
"""



# What an incremental run reads of each raw table: every column but the text (an action's command only as whether
# there is one), as the full build's statements read them.
_NO_TEXT = {
    "prompts": "REPLACE (NULL::VARCHAR AS text)",
    "messages": "REPLACE (NULL::VARCHAR AS text)",
    "actions": "REPLACE (CASE WHEN command IS NOT NULL THEN '' END AS command)",
    "results": "REPLACE (NULL::VARCHAR AS text)",
    "events": "REPLACE (NULL::VARCHAR AS detail)",
}
_IN_SCOPE = "session_key IN (SELECT session_key FROM _scope)"

# The sessions to measure again (``_scope``) from what changed since the last run (``_dirty``, a copy of
# ``measure_dirty``): the sessions of the rows of the files written since and of the rows deleted since, and every
# session holding a copy (a uuid) of such a row. Which copy of a uuid counts follows from the ranks of the files
# holding it, and a file's rank from its own rows: a change elsewhere does not change it. So a session none of
# whose rows changed, sharing no uuid with a changed or deleted row, measures as it did.
_SCOPE_SQL = """
CREATE OR REPLACE TEMP TABLE _dfile AS SELECT DISTINCT file_id FROM _dirty WHERE file_id IS NOT NULL;
CREATE OR REPLACE TEMP TABLE _dsu AS
  SELECT session_key, uuid FROM _dirty WHERE file_id IS NULL
  UNION ALL SELECT session_key, NULL FROM session_files SEMI JOIN _dfile USING (file_id)
  UNION ALL SELECT session_key, NULL FROM files SEMI JOIN _dfile USING (file_id) WHERE session_key IS NOT NULL
  {file_rows};
CREATE OR REPLACE TEMP TABLE _du AS SELECT DISTINCT uuid FROM _dsu WHERE uuid IS NOT NULL;
CREATE OR REPLACE TEMP TABLE _scope AS
  SELECT DISTINCT session_key FROM _dsu WHERE session_key IS NOT NULL
  {copy_holders};
DROP TABLE _du;
DROP TABLE _dsu;
DROP TABLE _dfile"""

# An incremental run stops being worth it (a full build reads each table once, without the joins) past this
# share of the sessions (or of the files, before the sessions are looked up).
INCREMENTAL_MAX_SHARE = 0.25


def _scope_sql() -> str:
    tables = tuple(_NO_TEXT)
    return _SCOPE_SQL.format(
        file_rows="".join(f"\n  UNION ALL SELECT session_key, uuid FROM {t} SEMI JOIN _dfile USING (file_id)"
                          for t in tables),
        copy_holders="".join(f"\n  UNION SELECT session_key FROM {t} SEMI JOIN _du USING (uuid)" for t in tables),
    )


def _inputs_sql() -> str:
    """Statements that copy the rows of the sessions in ``_scope`` (``_in_<table>``, ``_in_sf``) with the other
    sessions' copies of their uuids (which copy counts depends on them), and ``_rk``: the files of those rows."""
    stmts = ["CREATE OR REPLACE TEMP TABLE _in_sf AS SELECT * FROM session_files SEMI JOIN _scope USING (session_key)"]
    for t, no_text in _NO_TEXT.items():
        stmts += [
            f"CREATE OR REPLACE TEMP TABLE _in_{t} AS SELECT * {no_text} FROM {t} SEMI JOIN _scope USING (session_key)",
            f"INSERT INTO _in_{t} SELECT * {no_text} FROM {t} ANTI JOIN _scope USING (session_key) "
            f"SEMI JOIN (SELECT DISTINCT uuid, seq FROM _in_{t} WHERE uuid IS NOT NULL) c USING (uuid, seq)",
        ]
    files = " UNION ALL ".join(f"SELECT file_id FROM _in_{t}" for t in (*_NO_TEXT, "sf"))
    stmts.append(f"CREATE OR REPLACE TEMP TABLE _rk AS SELECT DISTINCT file_id FROM ({files})")
    return ";\n".join(stmts) + ";\n"


def _measure_sql(scoped: bool) -> str:
    """The statements that build the temp tables :data:`_FINAL_SELECT` reads: over every session, or (``scoped``)
    over the sessions in ``_scope`` only, from the copies :func:`_inputs_sql` makes."""
    def dedup(t: str, out: str) -> str:
        if not scoped:
            return _dedup(t, out, _COLS[t], hash_first=t in HASH_FIRST_TABLES)
        return _dedup(f"_in_{t}", out, _COLS[t], keep=_IN_SCOPE) + f";\nDROP TABLE _in_{t}"

    multi = MULTI_FILE_RANK_SELECT.format(ranks="_frank")
    rank = FILE_RANK_SELECT
    if scoped:
        multi = multi.replace("session_files", "_in_sf")
        rank = _FILE_RANK_SELECT.format(files="(SELECT * FROM files SEMI JOIN _rk USING (file_id))",
                                        sf="(SELECT * FROM session_files SEMI JOIN _rk USING (file_id))")
    sql = _SQL.format(
        dedup_prompts=dedup("prompts", "_p"),
        dedup_messages=dedup("messages", "_m"),
        dedup_actions=dedup("actions", "_a"),
        dedup_results=dedup("results", "_r"),
        dedup_events=dedup("events", "_e"),
        idle_cap=IDLE_CAP_S,
        max_cost=MAX_RECORDED_COST_USD,
        file_rank=rank,
        multi_file_rank=multi,
        sf="_in_sf" if scoped else "session_files",
        once_calls=_once_per_call("_a", "_ac", "coalesce(r.rank, 0), x.line, x.seq"),
        once_results=_once_per_call("_r", "_rc", "coalesce(r.rank, 0) DESC, x.line DESC, x.seq DESC",
                                    where="WHERE x.tool_use_id IS NOT NULL"),
    )
    return _inputs_sql() + sql if scoped else sql


def _stamp(prices: dict[str, list[Any]]) -> str:
    """What the session rows were computed with (statements, prices): rows of another stamp are not mixed with
    new ones (an incremental run after an upgrade that changed them is a full build)."""
    text = _measure_sql(False) + _FINAL_SELECT + repr(sorted(prices.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def needs_measure(store: Store) -> bool:
    """Whether :func:`build_sessions` has anything to do: no ``sessions`` table yet, rows computed by other
    statements or prices (an upgrade of codecensus), or raw rows changed since it was built (also when a run was
    killed after the ingest committed and before measure did)."""
    if not store.table_exists("sessions"):
        return True
    if store.get_meta("measure_stamp") != _stamp(_pricing_rows()):
        return True  # rows of other statements or prices (an upgrade): measured again, unchanged corpus or not
    if not store.table_exists("measure_dirty"):
        return False
    row = store.one("SELECT count(*) FROM (SELECT 1 FROM measure_dirty LIMIT 1)")
    return bool(row and row[0])


def build_sessions(store: Store, *, full: bool = False) -> int:
    """Bring the ``sessions`` table up to date with the raw rows. Returns the session count.

    Incremental: only the sessions whose rows changed since the last run (``measure_dirty``, written by every
    writer of the raw tables in its own transaction) are measured again, with the sessions sharing copies with
    them; the result is the table a full build gives. ``full`` (or no ``sessions`` table, rows computed by other
    statements or prices, or too much changed): every session is measured again.
    """
    con = store.con
    salt = store.salt.replace("'", "")
    # From list parameters, not an Arrow table built from Python lists (pyarrow would import pandas).
    prices = _pricing_rows()
    stamp = _stamp(prices)
    # What changed, as it is now: measured below, and cleared in the transaction that writes its sessions (a run
    # killed before leaves it whole for the next one)
    con.execute("CREATE OR REPLACE TEMP TABLE _dirty AS SELECT DISTINCT file_id, session_key, uuid FROM measure_dirty")
    try:
        scoped = not full and _can_be_incremental(store, stamp)
        if scoped:
            row = store.one("SELECT count(*) FROM _dirty")
            if not (row and row[0]):
                return _count(store)  # nothing changed
            for stmt in _scope_sql().split(";\n"):
                con.execute(stmt)
            n_scope = (store.one("SELECT count(*) FROM _scope") or (0,))[0]
            scoped = n_scope <= INCREMENTAL_MAX_SHARE * _count(store)
        if scoped:
            log.info("measure: %d session(s) to measure again", n_scope)
        else:
            log.info("measure: every session measured again")
        sql = _measure_sql(scoped)
        # Bounded memory: DuckDB spills what it can to its temp directory, but some operators (the message
        # groups' aggregate) cannot; when one runs out, the temp tables are dropped (``sessions`` is untouched) and
        # the statements retried with a larger limit, so a big corpus costs memory only when it must. The first
        # limit follows the largest raw table (see _measure_limits), so a large store does not lose a failed
        # attempt first.
        limits = _measure_limits(store)
        for i, limit in enumerate(limits):
            try:
                with store.memory_limit(limit):
                    con.execute(
                        "CREATE OR REPLACE TEMP TABLE _pricing AS SELECT unnest($ord::BIGINT[]) AS ord, "
                        "unnest($pattern::VARCHAR[]) AS pattern, "
                        "unnest($p_in::DOUBLE[]) AS p_in, unnest($p_out::DOUBLE[]) AS p_out, "
                        "unnest($p_cw::DOUBLE[]) AS p_cw, unnest($p_cr::DOUBLE[]) AS p_cr, "
                        "unnest($p_tier::BIGINT[]) AS p_tier, "
                        "unnest($p_in_t::DOUBLE[]) AS p_in_t, unnest($p_out_t::DOUBLE[]) AS p_out_t, "
                        "unnest($p_cw_t::DOUBLE[]) AS p_cw_t, unnest($p_cr_t::DOUBLE[]) AS p_cr_t",
                        prices,
                    )
                    _run(store, sql, salt, scoped, stamp)  # drops _pricing and the other temp tables, whatever happens
                break
            except duckdb.OutOfMemoryException:
                if i == len(limits) - 1:
                    raise
                log.warning("measure: out of memory at memory_limit=%s; retrying with a larger limit", limit)
    finally:
        for t in ("_dirty", "_scope", "_rk"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    return _count(store)


def _count(store: Store) -> int:
    row = store.one("SELECT count(*) FROM sessions")
    return int(row[0]) if row else 0


def _can_be_incremental(store: Store, stamp: str) -> bool:
    """A ``sessions`` table of the same statements and prices, no "everything changed" row in ``measure_dirty``,
    and at most :data:`INCREMENTAL_MAX_SHARE` of the files written since."""
    if not store.table_exists("sessions") or store.get_meta("measure_stamp") != stamp:
        return False
    row = store.one(
        "SELECT count(*) FILTER (WHERE file_id IS NULL AND session_key IS NULL AND uuid IS NULL), "
        "count(DISTINCT file_id) FROM _dirty"
    )
    files = store.one("SELECT count(*) FROM files")
    return bool(row and not row[0] and row[1] <= INCREMENTAL_MAX_SHARE * max(1, files[0] if files else 0))


_MEASURE_RETRY = ("512MB", "2GB", "8GB")
# Where to start without ``$CODECENSUS_MEASURE_MEMORY``: the first limit of 128MB and the ladder above that covers
# this many bytes per row of the largest raw table. 400K generated sessions (24.5M message rows) failed at 128 MB
# (4.5 s of work lost before the retry at 512 MB) and fit in 512 MB; 20 bytes a row starts them there.
MEASURE_BYTES_PER_ROW = 20


def _measure_limits(store: Store) -> list[str]:
    """DuckDB memory limits to try in turn: ``$CODECENSUS_MEASURE_MEMORY`` when set, else the first of 128MB and
    the larger ones that covers :data:`MEASURE_BYTES_PER_ROW` per row of the largest raw table; then larger ones."""
    first = os.environ.get("CODECENSUS_MEASURE_MEMORY")
    if first:
        return [first, *_MEASURE_RETRY]
    ladder = ["128MB", *_MEASURE_RETRY]
    need = MEASURE_BYTES_PER_ROW * store.largest_table_rows(("prompts", "messages", "actions", "results", "events"))
    start = next((i for i, lim in enumerate(ladder) if (parse_size(lim) or 0) >= need), len(ladder) - 1)
    return ladder[start:]


_TEMP_RE = re.compile(r"CREATE OR REPLACE TEMP TABLE (\w+)")


def _run(store: Store, sql: str, salt: str, scoped: bool, stamp: str) -> None:
    """The temp tables, each dropped once the last statement reading it is done, then ``sessions`` in one
    transaction with the clearing of what it measured (``_dirty``) and its stamp: a failure or a kill before the
    commit leaves the old table whole and the changes still to measure.

    No transaction around the temp tables: inside one, DuckDB keeps a dropped table's memory until the commit, and
    the temp tables of a large store then spill to disk (400K generated sessions under 1 GB: 99 s in one
    transaction, 87 s without, the same statements otherwise).

    ``scoped``: the rows of the sessions in ``_scope`` are replaced (a session no longer there is removed);
    otherwise the whole table is.
    """
    con = store.con
    select = _FINAL_SELECT.format(salt=salt)
    try:
        for stmt in sql.split(";\n"):
            if stmt.strip():
                con.execute(stmt)
        con.execute("BEGIN TRANSACTION")
        try:
            if scoped:
                con.execute(f"DELETE FROM sessions WHERE {_IN_SCOPE}")
                con.execute(f"INSERT INTO sessions {select}")
            else:
                con.execute(f"CREATE OR REPLACE TABLE sessions AS {select}")
            # what was measured leaves the table, which is made anew (a DELETE would keep the deleted rows in
            # memory until the next checkpoint: every row after a cold ingest)
            con.execute(
                "CREATE OR REPLACE TABLE measure_dirty AS SELECT d.* FROM measure_dirty d WHERE NOT EXISTS (SELECT 1 "
                "FROM _dirty x WHERE d.file_id IS NOT DISTINCT FROM x.file_id AND d.session_key IS NOT DISTINCT FROM "
                "x.session_key AND d.uuid IS NOT DISTINCT FROM x.uuid)"
            )
            store.set_meta("measure_stamp", stamp)
            con.execute("COMMIT")
        except BaseException:
            rollback(con)
            raise
    finally:
        for t in (*dict.fromkeys(_TEMP_RE.findall(sql)), "_pricing"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
