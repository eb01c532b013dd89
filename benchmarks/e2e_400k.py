"""End to end at study scale: N generated sessions (default 400,000) through ingest, measure, offline
classify, cluster and report, with wall time, peak memory and load average per stage.

    python benchmarks/e2e_400k.py                                  # 400k sessions, RESULTS.md block rewritten
    python benchmarks/e2e_400k.py --sessions 10000 --no-results    # a quick calibration run
    python benchmarks/e2e_400k.py --work /data/e2e --no-rounds --keep   # whole corpus on disk first, kept

Corpus. The built-in generator (``codecensus.sample``) writes realistic Claude Code sessions, but
at ~270 kB each (whole files read back, full command outputs) 400k of them are ~110 GB. The
benchmark keeps the generator's sessions as they are (users, projects, versions, prompts, tool
calls and their order, usage, subagents, damaged lines) and trims the payload strings (tool inputs
and outputs, thinking, snapshots) longer than ``--lean`` characters (default 160) to that length;
human prompts and the agent's visible replies stay whole. Payloads shrink, structure does not
(~146 kB per session). Pass ``--lean 0`` for untrimmed sessions.

Rounds (default). Even trimmed, 400k sessions are ~58 GB of transcripts: more than the disk holds
next to the database. So the corpus is generated and ingested in *rounds* of ``--gen-workers`` x
``--chunk`` sessions: generate a round (``--gen-workers`` processes, not timed as pipeline), ingest
it into the same database (ingest is incremental: only the new files are read), delete its
transcripts, next round. One long-lived ingest process does every round (its start-up is counted);
the **ingest figure is the sum of the timed ingest calls** plus that start-up, nothing of the
generation, and the process sits idle (and is still sampled for memory) while a round is generated.
Only one round is on disk at a time. ``--no-rounds`` generates the whole corpus first (and can
reuse it with ``--work``/``--keep``).

Stages run one by one, each in a fresh process (so each peak is that stage's own): ``ingest``
(parse + commit, ``-j`` workers), ``measure`` (session rows), ``classify`` (offline backend;
``--classify parallel`` uses :func:`codecensus.engine.local.classify_parallel`, ``serial`` the
single-process driver), ``cluster`` (offline, default embedder) and ``report`` (HTML + tables).
Memory is sampled every 100 ms over the stage's process tree: RSS summed (counts pages shared by
the worker processes once per process, an upper bound) and PSS summed (shared pages split among
the processes that map them: the tree's real footprint). DuckDB's ``memory_limit`` is set with
``--duckdb-memory`` (``$CODECENSUS_DUCKDB_MEMORY`` in every stage). The machine may be shared: the
1-minute load average is recorded before and after each stage (and averaged over the ingest rounds).
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
from peak import Peak  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STAGES = ("ingest", "measure", "classify", "cluster", "report")
MARK_BEGIN, MARK_END = "<!-- e2e:begin -->", "<!-- e2e:end -->"


# -- memory ------------------------------------------------------------------------------------------
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


def _jobs(out: Path, first: int, sessions: int, *, chunk: int, users_per_chunk: int, lean: int,
          start: int = 0) -> list[tuple[Path, int, int, int, int]]:
    """Generator jobs for chunks ``first, first+1, ...`` covering ``sessions`` sessions (``start``: sessions before)."""
    jobs = []
    left, k = sessions, first
    while left > 0:
        n = min(chunk, left)
        if not (out / f"chunk-{k:04d}" / "DONE").exists():
            jobs.append((out, k, n, max(1, users_per_chunk * n // chunk), lean))
        left -= n
        k += 1
    return jobs


def generate(jobs: list[tuple[Path, int, int, int, int]], pool: ProcessPoolExecutor) -> dict[str, Any]:
    t0 = time.perf_counter()
    tot = {"sessions": 0, "files": 0, "bytes": 0, "raw_bytes": 0}
    for r in pool.map(gen_chunk, jobs):
        for key in tot:
            tot[key] += r[key]
    return {**tot, "seconds": time.perf_counter() - t0}


def build_corpus(out: Path, sessions: int, *, chunk: int, users_per_chunk: int, lean: int, workers: int) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    jobs = _jobs(out, 0, sessions, chunk=chunk, users_per_chunk=users_per_chunk, lean=lean)
    tot: dict[str, Any] = {"sessions": 0, "files": 0, "bytes": 0, "raw_bytes": 0, "seconds": 0.0}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for i in range(0, len(jobs), workers):
            r = generate(jobs[i : i + workers], pool)
            for key in tot:
                tot[key] += r[key]
            print(f"  generated {tot['sessions']:,} / {sum(j[2] for j in jobs):,} sessions", flush=True)
    return {**tot, "chunks": len(jobs)}


def chunks(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.iterdir() if p.name.startswith("chunk-") and (p / "DONE").exists())


def _dir_mb(path: Path) -> float:
    if not path.exists():
        return 0.0
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def _db_mb(db: Path) -> float:
    return sum(_dir_mb(Path(str(db) + sfx)) for sfx in ("", ".wal"))


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
        detail = {"distinct_summaries": res.info.get("distinct_summaries"), "embedder": res.info.get("embedder"),
                  "k": res.info.get("k"), "embed_s": res.timings.get("embed")}
    elif stage == "report":
        from codecensus.report.build import ReportOptions, write_report

        res = write_report(store, ReportOptions(out=a.db.parent / "report"))
        detail = {"report": str(getattr(res, "html", ""))}
    store.close()
    detail["inner_s"] = round(time.perf_counter() - t0, 2)
    return detail


def ingest_rounds_child(a: argparse.Namespace) -> None:
    """The long-lived ingest process of the rounds mode: one chunk folder per stdin line -> one JSON line.

    Each line: ingest the folders, time only that call, then delete them (deletion not timed)."""
    t0 = time.perf_counter()
    from codecensus.ingest import ingest
    from codecensus.store import Store

    store = Store(a.db)
    print(json.dumps({"ready_s": round(time.perf_counter() - t0, 3)}), flush=True)
    for line in sys.stdin:
        folders = [Path(x) for x in json.loads(line)]
        t1 = time.perf_counter()
        st = ingest(store, folders, user_from_dir=True, workers=a.workers or (os.cpu_count() or 1))
        dt = time.perf_counter() - t1
        for f in folders:
            shutil.rmtree(f, ignore_errors=True)
        print(json.dumps({"s": dt, "files": st.files_parsed, "failed": st.files_failed, "bytes": st.bytes_read,
                          "bad_lines": st.bad_lines, "errors": st.errors[:3]}), flush=True)
    t2 = time.perf_counter()
    store.close()  # the checkpoint on close is part of ingest
    print(json.dumps({"close_s": round(time.perf_counter() - t2, 3)}), flush=True)


def _stage_env(a: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    if a.duckdb_memory:
        env["CODECENSUS_DUCKDB_MEMORY"] = a.duckdb_memory
        env.setdefault("CODECENSUS_MEASURE_MEMORY", a.duckdb_memory)  # measure's own limit (default 128MB)
    return env


def ingest_in_rounds(a: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """Generate, ingest and delete the corpus round by round (see the module docstring)."""
    a.corpus.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--ingest-rounds-child", "--db", str(a.db), "--workers", str(a.workers)]
    load0 = os.getloadavg()[0]
    wall0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=_stage_env(a))
    peak = Peak(p.pid)
    assert p.stdin is not None and p.stdout is not None

    def reply() -> dict[str, Any]:
        line = p.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise SystemExit(f"ingest process failed ({p.wait()}):\n{p.stderr.read()[-3000:]}")  # type: ignore[union-attr]
        return json.loads(line)

    reply()
    ready = time.perf_counter() - wall0  # the ingest process's start-up: interpreter, imports, opening the store
    ingest_s = ready
    gen = {"sessions": 0, "files": 0, "bytes": 0, "raw_bytes": 0, "seconds": 0.0, "rounds": 0}
    det = {"files": 0, "failed": 0, "mb": 0.0, "bad_lines": 0}
    loads: list[float] = []
    max_round_mb = 0.0
    done, k = 0, 0
    with ProcessPoolExecutor(max_workers=a.gen_workers) as pool:
        while done < a.sessions:
            n = min(a.sessions - done, a.chunk * a.gen_workers)
            jobs = _jobs(a.corpus, k, n, chunk=a.chunk, users_per_chunk=a.users_per_chunk, lean=a.lean)
            k += -(-n // a.chunk)
            g = generate(jobs, pool)
            for key in ("sessions", "files", "bytes", "raw_bytes", "seconds"):
                gen[key] += g[key]
            gen["rounds"] += 1
            folders = chunks(a.corpus)
            max_round_mb = max(max_round_mb, sum(_dir_mb(f) for f in folders))
            l0 = os.getloadavg()[0]
            p.stdin.write(json.dumps([str(f) for f in folders]) + "\n")
            p.stdin.flush()
            r = reply()
            loads += [l0, os.getloadavg()[0]]
            if r["failed"]:
                print(f"  ingest errors: {r['errors']}", flush=True)
            ingest_s += r["s"]
            det["files"] += r["files"]
            det["failed"] += r["failed"]
            det["mb"] += r["bytes"] / 1e6
            det["bad_lines"] += r["bad_lines"]
            done += n
            print(f"  round {gen['rounds']}: {done:,} / {a.sessions:,} sessions; generated in {g['seconds']:.0f} s, "
                  f"ingested in {r['s']:.1f} s (load {l0:.1f}); database {_db_mb(a.db):,.0f} MB", flush=True)
    p.stdin.close()
    ingest_s += reply()["close_s"]
    p.wait()
    rss, pss = peak.stop()
    if p.returncode != 0:
        raise SystemExit(f"ingest process failed ({p.returncode}):\n{p.stderr.read()[-3000:]}")  # type: ignore[union-attr]
    row = {"stage": "ingest", "wall_s": ingest_s, "rss_mb": rss / 1e6, "pss_mb": pss / 1e6, "load_before": load0,
           "load_after": os.getloadavg()[0], "load_mean": sum(loads) / max(1, len(loads)),
           "db_mb": _db_mb(a.db), **det, "rounds": gen["rounds"], "startup_s": round(ready, 2)}
    gen["max_round_mb"] = max_round_mb
    return row, gen


def stage_process(stage: str, a: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--run-stage", stage, "--db", str(a.db), "--corpus", str(a.corpus),
           "--workers", str(a.workers), "--classify", a.classify, "--embedder", a.embedder]
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_stage_env(a))
    peak = Peak(p.pid)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    rss, pss = peak.stop()
    if p.returncode != 0:
        raise SystemExit(f"stage {stage} failed ({p.returncode}):\n{err.decode()[-3000:]}")
    detail = json.loads(out.decode().strip().splitlines()[-1])
    return {"stage": stage, "wall_s": wall, "rss_mb": rss / 1e6, "pss_mb": pss / 1e6, "load_before": load0,
            "load_after": os.getloadavg()[0], "db_mb": _db_mb(a.db), **detail}


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
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}, "
            f"{platform.system()}, {blas()}")


def blas() -> str:
    """The BLAS the stages run (classify's embedder and cluster are BLAS-bound): library, version, kernel.

    The kernel follows ``OPENBLAS_CORETYPE`` when it is set (some machines set it, with ``OPENBLAS_L2_SIZE``, for
    older OpenBLAS builds that crash on their processor); the stages inherit this process's environment, so
    this is what they ran."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS unknown"
    forced = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    import numpy  # noqa: F401  (loads the BLAS threadpoolctl reports)

    libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not libs:
        return "BLAS unknown"
    i = libs[0]
    env = ", ".join(f"{k}={v}" for k, v in forced.items()) or "OPENBLAS_CORETYPE unset"
    return f"BLAS {i.get('internal_api')} {i.get('version')} kernel {i.get('architecture')} ({env})"


_FIXED = ("stage", "wall_s", "rss_mb", "pss_mb", "load_before", "load_after", "load_mean", "db_mb")


def render(a: argparse.Namespace, gen: dict[str, Any] | None, rows: list[dict[str, Any]], n_sessions: int,
           corpus_mb: float) -> str:
    total = sum(r["wall_s"] for r in rows)
    rounds = next((r.get("rounds") for r in rows if r["stage"] == "ingest" and r.get("rounds")), None)
    lines = [
        MARK_BEGIN,
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}: {n_sessions:,} generated sessions, "
        f"{corpus_mb:,.0f} MB of transcripts ingested (payload strings trimmed to {a.lean} chars, prompts and "
        f"replies whole; `--lean`), `-j {a.workers or os.cpu_count()}`, classify `{a.classify}` with embedder "
        f"`{a.embedder}`, DuckDB `memory_limit` {a.duckdb_memory or '(default)'}. Machine: {machine()}.",
        "",
    ]
    if rounds and gen:
        lines += [
            f"Corpus generated and ingested in {rounds} rounds of up to {a.chunk * a.gen_workers:,} sessions "
            f"(at most {gen.get('max_round_mb', 0):,.0f} MB of transcripts on disk at a time); each round's "
            "transcripts were deleted after it was ingested. The ingest figure is the sum of the timed "
            "incremental ingest calls plus the ingest process's start-up and final checkpoint; generation "
            f"is not counted ({gen['seconds']:.0f} s in {a.gen_workers} processes, {gen['raw_bytes'] / 1e6:,.0f} "
            "MB before trimming).",
            "",
        ]
    elif gen:
        lines += [
            f"Generation (not part of the pipeline): {gen['seconds']:.0f} s in {a.gen_workers} processes, "
            f"{gen['raw_bytes'] / 1e6:,.0f} MB before trimming.",
            "",
        ]
    lines += [
        "| stage | wall | per 1k sessions | peak RSS (sum) | peak PSS | load avg (1 min) before → after | "
        "database after | detail |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        det = {k: v for k, v in r.items() if k not in _FIXED}
        load = f"{r['load_before']:.1f} → {r['load_after']:.1f}"
        if "load_mean" in r:
            load += f" (mean {r['load_mean']:.1f})"
        lines.append(
            f"| {r['stage']} | {r['wall_s']:.1f} s | {1000 * r['wall_s'] / max(1, n_sessions):.2f} s | "
            f"{r['rss_mb']:.0f} MB | {r.get('pss_mb', 0):.0f} MB | {load} | {r.get('db_mb', 0):,.0f} MB | "
            f"{', '.join(f'{k}={v:.1f}' if isinstance(v, float) else f'{k}={v}' for k, v in det.items())} |"
        )
    lines += [
        f"| **total** | **{total:.0f} s ({total / 60:.1f} min)** | {1000 * total / max(1, n_sessions):.2f} s | "
        f"{max(r['rss_mb'] for r in rows):.0f} MB (max) | {max(r.get('pss_mb', 0) for r in rows):.0f} MB (max) "
        "| | | |",
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
    ap.add_argument("--chunk", type=int, default=5000, help="sessions per generator chunk (one process)")
    ap.add_argument("--users-per-chunk", type=int, default=50)
    ap.add_argument("--gen-workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--rounds", action=argparse.BooleanOptionalAction, default=True,
                    help="generate + ingest + delete round by round (default); --no-rounds: whole corpus first")
    ap.add_argument("--workers", "-j", type=int, default=0, help="ingest/classify processes (default: all cores)")
    ap.add_argument("--classify", choices=("parallel", "serial"), default="parallel")
    ap.add_argument("--embedder", default="use", help="offline classify embedder: use | e5 | none")
    ap.add_argument("--duckdb-memory", default="1GB", help="DuckDB memory_limit in every stage ('' : default)")
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--results", type=Path, default=REPO / "benchmarks" / "RESULTS.md")
    ap.add_argument("--no-results", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON here")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--run-stage", help=argparse.SUPPRESS)
    ap.add_argument("--ingest-rounds-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.ingest_rounds_child:
        ingest_rounds_child(a)
        return
    if a.run_stage:
        print(json.dumps(run_stage(a.run_stage, a), default=str))
        return

    work = a.work or Path(tempfile.mkdtemp(prefix="cc-e2e-"))
    a.corpus = work / "corpus"
    a.db = work / "e2e.duckdb"
    stages = [s for s in a.stages.split(",") if s]
    work.mkdir(parents=True, exist_ok=True)
    free_gb = shutil.disk_usage(work).free / 1e9
    print(f"work dir {work}: {free_gb:,.0f} GB free", flush=True)
    gen = None
    rows = []
    corpus_mb = 0.0
    if a.rounds and "ingest" in stages:
        for suffix in ("", ".wal"):
            Path(str(a.db) + suffix).unlink(missing_ok=True)
        shutil.rmtree(a.corpus, ignore_errors=True)
        print(f"stage ingest, in rounds of {a.chunk * a.gen_workers:,} sessions ...", flush=True)
        r, gen = ingest_in_rounds(a)
        rows.append(r)
        corpus_mb = r["mb"]
        stages.remove("ingest")
        print(f"  ingest: {r['wall_s']:.1f} s, peak RSS {r['rss_mb']:.0f} MB, PSS {r['pss_mb']:.0f} MB; {r}",
              flush=True)
    else:
        have = sum(int((c / "DONE").read_text()) for c in chunks(a.corpus)) if a.corpus.exists() else 0
        if have < a.sessions and "ingest" in stages:
            print(f"generating {a.sessions:,} sessions into {a.corpus} ...", flush=True)
            gen = build_corpus(a.corpus, a.sessions, chunk=a.chunk, users_per_chunk=a.users_per_chunk, lean=a.lean,
                               workers=a.gen_workers)
            print(f"generated in {gen['seconds']:.0f} s: {gen['bytes'] / 1e6:,.0f} MB ({gen['raw_bytes'] / 1e6:,.0f} "
                  "MB before trimming)", flush=True)
        corpus_mb = (sum(f.stat().st_size for c in chunks(a.corpus) for f in c.rglob("*.jsonl")) / 1e6
                     if a.corpus.exists() else 0.0)
        if "ingest" in stages:
            for suffix in ("", ".wal"):
                Path(str(a.db) + suffix).unlink(missing_ok=True)
    for stage in stages:
        print(f"stage {stage} ...", flush=True)
        r = stage_process(stage, a)
        rows.append(r)
        print(f"  {stage}: {r['wall_s']:.1f} s, peak RSS {r['rss_mb']:.0f} MB, PSS {r['pss_mb']:.0f} MB, load "
              f"{r['load_before']:.1f} → {r['load_after']:.1f}; {r}", flush=True)
    n = next((r["sessions"] for r in rows if "sessions" in r), a.sessions)
    block = render(a, gen, rows, n, corpus_mb)
    print(block)
    if a.json:
        a.json.write_text(json.dumps({"sessions": n, "corpus_mb": corpus_mb, "gen": gen, "rows": rows}, indent=1,
                                     default=str))
    if not a.no_results:
        write_results(a.results, block)
        print(f"updated {a.results}")
    if not a.keep and a.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
