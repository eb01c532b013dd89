"""Benchmark the offline classifier: sessions per second, split by stage.

Stages: evidence loading (bulk SQL), features + rules, sentence embedding
(cold: the cache is emptied first; warm: second run), summary redaction and
the facets write. Prints figures and an extrapolation to 400,000 sessions;
nothing is asserted.

    python benchmarks/classify.py --db /tmp/x.duckdb                  # every session of an ingested store
    python benchmarks/classify.py --db /tmp/x.duckdb --limit 2000 --embedder e5
    python benchmarks/classify.py --db /tmp/x.duckdb --order given    # evidence in key order (full scans)

``--order storage`` (the default, what the classify drivers use for the offline backend) reads evidence
in storage order, each batch through a ``rowid`` range: its cost no longer grows with the store.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from codecensus.classify.evidence import iter_evidence
from codecensus.classify.offline import OfflineBackend
from codecensus.classify.run import ensure_facets_table, facets_rows, write_facets
from codecensus.store import Store


def run(store: Store, keys: list[str], embedder: str, batch: int, order: str = "storage") -> dict[str, float]:
    from codecensus.redact import get_redactor

    redact = get_redactor().redact
    be = OfflineBackend(embedder=None if embedder == "none" else embedder, store=store)
    t = {"evidence": 0.0, "classify": 0.0, "embed": 0.0, "redact_write": 0.0}
    emb = be._emb
    enc = emb.encode if emb is not None else None

    def timed_encode(texts: list[str]):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return enc(texts)  # type: ignore[misc]
        finally:
            t["embed"] += time.perf_counter() - t0

    if emb is not None:
        emb.encode = timed_encode  # type: ignore[method-assign]
        be._prototypes()
        t["embed"] = 0.0
    ensure_facets_table(store)
    c0 = time.process_time()
    w0 = time.perf_counter()
    it = iter_evidence(store, keys, batch_size=batch, order=order)  # type: ignore[arg-type]
    while True:
        a = time.perf_counter()
        ev = next(it, None)
        t["evidence"] += time.perf_counter() - a
        if ev is None:
            break
        a = time.perf_counter()
        facets = be.classify(ev)
        t["classify"] += time.perf_counter() - a
        a = time.perf_counter()
        from datetime import UTC, datetime

        tbl = facets_rows([e.session_key for e in ev], [e.session_id for e in ev], facets, backend=be.name,
                          model=be.model, rubric_hash=be.rubric_hash, redact=redact, now=datetime.now(UTC))
        write_facets(store, tbl)
        t["redact_write"] += time.perf_counter() - a
    t["rules"] = t["classify"] - t["embed"]
    t["wall"] = time.perf_counter() - w0
    t["cpu"] = time.process_time() - c0
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True, help="an ingested database (it gets a facets table)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--embedder", default="use", choices=["use", "e5", "none"])
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--order", default="storage", choices=["storage", "given"], help="evidence reading order")
    args = ap.parse_args(argv)
    store = Store(args.db)
    keys = [r[0] for r in store.con.execute("SELECT session_key FROM sessions ORDER BY session_key").fetchall()]
    keys = keys[: args.limit] if args.limit else keys
    n = len(keys)
    if store.table_exists("embeddings"):
        store.con.execute("DELETE FROM embeddings")
    for label in ("cold cache", "warm cache"):
        t = run(store, keys, args.embedder, args.batch, args.order)
        print(f"{label}: {n} sessions in {t['wall']:.1f} s wall ({n / t['wall']:.1f}/s), {t['cpu']:.1f} s CPU")
        for k in ("evidence", "rules", "embed", "redact_write"):
            print(f"  {k:<13} {t[k]:7.2f} s  ({n / t[k] if t[k] else float('inf'):8.1f} sessions/s)")
        print(f"  400,000 sessions at this rate: {400_000 / (n / t['wall']) / 3600:.1f} h wall")
        if args.embedder == "none":
            break
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
