"""Ray engine: ingest (and classify) on a Ray cluster, results as Parquet, loaded into DuckDB.

Ingest::

    driver: plan inputs (local paths or fsspec URLs; unchanged files skipped)
      -> ray.data.from_items(file specs)
      -> map_batches(parse_files)      each task: fetch if remote, parse, write raw Parquet parts
      -> write_parquet(<run>/files)    one bookkeeping row per file
    driver: load the run's Parquet into DuckDB in one transaction (INSERT ... SELECT FROM read_parquet)

The session measures are then built by :func:`codecensus.measure.build_sessions`
from the loaded rows, exactly as after a local ingest, so the ``sessions`` table
is identical to a single-machine run over the same files.

Ray is an optional dependency (``pip install 'codecensus[ray]'``); nothing here
imports it until a function is called.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from codecensus.engine import RayUnavailable
from codecensus.engine.fs import is_url, join, local_path, output_fs
from codecensus.engine.parquet import load_ingest, read_table
from codecensus.engine.plan import plan_inputs, stats_from_files, store_identities
from codecensus.engine.tasks import parse_files
from codecensus.ingest import SETTLE_S, IngestStats
from codecensus.store import Store

if TYPE_CHECKING:
    from codecensus.classify.cache import Account

DEFAULT_FILES_PER_TASK = 16


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RayUnavailable("--engine ray needs Ray Data: pip install 'codecensus[ray]' (ray[data], fsspec)") from exc
    return ray


def check_address(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast when nothing listens at ``address`` (``host:port`` or ``ray://host:port``): ``ray.init`` retried
    the connection for minutes (still retrying after 5 minutes, measured against 127.0.0.1:1)."""
    if "://" in address and not address.startswith("ray://"):
        return
    host, sep, port = address.split("://", 1)[-1].rpartition(":")
    if not sep or not host or not port.isdigit():  # "auto", a bare host: Ray resolves it
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        raise RayUnavailable(
            f"no Ray cluster answers at --address {address} ({why}): check the address (the head node's "
            "host:port, 6379 by default) or start the cluster (`ray start --head`); without --address a local "
            "cluster is started"
        ) from None


@contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None, ship_code: bool = False) -> Any:
    """Connect to the cluster at ``address`` (or start a local one), yield the ``ray`` module, disconnect.

    ``ship_code`` uploads this codecensus package to the cluster (``runtime_env.py_modules``)
    for clusters whose nodes have the dependencies but not codecensus itself.
    An already initialised Ray (e.g. in a notebook) is used as is and left running.
    """
    # A privacy tool phones home to no one: Ray's usage statistics stay off unless the operator opts in.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray = _ray()
    started = False
    if not ray.is_initialized():
        if address:
            check_address(address)
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "ignore_reinit_error": True}
        if address:
            kwargs["address"] = address
        elif num_cpus:
            kwargs["num_cpus"] = num_cpus
        if ship_code:
            import codecensus

            kwargs["runtime_env"] = {"py_modules": [str(Path(codecensus.__file__).parent)]}
        try:
            with _utf8_entrypoint(ray):
                ray.init(**kwargs)
        except ConnectionError as exc:  # something listens at --address, but no Ray cluster answered
            raise RayUnavailable(f"{exc}: check --address (the head node's host:port, 6379 by default)") from None
        started = True
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    # Per-operator reservations split a small cluster's CPUs between stages; an actor pool sized to
    # every CPU could then wait forever for its share.
    ctx.op_resource_reservation_enabled = False
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


@contextmanager
def _utf8_entrypoint(ray: Any) -> Any:
    """Ray records the driver's command line (from /proc, as bytes decoded with surrogates) as the job's entrypoint
    and encodes it as strict UTF-8: a path with a non-UTF-8 byte anywhere on the command line (``café`` in
    Latin-1) stopped ``ray.init`` with UnicodeEncodeError. The entrypoint is a label only; such bytes become '?'."""
    utils = getattr(getattr(ray, "_private", None), "utils", None)
    orig = getattr(utils, "get_entrypoint_name", None)
    if orig is None:  # another Ray: nothing to mend
        yield
        return

    def safe() -> str:
        return str(orig()).encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace("\ufffd", "?")

    utils.get_entrypoint_name = safe
    try:
        yield
    finally:
        utils.get_entrypoint_name = orig


def _pa_filesystem(out: str, options: dict[str, Any] | None) -> tuple[Any, str]:
    """(pyarrow filesystem or None, path) for Ray's writers."""
    if not is_url(out):
        return None, str(local_path(out).resolve())
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    fs, root = output_fs(out, options)
    return PyFileSystem(FSSpecHandler(fs)), root


def _parse_batch_fn(batch: pa.Table, *, out: str, salt: str, out_options: dict[str, Any] | None, settle_s: float,
                    now: float, fmt: str | None) -> pa.Table:
    return parse_files(batch.to_pylist(), out=out, salt=salt, out_options=out_options, settle_s=settle_s, now=now,
                       fmt=fmt)


def new_run_dir(out: str | os.PathLike[str] | None, kind: str) -> tuple[str, bool]:
    """(run URL or dir, temporary) for one run's partitions under ``out`` (a temp dir when None)."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    name = f"{kind}-{stamp}-{uuid.uuid4().hex[:8]}"
    if out is None:
        return str(Path(tempfile.mkdtemp(prefix="codecensus-ray-")) / name), True
    if is_url(out):
        return join(str(out), name), False
    return str(local_path(out).resolve() / name), False


def _remove(run: str, temporary: bool) -> None:
    if temporary and not is_url(run):
        shutil.rmtree(Path(run).parent, ignore_errors=True)


def ray_ingest(
    store: Store,
    paths: Iterable[str | os.PathLike[str]],
    *,
    address: str | None = None,
    out: str | os.PathLike[str] | None = None,
    out_options: dict[str, Any] | None = None,
    fs_options: dict[str, Any] | None = None,
    user: str | None = None,
    user_from_dir: bool = False,
    fmt: str | None = None,
    files_per_task: int = DEFAULT_FILES_PER_TASK,
    concurrency: int | None = None,
    settle_s: float = SETTLE_S,
    num_cpus: int | None = None,
    ship_code: bool = False,
    keep: bool | None = None,
) -> IngestStats:
    """Ingest ``paths`` (local paths or fsspec URLs, globs allowed) on Ray into ``store``.

    Raw rows are written as Parquet partitions under ``out`` (a dir or URL; a
    temp dir by default, removed after loading unless ``keep``), then loaded
    into the store. Call :func:`codecensus.measure.build_sessions` afterwards,
    as after :func:`codecensus.ingest.ingest`.
    """
    plan = plan_inputs(store, list(paths), user=user, user_from_dir=user_from_dir, fmt=fmt,
                       settle_s=settle_s, fs_options=fs_options)
    store_identities(store, plan)  # of files skipped: whatever the run does, they are as stored
    if not plan.specs:
        return stats_from_files(None, plan)
    run, temporary = new_run_dir(out, "ingest")
    keep = (not temporary) if keep is None else keep
    try:
        with ray_session(address, num_cpus=num_cpus, ship_code=ship_code) as ray:
            ds = ray.data.from_items([s.row() for s in plan.specs])
            ds = ds.map_batches(
                _parse_batch_fn,
                batch_size=max(1, files_per_task),
                batch_format="pyarrow",
                # the store's salt: ids a user may fill are hashed with it, as in a local ingest (FileContext.salt)
                fn_kwargs={"out": run, "salt": store.salt, "out_options": out_options, "settle_s": settle_s,
                           "now": time.time(), "fmt": fmt},
                concurrency=concurrency,
            )
            fs, root = _pa_filesystem(run, out_options)
            ds.write_parquet(join(root, "files"), filesystem=fs)
        files = read_table(run, "files", out_options)
        if files is not None:
            load_ingest(store, run, files, out_options)
        return stats_from_files(files, plan)
    finally:
        if not keep:
            _remove(run, temporary)


def write_evidence(store: Store, keys: list[str], run: str, *, batch_size: int,
                   out_options: dict[str, Any] | None = None, order: Literal["given", "storage"] = "given") -> list[str]:
    """Stream the sessions' evidence from the store into ``<run>/evidence`` Parquet parts (flat memory).

    ``order="storage"``: parts follow the order the rows were ingested in (each part's read is then
    proportional to the part, see :func:`codecensus.classify.evidence.iter_evidence`)."""
    import pyarrow.parquet as pq

    from codecensus.classify.evidence import iter_evidence, reading_memory
    from codecensus.engine.tasks import evidence_table

    fs, root = output_fs(run, out_options)
    d = join(root, "evidence")
    fs.makedirs(d, exist_ok=True)
    names: list[str] = []
    with reading_memory(store):
        for i, batch in enumerate(iter_evidence(store, keys, batch_size=batch_size, order=order)):
            if not batch:
                continue
            name = f"part-{i:06d}.parquet"
            with fs.open(join(d, name), "wb") as fh:
                pq.write_table(evidence_table(batch), fh, compression="zstd")
            names.append(name)
    return names


def ray_classify(
    store: Store,
    backend: str = "offline",
    *,
    model: str | None = None,
    base_url: str | None = None,
    embedder: str = "use",
    budget_usd: float | None = None,
    timeout_s: float | None = None,
    max_retries: int | None = None,
    ner: bool | None = None,
    price_in: float | None = None,
    price_out: float | None = None,
    address: str | None = None,
    out: str | os.PathLike[str] | None = None,
    out_options: dict[str, Any] | None = None,
    since: str | None = None,
    limit: int | None = None,
    force: bool = False,
    batch_size: int = 256,
    concurrency: int | None = None,
    num_cpus: int | None = None,
    ship_code: bool = False,
    keep: bool | None = None,
    account: Account | None = None,
) -> Any:
    """Classify the store's sessions on Ray; facets land in the ``facets`` table as with the local driver.

    Evidence is read from the store by the driver and staged as Parquet under
    ``out``; ``map_batches`` runs :class:`~codecensus.engine.tasks.ClassifyWorker`
    on an actor pool (the offline embedder loads once per actor; for LLM backends
    the pool size ``concurrency`` is the number of requests in flight, default 4,
    and ``budget_usd`` is split evenly between the actors, each also keeping the run's total spend, every actor's
    file under ``<run>/spend``, within the whole; ``timeout_s`` and ``max_retries`` apply to each
    request; ``ner``: the digests' redaction runs the NER model, None when it is installed; ``price_in`` /
    ``price_out``: USD per million input / output tokens instead of the price list's; a ``budget_usd`` for a model
    of unknown price is refused here, before anything is staged). Results are written as Parquet under ``<run>/facets`` and loaded into the store in one transaction.
    ``account`` (LLM backends): the run's :class:`~codecensus.classify.cache.Account`, to which what every actor's
    account counted (calls, tokens, cost, retries...) is added, so it holds the run's figures (its ``budget_usd`` is
    the whole budget, the actors' shares added up).
    Returns a :class:`codecensus.classify.run.ClassifyStats`.
    """
    from codecensus.classify.evidence import reading_order
    from codecensus.classify.run import (
        ClassifyStats,
        ensure_facets_table,
        select_sessions,
        tally,
        write_facets,
    )
    from codecensus.engine.tasks import ClassifyParts, ClassifyWorker, spent_by_actors

    t0 = time.perf_counter()
    # built with the budget and prices the actors get: a budget that cannot be kept (no price) is refused here
    probe = ClassifyWorker(backend, model=model, base_url=base_url, embedder=embedder, budget_usd=budget_usd,
                           price_in=price_in, price_out=price_out).backend
    stats = ClassifyStats(probe.name, probe.model, probe.rubric_hash)
    ensure_facets_table(store)
    keys, skipped, total = select_sessions(store, backend=probe.name, model=probe.model,
                                           rubric_hash=probe.rubric_hash, since=since, limit=limit, force=force)
    stats.sessions_total, stats.skipped_already_classified, stats.selected = total, skipped, len(keys)
    if not keys:
        return stats
    run, temporary = new_run_dir(out, "classify")
    keep = (not temporary) if keep is None else keep
    try:
        parts = write_evidence(store, keys, run, batch_size=batch_size, out_options=out_options,
                               order=reading_order(backend))
        with ray_session(address, num_cpus=num_cpus, ship_code=ship_code) as ray:
            offline = backend == "offline"
            if concurrency is None:
                concurrency = max(1, int(ray.cluster_resources().get("CPU", 1))) if offline else 4
            concurrency = max(1, min(concurrency, len(parts)))
            ds = ray.data.from_items([{"part": p} for p in parts])
            ds = ds.map_batches(
                ClassifyParts,
                fn_constructor_args=(backend,),
                fn_constructor_kwargs={
                    "out": run, "out_options": out_options, "model": model, "base_url": base_url,
                    "embedder": embedder, "threads": 1 if offline else None,
                    "budget_usd": None if budget_usd is None else budget_usd / concurrency,
                    "run_budget_usd": budget_usd,  # and the run's total spend, all actors', within the whole
                    "timeout_s": timeout_s, "max_retries": max_retries, "ner": ner,
                    "price_in": price_in, "price_out": price_out,
                },
                batch_size=1,
                batch_format="pyarrow",
                compute=ray.data.ActorPoolStrategy(size=concurrency),
                num_cpus=1 if offline else 0.25,
            )
            status = ds.take_all()
        if account is not None:
            for counts in spent_by_actors(run, out_options):  # failed attempts' calls included
                account.add(counts)
        stops = [r["stopped"] for r in status if r["stopped"]]
        stats.stopped = stops[0] if stops else None
        facets = read_table(run, "facets", out_options)
        if facets is not None and facets.num_rows:
            facets = facets.drop_columns(["stopped"]).sort_by("session_key")
            write_facets(store, facets)
            stats.classified = facets.num_rows
            by_mode: dict[str, int] = {}
            tally(stats, by_mode, facets)
            stats.by_mode = dict(sorted(by_mode.items(), key=lambda kv: -kv[1]))
    finally:
        if not keep:
            _remove(run, temporary)
    stats.seconds = round(time.perf_counter() - t0, 3)
    stats.sessions_per_second = round(stats.classified / stats.seconds, 2) if stats.seconds > 0 else 0.0
    return stats
