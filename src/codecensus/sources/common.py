"""Parse-time helpers shared by every format: words, timestamps, tool
categories, and the versioned table of command heuristics (test runners, git
commit/push, deploys) and test-result summaries."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

HEURISTICS_VERSION = "1"

# Text heads kept in the raw tables (enough for the classifier and condenser).
TEXT_HEAD = 2000
RESULT_HEAD = 600  # tool output: the head carries errors and test summaries are parsed before truncation


def words(text: str | None) -> int:
    """Words = whitespace-separated tokens (taxonomy §1): ``len(text.split())``."""
    if not text:
        return 0
    if len(text) <= WORDS_SLICE:
        return len(text.split())
    return _words_sliced(text)


WORDS_SLICE = 1 << 20


def _words_sliced(text: str) -> int:
    """``len(text.split())`` for a long text, one slice at a time: splitting 300 MB at once made a list of 60
    million strings (5 GB). A word that straddles two slices is counted in both, so it is taken off once."""
    n = 0
    for start in range(0, len(text), WORDS_SLICE):
        n += len(text[start : start + WORDS_SLICE].split())
        if start and not text[start - 1].isspace() and not text[start].isspace():
            n -= 1
    return n


def leaf_words(value: Any) -> int:
    """Words in every string leaf of a JSON value (tool inputs).

    With a stack, not recursion: a tool input nested 500 levels deep exceeded Python's recursion limit and
    failed its whole file.
    """
    n = 0
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            n += words(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return n


# Epoch ms of 0001-01-01 and of 9999-12-31 23:59:59.999 UTC: the instants an ISO-8601 date can name (and the
# database's readers can turn into dates).
TS_MIN_MS, TS_MAX_MS = -62_135_596_800_000, 253_402_300_799_999
# The instants a coding-agent transcript can hold: from 2020-01-01 UTC (no coding agent wrote one before) to a year
# past this machine's clock (a clock a little fast is no damage). A time outside is damaged or a default (epoch 0, a
# reset clock): it counts as no time, like a missing one, for every format. Taken as a time, one event stamped
# 1970-01-01 made a 2025 session 55 years long and counted it in January 1970.
TS_PLAUSIBLE_MIN_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
TS_PLAUSIBLE_MAX_MS = int(time.time() * 1000) + 366 * 86_400_000
IMPLAUSIBLE_TS_NOTE = "bad_time"  # ingest_log kind of a file's note about the times taken as none (implausible_note)
_refused = [0]  # implausible times parse_ts has taken as none in this process (see implausible_count)


def plausible_ms(ms: float) -> int | None:
    """``ms`` (epoch ms) when it is a plausible time for a transcript (see TS_PLAUSIBLE_MIN_MS), else None."""
    if TS_PLAUSIBLE_MIN_MS <= ms <= TS_PLAUSIBLE_MAX_MS:
        return int(ms)
    _refused[0] += 1
    return None


def implausible_count() -> int:
    """How many implausible times this process has taken as none so far: a parser reads it before and after a
    file, and :func:`implausible_note` says how many in the file's ingest_log."""
    return _refused[0]


def implausible_note(since: int) -> tuple[str, str, int] | None:
    """``(kind, detail, count)`` of the ingest_log note for the times taken as none since ``implausible_count()``
    was ``since``; None when there were none. (A value a parser reads twice counts twice.)"""
    n = _refused[0] - since
    if n <= 0:
        return None
    hi = datetime.fromtimestamp(TS_PLAUSIBLE_MAX_MS / 1000, UTC).strftime("%Y-%m-%d")
    return IMPLAUSIBLE_TS_NOTE, f"timestamps outside 2020-01-01..{hi} (epoch 0, a reset clock) taken as no time", n


def parse_ts(value: Any) -> int | None:
    """ISO-8601 string, epoch seconds or epoch milliseconds → epoch ms (UTC); None for none, a damaged one or an
    implausible one (outside TS_PLAUSIBLE_MIN_MS..TS_PLAUSIBLE_MAX_MS)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        v = float(value)
        if v != v:  # NaN
            return None
        if v > 1e14:  # microseconds
            v /= 1000
        elif v <= 1e11:  # seconds
            v *= 1000
        return plausible_ms(v)
    if isinstance(value, str):
        s = value.strip()
        if not s:
            return None
        try:
            if s.endswith("Z"):
                s = s[:-1] + "+00:00"
            dt = datetime.fromisoformat(s)
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        # (0001-01-01 east of UTC or 9999-12-31 west of it, instants outside years 1-9999 UTC, made every reader of
        # the session's times fail: 'date value out of range' in `codecensus sessions`)
        return plausible_ms(int(dt.timestamp() * 1000))
    return None


_CATEGORY = {
    # read
    "read": "read", "notebookread": "read", "read_file": "read", "read_many_files": "read", "view": "read",
    "str_replace_based_edit_tool:view": "read", "open": "read", "readfile": "read",
    # edit
    "edit": "edit", "multiedit": "edit", "notebookedit": "edit", "replace": "edit", "str_replace": "edit",
    "apply_patch": "edit", "edit_file": "edit", "str_replace_editor": "edit", "insert": "edit",
    "replace_in_file": "edit", "apply_diff": "edit", "search_replace": "edit",
    # write
    "write": "write", "write_file": "write", "create": "write", "write_to_file": "write", "create_file": "write",
    # shell
    "bash": "shell", "bashoutput": "shell", "killshell": "shell", "killbash": "shell", "shell": "shell",
    "exec_command": "shell", "run_shell_command": "shell", "local_shell_call": "shell", "execute_command": "shell",
    "run": "shell", "run_ipython": "shell", "execute_bash": "shell", "terminal": "shell", "write_stdin": "shell",
    # search
    "grep": "search", "glob": "search", "ls": "search", "toolsearch": "search", "list_directory": "search",
    "search_file_content": "search", "find_files": "search", "search_files": "search", "list_files": "search",
    "codebase_search": "search", "search_dir": "search", "find_file": "search", "search_file": "search",
    # web
    "webfetch": "web", "websearch": "web", "web_fetch": "web", "google_web_search": "web", "web_search": "web",
    "browse": "web", "browse_interactive": "web", "browser_action": "web", "web_search_call": "web",
    # agent
    "task": "agent", "agent": "agent", "taskoutput": "agent", "delegate": "agent",
    # todo / plan / ask / skill
    "todowrite": "todo", "taskcreate": "todo", "taskupdate": "todo", "tasklist": "todo", "update_plan": "todo",
    "write_todos": "todo",
    "enterplanmode": "plan", "exitplanmode": "plan", "plan_mode_respond": "plan",
    "askuserquestion": "ask", "ask_followup_question": "ask",
    "skill": "skill", "slashcommand": "skill", "activate_skill": "skill",
    "finish": "finish", "submit": "finish", "attempt_completion": "finish",
}


def tool_category(name: str | None) -> str:
    if not name:
        return "other"
    n = name.lower()
    if n.startswith("mcp__") or n.startswith("mcp_"):
        return "mcp"
    return _CATEGORY.get(n, "other")


_TEST_RE = re.compile(
    r"""(?x)(?:^|[\s;&|(`'"/])(?:
        pytest|py\.test|python3?\s+-m\s+(?:pytest|unittest)|unittest|tox|nox|
        (?:npm|pnpm|yarn|bun)\s+(?:run\s+)?test(?::\S+)?|bun\s+test|deno\s+test|
        jest|vitest|mocha|karma|ava|playwright\s+test|cypress\s+run|
        go\s+test|cargo\s+(?:test|nextest)|mvn\s+(?:\S+\s+)*?(?:test|verify)|gradlew?\s+(?:\S+\s+)*?test|
        rspec|rake\s+test|bundle\s+exec\s+rspec|phpunit|pest|ctest|make\s+(?:check|test)|
        dotnet\s+test|swift\s+test|mix\s+test|flutter\s+test|dart\s+test|zig\s+build\s+test|
        rails\s+test|django-admin\s+test|manage\.py\s+test|hatch\s+test|uv\s+run\s+pytest|poetry\s+run\s+pytest|
        runtests\.py|bin/test
    )(?:\s|$|;|&|\|)""",
)
_GIT = r"(?:^|[\s;&|(`])git(?:\s+-[Cc]\s+\S+|\s+--?[\w-]+(?:=\S+)?)*\s+"
_COMMIT_RE = re.compile(_GIT + r"commit\b")
_PUSH_RE = re.compile(_GIT + r"push\b")
_DEPLOY_RE = re.compile(
    r"""(?x)(?:^|[\s;&|(])(?:
        kubectl\s+(?:apply|rollout|set\s+image|create)|helm\s+(?:install|upgrade)|terraform\s+apply|
        vercel(?:\s+--prod|\s+deploy)|netlify\s+deploy|fly\s+deploy|flyctl\s+deploy|heroku\s+(?:deploy|container:release)|
        gcloud\s+(?:app|run|functions)\s+deploy|aws\s+(?:deploy|cloudformation\s+deploy|lambda\s+update-function-code|s3\s+sync)|
        firebase\s+deploy|wrangler\s+(?:deploy|publish)|docker\s+push|serverless\s+deploy|sls\s+deploy|
        ansible-playbook|cdk\s+deploy|pulumi\s+up|railway\s+up|supabase\s+(?:db\s+push|functions\s+deploy)
    )\b"""
)


_TEST_HINTS = ("test", "spec", "jest", "mocha", "karma", "ava", "tox", "nox", "rspec", "phpunit", "pest",
               "cypress", "verify", "check")
_DEPLOY_HINTS = ("kubectl", "helm", "terraform", "vercel", "netlify", "fly", "heroku", "gcloud", "aws", "firebase",
                 "wrangler", "docker", "serverless", "sls", "ansible", "cdk", "pulumi", "railway", "supabase")


# One search for "any hint is a substring" (the same test as ``any(h in s for h in hints)``).
_TEST_HINT_RE = re.compile("|".join(map(re.escape, _TEST_HINTS)))
_DEPLOY_HINT_RE = re.compile("|".join(map(re.escape, _DEPLOY_HINTS)))


def is_test_command(cmd: str | None) -> bool:
    if not cmd:
        return False
    return _TEST_HINT_RE.search(cmd.lower()) is not None and _TEST_RE.search(cmd) is not None


def is_commit_command(cmd: str | None) -> bool:
    return bool(cmd) and "commit" in cmd and _COMMIT_RE.search(cmd) is not None  # type: ignore[operator,arg-type]


def is_push_command(cmd: str | None) -> bool:
    return bool(cmd) and "push" in cmd and _PUSH_RE.search(cmd) is not None  # type: ignore[operator,arg-type]


def is_deploy_command(cmd: str | None) -> bool:
    if not cmd:
        return False
    return _DEPLOY_HINT_RE.search(cmd) is not None and _DEPLOY_RE.search(cmd) is not None


_FAIL_PATTERNS = re.compile(
    r"""(?mx)
      (?:^|\s)(\d+)\s+(?:failed|errors?)\b(?!\s*=\s*0)   # pytest "3 failed", "2 errors"
    | ^FAILED\s                                            # pytest -rA lines
    | ^FAIL\b                                              # go test, jest file lines
    | test\s+result:\s+FAILED                              # cargo
    | Tests:\s+.*\b\d+\s+failed                            # jest summary
    | \b\d+\s+failing\b                                    # mocha
    | ^FAILED\s+\(                                         # unittest "FAILED (failures=1)"
    | Failures:\s*[1-9]                                    # junit / maven
    | BUILD\s+FAILED | Test\s+Suites:\s+\d+\s+failed
    """
)
_PASS_PATTERNS = re.compile(
    r"""(?mx)
      (?:^|\s)\d+\s+passed\b
    | test\s+result:\s+ok\b
    | ^ok\s+\S+                                             # go test
    | ^OK(?:\s+\(\d+\s+tests?\)|\s*$)                       # unittest / phpunit
    | Tests:\s+\d+\s+passed
    | \b\d+\s+passing\b
    | All\s+tests\s+passed | BUILD\s+SUCCESS
    | Tests\s+run:\s*\d+,\s*Failures:\s*0,\s*Errors:\s*0
    """
)
_ZERO_FAIL = re.compile(r"\b0\s+(?:failed|errors?|failing)\b")


def test_status(output: str | None) -> str | None:
    """'fail', 'pass' or None when the text holds no recognisable test summary."""
    if not output:
        return None
    text = output[-20000:]
    fails = [m for m in _FAIL_PATTERNS.finditer(text) if not _ZERO_FAIL.match(m.group(0).strip())]
    if fails:
        return "fail"
    if _PASS_PATTERNS.search(text):
        return "pass"
    return None


def block_text(content: Any) -> str:
    """Text of a tool_result/message content: a string or a list of text blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for b in content:
            if isinstance(b, dict):
                t = b.get("text")
                if isinstance(t, str):
                    parts.append(t)
            elif isinstance(b, str):
                parts.append(b)
        return "\n".join(parts)
    return ""
