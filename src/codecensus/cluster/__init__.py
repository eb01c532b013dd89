"""Clio-style topic hierarchy over the privacy-safe session summaries.

Stages, one module each (Kura's layout), every one a plain function over typed records:

1. :mod:`.embed_stage` — embed each distinct summary once (:mod:`codecensus.embed` models);
2. :mod:`.kmeans` — weighted k-means base clusters, k growing with the data;
3. :mod:`.naming` — offline c-TF-IDF names, or Clio's contrastive LLM naming;
4. :mod:`.hierarchy` — Ward agglomeration over centroids, or Clio's neighbourhood hierarchizer;
5. :mod:`.privacy` — user/session thresholds, auditor, merge upward / withhold;

:mod:`.run` chains them and writes ``clusters`` / ``session_clusters``; :mod:`.quality` scores
recovery of planted topics; :mod:`.cli` is ``codecensus cluster``.
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use (PEP 562), so that importing one stage, or the CLI, does not load them all.
_EXPORTS = {
    "ClusterNode": "model",
    "ClusterTree": "model",
    "SummaryFrame": "model",
    "Thresholds": "privacy",
    "read_truth": "quality",
    "recovery": "quality",
    "tree_recovery": "quality",
    "ClusterConfig": "run",
    "ClusterResult": "run",
    "cluster_frame": "run",
    "load_frame": "run",
    "run_cluster": "run",
    "write_result": "run",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"codecensus.cluster.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'codecensus.cluster' has no attribute {name!r}")
