"""The e-mail and password rules."""

from __future__ import annotations

import pytest

from productstore_auth.app.core.policy import normalise_email, password_problems


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  Ada.Lovelace@Example.COM ", "ada.lovelace@example.com"),
        ("a+shop@sub.example.co.uk", "a+shop@sub.example.co.uk"),
        # One script per part: Cyrillic, Greek, Japanese (Han with kana) are addresses too.
        ("Админ@Пример.РФ", "админ@пример.рф"),
        ("ελένη@παράδειγμα.gr", "ελένη@παράδειγμα.gr"),
        ("山田@例え.jp", "山田@例え.jp"),
        # Internal staff domains (devstack's administrator is admin@productstore.local).
        ("Admin@ProductStore.local", "admin@productstore.local"),
        # An IDNA domain is one address in either spelling.
        ("ada@xn--e1afmkfd.xn--p1ai", "ada@пример.рф"),
    ],
)
def test_addresses_are_trimmed_and_lower_cased(raw: str, stored: str) -> None:
    assert normalise_email(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada@@example.com",
        "a da@example.com",
        "ada@example.",
        "x" * 250 + "@example.com",
        # Hidden characters: NUL, other controls, bidi controls, a zero-width space.
        "ad\x00a@example.com",
        "ad\x1ba@example.com",
        "ad\u202ea@example.com",
        "ada@exam\u200bple.com",
        '"a b"@example.com',
        "ada@[192.0.2.1]",
        "ada@localhost",
        "ada@shop.test",
        "ada@shop.invalid",
        # Mixed-script look-alikes: a Cyrillic a (U+0430) in "admin", in "example", a Greek o.
        "\u0430dmin@example.com",
        "admin@ex\u0430mple.com",
        "admin@g\u03bfogle.com",
    ],
)
def test_non_addresses_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="e-mail address"):
        normalise_email(raw)


@pytest.mark.parametrize(
    ("password", "email", "name", "expected"),
    [
        ("correct horse battery", "ada@example.com", "Ada", []),
        ("Tr0ub4dor&3x", None, None, []),
        ("short", None, None, ["at least 10 characters"]),
        ("x" * 129, None, None, ["at most 128 characters", "single character"]),
        ("aaaaaaaaaa", None, None, ["single character"]),
        ("abcabcabcabc", None, None, ["at least 5 different characters"]),
        ("QWERTYUIOP", None, None, ["most common passwords"]),
        ("  padded passphrase", None, None, ["spaces"]),
        ("lovelace-forever", "lovelace@example.com", None, ["e-mail address"]),
        ("i am grace hopper!", "gh@example.com", "Grace", ["name"]),
        # Short names and local parts match random passwords by chance: not checked.
        ("zz-al-qq-17", "al@example.com", "Al", []),
    ],
)
def test_password_rules(
    password: str, email: str | None, name: str | None, expected: list[str]
) -> None:
    problems = password_problems(password, email=email, name=name)
    assert len(problems) == len(expected), problems
    for problem, fragment in zip(problems, expected, strict=True):
        assert fragment in problem
