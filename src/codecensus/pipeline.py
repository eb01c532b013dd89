"""The main job end to end: generate (demo only) → ingest → measure → classify → cluster → git → report.

Each stage is called through its own package's public function; this module only orders them,
times them and records one manifest for the whole run.
"""

from __future__ import annotations

import csv
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from codecensus.store import Store


def _stage(console: Console, timings: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    t0 = time.perf_counter()
    with console.status(f"[bold]{name}[/bold]…"):
        result = fn()
    timings[name] = round(time.perf_counter() - t0, 2)
    console.print(f"[green]✓[/green] {name} ({timings[name]:.1f}s)")
    return result


DEMO_ENTRIES = ("corpus", "repos", "report", "codecensus.duckdb", "codecensus.duckdb.wal")


def check_demo_dir(out_dir: Path) -> None:
    """Raise FileExistsError unless ``out_dir`` is missing, empty, or an earlier demo's folder.

    The demo replaces its database, ``repos/`` and ``report/`` there: in any other folder they may be the user's own.
    An earlier demo's folder is known by the sample corpus's manifest (``corpus/manifest.json``).
    """
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    try:
        man = orjson.loads((out_dir / "corpus" / "manifest.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        man = None
    if isinstance(man, dict) and man.get("generator") == "codecensus.sample":
        return
    raise FileExistsError(
        f"{out_dir} is not empty and holds no earlier demo: the demo writes {', '.join(DEMO_ENTRIES[:4])} there, "
        "replacing what has those names. Choose a new or empty folder."
    )


def run_demo(
    out_dir: Path,
    *,
    users: int = 300,
    sessions: int = 3000,
    months: int = 7,
    seed: int = 7,
    console: Console | None = None,
    workers: int | None = None,
) -> Path:
    """Generate a sample corpus under ``out_dir/corpus`` and run the whole pipeline on it.

    Returns the path of the HTML report (``out_dir/report/report.html``).
    """
    from codecensus.classify.run import classify_store, describe_backend, make_backend
    from codecensus.cluster.run import run_cluster
    from codecensus.engine import classify_with
    from codecensus.gitagents.demo import make_demo_repos
    from codecensus.gitagents.scan import scan_paths, store_results
    from codecensus.ingest import ingest
    from codecensus.manifest import record_run
    from codecensus.measure import build_sessions
    from codecensus.report.build import ReportOptions, write_report
    from codecensus.sample import generate_corpus

    console = console or Console(stderr=True)
    out_dir = Path(out_dir)
    check_demo_dir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus = out_dir / "corpus"
    db_path = out_dir / "codecensus.duckdb"
    for p in (db_path, Path(f"{db_path}.wal")):
        p.unlink(missing_ok=True)  # a demo always starts from a fresh database
    timings: dict[str, float] = {}
    n_workers = workers or (os.cpu_count() or 1)

    summary = _stage(
        console, timings, "generate sample corpus",
        lambda: generate_corpus(corpus, users=users, sessions=sessions, months=months, seed=seed),
    )
    store = Store(db_path)
    try:
        stats = _stage(console, timings, "ingest", lambda: ingest(store, [corpus], user_from_dir=True, workers=n_workers))
        if stats.files_failed:
            raise RuntimeError(f"{stats.files_failed} files failed to ingest: {stats.errors[:3]}")
        n_sessions = _stage(console, timings, "measure sessions", lambda: build_sessions(store))
        backend = make_backend("offline", store=store)
        cstats = _stage(
            console, timings, "classify (offline)",
            # a process per core; one core: the same backend in this process
            lambda: classify_with("local", store, "offline", workers=n_workers) if n_workers > 1
            else classify_store(store, backend),
        )
        truth = _truth(corpus / "truth.csv")
        cres = _stage(console, timings, "cluster topics", lambda: run_cluster(store, truth=truth))
        repos_dir = out_dir / "repos"
        shutil.rmtree(repos_dir, ignore_errors=True)
        _stage(
            console, timings, "git agent adoption",
            lambda: store_results(store, scan_paths(make_demo_repos(repos_dir, seed))),
        )
        report_dir = out_dir / "report"
        rep = _stage(console, timings, "report", lambda: write_report(store, ReportOptions(out=report_dir)))
        record_run(
            store,
            "demo",
            {
                "corpus": {"sessions": summary.sessions, "users": summary.users, "bytes": summary.bytes,
                           "months": summary.months, "seed": seed},
                "sessions_measured": n_sessions,
                "classify": describe_backend(backend) | {"classified": cstats.classified,
                                                         "abstention_reasons": cstats.abstention_reasons},
                "cluster": {k: v for k, v in cres.info.items() if k in ("k", "levels", "recovery", "embedder")},
                "release_policy": {"min_users": rep.computed.policy.min_users,
                                   "min_sessions": rep.computed.policy.min_sessions},
                "timings_s": timings,
            },
            out_dir=report_dir,
        )
    finally:
        store.close()
    return rep.html


def _truth(path: Path) -> dict[str, str]:
    """session_key → planted topic (generated corpora only; used to score topic recovery, never to classify)."""
    if not path.exists():
        return {}
    with open(path, newline="") as fh:
        return {row["session_id"]: row["topic"] for row in csv.DictReader(fh)}
