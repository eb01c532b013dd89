"""Synthetic, realistic Claude Code transcripts for demos, tests and benchmarks.

``generate_corpus(out_dir, ...)`` writes a multi-user corpus in the real on-disk
layout and record formats of every Claude Code generation (1.0.x → 2.1.2xx),
plus ``truth.csv`` (the planted ground truth per session) and
``planted_secrets.json`` (fake secrets/PII for the privacy pipeline).
"""

from codecensus.sample.generator import TRUTH_FIELDS, CorpusSummary, generate_corpus

__all__ = ["TRUTH_FIELDS", "CorpusSummary", "generate_corpus"]
