"""The final audit's reading of a figure's n against the groups work modes by month gives of the months its sessions
are in: where its sessions all have a time and each of their months has a group (n / share), the sum of those groups
less the n is the months' classified sessions the figure leaves out (figures' guard: ``_month_group_population``).

112 classified sessions: 2025-10 (0-39) and 2025-11 (40-99), each released by work modes by month, and 100-111 without
a time (5 users).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit_rows import ix as _ix
from audit_rows import row as _row
from audit_rows import users_112 as _users
from audit_rows import work_modes_112 as _work_modes
from codecensus.aggregate.figures import Figure
from codecensus.aggregate.privacy import ReleasePolicy
from codecensus.report.build import audit_release


def _work_modes_by_month() -> Figure:
    rows = [_row(month=m, mode="build", variable="share_of_sessions", value=1.0, n_users=40, n_sessions=len(x),
                 suppressed=False, _sessions=x, _den_sessions=x)
            for m, x in (("2025-10", _ix(0, 40)), ("2025-11", _ix(40, 100)))]
    f = Figure("work_modes_by_month", "x", "", pd.DataFrame(rows), ["month", "mode"], "share", n_sessions=112,
               n_users=55)
    f.sessions = _ix(0, 112)
    return f


def _with_n(fid: str, var: str, sessions: np.ndarray) -> Figure:
    """Figure ``fid`` with its n (``sessions``) and one released row of them (a kind's median)."""
    t = pd.DataFrame([_row(kind="planning", bin="all", variable=var, value=50.0, n_users=45,
                           n_sessions=len(sessions), suppressed=False, _sessions=sessions)])
    f = Figure(fid, "x", "", t, ["kind", "bin"], "share", n_sessions=len(sessions), n_users=45)
    f.sessions = sessions
    return f


@pytest.mark.parametrize(("fid", "var"), [("decisions", "mean_pct"), ("actions_by_decisions", "actions_per_prompt")])
def test_a_figure_n_less_the_groups_of_its_months_is_read(fid: str, var: str) -> None:
    """The figure's n is sessions 0-96, in both months: work modes' n less it (15: 97-111, with the 12 without a
    time) passes, but the two months' groups (40 + 60) less it give 97-99, 3 sessions of 3 users, which the audit
    passed (figures withhold such an n: ``_month_group_population``; the audit read no figure n against the months'
    groups but value by month's and success trend's where they withhold months)."""
    pol = ReleasePolicy()
    figs = [_work_modes(), _work_modes_by_month(), _with_n(fid, var, _ix(0, 97))]
    problems = audit_release(figs, pol, users=_users(5))
    what = (f"figure {fid}: the groups of 2025-10, 2025-11 (work_modes_by_month's share_of_sessions, n / share) "
            f"less {fid}'s n")
    assert problems == [f"{what} gives 3 sessions, below the thresholds",
                        f"{what}: 3 sessions of 3 users, below 5 users"], problems


def test_a_figure_n_whose_months_groups_hold_none_or_enough_more_passes() -> None:
    """The same with the n all the months' sessions (0-99: none left), with 12 fewer of 2025-11 (88-99 left out: 12
    sessions of 12 users), and with the n of 2025-10 alone (its group less it: none)."""
    pol = ReleasePolicy()
    for x in (_ix(0, 100), _ix(0, 88), _ix(0, 40)):
        figs = [_work_modes(), _work_modes_by_month(), _with_n("decisions", "mean_pct", x)]
        assert audit_release(figs, pol, users=_users(5)) == [], len(x)


def test_a_figure_n_with_a_session_without_a_time_is_not_read_against_the_months_groups() -> None:
    """The n is 0-96 and one session without a time (100): the months' groups less it is no count of sessions (work
    modes' n less it, 14 of 6 users, passes)."""
    pol = ReleasePolicy()
    x = np.concatenate([_ix(0, 97), _ix(100, 101)])
    figs = [_work_modes(), _work_modes_by_month(), _with_n("decisions", "mean_pct", x)]
    assert audit_release(figs, pol, users=_users(5)) == []
