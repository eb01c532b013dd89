"""Command-line options shared by more than one stage's command (typer ``Annotated`` types)."""

from __future__ import annotations

from typing import Annotated

import typer

LLMTimeoutOpt = Annotated[
    float | None,
    typer.Option("--timeout", min=1.0, help="LLM backends: seconds to wait for one answer before retrying "
                 "(default: anthropic 120, openai 300; raise it for a slow local model).", show_default=False),
]
LLMRetriesOpt = Annotated[
    int | None,
    typer.Option("--max-retries", min=0, help="LLM backends: retries of a request after a timeout, 429 or 5xx, "
                 "with growing waits (default 6; 0: stop at the first).", show_default=False),
]

MAX_THRESHOLD = 1_000_000_000  # more than any team has; --min-users 1e20 ended in an OverflowError traceback


def threshold_problem(min_users: int | None, min_sessions: int | None, individual: bool) -> str | None:
    """What is wrong with a command's --min-users / --min-sessions / --individual, in the options' own names (rich
    markup), or None. Shared by report, summary and cluster, so that each refuses the same combinations."""
    from codecensus.aggregate.privacy import TEAM_MIN_USERS

    if individual and (min_users is not None or min_sessions is not None):
        # individual mode sets both thresholds to 1: an explicit --min-users 5 was dropped without a word
        given = " and ".join(f"{o} {v}" for o, v in (("--min-users", min_users), ("--min-sessions", min_sessions))
                             if v is not None)
        return (f"[red]--individual releases cells of 1 user / 1 session; it cannot be combined with {given}[/red]: "
                "drop --individual for a team release with your thresholds, or drop the thresholds.")
    if not individual and min_users == 1:
        return ("[red]--min-users 1 would release single people's figures[/red]: a team release needs --min-users 2 "
                "or more; for your own sessions use --individual (its output says so).")
    if not individual and min_sessions is not None and min_sessions < (min_users or TEAM_MIN_USERS):
        return (f"[red]--min-sessions {min_sessions} is below --min-users {min_users or TEAM_MIN_USERS}"
                f"{'' if min_users else ' (the default)'}[/red]: every user has at least one session; give "
                "--min-sessions at least --min-users.")
    return None
