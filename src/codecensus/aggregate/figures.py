"""The report's figures: one function per figure, each returning a tidy table and a one-line method.

Every figure table has its key columns (e.g. ``month``, ``mode``) followed by
``variable, value, ci_low, ci_high, n_users, n_sessions, suppressed, ci_method``.
``n_users``/``n_sessions`` are the population a row discloses: the sessions in
the category for a share (its numerator), the sessions averaged for a mean.
Rows whose population is below the release thresholds are suppressed (value,
interval and counts blanked) before anything leaves this module; derived rows
(an index, a difference against software) are suppressed when any input is.

All intervals come from one :class:`~codecensus.aggregate.stats.UserBootstrap`
per report (users resampled, B replicates, fixed seed), with Wilson intervals
for shares where each user has one session.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from codecensus.aggregate.privacy import (
    R_COMPLEMENTARY,
    REASON,
    SUPPRESSED,
    apply_release_policy,
    complement_takes_largest,
)
from codecensus.aggregate.stats import (
    DEFAULT_B,
    Estimate,
    UserBootstrap,
    index_series,
    percentile_ci,
    reweighted_means,
    success_regression,
    wilson,
)
from codecensus.measure import SESSION_COLUMNS
from codecensus.store import Store
from codecensus.taxonomy import (
    ABSTAINING_FACETS,
    ABSTENTION_REASON_KEYS,
    ABSTENTION_REASON_WORDS,
    AT_LEAST_PARTIAL,
    CODE_PRODUCING_MODES,
    EXPERTISE,
    EXPERTISE_LEVELS,
    MODE_KEYS,
    MODE_ROLLUP,
    NOT_INFERABLE,
    OCCUPATION_KEYS,
    SOC_KEYS,
    SOFTWARE_SOC,
    WORK_MODES,
    label,
    soc_name,
)

log = logging.getLogger(__name__)
REPORT_BYTES_PER_SESSION = 1024  # DuckDB's buffer to start reading the report's session rows with (see load_report_data)
# Session starts that the month and week figures take: from this day to tomorrow (no coding-agent transcript is
# older, none is from the future); a start outside counts as a session without a time (see load_report_data).
TIME_WINDOW_START = "2000-01-01"
STD_COLUMNS = ["variable", "value", "ci_low", "ci_high", "n_users", "n_sessions", "suppressed", "ci_method"]
LONG_COLUMNS = ["facet", "level", "variable", "value", "ci_low", "ci_high", "n_users", "n_sessions", "suppressed"]
FACET_NEEDED = ("mode", "occupation", "expertise", "outcome")
# facet columns that hold placeholders in an abstention row (see load_report_data)
_ABSTENTION_PLACEHOLDERS = ("mode", "expertise", "trouble", "recovered", "abandoned", "user_planning_pct",
                            "user_execution_pct", "value_hours", "value_soc", "value_usd")


class PolicyLike(Protocol):
    """What figures need from the release policy (:class:`codecensus.aggregate.privacy.ReleasePolicy`)."""

    min_users: int
    min_sessions: int
    individual: bool


def passes(policy: PolicyLike, n_users: Any, n_sessions: Any) -> np.ndarray:
    """Vectorised threshold check (before complementary suppression)."""
    u = np.asarray(n_users, dtype=np.float64)
    s = np.asarray(n_sessions, dtype=np.float64)
    return (np.nan_to_num(u, nan=-1) >= policy.min_users) & (np.nan_to_num(s, nan=-1) >= policy.min_sessions)


# --------------------------------------------------------------------------------------------
# data


@dataclass(slots=True)
class ReportData:
    """One row per session in the date range: shape, facets (when classified), month, cluster."""

    df: pd.DataFrame
    has_facets: bool
    months: list[str]
    clusters: pd.DataFrame | None
    git_adoption: pd.DataFrame | None
    since: date | None
    until: date | None
    damaged_lines: int
    files: int
    sessions_without_time: int
    # the store's facets table has the columns the figures need: a property of the schema, not of the sessions
    # (``has_facets`` also needs one classified session in the window); the DP report decides on this one
    facets_table: bool = False


def _parse_day(v: str | date | None) -> date | None:
    if v is None or isinstance(v, date):
        return v
    return datetime.strptime(v, "%Y-%m-%d").date()


def load_report_data(store: Store, since: str | date | None = None, until: str | date | None = None) -> ReportData:
    """Read sessions (+ facets, clusters, git adoption) for sessions started in [since, until]."""
    d0, d1 = _parse_day(since), _parse_day(until)
    if not store.table_exists("sessions"):
        raise LookupError("no `sessions` table: run `codecensus ingest` first")
    have = {r[0] for r in store.con.execute("DESCRIBE sessions").fetchall()}
    shape_cols = [c for c in ("session_key", *SESSION_COLUMNS, "api_errors") if c in have]
    sel = ", ".join(f's."{c}"' for c in shape_cols)
    facet_sel = ""
    join = ""
    has_facets = store.table_exists("facets")
    if has_facets:
        fcols = {r[0] for r in store.con.execute("DESCRIBE facets").fetchall()}
        wanted = ["mode", "occupation", "occupation_confidence", "expertise", "outcome", "outcome_score", "trouble",
                  "recovered", "abandoned", "user_planning_pct", "user_execution_pct", "value_hours", "value_soc",
                  "value_usd", "backend", "model", "abstained", *(f"{k}_reason" for k in ABSTAINING_FACETS)]
        facet_sel = ", " + ", ".join(
            (f'f."{c}" AS "f_{c}"' if c in fcols else f'NULL AS "f_{c}"') for c in wanted
        )
        join = " LEFT JOIN facets f USING (session_key)"
        has_facets = all(c in fcols for c in FACET_NEEDED)
    facets_table = has_facets
    if store.table_exists("session_clusters"):
        facet_sel += ", sc.cluster_id AS cluster_id"
        join += (" LEFT JOIN (SELECT session_key, any_value(cluster_id) AS cluster_id FROM session_clusters"
                 " GROUP BY session_key) sc USING (session_key)")
    where = []
    params: list[Any] = []
    if d0 is not None:
        where.append("s.started_at >= ?::DATE")
        params.append(d0.isoformat())
    if d1 is not None:
        where.append("s.started_at < (?::DATE + INTERVAL 1 DAY)")
        params.append(d1.isoformat())
    sql = f"SELECT {sel}{facet_sel} FROM sessions s{join}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    # A fixed row order: the bootstrap's draws follow it, so the same sessions give the same intervals however
    # they are stored (re-classifying some sessions moves their facet rows, and a join's order follows that).
    sql += " ORDER BY s.session_key"
    # The sort of every session row with its facets needs ~250 MB at 400K sessions: under DuckDB's default 256 MB
    # it failed now and then (out of memory). Start at 1 KB a session and grow on failure.
    df = store.grow_on_out_of_memory(
        lambda: store.query(sql, params or None), retries=3, log=log, restore=True,
        start_bytes=REPORT_BYTES_PER_SESSION * store.largest_table_rows(["sessions"]),
        message="report: DuckDB out of memory at %d MiB reading the sessions; retrying at %d MiB",
    ).to_pandas()
    df.columns = [c[2:] if c.startswith("f_") else c for c in df.columns]
    if "started_at" in df:
        ts = pd.to_datetime(df["started_at"], utc=True)
        # A start outside TIME_WINDOW_START..tomorrow is a damaged timestamp: the session counts as one without a
        # time (it stays in every figure that needs none). One session stamped 9999 made the month axis 95,000
        # months long, and a two-session report took 254 s.
        timed = ts.notna() & (ts >= pd.Timestamp(TIME_WINDOW_START, tz="UTC")) & (
            ts <= pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1))
        df["month"] = ts.dt.strftime("%Y-%m").where(timed, None)
        df["week"] = ts.dt.tz_localize(None).dt.to_period("W-SUN").astype(str).where(timed, None)
    else:
        df["month"] = None
        df["week"] = None
    if has_facets:
        # An abstention (the backend could not answer) keeps its honest labels (outcome unclear, occupation not
        # inferable); its mode, expertise, decisions and value are placeholders, so those figures leave it out.
        if "abstained" in df:
            gone = df["abstained"].fillna(False).astype(bool).to_numpy()
            df["abstained"] = gone  # the sessions the backend could not answer at all (fig_abstentions)
            if gone.any():
                for c in _ABSTENTION_PLACEHOLDERS:
                    if c in df:
                        df[c] = df[c].where(~gone)
        df["expertise"] = pd.to_numeric(df["expertise"], errors="coerce")
        has_facets = bool(df["mode"].notna().any())
    # every month from the first to the last: one without sessions stays in the list (its cells empty, nothing
    # released), so trend tables show the gap instead of joining its neighbours
    seen = df["month"].dropna()
    months = pd.period_range(seen.min(), seen.max(), freq="M").strftime("%Y-%m").tolist() if len(seen) else []
    clusters = None
    if store.table_exists("clusters") and "cluster_id" in df:
        clusters = store.query("SELECT * FROM clusters").to_pandas()
    git = None
    if store.table_exists("git_agent_monthly"):
        from codecensus.gitagents import adoption_table

        g = adoption_table(store, period="half").to_pandas()
        git = g if len(g) else None
    damaged = int(df["bad_lines"].fillna(0).sum()) if "bad_lines" in df else 0
    files = 0
    if store.table_exists("session_files") and len(df):
        # the files of the report's sessions (of the --since/--until window), not of the whole store
        row = store.one("SELECT count(DISTINCT sf.file_id) FROM session_files sf JOIN sessions s USING (session_key)"
                        + (" WHERE " + " AND ".join(where) if where else ""), params or None)
        files = int(row[0]) if row else 0
    return ReportData(
        df=df.reset_index(drop=True), has_facets=has_facets, months=months, clusters=clusters, git_adoption=git,
        since=d0, until=d1, damaged_lines=damaged, files=files,
        sessions_without_time=int(df["month"].isna().sum()), facets_table=facets_table,
    )


# --------------------------------------------------------------------------------------------
# figure objects


@dataclass(slots=True)
class Figure:
    id: str
    title: str
    method: str
    table: pd.DataFrame
    keys: list[str]
    unit: str  # share | number | usd | index | pp | count
    subtitle: str = ""
    n_sessions: int = 0
    n_users: int = 0
    notes: list[str] = field(default_factory=list)
    available: bool = True
    reason: str = ""  # why unavailable
    extra: dict[str, Any] = field(default_factory=dict)
    # the sessions its n counts (row indices, as :data:`SESSION_COLUMNS_AUDITED`), for a figure whose n is the total
    # of a line of its cells (:data:`RELEASE_LINE_WHOLES`, :data:`RELEASE_MONTH_GROUPS`): the report's final audit
    # reads them, nothing is written
    sessions: np.ndarray | None = None

    @property
    def suppressed_cells(self) -> int:
        return int(self.table["suppressed"].sum()) if "suppressed" in self.table and len(self.table) else 0

    @property
    def released_cells(self) -> int:
        return int((~self.table["suppressed"]).sum()) if "suppressed" in self.table and len(self.table) else 0


@dataclass(slots=True)
class Context:
    data: ReportData
    policy: PolicyLike
    B: int = DEFAULT_B
    seed: int = 0
    level: float = 0.95
    resample_sessions: bool = False  # individual mode: one person's sessions, resampled as sessions
    boot: UserBootstrap = field(init=False)
    withheld_months: frozenset[str] = field(init=False)
    untimed_withheld: bool = field(init=False)  # the count of sessions without a time is withheld
    months: list[str] = field(init=False)  # the months the figures show (see _months_to_show)
    decided: dict[Any, Any] = field(init=False, default_factory=dict)  # decisions several figures share, computed once

    def __post_init__(self) -> None:
        self.boot = UserBootstrap(self.data.df["user"].to_numpy(dtype=object), B=self.B, seed=self.seed,
                                  resample_sessions=self.resample_sessions)
        self.withheld_months, self.untimed_withheld = self._months_to_withhold(frozenset())
        self.months = self._months_to_show()
        present = set(self.data.df["month"].dropna())
        # an empty month inside the range is withheld like one with a few sessions (it had no row, a withheld one
        # had: 'withheld' told that someone had a session then), with complementary months so that the months
        # withheld do not give it back as 0 by subtraction; the range can narrow then, so until nothing changes
        while not (empty := frozenset(m for m in self.months if m not in present)) <= self.withheld_months:
            self.withheld_months, self.untimed_withheld = self._months_to_withhold(self.withheld_months | empty)
            self.months = self._months_to_show()

    def _months_to_show(self) -> list[str]:
        """The months the figures show: from the first to the last month with sessions that every figure releases.

        The figures compute over every month of the data (``data.months``: a withheld month's sessions take part in
        complementary suppression), but a withheld month at either end of the range printed its row and its label
        (and counted in 'N months'), which says that someone had a session in it: one session of one user three
        months after everyone else added 3 months to the report. Such months, and empty months left at the ends
        then, are not shown (:func:`_finish` drops their rows)."""
        months = self.data.months
        present = set(self.data.df["month"].dropna())
        ok = [i for i, m in enumerate(months) if m in present and m not in self.withheld_months]
        return months[ok[0]:ok[-1] + 1] if ok else []

    def _months_to_withhold(self, also: frozenset[str]) -> tuple[frozenset[str], bool]:
        """The months every figure withholds whole (see :func:`_finish`): those whose sessions fail the thresholds,
        with complementary months until the withheld ones are two or more and jointly pass. Each by-month figure's
        cells of a month add up to that month's count, and the months' counts with the sessions without a time to
        the report's total, so a month withheld in one figure but released in another (coverage's complementary
        month, from the sum of its work-mode cells) gave the other one by subtraction. The sessions without a time
        are a cell of the same partition (coverage's month 'unknown'): whether their count is withheld is the
        second value. The months in ``also`` are withheld whatever their counts (empty months inside the range).

        The complementary months are chosen among the months inside the range first: a month withheld at an end of
        it leaves the report's dates (the first month, 35 sessions, went with a lone session's month three months
        later: a real month off the report, where a month inside the range only shows its cells withheld). The
        withheld months pass the user threshold on their distinct users (one user in two months counted twice)."""
        months = self.data.months
        df = self.data.df
        month = df["month"]
        codes = np.where(month.isna().to_numpy(), len(months), _codes(month, months))
        s, u = self.boot.population(codes, len(months) + 1)
        by_cell = pd.Series(df["user"].to_numpy(dtype=object)).groupby(codes).agg(set)
        users: list[set[Any]] = [by_cell.get(i, set()) for i in range(len(months) + 1)]
        # the ends of the range the months that pass on their own would give (a withheld month there leaves it)
        own = [i for i in range(len(months)) if s[i] > 0 and months[i] not in also and self.policy.min_users <= u[i]
               and self.policy.min_sessions <= s[i]]
        ends = {own[0], own[-1]} if own else set()
        recs = [{"_g": 0, "n_users": int(u[i]), "n_sessions": int(s[i]), "_w": i < len(months) and months[i] in also,
                 "_end": i in ends, "_users": users[i]} for i in range(len(months) + 1)]
        out = apply_release_policy(recs, self.policy, group_by=["_g"], value_columns=[], withheld_column="_w",
                                   last_resort_column="_end", users_set_column="_users")
        return frozenset(m for m, r in zip(months, out, strict=False) if r[SUPPRESSED]), bool(out[-1][SUPPRESSED])

    @property
    def ci_text(self) -> str:
        return f"{round(self.level * 100)}% CI: {self.boot.method} (B={self.B}, seed {self.seed})"

    def passes(self, n_users: Any, n_sessions: Any) -> np.ndarray:
        return passes(self.policy, n_users, n_sessions)


# Row columns that name the sessions behind a row, as row indices of the report's sessions (``ReportData.df``; their
# users: ``UserBootstrap.codes``): ``_sessions`` the sessions its n counts, ``_den_sessions`` a share's group,
# ``_num_sessions`` the sessions a rate counts where its n is its group (a month's strict success). For the report's
# final audit, which counts the distinct users of what subtraction of released counts gives; like every column whose
# name starts with '_', never written (:func:`public_table`).
SESSION_COLUMNS_AUDITED = ("_sessions", "_den_sessions", "_num_sessions")


def _session_rows(mask: np.ndarray) -> np.ndarray:
    """The row indices of the sessions in ``mask``, as the bootstrap's cells give them (int32, ascending)."""
    idx = np.flatnonzero(mask)
    return idx.astype(np.int32) if len(mask) < 2**31 else idx


def public_table(t: pd.DataFrame) -> pd.DataFrame:
    """``t`` without the columns only the report's own steps read (name starting with '_': the sessions behind each
    row, :data:`SESSION_COLUMNS_AUDITED`): what any table, chart or file that leaves the report is made from."""
    private = [c for c in t.columns if str(c).startswith("_")]
    return t.drop(columns=private) if private else t


def _unavailable(fid: str, title: str, reason: str) -> Figure:
    return Figure(fid, title, "", pd.DataFrame(columns=STD_COLUMNS), [], "number", available=False, reason=reason)


def _rows(
    keys: Sequence[dict[str, Any]], variable: str, est: Estimate, lo: np.ndarray, hi: np.ndarray,
    select: Sequence[int] | None = None, *, partition_total: float | None = None, partition: str = "all",
) -> list[dict[str, Any]]:
    """Rows for cells of an estimate.

    Shares carry their group and its size, and so do means over a partition when
    ``partition_total`` (the sessions of the whole population) is given: the
    complementary-suppression step in :func:`_finish` uses them.
    """
    out = []
    idx = list(range(len(keys))) if select is None else list(select)
    for i in idx:
        k = keys[i]
        row = {
            **k, "variable": variable, "value": float(est.est[i]), "ci_low": float(lo[i]), "ci_high": float(hi[i]),
            "n_users": int(est.n_users[i]), "n_sessions": int(est.n_sessions[i]), "suppressed": False,
            "ci_method": est.ci_method[i] if est.ci_method else "bootstrap",
        }
        if est.users is not None:  # the withheld cells of a partition pass on the distinct users of their union
            row["_users"] = est.users[i]
        if est.sessions is not None:  # the final audit's: see :data:`SESSION_COLUMNS_AUDITED`
            row["_sessions"] = est.sessions[i]
        if est.den_sessions is not None:
            row["_den_sessions"] = est.den_sessions[i]
        if est.group is not None and est.den is not None:
            row["_pgroup"] = f"{variable}|{int(est.group[i])}"
            row["_ptotal"] = float(est.den[i])
            if est.den_users is not None:
                row["_pusers"] = int(est.den_users[i])
        elif partition_total is not None:
            row["_pgroup"] = f"{variable}|{partition}"
            row["_ptotal"] = float(partition_total)
        out.append(row)
    return out


_RELEASE_VALUES = ["value", "ci_low", "ci_high", "n_users", "n_sessions", "p_value", "odds_ratio"]


def _finish(ctx: Context, rows: list[dict[str, Any]], keys: list[str], *, drop_empty: bool = True,
            group: str | None = None, across: str | None = None) -> pd.DataFrame:
    """Apply the release policy (:func:`codecensus.aggregate.privacy.apply_release_policy`).

    Rows carry their partition in ``_pgroup`` (a share's group, or the cells of a
    mean over a partition); ``group`` puts every row in one partition. Hidden
    complement rows (``_hidden``: the rest of a rate's group) take part in
    complementary suppression and are dropped afterwards. ``force_suppress``
    rows (derived from a suppressed input) are suppressed, and count as
    suppressed for the complementary rule. Rows without sessions and without a
    value are dropped when ``drop_empty``; empty shares are released as zeros.

    ``across`` names a key column whose cells, taken over the other key (the months of a mode), add up to a
    total another figure releases (the mode over all months): those cells (of one variable) are a partition too,
    and suppression is repeated over both partitions until neither has a cell that subtraction from its total
    recovers. ``across="variable"`` makes all cells of a variable one partition (a monthly mean's months add up,
    with their n, to the mean over all months). Rows without a value in ``across`` keep their own partition.

    Rows of a month in ``ctx.withheld_months`` (or flagged ``_withheld``) are withheld: suppressed, their counts
    protecting their partitions as a suppressed cell's do, and kept when empty (a withheld month shows the same
    rows whether it had sessions or not). Rows of a month outside ``ctx.months`` (withheld at the ends of the
    range) are dropped at the end.

    ``_users`` (a set of user ids per row, optional) makes the withheld cells of a partition pass the user threshold on
    the distinct users of their union (a user in two cells counts once), as the months do.

    ``_first`` (a boolean per row, optional) flags residual cells that complementary suppression takes before the
    others (``apply_release_policy``'s ``first_resort_column``: occupation 'not inferable' where nothing else gives its
    count back).

    ``_also`` (a tuple of partition names per row) puts a row in further partitions, each treated like
    ``across``'s: cells that add up to a total the figure releases beside them (a roll-up's modes and the roll-up's
    own row, which is their sum: a released total with its cells in one partition leaves no lone suppressed cell),
    or two rows of the same sessions (one is withheld with the other).
    """
    if not rows:
        return pd.DataFrame(columns=[*keys, *STD_COLUMNS])
    t = pd.DataFrame(rows)
    val = t["value"].astype(float)
    if drop_empty:
        keep = (t["n_sessions"] > 0) | np.isfinite(val)
        if "month" in t and ctx.withheld_months:  # a withheld month shows the same rows, empty or not
            keep |= t["month"].isin(ctx.withheld_months)
        t = t[keep].reset_index(drop=True)
        val = t["value"].astype(float)
    forced = np.zeros(len(t), dtype=bool)
    if "force_suppress" in t:
        forced |= t["force_suppress"].fillna(False).astype(bool).to_numpy()
    forced |= ~np.isfinite(val.to_numpy())  # nothing to release
    if "_pusers" in t:
        # an empty cell describes nobody, unless its whole group is too small to be released
        small = ~ctx.passes(t["_pusers"].fillna(0), t["_ptotal"].fillna(0))
        forced |= (t["n_sessions"].to_numpy() == 0) & t["_pusers"].notna().to_numpy() & small
    if group is not None:
        t["_pgroup"] = group
    elif "_pgroup" not in t:
        t["_pgroup"] = None
    t["_pgroup"] = [g if isinstance(g, str) else f"row{i}" for i, g in enumerate(t["_pgroup"])]
    withheld = np.zeros(len(t), dtype=bool)
    if "_withheld" in t:
        withheld |= t["_withheld"].fillna(False).astype(bool).to_numpy()
    if "month" in t and ctx.withheld_months:
        withheld |= t["month"].isin(ctx.withheld_months).to_numpy()
    # A forced empty cell is withheld with its counts, 0 and 0: it adds nothing to the withheld cells of its partitions
    # (it counted as 1 session, so 8 real sessions beside two such cells read as 10 and passed).
    empty = (t["n_sessions"].to_numpy() == 0) & (t["n_users"].to_numpy() == 0)
    withheld |= forced & empty
    first = t["_first"].fillna(False).astype(bool).to_numpy() if "_first" in t else None
    recs = []
    for i, r in enumerate(t.to_dict("records")):
        rec = {"_g": r["_pgroup"], "n_users": int(r["n_users"]), "n_sessions": int(r["n_sessions"]),
               "_w": bool(withheld[i])}
        if forced[i] and not empty[i]:  # counts as a non-empty cell below every threshold
            rec["n_users"], rec["n_sessions"] = 0, 1
        if isinstance(r.get("_users"), set | frozenset):
            rec["_users"] = frozenset() if forced[i] else r["_users"]
        if first is not None:
            rec["_first"] = bool(first[i])
        recs.append(rec)
    sets = "_users" if "_users" in t else None
    released = apply_release_policy(recs, ctx.policy, group_by=["_g"], value_columns=[], withheld_column="_w",
                                    users_set_column=sets, first_resort_column="_first" if first is not None else None)
    sup = np.array([bool(r[SUPPRESSED]) for r in released], dtype=bool)  # (bool even when no cell is left)
    reason = [r[REASON] for r in released]
    partitions: list[list[str]] = []
    if across is not None and across in t:  # (value by mode over one month has no month column)
        hidden = t["_hidden"].fillna(False).astype(bool) if "_hidden" in t else pd.Series(False, index=t.index)
        partitions.append([
            f"{var}|{h}|{across}|{v}" if pd.notna(v) else r["_g"]
            for var, h, v, r in zip(t["variable"], hidden, t[across], recs, strict=True)
        ])
    if "_also" in t:
        also = [a if isinstance(a, tuple) else () for a in t["_also"]]
        for j in range(max((len(a) for a in also), default=0)):
            partitions.append([f"also|{a[j]}" if j < len(a) else f"solo{i}" for i, a in enumerate(also)])
    if partitions:
        partitions.append([r["_g"] for r in recs])

        def cascade() -> None:
            """Suppress, over every partition in turn, until none adds a cell."""
            changed = True
            while changed:  # each pass only adds suppressed cells: it ends
                changed = False
                for part in partitions:
                    for i, rec in enumerate(recs):
                        rec["_g"], rec["_w"] = part[i], bool(sup[i])
                    out = apply_release_policy(recs, ctx.policy, group_by=["_g"], value_columns=[],
                                               withheld_column="_w", users_set_column=sets,
                                               first_resort_column="_first" if first is not None else None)
                    for i, r in enumerate(out):
                        if r[SUPPRESSED] and not sup[i]:
                            sup[i], reason[i], changed = True, r[REASON], True

        def loss() -> tuple[int, int]:
            return sum(recs[i]["n_sessions"] for i in np.flatnonzero(sup)), int(sup.sum())

        cascade()
        # Each partition takes the smallest complement it needs, one partition after the other, so a complement taken
        # early can be dispensable once others are withheld (value by mode: Operate's index in 2025-12, 14 sessions,
        # went for its month; the mode's months were protected without it). Each complement is given back, biggest
        # first, and the partitions re-protected: kept when fewer sessions (then cells) are withheld than before.
        for i in sorted((i for i in range(len(t)) if sup[i] and reason[i] == R_COMPLEMENTARY and not withheld[i]),
                        key=lambda i: (-recs[i]["n_sessions"], -recs[i]["n_users"], i)):
            if not sup[i]:
                continue
            before, kept = loss(), (sup.copy(), list(reason))
            sup[i], reason[i] = False, None
            cascade()
            if loss() >= before:
                sup, reason = kept
    t["suppressed"] = sup
    t["suppression"] = [("derived" if forced[i] else reason[i]) if sup[i] else None for i in range(len(t))]
    if "_hidden" in t:
        t = t[~t["_hidden"].fillna(False).astype(bool)]
    t = t.drop(columns=[c for c in ("_pgroup", "_ptotal", "_pusers", "_hidden", "_withheld", "force_suppress", "_also",
                                     "_users", "_first") if c in t])
    ok = ~t["suppressed"].to_numpy()
    for c in _RELEASE_VALUES:
        if c in t:
            if c in ("n_users", "n_sessions"):
                t[c] = t[c].astype("Int64").where(ok, pd.NA)
            else:
                t[c] = t[c].astype(float).where(ok, np.nan)
    t.loc[~ok, "ci_method"] = None
    if "month" in t:  # withheld months at the ends of the range are not shown (Context._months_to_show)
        t = t[t["month"].isna() | t["month"].isin(ctx.months)]
    rest = [c for c in t.columns if c not in keys and c not in STD_COLUMNS and c != "suppression"]
    return t[[*keys, *rest, *STD_COLUMNS, "suppression"]].reset_index(drop=True)


def _withhold_derived(t: pd.DataFrame, hit: pd.Series) -> None:
    """Withhold the rows ``hit`` of ``t`` (in place) as derived from a withheld cell: no value, interval or counts."""
    t.loc[hit, "suppressed"] = True
    t.loc[hit, "suppression"] = "derived"
    t.loc[hit, ["value", "ci_low", "ci_high"]] = np.nan
    t.loc[hit, ["n_users", "n_sessions"]] = pd.NA
    t.loc[hit, "ci_method"] = None


def _suppress_with(t: pd.DataFrame, key: str, source: str, derived: str) -> pd.DataFrame:
    """Suppress each ``derived`` row whose ``source`` row (same ``key``) is suppressed or absent."""
    src = t[t["variable"] == source].set_index(key)["suppressed"]
    rows = t["variable"] == derived
    hit = rows & t[key].map(lambda k: bool(src.get(k, True)))
    if hit.any():
        _withhold_derived(t, hit)
    return t


def _codes(values: pd.Series, keys: Sequence[Any]) -> np.ndarray:
    """Position of each value in ``keys`` (-1: missing, NaN or not a key), by equality as in a dict lookup.

    A hash-table lookup of the whole column (``Index.get_indexer``), not one Python call per row: 3 s of a
    400K-session report went to ``Series.map`` here.
    """
    codes = np.asarray(pd.Index(list(keys)).get_indexer(values), dtype=np.int64)
    codes[pd.isna(values).to_numpy(dtype=bool)] = -1  # a missing value matches no key, not even a missing one
    return codes


def _mode_label(k: str) -> str:
    return label(WORK_MODES, k).name


def _exp_label(k: int) -> str:
    return f"{k} {label(EXPERTISE, k).name}"


def _facet_df(ctx: Context) -> pd.Series:
    """Mask of classified sessions."""
    return ctx.data.df["mode"].notna() if ctx.data.has_facets else pd.Series(False, index=ctx.data.df.index)


# --------------------------------------------------------------------------------------------
# figures


def fig_coverage(ctx: Context) -> Figure:
    d = ctx.data
    df = d.df
    rows: list[dict[str, Any]] = []
    bs = ctx.boot
    whole = np.zeros(len(df), dtype=np.int64)
    n_s, n_u = bs.population(whole, 1)
    rows.append({"dimension": "all", "level": "all", "variable": "sessions", "value": float(n_s[0]),
                 "ci_low": np.nan, "ci_high": np.nan, "n_users": int(n_u[0]), "n_sessions": int(n_s[0]),
                 "suppressed": False, "ci_method": "count", "_sessions": _session_rows(whole == 0)})
    rows.append({"dimension": "all", "level": "all", "variable": "users", "value": float(n_u[0]),
                 "ci_low": np.nan, "ci_high": np.nan, "n_users": int(n_u[0]), "n_sessions": int(n_s[0]),
                 "suppressed": False, "ci_method": "count"})
    for dim, col in (("agent (transcript format)", "source"), ("agent version", "version"), ("entrypoint", "entrypoint"),
                     ("model", "models"), ("month", "month")):
        if col not in df:
            continue
        vals = df[col].fillna("unknown").astype(str)
        if col == "models":
            vals = vals.str.split(",").str[0]
        # every month shown has its row (an empty one is withheld: see Context.__post_init__)
        levels = sorted(set(vals.unique()) | (set(ctx.months) if col == "month" else set()))
        codes = _codes(vals, levels)
        s, u = bs.population(codes, len(levels))
        at = bs.cell_sessions(codes, len(levels))
        # the months' withheld cells pass the user threshold on their distinct users, as Context decided them (each
        # counted as the largest's users, the first months, 1 and 4 users with 3 without a time, 6 distinct, took
        # the first month shown with them: a withheld month at the end of the report's months)
        by_level = pd.Series(df["user"].to_numpy(dtype=object)).groupby(codes).agg(set) if col == "month" else None
        for i, lv in enumerate(levels):
            rows.append({"dimension": dim, "level": lv, "variable": "sessions", "value": float(s[i]),
                         "ci_low": np.nan, "ci_high": np.nan, "n_users": int(u[i]), "n_sessions": int(s[i]),
                         "suppressed": False, "ci_method": "count", "_pgroup": f"coverage|{dim}",
                         **({"_sessions": at[i]} if at is not None else {}),
                         "_withheld": col == "month" and (lv in ctx.withheld_months
                                                          or (lv == "unknown" and ctx.untimed_withheld)),
                         **({"_users": by_level.get(i, set())} if by_level is not None else {})})
    if d.has_facets:
        classified = _facet_df(ctx).to_numpy()
        s, u = bs.population(np.where(classified, 0, -1), 1)
        rows.append({"dimension": "all", "level": "all", "variable": "classified sessions", "value": float(s[0]),
                     "ci_low": np.nan, "ci_high": np.nan, "n_users": int(u[0]), "n_sessions": int(s[0]),
                     "suppressed": False, "ci_method": "count", "_sessions": _session_rows(classified)})
    t = _finish(ctx, rows, ["dimension", "level"])
    hidden = (t["dimension"] == "month") & ~t["level"].isin([*ctx.months, "unknown"])
    t = t[~hidden].reset_index(drop=True)  # withheld months at the ends of the range (Context._months_to_show)
    started = pd.to_datetime(df["started_at"], utc=True) if "started_at" in df else pd.Series(dtype="datetime64[ns, UTC]")
    # The first and last days are one session's each: taken from the months every figure releases (a lone session
    # in 2026-09 printed 'to 2026-09-10', its day; a report of one user printed that user's first and last days).
    shown_months = set(ctx.months) - set(ctx.withheld_months)
    if _released_count(t, "all", "all") is None:
        shown_months = set()
    started = started.where(df["month"].isin(shown_months).to_numpy()) if len(started) else started
    extra = {
        "first_day": None if started.dropna().empty else started.min().date().isoformat(),
        "last_day": None if started.dropna().empty else started.max().date().isoformat(),
        # Damaged lines and transcript files count what a user's transcripts hold (a report of one user over a day
        # gave that day's exact numbers): released by the thresholds like any count (None: withheld). Damaged lines
        # describe the sessions that have any; the files, all the report's sessions.
        "damaged_lines": _released_total(ctx, "bad_lines", d.damaged_lines),
        "files": d.files if _released_count(t, "all", "all") is not None else None,
        # as coverage's month 'unknown' cell releases it (None: withheld below the thresholds)
        "sessions_without_time": _released_count(t, "month", "unknown"),
        "months": len(ctx.months),
        # withheld months left out at the ends of the range: each line of cells over the months has that many
        # withheld cells more than it shows (read by the report's final audit)
        "hidden_months": len(set(df["month"].dropna()) - set(ctx.months)),
    }
    return Figure("coverage", "Data coverage", "Counts of sessions and distinct (hashed) users per source, agent "
                  "version, entrypoint, first model and month; levels under the thresholds are suppressed.",
                  t, ["dimension", "level"], "count", subtitle="What the figures are computed from.",
                  n_sessions=int(n_s[0]), n_users=int(n_u[0]), extra=extra)


def _released_total(ctx: Context, column: str, total: int) -> int | None:
    """A sum of ``column`` over the report's sessions, released when none of them has any (0) or when those that
    have some pass the thresholds; None when withheld."""
    df = ctx.data.df
    if total == 0 or column not in df:
        return 0 if total == 0 else None
    has = (pd.to_numeric(df[column], errors="coerce").fillna(0) > 0).to_numpy()
    s, u = ctx.boot.population(np.where(has, 0, -1), 1)
    return total if bool(ctx.passes(u[0], s[0])) else None


def _released_count(t: pd.DataFrame, dimension: str, level: str) -> int | None:
    """A coverage level's released session count: 0 when the level has no row (no session), None when withheld."""
    x = t[(t["dimension"] == dimension) & (t["level"] == level) & (t["variable"] == "sessions")]
    if x.empty:
        return 0
    if bool(x.iloc[0]["suppressed"]) or pd.isna(x.iloc[0]["n_sessions"]):
        return None
    return int(x.iloc[0]["n_sessions"])


def _not_inferable_withheld(ctx: Context) -> bool:
    """Whether the sessions whose occupation is not inferable fail the thresholds (and are not none). The share of
    sessions where an occupation is inferable (in occupations, and by month) then releases no cell: any released
    cell gives its total (n / share), and the classified sessions (released: coverage, the occupations figure's n)
    minus that total are those sessions (1,500 - 1,497 = 3)."""
    if not ctx.data.has_facets:
        return False
    df = ctx.data.df
    ni = (_facet_df(ctx).to_numpy() & (df["occupation"] == NOT_INFERABLE).fillna(False).to_numpy())
    s, u = ctx.boot.population(np.where(ni, 0, -1), 1)
    return bool(s[0] > 0) and not bool(ctx.passes(u[0], s[0]))


def _inferable_share_withheld(ctx: Context) -> bool:
    """Whether the share of sessions where an occupation is inferable is withheld whole (in occupations, and by month):
    when the sessions whose occupation is not inferable fail the thresholds (:func:`_not_inferable_withheld`), or when
    the small occupations among the inferable ones could be protected by nothing but the largest (complements go
    smallest first: every other occupation with sessions is withheld before it, so the series would release zeros
    only). In the second case the series withheld whole keeps its inferable total (any released cell's n / share)
    unknown, and the not-inferable cell of the share of sessions, whose count then follows from nothing released,
    protects the small occupations there instead of the largest (the real corpus: 2, 1 and 1 sessions beside 168 of
    'Computer and Mathematical' and 181 not inferable withheld 'Computer and Mathematical' in both series, and the
    link between an occupation's two rows took it from the share of sessions too)."""
    if _not_inferable_withheld(ctx):
        return True
    if not ctx.data.has_facets or ctx.policy.individual:
        return False
    df = ctx.data.df
    occ = _codes(df["occupation"], SOC_KEYS)
    inf = _facet_df(ctx).to_numpy() & (occ >= 0)
    codes = np.where(inf, occ, -1)
    s, u, users = ctx.boot.population_users(codes, len(SOC_KEYS))
    cells = [{"n_users": int(u[k]), "n_sessions": int(s[k]), "_users": users[k]} for k in range(len(SOC_KEYS))]
    return complement_takes_largest(cells, ctx.policy, users_set_column="_users")


# The lines of the abstentions figure: each facet that can abstain (over the classified sessions, as every facet
# figure), and the sessions the classifier could not answer at all (every facet abstains; outside 'classified').
ABSTENTION_LINES: tuple[tuple[str, str], ...] = (
    ("expertise", "expertise: no level"),
    ("occupation", "occupation: not inferable"),
    ("outcome", "outcome: unclear"),
    ("session", "whole session: no answer"),
)


def _reasons(df: pd.DataFrame, facet: str) -> pd.Series:
    """Each session's reason for ``facet`` (a key of taxonomy.ABSTENTION_REASONS): a store classified before the
    reasons were stored has no column (NULL) or 'not_recorded'; both read 'not_recorded', and so does a key this
    version does not know, so that the reasons of a line add up to its total."""
    col = f"{facet}_reason"
    r = df[col].astype("string") if col in df else pd.Series(pd.NA, index=df.index, dtype="string")
    return r.where(r.isin(list(ABSTENTION_REASON_KEYS)), "not_recorded").fillna("not_recorded")


def fig_abstentions(ctx: Context) -> Figure:
    """How many sessions each facet abstained on, and why (taxonomy.ABSTENTION_REASONS), as released counts.

    A line's total is released on its own thresholds; its reasons add up to it, so they are one partition
    (complementary suppression: a withheld reason goes with others until the withheld ones jointly pass, on their
    distinct users), which also covers the facet's total that other figures give (classified - the sessions with a
    level; the occupations figure's not-inferable cell). The whole-session line counts the sessions the backend could
    not answer: the outcome line (unclear among the classified) plus it is the unclear sessions the success trend's
    months add up to, so when it is withheld the outcome line is withheld whole (and the other way round where those
    months give it: :func:`_withhold_session_line`)."""
    title = "Why facets have no finding"
    if not ctx.data.has_facets:
        return _unavailable("abstentions", title, "no classified sessions (run `codecensus classify`)")
    df = ctx.data.df
    cls = _facet_df(ctx).to_numpy()
    whole = df["abstained"].fillna(False).astype(bool).to_numpy() if "abstained" in df else np.zeros(len(df), bool)
    who = {
        "expertise": cls & df["expertise"].isna().to_numpy(),
        "occupation": cls & (df["occupation"] == NOT_INFERABLE).fillna(False).to_numpy(),
        "outcome": cls & (df["outcome"] == "unclear").fillna(False).to_numpy(),
        "session": whole,
    }
    users = df["user"].to_numpy(dtype=object)
    R = len(ABSTENTION_REASON_KEYS)
    rows: list[dict[str, Any]] = []
    for facet, facet_label in ABSTENTION_LINES:
        hit = who[facet]
        reason = _codes(_reasons(df, "outcome" if facet == "session" else facet), ABSTENTION_REASON_KEYS)
        s, u = ctx.boot.population(np.where(hit, 0, -1), 1)
        line = {"facet": facet, "facet_label": facet_label}
        rows.append({**line, "reason": "all", "reason_label": "all", "variable": "abstained", "value": float(s[0]),
                     "ci_low": np.nan, "ci_high": np.nan, "n_users": int(u[0]), "n_sessions": int(s[0]),
                     "suppressed": False, "ci_method": "count", "_pgroup": f"abstentions|{facet}|total",
                     "_sessions": _session_rows(hit)})
        rs, ru = ctx.boot.population(np.where(hit, reason, -1), R)
        for i in np.flatnonzero(rs > 0):
            rows.append({**line, "reason": ABSTENTION_REASON_KEYS[i],
                         "reason_label": ABSTENTION_REASON_WORDS[ABSTENTION_REASON_KEYS[i]], "variable": "sessions",
                         "value": float(rs[i]), "ci_low": np.nan, "ci_high": np.nan, "n_users": int(ru[i]),
                         "n_sessions": int(rs[i]), "suppressed": False, "ci_method": "count",
                         "_pgroup": f"abstentions|{facet}", "_users": set(users[hit & (reason == i)]),
                         "_sessions": _session_rows(hit & (reason == i))})
    a_s, a_u = ctx.boot.population(np.where(whole, 0, -1), 1)
    if a_s[0] > 0 and not bool(ctx.passes(a_u[0], a_s[0])):
        for r in rows:
            r["force_suppress"] = r["facet"] == "outcome"
    t = _finish(ctx, rows, ["facet", "facet_label", "reason", "reason_label"])
    n_s, n_u = ctx.boot.population(np.where(cls | whole, 0, -1), 1)
    notes = ["The facet lines count among the classified sessions (as the other figures do); the whole-session line "
             "counts the sessions the classifier could not answer at all, which no facet figure includes."]
    if bool((t["reason"] == "not_recorded").any()):
        notes.append("Reasons not recorded: these sessions were classified before codecensus stored why a facet has "
                     "no finding. Re-run `codecensus classify` to record them.")
    return Figure(
        "abstentions", title,
        "Sessions whose facet holds no finding (expertise without a level, occupation not inferable, outcome unclear) "
        "among the classified sessions, and the sessions the classifier could not answer at all, each counted by the "
        "reason the classifier stored; reasons under the thresholds are withheld with others so that no withheld "
        "count follows by subtraction from a line's total.",
        t, ["facet", "facet_label", "reason", "reason_label"], "count",
        subtitle="How often the classifier abstains, and why.",
        n_sessions=int(n_s[0]), n_users=int(n_u[0]), notes=notes,
    )


def withhold_linked(figs: list[Figure]) -> list[Figure]:
    """Cells withheld because another figure withholds the same sessions: the abstentions' occupation line is the
    occupations figure's not-inferable cell (its total, and its reasons add up to it), so where that cell is withheld
    (complementary suppression: other cells follow from it) the line is withheld whole. And the whole-session line
    where the outcome line is withheld and the success trend's released unclear months are both lines' sessions
    (:func:`_withhold_session_line`)."""
    by = {f.id: f for f in figs if f.available}
    _withhold_session_line(by)
    occ, ab = by.get("occupations"), by.get("abstentions")
    if occ is None or ab is None or ab.table.empty:
        return figs
    o = occ.table
    ni = o[(o["occupation"] == NOT_INFERABLE) & (o["variable"] == "share_of_sessions")]
    if ni.empty or not bool(ni["suppressed"].astype(bool).any()):
        return figs
    t = ab.table.copy()
    hit = (t["facet"] == "occupation") & ~t["suppressed"].astype(bool)
    if hit.any():
        _withhold_derived(t, hit)
        ab.table = t
    return figs


def _withhold_session_line(by: dict[str, Figure]) -> None:
    """Withhold the abstentions' whole-session line whole where the outcome line is withheld (below the thresholds)
    and the success trend's released unclear months (with a time) are exactly the sessions of both lines: those
    months less the whole-session line would give the outcome line (the mirror of :func:`fig_abstentions` withholding
    the outcome line with the whole-session line). Where a month is withheld, or unclear sessions have no time, the
    months are not both lines' sessions and nothing follows: the line stays."""
    ab, trend = by.get("abstentions"), by.get("success_trend")
    if ab is None or trend is None or ab.table.empty or trend.table.empty or "_sessions" not in ab.table:
        return
    t = ab.table
    total = t[t["variable"] == "abstained"].set_index("facet")
    if not {"outcome", "session"} <= set(total.index):
        return
    if not bool(total.loc["outcome", "suppressed"]) or bool(total.loc["session", "suppressed"]):
        return
    parts = [total.loc[k, "_sessions"] for k in ("outcome", "session")]
    m = trend.table
    m = m[(m["variable"] == "unclear") & ~m["suppressed"].astype(bool) & m["month"].notna()]
    if "_sessions" not in m or m.empty or not all(isinstance(x, np.ndarray) for x in [*parts, *m["_sessions"]]):
        return
    shown = np.unique(np.concatenate(list(m["_sessions"])))
    if not np.array_equal(shown, np.unique(np.concatenate(parts))):
        return
    t = t.copy()
    _withhold_derived(t, (t["facet"] == "session") & ~t["suppressed"].astype(bool))
    ab.table = t


def fig_occupations(ctx: Context) -> Figure:
    title = "Occupations"
    if not ctx.data.has_facets:
        return _unavailable("occupations", title, "no classified sessions (run `codecensus classify`)")
    df = ctx.data.df
    cls = _facet_df(ctx).to_numpy()
    occ = _codes(df["occupation"], OCCUPATION_KEYS)
    K = len(OCCUPATION_KEYS)
    e_all = ctx.boot.shares(np.where(cls & (occ >= 0), 0, -1), occ, 1, K)
    lo, hi = e_all.ci(ctx.level)
    keys = [{"occupation": k, "occupation_label": soc_name(k)} for k in OCCUPATION_KEYS]
    rows = _rows(keys, "share_of_sessions", e_all, lo, hi)
    inf = cls & (occ >= 0) & (df["occupation"] != NOT_INFERABLE).to_numpy()
    e_inf = ctx.boot.shares(np.where(inf, 0, -1), np.where(inf, occ, -1), 1, K)
    lo2, hi2 = e_inf.ci(ctx.level)
    inf_rows = _rows(keys, "share_where_inferable", e_inf, lo2, hi2, select=range(len(SOC_KEYS)))
    whole = _inferable_share_withheld(ctx)
    for r in rows + inf_rows:
        if whole:  # the series is withheld whole (see the function): nothing gives the not-inferable count back
            r["force_suppress"] = r["variable"] == "share_where_inferable"
            r["_first"] = r["occupation"] == NOT_INFERABLE
        else:  # an occupation's two rows are the same sessions: withheld in one, it must be withheld in the other
            r["_also"] = (f"occupation|{r['occupation']}",)
    t = _finish(ctx, rows + inf_rows, ["occupation", "occupation_label"])
    n_s, n_u = ctx.boot.population(np.where(cls, 0, -1), 1)
    return Figure(
        "occupations", title,
        f"Share of classified sessions per SOC 2018 major group, and among sessions where an occupation could be "
        f"inferred; {ctx.ci_text}.",
        t, ["occupation", "occupation_label"], "share",
        subtitle="Whose work the sessions do, inferred from the content (never from names or paths).",
        n_sessions=int(n_s[0]), n_users=int(n_u[0]),
    )


def _not_inferable_months_to_withhold(ctx: Context, t: pd.DataFrame) -> frozenset[str]:
    """The months whose cells of occupations by month (``t``, as released) must be withheld whole, so that no month's
    classified sessions whose occupation is not inferable follow by subtraction.

    A month's released share with its n gives the month's sessions with an inferable occupation (n / share), and
    work modes by month gives its classified sessions the same way: their difference is that month's sessions whose
    occupation is not inferable, a cell no threshold saw (1, 3 and 2 sessions of a store whose 12 such sessions
    passed as a whole). Over the months not released (and the sessions without a time) their sum is the occupations
    figure's not-inferable total (its two series' totals) less the released months'. So these cells, one per month
    and one for the sessions without a time, are a partition: when a released month's cell, or the cells of the
    months not released, are neither none nor passing the thresholds, the months to withhold are those the
    complementary rule withholds (the months not released count as withheld). Empty when nothing leaks."""
    if not ctx.data.has_facets or _inferable_share_withheld(ctx) or "month" not in t:
        return frozenset()
    df = ctx.data.df
    months = ctx.data.months
    M = len(months)
    shown = t[~t["suppressed"].astype(bool) & (pd.to_numeric(t["value"], errors="coerce").fillna(0) > 0)]
    known = set(shown["month"])
    rest = _facet_df(ctx).to_numpy() & (_codes(df["occupation"], SOC_KEYS) < 0)
    mi = _codes(df["month"], months)
    codes = np.where(rest, np.where(mi >= 0, mi, M), -1)
    s, u = ctx.boot.population(codes, M + 1)
    by_cell = pd.Series(df["user"].to_numpy(dtype=object)).groupby(codes).agg(set)
    users: list[set[Any]] = [by_cell.get(i, set()) for i in range(M + 1)]
    hidden = [i for i in range(M + 1) if not (i < M and months[i] in known)]

    def leaks(idx: list[int]) -> bool:
        n = int(s[idx].sum()) if idx else 0
        return n > 0 and not bool(ctx.passes(len(set().union(*(users[i] for i in idx))), n))

    if not any(leaks([i]) for i in range(M) if months[i] in known) and not leaks(hidden):
        return frozenset()
    recs = [{"_g": 0, "n_users": int(u[i]), "n_sessions": int(s[i]), "_w": i in hidden and s[i] > 0,
             "_users": users[i]} for i in range(M + 1)]
    out = apply_release_policy(recs, ctx.policy, group_by=["_g"], value_columns=[], withheld_column="_w",
                               users_set_column="_users")
    return frozenset(months[i] for i in range(M) if out[i][SUPPRESSED] and months[i] in known)


_UNTIMED = "untimed"  # the month of the rows :func:`_untimed_cells` adds (none of ``ctx.months``: dropped at the end)


def _untimed_cells(ctx: Context, group: np.ndarray, keys: Sequence[dict[str, Any]], variable: str) -> list[dict[str, Any]]:
    """Withheld rows for the sessions without a time, one per group (a mode, an occupation): a by-month line's cells
    add up to its group's cell over all sessions (another figure's) less these, so they take part in the line's
    partition (``across``) like a withheld month's cells (12 sessions without a time passed as a whole, but work modes
    less the released months gave 3 of them in build, 4 in fix, 1 in operate). No row is shown.

    A group without such sessions gets no row when they pass the thresholds as a whole: its empty withheld cell only
    withheld months of its line to hide that it is empty, a 0 that describes nobody (an empty cell is released as 0).
    When they do not pass, the empty cells stay: the groups they are not in would tell where a few sessions are."""
    untimed = ctx.data.df["month"].isna().to_numpy() & (group >= 0)
    if not untimed.any():
        return []
    s, u = ctx.boot.population(np.where(untimed, group, -1), len(keys))
    s_all, u_all = ctx.boot.population(np.where(untimed, 0, -1), 1)
    keep_empty = not bool(ctx.passes(u_all[0], s_all[0]))
    sessions = ctx.boot.cell_sessions(np.where(untimed, group, -1), len(keys))
    return [{**k, "month": _UNTIMED, "variable": variable, "value": 0.0, "ci_low": np.nan, "ci_high": np.nan,
             "n_users": int(u[g]), "n_sessions": int(s[g]), "suppressed": False, "ci_method": None,
             "_pgroup": f"{variable}|{_UNTIMED}", "_withheld": True,
             **({"_sessions": sessions[g]} if sessions is not None else {})}
            for g, k in enumerate(keys) if s[g] > 0 or keep_empty]


def _untimed_months(ctx: Context, t: pd.DataFrame, variable: str, population: np.ndarray) -> frozenset[str]:
    """The months to withhold whole in a share series over the months (``variable`` of ``t``, as released) whose
    groups, each month's sessions of ``population`` (a released cell's n / share), add up with the population's
    sessions without a time to totals other figures release (:data:`RELEASE_MONTH_GROUPS`: work modes' n, the
    occupations' inferable total). Those totals less the months the series gives a group of are the sessions without a
    time with those of the other months: where they are some but fail the thresholds (every month released gave 8
    classified sessions of 8 users without a time; :func:`_untimed_cells` protects each mode's line, not the months'
    sum), the months with the fewest sessions are withheld, one after the other, until they pass with them. Empty
    when nothing leaks.

    A month counts as given when the series releases a share above 0 of it: a share of 0 (an empty cell, n 0) gives
    no n / share, so a month whose only released cells are 0s keeps its group unknown (the audit reads none either,
    :data:`RELEASE_NESTED_TOTALS`). Before, both counted such a month as given, and the months with the fewest
    sessions were withheld whole for a rest that had that month's sessions too (fuzz seed 5013: 2025-10, 17 cells)."""
    if "month" not in t or not bool(population.any()):
        return frozenset()
    df = ctx.data.df
    rows = t[(t["variable"] == variable) & ~t["suppressed"].astype(bool)]
    shown = (pd.to_numeric(rows["value"], errors="coerce").fillna(0) > 0) & pd.to_numeric(rows["n_sessions"],
                                                                                        errors="coerce").notna()
    given = set(rows.loc[shown, "month"].dropna())
    given &= set(ctx.months)
    month = df["month"]
    rest = population & ~month.isin(given).to_numpy()
    user = df["user"].to_numpy(dtype=object)
    users = set(user[rest])
    n = int(rest.sum())
    if n == 0 or bool(ctx.passes(len(users), n)):
        return frozenset()
    counts = month[population & month.isin(given).to_numpy()].value_counts()
    gone: set[str] = set()
    for m in sorted(given, key=lambda m: (int(counts.get(m, 0)), m)):
        if bool(ctx.passes(len(users), n)):
            break
        at = population & (month == m).to_numpy()
        gone.add(m)
        n += int(at.sum())
        users |= set(user[at])
    return frozenset(gone)


def _untimed_n(ctx: Context) -> list[str]:
    """The note of a share series over the months (work modes, occupations by month) whose n counts its population's
    sessions without a time, which are in no month. Its n is its population's whole, a total other figures release
    (work modes' n, the occupations' inferable total): the sessions with a time alone, beside that total, gave those
    without one (596 classified sessions less 588: 8 of 8 users, where 12 without a time passed as a whole), and less
    the groups of the months it gives, the months it gives none of without them (a first month withheld and off the
    range, 92 sessions of 4 users, which passed only with the 8 without a time). Less those groups the whole is what
    :func:`_untimed_months` protects."""
    if not bool(ctx.data.df["month"].isna().any()):
        return []
    return ["n: with the sessions without a time, which are in no month."]


def _withhold_months_until_stable(rows: list[dict[str, Any]], t: pd.DataFrame, n_months: int,
                                  to_withhold: Callable[[pd.DataFrame], frozenset[str]],
                                  refinish: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``t`` (a by-month figure's table, as released) after withholding whole the months ``to_withhold`` names, again
    and again until it names no new month: suppressing again can give back a complementary cell, and with it a month's
    group. ``refinish`` suppresses ``rows`` again (their ``_withheld`` set here)."""
    gone: frozenset[str] = frozenset()
    for _ in range(n_months + 1):
        more = to_withhold(t) - gone
        if not more:
            break
        gone |= more
        for r in rows:
            r["_withheld"] = r["month"] in gone or r["month"] == _UNTIMED
        t = refinish()
    return t


def fig_occupations_by_month(ctx: Context, top: int = 6) -> Figure:
    title = "Occupations by month"
    if not ctx.data.has_facets or len(ctx.months) < 2:
        return _unavailable("occupations_by_month", title, "needs classified sessions in at least two months")
    df = ctx.data.df
    months = ctx.data.months
    occ = _codes(df["occupation"], SOC_KEYS)
    mi = _codes(df["month"], months)
    inf = (occ >= 0) & (mi >= 0)
    e = ctx.boot.shares(np.where(inf, mi, -1), np.where(inf, occ, -1), len(months), len(SOC_KEYS))
    lo, hi = e.ci(ctx.level)
    keys = [{"month": m, "occupation": k, "occupation_label": soc_name(k)} for m in months for k in SOC_KEYS]
    rows = _rows(keys, "share_where_inferable", e, lo, hi)
    whole = _inferable_share_withheld(ctx)
    if whole:  # the months' totals add up to the inferable sessions: see the function
        for r in rows:
            r["force_suppress"] = True
    rows += _untimed_cells(ctx, occ, [{"occupation": k, "occupation_label": soc_name(k)} for k in SOC_KEYS],
                           "share_where_inferable")
    # across: each occupation's months add up to its cell in the occupations figure
    t = _finish(ctx, rows, ["month", "occupation", "occupation_label"], across="occupation")
    # until no month is added: withholding some months can release others that the first pass withheld as complements
    # (2025-10's 14 sessions not inferable went back for 2026-02's 6, which then stood with the 2 without a time: 8)
    # and the months whose groups would give the inferable sessions without a time (see _untimed_months), and those
    # work modes by month gives no group of that the lines inside its groups withhold (_work_modes_untimed_months: a
    # month's group here is its classified sessions with an inferable occupation)
    t = _withhold_months_until_stable(
        rows, t, len(months),
        lambda t: (_not_inferable_months_to_withhold(ctx, t) | _untimed_months(ctx, t, "share_where_inferable", occ >= 0)
                   | _work_modes_untimed_months(ctx)),
        lambda: _finish(ctx, rows, ["month", "occupation", "occupation_label"], across="occupation"))
    # chart the largest groups only (the table keeps all)
    totals = pd.Series(occ[occ >= 0]).value_counts()
    shown = [SOC_KEYS[i] for i in totals.index[:top]]
    # its n: the sessions with an inferable occupation, with those without a time (see _untimed_n)
    n_s, n_u = ctx.boot.population(np.where(occ >= 0, 0, -1), 1)
    notes = [] if whole else _untimed_n(ctx)  # (withheld: nothing to say of it)
    if whole:  # its n is the inferable sessions, the inferable total withheld
        n_s, n_u = np.zeros(1, np.int64), np.zeros(1, np.int64)
        notes.append("n withheld: it is the sessions with an inferable occupation, which the occupations figure "
                     "withholds (with the classified sessions it would give those whose occupation is not inferable).")
    return Figure(
        "occupations_by_month", title,
        f"Each month, the share of sessions with an inferable occupation that belong to each SOC major group; "
        f"{ctx.ci_text}.",
        t, ["month", "occupation", "occupation_label"], "share",
        subtitle="Which occupations grow: the study saw management, sales and legal rise fastest outside software.",
        n_sessions=int(n_s[0]), n_users=int(n_u[0]), extra={"shown": shown}, notes=notes,
        sessions=None if whole else _session_rows(occ >= 0),
    )


def _left_out_cell(ctx: Context, rest: np.ndarray, variable: str, pgroup: str, **keys: Any) -> dict[str, Any]:
    """A withheld cell, never shown, of the sessions ``rest`` a line leaves out (:func:`_few_left_out`): with it in
    the line's partition, complementary suppression withholds cells of the line until they pass together."""
    s, u = ctx.boot.population(np.where(rest, 0, -1), 1)
    return {**keys, "variable": variable, "value": 0.0, "ci_low": np.nan, "ci_high": np.nan, "n_users": int(u[0]),
            "n_sessions": int(s[0]), "suppressed": False, "ci_method": None, "_pgroup": pgroup, "_withheld": True,
            "_hidden": True, "_users": frozenset(ctx.boot.codes[rest].tolist())}


def _few_left_out(ctx: Context, inner: np.ndarray, outers: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The sessions of each of ``outers`` (populations other figures release the count of, ``inner`` inside each by
    definition, :data:`RELEASE_NESTED_NS`, or in this store: :func:`_gap_populations`) not in ``inner``, where they
    are some but fail the thresholds: a count of ``inner`` beside the outer one gives them by subtraction. An outer
    population ``inner`` is not all inside gives nothing (the difference of the counts is no group of sessions)."""
    out = []
    for outer in outers:
        if (inner & ~outer).any():
            continue
        rest = outer & ~inner
        s, u = ctx.boot.population(np.where(rest, 0, -1), 1)
        if s[0] > 0 and not bool(ctx.passes(u[0], s[0])):
            out.append(rest)
    return out


def _gap_populations(ctx: Context, inner: np.ndarray | None = None) -> list[np.ndarray]:
    """The classified sessions, and of them those with each field a session can lack (a value, a planning share, an
    execution share), whose counts figures release (value by month's and value by mode's n; decisions' n and each
    kind's median and mean n). One of these inside another (in this store: the sessions without a value all without
    decision shares too) beside it gives the sessions of the outer one not in it, whatever the fields: a figure whose
    count is one of them takes the others as outer populations of :func:`_few_left_out` (value by month's n, 2,418
    sessions with a value, less decisions', those with a planning share among them, gave 8 of 3 users).

    With ``inner`` (the figure's own sessions), the groups work modes by month gives of the months ``inner`` has
    sessions in (:func:`_month_group_population`) too."""
    df = ctx.data.df
    out = [_facet_df(ctx).to_numpy()]
    for col in ("value_usd", "user_planning_pct", "user_execution_pct"):
        if col in df:
            out.append(out[0] & np.isfinite(df[col].to_numpy(dtype=np.float64)))
    return out + (_month_group_population(ctx, inner) if inner is not None else [])


def _month_group_population(ctx: Context, inner: np.ndarray) -> list[np.ndarray]:
    """The classified sessions (a mode) of the months ``inner`` (a figure's sessions) has sessions in, where work modes
    by month gives each of those months' groups (n / share) and ``inner`` has none without a time: the sum of those
    groups less ``inner``'s count is that union's sessions not in ``inner`` (fuzz seed 6038: 8 classified sessions
    without a value, all of one month, the 12 without a time all without one: value by month's n less the months'
    groups gave them, where work modes' n less it, 20, passed). Empty otherwise."""
    df = ctx.data.df
    month = df["month"]
    if not bool(inner.any()) or bool((inner & month.isna().to_numpy()).any()):
        return []
    if "work_modes_given_months" not in ctx.decided:
        fig_work_modes_by_month(ctx)  # (decides it; unavailable: none)
    given = ctx.decided.get("work_modes_given_months", frozenset())
    at = set(month[inner].dropna())
    if not at or not at <= given:
        return []
    return [(_codes(df["mode"], MODE_KEYS) >= 0) & month.isin(at).to_numpy()]


def fig_work_modes(ctx: Context) -> Figure:
    title = "Work modes"
    if not ctx.data.has_facets:
        return _unavailable("work_modes", title, "no classified sessions (run `codecensus classify`)")
    df = ctx.data.df
    mode = _codes(df["mode"], MODE_KEYS)
    e = ctx.boot.shares(np.where(mode >= 0, 0, -1), mode, 1, len(MODE_KEYS))
    lo, hi = e.ci(ctx.level)
    keys = [{"mode": k, "mode_label": _mode_label(k), "rollup": MODE_ROLLUP[k]} for k in MODE_KEYS]
    rows = _rows(keys, "share_of_sessions", e, lo, hi)
    rollups = sorted(set(MODE_ROLLUP.values()), key=lambda r: list(MODE_ROLLUP.values()).index(r))
    rcode = _codes(df["mode"].map(MODE_ROLLUP), rollups)
    er = ctx.boot.shares(np.where(rcode >= 0, 0, -1), rcode, 1, len(rollups))
    lor, hir = er.ci(ctx.level)
    rows += _rows([{"mode": r, "mode_label": r, "rollup": r} for r in rollups], "share_of_sessions_rollup", er, lor, hir)
    # A roll-up's row is the sum of its modes' rows: released beside them, it gave a lone withheld mode back (plan,
    # 3 sessions: plan/understand 101 - understand 98). Each roll-up and its modes are one partition too.
    for r in rows:
        r["_also"] = (f"rollup|{r['rollup']}",)
    t = _finish(ctx, rows, ["mode", "mode_label", "rollup"])
    n_s, n_u = ctx.boot.population(np.where(mode >= 0, 0, -1), 1)
    return Figure(
        "work_modes", title,
        f"Share of classified sessions by work mode (the mode of most of the work) and by roll-up; {ctx.ci_text}.",
        t, ["mode", "mode_label", "rollup"], "share", subtitle="What the sessions mainly did.",
        n_sessions=int(n_s[0]), n_users=int(n_u[0]), sessions=_session_rows(mode >= 0),
    )


def _lines_untimed_months(ctx: Context, classified: np.ndarray, mi: np.ndarray, ungiven: set[str]) -> frozenset[str]:
    """Of the months work modes by month gives no group of (``ungiven``), those the lines inside its groups
    (:data:`RELEASE_MONTH_INSIDE`: value by month, value by mode, success trend, occupations by month) withhold whole:
    work modes' n less
    the released months' groups and the lines' sessions of the other months is the classified sessions without a
    time with, for each such month, its classified sessions the lines do not release, which must be none or pass.

    The lines decide their own withheld months after this, so it reads them at their most: a month they are not told
    to withhold gives all its classified sessions with a value (value by month's raw row; value by mode's index cells
    are among them) where those pass the thresholds, and all its sessions with a known outcome (success trend's raw
    row) where those pass, and all its sessions with an outcome where its unclear ones pass (success trend's unclear
    share above 0: its n / share), and all its sessions with an inferable occupation where those pass (occupations by
    month's group, n / share: a store whose 8 classified sessions without a time were all not inferable released
    the month work modes by month withheld for them, all of whose sessions were inferable), the union of them (a cell
    below the thresholds is never released; a line that
    withholds more only leaves the reader more sessions, which pass where fewer do). Where the sessions without a
    time are some but fail the thresholds and that least rest fails too, months are withheld, the most sessions the
    lines could give first (the fewest months), until it passes. Before, every such month was withheld (the real
    corpus: 2026-02, 2026-05 and 2026-06's raw and mean rows of value by month, which the audit passes without)."""
    untimed = classified & (mi < 0)
    s_un, u_un = ctx.boot.population(np.where(untimed, 0, -1), 1)
    if not s_un[0] or bool(ctx.passes(u_un[0], s_un[0])):
        return frozenset()
    df = ctx.data.df
    months = ctx.data.months
    out = df["outcome"].astype("string") if "outcome" in df else pd.Series(pd.NA, index=df.index, dtype="string")
    known = (out.notna() & (out != "unclear")).fillna(False).to_numpy()
    unclear = (out == "unclear").fillna(False).to_numpy()
    valued = np.isfinite(df["value_usd"].to_numpy(dtype=np.float64)) if "value_usd" in df else np.zeros(len(df), bool)
    valued &= _facet_df(ctx).to_numpy()  # (value by month's and value by mode's sessions)
    inferable = _codes(df["occupation"], SOC_KEYS) >= 0  # (occupations by month's groups)

    def passing(x: np.ndarray) -> np.ndarray:
        s, u = ctx.boot.population(np.where(x, 0, -1), 1)
        return x if s[0] and bool(ctx.passes(u[0], s[0])) else np.zeros_like(x)

    at: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for m in sorted(ungiven):
        if m in months:
            here = mi == months.index(m)
            with_outcome = (known | unclear) & here if passing(unclear & here).any() else np.zeros_like(here)
            at[m] = (classified & here, classified & (passing(valued & here) | passing(known & here) | with_outcome
                                                      | passing(inferable & here)))
    rest = untimed.copy()
    for x, cover in at.values():
        rest |= x & ~cover
    gone: set[str] = set()
    for m in sorted(at, key=lambda m: (-int(at[m][1].sum()), m)):
        s, u = ctx.boot.population(np.where(rest, 0, -1), 1)
        if not s[0] or bool(ctx.passes(u[0], s[0])):
            break
        gone.add(m)
        rest |= at[m][0]
    return frozenset(gone)


def fig_work_modes_by_month(ctx: Context) -> Figure:
    """Work modes by month, computed once per context: the figures before it in :data:`FIGURES` (occupations by
    month) and the decisions that read its released months (:func:`_month_group_population`,
    :func:`_work_modes_untimed_months`) call it first; the report then takes the same figure."""
    if "work_modes_by_month" not in ctx.decided:
        ctx.decided["work_modes_by_month"] = _work_modes_by_month(ctx)
    return ctx.decided["work_modes_by_month"]


def _work_modes_by_month(ctx: Context) -> Figure:
    title = "Work modes by month"
    if not ctx.data.has_facets or len(ctx.months) < 2:
        return _unavailable("work_modes_by_month", title, "needs classified sessions in at least two months")
    df = ctx.data.df
    months = ctx.data.months
    mode = _codes(df["mode"], MODE_KEYS)
    mi = _codes(df["month"], months)
    ok = (mode >= 0) & (mi >= 0)
    e = ctx.boot.shares(np.where(ok, mi, -1), np.where(ok, mode, -1), len(months), len(MODE_KEYS))
    lo, hi = e.ci(ctx.level)
    keys = [{"month": m, "mode": k, "mode_label": _mode_label(k)} for m in months for k in MODE_KEYS]
    # across: each mode's months (and its sessions without a time) add up to its cell in the work modes figure
    rows = _rows(keys, "share_of_sessions", e, lo, hi)
    rows += _untimed_cells(ctx, mode, [{"mode": k, "mode_label": _mode_label(k)} for k in MODE_KEYS], "share_of_sessions")
    t = _finish(ctx, rows, ["month", "mode", "mode_label"], across="mode")
    # the months whose groups would give the classified sessions without a time (see _untimed_months): withheld whole,
    # until no month is added (suppressing again can give back a complementary cell, and with it a month's group)
    t = _withhold_months_until_stable(rows, t, len(months),
                                      lambda t: _untimed_months(ctx, t, "share_of_sessions", mode >= 0),
                                      lambda: _finish(ctx, rows, ["month", "mode", "mode_label"], across="mode"))
    # of the months it gives no group of (withheld whole, or as complements of the modes' cells without a time), where
    # the classified sessions without a time are some but few, those the lines inside its groups withhold too
    given = t[~t["suppressed"].astype(bool) & (pd.to_numeric(t["value"], errors="coerce").fillna(0) > 0)]
    ctx.decided["work_modes_given_months"] = frozenset(given["month"])
    ctx.decided["work_modes_untimed_months"] = _lines_untimed_months(ctx, mode >= 0, mi,
                                                                     set(ctx.months) - set(given["month"]))
    # its n: the classified sessions, with those without a time (work modes' n); see _untimed_n
    n_s, n_u = ctx.boot.population(np.where(mode >= 0, 0, -1), 1)
    return Figure(
        "work_modes_by_month", title,
        f"Each month, the share of classified sessions in each work mode; {ctx.ci_text}.",
        t, ["month", "mode", "mode_label"], "share",
        subtitle="How the mix of work shifts over time (the study: modifying code fell, operating and analysis rose).",
        n_sessions=int(n_s[0]), n_users=int(n_u[0]), sessions=_session_rows(mode >= 0), notes=_untimed_n(ctx),
    )


def _reference_mix(ctx: Context, mode: np.ndarray, valid: np.ndarray) -> np.ndarray:
    counts = np.bincount(mode[valid & (mode >= 0)], minlength=len(MODE_KEYS)).astype(float)
    return counts / counts.sum() if counts.sum() else counts


def _monthly_trend(
    ctx: Context, values: np.ndarray, valid: np.ndarray, *, as_index: bool, base_month: int | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Raw and work-mode-reweighted monthly means (optionally as an index, first month that passes = 100, or
    ``base_month``: the first month the figure releases, see :func:`fig_value_by_month`)."""
    df = ctx.data.df
    months = ctx.data.months
    M, S = len(months), len(MODE_KEYS)
    mi = _codes(df["month"], months)
    mode = _codes(df["mode"], MODE_KEYS)
    ok = valid & (mi >= 0) & np.isfinite(values)
    raw = ctx.boot.mean(np.where(ok, mi, -1), values, M)
    # a withheld month is no base of the index: the method names the base, and the index of released months beside
    # their means gives its mean (a hidden leading month was named: 'index (2025-10 = 100)')
    open_month = ~np.isin(np.asarray(months, dtype=object), list(ctx.withheld_months))
    released = ctx.passes(raw.n_users, raw.n_sessions) & np.isfinite(raw.est)
    cell = np.where(ok & (mode >= 0), mi * S + mode, -1)
    by = ctx.boot.mean(cell, values, M * S)
    cell_ok = ctx.passes(by.n_users, by.n_sessions)
    means = np.where(cell_ok, by.est, np.nan)
    reps = np.where(cell_ok[None, :], by.reps, np.nan)
    w = _reference_mix(ctx, mode, ok)
    rw, rw_reps = reweighted_means(means, reps, M, S, w)
    info: dict[str, Any] = {"reference_mix": {k: float(x) for k, x in zip(MODE_KEYS, w, strict=True)}}
    rows: list[dict[str, Any]] = []
    base = int(np.flatnonzero(released & open_month)[0]) if (released & open_month).any() else None
    if base is not None and base_month is not None:
        base = base_month
    if as_index and base is not None:
        r_est, r_reps, _ = index_series(raw.est, raw.reps, base)
        w_est, w_reps, _ = index_series(rw, rw_reps, base)
        info["base_month"] = months[base]
    else:
        r_est, r_reps, w_est, w_reps = raw.est, raw.reps, rw, rw_reps
    lo, hi = percentile_ci(r_reps, ctx.level)
    wlo, whi = percentile_ci(w_reps, ctx.level)
    # a month (or the index's base month) of one resampled unit has no interval: its replicates all repeat it
    assert raw.units is not None
    one = raw.units < 2
    if as_index and base is not None and one[base]:
        one[:] = True
    for arr in (lo, hi, wlo, whi):
        arr[one] = np.nan
    finite = values[ok]
    wilson_at: set[tuple[str, int]] = set()  # (variable, month index) given a Wilson interval: named as such
    if not as_index and len(finite) and np.isin(finite, (0.0, 1.0)).all():
        # a rate of exactly 0 or 1 has a degenerate bootstrap: Wilson, with the users (or sessions) as n
        n_eff = raw.n_sessions if ctx.resample_sessions else raw.n_users
        for var, arr_est, arr_lo, arr_hi in (("raw", r_est, lo, hi), ("reweighted", w_est, wlo, whi)):
            for i in range(M):
                if np.isfinite(arr_est[i]) and arr_est[i] in (0.0, 1.0) and n_eff[i] > 0:
                    a, b = wilson(arr_est[i] * n_eff[i], n_eff[i])
                    arr_lo[i], arr_hi[i] = float(a), float(b)
                    wilson_at.add((var, i))
    wilson_method = "wilson on units (degenerate bootstrap)"  # as Estimate.ci names it
    mlo, mhi = raw.ci(ctx.level)  # the monthly means themselves (rows 'mean' of an index)
    # the sessions behind each month (its n), and of a rate (values 0 or 1) those counted (share x n)
    rate = not as_index and len(finite) and bool(np.isin(finite, (0.0, 1.0)).all())
    for i, m in enumerate(months):
        common = {"month": m, "n_users": int(raw.n_users[i]), "n_sessions": int(raw.n_sessions[i]),
                  "suppressed": False, "ci_method": ctx.boot.method}
        if raw.sessions is not None:
            common["_sessions"] = raw.sessions[i]
            if rate:
                common["_num_sessions"] = raw.sessions[i][values[raw.sessions[i]] > 0]
        rows.append({**common, "variable": "raw", "value": float(r_est[i]), "ci_low": float(lo[i]),
                     "ci_high": float(hi[i]), "force_suppress": not released[i] or (as_index and base is None),
                     **({"ci_method": wilson_method} if ("raw", i) in wilson_at else {})})
        rows.append({**common, "variable": "reweighted", "value": float(w_est[i]), "ci_low": float(wlo[i]),
                     "ci_high": float(whi[i]), "force_suppress": not released[i] or (as_index and base is None),
                     **({"ci_method": wilson_method} if ("reweighted", i) in wilson_at else {})})
        if as_index:
            rows.append({**common, "variable": "mean", "value": float(raw.est[i]), "ci_low": float(mlo[i]),
                         "ci_high": float(mhi[i]), "force_suppress": not released[i]})
    return rows, info


def _untimed_lone_month(ctx: Context, t: pd.DataFrame, variable: str, population: np.ndarray) -> str | None:
    """The month to withhold in a line over the months (``variable`` of ``t``, as released) whose total another
    count gives (:data:`RELEASE_LINE_WHOLES`: the figure's n, abstentions' lines) and counts the sessions of
    ``population`` without a time, which are in no month: the total less the released months is them with the months
    withheld. Where they are some but too few and every month is released, that gave them (8 sessions of 8 users,
    where all 11 without a time passed as a whole); one month withheld beside them is a lone withheld cell of the line
    (their count follows from other figures: work modes' total less its months). So the month with the fewest
    sessions is withheld, and :func:`_finish` takes a complementary one with it. None: nothing to withhold (no such
    sessions, or enough, or months are withheld already, in the line or at the ends of the range)."""
    untimed = population & ctx.data.df["month"].isna().to_numpy()
    s, u = ctx.boot.population(np.where(untimed, 0, -1), 1)
    if s[0] == 0 or bool(ctx.passes(u[0], s[0])) or set(ctx.data.df["month"].dropna()) - set(ctx.months):
        return None
    line = t[t["variable"] == variable]
    if len(line) < 2 or bool(line["suppressed"].astype(bool).any()):
        return None
    return str(line.sort_values(["n_sessions", "month"]).iloc[0]["month"])


def _few_lacking(ctx: Context, lacking: np.ndarray, group: np.ndarray, n: int, *, together: bool = False,
                 ) -> np.ndarray:
    """For each of ``n`` groups (``group``: each session's, -1 none) whether its sessions that are ``lacking`` (a
    value, a share, a known outcome) are some but fail the thresholds: a released count of the group beside one of
    its sessions not lacking gives them (:func:`_few_left_out`, group by group).

    ``together``: where the groups so found are withheld by a line whose total is released (success trend's raw n
    less its released months gives their sessions not lacking), their lacking sessions together must pass too: the
    other groups with the most such sessions join them, one at a time, until they do (or none is left)."""
    s, u = ctx.boot.population(np.where(lacking, group, -1), n)
    few = (np.asarray(s) > 0) & ~np.asarray(ctx.passes(u, s), dtype=bool)
    while together and few.any():
        js, ju = ctx.boot.population(np.where(lacking & np.isin(group, np.flatnonzero(few)), 0, -1), 1)
        left = np.flatnonzero(~few & (np.asarray(s) > 0))
        if bool(ctx.passes(ju[0], js[0])) or not len(left):
            break
        few[left[int(np.argmax(np.asarray(s)[left]))]] = True
    return few


def _work_modes_untimed_months(ctx: Context) -> frozenset[str]:
    """Of the months work modes by month gives no group of (withheld whole so that its months' groups do not give the
    classified sessions without a time, :func:`_untimed_months`, or as complements of its cells without a time), where
    those sessions are some but too few, those :func:`_lines_untimed_months` names. The lines whose months are inside
    those groups (:data:`RELEASE_MONTH_INSIDE`: value by month, value by mode, success trend, occupations by month)
    withhold them: a month
    one of them released gave nearly all its group, and work modes' n less it and the other months' groups the sessions without a
    time with the month's few without a value (fuzz seed 2129: 4 sessions of 4 users)."""
    if "work_modes_untimed_months" not in ctx.decided:
        fig_work_modes_by_month(ctx)  # (decides it; unavailable: none)
    return ctx.decided.get("work_modes_untimed_months", frozenset())


def _value_gap_months(ctx: Context) -> frozenset[str]:
    """The months whose classified sessions without a value are some but fail the thresholds: a month's classified
    sessions (work modes by month: a released cell's n / share, :data:`RELEASE_MONTH_INSIDE`) less its sessions with a
    value (value by month's raw row's n, value by mode's index cells of the month added up) give them. Value by month
    and value by mode withhold these months (decided once, shared), with the months of the most such sessions until
    those of the months taken pass together: the figure's n less its released months is the withheld months' sessions
    with a value, and work modes by month's groups of them less that their classified sessions without one (a month's
    3, withheld with a complementary month that had none, gave those 3 so)."""
    if "value_gap_months" not in ctx.decided:
        month = np.where(_facet_df(ctx).to_numpy(), _codes(ctx.data.df["month"], ctx.months), -1)
        lacking = ~np.isfinite(ctx.data.df["value_usd"].to_numpy(dtype=np.float64))
        few = _few_lacking(ctx, lacking, month, len(ctx.months), together=True)
        ctx.decided["value_gap_months"] = frozenset(m for m, f in zip(ctx.months, few, strict=True) if f)
    return ctx.decided["value_gap_months"]


def fig_value_by_month(ctx: Context) -> Figure:
    title = "Value per session by month"
    df = ctx.data.df
    if not ctx.data.has_facets or len(ctx.months) < 2 or "value_usd" not in df or df["value_usd"].isna().all():
        return _unavailable("value_by_month", title, "needs value estimates in at least two months")
    vals = df["value_usd"].to_numpy(dtype=np.float64)

    def finish(withhold: frozenset[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
        base_month: int | None = None
        for _ in range(len(ctx.data.months) + 1):
            rows, info = _monthly_trend(ctx, vals, _facet_df(ctx).to_numpy(), as_index=True, base_month=base_month)
            for r in rows:
                r["_withheld"] = r["month"] in withhold
            # across: the months' means with their n add up to the mean over all months (value by mode: sum of mean x n)
            t = _finish(ctx, rows, ["month"], across="variable")
            # the base is a month released: complementary suppression can withhold the first month that passes, and the
            # others were indexed on it (the suppression does not depend on the base: the next pass withholds the same)
            out = ~t["suppressed"].astype(bool)
            raw = set(t.loc[out & (t["variable"] == "raw"), "month"])
            mean = t[out & (t["variable"] == "mean") & (t["value"].astype(float) > 0) & t["month"].isin(raw)]
            if "base_month" not in info or mean.empty or info["base_month"] == mean["month"].iloc[0]:
                break
            base_month = ctx.data.months.index(mean["month"].iloc[0])
        return t, info

    # a month's classified sessions (work modes by month: a released cell's n / share) less its sessions with a value
    # (its raw row's n) are its classified sessions without one: where they are some but fail the thresholds, the month
    # is withheld (with complementary ones)
    gaps = _value_gap_months(ctx) | _work_modes_untimed_months(ctx)
    t, info = finish(gaps)
    # the sessions with a value but without a time: the figure's n (and value by mode's) less the released months
    lone = _untimed_lone_month(ctx, t, "raw", np.isfinite(vals))
    if lone is not None:
        t, info = finish(gaps | {lone})
    base = info.get("base_month", "the first month")
    n_s, n_u = ctx.boot.population(np.where(np.isfinite(vals), 0, -1), 1)
    notes: list[str] = []
    if _few_left_out(ctx, np.isfinite(vals), _gap_populations(ctx, np.isfinite(vals))):
        n_s, n_u = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
        notes.append("n withheld: it is the classified sessions with a value, and the classified sessions (released) "
                     "less it would give those without one, fewer than the thresholds allow (or another released "
                     "count that holds them: those with decision shares).")
    return Figure(
        "value_by_month", title,
        f"Mean estimated value (professional hours × median wage) per session each month as an index ({base} = 100), "
        f"raw and reweighted to the whole period's work-mode mix; {ctx.ci_text} (each replicate indexed to its own base).",
        t, ["month"], "index",
        subtitle="An estimate, not a measurement: what the work would cost a professional without an agent.",
        n_sessions=int(n_s[0]), n_users=int(n_u[0]), extra=info,
        sessions=_session_rows(np.isfinite(vals)) if n_s[0] else None, notes=notes,
    )


def fig_value_by_mode(ctx: Context) -> Figure:
    title = "Value per session by work mode"
    df = ctx.data.df
    if not ctx.data.has_facets or "value_usd" not in df or df["value_usd"].isna().all():
        return _unavailable("value_by_mode", title, "needs value estimates")
    vals = df["value_usd"].to_numpy(dtype=np.float64)
    mode = _codes(df["mode"], MODE_KEYS)
    K = len(MODE_KEYS)
    keys = [{"mode": k, "mode_label": _mode_label(k)} for k in MODE_KEYS]
    mean = ctx.boot.mean(mode, vals, K)
    med = ctx.boot.quantile(mode, vals, K, 0.5)
    total = float(((mode >= 0) & np.isfinite(vals)).sum())
    rows = (_rows(keys, "mean_usd", mean, *mean.ci(ctx.level), partition_total=total)
            + _rows(keys, "median_usd", med, *med.ci(ctx.level), partition_total=total))
    # its sessions (the n, the modes' sum) are classified sessions with a value: the classified sessions (released)
    # less them are those without one; too few, they are a withheld cell of each line over the modes (no row shown)
    # and the n is withheld
    left_out = _few_left_out(ctx, np.isfinite(vals) & (mode >= 0), _gap_populations(ctx, np.isfinite(vals) & (mode >= 0)))
    # a mode's cell here beside its cell in work modes (its classified sessions) gives its sessions without a value:
    # where those are some but too few, the mode's cells here are withheld (RELEASE_NESTED_CELLS)
    few_at = _few_lacking(ctx, ~np.isfinite(vals), mode, K)
    for r in rows:  # (the mean's and the median's cells, in MODE_KEYS' order)
        r["_withheld"] = bool(few_at[MODE_KEYS.index(r["mode"])])
    rows += [_left_out_cell(ctx, rest, v, f"{v}|all", mode="left out", mode_label="left out")
             for rest in left_out for v in ("mean_usd", "median_usd")]
    # index by mode over months (each mode's first released month = 100); a month's modes here add up to its classified
    # sessions with a value: a month whose classified sessions without one are too few is withheld, as in value by month
    gaps = _value_gap_months(ctx) | _work_modes_untimed_months(ctx)
    months = ctx.data.months
    M = len(months)
    by: Estimate | None = None
    ok = np.zeros(0, dtype=bool)
    few_cell = np.zeros(0, dtype=bool)
    if M >= 2:
        mi = _codes(df["month"], months)
        cell = np.where((mi >= 0) & (mode >= 0), mode * M + mi, -1)
        by = ctx.boot.mean(cell, vals, K * M)
        # (mode, month) cells whose classified sessions without a value are few: the index cell beside work modes
        # by month's cell of the mode and month (n / share) gives them (RELEASE_NESTED_CELLS)
        few_cell = _few_lacking(ctx, ~np.isfinite(vals), cell, K * M)
        ok = (ctx.passes(by.n_users, by.n_sessions) & np.isfinite(by.est) & ~few_cell
              & np.tile(~np.isin(np.asarray(months, dtype=object), [*ctx.withheld_months, *gaps]), K))

    def index_rows(base_at: dict[str, int]) -> list[dict[str, Any]]:
        """Each mode's monthly means as an index on its month ``base_at`` (default: its first month that passes)."""
        out: list[dict[str, Any]] = []
        if by is None:
            return out
        for j, k in enumerate(MODE_KEYS):
            sl = slice(j * M, (j + 1) * M)
            okj = ok[sl]
            if okj.any():
                base = base_at.get(k, int(np.flatnonzero(okj)[0]))
                ie, ir, _ = index_series(by.est[sl], by.reps[:, sl], base)
                lo, hi = percentile_ci(ir, ctx.level)
                assert by.units is not None
                one = by.units[sl] < 2  # one resampled unit (in a month, or in the base month): no interval
                if one[base]:
                    one[:] = True
                lo[one], hi[one] = np.nan, np.nan
            else:
                # no month of the mode passes: no index, but its months' cells are withheld cells of their months
                # (a month's modes add up to value by month's n: without them a month whose released modes held all
                # but orchestrate's 4 sessions, of 3 users, gave those by subtraction)
                ie = lo = hi = np.full(M, np.nan)
            for i, m in enumerate(months):
                out.append({"mode": k, "mode_label": _mode_label(k), "month": m, "variable": "index",
                            "value": float(ie[i]), "ci_low": float(lo[i]), "ci_high": float(hi[i]),
                            "n_users": int(by.n_users[j * M + i]), "n_sessions": int(by.n_sessions[j * M + i]),
                            "suppressed": False, "ci_method": ctx.boot.method, "force_suppress": not okj[i],
                            "_pgroup": f"index|{k}", "_withheld": m in gaps or bool(few_cell[j * M + i]),
                            **({"_sessions": by.sessions[j * M + i]} if by.sessions is not None else {})})
        return out

    # The base is chosen among the months released: complementary suppression could withhold a mode's first month
    # that passes (Operate 2025-11), and its other months were shown against a base the reader could not see (named
    # in the text: a withheld month that passed the thresholds). The suppression does not depend on the base (counts
    # and the months that pass), so the months released under one base are those released under another.
    base_at = {k: int(np.flatnonzero(ok[j * M:(j + 1) * M])[0]) for j, k in enumerate(MODE_KEYS)
               if ok[j * M:(j + 1) * M].any()}
    first: dict[str, int] = {}
    # a mode's sessions without a time count in its mean_usd row and in none of its months: a withheld cell of the
    # mode's months (its mean_usd n less the released months gave 3 of them in build, 4 in fix, 1 in operate)
    untimed = [] if by is None else [
        {**r, "_pgroup": f"index|{r['mode']}"}
        for r in _untimed_cells(ctx, np.where(np.isfinite(vals), mode, -1), keys, "index")]
    for _ in range(M + 1):
        # a mode's months add up (n, and mean x n) to its mean_usd row; a month's modes to that month in value by month
        t = _finish(ctx, rows + index_rows(base_at) + untimed, ["mode", "mode_label"], across="month")
        if by is None or "month" not in t:
            break
        shown = t[(t["variable"] == "index") & ~t["suppressed"].astype(bool)]
        first = {}
        for j, k in enumerate(MODE_KEYS):
            # (a month with a mean of 0 is the base of nothing: the next released month is)
            at = sorted(i for i in (months.index(m) for m in shown.loc[shown["mode"] == k, "month"])
                        if float(by.est[j * M + i]) > 0)
            if at:
                first[k] = at[0]
        if all(base_at.get(k) == i for k, i in first.items()):
            break
        base_at = {**base_at, **first}
    if "month" not in t:
        t["month"] = None
    n_s, n_u = ctx.boot.population(np.where(np.isfinite(vals) & (mode >= 0), 0, -1), 1)
    notes: list[str] = []
    if left_out:
        n_s, n_u = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
        notes.append("n withheld: it is the classified sessions with a value, and the classified sessions (released) "
                     "less it would give those without one, fewer than the thresholds allow (or another released "
                     "count that holds them: those with decision shares); a mode is withheld with them.")
    bases = ", ".join(f"{_mode_label(k)} {months[i]}" for k, i in first.items()) or "none released"
    return Figure(
        "value_by_mode", title,
        f"Mean and median estimated value per session by work mode (USD), and each mode's monthly mean as an index "
        f"(its first released month = 100: {bases}); {ctx.ci_text}.",
        t, ["mode", "mode_label", "month"], "usd", subtitle="Where the value is, and where it grows.",
        n_sessions=int(n_s[0]), n_users=int(n_u[0]), notes=notes,
        sessions=_session_rows(np.isfinite(vals) & (mode >= 0)) if n_s[0] else None,
    )


def _level_n(ctx: Context, population: np.ndarray) -> tuple[int, int, list[str], np.ndarray | None]:
    """An expertise figure's n (sessions, users), its notes and its sessions (None: withheld). Its n is the classified
    sessions with a level (and the figure's data): the classified sessions (coverage) less it are those without a
    level (the abstentions' 'expertise: no level' line, with any that lack the figure's data), so where those fail the
    thresholds without being none the n is withheld (the real corpus: 353 classified less 344 with a level gave the 9
    of the withheld line)."""
    n_s, n_u = ctx.boot.population(np.where(population, 0, -1), 1)
    rest = _facet_df(ctx).to_numpy() & ~population if ctx.data.has_facets else np.zeros(len(population), bool)
    r_s, r_u = ctx.boot.population(np.where(rest, 0, -1), 1)
    if r_s[0] > 0 and not bool(ctx.passes(r_u[0], r_s[0])):
        return 0, 0, ["n withheld: it is the classified sessions with an expertise level, and the classified sessions "
                      "(released) less it would give those without one, fewer than the thresholds allow."], None
    return int(n_s[0]), int(n_u[0]), [], _session_rows(population)


def _levels_withheld(ctx: Context) -> frozenset[int]:
    """The expertise levels that every figure releasing a level's sessions withholds whole (expertise shape, by mode,
    outcome by expertise, recovery, the regression): one decision, shared, so that a level one of them withholds as a
    complement is not released by another (recovery's trouble at level 2 gave its sessions where expertise shape
    withheld them beside levels 1 and 5 of 2 sessions each: the classified sessions less levels 2-4 gave those 4).

    The sessions at no level (classified without one) and at the levels withheld are the cell of the level partition
    that the totals other figures release (the classified sessions; those with a known outcome; with one, known or
    unclear; unclear; not known; strict successes; the other known ones) less the released levels give: each such
    total's part there must be none or pass (sessions and distinct users). The levels that fail on their own are in
    it; complementary levels are added, fewest sessions first (a subset of the levels that pass, the fewest sessions
    withheld). A total that fails as a whole is withheld where it is released, and is not judged here; nor is one
    whose part at a released level no figure gives: the sessions with a known outcome, unclear or not known where
    outcome by expertise releases no rate of the level (nor the regression its n), strict successes and the other known
    ones where it does not release strict success (:func:`_outcome_plan`; the real corpus releases outcome rates at
    level 2 only, and its levels 1 and 5 with the 9 sessions without a level passed on the classified sessions).

    A level withheld here has its rates withheld, which can change the other levels' (:func:`_outcome_plan`): the
    levels are chosen again on what either plan discloses, until that no longer changes."""
    if not ctx.data.has_facets:
        return frozenset()
    if "levels_withheld" in ctx.decided:
        return ctx.decided["levels_withheld"]
    df = ctx.data.df
    ex = _codes(df["expertise"], list(EXPERTISE_LEVELS))
    cls = _facet_df(ctx).to_numpy() if "mode" in df else np.ones(len(df), dtype=bool)
    out = df["outcome"].astype("string")
    known = (out.notna() & (out != "unclear")).fillna(False).to_numpy()
    unclear = (out == "unclear").fillna(False).to_numpy()
    strict = (out == "verified_success").fillna(False).to_numpy()
    codes = ctx.boot.codes

    def cell(mask: np.ndarray) -> tuple[int, frozenset[int]]:
        return int(mask.sum()), frozenset(np.unique(codes[mask]).tolist())

    def ok(cells: Sequence[tuple[int, frozenset[int]]]) -> bool:
        s = sum(c[0] for c in cells)
        return s == 0 or bool(ctx.passes(len(frozenset().union(*(c[1] for c in cells))), s))

    # each total and what discloses its part at a level, given the level's rates (its whole: always)
    every: Callable[[frozenset[str]], bool] = lambda rates: True  # noqa: E731
    some: Callable[[frozenset[str]], bool] = lambda rates: bool(rates)  # noqa: E731
    ss: Callable[[frozenset[str]], bool] = lambda rates: "strict_success" in rates  # noqa: E731
    totals = [(p, d) for p, d in ((cls, every), (cls & (known | unclear), every), (known, some),
                                  (cls & unclear, some), (cls & ~known, some), (known & strict, ss),
                                  (known & ~strict, ss)) if ok([cell(p)])]
    at = [cls & (ex == lv) for lv in range(len(EXPERTISE_LEVELS))]
    own = [lv for lv in range(len(EXPERTISE_LEVELS)) if at[lv].any() and ok([cell(at[lv])])]  # the others: withheld
    rest = ~np.isin(ex, own)  # no level, or a level that fails
    # each total's part at no level (or a failing one) and at each level that passes: sessions and users
    parts = [(cell(p & rest), {lv: cell(p & (ex == lv)) for lv in own}, d) for p, d in totals]
    subsets = sorted((c for r in range(len(own) + 1) for c in itertools.combinations(own, r)),
                     key=lambda c: (sum(int(at[lv].sum()) for lv in c), len(c), c))

    def levels(extra: Sequence[int]) -> frozenset[int]:
        return frozenset(EXPERTISE_LEVELS[lv] for lv in range(len(EXPERTISE_LEVELS))
                         if at[lv].any() and (lv not in own or lv in extra))

    def fine(extra: Sequence[int], shown: dict[int, frozenset[str]]) -> bool:
        kept = [lv for lv in own if lv not in extra]  # the released levels: each must disclose a total's part
        return all(ok([base, *(by[lv] for lv in extra)]) for base, by, d in parts
                   if all(d(shown[EXPERTISE_LEVELS[lv]]) for lv in kept))

    shown: dict[int, frozenset[str]] = {EXPERTISE_LEVELS[lv]: frozenset() for lv in own}  # rates disclosed so far
    gone = levels(())
    for _ in range(len(own) * len(_RATES) + 2):  # what is disclosed only grows: it settles
        plan = _outcome_plan(ctx, gone)
        shown = {k: v | plan[k] for k, v in shown.items()}
        now = levels(next((c for c in subsets if fine(c, shown)), tuple(own)))
        if now == gone:
            break
        gone = now
    ctx.decided["levels_withheld"] = gone
    return gone


def fig_expertise_shape(ctx: Context) -> Figure:
    title = "Expertise, actions and words per prompt"
    if not ctx.data.has_facets:
        return _unavailable("expertise_shape", title, "no classified sessions")
    df = ctx.data.df
    ex = _codes(df["expertise"], list(EXPERTISE_LEVELS))
    K = len(EXPERTISE_LEVELS)
    keys = [{"expertise": lv, "expertise_label": _exp_label(lv)} for lv in EXPERTISE_LEVELS]
    rows: list[dict[str, Any]] = []
    prompts = df["prompts"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        visible_pp = np.where(prompts > 0, df["visible_words"].to_numpy(dtype=np.float64) / prompts, np.nan)
    for var, vals in (("actions_per_prompt", df["actions_per_prompt"].to_numpy(dtype=np.float64)),
                      ("words_per_prompt", df["words_per_prompt"].to_numpy(dtype=np.float64)),
                      ("visible_words_per_prompt", visible_pp)):
        e = ctx.boot.mean(ex, vals, K)
        rows += _rows(keys, var, e, *e.ci(ctx.level), partition_total=float(((ex >= 0) & np.isfinite(vals)).sum()))
    gone = _levels_withheld(ctx)
    for r in rows:
        r["_withheld"] = r["expertise"] in gone
    t = _finish(ctx, rows, ["expertise", "expertise_label"])
    n_s, n_u, notes, pop = _level_n(ctx, (ex >= 0) & (prompts > 0))
    return Figure(
        "expertise_shape", title,
        f"Mean over sessions of actions per prompt and words of output per prompt (visible replies plus what the "
        f"agent wrote through tools; visible replies alone beside it), by expertise level; {ctx.ci_text}.",
        t, ["expertise", "expertise_label"], "number",
        subtitle="Experts delegate bigger steps: more actions and more output per prompt (study: ~5 → ~10, ~600 → ~3,200).",
        n_sessions=n_s, n_users=n_u, notes=notes, sessions=pop,
    )


def fig_expertise_shape_by_mode(ctx: Context) -> Figure:
    title = "Actions per prompt by expertise, within each work mode"
    if not ctx.data.has_facets:
        return _unavailable("expertise_shape_by_mode", title, "no classified sessions")
    df = ctx.data.df
    ex = _codes(df["expertise"], list(EXPERTISE_LEVELS))
    mode = _codes(df["mode"], MODE_KEYS)
    E = len(EXPERTISE_LEVELS)
    cell = np.where((ex >= 0) & (mode >= 0), mode * E + ex, -1)
    K = len(MODE_KEYS) * E
    keys = [{"mode": m, "mode_label": _mode_label(m), "expertise": lv, "expertise_label": _exp_label(lv)}
            for m in MODE_KEYS for lv in EXPERTISE_LEVELS]
    rows: list[dict[str, Any]] = []
    for var in ("actions_per_prompt", "words_per_prompt"):
        v = df[var].to_numpy(dtype=np.float64)
        e = ctx.boot.mean(cell, v, K)
        rows += _rows(keys, var, e, *e.ci(ctx.level), partition_total=float(((cell >= 0) & np.isfinite(v)).sum()))
    gone = _levels_withheld(ctx)
    for r in rows:
        r["_withheld"] = r["expertise"] in gone
    # across: a level's cells over the modes add up (n, and mean x n) to the level's cell in expertise_shape
    t = _finish(ctx, rows, ["mode", "mode_label", "expertise", "expertise_label"], across="expertise")
    n_s, n_u, notes, pop = _level_n(ctx, cell >= 0)
    return Figure(
        "expertise_shape_by_mode", title,
        f"Mean actions per prompt and words per prompt for each work mode × expertise cell (cells under the thresholds "
        f"suppressed); {ctx.ci_text}.",
        t, ["mode", "mode_label", "expertise", "expertise_label"], "number",
        subtitle="Whether the expertise gradient holds within every kind of work, not just across the mix.",
        n_sessions=n_s, n_users=n_u, notes=notes, sessions=pop,
    )


def _rate_rows(
    ctx: Context, group: np.ndarray, indicator: np.ndarray, population: np.ndarray, n_groups: int,
    keys: Sequence[dict[str, Any]], variable: str,
) -> list[dict[str, Any]]:
    """Share of ``population`` sessions in each group where ``indicator`` holds.

    The released population of a rate is its numerator (the sessions where the
    indicator holds); its complement in the group is checked by the
    complementary-suppression step (a handful of sessions left over would be derivable).
    """
    g = np.where(population & (group >= 0), group, -1)
    cat = np.where(indicator, 1, 0)
    e = ctx.boot.shares(g, cat, n_groups, 2)
    lo, hi = e.ci(ctx.level)
    sel = [i * 2 + 1 for i in range(n_groups)]
    assert e.den is not None
    assert e.den_users is not None
    est = Estimate(e.est[sel], e.reps[:, sel], e.n_sessions[sel], e.n_users[sel], [e.ci_method[i] for i in sel],
                   den=e.den[sel], den_users=e.den_users[sel], group=np.arange(n_groups, dtype=np.int64),
                   users=[e.users[i] for i in sel] if e.users is not None else None,
                   sessions=[e.sessions[i] for i in sel] if e.sessions is not None else None,
                   den_sessions=[e.den_sessions[i] for i in sel] if e.den_sessions is not None else None)
    rows = _rows(keys, variable, est, lo[sel], hi[sel])
    # the rest of each group: derivable as group minus numerator, so it takes part in suppression
    for g in range(n_groups):
        rows.append({**keys[g], "variable": variable, "value": 0.0, "ci_low": np.nan, "ci_high": np.nan,
                     "n_users": int(e.n_users[g * 2]), "n_sessions": int(e.n_sessions[g * 2]), "suppressed": False,
                     "ci_method": None, "_pgroup": f"{variable}|{g}", "_hidden": True,
                     **({"_users": e.users[g * 2]} if e.users is not None else {})})
    return rows


# The outcome cells of a level that its rates can disclose, one atom each: verified success, success or partial
# without evidence, failure, unclear.
_OUTCOME_ATOMS: tuple[tuple[str, ...], ...] = (("verified_success",), ("success", "partial"), ("failure",),
                                               ("unclear",))
_RATES = ("strict_success", "at_least_partial", "failure", "unclear")

# What a level can release, richest first: the rates released together and the partition of the level's atoms
# (indices into :data:`_OUTCOME_ATOMS`) they disclose, given the level's sessions (released by other figures:
# expertise, actions and words per prompt). A known-outcome rate gives the level's sessions with a known outcome
# (n / share), hence its unclear ones: the unclear share adds nothing and goes with it. At least partial and failure
# give each other (their numerators add up to the known sessions): they go together. Strict success with at least
# partial (or failure) gives every atom (at least partial's n minus strict success's: success or partial without
# evidence).
_OUTCOME_OPTIONS: tuple[tuple[frozenset[str], tuple[tuple[int, ...], ...]], ...] = (
    (frozenset(_RATES), ((0,), (1,), (2,), (3,))),
    (frozenset({"strict_success", "unclear"}), ((0,), (1, 2), (3,))),
    (frozenset({"at_least_partial", "failure", "unclear"}), ((0, 1), (2,), (3,))),
    (frozenset({"unclear"}), ((0, 1, 2), (3,))),
    (frozenset(), ((0, 1, 2, 3),)),
)

# Totals over the levels that other figures release, as groups of atoms: strict success (success by month), the rest
# of the known outcomes (success by month's n and the regression's n less it), unclear (abstentions). A total less the
# levels that disclose its atoms is the atoms of the others.
_OUTCOME_TOTALS: tuple[tuple[int, ...], ...] = ((0,), (1, 2), (3,))


def _outcome_rates_released(ctx: Context) -> dict[int, frozenset[str]]:
    """The rates outcome by expertise releases at each level (:func:`_outcome_plan`), none at the levels every
    expertise figure withholds (:func:`_levels_withheld`)."""
    return _outcome_plan(ctx, _levels_withheld(ctx))


def _outcome_plan(ctx: Context, gone: frozenset[int]) -> dict[int, frozenset[str]]:
    """The rates outcome by expertise releases at each expertise level: per level one of :data:`_OUTCOME_OPTIONS`,
    the one releasing the most (strict success first: the returns to expertise), such that every group a reader can
    derive is none or passes the thresholds (sessions, and distinct users of the group):

    - in a level, each atom of the partition its rates disclose (:data:`_OUTCOME_OPTIONS`; every derivable group of the
      level is a union of them): strict success and unclear released leave its 3 failures hidden among its partial
      outcomes, where the failure rate (or at least partial, which gives it back) would show them;
    - across levels, what the totals of :data:`_OUTCOME_TOTALS` less the disclosed cells give: a reader combines a total
      with any level's disclosed groups, so each combination whose cells are all 0 or 1 (enumerated below) must be none
      or pass (6 unclear sessions at the only level that withholds them are the unclear total less the other levels').

    Before, a level with one small atom was withheld whole (its 3 failures took its strict success with them).
    None at the levels in ``gone``."""
    if ("outcome_plan", gone) in ctx.decided:
        return ctx.decided[("outcome_plan", gone)]
    df = ctx.data.df
    K = len(EXPERTISE_LEVELS)
    ex = _codes(df["expertise"], list(EXPERTISE_LEVELS))
    out = df["outcome"].astype("string")
    user = df["user"].to_numpy(dtype=object)
    hits = [out.isin(list(keys)).fillna(False).to_numpy() for keys in _OUTCOME_ATOMS]  # once, not per level
    cells: list[list[tuple[int, frozenset[Any]]]] = []  # [level][atom]: sessions and users
    for lv in range(K):
        at = ex == lv
        row = []
        for h in hits:
            hit = at & h
            row.append((int(hit.sum()), frozenset(user[hit].tolist())))
        cells.append(row)

    def small(group: Sequence[tuple[int, int]]) -> bool:
        s = sum(cells[lv][a][0] for lv, a in group)
        users: set[Any] = set()
        for lv, a in group:
            users |= cells[lv][a][1]
        return s > 0 and not bool(ctx.passes(len(users), s))

    # the options each level can take on its own (a level's whole is released elsewhere: not checked here); none at
    # a level every expertise figure withholds (_levels_withheld)
    allowed = [[o for o, (rates, part) in enumerate(_OUTCOME_OPTIONS)
                if all(len(b) == len(_OUTCOME_ATOMS) or not small([(lv, a) for a in b]) for b in part)
                and (EXPERTISE_LEVELS[lv] not in gone or not rates)]
               for lv in range(K)]
    # A derived group is a combination of the totals (a weight per total, so per atom) and of the levels' disclosed
    # groups whose cells are all 0 or 1: within each disclosed group the atoms' weights differ by at most 1 and the
    # group's cells are those of the larger weight (or none, or all: groups the level discloses anyway). Three totals:
    # weights 0..2 give every pattern (a shift of all of them is the levels' sessions, known).
    weights = [w for w in itertools.product(range(3), repeat=len(_OUTCOME_TOTALS)) if min(w) == 0]
    atom_w = [[0] * len(_OUTCOME_ATOMS) for _ in weights]
    for i, w in enumerate(weights):
        for t, atoms in enumerate(_OUTCOME_TOTALS):
            for a in atoms:
                atom_w[i][a] = w[t]

    def leaks(plan: Sequence[int]) -> bool:
        for aw in atom_w:
            group: list[tuple[int, int]] = []
            for lv, o in enumerate(plan):
                for b in _OUTCOME_OPTIONS[o][1]:
                    ws = [aw[a] for a in b]
                    if max(ws) - min(ws) > 1:
                        break
                    group += [(lv, a) for a in b if aw[a] > min(ws)]
                else:
                    continue
                group = []  # not a 0/1 combination
                break
            else:
                if small(group):
                    return True
        return False

    def score(plan: Sequence[int]) -> tuple[int, int]:
        rates = [_OUTCOME_OPTIONS[o][0] for o in plan]
        return sum("strict_success" in r for r in rates), sum(len(r) for r in rates)

    # the plans by what they release (the richest first; ties in level order of the options): the first that leaks
    # nothing (withholding everything leaks nothing but the totals, released elsewhere)
    plans = sorted(itertools.product(*allowed), key=lambda p: (tuple(-x for x in score(p)), p))
    best = next((p for p in plans if not leaks(p)), (len(_OUTCOME_OPTIONS) - 1,) * K)
    plan = {EXPERTISE_LEVELS[lv]: _OUTCOME_OPTIONS[o][0] for lv, o in enumerate(best)}
    ctx.decided[("outcome_plan", gone)] = plan
    return plan


def _outcome_levels_to_withhold(ctx: Context) -> frozenset[int]:
    """The expertise levels outcome by expertise releases no rate of (:func:`_outcome_rates_released`): their
    sessions with a known outcome are not disclosed, so the regression withholds their n too (with the level's
    sessions, released elsewhere, it would give its unclear ones)."""
    return frozenset(lv for lv, rates in _outcome_rates_released(ctx).items() if not rates)


def fig_outcomes_by_expertise(ctx: Context) -> Figure:
    title = "Outcome by expertise"
    if not ctx.data.has_facets:
        return _unavailable("outcomes_by_expertise", title, "no classified sessions")
    df = ctx.data.df
    ex = _codes(df["expertise"], list(EXPERTISE_LEVELS))
    K = len(EXPERTISE_LEVELS)
    out = df["outcome"].astype("string")
    known = (out.notna() & (out != "unclear")).to_numpy()
    has = out.notna().to_numpy()
    keys = [{"expertise": lv, "expertise_label": _exp_label(lv)} for lv in EXPERTISE_LEVELS]
    rows = _rate_rows(ctx, ex, (out == "verified_success").fillna(False).to_numpy(), known, K, keys, "strict_success")
    rows += _rate_rows(ctx, ex, out.isin(list(AT_LEAST_PARTIAL)).fillna(False).to_numpy(), known, K, keys,
                       "at_least_partial")
    rows += _rate_rows(ctx, ex, (out == "failure").fillna(False).to_numpy(), known, K, keys, "failure")
    rows += _rate_rows(ctx, ex, (out == "unclear").fillna(False).to_numpy(), has, K, keys, "unclear")
    released = _outcome_rates_released(ctx)
    for r in rows:
        r["_withheld"] = r["variable"] not in released[r["expertise"]]
    t = _finish(ctx, rows, ["expertise", "expertise_label"])
    n_s, n_u, n_notes, pop = _level_n(ctx, has & (ex >= 0))
    names = {"strict_success": "strict success", "at_least_partial": "at least partial", "failure": "failure",
             "unclear": "unclear"}
    notes = [f"{_exp_label(lv)}: {', '.join(names[v] for v in _RATES if v not in rates)} withheld (with the rates "
             "released they would give a group of sessions below the thresholds, at the level or against the totals "
             "of other figures)" for lv, rates in released.items()
             if rates and len(rates) < len(_RATES) and int(((ex == EXPERTISE_LEVELS.index(lv)) & has).sum())]
    return Figure(
        "outcomes_by_expertise", title,
        f"Strict success (verified: a commit, passing tests or the user's confirmation), at least partial success and "
        f"failure as shares of sessions whose outcome is not unclear; the unclear share is over all sessions; {ctx.ci_text}.",
        t, ["expertise", "expertise_label"], "share",
        subtitle="How often the work gets done, by the user's expertise at the task.",
        n_sessions=n_s, n_users=n_u, notes=notes + n_notes, sessions=pop,
    )


def fig_recovery_by_expertise(ctx: Context) -> Figure:
    title = "Trouble, recovery and abandonment by expertise"
    df = ctx.data.df
    if not ctx.data.has_facets or "trouble" not in df or df["trouble"].isna().all():
        return _unavailable("recovery_by_expertise", title, "no trouble flags")
    ex = _codes(df["expertise"], list(EXPERTISE_LEVELS))
    K = len(EXPERTISE_LEVELS)
    keys = [{"expertise": lv, "expertise_label": _exp_label(lv)} for lv in EXPERTISE_LEVELS]
    trouble = df["trouble"].fillna(False).astype(bool).to_numpy()
    has = df["trouble"].notna().to_numpy()
    rows = _rate_rows(ctx, ex, trouble, has, K, keys, "trouble")
    rows += _rate_rows(ctx, ex, df["recovered"].fillna(False).astype(bool).to_numpy(), trouble, K, keys, "recovered")
    rows += _rate_rows(ctx, ex, df["abandoned"].fillna(False).astype(bool).to_numpy(), trouble, K, keys, "abandoned")
    gone = _levels_withheld(ctx)
    for r in rows:
        r["_withheld"] = r["expertise"] in gone
    t = _finish(ctx, rows, ["expertise", "expertise_label"])
    n_s, n_u, n_notes, pop = _level_n(ctx, has & (ex >= 0))
    return Figure(
        "recovery_by_expertise", title,
        f"Share of sessions with trouble (repeated errors, failed attempts, corrections); among all of those (unclear "
        f"outcomes included), the share that still ended in success, verified or not (recovered), and the share the "
        f"user stopped with the problem unresolved (abandoned, as the classifier flagged it: taxonomy section 3). "
        f"Abandoned is not the failure rate: it counts partial outcomes left with the problem open as well as "
        f"failures; sessions in trouble that are neither (e.g. a partial outcome with nothing left open) count in "
        f"neither share; {ctx.ci_text}.",
        t, ["expertise", "expertise_label"], "share",
        subtitle="The study: experts recover from trouble more and leave it unresolved less.",
        n_sessions=n_s, n_users=n_u, notes=n_notes, sessions=pop,
    )


def _code_occupations_to_withhold(ctx: Context, t: pd.DataFrame, occ: np.ndarray, code: np.ndarray, has: np.ndarray,
                                  unclear: np.ndarray, gone: dict[str, bool]) -> dict[str, bool]:
    """The occupations of success by occupation (``t``, as released) to withhold further, so that the code-producing
    sessions of the occupations it does not disclose do not follow by subtraction: occupation -> whole (every row of
    it) or not (its unclear row only). Empty when nothing leaks. ``gone``: those withheld so far.

    An occupation's released unclear share with its n gives its code-producing sessions with an outcome (n / share);
    its released strict success share gives those whose outcome is known, and with the unclear row's n (0 when the
    share is 0) all of them. Over the occupations, with the code-producing sessions without an outcome or occupation,
    they add up to the code roll-up work modes releases (827): the roll-up less the disclosed occupations' sessions
    is the rest's (8: 1 of one occupation, 7 not inferable). Those sessions must be none, or over two or more
    occupations and pass the thresholds; otherwise the occupations that add the fewest sessions to them are withheld
    (the unclear row where the strict success row gives the rest of the occupation's sessions, else every row)."""
    if ctx.policy.individual or "variable" not in t:
        return {}
    keys = OCCUPATION_KEYS
    user = ctx.data.df["user"].to_numpy(dtype=object)
    pop = code & has & (occ >= 0)
    shown = t[~t["suppressed"].astype(bool)].set_index(["variable", "occupation"])["value"].astype(float)

    def value(var: str, k: str) -> float | None:
        return float(shown[(var, k)]) if (var, k) in shown.index else None

    def unknown(k: int, no_unclear: bool, no_strict: bool) -> np.ndarray:
        """The sessions of occupation ``k`` the released rows do not disclose."""
        strict_v, unclear_v = value("strict_success", keys[k]), value("unclear", keys[k])
        strict = not no_strict and strict_v is not None and strict_v > 0
        unc = None if no_unclear else unclear_v
        if unc is not None and (unc > 0 or strict):
            return np.zeros(len(occ), dtype=bool)
        return pop & (occ == k) & (unclear if strict else True)

    state = {k: (keys[k] in gone, bool(gone.get(keys[k]))) for k in range(len(keys))}
    cells = {k: unknown(k, *state[k]) for k in range(len(keys))}
    rest = code & ~pop

    def protected() -> bool:
        hidden = [m for m in cells.values() if m.any()]
        n = int(rest.sum()) + sum(int(m.sum()) for m in hidden)
        every = rest | np.logical_or.reduce(hidden) if hidden else rest
        return n == 0 or (len(hidden) >= 2 and bool(ctx.passes(len(set(user[every])), n)))

    more: dict[str, bool] = {}
    while not protected():
        options = []
        for k in range(len(keys)):
            for whole in (False, True):
                after = unknown(k, True, whole)
                added = after & ~cells[k]
                if added.any() and not (whole is False and state[k][0]):
                    options.append((int(added.sum()), len(set(user[added])), whole, k, after))
        if not options:
            break
        _n, _u, whole, k, after = min(options, key=lambda o: o[:4])
        more[keys[k]] = whole or more.get(keys[k], False)
        state[k], cells[k] = (True, whole), after
    return more


def fig_success_by_occupation(ctx: Context) -> Figure:
    title = "Strict success by occupation, code-producing sessions"
    if not ctx.data.has_facets:
        return _unavailable("success_by_occupation", title, "no classified sessions")
    df = ctx.data.df
    code = df["mode"].isin(list(CODE_PRODUCING_MODES)).to_numpy()
    out = df["outcome"].astype("string")
    known = (out.notna() & (out != "unclear")).fillna(False).to_numpy()
    occ = _codes(df["occupation"], OCCUPATION_KEYS)
    K = len(OCCUPATION_KEYS)
    pop = code & known & (occ >= 0)
    strict = (out == "verified_success").fillna(False).to_numpy()
    keys = [{"occupation": k, "occupation_label": soc_name(k)} for k in OCCUPATION_KEYS]
    rows = _rate_rows(ctx, occ, strict, pop, K, keys, "strict_success")
    # differences against software, from the same replicates
    e = ctx.boot.mean(np.where(pop, occ, -1), strict.astype(np.float64), K)
    sw = OCCUPATION_KEYS.index(SOFTWARE_SOC)
    sw_row = next((r for r in rows if r["occupation"] == SOFTWARE_SOC), None)
    sw_ok = sw_row is not None and bool(ctx.passes(sw_row["n_users"], sw_row["n_sessions"]))
    diff = 100 * (e.est - e.est[sw])
    diff_reps = 100 * (e.reps - e.reps[:, [sw]])
    dlo, dhi = percentile_ci(diff_reps, ctx.level)
    for i in range(K):
        if i == sw:
            continue
        own = rows[i]
        rows.append({**keys[i], "variable": "difference_vs_software_pp", "value": float(diff[i]),
                     "ci_low": float(dlo[i]), "ci_high": float(dhi[i]), "n_users": own["n_users"],
                     "n_sessions": own["n_sessions"], "suppressed": False, "ci_method": ctx.boot.method,
                     "force_suppress": not sw_ok, "_pgroup": f"{own.get('_pgroup')}|diff", "_ptotal": own.get("_ptotal"),
                     **{c: own[c] for c in ("_sessions", "_den_sessions") if c in own}})
    # taxonomy §3: the unclear share beside every success share (over the code-producing sessions of the occupation)
    unclear = (out == "unclear").fillna(False).to_numpy()
    rows += _rate_rows(ctx, occ, unclear, code & out.notna().to_numpy() & (occ >= 0), K, keys, "unclear")
    t = _finish(ctx, rows, ["occupation", "occupation_label"])
    # the occupations' code-producing sessions add up to the code roll-up work modes releases: see the function
    gone: dict[str, bool] = {}
    while more := _code_occupations_to_withhold(ctx, t, occ, code, out.notna().to_numpy(), unclear, gone):
        gone.update(more)
        for r in rows:
            k = r["occupation"]
            r["_withheld"] = k in gone and (gone[k] or r["variable"] == "unclear")
        t = _finish(ctx, rows, ["occupation", "occupation_label"])
    t = _suppress_with(t, "occupation", "strict_success", "difference_vs_software_pp")
    n_s, n_u = ctx.boot.population(np.where(pop, 0, -1), 1)
    return Figure(
        "success_by_occupation", title,
        f"Share of code-producing sessions (build, fix, test, orchestrate) with an outcome other than unclear that were "
        f"a verified success, by occupation, and the difference to Computer and Mathematical in points; the unclear "
        f"share is over all code-producing sessions of the occupation; {ctx.ci_text}.",
        t, ["occupation", "occupation_label"], "share",
        subtitle="Do non-software professionals get working code as often as software engineers? (study: within ~7 points)",
        n_sessions=int(n_s[0]), n_users=int(n_u[0]),
    )


def fig_decisions(ctx: Context) -> Figure:
    title = "Who makes the decisions"
    df = ctx.data.df
    if not ctx.data.has_facets or "user_planning_pct" not in df or df["user_planning_pct"].isna().all():
        return _unavailable("decisions", title, "no decision shares")
    rows: list[dict[str, Any]] = []
    whole = np.zeros(len(df), dtype=np.int64)
    bins = np.arange(0, 101, 10)
    withheld: list[str] = []
    for kind, col in (("planning", "user_planning_pct"), ("execution", "user_execution_pct")):
        v = df[col].to_numpy(dtype=np.float64)
        med = ctx.boot.quantile(whole, v, 1, 0.5)
        mean = ctx.boot.mean(whole, v, 1)
        line = _rows([{"kind": kind, "bin": "all"}], "median_pct", med, *med.ci(ctx.level))
        line += _rows([{"kind": kind, "bin": "all"}], "mean_pct", mean, *mean.ci(ctx.level))
        b = np.where(np.isfinite(v), np.clip(np.digitize(v, bins[1:-1], right=False), 0, len(bins) - 2), -1)
        has = np.isfinite(v)
        e = ctx.boot.shares(np.where(has, 0, -1), b, 1, len(bins) - 1)
        lo, hi = e.ci(ctx.level)
        keys = [{"kind": kind, "bin": f"{bins[i]}–{bins[i + 1]}%"} for i in range(len(bins) - 1)]
        # each kind's bins are their own partition (its total is released as its median's and mean's n)
        line += [{**r, "_pgroup": f"share_of_sessions|{kind}"} for r in _rows(keys, "share_of_sessions", e, lo, hi)]
        # the kind's sessions with a share (its median's and mean's n, and any released bin's n / share) beside the
        # classified sessions (released), or another released count that holds them (_gap_populations), give those
        # without one: where they are some but fail the thresholds, the kind is withheld whole (every row gives its
        # total)
        if _few_left_out(ctx, has, _gap_populations(ctx, has)):
            withheld.append(kind)
            for r in line:
                r["force_suppress"] = True
        rows += line
    t = _finish(ctx, rows, ["kind", "bin"])
    valid = np.isfinite(df["user_planning_pct"].to_numpy(dtype=np.float64))
    n_s, n_u = ctx.boot.population(np.where(valid, 0, -1), 1)
    notes = [f"{kind} withheld: its sessions with a decision share (any of its rows gives their count), and the "
             f"classified sessions (released), or another released count that holds them (with a value, with the "
             f"other share), less them would give those without one, fewer than the thresholds allow."
             for kind in withheld]
    if "planning" in withheld:  # its n is the sessions with a planning share
        n_s, n_u = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
        notes.append("n withheld: it is the sessions with a planning share (see above).")
    return Figure(
        "decisions", title,
        f"Share of each session's planning decisions (what to do, which approach, what counts as done) and execution "
        f"decisions (which files, code, commands) made by the user: median and mean over sessions, and the "
        f"distribution in 10-point bins; {ctx.ci_text}.",
        t, ["kind", "bin"], "share",
        subtitle="The study's median session: the user made ~70% of planning and ~20% of execution decisions.",
        n_sessions=int(n_s[0]), n_users=int(n_u[0]), notes=notes,
        sessions=None if "planning" in withheld else _session_rows(valid),
    )


def fig_actions_by_decisions(ctx: Context) -> Figure:
    title = "Actions per prompt by the user's share of decisions"
    df = ctx.data.df
    if not ctx.data.has_facets or "user_execution_pct" not in df or df["user_execution_pct"].isna().all():
        return _unavailable("actions_by_decisions", title, "no decision shares")
    edges = [0, 20, 40, 60, 80, 100.0001]
    labels = ["0–20%", "20–40%", "40–60%", "60–80%", "80–100%"]
    app = df["actions_per_prompt"].to_numpy(dtype=np.float64)
    rows: list[dict[str, Any]] = []
    # a kind's bins add up to its sessions with decision shares and actions per prompt, inside populations whose
    # counts other figures release (classified; with that kind's shares: decisions; in this store, those with a value
    # or the other kind's share, where the line is inside them: _gap_populations): each such count less the line's
    # released bins is the sessions it leaves out (without a prompt, or a share) with the bins withheld
    few: dict[str, list[np.ndarray]] = {}
    for kind, col in (("planning", "user_planning_pct"), ("execution", "user_execution_pct")):
        v = df[col].to_numpy(dtype=np.float64)
        b = np.where(np.isfinite(v), np.clip(np.digitize(v, edges[1:-1]), 0, len(labels) - 1), -1)
        e = ctx.boot.mean(b, app, len(labels))
        line = _rows([{"kind": kind, "bin": lb} for lb in labels], "actions_per_prompt", e, *e.ci(ctx.level),
                      partition_total=float(((b >= 0) & np.isfinite(app)).sum()), partition=kind)
        few[kind] = _few_left_out(ctx, (b >= 0) & np.isfinite(app), _gap_populations(ctx, (b >= 0) & np.isfinite(app)))
        # each such group is a withheld cell of the line (a partition of its own with the bins: complementary
        # suppression withholds bins with it until they pass together); no row is shown. The line's sum is then no
        # count a reader has (the figure's n is withheld), so its bins are no partition of their own.
        parts = [f"{kind}|left out {j}" for j in range(len(few[kind]))]
        for r in line if parts else ():
            r["_also"], r["_pgroup"] = tuple(parts), f"actions_per_prompt|{kind}|{r['bin']}"
        for j, rest in enumerate(few[kind]):
            line.append({**_left_out_cell(ctx, rest, "actions_per_prompt", f"left out|{kind}|{j}", kind=kind,
                                          bin=f"left out {j}"),
                         "_also": tuple(p if i == j else f"{p}|alone" for i, p in enumerate(parts))})
        rows += line
    t = _finish(ctx, rows, ["kind", "bin"])
    valid = np.isfinite(df["user_execution_pct"].to_numpy(dtype=np.float64)) & np.isfinite(app)
    n_s, n_u = ctx.boot.population(np.where(valid, 0, -1), 1)
    notes: list[str] = []
    if few["planning"] or few["execution"]:  # its n is the execution line's sessions (and the planning line's, often)
        n_s, n_u = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
        notes.append("n withheld: it is the sessions with decision shares and actions per prompt (at least one "
                     "prompt), and the counts of sessions other figures release (classified, with decision shares) "
                     "less it would give a group of sessions below the release thresholds; a bin of each line is "
                     "withheld with such a group.")
    return Figure(
        "actions_by_decisions", title,
        f"Mean actions per prompt for sessions grouped by the user's share of planning and of execution decisions; "
        f"{ctx.ci_text}.",
        t, ["kind", "bin"], "number",
        subtitle="Users who keep execution decisions get fewer actions per prompt; handing over planning gets more.",
        n_sessions=int(n_s[0]), n_users=int(n_u[0]), sessions=_session_rows(valid) if n_s[0] else None, notes=notes,
    )


_SHAPE_METRICS: list[tuple[str, str, list[float], Callable[[pd.DataFrame], np.ndarray]]] = [
    ("prompts", "Prompts per session", [1, 2, 3, 5, 9, 17, 33],
     lambda d: d["prompts"].to_numpy(dtype=np.float64)),
    ("actions_per_prompt", "Actions per prompt", [0, 1, 2, 5, 10, 20, 50],
     lambda d: d["actions_per_prompt"].to_numpy(dtype=np.float64)),
    ("words_per_prompt", "Words of output per prompt", [0, 100, 300, 1000, 3000, 10000, 30000],
     lambda d: d["words_per_prompt"].to_numpy(dtype=np.float64)),
    ("active_minutes", "Active minutes per session", [0, 1, 5, 15, 30, 60, 120, 240],
     lambda d: d["active_s"].to_numpy(dtype=np.float64) / 60.0),
    ("cost_usd", "Cost per session (USD)", [0, 0.1, 0.5, 1, 2, 5, 10, 20],
     lambda d: d["cost_usd"].to_numpy(dtype=np.float64)),
]


_COUNT_METRICS = {"prompts"}  # whole numbers; the other shape metrics are ratios, minutes and dollars


def _bin_labels(edges: list[float], *, integer: bool = False) -> list[str]:
    """Labels of the bins [edges[i], edges[i + 1]) and [edges[-1], inf).

    A count (``integer``) names the whole numbers a bin holds ("3–4", "5–8"); a continuous quantity its bounds
    ("1–2", "2–5"). Both were named one way: prompts 3 and 4 as "3–5" beside "5–9" (5 in both), and a cost of
    $1.00–1.99 as "1".
    """
    def f(x: float) -> str:
        return f"{x:,.0f}" if x >= 1 or x == 0 else f"{x:g}"

    labs = []
    for i, lo in enumerate(edges):
        if i + 1 < len(edges):
            hi = edges[i + 1]
            if integer:
                labs.append(f(lo) if hi - lo == 1 else f"{f(lo)}–{f(hi - 1)}")
            else:
                labs.append(f"{f(lo)}–{f(hi)}")
        else:
            labs.append(f"{f(lo)}+")
    return labs


def fig_session_shape(ctx: Context) -> Figure:
    title = "Session shape"
    df = ctx.data.df
    rows: list[dict[str, Any]] = []
    whole = np.zeros(len(df), dtype=np.int64)
    for metric, mlabel, edges, get in _SHAPE_METRICS:
        v = get(df)
        has = np.isfinite(v) & (df["prompts"].to_numpy() > 0)
        labs = _bin_labels(edges, integer=metric in _COUNT_METRICS)
        b = np.where(has, np.clip(np.searchsorted(np.asarray(edges[1:]), v, side="right"), 0, len(edges) - 1), -1)
        e = ctx.boot.shares(np.where(has, 0, -1), b, 1, len(labs))
        lo, hi = e.ci(ctx.level)
        # each metric's bins are their own partition (its total is released as the median's and mean's n): all
        # metrics in one group left a lone withheld bin beside others' (active minutes 240+: 1,500 - 1,499 = 1)
        rows += [{**r, "_pgroup": f"share_of_sessions|{metric}"} for r in _rows(
            [{"metric": metric, "metric_label": mlabel, "bin": lb, "order": i} for i, lb in enumerate(labs)],
            "share_of_sessions", e, lo, hi)]
        med = ctx.boot.quantile(np.where(has, whole, -1), v, 1, 0.5)
        mean = ctx.boot.mean(np.where(has, whole, -1), v, 1)
        rows += _rows([{"metric": metric, "metric_label": mlabel, "bin": "all", "order": -1}], "median", med,
                      *med.ci(ctx.level))
        rows += _rows([{"metric": metric, "metric_label": mlabel, "bin": "all", "order": -1}], "mean", mean,
                      *mean.ci(ctx.level))
    t = _finish(ctx, rows, ["metric", "metric_label", "bin", "order"])
    has = df["prompts"].to_numpy() > 0
    n_s, n_u = ctx.boot.population(np.where(has, 0, -1), 1)
    # A metric that leaves some sessions out (no known price; no recorded turn time) has a smaller total than the
    # others: prompts' n minus cost's n gave the sessions of unpriced models (2 sessions of 1 user, say). When that
    # group is below the thresholds the metric is withheld whole, as any cell it could be worked out from.
    left_out: dict[str, tuple[int, int]] = {}
    for metric, _mlabel, _edges, get in _SHAPE_METRICS:
        out_s, out_u = ctx.boot.population(np.where(has & ~np.isfinite(get(df)), 0, -1), 1)
        left_out[metric] = int(out_s[0]), int(out_u[0])
        if out_s[0] and not bool(ctx.passes(out_u[0], out_s[0])):
            _withhold_derived(t, (t["metric"] == metric) & ~t["suppressed"].astype(bool))
    # Likewise all sessions (coverage) less its sessions (its n, each metric's median's and mean's n, each bin's group:
    # n / share) are those without a prompt: below the thresholds, the figure is withheld whole.
    notes: list[str] = []
    if _few_left_out(ctx, has, [np.ones(len(df), dtype=bool)]):
        _withhold_derived(t, ~t["suppressed"].astype(bool))
        n_s, n_u = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
        notes.append("Withheld whole: it counts the sessions with at least one prompt, and all sessions (released) "
                     "less them would give those without one, fewer than the thresholds allow.")
    unpriced, text = _unknown_cost(ctx, *left_out["cost_usd"])
    return Figure(
        "session_shape", title,
        f"Distribution over sessions with at least one prompt (share per bin; a bin a–b holds values from a up to, "
        f"not including, b, and prompts a–b the whole numbers a to b), with the median and mean; words "
        f"include what the agent wrote through tools; active time is the sum of recorded turn durations; {text}"
        f"{ctx.ci_text}.",
        t, ["metric", "metric_label", "bin", "order"], "share",
        subtitle="Measured from the transcripts, never guessed (study: ~4 prompts, ~10 actions and ~2,400 words per prompt).",
        n_sessions=int(n_s[0]), n_users=int(n_u[0]), extra={"unknown_cost_sessions": unpriced},
        sessions=_session_rows(has) if n_s[0] else None, notes=notes,
    )


def _unknown_cost(ctx: Context, n_sessions: int, n_users: int) -> tuple[int | None, str]:
    """The sessions the cost metric leaves out because their model has no known price (cost_usd NULL: their
    sessions and users), as the caption's count and words ('' when none). The count is released on the thresholds
    as any cell; below them the cost metric is withheld (:func:`fig_session_shape`) and ``None`` stands for it."""
    if n_sessions == 0:
        return 0, ""
    if not bool(ctx.passes(n_users, n_sessions)):
        return None, ("cost is withheld: it would leave out the sessions whose model has no known price, too few "
                      "to release their number (below the release thresholds); ")
    one = n_sessions == 1
    return n_sessions, (f"cost leaves out {n_sessions:,} session{' whose model has' if one else 's whose models have'} "
                        "no known price (cost unknown); ")


def fig_usage_intensity(ctx: Context) -> Figure:
    title = "Usage intensity per user and week"
    df = ctx.data.df
    ok = df["week"].notna() & df["user"].notna()
    if not ok.any():
        return _unavailable("usage_intensity", title, "no timestamps")
    sub = df.loc[ok, ["user", "week", "session_key"]].assign(active_h=df.loc[ok, "active_s"].fillna(0) / 3600.0)
    uw = (sub.groupby(["user", "week"], sort=False)
          .agg(sessions=("session_key", "size"), active_h=("active_h", "sum"))
          .reset_index())
    bs = ctx.boot.derive(uw["user"].to_numpy(dtype=object))
    whole = np.zeros(len(uw), dtype=np.int64)
    rows: list[dict[str, Any]] = []
    # Its sessions are those with a time: all sessions (coverage) less them are those without one, whose count
    # coverage withholds below the thresholds or as a complement (the real corpus: 373 - 363, 10 sessions of 4 users);
    # then no count of them is released: the figure's n is withheld and its rows count user-weeks, as the bins do.
    untimed = bool(ctx.untimed_withheld and not ok.all())
    note = ("n withheld: it is the sessions with a time, and all sessions (released) less it would give those without "
            "one, whose count coverage withholds; the rows count user-weeks.")
    # Where every session with a time is classified, the classified sessions (coverage, work modes) less its n are
    # the classified ones without a time (a fuzz store: 8 sessions), which work modes by month protects: likewise.
    if not untimed and ctx.data.has_facets:
        classified = _facet_df(ctx).to_numpy()
        timed = ok.to_numpy()
        if not (timed & ~classified).any() and _few_left_out(ctx, timed, [classified]):
            untimed = True
            note = ("n withheld: it is the sessions with a time, all of them classified, and the classified sessions "
                    "(released) less it would give the classified ones without a time, fewer than the thresholds "
                    "allow; the rows count user-weeks.")
    for var, col in (("active_hours", "active_h"), ("sessions", "sessions")):
        v = uw[col].to_numpy(dtype=np.float64)
        mean = bs.mean(whole, v, 1)
        med = bs.quantile(whole, v, 1, 0.5)
        for stat, e in (("mean", mean), ("median", med)):
            r = _rows([{"measure": var}], f"{stat}_per_user_week", e, *e.ci(ctx.level))
            # the unit is a user-week: n_sessions counts sessions behind it
            r[0]["n_sessions"] = len(uw) if untimed else int(ok.sum())
            rows += r
    edges = [0, 1, 2, 5, 10, 20, 40]
    labs = _bin_labels(edges)
    v = uw["active_h"].to_numpy(dtype=np.float64)
    b = np.clip(np.searchsorted(np.asarray(edges[1:]), v, side="right"), 0, len(edges) - 1)
    e = bs.shares(whole, b, 1, len(labs))
    lo, hi = e.ci(ctx.level)
    rr = _rows([{"measure": "active_hours", "bin": lb} for lb in labs], "share_of_user_weeks", e, lo, hi)
    # population of a bin: user-weeks (n_sessions) and users; sessions behind a bin are at least its user-weeks
    rows += rr
    t = _finish(ctx, rows, ["measure", "bin"] if "bin" in pd.DataFrame(rows) else ["measure"])
    if "bin" not in t:
        t["bin"] = None
    n_s, n_u = (0, 0) if untimed else (int(ok.sum()), int(uw["user"].nunique()))
    notes = [note] if untimed else []
    return Figure(
        "usage_intensity", title,
        f"Active hours (sum of recorded turn durations) and sessions per user in each calendar week with any use: mean "
        f"and median over user-weeks, and the distribution of active hours; {ctx.ci_text}.",
        t, ["measure", "bin"], "number",
        subtitle="How much people use the agent when they use it (study: ~20 hours a week).",
        n_sessions=n_s, n_users=n_u, extra={"user_weeks": len(uw)},
        sessions=None if untimed else _session_rows(ok.to_numpy()), notes=notes,
    )


def fig_success_trend(ctx: Context) -> Figure:
    title = "Strict success by month"
    df = ctx.data.df
    if not ctx.data.has_facets or len(ctx.months) < 2:
        return _unavailable("success_trend", title, "needs classified sessions in at least two months")
    out = df["outcome"].astype("string")
    known = (out.notna() & (out != "unclear")).fillna(False).to_numpy()
    strict = (out == "verified_success").fillna(False).to_numpy().astype(np.float64)
    vals = np.where(known, strict, np.nan)
    rows, info = _monthly_trend(ctx, vals, known, as_index=False)
    # a rate discloses its successes and its failures: both must be empty or pass the thresholds
    mi = _codes(df["month"], ctx.data.months)
    M = len(ctx.data.months)
    for part in (strict > 0, strict == 0):
        ps, pu = ctx.boot.population(np.where(known & part & (mi >= 0), mi, -1), M)
        bad = (ps > 0) & ~ctx.passes(pu, ps)
        for r in rows:
            if bad[ctx.data.months.index(r["month"])]:
                r["force_suppress"] = True
    # taxonomy §3: the unclear share beside the success share, each month over every session with an outcome
    rows += _rate_rows(ctx, mi, (out == "unclear").fillna(False).to_numpy(), out.notna().to_numpy() & (mi >= 0), M,
                       [{"month": m} for m in ctx.data.months], "unclear")
    # The unclear months add up to every unclear session (the whole-session abstentions among them), and the known
    # sessions (its n, the raw months) with them to every session with an outcome: a small abstentions line would
    # follow from them (see :func:`_abstention_lines_small`). A month's unclear row (or the whole month) is withheld.
    whole_small, outcome_small = _abstention_lines_small(ctx)
    cut = _trend_month_to_withhold(ctx, known, out.notna().to_numpy(), (out == "unclear").fillna(False).to_numpy(),
                                   mi, whole=outcome_small) if whole_small or outcome_small else None
    # the months work modes by month gives no group of while value by month, value by mode or this figure would
    # (:func:`_work_modes_untimed_months`) are withheld whole; the months whose classified unclear sessions are few
    # (a month's classified sessions less its raw n) lose their raw and reweighted rows below (_few_unclear_months)
    gaps = _work_modes_untimed_months(ctx)
    for r in rows:
        r["_withheld"] = r["month"] in gaps or (r["month"] == cut and (outcome_small or r["variable"] == "unclear"))
    # across: the months' rates with their n add up to the overall ones (outcome by expertise releases those)
    t = _finish(ctx, rows, ["month"], across="variable")
    # A month's classified sessions, which work modes by month releases (a cell's n / share), less its raw n (those
    # with a known outcome) are its classified sessions whose outcome is unclear: where they are some but fail the
    # thresholds (the demo's 2026-04: 246 - 237 = 9), the month's raw and reweighted cells are withheld, with months of
    # the most such sessions until those of the months so withheld pass together (the raw line's total, its n, less
    # its released months gives their known sessions). Likewise a month's sessions with an inferable occupation
    # (occupations by month's n / share), where every session with a known outcome has one: less its raw n, its
    # inferable unclear ones (a fuzz store: 4 sessions, its classified unclear ones passing).
    unclear = (out == "unclear").fillna(False).to_numpy()
    classified = _facet_df(ctx).to_numpy()
    known_gone = _few_unclear_months(ctx, unclear & classified, mi)
    if "occupation" in df:
        inferable = classified & df["occupation"].notna().to_numpy() & (df["occupation"] != NOT_INFERABLE).to_numpy()
        if not bool((known & ~inferable).any()):
            known_gone |= _few_unclear_months(ctx, unclear & inferable, mi)
    if known_gone:
        for r in rows:
            r["_withheld"] = r["_withheld"] or (r["variable"] != "unclear" and r["month"] in known_gone)
        t = _finish(ctx, rows, ["month"], across="variable")
    # The released months' rates give their successes (share x n) and failures, and outcome by expertise releases
    # each level's: the levels' successes minus the released months' are those of the months not released (and of
    # the sessions without a time). Withheld months that jointly pass on sessions with a known outcome could still
    # hold 1 success between them (a lone session's beside a month without any: 643 - 642). More months are
    # withheld, fewest sessions first, until both differences are none or pass.
    level = df["expertise"].isin(list(EXPERTISE_LEVELS)).to_numpy()
    extra: set[str] = set()
    unclear_gone: set[str] = set()  # months whose unclear row alone is withheld (_untimed_known_unclear_month)
    # The lines' sessions without a time (with a known outcome: the figure's n; unclear: abstentions' lines) are in
    # no month: too few of them beside every month released are given by the total (_untimed_lone_month); the known
    # ones also where the unclear line gives the months the raw line withholds (_untimed_known_unclear_month).
    while True:
        raw = t[t["variable"] == "raw"]
        shown = _codes(df["month"], list(raw.loc[~raw["suppressed"].astype(bool), "month"])) >= 0
        if not _outcome_rest_leaks(ctx, known, strict > 0, level, shown):
            lone = [m for var, pop in (("raw", known), ("unclear", unclear))
                    if (m := _untimed_lone_month(ctx, t, var, pop)) is not None and m not in extra]
            if not lone:
                m = _untimed_known_unclear_month(ctx, t, known, mi)
                if m is None or m in unclear_gone:
                    break
                unclear_gone.add(m)
            else:
                extra.add(lone[0])
        else:
            left = [m for m in raw.loc[~raw["suppressed"].astype(bool), "month"] if m not in extra]
            if not left:
                break
            extra.add(min(left, key=lambda m: int(known[(df["month"] == m).to_numpy()].sum())))
        for r in rows:
            r["_withheld"] = r["month"] in extra | gaps or (r["month"] == cut and (outcome_small or r["variable"] == "unclear")) \
                or (r["variable"] != "unclear" and r["month"] in known_gone) \
                or (r["variable"] == "unclear" and r["month"] in unclear_gone)
        t = _finish(ctx, rows, ["month"], across="variable")
    n_s, n_u = ctx.boot.population(np.where(known, 0, -1), 1)
    notes: list[str] = []
    # the classified sessions of the months its sessions are in (work modes by month's groups) less it: the classified
    # ones of those months whose outcome is unclear (fuzz seed 6038: 8), where it has none without a time
    known_n_small = bool(_few_left_out(ctx, known, _month_group_population(ctx, known)))
    if outcome_small or known_n_small:
        n_s, n_u = np.zeros(1, np.int64), np.zeros(1, np.int64)
        notes.append(_KNOWN_N_WITHHELD)
    if cut is not None:
        notes.append(f"{cut}: {'withheld' if outcome_small else 'the unclear share withheld'} (with the other months "
                     "it would give the sessions the classifier could not answer, or the classified ones whose outcome "
                     "is unclear, fewer than the thresholds allow).")
    return Figure(
        "success_trend", title,
        f"Each month, the share of sessions (outcome not unclear) that were a verified success, raw and reweighted to "
        f"the whole period's work-mode mix (direct standardisation over mode cells that pass the thresholds), and the "
        f"share of sessions whose outcome is unclear; {ctx.ci_text}.",
        t, ["month"], "share",
        subtitle="Is success changing, or only the mix of work? The reweighted line holds the mix fixed.",
        n_sessions=int(n_s[0]), n_users=int(n_u[0]), extra=info, notes=notes,
        sessions=None if outcome_small or known_n_small else _session_rows(known),
    )


def _untimed_known_unclear_month(ctx: Context, t: pd.DataFrame, known: np.ndarray, mi: np.ndarray) -> str | None:
    """The month whose unclear row to withhold (alone) so that the success trend's months do not give its sessions
    with a known outcome without a time, where they are some but too few. A month's unclear row gives its known
    sessions as well as the raw row: its group (n / share, every session of the month with an outcome) less its
    unclear sessions (share x n). Where every month is given so, by its raw row or its unclear row, the sessions with a
    known outcome (the figure's n; the classified sessions less the abstentions' outcome line) less them are those
    without a time (fuzz seed 9052: 8 sessions of 8 users; the raw line withheld three months, the unclear line none).
    Where the raw line releases every month, :func:`_untimed_lone_month` withholds a month whole instead. Taken: of the
    months whose raw row is withheld and unclear row released, the one with the fewest sessions with an outcome whose
    known sessions pass with those without a time (None: nothing to withhold, or no such month; the final audit then
    judges what is left)."""
    df = ctx.data.df
    untimed = known & df["month"].isna().to_numpy()
    s, u = ctx.boot.population(np.where(untimed, 0, -1), 1)
    if s[0] == 0 or bool(ctx.passes(u[0], s[0])) or set(df["month"].dropna()) - set(ctx.months):
        return None
    shown = ~t["suppressed"].astype(bool)
    raw = set(t.loc[shown & t["variable"].isin(["raw", "reweighted"]), "month"])  # (the same sessions' n)
    line = t[shown & (t["variable"] == "unclear")]
    if any(m not in raw and m not in set(line["month"]) for m in ctx.data.months):
        return None  # a month neither row gives: its known sessions are in the total's rest with those without a time
    best: tuple[int, str] | None = None
    for m in line["month"]:
        if m in raw:
            continue
        at = untimed | (known & (mi == ctx.data.months.index(m)))
        ps, pu = ctx.boot.population(np.where(at, 0, -1), 1)
        n = int(((mi == ctx.data.months.index(m)) & df["outcome"].notna().to_numpy()).sum())
        if bool(ctx.passes(pu[0], ps[0])) and (best is None or (n, m) < best):
            best = (n, str(m))
    return None if best is None else best[1]


def _few_unclear_months(ctx: Context, hit: np.ndarray, mi: np.ndarray) -> set[str]:
    """The months of the success trend whose known sessions are withheld because its classified sessions less them
    (``hit``: the classified ones whose outcome is unclear) are some but fail the thresholds; with them, the shown
    months with the most such sessions, until those of all the months taken pass together (none: empty):
    :func:`_few_lacking` over the months, ``together``."""
    few = _few_lacking(ctx, hit, mi, len(ctx.data.months), together=True)
    return {m for m, f in zip(ctx.data.months, few, strict=True) if f}


_KNOWN_N_WITHHELD = ("n withheld: it is the classified sessions with a known outcome, and the classified sessions "
                     "(released) less it would give those whose outcome is unclear, fewer than the thresholds allow.")


def _abstention_lines_small(ctx: Context) -> tuple[bool, bool]:
    """Whether the abstentions' whole-session line (the sessions the classifier could not answer) and its outcome line
    (the classified sessions whose outcome is unclear) fail the thresholds without being none. The success trend's
    months and n give them otherwise: the classified sessions (coverage, and every facet figure's n) less the sessions
    with a known outcome (its n, the raw months' n, the regression's n) are the outcome line, and the unclear months
    less that line are the whole-session line (3 of 3 users: both passed the old audit, which left out the groups
    figure ns give)."""
    if not ctx.data.has_facets:
        return False, False
    df = ctx.data.df
    cls = _facet_df(ctx).to_numpy()
    whole = df["abstained"].fillna(False).astype(bool).to_numpy() if "abstained" in df else np.zeros(len(df), bool)
    unclear = cls & (df["outcome"] == "unclear").fillna(False).to_numpy()
    out = []
    for hit in (whole, unclear):
        s, u = ctx.boot.population(np.where(hit, 0, -1), 1)
        out.append(bool(s[0] > 0) and not bool(ctx.passes(u[0], s[0])))
    return out[0], out[1]


def _trend_month_to_withhold(ctx: Context, known: np.ndarray, has: np.ndarray, unclear: np.ndarray,
                             mi: np.ndarray, *, whole: bool = False) -> str | None:
    """The month of the success trend to withhold so that its months do not add up to every unclear session (nor to
    every session with a known outcome): the shown month with the most unclear sessions whose unclear sessions and
    known ones each pass the thresholds (None: no such month; the final audit then judges what is left). A month
    withheld ``whole`` (the outcome line is small) hides its unclear sessions with its known ones: when no month's
    unclear sessions pass, the month with the fewest known sessions that pass is taken (the classified sessions less
    the released months' were the 1 unclear session of 1007, every month released: none had 10 unclear)."""
    best: tuple[int, str] | None = None
    fallback: tuple[int, str] | None = None
    for i, m in enumerate(ctx.data.months):
        if m not in ctx.months or m in ctx.withheld_months:
            continue
        at = has & (mi == i)
        ok = []
        for part in (known & at, unclear & at):
            s, u = ctx.boot.population(np.where(part, 0, -1), 1)
            ok.append(bool(ctx.passes(u[0], s[0])))
        n = int((unclear & at).sum())
        if all(ok) and (best is None or n > best[0]):
            best = (n, m)
        k = int((known & at).sum())
        if whole and ok[0] and (fallback is None or k < fallback[0]):
            fallback = (k, m)
    if best is None:
        best = fallback
    return None if best is None else best[1]


def _outcome_rest_leaks(ctx: Context, known: np.ndarray, success: np.ndarray, level: np.ndarray,
                        shown: np.ndarray) -> bool:
    """Whether the successes or the failures (of sessions with a known outcome) outside the ``shown`` sessions fail
    the thresholds without being none, or the count subtraction gives of them does: the levels' (sessions with an
    expertise level) minus the shown months' (sessions of any level or none). That count is judged on its sessions
    and on the users of the sessions it counts (those outside ``shown`` with a level): it checked sessions only, and
    10 successes of 2 users passed beside 4 of 4 other users without a level."""
    user = ctx.data.df["user"].to_numpy(dtype=object)
    for part in (success, ~success):
        rest = known & part & ~shown
        s, u = ctx.boot.population(np.where(rest, 0, -1), 1)
        if s[0] > 0 and not bool(ctx.passes(u[0], s[0])):
            return True
        derived = int((rest & level).sum()) - int((known & part & shown & ~level).sum())
        if derived > 0 and not ctx.policy.individual and not bool(ctx.passes(len(set(user[rest & level])), derived)):
            return True
    return False


_LEVEL_KNOWN_N_WITHHELD = ("n withheld: it is the sessions with a known outcome and an expertise level; with the "
                           "totals released elsewhere (sessions with a known outcome, unclear, with a level) it would "
                           "give a group of sessions below the thresholds (e.g. the unclear ones without a level).")


def _regression_n_leaks(ctx: Context, modelled: np.ndarray) -> bool:
    """Whether the regression's n (the sessions with a known outcome and a level) gives a group below the thresholds
    with the totals other figures release: the sessions with a known outcome (success by month's n) less it are the
    known ones without a level; the expertise figures' n (those with an outcome and a level) less it are the unclear
    ones at a level, and the abstentions' unclear line less those the unclear ones without a level (this store: 47
    unclear less 462 - 424 gave 9); the groups work modes by month gives of the months its sessions are in less it are
    those months' classified sessions it leaves out (:func:`_month_group_population`; fuzz seed 9042: unclear,
    abstained and untimed sessions all in one mode's sessions of one month). Each must be none or pass (sessions and
    distinct users)."""
    if _few_left_out(ctx, modelled, _month_group_population(ctx, modelled)):
        return True
    df = ctx.data.df
    out = df["outcome"].astype("string")
    cls = _facet_df(ctx).to_numpy() if "mode" in df else np.ones(len(df), dtype=bool)
    known = (out.notna() & (out != "unclear")).fillna(False).to_numpy()
    unclear = (out == "unclear").fillna(False).to_numpy()
    level = df["expertise"].isin(list(EXPERTISE_LEVELS)).to_numpy()
    for part in (known & ~modelled, cls & unclear & level, cls & unclear & ~level):
        ps, pu = ctx.boot.population(np.where(part, 0, -1), 1)
        if ps[0] > 0 and not bool(ctx.passes(pu[0], ps[0])):
            return True
    return False


def fig_regression(ctx: Context) -> Figure:
    title = "Strict success and expertise, with controls"
    df = ctx.data.df
    if not ctx.data.has_facets:
        return _unavailable("regression", title, "no classified sessions")
    out = df["outcome"].astype("string")
    d = pd.DataFrame({
        "user": df["user"],
        "expertise": df["expertise"],
        "mode": df["mode"],
        "month": df["month"],
        "occupation": df["occupation"],
    })
    d["strict"] = (out == "verified_success").astype(float).where(out.notna() & (out != "unclear"))
    if d["strict"].dropna().nunique() < 2:  # the model's SEs are then 0: it released '0 pts, 95% CI 0 – 0' at each level
        return _unavailable("regression", title, "strict success does not vary (every session with a known outcome "
                                                 "succeeded, or none did): there is nothing to model")
    controls = ["mode", "month", "occupation"]
    if "value_usd" in df and df["value_usd"].notna().sum() >= 4:
        v = df["value_usd"]
        try:
            d["value_band"] = pd.qcut(v, 4, labels=["lowest quarter", "second quarter", "third quarter", "top quarter"],
                                      duplicates="drop")
            controls.append("value_band")
        except ValueError:
            pass
    res = success_regression(d, controls=controls, min_level_n=max(10, ctx.policy.min_sessions),
                             cluster=not ctx.resample_sessions)
    if res is None:
        return _unavailable("regression", title, "needs at least two expertise levels and two users")
    tab = res.table.copy()
    tab["expertise_label"] = [_exp_label(int(x)) for x in tab["level"]]
    ref = tab[tab["reference"]].iloc[0]
    rows = []
    for r in tab.itertuples():
        rows.append({"expertise": int(r.level), "expertise_label": r.expertise_label, "variable": "strict_success_pp",
                     "value": float(r.estimate_pp), "ci_low": float(r.ci_low_pp), "ci_high": float(r.ci_high_pp),
                     "p_value": float(r.p_value), "odds_ratio": float(r.odds_ratio), "reference": bool(r.reference),
                     "n_users": int(r.n_users), "n_sessions": int(r.n_sessions), "suppressed": False,
                     "ci_method": "OLS, user-clustered SE" if res.clustered else "OLS, robust (HC1) SE"})
    modelled = (d["strict"].notna() & d["expertise"].notna() & d["user"].notna()).to_numpy()
    for row in rows:  # the sessions of each level's n (those success_regression models)
        row["_sessions"] = _session_rows(modelled & (d["expertise"] == row["expertise"]).to_numpy())
    withheld = _outcome_levels_to_withhold(ctx)  # a level's n here is its sessions with a known outcome
    for row in rows:
        row["_withheld"] = row["expertise"] in withheld
    t = _finish(ctx, rows, ["expertise", "expertise_label"], drop_empty=False, group="regression")
    overall_ok = bool(ctx.passes(res.n_users, res.n_sessions))
    if not overall_ok:
        t["suppressed"] = True
        for c in ("value", "ci_low", "ci_high", "p_value", "odds_ratio"):
            t[c] = np.nan
    notes = res.notes + ([f"dropped (one level only): {', '.join(res.dropped_controls)}"] if res.dropped_controls else [])
    n_s, n_u = res.n_sessions, res.n_users
    if _abstention_lines_small(ctx)[1]:  # its n is the sessions with a known outcome: see fig_success_trend
        n_s, n_u = 0, 0
        notes.append(_KNOWN_N_WITHHELD)
    elif n_s and _regression_n_leaks(ctx, modelled):
        n_s, n_u = 0, 0
        notes.append(_LEVEL_KNOWN_N_WITHHELD)
    shown = ~t["suppressed"].astype(bool)
    if shown.any() and not (shown & ~t["reference"].astype(bool)).any():
        # the reference level alone: "0 points against itself" says nothing (the real corpus: a table of one row,
        # "2 Beginner: reference"); withheld with it, and said why
        _withhold_derived(t, shown)
        t.loc[shown, ["p_value", "odds_ratio"]] = np.nan
        notes.append("Only the reference level passes the release rules: there is no level to compare it with.")
    ctrl_words = {"mode": "work mode", "month": "month", "occupation": "occupation", "value_band": "value band"}
    plain = [ctrl_words[c] for c in res.controls]
    return Figure(
        "regression", title,
        f"Linear probability model of strict success (sessions with a known outcome: the unclear ones, whose share at "
        f"each level is in Outcome by expertise, are left out) on expertise level, controlling for "
        f"{', '.join(plain) or 'nothing'}; standard errors "
        f"{'clustered by user' if res.clustered else 'robust (HC1)'} (statsmodels); a logit with the same design "
        f"gives the odds ratios.",
        t, ["expertise", "expertise_label"], "pp",
        subtitle=f"Points of strict success relative to users at the reference level ({ref['expertise_label']}), holding "
                 "the controls fixed.",
        n_sessions=n_s, n_users=n_u, sessions=_session_rows(modelled) if n_s else None, notes=notes,
        extra={"r2": res.r2, "controls": res.controls, "logit_ok": res.logit_ok, "released": overall_ok,
               "clustered": res.clustered},
    )


def fig_topics(ctx: Context) -> Figure:
    title = "Topics"
    d = ctx.data
    if d.clusters is None or "cluster_id" not in d.df or d.df["cluster_id"].isna().all():
        if d.clusters is not None and len(d.clusters):  # clustered, but nothing passed the thresholds then
            return _unavailable("topics", title, "no topic cluster was released: `codecensus cluster` found none with "
                                "enough users and sessions (for a report of your own: `codecensus cluster --individual`)")
        return _unavailable("topics", title, "no topic clusters (run `codecensus cluster`)")
    cl = d.clusters.copy()
    ids = cl["cluster_id"].astype(str).tolist()
    # (a float column's NaN stays NaN under .where(..., None): a top level's parent is None here, as the rows'
    # partition names of the hidden cells below need)
    parent = {c: (p if isinstance(p, str) else None) for c, p in zip(ids, cl["parent_id"], strict=True)}
    released_flag = dict(zip(ids, cl.get("released", pd.Series(True, index=cl.index)).fillna(False).astype(bool),
                             strict=True))
    pos = {c: i for i, c in enumerate(ids)}
    K = len(ids)
    sess_cluster = d.df["cluster_id"].astype("string")
    if d.has_facets:
        # a clustered session that is not classified (abstained since, its summary a placeholder) is in no topic:
        # counted, the figure's n less the classified sessions other figures release gave those (5 sessions of 4
        # users), a group no threshold saw
        sess_cluster = sess_cluster.where(_facet_df(ctx), pd.NA)
    has = sess_cluster.notna().to_numpy()
    rows: list[dict[str, Any]] = []
    # every level: a session counts in its cluster and all its ancestors
    chains: dict[str, list[str]] = {}
    for c in ids:
        chain, cur, seen = [], c, set()
        while cur is not None and cur in pos and cur not in seen:
            chain.append(cur)
            seen.add(cur)
            cur = parent.get(cur)
        chains[c] = chain
    depth_max = max((len(v) for v in chains.values()), default=1)
    per_level: list[np.ndarray] = []
    for lvl in range(depth_max):
        codes = sess_cluster.map(lambda c, lvl=lvl: pos[chains[c][-(lvl + 1)]] if c in chains and
                                 len(chains[c]) > lvl else -1).fillna(-1).to_numpy(dtype=np.int64)
        per_level.append(codes)
    # Classified sessions in no released topic (the cluster stage withheld their whole path, or they were classified
    # after it ran): the top level's shares are over every classified session, with them as a hidden cell. Over the
    # clustered sessions only, the figure's n (and any top-level n / share) was the classified sessions (released by
    # other figures) less those: 1,500 - 1,497 = 3 sessions no threshold saw.
    loose = _facet_df(ctx).to_numpy() & ~has
    # Every level's shares are over the top level's sessions (a session without a cluster at a deeper level counts in
    # its denominator only): over the sessions with a cluster at that level, a deeper row's n / share was those, and
    # the classified sessions (work modes' n) less them the sessions without one there (given to a withheld leaf's
    # parent, or in no released topic: 3 sessions), a group no threshold saw.
    base = (has & (per_level[0] >= 0)) | loose if per_level else has | loose
    for lvl, codes in enumerate(per_level):
        top_loose = lvl == 0 and bool(loose.any())
        if top_loose:
            g = np.where(base, 0, -1)
            codes = np.where(loose, K, codes)
            e = ctx.boot.shares(g, codes, 1, K + 1)
        else:
            g = np.where(base, 0, -1)
            e = ctx.boot.shares(g, np.where(has, codes, -1), 1, K)
        lo, hi = e.ci(ctx.level)
        if top_loose:
            rows.append({"cluster_id": "(no released topic)", "parent_id": None, "depth": 0, "name": "",
                         "description": "", "variable": "share_of_sessions", "value": float(e.est[K]),
                         "ci_low": np.nan, "ci_high": np.nan, "n_users": int(e.n_users[K]),
                         "n_sessions": int(e.n_sessions[K]), "suppressed": False, "ci_method": None,
                         "_pgroup": "topics|None", "_hidden": True})
        present = [i for i in range(K) if e.n_sessions[i] > 0]
        for i in present:
            cid = ids[i]
            rows.append({"cluster_id": cid, "parent_id": parent.get(cid), "depth": len(chains[cid]) - 1,
                         "name": str(cl["name"].iloc[i]), "description": str(cl.get("description", pd.Series(
                             [""] * K)).iloc[i] or ""), "variable": "share_of_sessions", "value": float(e.est[i]),
                         "ci_low": float(lo[i]), "ci_high": float(hi[i]), "n_users": int(e.n_users[i]),
                         "n_sessions": int(e.n_sessions[i]), "suppressed": False, "ci_method": e.ci_method[i],
                         "force_suppress": not released_flag.get(cid, False),
                         "_pgroup": f"topics|{parent.get(cid)}",
                         **({"_sessions": e.sessions[i]} if e.sessions is not None else {}),
                         **({"_den_sessions": e.den_sessions[i]} if e.den_sessions is not None else {})})
    # A parent's n is its children's plus the sessions assigned to it directly (the cluster stage gives a session the
    # deepest released cluster on its path: a withheld leaf's sessions go to its parent). Those are a cell of the
    # children's partition that no row shows: the parent's n minus its released children gave them (3 sessions of
    # a withheld leaf). A hidden row makes them take part in complementary suppression.
    own = np.where(has, _codes(sess_cluster, ids), -1)
    own_s, own_u = ctx.boot.population(own, K)
    parents = {p for p in parent.values() if p is not None}
    for i, cid in enumerate(ids):
        if cid in parents and own_s[i] > 0:
            rows.append({"cluster_id": cid, "parent_id": cid, "depth": len(chains[cid]), "name": "", "description": "",
                         "variable": "share_of_sessions", "value": 0.0, "ci_low": np.nan, "ci_high": np.nan,
                         "n_users": int(own_u[i]), "n_sessions": int(own_s[i]), "suppressed": False,
                         "ci_method": None, "_pgroup": f"topics|{cid}", "_hidden": True})
    t = _finish(ctx, rows, ["cluster_id", "parent_id", "depth", "name", "description"])
    t.loc[t["suppressed"], ["name", "description"]] = None
    n_s, n_u = ctx.boot.population(np.where(has | loose, 0, -1), 1)
    over = "classified sessions (those in no released topic count in the total)" if loose.any() else \
        "clustered sessions"
    return Figure(
        "topics", title,
        f"Share of {over} in each topic cluster (a session counts in its cluster and every parent); "
        f"clusters the privacy audit did not release, or under the thresholds, are hidden; {ctx.ci_text}.",
        t, ["cluster_id", "parent_id", "depth", "name", "description"], "share",
        subtitle="What people asked for, from one-sentence redacted summaries clustered into a tree.",
        n_sessions=int(n_s[0]), n_users=int(n_u[0]),
    )


def fig_git_adoption(ctx: Context) -> Figure:
    title = "Repositories with coding-agent commits"
    g = ctx.data.git_adoption
    if g is None or g.empty:
        return _unavailable("git_adoption", title, "no git history scanned (run `codecensus git-agents`)")
    from codecensus.aggregate.stats import wilson

    rows = []
    for r in g.itertuples():
        lo, hi = wilson(r.repos_with_agent, r.repos_active)
        rows.append({"period": r.period, "agent": r.agent, "variable": "share_of_repositories",
                     "value": float(r.share) if r.share == r.share else np.nan, "ci_low": float(lo), "ci_high": float(hi),
                     "n_users": int(r.repos_active), "n_sessions": int(r.repos_active), "suppressed": False,
                     "ci_method": "wilson (repositories)"})
    t = _finish(ctx, rows, ["period", "agent"])
    any_rows = g[g["agent"] == "any"]
    return Figure(
        "git_adoption", title,
        "Share of active repositories (any commit in the half-year) with at least one commit made or co-authored by a "
        "coding agent; Wilson 95% CI over repositories; n counts repositories.",
        t, ["period", "agent"], "share", subtitle="Adoption in the git history of the scanned repositories.",
        n_sessions=int(any_rows["commits"].sum()) if len(any_rows) else 0,
        n_users=int(any_rows["repos_active"].max()) if len(any_rows) else 0,
    )


# Lines of cells whose totals other figures release, by figure: cells of one variable sharing a value of the column
# ("variable": all cells of the variable) add up to such a total, so none of them may be suppressed alone
# (:func:`_finish`'s ``across``; checked again by the report's final audit).
RELEASE_PARTITIONS: dict[str, tuple[str, ...]] = {
    "work_modes_by_month": ("mode", "month"),
    "occupations_by_month": ("occupation", "month"),
    "value_by_month": ("variable",),
    "success_trend": ("variable",),
    "value_by_mode": ("mode", "month"),
    "expertise_shape_by_mode": ("expertise",),
}


# The totals of those lines that another figure releases: (figure, variable, column) -> (total's figure, its variable,
# keyed by the same column). The total less the line's released cells is its withheld cells' sum (the sessions of
# the months withheld or not shown), which must be none or pass: it is what the withheld cells' counts must reach in
# :func:`_finish`, recomputed from the released numbers (a withheld month's empty cell counted as 1 session there, so
# 9 sessions passed as 10). Checked by the report's final audit.
RELEASE_LINE_TOTALS: dict[tuple[str, str, str], tuple[str, str]] = {
    ("work_modes_by_month", "share_of_sessions", "mode"): ("work_modes", "share_of_sessions"),
    ("occupations_by_month", "share_where_inferable", "occupation"): ("occupations", "share_where_inferable"),
    ("value_by_mode", "index", "mode"): ("value_by_mode", "mean_usd"),
    # a month's modes add up to that month's sessions with a value (value by month's row of the month)
    ("value_by_mode", "index", "month"): ("value_by_month", "raw"),
    # a level's cells over the modes add up to the level's cell in expertise shape
    ("expertise_shape_by_mode", "actions_per_prompt", "expertise"): ("expertise_shape", "actions_per_prompt"),
    ("expertise_shape_by_mode", "words_per_prompt", "expertise"): ("expertise_shape", "words_per_prompt"),
}


# Lines over all the months whose total another count gives: (figure, variable) -> the totals, each the union of
# parts: (figure, None, None, None) that figure's n (its ``sessions``; printed when it passes the thresholds), or
# (figure, variable, column, value) a row it releases (or its cells' sum, :data:`RELEASE_SUMS`). A total less the
# line's released months is its withheld months' sessions and those without a time, which must be none or pass
# (sessions and distinct users). Checked by the report's final audit.
LineTotal = tuple[tuple[str, str | None, str | None, Any], ...]
RELEASE_LINE_WHOLES: dict[tuple[str, str], tuple[LineTotal, ...]] = {
    **{("value_by_month", v): ((("value_by_month", None, None, None),), (("value_by_mode", None, None, None),))
       for v in ("raw", "reweighted", "mean")},
    **{("success_trend", v): ((("success_trend", None, None, None),),) for v in ("raw", "reweighted")},
    # the unclear sessions: the outcome line of abstentions (among the classified) with its whole-session line
    ("success_trend", "unclear"): ((("abstentions", "abstained", "facet", "outcome"),
                                    ("abstentions", "abstained", "facet", "session")),),
}


# Lines of one figure whose cells of a month are the same sessions, with the same n (value by month's raw and
# reweighted index and its monthly mean; success trend's raw and reweighted rate): a month released in any of them gives
# its n and sessions, so a line's total (:data:`RELEASE_LINE_WHOLES`) less the months released in any of the lines is
# the months none of them releases (and the sessions without a time), which must be none or pass. Checked by the
# report's final audit.
RELEASE_SAME_MONTHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "value_by_month": (("raw", "reweighted", "mean"),),
    "success_trend": (("raw", "reweighted"),),
}


# Where the first figure withholds the cell of the variable at a value of the key column, the figures listed release
# no cell of that value: their cells disclose the rest of a total other figures release (a level's unclear sessions
# are its n, released by expertise shape, minus its sessions with a known outcome, which every known-outcome rate of
# the level and the regression's n disclose). Checked by the report's final audit.
RELEASE_WITHHELD_WITH: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("outcomes_by_expertise", "unclear", "expertise"): ("outcomes_by_expertise", "regression"),
}


# Rates by figure and variable: a released share with its n gives the rest of its group (n / share - n), so both must
# be none or pass the thresholds. 'numerator': n is the sessions counted (the share's numerator); 'denominator': n
# is the sessions the share is over (share x n gives the numerator). Checked by the report's final audit.
RELEASE_RATES: dict[str, dict[str, str]] = {
    "occupations": {"share_of_sessions": "numerator", "share_where_inferable": "numerator"},
    "occupations_by_month": {"share_where_inferable": "numerator"},
    "work_modes": {"share_of_sessions": "numerator", "share_of_sessions_rollup": "numerator"},
    "work_modes_by_month": {"share_of_sessions": "numerator"},
    "outcomes_by_expertise": {v: "numerator" for v in ("strict_success", "at_least_partial", "failure", "unclear")},
    "recovery_by_expertise": {v: "numerator" for v in ("trouble", "recovered", "abandoned")},
    "success_by_occupation": {"strict_success": "numerator", "unclear": "numerator"},
    "success_trend": {"raw": "denominator", "unclear": "numerator"},
    "decisions": {"share_of_sessions": "numerator"},
    "session_shape": {"share_of_sessions": "numerator"},
    "topics": {"share_of_sessions": "numerator"},
}


# Cells that add up to a row the same figure releases: (cells' variable, column, the total's variable). The cells
# of one value of the column sum (n) to the total row of that value, so a released total may stand beside none or
# two or more withheld cells that jointly pass (a roll-up and its modes; a metric's bins and its median's n).
RELEASE_SUMS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "work_modes": (("share_of_sessions", "rollup", "share_of_sessions_rollup"),),
    "session_shape": (("share_of_sessions", "metric", "median"),),
    "decisions": (("share_of_sessions", "kind", "median_pct"),),
    "abstentions": (("sessions", "facet", "abstained"),),
}


# Trees of one figure: (variable, id column, parent column). A released node's n is the sum of its children's rows
# (and of the sessions assigned to it directly, which no row shows), so its n minus its released children must be
# none or pass the thresholds (a topic whose withheld leaf's sessions went to it: 192 - 189 = 3).
RELEASE_TREES: dict[str, tuple[str, str, str]] = {
    "topics": ("share_of_sessions", "cluster_id", "parent_id"),
}


# A monthly rate against the same rate by level in another figure: (month figure, its variable: share over n),
# (level figure, its variable: n is the count). The levels' counts (all released) minus the released months' (share
# x n) are those of the months not released, which must be none or pass (1 success in two withheld months).
RELEASE_MONTHLY_COUNTS: tuple[tuple[tuple[str, str], tuple[str, str]], ...] = (
    (("success_trend", "raw"), ("outcomes_by_expertise", "strict_success")),
)


# Released counts whose difference is a cell no threshold saw: (larger variable, smaller variable, key column).
# At a level, at least partial's n minus strict success's n is its sessions that succeeded or partly succeeded
# without evidence; it must be none or pass.
RELEASE_DIFFERENCES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "outcomes_by_expertise": (("at_least_partial", "strict_success", "expertise"),),
}


# Rates of one figure over one value of a key column (the rates of a level) that a reader combines: with their n and
# shares they give their groups and numerators as sets of sessions, nested or disjoint, and so every region of those
# sets (strict success and failure released at a level give its success or partial without evidence: the known
# sessions less both numerators). Each region must be none or pass. Checked by the report's final audit.
RELEASE_RATE_REGIONS: dict[str, str] = {
    "outcomes_by_expertise": "expertise",
}


# Two share series of one figure over nested populations: (outer variable, inner variable). Each released cell gives
# its series' total (n / share), so the outer total minus the inner one (the sessions whose occupation is not
# inferable) must be none or pass.
RELEASE_NESTED: dict[str, tuple[tuple[str, str], ...]] = {
    "occupations": (("share_of_sessions", "share_where_inferable"),),
}


# Rates whose groups, over a key column, add up (with the sessions in no group) to a row another figure releases:
# ((figure, key column, the rate whose n / share is a whole group, the rate whose n / share is that group less the
# first rate's n), (the total's figure, its variable, column, value)). The total less the groups the released rows give
# is the groups they do not give (and the sessions in none): it must be none, or over two or more groups and pass (the
# code roll-up, 827, less the 819 code-producing sessions of three occupations gave 8 in two others).
RELEASE_GROUP_TOTALS: tuple[tuple[tuple[str, str, str, str], tuple[str, str, str, str]], ...] = (
    (("success_by_occupation", "occupation", "unclear", "strict_success"),
     ("work_modes", "share_of_sessions_rollup", "rollup", "code")),
)


# The same nested populations month by month, across two figures: ((outer figure, its variable), (inner figure, its
# variable), (the figure and its nested pair whose totals the months add up to)). A month's released cell in each
# gives its two totals (n / share), whose difference is the month's classified sessions whose occupation is not
# inferable; over the months not released, the whole figure's difference less the released months'. Each must be none
# or pass.
RELEASE_NESTED_MONTHS: tuple[tuple[tuple[str, str], tuple[str, str], tuple[str, str, str]], ...] = (
    (("work_modes_by_month", "share_of_sessions"), ("occupations_by_month", "share_where_inferable"),
     ("occupations", "share_of_sessions", "share_where_inferable")),
)


# Totals over the values of a key column that other figures release, read with a figure's rates at each value
# (outcome by expertise: its levels): (figure, key column) -> the totals, each (figure, variable, column, value,
# sessions column). Variable None: that figure's n (its ``sessions``; printed when it passes the thresholds). Value
# None: the union of the variable's released rows (a line over the months, whose counts add up; with the lines of the
# same months, :data:`RELEASE_SAME_MONTHS`, for ``_sessions``), read in the sessions column (``_num_sessions``: the
# counts share x n gives; ``_den_sessions``: the groups n / share gives). Else the released row of that value (or its
# cells' sum, :data:`RELEASE_SUMS`). A reader adds or subtracts totals and subtracts the groups each value's released
# rates give (with :data:`RELEASE_KEY_PARTS` and the value's whole, its sessions, which other figures release): each
# group of sessions that leaves must be none or pass (sessions and distinct users). Checked by the report's final
# audit, which works the groups out as sets of sessions, whatever the figure decided.
KeyTotal = tuple[str, str | None, str | None, Any, str]
RELEASE_KEY_TOTALS: dict[tuple[str, str], tuple[KeyTotal, ...]] = {
    ("outcomes_by_expertise", "expertise"): (
        ("success_trend", None, None, None, "_sessions"),  # the sessions with a known outcome
        ("success_trend", "raw", "month", None, "_sessions"),  # those of the released months
        ("success_trend", "raw", "month", None, "_num_sessions"),  # their strict successes (share x n)
        ("success_trend", "unclear", "month", None, "_sessions"),  # the released months' unclear sessions
        ("success_trend", "unclear", "month", None, "_den_sessions"),  # their sessions with an outcome (n / share)
        ("regression", None, None, None, "_sessions"),  # the sessions with a known outcome and a level
        ("abstentions", "abstained", "facet", "outcome", "_sessions"),  # unclear among the classified
        ("abstentions", "abstained", "facet", "session", "_sessions"),  # the sessions not answered at all
        ("abstentions", "abstained", "facet", "expertise", "_sessions"),  # classified without a level
        ("coverage", "classified sessions", "dimension", "all", "_sessions"),  # with a level or without one
        # the sessions with a level (and the figure's data): the levels' wholes, one total
        ("expertise_shape", None, None, None, "_sessions"),
        ("expertise_shape_by_mode", None, None, None, "_sessions"),
        ("outcomes_by_expertise", None, None, None, "_sessions"),
        ("recovery_by_expertise", None, None, None, "_sessions"),
    ),
}

# Other figures' rows keyed by the same column as :data:`RELEASE_KEY_TOTALS`' figure: (figure, key column) ->
# (figure, variable, family); a released row's sessions (``_sessions``, ``_den_sessions``) are known at its value. The
# groups of one family (the figure's own rates are the family named by the figure) are nested or apart at a value,
# so the regions they cut it into are groups a reader knows the size of; groups of different families overlap (the
# sessions with trouble, a work mode's cell, cut across the outcomes), and their intersections are no released
# sizes: the regions are worked out within one family at a time. Family None: in every family (a level's sessions,
# the whole the others are nested in). The regression's n at a level: its sessions with a known outcome.
RELEASE_KEY_PARTS: dict[tuple[str, str], tuple[tuple[str, str, str | None], ...]] = {
    ("outcomes_by_expertise", "expertise"): (
        ("regression", "strict_success_pp", "outcomes_by_expertise"),
        # a level's sessions (with the figure's data), where these figures release the level
        ("expertise_shape", "actions_per_prompt", None), ("expertise_shape", "words_per_prompt", None),
        ("expertise_shape", "visible_words_per_prompt", None),
        ("expertise_shape_by_mode", "actions_per_prompt", "expertise_shape_by_mode"),
        ("expertise_shape_by_mode", "words_per_prompt", "expertise_shape_by_mode"),
        ("recovery_by_expertise", "trouble", "recovery_by_expertise"),
        ("recovery_by_expertise", "recovered", "recovery_by_expertise"),
        ("recovery_by_expertise", "abandoned", "recovery_by_expertise"),
    ),
}


# Totals of a nested pair's populations (:data:`RELEASE_NESTED`) that other figures release: (figure, outer variable,
# inner variable) -> (totals of the outer population, totals of the inner population or of a part of it), each as a
# total of :data:`RELEASE_KEY_TOTALS`. An outer total less an inner one is the sessions outside the inner population
# (whose occupation is not inferable) with the inner ones the inner total misses (without a time), and an inner total
# less the pair's released cells is the inner population's withheld cells (with sessions of released cells it misses):
# each must be none or pass (sessions and distinct users). The pair's own totals (n / share of a released cell) count
# among them. Occupations by month's n is the sessions with an inferable occupation and a time: with no session
# without a time, the inferable total the occupations figure withholds whole. Checked by the report's final audit.
RELEASE_NESTED_TOTALS: dict[tuple[str, str, str], tuple[tuple[KeyTotal, ...], tuple[KeyTotal, ...]]] = {
    ("occupations", "share_of_sessions", "share_where_inferable"): (
        (("coverage", "classified sessions", "dimension", "all", "_sessions"),),
        (("occupations_by_month", None, None, None, "_sessions"),
         ("occupations_by_month", "share_where_inferable", "month", None, "_den_sessions")),
    ),
}


# Share series over the months whose groups (a released cell's n / share: the month's sessions of the series'
# population) add up, with the sessions of that population without a time, to totals other figures release: (figure,
# share variable) -> the totals, each as a total of :data:`RELEASE_KEY_TOTALS`. A total less the groups of the months
# the series gives is the sessions without a time with those of the months it gives no group (withheld whole, or left
# off at the ends of the range), which must be none or pass (sessions and distinct users): every month released gave
# work modes' n (2,024 classified sessions) less the months' 2,016, the 8 classified sessions (8 users) without a time.
# Checked by the report's final audit.
RELEASE_MONTH_GROUPS: dict[tuple[str, str], tuple[KeyTotal, ...]] = {
    ("work_modes_by_month", "share_of_sessions"): (
        ("work_modes", None, None, None, "_sessions"),  # the classified sessions
        ("coverage", "classified sessions", "dimension", "all", "_sessions"),
        ("occupations", "share_of_sessions", "occupation", None, "_den_sessions"),  # its total (n / share)
        ("work_modes_by_month", None, None, None, "_sessions"),  # the classified sessions (see _untimed_n)
    ),
    ("occupations_by_month", "share_where_inferable"): (
        ("occupations", "share_where_inferable", "occupation", None, "_den_sessions"),  # the inferable sessions
        ("occupations_by_month", None, None, None, "_sessions"),  # the same (see _untimed_n)
    ),
}


# The share series over the months whose groups (a released cell's n / share: a month's classified sessions) a
# figure's n is read against (:func:`_month_group_population`): where the n's sessions all have a time and each of
# their months has a group, the sum of those groups less the n is the months' classified sessions the figure leaves
# out (decisions' n: those without a planning share), which must be none or pass (sessions and distinct users).
# Checked by the report's final audit (every released figure n and share line total, as sets of sessions).
RELEASE_MONTH_GAPS: tuple[str, str] = ("work_modes_by_month", "share_of_sessions")


# Lines of other figures whose released cells of a month are sessions of that month inside a share series' group
# (:data:`RELEASE_MONTH_GROUPS`) by definition: (figure, share variable) -> (figure, variable) of each line, whose
# released rows of a month give the union of their sessions (value by month's rows: the month's classified sessions
# with a value; value by mode's index: those of the modes it releases; success trend's: its classified sessions with a
# known outcome), or of a share series over the months its month's group (occupations by month: its classified
# sessions with an inferable occupation, n / share). A month the series withholds (to keep its population's sessions
# without a time from following) but such a line releases gives its sessions, nearly all the group where nearly every
# classified session has a value: each total less the groups the released months give (of the series, or of a line:
# any one line of each month, as two lines' counts give no union) must be none or pass, and so must a month's group
# less a line's sessions of the month (its classified sessions without a value, :func:`_value_gap_months`, or whose
# outcome is unclear, :func:`_few_unclear_months`). Checked by the report's final audit.
RELEASE_MONTH_INSIDE: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("work_modes_by_month", "share_of_sessions"): (
        ("value_by_month", "raw"), ("value_by_month", "reweighted"), ("value_by_month", "mean"),
        ("value_by_mode", "index"),
        # a month's sessions with a known outcome (its classified ones whose outcome is not unclear)
        ("success_trend", "raw"), ("success_trend", "reweighted"),
        # a month's sessions with an inferable occupation (its group: n / share of a released cell above 0)
        ("occupations_by_month", "share_where_inferable"),
    ),
}


# Cells of two figures at the same value of a key column (or of several: a mode and a month) whose sessions are nested
# by definition: (outer figure, its variable, the key column(s), the outer cell's sessions column) -> the inner
# (figure, variable) cells. Where both are released, the outer cell's sessions less the inner one's (a mode's classified
# sessions without a value; of a month: work modes by month's cell, its n / share, less value by mode's index cell of
# the mode and month) must be none or pass (sessions and distinct users). Checked by the report's final audit.
RELEASE_NESTED_CELLS: dict[tuple[str, str, str | tuple[str, ...], str], tuple[tuple[str, str], ...]] = {
    ("work_modes", "share_of_sessions", "mode", "_sessions"): (("value_by_mode", "mean_usd"),
                                                               ("value_by_mode", "median_usd")),
    ("work_modes_by_month", "share_of_sessions", ("mode", "month"), "_sessions"): (("value_by_mode", "index"),),
}


# Released n's of populations nested by definition, each population with its released totals and the populations
# inside it: population -> (its totals, the populations it holds). A total is (figure, None, None, None): the figure's n
# (its ``sessions``; printed when it passes the thresholds), or (figure, variable, column, value): the union of the
# variable's released rows at that value of the column (one row: its n; a line of cells: their sum, the population
# where all are released); a share line of that figure at that value (n its numerator: a decision kind's bins, a shape
# metric's) gives the same sessions (n / share) and counts among them too, released median or not. Every total less one of the same population or of a population inside it (the sessions
# with a time are among all sessions; the classified ones with a value among the classified) is a group a reader
# works out by subtraction, which must be none or pass (sessions and distinct users): coverage's sessions (373) less
# usage intensity's n (363) gave the 10 sessions without a time, of 4 users, that coverage withholds; work modes' n
# (353) less work modes by month's (346, when it counted only the sessions with a time) the 7 classified ones without
# a time, of 1 user. Checked by the report's final audit (on the sets of sessions: a total that is not inside the
# other gives nothing and is skipped).
# The sessions not classified (coverage's sessions less its classified ones, both released) are not checked here, nor
# the differences that hold some of them (those with a time, or a prompt, less the classified ones among them): they
# are given wherever classification is partial, and withholding them would take the report's every total.
NestedTotal = tuple[str, str | None, str | None, Any]
RELEASE_NESTED_NS: dict[str, tuple[tuple[NestedTotal, ...], tuple[str, ...]]] = {
    "all": ((("coverage", "sessions", "dimension", "all"),), ("timed", "prompted")),
    "timed": ((("usage_intensity", None, None, None),), ()),
    "prompted": ((("session_shape", None, None, None), ("session_shape", "median", "metric", "prompts"),
                  ("session_shape", "mean", "metric", "prompts")),
                 tuple(f"prompted, with {m}" for m in ("actions_per_prompt", "words_per_prompt", "active_minutes",
                                                       "cost_usd"))),
    # a shape metric's sessions (those it leaves out: no recorded turn time, no known price; its bins give them too)
    **{f"prompted, with {m}": ((("session_shape", "median", "metric", m), ("session_shape", "mean", "metric", m)), ())
       for m in ("actions_per_prompt", "words_per_prompt", "active_minutes", "cost_usd")},
    # (work modes by month's n counts its sessions without a time too: see _untimed_n)
    "classified": ((("coverage", "classified sessions", "dimension", "all"), ("work_modes", None, None, None),
                    ("work_modes_by_month", None, None, None)),
                   ("planning decided", "execution decided", "valued")),
    # the decision shares (placeholders of abstained sessions: classified ones only) and, of them, the sessions with
    # actions per prompt (at least one prompt): each kind's bins add up to its line's sessions
    "planning decided": ((("decisions", None, None, None), ("decisions", "median_pct", "kind", "planning"),
                          ("decisions", "mean_pct", "kind", "planning")), ("planning decided, prompted",)),
    "execution decided": ((("decisions", "median_pct", "kind", "execution"),
                           ("decisions", "mean_pct", "kind", "execution")), ("execution decided, prompted",)),
    "planning decided, prompted": ((("actions_by_decisions", "actions_per_prompt", "kind", "planning"),), ()),
    "execution decided, prompted": ((("actions_by_decisions", None, None, None),
                                     ("actions_by_decisions", "actions_per_prompt", "kind", "execution")), ()),
    "valued": ((("value_by_month", None, None, None),), ("valued, with a mode",)),
    # (value by mode's modes: each line's released rows, whose sum is its n where all are released)
    "valued, with a mode": ((("value_by_mode", None, None, None), ("value_by_mode", "mean_usd", "variable", "mean_usd"),
                             ("value_by_mode", "median_usd", "variable", "median_usd")), ()),
}


def nested_populations(population: str) -> list[str]:
    """``population`` of :data:`RELEASE_NESTED_NS` and every population inside it (transitively), each once."""
    out: list[str] = []
    todo = [population]
    while todo:
        p = todo.pop(0)
        if p not in out:
            out.append(p)
            todo += list(RELEASE_NESTED_NS[p][1])
    return out


def _audited_variables() -> dict[str, frozenset[str]]:
    """The variables of each figure whose rows the report's final audit reads the sessions of
    (:data:`SESSION_COLUMNS_AUDITED`): those the release tables above name, and coverage's classified sessions (the
    topics' total is checked against them)."""
    out: dict[str, set[str]] = {"coverage": {"classified sessions"}}

    def add(fid: str, *variables: str) -> None:
        out.setdefault(fid, set()).update(variables)

    for fid, rates in RELEASE_RATES.items():
        add(fid, *rates)
    for fid, sums in RELEASE_SUMS.items():
        for cells, _col, total in sums:
            add(fid, cells, total)
    for fid, (var, _id, _parent) in RELEASE_TREES.items():
        add(fid, var)
    for fid, diffs in RELEASE_DIFFERENCES.items():
        for big, small, _col in diffs:
            add(fid, big, small)
    for fid, pairs in RELEASE_NESTED.items():
        for outer, inner in pairs:
            add(fid, outer, inner)
    for (fid, var, _col), (tfig, tvar) in RELEASE_LINE_TOTALS.items():
        add(fid, var)
        add(tfig, tvar)
    for (fid, var), totals in RELEASE_LINE_WHOLES.items():
        add(fid, var)
        for total in totals:
            for tfig, tvar, _tcol, _tvalue in total:
                if tvar is not None:
                    add(tfig, tvar)
    for (mfig, mvar), (lfig, lvar) in RELEASE_MONTHLY_COUNTS:
        add(mfig, mvar)
        add(lfig, lvar)
    for (ofig, ovar), (ifig, ivar), (tfig, touter, tinner) in RELEASE_NESTED_MONTHS:
        add(ofig, ovar)
        add(ifig, ivar)
        add(tfig, touter, tinner)
    for (fid, _col, whole, part), (tfig, tvar, _tcol, _tvalue) in RELEASE_GROUP_TOTALS:
        add(fid, whole, part)
        add(tfig, tvar)
    for (fid, _col), key_totals in RELEASE_KEY_TOTALS.items():
        add(fid, *RELEASE_RATES.get(fid, {}))
        for tfig, tvar, _tcol, _tvalue, _scol in key_totals:
            if tvar is not None:
                add(tfig, tvar)
    for parts in RELEASE_KEY_PARTS.values():
        for pfig, pvar, _family in parts:
            add(pfig, pvar)
    for (fid, outer, inner), (outer_totals, inner_totals) in RELEASE_NESTED_TOTALS.items():
        add(fid, outer, inner)
        for tfig, tvar, _tcol, _tvalue, _scol in (*outer_totals, *inner_totals):
            if tvar is not None:
                add(tfig, tvar)
    for (fid, var), month_totals in RELEASE_MONTH_GROUPS.items():
        add(fid, var)
        for tfig, tvar, _tcol, _tvalue, _scol in month_totals:
            if tvar is not None:
                add(tfig, tvar)
    for (fid, var), lines in RELEASE_MONTH_INSIDE.items():
        add(fid, var)
        for lfig, lvar in lines:
            add(lfig, lvar)
    for (fid, var, _col, _scol), cells in RELEASE_NESTED_CELLS.items():
        add(fid, var)
        for cfig, cvar in cells:
            add(cfig, cvar)
    for totals, _inside in RELEASE_NESTED_NS.values():
        for tfig, tvar, _tcol, _tvalue in totals:
            if tvar is not None:
                add(tfig, tvar)
    return {k: frozenset(v) for k, v in out.items()}


AUDITED_VARIABLES: dict[str, frozenset[str]] = _audited_variables()


def _keep_audited_sessions(f: Figure) -> None:
    """Keep the sessions behind a figure's rows (:data:`SESSION_COLUMNS_AUDITED`) only on the rows the final audit
    reads (:data:`AUDITED_VARIABLES`): each row's are an array of up to every session's index, held until the audit."""
    t = f.table
    cols = [c for c in SESSION_COLUMNS_AUDITED if c in t]
    if not cols:
        return
    keep = t["variable"].isin(AUDITED_VARIABLES.get(f.id, frozenset())) if "variable" in t else pd.Series(False,
                                                                                                       index=t.index)
    if not bool(keep.any()):
        f.table = t.drop(columns=cols)
    elif not bool(keep.all()):
        t = t.copy()
        for c in cols:
            t[c] = t[c].where(keep, None)
        f.table = t


FIGURES: tuple[Callable[[Context], Figure], ...] = (
    fig_coverage,
    fig_abstentions,
    fig_occupations,
    fig_occupations_by_month,
    fig_work_modes,
    fig_work_modes_by_month,
    fig_value_by_month,
    fig_value_by_mode,
    fig_expertise_shape,
    fig_expertise_shape_by_mode,
    fig_outcomes_by_expertise,
    fig_recovery_by_expertise,
    fig_success_by_occupation,
    fig_success_trend,
    fig_regression,
    fig_decisions,
    fig_actions_by_decisions,
    fig_session_shape,
    fig_usage_intensity,
    fig_topics,
    fig_git_adoption,
)


def build_figures(ctx: Context, only: Sequence[str] | None = None) -> list[Figure]:
    figs = []
    for f in FIGURES:
        fid = f.__name__.removeprefix("fig_")
        if only is not None and fid not in only:
            continue
        fig = f(ctx)
        _keep_audited_sessions(fig)
        figs.append(fig)
    return withhold_linked(figs)


def long_table(figures: Sequence[Figure]) -> pa.Table:
    """All released rows in one long table: facet, level (keys joined with '::'), variable, value, interval, n, suppressed."""
    cols: dict[str, list[Any]] = {c: [] for c in LONG_COLUMNS}
    for f in figures:
        if not f.available:
            continue
        keys = [k for k in f.keys if k in f.table.columns and not k.endswith("_label") and k not in (
            "order", "description", "name", "parent_id", "depth")]
        for r in f.table.to_dict("records"):
            lv = "::".join(str(r[k]) for k in keys if r.get(k) is not None and r.get(k) == r.get(k)) or "all"
            cols["facet"].append(f.id)
            cols["level"].append(lv)
            cols["variable"].append(r["variable"])
            for c in ("value", "ci_low", "ci_high"):
                v = r[c]
                cols[c].append(None if v is None or v != v else float(v))
            for c in ("n_users", "n_sessions"):
                v = r[c]
                cols[c].append(None if v is None or v is pd.NA or v != v else int(v))
            cols["suppressed"].append(bool(r["suppressed"]))
    return pa.table({
        "facet": pa.array(cols["facet"], pa.string()),
        "level": pa.array(cols["level"], pa.string()),
        "variable": pa.array(cols["variable"], pa.string()),
        "value": pa.array(cols["value"], pa.float64()),
        "ci_low": pa.array(cols["ci_low"], pa.float64()),
        "ci_high": pa.array(cols["ci_high"], pa.float64()),
        "n_users": pa.array(cols["n_users"], pa.int64()),
        "n_sessions": pa.array(cols["n_sessions"], pa.int64()),
        "suppressed": pa.array(cols["suppressed"], pa.bool_()),
    })


__all__ = [
    "FIGURES",
    "LONG_COLUMNS",
    "STD_COLUMNS",
    "Context",
    "Figure",
    "RELEASE_DIFFERENCES",
    "RELEASE_GROUP_TOTALS",
    "RELEASE_LINE_TOTALS",
    "RELEASE_LINE_WHOLES",
    "RELEASE_MONTH_GROUPS",
    "RELEASE_MONTH_INSIDE",
    "RELEASE_MONTHLY_COUNTS",
    "RELEASE_NESTED",
    "RELEASE_NESTED_CELLS",
    "RELEASE_NESTED_NS",
    "RELEASE_PARTITIONS",
    "RELEASE_RATE_REGIONS",
    "RELEASE_RATES",
    "RELEASE_SAME_MONTHS",
    "RELEASE_SUMS",
    "RELEASE_TREES",
    "RELEASE_WITHHELD_WITH",
    "PolicyLike",
    "ReportData",
    "build_figures",
    "load_report_data",
    "long_table",
    "passes",
]
