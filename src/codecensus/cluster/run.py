"""The cluster stage end to end: facets → embeddings → k-means → names → hierarchy → privacy → tables.

:func:`cluster_frame` is the pure pipeline over a :class:`SummaryFrame`; :func:`run_cluster`
reads the ``facets`` table, runs it, and writes ``clusters`` and ``session_clusters`` in one
transaction, plus a run manifest.

Output tables (consumed by the report):

``clusters``: one row per node of the tree: ``cluster_id`` (``c{level}-{rank}``), ``parent_id``
(NULL at the top), ``level`` (0 = leaves … ``levels-1`` = top), ``name``, ``description``,
``n_sessions``, ``n_users``, ``released``, ``privacy_score`` (auditor 1–5; NULL when the node
was never a release candidate), ``mode_mix`` / ``outcome_mix`` (JSON shares of sessions with a
label), ``expertise_mean``, ``withheld_reason``. Name, description, mixes and expertise are NULL
on rows that are not released: only released rows may be shown.

``session_clusters``: ``session_key``, ``cluster_id`` = the deepest *released* cluster on the
session's path (its leaf, or the ancestor it was merged into); NULL when its whole path was
withheld.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
from scipy import sparse

from codecensus.cluster import hierarchy as H
from codecensus.cluster import naming as N
from codecensus.cluster import privacy as P
from codecensus.cluster.embed_stage import Embedded, TextEmbedder, embed_summaries, resolve_embedder
from codecensus.cluster.kmeans import KMeansMethod, choose_k, fit_kmeans, nearest_outside
from codecensus.cluster.model import ClusterNode, ClusterTree, IntArray, SummaryFrame, cluster_id
from codecensus.taxonomy import MODE_KEYS, OUTCOME_KEYS

Progress = Callable[[str, int, int], None]

BACKENDS = ("offline", "anthropic", "openai")


@dataclass(slots=True)
class ClusterConfig:
    backend: str = "offline"  # 'offline', or an LLM backend name (naming + hierarchy through ``complete``)
    levels: int = 3  # levels including the leaves
    k: int | None = None  # base clusters (default: :func:`choose_k`)
    top: int | None = None  # top-level clusters (default: :func:`hierarchy.default_top`)
    embedder: str = "auto"
    kmeans: KMeansMethod = "auto"
    seed: int = 0
    complementary: bool = True
    in_samples: int = 50  # Clio: 50 random summaries from inside the cluster …
    out_samples: int = 50  # … and the 50 nearest outside it
    neighbourhood: int = 40  # Clio hierarchizer neighbourhood size
    vocab_texts: int = 100_000  # distinct summaries the offline names are computed from (sampled above)


@dataclass(slots=True)
class ClusterResult:
    frame: SummaryFrame
    tree: ClusterTree
    embedded: Embedded
    thresholds: P.Thresholds
    config: ClusterConfig
    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    # -- tables ---------------------------------------------------------------------------------
    def clusters_table(self) -> pa.Table:
        rows: dict[str, list[Any]] = {k: [] for k in (
            "cluster_id", "parent_id", "level", "name", "description", "n_sessions", "n_users", "released",
            "privacy_score", "mode_mix", "outcome_mix", "expertise_mean", "withheld_reason")}
        for level, nodes in enumerate(self.tree.nodes):
            for nd in nodes:
                rel = nd.released
                rows["cluster_id"].append(nd.cluster_id)
                rows["parent_id"].append(cluster_id(level + 1, nd.parent) if nd.parent is not None else None)
                rows["level"].append(level)
                rows["name"].append(nd.name if rel else None)
                rows["description"].append(nd.description if rel else None)
                rows["n_sessions"].append(nd.n_sessions)
                rows["n_users"].append(nd.n_users)
                rows["released"].append(rel)
                rows["privacy_score"].append(nd.privacy_score)
                rows["mode_mix"].append(orjson.dumps(nd.mode_mix).decode() if rel else None)
                rows["outcome_mix"].append(orjson.dumps(nd.outcome_mix).decode() if rel else None)
                rows["expertise_mean"].append(nd.expertise_mean if rel else None)
                rows["withheld_reason"].append(nd.withheld_reason)
        schema = pa.schema([
            ("cluster_id", pa.string()), ("parent_id", pa.string()), ("level", pa.int32()), ("name", pa.string()),
            ("description", pa.string()), ("n_sessions", pa.int64()), ("n_users", pa.int64()),
            ("released", pa.bool_()), ("privacy_score", pa.int32()), ("mode_mix", pa.string()),
            ("outcome_mix", pa.string()), ("expertise_mean", pa.float64()), ("withheld_reason", pa.string()),
        ])
        return pa.table(rows, schema=schema)

    def session_clusters_table(self) -> pa.Table:
        return pa.table(
            {"session_key": self.frame.session_key, "cluster_id": self.tree.released_label()},
            schema=pa.schema([("session_key", pa.string()), ("cluster_id", pa.string())]),
        )

    def privacy_summary(self) -> dict[str, Any]:
        """Release decisions and auditor ratings, per level (for the manifest and the CLI)."""
        out: dict[str, Any] = {"thresholds": {"min_users": self.thresholds.min_users,
                                              "min_sessions": self.thresholds.min_sessions,
                                              "min_score": self.thresholds.min_score}}
        levels = []
        for level, nodes in enumerate(self.tree.nodes):
            reasons: dict[str, int] = {}
            scores: dict[str, int] = {}
            for nd in nodes:
                if nd.withheld_reason:
                    reasons[nd.withheld_reason] = reasons.get(nd.withheld_reason, 0) + 1
                if nd.privacy_score is not None:
                    scores[str(nd.privacy_score)] = scores.get(str(nd.privacy_score), 0) + 1
            rel = [nd for nd in nodes if nd.released]
            levels.append({
                "level": level, "clusters": len(nodes), "released": len(rel), "withheld": reasons,
                "auditor_scores": dict(sorted(scores.items())),
                "min_released_users": min((nd.n_users for nd in rel), default=None),
                "min_released_sessions": min((nd.n_sessions for nd in rel), default=None),
            })
        out["levels"] = levels
        lab = self.tree.released_label()
        out["sessions_in_released_leaf"] = int(sum(
            1 for s in lab if s is not None and s.startswith("c0-")))
        out["sessions_merged_upward"] = int(sum(1 for s in lab if s is not None and not s.startswith("c0-")))
        out["sessions_withheld"] = int(sum(1 for s in lab if s is None))
        return out


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def _mixes(labels: IntArray, k: int, values: Sequence[str | None], keys: Sequence[str]) -> list[dict[str, float]]:
    pos = {v: i for i, v in enumerate(keys)}
    codes = np.fromiter((pos.get(v, -1) if v is not None else -1 for v in values), dtype=np.int64, count=len(values))
    ok = codes >= 0
    table = np.zeros((k, len(keys)), dtype=np.int64)
    np.add.at(table, (labels[ok], codes[ok]), 1)
    out = []
    for row in table:
        tot = row.sum()
        out.append({keys[i]: round(float(row[i] / tot), 4) for i in np.flatnonzero(row)} if tot else {})
    return out


def _expertise(labels: IntArray, k: int, exp: np.ndarray) -> list[float | None]:
    ok = ~np.isnan(exp)
    s = np.bincount(labels[ok], weights=exp[ok], minlength=k)
    c = np.bincount(labels[ok], minlength=k)
    return [round(float(s[i] / c[i]), 3) if c[i] else None for i in range(k)]


def _relabel(parents: list[IntArray], leaf_weights: np.ndarray) -> tuple[list[IntArray], list[IntArray]]:
    """Order every upper level by size (0 = largest); returns new parents and, per level, old index of new i."""
    parents = [p.copy() for p in parents]
    perms: list[IntArray] = []
    w = np.asarray(leaf_weights, dtype=np.float64)
    for lv in range(len(parents)):
        p = parents[lv]
        kp = int(p.max()) + 1 if len(p) else 0
        wp = np.bincount(p, weights=w, minlength=kp)
        order = np.lexsort((np.arange(kp), -wp)).astype(np.int64)
        remap = np.empty(kp, dtype=np.int64)
        remap[order] = np.arange(kp)
        parents[lv] = remap[p]
        if lv + 1 < len(parents):
            parents[lv + 1] = parents[lv + 1][order]
        perms.append(order)
        w = wp[order]
    return parents, perms


def _sole_children(parent_of: IntArray, n_parents: int) -> dict[int, int]:
    """Child → parent, for each parent with exactly one child (whose sessions are then exactly the parent's)."""
    kids = np.bincount(parent_of, minlength=n_parents)
    return {int(c): int(p) for c, p in enumerate(parent_of) if kids[p] == 1}


def _text_users(inverse: IntArray, user: IntArray, n_texts: int) -> sparse.csr_matrix:
    n_users = int(user.max()) + 1 if len(user) else 0
    m = sparse.csr_matrix(
        (np.ones(len(inverse), dtype=np.int32), (inverse, user)), shape=(n_texts, max(n_users, 1))
    )
    m.sum_duplicates()
    m.data[:] = 1
    return m


def _text_modes(inverse: IntArray, modes: Sequence[str | None], n_texts: int) -> sparse.csr_matrix:
    pos = {m: i for i, m in enumerate(MODE_KEYS)}
    codes = np.fromiter((pos.get(m, -1) if m is not None else -1 for m in modes), dtype=np.int64, count=len(modes))
    ok = codes >= 0
    m = sparse.csr_matrix(
        (np.ones(int(ok.sum()), dtype=np.int64), (inverse[ok], codes[ok])), shape=(n_texts, len(MODE_KEYS))
    )
    m.sum_duplicates()
    return m


def prompt_hashes() -> dict[str, str]:
    def h(s: str) -> str:
        return hashlib.sha256(s.encode()).hexdigest()[:16]

    return {
        "name": h(N.NAME_PROMPT + N.NAME_CRITERIA),
        "propose": h(H.PROPOSE_PROMPT),
        "dedupe": h(H.DEDUPE_PROMPT),
        "assign": h(H.ASSIGN_PROMPT),
        "rename": h(H.RENAME_PROMPT),
        "audit": h(P.AUDIT_PROMPT),
    }


class _CountingComplete:
    def __init__(self, complete: N.Complete) -> None:
        self.complete = complete
        self.calls = 0

    def __call__(self, prompt: str) -> str:
        self.calls += 1
        return self.complete(prompt)


# --------------------------------------------------------------------------------------------------
# the pipeline
# --------------------------------------------------------------------------------------------------


def cluster_frame(
    frame: SummaryFrame,
    *,
    embedder: TextEmbedder,
    config: ClusterConfig | None = None,
    thresholds: P.Thresholds | None = None,
    scorer: P.Scorer | None = None,
    complete: N.Complete | None = None,
    auditor: Callable[[str], int] | None = None,
    progress: Progress | None = None,
) -> ClusterResult:
    """Cluster one frame of summaries into a named, privacy-checked tree."""
    cfg = config or ClusterConfig()
    th = thresholds or P.Thresholds()
    if scorer is None:
        from codecensus.redact import get_redactor

        scorer = get_redactor()
    llm = _CountingComplete(complete) if complete is not None else None
    if cfg.backend != "offline" and llm is None:
        raise ValueError(f"backend {cfg.backend!r} needs a complete(prompt) callable")
    timings: dict[str, float] = {}

    def step(name: str, done: int = 0, total: int = 0) -> None:
        if progress is not None:
            progress(name, done, total)

    # 1. embeddings of the distinct summaries
    step("embed")
    t0 = time.perf_counter()
    emb = embed_summaries(frame.summary, embedder, progress=lambda d, t: step("embed", d, t))
    timings["dedup"] = round(time.perf_counter() - t0 - emb.seconds, 3)
    timings["embed"] = round(emb.seconds, 3)
    timings["embed_cpu"] = round(emb.cpu_seconds, 3)

    # 2. base clusters
    step("kmeans")
    k = cfg.k or choose_k(len(frame), emb.n_unique, min_sessions=th.min_sessions)
    c0 = time.process_time()
    fit = fit_kmeans(emb.vectors, emb.counts, k, seed=cfg.seed, method=cfg.kmeans)
    timings["kmeans"] = round(fit.seconds, 3)
    timings["kmeans_cpu"] = round(time.process_time() - c0, 3)
    leaf_of_text = fit.labels
    leaf = leaf_of_text[emb.inverse]
    k = fit.k

    # 3. vocabulary (offline names, fallbacks of LLM names)
    t0 = time.perf_counter()
    redactor_fn: Callable[[str], str] | None = getattr(scorer, "redact", None)
    # names come from at most ``vocab_texts`` distinct summaries (a seeded sample above that): the
    # keyphrase ranking barely moves, and term support counted on a sample is a lower bound (safe side)
    if emb.n_unique > cfg.vocab_texts:
        vs = np.sort(np.random.default_rng(cfg.seed).choice(emb.n_unique, cfg.vocab_texts, replace=False))
    else:
        vs = np.arange(emb.n_unique)
    keep = np.zeros(emb.n_unique, dtype=bool)
    keep[vs] = True
    pos = np.full(emb.n_unique, -1, dtype=np.int64)
    pos[vs] = np.arange(len(vs))
    rows = keep[emb.inverse]
    v_texts = [emb.texts[int(i)] for i in vs]
    v_counts = emb.counts[vs]
    index = N.build_term_index(
        v_texts, v_counts, _text_users(pos[emb.inverse[rows]], frame.user[rows], len(vs)),
        min_users=th.min_users, min_sessions=th.min_sessions, redact=redactor_fn,
        text_modes=_text_modes(pos[emb.inverse[rows]], [m for m, r in zip(frame.mode, rows, strict=True) if r],
                               len(vs)),
    )
    # how evenly each term spreads over the leaves: a word of every cluster is generic, not a topic
    index.spread = N.term_spread(index, leaf_of_text[vs], v_counts, k)
    timings["vocabulary"] = round(time.perf_counter() - t0, 3)

    # 4. leaf names
    t0 = time.perf_counter()
    step("name")
    leaf_modes = _mixes(leaf, k, frame.mode, MODE_KEYS)
    leaf_ns, leaf_nu = P.node_counts(leaf, frame.user, k)
    leaf_cands: list[list[tuple[str, str]]] = []
    if llm is not None:  # the LLM hierarchizer reads every leaf's name: the offline one where the LLM gives none
        offline_leaf = N.name_level_offline(index, v_texts, v_counts, leaf_of_text[vs], k, leaf_modes, seed=cfg.seed)
        leaf_cands = [list(offline_leaf[c].candidates) for c in range(k)]
    llm_named = [0, 0]  # leaves the LLM named, leaves it was asked to name
    llm_leaf: dict[int, tuple[str, str]] = {}
    if llm is not None:
        rng = random.Random(cfg.seed)
        eligible = [c for c in range(k) if th.passes(int(leaf_ns[c]), int(leaf_nu[c]))]
        llm_named[1] = len(eligible)
        sess_by_leaf = [np.flatnonzero(leaf == c) for c in range(k)] if eligible else []
        for n_done, c in enumerate(eligible):
            members = sess_by_leaf[c].tolist()
            pick = rng.sample(members, min(cfg.in_samples, len(members)))
            inside = list(dict.fromkeys(emb.texts[int(emb.inverse[i])] for i in pick))
            outside = [emb.texts[int(j)] for j in nearest_outside(
                emb.vectors, leaf_of_text, fit.centroids, c, cfg.out_samples)]
            got = N.llm_name(llm, inside, outside)
            if got is not None:
                leaf_cands[c] = [got, *leaf_cands[c]]
                llm_leaf[c] = got
                llm_named[0] += 1
            step("name", n_done + 1, len(eligible))
    timings["name_leaves"] = round(time.perf_counter() - t0, 3)

    # 5. hierarchy
    t0 = time.perf_counter()
    step("hierarchy")
    sizes = H.level_sizes(k, cfg.levels, cfg.top)
    upper_llm: list[tuple[list[str], list[str], list[bool]]] = []
    if llm is None:
        parents = H.agglomerative_parents(fit.centroids, sizes)
    else:
        parents = []
        names = [c[0][0] for c in leaf_cands]
        descs = [c[0][1] for c in leaf_cands]

        def embed_fn(texts: list[str]) -> np.ndarray:
            return np.asarray(embedder.encode(texts), dtype=np.float32)

        for lv in range(1, len(sizes)):
            res = H.llm_level(llm, names, descs, embed_fn, sizes[lv], seed=cfg.seed + lv,
                              neighbourhood=cfg.neighbourhood, criteria=N.NAME_CRITERIA)
            parents.append(res.parent_of)
            upper_llm.append((res.names, res.descriptions, res.renamed))
            names, descs = res.names, res.descriptions
            if len(names) <= 1:
                break
    parents, perms = _relabel(parents, leaf_ns)
    labels: list[IntArray] = [leaf]
    for p in parents:
        labels.append(p[labels[-1]])
    timings["hierarchy"] = round(time.perf_counter() - t0, 3)

    # 6. nodes, counts, breakdowns, names of the upper levels
    t0 = time.perf_counter()
    nodes: list[list[ClusterNode]] = []
    text_labels: list[IntArray] = [leaf_of_text]
    for p in parents:
        text_labels.append(p[text_labels[-1]])
    sizes_by_level = [k] + [int(p.max()) + 1 for p in parents]
    modes_by_level = [leaf_modes] + [
        _mixes(labels[lv], sizes_by_level[lv], frame.mode, MODE_KEYS) for lv in range(1, len(labels))]
    # a parent's sole child (per level: child → parent) holds exactly its parent's sessions: the same group
    sole = [_sole_children(parents[lv], sizes_by_level[lv + 1]) for lv in range(len(parents))]
    # offline names top level first, so a child's name can say what sets it apart from its parent's; a sole child
    # keeps its parent's name (named from the same sessions, before the child's name avoided the parent's words)
    offline: list[dict[int, N.OfflineName]] = [{} for _ in labels]
    above: dict[int, list[str]] = {}  # per cluster of the level named next: its parent's name, its grandparent's …
    for lv in range(len(labels) - 1, -1, -1):
        same: dict[int, N.OfflineName] = {}
        if lv < len(parents):  # a parent's own chain is the one just built for the level above
            up_of = [int(parents[lv][j]) for j in range(sizes_by_level[lv])]
            above = {j: [offline[lv + 1][up].name, *above.get(up, [])] for j, up in enumerate(up_of)}
            same = {j: offline[lv + 1][up] for j, up in sole[lv].items()}
        offline[lv] = N.name_level_offline(index, v_texts, v_counts, text_labels[lv][vs], sizes_by_level[lv],
                                           modes_by_level[lv], seed=cfg.seed, ancestors=above, same=same)
    for lv, lab in enumerate(labels):
        kk = sizes_by_level[lv]
        ns, nu = P.node_counts(lab, frame.user, kk)
        modes = modes_by_level[lv]
        outcomes = _mixes(lab, kk, frame.outcome, OUTCOME_KEYS)
        exps = _expertise(lab, kk, frame.expertise)
        off = offline[lv]
        kp = [off[c].keyphrases for c in range(kk)]
        if lv == 0:
            cands = [[llm_leaf[c], *off[c].candidates] if c in llm_leaf else list(off[c].candidates)
                     for c in range(k)]
        else:
            cands = [list(off[c].candidates) for c in range(kk)]
            if upper_llm and lv - 1 < len(upper_llm):
                lnames, ldescs, ok = upper_llm[lv - 1]
                order = perms[lv - 1]
                cands = [
                    [(lnames[int(order[j])], ldescs[int(order[j])]), *cands[j]] if ok[int(order[j])] else cands[j]
                    for j in range(kk)
                ]
            if llm is not None:
                # the LLM named the sole child first (a leaf from its summaries), the parent from that one name:
                # the parent, the same group of sessions, takes the child's candidates
                for c, j in sole[lv - 1].items():
                    cands[j] = list(nodes[lv - 1][c].name_candidates)
        level_nodes = []
        for j in range(kk):
            nd = ClusterNode(
                level=lv, index=j, parent=int(parents[lv][j]) if lv < len(parents) else None,
                n_sessions=int(ns[j]), n_users=int(nu[j]),
                name=cands[j][0][0] if cands[j] else "", description=cands[j][0][1] if cands[j] else "",
                keyphrases=kp[j], name_candidates=cands[j], mode_mix=modes[j], outcome_mix=outcomes[j],
                expertise_mean=exps[j],
            )
            level_nodes.append(nd)
        nodes.append(level_nodes)
    tree = ClusterTree(labels=labels, parents=parents, nodes=nodes)
    timings["name_upper"] = round(time.perf_counter() - t0, 3)

    # 7. privacy: auditor, thresholds, merge upward / withhold
    t0 = time.perf_counter()
    step("privacy")
    P.audit(tree, scorer, th, auditor=auditor)
    P.release(tree, frame.user, th, complementary=cfg.complementary)
    timings["privacy"] = round(time.perf_counter() - t0, 3)

    info = {
        "backend": cfg.backend,
        "embedder": emb.model,
        "sessions": len(frame),
        "distinct_summaries": emb.n_unique,
        "k": k,
        "kmeans": fit.method,
        "level_sizes": [len(n) for n in nodes],
        "levels": len(nodes),
        "levels_requested": cfg.levels,
        "seed": cfg.seed,
        "llm_calls": llm.calls if llm is not None else 0,
        "llm_leaf_names": llm_named,
        "prompt_hashes": prompt_hashes() if llm is not None else {},
    }
    return ClusterResult(frame, tree, emb, th, cfg, timings, info)


# --------------------------------------------------------------------------------------------------
# store I/O
# --------------------------------------------------------------------------------------------------


def load_frame(store: Any) -> SummaryFrame:
    """One row per session with a summary, from ``facets`` (users from ``sessions``)."""
    if not store.table_exists("facets"):
        raise LookupError("no facets table: run `codecensus classify` first")
    cols = {r[0] for r in store.con.execute("DESCRIBE facets").fetchall()}
    if not {"session_key", "summary"} <= cols:
        raise LookupError(f"facets table lacks session_key/summary (has {sorted(cols)})")

    def col(name: str, default: str = "NULL") -> str:
        return f"f.{name}" if name in cols else f"{default} AS {name}"

    has_sessions = store.table_exists("sessions")
    user_expr = "f.user" if "user" in cols else ('s."user"' if has_sessions else "NULL")
    join = "LEFT JOIN sessions s USING (session_key)" if has_sessions and "user" not in cols else ""
    order = next((c for c in ("classified_at", "created_at", "at") if c in cols), None)
    qualify = (
        f"QUALIFY row_number() OVER (PARTITION BY f.session_key ORDER BY f.{order} DESC NULLS LAST) = 1"
        if order else "QUALIFY row_number() OVER (PARTITION BY f.session_key) = 1"
    )
    exp_expr = "TRY_CAST(f.expertise AS DOUBLE)" if "expertise" in cols else "CAST(NULL AS DOUBLE)"
    sql = f"""
        SELECT f.session_key, f.summary, {user_expr} AS user_id, {col('mode')}, {col('outcome')},
               {exp_expr} AS expertise
        FROM facets f {join}
        WHERE f.summary IS NOT NULL AND trim(f.summary) <> ''
        {qualify}
        ORDER BY f.session_key
    """
    tbl = store.query(sql)
    d = tbl.to_pydict()
    return SummaryFrame.build(
        d["session_key"], d["summary"], user=d["user_id"], mode=d["mode"], outcome=d["outcome"],
        expertise=d["expertise"],
    )


def write_result(store: Any, result: ClusterResult) -> None:
    """Replace ``clusters`` and ``session_clusters`` together, in one transaction."""
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("_clusters_new", result.clusters_table())
        con.register("_session_clusters_new", result.session_clusters_table())
        con.execute("""
            CREATE OR REPLACE TABLE clusters AS
            SELECT cluster_id, parent_id, level, name, description, n_sessions, n_users, released, privacy_score,
                   CAST(mode_mix AS JSON) AS mode_mix, CAST(outcome_mix AS JSON) AS outcome_mix, expertise_mean,
                   withheld_reason
            FROM _clusters_new""")
        con.execute("CREATE OR REPLACE TABLE session_clusters AS SELECT * FROM _session_clusters_new")
        con.unregister("_clusters_new")
        con.unregister("_session_clusters_new")
        con.execute("COMMIT")
    except BaseException:
        from codecensus.store import rollback

        rollback(con)
        raise


def run_cluster(
    store: Any,
    *,
    config: ClusterConfig | None = None,
    embedder: TextEmbedder | None = None,
    complete: N.Complete | None = None,
    policy: Any | None = None,
    scorer: P.Scorer | None = None,
    auditor: Callable[[str], int] | None = None,
    progress: Progress | None = None,
    manifest_extra: dict[str, Any] | None = None,
    truth: Mapping[str, str] | None = None,
) -> ClusterResult:
    """Load facets, cluster, write both tables and the run manifest.

    ``truth`` (session_key → planted topic, generated corpora only) adds recovery scores per level
    to ``result.info["recovery"]`` and to the manifest.
    """
    from codecensus.manifest import record_run

    cfg = config or ClusterConfig()
    frame = load_frame(store)
    if len(frame) == 0:
        # (a facets table of no rows: classify ran on an empty database, or the sessions came later)
        raise LookupError("no session has a summary in the facets table: run `codecensus classify` first")
    if embedder is None:
        from codecensus.cluster.embed_stage import dedup

        n_unique = len(dedup(frame.summary)[0])
        embedder = resolve_embedder(cfg.embedder, n_unique=n_unique, store=None if store.read_only else store)
    th = P.thresholds_from(policy)
    result = cluster_frame(frame, embedder=embedder, config=cfg, thresholds=th, scorer=scorer, complete=complete,
                           auditor=auditor, progress=progress)
    if truth:
        from codecensus.cluster.quality import tree_recovery

        result.info["recovery"] = tree_recovery(truth, frame.session_key, result.tree.labels)
    write_result(store, result)
    details = {**result.info, "timings": result.timings, "privacy": result.privacy_summary(),
               **(manifest_extra or {})}
    record_run(store, "cluster", details)
    return result
