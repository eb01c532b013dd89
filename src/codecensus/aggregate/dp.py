"""Differential privacy for released figures, through OpenDP (optional formal-DP mode, cf. Urania).

Privacy unit: **one user**. Before any measurement every user's rows are capped at
``max_sessions_per_user`` (:func:`bound_contributions`: a deterministic, seeded choice, so the
same input and seed always keep the same sessions), so adding or removing one user changes at
most ``k`` rows and every OpenDP measurement is calibrated with ``d_in = k`` under the symmetric
distance.

Mechanisms (``mechanism=``):

- ``"laplace"``: pure ε-DP. Integer queries (counts, histograms) use OpenDP's discrete Laplace,
  float sums the continuous Laplace with OpenDP's floating-point-safe sensitivity.
- ``"gaussian"``: (ε, δ)-DP. Integer queries use the discrete Gaussian; the zCDP loss is converted
  with ``make_zCDP_to_approxDP`` and fixed at the query's δ. Needs ``delta > 0``.

The noise scale for a requested ε is found with ``dp.binary_search_param`` and the ε actually
charged is OpenDP's own privacy map of the final measurement (never more than requested).

Every release goes through a :class:`PrivacyLedger` (DuckDB table ``privacy_ledger``) that charges
the query against the dataset's budget (basic sequential composition: ε and δ add up) **before**
noise is drawn, and refuses it with :class:`BudgetExceeded` once the budget would be overspent.
The budget of a dataset is fixed on first use (table ``privacy_budget``); a later engine that
claims a different budget for the same dataset is refused.

Randomness: the noise comes from OpenDP's cryptographically secure sampler and **cannot be
seeded** (a seeded noise source would void the guarantee). ``seed`` makes the contribution
bounding deterministic; scales, charged ε and interval widths are deterministic too.

Confidence intervals are 95% intervals for the noise alone (they treat the bounded data as
fixed): ``value ± h`` where ``P(|noise| > h) ≤ 0.05`` for the mechanism and scale used (exact
for the discrete Laplace, 1.96σ for the Gaussian). Means combine a noisy clamped sum and a noisy
count, each at 97.5% (Bonferroni), into a conservative interval.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

Z95 = 1.959963984540054
Z975 = 2.241402727604947  # two-sided 97.5%: used for the two parts of a mean (Bonferroni)

MECHANISMS = ("laplace", "gaussian")


class BudgetExceeded(RuntimeError):
    """The query would spend more privacy budget than the dataset has left."""


# -- ledger -----------------------------------------------------------------------------------


class PrivacyLedger:
    """Append-only record of privacy spending per dataset, in DuckDB.

    ``target`` is a :class:`codecensus.store.Store`, a DuckDB connection, a database path, or
    ``None`` for a private in-memory database.
    """

    TABLE = "privacy_ledger"
    BUDGET_TABLE = "privacy_budget"

    def __init__(self, target: Any = None) -> None:
        if target is None:
            self.con = duckdb.connect(":memory:")
        elif isinstance(target, duckdb.DuckDBPyConnection):
            self.con = target
        elif isinstance(target, str | Path):
            self.con = duckdb.connect(str(target))
        elif hasattr(target, "con"):
            self.con = target.con
        else:
            raise TypeError(f"cannot use {type(target).__name__} as a ledger target")
        self._lock = threading.Lock()
        # what this ledger object charged: (dataset, query, ε, δ, mechanism), for :meth:`refund`
        self.charged: list[tuple[str, str, float, float, str]] = []
        # datasets whose budget this ledger object fixed (a refund of all their spending unsets it: :meth:`refund`)
        self.fixed_here: set[str] = set()
        self.con.execute(
            f"""CREATE TABLE IF NOT EXISTS {self.TABLE} (
                dataset VARCHAR, query VARCHAR, epsilon DOUBLE, delta DOUBLE,
                mechanism VARCHAR, "at" TIMESTAMPTZ)"""
        )
        self.con.execute(
            f"""CREATE TABLE IF NOT EXISTS {self.BUDGET_TABLE} (
                dataset VARCHAR PRIMARY KEY, epsilon_total DOUBLE, delta_total DOUBLE,
                created_at TIMESTAMPTZ)"""
        )

    def set_budget(self, dataset: str, epsilon_total: float, delta_total: float) -> None:
        """Fix a dataset's total budget (idempotent; a different value is refused)."""
        _check_budget_values(epsilon_total, delta_total)
        with self._lock:
            rows = self.con.execute(
                f"SELECT epsilon_total, delta_total FROM {self.BUDGET_TABLE} WHERE dataset = ?", [dataset]
            ).fetchall()
            row = rows[0] if rows else None
            if row is None:
                self.con.execute(
                    f"INSERT INTO {self.BUDGET_TABLE} VALUES (?, ?, ?, ?)",
                    [dataset, float(epsilon_total), float(delta_total), datetime.now(UTC)],
                )
                self.fixed_here.add(dataset)
                return
            if not (
                math.isclose(row[0], epsilon_total) and math.isclose(row[1], delta_total, abs_tol=1e-300)
            ):
                raise ValueError(
                    f"dataset {dataset!r} already has a privacy budget of ε={row[0]}, δ={row[1]}; "
                    f"refusing to change it to ε={epsilon_total}, δ={delta_total}"
                )

    def budget(self, dataset: str) -> tuple[float, float] | None:
        rows = self.con.execute(
            f"SELECT epsilon_total, delta_total FROM {self.BUDGET_TABLE} WHERE dataset = ?", [dataset]
        ).fetchall()  # fetchall: DuckDB 2 leaves a half-read result blocking the connection
        return (float(rows[0][0]), float(rows[0][1])) if rows else None

    def spent(self, dataset: str) -> tuple[float, float]:
        row = self.con.execute(
            f"SELECT coalesce(sum(epsilon), 0), coalesce(sum(delta), 0) FROM {self.TABLE} WHERE dataset = ?",
            [dataset],
        ).fetchall()[0]
        return float(row[0]), float(row[1])

    def remaining(self, dataset: str) -> tuple[float, float]:
        b = self.budget(dataset)
        if b is None:
            raise KeyError(f"no privacy budget set for dataset {dataset!r}")
        e, d = self.spent(dataset)
        return max(0.0, b[0] - e), max(0.0, b[1] - d)

    def charge(self, dataset: str, query: str, epsilon: float, delta: float, mechanism: str) -> None:
        """Record a release, or raise :class:`BudgetExceeded` (nothing recorded) if it does not fit."""
        if epsilon < 0 or delta < 0 or not math.isfinite(epsilon) or not math.isfinite(delta):
            raise ValueError("epsilon and delta must be finite and non-negative")
        with self._lock:
            self.con.execute("BEGIN TRANSACTION")
            try:
                b = self.budget(dataset)
                if b is None:
                    raise KeyError(f"no privacy budget set for dataset {dataset!r}")
                e, d = self.spent(dataset)
                tol = 1e-9
                if e + epsilon > b[0] * (1 + tol) + tol or d + delta > b[1] * (1 + tol) + 1e-15:
                    raise BudgetExceeded(
                        f"privacy budget of dataset {dataset!r} exhausted: spent ε={e:.4g}, δ={d:.3g} of "
                        f"ε={b[0]:.4g}, δ={b[1]:.3g}; query {query!r} needs ε={epsilon:.4g}, δ={delta:.3g}"
                    )
                self.con.execute(
                    f"INSERT INTO {self.TABLE} VALUES (?, ?, ?, ?, ?, ?)",
                    [dataset, query, float(epsilon), float(delta), mechanism, datetime.now(UTC)],
                )
                self.con.execute("COMMIT")
            except BaseException:
                from codecensus.store import rollback

                rollback(self.con)
                raise
            self.charged.append((dataset, query, float(epsilon), float(delta), mechanism))

    def refund(self, reason: str) -> None:
        """Give back, in one transaction, everything this ledger object charged: an entry of minus its ε and δ for
        each (the ledger stays append-only). Only for a release that is refused whatever the noise drew (nothing
        noisy left the process, and the refusal itself says nothing of the noise): any other refusal is a release
        of what decided it, and stays charged.

        The budget a dataset's first report fixed is unset with it when that report's refund leaves nothing spent
        on the dataset: the total is chosen once, by the first report a user gets, and a report refused whole gave
        nothing (a refused first ``--epsilon 1`` locked the budget at 1, so the next report could not ask for
        ``--epsilon-budget 3``). A budget that anything was spent from stays fixed."""
        if not self.charged:
            return
        with self._lock:
            self.con.execute("BEGIN TRANSACTION")
            try:
                now = datetime.now(UTC)
                for dataset, query, eps, delta, mech in self.charged:
                    self.con.execute(f"INSERT INTO {self.TABLE} VALUES (?, ?, ?, ?, ?, ?)",
                                     [dataset, f"refund of {query}: {reason}", -eps, -delta, mech, now])
                for dataset in sorted(self.fixed_here & {c[0] for c in self.charged}):
                    left = self.con.execute(
                        f"SELECT count(*) FILTER (WHERE epsilon > 0 OR delta > 0), coalesce(sum(epsilon), 0), "
                        f"coalesce(sum(delta), 0) FROM {self.TABLE} WHERE dataset = ?", [dataset]).fetchall()[0]
                    # nothing but this object's charges and their refunds (no earlier or other spending)
                    own = sum(1 for c in self.charged if c[0] == dataset and (c[2] > 0 or c[3] > 0))
                    if left[0] == own and abs(left[1]) <= 1e-9 and abs(left[2]) <= 1e-15:
                        self.con.execute(f"DELETE FROM {self.BUDGET_TABLE} WHERE dataset = ?", [dataset])
                        self.fixed_here.discard(dataset)
                self.con.execute("COMMIT")
            except BaseException:
                from codecensus.store import rollback

                rollback(self.con)
                raise
            self.charged = []

    def entries(self, dataset: str | None = None) -> list[dict[str, Any]]:
        sql = f'SELECT dataset, query, epsilon, delta, mechanism, "at" FROM {self.TABLE}'
        params: list[Any] = []
        if dataset is not None:
            sql += " WHERE dataset = ?"
            params.append(dataset)
        # rowid: rows with one "at" (a refund's, one per query it gives back) in the order written (the table is
        # append-only), not in whatever order a parallel sort leaves them
        rel = self.con.execute(sql + ' ORDER BY "at", rowid', params)
        cols = [c[0] for c in rel.description]
        return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def _check_budget_values(epsilon_total: float, delta_total: float) -> None:
    if not (epsilon_total > 0 and math.isfinite(epsilon_total)):
        raise ValueError("epsilon_total must be a positive finite number")
    if not (0 <= delta_total < 1):
        raise ValueError("delta must be in [0, 1)")


# -- contribution bounding -------------------------------------------------------------------------


def _rank_key(seed: int, user: Hashable, item: Hashable) -> bytes:
    return hashlib.blake2b(f"{seed}\x1f{user!r}\x1f{item!r}".encode(), digest_size=16).digest()


def bound_contributions(
    user_ids: Sequence[Hashable],
    max_per_user: int,
    *,
    seed: int = 0,
    session_ids: Sequence[Hashable] | None = None,
) -> list[int]:
    """Indices of the rows kept when each user contributes at most ``max_per_user`` rows.

    The rows of a user are ranked by a keyed hash of (seed, user, session id) and the first
    ``max_per_user`` are kept: a uniform-looking sample that is identical for the same seed and
    data. With ``session_ids`` the choice does not depend on row order; without them the
    occurrence number of the row within its user is used. Returned indices are sorted.
    """
    if max_per_user < 1:
        raise ValueError("max_per_user must be >= 1")
    if session_ids is not None and len(session_ids) != len(user_ids):
        raise ValueError("session_ids and user_ids differ in length")
    by_user: dict[Hashable, list[tuple[bytes, int]]] = defaultdict(list)
    seen: dict[Hashable, int] = defaultdict(int)
    for i, u in enumerate(user_ids):
        if session_ids is not None:
            item: Hashable = session_ids[i]
        else:
            item = seen[u]
            seen[u] += 1
        by_user[u].append((_rank_key(seed, u, item), i))
    kept: list[int] = []
    for rows in by_user.values():
        if len(rows) > max_per_user:
            rows.sort()
            rows = rows[:max_per_user]
        kept.extend(i for _, i in rows)
    kept.sort()
    return kept


# -- results --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DPResult:
    """One noisy statistic. ``ci_low``/``ci_high``: 95% interval from the noise distribution."""

    value: float
    epsilon: float
    delta: float
    mechanism: str
    scale: float
    ci_low: float
    ci_high: float
    query: str
    count: float | None = None  # a mean's noisy count (already paid for): what a release decision may read
    count_half_width: float | None = None  # the 95% half-width of that count's noise


@dataclass(frozen=True, slots=True)
class DPHistogram:
    """Noisy counts over a fixed category list (``other`` = values outside it)."""

    categories: tuple[str, ...]
    counts: tuple[float, ...]
    other: float
    epsilon: float
    delta: float
    mechanism: str
    scale: float
    half_width: float
    query: str
    ci_low: tuple[float, ...] = field(default=())
    ci_high: tuple[float, ...] = field(default=())

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.categories, self.counts, strict=True))


# -- engine ------------------------------------------------------------------------------------------


def _dp() -> Any:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


def laplace_half_width(scale: float, *, discrete: bool, alpha: float = 0.05) -> float:
    """Smallest h with P(|noise| > h) <= alpha for a (discrete) Laplace of the given scale."""
    if scale <= 0:
        return 0.0
    if not discrete:
        return scale * math.log(1.0 / alpha)
    # discrete Laplace: P(|X| >= t) = 2 e^{-t/b} / (1 + e^{-1/b}) for integer t >= 1
    t = scale * math.log(2.0 / (alpha * (1.0 + math.exp(-1.0 / scale))))
    return float(max(0, math.ceil(t) - 1))


def _half_width(mechanism: str, scale: float, *, discrete: bool, alpha: float = 0.05) -> float:
    if mechanism == "laplace":
        return laplace_half_width(scale, discrete=discrete, alpha=alpha)
    z = Z95 if alpha == 0.05 else Z975
    return z * scale


class DPEngine:
    """Differentially private counts, histograms and means with a budget ledger.

    Parameters
    ----------
    epsilon_total, delta:
        The dataset's total budget (fixed in the ledger on first use).
    max_sessions_per_user:
        Contribution bound k (rows per user kept before any measurement).
    seed:
        Makes contribution bounding deterministic (noise is never seeded).
    ledger:
        A :class:`PrivacyLedger`; default is a private in-memory one.
    dataset:
        Name the ledger charges queries to.
    mechanism:
        ``"laplace"`` (default) or ``"gaussian"``; each call may override it.
    """

    def __init__(
        self,
        epsilon_total: float,
        delta: float = 0.0,
        max_sessions_per_user: int = 10,
        seed: int = 0,
        ledger: PrivacyLedger | None = None,
        *,
        dataset: str = "default",
        mechanism: str = "laplace",
    ) -> None:
        _check_budget_values(epsilon_total, delta)
        if max_sessions_per_user < 1:
            raise ValueError("max_sessions_per_user must be >= 1")
        if mechanism not in MECHANISMS:
            raise ValueError(f"mechanism must be one of {MECHANISMS}")
        self.epsilon_total = float(epsilon_total)
        self.delta = float(delta)
        self.k = int(max_sessions_per_user)
        self.seed = int(seed)
        self.ledger = ledger if ledger is not None else PrivacyLedger()
        self.dataset = dataset
        self.mechanism = mechanism
        self.ledger.set_budget(dataset, self.epsilon_total, self.delta)

    # -- helpers ----------------------------------------------------------------------------------
    def remaining(self) -> tuple[float, float]:
        return self.ledger.remaining(self.dataset)

    def bound(self, user_ids: Sequence[Hashable], session_ids: Sequence[Hashable] | None = None) -> list[int]:
        return bound_contributions(user_ids, self.k, seed=self.seed, session_ids=session_ids)

    def _mech(self, mechanism: str | None, delta: float | None) -> tuple[str, float]:
        mech = mechanism or self.mechanism
        if mech not in MECHANISMS:
            raise ValueError(f"mechanism must be one of {MECHANISMS}")
        if mech == "laplace":
            return mech, 0.0
        d = self.delta if delta is None else float(delta)
        if not d > 0:
            raise ValueError("the Gaussian mechanism needs delta > 0")
        return mech, d

    def _calibrate(
        self, make: Any, mech: str, epsilon: float, delta: float
    ) -> tuple[Any, float, float, float]:
        """(measurement, scale, charged ε, charged δ) for the requested loss at d_in = k."""
        dp = _dp()
        if not (epsilon > 0 and math.isfinite(epsilon)):
            raise ValueError("epsilon must be a positive finite number")
        if mech == "laplace":
            scale = dp.binary_search_param(make, d_in=self.k, d_out=epsilon)
            meas = make(scale)
            eps = float(meas.map(self.k))
            return meas, float(scale), eps, 0.0
        scale = dp.binary_search_param(make, d_in=self.k, d_out=(epsilon, delta))
        meas = make(scale)
        eps, d = meas.map(self.k)
        return meas, float(scale), float(eps), float(d)

    def _gauss(self, meas: Any, delta: float) -> Any:
        dp = _dp()
        return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(meas), delta)

    # -- queries ------------------------------------------------------------------------------------
    def count(
        self,
        user_ids: Sequence[Hashable],
        *,
        epsilon: float,
        query: str = "count",
        session_ids: Sequence[Hashable] | None = None,
        mechanism: str | None = None,
        delta: float | None = None,
        clamp_nonnegative: bool = True,
    ) -> DPResult:
        """Noisy number of rows (sessions), one entry of ``user_ids`` per row."""
        dp = _dp()
        mech, d = self._mech(mechanism, delta)
        kept = self.bound(user_ids, session_ids)
        base = dp.t.make_count(dp.vector_domain(dp.atom_domain(T=str)), dp.symmetric_distance())
        if mech == "laplace":

            def make(s: float) -> Any:
                return base >> dp.m.then_laplace(scale=s)
        else:

            def make(s: float) -> Any:
                return self._gauss(base >> dp.m.then_gaussian(scale=s), d)

        meas, scale, eps, dd = self._calibrate(make, mech, epsilon, d)
        self.ledger.charge(self.dataset, query, eps, dd, f"{mech}:count")
        value = float(meas(["x"] * len(kept)))
        h = _half_width(mech, scale, discrete=True)
        lo, hi = value - h, value + h
        if clamp_nonnegative:
            value, lo, hi = max(0.0, value), max(0.0, lo), max(0.0, hi)
        return DPResult(value, eps, dd, mech, scale, lo, hi, query)

    def histogram(
        self,
        values: Sequence[Any],
        user_ids: Sequence[Hashable],
        categories: Sequence[str],
        *,
        epsilon: float,
        query: str = "histogram",
        session_ids: Sequence[Hashable] | None = None,
        mechanism: str | None = None,
        delta: float | None = None,
        clamp_nonnegative: bool = True,
    ) -> DPHistogram:
        """Noisy count per category of a FIXED list: every listed category gets a (noisy) count,
        so an empty category is indistinguishable from a rare one. Values outside the list are
        counted (noisily) in ``other``."""
        dp = _dp()
        if len(values) != len(user_ids):
            raise ValueError("values and user_ids differ in length")
        cats = [str(c) for c in categories]
        if len(set(cats)) != len(cats) or not cats:
            raise ValueError("categories must be a non-empty list without duplicates")
        mech, d = self._mech(mechanism, delta)
        kept = self.bound(user_ids, session_ids)
        data = [str(values[i]) for i in kept]
        domain = dp.vector_domain(dp.atom_domain(T=str))
        if mech == "laplace":
            base = dp.t.make_count_by_categories(domain, dp.symmetric_distance(), categories=cats)

            def make(s: float) -> Any:
                return base >> dp.m.then_laplace(scale=s)
        else:
            base = dp.t.make_count_by_categories(
                domain, dp.symmetric_distance(), categories=cats, MO=dp.L2Distance[int]
            )

            def make(s: float) -> Any:
                return self._gauss(base >> dp.m.then_gaussian(scale=s), d)

        meas, scale, eps, dd = self._calibrate(make, mech, epsilon, d)
        self.ledger.charge(self.dataset, query, eps, dd, f"{mech}:histogram")
        noisy = [float(x) for x in meas(data)]
        h = _half_width(mech, scale, discrete=True)
        counts, other = noisy[:-1], noisy[-1]
        lo = [c - h for c in counts]
        hi = [c + h for c in counts]
        if clamp_nonnegative:
            counts = [max(0.0, c) for c in counts]
            other = max(0.0, other)
            lo = [max(0.0, x) for x in lo]
            hi = [max(0.0, x) for x in hi]
        return DPHistogram(
            tuple(cats), tuple(counts), other, eps, dd, mech, scale, h, query, tuple(lo), tuple(hi)
        )

    def mean(
        self,
        values: Sequence[float],
        lower: float,
        upper: float,
        user_ids: Sequence[Hashable],
        *,
        epsilon: float,
        query: str = "mean",
        session_ids: Sequence[Hashable] | None = None,
        count_share: float = 0.5,
    ) -> DPResult:
        """Noisy mean of values clamped to [lower, upper]: a noisy clamped sum over a noisy count.

        ``epsilon`` is split between the sum (1 - count_share) and the count (count_share); both
        use the Laplace mechanism (pure ε). Non-finite values are dropped before bounding.
        """
        dp = _dp()
        if len(values) != len(user_ids):
            raise ValueError("values and user_ids differ in length")
        if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
            raise ValueError("need finite bounds with lower < upper")
        if not 0 < count_share < 1:
            raise ValueError("count_share must be in (0, 1)")
        rows = [i for i, v in enumerate(values) if v is not None and math.isfinite(float(v))]
        users = [user_ids[i] for i in rows]
        sess = [session_ids[i] for i in rows] if session_ids is not None else None
        kept = [rows[j] for j in bound_contributions(users, self.k, seed=self.seed, session_ids=sess)]
        width = float(upper - lower)
        shifted = [min(max(float(values[i]), lower), upper) - lower for i in kept]

        sum_dom = dp.vector_domain(dp.atom_domain(T=float, nan=False))
        sum_base = dp.t.make_clamp(sum_dom, dp.symmetric_distance(), bounds=(0.0, width)) >> dp.t.then_sum()

        def make_sum(s: float) -> Any:
            return sum_base >> dp.m.then_laplace(scale=s)

        cnt_base = dp.t.make_count(dp.vector_domain(dp.atom_domain(T=str)), dp.symmetric_distance())

        def make_cnt(s: float) -> Any:
            return cnt_base >> dp.m.then_laplace(scale=s)

        m_sum, s_sum, e_sum, _ = self._calibrate(make_sum, "laplace", epsilon * (1 - count_share), 0.0)
        m_cnt, s_cnt, e_cnt, _ = self._calibrate(make_cnt, "laplace", epsilon * count_share, 0.0)
        eps = e_sum + e_cnt
        self.ledger.charge(self.dataset, query, eps, 0.0, "laplace:mean")
        noisy_sum = float(m_sum(shifted))
        noisy_cnt = float(m_cnt(["x"] * len(kept)))
        denom = max(noisy_cnt, 1.0)
        value = lower + min(max(noisy_sum / denom, 0.0), width)
        hs = laplace_half_width(s_sum, discrete=False, alpha=0.025)
        hc = laplace_half_width(s_cnt, discrete=True, alpha=0.025)
        lo = lower + min(max(0.0, noisy_sum - hs) / max(noisy_cnt + hc, 1.0), width)
        hi = lower + min(max(0.0, noisy_sum + hs) / max(noisy_cnt - hc, 1.0), width)
        return DPResult(value, eps, 0.0, "laplace", s_sum, lo, hi, query, count=noisy_cnt,
                        count_half_width=laplace_half_width(s_cnt, discrete=True))
