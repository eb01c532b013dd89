"""What goes beside the report (its manifest, the terminal) releases no more than the report itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from codecensus.aggregate.synthetic import load_into, synthetic_corpus
from codecensus.cli import app
from codecensus.store import Store
from codecensus.taxonomy import MODE_ROLLUP


def _db(tmp_path: Path, users: int, sessions: int) -> Path:
    db = tmp_path / "c.duckdb"
    s = Store(db)
    load_into(s, synthetic_corpus(users=users, sessions=sessions, seed=5), clusters=False, git=False)
    s.close()
    return db


def test_manifest_withholds_totals_below_the_thresholds(tmp_path: Path) -> None:
    """Three users: the report says 'below thresholds' for the session and user totals, yet its
    manifest-report.json beside it said sessions 40, users 3 (and with --since/--until, the exact count of any
    window: one day, one person)."""
    db = _db(tmp_path, users=3, sessions=40)
    r = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "o"), "--bootstrap", "20"])
    assert r.exit_code == 0, r.output
    man = json.loads((tmp_path / "o" / "manifest-report.json").read_text())
    assert man["sessions"] is None and man["users"] is None
    cov = pd.read_csv(tmp_path / "o" / "tables" / "coverage.csv")
    assert cov[cov["dimension"] == "all"]["suppressed"].all()
    # a team that passes: the totals are the released ones
    db2 = _db(tmp_path / "big", users=30, sessions=200)
    r = CliRunner().invoke(app, ["report", "--db", str(db2), "--out", str(tmp_path / "o2"), "--bootstrap", "20"])
    assert r.exit_code == 0, r.output
    man = json.loads((tmp_path / "o2" / "manifest-report.json").read_text())
    cov = pd.read_csv(tmp_path / "o2" / "tables" / "coverage.csv").set_index(["dimension", "variable"])
    assert man["sessions"] == 200 and man["users"] == int(cov.loc[("all", "users"), "value"]) > 20


def test_dp_manifest_carries_no_exact_count(tmp_path: Path) -> None:
    """Under --epsilon the report shows a noisy session count and no user count; the manifest beside it had the
    exact numbers of sessions and users, which no amount of noise in the report could protect."""
    pytest.importorskip("opendp")
    db = _db(tmp_path, users=60, sessions=500)
    r = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "o"), "--epsilon", "2"])
    assert r.exit_code == 0, r.output
    man = json.loads((tmp_path / "o" / "manifest-report.json").read_text())
    assert man["users"] is None
    cov = pd.read_csv(tmp_path / "o" / "tables" / "coverage.csv")
    noisy = cov[(cov["dimension"] == "all") & (cov["variable"] == "sessions")]["value"]
    # 'sessions' held the noisy count of the capped sessions under a key that read as the exact number: the exact
    # count is not released (None), and the noisy one says what it is
    assert man["sessions"] is None
    assert man["sessions_noisy"] == {
        "value": int(noisy.iloc[0]) if len(noisy) and noisy.notna().all() else None,
        "sessions_per_user_cap": 10,
        "note": "differentially private count of the sessions kept after capping each user at 10 (not the number "
                "of sessions in the store)",
    }


@pytest.mark.parametrize("cmd", ["summary", "report"])
def test_threshold_options_misused(tmp_path: Path, cmd: str) -> None:
    """--individual with --min-users 5 dropped the 5 without a word and released cells of one user; a huge
    --min-users ended in an OverflowError traceback; --min-users 1 and --min-sessions below --min-users answered
    with the Python API's message (ReleasePolicy(individual=True)) instead of the options."""
    db = _db(tmp_path, users=30, sessions=200)
    out = ["--out", str(tmp_path / "o")] if cmd == "report" else []
    cases = [
        (["--individual", "--min-users", "5"], "cannot be combined with --min-users 5"),
        (["--individual", "--min-sessions", "10"], "cannot be combined with --min-sessions 10"),
        (["--min-users", "1"], "use --individual"),
        (["--min-sessions", "3"], "--min-sessions 3 is below --min-users 5 (the default)"),
        (["--min-users", "6", "--min-sessions", "5"], "--min-sessions 5 is below --min-users 6"),
        (["--min-users", "99999999999999999999"], "less than or equal to"),
    ]
    for args, msg in cases:
        r = CliRunner().invoke(app, [cmd, "--db", str(db), "--bootstrap", "20", *out, *args])
        text = " ".join(r.output.split())
        assert r.exit_code == 2 and msg in text, (args, text)
        assert r.exception is None or isinstance(r.exception, SystemExit), (args, r.exception)
    assert not (tmp_path / "o").exists()


def test_privacy_budget_options_misused(tmp_path: Path) -> None:
    """--delta without --epsilon wrote an ordinary (noise-free) report whose manifest recorded δ = 1e-6 as if it
    were a DP release; --epsilon nan / inf answered 'epsilon_total must be ...' without naming the option."""
    db = _db(tmp_path, users=30, sessions=200)
    cases = [
        (["--delta", "1e-6"], "--delta 1e-06 needs --epsilon"),
        (["--epsilon", "nan"], "--epsilon nan is not a privacy budget"),
        (["--epsilon", "inf"], "--epsilon inf is not a privacy budget"),
        (["--epsilon", "-1"], "--epsilon -1.0 is not a privacy budget"),
        (["--epsilon", "1", "--delta", "nan"], "--delta nan must be at least 0 and below 1"),
        (["--epsilon", "1", "--delta", "1"], "--delta 1.0 must be at least 0 and below 1"),
    ]
    for args, msg in cases:
        r = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "o"), *args])
        text = " ".join(r.output.split())
        assert r.exit_code == 2 and msg in text, (args, text)
    assert not (tmp_path / "o").exists()
    s = Store(db, read_only=True)
    assert not s.table_exists("privacy_ledger")  # nothing was charged
    s.close()


def test_a_lone_users_month_is_not_recovered_from_the_all_months_figure(tmp_path: Path) -> None:
    """One user alone in a month: every cell of that month in 'work modes by month' was suppressed, but the
    'work modes' figure releases each mode over all months, and the other months' cells of a mode were all
    released, so subtraction gave that user's sessions per mode exactly (build 389 - 385 = 4, fix 355 - 351 = 4,
    operate 259 - 256 = 3, plan 89 - 87 = 2: all four right). The cells of a mode across months are now a
    partition too."""
    figs, df, pol = _lone_month_report(tmp_path)
    for whole, by_month, key, var in (("work_modes", "work_modes_by_month", "mode", "share_of_sessions"),
                                      ("occupations", "occupations_by_month", "occupation", "share_where_inferable")):
        tot = figs[whole][(figs[whole]["variable"] == var) & ~figs[whole]["suppressed"]].set_index(key)["n_sessions"]
        bm = figs[by_month]
        assert bm[bm["month"] == "2026-06"]["suppressed"].all()
        # withheld months at the end of the range are not shown at all: withheld cells all the same
        not_shown = len(set(df["month"].dropna()) - set(bm["month"]))
        for k, n in tot.items():
            cells = bm[bm[key] == k]
            hidden = int(n) - int(cells.loc[~cells["suppressed"], "n_sessions"].sum())
            assert hidden == 0 or hidden >= pol.min_sessions, (by_month, k, hidden)
            assert hidden == 0 or int(cells["suppressed"].sum()) + not_shown >= 2, (by_month, k)


def _leak_one_user(figs: list) -> list:  # noqa: ANN001 - a list of Figure
    """A figure builder gone wrong: the work-modes table releases a cell of one user."""
    wm = next(f for f in figs if f.id == "work_modes")
    i = wm.table.index[0]
    wm.table["n_users"] = wm.table["n_users"].astype("Int64")
    wm.table["n_sessions"] = wm.table["n_sessions"].astype("Int64")
    wm.table.loc[i, ["suppressed", "n_users", "n_sessions", "value"]] = [False, 1, 3, 0.02]
    return figs


@pytest.mark.parametrize("cmd", ["report", "summary"])
def test_a_released_cell_below_the_thresholds_is_refused_by_the_final_audit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cmd: str
) -> None:
    """check_release (the auditor) was never run on what the report writes: a figure builder that released a
    cell of one user (3 sessions) had it written to report.html, tables/work_modes.csv and tables/long.csv. The
    release is now audited before anything is written, and refused."""
    from codecensus.report import build

    db = _db(tmp_path, users=30, sessions=200)
    orig = build.build_figures
    monkeypatch.setattr(build, "build_figures", lambda ctx: _leak_one_user(orig(ctx)))
    out = ["--out", str(tmp_path / "o")] if cmd == "report" else []
    r = CliRunner().invoke(app, [cmd, "--db", str(db), "--bootstrap", "20", *out])
    text = " ".join(r.output.split())
    assert r.exit_code == 1, text
    assert "release audit failed, nothing was written" in text
    assert "figure work_modes (mode=" in text and "released below thresholds (1 users, 3 sessions)" in text
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert not (tmp_path / "o").exists()


def test_the_audit_passes_an_ordinary_report(tmp_path: Path) -> None:
    """The audit finds nothing in a report built as usual (and in individual mode), so it refuses only leaks."""
    from codecensus.aggregate.privacy import ReleasePolicy
    from codecensus.report.build import ReportOptions, audit_release, compute

    db = _db(tmp_path, users=30, sessions=200)
    s = Store(db, read_only=True)
    for opts, pol in ((ReportOptions(bootstrap=20), ReleasePolicy()),
                      (ReportOptions(bootstrap=20, individual=True), ReleasePolicy(individual=True))):
        comp = compute(s, opts)
        assert sum(f.released_cells for f in comp.figures) > 50
        assert audit_release(comp.figures, pol) == []
        assert audit_release(_leak_one_user(comp.figures), ReleasePolicy()) != []
    s.close()



def _lone_user_month() -> tuple[Any, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A 60-user corpus and 15 copies of its busiest user's sessions (and facets) dated 2026-06, a month of one user:
    (corpus, sessions, facets, the copies' sessions, their facets), the copies not yet added."""
    c = synthetic_corpus(users=60, sessions=1500, months=6, seed=4)
    s, f = c.sessions.to_pandas(), c.facets.to_pandas()
    u = s["user"].value_counts().index[0]
    lone = s[s["user"] == u].head(15).copy()
    keys = [f"lone-{i}" for i in range(len(lone))]
    fl = f.set_index("session_key").loc[lone["session_key"]].reset_index()
    lone["session_key"], fl["session_key"] = keys, keys
    lone["started_at"] = pd.Timestamp("2026-06-15", tz="UTC")
    return c, s, f, lone, fl

def _lone_month_report(tmp_path: Path) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, Any]:
    """60 users over six months (1500 sessions) and one user alone in 2026-06 (15 sessions): the figures, the
    report's session rows and the policy."""
    import pyarrow as pa

    from codecensus.aggregate.figures import load_report_data
    from codecensus.report.build import ReportOptions, compute

    c, s, f, lone, fl = _lone_user_month()
    c.sessions = pa.Table.from_pandas(pd.concat([s, lone], ignore_index=True), preserve_index=False)
    c.facets = pa.Table.from_pandas(pd.concat([f, fl], ignore_index=True), preserve_index=False)
    store = Store(tmp_path / "m.duckdb")
    load_into(store, c, clusters=False, git=False)
    comp = compute(store, ReportOptions(bootstrap=20))
    df = load_report_data(store).df
    store.close()
    return {x.id: x.table for x in comp.figures}, df, comp.policy


def _shown(t: pd.DataFrame) -> pd.DataFrame:
    return t[~t["suppressed"]]


def test_a_lone_users_month_is_not_recovered_from_other_figures(tmp_path: Path) -> None:
    """The same lone user (15 sessions alone in 2026-06), differenced across figures other than work modes. Before:
    - value by month: every month's mean and n but 2026-06 were released, and value by mode's means with their n
      add up to the total value, so total - other months gave the user's 15 sessions and their value exactly
      (2825.41 USD);
    - coverage withheld 2026-06 and 2025-10 (complementary), but value by month released 2025-10's n (176), so
      1515 - the other months = 15, the user's sessions that month;
    - success by month: outcome by expertise releases the successes (n) and rates, so total successes - the
      other months' (rate x n) gave the user's 1 success in 11 sessions with an outcome;
    - value by mode's index rows release n per mode and month: mode n - other months = the user's sessions per
      mode (build 4, fix 4, operate 3, plan 2, test 1, understand 1);
    Now a month withheld in one figure is withheld in all (coverage decides, over the month counts), and the
    months of each figure's series (a mean's, a rate's, a mode's) are a partition whose total is released."""
    figs, df, pol = _lone_month_report(tmp_path)
    lone = df[df["month"] == "2026-06"]
    # withheld months at the ends of the range have no rows: withheld cells of every series over the months
    gone = _months_not_shown(df, figs["coverage"])
    assert "2026-06" in gone
    # value by month against value by mode
    vm = figs["value_by_mode"]
    means = _shown(vm[vm["variable"] == "mean_usd"])
    assert len(means) == 9  # every mode's mean is released: the total value and n are known
    total_value = float((means["value"] * means["n_sessions"].astype(float)).sum())
    total_n = int(means["n_sessions"].sum())
    bm = figs["value_by_month"]
    bm_mean = bm[bm["variable"] == "mean"]
    rel = _shown(bm_mean)
    residue_n = total_n - int(rel["n_sessions"].sum())
    residue_value = total_value - float((rel["value"] * rel["n_sessions"].astype(float)).sum())
    assert residue_n != len(lone) and abs(residue_value - lone["value_usd"].sum()) > 1
    assert int(bm_mean["suppressed"].sum()) + len(gone) >= 2 and residue_n >= pol.min_sessions
    for var in ("raw", "reweighted"):  # the index rows hide the same months as the means
        assert (bm[bm["variable"] == var].set_index("month")["suppressed"]
                == bm_mean.set_index("month")["suppressed"]).all()
    # month counts: coverage against every by-month figure
    cov = figs["coverage"]
    covm = cov[cov["dimension"] == "month"].set_index("level")["suppressed"]
    hidden = {m for m, sup in covm.items() if sup} | gone
    assert "2026-06" in hidden and len(hidden) >= 2
    for fid in ("value_by_month", "success_trend", "work_modes_by_month", "occupations_by_month", "value_by_mode"):
        t = figs[fid]
        assert t[t["month"].isin(hidden)]["suppressed"].all(), fid
    # success by month against outcome by expertise
    ob = figs["outcomes_by_expertise"]
    ss = _shown(ob[ob["variable"] == "strict_success"])
    # the levels whose few unclear sessions are withheld take their successes with them (at least two levels);
    # the attacker is given the total successes all the same
    assert len(ss) == 5 or int(ob[ob["variable"] == "strict_success"]["suppressed"].sum()) >= 2
    total_succ = int((df["outcome"] == "verified_success").sum())
    st = figs["success_trend"]
    raw = st[st["variable"] == "raw"]
    succ = (raw["value"] * raw["n_sessions"].astype(float)).round()
    residue_succ = total_succ - int(succ[~raw["suppressed"]].sum())
    assert residue_succ != int((lone["outcome"] == "verified_success").sum()) or int(raw["suppressed"].sum()) >= 2
    assert int(raw["suppressed"].sum()) + len(gone) >= 2
    # value by mode: each mode's months against the mode's n
    idx = vm[vm["variable"] == "index"]
    for mode, n in means.set_index("mode")["n_sessions"].items():
        cells = idx[idx["mode"] == mode]
        res = int(n) - int(cells.loc[~cells["suppressed"], "n_sessions"].sum())
        assert res == 0 or (int(cells["suppressed"].sum()) + len(gone) >= 2 and res >= pol.min_sessions), (mode, res)


def _months_not_shown(df: pd.DataFrame, coverage: pd.DataFrame) -> set[str]:
    """Months with sessions that the report leaves out (withheld at the ends of its range)."""
    return set(df["month"].dropna()) - set(coverage.loc[coverage["dimension"] == "month", "level"])


def test_a_mode_expertise_cell_is_not_recovered_from_the_expertise_figure(tmp_path: Path) -> None:
    """'Actions per prompt by expertise, within each work mode' suppressed cells over the whole grid (at least
    two), but 'expertise, actions and words per prompt' releases each level's mean and n over all modes: where a
    level had one suppressed cell (level 4: orchestrate only), mean x n of the level minus the released cells gave
    that cell's n and mean exactly. The cells of a level across modes are now a partition too."""
    figs, df, pol = _lone_month_report(tmp_path)
    es, eb = figs["expertise_shape"], figs["expertise_shape_by_mode"]
    for var in ("actions_per_prompt", "words_per_prompt"):
        whole = _shown(es[es["variable"] == var]).set_index("expertise")
        for lv, r in whole.iterrows():
            cells = eb[(eb["variable"] == var) & (eb["expertise"] == lv)]
            res = int(r["n_sessions"]) - int(cells.loc[~cells["suppressed"], "n_sessions"].sum())
            if res == 0:
                continue
            assert int(cells["suppressed"].sum()) >= 2 and res >= pol.min_sessions, (var, lv, res)


def test_the_final_audit_refuses_a_cell_recovered_across_figures(tmp_path: Path) -> None:
    """The audit checked each released cell against the thresholds only: the releases above (a month coverage
    withholds shown in value by month; one suppressed cell in a level of expertise x mode) passed it."""
    from codecensus.report.build import audit_release

    figs, df, pol = _lone_month_report(tmp_path)
    from codecensus.aggregate.figures import Figure

    def fig(fid: str, t: pd.DataFrame) -> Figure:
        extra = {"hidden_months": len(_months_not_shown(df, t))} if fid == "coverage" else {}
        return Figure(fid, fid, "", t, [], "number", extra=extra)

    assert audit_release([fig(k, v) for k, v in figs.items()], pol) == []
    # a withheld month's value shown again
    bm = figs["value_by_month"].copy()
    assert "2026-06" not in set(bm["month"])  # the lone user's month, withheld at the end of the range: not shown
    row = bm.iloc[[0]].assign(month="2026-06", suppressed=False, n_users=1, n_sessions=15)
    bm = pd.concat([bm, row], ignore_index=True)
    problems = audit_release([fig("coverage", figs["coverage"]), fig("value_by_month", bm)], pol)
    assert any("months 2026-06 outside the months coverage releases" in p for p in problems), problems
    # one suppressed cell left in a level of expertise x mode
    eb = figs["expertise_shape_by_mode"].copy()
    lv = eb[eb["suppressed"]].groupby(["variable", "expertise"]).size()
    var, level = lv[lv == 2].index[0]
    i = eb[(eb["variable"] == var) & (eb["expertise"] == level) & eb["suppressed"]].index[0]
    eb.loc[i, ["suppressed", "n_users", "n_sessions"]] = [False, 5, 10]
    problems = audit_release([fig("expertise_shape_by_mode", eb)], pol)
    assert len(problems) == 1 and "a single suppressed cell" in problems[0]


def test_a_levels_unclear_sessions_are_not_recovered_from_the_expertise_figure(tmp_path: Path) -> None:
    """Seven sessions of seven users were the only unclear outcomes at expertise level 3: 'outcome by expertise'
    withheld that unclear cell, but 'expertise, actions and words per prompt' releases the level's n (511) and the
    level's at-least-partial (423) and failure (81) cells add up to its sessions with a known outcome, so
    511 - 423 - 81 = 7 gave the withheld cell; the regression's n for the level (504) gave it too. Now a level whose
    unclear cell is withheld is withheld whole in every figure that releases its known outcomes (with a second
    level, so the levels' sums do not give it back)."""
    import numpy as np
    import pyarrow as pa

    from codecensus.report.build import ReportOptions, audit_release, compute

    c = synthetic_corpus(users=60, sessions=1500, seed=4)
    s, f = c.sessions.to_pandas(), c.facets.to_pandas()
    lv = 3
    at = f["expertise"] == lv
    f.loc[at, "outcome"] = f.loc[at, "outcome"].replace("unclear", "failure")
    level = f[at].merge(s[["session_key", "user"]], on="session_key")
    seven = level.drop_duplicates("user").head(7)["session_key"]
    f.loc[f["session_key"].isin(seven), "outcome"] = "unclear"
    c.facets = pa.Table.from_pandas(f, preserve_index=False)
    store = Store(tmp_path / "u.duckdb")
    load_into(store, c, clusters=False, git=False)
    comp = compute(store, ReportOptions(bootstrap=20))
    store.close()
    figs = {x.id: x.table for x in comp.figures}
    es, ob, rg = figs["expertise_shape"], figs["outcomes_by_expertise"], figs["regression"]
    total = int(es[(es["variable"] == "actions_per_prompt") & (es["expertise"] == lv)]["n_sessions"].iloc[0])
    cells = ob[ob["expertise"] == lv].set_index("variable")
    assert bool(cells.loc["unclear", "suppressed"])
    shown = ~cells.loc[["at_least_partial", "failure"], "suppressed"].astype(bool)
    if shown.all():  # the known outcomes of the level, subtracted from its total
        assert total - int(cells.loc[["at_least_partial", "failure"], "n_sessions"].sum()) != 7
    assert cells["suppressed"].all(), cells[["value", "n_sessions", "suppressed"]]
    reg = rg[rg["expertise"] == lv]
    assert reg["suppressed"].all(), reg
    # a second level goes with it: the levels' successes and failures add up to totals other figures release
    assert int(ob[ob["variable"] == "unclear"]["suppressed"].sum()) >= 2
    for var in ("strict_success", "at_least_partial", "failure"):
        assert int(ob[ob["variable"] == var]["suppressed"].sum()) >= 2, var
    assert audit_release(comp.figures, comp.policy) == []
    # and the final audit refuses a figure builder that releases the level's known outcomes again
    t = ob.copy()
    i = t.index[(t["expertise"] == lv) & (t["variable"] == "failure")][0]
    t.loc[i, ["suppressed", "n_users", "n_sessions", "value"]] = [False, 40, 81, np.float64(0.16)]
    leaked = [x if x.id != "outcomes_by_expertise" else type(x)(x.id, x.title, x.method, t, x.keys, x.unit)
              for x in comp.figures]
    problems = audit_release(leaked, comp.policy)
    assert any("outcomes_by_expertise" in p and "unclear" in p for p in problems), problems


def _untimed_db(tmp_path: Path, untimed: int) -> Path:
    """30 users, 200 sessions, ``untimed`` of them (of different users) without a start time."""
    import pyarrow as pa

    c = synthetic_corpus(users=30, sessions=200, seed=5)
    s = c.sessions.to_pandas()
    keys = s.drop_duplicates("user").head(untimed)["session_key"]
    s["started_at"] = s["started_at"].where(~s["session_key"].isin(keys), pd.NaT)
    c.sessions = pa.Table.from_pandas(s, preserve_index=False)
    db = tmp_path / "t.duckdb"
    store = Store(db)
    load_into(store, c, clusters=False, git=False)
    store.close()
    return db


def test_sessions_without_a_time_are_released_by_the_thresholds(tmp_path: Path) -> None:
    """Three sessions (of three users) had no start time: the coverage table withheld its month 'unknown' cell
    (below 5 users / 10 sessions), but report.html printed 'sessions without a timestamp ... 3' exactly. The count
    now follows the cell: withheld below the thresholds (and the months withheld with it are withheld in every
    figure, so the report still passes its final audit), and shown when the cell is released."""
    import re

    r = CliRunner().invoke(app, ["report", "--db", str(_untimed_db(tmp_path, 3)), "--out", str(tmp_path / "o"),
                                 "--bootstrap", "20"])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "o" / "report.html").read_text()
    shown = re.search(r"sessions without a timestamp[^<]*</dt><dd>([^<]*)</dd>", html)
    assert shown is not None
    assert shown.group(1) != "3" and "withheld" in shown.group(1), shown.group(1)
    cov = pd.read_csv(tmp_path / "o" / "tables" / "coverage.csv")
    unknown = cov[(cov["dimension"] == "month") & (cov["level"] == "unknown")]
    assert unknown["suppressed"].all()
    # enough of them: released as the coverage cell is
    r = CliRunner().invoke(app, ["report", "--db", str(_untimed_db(tmp_path / "b", 12)), "--out",
                                 str(tmp_path / "o2"), "--bootstrap", "20"])
    assert r.exit_code == 0, r.output
    shown = re.search(r"sessions without a timestamp[^<]*</dt><dd>([^<]*)</dd>",
                      (tmp_path / "o2" / "report.html").read_text())
    assert shown is not None and shown.group(1) == "12"


def test_the_final_audit_refuses_a_withheld_cell_that_still_carries_its_numbers(tmp_path: Path) -> None:
    """A withheld row must carry no value, interval or counts (apply_release_policy nulls them). The audit read only
    released rows: a figure whose suppressed row kept its mean and n (a fault in a figure's code) was written."""
    from codecensus.aggregate.figures import Figure
    from codecensus.report.build import audit_release

    figs, _df, pol = _lone_month_report(tmp_path)
    t = figs["expertise_shape"].copy()
    assert audit_release([Figure("expertise_shape", "x", "", t, ["expertise"], "number")], pol) == []
    hidden = t.index[t["suppressed"].astype(bool)]
    if len(hidden) == 0:  # no withheld cell in this figure: make one the way a faulty figure would
        hidden = t.index[:1]
        t.loc[hidden, "suppressed"] = True
    t.loc[hidden[0], "value"] = 3.5
    t.loc[hidden[0], "n_sessions"] = 7
    problems = audit_release([Figure("expertise_shape", "x", "", t, ["expertise"], "number")], pol)
    assert any("withheld cell still carries" in p and "value" in p and "n_sessions" in p for p in problems)


def _report_of(tmp_path: Path, edit: Any) -> tuple[dict[str, pd.DataFrame], list, Any]:  # noqa: ANN401
    """60 users, 1500 sessions (seed 4) with ``edit(sessions, facets)`` applied: the figures by id, the figures and
    the policy."""
    import pyarrow as pa

    from codecensus.report.build import ReportOptions, compute

    c = synthetic_corpus(users=60, sessions=1500, seed=4)
    s, f = c.sessions.to_pandas(), c.facets.to_pandas()
    f = edit(s, f)
    c.facets = pa.Table.from_pandas(f, preserve_index=False)
    store = Store(tmp_path / "d.duckdb")
    load_into(store, c, clusters=False, git=False)
    comp = compute(store, ReportOptions(bootstrap=20))
    store.close()
    return {x.id: x.table for x in comp.figures}, comp.figures, comp.policy


def _only(s: pd.DataFrame, f: pd.DataFrame, mask: pd.Series, n: int, col: str, value: str, other: str) -> pd.DataFrame:
    """Facets with ``col`` of the ``mask`` rows set to ``other``, then ``n`` sessions of ``n`` users set to ``value``."""
    f = f.copy()
    f.loc[mask, col] = other
    m = f.merge(s[["session_key", "user"]], on="session_key")
    f.loc[f["session_key"].isin(m.drop_duplicates("user").head(n)["session_key"]), col] = value
    return f


def _with(figures: list, fid: str, t: pd.DataFrame) -> list:  # noqa: ANN001 - lists of Figure
    return [x if x.id != fid else type(x)(x.id, x.title, x.method, t, x.keys, x.unit) for x in figures]


def test_a_lone_mode_is_not_recovered_from_its_roll_up(tmp_path: Path) -> None:
    """Three sessions (three users) of mode 'plan': work modes withheld plan (and orchestrate with it), but released
    the roll-up plan/understand (101) beside understand (98): 101 - 98 = 3, and code - build - fix - test gave
    orchestrate (39) alone. A roll-up and its modes are now a partition too, and the audit refuses the release."""
    from codecensus.report.build import audit_release

    figs, figures, pol = _report_of(tmp_path, lambda s, f: _only(s, f, f["mode"] == "plan", 3, "mode", "plan", "build"))
    t = figs["work_modes"]
    modes, rollups = t[t["variable"] == "share_of_sessions"], _shown(t[t["variable"] == "share_of_sessions_rollup"])
    assert bool(modes.set_index("mode").loc["plan", "suppressed"])
    for _, r in rollups.iterrows():
        cells = modes[modes["rollup"] == r["rollup"]]
        rest = int(r["n_sessions"]) - int(cells.loc[~cells["suppressed"], "n_sessions"].sum())
        assert rest == 0 or (int(cells["suppressed"].sum()) >= 2 and rest >= pol.min_sessions), (r["rollup"], rest)
    assert audit_release(figures, pol) == []
    # the old release: understand shown again beside its roll-up
    leak = t.copy()
    i = leak.index[(leak["variable"] == "share_of_sessions") & (leak["mode"] == "understand")][0]
    leak.loc[i, ["suppressed", "n_users", "n_sessions", "value"]] = [False, 43, 98, 98 / 1500]
    problems = audit_release(_with(figures, "work_modes", leak), pol)
    assert any("rollup=plan/understand" in p and "3 sessions in 1 withheld" in p for p in problems), problems


def test_a_session_shape_bin_is_not_recovered_from_its_metrics_n(tmp_path: Path) -> None:
    """Session shape put every metric's bins in one group: a metric could keep a single withheld bin (active
    minutes 240+, one session) while the second withheld bin was another metric's, and the metric's n (its median's
    and mean's) minus its released bins gave it (1,500 - 1,499 = 1). Each metric's bins are their own partition."""
    from codecensus.report.build import audit_release

    figs, figures, pol = _report_of(tmp_path, lambda s, f: f)
    t = figs["session_shape"]
    for metric, g in t.groupby("metric"):
        total = g[g["variable"] == "median"]
        if total.empty or bool(total["suppressed"].iloc[0]):
            continue
        cells = g[g["variable"] == "share_of_sessions"]
        rest = int(total["n_sessions"].iloc[0]) - int(cells.loc[~cells["suppressed"], "n_sessions"].sum())
        assert rest == 0 or (int(cells["suppressed"].sum()) >= 2 and rest >= pol.min_sessions), (metric, rest)
    assert audit_release(figures, pol) == []
    leak = t.copy()  # release the 0-1 minutes bin of active minutes again: 240+ is left alone
    i = leak.index[(leak["metric"] == "active_minutes") & (leak["variable"] == "share_of_sessions")
                   & leak["suppressed"] & (leak["bin"] != "240+")]
    if len(i):
        leak.loc[i[0], ["suppressed", "n_users", "n_sessions", "value"]] = [False, 9, 14, 14 / 1500]
        problems = audit_release(_with(figures, "session_shape", leak), pol)
        assert any("metric=active_minutes" in p for p in problems), problems


def test_a_levels_success_without_evidence_is_not_recovered_from_two_rates(tmp_path: Path) -> None:
    """At expertise level 3, three sessions (three users) succeeded or partly succeeded without evidence: outcome by
    expertise released strict success (303) and at least partial (306), each passing the thresholds, so 306 - 303
    gave those 3 sessions. The level is now withheld whole (with a second level), in the regression too."""
    from codecensus.report.build import audit_release

    def edit(s: pd.DataFrame, f: pd.DataFrame) -> pd.DataFrame:
        at = f["expertise"] == 3
        f.loc[at, "outcome"] = f.loc[at, "outcome"].replace({"success": "verified_success", "partial": "failure"})
        return _sp(s, f, at)

    figs, figures, pol = _report_of(tmp_path, edit)
    ob = figs["outcomes_by_expertise"]
    lv = ob[ob["expertise"] == 3].set_index("variable")
    assert lv["suppressed"].all(), lv[["n_sessions", "suppressed"]]
    assert bool(figs["regression"].set_index("expertise").loc[3, "suppressed"])
    for var in ("strict_success", "at_least_partial", "failure", "unclear"):
        assert int(ob[ob["variable"] == var]["suppressed"].sum()) >= 2, var
    assert audit_release(figures, pol) == []
    leak = ob.copy()
    for var, n in (("strict_success", 303), ("at_least_partial", 306)):
        i = leak.index[(leak["expertise"] == 3) & (leak["variable"] == var)][0]
        leak.loc[i, ["suppressed", "n_users", "n_sessions", "value"]] = [False, 47, n, n / 469]
    problems = audit_release(_with(figures, "outcomes_by_expertise", leak), pol)
    assert any("expertise=3" in p and "gives 3 sessions" in p for p in problems), problems


def _sp(s: pd.DataFrame, f: pd.DataFrame, at: pd.Series) -> pd.DataFrame:
    lvl = f[at].merge(s[["session_key", "user"]], on="session_key")
    lvl = lvl[lvl["outcome"] == "verified_success"]
    f.loc[f["session_key"].isin(lvl.drop_duplicates("user").head(3)["session_key"]), "outcome"] = "partial"
    return f


def test_sessions_without_an_inferable_occupation_are_not_recovered_from_two_totals(tmp_path: Path) -> None:
    """Three sessions (three users) had no inferable occupation: occupations withheld that cell, but released the
    share of sessions (total 1,500 = n / share of any cell) and the share where inferable (total 1,497), whose
    difference is those 3 sessions. The share where inferable is now withheld whole (here and by month)."""
    from codecensus.report.build import audit_release
    from codecensus.taxonomy import NOT_INFERABLE

    figs, figures, pol = _report_of(tmp_path, lambda s, f: _only(
        s, f, f["occupation"] == NOT_INFERABLE, 3, "occupation", NOT_INFERABLE, "15"))
    t = figs["occupations"]
    assert bool(t[(t["variable"] == "share_of_sessions") & (t["occupation"] == NOT_INFERABLE)]["suppressed"].iloc[0])
    inner = t[(t["variable"] == "share_where_inferable") & (t["value"] > 0)]
    assert inner.empty, inner
    assert _shown(figs["occupations_by_month"]).query("value > 0").empty
    assert audit_release(figures, pol) == []
    leak = t.copy()
    i = leak.index[(leak["variable"] == "share_where_inferable") & (leak["occupation"] == "15")][0]
    leak.loc[i, ["suppressed", "n_users", "n_sessions", "value"]] = [False, 60, 893, 893 / 1497]
    problems = audit_release(_with(figures, "occupations", leak), pol)
    assert any("differ by 3 sessions" in p for p in problems), problems


def _damaged_db(tmp_path: Path, users: int, sessions: int, damaged: int) -> Path:
    """A synthetic store whose first ``damaged`` sessions (of different users where there are enough) have 7
    damaged lines each."""
    import pyarrow as pa

    c = synthetic_corpus(users=users, sessions=sessions, seed=5)
    s = c.sessions.to_pandas()
    keys = s.drop_duplicates("user").head(damaged)["session_key"]
    s["bad_lines"] = s["session_key"].isin(keys).astype("int64") * 7
    c.sessions = pa.Table.from_pandas(s, preserve_index=False)
    db = tmp_path / "b.duckdb"
    store = Store(db)
    load_into(store, c, clusters=False, git=False)
    store.close()
    return db


def test_damaged_lines_are_released_by_the_thresholds(tmp_path: Path) -> None:
    """The coverage facts printed the exact damaged-line count of the report's sessions whatever their size: a
    report of three users (every count withheld) showed 'damaged lines 14', the two sessions of two users that had
    them. That count now passes the thresholds like any other (the sessions with damaged lines), as does the
    transcript-file count (the report's sessions)."""
    import re

    from codecensus.aggregate.figures import Context, fig_coverage, load_report_data
    from codecensus.aggregate.privacy import ReleasePolicy

    def facts(db: Path, out: Path) -> dict[str, str]:
        r = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(out), "--bootstrap", "20"])
        assert r.exit_code == 0, r.output
        html = (out / "report.html").read_text()
        return {k: m.group(1) for k in ("transcript files", "damaged lines")
                if (m := re.search(re.escape(k) + r"[^<]*</dt><dd>([^<]*)</dd>", html))}

    got = facts(_damaged_db(tmp_path, 3, 40, 2), tmp_path / "o")
    assert got["damaged lines"] != "14" and "withheld" in got["damaged lines"], got
    assert "withheld" in got["transcript files"], got
    # a team, but the damaged lines are two sessions of two users: withheld; twelve of twelve users: released
    got = facts(_damaged_db(tmp_path / "t", 30, 200, 2), tmp_path / "o2")
    assert "withheld" in got["damaged lines"], got
    got = facts(_damaged_db(tmp_path / "u", 30, 200, 12), tmp_path / "o3")
    assert got["damaged lines"] == "84", got
    # individual mode releases them (thresholds of 1)
    store = Store(_damaged_db(tmp_path / "i", 3, 40, 2))
    data = load_report_data(store)
    store.close()
    cov = fig_coverage(Context(data, ReleasePolicy(individual=True), B=10))
    assert cov.extra["damaged_lines"] == 14


def test_the_date_range_does_not_give_a_lone_sessions_day(tmp_path: Path) -> None:
    """One session (one user) in 2026-09, four months after everyone else: every figure withheld 2026-09, but the
    coverage facts printed the date range '... to 2026-09-10', that session's day; a report of one user printed
    that user's first and last days with every count withheld. The range now comes from the months every figure
    releases, and is not shown when the report's total is withheld."""
    import pyarrow as pa

    from codecensus.report.build import ReportOptions, compute

    def cov_extra(c: Any, name: str) -> dict[str, Any]:  # noqa: ANN401
        store = Store(tmp_path / f"{name}.duckdb")
        load_into(store, c, clusters=False, git=False)
        comp = compute(store, ReportOptions(bootstrap=10))
        store.close()
        return next(f for f in comp.figures if f.id == "coverage").extra

    c = synthetic_corpus(users=40, sessions=600, months=4, seed=3)
    s = c.sessions.to_pandas()
    s.loc[s.index[0], "started_at"] = pd.Timestamp("2026-09-10", tz="UTC")
    c.sessions = pa.Table.from_pandas(s, preserve_index=False)
    extra = cov_extra(c, "lone")
    assert extra["last_day"] is not None and extra["last_day"] < "2026-09", extra
    c = synthetic_corpus(users=4, sessions=30, seed=1)
    s = c.sessions.to_pandas()
    s["user"] = s["user"].iloc[0]
    c.sessions = pa.Table.from_pandas(s, preserve_index=False)
    extra = cov_extra(c, "one")
    assert extra["first_day"] is None and extra["last_day"] is None, extra


def _report_from(tmp_path: Path, c: Any, name: str, clusters: bool = False) -> tuple[dict[str, Any], list, Any]:  # noqa: ANN401
    """The computed figures of corpus ``c``: by id, as a list, and the policy."""
    from codecensus.report.build import ReportOptions, compute

    store = Store(tmp_path / f"{name}.duckdb")
    load_into(store, c, clusters=clusters, git=False)
    comp = compute(store, ReportOptions(bootstrap=10))
    store.close()
    return {x.id: x for x in comp.figures}, comp.figures, comp.policy


def test_a_withheld_month_at_the_end_of_the_range_is_not_shown(tmp_path: Path) -> None:
    """40 users over ten months (2025-10 to 2026-07) and one session of one user in 2026-10: every figure withheld
    2026-10, but its rows and label were printed (coverage, the by-month figures) and the report said '13 months'
    (2026-08 and 2026-09 without sessions, 2026-10), which tells that someone had a session in 2026-10. The months
    shown now run from the first to the last month every figure releases: all 10 (its complementary month was
    2025-10, the smallest, 47 sessions, which left the report's dates with it: 9 months from 2025-11; it is now the
    smallest month inside the range, 2025-11, 48 sessions, shown withheld)."""
    import pyarrow as pa

    from codecensus.report.build import audit_release

    c = synthetic_corpus(users=40, sessions=600, months=10, seed=3)
    s = c.sessions.to_pandas()
    s.loc[s.index[0], "started_at"] = pd.Timestamp("2026-10-10", tz="UTC")
    c.sessions = pa.Table.from_pandas(s, preserve_index=False)
    figs, figures, pol = _report_from(tmp_path, c, "edge")
    cov = figs["coverage"]
    months = cov.table[cov.table["dimension"] == "month"]
    assert not months["suppressed"].iloc[0] and not months["suppressed"].iloc[-1], months
    assert cov.extra["months"] == len(months) <= 10 and cov.extra["last_day"] < "2026-08"
    assert months["level"].tolist()[0] == "2025-10" and cov.extra["first_day"] < "2025-11", months
    assert cov.extra["months"] == 10 and set(months.loc[months["suppressed"], "level"]) == {"2025-11"}, months
    for f in figures:
        if f.available and "month" in f.table:
            assert f.table["month"].dropna().max() <= "2026-07", f.id
    assert audit_release(figures, pol) == []
    # the old release: 2026-10 withheld at the end, 2026-08 and 2026-09 missing, '13 months'
    old = pd.concat([cov.table, months.iloc[[-1]].assign(level="2026-10", suppressed=True, value=None,
                                                         n_users=None, n_sessions=None)], ignore_index=True)
    leak = [x if x.id != "coverage" else type(x)(x.id, x.title, x.method, old, x.keys, x.unit,
                                                extra={**cov.extra, "months": 13}) for x in figures]
    problems = audit_release(leak, pol)
    assert any("month=2026-10): a withheld month at the end" in p for p in problems), problems
    # (13 months from 2025-10 to 2026-10: the count matches the rows' span, whose gap the audit names)
    assert any("months 2026-08, 2026-09 have no row" in p for p in problems), problems


def test_successes_of_withheld_months_are_not_recovered_from_outcome_by_expertise(tmp_path: Path) -> None:
    """100 users over six months and one session (a verified success) alone in 2026-06; 2025-10, the month withheld
    with it, had no verified success. Strict success by month withheld both (they pass jointly on sessions with an
    outcome), but outcome by expertise released the successes of every level (643) and the released months' share x
    n gave 642: the lone session's success. Months are withheld until the successes (and the failures) of the months
    not released are none or pass."""
    import pyarrow as pa

    from codecensus.report.build import audit_release

    c = synthetic_corpus(users=100, sessions=3000, months=6, seed=4)
    s, f = c.sessions.to_pandas(), c.facets.to_pandas()
    lone = s.loc[s.index[-1], "session_key"]
    s.loc[s.index[-1], "started_at"] = pd.Timestamp("2026-06-15", tz="UTC")
    first = s.loc[pd.to_datetime(s["started_at"]).dt.strftime("%Y-%m") == "2025-10", "session_key"]
    f.loc[f["session_key"].isin(first) & (f["outcome"] == "verified_success"), "outcome"] = "success"
    f.loc[f["session_key"] == lone, "outcome"] = "verified_success"
    c.sessions, c.facets = (pa.Table.from_pandas(x, preserve_index=False) for x in (s, f))
    figs, figures, pol = _report_from(tmp_path, c, "succ")
    ob, st = figs["outcomes_by_expertise"].table, figs["success_trend"].table
    levels = ob[ob["variable"] == "strict_success"]
    assert not levels["suppressed"].any()  # every level's successes are released
    raw = st[st["variable"] == "raw"]
    shown = raw[~raw["suppressed"]]
    rest = int(levels["n_sessions"].sum()) - int((shown["value"] * shown["n_sessions"].astype(float)).round().sum())
    assert rest == 0 or rest >= pol.min_sessions, rest
    assert audit_release(figures, pol) == []
    # the old release: the month withheld for this shown again with its rate and n
    extra = raw[raw["suppressed"]]["month"].tolist()
    assert extra, raw
    known = f.merge(s[["session_key", "started_at"]], on="session_key")
    known = known[(known["outcome"] != "unclear")
                  & (pd.to_datetime(known["started_at"]).dt.strftime("%Y-%m") == extra[0])]
    leak = st.copy()
    i = leak.index[(leak["variable"] == "raw") & (leak["month"] == extra[0])][0]
    leak.loc[i, ["suppressed", "n_users", "n_sessions", "value"]] = [
        False, 50, len(known), float((known["outcome"] == "verified_success").mean())]
    problems = audit_release(_with(figures, "success_trend", leak), pol)
    assert any("gives 1 counted sessions in the months not released" in p for p in problems), problems


def test_a_topics_directly_assigned_sessions_are_not_recovered_from_its_n(tmp_path: Path) -> None:
    """The cluster stage withheld the leaf 'leaf-plan-0' (3 sessions of 3 users) and gave its sessions to the parent
    (the deepest released cluster on their path). Topics released the parent (192) and all its children rows
    (50 + 48 + 91 = 189): 192 - 189 = 3 sessions no threshold saw. They now take part in complementary suppression
    among the children, and the audit checks a node's n against its released children."""
    import pyarrow as pa

    from codecensus.report.build import audit_release

    c = synthetic_corpus(users=60, sessions=1500, seed=4)
    sc, cl, s = c.session_clusters.to_pandas(), c.clusters.to_pandas(), c.sessions.to_pandas()
    leaf, sibling = "leaf-plan-0", "leaf-plan-1"
    m = sc.merge(s[["session_key", "user"]], on="session_key")
    keep = m[m["cluster_id"] == leaf].drop_duplicates("user").head(3)["session_key"]
    sc.loc[sc["cluster_id"].eq(leaf) & ~sc["session_key"].isin(keep), "cluster_id"] = sibling
    parent = str(cl.set_index("cluster_id").loc[leaf, "parent_id"])
    sc.loc[sc["session_key"].isin(keep), "cluster_id"] = parent
    cl.loc[cl["cluster_id"] == leaf, "released"] = False
    c.session_clusters, c.clusters = (pa.Table.from_pandas(x, preserve_index=False) for x in (sc, cl))
    figs, figures, pol = _report_from(tmp_path, c, "topics", clusters=True)
    t = figs["topics"].table
    node = t[t["cluster_id"] == parent].iloc[0]
    kids = t[t["parent_id"] == parent]
    assert not node["suppressed"]
    rest = int(node["n_sessions"]) - int(kids.loc[~kids["suppressed"], "n_sessions"].sum())
    assert rest >= pol.min_sessions, rest
    assert audit_release(figures, pol) == []
    # the old release: every child shown
    n_of = sc[sc["cluster_id"].isin(kids["cluster_id"])].groupby("cluster_id").size()
    leak = t.copy()
    for i in leak.index[(leak["parent_id"] == parent) & leak["suppressed"]]:
        n = int(n_of[leak.loc[i, "cluster_id"]])
        leak.loc[i, ["suppressed", "n_users", "n_sessions", "value"]] = [False, 20, n, n / 1500]
    problems = audit_release(_with(figures, "topics", leak), pol)
    assert any(f"cluster_id={parent}): its n minus its released children gives 3 sessions" in p
               for p in problems), problems


def test_sessions_in_no_released_topic_are_not_recovered_from_the_topics_n(tmp_path: Path) -> None:
    """Three classified sessions (3 users) in no released topic (the cluster stage withheld their whole path): the
    topics figure's n and every top-level n / share were the clustered sessions (1,497), and the work-mode figure
    released the classified ones (1,500): 3 sessions no threshold saw. The top level's shares are now over the
    classified sessions, with those three as a hidden cell that complementary suppression protects."""
    import pyarrow as pa

    c = synthetic_corpus(users=60, sessions=1500, seed=4)
    sc, s = c.session_clusters.to_pandas(), c.sessions.to_pandas()
    m = sc.merge(s[["session_key", "user"]], on="session_key")
    lone = m.drop_duplicates("user").head(3)["session_key"]
    c.session_clusters = pa.Table.from_pandas(sc[~sc["session_key"].isin(lone)], preserve_index=False)
    figs, figures, pol = _report_from(tmp_path, c, "loose", clusters=True)
    classified = figs["work_modes"].n_sessions
    t = figs["topics"].table
    assert figs["topics"].n_sessions == classified == 1500
    top = t[t["parent_id"].isna() & (t["variable"] == "share_of_sessions")]
    shown = top[~top["suppressed"]]
    assert len(shown) and ((shown["n_sessions"].astype(float) / shown["value"]).round() == classified).all()
    rest = classified - int(shown["n_sessions"].sum())
    assert rest == 0 or rest >= pol.min_sessions, rest
    assert not (t["cluster_id"] == "(no released topic)").any()  # the hidden cell is never shown


def test_an_empty_month_inside_the_range_reads_as_a_withheld_one(tmp_path: Path) -> None:
    """40 users over 2025-10..2026-05: with one session (one user) left in 2026-02, every figure showed 2026-02's
    rows withheld; with none left, 2026-02 had no row at all. So 'withheld' told that someone had a session that
    month. An empty month inside the range is now withheld like any (with a complementary month, so the withheld
    months' total does not give it back as 0): the two reports show the same rows for 2026-02."""
    import pyarrow as pa

    from codecensus.report.build import audit_release

    shown: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for name, left in (("lone", 1), ("empty", 0)):
        c = synthetic_corpus(users=40, sessions=600, months=8, seed=3)
        s = c.sessions.to_pandas()
        gap = (pd.to_datetime(s["started_at"]).dt.strftime("%Y-%m") == "2026-02").to_numpy()
        s.loc[s.index[gap][left:], "started_at"] = pd.Timestamp("2026-03-05", tz="UTC")
        c.sessions = pa.Table.from_pandas(s, preserve_index=False)
        figs, figures, pol = _report_from(tmp_path, c, name)
        assert audit_release(figures, pol) == []
        rows: dict[str, list[tuple[Any, ...]]] = {}
        for f in figures:
            t = f.table
            if f.id == "coverage":
                t = t[(t["dimension"] == "month") & (t["level"] == "2026-02")]
            elif f.available and "month" in t:
                t = t[t["month"] == "2026-02"]
            else:
                continue
            keys = [k for k in f.keys if k in t]
            rows[f.id] = sorted((*(str(r[k]) for k in keys), str(r["variable"]), bool(r["suppressed"]))
                                for r in t.to_dict("records"))
        assert rows["coverage"] and all(r[-1] for r in rows["coverage"]), rows["coverage"]
        shown[name] = rows
    assert shown["lone"] == shown["empty"]
    # the old release: the empty month without a row in coverage
    cov = figs["coverage"]
    old = cov.table[~((cov.table["dimension"] == "month") & (cov.table["level"] == "2026-02"))]
    problems = audit_release(_with(figures, "coverage", old), pol)
    assert any("months 2026-02 have no row" in p for p in problems), problems


def test_the_final_audit_refuses_a_topics_n_short_of_the_classified_sessions(tmp_path: Path) -> None:
    """The topics figure's n (and each top-level topic's n / share) is over every classified session; the old figure
    counted the clustered ones only: 1,497 beside the 1,500 classified sessions coverage and work modes release, 3
    sessions no threshold saw. The figure protects them now, and the final audit refuses a figure that does not."""
    import dataclasses

    import pyarrow as pa

    from codecensus.report.build import audit_release

    c = synthetic_corpus(users=60, sessions=1500, seed=4)
    sc, s = c.session_clusters.to_pandas(), c.sessions.to_pandas()
    m = sc.merge(s[["session_key", "user"]], on="session_key")
    lone = m.drop_duplicates("user").head(3)["session_key"]
    c.session_clusters = pa.Table.from_pandas(sc[~sc["session_key"].isin(lone)], preserve_index=False)
    figs, figures, pol = _report_from(tmp_path, c, "loose", clusters=True)
    assert audit_release(figures, pol) == []
    topics = figs["topics"]
    # the old figure: its n and its top-level shares over the 1,497 clustered sessions
    t = topics.table.copy()
    top = t["parent_id"].isna() & ~t["suppressed"].astype(bool)
    t.loc[top, "value"] = t.loc[top, "n_sessions"].astype(float) / 1497
    leak = dataclasses.replace(topics, table=t, n_sessions=1497)
    problems = audit_release([leak if f.id == "topics" else f for f in figures], pol)
    assert any("figure topics (its n): 1497 sessions, against 1500 classified" in p for p in problems), problems
    assert any("n / share): 1497 sessions" in p for p in problems), problems
    # only the n, the shares left as they are
    problems = audit_release([dataclasses.replace(topics, n_sessions=1497) if f.id == "topics" else f
                              for f in figures], pol)
    assert any("gives 3 sessions in no released topic" in p for p in problems), problems


def test_withheld_months_pass_on_their_distinct_users(tmp_path: Path) -> None:
    """2026-01 (4 sessions) and 2026-02 (7 sessions) of the same 3 users, beside 40 users' months: both were withheld
    and judged to protect each other on 3 + 3 = 6 users and 11 sessions, so the months released gave their total by
    subtraction: 11 sessions of 3 distinct users, below the 5 a cell needs. The withheld months now pass on the
    distinct users of their union: a third month is withheld with them."""
    import pyarrow as pa

    from codecensus.aggregate.figures import Context, load_report_data
    from codecensus.aggregate.privacy import ReleasePolicy

    c = synthetic_corpus(users=40, sessions=600, months=8, seed=3)
    s = c.sessions.to_pandas()
    month = pd.to_datetime(s["started_at"]).dt.strftime("%Y-%m")
    three = s["user"].drop_duplicates().head(3).tolist()
    for m, keep in (("2026-01", 4), ("2026-02", 7)):
        idx = s.index[month == m]
        s.loc[idx[keep:], "started_at"] = pd.Timestamp("2026-03-05", tz="UTC")
        s.loc[idx[:keep], "user"] = [three[i % 3] for i in range(keep)]
    c.sessions = pa.Table.from_pandas(s, preserve_index=False)
    store = Store(tmp_path / "twice.duckdb")
    load_into(store, c, clusters=False, git=False)
    data = load_report_data(store)
    store.close()
    policy = ReleasePolicy()
    ctx = Context(data, policy, B=10)
    assert {"2026-01", "2026-02"} <= ctx.withheld_months
    gone = data.df[data.df["month"].isin(ctx.withheld_months)]
    assert len(ctx.withheld_months) >= 2 and gone["user"].nunique() >= policy.min_users, sorted(ctx.withheld_months)
    assert len(gone) >= policy.min_sessions


def test_complementary_suppression_counts_distinct_users_and_takes_costly_cells_last() -> None:
    """apply_release_policy: two withheld cells of the same 3 users pass on 3 distinct users, not 6; a cell flagged
    as a last resort (a month at an end of the range) is taken only when the others are not enough."""
    from codecensus.aggregate.privacy import apply_release_policy

    def cells() -> list[dict[str, Any]]:
        return [{"g": 0, "n_users": 3, "n_sessions": 4, "u": {"a", "b", "c"}, "end": False},
                {"g": 0, "n_users": 3, "n_sessions": 7, "u": {"a", "b", "c"}, "end": False},
                {"g": 0, "n_users": 20, "n_sessions": 40, "u": {f"x{i}" for i in range(20)}, "end": True},
                {"g": 0, "n_users": 20, "n_sessions": 41, "u": {f"y{i}" for i in range(20)}, "end": False}]

    # without the sets they pass on the largest cell's 3 users, the fewest their union can have (the sum, 6, "passed")
    bare = apply_release_policy(cells(), group_by=["g"], value_columns=[])
    assert [r["suppressed"] for r in bare] == [True, True, True, False]
    out = apply_release_policy(cells(), group_by=["g"], value_columns=[], users_set_column="u",
                               last_resort_column="end")
    assert [r["suppressed"] for r in out] == [True, True, False, True]
    out = apply_release_policy(cells(), group_by=["g"], value_columns=[], users_set_column="u")
    assert [r["suppressed"] for r in out] == [True, True, True, False]


def test_an_out_folder_that_cannot_be_written_is_said_before_any_work(tmp_path: Path) -> None:
    """--out under a file (or in a folder without write access) ended, after the figures were computed, in a
    NotADirectoryError / PermissionError traceback from the report's mkdir."""
    db = _db(tmp_path, users=6, sessions=30)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    r = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(blocker / "report"), "--bootstrap", "20"])
    assert r.exit_code == 2, r.output
    assert not isinstance(r.exception, OSError)
    assert "--out" in r.output and "a-file" in r.output


def _report_data(df: pd.DataFrame) -> Any:
    from codecensus.aggregate.figures import ReportData

    return ReportData(df=df.reset_index(drop=True), has_facets=True, months=sorted(df["month"].dropna().unique()),
                      clusters=None, git_adoption=None, since=None, until=None, damaged_lines=0, files=0,
                      sessions_without_time=0)


def test_the_cascade_over_two_partitions_gives_back_a_complement_it_did_not_need() -> None:
    """Rows and columns both add up to released totals. Two small cells, (r0, c3) and (r1, c0), are protected by the
    rectangle of four corners; row r0 took its smallest complement first, (r0, c2) of 13 sessions, and column c0 then
    took (r0, c0): (r0, c2) was no longer needed but stayed withheld (5 cells where 4 protect). It is given back now,
    and every row and column still passes (two or more withheld cells that together pass the thresholds)."""
    from types import SimpleNamespace

    from codecensus.aggregate.figures import _finish
    from codecensus.aggregate.privacy import ReleasePolicy, check_release

    policy = ReleasePolicy()
    counts = [[(20, 20), (15, 100), (12, 13), (4, 10)], [(3, 40), (0, 0), (0, 0), (20, 100)]]
    rows = [{"row": f"r{r}", "col": f"c{c}", "variable": "v", "value": 1.0, "ci_low": 0.0, "ci_high": 1.0,
             "n_users": u, "n_sessions": s, "suppressed": False, "ci_method": "b", "_pgroup": f"v|{r}"}
            for r, cells in enumerate(counts) for c, (u, s) in enumerate(cells)]
    ctx = SimpleNamespace(policy=policy, withheld_months=frozenset(), months=[])
    t = _finish(ctx, [dict(r) for r in rows], ["row", "col"], across="col", drop_empty=False)  # type: ignore[arg-type]
    withheld = {(r["row"], r["col"]) for r in t.to_dict("records") if r["suppressed"]}
    assert withheld == {("r0", "c0"), ("r0", "c3"), ("r1", "c0"), ("r1", "c3")}
    out = t.to_dict("records")
    for by in ("row", "col"):
        assert check_release(out, policy, group_by=(by,), counts=rows) == [], by


def test_outcome_levels_withheld_with_the_small_ones_are_those_that_protect_them() -> None:
    """Levels 1 and 4 have 3 and 4 unclear sessions, level 5 a handful of sessions: withheld whole, their unclear
    sessions (7) are still below the thresholds, so one more level goes. The smallest level (3) has no unclear
    session and protects nothing: it was taken first, and then level 2 as well, withholding every level. Level 2 alone
    protects them: level 3 is released by this choice (:func:`_outcome_plan`). The report withholds level 3 as well,
    for another reason: it is the complementary level every expertise figure withholds beside level 5's 3 sessions
    (:func:`_levels_withheld`: the classified sessions less levels 1 to 4 gave them)."""
    from codecensus.aggregate.figures import (
        Context,
        _levels_withheld,
        _outcome_levels_to_withhold,
        _outcome_plan,
    )
    from codecensus.aggregate.privacy import ReleasePolicy

    spec = {1: (30, 30, 30, 3), 2: (40, 40, 40, 20), 3: (20, 20, 20, 0), 4: (30, 30, 30, 4), 5: (2, 0, 1, 0)}
    rows = []
    for level, ns in spec.items():
        for outcome, n in zip(("verified_success", "success", "failure", "unclear"), ns, strict=True):
            rows += [{"user": f"u{level}{outcome}{i}", "month": "2026-01", "expertise": level, "outcome": outcome}
                     for i in range(n)]
    ctx = Context(_report_data(pd.DataFrame(rows)), ReleasePolicy(), B=10)
    plan = _outcome_plan(ctx, frozenset({5}))
    assert frozenset(lv for lv, rates in plan.items() if not rates) == frozenset({1, 2, 4, 5})
    assert _levels_withheld(ctx) == frozenset({3, 5})
    assert _outcome_levels_to_withhold(ctx) == frozenset({1, 2, 3, 4, 5})


def test_a_modes_value_index_is_based_on_a_month_it_releases() -> None:
    """Value by work mode indexed each mode on its first month that passed the thresholds, before complementary
    suppression withheld that month (Build 2026-01: the month's other mode had 3 sessions): Build's released months
    were shown against a base nobody could see, and the text named it ('Build 2026-01'), telling that the withheld
    month passed. The base is now the first month released: its row reads 100, and the text names only such months."""
    from codecensus.aggregate.figures import Context, fig_value_by_mode
    from codecensus.aggregate.privacy import ReleasePolicy

    spec = {("build", "2026-01"): 12, ("fix", "2026-01"): 3, ("build", "2026-02"): 20, ("fix", "2026-02"): 30,
            ("build", "2026-03"): 25, ("fix", "2026-03"): 30, ("build", "2026-04"): 30, ("fix", "2026-04"): 30}
    rows = []
    for (mode, month), n in spec.items():
        rows += [{"user": f"u{len(rows) + i}", "month": month, "mode": mode, "value_usd": 100.0 + (len(rows) + i) % 7}
                 for i in range(n)]
    f = fig_value_by_mode(Context(_report_data(pd.DataFrame(rows)), ReleasePolicy(), B=10))
    idx = f.table[(f.table["variable"] == "index") & ~f.table["suppressed"].astype(bool)]
    assert set(idx["mode"]) == {"build", "fix"}
    for mode, x in idx.groupby("mode"):
        first = x.sort_values("month").iloc[0]
        assert first["value"] == pytest.approx(100.0), (mode, first["month"])
        assert f"{mode.capitalize()} {first['month']}" in f.method
    assert "2026-01" not in f.method and "2026-02" not in f.method


def test_the_cascade_leaves_every_row_and_column_protected() -> None:
    """Giving complements back never leaves a row or a column with a cell subtraction recovers (random tables)."""
    import random
    from types import SimpleNamespace

    from codecensus.aggregate.figures import _finish
    from codecensus.aggregate.privacy import ReleasePolicy, check_release

    policy = ReleasePolicy()
    ctx = SimpleNamespace(policy=policy, withheld_months=frozenset(), months=[])
    rng = random.Random(7)
    for _ in range(60):
        rows = []
        n_r, n_c = rng.randint(2, 6), rng.randint(2, 6)
        for r in range(n_r):
            for c in range(n_c):
                s = rng.choice([0, 1, 2, 3, 10, 11, 12, 13, 20, 40, 100])
                u = min(s, rng.randint(3, 30))
                rows.append({"row": f"r{r}", "col": f"c{c}", "variable": "v", "value": 1.0, "ci_low": 0.0,
                             "ci_high": 1.0, "n_users": u, "n_sessions": s, "suppressed": False, "ci_method": "b",
                             "_pgroup": f"v|{r}"})
        t = _finish(ctx, [dict(r) for r in rows], ["row", "col"], across="col", drop_empty=False)  # type: ignore[arg-type]
        out = t.to_dict("records")
        for by in ("row", "col"):
            assert check_release(out, policy, group_by=(by,), counts=rows) == [], (by, rows)


def _few_not_inferable(s: pd.DataFrame, f: pd.DataFrame) -> pd.DataFrame:
    """Every user's occupation 15, 13 or 27 (by user), 12 sessions of 6 users not inferable (1 to 3 a month) and 3
    sessions of 3 other users in group 53: the not-inferable cell (12) is the smallest cell beside 53, the one plain
    complementary suppression takes first."""
    from codecensus.taxonomy import NOT_INFERABLE

    f = f.copy()
    m = f.merge(s[["session_key", "user"]], on="session_key")
    by_user = {u: ("15", "13", "27")[i % 3] for i, u in enumerate(sorted(m["user"].unique()))}
    f["occupation"] = m["user"].map(by_user).to_numpy()
    ni = m.sort_values(["user", "session_key"]).groupby("user").head(2)["session_key"].head(12)
    f.loc[f["session_key"].isin(ni), "occupation"] = NOT_INFERABLE
    x = m[~m["session_key"].isin(ni)].drop_duplicates("user").tail(3)["session_key"]
    f.loc[f["session_key"].isin(x), "occupation"] = "53"
    return f


def _totals(t: pd.DataFrame, var: str, by: str | None = None) -> dict[Any, float]:
    """The totals a share series gives, from its released cells only (n / share), per value of ``by``."""
    x = _shown(t[t["variable"] == var])
    x = x[x["value"] > 0]
    g = (x["n_sessions"].astype(float) / x["value"].astype(float)).round(6)
    return {k: float(v.iloc[0]) for k, v in g.groupby(x[by] if by else pd.Series(0, index=x.index))}


def test_a_small_occupation_is_not_recovered_through_the_not_inferable_cell(tmp_path: Path) -> None:
    """Occupation 53 has 3 sessions (3 users) and the not-inferable cell, 12 sessions, is the smallest other cell.
    Had the not-inferable cell been its only complement, the share where inferable would give 53 back: its total
    (n / share) less the released occupations' n. It is not: the share where inferable is a partition of its own
    (53 goes with another occupation there, and with it in the share of sessions), so the not-inferable cell is
    released and the occupations the totals leave unknown are two or more that pass together. The final audit refuses
    the figure that withheld the not-inferable cell in 53's place."""
    from codecensus.report.build import audit_release
    from codecensus.taxonomy import NOT_INFERABLE

    figs, figures, pol = _report_of(tmp_path, _few_not_inferable)
    t = figs["occupations"]
    sos, swi = t[t["variable"] == "share_of_sessions"], t[t["variable"] == "share_where_inferable"]
    assert int(sos.set_index("occupation").loc[NOT_INFERABLE, "n_sessions"]) == 12  # released, passing alone
    assert bool(sos.set_index("occupation").loc["53", "suppressed"]) and bool(swi.set_index("occupation").loc["53",
                                                                                                            "suppressed"])
    # what the released cells give: classified (C) and inferable (I) totals, not inferable = C - I
    c, i = _totals(t, "share_of_sessions")[0], _totals(t, "share_where_inferable")[0]
    assert (c, i) == (1500, 1488)
    known = {r["occupation"]: int(r["n_sessions"]) for _, r in pd.concat([_shown(sos), _shown(swi)]).iterrows()}
    rest = i - sum(n for k, n in known.items() if k != NOT_INFERABLE)
    unknown = [k for k in swi["occupation"] if k not in known and k != NOT_INFERABLE]
    assert "53" in unknown and len(unknown) >= 2 and rest >= pol.min_sessions, (unknown, rest)
    assert audit_release(figures, pol) == []
    # the leak: not inferable withheld as 53's complement, every other occupation released in both series
    leak = t.copy()
    z = [k for k in unknown if k != "53"]
    for k in z:
        n = int(rest) - 3 if len(z) == 1 else None
        assert n is not None
        for var, total in (("share_of_sessions", c), ("share_where_inferable", i)):
            j = leak.index[(leak["variable"] == var) & (leak["occupation"] == k)][0]
            leak.loc[j, ["suppressed", "n_users", "n_sessions", "value"]] = [False, 20, n, n / total]
    j = leak.index[(leak["variable"] == "share_of_sessions") & (leak["occupation"] == NOT_INFERABLE)][0]
    leak.loc[j, ["suppressed", "n_users", "n_sessions", "value", "ci_low", "ci_high"]] = [True, None, None, None, None,
                                                                                          None]
    problems = audit_release(_with(figures, "occupations", leak), pol)
    assert any("share_where_inferable" in p and "gives 3 sessions in 1 withheld" in p for p in problems), problems


def test_a_months_not_inferable_sessions_are_not_recovered_from_two_month_figures(tmp_path: Path) -> None:
    """12 sessions (6 users) have no inferable occupation, 1 to 3 a month: the occupations figure released them as a
    whole (they pass), but each month's released share where inferable gave the month's inferable sessions (n / share)
    and work modes by month its classified sessions: 148 - 147 = 1 in 2025-10, 3 in 2026-01 and 2026-02, 2 in
    2026-03 and 2026-04. The months whose not-inferable sessions are neither none nor passing are now withheld in
    occupations by month, with complementary months so that the months not released do not give them back together
    (the occupations figure's totals less the released months'), and the final audit refuses such a release."""
    from codecensus.report.build import audit_release
    from codecensus.taxonomy import NOT_INFERABLE, SOC_KEYS

    figs, figures, pol = _report_of(tmp_path, _few_not_inferable)
    c_m = _totals(figs["work_modes_by_month"], "share_of_sessions", "month")
    i_m = _totals(figs["occupations_by_month"], "share_where_inferable", "month")
    both = sorted(set(c_m) & set(i_m))
    assert len(c_m) >= 6  # work modes by month releases its months: each month's classified sessions are known
    for m in both:
        d = round(c_m[m] - i_m[m])
        assert d == 0 or d >= pol.min_sessions, (m, d)
    occ = figs["occupations"]
    c, i = _totals(occ, "share_of_sessions")[0], _totals(occ, "share_where_inferable")[0]
    rest = round((c - i) - sum(c_m[m] - i_m[m] for m in both))
    assert rest == 0 or rest >= pol.min_sessions, rest
    assert audit_release(figures, pol) == []
    # the old release: 2026-01's share of group 15 (n / share = its 220 inferable sessions; 223 classified)
    s, f = _sessions_and_facets(_few_not_inferable)
    month = pd.to_datetime(s["started_at"], utc=True).dt.strftime("%Y-%m")
    f = f.merge(s[["session_key"]].assign(month=month), on="session_key")
    jan = f[f["month"] == "2026-01"]
    assert int((jan["occupation"] == NOT_INFERABLE).sum()) == 3
    inferable = int(jan["occupation"].isin(list(SOC_KEYS)).sum())
    n15 = int((jan["occupation"] == "15").sum())
    t = figs["occupations_by_month"].copy()
    j = t.index[(t["month"] == "2026-01") & (t["occupation"] == "15")][0]
    t.loc[j, ["suppressed", "n_users", "n_sessions", "value"]] = [False, 20, n15, n15 / inferable]
    problems = audit_release(_with(figures, "occupations_by_month", t), pol)
    assert any("month=2026-01" in p and "gives 3 sessions" in p for p in problems), problems


def _sessions_and_facets(edit: Any) -> tuple[pd.DataFrame, pd.DataFrame]:  # noqa: ANN401
    """The sessions and edited facets :func:`_report_of` stores."""
    c = synthetic_corpus(users=60, sessions=1500, seed=4)
    s, f = c.sessions.to_pandas(), c.facets.to_pandas()
    return s, edit(s, f)


def _code_sessions_known(t: pd.DataFrame) -> tuple[dict[str, float], list[str]]:
    """Success by occupation's occupations whose code-producing sessions with an outcome its released rows give (the
    unclear share's n / share; or strict success's n / share plus the unclear row's n), and the others."""
    unc = _shown(t[t["variable"] == "unclear"]).set_index("occupation")
    ss = _shown(t[t["variable"] == "strict_success"]).set_index("occupation")
    known: dict[str, float] = {}
    for k in dict.fromkeys(t.loc[t["variable"].isin(["unclear", "strict_success"]), "occupation"]):
        if k in unc.index and float(unc.loc[k, "value"]) > 0:
            known[k] = float(unc.loc[k, "n_sessions"]) / float(unc.loc[k, "value"])
        elif k in unc.index and k in ss.index and float(ss.loc[k, "value"]) > 0:
            known[k] = float(ss.loc[k, "n_sessions"]) / float(ss.loc[k, "value"]) + float(unc.loc[k, "n_sessions"])
    return known, [k for k in dict.fromkeys(t["occupation"]) if k not in known]


def test_code_sessions_of_small_occupations_are_not_recovered_from_the_code_roll_up(tmp_path: Path) -> None:
    """Occupation 53 has 1 code-producing session and 7 (6 users) are not inferable. Success by occupation released the
    unclear share of occupations 13, 15 and 27 with its n, which gives each one's code-producing sessions (n / share:
    221 + 251 + 347 = 819), and work modes releases the code roll-up (827): 827 - 819 = 8 sessions in the other two,
    below the thresholds, and the audit passed it. Now the occupations whose sessions those two leave short are withheld
    too (15's unclear row: its strict success row gives its sessions with a known outcome, 234, so 17 unclear sessions
    join them), and the final audit refuses the old release."""
    from codecensus.report.build import audit_release
    from codecensus.taxonomy import CODE_PRODUCING_MODES, NOT_INFERABLE

    figs, figures, pol = _report_of(tmp_path, _few_not_inferable)
    s, f = _sessions_and_facets(_few_not_inferable)
    code = f[f["mode"].isin(list(CODE_PRODUCING_MODES))]
    assert int((code["occupation"] == "53").sum()) == 1 and int((code["occupation"] == NOT_INFERABLE).sum()) == 7
    wm = figs["work_modes"]
    roll = _shown(wm[(wm["variable"] == "share_of_sessions_rollup") & (wm["rollup"] == "code")])
    assert roll["n_sessions"].tolist() == [827]
    t = figs["success_by_occupation"]
    known, unknown = _code_sessions_known(t)
    rest = 827 - sum(known.values())
    assert rest >= pol.min_sessions and len(unknown) >= 2, (known, unknown, rest)
    assert audit_release(figures, pol) == []
    # the old release: 15's unclear row released with its n (17) and share (17 / 251)
    old = t.copy()
    j = old.index[(old["variable"] == "unclear") & (old["occupation"] == "15")][0]
    assert bool(old.loc[j, "suppressed"])
    old.loc[j, ["suppressed", "n_users", "n_sessions", "value", "suppression"]] = [False, 7, 17, 17 / 251, None]
    known, unknown = _code_sessions_known(old)
    assert round(827 - sum(known.values())) == 8 and sorted(unknown) == ["53", NOT_INFERABLE]
    problems = audit_release(_with(figures, "success_by_occupation", old), pol)
    assert any("rollup=code (827)" in p and "gives 8 sessions in 2 withheld" in p for p in problems), problems


def test_an_empty_withheld_cell_adds_no_session_to_its_partition(tmp_path: Path) -> None:
    """One user alone in 2026-06 (15 sessions, none of them analyze) withholds 2026-06 and, as its complement,
    2025-11, where 9 sessions are analyze. Analyze's months in work modes by month add up to its cell in work modes;
    its withheld cells were 2025-11 (9) and 2026-06, empty and forced (its month is below the thresholds), which
    counted as 1 session: 10, 'passing', so every other month was released and analyze's n (120) less them gave 9.
    An empty cell now adds nothing: another month is withheld with them, and the final audit refuses the old
    release."""
    import pyarrow as pa

    from codecensus.report.build import audit_release

    c, s, f, lone, fl = _lone_user_month()
    fl["mode"] = fl["mode"].replace("analyze", "build")
    # 2025-11: 3 more analyze sessions (of users without one there), 9 in all
    m = f.merge(s[["session_key", "user"]].assign(month=pd.to_datetime(s["started_at"], utc=True).dt.strftime("%Y-%m")),
                on="session_key")
    nov = m[m["month"] == "2025-11"]
    more = nov[(nov["mode"] == "build") & ~nov["user"].isin(nov.loc[nov["mode"] == "analyze", "user"])]
    f.loc[f["session_key"].isin(more.drop_duplicates("user").head(3)["session_key"]), "mode"] = "analyze"
    c.sessions = pa.Table.from_pandas(pd.concat([s, lone], ignore_index=True), preserve_index=False)
    c.facets = pa.Table.from_pandas(pd.concat([f, fl], ignore_index=True), preserve_index=False)
    figs, figures, pol = _report_from(tmp_path, c, "phantom")
    wm, wmm = figs["work_modes"].table, figs["work_modes_by_month"].table
    total = int(_shown(wm[wm["variable"] == "share_of_sessions"]).set_index("mode").loc["analyze", "n_sessions"])
    line = wmm[wmm["mode"] == "analyze"]
    assert total == 120 and bool(line.set_index("month").loc["2025-11", "suppressed"])
    rest = total - int(_shown(line)["n_sessions"].sum())
    assert rest >= pol.min_sessions, (rest, sorted(line.loc[line["suppressed"], "month"]))
    assert audit_release(figures, pol) == []
    # the old release: every month of analyze released but 2025-11
    old = wmm.copy()
    s = c.sessions.to_pandas()
    m = c.facets.to_pandas().merge(s[["session_key"]].assign(
        month=pd.to_datetime(s["started_at"], utc=True).dt.strftime("%Y-%m")), on="session_key")
    for j in old.index[(old["mode"] == "analyze") & old["suppressed"] & (old["month"] != "2025-11")]:
        n = int(((m["month"] == old.loc[j, "month"]) & (m["mode"] == "analyze")).sum())
        old.loc[j, ["suppressed", "n_users", "n_sessions", "value", "suppression"]] = [False, 5, n, 0.05, None]
    assert total - int(_shown(old[old["mode"] == "analyze"])["n_sessions"].sum()) == 9
    problems = audit_release(_with(figures, "work_modes_by_month", old), pol)
    assert any("mode=analyze" in p and "(120) less the released cells gives 9 sessions" in p for p in problems), problems


def test_modes_of_sessions_without_a_time_are_not_recovered_from_the_months(tmp_path: Path) -> None:
    """12 sessions (12 users) have no start time: they pass as a whole, but work modes counts them and work modes by
    month cannot, and it released every month of build, fix and operate: work modes' n less the months gave 3 of them
    in build, 4 in fix and 1 in operate. Their cells now take part in each mode's months as a withheld cell (a month
    goes with them), and the final audit refuses the old release."""
    import pyarrow as pa

    from codecensus.report.build import audit_release

    c = synthetic_corpus(users=60, sessions=1500, seed=4)
    s = c.sessions.to_pandas()
    keys = s.drop_duplicates("user").head(12)["session_key"]
    s["started_at"] = s["started_at"].where(~s["session_key"].isin(keys), pd.NaT)
    c.sessions = pa.Table.from_pandas(s, preserve_index=False)
    figs, figures, pol = _report_from(tmp_path, c, "untimed")
    wm, wmm = figs["work_modes"].table, figs["work_modes_by_month"].table
    totals = _shown(wm[wm["variable"] == "share_of_sessions"]).set_index("mode")["n_sessions"]
    for mode in ("build", "fix", "operate"):
        rest = int(totals[mode]) - int(_shown(wmm[wmm["mode"] == mode])["n_sessions"].sum())
        assert rest == 0 or rest >= pol.min_sessions, (mode, rest)
    assert audit_release(figures, pol) == []
    # the old release: every month of build released
    m = c.facets.to_pandas().merge(s[["session_key"]].assign(
        month=pd.to_datetime(s["started_at"], utc=True).dt.strftime("%Y-%m")), on="session_key")
    old = wmm.copy()
    for j in old.index[(old["mode"] == "build") & old["suppressed"]]:
        n = int(((m["month"] == old.loc[j, "month"]) & (m["mode"] == "build")).sum())
        old.loc[j, ["suppressed", "n_users", "n_sessions", "value", "suppression"]] = [False, 5, n, 0.05, None]
    problems = audit_release(_with(figures, "work_modes_by_month", old), pol)
    assert any("mode=build" in p and "gives 3 sessions" in p for p in problems), problems


def test_modes_of_sessions_without_a_time_are_not_recovered_from_value_by_mode(tmp_path: Path) -> None:
    """The store above (12 sessions of 12 users without a start time): value by mode's mean_usd row of a mode counts
    its sessions without a time, its index rows (n per month) cannot, and every month of build, fix and operate was
    released: mean_usd's n less the months gave 3 of them in build (387 - 384), 4 in fix (343 - 339), 1 in operate
    (255 - 254), and the audit passed it. Their cells now take part in each mode's months as a withheld cell, and the
    final audit refuses the old release. (Value by month is not affected: its months add up to the figure's total, whose
    sessions without a time are coverage's month 'unknown', protected with the months.)"""
    import pyarrow as pa

    from codecensus.report.build import audit_release

    c = synthetic_corpus(users=60, sessions=1500, seed=4)
    s = c.sessions.to_pandas()
    keys = s.drop_duplicates("user").head(12)["session_key"]
    s["started_at"] = s["started_at"].where(~s["session_key"].isin(keys), pd.NaT)
    c.sessions = pa.Table.from_pandas(s, preserve_index=False)
    f = c.facets.to_pandas()
    untimed = f[f["session_key"].isin(keys)]["mode"].value_counts()
    assert (untimed["build"], untimed["fix"], untimed["operate"]) == (3, 4, 1)
    figs, figures, pol = _report_from(tmp_path, c, "untimed_value")
    vm = figs["value_by_mode"].table
    totals = _shown(vm[vm["variable"] == "mean_usd"]).set_index("mode")["n_sessions"]
    idx = vm[vm["variable"] == "index"]
    for mode in totals.index:
        rest = int(totals[mode]) - int(_shown(idx[idx["mode"] == mode])["n_sessions"].sum())
        assert rest == 0 or rest >= pol.min_sessions, (mode, rest)
    assert audit_release(figures, pol) == []
    # the old release: every month of build released
    m = f.merge(s[["session_key"]].assign(month=pd.to_datetime(s["started_at"], utc=True).dt.strftime("%Y-%m")),
                on="session_key")
    old = vm.copy()
    for j in old.index[(old["variable"] == "index") & (old["mode"] == "build") & old["suppressed"]]:
        n = int(((m["month"] == old.loc[j, "month"]) & (m["mode"] == "build")).sum())
        old.loc[j, ["suppressed", "n_users", "n_sessions", "value", "suppression"]] = [False, 5, n, 100.0, None]
    assert int(totals["build"]) - int(_shown(old[(old["variable"] == "index") & (old["mode"] == "build")])
                                      ["n_sessions"].sum()) == 3
    problems = audit_release(_with(figures, "value_by_mode", old), pol)
    assert any("value_by_mode (mode=build, index)" in p and "gives 3 sessions" in p for p in problems), problems


def _two_small_modes_of_three_users(s: pd.DataFrame, f: pd.DataFrame) -> pd.DataFrame:
    """Facets where test and orchestrate are build, then 4 sessions of 2 users are test and 8 sessions of 3 users (the
    same 2 and one more) are orchestrate."""
    f = f.copy()
    f.loc[f["mode"].isin(["test", "orchestrate"]), "mode"] = "build"
    m = f.merge(s[["session_key", "user"]], on="session_key")
    users = m["user"].drop_duplicates().head(3).tolist()
    a = m[m["user"].isin(users[:2])].groupby("user").head(2)["session_key"]
    f.loc[f["session_key"].isin(a), "mode"] = "test"
    b = m[m["user"].isin(users) & ~m["session_key"].isin(a)].groupby("user").head(3)["session_key"].head(8)
    f.loc[f["session_key"].isin(b), "mode"] = "orchestrate"
    return f


def test_withheld_cells_pass_on_distinct_users_not_the_sum_of_their_counts(tmp_path: Path) -> None:
    """Test (4 sessions, 2 users) and orchestrate (8 sessions, 3 users: the same 2 and one more) were withheld and judged
    to protect each other on 2 + 3 = 5 users: work modes released every other mode, and its n less them gave 12
    sessions of 3 distinct users, below the 5 a cell needs (the audit, on released numbers only, cannot see users).
    Without the cells' user sets, the withheld cells now pass the user threshold on the largest cell's users, the
    fewest their union can have."""
    from codecensus.aggregate.privacy import apply_release_policy

    figs, figures, pol = _report_of(tmp_path, _two_small_modes_of_three_users)
    s, f = _sessions_and_facets(_two_small_modes_of_three_users)
    who = f.merge(s[["session_key", "user"]], on="session_key")
    t = figs["work_modes"]
    modes = t[t["variable"] == "share_of_sessions"]
    assert set(modes.loc[modes["suppressed"], "mode"]) >= {"test", "orchestrate"}
    parts = {"all": modes, **{r: modes[modes["rollup"] == r] for r in set(modes["rollup"])}}
    for name, cells in parts.items():
        total = len(who) if name == "all" else int(who["mode"].map(MODE_ROLLUP).eq(name).sum())
        rest = total - int(_shown(cells)["n_sessions"].sum())
        users = who.loc[who["mode"].isin(cells.loc[cells["suppressed"], "mode"]), "user"].nunique()
        assert rest == 0 or (rest >= pol.min_sessions and users >= pol.min_users), (name, rest, users)
    # the rule itself: two withheld cells of 2 and 3 users, without their sets
    cells = [{"g": 0, "n_users": 2, "n_sessions": 4}, {"g": 0, "n_users": 3, "n_sessions": 8},
             {"g": 0, "n_users": 30, "n_sessions": 90}, {"g": 0, "n_users": 40, "n_sessions": 120}]
    out = apply_release_policy(cells, group_by=["g"], value_columns=[])
    assert [r["suppressed"] for r in out] == [True, True, True, False]


def test_a_mode_without_sessions_without_a_time_withholds_none_of_its_months(tmp_path: Path) -> None:
    """12 sessions of 12 users without a start time, all build or fix: every mode's line in work modes by month (and
    value by mode) got a withheld cell for its sessions without a time, empty for operate, which withheld operate's
    2025-10 (16 sessions) with it for nothing (each of operate's months passes). A mode without such sessions has no
    such cell now, when they pass as a whole; the lines that have them still withhold a month with them, and the
    final audit passes."""
    import pyarrow as pa

    from codecensus.report.build import audit_release

    c = synthetic_corpus(users=60, sessions=1500, seed=4)
    s, f = c.sessions.to_pandas(), c.facets.to_pandas()
    bf = s[s["session_key"].isin(f.loc[f["mode"].isin(["build", "fix"]), "session_key"])]
    keys = bf.drop_duplicates("user").head(12)["session_key"]
    s["started_at"] = s["started_at"].where(~s["session_key"].isin(keys), pd.NaT)
    c.sessions = pa.Table.from_pandas(s, preserve_index=False)
    figs, figures, pol = _report_from(tmp_path, c, "untimed_code")
    wm, wmm, vm = figs["work_modes"].table, figs["work_modes_by_month"].table, figs["value_by_mode"].table
    assert not bool(wmm.loc[wmm["mode"] == "operate", "suppressed"].any())
    idx = vm[vm["variable"] == "index"]
    assert not bool(idx.loc[idx["mode"] == "operate", "suppressed"].any())
    totals = _shown(wm[wm["variable"] == "share_of_sessions"]).set_index("mode")["n_sessions"]
    for mode in ("build", "fix", "operate"):
        line = wmm[wmm["mode"] == mode]
        rest = int(totals[mode]) - int(_shown(line)["n_sessions"].sum())
        assert rest == 0 or (rest >= pol.min_sessions and int(line["suppressed"].sum()) >= 1), (mode, rest)
    assert audit_release(figures, pol) == []


def test_successes_of_months_not_shown_pass_on_their_users_too() -> None:
    """Strict success by month: outcome by expertise releases each level's successes, so the levels' successes less
    the shown months' are the successes with a level of the months not shown. That count was checked on its
    sessions only: 10 successes of 2 users (beside 4 successes without a level of 4 other users, so the months not
    shown passed as a whole: 14 sessions, 6 users) passed, a count of 2 people's sessions."""
    import numpy as np

    from codecensus.aggregate.figures import Context, _outcome_rest_leaks
    from codecensus.aggregate.privacy import ReleasePolicy

    rows = [{"user": f"s{i % 20}", "month": "2026-01", "expertise": 3, "outcome": "verified_success"} for i in range(60)]
    rows += [{"user": f"f{i % 20}", "month": "2026-01", "expertise": 3, "outcome": "failure"} for i in range(60)]
    rows += [{"user": f"u{i % 2}", "month": "2026-02", "expertise": 4, "outcome": "verified_success"} for i in range(10)]
    rows += [{"user": f"v{i}", "month": "2026-02", "expertise": None, "outcome": "verified_success"} for i in range(4)]
    df = pd.DataFrame(rows)
    ctx = Context(_report_data(df), ReleasePolicy(), B=10)
    known = np.ones(len(df), dtype=bool)
    success = (df["outcome"] == "verified_success").to_numpy()
    level = df["expertise"].notna().to_numpy()
    shown = (df["month"] == "2026-01").to_numpy()
    assert _outcome_rest_leaks(ctx, known, success, level, shown)
    # 10 successes of 5 users: the count passes
    df.loc[df["user"].isin(["u0", "u1"]), "user"] = [f"w{i % 5}" for i in range(10)]
    ctx = Context(_report_data(df), ReleasePolicy(), B=10)
    assert not _outcome_rest_leaks(ctx, known, success, level, shown)


def _occupations_as_on_the_real_corpus(s: pd.DataFrame, f: pd.DataFrame) -> pd.DataFrame:
    """The real corpus's occupations, scaled: about half the classified sessions not inferable, the rest in group 15
    but 4 sessions of 4 users in three small groups (2 in 25, 1 in 27, 1 in 17); every other group empty."""
    from codecensus.taxonomy import NOT_INFERABLE

    f = f.copy()
    f["occupation"] = "15"
    ni = f.sample(frac=0.52, random_state=0).index
    f.loc[ni, "occupation"] = NOT_INFERABLE
    m = f.merge(s[["session_key", "user"]], on="session_key")
    few = m[m["occupation"] == "15"].drop_duplicates("user").head(4)["session_key"].tolist()
    for k, occ in zip(few, ("25", "25", "27", "17"), strict=True):
        f.loc[f["session_key"] == k, "occupation"] = occ
    return f


@pytest.fixture(scope="module")
def real_shaped_occupations(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, pd.DataFrame], list, Any]:
    return _report_of(tmp_path_factory.mktemp("occ"), _occupations_as_on_the_real_corpus)


def _occupation_attack(figures: list) -> tuple[dict[str, float], set[int]]:  # noqa: ANN001 - lists of Figure
    """What the released tables give about the occupations: the counts of the groups they disclose (their n in either
    share series) and every count the small groups' sessions follow from: the classified sessions (coverage; work
    modes' n / share) less the disclosed groups less the not-inferable sessions (the occupations figure's cell; the
    abstentions figure's occupation line, or the sum of its reasons when all are released), and the inferable total
    (the share where inferable's n / share; occupations by month's month totals when every month coverage lists has
    a released cell) less the disclosed groups."""
    from codecensus.taxonomy import NOT_INFERABLE

    by = {x.id: x.table for x in figures if x.available}
    occ = by["occupations"]
    known: dict[str, float] = {}
    for var in ("share_of_sessions", "share_where_inferable"):
        for _, r in _shown(occ[occ["variable"] == var]).iterrows():
            known.setdefault(r["occupation"], float(r["n_sessions"]))
    ni = known.pop(NOT_INFERABLE, None)
    groups = sum(known.values())
    cov = by["coverage"]
    classified = {float(x) for x in _shown(cov[cov["variable"] == "classified sessions"])["n_sessions"]}
    classified |= set(_totals(by["work_modes"], "share_of_sessions").values())
    nis = {ni} if ni is not None else set()
    ab = by.get("abstentions")
    if ab is not None:
        line = ab[ab["facet"] == "occupation"]
        nis |= {float(x) for x in _shown(line[line["variable"] == "abstained"])["n_sessions"]}
        reasons = line[line["variable"] == "sessions"]
        if len(reasons) and not reasons["suppressed"].any():
            nis.add(float(reasons["n_sessions"].sum()))
    inferable = set(_totals(occ, "share_where_inferable").values())
    by_month = by.get("occupations_by_month")
    if by_month is not None:
        months = _totals(by_month, "share_where_inferable", "month")
        listed = set(cov.loc[cov["dimension"] == "month", "level"].astype(str))
        if months and listed <= set(months):
            inferable.add(sum(months.values()))
    rests = {round(c - n - groups) for c in classified for n in nis} | {round(i - groups) for i in inferable}
    return known, rests


def test_the_largest_occupation_is_released_beside_a_withheld_not_inferable_cell(real_shaped_occupations: Any) -> None:
    """The real corpus: 168 sessions of 'Computer and Mathematical', 181 not inferable, and 2, 1 and 1 in three
    small groups. The share where inferable could protect the small groups with group 15 only, and the link between an
    occupation's two rows then withheld 15 in the share of sessions too: the figure's most important number went while
    'not inferable, 51%' and a row of 0% groups were released. Now the share where inferable is withheld whole, and
    the share of sessions takes the not-inferable cell as the small groups' complement (a residual cell, cheaper to
    lose than a substantive one): 15 is released there."""
    from codecensus.taxonomy import NOT_INFERABLE

    figs, _figures, _pol = real_shaped_occupations
    t = figs["occupations"]
    sos = t[t["variable"] == "share_of_sessions"].set_index("occupation")
    assert not bool(sos.loc["15", "suppressed"]) and int(sos.loc["15", "n_sessions"]) > 600
    assert bool(sos.loc[NOT_INFERABLE, "suppressed"])
    assert sos.loc[["17", "25", "27"], "suppressed"].all()
    assert t[t["variable"] == "share_where_inferable"]["suppressed"].all()
    assert figs["occupations_by_month"]["suppressed"].all()
    # the abstentions figure's occupation line is the same not-inferable sessions: withheld with the cell
    ab = figs["abstentions"]
    assert ab[ab["facet"] == "occupation"]["suppressed"].all()


def test_the_small_occupations_are_not_recomputed_from_any_released_number(real_shaped_occupations: Any) -> None:
    """Every released number of every figure that gives the not-inferable sessions or the inferable total (occupations,
    abstentions, occupations by month, coverage, work modes) against the released groups: no difference gives the
    small groups' 4 sessions, while group 15's count is released. The same attack on a release that shows the
    abstentions figure's occupation line, or the not-inferable cell, beside group 15 gives them: 4."""
    from codecensus.taxonomy import NOT_INFERABLE

    figs, figures, pol = real_shaped_occupations
    known, rests = _occupation_attack(figures)
    assert "15" in known
    assert not any(_small_n(x, pol) for x in rests), rests
    s, f = _sessions_and_facets(_occupations_as_on_the_real_corpus)
    truth = f["occupation"].value_counts()
    small = int(truth[["17", "25", "27"]].sum())
    assert small == 4 and small not in rests
    # the attack works: the abstentions' occupation line released (its total is the not-inferable cell)
    ab = figs["abstentions"].copy()
    i = ab.index[(ab["facet"] == "occupation") & (ab["variable"] == "abstained")][0]
    ni_n = int(truth[NOT_INFERABLE])
    ab.loc[i, ["suppressed", "n_users", "n_sessions", "value"]] = [False, 30, ni_n, float(ni_n)]
    assert 4 in _occupation_attack(_with(figures, "abstentions", ab))[1]
    occ = figs["occupations"].copy()
    j = occ.index[(occ["variable"] == "share_of_sessions") & (occ["occupation"] == NOT_INFERABLE)][0]
    occ.loc[j, ["suppressed", "n_users", "n_sessions", "value"]] = [False, 30, ni_n, ni_n / len(f)]
    assert 4 in _occupation_attack(_with(figures, "occupations", occ))[1]


def _small_n(x: float, pol: Any) -> bool:  # noqa: ANN401
    return 0.5 <= x < pol.min_sessions - 0.5


def test_the_release_with_the_largest_occupation_passes_the_audit(real_shaped_occupations: Any) -> None:
    """The final audit passes the release that shows group 15 and withholds the not-inferable cell, and refuses the
    ones that would give the small groups back: the not-inferable cell shown as well (classified - 15 - not inferable
    = 4), or the abstentions figure's occupation line shown (the same sessions)."""
    from codecensus.report.build import audit_release
    from codecensus.taxonomy import NOT_INFERABLE

    figs, figures, pol = real_shaped_occupations
    occ = figs["occupations"]
    assert not bool(occ[(occ["variable"] == "share_of_sessions") & (occ["occupation"] == "15")]["suppressed"].iloc[0])
    assert audit_release(figures, pol) == []
    _s, f = _sessions_and_facets(_occupations_as_on_the_real_corpus)
    ni_n = int((f["occupation"] == NOT_INFERABLE).sum())
    leak = occ.copy()
    j = leak.index[(leak["variable"] == "share_of_sessions") & (leak["occupation"] == NOT_INFERABLE)][0]
    leak.loc[j, ["suppressed", "n_users", "n_sessions", "value"]] = [False, 30, ni_n, ni_n / len(f)]
    problems = audit_release(_with(figures, "occupations", leak), pol)
    assert any("gives 4 sessions in 3 withheld cells" in p for p in problems), problems
    ab = figs["abstentions"].copy()
    i = ab.index[(ab["facet"] == "occupation") & (ab["variable"] == "abstained")][0]
    ab.loc[i, ["suppressed", "n_users", "n_sessions", "value"]] = [False, 30, ni_n, float(ni_n)]
    problems = audit_release(_with(figures, "abstentions", ab), pol)
    assert any("facet=occupation" in p for p in problems), problems


def test_the_key_findings_quote_the_largest_occupation_of_the_classified_sessions(real_shaped_occupations: Any) -> None:
    """With the share where inferable withheld whole, the occupations finding (from that series) vanished; it quotes
    group 15's share of the classified sessions instead, and no not-inferable share (withheld)."""
    from codecensus.report.findings import key_findings

    _figs, figures, _pol = real_shaped_occupations
    occ = [x for x in key_findings(figures) if x.figure == "occupations"]
    assert len(occ) == 1 and "of classified sessions" in occ[0].headline, occ
    assert "inferable in" not in occ[0].detail
