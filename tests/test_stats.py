"""Statistics behind the report: Wilson, the user-clustered bootstrap, indices, reweighting, regression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from codecensus.aggregate.stats import (
    UserBootstrap,
    index_series,
    logit_fit,
    percentile_ci,
    reweighted_means,
    success_regression,
    wilson,
)


def test_wilson_known_values() -> None:
    lo, hi = wilson(np.array([0, 5, 10]), np.array([10, 10, 10]))
    # textbook values for 95%: 0/10 -> (0, 0.2775), 5/10 -> (0.2366, 0.7634), 10/10 -> (0.7225, 1)
    assert lo[0] == 0.0 and hi[0] == pytest.approx(0.2775, abs=1e-4)
    assert (lo[1], hi[1]) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert lo[2] == pytest.approx(0.7225, abs=1e-4) and hi[2] == 1.0
    lo0, hi0 = wilson(np.array([0]), np.array([0]))
    assert np.isnan(lo0[0]) and np.isnan(hi0[0])


def test_bootstrap_point_estimates_match_direct_computation() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    users = rng.integers(0, 300, n)
    group = rng.integers(0, 4, n)
    cat = rng.integers(0, 5, n)
    vals = rng.normal(10, 3, n)
    bs = UserBootstrap(users, B=50, seed=1)
    e = bs.shares(group, cat, 4, 5)
    df = pd.DataFrame({"u": users, "g": group, "c": cat, "v": vals})
    direct = pd.crosstab(df.g, df.c, normalize="index").to_numpy().ravel()
    np.testing.assert_allclose(e.est, direct)
    np.testing.assert_array_equal(e.n_sessions, pd.crosstab(df.g, df.c).to_numpy().ravel())
    nu = df.groupby(["g", "c"]).u.nunique().to_numpy()
    np.testing.assert_array_equal(e.n_users, nu)
    m = bs.mean(group, vals, 4)
    np.testing.assert_allclose(m.est, df.groupby("g").v.mean().to_numpy())
    q = bs.quantile(group, vals, 4, 0.5)
    # the conventional median of each group (an even count: the mean of the two middle values)
    np.testing.assert_allclose(q.est, df.groupby("g").v.median().to_numpy())
    lo, hi = m.ci()
    assert np.all(lo < m.est) and np.all(m.est < hi)


def test_replicates_are_reproducible_and_cover_the_truth() -> None:
    rng = np.random.default_rng(3)
    users = rng.integers(0, 200, 2000)
    vals = rng.normal(5, 1, 2000)
    a = UserBootstrap(users, B=80, seed=7).mean(np.zeros(2000, int), vals, 1)
    b = UserBootstrap(users, B=80, seed=7).mean(np.zeros(2000, int), vals, 1)
    np.testing.assert_array_equal(a.reps, b.reps)
    lo, hi = a.ci()
    assert lo[0] < 5.0 < hi[0]


def test_clustered_interval_is_wider_than_naive_when_users_differ() -> None:
    """Sessions of a user share a user effect: resampling users must give a wider interval than sessions."""
    rng = np.random.default_rng(11)
    U, per = 60, 30
    users = np.repeat(np.arange(U), per)
    user_effect = rng.normal(0, 3, U)[users]
    vals = 10 + user_effect + rng.normal(0, 1, U * per)
    cell = np.zeros(U * per, dtype=int)
    clustered = UserBootstrap(users, B=200, seed=2).mean(cell, vals, 1)
    naive = UserBootstrap(users, B=200, seed=2, resample_sessions=True).mean(cell, vals, 1)
    c_lo, c_hi = clustered.ci()
    n_lo, n_hi = naive.ci()
    assert (c_hi - c_lo)[0] > 2.5 * (n_hi - n_lo)[0]
    # session resampling still counts distinct users
    assert naive.n_users[0] == U and naive.n_sessions[0] == U * per


def test_wilson_used_when_every_user_has_one_session_and_at_zero() -> None:
    users = np.arange(40)
    group = np.zeros(40, dtype=int)
    cat = np.r_[np.zeros(10, int), np.ones(30, int)]
    bs = UserBootstrap(users, B=50, seed=0)
    e = bs.shares(group, cat, 1, 3)
    lo, hi = e.ci()
    assert e.ci_method[0] == "wilson"
    w_lo, w_hi = wilson(np.array([10]), np.array([40]))
    assert lo[0] == pytest.approx(w_lo[0]) and hi[0] == pytest.approx(w_hi[0])
    # category 2 never occurs: share 0 with a non-degenerate upper bound
    assert e.est[2] == 0.0 and hi[2] > 0.0


def test_derive_reuses_replicates_for_user_level_rows() -> None:
    rng = np.random.default_rng(5)
    users = rng.integers(0, 50, 500).astype(str)
    bs = UserBootstrap(users, B=30, seed=4)
    uw = pd.DataFrame({"user": users, "x": rng.normal(size=500)}).groupby("user").x.sum().reset_index()
    d = bs.derive(uw["user"].to_numpy())
    est = d.mean(np.zeros(len(uw), int), uw["x"].to_numpy(), 1)
    assert est.est[0] == pytest.approx(uw["x"].mean())
    with pytest.raises(KeyError):
        bs.derive(np.array(["nobody"]))


def test_index_and_reweighting_known_answer() -> None:
    est = np.array([50.0, 60.0, 75.0])
    reps = np.tile(est, (10, 1)) * np.linspace(0.9, 1.1, 10)[:, None]
    idx, idx_reps, base = index_series(est, reps)
    assert base == 0
    np.testing.assert_allclose(idx, [100, 120, 150])
    # every replicate scaled by a constant: the index replicates do not move
    np.testing.assert_allclose(idx_reps, np.tile([100.0, 120.0, 150.0], (10, 1)))
    # two periods x two strata; means by stratum are constant, only the mix changes
    means = np.array([10.0, 20.0, 10.0, 20.0])
    r, _ = reweighted_means(means, np.tile(means, (5, 1)), 2, 2, np.array([0.5, 0.5]))
    np.testing.assert_allclose(r, [15.0, 15.0])
    # a stratum missing in a period: the other weights renormalise
    r2, _ = reweighted_means(np.array([10.0, np.nan, 10.0, 20.0]), np.tile([10.0, np.nan, 10.0, 20.0], (3, 1)),
                             2, 2, np.array([0.25, 0.75]))
    np.testing.assert_allclose(r2, [10.0, 17.5])


def test_reweighting_removes_a_pure_composition_trend() -> None:
    """Value rises only because the mix moves to a pricier mode: raw trend up, reweighted flat."""
    rng = np.random.default_rng(8)
    rows = []
    for t, share_b in enumerate([0.2, 0.5, 0.8]):
        for i in range(2000):
            mode = 1 if rng.random() < share_b else 0
            rows.append((f"u{t}-{i % 300}", t, mode, (300 if mode else 100) + rng.normal(0, 10)))
    df = pd.DataFrame(rows, columns=["user", "t", "mode", "v"])
    bs = UserBootstrap(df["user"].to_numpy(), B=40, seed=1)
    raw = bs.mean(df["t"].to_numpy(), df["v"].to_numpy(), 3)
    by = bs.mean((df["t"] * 2 + df["mode"]).to_numpy(), df["v"].to_numpy(), 6)
    w = np.bincount(df["mode"], minlength=2) / len(df)
    rw, rw_reps = reweighted_means(by.est, by.reps, 3, 2, w)
    raw_idx, _, _ = index_series(raw.est, raw.reps)
    rw_idx, rw_idx_reps, _ = index_series(rw, rw_reps)
    assert raw_idx[-1] > 180
    assert abs(rw_idx[-1] - 100) < 3
    lo, hi = percentile_ci(rw_idx_reps)
    assert lo[-1] < 100 < hi[-1] + 1


def _regression_data(seed: int, effect: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_users = 400
    skill = rng.integers(1, 6, n_users)
    user_fx = rng.normal(0, 0.08, n_users)
    rows = []
    for u in range(n_users):
        for _ in range(rng.integers(2, 12)):
            ex = int(np.clip(skill[u] + rng.integers(-1, 2), 1, 5))
            mode = rng.choice(["build", "fix", "operate"])
            p = 0.15 + effect * (ex - 1) / 4 + user_fx[u] + (0.05 if mode == "build" else 0)
            rows.append({"user": f"u{u}", "expertise": ex, "mode": mode, "month": rng.choice(["2026-01", "2026-02"]),
                         "occupation": rng.choice(["15", "13"]), "strict": float(rng.random() < np.clip(p, 0, 1))})
    return pd.DataFrame(rows)


def test_regression_recovers_a_planted_effect_with_clustered_errors() -> None:
    df = _regression_data(1, effect=0.20)
    res = success_regression(df, controls=("mode", "month", "occupation"))
    assert res is not None
    top = res.table[res.table["level"] == 5].iloc[0]
    assert top["ci_low_pp"] < 20 < top["ci_high_pp"]
    assert top["p_value"] < 0.001
    assert res.table[res.table["reference"]].iloc[0]["level"] == 1
    assert set(res.controls) == {"mode", "month", "occupation"}
    assert res.logit_ok and top["odds_ratio"] > 1
    # no effect planted: the interval covers zero
    null = success_regression(_regression_data(2, effect=0.0), controls=("mode",))
    assert null is not None
    z = null.table[null.table["level"] == 5].iloc[0]
    assert z["ci_low_pp"] < 0 < z["ci_high_pp"]


def test_regression_drops_single_level_controls_and_handles_degenerate_input() -> None:
    df = _regression_data(3, effect=0.1)
    df["occupation"] = "15"
    res = success_regression(df, controls=("mode", "occupation"))
    assert res is not None and res.dropped_controls == ["occupation"]
    assert success_regression(df[df["expertise"] == 3], controls=("mode",)) is None


def test_regression_reference_is_the_lowest_level_with_enough_sessions() -> None:
    df = _regression_data(4, effect=0.2)
    ones = df.index[df["expertise"] == 1]
    df = df.drop(ones[3:])  # three novice sessions left: too few for a baseline
    res = success_regression(df, controls=("mode",), min_level_n=10)
    assert res is not None
    ref = res.table[res.table["reference"]]
    assert list(ref["level"]) == [2] and ref.iloc[0]["estimate_pp"] == 0.0
    assert 1 in set(res.table["level"])  # the small level is still estimated, against level 2


def test_regression_without_enough_users_uses_robust_errors() -> None:
    df = _regression_data(5, effect=0.2)
    df["user"] = df["user"].map(lambda u: u if u in ("u1", "u2", "u3") else "u0")
    res = success_regression(df, controls=("mode",))
    assert res is not None and not res.clustered and any("HC1" in n for n in res.notes)
    assert success_regression(df, controls=("mode",), cluster=False).clustered is False  # type: ignore[union-attr]


def test_logit_on_distinct_rows_equals_the_logit_on_every_session() -> None:
    import statsmodels.api as sm

    df = _regression_data(5, effect=0.2)
    X = pd.get_dummies(df[["expertise", "mode", "month"]].astype(str), drop_first=True, dtype=float)
    X.insert(0, "const", 1.0)
    y = df["strict"].to_numpy()
    params, converged = logit_fit(X.to_numpy(), y)
    ref = sm.Logit(y, X.to_numpy()).fit(disp=0)
    assert converged and len(X) > 10 * len(np.unique(X.to_numpy(), axis=0))  # the data really were grouped
    np.testing.assert_allclose(params, ref.params, rtol=1e-6, atol=1e-8)


def test_a_control_that_separates_the_outcome_is_named_and_the_other_odds_ratios_kept() -> None:
    df = _regression_data(6, effect=0.2)
    df["occupation"] = np.where(np.arange(len(df)) % 9 == 0, "29", df["occupation"])
    df.loc[df["occupation"] == "29", "strict"] = 1.0  # every session of this level succeeds
    res = success_regression(df, controls=("mode", "occupation"))
    assert res is not None and res.logit_ok
    assert any("occupation=29" in n and "odds ratios are omitted" in n for n in res.notes)
    top = res.table[res.table["level"] == 5].iloc[0]
    assert np.isfinite(top["odds_ratio"]) and top["odds_ratio"] > 1


def test_degenerate_share_counts_the_resampled_units() -> None:
    """A share of exactly 1: Wilson on the users when users are resampled, on the sessions in individual mode."""
    from codecensus.aggregate.stats import UserBootstrap, wilson

    users = ["one person"] * 30
    group, cat = np.zeros(30, dtype=np.int64), np.zeros(30, dtype=np.int64)
    boot_c, boot_i = UserBootstrap(users, B=50, seed=1), UserBootstrap(users, B=50, seed=1, resample_sessions=True)
    clustered, individual = boot_c.shares(group, cat, 1, 2), boot_i.shares(group, cat, 1, 2)
    lo_c, _ = clustered.ci(0.95)
    lo_i, hi_i = individual.ci(0.95)
    assert clustered.est[0] == individual.est[0] == 1.0
    assert lo_c[0] == pytest.approx(float(wilson(1.0, 1.0, 1.959964)[0]))  # one user: hardly informative
    assert lo_i[0] == pytest.approx(float(wilson(30.0, 30.0, 1.959964)[0])) and lo_i[0] > 0.85 and hi_i[0] == 1.0
    assert boot_i.method == "session bootstrap (individual mode)" and boot_c.method == "user-clustered bootstrap"


def test_count_weighted_quantile_matches_the_float32_weights() -> None:
    """The replicates' quantiles from integer draw counts: the positions of the float32 cumulative sums, exactly."""
    from codecensus.aggregate.stats import _count_weighted_quantile, _weighted_quantile

    rng = np.random.default_rng(0)
    for trial in range(200):
        m = int(rng.integers(1, 300))
        v = np.sort(rng.integers(0, 15, m).astype(np.float64))  # ties
        counts = rng.integers(0, 4, size=(m, 50)).astype(np.uint8)
        if trial % 10 == 0:
            counts[:, ::3] = 0  # replicates that drew none of these sessions: NaN
        for q in (0.5, 0.1, 0.9, 0.25, 1 / 3):
            want = _weighted_quantile(v, counts.T.astype(np.float32), q)
            assert np.array_equal(_count_weighted_quantile(v, counts, q), want, equal_nan=True)


def test_median_of_an_even_count_is_the_mean_of_the_two_middle_values() -> None:
    """The report's medians took the lower middle value: $81 for sessions worth 70, 81, 91 and 120 (median $86)."""
    from codecensus.aggregate.stats import _count_weighted_quantile

    bs = UserBootstrap(["a", "b", "c", "d", "e", "f", "g"], B=30, seed=0)
    e = bs.quantile(np.array([0, 0, 0, 0, 1, 1, 1]), np.array([91.0, 70.0, 120.0, 81.0, 3.0, 1.0, 2.0]), 2, 0.5)
    assert e.est.tolist() == [86.0, 2.0]
    # the replicates too: a draw of the four values with counts (2, 1, 1, 0) is 70, 70, 81, 91 -> 75.5
    v = np.array([70.0, 81.0, 91.0, 120.0])
    counts = np.array([[2], [1], [1], [0]], dtype=np.uint8)
    assert _count_weighted_quantile(v, counts, 0.5).tolist() == [75.5]
