"""Measure after a small change: incremental (only the changed sessions) against a full build of every session.

    python benchmarks/measure_incremental.py [--sessions 20000] [--files 5] [--dir DIR] [--repeat 3]

Generates a corpus with the sample generator (kept in DIR for the next run), ingests it and builds the sessions,
then, ``--repeat`` times: appends a few records to ``--files`` session files, ingests again and brings the
sessions up to date (incremental), then times a full build of the same store. Prints the seconds of each and
checks that both give the same rows. Only ratios measured within one run are meaningful on a shared machine.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from codecensus.ingest import ingest  # noqa: E402
from codecensus.measure import build_sessions  # noqa: E402
from codecensus.sample import generate_corpus  # noqa: E402
from codecensus.store import Store  # noqa: E402
from test_measure_incremental import _append, _fresh, _main_files, _records  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20_000)
    ap.add_argument("--files", type=int, default=5, help="session files appended to per round")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "codecensus_bench_measure")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("codecensus.measure").setLevel(logging.INFO)
    corpus = args.dir / f"corpus-{args.sessions}"
    if not corpus.exists():
        t = time.perf_counter()
        generate_corpus(corpus, users=max(5, args.sessions // 60), sessions=args.sessions, months=3, seed=3)
        print(f"generated {args.sessions} sessions in {time.perf_counter() - t:.1f} s")
    db = args.dir / f"db-{args.sessions}.duckdb"
    db.unlink(missing_ok=True)
    Path(f"{db}.wal").unlink(missing_ok=True)
    store = Store(db)
    t = time.perf_counter()
    stats = ingest(store, [corpus], user_from_dir=True, workers=args.workers, settle_s=0)
    print(f"cold ingest {time.perf_counter() - t:.1f} s: {stats.files_parsed} files, {stats.files_failed} failed")
    t = time.perf_counter()
    n = build_sessions(store)
    print(f"first measure (full): {time.perf_counter() - t:.2f} s, {n} sessions")
    mains = _main_files(corpus)
    for r in range(args.repeat):
        for i, p in enumerate(mains[r * args.files:(r + 1) * args.files]):
            _append(p, _fresh(_records(p)[-4:], f"bench{r}x{i}", timedelta(days=1)))
        t = time.perf_counter()
        stats = ingest(store, [corpus], user_from_dir=True, workers=args.workers, settle_s=0)
        ing = time.perf_counter() - t
        t = time.perf_counter()
        build_sessions(store)
        inc = time.perf_counter() - t
        rows = store.con.execute("SELECT * FROM sessions ORDER BY session_key").fetchall()
        t = time.perf_counter()
        build_sessions(store, full=True)
        full = time.perf_counter() - t
        same = rows == store.con.execute("SELECT * FROM sessions ORDER BY session_key").fetchall()
        print(f"round {r + 1}: {stats.files_appended} file(s) appended, re-ingest {ing:.2f} s; measure incremental "
              f"{inc:.2f} s, full {full:.2f} s ({full / inc:.0f}x); same rows: {same}")
        if not same:
            raise SystemExit("incremental and full builds differ")
    store.close()


if __name__ == "__main__":
    main()
