"""Redaction of PII and credentials, used by every codecensus stage that handles text.

>>> from codecensus.redact import get_redactor
>>> get_redactor().redact("mail alice@example.org, key AKIAIOSFODNN7EXAMPLE")
'mail [EMAIL], key [AWS_KEY]'

See :mod:`codecensus.redact.redactor` for the pipeline and
:mod:`codecensus.redact.patterns` for what each rule catches.
"""

from codecensus.redact.entities import (
    DIRECT_PII_KINDS,
    KINDS,
    PLACEHOLDERS,
    QUASI_KINDS,
    SECRET_KINDS,
    Entity,
    placeholder,
)
from codecensus.redact.redactor import (
    Auditor,
    Redactor,
    find,
    get_redactor,
    privacy_score,
    redact,
    redact_json,
)

__all__ = [
    "DIRECT_PII_KINDS",
    "KINDS",
    "PLACEHOLDERS",
    "QUASI_KINDS",
    "SECRET_KINDS",
    "Auditor",
    "Entity",
    "Redactor",
    "find",
    "get_redactor",
    "placeholder",
    "privacy_score",
    "redact",
    "redact_json",
]
