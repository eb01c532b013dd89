"""Classification of sessions into the taxonomy's facets (§2–§8).

- :mod:`codecensus.classify.base`: the contracts (``SessionEvidence``, ``Facets``, ``Backend``);
- :mod:`codecensus.classify.evidence`: evidence loaded from the store in bulk;
- :mod:`codecensus.classify.offline`: the default backend (no network, no key);
- :mod:`codecensus.classify.llm`: LLM backends (Anthropic, OpenAI-compatible);
- :mod:`codecensus.classify.value`: value = hours x median wage (BLS OEWS May 2025);
- :mod:`codecensus.classify.run`: the driver that stores the ``facets`` table;
- :mod:`codecensus.classify.eval`: agreement with labels (taxonomy §10).
"""

from codecensus.classify.base import ActionEvidence, Backend, Facets, SessionEvidence

__all__ = ["ActionEvidence", "Backend", "Facets", "SessionEvidence"]
