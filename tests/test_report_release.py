"""What goes beside the report (its manifest, the terminal) releases no more than the report itself."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from codecensus.aggregate.synthetic import load_into, synthetic_corpus
from codecensus.cli import app
from codecensus.store import Store


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
    assert man["sessions"] == (int(noisy.iloc[0]) if len(noisy) and noisy.notna().all() else None)


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
    from codecensus.report.build import ReportOptions, compute

    c = synthetic_corpus(users=60, sessions=1500, months=6, seed=4)
    s, f = c.sessions.to_pandas(), c.facets.to_pandas()
    u = s["user"].value_counts().index[0]
    lone = s[s["user"] == u].head(15).copy()
    keys = [f"lone-{i}" for i in range(len(lone))]
    fl = f.set_index("session_key").loc[lone["session_key"]].reset_index()
    lone["session_key"], fl["session_key"] = keys, keys
    lone["started_at"] = pd.Timestamp("2026-06-15", tz="UTC")
    import pyarrow as pa

    c.sessions = pa.Table.from_pandas(pd.concat([s, lone], ignore_index=True), preserve_index=False)
    c.facets = pa.Table.from_pandas(pd.concat([f, fl], ignore_index=True), preserve_index=False)
    store = Store(tmp_path / "m.duckdb")
    load_into(store, c, clusters=False, git=False)
    comp = compute(store, ReportOptions(bootstrap=20))
    figs = {x.id: x.table for x in comp.figures}
    pol = comp.policy
    for whole, by_month, key, var in (("work_modes", "work_modes_by_month", "mode", "share_of_sessions"),
                                      ("occupations", "occupations_by_month", "occupation", "share_where_inferable")):
        tot = figs[whole][(figs[whole]["variable"] == var) & ~figs[whole]["suppressed"]].set_index(key)["n_sessions"]
        bm = figs[by_month]
        assert bm[bm["month"] == "2026-06"]["suppressed"].all()
        for k, n in tot.items():
            cells = bm[bm[key] == k]
            hidden = int(n) - int(cells.loc[~cells["suppressed"], "n_sessions"].sum())
            assert hidden == 0 or hidden >= pol.min_sessions, (by_month, k, hidden)
            assert hidden == 0 or int(cells["suppressed"].sum()) >= 2, (by_month, k)


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
