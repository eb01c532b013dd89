"""Passphrases with spaces, secrets given to ``gh secret set`` and ``openssl``, lower-case IBANs, UUID session
cookies, a US social security number after its cue and a spaced card wrapped at a terminal's width, each of which
stayed in the text, and the prose, templates and code numbers next to them that must stay."""

from __future__ import annotations

import json

import pytest

from codecensus.redact import get_redactor

UUID = "550e8400-e29b-41d4-a716-446655440000"
WRAP = "x" * 75 + " "  # with the 4 digits after it the line is 80 columns: a terminal's wrap follows

LEAKED = [
    # quoted passphrases under a secret key: any space made the value "not a secret"
    ('SESSION_SECRET="correct horse battery staple"', 'SESSION_SECRET="[SECRET]"'),
    ('password: "my long pass phrase"', 'password: "[SECRET]"'),
    ("password: correct-horse-battery", "password: [SECRET]"),
    ("password: Tr0ub4dor-x then log in", "password: [SECRET] then log in"),
    ("export DB_PASSWORD='two words'", "export DB_PASSWORD='[SECRET]'"),
    ('{"passphrase": "Tr0ub4dor and 3"}', '{"passphrase": "[SECRET]"}'),
    # a lower-case passphrase holding a word that names a secret (it made the value a label)
    ('password="my secret horse battery"', 'password="[SECRET]"'),
    ("secret: 'secret horse battery staple'", "secret: '[SECRET]'"),
    # gh secret set NAME --body/-b VALUE; openssl -k PASS / -pass pass:PASS
    ("gh secret set API_TOKEN --body Qz7Wq4Xk2M9pL3", "gh secret set API_TOKEN --body [SECRET]"),
    ('gh secret set DEPLOY_KEY -R o/r -b "Qz7Wq4Xk2M9pL3"', 'gh secret set DEPLOY_KEY -R o/r -b "[SECRET]"'),
    ("openssl enc -aes-256-cbc -k S3cr3tP4ss -in a -out b", "openssl enc -aes-256-cbc -k [SECRET] -in a -out b"),
    ("openssl enc -d -aes-256-cbc -pass pass:S3cr3tP4ss -in a", "openssl enc -d -aes-256-cbc -pass pass:[SECRET] -in a"),
    ("openssl pkcs12 -export -passout pass:'S3cr3t P4ss' -out k.p12", "openssl pkcs12 -export -passout pass:'[SECRET]' -out k.p12"),
    # an IBAN typed in lower case
    ("iban de89 3704 0044 0532 0130 00 ok", "iban [IBAN] ok"),
    # a UUID session id sent as a cookie (too few letters for the random-key test)
    (f"Cookie: session_id={UUID}; lang=en", "Cookie: session_id=[SECRET]; lang=en"),
    (f"https://x.io/app;jsessionid={UUID}", "https://x.io/app;jsessionid=[SECRET]"),
    (f"curl -b sessionid={UUID} https://x.io", "curl -b sessionid=[SECRET] https://x.io"),
    # a US social security number after its cue
    ("SSN: 123-45-6789", "SSN: [SSN]"),
    ("my ssn is 123-45-6789, thanks", "my ssn is [SSN], thanks"),
    ("social security number 123 45 6789", "social security number [SSN]"),
    ("applicant.ssn = '123456789'", "applicant.ssn = '[SSN]'"),
    # ... after "is:", "was" (the cues' separator: before, these stayed or were taken for a phone number)
    ("SSN is: 123-45-6789", "SSN is: [SSN]"),
    ("her social security number was 123-45-6789", "her social security number was [SSN]"),
    # a spaced card wrapped at 80 columns at the space after its first group: the first group stayed, the rest
    # was taken for a phone number
    (WRAP + "4532\n0151 1283 0366 done", WRAP + "[CARD] done"),
    (WRAP + "4532\n 0151 1283 0366 done", WRAP + "[CARD] done"),
    (WRAP + "4532\r\n0151 1283 0366 done", WRAP + "[CARD] done"),
    # a spaced card wrapped after its first group with the space kept at the line end (a word wrap, any width):
    # the first group stayed
    ("card 4111 \n1111 1111 1111 exp 12/29", "card [CARD] exp 12/29"),
    ("card: 4532 \r\n0151 1283 0366 here", "card: [CARD] here"),
    ("paid 4532 0151 \n1283 0366 ok", "paid [CARD] ok"),
    # a short or non-random credential after Bearer (the rule wanted 20+ characters with a digit)
    ("Authorization: Bearer mytoken", "Authorization: Bearer [SECRET]"),
    ("curl -H 'Authorization: Bearer mytoken' https://x.io", "curl -H 'Authorization: Bearer [SECRET]' https://x.io"),
    ('{"Authorization": "Bearer abc"}', '{"Authorization": "Bearer [SECRET]"}'),
    ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [SECRET]"),
    ("Bearer supersecretvalue", "Bearer [SECRET]"),
    # a lower-case bearer: its credential alone ending its line (8+ characters, a letter and a digit), or after a
    # header in a JS template string (before, both stayed)
    ("bearer xyz123token", "bearer [SECRET]"),
    ("headers: { authorization: `bearer xyz123token` }", "headers: { authorization: `bearer [SECRET]` }"),
    # a double-quoted command-line password (also in JSON text, below)
    ('mysql -u root -p"S3cr3tPw9" mydb', 'mysql -u root -p"[SECRET]" mydb'),
    ('docker login -u bob -p "S3cr3tP4ss" reg.io', 'docker login -u bob -p "[SECRET]" reg.io'),
    ('curl --password "S3cr3tP4ss" https://x.io', 'curl --password "[SECRET]" https://x.io'),
    # a secret said in prose: "<name> is/was/are/were/'s <value>" (before, all stayed; only "password: x" was taken)
    ("my password is: hunter2xyz", "my password is: [SECRET]"),
    ("password is hunter2xyz", "password is [SECRET]"),
    ("the password was: Tr0ub4dor&3", "the password was: [SECRET]"),
    ("passwords are: hunter2xyz", "passwords are: [SECRET]"),
    ("the db password's S3cr3t!x", "the db password's [SECRET]"),
    ("The password is hunter2.", "The password is [SECRET]."),
    ("PASSWORD IS Xy12abc!", "PASSWORD IS [SECRET]"),
    ("the default password is admin123 and the user is bob", "the default password is [SECRET] and the user is bob"),
    ("his password was 12345678", "his password was [SECRET]"),
    ("the password was changed to Xy12abc!", "the password was changed to [SECRET]"),
    ("pwd is Abc12345", "pwd is [SECRET]"),
    ("the passphrase is correct-horse-9", "the passphrase is [SECRET]"),
    ('the password is "hunter 2 xyz"', 'the password is "[SECRET]"'),
    ("password is 'S3cret!'", "password is '[SECRET]'"),
    ("The password is: `hunter2xyz`.", "The password is: `[SECRET]`."),
    ("the PIN is 4821", "the PIN is [SECRET]"),
    ("my pin code is 482193, ok", "my pin code is [SECRET], ok"),
    ("api key is abc123def456ghi789", "api key is [SECRET]"),
    ("the access token was ghx_9aZ8bY7cX6dW5eV4", "the access token was [SECRET]"),
    ("secret is Zq9!xT2w", "secret is [SECRET]"),
    ("credentials are admin / P4ssw0rd!", "credentials are admin / [SECRET]"),
    ("creds are admin:S3cret99", "creds are [SECRET]"),
    # ... one dictionary word after a first-person cue or "set to" (before, all stayed: an unquoted word was never a
    # password)
    ("my password is sunshine", "my password is [SECRET]"),
    ("My password is Sunshine.", "My password is [SECRET]."),
    ("password is set to dragon", "password is set to [SECRET]"),
    ("our wifi password was monkey, the user is bob", "our wifi password was [SECRET], the user is bob"),
    ("my new password is football and my user is bob", "my new password is [SECRET] and my user is bob"),
    # ... a noun that ends like a state word (before, -ant and -ent words were all taken for one, like a word whose
    # -ing is no ending, its stem without a vowel)
    ("my password is elephant", "my password is [SECRET]"),
    ("our wifi password was student.", "our wifi password was [SECRET]."),
    ("my password is spring", "my password is [SECRET]"),
    # ... a noun or a given name ending in -ly or -ing (before, taken for an adverb or a participle: all stayed)
    ("my password is butterfly", "my password is [SECRET]"),
    ("our wifi password was blessing.", "our wifi password was [SECRET]."),
    ("my password is darling and my user is bob", "my password is [SECRET] and my user is bob"),
    ("my password is kelly", "my password is [SECRET]"),
    ("My password is Emily.", "My password is [SECRET]."),
    # ... an adjective in -ly that is one of the commonest passwords (before, taken for what the password is like)
    ("my password was lovely", "my password was [SECRET]"),
    ("our wifi password is lovely.", "our wifi password is [SECRET]."),
    # ... and the others of RockYou's first thousand with a state word's ending, and a given name ending in -ed
    ("my password is beautiful", "my password is [SECRET]"),
    ("My password was Precious.", "My password was [SECRET]."),
    ("our wifi password is blessed", "our wifi password is [SECRET]"),
    ("my password is gorgeous and my user is bob", "my password is [SECRET] and my user is bob"),
    ("my password is ahmed", "my password is [SECRET]"),
]

# a password said in Spanish, French, German, Portuguese, Italian, Russian, Japanese, Chinese and Korean (before, all
# stayed: the prose_secret rule reads English only)
INTL_LEAKED = [
    ("mi contraseña es Xk9mPq2z", "mi contraseña es [SECRET]"),
    ("la clave es Xk9mPq2z4w, ¿vale?", "la clave es [SECRET], ¿vale?"),
    ("mon mot de passe est Xk9mPq2z", "mon mot de passe est [SECRET]"),
    ("Mot de passe : «Xk9mPq2z»", "Mot de passe : «[SECRET]»"),
    ("mein Passwort ist Xk9mPq2z.", "mein Passwort ist [SECRET]."),
    ("das Kennwort lautet: Xk9mPq2z", "das Kennwort lautet: [SECRET]"),
    ("das Passwort für den Server ist 84736251", "das Passwort für den Server ist [SECRET]"),
    ("minha senha é Xk9mPq2z", "minha senha é [SECRET]"),
    ("la mia password è Xk9mPq2z", "la mia password è [SECRET]"),
    ("パスワードはXk9mPq2zです", "パスワードは[SECRET]です"),
    ("パスワード：Xk9mPq2z", "パスワード：[SECRET]"),
    ("パスワードは「Xk9mPq2z」です。", "パスワードは「[SECRET]」です。"),
    ("暗証番号は4821です", "暗証番号は[SECRET]です"),
    ("密码是Xk9mPq2z", "密码是[SECRET]"),
    ("我的密码：Xk9mPq2z。", "我的密码：[SECRET]。"),
    ("비밀번호는 Xk9mPq2z입니다", "비밀번호는 [SECRET]입니다"),
    ("пароль: Xk9mPq2z", "пароль: [SECRET]"),
    ("мой пароль Xk9mPq2z", "мой пароль [SECRET]"),
    ("пароль от почты — Xk9mPq2z", "пароль от почты — [SECRET]"),
]

KEPT = [
    # prose, messages, placeholders and templates under a secret key
    "password: see the vault",
    "token: none",
    'token: "none"',
    "password: <your password>",
    'password: "<your password>"',
    'password: "see the vault"',
    'password: "${DB_PASS}"',
    'api_key: "{{ api_key }}"',
    'password: "Password is required"',
    'errors.password = "Must be at least 8 characters"',
    'label password: "Enter your password"',
    'secret: "Mot de passe"',
    'token = "hello world"',
    'client_secret: "%(secret)s here"',
    # labels and messages naming the secret: capitalised, or two words
    'api_key: "Secret Key"',
    'confirm_password: "Confirm new password"',
    'password: "token expired"',
    'secret_key: "secret key"',
    # lower-case labels of 3 words ending with the field's name (an i18n file, a form): SECRET before
    '{"confirm_password": "confirm new password", "old_password": "current account password"}',
    "password: 'repeat new password'; api_key: \"current api key\"; newPassword: 'retype your password'",
    # ... and a sentence after a label: its first, hyphened word was a SECRET before
    "Confirm new password: re-enter it\npassword: must-match the first one",
    # commands whose flags are no password
    'gh secret set X --body "$TOKEN"; gh secret list; gh pr create -b "Fix the bug in the parser"',
    "openssl enc -pass env:PASS -k $PASS; openssl s_client -connect host:443; openssl rand -hex 32",
    # hashes, UUIDs, versions, ports and numbers of logs
    "commit de893704004405320130 and de89 3704 ab12 fix",
    f"log: session_id={UUID} user=3; request_id={UUID}; sid={UUID}",
    "order 123-45-6789 shipped; part no 123-45-6789; ssn_check: 0",
    "version 1.2.3; docker run -p 8080:80 img; took 4532 ms",
    "x" * 60 + " total 4532\n1283 rows written",
    # numbers after a trailing space that make no card (Luhn fails; too few digits; a date on the next line)
    "card 4111 \n1111 1111 1112 exp 12/29",
    "total 4532 \n1283 rows written",
    "rows 4111 \n2026-01-02 12:00:01 done",
    # prose about bearers and the scheme, references and placeholders after it
    "the bearer of this letter",
    "use a Bearer token in the header; Bearer authentication\nBearer tokens are sent",
    "Authorization: Bearer $TOKEN",
    "Authorization: Bearer <token>",
    "Authorization: Bearer YOUR_TOKEN",
    'headers = {"Authorization": f"Bearer {token}"}',
    'print("Bearer " + tok); the basic idea',
    "bearer abc12345 is sent; bearer sha256; bearer 12345678\nuse bearer v2 auth\nbearer your_token_1",
    "headers: { Authorization: `Bearer ${token}` }",
    # sentences about a secret (not its value): words, messages, lengths, encodings, files, references, placeholders
    "the password is required; password is too short; the password is stored in the vault",
    "your password is incorrect. token is expired; the key is to keep it simple; secret is out",
    "the password is admin; the password is still wrong; Password is case-sensitive; it is auto-generated",
    "the password is 8 characters; the password is at least 8 characters; the PIN is 1234 digits; pin is 123",
    "the password is 123; the password's length is 8; the token was 3600s; the token is valid for 1h",
    "the secret is base64-encoded; the key is RSA-2048; the secret is HMAC-SHA256; the key is 32-bytes",
    "the private key is id_ed25519; the private key is server-2024.pem; the api key is stored in .env.local",
    "token is None; Password is: ********; the password is [REDACTED]; the token is <your-token>",
    "the password is `process.env.DB_PASSWORD`; the api key is `config.apiKey`; the api key is sk-...",
    "the secret key is SECRET_KEY; The access token is a JWT signed with RS256",
    # tokens of a language model, pins of a board
    "the token is 'Hello'; the EOS token is `<|endoftext|>`; the next token was 50256",
    "the LED pin is 13; the pin is GPIO2",
    # a label ending its line and a numbered list (the line break is joined where a value may be wrapped)
    "x" * 40 + " The secret is consistency:\n1. Use the same names\n2. Test it",
    "x" * 40 + " the secret is consistency:\\n1. Use the same names",
    "x" * 40 + " The secret is simple.\n1. Use the same names",
    # markdown's emphasis on a word, words joined by a slash
    "the token was **revoked**; the api key is optional/required; the token is _expired_",
    # ... in other languages: words, lengths, placeholders, a range of lengths, a value of another script
    "la contraseña es incorrecta; la contraseña es obligatoria; la clave es usar React; la contraseña es 8 caracteres",
    "das Passwort ist falsch. Das Kennwort lautet ${DB_PASSWORD}; Passwort: ********; Passwort ist erforderlich",
    "mon mot de passe est trop court; la mia password è sbagliata; minha senha é inválida",
    "密码是必填的。密码：6-20位。パスワードは8文字以上。パスワードはadminです。パスワードが間違っています",
    "비밀번호는 필수입니다. 비밀번호: 8자 이상. 暗証番号は123です",
    "пароль неверный; пароль: <ваш пароль>; мой пароль слишком простой",
    "la password e la chiave; the password è here",
    # ... one word that says what a password is like, or after no first-person cue
    "my password is required; my password is wrong; my password is incorrect; my password is expired",
    "my password is empty; my password is missing; my password is compromised; my password is long enough",
    "my password is probably wrong; my password is not working; the password is set to expire",
    "the password is sunshine; your password is weak; password is set to true",
    "my password is important; my password is different; my password is insufficient; my password is working",

    "my password is expiring; my password is only; my password was lonely; my password is changing",
    "my password is useless; my password is careless; my password is wonderful; my password was stolen",
]


@pytest.mark.parametrize(("text", "expected"), LEAKED, ids=range(len(LEAKED)))
def test_secret_or_number_is_redacted(text: str, expected: str) -> None:
    r = get_redactor()
    assert r.redact(text) == expected
    doc = json.dumps({"content": "$ cat notes\n" + text})  # as JSON text too
    assert json.loads(r.redact(doc)) == {"content": "$ cat notes\n" + expected}


@pytest.mark.parametrize(("text", "expected"), INTL_LEAKED, ids=range(len(INTL_LEAKED)))
def test_password_said_in_another_language_is_redacted(text: str, expected: str) -> None:
    r = get_redactor()
    assert r.redact(text) == expected
    # as JSON text written as UTF-8, and with json.dumps' default \\uXXXX escapes of every non-ASCII character
    # (contrase\\u00f1a, \\u30d1\\u30b9\\u30ef\\u30fc\\u30c9: before, none of the escaped ones was read)
    for ascii_only in (False, True):
        doc = json.dumps({"content": "$ cat notes\n" + text}, ensure_ascii=ascii_only)
        out = r.redact(doc)
        assert json.loads(out) == {"content": "$ cat notes\n" + expected}, ascii_only
        assert r.redact(out) == out


@pytest.mark.parametrize("text", KEPT, ids=range(len(KEPT)))
def test_prose_templates_and_code_numbers_are_kept(text: str) -> None:
    assert get_redactor().redact(text) == text


# JSON text inside a string (a tool's input or output pasted as text, a JSON document serialized into another):
# every quote is escaped, and the quoted-value rule read the key's \" as the end of the key and matched nothing
ESCAPED_JSON = [
    (r'{\"password\": \"hunter2xyz\", \"user\": \"bob\"}', r'{\"password\": \"[SECRET]\", \"user\": \"bob\"}'),
    (r'\"api_key\": \"Qz7Wq4Xk2M9pL3rT\"', r'\"api_key\": \"[SECRET]\"'),
    (r'\"passphrase\": \"Tr0ub4dor and 3\"', r'\"passphrase\": \"[SECRET]\"'),
    (json.dumps({"input": json.dumps({"password": "hunter2xyz"})}), json.dumps({"input": json.dumps({"password": "[SECRET]"})})),
    # a command's quoted argument with its quotes escaped (before, the \ before the quote ended the value)
    (r'gh secret set API_TOKEN -b \"Qz7Wq4Xk2M9pL3\"', r'gh secret set API_TOKEN -b \"[SECRET]\"'),
    (r'mysql -u root -p\"S3cr3tPw9\" mydb', r'mysql -u root -p\"[SECRET]\" mydb'),
    (r'openssl enc -aes-256-cbc -k \"S3cr3tP4ss\" -in a', r'openssl enc -aes-256-cbc -k \"[SECRET]\" -in a'),
    (r'curl --password \"S3cr3tP4ss\" x', r'curl --password \"[SECRET]\" x'),
]
ESCAPED_JSON_KEPT = [
    r'\"password\": \"see the vault\"',
    r'\"token\": \"none\"',
    r'\"password\": \"\"',
    r'\"api_key\": \"${API_KEY}\"',
    r'gh secret set X --body \"$TOKEN\"; gh pr create -b \"Fix the bug in the parser\"',
    r'mysql -u root -p\"$DB_PASS\" db',
]


@pytest.mark.parametrize(("text", "expected"), ESCAPED_JSON, ids=range(len(ESCAPED_JSON)))
def test_quoted_secret_in_escaped_json_text_is_redacted(text: str, expected: str) -> None:
    assert get_redactor().redact(text) == expected


@pytest.mark.parametrize("text", ESCAPED_JSON_KEPT, ids=range(len(ESCAPED_JSON_KEPT)))
def test_placeholders_in_escaped_json_text_are_kept(text: str) -> None:
    assert get_redactor().redact(text) == text
