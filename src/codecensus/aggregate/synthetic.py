"""Synthetic ``sessions`` + ``facets`` (+ clusters, + git adoption) tables with planted effects.

For tests and benchmarks of the aggregate and report layers only: the numbers
are drawn from simple distributions shaped after the published study (work-mode
drift, the expertise gradient in actions and words per prompt, outcomes by
expertise, +27% value over the period), so a test can check that a statistic
recovers an effect that is known to be there. Nothing here reads transcripts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from codecensus.measure import SESSION_COLUMNS
from codecensus.taxonomy import MODE_KEYS, NOT_INFERABLE

# occupation mix of users (SOC major group -> weight), roughly the study's ordering
_OCC_WEIGHTS = {
    "15": 0.50, "13": 0.10, "27": 0.08, "11": 0.07, "19": 0.06, "41": 0.04, "23": 0.03, "25": 0.04,
    "17": 0.04, "43": 0.02, "29": 0.02,
}
# median hourly wage stand-ins for the synthetic value model (USD; not the shipped wage table)
_WAGE = {"15": 52.0, "13": 39.0, "27": 30.0, "11": 60.0, "19": 40.0, "41": 22.0, "23": 48.0, "25": 30.0,
         "17": 45.0, "43": 22.0, "29": 43.0}
_MODE_HOURS = {"build": 6.0, "fix": 3.0, "test": 2.5, "orchestrate": 5.0, "operate": 2.0, "understand": 1.5,
               "plan": 2.0, "analyze": 3.5, "write": 2.5}
_TOPICS = {
    "build": ["Build a web dashboard for team metrics", "Create a command-line tool for file conversion",
              "Implement a REST API for a booking system"],
    "fix": ["Fix a failing build after a dependency upgrade", "Debug a memory leak in a background worker",
            "Refactor a payment module into smaller functions"],
    "test": ["Write unit tests for a data parser", "Repair flaky end-to-end tests"],
    "orchestrate": ["Set up a CI pipeline with linting and tests", "Automate a nightly data export job"],
    "operate": ["Deploy a container to a cloud service", "Configure a reverse proxy and TLS certificates"],
    "understand": ["Explain how an authentication flow works", "Explore the structure of a large codebase"],
    "plan": ["Design the architecture of a notification service", "Break a migration into tasks"],
    "analyze": ["Analyse sales data and chart monthly trends", "Compute statistics from survey responses"],
    "write": ["Draft documentation for a public API", "Write a project proposal from meeting notes"],
}


@dataclass(slots=True)
class SyntheticCorpus:
    sessions: pa.Table
    facets: pa.Table
    clusters: pa.Table
    session_clusters: pa.Table
    git_agent_monthly: pa.Table


def _months(start: str, n: int) -> list[datetime]:
    y, m = (int(x) for x in start.split("-"))
    out = []
    for i in range(n):
        mm = m - 1 + i
        out.append(datetime(y + mm // 12, mm % 12 + 1, 1, tzinfo=UTC))
    return out


def _mode_mix(frac: float) -> np.ndarray:
    """Work-mode mix at a point of the period (0 = first month, 1 = last): fix falls, operate/analysis rise."""
    w = {
        "build": 0.25, "fix": 0.33 - 0.14 * frac, "test": 0.04, "orchestrate": 0.03,
        "operate": 0.14 + 0.07 * frac, "understand": 0.07, "plan": 0.06,
        "analyze": 0.05 + 0.05 * frac, "write": 0.05 + 0.05 * frac,
    }
    p = np.array([w[k] for k in MODE_KEYS])
    return p / p.sum()


def synthetic_corpus(
    *, users: int = 400, sessions: int = 4000, months: int = 7, start: str = "2025-10", seed: int = 7,
    source: str = "claude_code",
) -> SyntheticCorpus:
    """Draw a corpus; same arguments, same tables."""
    rng = np.random.default_rng(seed)
    U, N = users, sessions
    month_starts = _months(start, months)
    occ_keys = list(_OCC_WEIGHTS)
    occ_p = np.array(list(_OCC_WEIGHTS.values()))
    occ_p /= occ_p.sum()
    user_occ = rng.choice(occ_keys, size=U, p=occ_p)
    user_skill = np.clip(np.round(rng.normal(3.1, 1.0, U)), 1, 5)
    user_rate = rng.lognormal(0, 0.8, U)
    # adoption grows: later joiners; each user active from a start month on
    user_start = np.minimum(rng.geometric(0.35, U) - 1, months - 1)
    # sessions: month weights grow over time
    month_w = np.linspace(1.0, 2.0, months)
    sess_month = rng.choice(months, size=N, p=month_w / month_w.sum())
    sess_user = np.empty(N, dtype=np.int64)
    for t in range(months):
        idx = np.flatnonzero(sess_month == t)
        elig = np.flatnonzero(user_start <= t)
        p = user_rate[elig] / user_rate[elig].sum()
        sess_user[idx] = rng.choice(elig, size=len(idx), p=p)
    frac = sess_month / max(1, months - 1)
    mode_idx = np.array([rng.choice(len(MODE_KEYS), p=_mode_mix(f)) for f in frac])
    mode = np.array(MODE_KEYS)[mode_idx]
    expertise = np.clip(user_skill[sess_user] + rng.choice([-1, 0, 0, 0, 1], size=N), 1, 5).astype(np.int64)
    occ_true = user_occ[sess_user]
    inferable = rng.random(N) < 0.7
    occupation = np.where(inferable, occ_true, NOT_INFERABLE)
    # outcomes by expertise (study: beginners 15/77/19, above 28-33/91-92/5-7)
    strict_p = np.array([0.12, 0.16, 0.28, 0.31, 0.33])[expertise - 1]
    partial_ok_p = np.array([0.74, 0.78, 0.91, 0.91, 0.92])[expertise - 1]
    fail_p = 1 - partial_ok_p
    u = rng.random(N)
    unclear = rng.random(N) < 0.08
    outcome = np.where(
        u < strict_p, "verified_success",
        np.where(u < strict_p + (partial_ok_p - strict_p) * 0.6, "success",
                 np.where(u < 1 - fail_p, "partial", "failure")),
    )
    outcome = np.where(unclear, "unclear", outcome)
    evidence = [["commit"] if o == "verified_success" and rng.random() < 0.6 else (["tests_pass"] if o == "verified_success" else [])
                for o in outcome]
    trouble = rng.random(N) < np.array([0.45, 0.4, 0.32, 0.28, 0.25])[expertise - 1]
    recovered = trouble & np.isin(outcome, ["verified_success", "success"])
    abandoned = trouble & (outcome == "failure")
    planning = np.clip(rng.beta(5, 2.2, N) * 100 - (expertise < 3) * 15, 0, 100)
    execution = np.clip(rng.beta(1.6, 6, N) * 100, 0, 100)
    # shape: actions and words per prompt rise with expertise; fewer actions when the user keeps execution
    prompts = rng.geometric(0.22, N).astype(np.int64)
    app_mean = np.array([5.0, 6.5, 8.0, 9.0, 10.0])[expertise - 1] * (1.3 - 0.8 * execution / 100)
    app = rng.gamma(2.5, app_mean / 2.5)
    actions = np.maximum(0, np.round(app * prompts)).astype(np.int64)
    wpp_mean = np.array([600.0, 1100.0, 1800.0, 2500.0, 3200.0])[expertise - 1]
    output_words = np.round(rng.gamma(2.0, wpp_mean / 2.0) * prompts).astype(np.int64)
    visible_words = np.round(output_words * rng.uniform(0.1, 0.3, N)).astype(np.int64)
    active_s = np.round(prompts * rng.gamma(2.0, 90.0, N) + actions * rng.gamma(2.0, 6.0, N), 3)
    duration_s = np.round(active_s * rng.uniform(1.1, 3.0, N), 3)
    out_tok = np.round(output_words * 1.4 + actions * 60).astype(np.int64)
    in_tok = np.round(out_tok * rng.uniform(0.05, 0.2, N)).astype(np.int64)
    cache_read = np.round(actions * rng.uniform(8000, 30000, N)).astype(np.int64)
    cache_create = np.round(actions * rng.uniform(500, 3000, N)).astype(np.int64)
    cost = np.round((in_tok * 3 + out_tok * 15 + cache_read * 0.3 + cache_create * 3.75) / 1e6, 6)
    # value: professional hours by mode x wage, +27% over the period
    hours = np.array([_MODE_HOURS[m] for m in mode]) * rng.lognormal(-0.2, 0.7, N) * (1 + 0.27 * frac)
    value_soc = np.where(np.isin(mode, ["analyze"]), "15", np.where(np.isin(mode, ["write"]), "27", "15"))
    value_soc = np.where((occupation != NOT_INFERABLE) & (rng.random(N) < 0.3), occupation, value_soc)
    wage = np.array([_WAGE.get(s, 40.0) for s in value_soc])
    value_usd = np.round(hours * wage, 2)
    started = np.array([
        month_starts[t] + timedelta(seconds=float(rng.uniform(0, 27 * 86400))) for t in sess_month
    ])
    ended = np.array([s + timedelta(seconds=float(d)) for s, d in zip(started, duration_s, strict=True)])
    order = np.argsort(started, kind="stable")
    keys = [f"syn-{i:06d}" for i in range(N)]
    user_ids = [f"u{j:05d}" for j in sess_user]
    versions = np.array(["2.0.14", "2.1.3", "2.1.50", "2.2.0"])
    version = versions[np.minimum(len(versions) - 1, (frac * len(versions)).astype(int))]
    cols: dict[str, object] = {
        "session_key": keys,
        "session_id": [f"00000000-0000-4000-8000-{i:012d}" for i in range(N)],
        "source": [source] * N,
        "user": user_ids,
        "project": [f"p{(j * 7 + int(k)) % (U * 2):05d}" for j, k in zip(sess_user, rng.integers(0, 3, N), strict=True)],
        "started_at": pa.array(list(started), pa.timestamp("us", tz="UTC")),
        "ended_at": pa.array(list(ended), pa.timestamp("us", tz="UTC")),
        "duration_s": duration_s,
        "active_s": active_s,
        "prompts": prompts,
        "actions": actions,
        "actions_per_prompt": actions / prompts,
        "output_words": output_words,
        "visible_words": visible_words,
        "words_per_prompt": output_words / prompts,
        "input_tokens": in_tok,
        "output_tokens": out_tok,
        "cache_read_tokens": cache_read,
        "cache_creation_tokens": cache_create,
        "cost_usd": cost,
        "models": ["claude-sonnet-4-6" if r < 0.7 else "claude-opus-4-6" for r in rng.random(N)],
        "version": version,
        "entrypoint": ["cli"] * N,
        "files_read": rng.poisson(actions * 0.3),
        "files_edited": rng.poisson(actions * 0.15),
        "files_created": rng.poisson(actions * 0.05),
        "commands": rng.poisson(actions * 0.3),
        "test_runs": rng.poisson(actions * 0.05),
        "test_failures": rng.poisson(actions * 0.01),
        "commits": (outcome == "verified_success").astype(np.int64) * rng.integers(0, 3, N),
        "pushes": rng.poisson(0.2, N),
        "tool_errors": rng.poisson(actions * 0.04),
        "interrupts": rng.poisson(0.3, N),
        "rejections": rng.poisson(0.1, N),
        "compactions": rng.poisson(0.1, N),
        "subagents": rng.poisson(0.3, N),
        "subagent_actions": rng.poisson(3, N),
        "bad_lines": (rng.random(N) < 0.01).astype(np.int64),
        "api_errors": rng.poisson(0.05, N),
    }
    for c in SESSION_COLUMNS:
        assert c in cols, c
    sessions = pa.table({k: (v if isinstance(v, pa.Array) else pa.array(list(v) if isinstance(v, np.ndarray) and v.dtype == object else v))
                         for k, v in cols.items()}).take(pa.array(order))
    topic_idx = np.array([rng.integers(0, len(_TOPICS[m])) for m in mode])
    summaries = [_TOPICS[m][t] + "." for m, t in zip(mode, topic_idx, strict=True)]
    facets = pa.table({
        "session_key": keys,
        "mode": mode.tolist(),
        "occupation": occupation.tolist(),
        "occupation_confidence": np.where(inferable, rng.uniform(0.6, 1.0, N), rng.uniform(0.0, 0.5, N)),
        "expertise": expertise,
        "outcome": outcome.tolist(),
        "outcome_evidence": pa.array(evidence, pa.list_(pa.string())),
        "outcome_score": np.clip(strict_p + rng.normal(0, 0.1, N), 0, 1),
        "trouble": trouble,
        "recovered": recovered,
        "abandoned": abandoned,
        "user_planning_pct": np.round(planning, 1),
        "user_execution_pct": np.round(execution, 1),
        "value_hours": np.round(hours, 3),
        "value_soc": value_soc.tolist(),
        "value_usd": value_usd,
        "summary": summaries,
        "backend": ["synthetic"] * N,
        "model": ["synthetic"] * N,
        "rubric_hash": ["synthetic"] * N,
    }).take(pa.array(order))
    clusters, session_clusters = _clusters(keys, mode, topic_idx, sess_user)
    git = _git_monthly(rng, month_starts)
    return SyntheticCorpus(sessions, facets, clusters, session_clusters, git)


def _clusters(keys: list[str], mode: np.ndarray, topic_idx: np.ndarray, users: np.ndarray) -> tuple[pa.Table, pa.Table]:
    rows: list[dict[str, object]] = []
    sc_keys: list[str] = []
    sc_ids: list[str] = []
    from codecensus.taxonomy import MODE_ROLLUP

    parents = sorted(set(MODE_ROLLUP.values()))
    for p in parents:
        rows.append({"cluster_id": f"top-{p}", "parent_id": None, "level": 1, "name": p.capitalize() + " work",
                     "description": f"Sessions whose main work is {p}."})
    for m, topics in _TOPICS.items():
        for t, name in enumerate(topics):
            cid = f"leaf-{m}-{t}"
            rows.append({"cluster_id": cid, "parent_id": f"top-{MODE_ROLLUP[m]}", "level": 0, "name": name,
                         "description": f"The user asked to {name[0].lower() + name[1:]}."})
    for k, m, t in zip(keys, mode, topic_idx, strict=True):
        sc_keys.append(k)
        sc_ids.append(f"leaf-{m}-{t}")
    sc = pa.table({"session_key": sc_keys, "cluster_id": sc_ids})
    # counts and release flags are derived from the assignment
    n_s: dict[str, int] = {}
    n_u: dict[str, set[int]] = {}
    parent_of = {r["cluster_id"]: r["parent_id"] for r in rows}
    for k_i, cid in enumerate(sc_ids):
        for c in (cid, parent_of[cid]):
            if c is None:
                continue
            n_s[c] = n_s.get(c, 0) + 1
            n_u.setdefault(c, set()).add(int(users[k_i]))
    tbl = pa.table({
        "cluster_id": [r["cluster_id"] for r in rows],
        "parent_id": pa.array([r["parent_id"] for r in rows], pa.string()),
        "level": pa.array([r["level"] for r in rows], pa.int64()),
        "name": [r["name"] for r in rows],
        "description": [r["description"] for r in rows],
        "n_sessions": pa.array([n_s.get(str(r["cluster_id"]), 0) for r in rows], pa.int64()),
        "n_users": pa.array([len(n_u.get(str(r["cluster_id"]), ())) for r in rows], pa.int64()),
        "released": [True] * len(rows),
    })
    return tbl, sc


def _git_monthly(rng: np.random.Generator, month_starts: list[datetime]) -> pa.Table:
    rows: dict[str, list[object]] = {k: [] for k in ("repo_key", "month", "agent", "confidence", "commits", "authors")}
    first = month_starts[0]
    months = _months(f"{first.year - 1}-{first.month:02d}", 12 + len(month_starts))
    for r in range(300):
        for i, m in enumerate(months):
            if rng.random() < 0.5:
                continue
            frac = i / (len(months) - 1)
            rows["repo_key"].append(f"r{r:04d}")
            rows["month"].append(m.strftime("%Y-%m"))
            rows["agent"].append("human")
            rows["confidence"].append("H")
            rows["commits"].append(int(rng.integers(1, 30)))
            rows["authors"].append(int(rng.integers(1, 4)))
            if rng.random() < 0.04 + 0.25 * frac:
                rows["repo_key"].append(f"r{r:04d}")
                rows["month"].append(m.strftime("%Y-%m"))
                rows["agent"].append(str(rng.choice(["claude_code", "copilot", "cursor"])))
                rows["confidence"].append("H")
                rows["commits"].append(int(rng.integers(1, 10)))
                rows["authors"].append(1)
    return pa.table({
        "repo_key": rows["repo_key"], "month": rows["month"], "agent": rows["agent"], "confidence": rows["confidence"],
        "commits": pa.array(rows["commits"], pa.int64()), "authors": pa.array(rows["authors"], pa.int64()),
    })


def load_into(store: object, corpus: SyntheticCorpus, *, clusters: bool = True, git: bool = True) -> None:
    """Write the corpus into a :class:`codecensus.store.Store` (tables sessions, facets, ...)."""
    from codecensus.store import Store

    assert isinstance(store, Store)
    store.replace_table("sessions", corpus.sessions)
    store.replace_table("facets", corpus.facets)
    if clusters:
        store.replace_table("clusters", corpus.clusters)
        store.replace_table("session_clusters", corpus.session_clusters)
    if git:
        store.replace_table("git_agent_monthly", corpus.git_agent_monthly)


__all__ = ["SyntheticCorpus", "load_into", "synthetic_corpus"]
