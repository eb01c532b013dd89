"""Ingest benchmark: a ~1 GB Claude Code corpus, cold ingest vs re-ingest, and ccusage in the same run.

    python benchmarks/ingest.py [--mb 1000] [--source real|generated] [--corpus DIR] [--workers N] [--results FILE]

- ``real``: the Claude Code samples in ../shared/data/transcripts copied over and over with fresh
  session ids, uuids and message ids (never written inside the project; default under $TMPDIR);
- ``generated``: the built-in sample generator.
Figures: MB/s and peak RSS (whole process tree, sampled every 50 ms) of a cold `codecensus ingest`
(including the session measures) and of a re-ingest of the unchanged corpus; when Node.js is
present, `npx ccusage@17.2.1 session --json` on the same corpus, and the ratio. Only ratios measured
within one run are meaningful on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peak import Peak  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
_UUID = re.compile(rb"[0-9a-f]{8}-([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
_IDS = re.compile(rb"\b((?:msg|req|toolu)_[A-Za-z0-9]+)")


def build_real(out: Path, target: int) -> int:
    shared = Path(os.environ.get("CODECENSUS_SHARED", REPO.parent / "shared"))
    src = [p for p in (shared / "data" / "transcripts").iterdir() if p.name.startswith("claude_code__")]
    files = sorted(f for d in src for f in d.rglob("*.jsonl"))
    if not files:
        raise SystemExit("no real samples found: use --source generated")
    total = 0
    k = 0
    while total < target:
        k += 1
        prefix = f"{k:08x}".encode()
        for f in files:
            rel = f.relative_to(shared / "data" / "transcripts")
            owner = rel.parts[0]
            # keep the subagent layout: <proj>/<session>/subagents/agent-*.jsonl
            tail = [p for p in rel.parts[1:] if p not in (".claude", "projects", "claude", "Archives")]
            proj = f"-{owner}-{k}"
            parts = [_UUID.sub(lambda m, p=prefix: p + b"-" + m.group(1), p.encode()).decode() for p in tail]
            dest = out / "projects" / proj / Path(*parts) if len(parts) > 1 else out / "projects" / proj / parts[-1]
            dest.parent.mkdir(parents=True, exist_ok=True)
            data = f.read_bytes()
            data = _UUID.sub(lambda m, p=prefix: p + b"-" + m.group(1), data)
            data = _IDS.sub(lambda m, p=prefix: m.group(1) + b"x" + p, data)
            dest.write_bytes(data)
            total += len(data)
            if total >= target:
                break
    return total


def build_generated(out: Path, target: int) -> int:
    from codecensus.sample import generate_corpus

    generate_corpus(out / "gen", users=500, sessions=10**9, months=7, seed=1, target_bytes=target)
    # ccusage wants <config>/projects/...; the generator writes <user>/.claude/projects/...
    return sum(f.stat().st_size for f in out.rglob("*.jsonl"))


CPU: dict[str, float] = {}  # CPU seconds (user + system, whole process tree) of the last timed command


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int, bytes]:
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = Peak(p.pid, 0.05, pss=False)
    out, err = p.communicate()
    dt = time.perf_counter() - t0
    rss, _ = peak.stop()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU["last"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if p.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({p.returncode}): {err.decode()[-2000:]}")
    return dt, rss, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=1000)
    ap.add_argument("--source", choices=("real", "generated"), default="real")
    ap.add_argument("--corpus", type=Path, help="reuse/keep the corpus here")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--no-ccusage", action="store_true")
    ap.add_argument("--results", type=Path, help="append a Markdown row to this file")
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="cc-bench-"))
    corpus = a.corpus or tmp / "corpus"
    if not corpus.exists() or not any(corpus.rglob("*.jsonl")):
        corpus.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        size = (build_real if a.source == "real" else build_generated)(corpus, a.mb * 1_000_000)
        print(f"built {a.source} corpus: {size / 1e6:.0f} MB in {time.perf_counter() - t0:.0f}s at {corpus}")
    # A file modified less than 2 s before ingest stats it is "racily clean" (codecensus.paths.RACY_NS): the next
    # ingest reads it again, as a write in the same timestamp tick would not show. A corpus built moments ago
    # would make the re-ingest below re-read most of it: wait until its newest file is older than that.
    from codecensus.paths import RACY_NS

    newest = max((max(st.st_mtime_ns, st.st_ctime_ns) for st in map(os.stat, corpus.rglob("*"))), default=0)
    wait = (newest + RACY_NS) / 1e9 + 0.5 - time.time()
    if wait > 0:
        print(f"waiting {wait:.1f}s for the corpus to be older than the racy window")
        time.sleep(wait)
    size = sum(f.stat().st_size for f in corpus.rglob("*.jsonl"))
    n_files = sum(1 for _ in corpus.rglob("*.jsonl"))
    db = tmp / "bench.duckdb"
    env = {**os.environ, "CODECENSUS_DB": str(db)}
    cc = [sys.executable, "-m", "codecensus", "ingest", str(corpus)]
    if a.workers:
        cc += ["-j", str(a.workers)]
    load0 = os.getloadavg()[0]
    cold_s, cold_rss, _ = timed(cc, env)
    cold_cpu = CPU["last"]
    warm_s, warm_rss, _ = timed(cc, env)
    warm_cpu = CPU["last"]
    mb = size / 1e6
    print(f"corpus: {mb:.0f} MB, {n_files} files; machine: {platform.machine()}, {os.cpu_count()} cores; "
          f"load average {load0:.2f} at start")
    print(f"codecensus cold ingest : {cold_s:7.1f} s  {mb / cold_s:6.1f} MB/s  peak RSS {cold_rss / 1e6:6.0f} MB"
          f"  (CPU {cold_cpu:.1f} s)")
    print(f"codecensus re-ingest   : {warm_s:7.1f} s  ({100 * warm_s / cold_s:.1f}% of cold)  peak RSS {warm_rss / 1e6:6.0f} MB"
          f"  (CPU {warm_cpu:.1f} s)")
    row = {"mb": mb, "cold_s": cold_s, "cold_rss": cold_rss, "warm_s": warm_s}
    npx = shutil.which("npx")
    if npx and not a.no_ccusage:
        subprocess.run([npx, "-y", "ccusage@17.2.1", "--version"], capture_output=True, check=False)  # fetch first
        cenv = {**os.environ, "CLAUDE_CONFIG_DIR": str(corpus if a.source == "real" else corpus)}
        if a.source == "generated":
            cenv["CLAUDE_CONFIG_DIR"] = ",".join(str(p) for p in sorted(corpus.glob("gen/*/.claude")))
        cu_s, cu_rss, out = timed([npx, "-y", "ccusage@17.2.1", "session", "--json", "--offline"], cenv)
        print(f"ccusage 17.2.1 session : {cu_s:7.1f} s  {mb / cu_s:6.1f} MB/s  peak RSS {cu_rss / 1e6:6.0f} MB"
              f"  ({len(out) / 1e3:.0f} kB of JSON)")
        print(f"ratio: codecensus cold ingest is {cu_s / cold_s:.1f}x faster than ccusage"
              f" (load average {os.getloadavg()[0]:.2f} at the end)")
        row.update(cu_s=cu_s, cu_rss=cu_rss)
    else:
        print("ccusage: skipped (--no-ccusage, or no Node.js / npx)")
    if a.results:
        with open(a.results, "a") as fh:
            ratio = f"{row['cu_s'] / cold_s:.1f}x" if "cu_s" in row else "n/a"
            fh.write(
                f"| ingest ({a.source}) | {mb:.0f} MB | {cold_s:.1f} s ({mb / cold_s:.0f} MB/s) | {cold_rss / 1e6:.0f} MB | "
                f"{warm_s:.1f} s ({100 * warm_s / cold_s:.1f}%) | {row.get('cu_s', float('nan')):.1f} s | {ratio} |\n"
            )
    if a.corpus is None:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        shutil.rmtree(db.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
