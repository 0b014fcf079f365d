"""Rules for what users type: e-mail addresses and passwords.

Pure functions, used by the request models (so violations are 422 problems
naming the field) and by the first-admin settings.
"""

from __future__ import annotations

import re

MAX_EMAIL_LENGTH = 254  # RFC 5321 path limit
MIN_PASSWORD_LENGTH = 10
# argon2 hashes any length, but a megabyte "password" is a denial-of-service vector.
MAX_PASSWORD_LENGTH = 128
MIN_DISTINCT_CHARACTERS = 5

# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is
# proven by a confirmation mail, never by a regular expression.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")

# The most common passwords that pass the length rule (breach-corpus top entries).
_COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "12345678910",
        "123456789a",
        "0987654321",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "abcdefghij",
        "abcd123456",
        "qwertyuiop",
        "qwerty1234",
        "qwerty123456",
        "asdfghjkl1",
        "zxcvbnm123",
        "password12",
        "password123",
        "password1234",
        "passw0rd123",
        "iloveyou12",
        "letmein123",
        "welcome123",
        "admin12345",
        "administrator",
        "changeme123",
        "football123",
        "baseball123",
        "princess123",
        "sunshine123",
        "monkey1234",
        "dragon1234",
        "trustno1234",
    }
)


def normalise_email(value: str) -> str:
    """The address in the form we store and compare: trimmed and lower-cased.

    Raises ValueError with a message for the user when it is not an address.
    """
    email = value.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH:
        raise ValueError(f"an e-mail address has at most {MAX_EMAIL_LENGTH} characters")
    if not _EMAIL.match(email):
        raise ValueError("is not an e-mail address (expected name@example.com)")
    return email


def password_problems(
    password: str, *, email: str | None = None, name: str | None = None
) -> list[str]:
    """Every rule `password` breaks, as sentences for the user; empty when acceptable."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"use at most {MAX_PASSWORD_LENGTH} characters")
    if password and password.strip() != password:
        problems.append("do not start or end it with spaces")
    distinct = len(set(password))
    if distinct == 1 and password:
        problems.append("do not repeat a single character")
    elif distinct < MIN_DISTINCT_CHARACTERS:
        problems.append(f"use at least {MIN_DISTINCT_CHARACTERS} different characters")
    lowered = password.lower()
    if lowered in _COMMON_PASSWORDS:
        problems.append("this is one of the most common passwords; choose another")
    for label, value in (("e-mail address", _local_part(email)), ("name", name)):
        # Short names ("Al") occur inside random passwords by chance.
        if value and len(value.strip()) >= 4 and value.strip().lower() in lowered:
            problems.append(f"do not include your {label}")
    return problems


def _local_part(email: str | None) -> str | None:
    return email.split("@", 1)[0] if email else None
