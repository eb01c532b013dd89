"""Benchmark: scan a 100K-commit repository for agent commits.

    .venv/bin/python benchmarks/gitagents.py [--commits 100000] [--keep DIR]

Builds a repository with ``git fast-import`` (realistic multi-line messages,
~300 authors, ~6% agent commits in their real shapes, 1% merged ``codex/``
branches), then times ``git log`` alone and the full scan, and checks the
scan's counts against what was generated.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from codecensus.gitagents.demo import SynthCommit, agent_commit, write_history
from codecensus.gitagents.scan import GIT_FORMAT, scan_repo

AGENTS = ("claude_code", "copilot", "cursor", "devin", "aider", "amp", "jules", "openhands")
WORDS = (
    "parser cache handler config retry timeout index schema migration worker queue client server token "
    "buffer stream render layout widget module plugin adapter driver kernel thread socket request"
).split()


def build(path: Path, n: int, seed: int = 7) -> Counter[str]:
    rng = random.Random(seed)
    humans = [(f"Dev {i}", f"dev{i}@example.com") for i in range(300)]
    t = 1_600_000_000
    commits: list[SynthCommit] = []
    expected: Counter[str] = Counter()
    while len(commits) < n:
        t += rng.randint(60, 1200)
        human = rng.choice(humans)
        words = " ".join(rng.choices(WORDS, k=rng.randint(3, 8)))
        body = "\n".join(" ".join(rng.choices(WORDS, k=12)) for _ in range(rng.randint(0, 6)))
        subject = f"Improve {words}"
        r = rng.random()
        if r < 0.06:
            agent = rng.choice(AGENTS)
            c = agent_commit(agent, human, t, subject, rng)
            c.message = c.message.replace("\n\n", f"\n\n{body}\n\n", 1) if body else c.message
            commits.append(c)
            expected[agent] += 1
        elif r < 0.07:
            br = f"codex/task-{len(commits)}"
            commits.append(SynthCommit(human[0], human[1], t, subject, branch=br))
            commits.append(
                SynthCommit(
                    human[0], human[1], t + 30, f"Merge pull request #{len(commits)} from o/{br}", merge=br
                )
            )
            expected["codex"] += 2
        elif r < 0.075:
            commits.append(
                SynthCommit(
                    "dependabot[bot]",
                    "49699333+dependabot[bot]@users.noreply.github.com",
                    t,
                    "Bump lib from 1.0 to 1.1",
                )
            )
            expected["automation"] += 1
        else:
            trailer = f"\n\nSigned-off-by: {human[0]} <{human[1]}>" if rng.random() < 0.2 else ""
            commits.append(SynthCommit(human[0], human[1], t, f"{subject}\n\n{body}{trailer}"))
            expected["human"] += 1
    write_history(path, commits)
    return expected


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--commits", type=int, default=100_000)
    ap.add_argument("--keep", type=Path, default=None, help="build the repository here and keep it")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = args.keep or Path(tmp) / "big"
        t0 = time.perf_counter()
        expected = build(repo, args.commits)
        t_build = time.perf_counter() - t0

        t0 = time.perf_counter()
        subprocess.run(
            ["git", "-C", str(repo), "log", "--all", "-z", f"--format={GIT_FORMAT}"],
            stdout=subprocess.DEVNULL,
            check=True,
        )
        t_git = time.perf_counter() - t0

        times = []
        scan = None
        for _ in range(3):
            t0 = time.perf_counter()
            scan = scan_repo(repo)
            times.append(time.perf_counter() - t0)
        assert scan is not None and scan.error is None, scan and scan.error
        got: Counter[str] = Counter()
        for (_, agent, _), g in scan.groups.items():
            got[agent] += g.commits
        total = sum(expected.values())
        print(f"commits generated      {total:,}")
        print(f"fast-import build      {t_build:6.2f} s")
        print(f"git log alone          {t_git:6.2f} s")
        print(f"scan (best of 3)       {min(times):6.2f} s  ({scan.commits / min(times):,.0f} commits/s)")
        print(f"scan runs              {', '.join(f'{x:.2f}' for x in times)} s")
        ok = all(got[a] == expected[a] for a in set(expected) | set(got))
        print(f"counts match generated {ok}")
        for a in sorted(set(expected) | set(got)):
            print(f"  {a:<12} expected {expected[a]:>7,}  scanned {got[a]:>7,}")


if __name__ == "__main__":
    main()
