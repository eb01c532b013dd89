"""The LLM path of the cluster stage (Clio naming + hierarchizer) against a scripted fake model."""

from __future__ import annotations

import numpy as np
import pytest

from codecensus.cluster import hierarchy as H
from codecensus.cluster import naming as N
from codecensus.cluster.run import ClusterConfig, cluster_frame
from codecensus.cluster.synthetic import planted_frame
from test_cluster_helpers import FakeLLM, HashEmbedder


class PassScorer:
    def score(self, text: str, *, auditor=None) -> int:
        return auditor(text) if auditor is not None else 5

    def redact(self, text: str) -> str:
        return text


def test_parse_name_answer_cleans_and_limits() -> None:
    ans = ("<summary> Users fixed Django tests. They also cleaned fixtures. And more. </summary>\n"
           "<name>\"fix failing Django tests in web shops and other very long things here.\"</name>")
    name, desc = N.parse_name_answer(ans)  # type: ignore[misc]
    assert name == "Fix failing Django tests in web shops and other very"
    assert len(name.split()) == 10
    assert desc == "Users fixed Django tests. They also cleaned fixtures."
    assert N.parse_name_answer("no tags at all") is None
    # an unclosed final tag still counts (models often stop at the closing tag)
    assert N.parse_name_answer("<summary>S.</summary><name>Build CLIs") == ("Build CLIs", "S.")


def test_name_prompt_is_contrastive() -> None:
    p = N.name_prompt(["Fix Django views."], ["Build React forms."])
    assert "<statement>Fix Django views.</statement>" in p.split("<contrastive_answers>")[0]
    assert "<statement>Build React forms.</statement>" in p.split("<contrastive_answers>")[1]
    assert "at most ten words" in p


def test_llm_name_retries_once_then_gives_up() -> None:
    calls: list[str] = []

    def bad(prompt: str) -> str:
        calls.append(prompt)
        return "sorry"

    assert N.llm_name(bad, ["a"], ["b"]) is None
    assert len(calls) == 2


def test_parse_list_and_match_name() -> None:
    text = "<scratchpad>..</scratchpad><answer>\n1. Fix web apps\n2) Build CLIs\n- Deploy services\n1. Fix web apps\n</answer>"
    assert H.parse_list(text) == ["Fix web apps", "Build CLIs", "Deploy services"]
    opts = ["Fix web apps", "Build CLIs", "Deploy services"]
    assert H.match_name("build clis", opts) == 1
    assert H.match_name("Deploy service", opts) == 2  # fuzzy
    assert H.match_name("Something unrelated entirely", opts) is None


def test_llm_level_follows_clio_steps() -> None:
    fake = FakeLLM()
    names = ["Handle Django work", "Handle Django admin", "Handle React work", "Handle React hooks",
             "Handle Rust work"]
    descs = ["d"] * 5
    emb = HashEmbedder()
    res = H.llm_level(fake, names, descs, emb.encode, target=3, seed=0, neighbourhood=2)
    assert fake.kinds["propose"] >= 2 and fake.kinds["dedupe"] == 1
    assert fake.kinds["assign"] == 5 and fake.kinds["rename"] == len(res.names)
    assert res.calls == len(fake.prompts)
    # Django children share a parent, React children share one, and they differ
    p = res.parent_of
    assert p[0] == p[1] and p[2] == p[3] and p[0] != p[2]
    assert sorted(set(p.tolist())) == list(range(len(res.names)))  # compact, no empty parent
    assert all(n.startswith("Group: ") for n in res.names)


def test_llm_level_survives_garbage_answers() -> None:
    fake = FakeLLM(garbage=True)
    names = ["Fix Django views", "Fix Django admin", "Build React hooks"]
    res = H.llm_level(fake, names, ["", "", ""], HashEmbedder().encode, target=2)
    assert len(res.parent_of) == 3
    assert all(0 <= p < len(res.names) for p in res.parent_of)
    assert all(res.names)  # fell back to proposal names


def test_parents_are_shuffled_in_assignment_prompts() -> None:
    fake = FakeLLM()
    names = [f"Handle Topic{i} work" for i in range(8)]
    H.llm_level(fake, names, [""] * 8, HashEmbedder().encode, target=6, seed=1, neighbourhood=100)
    orders = {
        tuple(p.split("<higher_level_clusters>")[1].split("</higher_level_clusters>")[0].split())
        for p in fake.prompts if p.startswith(H.ASSIGN_PROMPT[:40])
    }
    assert len(orders) > 1


def test_cluster_frame_with_llm_backend() -> None:
    planted = planted_frame(600, n_topics=4, n_users=80, seed=5)
    fake = FakeLLM()
    res = cluster_frame(planted.frame, embedder=HashEmbedder(), complete=fake, scorer=PassScorer(),
                        config=ClusterConfig(backend="anthropic", levels=3, seed=0))
    assert res.info["llm_calls"] == len(fake.prompts) > 0
    assert set(res.info["prompt_hashes"]) >= {"name", "propose", "assign", "rename"}
    leaves = [n for n in res.tree.nodes[0] if n.released]
    assert leaves and all(n.name.startswith("Handle ") for n in leaves)  # LLM names win over offline ones
    # each naming prompt carried at most 50 inside and 50 contrastive statements
    naming = [p for p in fake.prompts if "<contrastive_answers>" in p]
    assert len(naming) == fake.kinds["name"] >= len(leaves)
    for p in naming:
        inside, contrast = p.split("<contrastive_answers>")
        assert 0 < inside.count("<statement>") <= 50 and 0 < contrast.count("<statement>") <= 50
    top = res.tree.nodes[-1]
    assert all(n.name.startswith("Group: ") for n in top if n.released)
    for lv in range(res.tree.levels - 1):
        assert np.array_equal(res.tree.labels[lv + 1], res.tree.parents[lv][res.tree.labels[lv]])


def test_llm_auditor_can_withhold_names() -> None:
    planted = planted_frame(300, n_topics=3, n_users=60, seed=6)
    res = cluster_frame(planted.frame, embedder=HashEmbedder(), complete=FakeLLM(), scorer=PassScorer(),
                        auditor=lambda text: 2, config=ClusterConfig(backend="openai", levels=2))
    assert not any(n.released for nodes in res.tree.nodes for n in nodes)
    assert {n.withheld_reason for n in res.tree.nodes[-1]} == {"auditor"}


def test_llm_backend_requires_a_callable() -> None:
    planted = planted_frame(50, n_topics=2, seed=1)
    with pytest.raises(ValueError, match="complete"):
        cluster_frame(planted.frame, embedder=HashEmbedder(), config=ClusterConfig(backend="anthropic"))


# -- the text adapter over the SDKs (fake clients with the SDKs' response shapes) -------------------


class _AnthropicFake:
    def __init__(self) -> None:
        self.kwargs: list[dict] = []
        self.messages = self

    def create(self, **kw):  # noqa: ANN003
        from types import SimpleNamespace as NS

        self.kwargs.append(kw)
        return NS(content=[NS(type="text", text="<name>Fix web apps</name>")],
                  usage=NS(input_tokens=12, output_tokens=5))


class _OpenAIFake:
    def __init__(self) -> None:
        from types import SimpleNamespace as NS

        self.kwargs: list[dict] = []
        self.chat = NS(completions=self)
        self.models = NS(list=lambda: [NS(id="local-model")])

    def create(self, **kw):  # noqa: ANN003
        from types import SimpleNamespace as NS

        self.kwargs.append(kw)
        return NS(choices=[NS(message=NS(content="<rating>4</rating>"))],
                  usage=NS(prompt_tokens=7, completion_tokens=2))


def test_text_llm_anthropic_shape_and_account() -> None:
    from codecensus.cluster.llm_text import TextLLM

    fake = _AnthropicFake()
    llm = TextLLM("anthropic", client=fake)
    assert llm("hello") == "<name>Fix web apps</name>"
    kw = fake.kwargs[0]
    assert kw["messages"] == [{"role": "user", "content": "hello"}] and kw["model"] == "claude-haiku-4-5"
    assert llm.describe()["account"] == {"calls": 1, "input_tokens": 12, "output_tokens": 5}


def test_text_llm_openai_picks_server_model_and_limits_calls() -> None:
    from codecensus.cluster.llm_text import CallLimitExceeded, TextLLM
    from codecensus.cluster.privacy import llm_auditor

    fake = _OpenAIFake()
    llm = TextLLM("openai", client=fake, max_calls=1)
    assert llm.model == "local-model"
    assert llm_auditor(llm)("Fix web apps") == 4
    with pytest.raises(CallLimitExceeded):
        llm("again")
    with pytest.raises(ValueError):
        TextLLM("cohere", client=fake)


def test_llm_parent_of_a_sole_child_takes_the_childs_name() -> None:
    """The LLM names a leaf from its summaries and a parent from its children's names: a parent whose sole child
    holds all its sessions takes that child's name and description (one group, one name)."""
    planted = planted_frame(600, n_topics=6, n_users=80, seed=5)
    res = cluster_frame(planted.frame, embedder=HashEmbedder(), complete=FakeLLM(), scorer=PassScorer(),
                        config=ClusterConfig(backend="anthropic", levels=3, k=6, top=2, seed=0))
    tree = res.tree
    pairs = []
    for lv in range(tree.levels - 1):
        kids = np.bincount(tree.parents[lv], minlength=len(tree.nodes[lv + 1]))
        pairs += [(tree.nodes[lv + 1][int(p)], tree.nodes[lv][c]) for c, p in enumerate(tree.parents[lv])
                  if kids[p] == 1]
    assert pairs
    for parent, child in pairs:
        assert (parent.name, parent.description) == (child.name, child.description)
    assert any(p.level == 1 and p.name.startswith("Handle ") for p, _ in pairs)  # the leaf's LLM name, not a group's
