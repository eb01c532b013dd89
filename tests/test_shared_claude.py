"""The real Claude Code samples in ../shared: every main session ingests, nothing crashes, nothing is printed."""

from __future__ import annotations

import pytest

from codecensus.ingest import ingest
from codecensus.measure import build_sessions
from codecensus.store import Store


@pytest.fixture(scope="module")
def real_db(tmp_path_factory: pytest.TempPathFactory) -> Store:
    from conftest import shared_dir

    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared data not present")
    roots = sorted(p for p in (shared / "data" / "transcripts").iterdir() if p.name.startswith("claude_code__"))
    store = Store(tmp_path_factory.mktemp("real") / "real.duckdb")
    stats = ingest(store, roots, fmt="claude_code", workers=2)
    assert stats.files_failed == 0, f"{stats.files_failed} files failed"  # never print transcript text
    build_sessions(store)
    yield store
    store.close()


def test_all_main_sessions_ingest(real_db: Store) -> None:
    n_main = real_db.one("SELECT count(*) FROM files WHERE role='main'")[0]
    n_sessions = real_db.one("SELECT count(*) FROM sessions")[0]
    assert n_main == 342
    assert n_sessions == 342


def test_damaged_lines_are_counted_with_file_and_line(real_db: Store) -> None:
    bad = real_db.one("SELECT sum(count), count(DISTINCT path), min(line) FROM ingest_log WHERE kind IN ('bad_json','bad_record')")
    assert bad[0] == 365  # transcript-formats.md §1.14: 365 lines that do not parse
    assert bad[1] >= 1 and bad[2] >= 1
    assert real_db.one("SELECT sum(bad_lines) FROM sessions")[0] == 365


def test_subagent_files_attach_to_parents(real_db: Store) -> None:
    n_sub = real_db.one("SELECT count(*) FROM files WHERE role='subagent'")[0]
    assert n_sub == 82
    # Every subagent whose parent transcript is in the sample is attached to it ...
    attached = real_db.one(
        "SELECT count(*) FROM files f WHERE role='subagent' AND session_key IN (SELECT session_key FROM sessions)"
    )[0]
    # ... and the few whose parent file was left out of the sample (files >= 4 MB) never become sessions.
    orphans = real_db.one(
        "SELECT count(*) FROM files f WHERE role='subagent'"
        " AND session_key NOT IN (SELECT session_key FROM files WHERE role='main')"
    )[0]
    assert (attached, orphans) == (78, 4)
    assert real_db.one("SELECT count(*) FROM sessions WHERE session_id LIKE 'agent-%'")[0] == 0


def test_totals_are_plausible(real_db: Store) -> None:
    p, a, ow, vw, i, r, c = real_db.one(
        "SELECT sum(prompts), sum(actions), sum(output_words), sum(visible_words), sum(interrupts), sum(rejections),"
        " sum(compactions) FROM sessions"
    )
    assert p > 1000 and a > 5000
    assert ow > vw > 0
    assert i > 0 and r > 0 and c > 0
