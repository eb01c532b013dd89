"""Garbage-collector settings of the worker processes, and writes in full (codecensus.runtime)."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

import pytest

from codecensus.runtime import WORKER_GEN0, bulk_gc, write_all


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_parser_process_and_classify_worker_get_the_worker_settings() -> None:
    out = _run(
        """
        import gc
        from codecensus.sources.base import worker_init
        worker_init()
        print(gc.get_threshold()[0], gc.get_freeze_count() > 0)
        """
    )
    assert out == f"{WORKER_GEN0} True"
    out = _run(
        """
        import gc
        from codecensus.engine.tasks import ClassifyWorker
        before = gc.get_threshold()[0]
        ClassifyWorker("offline", embedder="none")  # the driver's probe: no threads, the process is left alone
        probe = gc.get_threshold()[0]
        ClassifyWorker("offline", embedder="none", threads=1)  # a pool worker or a Ray actor
        print(before, probe, gc.get_threshold()[0], gc.get_freeze_count() > 0)
        """
    )
    before, probe, worker, frozen = out.split()
    assert before == probe != str(WORKER_GEN0)
    assert (worker, frozen) == (str(WORKER_GEN0), "True")


def test_cyclic_garbage_is_still_collected_in_a_worker() -> None:
    """500,000 reference cycles made and dropped: the collector still frees them as the loop runs."""
    out = _run(
        """
        import gc
        from codecensus.runtime import tune_worker_gc
        tune_worker_gc()

        class Node:
            pass

        peak = 0
        for i in range(500_000):
            a, b = Node(), Node()
            a.other, b.other = b, a
            if i % 50_000 == 0:
                peak = max(peak, sum(1 for o in gc.get_objects() if isinstance(o, Node)))
        print(peak, sum(1 for o in gc.get_objects() if isinstance(o, Node)))
        """
    )
    peak, last = (int(x) for x in out.split())
    # without any automatic collection all 1,000,000 nodes would still be there
    assert peak <= 2 * WORKER_GEN0 + 10 and last <= 2 * WORKER_GEN0 + 10, out


def test_bulk_gc_restores_the_callers_thresholds() -> None:
    old = gc.get_threshold()
    try:
        gc.set_threshold(1234, 7, 9)
        with bulk_gc():
            assert gc.get_threshold() == (WORKER_GEN0, 7, 9)
        assert gc.get_threshold() == (1234, 7, 9)
        gc.set_threshold(200_000, 7, 9)  # a caller's own larger threshold is kept
        with bulk_gc():
            assert gc.get_threshold() == (200_000, 7, 9)
        assert gc.get_threshold() == (200_000, 7, 9)
    finally:
        gc.set_threshold(*old)


class _PartialStream:
    """An unbuffered pipe as a stopped-and-continued process sees it: each write takes at most ``most`` bytes."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.data = bytearray()
        self.calls = 0

    def write(self, b: memoryview) -> int:
        self.calls += 1
        part = bytes(b[: self.most])
        self.data += part
        return len(part)

    def flush(self) -> None:
        pass


def test_write_all_writes_what_each_partial_write_left() -> None:
    data = bytes(range(256)) * 40
    out = _PartialStream(7)
    write_all(out.write, data)
    assert bytes(out.data) == data and out.calls == -(-len(data) // 7)


def test_jsonl_export_to_an_unbuffered_stdout_is_complete() -> None:
    """``codecensus sessions`` writes to ``sys.stdout.buffer``, which ``PYTHONUNBUFFERED=1`` makes unbuffered:
    each write may take part of the export. Before, the rest was lost without a word."""
    import types

    import orjson
    import pyarrow as pa

    from codecensus.export import write_table

    tbl = pa.table({"session_id": [f"s{i}" for i in range(2000)], "prompts": list(range(2000))})
    raw = _PartialStream(1000)
    write_table(tbl, "jsonl", types.SimpleNamespace(buffer=raw))  # type: ignore[arg-type]
    rows = [orjson.loads(line) for line in bytes(raw.data).splitlines()]
    assert rows == tbl.to_pylist()


def test_exports_are_written_batch_by_batch_with_the_bytes_of_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """400K sessions as JSON Lines took 4.9 GB (every row a dict at once); now a batch at a time (0.65 GB, the
    same bytes). The memory of a 60,000-row export stays that of a 10,000-row one; the bytes, CSV's too, equal
    those of writing the table in one piece."""
    import io
    import tracemalloc
    import types

    import orjson
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from codecensus import export

    def table(n: int) -> pa.Table:
        return pa.table({"session_id": [f"s{i}" for i in range(n)], "prompts": list(range(n)),
                         "note": [None if i % 3 else f'a "q", b\\n{i}' for i in range(n)]})

    class Discard:  # the output is not kept: only the export's own memory is traced
        def write(self, b: bytes) -> int:
            return len(b)

        def flush(self) -> None:
            pass

    def peak(n: int, fmt: str) -> int:
        t = table(n)
        tracemalloc.start()
        export.write_table(t, fmt, types.SimpleNamespace(buffer=Discard()))  # type: ignore[arg-type]
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    assert peak(60_000, "jsonl") < 2 * peak(10_000, "jsonl")  # (CSV is written by Arrow, outside Python's heap)
    monkeypatch.setattr(export, "EXPORT_BATCH_ROWS", 7)  # many batches, and a last short one
    for n in (0, 1, 7, 30):
        t = table(n)
        out = io.BytesIO()
        export.write_table(t, "csv", types.SimpleNamespace(buffer=out))  # type: ignore[arg-type]
        whole = io.BytesIO()
        pacsv.write_csv(t, whole)
        assert out.getvalue() == whole.getvalue(), n
        out = io.BytesIO()
        export.write_table(t, "jsonl", types.SimpleNamespace(buffer=out))  # type: ignore[arg-type]
        opts = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
        assert out.getvalue() == b"".join(orjson.dumps(r, option=opts) for r in t.to_pylist()), n
