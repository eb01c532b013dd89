"""Why a facet abstains (taxonomy.ABSTENTION_REASONS): set by each backend, stored with the facet, counted per run.

Before, the store recorded that expertise was NULL, occupation not_inferable or outcome unclear, but not why: a run's
manifest could not say "expertise withheld for N sessions: no human request M, too little text K".
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from codecensus import prompts
from codecensus import taxonomy as tx
from codecensus.classify.base import Facets, SessionEvidence
from codecensus.classify.llm import abstention, answer_schema, parse_answer
from codecensus.classify.offline import OfflineBackend
from codecensus.classify.run import (
    _DUCK,
    FACETS_SCHEMA,
    ClassifyStats,
    classify_batch,
    ensure_facets_table,
    facets_rows,
    tally,
)
from codecensus.store import Store
from evidence_builders import read, session, sh, write
from llm_replay import IdentityRedactor, Replay, fixture, sample_session


def one(backend: OfflineBackend, ev: SessionEvidence) -> Facets:
    (f,) = backend.classify([ev])
    return f


def reasons(f: Facets) -> tuple[str | None, str | None, str | None]:
    return f.expertise_reason, f.occupation_reason, f.outcome_reason


def test_the_vocabulary_lives_in_the_taxonomy() -> None:
    keys = tx.ABSTENTION_REASON_KEYS
    assert len(set(keys)) == len(keys) and all(r.description for r in tx.ABSTENTION_REASONS)
    with pytest.raises(ValueError, match="abstention reason"):
        Facets.model_validate({**abstention().model_dump(), "expertise_reason": "because"})


# -- the offline backend: the same decisions, now with their reasons ------------------------------------------
def test_offline_whole_session_abstentions_say_why(structural: OfflineBackend) -> None:
    slash = session(["<command-name>/clear</command-name>", "hi"], replies=["Cleared."])
    assert reasons(one(structural, slash)) == ("too_little_text",) * 3
    no_prompt = session([], replies=["Hello, how can I help?"])
    assert reasons(one(structural, no_prompt)) == ("no_human_request",) * 3


def test_offline_unreadable_request_with_nothing_done() -> None:
    class Unreadable:
        name = "fake"

        def encode(self, texts: list[str]) -> Any:
            raise AssertionError("an unreadable request is not embedded")

        def unknown_share(self, text: str) -> float:
            return 1.0

    be = OfflineBackend(embedder=None)
    be._emb = Unreadable()  # type: ignore[assignment]
    f = one(be, session(["এই পৃষ্ঠার জন্য একটি লগইন ফর্ম তৈরি করুন"], replies=["…"]))
    assert reasons(f) == ("unreadable_request",) * 3


def test_offline_facet_reasons_without_a_human_request(structural: OfflineBackend) -> None:
    acts = [write("src/app.py", 300), sh("pytest -q", is_test=True, test_status="pass")]
    headless = one(structural, session([], acts, replies=["Done."]))
    assert headless.expertise is None and headless.outcome == "unclear"
    assert reasons(headless) == ("no_human_request",) * 3
    slash = one(structural, session(["<command-name>/clear</command-name>", "hi"], acts, replies=["Done."]))
    assert slash.expertise is None and slash.expertise_reason == "too_little_text"
    asked = one(structural, session(["Add a CSV export to src/app.py and run pytest"], acts, replies=["Done."]))
    assert asked.expertise is not None and asked.expertise_reason is None and asked.outcome_reason is None


def test_offline_outcome_and_occupation_reasons(structural: OfflineBackend) -> None:
    cut = one(structural, session(["Refactor the payment module"], [read("/r/pay.py"), read("/r/billing.py")],
                                  ["Let me start by reading the code."], final_reply=False))
    assert cut.outcome == "unclear" and cut.outcome_reason == "no_result"
    idle = one(structural, session(["Please summarise the history of the town library for a leaflet"], [], [],
                                   reply_idx=[]))
    assert idle.outcome == "unclear" and idle.outcome_reason == "nothing_done"
    assert idle.occupation == tx.NOT_INFERABLE and idle.occupation_reason == "thin_evidence"
    short = one(structural, session(["fix it"], [read("/r/a.txt")], ["Done."]))
    assert short.occupation == tx.NOT_INFERABLE and short.occupation_reason == "too_little_text"


# -- the store and the run's account ------------------------------------------------------------------------
def _rows(facets: list[Facets]) -> Any:
    keys = [f"k{i}" for i in range(len(facets))]
    return facets_rows(keys, keys, facets, backend="b", model="m", rubric_hash="h", redact=lambda s: s,
                       now=datetime.now(UTC))


def test_rows_store_a_reason_only_beside_an_abstaining_facet() -> None:
    answer = parse_answer(json.dumps(json.loads(fixture("anthropic_message_ok.json")["content"][0]["text"])))
    foreign = answer.model_copy(update={"occupation": tx.NOT_INFERABLE})  # a backend that gives no reason
    stray = answer.model_copy(update={"outcome_reason": "no_result"})  # a reason beside a finding
    tbl = _rows([abstention("empty_session"), foreign, stray])
    assert tbl.column("expertise_reason").to_pylist() == ["empty_session", None, None]
    assert tbl.column("occupation_reason").to_pylist() == ["empty_session", "not_recorded", None]
    assert tbl.column("outcome_reason").to_pylist() == ["empty_session", None, None]
    stats = ClassifyStats("b", "m", "h")
    tally(stats, {}, tbl)
    assert stats.abstention_reasons == {"expertise": {"empty_session": 1},
                                        "occupation": {"empty_session": 1, "not_recorded": 1},
                                        "outcome": {"empty_session": 1}}
    assert stats.as_dict()["abstention_reasons"] == stats.abstention_reasons  # what the run manifest records


def test_an_empty_session_abstains_as_empty() -> None:
    class Never:
        name, model, rubric_hash = "x", "x", "x"

        def classify(self, batch: list[SessionEvidence]) -> list[Facets]:
            raise AssertionError("an empty session is not sent")

    (f,), stopped = classify_batch(Never(), [session([], [], [])])
    assert stopped is None and reasons(f) == ("empty_session",) * 3  # type: ignore[union-attr]


def test_an_older_facets_table_loads_and_says_reasons_were_not_recorded(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    old_cols = [f for f in FACETS_SCHEMA if not f.name.endswith("_reason")]
    Store(db).close()  # a codecensus store (its meta and salt) that a facets table of the old shape then joins
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE IF EXISTS facets")
    con.execute("CREATE TABLE facets (" + ", ".join(f'"{f.name}" {_DUCK[f.type]}' for f in old_cols) + ")")
    con.execute("INSERT INTO facets (session_key, expertise, occupation, outcome, abstained) VALUES "
                "('a', NULL, 'not_inferable', 'unclear', false), ('b', 3, '15', 'success', false)")
    con.close()
    store = Store(db)
    try:
        ensure_facets_table(store)
        got = store.con.execute("SELECT session_key, expertise_reason, occupation_reason, outcome_reason FROM facets "
                                "ORDER BY session_key").fetchall()
        assert got == [("a", "not_recorded", "not_recorded", "not_recorded"), ("b", None, None, None)]
        ensure_facets_table(store)  # once: later runs leave the rows alone
        assert store.con.execute("SELECT count(*) FROM facets WHERE expertise_reason IS NOT NULL").fetchone() == (1,)
    finally:
        store.close()


# -- the LLM rubric: expertise may be answered null -----------------------------------------------------------
def _answer(**over: object) -> str:
    obj = json.loads(fixture("anthropic_message_ok.json")["content"][0]["text"])
    obj.update(over)
    return json.dumps(obj)


def test_the_rubric_offers_an_expertise_abstention() -> None:
    """Before, the schema allowed only 1-5 and parse_answer rejected null ("expertise must be one of ..."): a model
    that could not tell had to guess a level or fail into a repair turn."""
    assert {"type": "null"} in answer_schema()["properties"]["expertise"]["anyOf"]
    assert "| null" in dict(prompts._answer_keys())["expertise"]
    assert "Answer null (cannot tell)" in prompts.render_facets_system()
    f = parse_answer(_answer(expertise=None, expertise_confidence=0.1))
    assert f.expertise is None and f.expertise_reason is None  # the reason is the backend's, after the rules


def _chat(content: str) -> dict[str, Any]:
    body = fixture("openai_chat_ok.json")
    body["choices"][0]["message"]["content"] = content
    return body


def _openai(replay: Replay, tmp_path: Path) -> Any:
    pytest.importorskip("openai")
    from codecensus.classify.llm import make_backend

    return make_backend("openai", "m", base_url="http://127.0.0.1:8765", http_client=replay.client(),
                        redactor=IdentityRedactor(), backoff_base_s=0.0, sleep=lambda s: None, rng=random.Random(0),
                        concurrency=1, cache=None)


def test_llm_reasons_model_rule_and_no_answer(tmp_path: Path) -> None:
    chat = "/v1/chat/completions"
    null = _chat(_answer(expertise=None, occupation=tx.NOT_INFERABLE, outcome="unclear", outcome_evidence=[]))
    level = _chat(_answer(expertise=4))
    replay = (Replay().add("POST", chat, null).add("POST", chat, null).add("POST", chat, level)
              .add("POST", chat, _chat("not json")).add("POST", chat, _chat("still not json")))
    be = _openai(replay, tmp_path)
    no_prompt = sample_session(1)
    no_prompt.prompts, no_prompt.prompt_ts = [], []
    asked, bare, greeted, broken = be.classify([
        sample_session(0), no_prompt, sample_session(2, prompts=["hi"]), sample_session(3)])
    # the model said it cannot tell, on a session with a request
    assert reasons(asked) == ("model_cannot_tell",) * 3 and asked.summary
    # no human request: the post-rule's reason, whether the model abstained or gave a level
    assert bare.expertise is None and bare.expertise_reason == "no_human_request"
    assert greeted.expertise is None and greeted.expertise_reason == "too_little_text"
    # no valid answer after the repair turn
    assert reasons(broken) == ("no_answer",) * 3


def test_the_classify_command_counts_reasons_in_its_table_and_manifest(tmp_path: Path) -> None:
    """Through the CLI's worker processes (engine.local): the table says why, the run manifest counts it."""
    from test_classify_run import classify_one_and_an_empty_session

    db, text = classify_one_and_an_empty_session(tmp_path)
    assert "expertise not inferable │ 1 (empty session 1)" in text, text
    st = Store(db, read_only=True)
    try:
        (man,) = st.one("SELECT manifest FROM runs WHERE command = 'classify'")  # type: ignore[misc]
    finally:
        st.close()
    got = json.loads(man)["stats"]["abstention_reasons"]
    assert got["expertise"] == {"empty_session": 1} and got["outcome"].get("empty_session") == 1
