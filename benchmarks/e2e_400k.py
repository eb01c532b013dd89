"""End to end at study scale: N generated sessions (default 400,000) through ingest, measure, offline
classify, cluster and report, with wall time, peak RSS and load average per stage.

    python benchmarks/e2e_400k.py                              # 400k sessions under $TMPDIR, RESULTS.md updated
    python benchmarks/e2e_400k.py --sessions 20000 --no-results   # a quick calibration run
    python benchmarks/e2e_400k.py --work /data/e2e --keep      # keep the corpus and database

Corpus. The built-in generator (``codecensus.sample``) writes realistic Claude Code sessions, but
at ~280 kB each (whole files read back, full command outputs) 400k of them are ~110 GB. The
benchmark keeps the generator's sessions as they are (users, projects, versions, prompts, tool
calls and their order, usage, subagents, damaged lines) and trims the payload strings (tool inputs
and outputs, thinking, snapshots) longer than ``--lean`` characters (default 160) to that length;
human prompts and the agent's visible replies stay whole. Payloads shrink, structure does not. Pass
``--lean 0`` for untrimmed sessions. Generation runs in ``--gen-workers`` processes (chunks of
``--chunk`` sessions, each chunk its own seed and users) and is timed separately from the pipeline.

Stages run one by one, each in a fresh process (so each peak RSS is that stage's own, summed over
its process tree and sampled every 50 ms): ``ingest`` (parse + commit, ``-j`` workers), ``measure``
(session rows), ``classify`` (offline backend; ``--classify parallel`` uses
:func:`codecensus.engine.local.classify_parallel`, ``serial`` the single-process driver),
``cluster`` (offline, default embedder) and ``report`` (HTML + tables). The machine may be shared:
the 1-minute load average is recorded before and after each stage.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import Peak  # noqa: E402  (benchmarks/ingest.py: process-tree RSS sampler)

REPO = Path(__file__).resolve().parents[1]
STAGES = ("ingest", "measure", "classify", "cluster", "report")
MARK_BEGIN, MARK_END = "<!-- e2e:begin -->", "<!-- e2e:end -->"


# -- corpus ------------------------------------------------------------------------------------------
def _trim(obj: Any, n: int) -> Any:
    if isinstance(obj, str):
        return obj if len(obj) <= n else obj[:n]
    if isinstance(obj, list):
        return [_trim(v, n) for v in obj]
    if isinstance(obj, dict):
        return {k: _trim(v, n) for k, v in obj.items()}
    return obj


def _lean_record(rec: Any, n: int) -> Any:
    """Trim payloads (tool inputs and outputs, thinking, snapshots) but keep what people and the agent *said*:
    human prompts and visible replies stay whole, so classify and cluster read realistic text."""
    if not isinstance(rec, dict):
        return rec
    msg = rec.get("message")
    if rec.get("type") in ("user", "assistant") and isinstance(msg, dict):
        out = {k: (_trim(v, n) if k == "toolUseResult" else v) for k, v in rec.items() if k != "message"}
        content = msg.get("content")
        if isinstance(content, list):
            content = [b if isinstance(b, dict) and b.get("type") == "text" else _trim(b, n) for b in content]
        out["message"] = {**msg, "content": content}
        return out
    return _trim(rec, n)


def lean_file(path: Path, n: int) -> int:
    """Trim long payload strings in a JSONL file (see :func:`_lean_record`); damaged lines are kept as they are."""
    out = []
    for raw in path.read_bytes().split(b"\n"):
        if not raw:
            continue
        try:
            out.append(orjson.dumps(_lean_record(orjson.loads(raw), n)))
        except orjson.JSONDecodeError:
            out.append(raw)
    data = b"\n".join(out) + b"\n"
    path.write_bytes(data)
    return len(data)


def gen_chunk(args: tuple[Path, int, int, int, int]) -> dict[str, int]:
    out, k, sessions, users, lean = args
    from codecensus.sample import generate_corpus

    d = out / f"chunk-{k:04d}"
    if (d / "manifest.json").exists():
        shutil.rmtree(d)
    s = generate_corpus(d, users=users, sessions=sessions, months=7, seed=1000 + k)
    # distinct user names across chunks (the generator numbers users from u000 in every chunk)
    for u in [p for p in d.iterdir() if p.is_dir()]:
        u.rename(d / f"c{k:04d}-{u.name}")
    size = 0
    for f in d.rglob("*.jsonl"):
        size += lean_file(f, lean) if lean else f.stat().st_size
    (d / "DONE").write_text(str(s.sessions))
    return {"sessions": s.sessions, "files": s.files, "bytes": size, "raw_bytes": s.bytes}


def build_corpus(out: Path, sessions: int, *, chunk: int, users_per_chunk: int, lean: int, workers: int) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    jobs = []
    left, k = sessions, 0
    while left > 0:
        n = min(chunk, left)
        if not (out / f"chunk-{k:04d}" / "DONE").exists():
            jobs.append((out, k, n, max(1, users_per_chunk * n // chunk), lean))
        left -= n
        k += 1
    t0 = time.perf_counter()
    tot = {"sessions": 0, "files": 0, "bytes": 0, "raw_bytes": 0}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for r in pool.map(gen_chunk, jobs):
            for key in tot:
                tot[key] += r[key]
            print(f"  generated {tot['sessions']:,} / {sum(j[2] for j in jobs):,} sessions", flush=True)
    return {**tot, "seconds": time.perf_counter() - t0, "chunks": k}


def chunks(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.iterdir() if p.name.startswith("chunk-") and (p / "DONE").exists())


# -- stages (run in a child process) -----------------------------------------------------------------
def run_stage(stage: str, a: argparse.Namespace) -> dict[str, Any]:
    from codecensus.store import Store

    store = Store(a.db)
    t0 = time.perf_counter()
    detail: dict[str, Any] = {}
    if stage == "ingest":
        from codecensus.ingest import ingest

        st = ingest(store, chunks(a.corpus), user_from_dir=True, workers=a.workers or (os.cpu_count() or 1))
        detail = {"files": st.files_parsed, "failed": st.files_failed, "mb": st.bytes_read / 1e6,
                  "bad_lines": st.bad_lines}
    elif stage == "measure":
        from codecensus.measure import build_sessions

        detail = {"sessions": build_sessions(store)}
    elif stage == "classify":
        if a.classify == "parallel":
            from codecensus.engine.local import classify_parallel

            st = classify_parallel(store, "offline", embedder=a.embedder, workers=a.workers or 0)
        else:
            from codecensus.classify.run import classify_store, make_backend

            st = classify_store(store, make_backend("offline", embedder=a.embedder, store=store))
        detail = {"classified": st.classified, "model": st.model}
    elif stage == "cluster":
        from codecensus.cluster.run import ClusterConfig, run_cluster

        res = run_cluster(store, config=ClusterConfig())
        detail = {"clusters": getattr(res, "k", None)}
    elif stage == "report":
        from codecensus.report.build import ReportOptions, write_report

        res = write_report(store, ReportOptions(out=a.db.parent / "report"))
        detail = {"report": str(getattr(res, "html", ""))}
    store.close()
    detail["inner_s"] = round(time.perf_counter() - t0, 2)
    return detail


def stage_process(stage: str, a: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--run-stage", stage, "--db", str(a.db), "--corpus", str(a.corpus),
           "--workers", str(a.workers), "--classify", a.classify, "--embedder", a.embedder]
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = Peak(p.pid)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    rss = peak.stop()
    if p.returncode != 0:
        raise SystemExit(f"stage {stage} failed ({p.returncode}):\n{err.decode()[-3000:]}")
    detail = json.loads(out.decode().strip().splitlines()[-1])
    return {"stage": stage, "wall_s": wall, "rss_mb": rss / 1e6, "load_before": load0,
            "load_after": os.getloadavg()[0], **detail}


# -- results -----------------------------------------------------------------------------------------
def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}, {platform.system()}"


def render(a: argparse.Namespace, gen: dict[str, Any] | None, rows: list[dict[str, Any]], n_sessions: int,
           corpus_mb: float) -> str:
    total = sum(r["wall_s"] for r in rows)
    lines = [
        MARK_BEGIN,
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}: {n_sessions:,} generated sessions, "
        f"{corpus_mb:,.0f} MB of transcripts (payload strings trimmed to {a.lean} chars, prompts and replies whole; "
        f"`--lean`), "
        f"`-j {a.workers or os.cpu_count()}`, classify `{a.classify}` with embedder `{a.embedder}`. Machine: {machine()}.",
        "",
    ]
    if gen:
        lines += [
            f"Generation (not part of the pipeline): {gen['seconds']:.0f} s in {a.gen_workers} processes, "
            f"{gen['raw_bytes'] / 1e6:,.0f} MB before trimming.",
            "",
        ]
    lines += [
        "| stage | wall | per 1k sessions | peak RSS | load avg (1 min) before → after | detail |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        det = {k: v for k, v in r.items() if k not in ("stage", "wall_s", "rss_mb", "load_before", "load_after")}
        lines.append(
            f"| {r['stage']} | {r['wall_s']:.1f} s | {1000 * r['wall_s'] / max(1, n_sessions):.2f} s | "
            f"{r['rss_mb']:.0f} MB | {r['load_before']:.1f} → {r['load_after']:.1f} | "
            f"{', '.join(f'{k}={v:.1f}' if isinstance(v, float) else f'{k}={v}' for k, v in det.items())} |"
        )
    lines += [
        f"| **total** | **{total:.0f} s ({total / 60:.1f} min)** | {1000 * total / max(1, n_sessions):.2f} s | "
        f"{max(r['rss_mb'] for r in rows):.0f} MB (max) | | |",
        MARK_END,
    ]
    return "\n".join(lines)


def write_results(path: Path, block: str) -> None:
    text = path.read_text() if path.exists() else ""
    pat = re.compile(re.escape(MARK_BEGIN) + ".*?" + re.escape(MARK_END), re.S)
    if not pat.search(text):
        raise SystemExit(f"{path} has no {MARK_BEGIN} ... {MARK_END} block to replace")
    path.write_text(pat.sub(lambda _m: block, text))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=400_000)
    ap.add_argument("--work", type=Path, help="folder for corpus, database and report (default: a temp dir)")
    ap.add_argument("--lean", type=int, default=160, help="trim JSON strings to this many chars (0: keep)")
    ap.add_argument("--chunk", type=int, default=5000, help="sessions per generator chunk")
    ap.add_argument("--users-per-chunk", type=int, default=50)
    ap.add_argument("--gen-workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--workers", "-j", type=int, default=0, help="ingest/classify processes (default: all cores)")
    ap.add_argument("--classify", choices=("parallel", "serial"), default="parallel")
    ap.add_argument("--embedder", default="use", help="offline classify embedder: use | e5 | none")
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--results", type=Path, default=REPO / "benchmarks" / "RESULTS.md")
    ap.add_argument("--no-results", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--run-stage", help=argparse.SUPPRESS)
    ap.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.run_stage:
        print(json.dumps(run_stage(a.run_stage, a), default=str))
        return

    work = a.work or Path(tempfile.mkdtemp(prefix="cc-e2e-"))
    a.corpus = work / "corpus"
    a.db = work / "e2e.duckdb"
    have = sum(int((c / "DONE").read_text()) for c in chunks(a.corpus)) if a.corpus.exists() else 0
    gen = None
    if have < a.sessions:
        print(f"generating {a.sessions:,} sessions into {a.corpus} ...", flush=True)
        gen = build_corpus(a.corpus, a.sessions, chunk=a.chunk, users_per_chunk=a.users_per_chunk, lean=a.lean,
                           workers=a.gen_workers)
        print(f"generated in {gen['seconds']:.0f} s: {gen['bytes'] / 1e6:,.0f} MB ({gen['raw_bytes'] / 1e6:,.0f} MB "
              "before trimming)", flush=True)
    corpus_mb = sum(f.stat().st_size for c in chunks(a.corpus) for f in c.rglob("*.jsonl")) / 1e6
    for suffix in ("", ".wal"):
        Path(str(a.db) + suffix).unlink(missing_ok=True)
    rows = []
    for stage in [s for s in a.stages.split(",") if s]:
        print(f"stage {stage} ...", flush=True)
        r = stage_process(stage, a)
        rows.append(r)
        print(f"  {stage}: {r['wall_s']:.1f} s, peak RSS {r['rss_mb']:.0f} MB, load {r['load_before']:.1f} → "
              f"{r['load_after']:.1f}; {r}", flush=True)
    n = next((r["sessions"] for r in rows if "sessions" in r), a.sessions)
    block = render(a, gen, rows, n, corpus_mb)
    print(block)
    if not a.no_results:
        write_results(a.results, block)
        print(f"updated {a.results}")
    if not a.keep and a.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
