"""The one error type devstack raises for anything a user has to act on."""

from __future__ import annotations

from pathlib import Path


class DevstackError(Exception):
    """A failure that names the component, where to look and what to try."""

    def __init__(
        self,
        component: str,
        message: str,
        *,
        log_file: Path | None = None,
        hint: str | None = None,
    ) -> None:
        self.component = component
        self.message = message
        self.log_file = log_file
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [f"{self.component}: {self.message}"]
        if self.log_file is not None:
            parts.append(f"  log: {self.log_file}")
        if self.hint:
            parts.append(f"  fix: {self.hint}")
        return "\n".join(parts)
