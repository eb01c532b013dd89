"""Work units of the distributed engine, free of any engine API (plain functions over Arrow).

:func:`parse_files` is what one Ray task runs on a batch of input files: the
same parsers as the single-machine ingest (``registry.get(name).parse(ctx)``),
raw rows written as Parquet parts, and one bookkeeping row per file returned.
Being engine-free, it is unit-tested without a cluster and could back any
other engine (Dask, Spark, a batch queue).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from codecensus.engine.fs import FileSpec, fetched, remote_file_id
from codecensus.engine.parquet import FILES_SCHEMA, part_name, write_tables
from codecensus.paths import as_text
from codecensus.records import ParseResult, stored_text
from codecensus.sources import base as registry
from codecensus.sources.base import FileContext, Parser

_ROW_LISTS = ("sessions", "prompts", "messages", "actions", "results", "events", "bad")


def _fingerprints(path: Any, consumed: int) -> tuple[str, str]:
    from codecensus.ingest import _fingerprints as fp

    return fp(path, consumed)


def _parse_one(spec: FileSpec, *, settle_s: float, now: float, fmt: str | None,
               salt: str) -> tuple[dict[str, Any], dict[str, Any]]:
    row: dict[str, Any] = {
        "file_id": spec.file_id or None,
        "path": as_text(spec.url),  # a local name need not be UTF-8 (stored as the local ingest stores it)
        "source": spec.parser or None,
        "role": None,
        "session_key": None,
        "user_name": stored_text(spec.user),
        "size": spec.size,
        "mtime_ns": spec.mtime_ns,
        "consumed": 0,
        "lines": 0,
        "head_hash": "",
        "tail_hash": "",
        "parser_version": None,
        "replace": spec.replace,
        "status": "failed",
        "error": None,
        "bad_lines": 0,
        "sessions": [],
        "ord": spec.ord,
        "checked_at": spec.checked_at,
        "ctime_ns": spec.ctime_ns,
        "inode": spec.inode,
    }
    tables: dict[str, Any] = {}
    try:
        with fetched(spec) as path:
            parser: Parser | None
            if spec.parser:
                parser = registry.get(spec.parser)
            elif fmt:
                forced = registry.get(fmt)
                head = b"" if path.is_dir() else registry.read_head(path)
                parser = forced if forced.detect(path, head) > 0 else None
            else:
                parser = registry.detect(path)
            if parser is None:
                row["status"] = "undetected"
                return row, tables
            file_id = spec.file_id or remote_file_id(spec.url, parser.name)
            final = (now - spec.mtime_ns / 1e9) >= settle_s
            ctx = FileContext(path=path, file_id=file_id, user=spec.user, final=final, salt=salt)
            result = parser.parse(ctx)
            is_dir = path.is_dir()
            consumed = result.consumed if not is_dir else spec.size
            head, tail = _fingerprints(path, consumed) if not is_dir else ("", "")
            role = parser.role(path)
        if result.unreadable and spec.replace:
            # a document cut short (rewritten whole, caught mid-write) would replace the sessions stored from it by
            # none: reported as failed, so they are kept and the file is read again next run (as a local ingest does)
            row["error"] = as_text(f"not readable as JSON ({result.unreadable}): cut short or damaged, perhaps still "
                                   "being written; the sessions stored from it earlier are kept")
            return row, tables
        if result.arrow is not None:  # a parser that returned Arrow already
            tables = dict(result.arrow)
            if not spec.local and tables["ingest_log"].num_rows:
                log = tables["ingest_log"]
                i = log.schema.get_field_index("path")
                tables["ingest_log"] = log.set_column(i, "path", pa.array([spec.url] * log.num_rows, pa.string()))
            bad = tables["ingest_log"]
            mask = pc.is_in(bad["kind"], pa.array(["bad_json", "bad_record"]))
            bad_lines = int(pc.sum(pc.if_else(mask, bad["count"], 0)).as_py() or 0) if bad.num_rows else 0
        else:  # Python rows: converted to Arrow once per batch (per-file conversion costs ~40 % of parsing)
            if not spec.local:
                for b in result.bad:
                    b.path = spec.url
            bad_lines = sum(b.count for b in result.bad if b.kind in ("bad_json", "bad_record"))
            tables = {"_result": result}  # type: ignore[dict-item]
        row.update(
            file_id=file_id,
            source=parser.name,
            role=role,
            session_key=stored_text(result.sessions[0].session_key) if result.sessions else None,
            consumed=consumed,
            lines=result.lines,
            head_hash=head,
            tail_hash=tail,
            parser_version=parser.version,
            status="parsed",
            bad_lines=bad_lines,
            sessions=sorted({stored_text(s.session_key) for s in result.sessions}),
        )
    except Exception as exc:  # a parser bug must not stop the run: the file is reported, nothing of it is loaded
        row["error"] = as_text(f"{type(exc).__name__}: {exc}"[:500])
        tables = {}
    return row, tables


def parse_files(
    specs: Sequence[dict[str, Any]],
    *,
    out: str,
    salt: str,
    out_options: dict[str, Any] | None = None,
    settle_s: float = 60.0,
    now: float | None = None,
    fmt: str | None = None,
) -> pa.Table:
    """Parse a batch of files (``FileSpec`` rows), write their raw rows under ``out``, return their ``files`` rows.

    ``salt``: the salt of the store the rows go to (``Store.salt``), which the parsers hash ids a user may fill
    with (FileContext.salt), as the local ingest does: required, so no caller gets ids of another salt by default."""
    now = time.time() if now is None else now
    rows: list[dict[str, Any]] = []
    collected: dict[str, list[pa.Table]] = {}
    merged = ParseResult()  # Python rows of consecutive files, converted together

    def flush() -> None:
        nonlocal merged
        if any(getattr(merged, k) for k in _ROW_LISTS):
            for name, tbl in merged.tables().items():
                if tbl.num_rows:
                    collected.setdefault(name, []).append(tbl)
        merged = ParseResult()

    for d in specs:
        spec = FileSpec(**{k: d[k] for k in FileSpec.__dataclass_fields__ if k in d})
        row, tables = _parse_one(spec, settle_s=settle_s, now=now, fmt=fmt, salt=salt)
        rows.append(row)
        if "_result" in tables:
            res = tables["_result"]
            for k in _ROW_LISTS:
                getattr(merged, k).extend(getattr(res, k))
            continue
        flush()  # keep file order: rows before an Arrow-returning file are converted first
        for name, tbl in tables.items():
            if tbl.num_rows:
                collected.setdefault(name, []).append(tbl)
    flush()
    if collected:
        write_tables(out, collected, part_name(r["path"] for r in rows), out_options)
    return pa.Table.from_pylist(rows, schema=FILES_SCHEMA)


# -- classify ------------------------------------------------------------------------------------------
EVIDENCE_SCHEMA = pa.schema([("session_key", pa.string()), ("evidence", pa.binary())])


def evidence_table(batch: Sequence[Any]) -> pa.Table:
    """SessionEvidence objects as rows (pickled: they never leave the cluster's own storage)."""
    import pickle

    return pa.table(
        {
            "session_key": [ev.session_key for ev in batch],
            "evidence": [pickle.dumps(ev, protocol=pickle.HIGHEST_PROTOCOL) for ev in batch],
        },
        schema=EVIDENCE_SCHEMA,
    )


REDACT_MEMO_ENTRIES = 1 << 15
REDACT_MEMO_MAX_CHARS = 400


def _memo_redact(redact: Callable[[str], str]) -> Callable[[str], str]:
    """``redact`` remembered across a worker's batches (bounded in entries and in text length).

    Summaries repeat across the whole run (the 400K run: 32,165 distinct of 400,000; 20K sessions: 6,301), but
    ``facets_rows`` only remembers them within one batch: 12,871 redactions at 20K in batches of 2,000, ~57 us
    each. Redaction is a pure function of the text, so a remembered answer is the answer."""
    cached = functools.lru_cache(maxsize=REDACT_MEMO_ENTRIES)(redact)

    def once(text: str) -> str:
        return cached(text) if len(text) <= REDACT_MEMO_MAX_CHARS else redact(text)

    return once


class ClassifyWorker:
    """Classifies evidence batches with one backend built once (per process, per Ray actor).

    The offline backend loads its embedder once here; an LLM backend gets
    ``concurrency=1`` so the number of workers is the number of requests in flight.
    """

    def __init__(self, backend: str, *, model: str | None = None, base_url: str | None = None,
                 embedder: str = "use", budget_usd: float | None = None, threads: int | None = None,
                 timeout_s: float | None = None, max_retries: int | None = None, ner: bool | None = None,
                 price_in: float | None = None, price_out: float | None = None) -> None:
        import os

        self._limits: Any = None
        if threads:
            # One process per core: BLAS/OpenMP threads inside each only contend (on a busy 2-core box
            # USE ran 8x slower with 2 threads per process than with 1).
            os.environ["CODECENSUS_THREADS"] = str(threads)
            try:
                from threadpoolctl import threadpool_limits

                self._limits = threadpool_limits(limits=threads)
            except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
                pass
        from codecensus.classify.run import _default_redact, make_backend

        if backend == "offline":
            self.backend = make_backend("offline", embedder=embedder)
        else:
            from codecensus.classify.llm import make_backend as make_llm

            opts: dict[str, Any] = {"cache": False, "concurrency": 1}
            for k, v in (("budget_usd", budget_usd), ("timeout_s", timeout_s), ("max_retries", max_retries),
                         ("ner", ner), ("price_in", price_in), ("price_out", price_out)):
                if v is not None:
                    opts[k] = v
            self.backend = make_llm(backend, model=model, base_url=base_url, **opts)
        self.redact = _memo_redact(_default_redact())
        if threads:  # a worker process: what it loaded is frozen, and the collector runs far less often
            from codecensus.runtime import tune_worker_gc

            tune_worker_gc()

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Facet rows of an :func:`evidence_table` (pickled SessionEvidence per row)."""
        import pickle

        return self.classify([pickle.loads(b) for b in batch.column("evidence").to_pylist()])

    def classify(self, evs: list[Any]) -> pa.Table:
        """Facet rows (and a ``stopped`` column) of a list of SessionEvidence."""
        tbl, stopped = self.facets(evs)
        return tbl.append_column("stopped", pa.array([stopped] * tbl.num_rows, pa.string()))

    def facets(self, evs: list[Any]) -> tuple[pa.Table, str | None]:
        """Facet rows of a list of SessionEvidence, and why the backend stopped (None: it did not), which a table
        of no rows (stopped before its first answer) cannot carry in its ``stopped`` column."""
        from datetime import UTC, datetime

        from codecensus.classify.run import classify_batch, facets_rows

        facets, stopped = classify_batch(self.backend, evs)
        kept = [(ev, fc) for ev, fc in zip(evs, facets, strict=True) if fc is not None]
        tbl = facets_rows(
            [ev.session_key for ev, _ in kept],
            [ev.session_id for ev, _ in kept],
            [fc for _, fc in kept],
            backend=self.backend.name,
            model=self.backend.model,
            rubric_hash=self.backend.rubric_hash,
            redact=self.redact,
            now=datetime.now(UTC),
        )
        return tbl, stopped


SPEND = "spend"  # <run>/spend/<actor>.json: what each actor's account counted, all its incarnations (spent_by_actors)
ANSWERS = "answers"  # <run>/answers/<part>/<content key>.json: the answers a part received (PartAnswers)


class PartAnswers:
    """The answers the LLM gave for one evidence part, each kept as it arrives in ``<dir>/<content key>.json``
    (written, then renamed: an actor killed while writing leaves none), read and written through the interface of
    :class:`~codecensus.classify.cache.LLMCache` (``get_many``/``put``): an actor's LLM backend uses it as its cache.

    A part is retried when its actor died (Ray restarts it, or another actor takes the part): the answers already
    paid for are found here and only the rest is asked. ``found`` is what the last :meth:`get_many` returned, as the
    backend counts it (cache hits, abstentions, saved cost).

    Unlike the LLM cache it keeps rejections too (status ``failed``: the server refused the request, the session
    abstained): a retried part does not ask them again. ``before_put`` runs before an answer that is not ``ok`` is
    kept (the actor keeps its account first: the abstention or failure it counted is never missing when the answer
    is found)."""

    keeps_rejections = True

    def __init__(self, fs: Any, d: str, before_put: Callable[[], None] | None = None) -> None:
        self.fs, self.d = fs, d
        self.found: dict[str, Any] = {}
        self.before_put = before_put

    def get_many(self, keys: Sequence[str], *, backend: str, model: str, rubric_hash: str) -> dict[str, Any]:
        import orjson

        from codecensus.classify.cache import CacheEntry

        self.found = {}
        if not self.fs.exists(self.d):
            return {}
        kept = {p.rsplit("/", 1)[-1][: -len(".json")]: p for p in self.fs.find(self.d) if p.endswith(".json")}
        for k in dict.fromkeys(keys):
            if k in kept:
                with self.fs.open(kept[k], "rb") as fh:
                    e = orjson.loads(fh.read())
                self.found[k] = CacheEntry(k, e["status"], e["response"], e["input_tokens"], e["output_tokens"],
                                           e["cost_usd"])
        return dict(self.found)

    def put(self, key: str, *, backend: str, model: str, rubric_hash: str, status: str, response: dict[str, Any],
            usage: Any, cost_usd: float | None) -> None:
        import orjson

        from codecensus.engine.fs import join

        if status != "ok" and self.before_put is not None:
            self.before_put()
        self.fs.makedirs(self.d, exist_ok=True)
        path = join(self.d, f"{key}.json")
        with self.fs.open(f"{path}.tmp", "wb") as fh:
            fh.write(orjson.dumps({"status": status, "response": response, "input_tokens": usage.total_input,
                                   "output_tokens": usage.output_tokens, "cost_usd": cost_usd}))
        self.fs.mv(f"{path}.tmp", path)


class ClassifyParts(ClassifyWorker):
    """Ray Data UDF over evidence *parts*: each row names a Parquet part under ``<out>/evidence``;
    its facets are written to ``<out>/facets`` under the same name; one status row per part is returned.

    LLM backends: before and after each call the actor's account (:meth:`Account.counts`) is written to
    ``<out>/spend/<ledger>.json``, ``ledger`` being the Ray actor's id (or the one given). Ray restarts an actor
    that died (max_restarts=-1) under the same id and retries its part: the new incarnation starts from that
    account, so its budget share is what the dead one left, not a fresh one, and the driver
    (:func:`spent_by_actors`) counts the calls of the failed attempt too (before, both were lost); a call that was
    in flight when its actor died is counted as lost (:attr:`Account.lost_calls`). Each answer of a part is kept
    under ``<out>/answers/<part>/`` as it arrives (:class:`PartAnswers`): a retried part asks only the sessions
    not answered yet, and its sessions are counted once in the run's account (by the part's ``.started`` marker, which
    the first attempt writes before anything else and :func:`spent_by_actors` adds to that attempt's account), their
    condensed-token estimates too (``<out>/answers/<part>.condensed``: how many the attempts before kept).

    Reading the part inside the actor (instead of a Ray read stage) keeps the pipeline free of extra
    tasks that would wait for CPUs held by an actor pool sized to the whole cluster.
    """

    def __init__(self, backend: str, *, out: str, out_options: dict[str, Any] | None = None,
                 ledger: str | None = None, run_budget_usd: float | None = None, **kwargs: Any) -> None:
        super().__init__(backend, **kwargs)
        self.out = out
        self.out_options = out_options
        #: added to the account's counts where it is kept (a retried part's sessions, counted once in the run)
        self._extra: dict[str, Any] = {}
        self._keep: Callable[[], None] = lambda: None
        acc = getattr(self.backend, "account", None)  # an LLM backend's (the offline backend has none)
        ledger = ledger or _ray_actor_id()
        self._ledger = ledger
        if acc is None or ledger is None:
            return
        import orjson

        from codecensus.engine.fs import join, output_fs

        fs, root = output_fs(out, out_options)
        path = join(root, SPEND, f"{ledger}.json")
        if fs.exists(path):  # restarted: what the incarnations before it counted (the budget share they used)
            with fs.open(path, "rb") as fh:
                acc.add(orjson.loads(fh.read()))  # (its calls in flight when it died: lost calls)
        fs.makedirs(join(root, SPEND), exist_ok=True)

        def keep() -> None:
            counts = acc.counts()
            for k, v in self._extra.items():
                counts[k] += v
            counts["budget_usd"] = acc.budget_usd  # (not added up: the share it keeps within, see most_committed)
            data = orjson.dumps(counts)
            with fs.open(f"{path}.tmp", "wb") as fh:  # then renamed: an actor killed while writing leaves the last
                fh.write(data)
            fs.mv(f"{path}.tmp", path)

        keep()
        self._keep = keep
        acc._on_settle = keep
        acc._on_start = keep  # a call in flight when the actor dies is found open: a lost call
        if run_budget_usd is not None:  # what the other actors, live, dead or replaced, spent counts against it
            from codecensus.classify.cache import Account

            spend = join(root, SPEND)
            seen: dict[str, dict[str, Any]] = {}  # the other actors' accounts as last read

            def read(p: str) -> None:
                with fs.open(p, "rb") as fh:  # (replaced by a rename: never missing once written)
                    seen[p] = orjson.loads(fh.read())

            def elsewhere(next_usd: float, room: float) -> float:
                """What the other actors spent and hold: one listing per call (an actor that started since is
                read), their files read again only when the bound of what they can hold does not fit in ``room``."""
                fs.invalidate_cache(spend)  # (a listing cached by an object store's filesystem would miss new actors)
                others = [p for p in fs.find(spend) if p.endswith(".json") and p.rsplit("/", 1)[-1] != f"{ledger}.json"]
                new = [p for p in others if p not in seen]
                for p in new:
                    read(p)
                bound = sum(most_committed(seen[p], next_usd) for p in others)
                if bound <= room + 1e-12:
                    return bound
                for p in others:
                    if p not in new:
                        read(p)
                return sum(Account.committed(seen[p], next_usd) for p in others)

            acc._run_budget_usd = run_budget_usd
            acc._elsewhere = elsewhere

    def __call__(self, batch: pa.Table) -> pa.Table:  # type: ignore[override]
        import pickle

        import pyarrow.parquet as pq

        from codecensus.engine.fs import join, output_fs

        fs, root = output_fs(self.out, self.out_options)
        names, counts, stops = [], [], []
        for name in batch.column("part").to_pylist():
            with fs.open(join(root, "evidence", name), "rb") as fh:
                ev = pq.read_table(fh)
            evs = [pickle.loads(b) for b in ev.column("evidence").to_pylist()]
            facets, stopped = self._answer_part(fs, join(root, ANSWERS, name), evs)
            facets = facets.append_column("stopped", pa.array([stopped] * facets.num_rows, pa.string()))
            d = join(root, "facets")
            fs.makedirs(d, exist_ok=True)
            with fs.open(join(d, name), "wb") as fh:
                pq.write_table(facets, fh, compression="zstd")
            names.append(name)
            counts.append(facets.num_rows)
            stops.append(stopped)  # (was read from the rows: lost when the budget stopped the part's first call)
        return pa.table({"part": names, "rows": pa.array(counts, pa.int64()), "stopped": pa.array(stops, pa.string())})

    def _answer_part(self, fs: Any, d: str, evs: list[Any]) -> tuple[pa.Table, str | None]:
        """:meth:`facets` of one part, its answers kept in (and, when the part is retried, taken from) ``d``."""
        acc = getattr(self.backend, "account", None)
        if acc is None:  # the offline backend: nothing paid for, nothing kept
            return self.facets(evs)
        from codecensus.classify.run import is_empty

        answers = PartAnswers(fs, d, self._keep)
        self.backend.cache = answers  # type: ignore[attr-defined]
        asked = sum(not is_empty(ev) for ev in evs)  # what the backend counts as sessions
        marker = f"{d}.started"
        # how many of the part's condensed-token estimates the attempts before this one kept in their accounts
        condensed = f"{d}.condensed"
        prior = 0
        if fs.exists(condensed):
            with fs.open(condensed, "rb") as fh:
                prior = int(fh.read() or 0)
        start = len(acc.input_tokens_condensed)
        on_start = acc._on_start
        written = prior

        def kept() -> None:  # the account kept before a call: its estimates of this part's sessions with it
            nonlocal written
            assert on_start is not None
            on_start()
            n = prior + len(acc.input_tokens_condensed) - start
            if n > written:
                with fs.open(f"{condensed}.tmp", "wb") as fh:
                    fh.write(str(n).encode())
                fs.mv(f"{condensed}.tmp", condensed)
                written = n

        if on_start is not None:
            acc._on_start = kept
        try:
            if not fs.exists(marker):  # the first attempt: the marker counts the part's sessions (spent_by_actors)
                import orjson

                fs.makedirs(d.rsplit("/", 1)[0], exist_ok=True)
                with fs.open(f"{marker}.tmp", "wb") as fh:  # then renamed: there, or not at all
                    fh.write(orjson.dumps({"ledger": self._ledger, "sessions": asked}))
                fs.mv(f"{marker}.tmp", marker)
            # the account leaves the part's sessions out (the marker counts them once, whichever attempt dies where);
            # a retry does not count again the answers an earlier attempt received and (when it kept them) the
            # sessions' condensed tokens
            self._extra = {"sessions": -asked}
            drop = prior

            def found(keys: Sequence[str], **kw: Any) -> dict[str, Any]:
                nonlocal drop
                with acc._lock:  # (the backend estimated the sessions' tokens just before asking for their answers)
                    del acc.input_tokens_condensed[start : start + drop]
                drop = 0
                got = PartAnswers.get_many(answers, keys, **kw)
                hits = [got[k] for k in keys if k in got]  # as the backend counts them: once per session
                self._extra.update(
                    cache_hits=-len(hits), abstentions=-sum(e.status in ("abstained", "failed") for e in hits),
                    failures=-sum(e.status == "failed" for e in hits),
                    saved_usd=-sum(e.cost_usd for e in hits if e.cost_usd is not None),
                    unpriced_hits=-sum(e.cost_usd is None for e in hits))
                return got

            answers.get_many = found  # type: ignore[method-assign]
            out = self.facets(evs)
            with acc._lock:
                for k, v in self._extra.items():
                    setattr(acc, k, getattr(acc, k) + v)
            self._extra = {}
            self._keep()
            return out
        finally:
            acc._on_start = on_start


def most_committed(counts: dict[str, Any], next_usd: float) -> float:
    """The most an actor's account (its spend file) can commit of the run's budget, whether the actor is still
    running or not: what it committed when read, or its share (``budget_usd``) when more, since a live actor makes
    no call that its share cannot hold (:meth:`Account.reserve`). Unbounded (inf) without a share, or while the
    estimate for its lost calls is the reader's next call (no answered priced call to take a mean from)."""
    from codecensus.classify.cache import Account

    share = counts.get("budget_usd")
    if share is None or (counts.get("lost_calls", 0) and counts.get("calls", 0) <= counts.get("unpriced_calls", 0)):
        return float("inf")
    return max(Account.committed(counts, next_usd), share)


def _ray_actor_id() -> str | None:
    """The id of the Ray actor this runs in (the same after a restart), None outside one."""
    import sys

    if "ray" not in sys.modules:
        return None
    try:
        import ray

        return ray.get_runtime_context().get_actor_id() if ray.is_initialized() else None
    except Exception:  # noqa: BLE001 - no actor context: no ledger, as outside Ray
        return None


def spent_by_actors(out: str, out_options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The accounts the actors of a run kept under ``<out>/spend`` (:class:`ClassifyParts`), one per actor, each with
    the sessions of the parts it started (their ``<out>/answers/<part>.started`` markers: the accounts leave them
    out, so a part retried after its actor died is counted once; a marker of an actor that kept no account, one more
    account of its sessions alone)."""
    import orjson

    from codecensus.engine.fs import join, output_fs

    fs, root = output_fs(out, out_options)
    d = join(root, SPEND)
    found: dict[str, dict[str, Any]] = {}
    if fs.exists(d):
        for p in sorted(fs.find(d)):
            if p.endswith(".json"):
                with fs.open(p, "rb") as fh:
                    found[p.rsplit("/", 1)[-1][: -len(".json")]] = orjson.loads(fh.read())
    a = join(root, ANSWERS)
    if fs.exists(a):
        for p in sorted(fs.ls(a, detail=False)):
            if p.endswith(".started"):
                with fs.open(p, "rb") as fh:
                    data = fh.read()
                if not data:  # (a marker of an earlier version: its sessions are in its actor's account)
                    continue
                m = orjson.loads(data)
                key = m["ledger"] if m["ledger"] in found else f"(parts of {m['ledger']})"
                counts = found.setdefault(key, {"input_tokens_condensed": []})
                counts["sessions"] = counts.get("sessions", 0) + m["sessions"]
    return list(found.values())
