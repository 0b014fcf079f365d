"""docs/ and the Markdown around it: links stay inside the repository and resolve, the
decision records keep their shape, and the architecture page names what the code
defines (the shared variables, the Vault files), so it cannot drift silently."""

from __future__ import annotations

import re

import pytest

from productstore_common.settings import SHARED_VARIABLES
from productstore_operator.builders.vault import OWNED_SECRETS, SECRETS
from tests.docs.commands import REPO, inline_code, markdown_files

DOCS = REPO / "docs"
ADRS = sorted((DOCS / "adr").glob("*.md"))
# [text](target): the target up to a space or the closing parenthesis.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
EXTERNAL = ("http://", "https://", "mailto:")
ADR_NAME = re.compile(r"^(\d{4})-[a-z0-9-]+\.md$")


def _outside_or_missing(source: str, target: str) -> str | None:
    """Why ``target`` (relative to the Markdown file ``source``) is not a file or
    folder of the repository, or None when it is."""
    path = (REPO / source).parent / target.split("#", maxsplit=1)[0]
    resolved = path.resolve()
    if not resolved.is_relative_to(REPO):
        return f"{target} is outside the repository"
    if not resolved.exists():
        return f"{target} does not exist"
    return None


@pytest.mark.parametrize("path", markdown_files())
def test_links_and_relative_paths_stay_inside_the_repository(path: str) -> None:
    text = (REPO / path).read_text()
    problems = [
        f"{path}: {problem}"
        for target in LINK.findall(text)
        if not target.startswith((*EXTERNAL, "#"))
        if (problem := _outside_or_missing(path, target)) is not None
    ]
    # `../x` and `./x` in code spans are paths a reader follows too.
    problems += [
        f"{path}:{line}: {problem}"
        for line, span in inline_code(path)
        if span.startswith(("../", "./"))
        if (problem := _outside_or_missing(path, span.split()[0])) is not None
    ]
    assert problems == []


def test_the_readme_leads_to_docs() -> None:
    assert "(docs/README.md)" in (REPO / "README.md").read_text()


def test_decision_records_are_numbered_indexed_and_complete() -> None:
    index = (DOCS / "README.md").read_text()
    numbers = []
    for adr in ADRS:
        name = ADR_NAME.match(adr.name)
        assert name is not None, f"{adr.name}: name it NNNN-some-words.md"
        numbers.append(int(name[1]))
        text = adr.read_text()
        assert text.startswith(f"# {name[1]}: "), f"{adr.name}: title '# {name[1]}: ...'"
        headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
        assert headings == ["Context", "Decision", "Consequences"], adr.name
        assert f"(adr/{adr.name})" in index, f"{adr.name} is not listed in docs/README.md"
    assert numbers == list(range(1, len(ADRS) + 1))
    assert len(ADRS) >= 5


def test_architecture_names_the_shared_variables_and_the_vault_files() -> None:
    text = (DOCS / "architecture.md").read_text()
    expected = [f"`{name}`" for name in SHARED_VARIABLES.values()]
    expected += [f"`/vault/secrets/{secret.file}`" for secret in SECRETS]
    own = [secret for secret in SECRETS if secret.kind == "cassandra-credentials"]
    expected += [f"`{secret.key}`" for secret in SECRETS if secret not in own]
    # Every service's own Cassandra entry, written once as the pattern they follow.
    assert {secret.key for secret in own} == {f"{secret.service}/cassandra" for secret in own}
    expected += ["`<service>/cassandra`"]
    expected += [f"`{owned.key}`" for owned in OWNED_SECRETS]
    assert [name for name in expected if name not in text] == []


def test_the_checks_see_a_bad_link() -> None:
    assert _outside_or_missing("docs/README.md", "../../elsewhere/x.md") == (
        "../../elsewhere/x.md is outside the repository"
    )
    assert _outside_or_missing("docs/README.md", "adr/9999-nothing.md") == (
        "adr/9999-nothing.md does not exist"
    )
    assert _outside_or_missing("docs/README.md", "architecture.md#known-gaps") is None


def test_docs_hold_no_path_of_this_machine() -> None:
    # A page written here must not point into someone's checkout or cache.
    for page in DOCS.rglob("*.md"):
        text = page.read_text()
        assert not re.search(r"/(?:work|root|home)/\S", text), page.relative_to(REPO)
