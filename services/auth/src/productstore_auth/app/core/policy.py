"""Rules for what users type: e-mail addresses and passwords.

Pure functions, used by the request models (so violations are 422 problems
naming the field) and by the first-admin settings.
"""

from __future__ import annotations

import email_validator
import regex

# email-validator refuses special-use domains (RFC 6761); its documented way to allow
# one is this list. `.local` stays allowed: devstack's administrator and many stores'
# staff addresses live on it, and without mail sending an address needs no public DNS.
if "local" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
    email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("local")

MAX_EMAIL_LENGTH = 254  # RFC 5321 path limit
MIN_PASSWORD_LENGTH = 10
# argon2 hashes any length, but a megabyte "password" is a denial-of-service vector.
MAX_PASSWORD_LENGTH = 128
MIN_DISTINCT_CHARACTERS = 5

# Unicode scripts (ISO 15924 codes, the values of the Script property in Unicode 17),
# for the mixed-script rule below. A letter of a script missing here belongs to
# none of them and is refused: a newer Unicode can make the rule stricter, never laxer.
_SCRIPT_CODES = """
Adlm Aghb Ahom Arab Armi Armn Avst Bali Bamu Bass Batk Beng Berf Bhks Bopo Brah Brai Bugi
Buhd Cakm Cans Cari Cham Cher Chrs Copt Cpmn Cprt Cyrl Deva Diak Dogr Dsrt Dupl Egyp Elba
Elym Ethi Gara Geor Glag Gong Gonm Goth Gran Grek Gujr Gukh Guru Hang Hani Hano Hatr Hebr
Hira Hluw Hmng Hmnp Hung Ital Java Jurc Kali Kana Kawi Khar Khmr Khoj Kits Knda Krai Kthi
Lana Laoo Latn Lepc Limb Lina Linb Lisu Lyci Lydi Mahj Maka Mand Mani Marc Medf Mend Merc
Mero Mlym Modi Mong Mroo Mtei Mult Mymr Nagm Nand Narb Nbat Newa Nkoo Nshu Ogam Olck Onao
Orkh Orya Osge Osma Ougr Palm Pauc Pcun Perm Phag Phli Phlp Phnx Plrd Prti Rjng Rohg Runr
Samr Sarb Saur Seal Sgnw Shaw Shrd Sidd Sidt Sind Sinh Sogd Sogo Sora Soyo Sund Sunu Sylo
Syrc Tagb Takr Tale Talu Taml Tang Tavt Tayo Telu Tfng Tglg Thaa Thai Tibt Tirh Tnsa Todr
Tols Toto Tutg Ugar Vaii Vith Wara Wcho Xpeo Xsux Yezi Yiii Zanb
"""
_SCRIPTS = _SCRIPT_CODES.split()
# UTS #39's augmented script sets: the writing systems that mix scripts by nature
# (Japanese, Korean, Han with Bopomofo) count as one script.
_WRITING_SYSTEMS = (("Hani", "Hira", "Kana"), ("Hani", "Hang"), ("Hani", "Bopo"))
# One pattern per script or writing system: text whose every character is of it (by
# Script_Extensions, so a Japanese prolonged-sound mark counts as Hiragana and as
# Katakana) or of no particular script (Common: digits, punctuation; Inherited:
# combining marks).
_SINGLE_SCRIPT = tuple(
    regex.compile("[" + "".join(rf"\p{{scx={s}}}" for s in scripts) + r"\p{sc=Zyyy}\p{sc=Zinh}]*")
    for scripts in (*((script,) for script in _SCRIPTS), *_WRITING_SYSTEMS)
)

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


def single_script(text: str) -> bool:
    """Whether all letters of `text` are of one Unicode script (UTS #39's "single
    script": Common and Inherited characters go with any script)."""
    return text.isascii() or any(pattern.fullmatch(text) for pattern in _SINGLE_SCRIPT)


def normalise_email(value: str) -> str:
    """The address in the form we store and compare, or ValueError saying why not.

    The syntax, the unsafe-character rules (controls, bidi and other format
    characters, unassigned code points) and the normalisation (NFC; the domain
    IDNA 2008-checked, lower-cased and in its Unicode form, so `xn--` and Unicode
    spellings are one address) are email-validator's; no DNS look-up is made.
    Then the whole address is lower-cased (accounts are case-insensitive), and the
    local part and each domain label must be single-script, so an address with a
    Cyrillic a (U+0430) in `admin@` cannot pose as `admin@`.
    """
    text = value.strip()
    if len(text) > MAX_EMAIL_LENGTH:
        raise ValueError(f"an e-mail address has at most {MAX_EMAIL_LENGTH} characters")
    try:
        checked = email_validator.validate_email(
            text, check_deliverability=False, allow_smtputf8=True
        )
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"is not an e-mail address (expected name@example.com): {exc}") from None
    local, domain = checked.local_part.lower(), checked.domain.lower()
    for part, what in (
        (local, "the part before the @"),
        *((label, "the domain") for label in domain.split(".")),
    ):
        if not single_script(part):
            raise ValueError(
                f"is not an acceptable e-mail address: {what} mixes letters of different "
                f"scripts ({part!r}), as look-alike addresses do"
            )
    return f"{local}@{domain}"


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
