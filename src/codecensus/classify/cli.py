"""`codecensus classify` and `codecensus eval` (registered in :mod:`codecensus.cli`)."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from codecensus.cli_options import LLMRetriesOpt, LLMTimeoutOpt

if TYPE_CHECKING:
    from codecensus.classify.cache import Account
    from codecensus.classify.run import ClassifyStats

console = Console(stderr=True)
out = Console()


class BackendName(StrEnum):
    offline = "offline"
    anthropic = "anthropic"
    openai = "openai"


class EmbedderName(StrEnum):
    use = "use"
    e5 = "e5"
    auto = "auto"
    none = "none"


DbOpt = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB database file (default: $CODECENSUS_DB or the user-data dir).", envvar="CODECENSUS_DB",
                 show_default=False),
]


def classify_cmd(
    backend: Annotated[BackendName, typer.Option("--backend", help="offline (default: no network, no key) or an LLM API.")]
    = BackendName.offline,
    model: Annotated[str | None, typer.Option("--model", help="LLM model id (LLM backends).")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible server URL (openai backend).")]
    = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Classify at most N sessions (most recent first).")]
    = None,
    since: Annotated[str | None, typer.Option("--since", help="Only sessions started on or after DATE (YYYY-MM-DD).")]
    = None,
    budget_usd: Annotated[
        float | None,
        typer.Option("--budget-usd", help="LLM backends: stop the run before it could spend more than this (USD, at "
                     "the model's price: the price list's, or --price-in/--price-out; 0: answers from the cache "
                     "only, and free calls). Refused for a model of unknown price."),
    ] = None,
    price_in: Annotated[
        float | None,
        typer.Option("--price-in", min=0.0, help="LLM backends: USD per million input tokens, instead of the price "
                     "list's (data/pricing.csv); give --price-out too. Needed for a model the list does not price "
                     "(its cost is otherwise unknown); a --base-url on this machine (localhost) costs 0 without it.",
                     show_default=False),
    ] = None,
    price_out: Annotated[
        float | None,
        typer.Option("--price-out", min=0.0, help="LLM backends: USD per million output tokens (with --price-in).",
                     show_default=False),
    ] = None,
    embedder: Annotated[
        EmbedderName,
        typer.Option("--embedder", help="Offline sentence embedder: use (fast, default), e5 (multilingual-e5), none."),
    ] = EmbedderName.use,
    force: Annotated[bool, typer.Option("--force", help="Re-classify sessions already classified with this rubric.")]
    = False,
    batch_size: Annotated[
        int | None,
        typer.Option("--batch-size", min=1, help="Sessions loaded and classified per batch (default: 1,000 in one process; "
                     "with several workers up to 2,000, fewer so that each worker gets four batches; Ray: 500, and at most 500)."),
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="local (offline: a process per core) or ray (Ray Data; docs/ray.md).")
    ] = "local",
    workers: Annotated[
        int, typer.Option("--workers", "-j", min=0, help="Offline classify processes (default, 0: all cores).")
    ] = 0,
    address: Annotated[str | None, typer.Option("--address", help="Ray cluster to join.")] = None,
    parts_out: Annotated[str | None, typer.Option("--parts", help="Ray: folder/URL for the Parquet parts.")] = None,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", min=1, help="LLM backends: requests in flight (default 4); Ray: actors "
                     "(offline default: the cluster's CPUs)."),
    ] = None,
    timeout: LLMTimeoutOpt = None,
    max_retries: LLMRetriesOpt = None,
    batch: Annotated[
        bool,
        typer.Option("--batch", help="anthropic: send the sessions not yet answered as Message Batches (half price, "
                     "answers within 24 h) when there are at least 20 of them."),
    ] = False,
    ner: Annotated[
        bool | None,
        typer.Option("--ner/--no-ner", help="LLM backends: redact the digests with the NER model too, which finds "
                     "people and places written without an introduction (default: on when the model is installed; "
                     "it comes with `pip install 'codecensus[llm]'`).", show_default=False),
    ] = None,
    db: DbOpt = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for a busy database.")] = 30.0,
) -> None:
    """Classify sessions into work mode, occupation, expertise, outcome, decisions, value and summary (taxonomy §2–§8)."""
    from codecensus.classify.run import classify_store, describe_backend, make_backend
    from codecensus.cli import open_store, validate_day
    from codecensus.manifest import record_run

    validate_day(since, "--since")
    from codecensus.engine import ENGINES

    if engine not in ENGINES:  # else it ran on the local engine, in one process, as if nothing were wrong
        console.print(f"[red]--engine {engine!r} is not an engine codecensus has[/red]: choose {' or '.join(ENGINES)}.")
        raise typer.Exit(2)
    if backend is BackendName.offline:
        given = [name for name, v in (("--budget-usd", budget_usd), ("--timeout", timeout),
                                      ("--max-retries", max_retries), ("--ner/--no-ner", ner),
                                      ("--price-in", price_in), ("--price-out", price_out))
                 if v is not None]
        if engine != "ray" and concurrency is not None:
            given.insert(0, "--concurrency")
        if given:  # most likely a forgotten --backend: say so rather than run offline for minutes
            console.print(
                f"[red]{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to the LLM backends[/red] "
                "(--backend anthropic|openai); the offline backend makes no requests"
                + (" (its processes: --workers)." if "--concurrency" in given else ".")
            )
            raise typer.Exit(2)
    if budget_usd is not None:
        from codecensus.classify.llm import check_budget

        try:
            check_budget(budget_usd)
        except ValueError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from None
    if batch and (backend is not BackendName.anthropic or engine != "local"):
        console.print("[red]--batch is for --backend anthropic[/red] (Anthropic's Message Batches), on the local engine.")
        raise typer.Exit(2)
    if backend is not BackendName.offline:
        from codecensus.redact.engines import ner_model_path

        if ner_model_path() is None:
            if ner:
                console.print("[red]--ner needs the NER model[/red]: pip install 'codecensus[llm]' (or "
                              "'codecensus[ner]'), or leave --ner out.")
                raise typer.Exit(2)
            if ner is None:
                console.print("[yellow]The NER model is not installed[/yellow]: names of people written without an "
                              "introduction (\"ask Anna Kowalski\") can reach the LLM. pip install 'codecensus[llm]' "
                              "to redact them too (or --no-ner to silence this).")
    store = open_store(db, wait=wait, must_exist=True)
    if not store.table_exists("sessions"):
        console.print("[red]No sessions in the database[/red]: run `codecensus ingest` first.")
        raise typer.Exit(2)
    try:
        be = make_backend(
            backend.value, model=model, base_url=base_url, budget_usd=budget_usd, store=store, embedder=embedder.value,
            concurrency=None if backend is BackendName.offline else concurrency, timeout_s=timeout,
            max_retries=max_retries, batch=batch, ner=ner, price_in=price_in, price_out=price_out,
        )
    except Exception as exc:  # missing key, unknown model, missing optional package, a budget without a price
        console.print(f"[red]Cannot start the {backend.value} backend:[/red] {escape(str(exc))}")
        store.close()
        raise typer.Exit(2) from exc
    total = {"n": 0}

    def progress(done: int, n: int) -> None:
        total["n"] = n
        if console.is_terminal:
            console.print(f"  classified {done}/{n}", end="\r")

    if engine == "ray" or (engine == "local" and backend is BackendName.offline and (workers or os.cpu_count() or 1) > 1):
        # Offline classify is CPU-bound: one process per core; Ray for a cluster. LLM backends stay in this
        # process (I/O-bound, with their own request concurrency and response cache).
        from codecensus.engine import RayUnavailable, classify_with

        ray_llm = {} if engine != "ray" or backend is BackendName.offline else {
            "budget_usd": budget_usd, "timeout_s": timeout, "max_retries": max_retries, "ner": ner,
            "price_in": price_in, "price_out": price_out,
            "account": getattr(be, "account", None),  # the actors' accounts are added up into it
        }
        if engine == "ray" and batch_size is not None and batch_size > 500:  # capped: said, not silent
            console.print(f"[yellow]--batch-size {batch_size:,} is more than Ray's 500[/yellow]: classifying in batches "
                          "of 500, Ray's most.")
        try:
            stats = classify_with(
                engine, store, backend.value, address=address, out=parts_out, workers=workers,
                concurrency=concurrency, model=model, base_url=base_url, embedder=embedder.value, since=since,
                limit=limit, force=force,
                batch_size=batch_size if engine == "local" else min(batch_size or 500, 500), **ray_llm,
            )
        except RayUnavailable as exc:  # Ray not installed, no cluster at --address
            store.close()
            console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
        except KeyboardInterrupt:
            store.close()
            kept = ("nothing of this run was stored (Ray's facets are loaded when every part is done)"
                    if engine == "ray" else "the batches classified so far are kept")
            console.print(f"[yellow]classify interrupted[/yellow]: {kept}; run the same command again to go on "
                          "from there.")
            raise typer.Exit(130) from None
    else:
        try:
            stats = classify_store(
                store, be, since=since, limit=limit, force=force, batch_size=batch_size or 1000, progress=progress
            )
        except KeyboardInterrupt:
            store.close()  # each batch's facets are one transaction: what was stored before stays
            console.print(
                "[yellow]classify interrupted[/yellow]: the sessions classified so far are kept (and the answers "
                "received are cached); run the same command again to go on from there."
            )
            raise typer.Exit(130) from None
    record_run(
        store,
        "classify",
        {
            "backend": describe_backend(be),
            "since": since,
            "limit": limit,
            "force": force,
            "embedder": embedder.value,
            "engine": engine,
            "workers": workers or os.cpu_count(),
            "stats": stats.as_dict(),
        },
    )
    store.close()
    t = Table(title="classify", show_header=False)
    t.add_row("backend / model", f"{stats.backend} / {stats.model}")
    t.add_row("rubric hash", stats.rubric_hash)
    t.add_row("sessions in range", str(stats.sessions_total))
    t.add_row("already classified (skipped)", str(stats.skipped_already_classified))
    t.add_row("classified", str(stats.classified))
    if stats.abstained:
        t.add_row("abstained (no answer, or empty)", str(stats.abstained))
    t.add_row("occupation not inferable", _with_reasons(stats.abstained_occupation, stats, "occupation"))
    t.add_row("expertise not inferable", _with_reasons(stats.abstained_expertise, stats, "expertise"))
    t.add_row("outcome unclear", _with_reasons(stats.unclear_outcome, stats, "outcome"))
    t.add_row("modes", ", ".join(f"{k} {v}" for k, v in stats.by_mode.items()) or "-")
    t.add_row("seconds (sessions/s)", f"{stats.seconds:.1f} ({stats.sessions_per_second:.1f}/s)")
    acc = getattr(be, "account", None)
    if acc is not None:  # on Ray: the actors' accounts added up
        t.add_row("LLM cost", _cost_row(acc))
    if stats.stopped:
        t.add_row("stopped early", stats.stopped)
    console.print(t)
    if stats.stopped:
        raise typer.Exit(1)


def _cost_row(acc: Account) -> str:
    """'$0.0123 (12 calls; tokens 30,000 in, 2,400 out; 3 cache hits)', or 'unknown (no price for model X; ...)'."""
    tokens_in = acc.input_tokens + acc.cache_write_tokens + acc.cache_read_tokens
    return (f"{escape(acc.cost_text())} ({acc.calls:,} calls; tokens {tokens_in:,} in, {acc.output_tokens:,} out; "
            f"{acc.cache_hits:,} cache hits"
            + (f"; {acc.lost_calls:,} calls lost in flight, of unknown cost" if acc.lost_calls else "") + ")")


def _with_reasons(n: int, stats: ClassifyStats, facet: str) -> str:
    """'12 (no human request 2, thin evidence 10)': a facet's abstentions in this run, by reason, most first."""
    from codecensus.taxonomy import ABSTENTION_REASONS

    names = {r.key: r.name.lower() for r in ABSTENTION_REASONS}
    counts = sorted(stats.abstention_reasons.get(facet, {}).items(), key=lambda kv: (-kv[1], kv[0]))
    return f"{n} ({', '.join(f'{names.get(k, k)} {v}' for k, v in counts)})" if n and counts else str(n)


def eval_cmd(
    labels: Annotated[
        Path | None,
        typer.Argument(help="CSV keyed by session_id (or path) with mode/occupation/expertise/outcome and/or resolved."),
    ] = None,
    truth: Annotated[
        bool, typer.Option("--truth/--no-truth", help="Also use ground truth stored by parsers (benchmark runs).")
    ] = False,
    only: Annotated[
        str | None, typer.Option("--only", help="Use only label rows where COLUMN=VALUE (e.g. split=B).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """Agreement of stored facets with labels, each figure next to the best constant guess (taxonomy §10)."""
    from codecensus.classify.eval import evaluate, filter_labels, read_labels, render
    from codecensus.cli import open_store

    if labels is None and not truth:
        console.print("[red]Give a LABELS.csv file and/or --truth.[/red]")
        raise typer.Exit(2)
    try:
        labs = filter_labels(read_labels(labels), only) if labels is not None else []
    except (OSError, ValueError) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    store = open_store(db, read_only=True)
    try:
        report = evaluate(store, labs, use_store_truth=truth)
    except ValueError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    finally:
        store.close()
    if as_json:
        sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(render(report) + "\n")


__all__ = ["classify_cmd", "eval_cmd"]
