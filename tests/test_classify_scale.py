"""Classify at study scale: the cheaper prototype similarities are bit-identical to the reference computation,
and the per-process memos stay bounded (entries and key length) without changing any result."""

from __future__ import annotations

import numpy as np
import pytest

from codecensus.classify import features
from codecensus.classify.offline import _Protos
from codecensus.embed import CachedEmbedder


def _reference_sims(mats: list[np.ndarray], v: np.ndarray) -> np.ndarray:
    """The committed computation: per label, the mean of the two highest cosines (numpy sort + mean)."""
    out = np.empty(len(mats), dtype=np.float32)
    for i, m in enumerate(mats):
        s = np.sort(m @ v)[::-1]
        out[i] = float(s[:2].mean())
    return out


def _unit(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    x = rng.standard_normal(shape).astype(np.float32)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_sims_bit_identical_to_sort_mean() -> None:
    rng = np.random.default_rng(7)
    for trial in range(300):
        sizes = [int(k) for k in rng.integers(1, 9, size=int(rng.integers(2, 12)))]
        mats = [_unit(rng, (k, 64)) for k in sizes]
        if trial % 5 == 0:  # ties between the two best prototypes
            mats[0] = np.vstack([mats[0][:1], mats[0][:1], mats[0][1:]])
        p = _Protos([f"l{i}" for i in range(len(mats))], mats)
        for _ in range(3):
            v = _unit(rng, (64,))
            got = p.sims(v)
            assert got.dtype == np.float32
            assert got.tobytes() == _reference_sims(mats, v).tobytes()


def test_sims_memo_is_by_identity_and_returns_copies() -> None:
    rng = np.random.default_rng(3)
    mats = [_unit(rng, (3, 32)) for _ in range(4)]
    p = _Protos(["a", "b", "c", "d"], mats)
    v, w = _unit(rng, (32,)), _unit(rng, (32,))
    first = p.sims(v)
    first[:] = 99.0  # a caller's change does not reach the memo
    assert p.sims(v).tobytes() == _reference_sims(mats, v).tobytes()
    assert p.sims(w).tobytes() == _reference_sims(mats, w).tobytes()
    # an equal vector that is a different array is computed afresh (and equal)
    assert p.sims(v.copy()).tobytes() == _reference_sims(mats, v).tobytes()


def test_memo_skips_long_keys_and_stays_bounded() -> None:
    features.command_class.cache_clear()  # type: ignore[attr-defined]
    long_cmd = "pytest -q " + "x" * (features.MEMO_MAX_CHARS + 10)
    assert features.command_class(long_cmd) == features.command_class.__wrapped__(long_cmd)  # type: ignore[attr-defined]
    assert features.command_class.cache_info().currsize == 0  # type: ignore[attr-defined]
    assert features.command_class("git push origin main") == "git"
    assert features.command_class("ls", is_test=True) == "test"
    assert features.command_class.cache_info().currsize == 2  # type: ignore[attr-defined]
    assert features.command_class.cache_info().maxsize == features.MEMO_ENTRIES  # type: ignore[attr-defined]
    heredoc = "cat > notes.md <<'EOF'\n" + "line\n" * 200 + "EOF"
    assert features.shell_write_target(heredoc) == features.shell_write_target.__wrapped__(heredoc)  # type: ignore[attr-defined]
    assert features.file_class(None) == features.file_class.__wrapped__(None)  # type: ignore[attr-defined]


class _Fake:
    """A deterministic stand-in embedder: one batch matrix per call (as the real ones return)."""

    name = "fake"
    dim = 256
    max_chars = 1000

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, hash(t) % self.dim] = 1.0
        return out


def test_embed_cache_bounded_and_rows_do_not_pin_batches() -> None:
    emb = CachedEmbedder(_Fake(), max_entries=50)
    for b in range(20):
        emb.encode([f"text {b} {i}" for i in range(40)])
    assert len(emb._mem) == 50
    # cached vectors own their memory: a cached row does not keep its 40-row batch matrix alive
    assert all(v.base is None and v.shape == (256,) for v in emb._mem.values())
    again = emb.encode(["text 19 39", "text 19 39"])
    assert emb.hits >= 2 and np.array_equal(again[0], again[1])


@pytest.mark.parametrize("n", [1, 2])
def test_sims_single_prototype_label(n: int) -> None:
    rng = np.random.default_rng(n)
    mats = [_unit(rng, (n, 16)), _unit(rng, (1, 16))]
    p = _Protos(["a", "b"], mats)
    v = _unit(rng, (16,))
    assert p.sims(v).tobytes() == _reference_sims(mats, v).tobytes()
