"""Benchmark the synthetic corpus generator (codecensus.sample).

Prints output throughput in MB/s, both against wall-clock time and against
the CPU time of this process (the generator runs on one core, with file writes
overlapped on a helper thread). Timing is reported, never asserted.

    python benchmarks/generate.py                      # ~200 MB into a temp dir, then deleted
    python benchmarks/generate.py --target-mb 1000     # the ~1 GB corpus used by the ingest benchmark
    python benchmarks/generate.py --sessions 3000 --out /tmp/demo-corpus --keep
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from codecensus.sample import generate_corpus


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="output directory (default: a temporary directory)")
    ap.add_argument("--target-mb", type=float, default=200.0, help="generate until this many MB (default 200)")
    ap.add_argument("--sessions", type=int, help="generate exactly this many sessions instead of --target-mb")
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--months", type=int, default=7)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the corpus (always kept when --out is given)")
    args = ap.parse_args(argv)

    tmp = None
    out = args.out
    if out is None:
        tmp = Path(tempfile.mkdtemp(prefix="codecensus-gen-"))
        out = tmp / "corpus"
    target = None if args.sessions else int(args.target_mb * 1e6)
    sessions = args.sessions or 3000
    wall0, cpu0 = time.perf_counter(), time.process_time()
    summary = generate_corpus(out, users=args.users, sessions=sessions, months=args.months, seed=args.seed,
                              target_bytes=target)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    mb = summary.bytes / 1e6
    print(f"corpus      {out}")
    print(f"summary     {summary}")
    print(f"size        {mb:.1f} MB in {summary.files} transcript files "
          f"({summary.bytes / max(1, summary.sessions) / 1e3:.0f} kB per session incl. subagents)")
    print(f"wall        {wall:.2f} s  → {mb / wall:.1f} MB/s, {summary.sessions / wall:.0f} sessions/s")
    print(f"cpu         {cpu:.2f} s  → {mb / cpu:.1f} MB/s of CPU time (generation + writer thread)")
    if tmp is not None and not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    elif tmp is not None:
        print(f"kept        {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
