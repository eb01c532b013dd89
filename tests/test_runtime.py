"""Garbage-collector settings of the worker processes, and writes in full (codecensus.runtime)."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

from codecensus.runtime import WORKER_GEN0, bulk_gc, write_all
from streams import PartialStream


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


def test_write_all_writes_what_each_partial_write_left() -> None:
    data = bytes(range(256)) * 40
    out = PartialStream(7)
    write_all(out.write, data)
    assert bytes(out.data) == data and out.calls == -(-len(data) // 7)
