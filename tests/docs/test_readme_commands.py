"""Every shell command in the repository's Markdown runs as written after `make setup`,
with nothing on PATH but the system's: no `uv run`, no tool a fresh machine lacks.

How a command is judged (tests/docs/commands.py): each ```sh block is a new terminal
with Debian's PATH; `eval "$(make -s env)"` is run for real and its exports applied;
every program is resolved as bash would, and one from the system must come from a
Debian package a fresh machine has or devstack/scripts/install-system-packages.sh
installs. A block for another machine says where, in `<!-- elsewhere: ... -->`
right above it. Inline `code` that runs `make`, `uv` or a workspace program is
judged in a terminal after `eval "$(make -s env)"`.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import pytest

from tests.docs.commands import (
    ENV_COMMAND,
    Command,
    Shell,
    commands,
    inline_code,
    markdown_files,
    shell_blocks,
    span_commands,
)

MARKDOWN = markdown_files()
# Where a new user starts: each holds commands for this machine, so the check is not empty.
FRONT_DOOR = (
    "README.md",
    "devstack/README.md",
    "operator/README.md",
    "services/auth/README.md",
    "services/catalog/README.md",
    "bench/README.md",
)


@pytest.fixture(scope="module")
def workspace_programs() -> dict[str, Path]:
    """The programs `uv sync` installs into the workspace's environment."""
    scripts = Path(sysconfig.get_path("scripts"))
    return {path.name: path for path in scripts.iterdir() if os.access(path, os.X_OK)}


@pytest.mark.parametrize("path", MARKDOWN)
def test_shell_blocks_run_after_make_setup(path: str) -> None:
    problems = [
        f"{path}:{block.line + 1 + offset}: {problem}"
        for block in shell_blocks(path)
        if block.elsewhere is None
        # Each block is pasted into a terminal of its own.
        for offset, problem in Shell().problems(block.text)
    ]
    assert problems == []


@pytest.mark.parametrize("path", MARKDOWN)
def test_inline_commands_run_after_make_env(path: str, workspace_programs: dict[str, Path]) -> None:
    shell = Shell()
    assert shell.problems(ENV_COMMAND) == []
    problems = [
        f"{path}:{line}: `{span}`: {problem}"
        for line, span in inline_code(path)
        for command in span_commands(span, workspace_programs)
        for problem in shell.check(command, devstack_arguments=False)
    ]
    assert problems == []


def test_the_front_door_has_commands_to_check() -> None:
    for path in FRONT_DOOR:
        assert [block for block in shell_blocks(path) if block.elsewhere is None], path
    first_steps = "\n".join(block.text for block in shell_blocks("README.md"))
    assert ENV_COMMAND in first_steps


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("make up      # start (a comment)", [("make", ("up",))]),
        (
            "TOKEN=$(curl -s x -d '{\"a\": 1}' | python3 -c 'import sys; print(len(sys.argv))')",
            [
                ("curl", ("-s", "x", "-d", '{"a": 1}')),
                ("python3", ("-c", "import sys; print(len(sys.argv))")),
            ],
        ),
        ('eval "$(make -s env)"', [("make", ("-s", "env")), ("eval", ("__substituted__",))]),
        (
            'A=1 B="2 3" prog --x "y z" > out.log 2>&1 && next',
            [("prog", ("--x", "y z")), ("next", ())],
        ),
        ("(cd dir; ls -l) | wc -l", [("cd", ("dir",)), ("ls", ("-l",)), ("wc", ("-l",))]),
        ("ONLY=assignment", []),
        ("echo '$(not a substitution)'  # nor $(this)", [("echo", ("$(not a substitution)",))]),
    ],
)
def test_commands_of_a_line(line: str, expected: list[tuple[str, tuple[str, ...]]]) -> None:
    assert commands(line) == [Command(program, args) for program, args in expected]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        # The README's old first step: uv is not on PATH, and only make's env is followed.
        (
            'eval "$(uv run devstack env)"',
            ["uv: command not found", 'eval: only `eval "$(make -s env)"` can be followed'],
        ),
        ("$KUBECTL get nodes", ["$KUBECTL: $KUBECTL is not set"]),
        ("devstack status", ["devstack: command not found"]),
        ("make nosuchtarget", ["make nosuchtarget: no such target"]),
        (
            f"{ENV_COMMAND}\ndevstack up mongodb",
            ["`devstack up mongodb`: mongodb: unknown component"],
        ),
        (f"{ENV_COMMAND}\ndevstack upp", ["`devstack upp`: devstack refuses these arguments"]),
        # After the env: the workspace's programs and the pinned tools, by name and by path.
        (
            f"{ENV_COMMAND}\n$KUBECTL get nodes\nkubectl get ns\nhelm version\n"
            "devstack up redis kube\npytest --version\n"
            "productstore-operator --help\npython -m productstore_common.cassandra --help",
            [],
        ),
        (".venv/bin/devstack status --json\nmake -s env", []),
        # System programs: Essential, prerequisites, or installed by make setup.
        ("curl -s localhost:8080/healthz | python3 -m json.tool | cat", []),
        ("wrk --version\nprometheus --version", []),
    ],
)
def test_what_a_fresh_terminal_runs(block: str, expected: list[str]) -> None:
    problems = [problem for _, problem in Shell().problems(block)]
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), problem


@pytest.mark.parametrize("program", ["kubectl", "docker", "go", "uv"])
def test_a_program_make_setup_does_not_provide_is_refused(program: str) -> None:
    # Whether absent here or installed on this machine by other means (a system
    # kubectl, the image's Go), a fresh machine after `make setup` lacks it by name.
    problems = Shell().check(Command(program, ("version",)))
    assert problems, f"{program} passed"
    assert problems[0].startswith(f"{program}: ")
