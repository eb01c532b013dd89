"""The condenser: bounded digests, what they keep, redaction before anything leaves."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import pytest

from codecensus.classify.base import ActionEvidence, SessionEvidence
from codecensus.classify.condense import _trim, condense, estimate_tokens
from llm_replay import IdentityRedactor, sample_session


def _big_session(n_prompts: int = 60, n_actions: int = 900) -> SessionEvidence:
    prompts = [f"Step {i}: refactor module_{i}.py so that the handler validates input " + "details " * 150
               for i in range(n_prompts)]
    acts = []
    for j in range(n_actions):
        p = j * n_prompts // n_actions
        if j % 7 == 0:
            acts.append(ActionEvidence(tool="Bash", category="shell", command=f"pytest tests/test_{j}.py -x",
                                       is_test=True, test_status="fail" if j % 2 else "pass", is_error=bool(j % 2),
                                       result_head=f"FAILED tests/test_{j}.py::test_case - AssertionError " * 5,
                                       prompt_index=p))
        else:
            acts.append(ActionEvidence(tool="Read" if j % 3 else "Edit", category="read" if j % 3 else "edit",
                                       file_path=f"/home/dev/project/src/pkg/module_{j}.py", prompt_index=p))
    replies = [f"Working on step {k}. " + "explanation " * 80 for k in range(n_prompts * 2)]
    return SessionEvidence(
        session_key="big", session_id="big", source="claude_code",
        shape={"duration_s": 7200.0, "test_runs": 130, "commits": 0},
        prompts=prompts, prompt_ts=[None] * n_prompts, replies=replies, actions=acts,
        reply_prompt_index=[k // 2 for k in range(n_prompts * 2)],
    )


def test_estimate_tokens() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcdefg" * 100) == 200  # 3.5 ASCII characters per token
    # non-ASCII counts one token per character (conservative for CJK)
    assert estimate_tokens("修复测试") == 4
    assert estimate_tokens("ab修") == 2


def test_small_session_keeps_the_essentials() -> None:
    ev = sample_session(0)
    d = condense(ev, redactor=IdentityRedactor())
    assert d.startswith("SESSION: 2 human prompts; 7 agent tool calls")
    assert "[human prompt 1] The date parser in utils/dates.py fails on ISO week dates" in d
    assert "[human prompt 2] Good, now commit it." in d
    assert "- Bash pytest -q tests/test_dates.py [tests fail] → ERROR: 1 failed, 11 passed" in d
    assert "[tests pass]" in d
    assert "[commit]" in d
    # consecutive plain calls of one tool fold; different tools stay one line each
    assert "- Read /repo/utils/dates.py" in d
    assert "END STATE: last test run: pass (after the last edit); commits: 1 (1 after the last edit)" in d
    assert "the session ends with agent work after the last human prompt" in d
    assert d.rstrip().endswith("[final agent reply] Committed.")
    # replies are placed under their prompt, final reply only once
    assert d.count("Committed.") == 1
    assert "[agent] Fixed: week 53 is now handled" in d


def test_runs_of_one_tool_fold_into_one_line() -> None:
    acts = [ActionEvidence(tool="Read", category="read", file_path=f"/r/src/f{i}.py") for i in range(6)]
    ev = SessionEvidence("k", "k", "claude_code", {}, prompts=["look around"], prompt_ts=[None], actions=acts)
    d = condense(ev, redactor=IdentityRedactor())
    assert "- Read ×6: src/f0.py, src/f1.py, src/f2.py, …" in d
    assert d.count("- Read") == 1


def test_budget_is_respected_on_a_huge_session() -> None:
    ev = _big_session()
    for budget in (2000, 800, 300):
        d = condense(ev, budget, redactor=IdentityRedactor())
        assert estimate_tokens(d) <= budget, budget
        assert d.startswith("SESSION: 60 human prompts; 900 agent tool calls")
        assert "END STATE:" in d
    d = condense(ev, 2000, redactor=IdentityRedactor())
    assert "[human prompt 1]" in d and "[human prompt 60]" in d
    assert "human prompts omitted here" in d


def test_budget_uses_more_detail_when_it_fits() -> None:
    ev = _big_session(6, 60)
    small = condense(ev, 600, redactor=IdentityRedactor())
    large = condense(ev, 4000, redactor=IdentityRedactor())
    assert estimate_tokens(small) <= 600 < estimate_tokens(large) <= 4000


def test_trim_never_splits_a_long_token() -> None:
    key = "A" * 60
    out = _trim("token " + key + " tail", 30)
    assert "AAAA" not in out and out.endswith("…")
    assert _trim("short words here", 100) == "short words here"
    assert _trim("one two three four five six", 14) == "one two three…"


def test_redaction_is_applied_to_every_piece_and_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    ev = sample_session(0, prompts=["please use SECRETWORD to log in", "SECRETWORD again"])
    ev.actions[1].command = "curl -H 'token: SECRETWORD' http://x"
    ev.actions[3].result_head = "error SECRETWORD rejected"
    ev.replies[0] = "I saw SECRETWORD"
    red = IdentityRedactor()
    d = condense(ev, redactor=red)
    assert "SECRETWORD" not in d
    assert d.count("[SECRET]") >= 4
    # redaction runs before trimming: a trimmed piece cannot keep half a secret
    assert red.calls > 5

    import builtins

    real_import = builtins.__import__

    def no_redact(name: str, *a: object, **k: object) -> object:
        if name.startswith("codecensus.redact"):
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_redact)
    with pytest.raises(RuntimeError, match="refusing"):
        condense(ev)


def test_real_redactor_masks_credentials_and_paths() -> None:
    pytest.importorskip("codecensus.redact")
    aws = "AKIA" + "IOSFODNN7EXAMPLE"
    ghp = "ghp_" + "abcdefghijklmnopqrstuvwxyz0123456789"
    ev = sample_session(0, prompts=[f"deploy with key {aws} and token {ghp}; mail me at dev@example.org"])
    ev.actions[0].file_path = "/home/alice/work/secret-project/app.py"
    d = condense(ev)
    for raw in (aws, ghp, "dev@example.org", "alice"):
        assert raw not in d
    assert "[AWS_KEY]" in d and "[GITHUB_TOKEN]" in d and "[EMAIL]" in d


def test_a_home_folder_user_seen_in_one_piece_is_masked_in_every_piece() -> None:
    """Each piece is redacted on its own: ``/Users/jmueller`` in a tool call's path masked the path, but a bare
    ``jmueller`` in a prompt (a login, a signature) went into the digest an LLM backend receives."""
    pytest.importorskip("codecensus.redact")
    ev = sample_session(0, prompts=["ask jmueller to review the patch before the release", "thanks, and jmueller again"])
    ev.actions[0].file_path = "/Users/jmueller/src/app/main.py"
    d = condense(ev)
    assert "jmueller" not in d
    assert "review the patch" in d  # the prompt is still there, only the name is masked


def _shared() -> Path | None:
    p = Path(__file__).resolve().parents[2] / "shared"
    if not p.exists():
        env = os.environ.get("CODECENSUS_SHARED")
        p = Path(env) if env else p
    return p if (p / "data" / "transcripts").exists() else None


@pytest.mark.shared
@pytest.mark.slow
def test_median_condensed_session_is_within_2000_tokens(tmp_path: Path) -> None:
    """Over a sample of real transcripts: median ≤ 2,000 tokens, none over budget (prints only counts)."""
    shared = _shared()
    if shared is None:
        pytest.skip("shared transcripts absent")
    from codecensus.classify.evidence import load_evidence
    from codecensus.ingest import ingest
    from codecensus.measure import build_sessions
    from codecensus.store import Store

    dirs = sorted(p for p in (shared / "data" / "transcripts").iterdir() if p.is_dir())[:40]
    with Store(tmp_path / "c.duckdb") as st:
        ingest(st, dirs, user_from_dir=True, settle_s=0)
        build_sessions(st)
        keys = [r[0] for r in st.con.execute("SELECT session_key FROM sessions").fetchall()]
        evs = load_evidence(st, keys)
    assert len(evs) >= 10
    toks = [estimate_tokens(condense(ev)) for ev in evs]
    assert max(toks) <= 2000
    assert statistics.median(toks) <= 2000
