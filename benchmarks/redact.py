"""Redaction throughput (one core): MB of text per second through ``Redactor.find``.

    python benchmarks/redact.py [--mb 5] [--real-mb 20] [--ner-mb 0.3]

Corpora:
- ``code``: Python standard-library sources (real code, no transcripts) with credentials, e-mails,
  phone numbers, IPs and home paths sprinkled in (deterministic);
- ``big``: the same text as one ~1 MB string per call (tool output / file dumps);
- ``small``: the same text cut into ~300-character pieces (prompts, summaries);
- ``real``: string leaves of the Claude Code sample transcripts in ../shared (when present).
  Only throughput and counts are printed, never text.

Modes: the default Redactor (codecensus regex + detect-secrets + presidio windows), the same
without the third-party engines, and NER (``ner=True``, when the model package is installed).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import sysconfig
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from codecensus.redact import Redactor  # noqa: E402
from codecensus.redact.engines import ner_model_path  # noqa: E402

SPRINKLE = [
    "contact maria.lopez@example.org for access",
    "export AWS_ACCESS_KEY_ID=AKIA" + "Q3EGRFT7HXJ5M2LP",
    "git remote set-url origin https://x-access-token:ghp_"
    + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8@github.com/o/r",
    "OPENAI_API_KEY=sk-proj-" + "Ab3dEf6hIj9lMn2pQr5tUv8xYz1BcDeFgHiJkLmN",
    "call me on +44 20 7946 0958",
    "ssh root@203.0.113.77",
    "/Users/jdoe42/projects/app/src/main.ts:12:5 error TS2339",
    "my name is Priya Raman and I run a bakery",
    'password = "Tr0ub4dor&3"',
]


def code_corpus(mb: float, seed: int = 0) -> str:
    rng = random.Random(seed)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(stdlib.glob("*.py"))
    rng.shuffle(files)
    parts: list[str] = []
    size = 0
    for f in files:
        try:
            lines = f.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for i in range(0, len(lines), 40):
            chunk = "\n".join(lines[i : i + 40])
            parts.append(chunk)
            size += len(chunk)
            if rng.random() < 0.3:
                s = rng.choice(SPRINKLE)
                parts.append(s)
                size += len(s)
        if size >= mb * 1e6:
            break
    return "\n".join(parts)[: int(mb * 1e6)]


def pieces(text: str, n: int = 300) -> list[str]:
    return [text[i : i + n] for i in range(0, len(text), n)]


def _leaves(v: Any) -> Iterator[str]:
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for x in v.values():
            yield from _leaves(x)
    elif isinstance(v, list):
        for x in v:
            yield from _leaves(x)


def real_corpus(mb: float) -> list[str]:
    import orjson

    env = os.environ.get("CODECENSUS_SHARED")
    root = (Path(env) if env else REPO.parent / "shared") / "data" / "transcripts"
    files = sorted(root.glob("claude_code__*/**/*.jsonl"))
    random.Random(1).shuffle(files)
    out: list[str] = []
    size = 0
    for f in files:
        for line in f.read_bytes().splitlines():
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            for s in _leaves(doc):
                if s:
                    out.append(s)
                    size += len(s)
        if size >= mb * 1e6:
            break
    return out


def bench(name: str, red: Redactor, texts: list[str]) -> None:
    red.find("warm up +44 20 7946 0958 a@b.io")
    mb = sum(len(t) for t in texts) / 1e6
    kinds: Counter[str] = Counter()
    t0 = time.process_time()
    for t in texts:
        for e in red.find(t):
            kinds[e.kind] += 1
    dt = time.process_time() - t0
    print(f"{name:44s} {mb:7.2f} MB  {dt:7.2f} s CPU  {mb / dt:6.2f} MB/s  entities {sum(kinds.values())}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=3.0)
    ap.add_argument("--real-mb", type=float, default=20.0)
    ap.add_argument("--ner-mb", type=float, default=0.3)
    args = ap.parse_args()

    text = code_corpus(args.mb)
    big = pieces(text, 1_000_000)
    small = pieces(text, 300)
    default = Redactor()
    bare = Redactor(detect_secrets=False, presidio=False)
    print(f"python {sys.version.split()[0]}, one thread, CPU time")
    bench("code, 1 MB strings, default", default, big)
    bench("code, 1 MB strings, regex rules only", bare, big)
    bench("code, 300-char strings, default", default, small)
    bench("code, 300-char strings, regex rules only", bare, small)
    if args.real_mb > 0:
        real = real_corpus(args.real_mb)
        if real:
            bench("real transcript leaves, default", default, real)
            bench("real transcript leaves, regex rules only", bare, real)
        else:
            print("real transcripts: ../shared not present, skipped")
    if args.ner_mb > 0 and ner_model_path() is not None:
        t0 = time.process_time()
        ner = Redactor(ner=True)
        print(f"NER model load: {time.process_time() - t0:.2f} s CPU")
        bench("code, 300-char strings, NER", ner, pieces(code_corpus(args.ner_mb), 300))


if __name__ == "__main__":
    main()
