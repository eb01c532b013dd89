"""Canaries written the way real text hides them from a plain regex: glued to Chinese text, right after
a ``\\n`` escape in JSON text, percent-encoded in a URL, split by a zero-width character, typed with a
Cyrillic look-alike or in full-width letters, base64-encoded, or a name with accents spelled plainly
in an e-mail address. Each must be gone from the redacted text (only kinds are printed, never values).
"""

from __future__ import annotations

import base64
import json
import unicodedata
import urllib.parse

import pytest

from codecensus.redact import Redactor, get_redactor

AWS = "AKIAQ3XW7KZP2M4NB6RT"
GHP = "ghp_R7kQ2mX9vL4pT8wZ3nB6yC1dF5gH0jK2sA4e"
STRIPE = "sk_live_51Hx7Qm2Rk9Lp4Vz8Tn3Wb6Yc1Df5Gh0Js2Ka7"
EMAIL = "ottilie.vanderkamp@fjordwise.io"
ZW = "\u200b"


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


# (case, text, needle that must not survive)
CASES: list[tuple[str, str, str]] = [
    ("phone glued to Chinese", "请打电话+86 138 0013 8000联系我", "138 0013 8000"),
    ("US phone glued to Chinese", "电话(415) 555-0173谢谢", "555-0173"),
    ("card glued to Chinese", "卡号4532 0151 1283 0366请保密", "4532 0151 1283 0366"),
    ("IBAN glued to Chinese", "账号DE62370400440532013777转账", "370400440532013777"),
    ("IP glued to Japanese", "サーバー81.169.145.92に接続", "81.169.145.92"),
    ("URL password glued to Chinese", "连接postgres://app:Pq7zWx3Kv9Lm@db.example.org/x", "Pq7zWx3Kv9Lm"),
    ("phone after \\t in JSON text", json.dumps({"out": "\t+44 20 7946 0958"}), "7946 0958"),
    ("national phone after \\n in JSON text", json.dumps({"out": "tel:\n020 7946 0321"}), "7946 0321"),
    ("card after \\n in JSON text", json.dumps({"out": "cards:\n5425233430109903\n"}), "5425233430109903"),
    ("IP after \\n in JSON text", json.dumps({"log": "GET /\n81.169.145.92 - - [01/Jan]"}), "81.169.145.92"),
    ("IBAN after \\t in JSON text", json.dumps({"o": "iban\tGB29 NWBK 6016 1331 9268 19"}), "1331 9268 19"),
    ("address after \\n in JSON text", json.dumps({"o": "ship to:\n1600 Quillfeather Avenue"}), "Quillfeather"),
    ("IPv6 before a full stop", "the host is 2a01:238:20a:202:1159::1.", "2a01:238:20a:202"),
    ("percent-encoded e-mail", "GET /auth?login_hint=" + urllib.parse.quote(EMAIL, safe=""), "vanderkamp"),
    ("key after %20", "https://x.org/cb?next=" + urllib.parse.quote(f"use {GHP}", safe=""), GHP[4:24]),
    ("zero-width inside a key", f"export AWS_ACCESS_KEY_ID={AWS[:9]}{ZW}{AWS[9:]}", AWS[9:]),
    ("zero-width inside a token", f"token {GHP[:20]}\u200d{GHP[20:]} ok", GHP[20:]),
    ("soft hyphen inside an e-mail", f"mail {EMAIL[:8]}\u00ad{EMAIL[8:]}", "vanderkamp"),
    ("Cyrillic look-alike in a key", "key " + AWS.replace("K", "\u041a", 1), AWS[5:]),
    ("Cyrillic look-alike in an e-mail", "write to " + EMAIL.replace("a", "\u0430", 1), "vanderk"),
    ("full-width key", "鍵は" + _fullwidth(STRIPE) + "です", _fullwidth(STRIPE)[8:30]),
    ("full-width e-mail", "メール" + _fullwidth(EMAIL), _fullwidth("vanderkamp")),
    ("base64 .env", "echo " + _b64(f"STRIPE_KEY={STRIPE}\n") + " | base64 -d > .env", _b64(f"STRIPE_KEY={STRIPE}\n")[:24]),
    ("base64 k8s secret", "data:\n  config: " + _b64(f"GITHUB_TOKEN={GHP}"), _b64(f"GITHUB_TOKEN={GHP}")[:24]),
    ("base64url e-mail", "state=" + base64.urlsafe_b64encode(f"user={EMAIL}".encode()).decode(),
     base64.urlsafe_b64encode(f"user={EMAIL}".encode()).decode()[:24]),
    ("umlaut name from its e-mail", "Author: Jürgen Quellmüller <juergen.quellmueller@firma.de>", "Quellmüller"),
    ("umlaut name, plain vowels", "by Jurgen Quellmuller (juergen.quellmueller@firma.de)", "Quellmuller"),
    ("AWS secret right after its key id", f"the AWS key is {AWS} / wJalrXUtnFEMI/K7MDENG+bPxRfiCYQZ7WQ4XK2M.",
     "K7MDENG+bPxRfiCYQZ7WQ4XK2M"),
    ("accented name from its e-mail", "José Ibáñez-Ortega <jose.ibanez@corp.es> wrote it", "Ibáñez"),
]


def _leaks(needle: str, out: str) -> bool:
    n = unicodedata.normalize("NFKC", needle).replace(ZW, "")
    o = unicodedata.normalize("NFKC", urllib.parse.unquote(out))
    for ch in (ZW, "\u200d", "\u00ad"):
        o = o.replace(ch, "")
    return n in o or needle in out


@pytest.mark.parametrize(("case", "text", "needle"), CASES, ids=[c[0] for c in CASES])
def test_disguised_canary_is_redacted(case: str, text: str, needle: str) -> None:
    r = get_redactor()
    out = r.redact(text)
    assert not _leaks(needle, out), f"{case}: the value survived redaction"
    assert r.redact(out) == out  # still idempotent


def test_plain_text_views_change_nothing_on_ordinary_text() -> None:
    """Printf formats, a Russian sentence, a base64 image and hex digests are left alone."""
    r = Redactor()
    texts = [
        'printf("%3d items, %2F", n, x); url = "a%20b"',
        "Привет, запусти тесты в app/main.py и проверь сервер на порту 8080",
        "data:image/png;base64," + base64.b64encode(bytes(range(256)) * 4).decode(),
        "commit 3f9a1c2e7b8d4f6a0c1e2d3b4a5f6e7d8c9b0a1f and sha256:" + "ab" * 32,
        "see docs/architecture/overview_of_the_ingest_pipeline_and_stores.md",
    ]
    for t in texts:
        assert r.redact(t) == t
