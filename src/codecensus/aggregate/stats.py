"""Statistics for released figures: sessions are nested in users.

- :class:`UserBootstrap`: a user-clustered bootstrap. Users (not sessions) are
  resampled with replacement, ``B`` times, once per report; every figure reuses
  the same replicates, so derived quantities (an index over months, a
  difference against software occupations, a reweighted trend) get consistent
  intervals. Sums per cell are one sparse-matrix product per chunk of
  replicates, so 400K sessions at B=200 take about a second.
- :func:`wilson`: the Wilson score interval, used for a share when every user in
  the cell contributed exactly one session (no clustering to account for), and
  as a conservative interval (n = users) when a bootstrap share is 0 or 1.
- :func:`index_series` and :func:`reweighted_means`: monthly trends as an index
  (first month = 100), with and without direct standardisation to a fixed
  work-mode mix.
- :func:`success_regression`: a linear probability model (and a logit check) of
  strict success on expertise with controls and user-clustered standard errors.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
SessionArray = npt.NDArray[np.int32] | npt.NDArray[np.int64]  # row indices of sessions

Z95 = 1.959963984540054
DEFAULT_B = 200


def wilson(k: npt.ArrayLike, n: npt.ArrayLike, z: float = Z95) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for k successes out of n (vectorised; n = 0 gives NaN)."""
    k_arr = np.asarray(k, dtype=np.float64)
    n_arr = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k_arr / n_arr
        z2 = z * z
        denom = 1.0 + z2 / n_arr
        centre = (p + z2 / (2 * n_arr)) / denom
        half = z * np.sqrt(p * (1 - p) / n_arr + z2 / (4 * n_arr * n_arr)) / denom
    lo = np.where(k_arr <= 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    hi = np.where(k_arr >= n_arr, 1.0, np.clip(centre + half, 0.0, 1.0))
    lo = np.where(n_arr > 0, lo, np.nan)
    hi = np.where(n_arr > 0, hi, np.nan)
    return lo, hi


def percentile_ci(reps: FloatArray, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Percentile interval of bootstrap replicates along axis 0 (NaN replicates ignored)."""
    a = (1 - level) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN
        lo = np.nanpercentile(reps, a, axis=0)
        hi = np.nanpercentile(reps, 100 - a, axis=0)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


@dataclass(slots=True)
class CellSums:
    """Sums of a value per cell: the estimate and its bootstrap replicates."""

    est: FloatArray  # (K,)
    reps: FloatArray  # (B, K)


@dataclass(slots=True)
class Estimate:
    """A statistic per cell with its interval and the population behind it."""

    est: FloatArray
    reps: FloatArray
    n_sessions: IntArray
    n_users: IntArray
    ci_method: list[str] = field(default_factory=list)
    num: FloatArray | None = None  # point counts behind a share (for Wilson)
    den: FloatArray | None = None
    den_users: IntArray | None = None  # resampled units (users; sessions in individual mode) behind each denominator
    group: IntArray | None = None  # the group (denominator) index of each share cell
    units: IntArray | None = None  # resampled units (users; sessions in individual mode) behind a mean or quantile
    # each cell's users (as user codes): complementary suppression counts the distinct users of withheld cells
    users: list[frozenset[int]] | None = None
    # each cell's sessions (row indices of the bootstrap's sessions, sorted) and, for a share, its group's: the
    # report's final audit counts the distinct users of what released counts give by subtraction
    # (:meth:`UserBootstrap.cell_sessions`); None over rows that are not sessions (user-weeks)
    sessions: list[SessionArray] | None = None
    den_sessions: list[SessionArray] | None = None

    def ci(self, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
        """Percentile bootstrap interval; for shares, Wilson where marked and at 0 or 1.

        A share of exactly 0 or 1 has a degenerate bootstrap (every replicate
        agrees), so it gets a Wilson interval with the users as the sample
        size, which is conservative under clustering. ``ci_method`` is updated.
        A mean or quantile over fewer than two resampled units has no interval
        (NaN): every replicate that draws its one unit repeats the estimate, so the
        bootstrap would show it as exact.
        """
        lo, hi = percentile_ci(self.reps, level)
        if self.num is None or self.den is None:
            if self.units is not None:
                one = self.units < 2
                lo[one], hi[one] = np.nan, np.nan
                for k in np.flatnonzero(one & (self.units > 0)):
                    self.ci_method[k] = "no interval (one unit)"
            return lo, hi
        z = _z(level)
        for k in range(len(self.est)):
            den_k = float(self.den[k])
            if den_k <= 0 or not np.isfinite(self.est[k]):
                continue
            if self.ci_method[k] == "wilson":
                a, b = wilson(self.num[k], den_k, z)
            elif self.est[k] in (0.0, 1.0):
                users = float(self.den_users[k]) if self.den_users is not None else den_k
                n_eff = max(1.0, min(den_k, users))
                a, b = wilson(self.est[k] * n_eff, n_eff, z)
                self.ci_method[k] = "wilson on units (degenerate bootstrap)"
            else:
                continue
            lo[k], hi[k] = float(a), float(b)
        return lo, hi


class UserBootstrap:
    """User-clustered bootstrap replicates shared by every figure of one report.

    ``users`` holds one user id per session (any hashable; ``None`` counts as
    one user per session, since nothing ties such sessions together).
    Replicate ``b`` draws ``U`` users with replacement; ``counts[b, u]`` is how
    many times user ``u`` was drawn (stored as uint8: a multinomial count of U
    draws over U users practically never exceeds 20).
    """

    def __init__(self, users: Sequence[Any] | npt.NDArray[Any], *, B: int = DEFAULT_B, seed: int = 0,
                 chunk: int = 50, resample_sessions: bool = False) -> None:
        raw = pd.Series(np.asarray(users, dtype=object))
        missing = raw.isna().to_numpy()
        if missing.any():
            raw = raw.copy()
            raw[missing] = [f"__session_{i}" for i in np.flatnonzero(missing)]
        codes, uniques = pd.factorize(raw, sort=False)
        self._users = pd.Index(uniques)
        self.codes: IntArray = codes.astype(np.int64)  # user of each row: for counting users
        self.n: int = len(self.codes)
        self.session_rows = True  # rows are sessions (a derived bootstrap's rows may be user-weeks)
        self.U: int = len(uniques)
        # what is resampled: users (default) or, for one person's own data, sessions
        self.resample_sessions = bool(resample_sessions)
        self.method = "session bootstrap (individual mode)" if resample_sessions else "user-clustered bootstrap"
        self.units: IntArray = np.arange(self.n, dtype=np.int64) if resample_sessions else self.codes
        self.n_units: int = self.n if resample_sessions else self.U
        self.B = int(B)
        self.seed = int(seed)
        self.chunk = max(1, int(chunk))
        rng = np.random.default_rng(seed)
        # stored per chunk of replicates, users x replicates, contiguous: the layout the products want
        self._chunks: list[npt.NDArray[np.uint8]] = []
        for b0 in range(0, self.B, self.chunk):
            b1 = min(self.B, b0 + self.chunk)
            nu = self.n_units
            draws = rng.integers(0, nu, size=(b1 - b0, nu), dtype=np.int64)
            draws += (np.arange(b1 - b0, dtype=np.int64) * nu)[:, None]
            c = np.bincount(draws.ravel(), minlength=(b1 - b0) * nu).reshape(b1 - b0, nu)
            self._chunks.append(np.ascontiguousarray(np.minimum(c, 255).T, dtype=np.uint8))

    def derive(self, users: Sequence[Any] | npt.NDArray[Any]) -> UserBootstrap:
        """The same replicates over another set of rows (e.g. user-weeks) of the same users.

        Every user in ``users`` must be one of this bootstrap's users.
        """
        if self.resample_sessions:  # rows are the resampled units: a fresh bootstrap over them
            return UserBootstrap(users, B=self.B, seed=self.seed, chunk=self.chunk, resample_sessions=True)
        codes = self._users.get_indexer(pd.Index(np.asarray(users, dtype=object)))
        if (codes < 0).any():
            raise KeyError("derive(): rows of users unknown to this bootstrap")
        other = object.__new__(UserBootstrap)
        other.resample_sessions = False
        other.method = self.method
        other.units = codes.astype(np.int64)
        other.n_units = self.U
        other._users = self._users
        other.codes = codes.astype(np.int64)
        other.n = len(codes)
        other.session_rows = False
        other.U = self.U
        other.B = self.B
        other.seed = self.seed
        other.chunk = self.chunk
        other._chunks = self._chunks
        return other

    @property
    def counts(self) -> npt.NDArray[np.uint8]:
        """Draw counts, replicates x resampled units (users, or sessions)."""
        return np.concatenate([c.T for c in self._chunks], axis=0)

    # -- building blocks ---------------------------------------------------------------
    def _matrix(self, cell: IntArray, values: FloatArray, K: int) -> sparse.csr_matrix:
        ok = (cell >= 0) & np.isfinite(values)
        return sparse.csr_matrix(
            (values[ok], (cell[ok], self.units[ok])), shape=(K, self.n_units), dtype=np.float64
        )

    def sums(self, cell: npt.ArrayLike, values: npt.ArrayLike | float, K: int) -> CellSums:
        """Sum of ``values`` per cell (cell < 0 or a non-finite value: left out)."""
        cell_a = np.asarray(cell, dtype=np.int64)
        vals = np.broadcast_to(np.asarray(values, dtype=np.float64), cell_a.shape)
        M = self._matrix(cell_a, vals, K)
        est = np.asarray(M.sum(axis=1)).ravel()
        reps = np.empty((self.B, K), dtype=np.float64)
        m32 = M.astype(np.float32)  # replicate sums in float32: ample for percentile intervals
        b0 = 0
        for c in self._chunks:
            b1 = b0 + c.shape[1]
            reps[b0:b1] = (m32 @ c.astype(np.float32)).T
            b0 = b1
        return CellSums(est, reps)

    def _cell_user_matrix(self, cell: npt.ArrayLike, K: int, valid: npt.ArrayLike | None = None,
                          ) -> tuple[IntArray, sparse.csr_matrix]:
        cell_a = np.asarray(cell, dtype=np.int64)
        ok = cell_a >= 0
        if valid is not None:
            ok &= np.asarray(valid, dtype=bool)
        n_sessions = np.bincount(cell_a[ok], minlength=K).astype(np.int64)
        m = sparse.csr_matrix(
            (np.ones(int(ok.sum()), dtype=np.int8), (cell_a[ok], self.codes[ok])), shape=(K, self.U)
        )
        m.sum_duplicates()
        return n_sessions[:K], m

    def population(self, cell: npt.ArrayLike, K: int, valid: npt.ArrayLike | None = None) -> tuple[IntArray, IntArray]:
        """Sessions and distinct users per cell."""
        n_sessions, m = self._cell_user_matrix(cell, K, valid)
        return n_sessions, np.diff(m.indptr).astype(np.int64)[:K]

    def population_users(self, cell: npt.ArrayLike, K: int, valid: npt.ArrayLike | None = None,
                         ) -> tuple[IntArray, IntArray, list[frozenset[int]]]:
        """:meth:`population` and the users (as codes) of each cell: the withheld cells of a partition pass the user
        threshold on the distinct users of their union (:func:`codecensus.aggregate.privacy.apply_release_policy`)."""
        n_sessions, m = self._cell_user_matrix(cell, K, valid)
        users = [frozenset(m.indices[m.indptr[k]:m.indptr[k + 1]].tolist()) for k in range(K)]
        return n_sessions, np.diff(m.indptr).astype(np.int64)[:K], users

    def cell_sessions(self, cell: npt.ArrayLike, K: int, valid: npt.ArrayLike | None = None,
                      ) -> list[SessionArray] | None:
        """The sessions (row indices, ascending) of each of ``K`` cells, as views of one int32 array (4 bytes a
        session counted, however many cells); None when the rows are not sessions (:meth:`derive`). The report's
        final audit counts the distinct users (``codes``) of differences of released cells with them."""
        if not self.session_rows:
            return None
        cell_a = np.asarray(cell, dtype=np.int64)
        ok = (cell_a >= 0) & (cell_a < K)
        if valid is not None:
            ok &= np.asarray(valid, dtype=bool)
        idx = np.flatnonzero(ok).astype(np.int32 if self.n < 2**31 else np.int64)
        c = cell_a[idx]
        order = np.argsort(c, kind="stable")  # stable: each cell's indices stay ascending
        idx = idx[order]
        bounds = np.concatenate([[0], np.cumsum(np.bincount(c, minlength=K)[:K])])
        return [idx[bounds[k]:bounds[k + 1]] for k in range(K)]

    # -- statistics --------------------------------------------------------------------
    def mean(self, cell: npt.ArrayLike, values: npt.ArrayLike, K: int) -> Estimate:
        """Mean of ``values`` over the sessions of each cell (NaN values left out)."""
        cell_a = np.asarray(cell, dtype=np.int64)
        vals = np.asarray(values, dtype=np.float64)
        valid = np.isfinite(vals)
        num = self.sums(cell_a, vals, K)
        den = self.sums(np.where(valid, cell_a, -1), 1.0, K)
        n_s, n_u, users = self.population_users(cell_a, K, valid)
        est, reps = _ratio(num, den)
        return Estimate(est, reps, n_s, n_u, [self.method] * K, units=n_s if self.resample_sessions else n_u,
                        users=users, sessions=self.cell_sessions(cell_a, K, valid))

    def shares(self, group: npt.ArrayLike, category: npt.ArrayLike, n_groups: int, n_cats: int) -> Estimate:
        """Share of each category within each group; cells are ``group * n_cats + category``.

        Sessions with group < 0 are left out; sessions with category < 0 count in
        the denominator only (e.g. ``unclear`` outcomes when shares are over all sessions).
        The population of a cell is its numerator: the sessions in that category.
        Where every user of a group has exactly one session there is no
        clustering, and the interval is Wilson's.
        """
        g = np.asarray(group, dtype=np.int64)
        c = np.asarray(category, dtype=np.int64)
        K = n_groups * n_cats
        cell = np.where((g >= 0) & (c >= 0), g * n_cats + c, -1)
        num = self.sums(cell, 1.0, K)
        den = self.sums(g, 1.0, n_groups)
        den_full = CellSums(np.repeat(den.est, n_cats), np.repeat(den.reps, n_cats, axis=1))
        n_s, n_u, users = self.population_users(cell, K)
        gs, gu = self.population(g, n_groups)
        one_each = np.repeat((gs > 0) & (gs == gu), n_cats)
        est, reps = _ratio(num, den_full)
        methods = ["wilson" if one_each[k] else self.method for k in range(K)]
        # the units a degenerate (0 or 1) share's Wilson interval counts: the users, or in individual mode the sessions
        units = gs if self.resample_sessions else gu
        sessions = self.cell_sessions(cell, K)
        groups = self.cell_sessions(g, n_groups)
        return Estimate(est, reps, n_s, n_u, methods, num=num.est, den=den_full.est, den_users=np.repeat(units, n_cats),
                        group=np.repeat(np.arange(n_groups, dtype=np.int64), n_cats), users=users, sessions=sessions,
                        den_sessions=None if groups is None else [groups[k // n_cats] for k in range(K)])

    def quantile(self, cell: npt.ArrayLike, values: npt.ArrayLike, K: int, q: float = 0.5) -> Estimate:
        """Weighted quantile per cell; each replicate weights a session by its user's draw count."""
        cell_a = np.asarray(cell, dtype=np.int64)
        vals = np.asarray(values, dtype=np.float64)
        valid = np.isfinite(vals) & (cell_a >= 0)
        n_s, n_u, users = self.population_users(cell_a, K, valid)
        est = np.full(K, np.nan)
        reps = np.full((self.B, K), np.nan)
        for k in range(K):
            idx = np.flatnonzero(valid & (cell_a == k))
            if len(idx) == 0:
                continue
            order = np.argsort(vals[idx], kind="stable")
            v = vals[idx][order]
            u = self.units[idx][order]
            est[k] = _weighted_quantile(v, np.ones((1, len(v))), q)[0]
            b0 = 0
            for c in self._chunks:
                b1 = b0 + c.shape[1]
                reps[b0:b1, k] = _count_weighted_quantile(v, c[u], q)
                b0 = b1
        return Estimate(est, reps, n_s, n_u, [self.method] * K, units=n_s if self.resample_sessions else n_u,
                        users=users, sessions=self.cell_sessions(cell_a, K, valid))


def _ratio(num: CellSums, den: CellSums) -> tuple[FloatArray, FloatArray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.where(den.est > 0, num.est / den.est, np.nan)
        reps = np.where(den.reps > 0, num.reps / den.reps, np.nan)
    return est, reps


def _weighted_quantile(sorted_values: FloatArray, weights: FloatArray, q: float) -> FloatArray:
    """Quantile of sorted values under each row of weights; the median of an even count is the mean of the two
    middle values (see ``_at_cumulative``)."""
    cw = np.cumsum(weights, axis=1)
    total = cw[:, -1]
    return _at_cumulative(sorted_values, cw, total, q * total)


def _count_weighted_quantile(sorted_values: FloatArray, counts: npt.NDArray[np.uint8], q: float) -> FloatArray:
    """``_weighted_quantile`` for integer weights given sessions x replicates (a chunk's draw counts, gathered).

    The same positions as the float32 cumulative sums of the float32 weights: integer sums are exact (below 2**24,
    where float32 is too), and the target is the same float32 product. Summed as int32 from a uint8 copy, not as
    float32 (34 against 138 ms for 400K sessions x 50 replicates; 3.7 s of a 400K-session report went here).
    """
    cw = np.cumsum(np.ascontiguousarray(counts.T), axis=1, dtype=np.int32)
    total = cw[:, -1].astype(np.float32)
    return _at_cumulative(sorted_values, cw, total, np.float32(q) * total)  # float32, as q * (float32 sums) is


def _at_cumulative(sorted_values: FloatArray, cw: np.ndarray, total: np.ndarray, target: np.ndarray) -> FloatArray:
    """Per row of cumulative weights ``cw``: the value whose cumulative weight reaches ``target``, or, when the target
    falls exactly between two values, their mean (NaN when the row weighs nothing).

    At q = 0.5 this is the conventional median: the middle value of an odd count, the mean of the two middle values
    of an even one. It took the lower of the two: the report showed a median of $81 for values whose median is $86.
    Nothing in the release rules needs the median to be an observed value (they judge a cell by its sessions and
    users, whatever the statistic), and an observed value is one session's own number.
    """
    last = len(sorted_values) - 1
    lo = np.array([np.searchsorted(cw[i], target[i], side="left") for i in range(cw.shape[0])], dtype=np.int64)
    hi = np.array([np.searchsorted(cw[i], target[i], side="right") for i in range(cw.shape[0])], dtype=np.int64)
    v = sorted_values.astype(np.float64)
    out = (v[np.minimum(lo, last)] + v[np.minimum(hi, last)]) / 2
    out[total <= 0] = np.nan
    return out


def _z(level: float) -> float:
    return Z95 if level == 0.95 else NormalDist().inv_cdf(0.5 + level / 2)


# --- trends -------------------------------------------------------------------------------


def index_series(est: FloatArray, reps: FloatArray, base: int | None = None) -> tuple[FloatArray, FloatArray, int]:
    """An index over an ordered series: base position = 100 (default: the first finite estimate).

    Each replicate is divided by its own base, so the interval reflects the
    uncertainty of the ratio. Returns (index, index replicates, base position).
    """
    if base is None:
        finite = np.flatnonzero(np.isfinite(est))
        if not len(finite):
            return np.full_like(est, np.nan), np.full_like(reps, np.nan), -1
        base = int(finite[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        idx = 100.0 * est / est[base]
        idx_reps = 100.0 * reps / reps[:, [base]]
    return idx, idx_reps, base


def reweighted_means(
    cell_means: FloatArray, cell_reps: FloatArray, n_periods: int, n_strata: int, weights: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Direct standardisation: per period, Σ_s w_s · mean(period, s) over strata present, renormalised.

    ``cell_means`` is laid out ``period * n_strata + stratum``; ``weights`` is the
    fixed reference mix (e.g. the work-mode mix over the whole date range). A
    stratum absent from a period (NaN mean) is left out and the remaining
    weights renormalised.
    """
    w = np.asarray(weights, dtype=np.float64)
    m = cell_means.reshape(n_periods, n_strata)
    r = cell_reps.reshape(cell_reps.shape[0], n_periods, n_strata)
    present = np.isfinite(m)
    wp = np.where(present, w[None, :], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.nansum(np.where(present, m, 0.0) * w[None, :], axis=1) / wp.sum(axis=1)
        rep_present = np.isfinite(r)
        rw = np.where(rep_present, w[None, None, :], 0.0)
        reps = np.sum(np.where(rep_present, r, 0.0) * w[None, None, :], axis=2) / rw.sum(axis=2)
    est = np.where(wp.sum(axis=1) > 0, est, np.nan)
    return est, reps


# --- regression ---------------------------------------------------------------------------


@dataclass(slots=True)
class RegressionResult:
    """Strict success on expertise with controls, user-clustered SEs."""

    table: pd.DataFrame  # term, label, estimate_pp, ci_low_pp, ci_high_pp, p_value, odds_ratio, n_sessions, n_users
    n_sessions: int
    n_users: int
    controls: list[str]
    dropped_controls: list[str]
    r2: float
    logit_ok: bool
    notes: list[str]
    clustered: bool = True


def _design(df: pd.DataFrame, treatment: str, treat_levels: list[Any], controls: list[str],
            min_level_n: int, reference: Any) -> tuple[pd.DataFrame, list[str], list[str]]:
    parts = [pd.Series(1.0, index=df.index, name="const")]
    for lv in treat_levels:
        if lv == reference:
            continue
        parts.append((df[treatment] == lv).astype(float).rename(f"{treatment}={lv}"))
    used, dropped = [], []
    for c in controls:
        col = df[c].astype("string").fillna("missing")
        counts = col.value_counts()
        rare = counts[counts < min_level_n].index
        if len(rare):
            col = col.where(~col.isin(rare), "other")
        levels = sorted(col.unique())
        if len(levels) < 2:
            dropped.append(c)
            continue
        ref = col.value_counts().idxmax()
        for lv in levels:
            if lv == ref:
                continue
            parts.append((col == lv).astype(float).rename(f"{c}={lv}"))
        used.append(c)
    X = pd.concat(parts, axis=1)
    # drop all-zero / duplicate columns (e.g. a control level that equals a treatment level)
    X = X.loc[:, (X.std(ddof=0) > 0) | (X.columns == "const")]
    seen: set[bytes] = set()
    keep = []
    for c in X.columns:  # drop duplicate columns (hashing each column is far cheaper than X.T.duplicated())
        key = np.ascontiguousarray(X[c].to_numpy(dtype=np.float64)).tobytes()
        keep.append(key not in seen)
        seen.add(key)
    X = X.loc[:, keep]
    return X, used, dropped


# A dummy's logit coefficient beyond +-10 (an odds ratio beyond ~22,000): the outcome is (quasi-)separated by it,
# and the estimate only grows with more iterations (the per-session fit ran out of its 200 at 400K sessions).
SEPARATED = 10.0


def logit_fit(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, bool]:
    """Logit estimates of ``y`` (0/1) on ``X``, and whether the fit converged.

    Fitted on the distinct rows of ``X`` with their counts of sessions and successes (a binomial GLM): the
    likelihood is the same as that of a logit on every session, so are its estimates (to the optimiser's
    tolerance, ~1e-8), at a fraction of the cost. ``X`` holds only dummies, so 400K generated sessions have a
    few thousand distinct rows; the per-session logit's Newton steps took 14 of the report's 32 s there.
    """
    import statsmodels.api as sm

    rows = np.ascontiguousarray(X, dtype=np.float64)
    _, first, inv = np.unique(rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel(),
                              return_index=True, return_inverse=True)
    inv = inv.ravel()
    trials = np.bincount(inv, minlength=len(first)).astype(np.float64)
    succ = np.bincount(inv, weights=np.asarray(y, dtype=np.float64), minlength=len(first))
    fit = sm.GLM(np.column_stack([succ, trials - succ]), rows[first], family=sm.families.Binomial()).fit(maxiter=200)
    return np.asarray(fit.params, dtype=np.float64), bool(fit.converged)


def success_regression(
    df: pd.DataFrame,
    *,
    outcome: str = "strict",
    treatment: str = "expertise",
    user: str = "user",
    controls: Sequence[str] = ("mode", "month", "occupation", "value_band"),
    min_level_n: int = 10,
    cluster: bool = True,
    min_clusters: int = 20,
) -> RegressionResult | None:
    """Linear probability model of ``outcome`` (0/1) on ``treatment`` levels.

    The reference level is the lowest with at least ``min_level_n`` sessions.

    Controls are categorical; their levels with fewer than ``min_level_n``
    sessions are pooled into ``other``; a control with one level is dropped.
    Standard errors are clustered by user (statsmodels ``cov_type="cluster"``);
    with ``cluster=False`` (one person's data) or fewer than ``min_clusters``
    users, heteroskedasticity-robust HC1 errors are used instead and a note says so.
    A logit with the same design and clustering is fitted as a check and its
    odds ratios reported beside the percentage-point effects. Returns None when
    fewer than two treatment levels or two users are present.
    """
    import statsmodels.api as sm

    d = df.dropna(subset=[outcome, treatment]).copy()
    d = d[d[user].notna()]
    levels = sorted(d[treatment].unique().tolist())
    if len(levels) < 2 or d[user].nunique() < 2:
        return None
    counts = d[treatment].value_counts()
    # the reference is the lowest level with enough sessions (a handful of novices makes a poor baseline)
    reference = next((lv for lv in levels if counts.get(lv, 0) >= min_level_n), counts.idxmax())
    X, used, dropped = _design(d, treatment, levels, list(controls), min_level_n, reference)
    y = d[outcome].astype(float).to_numpy()
    groups = pd.factorize(d[user])[0]
    notes: list[str] = []
    use_cluster = cluster and int(groups.max()) + 1 >= min_clusters
    if cluster and not use_cluster:
        notes.append(f"fewer than {min_clusters} users: robust (HC1) standard errors instead of clustering by user")
    cov: dict[str, Any] = ({"cov_type": "cluster", "cov_kwds": {"groups": groups}} if use_cluster
                           else {"cov_type": "HC1"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ols = sm.OLS(y, X.to_numpy(), hasconst=True).fit(**cov)
    names = list(X.columns)
    params = pd.Series(ols.params, index=names)
    bse = pd.Series(ols.bse, index=names)
    pvals = pd.Series(ols.pvalues, index=names)
    ors: dict[str, float] = {}
    logit_ok = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lg_params, lg_converged = logit_fit(X.to_numpy(), y)
        if lg_converged and np.all(np.isfinite(lg_params)):
            lp = pd.Series(lg_params, index=names)
            ors = {k: float(math.exp(v)) if abs(v) <= SEPARATED else float("nan") for k, v in lp.items()}
            logit_ok = True
            sep = [k for k, v in lp.items() if abs(v) > SEPARATED and k != "const"]
            if sep:
                more = f" and {len(sep) - 4} more" if len(sep) > 4 else ""
                notes.append(f"in the logit check, {', '.join(sep[:4])}{more} predict the outcome (almost) perfectly: "
                             "their estimates diverge, so their odds ratios are omitted")
        else:
            notes.append("the logit check did not converge; odds ratios omitted")
    except Exception as exc:  # perfect separation, singular matrix
        notes.append(f"the logit check failed ({type(exc).__name__}); odds ratios omitted")
    z = Z95
    rows = []
    user_codes = d[user]
    for lv in levels:
        term = f"{treatment}={lv}"
        mask = d[treatment] == lv
        n_s = int(mask.sum())
        n_u = int(user_codes[mask].nunique())
        if lv == reference:
            rows.append({"term": term, "level": lv, "estimate_pp": 0.0, "ci_low_pp": np.nan, "ci_high_pp": np.nan,
                         "p_value": np.nan, "odds_ratio": 1.0, "n_sessions": n_s, "n_users": n_u, "reference": True})
            continue
        if term not in params:
            continue
        b, se = float(params[term]), float(bse[term])
        rows.append({"term": term, "level": lv, "estimate_pp": 100 * b, "ci_low_pp": 100 * (b - z * se),
                     "ci_high_pp": 100 * (b + z * se), "p_value": float(pvals[term]),
                     "odds_ratio": ors.get(term, np.nan), "n_sessions": n_s, "n_users": n_u, "reference": False})
    table = pd.DataFrame(rows)
    return RegressionResult(
        table=table,
        n_sessions=len(d),
        n_users=int(d[user].nunique()),
        controls=used,
        dropped_controls=dropped,
        r2=float(ols.rsquared),
        logit_ok=logit_ok,
        notes=notes,
        clustered=use_cluster,
    )


__all__ = [
    "DEFAULT_B",
    "CellSums",
    "Estimate",
    "RegressionResult",
    "UserBootstrap",
    "index_series",
    "logit_fit",
    "percentile_ci",
    "reweighted_means",
    "success_regression",
    "wilson",
]
