"""The report's figures under differential privacy (``codecensus report --epsilon``).

Every number comes from :class:`codecensus.aggregate.dp.DPEngine` (privacy unit: one user, at
most ``max_sessions_per_user`` sessions each), charged to the store's ``privacy_ledger`` before
any noise is drawn. The total ε (and δ) is split evenly over the queries below; figures that
need other statistics (bootstrap medians, regressions, per-cell user counts) are not released in
this mode. Shares are ratios of noisy counts, so they are post-processing and cost nothing more.
Intervals are 95% intervals of the noise (they treat the bounded data as fixed); a share's interval
is simulated from the known noise distribution of its numerator AND its denominator (post-processing
of the noisy counts: it costs no budget). Every count is of the sessions kept after capping each user at
``max_sessions_per_user`` (the coverage figure says so: it is not the number of sessions in the store).

Release rule (:func:`release_floor`, on noisy values only, so DP-safe post-processing): a cell is shown
only when its noisy count minus the 95% noise half-width ``h`` still reaches both thresholds, and the
count is at least twice ``h`` (its noise is at most half of it): ``noisy >= h + max(T, h)`` with
``T = max(min_sessions, (min_users - 1) * k + 1)``. Since one user adds at most ``k`` sessions to a cell,
a cell holding more than ``(min_users - 1) * k`` sessions holds at least ``min_users`` users: the user
threshold is kept without measuring users. ``n_users`` is not measured in this mode and
``n_sessions`` is the rounded noisy count.

What is released (which figures, how ε is split, which months the monthly figures range over) depends on the
options and the store's schema only, never on the sessions (:func:`public_months`, :meth:`DPReport._count_queries`):
the months came from the exact first and last month with a session, so one session of one user in a second month
added the trend figure and changed every query's ε (1/10 of the report's ε to 1/11).

A report spends at most :data:`MAX_REPORT_EPSILON` (beyond it the noise no longer hides anyone:
``--epsilon 1e300`` released the exact counts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from codecensus.aggregate.dp import BudgetExceeded, DPEngine, DPHistogram, PrivacyLedger, _half_width
from codecensus.aggregate.figures import (
    STD_COLUMNS,
    TIME_WINDOW_START,
    Figure,
    PolicyLike,
    ReportData,
    _unavailable,
)
from codecensus.taxonomy import (
    EXPERTISE,
    EXPERTISE_LEVELS,
    MODE_KEYS,
    MODE_ROLLUP,
    OCCUPATION_KEYS,
    WORK_MODES,
    label,
    soc_name,
)

DP_FIGURES = ("coverage", "occupations", "work_modes", "work_modes_by_month", "outcomes_by_expertise",
              "expertise_shape", "success_trend")
# Figures left out of the DP report on purpose, with the reason the report prints. The abstentions figure: a session
# abstains on up to three facets, so its reason counts need a histogram per facet (one category per session and
# query): three more queries in every DP report (their number may depend only on the options and the schema), which
# would take ε from the figures about the work for a table about the classifier's method; the exact report has it.
DP_LEFT_OUT: dict[str, str] = {
    "abstentions": "not released in differential-privacy mode: its reason counts would need three more noisy "
                   "queries (one per facet), taking ε from every other figure; the report without --epsilon shows it",
}
# clamping bounds for means (a DP mean needs bounds fixed before seeing the data)
APP_BOUNDS = (0.0, 40.0)


# The most ε one report may spend. At ε = 10 a user's presence changes the odds of any output by at most e^10
# (about 22,000 times): already a weak guarantee. Above it the noise stops hiding anyone (ε = 1e300: exact counts).
MAX_REPORT_EPSILON = 10.0
SIM_DRAWS = 4000  # draws of the noise for the share intervals


def release_floor(policy: PolicyLike, k: int) -> int:
    """The least count a cell must hold to be released: ``min_sessions``, and more than ``(min_users - 1) * k``
    sessions, which at most ``k`` sessions a user cannot fill with fewer than ``min_users`` users."""
    return max(int(policy.min_sessions), (int(policy.min_users) - 1) * k + 1)


def noise_draws(mechanism: str, scale: float, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Draws of the integer noise a histogram was released with (discrete Laplace: P(x) ~ exp(-|x|/scale), the
    difference of two geometric variables; discrete Gaussian: a rounded normal of sd ``scale``, close enough for an
    interval)."""
    if scale <= 0:
        return np.zeros(shape)
    if mechanism == "laplace":
        p = -np.expm1(-1.0 / scale)
        return (rng.geometric(p, shape) - rng.geometric(p, shape)).astype(float)
    return np.rint(rng.normal(0.0, scale, shape))


MONTHLY_FIGURES = ("work_modes_by_month", "success_trend")
NO_WINDOW = ("under differential privacy the months come from the date range you give, not from the sessions: run "
             "with --since or --until to release the monthly figures")
# --until without --since: the monthly figures range over this many months, ending with --until's month
DEFAULT_WINDOW_MONTHS = 12
# The most months the monthly figures range over: the last ones of the range given. Every month x category is a noisy
# cell, and an empty one clears the release floor about once in 800 (discrete Laplace: P(noise >= 2 half-widths) =
# 1/800): --since 2000-01-01 made some 2,700 month x mode cells of which about 3 showed sessions nobody had, and one at
# an end of the range stretched the months shown.
MAX_WINDOW_MONTHS = 24


def public_months(data: ReportData, today: date | None = None) -> list[str]:
    """The months the monthly figures range over under DP: from the month of ``--since`` to that of ``--until`` (or
    of tomorrow, the last day a session may carry: later ones count as without a time, see ``load_report_data``).

    Public choices only (the options and the clock): a DP histogram's categories must be fixed before the data is
    seen. The exact first and last months with a session decided them before, and with them whether the trend figure
    existed and the ε of every query. With ``--until`` and no ``--since`` the range is the
    :data:`DEFAULT_WINDOW_MONTHS` months ending with ``--until``'s month; with neither there is no public range: the
    monthly figures are not released (an empty list). A range longer than :data:`MAX_WINDOW_MONTHS` months keeps its
    last ones (see there). Months at the ends without a released noisy cell are still left out afterwards
    (:func:`_months_released`: post-processing of noisy values)."""
    if data.since is None and data.until is None:
        return []
    last = (today or datetime.now(UTC).date()) + timedelta(days=1)
    end = min(data.until, last) if data.until is not None else last
    if data.since is None:
        start = (pd.Period(end, freq="M") - (DEFAULT_WINDOW_MONTHS - 1)).start_time.date()
    else:
        start = data.since
    start = max(start, date.fromisoformat(TIME_WINDOW_START))
    if end < start:
        return []
    return pd.period_range(start, end, freq="M").strftime("%Y-%m").tolist()[-MAX_WINDOW_MONTHS:]


DATASET = "sessions"
# Ledgers once charged each date window as its own dataset, named "sessions:<since>:<until>:<hash>".
_WINDOW_DATASETS = "sessions:%"


def dataset_name(data: ReportData) -> str:
    """The ledger's dataset: the sessions table, whatever --since/--until window a report releases from it.

    Windows overlap (``--since 2000-01-01`` covers the same sessions as no --since at all), so a budget per
    window would let every shifted window spend a whole new budget on the same users.
    """
    return DATASET


def _adopt_window_spending(ledger: PrivacyLedger) -> None:
    """Before the sessions' budget is first set: count what per-window datasets of an older ledger spent.

    Their releases were of the same sessions, so their ε and δ are spent from the one budget (copied once
    into the ledger under :data:`DATASET`, with the old dataset's name in the query)."""
    if ledger.budget(DATASET) is not None:
        return
    t = ledger.TABLE
    ledger.con.execute(
        f"""INSERT INTO {t} SELECT ?, dataset || ' ' || query, epsilon, delta, mechanism, "at"
            FROM {t} WHERE dataset LIKE ?""",
        [DATASET, _WINDOW_DATASETS],
    )


def _row(keys: dict[str, Any], variable: str, value: float, lo: float, hi: float, n: float,
         min_sessions: int, method: str, n_show: float | None = None) -> dict[str, Any]:
    """A cell: released when its noisy count ``n`` reaches ``min_sessions``; ``n_show`` is the count shown."""
    ok = bool(np.isfinite(value)) and n >= min_sessions
    shown = n if n_show is None else n_show
    return {**keys, "variable": variable, "value": value if ok else np.nan, "ci_low": lo if ok else np.nan,
            "ci_high": hi if ok else np.nan, "n_users": pd.NA, "n_sessions": int(round(shown)) if ok else pd.NA,
            "suppressed": not ok, "ci_method": method if ok else None,
            "suppression": None if ok else "dp_threshold"}


def _table(rows: list[dict[str, Any]], keys: list[str]) -> pd.DataFrame:
    t = pd.DataFrame(rows)
    if t.empty:
        return pd.DataFrame(columns=[*keys, *STD_COLUMNS])
    t["n_users"] = t["n_users"].astype("Int64")
    t["n_sessions"] = t["n_sessions"].astype("Int64")
    rest = [c for c in t.columns if c not in keys and c not in STD_COLUMNS and c != "suppression"]
    return t[[*keys, *rest, *STD_COLUMNS, "suppression"]]


class _Ratios:
    """Ratios of a noisy histogram's counts with 95% intervals that carry the noise of the numerator AND the
    denominator. Post-processing of the noisy counts and the public noise scale: it costs no budget.

    ``count ± h`` over the noisy total (as before) ignored the total's noise: a month x mode cell at ε = 1 showed a
    share of 0.905 on a total that was itself mostly noise. Here the numerator ``n`` (its cells) and the rest of the
    denominator ``r`` (the other cells) each get a 97.5% interval for their noise (simulated from the noise
    distribution of a sum of that many cells: data-independent), so both hold at once with probability >= 95%
    (Bonferroni); ``n / (n + r)`` grows with ``n`` and falls with ``r``, so the interval runs from
    ``n_lo / (n_lo + r_hi)`` to ``n_hi / (n_hi + r_lo)``. Counts are read unclamped (clamping each cell at zero
    biased the sums upward), and clamped at zero as sums.
    """

    def __init__(self, h: DPHistogram, seed: int) -> None:
        self.h = h
        self.raw = np.asarray(h.counts, dtype=float)  # unclamped (see DPReport._hist)
        self.seed = seed
        self._hw: dict[int, float] = {}

    def half_width(self, cells: int) -> float:
        """97.5% half-width of the noise of a sum of ``cells`` noisy counts (simulated; data-independent)."""
        if cells == 0:
            return 0.0
        if cells not in self._hw:
            rng = np.random.default_rng([self.seed, cells])
            noise = noise_draws(self.h.mechanism, self.h.scale, (SIM_DRAWS, cells), rng).sum(axis=1)
            self._hw[cells] = float(np.quantile(np.abs(noise), 0.975))
        return self._hw[cells]

    def ratio(self, num: Sequence[str], den: Sequence[str]) -> tuple[float, float, float]:
        """``sum(num) / sum(den)`` (``num`` within ``den``) with its 95% interval."""
        cat = self.h.categories
        ni = [cat.index(c) for c in num]
        ri = [cat.index(c) for c in den if c not in set(num)]
        n, r = float(self.raw[ni].sum()), float(self.raw[ri].sum())
        hn, hr = self.half_width(len(ni)), self.half_width(len(ri))
        n_lo, n_hi, r_lo, r_hi = max(n - hn, 0.0), max(n + hn, 0.0), max(r - hr, 0.0), max(r + hr, 0.0)
        value = max(n, 0.0) / max(max(n, 0.0) + max(r, 0.0), 1.0)
        lo = n_lo / (n_lo + r_hi) if n_lo + r_hi > 0 else 0.0
        hi = n_hi / (n_hi + r_lo) if n_hi + r_lo > 0 else 1.0
        return value, min(lo, value), max(hi, value)


def _shares(h: DPHistogram, cats: Sequence[str], ratios: _Ratios) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                             np.ndarray]:
    """Noisy counts (clamped at zero) and shares of a histogram restricted to ``cats``, with intervals that carry the
    noise of the whole (:class:`_Ratios`)."""
    counts = np.maximum(np.array([h.counts[h.categories.index(c)] for c in cats], dtype=float), 0.0)
    out = np.array([ratios.ratio([c], cats) for c in cats]).reshape(len(cats), 3)
    return counts, out[:, 0], out[:, 1], out[:, 2]


class DPReport:
    """Runs the DP queries for one report."""

    def __init__(self, data: ReportData, policy: PolicyLike, ledger: PrivacyLedger, *, epsilon: float,
                 delta: float | None, max_sessions_per_user: int = 10, seed: int = 0,
                 budget_epsilon: float | None = None) -> None:
        self.data = data
        self.policy = policy
        self.ledger = ledger
        self.dataset = dataset_name(data)
        self.k = max_sessions_per_user
        self.mechanism = "gaussian" if delta else "laplace"
        self.seed = seed
        self.months = public_months(data)
        _adopt_window_spending(ledger)
        # The first DP report fixes the sessions' budget at its ε (and δ); a later one spends from that budget (a
        # different --epsilon was refused with 'refusing to change it', which said nothing of what was left).
        # ``budget_epsilon`` sets a larger total on that first report, so that later ones have something to spend.
        # A first report refused whole and refunded (nothing released) leaves no budget: PrivacyLedger.refund.
        fixed = ledger.budget(self.dataset)
        if fixed is not None and budget_epsilon is not None and not math.isclose(fixed[0], budget_epsilon):
            raise BudgetExceeded(
                f"the sessions' privacy budget is already fixed at ε = {fixed[0]:.4g} (by the first differentially "
                f"private report): it cannot become ε = {budget_epsilon:g}. Leave --epsilon-budget out; "
                f"ε = {ledger.remaining(self.dataset)[0]:.4g} is left to spend. Nothing was released."
            )
        if budget_epsilon is not None and budget_epsilon < epsilon:
            raise ValueError(f"the budget ε = {budget_epsilon:g} is smaller than this report's ε = {epsilon:g}")
        budget_e, budget_d = fixed if fixed is not None else (budget_epsilon or epsilon, delta or 0.0)
        self.engine = DPEngine(budget_e, budget_d, max_sessions_per_user, seed, ledger, dataset=self.dataset,
                               mechanism=self.mechanism)
        # the whole report must fit: refused query by query, a report spent budget on the figures before the one
        # that did not fit and released none of them
        left_e, left_d = ledger.remaining(self.dataset)
        if left_e < epsilon * (1 - 1e-9) or (delta and left_d < delta * (1 - 1e-9)):
            spent_e, spent_d = ledger.spent(self.dataset)
            if left_e <= 1e-9 * budget_e or (delta and left_d <= 1e-15):
                todo = ("Nothing is left, so no further differentially private report can be released on these "
                        "sessions: use the reports already released.")
            elif delta and left_d < delta * (1 - 1e-9):
                todo = f"To release within it, run with --epsilon {left_e:.4g} --delta {left_d:.3g} or less."
            else:
                todo = f"To release within it, run with --epsilon {left_e:.4g} or less."
            raise BudgetExceeded(
                f"privacy budget of the sessions: ε = {budget_e:.4g}, δ = {budget_d:.3g} in all (fixed by the first "
                f"differentially private report); earlier reports spent ε = {spent_e:.4g}, δ = {spent_d:.3g}, so "
                f"ε = {left_e:.4g}, δ = {left_d:.3g} is left, and this report asks for ε = {epsilon:g}"
                + (f", δ = {delta:g}" if delta else "") + f". Nothing was released. {todo} The budget covers every "
                "--since/--until window of these sessions; spending more would weaken the guarantee the earlier "
                "reports gave."
            )
        self.n_queries = self._count_queries()
        self.eps_each = epsilon / self.n_queries
        # δ is a budget too: split evenly like ε (sequential composition adds both).
        self.delta_each = (delta / self.n_queries) if delta else None
        df = data.df
        self.users = df["user"].astype(str).tolist()
        self.sessions = df["session_key"].astype(str).tolist()

    def _count_queries(self) -> int:
        """The queries of this report: decided by the store's schema (a facets table) and the public months only, so
        the ε each query gets says nothing of the sessions (see :func:`public_months`)."""
        n = 1  # coverage
        if self.data.facets_table:
            n += 3  # occupations, modes, expertise x outcome
            n += len(EXPERTISE_LEVELS)  # actions per prompt by level
            n += int(len(self.months) >= 1)  # modes x month
            n += int(len(self.months) >= 2)  # strict success x month
        return n

    @property
    def method(self) -> str:
        return (f"differential privacy ({self.mechanism}, ε = {self.eps_each:.3g} for this query, user-level, "
                f"≤ {self.k} sessions per user); 95% interval of the noise")

    def _floor(self, half_width: float) -> float:
        """A noisy count is shown only when, less its 95% noise ``half_width``, it still reaches :func:`release_floor`
        (enough sessions, and more than one user's ``k`` times ``min_users - 1``), and when it is at least twice its
        noise (else the cell is noise: at ε = 1 on 150 sessions a month x mode cell showed 513 sessions).
        On noisy values and the public noise scale only: post-processing, DP-safe."""
        return half_width + max(release_floor(self.policy, self.k), half_width)

    def _hist(self, values: Sequence[str], cats: Sequence[str], query: str) -> DPHistogram:
        # unclamped: the share intervals sum cells, and cells clamped at zero add up to an upward bias
        return self.engine.histogram(list(values), self.users, list(cats), epsilon=self.eps_each,
                                     delta=self.delta_each, query=query,
                                     session_ids=self.sessions, clamp_nonnegative=False)

    def figures(self) -> list[Figure]:
        figs = [self.coverage()]
        if self.data.facets_table:
            figs += [self.occupations(), self.work_modes()]
            figs += [self.work_modes_by_month()] if self.months else []
            figs += [self.outcomes(), self.expertise_shape()]
            figs += [self.success_trend()] if len(self.months) >= 2 else []
            why = NO_WINDOW if self.data.since is None and self.data.until is None else \
                "the date range given has fewer than two months"
            figs += [_unavailable(fid, fid.replace("_", " ").capitalize(), why) for fid in MONTHLY_FIGURES
                     if fid not in {f.id for f in figs}]
        return _months_released(figs)

    # -- figures -----------------------------------------------------------------------------
    def coverage(self) -> Figure:
        r = self.engine.count(self.users, epsilon=self.eps_each, delta=self.delta_each, query="report:coverage:sessions",
                              session_ids=self.sessions)
        # the count is of the sessions kept after the cap of k a user (150 sessions of 14 users showed as 98, with
        # the interval [98, 98] at a huge ε): said in the row's level, the method and the note
        capped = f"at most {self.k} sessions per user"
        rows = [_row({"dimension": "all", "level": capped}, "sessions", r.value, r.ci_low, r.ci_high, r.value,
                     self._floor(_half_width(r.mechanism, r.scale, discrete=True)), self.method)]
        t = _table(rows, ["dimension", "level"])
        shown = int(t["n_sessions"].iloc[0]) if not bool(t["suppressed"].iloc[0]) else 0
        return Figure("coverage", "Data coverage",
                      f"Noisy number of sessions counted after keeping {capped} (users with more sessions count "
                      f"{self.k}; every figure here is computed from these sessions); {self.method}.",
                      t, ["dimension", "level"], "count",
                      subtitle=f"What the figures are computed from (noisy; {capped}).", n_sessions=shown, n_users=0,
                      notes=[f"The session count is of the sessions the figures use: each user's sessions are capped at "
                             f"{self.k} before any noise is added, so it is below the number of sessions in the store "
                             "when some users have more. Its interval is for that capped count."],
                      extra={"months": len(self.months), "first_day": None, "last_day": None,
                             "damaged_lines": None, "files": None, "sessions_without_time": None})

    def _categorical(self, fid: str, title: str, col: str, cats: Sequence[str], keyf: Any, query: str,
                     subtitle: str, variable: str = "share_of_sessions") -> Figure:
        vals = self.data.df[col].fillna("__none__").astype(str).tolist()
        h = self._hist(vals, cats, query)
        ratios = _Ratios(h, self.seed)
        counts, share, lo, hi = _shares(h, cats, ratios)
        rows = [_row(keyf(c), variable, share[i], lo[i], hi[i], counts[i], self._floor(h.half_width), self.method)
                for i, c in enumerate(cats)]
        keys = list(keyf(cats[0]))
        # the figure's n (the report prints 'n ≈ N sessions') is a noisy value too: the sum of the cells (unclamped:
        # clamped cells add up to an upward bias), shown by the same rule as a cell, with the noise of the sum
        total = float(ratios.raw[[h.categories.index(c) for c in cats]].sum())
        shown = int(round(total)) if total >= self._floor(ratios.half_width(len(cats))) else 0
        return Figure(fid, title, f"Share of sessions from noisy counts per category; {self.method}.",
                      _table(rows, keys), keys, "share", subtitle=subtitle, n_sessions=shown)

    def occupations(self) -> Figure:
        return self._categorical("occupations", "Occupations", "occupation", list(OCCUPATION_KEYS),
                                 lambda k: {"occupation": k, "occupation_label": soc_name(k)},
                                 "report:occupations", "Whose work the sessions do (noisy shares).")

    def work_modes(self) -> Figure:
        return self._categorical("work_modes", "Work modes", "mode", list(MODE_KEYS),
                                 lambda k: {"mode": k, "mode_label": label(WORK_MODES, k).name,
                                            "rollup": MODE_ROLLUP[k]}, "report:work_modes",
                                 "What the sessions mainly did.")

    def work_modes_by_month(self) -> Figure:
        df = self.data.df
        cats = [f"{m}::{k}" for m in self.months for k in MODE_KEYS]
        vals = (df["month"].fillna("-") + "::" + df["mode"].fillna("-")).tolist()
        h = self._hist(vals, cats, "report:work_modes_by_month")
        sim = _Ratios(h, self.seed)
        rows = []
        for m in self.months:
            sub = [f"{m}::{k}" for k in MODE_KEYS]
            counts, share, lo, hi = _shares(h, sub, sim)
            for i, k in enumerate(MODE_KEYS):
                rows.append(_row({"month": m, "mode": k, "mode_label": label(WORK_MODES, k).name},
                                 "share_of_sessions", share[i], lo[i], hi[i], counts[i], self._floor(h.half_width),
                                 self.method))
        return Figure("work_modes_by_month", "Work modes by month",
                      f"Each month, shares of noisy counts per work mode; {self.method}.",
                      _table(rows, ["month", "mode", "mode_label"]), ["month", "mode", "mode_label"], "share",
                      subtitle="How the mix of work shifts over time (noisy).")

    def outcomes(self) -> Figure:
        df = self.data.df
        outs = ["verified_success", "success", "partial", "failure", "unclear"]
        cats = [f"{e}::{o}" for e in EXPERTISE_LEVELS for o in outs]
        ex = df["expertise"].map(lambda v: str(int(v)) if v == v and v is not None else "-")
        vals = (ex + "::" + df["outcome"].fillna("-")).tolist()
        h = self._hist(vals, cats, "report:outcomes_by_expertise")
        sim = _Ratios(h, self.seed)
        rows = []
        for e in EXPERTISE_LEVELS:
            c = {o: max(h.counts[h.categories.index(f"{e}::{o}")], 0.0) for o in outs}
            hw = h.half_width
            keys = {"expertise": e, "expertise_label": f"{e} {label(EXPERTISE, e).name}"}
            cell = {o: f"{e}::{o}" for o in outs}
            known = [cell[o] for o in outs if o != "unclear"]
            for var, num, den in (("strict_success", ["verified_success"], known),
                                  ("at_least_partial", ["verified_success", "success", "partial"], known),
                                  ("failure", ["failure"], known), ("unclear", ["unclear"], [cell[o] for o in outs])):
                v, lo, hi = sim.ratio([cell[o] for o in num], den)
                rows.append(_row(keys, var, v, lo, hi, sum(c[o] for o in num), self._floor(len(num) * hw),
                                 self.method))
        return Figure("outcomes_by_expertise", "Outcome by expertise",
                      f"Strict success, at least partial and failure over sessions with a known outcome, unclear over "
                      f"all, from noisy counts per expertise × outcome; {self.method}.",
                      _table(rows, ["expertise", "expertise_label"]), ["expertise", "expertise_label"], "share",
                      subtitle="How often the work gets done, by expertise (noisy).")

    def expertise_shape(self) -> Figure:
        df = self.data.df
        rows = []
        for e in EXPERTISE_LEVELS:
            m = (df["expertise"] == e).to_numpy()
            vals = df.loc[m, "actions_per_prompt"].to_numpy(dtype=float)
            users = [u for u, k in zip(self.users, m, strict=True) if k]
            sess = [s for s, k in zip(self.sessions, m, strict=True) if k]
            r = self.engine.mean(list(vals), *APP_BOUNDS, users, epsilon=self.eps_each,
                                 query=f"report:actions_per_prompt:{e}", session_ids=sess)
            # released or not on the mean's own noisy count: a decision on the true count would disclose it
            noisy_n = r.count if r.count is not None else 0.0
            # a mean whose interval spans more than half its clamping range is noise (0.0 [0, 26.9] for novices
            # at ε = 6 on 3000 sessions): withheld, on the released interval only
            if r.ci_high - r.ci_low > (APP_BOUNDS[1] - APP_BOUNDS[0]) / 2:
                noisy_n = 0.0
            rows.append(_row({"expertise": e, "expertise_label": f"{e} {label(EXPERTISE, e).name}"},
                             "actions_per_prompt", r.value, r.ci_low, r.ci_high, noisy_n,
                             self._floor(r.count_half_width or 0.0), self.method))
        # the noisy count decides suppression; the table does not show it
        t = _table(rows, ["expertise", "expertise_label"])
        t["n_sessions"] = pd.array([pd.NA] * len(t), dtype="Int64")
        return Figure("expertise_shape", "Expertise and actions per prompt",
                      f"Noisy mean of actions per prompt (clamped to {APP_BOUNDS[0]:g}–{APP_BOUNDS[1]:g}) by expertise; "
                      f"{self.method}.", t, ["expertise", "expertise_label"], "number",
                      subtitle="Experts delegate bigger steps (noisy).")

    def success_trend(self) -> Figure:
        df = self.data.df
        out = df["outcome"].astype("string")
        # each session falls in one cell (the unclear ones too: taxonomy §3 reports their share beside), so the
        # histogram's sensitivity is what it was without the unclear cells
        conds = [out == "verified_success", out.isin(["success", "partial", "failure"]), out == "unclear"]
        lab = np.select([c.fillna(False).to_numpy(dtype=bool) for c in conds], ["strict", "other", "unclear"], "-")
        cats = [f"{m}::{x}" for m in self.months for x in ("strict", "other", "unclear")]
        vals = (df["month"].fillna("-") + "::" + pd.Series(lab, index=df.index)).tolist()
        h = self._hist(vals, cats, "report:success_trend")
        sim = _Ratios(h, self.seed)
        rows = []
        for m in self.months:
            s = max(h.counts[h.categories.index(f"{m}::strict")], 0.0)
            o = max(h.counts[h.categories.index(f"{m}::other")], 0.0)
            v, lo, hi = sim.ratio([f"{m}::strict"], [f"{m}::strict", f"{m}::other"])
            rows.append(_row({"month": m}, "raw", v, lo, hi, min(s, o), self._floor(h.half_width), self.method,
                             n_show=s + o))
            u = max(h.counts[h.categories.index(f"{m}::unclear")], 0.0)
            v, lo, hi = sim.ratio([f"{m}::unclear"], [f"{m}::{x}" for x in ("strict", "other", "unclear")])
            rows.append(_row({"month": m}, "unclear", v, lo, hi, min(u, s + o), self._floor(h.half_width),
                             self.method, n_show=s + o + u))
        return Figure("success_trend", "Strict success by month",
                      f"Each month, noisy strict successes over noisy sessions with a known outcome, and the noisy share "
                      f"of sessions whose outcome is unclear; {self.method}.",
                      _table(rows, ["month"]), ["month"], "share", subtitle="Strict success over time (noisy).")


def _months_released(figs: list[Figure]) -> list[Figure]:
    """Show the months from the first to the last with a released (noisy) cell, and count those.

    The months are the exact first to last month with any session: one session of one user in 2026-10, three
    months after everyone else, printed '13 months' and rows for 2026-10 (withheld: its noisy cells were far below
    the floor), so the exact range told that someone had a session then. Months at the ends without a released
    cell are dropped now, and the count is of the months shown: both decided on noisy values (post-processing)."""
    shown: set[str] = set()
    for f in figs:
        t = f.table
        if "month" in t and len(t):
            shown |= set(t.loc[~t["suppressed"].astype(bool), "month"].astype(str))
    span = pd.period_range(min(shown), max(shown), freq="M").strftime("%Y-%m").tolist() if shown else []
    for f in figs:
        if "month" in f.table:
            f.table = f.table[f.table["month"].astype(str).isin(span)].reset_index(drop=True)
        if f.id == "coverage":
            f.extra["months"] = len(span)
    return figs


def dp_figures(data: ReportData, policy: PolicyLike, ledger: PrivacyLedger, *, epsilon: float,
               delta: float | None, seed: int = 0, max_sessions_per_user: int = 10,
               budget_epsilon: float | None = None) -> tuple[list[Figure], DPReport]:
    rep = DPReport(data, policy, ledger, epsilon=epsilon, delta=delta, seed=seed,
                   max_sessions_per_user=max_sessions_per_user, budget_epsilon=budget_epsilon)
    figs = rep.figures()
    return figs, rep


__all__ = ["DP_FIGURES", "DP_LEFT_OUT", "MAX_REPORT_EPSILON", "DPReport", "dataset_name", "dp_figures", "public_months",
           "release_floor"]
