"""Condensed LLM input per session: tokens (median, p90, max), raw size, and the whole request.

    python benchmarks/tokens.py --transcripts /work/shared/data/transcripts   # ingests into a temp DB first
    python benchmarks/tokens.py --db corpus.duckdb [--budget 2000] [--json out.json]

Prints aggregates only (never transcript text). Figures:

- ``condensed``: the digest that goes between the transcript tags, by the documented estimator
  (:func:`codecensus.classify.condense.estimate_tokens`), and, when llama-cpp-python and the
  Gemma 3 GGUF are installed, by a real tokenizer (Gemma's 262k SentencePiece vocabulary) to
  check the estimator;
- ``raw``: what the session's text would cost uncondensed (prompts + reply heads + tool
  commands, paths and result heads as loaded by the evidence loader, already capped there);
- ``request``: rubric + user message (the rubric is the same for every request: it is read
  from the prompt cache after the first call).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from codecensus import prompts
from codecensus.classify.condense import DEFAULT_BUDGET, condense, estimate_tokens
from codecensus.classify.evidence import load_evidence
from codecensus.store import Store


def _q(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def _stats(xs: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(xs),
        "p90": _q(xs, 0.9),
        "max": max(xs),
        "mean": round(statistics.fmean(xs), 1),
    }


def _gemma_tokenizer() -> Any:
    try:
        from llama_cpp import Llama

        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        import llama_server

        path = llama_server.model_path()
        if path is None:
            return None
        m = Llama(str(path), vocab_only=True, verbose=False)
        return lambda text: len(m.tokenize(text.encode("utf-8"), add_bos=False))
    except Exception:
        return None


def _ingest(transcripts: Path, db: Path) -> None:
    exe = Path(sys.executable).with_name("codecensus")
    cmd = [str(exe) if exe.exists() else "codecensus", "ingest", "--db", str(db), "--user-from-dir", str(transcripts)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path)
    ap.add_argument("--transcripts", type=Path)
    ap.add_argument("--budget", type=int, default=DEFAULT_BUDGET)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    tmp = None
    if args.db is None:
        if args.transcripts is None:
            ap.error("give --db or --transcripts")
        tmp = tempfile.TemporaryDirectory()
        args.db = Path(tmp.name) / "corpus.duckdb"
        t0 = time.perf_counter()
        _ingest(args.transcripts, args.db)
        print(f"ingested {args.transcripts} in {time.perf_counter() - t0:.1f} s")
    with Store(args.db, read_only=True) as st:
        keys = [r[0] for r in st.con.execute("SELECT session_key FROM sessions ORDER BY session_key").fetchall()]
        evs = load_evidence(st, keys)
    from codecensus.redact import get_redactor

    red = get_redactor()
    red.redact("warm up")
    system = prompts.render_facets_system()
    sys_tokens = estimate_tokens(system)
    gemma = _gemma_tokenizer()
    condensed, raw, request, gemma_counts = [], [], [], []
    t0 = time.perf_counter()
    digests = [condense(ev, args.budget, redactor=red) for ev in evs]
    elapsed = time.perf_counter() - t0
    for ev, d in zip(evs, digests, strict=True):
        condensed.append(estimate_tokens(d))
        pieces = [*ev.prompts, *ev.replies]
        for a in ev.actions:
            pieces += [a.command or "", a.file_path or "", a.result_head or ""]
        raw.append(estimate_tokens("\n".join(pieces)))
        request.append(sys_tokens + estimate_tokens(prompts.render_facets_user(d)))
        if gemma is not None:
            gemma_counts.append(gemma(d))
    report: dict[str, Any] = {
        "sessions": len(evs),
        "budget": args.budget,
        "condensed_tokens": _stats(condensed),
        "over_budget": sum(c > args.budget for c in condensed),
        "raw_tokens": _stats(raw),
        "request_tokens": _stats(request),
        "rubric_tokens": sys_tokens,
        "condense_ms_per_session": round(1000 * elapsed / max(1, len(evs)), 1),
    }
    if gemma_counts:
        report["condensed_gemma_tokens"] = _stats(gemma_counts)
        report["gemma_over_estimate_ratio_median"] = round(
            statistics.median(g / max(1, c) for g, c in zip(gemma_counts, condensed, strict=True)), 3
        )
        report["rubric_gemma_tokens"] = gemma(system)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
