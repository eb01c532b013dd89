"""The report's numbers against an independent reading of the stored tables: point estimates, intervals, words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from codecensus.aggregate.figures import Context, Figure, build_figures, load_report_data
from codecensus.aggregate.privacy import ReleasePolicy
from codecensus.aggregate.stats import UserBootstrap
from codecensus.aggregate.synthetic import load_into, synthetic_corpus
from codecensus.report.findings import key_findings
from codecensus.store import Store


def _outcomes_figure(rows: list[tuple[int, float, float, float]]) -> Figure:
    t = pd.DataFrame([{"expertise": lv, "expertise_label": f"{lv} {name}", "variable": "strict_success", "value": v,
                       "ci_low": lo, "ci_high": hi, "n_users": 4, "n_sessions": 4, "suppressed": False,
                       "ci_method": "wilson"}
                      for (lv, v, lo, hi), name in zip(rows, ("Novice", "Expert"), strict=True)])
    return Figure("outcomes_by_expertise", "Outcome by expertise", "", t, ["expertise", "expertise_label"], "share")


def test_overlapping_intervals_are_not_called_a_small_change() -> None:
    """5.1% (1.5-18%) at level 1 against 50% (15-85%) at level 5 was worded 'Verified success barely changes with
    expertise': the intervals overlap, which says the data cannot tell, not that the change is small."""
    f = key_findings([_outcomes_figure([(1, 0.051, 0.015, 0.18), (5, 0.50, 0.15, 0.85)])])
    text = " ".join(x.detail for x in f if x.figure == "outcomes_by_expertise")
    assert "barely" not in text
    assert "not clearly different" in text
    # intervals apart: still a direction
    f = key_findings([_outcomes_figure([(1, 0.05, 0.02, 0.09), (5, 0.50, 0.35, 0.65)])])
    assert "rises with expertise" in " ".join(x.detail for x in f)


def test_a_mean_over_one_resampled_unit_has_no_interval() -> None:
    """Every replicate that draws a cell's only unit repeats the estimate: the interval came out as [x, x], a value
    shown as exact. It is now NaN; cells of two or more units keep their bootstrap interval."""
    vals = np.array([13.0, 4.0, 6.0, 9.0, 2.0])
    cell = np.array([0, 1, 1, 1, 1])
    ind = UserBootstrap(["me"] * 5, B=50, resample_sessions=True)  # individual mode: sessions are the units
    lo, hi = ind.mean(cell, vals, 2).ci()
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    assert lo[1] < hi[1]
    lo, hi = ind.quantile(cell, vals, 2).ci()
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    # team mode: one user's three sessions in a cell are one unit
    team = UserBootstrap(["a", "a", "a", "b", "c"], B=50)
    e = team.mean(np.array([0, 0, 0, 1, 1]), np.array([1.0, 5.0, 9.0, 2.0, 7.0]), 2)
    lo, hi = e.ci()
    assert np.isnan(lo[0]) and np.isnan(hi[0]) and e.ci_method[0] == "no interval (one unit)"
    assert lo[1] < hi[1]


@pytest.fixture(scope="module")
def one_person(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Figure]:
    """Individual mode over one person's 60 sessions: many mode x expertise and mode x month cells of one session."""
    store = Store(tmp_path_factory.mktemp("one") / "one.duckdb")
    load_into(store, synthetic_corpus(users=1, sessions=60, seed=5), clusters=False, git=False)
    data = load_report_data(store)
    figs = {f.id: f for f in build_figures(Context(data, ReleasePolicy(individual=True), B=40,
                                                    resample_sessions=True))}
    store.close()
    return figs


def test_one_session_cells_of_a_personal_report_show_no_exact_interval(one_person: dict[str, Figure]) -> None:
    """Before: 11 released mean cells of one person's report had ci_low == ci_high (e.g. 13.0 actions per prompt,
    95% CI 13.0 - 13.0) and one-session months of the value index an interval of zero width."""
    checked = 0
    for fid in ("expertise_shape", "expertise_shape_by_mode", "value_by_mode", "value_by_month", "decisions",
                "actions_by_decisions"):
        t = one_person[fid].table
        r = t[~t["suppressed"].astype(bool) & (t["n_sessions"].astype(float) == 1)]
        r = r[~r["variable"].astype(str).str.startswith("share")]
        if fid == "value_by_mode":
            r = r[r["variable"] != "index"]  # index rows are checked below: their base month is 100 by definition
        checked += len(r)
        assert r["ci_low"].isna().all() and r["ci_high"].isna().all(), (fid, r[["variable", "value", "ci_low"]])
    assert checked > 0
    idx = one_person["value_by_mode"].table
    idx = idx[(idx["variable"] == "index") & ~idx["suppressed"].astype(bool)]
    for _mode, g in idx.groupby("mode"):
        base_one = int(g.sort_values("month").iloc[0]["n_sessions"]) == 1  # the first released month is the base
        for r in g.itertuples():
            if base_one or r.n_sessions == 1:
                assert np.isnan(r.ci_low) and np.isnan(r.ci_high)


def test_point_estimates_match_a_direct_computation_from_the_tables(tmp_path: Path) -> None:
    """An independent pandas reading of `sessions` + `facets` (taxonomy definitions) gives the released numbers."""
    store = Store(tmp_path / "n.duckdb")
    load_into(store, synthetic_corpus(users=80, sessions=900, seed=11), clusters=False, git=False)
    s = store.query("SELECT s.session_key, s.\"user\", s.started_at, s.actions_per_prompt, s.words_per_prompt, "
                    "f.mode, f.expertise, f.outcome, f.occupation, f.value_usd FROM sessions s "
                    "LEFT JOIN facets f USING (session_key)").to_pandas()
    figs = {f.id: f for f in build_figures(Context(load_report_data(store), ReleasePolicy(min_users=2,
                                                                                          min_sessions=2), B=20))}
    store.close()
    wm = figs["work_modes"].table
    for r in wm[(wm["variable"] == "share_of_sessions") & ~wm["suppressed"]].itertuples():
        assert r.value == pytest.approx((s["mode"] == r.mode).sum() / s["mode"].notna().sum())
    oe = figs["outcomes_by_expertise"].table
    for r in oe[~oe["suppressed"]].itertuples():
        lv = s[s["expertise"] == r.expertise]
        known = lv[lv["outcome"].notna() & (lv["outcome"] != "unclear")]
        want = {"strict_success": (known["outcome"] == "verified_success").mean(),
                "at_least_partial": known["outcome"].isin(["verified_success", "success", "partial"]).mean(),
                "failure": (known["outcome"] == "failure").mean(),
                "unclear": (lv.loc[lv["outcome"].notna(), "outcome"] == "unclear").mean()}[r.variable]
        assert r.value == pytest.approx(want)
        assert 0 <= r.ci_low <= r.value <= r.ci_high <= 1
    es = figs["expertise_shape"].table
    for r in es[(es["variable"] == "actions_per_prompt") & ~es["suppressed"]].itertuples():
        assert r.value == pytest.approx(s.loc[s["expertise"] == r.expertise, "actions_per_prompt"].mean())


def test_a_released_zero_share_stays_on_the_monthly_lines(tmp_path: Path) -> None:
    """A work mode with no session in one month is released as 0% in the table, but the chart left the point out and
    drew its line straight from the month before to the month after (e.g. 'test' at 0% in 2025-11 of the demo)."""
    from codecensus.aggregate.figures import fig_work_modes_by_month
    from codecensus.report.charts import chart_specs

    store = Store(tmp_path / "z.duckdb")
    load_into(store, synthetic_corpus(users=80, sessions=900, seed=11), clusters=False, git=False)
    months = [r[0] for r in store.con.execute(
        "SELECT DISTINCT strftime(started_at, '%Y-%m') m FROM sessions ORDER BY m").fetchall()]
    gap = months[len(months) // 2]
    # no 'plan' session in the middle month: the others of that month become 'fix'
    store.con.execute("UPDATE facets SET mode = 'fix' WHERE mode = 'plan' AND session_key IN (SELECT session_key "
                      "FROM sessions WHERE strftime(started_at, '%Y-%m') = ?)", [gap])
    fig = fig_work_modes_by_month(Context(load_report_data(store), ReleasePolicy(), B=20))
    store.close()
    t = fig.table
    zero = t[(t["month"] == gap) & (t["mode"] == "plan")]
    assert not zero["suppressed"].iloc[0] and zero["value"].iloc[0] == 0.0
    points = [d for spec in chart_specs(fig) for rows in spec.get("datasets", {}).values() for d in rows]
    assert any(d.get("mode") == "plan" and d.get("month") == gap and d.get("value") == 0.0 for d in points)


def test_a_monthly_rate_of_zero_names_its_wilson_interval(tmp_path: Path) -> None:
    """When every session fails, each month's success rate is 0 and gets a Wilson interval, but its rows said
    'user-clustered bootstrap'; and the regression on expertise released exact-looking zero intervals."""
    store = Store(tmp_path / "f.duckdb")
    load_into(store, synthetic_corpus(users=60, sessions=600, seed=5), clusters=False, git=False)
    store.con.execute("UPDATE facets SET outcome = 'failure'")
    figs = {f.id: f for f in build_figures(Context(load_report_data(store), ReleasePolicy(), B=20))}
    store.close()
    t = figs["success_trend"].table
    zero = t[~t["suppressed"] & (t["value"] == 0) & t["variable"].isin(["raw", "reweighted"])]
    assert not zero.empty
    assert (zero["ci_method"] == "wilson on units (degenerate bootstrap)").all(), zero["ci_method"].unique()
    assert (zero["ci_high"] > 0).all()
    # the regression of a constant outcome released '0 pts, 95% CI 0 – 0' at every level
    assert not figs["regression"].available


def _share_figure(fid: str, key: str, variable: str, cells: list[tuple[str, float | None]]) -> Figure:
    t = pd.DataFrame([{key: name, f"{key}_label": name.title(), "variable": variable, "value": v,
                       "ci_low": None if v is None else max(0.0, v - 0.05), "ci_high": None if v is None else v + 0.05,
                       "n_users": None if v is None else 9, "n_sessions": None if v is None else 20,
                       "suppressed": v is None, "ci_method": "wilson"} for name, v in cells])
    return Figure(fid, fid, "", t, [key, f"{key}_label"], "share")


def test_no_largest_group_is_named_that_a_suppressed_one_could_beat() -> None:
    """Real corpus (123 users): every occupation with sessions was suppressed and the empty ones released as 0, and
    the summary said 'Management: 0.0% of sessions with an inferable occupation. The largest occupation group.'"""
    occ = _share_figure("occupations", "occupation", "share_where_inferable",
                        [("management", 0.0), ("legal", 0.0), ("computer", None), ("arts", None)])
    assert not [f for f in key_findings([occ]) if f.figure == "occupations"]
    # a released group smaller than what the suppressed ones hold: named as the largest of the released ones only
    occ = _share_figure("occupations", "occupation", "share_where_inferable",
                        [("management", 0.3), ("legal", 0.1), ("computer", None), ("arts", None)])
    (f,) = [f for f in key_findings([occ]) if f.figure == "occupations"]
    assert "The largest occupation group" not in f.detail and "released" in f.detail
    modes = _share_figure("work_modes", "mode", "share_of_sessions", [("operate", 0.21), ("build", 0.20),
                                                                      ("fix", 0.18), ("plan", None), ("test", None)])
    (f,) = [f for f in key_findings([modes]) if f.figure == "work_modes"]
    assert "is the largest work mode" not in f.headline and "released" in f.headline
    # every other cell released, or the suppressed ones too small together to be larger: still the largest
    modes = _share_figure("work_modes", "mode", "share_of_sessions", [("operate", 0.6), ("build", 0.3),
                                                                      ("plan", None)])
    (f,) = [f for f in key_findings([modes]) if f.figure == "work_modes"]
    assert f.headline.startswith("Operate is the largest work mode")


def test_the_value_index_names_its_own_base_month() -> None:
    """Real corpus: the index's base month (2025-10) was withheld after the index was taken, and the summary said
    'Index 120 in 2026-06 (2026-01 = 100)' above a table titled 'first month = 100' whose 2026-01 row read 92."""
    t = pd.DataFrame([{"month": m, "variable": "raw", "value": v, "ci_low": None if v is None else v / 2,
                       "ci_high": None if v is None else v * 2, "n_users": 9, "n_sessions": 20,
                       "suppressed": v is None, "ci_method": "bootstrap"}
                      for m, v in (("2025-10", None), ("2026-01", 92.0), ("2026-06", 120.0))])
    fig = Figure("value_by_month", "Value per session by month", "", t, ["month"], "index",
                 extra={"base_month": "2025-10"})
    (f,) = [f for f in key_findings([fig]) if f.figure == "value_by_month"]
    assert "(2025-10 = 100)" in f.detail and "2026-01 = 100" not in f.detail


def test_the_value_index_reweighted_figure_is_of_the_same_month() -> None:
    """Real corpus: 'Index 130 in 2026-06 (2026-01 = 100); 183 with the work-mode mix held fixed' — 183 was 2026-03's
    reweighted index; 2026-06's was withheld."""
    rows = [("2026-01", "raw", 100.0), ("2026-03", "raw", 117.0), ("2026-06", "raw", 130.0),
            ("2026-01", "reweighted", 100.0), ("2026-03", "reweighted", 183.0), ("2026-06", "reweighted", None)]
    t = pd.DataFrame([{"month": m, "variable": var, "value": v, "ci_low": None if v is None else v / 2,
                       "ci_high": None if v is None else v * 2, "n_users": 9, "n_sessions": 20,
                       "suppressed": v is None, "ci_method": "bootstrap"} for m, var, v in rows])
    fig = Figure("value_by_month", "Value per session by month", "", t, ["month"], "index",
                 extra={"base_month": "2026-01"})
    (f,) = [f for f in key_findings([fig]) if f.figure == "value_by_month"]
    assert "Index 130 in 2026-06" in f.detail
    assert "; 183 with the work-mode mix held fixed" not in f.detail
    assert "183 in 2026-03, the last month it is released" in f.detail, f.detail
    # released for the same month: that month's value
    t.loc[(t["month"] == "2026-06") & (t["variable"] == "reweighted"), ["value", "ci_low", "ci_high", "suppressed"]] = (
        140.0, 70.0, 280.0, False)
    fig = Figure("value_by_month", "Value per session by month", "", t, ["month"], "index",
                 extra={"base_month": "2026-01"})
    (f,) = [f for f in key_findings([fig]) if f.figure == "value_by_month"]
    assert "; 140 with the work-mode mix held fixed" in f.detail, f.detail


def test_summary_month_tables_show_only_months_with_a_shown_cell() -> None:
    """Real corpus: 'Strict success by month' printed 2026-01 and 2026-04 with both cells 'suppressed' and no
    sessions (only their unclear shares were released); now the months with a released raw or reweighted cell, and
    one line when there is none."""
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from codecensus.report.terminal import render_summary

    def trend(cells: list[tuple[str, str, float | None]]) -> Figure:
        t = pd.DataFrame([{"month": m, "variable": var, "value": v, "ci_low": None if v is None else v / 2,
                           "ci_high": None if v is None else min(1.0, v * 2), "n_users": None if v is None else 9,
                           "n_sessions": None if v is None else 20, "suppressed": v is None, "ci_method": "wilson"}
                          for m, var, v in cells])
        return Figure("success_trend", "Strict success by month", "", t, ["month"], "share")

    def summary(fig: Figure) -> str:
        comp = SimpleNamespace(figures=[fig], findings=[], release=SimpleNamespace(
            min_users=5, min_sessions=10, bootstrap="user-clustered bootstrap", individual=False))
        buf = io.StringIO()
        render_summary(comp, Console(file=buf, width=120))  # type: ignore[arg-type]
        return buf.getvalue()

    withheld = trend([("2026-01", "raw", None), ("2026-01", "reweighted", None), ("2026-01", "unclear", 0.33),
                      ("2026-04", "raw", None), ("2026-04", "reweighted", None), ("2026-04", "unclear", 0.41)])
    text = summary(withheld)
    assert "2026-01" not in text and "2026-04" not in text, text
    assert "Strict success by month: every month withheld" in text
    shown = trend([("2026-01", "raw", 0.2), ("2026-01", "reweighted", None), ("2026-01", "unclear", 0.33),
                   ("2026-04", "raw", None), ("2026-04", "reweighted", None), ("2026-04", "unclear", 0.41)])
    text = summary(shown)
    assert "2026-01" in text and "2026-04" not in text and "every month withheld" not in text, text
