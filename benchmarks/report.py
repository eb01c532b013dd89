"""Benchmark of the report's statistics: the user-clustered bootstrap at study scale, and a whole report.

    .venv/bin/python benchmarks/report.py                        # 400K sessions / 235K users, B=200
    .venv/bin/python benchmarks/report.py --sessions 40000 --users 4000 --report

Times are printed, never asserted. BLAS is held to one thread, as the report does.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from codecensus.aggregate.stats import UserBootstrap


def bench_bootstrap(n: int, users: int, B: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    u = rng.integers(0, users, n)
    month = rng.integers(0, 7, n)
    mode = rng.integers(0, 9, n)
    vals = rng.lognormal(4, 1, n)
    out: dict[str, float] = {}
    t = time.perf_counter()
    bs = UserBootstrap(u, B=B, seed=1)
    out["draw replicates"] = time.perf_counter() - t
    t = time.perf_counter()
    e = bs.shares(month, mode, 7, 9)
    e.ci()
    out["shares month x mode (63 cells) + CI"] = time.perf_counter() - t
    t = time.perf_counter()
    m = bs.mean(month * 9 + mode, vals, 63)
    m.ci()
    out["means month x mode (63 cells) + CI"] = time.perf_counter() - t
    t = time.perf_counter()
    bs.quantile(month, vals, 7, 0.5)
    out["medians by month (7 cells)"] = time.perf_counter() - t
    return out


def bench_report(sessions: int, users: int) -> float:
    from codecensus.aggregate.synthetic import load_into, synthetic_corpus
    from codecensus.report.build import ReportOptions, write_report
    from codecensus.store import Store

    with tempfile.TemporaryDirectory() as d:
        store = Store(Path(d) / "b.duckdb")
        load_into(store, synthetic_corpus(users=users, sessions=sessions))
        t = time.perf_counter()
        write_report(store, ReportOptions(out=Path(d) / "out"))
        dt = time.perf_counter() - t
        store.close()
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sessions", type=int, default=400_000)
    ap.add_argument("--users", type=int, default=235_000)
    ap.add_argument("-B", type=int, default=200)
    ap.add_argument("--report", action="store_true", help="also time a whole report on a synthetic corpus")
    args = ap.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    with threadpool_limits(1):
        res = bench_bootstrap(args.sessions, args.users, args.B)
    total = sum(res.values())
    print(f"bootstrap: {args.sessions:,} sessions, {args.users:,} users, B={args.B}")
    for k, v in res.items():
        print(f"  {k:40s} {v:6.2f} s")
    print(f"  {'total':40s} {total:6.2f} s")
    if args.report:
        dt = bench_report(min(args.sessions, 40_000), min(args.users, 4_000))
        print(f"whole report ({min(args.sessions, 40_000):,} sessions): {dt:.1f} s")


if __name__ == "__main__":
    main()
