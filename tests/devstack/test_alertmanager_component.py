"""A burn-rate alert from fault to chat: Prometheus -> Alertmanager -> Slack and Telegram stand-ins.

Everything here is private and stopped at the end; the shared Prometheus and
Alertmanager are not touched. The test starts, on free loopback ports:

- the chat stand-ins (devstack.chat_sandbox) with fresh credentials;
- an Alertmanager (devstack's build) with the configuration the operator renders
  for the sample store (``write_sample_config``), pointed at those stand-ins;
- a Prometheus with the sample store's rules (``write_sample_rules``), its
  range selectors shortened to seconds (the short-window test SLO: the same
  expressions, 5m..3d read as 10..30 s), scraping a feed of the catalog's
  request counter that the test turns from healthy to half failing and back.

The fault is in the SLI the feed serves (the brief allows feeding a failing
SLI rather than breaking a shared dependency): the rules, the routing, the
inhibition, Alertmanager and the receivers' HTTP protocol are the real ones.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devstack import sample_store
from devstack.component import Context
from devstack.components import operator as operator_component
from devstack.components.alertmanager import (
    ALERTMANAGER_VERSION,
    Alertmanager,
    write_sample_config,
)
from devstack.components.chat import (
    SAMPLE_CHAT_ID,
    ChatSandbox,
    new_slack_webhook_path,
    new_telegram_bot_token,
)
from devstack.components.prometheus import Prometheus
from devstack.paths import Paths
from devstack.stack import Stack
from productstore_contracts.metrics import REQUESTS_TOTAL

# The short-window test SLO: every window of the rules, in seconds. All short
# windows equal and all long ones equal, so the four alerts fire on the same
# evaluation (one notification). They may resolve on different ones (their
# thresholds differ on a ratio that falls over a few scrapes): Alertmanager
# then sends an update before the resolved message, as it would in a cluster.
SHORT_WINDOWS = {"5m": "10s", "30m": "10s", "2h": "10s", "6h": "10s"}
LONG_WINDOWS = {"1h": "30s", "1d": "30s", "3d": "30s"}
WAIT_SECONDS = 90.0
# Requests per second the feed reports, and the failing share during the fault.
REQUEST_RATE = 20.0
FAULT_ERROR_SHARE = 0.5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def short_window_rules(text: str) -> str:
    """The rule file with its range selectors ``[<window>]`` read as seconds (not [30d])."""
    windows = {**SHORT_WINDOWS, **LONG_WINDOWS}
    return re.sub(
        r"\[(5m|30m|1h|2h|6h|1d|3d)\]", lambda match: f"[{windows[match.group(1)]}]", text
    )


@dataclass
class CatalogFeed:
    """The catalog's request counters as /metrics text, growing at REQUEST_RATE per second."""

    error_share: float = 0.0
    _good: float = 0.0
    _bad: float = 0.0
    _last: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def exposition(self) -> str:
        with self._lock:
            now = time.monotonic()
            requests = (now - self._last) * REQUEST_RATE
            self._last = now
            self._bad += requests * self.error_share
            self._good += requests * (1 - self.error_share)
            good, bad = self._good, self._bad
        labels = 'method="GET", route="/api/products"'
        return (
            f"# TYPE {REQUESTS_TOTAL} counter\n"
            f'{REQUESTS_TOTAL}{{{labels}, status="200"}} {good}\n'
            f'{REQUESTS_TOTAL}{{{labels}, status="503"}} {bad}\n'
        )

    def set_error_share(self, share: float) -> None:
        self.exposition()  # count what came before at the old share
        with self._lock:
            self.error_share = share


@pytest.fixture
def catalog_feed() -> Iterator[tuple[CatalogFeed, str]]:
    feed = CatalogFeed()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = feed.exposition().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield feed, f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Processes:
    """Processes a test starts, stopped (by their own pids) at the end."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[tuple[subprocess.Popen[bytes], Any]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.started.append((process, log))

    def stop(self) -> None:
        for process, log in reversed(self.started):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            log.close()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.stop()


def _wait_for(what: str, probe: Callable[[], Any], seconds: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except httpx.HTTPError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.25)
    pytest.fail(f"{what} within {seconds:.0f}s; last: {last!r}")


@dataclass(frozen=True)
class AlertingStack:
    prometheus_url: str
    alertmanager_url: str
    chat_url: str


@pytest.fixture
def alerting_stack(
    alertmanager_build: Alertmanager,
    prometheus: Prometheus,
    catalog_feed: tuple[CatalogFeed, str],
    processes: Processes,
    tmp_path: Path,
) -> AlertingStack:
    chat_port, am_port, prom_port = _free_port(), _free_port(), _free_port()
    chat_url = f"http://127.0.0.1:{chat_port}"
    slack_path, bot_token = new_slack_webhook_path(), new_telegram_bot_token()
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    (secrets / "slack-path").write_text(slack_path)
    (secrets / "slack-url").write_text(f"{chat_url}/services/{slack_path}\n")
    (secrets / "bot-token").write_text(bot_token + "\n")
    processes.start(
        "chat",
        [sys.executable, "-m", "uvicorn", "devstack.chat_sandbox.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(chat_port)],
        env={
            "PATH": "/usr/bin:/bin",
            "CHAT_SANDBOX_SLACK_WEBHOOK_PATH_FILE": str(secrets / "slack-path"),
            "CHAT_SANDBOX_TELEGRAM_BOT_TOKEN_FILE": str(secrets / "bot-token"),
        },
    )  # fmt: skip

    am_config = tmp_path / "alertmanager.yml"
    write_sample_config(
        am_config,
        slack_api_url_file=secrets / "slack-url",
        telegram_bot_token_file=secrets / "bot-token",
        telegram_api_url=chat_url,
        group_wait="2s",
        group_interval="5s",
        repeat_interval="1h",
    )
    processes.start(
        "alertmanager",
        [str(alertmanager_build.binary), f"--config.file={am_config}",
         f"--storage.path={tmp_path / 'am-data'}", f"--web.listen-address=127.0.0.1:{am_port}",
         "--cluster.listen-address=", "--log.level=debug"],
    )  # fmt: skip

    rules = tmp_path / "rules.yml"
    operator_component.write_sample_rules(rules)
    rules.write_text(short_window_rules(rules.read_text()))
    feed_target = catalog_feed[1]
    prometheus_config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
        },
        "scrape_configs": [
            {
                "job_name": "catalog-feed",
                "static_configs": [
                    {
                        "targets": [feed_target],
                        "labels": {**sample_store.scrape_labels(), "service": "catalog"},
                    }
                ],
            }
        ],
    }
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(prometheus_config))
    processes.start(
        "prometheus",
        [str(prometheus.binary), f"--config.file={config_file}",
         f"--storage.tsdb.path={tmp_path / 'prom-data'}",
         f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
    )  # fmt: skip
    stack = AlertingStack(f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{am_port}", chat_url)
    for url in (f"{stack.prometheus_url}/-/ready", f"{stack.alertmanager_url}/-/ready",
                f"{chat_url}/healthz"):  # fmt: skip
        _wait_for(f"{url} answers", partial(_answers, url))
    return stack


def _answers(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


def _messages(stack: AlertingStack, receiver: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{stack.chat_url}/messages", params={"receiver": receiver}, timeout=5)
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def _firing(stack: AlertingStack) -> dict[str, list[dict[str, Any]]]:
    response = httpx.get(f"{stack.alertmanager_url}/api/v2/alerts", timeout=5)
    response.raise_for_status()
    found: dict[str, list[dict[str, Any]]] = {}
    for alert in response.json():
        found.setdefault(alert["labels"]["alertname"], []).append(alert)
    return found


def test_built_alertmanager_and_amtool_report_the_pinned_version(
    alertmanager_build: Alertmanager,
) -> None:
    for binary in (alertmanager_build.binary, alertmanager_build.amtool):
        reported = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
        assert f"version {ALERTMANAGER_VERSION} " in reported


def test_devstack_alertmanager_notifies_the_chat_stand_ins(
    alertmanager_build: Alertmanager, tmp_path: Path
) -> None:
    stack = Stack(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    component, chat = stack.components["alertmanager"], stack.components["chat"]
    assert isinstance(component, Alertmanager)
    assert isinstance(chat, ChatSandbox)
    assert component.env()["ALERTMANAGER_URL"] == "http://127.0.0.1:9094"
    component.prepare()
    config = yaml.safe_load(component.config_file.read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    (telegram,) = receivers["default/devstack/telegram"]["telegram_configs"]
    (slack,) = receivers["default/devstack/slack"]["slack_configs"]
    assert telegram["bot_token_file"] == str(chat.telegram_token_file)
    assert telegram["api_url"] == chat.url
    assert slack["api_url_file"] == str(chat.slack_url_file)
    check = subprocess.run(
        [str(alertmanager_build.amtool), "check-config", str(component.config_file)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_devstack_env_prints_where_alertmanager_and_the_stand_ins_are(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devstack", "env", "alertmanager"],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "PRODUCTSTORE_STATE": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "export ALERTMANAGER_URL=http://127.0.0.1:9094" in lines
    # alertmanager requires chat: its files are printed too, never their contents.
    assert f"export TELEGRAM_BOT_TOKEN_FILE={tmp_path}/chat/telegram-bot-token" in lines


def test_prometheus_sends_its_alerts_to_alertmanager(tmp_path: Path) -> None:
    stack = Stack(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    prometheus, alertmanager = stack.components["prometheus"], stack.components["alertmanager"]
    assert isinstance(prometheus, Prometheus)
    assert isinstance(alertmanager, Alertmanager)
    alerting = prometheus.config()["alerting"]
    targets = alerting["alertmanagers"][0]["static_configs"][0]["targets"]  # type: ignore[index]
    assert targets == [alertmanager.url.removeprefix("http://")]


def test_a_burning_slo_pages_telegram_and_slack_once_then_resolves(
    alerting_stack: AlertingStack,
    catalog_feed: tuple[CatalogFeed, str],
    record_property: Callable[[str, object], None],
) -> None:
    stack, feed = alerting_stack, catalog_feed[0]
    # Healthy first: the SLI is evaluated and nothing fires.
    _wait_for(
        "the catalog's availability SLI evaluated",
        lambda: httpx.get(
            f"{stack.prometheus_url}/api/v1/query",
            params={"query": 'slo:sli_error:ratio_rate5m{service="catalog", slo="availability"}'},
            timeout=5,
        ).json()["data"]["result"],
    )
    assert _firing(stack) == {}
    assert _messages(stack, "telegram") == _messages(stack, "slack") == []

    fault_at = time.time()
    feed.set_error_share(FAULT_ERROR_SHARE)
    telegram = _wait_for("a Telegram message", lambda: _messages(stack, "telegram"))
    seconds_to_telegram = telegram[0]["received_at"] - fault_at
    firing = _firing(stack)
    # Both critical burn alerts fire; the warnings are there, inhibited by them.
    assert {"SLOErrorBudgetBurn1h", "SLOErrorBudgetBurn6h"} <= set(firing)
    for name in ("SLOErrorBudgetBurn1d", "SLOErrorBudgetBurn3d"):
        for alert in firing.get(name, []):
            assert alert["status"]["inhibitedBy"], f"{name} is not inhibited: {alert}"
    slack = _wait_for("a Slack message", lambda: _messages(stack, "slack"))

    # Settled: still one message each (grouped by store and service, warnings muted).
    time.sleep(8.0)
    telegram, slack = _messages(stack, "telegram"), _messages(stack, "slack")
    assert len(telegram) == 1, [m["text"] for m in telegram]
    assert len(slack) == 1, [m["text"] for m in slack]
    assert telegram[0]["chat"] == str(SAMPLE_CHAT_ID)
    assert telegram[0]["text"].startswith("[FIRING:2] devstack catalog\n"), telegram[0]["text"]
    assert "catalog of store devstack burns its availability error budget" in slack[0]["text"]
    assert "FIRING" in slack[0]["body"]["attachments"][0]["title"]

    feed.set_error_share(0.0)

    def all_resolved() -> bool:
        active = [a for alerts in _firing(stack).values() for a in alerts
                  if a["status"]["state"] == "active"]  # fmt: skip
        last_telegram = _messages(stack, "telegram")[-1]
        last_slack = _messages(stack, "slack")[-1]
        return (
            not active
            and last_telegram["text"].startswith("[RESOLVED]")
            and last_slack["body"]["attachments"][0]["title"].startswith("[RESOLVED]")
        )

    _wait_for("every alert resolved and both receivers told so", all_resolved)
    resolved = [m for m in _messages(stack, "telegram") if m["text"].startswith("[RESOLVED]")]
    # Telegram hears only of critical alerts, however many updates there were.
    for message in _messages(stack, "telegram"):
        assert "SLOErrorBudgetBurn1d" not in message["text"], message["text"]
        assert "SLOErrorBudgetBurn3d" not in message["text"], message["text"]
    # The number (fault to first Telegram message), in the JUnit XML: a
    # measurement of this setup (1 s scrape and evaluation, 2 s group wait), not a benchmark.
    record_property("seconds_fault_to_first_telegram", round(seconds_to_telegram, 1))
    record_property("seconds_fault_to_resolved", round(resolved[0]["received_at"] - fault_at, 1))
