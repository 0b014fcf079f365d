"""Migration files: ``V0001__create_products.cql`` in one directory per service.

Each file holds CQL statements ended by ``;`` with ``--``, ``//`` and
``/* */`` comments allowed. Every file is read and split before anything is
applied, so a malformed file fails the run before it touches the cluster.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from productstore_common.cassandra.exceptions import MigrationFileError

FILE_NAME = re.compile(r"^V(?P<version>\d+)__(?P<description>[A-Za-z0-9][A-Za-z0-9_]*)\.cql$")
FILE_NAME_HINT = "V<number>__<description>.cql, e.g. V0001__create_products.cql"

_BATCH_START = re.compile(r"^BEGIN\s+(?:(?:UNLOGGED|COUNTER)\s+)?BATCH\b", re.IGNORECASE)
_BATCH_END = re.compile(r"\bAPPLY\s+BATCH$", re.IGNORECASE)


@dataclass(frozen=True)
class CqlStatement:
    text: str
    line: int  # 1-based line of the statement's first character in its file


@dataclass(frozen=True)
class MigrationScript:
    version: int
    description: str
    path: Path
    checksum: str  # sha256 hex of the file's text with normalised line ends
    statements: tuple[CqlStatement, ...]

    @property
    def name(self) -> str:
        return self.path.name


def split_statements(text: str, source: str = "<cql>") -> list[CqlStatement]:
    """Split a CQL script at top-level ``;``, dropping comments.

    ``;`` inside 'strings', "quoted identifiers", $$bodies$$ and comments does
    not split; a BEGIN BATCH ... APPLY BATCH block stays one statement.
    """
    pieces: list[CqlStatement] = []
    current: list[str] = []
    start_line = 0  # line of the first non-blank character of `current`; 0 = none yet
    line = 1
    i = 0
    while i < len(text):
        chunk, kind = _next_token(text, i, f"{source}:{line}")
        i += len(chunk)
        if kind == "end":
            statement = "".join(current).strip()
            if statement:
                pieces.append(CqlStatement(statement, start_line))
            current.clear()
            start_line = 0
        elif kind == "comment":
            current.append(" " if chunk.startswith("/*") else "")  # keeps tokens apart
        else:
            if not start_line and not chunk.isspace():
                start_line = line
            current.append(chunk)
        line += chunk.count("\n")
    statement = "".join(current).strip()
    if statement:
        pieces.append(CqlStatement(statement, start_line))
    return _join_batches(pieces, source)


def _next_token(text: str, i: int, where: str) -> tuple[str, str]:
    """The token starting at ``i`` and its kind: end (``;``), comment, literal or char."""
    char, pair = text[i], text[i : i + 2]
    if char == ";":
        return char, "end"
    if pair in ("--", "//"):
        end = text.find("\n", i)  # the newline itself stays in the statement
        return (text[i:] if end == -1 else text[i:end]), "comment"
    if pair == "/*":
        end = text.find("*/", i + 2)
        if end == -1:
            raise MigrationFileError(f"{where}: unterminated /* comment")
        return text[i : end + 2], "comment"
    if pair == "$$":
        end = text.find("$$", i + 2)
        if end == -1:
            raise MigrationFileError(f"{where}: unterminated $$ string")
        return text[i : end + 2], "literal"
    if char in ("'", '"'):
        end = _closing_quote(text, i)
        if end == -1:
            what = "string" if char == "'" else "quoted identifier"
            raise MigrationFileError(f"{where}: unterminated {what}")
        return text[i : end + 1], "literal"
    return char, "char"


def _closing_quote(text: str, start: int) -> int:
    """Index of the quote closing the literal opened at ``start``; doubled quotes escape."""
    quote = text[start]
    i = start + 1
    while True:
        end = text.find(quote, i)
        if end == -1:
            return -1
        if text[end + 1 : end + 2] == quote:
            i = end + 2
            continue
        return end


def _join_batches(pieces: list[CqlStatement], source: str) -> list[CqlStatement]:
    statements: list[CqlStatement] = []
    batch: list[CqlStatement] = []
    for piece in pieces:
        if not batch and not _BATCH_START.match(piece.text):
            statements.append(piece)
            continue
        batch.append(piece)
        if _BATCH_END.search(piece.text):
            statements.append(CqlStatement("; ".join(p.text for p in batch), batch[0].line))
            batch = []
    if batch:
        raise MigrationFileError(f"{source}:{batch[0].line}: BEGIN BATCH without APPLY BATCH")
    return statements


def checksum(text: str) -> str:
    # Line ends normalised: a checkout with CRLF must not look like an edit.
    return hashlib.sha256(text.replace("\r\n", "\n").encode()).hexdigest()


def load_script(path: Path) -> MigrationScript:
    match = FILE_NAME.match(path.name)
    if match is None:
        raise MigrationFileError(f"{path}: not a migration file name; expected {FILE_NAME_HINT}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MigrationFileError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from exc
    statements = split_statements(text, source=str(path))
    if not statements:
        raise MigrationFileError(f"{path}: no CQL statement in the file")
    return MigrationScript(
        version=int(match["version"]),
        description=match["description"].replace("_", " "),
        path=path,
        checksum=checksum(text),
        statements=tuple(statements),
    )


def load_scripts(directory: Path) -> list[MigrationScript]:
    """Every migration of ``directory``, by version; any bad file fails the whole load.

    Other files (a README) are ignored, but a ``.cql`` file with a wrong name is
    an error: a typo must not silently skip a migration.
    """
    if not directory.is_dir():
        raise MigrationFileError(f"{directory}: migrations directory not found")
    scripts = [load_script(path) for path in sorted(directory.glob("*.cql")) if path.is_file()]
    if not scripts:
        raise MigrationFileError(f"{directory}: no migration files ({FILE_NAME_HINT})")
    by_version: dict[int, MigrationScript] = {}
    for script in scripts:
        if script.version <= 0:
            raise MigrationFileError(f"{script.path}: versions start at 1")
        other = by_version.setdefault(script.version, script)
        if other is not script:
            raise MigrationFileError(
                f"{directory}: {other.name} and {script.name} have the same version "
                f"{script.version}"
            )
    return [by_version[version] for version in sorted(by_version)]
