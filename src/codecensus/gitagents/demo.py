"""Synthetic git histories with known agent and human commits.

:func:`write_history` builds a repository from a list of :class:`SynthCommit`
with one ``git fast-import`` run (fast: 100K commits in seconds, exact dates);
:func:`make_demo_repos` makes a small folder of repositories whose agent
adoption rises over 18 months, for the demo report; :func:`agent_commit` gives
the commit shape each agent leaves in real histories.
"""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(slots=True)
class SynthCommit:
    """One commit to write. ``branch`` is created from ``base``'s tip on first use."""

    author_name: str
    author_email: str
    when: int  # epoch seconds, UTC
    message: str
    committer_name: str | None = None
    committer_email: str | None = None
    branch: str = "main"
    base: str | None = None  # branch to start ``branch`` from (default: main)
    merge: str | None = None  # branch whose tip becomes the second parent


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def write_history(
    repo: str | Path, commits: Iterable[SynthCommit], *, bare: bool = False, head: str = "main"
) -> Path:
    """Create (or extend) a repository with ``commits`` via ``git fast-import``."""
    path = Path(repo)
    path.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    if not (path / ".git").exists() and not (path / "HEAD").exists():
        init = ["git", "init", "-q", f"--initial-branch={head}"]
        if bare:
            init.append("--bare")
        subprocess.run([*init, str(path)], check=True, env=env)
    tips: dict[str, int] = {}
    chunks: list[bytes] = []
    for mark, c in enumerate(commits, 1):
        ident_a = f"{c.author_name} <{c.author_email}> {c.when} +0000".encode()
        ident_c = f"{c.committer_name or c.author_name} <{c.committer_email or c.author_email}> {c.when} +0000".encode()
        msg = c.message if c.message.endswith("\n") else c.message + "\n"
        out = [b"commit refs/heads/%s\n" % c.branch.encode(), b"mark :%d\n" % mark]
        out += [b"author " + ident_a + b"\n", b"committer " + ident_c + b"\n", _data(msg.encode())]
        if c.branch not in tips:
            base = tips.get(c.base or "main")
            if base is not None:
                out.append(b"from :%d\n" % base)
        if c.merge is not None:
            out.append(b"merge :%d\n" % tips[c.merge])
        body = f"{mark}\n".encode()
        out.append(b"M 644 inline %s\n" % f"f{mark % 97}.txt".encode())
        out.append(_data(body))
        chunks.append(b"".join(out) + b"\n")
        tips[c.branch] = mark
    stream = b"".join(chunks) + b"done\n"
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet", "--done", "--force"],
        input=stream,
        check=True,
        env=env,
        capture_output=True,
    )
    if not bare:
        subprocess.run(
            ["git", "-C", str(path), "symbolic-ref", "HEAD", f"refs/heads/{head}"], check=True, env=env
        )
    return path


# ---------------------------------------------------------------------------
# agent commit shapes (from shared/reference/anchors.md section 7.1)

HUMANS = [
    ("Ada Lovelace", "ada@example.org"),
    ("Grace Hopper", "grace@example.org"),
    ("Linus Pauling", "linus@example.org"),
    ("Claude Martin", "claude.martin@example.org"),  # a human called Claude: must stay human
    ("Katherine Johnson", "kj@example.org"),
]
_SUBJECTS = [
    "Fix flaky test",
    "Add CLI flag",
    "Refactor parser",
    "Update docs",
    "Bump version",
    "Handle empty input",
]


def agent_commit(
    agent: str, human: tuple[str, str], when: int, subject: str, rng: random.Random
) -> SynthCommit:
    """A commit as ``agent`` leaves it in a real history, on behalf of ``human``."""
    name, email = human
    if agent == "claude_code":
        model = rng.choice(["Claude", "Claude Sonnet 4.5", "Claude Opus 4.1"])
        msg = f"{subject}\n\n🤖 Generated with [Claude Code](https://claude.ai/code)\n\nCo-Authored-By: {model} <noreply@anthropic.com>\n"
        return SynthCommit(name, email, when, msg)
    if agent == "copilot":
        return SynthCommit(
            "Copilot",
            "198982749+Copilot@users.noreply.github.com",
            when,
            f"{subject}\n\nCo-authored-by: {name} <{email}>\n",
        )
    if agent == "cursor":
        return SynthCommit("Cursor Agent", "cursoragent@cursor.com", when, subject)
    if agent == "devin":
        return SynthCommit(
            "devin-ai-integration[bot]",
            "158243242+devin-ai-integration[bot]@users.noreply.github.com",
            when,
            f"{subject}\n\nCo-Authored-By: {name} <{email}>\n",
        )
    if agent == "aider":
        return SynthCommit(f"{name} (aider)", email, when, f"feat: {subject.lower()}")
    if agent == "amp":
        return SynthCommit(
            name,
            email,
            when,
            f"{subject}\n\nAmp-Thread-ID: https://ampcode.com/threads/T-{rng.randrange(10**8)}\nCo-authored-by: Amp <amp@ampcode.com>\n",
        )
    if agent == "jules":
        return SynthCommit(
            "google-labs-jules[bot]",
            "161369871+google-labs-jules[bot]@users.noreply.github.com",
            when,
            subject,
        )
    if agent == "openhands":
        return SynthCommit("openhands", "openhands@all-hands.dev", when, subject)
    raise ValueError(f"no commit shape for {agent}")


DEMO_AGENTS = ("claude_code", "copilot", "cursor", "devin", "aider", "codex")


def make_demo_repos(
    out_dir: str | Path, seed: int = 0, n_repos: int = 12, start: str = "2025-01"
) -> list[Path]:
    """A folder of small repositories with agent adoption rising over 18 months.

    Each repository has human commits every month; from a random adoption month
    on (later months more likely, some repositories never) one or two agents add
    commits in their real shapes. Codex leaves no commit signature, so its work
    arrives as a merged ``codex/...`` branch. Deterministic for a given seed.
    """
    rng = random.Random(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    y0, m0 = (int(x) for x in start.split("-"))
    months = 18
    month_starts = [
        int(datetime(y0 + (m0 - 1 + k) // 12, (m0 - 1 + k) % 12 + 1, 1, tzinfo=UTC).timestamp())
        for k in range(months + 1)
    ]
    repos: list[Path] = []
    for r in range(n_repos):
        adopt = None if rng.random() < 0.15 else min(months - 1, 3 + int((months - 3) * rng.random() ** 0.6))
        agents = [DEMO_AGENTS[r % len(DEMO_AGENTS)]]
        if rng.random() < 0.3:
            agents.append(rng.choice([a for a in DEMO_AGENTS if a not in agents]))
        humans = rng.sample(HUMANS, k=rng.randint(1, 3))
        commits: list[SynthCommit] = []
        for k in range(months):
            lo, hi = month_starts[k], month_starts[k + 1] - 1
            n = rng.randint(2, 7) if rng.random() < 0.9 else 0
            stamps = sorted(rng.randint(lo, hi) for _ in range(n))
            for ts in stamps:
                human = rng.choice(humans)
                subject = rng.choice(_SUBJECTS)
                p_agent = 0.0 if adopt is None or k < adopt else min(0.75, 0.35 + 0.08 * (k - adopt))
                if not commits or rng.random() >= p_agent:
                    commits.append(SynthCommit(human[0], human[1], ts, subject))
                    continue
                agent = rng.choice(agents)
                if agent == "codex":
                    br = f"codex/{subject.lower().replace(' ', '-')}-{len(commits)}"
                    commits.append(SynthCommit(human[0], human[1], ts, subject, branch=br))
                    commits.append(
                        SynthCommit(
                            human[0],
                            human[1],
                            min(hi, ts + 60),
                            f"Merge pull request #{len(commits)} from demo/{br}\n\n{subject}",
                            merge=br,
                        )
                    )
                else:
                    commits.append(agent_commit(agent, human, ts, subject, rng))
            if k % 5 == 4:
                commits.append(
                    SynthCommit(
                        "dependabot[bot]",
                        "49699333+dependabot[bot]@users.noreply.github.com",
                        hi - 3600,
                        "Bump requests from 2.31.0 to 2.32.0",
                    )
                )
        commits.sort(key=lambda c: c.when)
        repos.append(write_history(out / f"demo-repo-{r:02d}", commits))
    return repos
