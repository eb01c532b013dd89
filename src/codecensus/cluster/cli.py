"""``codecensus cluster``: build the topic hierarchy from the classified summaries."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from codecensus.cli_options import MAX_THRESHOLD, LLMRetriesOpt, LLMTimeoutOpt, threshold_problem
from codecensus.cluster.model import ClusterNode, ClusterTree

console = Console(stderr=True)
out = Console()


class ClusterBackend(StrEnum):
    offline = "offline"
    anthropic = "anthropic"
    openai = "openai"


class EmbedderName(StrEnum):
    auto = "auto"
    e5 = "e5"
    use = "use"
    lexical = "lexical"


def llm_complete(backend: str, model: str | None, *, base_url: str | None = None,
                 max_calls: int | None = None, timeout_s: float | None = None, max_retries: int | None = None) -> Any:
    """A ``complete(prompt) -> str`` callable for Clio's naming prompts (see :mod:`.llm_text`)."""
    from codecensus.cluster.llm_text import TextLLM

    extra: dict[str, Any] = {} if max_retries is None else {"max_retries": max_retries}
    return TextLLM(backend, model, base_url=base_url, max_calls=max_calls, timeout_s=timeout_s, **extra)


def render_tree(tree: ClusterTree, total: int, *, max_children: int = 8, max_depth: int | None = None) -> Tree:
    """A rich tree of the released clusters (largest first), with counts and shares."""
    root = Tree(f"[bold]{total} sessions[/bold]")
    top = tree.levels - 1
    stop = 0 if max_depth is None else max(0, top - max_depth + 1)

    def label(nd: ClusterNode) -> str:
        main = max(nd.mode_mix.items(), key=lambda kv: kv[1]) if nd.mode_mix else None
        extra = f" · {main[0]} {main[1]:.0%}" if main else ""
        return f"{nd.name} [dim]({nd.n_sessions}, {nd.n_sessions / max(total, 1):.1%}{extra})[/dim]"

    def add(branch: Tree, level: int, nodes: list[ClusterNode]) -> None:
        shown = [nd for nd in nodes if nd.released]
        for nd in shown[:max_children]:
            sub = branch.add(label(nd))
            if level > stop:
                kids = [c for c in tree.nodes[level - 1] if c.parent == nd.index]
                add(sub, level - 1, kids)
        hidden = len(shown) - max_children
        if hidden > 0:
            branch.add(f"[dim]… {hidden} more[/dim]")

    if tree.levels:
        add(root, top, tree.nodes[top])
    return root


def _read_truth(path: Path) -> dict[str, str]:
    """--truth's topics by session id, or a plain message and exit (before any work: it was read after the
    database was opened, and a missing file ended in a traceback)."""
    import csv

    from codecensus.cluster.quality import read_truth

    try:
        return read_truth(path)
    except OSError as exc:
        console.print(f"[red]Cannot read --truth {escape(str(path))}[/red]: {escape(str(exc.strerror or exc))}")
    except (ValueError, csv.Error) as exc:  # no topic or id column, not UTF-8, a broken CSV
        console.print(f"[red]--truth {escape(str(path))} is not a truth.csv[/red] ({escape(str(exc))}): give the "
                      "truth.csv written with a generated corpus (columns session_id and topic).")
    raise typer.Exit(2)


def _truth_by_key(store: Any, truth: dict[str, str]) -> dict[str, str]:
    if not store.table_exists("sessions"):
        return truth
    rows = store.con.execute("SELECT session_key, session_id FROM sessions").fetchall()
    out = {}
    for key, sid in rows:
        if key in truth:
            out[key] = truth[key]
        elif sid in truth:
            out[key] = truth[sid]
    return out


def cluster_cmd(
    db: Annotated[
        Path | None,
        typer.Option("--db", help="DuckDB database file (default: $CODECENSUS_DB or the user-data dir).",
                     envvar="CODECENSUS_DB", show_default=False),
    ] = None,
    backend: Annotated[
        ClusterBackend,
        typer.Option("--backend", help="Who names the clusters and builds the hierarchy: offline (c-TF-IDF + "
                     "agglomerative) or an LLM (Clio's contrastive naming and neighbourhood hierarchizer)."),
    ] = ClusterBackend.offline,
    levels: Annotated[int, typer.Option("--levels", min=1, max=6, help="Levels of the tree, leaves included.")] = 3,
    k: Annotated[
        int | None, typer.Option("--k", min=1, help="Base clusters (default: 1.5·sqrt(sessions), capped).",
                                 show_default=False)
    ] = None,
    top: Annotated[
        int | None, typer.Option("--top", min=1, help="Top-level clusters (default: ~sqrt(base), 2–12).",
                                 show_default=False)
    ] = None,
    embedder: Annotated[
        EmbedderName,
        typer.Option("--embedder", help="Sentence embedder: auto (E5 up to 10k distinct summaries, USE up to 100k, "
                     "lexical above), e5, use, or lexical (TF-IDF + SVD, no model: the fastest tier)."),
    ] = EmbedderName.auto,
    model: Annotated[
        str | None, typer.Option("--model", help="LLM model id for --backend anthropic/openai.", show_default=False)
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="OpenAI-compatible server URL (default: $OPENAI_BASE_URL).",
                                 show_default=False)
    ] = None,
    max_calls: Annotated[
        int | None, typer.Option("--max-calls", help="Stop if the LLM path would need more calls than this.",
                                 show_default=False)
    ] = None,
    timeout: LLMTimeoutOpt = None,
    max_retries: LLMRetriesOpt = None,
    audit_llm: Annotated[
        bool, typer.Option("--llm-audit/--no-llm-audit", help="With an LLM backend, also rate every name with "
                           "Clio's privacy-auditor prompt (the stricter of rule and LLM ratings wins).")
    ] = True,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (k-means, sampling).")] = 0,
    truth: Annotated[
        Path | None,
        typer.Option("--truth", help="truth.csv of a generated corpus: print how well clusters recover its "
                     "planted topics.", show_default=False),
    ] = None,
    min_users: Annotated[
        int | None, typer.Option("--min-users", help="Release threshold: distinct users per cluster (default 5).",
                                 show_default=False, min=1, max=MAX_THRESHOLD)
    ] = None,
    min_sessions: Annotated[
        int | None, typer.Option("--min-sessions", help="Release threshold: sessions per cluster (default 10).",
                                 show_default=False, min=1, max=MAX_THRESHOLD)
    ] = None,
    individual: Annotated[
        bool, typer.Option("--individual", help="Personal report: thresholds 1 user / 1 session (never share it).")
    ] = False,
    show: Annotated[int, typer.Option("--show", help="Levels of the released tree to print (0 = none).")] = 2,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for another process holding the db.")] = 30.0,
) -> None:
    """Group sessions into a named topic hierarchy (Clio-style), privacy-checked: clusters under the user/session
    thresholds are merged upward or withheld, and every released name passes the privacy auditor."""
    from codecensus.classify.llm import LLMError
    from codecensus.cli import open_store
    from codecensus.cluster.llm_text import CallLimitExceeded
    from codecensus.cluster.run import ClusterConfig, run_cluster

    problem = threshold_problem(min_users, min_sessions, individual)
    if problem is not None:  # said in the options' names (it was ReleasePolicy's: "use ReleasePolicy(individual=True)")
        console.print(problem)
        raise typer.Exit(2)
    truth_topics = _read_truth(truth) if truth is not None else None
    complete = None
    auditor = None
    if backend is ClusterBackend.offline:
        given = [name for name, v in (("--timeout", timeout), ("--max-retries", max_retries)) if v is not None]
        if given:  # most likely a forgotten --backend: say so rather than name offline
            console.print(f"[red]{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to the LLM "
                          "backends[/red] (--backend anthropic|openai); offline naming makes no requests.")
            raise typer.Exit(2)
    else:
        try:
            complete = llm_complete(backend.value, model, base_url=base_url, max_calls=max_calls,
                                    timeout_s=timeout, max_retries=max_retries)
        except Exception as exc:  # SDK construction / model listing errors
            console.print(f"[red]LLM backend unavailable: {escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
        if audit_llm:
            from codecensus.cluster.privacy import llm_auditor

            auditor = llm_auditor(complete)
    from codecensus.aggregate.privacy import ReleasePolicy

    try:
        if individual:
            policy = ReleasePolicy(individual=True)
        else:
            d = ReleasePolicy()
            policy = ReleasePolicy.team(min_users if min_users is not None else d.min_users,
                                        min_sessions if min_sessions is not None else d.min_sessions)
    except ValueError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    store = open_store(db, wait=wait, must_exist=True)
    cfg = ClusterConfig(backend=backend.value, levels=levels, k=k, top=top, embedder=embedder.value, seed=seed)
    t0 = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        if total:
            console.print(f"[dim]{stage}: {done}/{total}[/dim]", end="\r")

    topics = _truth_by_key(store, truth_topics) if truth_topics is not None else None
    try:
        result = run_cluster(store, config=cfg, complete=complete, auditor=auditor, progress=progress, policy=policy,
                             manifest_extra={"llm": complete.describe()} if complete is not None else None,
                             truth=topics)
    except LookupError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        store.close()
        raise typer.Exit(1) from exc
    except (LLMError, CallLimitExceeded) as exc:
        # an LLM failure (limit, auth, network, an answer not the API's) leaves the previous tables untouched
        store.close()
        console.print(f"[red]LLM call failed, nothing written:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    elapsed = time.perf_counter() - t0
    summary = result.privacy_summary()
    t = Table(title="cluster", show_header=False)
    t.add_row("sessions / distinct summaries", f"{result.info['sessions']} / {result.info['distinct_summaries']}")
    t.add_row("embedder", str(result.info["embedder"]))
    t.add_row("clusters per level (leaves first)", " / ".join(str(n) for n in result.info["level_sizes"]))
    t.add_row("released per level", " / ".join(str(lv["released"]) for lv in summary["levels"]))
    th = summary["thresholds"]
    t.add_row("thresholds", f"≥{th['min_users']} users, ≥{th['min_sessions']} sessions, auditor ≥{th['min_score']}")
    t.add_row("sessions: in released leaf / merged upward / withheld",
              f"{summary['sessions_in_released_leaf']} / {summary['sessions_merged_upward']} / "
              f"{summary['sessions_withheld']}")
    scores: dict[str, int] = {}
    for lv in summary["levels"]:
        for s, n in lv["auditor_scores"].items():
            scores[s] = scores.get(s, 0) + n
    reasons: dict[str, int] = {}
    for lv in summary["levels"]:
        for r, n in lv["withheld"].items():
            reasons[r] = reasons.get(r, 0) + n
    t.add_row("clusters not released (why)", ", ".join(f"{r}: {n}" for r, n in sorted(reasons.items())) or "none")
    t.add_row("auditor ratings (1–5)", ", ".join(f"{s}: {n}" for s, n in sorted(scores.items())) or "-")
    t.add_row("seconds", f"{elapsed:.1f} (embed {result.timings.get('embed', 0):.1f}, k-means "
              f"{result.timings.get('kmeans', 0):.1f})")
    console.print(t)
    named, asked = result.info.get("llm_leaf_names", [0, 0])
    if complete is not None and asked and not named:
        console.print(f"[yellow]The LLM gave no usable name in {asked} naming request(s)[/yellow] (no "
                      "<name>…</name> in its answers: an empty or off-format reply?): every name is an offline one.")
    if topics is not None:
        rt = Table("level", "clusters", "majority-topic accuracy", "ARI", "NMI", "topics covered",
                   title=f"recovery of planted topics ({len(topics)} sessions with a topic)")
        for r in result.info.get("recovery", []):
            rt.add_row(str(r["level"]), str(r["n_clusters"]), f"{r['majority_accuracy']:.1%}", f"{r['ari']:.3f}",
                       f"{r['nmi']:.3f}", f"{r['topic_coverage']:.0%}")
        console.print(rt)
    store.close()
    if show > 0:
        out.print(render_tree(result.tree, len(result.frame), max_depth=show))
