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

from codecensus.cluster.model import ClusterNode, ClusterTree, SummaryFrame
from codecensus.cluster.privacy import Thresholds
from codecensus.cluster.quality import read_truth, recovery, tree_recovery
from codecensus.cluster.run import (
    ClusterConfig,
    ClusterResult,
    cluster_frame,
    load_frame,
    run_cluster,
    write_result,
)

__all__ = [
    "ClusterConfig",
    "ClusterNode",
    "ClusterResult",
    "ClusterTree",
    "SummaryFrame",
    "Thresholds",
    "cluster_frame",
    "load_frame",
    "read_truth",
    "recovery",
    "run_cluster",
    "tree_recovery",
    "write_result",
]
