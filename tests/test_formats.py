"""Parsers of the other coding agents' formats, on hand-written fixtures (tests/fixtures/formats/)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from codecensus.ingest import ingest
from codecensus.measure import build_sessions
from codecensus.records import ParseResult
from codecensus.sources import base
from codecensus.sources.base import FileContext, file_id_for

FIX = Path(__file__).parent / "fixtures" / "formats"
CODEX_MODERN = FIX / "codex" / "rollout-2025-09-01T10-00-00-0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.jsonl"
CODEX_LEGACY = FIX / "codex" / "rollout-2025-05-02T09-00-00-5973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl"
GEMINI = FIX / "gemini_cli" / ".gemini" / "tmp" / "5f2b9c0e1d" / "chats" / "session-2025-10-01T10-00-ab12cd34.json"
AIDER = FIX / "aider" / ".aider.chat.history.md"
OH_V0 = FIX / "openhands" / "trajectory.json"
OH_EVAL = FIX / "openhands" / "eval" / "output.jsonl"
OH_V1 = FIX / "openhands_v1" / "7f3e9a1c2b4d4e5f8a9b0c1d2e3f4a5b"
SWE = FIX / "swe_agent" / "run1" / "trajs" / "marshmallow__marshmallow-42.traj"
SWE_FC = FIX / "swe_agent" / "function_calling.traj"
MINI_RUN = FIX / "mini_swe_agent" / "run"
MINI_SYMPY = MINI_RUN / "trajs" / "sympy__sympy-100" / "sympy__sympy-100.traj.json"
MINI_DJANGO = MINI_RUN / "trajs" / "django__django-200" / "django__django-200.traj.json"
MINI_FLAT = FIX / "mini_swe_agent" / "flat" / "astropy__astropy-7.traj.json"
TB_RUN = FIX / "terminal_bench" / "run-2025-08-07"
TB_MINI = TB_RUN / "hello-world@2025-08-07__20-46-16"
TB_NOSTART = TB_RUN / "fix-git.hard@2025-08-07__20-46-16"
TB_CODEX = FIX / "terminal_bench" / "usaco" / "usaco-101@2025-08-24__16-32-09"
STREAM = FIX / "claude_stream_json" / "run.jsonl"
CLINE = FIX / "cline" / "saoudrizwan.claude-dev" / "tasks" / "1733000000000"
ROO = FIX / "cline" / "rooveterinaryinc.roo-cline" / "tasks" / "1733100000000"
COPILOT = FIX / "copilot_cli" / "session-state" / "3c9e2a71-8b4d-4f6a-9e1c-5d7b2a0f4e68" / "events.jsonl"
PLATFORM = FIX / "claude_agent_platform" / "sess_demo" / "transcript.jsonl"
OTEL_EXPORT = FIX / "claude_otel" / "export.jsonl"
OTEL_WHOLE = FIX / "claude_otel" / "whole.json"
CURSOR_JSON = FIX / "cursor" / "state.vscdb.json"

CLAUDE_CODE_LINES = [
    {
        "type": "user",
        "uuid": "u1",
        "parentUuid": None,
        "sessionId": "11111111-2222-3333-4444-555555555555",
        "cwd": "/home/u/app",
        "version": "2.1.3",
        "isSidechain": False,
        "userType": "external",
        "timestamp": "2026-01-10T07:31:05.248Z",
        "message": {"role": "user", "content": "let's get the CI tests passing"},
    },
    {
        "type": "assistant",
        "uuid": "a1",
        "parentUuid": "u1",
        "sessionId": "11111111-2222-3333-4444-555555555555",
        "requestId": "req_1",
        "timestamp": "2026-01-10T07:31:06.000Z",
        "message": {"id": "msg_1", "model": "claude-sonnet-4-5", "content": [{"type": "text", "text": "ok"}], "usage": {}},
    },
]


def make_cursor_db(dest_dir: Path) -> Path:
    """Build a Cursor ``state.vscdb`` from the JSON description of its tables."""
    spec = json.loads(CURSOR_JSON.read_text())
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / "state.vscdb"
    con = sqlite3.connect(path)
    for table, rows in spec.items():
        con.execute(f"CREATE TABLE {table} (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)")
        con.executemany(f"INSERT INTO {table} VALUES (?, ?)", [(r["key"], r["value"]) for r in rows])
    con.commit()
    con.close()
    return path


def parse(path: Path, expect: str) -> ParseResult:
    parser = base.detect(path)
    assert parser is not None and parser.name == expect, f"{path}: detected {parser and parser.name}"
    return parser.parse(FileContext(path=path, file_id=file_id_for(path, parser.name), user="alice"))


def one_session(res: ParseResult) -> str:
    assert len(res.sessions) == 1
    return res.sessions[0].session_key


def usage_sum(res: ParseResult) -> tuple[int, int, int, int]:
    m = res.messages
    return (
        sum(x.input_tokens for x in m),
        sum(x.output_tokens for x in m),
        sum(x.cache_read_tokens for x in m),
        sum(x.cache_creation_tokens for x in m),
    )


def kinds(res: ParseResult) -> list[str]:
    return [e.kind for e in res.events]


# -- per format ------------------------------------------------------------------------------------
def test_codex_modern_rollout() -> None:
    res = parse(CODEX_MODERN, "codex")
    assert one_session(res) == "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
    info = res.sessions[0]
    assert (info.version, info.project_key, info.entrypoint) == ("0.40.0", "/home/dev/calc", "codex_cli_rs")
    # Only the typed prompts: not the <environment_context> item, not the response_item copy.
    assert [p.text for p in res.prompts] == ["fix the failing division test", "commit it"]
    # Cumulative token counts differenced; the repeated total adds nothing; input excludes cached.
    assert usage_sum(res) == (1300, 120, 1200, 0)
    assert {m.model for m in res.messages if m.block == "usage"} == {"gpt-5-codex"}
    # One visible reply (the event_msg.agent_message copy is not counted twice).
    assert [m.visible_words for m in res.messages if m.block == "text"] == [12]
    tools = {a.tool_use_id: a for a in res.actions}
    assert tools["call_1"].command == "pytest -q" and tools["call_1"].is_test
    assert tools["call_2"].category == "edit" and tools["call_2"].file_path == "src/calc.py"
    assert tools["call_3"].is_commit and tools["call_3"].category == "shell"
    results = {r.tool_use_id: r for r in res.results}
    assert (results["call_1"].exit_code, results["call_1"].is_error, results["call_1"].test_status) == (1, True, "fail")
    assert (results["call_3"].exit_code, results["call_3"].is_error) == (0, False)
    assert kinds(res).count("interrupt") == 1
    assert kinds(res).count("compaction") == 1  # compacted + context_compacted = one compaction
    assert [e.value for e in res.events if e.kind == "turn_duration"] == [42000.0]
    assert [(b.line, b.kind) for b in res.bad] == [(16, "bad_json"), (24, "unknown_type")]


def test_codex_detected_when_the_first_line_exceeds_the_head(tmp_path: Path) -> None:
    f = tmp_path / "session.jsonl"
    meta = {"timestamp": "2025-09-01T10:00:00Z", "type": "session_meta", "payload": {"id": "x1", "base_instructions": {"text": "y" * 100_000}}}
    f.write_text(json.dumps(meta) + "\n")
    assert base.detect(f).name == "codex"  # type: ignore[union-attr]
    assert one_session(parse(f, "codex")) == "x1"


def test_codex_legacy_rollout() -> None:
    res = parse(CODEX_LEGACY, "codex")
    assert one_session(res) == "5973b6c0-94b8-487b-a530-2aeb6098ae0e"
    assert [p.text for p in res.prompts] == ["add a README for the project"]
    assert [(a.category, a.command, a.file_path) for a in res.actions] == [("shell", "ls", None), ("write", None, "README.md")]
    assert [r.exit_code for r in res.results] == [0, 0]
    assert res.sessions[0].first_ts is not None


def test_gemini_cli_session() -> None:
    res = parse(GEMINI, "gemini_cli")
    assert one_session(res) == "a1b2c3d4-0000-4000-8000-000000000001"
    assert [p.text for p in res.prompts] == [
        "Add input validation to the signup form and run the tests",
        "also write a changelog entry",
    ]
    # input includes cached → uncached + cache reads; thoughts billed as output.
    assert usage_sum(res) == (3000, 260, 8000, 0)
    cats = [(a.tool, a.category) for a in res.actions]
    assert cats == [("read_file", "read"), ("replace", "edit"), ("run_shell_command", "shell"), ("write_file", "write")]
    shell = next(r for r in res.results if r.tool_use_id == "run_shell_command-3")
    assert (shell.exit_code, shell.is_error, shell.test_status) == (1, True, "fail")
    cancelled = next(r for r in res.results if r.tool_use_id == "write_file-4")
    assert cancelled.rejected and cancelled.is_error
    assert sorted(kinds(res)) == ["api_error", "command", "interrupt"]
    assert {b.kind for b in res.bad} == {"bad_record", "unknown_type"}


def test_aider_fenced_words_of_a_reply_without_an_applied_edit_stay_its_words(tmp_path: Path) -> None:
    """A reply's fenced blocks went to the next ``Applied edit`` action's input words; a reply followed by none (an
    answer with code, a suggested command, edits aider could not apply) lost them: neither visible nor output."""
    fence = "```"
    hist = tmp_path / ".aider.chat.history.md"
    hist.write_text(
        "\n# aider chat started at 2025-05-04 17:02:36\n\n"
        "#### how do I list files\n\n"
        f"Run this:\n\n{fence}bash\nls -la\n{fence}\n\n"  # 2 prose + 4 fenced words, no edit
        "> Tokens: 1.0k sent, 20 received.\n\n"
        "#### add a comment\n\n"
        f"Here:\n\napp.py\n{fence}python\n<<<<<<< SEARCH\nx = 1\n=======\nx = 1  # one\n>>>>>>> REPLACE\n{fence}\n\n"
        "> Tokens: 1.0k sent, 30 received.\n> Applied edit to app.py\n"
    )
    res = parse(hist, "aider")
    assert [m.visible_words for m in res.messages if m.block != "usage"] == [2 + 4, 2]
    assert [(a.tool, a.input_words) for a in res.actions] == [("apply_edit", 15)]


def test_aider_history_runs_prompts_usage_and_actions() -> None:
    res = parse(AIDER, "aider")
    assert len(res.sessions) == 2  # one per "# aider chat started at"
    s1, s2 = (s.session_key for s in res.sessions)
    p1 = [p.text for p in res.prompts if p.session_key == s1]
    assert p1 == ["add a subtract button to the calculator", "make the buttons red"]  # /code carries a prompt
    p2 = [p.text for p in res.prompts if p.session_key == s2]
    assert p2 == ["explain what the app does\nin two sentences", "now add multiplication"]
    # Per-prompt timestamps from .aider.input.history.
    assert res.prompts[0].ts == 1746378181123
    m1 = [m for m in res.messages if m.session_key == s1]
    assert [(m.input_tokens, m.output_tokens, m.cache_read_tokens, m.cache_creation_tokens) for m in m1] == [
        (3200, 222, 0, 0),
        (1000, 100, 2000, 1000),
    ]
    assert [m.cost_usd for m in m1] == [0.01, 0.002]
    assert m1[0].model == "anthropic/claude-3-5-sonnet-20241022"
    # Edit blocks are not visible prose: they become the edit action's input words.
    assert m1[0].visible_words == 11
    acts = [(a.tool, a.category, a.file_path, a.is_commit, a.is_test) for a in res.actions]
    assert acts == [
        ("apply_edit", "edit", "src/App.js", False, False),
        ("git_commit", "shell", None, True, False),
        ("apply_edit", "edit", "src/styles.css", False, False),
        ("run", "shell", None, False, True),  # /run npm test, its "> Running" echo not counted twice
    ]
    assert res.actions[0].input_words > 0
    assert sorted(kinds(res)) == ["api_error", "command", "command", "interrupt"]  # one API error, not two lines


def test_openhands_v0_trajectory() -> None:
    res = parse(OH_V0, "openhands")
    one_session(res)
    assert [p.text for p in res.prompts] == ["Create hello.py that prints hello, then test it", "fine, just finish"]
    assert [(a.category, a.command, a.file_path) for a in res.actions] == [
        ("shell", "ls", None),
        ("write", None, "/workspace/hello.py"),
        ("shell", "python -m pytest -q", None),
        ("finish", None, None),
    ]
    by_id = {r.tool_use_id: r for r in res.results}
    assert by_id["oh:6"].exit_code == 1 and by_id["oh:6"].test_status == "fail" and by_id["oh:6"].is_error
    assert by_id["oh:4"].file_op == "create"
    # Usage per LLM response, prompt tokens split into uncached input and cache reads/writes.
    assert usage_sum(res) == (50 + 50 + 150 + 1700, 140, 3500, 450)
    assert kinds(res) == ["interrupt"]
    assert [b.kind for b in res.bad] == ["bad_record"]


def test_openhands_v0_action_input_is_the_models_arguments(tmp_path: Path) -> None:
    """An edit's ``args`` hold OpenHands' rewrite of the call (``translated_ipython_code``, a ``file_editor(...)`` line):
    its words are not the model's (taxonomy §1). The input is the call's ``function.arguments`` in
    ``tool_call_metadata`` (matched by ``tool_call_id``); without them, the ``args`` as before."""
    model_args = {"command": "create", "path": "/w/a.py", "file_text": "print(1)\nprint(2)"}  # 4 words
    rewrite = "print(file_editor(**{'command': 'create', 'path': '/w/a.py', 'file_text': 'print(1)\\nprint(2)'}))"
    other_call = {"id": "call_0", "function": {"name": "execute_bash", "arguments": '{"command": "rm -rf /tmp/x y z"}'}}
    events = [
        {"id": 1, "source": "user", "action": "message", "args": {"content": "make a.py"}},
        {
            "id": 2, "source": "agent", "action": "edit",
            "args": {"path": "/w/a.py", "content": "", "start": 1, "end": -1, "thought": "I create it",
                     "impl_source": "oh_aci", "translated_ipython_code": rewrite},
            "tool_call_metadata": {
                "function_name": "str_replace_editor", "tool_call_id": "call_1",
                "model_response": {"id": "r1", "model": "m", "choices": [{"message": {"content": "", "tool_calls": [
                    other_call,
                    {"id": "call_1", "type": "function",
                     "function": {"name": "str_replace_editor", "arguments": json.dumps(model_args)}},
                ]}}]},
            },
        },
        # no metadata: the args but the fields OpenHands sets itself
        {"id": 3, "source": "agent", "action": "run",
         "args": {"command": "ls -la", "blocking": False, "is_input": False, "thought": "", "hidden": False}},
        # arguments that are no JSON object: their words
        {"id": 4, "source": "agent", "action": "run", "args": {"command": "pwd", "translated_ipython_code": "a b c"},
         "tool_call_metadata": {"function_name": "execute_bash", "tool_call_id": "c4", "model_response": {
             "id": "r2", "choices": [{"message": {"tool_calls": [{"id": "c4", "function": {"arguments": "pwd now"}}]}}]}}},
    ]
    path = tmp_path / "trajectory.json"
    path.write_text(json.dumps(events), encoding="utf-8")
    res = parse(path, "openhands")
    assert [(a.tool, a.category, a.file_path, a.input_words) for a in res.actions] == [
        ("str_replace_editor", "write", "/w/a.py", 4),  # was 7 (the path and the rewrite); a create: "edit" before
        ("run", "shell", None, 2),
        ("execute_bash", "shell", None, 2),  # was 4 (the command and the rewrite)
    ]


def test_openhands_eval_rows_and_outcomes() -> None:
    res = parse(OH_EVAL, "openhands")
    assert len(res.sessions) == 2
    assert [p.text for p in res.prompts] == ["Fix the bug in QuerySet.count", "Make Table.read accept pathlib paths"]
    truth = {e.session_key.split(":")[1]: e.detail for e in res.events if e.kind == "outcome_truth"}
    assert truth == {"django__django-1": "resolved", "astropy__astropy-1": "unresolved"}  # inline / logs/<id>/report.json
    summary = next(m for m in res.messages if m.msg_id == "openhands-metrics" and m.cost_usd == 0.25)
    assert (summary.input_tokens, summary.cache_read_tokens, summary.cache_creation_tokens) == (2000, 6000, 1000)
    assert [b.kind for b in res.bad] == ["bad_json"]


def test_openhands_v1_conversation_folder() -> None:
    res = parse(OH_V1, "openhands_v1")
    assert one_session(res) == "7f3e9a1c-2b4d-4e5f-8a9b-0c1d2e3f4a5b"
    assert res.sessions[0].project_key == "/home/dev/api"
    assert [p.text for p in res.prompts] == ["Add a /health endpoint and test it"]
    assert [(a.category, a.file_path, a.command) for a in res.actions] == [
        ("read", "/home/dev/api/routes.py", None),
        ("shell", None, "pytest tests/test_health.py"),
        ("shell", None, "rm -rf /tmp/cache"),
    ]
    rej = next(r for r in res.results if r.tool_use_id == "toolu_C")
    assert rej.rejected
    assert next(r for r in res.results if r.tool_use_id == "toolu_B").test_status == "pass"
    assert usage_sum(res) == (1500, 700, 6000, 1500)  # per response id from base_state token_usages
    assert sum(m.cost_usd or 0 for m in res.messages) == pytest.approx(0.0421)
    assert "interrupt" in kinds(res)
    assert [b.kind for b in res.bad] == ["bad_json"]  # the truncated event file


def test_swe_agent_traj() -> None:
    res = parse(SWE, "swe_agent")
    one_session(res)
    assert len(res.prompts) == 1 and res.prompts[0].text.startswith("We're currently solving")  # not the demo
    got = [(a.tool, a.category, a.file_path) for a in res.actions]
    assert got == [
        ("find_file", "search", None),
        ("open", "read", "src/marshmallow/fields.py"),
        ("edit", "edit", "src/marshmallow/fields.py"),  # edits the file last opened
        ("create", "write", "reproduce.py"),
        ("bash", "shell", None),
        ("str_replace_editor", "read", "/repo/tests/test_fields.py"),
        ("submit", "finish", None),
    ]
    assert res.actions[4].is_test and res.results[4].test_status == "fail"
    stats = next(m for m in res.messages if m.block == "usage")
    assert (stats.input_tokens, stats.output_tokens, stats.cost_usd, stats.model) == (52861, 326, 0.53, "gpt-4o-2024-08-06")
    truth = [e.detail for e in res.events if e.kind == "outcome_truth"]
    assert truth == ["resolved"]  # run1/logs/<instance>/report.json


def test_swe_agent_function_calling_history_only() -> None:
    res = parse(SWE_FC, "swe_agent")
    assert [(a.category, a.file_path) for a in res.actions] == [
        ("read", "/testbed/sum.py"),
        ("edit", "/testbed/sum.py"),
        ("shell", None),
    ]
    assert res.results[-1].test_status == "pass"
    assert "off-by-one" in res.prompts[0].text


def test_mini_swe_agent_trajectories_and_outcomes() -> None:
    res = parse(MINI_SYMPY, "mini_swe_agent")
    assert one_session(res).startswith("mini_swe_agent:sympy__sympy-100:")
    assert len(res.prompts) == 1 and "<pr_description>" in res.prompts[0].text
    assert res.prompts[0].ts == res.sessions[0].first_ts
    assert [a.command for a in res.actions] == [
        'grep -n "def as_coeff_add" sympy/core/add.py',
        "cd /testbed && python -m pytest sympy/core/tests/test_arit.py -q",
        "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached",
    ]
    assert [(r.exit_code, r.is_error, r.test_status) for r in res.results] == [(0, False, None), (1, True, "fail"), (None, True, None)]
    assert usage_sum(res) == (2000 + 1500 + 600, 200, 1500 + 2900, 0)
    assert sum(m.cost_usd or 0 for m in res.messages) == pytest.approx(0.0123)
    # Visible words exclude the bash block.
    assert res.messages[0].visible_words == 7
    assert [e.detail for e in res.events if e.kind == "outcome_truth"] == ["unresolved"]  # logs/<id>/report.json

    dj = parse(MINI_DJANGO, "mini_swe_agent")
    assert [e.detail for e in dj.events if e.kind == "outcome_truth"] == ["resolved"]  # results_summary.csv
    assert next(m for m in dj.messages if m.block == "usage").cost_usd == 0.5  # instance_cost when no usage

    flat = parse(MINI_FLAT, "mini_swe_agent")
    assert [e.detail for e in flat.events if e.kind == "outcome_truth"] == ["unresolved"]  # report.json beside
    assert [b.kind for b in flat.bad] == ["bad_record"]


def test_mini_swe_agent_action_is_the_one_bash_block_it_ran(tmp_path: Path) -> None:
    """mini-swe-agent runs a reply's command only when its ``action_regex`` (```bash\\s*\\n(.*?)\\n```) finds exactly
    one block; otherwise it answers with its format error. The parser took any fence (``` or ```sh) and the first of
    several: a python block before the command made the closing fence of the python block the 'command' (its prose
    was dropped from the visible words), and a reply with two bash blocks, which ran nothing, counted as an action."""
    fence = "```"
    replies = [
        # 1: a python snippet, then the command: the action is the bash block, the snippet is reply text
        f"THOUGHT: the fix is\n{fence}python\nx = 1\n{fence}\nso I apply it now\n\n{fence}bash\nsed -i s/a/b/ f.py\n{fence}",
        # 2: two bash blocks: a format error, nothing ran
        f"THOUGHT: two steps\n{fence}bash\nls\n{fence}\n{fence}bash\npwd\n{fence}",
        # 3: a plain fence is not a bash block: nothing ran
        f"THOUGHT: plain\n{fence}\nls -la\n{fence}",
        f"THOUGHT: done\n\n{fence}bash\necho COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n{fence}",
    ]
    messages: list[dict[str, str]] = [{"role": "system", "content": "sys"}, {"role": "user", "content": "<pr_description>fix</pr_description>"}]
    for i, r in enumerate(replies):
        messages.append({"role": "assistant", "content": r})
        if i < len(replies) - 1:
            ran = i == 0
            messages.append({"role": "user", "content": "<returncode>0</returncode>\n<output>\n</output>" if ran else "Please always provide EXACTLY ONE action in triple backticks."})
    p = tmp_path / "x__x-1.traj.json"
    p.write_text(json.dumps({"trajectory_format": "mini-swe-agent-1", "instance_id": "x__x-1", "info": {}, "messages": messages}))
    res = parse(p, "mini_swe_agent")
    assert [a.command for a in res.actions] == ["sed -i s/a/b/ f.py", "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]
    assert [m.visible_words for m in res.messages] == [14, 9, 6, 2]  # fence markers are words of the reply
    assert sum(a.input_words for a in res.actions) == 4 + 2
    assert len(res.results) == 1 and res.results[0].tool_use_id == res.actions[0].tool_use_id  # the format error is no result


def test_mini_swe_agent_runs_no_pathological_action_regex_from_the_file(tmp_path: Path) -> None:
    """The run's own ``action_regex`` (info.config.agent) is read from the transcript: a file is input, and a pattern
    with a nested quantifier over a long reply would backtrack for ever (``(a+)+$`` against 5,000 a's then a b). Such
    a pattern, an over-long one or one that does not compile gives way to mini-swe-agent's default."""
    import signal

    from codecensus.sources.mini_swe_agent import ACTION_REGEX, _action_regex

    for bad in ("(a+)+$", r"(\w*)*x", "(x|y+){2,}", "(", "a" * 400):
        assert _action_regex(bad).pattern == ACTION_REGEX, bad
    own = r"```(?:bash|sh)\s*\n(.*?)\n```"
    assert _action_regex(own).pattern == own
    fence = "```"
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "<pr_description>fix</pr_description>"},
                {"role": "assistant", "content": "a" * 5000 + f"b\n{fence}bash\nls\n{fence}"}]
    p = tmp_path / "x__x-2.traj.json"
    p.write_text(json.dumps({"trajectory_format": "mini-swe-agent-1", "instance_id": "x__x-2",
                             "info": {"config": {"agent": {"action_regex": "(a+)+$"}}}, "messages": messages}))

    def hung(*_: object) -> None:
        raise TimeoutError("the parser ran the file's action_regex")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        res = parse(p, "mini_swe_agent")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert [a.command for a in res.actions] == ["ls"]


def test_terminal_bench_trials() -> None:
    mini = parse(TB_MINI, "terminal_bench")
    one_session(mini)
    info = mini.sessions[0]
    assert (info.entrypoint, info.version) == ("mini-swe-agent", "1.7.0")
    assert len(mini.prompts) == 1 and "Create hello.txt" in mini.prompts[0].text
    assert [a.command for a in mini.actions] == [
        'echo "Hello, world!" > hello.txt',
        "cat hello.txt",
        "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT",
    ]
    assert [r.exit_code for r in mini.results] == [0, 0]
    # Log lines printed while a command ran are not part of the reply.
    assert mini.messages[0].visible_words == 8
    assert mini.messages[0].model == "anthropic/claude-sonnet-4-20250514"  # from the agent command line
    assert next(m for m in mini.messages if m.block == "usage").cost_usd == 0.035  # last step's $
    assert [e.detail for e in mini.events if e.kind == "outcome_truth"] == ["resolved"]
    assert info.first_ts is not None and info.last_ts is not None and info.last_ts > info.first_ts

    nostart = parse(TB_NOSTART, "terminal_bench")
    assert [p.text for p in nostart.prompts] == ["Recover the lost commit in /app/repo and merge it into master."]
    assert ("run_status", "agent_not_started") in [(e.kind, e.detail) for e in nostart.events]
    assert [e.detail for e in nostart.events if e.kind == "outcome_truth"] == ["unresolved"]  # run results.json
    assert nostart.sessions[0].first_ts is not None  # from the folder's @timestamp

    codex = parse(TB_CODEX, "terminal_bench")
    assert codex.sessions[0].entrypoint == "codex"
    assert [p.text for p in codex.prompts] == ["Solve USACO problem 101: read input.txt and print the sum."]
    assert [(a.category, a.file_path, a.command) for a in codex.actions] == [
        ("write", "solution.py", None),
        ("shell", None, "python solution.py < input.txt"),
    ]
    assert [(r.exit_code, r.is_error) for r in codex.results] == [(0, False), (1, True)]
    assert usage_sum(codex)[0] == 2345 + 1200
    assert {m.model for m in codex.messages} == {"o4-mini"}
    assert not [e for e in codex.events if e.kind == "outcome_truth"]


def test_terminal_bench_mini_action_is_the_one_bash_block_it_ran(tmp_path: Path) -> None:
    """agent.log prints mini-swe-agent's replies: as in its trajectory file, a step is an action only when it holds
    exactly one ```bash block. The parser took the first fence of any kind (a python block before the command made
    the prose between the fences the 'command') and cut the step at that fence, so a reply with two bash blocks
    (a format error, nothing ran) counted as an action. Log lines printed while a command ran still follow the
    block and are not the reply's words."""
    fence = "```"
    junk = "12:00:01 - LiteLLM:WARNING: utils.py:1 - could not find cost for model"
    ok = "<returncode>0</returncode>\n<output>\n</output>"
    fmt_err = "Please always provide EXACTLY ONE action in triple backticks, found 2 actions."
    steps = [
        # a python snippet, then the command: the action is the bash block, the snippet is reply text
        (f"THOUGHT: the fix is\n{fence}python\nx = 1\n{fence}\nso I apply it now\n\n{fence}bash\nsed -i s/a/b/ f.py\n{fence}\n{junk}", ok),
        # two bash blocks: a format error, nothing ran
        (f"THOUGHT: two steps\n{fence}bash\nls\n{fence}\n{fence}bash\npwd\n{fence}\n{junk}", fmt_err),
        # a plain fence is not a bash block: nothing ran
        (f"THOUGHT: plain\n{fence}\nls -la\n{fence}", "Please always provide EXACTLY ONE action in triple backticks, found 0 actions."),
        (f"THOUGHT: done\n\n{fence}bash\necho COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n{fence}\n\nSaved trajectory to 'x.json'", None),
    ]
    log = ["root@x:/app# mini -m m -t 'fix it' -y", "\U0001f44b This is mini-swe-agent version 1.7.0.", "System:", "sys", "User:", "fix it please"]
    for i, (reply, user) in enumerate(steps, start=1):
        log += ["\u2500" * 40, f"mini-swe-agent (step {i}, ${i / 100}):", "", reply, ""]
        if user is not None:
            log += ["User:", user]
    trial = tmp_path / "x@2025-08-07__20-46-16"
    trial.mkdir()
    (trial / "agent.log").write_text("\n".join(log) + "\n")
    (trial / "commands.txt").write_text("['mini -m m -t fix -y', 'Enter']\n")
    res = parse(trial, "terminal_bench")
    assert [a.command for a in res.actions] == ["sed -i s/a/b/ f.py", "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]
    assert [m.visible_words for m in res.messages if m.block != "usage"] == [14, 9, 6, 2]  # fence markers are words
    assert len(res.results) == 1 and res.results[0].tool_use_id == res.actions[0].tool_use_id  # the format error is no result
    assert ("run_status", "Submitted") in [(e.kind, e.detail) for e in res.events]


def test_claude_stream_json() -> None:
    res = parse(STREAM, "claude_stream_json")
    assert one_session(res) == "9d2f6a1e-5b3c-4d7e-8f90-a1b2c3d4e5f6"
    assert (res.sessions[0].version, res.sessions[0].project_key) == ("2.1.71", "/home/ci/repo")
    assert res.prompts == []  # claude -p does not echo its prompt; the subagent's task is not a human prompt
    main_actions = [a for a in res.actions if not a.is_subagent]
    assert [(a.tool, a.category) for a in main_actions] == [("Bash", "shell"), ("Task", "agent")]
    assert [a.tool for a in res.actions if a.is_subagent] == ["Read"]
    bash = next(r for r in res.results if r.tool_use_id == "toolu_01")
    assert bash.is_error and bash.test_status == "fail"
    # The result's total cost is recorded once; the messages record 0 so nothing is priced twice.
    costs = [m.cost_usd for m in res.messages]
    assert sum(c or 0 for c in costs) == pytest.approx(0.1234) and all(c is not None for c in costs)
    assert [e.value for e in res.events if e.kind == "turn_duration"] == [31500.0]


def test_cline_ui_messages_and_api_history() -> None:
    res = parse(CLINE, "cline")
    one_session(res)
    assert res.sessions[0].project_key == "/Users/dev/site"
    assert res.sessions[0].entrypoint == "cline"
    assert [p.text for p in res.prompts] == ["Add a dark mode toggle", "the toggle should be in the header"]
    assert [(a.tool, a.category, a.file_path) for a in res.actions] == [
        ("read_file", "read", "styles.css"),
        ("replace_in_file", "edit", "styles.css"),
        ("write_to_file", "write", "toggle.js"),  # the partial placeholder is skipped
        ("execute_command", "shell", None),
        ("mcp__github__create_issue", "mcp", None),
    ]
    assert res.actions[3].command == "npm test" and res.actions[3].is_test
    assert next(r for r in res.results if r.tool_use_id == res.actions[3].tool_use_id).test_status == "fail"
    assert usage_sum(res) == (12008, 560, 22500, 11500)
    assert sum(m.cost_usd or 0 for m in res.messages) == pytest.approx(0.059)
    assert {m.model for m in res.messages} == {"claude-sonnet-4-20250514"}
    assert sorted(kinds(res)) == ["api_error", "compaction", "interrupt"]
    assert [b.detail for b in res.bad] == ["say.some_future_kind"]

    roo = parse(ROO, "cline")
    assert roo.sessions[0].entrypoint == "roo"
    assert [p.text for p in roo.prompts] == ["Rename getUser to fetchUser everywhere", "also update the tests"]
    assert [(a.tool, a.category) for a in roo.actions] == [
        ("search_files", "search"),
        ("apply_diff", "edit"),
        ("execute_command", "shell"),
    ]
    assert roo.results[0].test_status == "pass"


def test_copilot_cli_events() -> None:
    res = parse(COPILOT, "copilot_cli")
    assert one_session(res) == "3c9e2a71-8b4d-4f6a-9e1c-5d7b2a0f4e68"
    assert res.sessions[0].project_key == "/home/dev/cli-tool"
    assert [p.text for p in res.prompts] == ["the --verbose flag is ignored, fix it", "ok now commit"]
    # report_intent is not work; toolRequests and execution_start of one call count once.
    assert [(a.tool, a.category) for a in res.actions] == [
        ("view", "read"),
        ("edit", "edit"),
        ("bash", "shell"),
        ("mcp__github__search_issues", "mcp"),
    ]
    r = {x.tool_use_id: x for x in res.results}
    assert r["call_3"].is_error and r["call_3"].test_status == "fail"
    assert r["call_4"].rejected
    assert usage_sum(res) == (3500, 450, 15000, 500)
    assert sorted(kinds(res)) == ["api_error", "compaction", "interrupt"]
    assert {b.kind for b in res.bad} == {"bad_json", "unknown_type"}


def test_claude_agent_platform_transcript() -> None:
    res = parse(PLATFORM, "claude_agent_platform")
    one_session(res)
    assert [p.text for p in res.prompts] == ["Write a CLI that converts CSV to JSON with tests", "handle quoted commas too"]
    assert [(a.tool, a.category) for a in res.actions] == [("write", "write"), ("bash", "shell")]
    assert res.results[1].is_error and res.results[1].test_status == "fail"
    assert usage_sum(res) == (4, 300, 12000, 12400)
    assert kinds(res).count("api_error") == 1 and "interrupt" in kinds(res)
    # The last outcome evaluation decides.
    assert [e.detail for e in res.events if e.kind == "outcome_truth"] == ["resolved"]


def test_cursor_state_vscdb(tmp_path: Path) -> None:
    db = make_cursor_db(tmp_path / "Cursor" / "User" / "globalStorage")
    res = parse(db, "cursor")
    assert [s.session_key for s in res.sessions] == [
        "c8d2f3e4-5a6b-4c7d-9e8f-0a1b2c3d4e5f",  # ordered by createdAt
        "b7c1e2d3-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
    ]
    assert [p.text for p in res.prompts] == [
        "explain this regex",
        "after login users land on /404, fix the redirect",
        "don't run the full suite, just commit",
    ]
    assert [(a.tool, a.category, a.file_path) for a in res.actions] == [
        ("grep_search", "search", None),
        ("edit_file", "edit", "src/auth/login.ts"),
        ("run_terminal_cmd", "shell", None),
        ("run_terminal_cmd", "shell", None),
    ]
    tc = {r.tool_use_id: r for r in res.results}
    assert (tc["tc3"].exit_code, tc["tc3"].test_status) == (1, "fail")
    assert tc["tc4"].rejected and res.actions[3].is_commit
    assert usage_sum(res) == (9200, 130, 0, 0)
    assert [b.kind for b in res.bad] == ["bad_json"]


def test_cursor_workspace_db_without_conversations(tmp_path: Path) -> None:
    path = tmp_path / "state.vscdb"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)")
    con.commit()
    con.close()
    res = parse(path, "cursor")
    assert res.sessions == [] and res.bad == []


def test_otel_export_lines_and_whole_file() -> None:
    res = parse(OTEL_EXPORT, "claude_otel")
    assert one_session(res) == "otel:5e7a1c2d-3b4f-4a6e-9d8c-7b6a5f4e3d2c"
    info = res.sessions[0]
    assert info.session_id == "5e7a1c2d-3b4f-4a6e-9d8c-7b6a5f4e3d2c"  # the raw session.id
    assert info.user_key == "0a1b2c3d-aaaa-4bbb-8ccc-ddddeeeeffff" and info.version == "2.1.76"
    # Prompt text withheld by default: counted with its length.
    first = res.prompts[0]
    assert (first.text, first.chars, first.words) == ("", 34, 0)
    assert all(p.uuid and p.uuid.startswith("otel:") for p in res.prompts)
    reject = next(r for r in res.results if r.tool_use_id == "toolu_4")
    assert reject.rejected and reject.is_error
    assert ("command", "/compact") in [(e.kind, e.detail) for e in res.events]
    assert [e.value for e in res.events if e.kind == "turn_duration"] == [12500.0, 30000.0]  # active time (delta)
    assert {b.kind for b in res.bad} == {"unknown_type", "bad_json"}

    whole = parse(OTEL_WHOLE, "claude_otel")
    assert one_session(whole) == "otel:6f8b2d3e-4c5a-4b7f-8e9d-0c1b2a3f4e5d"
    assert len(whole.prompts) == 1 and whole.messages[0].cost_usd == 0.001
    assert whole.bad == []


def test_otel_append_only_resume(tmp_path: Path) -> None:
    """A spool file read in two steps gives the same rows as one full read."""
    lines = OTEL_EXPORT.read_bytes().splitlines(keepends=True)[:2]
    path = tmp_path / "logs-2026-02-01.jsonl"
    path.write_bytes(lines[0])
    parser = base.get("claude_otel")
    ctx = FileContext(path=path, file_id="f", user=None)
    r1 = parser.parse(ctx)
    assert r1.lines == 1 and r1.consumed == len(lines[0])
    with open(path, "ab") as fh:
        fh.write(lines[1])
    r2 = parser.parse(FileContext(path=path, file_id="f", start_offset=r1.consumed, start_line=r1.lines))
    full = parser.parse(FileContext(path=path, file_id="f"))
    assert len(r1.prompts) + len(r2.prompts) == len(full.prompts) == 2
    assert len(r1.actions) + len(r2.actions) == len(full.actions) == 5
    assert [a.line for a in r2.actions] == [2, 2, 2]


# -- detection ------------------------------------------------------------------------------------
ALL_FIXTURES = [
    (CODEX_MODERN, "codex"),
    (CODEX_LEGACY, "codex"),
    (GEMINI, "gemini_cli"),
    (AIDER, "aider"),
    (OH_V0, "openhands"),
    (OH_EVAL, "openhands"),
    (OH_V1, "openhands_v1"),
    (SWE, "swe_agent"),
    (SWE_FC, "swe_agent"),
    (MINI_SYMPY, "mini_swe_agent"),
    (MINI_DJANGO, "mini_swe_agent"),
    (MINI_FLAT, "mini_swe_agent"),
    (TB_MINI, "terminal_bench"),
    (TB_NOSTART, "terminal_bench"),
    (TB_CODEX, "terminal_bench"),
    (STREAM, "claude_stream_json"),
    (CLINE, "cline"),
    (ROO, "cline"),
    (COPILOT, "copilot_cli"),
    (PLATFORM, "claude_agent_platform"),
    (OTEL_EXPORT, "claude_otel"),
    (OTEL_WHOLE, "claude_otel"),
]


@pytest.mark.parametrize(("path", "fmt"), ALL_FIXTURES, ids=[f"{f}:{p.name}" for p, f in ALL_FIXTURES])
def test_detection_picks_the_right_parser(path: Path, fmt: str) -> None:
    parser = base.detect(path)
    assert parser is not None and parser.name == fmt


def test_side_files_are_not_sessions() -> None:
    for side in (
        FIX / "aider" / ".aider.input.history",
        MINI_RUN / "logs" / "sympy__sympy-100" / "report.json",
        MINI_RUN / "results_summary.csv",
        TB_RUN / "results.json",
        OH_V1 / "base_state.json",
        CLINE / "task_metadata.json",
        COPILOT.parent / "workspace.yaml",
    ):
        assert base.detect(side) is None, side


def test_claude_code_jsonl_is_not_stolen(tmp_path: Path) -> None:
    """Every new parser scores below Claude Code's own parser on Claude Code transcripts."""
    f = tmp_path / "11111111-2222-3333-4444-555555555555.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in CLAUDE_CODE_LINES) + "\n")
    head = base.read_head(f)
    assert base.detect(f).name == "claude_code"  # type: ignore[union-attr]
    cc = base.get("claude_code").detect(f, head)
    for name, p in base.parsers().items():
        if name != "claude_code" and not p.folder:
            assert p.detect(f, head) < cc, name


# -- tolerance --------------------------------------------------------------------------------------
def _mutations(data: bytes) -> list[bytes]:
    n = len(data)
    cuts = [data[: max(1, n * k // 7)] for k in range(1, 7)]
    return [
        *cuts,
        b"",
        b"\x00\xff\xfe garbage \n{[",
        data.replace(b'"', b"'", 3),
        data.replace(b"{", b"[", 5),
        data[: n // 2] + b"\n" + data[n // 2 + 3 :],
    ]


FILE_FIXTURES = [(p, f) for p, f in ALL_FIXTURES if p.is_file()]


@pytest.mark.parametrize(("path", "fmt"), FILE_FIXTURES, ids=[f"{f}:{p.name}" for p, f in FILE_FIXTURES])
def test_parsers_never_raise_on_damaged_files(tmp_path: Path, path: Path, fmt: str) -> None:
    parser = base.get(fmt)
    for i, blob in enumerate(_mutations(path.read_bytes())):
        f = tmp_path / f"m{i}" / path.name
        f.parent.mkdir()
        f.write_bytes(blob)
        res = parser.parse(FileContext(path=f, file_id=f"m{i}"))
        res.tables()  # rows convert to Arrow: types are right


@pytest.mark.parametrize("fmt", ["openhands_v1", "terminal_bench", "cline"])
def test_folder_parsers_never_raise_on_damaged_folders(tmp_path: Path, fmt: str) -> None:
    src = {"openhands_v1": OH_V1, "terminal_bench": TB_MINI, "cline": CLINE}[fmt]
    parser = base.get(fmt)
    for i in range(4):
        d = tmp_path / f"d{i}" / src.name
        shutil.copytree(src, d)
        for f in sorted(p for p in d.rglob("*") if p.is_file()):
            data = f.read_bytes()
            f.write_bytes([data[: len(data) // 3], b"", b"\xff\xfe{", data[::-1]][i])
        res = parser.parse(FileContext(path=d, file_id=f"d{i}"))
        res.tables()


def test_cursor_never_raises_on_a_damaged_database(tmp_path: Path) -> None:
    good = make_cursor_db(tmp_path / "good").read_bytes()
    parser = base.get("cursor")
    for i, blob in enumerate([good[:4096], good[: len(good) // 2], b"SQLite format 3\x00" + b"\x00" * 200]):
        f = tmp_path / f"c{i}" / "state.vscdb"
        f.parent.mkdir()
        f.write_bytes(blob)
        parser.parse(FileContext(path=f, file_id=f"c{i}")).tables()


# -- through the store --------------------------------------------------------------------------
def test_ingest_fixture_corpus_end_to_end(tmp_path: Path) -> None:
    from codecensus.store import Store

    corpus = tmp_path / "corpus"
    shutil.copytree(FIX, corpus, ignore=shutil.ignore_patterns("state.vscdb.json"))
    make_cursor_db(corpus / "cursor" / "User" / "globalStorage")
    store = Store(tmp_path / "db.duckdb")
    stats = ingest(store, [corpus], user="alice", workers=1, settle_s=0)
    assert stats.files_failed == 0, stats.errors
    build_sessions(store)
    rows = store.con.execute(
        """SELECT sf.source, count(DISTINCT s.session_key), sum(s.prompts), sum(s.actions)
           FROM sessions s JOIN (SELECT DISTINCT session_key, source FROM session_files) sf USING (session_key)
           GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    got = {r[0]: (r[1], int(r[2]), int(r[3])) for r in rows}
    assert set(got) == {
        "aider",
        "claude_agent_platform",
        "claude_otel",
        "claude_stream_json",
        "cline",
        "codex",
        "copilot_cli",
        "cursor",
        "gemini_cli",
        "mini_swe_agent",
        "openhands",
        "openhands_v1",
        "swe_agent",
        "terminal_bench",
    }
    for fmt, (n, _prompts, _actions) in got.items():
        assert n > 0, fmt
    assert got["aider"] == (2, 4, 4)
    assert got["codex"] == (2, 3, 5)
    assert got["terminal_bench"] == (3, 3, 5)
    # The exporter's retried batch is counted once: 2 prompts, 5 actions, tokens of 3 requests.
    otel = store.one(
        "SELECT prompts, actions, input_tokens, output_tokens, cost_usd, rejections, api_errors FROM sessions "
        "WHERE session_key = 'otel:5e7a1c2d-3b4f-4a6e-9d8c-7b6a5f4e3d2c'"
    )
    assert otel is not None
    assert otel[:4] == (2, 5, 40, 330)
    assert otel[4] == pytest.approx(0.0425)
    assert otel[5:] == (1, 1)
    truth = store.con.execute(
        "SELECT detail, count(*) FROM events WHERE kind = 'outcome_truth' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    # openhands eval 1+1, swe-agent 1, mini 1+2, terminal-bench 1+1, agent platform 1
    assert truth == [("resolved", 5), ("unresolved", 4)]
    # Re-running changes nothing (whole-file and folder formats are skipped when unchanged).
    again = ingest(store, [corpus], user="alice", workers=1, settle_s=0)
    assert again.files_parsed == 0 and again.files_appended == 0
    store.close()


def _head_records_reference(head: bytes, n: int) -> tuple[dict, ...]:
    """The rule as first written: the first ``n`` objects among the first ``3 n`` lines (a cut last line excluded)."""
    out: list[dict] = []
    lines = head.split(b"\n", 3 * n)
    lines = lines[: 3 * n] if len(lines) > 3 * n else lines[:-1] if len(lines) > 1 else lines
    for raw in lines:
        raw = raw.strip()
        if not raw.startswith(b"{"):
            continue
        try:
            rec = json.loads(raw)
        except ValueError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
        if len(out) >= n:
            break
    return tuple(out)


def test_head_records_one_parse_answers_every_detector_as_its_own_would() -> None:
    """Detectors ask for 1, 3, 6 (and more) head records; one shared parse must give each exactly its own answer,
    whatever mix of objects, arrays, blank, damaged and cut lines the head holds."""
    import random

    from codecensus.sources.rows import head_records

    rng = random.Random(7)
    pieces = [b'{"a": 1}', b'{"sessionId": "s", "type": "user"}', b"", b"  ", b"[1, 2]", b'{"broken": ', b"not json",
              b'{"b": [1, {"c": 2}]}', b'"text"', b'{"d": null}']
    for case in range(400):
        lines = [rng.choice(pieces) for _ in range(rng.randint(0, 30))]
        head = b"\n".join(lines)
        if rng.random() < 0.5:
            head += b"\n"
        if rng.random() < 0.3 and head:
            head = head[: rng.randint(0, len(head))]  # cut anywhere, as a 64 KB head cuts a long line
        for n in (1, 2, 3, 6, 8, 11):
            assert head_records(head, n) == _head_records_reference(head, n), (case, n)


def test_cline_session_id_is_the_task_id_or_a_hash_of_a_renamed_folder(tmp_path: Path) -> None:
    """Cline names a task folder by its start (epoch ms): that is the session id. A folder renamed by someone
    ("acme-merger-plan") carried its name raw into the sessions export; now it is hashed, the same in every copy."""
    assert parse(CLINE, "cline").sessions[0].session_id == "1733000000000"
    renamed = tmp_path / "tasks" / "acme-merger-plan"
    shutil.copytree(CLINE, renamed)
    sid = parse(renamed, "cline").sessions[0].session_id
    assert "acme" not in sid and sid.startswith("cline-") and len(sid) == len("cline-") + 12
    again = tmp_path / "copy" / "acme-merger-plan"
    shutil.copytree(CLINE, again)
    assert parse(again, "cline").sessions[0].session_id == sid
