"""The circuit breaker's states on a clock the test moves, and the chain's order."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from productstore_notifications.app.data.smtp import ProviderRefusedError
from productstore_notifications.app.services.providers import CircuitBreaker, FailoverChain


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# (what happens, state after it); "fail", "ok", "wait <seconds>", "allow" (a call asks).
STEPS: list[tuple[str, list[tuple[str, str]]]] = [
    ("opens after the threshold", [("fail", "closed"), ("fail", "closed"), ("fail", "open")]),
    (
        "a success resets the count",
        [("fail", "closed"), ("fail", "closed"), ("ok", "closed"), ("fail", "closed")],
    ),
    (
        "half-open after the reset time",
        [("fail", "closed"), ("fail", "closed"), ("fail", "open"), ("wait 10", "half_open")],
    ),
    (
        "a failed trial opens it again",
        [
            ("fail", "closed"),
            ("fail", "closed"),
            ("fail", "open"),
            ("wait 10", "half_open"),
            ("allow", "half_open"),
            ("fail", "open"),
        ],
    ),
    (
        "a good trial closes it",
        [
            ("fail", "closed"),
            ("fail", "closed"),
            ("fail", "open"),
            ("wait 10", "half_open"),
            ("allow", "half_open"),
            ("ok", "closed"),
        ],
    ),
]


@pytest.mark.parametrize("steps", [s[1] for s in STEPS], ids=[s[0] for s in STEPS])
def test_breaker(steps: list[tuple[str, str]]) -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, reset_seconds=10, clock=clock)
    for action, state in steps:
        if action == "fail":
            breaker.failed()
        elif action == "ok":
            breaker.succeeded()
        elif action == "allow":
            assert breaker.allow()
        else:
            clock.now += float(action.split()[1])
        assert breaker.state == state, (action, breaker.state)


def test_half_open_lets_one_trial_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_seconds=5, clock=clock)
    breaker.failed()
    assert not breaker.allow()
    clock.now = 5
    assert breaker.allow()
    assert not breaker.allow()  # the trial is out


class Refusing:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    async def send(self, message: EmailMessage) -> None:
        self.calls += 1
        raise ProviderRefusedError("ConnectionRefusedError: [Errno 111] Connection refused")


@pytest.mark.anyio
async def test_a_chain_whose_breakers_are_all_open_tries_nothing() -> None:
    clock = Clock()
    first, second = Refusing("a"), Refusing("b")
    chain = FailoverChain([first, second], failures=1, reset_seconds=30, clock=clock)
    result = await chain.send(EmailMessage())
    assert [(a.provider, a.ok) for a in result.attempts] == [("a", False), ("b", False)]
    assert result.sent_by is None
    again = await chain.send(EmailMessage())
    assert again.attempts == []
    assert (first.calls, second.calls) == (1, 1)
    assert chain.states() == {"a": "open", "b": "open"}


def test_a_chain_needs_a_provider() -> None:
    with pytest.raises(ValueError, match="at least one provider"):
        FailoverChain([], failures=1, reset_seconds=1)
