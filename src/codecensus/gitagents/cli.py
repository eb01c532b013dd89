"""``codecensus git-agents PATH...``

The lead registers the command with ``app.command("git-agents")(git_agents)``.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from codecensus.gitagents.scan import (
    RepoScan,
    Summary,
    check_since,
    discover_repos,
    scan_paths,
    store_results,
    summarize,
)
from codecensus.gitagents.signatures import AGENT_LABELS, CONF_RANK, SignatureSet, load_signatures
from codecensus.paths import as_text


def _shown(text: object) -> str:
    """A path or message as the terminal shows it: undecodable bytes as \\xNN, brackets not read as markup."""
    return escape(as_text(str(text)))


def git_agents(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Git repositories, or folders holding many clones (searched recursively).",
            show_default=False,
        ),
    ],
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="DuckDB file to store results in. Default: $CODECENSUS_DB or a file in the platform user-data dir.",
            envvar="CODECENSUS_DB",
            show_default=False,
        ),
    ] = None,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print {"repos", "commits", "agent_commits", "by_agent", "repos_with_agent"} as JSON.',
        ),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only commits after this date (git log --since). A re-scan replaces the repository's stored rows.",
        ),
    ] = None,
    min_confidence: Annotated[
        str,
        typer.Option(
            "--min-confidence",
            help="H: identities/trailers only; M: + phrases and branch names; L: + weak conventions.",
        ),
    ] = "M",
    head_only: Annotated[
        bool, typer.Option("--head-only", help="Scan only HEAD's history instead of all branches.")
    ] = False,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not write the database.")] = False,
    signatures: Annotated[
        Path | None,
        typer.Option(
            "--signatures",
            help="Alternative signature table (TOML) (default: the packaged agent_signatures.toml).",
        ),
    ] = None,
) -> None:
    """Measure coding-agent contributions in local git histories (commit trailers, identities, branch names)."""
    conf = min_confidence.upper()
    if conf not in CONF_RANK:
        raise typer.BadParameter("must be H, M or L", param_hint="--min-confidence")
    err = Console(stderr=True)
    if shutil.which("git") is None:
        err.print("[red]error:[/red] git-agents reads histories with git, which is not on PATH: install git.")
        raise typer.Exit(2)
    try:
        sigs = SignatureSet(load_signatures(signatures)) if signatures else None
        repos = discover_repos(paths)
        if repos and since:
            check_since(repos[0], since)
    except (FileNotFoundError, ValueError) as exc:
        err.print(f"[red]error:[/red] {_shown(exc)}")
        raise typer.Exit(2) from exc
    if not repos:
        err.print("[red]no git repositories found[/red] under " + ", ".join(_shown(p) for p in paths))
        raise typer.Exit(1)

    show_progress = not json_out and len(repos) > 1 and err.is_terminal
    if show_progress:
        from rich.progress import Progress

        with Progress(console=err, transient=True) as prog:
            task = prog.add_task("scanning", total=len(repos))

            def tick(_: RepoScan) -> None:
                prog.advance(task)

            scans = scan_paths(paths, sigs, since=since, all_refs=not head_only, repos=repos, on_repo=tick)
    else:
        scans = scan_paths(paths, sigs, since=since, all_refs=not head_only, repos=repos)

    failed = [s for s in scans if s.error]
    for s in failed:
        err.print(f"[yellow]skipped[/yellow] {_shown(s.path)}: {_shown(s.error)}")
    shallow = [s for s in scans if s.shallow and s.error is None]
    if shallow:
        err.print(
            f"[yellow]{len(shallow)} shallow clone(s)[/yellow] ({', '.join(_shown(s.path) for s in shallow[:3])}"
            f"{', ...' if len(shallow) > 3 else ''}): only the fetched commits are counted; "
            "run `git fetch --unshallow` there for the whole history."
        )
    summary = summarize(scans, conf)

    db_path: Path | None = None
    if not no_store:
        from codecensus.cli import open_store
        from codecensus.store import default_db_path

        db_path = db or default_db_path()
        with open_store(db_path) as store:
            store_results(store, scans)

    if json_out:
        sys.stdout.write(json.dumps(summary) + "\n")
    else:
        _print_table(scans, summary, conf, db_path)
    if failed and len(failed) == len(scans):
        raise typer.Exit(1)


def _print_table(scans: list[RepoScan], summary: Summary, conf: str, db_path: Path | None) -> None:
    out = Console()
    ok = [s for s in scans if s.error is None]
    repos_by_agent: dict[str, int] = {}
    for s in ok:
        for agent, n in s.agent_commits(conf).items():
            if n:
                repos_by_agent[agent] = repos_by_agent.get(agent, 0) + 1
    commits = summary["commits"]
    n_repos = summary["repos"]
    t = Table(title=f"Coding-agent commits (confidence ≥ {conf})")
    t.add_column("agent")
    t.add_column("commits", justify="right")
    t.add_column("share of commits", justify="right")
    t.add_column("repos", justify="right")
    t.add_column("share of repos", justify="right")
    for agent, n in summary["by_agent"].items():
        r = repos_by_agent.get(agent, 0)
        t.add_row(
            AGENT_LABELS.get(agent, agent),
            f"{n:,}",
            f"{n / commits:.1%}" if commits else "–",
            f"{r:,}",
            f"{r / n_repos:.1%}" if n_repos else "–",
        )
    agent_commits = summary["agent_commits"]
    with_agent = summary["repos_with_agent"]
    t.add_section()
    t.add_row(
        "any agent",
        f"{agent_commits:,}",
        f"{agent_commits / commits:.1%}" if commits else "–",
        f"{with_agent:,}",
        f"{with_agent / n_repos:.1%}" if n_repos else "–",
    )
    out.print(t)
    out.print(
        f"{n_repos:,} repositories, {commits:,} commits scanned in {sum(s.seconds for s in scans):.1f} s"
    )
    if db_path is not None:
        out.print(f"stored in {db_path} (tables git_repos, git_agent_monthly, git_agent_signature_hits)")
