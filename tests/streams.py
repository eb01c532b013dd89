"""A stand-in for an output stream in tests of code that writes to pipes."""

from __future__ import annotations


class PartialStream:
    """An unbuffered pipe as a stopped-and-continued process sees it: each write takes at most ``most`` bytes
    (and keeps them only when ``keep``)."""

    def __init__(self, most: int | None = None, *, keep: bool = True) -> None:
        self.most = most
        self.keep = keep
        self.data = bytearray()
        self.calls = 0

    def write(self, b: memoryview | bytes) -> int:
        self.calls += 1
        n = len(b) if self.most is None else min(len(b), self.most)
        if self.keep:
            self.data += b[:n]
        return n

    def flush(self) -> None:
        pass
