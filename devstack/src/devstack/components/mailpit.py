"""Mailpit, a mail server for development, built from its Go module: SMTP in, an API out.

The notifications service sends e-mail over SMTP to it, and tests read what arrived
through its HTTP API (`/api/v1/messages`, `/api/v1/search`). Without `--database`
it keeps the messages in a temporary SQLite file removed when it stops, at most
MAX_MESSAGES of them; it listens on 127.0.0.1: SMTP 1025, HTTP 8025.

The module on the Go proxy holds the web UI's sources but not its built JavaScript
bundle (`server/ui/dist`, made by npm in Mailpit's release pipeline), so the
`go:embed ui` directive embeds what is there: the API, which the tests use, is
whole; the web UI's pages load without their script.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from devstack import artifacts, toolchains
from devstack.component import Component
from devstack.process import Endpoint, ProcessSpec

MAILPIT_VERSION = "v1.33.1"
MAILPIT_PACKAGE = "github.com/axllent/mailpit"
LDFLAGS = f"-s -w -X {MAILPIT_PACKAGE}/config.Version={MAILPIT_VERSION}"

HOST = "127.0.0.1"
SMTP_PORT = 1025
HTTP_PORT = 8025
# Messages kept before the oldest are deleted: a long-running stack stays bounded.
MAX_MESSAGES = 5000


class Mailpit(Component):
    name = "mailpit"
    description = (
        f"Mailpit {MAILPIT_VERSION}: SMTP on {HOST}:{SMTP_PORT}, API on {HOST}:{HTTP_PORT}"
    )
    default = True
    requires = ()
    ready_timeout = 30.0
    start_hint = (
        "run `devstack provision mailpit` (builds the binary with Go); "
        f"check that ports {SMTP_PORT} and {HTTP_PORT} are free"
    )

    @property
    def artifact_dir(self) -> Path:
        return self.paths.artifacts / f"mailpit-{MAILPIT_VERSION}"

    @property
    def binary(self) -> Path:
        return self.artifact_dir / "mailpit"

    @property
    def url(self) -> str:
        """The HTTP API and web UI."""
        return f"http://{HOST}:{HTTP_PORT}"

    @property
    def smtp_host(self) -> str:
        return HOST

    @property
    def smtp_port(self) -> int:
        return SMTP_PORT

    def provision(self) -> bool:
        fingerprint = f"mailpit {MAILPIT_PACKAGE}@{MAILPIT_VERSION} ldflags={LDFLAGS} cgo=0"
        return artifacts.ensure(
            self.name, self.artifact_dir, fingerprint, self._build, verify_hashes=self.ctx.verify
        )

    def _build(self, out_dir: Path) -> None:
        # Static, like Mailpit's releases (its SQLite is pure Go: modernc.org/sqlite).
        toolchains.go_install(
            self.name,
            f"{MAILPIT_PACKAGE}@{MAILPIT_VERSION}",
            out_dir,
            log_file=self.provision_log,
            ldflags=LDFLAGS,
            env={"CGO_ENABLED": "0"},
        )

    def endpoints(self) -> dict[str, Endpoint]:
        return {"smtp": Endpoint(HOST, SMTP_PORT), "http": Endpoint(HOST, HTTP_PORT)}

    def prepare(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)

    def processes(self) -> list[ProcessSpec]:
        argv = [
            str(self.binary),
            "--listen",
            f"{HOST}:{HTTP_PORT}",
            "--smtp",
            f"{HOST}:{SMTP_PORT}",
            # Loopback only, no credentials: any sender is accepted, as a dev server should.
            "--smtp-auth-accept-any",
            "--smtp-auth-allow-insecure",
            "--max",
            str(MAX_MESSAGES),
            # No network calls of its own (there is no internet here).
            "--disable-version-check",
        ]
        return [ProcessSpec(name=self.name, argv=argv, cwd=self.state_dir)]

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/livez", timeout=2.0).status_code == 200

    def env(self) -> dict[str, str]:
        return {
            "MAILPIT_URL": self.url,
            "MAILPIT_SMTP_HOST": HOST,
            "MAILPIT_SMTP_PORT": str(SMTP_PORT),
        }
