"""Planted-topic summary sets for tests and benchmarks of the cluster stage.

Each topic is a stack plus a kind of work with its own vocabulary; every
session gets a one-sentence summary in the style of the offline classifier
(a mode template filled with a few of the topic's keywords), a user, a work
mode, an outcome and an expertise level. The planted topic is returned as the
ground truth. ``variety`` controls how many distinct sentences a corpus has
(templates make many summaries identical, as real offline summaries are).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from codecensus.cluster.model import SummaryFrame

# (stack words, kinds of work): a topic is one stack × one work kind.
STACKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Django", ("models", "views", "ORM queries", "admin", "migrations", "templates")),
    ("React", ("components", "hooks", "state", "forms", "props", "JSX")),
    ("Express", ("routes", "middleware", "endpoints", "Node.js server", "request handlers", "JSON responses")),
    ("Kubernetes", ("pods", "deployments", "Helm charts", "ingress", "services", "cluster nodes")),
    ("Terraform", ("modules", "AWS resources", "state files", "providers", "variables", "plans")),
    ("pandas", ("dataframes", "CSV files", "groupby", "pivot tables", "missing values", "charts")),
    ("PostgreSQL", ("queries", "indexes", "schemas", "joins", "transactions", "slow queries")),
    ("Rust", ("crates", "borrow checker", "lifetimes", "cargo builds", "traits", "async tasks")),
    ("GitHub Actions", ("workflows", "CI pipelines", "runners", "build matrix", "caching", "release jobs")),
    ("Docker", ("containers", "Dockerfiles", "images", "compose files", "volumes", "networking")),
    ("Flutter", ("widgets", "screens", "Dart code", "navigation", "layouts", "mobile app")),
    ("LaTeX", ("papers", "bibliography", "figures", "tables", "equations", "sections")),
    ("Spring Boot", ("controllers", "beans", "JPA entities", "REST endpoints", "Maven builds", "services")),
    ("Unity", ("game scenes", "C# scripts", "physics", "prefabs", "animations", "player controls")),
    ("Jupyter", ("notebooks", "regression models", "plots", "statistics", "datasets", "feature engineering")),
    ("Bash", ("shell scripts", "cron jobs", "log rotation", "file backups", "command pipelines", "environment setup")),
)
WORK: dict[str, tuple[str, tuple[str, ...]]] = {
    "fix": ("fix", ("Fix a bug in the {s} {a} and {b}", "Repair failing {s} {a} after an upgrade",
                    "Fix errors in {s} {a} related to {b}")),
    "build": ("build", ("Build new {s} {a} with {b}", "Create a {s} feature using {a} and {b}",
                        "Implement {s} {a} for a new project")),
    "test": ("test", ("Write tests for {s} {a} and {b}", "Add unit tests covering {s} {a}",
                      "Repair flaky tests around {s} {a}")),
    "operate": ("operate", ("Deploy and configure {s} {a}", "Set up {s} {a} and {b} on a server",
                            "Configure {s} {a} for production")),
    "understand": ("understand", ("Explain how the {s} {a} and {b} work", "Explore the {s} codebase around {a}",
                                  "Answer questions about {s} {a}")),
    "analyze": ("analyze", ("Analyze data with {s} {a} and {b}", "Compute statistics from {s} {a}",
                            "Summarize {s} {a} into a report")),
    "write": ("write", ("Write documentation for {s} {a}", "Draft a guide about {s} {a} and {b}",
                        "Write a README covering {s} {a}")),
}
OUTCOMES = ("verified_success", "success", "partial", "failure", "unclear")


@dataclass(slots=True)
class Planted:
    frame: SummaryFrame
    topics: list[str]  # planted topic per session

    @property
    def topic_by_key(self) -> dict[str, str]:
        return dict(zip(self.frame.session_key, self.topics, strict=True))


def topics(n: int) -> list[tuple[str, str, str]]:
    """``n`` topics as (key, stack, work kind), spread over stacks first."""
    kinds = list(WORK)
    out = []
    for i in range(n):
        stack = STACKS[i % len(STACKS)][0]
        kind = kinds[(i // len(STACKS) + i) % len(kinds)]
        out.append((f"{stack.lower().replace(' ', '-')}-{kind}", stack, kind))
    return out


def planted_frame(
    n_sessions: int,
    *,
    n_topics: int = 20,
    n_users: int = 200,
    seed: int = 0,
    variety: float = 1.0,
    noise: float = 0.0,
) -> Planted:
    """A frame of ``n_sessions`` template summaries over ``n_topics`` planted topics.

    ``variety`` in (0, 1] thins the keyword choice (fewer distinct sentences); ``noise`` is the share
    of sessions whose summary uses a random other topic's keywords (mislabelled by construction).
    """
    rng = random.Random(seed)
    tops = topics(n_topics)
    vocab = dict(STACKS)
    weights = [1.0 / (1 + 0.15 * i) for i in range(n_topics)]  # unequal topic sizes
    keys, summaries, users, modes, outcomes, exps, truth = [], [], [], [], [], [], []
    for i in range(n_sessions):
        t = rng.choices(range(n_topics), weights)[0]
        key, stack, kind = tops[t]
        src = tops[rng.randrange(n_topics)] if noise and rng.random() < noise else tops[t]
        words = list(vocab[src[1]])
        words = words[: max(2, round(len(words) * variety))]
        a, b = rng.sample(words, 2)
        template = rng.choice(WORK[src[2]][1])
        summaries.append(template.format(s=src[1], a=a, b=b) + ".")
        keys.append(f"s{i:07d}")
        users.append(f"u{rng.randrange(n_users)}")
        modes.append(WORK[kind][0] if rng.random() < 0.85 else rng.choice(list(WORK)))
        outcomes.append(rng.choice(OUTCOMES))
        exps.append(float(rng.randint(1, 5)))
        truth.append(key)
    frame = SummaryFrame.build(keys, summaries, user=users, mode=modes, outcome=outcomes, expertise=exps)
    return Planted(frame, truth)
