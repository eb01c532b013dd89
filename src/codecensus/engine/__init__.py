"""Execution engines beyond the single-machine pipeline.

- :mod:`codecensus.engine.ray_engine`: ``--engine ray`` (ingest and classify on a Ray
  cluster, results as Parquet partitions, aggregated in DuckDB);
- :mod:`codecensus.engine.fs`: inputs from local paths or fsspec URLs;
- :mod:`codecensus.engine.parquet`: Parquet partitions to and from the DuckDB store;
- :mod:`codecensus.engine.tasks`: the engine-free work units (what one task runs).

Ray and fsspec are optional (``pip install 'codecensus[ray]'``).
"""

from __future__ import annotations

from typing import Any

ENGINES = ("local", "ray")


class RayUnavailable(RuntimeError):
    """Ray is not installed (``pip install 'codecensus[ray]'``), or no cluster answers at ``--address``."""


def ingest_with(engine: str, store: Any, paths: Any, *, address: str | None = None, out: str | None = None,
                workers: int = 1, progress: Any = None, **kwargs: Any) -> Any:
    """``codecensus ingest --engine local|ray``: one call for the CLI. Returns :class:`codecensus.ingest.IngestStats`.

    ``local`` is :func:`codecensus.ingest.ingest` (``workers`` processes, ``progress`` callback); ``ray`` is
    :func:`codecensus.engine.ray_engine.ray_ingest` (``address``: cluster to join, default a local Ray;
    ``out``: folder or URL for the Parquet partitions, default temporary). Other keyword arguments
    (``user``, ``user_from_dir``, ``fmt``) go to both.
    """
    if engine == "local":
        from pathlib import Path

        from codecensus.ingest import ingest

        return ingest(store, [Path(p) for p in paths], workers=workers, progress=progress, **kwargs)
    if engine == "ray":
        from codecensus.engine.ray_engine import ray_ingest

        return ray_ingest(store, paths, address=address, out=out, **kwargs)
    raise ValueError(f"unknown engine {engine!r}: choose one of {ENGINES}")


def classify_with(engine: str, store: Any, backend: str = "offline", *, address: str | None = None,
                  out: str | None = None, workers: int = 0, concurrency: int | None = None, **kwargs: Any) -> Any:
    """``codecensus classify --engine local|ray``. Returns :class:`codecensus.classify.run.ClassifyStats`.

    ``local`` runs :func:`codecensus.engine.local.classify_parallel` (``workers`` processes, default all
    cores) and is meant for the offline backend (LLM backends are I/O-bound: keep
    :func:`codecensus.classify.run.classify_store`, whose backend has its own request concurrency and the
    response cache); ``ray`` runs :func:`codecensus.engine.ray_engine.ray_classify` (``concurrency`` actors).
    Other keyword arguments (``model``, ``base_url``, ``embedder``, ``since``, ``limit``, ``force``,
    ``batch_size``) go to both.
    """
    if engine == "local":
        from codecensus.engine.local import classify_parallel

        return classify_parallel(store, backend, workers=workers, **kwargs)
    if engine == "ray":
        from codecensus.engine.ray_engine import ray_classify

        return ray_classify(store, backend, address=address, out=out, concurrency=concurrency, **kwargs)
    raise ValueError(f"unknown engine {engine!r}: choose one of {ENGINES}")
