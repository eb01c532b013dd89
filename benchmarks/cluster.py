"""Benchmark of ``codecensus cluster`` (offline): seconds per stage for 10K, 100K and 400K summaries.

    .venv/bin/python benchmarks/cluster.py                       # 10k,100k,400k; templated + distinct
    .venv/bin/python benchmarks/cluster.py --sizes 10000 --kinds distinct --embedder e5

Two kinds of corpora, both with planted topics (so recovery is reported too):

- ``templated``: offline-classifier-style template summaries; many are identical, and the
  stage embeds each distinct text once (the realistic case for offline summaries);
- ``distinct``: every summary made unique by four extra random real words (the worst case:
  LLM-written summaries rarely repeat; ~20 words each).

Embedding and clustering are timed separately (``embed`` = the model's encode time on the
distinct texts; ``kmeans``; then vocabulary + names, hierarchy, privacy). The embedding cache
is not used (no store), so every run pays the full model cost. Results go to stdout as a table
and to ``--out`` as JSON.

``--through-store`` runs the *whole stage* instead, as ``codecensus cluster`` does: the frame is
first written to a fresh DuckDB store (``sessions`` + ``facets``, untimed, in its own process),
then a second process times :func:`codecensus.cluster.run.run_cluster` (load the facets, embed,
k-means, names, hierarchy, privacy, write ``clusters`` + ``session_clusters``, manifest) and
reports its peak RSS (``ru_maxrss``: that process alone, so the stage's own memory).

    .venv/bin/python benchmarks/cluster.py --through-store --sizes 100000,400000 --kinds distinct --embedder auto
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

from codecensus.cluster.model import SummaryFrame
from codecensus.cluster.quality import tree_recovery
from codecensus.cluster.run import ClusterConfig, cluster_frame
from codecensus.cluster.synthetic import planted_frame


def _words() -> list[str]:
    """~500 real English/technical words (the offline classifier's generic topic vocabulary)."""
    from codecensus.classify.offline import GENERIC_TOPICS
    from codecensus.cluster.synthetic import STACKS

    words = set(GENERIC_TOPICS)
    for stack, things in STACKS:
        words.add(stack.lower())
        words.update(w.lower() for t in things for w in t.split())
    return sorted(words)


def make_corpus(n: int, kind: str, seed: int = 0) -> tuple[SummaryFrame, list[str]]:
    planted = planted_frame(n, n_topics=60, n_users=max(50, n // 20), seed=seed)
    frame = planted.frame
    if kind == "distinct":
        rng = random.Random(seed + 1)
        words = _words()
        frame.summary = [
            f"{s[:-1]}, touching the {rng.choice(words)} {rng.choice(words)} and {rng.choice(words)} "
            f"{rng.choice(words)} parts."
            for s in frame.summary
        ]
    return frame, planted.topics


def run_one(n: int, kind: str, embedder_name: str, levels: int, seed: int) -> dict[str, object]:
    from codecensus.cluster.embed_stage import dedup, resolve_embedder

    frame, topics = make_corpus(n, kind, seed)
    # as run_cluster does: the tier follows the number of distinct summaries (a fresh cache each run)
    embedder = resolve_embedder(embedder_name, n_unique=len(dedup(frame.summary)[0]))
    embedder.encode(["warm up the model", "and its tokenizer"])  # load weights outside the timings
    t0 = time.perf_counter()
    c0 = time.process_time()
    res = cluster_frame(frame, embedder=embedder, config=ClusterConfig(levels=levels, seed=seed))  # type: ignore[arg-type]
    total = time.perf_counter() - t0
    total_cpu = time.process_time() - c0
    rec = tree_recovery(dict(zip(frame.session_key, topics, strict=True)), frame.session_key, res.tree.labels)
    t = res.timings
    priv = res.privacy_summary()
    return {
        "n": n,
        "kind": kind,
        "distinct": res.info["distinct_summaries"],
        "k": res.info["k"],
        "embedder": res.info["embedder"],
        "kmeans_method": res.info["kmeans"],
        "level_sizes": res.info["level_sizes"],
        "embed_s": t["embed"],
        "embed_cpu_s": t["embed_cpu"],
        "embed_per_s": round(res.info["distinct_summaries"] / max(t["embed"], 1e-9)),
        "dedup_s": t["dedup"],
        "kmeans_s": t["kmeans"],
        "kmeans_cpu_s": t["kmeans_cpu"],
        "names_s": round(t["vocabulary"] + t["name_leaves"] + t["name_upper"], 2),
        "hierarchy_s": t["hierarchy"],
        "privacy_s": t["privacy"],
        "total_s": round(total, 1),
        "total_cpu_s": round(total_cpu, 1),
        "leaf_majority_accuracy": round(rec[0]["majority_accuracy"], 4),
        "leaf_nmi": round(rec[0]["nmi"], 4),
        "released": [lv["released"] for lv in priv["levels"]],
    }


def build_store(n: int, kind: str, seed: int, db: Path) -> None:
    """Write a planted corpus as the tables ``run_cluster`` reads (``sessions`` users, ``facets`` summaries)."""
    import pyarrow as pa

    from codecensus.store import Store

    frame, _ = make_corpus(n, kind, seed)
    st = Store(db)
    users = [f"u{int(u)}" for u in frame.user]
    st.con.register("_s", pa.table({"session_key": frame.session_key, "user": users}))
    st.con.execute('CREATE OR REPLACE TABLE sessions AS SELECT session_key, "user" FROM _s')
    exp = [None if e != e else float(e) for e in frame.expertise]
    st.con.register("_f", pa.table({"session_key": frame.session_key, "summary": frame.summary, "mode": frame.mode,
                                     "outcome": frame.outcome, "expertise": pa.array(exp, pa.float64())}))
    st.con.execute("CREATE OR REPLACE TABLE facets AS SELECT *, now() AS classified_at FROM _f")
    st.close()


def run_store(db: Path, embedder_name: str, levels: int, seed: int) -> dict[str, object]:
    import resource

    from codecensus.cluster.run import run_cluster
    from codecensus.store import Store

    st = Store(db)
    t0 = time.perf_counter()
    c0 = time.process_time()
    res = run_cluster(st, config=ClusterConfig(levels=levels, seed=seed, embedder=embedder_name))
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    st.close()
    t = res.timings
    return {"n": res.info["sessions"], "distinct": res.info["distinct_summaries"], "embedder": res.info["embedder"],
            "k": res.info["k"], "kmeans_method": res.info["kmeans"], "embed_s": t["embed"], "kmeans_s": t["kmeans"],
            "names_s": round(t["vocabulary"] + t["name_leaves"] + t["name_upper"], 2), "hierarchy_s": t["hierarchy"],
            "privacy_s": t["privacy"], "stage_s": round(total, 1), "stage_cpu_s": round(cpu, 1),
            "load_write_s": round(total - sum(v for k, v in t.items() if not k.endswith("_cpu")), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def through_store(n: int, kind: str, embedder_name: str, levels: int, seed: int) -> dict[str, object]:
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="cc-cluster-") as tmp:
        db = Path(tmp) / "c.duckdb"
        base = [sys.executable, __file__, "--levels", str(levels), "--seed", str(seed), "--embedder", embedder_name]
        subprocess.run([*base, "--child-build", str(db), "--sizes", str(n), "--kinds", kind], check=True)
        out = subprocess.run([*base, "--child-run", str(db)], check=True, capture_output=True, text=True).stdout
    return {"kind": kind, **json.loads(out.strip().splitlines()[-1])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,400000")
    ap.add_argument("--kinds", default="templated,distinct")
    ap.add_argument("--embedder", default="use", help="e5 | use | lexical | auto")
    ap.add_argument("--levels", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--through-store", action="store_true", help="time the whole stage (run_cluster on a store)")
    ap.add_argument("--child-build", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-run", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_build:
        build_store(int(args.sizes), args.kinds, args.seed, args.child_build)
        return 0
    if args.child_run:
        print(json.dumps(run_store(args.child_run, args.embedder, args.levels, args.seed)))
        return 0

    env = {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "threads": os.environ.get("CODECENSUS_THREADS", "2"),
        "platform": platform.platform(),
        "embedder": args.embedder,
        "load_avg_start": os.getloadavg(),
    }
    print(json.dumps(env))
    rows = []
    for kind in args.kinds.split(","):
        for n in (int(s) for s in args.sizes.split(",")):
            load0 = round(os.getloadavg()[0], 2)
            if args.through_store:
                r = through_store(n, kind, args.embedder, args.levels, args.seed)
            else:
                r = run_one(n, kind, args.embedder, args.levels, args.seed)
            r["load_avg"] = f"{load0} → {round(os.getloadavg()[0], 2)}"
            rows.append(r)
            print(json.dumps(r), flush=True)
    if args.through_store:
        cols = ["kind", "n", "distinct", "embedder", "k", "embed_s", "kmeans_s", "names_s", "hierarchy_s", "privacy_s",
                "load_write_s", "stage_s", "stage_cpu_s", "peak_rss_mb", "load_avg"]
        print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
        for r in rows:
            print("| " + " | ".join(str(r[c]) for c in cols) + " |")
        if args.out:
            args.out.write_text(json.dumps({"env": env, "rows": rows}, indent=2))
        return 0
    cols = ["kind", "n", "distinct", "embedder", "k", "embed_s", "embed_cpu_s", "kmeans_s", "kmeans_cpu_s", "names_s",
            "hierarchy_s", "privacy_s", "total_s", "total_cpu_s", "leaf_majority_accuracy", "load_avg"]
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    if args.out:
        args.out.write_text(json.dumps({"env": env, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
