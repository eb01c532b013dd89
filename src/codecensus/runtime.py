"""Process-wide settings for the processes that do the bulk work (parser processes, classify workers),
and writing a buffer to a pipe in full (:func:`write_all`).

Python's cyclic garbage collector runs a young-generation pass every 700 net container allocations. A
parser or classify worker allocates millions of short-lived containers (decoded lines, row tuples,
evidence objects) that reference counting frees at once, so those passes find almost nothing, yet
they cost 9-12 % of the process's time. Measured on this project's 2-core machine, each pair run
alternately, process CPU:

- parsing 3,000 generated Claude Code files (one parser process's work): 2.35-2.67 s with the
  default thresholds (698 collections, 0.21-0.29 s inside them) against 2.15-2.33 s;
- classifying 4,000 generated sessions offline (one classify worker's work): 13.18-13.62 s
  (~830 collections, 0.60 s inside them) against 12.06-12.43 s;

with the same peak RSS (157 / 156 MB and 493 / 492 MB). Cyclic garbage is still collected, only
after 100,000 net allocations instead of 700 (``tests/test_runtime.py`` checks that it stays bounded).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator

WORKER_GEN0 = 100_000  # net container allocations between two young-generation collections in a worker


def tune_worker_gc() -> None:
    """Settings for a process that only works for a parent (a parser process, a classify worker).

    Objects that exist now (modules, functions, constants loaded at start-up) go to the permanent
    generation and are never scanned again; young-generation collections run every
    :data:`WORKER_GEN0` net allocations. The older generations keep their own thresholds.
    """
    gc.freeze()
    _g0, g1, g2 = gc.get_threshold()
    gc.set_threshold(WORKER_GEN0, g1, g2)


@contextlib.contextmanager
def bulk_gc() -> Iterator[None]:
    """The worker's young-generation threshold for one block of the calling process, restored after.

    For a long bulk loop run in a process that is not ours alone (``ingest()`` called from a library
    user's program): nothing is frozen, and the thresholds go back to what they were.
    """
    old = gc.get_threshold()
    gc.set_threshold(max(WORKER_GEN0, old[0]), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def write_all(write: Callable[[memoryview], int | None], data: bytes) -> None:
    """Hand every byte of ``data`` to ``write`` (``os.write`` bound to a descriptor, or a stream's ``write``).

    One write to a pipe may take only part of a large buffer: when a signal arrives, or the process is
    stopped and continued (Ctrl-Z then ``fg``, a profiler attaching), it returns the count written. A
    buffered stream writes the rest itself, but an unbuffered one (``sys.stdout.buffer`` under
    ``PYTHONUNBUFFERED=1`` or ``python -u``, common in containers) returns the count to the caller, and
    a caller that ignores it silently loses the rest.
    """
    view = memoryview(data)
    while view:
        n = write(view)
        if n is None:  # a non-blocking stream that could take nothing now
            raise BlockingIOError("the output would block")
        view = view[n:]


__all__ = ["WORKER_GEN0", "bulk_gc", "tune_worker_gc", "write_all"]
