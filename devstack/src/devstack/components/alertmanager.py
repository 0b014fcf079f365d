"""Alertmanager and amtool, built from their Go module, on 127.0.0.1:9094.

Prometheus (prometheus.py) sends its alerts here. The configuration is the one
the operator renders for the devstack sample store
(``python -m productstore_operator.alertmanager_file``: critical alerts to
Telegram and Slack, warnings to Slack, warnings inhibited by a critical of the
same store and service, grouped by store and service), with the receivers
pointed at the chat stand-ins (chat.py) and their credentials read from the
stand-ins' files (in a cluster Prometheus Operator reads them from the store's
``<store>-alerting`` Secret, which the operator fills from the store's Vault keys).
devstack's group timings are short, so a test sees a notification in seconds.

The module's release tarballs carry the web UI; its Go module does not
(``ui/app/dist`` is built with npm and not committed), and ``go:embed`` needs
the folder. The build copies the module into the build cache and puts a
one-page placeholder there: the API (``/api/v2``) and amtool work, the UI
page says it was not built.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from devstack import artifacts, sample_store, toolchains
from devstack.component import Component
from devstack.errors import DevstackError
from devstack.process import Endpoint, ProcessSpec

ALERTMANAGER_VERSION = "0.35.0"
ALERTMANAGER_MODULE = "github.com/prometheus/alertmanager"
_VERSION_PACKAGE = "github.com/prometheus/common/version"
LDFLAGS = (
    f"-s -w -X {_VERSION_PACKAGE}.Version={ALERTMANAGER_VERSION} -X {_VERSION_PACKAGE}.Branch=HEAD"
)
COMMANDS = ("alertmanager", "amtool")
UI_PLACEHOLDER = (
    "<!doctype html>\n<title>Alertmanager (devstack)</title>\n"
    "<p>devstack builds Alertmanager from its Go module, which carries no web UI. "
    "Use the API (<code>/api/v2/alerts</code>) or <code>amtool</code>.</p>\n"
)

HOST = "127.0.0.1"
PORT = 9094
# Short, so a test sees a notification within seconds; a cluster uses the operator's defaults.
GROUP_WAIT = "2s"
GROUP_INTERVAL = "5s"
REPEAT_INTERVAL = "1h"


class Alertmanager(Component):
    name = "alertmanager"
    description = f"Alertmanager {ALERTMANAGER_VERSION} on {HOST}:{PORT} (built with Go)"
    default = True
    # Its receivers' credentials are the chat stand-ins' files.
    requires = ("chat",)
    ready_timeout = 30.0
    start_hint = (
        "run `devstack provision alertmanager` (builds it with Go); check that port 9094 is free"
    )

    # --- typed accessors -------------------------------------------------
    @property
    def install_dir(self) -> Path:
        return self.paths.artifacts / f"alertmanager-{ALERTMANAGER_VERSION}"

    @property
    def binary(self) -> Path:
        return self.install_dir / "alertmanager"

    @property
    def amtool(self) -> Path:
        return self.install_dir / "amtool"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{PORT}"

    @property
    def config_file(self) -> Path:
        return self.state_dir / "alertmanager.yml"

    # --- provisioning ------------------------------------------------------
    def provision(self) -> bool:
        fingerprint = (
            f"{ALERTMANAGER_MODULE}@v{ALERTMANAGER_VERSION} {' '.join(COMMANDS)} "
            f"ldflags={LDFLAGS} cgo=0 ui=placeholder"
        )
        return artifacts.ensure(
            self.name, self.install_dir, fingerprint, self._build, verify_hashes=self.ctx.verify
        )

    def _build(self, out_dir: Path) -> None:
        module = toolchains.go_mod_download_dir(
            self.name,
            f"{ALERTMANAGER_MODULE}@v{ALERTMANAGER_VERSION}",
            log_file=self.provision_log,
            work_dir=self.paths.builds / "go-download",
        )
        # A writable copy (the module cache is read-only) with the UI placeholder.
        source = self.paths.builds / f"alertmanager-{ALERTMANAGER_VERSION}"
        shutil.rmtree(source, ignore_errors=True)
        shutil.copytree(module, source, copy_function=shutil.copyfile)
        for path in source.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        for flavour in ("elm", "mantine"):
            page = source / "ui" / "app" / "dist" / flavour / "index.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(UI_PLACEHOLDER)
        toolchains.go_build(
            self.name,
            source,
            [f"./cmd/{command}" for command in COMMANDS],
            out_dir,
            log_file=self.provision_log,
            ldflags=LDFLAGS,
            env={"CGO_ENABLED": "0"},
        )
        for command in COMMANDS:
            self._check_version(out_dir / command)

    def _check_version(self, built: Path) -> None:
        try:
            reported = subprocess.run(
                [str(built), "--version"], capture_output=True, text=True, timeout=30, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise DevstackError(
                self.name, f"the freshly built {built} does not run: {exc}",
                log_file=self.provision_log, hint="run `devstack provision alertmanager` again",
            ) from exc  # fmt: skip
        if f"version {ALERTMANAGER_VERSION} " not in reported:
            raise DevstackError(
                self.name,
                f"{built.name} reports {reported.splitlines()[:1]}, "
                f"expected {ALERTMANAGER_VERSION}",
                log_file=self.provision_log,
                hint="the version ldflags no longer match prometheus/common/version",
            )

    # --- running -------------------------------------------------------------
    def endpoints(self) -> dict[str, Endpoint]:
        return {"http": Endpoint(HOST, PORT)}

    def prepare(self) -> None:
        (self.state_dir / "data").mkdir(parents=True, exist_ok=True)
        chat_dir = self.paths.component_dir("chat")
        # chat.py's file names and URL (components do not import each other).
        write_sample_config(
            self.config_file,
            slack_api_url_file=chat_dir / "slack-webhook-url",
            telegram_bot_token_file=chat_dir / "telegram-bot-token",
            telegram_api_url=f"http://{HOST}:8171",
        )

    def processes(self) -> list[ProcessSpec]:
        return [
            ProcessSpec(
                name=self.name,
                argv=[
                    str(self.binary),
                    f"--config.file={self.config_file}",
                    f"--storage.path={self.state_dir / 'data'}",
                    f"--web.listen-address={HOST}:{PORT}",
                    f"--web.external-url={self.url}/",
                    # One instance: no gossip port.
                    "--cluster.listen-address=",
                    "--log.level=info",
                ],
                cwd=self.state_dir,
            )
        ]

    def ready(self) -> bool:
        with httpx.Client(base_url=self.url, timeout=2.0) as client:
            if client.get("/-/ready").status_code != 200:
                return False
            return client.get("/api/v2/status").status_code == 200

    def env(self) -> dict[str, str]:
        return {"ALERTMANAGER_URL": self.url, "AMTOOL": str(self.amtool)}


def write_sample_config(
    output: Path,
    *,
    slack_api_url_file: Path,
    telegram_bot_token_file: Path,
    telegram_api_url: str,
    group_wait: str = GROUP_WAIT,
    group_interval: str = GROUP_INTERVAL,
    repeat_interval: str = REPEAT_INTERVAL,
    manifest: Path = sample_store.MANIFEST,
) -> None:
    """Write the Alertmanager configuration the operator renders for the sample store.

    The operator's own renderer (``python -m productstore_operator.alertmanager_file``),
    run as a command so devstack does not import the operator.
    """
    result = subprocess.run(
        [
            sys.executable, "-m", "productstore_operator.alertmanager_file", str(manifest),
            "--namespace", sample_store.NAMESPACE,
            "--slack-api-url-file", str(slack_api_url_file),
            "--telegram-bot-token-file", str(telegram_bot_token_file),
            "--telegram-api-url", telegram_api_url,
            "--group-wait", group_wait,
            "--group-interval", group_interval,
            "--repeat-interval", repeat_interval,
            "--output", str(output),
        ],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    if result.returncode != 0:
        raise DevstackError(
            Alertmanager.name,
            f"rendering the sample store's Alertmanager configuration failed: "
            f"{result.stderr.strip()[-500:]}",
            hint=f"run python -m productstore_operator.alertmanager_file {manifest}",
        )
