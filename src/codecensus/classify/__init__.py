"""Classification of sessions into the taxonomy's facets (§2–§8).

- :mod:`codecensus.classify.base`: the contracts (``SessionEvidence``, ``Facets``, ``Backend``);
- :mod:`codecensus.classify.evidence`: evidence loaded from the store in bulk;
- :mod:`codecensus.classify.offline`: the default backend (no network, no key);
- :mod:`codecensus.classify.llm`: LLM backends (Anthropic, OpenAI-compatible);
- :mod:`codecensus.classify.value`: value = hours x median wage (BLS OEWS May 2025);
- :mod:`codecensus.classify.run`: the driver that stores the ``facets`` table;
- :mod:`codecensus.classify.eval`: agreement with labels (taxonomy §10).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ActionEvidence", "Backend", "Facets", "SessionEvidence"]


def __getattr__(name: str) -> Any:
    # Loaded on first use (PEP 562): the contracts import pydantic, which the CLI's other commands never need.
    if name in __all__:
        from codecensus.classify import base

        return getattr(base, name)
    raise AttributeError(f"module 'codecensus.classify' has no attribute {name!r}")
