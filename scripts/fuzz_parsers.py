"""Mutation fuzz of the transcript parsers: one value of one record replaced by an odd one, many times.

    python scripts/fuzz_parsers.py                      # 1,500 mutations per format, seed 1
    python scripts/fuzz_parsers.py --per-format 3000 --seed 2 --format claude_code

Inputs are the project's own: every format fixture under ``tests/fixtures/formats`` and, for Claude Code, a
generated session (``codecensus.sample``). Each mutation rewrites one record (a line of a JSON Lines file, or a
whole JSON document) with one value replaced by an odd one (a list where a name belongs, an integer beyond 64
bits, a year-10000 epoch, arrays nested 5,000 levels deep, ...) or removed, then parses every transcript of the tree and converts its rows to
Arrow. For Claude Code, the typed fast path must also give the generic path's rows.

A failure is a file that could not be parsed, which costs its whole session; what is printed is the format,
the mutated key path, the exception and the code line that raised it, never a transcript's text. Exit code 1
when anything failed. ``tests/test_ingest_odd_inputs.py`` runs the same mutations (these functions), fewer.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import shutil
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

import orjson

from codecensus.ingest import discover
from codecensus.sources import claude_code
from codecensus.sources.base import FileContext, get

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "formats"
ODD: list[Any] = [
    None, True, False, 0, -1, 2**70, -(2**70), 2**63, 1.5, 1e300, -1e300, "", "x", "2026-13-45T99:99:99Z", [], {},
    [1, "a"], {"a": 1}, [{"type": "text", "text": 1}], [{"type": "tool_use"}], [{"type": "tool_result"}], "\x00",
    "\U0001f600", [[[[]]]], {"type": []}, [None], "z" * 5000, "@@DEEP600@@", "@@DEEP5000@@",
]
# Markers of arrays nested 600 and 5,000 levels deep, put in the JSON text itself (Python's json cannot write them).
DEEP = {b'"@@DEEP600@@"': b"[" * 600 + b"]" * 600, b'"@@DEEP5000@@"': b"[" * 5000 + b"]" * 5000}


def key_paths(o: Any, pre: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    items = o.items() if isinstance(o, dict) else enumerate(o) if isinstance(o, list) else ()
    for k, v in items:
        out.append((*pre, k))
        out += key_paths(v, (*pre, k))
    return out


def records(f: Path) -> list[tuple[int, Any]]:
    """(line index, record) of each line that decodes; (0, document) for a JSON document."""
    raw = f.read_bytes()
    if f.suffix != ".jsonl":
        try:
            return [(0, orjson.loads(raw))]
        except orjson.JSONDecodeError:
            return []
    out = []
    for i, line in enumerate(raw.splitlines()):
        try:
            out.append((i, orjson.loads(line)))
        except orjson.JSONDecodeError:
            continue
    return out


def replace(f: Path, i: int, rec: Any) -> None:
    """``f`` with record ``i`` (a line, or the whole JSON document) replaced by ``rec``."""
    body = json.dumps(rec).encode()  # the standard library writes integers beyond 64 bits; orjson refuses
    for marker, deep in DEEP.items():
        body = body.replace(marker, deep)
    if f.suffix != ".jsonl":
        f.write_bytes(body)
        return
    lines = f.read_bytes().splitlines()
    lines[i] = body
    f.write_bytes(b"\n".join(lines) + b"\n")


def mutate(rec: Any, rng: random.Random) -> tuple[Any, ...]:
    """One value of ``rec``, anywhere in it, replaced by an odd one (or, 15 % of the time, removed); its path."""
    path = rng.choice(key_paths(rec))
    node = rec
    for k in path[:-1]:
        node = node[k]
    if rng.random() < 0.15 and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = rng.choice(ODD)
    return path


def parse_tree(root: Path, *, compare_paths: bool) -> str | None:
    """Parse every transcript under ``root``; the first problem, or None."""
    for c in discover([root], user="u"):
        ctx = FileContext(path=c.path, file_id="f" * 20, user="u", final=True)
        try:
            rows = {k: t.to_pydict() for k, t in get(c.parser.name).parse(ctx).tables().items()}
            if compare_paths and c.parser.name == "claude_code":
                with claude_code.generic_path_only():
                    generic = {k: t.to_pydict() for k, t in get(c.parser.name).parse(ctx).tables().items()}
                if generic != rows:
                    return "fast path != generic path"
        except Exception as exc:
            where = [f"{Path(fr.filename).name}:{fr.lineno}" for fr in traceback.extract_tb(exc.__traceback__)
                     if "codecensus" in fr.filename][-1:]
            return f"{type(exc).__name__}: {str(exc)[:80]} at {', '.join(where) or '?'}"
    return None


def trees(work: Path, only: str | None) -> list[tuple[str, Path]]:
    out = []
    if only in (None, "claude_code"):
        from codecensus.sample.generator import generate_corpus

        generate_corpus(work / "claude_code", users=1, sessions=4, months=1)
        out.append(("claude_code", work / "claude_code"))
    for d in sorted(FIXTURES.iterdir()):
        if only in (None, d.name) and any(d.rglob("*.json*")):
            shutil.copytree(d, work / d.name)
            out.append((d.name, work / d.name))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-format", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", help="only this fixture folder (or claude_code)")
    a = ap.parse_args()
    failures: collections.Counter[tuple[str, str, str]] = collections.Counter()
    first: dict[tuple[str, str, str], int] = {}
    with tempfile.TemporaryDirectory(prefix="cc-fuzz-") as tmp:
        for fmt, root in trees(Path(tmp), a.format):
            files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl"))
            tried = 0
            for it in range(a.per_format):
                rng = random.Random(a.seed * 1_000_003 + it)
                f = rng.choice(files)
                recs = [(i, r) for i, r in records(f) if key_paths(r)]
                if not recs:
                    continue
                i, rec = rng.choice(recs)
                path = mutate(rec, rng)
                orig = f.read_bytes()
                replace(f, i, rec)
                try:
                    problem = parse_tree(root, compare_paths=True)
                finally:
                    f.write_bytes(orig)
                tried += 1
                if problem:
                    key = (fmt, "/".join("[]" if isinstance(k, int) else str(k) for k in path[:4]), problem)
                    failures[key] += 1
                    first.setdefault(key, it)
            print(f"{fmt:24s} {tried:6d} mutations", flush=True)
    print(f"failures: {sum(failures.values())}")
    for (fmt, path, problem), n in failures.most_common():
        print(f"  {n:4d}  {fmt}  {path}  {problem}  (first at iteration {first[(fmt, path, problem)]})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
