"""Who does what, when: the population of users and the plan (planted ground
truth) of every session. Pure and deterministic: everything is drawn from the
``random.Random`` handed in; nothing here touches the file system.
"""

from __future__ import annotations

import bisect
import calendar
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from codecensus.sample import scenarios as sc
from codecensus.sample.fragments import STACKS
from codecensus.sample.versions import version_at
from codecensus.taxonomy import CODE_PRODUCING_MODES, MODE_KEYS

DAY_MS = 86_400_000
# Sessions in which a classifier can judge little or nothing, written instead of the planned work in this share of the
# sessions of Claude Code 2.1 (those are never resumed into a copy), each kind as often; the abstention reason the
# offline classifier gives for each (taxonomy.ABSTENTION_REASONS):
STUB_KINDS: dict[str, str] = {
    "open_close": "empty_session",  # opened, a slash command or two, closed: no prompt, tool call or reply
    "greeting": "too_little_text",  # "hi", a greeting back, nothing more
    "init": "no_human_request",  # /init: the agent reads the project and writes CLAUDE.md; nothing typed by the human
    "unreadable": "unreadable_request",  # a question in a language the embedder cannot read, answered without a tool
    "interrupted": "nothing_done",  # a request, cancelled (Esc) before the agent replied or acted
}
STUB_RATE = 0.09
SECRET_RATE = 0.01  # share of sessions with planted fake secrets / PII

# Outcome mix by task expertise (taxonomy §3/§9.5: beginners fail more, experts verify more).
OUTCOME_TABLE: dict[int, tuple[tuple[str, float], ...]] = {
    1: (("verified_success", 0.12), ("success", 0.27), ("partial", 0.33), ("failure", 0.23), ("unclear", 0.05)),
    2: (("verified_success", 0.17), ("success", 0.30), ("partial", 0.31), ("failure", 0.17), ("unclear", 0.05)),
    3: (("verified_success", 0.27), ("success", 0.35), ("partial", 0.28), ("failure", 0.07), ("unclear", 0.03)),
    4: (("verified_success", 0.31), ("success", 0.36), ("partial", 0.25), ("failure", 0.06), ("unclear", 0.02)),
    5: (("verified_success", 0.35), ("success", 0.35), ("partial", 0.23), ("failure", 0.05), ("unclear", 0.02)),
}


def weighted(rng: random.Random, items: list[tuple[str, float]] | tuple[tuple[str, float], ...]) -> str:
    total = sum(w for _, w in items)
    r = rng.random() * total
    acc = 0.0
    for key, w in items:
        acc += w
        if r < acc:
            return key
    return items[-1][0]


def encode_cwd(cwd: str) -> str:
    """Claude Code's project folder name: every non-alphanumeric character becomes '-'."""
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


@dataclass(slots=True)
class Project:
    name: str
    cwd: str
    branch: str  # "" when not a git repository
    repo: str  # owner/name for git push output
    stack: str


@dataclass(slots=True)
class User:
    idx: int
    name: str  # directory name under out_dir (pseudonymous handle)
    first: str
    last: str
    occupation: str
    expertise: float
    language: str
    os: str  # mac | linux | windows
    home: str
    activity: float
    join_frac: float
    lag: float
    hooks: bool
    mcp: bool
    entrypoint: str
    permission: str
    tz_hours: int
    usual_topics: list[str]
    projects: dict[str, Project] = field(default_factory=dict)

    def sep(self) -> str:
        return "\\" if self.os == "windows" else "/"

    def project_for(self, topic: sc.Topic, rng: random.Random) -> Project:
        """The user's project for this topic (stable across their sessions)."""
        key = topic.key
        if key in self.projects:
            return self.projects[key]
        stack = STACKS[topic.stack]
        word = rng.choice(sc.PROJECT_WORDS)
        suffix = {"docs": "docs", "pandas": "analysis", "notebook": "research", "sql": "reports"}.get(topic.stack)
        name = f"{word}-{suffix or topic.key.split('-')[0]}"
        if topic.mode in ("write", "analyze") and topic.stack in ("docs", "pandas"):
            parent = rng.choice(("Documents", "Desktop", "work", "Documents/projects"))
        else:
            parent = rng.choice(("code", "projects", "dev", "src", "repos", "work"))
        if self.os == "windows":
            cwd = self.home + "\\" + parent.replace("/", "\\") + "\\" + name
        else:
            cwd = f"{self.home}/{parent}/{name}"
        git = stack.git or rng.random() < 0.3
        branch = ""
        if git:
            branch = rng.choice(("main", "main", "main", "master", "develop", f"feature/{topic.key}", f"fix/{word}"))
        repo = f"{self.first}{self.last[0]}/{name}" if rng.random() < 0.5 else f"{word}-labs/{name}"
        proj = Project(name=name, cwd=cwd, branch=branch, repo=repo, stack=topic.stack)
        self.projects[key] = proj
        return proj


@dataclass(slots=True)
class SessionPlan:
    index: int
    session_id: str
    user: User
    start_ms: int
    frac: float
    version: str
    mode: str
    topic: sc.Topic
    project: Project
    expertise: int
    outcome: str
    evidence: str  # commit | tests_pass | user_confirmed | "" (only for verified_success)
    language: str
    n_prompts: int
    trouble: bool
    slash_start: str | None
    slash_end: bool
    image: bool
    plant_secret: bool
    subagents: int
    api_error: bool
    synthetic_error: bool
    hooks: bool
    resumed_from: str | None = None  # session id whose history this file copies
    stub: str = ""  # a session in which nothing can be judged (STUB_KINDS), written instead of the planned work

    @property
    def month(self) -> str:
        return datetime.fromtimestamp(self.start_ms / 1000, UTC).strftime("%Y-%m")


def new_uuid(rng: random.Random) -> str:
    n = rng.getrandbits(128)
    n = (n & ~(0xF000 << 64)) | (0x4000 << 64)
    n = (n & ~(0xC000 << 48)) | (0x8000 << 48)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Population:
    """Users plus the calendar; draws session plans one at a time."""

    def __init__(self, rng: random.Random, *, users: int, months: int, start: str) -> None:
        self.rng = rng
        self.months = months
        y, m, d = (int(x) for x in start.split("-"))
        self.start_ms = int(datetime(y, m, d, tzinfo=UTC).timestamp() * 1000)
        # Month boundaries (calendar months from the start date).
        bounds = [self.start_ms]
        yy, mm = y, m
        for _ in range(months):
            days = calendar.monthrange(yy, mm)[1]
            bounds.append(bounds[-1] + days * DAY_MS)
            mm += 1
            if mm > 12:
                yy, mm = yy + 1, 1
        self.bounds = bounds
        self.end_ms = bounds[-1]
        self.users = [self._make_user(i) for i in range(users)]
        # Per-month cumulative activity weights of users who have joined by mid-month.
        self._cum: list[tuple[list[float], list[User]]] = []
        for k in range(months):
            mid = (k + 0.5) / months
            elig = [u for u in self.users if u.join_frac <= mid] or self.users[:1]
            cum, acc = [], 0.0
            for u in elig:
                acc += u.activity
                cum.append(acc)
            self._cum.append((cum, elig))
        self.month_weights = [1.0 + 0.12 * k for k in range(months)]

    # -------------------------------------------------------------- users
    def _make_user(self, i: int) -> User:
        rng = self.rng
        occ = weighted(rng, [(o.soc, o.share) for o in sc.OCCUPATIONS])
        o = sc.OCC_BY_SOC[occ]
        first, last = rng.choice(sc.FIRST_NAMES), rng.choice(sc.LAST_NAMES)
        style = rng.random()
        if style < 0.4:
            handle = f"{first}.{last}"
        elif style < 0.7:
            handle = f"{first[0]}{last}"
        else:
            handle = f"{first}{rng.randint(1, 99)}"
        name = f"u{i:03d}-{handle}"
        osr = rng.random()
        p_mac, p_win = (0.6, 0.12) if occ == "15" else (0.55, 0.3)
        os_ = "mac" if osr < p_mac else ("windows" if osr < p_mac + p_win else "linux")
        home = {"mac": f"/Users/{handle}", "linux": f"/home/{handle}", "windows": f"C:\\Users\\{handle}"}[os_]
        p_early = 0.55 / (1 + o.growth)
        join = 0.0 if rng.random() < p_early else 0.9 * rng.random() ** (1 / (1 + o.growth))
        lr = rng.random()
        lag = 0.0 if lr < 0.6 else (rng.uniform(0, 0.1) if lr < 0.9 else rng.uniform(0.1, 0.35))
        language = "en" if rng.random() < 0.9 else rng.choice(sc.LANGUAGES)
        tz = {"es": 1, "de": 1, "fr": 1, "pt": -3, "ja": 9, "zh": 8, "ru": 3, "ko": 9, "vi": 7, "id": 7}.get(
            language, rng.choice((-8, -7, -5, -5, -4, 0, 1, 1, 2, 5)))
        # Usual topics: drawn from the occupation's affinities.
        usual: list[str] = []
        for _ in range(rng.randint(2, 5)):
            mode = weighted(rng, list(o.modes.items()))
            t = self._pick_topic(mode, occ)
            if t.key not in usual:
                usual.append(t.key)
        return User(
            idx=i, name=name, first=first, last=last, occupation=occ,
            expertise=min(5.0, max(1.0, rng.gauss(o.expertise, 0.8))), language=language, os=os_, home=home,
            activity=rng.lognormvariate(0.0, 0.9), join_frac=join, lag=lag, hooks=rng.random() < 0.15,
            mcp=rng.random() < 0.2, entrypoint=rng.choice(("cli", "cli", "cli", "claude-vscode", "claude-desktop")),
            permission=rng.choice(("default", "default", "acceptEdits", "bypassPermissions")), tz_hours=tz,
            usual_topics=usual,
        )

    def _pick_topic(self, mode: str, occ: str) -> sc.Topic:
        topics = sc.TOPICS_BY_MODE[mode]
        return sc.TOPICS_BY_MODE[mode][
            _index_weighted(self.rng, [t.occ.get(occ, 0.02) for t in topics])
        ]

    # -------------------------------------------------------------- sessions
    def draw(self, index: int, session_id: str) -> SessionPlan:
        rng = self.rng
        k = _index_weighted(rng, self.month_weights)
        cum, elig = self._cum[k]
        user = elig[min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(elig) - 1)]
        lo, hi = self.bounds[k], self.bounds[k + 1]
        day = lo + rng.randrange((hi - lo) // DAY_MS) * DAY_MS
        if rng.random() < 0.8 and datetime.fromtimestamp(day / 1000, UTC).weekday() >= 5:
            day -= 2 * DAY_MS if day - 2 * DAY_MS >= lo else -2 * DAY_MS
        local_hour = min(23.5, max(0.0, rng.gauss(13.5, 3.2)))
        start = day + int(((local_hour - user.tz_hours) % 24) * 3_600_000) + rng.randrange(3_600_000)
        start = min(max(start, self.start_ms), self.end_ms - 3 * 3_600_000)
        frac = (start - self.start_ms) / (self.end_ms - self.start_ms)
        return self._plan(index, session_id, user, start, frac)

    def _plan(self, index: int, sid: str, user: User, start: int, frac: float,
              topic: sc.Topic | None = None) -> SessionPlan:
        rng = self.rng
        occ = sc.OCC_BY_SOC[user.occupation]
        if topic is None:
            if user.usual_topics and rng.random() < 0.55:
                cand = [t for t in sc.TOPICS if t.key in user.usual_topics]
                weights = [sc.mode_drift(t.mode, frac) for t in cand]
                topic = cand[_index_weighted(rng, weights)]
            else:
                mode = weighted(rng, [(m, occ.modes.get(m, 0.05) * sc.mode_drift(m, frac)) for m in MODE_KEYS])
                topic = self._pick_topic(mode, user.occupation)
        mode = topic.mode
        familiar = topic.occ.get(user.occupation, 0.0) >= 0.3
        e = user.expertise + rng.gauss(0, 0.55) - (0.0 if familiar else 1.0)
        expertise = int(min(5, max(1, round(e))))
        outcome = weighted(rng, OUTCOME_TABLE[expertise])
        stack = STACKS[topic.stack]
        project = user.project_for(topic, rng)
        evidence = ""
        if outcome == "verified_success":
            opts: list[tuple[str, float]] = [("user_confirmed", 0.3)]
            if stack.test_cmds and mode in CODE_PRODUCING_MODES | {"operate"}:
                opts.append(("tests_pass", 0.5))
            if project.branch:
                opts.append(("commit", 0.4 if mode in CODE_PRODUCING_MODES else 0.15))
            evidence = weighted(rng, opts)
        if outcome == "unclear":
            n_prompts = 1
        else:
            n_prompts = 1 + min(18, int(rng.expovariate(1 / 3.2)))
            if outcome in ("verified_success", "success", "partial") and n_prompts == 1 and rng.random() < 0.5:
                n_prompts = 2
        trouble_p = {1: 0.45, 2: 0.4, 3: 0.3, 4: 0.25, 5: 0.22}[expertise]
        trouble = outcome == "failure" or rng.random() < trouble_p
        version = version_at(frac - user.lag)
        slash = None
        if rng.random() < 0.15:
            slash = rng.choice(("/clear", "/model", "/mcp", "/config", "/cost", "/memory", "/agents", "/status"))
        sub_p = 0.35 if mode in ("understand", "plan") else 0.08 + 0.03 * expertise
        subagents = 0
        if rng.random() < sub_p:
            subagents = 1 + (rng.random() < 0.3)
        ui_topic = topic.stack in ("react", "site", "nextjs", "swift", "streamlit")
        return SessionPlan(
            index=index, session_id=sid, user=user, start_ms=start, frac=frac, version=version, mode=mode,
            topic=topic, project=project, expertise=expertise, outcome=outcome, evidence=evidence,
            language=user.language, n_prompts=n_prompts, trouble=trouble, slash_start=slash,
            slash_end=rng.random() < 0.12, image=rng.random() < (0.15 if ui_topic else 0.02),
            plant_secret=rng.random() < SECRET_RATE, subagents=subagents, api_error=rng.random() < 0.05,
            synthetic_error=rng.random() < 0.025, hooks=user.hooks,
        )

    def continuation(self, index: int, sid: str, prev: SessionPlan, end_ms: int) -> SessionPlan:
        """A resumed session that continues ``prev`` (same user, project and topic)."""
        start = min(end_ms + self.rng.randint(600_000, 36 * 3_600_000), self.end_ms - 3_600_000)
        start = max(start, end_ms + 60_000)
        frac = min(1.0, (start - self.start_ms) / (self.end_ms - self.start_ms))
        plan = self._plan(index, sid, prev.user, start, frac, topic=prev.topic)
        plan.version = prev.version
        plan.project = prev.project
        plan.resumed_from = prev.session_id
        plan.slash_start = None
        return plan


def _index_weighted(rng: random.Random, weights: list[float]) -> int:
    total = sum(weights)
    r = rng.random() * total
    acc = 0.0
    for i, w in enumerate(weights):
        acc += w
        if r < acc:
            return i
    return len(weights) - 1
