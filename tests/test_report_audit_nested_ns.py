"""Released n's of populations nested by definition (:data:`codecensus.aggregate.figures.RELEASE_NESTED_NS`), and a
month a share series withholds that another figure's line releases (:data:`RELEASE_MONTH_INSIDE`).

All sessions (coverage) less usage intensity's n are the sessions without a time; the classified sessions less work
modes by month's n the classified ones without a time; the classified sessions less actions by decisions' n those
without decision shares or without a prompt. Each such difference is a group a reader works out: the audit checks it
(sessions and distinct users) and the figures withhold what would give it. The real corpus gave 10 sessions of 4
users (373 - 363), 7 of 1 user (353 - 346) and 6 sessions (353 - 347).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from audit_rows import ix as _ix
from audit_rows import row as _row
from audit_rows import users_112 as _users
from codecensus.aggregate.figures import Figure
from codecensus.aggregate.privacy import ReleasePolicy
from codecensus.aggregate.synthetic import load_into, synthetic_corpus
from codecensus.report.build import ReportOptions, audit_release, compute
from codecensus.store import Store


def _coverage(all_n: int, classified_n: int) -> Figure:
    t = pd.DataFrame([
        _row(dimension="all", level="all", variable="sessions", value=float(all_n), n_users=55, n_sessions=all_n,
             suppressed=False, _sessions=_ix(0, all_n)),
        _row(dimension="all", level="all", variable="classified sessions", value=float(classified_n), n_users=55,
             n_sessions=classified_n, suppressed=False, _sessions=_ix(0, classified_n))])
    return Figure("coverage", "x", "", t, ["dimension", "level"], "count", n_sessions=all_n, n_users=55)


def _n_only(fid: str, n: int, users: int = 50) -> Figure:
    """A figure whose only released number the audit reads here is its n (sessions 0..n)."""
    f = Figure(fid, "x", "", pd.DataFrame([_row(variable="other", value=1.0, n_users=users, n_sessions=n,
                                                suppressed=False)]), [], "number", n_sessions=n, n_users=users)
    f.sessions = _ix(0, n)
    return f


def test_all_sessions_less_usage_intensitys_n_from_one_user_are_refused() -> None:
    """Coverage's 112 sessions less usage intensity's n (its sessions with a time, 100) are the 12 without a time:
    enough sessions, but one user's."""
    figs = [_coverage(112, 112), _n_only("usage_intensity", 100)]
    pol = ReleasePolicy()
    assert audit_release(figs, pol) == []
    assert audit_release(figs, pol, users=_users(5)) == []
    assert audit_release(figs, pol, users=_users(1)) == [
        "figure usage_intensity: coverage's sessions (dimension=all) less usage_intensity's n (all sessions less "
        "timed ones): 12 sessions of 1 user, below 5 users"]


def test_the_classified_sessions_less_work_modes_by_months_n_are_checked() -> None:
    """Work modes' n and coverage's classified sessions (112) less work modes by month's n (the classified sessions
    with a time): 12 sessions of one user; 106 - 100 = 6 sessions fail on their own."""
    pol = ReleasePolicy()
    figs = [_coverage(112, 112), _n_only("work_modes", 112), _n_only("work_modes_by_month", 100)]
    problems = audit_release(figs, pol, users=_users(1))
    assert problems and all(p.startswith("figure work_modes_by_month: ") and "12 sessions of 1 user" in p
                            for p in problems), problems
    assert audit_release(figs, pol, users=_users(5)) == []
    figs = [_coverage(106, 106), _n_only("work_modes_by_month", 100)]
    assert any("gives 6 sessions, below the thresholds" in p for p in audit_release(figs, pol)), figs


def _wmbm(months: dict[str, tuple[int, int]]) -> Figure:
    """Work modes by month: each month one released mode (half of the month's group) and two withheld."""
    rows = []
    for m, (a, b) in months.items():
        half = (a + b) // 2
        rows += [_row(month=m, mode="build", variable="share_of_sessions", value=(half - a) / (b - a),
                      n_users=25, n_sessions=half - a, suppressed=False, _sessions=_ix(a, half),
                      _den_sessions=_ix(a, b))]
        rows += [_row(month=m, mode=mode, variable="share_of_sessions", value=None, n_users=None, n_sessions=None,
                      suppressed=True, _sessions=None, _den_sessions=None) for mode in ("fix", "test")]
    return Figure("work_modes_by_month", "x", "", pd.DataFrame(rows), ["month", "mode"], "share")


def _vbm(months: dict[str, tuple[int, int]]) -> Figure:
    rows = [_row(month=m, variable=v, value=100.0, n_users=12, n_sessions=b - a, suppressed=False,
                 _sessions=_ix(a, b)) for m, (a, b) in months.items() for v in ("raw", "reweighted", "mean")]
    return Figure("value_by_month", "x", "", pd.DataFrame(rows), ["month"], "index")


def test_a_month_work_modes_by_month_withholds_but_value_by_month_releases_is_checked() -> None:
    """Work modes' n (130 classified sessions) less work modes by month's released months (2025-10, 60; 2025-11, 40)
    is 30 sessions: 2025-12 (24, withheld whole) and 6 without a time. Value by month releases 2025-12 (the
    month's classified sessions with a value: all 24), so the 6 without a time follow: one user's."""
    users = np.concatenate([np.arange(100) % 50, 100 + np.arange(24) % 12, np.full(6, 200)]).astype(np.int64)
    pol = ReleasePolicy()
    wm = _n_only("work_modes", 130)
    shown = {"2025-10": (0, 60), "2025-11": (60, 100)}
    assert audit_release([wm, _wmbm(shown)], pol, users=users) == []
    problems = audit_release([wm, _wmbm(shown), _vbm({"2025-12": (100, 124)})], pol, users=users)
    assert any(p.startswith("figure work_modes_by_month (share_of_sessions): work_modes's n less the groups of its "
                            "2 released months (n / share) and value_by_month's raw of 2025-12")
               and "6 sessions of 1 user" in p for p in problems), problems
    # a month both release: its group less the line's sessions of it (classified sessions without a value)
    problems = audit_release([_wmbm({**shown, "2025-12": (100, 130)}), _vbm({"2025-12": (100, 124)})], pol,
                             users=users)
    assert any("month 2025-12's group (n / share) less value_by_month's raw" in p and "6 sessions of 1 user" in p
               for p in problems), problems


def _compute(tmp_path: Path, edit: Callable[[pd.DataFrame], pd.DataFrame], *, users: int = 60,
             sessions: int = 600, months: int = 3,
             facets: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> Any:  # noqa: ANN401
    c = synthetic_corpus(users=users, sessions=sessions, months=months, seed=4)
    c.sessions = pa.Table.from_pandas(edit(c.sessions.to_pandas()), preserve_index=False, schema=c.sessions.schema)
    if facets is not None:
        c.facets = pa.Table.from_pandas(facets(c.facets.to_pandas()), preserve_index=False, schema=c.facets.schema)
    store = Store(tmp_path / "d.duckdb")
    load_into(store, c, clusters=False, git=False)
    try:
        return compute(store, ReportOptions(bootstrap=10))
    finally:
        store.close()


def _first_of_users(s: pd.DataFrame, n: int) -> np.ndarray:
    return s.index.isin(s.drop_duplicates("user").head(n).index)


def test_few_sessions_without_a_time_withhold_the_ns_of_the_timed_sessions(tmp_path: Path) -> None:
    """The first session of 3 users has no time: coverage withholds their count, but usage intensity's n (the
    sessions with a time) gave it beside coverage's sessions. Its n is withheld, with a note, and no row of usage
    intensity counts the sessions with a time (its rows count user-weeks then). Work modes by month's n counts the
    classified sessions without a time too (its note says so): the classified sessions less it are none."""
    def edit(s: pd.DataFrame) -> pd.DataFrame:
        s = s.copy()
        s["started_at"] = s["started_at"].where(~_first_of_users(s, 3), pd.NaT)
        return s

    comp = _compute(tmp_path, edit)
    figs = {f.id: f for f in comp.figures}
    cov = figs["coverage"].table
    unknown = cov[(cov["dimension"] == "month") & (cov["level"] == "unknown")]
    assert bool(unknown["suppressed"].all()), unknown
    timed = 600 - 3
    f = figs["usage_intensity"]
    assert (f.n_sessions, f.n_users) == (0, 0) and any(n.startswith("n withheld") for n in f.notes), f.n_sessions
    assert figs["work_modes_by_month"].n_sessions == 600, figs["work_modes_by_month"].n_sessions
    usage = figs["usage_intensity"].table
    assert timed not in set(pd.to_numeric(usage["n_sessions"], errors="coerce").dropna().astype(int)), usage
    assert figs["work_modes"].n_sessions == 600  # the classified sessions stay released


def test_few_classified_sessions_without_a_prompt_withhold_a_bin_of_each_line(tmp_path: Path) -> None:
    """4 classified sessions (4 users) have no prompt, so no actions per prompt: actions by decisions' n, or its
    bins' sum, beside the classified sessions gave those 4. Its n is withheld with a note, and each line withholds a
    bin with them, so that the classified sessions less the released bins pass. Session shape (the sessions with a
    prompt) is withheld whole."""
    def edit(s: pd.DataFrame) -> pd.DataFrame:
        s = s.copy()
        at = _first_of_users(s, 4)
        s.loc[at, "prompts"] = 0
        s.loc[at, "actions_per_prompt"] = np.nan
        return s

    comp = _compute(tmp_path, edit)
    f = next(f for f in comp.figures if f.id == "actions_by_decisions")
    assert (f.n_sessions, f.n_users) == (0, 0) and any(n.startswith("n withheld") for n in f.notes), f.n_sessions
    t = f.table
    for kind in ("planning", "execution"):
        line = t[t["kind"] == kind]
        shown = int(pd.to_numeric(line.loc[~line["suppressed"].astype(bool), "n_sessions"]).sum())
        assert bool(line["suppressed"].any()) and 600 - shown >= 10, (kind, shown)
    # session shape counts the sessions with a prompt: all sessions less them are those 4, so it is withheld whole
    shape = next(f for f in comp.figures if f.id == "session_shape")
    assert shape.n_sessions == 0 and bool(shape.table["suppressed"].all()), shape.n_sessions


def test_a_modes_classified_sessions_less_its_sessions_with_a_value_are_checked() -> None:
    """Work modes' cell of build (its 112 classified sessions) less value by mode's mean at build (100 with a value):
    12 sessions of one user."""
    wm = Figure("work_modes", "x", "", pd.DataFrame([_row(mode="build", variable="share_of_sessions", value=0.5,
                                                          n_users=55, n_sessions=112, suppressed=False,
                                                          _sessions=_ix(0, 112), _den_sessions=_ix(0, 224))]),
                ["mode"], "share")
    vm = Figure("value_by_mode", "x", "", pd.DataFrame([_row(mode="build", month=None, variable=v, value=50.0,
                                                          n_users=50, n_sessions=100, suppressed=False,
                                                          _sessions=_ix(0, 100)) for v in ("mean_usd", "median_usd")]),
                ["mode", "month"], "usd")
    users = np.concatenate([_users(1), 300 + np.arange(112)]).astype(np.int64)
    problems = audit_release([wm, vm], ReleasePolicy(), users=users)
    assert "figure value_by_mode (mode=build, mean_usd): work_modes's share_of_sessions less it: 12 sessions of 1 " \
           "user, below 5 users" in problems, problems


def test_few_classified_sessions_without_a_value_withhold_the_value_figures_ns(tmp_path: Path) -> None:
    """The first session of 3 users has neither a time nor a value: value by month's and value by mode's n (the
    classified sessions with a value) beside the classified sessions gave those 3, and each of their modes' cells in
    value by mode beside the mode's cell in work modes gave its share of them. The n's are withheld, with a note,
    and so are those modes' cells in value by mode."""
    keys: list[str] = []

    def edit(s: pd.DataFrame) -> pd.DataFrame:
        s = s.copy()
        at = _first_of_users(s, 3)
        keys.extend(s.loc[at, "session_key"])
        s["started_at"] = s["started_at"].where(~at, pd.NaT)
        return s

    modes: set[str] = set()

    def facets(f: pd.DataFrame) -> pd.DataFrame:
        f = f.copy()
        f.loc[f["session_key"].isin(keys), ["value_usd", "value_hours"]] = np.nan
        modes.update(f.loc[f["session_key"].isin(keys), "mode"])
        return f

    comp = _compute(tmp_path, edit, facets=facets)
    figs = {f.id: f for f in comp.figures}
    for fid in ("value_by_month", "value_by_mode"):
        f = figs[fid]
        assert (f.n_sessions, f.n_users) == (0, 0) and any(n.startswith("n withheld") for n in f.notes), (fid, f.n_sessions)
    t = figs["value_by_mode"].table
    means = t[t["variable"] == "mean_usd"].set_index("mode")["suppressed"]
    assert modes and all(bool(means[m]) for m in modes), (modes, means)
