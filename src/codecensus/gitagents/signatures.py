"""The signature table: which commits come from a coding agent.

The table lives in one data file (``codecensus/data/agent_signatures.toml``); this
module loads it, validates it and compiles it into a :class:`SignatureSet` whose
:meth:`SignatureSet.detect` classifies one commit.

Speed matters (100K commits in seconds), so detection is split in two:

* identity fields (names, e-mails) repeat across commits, so their result is
  cached per ``(author, committer)`` pair;
* messages are unique, so each message-level field is first tested with ONE
  combined alternation regex; only the rare commits that hit it are matched
  against the individual signatures to learn which ones fired.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

#: Agent labels that are not coding agents.
HUMAN = "human"
AUTOMATION = "automation"
NON_AGENTS = frozenset({HUMAN, AUTOMATION})

CONFIDENCES = ("L", "M", "H")
CONF_RANK = {c: i for i, c in enumerate(CONFIDENCES)}

IDENTITY_FIELDS = ("name", "email", "author_name", "author_email")
MESSAGE_FIELDS = ("trailer", "subject", "message")
BRANCH_FIELD = "branch"
WHERE = (*IDENTITY_FIELDS, *MESSAGE_FIELDS, BRANCH_FIELD)
# identity > trailer > subject/message > branch
_WHERE_RANK = {
    "name": 3,
    "email": 3,
    "author_name": 3,
    "author_email": 3,
    "trailer": 2,
    "subject": 1,
    "message": 1,
    "branch": 0,
}

#: Display names for the report.
AGENT_LABELS: dict[str, str] = {
    "claude_code": "Claude Code",
    "copilot": "GitHub Copilot",
    "cursor": "Cursor",
    "devin": "Devin",
    "jules": "Jules",
    "gemini_code_assist": "Gemini Code Assist",
    "codex": "OpenAI Codex",
    "openhands": "OpenHands",
    "amp": "Amp",
    "aider": "Aider",
    "factory_droid": "Factory Droid",
    "codegen": "Codegen",
    "sweep": "Sweep",
    "amazon_q": "Amazon Q Developer",
    "gitlab_duo": "GitLab Duo",
    AUTOMATION: "automation bots",
    HUMAN: "human",
}

_NOREPLY_PREFIX = re.compile(r"^[0-9]+\+")
# GitLab's private commit address: ``{user id}-{username}@users.noreply.{the instance's host}``
_GITLAB_NOREPLY_PREFIX = re.compile(r"^[0-9]+-(?=[^@]+@users\.noreply\.)")
_MERGE_RX = re.compile(
    r"^Merge (?:pull request #\d+ from (?P<pr>\S+)"
    r"|remote-tracking branch '(?P<rt>[^']+)'(?: into (?P<rtdst>\S+))?"
    r"|branch '(?P<src>[^']+)'(?: of \S+)?(?: into (?P<dst>\S+))?"
    r"|(?:branch )?'?(?P<lsrc>[\w./-]+)'?(?: branch)? into '?(?P<ldst>[\w./-]+)'?\s*$)"
    r"|^Merged in (?P<bb>\S+) \(pull request",
)
# git's own subject for an octopus merge: Merge [remote-tracking ]branches 'a', 'b' and 'c'[ of url][ into x]
_OCTOPUS_RX = re.compile(
    r"^Merge (?P<rt>remote-tracking )?branches (?P<names>'[^']+'(?:, '[^']+')* and '[^']+')"
    r"(?: of \S+)?(?: into (?P<dst>\S+))?\s*$"
)


class SignatureError(ValueError):
    """The signature table is malformed."""


@dataclass(frozen=True, slots=True)
class Signature:
    id: str
    agent: str
    where: str
    pattern: str
    confidence: str
    note: str = ""
    order: int = 0

    @property
    def rank(self) -> tuple[int, int, int]:
        """Higher is more specific. Automation always ranks below every agent."""
        if self.agent == AUTOMATION:
            return (-1, _WHERE_RANK[self.where], -self.order)
        return (CONF_RANK[self.confidence], _WHERE_RANK[self.where], -self.order)


@dataclass(frozen=True, slots=True)
class Detection:
    """Result for one commit: the attributed agent and every signature that matched."""

    agent: str
    confidence: str
    signatures: tuple[str, ...]

    @property
    def is_agent(self) -> bool:
        return self.agent not in NON_AGENTS


@dataclass(slots=True)
class CommitView:
    """The parts of a commit the detector looks at."""

    author_name: str = ""
    author_email: str = ""
    committer_name: str = ""
    committer_email: str = ""
    message: str = ""
    branches: Sequence[str] = field(default_factory=tuple)


def normalize_email(email: str) -> str:
    """Lower-case and strip the numeric user id of GitHub's ``NNN+user@users.noreply.github.com`` and of GitLab's
    ``NNN-user@users.noreply.<host>`` (the older forms of both have none)."""
    e = email.strip().lower()
    if e[:1].isdigit():
        e = _GITLAB_NOREPLY_PREFIX.sub("", _NOREPLY_PREFIX.sub("", e), count=1)
    return e


def subject_of(message: str) -> str:
    nl = message.find("\n")
    return message if nl < 0 else message[:nl]


def merge_branches(subject: str) -> tuple[list[str], list[str]]:
    """Branch names quoted in a merge subject: (merged sources, merge targets).

    Understands GitHub (``Merge pull request #7 from owner/branch``), git
    (``Merge branch 'x' [of url] [into y]``, ``Merge remote-tracking branch
    'origin/x'``, the octopus ``Merge branches 'x', 'y' and 'z'``), GitLab (``... into 'y'``), Bitbucket (``Merged in x (pull
    request #7)``) and the hand-written ``Merge main into x``.
    """
    if not subject.startswith("Merge"):
        return [], []
    o = _OCTOPUS_RX.match(subject)
    if o:  # the sources in the order of the merge's second, third, ... parents
        names = re.findall(r"'([^']+)'", o["names"])
        if o["rt"]:
            names = [n.partition("/")[2] or n for n in names]  # remote/branch
        return names, [o["dst"]] if o["dst"] else []
    m = _MERGE_RX.match(subject)
    if not m:
        return [], []
    src: list[str] = []
    dst: list[str] = []
    if m["pr"]:
        _, _, b = m["pr"].partition("/")  # owner/branch
        src.append(b or m["pr"])
    if m["rt"]:
        _, _, b = m["rt"].partition("/")  # remote/branch
        src.append(b or m["rt"])
    if m["src"]:
        src.append(m["src"])
    if m["bb"]:
        src.append(m["bb"])
    if m["lsrc"]:
        src.append(m["lsrc"])
    for g in ("dst", "rtdst", "ldst"):
        if m[g]:
            dst.append(m[g].strip("'\""))
    return src, dst


def default_signature_path() -> Path:
    return Path(str(resources.files("codecensus") / "data" / "agent_signatures.toml"))


def load_signatures(path: str | Path | None = None) -> list[Signature]:
    """Read and validate the signature table."""
    p = Path(path) if path is not None else default_signature_path()
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SignatureError(f"{p}: {exc}") from exc
    except OSError as exc:  # missing, a folder, no access
        raise SignatureError(f"{p}: cannot read the signature table: {exc.strerror or exc}") from exc
    entries = doc.get("signature")
    if not isinstance(entries, list) or not entries:
        raise SignatureError(f"{p}: no [[signature]] entries")
    out: list[Signature] = []
    seen: set[str] = set()
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            raise SignatureError(f"{p}: entry {i} is not a [[signature]] table")
        missing = [k for k in ("id", "agent", "where", "pattern", "confidence") if not e.get(k)]
        if missing:
            raise SignatureError(f"{p}: entry {i} lacks {', '.join(missing)}")
        sig = Signature(
            id=str(e["id"]),
            agent=str(e["agent"]),
            where=str(e["where"]),
            pattern=str(e["pattern"]),
            confidence=str(e["confidence"]).upper(),
            note=str(e.get("note", "")),
            order=i,
        )
        if sig.id in seen:
            raise SignatureError(f"{p}: duplicate id {sig.id!r}")
        seen.add(sig.id)
        if sig.where not in WHERE:
            raise SignatureError(f"{p}: {sig.id}: where={sig.where!r} is not one of {', '.join(WHERE)}")
        if sig.confidence not in CONF_RANK:
            raise SignatureError(f"{p}: {sig.id}: confidence must be H, M or L")
        if sig.agent == HUMAN:
            raise SignatureError(f"{p}: {sig.id}: 'human' is the label for no match")
        if sig.where == "trailer" and not sig.pattern.startswith("^"):
            raise SignatureError(f"{p}: {sig.id}: trailer patterns must start with ^Key:")
        try:
            re.compile(sig.pattern)
        except re.error as exc:
            raise SignatureError(f"{p}: {sig.id}: bad pattern: {exc}") from exc
        out.append(sig)
    return out


_ESCAPED_LITERALS = frozenset(".[](){}?*+|^$\\/-@:#<>'\" ")


def literal_hint(pattern: str) -> str | None:
    """The longest literal every match of ``pattern`` must contain (lower-cased), or None.

    Used as a cheap substring pre-filter. Conservative: only literal runs at
    nesting depth 0 count; a top-level alternation, or a run shorter than 3
    characters, gives None (the signature is then always evaluated).
    """
    runs: list[str] = []
    cur: list[str] = []
    depth = 0
    i, n = 0, len(pattern)

    def flush() -> None:
        if cur:
            runs.append("".join(cur))
            cur.clear()

    while i < n:
        ch = pattern[i]
        lit: str | None = None
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            lit = nxt if nxt in _ESCAPED_LITERALS else None
            i += 2
        elif ch == "(":
            depth += 1
            flush()
            i += 1
            continue
        elif ch == ")":
            depth -= 1
            i += 1
            if i < n and pattern[i] in "?*{":
                i += 1
            continue
        elif ch == "[":
            j = pattern.find("]", i + 2)
            i = n if j < 0 else j + 1
        elif ch == "|":
            if depth == 0:
                return None
            i += 1
        elif ch in ".^$" or ch in "?*{+":
            i += 1
        else:
            lit = ch
            i += 1
        quant = pattern[i] if i < n else ""
        if depth > 0 or lit is None:
            flush()
            continue
        if quant in ("?", "*", "{"):
            flush()  # the literal is optional
            continue
        cur.append(lit)
        if quant == "+":
            flush()
    flush()
    best = max(runs, key=len, default="")
    return best.lower() if len(best) >= 3 else None


def _flags(where: str) -> int:
    return re.IGNORECASE | (re.MULTILINE if where in ("trailer", "message") else 0)


def _source(sig: Signature) -> str:
    """Trailer lines may be indented (squash-merge bodies quote the squashed commits)."""
    if sig.where == "trailer":
        return r"^[ \t]*(?:" + sig.pattern[1:] + ")"
    return sig.pattern


def _combined(sigs: Sequence[Signature], where: str) -> re.Pattern[str] | None:
    if not sigs:
        return None
    return re.compile("|".join(f"(?:{_source(s)})" for s in sigs), _flags(where))


class SignatureSet:
    """A compiled signature table."""

    def __init__(self, signatures: Iterable[Signature] | None = None) -> None:
        sigs = list(signatures) if signatures is not None else load_signatures()
        self.signatures = sigs
        self.by_id = {s.id: s for s in sigs}
        self._compiled = {s.id: re.compile(_source(s), _flags(s.where)) for s in sigs}
        self._by_where: dict[str, list[Signature]] = {w: [s for s in sigs if s.where == w] for w in WHERE}
        self._any = {w: _combined(self._by_where[w], w) for w in WHERE}
        # substring pre-filters for the message-level fields (None: always run the regex)
        self._hints: dict[str, tuple[str, ...] | None] = {}
        for w in MESSAGE_FIELDS:
            hs = [literal_hint(sg.pattern) for sg in self._by_where[w]]
            self._hints[w] = None if any(h is None for h in hs) else tuple(sorted({h for h in hs if h}))
        self._identity_cache: dict[tuple[str, str, str, str], tuple[Signature, ...]] = {}
        self.agents = sorted({s.agent for s in sigs})

    # -- field matchers -------------------------------------------------------
    def _match_field(self, where: str, *values: str) -> list[Signature]:
        anyp = self._any[where]
        if anyp is None or not any(v and anyp.search(v) for v in values):
            return []
        hits: list[Signature] = []
        for s in self._by_where[where]:
            rx = self._compiled[s.id]
            if any(v and rx.search(v) for v in values):
                hits.append(s)
        return hits

    def match_identity(
        self, author_name: str, author_email: str, committer_name: str, committer_email: str
    ) -> tuple[Signature, ...]:
        key = (author_name, author_email, committer_name, committer_email)
        hit = self._identity_cache.get(key)
        if hit is not None:
            return hit
        an, cn = author_name.strip(), committer_name.strip()
        ae, ce = normalize_email(author_email), normalize_email(committer_email)
        hits = (
            self._match_field("name", an, cn)
            + self._match_field("email", ae, ce)
            + self._match_field("author_name", an)
            + self._match_field("author_email", ae)
        )
        result = tuple(hits)
        if len(self._identity_cache) < 200_000:
            self._identity_cache[key] = result
        return result

    def match_message(self, message: str) -> list[Signature]:
        if not message:
            return []
        low = message.lower()
        hits: list[Signature] = []
        for where in MESSAGE_FIELDS:
            hints = self._hints[where]
            if hints is not None and not any(h in low for h in hints):
                continue
            if where == "subject":
                hits += self._match_field(where, subject_of(message).strip())
            else:
                hits += self._match_field(where, message)
        return hits

    def match_branches(self, branches: Iterable[str]) -> list[Signature]:
        names = [b for b in branches if b]
        if not names:
            return []
        return self._match_field(BRANCH_FIELD, *names)

    # -- detection -------------------------------------------------------------
    @staticmethod
    def resolve(hits: Iterable[Signature]) -> Detection | None:
        """Attribute a commit from its matching signatures (best rank wins)."""
        ranked = sorted(set(hits), key=lambda s: s.rank, reverse=True)
        if not ranked:
            return None
        best = ranked[0]
        return Detection(best.agent, best.confidence, tuple(s.id for s in ranked))

    def detect(self, commit: CommitView) -> Detection | None:
        hits = list(
            self.match_identity(
                commit.author_name, commit.author_email, commit.committer_name, commit.committer_email
            )
        )
        hits += self.match_message(commit.message)
        src, dst = merge_branches(subject_of(commit.message))
        hits += self.match_branches([*commit.branches, *src, *dst])
        return self.resolve(hits)


_DEFAULT: SignatureSet | None = None


def default_signatures() -> SignatureSet:
    """The packaged table, compiled once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = SignatureSet()
    return _DEFAULT


def passes(detection: Detection | None, min_confidence: str = "M") -> bool:
    """True when the detection counts as an agent contribution at ``min_confidence``."""
    return (
        detection is not None
        and detection.is_agent
        and CONF_RANK[detection.confidence] >= CONF_RANK[min_confidence.upper()]
    )
