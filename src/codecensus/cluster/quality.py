"""How well clusters recover planted topics (generated data with a known ``topic`` per session).

- ``majority_accuracy``: share of sessions whose cluster's majority topic equals their own
  topic (Clio's synthetic check, 94%, assigned base clusters to known categories this way).
- ``ari`` / ``nmi``: adjusted Rand index and normalised mutual information between clusters
  and topics (1.0 = identical partitions; independent of how many clusters there are for NMI
  only in part, so read them beside ``n_clusters``).
- ``topic_coverage``: share of topics that are the majority topic of at least one cluster.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def recovery(topics: Sequence[str], labels: Sequence[int] | np.ndarray) -> dict[str, float]:
    """Recovery scores of one partition against the planted topics."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    t_keys, t = np.unique(np.asarray(topics, dtype=object).astype(str), return_inverse=True)
    c_keys, c = np.unique(np.asarray(labels), return_inverse=True)
    n = len(t)
    if n == 0:
        return {"n": 0, "n_clusters": 0, "n_topics": 0, "majority_accuracy": float("nan"),
                "ari": float("nan"), "nmi": float("nan"), "topic_coverage": float("nan")}
    table = np.zeros((len(c_keys), len(t_keys)), dtype=np.int64)
    np.add.at(table, (c, t), 1)
    majority = table.argmax(axis=1)
    correct = table.max(axis=1).sum()
    return {
        "n": int(n),
        "n_clusters": int(len(c_keys)),
        "n_topics": int(len(t_keys)),
        "majority_accuracy": float(correct / n),
        "ari": float(adjusted_rand_score(t, c)),
        "nmi": float(normalized_mutual_info_score(t, c)),
        "topic_coverage": float(len(set(majority.tolist())) / len(t_keys)),
    }


def read_truth(path: str | Path, *, column: str = "topic") -> dict[str, str]:
    """``{session id: topic}`` from a generator's truth.csv (id column: session_key or session_id)."""
    out: dict[str, str] = {}
    with Path(path).open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        if column not in fields:
            raise ValueError(f"{path}: no {column!r} column (has {fields})")
        id_col = next((c for c in ("session_key", "session_id", "sessionId", "session") if c in fields), None)
        if id_col is None:
            raise ValueError(f"{path}: no session id column (has {fields})")
        for row in reader:
            if row.get(column):
                out[row[id_col]] = row[column]
    return out


def tree_recovery(
    topics_by_key: Mapping[str, str], session_keys: Sequence[str], labels_per_level: Sequence[np.ndarray]
) -> list[dict[str, Any]]:
    """Recovery per level (leaves first) over the sessions that have a planted topic."""
    idx = np.array([i for i, k in enumerate(session_keys) if k in topics_by_key], dtype=np.int64)
    topics = [topics_by_key[session_keys[i]] for i in idx]
    out = []
    for level, lab in enumerate(labels_per_level):
        r: dict[str, Any] = recovery(topics, np.asarray(lab)[idx]) if len(idx) else recovery([], [])
        r["level"] = level
        out.append(r)
    return out
