"""Single-machine parallel classify: the offline backend on every core, memory flat in corpus size.

:func:`codecensus.classify.run.classify_store` runs the backend in the calling
process; feature extraction and the rules are pure Python, so it uses one core.
:func:`classify_parallel` keeps the same driver logic (session selection,
bulk evidence loading, one ``facets`` write per batch) but hands each evidence
batch to a process pool whose workers build the backend once (the embedder
loads once per worker). A batch travels as the queries' Arrow tables and the
worker builds the evidence objects: this process only runs queries. At most
``2 × workers`` batches are in flight, so memory does not grow with the number
of sessions. Results are identical to
``classify_store`` with the same backend and embedder (embeddings are
batch-invariant: see :mod:`codecensus.embed`).

The workers are started before any evidence is read: forked later, each one
inherited this process's heap as it was then, DuckDB's buffer pool included
(measured: 0.94 GB PSS for two workers at 50k sessions against 0.6 GB started
first).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from codecensus.store import Store

if TYPE_CHECKING:
    from codecensus.classify.evidence import RawBatch

_WORKER: Any = None


def _start_method() -> str:
    """How the pool's workers start (``$CODECENSUS_MP_START`` overrides): the platform's default."""
    want = os.environ.get("CODECENSUS_MP_START", "").strip()
    return want if want in multiprocessing.get_all_start_methods() else multiprocessing.get_start_method()


def _ready() -> int:
    return os.getpid()


def _init_worker(backend: str, kwargs: dict[str, Any]) -> None:
    global _WORKER
    # A forked worker inherits the parent's objects, unreachable ones included: collecting one that holds a DuckDB
    # connection (a cycle left by earlier work in a long-lived process, as in the test suite) ran its finaliser
    # without the connection's threads and killed the worker (a segmentation fault while garbage-collecting in
    # threadpoolctl's start-up; the run ended in BrokenProcessPool). Nothing inherited is collected here.
    gc.freeze()
    from codecensus.engine.tasks import ClassifyWorker

    _WORKER = ClassifyWorker(backend, **kwargs)


def _classify(raw: RawBatch) -> pa.Table:
    """One batch in a worker: the evidence objects are built here, from the queries' Arrow tables."""
    assert _WORKER is not None
    return _WORKER.classify(raw.build())


MAX_BATCH = 2000  # sessions per batch of a large run
MIN_BATCH = 100
BATCHES_PER_WORKER = 4  # at least this many batches a worker when there are enough sessions (work stays shared)


def parallel_batch_size(n_sessions: int, workers: int) -> int:
    """Sessions per batch: up to :data:`MAX_BATCH`, fewer when that would leave a worker without
    :data:`BATCHES_PER_WORKER` batches (never under :data:`MIN_BATCH`).

    Every batch costs this process a set of queries and a worker the building of its evidence, whatever its
    size: on 24,000 sessions of the 400K store, classify took 47.8-48.0 s in batches of 500, 45.8 s of 1,000 and
    43.5-43.6 s of 2,000 (this process's CPU 27.5-29.0 against 23.3-23.5 s, the workers' 63.4-65.5 against
    60.8 s); each worker's peak RSS grows with the batch (521 MB at 500, 626 MB at 2,000). Results do not depend
    on it (the embedder is batch-invariant, every session is classified on its own).
    """
    per_worker = -(-max(1, n_sessions) // (BATCHES_PER_WORKER * max(1, workers)))
    return max(MIN_BATCH, min(MAX_BATCH, per_worker))


def classify_parallel(
    store: Store,
    backend: str = "offline",
    *,
    workers: int = 0,
    embedder: str = "use",
    model: str | None = None,
    base_url: str | None = None,
    since: str | None = None,
    limit: int | None = None,
    force: bool = False,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Any:
    """Classify the store's sessions with ``workers`` processes (default: all cores). Returns ClassifyStats.

    ``batch_size``: sessions per batch (one set of queries here, one task for a worker); default
    :func:`parallel_batch_size`.
    """
    from codecensus.classify.evidence import iter_raw_evidence, reading_memory, reading_order
    from codecensus.classify.run import (
        ClassifyStats,
        ensure_facets_table,
        select_sessions,
        tally,
        write_facets,
    )
    from codecensus.engine.tasks import ClassifyWorker

    t0 = time.perf_counter()
    workers = workers or (os.cpu_count() or 1)
    kwargs: dict[str, Any] = {"model": model, "base_url": base_url, "embedder": embedder, "threads": 1}
    # the probe only names the backend (model, rubric hash): built without ``threads`` so that this process's
    # environment and BLAS thread pools are left as they were (only the pool's workers run single-threaded)
    probe = ClassifyWorker(backend, **{**kwargs, "threads": None}).backend
    stats = ClassifyStats(probe.name, probe.model, probe.rubric_hash)
    ensure_facets_table(store)
    keys, skipped, total = select_sessions(store, backend=probe.name, model=probe.model,
                                           rubric_hash=probe.rubric_hash, since=since, limit=limit, force=force)
    stats.sessions_total, stats.skipped_already_classified, stats.selected = total, skipped, len(keys)
    by_mode: dict[str, int] = {}
    done = 0

    def consume(tbl: pa.Table) -> None:
        nonlocal done
        stops = [s for s in tbl.column("stopped").to_pylist() if s]
        if stops and not stats.stopped:
            stats.stopped = stops[0]
        tbl = tbl.drop_columns(["stopped"])
        if tbl.num_rows:
            write_facets(store, tbl)
        tally(stats, by_mode, tbl)
        done += tbl.num_rows
        if progress is not None:
            progress(done, len(keys))

    if keys:
        batch_size = batch_size or parallel_batch_size(len(keys), workers)
        ctx = multiprocessing.get_context(_start_method())
        gc.collect()  # collected here, where its finalisers are safe, not in a forked worker (see _init_worker)
        with ProcessPoolExecutor(max_workers=min(workers, len(keys)), initializer=_init_worker,
                                 initargs=(backend, kwargs), mp_context=ctx) as pool, reading_memory(store):
            pool.submit(_ready).result()  # start the workers now, while this process's heap is still small
            pending: list[Future[pa.Table]] = []
            # this process only queries; the workers build the evidence objects from the Arrow tables
            for raw in iter_raw_evidence(store, keys, batch_size=batch_size, order=reading_order(backend)):
                if not len(raw):
                    continue
                pending.append(pool.submit(_classify, raw))
                while len(pending) >= 2 * workers:
                    consume(pending.pop(0).result())
            for fut in pending:
                consume(fut.result())
    stats.classified = done
    stats.by_mode = dict(sorted(by_mode.items(), key=lambda kv: -kv[1]))
    stats.seconds = round(time.perf_counter() - t0, 3)
    stats.sessions_per_second = round(done / stats.seconds, 2) if stats.seconds > 0 else 0.0
    return stats
