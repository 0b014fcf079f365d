"""`devstack` command line: provision, up, down, status, logs, env, seed, dashboards,
vault-kubernetes."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import sysconfig
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from devstack import sample_store
from devstack.component import Context
from devstack.components.nginx import Nginx
from devstack.components.openbao import OpenBao
from devstack.components.services import ADMIN_EMAIL, AuthService
from devstack.components.vault_kubernetes import MOUNT, configure_kubernetes_auth
from devstack.errors import DevstackError
from devstack.paths import Paths
from devstack.process import tail
from devstack.seed import DEFAULT_PRODUCTS, DEFAULT_SEED, seed_demo_data
from devstack.stack import Stack, UpResult


def _stack(args: argparse.Namespace) -> Stack:
    return Stack(Context(paths=Paths.from_env(), verify=getattr(args, "verify", False)))


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()  # progress, also when piped to a log (make up, CI)


def cmd_provision(args: argparse.Namespace) -> int:
    stack = _stack(args)
    names = args.components or ["all", "tools"]
    started = time.monotonic()
    spent = stack.provision(names)
    for name, seconds in spent.items():
        _out(f"provisioned {name} in {seconds:.1f}s")
    _out(
        f"provisioning done in {time.monotonic() - started:.1f}s "
        f"({'nothing to do' if not spent else f'{len(spent)} component(s) provisioned'}); "
        f"cache: {stack.ctx.paths.cache}"
    )
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    stack = _stack(args)
    names = args.components or ["all"]
    started = time.monotonic()

    def report(result: UpResult) -> None:
        if (line := result.progress()) is not None:
            _out(line)

    stack.up(names, on_result=report)
    _out(f"devstack up: ready in {time.monotonic() - started:.1f}s")
    _print_status(stack, names)
    _out(
        '\nConnection settings, and devstack, kubectl and helm on PATH: eval "$(make -s env)"'
        f"   logs: {stack.ctx.paths.state}/logs"
    )
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    stack = _stack(args)
    stopped = stack.down(args.components or None, purge=args.purge)
    _out("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def _print_status(stack: Stack, names: Sequence[str] | None) -> list[dict[str, object]]:
    rows = stack.status(names)
    total = 0
    _out(f"{'component':<24} {'state':<9} {'ready(s)':>8} {'RSS(MB)':>8}  endpoints")
    for row in rows:
        state = "ready" if row.ready else ("starting" if row.running else "stopped")
        total += row.rss_bytes
        ready = f"{row.ready_seconds:.1f}" if row.ready_seconds is not None else "-"
        eps = " ".join(f"{k}={v}" for k, v in row.endpoints.items())
        _out(f"{row.name:<24} {state:<9} {ready:>8} {row.rss_bytes / 2**20:>8.0f}  {eps}")
    _out(f"{'total':<24} {'':<9} {'':>8} {total / 2**20:>8.0f}")
    return [row.__dict__ for row in rows]


def cmd_status(args: argparse.Namespace) -> int:
    stack = _stack(args)
    if args.json:
        rows = stack.status(args.components or None)
        _out(json.dumps([row.__dict__ for row in rows], indent=1))
    else:
        _print_status(stack, args.components or None)
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    stack = _stack(args)
    if args.component not in stack.components:
        raise DevstackError(args.component, "unknown component")
    log_file = stack.components[args.component].log_file
    if not log_file.exists():
        raise DevstackError(args.component, "has no log yet (never started)", log_file=log_file)
    if args.path:
        _out(str(log_file))
    else:
        _out(tail(log_file, args.lines))
    return 0


# Pinned tools devstack exports by path whose folders `env` also puts on PATH, so
# `kubectl` and `helm` work as typed, not only as $KUBECTL and $HELM.
PATH_TOOLS = ("KUBECTL", "HELM")


def shell_path(exports: Mapping[str, str], current: str) -> str:
    """PATH with the workspace's programs (devstack, pytest, uvicorn, python, ...) and
    devstack's pinned tools first, then ``current`` without them: evaluating the exports
    again leaves PATH as it is."""
    first = [sysconfig.get_path("scripts")]
    first += [str(Path(exports[key]).parent) for key in PATH_TOOLS if key in exports]
    rest = [folder for folder in current.split(os.pathsep) if folder and folder not in first]
    return os.pathsep.join(dict.fromkeys([*first, *rest]))


def cmd_env(args: argparse.Namespace) -> int:
    stack = _stack(args)
    exports = stack.env(args.components or None)
    exports["PATH"] = shell_path(exports, os.environ.get("PATH", os.defpath))
    for key, value in sorted(exports.items()):
        _out(f"export {key}={shlex.quote(value)}")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    stack = _stack(args)
    auth, nginx = stack.components["auth"], stack.components["nginx"]
    if not isinstance(auth, AuthService) or not isinstance(nginx, Nginx):
        raise TypeError("the registry's auth/nginx are not AuthService/Nginx")
    result = seed_demo_data(
        nginx.url,
        email=ADMIN_EMAIL,
        password_file=auth.admin_password_file,
        products=args.products,
        seed=args.seed,
    )
    _out(
        f"seeded the demo catalog: {result.categories_total} categories "
        f"({result.categories_created} new), {result.products_created} new products "
        f"({result.products_present} were there)"
    )
    # Never the password itself: terminals, CI logs and `make up` transcripts keep
    # stdout; the password stays in its 0600 file.
    _out(f"administrator: {ADMIN_EMAIL}, password in {auth.admin_password_file}")
    return 0


def cmd_dashboards(args: argparse.Namespace) -> int:
    """The sample store's Grafana dashboards, generated by the operator's own code."""
    output: Path = args.output or Paths.from_env().state / "dashboards"
    result = subprocess.run(
        [
            sys.executable, "-m", "productstore_operator.dashboard_files",
            str(sample_store.MANIFEST), "--namespace", sample_store.NAMESPACE,
            "--output-dir", str(output),
        ],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    if result.returncode != 0:
        raise DevstackError(
            "dashboards", f"generating the dashboards failed: {result.stderr.strip()[-500:]}"
        )
    files = result.stdout.split()
    _out(f"wrote {len(files)} Grafana dashboards of store {sample_store.NAME} to {output}:")
    for file in files:
        _out(f"  {Path(file).name}")
    _out("import them in Grafana (Dashboards > New > Import) with a Prometheus data source,")
    _out("e.g. devstack's at http://127.0.0.1:9090")
    return 0


def cmd_vault_kubernetes(args: argparse.Namespace) -> int:
    """Point OpenBao's auth/kubernetes at the apiserver now (the operator's start does it too)."""
    openbao = _stack(args).components["openbao"]
    if not isinstance(openbao, OpenBao):
        raise TypeError("the registry's openbao is not OpenBao")
    if not openbao.token_file.is_file():
        raise DevstackError("openbao", "no root token yet", hint="`devstack up openbao` first")
    configure_kubernetes_auth(openbao.paths, openbao.token)
    _out(f"OpenBao's auth/{MOUNT} reviews tokens with devstack's apiserver")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="devstack",
        description="Run Product Store's real dependencies as processes on 127.0.0.1.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("provision", help="download/build pinned versions into the cache")
    p.add_argument("components", nargs="*", help="components or groups (default: all)")
    p.add_argument("--verify", action="store_true", help="re-hash cached files")
    p.set_defaults(func=cmd_provision)

    p = sub.add_parser("up", help="provision, start and wait until ready")
    p.add_argument("components", nargs="*", help="components or groups (default: all)")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("down", help="stop components (default: everything)")
    p.add_argument("components", nargs="*")
    p.add_argument("--purge", action="store_true", help="also delete their data")
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("status", help="what runs where, readiness and memory")
    p.add_argument("components", nargs="*")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("logs", help="print the tail of a component's log")
    p.add_argument("component")
    p.add_argument("-n", "--lines", type=int, default=100)
    p.add_argument("--path", action="store_true", help="print the log file's path only")
    p.set_defaults(func=cmd_logs)

    p = sub.add_parser("seed", help="create the demo catalog through the gateway (idempotent)")
    p.add_argument("--products", type=int, default=DEFAULT_PRODUCTS, help="demo products")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="corpus generator seed")
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser(
        "env", help="connection settings and PATH (workspace programs, kubectl, helm) as exports"
    )
    p.add_argument("components", nargs="*")
    p.set_defaults(func=cmd_env)

    p = sub.add_parser(
        "dashboards", help="write the sample store's Grafana dashboards as JSON files to import"
    )
    p.add_argument(
        "--output", type=Path, help="folder for the files (default: <devstack state>/dashboards)"
    )
    p.set_defaults(func=cmd_dashboards)

    p = sub.add_parser(
        "vault-kubernetes",
        help="configure OpenBao's Kubernetes auth against the apiserver (idempotent)",
    )
    p.set_defaults(func=cmd_vault_kubernetes)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except DevstackError as exc:
        sys.stderr.write(f"devstack: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("devstack: interrupted\n")
        return 130
    except BrokenPipeError:
        # Output piped into `head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
