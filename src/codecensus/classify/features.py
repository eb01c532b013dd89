"""What the transcript proves: structural features of one session.

Every feature here comes from tool calls and their results (file types,
commands, test outcomes, commits, errors, interruptions), never from what the
agent or the user *claims*. :mod:`codecensus.classify.offline` turns them into
facets with the documented weight tables.
"""

from __future__ import annotations

import copy
import functools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Any, TypeVar

from codecensus.classify.base import ActionEvidence, SessionEvidence
from codecensus.classify.text import PromptSignals, prompt_signals
from codecensus.sources.common import test_status as summary_status

# --- file classes ---------------------------------------------------------------------------------------
FILE_CLASSES = ("code", "test", "ci", "agentcfg", "memory", "plan", "prose", "data", "config", "other")

_TEST_PATH = re.compile(
    r"(?i)(^|[/\\])(tests|__tests__|spec|specs|e2e|cypress|src[/\\]test)[/\\]|(^|[/\\])test[/\\][^/\\]+$|"
    r"(^|[/\\])(test_[^/\\]+|[^/\\]+_test\.\w+|[^/\\]+\.(test|spec)\.\w+|[^/\\]+Tests?\.(java|kt|cs|swift|php)|"
    r"[^/\\]+_spec\.rb|conftest\.py)$"
)
_CI_PATH = re.compile(
    r"(?i)\.github[/\\](workflows|actions)[/\\]|\.gitlab-ci\.ya?ml$|(^|[/\\])jenkinsfile$|\.circleci[/\\]|"
    r"azure-pipelines|bitbucket-pipelines|\.travis\.ya?ml$|\.buildkite[/\\]|(^|[/\\])dags[/\\]|crontab|"
    r"cloudbuild\.ya?ml$|\.drone\.ya?ml$|(^|[/\\])taskfile\.ya?ml$|\.pre-commit-config\.ya?ml$|"
    r"(^|[/\\])(workflows?|pipelines?|cron|schedules?)[/\\][^/\\]+\.(ya?ml|json|py|ts|js)$"
)
_AGENTCFG_PATH = re.compile(
    r"(?i)\.claude[/\\](agents|skills|commands|hooks|output-styles)[/\\]|(^|[/\\])skill\.md$|"
    r"(^|[/\\])agents?[/\\][^/\\]+\.(md|ya?ml|json)$|\.cursor[/\\]rules|(^|[/\\])\.?mcp\.json$|"
    r"claude_desktop_config\.json$|\.codex[/\\](prompts|rules)|(^|[/\\])hooks?[/\\][^/\\]+\.(sh|py|js)$"
)
_MEMORY_PATH = re.compile(
    r"(?i)(^|[/\\])(claude|agents|gemini|memory|copilot-instructions)\.md$|\.claude[/\\]projects[/\\].*[/\\]memory[/\\]|"
    r"(^|[/\\])memory[/\\]|\.claude[/\\]settings(\.local)?\.json$"
)
_PLAN_PATH = re.compile(
    r"(?i)(^|[/\\])(plans?|adrs?|rfcs?|specs?|proposals?|design|roadmaps?|openspec)[/\\][^/\\]+\.(md|mdx|txt|rst|json|ya?ml)$|"
    r"(^|[/\\])(plan|roadmap|design|spec|specification|architecture|proposal|rfc|adr|tasks|todo|requirements|prd|"
    r"milestones?|decisions?|technical[-_]plan|implementation[-_]plan)[\w.-]*\.(md|mdx|txt|rst|json|ya?ml)$"
)
_PROSE_EXT = frozenset("md mdx rst txt adoc org docx doc odt rtf tex pptx ppt key pages qmd".split())
_DATA_EXT = frozenset(
    "csv tsv xlsx xls parquet feather arrow ipynb sql jsonl ndjson db sqlite sqlite3 duckdb h5 hdf5 pkl pickle "
    "npy npz dta sav rds rdata r rmd geojson shp".split()
)
_CONFIG_EXT = frozenset("yaml yml toml ini cfg conf env properties plist kdl json xml lock service desktop".split())
_CODE_EXT = frozenset(
    "py pyi js mjs cjs jsx ts tsx go rs java kt kts swift rb php cs c cc cpp cxx h hpp m mm scala clj ex exs erl hs "
    "ml lua dart vue svelte astro sol zig nim html htm css scss sass less sh bash zsh fish ps1 bat cmd gradle tf "
    "proto graphql gql prisma cu mdc vim el jl pl erb ejs hbs twig blade liquid glsl wgsl".split()
)
_CODE_NAMES = frozenset({"makefile", "dockerfile", "justfile", "rakefile", "gemfile", "podfile", "cmakelists.txt"})


_F = TypeVar("_F", bound=Callable[..., Any])

# Memo of the pure per-action classifiers below. Bounded in entries *and* in key length: on real transcripts
# commands are mostly distinct and can be many kB (heredocs, scripts), so an entry-bounded cache of them alone
# could hold hundreds of MB per worker at study scale; a long string is classified without being kept.
MEMO_ENTRIES = 1 << 15
MEMO_MAX_CHARS = 300


def _memo(fn: _F) -> _F:
    cached = functools.lru_cache(maxsize=MEMO_ENTRIES)(fn)

    @functools.wraps(fn)
    def wrapper(s: str | None, *args: Any, **kwargs: Any) -> Any:
        if s is not None and len(s) > MEMO_MAX_CHARS:
            return fn(s, *args, **kwargs)
        return cached(s, *args, **kwargs)

    wrapper.cache_info = cached.cache_info  # type: ignore[attr-defined]
    wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _purepath(path: str) -> PurePath:
    return PureWindowsPath(path) if ("\\" in path or re.match(r"^[A-Za-z]:", path)) else PurePosixPath(path)


@_memo  # pure; paths and commands repeat within and across sessions
def file_class(path: str | None) -> str:
    """One of :data:`FILE_CLASSES` for a file path (by path conventions and extension)."""
    if not path:
        return "other"
    p = _purepath(path)
    name = p.name.lower()
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    if _MEMORY_PATH.search(path):
        return "memory"
    if _CI_PATH.search(path):
        return "ci"
    if _AGENTCFG_PATH.search(path):
        return "agentcfg"
    if _TEST_PATH.search(path) and (ext in _CODE_EXT or ext in ("py", "snap", "json")):
        return "test"
    if _PLAN_PATH.search(path):
        return "plan"
    if ext in _PROSE_EXT or name.startswith("readme"):
        return "prose"
    if ext in _DATA_EXT:
        return "data"
    if name in _CODE_NAMES or ext in _CODE_EXT:
        return "code"
    if ext in _CONFIG_EXT or name.startswith(".") or "docker-compose" in name:
        return "config"
    return "other"


# --- command classes ----------------------------------------------------------------------------------------
COMMAND_CLASSES = ("test", "install", "git", "ops", "deploy", "build", "data", "run", "explore", "other")

_CMD_INSTALL = re.compile(
    r"(?i)(^|[\s;&|(])((pip3?|uv\s+pip|uv|poetry|pipx|npm|pnpm|yarn|bun|brew|apt(-get)?|dnf|yum|pacman|apk|cargo|gem|"
    r"conda|mamba|choco|winget|scoop|snap|go|composer|dotnet)\s+(install|add|i|get|update|upgrade|sync|tool\s+install)\b|"
    r"npx\s+create-|npm\s+create|create-(react|next|vite)-app|curl[^|]*\|\s*(ba|z)?sh\b|rustup\b|nvm\s+(install|use))"
)
_DEV_INSTALL = re.compile(
    r"(?i)\b(npm|pnpm|yarn|bun|pip3?|uv|poetry|pipenv|cargo|go\s+get|go\s+mod|gem|bundle|composer|mvn|gradlew?|"
    r"dotnet|mix|pub|flutter|conda)\b"
)
_CMD_GIT = re.compile(
    r"(?i)(^|[\s;&|(])(git(\s+-C\s+\S+)?\s+(status|log|diff|add|commit|push|pull|fetch|checkout|switch|branch|merge|"
    r"rebase|stash|reset|clone|remote|tag|cherry-pick|init|submodule|restore|rm|mv|show|config)\b|"
    r"gh\s+(pr|repo|run|release|issue|workflow|auth|api)\b)"
)
_CMD_OPS = re.compile(
    r"(?i)(^|[\s;&|(])(docker(-compose)?|podman|kubectl|helm|systemctl|service|journalctl|pm2|ssh|scp|rsync|nginx|"
    r"terraform|ansible(-playbook)?|gcloud|aws|az|flyctl|fly|vercel|netlify|heroku|railway|wrangler|firebase|crontab|"
    r"launchctl|netsh|opkg|uci|ufw|iptables|mount|umount|chmod|chown|sudo|kill|pkill|killall|lsof|netstat|ss|"
    r"ip\s+(a|addr|route|link)|ping|traceroute|dig|nslookup|tailscale|openssl|certbot|supervisorctl|tmux|screen|"
    r"powershell|reg\s+(add|query)|sc\s+(query|start|stop)|Get-\w+|Set-\w+|Start-\w+|Stop-\w+|ollama|conda\s+(create|activate|env))\b"
)
_CMD_BUILD = re.compile(
    r"(?i)(^|[\s;&|(])((npm|pnpm|yarn|bun)\s+(run\s+)?(build|compile|typecheck|lint|check)|tsc\b|cargo\s+(build|check|clippy)|"
    r"go\s+(build|vet)|make\b|cmake|gradlew?\s+\w*(build|assemble|compile)|mvn\s+(package|compile|install)|"
    r"dotnet\s+build|next\s+build|vite\s+build|webpack|swift\s+build|xcodebuild|flutter\s+build|ruff|mypy|eslint|"
    r"prettier|black\b|pyright|anchor\s+build|hardhat\s+compile|forge\s+build)"
)
_CMD_DATA = re.compile(
    r"(?i)(pandas|\bpd\.|duckdb|sqlite3|\bpsql\b|\bmysql\b|\bbq\s|\bjq\s|csvkit|\bxsv\b|\bmlr\b|Rscript|jupyter|nbconvert|"
    r"matplotlib|seaborn|plotly|polars|\bselect\s+.{1,200}\s+from\s|read_csv|to_csv|groupby|\.describe\(\)|numpy|scipy|"
    r"statsmodels|sklearn)"
)
_CMD_RUN = re.compile(
    r"(?i)(^|[\s;&|(])((npm|pnpm|yarn|bun)\s+(run\s+)?(dev|start|serve|preview)|python3?\s+\S+\.py|node\s+\S+\.m?js|"
    r"uvicorn|gunicorn|flask\s+run|rails\s+s|php\s+artisan|deno\s+run|go\s+run|cargo\s+run|java\s+-jar|ruby\s+\S+\.rb|"
    r"bash\s+\S+\.sh|\./\S+)"
)
_CMD_EXPLORE = re.compile(
    r"(?i)^\s*(cd\s+\S+\s*&&\s*)?(ls|cat|head|tail|find|grep|rg|tree|wc|which|where|pwd|echo|stat|file|du|df|less|more|"
    r"sed\s+-n|awk|type|dir|Get-ChildItem|Get-Content)\b"
)


@_memo  # pure; paths and commands repeat within and across sessions
def command_class(cmd: str | None, *, is_test: bool = False, is_commit: bool = False, is_push: bool = False,
                  is_deploy: bool = False) -> str:
    """One of :data:`COMMAND_CLASSES` (the first that matches, most specific first)."""
    if is_test:
        return "test"
    if is_deploy:
        return "deploy"
    if is_commit or is_push:
        return "git"
    if not cmd:
        return "other"
    c = cmd.strip()
    if _CMD_INSTALL.search(c):
        return "install"
    if _CMD_GIT.search(c):
        return "git"
    if _CMD_DATA.search(c):
        return "data"
    if _CMD_BUILD.search(c):
        return "build"
    if _CMD_OPS.search(c):
        return "ops"
    if _CMD_EXPLORE.match(c):
        return "explore"
    if _CMD_RUN.search(c):
        return "run"
    return "other"


# --- per-session features -------------------------------------------------------------------------------------
@dataclass(slots=True)
class Features:
    n_prompts: int = 0
    n_actions: int = 0
    n_replies: int = 0
    signals: list[PromptSignals] = field(default_factory=list)
    substantive: list[int] = field(default_factory=list)  # indexes of prompts with content (not greeting/defer/injection)
    # changes (successful writes/edits), by file class and created/modified
    changed: Counter[str] = field(default_factory=Counter)  # file class -> distinct paths changed
    created_code: int = 0  # distinct code paths created
    modified_code: int = 0  # distinct pre-existing code paths modified
    change_words: Counter[str] = field(default_factory=Counter)  # file class -> words written through tools
    reads: int = 0
    searches: int = 0
    web: int = 0
    data_reads: int = 0
    commands: Counter[str] = field(default_factory=Counter)  # command class -> count
    dev_installs: int = 0  # package-manager installs of a project's dependencies (npm, pip, cargo, ...)
    plan_mode: int = 0
    asks: int = 0
    todos: int = 0
    agents: int = 0
    tool_errors: int = 0
    rejections: int = 0
    interrupts: int = 0
    tests_run: int = 0
    tests_failed: int = 0
    edits_after_error: int = 0
    # timeline (indexes into actions)
    last_change: int = -1
    tests_pass_after_change: bool = False
    tests_fail_after_change: bool = False
    commit_after_change: bool = False
    push_after_change: bool = False
    errors_at_end: int = 0  # errors among the last 3 actions that were not followed by a success of the same kind
    last_action_error: bool = False
    last_prompt_answered: bool = True
    last_turn_concluded: bool = True  # the last substantive prompt got a final reply (not cut off mid-turn)
    earlier_answered: bool = False  # some earlier substantive prompt got a reply
    last_turn_actions: int = 0
    interrupted_at_end: bool = False
    api_error_at_end: bool = False
    negative_final_reply: bool = False
    activity_after_first: bool = False


_SUBMIT = re.compile(r"COMPLETE_TASK|MINI_SWE_AGENT_FINAL_OUTPUT|\bsubmit\b", re.I)


# file writes done through the shell (agents without edit tools): heredoc/echo redirects, tee, sed -i, patches
_SHELL_WRITE = re.compile(
    r"""(?x)
      (?:^|[\s;&|(])(?:cat|echo|printf)\b[^|;&]*?(?<![<>2&])>>?\s*['"]?(?P<a>[\w./~-]+\.\w+)
    | (?:^|[\s;&|(])tee\s+(?:-a\s+)?['"]?(?P<b>[\w./~-]+\.\w+)
    | (?:^|[\s;&|(])sed\s+-i\S*\s+(?:-e\s+)?(?:'[^']*'|"[^"]*"|\S+)\s+['"]?(?P<c>[\w./~-]+\.\w+)
    | (?:^|[\s;&|(])(?:git\s+apply|patch\s+-p\d)(?P<d>)
    """
)


_SCRATCH = re.compile(r"(?i)(^|/)(tmp|temp|dev)/|\.(log|out|pid|tmp|bak)$|^/proc/")


@_memo  # pure; paths and commands repeat within and across sessions
def shell_write_target(cmd: str | None) -> str | None:
    """The file a shell command writes ('' for patches with no single target), or None."""
    if not cmd:
        return None
    m = _SHELL_WRITE.search(cmd)
    if not m:
        return None
    target = next((g for g in m.groups() if g is not None), "")
    if target and _SCRATCH.search(target):
        return None
    return target


def changed_path(a: ActionEvidence) -> str | None:
    """The file a successful action changed (edit/write tools, or a write through the shell), else None."""
    if a.is_error or a.rejected:
        return None
    if a.category in ("write", "edit"):
        # a patch whose target the parser could not name (codex apply_patch in a harness log) is still a change
        return a.file_path or "(patch)"
    if a.category == "shell":
        t = shell_write_target(a.command)
        if t is not None:
            return t or "(patch)"
    return None


def _is_change(a: ActionEvidence) -> bool:
    return changed_path(a) is not None


def _test_passed(a: ActionEvidence) -> bool:
    if a.test_status == "pass":
        return True
    return a.is_test and a.is_error is False and a.test_status != "fail" and not a.interrupted


def _test_failed(a: ActionEvidence) -> bool:
    return a.is_test and (a.test_status == "fail" or bool(a.is_error))


# Prompts repeat across sessions ("continue", "yes", templated tasks): their signals are computed once per
# process. Bounded (a prompt is at most evidence.PROMPT_CHARS characters); each caller gets its own copy.
SIGNALS_CACHE_ENTRIES = 8192


@functools.lru_cache(maxsize=SIGNALS_CACHE_ENTRIES)
def _cached_signals(raw: str) -> PromptSignals:
    return prompt_signals(raw)


def signals_of(raw: str) -> PromptSignals:
    """:func:`~codecensus.classify.text.prompt_signals` of one prompt, memoised (a fresh copy per call)."""
    return copy.copy(_cached_signals(raw))


def _substantive(s: PromptSignals) -> bool:
    """A prompt with content: not empty, not a greeting, not a short injected wrapper."""
    return s.words > 0 and not s.greeting and not (s.injection and s.words < 3)


def has_human_request(ev: SessionEvidence) -> bool:
    """Whether some human prompt of the session has content: expertise is judged from the human's side only
    (taxonomy §4), so without one every backend abstains on it."""
    return any(_substantive(signals_of(p)) for p in ev.prompts)


def human_request_reason(ev: SessionEvidence) -> str:
    """Why a session has no human request (see :func:`has_human_request`), as a key of
    ``taxonomy.ABSTENTION_REASONS``: no prompt at all, or prompts with too little in them."""
    return "too_little_text" if ev.prompts else "no_human_request"


def extract(ev: SessionEvidence) -> Features:
    """Compute :class:`Features` from one session's evidence."""
    from codecensus.classify.text import NEGATIVE_REPLY, sanitize

    f = Features(n_prompts=len(ev.prompts), n_actions=len(ev.actions), n_replies=len(ev.replies))
    f.signals = [signals_of(p) for p in ev.prompts]
    f.substantive = [i for i, s in enumerate(f.signals) if _substantive(s)]
    seen_paths: set[str] = set()
    created_paths: set[str] = set()
    changed_paths: dict[str, str] = {}
    since_error = 99
    acts = ev.actions
    for i, a in enumerate(acts):
        cat = a.category
        if a.is_error and not a.rejected and not a.interrupted:
            f.tool_errors += 1
        if a.rejected:
            f.rejections += 1
        if a.interrupted:
            f.interrupts += 1
        if cat == "read":
            f.reads += 1
            if a.file_path:
                seen_paths.add(a.file_path)
                if file_class(a.file_path) == "data":
                    f.data_reads += 1
        elif cat == "search":
            f.searches += 1
        elif cat == "web":
            f.web += 1
        elif cat == "plan":
            f.plan_mode += 1
        elif cat == "ask":
            f.asks += 1
        elif cat == "todo":
            f.todos += 1
        elif cat == "agent":
            f.agents += 1
        elif cat == "shell":
            cc = command_class(a.command, is_test=a.is_test, is_commit=a.is_commit, is_push=a.is_push,
                               is_deploy=a.is_deploy)
            f.commands[cc] += 1
            if cc == "install" and _DEV_INSTALL.search(a.command or ""):
                f.dev_installs += 1
            if a.is_test:
                f.tests_run += 1
                if _test_failed(a):
                    f.tests_failed += 1
        if _is_change(a):
            path = changed_path(a) or ""
            fc = file_class(path)
            created = a.file_op == "create" or (
                a.file_op is None and cat == "write" and path not in seen_paths and path not in changed_paths
            )
            if created:
                created_paths.add(path)
            if path not in changed_paths:
                changed_paths[path] = fc
                f.changed[fc] += 1
                if fc in ("code", "other"):
                    if path in created_paths:
                        f.created_code += 1
                    else:
                        f.modified_code += 1
            f.change_words[fc] += a.input_words
            seen_paths.add(path)
            f.last_change = i
            if since_error <= 3 and fc in ("code", "test", "config", "other"):
                f.edits_after_error += 1
        failed = (a.is_error and not a.rejected and not a.interrupted) or _test_failed(a)
        since_error = 0 if failed else since_error + 1
    # timeline after the last change
    for a in acts[f.last_change + 1 :] if f.last_change >= 0 else acts:
        if a.is_test or a.test_status:
            if _test_passed(a):
                f.tests_pass_after_change = True
                f.tests_fail_after_change = False
            elif _test_failed(a):
                f.tests_fail_after_change = True
        if a.is_commit and not a.is_error:
            f.commit_after_change = f.last_change >= 0 or f.commit_after_change
        if a.is_push and not a.is_error:
            f.push_after_change = True
    tail = acts[-3:]
    f.errors_at_end = sum(1 for a in tail if (a.is_error and not a.rejected) or _test_failed(a))
    f.last_action_error = bool(acts) and bool(acts[-1].is_error or _test_failed(acts[-1]))
    # the last substantive prompt: was it answered (any action or reply after it)?
    # the last prompt that asks for something ("ok" / "continue" only extend the previous request)
    asking = [i for i in f.substantive if not f.signals[i].defer]
    last_p = asking[-1] if asking else (f.substantive[-1] if f.substantive else len(ev.prompts) - 1)
    if last_p >= 0:
        acts_after = [a for a in acts if a.prompt_index >= last_p]
        reps_after = [j for j in ev.reply_prompt_index if j >= last_p]
        f.last_prompt_answered = bool(acts_after or reps_after)
        f.last_turn_actions = len([a for a in acts if a.prompt_index == len(ev.prompts) - 1])
        finished = bool(acts) and (acts[-1].category == "finish" or bool(_SUBMIT.search(acts[-1].command or "")))
        f.last_turn_concluded = bool(reps_after) and (ev.final_reply_after_last_action is not False or finished)
        if not reps_after and finished:
            f.last_turn_concluded = True
        f.earlier_answered = any(j < last_p for j in ev.reply_prompt_index) or any(
            a.prompt_index < last_p for a in acts
        )
    f.activity_after_first = any(a.prompt_index >= 1 for a in acts) or any(j >= 1 for j in ev.reply_prompt_index)
    last_idx = len(ev.prompts) - 1
    for (kind, _detail), j in zip(ev.events, ev.event_prompt_index or [0] * len(ev.events), strict=False):
        if kind == "interrupt" and j >= last_idx:
            f.interrupted_at_end = True
        if kind in ("api_error", "synthetic_reply") and j >= last_idx:
            f.api_error_at_end = True
    if acts and acts[-1].interrupted:
        f.interrupted_at_end = True
    if ev.replies:
        final = sanitize(ev.replies[-1])
        f.negative_final_reply = bool(NEGATIVE_REPLY.search(final))
    return f




# --- autonomous runs (benchmark agents: one task, no human feedback) -------------------------------------
AUTONOMOUS_SOURCES = frozenset({"mini_swe_agent", "swe_agent", "terminal_bench", "openhands"})
# the agent's own account of its run: a limit or crash stops it; these statuses are how harnesses say so
_LIMIT_STATUS = re.compile(r"(?i)limit|exit_cost|exit_context|exit_format|exit_error|timeout|time_?out|"
                           r"unfinished|error|crash|killed|autosubmi")
_NOT_STARTED = re.compile(r"(?i)not_started|agent_not_started|install")
# a verification run: runs a program, a script or the task's tests (not a read, edit, install or git command)
_CHECK_RUN = re.compile(
    r"""(?x)(?:^|[\s;&|(])(?:
        python[\d.]*\s+(?:-[uBW]\s+)*(?:-c\s|-m\s+(?!pip\b|venv\b)\S|[\w./-]+\.py\b)|
        node\s+[\w./-]+\.[mc]?js\b|bash\s+[\w./-]+\.sh\b|sh\s+[\w./-]+\.sh\b|
        \./[\w./-]+|go\s+run\b|cargo\s+run\b|java\s+\w|ruby\s+[\w./-]+\.rb\b|Rscript\s|
        curl\s|make\b
    )"""
)
_RUN_FAIL_TEXT = re.compile(
    r"(?m)Traceback \(most recent call last\)|^\w*(?:Error|Exception)\b[:(]|^AssertionError|\bFAILED\b|"
    r"\bSegmentation fault\b|\bcommand not found\b|\bNo such file or directory\b|\bpanicked at\b"
)
_REVERT = re.compile(r"(?:^|[\s;&|])git\s+(?:checkout\s+(?:--\s|\S+\s+--\s|\.)|restore\b|stash\b|reset\s+--hard)")
_CLAIM_SUCCESS = re.compile(
    r"(?i)\b(successfully|is (now )?(fixed|resolved|working|complete)|works (correctly|as expected)|"
    r"all (the )?(tests|checks) pass|tests? (now )?pass(es)?|verified|the fix (is|works)|completed? the task)\b"
)


@dataclass
class RunFeatures:
    """What an autonomous run's final state shows (taxonomy §3 for agent benchmark runs)."""

    autonomous: bool = False
    steps: int = 0  # actions taken
    tokens: int = 0  # input + output tokens of the run (effort of agents that reason without acting)
    output_words: int = 0  # words the agent generated (replies and tool inputs: taxonomy §1 words of output)
    status: str | None = None  # last ``run_status`` event (Submitted, LimitsExceeded, agent_timeout, ...)
    limit_hit: bool = False  # stopped by a step/cost/time limit, a format error or a crash
    not_started: bool = False  # the agent never ran (install failed) or did nothing
    submission_empty: bool | None = None  # the submitted patch is empty (None: no submission recorded)
    checks: int = 0  # verification runs (tests, reproduction scripts, the program on sample input)
    last_check: str | None = None  # 'pass' / 'fail': the last verification run
    edits_after_last_check: int = 0  # changes made after it (the final state was not verified)
    fail_streak_at_end: int = 0  # consecutive failing verification runs that end the run
    repeated_failures: int = 0  # verification commands that failed two or more times
    reverts: int = 0  # git checkout/restore/stash/reset --hard: edits thrown away
    claims_success: bool = False  # the final message says it worked
    gives_up: bool = False  # the final message says it could not


def check_status(a: ActionEvidence) -> str | None:
    """'pass' / 'fail' for a verification run with a result, else None."""
    if a.category != "shell" or a.is_error is None:
        return None
    if not (a.is_test or (a.command and _CHECK_RUN.search(a.command))):
        return None
    if command_class(a.command, is_test=a.is_test) in ("install", "git"):
        return None
    if _test_failed(a) or a.interrupted or a.test_status == "fail":
        return "fail"
    if a.test_status == "pass":
        return "pass"
    if a.result_head and (_RUN_FAIL_TEXT.search(a.result_head) or summary_status(a.result_head) == "fail"):
        return "fail"
    return "pass"


def run_features(ev: SessionEvidence, f: Features) -> RunFeatures:
    """Evidence of an autonomous run's success: how it ended, and whether its final state was verified."""
    from codecensus.classify.text import NEGATIVE_REPLY, sanitize

    feedback = [i for i in f.substantive if i > 0 and not f.signals[i].defer]
    statuses = [d or "" for k, d in ev.events if k == "run_status"]
    subs = [d for k, d in ev.events if k == "submission"]
    tokens = sum(int(ev.shape.get(k) or 0) for k in ("input_tokens", "output_tokens"))
    r = RunFeatures(steps=f.n_actions, tokens=tokens, output_words=int(ev.shape.get("output_words") or 0))
    r.autonomous = not feedback and (ev.source in AUTONOMOUS_SOURCES or bool(statuses) or bool(subs))
    if not r.autonomous:
        return r
    r.status = statuses[-1] if statuses else None
    r.not_started = any(_NOT_STARTED.search(s) for s in statuses) or (f.n_actions == 0 and f.n_replies == 0)
    r.limit_hit = r.status is not None and r.status.lower() != "submitted" and bool(_LIMIT_STATUS.search(r.status))
    if subs:
        r.submission_empty = subs[-1] == "empty"
    fails: Counter[str] = Counter()
    last_check_i = -1
    for i, a in enumerate(ev.actions):
        if a.category == "shell" and a.command and _REVERT.search(a.command):
            r.reverts += 1
        st = check_status(a)
        if st is None:
            continue
        r.checks += 1
        r.last_check = st
        last_check_i = i
        if st == "fail":
            r.fail_streak_at_end += 1
            fails[(a.command or "")[:200]] += 1
        else:
            r.fail_streak_at_end = 0
    r.repeated_failures = sum(1 for n in fails.values() if n >= 2)
    if last_check_i >= 0:
        r.edits_after_last_check = sum(1 for a in ev.actions[last_check_i + 1 :] if _is_change(a))
    if ev.replies:
        final = sanitize(ev.replies[-1])
        r.gives_up = bool(NEGATIVE_REPLY.search(final))
        r.claims_success = not r.gives_up and bool(_CLAIM_SUCCESS.search(final))
    return r


__all__ = [
    "AUTONOMOUS_SOURCES", "COMMAND_CLASSES", "FILE_CLASSES", "Features", "RunFeatures", "check_status", "command_class",
    "extract", "file_class", "run_features",
]
