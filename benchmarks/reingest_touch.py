"""Re-ingest after one file of a large corpus grew: where the time goes, for one or more copies of the code.

    python benchmarks/reingest_touch.py --work /tmp/rt --files 100000 --src /tmp/old/src --src src --rounds 3

Writes ``--files`` small Claude Code transcripts (copies of one generated session under new session ids) under
``--work``, ingests them once, then for each ``--src`` (a ``src`` folder holding ``codecensus``): a database of
that corpus whose snapshot that code saved. Each round, for each code in turn: restore its database, append a
line to one transcript (the same line each time), run ``codecensus ingest`` (the executable's path: the snapshot check first, then the CLI)
in a new process, and print the wall and CPU time of each stage (functions wrapped with timers; no profiler).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

# Run in the child: wraps the stages, then runs `codecensus ingest ARGV` as the executable does.
_CHILD = r"""
import functools, sys, time
T0, C0 = time.perf_counter(), time.process_time()
stages = {}

def wrap(mod, name, label):
    f = getattr(mod, name)
    @functools.wraps(f)
    def w(*a, **k):
        t, c = time.perf_counter(), time.process_time()
        try:
            return f(*a, **k)
        finally:
            s = stages.setdefault(label, [0.0, 0.0, 0])
            s[0] += time.perf_counter() - t; s[1] += time.process_time() - c; s[2] += 1
    setattr(mod, name, w)

from codecensus import quickcheck
wrap(quickcheck, "list_roots", "listing (walk + stat)")
import codecensus.cli as cli, codecensus.engine as engine, codecensus.measure as measure
from codecensus.store import Store
wrap(engine, "ingest_with", "ingest")
wrap(Store, "file_states", "  of which file_states")
wrap(measure, "build_sessions", "measure (build_sessions)")
wrap(Store, "close", "store close (checkpoint)")
sys.argv = ["codecensus", "ingest", *sys.argv[1:]]
from codecensus.entry import main
try:
    main()
except SystemExit:
    pass
print(f"STAGE total (process): {time.perf_counter() - T0:.2f} s wall, {time.process_time() - C0:.2f} s CPU", file=sys.stderr)
for k, (w, c, n) in stages.items():
    print(f"STAGE {k}: {w:.2f} s wall, {c:.2f} s CPU, {n} call(s)", file=sys.stderr)
"""


def _template(work: Path) -> tuple[bytes, bytes]:
    from codecensus.sample import generate_corpus

    out = work / "template"
    if not out.exists():
        generate_corpus(out, users=1, sessions=1, months=1, seed=3)
    main = min((p for p in out.rglob("*.jsonl") if "subagents" not in p.parts), key=lambda p: p.stat().st_size)
    head = b""
    for line in main.read_bytes().splitlines(keepends=True):  # its first lines, about 12 KB: a small transcript
        head += line
        if len(head) >= 12_000:
            break
    return head, main.stem.encode()


def _corpus(work: Path, n: int) -> Path:
    root = work / "corpus"
    if (work / "corpus.done").exists():
        return root
    data, sid = _template(work)
    need = n * (len(data) + 4096)
    free = shutil.disk_usage(work).free
    if need > free // 4:
        raise SystemExit(f"{n} files of {len(data)} bytes need ~{need / 1e9:.1f} GB; {free / 1e9:.1f} GB free in {work}")
    for i in range(n):
        new = str(uuid.UUID(int=i + 1, version=4)).encode()
        d = root / f"user{i % 20}" / ".claude" / "projects" / f"-home-u-proj{i % 200}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{new.decode()}.jsonl").write_bytes(data.replace(sid, new))
    (work / "corpus.done").touch()
    return root


def _run(src: Path, args: list[str], *, child: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    env.pop("CODECENSUS_NO_SNAPSHOT", None)
    cmd = [sys.executable, "-c", _CHILD, *args] if child else [sys.executable, "-m", "codecensus", "ingest", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)


def _copy(a: Path, b: Path) -> None:
    for suffix in ("", ".snapshot.json"):
        shutil.copy2(a.with_name(a.name + suffix), b.with_name(b.name + suffix))  # copy2: the snapshot's db mtime
    for suffix in (".wal", ".pending-runs.jsonl"):
        b.with_name(b.name + suffix).unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "reingest_touch")
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--src", type=Path, action="append", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    work = a.work.absolute()
    work.mkdir(parents=True, exist_ok=True)
    root = _corpus(work, a.files)
    grow = min(root.rglob("*.jsonl"))
    orig = work / "grown.orig"  # the file as first ingested (a second run of this script finds it grown)
    if not orig.exists():
        orig.write_bytes(grow.read_bytes())
    if grow.read_bytes() != orig.read_bytes():
        grow.write_bytes(orig.read_bytes())  # each code's own ingest below stores it as it is now
    grown = orig.read_bytes() + orig.read_bytes().splitlines(keepends=True)[-1]
    first = work / "first.duckdb"
    if not first.exists():
        print(f"first ingest of {a.files} files ...", flush=True)
        _run(a.src[0].absolute(), [str(root), "--db", str(first)])
    bases = []
    for i, src in enumerate(a.src):
        base = work / f"base{i}.duckdb"
        _copy(first, base)
        _run(src.absolute(), [str(root), "--db", str(base)])  # this code's own snapshot of the corpus
        bases.append(base)
    db = work / "run.duckdb"
    for r in range(a.rounds):
        for src, base in zip(a.src, bases, strict=True):
            _copy(base, db)
            grow.write_bytes(grown)  # the stored file plus one line, its mtime now
            out = _run(src.absolute(), [str(root), "--db", str(db)], child=True)
            said = [ln for ln in out.stderr.splitlines() if "parsed / appended" in ln or "nothing changed" in ln]
            print(f"round {r + 1}, {src}: {' '.join(said[0].strip(' │┃').split()) if said else '?'}")
            for ln in out.stderr.splitlines():
                if ln.startswith("STAGE "):
                    print("   ", ln[6:])


if __name__ == "__main__":
    main()
