"""The final audit's reading of the months a share series over the months gives no group of (work modes by month,
withheld whole so that the classified sessions without a time do not follow) where other figures release sessions of
them (:data:`RELEASE_MONTH_INSIDE`): work modes' n less the released months' groups and a line's sessions of such a
month is the sessions without a time with that month's sessions the line leaves out.

112 classified sessions: 2025-10 (0-39) is released by work modes by month, 2025-11 (40-49) and 2025-12 (50-99) are
withheld whole, and 100-111 have no time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from audit_rows import ix as _ix
from audit_rows import row as _row
from audit_rows import users_112 as _users
from audit_rows import work_modes_112 as _work_modes
from codecensus.aggregate.figures import Figure
from codecensus.aggregate.privacy import ReleasePolicy
from codecensus.report.build import audit_release


def _share_by_month(fid: str, key: str, var: str, released: dict[str, np.ndarray], withheld: tuple[str, ...]
                    ) -> Figure:
    """A share series over the months: each released month's one cell holds its whole group (share 1), each withheld
    month's cell is withheld."""
    rows: list[dict[str, Any]] = [_row(month=m, **{key: "a"}, variable=var, value=1.0, n_users=40, n_sessions=len(x),
                                       suppressed=False, _sessions=x, _den_sessions=x) for m, x in released.items()]
    rows += [_row(month=m, **{key: "a"}, variable=var, value=None, n_users=None, n_sessions=None, suppressed=True)
             for m in withheld]
    return Figure(fid, "x", "", pd.DataFrame(rows), ["month", key], "share")


def _work_modes_by_month() -> Figure:
    f = _share_by_month("work_modes_by_month", "mode", "share_of_sessions", {"2025-10": _ix(0, 40)},
                        ("2025-11", "2025-12"))
    f.n_sessions, f.n_users, f.sessions = 112, 55, _ix(0, 112)
    return f


def test_a_month_occupations_by_month_gives_beside_work_modes_by_month_withholding_it_is_read() -> None:
    """Occupations by month releases every month, all of whose classified sessions have an inferable occupation: their
    groups (n / share) beside work modes' n less 2025-10's group leave the 12 sessions without a time (of one user).
    Neither the lines the audit read for such a month (value by month, value by mode, success trend) nor anything else
    held them: the audit passed it."""
    pol = ReleasePolicy()
    occ = _share_by_month("occupations_by_month", "occupation", "share_where_inferable",
                          {"2025-10": _ix(0, 40), "2025-11": _ix(40, 50), "2025-12": _ix(50, 100)}, ())
    figs = [_work_modes(), _work_modes_by_month(), occ]
    assert audit_release(figs, pol, users=_users(5)) == []
    problems = audit_release(figs, pol, users=_users(1))
    assert problems == [
        "figure work_modes_by_month (share_of_sessions): work_modes's n less the groups of its 1 released month "
        "(n / share) and occupations_by_month's share_where_inferable (n / share) of 2025-11, 2025-12: 12 sessions of "
        "1 user, below 5 users"], problems


def test_a_month_two_lines_give_is_read_with_each_line() -> None:
    """Value by month's raw row of 2025-12 (sessions 50-95: 46) and success trend's (55-99: 45) are not one inside
    the other. Work modes' n less 2025-10's group and value by month's row leaves 40-49 and 96-111 (26 sessions of 5
    users: it passes); less success trend's row instead, 40-54 and 100-111, all one user's. The audit read the
    largest line of each month only, and passed it."""
    pol = ReleasePolicy()
    value = Figure("value_by_month", "x", "", pd.DataFrame([
        _row(month="2025-12", variable="raw", value=100.0, n_users=40, n_sessions=46, suppressed=False,
             _sessions=_ix(50, 96))]), ["month"], "index")
    trend = Figure("success_trend", "x", "", pd.DataFrame([
        _row(month="2025-12", variable="raw", value=0.5, n_users=40, n_sessions=45, suppressed=False,
             _sessions=_ix(55, 100), _num_sessions=_ix(55, 77))]), ["month"], "share")
    figs = [_work_modes(), _work_modes_by_month(), value, trend]
    users = np.arange(112) % 50
    users[100:] = users[40:55] = 99  # the sessions without a time and 40-54: one user's
    users[96:100] = [95, 96, 97, 98]  # 96-99: four others
    assert audit_release(figs, pol, users=np.where(np.arange(112) < 100, users, 100 + np.arange(112))) == []
    problems = audit_release(figs, pol, users=users)
    assert problems == [
        "figure work_modes_by_month (share_of_sessions): work_modes's n less the groups of its 1 released month "
        "(n / share) and success_trend's raw of 2025-12: 27 sessions of 1 user, below 5 users"], problems


def test_a_share_of_0_gives_no_group_of_its_month() -> None:
    """Occupations by month releases 2025-10 (sessions 0-59, one occupation: share 1) and of 2025-11 (60-99, another
    occupation's, withheld) only an empty cell (share 0, n 0); 100-111 have no time. A share of 0 gives no n / share, so 2025-11's group is not
    known: the classified sessions (112) less the groups a reader has leave 52 sessions, which pass. The audit read
    every released cell's group, 0s too, and refused the 12 without a time (of one user) as that difference."""
    pol = ReleasePolicy()
    cov = Figure("coverage", "x", "", pd.DataFrame([_row(dimension="all", level="all", variable="classified sessions",
                                                         value=112.0, n_users=55, n_sessions=112, suppressed=False,
                                                         _sessions=_ix(0, 112))]), ["dimension", "level"], "count")
    occ = Figure("occupations", "x", "", pd.DataFrame([
        _row(occupation="15", variable=v, value=None, n_users=None, n_sessions=None, suppressed=True)
        for v in ("share_of_sessions", "share_where_inferable")]), ["occupation"], "share")
    rows = [_row(month="2025-10", occupation="15", variable="share_where_inferable", value=1.0, n_users=40,
                 n_sessions=60, suppressed=False, _sessions=_ix(0, 60), _den_sessions=_ix(0, 60)),
            _row(month="2025-11", occupation="13", variable="share_where_inferable", value=None, n_users=None,
                 n_sessions=None, suppressed=True),
            _row(month="2025-11", occupation="11", variable="share_where_inferable", value=0.0, n_users=0,
                 n_sessions=0, suppressed=False, _sessions=_ix(0, 0), _den_sessions=_ix(60, 100))]
    by_month = Figure("occupations_by_month", "x", "", pd.DataFrame(rows), ["month", "occupation"], "share")
    assert audit_release([cov, occ, by_month], pol, users=_users(1)) == []
