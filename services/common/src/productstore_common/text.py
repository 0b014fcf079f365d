"""Free text people type (names, titles, descriptions): the characters no service stores.

Refused everywhere, with a 422 naming the field (request validation's problem+json):

- control characters: C0 (U+0000-U+001F, NUL included), DEL and C1 (U+007F-U+009F).
  A NUL truncates the value in C libraries and some logs; the others rewrite
  terminals, log viewers and CSV exports. Multi-line text keeps tab and line feed
  (a CR LF becomes a LF first, so text pasted from Windows passes).
- bidirectional controls: the embeddings, overrides and isolates (U+202A-U+202E,
  U+2066-U+2069), the marks (U+200E, U+200F, U+061C). They reorder what a reader
  sees without changing what is stored, the "Trojan Source" trick (CVE-2021-42574):
  a product name that displays as one thing and sorts, searches or is compared as
  another. Right-to-left scripts need none of them to display correctly.
- line and paragraph separators (U+2028, U+2029) in single-line text, and lone
  surrogates anywhere (not characters; they cannot be encoded as UTF-8).

Other format characters stay allowed: zero-width joiners are part of correct Indic
and emoji spelling. Look-alike letters from several scripts are a matter for
identifiers (the auth service's e-mail rule), not for prose.

Put the rule after a field's own constraints, so that surrounding whitespace is
stripped before the check (a name pasted with a trailing newline passes):

    Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), SINGLE_LINE]

`SingleLineText` and `MultiLineText` are the rule on a bare `str`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

__all__ = [
    "MULTI_LINE",
    "SINGLE_LINE",
    "MultiLineText",
    "SingleLineText",
    "unsafe_character",
]

_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SURROGATES = "\ud800-\udfff"
# C0 and C1 controls and DEL, bidi controls, surrogates; single-line text also
# refuses U+2028/U+2029 (they end a line in JavaScript and in Unicode-aware viewers).
_UNSAFE_SINGLE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_CONTROLS}{_SURROGATES}\u2028\u2029]")
_UNSAFE_MULTI = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_CONTROLS}{_SURROGATES}]")


def _kind(character: str) -> str:
    if re.fullmatch(f"[{_BIDI_CONTROLS}]", character):
        return "a bidirectional control"
    if character in "\n\r\u2028\u2029":
        return "a line break"
    if unicodedata.category(character) == "Cs":
        return "a lone surrogate"
    return "a control character"


def unsafe_character(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` may not be stored (the first unsafe character and where), or None."""
    match = (_UNSAFE_MULTI if multiline else _UNSAFE_SINGLE).search(value)
    if match is None:
        return None
    character = match.group()
    name = unicodedata.name(character, "")
    code = f"U+{ord(character):04X}" + (f" {name}" if name else "")
    return f"contains {_kind(character)} ({code}) at position {match.start() + 1}"


def _single_line(value: str) -> str:
    problem = unsafe_character(value)
    if problem is not None:
        # A custom error: a stable `type` for clients and no "Value error, " prefix.
        raise PydanticCustomError("unsafe_text", "{problem}", {"problem": problem})
    return value


def _multi_line(value: str) -> str:
    value = value.replace("\r\n", "\n")
    problem = unsafe_character(value, multiline=True)
    if problem is not None:
        raise PydanticCustomError("unsafe_text", "{problem}", {"problem": problem})
    return value


SINGLE_LINE = AfterValidator(_single_line)
"""The single-line rule, as `Annotated` metadata: last, after the field's constraints."""

MULTI_LINE = AfterValidator(_multi_line)
"""The multi-line rule, as `Annotated` metadata: last, after the field's constraints."""

SingleLineText = Annotated[str, SINGLE_LINE]
"""A name or title: no control characters (tab and line breaks included), no bidi controls."""

MultiLineText = Annotated[str, MULTI_LINE]
"""A description: like SingleLineText, but tab and line feed are kept (CR LF becomes LF)."""
