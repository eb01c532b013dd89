"""The final audit's distinct-user check of the lines of cells whose total a reader has.

A line of cells (a month's work modes, the months of a monthly mean, a level's modes) whose total is known (n / share
of any released cell of a share's group, another figure's row, a figure's n) gives by subtraction the union of its
withheld cells (with the sessions in no cell): enough sessions, but possibly one person's. And where a released row
the audit reads carries no sessions, the user check cannot run: the audit says so instead of passing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit_rows import ix as _ix
from audit_rows import row as _row
from codecensus.aggregate.figures import AUDITED_VARIABLES, Context, Figure, build_figures, public_table
from codecensus.aggregate.privacy import ReleasePolicy
from codecensus.aggregate.synthetic import load_into, synthetic_corpus
from codecensus.report.build import ReportOptions, audit_release, compute, load_report_data
from codecensus.store import Store


def _users(rest_users: int) -> np.ndarray:
    """Users of 112 sessions: 0-59 from 30 users, 60-99 from 20 others, 100-111 (withheld) from ``rest_users``
    others."""
    return np.concatenate([np.arange(60) % 30, 30 + np.arange(40) % 20, 100 + np.arange(12) % rest_users]
                          ).astype(np.int64)


def _cells(**keys: Any) -> list[dict[str, Any]]:
    """Four cells of a line of 112 sessions: 60 (30 users) and 40 (20 users) released, 6 + 6 withheld."""
    return [dict(keys, mode="build", _sessions=_ix(0, 60), n=60, u=30, sup=False),
            dict(keys, mode="plan", _sessions=_ix(60, 100), n=40, u=20, sup=False),
            dict(keys, mode="fix", _sessions=_ix(100, 106), n=6, u=1, sup=True),
            dict(keys, mode="test", _sessions=_ix(106, 112), n=6, u=1, sup=True)]


def _table(cells: list[dict[str, Any]], variable: str, value: Any = None, **extra: Any) -> pd.DataFrame:
    rows = []
    for c in cells:
        n, u, sup = c.pop("n"), c.pop("u"), c.pop("sup")
        v = value(n) if callable(value) else value
        rows.append(_row(**c, variable=variable, value=None if sup else v, n_users=None if sup else u,
                         n_sessions=None if sup else n, suppressed=sup, **extra))
    return pd.DataFrame(rows)


def _refused_for_one_user(figs: list[Figure], problem: str) -> None:
    """``figs`` pass the audit without users and with the withheld sessions from 5 users, and with them from one
    user the audit says ``problem`` alone."""
    pol = ReleasePolicy()
    assert audit_release(figs, pol) == []
    problems = audit_release(figs, pol, users=_users(1))
    assert problems == [problem], problems
    assert audit_release(figs, pol, users=_users(5)) == []


def test_a_months_withheld_modes_from_one_user_are_refused() -> None:
    """Work modes by month: a month's modes are shares of its classified sessions (112); build (60) and plan (40) are
    released, so any of them gives the month's 112 (n / share), and the two withheld modes hold the other 12, all one
    user's. Each released mode's own rest of its group (52, 72 sessions) has users enough."""
    t = _table(_cells(month="2025-10"), "share_of_sessions", lambda n: n / 112, _den_sessions=_ix(0, 112))
    f = Figure("work_modes_by_month", "x", "", t, ["month", "mode"], "share")
    _refused_for_one_user([f], "figure work_modes_by_month (share_of_sessions, month=2025-10): its group (n / share) "
                          "less its released cells: 12 sessions of 1 user, below 5 users")


@pytest.mark.parametrize(("fid", "var", "col", "tfig", "tvar"), [
    ("expertise_shape_by_mode", "actions_per_prompt", "expertise", "expertise_shape", "actions_per_prompt"),
    ("expertise_shape_by_mode", "words_per_prompt", "expertise", "expertise_shape", "words_per_prompt"),
    ("value_by_mode", "index", "month", "value_by_month", "raw"),
])
def test_a_lines_total_from_another_figure_less_its_cells_from_one_user_is_refused(
        fid: str, var: str, col: str, tfig: str, tvar: str) -> None:
    """A level's modes add up to the level's cell in expertise shape, a month's modes (value by mode's index) to the
    month in value by month: that total (112) less the released cells (60 + 40) is 12 sessions of one user."""
    key = 3 if col == "expertise" else "2025-10"
    line = Figure(fid, "x", "", _table(_cells(**{col: key}), var, 1.0), [col, "mode"], "number")
    total = Figure(tfig, "x", "", pd.DataFrame([_row(**{col: key}, variable=tvar, value=1.0, n_users=51,
                                                     n_sessions=112, suppressed=False, _sessions=_ix(0, 112))]),
                   [col], "number")
    _refused_for_one_user([line, total], f"figure {fid} ({col}={key}, {var}): {tfig}'s n less the released cells: "
                          "12 sessions of 1 user, below 5 users")


def _months(fid: str, var: str, value: float, **extra: Any) -> pd.DataFrame:
    """Four months of a line: 2025-10 (60 sessions) and 2025-11 (40) released, 2025-12 (6) and 2026-01 (3) withheld;
    3 more sessions (109-111) have no time."""
    cells = _cells()
    cells[3].update(_sessions=_ix(106, 109), n=3)
    for c, m in zip(cells, ("2025-10", "2025-11", "2025-12", "2026-01"), strict=True):
        c.pop("mode")
        c["month"] = m
    return _table(cells, var, value, **extra)


def test_a_monthly_lines_whole_less_its_released_months_from_one_user_is_refused() -> None:
    """Value by month's months add up, with the sessions without a time, to the figure's n (112, printed): less the
    released months (60 + 40) that is 12 sessions (two withheld months' 6 and 3, and 3 without a time) of one user."""
    f = Figure("value_by_month", "x", "", _months("value_by_month", "raw", 100.0), ["month"], "index",
               n_sessions=112, n_users=51)
    f.sessions = _ix(0, 112)
    _refused_for_one_user([f], "figure value_by_month (raw): value_by_month's n less the released months: 12 sessions "
                          "of 1 user, below 5 users")
    # the months' count alone: 112 - 100 - 6 (2025-12 released) = 6 sessions, below the thresholds
    t = f.table.copy()
    t.loc[t["month"] == "2025-12", ["suppressed", "value", "n_users", "n_sessions"]] = [False, 100.0, 1, 6]
    f.table = t
    assert any("value_by_month's n less the released months gives 6 sessions" in p
               for p in audit_release([f], ReleasePolicy()))


def test_the_unclear_months_against_the_abstentions_lines_from_one_user_are_refused() -> None:
    """The success trend's unclear months add up to the unclear sessions abstentions releases (its outcome line with
    its whole-session line): 112 less the released months' 100 is 12 sessions of one user."""
    trend = Figure("success_trend", "x", "", _months("success_trend", "unclear", 0.5, _den_sessions=_ix(0, 112)),
                   ["month"], "share")
    ab = pd.DataFrame([
        _row(facet=facet, reason=reason, variable=var, value=float(b - a), n_users=u, n_sessions=b - a,
             suppressed=False, _sessions=_ix(a, b))
        for facet, a, b, u in (("outcome", 0, 80, 40), ("session", 80, 112, 25))
        for reason, var in (("all", "abstained"), ("no_answer", "sessions"))
    ])
    abst = Figure("abstentions", "x", "", ab, ["facet", "reason"], "count")
    pol = ReleasePolicy()
    assert audit_release([trend, abst], pol) == []
    assert audit_release([trend, abst], pol, users=_users(5)) == []
    problems = audit_release([trend, abst], pol, users=_users(1))
    assert ("figure success_trend (unclear): abstentions's abstained (facet=outcome) with abstentions's abstained "
            "(facet=session) less the released months: 12 sessions of 1 user, below 5 users") in problems, problems


def test_released_rows_without_sessions_are_a_problem_except_without_user_counts() -> None:
    """A released row the audit reads that carries no sessions would pass the distinct-user check unlooked at: the
    audit names the figure and variable. Not in individual mode (no user threshold) and not without users."""
    t = _table(_cells(month="2025-10"), "share_of_sessions", lambda n: n / 112, _den_sessions=_ix(0, 112))
    bare = Figure("work_modes_by_month", "x", "", public_table(t), ["month", "mode"], "share")
    pol = ReleasePolicy()
    problems = audit_release([bare], pol, users=_users(5))
    assert "figure work_modes_by_month variable share_of_sessions: released rows carry no sessions (_sessions); the " \
           "distinct-user check cannot run" in problems, problems
    half = Figure("work_modes_by_month", "x", "", t.drop(columns=["_den_sessions"]), ["month", "mode"], "share")
    assert any("(_den_sessions)" in p for p in audit_release([half], pol, users=_users(5)))
    assert audit_release([bare], pol) == []
    assert audit_release([bare], ReleasePolicy(individual=True), users=_users(5)) == []
    # a figure whose n is a line's total must carry its sessions when it prints its n
    f = Figure("value_by_month", "x", "", _months("value_by_month", "raw", 100.0), ["month"], "index",
               n_sessions=112, n_users=51)
    assert "figure value_by_month: its n carries no sessions; the distinct-user check cannot run" in \
        audit_release([f], pol, users=_users(5))


def test_every_figure_carries_the_sessions_the_audit_reads(tmp_path: Path) -> None:
    """Every current figure of a report over several months passes the check that its audited released rows (and the
    n of a figure that is a line's total) carry their sessions, and the report passes the audit."""
    from codecensus.report.build import _audit_sessions_carried

    with Store(tmp_path / "c.duckdb") as store:
        load_into(store, synthetic_corpus(users=60, sessions=1500, months=6, seed=4))
        data = load_report_data(store)
        figs = build_figures(Context(data, ReleasePolicy(), B=20))
        assert _audit_sessions_carried(figs, ReleasePolicy()) == []
        ids = {f.id for f in figs if f.available and f.id in AUDITED_VARIABLES}
        assert {"value_by_month", "success_trend", "expertise_shape_by_mode", "work_modes_by_month"} <= ids
        assert all(f.sessions is not None for f in figs if f.id in ("value_by_month", "value_by_mode",
                                                                     "success_trend"))
        comp = compute(store, ReportOptions(bootstrap=20))
    assert all(f.sessions is None for f in comp.figures)  # nothing after the audit holds them


def test_the_unclear_months_less_the_whole_session_line_give_a_withheld_outcome_line() -> None:
    """The other way round: every unclear month released (112 sessions, all of them) less the whole-session line
    (106) gives the outcome line abstentions withholds: 6 sessions of one user."""
    m = pd.DataFrame([_row(month=mo, variable="unclear", value=(b - a) / 112, n_users=u, n_sessions=b - a,
                           suppressed=False, _sessions=_ix(a, b), _den_sessions=_ix(0, 112))
                      for mo, a, b, u in (("2025-10", 0, 60, 30), ("2025-11", 60, 112, 25))])
    trend = Figure("success_trend", "x", "", m, ["month"], "share")

    def line(facet: str, a: int, b: int, u: int, sup: bool) -> list[dict[str, Any]]:
        return [_row(facet=facet, reason=reason, variable=var, value=None if sup else float(b - a),
                     n_users=None if sup else u, n_sessions=None if sup else b - a, suppressed=sup,
                     _sessions=_ix(a, b)) for reason, var in (("all", "abstained"), ("no_answer", "sessions"))]

    abst = Figure("abstentions", "x", "", pd.DataFrame(line("outcome", 0, 6, 1, True) + line("session", 6, 112, 50,
                                                                                            False)),
                  ["facet", "reason"], "count")
    users = np.concatenate([np.full(6, 999), np.arange(106) % 50]).astype(np.int64)
    pol = ReleasePolicy()
    what = ("figure success_trend (unclear): its released months, the whole of abstentions's abstained "
            "(facet=outcome) with abstentions's abstained (facet=session), less the parts released give "
            "abstentions's abstained (facet=outcome), withheld")
    assert audit_release([trend, abst], pol) == [f"{what}: 6 sessions, below the thresholds"]
    assert f"{what}: 6 sessions of 1 user, below 5 users" in audit_release([trend, abst], pol, users=users)
    # a month withheld: the released months are not the whole, and give nothing
    m.loc[1, "suppressed"] = True
    m.loc[1, ["value", "n_users", "n_sessions"]] = None
    trend.table = m
    assert not [p for p in audit_release([trend, abst], pol, users=users) if "whole of" in p]


@pytest.mark.parametrize(("fid", "lines"), [("value_by_month", ("raw", "reweighted", "mean")),
                                            ("success_trend", ("raw", "reweighted"))])
def test_the_months_no_line_of_a_figure_releases_are_checked(fid: str, lines: tuple[str, ...]) -> None:
    """A figure's lines over the months have the same n each month (value by month's index, raw and reweighted, and
    its monthly mean; success trend's raw and reweighted rate): a month released in one gives its n for all. Months
    of 60, 40, 12 and 6 sessions (118, the figure's n). The first lines release the first two and withhold 12 + 6 =
    18 sessions of 7 users, the last line releases the first and third and withholds 40 + 6: each line alone leaves
    enough withheld, but together they release three months, and the figure's n less them is the fourth month alone,
    6 sessions of one user. The audit read each line on its own and passed it."""
    cuts = (("2025-10", 0, 60, 30), ("2025-11", 60, 100, 20), ("2025-12", 100, 112, 6), ("2026-01", 112, 118, 1))
    users = np.concatenate([np.arange(60) % 30, 30 + np.arange(40) % 20, 50 + np.arange(12) % 6, np.full(6, 99)]
                           ).astype(np.int64)

    def line(var: str, withheld: tuple[str, ...]) -> list[dict[str, Any]]:
        rate = {"_den_sessions": _ix(0, 118)} if fid == "success_trend" else {}
        return [_row(month=m, variable=var, value=None if m in withheld else (1.0 if rate else 100.0),
                     n_users=None if m in withheld else u, n_sessions=None if m in withheld else b - a,
                     suppressed=m in withheld, _sessions=_ix(a, b), **rate,
                     **({"_num_sessions": _ix(a, b)} if rate else {})) for m, a, b, u in cuts]

    def figure(last: tuple[str, ...]) -> Figure:
        t = pd.DataFrame([r for v in lines for r in line(v, ("2025-12", "2026-01") if v != lines[-1] else last)])
        f = Figure(fid, "x", "", t, ["month"], "index", n_sessions=118, n_users=58)
        f.sessions = _ix(0, 118)
        return f

    pol = ReleasePolicy()
    problems = audit_release([figure(("2025-11", "2026-01"))], pol, users=users)
    what = f"{fid}'s n less the months {' or '.join(lines)} releases"
    assert f"figure {fid} ({lines[0]}): {what} gives 6 sessions in the others, below the thresholds" in problems, \
        problems
    assert f"figure {fid} ({lines[0]}): {what}: 6 sessions of 1 user, below 5 users" in problems, problems
    # the same months withheld in every line: 18 sessions of 7 users, released
    assert audit_release([figure(("2025-12", "2026-01"))], pol, users=users) == []
