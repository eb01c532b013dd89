"""codecensus.aggregate.dp: calibration, noise scale, budget ledger, deterministic bounding."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("opendp")

from codecensus.aggregate.dp import (  # noqa: E402
    BudgetExceeded,
    DPEngine,
    PrivacyLedger,
    bound_contributions,
    laplace_half_width,
)


def _users(n_users: int, per_user: int) -> list[str]:
    return [f"u{u}" for u in range(n_users) for _ in range(per_user)]


# -- calibration and noise --------------------------------------------------------------------


@pytest.mark.parametrize(("k", "eps"), [(1, 1.0), (3, 0.5), (10, 2.0)])
def test_laplace_scale_matches_epsilon(k: int, eps: float) -> None:
    eng = DPEngine(epsilon_total=10.0, max_sessions_per_user=k, seed=1)
    res = eng.count(_users(20, 2), epsilon=eps)
    assert res.scale == pytest.approx(k / eps, rel=1e-6)  # discrete Laplace: ε = k / scale
    assert res.epsilon == pytest.approx(eps, rel=1e-6) and res.epsilon <= eps + 1e-12
    assert res.delta == 0.0 and res.mechanism == "laplace"
    assert res.ci_low <= res.value <= res.ci_high


def test_empirical_noise_matches_scale_and_interval() -> None:
    # one histogram over many empty categories = many independent noise draws
    cats = [f"c{i}" for i in range(4000)]
    eng = DPEngine(epsilon_total=1.0, max_sessions_per_user=2, seed=3)
    h = eng.histogram([], [], cats, epsilon=0.5, clamp_nonnegative=False)
    noise = np.array(h.counts)
    assert h.scale == pytest.approx(4.0, rel=1e-6)  # L1 sensitivity k=2, ε=0.5
    # OpenDP's noise is not seeded: every bound below is 6 standard errors of n draws from the known distribution, so
    # the test fails by chance in under 1e-8 of runs (the coverage bounds of 0.93-0.97 failed in about 4e-6)
    n = len(noise)
    # discrete Laplace with scale b, q = e^{-1/b}: E|X| = 2q / (1 - q^2), E X^2 = 2q / (1 - q)^2
    b = h.scale
    q = math.exp(-1 / b)
    expected_mad, second = 2 * q / (1 - q * q), 2 * q / (1 - q) ** 2
    assert abs(np.mean(np.abs(noise)) - expected_mad) <= 6 * math.sqrt((second - expected_mad**2) / n)
    # P(|X| <= h) = 1 - 2 q^(h+1) / (1 + q): at least 95%, and what the draws show
    covered = 1 - 2 * q ** (h.half_width + 1) / (1 + q)
    assert covered >= 0.95
    coverage = np.mean(np.abs(noise) <= h.half_width)
    assert abs(coverage - covered) <= 6 * math.sqrt(covered * (1 - covered) / n)
    assert abs(np.mean(noise)) <= 6 * math.sqrt(second / n)  # centred


def test_gaussian_mechanism() -> None:
    eng = DPEngine(epsilon_total=2.0, delta=1e-5, max_sessions_per_user=2, seed=0, mechanism="gaussian")
    cats = [f"c{i}" for i in range(3000)]
    h = eng.histogram([], [], cats, epsilon=1.0, delta=1e-6, clamp_nonnegative=False)
    assert h.mechanism == "gaussian"
    assert h.epsilon <= 1.0 + 1e-9 and h.epsilon > 0.95
    assert h.delta == pytest.approx(1e-6)
    assert np.std(h.counts) == pytest.approx(h.scale, rel=0.08)
    with pytest.raises(ValueError, match="delta"):
        DPEngine(epsilon_total=1.0).count(["a"], epsilon=0.1, mechanism="gaussian")


def test_half_width_is_the_95_percent_point() -> None:
    for b in (0.5, 1.0, 3.0, 25.0):
        h = laplace_half_width(b, discrete=True)

        def tail(t: float, b: float = b) -> float:  # P(|X| >= t), t >= 1
            return 2 * math.exp(-t / b) / (1 + math.exp(-1 / b))

        assert tail(h + 1) <= 0.05 + 1e-12
        if h >= 1:
            assert tail(h) > 0.05
    assert laplace_half_width(2.0, discrete=False) == pytest.approx(2.0 * math.log(20))


# -- contribution bounding ---------------------------------------------------------------------


def test_bounding_is_deterministic_capped_and_order_free() -> None:
    users = ["a"] * 50 + ["b"] * 2 + ["c"] * 10
    sessions = [f"s{i}" for i in range(len(users))]
    kept = bound_contributions(users, 3, seed=7, session_ids=sessions)
    assert kept == bound_contributions(users, 3, seed=7, session_ids=sessions)
    assert Counter(users[i] for i in kept) == {"a": 3, "b": 2, "c": 3}
    assert kept != bound_contributions(users, 3, seed=8, session_ids=sessions)
    # same sessions chosen whatever the row order
    order = list(reversed(range(len(users))))
    kept_rev = bound_contributions(
        [users[i] for i in order], 3, seed=7, session_ids=[sessions[i] for i in order]
    )
    assert {sessions[order[i]] for i in kept_rev} == {sessions[i] for i in kept}


def test_count_uses_bounded_data() -> None:
    users = ["whale"] * 500 + _users(40, 1)
    eng = DPEngine(epsilon_total=100.0, max_sessions_per_user=4, seed=0)
    res = eng.count(users, epsilon=80.0)  # scale 0.05: essentially exact
    assert res.value == pytest.approx(44, abs=1)


def test_same_seed_same_calibration_and_selection() -> None:
    users = _users(30, 5)
    a = DPEngine(epsilon_total=5.0, max_sessions_per_user=2, seed=11)
    b = DPEngine(epsilon_total=5.0, max_sessions_per_user=2, seed=11)
    assert a.bound(users) == b.bound(users)
    ra, rb = a.count(users, epsilon=1.0), b.count(users, epsilon=1.0)
    assert (ra.scale, ra.epsilon, ra.ci_high - ra.ci_low) == (rb.scale, rb.epsilon, rb.ci_high - rb.ci_low)


# -- histogram and mean -----------------------------------------------------------------------------


def test_histogram_over_fixed_categories() -> None:
    values = ["fix"] * 60 + ["build"] * 30 + ["weird"] * 5
    users = [f"u{i}" for i in range(len(values))]
    eng = DPEngine(epsilon_total=200.0, max_sessions_per_user=1)
    h = eng.histogram(values, users, ["build", "fix", "plan", "test"], epsilon=100.0)
    assert h.categories == ("build", "fix", "plan", "test")
    d = h.as_dict()
    assert set(d) == {"build", "fix", "plan", "test"}  # empty categories are present, not dropped
    assert d["fix"] == pytest.approx(60, abs=1) and d["build"] == pytest.approx(30, abs=1)
    assert d["plan"] == pytest.approx(0, abs=1) and h.other == pytest.approx(5, abs=1)
    with pytest.raises(ValueError):
        eng.histogram(["a"], ["u"], ["a", "a"], epsilon=1.0)


def test_mean_is_clamped_and_interval_contains_it() -> None:
    rng = np.random.default_rng(0)
    values = list(rng.uniform(0, 10, 400)) + [1e9]  # one outlier, clamped to the bound
    users = [f"u{i}" for i in range(len(values))]
    eng = DPEngine(epsilon_total=100.0, max_sessions_per_user=1)
    res = eng.mean(values, 0.0, 10.0, users, epsilon=50.0)
    true = float(np.mean(np.clip(values, 0, 10)))
    assert res.value == pytest.approx(true, abs=0.2)
    assert 0.0 <= res.ci_low <= res.value <= res.ci_high <= 10.0
    wide = DPEngine(epsilon_total=1.0, max_sessions_per_user=1).mean(values, 0.0, 10.0, users, epsilon=0.2)
    assert (wide.ci_high - wide.ci_low) > (res.ci_high - res.ci_low)
    with pytest.raises(ValueError):
        eng.mean(values, 5.0, 5.0, users, epsilon=1.0)


# -- ledger -----------------------------------------------------------------------------------------


def test_budget_exhaustion_refuses_and_records_nothing() -> None:
    eng = DPEngine(epsilon_total=1.0, max_sessions_per_user=1, dataset="team-a")
    users = _users(10, 1)
    eng.count(users, epsilon=0.4, query="sessions")
    eng.histogram(["x"] * 10, users, ["x", "y"], epsilon=0.4, query="modes")
    assert eng.remaining()[0] == pytest.approx(0.2)
    with pytest.raises(BudgetExceeded, match="team-a"):
        eng.count(users, epsilon=0.3, query="too much")
    assert [e["query"] for e in eng.ledger.entries("team-a")] == ["sessions", "modes"]
    eng.count(users, epsilon=0.2, query="last")  # exactly the rest still fits
    with pytest.raises(BudgetExceeded):
        eng.count(users, epsilon=0.01)


def test_ledger_persists_in_duckdb(tmp_path: Path) -> None:
    db = tmp_path / "ledger.duckdb"
    led = PrivacyLedger(db)
    eng = DPEngine(epsilon_total=1.0, ledger=led, dataset="d1")
    eng.count(_users(5, 1), epsilon=0.7, query="q1")
    led.con.close()
    led2 = PrivacyLedger(db)
    assert led2.spent("d1") == pytest.approx((0.7, 0.0))
    eng2 = DPEngine(epsilon_total=1.0, ledger=led2, dataset="d1")
    with pytest.raises(BudgetExceeded):
        eng2.count(_users(5, 1), epsilon=0.5)
    with pytest.raises(ValueError, match="already has a privacy budget"):
        DPEngine(epsilon_total=5.0, ledger=led2, dataset="d1")
    cols = [r[0] for r in led2.con.execute("DESCRIBE privacy_ledger").fetchall()]
    assert cols == ["dataset", "query", "epsilon", "delta", "mechanism", "at"]
    led2.con.close()


def test_ledger_on_the_project_store(store) -> None:  # type: ignore[no-untyped-def]
    led = PrivacyLedger(store)
    eng = DPEngine(epsilon_total=2.0, delta=1e-6, ledger=led, dataset="sessions")
    eng.count(_users(5, 1), epsilon=0.5, mechanism="gaussian", query="g")
    assert store.table_exists("privacy_ledger")
    rows = store.query("SELECT dataset, query, mechanism, delta FROM privacy_ledger").to_pylist()
    assert rows == [
        {"dataset": "sessions", "query": "g", "mechanism": "gaussian:count", "delta": pytest.approx(1e-6)}
    ]


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        DPEngine(epsilon_total=0)
    with pytest.raises(ValueError):
        DPEngine(epsilon_total=1.0, max_sessions_per_user=0)
    with pytest.raises(ValueError):
        DPEngine(epsilon_total=1.0, mechanism="exponential")
    with pytest.raises(ValueError):
        DPEngine(epsilon_total=1.0).count(["a"], epsilon=-1.0)


def test_ledger_entries_with_one_timestamp_keep_their_order() -> None:
    """A report's refund rows share one timestamp, and entries() ordered by it alone: their order was unspecified.
    Listed in the order written, seen on a table of several row groups read by 2 threads (at a ledger's usual size
    DuckDB happened to keep it)."""
    led = PrivacyLedger(None)
    led.con.execute("SET threads = 2")
    n = 300_000  # more than two row groups (122,880 rows each)
    led.con.execute(f"""INSERT INTO {led.TABLE} SELECT 'd', 'refund of q' || lpad(i::VARCHAR, 6, '0'), -0.001, 0,
                        'laplace', TIMESTAMPTZ '2026-01-02 03:04:05+00' FROM range({n}) t(i)""")
    queries = [e["query"] for e in led.entries("d")]
    assert queries == [f"refund of q{i:06d}" for i in range(n)]
