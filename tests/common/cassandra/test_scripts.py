"""Migration files: CQL splitting and loading, checked before anything touches the cluster."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from productstore_common.cassandra import MigrationFileError
from productstore_common.cassandra.scripts import load_scripts, split_statements
from tests.common.cassandra.support import write_migrations


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("CREATE TABLE a (id int PRIMARY KEY);", ["CREATE TABLE a (id int PRIMARY KEY)"]),
        ("SELECT 1 FROM a", ["SELECT 1 FROM a"]),  # the last ';' is optional
        ("  ;;\n ; SELECT 1 FROM a;;", ["SELECT 1 FROM a"]),
        ("-- a; comment\nSELECT 1 FROM a; // b; c\n", ["SELECT 1 FROM a"]),
        ("SELECT /* x; y */ 1 FROM a;", ["SELECT   1 FROM a"]),
        ("SELECT/**/1 FROM a;", ["SELECT 1 FROM a"]),  # a comment keeps tokens apart
        (
            "INSERT INTO a (v) VALUES ('it''s; -- not a comment');",
            ["INSERT INTO a (v) VALUES ('it''s; -- not a comment')"],
        ),
        ('SELECT "we;""ird" FROM a;', ['SELECT "we;""ird" FROM a']),
        (
            "CREATE FUNCTION f (x int) CALLED ON NULL INPUT RETURNS int LANGUAGE java "
            "AS $$ return x; $$;",
            [
                "CREATE FUNCTION f (x int) CALLED ON NULL INPUT RETURNS int LANGUAGE java "
                "AS $$ return x; $$"
            ],
        ),
        (
            "BEGIN UNLOGGED BATCH\n INSERT INTO a (id) VALUES (1);\n"
            " INSERT INTO a (id) VALUES (2);\nAPPLY BATCH;\nSELECT 1 FROM a;",
            [
                "BEGIN UNLOGGED BATCH\n INSERT INTO a (id) VALUES (1); "
                "INSERT INTO a (id) VALUES (2); APPLY BATCH",
                "SELECT 1 FROM a",
            ],
        ),
        ("-- only a comment\n/* and another */\n", []),
    ],
)
def test_split_statements(script: str, expected: list[str]) -> None:
    assert [s.text for s in split_statements(script)] == expected


def test_statements_know_their_first_line() -> None:
    script = "-- header\n\nCREATE TABLE a (\n  id int PRIMARY KEY\n);\n/* x\n y */ SELECT 1 FROM a;"
    assert [s.line for s in split_statements(script)] == [3, 7]


@pytest.mark.parametrize(
    ("script", "error"),
    [
        ("SELECT 1;\nINSERT INTO a (v) VALUES ('open);", "f.cql:2: unterminated string"),
        ('SELECT "open FROM a;', "f.cql:1: unterminated quoted identifier"),
        ("SELECT 1;\n\n/* open", "f.cql:3: unterminated /* comment"),
        ("CREATE FUNCTION f AS $$ open;", "f.cql:1: unterminated $$ string"),
        ("SELECT 1;\nBEGIN BATCH INSERT INTO a (id) VALUES (1);", "f.cql:2: BEGIN BATCH without"),
    ],
)
def test_malformed_scripts_name_file_and_line(script: str, error: str) -> None:
    with pytest.raises(MigrationFileError, match=re.escape(error)):
        split_statements(script, source="f.cql")


def test_load_orders_by_number_and_describes(tmp_path: Path) -> None:
    directory = write_migrations(
        tmp_path,
        {
            "V10__add_index.cql": "CREATE INDEX ON a (v);",
            "V2__create_table.cql": "CREATE TABLE a (id int PRIMARY KEY, v text);",
            "V0001__create_type.cql": "CREATE TYPE t (x int);\nCREATE TYPE u (y int);",
            "README.md": "not a migration",
        },
    )
    scripts = load_scripts(directory)
    assert [(s.version, s.description, len(s.statements)) for s in scripts] == [
        (1, "create type", 2),
        (2, "create table", 1),
        (10, "add index", 1),
    ]
    assert all(len(s.checksum) == 64 for s in scripts)


def test_checksum_follows_content_not_line_ends(tmp_path: Path) -> None:
    (tmp_path / "V1__a.cql").write_bytes(b"SELECT 1 FROM a;\nSELECT 2 FROM a;\n")
    first = load_scripts(tmp_path)[0].checksum
    (tmp_path / "V1__a.cql").write_bytes(b"SELECT 1 FROM a;\r\nSELECT 2 FROM a;\r\n")
    assert load_scripts(tmp_path)[0].checksum == first
    (tmp_path / "V1__a.cql").write_bytes(b"SELECT 1 FROM a;\nSELECT 3 FROM a;\n")
    assert load_scripts(tmp_path)[0].checksum != first


@pytest.mark.parametrize(
    ("files", "error"),
    [
        ({"V1_missing_underscore.cql": "SELECT 1 FROM a;"}, "V1_missing_underscore.cql: not a"),
        ({"create.cql": "SELECT 1 FROM a;"}, r"create.cql: not a migration file name; expected V"),
        ({"V1__a.cql": "SELECT 1 FROM a;", "V01__b.cql": "SELECT 1 FROM a;"}, "same version 1"),
        ({"V0__a.cql": "SELECT 1 FROM a;"}, "V0__a.cql: versions start at 1"),
        ({"V1__a.cql": "-- nothing but a comment\n"}, "V1__a.cql: no CQL statement"),
        ({"V1__a.cql": "SELECT 'x FROM a;"}, r"V1__a.cql:1: unterminated string"),
        ({"README.md": "no migrations here"}, "no migration files"),
    ],
)
def test_bad_directories_fail_with_the_file_named(
    tmp_path: Path, files: dict[str, str], error: str
) -> None:
    with pytest.raises(MigrationFileError, match=error):
        load_scripts(write_migrations(tmp_path, files))


def test_non_utf8_file_and_missing_directory(tmp_path: Path) -> None:
    (tmp_path / "V1__latin1.cql").write_bytes("SELECT 'caf\xe9' FROM a;".encode("latin-1"))
    with pytest.raises(MigrationFileError, match=r"V1__latin1\.cql: not UTF-8"):
        load_scripts(tmp_path)
    with pytest.raises(MigrationFileError, match="migrations directory not found"):
        load_scripts(tmp_path / "absent")
