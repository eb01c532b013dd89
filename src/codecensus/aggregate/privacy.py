"""Release policy: minimum counts per released cell, with complementary suppression.

Clio's layer 2 (aggregation thresholds) for codecensus tables. A *cell* is one row of a long
table (e.g. facet = work_mode, value = fix) carrying ``n_users`` (distinct users) and
``n_sessions``. Cells are grouped (default: by ``facet``); the cells of a group partition a whole,
so their counts add up to the group total and their shares to 100%.

Rules, per group:

1. **Threshold**: a cell with fewer than ``min_users`` distinct users or fewer than
   ``min_sessions`` sessions is suppressed: ``suppressed=True`` and every value column nulled
   (counts included). Empty cells (0 users and 0 sessions) are released as zeros: they describe
   nobody, and suppressing them would hide which categories exist.
2. **Complementary suppression**: the group's total is always recoverable (it is released, or
   the shares add up to 100%, or the same total appears on another screen), so a lone suppressed
   cell equals "total minus the released cells". Therefore, whenever a group has suppressed
   cells, more cells are suppressed, smallest first (by sessions, then users), until at least two
   non-empty cells are suppressed **and** the suppressed cells together reach both thresholds (on the distinct
   users of their union: see ``users_set_column``; never on the sum of their user counts).
   Subtraction then yields only the sum of two or more cells, and that sum is itself as large
   as a releasable cell.
3. **Totals** (rows flagged by ``total_column``): *released as they are* when they meet the
   thresholds (rule 2 makes that safe) and suppressed otherwise; a group whose total is below the
   thresholds has all its cells suppressed. Totals are never recomputed over released cells.

Reasons are recorded in ``suppression``: ``"threshold"``, ``"complementary"``, ``"group_total"``.

Modes: the team default is 5 users and 10 sessions per cell. ``individual=True`` lowers both to
1 (a personal report over one's own sessions); it must be surfaced, and :meth:`ReleasePolicy.banner`
returns the text the report prints on its first screen. A team policy below 2 users is refused:
it would release single people's data without the banner.

Across figures: this function protects the groups it is given one at a time. Two tables that slice the
same sessions along different dimensions (month x mode and mode alone) could be differenced against each
other; the report's figures (:mod:`codecensus.aggregate.figures`) therefore hide one set of months in every
figure, give ``withheld_column`` the cells another partition withheld (``_finish(..., across=...)``), and the
report audits the partitions it knows before writing (``figures.RELEASE_PARTITIONS``). Routes it does not
know are not covered: a new cross-tab must be added there, or released under the DP mode
(:mod:`codecensus.aggregate.dp`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

SUPPRESSED = "suppressed"
REASON = "suppression"
R_THRESHOLD = "threshold"
R_COMPLEMENTARY = "complementary"
R_GROUP_TOTAL = "group_total"

TEAM_MIN_USERS = 5
TEAM_MIN_SESSIONS = 10


@dataclass(frozen=True)
class ReleasePolicy:
    """Minimum distinct users and sessions per released cell."""

    min_users: int = TEAM_MIN_USERS
    min_sessions: int = TEAM_MIN_SESSIONS
    individual: bool = False

    def __post_init__(self) -> None:
        if self.individual:
            object.__setattr__(self, "min_users", 1)
            object.__setattr__(self, "min_sessions", 1)
            return
        if self.min_users < 2:
            raise ValueError(
                "a team release needs min_users >= 2; use ReleasePolicy(individual=True) for a personal "
                "report (it prints a banner saying so)"
            )
        if self.min_sessions < self.min_users:
            raise ValueError("min_sessions must be >= min_users (each user has at least one session)")

    @classmethod
    def team(cls, min_users: int = TEAM_MIN_USERS, min_sessions: int = TEAM_MIN_SESSIONS) -> ReleasePolicy:
        return cls(min_users=min_users, min_sessions=min_sessions)

    @classmethod
    def individual_mode(cls) -> ReleasePolicy:
        return cls(individual=True)

    def passes(self, n_users: int | None, n_sessions: int | None) -> bool:
        return (n_users or 0) >= self.min_users and (n_sessions or 0) >= self.min_sessions

    def banner(self) -> str:
        """One paragraph for the report's first screen."""
        if self.individual:
            return (
                "INDIVIDUAL MODE: minimum-count suppression is OFF (thresholds 1 user / 1 session). "
                "Every figure may describe a single person's sessions. Keep this report with that person; "
                "do not share it with a team or publish it."
            )
        return (
            f"Privacy: every figure covers at least {self.min_users} distinct users and {self.min_sessions} "
            "sessions. Smaller cells are suppressed, and further cells are suppressed with them so that "
            "they cannot be recovered from totals."
        )

    def describe(self) -> dict[str, Any]:
        """For run manifests."""
        return {
            "min_users": self.min_users,
            "min_sessions": self.min_sessions,
            "individual": self.individual,
            "complementary_suppression": True,
        }


def apply_release_policy(
    table: pa.Table | Sequence[Mapping[str, Any]],
    policy: ReleasePolicy | None = None,
    *,
    group_by: Sequence[str] = ("facet",),
    users_column: str = "n_users",
    sessions_column: str = "n_sessions",
    value_columns: Sequence[str] | None = None,
    total_column: str | None = None,
    withheld_column: str | None = None,
    last_resort_column: str | None = None,
    users_set_column: str | None = None,
    first_resort_column: str | None = None,
) -> Any:
    """Mark and null cells that may not be released. Returns the same kind it was given
    (a ``pyarrow.Table`` or a list of dicts) with ``suppressed`` and ``suppression`` columns.

    ``value_columns`` are nulled in suppressed rows; by default every numeric column outside
    ``group_by`` (the user and session counts included). Non-numeric columns (labels) are kept.
    ``total_column`` names a boolean column flagging group-total rows (optional).
    ``withheld_column`` names a boolean column flagging cells already withheld for another reason (another
    partition they belong to): they stay suppressed, and their counts protect the group like any suppressed cell's.
    An empty one (0 users, 0 sessions) is still protected (others are withheld with it, so that subtraction does not
    show it empty) but does not count toward the two non-empty cells of rule 2.
    ``last_resort_column`` names a boolean column flagging cells that complementary suppression takes only when the
    others are not enough (withholding them costs more than their counts: a month at an end of the range drops out
    of the report's dates). ``first_resort_column`` names a boolean column flagging residual cells (occupation 'not
    inferable') that complementary suppression takes before the others, whatever their size: losing a residual cell
    costs less than losing a substantive one. Flag one only where its count follows from nothing else released (no
    other series gives the total of the substantive cells, which with the group's total gives the residual back).
    ``users_set_column`` names a column holding each cell's set of user ids: the suppressed
    cells then pass the user threshold on the distinct users of their union (a user in two cells counts once; the
    sum of the cells' user counts counts them twice). A cell without a set (or every cell, without the column)
    counts as the fewest distinct users it can add: none beyond the largest such cell's user count, since the same
    few users may be in every cell.
    """
    policy = policy or ReleasePolicy()
    is_arrow = isinstance(table, pa.Table)
    if is_arrow:
        assert isinstance(table, pa.Table)
        schema = table.schema
        rows = table.to_pylist()
        if value_columns is None:
            value_columns = [
                f.name
                for f in schema
                if f.name not in group_by
                and f.name != total_column
                and (
                    pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_decimal(f.type)
                )
            ]
    else:
        rows = [dict(r) for r in table]
        schema = None
        if value_columns is None:
            cols: dict[str, bool] = {}
            for r in rows:
                for k, v in r.items():
                    if v is None or isinstance(v, bool):
                        cols.setdefault(k, False)
                    elif isinstance(v, int | float):
                        cols[k] = True
                    else:
                        cols[k] = False
            value_columns = [
                k for k, numeric in cols.items() if numeric and k not in group_by and k != total_column
            ]
    for c in (users_column, sessions_column):
        if rows and c not in rows[0]:
            raise KeyError(f"column {c!r} missing from the table")

    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[tuple(r.get(g) for g in group_by)].append(i)

    reason: list[str | None] = [None] * len(rows)
    for idxs in groups.values():
        totals = [i for i in idxs if total_column and rows[i].get(total_column)]
        cells = [i for i in idxs if i not in set(totals)]
        _suppress_group(rows, cells, totals, reason, policy, users_column, sessions_column, withheld_column,
                        last_resort_column, users_set_column, first_resort_column)

    for i, r in enumerate(rows):
        r[SUPPRESSED] = reason[i] is not None
        r[REASON] = reason[i]
        if reason[i] is not None:
            for c in value_columns:
                if c in r:
                    r[c] = None

    if not is_arrow:
        return rows
    assert schema is not None
    out_schema = schema
    for name, typ in ((SUPPRESSED, pa.bool_()), (REASON, pa.string())):
        if name in out_schema.names:
            out_schema = out_schema.remove(out_schema.get_field_index(name))
        out_schema = out_schema.append(pa.field(name, typ))
    return pa.Table.from_pylist(rows, schema=out_schema)


def _n(v: Any) -> int:
    return int(v) if v is not None else 0


def _suppress_group(
    rows: list[dict[str, Any]],
    cells: list[int],
    totals: list[int],
    reason: list[str | None],
    policy: ReleasePolicy,
    ucol: str,
    scol: str,
    withheld: str | None = None,
    last_resort: str | None = None,
    user_sets: str | None = None,
    first_resort: str | None = None,
) -> None:
    def empty(i: int) -> bool:
        return _n(rows[i].get(ucol)) == 0 and _n(rows[i].get(scol)) == 0

    # a group whose total is too small: everything goes
    if totals and not all(policy.passes(rows[t].get(ucol), rows[t].get(scol)) for t in totals):
        for i in totals:
            reason[i] = R_THRESHOLD
        for i in cells:
            if not empty(i):
                reason[i] = R_GROUP_TOTAL
        return
    for i in cells:
        if not empty(i) and not policy.passes(rows[i].get(ucol), rows[i].get(scol)):
            reason[i] = R_THRESHOLD
        elif withheld and rows[i].get(withheld):
            reason[i] = R_COMPLEMENTARY
    if policy.individual:
        return
    suppressed = [i for i in cells if reason[i] is not None]
    if not suppressed:
        return

    def distinct_users() -> int:
        # The distinct users of the union of the cells' sets; a cell without a set adds the fewest it can: none
        # beyond the largest such cell's count. The sum counted a user once per cell: two withheld modes of 2 and 3
        # users 'passed' on 5 while they were the same 3 users, and the total less the released modes gave their
        # 12 sessions of 3 users.
        sets = [rows[i].get(user_sets) if user_sets else None for i in suppressed]
        known = [x for x in sets if isinstance(x, set | frozenset)]
        bare = [_n(rows[i].get(ucol)) for i, x in zip(suppressed, sets, strict=True) if not isinstance(x, set | frozenset)]
        return max(len(set().union(*known)), max(bare, default=0))

    def protected() -> bool:
        # two non-empty cells: an empty withheld cell hides nothing beside one real cell once its emptiness is known
        # (a mode with no session in a withheld month; a released 0 elsewhere), and then that cell follows alone
        sup_sessions = sum(_n(rows[i].get(scol)) for i in suppressed)
        return (sum(not empty(i) for i in suppressed) >= 2 and distinct_users() >= policy.min_users
                and sup_sessions >= policy.min_sessions)

    candidates = sorted(
        (i for i in cells if reason[i] is None and not empty(i)),
        key=lambda i: (not (first_resort and rows[i].get(first_resort)), bool(last_resort and rows[i].get(last_resort)),
                       _n(rows[i].get(scol)), _n(rows[i].get(ucol)), i),
    )
    for i in candidates:
        if protected():
            break
        reason[i] = R_COMPLEMENTARY
        suppressed.append(i)


def complement_takes_largest(
    cells: Sequence[Mapping[str, Any]],
    policy: ReleasePolicy | Any,
    *,
    users_column: str = "n_users",
    sessions_column: str = "n_sessions",
    users_set_column: str | None = None,
) -> bool:
    """Whether complementary suppression, over ``cells`` as one group (rule 2), has to take the group's largest
    non-empty cell. Complements go smallest first, so then every non-empty cell is withheld and the group releases
    zeros only: a share series in that state is better withheld whole (its cells add nothing), which leaves the
    cells it shares with another series (the same sessions) free there (see ``figures.fig_occupations``)."""
    if getattr(policy, "individual", False):
        return False
    recs = [{"_g": 0, users_column: _n(c.get(users_column)), sessions_column: _n(c.get(sessions_column)),
             **({users_set_column: c.get(users_set_column)} if users_set_column else {})} for c in cells]
    live = [i for i, r in enumerate(recs) if r[users_column] or r[sessions_column]]
    if not live:
        return False
    out = apply_release_policy(recs, policy, group_by=["_g"], users_column=users_column,
                               sessions_column=sessions_column, value_columns=[], users_set_column=users_set_column)
    top = max(live, key=lambda i: (recs[i][sessions_column], recs[i][users_column], -i))
    return out[top][REASON] == R_COMPLEMENTARY


def check_release(
    table: pa.Table | Sequence[Mapping[str, Any]],
    policy: ReleasePolicy | None = None,
    *,
    group_by: Sequence[str] = ("facet",),
    users_column: str = "n_users",
    sessions_column: str = "n_sessions",
    counts: pa.Table | Sequence[Mapping[str, Any]] | None = None,
    total_column: str | None = None,
) -> list[str]:
    """Problems that make a processed table unsafe to release (empty list = fine).

    ``table`` is the output of :func:`apply_release_policy`. Checks that released cells have
    their counts and meet the thresholds and that no group has exactly one non-empty suppressed
    cell. With ``counts`` (the same table before suppression, same row order) it also checks
    that the suppressed cells of each group jointly meet the thresholds.
    """
    policy = policy or ReleasePolicy()
    rows = table.to_pylist() if isinstance(table, pa.Table) else [dict(r) for r in table]
    raw = None
    if counts is not None:
        raw = counts.to_pylist() if isinstance(counts, pa.Table) else [dict(r) for r in counts]
    problems: list[str] = []
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if SUPPRESSED not in r:
            return ["table has no 'suppressed' column: apply_release_policy was not run"]
        groups[tuple(r.get(g) for g in group_by)].append(i)
        if not r[SUPPRESSED]:
            nu, ns = r.get(users_column), r.get(sessions_column)
            if nu is None or ns is None:
                problems.append(f"row {i}: released without counts")
            elif not (nu == 0 and ns == 0) and not policy.passes(nu, ns):
                problems.append(f"row {i}: released below thresholds ({nu} users, {ns} sessions)")
    if policy.individual:
        return problems
    for key, all_idxs in groups.items():
        idxs = [i for i in all_idxs if not (total_column and rows[i].get(total_column))]
        if any(rows[i].get(REASON) == R_GROUP_TOTAL for i in idxs):
            continue  # the whole group is withheld
        sup = [i for i in idxs if rows[i][SUPPRESSED]]
        if raw is not None:
            sup = [i for i in sup if _n(raw[i].get(users_column)) or _n(raw[i].get(sessions_column))]
        # subtraction needs released non-empty cells next to the suppressed ones
        shown = [
            i
            for i in idxs
            if not rows[i][SUPPRESSED] and (_n(rows[i].get(users_column)) or _n(rows[i].get(sessions_column)))
        ]
        if len(sup) == 1 and shown:
            problems.append(f"group {key}: a single suppressed cell can be recovered by subtraction")
        if raw is not None and sup and shown:
            su = sum(_n(raw[i].get(users_column)) for i in sup)
            ss = sum(_n(raw[i].get(sessions_column)) for i in sup)
            if su < policy.min_users or ss < policy.min_sessions:
                problems.append(f"group {key}: suppressed cells sum to only {su} users / {ss} sessions")
    return problems
