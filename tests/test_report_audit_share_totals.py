"""Totals a reader derives from share lines, in the audit's comparisons of released totals, and a refusal that names
each leaked group of sessions once.

A share line's released cell gives its line's sessions (n / share): a decision kind's bins give the sessions with that
kind's share even where the figure withholds its median's and mean's n, and a month's cell of work modes by month the
month's classified sessions. The audit compared figure n's and the rows :data:`RELEASE_NESTED_NS` names only, so the
classified sessions less a kind's bins' total (those without a decision share) passed unlooked. One leak that many
pairs of totals give was one line of the refusal per pair (27 on the real corpus).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from audit_rows import ix as _ix
from audit_rows import row as _row
from audit_rows import users_112 as _users
from codecensus.aggregate.figures import Figure
from codecensus.aggregate.privacy import ReleasePolicy
from codecensus.report.build import _refusal, audit_release


def _coverage(n: int) -> Figure:
    t = pd.DataFrame([_row(dimension="all", level="all", variable=v, value=float(n), n_users=55, n_sessions=n,
                           suppressed=False, _sessions=_ix(0, n)) for v in ("sessions", "classified sessions")])
    return Figure("coverage", "x", "", t, ["dimension", "level"], "count", n_sessions=n, n_users=55)


def _work_modes(n: int) -> Figure:
    """Work modes over ``n`` classified sessions: two modes' shares (their n and group, sessions 0..n)."""
    half = n // 2
    group = _ix(0, n)
    t = pd.DataFrame([_row(mode=m, rollup=m, variable="share_of_sessions", value=len(x) / n, n_users=50,
                           n_sessions=len(x), suppressed=False, _sessions=x, _den_sessions=group)
                      for m, x in (("build", _ix(0, half)), ("fix", _ix(half, n)))])
    f = Figure("work_modes", "x", "", t, ["mode", "rollup"], "share", n_sessions=n, n_users=55)
    f.sessions = group
    return f


def _decisions(planning: int) -> Figure:
    """Decisions: the planning kind's two bins released over sessions 0..``planning`` (its median's and mean's rows
    and the figure's n withheld); the execution kind withheld whole."""
    group = _ix(0, planning)
    half = planning // 2
    rows = [_row(kind="planning", bin=b, variable="share_of_sessions", value=len(x) / planning, n_users=40,
                 n_sessions=len(x), suppressed=False, _sessions=x, _den_sessions=group)
            for b, x in (("0–10%", _ix(0, half)), ("10–20%", _ix(half, planning)))]
    rows += [_row(kind=k, bin="all", variable=v, value=None, n_users=None, n_sessions=None, suppressed=True)
             for k in ("planning", "execution") for v in ("median_pct", "mean_pct")]
    return Figure("decisions", "x", "", pd.DataFrame(rows), ["kind", "bin"], "share", n_sessions=0, n_users=0)


def test_the_classified_sessions_less_a_decision_kinds_bins_total_are_checked() -> None:
    """The planning bins' n / share is the 100 sessions with a planning share; the classified sessions (112, released
    by coverage and work modes) less them are the 12 without one, of one user. The audit passed it (the kind's median
    and mean rows, the totals it read, were withheld); it refuses it now, and 106 - 100 = 6 sessions on their own."""
    pol = ReleasePolicy()
    figs = [_coverage(112), _work_modes(112), _decisions(100)]
    assert audit_release(figs, pol, users=_users(5)) == []
    problems = audit_release(figs, pol, users=_users(1))
    assert problems and all("12 sessions of 1 user" in p for p in problems), problems
    assert any(p.startswith("figure decisions: ") and "decisions's share_of_sessions (kind=planning) total (n / share)"
               in p for p in problems), problems
    figs = [_coverage(106), _work_modes(106), _decisions(100)]
    problems = audit_release(figs, pol)
    assert any("gives 6 sessions, below the thresholds" in p and "kind=planning" in p for p in problems), problems


def test_a_months_share_total_less_another_figures_n_of_it_is_checked() -> None:
    """A month's cell of work modes by month gives the month's classified sessions (n / share: 112); another figure's
    released row of the month inside them (100: its sessions with a known outcome) leaves 12 of one user, which no
    figure n and no listed total gave before."""
    pol = ReleasePolicy()
    group = _ix(0, 112)
    wm = pd.DataFrame([_row(month="2026-01", mode=m, variable="share_of_sessions", value=len(x) / 112, n_users=50,
                            n_sessions=len(x), suppressed=False, _sessions=x, _den_sessions=group)
                       for m, x in (("build", _ix(0, 56)), ("fix", _ix(56, 112)))])
    st = pd.DataFrame([_row(month="2026-01", variable="raw", value=0.5, n_users=50, n_sessions=100, suppressed=False,
                            _sessions=_ix(0, 100), _num_sessions=_ix(0, 50))])
    figs = [Figure("work_modes_by_month", "x", "", wm, ["month", "mode"], "share"),
            Figure("success_trend", "x", "", st, ["month"], "share")]
    assert audit_release(figs, pol, users=_users(5)) == []
    problems = audit_release(figs, pol, users=_users(1))
    # (RELEASE_MONTH_INSIDE lists this pair too since the fuzz's success-trend fix: its own line says the same group)
    assert ("figure success_trend: work_modes_by_month's share_of_sessions (month=2026-01) total (n / share) less "
            "success_trend's raw (month=2026-01) n: 12 sessions of 1 user, below 5 users") in problems, problems
    assert all("12 sessions of 1 user" in p for p in problems), problems


def test_a_refusal_names_each_leaked_group_once() -> None:
    """The 12 sessions of one user above follow from several pairs of totals (coverage's classified sessions and work
    modes' n, each less the bins' total; the nested totals and the figure n's): the refusal counts one problem and
    says how many ways give it, in which figures, with the first ways in full. Problems about other sessions stay
    apart."""
    pol = ReleasePolicy()
    figs = [_coverage(112), _work_modes(112), _decisions(100)]
    problems = audit_release(figs, pol, users=_users(1))
    assert len(problems) >= 2, problems
    msg = str(_refusal(problems, pol, False))
    assert "1 released cell breaks" in msg, msg
    assert f"the same 12 sessions, given {len(problems)} ways (in figure decisions)" in msg, msg
    assert problems[0] in msg and msg.count("12 sessions of 1 user") == min(len(problems), 3), msg
    msg = str(_refusal([*problems, "figure x: another problem"], pol, False))
    assert "2 released cells break" in msg and "figure x: another problem" in msg, msg


def _n_only(fid: str, n: int) -> Figure:
    f = Figure(fid, "x", "", pd.DataFrame([_row(variable="other", value=1.0, n_users=50, n_sessions=n,
                                                suppressed=False)]), [], "number", n_sessions=n, n_users=50)
    f.sessions = _ix(0, n)
    return f


def test_a_refusal_of_figure_ns_names_their_group_once() -> None:
    """Coverage's classified sessions and work modes' n (112) less work modes by month's (100): 12 classified sessions
    without a time, of one user, which the audit gave once per pair of totals (each a released cell of its own in the
    refusal's count); one problem now, in the figure whose n gives it."""
    pol = ReleasePolicy()
    problems = audit_release([_coverage(112), _n_only("work_modes", 112), _n_only("work_modes_by_month", 100)], pol,
                             users=_users(1))
    assert len(problems) >= 2 and all("12 sessions of 1 user" in p for p in problems), problems
    msg = str(_refusal(problems, pol, False))
    assert "1 released cell breaks" in msg, msg
    assert f"the same 12 sessions, given {len(problems)} ways (in figure work_modes_by_month)" in msg, msg


def test_a_shape_metrics_sessions_less_than_the_prompted_ones_are_checked() -> None:
    """Session shape's n (112 sessions with a prompt) less its cost metric's (its median's n, or its bins' n / share:
    100 priced) is the 12 sessions whose model has no known price, of one user and not classified. The figure withholds
    such a metric; the audit did not look (a difference holding sessions not classified is no figure-n problem, and
    the prompted sessions had no population inside them); it does now."""
    pol = ReleasePolicy()
    cov = _coverage(112)
    cov.table.loc[cov.table["variable"] == "classified sessions", ["value", "n_sessions"]] = [50.0, 50]
    cov.table.at[int(np.flatnonzero(cov.table["variable"] == "classified sessions")[0]), "_sessions"] = _ix(0, 50)
    priced = _ix(0, 100)
    rows = [_row(metric="cost_usd", bin="all", variable=v, value=1.0, n_users=50, n_sessions=100, suppressed=False,
                 _sessions=priced) for v in ("median", "mean")]
    rows += [_row(metric="cost_usd", bin=b, variable="share_of_sessions", value=0.5, n_users=40, n_sessions=50,
                  suppressed=False, _sessions=x, _den_sessions=priced) for b, x in (("0–1", _ix(0, 50)),
                                                                                    ("1+", _ix(50, 100)))]
    shape = Figure("session_shape", "x", "", pd.DataFrame(rows), ["metric", "bin"], "share", n_sessions=112,
                   n_users=55)
    shape.sessions = _ix(0, 112)
    assert audit_release([cov, shape], pol, users=_users(5)) == []
    problems = audit_release([cov, shape], pol, users=_users(1))
    assert problems and all("12 sessions of 1 user" in p and "metric=cost_usd" in p for p in problems), problems
