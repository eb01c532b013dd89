"""Outcome evidence of autonomous agent runs (benchmark agents: one task, no human feedback)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codecensus.classify.base import ActionEvidence, SessionEvidence
from codecensus.classify.features import check_status, extract, run_features
from codecensus.classify.offline import WEIGHTS, outcome
from codecensus.sources import base
from codecensus.sources.base import FileContext, file_id_for
from codecensus.sources.common import is_test_command

SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached"


def sh(cmd: str, *, error: bool = False, head: str = "", **kw: Any) -> ActionEvidence:
    return ActionEvidence(tool="bash", category="shell", command=cmd, is_error=error, result_head=head,
                          is_test=is_test_command(cmd), **kw)


def run(actions: list[ActionEvidence], *, status: str | None = "Submitted", submission: str | None = "patch",
        final: str = "I fixed the bug.", source: str = "mini_swe_agent", tokens: int = 0) -> SessionEvidence:
    events: list[tuple[str, str | None]] = []
    if status is not None:
        events.append(("run_status", status))
    if submission is not None:
        events.append(("submission", submission))
    replies = [final] if final else []
    return SessionEvidence(
        session_key="r", session_id="r", source=source,
        shape={"session_id": "r", "prompts": 1, "actions": len(actions), "input_tokens": tokens},
        prompts=["<pr_description>Fix the crash in parse_date when the input has a timezone.</pr_description>"],
        prompt_ts=[None], replies=replies, actions=actions, events=events, reply_prompt_index=[0] * len(replies),
        event_prompt_index=[0] * len(events), final_reply_after_last_action=None,
    )


def fix_run(extra: int = 0, last_check_error: bool = False) -> list[ActionEvidence]:
    acts = [sh("cat src/dates.py"), sh("cat > reproduce.py <<'EOF'\nimport dates\nEOF"),
            sh("python reproduce.py", error=True, head="Traceback (most recent call last):\nValueError: tz")]
    acts += [sh(f"grep -n tz src/mod{i}.py") for i in range(extra)]
    acts += [sh("sed -i 's/a/b/' src/dates.py"),
             sh("python reproduce.py", error=last_check_error, head="ValueError: tz" if last_check_error else "ok"),
             sh(SUBMIT)]
    return acts


def score(ev: SessionEvidence) -> float:
    return outcome(ev, extract(ev)).score


def test_clean_verified_run_beats_the_failure_marks() -> None:
    good = score(run(fix_run()))
    assert good > 0.6
    assert score(run(fix_run(last_check_error=True))) < good - 0.1  # the last check failed
    assert score(run(fix_run(), status="LimitsExceeded")) < good - 0.2  # stopped by a limit
    assert score(run(fix_run(), submission="empty")) < good - 0.3  # nothing submitted
    assert score(run(fix_run(), final="I was unable to fix it.")) < good - 0.1  # gave up
    assert score(run(fix_run(extra=60))) < good  # long struggle
    assert score(run([], status="agent_not_started", submission=None, final="", source="terminal_bench")) < 0.1


def test_run_features_read_the_final_state() -> None:
    ev = run(fix_run(last_check_error=True) + [sh("git checkout -- src/dates.py")])
    r = run_features(ev, extract(ev))
    assert r.autonomous and r.status == "Submitted" and r.submission_empty is False
    assert (r.checks, r.last_check, r.fail_streak_at_end, r.repeated_failures, r.reverts) == (2, "fail", 2, 1, 1)
    assert check_status(sh("cat notes.txt")) is None  # reading is not a verification run
    assert check_status(sh("./solution < sample.in", head="42")) == "pass"
    assert check_status(sh("python3 -m pytest -q", head="1 failed, 3 passed")) == "fail"


def test_sessions_with_human_feedback_are_not_autonomous() -> None:
    ev = run(fix_run(), status=None, submission=None, source="claude_code")
    ev.prompts.append("That still crashes on UTC offsets, please look again.")
    ev.prompt_ts.append(None)
    assert not run_features(ev, extract(ev)).autonomous


def test_autonomous_weights_are_in_the_table() -> None:
    assert {"OUT_AUTO_NO_WORK", "OUT_AUTO_LIMIT", "OUT_AUTO_STEPS", "OUT_AUTO_CHECK_FAIL"} <= set(WEIGHTS)


@pytest.mark.parametrize(("cmd", "is_test"), [("cd /testbed && python tests/runtests.py admin_views", True),
                                              ("./bin/test sympy/core/tests/test_expr.py", True),
                                              ("python reproduce.py", False)])
def test_benchmark_test_runners(cmd: str, is_test: bool) -> None:
    assert is_test_command(cmd) is is_test


def _parse(path: Path, expect: str) -> Any:
    parser = base.detect(path)
    assert parser is not None and parser.name == expect
    return parser.parse(FileContext(path=path, file_id=file_id_for(path, parser.name), user="alice"))


def test_codex_multiline_exec_and_mini_final_state(tmp_path: Path) -> None:
    trial = tmp_path / "usaco-7@2025-08-24__16-32-09"
    trial.mkdir()
    (trial / "commands.txt").write_text("['clear', 'Enter']\n")
    (trial / "agent.log").write_text(
        "[2025-08-24T16:33:00] OpenAI Codex v0.23.0 (research preview)\n"
        "[2025-08-24T16:33:00] User instructions:\nSolve the problem.\n"
        "[2025-08-24T16:33:09] exec bash -lc \"cat > solution.py << 'EOF'\nprint(1)\nEOF\" in /app\n"
        "[2025-08-24T16:33:09] bash -lc \"cat > solution.py << 'EOF'\nprint(1)\nEOF\" succeeded in 5ms:\n\n"
        "[2025-08-24T16:33:10] exec bash -lc 'python3 solution.py < sample.in' in /app\n"
        "[2025-08-24T16:33:10] bash -lc 'python3 solution.py < sample.in' exited 1 in 40ms:\nTraceback\n"
        "[2025-08-24T16:33:11] tokens used: 1200\n"
    )
    res = _parse(trial, "terminal_bench")
    assert [a.command for a in res.actions][1] == "python3 solution.py < sample.in"
    assert "solution.py" in (res.actions[0].command or "")
    assert [(r.exit_code, r.is_error) for r in res.results] == [(0, False), (1, True)]

    mini = tmp_path / "task@2025-08-07__20-46-16"
    mini.mkdir()
    (mini / "commands.txt").write_text("['clear', 'Enter']\n")
    step = "mini-swe-agent (step {n}, $0.01):\nTHOUGHT: go\n\n```bash\n{cmd}\n```\n"
    body = ("👋 This is mini-swe-agent version 1.7.0.\nSystem:\nYou are an agent.\nUser:\nDo the task.\n"
            + "─" * 20 + "\n" + step.format(n=1, cmd="ls") + "User:\n<returncode>0</returncode>\n<output>\na\n</output>\n")
    (mini / "agent.log").write_text(body)
    statuses = [e.detail for e in _parse(mini, "terminal_bench").events if e.kind == "run_status"]
    assert statuses == ["unfinished"]
    (mini / "agent.log").write_text(body + "─" * 20 + "\n" + step.format(n=2, cmd=SUBMIT))
    statuses = [e.detail for e in _parse(mini, "terminal_bench").events if e.kind == "run_status"]
    assert statuses == ["Submitted"]


def test_mini_swe_agent_submission_event(tmp_path: Path) -> None:
    traj = {"trajectory_format": "mini-swe-agent-1", "instance_id": "x__y-1",
            "info": {"exit_status": "Submitted", "submission": "", "mini_version": "1.15.0"},
            "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "Fix it."},
                         {"role": "assistant", "content": "THOUGHT\n\n```bash\nls\n```"}]}
    p = tmp_path / "x__y-1.traj.json"
    p.write_text(json.dumps(traj))
    subs = [(e.detail, e.value) for e in _parse(p, "mini_swe_agent").events if e.kind == "submission"]
    assert subs == [("empty", 0.0)]


def test_a_patch_without_a_named_file_is_a_change() -> None:
    """codex apply_patch in a harness log: the parser may not name the file, the run still changed code."""
    from codecensus.classify.features import changed_path

    patch = ActionEvidence(tool="apply_patch", category="edit", is_error=False)
    assert changed_path(patch) == "(patch)"
    assert changed_path(ActionEvidence(tool="apply_patch", category="edit", is_error=True)) is None
    solved = run([patch, sh("python3 solution.py < sample.in", head="42")], status=None, submission=None,
                 final="Done.", source="terminal_bench", tokens=4000)
    unrun = run([patch], status=None, submission=None, final="Done.", source="terminal_bench", tokens=4000)
    assert extract(unrun).last_change == 0
    assert score(solved) > score(unrun)  # the solution was run on the sample; the other was never run


def test_effort_counts_words_of_output() -> None:
    """Two runs with the same steps and end state: the one that generated far more output struggled more."""
    lean, verbose = run(fix_run()), run(fix_run())
    lean.shape["output_words"] = 800
    verbose.shape["output_words"] = 20000
    assert score(verbose) < score(lean) - 0.05


def test_autonomous_tests_are_read_once() -> None:
    """An autonomous run's test runs count once, as verification runs: a test suite and a check script with the
    same results give the same score (the human-session test terms would count them a second time)."""
    def variant(cmd: str) -> SessionEvidence:
        base = fix_run()
        return run(base[:-1] + [sh(cmd, error=True, head="1 failed"), sh("sed -i 's/b/c/' src/dates.py"),
                                sh(cmd, head="3 passed"), base[-1]])

    tests, checks = variant("python -m pytest tests/test_dates.py"), variant("python check_dates.py")
    assert extract(tests).tests_pass_after_change and not extract(checks).tests_pass_after_change
    assert run_features(tests, extract(tests)).last_check == run_features(checks, extract(checks)).last_check == "pass"
    assert score(tests) == pytest.approx(score(checks))
    assert score(tests) > 0.6


def test_an_agent_that_never_started_failed() -> None:
    ev = run([], status="agent_not_started", submission=None, final="", source="terminal_bench")
    out = outcome(ev, extract(ev))
    assert out.label == "failure" and out.score < 0.1


def test_human_session_outcome_is_its_end_state_not_its_struggle() -> None:
    """Errors on the way are the trouble flag (§3), not the outcome: a clean end is success either way."""
    def human(acts: list[ActionEvidence]) -> SessionEvidence:
        ev = run(acts, status=None, submission=None, final="The date parser now handles offsets.",
                 source="claude_code")
        ev.final_reply_after_last_action = True
        return ev

    smooth = [sh("cat src/dates.py"), sh("sed -i 's/a/b/' src/dates.py"), sh("python reproduce.py", head="ok")]
    bumpy = ([sh("python reproduce.py", error=True, head="ValueError: tz")] * 4 + [sh("cat src/x.py")] * 40
             + smooth)
    a, b = outcome(human(smooth), extract(human(smooth))), outcome(human(bumpy), extract(human(bumpy)))
    assert a.label == b.label == "success"
    assert b.trouble and not a.trouble
    assert b.score == pytest.approx(a.score)
