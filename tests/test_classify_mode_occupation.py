"""Work mode (§2) and occupation (§5) rules of the offline backend: what a session produced outweighs its topic."""

from __future__ import annotations

from typing import Any

import pytest

from codecensus.classify.base import ActionEvidence
from codecensus.classify.features import extract
from codecensus.classify.offline import OfflineBackend, mode_votes
from codecensus.taxonomy import NOT_INFERABLE, SOFTWARE_SOC
from evidence_builders import edit, read, session, sh
from evidence_builders import write as _write


def write(path: str, words: int = 300, **kw: Any) -> ActionEvidence:
    return _write(path, words, **kw)


AGENTIC_TOPIC = (
    "Write the application for a research grant about agentic AI: autonomous agents, multi-agent workflows, "
    "CI pipelines and scheduled automation for software teams."
)
DOCS = [write("application/summary.md"), write("application/budget-justification.md"),
        write("application/work-programme.docx")]


@pytest.mark.parametrize("backend", ["structural", "embedded"])
def test_documents_written_about_automation_are_write(backend: str, request: pytest.FixtureRequest) -> None:
    """The product (prose documents) decides, not the subject (agents, workflows)."""
    be: OfflineBackend = request.getfixturevalue(backend)
    (f,) = be.classify([session([AGENTIC_TOPIC, "Now tighten the budget section."], DOCS)])
    assert f.mode == "write"


def test_unanswered_grant_request_is_write(embedded: OfflineBackend) -> None:
    """Nothing done: the mode the request asks for, and an application is a document to write."""
    (f,) = embedded.classify([session(["Help me apply for the grant for our AI agents project."])])
    assert f.mode == "write"


def test_automation_words_alone_do_not_make_orchestrate_when_nothing_was_produced(embedded: OfflineBackend) -> None:
    ev = session(["How does the agent decide which tool to call in this workflow?"],
                 [read("src/agent/loop.py"), read("src/agent/tools.py"), read("README.md")])
    (f,) = embedded.classify([ev])
    assert f.mode != "orchestrate"
    # ... while a CI workflow written in the session is orchestrate
    ev2 = session(["Run the tests on every push."], [write(".github/workflows/ci.yml", 80)])
    (f2,) = embedded.classify([ev2])
    assert f2.mode == "orchestrate"


def test_unsignalled_edits_of_existing_code_are_fix() -> None:
    """§2: fix "repairs or modifies existing code"; an edit with no request signal modifies existing code."""
    ev = session(["Next: the CSV export in the reports module."],
                 [read("src/app/export.py"), edit("src/app/export.py"), edit("src/app/views.py")])
    v = mode_votes(ev, extract(ev))
    assert v.get("fix", 0) > 0 and v.get("build", 0) == 0
    # a request for something new makes the same edits build (a feature added to an existing codebase)
    ev1 = session(["Add a CSV export to the reports module."],
                  [read("src/app/export.py"), edit("src/app/export.py"), edit("src/app/views.py")])
    v1 = mode_votes(ev1, extract(ev1))
    assert v1.get("build", 0) > v1.get("fix", 0)
    # a complaint makes the same edits repairs
    ev2 = session(["The export crashes with a KeyError, it doesn't work."],
                  [read("src/app/export.py"), edit("src/app/export.py"), edit("src/app/views.py")])
    v2 = mode_votes(ev2, extract(ev2))
    assert v2.get("fix", 0) > v2.get("build", 0)


def test_test_runs_while_writing_code_do_not_make_a_test_session(structural: OfflineBackend) -> None:
    acts = [write("src/parser.py", 400)] + [sh("pytest -q", is_test=True, test_status="pass") for _ in range(8)]
    (f,) = structural.classify([session(["Create a parser for the config format."], acts)])
    assert f.mode == "build"
    # a session whose product is tests stays test
    acts2 = [write("tests/test_parser.py", 400), write("tests/test_lexer.py", 300)] + [
        sh("pytest -q", is_test=True, test_status="pass") for _ in range(3)]
    (f2,) = structural.classify([session(["Add tests for the parser and the lexer."], acts2)])
    assert f2.mode == "test"


def test_installs_while_building_do_not_make_an_operate_session(structural: OfflineBackend) -> None:
    acts = [sh(f"npm install pkg{i}") for i in range(6)] + [write("src/App.tsx"), write("src/main.tsx")]
    (f,) = structural.classify([session(["Create a small React app for my recipes."], acts)])
    assert f.mode == "build"


def test_course_material_with_code_tokens_is_not_software_work(structural: OfflineBackend) -> None:
    """Prose products (lessons, documents) are not software work for its own sake, whatever their vocabulary."""
    prompt = ("Write the lesson notes for week 3 of my class: explain `print()`, `len()`, `range()`, `input()`, "
              "`str.split()`, `list.append()`, `dict.get()` and `for` loops, with exercises, in lesson3.md.")
    (f,) = structural.classify([session([prompt], [write("course/lesson3.md", 900)])])
    assert f.occupation != SOFTWARE_SOC
    # the same request producing a program is software work
    (f2,) = structural.classify([session([prompt], [write("course/lesson3.py", 300)])])
    assert f2.occupation == SOFTWARE_SOC


def test_weak_software_evidence_abstains(structural: OfflineBackend) -> None:
    # a file of unknown type and a single build command are no evidence of software work
    ev = session(["Please tidy up my notes file and check it still opens fine."],
                 [edit("notes.xyz"), sh("make")])
    (f,) = structural.classify([ev])
    assert f.occupation == NOT_INFERABLE
    # a changed source file is
    ev2 = session(["Please tidy up my notes script and check it still runs fine."],
                  [edit("notes.py"), sh("make")])
    (f2,) = structural.classify([ev2])
    assert f2.occupation == SOFTWARE_SOC


def test_a_language_the_embedder_cannot_read_is_classified_from_what_was_done(
    embedded: OfflineBackend, structural: OfflineBackend
) -> None:
    """USE-multilingual knows 16 languages, not Hindi: a Hindi request is mostly unknown tokens and its vector is
    noise that still lands next to some prototype (before: this test-writing session was called *write*). Such
    text is not embedded; the session is classified as without an embedder."""
    hi = "पार्सर मॉड्यूल के लिए यूनिट टेस्ट लिखो और एज केस कवर करो: खाली इनपुट, यूनिकोड और बहुत लंबी लाइनें।"
    acts = [read("src/parser.py"), write("tests/test_parser.py", 400), write("tests/test_parser_unicode.py", 200),
            sh("pytest tests", is_test=True, test_status="pass")]
    (f,) = embedded.classify([session([hi], acts)])
    (g,) = structural.classify([session([hi], acts)])
    assert f.mode == g.mode == "test"
    assert (f.occupation, f.expertise) == (g.occupation, g.expertise)
    from codecensus.classify.offline import EMB_MAX_UNKNOWN

    emb = embedded._emb
    assert emb is not None
    assert emb.unknown_share(hi) > EMB_MAX_UNKNOWN
    for text in ("Write unit tests for the parser module.", "为解析器模块编写单元测试。", "파서 모듈에 대한 단위 테스트를 작성해 줘.",
                 "اكتب اختبارات وحدة لوحدة المحلل.", "Напиши юнит-тесты для модуля парсера."):
        assert emb.unknown_share(text) <= EMB_MAX_UNKNOWN
