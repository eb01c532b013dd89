"""Stage 1: embed the summaries, each distinct text once.

Offline summaries are template sentences, so a corpus repeats the same text
many times; embedding every distinct text once (and weighting it by how often
it occurs) gives the same k-means result as embedding every row, at a fraction
of the cost. The model itself comes from :mod:`codecensus.embed`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from codecensus.cluster.model import FloatArray, IntArray

_WS = re.compile(r"\s+")

#: Above this many distinct summaries, ``auto`` switches to the fast tier (``use``): E5 runs at
#: ~100 sentences/s on 2 cores, USE at ~1,000–2,000 on short requests (~300 per CPU-second measured
#: on ~20-word summaries).
FAST_TIER_ABOVE = 10_000
#: Above this many, ``auto`` uses the model-free lexical tier: USE would need > 5 minutes on 2 cores
#: (400K distinct summaries: ~25 min with USE, ~1 min lexical; benchmarks/cluster.py).
LEXICAL_TIER_ABOVE = 100_000


class TextEmbedder(Protocol):
    """Anything with ``encode(texts) -> (n, d)`` L2-normalised float rows (see :mod:`codecensus.embed`)."""

    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass(slots=True)
class Embedded:
    texts: list[str]  # distinct (whitespace-normalised) summaries
    inverse: IntArray  # per input row: index into ``texts``
    counts: IntArray  # occurrences of each distinct text
    vectors: FloatArray  # (len(texts), d) L2-normalised
    model: str
    seconds: float  # time spent encoding (dedup excluded)
    cpu_seconds: float = 0.0  # process CPU time of the encoding (all threads)

    @property
    def n_unique(self) -> int:
        return len(self.texts)


def normalise_text(text: str) -> str:
    return _WS.sub(" ", text).strip()


def dedup(summaries: Sequence[str]) -> tuple[list[str], IntArray, IntArray]:
    """Distinct texts (first-seen order), the index of each row's text, and each text's count."""
    index: dict[str, int] = {}
    inv = np.empty(len(summaries), dtype=np.int64)
    for i, s in enumerate(summaries):
        inv[i] = index.setdefault(normalise_text(s or ""), len(index))
    counts = np.bincount(inv, minlength=len(index)).astype(np.int64)
    return list(index), inv, counts


def embedder_name(embedder: object) -> str:
    return str(getattr(embedder, "name", type(embedder).__name__))


def resolve_embedder(name: str, *, n_unique: int, store: object | None = None) -> TextEmbedder:
    """Pick an embedder by name; ``auto`` uses the fast tier for large corpora.

    ``auto``: up to :data:`FAST_TIER_ABOVE` distinct summaries, whatever
    ``codecensus.embed``'s own ``auto`` picks (E5 when installed); above it ``use``; above
    :data:`LEXICAL_TIER_ABOVE`, ``lexical``: :class:`LexicalEmbedder` (no model; the fastest tier).
    """
    if name == "lexical" or (name == "auto" and n_unique > LEXICAL_TIER_ABOVE):
        return LexicalEmbedder()
    from codecensus import embed

    if name == "auto" and n_unique > FAST_TIER_ABOVE and embed.available("use"):
        name = "use"
    # each distinct summary is embedded once per run, so USE's faster packed forward pass is safe here
    # (classify needs the batch-invariant one: its texts recur across batches and processes)
    return embed.get_embedder(name, store=store, packed=True)  # type: ignore[arg-type]


# A word starts with a letter of any script (English tokens as before: "node.js", "v18"; "résumé", "тесты" too);
# a Chinese, Japanese or Korean character is a word of its own (they are written without spaces: the bigrams
# of the vectorizer then pair neighbouring characters).
LEXICAL_TOKEN = r"(?u)\b[^\W\d_][\w+#.\-]*[\w+#]\b|\b[^\W\d_]\b"
_CJK = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af])")


def _lexical_text(text: str) -> str:
    return _CJK.sub(r" \1 ", text.lower())


class LexicalEmbedder:
    """The model-free tier: TF-IDF (uni+bigrams, sublinear) reduced by truncated SVD (LSA).

    Fitted on the corpus being clustered (on at most ``fit_texts`` distinct summaries, sampled),
    so vectors are comparable only within one call of :meth:`encode`. Template words common to
    every summary get a low IDF, so topic words drive the clusters. Words of every script count (it read only
    ASCII words, so summaries in Chinese or Russian all fell in one cluster), but it is blind to paraphrase and
    to translation: use it when a neural tier is too slow (hundreds of thousands of distinct summaries).
    """

    name = "lexical-lsa"

    def __init__(self, dim: int = 128, *, fit_texts: int = 100_000, seed: int = 0) -> None:
        self.dim = dim
        self.fit_texts = fit_texts
        self.seed = seed

    def encode(self, texts: list[str]) -> np.ndarray:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vec = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2, max_features=200_000,
                              preprocessor=_lexical_text, token_pattern=LEXICAL_TOKEN)
        fit_on = texts
        if len(texts) > self.fit_texts:
            rng = np.random.default_rng(self.seed)
            fit_on = [texts[int(i)] for i in rng.choice(len(texts), self.fit_texts, replace=False)]
        try:
            vec.fit(fit_on)
        except ValueError:  # too few texts for min_df=2
            vec.set_params(min_df=1)
            vec.fit(fit_on)
        x = vec.transform(texts)
        dim = max(1, min(self.dim, x.shape[1] - 1, x.shape[0] - 1))
        if dim < 2:
            z = x.toarray().astype(np.float32)
        else:
            svd = TruncatedSVD(dim, random_state=self.seed)
            svd.fit(vec.transform(fit_on))
            z = svd.transform(x).astype(np.float32)
        n = np.linalg.norm(z, axis=1, keepdims=True)
        n[n == 0] = 1.0
        return z / n


def embed_summaries(
    summaries: Sequence[str],
    embedder: TextEmbedder,
    *,
    batch_size: int | None = 2048,
    progress: Callable[[int, int], None] | None = None,
) -> Embedded:
    """Embed every distinct summary once; returns vectors per distinct text plus the mapping back."""
    texts, inverse, counts = dedup(summaries)
    t0 = time.perf_counter()
    c0 = time.process_time()
    parts: list[np.ndarray] = []
    if batch_size is None or isinstance(embedder, LexicalEmbedder):
        batch_size = max(1, len(texts))  # corpus-fitted: one call
    for start in range(0, len(texts), batch_size):
        parts.append(np.asarray(embedder.encode(texts[start : start + batch_size]), dtype=np.float32))
        if progress is not None:
            progress(min(start + batch_size, len(texts)), len(texts))
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    vectors = np.vstack(parts) if parts else np.zeros((0, 1), dtype=np.float32)
    if vectors.shape[0] != len(texts):
        raise ValueError(f"embedder returned {vectors.shape[0]} rows for {len(texts)} texts")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    vectors = (vectors / norms).astype(np.float32, copy=False)
    return Embedded(texts, inverse, counts, vectors, embedder_name(embedder), seconds, cpu)
