"""codecensus.embed: offline multilingual embedders behind one interface, with a salted on-disk cache."""

from __future__ import annotations

import numpy as np
import pytest

from codecensus.embed import available, get_embedder, resolve_name


@pytest.mark.parametrize("name", ["use", "e5"])
def test_vectors_are_normalised_and_multilingual(name: str) -> None:
    if not available(name):
        pytest.skip(f"{name} not installed")
    emb = get_embedder(name)
    texts = ["Fix the failing unit tests.", "Arregla las pruebas unitarias que fallan.",
             "Write a poem about the sea."]
    v = emb.encode(texts)
    assert v.shape == (3, emb.dim) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2]  # a translation is closer than a different request
    assert emb.encode([]).shape == (0, emb.dim)


def test_store_cache_hits_and_salted_keys(store) -> None:  # type: ignore[no-untyped-def]
    emb = get_embedder("use", store=store)
    a = emb.encode(["hello world", "hello world", "another text"])
    assert emb.misses == 2 and emb.hits == 1
    assert store.one("SELECT count(*) FROM embeddings")[0] == 2
    # a fresh embedder on the same store reads the vectors back instead of encoding
    again = get_embedder("use", store=store)
    b = again.encode(["another text", "hello world"])
    assert again.misses == 0 and again.hits == 2
    assert np.allclose(b, a[[2, 0]], atol=1e-6)
    # keys are salted with the store's salt: no unsalted hash of any text is stored
    import hashlib

    plain = hashlib.blake2b(b"hello world", digest_size=16).hexdigest()
    assert store.one("SELECT count(*) FROM embeddings WHERE key = ?", [plain])[0] == 0


def test_resolve_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODECENSUS_EMBEDDER", "use")
    assert resolve_name("auto") == "use"
    monkeypatch.delenv("CODECENSUS_EMBEDDER")
    assert resolve_name("auto") in ("e5", "use")
    assert resolve_name("e5") == "e5"
    with pytest.raises(ValueError):
        resolve_name("word2vec")


def test_text_cache_bound_follows_memory_and_the_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """The LRU bound: $CODECENSUS_EMBED_CACHE when set; else 1/64 of RAM at ~2.6 KB a text, between 30,000 and 100,000."""
    import os

    from codecensus import embed

    monkeypatch.delenv("CODECENSUS_EMBED_CACHE", raising=False)

    def ram(total: int) -> None:
        monkeypatch.setattr(os, "sysconf", lambda name: {"SC_PHYS_PAGES": total // 4096, "SC_PAGE_SIZE": 4096}[name])

    ram(64 * 2**30)
    assert embed._cache_entries() == embed.DEFAULT_CACHE_ENTRIES == 100_000
    ram(8 * 2**30)
    assert embed._cache_entries() == 8 * 2**30 // 64 // embed.CACHE_ENTRY_BYTES == 51_622
    ram(1 * 2**30)
    assert embed._cache_entries() == embed.MIN_CACHE_ENTRIES
    monkeypatch.setenv("CODECENSUS_EMBED_CACHE", "1234")
    assert embed._cache_entries() == 1234
    monkeypatch.setenv("CODECENSUS_EMBED_CACHE", "lots")
    assert embed._cache_entries() == embed.MIN_CACHE_ENTRIES
