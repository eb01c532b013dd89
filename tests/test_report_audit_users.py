"""The final audit checks the distinct users of what subtraction of released counts gives, not only its sessions.

A rate's group less its numerator, a total less its released cells, a tree node less its children, at least partial
less strict success: each such group could pass ``min_sessions`` with every session from one person. Its users do
not follow from the two counts of users (one user can be on both sides), so the audit works each group out as a set
of sessions from the sessions behind the released rows (``_sessions`` and ``_den_sessions``), which never leave the
report.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from audit_rows import ix as _ix
from audit_rows import row as _row
from audit_rows import users_112
from codecensus.aggregate import figures
from codecensus.aggregate.figures import AUDITED_VARIABLES, Context, Figure, build_figures, long_table
from codecensus.aggregate.privacy import ReleasePolicy
from codecensus.aggregate.synthetic import load_into, synthetic_corpus
from codecensus.report.build import (
    ReleaseAuditFailed,
    ReportOptions,
    audit_release,
    compute,
    load_report_data,
    write_report,
)
from codecensus.report.html import ReleaseView, render_html
from codecensus.store import Store


def _users(rest_users: int) -> np.ndarray:
    """Users of 112 sessions: 0-99 from 30 users, 100-111 (the rest) from ``rest_users`` others."""
    return users_112(rest_users, first_users=30)


def _work_modes() -> Figure:
    """A roll-up of 112 sessions released beside one released mode (100 sessions) and two withheld ones (6 + 6)."""
    whole = _ix(0, 112)
    t = pd.DataFrame([
        _row(mode="build", rollup="code", variable="share_of_sessions", value=100 / 112, n_users=30, n_sessions=100,
             suppressed=False, _sessions=_ix(0, 100), _den_sessions=whole),
        _row(mode="fix", rollup="code", variable="share_of_sessions", value=None, n_users=None, n_sessions=None,
             suppressed=True, _sessions=_ix(100, 106), _den_sessions=whole),
        _row(mode="test", rollup="code", variable="share_of_sessions", value=None, n_users=None, n_sessions=None,
             suppressed=True, _sessions=_ix(106, 112), _den_sessions=whole),
        _row(mode="code", rollup="code", variable="share_of_sessions_rollup", value=1.0, n_users=31, n_sessions=112,
             suppressed=False, _sessions=whole, _den_sessions=whole),
    ])
    return Figure("work_modes", "Work modes", "", t, ["mode", "rollup"], "share")


def test_a_total_less_its_released_cells_from_one_user_is_refused() -> None:
    """The code roll-up (112) less build (100) gives 12 sessions in two withheld modes: enough sessions, and two cells,
    so the count checks pass, but all 12 are one user's. The rest of build's group (n / share - n) is the same 12."""
    pol = ReleasePolicy()
    f = _work_modes()
    assert audit_release([f], pol) == []  # sessions only: it passes
    problems = audit_release([f], pol, users=_users(1))
    assert any("rollup=code" in p and "12 sessions of 1 user" in p for p in problems), problems
    assert any("mode=build" in p and "rest of its group: 12 sessions of 1 user" in p for p in problems), problems
    # the same 12 sessions from 5 users pass
    assert audit_release([f], pol, users=_users(5)) == []


def test_a_tree_node_less_its_children_from_one_user_is_refused() -> None:
    """A topic of 112 sessions whose released child has 100: the other 12 (a withheld child's, or the node's own)
    are one user's."""
    rows = [_row(cluster_id="a", parent_id=None, depth=0, variable="share_of_sessions", value=1.0, n_users=31,
                 n_sessions=112, suppressed=False, _sessions=_ix(0, 112), _den_sessions=_ix(0, 112)),
            _row(cluster_id="a1", parent_id="a", depth=1, variable="share_of_sessions", value=100 / 112, n_users=30,
                 n_sessions=100, suppressed=False, _sessions=_ix(0, 100), _den_sessions=_ix(0, 112)),
            _row(cluster_id="a2", parent_id="a", depth=1, variable="share_of_sessions", value=None, n_users=None,
                 n_sessions=None, suppressed=True, _sessions=_ix(100, 112), _den_sessions=_ix(0, 112))]
    f = Figure("topics", "Topics", "", pd.DataFrame(rows), ["cluster_id", "parent_id", "depth"], "share")
    pol = ReleasePolicy()
    assert not any("children" in p for p in audit_release([f], pol))
    problems = audit_release([f], pol, users=_users(1))
    assert any("cluster_id=a)" in p and "children: 12 sessions of 1 user" in p for p in problems), problems
    assert not any("children" in p for p in audit_release([f], pol, users=_users(5)))


def test_a_difference_of_two_rates_and_a_monthly_rate_from_one_user_are_refused() -> None:
    """At least partial (112) less strict success (100) at a level: 12 sessions of one user. And a month's strict
    success rate over its n (its group) gives its failures: 12 sessions of one user."""
    g = _ix(0, 140)
    users = np.concatenate([np.arange(100) % 30, np.full(12, 100), 200 + np.arange(28) % 10]).astype(np.int64)
    t = pd.DataFrame([
        _row(expertise=3, variable="strict_success", value=100 / 140, n_users=30, n_sessions=100, suppressed=False,
             _sessions=_ix(0, 100), _den_sessions=g),
        _row(expertise=3, variable="at_least_partial", value=112 / 140, n_users=31, n_sessions=112, suppressed=False,
             _sessions=_ix(0, 112), _den_sessions=g),
    ])
    f = Figure("outcomes_by_expertise", "x", "", t, ["expertise"], "share")
    pol = ReleasePolicy()
    assert audit_release([f], pol) == []
    problems = audit_release([f], pol, users=users)
    assert any("at_least_partial's n minus strict_success's: 12 sessions of 1 user" in p for p in problems), problems
    m = pd.DataFrame([_row(month="2025-10", variable="raw", value=100 / 112, n_users=31, n_sessions=112,
                           suppressed=False, _sessions=_ix(0, 112), _num_sessions=_ix(0, 100))])
    trend = Figure("success_trend", "x", "", m, ["month"], "share")
    assert audit_release([trend], pol) == []
    problems = audit_release([trend], pol, users=users)
    assert any("month=2025-10" in p and "rest of its group: 12 sessions of 1 user" in p for p in problems), problems


def _one_user_in_two_occupations(store: Store) -> None:
    """Every classified session in occupation 15, but 12 of one user's: 6 in 13 and 6 in 27 (each withheld)."""
    store.con.execute("UPDATE facets SET occupation = '15' WHERE occupation IS NOT NULL")
    user = store.con.execute("SELECT s.user FROM sessions s JOIN facets f USING (session_key) WHERE f.mode IS NOT NULL "
                             "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchall()[0][0]
    keys = [r[0] for r in store.con.execute(
        "SELECT session_key FROM sessions s JOIN facets f USING (session_key) WHERE s.user = ? AND f.mode IS NOT NULL "
        "ORDER BY session_key LIMIT 12", [user]).fetchall()]
    assert len(keys) == 12
    store.con.execute("UPDATE facets SET occupation = '13' WHERE session_key IN (SELECT unnest(?))", [keys[:6]])
    store.con.execute("UPDATE facets SET occupation = '27' WHERE session_key IN (SELECT unnest(?))", [keys[6:]])


def test_the_audit_refuses_a_share_whose_group_rest_is_one_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  ) -> None:
    """The occupations figure, were it to release each cell on its own thresholds (no complementary suppression),
    would show occupation 15's share with its n: the rest of its group, 12 sessions in two withheld occupations, are
    all one user's. The sessions-only audit let it through; the report must now refuse it. The figure as it is
    withholds 15 with them, and the report passes."""
    with Store(tmp_path / "c.duckdb") as store:
        load_into(store, synthetic_corpus(users=60, sessions=1500, seed=4), clusters=False, git=False)
        _one_user_in_two_occupations(store)
        comp = compute(store, ReportOptions(bootstrap=20))  # the figure as it is: passes
        occ = next(f for f in comp.figures if f.id == "occupations").table
        assert bool(occ.loc[occ["occupation"] == "15", "suppressed"].all())
        real = figures.fig_occupations

        def each_cell_alone(ctx: Context) -> Figure:
            policy = ctx.policy
            ctx.policy = ReleasePolicy(individual=True)
            try:
                f = real(ctx)
            finally:
                ctx.policy = policy
            t = f.table
            n_s, n_u = (pd.to_numeric(t[c], errors="coerce").fillna(0) for c in ("n_sessions", "n_users"))
            figures._withhold_derived(t, pd.Series(~figures.passes(policy, n_u, n_s) & (n_s > 0), index=t.index))
            return f

        monkeypatch.setattr(figures, "FIGURES", tuple(each_cell_alone if f is real else f for f in figures.FIGURES))
        with pytest.raises(ReleaseAuditFailed) as e:
            compute(store, ReportOptions(bootstrap=20))
    assert "figure occupations (occupation=15, share_of_sessions): its share and n give its rest of its group: " \
           "12 sessions of 1 user" in str(e.value)


def test_released_rows_carry_their_sessions_and_no_output_does(tmp_path: Path) -> None:
    """Every released row the audit reads (``AUDITED_VARIABLES``) carries the sessions its n counts (and a share its
    group's, which hold them); none of them, nor any other column whose name starts with '_', is in a CSV, Parquet
    file, the long table or the HTML page (whose charts embed whole tables)."""
    c = synthetic_corpus(users=60, sessions=1500, months=6, seed=4)
    with Store(tmp_path / "c.duckdb") as store:
        load_into(store, c)
        data = load_report_data(store)
        figs = build_figures(Context(data, ReleasePolicy(), B=20))
        res = write_report(store, ReportOptions(out=tmp_path / "out", bootstrap=20))
    checked = 0
    for f in figs:
        t = f.table
        audited = AUDITED_VARIABLES.get(f.id, frozenset())
        rel = t[~t["suppressed"].astype(bool) & t["variable"].isin(audited)] if f.available else t.iloc[:0]
        for r in rel.to_dict("records"):
            s = r["_sessions"]
            assert isinstance(s, np.ndarray) and len(s) == int(r["n_sessions"]), (f.id, r["variable"])
            if isinstance(r.get("_den_sessions"), np.ndarray):
                assert np.isin(s, r["_den_sessions"]).all(), (f.id, r["variable"])
            checked += 1
    assert checked > 100
    leaked = [c for f in figs for c in f.table.columns if str(c).startswith("_")]
    assert "_sessions" in leaked and "_den_sessions" in leaked  # the tables going in carry them
    for p in res.tables:
        cols = pq.read_schema(p).names if p.suffix == ".parquet" else list(pd.read_csv(p, nrows=0).columns)
        assert not [c for c in cols if c.startswith("_")], p
    assert not [c for c in long_table(figs).column_names if c.startswith("_")]
    page = res.html.read_text(encoding="utf-8")
    direct = render_html(figs, [], ReleaseView(min_users=5, min_sessions=10))  # the figures as built, not stripped
    for text in (page, direct):  # (as a key of the charts' data; 'n_sessions' is one of the page's own)
        assert not [c for c in ('"_sessions"', '"_den_sessions"', '"_num_sessions"', '"_users"') if c in text]
