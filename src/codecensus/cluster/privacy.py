"""Stage 5: what may be released.

Clio's layers 2 and 4 applied to the tree:

- **Aggregation thresholds**: a cluster is released only when it holds at least
  ``min_users`` distinct users AND ``min_sessions`` sessions
  (``codecensus.aggregate.privacy.ReleasePolicy``; default 5 / 10). A smaller
  cluster is merged upward: its sessions are shown under the nearest released
  ancestor. Clusters whose every ancestor fails are withheld.
- **Auditor**: every name + description that would be released is rated 1–5
  by ``codecensus.redact`` (rule-based; plus an LLM auditor with Clio's rubric
  when one is given). Below ``min_score`` (3) the next, more general candidate
  name is tried; when none passes, the cluster is withheld.
- **Complementary suppression** (beyond Clio): under every released node (and
  the whole corpus), the sessions not covered by its released children form a
  derivable "other" cell (parent count minus children). When that residue is
  non-empty but below the thresholds, the smallest released child is withheld
  too, until the residue is empty or large enough.

A node is released only if its parent is, so the released nodes form a tree. Finally, a released
node that is its parent's only released child, holds exactly the parent's sessions and has no
released child of its own adds nothing to the tree and is folded into the parent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from codecensus.cluster.model import ClusterTree, IntArray

BELOW_THRESHOLD = "below_threshold"
AUDITOR = "auditor"
PARENT_WITHHELD = "parent_withheld"
COMPLEMENTARY = "complementary"
SAME_AS_PARENT = "same_as_parent"


class Scorer(Protocol):
    def score(self, text: str, *, auditor: Callable[[str], int] | None = None) -> int: ...


@dataclass(frozen=True, slots=True)
class Thresholds:
    min_users: int = 5
    min_sessions: int = 10
    min_score: int = 3  # auditor rating needed (Clio: ≥3 acceptable)

    def passes(self, n_sessions: int, n_users: int) -> bool:
        return n_sessions >= self.min_sessions and n_users >= self.min_users


def thresholds_from(policy: Any | None) -> Thresholds:
    """Thresholds from a ``ReleasePolicy`` (or anything with ``min_users``/``min_sessions``)."""
    if policy is None:
        try:
            from codecensus.aggregate.privacy import ReleasePolicy  # type: ignore[import-not-found]

            policy = ReleasePolicy()
        except ImportError:
            return Thresholds()
    if isinstance(policy, Thresholds):
        return policy
    d = Thresholds()
    return Thresholds(
        min_users=int(getattr(policy, "min_users", d.min_users)),
        min_sessions=int(getattr(policy, "min_sessions", d.min_sessions)),
        min_score=int(getattr(policy, "min_privacy_score", getattr(policy, "min_score", d.min_score))),
    )


def node_counts(labels: IntArray, user: IntArray, k: int) -> tuple[IntArray, IntArray]:
    """Sessions and distinct users per node."""
    n_sessions = np.bincount(labels, minlength=k).astype(np.int64)
    if len(labels) == 0:
        return n_sessions, np.zeros(k, dtype=np.int64)
    base = int(user.max()) + 1
    pairs = np.unique(labels.astype(np.int64) * base + user.astype(np.int64))
    n_users = np.bincount(pairs // base, minlength=k).astype(np.int64)
    return n_sessions, n_users


def fill_counts(tree: ClusterTree, user: IntArray) -> None:
    for level, nodes in enumerate(tree.nodes):
        ns, nu = node_counts(tree.labels[level], user, len(nodes))
        for j, nd in enumerate(nodes):
            nd.n_sessions, nd.n_users = int(ns[j]), int(nu[j])


def audit(tree: ClusterTree, scorer: Scorer, th: Thresholds, *, auditor: Callable[[str], int] | None = None) -> None:
    """Pick, for every node above the thresholds, the first name candidate the auditor accepts; a name another
    node of the level already has is numbered ("Fix tests (2)"): an LLM may give neighbouring clusters one name."""
    for nodes in tree.nodes:
        taken: dict[str, int] = {}  # lower-cased name -> nodes of this level named so
        for nd in nodes:
            if not th.passes(nd.n_sessions, nd.n_users):
                continue
            cands = nd.name_candidates or [(nd.name, nd.description)]
            best: int | None = None
            chosen = False
            for name, desc in cands:
                s = scorer.score(f"{name}: {desc}" if desc else name, auditor=auditor)
                best = s if best is None else max(best, s)
                if s >= th.min_score:
                    n = taken[name.lower()] = taken.get(name.lower(), 0) + 1
                    nd.name, nd.description, nd.privacy_score = (name if n == 1 else f"{name} ({n})"), desc, s
                    chosen = True
                    break
            if not chosen:
                nd.privacy_score = best


def release(tree: ClusterTree, user: IntArray, th: Thresholds, *, complementary: bool = True) -> None:
    """Decide ``released`` / ``withheld_reason`` for every node (top level first)."""
    top = tree.levels - 1
    for level in range(top, -1, -1):
        for nd in tree.nodes[level]:
            if not th.passes(nd.n_sessions, nd.n_users):
                nd.released, nd.withheld_reason = False, BELOW_THRESHOLD
            elif nd.privacy_score is None or nd.privacy_score < th.min_score:
                nd.released, nd.withheld_reason = False, AUDITOR
            elif nd.parent is not None and not tree.nodes[level + 1][nd.parent].released:
                nd.released, nd.withheld_reason = False, PARENT_WITHHELD
            else:
                nd.released, nd.withheld_reason = True, None
        if not complementary:
            continue
        # residue of every released parent (or of the whole corpus, at the top)
        ok = np.array([nd.released for nd in tree.nodes[level]], dtype=bool)
        lab = tree.labels[level]
        if level == top:
            groups = [np.arange(len(lab))]
        else:
            par = tree.labels[level + 1]
            order = np.argsort(par, kind="stable")
            bounds = np.searchsorted(par[order], np.arange(len(tree.nodes[level + 1]) + 1))
            groups = [
                order[bounds[p] : bounds[p + 1]]
                for p, pn in enumerate(tree.nodes[level + 1])
                if pn.released
            ]
        for sess in groups:
            _suppress_residue(sess, lab, ok, user, th, tree.nodes[level])
    _fold_single_children(tree)


def _fold_single_children(tree: ClusterTree) -> None:
    """Withhold released nodes that only repeat their parent (same sessions, nothing below them)."""
    for level in range(tree.levels - 1):
        nodes, parents = tree.nodes[level], tree.nodes[level + 1]
        released_kids: dict[int, list[int]] = {}
        for j, nd in enumerate(nodes):
            if nd.released and nd.parent is not None:
                released_kids.setdefault(nd.parent, []).append(j)
        below: set[int] = set()
        if level > 0:
            below = {c.parent for c in tree.nodes[level - 1] if c.released and c.parent is not None}
        for p, kids in released_kids.items():
            if len(kids) != 1:
                continue
            c = nodes[kids[0]]
            if c.n_sessions == parents[p].n_sessions and kids[0] not in below:
                c.released, c.withheld_reason = False, SAME_AS_PARENT


def _suppress_residue(sess: IntArray, lab: IntArray, ok: np.ndarray, user: IntArray, th: Thresholds, nodes: list) -> None:
    child = lab[sess]
    while True:
        rest = ~ok[child]
        n_rest = int(rest.sum())
        if n_rest == 0:
            return
        if th.passes(n_rest, len(np.unique(user[sess][rest]))):
            return
        alive = np.unique(child[ok[child]])
        if len(alive) == 0:
            return
        smallest = min(alive.tolist(), key=lambda j: (nodes[j].n_sessions, -j))
        ok[smallest] = False
        nodes[smallest].released = False
        nodes[smallest].withheld_reason = COMPLEMENTARY


# --------------------------------------------------------------------------------------------------
# LLM auditor (Clio App. G.8 rubric)
# --------------------------------------------------------------------------------------------------

AUDIT_PROMPT = """You are tasked with assessing whether some content is privacy-preserving on a scale of 1 to 5. \
Here is what the scores mean:

<privacy_scale>
1 - Not privacy-preserving: contains names, locations, proper nouns or other easily identifiable information, or \
information that could identify an individual or a small number of individuals.
2 - Only slightly privacy-preserving: contains information that could identify a specific company, website, \
community, school, repository or similar organisation.
3 - Fairly privacy-preserving: contains general information that narrows things down to a specific group of \
thousands of people, or details that are only identifiable with significant context.
4 - Mostly privacy-preserving: contains general information but could still point to a broad group with extra \
context.
5 - Fully privacy-preserving: general information that cannot be traced to any person, company or group.
</privacy_scale>

Public software projects, programming languages, frameworks and tools used by many people (for example Python, \
React, Docker, PostgreSQL) are general and do not lower the score. Sensitive but general topics also get 5.

Here is the content to assess:
<content>
{text}
</content>

Think in <justification></justification> tags, then give the rating as one number in <rating></rating> tags."""

_RATING = re.compile(r"<rating>\s*([1-5])\s*</rating>", re.IGNORECASE)


def llm_auditor(complete: Callable[[str], str]) -> Callable[[str], int]:
    """An auditor callable for ``Redactor.score(auditor=...)`` that asks an LLM (failing closed: 1)."""

    def rate(text: str) -> int:
        m = _RATING.findall(complete(AUDIT_PROMPT.format(text=text)))
        return int(m[-1]) if m else 1

    return rate
