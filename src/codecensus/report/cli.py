"""`codecensus report` and `codecensus summary` (registered in codecensus.cli)."""

from __future__ import annotations

import errno
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from codecensus.cli import DbOpt, WaitOpt, console, open_store, out, validate_day
from codecensus.cli_options import MAX_THRESHOLD, threshold_problem

if TYPE_CHECKING:
    from codecensus.store import Store

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Folder for report.html and tables/.")]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="First day (YYYY-MM-DD) of sessions to include.", show_default=False)
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Last day (YYYY-MM-DD) of sessions to include.", show_default=False)
]
MinUsersOpt = Annotated[
    int | None,
    typer.Option("--min-users", help="Release a cell only with at least this many distinct users [default: 5; "
                 "--individual: 1].", show_default=False, min=1, max=MAX_THRESHOLD),
]
MinSessionsOpt = Annotated[
    int | None,
    typer.Option("--min-sessions", help="Release a cell only with at least this many sessions [default: 10; "
                 "--individual: 1].", show_default=False, min=1, max=MAX_THRESHOLD),
]
IndividualOpt = Annotated[
    bool,
    typer.Option("--individual", help="One person's own data: lower the thresholds (announced on the report's "
                 "first screen) and resample sessions for the intervals."),
]
EpsilonOpt = Annotated[
    float | None, typer.Option("--epsilon", help="Differential privacy: the ε this report spends (at most 10). The "
                               "first such report fixes the sessions' budget at its ε; later ones spend what is left. The "
                               "monthly figures then range over --since to --until (--until alone: the 12 months "
                               "ending with it; at most the last 24 months).",
                               show_default=False)
]
DeltaOpt = Annotated[float | None, typer.Option("--delta", help="Differential privacy: δ.", show_default=False)]
BootOpt = Annotated[int, typer.Option("--bootstrap", help="Bootstrap replicates for the intervals.", min=20)]
SeedOpt = Annotated[int, typer.Option("--seed", help="Bootstrap seed (same seed, same intervals).")]


def _classifiers(store: Store, since: str | None, until: str | None) -> list[dict[str, str | None]]:
    """Backend, model and rubric hash of the facets the report's sessions carry (no counts).

    The report's manifest named thresholds and packages but not what classified the sessions it reports on:
    figures from two rubric versions (or an offline and an LLM run) could not be told apart afterwards.
    """
    if not (store.table_exists("facets") and store.table_exists("sessions")):
        return []
    cols = {r[0] for r in store.con.execute("DESCRIBE facets").fetchall()}
    pick = [c for c in ("backend", "model", "rubric_hash") if c in cols]
    if not pick:
        return []
    sql = (f"SELECT DISTINCT {', '.join('f.' + c for c in pick)} FROM facets f JOIN sessions s USING (session_key) "
           "WHERE (CAST(? AS DATE) IS NULL OR CAST(s.started_at AS DATE) >= CAST(? AS DATE)) "
           "AND (CAST(? AS DATE) IS NULL OR CAST(s.started_at AS DATE) <= CAST(? AS DATE)) ORDER BY ALL")
    rows = store.con.execute(sql, [since, since, until, until]).fetchall()
    return [dict(zip(pick, r, strict=True)) for r in rows]


def _options(out_dir: Path, since: str | None, until: str | None, min_users: int | None, min_sessions: int | None,
             individual: bool, epsilon: float | None, delta: float | None, bootstrap: int, seed: int,
             title: str = "codecensus report"):  # noqa: ANN202 - ReportOptions, imported lazily
    from codecensus.report.build import ReportOptions

    validate_day(since, "--since")
    validate_day(until, "--until")
    if since and until and since > until:  # both YYYY-MM-DD: text order is date order
        console.print(f"[red]--since {since} is after --until {until}[/red]: no session could be in the report.")
        raise typer.Exit(2)
    problem = threshold_problem(min_users, min_sessions, individual)
    if problem is not None:
        console.print(problem)
        raise typer.Exit(2)
    if epsilon is not None and not (epsilon > 0 and math.isfinite(epsilon)):
        console.print(f"[red]--epsilon {epsilon} is not a privacy budget[/red]: give a positive finite number "
                      "(e.g. --epsilon 1).")
        raise typer.Exit(2)
    from codecensus.aggregate.dpfigures import MAX_REPORT_EPSILON

    if epsilon is not None and epsilon > MAX_REPORT_EPSILON:  # 1e300 released the exact counts
        console.print(f"[red]--epsilon {epsilon:g} is above the most a report may spend ({MAX_REPORT_EPSILON:g})"
                      "[/red]: so little noise hides no one; give --epsilon between 0 and "
                      f"{MAX_REPORT_EPSILON:g} (e.g. --epsilon 1).")
        raise typer.Exit(2)
    if delta is not None and epsilon is None:
        # the report was written without any noise, its manifest recording δ as if it had been
        console.print(f"[red]--delta {delta} needs --epsilon[/red]: δ is part of a differentially private "
                      "release; without --epsilon the report is released by thresholds alone.")
        raise typer.Exit(2)
    if delta is not None and not 0 <= delta < 1:
        console.print(f"[red]--delta {delta} must be at least 0 and below 1[/red] (e.g. --delta 1e-6).")
        raise typer.Exit(2)
    return ReportOptions(out=out_dir, since=since, until=until, min_users=min_users, min_sessions=min_sessions,
                         individual=individual, epsilon=epsilon, delta=delta, bootstrap=bootstrap, seed=seed,
                         title=title)


def check_out_dir(out_dir: Path, what: str = "the report") -> None:
    """--out can be written: said before the figures are computed (a folder without write access, or a path under a
    file, ended the run after the computation in a PermissionError / NotADirectoryError traceback). Nothing is left
    behind: a refused report (or demo) writes no folder."""
    import shutil
    import tempfile

    where = out_dir.absolute()
    while not where.exists() and where != where.parent:  # the folder that the report's folders would be made in
        where = where.parent
    try:
        if not where.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "a file is in the way", str(where))
        shutil.rmtree(tempfile.mkdtemp(prefix=".codecensus-probe-", dir=where))  # can make folders there
    except OSError as exc:
        console.print(f"[red]Cannot write {what} to --out {escape(str(out_dir))}[/red]: {escape(str(exc.strerror or exc))}"
                      f"{f' ({where})' if where != out_dir.absolute() else ''}. Give a folder you can write.")
        raise typer.Exit(2) from exc


def report_cmd(
    out_dir: OutOpt = Path("report"),
    since: SinceOpt = None,
    until: UntilOpt = None,
    db: DbOpt = None,
    min_users: MinUsersOpt = None,
    min_sessions: MinSessionsOpt = None,
    individual: IndividualOpt = False,
    epsilon: EpsilonOpt = None,
    epsilon_budget: Annotated[
        float | None,
        typer.Option("--epsilon-budget", help="Differential privacy: the sessions' total budget, set by the first "
                     "report with --epsilon (default: that report's ε, which leaves nothing for later reports).",
                     show_default=False),
    ] = None,
    delta: DeltaOpt = None,
    bootstrap: BootOpt = 200,
    seed: SeedOpt = 0,
    title: Annotated[str, typer.Option("--title", help="Report title.")] = "codecensus report",
    wait: WaitOpt = 30.0,
) -> None:
    """Write a self-contained HTML report (works offline) plus every table behind it as CSV and Parquet."""
    from codecensus.manifest import record_run
    from codecensus.report.build import released_totals, write_report
    from codecensus.report.findings import count_noun

    if out_dir.exists() and not out_dir.is_dir():
        console.print(f"[red]--out {escape(str(out_dir))} is a file[/red]: the report is a folder (report.html and its tables).")
        raise typer.Exit(2)
    opts = _options(out_dir, since, until, min_users, min_sessions, individual, epsilon, delta, bootstrap, seed, title)
    if epsilon_budget is not None:
        if epsilon is None:
            console.print("[red]--epsilon-budget needs --epsilon[/red]: it is the total that differentially private "
                          "reports spend from.")
            raise typer.Exit(2)
        if not (math.isfinite(epsilon_budget) and epsilon_budget >= epsilon):
            console.print(f"[red]--epsilon-budget {epsilon_budget:g} must be a finite ε at least --epsilon "
                          f"({epsilon:g})[/red]: it is the total this report and later ones spend from.")
            raise typer.Exit(2)
        opts.epsilon_budget = epsilon_budget
    check_out_dir(out_dir)
    store = open_store(
        db, wait=wait, must_exist=True,
        or_read_only=None if epsilon is not None else "the run is recorded only in the report's manifest-report.json.",
    )  # --epsilon writes the privacy ledger: it needs the database writable
    t0 = time.perf_counter()
    from codecensus.aggregate.dp import BudgetExceeded
    from codecensus.report.build import ReleaseAuditFailed

    try:
        res = write_report(store, opts)
    except ReleaseAuditFailed as exc:  # a released cell breaks the policy: nothing is written
        console.print(f"[red]{escape(str(exc))}[/red]")
        store.close()
        raise typer.Exit(1) from exc
    except ImportError as exc:  # the DP mode's opendp is an optional extra
        console.print(f"[red]{escape(str(exc))}[/red]: --epsilon needs `pip install 'codecensus[dp]'`")
        store.close()
        raise typer.Exit(2) from exc
    except (LookupError, ValueError, BudgetExceeded) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        store.close()
        raise typer.Exit(2) from exc
    comp = res.computed
    record_run(store, "report", {
        "out": str(out_dir), "since": since, "until": until,
        "thresholds": {"min_users": comp.release.min_users, "min_sessions": comp.release.min_sessions},
        "individual": individual, "epsilon": epsilon, "epsilon_budget": epsilon_budget, "delta": delta, "bootstrap": bootstrap, "seed": seed,
        # as released (the manifest sits beside the report): exact totals of a small team, or of a DP report,
        # would disclose what the report withholds; a DP report's noisy count is `sessions_noisy`
        **released_totals(comp.figures, sessions_per_user=comp.release.sessions_per_user
                          if comp.release.epsilon is not None else None),
        "figures": {f.id: {"available": f.available, "released": f.released_cells, "suppressed": f.suppressed_cells}
                    for f in comp.figures},
        "classified_by": _classifiers(store, since, until),
        "seconds": round(time.perf_counter() - t0, 3),
    }, out_dir)
    store.close()
    if individual:
        console.print("[bold yellow]Individual mode:[/bold yellow] thresholds lowered to "
                      f"{count_noun(comp.release.min_users, 'user')} / {count_noun(comp.release.min_sessions, 'session')}; "
                      "keep this report private.")
    avail = sum(f.available for f in comp.figures)
    sup = sum(f.suppressed_cells for f in comp.figures if f.available)
    console.print(f"{avail}/{len(comp.figures)} figures, {count_noun(sup, 'cell')} suppressed, "
                  f"{len(res.tables)} table files, {time.perf_counter() - t0:.1f}s")
    out.print(f"report: {escape(str(res.html))}")


def summary_cmd(
    since: SinceOpt = None,
    until: UntilOpt = None,
    db: DbOpt = None,
    min_users: MinUsersOpt = None,
    min_sessions: MinSessionsOpt = None,
    individual: IndividualOpt = False,
    bootstrap: BootOpt = 200,
    seed: SeedOpt = 0,
    wait: WaitOpt = 30.0,
) -> None:
    """Print the key figures (with intervals and n) in the terminal."""
    from codecensus.report.build import ReleaseAuditFailed, compute
    from codecensus.report.terminal import render_summary

    opts = _options(Path("."), since, until, min_users, min_sessions, individual, None, None, bootstrap, seed)
    store = open_store(db, read_only=True, wait=wait)
    try:
        comp = compute(store, opts)
    except ReleaseAuditFailed as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from exc
    except (LookupError, ValueError) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    finally:
        store.close()
    render_summary(comp, out)


__all__ = ["report_cmd", "summary_cmd"]
