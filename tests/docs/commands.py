"""The shell commands of the repository's Markdown, and where their programs come from.

A reader copies a ```sh block into a fresh terminal on a machine where `make setup`
(or `make up`) ran, with nothing on PATH but the system's. `Shell` models that
terminal: it resolves each command's program as bash would, follows
`eval "$(make -s env)"` by running it for real, and accepts a system program only
if a fresh Debian has it (an Essential package, a README prerequisite) or
devstack/scripts/install-system-packages.sh installs it. Nothing else runs.

The parser knows what the READMEs use: simple commands joined by `|`, `&&`, `||`,
`;` and `( )`, assignments before the program, redirections, `$( )` substitutions,
quotes, comments and backslash continuations.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from devstack.cli import build_parser
from devstack.component import Context
from devstack.errors import DevstackError
from devstack.paths import Paths
from devstack.stack import Stack

REPO = Path(__file__).resolve().parents[2]
# Debian's PATH for a login shell: what a fresh machine has before anything is set.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The one `eval` the documents may use; the check follows it by running it.
ENV_COMMAND = 'eval "$(make -s env)"'
# The README's prerequisites besides Essential packages: Python 3.11 and make.
PREREQUISITE_PACKAGES = frozenset({"python3-minimal", "python3.11-minimal", "make"})
SHELL_BUILTINS = frozenset({".", "[", "cd", "echo", "eval", "export", "printf", "read", "set"})
SHELL_LANGUAGES = frozenset({"sh", "shell", "bash"})
# `<!-- elsewhere: on a real cluster -->` right above a fence: the block runs on
# another machine (a cluster, an image), so this machine's PATH says nothing about it.
ELSEWHERE = re.compile(r"^<!--\s*elsewhere:\s*(?P<where>\S.*?)\s*-->$")
FENCE = re.compile(r"^(?P<ticks>`{3,})\s*(?P<language>[\w+-]*)")
INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
SUBSTITUTED = "__substituted__"


@dataclass(frozen=True)
class Block:
    """A fenced shell block: where it is, its text, and where else it runs if marked."""

    path: str
    line: int
    text: str
    elsewhere: str | None


@dataclass(frozen=True)
class Command:
    """One simple command: its program word (as written) and its arguments."""

    program: str
    args: tuple[str, ...]


def markdown_files() -> list[str]:
    """Every Markdown file of the repository (tracked or new, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted({line for line in listed.stdout.splitlines() if (REPO / line).is_file()})


def shell_blocks(path: str) -> list[Block]:
    """The ```sh (shell, bash) blocks of a Markdown file."""
    lines = (REPO / path).read_text().splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        end = next(
            (n for n in range(index + 1, len(lines)) if lines[n].startswith(fence["ticks"])),
            len(lines),
        )
        if fence["language"] in SHELL_LANGUAGES:
            above = next((lines[n] for n in range(index - 1, -1, -1) if lines[n].strip()), "")
            mark = ELSEWHERE.match(above.strip())
            text = "\n".join(lines[index + 1 : end])
            blocks.append(Block(path, index + 1, text, mark["where"] if mark else None))
        index = end + 1
    return blocks


def inline_code(path: str) -> Iterator[tuple[int, str]]:
    """`code spans` outside fenced blocks, with their line numbers."""
    in_fence: str | None = None
    for number, line in enumerate((REPO / path).read_text().splitlines(), start=1):
        fence = FENCE.match(line)
        if fence is not None and (in_fence is None or line.startswith(in_fence)):
            in_fence = None if in_fence else fence["ticks"]
            continue
        if in_fence is None:
            for match in INLINE_CODE.finditer(line):
                yield number, match[1]


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with backslash continuations joined, each with its first line's offset."""
    joined: list[tuple[int, str]] = []
    pending, start = "", 0
    for offset, line in enumerate(text.splitlines()):
        if not pending:
            start = offset
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        if whole and not whole.startswith("#"):
            joined.append((start, whole))
    return joined


def _substitutions(line: str) -> tuple[str, list[str]]:
    """``line`` with each top-level ``$( )`` replaced by a placeholder, and their texts."""
    outer: list[str] = []
    inner: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\" and quote != "'":
            outer.append(line[index : index + 2])
            index += 2
            continue
        if quote == "'":
            quote = None if char == "'" else quote
        elif char in "'\"" and (quote is None or quote == char):
            quote = None if quote else char
        elif char == "#" and quote is None and (index == 0 or line[index - 1].isspace()):
            break  # a comment: its `$(` is prose
        elif line.startswith("$(", index):
            close = _closing_parenthesis(line, index + 2)
            inner.append(line[index + 2 : close])
            outer.append(SUBSTITUTED)
            index = close + 1
            continue
        outer.append(char)
        index += 1
    return "".join(outer), inner


def _closing_parenthesis(line: str, start: int) -> int:
    depth, quote, index = 1, None, start
    while index < len(line):
        char = line[index]
        if quote == "'":
            quote = None if char == "'" else quote
        elif char == "\\":
            index += 1
        elif char in "'\"" and (quote is None or quote == char):
            quote = None if quote else char
        elif quote is None and char == "(":
            depth += 1
        elif quote is None and char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise ValueError(f"unclosed $( in: {line}")


def commands(line: str) -> list[Command]:
    """The simple commands of one logical line, those inside ``$( )`` first."""
    outer, inner = _substitutions(line)
    found = [command for text in inner for command in commands(text)]
    lexer = shlex.shlex(outer, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words: list[str] = []
    skip_next = False
    for token in [*lexer, ";"]:
        if skip_next:
            skip_next = False
        elif token and set(token) <= set("();<>|&"):
            if "<" in token or ">" in token:
                skip_next = True  # the redirection's file, not a word of the command
                if words and words[-1].isdigit():
                    words.pop()  # the `2` of `2>&1` (shlex splits it off)
                continue
            program = next((n for n, word in enumerate(words) if not ASSIGNMENT.match(word)), None)
            if program is not None:
                found.append(Command(words[program], tuple(words[program + 1 :])))
            words = []
        else:
            words.append(token)
    return found


def make_targets() -> frozenset[str]:
    text = (REPO / "Makefile").read_text()
    return frozenset(re.findall(r"^([a-z][a-z0-9-]*):", text, flags=re.MULTILINE))


def installed_packages() -> frozenset[str]:
    """What devstack/scripts/install-system-packages.sh installs."""
    script = (REPO / "devstack/scripts/install-system-packages.sh").read_text()
    listed = re.search(r"^PACKAGES=\(([^)]*)\)", script, flags=re.MULTILINE)
    assert listed is not None, "install-system-packages.sh has no PACKAGES=(...)"
    return frozenset(listed[1].split())


@cache
def debian_package(path: str) -> str | None:
    """The Debian package that installed ``path`` (merged /usr aliases tried too)."""
    candidates = [path, os.path.realpath(path)]
    candidates += [f"/usr{c}" for c in candidates if c.startswith(("/bin/", "/sbin/"))]
    candidates += [c.removeprefix("/usr") for c in candidates if c.startswith("/usr/")]
    for candidate in dict.fromkeys(candidates):
        found = subprocess.run(
            ["dpkg-query", "-S", candidate], capture_output=True, text=True, check=False
        )
        for line in found.stdout.splitlines():
            owners, _, owned = line.partition(": ")
            if owned == candidate and not line.startswith("diversion"):
                return owners.split(",")[0].strip().split(":")[0]
    return None


@cache
def essential(package: str) -> bool:
    found = subprocess.run(
        ["dpkg-query", "-W", "-f=${Essential}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() == "yes"


@cache
def make_env_exports(system_env: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Run `make -s env` as a fresh shell would (only the system's PATH) and parse it."""
    result = subprocess.run(
        ["make", "-s", "env"],
        cwd=REPO,
        env=dict(system_env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"`make -s env` failed:\n{result.stderr}"
    exports: dict[str, str] = {}
    for line in result.stdout.splitlines():
        words = shlex.split(line)
        assert len(words) == 2 and words[0] == "export", f"`make -s env` printed {line!r}"
        key, _, value = words[1].partition("=")
        exports[key] = value
    return exports


# What a new terminal on this machine has besides PATH: its home, devstack's
# locations if moved, and the machine's network settings (a proxy, its CAs), which
# uv needs to build the workspace's packages.
KEPT_VARIABLES = (
    "HOME",
    "LANG",
    "PRODUCTSTORE_CACHE",
    "PRODUCTSTORE_STATE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)


def fresh_environment() -> dict[str, str]:
    """A new terminal: the system's PATH and KEPT_VARIABLES, nothing else."""
    kept = {key: os.environ[key] for key in KEPT_VARIABLES if key in os.environ}
    return {**kept, "PATH": SYSTEM_PATH}


class Shell:
    """A terminal on a machine after `make setup`, following the commands it is given."""

    def __init__(self) -> None:
        self.env = fresh_environment()
        self._stack = Stack(Context(paths=Paths.from_env(self.env)))

    def problems(self, text: str) -> list[tuple[int, str]]:
        """What would fail in ``text`` (lines of a block): (line offset, problem)."""
        found: list[tuple[int, str]] = []
        for offset, line in logical_lines(text):
            if line.split("#")[0].strip() == ENV_COMMAND:
                self.env.update(make_env_exports(tuple(sorted(self.env.items()))))
                continue
            try:
                parsed = commands(line)
            except ValueError as exc:
                found.append((offset, str(exc)))
                continue
            found += [(offset, problem) for command in parsed for problem in self.check(command)]
        return found

    def check(self, command: Command, *, devstack_arguments: bool = True) -> list[str]:
        """Why ``command`` would not run here (empty if it would): its program, a make
        target, and (unless ``devstack_arguments`` is false: a synopsis such as
        `devstack up [components…]`) a devstack command line."""
        program = command.program
        if program == "eval":
            return [f"eval: only `{ENV_COMMAND}` can be followed"]
        if program in SHELL_BUILTINS:
            return []
        where = self._resolve(program)
        if isinstance(where, str):
            return [where]
        problems = self._provenance(program, where)
        if where.name == "make":
            unknown = [a for a in command.args if not a.startswith("-")][:1]
            problems += [f"make {t}: no such target" for t in unknown if t not in make_targets()]
        if devstack_arguments and where.name == "devstack":
            problems += self._devstack_problems(command.args)
        return problems

    def _resolve(self, program: str) -> Path | str:
        """The executable bash would run, or why there is none."""
        if program.startswith("$"):
            name = program.strip("${}")
            if name not in self.env:
                return f"{program}: ${name} is not set (`{ENV_COMMAND}` sets it)"
            program = self.env[name]
        program = str(Path(program).expanduser()) if program.startswith("~") else program
        if "/" in program:
            path = Path(program) if program.startswith("/") else REPO / program
            if path.is_file() and os.access(path, os.X_OK):
                return path
            return f"{program}: no such executable"
        found = shutil.which(program, path=self.env["PATH"])
        if found is None:
            when = "a fresh terminal" if self.env["PATH"] == SYSTEM_PATH else ENV_COMMAND
            return f"{program}: command not found (after {when})"
        return Path(found)

    def _provenance(self, program: str, path: Path) -> list[str]:
        """A program outside the workspace and devstack's cache must come from Debian
        packages a fresh machine has or `make setup` installs."""
        ours = (REPO, self._stack.ctx.paths.cache)
        if any(path.is_relative_to(root) for root in ours):
            return []
        package = debian_package(str(path))
        if package is None:
            return [f"{program}: {path} comes from no Debian package, a fresh machine lacks it"]
        if essential(package) or package in PREREQUISITE_PACKAGES | installed_packages():
            return []
        return [
            f"{program}: {path} is from the Debian package {package}, which neither a fresh "
            "machine nor devstack/scripts/install-system-packages.sh provides"
        ]

    def _devstack_problems(self, args: tuple[str, ...]) -> list[str]:
        line = " ".join(("devstack", *args))
        try:
            parsed = build_parser().parse_args(list(args))
        except SystemExit:
            return [f"`{line}`: devstack refuses these arguments"]
        names = list(getattr(parsed, "components", None) or [])
        names += [parsed.component] if hasattr(parsed, "component") else []
        try:
            self._stack.expand(names)
        except DevstackError as exc:
            return [f"`{line}`: {exc}"]
        return []


def span_commands(span: str, workspace_programs: Mapping[str, Path]) -> list[Command]:
    """The commands of an inline code span that runs `make`, `uv` or a workspace program.

    Other spans name things (`helm`, `kubectl get ps` on some cluster) and are left
    alone; a span that does not parse as a command line is not one.
    """
    try:
        parsed = commands(span)
    except ValueError:
        return []
    return [
        command
        for command in parsed
        if command.program == "uv"
        or (command.args and (command.program == "make" or command.program in workspace_programs))
    ]
