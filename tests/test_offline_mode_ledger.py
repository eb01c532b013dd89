"""Work-mode ledger rules of the offline backend (taxonomy §2) on hand-built evidence (no transcript involved).

Each rule here is one sentence of the taxonomy or of the labelling guide (docs/devset.md): tests written with
the code they test are part of that work, plan mode is a means of the work that follows it, jq is not data
analysis, automation words are a topic unless automation was produced, and a document is a plan when the
request asks for one.
"""

from __future__ import annotations

import pytest

from codecensus.classify.base import ActionEvidence
from codecensus.classify.features import extract
from codecensus.classify.offline import WEIGHTS, OfflineBackend, mode_votes, rubric_hash
from evidence_builders import act, edit, read, session, sh, write


def _votes(prompts: list[str], actions: list[ActionEvidence]) -> dict[str, float]:
    ev = session(prompts, actions)
    return mode_votes(ev, extract(ev))


# --- tests written with the code they test -------------------------------------------------------------------
def test_one_test_file_edited_many_times_beside_code_is_not_a_test_session(structural: OfflineBackend) -> None:
    """A test file reworked over and over while two source files change: the tests serve the code work."""
    acts = [write("src/app/report.py", 300), edit("src/app/views.py")]
    acts += [edit("tests/test_report.py") for _ in range(12)]
    v = _votes(["Add a weekly report page."], acts)
    assert v.get("test", 0.0) == 0.0
    assert v["build"] > 0
    (f,) = structural.classify([session(["Add a weekly report page."], acts)])
    assert f.mode == "build"


def test_test_file_votes_follow_the_code_work_they_come_with() -> None:
    """A new regression test in a repair is part of the repair, not new code: its votes go where the code's go."""
    acts = [edit("src/app/export.py"), edit("src/app/views.py"), write("tests/test_export.py")]
    v = _votes(["The export crashes with a KeyError, please fix it."], acts)
    assert v.get("build", 0.0) == 0.0
    assert v["fix"] > 2.0  # the two source edits and the test file
    assert v.get("test", 0.0) == 0.0


def test_tests_that_outnumber_the_code_are_a_test_session(structural: OfflineBackend) -> None:
    acts = [edit("src/parser.py"), write("tests/test_parser.py"), write("tests/test_lexer.py"),
            write("tests/test_tokens.py")]
    (f,) = structural.classify([session(["Cover the parser with tests."], acts)])
    assert f.mode == "test"
    # ... and a tie is not "clearly more tests than code"
    acts2 = [edit("src/parser.py"), edit("src/lexer.py"), write("tests/test_parser.py"), write("tests/test_lexer.py")]
    v = _votes(["Cover the parser with tests."], acts2)
    assert v.get("test", 0.0) == 0.0


# --- plan mode -----------------------------------------------------------------------------------------------
def _plan_mode(n: int = 2) -> list[ActionEvidence]:
    return [act("plan", "ExitPlanMode", is_error=False) for _ in range(n)]


def test_plan_mode_then_doing_the_change_is_not_plan(structural: OfflineBackend) -> None:
    """§2 plan: "designs a change ... without doing it". Planning first and then configuring is operate."""
    acts = _plan_mode(3) + [write("/home/u/.claude/plans/happy-otter.md", 300), edit("/etc/nginx/nginx.conf"),
                             sh("sudo systemctl restart nginx"), sh("sudo systemctl status nginx")]
    v = _votes(["Put the site behind nginx with TLS."], acts)
    assert v["plan"] < v["operate"]
    (f,) = structural.classify([session(["Put the site behind nginx with TLS."], acts)])
    assert f.mode == "operate"


def test_plan_mode_alone_is_plan(structural: OfflineBackend) -> None:
    acts = [read("src/app.py"), read("src/db.py")] + _plan_mode(1) + [write("/home/u/.claude/plans/calm-fox.md", 400)]
    (f,) = structural.classify([session(["Design the migration to Postgres; do not implement it yet."], acts)])
    assert f.mode == "plan"


def test_harness_plan_file_counts_as_plan_mode_not_as_a_plan_document() -> None:
    harness = _votes(["Plan it."], [write("/Users/u/.claude/plans/x.md", 300), write("src/a.py")])
    project = _votes(["Plan it."], [write("docs/plans/x.md", 300), write("src/a.py")])
    # the project's plan document is a deliverable (halved beside code); the harness's file is plan-mode use
    # that the following code change discounts
    assert 0 < harness["plan"] < project["plan"]
    win = _votes(["Plan it."], [write("C:\\Users\\u\\.claude\\plans\\x.md", 300), write("src\\a.py")])
    assert win["plan"] == pytest.approx(harness["plan"])


# --- jq ------------------------------------------------------------------------------------------------------
def test_jq_in_a_pipeline_is_not_data_analysis() -> None:
    acts = [sh("kubectl get pods -o json | jq '.items[].status.phase'"),
            sh("curl -s localhost:8080/health | jq .status"),
            sh("aws ec2 describe-instances | jq -r '.Reservations[].Instances[].State.Name'")]
    v = _votes(["Why is the deployment unhealthy?"], acts)
    assert v.get("analyze", 0.0) == 0.0
    assert v["operate"] > 0  # kubectl and aws are operating, with or without jq
    # a real query is still analysis, jq or not
    v2 = _votes(["How many orders per day?"], [sh("duckdb sales.duckdb -c 'select day, count(*) from orders group by 1'"),
                                                sh("psql -c 'select count(*) from orders' -t | jq -R .")])
    assert v2["analyze"] >= 1.0


# --- topics and documents (embedder) -------------------------------------------------------------------------
def test_automation_topic_with_only_a_config_change_is_not_orchestrate(embedded: OfflineBackend) -> None:
    """Automation words with no automation produced (no CI file, no agent configuration) count only partly."""
    for prompt in ("Our CI pipeline and the scheduled jobs need the new proxy: put it in the settings.",
                   "Set up the agent workflow: change the model name in config.yaml."):
        (f,) = embedded.classify([session([prompt], [read("config/settings.yaml"), edit("config/settings.yaml")])])
        assert f.mode == "operate"
    # a CI workflow produced in the session is automation
    (f2,) = embedded.classify([session(["Run the tests on every push."], [write(".github/workflows/ci.yml", 80)])])
    assert f2.mode == "orchestrate"


def test_design_document_without_a_plan_name_is_plan_when_the_request_asks_for_a_plan(
    embedded: OfflineBackend,
) -> None:
    acts = [read("src/server.py"), write("docs/storage.md", 900), write("docs/options.md", 600),
            write("docs/migration.md", 600), edit("docs/storage.md")]
    plan_req = ("Design the architecture for moving storage to S3: write a technical spec with the options, the "
                "trade-offs and a task breakdown. Do not implement anything yet.")
    (f,) = embedded.classify([session([plan_req], acts)])
    assert f.mode == "plan"
    # the same file written for readers is write
    doc_req = "Write the user documentation for the storage settings: a guide for our users with examples."
    (f2,) = embedded.classify([session([doc_req], acts)])
    assert f2.mode == "write"


def test_new_rule_constants_are_in_the_rubric() -> None:
    for k in ("NEUTRAL_EDIT_BUILD_SHARE", "TEST_FILES_MAIN_RATIO", "PLAN_MODE_WITH_CHANGES", "HARNESS_PLAN_VOTES"):
        assert k in WEIGHTS
    assert len(rubric_hash("none")) == 16
