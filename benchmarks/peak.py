"""Peak memory of a process tree, sampled in a thread (shared by the benchmark scripts)."""

from __future__ import annotations

import threading

import psutil


class Peak:
    """Peak memory of a process and all its descendants, sampled every ``every`` seconds: summed RSS and,
    with ``pss``, summed PSS (proportional set size: a page shared by k processes counts 1/k in each;
    reading it costs more per sample)."""

    def __init__(self, pid: int, every: float = 0.1, *, pss: bool = True) -> None:
        self.proc = psutil.Process(pid)
        self.rss = 0
        self.pss = 0
        self.every = every
        self.with_pss = pss
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
            except psutil.Error:
                procs = []
            rss = pss = 0
            for p in procs:
                try:
                    if self.with_pss:
                        mi = p.memory_full_info()
                        rss += mi.rss
                        pss += getattr(mi, "pss", mi.rss)
                    else:
                        rss += p.memory_info().rss
                except psutil.Error:
                    pass
            self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)
            self._stop.wait(self.every)

    def stop(self) -> tuple[int, int]:
        """Stop sampling; (peak RSS, peak PSS) in bytes (PSS 0 when not sampled)."""
        self._stop.set()
        self._t.join()
        return self.rss, self.pss
