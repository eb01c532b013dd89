"""The report under differential privacy: noisy figures, the ledger, and a budget that runs out."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from codecensus.aggregate.dp import BudgetExceeded
from codecensus.aggregate.dpfigures import DP_FIGURES
from codecensus.aggregate.synthetic import load_into, synthetic_corpus
from codecensus.report.build import ReportOptions, write_report
from codecensus.store import Store

pytest.importorskip("opendp")


@pytest.fixture(scope="module")
def dp_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("dp") / "dp.duckdb")
    load_into(store, synthetic_corpus(users=300, sessions=3000, seed=6), clusters=False, git=False)
    return store


def test_dp_report_releases_noisy_figures_and_prints_the_ledger(dp_store: Store, tmp_path: Path) -> None:
    res = write_report(dp_store, ReportOptions(out=tmp_path / "o", epsilon=6.0))
    comp = res.computed
    figs = {f.id: f for f in comp.figures}
    assert {f for f, x in figs.items() if x.available} == set(DP_FIGURES)
    assert "not released in differential-privacy mode" in figs["regression"].reason
    for fid in DP_FIGURES:
        t = figs[fid].table
        rel = t[~t["suppressed"]]
        assert len(rel), fid
        assert rel["n_users"].isna().all()  # user counts are not measured under DP
        if fid != "coverage":
            assert (rel["ci_low"] <= rel["value"] + 1e-12).all() and (rel["value"] <= rel["ci_high"] + 1e-12).all()
    # shares come from noisy counts: close to the truth at this size, never exactly the bootstrap values
    wm = figs["work_modes"].table.set_index("mode")
    assert 0.1 < wm.loc["build", "value"] < 0.4
    entries = dp_store.query("SELECT query, epsilon FROM privacy_ledger").to_pylist()
    n = len(entries)
    assert n == len(comp.release.ledger) >= 10
    assert sum(e["epsilon"] for e in entries) == pytest.approx(6.0, rel=1e-6)
    html = res.html.read_text()
    head = html[: html.index("<main")]
    assert 'id="dp-banner"' in head and "ε = 6.0" in head
    assert 'id="dp-ledger"' in html and "report:work_modes" in html
    # the budget is spent: the same sessions cannot be released again
    with pytest.raises(BudgetExceeded):
        write_report(dp_store, ReportOptions(out=tmp_path / "again", epsilon=6.0))


def test_cli_refuses_a_second_dp_release(tmp_path: Path) -> None:
    from codecensus.cli import app

    db = tmp_path / "c.duckdb"
    s = Store(db)
    load_into(s, synthetic_corpus(users=80, sessions=600, seed=8), clusters=False, git=False)
    s.close()
    runner = CliRunner()
    args = ["report", "--db", str(db), "--out", str(tmp_path / "o"), "--epsilon", "2"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, args)
    assert second.exit_code == 2 and "budget" in second.output


def test_dp_report_with_delta_splits_both_budgets(tmp_path: Path) -> None:
    """δ is composed like ε: every query gets δ/n, and the whole report fits the (ε, δ) budget."""
    store = Store(tmp_path / "delta.duckdb")
    load_into(store, synthetic_corpus(users=300, sessions=3000, seed=7), clusters=False, git=False)
    write_report(store, ReportOptions(out=tmp_path / "d", epsilon=4.0, delta=1e-6))
    entries = store.query("SELECT epsilon, delta, mechanism FROM privacy_ledger").to_pylist()
    assert len(entries) > 1
    assert sum(e["epsilon"] for e in entries) == pytest.approx(4.0, rel=1e-6)
    assert sum(e["delta"] for e in entries) <= 1e-6 * (1 + 1e-9)
    assert any(e["mechanism"].startswith("gaussian") for e in entries)


def test_dp_expertise_rows_are_released_on_the_noisy_count(dp_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether a row is shown must depend only on noisy outputs: deciding on the true count would disclose it."""
    from codecensus.aggregate.dp import DPResult, PrivacyLedger
    from codecensus.aggregate.dpfigures import DPReport
    from codecensus.aggregate.figures import load_report_data
    from codecensus.aggregate.privacy import ReleasePolicy

    data = load_report_data(dp_store)
    rep = DPReport(data, ReleasePolicy(), PrivacyLedger(), epsilon=6.0, delta=None)
    true_n = {e: int((data.df["expertise"] == e).sum()) for e in (1, 2, 3, 4, 5)}
    assert min(true_n.values()) > 2 * ReleasePolicy().min_sessions  # every level passes on its true count
    noisy = {1: 0.0, 2: 1e6, 3: 1e6, 4: 0.0, 5: 1e6}  # the noisy counts say otherwise for levels 1 and 4
    calls = iter(noisy.values())

    def fake_mean(vals, lo, hi, users, *, epsilon, query, session_ids):  # noqa: ANN001, ANN202
        return DPResult(2.0, epsilon, 0.0, "laplace", 1.0, 1.5, 2.5, query, count=next(calls))

    monkeypatch.setattr(rep.engine, "mean", fake_mean)
    t = rep.expertise_shape().table.set_index("expertise")
    assert [bool(t.loc[e, "suppressed"]) for e in (1, 2, 3, 4, 5)] == [True, False, False, True, False]


def test_dp_success_trend_reports_the_unclear_share(dp_store: Store) -> None:
    """Taxonomy §3 under DP too: the noisy unclear share beside the noisy strict success, from the same histogram."""
    from codecensus.aggregate.dp import PrivacyLedger
    from codecensus.aggregate.dpfigures import DPReport
    from codecensus.aggregate.figures import load_report_data
    from codecensus.aggregate.privacy import ReleasePolicy

    data = load_report_data(dp_store)
    ledger = PrivacyLedger()
    # a large ε keeps the noise small, so the monthly unclear counts (21-45 sessions) clear the noisy floor
    rep = DPReport(data, ReleasePolicy(), ledger, epsilon=200.0, delta=None)
    n_before = rep.n_queries
    t = rep.success_trend().table
    assert rep.n_queries == n_before and len(ledger.entries()) == 1  # one query, as before
    shown = t[(t["variable"] == "unclear") & ~t["suppressed"]]
    assert len(shown) >= 5
    df = data.df
    for _, r in shown.iterrows():
        month = df[(df["month"] == r["month"]) & df["outcome"].notna()]
        # within noise and the contribution bound (≤ 10 sessions a user: 0.014-0.021 off over five draws)
        assert abs(r["value"] - (month["outcome"] == "unclear").mean()) < 0.06
        assert r["ci_low"] <= r["value"] <= r["ci_high"]


def test_a_date_window_does_not_open_a_fresh_budget(tmp_path: Path) -> None:
    """The ledger charged each --since/--until window as its own dataset: `--since 2000-01-01` covers the very
    sessions of the report without it, and had a whole new budget (four reports at ε = 1 each on the same 150
    sessions by moving --since a day). Every window now spends from one budget for the sessions table."""
    store = Store(tmp_path / "w.duckdb")
    load_into(store, synthetic_corpus(users=40, sessions=300, seed=3), clusters=False, git=False)
    write_report(store, ReportOptions(out=tmp_path / "a", epsilon=1.0))
    for since, until in (("2000-01-01", None), ("2000-01-02", None), (None, "2099-12-31")):
        with pytest.raises(BudgetExceeded):
            write_report(store, ReportOptions(out=tmp_path / "b", epsilon=1.0, since=since, until=until))
    total = store.one("SELECT sum(epsilon) FROM privacy_ledger")
    assert total is not None and total[0] == pytest.approx(1.0, rel=1e-6)


def test_spending_recorded_per_window_counts_against_the_budget(tmp_path: Path) -> None:
    """A ledger written when each date window was its own dataset: what those windows spent is spent on the same
    sessions, so a report after the upgrade is refused when it would overspend."""
    from codecensus.aggregate.dp import PrivacyLedger

    store = Store(tmp_path / "old.duckdb")
    load_into(store, synthetic_corpus(users=40, sessions=300, seed=3), clusters=False, git=False)
    old = PrivacyLedger(store)
    old.set_budget("sessions:2025-01-01:-:0123abcd", 1.0, 0.0)
    old.charge("sessions:2025-01-01:-:0123abcd", "report:coverage:sessions", 0.7, 0.0, "laplace:count")
    with pytest.raises(BudgetExceeded):
        write_report(store, ReportOptions(out=tmp_path / "o", epsilon=1.0))
    assert not (tmp_path / "o" / "report.html").exists()
    entries = PrivacyLedger(store).entries()
    # the old spending is counted once, and the refused report spent nothing (it needed ε = 1, 0.3 was left)
    assert sum(e["epsilon"] for e in entries if e["dataset"] == "sessions") == pytest.approx(0.7)
