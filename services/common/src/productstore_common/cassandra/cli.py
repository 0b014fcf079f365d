"""``python -m productstore_common.cassandra migrate|status``: apply or list CQL migrations.

Exit codes: 0 done, 1 the migration failed (message on stderr, one line, no
traceback), 2 bad command line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from productstore_common.cassandra.exceptions import CassandraError
from productstore_common.cassandra.migrations import Migrator
from productstore_common.cassandra.session import CassandraSession, describe_unavailable

PROG = "python -m productstore_common.cassandra"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block: the message is what a CI log shows.
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _replication(text: str) -> dict[str, str | int]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON ({exc.msg}): {text}") from exc
    if not isinstance(value, dict) or not all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in value.values()
    ):
        raise argparse.ArgumentTypeError(
            f'expected a JSON object of strings/integers, e.g. {{"class": "SimpleStrategy", '
            f'"replication_factor": 1}}, got {text}'
        )
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    env = os.environ
    common = _Parser(add_help=False)
    common.add_argument("--dir", type=Path, required=True, help="the service's migrations folder")
    common.add_argument("--keyspace", required=True, help="the service's keyspace")
    common.add_argument(
        "--contact-points",
        default=env.get("CASSANDRA_CONTACT_POINTS", "127.0.0.1"),
        help="comma-separated hosts (env CASSANDRA_CONTACT_POINTS; default 127.0.0.1)",
    )
    common.add_argument(
        "--port",
        type=_port,
        default=env.get("CASSANDRA_PORT", "9042"),
        help="CQL port (env CASSANDRA_PORT; default 9042)",
    )
    common.add_argument(
        "--local-dc",
        default=env.get("CASSANDRA_LOCAL_DC", "datacenter1"),
        help="data centre to talk to (env CASSANDRA_LOCAL_DC; default datacenter1)",
    )
    common.add_argument(
        "--consistency",
        default=env.get("CASSANDRA_CONSISTENCY", "LOCAL_QUORUM"),
        help="consistency of regular statements (env CASSANDRA_CONSISTENCY)",
    )
    common.add_argument(
        "--serial-consistency",
        default="SERIAL",
        help="consistency of the lock's lightweight transactions (SERIAL or LOCAL_SERIAL)",
    )
    common.add_argument(
        "--username",
        default=env.get("CASSANDRA_USERNAME"),
        help="(env CASSANDRA_USERNAME); the password comes from env CASSANDRA_PASSWORD "
        "or --password-file, never the command line",
    )
    common.add_argument(
        "--password-file", type=Path, help="file holding the password (a Vault agent secret)"
    )
    common.add_argument("--connect-timeout", type=_positive, default=10.0, help="seconds")

    parser = _Parser(prog=PROG, description="Versioned CQL migrations of a service keyspace.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    migrate = sub.add_parser("migrate", parents=[common], help="apply pending migrations")
    migrate.add_argument(
        "--replication",
        type=_replication,
        default=env.get("CASSANDRA_REPLICATION"),
        help="JSON replication map used when the keyspace is missing, e.g. "
        '\'{"class":"SimpleStrategy","replication_factor":1}\' (env CASSANDRA_REPLICATION)',
    )
    migrate.add_argument(
        "--lock-timeout",
        type=_positive,
        default=300.0,
        help="seconds to wait for another migrator's lock (default 300)",
    )
    migrate.add_argument(
        "--lock-ttl", type=int, default=60, help="seconds the lock outlives a dead holder"
    )
    sub.add_parser("status", parents=[common], help="list applied and pending migrations")
    return parser


def _password(args: argparse.Namespace) -> str | None:
    if args.password_file is not None:
        try:
            return str(args.password_file.read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise CassandraError(f"cannot read --password-file: {exc}") from exc
    return os.environ.get("CASSANDRA_PASSWORD")


def _run(args: argparse.Namespace) -> int:
    points = [p.strip() for p in args.contact_points.split(",") if p.strip()]
    migrator_args = {"keyspace": args.keyspace, "directory": args.dir}
    with CassandraSession.connect(
        contact_points=points,
        port=args.port,
        local_dc=args.local_dc,
        consistency=args.consistency,
        username=args.username,
        password=_password(args) if args.username else None,
        connect_timeout=args.connect_timeout,
        application_name="productstore-migrate",
    ) as db:
        if args.command == "status":
            migrator = Migrator(db, serial_consistency=args.serial_consistency, **migrator_args)
            for item in migrator.status():
                when = f"  {item.applied_at:%Y-%m-%d %H:%M:%S}" if item.applied_at else ""
                name = item.name or f"V{item.version:04d} ({item.description})"
                _out(f"{item.state:<12}  {name}{when}")
            return 0
        migrator = Migrator(
            db,
            replication=args.replication,
            serial_consistency=args.serial_consistency,
            lock_timeout=args.lock_timeout,
            lock_ttl=args.lock_ttl,
            **migrator_args,
        )
        report = migrator.migrate(
            on_applied=lambda applied: _out(f"applied {applied.name} ({applied.seconds:.2f} s)")
        )
        for waited in sorted(report.waited_for):
            _out(f"waited for the migration lock held by {waited}")
        _out(
            f"keyspace {report.keyspace}: {len(report.applied)} applied, "
            f"{report.already_applied} already applied"
        )
        return 0


def _error(command: str, message: str) -> None:
    sys.stderr.write(f"{command}: error: {' '.join(message.split())}\n")


def configure_logging() -> None:
    """For the command only: warnings of ours, none of the driver's.

    Our INFO lines would repeat the printed summary, and the driver warns on
    every failed connection attempt; each failure is reported once by main.
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("cassandra").setLevel(logging.CRITICAL)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except CassandraError as exc:
        _error(args.command, str(exc))
    except Exception as exc:  # a driver error is one line, not a traceback
        _error(args.command, describe_unavailable(exc))
    except KeyboardInterrupt:
        sys.stderr.write(f"{args.command}: interrupted\n")
        return 130
    return 1
