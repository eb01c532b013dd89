"""The report under differential privacy: noisy figures, the ledger, and a budget that runs out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
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


@pytest.fixture
def noise_free(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every DP query keeps its calibration (scale, ε and δ charged to the ledger, half-widths, release floors) but is
    answered by the same OpenDP measurement at scale 0: the exact (bounded, clamped) value. OpenDP draws its noise
    from its own unseeded generator, so a test that asserts what the release rule makes of one real draw fails now
    and then (the strict-success trend below, in about 1 of 1,000 runs)."""
    from codecensus.aggregate.dp import DPEngine

    real = DPEngine._calibrate

    def calibrate(self: DPEngine, make: Any, mech: str, epsilon: float, delta: float) -> Any:
        _meas, scale, eps, d = real(self, make, mech, epsilon, delta)
        return make(0.0), scale, eps, d

    monkeypatch.setattr(DPEngine, "_calibrate", calibrate)


def test_dp_report_releases_noisy_figures_and_prints_the_ledger(dp_store: Store, tmp_path: Path,
                                                                noise_free: None) -> None:
    # ε = 10 (the most a report may spend): at ε = 6 the monthly strict successes (26-112 sessions after the cap)
    # are within two noise half-widths (55) and are withheld as noise. At ε = 10 (floor 74) two months of them pass
    # on their exact counts (83 and 112); with OpenDP's real noise the whole trend was withheld in about 1 run of
    # 1,000 (computed from the counts and the noise distribution), so the figures are checked noise-free.
    # the months of the monthly figures are the public range given (dpfigures.public_months): the store's 7 months
    res = write_report(dp_store, ReportOptions(out=tmp_path / "o", epsilon=10.0, since="2025-10-01",
                                               until="2026-04-30"))
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
    assert sum(e["epsilon"] for e in entries) == pytest.approx(10.0, rel=1e-6)
    html = res.html.read_text()
    head = html[: html.index("<main")]
    assert 'id="dp-banner"' in head and "ε = 10.0" in head
    assert 'id="dp-ledger"' in html and "report:work_modes" in html
    # the budget is spent: the same sessions cannot be released again
    with pytest.raises(BudgetExceeded):
        write_report(dp_store, ReportOptions(out=tmp_path / "again", epsilon=10.0))


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

    data = load_report_data(dp_store, "2025-10-01", "2026-04-30")
    ledger = PrivacyLedger()
    # a large ε keeps the noise small, so the monthly unclear counts (13-31 sessions after the cap) clear the noisy
    # floor: with 2 users a cell (more than 10 sessions, as a user adds at most 10), not 5 (more than 40)
    rep = DPReport(data, ReleasePolicy(min_users=2), ledger, epsilon=200.0, delta=None)
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


def _fake_histograms(rep: object, true: dict[str, float], scale: float, rng: np.random.Generator) -> None:
    """The engine's histogram replaced by known counts plus discrete Laplace noise of ``scale`` (seeded here, so the
    test is repeatable): what the figure makes of noisy counts can be checked against the truth."""
    from codecensus.aggregate.dp import DPHistogram, laplace_half_width

    def histogram(values, users, cats, *, epsilon, delta=None, query="q", session_ids=None,  # noqa: ANN001, ANN202
                  clamp_nonnegative=True):
        p = -np.expm1(-1.0 / scale)
        noisy = np.array([true.get(c, 0.0) for c in cats]) + rng.geometric(p, len(cats)) - rng.geometric(p, len(cats))
        if clamp_nonnegative:
            noisy = np.maximum(noisy, 0.0)
        h = laplace_half_width(scale, discrete=True)
        return DPHistogram(tuple(cats), tuple(float(x) for x in noisy), 0.0, epsilon, 0.0, "laplace", scale, h, query,
                           tuple(noisy - h), tuple(noisy + h))

    rep.engine.histogram = histogram  # type: ignore[attr-defined]


def test_dp_share_intervals_carry_the_noise_of_the_whole(dp_store: Store) -> None:
    """A share's interval was (count ± h) / noisy total: the total's noise (9 cells of it) was left out. With the mode
    counts build 120, fix 30, seven empty modes, and noise of scale 10 (h = 29), 'build' (share 0.8) was inside its
    '95%' interval in 54% of 300 releases. Now in at least 95%."""
    from codecensus.aggregate.dp import PrivacyLedger
    from codecensus.aggregate.dpfigures import DPReport
    from codecensus.aggregate.figures import load_report_data
    from codecensus.aggregate.privacy import ReleasePolicy

    data = load_report_data(dp_store)
    rep = DPReport(data, ReleasePolicy(), PrivacyLedger(), epsilon=6.0, delta=None)
    _fake_histograms(rep, {"build": 120.0, "fix": 30.0}, 10.0, np.random.default_rng(3))
    inside = shown = 0
    for _ in range(300):
        t = rep.work_modes().table.set_index("mode")
        if not t.loc["build", "suppressed"]:
            shown += 1
            inside += t.loc["build", "ci_low"] <= 0.8 <= t.loc["build", "ci_high"]
    assert shown > 280
    assert inside / shown >= 0.95, inside / shown


def test_dp_cells_of_pure_noise_are_withheld(dp_store: Store) -> None:
    """Cells whose noise swamps them were released: at ε = 1 on 150 sessions a month x mode cell showed 513 sessions
    and a share of 0.53. With every count 0 and noise of scale 110 (ε = 1 over 11 queries), 2.0% of the work-mode
    cells were released (pure noise); now a cell needs at least twice its noise half-width: under 0.5%."""
    from codecensus.aggregate.dp import PrivacyLedger
    from codecensus.aggregate.dpfigures import DPReport
    from codecensus.aggregate.figures import load_report_data
    from codecensus.aggregate.privacy import ReleasePolicy

    data = load_report_data(dp_store)
    rep = DPReport(data, ReleasePolicy(), PrivacyLedger(), epsilon=6.0, delta=None)
    _fake_histograms(rep, {}, 110.0, np.random.default_rng(4))
    released = sum(rep.work_modes().released_cells for _ in range(400))
    assert released / (400 * 9) < 0.005, released


def test_dp_cell_of_two_users_is_withheld(tmp_path: Path) -> None:
    """min_users was ignored under --epsilon: a work mode of two users (10 sessions each after the cap) was released
    with its 20 noisy sessions. One user adds at most 10 sessions to a cell, so a cell is now shown only when its
    count, less its noise, is above (min_users - 1) x 10: only on noisy values, DP-safe."""
    from codecensus.aggregate.dp import PrivacyLedger
    from codecensus.aggregate.dpfigures import DPReport
    from codecensus.aggregate.figures import load_report_data
    from codecensus.aggregate.privacy import ReleasePolicy

    c = synthetic_corpus(users=60, sessions=900, seed=9)
    s, f = c.sessions.to_pandas(), c.facets.to_pandas()
    two = s["user"].value_counts().index[:2]
    assert (s["user"].value_counts().iloc[:2] >= 10).all()
    pair = set(s.loc[s["user"].isin(two), "session_key"])
    f["mode"] = np.where(f["session_key"].isin(pair), "test", f["mode"].where(f["mode"] != "test", "build"))
    import pyarrow as pa

    c.facets = pa.Table.from_pandas(f, preserve_index=False)
    store = Store(tmp_path / "two.duckdb")
    load_into(store, c, clusters=False, git=False)
    data = load_report_data(store)
    policy = ReleasePolicy()
    rep = DPReport(data, policy, PrivacyLedger(), epsilon=200.0, delta=None)  # little noise: the rule decides
    fig = rep.work_modes()
    t = fig.table.set_index("mode")
    assert t.loc["build", "n_sessions"] > 100 and not t.loc["build", "suppressed"]
    assert t.loc["test", "suppressed"], t.loc["test"].to_dict()
    from codecensus.report.build import audit_release

    assert audit_release([fig], policy, dp_floor=41) == []


def test_dp_epsilon_above_the_maximum_is_refused(tmp_path: Path, noise_free: None) -> None:
    """--epsilon 1e300 released the exact counts (the coverage figure: 98 sessions, interval [98, 98]). A report now
    spends at most ε = 10; nothing is charged when it is refused."""
    from codecensus.cli import app

    db = tmp_path / "c.duckdb"
    s = Store(db)
    load_into(s, synthetic_corpus(users=40, sessions=300, seed=8), clusters=False, git=False)
    with pytest.raises(ValueError, match="ε ≤ 10"):
        write_report(s, ReportOptions(out=tmp_path / "api", epsilon=1e300))
    s.close()
    for eps in ("1e300", "10.5"):
        r = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "o"), "--epsilon", eps])
        text = " ".join(r.output.split())
        assert r.exit_code == 2 and "is above the most a report may spend (10)" in text, text
    assert not (tmp_path / "o").exists() and not (tmp_path / "api").exists()
    s = Store(db, read_only=True)
    assert not s.table_exists("privacy_ledger") or s.one("SELECT count(*) FROM privacy_ledger")[0] == 0
    s.close()
    # ε = 10 is allowed, and the session count says it is of the capped sessions (noise-free: the count of 214 capped
    # sessions was withheld, and the wording not shown, when its noise drew below -140: about 1.4e-6 of runs)
    r = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "o"), "--epsilon", "10"])
    assert r.exit_code == 0, r.output
    cov = pd.read_csv(tmp_path / "o" / "tables" / "coverage.csv")
    assert list(cov["level"]) == ["at most 10 sessions per user"]
    assert "sessions (noisy, ≤ 10 per user)" in (tmp_path / "o" / "report.html").read_text()


def test_dp_budget_refusal_says_what_is_left_and_how_to_release(tmp_path: Path) -> None:
    """A budget of ε = 2 with ε = 1 spent: --epsilon 1 was refused with "refusing to change it to ε=1" (the budget
    is fixed), and --epsilon 2 with a message that did not say what was left. Now a report spends from the budget:
    --epsilon 2 is refused saying ε = 1 is left and to use --epsilon 1 or less, and --epsilon 1 is released."""
    from codecensus.aggregate.dp import PrivacyLedger
    from codecensus.cli import app

    db = tmp_path / "c.duckdb"
    s = Store(db)
    load_into(s, synthetic_corpus(users=40, sessions=300, seed=8), clusters=False, git=False)
    led = PrivacyLedger(s)
    led.set_budget("sessions", 2.0, 0.0)
    led.charge("sessions", "earlier", 1.0, 0.0, "laplace:count")
    s.close()
    args = ["report", "--db", str(db), "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(app, [*args, "--epsilon", "2"])
    text = " ".join(r.output.split())
    assert r.exit_code == 2, text
    assert "ε = 2, δ = 0 in all" in text and "ε = 1, δ = 0 is left" in text
    assert "run with --epsilon 1 or less" in text
    r = CliRunner().invoke(app, [*args, "--epsilon", "1"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, [*args, "--epsilon", "0.5"])
    text = " ".join(r.output.split())
    assert r.exit_code == 2 and "Nothing is left" in text, text


def test_dp_mean_of_noise_is_withheld(dp_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """At ε = 6 on 3000 sessions the novice mean of actions per prompt came out 0.0 with the interval [0, 26.9]
    (clamping range 0-40), and was released. A mean whose interval spans over half its range is noise."""
    from codecensus.aggregate.dp import DPResult, PrivacyLedger
    from codecensus.aggregate.dpfigures import DPReport
    from codecensus.aggregate.figures import load_report_data
    from codecensus.aggregate.privacy import ReleasePolicy

    rep = DPReport(load_report_data(dp_store), ReleasePolicy(), PrivacyLedger(), epsilon=6.0, delta=None)
    results = iter([(0.0, 0.0, 26.9), (6.0, 0.0, 19.2), (9.0, 5.0, 14.0), (11.0, 0.5, 21.0), (15.0, 9.0, 21.0)])

    def fake_mean(vals, lo, hi, users, *, epsilon, query, session_ids):  # noqa: ANN001, ANN202
        v, a, b = next(results)
        return DPResult(v, epsilon, 0.0, "laplace", 1.0, a, b, query, count=1e6)

    monkeypatch.setattr(rep.engine, "mean", fake_mean)
    t = rep.expertise_shape().table.set_index("expertise")
    assert [bool(t.loc[e, "suppressed"]) for e in (1, 2, 3, 4, 5)] == [True, False, False, True, False]


def test_epsilon_budget_leaves_room_for_later_reports(tmp_path: Path) -> None:
    """The first DP report fixed the sessions' budget at its own ε: from the command line no second report was ever
    possible. --epsilon-budget sets the total on the first report; later reports spend what is left; the total
    cannot be changed afterwards."""
    from codecensus.aggregate.dp import PrivacyLedger
    from codecensus.cli import app

    db = tmp_path / "c.duckdb"
    s = Store(db)
    load_into(s, synthetic_corpus(users=40, sessions=300, seed=8), clusters=False, git=False)
    s.close()
    runner = CliRunner()
    args = ["report", "--db", str(db), "--out", str(tmp_path / "o")]
    bad = runner.invoke(app, [*args, "--epsilon-budget", "3"])
    assert bad.exit_code == 2 and "--epsilon-budget needs --epsilon" in " ".join(bad.output.split())
    bad = runner.invoke(app, [*args, "--epsilon", "2", "--epsilon-budget", "1"])
    assert bad.exit_code == 2 and "at least --epsilon" in " ".join(bad.output.split())
    r = runner.invoke(app, [*args, "--epsilon", "1", "--epsilon-budget", "3"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, [*args, "--epsilon", "1.5"])
    assert r.exit_code == 0, r.output
    with Store(db) as st:
        led = PrivacyLedger(st)
        assert led.budget("sessions") == (3.0, 0.0)
        assert abs(led.spent("sessions")[0] - 2.5) < 1e-9
    r = runner.invoke(app, [*args, "--epsilon", "0.5", "--epsilon-budget", "10"])
    text = " ".join(r.output.split())
    assert r.exit_code == 2 and "already fixed at ε = 3" in text and "ε = 0.5 is left" in text, text


def _dp_db(tmp_path: Path, users: int = 80, sessions: int = 600) -> Path:
    db = tmp_path / "c.duckdb"
    s = Store(db)
    load_into(s, synthetic_corpus(users=users, sessions=sessions, seed=8), clusters=False, git=False)
    s.close()
    return db


def _with_exact_user_counts(build: Any) -> Any:
    """A DP figure builder that puts an exact user count (17) in every row: the final audit refuses its report
    whatever the noise drew."""

    def leaky(self: Any) -> Any:
        fig = build(self)
        fig.table["n_users"] = pd.array([17] * len(fig.table), dtype="Int64")
        return fig

    return leaky


def test_a_dp_report_refused_whatever_its_noise_is_not_charged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A DP figure builder that put exact user counts in its table: the final audit refused the report (nothing
    written), yet the ledger kept its ε = 10 spent, and the refusal printed the exact user count. The refusal does
    not depend on the noise, so the ε is now given back (an entry of -ε for each query, in one transaction) and the
    message names the figure only; a second report can spend the budget. (The exact counts are refused in withheld
    rows too: the audit read released rows only, and a report whose work-mode cells were all withheld as noise was
    written with the exact user counts in its tables.)"""
    from codecensus.aggregate.dpfigures import DPReport
    from codecensus.cli import app

    db = _dp_db(tmp_path, users=300, sessions=3000)
    orig = DPReport.work_modes
    leaky = _with_exact_user_counts(orig)

    monkeypatch.setattr(DPReport, "work_modes", leaky)
    args = ["report", "--db", str(db), "--out", str(tmp_path / "o"), "--epsilon", "10"]
    r = CliRunner().invoke(app, args)
    text = " ".join(r.output.split())
    assert r.exit_code == 1 and "release audit failed, nothing was written" in text, text
    assert "figure work_modes" in text and "17" not in text and "ε was given back" in text
    assert not (tmp_path / "o").exists()
    s = Store(db, read_only=True)
    assert s.one("SELECT coalesce(sum(epsilon), 0) FROM privacy_ledger")[0] == pytest.approx(0.0, abs=1e-9)
    assert s.one("SELECT count(*) FROM privacy_ledger WHERE epsilon < 0")[0] > 0  # the refunds are recorded
    s.close()
    monkeypatch.setattr(DPReport, "work_modes", orig)
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output


def test_a_dp_report_refused_on_its_noisy_values_stays_charged(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A refusal decided by the noisy counts (a cell shown below the release floor) tells something of them, and a
    free rerun would draw fresh noise: that report stays charged, and says so."""
    from codecensus.aggregate.dpfigures import DPReport
    from codecensus.cli import app

    db = _dp_db(tmp_path)
    orig = DPReport.work_modes

    def low(self: DPReport):  # noqa: ANN202 - a Figure
        fig = orig(self)
        fig.table.loc[fig.table.index[0], ["suppressed", "n_sessions", "value"]] = [False, 1, 0.01]
        return fig

    monkeypatch.setattr(DPReport, "work_modes", low)
    r = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "o"), "--epsilon", "2"])
    text = " ".join(r.output.split())
    assert r.exit_code == 1 and "ε stays charged" in text, text
    s = Store(db, read_only=True)
    assert s.one("SELECT sum(epsilon) FROM privacy_ledger")[0] == pytest.approx(2.0, rel=1e-6)
    s.close()


def test_a_figures_noisy_n_is_shown_by_the_release_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         noise_free: None) -> None:
    """Twenty sessions of ten users at ε = 0.5: every occupation and work-mode cell was withheld as noise, but the
    figures still printed 'n ≈ 1,234 sessions (noisy)', the sum of the cells' noisy counts clamped at zero, a noisy
    value no rule held back (and biased upward by the clamping). The figure's n now follows the cells' rule (its
    count less the noise of the sum must reach the floor, and be at least twice that noise): withheld here."""
    from codecensus.aggregate.dp import DPEngine, PrivacyLedger
    from codecensus.aggregate.dpfigures import DPReport
    from codecensus.aggregate.figures import load_report_data
    from codecensus.aggregate.privacy import ReleasePolicy
    from codecensus.report.html import ReleaseView, render_html

    # OpenDP draws its noise from its own unseeded generator, so a test on its draws failed now and then (a cell drawn
    # 2h above its count shows: about 4% of runs over these 34 cells). noise_free keeps the calibration, ledger charge
    # and noise scale with exact counts: the n of 20 sessions is then what the old code printed ('n ≈ 20') and what
    # the rule must withhold at this noise scale, on every run.
    real = DPEngine.histogram
    seen: list[int] = []

    def counted(self: DPEngine, *a: Any, **kw: Any) -> Any:
        h = real(self, *a, **kw)
        seen.append(round(sum(h.counts) + h.other))
        return h

    monkeypatch.setattr(DPEngine, "histogram", counted)
    store = Store(tmp_path / "small.duckdb")
    load_into(store, synthetic_corpus(users=10, sessions=20, seed=3), clusters=False, git=False)
    data = load_report_data(store)
    store.close()
    rep = DPReport(data, ReleasePolicy(), PrivacyLedger(), epsilon=0.5, delta=None)
    figs = [rep.occupations(), rep.work_modes()]
    assert seen[:2] == [20, 20]  # both figures got exact counts of the 20 sessions
    for f in figs:
        assert f.table["suppressed"].all(), f.id
        assert f.n_sessions == 0, (f.id, f.n_sessions)
    html = render_html(figs, [], ReleaseView(min_users=5, min_sessions=10, epsilon=0.5, sessions_per_user=10))
    assert "n ≈" not in html and html.count("n: see table") == 2


def test_a_refunded_first_dp_report_does_not_fix_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first DP report fixes the sessions' total budget. A first report at --epsilon 1 refused whatever its noise
    (refunded: nothing released) still left the budget fixed at ε = 1, so the user's next report, the first they
    got, could not ask for --epsilon-budget 3 ('already fixed at ε = 1'). The refund now unsets the budget it set
    when nothing else was spent; a budget anything was spent from stays."""
    from codecensus.aggregate.dpfigures import DPReport
    from codecensus.cli import app

    db = _dp_db(tmp_path, users=300, sessions=3000)
    orig = DPReport.work_modes
    leaky = _with_exact_user_counts(orig)

    monkeypatch.setattr(DPReport, "work_modes", leaky)
    r = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "o"), "--epsilon", "1"])
    assert r.exit_code == 1 and "given back" in " ".join(r.output.split()), r.output
    s = Store(db, read_only=True)
    assert s.one("SELECT count(*) FROM privacy_budget")[0] == 0
    s.close()
    monkeypatch.setattr(DPReport, "work_modes", orig)
    args = ["report", "--db", str(db), "--out", str(tmp_path / "o2"), "--epsilon", "1", "--epsilon-budget", "3"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    s = Store(db, read_only=True)
    assert s.one("SELECT epsilon_total, delta_total FROM privacy_budget") == (3.0, 0.0)
    s.close()
    # a refused report after one that released: the budget stays as it was
    monkeypatch.setattr(DPReport, "work_modes", leaky)
    r = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "o3"), "--epsilon", "1"])
    assert r.exit_code == 1, r.output
    s = Store(db, read_only=True)
    assert s.one("SELECT epsilon_total, delta_total FROM privacy_budget") == (3.0, 0.0)
    assert s.one("SELECT sum(epsilon) FROM privacy_ledger")[0] == pytest.approx(1.0)
    s.close()


def test_dp_months_at_the_ends_without_a_released_cell_are_not_shown(tmp_path: Path) -> None:
    """400 users over 2025-10..2026-07 and one session of one user in 2026-10: the DP report took its months from
    the exact first and last month with a session, so it printed '13 months' and rows for 2026-08 to 2026-10 (all
    withheld): one session's month, exactly, beside noisy figures. The months shown now run from the first to the
    last month with a released noisy cell, and the count is of those."""
    import pyarrow as pa

    from codecensus.report.build import compute

    c = synthetic_corpus(users=400, sessions=8000, months=10, seed=3)
    s = c.sessions.to_pandas()
    s.loc[s.index[0], "started_at"] = pd.Timestamp("2026-10-10", tz="UTC")
    c.sessions = pa.Table.from_pandas(s, preserve_index=False)
    store = Store(tmp_path / "d.duckdb")
    load_into(store, c, clusters=False, git=False)
    # a public range over all of it (the monthly figures range over the range given: dpfigures.public_months)
    comp = compute(store, ReportOptions(epsilon=10, since="2025-10-01", until="2026-12-31"))
    store.close()
    figs = {f.id: f for f in comp.figures}
    shown: set[str] = set()
    released: set[str] = set()
    for fid in ("work_modes_by_month", "success_trend"):
        t = figs[fid].table
        shown |= set(t["month"])
        released |= set(t.loc[~t["suppressed"].astype(bool), "month"])
    # (the noise is never seeded: a noisy count of an empty month can pass the release floor, rarely, and that month
    # is then shown as released; it was asserted never to happen, and failed once in a full run)
    assert released and min(shown) == min(released) and max(shown) == max(released)
    assert figs["coverage"].extra["months"] == len(shown)
    assert "2026-10" not in shown or "2026-10" in released
    # the old release (every month to 2026-10, '13 months') is refused by the final audit
    from codecensus.aggregate.dpfigures import release_floor
    from codecensus.report.build import audit_release

    t = figs["work_modes_by_month"].table
    old = pd.concat([t, t.iloc[[0]].assign(month="2026-10", suppressed=True, value=np.nan, ci_low=np.nan,
                                           ci_high=np.nan, n_sessions=pd.NA)])
    floor = release_floor(comp.policy, 10)
    leak = [type(f)(f.id, f.title, f.method, old if f.id == "work_modes_by_month" else f.table, f.keys, f.unit,
                    extra=f.extra) for f in comp.figures]
    problems = audit_release(leak, comp.policy, dp_floor=floor)
    assert any("2026-10 shown without a released cell" in p for p in problems), problems
    assert audit_release(comp.figures, comp.policy, dp_floor=floor) == []
    # the months counted with the old rule (first to last month with a session)
    leak = [type(f)(f.id, f.title, f.method, f.table, f.keys, f.unit,
                    extra={**f.extra, "months": 13} if f.id == "coverage" else f.extra) for f in comp.figures]
    problems = audit_release(leak, comp.policy, dp_floor=floor)
    assert any("says 13 months" in p for p in problems), problems


def test_which_dp_figures_exist_and_their_epsilon_do_not_depend_on_the_months_of_the_sessions(tmp_path: Path) -> None:
    """Two stores that differ by one session of one user, in 2025-11 (the rest in 2025-10): the DP report took its
    months from the sessions, so the second had the strict-success trend and split ε over 11 queries (0.0909 each)
    where the first split it over 10 (0.1 each), and printed so: one user's month, exactly. The months are now the
    public range given (--since/--until): both reports release the same figures with the same ε per query; without
    a range the monthly figures are not released, whatever the sessions."""
    import pyarrow as pa

    from codecensus.report.build import compute

    structure: dict[tuple[str, bool], tuple[Any, ...]] = {}
    monthly: dict[tuple[str, bool], list[tuple[bool, str]]] = {}
    for name, lone in (("one", False), ("two", True)):
        c = synthetic_corpus(users=60, sessions=600, months=1, seed=3)
        s = c.sessions.to_pandas()
        s["started_at"] = pd.Timestamp("2025-10-15", tz="UTC")
        if lone:
            s.loc[s.index[0], "started_at"] = pd.Timestamp("2025-11-03", tz="UTC")
        c.sessions = pa.Table.from_pandas(s, preserve_index=False)
        for window in (False, True):
            store = Store(tmp_path / f"{name}{window}.duckdb")
            load_into(store, c, clusters=False, git=False)
            opts = ReportOptions(epsilon=1.0, since="2025-10-01" if window else None,
                                 until="2025-11-30" if window else None)
            comp = compute(store, opts)
            ledger = store.query("SELECT query, epsilon FROM privacy_ledger ORDER BY query").to_pylist()
            store.close()
            figs = {f.id: f for f in comp.figures}
            structure[name, window] = (
                tuple(sorted((f.id, f.available) for f in comp.figures)),
                tuple((e["query"], round(e["epsilon"], 12)) for e in ledger), comp.release.notes[0])
            monthly[name, window] = [(figs[fid].available, figs[fid].reason) for fid in
                                     ("work_modes_by_month", "success_trend")]
    # the old report: ('work_modes_by_month', 'success_trend' unavailable) and 10 queries at ε = 0.1 beside
    # both available and 11 queries at ε = 0.0909
    assert structure["one", False] == structure["two", False]
    assert structure["one", True] == structure["two", True]
    for (_name, window), got in monthly.items():
        assert all(ok == window and (window or "--since" in why) for ok, why in got), got
    assert len(structure["one", True][1]) == len(structure["one", False][1]) + 2


def test_until_alone_gives_a_fixed_window_and_a_wide_range_is_capped() -> None:
    """--until without --since released no monthly figure under DP (no public start); it now gives the 12 months
    ending with --until's month, whatever the sessions. A range from 2000-01-01 made some 320 months (2,700 month x
    mode cells, each an empty one clearing the floor about once in 800): the last 24 are kept."""
    from datetime import date

    import pandas as pd

    from codecensus.aggregate.dpfigures import public_months
    from codecensus.aggregate.figures import ReportData

    def data(since: date | None, until: date | None, months: list[str]) -> ReportData:
        df = pd.DataFrame({"user": ["u"] * len(months), "month": months})
        return ReportData(df=df, has_facets=True, months=months, clusters=None, git_adoption=None, since=since,
                          until=until, damaged_lines=0, files=0, sessions_without_time=0)

    today = date(2026, 5, 20)
    got = public_months(data(None, date(2026, 3, 15), ["2026-03"]), today)
    assert got[0] == "2025-04" and got[-1] == "2026-03" and len(got) == 12
    # the sessions do not move it
    assert public_months(data(None, date(2026, 3, 15), ["2024-01", "2026-02"]), today) == got
    assert public_months(data(None, None, ["2026-03"]), today) == []
    wide = public_months(data(date(2000, 1, 1), date(2026, 3, 31), ["2026-03"]), today)
    assert len(wide) == 24 and wide[-1] == "2026-03" and wide[0] == "2024-04"
    assert public_months(data(date(2026, 1, 1), date(2026, 3, 31), []), today) == ["2026-01", "2026-02", "2026-03"]
