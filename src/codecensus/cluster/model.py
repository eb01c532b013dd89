"""Typed records passed between the cluster stages.

A :class:`SummaryFrame` holds one row per session (the privacy-safe summary and
the facets the report breaks clusters down by). The stages turn it into a
:class:`ClusterTree`: per-session labels at every level, the parent of every
node, and one :class:`ClusterNode` per node with its name, counts and release
decision. Level 0 holds the leaves (Clio's base clusters); level ``L-1`` the
top, whose nodes have no parent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]


@dataclass(slots=True)
class SummaryFrame:
    """Per-session input of the cluster stage (one row per session)."""

    session_key: list[str]
    summary: list[str]
    user: IntArray  # integer user code per session (unknown users share one code)
    mode: list[str | None]
    outcome: list[str | None]
    expertise: npt.NDArray[np.float64]  # NaN where unknown

    def __post_init__(self) -> None:
        n = len(self.session_key)
        for name in ("summary", "user", "mode", "outcome", "expertise"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"SummaryFrame.{name} has {len(getattr(self, name))} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.session_key)

    @classmethod
    def build(
        cls,
        session_key: Sequence[str],
        summary: Sequence[str],
        *,
        user: Sequence[object] | None = None,
        mode: Sequence[str | None] | None = None,
        outcome: Sequence[str | None] | None = None,
        expertise: Sequence[float | None] | None = None,
    ) -> SummaryFrame:
        """Build from plain sequences; users may be any hashable (None = one unknown user)."""
        n = len(session_key)
        codes: dict[object, int] = {}
        users = np.fromiter(
            (codes.setdefault(u, len(codes)) for u in (user if user is not None else [None] * n)),
            dtype=np.int64,
            count=n,
        )
        exp = np.array(
            [np.nan if v is None else float(v) for v in (expertise if expertise is not None else [None] * n)],
            dtype=np.float64,
        )
        return cls(
            session_key=list(session_key),
            summary=[s if isinstance(s, str) else "" for s in summary],
            user=users,
            mode=list(mode) if mode is not None else [None] * n,
            outcome=list(outcome) if outcome is not None else [None] * n,
            expertise=exp,
        )


@dataclass(slots=True)
class ClusterNode:
    """One cluster at one level of the tree."""

    level: int
    index: int  # position within its level (0 = largest)
    parent: int | None  # index of the parent at level + 1 (None at the top)
    n_sessions: int = 0
    n_users: int = 0
    name: str = ""
    description: str = ""
    keyphrases: list[str] = field(default_factory=list)
    name_candidates: list[tuple[str, str]] = field(default_factory=list)  # (name, description), best first
    privacy_score: int | None = None
    released: bool = False
    withheld_reason: str | None = None  # 'below_threshold' | 'auditor' | 'parent_withheld' | 'complementary'
    mode_mix: dict[str, float] = field(default_factory=dict)
    outcome_mix: dict[str, float] = field(default_factory=dict)
    expertise_mean: float | None = None

    @property
    def cluster_id(self) -> str:
        return cluster_id(self.level, self.index)


def cluster_id(level: int, index: int) -> str:
    """Stable textual id of a node within one run, e.g. ``c0-17`` (level 0, 18th largest)."""
    return f"c{level}-{index}"


@dataclass(slots=True)
class ClusterTree:
    """Per-session labels at every level plus the nodes."""

    labels: list[IntArray]  # labels[l][i] = node index of session i at level l
    parents: list[IntArray]  # parents[l][j] = parent index (level l+1) of node j at level l; len = levels-1
    nodes: list[list[ClusterNode]]  # nodes[l][j]

    @property
    def levels(self) -> int:
        return len(self.labels)

    def released_label(self) -> list[str | None]:
        """Per session: the id of the deepest released cluster on its path (None if all withheld)."""
        n = len(self.labels[0]) if self.labels else 0
        out = np.full(n, None, dtype=object)
        for level in range(self.levels - 1, -1, -1):
            nodes = self.nodes[level]
            if not nodes:
                continue
            ok = np.array([nd.released for nd in nodes], dtype=bool)
            ids = np.array([cluster_id(level, j) for j in range(len(nodes))], dtype=object)
            lab = self.labels[level]
            hit = ok[lab]
            out[hit] = ids[lab[hit]]
        return out.tolist()
