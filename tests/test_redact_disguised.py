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


# -- values split across a line break --------------------------------------------------------------
# A long key, token, address or number broken by a line break: a terminal that hard-wraps at 80
# columns, a tool that wraps and indents its continuation lines, Windows line ends, the same inside
# JSON text (a literal backslash-n escape), a shell line continuation. Each piece alone is not a
# detection (or a shorter one), so the whole value must be found across the break.

# (kind, text before the value, value, text after it)
SPLIT_KINDS: list[tuple[str, str, str, str]] = [
    ("email", "please contact ", "zebulon.quackenbush@quokkaflux-labs.io", " for access"),
    ("aws_key", "export AWS_ACCESS_KEY_ID=", "AKIAQZ7WQ4XK2M9PL3RT", ""),
    ("aws_secret", "aws_secret_access_key = ", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYQZ7WQ4XK2M", ""),
    ("aws_secret_after_id", "the AWS key is AKIAQZ7WQ4XK2M9PL3RT / ", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYQZ7WQ4XK2M", "."),
    ("github_token", "GITHUB_TOKEN=", "ghp_Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9", ""),
    ("github_pat", "use ", "github_pat_11AQZ7WQ4_Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9QzWq",
     " to push"),
    ("anthropic_key", "ANTHROPIC_API_KEY=",
     "sk-ant-api03-Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9Qz7Wq4Xk2M9pL-AA", ""),
    ("openai_key", "key: ", "sk-proj-Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9T3BlbkFJQz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0", ""),
    ("slack_token", "SLACK_BOT_TOKEN=", "xoxb-2847561930-4728391056-Qz7Wq4Xk2M9pL3rTv8Yb1Nc6", ""),
    ("gitlab_token", "git remote add origin https://oauth2:", "glpat-Qz7Wq4Xk2M9pL3rTv8Yb", "@gitlab.com/x/y.git"),
    ("google_key", "maps key ", "AIzaSyQz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2", " in the page"),
    ("gcp_oauth_secret", "client secret ", "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", ""),
    ("stripe_key", "stripe ", "sk_live_51Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9", " (live)"),
    ("npm_token", "npm token ", "npm_Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9", ""),
    ("pypi_token", "TWINE_PASSWORD ",
     "pypi-AgEIcHlwaS5vcmcCJGQz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0", ""),
    ("hf_token", "huggingface-cli login --token ", "hf_Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka", ""),
    ("sendgrid_key", "mail via ", "SG.Qz7Wq4Xk2M9pL3rTv8Yb1N.c6Hd0Jf5Gs2Ka9Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2K", ""),
    ("twilio_key", "twilio ", "SK7f3a9c2e1b8d4f6a0c1e2d3b4a5f6e7d", ""),
    ("jwt", "Authorization: Bearer ",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ6cXVhY2tlbmJ1c2gifQ.Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9QzWq4",
     ""),
    ("bearer", "curl -H 'Authorization: Bearer ", "ya29.a0AfH6SMQz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5", "' https://api.x.io"),
    ("password", "DB_PASSWORD=", "Tr0ub4dor-Qz7Wq4Xk2M9pL3", ""),
    ("url_password", "DATABASE_URL=postgres://app:", "Pq7zWx3Kv9LmQz7Wq4Xk2M", "@db.quokkaflux.org/app"),
    ("url_query_token", "GET https://api.quokkaflux.org/cb?access_token=", "Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0", " 200"),
    ("azure_key", "DefaultEndpointsProtocol=https;AccountName=qf;AccountKey=",
     "Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9Qz7Wq4Xk2M9pL3rTv8Yb==", ";"),
    ("card", "card ", "4532015112830366", " exp 04/29"),
    ("card_spaced", "card number ", "4532 0151 1283 0366", " exp 04/29"),
    ("iban", "IBAN ", "DE62370400440532013777", " (Sparkasse)"),
    ("phone", "call me on ", "+14155550199", " after six"),
    ("ipv4", "ssh deploy@", "81.169.145.92", " -p 22"),
    ("ipv6", "server at ", "2a01:238:20a:202:1159:4f2c:9a1e:77", " responded"),
    ("home_user", "error in /Users/", "zquackenbush", "/code/app/main.py:12"),
]

_FILLER = "[2026-01-05 10:22:31] INFO deploy step finished, the output of the last command was as follows: "

# disguise → (wrap width, what the wrap puts between the pieces, whether the text is then JSON-encoded)
_WRAPS: dict[str, tuple[int, str, bool]] = {
    "hard wrap at 80 columns": (80, "\n", False),
    "wrap with indentation": (60, "\n    ", False),
    "CRLF wrap": (80, "\r\n", False),
    "backslash-n escape in JSON text": (100, "\n", True),
    "shell line continuation": (72, "\\\n", False),
}


def _disguise(how: str, before: str, value: str, after: str) -> str:
    """``before + value + after`` on one line, padded in front so that the wrap column falls in the middle
    of ``value``, wrapped the way ``how`` says."""
    width, sep, as_json = _WRAPS[how]
    pad = (width - len(before) - len(value) // 2) % width
    if value[len(value) // 2 - 1] == " " or value[len(value) // 2] == " ":
        pad = (pad + 1) % width  # not at a space inside the value: that is an ordinary line break
    line = (_FILLER[: pad - 1] + " ")[-pad:] + before + value + after if pad else before + value + after
    text = "$ deploy --verbose\n" + sep.join(line[i : i + width] for i in range(0, len(line), width)) + "\n$ "
    return json.dumps({"type": "tool_result", "content": text}) if as_json else text


SPLIT_DISGUISES = (
    "hard wrap at 80 columns",
    "wrap with indentation",
    "CRLF wrap",
    "backslash-n escape in JSON text",
    "shell line continuation",
)


def _split_leaks(value: str, out: str) -> bool:
    """Does any run of 6+ characters of ``value`` survive in ``out`` (with its line breaks taken out)?"""
    joined = out
    for br in ("\\\r\n", "\\\n", "\r\n", "\n", "\\n"):
        joined = joined.replace(br, "")
    joined = " ".join(joined.split())
    v = " ".join(value.split())
    return any(v[i : i + 6] in joined for i in range(len(v) - 5) if v[i : i + 6].strip() == v[i : i + 6])


@pytest.mark.parametrize("how", SPLIT_DISGUISES)
@pytest.mark.parametrize(("kind", "before", "value", "after"), SPLIT_KINDS, ids=[k[0] for k in SPLIT_KINDS])
def test_value_split_across_a_line_break_is_redacted_whole(
    kind: str, before: str, value: str, after: str, how: str
) -> None:
    text = _disguise(how, before, value, after)
    assert not _split_leaks(value, get_redactor().redact(text)), f"{kind}, {how}: part of the value survived"


def test_split_value_is_replaced_whole_and_nothing_beyond_it() -> None:
    r = get_redactor()
    key = "sk-proj-Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9T3BlbkFJQz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0"
    text = f"The new key is {key[:45]}\n    {key[45:]} and it works.\nNext line"
    assert r.redact(text) == "The new key is [OPENAI_KEY] and it works.\nNext line"
    card = "4532015112830366"
    assert r.redact(f"paid with card number {card[:10]}\r\n{card[10:]}, thanks") == "paid with card number [CARD], thanks"
    doc = json.dumps({"out": f"token for the deploy: {GHP[:25]}\n{GHP[25:]}\ndone"})
    out = r.redact(doc)
    assert json.loads(out) == {"out": "token for the deploy: [GITHUB_TOKEN]\ndone"}


ORDINARY_LINES = [
    # prose: a word ends a line, the next starts with one
    "The deploy finished without errors and the\nservice restarted at 10:22 on host web01\nand all looks fine for 2026\n",
    # code: numbers and identifiers at line ends and starts
    "    total_bytes_transferred = compute(x1, 2)\n    return total_bytes_transferred_v2\n    next_value_in_list = 42\n"
    "    foo_bar_baz_quux_1234567 = 890123\n    0xFFFFFFFF\n    key1 = self._shapetrafo\n    m11 = 3\n",
    # hex digests on consecutive lines, and a one-line git log
    "3f9a1c2e7b8d4f6a0c1e2d3b4a5f6e7d8c9b0a1f\n7b8d4f6a0c1e2d3b4a5f6e7d8c9b0a1f3f9a1c2e\na0c1e2d3b4a5f6e7d8c9b0a1f3f9a1c2e7b8d4f6",
    "3f9a1c2 fix the flaky test in the ingest\n7b8d4f6 bump version to 2.4.1 for the release\n",
    # a column of numbers that joined would be a valid card number
    "4532\n0151\n1283\n0366\n",
    # a decorator after a line ending in a word (joined: with@typing.runtime_checkable)
    "Protocol classes decorated with\n    @typing.runtime_checkable act as simple-minded runtime protocols",
    # paths and URLs on consecutive lines
    "see https://example.org/docs/v2/guide/install\n/usr/local/bin/python3.11 -m pip install x\n",
    # JSON text whose lines end and start with ids
    json.dumps({"content": "line one of the output with id 12345\nline two of the output with id 67890\n"}),
    # a base64 block (binary data) wrapped at 76 columns
    "\n".join(base64.b64encode(bytes((i * 73 + 11) % 251 for i in range(600))).decode()[i : i + 76] for i in range(0, 800, 76)),
]


@pytest.mark.parametrize("text", ORDINARY_LINES, ids=range(len(ORDINARY_LINES)))
def test_ordinary_consecutive_lines_are_not_joined(text: str) -> None:
    assert get_redactor().redact(text) == text


# a number ending a short line and another starting the next: no wrap, so no card across the break (a first
# version of the join made ``processed rows total [CARD]`` of the first one and dropped the line break)
NUMBERS_ON_TWO_LINES = [
    "processed rows total 4111\n111111111111",
    "processed rows total 4111\r\n111111111111\nnext",
    "the job processed this many rows: 4111\n111111111111\n",
    json.dumps({"out": "rows written to the table 4111\n111111111111"}),
    # long lines that are no terminal's wrap: a 50-column log line ending in a count and a line of digits (the
    # join took any line of 40+ columns for a wrap: "... processed rows total [CARD] bytes written"), the same
    # at 64 and 90 columns, and an 80-column line whose next line is indented (a terminal goes on at column 1)
    "2026-01-02 12:00:01 INFO processed rows total 4111\n111111111111 bytes written",
    "2026-01-02 12:00:01 INFO worker 7 finished, rows processed: 4111\n111111111111 bytes written",
    "2026-01-02 12:00:01 INFO worker 7 finished the nightly batch job, rows processed: 4111\r\n111111111111\n",
    json.dumps({"out": "2026-01-02 12:00:01 INFO processed rows total 4111\n111111111111 bytes written"}),
    ("2026-01-02 12:00:01 INFO worker 7 finished the nightly batch, rows processed: 4111"[-80:]
     + "\n    111111111111 bytes written"),
]


@pytest.mark.parametrize("text", NUMBERS_ON_TWO_LINES, ids=range(len(NUMBERS_ON_TWO_LINES)))
def test_numbers_on_consecutive_short_lines_are_not_joined_into_a_card(text: str) -> None:
    assert get_redactor().redact(text) == text


@pytest.mark.parametrize("width", [72, 80, 120])
@pytest.mark.parametrize("cut", [1, 2, 3, 5, 7, 8, 12, 15])
def test_card_wrapped_after_a_few_digits_is_still_redacted(width: int, cut: int) -> None:
    """A card wrapped by a terminal at the end of a line of ``width`` columns, ``cut`` digits of it on that line
    (a line of 40 columns is no terminal's width: see NUMBERS_ON_TWO_LINES)."""
    card = "4532015112830366"
    line = ("the payment form was filled in and submitted with card "[-(width - cut) :]).rjust(width - cut, "x")
    out = get_redactor().redact(f"{line}{card[:cut]}\n{card[cut:]} exp 04/29\nnext")
    assert out == f"{line}[CARD] exp 04/29\nnext"


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("raw", [True, False])
def test_card_wrapped_after_four_digits_wins_over_a_phone_number_in_its_tail(width: int, raw: bool) -> None:
    """The 12 digits after the wrap read alone as a phone number (presidio): the card was dropped and the
    phone number masked, ``... card 4532`` + newline + ``[PHONE]``, the card's first 4 digits left in the text."""
    card = "4532015112830366"
    line = "the payment form was filled in and submitted with card ".rjust(width - 4, "x")
    text = f"$ pay --verbose\n{line}{card[:4]}\n{card[4:]} exp 04/29\nnext"
    expected = f"$ pay --verbose\n{line}[CARD] exp 04/29\nnext"
    r = get_redactor()
    if raw:
        assert r.redact(text) == expected
    else:  # JSON text (a tool result): the lines end in backslash-n escapes
        assert json.loads(r.redact(json.dumps({"out": text})))["out"] == expected


AT_LINE_END = [
    ("questions? write to alice.w@example.org\nthanks, the team", "questions? write to [EMAIL]\nthanks, the team"),
    ("for access please contact our admin\nalice.w@example.org today", "for access please contact our admin\n[EMAIL] today"),
    ("connected to the server at 81.169.145.92\n22 attempts later it worked",
     "connected to the server at [IP]\n22 attempts later it worked"),
    # a key or address ending a line, code on the next (benchmarks/redact.py's corpus has these; a first
    # version of the join masked the code with them)
    ("OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9lMn2pQr5tUv8xYz1BcDeFgHiJkLmN\n        self.bufsize = bufsize",
     "OPENAI_API_KEY=[OPENAI_KEY]\n        self.bufsize = bufsize"),
    ("ssh root@203.0.113.77\n            self.write(data)", "ssh root@[IP]\n            self.write(data)"),
    ("OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9lMn2pQr5tUv8xYz1BcDeFgHiJkLmN\n              reader=read_bytes8,",
     "OPENAI_API_KEY=[OPENAI_KEY]\n              reader=read_bytes8,"),
]


@pytest.mark.parametrize(("text", "expected"), AT_LINE_END, ids=range(len(AT_LINE_END)))
def test_detection_at_a_line_end_is_not_extended_over_the_next_line(text: str, expected: str) -> None:
    assert get_redactor().redact(text) == expected


# -- the short letters-only tail of a key cut by a wrap ----------------------------------------------
# A key that is a detection on its own up to the line end, and a few letters of it on the next line: the letters
# are a whole word to the join (``abc``), which kept them out. They are taken when the cut is evident.
_PROJ_KEY = "sk-proj-Ab3dEf6hIj9lMn2pQr5tUv8xYz1BcDeFgHiJkLmN"
_ANT_KEY = "sk-ant-api03-" + ("Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5Gs2Ka9" * 3)[:93] + "AA"
_LEGACY_KEY = "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"


def _at_width(width: int, key: str, cut: int) -> str:
    """``OPENAI_API_KEY=`` + ``key`` padded in front so that its line, up to ``cut`` characters before its end,
    is ``width`` columns long."""
    line = "OPENAI_API_KEY=" + key[: len(key) - cut]
    return ("#" * width + " " + line)[-width:] if width > len(line) else line


KEY_TAILS = [
    # the line is exactly as wide as a terminal
    (_at_width(80, _PROJ_KEY, 3) + "\nabc", _at_width(80, _PROJ_KEY, 3)[:-45] + "[OPENAI_KEY]"),
    (_at_width(100, _PROJ_KEY, 3) + "\nabc\nnext", _at_width(100, _PROJ_KEY, 3)[:-45] + "[OPENAI_KEY]\nnext"),
    (_at_width(120, _PROJ_KEY, 3) + "\r\nabc and it works", _at_width(120, _PROJ_KEY, 3)[:-45] + "[OPENAI_KEY] and it works"),
    # the key's format shows it is cut (any line length): an Anthropic key shorter than 108 characters, an
    # OpenAI key with fewer than 20 characters after T3BlbkFJ, a GitHub token shorter than 36
    ("ANTHROPIC_API_KEY=" + _ANT_KEY[:-2] + "\nAA\nnext", "ANTHROPIC_API_KEY=[ANTHROPIC_KEY]\nnext"),
    ("the key was " + _LEGACY_KEY[:-3] + "\nabc", "the key was [OPENAI_KEY]"),
    ("OPENAI_API_KEY=" + GHP[:-3] + "\n" + "Kab" + "\nnext", "OPENAI_API_KEY=[GITHUB_TOKEN]\nnext"),
]
KEY_THEN_WORD = [
    # a line that is no terminal width: a word or a heredoc end after a key, not its tail
    "OPENAI_API_KEY=" + _PROJ_KEY + "\nthanks",
    "cat > .env <<EOF\nOPENAI_API_KEY=" + _PROJ_KEY + "\nEOF\n",
    # at a terminal width, but the next line is indented or code
    _at_width(80, _PROJ_KEY, 0) + "\n    done",
    _at_width(80, _PROJ_KEY, 0) + "\nself.bufsize = bufsize",
    _at_width(80, _PROJ_KEY, 0) + "\nreader=read_bytes8,",
    # a password of any form is no evidence of a cut
    "######################## password=Tr0ub4dor\nabc",
]


@pytest.mark.parametrize(("text", "expected"), KEY_TAILS, ids=range(len(KEY_TAILS)))
def test_letters_tail_of_a_key_cut_by_a_wrap_is_redacted(text: str, expected: str) -> None:
    assert get_redactor().redact(text) == expected


@pytest.mark.parametrize("text", KEY_THEN_WORD, ids=range(len(KEY_THEN_WORD)))
def test_word_after_a_key_at_a_line_end_is_kept(text: str) -> None:
    out = get_redactor().redact(text)
    assert out.count("\n") == text.count("\n") and out.endswith(text[text.rindex("\n") :])


def test_value_wrapped_at_the_very_start_of_a_text_is_redacted() -> None:
    """The window read around a joined line break started one character in when no line break came before it:
    a token wrapped at the start of a text (a tool result) was missed whole."""
    r = get_redactor()
    assert r.redact(GHP[:29] + "\n" + GHP[29:] + " was the token") == "[GITHUB_TOKEN] was the token"
    assert r.redact("zebulon.quackenbush@quokkaflux-l\nabs.io for access") == "[EMAIL] for access"


# -- a YAML value on the line after its key --------------------------------------------------------
YAML_NEXT_LINE = [
    ("config:\n  api_key:\n    Xq7fT2mR9vLp4Kw8Zn3Bc6Hd1Jy5Gs0A\n  other: 1\n", "config:\n  api_key:\n    [SECRET]\n  other: 1\n"),
    ("db:\n  password: |\n    Tr0ub4dor&3horse-battery\n  host: x\n", "db:\n  password: |\n    [SECRET]\n  host: x\n"),
    ("password: >-\n  Tr0ub4dor&3horse-battery\n", "password: >-\n  [SECRET]\n"),
    ("- client_secret:  # rotated\r\n\r\n    'Qz7Wq4Xk2M9pL3rTv8'\r\n", "- client_secret:  # rotated\r\n\r\n    '[SECRET]'\r\n"),
]
YAML_BELOW_KEY = [
    # every item of a list under a secret key (plural or not), quoted or not, with a comment
    ("api_keys:\n  - Xq7fT2mR9vLp4Kw8Zn3Bc6Hd1Jy5Gs0A\n  - 'Qz7Wq4Xk2M9pL3rTv8'  # old\nother: 1\n",
     "api_keys:\n  - [SECRET]\n  - '[SECRET]'  # old\nother: 1\n"),
    ("config:\n  tokens:\n  - 3f9a1c2e7b8d4f6a0c1e2d3b4a5f6e7d\n  - b4a5f6e7d8c9b0a1f3f9a1c2e7b8d4f6\n  name: x\n",
     "config:\n  tokens:\n  - [SECRET]\n  - [SECRET]\n  name: x\n"),
    ("secrets:\r\n  - Qz7Wq4Xk2M9pL3rTv8Yb1N\r\n", "secrets:\r\n  - [SECRET]\r\n"),
    # every line of a block scalar, blank lines kept
    ("password: |\n  Tr0ub4dor&3horse-battery\n  second-line-Qz7Wq4Xk2M9\n\n  third\nhost: x\n",
     "password: |\n  [SECRET]\n  [SECRET]\n\n  [SECRET]\nhost: x\n"),
    ("- private_key: >-\n    Qz7Wq4Xk2M9pL3rTv8Yb1Nc6\n    Hd0Jf5Gs2Ka9Qz7Wq4Xk2M9\n  name: y\n",
     "- private_key: >-\n    [SECRET]\n    [SECRET]\n  name: y\n"),
]
YAML_NOT_A_VALUE = [
    "password:\n  min_length: 8\n  require_digit: true\n",  # a mapping under the key
    "tokens:\n  - a\n  - b\n",  # a list
    "  password:\n  other: Xq7fT2mR9vLp4Kw8\n",  # no value: the next line is a sibling key
    "if password:\n    return hash_pw(password)\n",  # code
    "def rotate(token):\n    refresh_all_v2\n",
    "secret_key:\n  ${SECRET_KEY}\n",  # a reference
    "password: |\n  your-password-here\n",  # a placeholder
    # lists under a secret key that hold no credential: names, settings, references, paths, numbers, mappings
    "tokens:\n  - color-primary\n  - spacing-small-2\n  - font-size-base\n",
    "secrets:\n  - GITHUB_TOKEN\n  - NPM_TOKEN\n",
    "secrets:\n  - name: db\n    valueFrom: vault\n",
    "imagePullSecrets:\n  - name: regcred\n",
    "tokens:\n  - /etc/app/token-2026.txt\n  - ${TOKEN_2026}\n",
    "passwords:\n  - 100\n  - 200\n",
    "token_ids:\n  - 1234567890123\n",
    "secret_versions:\n  - v1.2.3-2026-01-05\n",
    "password: |\n  your-password-here\n  more text here\n",
    # lists under other keys
    "paths:\n  - /srv/app/config-2026-01.yaml\n  - Qz7Wq4Xk2M9pL3rTv8Yb1N/src/redact/patterns.py\n",
    "checksums:\n  - 3f9a1c2e7b8d4f6a0c1e2d3b4a5f6e7d\n",
]


@pytest.mark.parametrize(("text", "expected"), YAML_NEXT_LINE, ids=range(len(YAML_NEXT_LINE)))
def test_yaml_value_on_the_line_after_its_key_is_redacted(text: str, expected: str) -> None:
    """``api_key:`` then the key on the next line (or ``password: |``, a block scalar) was left as it was: the
    assignment rule wants the value on the key's line."""
    assert get_redactor().redact(text) == expected


@pytest.mark.parametrize(("text", "expected"), YAML_BELOW_KEY, ids=range(len(YAML_BELOW_KEY)))
def test_yaml_list_items_and_block_lines_under_a_secret_key_are_redacted(text: str, expected: str) -> None:
    """Only the first line of a block scalar was redacted, and no item of a list (``api_keys:`` newline
    ``  - …``)."""
    assert get_redactor().redact(text) == expected


@pytest.mark.parametrize("text", YAML_NOT_A_VALUE, ids=range(len(YAML_NOT_A_VALUE)))
def test_yaml_key_without_a_secret_on_the_next_line_is_kept(text: str) -> None:
    assert get_redactor().redact(text) == text


@pytest.mark.parametrize(("text", "expected"), YAML_NEXT_LINE + YAML_BELOW_KEY, ids=range(len(YAML_NEXT_LINE + YAML_BELOW_KEY)))
def test_yaml_secret_below_its_key_in_json_text_is_redacted(text: str, expected: str) -> None:
    """A YAML file inside a tool result, as JSON text: its line breaks are ``\\n`` escapes, which the YAML rules
    did not read as line breaks."""
    doc = json.dumps({"type": "tool_result", "content": "# app settings\n" + text})
    assert json.loads(get_redactor().redact(doc)) == {"type": "tool_result", "content": "# app settings\n" + expected}


@pytest.mark.parametrize("text", YAML_NOT_A_VALUE, ids=range(len(YAML_NOT_A_VALUE)))
def test_yaml_key_without_a_secret_below_it_in_json_text_is_kept(text: str) -> None:
    doc = json.dumps({"content": "# app settings\n" + text})
    assert get_redactor().redact(doc) == doc


# -- inline lists and mappings under a secret key --------------------------------------------------
# A YAML flow list or mapping (also a JSON or Python list) as the key's value: the one-value rules stop at the
# bracket (``{value:`` is no secret) and the block-list rule reads only ``- item`` lines, so every value stayed.
YAML_FLOW = [
    ("api_keys: [Xq7fT2mR9vLp4Kw8Zn3Bc6Hd1Jy5Gs0A, Qz7Wq4Xk2M9pL3rTv8Yb1N]", "api_keys: [[SECRET], [SECRET]]"),
    ('secrets: ["Qz7Wq4Xk2M9p", "hunter2hunter2"]\nother: 1', 'secrets: ["[SECRET]", "[SECRET]"]\nother: 1'),
    ("password: {value: hunter2}", "password: {value: [SECRET]}"),
    ("db:\n  password: {value: 'Tr0ub4dor&3', rotate: true}\n", "db:\n  password: {value: '[SECRET]', rotate: true}\n"),
    ("api_key: {prod: Qz7Wq4Xk2M9pL3rTv8, dev: Hd0Jf5Gs2Ka9}", "api_key: {prod: [SECRET], dev: [SECRET]}"),
    ('{"api_keys": ["Qz7Wq4Xk2M9pL3rTv8Yb1N", "hunter2hunter2"], "n": 3}', '{"api_keys": ["[SECRET]", "[SECRET]"], "n": 3}'),
    ('API_KEYS = ["Qz7Wq4Xk2M9pL3rTv8Yb1N", "hunter2hunter2"]', 'API_KEYS = ["[SECRET]", "[SECRET]"]'),
    # the same in block form with an upper-case plural key (the block rule's key took only a lower-case "s")
    ("API_KEYS:\n  - Qz7Wq4Xk2M9pL3rTv8Yb1Nc6\n  - hunter2hunter2\n", "API_KEYS:\n  - [SECRET]\n  - [SECRET]\n"),
    ("passwords:\n  - hunter2hunter2\n", "passwords:\n  - [SECRET]\n"),
    # 12-character keys under tokens (too short for the random-key test, which needs 16)
    ("tokens: [abcd1234efgh, wxyz5678ijkl]", "tokens: [[SECRET], [SECRET]]"),
    ('{"tokens": ["abcd1234efgh", "9f8e7d6c5b4a"]}', '{"tokens": ["[SECRET]", "[SECRET]"]}'),
    ("tokens:\n  - abcd1234efgh\n  - wxyz5678ijkl\n", "tokens:\n  - [SECRET]\n  - [SECRET]\n"),
]
YAML_FLOW_NOT_A_SECRET = [
    "tokens: [primary500, fontSize16, gpt4o, utf8mb4, abc123, sha256WithRSA]",
    "tokens: [1, 2, 3]",
    "max_tokens: [100, 200]",
    "tokens: [spacing-small-2, color-blue-500, 4px]",
    "special_tokens: ['<|endoftext|>', '<|pad|>']",
    "secrets: [DB_PASSWORD, API_KEY_2]",
    "secrets: [my-app-secret, regcred]",
    'secrets: ["v1.2.3", "2.0.1"]',
    "password: {type: string, minLength: 8}",
    "token: {type: 'string', required: true}",
    "secret: {name: my-secret, key: password}",
    "api_keys: []",
    "tokens = [tok for tok in x]",
    "password: {{ .Values.password }}",
    "api_key: ${{ secrets.API_KEY }}",
    "checksums: [3f9a1c2e7b8d4f6a0c1e2d3b4a5f6e7d]",
]


@pytest.mark.parametrize(("text", "expected"), YAML_FLOW, ids=range(len(YAML_FLOW)))
def test_inline_list_or_mapping_under_a_secret_key_is_redacted(text: str, expected: str) -> None:
    assert get_redactor().redact(text) == expected


@pytest.mark.parametrize(("text", "expected"), YAML_FLOW, ids=range(len(YAML_FLOW)))
def test_inline_list_or_mapping_under_a_secret_key_in_json_text_is_redacted(text: str, expected: str) -> None:
    """The same YAML inside a tool result as JSON text: its quotes are ``\\"`` escapes there."""
    doc = json.dumps({"type": "tool_result", "content": "# app settings\n" + text})
    assert json.loads(get_redactor().redact(doc)) == {"type": "tool_result", "content": "# app settings\n" + expected}


@pytest.mark.parametrize("text", YAML_FLOW_NOT_A_SECRET, ids=range(len(YAML_FLOW_NOT_A_SECRET)))
def test_inline_list_or_mapping_without_a_credential_is_kept(text: str) -> None:
    r = get_redactor()
    assert r.redact(text) == text
    doc = json.dumps({"content": "# app settings\n" + text})
    assert r.redact(doc) == doc


# -- JSON text with \uXXXX escapes -------------------------------------------------------------------
# JSON written with json.dumps' default (ensure_ascii) spells every non-ASCII character as an escape: a tool's JSON
# output, a document pasted into a prompt, a stdout that printed one. The redactor reads such text with the escapes
# decoded and replaces the escapes the detection covers (before, none of these was found: every rule that needs a
# non-ASCII letter saw "contrase\u00f1a", "\u6797\u3086\u3044").
ESCAPED_JSON: list[tuple[str, str]] = [
    ("log\n林ゆい：收到", "log\n[PERSON]：收到"),
    ("名前：田中 太郎", "名前：[PERSON]"),
    ("제 이름은 김민준입니다", "제 이름은 [PERSON]입니다"),
    ("我叫王小明，负责后端", "我叫[PERSON]，负责后端"),
    ("my name is José Ibáñez and I run the shop", "my name is [PERSON] and I run the shop"),
    ("seed phrase: ligero vista talar yogur venta queso yacer trozo ligero vista talar ábaco (keep it)",
     "seed phrase: [MNEMONIC] (keep it)"),
    ("🔑 la contraseña es Xk9mPq2z, ¿vale?", "🔑 la contraseña es [SECRET], ¿vale?"),  # (a surrogate pair first)
    ("パスワードは「Xk9mPq2z」です。メールは ottilie.vanderkamp@fjordwise.io", "パスワードは「[SECRET]」です。メールは [EMAIL]"),
    # an address right after an escape: the address's pattern also matches from the escape's "u" (\uff1aottilie@...);
    # the span starts after the escape, not inside it (that left "\[EMAIL]": an invalid escape and a lost colon)
    ("連絡先：ottilie.vanderkamp@fjordwise.io", "連絡先：[EMAIL]"),
    ("😀ottilie.vanderkamp@fjordwise.io (me)", "😀[EMAIL] (me)"),  # (after a surrogate pair's low half)
    ("メール→ottilie.vanderkamp@fjordwise.io。", "メール→[EMAIL]。"),
]

# escaped JSON text with nothing to find, and an escaped backslash before "u" (a literal \u00e9, no escape)
ESCAPED_JSON_KEPT = [
    "Привет, запусти тесты в app/main.py и проверь сервер на порту 8080",
    "林の中：x\n森のなか：x\n名前はなに：x\n高すぎる：x",
    "café crème brûlée, naïve résumé — «déjà vu» ✓",
    "the regex \\u00e9 matches é; contrase\\u00f1a es una palabra",
]


@pytest.mark.parametrize(("text", "expected"), ESCAPED_JSON, ids=range(len(ESCAPED_JSON)))
def test_value_in_json_text_with_unicode_escapes_is_redacted(text: str, expected: str) -> None:
    r = get_redactor()
    assert r.redact(text) == expected
    doc = json.dumps({"type": "tool_result", "content": text})  # ensure_ascii: every non-ASCII character escaped
    out = r.redact(doc)
    assert out.isascii()  # only the escapes a detection covers were replaced; the others stay escapes
    assert json.loads(out) == {"type": "tool_result", "content": expected}
    assert r.redact(out) == out


def test_span_starting_inside_an_escape_of_an_ascii_letter_takes_the_escape() -> None:
    # a hand-written escape of an ASCII letter (json.dumps writes "A"): the letter is the address's, the span starts at
    # the backslash; an escaped backslash before "u" starts no escape (the "u" is text); a plain string's \\uff1a is
    # read as the escape it looks like (the plain view reads it so too)
    r = get_redactor()
    assert json.loads(r.redact('{"to": "\\u004fttilie.vanderkamp@fjordwise.io"}')) == {"to": "[EMAIL]"}
    literal = "regex \\uff1aottilie.vanderkamp@fjordwise.io"
    assert r.redact(literal) == "regex \\uff1a[EMAIL]"
    assert json.loads(r.redact(json.dumps(literal))) == "regex \\[EMAIL]"


@pytest.mark.parametrize("user", ["carol", "dev_ops.2"])
def test_windows_home_path_in_json_text_inside_a_json_string_is_redacted(user: str) -> None:
    # JSON text (a tool's output) held in a JSON string: each backslash of C:\Users\x is written four times
    inner = json.dumps({"cwd": f"C:\\Users\\{user}\\proj"})
    out = get_redactor().redact(json.dumps({"content": inner}))
    assert json.loads(json.loads(out)["content"]) == {"cwd": "C:\\Users\\[PATH_USER]\\proj"}


@pytest.mark.parametrize("user", ["René", "Zoë", "Łukasz", "田中"])
def test_home_path_user_with_non_ascii_letters_in_json_text_inside_a_json_string_is_redacted(user: str) -> None:
    # json.dumps writes é as \u00e9; in JSON text held in a JSON string that is \\u00e9, which the plain view keeps as
    # written (an escaped backslash and "u00e9"): before, the name ended at the backslash and its last letters stayed
    # (C:\Users\[PATH_USER]é), a name that starts with one was not found at all
    r = get_redactor()
    inner = json.dumps({"cwd": f"C:\\Users\\{user}\\proj", "home": f"/home/{user}/x", "dir": f"-Users-{user}-x"})
    expected = {"cwd": "C:\\Users\\[PATH_USER]\\proj", "home": "/home/[PATH_USER]/x", "dir": "-Users-[PATH_USER]-x"}
    assert json.loads(r.redact(inner)) == expected
    out = r.redact(json.dumps({"content": inner}))
    assert json.loads(json.loads(out)["content"]) == expected
    assert r.redact(out) == out


@pytest.mark.parametrize("text", ESCAPED_JSON_KEPT, ids=range(len(ESCAPED_JSON_KEPT)))
def test_json_text_with_unicode_escapes_and_nothing_to_find_is_kept(text: str) -> None:
    doc = json.dumps({"content": text})
    assert get_redactor().redact(doc) == doc
