"""The classify driver: select sessions, load their evidence in bulk, call a backend, store facets.

Results go to the ``facets`` table, one row per ``session_key`` (the latest
classification), with backend, model, rubric hash, confidences and a
timestamp, so runs are comparable only within one (backend, model, rubric
hash). Every summary passes through :func:`codecensus.redact.get_redactor`
before it is stored. Sessions already classified with the same backend,
model and rubric hash are skipped unless ``force``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from codecensus.classify.base import Backend, Facets, SessionEvidence
from codecensus.classify.evidence import iter_evidence, reading_memory, reading_order
from codecensus.classify.value import value_usd, wage
from codecensus.store import Store, rollback
from codecensus.taxonomy import ABSTAINING_FACETS, NOT_INFERABLE, abstains_sql

FACETS_TABLE = "facets"
FACETS_SCHEMA = pa.schema(
    [
        ("session_key", pa.string()),
        ("session_id", pa.string()),
        ("mode", pa.string()),
        ("mode_confidence", pa.float64()),
        ("occupation", pa.string()),
        ("occupation_confidence", pa.float64()),
        ("expertise", pa.int32()),
        ("expertise_confidence", pa.float64()),
        ("outcome", pa.string()),
        ("outcome_confidence", pa.float64()),
        ("outcome_score", pa.float64()),
        ("outcome_evidence", pa.string()),  # comma-separated EvidenceKind values ('' when none)
        ("trouble", pa.bool_()),
        ("recovered", pa.bool_()),
        ("abandoned", pa.bool_()),
        ("user_planning_pct", pa.float64()),
        ("user_execution_pct", pa.float64()),
        ("value_hours", pa.float64()),
        ("value_soc", pa.string()),
        ("value_wage", pa.float64()),  # median hourly wage used (USD)
        ("value_usd", pa.float64()),
        ("summary", pa.string()),
        ("backend", pa.string()),
        ("model", pa.string()),
        ("rubric_hash", pa.string()),
        ("classified_at", pa.timestamp("ms", tz="UTC")),
        # the backend could not answer (an LLM's reply failed validation and repair, or was refused): mode, expertise,
        # decisions and value hold placeholders (classify.llm.abstention) that reports must leave out
        ("abstained", pa.bool_()),
        # why each facet that can abstain did (expertise NULL, occupation 'not_inferable', outcome 'unclear'): a key of
        # taxonomy.ABSTENTION_REASONS; NULL when the facet holds a finding
        ("expertise_reason", pa.string()),
        ("occupation_reason", pa.string()),
        ("outcome_reason", pa.string()),
    ]
)
_DUCK = {
    pa.string(): "VARCHAR",
    pa.float64(): "DOUBLE",
    pa.int32(): "INTEGER",
    pa.bool_(): "BOOLEAN",
    pa.timestamp("ms", tz="UTC"): "TIMESTAMPTZ",
}


@dataclass(slots=True)
class ClassifyStats:
    backend: str
    model: str
    rubric_hash: str
    sessions_total: int = 0
    selected: int = 0
    skipped_already_classified: int = 0
    classified: int = 0
    abstained: int = 0  # stored as the abstention result (no valid answer): in no mode count
    abstained_occupation: int = 0
    abstained_expertise: int = 0  # expertise NULL: no human prompt to judge from, or the whole session abstained
    unclear_outcome: int = 0
    seconds: float = 0.0
    sessions_per_second: float = 0.0
    stopped: str | None = None  # why the run stopped early (budget, API error)
    by_mode: dict[str, int] = field(default_factory=dict)
    # facet -> reason (taxonomy.ABSTENTION_REASONS) -> sessions of this run whose facet abstained for it
    abstention_reasons: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ensure_facets_table(store: Store) -> None:
    con = store.con
    cols = ", ".join(f'"{f.name}" {_DUCK[f.type]}' for f in FACETS_SCHEMA)
    con.execute(f"CREATE TABLE IF NOT EXISTS {FACETS_TABLE} ({cols})")
    have = {r[0] for r in con.execute(f"DESCRIBE {FACETS_TABLE}").fetchall()}
    for f in FACETS_SCHEMA:
        if f.name not in have:
            con.execute(f'ALTER TABLE {FACETS_TABLE} ADD COLUMN "{f.name}" {_DUCK[f.type]}')
    if "abstained" not in have:
        # rows written before the column existed: marked by the abstention result's signature
        from codecensus.classify.llm import ABSTENTION_SIGNATURE

        cond = " AND ".join(f'"{k}" = ?' for k in ABSTENTION_SIGNATURE)  # a summary is never stored as NULL
        con.execute(f"UPDATE {FACETS_TABLE} SET abstained = coalesce({cond}, false)", list(ABSTENTION_SIGNATURE.values()))
    # abstentions stored when the abstention result held a placeholder level (3): no level, as stored today
    con.execute(f"UPDATE {FACETS_TABLE} SET expertise = NULL, expertise_confidence = 0 "
                "WHERE abstained AND expertise IS NOT NULL")
    for facet in ABSTAINING_FACETS:
        if f"{facet}_reason" not in have:  # rows classified before reasons were stored
            con.execute(f"UPDATE {FACETS_TABLE} SET {facet}_reason = 'not_recorded' WHERE {abstains_sql(facet)}")


def select_sessions(
    store: Store,
    *,
    backend: str,
    model: str,
    rubric_hash: str,
    since: str | None = None,
    limit: int | None = None,
    force: bool = False,
) -> tuple[list[str], int, int]:
    """Session keys to classify (most recent first), the number skipped as done, and the total in range."""
    where = []
    params: list[Any] = []
    if since:
        where.append("s.started_at >= CAST(? AS TIMESTAMPTZ)")
        params.append(since)
    cond = ("WHERE " + " AND ".join(where)) if where else ""
    rows = store.con.execute(
        f"SELECT s.session_key FROM sessions s {cond} ORDER BY s.started_at DESC NULLS LAST, s.session_key", params
    ).fetchall()
    keys = [r[0] for r in rows]
    total = len(keys)
    skipped = 0
    if not force and store.table_exists(FACETS_TABLE):
        done = {
            r[0]
            for r in store.con.execute(
                f"SELECT session_key FROM {FACETS_TABLE} WHERE backend = ? AND model = ? AND rubric_hash = ?",
                [backend, model, rubric_hash],
            ).fetchall()
        }
        before = len(keys)
        keys = [k for k in keys if k not in done]
        skipped = before - len(keys)
    if limit is not None:
        keys = keys[: max(0, limit)]
    return keys, skipped, total


def facets_rows(
    keys: list[str],
    session_ids: list[str],
    facets: list[Facets],
    *,
    backend: str,
    model: str,
    rubric_hash: str,
    redact: Callable[[str], str],
    now: datetime,
) -> pa.Table:
    from codecensus.classify.llm import is_abstention

    cols: dict[str, list[Any]] = {f.name: [] for f in FACETS_SCHEMA}
    redacted: dict[str, str] = {}  # summaries repeat (generic phrases): each distinct one is redacted once

    def redact_once(text: str) -> str:
        out = redacted.get(text)
        if out is None:
            out = redacted[text] = redact(text)
        return out

    for key, sid, fc in zip(keys, session_ids, facets, strict=True):
        w = wage(fc.value_soc)
        row = {
            "session_key": key,
            "session_id": sid,
            "mode": fc.mode,
            "mode_confidence": fc.mode_confidence,
            "occupation": fc.occupation,
            "occupation_confidence": fc.occupation_confidence,
            "expertise": fc.expertise,
            "expertise_confidence": fc.expertise_confidence,
            "outcome": fc.outcome,
            "outcome_confidence": fc.outcome_confidence,
            "outcome_score": fc.outcome_score,
            "outcome_evidence": ",".join(fc.outcome_evidence),
            "trouble": fc.trouble,
            "recovered": fc.recovered,
            "abandoned": fc.abandoned,
            "user_planning_pct": fc.user_planning_pct,
            "user_execution_pct": fc.user_execution_pct,
            "value_hours": fc.value_hours,
            "value_soc": fc.value_soc,
            "value_wage": w.hourly_median,
            "value_usd": value_usd(fc.value_hours, fc.value_soc),
            "summary": redact_once(fc.summary or ""),
            "backend": backend,
            "model": model,
            "rubric_hash": rubric_hash,
            "classified_at": now,
            "abstained": is_abstention(fc),
            **abstention_reasons(fc),
        }
        if row["abstained"]:  # no value rather than 0 USD: a direct query or export would average the zeros in
            row["value_hours"] = row["value_wage"] = row["value_usd"] = None
        for k, v in row.items():
            cols[k].append(v)
    return pa.Table.from_pydict(cols, schema=FACETS_SCHEMA)


def abstention_reasons(fc: Facets) -> dict[str, str | None]:
    """The ``<facet>_reason`` columns of one result: the backend's reason where the facet abstains ('not_recorded'
    when it gave none), NULL where it holds a finding (a reason beside a finding says nothing)."""
    abstains = {"expertise": fc.expertise is None, "occupation": fc.occupation == NOT_INFERABLE,
                "outcome": fc.outcome == "unclear"}
    return {f"{k}_reason": (getattr(fc, f"{k}_reason") or "not_recorded") if a else None for k, a in abstains.items()}


def write_facets(store: Store, tbl: pa.Table) -> None:
    """Replace these sessions' rows in ``facets`` (one transaction)."""
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("_facets_new", tbl)
        con.execute(f"DELETE FROM {FACETS_TABLE} WHERE session_key IN (SELECT session_key FROM _facets_new)")
        names = ", ".join(f'"{n}"' for n in tbl.schema.names)
        con.execute(f"INSERT INTO {FACETS_TABLE} ({names}) SELECT {names} FROM _facets_new")
        con.unregister("_facets_new")
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise


def _default_redact() -> Callable[[str], str]:
    from codecensus.redact import get_redactor

    return get_redactor().redact


def classify_store(
    store: Store,
    backend: Backend,
    *,
    since: str | None = None,
    limit: int | None = None,
    force: bool = False,
    batch_size: int = 1000,
    redact: Callable[[str], str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ClassifyStats:
    """Classify the selected sessions of ``store`` with ``backend`` and store the facets."""
    t0 = time.perf_counter()
    ensure_facets_table(store)
    stats = ClassifyStats(backend.name, backend.model, backend.rubric_hash)
    keys, skipped, total = select_sessions(
        store, backend=backend.name, model=backend.model, rubric_hash=backend.rubric_hash, since=since,
        limit=limit, force=force,
    )
    stats.sessions_total, stats.skipped_already_classified, stats.selected = total, skipped, len(keys)
    redact = redact or _default_redact()
    by_mode: dict[str, int] = {}
    batches = iter_evidence(store, keys, batch_size=batch_size, order=reading_order(backend.name))
    with reading_memory(store), contextlib.closing(batches):
        _classify_batches(store, backend, batches, stats, redact, by_mode, len(keys), progress)
    stats.by_mode = dict(sorted(by_mode.items(), key=lambda kv: -kv[1]))
    stats.seconds = round(time.perf_counter() - t0, 3)
    stats.sessions_per_second = round(stats.classified / stats.seconds, 2) if stats.seconds > 0 else 0.0
    return stats


def tally(stats: ClassifyStats, by_mode: dict[str, int], tbl: pa.Table) -> None:
    """Count stored facet rows into a run's account: an abstention (its mode is a placeholder, not a finding)
    in ``stats.abstained`` and in no mode."""
    for mode, abstained, occ, outcome, exp in zip(*(tbl.column(c).to_pylist() for c in
                                                   ("mode", "abstained", "occupation", "outcome", "expertise")),
                                                 strict=True):
        if abstained:
            stats.abstained += 1
        else:
            by_mode[mode] = by_mode.get(mode, 0) + 1
        stats.abstained_occupation += occ == "not_inferable"
        stats.unclear_outcome += outcome == "unclear"
        stats.abstained_expertise += exp is None
    for facet in ABSTAINING_FACETS:
        counts = stats.abstention_reasons.setdefault(facet, {})
        for reason in tbl.column(f"{facet}_reason").to_pylist():
            if reason is not None:
                counts[reason] = counts.get(reason, 0) + 1


def is_empty(ev: SessionEvidence) -> bool:
    """Nothing to classify: no prompt, no tool call, no reply (a session opened and closed)."""
    return not ev.prompts and not ev.actions and not ev.replies


def classify_batch(backend: Backend, batch: list[SessionEvidence]) -> tuple[list[Facets | None], str | None]:
    """One batch's facets, in order, and why the backend stopped (None: it did not).

    A session with nothing in it is not sent: it abstains (classify.llm.abstention: in no mode, outcome unclear,
    occupation not inferable). When the backend stops (budget, API failure), the sessions it did not answer are
    None and stay unclassified.
    """
    from codecensus.classify.llm import abstention

    empty = [is_empty(ev) for ev in batch]
    send = [ev for ev, e in zip(batch, empty, strict=True) if not e]
    stopped = None
    try:
        got: list[Facets | None] = list(backend.classify(send)) if send else []
    except Exception as exc:  # budget exhausted or API failure: keep what was answered, then stop
        partial = getattr(exc, "partial", None)
        if partial is None:
            raise
        got = list(partial)
        stopped = f"{type(exc).__name__}: {exc}"
    answers = iter(got)
    return [abstention("empty_session") if e else next(answers) for e in empty], stopped


def _classify_batches(
    store: Store,
    backend: Backend,
    batches: Generator[list[SessionEvidence], None, None],
    stats: ClassifyStats,
    redact: Callable[[str], str],
    by_mode: dict[str, int],
    n_keys: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    done = 0
    for batch in batches:
        if not batch:
            continue
        facets, stopped = classify_batch(backend, batch)
        if stopped is not None:
            stats.stopped = stopped
        kept = [(ev, fc) for ev, fc in zip(batch, facets, strict=True) if fc is not None]
        if kept:
            tbl = facets_rows(
                [ev.session_key for ev, _ in kept],
                [ev.session_id for ev, _ in kept],
                [fc for _, fc in kept],  # type: ignore[misc]
                backend=backend.name,
                model=backend.model,
                rubric_hash=backend.rubric_hash,
                redact=redact,
                now=datetime.now(UTC),
            )
            write_facets(store, tbl)
            tally(stats, by_mode, tbl)
        done += len(kept)
        stats.classified = done
        if progress is not None:
            progress(done, n_keys)
        if stats.stopped:
            break


def make_backend(
    name: str,
    *,
    model: str | None = None,
    base_url: str | None = None,
    budget_usd: float | None = None,
    store: Store | None = None,
    embedder: str | None = "use",
    concurrency: int | None = None,
    timeout_s: float | None = None,
    max_retries: int | None = None,
    batch: bool = False,
    ner: bool | None = None,
    price_in: float | None = None,
    price_out: float | None = None,
) -> Backend:
    """'offline' (default) or an LLM backend ('anthropic', 'openai') from :mod:`codecensus.classify.llm`.

    ``concurrency`` (requests in flight), ``timeout_s`` (per attempt), ``max_retries`` (per request), ``ner`` (the
    digests' redaction runs the NER model) and ``price_in`` / ``price_out`` (USD per million input / output tokens,
    instead of the price list's) are the LLM backends' (None: their defaults); the offline backend sends no text
    anywhere and takes none of them. An LLM backend refuses ``budget_usd`` when its model has no known price.
    """
    if name == "offline":
        from codecensus.classify.offline import OfflineBackend

        given = [k for k, v in (("budget_usd", budget_usd), ("concurrency", concurrency), ("timeout_s", timeout_s),
                                ("max_retries", max_retries), ("batch", batch or None), ("ner", ner),
                                ("price_in", price_in), ("price_out", price_out)) if v is not None]
        if given:
            raise ValueError(f"{', '.join(given)}: options of the LLM backends; the offline backend makes no requests")

        return OfflineBackend(embedder=embedder, store=store)
    from codecensus.classify.llm import make_backend as make_llm

    opts: dict[str, Any] = {"store": store}
    if batch:  # Anthropic's Message Batches
        if name != "anthropic":
            raise ValueError("batch: Message Batches are the anthropic backend's")
        opts["batch"] = True
    for k, v in (("budget_usd", budget_usd), ("concurrency", concurrency), ("timeout_s", timeout_s),
                 ("max_retries", max_retries), ("ner", ner), ("price_in", price_in), ("price_out", price_out)):
        if v is not None:
            opts[k] = v
    return make_llm(name, model=model, base_url=base_url, **opts)


def describe_backend(backend: Backend) -> dict[str, Any]:
    """What the run manifest records about a backend (versions, thresholds, weights, hashes)."""
    describe = getattr(backend, "describe", None)
    if callable(describe):
        out = dict(describe())
    else:
        out = {"backend": backend.name, "model": backend.model, "rubric_hash": backend.rubric_hash}
    if backend.name == "offline":
        from codecensus.classify.offline import WEIGHTS
        from codecensus.classify.prototypes import prototype_hash
        from codecensus.classify.value import HOURS_MODEL, WAGE_RELEASE

        out.update(
            {
                "weights": {k: repr(v) for k, v in WEIGHTS.items()},
                "prototype_hash": prototype_hash(),
                "hours_model": HOURS_MODEL,
                "wages": WAGE_RELEASE,
            }
        )
    return out


__all__ = [
    "FACETS_SCHEMA",
    "abstention_reasons",
    "FACETS_TABLE",
    "ClassifyStats",
    "classify_store",
    "describe_backend",
    "ensure_facets_table",
    "facets_rows",
    "make_backend",
    "select_sessions",
    "write_facets",
]
