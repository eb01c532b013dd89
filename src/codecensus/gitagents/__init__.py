"""Coding-agent adoption in git history (issue 9).

``codecensus git-agents PATH...`` scans local repositories for commits made or
co-authored by coding agents (Claude Code, Copilot, Cursor, Devin, Jules, Codex,
OpenHands, Amp, Aider, ...) using the signature table in
``codecensus/data/agent_signatures.toml``, stores per repo x month x agent
counts, and :func:`adoption_table` gives the report's "share of repositories
with at least one agent commit".
"""

from codecensus.gitagents.scan import (
    ADOPTION_SCHEMA,
    RepoScan,
    adoption_table,
    discover_repos,
    scan_paths,
    scan_repo,
    store_results,
    summarize,
)
from codecensus.gitagents.signatures import (
    AGENT_LABELS,
    CommitView,
    Detection,
    Signature,
    SignatureSet,
    default_signatures,
    load_signatures,
)

__all__ = [
    "ADOPTION_SCHEMA",
    "AGENT_LABELS",
    "CommitView",
    "Detection",
    "RepoScan",
    "Signature",
    "SignatureSet",
    "adoption_table",
    "default_signatures",
    "discover_repos",
    "load_signatures",
    "scan_paths",
    "scan_repo",
    "store_results",
    "summarize",
]
