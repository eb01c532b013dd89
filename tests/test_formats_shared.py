"""Every non-Claude-Code sample in ../shared ingests; Claude Code files stay Claude Code's.

Skipped when the shared data is absent. Prints nothing of the transcripts: only counts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codecensus.ingest import ingest
from codecensus.measure import build_sessions
from codecensus.sources import base
from codecensus.store import Store

pytestmark = pytest.mark.shared


def _shared() -> Path | None:
    for cand in (Path(__file__).resolve().parents[2] / "shared", Path(os.environ.get("CODECENSUS_SHARED", "/nonexistent"))):
        if (cand / "data" / "transcripts").is_dir():
            return cand
    return None


SHARED = _shared()
needs_shared = pytest.mark.skipif(SHARED is None, reason="../shared data not available")

# Formats whose samples carry human prompts (all of them do).
WITH_PROMPTS = {
    "aider",
    "claude_agent_platform",
    "codex",
    "gemini_cli",
    "mini_swe_agent",
    "openhands",
    "swe_agent",
    "terminal_bench",
}


@needs_shared
def test_every_other_agent_sample_ingests(tmp_path: Path) -> None:
    assert SHARED is not None
    data = SHARED / "data"
    roots = [p for p in sorted((data / "transcripts").iterdir()) if p.is_dir() and not p.name.startswith("claude_code__")]
    labelled = data / "labelled-runs"
    if labelled.is_dir():
        roots.append(labelled)
    store = Store(tmp_path / "shared.duckdb")
    stats = ingest(store, roots, user_from_dir=True, workers=1, settle_s=0)
    assert stats.files_failed == 0, stats.errors[:3]
    assert stats.files_seen > 0
    build_sessions(store)
    per_format = {
        r[0]: r[1:]
        for r in store.con.execute(
            """SELECT sf.source, count(*), sum(s.prompts), sum(s.actions),
                      sum(s.input_tokens + s.output_tokens + s.cache_read_tokens + s.cache_creation_tokens)
               FROM sessions s JOIN (SELECT session_key, any_value(source) AS source FROM session_files GROUP BY 1) sf
                 USING (session_key)
               GROUP BY 1"""
        ).fetchall()
    }
    # Every sample folder is a session of some format (a folder holding nothing ingestible would be missing).
    for root in roots:
        n = store.one("SELECT count(*) FROM files WHERE path LIKE ?", [f"{root}%"])
        assert n and n[0] > 0, root.name
    for fmt in WITH_PROMPTS & set(per_format):
        sessions, prompts, _actions, _tokens = per_format[fmt]
        assert sessions > 0 and prompts > 0, fmt
    assert set(per_format) >= WITH_PROMPTS
    # Each session of the prompt-carrying formats has its prompt.
    empty = store.con.execute(
        """SELECT sf.source, count(*) FROM sessions s
           JOIN (SELECT session_key, any_value(source) AS source FROM session_files GROUP BY 1) sf USING (session_key)
           WHERE s.prompts = 0 GROUP BY 1"""
    ).fetchall()
    assert [r for r in empty if r[0] in WITH_PROMPTS] == []
    # The SWE-bench reports beside the mini-swe-agent sample give ground-truth outcomes.
    truth = dict(
        store.con.execute(
            """SELECT e.detail, count(*) FROM events e JOIN files f USING (file_id)
               WHERE e.kind = 'outcome_truth' AND f.source = 'mini_swe_agent' GROUP BY 1"""
        ).fetchall()
    )
    reports = list((data / "transcripts").glob("mini_swe_agent__*/**/logs/*/report.json"))
    assert sum(truth.values()) == len(reports) > 0
    assert set(truth) <= {"resolved", "unresolved"}
    bad = store.one("SELECT coalesce(sum(count), 0) FROM ingest_log WHERE kind IN ('bad_json', 'bad_record')")
    assert bad == (0,)
    store.close()


@needs_shared
def test_claude_code_samples_are_not_stolen() -> None:
    assert SHARED is not None
    only_cc = base.get("claude_code")
    checked = 0
    for root in sorted((SHARED / "data" / "transcripts").glob("claude_code__*")):
        for p in root.rglob("*"):
            if p.is_dir():
                claimed = [n for n, f in base.parsers().items() if f.folder and f.detect(p, b"") >= 0.5]
                assert claimed == [], f"{p.name} claimed by {claimed}"
                continue
            head = base.read_head(p)
            chosen = base.detect(p, head)
            own = only_cc.detect(p, head)
            if own >= 0.5:
                assert chosen is not None and chosen.name == "claude_code", p.name
                checked += 1
            else:
                assert chosen is None or chosen.name == "claude_code", f"{p.name} claimed by {chosen.name}"
    assert checked > 0
