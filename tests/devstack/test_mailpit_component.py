"""The mailpit component: registered, on loopback, the services that send mail start
after it, and a message sent to its SMTP port is readable through its API."""

from __future__ import annotations

import smtplib
import uuid
from email.message import EmailMessage
from pathlib import Path

import httpx

from devstack.component import Context
from devstack.components.mailpit import HTTP_PORT, MAILPIT_VERSION, SMTP_PORT, Mailpit
from devstack.paths import Paths
from devstack.process import Endpoint
from devstack.stack import Stack


def test_it_is_a_default_component_that_notifications_needs(tmp_path: Path) -> None:
    stack = Stack(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    assert "mailpit" in stack.default_names()
    assert stack.expand(["mailpit"]) == ["mailpit"]
    assert "mailpit" in stack.expand(["notifications"])
    component = stack.components["mailpit"]
    assert isinstance(component, Mailpit)
    assert component.endpoints() == {
        "smtp": Endpoint("127.0.0.1", SMTP_PORT),
        "http": Endpoint("127.0.0.1", HTTP_PORT),
    }
    assert component.env()["MAILPIT_URL"] == f"http://127.0.0.1:{HTTP_PORT}"
    # Cached under its version, outside the repository.
    assert component.binary.parent.name == f"mailpit-{MAILPIT_VERSION}"
    assert component.binary.is_relative_to(tmp_path / "c")


def test_a_message_sent_over_smtp_is_read_through_its_api(mailpit: Mailpit) -> None:
    address = f"probe-{uuid.uuid4().hex[:12]}@example.com"
    message = EmailMessage()
    message["From"] = "devstack <devstack@productstore.local>"
    message["To"] = address
    message["Subject"] = "Привет, Mailpit"
    message.set_content("plain part")
    message.add_alternative("<p>html part</p>", subtype="html")
    with smtplib.SMTP(mailpit.smtp_host, mailpit.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)

    found = httpx.get(
        f"{mailpit.url}/api/v1/search", params={"query": f'to:"{address}"'}, timeout=10
    ).json()
    [summary] = found["messages"]
    assert summary["Subject"] == "Привет, Mailpit"
    full = httpx.get(f"{mailpit.url}/api/v1/message/{summary['ID']}", timeout=10).json()
    assert full["Text"].strip() == "plain part"
    assert full["HTML"].strip() == "<p>html part</p>"
    info = httpx.get(f"{mailpit.url}/api/v1/info", timeout=10).json()
    assert info["Version"] == MAILPIT_VERSION
