"""Secrets and personal data in the forms users paste (env files, curl commands, connection strings, e-mail
addresses in other scripts), each of which leaked whole or in part, and the code numbers and hashes next to them
that must stay."""

from __future__ import annotations

import json

import pytest

from codecensus.redact import get_redactor

LEAKED = [
    # e-mail addresses with letters outside ASCII: the local part's accented letters and everything before them
    # stayed ("josé.garcí[EMAIL]"), Cyrillic, Greek and Japanese addresses were not found at all
    ("contact: josé.garcía@ejemplo.es", "contact: [EMAIL]"),
    ("email: müller@beispiel.de today", "email: [EMAIL] today"),
    ("почта: иван.петров@пример.рф", "почта: [EMAIL]"),
    ("Ελένη@παράδειγμα.ελ wrote", "[EMAIL] wrote"),
    ("mail me at 田中@例え.jp", "mail me at [EMAIL]"),
    ("請聯繫田中@例え.jp謝謝", "[EMAIL]謝謝"),
    ("name@domain.xn--p1ai", "[EMAIL]"),
    # connection strings: no user name (redis://:pw@), an unescaped @ in the password
    ("REDIS_URL=redis://:Qz7Wq4Xk2M9pL3@redis.internal:6379/0", "REDIS_URL=redis://:[URL_TOKEN]@redis.internal:6379/0"),
    ("DATABASE_URL=postgresql://app_user:p@ss:w0rd!@10.0.0.5/app", "DATABASE_URL=postgresql://app_user:[URL_TOKEN]@10.0.0.5/app"),
    # curl / httpie user:password, the MySQL clients' -pPASSWORD
    ("curl -u admin:S3cr3tP4ss https://api.example.io", "curl -u admin:[SECRET] https://api.example.io"),
    ("curl --user 'admin:S3cr3tP4ss' https://api.example.io", "curl --user 'admin:[SECRET]' https://api.example.io"),
    ("curl -U proxyuser:Pr0xyPass https://x.io", "curl -U proxyuser:[SECRET] https://x.io"),
    ("http -a bob:Hunter2x example.org", "http -a bob:[SECRET] example.org"),
    ("mysql -u root -pS3cr3tP4ss -h db.example.com", "mysql -u root -p[SECRET] -h db.example.com"),
    ("mysqldump -uroot -p'S3cr3t!x' app > dump.sql", "mysqldump -uroot -p'[SECRET]' app > dump.sql"),
    # Authorization with a scheme other than Bearer/Basic, or none, or as a dict entry
    ("curl -H 'Authorization: Api-Key Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5' https://x.io",
     "curl -H 'Authorization: Api-Key [SECRET]' https://x.io"),
    ("Authorization: SSWS 00Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5", "Authorization: SSWS [SECRET]"),
    ('headers["Authorization"] = "Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5"', 'headers["Authorization"] = "[SECRET]"'),
    # session cookies (a live login) in a Cookie or Set-Cookie header, curl -b
    ("curl -b 'sessionid=Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5' https://x.io", "curl -b 'sessionid=[SECRET]' https://x.io"),
    ("Cookie: sessionid=Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5; lang=en", "Cookie: sessionid=[SECRET]; lang=en"),
    ("Set-Cookie: connect.sid=s%3AQz7Wq4Xk2M9pL3rTv8Yb1Nc6.Hd0Jf5Gs2Ka9QzWq4Xk2M9pL3; Path=/; HttpOnly",
     "Set-Cookie: connect.sid=[SECRET]; Path=/; HttpOnly"),
    ("Cookie: _gh_sess=Qz7Wq4Xk2M9pL3rTv8Yb1Nc6%2BHd0Jf5; logged_in=yes", "Cookie: _gh_sess=[SECRET]; logged_in=yes"),
    ("JSESSIONID=8D3F9A1C2E7B8D4F6A0C1E2D3B4A5F6E", "JSESSIONID=[SECRET]"),
    # a registry or SSH login's password after -p
    ("docker login -u bob -p S3cr3tP4ss registry.io", "docker login -u bob -p [SECRET] registry.io"),
    ("sshpass -p 'S3cr3tP4ss' ssh root@host", "sshpass -p '[SECRET]' ssh root@host"),
    ("az login --service-principal -u x -p S3cr3tP4ss --tenant t", "az login --service-principal -u x -p [SECRET] --tenant t"),
    # Rails' secret_key_base (the keyword did not end the key name)
    ("SECRET_KEY_BASE=3f9a1c2e7b8d4f6a0c1e2d3b4a5f6e7d8c9b0a1f3f9a1c2e7b8d4f6a0c1e2d3b", "SECRET_KEY_BASE=[SECRET]"),
]

KEPT = [
    "commit 3f9a1c2e7b8d4f6a0c1e2d3b4a5f6e7d8c9b0a1f\ngit cherry-pick a0c1e2d3b4a5",
    "id: 550e8400-e29b-41d4-a716-446655440000, request_id=550e8400e29b41d4a716446655440000",
    "version 1.2.3.4 released; numpy==1.26.4; node v20.11.1; python 3.11.7",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "timestamp 1700000000000, MAX_INT = 9223372036854775807, offset 0x7fff5fbff8a0",
    "npm i @types/node@18.2.0 && pkg@1.2.3; icon@2x.png; git@github.com:o/r.git; user@localhost",
    "https://medium.com/@alice/post and http://localhost:3000/@user/profile",
    "docker run -u 1000:1000 img; docker run --user root:root img; git push -u origin main; sort -u a:b",
    "mysql -u root -p; mysql -u app -papp db; mysql -u root -p$MYSQL_PWD",
    "curl -u $USER:$PASS https://x.io",
    "authorization: required_permission_check_v2; Authorization: Bearer ${TOKEN}",
    "config.secret_key_base = ENV['SECRET_KEY_BASE']",
    "session = requests.Session(); sid=os.getsid(0); session=my_session_name_2024_backup; Cookie: theme=dark",
    "ssh -p 2222 host; docker run -p 8080:80 img; docker login -u bob -p $PASS; mkdir -p build/out",
]


@pytest.mark.parametrize(("text", "expected"), LEAKED, ids=range(len(LEAKED)))
def test_pasted_secret_or_address_is_redacted(text: str, expected: str) -> None:
    r = get_redactor()
    assert r.redact(text) == expected
    doc = json.dumps({"content": "$ cat notes\n" + text}, ensure_ascii=False)  # as JSON text too
    assert json.loads(r.redact(doc)) == {"content": "$ cat notes\n" + expected}


@pytest.mark.parametrize("text", KEPT, ids=range(len(KEPT)))
def test_code_numbers_hashes_and_commands_are_kept(text: str) -> None:
    assert get_redactor().redact(text) == text


def test_address_starting_a_line_in_json_text_keeps_the_json_valid() -> None:
    """The address took the ``n`` of the ``\\n`` escape before it as its first letter: ``"x\\[EMAIL]"``, which is
    no longer JSON (and would name ``nalice`` as a person)."""
    doc = json.dumps({"c": "questions to:\nalice.w@example.org\nnancy@example.org"})
    assert json.loads(get_redactor().redact(doc)) == {"c": "questions to:\n[EMAIL]\n[EMAIL]"}
