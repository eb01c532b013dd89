"""Recall of the signature table on AIDev's labelled agent-PR commits.

AIDev-pop (``shared/data/agent_commits/aidev_pop/<Agent>/pr_commits.csv``) lists
the commits of PRs opened by five agents, with columns ``pr_id, sha, author,
committer, message``. ``author``/``committer`` are GitHub *logins*, not git
identities; a login is turned into the identity git would carry for it: name =
login, e-mail = ``login@users.noreply.github.com`` (GitHub's address for app and
bot accounts, e.g. ``Copilot``, ``devin-ai-integration[bot]``).

Not every commit of an agent PR is the agent's (people push fixes and merge
the base branch in), so commit recall is a lower bound; PR recall (at least one
commit of the PR detected) is what a repository-level adoption measure needs.
Only counts leave this module.

Run ``python -m codecensus.gitagents.aidev [AIDEV_POP_DIR]`` for the table.
"""

from __future__ import annotations

import csv
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from codecensus.gitagents.signatures import (
    AUTOMATION,
    CONF_RANK,
    CommitView,
    SignatureSet,
    default_signatures,
)

#: AIDev folder name -> codecensus agent id
AIDEV_AGENTS = {
    "Claude_Code": "claude_code",
    "Copilot": "copilot",
    "Cursor": "cursor",
    "Devin": "devin",
    "OpenAI_Codex": "codex",
}


def find_aidev_pop(shared: str | Path | None = None) -> Path | None:
    """``.../shared/data/agent_commits/aidev_pop`` when present."""
    candidates: list[Path] = []
    if shared is not None:
        candidates.append(Path(shared))
    env = os.environ.get("CODECENSUS_SHARED")
    if env:
        candidates.append(Path(env))
    candidates.append(Path(__file__).resolve().parents[4] / "shared")
    for c in candidates:
        p = c / "data" / "agent_commits" / "aidev_pop"
        if p.is_dir():
            return p
    return None


def commit_view(row: dict[str, str]) -> CommitView:
    """An AIDev ``pr_commits.csv`` row as the detector sees a git commit."""

    def ident(login: str) -> tuple[str, str]:
        login = (login or "").strip()
        return login, (f"{login}@users.noreply.github.com" if login else "")

    an, ae = ident(row.get("author", ""))
    cn, ce = ident(row.get("committer", ""))
    return CommitView(
        author_name=an,
        author_email=ae,
        committer_name=cn,
        committer_email=ce,
        message=row.get("message") or "",
    )


@dataclass
class AgentRecall:
    agent: str
    commits: int = 0
    detected: int = 0  # attributed to this agent at min_confidence
    detected_h: int = 0  # ... with an H signature
    other_agent: Counter[str] = field(default_factory=Counter)
    miss_reasons: Counter[str] = field(default_factory=Counter)
    signature_hits: Counter[str] = field(default_factory=Counter)
    prs: int = 0
    prs_detected: int = 0

    @property
    def recall(self) -> float:
        return self.detected / self.commits if self.commits else 0.0

    @property
    def recall_h(self) -> float:
        return self.detected_h / self.commits if self.commits else 0.0

    @property
    def pr_recall(self) -> float:
        return self.prs_detected / self.prs if self.prs else 0.0


def _miss_reason(row: dict[str, str], agent_hits: bool, automation: bool, weak: bool) -> str:
    msg = row.get("message") or ""
    author = (row.get("author") or "").strip()
    if msg.startswith("Merge ") or msg.startswith("Merged "):
        return "merge commit (base branch merged in / PR merge)"
    if automation:
        return "non-agent bot author (github-actions etc.)"
    if weak:
        return "only a weak (L) signature"
    if agent_hits:
        return "signature below the confidence floor"
    if not author:
        return "no GitHub login for the author (unlinked e-mail)"
    return "human-looking author, no agent trailer/phrase in the message"


def evaluate_aidev(
    root: str | Path, signatures: SignatureSet | None = None, min_confidence: str = "M"
) -> dict[str, AgentRecall]:
    """Per-agent recall of the detector on AIDev-pop commits."""
    sigs = signatures or default_signatures()
    floor = CONF_RANK[min_confidence.upper()]
    csv.field_size_limit(1 << 30)
    out: dict[str, AgentRecall] = {}
    for folder, agent in AIDEV_AGENTS.items():
        path = Path(root) / folder / "pr_commits.csv"
        if not path.is_file():
            continue
        rec = AgentRecall(agent=agent)
        pr_hit: dict[str, bool] = {}
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            for row in csv.DictReader(fh):
                rec.commits += 1
                det = sigs.detect(commit_view(row))
                pr = row.get("pr_id", "")
                ok = det is not None and det.agent == agent and CONF_RANK[det.confidence] >= floor
                pr_hit[pr] = pr_hit.get(pr, False) or ok
                if ok and det is not None:
                    rec.detected += 1
                    rec.detected_h += det.confidence == "H"
                    rec.signature_hits[det.signatures[0]] += 1
                    continue
                if det is not None and det.is_agent and CONF_RANK[det.confidence] >= floor:
                    rec.other_agent[det.agent] += 1
                    continue
                rec.miss_reasons[
                    _miss_reason(
                        row,
                        agent_hits=det is not None and det.is_agent,
                        automation=det is not None and det.agent == AUTOMATION,
                        weak=det is not None and det.is_agent and det.confidence == "L",
                    )
                ] += 1
        rec.prs = len(pr_hit)
        rec.prs_detected = sum(pr_hit.values())
        out[agent] = rec
    return out


def format_recall(results: dict[str, AgentRecall]) -> str:
    lines = [
        f"{'agent':<12} {'commits':>8} {'recall':>7} {'H-only':>7} {'other':>6} {'PRs':>6} {'PR recall':>9}",
    ]
    for r in results.values():
        lines.append(
            f"{r.agent:<12} {r.commits:>8} {r.recall:>7.1%} {r.recall_h:>7.1%} {sum(r.other_agent.values()):>6} "
            f"{r.prs:>6} {r.pr_recall:>9.1%}"
        )
    for r in results.values():
        lines.append(f"{r.agent}: best signature {dict(r.signature_hits.most_common(4))}")
        if r.other_agent:
            lines.append(f"  attributed to another agent: {dict(r.other_agent.most_common())}")
        for reason, n in r.miss_reasons.most_common():
            lines.append(f"  missed {n:>6}  {reason}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else find_aidev_pop()
    if root is None or not root.is_dir():
        print("AIDev-pop data not found (pass its folder)", file=sys.stderr)
        return 2
    print(format_recall(evaluate_aidev(root)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
